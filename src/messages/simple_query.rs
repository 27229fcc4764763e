//! Query ('Q'): the simple query protocol.

use bytes::{Bytes, BytesMut};

use super::frame::put_cstr;
use super::reader::{Body, Reader};
use super::{ByteStr, DecodeError, Message};

/// Query ('Q'): one or more SQL statements separated by semicolons, run
/// with the simple query protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The query string.
    pub query: ByteStr,
}

impl Query {
    /// A Query message for `query`.
    pub fn new(query: impl Into<ByteStr>) -> Self {
        Query {
            query: query.into(),
        }
    }
}

impl Message for Query {
    const NAME: &'static str = "Query";
    const TAG: Option<u8> = Some(b'Q');

    fn encode_body(&self, buf: &mut BytesMut) {
        put_cstr(buf, self.query.as_bytes());
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        Self::read(Reader::of::<Self>(body))
    }
}

impl Query {
    /// Reads a Query body in place (the hot path); `None` when it needs
    /// the owned decoding (a long or non-ASCII query, or a malformed one).
    // Used by the server only.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    #[inline]
    pub(crate) fn read_borrowed(body: &[u8]) -> Option<Self> {
        Self::read(Reader::borrowed::<Self>(body)).ok()
    }

    /// Reads a Query body; shared with the borrowed decoding of the hot
    /// path.
    pub(crate) fn read<B: Body>(mut r: Reader<B>) -> Result<Self, DecodeError> {
        let query = r.cstr()?;
        r.finish()?;
        Ok(Query { query })
    }
}
