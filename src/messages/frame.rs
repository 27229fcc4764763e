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

/// Writes a count that the protocol stores in an Int16, read as unsigned
/// (0..=65535) by PostgreSQL and by this crate's decoders.
///
/// Values past `u16::MAX` cannot be represented; encoding saturates rather
/// than panicking, and the peer will reject the message.
#[inline]
pub(crate) fn put_count16(buf: &mut BytesMut, n: usize) {
    buf.put_u16(u16::try_from(n).unwrap_or(u16::MAX));
}

/// Two decimal digits for every value below 100.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends the decimal digits of `v`, with no allocation (command tags'
/// row counts and OIDs).
#[inline]
pub(crate) fn put_decimal(buf: &mut BytesMut, v: u64) {
    let (tmp, start) = decimal_digits(v);
    buf.put_slice(tmp.get(start..).unwrap_or(&[]));
}

/// The decimal digits of `v`: they are `digits[start..]`.
#[inline]
pub(crate) fn decimal_digits(mut v: u64) -> ([u8; 20], usize) {
    // u64::MAX has 20 digits. Filled from the end, two digits at a time.
    let mut tmp = [0u8; 20];
    let mut start = tmp.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        start -= 2;
        if let (Some(dst), Some(src)) = (
            tmp.get_mut(start..start + 2),
            DIGIT_PAIRS.get(pair..pair + 2),
        ) {
            dst.copy_from_slice(src);
        }
    }
    if v >= 10 {
        let pair = v as usize * 2;
        start -= 2;
        if let (Some(dst), Some(src)) = (
            tmp.get_mut(start..start + 2),
            DIGIT_PAIRS.get(pair..pair + 2),
        ) {
            dst.copy_from_slice(src);
        }
    } else {
        start -= 1;
        if let Some(d) = tmp.get_mut(start) {
            *d = b'0' + v as u8;
        }
    }
    (tmp, start)
}

/// Appends `s` without any NUL byte it holds, then the terminator: a NUL
/// inside a field would end it early and desynchronise the peer.
#[inline]
pub(crate) fn put_cstr_lossy(buf: &mut BytesMut, s: &str) {
    // `str::split` on a char finds the NULs with memchr; nearly always
    // there is one part.
    for part in s.split('\0') {
        buf.put_slice(part.as_bytes());
    }
    buf.put_u8(0);
}
