//! Statements the server answers itself instead of SQLite: transaction
//! control (`BEGIN`, `START TRANSACTION ...`, `COMMIT`, `SAVEPOINT`...),
//! run-time parameters (`SET`, `SHOW`, `RESET`), `DISCARD`, `DEALLOCATE`
//! and `TRUNCATE`: what drivers and tools send at connect time or around
//! their queries, which SQLite does not understand.
//!
//! `version()`, `current_schema()` and the other functions are SQL
//! functions registered on the connection (see `functions.rs`), so they
//! work anywhere in a query.

use std::sync::Arc;

use pgwire::api::{QueryResponse, Response, Rows, Session, Tag};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::types::{FieldInfo, Schema, Type};

use super::sql::{self, Tok, Token, ident_value, string_value};

/// What a statement is, for routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run by SQLite.
    Sql,
    /// `BEGIN` / `START TRANSACTION`.
    Begin {
        /// `READ ONLY` was asked for.
        read_only: bool,
        /// The SQLite statement that opens it.
        sqlite: &'static str,
        /// The command tag (`BEGIN` or `START TRANSACTION`).
        tag: &'static str,
    },
    /// `COMMIT` / `END`.
    Commit,
    /// `ROLLBACK` / `ABORT`.
    Rollback,
    /// `SAVEPOINT name`.
    Savepoint(String),
    /// `RELEASE [SAVEPOINT] name`.
    Release(String),
    /// `ROLLBACK TO [SAVEPOINT] name`.
    RollbackTo(String),
    /// `SET name = value` (`None`: `DEFAULT`).
    Set {
        /// Parameter name.
        name: String,
        /// Value as PostgreSQL would show it.
        value: Option<String>,
    },
    /// `SET TRANSACTION ...` and `SET SESSION CHARACTERISTICS AS
    /// TRANSACTION ...`.
    SetTransaction {
        /// `READ ONLY` (`Some(true)`) or `READ WRITE` (`Some(false)`).
        read_only: Option<bool>,
        /// Applies to this transaction only (`SET TRANSACTION`).
        current: bool,
    },
    /// `SHOW name` (`all` for `SHOW ALL`).
    Show(String),
    /// `RESET name` (`None`: `RESET ALL`).
    Reset(Option<String>),
    /// `DISCARD ALL|PLANS|SEQUENCES|TEMP`, with its tag.
    Discard(String),
    /// `DEALLOCATE [PREPARE] name|ALL`, with its tag.
    Deallocate(&'static str),
    /// `TRUNCATE [TABLE] t, ...`.
    Truncate(Vec<String>),
    /// `LISTEN`, `UNLISTEN`, `NOTIFY` (see `notify.rs`), with the notice
    /// parsing produced (a channel name truncated).
    Notify(super::notify::NotifyCommand, Option<String>),
    /// `COPY` (see `copy.rs`), or why it cannot run.
    Copy(Box<Result<super::copy::CopyStatement, ErrorInfo>>),
    /// `DECLARE ... CURSOR FOR ...` (`cursors.rs`), or why it cannot run.
    Declare(Box<Result<super::cursors::DeclareCursor, ErrorInfo>>),
    /// `FETCH` / `MOVE` (`cursors.rs`), or why it cannot run.
    Fetch(Box<Result<super::cursors::FetchCursor, ErrorInfo>>),
    /// `CLOSE name` (`None`: `CLOSE ALL`), or why it cannot run.
    CloseCursor(Result<Option<String>, ErrorInfo>),
    /// A PostgreSQL statement this server does not support.
    Unsupported(String),
    /// `SELECT current_setting('name'), set_config('name', 'value', false)`:
    /// run-time parameters read and set in a query (output column names
    /// and calls).
    Config(Vec<(String, ConfigCall)>),
    /// asyncpg's type introspection query (`WITH RECURSIVE typeinfo_tree
    /// ... pg_type ...`), answered for the built-in types.
    TypeInfo,
    /// Publications and replication slots (see `publisher.rs`).
    Publisher(super::publisher::PublisherCommand),
}

impl Command {
    /// Whether the statement may run in a failed transaction block (the
    /// statements that end it).
    pub fn allowed_when_failed(&self) -> bool {
        matches!(
            self,
            Command::Commit | Command::Rollback | Command::RollbackTo(_)
        )
    }

    /// Whether the statement controls transactions.
    pub fn is_transaction_control(&self) -> bool {
        matches!(
            self,
            Command::Begin { .. }
                | Command::Commit
                | Command::Rollback
                | Command::Savepoint(_)
                | Command::Release(_)
                | Command::RollbackTo(_)
        )
    }
}

fn word_at(toks: &[Token<'_>], i: usize) -> String {
    toks.get(i)
        .filter(|t| t.kind == Tok::Word)
        .map(|t| t.text.to_ascii_lowercase())
        .unwrap_or_default()
}

/// What statement `text` is.
pub fn classify(text: &str) -> Command {
    if let Some(c) = super::publisher::classify(text) {
        return Command::Publisher(c);
    }
    let toks = sql::significant(text);
    let w = |i: usize| word_at(&toks, i);
    match w(0).as_str() {
        "begin" => {
            let sqlite = match w(1).as_str() {
                "immediate" => "BEGIN IMMEDIATE",
                "exclusive" => "BEGIN EXCLUSIVE",
                _ => "BEGIN",
            };
            Command::Begin {
                read_only: has_read_only(&toks),
                sqlite,
                tag: "BEGIN",
            }
        }
        "start" if w(1) == "transaction" => Command::Begin {
            read_only: has_read_only(&toks),
            sqlite: "BEGIN",
            tag: "START TRANSACTION",
        },
        "commit" | "end" => Command::Commit,
        "rollback" | "abort" => {
            let to = toks.iter().position(|t| t.is_word("to"));
            match to {
                Some(i) => {
                    let mut j = i + 1;
                    if w(j) == "savepoint" {
                        j += 1;
                    }
                    Command::RollbackTo(toks.get(j).map(ident_value).unwrap_or_default())
                }
                None => Command::Rollback,
            }
        }
        "savepoint" => Command::Savepoint(toks.get(1).map(ident_value).unwrap_or_default()),
        "release" => {
            let j = if w(1) == "savepoint" { 2 } else { 1 };
            Command::Release(toks.get(j).map(ident_value).unwrap_or_default())
        }
        "set" => classify_set(&toks),
        "show" => {
            let name = match (w(1).as_str(), w(2).as_str()) {
                ("time", "zone") => "timezone".to_owned(),
                ("transaction", "isolation") => "transaction_isolation".to_owned(),
                ("session", "authorization") => "session_authorization".to_owned(),
                _ => dotted_name(&toks, 1).0,
            };
            Command::Show(name)
        }
        "reset" => match (w(1).as_str(), w(2).as_str()) {
            ("all", _) => Command::Reset(None),
            ("time", "zone") => Command::Reset(Some("timezone".into())),
            ("session", "authorization") => Command::Reset(Some("session_authorization".into())),
            _ => Command::Reset(Some(dotted_name(&toks, 1).0)),
        },
        "discard" => Command::Discard(format!(
            "DISCARD {}",
            match w(1).as_str() {
                "temporary" | "temp" => "TEMP".to_owned(),
                other => other.to_ascii_uppercase(),
            }
        )),
        "deallocate" => {
            let j = if w(1) == "prepare" { 2 } else { 1 };
            Command::Deallocate(if w(j) == "all" {
                "DEALLOCATE ALL"
            } else {
                "DEALLOCATE"
            })
        }
        "truncate" => {
            let tables = toks[1..]
                .iter()
                .filter(|t| matches!(t.kind, Tok::Word | Tok::QuotedIdent))
                .filter(|t| {
                    ![
                        "table", "only", "restart", "continue", "identity", "cascade", "restrict",
                    ]
                    .iter()
                    .any(|k| t.is_word(k))
                })
                .map(ident_value)
                .collect();
            Command::Truncate(tables)
        }
        "listen" | "unlisten" | "notify" => {
            let (cmd, notice) = super::notify::parse(text);
            Command::Notify(cmd, notice)
        }
        "copy" => Command::Copy(Box::new(super::copy::parse(text))),
        "declare" => Command::Declare(Box::new(super::cursors::parse_declare(text))),
        "fetch" | "move" => {
            Command::Fetch(Box::new(super::cursors::parse_fetch(text, w(0) == "move")))
        }
        "close" => Command::CloseCursor(super::cursors::parse_close(text)),
        "prepare" | "execute" | "lock" | "grant" | "revoke" | "comment" | "cluster"
        | "checkpoint" => {
            if w(0) == "prepare" && w(1) == "transaction" {
                return Command::Unsupported("PREPARE TRANSACTION".into());
            }
            Command::Unsupported(w(0).to_ascii_uppercase())
        }
        "select" => classify_config(&toks),
        "with"
            if toks.iter().any(|t| t.is_word("typeinfo_tree"))
                && toks.iter().any(|t| t.is_word("pg_type")) =>
        {
            Command::TypeInfo
        }
        _ => Command::Sql,
    }
}

fn has_read_only(toks: &[Token<'_>]) -> bool {
    toks.windows(2)
        .any(|p| p[0].is_word("read") && p[1].is_word("only"))
}

/// A possibly dotted parameter name starting at `i` (`search_path`,
/// `myapp.user_id`), lower-cased, and the index after it.
fn dotted_name(toks: &[Token<'_>], mut i: usize) -> (String, usize) {
    let mut name = String::new();
    while let Some(t) = toks.get(i) {
        if !matches!(t.kind, Tok::Word | Tok::QuotedIdent) {
            break;
        }
        name.push_str(&ident_value(t));
        i += 1;
        if toks.get(i).is_some_and(|t| t.kind == Tok::Dot) {
            name.push('.');
            i += 1;
        } else {
            break;
        }
    }
    (name, i)
}

fn classify_set(toks: &[Token<'_>]) -> Command {
    let w = |i: usize| word_at(toks, i);
    let mut i = 1;
    if matches!(w(i).as_str(), "session" | "local") {
        if w(i) == "session" && w(i + 1) == "characteristics" {
            return Command::SetTransaction {
                read_only: transaction_read_only(toks),
                current: false,
            };
        }
        i += 1;
    }
    match (w(i).as_str(), w(i + 1).as_str()) {
        ("transaction", _) => {
            return Command::SetTransaction {
                read_only: transaction_read_only(toks),
                current: true,
            };
        }
        ("time", "zone") => {
            return Command::Set {
                name: "TimeZone".into(),
                value: set_value(&toks[i + 2..]),
            };
        }
        ("schema", _) => {
            return Command::Set {
                name: "search_path".into(),
                value: set_value(&toks[i + 1..]),
            };
        }
        ("names", _) => {
            return Command::Set {
                name: "client_encoding".into(),
                value: set_value(&toks[i + 1..]),
            };
        }
        ("role", _) => {
            return Command::Set {
                name: "role".into(),
                value: set_value(&toks[i + 1..]),
            };
        }
        ("authorization", _) => {
            return Command::Set {
                name: "session_authorization".into(),
                value: set_value(&toks[i + 1..]),
            };
        }
        _ => {}
    }
    let (name, mut j) = dotted_name(toks, i);
    if toks
        .get(j)
        .is_some_and(|t| t.is_word("to") || (t.kind == Tok::Op && t.text == "="))
    {
        j += 1;
    }
    Command::Set {
        name,
        value: set_value(&toks[j.min(toks.len())..]),
    }
}

fn transaction_read_only(toks: &[Token<'_>]) -> Option<bool> {
    toks.windows(2).find_map(|p| {
        if p[0].is_word("read") && p[1].is_word("only") {
            Some(true)
        } else if p[0].is_word("read") && p[1].is_word("write") {
            Some(false)
        } else {
            None
        }
    })
}

/// The value of `SET x = <tokens>`, as PostgreSQL shows it: strings
/// without their quotes, lists joined with `, `; `None` for `DEFAULT`.
fn set_value(toks: &[Token<'_>]) -> Option<String> {
    if toks.len() == 1 && (toks[0].is_word("default") || toks[0].is_word("local")) {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    for t in toks {
        match t.kind {
            Tok::Comma => parts.push(std::mem::take(&mut cur)),
            Tok::Str => cur.push_str(&string_value(t.text)),
            _ => cur.push_str(t.text),
        }
    }
    parts.push(cur);
    Some(parts.join(", "))
}

/// Values shown for parameters nobody set, as PostgreSQL 15 shows them.
fn builtin_default(name: &str) -> Option<&'static str> {
    Some(match name {
        "transaction_isolation" | "default_transaction_isolation" => "serializable",
        "search_path" => "\"$user\", public",
        "max_identifier_length" => "63",
        "lc_collate" | "lc_ctype" | "lc_messages" | "lc_monetary" | "lc_numeric" | "lc_time" => "C",
        "block_size" => "8192",
        "extra_float_digits" => "1",
        "bytea_output" => "hex",
        "statement_timeout" | "lock_timeout" | "idle_in_transaction_session_timeout" => "0",
        "max_connections" => "100",
        "application_name" => "",
        "client_min_messages" => "notice",
        "escape_string_warning" => "on",
        "default_transaction_deferrable" => "off",
        "transaction_deferrable" => "off",
        "row_security" => "on",
        "synchronous_commit" => "on",
        "role" => "none",
        "jit" => "off",
        "ssl" => "off",
        _ => return None,
    })
}

/// Canonical spellings of parameters PostgreSQL shows in mixed case.
fn canonical(name: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "timezone" => "TimeZone".into(),
        "datestyle" => "DateStyle".into(),
        "intervalstyle" => "IntervalStyle".into(),
        lower => lower.to_owned(),
    }
}

/// A session's parameter state beyond `Session`'s own: the values at
/// connect (for RESET) and the transaction's read-only mode.
#[derive(Debug, Default, Clone)]
pub struct Settings {
    /// Parameter values at connect time.
    pub initial: Vec<(String, String)>,
    /// Sessions default to read-only transactions.
    pub default_read_only: bool,
}

impl Settings {
    /// Records the parameters `session` starts with.
    pub fn new(session: &Session) -> Self {
        Settings {
            initial: session
                .parameters()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            default_read_only: false,
        }
    }

    fn initial(&self, name: &str) -> Option<&str> {
        self.initial
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn text_schema(names: &[&str]) -> Schema {
    Arc::from(
        names
            .iter()
            .map(|n| FieldInfo::new(n.to_string(), Type::TEXT))
            .collect::<Vec<_>>(),
    )
}

/// The value of parameter `name` as SHOW prints it.
fn show_value(session: &Session, name: &str, read_only: bool) -> Option<String> {
    match name {
        "transaction_read_only" => return Some(if read_only { "on" } else { "off" }.into()),
        "server_version_num" => {
            let v = session.parameter("server_version").unwrap_or("18.0");
            let mut parts = v
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|p| p.parse::<u32>().ok());
            let major = parts.next().unwrap_or(18);
            let minor = parts.next().unwrap_or(0);
            return Some((major * 10000 + minor).to_string());
        }
        _ => {}
    }
    session
        .parameter(name)
        .map(str::to_owned)
        .or_else(|| builtin_default(name).map(str::to_owned))
}

/// Runs SET, SHOW, RESET, DISCARD and DEALLOCATE. `in_block`:
/// a transaction block is open; `read_only`: the transaction is read-only.
pub fn run(
    session: &mut Session,
    settings: &Settings,
    cmd: &Command,
    in_block: bool,
    read_only: bool,
) -> Response {
    match cmd {
        Command::Set { name, value } => {
            let name = canonical(name);
            if name.is_empty() {
                return ErrorInfo::new(SqlState::SYNTAX_ERROR, "syntax error at end of input")
                    .into();
            }
            let value = match value {
                Some(v) => v.clone(),
                None => settings
                    .initial(&name)
                    .or_else(|| builtin_default(&name))
                    .unwrap_or("")
                    .to_owned(),
            };
            if name == "client_encoding" {
                let v = value.to_ascii_uppercase().replace('-', "");
                if v != "UTF8" && v != "UNICODE" {
                    return ErrorInfo::new(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        format!("client_encoding \"{value}\" is not supported: this server speaks UTF8 only"),
                    )
                    .into();
                }
                session.set_parameter("client_encoding", "UTF8");
                return Tag::new("SET").into();
            }
            // TimeZone, DateStyle...: checked, and refused as PostgreSQL
            // does (22023, setting unchanged).
            if let Err(e) = session.try_set_parameter(&name, value) {
                return e.into();
            }
            Tag::new("SET").into()
        }
        Command::Show(name) => {
            let lower = name.to_ascii_lowercase();
            if lower == "all" {
                let mut all: Vec<(String, String)> = session
                    .parameters()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                all.sort_by_key(|(k, _)| k.to_ascii_lowercase());
                let rows: Vec<(String, String, &'static str)> =
                    all.into_iter().map(|(k, v)| (k, v, "")).collect();
                return Response::Query(QueryResponse::new(
                    text_schema(&["name", "setting", "description"]),
                    Rows::from_iterator(rows),
                ));
            }
            let column = canonical(&lower);
            match show_value(session, &lower, read_only) {
                Some(v) => Response::Query(
                    QueryResponse::new(text_schema(&[&column]), Rows::from_iterator([(v,)]))
                        .with_tag(Tag::new("SHOW")),
                ),
                None => ErrorInfo::new(
                    SqlState::UNDEFINED_OBJECT,
                    format!("unrecognized configuration parameter \"{name}\""),
                )
                .into(),
            }
        }
        Command::Reset(name) => {
            match name {
                Some(n) => {
                    let n = canonical(n);
                    let v = settings
                        .initial(&n)
                        .or_else(|| builtin_default(&n))
                        .unwrap_or("")
                        .to_owned();
                    session.set_parameter(&n, v);
                }
                None => reset_all(session, settings),
            }
            Tag::new("RESET").into()
        }
        Command::Discard(tag) => {
            if tag == "DISCARD ALL" {
                if in_block {
                    return ErrorInfo::new(
                        SqlState::ACTIVE_SQL_TRANSACTION,
                        "DISCARD ALL cannot run inside a transaction block",
                    )
                    .into();
                }
                reset_all(session, settings);
            }
            Tag::new(tag.clone()).into()
        }
        Command::Config(calls) => run_config(session, calls, read_only),
        // The extended protocol answers it with its parameter.
        Command::TypeInfo => {
            ErrorInfo::new(SqlState::UNDEFINED_PARAMETER, "there is no parameter $1").into()
        }
        Command::Deallocate(tag) => Tag::new(*tag).into(),
        Command::Unsupported(what) => ErrorInfo::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            format!("{what} is not supported by this server"),
        )
        .into(),
        _ => ErrorInfo::new(SqlState::INTERNAL_ERROR, "not a session command").into(),
    }
}

/// `RESET ALL`: every parameter back to its value at connect.
fn reset_all(session: &mut Session, settings: &Settings) {
    let current: Vec<(String, String)> = session
        .parameters()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for (k, v) in current {
        let initial = settings.initial(&k).map(str::to_owned);
        match initial {
            Some(i) if i != v => session.set_parameter(&k, i),
            Some(_) => {}
            None => session.set_parameter(&k, builtin_default(&k).unwrap_or("")),
        }
    }
}

/// The result columns of a session command in the extended protocol.
pub fn describe(cmd: &Command) -> Option<Schema> {
    match cmd {
        Command::Config(calls) => Some(text_schema(
            &calls.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        )),
        Command::TypeInfo => Some(type_info_schema()),
        Command::Publisher(p) => super::publisher::describe(p),
        Command::Show(name) if name.eq_ignore_ascii_case("all") => {
            Some(text_schema(&["name", "setting", "description"]))
        }
        Command::Show(name) => Some(text_schema(&[&canonical(name)])),
        _ => None,
    }
}

// ------------------------------------------- current_setting, set_config

/// A run-time parameter function called in a `SELECT` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigCall {
    /// `current_setting(name [, missing_ok])`.
    Get {
        /// Parameter name.
        name: String,
        /// NULL instead of an error for an unknown parameter.
        missing_ok: bool,
    },
    /// `set_config(name, value, is_local)`.
    Set {
        /// Parameter name.
        name: String,
        /// New value.
        value: String,
    },
}

/// `SELECT` of nothing but `current_setting` and `set_config` calls with
/// constant arguments (what drivers send around their own queries, e.g.
/// asyncpg turning JIT off for its introspection): a [`Command::Config`].
/// Anything else is plain SQL.
fn classify_config(toks: &[Token<'_>]) -> Command {
    if !toks
        .iter()
        .any(|t| t.is_word("current_setting") || t.is_word("set_config"))
    {
        return Command::Sql;
    }
    let mut calls = Vec::new();
    let mut depth = 0i32;
    let items = toks[1..].split(|t| {
        match t.kind {
            Tok::LParen => depth += 1,
            Tok::RParen => depth -= 1,
            _ => {}
        }
        depth == 0 && t.kind == Tok::Comma
    });
    for item in items {
        let mut item: Vec<Token<'_>> = item
            .iter()
            .copied()
            .filter(|t| t.kind != Tok::Semicolon)
            .collect();
        if item.len() >= 2 && item[0].is_word("pg_catalog") && item[1].kind == Tok::Dot {
            item.drain(..2);
        }
        let Some(close) = item.iter().position(|t| t.kind == Tok::RParen) else {
            return Command::Sql;
        };
        if item.len() < 3 || item[1].kind != Tok::LParen {
            return Command::Sql;
        }
        let args: Vec<&Token<'_>> = item[2..close]
            .iter()
            .filter(|t| t.kind != Tok::Comma)
            .collect();
        let arg_commas = item[2..close]
            .iter()
            .filter(|t| t.kind == Tok::Comma)
            .count();
        if args.len() != arg_commas + 1 {
            return Command::Sql;
        }
        let string = |t: &Token<'_>| (t.kind == Tok::Str).then(|| string_value(t.text));
        let boolean = |t: &Token<'_>| {
            if t.is_word("true") {
                Some(true)
            } else if t.is_word("false") {
                Some(false)
            } else {
                None
            }
        };
        let func = item[0].text.to_ascii_lowercase();
        let call = match (func.as_str(), &args[..]) {
            ("current_setting", [n]) => string(n).map(|name| ConfigCall::Get {
                name,
                missing_ok: false,
            }),
            ("current_setting", [n, ok]) => string(n)
                .zip(boolean(ok))
                .map(|(name, missing_ok)| ConfigCall::Get { name, missing_ok }),
            ("set_config", [n, v, local]) => match (string(n), string(v), boolean(local)) {
                (Some(name), Some(value), Some(_)) => Some(ConfigCall::Set { name, value }),
                _ => None,
            },
            _ => None,
        };
        let Some(call) = call else {
            return Command::Sql;
        };
        let alias = match &item[close + 1..] {
            [] => func.clone(),
            [a] | [_, a] if matches!(a.kind, Tok::Word | Tok::QuotedIdent) => ident_value(a),
            _ => return Command::Sql,
        };
        if item.len() == close + 3 && !item[close + 1].is_word("as") {
            return Command::Sql;
        }
        calls.push((alias, call));
    }
    if calls.is_empty() {
        Command::Sql
    } else {
        Command::Config(calls)
    }
}

/// Runs a [`Command::Config`]: one row of the values read or set.
fn run_config(session: &mut Session, calls: &[(String, ConfigCall)], read_only: bool) -> Response {
    let mut row: Vec<Option<String>> = Vec::with_capacity(calls.len());
    for (_, call) in calls {
        match call {
            ConfigCall::Get { name, missing_ok } => {
                let lower = name.to_ascii_lowercase();
                match show_value(session, &lower, read_only) {
                    Some(v) => row.push(Some(v)),
                    None if *missing_ok => row.push(None),
                    None => {
                        return ErrorInfo::new(
                            SqlState::UNDEFINED_OBJECT,
                            format!("unrecognized configuration parameter \"{name}\""),
                        )
                        .into();
                    }
                }
            }
            ConfigCall::Set { name, value } => {
                // Session-wide even for is_local = true: this server keeps
                // no per-transaction parameter values.
                session.set_parameter(&canonical(name), value.clone());
                row.push(Some(value.clone()));
            }
        }
    }
    let names: Vec<&str> = calls.iter().map(|(n, _)| n.as_str()).collect();
    let row: Vec<Box<dyn pgwire::types::ToSql + Send + Sync>> = row
        .into_iter()
        .map(|v| Box::new(v) as Box<dyn pgwire::types::ToSql + Send + Sync>)
        .collect();
    Response::Query(QueryResponse::new(
        text_schema(&names),
        Rows::from_iterator([row]),
    ))
}

// ------------------------------------------------ type introspection

/// The columns of asyncpg's type introspection query, as PostgreSQL
/// describes them.
fn type_info_schema() -> Schema {
    let cols: [(&str, Type); 14] = [
        ("oid", Type::OID),
        ("ns", Type::NAME),
        ("name", Type::NAME),
        ("kind", Type::CHAR),
        ("basetype", Type::OID),
        ("elemtype", Type::OID),
        ("elemdelim", Type::CHAR),
        ("range_subtype", Type::OID),
        ("attrtypoids", Type::OID_ARRAY),
        ("attrnames", Type::TEXT_ARRAY),
        ("depth", Type::INT4),
        ("basetype_name", Type::TEXT),
        ("elemtype_name", Type::TEXT),
        ("range_subtype_name", Type::TEXT),
    ];
    Arc::from(
        cols.into_iter()
            .map(|(n, t)| FieldInfo::new(n.to_owned(), t))
            .collect::<Vec<_>>(),
    )
}

/// The parameter types of a session command (only asyncpg's type
/// introspection takes one: the type OIDs, `oid[]`).
pub fn param_types(cmd: &Command) -> Vec<Type> {
    match cmd {
        Command::TypeInfo => vec![Type::OID_ARRAY],
        _ => Vec::new(),
    }
}

/// One row of asyncpg's type introspection result.
type TypeInfoRow = (
    u32,
    String,
    String,
    i8,
    Option<u32>,
    u32,
    Option<i8>,
    Option<u32>,
    Option<Vec<u32>>,
    Option<Vec<String>>,
    i32,
    Option<String>,
    String,
    Option<String>,
);

/// Answers asyncpg's type introspection for `oids` from the built-in
/// types this server knows (what `pg_type` holds for them): each type at
/// depth 0, then the element or range subtype it refers to one level
/// deeper, deepest first. Unknown OIDs have no row, as in PostgreSQL.
pub fn type_info(oids: &[u32]) -> Response {
    use pgwire::types::Kind;
    let mut rows: Vec<TypeInfoRow> = Vec::new();
    let mut level: Vec<u32> = oids.to_vec();
    let mut depth = 0;
    while !level.is_empty() && depth < 8 {
        let mut next = Vec::new();
        for &oid in &level {
            let Some(ty) = Type::from_oid(oid) else {
                continue;
            };
            let (kind, elem, range) = match ty.kind() {
                Kind::Array(e) => (b'b', Some(e.clone()), None),
                Kind::Range(s) => (b'r', None, Some(s.clone())),
                Kind::Multirange(s) => (b'm', None, Some(s.clone())),
                Kind::Pseudo => (b'p', None, None),
                _ => (b'b', None, None),
            };
            let regtype = |t: &Type| pgwire::types::text::pg_type_display_name(t).to_owned();
            // box[] is the one built-in array delimited by ';'.
            let delim = if ty == Type::BOX_ARRAY { b';' } else { b',' };
            let row: TypeInfoRow = (
                oid,
                ty.schema().to_owned(),
                ty.name().to_owned(),
                kind as i8,
                None,
                elem.as_ref().map_or(0, Type::oid),
                elem.as_ref().map(|_| delim as i8),
                range.as_ref().map(Type::oid),
                None,
                None,
                depth,
                None,
                elem.as_ref().map_or_else(|| "-".to_owned(), regtype),
                range.as_ref().map(regtype),
            );
            if !rows.iter().any(|r| r.0 == row.0 && r.10 == row.10) {
                rows.push(row);
            }
            next.extend(elem.iter().chain(range.iter()).map(Type::oid));
        }
        level = next;
        depth += 1;
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.10));
    Response::Query(QueryResponse::new(
        type_info_schema(),
        Rows::from_iterator(rows),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_calls_and_type_introspection() {
        let cmd = classify(
            "\n  SELECT\n current_setting('jit') AS cur,\n set_config('jit', 'off', false) AS new\n",
        );
        assert_eq!(
            cmd,
            Command::Config(vec![
                (
                    "cur".into(),
                    ConfigCall::Get {
                        name: "jit".into(),
                        missing_ok: false
                    }
                ),
                (
                    "new".into(),
                    ConfigCall::Set {
                        name: "jit".into(),
                        value: "off".into()
                    }
                ),
            ])
        );
        assert_eq!(
            classify("select pg_catalog.current_setting('x.y', true)"),
            Command::Config(vec![(
                "current_setting".into(),
                ConfigCall::Get {
                    name: "x.y".into(),
                    missing_ok: true
                }
            )])
        );
        assert_eq!(
            classify("select current_setting('jit') from t"),
            Command::Sql
        );
        assert_eq!(classify("select set_config('a', $1, false)"), Command::Sql);
        assert_eq!(classify("select 1, current_setting('jit')"), Command::Sql);
        assert_eq!(
            classify("WITH RECURSIVE typeinfo_tree(oid) AS (SELECT oid FROM pg_type) SELECT 1"),
            Command::TypeInfo
        );
    }

    #[test]
    fn classifies() {
        assert_eq!(
            classify("START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY"),
            Command::Begin {
                read_only: true,
                sqlite: "BEGIN",
                tag: "START TRANSACTION"
            }
        );
        assert_eq!(classify("end transaction"), Command::Commit);
        assert_eq!(
            classify("rollback to savepoint s1"),
            Command::RollbackTo("s1".into())
        );
        assert_eq!(
            classify("SET search_path TO \"$user\", public"),
            Command::Set {
                name: "search_path".into(),
                value: Some("\"$user\", public".into())
            }
        );
        assert_eq!(
            classify("set session time zone 'UTC'"),
            Command::Set {
                name: "TimeZone".into(),
                value: Some("UTC".into())
            }
        );
        assert_eq!(
            classify("SET extra_float_digits = 3"),
            Command::Set {
                name: "extra_float_digits".into(),
                value: Some("3".into())
            }
        );
        assert_eq!(
            classify("show transaction isolation level"),
            Command::Show("transaction_isolation".into())
        );
        assert_eq!(
            classify("truncate table a, only b restart identity"),
            Command::Truncate(vec!["a".into(), "b".into()])
        );
        assert_eq!(classify("select 1"), Command::Sql);
        assert_eq!(
            classify("DEALLOCATE ALL"),
            Command::Deallocate("DEALLOCATE ALL")
        );
    }
}
