//! The simple query protocol: a query string of one or more statements,
//! run in order until the first error.

use pgwire::api::{
    CancelToken, QueryResponse, Response, Responses, Session, SimpleQueryHandler, Tag,
};
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
            })) => {
                Response::Query(QueryResponse::new(schema, rows).with_tag(Tag::counting(command)))
            }
            Ok(Ok(Outcome::Done(tag))) => Response::Execution(tag),
            Ok(Err(e)) | Err(e) => Response::Error(e),
        }
    }
}

impl SimpleQueryHandler for SqliteSession {
    async fn do_query(&mut self, session: &mut Session, query: &str) -> Responses {
        tracing::debug!(query, "simple query");
        // What a failed COPY left behind is not to be run.
        self.after_copy.clear();
        let statements: Vec<String> = split_statements(query)
            .into_iter()
            .map(str::to_owned)
            .collect();
        if statements.is_empty() {
            return Response::EmptyQuery.into();
        }
        self.run_statements(session, statements).await
    }

    async fn do_query_after_copy(&mut self, session: &mut Session) -> Responses {
        let rest = std::mem::take(&mut self.after_copy);
        if rest.is_empty() {
            // The COPY ended the query string, and its transaction.
            if session.transaction_status() == TransactionStatus::Idle {
                self.notifier.end_transaction(true);
            }
            return Responses::new();
        }
        self.run_statements(session, rest).await
    }
}

impl SqliteSession {
    /// Runs statements of one query string until the first error, or until
    /// a COPY FROM STDIN: the statements after it wait in `after_copy`
    /// for its data.
    async fn run_statements(
        &mut self,
        session: &mut Session,
        statements: Vec<String>,
    ) -> Responses {
        let commands: Vec<Command> = statements.iter().map(|s| classify(s)).collect();
        let copies_in = commands.iter().any(
            |c| matches!(c, Command::Copy(copy) if copy.as_ref().as_ref().is_ok_and(|c| c.from)),
        );
        // Outside a block, PostgreSQL runs the statements of one query
        // string as one transaction: all or nothing. A string that
        // controls transactions itself is left to do so, and so is one with
        // a COPY FROM STDIN, whose data arrives between its statements
        // (each statement commits on its own there).
        let implicit = statements.len() > 1
            && session.transaction_status() == TransactionStatus::Idle
            && !copies_in
            && !commands.iter().any(Command::is_transaction_control);
        let cancel = session.cancel_token();
        let mut out = Responses::new();
        // The implicit transaction may be open on the worker.
        let mut implicit_open = false;
        let mut failed = false;
        let mut copy_pending = false;
        for (i, (text, cmd)) in statements.iter().zip(&commands).enumerate() {
            let last = i + 1 == statements.len();
            if let Err(e) = Self::check_not_failed(session, cmd) {
                out.push(Response::Error(e));
                failed = true;
                break;
            }
            let response = if *cmd == Command::Sql {
                let run = Run {
                    source: Source::Text(text.clone()),
                    params: Vec::new(),
                    formats: FormatCodes::new(),
                    // Only the last statement's rows can stream: the
                    // worker must be free to run the next one.
                    stream: last,
                    begin_implicit: implicit,
                    commit_implicit: implicit && last,
                    settings: session.format_settings().clone(),
                    window: None,
                };
                implicit_open = implicit && !last;
                self.drop_if_exists_notices(session, text).await;
                self.run_sql(&cancel, run).await
            } else if let Command::Copy(c) = cmd {
                let copy_in = c.as_ref().as_ref().is_ok_and(|c| c.from);
                // A COPY FROM ends this round: what follows runs once
                // its data is in.
                let response = self.copy_command(session, c, last || copy_in).await;
                if copy_in && matches!(response, Response::CopyIn(_)) {
                    self.after_copy = statements[i + 1..].to_vec();
                    copy_pending = true;
                }
                response
            } else {
                self.run_command(session, cmd).await
            };
            let is_error = matches!(response, Response::Error(_));
            out.push(response);
            if is_error {
                failed = true;
                break;
            }
            if copy_pending {
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
        // notifications go now, or never (after a COPY, they wait for the
        // rest of the string).
        if !copy_pending && session.transaction_status() == TransactionStatus::Idle {
            self.notifier.end_transaction(!failed);
        }
        out
    }
}
