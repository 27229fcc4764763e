//! A small scripted engine for protocol tests (no SQL): each statement is
//! a command.
//!
//! Commands: `select N` (one int4 column), `series N` (N int8 rows),
//! `begin`/`start`/`commit`/`rollback`, `fail` (error 42601), `fatal`
//! (FATAL), `notice` (a NoticeResponse then `DO`), `wait` (runs until
//! cancelled), `sleep MS`, `echo $1` (extended: returns parameter 1 as int4),
//! `copy_in` (COPY FROM STDIN of text lines, `copy_in fail` rejects data),
//! `copied` (the lines of the last COPY IN), `copy_out N` (COPY TO STDOUT of
//! N lines), `listen CH`, `notify CH PAYLOAD`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use pgwire::api::{CopyFormat, CopyIn, CopyOut, SessionHandle};
use pgwire::api::{CopySupport, ExtendedQuerySupport, UseCopyHandler, UseExtendedQueryHandler};
use pgwire::messages::TransactionStatus;

use pgwire::api::{
    CopyHandler, ExtendedQueryHandler, Portal, QueryResponse, Response, Responses, Rows,
    ServerHandlers, Session, SimpleQueryHandler, StatementDescription, StoredStatement, Tag,
};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::types::{FieldInfo, Schema, Type};

/// The server-wide state: who listens to which channel.
#[derive(Default, Clone)]
pub struct Scripted {
    listeners: Arc<Mutex<HashMap<String, Vec<SessionHandle>>>>,
}

pub struct ScriptedConn {
    int4: Schema,
    int8: Schema,
    text: Schema,
    listeners: Arc<Mutex<HashMap<String, Vec<SessionHandle>>>>,
    /// COPY IN in progress: lines received so far, and whether to reject.
    copy_buf: Vec<u8>,
    copy_reject: bool,
    copied: Vec<String>,
    /// Statements of the query string after a COPY IN, run once its data
    /// is in.
    after_copy: Vec<String>,
}

impl ServerHandlers for Scripted {
    type Handler = ScriptedConn;

    fn extended_query() -> impl ExtendedQuerySupport<Self::Handler> {
        UseExtendedQueryHandler
    }

    fn copy() -> impl CopySupport<Self::Handler> {
        UseCopyHandler
    }

    async fn connect(&self, session: &mut Session) -> Result<ScriptedConn, ErrorInfo> {
        if session.client().database() == "missing" {
            return Err(ErrorInfo::new(
                SqlState::INVALID_CATALOG_NAME,
                "database \"missing\" does not exist",
            ));
        }
        Ok(ScriptedConn {
            int4: Arc::from(vec![FieldInfo::new("?column?", Type::INT4)]),
            int8: Arc::from(vec![FieldInfo::new("n", Type::INT8)]),
            text: Arc::from(vec![FieldInfo::new("line", Type::TEXT)]),
            listeners: self.listeners.clone(),
            copy_buf: Vec::new(),
            copy_reject: false,
            copied: Vec::new(),
            after_copy: Vec::new(),
        })
    }
}

impl ScriptedConn {
    async fn run(&mut self, session: &mut Session, stmt: &str, param: Option<i32>) -> Response {
        let mut words = stmt.split_whitespace();
        let cmd = words.next().unwrap_or("").to_ascii_lowercase();
        let arg = words.next();
        match cmd.as_str() {
            "select" => match arg.and_then(|a| a.parse::<i32>().ok()) {
                Some(n) => Response::Query(QueryResponse::new(
                    self.int4.clone(),
                    Rows::from_iterator([(n,)]),
                )),
                None => ErrorInfo::new(SqlState::SYNTAX_ERROR, "bad select").into(),
            },
            "echo" => Response::Query(QueryResponse::new(
                self.int4.clone(),
                Rows::from_iterator([(param,)]),
            )),
            "series" => {
                let n: i64 = arg.and_then(|a| a.parse().ok()).unwrap_or(0);
                Response::Query(QueryResponse::new(
                    self.int8.clone(),
                    Rows::from_iterator((1..=n).map(|i| (i,))),
                ))
            }
            "begin" | "start" => {
                if session.transaction_status() == TransactionStatus::Idle {
                    session.set_transaction_status(TransactionStatus::InTransaction);
                }
                Response::Execution(Tag::new("BEGIN"))
            }
            "commit" | "rollback" => {
                session.set_transaction_status(TransactionStatus::Idle);
                Response::Execution(Tag::new(if cmd == "commit" {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                }))
            }
            "fail" => {
                ErrorInfo::new(SqlState::SYNTAX_ERROR, "syntax error at or near \"fail\"").into()
            }
            "fatal" => ErrorInfo::fatal(SqlState::ADMIN_SHUTDOWN, "going away").into(),
            "notice" => {
                session.send_notice(ErrorInfo::notice("hello from the handler"));
                Response::Execution(Tag::new("DO"))
            }
            "sleep" => {
                let ms: u64 = arg.and_then(|a| a.parse().ok()).unwrap_or(0);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                Response::Execution(Tag::new("SLEEP"))
            }
            "wait" => {
                session.cancel_token().cancelled().await;
                ErrorInfo::query_canceled().into()
            }
            "copy_in" => {
                self.copy_buf.clear();
                self.copy_reject = arg == Some("fail");
                Response::CopyIn(CopyIn::new(CopyFormat::text(1)))
            }
            "copied" => Response::Query(QueryResponse::new(
                self.text.clone(),
                Rows::from_iterator(self.copied.clone().into_iter().map(|l| (l,))),
            )),
            "copy_out" => {
                let n: u64 = arg.and_then(|a| a.parse().ok()).unwrap_or(0);
                let lines = (1..=n).map(|i| Ok::<_, ErrorInfo>(Bytes::from(format!("{i}\n"))));
                Response::CopyOut(CopyOut::new(
                    CopyFormat::text(1),
                    futures_util::stream::iter(lines),
                ))
            }
            "listen" => {
                let channel = arg.unwrap_or("").to_owned();
                let mut l = self.listeners.lock().unwrap();
                l.entry(channel).or_default().push(session.handle());
                Response::Execution(Tag::new("LISTEN"))
            }
            "notify" => {
                let channel = arg.unwrap_or("");
                let payload = words.next().unwrap_or("");
                let pid = session.client().process_id();
                let l = self.listeners.lock().unwrap();
                for h in l.get(channel).into_iter().flatten() {
                    let _ = h.notify(pid, channel, payload);
                }
                Response::Execution(Tag::new("NOTIFY"))
            }
            _ => ErrorInfo::new(SqlState::SYNTAX_ERROR, format!("unknown command {cmd}")).into(),
        }
    }
}

impl SimpleQueryHandler for ScriptedConn {
    async fn do_query(&mut self, session: &mut Session, query: &str) -> Responses {
        self.after_copy = query
            .split(';')
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
            .collect();
        self.do_query_after_copy(session).await
    }

    async fn do_query_after_copy(&mut self, session: &mut Session) -> Responses {
        let mut out = Responses::new();
        let statements = std::mem::take(&mut self.after_copy);
        let mut statements = statements.into_iter();
        for stmt in statements.by_ref() {
            let r = self.run(session, &stmt, None).await;
            let stop = matches!(r, Response::Error(_) | Response::CopyIn(_));
            out.push(r);
            if stop {
                break;
            }
        }
        self.after_copy = statements.collect();
        out
    }
}

impl ExtendedQueryHandler for ScriptedConn {
    type Statement = String;

    async fn parse_sql(
        &mut self,
        _: &mut Session,
        sql: &str,
        _: &[u32],
    ) -> Result<String, ErrorInfo> {
        if sql.trim() == "bad" {
            return Err(ErrorInfo::new(
                SqlState::SYNTAX_ERROR,
                "syntax error at or near \"bad\"",
            ));
        }
        Ok(sql.to_owned())
    }

    fn parameter_count(&self, sql: &String) -> Option<usize> {
        Some(if sql.contains("$1") { 1 } else { 0 })
    }

    async fn do_describe_statement(
        &mut self,
        _: &mut Session,
        stmt: &StoredStatement<String>,
    ) -> Result<StatementDescription, ErrorInfo> {
        let sql = stmt.statement().to_ascii_lowercase();
        let params = if sql.contains("$1") {
            vec![Type::INT4]
        } else {
            vec![]
        };
        let fields = if sql.starts_with("series") {
            Some(self.int8.clone())
        } else if sql.starts_with("select") || sql.starts_with("echo") {
            Some(self.int4.clone())
        } else {
            None
        };
        Ok(StatementDescription::new(params, fields))
    }

    async fn do_describe_portal(
        &mut self,
        s: &mut Session,
        portal: &Portal<String>,
    ) -> Result<Option<Schema>, ErrorInfo> {
        Ok(self
            .do_describe_statement(s, portal.statement())
            .await?
            .fields)
    }

    async fn do_query(
        &mut self,
        session: &mut Session,
        portal: &Portal<String>,
        _: usize,
    ) -> Response {
        let sql = portal.statement().statement().clone();
        let param = if sql.contains("$1") {
            if let Err(e) = portal.check_param_count(1) {
                return e.into();
            }
            let mut scratch = bytes::BytesMut::new();
            match portal.parameter::<i32>(0, &Type::INT4, &mut scratch) {
                Ok(v) => v,
                Err(e) => return e.into(),
            }
        } else {
            None
        };
        self.run(session, &sql, param).await
    }
}

impl CopyHandler for ScriptedConn {
    async fn copy_data(&mut self, _: &mut Session, data: Bytes) -> Result<(), ErrorInfo> {
        if self.copy_reject {
            return Err(ErrorInfo::new(
                SqlState::BAD_COPY_FILE_FORMAT,
                "rejected by the test",
            ));
        }
        self.copy_buf.extend_from_slice(&data);
        Ok(())
    }

    async fn copy_done(&mut self, _: &mut Session) -> Result<Tag, ErrorInfo> {
        let text = String::from_utf8_lossy(&self.copy_buf).into_owned();
        self.copied = text.lines().map(str::to_owned).collect();
        Ok(Tag::new("COPY").with_rows(self.copied.len() as u64))
    }

    async fn copy_fail(&mut self, _: &mut Session, message: &str) -> ErrorInfo {
        self.copy_buf.clear();
        ErrorInfo::new(
            SqlState::QUERY_CANCELED,
            format!("COPY from stdin failed: {message}"),
        )
    }
}
