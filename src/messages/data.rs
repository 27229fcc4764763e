//! RowDescription ('T') and DataRow ('D').

use bytes::{BufMut, Bytes, BytesMut};

use super::frame::{put_count16, put_cstr};
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

/// RowDescription ('T'): the columns of the rows that follow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowDescription {
    /// The columns, in order.
    pub fields: Vec<FieldDescription>,
}

impl Message for RowDescription {
    const NAME: &'static str = "RowDescription";
    const TAG: Option<u8> = Some(b'T');

    fn encode_body(&self, buf: &mut BytesMut) {
        put_count16(buf, self.fields.len());
        for f in &self.fields {
            put_cstr(buf, f.name.as_bytes());
            buf.put_u32(f.table_oid);
            buf.put_i16(f.column_id);
            buf.put_u32(f.type_oid);
            buf.put_i16(f.type_size);
            buf.put_i32(f.type_modifier);
            buf.put_i16(f.format);
        }
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body, Self::NAME);
        let n = r.count16("field count")?;
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

impl Message for DataRow {
    const NAME: &'static str = "DataRow";
    const TAG: Option<u8> = Some(b'D');

    fn encode_body(&self, buf: &mut BytesMut) {
        self.values.encode(buf);
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body, Self::NAME);
        let values = ValueList::decode(&mut r, "column count")?;
        r.finish()?;
        Ok(DataRow { values })
    }
}
