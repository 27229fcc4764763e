//! Encoding helpers: messages are appended to the caller's buffer with the
//! length word reserved first and patched once the body is written, so no
//! temporary buffer is ever needed.

use bytes::{BufMut, BytesMut};

/// Starts a frame: writes the type byte (if any) and a placeholder length.
/// Returns the offset of the length word for [`finish`].
#[inline]
pub(crate) fn begin(buf: &mut BytesMut, tag: Option<u8>) -> usize {
    if let Some(t) = tag {
        buf.put_u8(t);
    }
    let at = buf.len();
    buf.put_u32(0);
    at
}

/// Patches the length word written by [`begin`]: it counts itself and the
/// body, not the type byte.
#[inline]
pub(crate) fn finish(buf: &mut BytesMut, at: usize) {
    let len = (buf.len() - at) as u32;
    if let Some(slot) = buf.get_mut(at..at + 4) {
        slot.copy_from_slice(&len.to_be_bytes());
    }
}

/// Writes a whole frame whose body is produced by `body`.
#[inline]
pub(crate) fn write(buf: &mut BytesMut, tag: Option<u8>, body: impl FnOnce(&mut BytesMut)) {
    let at = begin(buf, tag);
    body(buf);
    finish(buf, at);
}

/// Appends `s` and its NUL terminator.
#[inline]
pub(crate) fn put_cstr(buf: &mut BytesMut, s: &[u8]) {
    buf.reserve(s.len() + 1);
    buf.put_slice(s);
    buf.put_u8(0);
}

/// Writes a count that the protocol stores in an Int16.
///
/// Values past `i16::MAX` cannot be represented; encoding saturates rather
/// than panicking, and the peer will reject the message.
#[inline]
pub(crate) fn put_count16(buf: &mut BytesMut, n: usize) {
    buf.put_i16(i16::try_from(n).unwrap_or(i16::MAX));
}
