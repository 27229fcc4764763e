//! Views over the repeated fields of Bind, DataRow and FunctionCall: format
//! code lists and length-prefixed value lists. They keep the raw bytes and
//! are validated once when decoded, so reading them needs no allocation and
//! cannot fail.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::frame::put_count16;
use super::reader::{Body, DecodeResult, Reader};

/// A list of Int16 format codes (0 = text, 1 = binary), as in Bind,
/// FunctionCall and the COPY responses.
#[derive(Clone)]
pub struct FormatCodes {
    repr: CodesRepr,
}

/// Lists up to this many codes (nearly all of them) are stored inline.
const INLINE_CODES: usize = 8;

#[derive(Clone)]
enum CodesRepr {
    Inline {
        len: u8,
        raw: [u8; INLINE_CODES * 2],
    },
    Shared(Bytes),
}

impl Default for FormatCodes {
    fn default() -> Self {
        FormatCodes::new()
    }
}

impl PartialEq for FormatCodes {
    fn eq(&self, other: &Self) -> bool {
        self.raw() == other.raw()
    }
}

impl Eq for FormatCodes {}

impl std::hash::Hash for FormatCodes {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.raw().hash(state)
    }
}

impl FormatCodes {
    /// An empty list (meaning "all text" in Bind).
    pub const fn new() -> Self {
        FormatCodes {
            repr: CodesRepr::Inline {
                len: 0,
                raw: [0; INLINE_CODES * 2],
            },
        }
    }

    /// A list holding `codes`.
    pub fn from_codes(codes: &[i16]) -> Self {
        let mut b = BytesMut::with_capacity(codes.len() * 2);
        for c in codes {
            b.put_i16(*c);
        }
        Self::from_raw(&b)
    }

    fn from_raw(raw: &[u8]) -> Self {
        if raw.len() <= INLINE_CODES * 2 {
            let mut inline = [0u8; INLINE_CODES * 2];
            if let Some(dst) = inline.get_mut(..raw.len()) {
                dst.copy_from_slice(raw);
                return FormatCodes {
                    repr: CodesRepr::Inline {
                        len: raw.len() as u8,
                        raw: inline,
                    },
                };
            }
        }
        FormatCodes {
            repr: CodesRepr::Shared(Bytes::copy_from_slice(raw)),
        }
    }

    /// The codes as sent: big-endian Int16s.
    fn raw(&self) -> &[u8] {
        match &self.repr {
            CodesRepr::Inline { len, raw } => raw.get(..*len as usize).unwrap_or(&[]),
            CodesRepr::Shared(b) => b,
        }
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        self.raw().len() / 2
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.raw().is_empty()
    }

    /// The `i`-th code.
    pub fn get(&self, i: usize) -> Option<i16> {
        let start = i.checked_mul(2)?;
        let &[a, b] = self.raw().get(start..start.checked_add(2)?)? else {
            return None;
        };
        Some(i16::from_be_bytes([a, b]))
    }

    /// The codes in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = i16> + '_ {
        self.raw()
            .chunks_exact(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]))
    }

    /// The first code that is neither 0 (text) nor 1 (binary), if any.
    #[inline]
    pub fn first_invalid(&self) -> Option<i16> {
        let raw = self.raw();
        if raw.is_empty() {
            return None;
        }
        raw.chunks_exact(2)
            .find(|c| c[0] != 0 || c[1] > 1)
            .map(|c| i16::from_be_bytes([c[0], c[1]]))
    }

    /// The format of column (or parameter) `i` of `n` under the protocol's
    /// rule: no codes = all text; one code = applies to all; otherwise one
    /// code per column. `None` if the list has a count other than 0, 1 or n,
    /// or `i` is out of range.
    pub fn format_for(&self, i: usize, n: usize) -> Option<i16> {
        if i >= n {
            return None;
        }
        match self.len() {
            0 => Some(0),
            1 => self.get(0),
            m if m == n => self.get(i),
            _ => None,
        }
    }

    pub(crate) fn decode<B: Body>(r: &mut Reader<B>) -> DecodeResult<Self> {
        let n = r.count16()?;
        // Nearly every Bind says "all text" (no codes) or gives one code.
        if n == 0 {
            return Ok(Self::new());
        }
        if n == 1 {
            let [a, b] = r.i16()?.to_be_bytes();
            let raw = [a, b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            return Ok(FormatCodes {
                repr: CodesRepr::Inline { len: 2, raw },
            });
        }
        if n <= INLINE_CODES {
            // Zero-padded, as the inline form keeps it.
            let raw = r.take_slice(n * 2)?;
            return Ok(FormatCodes {
                repr: CodesRepr::Inline {
                    len: (n * 2) as u8,
                    raw,
                },
            });
        }
        Ok(FormatCodes {
            repr: CodesRepr::Shared(r.take(n * 2)?),
        })
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut) {
        put_count16(buf, self.len());
        buf.put_slice(self.raw());
    }
}

impl fmt::Debug for FormatCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<const N: usize> From<[i16; N]> for FormatCodes {
    fn from(codes: [i16; N]) -> Self {
        FormatCodes::from_codes(&codes)
    }
}

impl From<&[i16]> for FormatCodes {
    fn from(codes: &[i16]) -> Self {
        FormatCodes::from_codes(codes)
    }
}

/// A list of values, each an Int32 length (-1 for NULL) followed by that
/// many bytes: the parameters of Bind, the columns of DataRow, the arguments
/// of FunctionCall.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ValueList {
    count: u16,
    raw: Bytes,
}

impl ValueList {
    /// An empty list.
    pub const fn new() -> Self {
        ValueList {
            count: 0,
            raw: Bytes::new(),
        }
    }

    /// A list holding `values` (`None` = NULL). At most `u16::MAX` values
    /// can be represented (the count is an unsigned Int16); more are cut
    /// off.
    pub fn from_values<I, V>(values: I) -> Self
    where
        I: IntoIterator<Item = Option<V>>,
        V: AsRef<[u8]>,
    {
        let mut raw = BytesMut::new();
        let mut count = 0u16;
        for v in values {
            if count == u16::MAX {
                break;
            }
            match v {
                None => raw.put_i32(-1),
                Some(v) => {
                    let v = v.as_ref();
                    raw.put_i32(v.len() as i32);
                    raw.put_slice(v);
                }
            }
            count += 1;
        }
        ValueList {
            count,
            raw: raw.freeze(),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The values in order, `None` for NULL, as slices of the message.
    pub fn iter(&self) -> ValueIter<'_> {
        ValueIter {
            rest: &self.raw,
            left: self.count,
        }
    }

    /// The values in order as [`Bytes`] sharing the message buffer.
    pub fn iter_bytes(&self) -> impl Iterator<Item = Option<Bytes>> + '_ {
        let base = self.raw.as_ptr() as usize;
        self.iter().map(move |v| {
            v.map(|s| {
                let start = s.as_ptr() as usize - base;
                self.raw.slice(start..start + s.len())
            })
        })
    }

    /// The `i`-th value (`Some(None)` for NULL), walking the list.
    pub fn get(&self, i: usize) -> Option<Option<&[u8]>> {
        self.iter().nth(i)
    }

    /// The encoded values without the leading count.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// Decodes a count and that many values. A negative length other than -1
    /// is reported as [`DecodeError::InvalidValue`] named `negative_length`
    /// if given, else as truncation: PostgreSQL says "insufficient data left
    /// in message" for a Bind parameter of length -2 but "invalid argument
    /// size" for a FunctionCall argument.
    ///
    /// [`DecodeError::InvalidValue`]: super::DecodeError::InvalidValue
    pub(crate) fn decode<B: Body>(
        r: &mut Reader<B>,
        negative_length: Option<&'static str>,
    ) -> DecodeResult<Self> {
        let count = r.count16()?;
        // Walk the lengths once to validate them, then keep the bytes as one
        // view; iteration later needs no checks that could fail.
        let mut size = 0usize;
        let mut probe = r.peek_rest();
        for _ in 0..count {
            let Some(&[a, b, c, d]) = probe.get(..4) else {
                return Err(r.truncated());
            };
            let len = i32::from_be_bytes([a, b, c, d]);
            let skip = if len == -1 {
                4
            } else if len < 0 {
                return Err(match negative_length {
                    Some(what) => r.invalid(what, len.into()),
                    None => r.truncated(),
                });
            } else {
                4 + len as usize
            };
            probe = probe.get(skip..).ok_or_else(|| r.truncated())?;
            size += skip;
        }
        Ok(ValueList {
            // At most u16::MAX: read from an Int16.
            count: count as u16,
            raw: if size == 0 {
                Bytes::new()
            } else {
                r.take(size)?
            },
        })
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut) {
        buf.put_u16(self.count);
        buf.put_slice(&self.raw);
    }
}

impl fmt::Debug for ValueList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|v| v.map(Bytes::copy_from_slice)))
            .finish()
    }
}

/// Iterator over a [`ValueList`].
#[derive(Debug, Clone)]
pub struct ValueIter<'a> {
    rest: &'a [u8],
    left: u16,
}

impl<'a> Iterator for ValueIter<'a> {
    type Item = Option<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (&[a, b, c, d], rest) = self.rest.split_first_chunk::<4>()?;
        let len = i32::from_be_bytes([a, b, c, d]);
        if len < 0 {
            self.rest = rest;
            return Some(None);
        }
        let (value, rest) = rest.split_at_checked(len as usize)?;
        self.rest = rest;
        Some(Some(value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Validated when decoded: exactly `left` values remain.
        (self.left as usize, Some(self.left as usize))
    }
}

impl ExactSizeIterator for ValueIter<'_> {}
