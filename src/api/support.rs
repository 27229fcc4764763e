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
use super::replication::{
    CreateSlotRequest, CreatedSlot, ReplicationHandler, ReplicationStream, SlotStatus,
    StartReplicationRequest, SystemIdentity, TimelineHistory, WalWriter,
};
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

/// Whether and how a server serves replication connections (the
/// `replication` startup parameter). Returned by
/// [`ServerHandlers::replication`](super::ServerHandlers::replication);
/// implemented by [`UseReplicationHandler`] and [`NoReplication`] only.
pub trait ReplicationSupport<H>: sealed::ReplicationDriver<H> {}

/// The handler implements
/// [`ReplicationHandler`](super::ReplicationHandler): replication
/// connections are served, their commands go to it.
#[derive(Debug, Clone, Copy, Default)]
pub struct UseReplicationHandler;

/// No replication: a replication connection is refused at startup with
/// PostgreSQL's 42501 "permission denied to start WAL sender".
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReplication;

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

        fn describe_cursor(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            name: &str,
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

    /// What the connection calls for replication commands.
    pub trait ReplicationDriver<H>: Send + 'static {
        /// What `START_REPLICATION` streams.
        type Stream: ReplicationStream + 'static;

        /// Whether replication connections are served at all.
        fn supported(&self) -> bool;

        fn identify_system(
            &mut self,
            handler: &mut H,
            session: &mut Session,
        ) -> impl Future<Output = Result<SystemIdentity, ErrorInfo>> + Send;

        fn show(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            name: &str,
        ) -> impl Future<Output = Result<String, ErrorInfo>> + Send;

        fn create_slot(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            request: &CreateSlotRequest,
        ) -> impl Future<Output = Result<CreatedSlot, ErrorInfo>> + Send;

        fn drop_slot(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            name: &str,
            wait: bool,
        ) -> impl Future<Output = Result<(), ErrorInfo>> + Send;

        fn read_slot(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            name: &str,
        ) -> impl Future<Output = Result<Option<SlotStatus>, ErrorInfo>> + Send;

        fn timeline_history(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            timeline: u32,
        ) -> impl Future<Output = Result<TimelineHistory, ErrorInfo>> + Send;

        fn start_replication(
            &mut self,
            handler: &mut H,
            session: &mut Session,
            request: &StartReplicationRequest,
        ) -> impl Future<Output = Result<Self::Stream, ErrorInfo>> + Send;
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

    fn describe_cursor(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        name: &str,
    ) -> impl Future<Output = Result<Option<Schema>, ErrorInfo>> + Send {
        handler.do_describe_cursor(session, name)
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

impl<H: ReplicationHandler> ReplicationSupport<H> for UseReplicationHandler {}

impl<H: ReplicationHandler> sealed::ReplicationDriver<H> for UseReplicationHandler {
    type Stream = H::Stream;

    fn supported(&self) -> bool {
        true
    }

    fn identify_system(
        &mut self,
        handler: &mut H,
        session: &mut Session,
    ) -> impl Future<Output = Result<SystemIdentity, ErrorInfo>> + Send {
        handler.identify_system(session)
    }

    fn show(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        name: &str,
    ) -> impl Future<Output = Result<String, ErrorInfo>> + Send {
        handler.show(session, name)
    }

    fn create_slot(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        request: &CreateSlotRequest,
    ) -> impl Future<Output = Result<CreatedSlot, ErrorInfo>> + Send {
        handler.create_slot(session, request)
    }

    fn drop_slot(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        name: &str,
        wait: bool,
    ) -> impl Future<Output = Result<(), ErrorInfo>> + Send {
        handler.drop_slot(session, name, wait)
    }

    fn read_slot(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        name: &str,
    ) -> impl Future<Output = Result<Option<SlotStatus>, ErrorInfo>> + Send {
        handler.read_slot(session, name)
    }

    fn timeline_history(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        timeline: u32,
    ) -> impl Future<Output = Result<TimelineHistory, ErrorInfo>> + Send {
        handler.timeline_history(session, timeline)
    }

    fn start_replication(
        &mut self,
        handler: &mut H,
        session: &mut Session,
        request: &StartReplicationRequest,
    ) -> impl Future<Output = Result<Self::Stream, ErrorInfo>> + Send {
        handler.start_replication(session, request)
    }
}

impl<H: Send> ReplicationSupport<H> for NoReplication {}

/// The stream of a server without replication: never made.
#[derive(Debug)]
pub enum NoStream {}

impl ReplicationStream for NoStream {
    async fn wait_for_changes(&mut self) -> Result<(), ErrorInfo> {
        match *self {}
    }

    fn write_changes(&mut self, _: &mut WalWriter<'_>) -> Result<(), ErrorInfo> {
        match *self {}
    }

    fn sent_position(&self) -> crate::replication::Lsn {
        match *self {}
    }
}

fn replication_not_supported() -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INSUFFICIENT_PRIVILEGE,
        "permission denied to start WAL sender",
    )
    .with_detail("This server does not serve replication connections.")
}

impl<H: Send> sealed::ReplicationDriver<H> for NoReplication {
    type Stream = NoStream;

    fn supported(&self) -> bool {
        false
    }

    async fn identify_system(
        &mut self,
        _: &mut H,
        _: &mut Session,
    ) -> Result<SystemIdentity, ErrorInfo> {
        Err(replication_not_supported())
    }

    async fn show(&mut self, _: &mut H, _: &mut Session, _: &str) -> Result<String, ErrorInfo> {
        Err(replication_not_supported())
    }

    async fn create_slot(
        &mut self,
        _: &mut H,
        _: &mut Session,
        _: &CreateSlotRequest,
    ) -> Result<CreatedSlot, ErrorInfo> {
        Err(replication_not_supported())
    }

    async fn drop_slot(
        &mut self,
        _: &mut H,
        _: &mut Session,
        _: &str,
        _: bool,
    ) -> Result<(), ErrorInfo> {
        Err(replication_not_supported())
    }

    async fn read_slot(
        &mut self,
        _: &mut H,
        _: &mut Session,
        _: &str,
    ) -> Result<Option<SlotStatus>, ErrorInfo> {
        Err(replication_not_supported())
    }

    async fn timeline_history(
        &mut self,
        _: &mut H,
        _: &mut Session,
        _: u32,
    ) -> Result<TimelineHistory, ErrorInfo> {
        Err(replication_not_supported())
    }

    async fn start_replication(
        &mut self,
        _: &mut H,
        _: &mut Session,
        _: &StartReplicationRequest,
    ) -> Result<NoStream, ErrorInfo> {
        Err(replication_not_supported())
    }
}
