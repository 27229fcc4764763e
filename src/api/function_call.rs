//! The function call sub-protocol (FunctionCall, 'F', PostgreSQL's
//! "fast path"): a client calls a function by OID with arguments in text or
//! binary, and gets one value back. pgJDBC's `LargeObjectManager` uses it
//! for `lo_open`, `loread`, `lowrite`, `lo_lseek64`, `lo_close`, ...
//!
//! Opt-in, like COPY: implement [`FunctionCallHandler`] for your
//! per-connection handler and return
//! [`UseFunctionCallHandler`](super::UseFunctionCallHandler) from
//! [`ServerHandlers::function_call`](super::ServerHandlers::function_call).
//! Without it the server answers FunctionCall with 0A000.

use std::future::Future;

use bytes::Bytes;

use super::session::Session;
use crate::error::{ErrorInfo, SqlState};
use crate::messages::{FunctionCall, Oid};
use crate::types::FieldFormat;

/// Answers FunctionCall messages.
///
/// The server has checked the message before calling: the format codes
/// are 0 or 1 and as many as the protocol allows, and the session is not
/// in a failed transaction (that is 25P02, as PostgreSQL). The handler
/// finds the function (42883 `function with OID n does not exist` if it
/// has none), checks the argument count with
/// [`FunctionCallRequest::expect_args`], and returns the result encoded in
/// [`FunctionCallRequest::result_format`] (`None` for NULL). Outside a
/// transaction block the call is its own transaction, as a statement is.
///
/// ```
/// use bytes::Bytes;
/// use pgwire::api::{FunctionCallHandler, FunctionCallRequest, Session};
/// use pgwire::error::{ErrorInfo, SqlState};
///
/// struct Adder;
///
/// impl FunctionCallHandler for Adder {
///     async fn call_function(
///         &mut self,
///         _session: &mut Session,
///         call: &FunctionCallRequest,
///     ) -> Result<Option<Bytes>, ErrorInfo> {
///         if call.function_oid() != 177 {
///             return Err(call.undefined_function());
///         }
///         call.expect_args(2)?;
///         let (a, b) = (call.arg_i32(0)?, call.arg_i32(1)?);
///         let sum = match (a, b) {
///             (Some(a), Some(b)) => a.checked_add(b).ok_or_else(|| {
///                 ErrorInfo::new(SqlState::NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range")
///             })?,
///             _ => return Ok(None),
///         };
///         Ok(Some(call.encode_i32(sum)))
///     }
/// }
/// ```
pub trait FunctionCallHandler: Send {
    /// Calls the function `call` names.
    fn call_function(
        &mut self,
        session: &mut Session,
        call: &FunctionCallRequest,
    ) -> impl Future<Output = Result<Option<Bytes>, ErrorInfo>> + Send;
}

/// A checked FunctionCall: the function's OID, its arguments with their
/// formats, and the format the result is wanted in.
#[derive(Debug)]
pub struct FunctionCallRequest {
    call: FunctionCall,
}

impl FunctionCallRequest {
    /// Checks the format codes of `call` as PostgreSQL does.
    pub(crate) fn new(call: FunctionCall) -> Result<Self, ErrorInfo> {
        let n = call.args.len();
        let formats = call.arg_formats.len();
        if formats > 1 && formats != n {
            return Err(ErrorInfo::new(
                SqlState::PROTOCOL_VIOLATION,
                format!(
                    "function call message contains {formats} argument formats but {n} arguments"
                ),
            ));
        }
        for code in call.arg_formats.iter() {
            if FieldFormat::from_code(code).is_none() {
                return Err(ErrorInfo::new(
                    SqlState::INVALID_PARAMETER_VALUE,
                    format!("unsupported format code: {code}"),
                ));
            }
        }
        Ok(FunctionCallRequest { call })
    }

    /// PostgreSQL checks the result format code when it sends the result,
    /// after the call: a function with side effects has had them.
    pub(crate) fn check_result_format(&self) -> Result<(), ErrorInfo> {
        match FieldFormat::from_code(self.call.result_format) {
            Some(_) => Ok(()),
            None => Err(ErrorInfo::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("unsupported format code: {}", self.call.result_format),
            )),
        }
    }

    /// The OID of the function called.
    pub fn function_oid(&self) -> Oid {
        self.call.function_oid
    }

    /// Number of arguments.
    pub fn arg_count(&self) -> usize {
        self.call.args.len()
    }

    /// Argument `i` as sent (`Some(None)` for NULL, `None` past the end).
    pub fn arg(&self, i: usize) -> Option<Option<&[u8]>> {
        self.call.args.get(i)
    }

    /// The format of argument `i`.
    pub fn arg_format(&self, i: usize) -> FieldFormat {
        self.call
            .arg_formats
            .format_for(i, self.arg_count())
            .and_then(FieldFormat::from_code)
            .unwrap_or(FieldFormat::Text)
    }

    /// The format the result must be encoded in.
    pub fn result_format(&self) -> FieldFormat {
        FieldFormat::from_code(self.call.result_format).unwrap_or(FieldFormat::Text)
    }

    /// 42883 `function with OID n does not exist`, PostgreSQL's answer for
    /// an unknown OID.
    pub fn undefined_function(&self) -> ErrorInfo {
        ErrorInfo::new(
            SqlState::UNDEFINED_FUNCTION,
            format!("function with OID {} does not exist", self.function_oid()),
        )
    }

    /// Checks the argument count: PostgreSQL's 08P01 `function call message
    /// contains n arguments but function requires m` otherwise.
    pub fn expect_args(&self, n: usize) -> Result<(), ErrorInfo> {
        if self.arg_count() == n {
            Ok(())
        } else {
            Err(ErrorInfo::new(
                SqlState::PROTOCOL_VIOLATION,
                format!(
                    "function call message contains {} arguments but function requires {n}",
                    self.arg_count()
                ),
            ))
        }
    }

    fn raw_arg(&self, i: usize) -> Result<Option<&[u8]>, ErrorInfo> {
        self.arg(i).ok_or_else(|| {
            ErrorInfo::new(
                SqlState::PROTOCOL_VIOLATION,
                format!("function call message has no argument {}", i + 1),
            )
        })
    }

    /// A binary argument of a fixed-size type: too short is PostgreSQL's
    /// 08P01 (its receive function runs out of data), too long 22P03.
    fn fixed_binary<const N: usize>(i: usize, v: &[u8]) -> Result<[u8; N], ErrorInfo> {
        if v.len() < N {
            return Err(ErrorInfo::new(
                SqlState::PROTOCOL_VIOLATION,
                "insufficient data left in message",
            ));
        }
        <[u8; N]>::try_from(v).map_err(|_| Self::bad_binary(i))
    }

    fn bad_binary(i: usize) -> ErrorInfo {
        ErrorInfo::new(
            SqlState::INVALID_BINARY_REPRESENTATION,
            format!(
                "incorrect binary data format in function argument {}",
                i + 1
            ),
        )
    }

    fn text_arg(&self, i: usize, v: &[u8]) -> Result<String, ErrorInfo> {
        std::str::from_utf8(v)
            .map(|s| s.trim().to_owned())
            .map_err(|_| Self::bad_binary(i))
    }

    /// Argument `i` as an `int4` (text or binary); `None` for NULL.
    pub fn arg_i32(&self, i: usize) -> Result<Option<i32>, ErrorInfo> {
        let Some(v) = self.raw_arg(i)? else {
            return Ok(None);
        };
        match self.arg_format(i) {
            FieldFormat::Binary => {
                Self::fixed_binary::<4>(i, v).map(|b| Some(i32::from_be_bytes(b)))
            }
            FieldFormat::Text => {
                let s = self.text_arg(i, v)?;
                s.parse().map(Some).map_err(|_| {
                    ErrorInfo::new(
                        SqlState::INVALID_TEXT_REPRESENTATION,
                        format!("invalid input syntax for type integer: \"{s}\""),
                    )
                })
            }
        }
    }

    /// Argument `i` as an `int8` (text or binary); `None` for NULL.
    pub fn arg_i64(&self, i: usize) -> Result<Option<i64>, ErrorInfo> {
        let Some(v) = self.raw_arg(i)? else {
            return Ok(None);
        };
        match self.arg_format(i) {
            FieldFormat::Binary => {
                Self::fixed_binary::<8>(i, v).map(|b| Some(i64::from_be_bytes(b)))
            }
            FieldFormat::Text => {
                let s = self.text_arg(i, v)?;
                s.parse().map(Some).map_err(|_| {
                    ErrorInfo::new(
                        SqlState::INVALID_TEXT_REPRESENTATION,
                        format!("invalid input syntax for type bigint: \"{s}\""),
                    )
                })
            }
        }
    }

    /// Argument `i` as a `bytea` (binary as is, text in hex `\x..` or
    /// escape form); `None` for NULL.
    pub fn arg_bytea(&self, i: usize) -> Result<Option<Vec<u8>>, ErrorInfo> {
        let Some(v) = self.raw_arg(i)? else {
            return Ok(None);
        };
        match self.arg_format(i) {
            FieldFormat::Binary => Ok(Some(v.to_vec())),
            FieldFormat::Text => std::str::from_utf8(v)
                .ok()
                .and_then(crate::types::text::parse_bytea)
                .map(Some)
                .ok_or_else(|| {
                    ErrorInfo::new(
                        SqlState::INVALID_TEXT_REPRESENTATION,
                        "invalid input syntax for type bytea",
                    )
                }),
        }
    }

    /// `v` as an `int4` result in the result format.
    pub fn encode_i32(&self, v: i32) -> Bytes {
        match self.result_format() {
            FieldFormat::Binary => Bytes::copy_from_slice(&v.to_be_bytes()),
            FieldFormat::Text => Bytes::from(v.to_string()),
        }
    }

    /// `v` as an `int8` result in the result format.
    pub fn encode_i64(&self, v: i64) -> Bytes {
        match self.result_format() {
            FieldFormat::Binary => Bytes::copy_from_slice(&v.to_be_bytes()),
            FieldFormat::Text => Bytes::from(v.to_string()),
        }
    }

    /// `v` as a `bytea` result in the result format (hex in text).
    pub fn encode_bytea(&self, v: Vec<u8>) -> Bytes {
        match self.result_format() {
            FieldFormat::Binary => Bytes::from(v),
            FieldFormat::Text => {
                let mut s = bytes::BytesMut::new();
                crate::types::text::write_bytea_hex(&mut s, &v);
                s.freeze()
            }
        }
    }
}
