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
    /// A PostgreSQL statement this server does not support.
    Unsupported(String),
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
        "prepare" | "execute" | "declare" | "fetch" | "move" | "close" | "lock" | "grant"
        | "revoke" | "comment" | "cluster" | "checkpoint" => {
            if w(0) == "prepare" && w(1) == "transaction" {
                return Command::Unsupported("PREPARE TRANSACTION".into());
            }
            Command::Unsupported(w(0).to_ascii_uppercase())
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
            session.set_parameter(&name, value);
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
                        .with_command("SHOW"),
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
        Command::Show(name) if name.eq_ignore_ascii_case("all") => {
            Some(text_schema(&["name", "setting", "description"]))
        }
        Command::Show(name) => Some(text_schema(&[&canonical(name)])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
