//! Values on the wire: column descriptions ([`FieldInfo`]), the
//! [`DataRowEncoder`] that writes result rows straight into DataRow frames,
//! and the text/binary conversions of the built-in types.
//!
//! Values are encoded through `postgres_types::ToSql` (binary format). When
//! a column is requested in text format, the binary value is converted to
//! PostgreSQL's text output for its type, so any `ToSql` type works in both
//! formats without a second trait to implement.

mod array;
mod datetime;
mod datetime_parse;
mod encoder;
mod field;
mod float_bounds;
mod format_settings;
mod interval;
mod network;
mod numeric;
pub mod text;
mod timezone;

pub use encoder::{DataRowEncoder, EncodeRow, RowBatch};
pub(crate) use field::encode_row_description_into;
pub use field::{FieldFormat, FieldInfo, Schema, type_size};
pub use format_settings::{ByteaOutput, DateOrder, DateStyle, FormatSettings, IntervalStyle};
pub use postgres_types::{FromSql, IsNull, Kind, ToSql, Type};
pub use timezone::SessionTimeZone;
