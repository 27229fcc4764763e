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

impl CopyChunk {
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
