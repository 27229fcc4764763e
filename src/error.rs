//! Errors: SQLSTATE codes, severities, the `ErrorInfo` a handler returns to
//! its client, and `PgWireError`, what the server itself can fail with.

use std::borrow::Cow;
use std::fmt;

use bytes::{BufMut, BytesMut};

use crate::messages::{ByteStr, DecodeError, ErrorFields};

/// A five-character SQLSTATE error code.
///
/// The common codes are associated constants (`SqlState::SYNTAX_ERROR`, ...);
/// any other valid code can be made with [`SqlState::new`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SqlState([u8; 5]);

impl SqlState {
    /// A SQLSTATE from its five characters (digits and upper-case letters);
    /// `None` if `code` is not of that form.
    pub fn new(code: &str) -> Option<Self> {
        let b: [u8; 5] = code.as_bytes().try_into().ok()?;
        if b.iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        {
            Some(SqlState(b))
        } else {
            None
        }
    }

    /// The code as a string.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XX000")
    }

    const fn from_bytes(b: &[u8; 5]) -> Self {
        SqlState(*b)
    }
}

macro_rules! sqlstates {
    ($($(#[$doc:meta])* $name:ident = $code:literal;)*) => {
        impl SqlState {
            $(
                $(#[$doc])*
                pub const $name: SqlState = SqlState::from_bytes($code);
            )*
        }
    };
}

sqlstates! {
    /// 00000 successful_completion
    SUCCESSFUL_COMPLETION = b"00000";
    /// 01000 warning
    WARNING = b"01000";
    /// 08000 connection_exception
    CONNECTION_EXCEPTION = b"08000";
    /// 08006 connection_failure
    CONNECTION_FAILURE = b"08006";
    /// 08P01 protocol_violation
    PROTOCOL_VIOLATION = b"08P01";
    /// 0A000 feature_not_supported
    FEATURE_NOT_SUPPORTED = b"0A000";
    /// 21000 cardinality_violation
    CARDINALITY_VIOLATION = b"21000";
    /// 22000 data_exception
    DATA_EXCEPTION = b"22000";
    /// 22001 string_data_right_truncation
    STRING_DATA_RIGHT_TRUNCATION = b"22001";
    /// 22003 numeric_value_out_of_range
    NUMERIC_VALUE_OUT_OF_RANGE = b"22003";
    /// 22007 invalid_datetime_format
    INVALID_DATETIME_FORMAT = b"22007";
    /// 22008 datetime_field_overflow
    DATETIME_FIELD_OVERFLOW = b"22008";
    /// 22012 division_by_zero
    DIVISION_BY_ZERO = b"22012";
    /// 22021 character_not_in_repertoire
    CHARACTER_NOT_IN_REPERTOIRE = b"22021";
    /// 22023 invalid_parameter_value
    INVALID_PARAMETER_VALUE = b"22023";
    /// 22P02 invalid_text_representation
    INVALID_TEXT_REPRESENTATION = b"22P02";
    /// 22P03 invalid_binary_representation
    INVALID_BINARY_REPRESENTATION = b"22P03";
    /// 22P04 bad_copy_file_format
    BAD_COPY_FILE_FORMAT = b"22P04";
    /// 23000 integrity_constraint_violation
    INTEGRITY_CONSTRAINT_VIOLATION = b"23000";
    /// 23502 not_null_violation
    NOT_NULL_VIOLATION = b"23502";
    /// 23503 foreign_key_violation
    FOREIGN_KEY_VIOLATION = b"23503";
    /// 23505 unique_violation
    UNIQUE_VIOLATION = b"23505";
    /// 23514 check_violation
    CHECK_VIOLATION = b"23514";
    /// 25000 invalid_transaction_state
    INVALID_TRANSACTION_STATE = b"25000";
    /// 25001 active_sql_transaction
    ACTIVE_SQL_TRANSACTION = b"25001";
    /// 25P01 no_active_sql_transaction
    NO_ACTIVE_SQL_TRANSACTION = b"25P01";
    /// 25P02 in_failed_sql_transaction
    IN_FAILED_SQL_TRANSACTION = b"25P02";
    /// 25006 read_only_sql_transaction
    READ_ONLY_SQL_TRANSACTION = b"25006";
    /// 26000 invalid_sql_statement_name
    INVALID_SQL_STATEMENT_NAME = b"26000";
    /// 28000 invalid_authorization_specification
    INVALID_AUTHORIZATION_SPECIFICATION = b"28000";
    /// 28P01 invalid_password
    INVALID_PASSWORD = b"28P01";
    /// 34000 invalid_cursor_name
    INVALID_CURSOR_NAME = b"34000";
    /// 3D000 invalid_catalog_name (unknown database)
    INVALID_CATALOG_NAME = b"3D000";
    /// 3F000 invalid_schema_name
    INVALID_SCHEMA_NAME = b"3F000";
    /// 40001 serialization_failure
    SERIALIZATION_FAILURE = b"40001";
    /// 40P01 deadlock_detected
    DEADLOCK_DETECTED = b"40P01";
    /// 42000 syntax_error_or_access_rule_violation
    SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION = b"42000";
    /// 42501 insufficient_privilege
    INSUFFICIENT_PRIVILEGE = b"42501";
    /// 42601 syntax_error
    SYNTAX_ERROR = b"42601";
    /// 42703 undefined_column
    UNDEFINED_COLUMN = b"42703";
    /// 42704 undefined_object
    UNDEFINED_OBJECT = b"42704";
    /// 42710 duplicate_object
    DUPLICATE_OBJECT = b"42710";
    /// 42804 datatype_mismatch
    DATATYPE_MISMATCH = b"42804";
    /// 42883 undefined_function
    UNDEFINED_FUNCTION = b"42883";
    /// 42P01 undefined_table
    UNDEFINED_TABLE = b"42P01";
    /// 42P02 undefined_parameter
    UNDEFINED_PARAMETER = b"42P02";
    /// 42P03 duplicate_cursor
    DUPLICATE_CURSOR = b"42P03";
    /// 42P05 duplicate_prepared_statement
    DUPLICATE_PREPARED_STATEMENT = b"42P05";
    /// 42P07 duplicate_table
    DUPLICATE_TABLE = b"42P07";
    /// 42P18 indeterminate_datatype
    INDETERMINATE_DATATYPE = b"42P18";
    /// 53000 insufficient_resources
    INSUFFICIENT_RESOURCES = b"53000";
    /// 53100 disk_full
    DISK_FULL = b"53100";
    /// 53200 out_of_memory
    OUT_OF_MEMORY = b"53200";
    /// 53300 too_many_connections
    TOO_MANY_CONNECTIONS = b"53300";
    /// 54000 program_limit_exceeded
    PROGRAM_LIMIT_EXCEEDED = b"54000";
    /// 55000 object_not_in_prerequisite_state
    OBJECT_NOT_IN_PREREQUISITE_STATE = b"55000";
    /// 55P03 lock_not_available
    LOCK_NOT_AVAILABLE = b"55P03";
    /// 57014 query_canceled
    QUERY_CANCELED = b"57014";
    /// 57P01 admin_shutdown
    ADMIN_SHUTDOWN = b"57P01";
    /// 57P05 idle_session_timeout
    IDLE_SESSION_TIMEOUT = b"57P05";
    /// 58000 system_error
    SYSTEM_ERROR = b"58000";
    /// 58030 io_error
    IO_ERROR = b"58030";
    /// XX000 internal_error
    INTERNAL_ERROR = b"XX000";
}

impl fmt::Debug for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SqlState({})", self.code())
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

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
        self.encode_with_tag(buf, b'E');
    }

    /// Appends this as a NoticeResponse ('N').
    pub fn encode_notice(&self, buf: &mut BytesMut) {
        self.encode_with_tag(buf, b'N');
    }

    fn encode_with_tag(&self, buf: &mut BytesMut, tag: u8) {
        fn field(buf: &mut BytesMut, code: u8, value: &str) {
            buf.put_u8(code);
            // A NUL inside a field would end it early and desynchronise the
            // client; drop any rather than send a malformed message.
            for part in value.split('\0') {
                buf.put_slice(part.as_bytes());
            }
            buf.put_u8(0);
        }
        fn num(buf: &mut BytesMut, code: u8, value: u32) {
            let mut tmp = itoa_buf();
            field(buf, code, format_u32(value, &mut tmp));
        }
        buf.put_u8(tag);
        let at = buf.len();
        buf.put_u32(0);
        field(buf, b'S', self.severity.as_str());
        field(buf, b'V', self.severity.as_str());
        field(buf, b'C', self.code.code());
        field(buf, b'M', &self.message);
        if let Some(d) = &self.details {
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
                    field(buf, code, v);
                }
            }
            if let Some(p) = d.position {
                num(buf, b'P', p);
            }
            if let Some(p) = d.internal_position {
                num(buf, b'p', p);
            }
            if let Some(l) = d.line {
                num(buf, b'L', l);
            }
        }
        buf.put_u8(0);
        let len = (buf.len() - at) as u32;
        buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// The fields as sent on the wire.
    pub fn to_fields(&self) -> ErrorFields {
        let mut b = BytesMut::new();
        self.encode_error(&mut b);
        let mut d = crate::messages::BackendDecoder::new();
        match d.decode(&mut b) {
            Ok(Some(crate::messages::BackendMessage::ErrorResponse(e))) => e.0,
            _ => ErrorFields::default(),
        }
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
            .and_then(SqlState::new)
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

fn itoa_buf() -> [u8; 10] {
    [0; 10]
}

fn format_u32(mut v: u32, buf: &mut [u8; 10]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

impl fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.severity, self.message, self.code)
    }
}

impl std::error::Error for ErrorInfo {}

impl From<DecodeError> for ErrorInfo {
    /// Invalid UTF-8 is an ERROR with 22021; every other decoding failure
    /// is a FATAL protocol violation (08P01).
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::InvalidUtf8 { .. } => {
                ErrorInfo::new(SqlState::CHARACTER_NOT_IN_REPERTOIRE, e.to_string())
            }
            _ => ErrorInfo::fatal(SqlState::PROTOCOL_VIOLATION, e.to_string()),
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
