//! PostgreSQL's text and binary forms of the types GlueSQL has and the
//! library does not convert itself: numeric, date, time, timestamp,
//! interval, inet and point.
//!
//! Binary layouts (PostgreSQL's `*_send`/`*_recv`): dates are days and
//! timestamps microseconds since 2000-01-01; numeric is base-10000 digits
//! with a weight, a sign and a display scale; interval is microseconds, days
//! and months.

use std::fmt::Write;
use std::net::IpAddr;

use gluesql_core::chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike,
};
use gluesql_core::data::Interval;

const MICROS_PER_DAY: i64 = 86_400_000_000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;

fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

// ----------------------------------------------------------------- numeric

/// The binary form of a decimal number written as `[-]digits[.digits]` (what
/// `Decimal`, `i128` and `u128` print) or `NaN`. `None` if `s` is not of
/// that form.
pub fn numeric_to_binary(s: &str) -> Option<Vec<u8>> {
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s.eq_ignore_ascii_case("nan") {
        return Some(numeric_header(0, 0, NUMERIC_NAN, 0));
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let dscale = u16::try_from(frac.len()).ok()?;
    let int = int.trim_start_matches('0');
    let int_pad = (4 - int.len() % 4) % 4;
    let digits: Vec<u8> = std::iter::repeat_n(b'0', int_pad)
        .chain(int.bytes())
        .chain(frac.bytes())
        .chain(std::iter::repeat_n(b'0', (4 - frac.len() % 4) % 4))
        .map(|b| b - b'0')
        .collect();
    let mut groups: Vec<i16> = digits
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |acc, &d| acc * 10 + i16::from(d)))
        .collect();
    let mut weight = i16::try_from((int_pad + int.len()) / 4).ok()? - 1;
    let leading = groups.iter().take_while(|&&g| g == 0).count();
    groups.drain(..leading);
    weight -= i16::try_from(leading).ok()?;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let sign = if neg && !groups.is_empty() {
        NUMERIC_NEG
    } else {
        0
    };
    let mut out = numeric_header(groups.len(), weight, sign, dscale);
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    Some(out)
}

fn numeric_header(ndigits: usize, weight: i16, sign: u16, dscale: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + ndigits * 2);
    out.extend_from_slice(&(ndigits as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    out
}

/// The text form of a binary numeric (`None` if malformed).
pub fn numeric_from_binary(b: &[u8]) -> Option<String> {
    let word = |i: usize| -> Option<i16> {
        Some(i16::from_be_bytes([*b.get(i * 2)?, *b.get(i * 2 + 1)?]))
    };
    let ndigits = usize::try_from(word(0)?).ok()?;
    let weight = i32::from(word(1)?);
    let sign = word(2)? as u16;
    let dscale = usize::try_from(word(3)?).ok()?;
    if b.len() != 8 + ndigits * 2 {
        return None;
    }
    if sign == NUMERIC_NAN {
        return Some("NaN".to_owned());
    }
    let digit = |i: i32| -> Option<i16> {
        match usize::try_from(i) {
            Ok(i) if i < ndigits => word(4 + i).filter(|d| (0..10000).contains(d)),
            _ => Some(0),
        }
    };
    let mut s = String::new();
    if sign == NUMERIC_NEG {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        for i in 0..=weight {
            let d = digit(i)?;
            let _ = if i == 0 {
                write!(s, "{d}")
            } else {
                write!(s, "{d:04}")
            };
        }
    }
    if dscale > 0 {
        let mut frac = String::new();
        let mut i = weight + 1;
        while frac.len() < dscale {
            let _ = write!(frac, "{:04}", digit(i)?);
            i += 1;
        }
        frac.truncate(dscale);
        s.push('.');
        s.push_str(&frac);
    }
    Some(s)
}

// --------------------------------------------------------- dates and times

/// PostgreSQL's ISO text form of a date (`2024-01-31`, `0044-03-15 BC`).
pub fn date_text(d: NaiveDate, out: &mut String) {
    let (year, bc) = if d.year() <= 0 {
        (1 - d.year(), true)
    } else {
        (d.year(), false)
    };
    let _ = write!(out, "{year:04}-{:02}-{:02}", d.month(), d.day());
    if bc {
        out.push_str(" BC");
    }
}

/// PostgreSQL's text form of a time of day: seconds with up to six
/// fractional digits, trailing zeros dropped.
pub fn time_text(t: NaiveTime, out: &mut String) {
    let _ = write!(out, "{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    // PostgreSQL keeps microseconds: finer digits are dropped.
    let micros = t.nanosecond() / 1000 % 1_000_000;
    if micros != 0 {
        let frac = format!("{micros:06}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

/// PostgreSQL's ISO text form of a timestamp without time zone.
pub fn timestamp_text(ts: NaiveDateTime) -> String {
    let mut out = String::with_capacity(26);
    let bc = ts.date().year() <= 0;
    let mut date = String::new();
    date_text(ts.date(), &mut date);
    out.push_str(date.trim_end_matches(" BC"));
    out.push(' ');
    time_text(ts.time(), &mut out);
    if bc {
        out.push_str(" BC");
    }
    out
}

/// Days since 2000-01-01.
pub fn date_to_binary(d: NaiveDate) -> i32 {
    (d - epoch().date()).num_days() as i32
}

/// Microseconds since 2000-01-01 00:00:00.
pub fn timestamp_to_binary(ts: NaiveDateTime) -> i64 {
    (ts - epoch()).num_microseconds().unwrap_or(i64::MAX)
}

/// Microseconds since midnight.
pub fn time_to_binary(t: NaiveTime) -> i64 {
    i64::from(t.num_seconds_from_midnight()) * 1_000_000 + i64::from(t.nanosecond() / 1000)
}

/// The date of a binary date.
pub fn date_from_binary(days: i32) -> Option<NaiveDate> {
    epoch()
        .date()
        .checked_add_signed(TimeDelta::try_days(i64::from(days))?)
}

/// The timestamp of a binary timestamp.
pub fn timestamp_from_binary(micros: i64) -> Option<NaiveDateTime> {
    epoch().checked_add_signed(TimeDelta::microseconds(micros))
}

/// The time of a binary time.
pub fn time_from_binary(micros: i64) -> Option<NaiveTime> {
    let secs = u32::try_from(micros.div_euclid(1_000_000)).ok()?;
    let nanos = u32::try_from(micros.rem_euclid(1_000_000)).ok()? * 1000;
    NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)
}

/// A date in PostgreSQL's ISO input form (`2024-01-31`).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// A time of day (`13:45`, `13:45:10`, `13:45:10.25`).
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(s, f).ok())
}

/// A timestamp (`2024-01-31 13:45:10.25`, with `T` or a space, or a date
/// alone). With a zone offset (what drivers send for `timestamptz`) it is
/// converted to UTC, since GlueSQL's timestamps have no zone.
pub fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for f in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(s, f) {
            return Some(t.naive_utc());
        }
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    parse_date(s).and_then(|d| d.and_hms_opt(0, 0, 0))
}

// ---------------------------------------------------------------- interval

fn plural(out: &mut String, n: i64, unit: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    let s = if n == 1 { "" } else { "s" };
    let _ = write!(out, "{n} {unit}{s}");
}

/// PostgreSQL's text form of an interval (IntervalStyle `postgres`:
/// `1 year 2 mons`, `3 days 04:05:06`). GlueSQL keeps either months or
/// microseconds; whole days of the latter are shown as days.
pub fn interval_text(iv: &Interval) -> String {
    let mut out = String::new();
    match *iv {
        Interval::Month(m) => {
            let (years, months) = (m / 12, m % 12);
            if years != 0 {
                plural(&mut out, i64::from(years), "year");
            }
            if months != 0 {
                plural(&mut out, i64::from(months), "mon");
            }
            if out.is_empty() {
                out.push_str("00:00:00");
            }
        }
        Interval::Microsecond(us) => {
            let (days, rest) = (us / MICROS_PER_DAY, us % MICROS_PER_DAY);
            if days != 0 {
                plural(&mut out, days, "day");
            }
            if rest != 0 || days == 0 {
                if !out.is_empty() {
                    out.push(' ');
                }
                if rest < 0 {
                    out.push('-');
                }
                let rest = rest.unsigned_abs();
                let secs = rest / 1_000_000;
                let _ = write!(
                    out,
                    "{:02}:{:02}:{:02}",
                    secs / 3600,
                    secs / 60 % 60,
                    secs % 60
                );
                let micros = rest % 1_000_000;
                if micros != 0 {
                    let frac = format!("{micros:06}");
                    out.push('.');
                    out.push_str(frac.trim_end_matches('0'));
                }
            }
        }
    }
    out
}

/// The binary form of an interval: microseconds, days, months.
pub fn interval_to_binary(iv: &Interval) -> [u8; 16] {
    let (micros, days, months) = match *iv {
        Interval::Month(m) => (0, 0, m),
        Interval::Microsecond(us) => (
            us % MICROS_PER_DAY,
            (us / MICROS_PER_DAY).clamp(i32::MIN.into(), i32::MAX.into()) as i32,
            0,
        ),
    };
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&micros.to_be_bytes());
    out[8..12].copy_from_slice(&days.to_be_bytes());
    out[12..].copy_from_slice(&months.to_be_bytes());
    out
}

/// The interval of a binary interval; `None` if it mixes months with days
/// or time, which GlueSQL's intervals cannot hold.
pub fn interval_from_binary(b: &[u8]) -> Option<Interval> {
    let b: &[u8; 16] = b.try_into().ok()?;
    let micros = i64::from_be_bytes(b[..8].try_into().ok()?);
    let days = i32::from_be_bytes(b[8..12].try_into().ok()?);
    let months = i32::from_be_bytes(b[12..].try_into().ok()?);
    match (months, days, micros) {
        (m, 0, 0) if m != 0 => Some(Interval::Month(m)),
        (0, d, us) => Some(Interval::Microsecond(
            i64::from(d).checked_mul(MICROS_PER_DAY)?.checked_add(us)?,
        )),
        _ => None,
    }
}

// ------------------------------------------------------------ inet, point

/// The binary form of an `inet` host address.
pub fn inet_to_binary(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => [&[2u8, 32, 0, 4][..], &a.octets()].concat(),
        IpAddr::V6(a) => [&[3u8, 128, 0, 16][..], &a.octets()].concat(),
    }
}

/// The address of a binary `inet` (the netmask is not kept).
pub fn inet_from_binary(b: &[u8]) -> Option<IpAddr> {
    match b {
        [2, _, _, 4, a @ ..] => <[u8; 4]>::try_from(a).ok().map(IpAddr::from),
        [3, _, _, 16, a @ ..] => <[u8; 16]>::try_from(a).ok().map(IpAddr::from),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_round_trips() {
        for s in [
            "0",
            "1",
            "-1",
            "12345.678",
            "0.0001",
            "-0.5",
            "10000",
            "1.2500",
            "NaN",
        ] {
            let b = numeric_to_binary(s).unwrap();
            assert_eq!(numeric_from_binary(&b).unwrap(), s, "{s}");
        }
        // PostgreSQL's bytes for 12345.678: 3 digits, weight 1, scale 3.
        assert_eq!(
            numeric_to_binary("12345.678").unwrap(),
            [0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]
        );
        assert!(numeric_to_binary("1e5").is_none());
    }

    #[test]
    fn intervals_print_as_postgres() {
        assert_eq!(interval_text(&Interval::Month(14)), "1 year 2 mons");
        assert_eq!(interval_text(&Interval::Month(-1)), "-1 mons");
        assert_eq!(
            interval_text(&Interval::Microsecond(MICROS_PER_DAY + 3_723_500_000)),
            "1 day 01:02:03.5"
        );
        assert_eq!(interval_text(&Interval::Microsecond(0)), "00:00:00");
    }
}
