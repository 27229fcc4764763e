//! The bounds-checked cursor every replication decoder reads through: each
//! read checks the remaining length first and returns a typed error, so no
//! input can make a decoder panic or index out of bounds.

use bytes::{Buf, Bytes};

use super::error::ReplicationDecodeError;
use super::lsn::Lsn;
use crate::messages::ByteStr;

pub(crate) type DecodeResult<T> = Result<T, ReplicationDecodeError>;

/// A cursor over one message; errors name the message.
pub(crate) struct Reader {
    buf: Bytes,
    message: &'static str,
}

impl Reader {
    pub(crate) fn new(buf: Bytes, message: &'static str) -> Reader {
        Reader { buf, message }
    }

    pub(crate) fn truncated(&self, what: &'static str) -> ReplicationDecodeError {
        ReplicationDecodeError::Truncated {
            message: self.message,
            what,
        }
    }

    pub(crate) fn invalid(&self, what: &'static str, value: i64) -> ReplicationDecodeError {
        ReplicationDecodeError::InvalidValue {
            message: self.message,
            what,
            value,
        }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> DecodeResult<u8> {
        if self.buf.is_empty() {
            return Err(self.truncated(what));
        }
        Ok(self.buf.get_u8())
    }

    pub(crate) fn i16(&mut self, what: &'static str) -> DecodeResult<i16> {
        if self.buf.len() < 2 {
            return Err(self.truncated(what));
        }
        Ok(self.buf.get_i16())
    }

    pub(crate) fn i32(&mut self, what: &'static str) -> DecodeResult<i32> {
        if self.buf.len() < 4 {
            return Err(self.truncated(what));
        }
        Ok(self.buf.get_i32())
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> DecodeResult<u32> {
        if self.buf.len() < 4 {
            return Err(self.truncated(what));
        }
        Ok(self.buf.get_u32())
    }

    pub(crate) fn i64(&mut self, what: &'static str) -> DecodeResult<i64> {
        if self.buf.len() < 8 {
            return Err(self.truncated(what));
        }
        Ok(self.buf.get_i64())
    }

    pub(crate) fn lsn(&mut self, what: &'static str) -> DecodeResult<Lsn> {
        if self.buf.len() < 8 {
            return Err(self.truncated(what));
        }
        Ok(Lsn(self.buf.get_u64()))
    }

    pub(crate) fn bool(&mut self, what: &'static str) -> DecodeResult<bool> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.invalid(what, other.into())),
        }
    }

    /// `n` bytes as a view of the message (no copy).
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> DecodeResult<Bytes> {
        if self.buf.len() < n {
            return Err(self.truncated(what));
        }
        Ok(self.buf.split_to(n))
    }

    /// A NUL-terminated UTF-8 string (the terminator is consumed).
    pub(crate) fn cstr(&mut self, what: &'static str) -> DecodeResult<ByteStr> {
        let Some(end) = self.buf.iter().position(|&b| b == 0) else {
            return Err(self.truncated(what));
        };
        let s = self.buf.split_to(end);
        self.buf.advance(1);
        ByteStr::from_utf8(s).map_err(|_| ReplicationDecodeError::InvalidUtf8 {
            message: self.message,
            what,
        })
    }

    /// The unread bytes, without consuming them.
    pub(crate) fn peek(&self) -> &[u8] {
        &self.buf
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.buf)
    }

    /// The message must end here.
    pub(crate) fn finish(self) -> DecodeResult<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(ReplicationDecodeError::TrailingBytes {
                message: self.message,
                count: self.buf.len(),
            })
        }
    }
}
