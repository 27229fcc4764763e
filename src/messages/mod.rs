//! The PostgreSQL frontend/backend protocol messages (protocol 3.0 and 3.2).
//!
//! One struct per message, named as in the PostgreSQL documentation
//! ("Frontend/Backend Protocol", section "Message Formats"), and two enums,
//! [`FrontendMessage`] (client to server) and [`BackendMessage`] (server to
//! client). This module is pure: it depends only on `bytes`, does no I/O and
//! knows nothing about handlers, so a proxy or a client can use it alone.
//!
//! Decoding is zero-copy: string and byte fields are [`Bytes`] / [`ByteStr`]
//! views of the read buffer. Encoding appends to a caller's [`BytesMut`]
//! with the length word patched in afterwards.
//!
//! ```
//! use bytes::BytesMut;
//! use pgwire::messages::{FrontendDecoder, FrontendMessage, Message, Query};
//!
//! let mut wire = BytesMut::new();
//! Query::new("SELECT 1").encode(&mut wire);
//!
//! let mut decoder = FrontendDecoder::new_typed();
//! match decoder.decode(&mut wire).unwrap() {
//!     Some(FrontendMessage::Query(q)) => assert_eq!(q.query, "SELECT 1"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```

mod backend;
mod bytestr;
#[cfg(feature = "codec")]
mod codec;
mod copy;
mod data;
mod error;
mod extended_query;
mod frame;
mod frontend;
mod function_call;
mod notification;
mod reader;
mod response;
mod simple_query;
mod startup;
mod terminate;
mod values;

use bytes::{Buf, Bytes, BytesMut};

pub use backend::{BackendDecoder, BackendMessage};
pub use bytestr::ByteStr;
#[cfg(feature = "codec")]
pub use codec::{ClientCodec, CodecError, ServerCodec};
pub use copy::{CopyBothResponse, CopyData, CopyDone, CopyFail, CopyInResponse, CopyOutResponse};
pub use data::{DataRow, FieldDescription, FieldDescriptionRef, RowDescription};
pub use error::{DecodeError, InvalidSequence};
pub use extended_query::{
    Bind, BindComplete, Close, CloseComplete, Describe, Execute, Flush, NoData,
    ParameterDescription, Parse, ParseComplete, PortalSuspended, Sync, TargetKind,
};
pub use frontend::{AuthResponseKind, FrontendDecoder, FrontendMessage};
pub use function_call::{FunctionCall, FunctionCallResponse};
pub use notification::NotificationResponse;
pub use response::{
    CommandComplete, EmptyQueryResponse, ErrorFields, ErrorFieldsWriter, ErrorResponse,
    NoticeResponse, ReadyForQuery, TransactionStatus,
};
pub use simple_query::Query;
pub use startup::{
    Authentication, BackendKeyData, CancelRequest, GssEncRequest, GssResponse,
    NegotiateProtocolVersion, ParameterStatus, PasswordMessage, SaslInitialResponse, SaslResponse,
    SslRequest, StartupMessage,
};
pub use terminate::Terminate;
pub use values::{FormatCodes, ValueList};

/// A PostgreSQL object identifier (type OIDs, table OIDs, function OIDs).
pub type Oid = u32;

/// Maximum size of a startup-phase packet (StartupMessage, SSLRequest,
/// GSSENCRequest, CancelRequest), as PostgreSQL enforces it.
pub const MAX_STARTUP_PACKET_LEN: usize = 10_000;

/// Default maximum size of a typed message (type byte excluded).
///
/// PostgreSQL itself allows up to 1 GiB for messages that carry data (Query,
/// Bind, CopyData, ...). A library that may front many connections should
/// not let each of them make it buffer a gigabyte, so the default is 64 MiB:
/// far above what drivers send (libpq splits COPY data into small chunks;
/// queries and bound parameters of that size are rare) yet small enough to
/// bound memory. Servers can raise or lower it.
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 64 * 1024 * 1024;

/// Maximum size of messages that are always small (Sync, Flush, Terminate,
/// Describe, Close, Execute, CopyDone, CopyFail), as PostgreSQL limits them.
pub const MAX_SMALL_MESSAGE_LEN: usize = 10_000;

/// Maximum size of an authentication response ('p' during authentication),
/// as PostgreSQL limits it (`PG_MAX_AUTH_TOKEN_LENGTH`).
pub const MAX_AUTH_MESSAGE_LEN: usize = 65_535;

/// The longest cancel key protocol 3.2 allows, in bytes.
pub const MAX_CANCEL_KEY_LEN: usize = 256;

/// A protocol version as sent in the StartupMessage (major in the high
/// 16 bits, minor in the low 16 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProtocolVersion {
    /// Major version (3 for every protocol this crate speaks).
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

impl ProtocolVersion {
    /// Protocol 3.0, spoken by every PostgreSQL since 7.4.
    pub const V3_0: ProtocolVersion = ProtocolVersion { major: 3, minor: 0 };
    /// Protocol 3.2 (PostgreSQL 18): variable-length cancel keys.
    pub const V3_2: ProtocolVersion = ProtocolVersion { major: 3, minor: 2 };

    /// The version from its wire form.
    pub const fn from_code(code: u32) -> Self {
        ProtocolVersion {
            major: (code >> 16) as u16,
            minor: (code & 0xffff) as u16,
        }
    }

    /// The wire form.
    pub const fn code(self) -> u32 {
        ((self.major as u32) << 16) | self.minor as u32
    }
}

impl std::fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A protocol message: how it is framed, encoded and decoded.
pub trait Message: Sized {
    /// The message's name in the PostgreSQL documentation.
    const NAME: &'static str;

    /// The type byte, or `None` for the startup-phase messages that have none.
    const TAG: Option<u8>;

    /// Appends the body (everything after the length word) to `buf`.
    fn encode_body(&self, buf: &mut BytesMut);

    /// Decodes the body (everything after the length word).
    fn decode_body(body: Bytes) -> Result<Self, DecodeError>;

    /// Appends the whole message (type byte, length, body) to `buf`.
    fn encode(&self, buf: &mut BytesMut) {
        frame::write(buf, Self::TAG, |b| self.encode_body(b));
    }
}

/// Splits one complete typed frame (type byte, length, body) off `buf`.
///
/// Returns `Ok(None)` if more bytes are needed. Never reserves the declared
/// length up front: a hostile length costs nothing until its bytes arrive.
/// `max_len` picks the limit from the type byte.
fn split_typed_frame(
    buf: &mut BytesMut,
    max_len: impl Fn(u8) -> usize,
) -> Result<Option<(u8, Bytes)>, DecodeError> {
    let Some((tag, total)) = typed_frame_len(buf, max_len)? else {
        return Ok(None);
    };
    Ok(Some((tag, split_frame_body(buf, total))))
}

/// The type byte and total length (type byte included) of the frame at the
/// front of `buf`, once all of it is there; the length is checked against
/// `max_len` before any of the body is awaited.
fn typed_frame_len(
    buf: &[u8],
    max_len: impl Fn(u8) -> usize,
) -> Result<Option<(u8, usize)>, DecodeError> {
    let Some(&[tag, l0, l1, l2, l3]) = buf.get(..5) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([l0, l1, l2, l3]);
    if len < 4 {
        return Err(DecodeError::InvalidLength {
            tag: Some(tag),
            length: len,
        });
    }
    let max = max_len(tag);
    if len as usize > max {
        return Err(DecodeError::TooLarge {
            tag: Some(tag),
            length: len,
            max,
        });
    }
    let total = 1 + len as usize;
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some((tag, total)))
}

/// Removes the frame of `total` bytes at the front of `buf`, returning its
/// body. One split for the body; the header is just skipped. Sync, Flush
/// and the other bodiless messages need no split at all.
fn split_frame_body(buf: &mut BytesMut, total: usize) -> Bytes {
    buf.advance(5);
    if total == 5 {
        return Bytes::new();
    }
    buf.split_to(total - 5).freeze()
}

#[cfg(test)]
mod tests;
