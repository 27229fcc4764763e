//! Result columns and rows. A row is a view of its DataRow's bytes in the
//! read buffer plus a shared pointer to the column descriptions; values are
//! decoded only when asked for.

use std::sync::Arc;

use postgres_types::{FromSql, Kind, Type};

use super::error::Error;
use crate::messages::{RowDescription, ValueList};

/// One result column (from RowDescription).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// The table's OID, or 0.
    pub table_oid: u32,
    /// The column's attribute number in its table, or 0.
    pub column_id: i16,
    /// The type.
    pub type_: Type,
    /// The type modifier (e.g. `numeric(10,2)`).
    pub type_modifier: i32,
    /// 0 = text, 1 = binary: how the values of this column arrive.
    pub format: i16,
}

/// The `postgres_types::Type` of an OID; types the crate does not know get
/// a placeholder named `oid<N>`.
pub fn type_of_oid(oid: u32) -> Type {
    Type::from_oid(oid)
        .unwrap_or_else(|| Type::new(format!("oid{oid}"), oid, Kind::Simple, "pg_catalog".into()))
}

/// Columns from a RowDescription, with the formats the values will come
/// in (a statement's description says text; Bind chooses).
pub(crate) fn columns_of(desc: &RowDescription, format: Option<i16>) -> Arc<[Column]> {
    desc.fields
        .iter()
        .map(|f| Column {
            name: f.name.as_str().to_owned(),
            table_oid: f.table_oid,
            column_id: f.column_id,
            type_: type_of_oid(f.type_oid),
            type_modifier: f.type_modifier,
            format: format.unwrap_or(f.format),
        })
        .collect()
}

/// Where a value is: by position or by column name.
pub trait RowIndex: std::fmt::Display {
    /// The position in `columns`, if there is such a column.
    fn index(&self, columns: &[Column]) -> Option<usize>;
}

impl RowIndex for usize {
    fn index(&self, columns: &[Column]) -> Option<usize> {
        (*self < columns.len()).then_some(*self)
    }
}

impl RowIndex for str {
    fn index(&self, columns: &[Column]) -> Option<usize> {
        columns.iter().position(|c| c.name == self)
    }
}

impl<T: RowIndex + ?Sized> RowIndex for &T {
    fn index(&self, columns: &[Column]) -> Option<usize> {
        T::index(self, columns)
    }
}

/// One row of a result.
#[derive(Clone)]
pub struct Row {
    pub(crate) columns: Arc<[Column]>,
    pub(crate) values: ValueList,
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Row")
            .field(
                "columns",
                &self.columns.iter().map(|c| &c.name).collect::<Vec<_>>(),
            )
            .field("values", &self.values)
            .finish()
    }
}

impl Row {
    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn position(&self, idx: &(impl RowIndex + ?Sized)) -> Result<usize, Error> {
        idx.index(&self.columns)
            .filter(|&i| i < self.values.len())
            .ok_or_else(|| Error::NoColumn(idx.to_string()))
    }

    /// The value's bytes as sent (`None` for NULL).
    pub fn get_raw(&self, idx: impl RowIndex) -> Result<Option<&[u8]>, Error> {
        let i = self.position(&idx)?;
        Ok(self.values.get(i).flatten())
    }

    /// The value as text: for text-format results (simple query,
    /// [`Format::Text`](super::Format::Text)), or binary text-like types.
    pub fn get_text(&self, idx: impl RowIndex) -> Result<Option<&str>, Error> {
        match self.get_raw(idx)? {
            None => Ok(None),
            Some(b) => std::str::from_utf8(b)
                .map(Some)
                .map_err(|e| Error::Conversion(Box::new(e))),
        }
    }

    /// Decodes a value with its `FromSql`. Binary-format columns decode
    /// any type; text-format columns only types whose binary form is their
    /// text (text, varchar, name, json...): use [`get_text`](Self::get_text)
    /// for the others.
    pub fn try_get<'a, T: FromSql<'a>>(&'a self, idx: impl RowIndex) -> Result<T, Error> {
        let i = self.position(&idx)?;
        let col = &self.columns[i];
        if !T::accepts(&col.type_) {
            return Err(Error::Conversion(
                format!(
                    "cannot convert column \"{}\" of type {} to {}",
                    col.name,
                    col.type_,
                    std::any::type_name::<T>()
                )
                .into(),
            ));
        }
        if col.format == 0 && !text_is_binary(&col.type_) {
            return Err(Error::Conversion(
                format!(
                    "column \"{}\" ({}) arrived in text format: use get_text, or binary results",
                    col.name, col.type_
                )
                .into(),
            ));
        }
        let raw = self.values.get(i).flatten();
        T::from_sql_nullable(&col.type_, raw).map_err(Error::Conversion)
    }

    /// As [`try_get`](Self::try_get), panicking on error (a wrong column
    /// or type is a programming error).
    pub fn get<'a, T: FromSql<'a>>(&'a self, idx: impl RowIndex) -> T {
        match self.try_get(idx) {
            Ok(v) => v,
            Err(e) => panic!("Row::get: {e}"),
        }
    }
}

/// Types whose binary form is their text form.
fn text_is_binary(t: &Type) -> bool {
    matches!(
        *t,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON
    ) || matches!(t.kind(), Kind::Enum(_))
}
