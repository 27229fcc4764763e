//! COPY responses: what a handler returns to start COPY FROM STDIN, COPY TO
//! STDOUT or COPY BOTH.

use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;

use crate::error::ErrorInfo;
use crate::messages::FormatCodes;
use crate::types::FieldFormat;

/// The overall format of a COPY and its per-column formats, as sent in
/// CopyInResponse / CopyOutResponse / CopyBothResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFormat {
    pub(crate) format: FieldFormat,
    pub(crate) columns: usize,
}

impl CopyFormat {
    /// Text (or CSV) COPY of `columns` columns: every column format is 0.
    pub fn text(columns: usize) -> Self {
        CopyFormat {
            format: FieldFormat::Text,
            columns,
        }
    }

    /// Binary COPY of `columns` columns: every column format is 1.
    pub fn binary(columns: usize) -> Self {
        CopyFormat {
            format: FieldFormat::Binary,
            columns,
        }
    }

    /// The overall format.
    pub fn format(&self) -> FieldFormat {
        self.format
    }

    /// Number of columns.
    pub fn columns(&self) -> usize {
        self.columns
    }

    pub(crate) fn column_formats(&self) -> FormatCodes {
        let codes = vec![self.format.code(); self.columns.min(i16::MAX as usize)];
        FormatCodes::from_codes(&codes)
    }
}

/// COPY FROM STDIN: the server sends CopyInResponse, then hands each
/// CopyData to [`CopyHandler::copy_data`](super::CopyHandler::copy_data)
/// until CopyDone (→ `copy_done`) or CopyFail (→ `copy_fail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyIn {
    pub(crate) format: CopyFormat,
}

impl CopyIn {
    /// A COPY FROM STDIN in `format`.
    pub fn new(format: CopyFormat) -> Self {
        CopyIn { format }
    }
}

/// One piece of COPY TO STDOUT data: sent as one CopyData message, counting
/// `rows` toward the `COPY n` tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyChunk {
    /// The bytes (one or more rows, or a binary header/trailer).
    pub data: Bytes,
    /// How many rows `data` holds.
    pub rows: u64,
}

/// The header of the binary COPY format: signature, flags (no OIDs), no
/// header extension ("Binary Format" of the COPY documentation).
pub const COPY_BINARY_HEADER: &[u8; 19] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The trailer of the binary COPY format: a field count of -1.
pub const COPY_BINARY_TRAILER: &[u8; 2] = b"\xff\xff";

impl CopyChunk {
    /// The binary COPY header ([`COPY_BINARY_HEADER`]), counting no row.
    pub fn binary_header() -> Self {
        CopyChunk::without_rows(Bytes::from_static(COPY_BINARY_HEADER))
    }

    /// The binary COPY trailer ([`COPY_BINARY_TRAILER`]), counting no row.
    pub fn binary_trailer() -> Self {
        CopyChunk::without_rows(Bytes::from_static(COPY_BINARY_TRAILER))
    }

    /// A binary COPY tuple from an encoded DataRow message (as
    /// [`crate::types::DataRowEncoder`] writes it with every column in
    /// binary format): the tuple is the message body, a field count and
    /// length-prefixed values, the same layout. `None` if `data_row` is
    /// not a DataRow message.
    pub fn binary_tuple_of_data_row(data_row: &[u8]) -> Option<&[u8]> {
        match data_row {
            [b'D', l0, l1, l2, l3, body @ ..]
                if u32::from_be_bytes([*l0, *l1, *l2, *l3]) as usize == body.len() + 4 =>
            {
                Some(body)
            }
            _ => None,
        }
    }

    /// Data that holds no row (the binary COPY header or trailer).
    pub fn without_rows(data: impl Into<Bytes>) -> Self {
        CopyChunk {
            data: data.into(),
            rows: 0,
        }
    }
}

impl From<Bytes> for CopyChunk {
    /// One row.
    fn from(data: Bytes) -> Self {
        CopyChunk { data, rows: 1 }
    }
}

impl From<Vec<u8>> for CopyChunk {
    /// One row.
    fn from(data: Vec<u8>) -> Self {
        CopyChunk {
            data: data.into(),
            rows: 1,
        }
    }
}

impl From<String> for CopyChunk {
    /// One row.
    fn from(data: String) -> Self {
        CopyChunk {
            data: data.into(),
            rows: 1,
        }
    }
}

pub(crate) type CopyStream = Pin<Box<dyn Stream<Item = Result<CopyChunk, ErrorInfo>> + Send>>;

/// COPY TO STDOUT: CopyOutResponse, then one CopyData per chunk of the
/// stream (polled only as fast as the client reads), then CopyDone and
/// `COPY n`.
pub struct CopyOut {
    pub(crate) format: CopyFormat,
    pub(crate) data: CopyStream,
}

impl CopyOut {
    /// A COPY TO STDOUT in `format` sending the chunks of `data`; plain
    /// `Bytes`/`String`/`Vec<u8>` items count as one row each.
    pub fn new<S, C>(format: CopyFormat, data: S) -> Self
    where
        S: Stream<Item = Result<C, ErrorInfo>> + Send + 'static,
        C: Into<CopyChunk>,
    {
        CopyOut {
            format,
            data: Box::pin(StreamExt::map(data, |r| r.map(Into::into))),
        }
    }
}

impl fmt::Debug for CopyOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyOut")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// COPY BOTH (streaming replication style): CopyBothResponse; data from the
/// client goes to the [`CopyHandler`](super::CopyHandler), data from
/// `data` goes to the client; it ends when both sides sent CopyDone.
pub struct CopyBoth {
    pub(crate) format: CopyFormat,
    pub(crate) data: CopyStream,
}

impl CopyBoth {
    /// A COPY BOTH in `format`, sending the chunks of `data` to the client.
    pub fn new<S, C>(format: CopyFormat, data: S) -> Self
    where
        S: Stream<Item = Result<C, ErrorInfo>> + Send + 'static,
        C: Into<CopyChunk>,
    {
        CopyBoth {
            format,
            data: Box::pin(StreamExt::map(data, |r| r.map(Into::into))),
        }
    }
}

impl fmt::Debug for CopyBoth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyBoth")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod binary_tests {
    use super::*;

    #[test]
    fn binary_tuple_is_the_data_row_body() {
        // DataRow: 2 columns, 4-byte int 7 and NULL.
        let row = [
            b'D', 0, 0, 0, 18, 0, 2, 0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff,
        ];
        assert_eq!(CopyChunk::binary_tuple_of_data_row(&row), Some(&row[5..]));
        assert_eq!(CopyChunk::binary_tuple_of_data_row(&row[..10]), None);
        assert_eq!(COPY_BINARY_HEADER.len(), 19);
        assert_eq!(&COPY_BINARY_HEADER[..11], b"PGCOPY\n\xff\r\n\0");
    }
}
