//! RowDescription ('T') and DataRow ('D').

use bytes::{BufMut, Bytes, BytesMut};

use super::frame;
use super::reader::Reader;
use super::{ByteStr, DecodeError, Message, Oid, ValueList};

/// One column of a RowDescription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDescription {
    /// Column name.
    pub name: ByteStr,
    /// OID of the table the column comes from, or 0.
    pub table_oid: Oid,
    /// Attribute number of the column in that table, or 0.
    pub column_id: i16,
    /// OID of the column's data type.
    pub type_oid: Oid,
    /// `pg_type.typlen`: the type's size, negative for variable-width types.
    pub type_size: i16,
    /// `pg_attribute.atttypmod`: type modifier, -1 if none.
    pub type_modifier: i32,
    /// Format code: 0 = text, 1 = binary (always 0 when describing a
    /// statement, as the format is not known yet).
    pub format: i16,
}

impl FieldDescription {
    /// The same column as borrowed data.
    pub fn to_ref(&self) -> FieldDescriptionRef<'_> {
        FieldDescriptionRef {
            name: self.name.as_str(),
            table_oid: self.table_oid,
            column_id: self.column_id,
            type_oid: self.type_oid,
            type_size: self.type_size,
            type_modifier: self.type_modifier,
            format: self.format,
        }
    }
}

/// One column of a RowDescription as borrowed data, for
/// [`RowDescription::encode_fields`]: a server describes its columns from
/// its own schema type without building [`FieldDescription`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDescriptionRef<'a> {
    /// Column name.
    pub name: &'a str,
    /// OID of the table the column comes from, or 0.
    pub table_oid: Oid,
    /// Attribute number of the column in that table, or 0.
    pub column_id: i16,
    /// OID of the column's data type.
    pub type_oid: Oid,
    /// `pg_type.typlen`: the type's size, negative for variable-width types.
    pub type_size: i16,
    /// `pg_attribute.atttypmod`: type modifier, -1 if none.
    pub type_modifier: i32,
    /// Format code: 0 = text, 1 = binary.
    pub format: i16,
}

/// RowDescription ('T'): the columns of the rows that follow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowDescription {
    /// The columns, in order.
    pub fields: Vec<FieldDescription>,
}

impl RowDescription {
    /// Appends a RowDescription of `fields`, in order, straight into `buf`
    /// (no message struct, no allocation). The field count is an unsigned
    /// Int16: fields past the 65,535th are not written.
    #[inline]
    pub fn encode_fields<'a>(
        buf: &mut BytesMut,
        fields: impl IntoIterator<Item = FieldDescriptionRef<'a>>,
    ) {
        frame::write(buf, Self::TAG, |buf| encode_field_list(buf, fields));
    }
}

/// Writes the count and the fields; the count is patched in afterwards so
/// any iterator will do.
fn encode_field_list<'a>(
    buf: &mut BytesMut,
    fields: impl IntoIterator<Item = FieldDescriptionRef<'a>>,
) {
    let at = buf.len();
    buf.put_u16(0);
    let mut n: u16 = 0;
    for f in fields {
        if n == u16::MAX {
            break;
        }
        buf.put_slice(f.name.as_bytes());
        buf.put_u8(0);
        buf.put_u32(f.table_oid);
        buf.put_i16(f.column_id);
        buf.put_u32(f.type_oid);
        buf.put_i16(f.type_size);
        buf.put_i32(f.type_modifier);
        buf.put_i16(f.format);
        n += 1;
    }
    if let Some(slot) = buf.get_mut(at..at + 2) {
        slot.copy_from_slice(&n.to_be_bytes());
    }
}

impl Message for RowDescription {
    const NAME: &'static str = "RowDescription";
    const TAG: Option<u8> = Some(b'T');

    fn encode_body(&self, buf: &mut BytesMut) {
        encode_field_list(buf, self.fields.iter().map(FieldDescription::to_ref));
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let n = r.count16()?;
        // Each field takes at least 19 bytes: do not let a false count size
        // the allocation.
        if r.remaining() < n * 19 {
            return Err(r.truncated());
        }
        let mut fields = Vec::with_capacity(n);
        for _ in 0..n {
            fields.push(FieldDescription {
                name: r.cstr()?,
                table_oid: r.u32()?,
                column_id: r.i16()?,
                type_oid: r.u32()?,
                type_size: r.i16()?,
                type_modifier: r.i32()?,
                format: r.i16()?,
            });
        }
        r.finish()?;
        Ok(RowDescription { fields })
    }
}

/// DataRow ('D'): one row of a result, each column a value or NULL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataRow {
    /// The column values.
    pub values: ValueList,
}

impl DataRow {
    /// A row holding `values` (`None` = NULL).
    pub fn new<I, V>(values: I) -> Self
    where
        I: IntoIterator<Item = Option<V>>,
        V: AsRef<[u8]>,
    {
        DataRow {
            values: ValueList::from_values(values),
        }
    }
}

/// A DataRow written value by value straight into a buffer, for a server
/// that encodes each value where it goes: [`DataRow::begin_frame`], then
/// for each column [`DataRow::put_null`], [`DataRow::put_value`] or
/// [`DataRow::begin_value`] ... [`DataRow::finish_value`], then
/// [`DataRow::finish_frame`].
impl DataRow {
    /// Starts a DataRow of `columns` values at the end of `buf`; returns
    /// where it starts. Counts are Int16: at most 65,535 columns.
    #[inline]
    pub fn begin_frame(buf: &mut BytesMut, columns: usize) -> usize {
        let start = buf.len();
        buf.reserve(7 + columns * 8);
        let [c0, c1] = (columns.min(u16::MAX as usize) as u16).to_be_bytes();
        // One append of a fixed size: per-field appends cost more than the
        // bytes they write.
        buf.put_slice(&[b'D', 0, 0, 0, 0, c0, c1]);
        start
    }

    /// Ends the DataRow that [`DataRow::begin_frame`] started at `start`.
    #[inline]
    pub fn finish_frame(buf: &mut BytesMut, start: usize) {
        let len = (buf.len() - start - 1) as u32;
        buf[start + 1..start + 5].copy_from_slice(&len.to_be_bytes());
    }

    /// Appends a NULL value.
    #[inline]
    pub fn put_null(buf: &mut BytesMut) {
        buf.put_i32(-1);
    }

    /// Appends a value given whole.
    #[inline]
    pub fn put_value(buf: &mut BytesMut, value: &[u8]) {
        buf.put_u32(value.len() as u32);
        buf.put_slice(value);
    }

    /// Starts a value whose bytes the caller appends next; returns where
    /// its length word is, for [`DataRow::finish_value`].
    #[inline]
    pub fn begin_value(buf: &mut BytesMut) -> usize {
        let at = buf.len();
        buf.put_i32(0);
        at
    }

    /// Ends the value that [`DataRow::begin_value`] started at `at`.
    #[inline]
    pub fn finish_value(buf: &mut BytesMut, at: usize) {
        let len = (buf.len() - at - 4) as u32;
        buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
}

impl Message for DataRow {
    const NAME: &'static str = "DataRow";
    const TAG: Option<u8> = Some(b'D');

    fn encode_body(&self, buf: &mut BytesMut) {
        self.values.encode(buf);
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let values = ValueList::decode(&mut r, None)?;
        r.finish()?;
        Ok(DataRow { values })
    }
}
