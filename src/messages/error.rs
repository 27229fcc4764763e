//! Why a byte sequence is not a valid protocol message.

use std::fmt;

#[cfg(feature = "server")]
use crate::error::SqlState;

/// A decoding failure: the bytes received are not a valid message.
///
/// Two kinds, told apart by [`DecodeError::is_recoverable`]:
///
/// - **Framing errors** ([`InvalidLength`](DecodeError::InvalidLength),
///   [`TooLarge`](DecodeError::TooLarge),
///   [`UnknownMessageType`](DecodeError::UnknownMessageType),
///   [`UnknownRequestCode`](DecodeError::UnknownRequestCode), and any error in
///   a startup-phase packet): the length word cannot be trusted, so the
///   stream is no longer framed. PostgreSQL answers FATAL 08P01 (or just
///   closes) and so should a server.
/// - **Body errors** in a typed message whose length was trustworthy
///   ([`Truncated`](DecodeError::Truncated),
///   [`NoDataLeft`](DecodeError::NoDataLeft),
///   [`MissingNul`](DecodeError::MissingNul),
///   [`TrailingBytes`](DecodeError::TrailingBytes),
///   [`InvalidUtf8`](DecodeError::InvalidUtf8),
///   [`InvalidValue`](DecodeError::InvalidValue) with `tag: Some(_)`): the
///   frame has been consumed whole and the next message can be read.
///   PostgreSQL answers ERROR 08P01 (22021 for invalid UTF-8) and, in the
///   extended protocol, skips to the next Sync. [`DecodeError::tag`] says
///   which message type the error was in, so a server can key its recovery
///   on it (a bad CopyFail outside COPY is ignored, a bad Terminate closes).
///
/// The `Display` text of a body error is PostgreSQL 15's own message for the
/// same fault (`insufficient data left in message`, `invalid message
/// format`, ...); [`DecodeError::sql_state`] is its SQLSTATE. Decoding never
/// panics, whatever the input.
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
    /// The body ended before a multi-byte field of the message (PostgreSQL:
    /// "insufficient data left in message").
    Truncated {
        /// The message type byte, or `None` for a startup-phase packet.
        tag: Option<u8>,
        /// The message being decoded.
        message: &'static str,
    },
    /// The body ended before a one-byte field (a Describe or Close without
    /// its kind byte, say; PostgreSQL: "no data left in message").
    NoDataLeft {
        /// The message type byte, or `None` for a startup-phase packet.
        tag: Option<u8>,
        /// The message being decoded.
        message: &'static str,
    },
    /// A string field is not terminated by a NUL byte (PostgreSQL: "invalid
    /// string in message").
    MissingNul {
        /// The message type byte, or `None` for a startup-phase packet.
        tag: Option<u8>,
        /// The message being decoded.
        message: &'static str,
    },
    /// Bytes remain after the last field of the message: a body on Sync,
    /// Flush or Terminate, a NUL inside a Query string, ... (PostgreSQL:
    /// "invalid message format").
    TrailingBytes {
        /// The message type byte, or `None` for a startup-phase packet.
        tag: Option<u8>,
        /// The message being decoded.
        message: &'static str,
    },
    /// A string field is not valid UTF-8 (PostgreSQL, SQLSTATE 22021:
    /// `invalid byte sequence for encoding "UTF8": 0xff`).
    InvalidUtf8 {
        /// The message type byte, or `None` for a startup-phase packet.
        tag: Option<u8>,
        /// The message being decoded.
        message: &'static str,
        /// The offending sequence as PostgreSQL reports it: the bytes of the
        /// character that failed (its lead byte and as many more as the lead
        /// byte announces and the string holds), at most 4.
        sequence: InvalidSequence,
    },
    /// A field holds a value the protocol does not allow (a Describe kind
    /// other than `S`/`P`, a negative value length, a key of the wrong size,
    /// ...). `Display` is `invalid {what} {value}`, which for Describe and
    /// Close is PostgreSQL's "invalid DESCRIBE message subtype 88".
    InvalidValue {
        /// The message type byte, or `None` for a startup-phase packet.
        tag: Option<u8>,
        /// The message being decoded.
        message: &'static str,
        /// What was invalid, in words.
        what: &'static str,
        /// The offending value.
        value: i64,
    },
}

impl DecodeError {
    /// The SQLSTATE to answer this with, as PostgreSQL does: 22021
    /// (character_not_in_repertoire) for invalid UTF-8, 08P01
    /// (protocol_violation) for everything else. (With the `server`
    /// feature, which defines [`SqlState`].)
    #[cfg(feature = "server")]
    pub fn sql_state(&self) -> SqlState {
        match self {
            DecodeError::InvalidUtf8 { .. } => SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            DecodeError::InvalidLength { .. }
            | DecodeError::TooLarge { .. }
            | DecodeError::UnknownMessageType(_)
            | DecodeError::UnknownRequestCode(_)
            | DecodeError::Truncated { .. }
            | DecodeError::NoDataLeft { .. }
            | DecodeError::MissingNul { .. }
            | DecodeError::TrailingBytes { .. }
            | DecodeError::InvalidValue { .. } => SqlState::PROTOCOL_VIOLATION,
        }
    }

    /// Whether the connection's framing is still intact after this error,
    /// i.e. the bad message was consumed whole and the next one can be read:
    /// a body error in a typed message.
    pub fn is_recoverable(&self) -> bool {
        self.body_tag().is_some()
    }

    /// The type byte of the message the error was found in, if it had one
    /// (framing errors report the type byte they read, too).
    pub fn tag(&self) -> Option<u8> {
        match self {
            DecodeError::InvalidLength { tag, .. } | DecodeError::TooLarge { tag, .. } => *tag,
            DecodeError::UnknownMessageType(t) => Some(*t),
            DecodeError::UnknownRequestCode(_) => None,
            _ => self.body_tag(),
        }
    }

    /// The documented name of the message whose body was invalid (`"Bind"`,
    /// `"Describe"`, ...); `None` for framing errors.
    pub fn message_name(&self) -> Option<&'static str> {
        match self {
            DecodeError::Truncated { message, .. }
            | DecodeError::NoDataLeft { message, .. }
            | DecodeError::MissingNul { message, .. }
            | DecodeError::TrailingBytes { message, .. }
            | DecodeError::InvalidUtf8 { message, .. }
            | DecodeError::InvalidValue { message, .. } => Some(message),
            _ => None,
        }
    }

    fn body_tag(&self) -> Option<u8> {
        match self {
            DecodeError::Truncated { tag, .. }
            | DecodeError::NoDataLeft { tag, .. }
            | DecodeError::MissingNul { tag, .. }
            | DecodeError::TrailingBytes { tag, .. }
            | DecodeError::InvalidUtf8 { tag, .. }
            | DecodeError::InvalidValue { tag, .. } => *tag,
            _ => None,
        }
    }
}

/// The bytes of an invalid UTF-8 character, as PostgreSQL quotes them in
/// `invalid byte sequence for encoding "UTF8": 0xe2 0x28 0xa1`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct InvalidSequence {
    len: u8,
    bytes: [u8; 4],
}

impl InvalidSequence {
    /// The sequence at the start of `rest` (the bytes from the first invalid
    /// one on): as many bytes as the lead byte announces (1 for a byte that
    /// cannot start a character), cut at the end of `rest`.
    pub fn at(rest: &[u8]) -> Self {
        let announced = match rest.first() {
            None => 0,
            Some(b) if b & 0x80 == 0 => 1,
            Some(b) if b & 0xe0 == 0xc0 => 2,
            Some(b) if b & 0xf0 == 0xe0 => 3,
            Some(b) if b & 0xf8 == 0xf0 => 4,
            Some(_) => 1,
        };
        let len = announced.min(rest.len());
        let mut bytes = [0u8; 4];
        if let (Some(dst), Some(src)) = (bytes.get_mut(..len), rest.get(..len)) {
            dst.copy_from_slice(src);
        }
        InvalidSequence {
            len: len as u8,
            bytes,
        }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len as usize).unwrap_or(&[])
    }
}

impl fmt::Debug for InvalidSequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for InvalidSequence {
    /// `0xe2 0x28`, as PostgreSQL writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.as_bytes().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "0x{b:02x}")?;
        }
        Ok(())
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
            // PostgreSQL: "invalid frontend message type 121".
            DecodeError::UnknownMessageType(t) => write!(f, "invalid message type {t}"),
            DecodeError::UnknownRequestCode(c) => {
                write!(
                    f,
                    "unsupported frontend protocol {}.{}",
                    c >> 16,
                    c & 0xffff
                )
            }
            DecodeError::Truncated { .. } => f.write_str("insufficient data left in message"),
            DecodeError::NoDataLeft { .. } => f.write_str("no data left in message"),
            DecodeError::MissingNul { .. } => f.write_str("invalid string in message"),
            DecodeError::TrailingBytes { .. } => f.write_str("invalid message format"),
            DecodeError::InvalidUtf8 { sequence, .. } => {
                write!(f, "invalid byte sequence for encoding \"UTF8\": {sequence}")
            }
            DecodeError::InvalidValue {
                tag, what, value, ..
            } => {
                write!(f, "invalid {what} {value}")?;
                // PostgreSQL's wording for FunctionCall, the one frontend 'F'.
                if *tag == Some(b'F') {
                    f.write_str(" in function call message")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for DecodeError {}
