//! The simple query protocol: a query string of one or more statements,
//! run in order until the first error.

use pgwire::api::{CancelToken, QueryResponse, Response, Session, SimpleQueryHandler};
use pgwire::messages::{FormatCodes, TransactionStatus};

use super::SqliteSession;
use super::engine::{Outcome, Run, Source};
use super::session_commands::{Command, classify};
use super::sql::split_statements;

impl SqliteSession {
    /// Runs a statement on the worker and turns the outcome into a
    /// response.
    pub(super) async fn run_sql(&self, cancel: &CancelToken, run: Run) -> Response {
        let outcome = self
            .engine
            .call_with_reply(Some(cancel), move |db, reply| db.run(run, reply))
            .await;
        match outcome {
            Ok(Ok(Outcome::Rows {
                schema,
                rows,
                command,
            })) => Response::Query(QueryResponse::new(schema, rows).with_command(command)),
            Ok(Ok(Outcome::Done(tag))) => Response::Execution(tag),
            Ok(Err(e)) | Err(e) => Response::Error(e),
        }
    }
}

impl SimpleQueryHandler for SqliteSession {
    async fn do_query(&mut self, session: &mut Session, query: &str) -> Vec<Response> {
        tracing::debug!(query, "simple query");
        let statements = split_statements(query);
        if statements.is_empty() {
            return vec![Response::EmptyQuery];
        }
        let commands: Vec<Command> = statements.iter().map(|s| classify(s)).collect();
        // Outside a block, PostgreSQL runs the statements of one query
        // string as one transaction: all or nothing. A string that
        // controls transactions itself is left to do so.
        let implicit = statements.len() > 1
            && session.transaction_status() == TransactionStatus::Idle
            && !commands.iter().any(Command::is_transaction_control);
        let cancel = session.cancel_token();
        let mut out = Vec::with_capacity(statements.len());
        // The implicit transaction may be open on the worker.
        let mut implicit_open = false;
        let mut failed = false;
        for (i, (text, cmd)) in statements.iter().zip(&commands).enumerate() {
            let last = i + 1 == statements.len();
            if let Err(e) = Self::check_not_failed(session, cmd) {
                out.push(Response::Error(e));
                failed = true;
                break;
            }
            let response = if *cmd == Command::Sql {
                let run = Run {
                    source: Source::Text((*text).to_owned()),
                    params: Vec::new(),
                    formats: FormatCodes::new(),
                    // Only the last statement's rows can stream: the
                    // worker must be free to run the next one.
                    stream: last,
                    begin_implicit: implicit,
                    commit_implicit: implicit && last,
                };
                implicit_open = implicit && !last;
                self.drop_if_exists_notices(session, text).await;
                self.run_sql(&cancel, run).await
            } else if let Command::Copy(c) = cmd {
                self.copy_command(session, c, last).await
            } else {
                self.run_command(session, cmd).await
            };
            let is_error = matches!(response, Response::Error(_));
            out.push(response);
            if is_error {
                failed = true;
                break;
            }
        }
        if implicit_open {
            let ended = self
                .engine
                .call(None, move |db| db.end_implicit(!failed))
                .await
                .and_then(|r| r);
            if let Err(e) = ended {
                if !failed {
                    failed = true;
                    out.push(Response::Error(e));
                }
            }
        }
        // Outside a block, the query string was the transaction: its
        // notifications go now, or never.
        if session.transaction_status() == TransactionStatus::Idle {
            self.notifier.end_transaction(!failed);
        }
        out
    }
}
