//! Transaction control with PostgreSQL's rules on top of SQLite's
//! transactions: `BEGIN` inside a block warns, `COMMIT` of a failed block
//! rolls back and says `ROLLBACK`, `ROLLBACK TO SAVEPOINT` recovers a
//! failed block, and every other statement in a failed block gets 25P02.
//!
//! The session's transaction status (what ReadyForQuery reports) is the
//! source of truth for "in a block" and "failed"; it is updated here as
//! statements run, so that the statements after a `BEGIN` in the same
//! query string see the block.

use pgwire::api::{Response, Session, Tag};
use pgwire::error::{ErrorInfo, Severity, SqlState};
use pgwire::messages::{FormatCodes, TransactionStatus};

use super::SqliteSession;
use super::session_commands::{self, Command};
use super::sql::quote_ident;

/// PostgreSQL's error for a statement in a failed transaction block.
pub fn in_failed_transaction() -> ErrorInfo {
    ErrorInfo::new(
        SqlState::IN_FAILED_SQL_TRANSACTION,
        "current transaction is aborted, commands ignored until end of transaction block",
    )
}

fn warning(code: SqlState, message: &'static str) -> ErrorInfo {
    ErrorInfo::new(code, message).with_severity(Severity::Warning)
}

fn outside_block(what: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::NO_ACTIVE_SQL_TRANSACTION,
        format!("{what} can only be used in transaction blocks"),
    )
}

impl SqliteSession {
    /// Fails with 25P02 if the block has failed and `cmd` does not end it.
    pub(super) fn check_not_failed(session: &Session, cmd: &Command) -> Result<(), ErrorInfo> {
        if session.transaction_status() == TransactionStatus::Failed && !cmd.allowed_when_failed() {
            return Err(in_failed_transaction());
        }
        Ok(())
    }

    /// Runs a statement that is not plain SQL: transaction control, session
    /// commands, TRUNCATE.
    pub(super) async fn run_command(&mut self, session: &mut Session, cmd: &Command) -> Response {
        let status = session.transaction_status();
        let in_block = status != TransactionStatus::Idle;
        let cancel = session.cancel_token();
        let result: Result<Response, ErrorInfo> = match cmd {
            Command::Begin {
                read_only,
                sqlite,
                tag,
            } => {
                if in_block {
                    session.send_notice(warning(
                        SqlState::ACTIVE_SQL_TRANSACTION,
                        "there is already a transaction in progress",
                    ));
                    return Response::Execution(Tag::new(*tag));
                }
                let read_only = *read_only || self.settings.default_read_only;
                let sqlite = *sqlite;
                let began = self
                    .engine
                    .call(Some(&cancel), move |db| {
                        if db.implicit && db.in_transaction() {
                            // Statements of this pipeline already ran in an
                            // implicit transaction: it becomes the block.
                            db.implicit = false;
                        } else {
                            db.batch(sqlite)?;
                        }
                        if read_only {
                            db.batch("PRAGMA query_only = 1")?;
                        }
                        Ok::<_, ErrorInfo>(())
                    })
                    .await
                    .and_then(|r| r);
                began.map(|()| {
                    self.tx.read_only = read_only;
                    self.tx.implicit = false;
                    session.set_transaction_status(TransactionStatus::InTransaction);
                    Response::Execution(Tag::new(*tag))
                })
            }
            Command::Commit | Command::Rollback => {
                let is_commit = *cmd == Command::Commit;
                let commit = is_commit && status == TransactionStatus::InTransaction;
                let read_only = std::mem::take(&mut self.tx.read_only);
                self.tx.implicit = false;
                let ended = self
                    .engine
                    .call(Some(&cancel), move |db| {
                        let r = if !in_block {
                            // COMMIT/ROLLBACK ends an implicit transaction of
                            // the extended protocol, if any.
                            db.end_implicit(is_commit)
                        } else if db.in_transaction() {
                            if commit {
                                db.batch("COMMIT").inspect_err(|_| {
                                    let _ = db.batch("ROLLBACK");
                                })
                            } else {
                                db.batch("ROLLBACK")
                            }
                        } else {
                            Ok(())
                        };
                        if read_only {
                            let _ = db.batch("PRAGMA query_only = 0");
                        }
                        r
                    })
                    .await
                    .and_then(|r| r);
                // Whatever happened, the block is over (PostgreSQL's status
                // after a failed COMMIT is idle too), and its cursors.
                session.set_transaction_status(TransactionStatus::Idle);
                self.cursors.end_transaction(commit && ended.is_ok());
                self.notifier.end_transaction(commit && ended.is_ok());
                if !in_block {
                    session.send_notice(warning(
                        SqlState::NO_ACTIVE_SQL_TRANSACTION,
                        "there is no transaction in progress",
                    ));
                }
                let tag = if is_commit && status != TransactionStatus::Failed {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                };
                ended.map(|()| Response::Execution(Tag::new(tag)))
            }
            Command::Savepoint(name) | Command::Release(name) | Command::RollbackTo(name) => {
                let (what, sql, tag) = match cmd {
                    Command::Savepoint(_) => ("SAVEPOINT", "SAVEPOINT", "SAVEPOINT"),
                    Command::Release(_) => ("RELEASE SAVEPOINT", "RELEASE", "RELEASE"),
                    _ => ("ROLLBACK TO SAVEPOINT", "ROLLBACK TO", "ROLLBACK"),
                };
                if !in_block {
                    return outside_block(what).into();
                }
                let sql = format!("{sql} {}", quote_ident(name));
                let done = self
                    .engine
                    .call(Some(&cancel), move |db| db.batch(&sql))
                    .await
                    .and_then(|r| r);
                done.map(|()| {
                    match cmd {
                        Command::Savepoint(name) => self.cursors.savepoint(name),
                        Command::Release(name) => self.cursors.release(name),
                        _ => {
                            self.cursors.rollback_to(name);
                            session.set_transaction_status(TransactionStatus::InTransaction);
                        }
                    }
                    Response::Execution(Tag::new(tag))
                })
            }
            Command::SetTransaction { read_only, current } => {
                if *current {
                    if !in_block {
                        session.send_notice(warning(
                            SqlState::NO_ACTIVE_SQL_TRANSACTION,
                            "SET TRANSACTION can only be used in transaction blocks",
                        ));
                    } else if let Some(ro) = *read_only {
                        let sql = if ro {
                            "PRAGMA query_only = 1"
                        } else {
                            "PRAGMA query_only = 0"
                        };
                        if let Err(e) = self
                            .engine
                            .call(None, move |db| db.batch(sql))
                            .await
                            .and_then(|r| r)
                        {
                            return e.into();
                        }
                        self.tx.read_only = ro;
                    }
                } else if let Some(ro) = *read_only {
                    self.settings.default_read_only = ro;
                    session.set_parameter(
                        "default_transaction_read_only",
                        if ro { "on" } else { "off" },
                    );
                }
                Ok(Response::Execution(Tag::new("SET")))
            }
            Command::Truncate(tables) => {
                let sql: String = tables
                    .iter()
                    .map(|t| format!("DELETE FROM {};", quote_ident(t)))
                    .collect();
                let begin = !in_block;
                let tables = tables.clone();
                self.engine
                    .call(Some(&cancel), move |db| {
                        // All tables or none, as one statement.
                        // Published tables log one truncate each instead
                        // of a delete per row (publisher.rs).
                        let own = begin && !db.in_transaction();
                        if own {
                            db.batch("BEGIN")?;
                        }
                        let done = super::publisher::truncate(&db.conn, &tables, &sql)
                            .map_err(|e| db.error(&e));
                        match (own, done) {
                            (false, done) => done,
                            (true, Ok(())) => db.batch("COMMIT").inspect_err(|_| {
                                let _ = db.batch("ROLLBACK");
                            }),
                            (true, Err(e)) => {
                                let _ = db.batch("ROLLBACK");
                                Err(e)
                            }
                        }
                    })
                    .await
                    .and_then(|r| r)
                    .map(|()| Response::Execution(Tag::new("TRUNCATE TABLE")))
            }
            Command::Notify(n, notice) => {
                return self.notifier.run(session, n, notice.as_deref(), in_block);
            }
            Command::Copy(c) => return self.copy_command(session, c, true).await,
            Command::Declare(d) => match d.as_ref() {
                Ok(d) => {
                    return self
                        .declare_cursor(session, d, Vec::new(), Vec::new())
                        .await;
                }
                Err(e) => Err(e.clone()),
            },
            Command::Fetch(f) => match f.as_ref() {
                Ok(f) => return self.fetch_cursor(session, f, FormatCodes::new()).await,
                Err(e) => Err(e.clone()),
            },
            Command::CloseCursor(c) => match c {
                Ok(name) => return self.close_cursor(name.as_deref()).await,
                Err(e) => Err(e.clone()),
            },
            Command::Publisher(p) => return self.publisher_command(session, p).await,
            Command::Sql => Err(ErrorInfo::new(
                SqlState::INTERNAL_ERROR,
                "plain SQL is not a command",
            )),
            other => {
                return session_commands::run(
                    session,
                    &self.settings,
                    other,
                    in_block,
                    self.tx.read_only,
                );
            }
        };
        result.unwrap_or_else(Response::Error)
    }
}
