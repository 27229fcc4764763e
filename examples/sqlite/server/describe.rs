//! What a statement takes and returns, as PostgreSQL would describe it:
//! parameter types (ParameterDescription), result columns with names and
//! types (RowDescription), and the command tag it completes with.
//!
//! SQLite knows a result column's declared type only when the column is a
//! plain table column. For expressions, PostgreSQL's answer is worked out
//! from the statement's text where that is easy and common (`$1::int4`,
//! `count(*)`, `1`, `a = b`, `price * 2` with `price` a table column), so
//! that drivers decoding by type (tokio-postgres checks Rust types against
//! these) get what PostgreSQL would have told them.

use pgwire::error::{ErrorInfo, SqlState};
use pgwire::types::{FieldInfo, Schema, Type};
use rusqlite::Connection;

use super::errors::from_sqlite;
use super::sql::{self, Tok, Token, closing_paren, ident_value};
use super::types::{PgType, array_of, pg_type_for_decl, pg_type_from_name};

/// How a statement's command tag is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagKind {
    /// `SELECT n`.
    Select,
    /// `INSERT 0 n`.
    Insert,
    /// `UPDATE n`.
    Update,
    /// `DELETE n`.
    Delete,
    /// `CREATE TABLE ... AS`: `SELECT n` with the rows inserted.
    CreateTableAs,
    /// A fixed tag (`CREATE TABLE`, `DROP INDEX`, `VACUUM`).
    Named(String),
}

/// A result column before execution: its name and, if known, its type.
#[derive(Debug, Clone)]
pub struct ColumnGuess {
    /// The name PostgreSQL would give the column.
    pub name: String,
    /// The type, if the declaration or the text tells it.
    pub ty: Option<PgType>,
    /// The table OID and column number it is read from, if it is a column
    /// of a table (RowDescription's table fields).
    pub origin: (u32, i16),
}

/// A statement prepared for SQLite: everything Parse and Describe need,
/// worked out once.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The statement in SQLite's dialect.
    pub sql: String,
    /// Parameter types.
    pub params: Vec<Type>,
    /// For each parameter whose declared type is not the integer type of
    /// the column it is compared with or stored into, that column type:
    /// the value is converted to it (rounded, range-checked) as
    /// PostgreSQL's assignment cast would.
    pub targets: Vec<Option<Type>>,
    /// Result columns (empty if the statement returns no rows).
    pub columns: Vec<ColumnGuess>,
    /// The result columns with every unknown type as text: what the
    /// extended protocol describes (it must, before any row exists).
    pub schema: Option<Schema>,
    /// The statement does not write (no implicit transaction needed).
    pub readonly: bool,
    /// How the command tag is made.
    pub tag: TagKind,
}

/// Prepares `text` (one PostgreSQL statement) on `conn`: rewrites it for
/// SQLite, lets SQLite check it, and describes it. `declared` are the
/// parameter types the client gave (by index; `None` = unspecified).
pub fn prepare(
    conn: &Connection,
    text: &str,
    declared: &[Option<Type>],
) -> Result<Prepared, ErrorInfo> {
    let published = super::publisher::rewrite_publication_tables(text);
    let text = published.as_deref().unwrap_or(text);
    let text = &*super::catalog::prepare_text(conn, text)?;
    let text = &*super::literal_types::type_insert_literals(conn, text);
    super::publisher::before_statement(conn, text)?;
    let rewritten = sql::rewrite(text, declared);
    let stmt = conn
        .prepare_cached(&rewritten.sql)
        .map_err(|e| from_sqlite(&e))?;
    let toks = sql::significant(text);
    let tables = TableColumns::load(conn, &toks);
    let nparams = stmt.parameter_count().max(rewritten.param_count);
    let mut params: Vec<Option<PgType>> = (0..nparams)
        .map(|i| {
            declared
                .get(i)
                .cloned()
                .flatten()
                .map(PgType::plain)
                .or_else(|| rewritten.param_casts.get(i).cloned().flatten())
        })
        .collect();
    let mut inferred: Vec<Option<PgType>> = (0..nparams)
        .map(|i| rewritten.param_casts.get(i).cloned().flatten())
        .collect();
    infer_params(&toks, &tables, &mut inferred);
    infer_params(&toks, &tables, &mut params);
    let params: Vec<Type> = params
        .into_iter()
        .map(|p| p.map_or(Type::TEXT, |p| p.ty))
        .collect();
    // Only values stored (INSERT, UPDATE ... SET) are cast: a comparison
    // of an int4 column with a larger int8 is merely false.
    let tag = tag_kind(&toks);
    let assigned = assigned_params(&toks, &tag);
    let targets = inferred
        .into_iter()
        .zip(&params)
        .enumerate()
        .map(|(i, (t, p))| {
            t.map(|t| t.ty).filter(|t| {
                t != p
                    && matches!(*t, Type::INT2 | Type::INT4 | Type::INT8)
                    && assigned.contains(&(i + 1))
            })
        })
        .collect();
    let items = select_items(&toks);
    let sqlite_cols = stmt.columns();
    let origins = super::catalog::column_origins(conn, &stmt);
    let mut columns = Vec::with_capacity(sqlite_cols.len());
    let ctx = Ctx {
        tables: &tables,
        params: &params,
        statement: &toks,
        depth: std::cell::Cell::new(0),
    };
    for (i, c) in sqlite_cols.iter().enumerate() {
        let item = items
            .as_ref()
            .filter(|items| items.len() == sqlite_cols.len())
            .and_then(|items| items.get(i));
        let decl = c.decl_type().map(|d| tables.decl_type(d, c.name()));
        let (name, guessed) = match item {
            Some(item) => (item_name(item), ctx.expr_type(strip_alias(item).0)),
            None => (None, None),
        };
        columns.push(ColumnGuess {
            name: name.unwrap_or_else(|| c.name().to_owned()),
            ty: decl.or(guessed),
            origin: origins.get(i).copied().unwrap_or((0, 0)),
        });
    }
    let readonly = stmt.readonly();
    drop(stmt);
    let schema = (!columns.is_empty()).then(|| fixed_schema(&columns));
    Ok(Prepared {
        sql: rewritten.sql,
        params,
        targets,
        columns,
        schema,
        readonly,
        tag,
    })
}

/// The numbers of the parameters an INSERT or UPDATE stores: those
/// before its first top-level WHERE.
fn assigned_params(toks: &[Token<'_>], tag: &TagKind) -> Vec<usize> {
    if !matches!(tag, TagKind::Insert | TagKind::Update) {
        return Vec::new();
    }
    let mut depth = 0i32;
    let mut out = Vec::new();
    for t in toks {
        match t.kind {
            Tok::LParen => depth += 1,
            Tok::RParen => depth -= 1,
            Tok::Word if depth == 0 && t.is_word("where") => break,
            _ => {}
        }
        out.extend(t.param_number());
    }
    out
}

/// The result columns with unknown types as text.
fn fixed_schema(columns: &[ColumnGuess]) -> Schema {
    columns
        .iter()
        .map(|c| {
            let t = c.ty.clone().unwrap_or(PgType::plain(Type::TEXT));
            FieldInfo::new(c.name.clone(), t.ty)
                .with_type_modifier(t.typmod)
                .with_table(c.origin.0, c.origin.1)
        })
        .collect::<Vec<_>>()
        .into()
}

/// Fails with PostgreSQL's error if a simple-protocol statement uses
/// parameters.
pub fn check_no_params(p: &Prepared) -> Result<(), ErrorInfo> {
    if p.params.is_empty() {
        Ok(())
    } else {
        Err(ErrorInfo::new(
            SqlState::UNDEFINED_PARAMETER,
            "there is no parameter $1",
        ))
    }
}

// ----------------------------------------------------------- tables

/// The declared column types of the tables a statement names.
#[derive(Debug, Default)]
struct TableColumns {
    /// Table (or alias) name -> its columns (name, type), in order.
    tables: Vec<(Vec<String>, Columns)>,
}

/// A table's columns (name, type), in order.
type Columns = Vec<(String, PgType)>;

impl TableColumns {
    fn load(conn: &Connection, toks: &[Token<'_>]) -> Self {
        let mut found: Vec<(String, Vec<String>)> = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            let starts_list =
                t.is_word("from") || t.is_word("join") || t.is_word("update") || t.is_word("into");
            i += 1;
            if !starts_list {
                continue;
            }
            // [schema.]name [AS] [alias]
            while let Some(name_tok) = toks.get(i) {
                if !matches!(name_tok.kind, Tok::Word | Tok::QuotedIdent) || is_keyword(name_tok) {
                    break;
                }
                let mut name = ident_value(name_tok);
                i += 1;
                while toks.get(i).is_some_and(|t| t.kind == Tok::Dot) {
                    if let Some(n) = toks.get(i + 1) {
                        name = ident_value(n);
                    }
                    i += 2;
                }
                if toks.get(i).is_some_and(|t| t.kind == Tok::LParen) {
                    // A table-valued function or `INSERT INTO t (cols)`.
                    if !t.is_word("into") {
                        break;
                    }
                }
                let mut names = vec![name.clone()];
                if toks.get(i).is_some_and(|t| t.is_word("as")) {
                    i += 1;
                }
                if let Some(a) = toks.get(i) {
                    if matches!(a.kind, Tok::Word | Tok::QuotedIdent) && !is_keyword(a) {
                        names.push(ident_value(a));
                        i += 1;
                    }
                }
                found.push((name, names));
                if toks.get(i).is_some_and(|t| t.kind == Tok::Comma) && !t.is_word("into") {
                    i += 1;
                    continue;
                }
                break;
            }
        }
        let mut out = TableColumns::default();
        for (table, names) in found {
            let Ok(mut stmt) = conn.prepare_cached("SELECT name, type FROM pragma_table_info(?1)")
            else {
                continue;
            };
            let mut cols: Vec<(String, PgType)> = stmt
                .query_map([&table], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map(|rows| {
                    rows.filter_map(Result::ok)
                        .map(|(n, t)| (n.to_lowercase(), pg_type_for_decl(&t)))
                        .collect()
                })
                .unwrap_or_default();
            if cols.iter().any(|(_, t)| t.ty == Type::INT4) {
                mark_bigserials(conn, &table, &mut cols);
            }
            if !cols.is_empty() {
                out.tables.push((names, cols));
            }
        }
        out
    }

    /// The type of a result column SQLite declares `decl`: a rowid column
    /// made from `bigserial` is declared `INTEGER` like one made from
    /// `serial`, and only the table's definition tells them apart.
    fn decl_type(&self, decl: &str, column: &str) -> PgType {
        let t = pg_type_for_decl(decl);
        if decl.eq_ignore_ascii_case("integer") {
            if let Some(big) = self.column(None, column).filter(|c| c.ty == Type::INT8) {
                return big;
            }
        }
        t
    }

    /// The type of column `column`, of table (or alias) `table` if given.
    fn column(&self, table: Option<&str>, column: &str) -> Option<PgType> {
        let column = column.to_lowercase();
        self.tables
            .iter()
            .filter(|(names, _)| table.is_none_or(|t| names.iter().any(|n| n == t)))
            .find_map(|(_, cols)| {
                cols.iter()
                    .find(|(n, _)| *n == column)
                    .map(|(_, t)| t.clone())
            })
    }

    /// The columns of the first table, in order.
    fn first_table(&self) -> Option<&[(String, PgType)]> {
        self.tables.first().map(|(_, c)| c.as_slice())
    }
}

/// SQLite reports the type of every `INTEGER PRIMARY KEY` column as
/// `INTEGER`; the table's SQL still has `bigserial`'s spelling
/// ([`sql::BIGSERIAL_DECL`]) after the column's name: such columns are
/// int8.
fn mark_bigserials(conn: &Connection, table: &str, cols: &mut [(String, PgType)]) {
    let Ok(mut stmt) =
        conn.prepare_cached("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1")
    else {
        return;
    };
    let Ok(Some(create)) = stmt.query_row([table], |r| r.get::<_, Option<String>>(0)) else {
        return;
    };
    let toks = sql::significant(&create);
    for w in toks.windows(2) {
        if w[1].text != sql::BIGSERIAL_DECL || !matches!(w[0].kind, Tok::Word | Tok::QuotedIdent) {
            continue;
        }
        let name = ident_value(&w[0]).to_lowercase();
        if let Some((_, t)) = cols
            .iter_mut()
            .find(|(n, t)| *n == name && t.ty == Type::INT4)
        {
            *t = PgType::plain(Type::INT8);
        }
    }
}

/// Words that end a table name or cannot be an alias.
fn is_keyword(t: &Token<'_>) -> bool {
    const KW: &[&str] = &[
        "select",
        "from",
        "where",
        "group",
        "order",
        "having",
        "limit",
        "offset",
        "union",
        "intersect",
        "except",
        "join",
        "inner",
        "left",
        "right",
        "full",
        "outer",
        "cross",
        "natural",
        "on",
        "using",
        "set",
        "values",
        "returning",
        "as",
        "and",
        "or",
        "not",
        "is",
        "in",
        "like",
        "ilike",
        "between",
        "null",
        "true",
        "false",
        "case",
        "when",
        "then",
        "else",
        "end",
        "default",
        "window",
        "for",
        "fetch",
        "distinct",
        "all",
        "exists",
        "collate",
        "asc",
        "desc",
        "nulls",
        "escape",
        "glob",
        "regexp",
        "match",
        "over",
        "filter",
        "conflict",
        "do",
        "nothing",
        "update",
        "delete",
        "insert",
        "into",
        "with",
        "only",
    ];
    t.kind == Tok::Word && KW.iter().any(|k| t.text.eq_ignore_ascii_case(k))
}

// ------------------------------------------------------- parameters

fn is_comparison(t: &Token<'_>) -> bool {
    (t.kind == Tok::Op && matches!(t.text, "=" | "==" | "<>" | "!=" | "<" | ">" | "<=" | ">="))
        || t.is_word("like")
        || t.is_word("ilike")
        || t.is_word("glob")
}

fn is_arithmetic(t: &Token<'_>) -> bool {
    t.kind == Tok::Op && matches!(t.text, "+" | "-" | "*" | "/" | "%")
}

/// A column reference ending at `end` (inclusive): `col` or `t.col`.
/// Returns (table, column).
fn colref_ending(toks: &[Token<'_>], end: usize) -> Option<(Option<String>, String)> {
    let t = toks.get(end)?;
    if !matches!(t.kind, Tok::Word | Tok::QuotedIdent) || is_keyword(t) {
        return None;
    }
    if toks.get(end + 1).is_some_and(|n| n.kind == Tok::LParen) {
        return None;
    }
    let table = (end >= 2 && toks[end - 1].kind == Tok::Dot).then(|| ident_value(&toks[end - 2]));
    Some((table, ident_value(t)))
}

/// A column reference starting at `start`: `col` or `t.col`.
fn colref_starting(toks: &[Token<'_>], start: usize) -> Option<(Option<String>, String)> {
    let t = toks.get(start)?;
    if !matches!(t.kind, Tok::Word | Tok::QuotedIdent) || is_keyword(t) {
        return None;
    }
    if toks.get(start + 1).is_some_and(|n| n.kind == Tok::Dot) {
        return colref_ending(toks, start + 2);
    }
    colref_ending(toks, start)
}

/// Gives parameters without a type the type of what they are compared
/// with, assigned to or inserted into.
fn infer_params(toks: &[Token<'_>], tables: &TableColumns, params: &mut [Option<PgType>]) {
    if params.iter().all(Option::is_some) {
        return;
    }
    let col =
        |r: Option<(Option<String>, String)>| r.and_then(|(t, c)| tables.column(t.as_deref(), &c));
    // INSERT INTO t [(cols)] VALUES (...), (...)
    let insert_targets = insert_columns(toks, tables);
    let mut i = 0;
    while i < toks.len() {
        let Some(n) = toks[i].param_number() else {
            i += 1;
            continue;
        };
        let slot = match n.checked_sub(1).and_then(|k| params.get_mut(k)) {
            Some(s) if s.is_none() => s,
            _ => {
                i += 1;
                continue;
            }
        };
        let prev = i.checked_sub(1).map(|p| &toks[p]);
        let next = toks.get(i + 1);
        let mut found: Option<PgType> = None;
        if let Some(p) = prev {
            if is_comparison(p) || is_arithmetic(p) {
                found = col(colref_ending(toks, i.wrapping_sub(2)));
            } else if p.is_word("limit") || p.is_word("offset") {
                found = Some(PgType::plain(Type::INT8));
            } else if p.is_word("between") {
                found = col(colref_ending(toks, i.wrapping_sub(2)));
            } else if p.is_word("and") && i >= 4 && toks[i - 3].is_word("between") {
                found = col(colref_ending(toks, i - 4));
            }
        }
        if found.is_none() {
            if let Some(nx) = next {
                if is_comparison(nx) || is_arithmetic(nx) {
                    found = col(colref_starting(toks, i + 2));
                }
            }
        }
        if found.is_none() {
            // `col IN ($1, $2)` and `INSERT ... VALUES ($1, $2)`
            if let Some(open) = enclosing_paren(toks, i) {
                let quantified = open >= 3
                    && (toks[open - 1].is_word("any") || toks[open - 1].is_word("all"))
                    && is_comparison(&toks[open - 2]);
                if quantified {
                    // `col = ANY ($1)`: an array of the column's type.
                    found = col(colref_ending(toks, open - 3))
                        .and_then(|t| array_of(&t.ty))
                        .map(PgType::plain);
                } else if open >= 2 && toks[open - 1].is_word("in") {
                    found = col(colref_ending(toks, open - 2)).or_else(|| {
                        (open >= 3 && toks[open - 2].is_word("not"))
                            .then(|| col(colref_ending(toks, open - 3)))
                            .flatten()
                    });
                } else if let Some(targets) = &insert_targets {
                    if is_values_tuple(toks, open) {
                        let pos = item_index(toks, open, i);
                        found = targets.get(pos).cloned().flatten();
                    }
                }
            }
        }
        *slot = found;
        i += 1;
    }
}

/// The parenthesis directly enclosing token `i`.
fn enclosing_paren(toks: &[Token<'_>], i: usize) -> Option<usize> {
    let mut depth = 0i32;
    for j in (0..i).rev() {
        match toks[j].kind {
            Tok::RParen => depth += 1,
            Tok::LParen => {
                if depth == 0 {
                    return Some(j);
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    None
}

/// Which comma-separated item of the parenthesis at `open` token `i` is in.
fn item_index(toks: &[Token<'_>], open: usize, i: usize) -> usize {
    let mut depth = 0i32;
    let mut n = 0;
    for t in &toks[open + 1..i] {
        match t.kind {
            Tok::LParen => depth += 1,
            Tok::RParen => depth -= 1,
            Tok::Comma if depth == 0 => n += 1,
            _ => {}
        }
    }
    n
}

/// Whether the parenthesis at `open` is a tuple of a VALUES list.
fn is_values_tuple(toks: &[Token<'_>], open: usize) -> bool {
    let mut j = open;
    // Walk back over earlier tuples: `VALUES (...), (...), (`
    while j > 0 {
        let p = &toks[j - 1];
        if p.is_word("values") {
            return true;
        }
        if p.kind == Tok::Comma && j >= 2 && toks[j - 2].kind == Tok::RParen {
            let mut depth = 0i32;
            let mut k = j - 2;
            loop {
                match toks[k].kind {
                    Tok::RParen => depth += 1,
                    Tok::LParen => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                if k == 0 {
                    return false;
                }
                k -= 1;
            }
            j = k;
            continue;
        }
        return false;
    }
    false
}

/// For `INSERT INTO t [(cols)] VALUES`: the type of each target column.
fn insert_columns(toks: &[Token<'_>], tables: &TableColumns) -> Option<Vec<Option<PgType>>> {
    let into = toks.iter().position(|t| t.is_word("into"))?;
    if !toks
        .first()
        .is_some_and(|t| t.is_word("insert") || t.is_word("replace"))
    {
        return None;
    }
    let mut i = into + 1;
    let mut table = ident_value(toks.get(i)?);
    i += 1;
    while toks.get(i).is_some_and(|t| t.kind == Tok::Dot) {
        table = ident_value(toks.get(i + 1)?);
        i += 2;
    }
    if toks.get(i).is_some_and(|t| t.is_word("as")) {
        i += 2;
    }
    if toks.get(i).is_some_and(|t| t.kind == Tok::LParen) {
        let close = closing_paren(toks, i);
        let cols = toks[i + 1..close]
            .iter()
            .filter(|t| matches!(t.kind, Tok::Word | Tok::QuotedIdent))
            .map(|t| tables.column(Some(&table), &ident_value(t)))
            .collect();
        return Some(cols);
    }
    Some(
        tables
            .first_table()?
            .iter()
            .map(|(_, t)| Some(t.clone()))
            .collect(),
    )
}

// ---------------------------------------------------- result columns

/// The items of the select list (or RETURNING list) that make the
/// statement's result columns; `None` if there is a `*` or the list cannot
/// be found.
fn select_items<'a, 'b>(toks: &'b [Token<'a>]) -> Option<Vec<&'b [Token<'a>]>> {
    let mut i = skip_with(toks);
    let first = toks.get(i)?;
    let start = if first.is_word("select") {
        i += 1;
        if toks
            .get(i)
            .is_some_and(|t| t.is_word("distinct") || t.is_word("all"))
        {
            i += 1;
        }
        i
    } else if first.is_word("values") {
        let open = i + 1;
        if toks.get(open)?.kind != Tok::LParen {
            return None;
        }
        let close = closing_paren(toks, open);
        return Some(split_items(&toks[open + 1..close]));
    } else {
        // INSERT / UPDATE / DELETE ... RETURNING
        let mut depth = 0i32;
        let mut found = None;
        for (j, t) in toks.iter().enumerate().skip(i) {
            match t.kind {
                Tok::LParen => depth += 1,
                Tok::RParen => depth -= 1,
                _ if depth == 0 && t.is_word("returning") => {
                    found = Some(j + 1);
                    break;
                }
                _ => {}
            }
        }
        found?
    };
    const END: &[&str] = &[
        "from",
        "where",
        "group",
        "having",
        "order",
        "limit",
        "offset",
        "union",
        "intersect",
        "except",
        "window",
        "into",
        "for",
        "fetch",
    ];
    let mut depth = 0i32;
    let mut end = toks.len();
    for (j, t) in toks.iter().enumerate().skip(start) {
        match t.kind {
            Tok::LParen => depth += 1,
            Tok::RParen => depth -= 1,
            Tok::Word if depth == 0 && END.iter().any(|w| t.is_word(w)) => {
                end = j;
                break;
            }
            _ => {}
        }
    }
    let items = split_items(&toks[start..end]);
    if items.iter().any(|it| {
        it.last()
            .is_some_and(|t| t.kind == Tok::Op && t.text == "*")
            && it.len() <= 3
    }) {
        return None;
    }
    Some(items)
}

/// Skips a leading `WITH [RECURSIVE] name AS (...), ...`.
fn skip_with(toks: &[Token<'_>]) -> usize {
    if !toks.first().is_some_and(|t| t.is_word("with")) {
        return 0;
    }
    let mut i = 1;
    if toks.get(i).is_some_and(|t| t.is_word("recursive")) {
        i += 1;
    }
    while i < toks.len() {
        // name [(cols)] AS [NOT] [MATERIALIZED] ( ... )
        i += 1;
        if toks.get(i).is_some_and(|t| t.kind == Tok::LParen) {
            i = closing_paren(toks, i) + 1;
        }
        while toks
            .get(i)
            .is_some_and(|t| t.is_word("as") || t.is_word("not") || t.is_word("materialized"))
        {
            i += 1;
        }
        if toks.get(i).is_some_and(|t| t.kind == Tok::LParen) {
            i = closing_paren(toks, i) + 1;
        }
        if toks.get(i).is_some_and(|t| t.kind == Tok::Comma) {
            i += 1;
            continue;
        }
        break;
    }
    i
}

/// Splits a list at its top-level commas.
fn split_items<'a, 'b>(toks: &'b [Token<'a>]) -> Vec<&'b [Token<'a>]> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (j, t) in toks.iter().enumerate() {
        match t.kind {
            Tok::LParen => depth += 1,
            Tok::RParen => depth -= 1,
            Tok::Comma if depth == 0 => {
                out.push(&toks[start..j]);
                start = j + 1;
            }
            _ => {}
        }
    }
    if start < toks.len() {
        out.push(&toks[start..]);
    }
    out
}

/// An item without its alias, and the alias.
fn strip_alias<'a, 'b>(item: &'b [Token<'a>]) -> (&'b [Token<'a>], Option<String>) {
    let n = item.len();
    if n >= 3 && item[n - 2].is_word("as") {
        return (&item[..n - 2], Some(ident_value(&item[n - 1])));
    }
    if n >= 2 {
        let last = &item[n - 1];
        let prev = &item[n - 2];
        let alias_like = (last.kind == Tok::QuotedIdent
            || (last.kind == Tok::Word && !is_keyword(last)))
            && prev.kind != Tok::Dot
            && prev.kind != Tok::Cast
            && (matches!(
                prev.kind,
                Tok::RParen | Tok::Str | Tok::Number | Tok::Param | Tok::QuotedIdent
            ) || (prev.kind == Tok::Word
                && (!is_keyword(prev)
                    || prev.is_word("end")
                    || prev.is_word("null")
                    || prev.is_word("true")
                    || prev.is_word("false"))));
        // `x::double precision` ends in two words that are not an alias.
        let in_cast = n >= 3 && item[n - 3].kind == Tok::Cast;
        if alias_like && !in_cast {
            return (&item[..n - 1], Some(ident_value(last)));
        }
    }
    (item, None)
}

/// The name PostgreSQL gives a result column.
fn item_name(item: &[Token<'_>]) -> Option<String> {
    let (expr, alias) = strip_alias(item);
    alias.or_else(|| Some(figure_name(expr).unwrap_or_else(|| "?column?".to_owned())))
}

/// PostgreSQL's column name for an expression without alias: the column
/// or function name, the type of a cast of something nameless, else none.
fn figure_name(expr: &[Token<'_>]) -> Option<String> {
    let first = expr.first()?;
    // A trailing `::type` at depth 0.
    if let Some(cast) = last_top_level_cast(expr) {
        return figure_name(&expr[..cast]).or_else(|| {
            let (_, name) = sql::cast_type(expr, cast + 1);
            pg_type_from_name(&name).map(|t| type_label(&t.ty))
        });
    }
    if first.kind == Tok::LParen && closing_paren(expr, 0) == expr.len() - 1 {
        let inner = &expr[1..expr.len() - 1];
        if inner.first().is_some_and(|t| t.is_word("select")) {
            return None;
        }
        return figure_name(inner);
    }
    if first.is_word("case") {
        return Some("case".into());
    }
    if first.is_word("exists") {
        return Some("exists".into());
    }
    if first.is_word("cast") && expr.get(1).is_some_and(|t| t.kind == Tok::LParen) {
        let close = closing_paren(expr, 1);
        let inner = &expr[2..close];
        let as_pos = inner.iter().rposition(|t| t.is_word("as"))?;
        return figure_name(&inner[..as_pos]).or_else(|| {
            let name = join_text(&inner[as_pos + 1..]);
            pg_type_from_name(&name).map(|t| type_label(&t.ty))
        });
    }
    // name, t.name, f(...), schema.f(...)
    let mut i = 0;
    let mut last_name = None;
    while let Some(t) = expr.get(i) {
        if !matches!(t.kind, Tok::Word | Tok::QuotedIdent) {
            break;
        }
        last_name = Some(ident_value(t));
        if expr.get(i + 1).is_some_and(|d| d.kind == Tok::Dot) {
            i += 2;
        } else {
            i += 1;
            break;
        }
    }
    let name = last_name?;
    let rest = &expr[i..];
    if rest.is_empty() {
        if matches!(name.as_str(), "null" | "true" | "false") {
            return (name != "null").then(|| "bool".to_owned());
        }
        return Some(name);
    }
    if rest[0].kind == Tok::LParen {
        let close = closing_paren(rest, 0);
        // `f(...)`, `agg(...) FILTER (...)`, `f(...) OVER (...)`/`OVER w`.
        let tail = &rest[(close + 1).min(rest.len())..];
        let named = match tail {
            [] => true,
            [w, ..] if w.is_word("filter") || w.is_word("over") => {
                tail.len() == 2
                    || tail[1].kind == Tok::LParen && closing_paren(tail, 1) == tail.len() - 1
            }
            _ => false,
        };
        if named {
            return Some(name);
        }
    }
    None
}

/// The position of the last `::` at depth 0, if the expression is a cast.
fn last_top_level_cast(expr: &[Token<'_>]) -> Option<usize> {
    let mut depth = 0i32;
    let mut last = None;
    for (j, t) in expr.iter().enumerate() {
        match t.kind {
            Tok::LParen => depth += 1,
            Tok::RParen => depth -= 1,
            Tok::Cast if depth == 0 => last = Some(j),
            // Only a cast of the whole expression names the column.
            Tok::Op | Tok::Comma if depth == 0 && last.is_none() => return None,
            _ => {}
        }
    }
    let cast = last?;
    let (end, _) = sql::cast_type(expr, cast + 1);
    (end >= expr.len()).then_some(cast)
}

fn join_text(toks: &[Token<'_>]) -> String {
    let mut s = String::new();
    for t in toks {
        if !s.is_empty() && t.kind == Tok::Word && !s.ends_with('(') {
            s.push(' ');
        }
        s.push_str(t.text);
    }
    s
}

/// The name PostgreSQL uses for a type in column names (`int4`, `text`).
fn type_label(ty: &Type) -> String {
    ty.name().to_owned()
}

struct Ctx<'c> {
    tables: &'c TableColumns,
    params: &'c [Type],
    /// The whole statement, for the columns of its subqueries in FROM.
    statement: &'c [Token<'c>],
    /// How deep subquery columns are being resolved (a guard).
    depth: std::cell::Cell<u8>,
}

impl Ctx<'_> {
    /// The type of an expression, if the text tells it.
    fn expr_type(&self, expr: &[Token<'_>]) -> Option<PgType> {
        if expr.is_empty() {
            return None;
        }
        // Operators at the top level (outside parentheses and CASE).
        let mut depth = 0i32;
        let mut case = 0i32;
        let mut arith = Vec::new();
        let mut concat = false;
        for (j, t) in expr.iter().enumerate() {
            match t.kind {
                Tok::LParen => depth += 1,
                Tok::RParen => depth -= 1,
                Tok::Word if t.is_word("case") => case += 1,
                Tok::Word if t.is_word("end") => case -= 1,
                _ if depth != 0 || case != 0 => {}
                _ if is_comparison(t) => return Some(PgType::plain(Type::BOOL)),
                Tok::Word
                    if [
                        "and", "or", "not", "is", "in", "between", "exists", "regexp", "match",
                    ]
                    .iter()
                    .any(|w| t.is_word(w)) =>
                {
                    return Some(PgType::plain(Type::BOOL));
                }
                Tok::Op if t.text == "||" => concat = true,
                _ if is_arithmetic(t) && j > 0 => {
                    let prev = &expr[j - 1];
                    // A binary operator follows an operand.
                    if !matches!(prev.kind, Tok::Op | Tok::LParen | Tok::Comma) {
                        arith.push(j);
                    }
                }
                _ => {}
            }
        }
        if concat {
            return Some(PgType::plain(Type::TEXT));
        }
        if !arith.is_empty() {
            let mut result: Option<Type> = None;
            let mut start = 0;
            for &op in arith.iter().chain(std::iter::once(&expr.len())) {
                let t = self.primary_type(&expr[start..op])?.ty;
                result = Some(match result {
                    None => t,
                    Some(r) => numeric_union(&r, &t)?,
                });
                start = op + 1;
            }
            return result.map(PgType::plain);
        }
        self.primary_type(expr)
    }

    /// The type of a single operand.
    fn primary_type(&self, expr: &[Token<'_>]) -> Option<PgType> {
        let mut expr = expr;
        while expr
            .first()
            .is_some_and(|t| t.kind == Tok::Op && matches!(t.text, "-" | "+"))
        {
            expr = &expr[1..];
        }
        let first = expr.first()?;
        if let Some(cast) = last_top_level_cast(expr) {
            let (_, name) = sql::cast_type(expr, cast + 1);
            return pg_type_from_name(&name);
        }
        let whole_paren = |at: usize| {
            expr.get(at).is_some_and(|t| t.kind == Tok::LParen)
                && closing_paren(expr, at) == expr.len() - 1
        };
        if first.kind == Tok::LParen && whole_paren(0) {
            let inner = &expr[1..expr.len() - 1];
            // A scalar subquery: its one column's type.
            if inner.first().is_some_and(|t| t.is_word("select")) {
                return select_items(inner).and_then(|items| {
                    items.first().and_then(|i| self.expr_type(strip_alias(i).0))
                });
            }
            return self.expr_type(inner);
        }
        if expr.len() == 1 {
            return match first.kind {
                Tok::Number => Some(PgType::plain(number_type(first.text))),
                Tok::Str if first.text.starts_with(['x', 'X']) => Some(PgType::plain(Type::BYTEA)),
                Tok::Str => Some(PgType::plain(Type::TEXT)),
                Tok::Param => first
                    .param_number()
                    .and_then(|n| self.params.get(n.checked_sub(1)?))
                    .map(|t| PgType::plain(t.clone())),
                Tok::Word if first.is_word("true") || first.is_word("false") => {
                    Some(PgType::plain(Type::BOOL))
                }
                Tok::Word if first.is_word("current_timestamp") => {
                    Some(PgType::plain(Type::TIMESTAMPTZ))
                }
                Tok::Word if first.is_word("current_date") => Some(PgType::plain(Type::DATE)),
                Tok::Word if first.is_word("current_time") => Some(PgType::plain(Type::TIME)),
                Tok::Word | Tok::QuotedIdent => {
                    let name = ident_value(first);
                    match name.as_str() {
                        "current_user" | "session_user" | "current_role" | "current_catalog"
                        | "current_schema" | "user" => Some(PgType::plain(Type::NAME)),
                        _ => self
                            .tables
                            .column(None, &name)
                            .or_else(|| self.cte_column(None, &name)),
                    }
                }
                _ => None,
            };
        }
        if first.is_word("case") {
            // The type of the first THEN branch.
            let then = expr.iter().position(|t| t.is_word("then"))?;
            let mut depth = 0i32;
            let mut case = 0i32;
            let mut end = expr.len();
            for (j, t) in expr.iter().enumerate().skip(then + 1) {
                match t.kind {
                    Tok::LParen => depth += 1,
                    Tok::RParen => depth -= 1,
                    Tok::Word if t.is_word("case") => case += 1,
                    Tok::Word
                        if depth == 0
                            && (t.is_word("when") || t.is_word("else") || t.is_word("end")) =>
                    {
                        if case == 0 {
                            end = j;
                            break;
                        }
                        if t.is_word("end") {
                            case -= 1;
                        }
                    }
                    _ => {}
                }
            }
            return self.expr_type(&expr[then + 1..end]);
        }
        if first.is_word("cast") && whole_paren(1) {
            let inner = &expr[2..expr.len() - 1];
            let as_pos = inner.iter().rposition(|t| t.is_word("as"))?;
            return pg_type_from_name(&join_text(&inner[as_pos + 1..]));
        }
        // t.col
        if expr.len() == 3 && expr[1].kind == Tok::Dot {
            let column = ident_value(&expr[2]);
            // `sub.col` of a subquery in FROM: the column of that name of
            // a table the statement reads (catalog columns have unique
            // names).
            let alias = ident_value(&expr[0]);
            return self
                .tables
                .column(Some(&alias), &column)
                .or_else(|| self.subquery_column(&alias, &column))
                .or_else(|| self.cte_column(Some(&alias), &column))
                .or_else(|| self.tables.column(None, &column));
        }
        // f(args), schema.f(args)
        let (name, open) = match expr {
            [f, p, ..] if p.kind == Tok::LParen => (ident_value(f), 1),
            [_, d, f, p, ..] if d.kind == Tok::Dot && p.kind == Tok::LParen => (ident_value(f), 3),
            _ => return None,
        };
        let close = closing_paren(expr, open);
        // An aggregate's `FILTER (WHERE ...)` or a window's `OVER (...)`
        // keeps the call's type.
        let tail_ok = match expr.get(close + 1) {
            None => true,
            Some(t) => {
                (t.is_word("filter") || t.is_word("over"))
                    && (expr.len() == close + 3
                        || expr.get(close + 2).is_some_and(|p| p.kind == Tok::LParen)
                            && closing_paren(expr, close + 2) == expr.len() - 1)
            }
        };
        if close >= expr.len() || !tail_ok {
            return None;
        }
        let args = split_items(&expr[open + 1..close]);
        self.function_type(&name, &args)
    }

    /// The type of column `column` of the subquery `( SELECT ... ) alias`
    /// in the statement's FROM.
    fn subquery_column(&self, alias: &str, column: &str) -> Option<PgType> {
        if self.depth.get() > 8 {
            return None;
        }
        let toks = self.statement;
        let close = (1..toks.len()).find(|&k| {
            let named = |t: &Token<'_>| {
                matches!(t.kind, Tok::Word | Tok::QuotedIdent) && ident_value(t) == alias
            };
            named(&toks[k])
                && (toks[k - 1].kind == Tok::RParen
                    || (k >= 2 && toks[k - 1].is_word("as") && toks[k - 2].kind == Tok::RParen))
        })?;
        let close = if toks[close - 1].kind == Tok::RParen {
            close - 1
        } else {
            close - 2
        };
        let open = (0..close)
            .rev()
            .find(|&o| toks[o].kind == Tok::LParen && closing_paren(toks, o) == close)?;
        let items = select_items(&toks[open + 1..close])?;
        let item = items
            .iter()
            .find(|i| item_name(i).as_deref() == Some(column))?;
        self.depth.set(self.depth.get() + 1);
        let t = self.expr_type(strip_alias(item).0);
        self.depth.set(self.depth.get() - 1);
        t
    }

    /// The type of column `column` of a common table expression of the
    /// statement (`WITH [RECURSIVE] name [(columns)] AS (query)`), named
    /// `cte` or any: the type of that column in the query's first branch,
    /// which is what a recursive one's rows have too.
    fn cte_column(&self, cte: Option<&str>, column: &str) -> Option<PgType> {
        if self.depth.get() > 8 {
            return None;
        }
        let toks = self.statement;
        let mut found = None;
        for k in 0..toks.len() {
            let t = &toks[k];
            if !matches!(t.kind, Tok::Word | Tok::QuotedIdent) || k == 0 {
                continue;
            }
            let before = &toks[k - 1];
            if !(before.is_word("with") || before.is_word("recursive") || before.kind == Tok::Comma)
            {
                continue;
            }
            let name = ident_value(t);
            if cte.is_some_and(|c| c != name) {
                continue;
            }
            let mut j = k + 1;
            let mut names: Vec<String> = Vec::new();
            if toks.get(j).is_some_and(|p| p.kind == Tok::LParen) {
                let close = closing_paren(toks, j);
                names = toks[j + 1..close.min(toks.len())]
                    .iter()
                    .filter(|t| matches!(t.kind, Tok::Word | Tok::QuotedIdent))
                    .map(ident_value)
                    .collect();
                j = close + 1;
            }
            if !toks.get(j).is_some_and(|a| a.is_word("as"))
                || !toks.get(j + 1).is_some_and(|p| p.kind == Tok::LParen)
            {
                continue;
            }
            let open = j + 1;
            let close = closing_paren(toks, open);
            // The first branch: up to a top-level UNION.
            let body = &toks[open + 1..close.min(toks.len())];
            let mut depth = 0i32;
            let end = body
                .iter()
                .position(|t| {
                    match t.kind {
                        Tok::LParen => depth += 1,
                        Tok::RParen => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                        && (t.is_word("union") || t.is_word("except") || t.is_word("intersect"))
                })
                .unwrap_or(body.len());
            let Some(items) = select_items(&body[..end]) else {
                continue;
            };
            let item = match names.iter().position(|n| n == column) {
                Some(i) => items.get(i),
                None if names.is_empty() => items
                    .iter()
                    .find(|i| item_name(i).as_deref() == Some(column)),
                None => None,
            };
            if let Some(item) = item {
                found = Some(*item);
                break;
            }
        }
        let item = found?;
        self.depth.set(self.depth.get() + 1);
        let t = self.expr_type(strip_alias(item).0);
        self.depth.set(self.depth.get() - 1);
        t
    }

    /// The result type of function `name` called with `args`.
    fn function_type(&self, name: &str, args: &[&[Token<'_>]]) -> Option<PgType> {
        let arg = |i: usize| args.get(i).and_then(|a| self.expr_type(a)).map(|t| t.ty);
        let t = match name {
            // `array_agg(x ORDER BY y)`: an array of x's type.
            "array_agg" => {
                let a = args.first()?;
                let end = a.iter().position(|t| t.is_word("order")).unwrap_or(a.len());
                return self
                    .expr_type(&a[..end])
                    .and_then(|t| array_of(&t.ty))
                    .map(PgType::plain);
            }
            "count" => Type::INT8,
            "sum" => match arg(0)? {
                Type::INT2 | Type::INT4 => Type::INT8,
                Type::INT8 | Type::NUMERIC => Type::NUMERIC,
                Type::FLOAT4 | Type::FLOAT8 => Type::FLOAT8,
                _ => return None,
            },
            "avg" => match arg(0)? {
                Type::INT2 | Type::INT4 | Type::INT8 | Type::NUMERIC => Type::NUMERIC,
                Type::FLOAT4 | Type::FLOAT8 => Type::FLOAT8,
                _ => return None,
            },
            "total" => Type::FLOAT8,
            "min" | "max" | "abs" | "ceil" | "ceiling" | "floor" | "sign" => {
                return args.first().and_then(|a| self.expr_type(a));
            }
            "round" if args.len() == 1 => return args.first().and_then(|a| self.expr_type(a)),
            "round" | "trunc" => Type::NUMERIC,
            "coalesce" | "ifnull" | "nullif" | "greatest" | "least" => {
                return args.iter().find_map(|a| self.expr_type(a));
            }
            "length" | "char_length" | "character_length" | "octet_length" | "bit_length"
            | "instr" | "strpos" | "unicode" | "ascii" => Type::INT4,
            "lower" | "upper" | "trim" | "ltrim" | "rtrim" | "btrim" | "substr" | "substring"
            | "replace" | "concat" | "concat_ws" | "left" | "right" | "lpad" | "rpad"
            | "repeat" | "reverse" | "initcap" | "md5" | "string_agg" | "group_concat"
            | "quote" | "hex" | "printf" | "format" | "chr" | "char" | "typeof"
            | "sqlite_version" | "version" | "to_hex" => Type::TEXT,
            "now" | "transaction_timestamp" | "statement_timestamp" | "clock_timestamp" => {
                Type::TIMESTAMPTZ
            }
            "current_database" | "current_schema" | "current_user" | "session_user"
            | "current_role" | "current_catalog" | "user" => Type::NAME,
            "pg_backend_pid" => Type::INT4,
            "gen_random_uuid" => Type::UUID,
            "pg_bool" => Type::BOOL,
            "pg_int2" => Type::INT2,
            "pg_int4" => Type::INT4,
            "pg_int8" => Type::INT8,
            "pg_float4" => Type::FLOAT4,
            "pg_float8" => Type::FLOAT8,
            "last_insert_rowid" | "changes" | "total_changes" => Type::INT8,
            _ => return super::catalog::function_type(name).map(PgType::plain),
        };
        Some(PgType::plain(t))
    }
}

/// PostgreSQL's type of an integer or decimal literal.
fn number_type(text: &str) -> Type {
    if text.contains(['.', 'e', 'E']) && !text.starts_with("0x") {
        return Type::NUMERIC;
    }
    match text.replace('_', "").parse::<i64>() {
        Ok(v) if i32::try_from(v).is_ok() => Type::INT4,
        Ok(_) => Type::INT8,
        Err(_) => Type::NUMERIC,
    }
}

/// The type of `a op b` for numeric operand types.
fn numeric_union(a: &Type, b: &Type) -> Option<Type> {
    let rank = |t: &Type| match *t {
        Type::INT2 => Some(1),
        Type::INT4 => Some(2),
        Type::INT8 => Some(3),
        Type::NUMERIC => Some(4),
        Type::FLOAT4 => Some(5),
        Type::FLOAT8 => Some(6),
        _ => None,
    };
    let (ra, rb) = (rank(a)?, rank(b)?);
    // real with anything but real is double precision (PostgreSQL 15).
    if (*a == Type::FLOAT4 || *b == Type::FLOAT4) && a != b {
        return Some(Type::FLOAT8);
    }
    Some(if ra >= rb { a.clone() } else { b.clone() })
}

/// How the tag of a statement is made, from its first words.
fn tag_kind(toks: &[Token<'_>]) -> TagKind {
    let i = skip_with(toks);
    let word = |j: usize| {
        toks.get(j)
            .filter(|t| t.kind == Tok::Word)
            .map(|t| t.text.to_ascii_uppercase())
            .unwrap_or_default()
    };
    match word(i).as_str() {
        "SELECT" | "VALUES" | "TABLE" => TagKind::Select,
        "INSERT" | "REPLACE" => TagKind::Insert,
        "UPDATE" => TagKind::Update,
        "DELETE" => TagKind::Delete,
        "CREATE" => {
            let mut j = i + 1;
            if word(j) == "OR" {
                j += 2;
            }
            while matches!(
                word(j).as_str(),
                "TEMP" | "TEMPORARY" | "UNIQUE" | "VIRTUAL"
            ) {
                j += 1;
            }
            let object = word(j);
            if object == "TABLE" {
                let has_as_select = toks.windows(2).any(|w| {
                    w[0].is_word("as") && (w[1].is_word("select") || w[1].is_word("with"))
                });
                if has_as_select {
                    return TagKind::CreateTableAs;
                }
            }
            TagKind::Named(format!("CREATE {object}"))
        }
        "DROP" | "ALTER" => TagKind::Named(format!("{} {}", word(i), word(i + 1))),
        "" => TagKind::Named(String::new()),
        w => TagKind::Named(w.to_owned()),
    }
}

/// Column name and type maps, for tests.
#[cfg(test)]
fn describe(conn: &Connection, sql: &str) -> (Vec<(String, Option<Type>)>, Vec<Type>) {
    let p = prepare(conn, sql, &[]).unwrap();
    (
        p.columns
            .into_iter()
            .map(|c| (c.name, c.ty.map(|t| t.ty)))
            .collect(),
        p.params,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "create table t (id integer primary key, name varchar(20), price real, \
             n numeric(10,2), b boolean, big bigint, d date); \
             create table u (a int8, b text)",
        )
        .unwrap();
        super::super::functions::register_for_tests(&c);
        c
    }

    #[test]
    fn column_types_and_names() {
        let c = conn();
        let (cols, _) = describe(
            &c,
            "select 1, 'a', 1.5, $1::int8, count(*), id, name from t",
        );
        let want = [
            ("?column?", Some(Type::INT4)),
            ("?column?", Some(Type::TEXT)),
            ("?column?", Some(Type::NUMERIC)),
            ("int8", Some(Type::INT8)),
            ("count", Some(Type::INT8)),
            ("id", Some(Type::INT4)),
            ("name", Some(Type::VARCHAR)),
        ];
        for (i, (name, ty)) in want.iter().enumerate() {
            assert_eq!(cols[i].0, *name, "column {i}");
            assert_eq!(cols[i].1, *ty, "column {i}");
        }
        let (cols, _) = describe(
            &c,
            "select id = 1 as eq, price * 2 doubled, sum(id), version() from t",
        );
        assert_eq!(cols[0], ("eq".into(), Some(Type::BOOL)));
        assert_eq!(cols[1], ("doubled".into(), Some(Type::FLOAT8)));
        assert_eq!(cols[2], ("sum".into(), Some(Type::INT8)));
        assert_eq!(cols[3], ("version".into(), Some(Type::TEXT)));
        let (cols, _) = describe(
            &c,
            "select count(*) filter (where id > 0), sum(big) over (order by id), count(*) over w \
             from t window w as ()",
        );
        assert_eq!(cols[0], ("count".into(), Some(Type::INT8)));
        assert_eq!(cols[1], ("sum".into(), Some(Type::NUMERIC)));
        assert_eq!(cols[2], ("count".into(), Some(Type::INT8)));
        let (cols, _) = describe(&c, "select x::double precision from (select 1 as x)");
        assert_eq!(cols[0], ("x".into(), Some(Type::FLOAT8)));
    }

    #[test]
    fn parameter_inference() {
        let c = conn();
        let (_, params) = describe(&c, "select * from t where id = $1 and name = $2 limit $3");
        assert_eq!(params, [Type::INT4, Type::VARCHAR, Type::INT8]);
        let (_, params) = describe(&c, "insert into t (name, b, id) values ($1, $2, $3)");
        assert_eq!(params, [Type::VARCHAR, Type::BOOL, Type::INT4]);
        let (_, params) = describe(&c, "update t set price = $2 where t.id in ($1, $3)");
        assert_eq!(params, [Type::INT4, Type::FLOAT4, Type::INT4]);
        let (_, params) = describe(
            &c,
            "select $1, $2::bool, $3 from t where d between $4 and $5",
        );
        assert_eq!(
            params,
            [Type::TEXT, Type::BOOL, Type::TEXT, Type::DATE, Type::DATE]
        );
        let (_, params) = describe(&c, "insert into u values ($1, $2)");
        assert_eq!(params, [Type::INT8, Type::TEXT]);
        let p = prepare(
            &c,
            "update t set id = $1 where big = $2",
            &[Some(Type::INT8), None],
        )
        .unwrap();
        assert_eq!(p.params, [Type::INT8, Type::INT8]);
        assert_eq!(p.targets, [Some(Type::INT4), None]);
        let p = prepare(&c, "select * from t where id = $1", &[Some(Type::INT8)]).unwrap();
        assert_eq!(p.targets, [None]);
        let (_, params) = describe(
            &c,
            "select * from t where id = any($1) and name <> all ($2)",
        );
        assert_eq!(params, [Type::INT4_ARRAY, Type::VARCHAR_ARRAY]);
    }

    #[test]
    fn tags() {
        let k = |s: &str| tag_kind(&sql::significant(s));
        assert_eq!(k("select 1"), TagKind::Select);
        assert_eq!(
            k("with x as (select 1) insert into t select * from x"),
            TagKind::Insert
        );
        assert_eq!(
            k("create unique index i on t (a)"),
            TagKind::Named("CREATE INDEX".into())
        );
        assert_eq!(k("create table u as select 1"), TagKind::CreateTableAs);
        assert_eq!(
            k("drop table if exists t"),
            TagKind::Named("DROP TABLE".into())
        );
    }
}
