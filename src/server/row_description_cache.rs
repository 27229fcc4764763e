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
