//! SQL functions PostgreSQL clients call that SQLite lacks: `version()`,
//! `current_database()`, `current_schema()`, `current_user`,
//! `pg_backend_pid()`, `now()`, `gen_random_uuid()`, `pg_sleep()`, and
//! `pg_bool()`, `pg_int2/4/8()` and `pg_float4/8()` (what `::bool`,
//! `::int4`... casts become: PostgreSQL's input rules and errors, where
//! SQLite's CAST would turn `'abc'` into 0).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use pgwire::types::text::{binary_to_text, parse_bool, text_to_binary, text_to_binary_with};
use pgwire::types::{FormatSettings, Type};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Error};

use super::engine::Interrupt;

/// Who the session is, for the functions that say so.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The user name from the startup packet.
    pub user: String,
    /// The database name from the startup packet.
    pub database: String,
    /// The session's process ID (BackendKeyData).
    pub process_id: i32,
    /// The `server_version` the session reports.
    pub server_version: String,
    /// The client's address (from a PROXY header when there is one); none
    /// over a Unix socket.
    pub client_addr: Option<std::net::SocketAddr>,
}

fn user_error(msg: &str) -> Error {
    Error::UserFunctionError(msg.to_owned().into())
}

/// `value::ty` for the integer and float types, as PostgreSQL casts: text
/// is read with PostgreSQL's input rules (`'abc'` and `'1.5'` are not
/// integers), numbers are range-checked, and a fractional number rounds
/// half away from zero, as a numeric literal does.
fn number_cast(ty: &Type, value: ValueRef<'_>) -> rusqlite::Result<Value> {
    let integer = !matches!(*ty, Type::FLOAT4 | Type::FLOAT8);
    let (min, max) = match *ty {
        Type::INT2 => (i16::MIN as i64, i16::MAX as i64),
        Type::INT4 => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    };
    let out_of_range = || {
        user_error(match *ty {
            Type::INT2 => "smallint out of range",
            Type::INT4 => "integer out of range",
            _ => "bigint out of range",
        })
    };
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) if integer => {
            if i < min || i > max {
                return Err(out_of_range());
            }
            Value::Integer(i)
        }
        ValueRef::Integer(i) => Value::Real(i as f64),
        ValueRef::Real(f) if integer => {
            let r = f.round();
            if !r.is_finite() || r < min as f64 || r > max as f64 {
                return Err(out_of_range());
            }
            Value::Integer(r as i64)
        }
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => {
            let s = std::str::from_utf8(t).map_err(|_| user_error("invalid UTF-8"))?;
            let mut bin = BytesMut::with_capacity(8);
            text_to_binary(ty, s, &mut bin).map_err(|e| user_error(e.message()))?;
            let b = &bin[..];
            match b.len() {
                2 => Value::Integer(i16::from_be_bytes([b[0], b[1]]) as i64),
                4 if integer => Value::Integer(i32::from_be_bytes([b[0], b[1], b[2], b[3]]) as i64),
                4 => Value::Real(f32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64),
                8 if integer => Value::Integer(i64::from_be_bytes(b.try_into().unwrap_or([0; 8]))),
                8 => Value::Real(f64::from_be_bytes(b.try_into().unwrap_or([0; 8]))),
                _ => return Err(user_error("unexpected binary form")),
            }
        }
        ValueRef::Blob(_) => {
            return Err(user_error(&format!(
                "cannot cast type bytea to {}",
                if integer {
                    "integer"
                } else {
                    "double precision"
                }
            )));
        }
    })
}

/// The session's value-formatting settings as the worker last received
/// them with a statement: the date/time casts read text with them.
pub type SharedSettings = Arc<Mutex<FormatSettings>>;

/// `text::ty` for a date/time type, as PostgreSQL reads it under the
/// session's DateStyle (field order) and TimeZone (a timestamptz without
/// offset), in the form values are stored in (ISO, UTC: what
/// `binary_to_text` prints with the default settings, so stored values
/// compare as text). Text that is a stored value of another date/time
/// type (`'2024-01-02 10:00:00+00'::date`) goes through `from_other`, the
/// text-level conversion between those forms.
fn datetime_cast(
    ty: &Type,
    s: &str,
    settings: &FormatSettings,
    from_other: fn(&str) -> String,
) -> rusqlite::Result<String> {
    let mut bin = BytesMut::with_capacity(16);
    let Err(error) = text_to_binary_with(ty, s, settings, &mut bin) else {
        return storage_text(ty, &bin);
    };
    // The conversion layer does not read this form: keep the text.
    if error.code() == pgwire::error::SqlState::FEATURE_NOT_SUPPORTED {
        return Ok(from_other(s));
    }
    let other = from_other(s);
    bin.clear();
    if other != s && text_to_binary_with(ty, &other, settings, &mut bin).is_ok() {
        return storage_text(ty, &bin);
    }
    Err(user_error(error.message()))
}

/// The stored text form of binary value `bin` of type `ty`.
fn storage_text(ty: &Type, bin: &[u8]) -> rusqlite::Result<String> {
    let mut out = BytesMut::with_capacity(32);
    binary_to_text(ty, bin, &mut out).map_err(|e| user_error(e.message()))?;
    String::from_utf8(out.to_vec()).map_err(|_| user_error("invalid UTF-8"))
}

/// Registers the functions on a session's connection.
pub fn register(
    conn: &Connection,
    info: &SessionInfo,
    interrupt: Arc<Interrupt>,
    settings: SharedSettings,
) -> rusqlite::Result<()> {
    let constant = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    let volatile = FunctionFlags::SQLITE_UTF8;
    let version = format!(
        "PostgreSQL {} (pgwire SQLite example, SQLite {}) on {}-{}, compiled by rustc, 64-bit",
        info.server_version,
        rusqlite::version(),
        std::env::consts::ARCH,
        std::env::consts::OS,
    );
    let text_fn = |name: &str, value: String| {
        conn.create_scalar_function(name, 0, constant, move |_| Ok(value.clone()))
    };
    text_fn("version", version)?;
    text_fn("current_database", info.database.clone())?;
    text_fn("current_catalog", info.database.clone())?;
    text_fn("current_schema", "public".to_owned())?;
    text_fn("current_user", info.user.clone())?;
    text_fn("session_user", info.user.clone())?;
    text_fn("user", info.user.clone())?;
    text_fn("current_role", info.user.clone())?;
    text_fn("user", info.user.clone())?;
    // inet_client_addr() / inet_client_port(): NULL over a Unix socket, as
    // in PostgreSQL.
    let addr = info.client_addr.map(|a| a.ip().to_string());
    conn.create_scalar_function("inet_client_addr", 0, constant, move |_| Ok(addr.clone()))?;
    let port = info.client_addr.map(|a| i64::from(a.port()));
    conn.create_scalar_function("inet_client_port", 0, constant, move |_| Ok(port))?;
    let pid = info.process_id;
    conn.create_scalar_function("pg_backend_pid", 0, constant, move |_| Ok(pid))?;
    for name in [
        "now",
        "transaction_timestamp",
        "statement_timestamp",
        "clock_timestamp",
    ] {
        conn.create_scalar_function(name, 0, volatile, |_| Ok(timestamp_now()))?;
    }
    conn.create_scalar_function("gen_random_uuid", 0, volatile, |_| random_uuid())?;
    conn.create_scalar_function("pg_bool", 1, constant, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer((i != 0) as i64),
            ValueRef::Real(f) => Value::Integer((f != 0.0) as i64),
            ValueRef::Text(t) => {
                let s = std::str::from_utf8(t).unwrap_or("");
                match parse_bool(s) {
                    Some(b) => Value::Integer(b as i64),
                    None => {
                        return Err(user_error(&format!(
                            "invalid input syntax for type boolean: \"{s}\""
                        )));
                    }
                }
            }
            ValueRef::Blob(_) => return Err(user_error("cannot cast a blob to boolean")),
        })
    })?;
    for (name, ty) in [
        ("pg_int2", Type::INT2),
        ("pg_int4", Type::INT4),
        ("pg_int8", Type::INT8),
        ("pg_float4", Type::FLOAT4),
        ("pg_float8", Type::FLOAT8),
    ] {
        conn.create_scalar_function(name, 1, constant, move |ctx| {
            number_cast(&ty, ctx.get_raw(0))
        })?;
    }
    // Casts to the date/time types: text read as PostgreSQL reads it for
    // the session, and between the date/time types on their stored forms.
    type Cast = (&'static str, Type, fn(&str) -> String);
    let casts: [Cast; 4] = [
        ("pg_date", Type::DATE, |s| {
            date_part(s).unwrap_or(s).to_owned()
        }),
        ("pg_time", Type::TIME, |s| time_part(s).to_owned()),
        ("pg_timestamp", Type::TIMESTAMP, |s| {
            strip_zone(s).to_owned()
        }),
        ("pg_timestamptz", Type::TIMESTAMPTZ, |s| {
            if date_part(s).is_some() && strip_zone(s).len() == s.len() {
                let s = if s.len() == 10 {
                    format!("{s} 00:00:00")
                } else {
                    s.to_owned()
                };
                format!("{s}+00")
            } else {
                s.to_owned()
            }
        }),
    ];
    for (name, ty, f) in casts {
        let settings = settings.clone();
        // Not deterministic: the result depends on the session's settings.
        conn.create_scalar_function(name, 1, volatile, move |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Text(t) => {
                    let s = std::str::from_utf8(t).unwrap_or("");
                    let settings = settings.lock().unwrap_or_else(|p| p.into_inner());
                    Value::Text(datetime_cast(&ty, s, &settings, f)?)
                }
                other => Value::try_from(other).unwrap_or(Value::Null),
            })
        })?;
    }
    // A PostgreSQL array's text form as a JSON array, for `x = ANY($1)`
    // (rewritten to `x IN (SELECT value FROM json_each(...))`).
    conn.create_scalar_function("pg_array_json", 1, constant, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(t) => match array_json(std::str::from_utf8(t).unwrap_or(""))
                .or_else(|| vector_json(std::str::from_utf8(t).unwrap_or("")))
            {
                Some(json) => Value::Text(json),
                None => {
                    return Err(user_error(&format!(
                        "malformed array literal: \"{}\"",
                        String::from_utf8_lossy(t)
                    )));
                }
            },
            _ => Value::Null,
        })
    })?;
    // Sleeps in short slices so that a cancel request stops it.
    conn.create_scalar_function("pg_sleep", 1, volatile, move |ctx| {
        let secs: f64 = ctx.get::<Option<f64>>(0)?.unwrap_or(0.0);
        let deadline = Instant::now() + Duration::from_secs_f64(secs.clamp(0.0, 1e6));
        loop {
            if interrupt.flag.load(Ordering::SeqCst) {
                return Err(user_error("canceling statement due to user request"));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Value::Null);
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(10)));
        }
    })?;
    Ok(())
}

/// An `int2vector` / `oidvector` (`pg_index.indkey`: `1 3`) as a JSON
/// array, for `attnum = ANY(indkey)`.
fn vector_json(text: &str) -> Option<String> {
    let items: Vec<i64> = text
        .split_ascii_whitespace()
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    Some(format!(
        "[{}]",
        items
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    ))
}

/// The elements of a PostgreSQL array literal (`{1,NULL,"a b"}`; nested
/// arrays are flattened) as a JSON array: numbers as numbers, NULL as
/// null, anything else as a string. `None` if it is not an array literal.
pub(super) fn array_json(text: &str) -> Option<String> {
    let text = text.trim();
    // An optional dimension decoration: `[0:1]={1,2}`.
    let text = match text.strip_prefix('[') {
        Some(_) => text.split_once('=')?.1.trim_start(),
        None => text,
    };
    if !text.starts_with('{') || !text.ends_with('}') {
        return None;
    }
    let mut out = String::from("[");
    let mut chars = text.chars().peekable();
    let mut item = String::new();
    let mut quoted = false;
    let mut any = false;
    let mut depth = 0;
    let push = |out: &mut String, item: &mut String, quoted: bool| {
        if out.len() > 1 {
            out.push(',');
        }
        let t = item.trim();
        if !quoted && t.eq_ignore_ascii_case("null") {
            out.push_str("null");
        } else if let Some(i) = t.parse::<i64>().ok().filter(|_| !quoted) {
            out.push_str(&i.to_string());
        } else if let Some(f) = t.parse::<f64>().ok().filter(|f| !quoted && f.is_finite()) {
            // Rust prints no exponent and no bare `.5`: valid JSON.
            out.push_str(&f.to_string());
        } else {
            let v = if quoted { item.as_str() } else { t };
            out.push('"');
            for c in v.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        item.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            '{' => depth += 1,
            '}' => {
                if any || quoted || !item.trim().is_empty() {
                    push(&mut out, &mut item, quoted);
                }
                any = false;
                quoted = false;
                depth -= 1;
            }
            ',' if depth > 0 => {
                // (After a nested array's `}` there is no element.)
                if any || quoted || !item.trim().is_empty() {
                    push(&mut out, &mut item, quoted);
                }
                quoted = false;
                any = false;
            }
            '"' => {
                quoted = true;
                any = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => item.push(chars.next()?),
                        q => item.push(q),
                    }
                }
            }
            '\\' => {
                item.push(chars.next()?);
                any = true;
            }
            c => {
                any |= !c.is_whitespace();
                item.push(c);
            }
        }
    }
    if depth != 0 {
        return None;
    }
    out.push(']');
    Some(out)
}

/// The `YYYY-MM-DD` at the start of a date or timestamp text.
fn date_part(s: &str) -> Option<&str> {
    let d = s.get(..10)?;
    let b = d.as_bytes();
    let shape = b.iter().enumerate().all(|(i, c)| match i {
        4 | 7 => *c == b'-',
        _ => c.is_ascii_digit(),
    });
    shape.then_some(d)
}

/// A timestamp text without its zone offset (`+00`, `-05:30`, `Z`).
fn strip_zone(s: &str) -> &str {
    let Some(time_at) = s.find([' ', 'T']) else {
        return s;
    };
    match s[time_at..].rfind(['+', '-', 'Z']) {
        Some(z) => s[..time_at + z].trim_end(),
        None => s,
    }
}

/// The time of day in a timestamp text (or the text, if it is a time).
fn time_part(s: &str) -> &str {
    let t = strip_zone(s);
    match t.find([' ', 'T']) {
        Some(at) if date_part(t).is_some() => &t[at + 1..],
        _ => t,
    }
}

/// The current time as PostgreSQL prints a `timestamptz` in UTC:
/// `2024-01-31 12:34:56.789012+00`.
pub fn timestamp_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (y, m, day) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{day:02} {:02}:{:02}:{:02}.{:06}+00",
        s / 3600,
        s / 60 % 60,
        s % 60,
        d.subsec_micros()
    )
}

/// The calendar date of a day number counted from 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days-to-civil algorithm (public domain).
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn random_uuid() -> rusqlite::Result<String> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| user_error("no randomness available"))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// Registers the functions with placeholder session values (unit tests).
#[cfg(test)]
pub fn register_for_tests(conn: &Connection) {
    let info = SessionInfo {
        user: "postgres".into(),
        database: "test".into(),
        process_id: 1,
        server_version: "18.0".into(),
        client_addr: None,
    };
    let interrupt = Arc::new(Interrupt::new(conn.get_interrupt_handle()));
    register(conn, &info, interrupt, SharedSettings::default()).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_time_casts() {
        assert_eq!(date_part("2024-01-31 10:00:00+00"), Some("2024-01-31"));
        assert_eq!(date_part("x"), None);
        assert_eq!(
            strip_zone("2024-01-31 10:00:00.5+00"),
            "2024-01-31 10:00:00.5"
        );
        assert_eq!(
            strip_zone("2024-01-31 10:00:00-05:30"),
            "2024-01-31 10:00:00"
        );
        assert_eq!(strip_zone("2024-01-31"), "2024-01-31");
        assert_eq!(time_part("2024-01-31 10:00:00+00"), "10:00:00");
    }

    #[test]
    fn arrays_as_json() {
        assert_eq!(
            array_json("{1,-2,NULL,3.5}").as_deref(),
            Some("[1,-2,null,3.5]")
        );
        assert_eq!(
            array_json(r#"{a,"b c","",NULL,"NULL","q\"u"}"#).as_deref(),
            Some(r#"["a","b c","",null,"NULL","q\"u"]"#)
        );
        assert_eq!(array_json("{}").as_deref(), Some("[]"));
        assert_eq!(array_json("{{1,2},{3,4}}").as_deref(), Some("[1,2,3,4]"));
        assert_eq!(array_json("[0:1]={1,2}").as_deref(), Some("[1,2]"));
        assert_eq!(array_json("1,2"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_753), (2024, 1, 31));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
