//! What a server implements and the helpers it uses: the handler traits,
//! the [`Session`] every handler gets, responses, row sources, portals and
//! authentication.

pub mod auth;
mod connection_origin;
mod copy;
mod function_call;
mod handler;
mod portal;
mod replication;
mod responses;
mod results;
mod rows;
mod served_by_simple_query;
mod session;
mod sql_shape;
pub(crate) mod support;

pub use connection_origin::{ConnectionOrigin, PeerCredentials, ProxyInfo};
pub(crate) use copy::CopyStream as CopyStreamBox;
pub use copy::{
    COPY_BINARY_HEADER, COPY_BINARY_TRAILER, CopyBoth, CopyChunk, CopyFormat, CopyIn, CopyOut,
};
pub use function_call::{FunctionCallHandler, FunctionCallRequest};
pub use handler::{CopyHandler, ExtendedQueryHandler, ServerHandlers, SimpleQueryHandler};
pub use portal::{Portal, StoredStatement};
pub use replication::{
    CreateSlotRequest, CreatedSlot, ReplicationHandler, ReplicationMode, ReplicationStream,
    SlotKind, SlotStatus, SnapshotAction, StartReplicationRequest, SystemIdentity, TimelineHistory,
    WalWriter,
};
pub use responses::{IntoIter as ResponsesIntoIter, Responses};
pub use results::{QueryResponse, Response, StatementDescription, Tag};
pub use rows::{RowSink, RowSource, Rows, RowsProgress};
pub use served_by_simple_query::ServedBySimpleQuery;
pub use session::{
    AsyncMessage, CancelToken, ClientInfo, SendError, Session, SessionHandle, TlsInfo,
};
pub(crate) use session::{OUTBOX_CAPACITY, SessionDefaults, SessionShared};
pub use support::{
    CopySupport, ExtendedQuerySupport, FunctionCallSupport, NoCopy, NoFunctionCall, UseCopyHandler,
    UseExtendedQueryHandler, UseFunctionCallHandler,
};
pub use support::{NoReplication, NoStream, ReplicationSupport, UseReplicationHandler};
