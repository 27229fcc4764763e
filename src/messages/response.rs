//! Statement outcomes: CommandComplete, EmptyQueryResponse, ReadyForQuery,
//! ErrorResponse and NoticeResponse.

use bytes::{BufMut, Bytes, BytesMut};

use super::frame::put_cstr;
use super::reader::Reader;
use super::terminate::empty_message;
use super::{ByteStr, DecodeError, Message};

/// CommandComplete ('C'): a statement finished; the tag says what it did
/// (`SELECT 5`, `INSERT 0 1`, `CREATE TABLE`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandComplete {
    /// The command tag.
    pub tag: ByteStr,
}

impl CommandComplete {
    /// A CommandComplete with `tag`.
    pub fn new(tag: impl Into<ByteStr>) -> Self {
        CommandComplete { tag: tag.into() }
    }
}

impl Message for CommandComplete {
    const NAME: &'static str = "CommandComplete";
    const TAG: Option<u8> = Some(b'C');

    fn encode_body(&self, buf: &mut BytesMut) {
        put_cstr(buf, self.tag.as_bytes());
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body, Self::NAME);
        let tag = r.cstr()?;
        r.finish()?;
        Ok(CommandComplete { tag })
    }
}

empty_message!(
    /// EmptyQueryResponse ('I'): the query string was empty.
    EmptyQueryResponse,
    "EmptyQueryResponse",
    b'I'
);

/// The transaction status carried by ReadyForQuery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TransactionStatus {
    /// `I`: not in a transaction block.
    #[default]
    Idle,
    /// `T`: in a transaction block.
    InTransaction,
    /// `E`: in a failed transaction block; queries are rejected until the
    /// block ends.
    Failed,
}

impl TransactionStatus {
    /// The status byte.
    pub const fn byte(self) -> u8 {
        match self {
            TransactionStatus::Idle => b'I',
            TransactionStatus::InTransaction => b'T',
            TransactionStatus::Failed => b'E',
        }
    }

    /// The status from its byte.
    pub const fn from_byte(b: u8) -> Option<Self> {
        match b {
            b'I' => Some(TransactionStatus::Idle),
            b'T' => Some(TransactionStatus::InTransaction),
            b'E' => Some(TransactionStatus::Failed),
            _ => None,
        }
    }
}

/// ReadyForQuery ('Z'): the server is ready for a new query cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadyForQuery {
    /// The session's transaction status.
    pub status: TransactionStatus,
}

impl Message for ReadyForQuery {
    const NAME: &'static str = "ReadyForQuery";
    const TAG: Option<u8> = Some(b'Z');

    fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_u8(self.status.byte());
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body, Self::NAME);
        let b = r.u8()?;
        let status = TransactionStatus::from_byte(b)
            .ok_or_else(|| r.invalid("transaction status", b.into()))?;
        r.finish()?;
        Ok(ReadyForQuery { status })
    }
}

/// The fields of an ErrorResponse or NoticeResponse: pairs of a one-byte
/// field code (`S` severity, `V` non-localized severity, `C` SQLSTATE, `M`
/// message, `D` detail, `H` hint, `P` position, `p` internal position, `q`
/// internal query, `W` where, `s` schema, `t` table, `c` column, `d` data
/// type, `n` constraint, `F` file, `L` line, `R` routine) and a value, in the
/// order sent. Clients ignore codes they do not know.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorFields {
    /// The fields, in order. Codes are never 0 (0 ends the list).
    pub fields: Vec<(u8, ByteStr)>,
}

impl ErrorFields {
    /// The value of field `code`, if present.
    pub fn get(&self, code: u8) -> Option<&ByteStr> {
        self.fields.iter().find(|(c, _)| *c == code).map(|(_, v)| v)
    }

    /// SQLSTATE (`C`).
    pub fn code(&self) -> Option<&str> {
        self.get(b'C').map(|v| v.as_str())
    }

    /// Primary message (`M`).
    pub fn message(&self) -> Option<&str> {
        self.get(b'M').map(|v| v.as_str())
    }

    /// Severity (`V`, or `S` if `V` is absent).
    pub fn severity(&self) -> Option<&str> {
        self.get(b'V')
            .or_else(|| self.get(b'S'))
            .map(|v| v.as_str())
    }

    fn encode(&self, buf: &mut BytesMut) {
        for (code, value) in &self.fields {
            if *code == 0 {
                continue;
            }
            buf.put_u8(*code);
            put_cstr(buf, value.as_bytes());
        }
        buf.put_u8(0);
    }

    fn decode(body: Bytes, message: &'static str) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body, message);
        let mut fields = Vec::new();
        loop {
            let code = r.u8()?;
            if code == 0 {
                break;
            }
            fields.push((code, r.cstr()?));
        }
        r.finish()?;
        Ok(ErrorFields { fields })
    }
}

impl FromIterator<(u8, ByteStr)> for ErrorFields {
    fn from_iter<T: IntoIterator<Item = (u8, ByteStr)>>(iter: T) -> Self {
        ErrorFields {
            fields: iter.into_iter().collect(),
        }
    }
}

/// ErrorResponse ('E').
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorResponse(pub ErrorFields);

/// NoticeResponse ('N'): a warning or notice; the query goes on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NoticeResponse(pub ErrorFields);

impl Message for ErrorResponse {
    const NAME: &'static str = "ErrorResponse";
    const TAG: Option<u8> = Some(b'E');

    fn encode_body(&self, buf: &mut BytesMut) {
        self.0.encode(buf);
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        ErrorFields::decode(body, Self::NAME).map(ErrorResponse)
    }
}

impl Message for NoticeResponse {
    const NAME: &'static str = "NoticeResponse";
    const TAG: Option<u8> = Some(b'N');

    fn encode_body(&self, buf: &mut BytesMut) {
        self.0.encode(buf);
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        ErrorFields::decode(body, Self::NAME).map(NoticeResponse)
    }
}
