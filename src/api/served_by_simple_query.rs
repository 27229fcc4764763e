//! The extended query protocol served from a [`SimpleQueryHandler`], for
//! servers that implement no [`ExtendedQueryHandler`](super::ExtendedQueryHandler).

use std::future::Future;
use std::sync::Arc;

use super::handler::SimpleQueryHandler;
use super::portal::{Portal, StoredStatement};
use super::results::{Response, StatementDescription};
use super::session::Session;
use super::sql_shape::sql_shape;
use super::support::{ExtendedQuerySupport, sealed::ExtendedQueryDriver};
use crate::error::{ErrorInfo, SqlState};
use crate::messages::Oid;
use crate::types::Schema;

/// Serves the extended query protocol with [`SimpleQueryHandler::do_query`]:
/// the default of [`ServerHandlers::extended_query`](super::ServerHandlers::extended_query).
///
/// What works: every statement without parameters, which is what
/// tokio-postgres' `query("SELECT 1", &[])`, psycopg's `execute("...")`
/// without arguments, pgJDBC's `Statement`, and `pgbench -M extended` or
/// `-M prepared` send. Row limits on Execute (cursors, `setFetchSize`) work
/// too: the server keeps the rest of the rows.
///
/// What is refused, at Parse, with a clear error and the session going on:
/// - a statement with `$n` parameters: 0A000 (implement
///   [`ExtendedQueryHandler`](super::ExtendedQueryHandler) to bind values);
/// - several statements in one Parse: 42601, as PostgreSQL.
///
/// Describe must say what columns a statement returns before it runs, and
/// only running it tells a simple query handler's caller. So the first
/// Describe of a statement (or of a portal) runs it and keeps the answer,
/// and the next Execute of that statement sends the kept rows instead of
/// running it again: each Execute still runs the statement once, but the
/// first one runs at Describe time. A client that describes a statement
/// and never executes it (a bare `prepare()`) has run it all the same.
/// Handlers whose statements must not run early implement
/// [`ExtendedQueryHandler`](super::ExtendedQueryHandler), which describes without
/// running.
#[derive(Debug, Default)]
pub struct ServedBySimpleQuery {
    /// The answer of a statement run for Describe, waiting for its Execute.
    pending: Option<(Arc<StoredStatement<()>>, Response)>,
}

impl ServedBySimpleQuery {
    /// Runs the statement through the simple query handler, returning its
    /// one answer.
    async fn run<H: SimpleQueryHandler>(
        handler: &mut H,
        session: &mut Session,
        sql: &str,
    ) -> Response {
        if sql_shape(sql).statements == 0 {
            return Response::EmptyQuery;
        }
        handler
            .do_query(session, sql)
            .await
            .into_iter()
            .next()
            .unwrap_or(Response::EmptyQuery)
    }

    /// Runs `statement` for a Describe and keeps the answer for the next
    /// Execute; returns its columns.
    async fn run_for_describe<H: SimpleQueryHandler>(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        statement: &Arc<StoredStatement<()>>,
    ) -> Result<Option<Schema>, ErrorInfo> {
        if let Some((kept, response)) = &self.pending {
            if Arc::ptr_eq(kept, statement) {
                return Ok(schema_of(response));
            }
        }
        self.pending = None;
        match Self::run(handler, session, statement.sql()).await {
            Response::Error(e) => Err(e),
            response => {
                let schema = schema_of(&response);
                self.pending = Some((statement.clone(), response));
                Ok(schema)
            }
        }
    }
}

fn schema_of(response: &Response) -> Option<Schema> {
    match response {
        Response::Query(q) => Some(q.schema.clone()),
        _ => None,
    }
}

impl<H: SimpleQueryHandler> ExtendedQuerySupport<H> for ServedBySimpleQuery {}

impl<H: SimpleQueryHandler> ExtendedQueryDriver<H> for ServedBySimpleQuery {
    type Statement = ();

    fn parse(
        &mut self,
        _: &mut H,
        _: &mut Session,
        sql: &str,
        _: &[Oid],
    ) -> impl Future<Output = Result<(), ErrorInfo>> + Send {
        let shape = sql_shape(sql);
        let result = if shape.has_parameters {
            Err(ErrorInfo::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "this server does not support bind parameters",
            )
            .with_detail(
                "Its handler runs the extended query protocol through its simple query \
                 handler, which takes statements without $n parameters.",
            ))
        } else if shape.statements > 1 {
            Err(ErrorInfo::new(
                SqlState::SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement",
            ))
        } else {
            Ok(())
        };
        async move { result }
    }

    fn parameter_count(&self, _: &H, _: &()) -> Option<usize> {
        Some(0)
    }

    async fn describe_statement(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        statement: &Arc<StoredStatement<()>>,
    ) -> Result<StatementDescription, ErrorInfo> {
        let fields = self.run_for_describe(handler, session, statement).await?;
        Ok(StatementDescription::new(Vec::new(), fields))
    }

    async fn describe_portal(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        portal: &Portal<()>,
    ) -> Result<Option<Schema>, ErrorInfo> {
        self.run_for_describe(handler, session, &portal.statement)
            .await
    }

    async fn describe_cursor(
        &mut self,
        _: &mut H,
        _: &mut Session,
        _: &str,
    ) -> Result<Option<Schema>, ErrorInfo> {
        Ok(None)
    }

    async fn bind(&mut self, _: &mut H, _: &mut Session, _: &Portal<()>) -> Result<(), ErrorInfo> {
        Ok(())
    }

    async fn execute(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        portal: &Portal<()>,
        _max_rows: usize,
    ) -> Response {
        if let Some((kept, _)) = &self.pending {
            if Arc::ptr_eq(kept, &portal.statement) {
                if let Some((_, response)) = self.pending.take() {
                    return response;
                }
            }
        }
        Self::run(handler, session, portal.statement.sql()).await
    }

    async fn sync(&mut self, _: &mut H, _: &mut Session, _: bool) -> Result<(), ErrorInfo> {
        Ok(())
    }
}
