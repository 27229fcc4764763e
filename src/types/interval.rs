//! `interval`: binary form (i64 microseconds, i32 days, i32 months), text
//! output in IntervalStyle `postgres` (`1 year 2 mons 3 days 04:05:06.5`)
//! and text input in the postgres style (`1 day 2 hours ago`, `-1 days
//! +02:00:00`, `@ 3 weeks`), the SQL standard style (`1-2`, `3 4:05:06`)
//! and ISO 8601 (`P1Y2M3DT4H5M6S`, `P0001-02-03T04:05:06`).

use bytes::{BufMut, BytesMut};

use super::datetime::{
    USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC, write_fraction,
};
use super::datetime_parse::{DtError, Token, parse_time_field, parse_u, tokenize};
use super::format_settings::IntervalStyle;
use super::text::{bad_binary_msg, write_int};
use crate::error::{ErrorInfo, SqlState};

const DAYS_PER_MONTH: f64 = 30.0;
const MONTHS_PER_YEAR: i64 = 12;

/// Appends one `N unit[s]` part in the postgres style: a space before all
/// but the first part, and a `+` on a positive part that follows a
/// negative one.
fn int_part(out: &mut BytesMut, v: i64, unit: &str, first: &mut bool, after_neg: &mut bool) {
    if v == 0 {
        return;
    }
    if !*first {
        out.put_u8(b' ');
    }
    if *after_neg && v > 0 {
        out.put_u8(b'+');
    }
    write_int(out, v);
    out.put_u8(b' ');
    out.put_slice(unit.as_bytes());
    if v != 1 {
        out.put_u8(b's');
    }
    *after_neg = v < 0;
    *first = false;
}

/// `interval` text output in the session's IntervalStyle (PostgreSQL's
/// `EncodeInterval`).
pub(super) fn interval_to_text(
    bin: &[u8],
    style: IntervalStyle,
    out: &mut BytesMut,
) -> Result<(), ErrorInfo> {
    let b: [u8; 16] = bin.try_into().map_err(|_| bad_binary_msg("interval"))?;
    let (t, rest) = b.split_at(8);
    let (d, m) = rest.split_at(4);
    let time = i64::from_be_bytes(t.try_into().map_err(|_| bad_binary_msg("interval"))?);
    let days = i32::from_be_bytes(d.try_into().map_err(|_| bad_binary_msg("interval"))?) as i64;
    let months = i32::from_be_bytes(m.try_into().map_err(|_| bad_binary_msg("interval"))?) as i64;
    // Truncating division keeps every part's sign that of its source.
    let p = Parts {
        year: months / MONTHS_PER_YEAR,
        mon: months % MONTHS_PER_YEAR,
        day: days,
        hour: time / USECS_PER_HOUR,
        min: time % USECS_PER_HOUR / USECS_PER_MINUTE,
        sec: time % USECS_PER_MINUTE / USECS_PER_SEC,
        fsec: time % USECS_PER_SEC,
    };
    match style {
        IntervalStyle::Postgres => write_postgres(out, &p),
        IntervalStyle::PostgresVerbose => write_verbose(out, &p),
        IntervalStyle::SqlStandard => write_sql_standard(out, p),
        IntervalStyle::Iso8601 => write_iso_8601(out, &p),
    }
    Ok(())
}

/// An interval split into the fields PostgreSQL prints.
#[derive(Clone, Copy)]
struct Parts {
    year: i64,
    mon: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    fsec: i64,
}

impl Parts {
    fn time_is_zero(&self) -> bool {
        self.hour == 0 && self.min == 0 && self.sec == 0 && self.fsec == 0
    }

    fn time_is_negative(&self) -> bool {
        self.hour < 0 || self.min < 0 || self.sec < 0 || self.fsec < 0
    }
}

fn two(out: &mut BytesMut, v: i64) {
    let v = v.unsigned_abs();
    if v < 10 {
        out.put_u8(b'0');
    }
    write_int(out, v as i64);
}

/// `SS[.ffffff]` of the absolute values, zero-padded to two digits when
/// `pad`.
fn seconds(out: &mut BytesMut, sec: i64, fsec: i64, pad: bool) {
    if pad {
        two(out, sec);
    } else {
        write_int(out, sec.unsigned_abs() as i64);
    }
    write_fraction(out, fsec.unsigned_abs() as u32);
}

/// `[-]HH:MM:SS[.ffffff]` of the absolute values, the hours at least two
/// digits.
fn hms(out: &mut BytesMut, p: &Parts) {
    two(out, p.hour);
    out.put_u8(b':');
    two(out, p.min);
    out.put_u8(b':');
    seconds(out, p.sec, p.fsec, true);
}

fn write_postgres(out: &mut BytesMut, p: &Parts) {
    let mut first = true;
    let mut after_neg = false;
    int_part(out, p.year, "year", &mut first, &mut after_neg);
    int_part(out, p.mon, "mon", &mut first, &mut after_neg);
    int_part(out, p.day, "day", &mut first, &mut after_neg);
    if first || !p.time_is_zero() {
        if !first {
            out.put_u8(b' ');
        }
        if p.time_is_negative() {
            out.put_u8(b'-');
        } else if after_neg {
            out.put_u8(b'+');
        }
        hms(out, p);
    }
}

/// One ` N unit[s]` of the verbose style: the first non-zero field decides
/// `ago`, and later fields are printed relative to it.
fn verbose_part(out: &mut BytesMut, v: i64, unit: &str, is_zero: &mut bool, is_before: &mut bool) {
    if v == 0 {
        return;
    }
    let mut v = v;
    if *is_zero {
        *is_before = v < 0;
        v = v.abs();
    } else if *is_before {
        v = -v;
    }
    out.put_u8(b' ');
    write_int(out, v);
    out.put_u8(b' ');
    out.put_slice(unit.as_bytes());
    if v != 1 {
        out.put_u8(b's');
    }
    *is_zero = false;
}

fn write_verbose(out: &mut BytesMut, p: &Parts) {
    let (mut is_zero, mut is_before) = (true, false);
    out.put_u8(b'@');
    verbose_part(out, p.year, "year", &mut is_zero, &mut is_before);
    verbose_part(out, p.mon, "mon", &mut is_zero, &mut is_before);
    verbose_part(out, p.day, "day", &mut is_zero, &mut is_before);
    verbose_part(out, p.hour, "hour", &mut is_zero, &mut is_before);
    verbose_part(out, p.min, "min", &mut is_zero, &mut is_before);
    if p.sec != 0 || p.fsec != 0 {
        out.put_u8(b' ');
        if p.sec < 0 || (p.sec == 0 && p.fsec < 0) {
            if is_zero {
                is_before = true;
            } else if !is_before {
                out.put_u8(b'-');
            }
        } else if is_before {
            out.put_u8(b'-');
        }
        seconds(out, p.sec, p.fsec, false);
        out.put_slice(b" sec");
        if p.sec.abs() != 1 || p.fsec != 0 {
            out.put_u8(b's');
        }
        is_zero = false;
    }
    if is_zero {
        out.put_slice(b" 0");
    }
    if is_before {
        out.put_slice(b" ago");
    }
}

fn write_sql_standard(out: &mut BytesMut, mut p: Parts) {
    let fields = [p.year, p.mon, p.day, p.hour, p.min, p.sec, p.fsec];
    let has_negative = fields.iter().any(|&v| v < 0);
    let has_positive = fields.iter().any(|&v| v > 0);
    let has_year_month = p.year != 0 || p.mon != 0;
    let has_day_time = p.day != 0 || !p.time_is_zero();
    let mixed_signs = has_negative && has_positive;
    let standard = !(mixed_signs || has_year_month && has_day_time);
    if has_negative && standard {
        out.put_u8(b'-');
        p = Parts {
            year: -p.year,
            mon: -p.mon,
            day: -p.day,
            hour: -p.hour,
            min: -p.min,
            sec: -p.sec,
            fsec: -p.fsec,
        };
    }
    let sign = |neg: bool| if neg { b'-' } else { b'+' };
    if !has_negative && !has_positive {
        out.put_u8(b'0');
    } else if !standard {
        // Mixed signs: every part gets its own.
        out.put_u8(sign(p.year < 0 || p.mon < 0));
        write_int(out, p.year.abs());
        out.put_u8(b'-');
        write_int(out, p.mon.abs());
        out.put_u8(b' ');
        out.put_u8(sign(p.day < 0));
        write_int(out, p.day.abs());
        out.put_u8(b' ');
        out.put_u8(sign(p.time_is_negative()));
        write_int(out, p.hour.abs());
        out.put_u8(b':');
        two(out, p.min);
        out.put_u8(b':');
        seconds(out, p.sec, p.fsec, true);
    } else if has_year_month {
        write_int(out, p.year);
        out.put_u8(b'-');
        write_int(out, p.mon);
    } else {
        if p.day != 0 {
            write_int(out, p.day);
            out.put_u8(b' ');
        }
        write_int(out, p.hour);
        out.put_u8(b':');
        two(out, p.min);
        out.put_u8(b':');
        seconds(out, p.sec, p.fsec, true);
    }
}

fn iso_part(out: &mut BytesMut, v: i64, unit: u8) {
    if v != 0 {
        write_int(out, v);
        out.put_u8(unit);
    }
}

fn write_iso_8601(out: &mut BytesMut, p: &Parts) {
    if p.year == 0 && p.mon == 0 && p.day == 0 && p.time_is_zero() {
        out.put_slice(b"PT0S");
        return;
    }
    out.put_u8(b'P');
    iso_part(out, p.year, b'Y');
    iso_part(out, p.mon, b'M');
    iso_part(out, p.day, b'D');
    if !p.time_is_zero() {
        out.put_u8(b'T');
    }
    iso_part(out, p.hour, b'H');
    iso_part(out, p.min, b'M');
    if p.sec != 0 || p.fsec != 0 {
        if p.sec < 0 || p.fsec < 0 {
            out.put_u8(b'-');
        }
        seconds(out, p.sec, p.fsec, false);
        out.put_u8(b'S');
    }
}

/// An interval being assembled, with PostgreSQL's overflow rules: each
/// field is checked as it is added.
#[derive(Default)]
struct Acc {
    usecs: i64,
    days: i32,
    months: i32,
    years: i32,
}

impl Acc {
    fn add_usecs(&mut self, v: i64) -> Result<(), DtError> {
        self.usecs = self.usecs.checked_add(v).ok_or(DtError::FieldRange)?;
        Ok(())
    }

    /// `val` whole units of `scale` microseconds plus the fraction `frac`
    /// of one, rounded to the microsecond.
    fn add_scaled(&mut self, val: i64, frac: f64, scale: i64) -> Result<(), DtError> {
        let whole = val.checked_mul(scale).ok_or(DtError::FieldRange)?;
        self.add_usecs(whole)?;
        self.add_frac_usecs(frac, scale)
    }

    fn add_frac_usecs(&mut self, frac: f64, scale: i64) -> Result<(), DtError> {
        if frac == 0.0 {
            return Ok(());
        }
        let f = frac * scale as f64;
        if !f.is_finite() || f.abs() >= 9.2e18 {
            return Err(DtError::FieldRange);
        }
        let whole = f as i64;
        let us = whole + (f - whole as f64).round_ties_even() as i64;
        self.add_usecs(us)
    }

    fn add_days(&mut self, v: i64) -> Result<(), DtError> {
        let v = i32::try_from(v).map_err(|_| DtError::FieldRange)?;
        self.days = self.days.checked_add(v).ok_or(DtError::FieldRange)?;
        Ok(())
    }

    /// A fraction of `scale` days: whole days, the rest as time.
    fn add_frac_days(&mut self, frac: f64, scale: f64) -> Result<(), DtError> {
        if frac == 0.0 {
            return Ok(());
        }
        let f = frac * scale;
        if !f.is_finite() || f.abs() >= 2.2e9 {
            return Err(DtError::FieldRange);
        }
        let whole = f as i64;
        self.add_days(whole)?;
        self.add_frac_usecs(f - whole as f64, USECS_PER_DAY)
    }

    fn add_months(&mut self, v: i64) -> Result<(), DtError> {
        let v = i32::try_from(v).map_err(|_| DtError::FieldRange)?;
        self.months = self.months.checked_add(v).ok_or(DtError::FieldRange)?;
        Ok(())
    }

    fn add_years(&mut self, v: i64, frac: f64, scale: i64) -> Result<(), DtError> {
        let v = v.checked_mul(scale).ok_or(DtError::FieldRange)?;
        let v = i32::try_from(v).map_err(|_| DtError::FieldRange)?;
        self.years = self.years.checked_add(v).ok_or(DtError::FieldRange)?;
        if frac != 0.0 {
            let m = (frac * scale as f64 * MONTHS_PER_YEAR as f64).round_ties_even();
            if !m.is_finite() || m.abs() > i32::MAX as f64 {
                return Err(DtError::FieldRange);
            }
            self.add_months(m as i64)?;
        }
        Ok(())
    }

    fn add(&mut self, unit: Unit, val: i64, frac: f64) -> Result<(), DtError> {
        match unit {
            Unit::Microsecond => self.add_scaled(val, frac, 1),
            Unit::Millisecond => self.add_scaled(val, frac, 1000),
            Unit::Second => self.add_scaled(val, frac, USECS_PER_SEC),
            Unit::Minute => self.add_scaled(val, frac, USECS_PER_MINUTE),
            Unit::Hour => self.add_scaled(val, frac, USECS_PER_HOUR),
            Unit::Day => {
                self.add_days(val)?;
                self.add_frac_usecs(frac, USECS_PER_DAY)
            }
            Unit::Week => {
                self.add_days(val.checked_mul(7).ok_or(DtError::FieldRange)?)?;
                self.add_frac_days(frac, 7.0)
            }
            Unit::Month => {
                self.add_months(val)?;
                self.add_frac_days(frac, DAYS_PER_MONTH)
            }
            Unit::Year => self.add_years(val, frac, 1),
            Unit::Decade => self.add_years(val, frac, 10),
            Unit::Century => self.add_years(val, frac, 100),
            Unit::Millennium => self.add_years(val, frac, 1000),
        }
    }

    /// The binary form; `Err(true)` when the total months overflow.
    fn finish(self, negate: bool, out: &mut BytesMut) -> Result<(), bool> {
        let months = (self.years as i64 * MONTHS_PER_YEAR)
            .checked_add(self.months as i64)
            .and_then(|m| i32::try_from(m).ok())
            .ok_or(true)?;
        let (mut usecs, mut days, mut months) = (self.usecs, self.days, months);
        if negate {
            usecs = usecs.checked_neg().ok_or(false)?;
            days = days.checked_neg().ok_or(false)?;
            months = months.checked_neg().ok_or(false)?;
        }
        out.put_i64(usecs);
        out.put_i32(days);
        out.put_i32(months);
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Decade,
    Century,
    Millennium,
}

impl Unit {
    fn parse(w: &str) -> Option<Unit> {
        const UNITS: &[(&[&str], Unit)] = &[
            (
                &[
                    "us",
                    "usec",
                    "usecs",
                    "microsecond",
                    "microseconds",
                    "useconds",
                ],
                Unit::Microsecond,
            ),
            (
                &[
                    "ms",
                    "msec",
                    "msecs",
                    "millisecond",
                    "milliseconds",
                    "mseconds",
                ],
                Unit::Millisecond,
            ),
            (&["s", "sec", "secs", "second", "seconds"], Unit::Second),
            (&["m", "min", "mins", "minute", "minutes"], Unit::Minute),
            (&["h", "hr", "hrs", "hour", "hours"], Unit::Hour),
            (&["d", "day", "days"], Unit::Day),
            (&["w", "week", "weeks"], Unit::Week),
            (&["mon", "mons", "month", "months"], Unit::Month),
            (&["y", "yr", "yrs", "year", "years"], Unit::Year),
            (&["dec", "decs", "decade", "decades"], Unit::Decade),
            (&["c", "cent", "century", "centuries"], Unit::Century),
            (
                &["mil", "mils", "millennium", "millennia"],
                Unit::Millennium,
            ),
        ];
        UNITS
            .iter()
            .find(|(names, _)| names.iter().any(|n| n.eq_ignore_ascii_case(w)))
            .map(|&(_, u)| u)
    }

    /// The bit that catches a unit given twice.
    fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// The units an `H:M:S` field fills: none of them may be given again.
const TIME_BITS: u32 = (1 << Unit::Hour as u32)
    | (1 << Unit::Minute as u32)
    | (1 << Unit::Second as u32)
    | (1 << Unit::Millisecond as u32)
    | (1 << Unit::Microsecond as u32);

/// A signed decimal `[+-]digits[.digits]` as whole and fractional parts of
/// the same sign.
fn parse_signed_number(s: &str) -> Result<(i64, f64), DtError> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..).unwrap_or("")),
        Some(b'+') => (false, s.get(1..).unwrap_or("")),
        _ => (false, s),
    };
    let (int, frac) = match body.find('.') {
        Some(p) => body.split_at(p),
        None => (body, ""),
    };
    if int.is_empty() && frac.len() <= 1 {
        return Err(DtError::Syntax);
    }
    let v = if int.is_empty() { 0 } else { parse_u(int)? };
    let f = if frac.len() > 1 {
        if !frac.bytes().skip(1).all(|c| c.is_ascii_digit()) {
            return Err(DtError::Syntax);
        }
        frac.parse::<f64>().map_err(|_| DtError::Syntax)?
    } else {
        0.0
    };
    Ok(if neg { (-v, -f) } else { (v, f) })
}

fn invalid(text: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INVALID_DATETIME_FORMAT,
        format!("invalid input syntax for type interval: \"{text}\""),
    )
}

fn to_error(e: DtError, text: &str) -> ErrorInfo {
    match e {
        DtError::FieldRange => ErrorInfo::new(
            SqlState::INTERVAL_FIELD_OVERFLOW,
            format!("interval field value out of range: \"{text}\""),
        ),
        _ => invalid(text),
    }
}

/// `interval` text input. With IntervalStyle `sql_standard`, a leading
/// minus with no other sign applies to every field (`-1 2:03:04` is minus
/// one day, two hours...), as PostgreSQL reads it.
pub(super) fn text_to_interval(
    text: &str,
    style: IntervalStyle,
    out: &mut BytesMut,
) -> Result<(), ErrorInfo> {
    let t = text.trim_matches(|c: char| c.is_ascii() && super::text::is_pg_space(c as u8));
    let parsed = match t.as_bytes() {
        [b'P' | b'p', ..] => parse_iso(t.get(1..).unwrap_or("")),
        _ => parse_postgres(t, style == IntervalStyle::SqlStandard),
    };
    let (acc, negate) = parsed.map_err(|e| to_error(e, text))?;
    acc.finish(negate, out).map_err(|months| {
        if months {
            ErrorInfo::new(SqlState::DATETIME_FIELD_OVERFLOW, "interval out of range")
        } else {
            to_error(DtError::FieldRange, text)
        }
    })
}

/// Postgres and SQL standard styles. Fields are read from last to first,
/// as PostgreSQL does: a unit word names the number before it, a number
/// without one is in seconds, except before an `H:M:S` field, where it
/// counts days (`3 4:05:06`).
fn parse_postgres(text: &str, sql_standard: bool) -> Result<(Acc, bool), DtError> {
    let toks = tokenize(text)?;
    let toks = toks.as_slice();
    if toks.is_empty() {
        return Err(DtError::Syntax);
    }
    let signed = |t: &Token<'_>| match *t {
        Token::Signed(s) | Token::Special(s) => s.starts_with(['-', '+']),
        _ => false,
    };
    let all_negative = sql_standard
        && matches!(toks.first(), Some(Token::Signed(s) | Token::Special(s)) if s.starts_with('-'))
        && !toks.iter().skip(1).any(signed);
    let mut acc = Acc::default();
    let mut seen = 0u32;
    let mut unit: Option<Unit> = None;
    let mut bare_unit = Unit::Second;
    let mut ago = false;
    for (idx, tok) in toks.iter().enumerate().rev() {
        match *tok {
            Token::Word(w) => {
                if w.eq_ignore_ascii_case("ago") {
                    if idx + 1 != toks.len() || ago {
                        return Err(DtError::Syntax);
                    }
                    ago = true;
                } else {
                    if unit.is_some() {
                        return Err(DtError::Syntax);
                    }
                    unit = Some(Unit::parse(w).ok_or(DtError::Syntax)?);
                }
            }
            Token::Time(s) => {
                time_field(&mut acc, &mut seen, &unit, all_negative, s)?;
                bare_unit = Unit::Day;
            }
            Token::Signed(s) if s.contains(':') => {
                let neg = s.starts_with('-');
                time_field(&mut acc, &mut seen, &unit, neg, s.get(1..).unwrap_or(""))?;
                bare_unit = Unit::Day;
            }
            Token::Signed(s) if s.get(1..).is_some_and(|r| r.contains('-')) => {
                // Signed SQL standard `years-months`: the sign is both's.
                if unit.is_some() || seen & Unit::Month.bit() != 0 {
                    return Err(DtError::Syntax);
                }
                seen |= Unit::Month.bit();
                let neg = s.starts_with('-');
                let (y, m) = s[1..].split_once('-').ok_or(DtError::Syntax)?;
                let m = parse_u(m)?;
                if m >= MONTHS_PER_YEAR {
                    return Err(DtError::FieldRange);
                }
                let sign = if neg { -1 } else { 1 };
                acc.add_years(sign * parse_u(y)?, 0.0, 1)?;
                acc.add_months(sign * m)?;
            }
            Token::Number(s) | Token::Signed(s) => {
                let u = unit.take().unwrap_or(bare_unit);
                let (mut v, mut f) = parse_signed_number(s)?;
                if all_negative && v >= 0 && f >= 0.0 {
                    (v, f) = (-v, -f);
                }
                // Fractional seconds fill the millisecond and microsecond
                // places too.
                let bits = match u {
                    Unit::Second if s.contains('.') => {
                        u.bit() | Unit::Millisecond.bit() | Unit::Microsecond.bit()
                    }
                    _ => u.bit(),
                };
                if seen & bits != 0 {
                    return Err(DtError::Syntax);
                }
                seen |= bits;
                acc.add(u, v, f)?;
            }
            Token::Date(s) => {
                // SQL standard `years-months`.
                if unit.is_some() || seen & (Unit::Year.bit() | Unit::Month.bit()) != 0 {
                    return Err(DtError::Syntax);
                }
                seen |= Unit::Year.bit() | Unit::Month.bit();
                let (y, m) = s.split_once('-').ok_or(DtError::Syntax)?;
                let m = parse_u(m)?;
                if m >= MONTHS_PER_YEAR {
                    return Err(DtError::FieldRange);
                }
                let sign = if all_negative { -1 } else { 1 };
                acc.add_years(sign * parse_u(y)?, 0.0, 1)?;
                acc.add_months(sign * m)?;
            }
            Token::Zone(_) | Token::Special(_) | Token::PosixZone(..) => {
                return Err(DtError::Syntax);
            }
        }
    }
    if unit.is_some() {
        // A unit with no number before it.
        return Err(DtError::Syntax);
    }
    Ok((acc, ago))
}

fn time_field(
    acc: &mut Acc,
    seen: &mut u32,
    unit: &Option<Unit>,
    neg: bool,
    s: &str,
) -> Result<(), DtError> {
    if unit.is_some() || *seen & TIME_BITS != 0 {
        return Err(DtError::Syntax);
    }
    *seen |= TIME_BITS;
    let (h, m, sec, fsec) = parse_time_field(s)?;
    if m > 59 || sec > 59 {
        return Err(DtError::FieldRange);
    }
    let v = h
        .checked_mul(USECS_PER_HOUR)
        .and_then(|v| v.checked_add(m * USECS_PER_MINUTE + sec * USECS_PER_SEC + fsec))
        .ok_or(DtError::FieldRange)?;
    acc.add_usecs(if neg { -v } else { v })
}

/// ISO 8601 after the `P`: designators (`1Y2M3DT4H5M6S`, fractions and
/// signs allowed) or the alternative format `0001-02-03T04:05:06`.
fn parse_iso(s: &str) -> Result<(Acc, bool), DtError> {
    if s.is_empty() {
        return Err(DtError::Syntax);
    }
    let mut acc = Acc::default();
    let b = s.as_bytes();
    // The alternative format has no designator but the `T`.
    let alt = b.iter().any(u8::is_ascii_digit)
        && b.iter()
            .all(|c| !c.is_ascii_alphabetic() || c.eq_ignore_ascii_case(&b'T'));
    if alt {
        let (date, time) = match s.find(['T', 't']) {
            Some(p) => (s.get(..p).unwrap_or(""), s.get(p + 1..)),
            None => (s, None),
        };
        if !date.is_empty() {
            let mut it = date.split('-');
            let y = parse_u(it.next().unwrap_or(""))?;
            let m = it.next().map(parse_u).transpose()?.unwrap_or(0);
            let d = it.next().map(parse_u).transpose()?.unwrap_or(0);
            if it.next().is_some() {
                return Err(DtError::Syntax);
            }
            acc.add_years(y, 0.0, 1)?;
            acc.add_months(m)?;
            acc.add_days(d)?;
        }
        if let Some(t) = time {
            let (h, m, sec, fsec) = parse_time_field(t)?;
            acc.add_scaled(h, 0.0, USECS_PER_HOUR)?;
            acc.add_usecs(m * USECS_PER_MINUTE + sec * USECS_PER_SEC + fsec)?;
        }
        return Ok((acc, false));
    }
    // `PT` alone is a zero interval; `P` alone is refused above.
    let mut in_time = false;
    let mut seen = 0u32;
    let mut i = 0;
    while i < b.len() {
        if matches!(b.get(i), Some(b'T' | b't')) {
            if in_time {
                return Err(DtError::Syntax);
            }
            in_time = true;
            i += 1;
            continue;
        }
        let start = i;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'.') {
            i += 1;
        }
        let num = s.get(start..i).ok_or(DtError::Syntax)?;
        let designator = b.get(i).copied().ok_or(DtError::Syntax)?;
        i += 1;
        let unit = match (in_time, designator.to_ascii_uppercase()) {
            (false, b'Y') => Unit::Year,
            (false, b'M') => Unit::Month,
            (false, b'W') => Unit::Week,
            (false, b'D') => Unit::Day,
            (true, b'H') => Unit::Hour,
            (true, b'M') => Unit::Minute,
            (true, b'S') => Unit::Second,
            _ => return Err(DtError::Syntax),
        };
        if seen & unit.bit() != 0 {
            return Err(DtError::Syntax);
        }
        seen |= unit.bit();
        let (v, f) = parse_signed_number(num)?;
        acc.add(unit, v, f)?;
    }
    Ok((acc, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(usecs: i64, days: i32, months: i32) -> Vec<u8> {
        let mut b = usecs.to_be_bytes().to_vec();
        b.extend_from_slice(&days.to_be_bytes());
        b.extend_from_slice(&months.to_be_bytes());
        b
    }

    fn out(b: &[u8]) -> String {
        let mut t = BytesMut::new();
        interval_to_text(b, IntervalStyle::Postgres, &mut t).unwrap();
        String::from_utf8(t.to_vec()).unwrap()
    }

    fn inp(s: &str) -> String {
        let mut b = BytesMut::new();
        text_to_interval(s, IntervalStyle::Postgres, &mut b).unwrap_or_else(|e| panic!("{s}: {e}"));
        out(&b)
    }

    #[test]
    fn output_postgres_style() {
        let h = USECS_PER_HOUR;
        assert_eq!(
            out(&bin(4 * h + 5 * USECS_PER_MINUTE + 6_500_000, 3, 14)),
            "1 year 2 mons 3 days 04:05:06.5"
        );
        assert_eq!(out(&bin(-USECS_PER_SEC, 0, 0)), "-00:00:01");
        assert_eq!(out(&bin(0, 0, 0)), "00:00:00");
        assert_eq!(out(&bin(0, 1, 0)), "1 day");
        assert_eq!(out(&bin(2 * h, -1, 0)), "-1 days +02:00:00");
        assert_eq!(out(&bin(-2 * h, 1, 0)), "1 day -02:00:00");
        assert_eq!(out(&bin(0, 3, -14)), "-1 years -2 mons +3 days");
        assert_eq!(out(&bin(100 * h, 0, 0)), "100:00:00");
        assert_eq!(out(&bin(i64::MAX, 0, 0)), "2562047788:00:54.775807");
        assert_eq!(
            out(&bin(i64::MIN, i32::MIN, i32::MIN)),
            "-178956970 years -8 mons -2147483648 days -2562047788:00:54.775808"
        );
    }

    #[test]
    fn input_forms() {
        for (i, o) in [
            (
                "1 year 2 mons 3 days 04:05:06.5",
                "1 year 2 mons 3 days 04:05:06.5",
            ),
            ("-1 second", "-00:00:01"),
            ("0", "00:00:00"),
            ("1 day", "1 day"),
            ("2 hours 30 minutes", "02:30:00"),
            ("P1Y2M3DT4H5M6S", "1 year 2 mons 3 days 04:05:06"),
            ("10:00:00", "10:00:00"),
            ("-1 year 2 mons", "-10 mons"),
            ("-1 day +2 hours", "-1 days +02:00:00"),
            ("1.5 days", "1 day 12:00:00"),
            ("1.5 months", "1 mon 15 days"),
            ("1.5 years", "1 year 6 mons"),
            ("10", "00:00:10"),
            ("1 week", "7 days"),
            ("@ 1 day ago", "-1 days"),
            ("1 day 2 hours ago", "-1 days -02:00:00"),
            ("-1 days -00:00:01", "-1 days -00:00:01"),
            ("PT1.5S", "00:00:01.5"),
            ("P0001-02-03T04:05:06", "1 year 2 mons 3 days 04:05:06"),
            ("1-2", "1 year 2 mons"),
            ("3 4:05:06", "3 days 04:05:06"),
            ("1:02.5", "00:01:02.5"),
            ("-10:00", "-10:00:00"),
            ("2 millennia", "2000 years"),
            ("1y 2mon 3d 4h 5m 6s", "1 year 2 mons 3 days 04:05:06"),
            ("0.375 years", "4 mons"),
            ("0.3 mons", "9 days"),
            ("1.5 us", "00:00:00.000001"),
            ("1.5 ms", "00:00:00.0015"),
            ("P-1Y", "-1 years"),
            ("P1.5D", "1 day 12:00:00"),
            ("2147483647 months", "178956970 years 7 mons"),
            ("2562047788 hours", "2562047788:00:00"),
            ("1 day -1.5 hours", "1 day -01:30:00"),
        ] {
            assert_eq!(inp(i), o, "{i}");
        }
    }

    #[test]
    fn input_errors() {
        let field = SqlState::INTERVAL_FIELD_OVERFLOW;
        for (s, code) in [
            ("foo", SqlState::INVALID_DATETIME_FORMAT),
            ("1 year 1 year", SqlState::INVALID_DATETIME_FORMAT),
            ("", SqlState::INVALID_DATETIME_FORMAT),
            ("day", SqlState::INVALID_DATETIME_FORMAT),
            ("P", SqlState::INVALID_DATETIME_FORMAT),
            ("P1X", SqlState::INVALID_DATETIME_FORMAT),
            ("2147483648 days", field),
            ("2562047789 hours", field),
            ("178956971 years", SqlState::DATETIME_FIELD_OVERFLOW),
            ("99999999999999999999 days", field),
        ] {
            let e = text_to_interval(s, IntervalStyle::Postgres, &mut BytesMut::new()).unwrap_err();
            assert_eq!(e.code(), code, "{s}: {e}");
        }
    }
}
