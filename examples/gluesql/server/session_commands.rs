//! The session commands drivers and tools send (`SET`, `SHOW`, `RESET`,
//! `DISCARD`, `DEALLOCATE`, `SELECT version()`, `current_schema()`...),
//! answered from the session's parameters since GlueSQL has no such
//! statements or functions.

use std::sync::Arc;

use pgwire::api::{QueryResponse, Response, Rows, Session, Tag};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::types::{FieldInfo, Schema, Type};
use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, OneOrManyWithParens, Query, SelectItem,
    SetExpr, Statement as SqlStatement, Value as SqlValue,
};

/// A session command.
#[derive(Debug, Clone)]
pub enum SessionCommand {
    /// `SET name = value` (also `SET TIME ZONE`, `SET NAMES`).
    Set {
        /// Parameter name.
        name: String,
        /// The value as text.
        value: String,
    },
    /// `RESET name`, `SET name TO DEFAULT`, or `RESET ALL` (`None`).
    Reset(Option<String>),
    /// `SET TRANSACTION ...`, `SET SESSION CHARACTERISTICS ...`: accepted,
    /// since every transaction here has the same isolation anyway.
    SetTransaction,
    /// `SHOW name` or `SHOW ALL`.
    Show(String),
    /// A `SELECT` of session functions only, without `FROM`.
    Select(Vec<(String, SessionValue)>),
    /// A command with nothing to do here but its tag (`DEALLOCATE`,
    /// `DISCARD ALL`, `UNLISTEN *`).
    Tag(String),
    /// A command this server cannot honour (`LISTEN`, `NOTIFY`).
    Unsupported(String),
}

/// A session function.
#[derive(Debug, Clone)]
pub enum SessionValue {
    /// `version()`.
    Version,
    /// `current_schema()`.
    CurrentSchema,
    /// `current_database()`, `current_catalog`.
    CurrentDatabase,
    /// `current_user`, `user`, `current_role`.
    CurrentUser,
    /// `session_user`.
    SessionUser,
    /// `pg_backend_pid()`.
    BackendPid,
    /// `current_setting('name')`.
    Setting(String),
}

/// The session command a parsed statement is, if any.
pub fn recognize(sql: &SqlStatement) -> Option<SessionCommand> {
    Some(match sql {
        SqlStatement::SetVariable {
            variables, value, ..
        } => {
            let name = match variables {
                OneOrManyWithParens::One(n) => n.to_string(),
                OneOrManyWithParens::Many(_) => return None,
            };
            match value.as_slice() {
                [Expr::Identifier(i)] if i.value.eq_ignore_ascii_case("default") => {
                    SessionCommand::Reset(Some(name))
                }
                values => SessionCommand::Set {
                    name,
                    value: values.iter().map(expr_text).collect::<Vec<_>>().join(", "),
                },
            }
        }
        SqlStatement::SetTimeZone { value, .. } => SessionCommand::Set {
            name: "TimeZone".to_owned(),
            value: expr_text(value),
        },
        SqlStatement::SetNames { charset_name, .. } => SessionCommand::Set {
            name: "client_encoding".to_owned(),
            value: charset_name.clone(),
        },
        SqlStatement::SetTransaction { .. } => SessionCommand::SetTransaction,
        SqlStatement::ShowVariable { variable } => {
            let name = variable
                .iter()
                .map(|i| i.value.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            // GlueSQL's own `SHOW VERSION`.
            if name.eq_ignore_ascii_case("version") {
                return None;
            }
            SessionCommand::Show(name)
        }
        SqlStatement::Deallocate { name, .. } => SessionCommand::Tag(
            if name.value.eq_ignore_ascii_case("all") {
                "DEALLOCATE ALL"
            } else {
                "DEALLOCATE"
            }
            .to_owned(),
        ),
        SqlStatement::Discard { object_type } => {
            SessionCommand::Tag(format!("DISCARD {object_type}"))
        }
        SqlStatement::LISTEN { .. } | SqlStatement::NOTIFY { .. } => {
            SessionCommand::Unsupported("LISTEN/NOTIFY".to_owned())
        }
        SqlStatement::Query(q) => SessionCommand::Select(session_select(q)?),
        _ => return None,
    })
}

/// Session commands the SQL parser rejects, by their first words.
pub fn recognize_text(sql: &str) -> Option<SessionCommand> {
    let s = sql.trim().trim_end_matches(';').trim_end();
    if s.contains(';') {
        return None;
    }
    let mut words = s.split_whitespace();
    let first = words.next()?.to_ascii_uppercase();
    let rest: Vec<&str> = words.collect();
    Some(match first.as_str() {
        "RESET" => match rest.as_slice() {
            [all] if all.eq_ignore_ascii_case("all") => SessionCommand::Reset(None),
            [name] => SessionCommand::Reset(Some((*name).to_owned())),
            _ => return None,
        },
        "SET" => SessionCommand::SetTransaction,
        "DISCARD" | "DEALLOCATE" | "UNLISTEN" => {
            let what = if rest.first().is_some_and(|w| w.eq_ignore_ascii_case("all")) {
                " ALL"
            } else {
                ""
            };
            SessionCommand::Tag(format!("{first}{what}"))
        }
        "LISTEN" | "NOTIFY" => SessionCommand::Unsupported("LISTEN/NOTIFY".to_owned()),
        _ => return None,
    })
}

/// A `SET` value as PostgreSQL stores it: strings unquoted, names and
/// numbers as written.
fn expr_text(e: &Expr) -> String {
    match e {
        Expr::Value(SqlValue::SingleQuotedString(s)) => s.clone(),
        Expr::Value(SqlValue::Number(n, _)) => n.to_string(),
        Expr::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}

fn session_select(q: &Query) -> Option<Vec<(String, SessionValue)>> {
    if q.with.is_some() || q.order_by.is_some() || q.limit.is_some() || q.offset.is_some() {
        return None;
    }
    let SetExpr::Select(select) = &*q.body else {
        return None;
    };
    if !select.from.is_empty() || select.selection.is_some() {
        return None;
    }
    select
        .projection
        .iter()
        .map(|item| {
            let (expr, alias) = match item {
                SelectItem::UnnamedExpr(e) => (e, None),
                SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
                _ => return None,
            };
            let (name, value) = session_function(expr)?;
            Some((alias.unwrap_or(name), value))
        })
        .collect()
}

fn session_function(e: &Expr) -> Option<(String, SessionValue)> {
    let (name, args): (String, Vec<&Expr>) = match e {
        Expr::Function(f) => {
            let args = match &f.args {
                FunctionArguments::None => vec![],
                FunctionArguments::List(l) => l
                    .args
                    .iter()
                    .map(|a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                        _ => None,
                    })
                    .collect::<Option<_>>()?,
                FunctionArguments::Subquery(_) => return None,
            };
            (f.name.0.last()?.value.to_lowercase(), args)
        }
        Expr::Identifier(i) if i.quote_style.is_none() => (i.value.to_lowercase(), vec![]),
        _ => return None,
    };
    let value = match (name.as_str(), args.as_slice()) {
        ("version", []) => SessionValue::Version,
        ("current_schema", []) => SessionValue::CurrentSchema,
        ("current_database" | "current_catalog", []) => SessionValue::CurrentDatabase,
        ("current_user" | "user" | "current_role", []) => SessionValue::CurrentUser,
        ("session_user", []) => SessionValue::SessionUser,
        ("pg_backend_pid", []) => SessionValue::BackendPid,
        ("current_setting", [Expr::Value(SqlValue::SingleQuotedString(s))]) => {
            SessionValue::Setting(s.clone())
        }
        _ => return None,
    };
    Some((name, value))
}

/// Settings PostgreSQL has that are not among the session's reported
/// parameters, with the values true of this server.
fn extra_setting(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        // Every transaction is serializable here (see `database.rs`).
        "transaction_isolation"
        | "default_transaction_isolation"
        | "transaction isolation level" => "serializable",
        "transaction_read_only" | "transaction read only" => "off",
        "search_path" => "\"$user\", public",
        "max_identifier_length" => "63",
        "extra_float_digits" => "1",
        "statement_timeout" | "lock_timeout" => "0",
        _ => return None,
    })
}

fn setting(session: &Session, name: &str) -> Option<String> {
    if name.eq_ignore_ascii_case("server_version_num") {
        let v = session.parameter("server_version")?;
        let mut parts = v.split(|c: char| !c.is_ascii_digit());
        let major: u32 = parts.next()?.parse().ok()?;
        let minor: u32 = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
        return Some((major * 10000 + minor).to_string());
    }
    session
        .parameter(name)
        .map(str::to_owned)
        .or_else(|| extra_setting(name).map(str::to_owned))
}

fn unrecognized(name: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::UNDEFINED_OBJECT,
        format!("unrecognized configuration parameter \"{name}\""),
    )
}

fn text_schema(names: &[&str]) -> Schema {
    Arc::from(
        names
            .iter()
            .map(|n| FieldInfo::new(n.to_string(), Type::TEXT))
            .collect::<Vec<_>>(),
    )
}

/// The result columns of a command (for Describe), if it returns rows.
pub fn fields(cmd: &SessionCommand) -> Option<Schema> {
    match cmd {
        SessionCommand::Show(name) if name.eq_ignore_ascii_case("all") => {
            Some(text_schema(&["name", "setting", "description"]))
        }
        SessionCommand::Show(name) => Some(text_schema(&[show_column(name)])),
        SessionCommand::Select(items) => Some(Arc::from(
            items
                .iter()
                .map(|(label, v)| {
                    let ty = match v {
                        SessionValue::BackendPid => Type::INT4,
                        _ => Type::TEXT,
                    };
                    FieldInfo::new(label.clone(), ty)
                })
                .collect::<Vec<_>>(),
        )),
        _ => None,
    }
}

fn show_column(name: &str) -> &str {
    if name.eq_ignore_ascii_case("transaction isolation level") {
        "transaction_isolation"
    } else {
        name
    }
}

/// Runs a session command. `defaults` are the parameter values the session
/// started with, for `RESET`.
pub fn answer(
    cmd: &SessionCommand,
    session: &mut Session,
    defaults: &[(String, String)],
) -> Response {
    match run(cmd, session, defaults) {
        Ok(r) => r,
        Err(e) => Response::Error(e),
    }
}

fn run(
    cmd: &SessionCommand,
    session: &mut Session,
    defaults: &[(String, String)],
) -> Result<Response, ErrorInfo> {
    let schema = fields(cmd);
    Ok(match cmd {
        SessionCommand::Set { name, value } => {
            if name.eq_ignore_ascii_case("client_encoding")
                && !matches!(
                    value.to_ascii_uppercase().replace(['-', '_'], "").as_str(),
                    "UTF8" | "UNICODE"
                )
            {
                return Err(ErrorInfo::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    format!("client encoding \"{value}\" is not supported: only UTF8"),
                ));
            }
            session.set_parameter(name, value.clone());
            Response::Execution(Tag::new("SET"))
        }
        SessionCommand::Reset(name) => {
            for (k, v) in defaults {
                if name.as_ref().is_none_or(|n| n.eq_ignore_ascii_case(k)) {
                    session.set_parameter(k, v.clone());
                }
            }
            Response::Execution(Tag::new("RESET"))
        }
        SessionCommand::SetTransaction => Response::Execution(Tag::new("SET")),
        SessionCommand::Tag(tag) => Response::Execution(Tag::new(tag.clone())),
        SessionCommand::Unsupported(what) => {
            return Err(ErrorInfo::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!("{what} is not supported by this server"),
            ));
        }
        SessionCommand::Show(name) if name.eq_ignore_ascii_case("all") => {
            let rows: Vec<(String, String, &str)> = session
                .parameters()
                .map(|(k, v)| (k.to_owned(), v.to_owned(), ""))
                .collect();
            rows_response(schema, Rows::from_iterator(rows))
                .with_tag(Tag::new("SHOW"))
                .into()
        }
        SessionCommand::Show(name) => {
            let value = setting(session, name).ok_or_else(|| unrecognized(name))?;
            rows_response(schema, Rows::from_iterator([(value,)]))
                .with_tag(Tag::new("SHOW"))
                .into()
        }
        SessionCommand::Select(items) => {
            let mut row = Vec::with_capacity(items.len());
            for (_, v) in items {
                row.push(session_value(session, v)?);
            }
            rows_response(schema, Rows::from_iterator([SessionRow(row)])).into()
        }
    })
}

fn rows_response(schema: Option<Schema>, rows: Rows) -> QueryResponse {
    QueryResponse::new(schema.unwrap_or_else(|| Arc::from(vec![])), rows)
}

enum Scalar {
    Text(String),
    Int(i32),
}

struct SessionRow(Vec<Scalar>);

impl pgwire::types::EncodeRow for SessionRow {
    fn encode_row(&self, row: &mut pgwire::types::DataRowEncoder<'_>) -> Result<(), ErrorInfo> {
        for v in &self.0 {
            match v {
                Scalar::Text(s) => row.encode_field(&s.as_str())?,
                Scalar::Int(i) => row.encode_field(i)?,
            }
        }
        Ok(())
    }
}

fn session_value(session: &Session, v: &SessionValue) -> Result<Scalar, ErrorInfo> {
    let client = session.client();
    Ok(match v {
        SessionValue::Version => Scalar::Text(format!(
            "PostgreSQL {} on GlueSQL 0.20 (pgwire example server)",
            session.parameter("server_version").unwrap_or("")
        )),
        SessionValue::CurrentSchema => Scalar::Text("public".to_owned()),
        SessionValue::CurrentDatabase => Scalar::Text(client.database().to_owned()),
        SessionValue::CurrentUser | SessionValue::SessionUser => {
            Scalar::Text(client.user().to_owned())
        }
        SessionValue::BackendPid => Scalar::Int(client.process_id()),
        SessionValue::Setting(name) => {
            Scalar::Text(setting(session, name).ok_or_else(|| unrecognized(name))?)
        }
    })
}
