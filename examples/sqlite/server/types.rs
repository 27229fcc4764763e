//! SQLite <-> PostgreSQL types: which PostgreSQL type a declared SQLite
//! column type or a stored value stands for, how SQLite values are sent in
//! a column of that type, and how bound parameters become SQLite values.
//!
//! SQLite has five storage classes (NULL, INTEGER, REAL, TEXT, BLOB) and
//! keeps whatever type name a column was declared with. Types SQLite lacks
//! are stored as PostgreSQL's text form (`2024-01-31`, `{1,2}`, a UUID's
//! hex form) and booleans as 0/1; the conversions between text and binary
//! wire formats come from `pgwire::types::text`.

use std::fmt::Write as _;

use bytes::BytesMut;
use pgwire::api::Portal;
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::types::text::{
    binary_is_text, binary_to_text, parse_bool, text_to_binary_with, write_float8,
};
use pgwire::types::{DataRowEncoder, FieldFormat, FormatSettings, Type};
use rusqlite::types::{Value, ValueRef};

/// A PostgreSQL type with its modifier (`varchar(10)` is VARCHAR with 14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgType {
    /// The type.
    pub ty: Type,
    /// The type modifier, -1 for none.
    pub typmod: i32,
}

impl PgType {
    /// A type without modifier.
    pub fn plain(ty: Type) -> Self {
        PgType { ty, typmod: -1 }
    }
}

/// The PostgreSQL type named `name` as written in SQL (`int4`, `integer`,
/// `varchar(20)`, `timestamp with time zone`, `numeric(10,2)`, `text[]`);
/// `None` for a name PostgreSQL would not know either.
pub fn pg_type_from_name(name: &str) -> Option<PgType> {
    let mut n = name.trim().to_lowercase();
    if let Some(rest) = n.strip_prefix("pg_catalog.") {
        n = rest.to_owned();
    }
    let mut array = false;
    while let Some(rest) = n.trim_end().strip_suffix("[]") {
        n = rest.to_owned();
        array = true;
    }
    // Modifiers: `(n)` or `(p, s)`.
    let mut mods: Vec<i32> = Vec::new();
    if let Some(open) = n.find('(') {
        let close = n.rfind(')').unwrap_or(n.len());
        mods = n[open + 1..close.max(open + 1)]
            .split(',')
            .filter_map(|m| m.trim().parse().ok())
            .collect();
        let rest = n.get(close + 1..).unwrap_or("").trim().to_owned();
        n = format!("{} {rest}", n[..open].trim()).trim().to_owned();
    }
    let n = n.split_whitespace().collect::<Vec<_>>().join(" ");
    let (ty, typmod) = match n.as_str() {
        "int" | "integer" | "int4" | "serial" | "serial4" => (Type::INT4, -1),
        "bigint" | "int8" | "bigserial" | "serial8" => (Type::INT8, -1),
        "smallint" | "int2" | "smallserial" | "serial2" => (Type::INT2, -1),
        "real" | "float4" => (Type::FLOAT4, -1),
        "float" if mods.first().is_some_and(|&p| p <= 24) => (Type::FLOAT4, -1),
        "double precision" | "float8" | "float" | "double" => (Type::FLOAT8, -1),
        "numeric" | "decimal" => {
            let typmod = match mods[..] {
                [p] => (p << 16) + 4,
                [p, s] => ((p << 16) | (s & 0xffff)) + 4,
                _ => -1,
            };
            (Type::NUMERIC, typmod)
        }
        "text" => (Type::TEXT, -1),
        "varchar" | "character varying" => (Type::VARCHAR, mods.first().map_or(-1, |n| n + 4)),
        "char" | "character" | "bpchar" => (Type::BPCHAR, mods.first().map_or(5, |n| n + 4)),
        "\"char\"" => (Type::CHAR, -1),
        "name" => (Type::NAME, -1),
        "bool" | "boolean" => (Type::BOOL, -1),
        "bytea" | "blob" => (Type::BYTEA, -1),
        "date" => (Type::DATE, -1),
        "time" | "time without time zone" => (Type::TIME, -1),
        "timetz" | "time with time zone" => (Type::TIMETZ, -1),
        "timestamp" | "timestamp without time zone" | "datetime" => (Type::TIMESTAMP, -1),
        "timestamptz" | "timestamp with time zone" => (Type::TIMESTAMPTZ, -1),
        "interval" => (Type::INTERVAL, -1),
        "uuid" => (Type::UUID, -1),
        "json" => (Type::JSON, -1),
        "jsonb" => (Type::JSONB, -1),
        "oid" => (Type::OID, -1),
        "regclass" => (Type::REGCLASS, -1),
        "regtype" => (Type::REGTYPE, -1),
        "inet" => (Type::INET, -1),
        "cidr" => (Type::CIDR, -1),
        "macaddr" => (Type::MACADDR, -1),
        "money" => (Type::MONEY, -1),
        "xml" => (Type::XML, -1),
        "unknown" => (Type::UNKNOWN, -1),
        _ => return None,
    };
    if array {
        return array_of(&ty).map(|ty| PgType { ty, typmod });
    }
    Some(PgType { ty, typmod })
}

/// The array type whose elements are `elem`.
pub fn array_of(elem: &Type) -> Option<Type> {
    Some(match *elem {
        Type::BOOL => Type::BOOL_ARRAY,
        Type::INT2 => Type::INT2_ARRAY,
        Type::INT4 => Type::INT4_ARRAY,
        Type::INT8 => Type::INT8_ARRAY,
        Type::FLOAT4 => Type::FLOAT4_ARRAY,
        Type::FLOAT8 => Type::FLOAT8_ARRAY,
        Type::NUMERIC => Type::NUMERIC_ARRAY,
        Type::TEXT => Type::TEXT_ARRAY,
        Type::VARCHAR => Type::VARCHAR_ARRAY,
        Type::BPCHAR => Type::BPCHAR_ARRAY,
        Type::NAME => Type::NAME_ARRAY,
        Type::BYTEA => Type::BYTEA_ARRAY,
        Type::DATE => Type::DATE_ARRAY,
        Type::TIME => Type::TIME_ARRAY,
        Type::TIMESTAMP => Type::TIMESTAMP_ARRAY,
        Type::TIMESTAMPTZ => Type::TIMESTAMPTZ_ARRAY,
        Type::INTERVAL => Type::INTERVAL_ARRAY,
        Type::UUID => Type::UUID_ARRAY,
        Type::JSON => Type::JSON_ARRAY,
        Type::JSONB => Type::JSONB_ARRAY,
        Type::OID => Type::OID_ARRAY,
        Type::REGTYPE => Type::REGTYPE_ARRAY,
        _ => return None,
    })
}

/// The PostgreSQL type of a column SQLite declared as `decl`: a known
/// PostgreSQL name maps to that type, anything else by SQLite's affinity
/// rules (a name containing INT is an integer, and so on).
pub fn pg_type_for_decl(decl: &str) -> PgType {
    if decl == super::sql::BIGSERIAL_DECL {
        return PgType::plain(Type::INT8);
    }
    if let Some(t) = pg_type_from_name(decl) {
        return t;
    }
    let d = decl.to_ascii_lowercase();
    let ty = if d.contains("int") {
        Type::INT8
    } else if d.contains("char") || d.contains("clob") || d.contains("text") {
        Type::TEXT
    } else if d.contains("blob") {
        Type::BYTEA
    } else if d.contains("real") || d.contains("floa") || d.contains("doub") {
        Type::FLOAT8
    } else {
        Type::TEXT
    };
    PgType::plain(ty)
}

/// The type of a value without a declared type, from its storage class.
pub fn type_for_storage(v: ValueRef<'_>) -> Type {
    match v {
        ValueRef::Integer(_) => Type::INT8,
        ValueRef::Real(_) => Type::FLOAT8,
        ValueRef::Blob(_) => Type::BYTEA,
        ValueRef::Null | ValueRef::Text(_) => Type::TEXT,
    }
}

fn out_of_range(ty: &Type) -> ErrorInfo {
    let what = match *ty {
        Type::INT2 => "smallint",
        Type::INT4 => "integer",
        Type::INT8 => "bigint",
        _ => ty.name(),
    };
    ErrorInfo::new(
        SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
        format!("{what} out of range"),
    )
}

fn invalid_text(ty: &Type, s: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INVALID_TEXT_REPRESENTATION,
        format!(
            "invalid input syntax for type {}: \"{s}\"",
            pgwire::types::text::pg_type_display_name(ty)
        ),
    )
}

fn blob_in(ty: &Type) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::DATATYPE_MISMATCH,
        format!("a blob cannot be sent as a value of type {}", ty.name()),
    )
}

/// Integer text of `v` in `scratch`, returned as a `&str`.
fn int_text(scratch: &mut BytesMut, v: i64) -> &str {
    scratch.clear();
    pgwire::types::text::write_int(scratch, v);
    std::str::from_utf8(scratch).unwrap_or("")
}

fn float_text(scratch: &mut BytesMut, v: f64) -> &str {
    scratch.clear();
    write_float8(scratch, v);
    std::str::from_utf8(scratch).unwrap_or("")
}

/// Rounds a plain decimal (`-12.345`, as Rust's `{}` prints an `f64`:
/// the shortest digits that read back the same, no exponent) to `scale`
/// decimals, half away from zero, as PostgreSQL rounds a numeric: the REAL
/// SQLite stores for `1.255` is a little below it, but its shortest digits
/// are `1.255`, which PostgreSQL's `numeric(p,2)` would show as `1.26`.
fn round_decimal(text: &str, scale: usize) -> String {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    // All the digits kept, without the point: int then `scale` decimals.
    let mut kept: Vec<u8> = int.bytes().collect();
    kept.extend(frac.bytes().chain(std::iter::repeat(b'0')).take(scale));
    if frac.as_bytes().get(scale).is_some_and(|d| *d >= b'5') {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, b'1');
                break;
            }
            i -= 1;
            if kept[i] == b'9' {
                kept[i] = b'0';
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let split = kept.len() - scale;
    let mut out = String::with_capacity(kept.len() + 2);
    // numeric has no negative zero.
    if negative && kept.iter().any(|d| *d != b'0') {
        out.push('-');
    }
    out.push_str(std::str::from_utf8(&kept[..split]).unwrap_or("0"));
    if split == 0 {
        out.push('0');
    }
    if scale > 0 {
        out.push('.');
        out.push_str(std::str::from_utf8(&kept[split..]).unwrap_or(""));
    }
    out
}

/// Encodes SQLite value `v` as the next column of `enc`, converting it to
/// the column's type in the format the client asked for. In text format
/// a value that does not fit the column's type is sent as it is stored
/// (SQLite columns accept anything); in binary format it must convert.
pub fn encode_value(
    enc: &mut DataRowEncoder<'_>,
    v: ValueRef<'_>,
    scratch: &mut BytesMut,
) -> Result<(), ErrorInfo> {
    let Some(field) = enc.next_column() else {
        return enc.encode_null();
    };
    let ty = field.datatype();
    let text_format = enc.next_format() == FieldFormat::Text;
    // numeric(p, s) prints s decimals, as PostgreSQL does.
    if *ty == Type::NUMERIC && field.type_modifier() >= 4 {
        let scale = ((field.type_modifier() - 4) & 0xffff) as usize;
        let text = match v {
            ValueRef::Integer(i) if scale > 0 => Some(format!("{i}.{:0<scale$}", "")),
            ValueRef::Real(f) if f.is_finite() => Some(round_decimal(&format!("{f}"), scale)),
            _ => None,
        };
        if let Some(t) = text {
            return enc.encode_text(&t);
        }
    }
    match v {
        ValueRef::Null => enc.encode_null(),
        ValueRef::Integer(i) => match *ty {
            Type::INT8 => enc.encode_field(&i),
            Type::INT4 => enc.encode_field(&i32::try_from(i).map_err(|_| out_of_range(ty))?),
            Type::INT2 => enc.encode_field(&i16::try_from(i).map_err(|_| out_of_range(ty))?),
            Type::OID => enc.encode_field(&u32::try_from(i).map_err(|_| out_of_range(ty))?),
            Type::FLOAT8 => enc.encode_field(&(i as f64)),
            Type::FLOAT4 => enc.encode_field(&(i as f32)),
            Type::BOOL => enc.encode_field(&(i != 0)),
            Type::BYTEA => enc.encode_field(&int_text(scratch, i).as_bytes()),
            _ if text_format || binary_is_text(ty) => enc.encode_text(int_text(scratch, i)),
            _ => enc.encode_text(int_text(scratch, i)),
        },
        ValueRef::Real(f) => match *ty {
            Type::FLOAT8 => enc.encode_field(&f),
            Type::FLOAT4 => enc.encode_field(&(f as f32)),
            Type::INT2 | Type::INT4 | Type::INT8 | Type::OID if f.fract() == 0.0 => {
                let i = f as i64;
                if i as f64 != f {
                    return Err(out_of_range(ty));
                }
                encode_value(enc, ValueRef::Integer(i), scratch)
            }
            Type::BOOL => enc.encode_field(&(f != 0.0)),
            Type::BYTEA => enc.encode_field(&float_text(scratch, f).as_bytes()),
            // numeric never prints an exponent: 1e19 is 10000000000000000000.
            Type::NUMERIC if f.is_finite() => {
                scratch.clear();
                // (+ 0.0 turns -0 into 0: numeric has no negative zero.)
                let _ = write!(scratch, "{}", f + 0.0);
                enc.encode_text(std::str::from_utf8(scratch).unwrap_or("NaN"))
            }
            _ if text_format => enc.encode_text(float_text(scratch, f)),
            _ => enc.encode_text(float_text(scratch, f)),
        },
        ValueRef::Text(bytes) => {
            let s = std::str::from_utf8(bytes).map_err(|_| {
                ErrorInfo::new(
                    SqlState::CHARACTER_NOT_IN_REPERTOIRE,
                    "invalid byte sequence for encoding \"UTF8\"",
                )
            })?;
            match *ty {
                Type::BOOL => match parse_bool(s) {
                    Some(b) => enc.encode_field(&b),
                    None if text_format => enc.encode_text(s),
                    None => Err(invalid_text(ty, s)),
                },
                // Text in a bytea column is bytea input (`'\\x0001'::bytea`),
                // as PostgreSQL reads a literal for it.
                Type::BYTEA => match pgwire::types::text::parse_bytea(s) {
                    Some(b) => enc.encode_field(&b.as_slice()),
                    None => enc.encode_field(&bytes),
                },
                // An array of booleans SQLite made of 0s and 1s.
                Type::BOOL_ARRAY if text_format => {
                    enc.encode_text(&super::catalog::bool_array_text(s))
                }
                // char(n) is blank-padded to n characters, in both formats.
                Type::BPCHAR if field.type_modifier() > 4 => {
                    let width = (field.type_modifier() - 4) as usize;
                    let len = s.chars().count();
                    if len >= width {
                        return enc.encode_text(s);
                    }
                    scratch.clear();
                    scratch.extend_from_slice(s.as_bytes());
                    scratch.resize(s.len() + width - len, b' ');
                    enc.encode_text(std::str::from_utf8(scratch).unwrap_or(s))
                }
                // Text types are sent as stored; other types' text form is
                // parsed into binary, which ignores surrounding spaces.
                _ if text_format || binary_is_text(ty) => enc.encode_text(s),
                _ => enc.encode_text(s.trim_ascii()),
            }
        }
        ValueRef::Blob(b) => match *ty {
            Type::BYTEA => enc.encode_field(&b),
            Type::UUID if b.len() == 16 => {
                scratch.clear();
                binary_to_text(ty, b, scratch)?;
                let s = std::str::from_utf8(scratch).unwrap_or("");
                enc.encode_text(s)
            }
            _ if binary_is_text(ty) => match std::str::from_utf8(b) {
                Ok(s) => enc.encode_text(s),
                Err(_) => {
                    scratch.clear();
                    pgwire::types::text::write_bytea_hex(scratch, b);
                    let s = std::str::from_utf8(scratch).unwrap_or("");
                    enc.encode_text(s)
                }
            },
            _ => Err(blob_in(ty)),
        },
    }
}

/// Bound parameter `i` of `portal`, read as type `ty`, as the SQLite value
/// to bind: integers and floats natively, booleans as 0/1, bytea as a
/// blob, every other type as its PostgreSQL text form.
pub fn decode_param(
    portal: &Portal<impl Sized>,
    i: usize,
    ty: &Type,
    scratch: &mut BytesMut,
) -> Result<Value, ErrorInfo> {
    let raw = match portal.params().get(i) {
        None => {
            return Err(ErrorInfo::new(
                SqlState::UNDEFINED_PARAMETER,
                format!("there is no parameter ${}", i + 1),
            ));
        }
        Some(None) => return Ok(Value::Null),
        Some(Some(raw)) => raw,
    };
    let binary = portal.param_format(i) == FieldFormat::Binary;
    let v = match *ty {
        Type::BOOL => {
            Value::Integer(portal.parameter::<bool>(i, ty, scratch)?.unwrap_or(false) as i64)
        }
        Type::INT2 => Value::Integer(portal.parameter::<i16>(i, ty, scratch)?.unwrap_or(0).into()),
        Type::INT4 => Value::Integer(portal.parameter::<i32>(i, ty, scratch)?.unwrap_or(0).into()),
        Type::INT8 => Value::Integer(portal.parameter::<i64>(i, ty, scratch)?.unwrap_or(0)),
        Type::OID => Value::Integer(portal.parameter::<u32>(i, ty, scratch)?.unwrap_or(0).into()),
        Type::FLOAT4 => Value::Real(
            portal
                .parameter::<f32>(i, ty, scratch)?
                .unwrap_or(0.0)
                .into(),
        ),
        Type::FLOAT8 => Value::Real(portal.parameter::<f64>(i, ty, scratch)?.unwrap_or(0.0)),
        Type::BYTEA => {
            if binary {
                Value::Blob(raw.to_vec())
            } else {
                Value::Blob(
                    portal
                        .parameter::<Vec<u8>>(i, ty, scratch)?
                        .unwrap_or_default(),
                )
            }
        }
        _ if binary_is_text(ty) => Value::Text(utf8(raw)?.to_owned()),
        _ if binary => {
            scratch.clear();
            binary_to_text(ty, raw, scratch).map_err(|e| {
                ErrorInfo::new(e.code(), format!("parameter ${}: {}", i + 1, e.message()))
            })?;
            Value::Text(utf8(scratch)?.to_owned())
        }
        // Read with the session's settings of Bind time (DateStyle's
        // field order, TimeZone), stored in the canonical form.
        _ => Value::Text(canonical_text_with(
            ty,
            utf8(raw)?,
            portal.format_settings(),
            scratch,
        )?),
    };
    Ok(v)
}

/// Value `v` of a parameter stored into (or compared with) a column of
/// integer type `target`: rounded to an integer and range-checked, as
/// PostgreSQL's cast from the parameter's type would (22003 out of range).
/// Text that is not a number is left to SQLite.
pub fn assign_integer(v: Value, target: &Type) -> Result<Value, ErrorInfo> {
    let (min, max) = match *target {
        Type::INT2 => (i64::from(i16::MIN), i64::from(i16::MAX)),
        Type::INT4 => (i64::from(i32::MIN), i64::from(i32::MAX)),
        Type::INT8 => (i64::MIN, i64::MAX),
        _ => return Ok(v),
    };
    // A float rounds half to even (rint), a numeric's text half away
    // from zero, as PostgreSQL's casts from float8 and numeric do.
    let number = match &v {
        Value::Integer(i) => Some(*i as f64),
        Value::Real(f) => Some(f.round_ties_even()),
        Value::Text(s) => s.trim().parse::<f64>().ok().map(f64::round),
        _ => None,
    };
    let exact = match &v {
        Value::Integer(i) => Some(*i),
        Value::Text(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    let i = match (exact, number) {
        (Some(i), _) => i,
        (None, Some(f)) if f.is_finite() && f >= min as f64 && f <= max as f64 => f as i64,
        (None, Some(_)) => return Err(out_of_range(target)),
        (None, None) => return Ok(v),
    };
    if i < min || i > max {
        return Err(out_of_range(target));
    }
    Ok(Value::Integer(i))
}

/// PostgreSQL's own text form of text input `s` of type `ty` (`2024-1-5`
/// becomes `2024-01-05`), so stored values compare and sort as text the
/// way they would as values. The text is read under the session's
/// `settings` (a DMY date, a timestamptz without offset in the session's
/// zone); the stored form is the same whatever the settings. Input the
/// conversion layer rejects as invalid is an error; a type it cannot
/// convert yet is stored as given.
pub fn canonical_text_with(
    ty: &Type,
    s: &str,
    settings: &FormatSettings,
    scratch: &mut BytesMut,
) -> Result<String, ErrorInfo> {
    scratch.clear();
    match text_to_binary_with(ty, s, settings, scratch) {
        Ok(()) => {
            let bin = scratch.split().freeze();
            match binary_to_text(ty, &bin, scratch) {
                Ok(()) => Ok(utf8(scratch)?.to_owned()),
                Err(_) => Ok(s.to_owned()),
            }
        }
        Err(e) if e.code() == SqlState::FEATURE_NOT_SUPPORTED => Ok(s.to_owned()),
        Err(e) => Err(e),
    }
}

fn utf8(b: &[u8]) -> Result<&str, ErrorInfo> {
    std::str::from_utf8(b).map_err(|_| {
        ErrorInfo::new(
            SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            "invalid byte sequence for encoding \"UTF8\"",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_scale_rounds_the_shortest_digits() {
        // As PostgreSQL's numeric(p, s) shows these values.
        for (f, scale, shown) in [
            (1.255, 2, "1.26"),
            (1.245, 2, "1.25"),
            (-1.255, 2, "-1.26"),
            (2.5, 0, "3"),
            (9.995, 2, "10.00"),
            (-0.001, 2, "0.00"),
            (0.5, 3, "0.500"),
            (123.0, 1, "123.0"),
            (1e20, 2, "100000000000000000000.00"),
        ] {
            assert_eq!(round_decimal(&format!("{}", f), scale), shown, "{f}");
        }
    }

    #[test]
    fn integer_assignment() {
        let t = Type::INT4;
        assert_eq!(
            assign_integer(Value::Integer(5), &t).unwrap(),
            Value::Integer(5)
        );
        assert_eq!(
            assign_integer(Value::Real(2.5), &t).unwrap(),
            Value::Integer(2)
        );
        assert_eq!(
            assign_integer(Value::Real(-3.5), &t).unwrap(),
            Value::Integer(-4)
        );
        assert_eq!(
            assign_integer(Value::Text("2.5".into()), &t).unwrap(),
            Value::Integer(3)
        );
        assert_eq!(
            assign_integer(Value::Text("12".into()), &t).unwrap(),
            Value::Integer(12)
        );
        let err = assign_integer(Value::Integer(3_000_000_000), &t).unwrap_err();
        assert_eq!(err.code(), SqlState::NUMERIC_VALUE_OUT_OF_RANGE);
        assert_eq!(err.message(), "integer out of range");
        assert!(assign_integer(Value::Text("99999".into()), &Type::INT2).is_err());
        assert!(assign_integer(Value::Real(1e19), &Type::INT8).is_err());
        assert_eq!(
            assign_integer(Value::Text("x".into()), &t).unwrap(),
            Value::Text("x".into())
        );
        assert_eq!(assign_integer(Value::Null, &t).unwrap(), Value::Null);
    }

    #[test]
    fn names() {
        let t = |n: &str| pg_type_from_name(n).unwrap();
        assert_eq!(t("INTEGER").ty, Type::INT4);
        assert_eq!(
            t("varchar(20)"),
            PgType {
                ty: Type::VARCHAR,
                typmod: 24
            }
        );
        assert_eq!(t("character varying (5)").typmod, 9);
        assert_eq!(t("char(3)").ty, Type::BPCHAR);
        assert_eq!(t("numeric(10,2)").typmod, (10 << 16 | 2) + 4);
        assert_eq!(t("timestamp with time zone").ty, Type::TIMESTAMPTZ);
        assert_eq!(t("double precision").ty, Type::FLOAT8);
        assert_eq!(t("int4[]").ty, Type::INT4_ARRAY);
        assert_eq!(t("pg_catalog.int8").ty, Type::INT8);
        assert!(pg_type_from_name("whatever").is_none());
        assert_eq!(pg_type_for_decl("UNSIGNED BIG INT").ty, Type::INT8);
        assert_eq!(
            pg_type_for_decl(super::super::sql::BIGSERIAL_DECL).ty,
            Type::INT8
        );
        assert_eq!(pg_type_for_decl("INTEGER").ty, Type::INT4);
        assert_eq!(pg_type_for_decl("NVARCHAR2").ty, Type::TEXT);
    }
}
