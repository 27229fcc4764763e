//! Text input of the date/time types: a tokenizer splitting the input
//! into fields (numbers, dates, times, zone offsets, words) and a decoder
//! giving them meaning the way PostgreSQL's date/time input does, with the
//! session's DateStyle field order (DMY/MDY/YMD) for ambiguous numbers.
//!
//! Accepted: ISO 8601 (`2024-01-31`, `2024-01-31T13:45:00.5Z`,
//! `2024-01-31 13:45:00-05:30`), `MM/DD/YYYY`, month names (`Jan 31 2024`,
//! `31-Jan-2024`, `January 8, 1999`), compact `YYYYMMDD`, Julian days
//! (`J2451545`), `BC`/`AD`, `am`/`pm`, week days (ignored), common zone
//! abbreviations (`UTC`, `Z`, `EST`, `CET`...) and the special values
//! `infinity`, `-infinity`, `epoch`, `now`, `today`, `tomorrow`,
//! `yesterday`, `allballs`. Full zone names (`Europe/Paris`) are looked up
//! in the time zone database, their offset taken at the local time given.

use super::datetime::{
    USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC, days_in_month, now_usecs,
    pg_days,
};
use super::format_settings::{DateOrder, FormatSettings};
use super::text::is_pg_space;
use super::timezone::SessionTimeZone;
use crate::error::{ErrorInfo, SqlState};

/// PostgreSQL's limit on the number of fields in a date/time input.
pub(super) const MAX_FIELDS: usize = 25;
/// Zone offsets are below 16 hours.
const MAX_TZ_HOUR: i64 = 15;
/// Julian day of 2000-01-01.
const PG_EPOCH_JDATE: i64 = 2_451_545;

/// Which type is being parsed: decides which fields are required and
/// which special values are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DateTimeKind {
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
}

impl DateTimeKind {
    /// The type's name in PostgreSQL's input error messages.
    pub(super) fn type_name(self) -> &'static str {
        match self {
            DateTimeKind::Date => "date",
            DateTimeKind::Time => "time",
            DateTimeKind::TimeTz => "time with time zone",
            DateTimeKind::Timestamp => "timestamp",
            DateTimeKind::TimestampTz => "timestamp with time zone",
        }
    }

    fn is_time(self) -> bool {
        matches!(self, DateTimeKind::Time | DateTimeKind::TimeTz)
    }
}

/// A parsed value: days since 2000-01-01 (0 for times), microseconds into
/// the day (may reach 24:00:00 and beyond for 23:59:60), and the zone in
/// seconds east of UTC if the text named one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Parsed {
    Infinity,
    NegInfinity,
    Value {
        days: i64,
        usecs: i64,
        zone: Option<i64>,
    },
}

/// Why an input was refused; turned into PostgreSQL's message by
/// [`DtError::into_error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DtError {
    Syntax,
    FieldRange,
    TzRange,
    UnknownZone(String),
}

impl DtError {
    pub(super) fn into_error(self, type_name: &str, text: &str) -> ErrorInfo {
        match self {
            DtError::Syntax => ErrorInfo::new(
                SqlState::INVALID_DATETIME_FORMAT,
                format!("invalid input syntax for type {type_name}: \"{text}\""),
            ),
            DtError::FieldRange => ErrorInfo::new(
                SqlState::DATETIME_FIELD_OVERFLOW,
                format!("date/time field value out of range: \"{text}\""),
            ),
            DtError::TzRange => super::datetime::tz_displacement(Some(text)),
            DtError::UnknownZone(z) => ErrorInfo::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("time zone \"{z}\" not recognized"),
            ),
        }
    }
}

/// One field of a date/time input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// Digits, maybe with one fraction: `13`, `13.5`, `.5`.
    Number(&'a str),
    /// Segments joined by one of `-`, `/`, `.`: `2024-01-31`, `1/2/2024`,
    /// `08-Jan-1999`.
    Date(&'a str),
    /// Digits joined by `:`, maybe with a fraction: `13:45:00.5`.
    Time(&'a str),
    /// A sign then digits, colons and points: `+02`, `-05:30`, `-1.5`.
    Signed(&'a str),
    /// Letters: `jan`, `pm`, `utc`, `days`.
    Word(&'a str),
    /// A zone name with `/` or `_`: `Europe/Paris`.
    Zone(&'a str),
    /// A sign then letters: `-infinity`.
    Special(&'a str),
    /// A POSIX zone: letters, then an offset *west* of UTC (`UTC+3` is
    /// three hours behind UTC).
    PosixZone(&'a str, &'a str),
}

/// The fields of an input, at most [`MAX_FIELDS`] (no allocation).
pub(super) struct Tokens<'a> {
    items: [Token<'a>; MAX_FIELDS],
    len: usize,
}

impl<'a> Tokens<'a> {
    pub(super) fn as_slice(&self) -> &[Token<'a>] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    fn push(&mut self, t: Token<'a>) -> Result<(), DtError> {
        let slot = self.items.get_mut(self.len).ok_or(DtError::Syntax)?;
        *slot = t;
        self.len += 1;
        Ok(())
    }
}

fn scan(b: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    while b.get(i).is_some_and(|&c| f(c)) {
        i += 1;
    }
    i
}

/// Splits a date/time or interval input into fields.
pub(super) fn tokenize(text: &str) -> Result<Tokens<'_>, DtError> {
    let b = text.as_bytes();
    let mut toks = Tokens {
        items: [Token::Number(""); MAX_FIELDS],
        len: 0,
    };
    // Every slice boundary below is next to an ASCII byte, so `text[a..b]`
    // is always on a char boundary; `get` keeps that a non-panicking claim.
    let sub = |a: usize, z: usize| text.get(a..z).ok_or(DtError::Syntax);
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let start = i;
        if is_pg_space(c) {
            i += 1;
        } else if c.is_ascii_digit() {
            i = scan(b, i, |c| c.is_ascii_digit());
            match b.get(i) {
                Some(b':') => {
                    i = scan(b, i, |c| c.is_ascii_digit() || c == b':' || c == b'.');
                    toks.push(Token::Time(sub(start, i)?))?;
                }
                Some(&d @ (b'-' | b'/' | b'.')) => {
                    let next = scan(b, i + 1, |c| c.is_ascii_digit());
                    if d == b'.' && b.get(next) != Some(&b'.') {
                        // One point: a number with a fraction.
                        i = next;
                        toks.push(Token::Number(sub(start, i)?))?;
                    } else {
                        i = scan_date_segments(b, i, d);
                        toks.push(Token::Date(sub(start, i)?))?;
                    }
                }
                _ => toks.push(Token::Number(sub(start, i)?))?,
            }
        } else if c == b'.' {
            i = scan(b, i + 1, |c| c.is_ascii_digit());
            if i == start + 1 {
                return Err(DtError::Syntax);
            }
            toks.push(Token::Number(sub(start, i)?))?;
        } else if c.is_ascii_alphabetic() {
            i = scan(b, i, |c| c.is_ascii_alphabetic());
            // `am+03` is a word and an offset, `am-03` and `foo+03` POSIX
            // zones: PostgreSQL looks a word up before a `+` only.
            let keyword_plus = b.get(i) == Some(&b'+') && is_core_keyword(sub(start, i)?);
            if let Some(end) = posix_zone_end(b, i).filter(|_| !keyword_plus) {
                let (name, offset) = (sub(start, i)?, sub(i, end)?);
                i = end;
                toks.push(Token::PosixZone(name, offset))?;
                continue;
            }
            match (b.get(i), b.get(i + 1)) {
                (Some(b'-' | b'/' | b'.'), Some(n)) if n.is_ascii_digit() => {
                    i = scan(b, i, |c| {
                        c.is_ascii_alphanumeric()
                            || matches!(c, b'+' | b'-' | b'/' | b'_' | b'.' | b':')
                    });
                    toks.push(Token::Date(sub(start, i)?))?;
                }
                (Some(b'/' | b'_'), Some(n)) if n.is_ascii_alphanumeric() => {
                    i = scan(b, i, |c| {
                        c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'+' | b'-')
                    });
                    toks.push(Token::Zone(sub(start, i)?))?;
                }
                _ => toks.push(Token::Word(sub(start, i)?))?,
            }
        } else if c == b'+' || c == b'-' {
            match b.get(i + 1) {
                Some(n) if n.is_ascii_digit() || *n == b'.' => {
                    // As PostgreSQL's signed field: digits, `:`, `.` and
                    // `-` (`-1-2` is minus one year two months).
                    i = scan(b, i + 1, |c| {
                        c.is_ascii_digit() || c == b':' || c == b'.' || c == b'-'
                    });
                    toks.push(Token::Signed(sub(start, i)?))?;
                }
                Some(n) if n.is_ascii_alphabetic() => {
                    i = scan(b, i + 1, |c| c.is_ascii_alphabetic());
                    toks.push(Token::Special(sub(start, i)?))?;
                }
                _ => return Err(DtError::Syntax),
            }
        } else if c.is_ascii_punctuation() {
            // Other punctuation only separates fields (`January 8, 1999`,
            // `@ 1 day`).
            i += 1;
        } else {
            return Err(DtError::Syntax);
        }
    }
    Ok(toks)
}

/// Scans the rest of a date that starts with digits, from the delimiter
/// at `i`: `digits(delim digits)*`, except that once a segment starts with
/// a letter (`2024-Jan-31`) letters and digits run together up to the
/// next non-alphanumeric character, as in PostgreSQL (so
/// `2024-Jan-31T13:45` is one field, and refused).
fn scan_date_segments(b: &[u8], mut i: usize, delim: u8) -> usize {
    while b.get(i) == Some(&delim) {
        let s = i + 1;
        i = match b.get(s) {
            Some(c) if c.is_ascii_digit() => scan(b, s, |c| c.is_ascii_digit()),
            Some(c) if c.is_ascii_alphabetic() => {
                return scan(b, s, |c| c.is_ascii_alphanumeric() || c == delim);
            }
            _ => break,
        };
    }
    i
}

/// A POSIX-style zone right after letters at `i`: a sign, digits and
/// colons, then no more letters or date punctuation (`UTC+3`, `foo-06`).
/// Returns its end.
fn posix_zone_end(b: &[u8], i: usize) -> Option<usize> {
    if !matches!(b.get(i), Some(b'+' | b'-')) || !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let end = scan(b, i + 1, |c| c.is_ascii_digit() || c == b':');
    match b.get(end) {
        Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'/' | b'.' | b'+') => None,
        _ => Some(end),
    }
}

/// Parses an unsigned decimal integer of at most 18 digits.
pub(super) fn parse_u(s: &str) -> Result<i64, DtError> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(DtError::Syntax);
    }
    let s = s.trim_start_matches('0');
    if s.len() > 18 {
        return Err(DtError::FieldRange);
    }
    Ok(s.bytes().fold(0i64, |v, c| v * 10 + (c - b'0') as i64))
}

/// Microseconds of a fraction written as `.ddd` (`""` is zero): PostgreSQL
/// reads it as a double and rounds half to even, so do the same.
pub(super) fn parse_fraction_usecs(s: &str) -> Result<i64, DtError> {
    if s.is_empty() {
        return Ok(0);
    }
    let digits = s.strip_prefix('.').ok_or(DtError::Syntax)?;
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(DtError::Syntax);
    }
    let f: f64 = if digits.is_empty() {
        0.0
    } else {
        s.parse().map_err(|_| DtError::Syntax)?
    };
    Ok((f * USECS_PER_SEC as f64).round_ties_even() as i64)
}

/// `H:M`, `H:M:S` or `H:M:S.F`; with two fields and a fraction, `M:S.F`.
/// Returns (hours, minutes, seconds, microseconds of the fraction).
pub(super) fn parse_time_field(s: &str) -> Result<(i64, i64, i64, i64), DtError> {
    let (whole, frac) = match s.find('.') {
        Some(p) => s.split_at(p),
        None => (s, ""),
    };
    let fsec = parse_fraction_usecs(frac)?;
    let mut parts = whole.split(':');
    let a = parse_u(parts.next().unwrap_or(""))?;
    let b = parse_u(parts.next().ok_or(DtError::Syntax)?)?;
    let c = parts.next().map(parse_u).transpose()?;
    if parts.next().is_some() {
        return Err(DtError::Syntax);
    }
    Ok(match c {
        Some(c) => (a, b, c, fsec),
        None if !frac.is_empty() => (0, a, b, fsec),
        None => (a, b, 0, 0),
    })
}

/// A zone offset field (`+02`, `-0530`, `+05:30`, `+053000`) in seconds
/// east of UTC.
fn parse_offset(s: &str) -> Result<i64, DtError> {
    parse_offset_max(s, MAX_TZ_HOUR)
}

/// A zone offset with hours up to `max_hour`.
fn parse_offset_max(s: &str, max_hour: i64) -> Result<i64, DtError> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..).unwrap_or("")),
        Some(b'+') => (false, s.get(1..).unwrap_or("")),
        _ => return Err(DtError::Syntax),
    };
    if body.contains('.') {
        return Err(DtError::Syntax);
    }
    let (h, m, sec) = if body.contains(':') {
        let mut it = body.split(':');
        let h = parse_u(it.next().unwrap_or(""))?;
        let m = parse_u(it.next().unwrap_or(""))?;
        let sec = it.next().map(parse_u).transpose()?.unwrap_or(0);
        if it.next().is_some() {
            return Err(DtError::Syntax);
        }
        (h, m, sec)
    } else {
        let v = parse_u(body)?;
        match body.len() {
            1 | 2 => (v, 0, 0),
            3 | 4 => (v / 100, v % 100, 0),
            5 | 6 => (v / 10_000, v / 100 % 100, v % 100),
            _ => return Err(DtError::Syntax),
        }
    };
    if h > max_hour {
        return Err(DtError::TzRange);
    }
    if m > 59 || sec > 59 {
        return Err(DtError::FieldRange);
    }
    let v = h * 3600 + m * 60 + sec;
    Ok(if neg { -v } else { v })
}

/// Zone abbreviations of PostgreSQL's `Default` set that clients commonly
/// send, in seconds east of UTC.
fn zone_abbrev(w: &str) -> Option<i64> {
    const H: i64 = 3600;
    let table: &[(&str, i64)] = &[
        ("utc", 0),
        ("gmt", 0),
        ("ut", 0),
        ("z", 0),
        ("zulu", 0),
        ("wet", 0),
        ("west", H),
        ("bst", H),
        ("cet", H),
        ("met", H),
        ("cest", 2 * H),
        ("mest", 2 * H),
        ("eet", 2 * H),
        ("eest", 3 * H),
        ("ist", 2 * H),
        ("msk", 3 * H),
        ("sast", 2 * H),
        ("hkt", 8 * H),
        ("sgt", 8 * H),
        ("awst", 8 * H),
        ("jst", 9 * H),
        ("kst", 9 * H),
        ("acst", 9 * H + 1800),
        ("acdt", 10 * H + 1800),
        ("aest", 10 * H),
        ("aedt", 11 * H),
        ("nzst", 12 * H),
        ("nzdt", 13 * H),
        ("nst", -(3 * H + 1800)),
        ("ndt", -(2 * H + 1800)),
        ("ast", -4 * H),
        ("adt", -3 * H),
        ("est", -5 * H),
        ("edt", -4 * H),
        ("cst", -6 * H),
        ("cdt", -5 * H),
        ("mst", -7 * H),
        ("mdt", -6 * H),
        ("pst", -8 * H),
        ("pdt", -7 * H),
        ("akst", -9 * H),
        ("akdt", -8 * H),
        ("hst", -10 * H),
    ];
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(w))
        .map(|&(_, v)| v)
}

/// Full zone names that mean UTC, the only ones known without a zone
/// database.
fn zone_name(z: &str) -> Option<i64> {
    ["etc/utc", "etc/gmt", "etc/universal", "etc/zulu", "etc/uct"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(z))
        .then_some(0)
}

/// Words of PostgreSQL's own date/time vocabulary (not zone names).
fn is_core_keyword(w: &str) -> bool {
    month_of(w).is_some()
        || is_weekday(w)
        || [
            "am",
            "pm",
            "ad",
            "bc",
            "at",
            "on",
            "t",
            "j",
            "y",
            "m",
            "d",
            "h",
            "s",
            "epoch",
            "infinity",
            "now",
            "today",
            "tomorrow",
            "yesterday",
            "allballs",
        ]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(w))
}

fn month_of(w: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let lw = w.len();
    if lw < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| {
            // The three-letter abbreviation or the full name ("sept" too).
            let full = m.eq_ignore_ascii_case(w);
            let abbr = lw == 3 && m.get(..3).is_some_and(|p| p.eq_ignore_ascii_case(w));
            full || abbr || (*m == "september" && w.eq_ignore_ascii_case("sept"))
        })
        .map(|p| p as i64 + 1)
}

fn is_weekday(w: &str) -> bool {
    const DAYS: [&str; 7] = [
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
    ];
    DAYS.iter().any(|d| {
        d.eq_ignore_ascii_case(w)
            || (w.len() == 3 && d.get(..3).is_some_and(|p| p.eq_ignore_ascii_case(w)))
    }) || ["tues", "wednes", "thur", "thurs"]
        .iter()
        .any(|d| d.eq_ignore_ascii_case(w))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    Infinity,
    NegInfinity,
    Epoch,
    Now,
    Today,
    Tomorrow,
    Yesterday,
    Allballs,
}

#[derive(Default)]
struct Fields {
    year: Option<i64>,
    year_two_digits: bool,
    month: Option<i64>,
    month_named: bool,
    day: Option<i64>,
    julian: Option<i64>,
    expect_julian: bool,
    time: Option<(i64, i64, i64, i64)>,
    zone: Option<i64>,
    bc: bool,
    pm: Option<bool>,
    special: Option<Special>,
    /// DateStyle's field order, for numbers that could be any field.
    order: DateOrder,
    /// A zone named in the input (`Europe/Paris`): its offset depends on
    /// the local date and time, so it is resolved at the end.
    named_zone: Option<SessionTimeZone>,
}

impl Fields {
    fn date_complete(&self) -> bool {
        self.julian.is_some() || (self.year.is_some() && self.month.is_some() && self.day.is_some())
    }

    fn set_year(&mut self, digits: &str) -> Result<(), DtError> {
        if self.year.is_some() {
            return Err(DtError::Syntax);
        }
        let y = parse_u(digits)?;
        if y > i32::MAX as i64 {
            return Err(DtError::FieldRange);
        }
        self.year = Some(y);
        self.year_two_digits = digits.len() <= 2;
        Ok(())
    }

    fn set_month(&mut self, m: i64, named: bool) -> Result<(), DtError> {
        if self.month.is_some() {
            return Err(DtError::Syntax);
        }
        self.month = Some(m);
        self.month_named = named;
        Ok(())
    }

    fn set_day(&mut self, d: i64) -> Result<(), DtError> {
        if self.day.is_some() {
            return Err(DtError::Syntax);
        }
        self.day = Some(d);
        Ok(())
    }

    /// A number, decoded at once from the date parts already known (so
    /// the order matters), as PostgreSQL's `DecodeNumber` does: with
    /// nothing yet, a year if it has three digits or more or the order is
    /// YMD, else the day (DMY) or month (MDY); then the field that order
    /// puts next. After a month name, a year if it has three digits or more
    /// (or YMD), else the day. Six digits or more (outside a date field)
    /// are a compact date: day and month the last four, the year the rest.
    fn number(&mut self, digits: &str, in_date_field: bool) -> Result<(), DtError> {
        if self.expect_julian {
            self.expect_julian = false;
            self.julian = Some(parse_u(digits)?);
            return Ok(());
        }
        let v = parse_u(digits)?;
        let len = digits.len();
        let ymd = self.order == DateOrder::Ymd;
        let no_date = self.year.is_none() && self.month.is_none() && self.day.is_none();
        // PostgreSQL's `DecodeNumberField`: six digits or more, with no
        // date field yet or no time yet, are a compact date (which then
        // must be the whole date) or, after a whole date, `hhmmss`.
        if !in_date_field && len >= 6 && (no_date || self.time.is_none()) {
            if self.date_complete() {
                if len != 6 {
                    return Err(DtError::Syntax);
                }
                let (h, rest) = digits.split_at(2);
                let (m, sec) = rest.split_at(2);
                let (h, m, sec) = (parse_u(h)?, parse_u(m)?, parse_u(sec)?);
                if m > 59 || sec > 60 {
                    return Err(DtError::FieldRange);
                }
                self.time = Some((h, m, sec, 0));
                return Ok(());
            }
            if !no_date {
                return Err(DtError::Syntax);
            }
        }
        match (
            self.year.is_some(),
            self.month.is_some(),
            self.day.is_some(),
        ) {
            (false, false, false) if !in_date_field && len >= 6 => {
                let (y, rest) = digits.split_at(len - 4);
                self.set_year(y)?;
                let (m, d) = rest.split_at(2);
                self.set_month(parse_u(m)?, false)?;
                self.set_day(parse_u(d)?)
            }
            (false, false, false) if len >= 3 || ymd => self.set_year(digits),
            (false, false, false) if self.order == DateOrder::Dmy => self.set_day(v),
            (false, false, false) | (true, false, false) => self.set_month(v, false),
            (false, true, false) if self.month_named && (len >= 3 || ymd) => self.set_year(digits),
            (true, true, false) if self.month_named && len >= 3 && self.year_two_digits => {
                // `DD-MON-YYYY` even in YMD: the first number was the day.
                let day = self.year.take().unwrap_or(0);
                self.set_day(day)?;
                self.set_year(digits)
            }
            (false, true, false) | (true, true, false) => self.set_day(v),
            (false, false, true) => self.set_month(v, false),
            (false, true, true) => self.set_year(digits),
            _ => Err(DtError::Syntax),
        }
    }

    /// A date field (`2024-01-31`, `01/02/2024`, `31.Jan.2024`): a month
    /// name first, wherever it stands, then the numbers in order.
    fn date(&mut self, s: &str) -> Result<(), DtError> {
        if self.year.is_some() || self.month.is_some() || self.day.is_some() {
            return Err(DtError::Syntax);
        }
        let delim = s
            .bytes()
            .find(|c| matches!(c, b'-' | b'/' | b'.'))
            .ok_or(DtError::Syntax)?;
        let mut parts = [""; 3];
        let mut n = 0;
        for p in s.split(delim as char) {
            *parts.get_mut(n).ok_or(DtError::Syntax)? = p;
            n += 1;
        }
        if n != 3 {
            return Err(DtError::Syntax);
        }
        let named = parts
            .iter()
            .position(|p| p.bytes().next().is_some_and(|c| c.is_ascii_alphabetic()));
        if let Some(i) = named {
            let m = parts
                .get(i)
                .and_then(|p| month_of(p))
                .ok_or(DtError::Syntax)?;
            self.set_month(m, true)?;
        }
        for (j, p) in parts.iter().enumerate() {
            if Some(j) != named {
                if p.is_empty() {
                    return Err(DtError::Syntax);
                }
                self.number(p, true)?;
            }
        }
        Ok(())
    }

    fn word(&mut self, w: &str) -> Result<(), DtError> {
        let eq = |s: &str| w.eq_ignore_ascii_case(s);
        let sp = if eq("infinity") {
            Some(Special::Infinity)
        } else if eq("epoch") {
            Some(Special::Epoch)
        } else if eq("now") {
            Some(Special::Now)
        } else if eq("today") {
            Some(Special::Today)
        } else if eq("tomorrow") {
            Some(Special::Tomorrow)
        } else if eq("yesterday") {
            Some(Special::Yesterday)
        } else if eq("allballs") {
            Some(Special::Allballs)
        } else {
            None
        };
        if let Some(sp) = sp {
            if self.special.is_some() {
                return Err(DtError::Syntax);
            }
            self.special = Some(sp);
            return Ok(());
        }
        if let Some(m) = month_of(w) {
            // A number taken for the month (`31 Jan`) was the day.
            if let (Some(n), false, None) = (self.month, self.month_named, self.day) {
                if (1..=31).contains(&n) {
                    self.day = Some(n);
                    self.month = None;
                }
            }
            return self.set_month(m, true);
        }
        if eq("am") || eq("pm") {
            if self.pm.is_some() {
                return Err(DtError::Syntax);
            }
            self.pm = Some(eq("pm"));
            return Ok(());
        }
        if eq("bc") || eq("ad") {
            self.bc = eq("bc");
            return Ok(());
        }
        if eq("t") || eq("on") || eq("at") || is_weekday(w) {
            return Ok(());
        }
        if eq("j") {
            self.expect_julian = true;
            return Ok(());
        }
        if let Some(z) = zone_abbrev(w) {
            return self.set_zone(z);
        }
        Err(DtError::Syntax)
    }

    fn set_zone(&mut self, z: i64) -> Result<(), DtError> {
        if self.zone.is_some() {
            return Err(DtError::Syntax);
        }
        self.zone = Some(z);
        Ok(())
    }
}

/// Parses a date/time input for `kind` in a session with `settings`
/// (DateStyle's field order; TimeZone for `now` and `today`).
pub(super) fn parse(
    kind: DateTimeKind,
    text: &str,
    settings: &FormatSettings,
) -> Result<Parsed, DtError> {
    let toks = tokenize(text)?;
    let mut f = Fields {
        order: settings.date_order,
        ..Fields::default()
    };
    for tok in toks.as_slice() {
        match *tok {
            Token::Number(s) => f.number(s, false)?,
            Token::Date(s) => f.date(s)?,
            Token::Time(s) => {
                if f.time.is_some() {
                    return Err(DtError::Syntax);
                }
                let (h, m, sec, fsec) = parse_time_field(s)?;
                // Checked as soon as it is read: up to 24:00:00, and a
                // leap second only where it stays within the day.
                let total = h
                    .checked_mul(USECS_PER_HOUR)
                    .map(|t| t + m * USECS_PER_MINUTE + sec * USECS_PER_SEC + fsec);
                // (A time-only input is checked against the day length at the
                // end, so an error in a later field may come first.)
                let overflows = total.is_none_or(|t| t > USECS_PER_DAY);
                if m > 59 || sec > 60 || (overflows && !kind.is_time()) {
                    return Err(DtError::FieldRange);
                }
                f.time = Some((h, m, sec, fsec));
            }
            Token::Signed(s) => {
                let z = parse_offset(s)?;
                f.set_zone(z)?;
            }
            Token::Word(w) => {
                // "J2451545": the tokenizer splits the letter from the digits.
                f.word(w)?;
            }
            Token::Zone(z) => match zone_name(z) {
                Some(off) => f.set_zone(off)?,
                None => {
                    let tz = SessionTimeZone::named(z)
                        .ok_or_else(|| DtError::UnknownZone(z.to_ascii_lowercase()))?;
                    // Counted as the input's zone: a second one is an error.
                    f.set_zone(0)?;
                    f.named_zone = Some(tz);
                }
            },
            Token::PosixZone(_, offset) => {
                // POSIX offsets go up to a week.
                f.set_zone(-parse_offset_max(offset, 167)?)?;
            }
            Token::Special(s) => {
                let sp = if s.eq_ignore_ascii_case("-infinity") {
                    Special::NegInfinity
                } else if s.eq_ignore_ascii_case("+infinity") {
                    Special::Infinity
                } else {
                    return Err(DtError::Syntax);
                };
                if f.special.is_some() {
                    return Err(DtError::Syntax);
                }
                f.special = Some(sp);
            }
        }
    }
    if f.expect_julian {
        return Err(DtError::Syntax);
    }
    finish(kind, f, settings)
}

fn finish(kind: DateTimeKind, mut f: Fields, settings: &FormatSettings) -> Result<Parsed, DtError> {
    // The current local time in the session's zone, and its offset.
    let now_local = || {
        let t = now_usecs();
        let east = settings.time_zone.offset_at(t) as i64;
        (t + east * USECS_PER_SEC, east)
    };
    let now = || now_local().0;
    let mut day_offset = 0;
    match f.special {
        Some(Special::Infinity | Special::NegInfinity) if kind.is_time() => {
            return Err(DtError::Syntax);
        }
        Some(Special::Infinity) => return Ok(Parsed::Infinity),
        Some(Special::NegInfinity) => return Ok(Parsed::NegInfinity),
        Some(Special::Epoch) if !kind.is_time() => {
            return Ok(Parsed::Value {
                days: -10_957,
                usecs: 0,
                zone: Some(0),
            });
        }
        Some(Special::Now) => {
            let (t, east) = now_local();
            let (days, usecs) = (t.div_euclid(USECS_PER_DAY), t.rem_euclid(USECS_PER_DAY));
            return Ok(Parsed::Value {
                days,
                usecs,
                zone: Some(east),
            });
        }
        Some(Special::Allballs) if kind.is_time() => {
            return Ok(Parsed::Value {
                days: 0,
                usecs: 0,
                zone: Some(0),
            });
        }
        Some(Special::Today) if !kind.is_time() => day_offset = 0,
        Some(Special::Tomorrow) if !kind.is_time() => day_offset = 1,
        Some(Special::Yesterday) if !kind.is_time() => day_offset = -1,
        Some(_) => return Err(DtError::Syntax),
        None => {}
    }
    // The time of day.
    let mut usecs = 0;
    match f.time {
        Some((mut h, m, s, fsec)) => {
            if let Some(pm) = f.pm {
                if h > 12 {
                    return Err(DtError::FieldRange);
                }
                if pm && h != 12 {
                    h += 12;
                } else if !pm && h == 12 {
                    h = 0;
                }
            }
            usecs = h
                .checked_mul(USECS_PER_HOUR)
                .map(|t| t + m * USECS_PER_MINUTE + s * USECS_PER_SEC + fsec)
                .filter(|&t| t <= USECS_PER_DAY)
                .ok_or(DtError::FieldRange)?;
        }
        None if f.pm.is_some() => return Err(DtError::Syntax),
        None if kind.is_time() => return Err(DtError::Syntax),
        None => {}
    }
    if kind.is_time() {
        let zone = match &f.named_zone {
            // A time alone: the zone's offset today, as PostgreSQL does.
            Some(tz) => {
                let today = now().div_euclid(USECS_PER_DAY) * USECS_PER_DAY;
                Some(tz.local_offset(today + usecs) as i64)
            }
            None => f.zone,
        };
        return Ok(Parsed::Value {
            days: 0,
            usecs,
            zone,
        });
    }
    // The date.
    let days = if f.special.is_some() {
        if f.year.is_some() || f.month.is_some() || f.day.is_some() || f.julian.is_some() {
            return Err(DtError::Syntax);
        }
        now().div_euclid(USECS_PER_DAY) + day_offset
    } else if let Some(j) = f.julian {
        if f.year.is_some() || f.month.is_some() || f.day.is_some() {
            return Err(DtError::Syntax);
        }
        j - PG_EPOCH_JDATE
    } else {
        if !f.date_complete() {
            return Err(DtError::Syntax);
        }
        let (Some(mut y), Some(m), Some(d)) = (f.year, f.month, f.day) else {
            return Err(DtError::Syntax);
        };
        if f.bc {
            if y == 0 {
                return Err(DtError::FieldRange);
            }
            y = 1 - y;
        } else if f.year_two_digits {
            y += if y < 70 { 2000 } else { 1900 };
        } else if y == 0 {
            return Err(DtError::FieldRange);
        }
        if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m as u32) as i64 {
            return Err(DtError::FieldRange);
        }
        f.year = Some(y);
        pg_days(y, m as u32, d as u32)
    };
    let zone = match &f.named_zone {
        Some(tz) => Some(tz.local_offset(days * USECS_PER_DAY + usecs) as i64),
        None => f.zone,
    };
    Ok(Parsed::Value { days, usecs, zone })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(kind: DateTimeKind, s: &str) -> (i64, i64, Option<i64>) {
        match parse(kind, s, FormatSettings::default_ref()) {
            Ok(Parsed::Value { days, usecs, zone }) => (days, usecs, zone),
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn dates_in_many_spellings() {
        let want = pg_days(2024, 1, 31);
        for s in [
            "2024-01-31",
            " 2024-1-31 ",
            "1/31/2024",
            "Jan 31 2024",
            "31 Jan 2024",
            "January 31, 2024",
            "2024-Jan-31",
            "31-Jan-2024",
            "Jan-31-2024",
            "20240131",
            "2024.01.31",
            "2024-01-31T13:45",
            "Wed Jan 31 2024",
            "J2460341",
        ] {
            assert_eq!(
                value(DateTimeKind::Date, s).0,
                want,
                "{s}: {:?}",
                tokenize(s).map(|t| t.as_slice().to_vec())
            );
        }
        assert_eq!(value(DateTimeKind::Date, "5/6/7").0, pg_days(2007, 5, 6));
        assert_eq!(value(DateTimeKind::Date, "1/8/99").0, pg_days(1999, 1, 8));
        assert_eq!(
            value(DateTimeKind::Date, "0044-03-15 BC").0,
            pg_days(-43, 3, 15)
        );
        assert_eq!(value(DateTimeKind::Date, "epoch").0, pg_days(1970, 1, 1));
        assert_eq!(
            parse(
                DateTimeKind::Date,
                "-infinity",
                FormatSettings::default_ref()
            ),
            Ok(Parsed::NegInfinity)
        );
    }

    #[test]
    fn date_errors() {
        for (s, e) in [
            ("foo", DtError::Syntax),
            ("2024-02-30", DtError::FieldRange),
            ("0000-01-01", DtError::FieldRange),
            ("99-01-08", DtError::FieldRange),
            ("2024-13-01", DtError::FieldRange),
            ("2024-01", DtError::Syntax),
            ("2024-01-31 2024", DtError::Syntax),
            ("", DtError::Syntax),
        ] {
            assert_eq!(
                parse(DateTimeKind::Date, s, FormatSettings::default_ref()).map(|_| ()),
                Err(e),
                "{s}"
            );
        }
    }

    #[test]
    fn times_and_zones() {
        let t = |h: i64, m: i64, s: i64, us: i64| {
            h * USECS_PER_HOUR + m * USECS_PER_MINUTE + s * USECS_PER_SEC + us
        };
        let v = |s| value(DateTimeKind::TimeTz, s);
        assert_eq!(v("13:45"), (0, t(13, 45, 0, 0), None));
        assert_eq!(v("13:45:00.5+02"), (0, t(13, 45, 0, 500_000), Some(7200)));
        assert_eq!(v("1:2:3.1234565"), (0, t(1, 2, 3, 123_456), None));
        assert_eq!(v("1:2:3.1234575"), (0, t(1, 2, 3, 123_458), None));
        assert_eq!(v("13:45.5"), (0, t(0, 13, 45, 500_000), None));
        assert_eq!(v("1:00 pm"), (0, t(13, 0, 0, 0), None));
        assert_eq!(v("12:30 am"), (0, t(0, 30, 0, 0), None));
        assert_eq!(v("24:00"), (0, t(24, 0, 0, 0), None));
        assert_eq!(v("23:59:60"), (0, t(24, 0, 0, 0), None));
        assert_eq!(v("13:45-05:30").2, Some(-19800));
        assert_eq!(v("13:45 +0230").2, Some(9000));
        assert_eq!(v("13:45Z").2, Some(0));
        assert_eq!(v("13:45 EST").2, Some(-18000));
        assert_eq!(v("allballs"), (0, 0, Some(0)));
        assert_eq!(v("13:45 UTC+3").2, Some(-10800));
        // `am-07` is a POSIX zone named AM, seven hours east.
        assert_eq!(v("7:30 am-07"), (0, t(7, 30, 0, 0), Some(25200)));
        assert_eq!(v("22:42 pm-06"), (0, t(22, 42, 0, 0), Some(21600)));
        for (s, e) in [
            ("24:00:01", DtError::FieldRange),
            ("25:00", DtError::FieldRange),
            ("13:60", DtError::FieldRange),
            ("13:00 pm", DtError::FieldRange),
            ("13", DtError::Syntax),
            (".5", DtError::Syntax),
            ("epoch", DtError::Syntax),
            ("13:45 +16", DtError::TzRange),
            ("13:45 Foo/Bar", DtError::UnknownZone("foo/bar".into())),
        ] {
            assert_eq!(
                parse(DateTimeKind::TimeTz, s, FormatSettings::default_ref()).map(|_| ()),
                Err(e),
                "{s}"
            );
        }
    }

    #[test]
    fn bounded_fields() {
        let many = "1 ".repeat(MAX_FIELDS + 1);
        assert_eq!(
            parse(DateTimeKind::Date, &many, FormatSettings::default_ref()).map(|_| ()),
            Err(DtError::Syntax)
        );
        let big = format!("{}-01-01", "9".repeat(40));
        assert_eq!(
            parse(DateTimeKind::Date, &big, FormatSettings::default_ref()).map(|_| ()),
            Err(DtError::FieldRange)
        );
    }
}
