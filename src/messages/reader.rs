//! The one cursor every message decoder reads through.
//!
//! Every read is bounds-checked and returns a [`DecodeError`] naming the
//! message; decoders never index slices directly, so no input can make them
//! panic.
//!
//! A reader runs over a body it owns ([`Bytes`], split from the input
//! buffer) or over a borrowed slice of the input buffer itself. The
//! borrowed kind saves the split (and its reference count) for the small
//! messages of every query: Bind, Execute, Sync. It cannot hand out shared
//! pieces of the body (long strings, parameter values), so reading one
//! fails and the caller decodes the message again from an owned body.

use bytes::{Buf, Bytes};

use super::error::InvalidSequence;
use super::{ByteStr, DecodeError, Message};

/// What a [`Reader`] reads from: an owned body or a borrowed slice.
pub(crate) trait Body: Sized {
    /// The unread bytes.
    fn unread(&self) -> &[u8];
    /// Skips `n` bytes (`n` is at most the unread length).
    fn skip(&mut self, n: usize);
    /// The next `n` bytes as shared [`Bytes`]; `None` for a borrowed body,
    /// which cannot share (`n` is at most the unread length).
    fn share(&mut self, n: usize) -> Option<Bytes>;
}

impl Body for Bytes {
    #[inline]
    fn unread(&self) -> &[u8] {
        self
    }

    #[inline]
    fn skip(&mut self, n: usize) {
        self.advance(n);
    }

    #[inline]
    fn share(&mut self, n: usize) -> Option<Bytes> {
        Some(self.split_to(n))
    }
}

impl Body for &[u8] {
    #[inline]
    fn unread(&self) -> &[u8] {
        self
    }

    #[inline]
    fn skip(&mut self, n: usize) {
        *self = self.get(n..).unwrap_or(&[]);
    }

    #[inline]
    fn share(&mut self, _: usize) -> Option<Bytes> {
        None
    }
}

/// A bounds-checked cursor over one message body.
pub(crate) struct Reader<B: Body = Bytes> {
    buf: B,
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

    /// Everything left.
    pub(crate) fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.buf)
    }
}

impl<'a> Reader<&'a [u8]> {
    /// A reader over a borrowed body of message `M`. Reads that would
    /// share part of the body fail (see the module docs).
    pub(crate) fn borrowed<M: Message>(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            tag: M::TAG,
            message: M::NAME,
        }
    }
}

impl<B: Body> Reader<B> {
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
        self.buf.unread().len()
    }

    /// The next `N` bytes.
    #[inline]
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let a: [u8; N] = self.buf.unread().get(..N)?.try_into().ok()?;
        self.buf.skip(N);
        Some(a)
    }

    pub(crate) fn u8(&mut self) -> DecodeResult<u8> {
        match self.array::<1>() {
            Some([b]) => Ok(b),
            None => Err(DecodeError::NoDataLeft {
                tag: self.tag,
                message: self.message,
            }),
        }
    }

    pub(crate) fn i16(&mut self) -> DecodeResult<i16> {
        self.array()
            .map(i16::from_be_bytes)
            .ok_or_else(|| self.truncated())
    }

    pub(crate) fn i32(&mut self) -> DecodeResult<i32> {
        self.array()
            .map(i32::from_be_bytes)
            .ok_or_else(|| self.truncated())
    }

    pub(crate) fn u32(&mut self) -> DecodeResult<u32> {
        self.array()
            .map(u32::from_be_bytes)
            .ok_or_else(|| self.truncated())
    }

    /// An Int16 count, which the protocol reads as unsigned (0..=65535):
    /// PostgreSQL takes a Bind with 40,000 parameters.
    pub(crate) fn count16(&mut self) -> DecodeResult<usize> {
        self.array()
            .map(|b| u16::from_be_bytes(b) as usize)
            .ok_or_else(|| self.truncated())
    }

    /// The next `n` bytes, shared with the input buffer (an error on a
    /// borrowed body).
    pub(crate) fn take(&mut self, n: usize) -> DecodeResult<Bytes> {
        if self.remaining() < n {
            return Err(self.truncated());
        }
        self.buf.share(n).ok_or_else(|| self.truncated())
    }

    /// A NUL-terminated UTF-8 string (short ones copied inline, long ones
    /// shared with the input buffer, which a borrowed body cannot do).
    #[inline]
    pub(crate) fn cstr(&mut self) -> DecodeResult<ByteStr> {
        if let Some((s, end)) = ByteStr::short_ascii_cstr(self.buf.unread()) {
            self.buf.skip(end + 1);
            return Ok(s);
        }
        self.long_cstr()
    }

    /// [`Reader::cstr`] for strings that are long, not ASCII or malformed:
    /// kept out of line so that the common case stays small.
    #[inline(never)]
    fn long_cstr(&mut self) -> DecodeResult<ByteStr> {
        let unread = self.buf.unread();
        let Some(end) = unread.iter().position(|&b| b == 0) else {
            return Err(DecodeError::MissingNul {
                tag: self.tag,
                message: self.message,
            });
        };
        let (tag, message) = (self.tag, self.message);
        let invalid = |raw: &[u8], e: std::str::Utf8Error| DecodeError::InvalidUtf8 {
            tag,
            message,
            sequence: InvalidSequence::at(raw.get(e.valid_up_to()..).unwrap_or(&[])),
        };
        let raw = unread.get(..end).unwrap_or(&[]);
        if let Some(inline) = ByteStr::inline_from_utf8(raw) {
            let s = inline.map_err(|e| invalid(raw, e))?;
            self.buf.skip(end + 1);
            return Ok(s);
        }
        let Some(shared) = self.buf.share(end) else {
            return Err(self.truncated());
        };
        self.buf.skip(1);
        ByteStr::from_utf8_or_back(shared).map_err(|(raw, e)| invalid(&raw, e))
    }

    /// The next `n` bytes, copied to a small stack array (`n` at most 16).
    pub(crate) fn take_slice(&mut self, n: usize) -> DecodeResult<[u8; 16]> {
        let mut out = [0u8; 16];
        let (Some(src), Some(dst)) = (self.buf.unread().get(..n), out.get_mut(..n)) else {
            return Err(self.truncated());
        };
        dst.copy_from_slice(src);
        self.buf.skip(n);
        Ok(out)
    }

    /// The unread bytes, without consuming them.
    pub(crate) fn peek_rest(&self) -> &[u8] {
        self.buf.unread()
    }

    /// Fails if bytes are left over.
    pub(crate) fn finish(self) -> DecodeResult<()> {
        if self.buf.unread().is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                tag: self.tag,
                message: self.message,
            })
        }
    }
}
