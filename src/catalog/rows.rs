//! Catalog values and rows laid out as a relation's columns.

use super::CatalogRelation;

/// One value of a catalog row. Arrays, `int2vector` and `oidvector` are in
/// PostgreSQL's text form (`{1,2}`, `1 2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogValue {
    /// NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// Any integer or OID.
    Int(i64),
    /// Text (also `"char"`, `name` and text-form arrays).
    Text(String),
}

impl From<bool> for CatalogValue {
    fn from(v: bool) -> Self {
        CatalogValue::Bool(v)
    }
}

impl From<i64> for CatalogValue {
    fn from(v: i64) -> Self {
        CatalogValue::Int(v)
    }
}

impl From<u32> for CatalogValue {
    fn from(v: u32) -> Self {
        CatalogValue::Int(i64::from(v))
    }
}

impl From<i32> for CatalogValue {
    fn from(v: i32) -> Self {
        CatalogValue::Int(i64::from(v))
    }
}

impl From<i16> for CatalogValue {
    fn from(v: i16) -> Self {
        CatalogValue::Int(i64::from(v))
    }
}

impl From<&str> for CatalogValue {
    fn from(v: &str) -> Self {
        CatalogValue::Text(v.to_owned())
    }
}

impl From<String> for CatalogValue {
    fn from(v: String) -> Self {
        CatalogValue::Text(v)
    }
}

impl<T: Into<CatalogValue>> From<Option<T>> for CatalogValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(CatalogValue::Null, Into::into)
    }
}

/// A row of `rel`: the named fields where given; for the others `false`
/// for booleans, 0 for integers and OIDs (what PostgreSQL has for "none":
/// `conparentid = 0`), NULL for the rest.
pub(super) fn row(rel: &CatalogRelation, fields: Vec<(&str, CatalogValue)>) -> Vec<CatalogValue> {
    let mut fields = fields;
    rel.columns
        .iter()
        .map(|c| {
            if let Some(i) = fields.iter().position(|(n, _)| *n == c.name) {
                return fields.swap_remove(i).1;
            }
            match c.type_oid {
                16 => CatalogValue::Bool(false),
                // int2, int4, int8, oid, regproc, xid, float4, regtype...
                20 | 21 | 23 | 24 | 26 | 28 | 700 | 2206 => CatalogValue::Int(0),
                _ => CatalogValue::Null,
            }
        })
        .collect()
}

/// PostgreSQL's text form of an array of integers: `{1,2}`.
pub(super) fn int_array(values: &[i64]) -> String {
    let mut s = String::from("{");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&v.to_string());
    }
    s.push('}');
    s
}

/// The text form of `int2vector` / `oidvector`: `1 2`.
pub(super) fn int_vector(values: &[i64]) -> String {
    values
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `quote_ident`: the name as is when it is a plain lower-case identifier,
/// else in double quotes.
pub fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&name);
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Words `quote_ident` quotes although they look like identifiers.
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "default",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "into",
    "leading",
    "limit",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "primary",
    "references",
    "select",
    "table",
    "then",
    "to",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "when",
    "where",
    "with",
    "window",
];
