//! Encoding result rows straight into DataRow frames.

use bytes::{BufMut, Bytes, BytesMut};
use postgres_types::{IsNull, ToSql};

use super::text;
use super::{FieldFormat, FieldInfo, FormatSettings, Schema};
use crate::error::{ErrorInfo, SqlState};
use crate::messages::{DataRow, FormatCodes};

/// Writes one DataRow message, value by value, into a buffer (usually the
/// connection's write buffer, so rows are never copied).
///
/// Each value is encoded for its column: the column's type picks the
/// `ToSql` conversion and the result format the client asked for picks
/// text or binary. A row left unfinished (dropped before [`finish`], or
/// after an error) is removed from the buffer, so a failed row never
/// reaches the client half-written.
///
/// [`finish`]: DataRowEncoder::finish
pub struct DataRowEncoder<'a> {
    buf: &'a mut BytesMut,
    fields: &'a [FieldInfo],
    formats: &'a FormatCodes,
    scratch: &'a mut BytesMut,
    start: usize,
    col: usize,
    /// The format of every column, when the codes say one for all (the
    /// usual case), so it is not looked up per value.
    uniform: Option<FieldFormat>,
    /// The session's TimeZone, DateStyle... for text-format values.
    settings: &'a FormatSettings,
    finished: bool,
}

impl<'a> DataRowEncoder<'a> {
    /// Starts a row at the end of `buf`. `formats` are the result format
    /// codes as sent in Bind (empty = all text). `scratch` is reused for
    /// text conversions.
    pub fn new(
        buf: &'a mut BytesMut,
        fields: &'a [FieldInfo],
        formats: &'a FormatCodes,
        scratch: &'a mut BytesMut,
    ) -> Self {
        let start = DataRow::begin_frame(buf, fields.len());
        let uniform = match formats.len() {
            0 => Some(FieldFormat::Text),
            1 => formats.get(0).and_then(FieldFormat::from_code),
            _ => None,
        };
        DataRowEncoder {
            buf,
            fields,
            formats,
            scratch,
            start,
            col: 0,
            uniform,
            settings: FormatSettings::default_ref(),
            finished: false,
        }
    }

    /// Prints text-format values with the session's settings (TimeZone,
    /// DateStyle, IntervalStyle, extra_float_digits, bytea_output) rather
    /// than PostgreSQL's defaults.
    pub fn with_format_settings(mut self, settings: &'a FormatSettings) -> Self {
        self.settings = settings;
        self
    }

    #[inline]
    fn next_field(&self) -> Result<&'a FieldInfo, ErrorInfo> {
        match self.fields.get(self.col) {
            Some(field) => Ok(field),
            None => Err(self.too_many_values()),
        }
    }

    #[cold]
    fn too_many_values(&self) -> ErrorInfo {
        ErrorInfo::new(
            SqlState::INTERNAL_ERROR,
            format!(
                "row has more values than the {} columns of its result",
                self.fields.len()
            ),
        )
    }

    /// The format of the next column.
    #[inline]
    pub fn next_format(&self) -> FieldFormat {
        if let Some(f) = self.uniform {
            return f;
        }
        self.formats
            .format_for(self.col, self.fields.len())
            .and_then(FieldFormat::from_code)
            .unwrap_or(FieldFormat::Text)
    }

    /// The next column, if any.
    pub fn next_column(&self) -> Option<&'a FieldInfo> {
        self.fields.get(self.col)
    }

    /// Encodes `value` as the next column (NULL if `value` says so, e.g.
    /// `None::<i32>`).
    #[inline]
    pub fn encode_field<T: ToSql + ?Sized>(&mut self, value: &T) -> Result<(), ErrorInfo> {
        let field = self.next_field()?;
        // Binary results, and text for the types whose binary form is
        // their text, are written straight into the row: inline, as this
        // runs for every value of every row.
        if self.next_format() == FieldFormat::Binary || text::oid_binary_is_text(field.type_oid()) {
            let at = DataRow::begin_value(self.buf);
            match value.to_sql_checked(field.datatype(), self.buf) {
                Ok(IsNull::No) => DataRow::finish_value(self.buf, at),
                Ok(IsNull::Yes) => {
                    self.buf.truncate(at);
                    DataRow::put_null(self.buf);
                }
                Err(e) => {
                    self.buf.truncate(at);
                    return Err(cannot_encode(field, &*e));
                }
            }
            self.col += 1;
            return Ok(());
        }
        self.encode_text_field(field, value)
    }

    /// A text-format value converted from the binary form `ToSql` writes.
    fn encode_text_field<T: ToSql + ?Sized>(
        &mut self,
        field: &FieldInfo,
        value: &T,
    ) -> Result<(), ErrorInfo> {
        let ty = field.datatype();
        let at = DataRow::begin_value(self.buf);
        self.scratch.clear();
        match value.to_sql_checked(ty, self.scratch) {
            Ok(IsNull::Yes) => {
                self.buf.truncate(at);
                DataRow::put_null(self.buf);
            }
            Ok(IsNull::No) => {
                if let Err(e) = text::binary_to_text_for_oid(
                    ty,
                    field.type_oid(),
                    self.scratch,
                    self.settings,
                    self.buf,
                ) {
                    self.buf.truncate(at);
                    return Err(e);
                }
                DataRow::finish_value(self.buf, at);
            }
            Err(e) => {
                self.buf.truncate(at);
                return Err(cannot_encode(field, &*e));
            }
        }
        self.col += 1;
        Ok(())
    }

    /// Encodes NULL as the next column.
    pub fn encode_null(&mut self) -> Result<(), ErrorInfo> {
        self.next_field()?;
        DataRow::put_null(self.buf);
        self.col += 1;
        Ok(())
    }

    /// The settings text-format values are printed with.
    pub fn format_settings(&self) -> &'a FormatSettings {
        self.settings
    }

    /// Encodes a value given in PostgreSQL's text form as printed with the
    /// default settings (`"42"`, `"t"`, `"2024-01-31"`,
    /// `"2024-01-31 13:45:00+00"`). In binary format it is parsed for the
    /// column's type. In text format it is sent as is, unless the
    /// session's settings print the column's type differently (a
    /// `timestamptz` in another TimeZone, a `date` in German style...):
    /// then it is read as PostgreSQL reads it by default and printed the
    /// session's way. Text that does not read as the type is sent as is.
    pub fn encode_text(&mut self, value: &str) -> Result<(), ErrorInfo> {
        let field = self.next_field()?;
        let at = DataRow::begin_value(self.buf);
        if self.next_format() == FieldFormat::Text {
            let ty = field.datatype();
            let restyled = self.settings.changes_text_of(ty) && {
                self.scratch.clear();
                text::text_to_binary(ty, value, self.scratch).is_ok()
                    && text::binary_to_text_with(ty, self.scratch, self.settings, self.buf).is_ok()
            };
            if !restyled {
                self.buf.truncate(at + 4);
                self.buf.put_slice(value.as_bytes());
            }
        } else if let Err(e) =
            text::text_to_binary_with(field.datatype(), value, self.settings, self.buf)
        {
            self.buf.truncate(at);
            return Err(e);
        }
        DataRow::finish_value(self.buf, at);
        self.col += 1;
        Ok(())
    }

    /// Writes the next column's bytes as given (`None` = NULL). The caller
    /// is responsible for them being in the column's format.
    pub fn encode_raw(&mut self, value: Option<&[u8]>) -> Result<(), ErrorInfo> {
        self.next_field()?;
        match value {
            None => DataRow::put_null(self.buf),
            Some(v) => DataRow::put_value(self.buf, v),
        }
        self.col += 1;
        Ok(())
    }

    /// Completes the row. Fails (and removes the row) if fewer values than
    /// columns were written.
    pub fn finish(mut self) -> Result<(), ErrorInfo> {
        if self.col != self.fields.len() {
            return Err(ErrorInfo::new(
                SqlState::INTERNAL_ERROR,
                format!(
                    "row has {} values but its result has {} columns",
                    self.col,
                    self.fields.len()
                ),
            ));
        }
        DataRow::finish_frame(self.buf, self.start);
        self.finished = true;
        Ok(())
    }
}

impl Drop for DataRowEncoder<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.buf.truncate(self.start);
        }
    }
}

/// A row that knows how to encode itself: tuples of `ToSql` values, slices
/// of `&dyn ToSql`, or your own types.
///
/// ```
/// use pgwire::types::{EncodeRow, FieldInfo, RowBatch, Type};
///
/// let schema = vec![FieldInfo::new("id", Type::INT4), FieldInfo::new("name", Type::TEXT)];
/// let mut batch = RowBatch::new(schema.into(), Default::default());
/// batch.push(&(1i32, "one")).unwrap();
/// batch.push(&(2i32, None::<&str>)).unwrap();
/// assert_eq!(batch.len(), 2);
/// ```
pub trait EncodeRow {
    /// Encodes every column of the row through `row`.
    fn encode_row(&self, row: &mut DataRowEncoder<'_>) -> Result<(), ErrorInfo>;
}

impl<R: EncodeRow + ?Sized> EncodeRow for &R {
    fn encode_row(&self, row: &mut DataRowEncoder<'_>) -> Result<(), ErrorInfo> {
        (**self).encode_row(row)
    }
}

impl EncodeRow for [&(dyn ToSql + Sync)] {
    fn encode_row(&self, row: &mut DataRowEncoder<'_>) -> Result<(), ErrorInfo> {
        for v in self {
            row.encode_field(*v)?;
        }
        Ok(())
    }
}

impl EncodeRow for Vec<Box<dyn ToSql + Send + Sync>> {
    fn encode_row(&self, row: &mut DataRowEncoder<'_>) -> Result<(), ErrorInfo> {
        for v in self {
            row.encode_field(v.as_ref())?;
        }
        Ok(())
    }
}

macro_rules! tuple_rows {
    ($(($($name:ident),+))*) => {
        $(
            impl<$($name: ToSql),+> EncodeRow for ($($name,)+) {
                #[allow(non_snake_case)]
                fn encode_row(&self, row: &mut DataRowEncoder<'_>) -> Result<(), ErrorInfo> {
                    let ($($name,)+) = self;
                    $(row.encode_field($name)?;)+
                    Ok(())
                }
            }
        )*
    };
}

tuple_rows! {
    (A)
    (A, B)
    (A, B, C)
    (A, B, C, D)
    (A, B, C, D, E)
    (A, B, C, D, E, F)
    (A, B, C, D, E, F, G)
    (A, B, C, D, E, F, G, H)
    (A, B, C, D, E, F, G, H, I)
    (A, B, C, D, E, F, G, H, I, J)
    (A, B, C, D, E, F, G, H, I, J, K)
    (A, B, C, D, E, F, G, H, I, J, K, L)
    (A, B, C, D, E, F, G, H, I, J, K, L, M)
    (A, B, C, D, E, F, G, H, I, J, K, L, M, N)
    (A, B, C, D, E, F, G, H, I, J, K, L, M, N, O)
    (A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P)
}

/// Rows encoded ahead of time into one buffer of DataRow frames: what a
/// handler builds when it produces rows synchronously (an embedded engine's
/// cursor, for example) and hands them over in one piece.
#[derive(Debug)]
pub struct RowBatch {
    schema: Schema,
    formats: FormatCodes,
    buf: BytesMut,
    scratch: BytesMut,
    rows: u64,
    settings: Option<Box<FormatSettings>>,
}

impl RowBatch {
    /// An empty batch for rows of `schema`, in the result formats `formats`
    /// (as sent in Bind; empty = all text).
    pub fn new(schema: Schema, formats: FormatCodes) -> Self {
        RowBatch {
            schema,
            formats,
            buf: BytesMut::new(),
            scratch: BytesMut::new(),
            rows: 0,
            settings: None,
        }
    }

    /// Prints text-format values with a session's settings
    /// ([`crate::api::Session::format_settings`], cloned: a batch may be
    /// built on another thread) rather than PostgreSQL's defaults.
    pub fn with_format_settings(mut self, settings: FormatSettings) -> Self {
        self.settings = Some(Box::new(settings));
        self
    }

    /// Appends one row.
    pub fn push<R: EncodeRow + ?Sized>(&mut self, row: &R) -> Result<(), ErrorInfo> {
        let settings = self
            .settings
            .as_deref()
            .unwrap_or(FormatSettings::default_ref());
        let mut enc = DataRowEncoder::new(
            &mut self.buf,
            &self.schema,
            &self.formats,
            &mut self.scratch,
        )
        .with_format_settings(settings);
        row.encode_row(&mut enc)?;
        enc.finish()?;
        self.rows += 1;
        Ok(())
    }

    /// Starts a row to fill value by value; call
    /// [`DataRowEncoder::finish`] and then [`RowBatch::commit_row`].
    pub fn encoder(&mut self) -> DataRowEncoder<'_> {
        let settings = self
            .settings
            .as_deref()
            .unwrap_or(FormatSettings::default_ref());
        DataRowEncoder::new(
            &mut self.buf,
            &self.schema,
            &self.formats,
            &mut self.scratch,
        )
        .with_format_settings(settings)
    }

    /// Counts a row written through [`RowBatch::encoder`].
    pub fn commit_row(&mut self) {
        self.rows += 1;
    }

    /// Number of rows.
    pub fn len(&self) -> u64 {
        self.rows
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        self.buf.len()
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The encoded DataRow frames and the row count.
    pub fn into_encoded(self) -> (Bytes, u64) {
        (self.buf.freeze(), self.rows)
    }
}

/// The error for a value its column's type cannot take.
#[cold]
fn cannot_encode(field: &FieldInfo, e: &(dyn std::error::Error + Sync + Send)) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::DATATYPE_MISMATCH,
        format!("cannot encode value for column \"{}\": {e}", field.name()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Type;

    fn fields() -> Vec<FieldInfo> {
        vec![
            FieldInfo::new("n", Type::INT4),
            FieldInfo::new("t", Type::TEXT),
            FieldInfo::new("f", Type::FLOAT8),
        ]
    }

    fn encode(formats: &[i16]) -> BytesMut {
        let fields = fields();
        let formats = FormatCodes::from_codes(formats);
        let (mut buf, mut scratch) = (BytesMut::new(), BytesMut::new());
        let mut row = DataRowEncoder::new(&mut buf, &fields, &formats, &mut scratch);
        row.encode_field(&7i32).unwrap();
        row.encode_field(&"ab").unwrap();
        row.encode_field(&None::<f64>).unwrap();
        row.finish().unwrap();
        buf
    }

    #[test]
    fn values_in_text_and_binary() {
        let mut text = b"D\0\0\0\x15\0\x03".to_vec();
        text.extend_from_slice(b"\0\0\0\x017\0\0\0\x02ab\xff\xff\xff\xff");
        assert_eq!(&encode(&[])[..], &text[..]);
        let mut binary = b"D\0\0\0\x18\0\x03".to_vec();
        binary.extend_from_slice(b"\0\0\0\x04\0\0\0\x07\0\0\0\x02ab\xff\xff\xff\xff");
        assert_eq!(&encode(&[1])[..], &binary[..]);
    }

    #[test]
    fn a_value_of_the_wrong_type_fails_and_leaves_no_partial_row() {
        // A bool where the column is int4 (in text: the converted path)
        // or text (written directly in both formats).
        for formats in [&[][..], &[1][..]] {
            for (values_before, column) in [(0, "n"), (1, "t")] {
                let fields = fields();
                let formats = FormatCodes::from_codes(formats);
                let mut buf = BytesMut::from(&b"before"[..]);
                let mut scratch = BytesMut::new();
                let mut row = DataRowEncoder::new(&mut buf, &fields, &formats, &mut scratch);
                if values_before == 1 {
                    row.encode_field(&1i32).unwrap();
                }
                let err = row.encode_field(&true).unwrap_err();
                assert_eq!(err.code(), SqlState::DATATYPE_MISMATCH);
                let want = format!("column \"{column}\"");
                assert!(err.message().contains(&want), "{}", err.message());
                drop(row);
                assert_eq!(&buf[..], b"before");
            }
        }
    }
}
