//! Why a byte sequence is not a valid protocol message.

use std::fmt;

use crate::error::SqlState;

/// A decoding failure: the bytes received are not a valid message.
///
/// Every variant says what was wrong; the server answers them with an
/// `ErrorResponse` with [`DecodeError::sql_state`] and, where the framing is
/// lost ([`DecodeError::is_recoverable`] is false), closes the connection.
/// Decoding never panics, whatever the input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The length word is smaller than the 4 bytes it occupies itself (or
    /// smaller than the fixed part of a startup-phase message).
    InvalidLength {
        /// The message type byte, or `None` in the startup phase.
        tag: Option<u8>,
        /// The declared length.
        length: u32,
    },
    /// The declared length is above the configured maximum.
    TooLarge {
        /// The message type byte, or `None` in the startup phase.
        tag: Option<u8>,
        /// The declared length.
        length: u32,
        /// The maximum that applies to this message.
        max: usize,
    },
    /// A type byte that no message of this direction has.
    UnknownMessageType(u8),
    /// A startup-phase request code that is neither a protocol version nor a
    /// known special request.
    UnknownRequestCode(u32),
    /// The body ended before a field of the message.
    Truncated {
        /// The message being decoded.
        message: &'static str,
    },
    /// A string field is not terminated by a NUL byte.
    MissingNul {
        /// The message being decoded.
        message: &'static str,
    },
    /// Bytes remain after the last field of the message.
    TrailingBytes {
        /// The message being decoded.
        message: &'static str,
    },
    /// A string field is not valid UTF-8. The frame itself was well formed
    /// and has been consumed, so a server can answer with a plain error and
    /// go on.
    InvalidUtf8 {
        /// The message being decoded.
        message: &'static str,
    },
    /// A field holds a value the protocol does not allow (a negative count,
    /// an unknown sub-type, a key of the wrong size, ...).
    InvalidValue {
        /// The message being decoded.
        message: &'static str,
        /// What was invalid, in words.
        what: &'static str,
        /// The offending value.
        value: i64,
    },
}

impl DecodeError {
    /// Whether the connection's framing is still intact after this error,
    /// i.e. the bad message was consumed whole and the next one can be read.
    pub fn is_recoverable(&self) -> bool {
        matches!(self, DecodeError::InvalidUtf8 { .. })
    }

    /// The SQLSTATE to answer this with, as PostgreSQL does: 22021
    /// (character_not_in_repertoire) for invalid UTF-8, 08P01
    /// (protocol_violation) for everything else.
    pub fn sql_state(&self) -> SqlState {
        match self {
            DecodeError::InvalidUtf8 { .. } => SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            DecodeError::InvalidLength { .. }
            | DecodeError::TooLarge { .. }
            | DecodeError::UnknownMessageType(_)
            | DecodeError::UnknownRequestCode(_)
            | DecodeError::Truncated { .. }
            | DecodeError::MissingNul { .. }
            | DecodeError::TrailingBytes { .. }
            | DecodeError::InvalidValue { .. } => SqlState::PROTOCOL_VIOLATION,
        }
    }
}

fn tag_name(tag: Option<u8>) -> String {
    match tag {
        Some(t) if t.is_ascii_graphic() => format!("message type '{}'", t as char),
        Some(t) => format!("message type 0x{t:02x}"),
        None => "startup packet".to_owned(),
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::InvalidLength { tag, length } => {
                write!(f, "invalid length {length} for {}", tag_name(*tag))
            }
            DecodeError::TooLarge { tag, length, max } => write!(
                f,
                "{} of length {length} exceeds the limit of {max} bytes",
                tag_name(*tag)
            ),
            DecodeError::UnknownMessageType(t) => {
                write!(f, "invalid message type {}", tag_name(Some(*t)))
            }
            DecodeError::UnknownRequestCode(c) => {
                write!(
                    f,
                    "unsupported frontend protocol {}.{}",
                    c >> 16,
                    c & 0xffff
                )
            }
            DecodeError::Truncated { message } => {
                write!(f, "invalid message format: {message} is truncated")
            }
            DecodeError::MissingNul { message } => write!(
                f,
                "invalid message format: unterminated string in {message}"
            ),
            DecodeError::TrailingBytes { message } => {
                write!(f, "invalid message format: trailing bytes after {message}")
            }
            DecodeError::InvalidUtf8 { message } => {
                write!(
                    f,
                    "invalid byte sequence for encoding \"UTF8\" in {message}"
                )
            }
            DecodeError::InvalidValue {
                message,
                what,
                value,
            } => write!(f, "invalid {what} {value} in {message}"),
        }
    }
}

impl std::error::Error for DecodeError {}
