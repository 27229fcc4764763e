//! What a server implements and the helpers it uses: the handler traits,
//! the [`Session`] every handler gets, responses, row sources, portals and
//! authentication.

pub mod auth;
mod connection_origin;
mod copy;
mod function_call;
mod handler;
mod portal;
mod results;
mod rows;
mod session;

pub use connection_origin::{ConnectionOrigin, PeerCredentials, ProxyInfo};
pub(crate) use copy::CopyStream as CopyStreamBox;
pub use copy::{CopyBoth, CopyChunk, CopyFormat, CopyIn, CopyOut};
pub use function_call::{FunctionCallHandler, FunctionCallRequest};
pub use handler::{
    CopyHandler, ExtendedQueryHandler, QueryParser, ServerHandlers, SimpleQueryHandler,
};
pub(crate) use portal::PortalState;
pub use portal::{Portal, StoredStatement};
pub(crate) use results::encode_command_complete;
pub use results::{QueryResponse, Response, StatementDescription, Tag};
pub use rows::{RowSink, RowSource, Rows, RowsProgress};
pub use session::{
    AsyncMessage, CancelToken, ClientInfo, SendError, Session, SessionHandle, TlsInfo,
};
pub(crate) use session::{OUTBOX_CAPACITY, SessionShared, is_reported_parameter};
