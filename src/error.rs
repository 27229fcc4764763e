//! Errors: SQLSTATE codes, severities, the `ErrorInfo` a handler returns to
//! its client, and `PgWireError`, what the server itself can fail with.

use std::borrow::Cow;
use std::fmt;

use bytes::BytesMut;

use crate::messages::{
    ByteStr, DecodeError, ErrorFields, ErrorFieldsWriter, ErrorResponse, NoticeResponse,
};

mod sql_state;

pub use sql_state::{InvalidSqlState, SqlState};

/// The severity of an error or notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The statement failed; the session goes on.
    Error,
    /// The session ends after the message.
    Fatal,
    /// Every session ends (not sent by servers built on this crate).
    Panic,
    /// A warning (NoticeResponse).
    Warning,
    /// A notice (NoticeResponse).
    Notice,
    /// Debugging output (NoticeResponse).
    Debug,
    /// Information (NoticeResponse).
    Info,
    /// A log message (NoticeResponse).
    Log,
}

impl Severity {
    /// The non-localized name sent in the `S` and `V` fields.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
            Severity::Panic => "PANIC",
            Severity::Warning => "WARNING",
            Severity::Notice => "NOTICE",
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Log => "LOG",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Text = Cow<'static, str>;

/// The optional fields, boxed so that `ErrorInfo` (and every `Result` that
/// carries it) stays small on the paths where nothing fails.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ErrorDetails {
    detail: Option<Text>,
    hint: Option<Text>,
    position: Option<u32>,
    internal_position: Option<u32>,
    internal_query: Option<Text>,
    where_: Option<Text>,
    schema: Option<Text>,
    table: Option<Text>,
    column: Option<Text>,
    data_type: Option<Text>,
    constraint: Option<Text>,
    file: Option<Text>,
    line: Option<u32>,
    routine: Option<Text>,
}

/// An error (or notice) to send to the client, with the fields of
/// ErrorResponse/NoticeResponse.
///
/// ```
/// use pgwire::error::{ErrorInfo, SqlState};
///
/// let e = ErrorInfo::new(SqlState::UNDEFINED_TABLE, "relation \"t\" does not exist")
///     .with_position(15);
/// assert_eq!(e.code(), SqlState::UNDEFINED_TABLE);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    severity: Severity,
    code: SqlState,
    message: Text,
    details: Option<Box<ErrorDetails>>,
}

macro_rules! text_field {
    ($($(#[$doc:meta])* $with:ident, $get:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $with(mut self, value: impl Into<Cow<'static, str>>) -> Self {
                self.details_mut().$get = Some(value.into());
                self
            }
        )*
    };
}

impl ErrorInfo {
    /// An ERROR with `code` and `message`.
    pub fn new(code: SqlState, message: impl Into<Cow<'static, str>>) -> Self {
        ErrorInfo {
            severity: Severity::Error,
            code,
            message: message.into(),
            details: None,
        }
    }

    /// A FATAL error: the server closes the connection after sending it.
    pub fn fatal(code: SqlState, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(code, message).with_severity(Severity::Fatal)
    }

    /// A notice (severity NOTICE, SQLSTATE 00000) for NoticeResponse.
    pub fn notice(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(SqlState::SUCCESSFUL_COMPLETION, message).with_severity(Severity::Notice)
    }

    /// A warning (severity WARNING, SQLSTATE 01000) for NoticeResponse.
    pub fn warning(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(SqlState::WARNING, message).with_severity(Severity::Warning)
    }

    /// The error PostgreSQL sends when a query is cancelled (57014).
    pub fn query_canceled() -> Self {
        Self::new(
            SqlState::QUERY_CANCELED,
            "canceling statement due to user request",
        )
    }

    /// Sets the severity.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    fn details_mut(&mut self) -> &mut ErrorDetails {
        self.details.get_or_insert_with(Default::default)
    }

    text_field! {
        /// Sets the detail (`D`).
        with_detail, detail;
        /// Sets the hint (`H`).
        with_hint, hint;
        /// Sets the internal query (`q`).
        with_internal_query, internal_query;
        /// Sets the context (`W`).
        with_where, where_;
        /// Sets the schema name (`s`).
        with_schema, schema;
        /// Sets the table name (`t`).
        with_table, table;
        /// Sets the column name (`c`).
        with_column, column;
        /// Sets the data type name (`d`).
        with_data_type, data_type;
        /// Sets the constraint name (`n`).
        with_constraint, constraint;
        /// Sets the source file name (`F`).
        with_file, file;
        /// Sets the source routine name (`R`).
        with_routine, routine;
    }

    /// Sets the cursor position in the query string (`P`, 1-based, in
    /// characters).
    pub fn with_position(mut self, position: u32) -> Self {
        self.details_mut().position = Some(position);
        self
    }

    /// Sets the position in the internal query (`p`).
    pub fn with_internal_position(mut self, position: u32) -> Self {
        self.details_mut().internal_position = Some(position);
        self
    }

    /// Sets the source line number (`L`).
    pub fn with_line(mut self, line: u32) -> Self {
        self.details_mut().line = Some(line);
        self
    }

    /// The severity.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The SQLSTATE.
    pub fn code(&self) -> SqlState {
        self.code
    }

    /// The primary message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The detail, if set.
    pub fn detail(&self) -> Option<&str> {
        self.details.as_ref()?.detail.as_deref()
    }

    /// The hint, if set.
    pub fn hint(&self) -> Option<&str> {
        self.details.as_ref()?.hint.as_deref()
    }

    /// The position, if set.
    pub fn position(&self) -> Option<u32> {
        self.details.as_ref()?.position
    }

    /// Whether the server must close the connection after sending this.
    pub fn is_fatal(&self) -> bool {
        matches!(self.severity, Severity::Fatal | Severity::Panic)
    }

    /// Appends this as an ErrorResponse ('E').
    pub fn encode_error(&self, buf: &mut BytesMut) {
        ErrorResponse::encode_with(buf, |w| self.write_fields(w));
    }

    /// Appends this as a NoticeResponse ('N').
    pub fn encode_notice(&self, buf: &mut BytesMut) {
        NoticeResponse::encode_with(buf, |w| self.write_fields(w));
    }

    /// Calls `f` for each field, in PostgreSQL's order.
    fn each_field(&self, mut f: impl FnMut(u8, FieldValue<'_>)) {
        let mut text = |code, value| f(code, FieldValue::Text(value));
        text(b'S', self.severity.as_str());
        text(b'V', self.severity.as_str());
        text(b'C', self.code.code());
        text(b'M', &self.message);
        let Some(d) = &self.details else { return };
        let texts = [
            (b'D', &d.detail),
            (b'H', &d.hint),
            (b'q', &d.internal_query),
            (b'W', &d.where_),
            (b's', &d.schema),
            (b't', &d.table),
            (b'c', &d.column),
            (b'd', &d.data_type),
            (b'n', &d.constraint),
            (b'F', &d.file),
            (b'R', &d.routine),
        ];
        for (code, value) in texts {
            if let Some(v) = value {
                text(code, v);
            }
        }
        let numbers = [
            (b'P', d.position),
            (b'p', d.internal_position),
            (b'L', d.line),
        ];
        for (code, value) in numbers {
            if let Some(v) = value {
                f(code, FieldValue::Number(v));
            }
        }
    }

    /// Writes the fields (the writer drops NULs inside values rather than
    /// send a malformed message).
    fn write_fields(&self, w: &mut ErrorFieldsWriter<'_>) {
        self.each_field(|code, value| match value {
            FieldValue::Text(v) => {
                w.field(code, v);
            }
            FieldValue::Number(n) => {
                w.field_u32(code, n);
            }
        });
    }

    /// The fields as sent on the wire.
    pub fn to_fields(&self) -> ErrorFields {
        let mut fields = Vec::<(u8, ByteStr)>::with_capacity(6);
        self.each_field(|code, value| {
            let value = match value {
                FieldValue::Text(v) => v.replace('\0', ""),
                FieldValue::Number(n) => n.to_string(),
            };
            fields.push((code, ByteStr::from(value)));
        });
        fields.into_iter().collect()
    }

    /// Builds an `ErrorInfo` from received fields (a proxy or client
    /// relaying a server's error). Missing severity or code default to
    /// ERROR and XX000.
    pub fn from_fields(fields: &ErrorFields) -> Self {
        let severity = match fields.severity() {
            Some("FATAL") => Severity::Fatal,
            Some("PANIC") => Severity::Panic,
            Some("WARNING") => Severity::Warning,
            Some("NOTICE") => Severity::Notice,
            Some("DEBUG") => Severity::Debug,
            Some("INFO") => Severity::Info,
            Some("LOG") => Severity::Log,
            _ => Severity::Error,
        };
        let code = fields
            .code()
            .and_then(|code| SqlState::try_from_code(code).ok())
            .unwrap_or(SqlState::INTERNAL_ERROR);
        let text = |c: u8| fields.get(c).map(|v: &ByteStr| Cow::Owned(v.to_string()));
        let num = |c: u8| fields.get(c).and_then(|v| v.parse::<u32>().ok());
        let mut e =
            ErrorInfo::new(code, fields.message().unwrap_or("").to_owned()).with_severity(severity);
        let details = ErrorDetails {
            detail: text(b'D'),
            hint: text(b'H'),
            position: num(b'P'),
            internal_position: num(b'p'),
            internal_query: text(b'q'),
            where_: text(b'W'),
            schema: text(b's'),
            table: text(b't'),
            column: text(b'c'),
            data_type: text(b'd'),
            constraint: text(b'n'),
            file: text(b'F'),
            line: num(b'L'),
            routine: text(b'R'),
        };
        if details != ErrorDetails::default() {
            e.details = Some(Box::new(details));
        }
        e
    }
}

/// A field value of an error or notice.
enum FieldValue<'a> {
    Text(&'a str),
    Number(u32),
}

impl fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.severity, self.message, self.code)
    }
}

impl std::error::Error for ErrorInfo {}

impl From<DecodeError> for ErrorInfo {
    /// An error with the decoding failure's [`DecodeError::sql_state`]: an
    /// ERROR where the framing survived ([`DecodeError::is_recoverable`]),
    /// FATAL otherwise.
    fn from(e: DecodeError) -> Self {
        let info = ErrorInfo::new(e.sql_state(), e.to_string());
        if e.is_recoverable() {
            info
        } else {
            info.with_severity(Severity::Fatal)
        }
    }
}

/// What serving a connection can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgWireError {
    /// The transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The client sent bytes that are not a valid message.
    #[error("invalid message from client: {0}")]
    Decode(#[from] DecodeError),
    /// The session ended with an error sent to the client (FATAL).
    #[error("{0}")]
    Fatal(ErrorInfo),
    /// The client did not finish startup and authentication in time.
    #[error("startup timed out")]
    StartupTimeout,
    /// The TLS handshake failed.
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
    /// The connection was refused before startup for its PROXY protocol
    /// header (malformed, untrusted, missing).
    #[error("{0}")]
    ProxyProtocol(crate::server::ProxyRefusal),
}
