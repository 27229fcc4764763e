//! The extended query protocol: statements parsed and described once at
//! Parse, run with bound parameters at Execute, and the implicit
//! transaction of a pipeline ended at Sync.

use std::sync::Arc;

use pgwire::api::{
    ExtendedQueryHandler, Portal, Response, Session, StatementDescription, StoredStatement,
};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::messages::{Oid, TransactionStatus};
use pgwire::types::{Schema, Type};

use super::SqliteSession;
use super::describe::{self, Prepared};
use super::engine::{Run, Source};
use super::session_commands::{self, Command, classify};
use super::sql::split_statements;
use super::types::{assign_integer, decode_param};

/// A parsed statement.
#[derive(Debug)]
pub enum Statement {
    /// SQL for SQLite, prepared and described.
    Sql(Arc<Prepared>),
    /// A statement the server answers itself.
    Command(Command),
    /// `FETCH`, with the columns of its cursor at Parse.
    Fetch(Command, Option<Schema>),
    /// `DECLARE`, with the parameter types of its query.
    Declare(Command, Vec<Type>),
    /// Nothing but spaces and comments.
    Empty,
}

/// The parameter types and result columns of a statement.
pub(super) fn description(statement: &Statement, declared: &[Oid]) -> (Vec<Type>, Option<Schema>) {
    let (mut params, fields) = match statement {
        Statement::Sql(p) => (p.params.clone(), p.schema.clone()),
        Statement::Command(c) => (
            session_commands::param_types(c),
            session_commands::describe(c),
        ),
        Statement::Fetch(_, schema) => (Vec::new(), schema.clone()),
        Statement::Declare(_, params) => (params.clone(), None),
        Statement::Empty => (Vec::new(), None),
    };
    // Parameters the client declared but the statement does not use are
    // still described, as PostgreSQL does.
    for (i, &oid) in declared.iter().enumerate().skip(params.len()) {
        let _ = i;
        params.push(Type::from_oid(oid).unwrap_or(Type::TEXT));
    }
    (params, fields)
}

impl ExtendedQueryHandler for SqliteSession {
    type Statement = Statement;

    async fn parse_sql(
        &mut self,
        session: &mut Session,
        sql: &str,
        param_types: &[Oid],
    ) -> Result<Statement, ErrorInfo> {
        tracing::debug!(sql, ?param_types, "parse");
        let statements = split_statements(sql);
        let text = match statements[..] {
            [] => return Ok(Statement::Empty),
            [one] => one.to_owned(),
            _ => {
                return Err(ErrorInfo::new(
                    SqlState::SYNTAX_ERROR,
                    "cannot insert multiple commands into a prepared statement",
                ));
            }
        };
        let cmd = classify(&text);
        Self::check_not_failed(session, &cmd)?;
        if let Command::Fetch(f) = &cmd
            && let Ok(f) = f.as_ref()
            && !f.only_move()
        {
            let schema = self.cursors.schema(f.name())?;
            return Ok(Statement::Fetch(cmd, schema));
        }
        if let Command::Declare(d) = &cmd
            && let Ok(d) = d.as_ref()
        {
            let declared = param_types
                .iter()
                .map(|&oid| if oid == 0 { None } else { Type::from_oid(oid) })
                .collect();
            let types = self.declare_param_types(d, declared).await?;
            return Ok(Statement::Declare(cmd, types));
        }
        if cmd != Command::Sql {
            return Ok(Statement::Command(cmd));
        }
        let declared: Vec<Option<Type>> = param_types
            .iter()
            .map(|&oid| if oid == 0 { None } else { Type::from_oid(oid) })
            .collect();
        let prepared = self
            .engine
            .call(None, move |db| {
                describe::prepare(&db.conn, &text, &declared)
            })
            .await??;
        Ok(Statement::Sql(Arc::new(prepared)))
    }

    fn parameter_count(&self, statement: &Statement) -> Option<usize> {
        // Checked by the server at Bind, as PostgreSQL does.
        match statement {
            Statement::Sql(p) => Some(p.params.len()),
            Statement::Empty => Some(0),
            Statement::Declare(_, params) => Some(params.len()),
            Statement::Command(_) | Statement::Fetch(..) => None,
        }
    }

    async fn do_describe_statement(
        &mut self,
        _session: &mut Session,
        statement: &StoredStatement<Statement>,
    ) -> Result<StatementDescription, ErrorInfo> {
        let (params, fields) = description(statement.statement(), statement.param_types());
        Ok(StatementDescription::new(params, fields))
    }

    async fn do_describe_cursor(
        &mut self,
        _: &mut Session,
        name: &str,
    ) -> Result<Option<Schema>, ErrorInfo> {
        // An SQL cursor is a portal too (psycopg's named cursors describe
        // it); no cursor of that name is "no such portal".
        Ok(self.cursors.schema(name).ok().flatten())
    }

    async fn do_describe_portal(
        &mut self,
        _session: &mut Session,
        portal: &Portal<Statement>,
    ) -> Result<Option<Schema>, ErrorInfo> {
        Ok(description(portal.statement().statement(), &[]).1)
    }

    async fn do_query(
        &mut self,
        session: &mut Session,
        portal: &Portal<Statement>,
        max_rows: usize,
    ) -> Response {
        self.execute(session, portal.statement().statement(), portal, max_rows)
            .await
    }

    async fn on_sync(&mut self, session: &mut Session, failed: bool) -> Result<(), ErrorInfo> {
        let ended = if std::mem::take(&mut self.tx.implicit) {
            self.engine
                .call(None, move |db| db.end_implicit(!failed))
                .await
                .and_then(|r| r)
        } else {
            Ok(())
        };
        // NOTIFY outside a block is delivered when its transaction ends.
        if session.transaction_status() == TransactionStatus::Idle {
            self.notifier.end_transaction(!failed && ended.is_ok());
        }
        ended
    }
}

impl SqliteSession {
    /// Runs `statement` with the parameters and result formats of
    /// `portal` (a portal of this server's, or of a server hosting this
    /// one's statements: `hosted.rs`).
    pub(super) async fn execute<S>(
        &mut self,
        session: &mut Session,
        statement: &Statement,
        portal: &Portal<S>,
        max_rows: usize,
    ) -> Response {
        let prepared = match statement {
            Statement::Empty => return Response::EmptyQuery,
            Statement::Command(cmd) => {
                if let Err(e) = Self::check_not_failed(session, cmd) {
                    return e.into();
                }
                if *cmd == Command::TypeInfo {
                    let oids = portal.parameter::<Vec<u32>>(0, &Type::OID_ARRAY, &mut self.scratch);
                    return match oids {
                        Ok(oids) => session_commands::type_info(&oids.unwrap_or_default()),
                        Err(e) => e.into(),
                    };
                }
                return self.run_command(session, cmd).await;
            }
            Statement::Fetch(Command::Fetch(f), _) => {
                if let Err(e) = Self::check_not_failed(session, &Command::Sql) {
                    return e.into();
                }
                return match f.as_ref() {
                    Ok(f) => {
                        self.fetch_cursor(session, f, portal.result_formats().clone())
                            .await
                    }
                    Err(e) => e.clone().into(),
                };
            }
            Statement::Fetch(cmd, _) => return self.run_command(session, cmd).await,
            Statement::Declare(Command::Declare(d), types) => {
                if let Err(e) = Self::check_not_failed(session, &Command::Sql) {
                    return e.into();
                }
                let Ok(d) = d.as_ref() else {
                    return self
                        .run_command(session, &Command::Declare(d.clone()))
                        .await;
                };
                let mut params = Vec::with_capacity(types.len());
                for (i, ty) in types.iter().enumerate() {
                    match decode_param(portal, i, ty, &mut self.scratch) {
                        Ok(v) => params.push(v),
                        Err(e) => return e.into(),
                    }
                }
                return self.declare_cursor(session, d, params, types.clone()).await;
            }
            Statement::Declare(cmd, _) => return self.run_command(session, cmd).await,
            Statement::Sql(p) => p.clone(),
        };
        if let Err(e) = Self::check_not_failed(session, &Command::Sql) {
            return e.into();
        }
        if let Err(e) = portal.check_param_count(prepared.params.len()) {
            return e.into();
        }
        let mut params = Vec::with_capacity(prepared.params.len());
        for (i, ty) in prepared.params.iter().enumerate() {
            let v = decode_param(portal, i, ty, &mut self.scratch).and_then(|v| {
                match prepared.targets.get(i).and_then(Option::as_ref) {
                    Some(target) => assign_integer(v, target),
                    None => Ok(v),
                }
            });
            match v {
                Ok(v) => params.push(v),
                Err(e) => return e.into(),
            }
        }
        // Outside a block, the statements up to Sync are one transaction;
        // reads need none of their own.
        let begin_implicit =
            session.transaction_status() == TransactionStatus::Idle && !prepared.readonly;
        if begin_implicit {
            self.tx.implicit = true;
        }
        let run = Run {
            source: Source::Prepared(prepared),
            params,
            formats: portal.result_formats().clone(),
            // A portal run with a row limit may be suspended and resumed
            // around other statements: read it whole. Without a limit,
            // rows stream.
            stream: max_rows == 0,
            begin_implicit,
            commit_implicit: false,
            window: None,
            settings: session.format_settings().clone(),
        };
        // `DROP ... IF EXISTS` of a missing object: PostgreSQL's notice (a
        // cheap prefix test first, as this runs for every Execute).
        let text = match &run.source {
            Source::Prepared(p) => p.sql.trim_start(),
            Source::Text(t) => t.trim_start(),
        };
        if text
            .get(..4)
            .is_some_and(|w| w.eq_ignore_ascii_case("drop"))
        {
            self.drop_if_exists_notices(session, text).await;
        }
        let cancel = session.cancel_token();
        self.run_sql(&cancel, run).await
    }
}
