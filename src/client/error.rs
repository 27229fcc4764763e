//! The client's errors: what the server said ([`DbError`]) and what went
//! wrong on this side ([`Error`]).

use std::fmt;
use std::io;

use crate::messages::{DecodeError, ErrorFields};

/// An ErrorResponse or NoticeResponse from the server, with every field
/// PostgreSQL defines ("Error and Notice Message Fields").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DbError {
    /// `S`: localized severity (`ERROR`, `FATAL`, `NOTICE`, ...).
    pub severity: String,
    /// `V`: severity, never localized (PostgreSQL 9.6+).
    pub severity_nonlocalized: Option<String>,
    /// `C`: the SQLSTATE.
    pub code: String,
    /// `M`: the primary message.
    pub message: String,
    /// `D`: detail.
    pub detail: Option<String>,
    /// `H`: hint.
    pub hint: Option<String>,
    /// `P`: 1-based character position in the query string.
    pub position: Option<u32>,
    /// `p`: position in an internally generated query.
    pub internal_position: Option<u32>,
    /// `q`: the internally generated query.
    pub internal_query: Option<String>,
    /// `W`: context (call stack).
    pub where_: Option<String>,
    /// `s`: schema name.
    pub schema: Option<String>,
    /// `t`: table name.
    pub table: Option<String>,
    /// `c`: column name.
    pub column: Option<String>,
    /// `d`: data type name.
    pub datatype: Option<String>,
    /// `n`: constraint name.
    pub constraint: Option<String>,
    /// `F`: source file.
    pub file: Option<String>,
    /// `L`: source line.
    pub line: Option<u32>,
    /// `R`: source routine.
    pub routine: Option<String>,
}

impl DbError {
    /// Reads the fields of an ErrorResponse / NoticeResponse.
    pub fn from_fields(fields: &ErrorFields) -> DbError {
        let mut e = DbError::default();
        for (code, value) in &fields.fields {
            let v = value.as_str().to_owned();
            match code {
                b'S' => e.severity = v,
                b'V' => e.severity_nonlocalized = Some(v),
                b'C' => e.code = v,
                b'M' => e.message = v,
                b'D' => e.detail = Some(v),
                b'H' => e.hint = Some(v),
                b'P' => e.position = v.parse().ok(),
                b'p' => e.internal_position = v.parse().ok(),
                b'q' => e.internal_query = Some(v),
                b'W' => e.where_ = Some(v),
                b's' => e.schema = Some(v),
                b't' => e.table = Some(v),
                b'c' => e.column = Some(v),
                b'd' => e.datatype = Some(v),
                b'n' => e.constraint = Some(v),
                b'F' => e.file = Some(v),
                b'L' => e.line = v.parse().ok(),
                b'R' => e.routine = Some(v),
                // Unknown fields are to be ignored (the protocol may add more).
                _ => {}
            }
        }
        if e.severity.is_empty() {
            if let Some(v) = &e.severity_nonlocalized {
                e.severity = v.clone();
            }
        }
        e
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.severity, self.code, self.message)?;
        if let Some(d) = &self.detail {
            write!(f, " (DETAIL: {d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for DbError {}

/// Everything a client operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an ErrorResponse.
    #[error("{0}")]
    Db(Box<DbError>),
    /// The transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The server sent bytes that are not a valid message.
    #[error("invalid message from the server: {0}")]
    Decode(#[from] DecodeError),
    /// The server closed the connection.
    #[error("the server closed the connection unexpectedly")]
    Closed,
    /// A replication stream carried a payload that is not valid
    /// (XLogData, keepalive or `pgoutput` message).
    #[error("invalid replication message from the server: {0}")]
    Replication(#[from] crate::replication::ReplicationDecodeError),
    /// The server sent a valid message that makes no sense at this point.
    #[error("protocol violation by the server: {0}")]
    Protocol(String),
    /// The connection string, URL or environment is invalid.
    #[error("invalid connection configuration: {0}")]
    Config(String),
    /// Authentication failed on this side (a refused method, a server that
    /// could not prove it knows the password, a missing password).
    #[error("authentication failed: {0}")]
    Auth(String),
    /// TLS setup or handshake failed, or the server refused TLS that was
    /// required.
    #[error("TLS: {0}")]
    Tls(String),
    /// No host accepted the connection (each host's error in order).
    #[error("could not connect to any host: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    AllHostsFailed(Vec<Error>),
    /// The connect timeout expired.
    #[error("timed out connecting to {0}")]
    Timeout(String),
    /// Encoding a parameter (`ToSql`) or decoding a column (`FromSql`)
    /// failed.
    #[error("conversion error: {0}")]
    Conversion(Box<dyn std::error::Error + Send + Sync>),
    /// A column name or index that the row does not have.
    #[error("no column {0}")]
    NoColumn(String),
    /// A pipelined statement did not run because an earlier one in the
    /// same Sync segment failed.
    #[error("skipped: an earlier statement of the pipeline failed")]
    PipelineAborted,
    /// The statement does not return rows where rows were expected, or the
    /// number of parameters is wrong.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// The server's error, if this is one.
    pub fn as_db_error(&self) -> Option<&DbError> {
        match self {
            Error::Db(e) => Some(e),
            _ => None,
        }
    }

    /// The SQLSTATE of a server error. Errors raised on the client side
    /// map to the SQLSTATE libpq-based tools would show: `08006`
    /// (connection failure) for I/O and closed connections, `08P01`
    /// (protocol violation) for bad messages, `28000` for authentication,
    /// `08001` for connection setup, `22000` for conversions.
    pub fn sqlstate(&self) -> &str {
        match self {
            Error::Db(e) => &e.code,
            Error::Io(_) | Error::Closed => "08006",
            Error::Decode(_) | Error::Protocol(_) | Error::Replication(_) => "08P01",
            Error::Auth(_) => "28000",
            Error::Config(_) | Error::Tls(_) | Error::AllHostsFailed(_) | Error::Timeout(_) => {
                "08001"
            }
            Error::Conversion(_) => "22000",
            Error::NoColumn(_) => "42703",
            Error::PipelineAborted => "25P02",
            Error::Usage(_) => "42601",
        }
    }

    pub(crate) fn protocol(what: impl Into<String>) -> Error {
        Error::Protocol(what.into())
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        Error::Db(Box::new(e))
    }
}
