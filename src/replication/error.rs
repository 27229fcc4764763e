//! Why replication bytes could not be decoded.

use std::fmt;

/// A CopyData payload of a replication stream (XLogData, keepalive,
/// status update, a `pgoutput` message...) that could not be decoded.
///
/// Written by hand rather than with `thiserror` because the codec builds
/// with `bytes` alone (`default-features = false`). A server that meets it
/// answers SQLSTATE [`sql_state_code`](Self::sql_state_code) (08P01,
/// protocol_violation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicationDecodeError {
    /// The message ended before a field (`what`) was complete.
    Truncated {
        /// The message being decoded.
        message: &'static str,
        /// The field that did not fit.
        what: &'static str,
    },
    /// A message type byte this decoder does not know.
    UnknownTag {
        /// Which family of messages (`"replication CopyData"`, `"pgoutput"`...).
        family: &'static str,
        /// The type byte.
        tag: u8,
    },
    /// A field holds a value the format does not allow.
    InvalidValue {
        /// The message being decoded.
        message: &'static str,
        /// The field.
        what: &'static str,
        /// Its value.
        value: i64,
    },
    /// A string field is not UTF-8.
    InvalidUtf8 {
        /// The message being decoded.
        message: &'static str,
        /// The field.
        what: &'static str,
    },
    /// Bytes left over after the last field.
    TrailingBytes {
        /// The message being decoded.
        message: &'static str,
        /// How many.
        count: usize,
    },
    /// The message is empty (not even a type byte).
    Empty {
        /// Which family of messages.
        family: &'static str,
    },
}

impl ReplicationDecodeError {
    /// The SQLSTATE a server answers with: 08P01 (protocol_violation).
    pub fn sql_state_code(&self) -> &'static str {
        "08P01"
    }
}

impl fmt::Display for ReplicationDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplicationDecodeError::Truncated { message, what } => {
                write!(f, "{message} message truncated: no room for {what}")
            }
            ReplicationDecodeError::UnknownTag { family, tag } => {
                if tag.is_ascii_graphic() {
                    write!(f, "unknown {family} message type '{}'", *tag as char)
                } else {
                    write!(f, "unknown {family} message type 0x{tag:02x}")
                }
            }
            ReplicationDecodeError::InvalidValue {
                message,
                what,
                value,
            } => write!(f, "{message} message: invalid {what} {value}"),
            ReplicationDecodeError::InvalidUtf8 { message, what } => {
                write!(f, "{message} message: {what} is not valid UTF-8")
            }
            ReplicationDecodeError::TrailingBytes { message, count } => {
                write!(
                    f,
                    "{message} message: {count} unexpected bytes after the last field"
                )
            }
            ReplicationDecodeError::Empty { family } => write!(f, "empty {family} message"),
        }
    }
}

impl std::error::Error for ReplicationDecodeError {}
