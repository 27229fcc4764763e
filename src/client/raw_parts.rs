//! An authenticated connection taken apart, for proxies that forward
//! frames as bytes with their own buffering.

use std::collections::HashMap;

use bytes::BytesMut;

use super::cancel::CancelToken;
use super::connection::Client;
use super::transport::Transport;
use crate::messages::{ProtocolVersion, TransactionStatus};

/// What [`Client::into_raw_parts`] returns: the transport, the bytes
/// already read from it, and what the server said during startup.
#[derive(Debug)]
pub struct RawParts {
    /// The connected (and, when configured, encrypted) stream.
    pub transport: Transport,
    /// Bytes read from the server and not consumed yet: they come before
    /// anything read from `transport`.
    pub read_buf: BytesMut,
    /// The server's process ID (BackendKeyData).
    pub process_id: i32,
    /// Cancels the running query of this connection.
    pub cancel: CancelToken,
    /// Parameters the server reported (ParameterStatus).
    pub parameters: HashMap<String, String>,
    /// The protocol version in use.
    pub protocol: ProtocolVersion,
    /// The transaction status of the last ReadyForQuery.
    pub status: TransactionStatus,
}

impl Client {
    /// Takes the connection apart, for a proxy's own read and write loop.
    /// Meant right after connecting (or between requests): bytes queued but
    /// not flushed are dropped.
    pub fn into_raw_parts(self) -> RawParts {
        let cancel = self.cancel_token();
        RawParts {
            transport: self.io,
            read_buf: self.read_buf,
            process_id: self.process_id,
            cancel,
            parameters: self.parameters,
            protocol: self.protocol,
            status: self.status,
        }
    }
}
