//! The last RowDescription a session sent, kept encoded.
//!
//! A session usually runs the same few statements again and again, and a
//! handler that keeps its result columns in one [`Schema`] hands the same
//! `Arc` back each time: the columns are then known to be the same, and
//! their description is copied rather than encoded field by field.

use std::sync::Arc;

use bytes::BytesMut;

use crate::messages::FormatCodes;
use crate::types::{Schema, encode_row_description_into};

/// Descriptions larger than this are not kept: a wide result is rare and
/// would hold memory in every idle session.
const MAX_CACHED: usize = 1024;

#[derive(Default)]
pub(super) struct RowDescriptionCache {
    schema: Option<Schema>,
    formats: FormatCodes,
    encoded: Vec<u8>,
}

impl RowDescriptionCache {
    /// Appends the RowDescription of `schema` with result `formats`.
    pub(super) fn encode(&mut self, buf: &mut BytesMut, schema: &Schema, formats: &FormatCodes) {
        if let Some(last) = &self.schema {
            if Arc::ptr_eq(last, schema) && self.formats == *formats {
                buf.extend_from_slice(&self.encoded);
                return;
            }
        }
        let start = buf.len();
        encode_row_description_into(buf, schema, formats);
        let encoded = buf.get(start..).unwrap_or(&[]);
        if encoded.len() > MAX_CACHED {
            self.schema = None;
            return;
        }
        self.encoded.clear();
        self.encoded.extend_from_slice(encoded);
        self.schema = Some(schema.clone());
        self.formats = formats.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{FieldInfo, Type};

    fn fresh(schema: &Schema, formats: &FormatCodes) -> Vec<u8> {
        let mut buf = BytesMut::new();
        encode_row_description_into(&mut buf, schema, formats);
        buf.to_vec()
    }

    #[test]
    fn repeats_what_it_would_encode_and_notices_changes() {
        let a: Schema = Arc::from(vec![FieldInfo::new("a", Type::INT4)]);
        let b: Schema = Arc::from(vec![FieldInfo::new("b", Type::TEXT)]);
        // Same columns, another Arc: encoded afresh (and equal anyway).
        let a2: Schema = Arc::from(vec![FieldInfo::new("a", Type::INT4)]);
        let text = FormatCodes::new();
        let binary = FormatCodes::from([1]);
        let mut cache = RowDescriptionCache::default();
        for (schema, formats) in [
            (&a, &text),
            (&a, &text),
            (&a, &binary),
            (&b, &binary),
            (&a2, &text),
            (&a, &text),
        ] {
            let mut buf = BytesMut::from(&b"prefix"[..]);
            cache.encode(&mut buf, schema, formats);
            assert_eq!(&buf[..6], b"prefix");
            assert_eq!(&buf[6..], &fresh(schema, formats)[..]);
        }
    }

    #[test]
    fn wide_descriptions_are_not_kept() {
        let wide: Schema = (0..100)
            .map(|i| FieldInfo::new(format!("column_{i}"), Type::INT4))
            .collect::<Vec<_>>()
            .into();
        let mut cache = RowDescriptionCache::default();
        let mut buf = BytesMut::new();
        cache.encode(&mut buf, &wide, &FormatCodes::new());
        assert!(buf.len() > MAX_CACHED);
        assert!(cache.schema.is_none() && cache.encoded.is_empty());
    }
}
