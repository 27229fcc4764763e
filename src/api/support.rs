//! Which optional protocols a server's handlers serve themselves: the
//! extended query protocol ([`ExtendedQuerySupport`]), COPY FROM STDIN
//! ([`CopySupport`]) and the function call protocol
//! ([`FunctionCallSupport`]), chosen in
//! [`ServerHandlers`](super::ServerHandlers).
//!
//! Stable Rust has no default associated types, so the choice is a method
//! returning `impl Trait` whose default body names the fallback: a server
//! that says nothing gets the fallback, one that implements
//! [`ExtendedQueryHandler`] or [`CopyHandler`] returns
//! [`UseExtendedQueryHandler`] or [`UseCopyHandler`]. The traits are sealed:
//! the server calls them, handlers never do.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;

use super::function_call::{FunctionCallHandler, FunctionCallRequest};
use super::handler::{CopyHandler, ExtendedQueryHandler};
use super::portal::{Portal, StoredStatement};
use super::results::{Response, StatementDescription, Tag};
use super::session::Session;
use crate::error::{ErrorInfo, SqlState};
use crate::messages::Oid;
use crate::types::Schema;

/// How a server serves the extended query protocol. Returned by
/// [`ServerHandlers::extended_query`](super::ServerHandlers::extended_query);
/// implemented by [`UseExtendedQueryHandler`] and
/// [`ServedBySimpleQuery`](super::ServedBySimpleQuery) only.
pub trait ExtendedQuerySupport<H>: sealed::ExtendedQueryDriver<H> {}

/// How a server answers FunctionCall messages (the fast-path interface).
/// Returned by
/// [`ServerHandlers::function_call`](super::ServerHandlers::function_call);
/// implemented by [`UseFunctionCallHandler`] and [`NoFunctionCall`] only.
pub trait FunctionCallSupport<H>: sealed::FunctionCallDriver<H> {}

/// How a server receives COPY FROM STDIN data. Returned by
/// [`ServerHandlers::copy`](super::ServerHandlers::copy); implemented by
/// [`UseCopyHandler`] and [`NoCopy`] only.
pub trait CopySupport<H>: sealed::CopyDriver<H> {}

/// The handler implements [`ExtendedQueryHandler`]: Parse, Bind, Describe,
/// Execute and Sync go to it.
#[derive(Debug, Clone, Copy, Default)]
pub struct UseExtendedQueryHandler;

/// The handler implements [`CopyHandler`]: COPY FROM STDIN data goes to it.
#[derive(Debug, Clone, Copy, Default)]
pub struct UseCopyHandler;

/// The handler implements [`FunctionCallHandler`]: FunctionCall messages
/// go to it.
#[derive(Debug, Clone, Copy, Default)]
pub struct UseFunctionCallHandler;

/// No function calls: a FunctionCall is answered 0A000 and the session goes
/// on.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFunctionCall;

/// No COPY FROM STDIN: a COPY that asks the client for data fails with
/// 0A000 when the data arrives (COPY TO STDOUT needs no handler and works).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCopy;

pub(crate) mod sealed {
    use super::*;

    /// What the connection calls for the extended query protocol.
    pub trait ExtendedQueryDriver<H>: Send + 'static {
        /// The parsed form of a statement.
        type Statement: Send + Sync + 'static;

        fn parse(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            sql: &str,
            param_types: &[Oid],
        ) -> impl Future<Output = Result<Self::Statement, ErrorInfo>> + Send;

        fn parameter_count(&self, handler: &H, statement: &Self::Statement) -> Option<usize>;

        fn describe_statement(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            statement: &Arc<StoredStatement<Self::Statement>>,
        ) -> impl Future<Output = Result<StatementDescription, ErrorInfo>> + Send;

        fn describe_portal(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            portal: &Portal<Self::Statement>,
        ) -> impl Future<Output = Result<Option<Schema>, ErrorInfo>> + Send;

        fn bind(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            portal: &Portal<Self::Statement>,
        ) -> impl Future<Output = Result<(), ErrorInfo>> + Send;

        fn execute(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            portal: &Portal<Self::Statement>,
            max_rows: usize,
        ) -> impl Future<Output = Response> + Send;

        fn sync(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            failed: bool,
        ) -> impl Future<Output = Result<(), ErrorInfo>> + Send;
    }

    /// What the connection calls for a FunctionCall.
    pub trait FunctionCallDriver<H>: Send + 'static {
        /// Whether function calls are served at all (checked before the
        /// request is, as PostgreSQL checks the function exists first).
        fn supported(&self) -> bool;

        fn call(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            request: &FunctionCallRequest,
        ) -> impl Future<Output = Result<Option<Bytes>, ErrorInfo>> + Send;
    }

    /// What the connection calls for COPY FROM STDIN data.
    pub trait CopyDriver<H>: Send + 'static {
        fn copy_data(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            data: Bytes,
        ) -> impl Future<Output = Result<(), ErrorInfo>> + Send;

        fn copy_done(
            &mut self,
            handler: &mut H,
            session: &mut Session,
        ) -> impl Future<Output = Result<Tag, ErrorInfo>> + Send;

        fn copy_fail(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            message: &str,
        ) -> impl Future<Output = ErrorInfo> + Send;
    }
}

impl<H: ExtendedQueryHandler> ExtendedQuerySupport<H> for UseExtendedQueryHandler {}

impl<H: ExtendedQueryHandler> sealed::ExtendedQueryDriver<H> for UseExtendedQueryHandler {
    type Statement = H::Statement;

    fn parse(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        sql: &str,
        param_types: &[Oid],
    ) -> impl Future<Output = Result<Self::Statement, ErrorInfo>> + Send {
        handler.parse_sql(session, sql, param_types)
    }

    fn parameter_count(&self, handler: &H, statement: &Self::Statement) -> Option<usize> {
        handler.parameter_count(statement)
    }

    fn describe_statement(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        statement: &Arc<StoredStatement<Self::Statement>>,
    ) -> impl Future<Output = Result<StatementDescription, ErrorInfo>> + Send {
        handler.do_describe_statement(session, statement)
    }

    fn describe_portal(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        portal: &Portal<Self::Statement>,
    ) -> impl Future<Output = Result<Option<Schema>, ErrorInfo>> + Send {
        handler.do_describe_portal(session, portal)
    }

    fn bind(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        portal: &Portal<Self::Statement>,
    ) -> impl Future<Output = Result<(), ErrorInfo>> + Send {
        handler.do_bind(session, portal)
    }

    fn execute(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> impl Future<Output = Response> + Send {
        handler.do_query(session, portal, max_rows)
    }

    fn sync(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        failed: bool,
    ) -> impl Future<Output = Result<(), ErrorInfo>> + Send {
        handler.on_sync(session, failed)
    }
}

impl<H: FunctionCallHandler> FunctionCallSupport<H> for UseFunctionCallHandler {}

impl<H: FunctionCallHandler> sealed::FunctionCallDriver<H> for UseFunctionCallHandler {
    fn supported(&self) -> bool {
        true
    }

    fn call(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        request: &FunctionCallRequest,
    ) -> impl Future<Output = Result<Option<Bytes>, ErrorInfo>> + Send {
        handler.call_function(session, request)
    }
}

impl<H: Send> FunctionCallSupport<H> for NoFunctionCall {}

impl<H: Send> sealed::FunctionCallDriver<H> for NoFunctionCall {
    fn supported(&self) -> bool {
        false
    }

    async fn call(
        &mut self,
        _: &mut H,
        _: &mut Session,
        _: &FunctionCallRequest,
    ) -> Result<Option<Bytes>, ErrorInfo> {
        Err(ErrorInfo::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            "the function call protocol is not supported",
        ))
    }
}

impl<H: CopyHandler> CopySupport<H> for UseCopyHandler {}

impl<H: CopyHandler> sealed::CopyDriver<H> for UseCopyHandler {
    fn copy_data(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        data: Bytes,
    ) -> impl Future<Output = Result<(), ErrorInfo>> + Send {
        handler.copy_data(session, data)
    }

    fn copy_done(
        &mut self,
        handler: &mut H,
        session: &mut Session,
    ) -> impl Future<Output = Result<Tag, ErrorInfo>> + Send {
        handler.copy_done(session)
    }

    fn copy_fail(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        message: &str,
    ) -> impl Future<Output = ErrorInfo> + Send {
        handler.copy_fail(session, message)
    }
}

impl<H: Send> CopySupport<H> for NoCopy {}

impl<H: Send> sealed::CopyDriver<H> for NoCopy {
    async fn copy_data(&mut self, _: &mut H, _: &mut Session, _: Bytes) -> Result<(), ErrorInfo> {
        Err(copy_not_supported())
    }

    async fn copy_done(&mut self, _: &mut H, _: &mut Session) -> Result<Tag, ErrorInfo> {
        Err(copy_not_supported())
    }

    fn copy_fail(
        &mut self,
        _: &mut H,
        _: &mut Session,
        message: &str,
    ) -> impl Future<Output = ErrorInfo> + Send {
        let e = ErrorInfo::new(
            SqlState::QUERY_CANCELED,
            format!("COPY from stdin failed: {message}"),
        );
        async move { e }
    }
}

fn copy_not_supported() -> ErrorInfo {
    ErrorInfo::new(
        SqlState::FEATURE_NOT_SUPPORTED,
        "COPY FROM STDIN is not supported by this server",
    )
}
