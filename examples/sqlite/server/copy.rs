//! `COPY ... FROM STDIN` and `COPY ... TO STDOUT`, in PostgreSQL's text
//! and CSV formats, over both query protocols.
//!
//! COPY FROM: the statement checks the table and columns and answers
//! CopyInResponse; the client's data is gathered into chunks of about
//! [`CHUNK`] bytes and handed to the session's SQLite worker, which splits
//! it into rows, converts each field to its column's type and inserts it
//! with one prepared statement, all inside one transaction (a savepoint if
//! one is open), so a COPY that fails anywhere leaves nothing behind. The
//! worker starts with the first chunk, once the query that asked for the
//! COPY has been answered.
//!
//! COPY TO: the worker runs the query and writes rows in COPY format into
//! buffers of about [`CHUNK`] bytes, sent over a bounded channel: it stops
//! when the client stops reading, and the table is never held in memory.
//! Each row still leaves in a CopyData message of its own, as PostgreSQL
//! sends them (psycopg reads one row per message).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use pgwire::api::{CopyChunk, CopyFormat, CopyHandler, CopyIn, CopyOut, Response, Session, Tag};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::messages::FormatCodes;
use pgwire::types::text::{binary_to_text, text_to_binary};
use pgwire::types::{DataRowEncoder, FieldInfo, FormatSettings, Type};
use rusqlite::types::{Null, ValueRef};
use tokio::sync::{mpsc, oneshot};

use super::SqliteSession;
use super::describe;
use super::engine::{Db, Engine, Interrupt};
use super::errors::from_sqlite;
use super::sql::{self, Tok, Token, ident_value, quote_ident, string_value};
use super::types::{PgType, canonical_text_with, encode_value, pg_type_for_decl, type_for_storage};

/// Data moves between the connection and the worker in pieces of about
/// this size.
const CHUNK: usize = 64 * 1024;

// ------------------------------------------------------------ statement

/// What a COPY reads or writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyTarget {
    /// A table, and the columns named (all if empty).
    Table {
        /// The table.
        table: String,
        /// The columns, as written.
        columns: Vec<String>,
    },
    /// `COPY (query) TO`.
    Query(String),
}

/// `HEADER` of a COPY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// No header line.
    No,
    /// A header line (written, or skipped when reading).
    Yes,
    /// COPY FROM checks the header names against the columns.
    Match,
}

/// Columns an option applies to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Columns {
    /// None.
    #[default]
    None,
    /// All (`FORCE_QUOTE *`).
    All,
    /// These.
    Named(Vec<String>),
}

/// The options of a COPY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOptions {
    /// CSV rather than text.
    pub csv: bool,
    /// PostgreSQL's binary format.
    pub binary: bool,
    /// The field delimiter.
    pub delimiter: u8,
    /// The string that stands for NULL.
    pub null: String,
    /// The header line.
    pub header: Header,
    /// CSV quote character.
    pub quote: u8,
    /// CSV escape character.
    pub escape: u8,
    /// CSV columns always quoted (COPY TO).
    pub force_quote: Columns,
    /// CSV columns whose unquoted null string is an empty string (COPY FROM).
    pub force_not_null: Columns,
    /// CSV columns whose quoted null string is NULL too (COPY FROM).
    pub force_null: Columns,
}

/// A parsed COPY statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyStatement {
    /// What is copied.
    pub target: CopyTarget,
    /// `FROM STDIN` (else `TO STDOUT`).
    pub from: bool,
    /// The options.
    pub options: CopyOptions,
}

fn syntax_error(at: Option<&Token<'_>>) -> ErrorInfo {
    let m = match at {
        Some(t) => format!("syntax error at or near \"{}\"", t.text),
        None => "syntax error at end of input".to_owned(),
    };
    ErrorInfo::new(SqlState::SYNTAX_ERROR, m).with_position(at.map_or(0, |t| t.start as u32 + 1))
}

fn not_supported(m: impl Into<String>) -> ErrorInfo {
    ErrorInfo::new(SqlState::FEATURE_NOT_SUPPORTED, m.into())
}

fn one_byte(value: &str, what: &str) -> Result<u8, ErrorInfo> {
    match value.as_bytes() {
        [b] if b.is_ascii() => Ok(*b),
        _ => Err(not_supported(format!(
            "COPY {what} must be a single one-byte character"
        ))),
    }
}

/// A cursor over the significant tokens of a statement.
struct Cursor<'a> {
    toks: Vec<Token<'a>>,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.toks.get(self.i)
    }

    fn next(&mut self) -> Option<Token<'a>> {
        let t = self.toks.get(self.i).copied();
        self.i += 1;
        t
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_word(w)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat(&mut self, kind: Tok) -> bool {
        if self.peek().is_some_and(|t| t.kind == kind) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn error(&self) -> ErrorInfo {
        syntax_error(self.peek())
    }

    fn ident(&mut self) -> Result<String, ErrorInfo> {
        match self.peek() {
            Some(t) if matches!(t.kind, Tok::Word | Tok::QuotedIdent) => {
                let v = ident_value(t);
                self.i += 1;
                Ok(v)
            }
            _ => Err(self.error()),
        }
    }

    fn string(&mut self) -> Result<String, ErrorInfo> {
        match self.peek() {
            Some(t) if t.kind == Tok::Str => {
                let v = string_value(t.text);
                self.i += 1;
                Ok(v)
            }
            _ => Err(self.error()),
        }
    }

    /// `(a, b, ...)`.
    fn ident_list(&mut self) -> Result<Vec<String>, ErrorInfo> {
        if !self.eat(Tok::LParen) {
            return Err(self.error());
        }
        let mut out = vec![self.ident()?];
        while self.eat(Tok::Comma) {
            out.push(self.ident()?);
        }
        if !self.eat(Tok::RParen) {
            return Err(self.error());
        }
        Ok(out)
    }

    /// A column list or `*`.
    fn columns_or_star(&mut self) -> Result<Columns, ErrorInfo> {
        if self.peek().is_some_and(|t| t.text == "*") {
            self.i += 1;
            return Ok(Columns::All);
        }
        if self.peek().is_some_and(|t| t.kind == Tok::LParen) {
            return Ok(Columns::Named(self.ident_list()?));
        }
        // Legacy syntax: a bare list `FORCE QUOTE a, b`.
        let mut out = vec![self.ident()?];
        while self.eat(Tok::Comma) {
            out.push(self.ident()?);
        }
        Ok(Columns::Named(out))
    }
}

/// Parses a COPY statement (`text` starts with `COPY`).
pub fn parse(text: &str) -> Result<CopyStatement, ErrorInfo> {
    let mut c = Cursor {
        toks: sql::significant(text),
        i: 1,
    };
    let mut binary = c.eat_word("binary");
    let target = if c.peek().is_some_and(|t| t.kind == Tok::LParen) {
        // `(query)`: up to the matching parenthesis.
        let open = c.i;
        let mut depth = 0;
        let mut close = None;
        for (j, t) in c.toks.iter().enumerate().skip(open) {
            match t.kind {
                Tok::LParen => depth += 1,
                Tok::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(j);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            return Err(syntax_error(None));
        };
        let start = c.toks[open].start + 1;
        let end = c.toks[close].start;
        c.i = close + 1;
        CopyTarget::Query(text[start..end].trim().to_owned())
    } else {
        let mut table = c.ident()?;
        // `schema.table`: there is one schema.
        while c.eat(Tok::Dot) {
            table = c.ident()?;
        }
        let columns = if c.peek().is_some_and(|t| t.kind == Tok::LParen) {
            c.ident_list()?
        } else {
            Vec::new()
        };
        CopyTarget::Table { table, columns }
    };
    let from = if c.eat_word("from") {
        true
    } else if c.eat_word("to") {
        false
    } else {
        return Err(c.error());
    };
    if from && matches!(target, CopyTarget::Query(_)) {
        return Err(syntax_error(c.toks.get(c.i - 1)));
    }
    match c.next() {
        Some(t) if t.is_word("stdin") || t.is_word("stdout") => {
            if t.is_word("stdin") != from {
                return Err(syntax_error(Some(&t)));
            }
        }
        Some(t) if t.kind == Tok::Str || t.is_word("program") => {
            return Err(ErrorInfo::new(
                SqlState::INSUFFICIENT_PRIVILEGE,
                if from {
                    "must be superuser or have privileges of the pg_read_server_files role to COPY from a file"
                } else {
                    "must be superuser or have privileges of the pg_write_server_files role to COPY to a file"
                },
            )
            .with_hint(
                "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone.",
            ));
        }
        other => return Err(syntax_error(other.as_ref())),
    }
    let mut o = CopyOptions {
        binary: false,
        csv: false,
        delimiter: 0,
        null: String::new(),
        header: Header::No,
        quote: 0,
        escape: 0,
        force_quote: Columns::None,
        force_not_null: Columns::None,
        force_null: Columns::None,
    };
    let mut delimiter: Option<String> = None;
    let mut null: Option<String> = None;
    let mut quote: Option<String> = None;
    let mut escape: Option<String> = None;
    c.eat_word("with");
    if c.eat(Tok::LParen) {
        loop {
            let name = c.ident()?;
            // The value, if any: a word, a string, a number, a list or `*`.
            let value_tok = c.peek().copied();
            let has_value = value_tok.is_some_and(|t| !matches!(t.kind, Tok::Comma | Tok::RParen));
            let mut word_value = || -> Result<String, ErrorInfo> {
                match c.next() {
                    Some(t) if t.kind == Tok::Str => Ok(string_value(t.text)),
                    Some(t) if matches!(t.kind, Tok::Word | Tok::QuotedIdent | Tok::Number) => {
                        Ok(ident_value(&t))
                    }
                    other => Err(syntax_error(other.as_ref())),
                }
            };
            match name.as_str() {
                "format" => match word_value()?.as_str() {
                    "text" => o.csv = false,
                    "csv" => o.csv = true,
                    "binary" => binary = true,
                    other => {
                        return Err(ErrorInfo::new(
                            SqlState::INVALID_PARAMETER_VALUE,
                            format!("COPY format \"{other}\" not recognized"),
                        ));
                    }
                },
                "delimiter" => delimiter = Some(word_value()?),
                "null" => null = Some(word_value()?),
                "quote" => quote = Some(word_value()?),
                "escape" => escape = Some(word_value()?),
                "header" => {
                    o.header = if !has_value {
                        Header::Yes
                    } else {
                        match word_value()?.to_ascii_lowercase().as_str() {
                            "true" | "on" | "1" => Header::Yes,
                            "false" | "off" | "0" => Header::No,
                            "match" if from => Header::Match,
                            "match" => {
                                return Err(not_supported(
                                    "cannot use \"match\" with HEADER in COPY TO",
                                ));
                            }
                            _ => {
                                return Err(ErrorInfo::new(
                                    SqlState::INVALID_PARAMETER_VALUE,
                                    "header requires a Boolean value or \"match\"",
                                ));
                            }
                        }
                    };
                }
                "force_quote" => o.force_quote = c.columns_or_star()?,
                "force_not_null" => o.force_not_null = c.columns_or_star()?,
                "force_null" => o.force_null = c.columns_or_star()?,
                "encoding" => {
                    let e = word_value()?.to_ascii_uppercase().replace('-', "");
                    if e != "UTF8" && e != "UNICODE" {
                        return Err(not_supported(format!(
                            "COPY encoding \"{e}\" is not supported: this server speaks UTF8 only"
                        )));
                    }
                }
                "freeze" => {
                    if has_value {
                        word_value()?;
                    }
                }
                other => {
                    return Err(ErrorInfo::new(
                        SqlState::SYNTAX_ERROR,
                        format!("option \"{other}\" not recognized"),
                    ));
                }
            }
            if c.eat(Tok::Comma) {
                continue;
            }
            if c.eat(Tok::RParen) {
                break;
            }
            return Err(c.error());
        }
    } else {
        // The syntax before PostgreSQL 9.0, which psql and old tools use.
        while let Some(t) = c.peek().copied() {
            c.i += 1;
            let lower = t.text.to_ascii_lowercase();
            match lower.as_str() {
                "binary" => binary = true,
                "csv" => o.csv = true,
                "header" => o.header = Header::Yes,
                "freeze" | "oids" => {}
                "delimiter" | "null" | "quote" | "escape" | "encoding" => {
                    c.eat_word("as");
                    let v = c.string()?;
                    match lower.as_str() {
                        "delimiter" => delimiter = Some(v),
                        "null" => null = Some(v),
                        "quote" => quote = Some(v),
                        "escape" => escape = Some(v),
                        _ => {}
                    }
                }
                "force" => {
                    if c.eat_word("quote") {
                        o.force_quote = c.columns_or_star()?;
                    } else if c.eat_word("not") && c.eat_word("null") {
                        o.force_not_null = c.columns_or_star()?;
                    } else if c.eat_word("null") {
                        o.force_null = c.columns_or_star()?;
                    } else {
                        return Err(c.error());
                    }
                }
                "where" => {
                    return Err(not_supported(
                        "COPY ... WHERE is not supported by this server",
                    ));
                }
                _ => return Err(syntax_error(Some(&t))),
            }
        }
    }
    if let Some(t) = c.peek() {
        if t.is_word("where") {
            return Err(not_supported(
                "COPY ... WHERE is not supported by this server",
            ));
        }
        return Err(syntax_error(Some(t)));
    }
    o.binary = binary;
    o.delimiter = one_byte(
        delimiter
            .as_deref()
            .unwrap_or(if o.csv { "," } else { "\t" }),
        "delimiter",
    )?;
    o.null = null.unwrap_or_else(|| {
        if o.csv {
            String::new()
        } else {
            "\\N".to_owned()
        }
    });
    if !o.csv {
        if quote.is_some() {
            return Err(not_supported("COPY quote available only in CSV mode"));
        }
        if escape.is_some() {
            return Err(not_supported("COPY escape available only in CSV mode"));
        }
        if o.force_quote != Columns::None {
            return Err(not_supported("COPY force quote available only in CSV mode"));
        }
        if o.force_not_null != Columns::None {
            return Err(not_supported(
                "COPY force not null available only in CSV mode",
            ));
        }
        if o.force_null != Columns::None {
            return Err(not_supported("COPY force null available only in CSV mode"));
        }
        if matches!(o.delimiter, b'\\' | b'\r' | b'\n' | b'.' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9')
        {
            return Err(not_supported(format!(
                "COPY delimiter cannot be \"{}\"",
                o.delimiter.escape_ascii()
            )));
        }
    } else {
        o.quote = one_byte(quote.as_deref().unwrap_or("\""), "quote")?;
        o.escape = match escape {
            Some(e) => one_byte(&e, "escape")?,
            None => o.quote,
        };
        if o.delimiter == o.quote {
            return Err(ErrorInfo::new(
                SqlState::INVALID_PARAMETER_VALUE,
                "COPY delimiter and quote must be different",
            ));
        }
        if from && o.force_quote != Columns::None {
            return Err(not_supported(
                "COPY force quote only available using COPY TO",
            ));
        }
        if !from && o.force_not_null != Columns::None {
            return Err(not_supported(
                "COPY force not null only available using COPY FROM",
            ));
        }
        if !from && o.force_null != Columns::None {
            return Err(not_supported(
                "COPY force null only available using COPY FROM",
            ));
        }
    }
    if o.null.bytes().any(|b| b == b'\r' || b == b'\n') {
        return Err(not_supported(
            "COPY null representation cannot use newline or carriage return",
        ));
    }
    if o.null.as_bytes().contains(&o.delimiter) {
        return Err(not_supported(
            "COPY delimiter must not appear in the NULL specification",
        ));
    }
    Ok(CopyStatement {
        target,
        from,
        options: o,
    })
}

// ------------------------------------------------------------ columns

/// How a field becomes a SQLite value.
#[derive(Debug, Clone)]
enum Kind {
    /// Stored as given (text types).
    Text,
    /// Integers, floats and booleans: checked and converted with
    /// PostgreSQL's parsers.
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Bool,
    /// A blob from bytea text.
    Bytea,
    /// Stored in PostgreSQL's canonical text form.
    Canonical(Type),
}

impl Kind {
    fn of(ty: &Type) -> Kind {
        match *ty {
            Type::INT2 => Kind::Int2,
            Type::INT4 => Kind::Int4,
            Type::INT8 | Type::OID => Kind::Int8,
            Type::FLOAT4 => Kind::Float4,
            Type::FLOAT8 => Kind::Float8,
            Type::BOOL => Kind::Bool,
            Type::BYTEA => Kind::Bytea,
            Type::TEXT
            | Type::VARCHAR
            | Type::BPCHAR
            | Type::NAME
            | Type::UNKNOWN
            | Type::JSON
            | Type::XML
            | Type::CHAR => Kind::Text,
            _ => Kind::Canonical(ty.clone()),
        }
    }
}

/// One column of a table, from `PRAGMA table_info`.
struct TableColumn {
    name: String,
    decl: String,
}

fn table_columns(db: &Db, table: &str) -> Result<Vec<TableColumn>, ErrorInfo> {
    let sql = format!("PRAGMA table_info({})", quote_ident(table));
    let mut stmt = db.conn.prepare(&sql).map_err(|e| from_sqlite(&e))?;
    let cols = stmt
        .query_map([], |r| {
            Ok(TableColumn {
                name: r.get(1)?,
                decl: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| from_sqlite(&e))?;
    if cols.is_empty() {
        return Err(ErrorInfo::new(
            SqlState::UNDEFINED_TABLE,
            format!("relation \"{table}\" does not exist"),
        ));
    }
    Ok(cols)
}

/// The columns a COPY of `table` names, checked as PostgreSQL does.
fn select_columns(
    all: Vec<TableColumn>,
    table: &str,
    names: &[String],
) -> Result<Vec<TableColumn>, ErrorInfo> {
    if names.is_empty() {
        return Ok(all);
    }
    let mut all: Vec<Option<TableColumn>> = all.into_iter().map(Some).collect();
    let mut out: Vec<TableColumn> = Vec::with_capacity(names.len());
    for n in names {
        if out.iter().any(|c| c.name.eq_ignore_ascii_case(n)) {
            return Err(ErrorInfo::new(
                SqlState::DUPLICATE_COLUMN,
                format!("column \"{n}\" specified more than once"),
            ));
        }
        let found = all
            .iter_mut()
            .find(|c| c.as_ref().is_some_and(|c| c.name.eq_ignore_ascii_case(n)))
            .and_then(Option::take);
        match found {
            Some(c) => out.push(c),
            None => {
                return Err(ErrorInfo::new(
                    SqlState::UNDEFINED_COLUMN,
                    format!("column \"{n}\" of relation \"{table}\" does not exist"),
                ));
            }
        }
    }
    Ok(out)
}

/// Which of `names` an option's column list covers; the list must name
/// columns of the COPY.
fn flags(cols: &Columns, names: &[String], option: &str) -> Result<Vec<bool>, ErrorInfo> {
    match cols {
        Columns::None => Ok(vec![false; names.len()]),
        Columns::All => Ok(vec![true; names.len()]),
        Columns::Named(list) => {
            let mut out = vec![false; names.len()];
            for n in list {
                match names.iter().position(|c| c.eq_ignore_ascii_case(n)) {
                    Some(i) => out[i] = true,
                    None => {
                        return Err(ErrorInfo::new(
                            SqlState::INVALID_COLUMN_REFERENCE,
                            format!("{option} column \"{n}\" not referenced by COPY"),
                        ));
                    }
                }
            }
            Ok(out)
        }
    }
}

// ------------------------------------------------------------ COPY FROM

/// A checked COPY FROM, ready to run on the worker.
#[derive(Debug)]
pub struct InPlan {
    table: String,
    insert: String,
    names: Vec<String>,
    kinds: Vec<Kind>,
    /// The columns' types (what binary fields are).
    types: Vec<Type>,
    options: CopyOptions,
    force_not_null: Vec<bool>,
    force_null: Vec<bool>,
    /// The session's settings: how text fields read (DateStyle, TimeZone).
    settings: FormatSettings,
}

fn plan_in(db: &Db, stmt: &CopyStatement) -> Result<InPlan, ErrorInfo> {
    let CopyTarget::Table { table, columns } = &stmt.target else {
        return Err(syntax_error(None));
    };
    let cols = select_columns(table_columns(db, table)?, table, columns)?;
    let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
    let types: Vec<Type> = cols.iter().map(|c| pg_type_for_decl(&c.decl).ty).collect();
    let kinds = types.iter().map(Kind::of).collect();
    let insert = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        quote_ident(table),
        names
            .iter()
            .map(|n| quote_ident(n))
            .collect::<Vec<_>>()
            .join(", "),
        (1..=names.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let o = &stmt.options;
    Ok(InPlan {
        table: table.clone(),
        insert,
        force_not_null: flags(&o.force_not_null, &names, "FORCE_NOT_NULL")?,
        force_null: flags(&o.force_null, &names, "FORCE_NULL")?,
        names,
        kinds,
        types,
        options: o.clone(),
        settings: FormatSettings::default(),
    })
}

/// What the connection sends the worker during COPY FROM.
enum InMsg {
    Data(Bytes),
    Done,
    /// The client sent CopyFail (its message), or the query was cancelled
    /// (`None`).
    Fail(Option<String>),
}

/// A COPY FROM in progress.
pub struct CopyInState {
    plan: Option<InPlan>,
    table: String,
    buf: BytesMut,
    tx: Option<mpsc::Sender<InMsg>>,
    result: Option<oneshot::Receiver<Result<u64, ErrorInfo>>>,
}

/// How records end (PostgreSQL takes the first line's ending for all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eol {
    Nl,
    Cr,
    CrNl,
}

/// A field of the current row: a range of the row's field buffer, and
/// whether it was quoted (CSV).
#[derive(Debug, Clone, Copy)]
struct Field {
    start: usize,
    end: usize,
    null: bool,
}

/// Splits COPY data into records and fields, and inserts rows.
struct Reader<'p> {
    plan: &'p InPlan,
    eol: Option<Eol>,
    /// Records read (PostgreSQL's line number of the current one).
    line: u64,
    rows: u64,
    /// The end-of-data marker was seen: ignore the rest.
    ended: bool,
    header_pending: bool,
    /// The binary format's file header is still to be read.
    binary_header: bool,
    fields: Vec<Field>,
    values: Vec<u8>,
    scratch: BytesMut,
}

fn bad_format(m: impl Into<String>) -> ErrorInfo {
    ErrorInfo::new(SqlState::BAD_COPY_FILE_FORMAT, m.into())
}

/// PostgreSQL's message for bytes that are not UTF-8.
fn invalid_utf8(b: &[u8]) -> ErrorInfo {
    let at = std::str::from_utf8(b).err().map_or(0, |e| e.valid_up_to());
    let first = b.get(at).copied().unwrap_or(0);
    let len = match first {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    };
    let shown: Vec<String> = b[at..(at + len).min(b.len())]
        .iter()
        .map(|x| format!("0x{x:02x}"))
        .collect();
    ErrorInfo::new(
        SqlState::CHARACTER_NOT_IN_REPERTOIRE,
        format!(
            "invalid byte sequence for encoding \"UTF8\": {}",
            shown.join(" ")
        ),
    )
}

impl<'p> Reader<'p> {
    fn new(plan: &'p InPlan) -> Self {
        Reader {
            plan,
            eol: None,
            line: 0,
            rows: 0,
            ended: false,
            header_pending: plan.options.header != Header::No,
            binary_header: plan.options.binary,
            fields: Vec::with_capacity(plan.names.len()),
            values: Vec::new(),
            scratch: BytesMut::new(),
        }
    }

    fn context(&self) -> String {
        format!("COPY {}, line {}", self.plan.table, self.line.max(1))
    }

    fn context_with(&self, raw: &[u8]) -> String {
        format!(
            "COPY {}, line {}: \"{}\"",
            self.plan.table,
            self.line.max(1),
            String::from_utf8_lossy(raw)
        )
    }

    /// Checks a record terminator found at `i` against the first one's
    /// kind. Returns the terminator's length, or `None` if more data is
    /// needed to tell.
    fn terminator(&mut self, buf: &[u8], i: usize, last: bool) -> Result<Option<usize>, ErrorInfo> {
        let csv = self.plan.options.csv;
        let (cr_msg, cr_hint, nl_msg, nl_hint) = if csv {
            (
                "unquoted carriage return found in data",
                "Use quoted CSV field to represent carriage return.",
                "unquoted newline found in data",
                "Use quoted CSV field to represent newline.",
            )
        } else {
            (
                "literal carriage return found in data",
                "Use \"\\r\" to represent carriage return.",
                "literal newline found in data",
                "Use \"\\n\" to represent newline.",
            )
        };
        let found = if buf[i] == b'\n' {
            Eol::Nl
        } else {
            match buf.get(i + 1) {
                Some(b'\n') => Eol::CrNl,
                Some(_) => Eol::Cr,
                None if last => Eol::Cr,
                None => return Ok(None),
            }
        };
        let eol = *self.eol.get_or_insert(found);
        if eol == found {
            return Ok(Some(if found == Eol::CrNl { 2 } else { 1 }));
        }
        // The line number is that of the record being ended.
        self.line += 1;
        let e = if buf[i] == b'\r' {
            bad_format(cr_msg).with_hint(cr_hint)
        } else {
            bad_format(nl_msg).with_hint(nl_hint)
        };
        Err(e.with_where(self.context()))
    }

    /// Consumes the complete records at the start of `buf` and returns how
    /// many bytes they took. With `last`, what remains is the last record.
    fn feed(
        &mut self,
        buf: &[u8],
        last: bool,
        insert: &mut rusqlite::CachedStatement<'_>,
        db: &Db,
    ) -> Result<usize, ErrorInfo> {
        if self.plan.options.binary {
            return self.feed_binary(buf, last, insert, db);
        }
        let mut pos = 0;
        while pos < buf.len() && !self.ended {
            let Some((end, next)) = self.record_end(buf, pos, last)? else {
                break;
            };
            self.line += 1;
            let record = &buf[pos..end];
            pos = next;
            if self.ended && record.is_empty() {
                break;
            }
            if self.header_pending {
                self.header_pending = false;
                if self.plan.options.header == Header::Match {
                    self.check_header(record)?;
                }
                continue;
            }
            self.insert(record, insert, db)?;
        }
        Ok(pos)
    }

    /// `feed` for the binary format: a header, then tuples of
    /// length-prefixed fields, each converted to its text form (the
    /// library's `binary_to_text`) and bound as in the text format.
    fn feed_binary(
        &mut self,
        buf: &[u8],
        last: bool,
        insert: &mut rusqlite::CachedStatement<'_>,
        db: &Db,
    ) -> Result<usize, ErrorInfo> {
        const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
        let be32 =
            |b: &[u8], at: usize| i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let mut pos = 0;
        if self.binary_header {
            if buf.len() < 19 {
                if last {
                    return Err(bad_format("COPY file signature not recognized"));
                }
                return Ok(0);
            }
            if &buf[..11] != SIGNATURE {
                return Err(bad_format("COPY file signature not recognized"));
            }
            if be32(buf, 11) & (1 << 16) != 0 {
                return Err(bad_format("invalid COPY file header (WITH OIDS)"));
            }
            let ext = usize::try_from(be32(buf, 15))
                .map_err(|_| bad_format("invalid COPY file header (missing length)"))?;
            if buf.len() < 19 + ext {
                if last {
                    return Err(bad_format("invalid COPY file header (wrong length)"));
                }
                return Ok(0);
            }
            pos = 19 + ext;
            self.binary_header = false;
        }
        let ncols = self.plan.names.len();
        while pos + 2 <= buf.len() && !self.ended {
            let count = i16::from_be_bytes([buf[pos], buf[pos + 1]]);
            if count == -1 {
                self.ended = true;
                return Ok(buf.len());
            }
            // Only a complete tuple is read.
            let mut p = pos + 2;
            let mut complete = true;
            for _ in 0..count.max(0) {
                if p + 4 > buf.len() {
                    complete = false;
                    break;
                }
                let len = be32(buf, p);
                p += 4;
                if len < -1 {
                    return Err(bad_format("invalid field size").with_where(self.context()));
                }
                if len >= 0 {
                    if p + len as usize > buf.len() {
                        complete = false;
                        break;
                    }
                    p += len as usize;
                }
            }
            if !complete {
                break;
            }
            self.line += 1;
            if usize::try_from(count).ok() != Some(ncols) {
                return Err(
                    bad_format(format!("row field count is {count}, expected {ncols}"))
                        .with_where(self.context()),
                );
            }
            self.fields.clear();
            self.values.clear();
            let mut q = pos + 2;
            for i in 0..ncols {
                let len = be32(buf, q);
                q += 4;
                if len < 0 {
                    self.fields.push(Field {
                        start: 0,
                        end: 0,
                        null: true,
                    });
                    continue;
                }
                let bytes = &buf[q..q + len as usize];
                q += len as usize;
                self.scratch.clear();
                binary_to_text(&self.plan.types[i], bytes, &mut self.scratch).map_err(|e| {
                    e.with_where(format!(
                        "COPY {}, line {}, column {}",
                        self.plan.table, self.line, self.plan.names[i]
                    ))
                })?;
                let start = self.values.len();
                self.values.extend_from_slice(&self.scratch);
                self.fields.push(Field {
                    start,
                    end: self.values.len(),
                    null: false,
                });
            }
            pos = p;
            self.bind_fields(b"", insert, db)?;
        }
        if last && !self.ended && pos < buf.len() {
            return Err(bad_format("unexpected EOF in COPY data").with_where(self.context()));
        }
        Ok(pos)
    }

    /// Where the record starting at `pos` ends and where the next starts;
    /// `None` if it is not complete yet. Sets `ended` at the end-of-data
    /// marker.
    fn record_end(
        &mut self,
        buf: &[u8],
        pos: usize,
        last: bool,
    ) -> Result<Option<(usize, usize)>, ErrorInfo> {
        let o = &self.plan.options;
        let mut i = pos;
        if o.csv {
            // `\.` alone on a line ends the data.
            let rest = &buf[pos..];
            if rest.starts_with(b"\\.") {
                match rest.get(2) {
                    Some(b'\n') | Some(b'\r') | None if rest.len() > 2 || last => {
                        self.ended = true;
                        return Ok(Some((pos, buf.len())));
                    }
                    None => return Ok(None),
                    _ => {}
                }
            }
            let mut quoted = false;
            while i < buf.len() {
                let b = buf[i];
                if quoted {
                    if b == o.escape && o.escape != o.quote {
                        if buf
                            .get(i + 1)
                            .is_some_and(|&n| n == o.quote || n == o.escape)
                        {
                            i += 2;
                            continue;
                        }
                    } else if b == o.quote {
                        quoted = false;
                    }
                } else if b == o.quote {
                    quoted = true;
                } else if b == b'\n' || b == b'\r' {
                    return Ok(self.terminator(buf, i, last)?.map(|n| (i, i + n)));
                }
                i += 1;
            }
        } else {
            while i < buf.len() {
                match buf[i..]
                    .iter()
                    .position(|&b| b == b'\\' || b == b'\n' || b == b'\r')
                {
                    None => break,
                    Some(n) => i += n,
                }
                if buf[i] == b'\\' {
                    match buf.get(i + 1) {
                        None if !last => return Ok(None),
                        None => {
                            i += 1;
                            continue;
                        }
                        Some(b'.') => {
                            // End of data: what precedes it on the line
                            // is a record; the line must end after it.
                            let after = &buf[i + 2..];
                            match after.first() {
                                None if !last => return Ok(None),
                                None | Some(b'\n') => {}
                                Some(b'\r') if after.get(1) == Some(&b'\n') || after.len() == 1 => {
                                }
                                Some(_) => {
                                    self.line += 1;
                                    return Err(bad_format("end-of-copy marker corrupt")
                                        .with_where(self.context()));
                                }
                            }
                            self.ended = true;
                            return Ok(Some((i, buf.len())));
                        }
                        Some(_) => {
                            i += 2;
                            continue;
                        }
                    }
                }
                return Ok(self.terminator(buf, i, last)?.map(|n| (i, i + n)));
            }
        }
        if last && pos < buf.len() {
            return Ok(Some((buf.len(), buf.len())));
        }
        Ok(None)
    }

    /// Splits a text-format record into `fields` (de-escaped into
    /// `values`).
    fn split_text(&mut self, raw: &[u8]) -> Result<(), ErrorInfo> {
        let o = &self.plan.options;
        let delim = o.delimiter;
        let null = o.null.as_bytes();
        self.fields.clear();
        self.values.clear();
        let mut i = 0;
        let mut high_escape = false;
        loop {
            let raw_start = i;
            let start = self.values.len();
            loop {
                let run = raw[i..]
                    .iter()
                    .position(|&b| b == b'\\' || b == delim)
                    .unwrap_or(raw.len() - i);
                self.values.extend_from_slice(&raw[i..i + run]);
                i += run;
                if i >= raw.len() || raw[i] == delim {
                    break;
                }
                // A backslash escape.
                i += 1;
                let Some(&c) = raw.get(i) else {
                    break;
                };
                i += 1;
                let v = match c {
                    b'b' => 8,
                    b'f' => 12,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'v' => 11,
                    b'0'..=b'7' => {
                        let mut v = u32::from(c - b'0');
                        for _ in 0..2 {
                            match raw.get(i) {
                                Some(&d @ b'0'..=b'7') => {
                                    v = v * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        (v & 0xff) as u8
                    }
                    b'x' => match raw.get(i).and_then(|&d| hex(d)) {
                        Some(h) => {
                            i += 1;
                            match raw.get(i).and_then(|&d| hex(d)) {
                                Some(l) => {
                                    i += 1;
                                    h * 16 + l
                                }
                                None => h,
                            }
                        }
                        None => b'x',
                    },
                    other => other,
                };
                high_escape |= v >= 0x80;
                self.values.push(v);
            }
            let raw_field = &raw[raw_start..i.min(raw.len())];
            self.fields.push(Field {
                start,
                end: self.values.len(),
                null: raw_field == null,
            });
            if i < raw.len() && raw[i] == delim {
                i += 1;
                continue;
            }
            break;
        }
        if high_escape && std::str::from_utf8(&self.values).is_err() {
            return Err(invalid_utf8(&self.values).with_where(self.context_with(raw)));
        }
        Ok(())
    }

    /// Splits a CSV record into `fields`.
    fn split_csv(&mut self, raw: &[u8]) -> Result<(), ErrorInfo> {
        let o = &self.plan.options;
        let (delim, quote, escape) = (o.delimiter, o.quote, o.escape);
        let null = o.null.as_bytes();
        self.fields.clear();
        self.values.clear();
        let mut i = 0;
        loop {
            let raw_start = i;
            let start = self.values.len();
            let mut saw_quote = false;
            let mut quoted = false;
            while i < raw.len() {
                let b = raw[i];
                if quoted {
                    if b == escape && raw.get(i + 1).is_some_and(|&n| n == quote || n == escape) {
                        self.values.push(raw[i + 1]);
                        i += 2;
                        continue;
                    }
                    if b == quote {
                        quoted = false;
                    } else {
                        self.values.push(b);
                    }
                } else if b == delim {
                    break;
                } else if b == quote {
                    quoted = true;
                    saw_quote = true;
                } else {
                    self.values.push(b);
                }
                i += 1;
            }
            if quoted {
                return Err(
                    bad_format("unterminated CSV quoted field").with_where(self.context_with(raw))
                );
            }
            // An unquoted null string is NULL (unless FORCE_NOT_NULL: then
            // it is that string); with FORCE_NULL, a quoted one too.
            let col = self.fields.len();
            let null_field = if !saw_quote && &raw[raw_start..i] == null {
                !self.plan.force_not_null.get(col).copied().unwrap_or(false)
            } else {
                self.plan.force_null.get(col).copied().unwrap_or(false)
                    && &self.values[start..] == null
            };
            self.fields.push(Field {
                start,
                end: self.values.len(),
                null: null_field,
            });
            if i < raw.len() {
                i += 1;
                continue;
            }
            break;
        }
        Ok(())
    }

    fn split(&mut self, raw: &[u8]) -> Result<(), ErrorInfo> {
        if std::str::from_utf8(raw).is_err() {
            return Err(invalid_utf8(raw).with_where(self.context()));
        }
        if self.plan.options.csv {
            self.split_csv(raw)
        } else {
            self.split_text(raw)
        }
    }

    fn check_header(&mut self, raw: &[u8]) -> Result<(), ErrorInfo> {
        self.split(raw)?;
        if self.fields.len() != self.plan.names.len() {
            return Err(bad_format(format!(
                "wrong number of fields in header line: got {}, expected {}",
                self.fields.len(),
                self.plan.names.len()
            ))
            .with_where(self.context_with(raw)));
        }
        for (i, (f, name)) in self.fields.iter().zip(&self.plan.names).enumerate() {
            let got = String::from_utf8_lossy(&self.values[f.start..f.end]);
            if f.null {
                return Err(bad_format(format!(
                    "column name mismatch in header line field {}: got null value (\"{}\"), expected \"{name}\"",
                    i + 1,
                    self.plan.options.null
                ))
                .with_where(self.context_with(raw)));
            }
            if got != name.as_str() {
                return Err(bad_format(format!(
                    "column name mismatch in header line field {}: got \"{got}\", expected \"{name}\"",
                    i + 1
                ))
                .with_where(self.context_with(raw)));
            }
        }
        Ok(())
    }

    fn insert(
        &mut self,
        raw: &[u8],
        stmt: &mut rusqlite::CachedStatement<'_>,
        db: &Db,
    ) -> Result<(), ErrorInfo> {
        self.split(raw)?;
        self.bind_fields(raw, stmt, db)
    }

    /// Binds the fields of the current record (`fields`, text in
    /// `values`) and inserts it.
    fn bind_fields(
        &mut self,
        raw: &[u8],
        stmt: &mut rusqlite::CachedStatement<'_>,
        db: &Db,
    ) -> Result<(), ErrorInfo> {
        let ncols = self.plan.names.len();
        if self.fields.len() > ncols {
            return Err(bad_format("extra data after last expected column")
                .with_where(self.context_with(raw)));
        }
        if self.fields.len() < ncols {
            return Err(bad_format(format!(
                "missing data for column \"{}\"",
                self.plan.names[self.fields.len()]
            ))
            .with_where(self.context_with(raw)));
        }
        for (i, f) in self.fields.iter().enumerate() {
            let bound = if f.null {
                stmt.raw_bind_parameter(i + 1, Null)
            } else {
                // Checked above: the record is UTF-8, and escapes were
                // checked when they made bytes above 0x7f.
                let s = std::str::from_utf8(&self.values[f.start..f.end]).unwrap_or("");
                let column_error = |e: ErrorInfo| {
                    e.with_where(format!(
                        "COPY {}, line {}, column {}: \"{s}\"",
                        self.plan.table, self.line, self.plan.names[i]
                    ))
                };
                match &self.plan.kinds[i] {
                    Kind::Text => stmt.raw_bind_parameter(i + 1, s),
                    Kind::Int2 | Kind::Int4 | Kind::Int8 => {
                        let (ty, n) = match self.plan.kinds[i] {
                            Kind::Int2 => (Type::INT2, 2),
                            Kind::Int4 => (Type::INT4, 4),
                            _ => (Type::INT8, 8),
                        };
                        // Plain digits are the common case: no need for
                        // the general parser.
                        let v = match fast_int(s) {
                            Some(v)
                                if n == 8
                                    || (v >= -(1 << (n * 8 - 1)) && v < (1 << (n * 8 - 1))) =>
                            {
                                v
                            }
                            _ => {
                                self.scratch.clear();
                                text_to_binary(&ty, s, &mut self.scratch).map_err(column_error)?;
                                let b = &self.scratch[..];
                                match n {
                                    2 => i64::from(i16::from_be_bytes([b[0], b[1]])),
                                    4 => i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
                                    _ => i64::from_be_bytes(b[..8].try_into().unwrap_or([0; 8])),
                                }
                            }
                        };
                        stmt.raw_bind_parameter(i + 1, v)
                    }
                    Kind::Float4 | Kind::Float8 | Kind::Bool => {
                        let ty = match self.plan.kinds[i] {
                            Kind::Float4 => Type::FLOAT4,
                            Kind::Float8 => Type::FLOAT8,
                            _ => Type::BOOL,
                        };
                        self.scratch.clear();
                        text_to_binary(&ty, s, &mut self.scratch).map_err(column_error)?;
                        let b = &self.scratch[..];
                        match ty {
                            Type::FLOAT4 => stmt.raw_bind_parameter(
                                i + 1,
                                f64::from(f32::from_be_bytes(b[..4].try_into().unwrap_or([0; 4]))),
                            ),
                            Type::FLOAT8 => stmt.raw_bind_parameter(
                                i + 1,
                                f64::from_be_bytes(b[..8].try_into().unwrap_or([0; 8])),
                            ),
                            _ => stmt.raw_bind_parameter(i + 1, i64::from(b.first() == Some(&1))),
                        }
                    }
                    Kind::Bytea => {
                        self.scratch.clear();
                        text_to_binary(&Type::BYTEA, s, &mut self.scratch).map_err(column_error)?;
                        stmt.raw_bind_parameter(i + 1, &self.scratch[..])
                    }
                    Kind::Canonical(ty) => {
                        let v = canonical_text_with(ty, s, &self.plan.settings, &mut self.scratch)
                            .map_err(column_error)?;
                        stmt.raw_bind_parameter(i + 1, v)
                    }
                }
            };
            bound.map_err(|e| from_sqlite(&e).with_where(self.context()))?;
        }
        stmt.raw_execute()
            .map_err(|e| db.error(&e).with_where(self.context()))?;
        self.rows += 1;
        Ok(())
    }
}

fn hex(d: u8) -> Option<u8> {
    match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'f' => Some(d - b'a' + 10),
        b'A'..=b'F' => Some(d - b'A' + 10),
        _ => None,
    }
}

/// An integer of plain digits (with an optional `-`), without overflow.
fn fast_int(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits
        .iter()
        .fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'));
    Some(if neg { -v } else { v })
}

/// The worker's side of COPY FROM: reads the data from `rx` and inserts
/// the rows in one transaction (or savepoint), undone on any failure.
fn copy_in_worker(
    db: &mut Db,
    plan: &InPlan,
    rx: &mut mpsc::Receiver<InMsg>,
) -> Result<u64, ErrorInfo> {
    let nested = db.in_transaction();
    db.batch(if nested {
        "SAVEPOINT pgwire_copy"
    } else {
        "BEGIN"
    })?;
    let result = copy_rows(db, plan, rx);
    let ended = match &result {
        Ok(_) if nested => db.batch("RELEASE pgwire_copy"),
        Ok(_) => db.batch("COMMIT"),
        Err(_) if nested => db
            .batch("ROLLBACK TO pgwire_copy")
            .and_then(|()| db.batch("RELEASE pgwire_copy")),
        Err(_) => db.batch("ROLLBACK"),
    };
    match (result, ended) {
        (Ok(n), Ok(())) => Ok(n),
        (Ok(_), Err(e)) => {
            if !nested {
                let _ = db.batch("ROLLBACK");
            }
            Err(e)
        }
        (Err(e), _) => Err(e),
    }
}

fn copy_rows(db: &Db, plan: &InPlan, rx: &mut mpsc::Receiver<InMsg>) -> Result<u64, ErrorInfo> {
    let mut insert = db
        .conn
        .prepare_cached(&plan.insert)
        .map_err(|e| from_sqlite(&e))?;
    let mut reader = Reader::new(plan);
    let mut carry: Vec<u8> = Vec::new();
    loop {
        match rx.blocking_recv() {
            Some(InMsg::Data(data)) => {
                if reader.ended {
                    continue;
                }
                let used = if carry.is_empty() {
                    let used = reader.feed(&data, false, &mut insert, db)?;
                    carry.extend_from_slice(&data[used..]);
                    continue;
                } else {
                    carry.extend_from_slice(&data);
                    reader.feed(&carry, false, &mut insert, db)?
                };
                carry.drain(..used);
            }
            Some(InMsg::Done) => {
                if !reader.ended {
                    reader.feed(&carry, true, &mut insert, db)?;
                }
                return Ok(reader.rows);
            }
            Some(InMsg::Fail(message)) => {
                let e = match message {
                    Some(m) => ErrorInfo::new(
                        SqlState::QUERY_CANCELED,
                        format!("COPY from stdin failed: {m}"),
                    ),
                    None => ErrorInfo::query_canceled(),
                };
                // The line being read when it stopped.
                return Err(e.with_where(format!("COPY {}, line {}", plan.table, reader.line + 1)));
            }
            None => return Err(ErrorInfo::query_canceled()),
        }
    }
}

impl SqliteSession {
    /// Starts the worker side of the COPY FROM in progress, if it has not
    /// started.
    async fn start_copy_in(&mut self) -> Result<(), ErrorInfo> {
        let Some(state) = self.copy.as_mut() else {
            return Err(no_copy());
        };
        let Some(plan) = state.plan.take() else {
            return Ok(());
        };
        let (tx, mut rx) = mpsc::channel(4);
        let (result_tx, result_rx) = oneshot::channel();
        state.tx = Some(tx);
        state.result = Some(result_rx);
        self.engine
            .call_with_reply(None, move |db, started| {
                let _ = started.send(());
                let r = copy_in_worker(db, &plan, &mut rx);
                drop(rx);
                let _ = result_tx.send(r);
            })
            .await
    }

    /// Sends the gathered data to the worker.
    async fn flush_copy_in(&mut self, msg_after: Option<InMsg>) -> Result<(), ErrorInfo> {
        self.start_copy_in().await?;
        let Some(state) = self.copy.as_mut() else {
            return Err(no_copy());
        };
        let Some(tx) = state.tx.clone() else {
            return Err(no_copy());
        };
        let mut sent = true;
        if !state.buf.is_empty() {
            let data = state.buf.split().freeze();
            sent = tx.send(InMsg::Data(data)).await.is_ok();
        }
        if sent {
            if let Some(m) = msg_after {
                sent = tx.send(m).await.is_ok();
            }
        }
        if sent {
            return Ok(());
        }
        // The worker stopped: it failed.
        Err(self.finish_copy_in().await.err().unwrap_or_else(no_copy))
    }

    /// Waits for the worker's result and ends the COPY.
    async fn finish_copy_in(&mut self) -> Result<u64, ErrorInfo> {
        let Some(mut state) = self.copy.take() else {
            return Err(no_copy());
        };
        state.tx = None;
        match state.result.take() {
            Some(rx) => rx
                .await
                .unwrap_or_else(|_| Err(ErrorInfo::query_canceled())),
            None => Err(no_copy()),
        }
    }

    /// Runs a COPY statement: checks it and answers CopyInResponse or
    /// CopyOutResponse. `last`: it is the last statement of its query
    /// string (COPY TO streams only then; the statements after a COPY FROM
    /// wait for its data, see `simple.rs`).
    pub(super) async fn copy_command(
        &mut self,
        session: &mut Session,
        stmt: &Result<CopyStatement, ErrorInfo>,
        last: bool,
    ) -> Response {
        // Values read and print with the session's settings, as in
        // PostgreSQL (COPY text and CSV follow DateStyle, TimeZone...).
        let settings = session.format_settings().clone();
        let stmt = match stmt {
            Ok(s) => s.clone(),
            Err(e) => return e.clone().into(),
        };
        if stmt.from {
            let plan_stmt = stmt.clone();
            let plan = match self
                .engine
                .call(None, move |db| plan_in(db, &plan_stmt))
                .await
                .and_then(|r| r)
            {
                Ok(p) => InPlan { settings, ..p },
                Err(e) => return e.into(),
            };
            let columns = plan.names.len();
            self.copy = Some(CopyInState {
                table: plan.table.clone(),
                plan: Some(plan),
                buf: BytesMut::with_capacity(CHUNK + 1024),
                tx: None,
                result: None,
            });
            let format = if stmt.options.binary {
                CopyFormat::binary(columns)
            } else {
                CopyFormat::text(columns)
            };
            return Response::CopyIn(CopyIn::new(format));
        }
        let plan_stmt = stmt.clone();
        let plan = match self
            .engine
            .call(None, move |db| plan_out(db, &plan_stmt))
            .await
            .and_then(|r| r)
        {
            Ok(p) => OutPlan { settings, ..p },
            Err(e) => return e.into(),
        };
        let columns = plan.names.len();
        let format = if plan.options.binary {
            CopyFormat::binary(columns)
        } else {
            CopyFormat::text(columns)
        };
        if last {
            let stream = CopyOutStream::lazy(self.engine.clone(), plan);
            return Response::CopyOut(CopyOut::new(format, stream));
        }
        // The worker must be free for the next statement: read it all now.
        let read = self
            .engine
            .call(None, move |db| {
                let mut batches = VecDeque::new();
                let read = copy_out_rows(db, &plan, &mut |b| {
                    batches.push_back(b);
                    true
                });
                read.map(|()| batches)
            })
            .await
            .and_then(|r| r);
        match read {
            Ok(batches) => Response::CopyOut(CopyOut::new(format, CopyOutStream::read(batches))),
            Err(e) => e.into(),
        }
    }
}

fn no_copy() -> ErrorInfo {
    ErrorInfo::new(SqlState::PROTOCOL_VIOLATION, "no COPY in progress")
}

impl CopyHandler for SqliteSession {
    async fn copy_data(&mut self, session: &mut Session, data: Bytes) -> Result<(), ErrorInfo> {
        if session.is_cancelled() {
            self.flush_copy_in(Some(InMsg::Fail(None))).await?;
            return Err(self
                .finish_copy_in()
                .await
                .err()
                .unwrap_or_else(ErrorInfo::query_canceled));
        }
        let Some(state) = self.copy.as_mut() else {
            return Err(no_copy());
        };
        state.buf.extend_from_slice(&data);
        if state.buf.len() >= CHUNK {
            self.flush_copy_in(None).await?;
        }
        Ok(())
    }

    async fn copy_done(&mut self, _session: &mut Session) -> Result<Tag, ErrorInfo> {
        self.flush_copy_in(Some(InMsg::Done)).await?;
        let rows = self.finish_copy_in().await?;
        Ok(Tag::new("COPY").with_rows(rows))
    }

    async fn copy_fail(&mut self, _session: &mut Session, message: &str) -> ErrorInfo {
        let table = match &self.copy {
            Some(s) => s.table.clone(),
            None => {
                return ErrorInfo::new(
                    SqlState::QUERY_CANCELED,
                    format!("COPY from stdin failed: {message}"),
                );
            }
        };
        let fail = InMsg::Fail(Some(message.to_owned()));
        if let Err(e) = self.flush_copy_in(Some(fail)).await {
            return e;
        }
        match self.finish_copy_in().await {
            Err(e) => e,
            Ok(_) => ErrorInfo::new(
                SqlState::QUERY_CANCELED,
                format!("COPY from stdin failed: {message}"),
            )
            .with_where(format!("COPY {table}")),
        }
    }
}

// ------------------------------------------------------------ COPY TO

/// A checked COPY TO, ready to run on the worker.
#[derive(Debug)]
pub struct OutPlan {
    /// The query, in PostgreSQL's dialect.
    query: String,
    names: Vec<String>,
    options: CopyOptions,
    force_quote: Vec<bool>,
    /// The session's settings: how values print (DateStyle, TimeZone...).
    settings: FormatSettings,
}

fn plan_out(db: &Db, stmt: &CopyStatement) -> Result<OutPlan, ErrorInfo> {
    let query = match &stmt.target {
        CopyTarget::Table { table, columns } => {
            let cols = select_columns(table_columns(db, table)?, table, columns)?;
            format!(
                "SELECT {} FROM {}",
                cols.iter()
                    .map(|c| quote_ident(&c.name))
                    .collect::<Vec<_>>()
                    .join(", "),
                quote_ident(table)
            )
        }
        CopyTarget::Query(q) => q.clone(),
    };
    let prepared = describe::prepare(&db.conn, &query, &[])?;
    describe::check_no_params(&prepared)?;
    if prepared.columns.is_empty() {
        return Err(not_supported(
            "COPY query must have a RETURNING clause or return rows",
        ));
    }
    let names: Vec<String> = prepared.columns.iter().map(|c| c.name.clone()).collect();
    Ok(OutPlan {
        force_quote: flags(&stmt.options.force_quote, &names, "FORCE_QUOTE")?,
        settings: FormatSettings::default(),
        query,
        names,
        options: stmt.options.clone(),
    })
}

/// Rows in COPY format: one buffer and where each row ends in it.
#[derive(Debug)]
struct Batch {
    data: Bytes,
    ends: Vec<usize>,
    /// The first piece is the header line (counts as no row).
    header: bool,
    /// The last piece is the binary format's trailer (counts as no row).
    trailer: bool,
}

/// Writes `field` as a text-format COPY field.
fn put_text_field(out: &mut BytesMut, field: &[u8], delim: u8) {
    let mut start = 0;
    for (i, &b) in field.iter().enumerate() {
        let esc = match b {
            b'\\' => b'\\',
            8 => b'b',
            12 => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            11 => b'v',
            _ if b == delim => b,
            _ => continue,
        };
        out.extend_from_slice(&field[start..i]);
        out.extend_from_slice(&[b'\\', esc]);
        start = i + 1;
    }
    out.extend_from_slice(&field[start..]);
}

/// Writes `field` as a CSV field, quoted when needed (or `force`d).
fn put_csv_field(out: &mut BytesMut, field: &[u8], o: &CopyOptions, force: bool, single: bool) {
    let quote = force
        || field == o.null.as_bytes()
        || (single && field == b"\\.")
        || field
            .iter()
            .any(|&b| b == o.delimiter || b == o.quote || b == b'\n' || b == b'\r');
    if !quote {
        out.extend_from_slice(field);
        return;
    }
    out.extend_from_slice(&[o.quote]);
    let mut start = 0;
    for (i, &b) in field.iter().enumerate() {
        if b == o.quote || b == o.escape {
            out.extend_from_slice(&field[start..i]);
            out.extend_from_slice(&[o.escape]);
            start = i;
        }
    }
    out.extend_from_slice(&field[start..]);
    out.extend_from_slice(&[o.quote]);
}

/// Runs the COPY TO query on the worker and hands batches of rows to
/// `send` until it returns false (the client went away).
fn copy_out_rows(
    db: &Db,
    plan: &OutPlan,
    send: &mut dyn FnMut(Batch) -> bool,
) -> Result<(), ErrorInfo> {
    let o = &plan.options;
    let ncols = plan.names.len();
    let single = ncols == 1;
    let prepared = describe::prepare(&db.conn, &plan.query, &[])?;
    let mut stmt = db
        .conn
        .prepare_cached(&prepared.sql)
        .map_err(|e| db.error(&e))?;
    let mut rows = stmt.raw_query();
    let mut out = BytesMut::with_capacity(CHUNK + 4096);
    let mut ends = Vec::new();
    let mut header = false;
    if o.binary {
        out.extend_from_slice(pgwire::api::COPY_BINARY_HEADER);
        ends.push(out.len());
        header = true;
    } else if o.header == Header::Yes {
        for (i, n) in plan.names.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(&[o.delimiter]);
            }
            // FORCE_QUOTE does not apply to the header.
            if o.csv {
                put_csv_field(&mut out, n.as_bytes(), o, false, single);
            } else {
                put_text_field(&mut out, n.as_bytes(), o.delimiter);
            }
        }
        out.extend_from_slice(b"\n");
        ends.push(out.len());
        header = true;
    }
    // Values go through the same conversion as query results (booleans as
    // t/f, bytea as hex, numeric scales...), into a DataRow whose fields
    // are then written in COPY format. In the binary format the DataRow's
    // body is the tuple.
    let formats = if o.binary {
        FormatCodes::from_codes(&[1])
    } else {
        FormatCodes::new()
    };
    let mut fields: Option<Vec<FieldInfo>> = None;
    let mut row_buf = BytesMut::new();
    let mut enc_scratch = BytesMut::new();
    let mut value_scratch = BytesMut::new();
    let interrupt = db.interrupt();
    loop {
        if interrupt.is_set() {
            return Err(ErrorInfo::query_canceled());
        }
        let Some(row) = rows.next().map_err(|e| db.error(&e))? else {
            break;
        };
        let fields = fields.get_or_insert_with(|| {
            prepared
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let t = c.ty.clone().unwrap_or_else(|| {
                        PgType::plain(row.get_ref(i).map_or(Type::TEXT, type_for_storage))
                    });
                    FieldInfo::new(c.name.clone(), t.ty).with_type_modifier(t.typmod)
                })
                .collect()
        });
        row_buf.clear();
        let mut enc = DataRowEncoder::new(&mut row_buf, fields, &formats, &mut enc_scratch)
            .with_format_settings(&plan.settings);
        for i in 0..ncols {
            let v = row.get_ref(i).unwrap_or(ValueRef::Null);
            encode_value(&mut enc, v, &mut value_scratch)?;
        }
        enc.finish()?;
        if o.binary {
            out.extend_from_slice(
                CopyChunk::binary_tuple_of_data_row(&row_buf)
                    .ok_or_else(|| ErrorInfo::new(SqlState::INTERNAL_ERROR, "bad DataRow"))?,
            );
            ends.push(out.len());
            if out.len() >= CHUNK {
                let batch = Batch {
                    data: out.split().freeze(),
                    ends: std::mem::take(&mut ends),
                    header: std::mem::take(&mut header),
                    trailer: false,
                };
                if !send(batch) {
                    return Err(ErrorInfo::query_canceled());
                }
            }
            continue;
        }
        // DataRow: tag, length, column count, then (length, bytes) each.
        let mut p = 7;
        for i in 0..ncols {
            if i > 0 {
                out.extend_from_slice(&[o.delimiter]);
            }
            let len = row_buf
                .get(p..p + 4)
                .map_or(-1, |b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            p += 4;
            if len < 0 {
                out.extend_from_slice(o.null.as_bytes());
                continue;
            }
            let field = row_buf.get(p..p + len as usize).unwrap_or(&[]);
            p += len as usize;
            if o.csv {
                put_csv_field(&mut out, field, o, plan.force_quote[i], single);
            } else {
                put_text_field(&mut out, field, o.delimiter);
            }
        }
        out.extend_from_slice(b"\n");
        ends.push(out.len());
        if out.len() >= CHUNK {
            let batch = Batch {
                data: out.split().freeze(),
                ends: std::mem::take(&mut ends),
                header: std::mem::take(&mut header),
                trailer: false,
            };
            if !send(batch) {
                return Err(ErrorInfo::query_canceled());
            }
        }
    }
    let trailer = o.binary;
    if trailer {
        out.extend_from_slice(pgwire::api::COPY_BINARY_TRAILER);
        ends.push(out.len());
    }
    if !ends.is_empty()
        && !send(Batch {
            data: out.split().freeze(),
            ends,
            header,
            trailer,
        })
    {
        return Err(ErrorInfo::query_canceled());
    }
    Ok(())
}

type BatchRx = mpsc::Receiver<Result<Batch, ErrorInfo>>;
type StartFuture = Pin<Box<dyn std::future::Future<Output = Result<BatchRx, ErrorInfo>> + Send>>;

/// COPY TO data for the connection: one row per item, from batches the
/// worker streams (started on first poll) or read beforehand. Dropped
/// before the end (a cancel, a disconnect), it stops the worker.
struct CopyOutStream {
    start: Option<StartFuture>,
    rx: Option<BatchRx>,
    queued: VecDeque<Batch>,
    current: Option<(Batch, usize)>,
    interrupt: Option<Arc<Interrupt>>,
    done: bool,
}

impl CopyOutStream {
    fn lazy(engine: Engine, plan: OutPlan) -> Self {
        let interrupt = engine.interrupt();
        let start = async move {
            let (tx, rx) = mpsc::channel::<Result<Batch, ErrorInfo>>(2);
            engine
                .call_with_reply(None, move |db, started| {
                    let _ = started.send(());
                    let r = copy_out_rows(db, &plan, &mut |b| tx.blocking_send(Ok(b)).is_ok());
                    if let Err(e) = r {
                        let _ = tx.blocking_send(Err(e));
                    }
                })
                .await?;
            Ok(rx)
        };
        CopyOutStream {
            start: Some(Box::pin(start)),
            rx: None,
            queued: VecDeque::new(),
            current: None,
            interrupt: Some(interrupt),
            done: false,
        }
    }

    fn read(batches: VecDeque<Batch>) -> Self {
        CopyOutStream {
            start: None,
            rx: None,
            queued: batches,
            current: None,
            interrupt: None,
            done: false,
        }
    }
}

impl Stream for CopyOutStream {
    type Item = Result<CopyChunk, ErrorInfo>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some((batch, i)) = &mut this.current {
                if *i < batch.ends.len() {
                    let from = if *i == 0 { 0 } else { batch.ends[*i - 1] };
                    let data = batch.data.slice(from..batch.ends[*i]);
                    let no_row =
                        (*i == 0 && batch.header) || (*i + 1 == batch.ends.len() && batch.trailer);
                    let rows = u64::from(!no_row);
                    *i += 1;
                    return Poll::Ready(Some(Ok(CopyChunk { data, rows })));
                }
                this.current = None;
            }
            if let Some(b) = this.queued.pop_front() {
                this.current = Some((b, 0));
                continue;
            }
            if let Some(start) = &mut this.start {
                match start.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(rx)) => {
                        this.start = None;
                        this.rx = Some(rx);
                    }
                    Poll::Ready(Err(e)) => {
                        this.start = None;
                        this.done = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
            }
            let Some(rx) = &mut this.rx else {
                this.done = true;
                return Poll::Ready(None);
            };
            match rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(b))) => this.current = Some((b, 0)),
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    this.rx = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    this.rx = None;
                    return Poll::Ready(None);
                }
            }
        }
    }
}

impl Drop for CopyOutStream {
    fn drop(&mut self) {
        if !self.done && self.rx.is_some() {
            if let Some(i) = &self.interrupt {
                i.fire();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_statements() {
        let s = parse("COPY t (a, \"B\") FROM STDIN WITH (FORMAT csv, HEADER)").unwrap();
        assert_eq!(
            s.target,
            CopyTarget::Table {
                table: "t".into(),
                columns: vec!["a".into(), "B".into()]
            }
        );
        assert!(s.from && s.options.csv && s.options.header == Header::Yes);
        assert_eq!(s.options.delimiter, b',');
        let s = parse("copy (select 1, 'a;b') to stdout csv header force quote *").unwrap();
        assert_eq!(s.target, CopyTarget::Query("select 1, 'a;b'".into()));
        assert_eq!(s.options.force_quote, Columns::All);
        let s = parse("copy t to stdout with delimiter as '|' null as 'NUL'").unwrap();
        assert_eq!(s.options.delimiter, b'|');
        assert_eq!(s.options.null, "NUL");
        assert!(parse("copy t from stdin (format binary)").is_ok_and(|s| s.options.binary));
        assert!(parse("copy t to stdout (format binary)").is_ok_and(|s| s.options.binary));
        assert!(parse("copy t from '/etc/passwd'").is_err());
        assert!(parse("copy (select 1) from stdin").is_err());
        assert!(parse("copy t from stdin (quote '\"')").is_err());
    }

    #[test]
    fn text_fields() {
        let mut out = BytesMut::new();
        put_text_field(&mut out, b"a\tb\\c\nd\re\x08|", b'|');
        assert_eq!(&out[..], b"a\\tb\\\\c\\nd\\re\\b\\|");
    }

    #[test]
    fn csv_fields() {
        let o = parse("copy t to stdout csv").unwrap().options;
        let put = |f: &[u8]| {
            let mut out = BytesMut::new();
            put_csv_field(&mut out, f, &o, false, false);
            String::from_utf8(out.to_vec()).unwrap()
        };
        assert_eq!(put(b"plain"), "plain");
        assert_eq!(put(b""), "\"\"");
        assert_eq!(put(b"he said \"hi\", ok"), "\"he said \"\"hi\"\", ok\"");
        assert_eq!(put(b"\\N"), "\\N");
    }
}
