//! `ByteStr`: a UTF-8 string that shares the buffer it was received in, or
//! holds a short one inline.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// An immutable UTF-8 string backed by [`Bytes`].
///
/// Decoded messages hand out their string fields (query text, statement
/// and portal names, parameter names) as `ByteStr`s. Long ones are views of
/// the read buffer, so decoding does not copy them; short ones (names, most
/// of the time) are copied inline, which is cheaper than sharing the buffer
/// (no reference count to touch) and does not keep it alive. The contents
/// are checked to be UTF-8 when the value is created.
#[derive(Clone)]
pub struct ByteStr(Repr);

/// Strings up to this many bytes are stored inline.
const INLINE_CAP: usize = 22;

#[derive(Clone)]
enum Repr {
    /// `buf` is zero past `len` (relied on by `PartialEq`).
    Inline {
        len: u8,
        buf: [u8; INLINE_CAP],
    },
    Shared(Bytes),
}

impl Default for ByteStr {
    fn default() -> Self {
        ByteStr::new()
    }
}

impl ByteStr {
    /// An empty string (the unnamed statement or portal, for example).
    pub const fn new() -> Self {
        ByteStr(Repr::Inline {
            len: 0,
            buf: [0; INLINE_CAP],
        })
    }

    /// A string from a `'static` literal, without copying.
    pub const fn from_static(s: &'static str) -> Self {
        ByteStr(Repr::Shared(Bytes::from_static(s.as_bytes())))
    }

    /// Checks that `bytes` is UTF-8 and wraps it.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(ByteStr(Repr::Shared(bytes)))
    }

    /// Like [`ByteStr::from_utf8`], but hands the bytes back on failure so
    /// the caller can quote the offending sequence.
    pub(crate) fn from_utf8_or_back(bytes: Bytes) -> Result<Self, (Bytes, std::str::Utf8Error)> {
        match std::str::from_utf8(&bytes) {
            Ok(_) => Ok(ByteStr(Repr::Shared(bytes))),
            Err(e) => Err((bytes, e)),
        }
    }

    /// Checks that `bytes` is UTF-8 and copies it, if it is short enough
    /// to be stored inline; `None` if it is too long.
    pub(crate) fn inline_from_utf8(bytes: &[u8]) -> Option<Result<Self, std::str::Utf8Error>> {
        if bytes.len() > INLINE_CAP {
            return None;
        }
        // Names are nearly always ASCII, which is quicker to check.
        if !bytes.is_ascii() {
            if let Err(e) = std::str::from_utf8(bytes) {
                return Some(Err(e));
            }
        }
        let mut buf = [0u8; INLINE_CAP];
        buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Ok(ByteStr(Repr::Inline {
            len: bytes.len() as u8,
            buf,
        })))
    }

    /// Reads a NUL-terminated string from the front of `bytes`, if it is
    /// ASCII and short enough to be stored inline: the string and the
    /// position of its NUL. `None` otherwise (the general path then reads
    /// it). Names and short queries, read from every message, are nearly
    /// always such strings, so this looks at eight bytes at a time: a byte
    /// loop costs several instructions per byte, and copying the string
    /// out afterwards costs a library call.
    #[inline]
    pub(crate) fn short_ascii_cstr(bytes: &[u8]) -> Option<(Self, usize)> {
        const WINDOW: usize = 24;
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        // The unnamed statement and portal: the commonest name of all.
        if bytes.first() == Some(&0) {
            return Some((ByteStr::new(), 0));
        }
        let read = bytes.len().min(WINDOW);
        let mut words = [0u64; WINDOW / 8];
        let word_at = |k: usize| {
            bytes
                .get(k * 8..k * 8 + 8)
                .and_then(|w| w.try_into().ok())
                .map(u64::from_le_bytes)
        };
        match (word_at(0), word_at(1), word_at(2)) {
            // Long enough to load the words straight from the input.
            (Some(a), Some(b), Some(c)) => words = [a, b, c],
            _ => {
                let mut window = [0u8; WINDOW];
                window.get_mut(..read)?.copy_from_slice(bytes.get(..read)?);
                for (word, chunk) in words.iter_mut().zip(window.chunks_exact(8)) {
                    *word = u64::from_le_bytes(chunk.try_into().ok()?);
                }
            }
        }
        // The first zero byte: the lowest flag of `(w - ONES) & !w & HIGH`
        // (borrows only ever flag bytes above a real zero).
        let mut end = WINDOW;
        for (k, &w) in words.iter().enumerate() {
            let zeros = w.wrapping_sub(ONES) & !w & HIGH;
            if zeros != 0 {
                end = k * 8 + (zeros.trailing_zeros() / 8) as usize;
                break;
            }
        }
        // A zero past the bytes read is padding, not the terminator.
        if end >= read || end > INLINE_CAP {
            return None;
        }
        // Keep the bytes before the NUL (the inline buffer is zero past
        // the length), and require them to be ASCII.
        let mut buf = [0u8; INLINE_CAP];
        let mut out = [0u8; WINDOW];
        for (k, (word, chunk)) in words.iter().zip(out.chunks_exact_mut(8)).enumerate() {
            let keep = end.saturating_sub(k * 8).min(8);
            let mask = if keep == 8 {
                u64::MAX
            } else {
                (1u64 << (keep * 8)) - 1
            };
            let w = word & mask;
            if w & HIGH != 0 {
                return None;
            }
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        buf.copy_from_slice(out.get(..INLINE_CAP)?);
        Some((
            ByteStr(Repr::Inline {
                len: end as u8,
                buf,
            }),
            end,
        ))
    }

    /// Whether the string is stored inline (not a view of a shared buffer).
    #[inline]
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }

    /// The string.
    #[inline]
    #[allow(unsafe_code)]
    pub fn as_str(&self) -> &str {
        let bytes = self.as_bytes();
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        // SAFETY: every constructor checks (or is given, as `&str`/`String`)
        // valid UTF-8, and the bytes are immutable. Checking again on every
        // access cost about 6% of the instructions of a simple query in the
        // benchmark server (callgrind): query text is read several times.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// The underlying bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => buf.get(..*len as usize).unwrap_or(&[]),
            Repr::Shared(b) => b,
        }
    }

    /// The contents as [`Bytes`] (without copying when they are shared).
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Repr::Inline { .. } => Bytes::copy_from_slice(self.as_bytes()),
            Repr::Shared(b) => b,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}

impl PartialEq for ByteStr {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            // Inline buffers are zero past their length (every constructor
            // starts from zeros), so whole buffers compare: a few word
            // compares instead of a call (statement names are compared on
            // every Bind).
            (Repr::Inline { len: a, buf: x }, Repr::Inline { len: b, buf: y }) => a == b && x == y,
            _ => self.as_bytes() == other.as_bytes(),
        }
    }
}

impl Eq for ByteStr {}

impl std::hash::Hash for ByteStr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Hash as `str` does, so `Borrow<str>` lookups work.
        self.as_str().hash(state)
    }
}

impl PartialOrd for ByteStr {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByteStr {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Deref for ByteStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ByteStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for ByteStr {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<str> for ByteStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for ByteStr {
    fn from(s: &'static str) -> Self {
        ByteStr::from_static(s)
    }
}

impl From<String> for ByteStr {
    fn from(s: String) -> Self {
        match ByteStr::inline_from_utf8(s.as_bytes()) {
            Some(Ok(b)) => b,
            _ => ByteStr(Repr::Shared(Bytes::from(s))),
        }
    }
}

impl From<&String> for ByteStr {
    fn from(s: &String) -> Self {
        match ByteStr::inline_from_utf8(s.as_bytes()) {
            Some(Ok(b)) => b,
            _ => ByteStr(Repr::Shared(Bytes::copy_from_slice(s.as_bytes()))),
        }
    }
}

impl From<ByteStr> for String {
    fn from(s: ByteStr) -> Self {
        s.as_str().to_owned()
    }
}

impl PartialEq<str> for ByteStr {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for ByteStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Debug for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod equality_tests {
    use super::*;

    #[test]
    fn equal_whatever_the_representation() {
        let inline = |s: &str| ByteStr::inline_from_utf8(s.as_bytes()).unwrap().unwrap();
        let shared = |s: &'static str| ByteStr::from_static(s);
        assert_eq!(inline("s1"), inline("s1"));
        assert_eq!(inline("s1"), shared("s1"));
        assert_eq!(shared("s1"), inline("s1"));
        assert_ne!(inline("s1"), inline("s12"));
        assert_ne!(inline("s1"), inline("s2"));
        assert_ne!(inline(""), inline("\0"));
        assert_eq!(ByteStr::new(), inline(""));
        assert_eq!(ByteStr::from(String::from("abc")), inline("abc"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `short_ascii_cstr` must return, written the obvious way.
    fn expected(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
        let end = bytes.iter().position(|&b| b == 0)?;
        let s = &bytes[..end];
        (end <= INLINE_CAP && s.is_ascii()).then(|| (s.to_vec(), end))
    }

    #[test]
    fn short_ascii_cstr_agrees_with_a_byte_loop() {
        let mut checked = 0;
        for len in 0usize..40 {
            for nul in [
                None,
                Some(0),
                Some(1),
                Some(7),
                Some(8),
                Some(15),
                Some(21),
                Some(22),
            ]
            .into_iter()
            .chain([Some(23), Some(24), Some(len.saturating_sub(1))])
            {
                for high in [None, Some(0), Some(5), Some(9), Some(20), Some(30)] {
                    let mut bytes: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                    if let Some(h) = high.filter(|&h| h < len) {
                        bytes[h] = 0xC3;
                    }
                    if let Some(n) = nul.filter(|&n| n < len) {
                        bytes[n] = 0;
                    }
                    let got = ByteStr::short_ascii_cstr(&bytes);
                    let want = expected(&bytes);
                    match (&got, &want) {
                        (Some((s, end)), Some((w, wend))) => {
                            assert_eq!((s.as_bytes(), *end), (&w[..], *wend), "{bytes:?}");
                            // Equal to the same string built another way
                            // (inline buffers must be zero past the length).
                            assert!(*s == ByteStr::from(String::from_utf8(w.clone()).unwrap()));
                        }
                        (None, None) => {}
                        _ => panic!(
                            "{bytes:?}: got {got:?}, want {want:?}",
                            got = got.map(|g| g.1)
                        ),
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000);
    }
}
