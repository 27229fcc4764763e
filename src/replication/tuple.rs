//! TupleData of `pgoutput` (Insert, Update, Delete): one entry per column,
//! null, unchanged TOASTed value, text or binary.

use bytes::{BufMut, Bytes, BytesMut};

use super::reader::{DecodeResult, Reader};

/// One column of a [`TupleData`], borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TupleValue<'a> {
    /// `'n'`: NULL.
    Null,
    /// `'u'`: a TOASTed value the change did not modify; PostgreSQL does not
    /// send it (the subscriber keeps what it has).
    UnchangedToast,
    /// `'t'`: the value in text format.
    Text(&'a [u8]),
    /// `'b'`: the value in binary format (`binary 'true'`).
    Binary(&'a [u8]),
}

impl<'a> TupleValue<'a> {
    /// The text of a `Text` value, if it is UTF-8 (the database encoding a
    /// replication connection should ask for).
    pub fn as_text(&self) -> Option<&'a str> {
        match self {
            TupleValue::Text(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The bytes of a `Text` or `Binary` value.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            TupleValue::Text(b) | TupleValue::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// Is it NULL?
    pub fn is_null(&self) -> bool {
        matches!(self, TupleValue::Null)
    }

    /// Appends the wire form of this column entry.
    pub fn encode(&self, buf: &mut BytesMut) {
        match self {
            TupleValue::Null => buf.put_u8(b'n'),
            TupleValue::UnchangedToast => buf.put_u8(b'u'),
            TupleValue::Text(b) | TupleValue::Binary(b) => {
                buf.reserve(5 + b.len());
                buf.put_u8(if matches!(self, TupleValue::Text(_)) {
                    b't'
                } else {
                    b'b'
                });
                buf.put_i32(i32::try_from(b.len()).unwrap_or(i32::MAX));
                buf.put_slice(b);
            }
        }
    }
}

/// The columns of a row as `pgoutput` sends them. A view of the received
/// message, validated when decoded: iterating allocates nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct TupleData {
    /// The column entries (after the column count).
    raw: Bytes,
    columns: u16,
}

impl std::fmt::Debug for TupleData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl TupleData {
    /// Builds a tuple from column values (for publishers and tests; a
    /// publisher on a hot path writes with [`encode_values`](Self::encode_values)).
    pub fn from_values<'a>(values: impl IntoIterator<Item = TupleValue<'a>>) -> TupleData {
        let mut raw = BytesMut::new();
        let mut columns: u16 = 0;
        for v in values {
            v.encode(&mut raw);
            columns = columns.saturating_add(1);
        }
        TupleData {
            raw: raw.freeze(),
            columns,
        }
    }

    /// Appends a TupleData (column count, then each column) straight from
    /// values, without building a `TupleData`.
    pub fn encode_values<'a, I>(buf: &mut BytesMut, values: I)
    where
        I: IntoIterator<Item = TupleValue<'a>>,
        I::IntoIter: ExactSizeIterator,
    {
        let values = values.into_iter();
        buf.put_i16(i16::try_from(values.len()).unwrap_or(i16::MAX));
        for v in values.take(i16::MAX as usize) {
            v.encode(buf);
        }
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.columns.into()
    }

    /// No columns?
    pub fn is_empty(&self) -> bool {
        self.columns == 0
    }

    /// The columns in order.
    pub fn iter(&self) -> TupleIter<'_> {
        TupleIter {
            rest: &self.raw,
            left: self.columns,
        }
    }

    /// Column `i` (0-based), walking the columns before it.
    pub fn get(&self, i: usize) -> Option<TupleValue<'_>> {
        self.iter().nth(i)
    }

    /// Appends the wire form (column count, then each column).
    pub fn encode(&self, buf: &mut BytesMut) {
        buf.reserve(2 + self.raw.len());
        buf.put_u16(self.columns);
        buf.put_slice(&self.raw);
    }

    /// Reads a TupleData, checking every column entry's kind and length.
    pub(crate) fn decode(r: &mut Reader) -> DecodeResult<TupleData> {
        let count = r.i16("tuple column count")?;
        let columns =
            u16::try_from(count).map_err(|_| r.invalid("tuple column count", count.into()))?;
        let mut len = 0usize;
        {
            let bytes = r.peek();
            for _ in 0..columns {
                let Some(&kind) = bytes.get(len) else {
                    return Err(r.truncated("tuple column kind"));
                };
                len += 1;
                match kind {
                    b'n' | b'u' => {}
                    b't' | b'b' => {
                        let Some(word) = bytes.get(len..len + 4) else {
                            return Err(r.truncated("tuple column length"));
                        };
                        let n = i32::from_be_bytes([word[0], word[1], word[2], word[3]]);
                        let n = usize::try_from(n)
                            .map_err(|_| r.invalid("tuple column length", n.into()))?;
                        len += 4;
                        if bytes.len() - len < n {
                            return Err(r.truncated("tuple column value"));
                        }
                        len += n;
                    }
                    other => return Err(r.invalid("tuple column kind", other.into())),
                }
            }
        }
        Ok(TupleData {
            raw: r.take(len, "tuple data")?,
            columns,
        })
    }
}

/// The columns of a [`TupleData`].
#[derive(Debug, Clone)]
pub struct TupleIter<'a> {
    rest: &'a [u8],
    left: u16,
}

impl<'a> Iterator for TupleIter<'a> {
    type Item = TupleValue<'a>;

    fn next(&mut self) -> Option<TupleValue<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // Validated when decoded; still checked, so a bug cannot panic.
        let (&kind, rest) = self.rest.split_first()?;
        match kind {
            b'n' => {
                self.rest = rest;
                Some(TupleValue::Null)
            }
            b'u' => {
                self.rest = rest;
                Some(TupleValue::UnchangedToast)
            }
            _ => {
                let (word, rest) = rest.split_at_checked(4)?;
                let n = usize::try_from(i32::from_be_bytes(word.try_into().ok()?)).ok()?;
                let (value, rest) = rest.split_at_checked(n)?;
                self.rest = rest;
                Some(if kind == b't' {
                    TupleValue::Text(value)
                } else {
                    TupleValue::Binary(value)
                })
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left.into()))
    }
}

impl<'a> IntoIterator for &'a TupleData {
    type Item = TupleValue<'a>;
    type IntoIter = TupleIter<'a>;
    fn into_iter(self) -> TupleIter<'a> {
        self.iter()
    }
}

/// Writes a TupleData straight into a message being encoded, one column at
/// a time, so a publisher sends rows without building a [`TupleData`] or
/// a per-column buffer: a binary value is encoded in place and its length
/// filled in afterwards. The column count is filled in by
/// [`finish`](Self::finish) (or when the writer is dropped).
///
/// ```
/// use bytes::{BufMut, BytesMut};
/// use pgwire::replication::{TupleData, TupleValue, TupleWriter};
///
/// let mut buf = BytesMut::new();
/// let mut row = TupleWriter::new(&mut buf);
/// row.text(b"1");
/// row.null();
/// row.binary_with(|b| {
///     b.put_i32(7);
///     Ok::<(), ()>(())
/// })
/// .unwrap();
/// row.finish();
///
/// let mut expected = BytesMut::new();
/// TupleData::encode_values(
///     &mut expected,
///     [TupleValue::Text(b"1"), TupleValue::Null, TupleValue::Binary(&[0, 0, 0, 7])],
/// );
/// assert_eq!(buf, expected);
/// ```
#[derive(Debug)]
pub struct TupleWriter<'b> {
    buf: &'b mut BytesMut,
    count_at: usize,
    columns: u16,
}

impl<'b> TupleWriter<'b> {
    /// Starts a TupleData at the end of `buf` (its column count to come).
    pub fn new(buf: &'b mut BytesMut) -> TupleWriter<'b> {
        let count_at = buf.len();
        buf.put_i16(0);
        TupleWriter {
            buf,
            count_at,
            columns: 0,
        }
    }

    /// Appends one column as [`TupleValue`] gives it.
    pub fn value(&mut self, value: TupleValue<'_>) {
        if self.full() {
            return;
        }
        value.encode(self.buf);
        self.columns += 1;
    }

    /// Appends a NULL column.
    pub fn null(&mut self) {
        self.value(TupleValue::Null);
    }

    /// Appends a column in text format.
    pub fn text(&mut self, text: &[u8]) {
        self.value(TupleValue::Text(text));
    }

    /// Appends a column in binary format whose bytes `encode` appends to
    /// the buffer. If `encode` fails, what it wrote is taken back, no
    /// column is added, and its error is returned (the caller may then
    /// send the value another way, e.g. as text).
    pub fn binary_with<E>(
        &mut self,
        encode: impl FnOnce(&mut BytesMut) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.full() {
            return Ok(());
        }
        let start = self.buf.len();
        self.buf.put_u8(b'b');
        self.buf.put_i32(0);
        if let Err(e) = encode(self.buf) {
            self.buf.truncate(start);
            return Err(e);
        }
        let len = self.buf.len() - start - 5;
        let len = i32::try_from(len).unwrap_or(i32::MAX).to_be_bytes();
        self.buf[start + 1..start + 5].copy_from_slice(&len);
        self.columns += 1;
        Ok(())
    }

    /// The columns written so far.
    pub fn len(&self) -> usize {
        self.columns.into()
    }

    /// Whether no column was written.
    pub fn is_empty(&self) -> bool {
        self.columns == 0
    }

    /// The protocol's limit: a TupleData has at most `i16::MAX` columns;
    /// more are dropped.
    fn full(&self) -> bool {
        self.columns >= i16::MAX as u16
    }

    /// Fills in the column count (also done on drop).
    pub fn finish(self) {}
}

impl Drop for TupleWriter<'_> {
    fn drop(&mut self) {
        let count = self.columns.to_be_bytes();
        self.buf[self.count_at..self.count_at + 2].copy_from_slice(&count);
    }
}
