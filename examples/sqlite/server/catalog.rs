//! The catalog of the SQLite database, through `pgwire::catalog`: what
//! psql's `\d`, SQLAlchemy's reflection and JDBC's metadata read.
//!
//! Each session's connection attaches two private in-memory databases
//! named `pg_catalog` and `information_schema` with a table for each
//! catalog relation (`pgwire::catalog::CATALOG_RELATIONS`, same columns),
//! so `pg_catalog.pg_class` and an unqualified `pg_class` are just tables
//! to SQLite. Before a statement that reads them runs, their rows are
//! rebuilt if the schema changed since (`PRAGMA schema_version`): the
//! tables, views, indexes, keys and checks SQLite knows (`sqlite_schema`
//! and its pragmas) become `TableDef`s, and `Catalog::rows` the rows.
//! The helper functions (`format_type`, `pg_get_indexdef`, `::regclass`...)
//! are SQLite functions over the same `Catalog`.
//!
//! The SQL tools send around those relations (`~` and `OPERATOR(~)`,
//! `COLLATE`, `ARRAY(SELECT ...)`, subscripts, set-returning functions in
//! FROM) is rewritten by `catalog_sql.rs`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use pgwire::catalog::{
    CATALOG_RELATIONS, Catalog, CatalogSettings, CatalogValue, CheckDef, ColumnDef, ForeignKeyDef,
    IndexDef, KeyDef, OID_SPAN, RelationKind, TableDef, format_type, parse_type_name, quote_ident,
};
use pgwire::error::ErrorInfo;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use super::catalog_sql;
use super::errors::from_sqlite;
use super::functions::{SessionInfo, array_json};
use super::sql::{Tok, tokenize};

/// The catalog a session's functions read; rebuilt with the tables.
type Shared = Arc<Mutex<Option<Catalog>>>;

thread_local! {
    /// The catalog of the session whose worker this thread is (one
    /// connection per worker thread).
    static CURRENT: RefCell<Option<(Shared, CatalogSettings)>> = const { RefCell::new(None) };
}

/// The marker the rewrite of `serial` leaves in `CREATE TABLE`: the column
/// is numbered by a sequence in PostgreSQL.
pub const SERIAL_MARKER: &str = "/*serial*/";

/// The SQLite column type of a catalog column of PostgreSQL type `oid`:
/// one the example maps back to that type.
fn decl_for(oid: u32) -> &'static str {
    match oid {
        16 => "bool",
        19 => "name",
        20 => "int8",
        21 => "int2",
        23 => "int4",
        26 => "oid",
        700 => "real",
        701 => "float8",
        1043 => "varchar",
        1184 => "timestamptz",
        1700 => "numeric",
        _ => "text",
    }
}

/// Attaches the catalog databases to a new session's connection and
/// registers the catalog functions.
pub fn attach(conn: &Connection, info: &SessionInfo) -> rusqlite::Result<()> {
    conn.execute_batch(
        "ATTACH DATABASE ':memory:' AS pg_catalog; \
         ATTACH DATABASE ':memory:' AS information_schema;",
    )?;
    let mut ddl = String::from("BEGIN;");
    for rel in CATALOG_RELATIONS {
        ddl.push_str(&format!(
            "CREATE TABLE {}.{} (",
            rel.schema,
            quote_ident(rel.name)
        ));
        for (i, c) in rel.columns.iter().enumerate() {
            if i > 0 {
                ddl.push_str(", ");
            }
            ddl.push_str(&format!("\"{}\" {}", c.name, decl_for(c.type_oid)));
        }
        ddl.push_str(");");
    }
    ddl.push_str("CREATE TABLE pg_catalog._pgwire_schema_version (v INTEGER); COMMIT;");
    conn.execute_batch(&ddl)?;
    let settings = CatalogSettings {
        database: info.database.clone(),
        owner: info.user.clone(),
        settings: vec![
            ("server_version".into(), info.server_version.clone()),
            // Grafana reads it with current_setting() on connect.
            (
                "server_version_num".into(),
                server_version_num(&info.server_version),
            ),
            ("server_encoding".into(), "UTF8".into()),
            ("client_encoding".into(), "UTF8".into()),
            ("DateStyle".into(), "ISO, MDY".into()),
            ("TimeZone".into(), "UTC".into()),
            ("standard_conforming_strings".into(), "on".into()),
            ("integer_datetimes".into(), "on".into()),
            ("max_identifier_length".into(), "63".into()),
            ("search_path".into(), "\"$user\", public".into()),
            ("default_table_access_method".into(), "heap".into()),
            ("max_index_keys".into(), "32".into()),
            ("max_function_args".into(), "100".into()),
            ("block_size".into(), "8192".into()),
            ("lc_collate".into(), "C".into()),
            ("lc_ctype".into(), "C".into()),
            (
                "default_transaction_isolation".into(),
                "read committed".into(),
            ),
            ("transaction_isolation".into(), "read committed".into()),
            ("standard_conforming_strings".into(), "on".into()),
        ],
    };
    let shared: Shared = Arc::default();
    register(conn, &shared)?;
    // `current_setting()` inside a larger query (alone in a SELECT list,
    // the session's own value is answered before SQLite sees it).
    let values = settings.settings.clone();
    conn.create_scalar_function(
        "current_setting",
        -1,
        FunctionFlags::SQLITE_UTF8,
        move |ctx| {
            let name = text_arg(ctx, 0).unwrap_or_default();
            let missing_ok =
                ctx.len() > 1 && matches!(ctx.get_raw(1), ValueRef::Integer(n) if n != 0);
            match values.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                Some((_, v)) => Ok(Value::Text(v.clone())),
                None if missing_ok => Ok(Value::Null),
                None => Err(rusqlite::Error::UserFunctionError(
                    format!("unrecognized configuration parameter \"{name}\"").into(),
                )),
            }
        },
    )?;
    CURRENT.with(|c| *c.borrow_mut() = Some((shared, settings)));
    Ok(())
}

/// Whether `text` reads the catalog or uses syntax only catalog queries use.
fn mentions_catalog(text: &str) -> bool {
    ["pg_", "information_schema", "regclass", "regtype", "::reg"]
        .iter()
        .any(|w| catalog_sql::contains_ci(text, w))
}

/// Called before a statement is prepared: refreshes the catalog tables
/// if the statement may read them, and rewrites the PostgreSQL syntax
/// catalog queries use.
pub fn prepare_text<'a>(conn: &Connection, text: &'a str) -> Result<Cow<'a, str>, ErrorInfo> {
    if mentions_catalog(text) {
        refresh(conn).map_err(|e| from_sqlite(&e))?;
    }
    Ok(match super::implicit_aliases::name_function_columns(text) {
        Cow::Borrowed(text) => catalog_sql::rewrite(text),
        Cow::Owned(named) => Cow::Owned(catalog_sql::rewrite(&named).into_owned()),
    })
}

/// Rebuilds the catalog and its tables if the schema changed.
fn refresh(conn: &Connection) -> rusqlite::Result<()> {
    let Some((shared, settings)) = CURRENT.with(|c| c.borrow().clone()) else {
        return Ok(());
    };
    let version: i64 = conn.query_row("PRAGMA main.schema_version", [], |r| r.get(0))?;
    let stored: Option<i64> = conn
        .query_row("SELECT v FROM pg_catalog._pgwire_schema_version", [], |r| {
            r.get(0)
        })
        .optional()?;
    let fresh = shared.lock().map(|c| c.is_some()).unwrap_or(false);
    if stored == Some(version) && fresh {
        return Ok(());
    }
    let catalog = Catalog::new(settings, read_tables(conn)?);
    if stored != Some(version) {
        // A read-only transaction still fills the session's own tables.
        let query_only: i64 = conn.query_row("PRAGMA query_only", [], |r| r.get(0))?;
        if query_only != 0 {
            conn.execute_batch("PRAGMA query_only = 0")?;
        }
        let result = fill(conn, &catalog, version);
        if query_only != 0 {
            conn.execute_batch("PRAGMA query_only = 1")?;
        }
        result?;
    }
    if let Ok(mut c) = shared.lock() {
        *c = Some(catalog);
    }
    Ok(())
}

/// Replaces the rows of every catalog table.
fn fill(conn: &Connection, catalog: &Catalog, version: i64) -> rusqlite::Result<()> {
    conn.execute_batch("SAVEPOINT pgwire_catalog")?;
    let result = (|| {
        for rel in CATALOG_RELATIONS {
            let table = format!("{}.{}", rel.schema, quote_ident(rel.name));
            conn.execute(&format!("DELETE FROM {table}"), [])?;
            let rows = catalog.rows(rel);
            if rows.is_empty() {
                continue;
            }
            let marks = vec!["?"; rel.columns.len()].join(",");
            let mut stmt = conn.prepare(&format!("INSERT INTO {table} VALUES ({marks})"))?;
            for row in rows {
                stmt.execute(params_from_iter(row.into_iter().map(|v| match v {
                    CatalogValue::Null => Value::Null,
                    CatalogValue::Bool(b) => Value::Integer(i64::from(b)),
                    CatalogValue::Int(i) => Value::Integer(i),
                    CatalogValue::Text(s) => Value::Text(s),
                })))?;
            }
        }
        conn.execute("DELETE FROM pg_catalog._pgwire_schema_version", [])?;
        conn.execute(
            "INSERT INTO pg_catalog._pgwire_schema_version VALUES (?1)",
            [version],
        )?;
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("RELEASE pgwire_catalog"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO pgwire_catalog; RELEASE pgwire_catalog");
            Err(e)
        }
    }
}

/// The database's tables and views as the catalog describes them.
fn read_tables(conn: &Connection) -> rusqlite::Result<Vec<TableDef>> {
    let mut stmt = conn.prepare(
        "SELECT rowid, type, name, sql FROM main.sqlite_schema \
         WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND name NOT LIKE '\\_pgwire\\_%' ESCAPE '\\' \
         ORDER BY rowid",
    )?;
    let objects: Vec<(i64, String, String, String)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut tables = Vec::with_capacity(objects.len());
    for (rowid, kind, name, sql) in objects {
        let oid = table_oid(rowid);
        let kind = if kind == "view" {
            RelationKind::View
        } else {
            RelationKind::Table
        };
        let mut t = TableDef::new(oid, "public", &name, kind);
        let parsed = parse_create(&sql);
        let mut pk: Vec<(i64, String)> = Vec::new();
        let mut info = conn.prepare(
            "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)",
        )?;
        let cols = info.query_map([&name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        for col in cols {
            let (cname, decl, notnull, default, pkpos, hidden) = col?;
            if hidden == 1 {
                continue;
            }
            let bigserial = decl == super::sql::BIGSERIAL_DECL;
            let serial = bigserial || parsed.serial.iter().any(|s| s.eq_ignore_ascii_case(&cname));
            let (type_oid, typmod) = if bigserial {
                (20, -1)
            } else {
                parse_type_name(&decl).unwrap_or_else(|| affinity_type(&decl))
            };
            let mut c = ColumnDef::new(&cname, type_oid, typmod);
            c.not_null = notnull != 0;
            c.serial = serial && kind == RelationKind::Table;
            if !c.serial {
                c.default = default.map(|d| unwrap_parens(&d).to_owned());
            }
            if pkpos > 0 {
                pk.push((pkpos, cname.clone()));
            }
            t.columns.push(c);
        }
        if kind == RelationKind::View {
            t.view_definition = Some(view_query(&sql));
            tables.push(t);
            continue;
        }
        pk.sort();
        if !pk.is_empty() {
            let columns: Vec<String> = pk.into_iter().map(|(_, n)| n).collect();
            t.primary_key = Some(KeyDef {
                name: parsed.named(b'p', &columns),
                columns,
            });
        }
        let mut list = conn.prepare(
            "SELECT name, \"unique\", origin FROM pragma_index_list(?1) ORDER BY seq DESC",
        )?;
        let indexes: Vec<(String, bool, String)> = list
            .query_map([&name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        for (iname, unique, origin) in indexes {
            let mut ii = conn.prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")?;
            let columns: Vec<String> = ii
                .query_map([&iname], |r| r.get::<_, Option<String>>(0))?
                .filter_map(|c| c.ok().flatten())
                .collect();
            match origin.as_str() {
                "pk" => {}
                "u" => t.unique.push(KeyDef {
                    name: parsed.named(b'u', &columns),
                    columns,
                }),
                _ => t.indexes.push(IndexDef {
                    name: iname,
                    columns,
                    unique,
                }),
            }
        }
        let mut fks = conn.prepare(
            "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete \
             FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
        )?;
        let rows: Vec<(i64, String, String, Option<String>, String, String)> = fks
            .query_map([&name], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        // SQLite numbers foreign keys from the last one declared.
        let mut by_id: Vec<(i64, ForeignKeyDef)> = Vec::new();
        for (id, rtable, from, to, on_update, on_delete) in rows {
            if let Some((_, fk)) = by_id.iter_mut().find(|(i, _)| *i == id) {
                fk.columns.push(from);
                fk.referenced_columns.extend(to);
                continue;
            }
            by_id.push((
                id,
                ForeignKeyDef {
                    name: None,
                    columns: vec![from],
                    referenced_table: rtable,
                    referenced_columns: to.into_iter().collect(),
                    on_update: action_code(&on_update),
                    on_delete: action_code(&on_delete),
                },
            ));
        }
        by_id.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
        for (_, mut fk) in by_id {
            fk.name = parsed.named(b'f', &fk.columns);
            t.foreign_keys.push(fk);
        }
        t.checks = parsed
            .checks
            .iter()
            .map(|(name, expression)| CheckDef {
                name: name.clone(),
                expression: expression.clone(),
            })
            .collect();
        tables.push(t);
    }
    Ok(tables)
}

/// A type for a declared type PostgreSQL does not know, by SQLite's
/// affinity rules.
fn affinity_type(decl: &str) -> (u32, i32) {
    let d = decl.to_ascii_uppercase();
    if d.contains("INT") {
        (20, -1)
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") || d.is_empty() {
        (25, -1)
    } else if d.contains("BLOB") {
        (17, -1)
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        (701, -1)
    } else {
        (1700, -1)
    }
}

fn action_code(action: &str) -> u8 {
    match action.to_ascii_uppercase().as_str() {
        "CASCADE" => b'c',
        "RESTRICT" => b'r',
        "SET NULL" => b'n',
        "SET DEFAULT" => b'd',
        _ => b'a',
    }
}

/// `(x)` without its parentheses (the rewrite wraps DEFAULT calls).
fn unwrap_parens(s: &str) -> &str {
    let t = s.trim();
    if t.starts_with('(') && t.ends_with(')') {
        let inner = &t[1..t.len() - 1];
        let mut depth = 0i32;
        for tok in tokenize(inner) {
            match tok.kind {
                Tok::LParen => depth += 1,
                Tok::RParen => {
                    depth -= 1;
                    if depth < 0 {
                        return t;
                    }
                }
                _ => {}
            }
        }
        return inner.trim();
    }
    t
}

/// The query of a `CREATE VIEW ... AS query`.
fn view_query(sql: &str) -> String {
    let toks = tokenize(sql);
    toks.iter()
        .position(|t| t.is_word("as"))
        .map_or_else(String::new, |i| {
            sql[toks[i].start + 2..]
                .trim()
                .trim_end_matches(';')
                .to_owned()
        })
}

/// What only a table's `CREATE TABLE` text tells: constraint names,
/// checks and serial columns.
#[derive(Debug, Default)]
struct ParsedCreate {
    /// Named table constraints: kind (`p`, `u`, `f`, `c`), name, columns.
    named: Vec<(u8, String, Vec<String>)>,
    /// Checks: name, expression.
    checks: Vec<(Option<String>, String)>,
    /// Columns made from `serial`.
    serial: Vec<String>,
}

impl ParsedCreate {
    fn named(&self, kind: u8, columns: &[String]) -> Option<String> {
        self.named
            .iter()
            .find(|(k, _, cols)| {
                *k == kind
                    && cols.len() == columns.len()
                    && cols
                        .iter()
                        .zip(columns)
                        .all(|(a, b)| a.eq_ignore_ascii_case(b))
            })
            .map(|(_, n, _)| n.clone())
    }
}

/// Reads the items of `CREATE TABLE name (item, ...)`.
fn parse_create(sql: &str) -> ParsedCreate {
    let toks: Vec<_> = tokenize(sql)
        .into_iter()
        .filter(|t| t.kind != Tok::Space)
        .collect();
    let mut out = ParsedCreate::default();
    let Some(open) = toks.iter().position(|t| t.kind == Tok::LParen) else {
        return out;
    };
    // Split the body at top-level commas.
    let mut items: Vec<&[_]> = Vec::new();
    let mut depth = 0;
    let mut start = open + 1;
    for (i, t) in toks.iter().enumerate().skip(open + 1) {
        match t.kind {
            Tok::LParen => depth += 1,
            Tok::RParen if depth == 0 => {
                items.push(&toks[start..i]);
                break;
            }
            Tok::RParen => depth -= 1,
            Tok::Comma if depth == 0 => {
                items.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    let name_of = |t: &super::sql::Token<'_>| super::sql::ident_value(t);
    let paren_list = |item: &[super::sql::Token<'_>], from: usize| -> (Vec<String>, usize) {
        let Some(o) = item[from..].iter().position(|t| t.kind == Tok::LParen) else {
            return (Vec::new(), item.len());
        };
        let o = from + o;
        let close = item[o..]
            .iter()
            .position(|t| t.kind == Tok::RParen)
            .map_or(item.len(), |c| o + c);
        let cols = item[o + 1..close]
            .iter()
            .filter(|t| matches!(t.kind, Tok::Word | Tok::QuotedIdent))
            .map(name_of)
            .collect();
        (cols, close)
    };
    let check_text = |item: &[super::sql::Token<'_>], at: usize| -> Option<String> {
        let o = at + item[at..].iter().position(|t| t.kind == Tok::LParen)?;
        let mut depth = 0;
        for (k, t) in item.iter().enumerate().skip(o) {
            match t.kind {
                Tok::LParen => depth += 1,
                Tok::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        let from = item[o].start + 1;
                        return Some(sql[from..t.start].trim().to_owned());
                    }
                }
                _ => {}
            }
            let _ = k;
        }
        None
    };
    for item in items {
        let Some(first) = item.first() else { continue };
        let mut i = 0;
        let mut name = None;
        if first.is_word("constraint") && item.len() > 2 {
            name = Some(name_of(&item[1]));
            i = 2;
        }
        let head = &item[i];
        if head.is_word("primary") || head.is_word("unique") || head.is_word("foreign") {
            let kind = if head.is_word("primary") {
                b'p'
            } else if head.is_word("unique") {
                b'u'
            } else {
                b'f'
            };
            let (cols, _) = paren_list(item, i);
            if let Some(n) = name {
                out.named.push((kind, n, cols));
            }
        } else if head.is_word("check") {
            if let Some(expr) = check_text(item, i) {
                out.checks.push((name, expr));
            }
        } else if i == 0 && matches!(head.kind, Tok::Word | Tok::QuotedIdent) {
            // A column definition: serial marker, inline constraints.
            let col = name_of(head);
            if item
                .iter()
                .any(|t| t.kind == Tok::Comment && t.text == SERIAL_MARKER)
            {
                out.serial.push(col.clone());
            }
            let mut k = 1;
            while k < item.len() {
                if item[k].is_word("check") {
                    let cname = (k >= 2 && item[k - 2].is_word("constraint"))
                        .then(|| name_of(&item[k - 1]));
                    if let Some(expr) = check_text(item, k) {
                        out.checks.push((cname, expr));
                    }
                } else if k >= 2 && item[k - 2].is_word("constraint") {
                    let cname = name_of(&item[k - 1]);
                    let kind = if item[k].is_word("primary") {
                        Some(b'p')
                    } else if item[k].is_word("unique") {
                        Some(b'u')
                    } else if item[k].is_word("references") {
                        Some(b'f')
                    } else {
                        None
                    };
                    if let Some(kind) = kind {
                        out.named.push((kind, cname, vec![col.clone()]));
                    }
                }
                k += 1;
            }
        }
    }
    out
}

// ------------------------------------------------------------ functions

/// An argument as an OID (integers, or digits in text).
fn oid_arg(ctx: &Context<'_>, i: usize) -> Option<u32> {
    match ctx.get_raw(i) {
        ValueRef::Integer(n) => u32::try_from(n).ok(),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        ValueRef::Real(f) => Some(f as u32),
        _ => None,
    }
}

fn text_arg(ctx: &Context<'_>, i: usize) -> Option<String> {
    match ctx.get_raw(i) {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        _ => None,
    }
}

/// Registers the catalog's helper functions.
fn register(conn: &Connection, shared: &Shared) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8;
    let det = flags | FunctionFlags::SQLITE_DETERMINISTIC;
    // Functions of the catalog, with any number of arguments.
    macro_rules! with_catalog {
        ($name:expr, $body:expr) => {{
            let shared = shared.clone();
            let f = $body;
            conn.create_scalar_function($name, -1, flags, move |ctx| {
                let guard = shared.lock().map_err(|_| {
                    rusqlite::Error::UserFunctionError("catalog lock poisoned".into())
                })?;
                match guard.as_ref() {
                    Some(c) => Ok(f(c, ctx)),
                    None => Ok(Value::Null),
                }
            })?;
        }};
    }
    let text = |s: Option<String>| s.map_or(Value::Null, Value::Text);
    with_catalog!("pg_get_userbyid", move |c: &Catalog, ctx: &Context<'_>| {
        oid_arg(ctx, 0).map_or(Value::Null, |o| Value::Text(c.pg_get_userbyid(o)))
    });
    with_catalog!("pg_table_is_visible", |c: &Catalog, ctx: &Context<'_>| {
        oid_arg(ctx, 0).map_or(Value::Null, |o| {
            Value::Integer(i64::from(c.pg_table_is_visible(o)))
        })
    });
    with_catalog!("pg_get_indexdef", move |c: &Catalog, ctx: &Context<'_>| {
        let Some(oid) = oid_arg(ctx, 0) else {
            return Value::Null;
        };
        let column = if ctx.len() > 1 {
            oid_arg(ctx, 1).unwrap_or(0)
        } else {
            0
        };
        let def = c.pg_get_indexdef(oid);
        if column == 0 {
            return text(def);
        }
        // One key column: the text between the parentheses, split.
        let cols = def.as_deref().and_then(|d| {
            d.rsplit_once('(')
                .map(|(_, r)| r.trim_end_matches(')').to_owned())
        });
        text(cols.and_then(|cs| cs.split(", ").nth(column as usize - 1).map(str::to_owned)))
    });
    with_catalog!(
        "pg_get_constraintdef",
        move |c: &Catalog, ctx: &Context<'_>| {
            text(oid_arg(ctx, 0).and_then(|o| c.pg_get_constraintdef(o)))
        }
    );
    with_catalog!("pg_get_viewdef", move |c: &Catalog, ctx: &Context<'_>| {
        let oid = oid_arg(ctx, 0).or_else(|| text_arg(ctx, 0).and_then(|n| c.regclass_oid(&n)));
        text(oid.and_then(|o| c.pg_get_viewdef(o)))
    });
    with_catalog!("obj_description", move |c: &Catalog, ctx: &Context<'_>| {
        text(oid_arg(ctx, 0).and_then(|o| c.obj_description(o)))
    });
    with_catalog!("col_description", move |c: &Catalog, ctx: &Context<'_>| {
        let col = oid_arg(ctx, 1).and_then(|n| i32::try_from(n).ok());
        text(
            oid_arg(ctx, 0)
                .zip(col)
                .and_then(|(o, n)| c.col_description(o, n)),
        )
    });
    with_catalog!(
        "pg_get_serial_sequence",
        move |c: &Catalog, ctx: &Context<'_>| {
            text(
                text_arg(ctx, 0)
                    .zip(text_arg(ctx, 1))
                    .and_then(|(t, col)| c.pg_get_serial_sequence(&t, &col)),
            )
        }
    );
    // `x::regclass`: a name (or digits, as text) resolves to the OID; an
    // OID (an integer) prints as the name. Comparisons use the first, the
    // select lists of tools' queries the second.
    with_catalog!(
        "pg_regclass",
        move |c: &Catalog, ctx: &Context<'_>| match ctx.get_raw(0) {
            ValueRef::Integer(n) => Value::Text(c.regclass_name(n as u32)),
            ValueRef::Text(t) => {
                let s = String::from_utf8_lossy(t);
                match s.trim().parse::<i64>() {
                    Ok(n) => Value::Integer(n),
                    Err(_) => c
                        .regclass_oid(&s)
                        .map_or(Value::Null, |o| Value::Integer(i64::from(o))),
                }
            }
            _ => Value::Null,
        }
    );
    with_catalog!("to_regclass", move |c: &Catalog, ctx: &Context<'_>| {
        text_arg(ctx, 0)
            .and_then(|n| c.regclass_oid(&n))
            .map_or(Value::Null, |o| Value::Integer(i64::from(o)))
    });
    conn.create_scalar_function("pg_regtype", 1, det, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Integer(n) => Value::Text(format_type(n as u32, -1)),
            ValueRef::Text(t) => {
                let s = String::from_utf8_lossy(t);
                match s.trim().parse::<i64>() {
                    Ok(n) => Value::Integer(n),
                    Err(_) => Catalog::regtype_oid(&s)
                        .map_or(Value::Null, |o| Value::Integer(i64::from(o))),
                }
            }
            _ => Value::Null,
        })
    })?;
    // `oidvector::regtype[]` (pgcli's function list): the types' names as
    // an array's text form, quoted where PostgreSQL quotes them.
    conn.create_scalar_function("pg_regtype_array", 1, det, |ctx| {
        let Some(text) = text_arg(ctx, 0) else {
            return Ok(Value::Null);
        };
        let names: Vec<String> = text
            .trim_matches(|c| c == '{' || c == '}')
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(|s| {
                array_element(
                    &s.parse::<u32>()
                        .map_or_else(|_| s.to_owned(), |oid| format_type(oid, -1)),
                )
            })
            .collect();
        Ok(Value::Text(format!("{{{}}}", names.join(","))))
    })?;
    conn.create_scalar_function("to_regtype", 1, det, |ctx| {
        Ok(text_arg(ctx, 0)
            .and_then(|n| Catalog::regtype_oid(&n))
            .map_or(Value::Null, |o| Value::Integer(i64::from(o))))
    })?;
    conn.create_scalar_function("format_type", 2, det, |ctx| {
        let Some(oid) = oid_arg(ctx, 0) else {
            return Ok(Value::Null);
        };
        let typmod = match ctx.get_raw(1) {
            ValueRef::Integer(n) => i32::try_from(n).unwrap_or(-1),
            _ => -1,
        };
        Ok(Value::Text(format_type(oid, typmod)))
    })?;
    conn.create_scalar_function("pg_get_expr", -1, det, |ctx| {
        Ok(text_arg(ctx, 0).map_or(Value::Null, Value::Text))
    })?;
    conn.create_scalar_function("pg_encoding_to_char", 1, det, |ctx| {
        Ok(Value::Text(
            if oid_arg(ctx, 0) == Some(6) {
                "UTF8"
            } else {
                ""
            }
            .into(),
        ))
    })?;
    conn.create_scalar_function("current_schemas", 1, det, |ctx| {
        let implicit = matches!(ctx.get_raw(0), ValueRef::Integer(n) if n != 0);
        Ok(if implicit {
            "{pg_catalog,public}"
        } else {
            "{public}"
        }
        .to_owned())
    })?;
    // Everyone may do everything: the example has no privileges.
    for name in [
        "has_table_privilege",
        "has_schema_privilege",
        "has_database_privilege",
        "has_column_privilege",
        "has_sequence_privilege",
        "has_function_privilege",
        "has_any_column_privilege",
        "pg_type_is_visible",
        "pg_function_is_visible",
        "pg_collation_is_visible",
    ] {
        conn.create_scalar_function(name, -1, det, |_| Ok(1))?;
    }
    // Nothing to say: no triggers, statistics objects, publications,
    // user functions, shared comments.
    for name in [
        "pg_get_triggerdef",
        "pg_get_statisticsobjdef_columns",
        "pg_get_function_result",
        "pg_get_function_arguments",
        "pg_get_function_identity_arguments",
        "shobj_description",
        "pg_get_partkeydef",
    ] {
        conn.create_scalar_function(name, -1, det, |_| Ok(Value::Null))?;
    }
    conn.create_scalar_function("pg_relation_is_publishable", 1, det, |_| Ok(0))?;
    // A relation that is not a partition is its own only ancestor.
    conn.create_scalar_function("pg_partition_ancestors", 1, det, |ctx| {
        Ok(oid_arg(ctx, 0).map_or(Value::Null, |o| Value::Integer(i64::from(o))))
    })?;
    for name in [
        "pg_relation_size",
        "pg_total_relation_size",
        "pg_table_size",
        "pg_indexes_size",
        "pg_database_size",
        // No statistics are kept: no scans counted (DBeaver's index list).
        "pg_stat_get_numscans",
    ] {
        conn.create_scalar_function(name, -1, det, |_| Ok(0))?;
    }
    conn.create_scalar_function("pg_size_pretty", 1, det, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Integer(n) => Value::Text(format!("{n} bytes")),
            _ => Value::Null,
        })
    })?;
    conn.create_scalar_function("quote_ident", 1, det, |ctx| {
        Ok(text_arg(ctx, 0).map_or(Value::Null, |s| Value::Text(quote_ident(&s))))
    })?;
    conn.create_scalar_function("regexp", 2, det, |ctx| {
        let (Some(pattern), Some(value)) = (text_arg(ctx, 0), text_arg(ctx, 1)) else {
            return Ok(Value::Null);
        };
        let re = ctx.get_or_create_aux(0, |_| {
            regex::Regex::new(&pattern).map_err(|e| {
                Box::<dyn std::error::Error + Send + Sync>::from(format!(
                    "invalid regular expression: {e}"
                ))
            })
        })?;
        Ok(Value::Integer(i64::from(re.is_match(&value))))
    })?;
    conn.create_scalar_function("pg_items_json", 1, det, |ctx| {
        Ok(text_arg(ctx, 0).map_or(Value::Null, |a| {
            let items: Vec<serde_json::Value> = array_items(&a)
                .into_iter()
                .map(|i| match i {
                    None => serde_json::Value::Null,
                    Some(s) => s
                        .parse::<i64>()
                        .map_or(serde_json::Value::String(s), serde_json::Value::from),
                })
                .collect();
            Value::Text(serde_json::Value::Array(items).to_string())
        }))
    })?;
    // Arrays are PostgreSQL text (`{a,b}`).
    conn.create_scalar_function("array_to_string", -1, det, |ctx| {
        let Some(arr) = text_arg(ctx, 0) else {
            return Ok(Value::Null);
        };
        let sep = text_arg(ctx, 1).unwrap_or_default();
        let null = if ctx.len() > 2 {
            text_arg(ctx, 2)
        } else {
            None
        };
        let items = array_items(&arr);
        let parts: Vec<String> = items
            .into_iter()
            .filter_map(|i| i.or_else(|| null.clone()))
            .collect();
        Ok(Value::Text(parts.join(&sep)))
    })?;
    conn.create_scalar_function("array_upper", 2, det, |ctx| {
        Ok(
            text_arg(ctx, 0).map_or(Value::Null, |a| match array_items(&a).len() {
                0 => Value::Null,
                n => Value::Integer(n as i64),
            }),
        )
    })?;
    // `parse_ident('a."B"')`: the dotted name's parts, unquoted ones
    // folded to lower case, as an array (Grafana's column suggestions).
    conn.create_scalar_function("parse_ident", -1, det, |ctx| {
        let Some(text) = text_arg(ctx, 0) else {
            return Ok(Value::Null);
        };
        let mut parts = Vec::new();
        let mut part = String::new();
        let mut chars = text.trim().chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    part.push('"');
                }
                '"' => quoted = !quoted,
                '.' if !quoted => parts.push(array_element(&std::mem::take(&mut part))),
                c if quoted => part.push(c),
                c => part.extend(c.to_lowercase()),
            }
        }
        parts.push(array_element(&part));
        Ok(Value::Text(format!("{{{}}}", parts.join(","))))
    })?;
    // Arrays here count from 1 (Grafana's search-path walk asks).
    conn.create_scalar_function("array_lower", 2, det, |ctx| {
        Ok(
            text_arg(ctx, 0).map_or(Value::Null, |a| match array_items(&a).len() {
                0 => Value::Null,
                _ => Value::Integer(1),
            }),
        )
    })?;
    // `string_to_array(text, delimiter)`: the pieces as an array's text
    // form (a NULL delimiter splits into characters, as in PostgreSQL).
    conn.create_scalar_function("string_to_array", 2, det, |ctx| {
        let Some(text) = text_arg(ctx, 0) else {
            return Ok(Value::Null);
        };
        let pieces: Vec<String> = match text_arg(ctx, 1) {
            _ if text.is_empty() => Vec::new(),
            Some(sep) if !sep.is_empty() => text.split(sep.as_str()).map(array_element).collect(),
            Some(_) => vec![array_element(&text)],
            None => text
                .chars()
                .map(|c| array_element(&c.to_string()))
                .collect(),
        };
        Ok(Value::Text(format!("{{{}}}", pieces.join(","))))
    })?;
    // `regexp_split_to_array(text, pattern [, flags])`, and through it
    // `regexp_split_to_table` (catalog_sql.rs): PostgreSQL skips an empty
    // match at the start or end of the text or right after a match.
    conn.create_scalar_function("regexp_split_to_array", -1, det, |ctx| {
        let (Some(text), Some(pattern)) = (text_arg(ctx, 0), text_arg(ctx, 1)) else {
            return Ok(Value::Null);
        };
        let flags = if ctx.len() > 2 {
            text_arg(ctx, 2).unwrap_or_default()
        } else {
            String::new()
        };
        let re = ctx.get_or_create_aux(1, |_| {
            regex_with_flags(&pattern, &flags)
                .map_err(Box::<dyn std::error::Error + Send + Sync>::from)
        })?;
        Ok(Value::Text(format!(
            "{{{}}}",
            regexp_split(&re, &text)
                .into_iter()
                .map(array_element)
                .collect::<Vec<_>>()
                .join(",")
        )))
    })?;
    conn.create_scalar_function("array_length", 2, det, |ctx| {
        Ok(
            text_arg(ctx, 0).map_or(Value::Null, |a| match array_items(&a).len() {
                0 => Value::Null,
                n => Value::Integer(n as i64),
            }),
        )
    })?;
    conn.create_scalar_function("pg_array_get", 2, det, |ctx| {
        let (Some(a), ValueRef::Integer(i)) = (text_arg(ctx, 0), ctx.get_raw(1)) else {
            return Ok(Value::Null);
        };
        let items = array_items(&a);
        // int2vector and oidvector (space-separated) count from 0.
        let first = if a.trim_start().starts_with('{') {
            1
        } else {
            0
        };
        let item = usize::try_from(i - first)
            .ok()
            .and_then(|k| items.get(k).cloned())
            .flatten();
        Ok(item.map_or(Value::Null, |s| match s.parse::<i64>() {
            Ok(n) => Value::Integer(n),
            Err(_) => Value::Text(s),
        }))
    })?;
    conn.create_aggregate_function("array_agg", 1, det, ArrayAgg)?;
    // `ARRAY(SELECT ...)` and `ARRAY[...]`: a JSON array to PostgreSQL's
    // text form.
    conn.create_scalar_function("pg_array_from_json", 1, det, |ctx| {
        let Some(json) = text_arg(ctx, 0) else {
            return Ok(Value::Null);
        };
        let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(&json)
        else {
            return Ok(Value::Null);
        };
        let mut out = String::from("{");
        for (k, item) in items.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            match item {
                serde_json::Value::Null => out.push_str("NULL"),
                serde_json::Value::String(s) => out.push_str(&array_element(s)),
                other => out.push_str(&other.to_string()),
            }
        }
        out.push('}');
        Ok(Value::Text(out))
    })?;
    Ok(())
}

/// `array_agg(x)`: the values in an array's text form.
struct ArrayAgg;

impl rusqlite::functions::Aggregate<Vec<String>, Option<String>> for ArrayAgg {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Vec<String>> {
        Ok(Vec::new())
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Vec<String>) -> rusqlite::Result<()> {
        acc.push(match ctx.get_raw(0) {
            ValueRef::Null => "NULL".to_owned(),
            ValueRef::Integer(i) => i.to_string(),
            ValueRef::Real(f) => f.to_string(),
            ValueRef::Text(t) => array_element(&String::from_utf8_lossy(t)),
            ValueRef::Blob(b) => array_element(&String::from_utf8_lossy(b)),
        });
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut Context<'_>,
        acc: Option<Vec<String>>,
    ) -> rusqlite::Result<Option<String>> {
        Ok(acc.map(|items| format!("{{{}}}", items.join(","))))
    }
}

/// A boolean array SQLite built of 0s and 1s, as PostgreSQL prints it.
pub fn bool_array_text(s: &str) -> Cow<'_, str> {
    if !s.starts_with('{') || !s.contains(['0', '1']) {
        return Cow::Borrowed(s);
    }
    let items: Vec<&str> = s[1..s.len().saturating_sub(1)]
        .split(',')
        .map(|i| match i.trim() {
            "0" => "f",
            "1" => "t",
            other => other,
        })
        .collect();
    Cow::Owned(format!("{{{}}}", items.join(",")))
}

/// `server_version_num` for a `server_version` such as "15.4 (x)": 150004.
fn server_version_num(version: &str) -> String {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major * 10000 + minor).to_string()
}

/// An element in an array's text form, quoted when needed.
fn array_element(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.eq_ignore_ascii_case("null")
        && !s
            .chars()
            .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
    if plain {
        s.to_owned()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The elements of an array's text form (or of a space-separated vector
/// such as `int2vector`), NULL as `None`.
fn array_items(text: &str) -> Vec<Option<String>> {
    let t = text.trim();
    if !t.starts_with('{') {
        return t.split_whitespace().map(|s| Some(s.to_owned())).collect();
    }
    let Some(json) = array_json(t) else {
        return Vec::new();
    };
    match serde_json::from_str::<serde_json::Value>(&json) {
        Ok(serde_json::Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s),
                other => Some(other.to_string()),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A PostgreSQL pattern with its flags (`i`, `c`, `n`, `s`, `x`) as a
/// Rust regex; `g` and anything else are errors, as in PostgreSQL.
fn regex_with_flags(pattern: &str, flags: &str) -> Result<regex::Regex, String> {
    let mut builder = regex::RegexBuilder::new(pattern);
    for f in flags.chars() {
        match f {
            'i' => builder.case_insensitive(true),
            'c' => builder.case_insensitive(false),
            'n' | 's' => builder.dot_matches_new_line(f == 's'),
            'x' => builder.ignore_whitespace(true),
            _ => return Err(format!("invalid regular expression option: \"{f}\"")),
        };
    }
    builder
        .build()
        .map_err(|e| format!("invalid regular expression: {e}"))
}

/// The pieces of `text` between the matches of `re`, as PostgreSQL's
/// `regexp_split_to_table` makes them.
fn regexp_split<'t>(re: &regex::Regex, text: &'t str) -> Vec<&'t str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for m in re.find_iter(text) {
        if m.is_empty() && (m.start() == start || m.start() == text.len()) {
            continue;
        }
        pieces.push(&text[start..m.start()]);
        start = m.end();
    }
    pieces.push(&text[start..]);
    pieces
}

/// The result type of a catalog function, for Describe.
pub fn function_type(name: &str) -> Option<pgwire::types::Type> {
    use pgwire::types::Type;
    Some(match name {
        "pg_get_expr"
        | "pg_get_indexdef"
        | "pg_get_constraintdef"
        | "pg_get_viewdef"
        | "format_type"
        | "obj_description"
        | "col_description"
        | "shobj_description"
        | "array_to_string"
        | "quote_ident"
        | "pg_size_pretty"
        | "pg_get_serial_sequence"
        | "pg_regclass"
        | "pg_regtype"
        | "pg_get_triggerdef"
        | "pg_get_function_result"
        | "pg_get_function_arguments"
        | "pg_get_function_identity_arguments" => Type::TEXT,
        "pg_regtype_array" | "string_to_array" | "parse_ident" | "regexp_split_to_array" => {
            Type::TEXT_ARRAY
        }
        "pg_get_userbyid" | "pg_encoding_to_char" => Type::NAME,
        "pg_table_is_visible"
        | "pg_type_is_visible"
        | "pg_function_is_visible"
        | "pg_collation_is_visible"
        | "has_table_privilege"
        | "has_schema_privilege"
        | "has_database_privilege"
        | "has_column_privilege"
        | "has_sequence_privilege"
        | "has_function_privilege"
        | "has_any_column_privilege"
        | "pg_relation_is_publishable" => Type::BOOL,
        "to_regclass" | "to_regtype" | "pg_partition_ancestors" => Type::OID,
        "pg_relation_size"
        | "pg_total_relation_size"
        | "pg_table_size"
        | "pg_indexes_size"
        | "pg_database_size"
        | "pg_stat_get_numscans" => Type::INT8,
        "array_lower" | "array_upper" | "array_length" => Type::INT4,
        "current_schemas" => Type::NAME_ARRAY,
        "json_object" => Type::JSON,
        "pg_array_from_json" => Type::TEXT_ARRAY,
        _ => return None,
    })
}

/// For each result column of `stmt`, the OID of the table it reads and
/// the column's number (`(0, 0)` for an expression), as the catalog
/// numbers them: RowDescription's table fields, which JDBC's
/// `getTableName` and `isNullable` look up.
pub fn column_origins(conn: &Connection, stmt: &rusqlite::Statement<'_>) -> Vec<(u32, i16)> {
    let metadata = stmt.columns_with_metadata();
    let mut out = Vec::with_capacity(metadata.len());
    for m in metadata {
        let (Some(db), Some(table), Some(column)) =
            (m.database_name(), m.table_name(), m.origin_name())
        else {
            out.push((0, 0));
            continue;
        };
        let origin = match db {
            "main" => main_column_origin(conn, table, column),
            "pg_catalog" | "information_schema" => {
                pgwire::catalog::relation(db, table).and_then(|r| {
                    let n = r.columns.iter().position(|c| c.name == column)?;
                    Some((r.oid, i16::try_from(n + 1).ok()?))
                })
            }
            _ => None,
        };
        out.push(origin.unwrap_or((0, 0)));
    }
    out
}

fn main_column_origin(conn: &Connection, table: &str, column: &str) -> Option<(u32, i16)> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT s.rowid, c.cid + 1 FROM main.sqlite_schema AS s, pragma_table_info(s.name) AS c \
             WHERE s.name = ?1 AND s.type = 'table' AND c.name = ?2",
        )
        .ok()?;
    let (rowid, num): (i64, i64) = stmt
        .query_row([table, column], |r| Ok((r.get(0)?, r.get(1)?)))
        .ok()?;
    Some((table_oid(rowid), i16::try_from(num).ok()?))
}

/// The OID of the table in row `rowid` of `sqlite_schema`: each table
/// owns `OID_SPAN` OIDs from 16384 on.
fn table_oid(rowid: i64) -> u32 {
    u32::try_from(rowid)
        .ok()
        .and_then(|r| r.checked_mul(OID_SPAN))
        .and_then(|r| r.checked_add(16_384))
        .unwrap_or(16_384)
}
