//! Bind is checked at Bind, as in PostgreSQL: parameter values whose type
//! the server knows (declared by the client in Parse, or described
//! earlier) are validated before BindComplete, with PostgreSQL's errors:
//! a binary value too short for its type is 08P01 ("insufficient data left
//! in message"), one too long 22P03, text that is not a valid value 22P02
//! and the like. Values of types nobody declared or described are left to
//! the handler (at Execute, or in its `do_bind`).

use bytes::BytesMut;
use postgres_types::Type;

use crate::api::StoredStatement;
use crate::error::{ErrorInfo, SqlState};
use crate::messages::Bind;
use crate::types::FormatSettings;
use crate::types::text::text_to_binary_with;

/// Checks the bound values of `bind` against the types the server knows
/// for `statement`; text values are read with the session's `settings`
/// (DateStyle's field order, TimeZone), as PostgreSQL reads them.
pub(super) fn check_parameter_values<S>(
    bind: &Bind,
    statement: &StoredStatement<S>,
    settings: &FormatSettings,
    scratch: &mut BytesMut,
) -> Result<(), ErrorInfo> {
    let described = statement.described_params.get();
    if statement.param_types.is_empty() && described.is_none() {
        return Ok(());
    }
    let n = bind.params.len();
    for (i, value) in bind.params.iter().enumerate() {
        let Some(raw) = value else { continue };
        let declared = statement
            .param_types
            .get(i)
            .copied()
            .filter(|&oid| oid != 0)
            .and_then(Type::from_oid);
        let Some(ty) = declared.or_else(|| described.and_then(|d| d.get(i).cloned())) else {
            continue;
        };
        if bind.param_formats.format_for(i, n) == Some(1) {
            check_binary(&ty, raw, i)?;
        } else if is_checked_text_type(&ty) {
            let text = std::str::from_utf8(raw).map_err(|_| {
                ErrorInfo::new(
                    SqlState::CHARACTER_NOT_IN_REPERTOIRE,
                    "invalid byte sequence for encoding \"UTF8\"",
                )
            })?;
            scratch.clear();
            text_to_binary_with(&ty, text, settings, scratch)?;
        }
    }
    Ok(())
}

/// The types whose text input the library parses exactly as PostgreSQL
/// (checked by the differential test against PostgreSQL).
fn is_checked_text_type(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::BOOL
            | Type::INT2
            | Type::INT4
            | Type::INT8
            | Type::OID
            | Type::FLOAT4
            | Type::FLOAT8
            | Type::NUMERIC
            | Type::DATE
            | Type::TIME
            | Type::TIMETZ
            | Type::TIMESTAMP
            | Type::TIMESTAMPTZ
            | Type::INTERVAL
            | Type::UUID
    )
}

/// The length of a binary value of a fixed-size type.
fn fixed_binary_len(ty: &Type) -> Option<usize> {
    Some(match *ty {
        Type::BOOL | Type::CHAR => 1,
        Type::INT2 => 2,
        Type::INT4 | Type::OID | Type::FLOAT4 | Type::DATE => 4,
        Type::INT8 | Type::FLOAT8 | Type::TIME | Type::TIMESTAMP | Type::TIMESTAMPTZ => 8,
        Type::TIMETZ => 12,
        Type::INTERVAL | Type::UUID => 16,
        _ => return None,
    })
}

fn check_binary(ty: &Type, raw: &[u8], i: usize) -> Result<(), ErrorInfo> {
    let expected = match fixed_binary_len(ty) {
        Some(len) => len,
        // numeric: ndigits, weight, sign, dscale, then ndigits digits.
        None if *ty == Type::NUMERIC => match raw.get(..2) {
            Some(n) => 8 + 2 * u16::from_be_bytes([n[0], n[1]]) as usize,
            None => 8,
        },
        None => return Ok(()),
    };
    if raw.len() < expected {
        return Err(ErrorInfo::new(
            SqlState::PROTOCOL_VIOLATION,
            "insufficient data left in message",
        ));
    }
    if raw.len() > expected {
        return Err(ErrorInfo::new(
            SqlState::INVALID_BINARY_REPRESENTATION,
            format!("incorrect binary data format in bind parameter {}", i + 1),
        ));
    }
    Ok(())
}
