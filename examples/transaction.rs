//! Transactions at the protocol level: a key-value server whose sessions
//! keep their own transaction (BEGIN, COMMIT, ROLLBACK, savepoints and the
//! failed-transaction state) with PostgreSQL's rules, and report it to the
//! client in ReadyForQuery (`I` idle, `T` in a block, `E` failed): what
//! psql shows in its prompt (`=#`, `=*#`, `=!#`) and drivers act on.
//!
//! ```sh
//! cargo run --example transaction         # listens on 127.0.0.1:5434
//! psql -h 127.0.0.1 -p 5434 -U postgres
//! ```
//!
//! ```text
//! postgres=# BEGIN;
//! postgres=*# PUT greeting hello;
//! postgres=*# SAVEPOINT a;
//! postgres=*# oops;                  -- ERROR: syntax error
//! postgres=!# GET greeting;          -- ERROR: current transaction is aborted
//! postgres=!# ROLLBACK TO a;
//! postgres=*# COMMIT;
//! postgres=# GET greeting;           -- hello
//! ```
//!
//! Commands: `PUT key value`, `GET key` (a row, or none), `DELETE key`,
//! `KEYS` (all pairs), and the transaction statements. How the handler
//! reports the transaction:
//!
//! - the handler sets the status with `Session::set_transaction_status`:
//!   `T` at BEGIN, `I` at COMMIT and ROLLBACK (the one source of truth);
//! - an error inside a block makes it `E` (the server does this);
//! - `ROLLBACK TO SAVEPOINT` recovers a failed block: the handler sets the
//!   status back to `T` itself with `Session::set_transaction_status`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use pgwire::api::{
    ExtendedQueryHandler, ExtendedQuerySupport, Portal, QueryResponse, Response, Responses, Rows,
    ServerHandlers, Session, SimpleQueryHandler, StatementDescription, StoredStatement, Tag,
    UseExtendedQueryHandler,
};
use pgwire::error::{ErrorInfo, Severity, SqlState};
use pgwire::messages::TransactionStatus;
use pgwire::server::{Server, ServerConfig};
use pgwire::types::{FieldInfo, Schema, Type};

type Store = BTreeMap<String, String>;

/// The committed data, shared by every session.
pub struct KvServer {
    committed: Arc<Mutex<Store>>,
}

impl KvServer {
    /// An empty store.
    pub fn new() -> Self {
        KvServer {
            committed: Arc::default(),
        }
    }
}

impl Default for KvServer {
    fn default() -> Self {
        Self::new()
    }
}

/// One session: its transaction, if a block is open.
pub struct KvSession {
    committed: Arc<Mutex<Store>>,
    tx: Option<Transaction>,
    schema: Schema,
}

/// An open transaction block: its writes (`None` = deleted) and the
/// savepoints, each with the writes as they were when it was set.
struct Transaction {
    writes: BTreeMap<String, Option<String>>,
    savepoints: Vec<(String, BTreeMap<String, Option<String>>)>,
}

impl ServerHandlers for KvServer {
    type Handler = KvSession;

    fn extended_query() -> impl ExtendedQuerySupport<KvSession> {
        UseExtendedQueryHandler
    }

    async fn connect(&self, _session: &mut Session) -> Result<KvSession, ErrorInfo> {
        Ok(KvSession {
            committed: self.committed.clone(),
            tx: None,
            schema: Arc::from(vec![
                FieldInfo::new("key", Type::TEXT),
                FieldInfo::new("value", Type::TEXT),
            ]),
        })
    }
}

/// A statement, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// `BEGIN` / `START TRANSACTION` (the tag says which).
    Begin(&'static str),
    /// `COMMIT` / `END`.
    Commit,
    /// `ROLLBACK` / `ABORT`.
    Rollback,
    /// `SAVEPOINT name`.
    Savepoint(String),
    /// `ROLLBACK TO [SAVEPOINT] name`.
    RollbackTo(String),
    /// `RELEASE [SAVEPOINT] name`.
    Release(String),
    /// `PUT key value`.
    Put(String, String),
    /// `GET key`.
    Get(String),
    /// `DELETE key`.
    Delete(String),
    /// `KEYS`.
    Keys,
    /// Only whitespace.
    Empty,
}

fn syntax_error(sql: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::SYNTAX_ERROR,
        format!(
            "syntax error at or near \"{}\"",
            sql.split_whitespace().next().unwrap_or(sql)
        ),
    )
}

/// A savepoint name: an identifier, double-quoted or folded to lower case.
fn ident(word: &str) -> String {
    match word.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => word.to_lowercase(),
    }
}

impl Statement {
    /// Parses one statement (no trailing semicolon).
    pub fn parse(sql: &str) -> Result<Statement, ErrorInfo> {
        let words: Vec<&str> = sql.split_whitespace().collect();
        let upper: Vec<String> = words.iter().map(|w| w.to_uppercase()).collect();
        let u: Vec<&str> = upper.iter().map(String::as_str).collect();
        Ok(match u.as_slice() {
            [] => Statement::Empty,
            ["BEGIN"] | ["BEGIN", "TRANSACTION" | "WORK"] => Statement::Begin("BEGIN"),
            ["START", "TRANSACTION"] => Statement::Begin("START TRANSACTION"),
            ["COMMIT" | "END"] | ["COMMIT" | "END", "TRANSACTION" | "WORK"] => Statement::Commit,
            ["ROLLBACK" | "ABORT"] | ["ROLLBACK" | "ABORT", "TRANSACTION" | "WORK"] => {
                Statement::Rollback
            }
            ["SAVEPOINT", _] => Statement::Savepoint(ident(words[1])),
            ["ROLLBACK", "TO", "SAVEPOINT", _] => Statement::RollbackTo(ident(words[3])),
            ["ROLLBACK", "TO", _] => Statement::RollbackTo(ident(words[2])),
            ["RELEASE", "SAVEPOINT", _] => Statement::Release(ident(words[2])),
            ["RELEASE", _] => Statement::Release(ident(words[1])),
            ["PUT", _, _, ..] => {
                // The value is the rest of the line, as typed.
                let rest = sql.trim_start()[3..].trim_start();
                let value = rest[words[1].len()..].trim();
                Statement::Put(words[1].to_owned(), value.to_owned())
            }
            ["GET", _] => Statement::Get(words[1].to_owned()),
            ["DELETE", _] => Statement::Delete(words[1].to_owned()),
            ["KEYS"] => Statement::Keys,
            _ => return Err(syntax_error(sql)),
        })
    }

    /// Whether it returns rows.
    fn has_rows(&self) -> bool {
        matches!(self, Statement::Get(_) | Statement::Keys)
    }
}

fn warning(code: SqlState, message: &str) -> ErrorInfo {
    ErrorInfo::new(code, message.to_owned()).with_severity(Severity::Warning)
}

fn only_in_block(what: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::NO_ACTIVE_SQL_TRANSACTION,
        format!("{what} can only be used in transaction blocks"),
    )
}

fn no_savepoint(name: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INVALID_SAVEPOINT_SPECIFICATION,
        format!("savepoint \"{name}\" does not exist"),
    )
}

impl KvSession {
    /// Runs one statement with PostgreSQL's transaction rules.
    pub fn run(&mut self, session: &mut Session, stmt: &Statement) -> Response {
        match self.try_run(session, stmt) {
            Ok(r) => r,
            Err(e) => Response::Error(e),
        }
    }

    fn try_run(&mut self, session: &mut Session, stmt: &Statement) -> Result<Response, ErrorInfo> {
        let failed = session.transaction_status() == TransactionStatus::Failed;
        if failed
            && !matches!(
                stmt,
                Statement::Commit | Statement::Rollback | Statement::RollbackTo(_)
            )
        {
            return Err(ErrorInfo::new(
                SqlState::IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            ));
        }
        match stmt {
            Statement::Empty => Ok(Response::EmptyQuery),
            Statement::Begin(tag) => {
                if self.tx.is_some() {
                    session.send_notice(warning(
                        SqlState::ACTIVE_SQL_TRANSACTION,
                        "there is already a transaction in progress",
                    ));
                } else {
                    self.tx = Some(Transaction {
                        writes: BTreeMap::new(),
                        savepoints: Vec::new(),
                    });
                }
                if session.transaction_status() == TransactionStatus::Idle {
                    session.set_transaction_status(TransactionStatus::InTransaction);
                }
                Ok(Response::Execution(Tag::new(*tag)))
            }
            Statement::Commit => {
                session.set_transaction_status(TransactionStatus::Idle);
                let Some(tx) = self.tx.take() else {
                    session.send_notice(warning(
                        SqlState::NO_ACTIVE_SQL_TRANSACTION,
                        "there is no transaction in progress",
                    ));
                    return Ok(Response::Execution(Tag::new("COMMIT")));
                };
                if failed {
                    // COMMIT of a failed block rolls back, and says so.
                    return Ok(Response::Execution(Tag::new("ROLLBACK")));
                }
                let mut committed = self.committed.lock().unwrap_or_else(|e| e.into_inner());
                for (k, v) in tx.writes {
                    match v {
                        Some(v) => committed.insert(k, v),
                        None => committed.remove(&k),
                    };
                }
                Ok(Response::Execution(Tag::new("COMMIT")))
            }
            Statement::Rollback => {
                session.set_transaction_status(TransactionStatus::Idle);
                if self.tx.take().is_none() {
                    session.send_notice(warning(
                        SqlState::NO_ACTIVE_SQL_TRANSACTION,
                        "there is no transaction in progress",
                    ));
                }
                Ok(Response::Execution(Tag::new("ROLLBACK")))
            }
            Statement::Savepoint(name) => {
                let tx = self.tx.as_mut().ok_or_else(|| only_in_block("SAVEPOINT"))?;
                tx.savepoints.push((name.clone(), tx.writes.clone()));
                Ok(Response::Execution(Tag::new("SAVEPOINT")))
            }
            Statement::RollbackTo(name) => {
                let tx = self
                    .tx
                    .as_mut()
                    .ok_or_else(|| only_in_block("ROLLBACK TO SAVEPOINT"))?;
                let at = tx
                    .savepoints
                    .iter()
                    .rposition(|(n, _)| n == name)
                    .ok_or_else(|| no_savepoint(name))?;
                // The savepoint stays; the later ones go.
                tx.savepoints.truncate(at + 1);
                tx.writes = tx.savepoints[at].1.clone();
                // The block works again: report `T`, not `E`.
                session.set_transaction_status(TransactionStatus::InTransaction);
                Ok(Response::Execution(Tag::new("ROLLBACK")))
            }
            Statement::Release(name) => {
                let tx = self
                    .tx
                    .as_mut()
                    .ok_or_else(|| only_in_block("RELEASE SAVEPOINT"))?;
                let at = tx
                    .savepoints
                    .iter()
                    .rposition(|(n, _)| n == name)
                    .ok_or_else(|| no_savepoint(name))?;
                tx.savepoints.truncate(at);
                Ok(Response::Execution(Tag::new("RELEASE")))
            }
            Statement::Put(k, v) => {
                self.write(k, Some(v.clone()));
                Ok(Response::Execution(Tag::new("PUT").with_rows(1)))
            }
            Statement::Delete(k) => {
                let existed = self.read(k).is_some();
                self.write(k, None);
                Ok(Response::Execution(
                    Tag::new("DELETE").with_rows(existed as u64),
                ))
            }
            Statement::Get(k) => {
                let rows: Vec<(String, String)> =
                    self.read(k).map(|v| (k.clone(), v)).into_iter().collect();
                Ok(self.rows(rows))
            }
            Statement::Keys => {
                let mut all = self
                    .committed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                if let Some(tx) = &self.tx {
                    for (k, v) in &tx.writes {
                        match v {
                            Some(v) => all.insert(k.clone(), v.clone()),
                            None => all.remove(k),
                        };
                    }
                }
                Ok(self.rows(all.into_iter().collect()))
            }
        }
    }

    fn rows(&self, rows: Vec<(String, String)>) -> Response {
        Response::Query(QueryResponse::new(
            self.schema.clone(),
            Rows::from_iterator(rows),
        ))
    }

    /// The value this session sees: its own writes first.
    fn read(&self, key: &str) -> Option<String> {
        if let Some(w) = self.tx.as_ref().and_then(|tx| tx.writes.get(key)) {
            return w.clone();
        }
        self.committed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    /// A write: kept in the block, or applied at once outside one.
    fn write(&mut self, key: &str, value: Option<String>) {
        if let Some(tx) = &mut self.tx {
            tx.writes.insert(key.to_owned(), value);
            return;
        }
        let mut committed = self.committed.lock().unwrap_or_else(|e| e.into_inner());
        match value {
            Some(v) => committed.insert(key.to_owned(), v),
            None => committed.remove(key),
        };
    }
}

impl SimpleQueryHandler for KvSession {
    async fn do_query(&mut self, session: &mut Session, query: &str) -> Responses {
        let mut out = Responses::new();
        for sql in query.split(';') {
            if sql.trim().is_empty() {
                continue;
            }
            let response = match Statement::parse(sql) {
                Ok(stmt) => self.run(session, &stmt),
                Err(e) => Response::Error(e),
            };
            let stop = matches!(response, Response::Error(_));
            out.push(response);
            if stop {
                break;
            }
        }
        out
    }
}

impl ExtendedQueryHandler for KvSession {
    type Statement = Statement;

    async fn parse_sql(
        &mut self,
        _session: &mut Session,
        sql: &str,
        _param_types: &[u32],
    ) -> Result<Statement, ErrorInfo> {
        Statement::parse(sql.trim().trim_end_matches(';'))
    }

    async fn do_describe_statement(
        &mut self,
        _session: &mut Session,
        statement: &StoredStatement<Statement>,
    ) -> Result<StatementDescription, ErrorInfo> {
        let fields = statement
            .statement()
            .has_rows()
            .then(|| self.schema.clone());
        Ok(StatementDescription::new(vec![], fields))
    }

    async fn do_describe_portal(
        &mut self,
        _session: &mut Session,
        portal: &Portal<Statement>,
    ) -> Result<Option<Schema>, ErrorInfo> {
        Ok(portal
            .statement()
            .statement()
            .has_rows()
            .then(|| self.schema.clone()))
    }

    async fn do_query(
        &mut self,
        session: &mut Session,
        portal: &Portal<Statement>,
        _max_rows: usize,
    ) -> Response {
        self.run(session, portal.statement().statement())
    }

    fn parameter_count(&self, _statement: &Statement) -> Option<usize> {
        Some(0)
    }
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:5434").await?;
    println!("listening on {}", listener.local_addr()?);
    Server::new(KvServer::new(), ServerConfig::default())
        .serve(listener)
        .await
}
