//! The one cursor every message decoder reads through.
//!
//! Every read is bounds-checked and returns a [`DecodeError`] naming the
//! message; decoders never index slices directly, so no input can make them
//! panic.

use bytes::{Buf, Bytes};

use super::error::InvalidSequence;
use super::{ByteStr, DecodeError, Message};

/// A bounds-checked cursor over one message body.
pub(crate) struct Reader {
    buf: Bytes,
    tag: Option<u8>,
    message: &'static str,
}

pub(crate) type DecodeResult<T> = Result<T, DecodeError>;

impl Reader {
    /// A reader over the body of message `M`; its errors carry `M`'s type
    /// byte and name.
    pub(crate) fn of<M: Message>(buf: Bytes) -> Self {
        Reader {
            buf,
            tag: M::TAG,
            message: M::NAME,
        }
    }

    pub(crate) fn truncated(&self) -> DecodeError {
        DecodeError::Truncated {
            tag: self.tag,
            message: self.message,
        }
    }

    pub(crate) fn invalid(&self, what: &'static str, value: i64) -> DecodeError {
        DecodeError::InvalidValue {
            tag: self.tag,
            message: self.message,
            what,
            value,
        }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn u8(&mut self) -> DecodeResult<u8> {
        if self.buf.is_empty() {
            return Err(DecodeError::NoDataLeft {
                tag: self.tag,
                message: self.message,
            });
        }
        Ok(self.buf.get_u8())
    }

    pub(crate) fn i16(&mut self) -> DecodeResult<i16> {
        if self.buf.len() < 2 {
            return Err(self.truncated());
        }
        Ok(self.buf.get_i16())
    }

    pub(crate) fn i32(&mut self) -> DecodeResult<i32> {
        if self.buf.len() < 4 {
            return Err(self.truncated());
        }
        Ok(self.buf.get_i32())
    }

    pub(crate) fn u32(&mut self) -> DecodeResult<u32> {
        if self.buf.len() < 4 {
            return Err(self.truncated());
        }
        Ok(self.buf.get_u32())
    }

    /// An Int16 count, which the protocol reads as unsigned (0..=65535):
    /// PostgreSQL takes a Bind with 40,000 parameters.
    pub(crate) fn count16(&mut self) -> DecodeResult<usize> {
        if self.buf.len() < 2 {
            return Err(self.truncated());
        }
        Ok(self.buf.get_u16() as usize)
    }

    /// The next `n` bytes, shared with the input buffer.
    pub(crate) fn take(&mut self, n: usize) -> DecodeResult<Bytes> {
        if self.buf.len() < n {
            return Err(self.truncated());
        }
        Ok(self.buf.split_to(n))
    }

    /// A NUL-terminated UTF-8 string (short ones copied inline, long ones
    /// shared with the input buffer).
    pub(crate) fn cstr(&mut self) -> DecodeResult<ByteStr> {
        let Some(end) = self.buf.iter().position(|&b| b == 0) else {
            return Err(DecodeError::MissingNul {
                tag: self.tag,
                message: self.message,
            });
        };
        // The unnamed statement and portal: the commonest name of all.
        if end == 0 {
            self.buf.advance(1);
            return Ok(ByteStr::new());
        }
        let (tag, message) = (self.tag, self.message);
        let invalid = |raw: &[u8], e: std::str::Utf8Error| DecodeError::InvalidUtf8 {
            tag,
            message,
            sequence: InvalidSequence::at(raw.get(e.valid_up_to()..).unwrap_or(&[])),
        };
        let s = match self.buf.get(..end).and_then(ByteStr::inline_from_utf8) {
            Some(inline) => {
                let s = inline.map_err(|e| invalid(self.buf.get(..end).unwrap_or(&[]), e))?;
                self.buf.advance(end + 1);
                s
            }
            None => {
                let raw = self.buf.split_to(end);
                self.buf.advance(1);
                ByteStr::from_utf8_or_back(raw).map_err(|(raw, e)| invalid(&raw, e))?
            }
        };
        Ok(s)
    }

    /// The next `n` bytes, copied to a small stack array (`n` at most 16).
    pub(crate) fn take_slice(&mut self, n: usize) -> DecodeResult<[u8; 16]> {
        let mut out = [0u8; 16];
        let (Some(src), Some(dst)) = (self.buf.get(..n), out.get_mut(..n)) else {
            return Err(self.truncated());
        };
        dst.copy_from_slice(src);
        self.buf.advance(n);
        Ok(out)
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.buf)
    }

    /// Fails if bytes are left over.
    pub(crate) fn finish(self) -> DecodeResult<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                tag: self.tag,
                message: self.message,
            })
        }
    }
}

impl Reader {
    /// The unread bytes, without consuming them.
    pub(crate) fn peek_rest(&self) -> &[u8] {
        &self.buf
    }
}
