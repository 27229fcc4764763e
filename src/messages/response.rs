//! Statement outcomes: CommandComplete, EmptyQueryResponse, ReadyForQuery,
//! ErrorResponse and NoticeResponse.

use bytes::{BufMut, Bytes, BytesMut};

use super::frame::{self, put_cstr, put_cstr_lossy, put_decimal};
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

    /// Appends a CommandComplete whose tag is `command`, then `oid` and
    /// `rows` if given, separated by spaces: `("INSERT", Some(0), Some(5))`
    /// is `INSERT 0 5`, `("SELECT", None, Some(3))` is `SELECT 3`. Written
    /// straight into `buf`, with no string built and no allocation beyond
    /// `buf`'s own growth.
    #[inline]
    pub fn encode_parts(buf: &mut BytesMut, command: &str, oid: Option<u32>, rows: Option<u64>) {
        if let (None, Some(rows)) = (oid, rows) {
            if command == "SELECT" {
                Self::encode_select(buf, rows);
                return;
            }
        }
        // Written once per statement: assembled in a small stack frame
        // byte by byte (library copies of a few bytes cost more than they
        // move) and appended with one copy.
        let oid = oid.map(|oid| frame::decimal_digits(oid.into()));
        let rows = rows.map(frame::decimal_digits);
        let mut frame = [0u8; 64];
        let mut at = 5;
        let mut fits = true;
        let mut put = |bytes: &[u8]| {
            for &b in bytes {
                match frame.get_mut(at) {
                    Some(slot) => *slot = b,
                    None => fits = false,
                }
                at += 1;
            }
        };
        put(command.as_bytes());
        for (digits, start) in [oid, rows].iter().flatten() {
            put(b" ");
            put(digits.get(*start..).unwrap_or(&[]));
        }
        put(&[0]);
        let len = ((at - 1) as u32).to_be_bytes();
        if fits {
            frame[0] = b'C';
            frame[1..5].copy_from_slice(&len);
            buf.extend_from_slice(frame.get(..at).unwrap_or(&[]));
            return;
        }
        buf.reserve(at);
        buf.put_u8(b'C');
        buf.put_slice(&len);
        buf.put_slice(command.as_bytes());
        for (digits, start) in [oid, rows].iter().flatten() {
            buf.put_u8(b' ');
            buf.put_slice(digits.get(*start..).unwrap_or(&[]));
        }
        buf.put_u8(0);
    }
}

impl CommandComplete {
    /// `SELECT n`, the tag of nearly every result: the digits are written
    /// right-aligned in a stack frame and the fixed-size head placed just
    /// before them, so the frame is assembled without a variable-length
    /// copy and appended with one.
    fn encode_select(buf: &mut BytesMut, rows: u64) {
        const HEAD: usize = 12; // 'C', length, "SELECT "
        // One digit (a single-row lookup, the commonest result of all): a
        // frame of fixed size, appended without a library copy.
        if rows < 10 {
            buf.extend_from_slice(&[
                b'C',
                0,
                0,
                0,
                13,
                b'S',
                b'E',
                b'L',
                b'E',
                b'C',
                b'T',
                b' ',
                b'0' + rows as u8,
                0,
            ]);
            return;
        }
        let (digits, start) = frame::decimal_digits(rows);
        let mut out = [0u8; HEAD + 20 + 1];
        if let Some(tail) = out.get_mut(HEAD..HEAD + 20) {
            tail.copy_from_slice(&digits);
        }
        // The message starts `start` bytes in, where the digits begin.
        let len = (4 + 7 + (20 - start) + 1) as u32;
        let [l0, l1, l2, l3] = len.to_be_bytes();
        if let Some(head) = out.get_mut(start..start + HEAD) {
            head.copy_from_slice(&[
                b'C', l0, l1, l2, l3, b'S', b'E', b'L', b'E', b'C', b'T', b' ',
            ]);
        }
        buf.extend_from_slice(out.get(start..).unwrap_or(&[]));
    }
}

impl Message for CommandComplete {
    const NAME: &'static str = "CommandComplete";
    const TAG: Option<u8> = Some(b'C');

    fn encode_body(&self, buf: &mut BytesMut) {
        put_cstr(buf, self.tag.as_bytes());
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
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

impl ReadyForQuery {
    /// A ReadyForQuery with `status`.
    pub const fn new(status: TransactionStatus) -> Self {
        ReadyForQuery { status }
    }

    /// The whole encoded message, a constant for each status.
    pub const fn frame(status: TransactionStatus) -> [u8; 6] {
        [b'Z', 0, 0, 0, 5, status.byte()]
    }
}

impl Message for ReadyForQuery {
    const NAME: &'static str = "ReadyForQuery";
    const TAG: Option<u8> = Some(b'Z');

    /// One `put_slice` of [`ReadyForQuery::frame`].
    #[inline]
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_slice(&Self::frame(self.status));
    }

    fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_u8(self.status.byte());
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
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

    fn decode<M: Message>(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<M>(body);
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

/// Writes the fields of an ErrorResponse or NoticeResponse one by one
/// into the message being encoded; see [`ErrorResponse::encode_with`].
///
/// A field with code 0 is skipped and NUL bytes inside a value are dropped,
/// since either would cut the message short for the client.
#[derive(Debug)]
pub struct ErrorFieldsWriter<'b> {
    buf: &'b mut BytesMut,
}

impl ErrorFieldsWriter<'_> {
    /// Appends field `code` with `value`.
    #[inline]
    pub fn field(&mut self, code: u8, value: &str) -> &mut Self {
        if code != 0 {
            self.buf.put_u8(code);
            put_cstr_lossy(self.buf, value);
        }
        self
    }

    /// Appends field `code` with the decimal digits of `value` (`P`
    /// position, `p` internal position, `L` line), without formatting a
    /// string first.
    #[inline]
    pub fn field_u32(&mut self, code: u8, value: u32) -> &mut Self {
        if code != 0 {
            self.buf.put_u8(code);
            put_decimal(self.buf, value.into());
            self.buf.put_u8(0);
        }
        self
    }
}

/// Encodes a whole ErrorResponse/NoticeResponse frame around `fill`.
#[inline]
fn encode_fields_with(
    buf: &mut BytesMut,
    tag: Option<u8>,
    fill: impl FnOnce(&mut ErrorFieldsWriter<'_>),
) {
    frame::write(buf, tag, |buf| {
        fill(&mut ErrorFieldsWriter { buf: &mut *buf });
        buf.put_u8(0);
    });
}

/// ErrorResponse ('E').
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorResponse(pub ErrorFields);

impl ErrorResponse {
    /// Appends an ErrorResponse made of `fields` (code, value) in the order
    /// given, without building an [`ErrorFields`]: what a server that keeps
    /// its errors in its own type calls. Fields with code 0 are skipped and
    /// NUL bytes inside values dropped, since either would cut the message
    /// short for the client.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use pgwire::messages::ErrorResponse;
    ///
    /// let mut buf = BytesMut::new();
    /// ErrorResponse::encode_fields(
    ///     &mut buf,
    ///     [(b'S', "ERROR"), (b'V', "ERROR"), (b'C', "08P01"), (b'M', "invalid message format")],
    /// );
    /// assert_eq!(buf[0], b'E');
    /// ```
    #[inline]
    pub fn encode_fields<'a>(buf: &mut BytesMut, fields: impl IntoIterator<Item = (u8, &'a str)>) {
        Self::encode_with(buf, |w| {
            for (code, value) in fields {
                w.field(code, value);
            }
        });
    }

    /// Appends an ErrorResponse whose fields `fill` writes in order: the
    /// fastest way to send an error kept in a server's own type, optional
    /// fields and numbers included, with nothing built first.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use pgwire::messages::ErrorResponse;
    ///
    /// let mut buf = BytesMut::new();
    /// let position: Option<u32> = Some(8);
    /// ErrorResponse::encode_with(&mut buf, |w| {
    ///     w.field(b'S', "ERROR").field(b'V', "ERROR").field(b'C', "42601");
    ///     w.field(b'M', "syntax error at or near \"FORM\"");
    ///     if let Some(p) = position {
    ///         w.field_u32(b'P', p);
    ///     }
    /// });
    /// assert_eq!(buf[0], b'E');
    /// ```
    #[inline]
    pub fn encode_with(buf: &mut BytesMut, fill: impl FnOnce(&mut ErrorFieldsWriter<'_>)) {
        encode_fields_with(buf, Self::TAG, fill);
    }
}

impl NoticeResponse {
    /// Appends a NoticeResponse made of `fields`, as
    /// [`ErrorResponse::encode_fields`] does.
    #[inline]
    pub fn encode_fields<'a>(buf: &mut BytesMut, fields: impl IntoIterator<Item = (u8, &'a str)>) {
        Self::encode_with(buf, |w| {
            for (code, value) in fields {
                w.field(code, value);
            }
        });
    }

    /// Appends a NoticeResponse whose fields `fill` writes, as
    /// [`ErrorResponse::encode_with`] does.
    #[inline]
    pub fn encode_with(buf: &mut BytesMut, fill: impl FnOnce(&mut ErrorFieldsWriter<'_>)) {
        encode_fields_with(buf, Self::TAG, fill);
    }
}

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
        ErrorFields::decode::<Self>(body).map(ErrorResponse)
    }
}

impl Message for NoticeResponse {
    const NAME: &'static str = "NoticeResponse";
    const TAG: Option<u8> = Some(b'N');

    fn encode_body(&self, buf: &mut BytesMut) {
        self.0.encode(buf);
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        ErrorFields::decode::<Self>(body).map(NoticeResponse)
    }
}
