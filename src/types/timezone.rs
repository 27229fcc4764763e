//! The session's `TimeZone` setting: what names PostgreSQL accepts for it,
//! and the offset and abbreviation in force at a given instant.
//!
//! Accepted as PostgreSQL's `check_timezone` accepts them: a number of
//! hours east of UTC (`5`, `-3.5`), `INTERVAL '+02:00'` (what `SET TIME
//! ZONE INTERVAL '+02:00' HOUR TO MINUTE` becomes), an IANA name from the
//! time zone database (case-insensitive, shown as the database spells it),
//! and a POSIX TZ string (`UTC+3` is three hours *behind* UTC,
//! `<+03>-3`), shown in upper case. Names are looked up in the system's
//! tzdata (what PostgreSQL packages read too), with jiff's embedded copy
//! when the system has none.

use std::sync::Arc;

use bytes::BytesMut;
use jiff::Timestamp;
use jiff::tz::{AmbiguousOffset, TimeZone};

use crate::error::{ErrorInfo, SqlState};

/// Seconds from 1970-01-01 to 2000-01-01.
const PG_EPOCH_UNIX_SECS: i64 = 946_684_800;
/// The Gregorian calendar (and every zone rule) repeats every 400 years:
/// instants outside jiff's range are moved by whole cycles, as
/// PostgreSQL's `localtime` does.
const CYCLE_SECS: i64 = 146_097 * 86_400;
/// Within jiff's range (years -9999..=9999) with a day to spare.
const SAFE_MIN: i64 = -377_705_023_201 + 2 * 86_400;
const SAFE_MAX: i64 = 253_402_207_200 - 2 * 86_400;
/// PostgreSQL's limit on a time zone name (`TZ_STRLEN_MAX`).
const TZ_STRLEN_MAX: usize = 255;

/// A time zone as the `TimeZone` setting names it.
#[derive(Clone, Debug)]
pub struct SessionTimeZone {
    /// The name `SHOW TimeZone` prints.
    name: Arc<str>,
    tz: TimeZone,
    /// UTC: offsets need no lookup.
    is_utc: bool,
    /// A fixed offset's abbreviation (`+05`, `-02:30`), which jiff's POSIX
    /// strings cannot all spell.
    fixed: Option<(i32, Arc<str>)>,
}

impl Default for SessionTimeZone {
    fn default() -> Self {
        SessionTimeZone::utc()
    }
}

fn invalid(value: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INVALID_PARAMETER_VALUE,
        format!("invalid value for parameter \"TimeZone\": \"{value}\""),
    )
}

impl SessionTimeZone {
    /// `UTC`, PostgreSQL's default.
    pub fn utc() -> Self {
        SessionTimeZone {
            name: Arc::from("UTC"),
            tz: TimeZone::UTC,
            is_utc: true,
            fixed: None,
        }
    }

    /// Whether this is UTC itself (offsets never change, abbreviation
    /// `UTC`).
    pub fn is_utc(&self) -> bool {
        self.is_utc
    }

    /// The name as `SHOW TimeZone` prints it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone's offset east of UTC, in seconds, at `usecs` microseconds
    /// since 2000-01-01 00:00 UTC.
    pub fn offset_at(&self, usecs: i64) -> i32 {
        self.offset_info(usecs, |east, _| east)
    }

    /// `f` applied to the offset (seconds east) and the zone's abbreviation
    /// (`CET`, `+03`) at an instant, without allocating.
    pub(crate) fn offset_info<R>(&self, usecs: i64, f: impl FnOnce(i32, &str) -> R) -> R {
        if self.is_utc {
            return f(0, "UTC");
        }
        if let Some((east, abbrev)) = &self.fixed {
            return f(*east, abbrev);
        }
        let secs = usecs.div_euclid(1_000_000) + PG_EPOCH_UNIX_SECS;
        let ts = Timestamp::from_second(into_range(secs)).unwrap_or(Timestamp::UNIX_EPOCH);
        let info = self.tz.to_offset_info(ts);
        f(info.offset().seconds(), info.abbreviation())
    }

    /// The UTC instant of a local wall-clock time (microseconds since
    /// 2000-01-01 00:00, local), as PostgreSQL resolves it: in a gap
    /// (clocks jump forward) the offset before the change, in a fold
    /// (clocks go back) the offset after it. Returns the offset in seconds
    /// east.
    pub fn local_offset(&self, local_usecs: i64) -> i32 {
        if self.is_utc {
            return 0;
        }
        if let Some((east, _)) = &self.fixed {
            return *east;
        }
        let secs = local_usecs.div_euclid(1_000_000) + PG_EPOCH_UNIX_SECS;
        let Ok(ts) = Timestamp::from_second(into_range(secs)) else {
            return 0;
        };
        let civil = jiff::tz::Offset::UTC.to_datetime(ts);
        match self.tz.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.seconds(),
            AmbiguousOffset::Gap { before, .. } => before.seconds(),
            AmbiguousOffset::Fold { after, .. } => after.seconds(),
        }
    }

    /// Parses a `TimeZone` value as PostgreSQL's `check_timezone` does.
    /// Fails with 22023 `invalid value for parameter "TimeZone"`.
    pub fn parse(value: &str) -> Result<Self, ErrorInfo> {
        let v = value;
        if v.eq_ignore_ascii_case("UTC") {
            // Every session starts with it: no database lookup.
            return Ok(SessionTimeZone::utc());
        }
        if v.len() >= 8 && v.as_bytes()[..8].eq_ignore_ascii_case(b"interval") {
            return Self::parse_interval(value);
        }
        if let Some(hours) = parse_hours(v) {
            // SQL's sign (east positive) to the seconds-west of POSIX.
            let west = (-hours * 3600.0) as i64;
            return Self::from_offset_west(west)
                .ok_or_else(|| invalid(value).with_detail("UTC timezone offset is out of range."));
        }
        if v.len() > TZ_STRLEN_MAX || v.is_empty() {
            return Err(invalid(value));
        }
        let upper = v.to_ascii_uppercase();
        if upper == "GMT" {
            return Self::posix(&upper, "GMT0").ok_or_else(|| invalid(value));
        }
        if upper.starts_with("RIGHT/") {
            return Err(ErrorInfo::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("time zone \"{value}\" appears to use leap seconds"),
            )
            .with_detail("PostgreSQL does not support leap seconds."));
        }
        if is_plausible_zone_file_name(v) {
            if let Ok(tz) = TimeZone::get(v) {
                let name = tz.iana_name().unwrap_or(v).to_owned();
                let is_utc = name == "UTC";
                return Ok(SessionTimeZone {
                    name: Arc::from(name),
                    tz,
                    is_utc,
                    fixed: None,
                });
            }
        }
        if upper.starts_with(':') {
            return Err(invalid(value));
        }
        Self::posix(&upper, &upper).ok_or_else(|| invalid(value))
    }

    /// A zone named in date/time input (`Europe/Paris`): IANA names only.
    pub(crate) fn named(name: &str) -> Option<Self> {
        if !is_plausible_zone_file_name(name) || name.len() > TZ_STRLEN_MAX {
            return None;
        }
        let tz = TimeZone::get(name).ok()?;
        Some(SessionTimeZone {
            name: Arc::from(name),
            tz,
            is_utc: false,
            fixed: None,
        })
    }

    /// `INTERVAL 'x'`: a whole number of seconds, no days or months.
    fn parse_interval(value: &str) -> Result<Self, ErrorInfo> {
        let rest = value[8..].trim_start_matches(|c: char| c.is_ascii_whitespace());
        let inner = rest
            .strip_prefix('\'')
            .and_then(|r| r.strip_suffix('\''))
            .filter(|r| !r.contains('\''))
            .ok_or_else(|| invalid(value))?;
        let mut bin = BytesMut::new();
        super::text::text_to_binary(&postgres_types::Type::INTERVAL, inner, &mut bin)?;
        let b: [u8; 16] = bin[..].try_into().map_err(|_| invalid(value))?;
        let time = i64::from_be_bytes(b[..8].try_into().unwrap_or_default());
        let days = i32::from_be_bytes(b[8..12].try_into().unwrap_or_default());
        let months = i32::from_be_bytes(b[12..].try_into().unwrap_or_default());
        if months != 0 {
            return Err(invalid(value).with_detail("Cannot specify months in time zone interval."));
        }
        if days != 0 {
            return Err(invalid(value).with_detail("Cannot specify days in time zone interval."));
        }
        Self::from_offset_west(-(time / 1_000_000))
            .ok_or_else(|| invalid(value).with_detail("UTC timezone offset is out of range."))
    }

    /// PostgreSQL's `pg_tzset_offset`: a fixed zone named like `<+05>-05`.
    fn from_offset_west(west: i64) -> Option<Self> {
        let abs = west.unsigned_abs();
        let mut digits = format!("{:02}", abs / 3600);
        let rest = abs % 3600;
        if rest != 0 {
            digits.push_str(&format!(":{:02}", rest / 60));
            if rest % 60 != 0 {
                digits.push_str(&format!(":{:02}", rest % 60));
            }
        }
        let (abbrev, name) = if west > 0 {
            (format!("-{digits}"), format!("<-{digits}>+{digits}"))
        } else {
            (format!("+{digits}"), format!("<+{digits}>-{digits}"))
        };
        // POSIX offsets stay below 168 hours (PostgreSQL's `tzparse`).
        if abs >= 168 * 3600 {
            return None;
        }
        Some(SessionTimeZone {
            name: Arc::from(name),
            tz: TimeZone::UTC,
            is_utc: false,
            fixed: Some((-(west as i32), Arc::from(abbrev))),
        })
    }

    fn posix(name: &str, spec: &str) -> Option<Self> {
        let tz = TimeZone::posix(spec).ok().or_else(|| {
            // A DST name without rules: PostgreSQL uses the US rules then
            // (its `posixrules` default).
            if spec.contains(',') {
                return None;
            }
            TimeZone::posix(&format!("{spec},M3.2.0,M11.1.0")).ok()
        })?;
        Some(SessionTimeZone {
            name: Arc::from(name),
            tz,
            is_utc: false,
            fixed: None,
        })
    }
}

/// Moves `secs` by whole 400-year cycles into jiff's range.
fn into_range(secs: i64) -> i64 {
    if secs < SAFE_MIN {
        let cycles = (SAFE_MIN - secs) / CYCLE_SECS + 1;
        secs + cycles * CYCLE_SECS
    } else if secs > SAFE_MAX {
        let cycles = (secs - SAFE_MAX) / CYCLE_SECS + 1;
        secs - cycles * CYCLE_SECS
    } else {
        secs
    }
}

/// `strtod` of the whole value: a plain decimal number of hours.
fn parse_hours(v: &str) -> Option<f64> {
    let t = v.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    let ok = !digits.is_empty()
        && digits.bytes().any(|c| c.is_ascii_digit())
        && digits
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !ok {
        return None;
    }
    t.parse::<f64>().ok().filter(|h| h.is_finite())
}

/// A name that could be a file under the zone directory (PostgreSQL
/// refuses paths that climb out of it).
fn is_plausible_zone_file_name(v: &str) -> bool {
    !v.starts_with('/')
        && !v.split('/').any(|p| p == ".." || p == "." || p.is_empty())
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'-' | b'+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_offsets_and_abbreviations() {
        let berlin = SessionTimeZone::parse("europe/berlin").unwrap();
        assert_eq!(berlin.name(), "Europe/Berlin");
        // 2024-01-01 12:00 UTC and 2024-07-01 12:00 UTC.
        let jan = 8766 * 86_400_000_000i64 + 12 * 3_600_000_000;
        let jul = jan + 182 * 86_400_000_000;
        assert_eq!(berlin.offset_at(jan), 3600);
        assert_eq!(berlin.offset_info(jul, |_, a| a.to_owned()), "CEST");
        let p = SessionTimeZone::parse("utc+3").unwrap();
        assert_eq!(p.name(), "UTC+3");
        assert_eq!(p.offset_at(jan), -3 * 3600);
        let p = SessionTimeZone::parse("<+03>-3").unwrap();
        assert_eq!(
            p.offset_info(jan, |e, a| (e, a.to_owned())),
            (10800, "+03".to_owned())
        );
        let n = SessionTimeZone::parse("5").unwrap();
        assert_eq!(n.name(), "<+05>-05");
        assert_eq!(n.offset_at(jan), 5 * 3600);
        let i = SessionTimeZone::parse("INTERVAL '-02:30'").unwrap();
        assert_eq!(i.name(), "<-02:30>+02:30");
        let e = SessionTimeZone::parse("Mars/Olympus").unwrap_err();
        assert_eq!(e.code(), SqlState::INVALID_PARAMETER_VALUE);
        assert_eq!(
            e.message(),
            "invalid value for parameter \"TimeZone\": \"Mars/Olympus\""
        );
        // Far outside jiff's years: moved by 400-year cycles.
        let far = 250_000i64 * 365 * 86_400_000_000;
        assert_eq!(berlin.offset_at(far) % 3600, 0);
    }

    #[test]
    fn local_times_in_gaps_and_folds() {
        let berlin = SessionTimeZone::parse("Europe/Berlin").unwrap();
        // 2024-03-31 02:30 does not exist: +01 (before the change).
        let day = 8856 * 86_400_000_000i64;
        assert_eq!(berlin.local_offset(day + 9 * 1_800_000_000 / 2), 3600);
        // 2024-10-27 02:30 happens twice: +01 (after the change).
        let day = 9066 * 86_400_000_000i64;
        assert_eq!(berlin.local_offset(day + 9 * 1_800_000_000 / 2), 3600);
        assert_eq!(berlin.local_offset(day + 12 * 3_600_000_000), 3600);
    }
}
