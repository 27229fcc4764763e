//! Column descriptions.

use std::sync::Arc;

use bytes::BytesMut;
use postgres_types::Type;

use crate::messages::{
    ByteStr, FieldDescription, FieldDescriptionRef, FormatCodes, Oid, RowDescription,
};

/// The wire format of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FieldFormat {
    /// Text format (code 0).
    #[default]
    Text,
    /// Binary format (code 1).
    Binary,
}

impl FieldFormat {
    /// The format code.
    pub const fn code(self) -> i16 {
        match self {
            FieldFormat::Text => 0,
            FieldFormat::Binary => 1,
        }
    }

    /// The format for a code; `None` for codes other than 0 and 1.
    pub const fn from_code(code: i16) -> Option<Self> {
        match code {
            0 => Some(FieldFormat::Text),
            1 => Some(FieldFormat::Binary),
            _ => None,
        }
    }
}

/// A result column: what RowDescription says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldInfo {
    name: ByteStr,
    table_oid: Oid,
    column_id: i16,
    datatype: Type,
    /// `datatype.oid()`, looked up once: it is needed for every value.
    type_oid: Oid,
    type_size: i16,
    type_modifier: i32,
}

impl FieldInfo {
    /// A column named `name` of type `datatype`, not from a table, with the
    /// type's size and no modifier.
    pub fn new(name: impl Into<ByteStr>, datatype: Type) -> Self {
        FieldInfo {
            name: name.into(),
            table_oid: 0,
            column_id: 0,
            type_size: type_size(&datatype),
            type_oid: datatype.oid(),
            datatype,
            type_modifier: -1,
        }
    }

    /// Sets the source table OID and attribute number.
    pub fn with_table(mut self, table_oid: Oid, column_id: i16) -> Self {
        self.table_oid = table_oid;
        self.column_id = column_id;
        self
    }

    /// Sets the type modifier (e.g. `varchar(10)` is 14: length + 4).
    pub fn with_type_modifier(mut self, modifier: i32) -> Self {
        self.type_modifier = modifier;
        self
    }

    /// Overrides the type size.
    pub fn with_type_size(mut self, size: i16) -> Self {
        self.type_size = size;
        self
    }

    /// The column name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The data type.
    pub fn datatype(&self) -> &Type {
        &self.datatype
    }

    /// The OID of the column's type.
    pub fn type_oid(&self) -> Oid {
        self.type_oid
    }

    /// The source table OID (0 if none).
    pub fn table_oid(&self) -> Oid {
        self.table_oid
    }

    /// The attribute number in the source table (0 if none).
    pub fn column_id(&self) -> i16 {
        self.column_id
    }

    /// The type size.
    pub fn type_size(&self) -> i16 {
        self.type_size
    }

    /// The type modifier.
    pub fn type_modifier(&self) -> i32 {
        self.type_modifier
    }

    /// This column as a RowDescription field with `format`.
    pub fn to_description(&self, format: FieldFormat) -> FieldDescription {
        FieldDescription {
            name: self.name.clone(),
            table_oid: self.table_oid,
            column_id: self.column_id,
            type_oid: self.type_oid,
            type_size: self.type_size,
            type_modifier: self.type_modifier,
            format: format.code(),
        }
    }
}

/// The columns of a result, shared between the statement that describes it
/// and every execution that returns it.
pub type Schema = Arc<[FieldInfo]>;

/// Appends a RowDescription for `fields` with the result formats of a
/// portal (`formats` as sent in Bind; empty = all text). Written straight
/// into the buffer, without building the message struct.
pub(crate) fn encode_row_description_into(
    buf: &mut BytesMut,
    fields: &[FieldInfo],
    formats: &FormatCodes,
) {
    let n = fields.len();
    RowDescription::encode_fields(
        buf,
        fields.iter().enumerate().map(|(i, f)| FieldDescriptionRef {
            name: &f.name,
            table_oid: f.table_oid,
            column_id: f.column_id,
            type_oid: f.type_oid,
            type_size: f.type_size,
            type_modifier: f.type_modifier,
            format: formats.format_for(i, n).unwrap_or(0),
        }),
    );
}

/// `pg_type.typlen` of a built-in type: its size in bytes, or -1 for
/// variable-length types (-2 for `cstring`).
pub fn type_size(ty: &Type) -> i16 {
    match *ty {
        Type::BOOL | Type::CHAR => 1,
        Type::INT2 => 2,
        Type::INT4
        | Type::OID
        | Type::FLOAT4
        | Type::DATE
        | Type::REGPROC
        | Type::REGTYPE
        | Type::REGCLASS
        | Type::XID
        | Type::CID => 4,
        Type::INT8
        | Type::FLOAT8
        | Type::TIME
        | Type::TIMESTAMP
        | Type::TIMESTAMPTZ
        | Type::MONEY
        | Type::PG_LSN => 8,
        Type::TIMETZ => 12,
        Type::INTERVAL | Type::UUID | Type::POINT => 16,
        Type::NAME => 64,
        Type::MACADDR => 6,
        Type::MACADDR8 => 8,
        Type::TID => 6,
        Type::CSTRING => -2,
        _ => -1,
    }
}
