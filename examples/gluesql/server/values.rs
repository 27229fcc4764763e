//! GlueSQL values on the wire: the PostgreSQL type each GlueSQL type is
//! sent as, result values encoded in text or binary, and bound parameters
//! read into GlueSQL values.

use std::str::FromStr;

use gluesql_core::ast::DataType;
use gluesql_core::data::{Point, Value};
use gluesql_core::translate::{IntoParamLiteral, ParamLiteral};
use pgwire::api::Portal;
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::types::text::{text_to_binary, write_float8};
use pgwire::types::{DataRowEncoder, EncodeRow, FieldFormat, Type};

use super::errors::glue_error;
use super::pg_formats as pf;

/// The PostgreSQL type a GlueSQL column type is described as. PostgreSQL
/// has no one-byte or unsigned integers: each goes to the smallest signed
/// type holding all its values.
pub fn pg_type_of(t: &DataType) -> Type {
    match t {
        DataType::Boolean => Type::BOOL,
        DataType::Int8 | DataType::Int16 | DataType::Uint8 => Type::INT2,
        DataType::Int32 | DataType::Uint16 => Type::INT4,
        DataType::Int | DataType::Uint32 => Type::INT8,
        DataType::Int128 | DataType::Uint64 | DataType::Uint128 | DataType::Decimal => {
            Type::NUMERIC
        }
        DataType::Float32 => Type::FLOAT4,
        DataType::Float => Type::FLOAT8,
        DataType::Text => Type::TEXT,
        DataType::Bytea => Type::BYTEA,
        DataType::Inet => Type::INET,
        DataType::Date => Type::DATE,
        DataType::Timestamp => Type::TIMESTAMP,
        DataType::Time => Type::TIME,
        DataType::Interval => Type::INTERVAL,
        DataType::Uuid => Type::UUID,
        DataType::Map | DataType::List => Type::JSON,
        DataType::Point => Type::POINT,
    }
}

/// The PostgreSQL type of a value (`None` for NULL, which has none).
pub fn value_type(v: &Value) -> Option<Type> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(_) => Type::BOOL,
        Value::I8(_) | Value::I16(_) | Value::U8(_) => Type::INT2,
        Value::I32(_) | Value::U16(_) => Type::INT4,
        Value::I64(_) | Value::U32(_) => Type::INT8,
        Value::I128(_) | Value::U64(_) | Value::U128(_) | Value::Decimal(_) => Type::NUMERIC,
        Value::F32(_) => Type::FLOAT4,
        Value::F64(_) => Type::FLOAT8,
        Value::Str(_) => Type::TEXT,
        Value::Bytea(_) => Type::BYTEA,
        Value::Inet(_) => Type::INET,
        Value::Date(_) => Type::DATE,
        Value::Timestamp(_) => Type::TIMESTAMP,
        Value::Time(_) => Type::TIME,
        Value::Interval(_) => Type::INTERVAL,
        Value::Uuid(_) => Type::UUID,
        Value::Map(_) | Value::List(_) => Type::JSON,
        Value::Point(_) => Type::POINT,
    })
}

/// The GlueSQL type to convert a value to before sending it as `ty`.
fn glue_type_for(ty: &Type) -> Option<DataType> {
    Some(match *ty {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 => DataType::Int,
        Type::NUMERIC => DataType::Decimal,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float,
        Type::TEXT => DataType::Text,
        Type::BYTEA => DataType::Bytea,
        Type::INET => DataType::Inet,
        Type::DATE => DataType::Date,
        Type::TIMESTAMP => DataType::Timestamp,
        Type::TIME => DataType::Time,
        Type::INTERVAL => DataType::Interval,
        Type::UUID => DataType::Uuid,
        Type::POINT => DataType::Point,
        _ => return None,
    })
}

/// A result row.
pub struct GlueRow(pub Vec<Value>);

impl EncodeRow for GlueRow {
    fn encode_row(&self, row: &mut DataRowEncoder<'_>) -> Result<(), ErrorInfo> {
        for v in &self.0 {
            encode_value(row, v)?;
        }
        Ok(())
    }
}

/// Encodes `v` as the next column of `row`. GlueSQL is dynamically typed,
/// so a value whose type differs from its column's (an expression that
/// returns different types on different rows, or a column described before
/// the query ran) is converted with GlueSQL's own CAST first.
pub fn encode_value(row: &mut DataRowEncoder<'_>, v: &Value) -> Result<(), ErrorInfo> {
    let Some(column) = row.next_column() else {
        return Err(ErrorInfo::new(
            SqlState::INTERNAL_ERROR,
            "row has more values than its result has columns",
        ));
    };
    let ty = column.datatype();
    match value_type(v) {
        None => row.encode_null(),
        Some(Type::JSON) if *ty == Type::JSON => encode_json(row, v),
        Some(t) if t == *ty => encode_native(row, v),
        // JSON columns take any value in its JSON text form.
        Some(_) if *ty == Type::JSON => encode_json(row, v),
        Some(_) => {
            let target = glue_type_for(ty).ok_or_else(|| {
                ErrorInfo::new(
                    SqlState::DATATYPE_MISMATCH,
                    format!("cannot send a GlueSQL value as type {}", ty.name()),
                )
            })?;
            let converted = v.cast(&target).map_err(glue_error)?;
            encode_native(row, &converted)
        }
    }
}

/// Encodes a value as its own PostgreSQL type ([`value_type`]).
fn encode_native(row: &mut DataRowEncoder<'_>, v: &Value) -> Result<(), ErrorInfo> {
    match v {
        Value::Null => row.encode_null(),
        Value::Bool(b) => row.encode_field(b),
        Value::I8(x) => row.encode_field(&i16::from(*x)),
        Value::I16(x) => row.encode_field(x),
        Value::U8(x) => row.encode_field(&i16::from(*x)),
        Value::I32(x) => row.encode_field(x),
        Value::U16(x) => row.encode_field(&i32::from(*x)),
        Value::I64(x) => row.encode_field(x),
        Value::U32(x) => row.encode_field(&i64::from(*x)),
        Value::F32(x) => row.encode_field(x),
        Value::F64(x) => row.encode_field(x),
        Value::Str(s) => row.encode_field(&s.as_str()),
        Value::Bytea(b) => row.encode_field(&b.as_slice()),
        // Dates and times in their binary form, printed by the library in
        // text format: as the session's DateStyle, IntervalStyle... say.
        Value::Date(_) | Value::Timestamp(_) | Value::Time(_) | Value::Interval(_) => {
            row.encode_field(&BinaryForm(binary_form(v)?))
        }
        _ => match row.next_format() {
            FieldFormat::Text => row.encode_raw(Some(text_form(v).as_bytes())),
            FieldFormat::Binary => row.encode_raw(Some(&binary_form(v)?)),
        },
    }
}

/// A value already in its column type's binary form.
#[derive(Debug)]
struct BinaryForm(Vec<u8>);

impl pgwire::types::ToSql for BinaryForm {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<pgwire::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0);
        Ok(pgwire::types::IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres_types::to_sql_checked!();
}

/// Encodes a value in a `json` column: its JSON text, in both formats.
fn encode_json(row: &mut DataRowEncoder<'_>, v: &Value) -> Result<(), ErrorInfo> {
    let json = match v {
        Value::Map(_) | Value::List(_) => String::from(v),
        // GlueSQL writes JSON for maps and lists only: a scalar is written
        // as a one-element list and unwrapped.
        other => {
            let list = String::from(&Value::List(vec![other.clone()]));
            list[1..list.len() - 1].to_owned()
        }
    };
    row.encode_raw(Some(json.as_bytes()))
}

/// PostgreSQL's text form of a value of one of the types the library does
/// not format itself.
fn text_form(v: &Value) -> String {
    match v {
        Value::Date(d) => {
            let mut s = String::new();
            pf::date_text(*d, &mut s);
            s
        }
        Value::Timestamp(ts) => pf::timestamp_text(*ts),
        Value::Time(t) => {
            let mut s = String::new();
            pf::time_text(*t, &mut s);
            s
        }
        Value::Interval(iv) => pf::interval_text(iv),
        Value::Point(Point { x, y }) => {
            let mut b = bytes::BytesMut::new();
            b.extend_from_slice(b"(");
            write_float8(&mut b, *x);
            b.extend_from_slice(b",");
            write_float8(&mut b, *y);
            b.extend_from_slice(b")");
            String::from_utf8_lossy(&b).into_owned()
        }
        // Numbers, UUIDs, addresses and JSON print as PostgreSQL does.
        other => String::from(other),
    }
}

/// The binary form of a value of one of the types the library does not
/// encode itself.
fn binary_form(v: &Value) -> Result<Vec<u8>, ErrorInfo> {
    let bad = || {
        ErrorInfo::new(
            SqlState::DATATYPE_MISMATCH,
            format!("cannot encode {v:?} in binary"),
        )
    };
    Ok(match v {
        Value::I128(_) | Value::U64(_) | Value::U128(_) | Value::Decimal(_) => {
            pf::numeric_to_binary(&String::from(v)).ok_or_else(bad)?
        }
        Value::Date(d) => pf::date_to_binary(*d).to_be_bytes().to_vec(),
        Value::Timestamp(ts) => pf::timestamp_to_binary(*ts).to_be_bytes().to_vec(),
        Value::Time(t) => pf::time_to_binary(*t).to_be_bytes().to_vec(),
        Value::Interval(iv) => pf::interval_to_binary(iv).to_vec(),
        Value::Uuid(u) => u.to_be_bytes().to_vec(),
        Value::Inet(ip) => pf::inet_to_binary(ip),
        Value::Point(Point { x, y }) => [x.to_be_bytes(), y.to_be_bytes()].concat(),
        _ => return Err(bad()),
    })
}

// -------------------------------------------------------------- parameters

fn invalid(ty: &Type, raw: &[u8]) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INVALID_TEXT_REPRESENTATION,
        format!(
            "invalid input syntax for type {}: \"{}\"",
            pgwire::types::text::pg_type_display_name(ty),
            String::from_utf8_lossy(raw)
        ),
    )
}

fn bad_binary(ty: &Type, i: usize) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INVALID_BINARY_REPRESENTATION,
        format!(
            "incorrect binary data format in bind parameter {} (type {})",
            i + 1,
            ty.name()
        ),
    )
}

/// Parameter `i` of `portal`, sent as type `ty` (the client's or the one
/// inferred at Parse) in text or binary, as a GlueSQL value.
pub fn bind_param<S>(portal: &Portal<S>, i: usize, ty: &Type) -> Result<ParamLiteral, ErrorInfo> {
    let Some(Some(raw)) = portal.params().get(i) else {
        return Ok(ParamLiteral::null());
    };
    let binary = portal.param_format(i) == FieldFormat::Binary;
    let mut scratch = bytes::BytesMut::new();
    let text = || std::str::from_utf8(raw).map_err(|_| invalid(ty, raw));
    Ok(match *ty {
        Type::BOOL => portal
            .parameter::<bool>(i, ty, &mut scratch)?
            .into_param_literal(),
        Type::INT2 => portal
            .parameter::<i16>(i, ty, &mut scratch)?
            .into_param_literal(),
        Type::INT4 => portal
            .parameter::<i32>(i, ty, &mut scratch)?
            .into_param_literal(),
        Type::INT8 => portal
            .parameter::<i64>(i, ty, &mut scratch)?
            .into_param_literal(),
        Type::FLOAT4 => portal
            .parameter::<f32>(i, ty, &mut scratch)?
            .into_param_literal(),
        Type::FLOAT8 => portal
            .parameter::<f64>(i, ty, &mut scratch)?
            .into_param_literal(),
        Type::BYTEA => portal
            .parameter::<Vec<u8>>(i, ty, &mut scratch)?
            .into_param_literal(),
        Type::NUMERIC => {
            let s = if binary {
                pf::numeric_from_binary(raw).ok_or_else(|| bad_binary(ty, i))?
            } else {
                text()?.trim().to_owned()
            };
            rust_decimal::Decimal::from_str(&s)
                .map_err(|_| invalid(ty, s.as_bytes()))?
                .into_param_literal()
        }
        Type::UUID => {
            let bytes: [u8; 16] = if binary {
                raw.try_into().map_err(|_| bad_binary(ty, i))?
            } else {
                text_to_binary(ty, text()?, &mut scratch)?;
                scratch[..].try_into().map_err(|_| invalid(ty, raw))?
            };
            uuid::Uuid::from_bytes(bytes).into_param_literal()
        }
        Type::DATE => if binary {
            let days = i32::from_be_bytes(raw.try_into().map_err(|_| bad_binary(ty, i))?);
            pf::date_from_binary(days).ok_or_else(|| bad_binary(ty, i))?
        } else {
            pf::parse_date(text()?).ok_or_else(|| invalid(ty, raw))?
        }
        .into_param_literal(),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => if binary {
            let us = i64::from_be_bytes(raw.try_into().map_err(|_| bad_binary(ty, i))?);
            pf::timestamp_from_binary(us).ok_or_else(|| bad_binary(ty, i))?
        } else {
            pf::parse_timestamp(text()?).ok_or_else(|| invalid(ty, raw))?
        }
        .into_param_literal(),
        Type::TIME => if binary {
            let us = i64::from_be_bytes(raw.try_into().map_err(|_| bad_binary(ty, i))?);
            pf::time_from_binary(us).ok_or_else(|| bad_binary(ty, i))?
        } else {
            pf::parse_time(text()?).ok_or_else(|| invalid(ty, raw))?
        }
        .into_param_literal(),
        Type::INTERVAL if binary => pf::interval_from_binary(raw)
            .ok_or_else(|| {
                ErrorInfo::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "GlueSQL intervals hold months or time, not both",
                )
            })?
            .into_param_literal(),
        Type::INET => if binary {
            pf::inet_from_binary(raw).ok_or_else(|| bad_binary(ty, i))?
        } else {
            let t = text()?.trim();
            // `inet` input may carry a netmask; GlueSQL keeps the address.
            let addr = t.split_once('/').map_or(t, |(a, _)| a);
            addr.parse().map_err(|_| invalid(ty, raw))?
        }
        .into_param_literal(),
        // jsonb's binary form is a version byte and the text.
        Type::JSONB if binary => match raw.split_first() {
            Some((1, json)) => std::str::from_utf8(json)
                .map_err(|_| bad_binary(ty, i))?
                .into_param_literal(),
            _ => return Err(bad_binary(ty, i)),
        },
        // Text and everything else sent as text: a string, which GlueSQL
        // converts where the statement needs another type.
        _ if !binary || pgwire::types::text::binary_is_text(ty) => text()?.into_param_literal(),
        _ => {
            return Err(ErrorInfo::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!(
                    "binary parameters of type {} are not supported (parameter ${})",
                    ty.name(),
                    i + 1
                ),
            ));
        }
    })
}
