//! `date`, `time`, `timetz`, `timestamp` and `timestamptz`: binary forms,
//! calendar arithmetic and text output in the session's DateStyle (ISO,
//! SQL, Postgres, German; DMY/MDY/YMD) and TimeZone (`timestamptz` shows
//! the zone's offset, or its abbreviation outside ISO style).
//!
//! Binary forms: `date` is an i32 count of days since 2000-01-01;
//! `time` an i64 of microseconds since midnight; `timetz` that plus an i32
//! zone in seconds *west* of UTC; `timestamp` and `timestamptz` an i64 of
//! microseconds since 2000-01-01 00:00 (UTC for `timestamptz`). The
//! largest and smallest values of `date` and the timestamps stand for
//! `infinity` and `-infinity`.
//!
//! Years are astronomical internally (year 0 is 1 BC); the text forms use
//! `YYYY-MM-DD BC` for years up to 0.

use bytes::{BufMut, BytesMut};

use super::datetime_parse::{self, DateTimeKind, Parsed};
use super::format_settings::{DateOrder, DateStyle, FormatSettings};
use super::text::{DIGIT_PAIRS, bad_binary_msg, format_u64};
use crate::error::{ErrorInfo, SqlState};

pub(super) const USECS_PER_SEC: i64 = 1_000_000;
pub(super) const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
pub(super) const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
pub(super) const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;

/// Days from 1970-01-01 to 2000-01-01.
const UNIX_TO_PG_DAYS: i64 = 10_957;

/// The first valid date, 4714-11-24 BC (Julian day 0), in days since
/// 2000-01-01.
pub(super) const DATE_MIN: i64 = -2_451_545;
/// The last valid date, 5874897-12-31.
pub(super) const DATE_MAX: i64 = 2_145_031_948;
/// The first valid timestamp, 4714-11-24 00:00:00 BC.
pub(super) const TIMESTAMP_MIN: i64 = DATE_MIN * USECS_PER_DAY;
/// One past the last valid timestamp: 294277-01-01 00:00:00.
pub(super) const TIMESTAMP_END: i64 = 106_751_983 * USECS_PER_DAY;
/// A time zone offset must be below 16 hours either way.
pub(super) const TZ_DISP_LIMIT: i64 = 16 * 3600;

/// Days since 1970-01-01 of a proleptic Gregorian date (astronomical
/// year). Exact for any i32 year.
pub(super) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (astronomical year, month, day) of a day count since
/// 1970-01-01.
pub(super) fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

/// Days since 2000-01-01.
pub(super) fn pg_days(y: i64, m: u32, d: u32) -> i64 {
    days_from_civil(y, m, d) - UNIX_TO_PG_DAYS
}

pub(super) fn is_leap(y: i64) -> bool {
    y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0)
}

pub(super) fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[inline]
fn put2(out: &mut BytesMut, v: u32) {
    let i = (v % 100) as usize * 2;
    out.put_slice(&DIGIT_PAIRS[i..i + 2]);
}

#[inline]
fn put_padded(out: &mut BytesMut, v: u64, width: usize) {
    let mut tmp = [0u8; 20];
    let start = format_u64(v, &mut tmp);
    for _ in (20 - start)..width {
        out.put_u8(b'0');
    }
    out.put_slice(&tmp[start..]);
}

/// Writes `HH:MM:SS[.ffffff]` (trailing zeros of the fraction removed).
/// `usecs` is at most 24:00:00.
fn write_hms(out: &mut BytesMut, usecs: i64) {
    let secs = usecs / USECS_PER_SEC;
    let frac = (usecs % USECS_PER_SEC) as u32;
    put2(out, (secs / 3600) as u32);
    out.put_u8(b':');
    put2(out, (secs / 60 % 60) as u32);
    out.put_u8(b':');
    put2(out, (secs % 60) as u32);
    write_fraction(out, frac);
}

/// Writes `.ffffff` without trailing zeros, or nothing for zero.
pub(super) fn write_fraction(out: &mut BytesMut, mut frac: u32) {
    if frac == 0 {
        return;
    }
    let mut width = 6;
    while frac % 10 == 0 {
        frac /= 10;
        width -= 1;
    }
    out.put_u8(b'.');
    put_padded(out, frac as u64, width);
}

/// Writes a zone offset (`+02`, `-05:30`, `+05:45:30`), given in seconds
/// west of UTC as the binary forms store it.
fn write_zone(out: &mut BytesMut, west: i64) {
    out.put_u8(if west <= 0 { b'+' } else { b'-' });
    let s = west.unsigned_abs();
    put2(out, (s / 3600) as u32);
    let (min, sec) = ((s / 60 % 60) as u32, (s % 60) as u32);
    if min != 0 || sec != 0 {
        out.put_u8(b':');
        put2(out, min);
    }
    if sec != 0 {
        out.put_u8(b':');
        put2(out, sec);
    }
}

fn out_of_range(what: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::DATETIME_FIELD_OVERFLOW,
        format!("{what} out of range"),
    )
}

fn be<const N: usize>(bin: &[u8], name: &str) -> Result<[u8; N], ErrorInfo> {
    bin.try_into().map_err(|_| bad_binary_msg(name))
}

/// `date` text output in the session's DateStyle.
pub(super) fn date_to_text(
    bin: &[u8],
    settings: &FormatSettings,
    out: &mut BytesMut,
) -> Result<(), ErrorInfo> {
    let days = i32::from_be_bytes(be(bin, "date")?);
    match days {
        i32::MAX => out.put_slice(b"infinity"),
        i32::MIN => out.put_slice(b"-infinity"),
        d if (d as i64) < DATE_MIN || d as i64 > DATE_MAX => return Err(out_of_range("date")),
        d => {
            let (y, m, day) = civil_from_days(d as i64 + UNIX_TO_PG_DAYS);
            let dmy = settings.date_order == DateOrder::Dmy;
            match settings.date_style {
                DateStyle::Iso => write_ymd_parts(out, y, m, day),
                DateStyle::Sql => write_dm_parts(out, y, m, day, dmy, b'/'),
                DateStyle::German => write_dm_parts(out, y, m, day, true, b'.'),
                DateStyle::Postgres => write_dm_parts(out, y, m, day, dmy, b'-'),
            }
            if y <= 0 {
                out.put_slice(b" BC");
            }
        }
    }
    Ok(())
}

/// The year as printed: 1 BC is year 0 internally.
fn shown_year(y: i64) -> u64 {
    if y <= 0 { (1 - y) as u64 } else { y as u64 }
}

fn write_ymd_parts(out: &mut BytesMut, y: i64, m: u32, d: u32) {
    put_padded(out, shown_year(y), 4);
    out.put_u8(b'-');
    put2(out, m);
    out.put_u8(b'-');
    put2(out, d);
}

/// `DD/MM/YYYY` or `MM/DD/YYYY` with the given separator.
fn write_dm_parts(out: &mut BytesMut, y: i64, m: u32, d: u32, day_first: bool, sep: u8) {
    let (a, b) = if day_first { (d, m) } else { (m, d) };
    put2(out, a);
    out.put_u8(sep);
    put2(out, b);
    out.put_u8(sep);
    put_padded(out, shown_year(y), 4);
}

const MONTH_ABBREVS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
const DAY_ABBREVS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];

/// PostgreSQL's `EncodeDateTime`: a local date and time (`days` since
/// 2000-01-01, `usecs` into the day) in the session's DateStyle, with the
/// zone (`east` seconds, abbreviation) for a timestamptz.
fn write_datetime(
    out: &mut BytesMut,
    days: i64,
    usecs: i64,
    zone: Option<(i32, &str)>,
    settings: &FormatSettings,
) {
    let (y, m, d) = civil_from_days(days + UNIX_TO_PG_DAYS);
    let dmy = settings.date_order == DateOrder::Dmy;
    // The abbreviation, as PostgreSQL prints at most MAXTZLEN (10) bytes.
    let abbrev = zone.map(|(_, a)| a.get(..a.len().min(10)).unwrap_or(a));
    match settings.date_style {
        DateStyle::Iso => {
            write_ymd_parts(out, y, m, d);
            out.put_u8(b' ');
            write_hms(out, usecs);
            if let Some((east, _)) = zone {
                write_zone(out, -(east as i64));
            }
        }
        DateStyle::Sql | DateStyle::German => {
            if settings.date_style == DateStyle::Sql {
                write_dm_parts(out, y, m, d, dmy, b'/');
            } else {
                write_dm_parts(out, y, m, d, true, b'.');
            }
            out.put_u8(b' ');
            write_hms(out, usecs);
            if let Some((east, _)) = zone {
                match abbrev {
                    Some(a) if !a.is_empty() => {
                        out.put_u8(b' ');
                        out.put_slice(a.as_bytes());
                    }
                    _ => write_zone(out, -(east as i64)),
                }
            }
        }
        DateStyle::Postgres => {
            let wday = (days + 6).rem_euclid(7) as usize;
            out.put_slice(DAY_ABBREVS[wday]);
            out.put_u8(b' ');
            let month = MONTH_ABBREVS[(m as usize).saturating_sub(1) % 12];
            if dmy {
                put2(out, d);
                out.put_u8(b' ');
                out.put_slice(month);
            } else {
                out.put_slice(month);
                out.put_u8(b' ');
                put2(out, d);
            }
            out.put_u8(b' ');
            write_hms(out, usecs);
            out.put_u8(b' ');
            put_padded(out, shown_year(y), 4);
            if let Some((east, _)) = zone {
                out.put_u8(b' ');
                match abbrev {
                    Some(a) if !a.is_empty() => out.put_slice(a.as_bytes()),
                    _ => write_zone(out, -(east as i64)),
                }
            }
        }
    }
    if y <= 0 {
        out.put_slice(b" BC");
    }
}

fn time_of(bin: &[u8]) -> Result<i64, ErrorInfo> {
    let t = i64::from_be_bytes(bin.try_into().map_err(|_| bad_binary_msg("time"))?);
    if !(0..=USECS_PER_DAY).contains(&t) {
        return Err(ErrorInfo::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            "time out of range",
        ));
    }
    Ok(t)
}

/// `time` text output.
pub(super) fn time_to_text(bin: &[u8], out: &mut BytesMut) -> Result<(), ErrorInfo> {
    write_hms(out, time_of(bin)?);
    Ok(())
}

/// `timetz` text output.
pub(super) fn timetz_to_text(bin: &[u8], out: &mut BytesMut) -> Result<(), ErrorInfo> {
    let (Some(t), Some(z)) = (bin.get(..8), bin.get(8..)) else {
        return Err(bad_binary_msg("time with time zone"));
    };
    let t = time_of(t)?;
    let zone = i32::from_be_bytes(be(z, "time with time zone")?) as i64;
    if zone.abs() >= TZ_DISP_LIMIT {
        return Err(tz_displacement(None));
    }
    write_hms(out, t);
    write_zone(out, zone);
    Ok(())
}

/// `time zone displacement out of range` (22009).
pub(super) fn tz_displacement(text: Option<&str>) -> ErrorInfo {
    let code = SqlState::INVALID_TIME_ZONE_DISPLACEMENT_VALUE;
    match text {
        Some(t) => ErrorInfo::new(
            code,
            format!("time zone displacement out of range: \"{t}\""),
        ),
        None => ErrorInfo::new(code, "time zone displacement out of range"),
    }
}

/// `timestamp` (`with_zone` false) and `timestamptz` text output in the
/// session's DateStyle and (for `timestamptz`) TimeZone.
pub(super) fn timestamp_to_text(
    bin: &[u8],
    with_zone: bool,
    settings: &FormatSettings,
    out: &mut BytesMut,
) -> Result<(), ErrorInfo> {
    let name = if with_zone {
        "timestamp with time zone"
    } else {
        "timestamp"
    };
    let ts = i64::from_be_bytes(be(bin, name)?);
    match ts {
        i64::MAX => out.put_slice(b"infinity"),
        i64::MIN => out.put_slice(b"-infinity"),
        t if !(TIMESTAMP_MIN..TIMESTAMP_END).contains(&t) => {
            return Err(out_of_range("timestamp"));
        }
        t if with_zone => {
            settings.time_zone.offset_info(t, |east, abbrev| {
                let local = t + east as i64 * USECS_PER_SEC;
                write_datetime(
                    out,
                    local.div_euclid(USECS_PER_DAY),
                    local.rem_euclid(USECS_PER_DAY),
                    Some((east, abbrev)),
                    settings,
                );
            });
        }
        t => write_datetime(
            out,
            t.div_euclid(USECS_PER_DAY),
            t.rem_euclid(USECS_PER_DAY),
            None,
            settings,
        ),
    }
    Ok(())
}

fn bad_syntax(name: &str, text: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INVALID_DATETIME_FORMAT,
        format!("invalid input syntax for type {name}: \"{text}\""),
    )
}

fn parse(kind: DateTimeKind, text: &str, settings: &FormatSettings) -> Result<Parsed, ErrorInfo> {
    datetime_parse::parse(kind, text, settings).map_err(|e| e.into_error(kind.type_name(), text))
}

/// `date` text input.
pub(super) fn text_to_date(
    text: &str,
    settings: &FormatSettings,
    out: &mut BytesMut,
) -> Result<(), ErrorInfo> {
    let p = parse(DateTimeKind::Date, text, settings)?;
    let days = match p {
        Parsed::Infinity => i32::MAX,
        Parsed::NegInfinity => i32::MIN,
        Parsed::Value { days, .. } => {
            if !(DATE_MIN..=DATE_MAX).contains(&days) {
                return Err(ErrorInfo::new(
                    SqlState::DATETIME_FIELD_OVERFLOW,
                    format!("date out of range: \"{text}\""),
                ));
            }
            days as i32
        }
    };
    out.put_i32(days);
    Ok(())
}

/// `time` and `timetz` text input.
pub(super) fn text_to_time(
    text: &str,
    with_zone: bool,
    settings: &FormatSettings,
    out: &mut BytesMut,
) -> Result<(), ErrorInfo> {
    let kind = if with_zone {
        DateTimeKind::TimeTz
    } else {
        DateTimeKind::Time
    };
    match parse(kind, text, settings)? {
        Parsed::Value { usecs, zone, .. } => {
            out.put_i64(usecs);
            if with_zone {
                // Without a zone: the session's offset today, as
                // PostgreSQL does.
                let zone = zone.unwrap_or_else(|| {
                    let today = now_usecs().div_euclid(USECS_PER_DAY) * USECS_PER_DAY;
                    settings.time_zone.local_offset(today + usecs) as i64
                });
                out.put_i32(-(zone as i32));
            }
            Ok(())
        }
        _ => Err(bad_syntax(kind.type_name(), text)),
    }
}

/// `timestamp` and `timestamptz` text input. Zones in the text convert a
/// `timestamptz` to UTC (without one, the time is in the session's
/// TimeZone) and are ignored for a `timestamp`.
pub(super) fn text_to_timestamp(
    text: &str,
    with_zone: bool,
    settings: &FormatSettings,
    out: &mut BytesMut,
) -> Result<(), ErrorInfo> {
    let kind = if with_zone {
        DateTimeKind::TimestampTz
    } else {
        DateTimeKind::Timestamp
    };
    let ts = match parse(kind, text, settings)? {
        Parsed::Infinity => i64::MAX,
        Parsed::NegInfinity => i64::MIN,
        Parsed::Value { days, usecs, zone } => {
            let range = || {
                ErrorInfo::new(
                    SqlState::DATETIME_FIELD_OVERFLOW,
                    format!("timestamp out of range: \"{text}\""),
                )
            };
            let mut t = days
                .checked_mul(USECS_PER_DAY)
                .and_then(|d| d.checked_add(usecs))
                .ok_or_else(range)?;
            if with_zone {
                let zone = zone.unwrap_or_else(|| settings.time_zone.local_offset(t) as i64);
                t = t.checked_sub(zone * USECS_PER_SEC).ok_or_else(range)?;
            }
            if !(TIMESTAMP_MIN..TIMESTAMP_END).contains(&t) {
                return Err(range());
            }
            t
        }
    };
    out.put_i64(ts);
    Ok(())
}

/// Microseconds since 2000-01-01 00:00 UTC now (for `now`, `today`...).
pub(super) fn now_usecs() -> i64 {
    let since_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    since_unix - UNIX_TO_PG_DAYS * USECS_PER_DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: fn(&[u8], &mut BytesMut) -> Result<(), ErrorInfo>, bin: &[u8]) -> String {
        let mut b = BytesMut::new();
        f(bin, &mut b).unwrap();
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn calendar_round_trips() {
        for days in (-3_000_000i64..3_000_000)
            .step_by(997)
            .chain([DATE_MIN, DATE_MAX, 0, -1])
        {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!(d >= 1 && d <= days_in_month(y, m));
        }
        assert_eq!(pg_days(2000, 1, 1), 0);
        assert_eq!(pg_days(-4713, 11, 24), DATE_MIN);
        assert_eq!(pg_days(5_874_897, 12, 31), DATE_MAX);
        assert_eq!(pg_days(294_277, 1, 1) * USECS_PER_DAY, TIMESTAMP_END);
    }

    #[test]
    fn date_and_time_output() {
        let d = |n: i32| {
            text(
                |b, o| date_to_text(b, FormatSettings::default_ref(), o),
                &n.to_be_bytes(),
            )
        };
        assert_eq!(d(0), "2000-01-01");
        assert_eq!(d(pg_days(2024, 1, 31) as i32), "2024-01-31");
        assert_eq!(d(pg_days(-43, 3, 15) as i32), "0044-03-15 BC");
        assert_eq!(d(i32::MAX), "infinity");
        assert_eq!(d(i32::MIN), "-infinity");
        assert_eq!(d(DATE_MAX as i32), "5874897-12-31");
        assert!(
            date_to_text(
                &(DATE_MAX as i32 + 1).to_be_bytes(),
                FormatSettings::default_ref(),
                &mut BytesMut::new()
            )
            .is_err()
        );
        let t = |us: i64| text(time_to_text, &us.to_be_bytes());
        assert_eq!(t(0), "00:00:00");
        assert_eq!(
            t(13 * USECS_PER_HOUR + 45 * USECS_PER_MINUTE + 500_000),
            "13:45:00.5"
        );
        assert_eq!(t(USECS_PER_DAY), "24:00:00");
        assert_eq!(t(1), "00:00:00.000001");
        assert!(time_to_text(&(-1i64).to_be_bytes(), &mut BytesMut::new()).is_err());
        let tz = |us: i64, west: i32| {
            let mut b = us.to_be_bytes().to_vec();
            b.extend_from_slice(&west.to_be_bytes());
            text(timetz_to_text, &b)
        };
        assert_eq!(tz(0, -7200), "00:00:00+02");
        assert_eq!(tz(0, 19800), "00:00:00-05:30");
        assert_eq!(tz(0, 0), "00:00:00+00");
        assert_eq!(tz(0, -(5 * 3600 + 45 * 60 + 30)), "00:00:00+05:45:30");
    }

    #[test]
    fn timestamp_output() {
        let ts = |t: i64, z: bool| {
            let mut b = BytesMut::new();
            timestamp_to_text(&t.to_be_bytes(), z, FormatSettings::default_ref(), &mut b).unwrap();
            String::from_utf8(b.to_vec()).unwrap()
        };
        let at = |y, m, d, us| pg_days(y, m, d) * USECS_PER_DAY + us;
        assert_eq!(
            ts(
                at(
                    2024,
                    1,
                    31,
                    13 * USECS_PER_HOUR + 45 * USECS_PER_MINUTE + 123_456
                ),
                false
            ),
            "2024-01-31 13:45:00.123456"
        );
        assert_eq!(
            ts(
                at(2024, 1, 31, 13 * USECS_PER_HOUR + 45 * USECS_PER_MINUTE),
                true
            ),
            "2024-01-31 13:45:00+00"
        );
        assert_eq!(
            ts(at(-43, 3, 15, 12 * USECS_PER_HOUR), true),
            "0044-03-15 12:00:00+00 BC"
        );
        assert_eq!(
            ts(at(-43, 3, 15, 12 * USECS_PER_HOUR), false),
            "0044-03-15 12:00:00 BC"
        );
        assert_eq!(ts(-1, false), "1999-12-31 23:59:59.999999");
        assert_eq!(ts(i64::MAX, true), "infinity");
        assert_eq!(ts(i64::MIN, false), "-infinity");
        assert_eq!(ts(TIMESTAMP_END - 1, false), "294276-12-31 23:59:59.999999");
        assert_eq!(ts(TIMESTAMP_MIN, false), "4714-11-24 00:00:00 BC");
        assert!(
            timestamp_to_text(
                &TIMESTAMP_END.to_be_bytes(),
                false,
                FormatSettings::default_ref(),
                &mut BytesMut::new()
            )
            .is_err()
        );
        assert!(
            timestamp_to_text(
                &(TIMESTAMP_MIN - 1).to_be_bytes(),
                true,
                FormatSettings::default_ref(),
                &mut BytesMut::new()
            )
            .is_err()
        );
    }
}
