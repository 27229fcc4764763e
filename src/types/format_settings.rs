//! The session settings that change how values read and print in text:
//! `TimeZone`, `DateStyle`, `IntervalStyle`, `extra_float_digits` and
//! `bytea_output`, parsed and validated as PostgreSQL's checks do.

use std::sync::LazyLock;

use super::timezone::SessionTimeZone;
use crate::error::{ErrorInfo, SqlState};

/// How dates and timestamps print (the first part of `DateStyle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DateStyle {
    /// `2024-01-31 13:45:00+01` (the default).
    #[default]
    Iso,
    /// `01/31/2024 13:45:00 CET`.
    Sql,
    /// `Wed Jan 31 13:45:00 2024 CET`.
    Postgres,
    /// `31.01.2024 13:45:00 CET`.
    German,
}

/// The order of day, month and year in ambiguous input (and in the SQL and
/// Postgres output styles): the second part of `DateStyle`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DateOrder {
    /// Month, day, year (the default).
    #[default]
    Mdy,
    /// Day, month, year.
    Dmy,
    /// Year, month, day.
    Ymd,
}

/// How intervals print (`IntervalStyle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IntervalStyle {
    /// `1 year 2 mons 3 days 04:05:06` (the default).
    #[default]
    Postgres,
    /// `@ 1 year 2 mons 3 days 4 hours 5 mins 6 secs`.
    PostgresVerbose,
    /// `+1-2 +3 +4:05:06`.
    SqlStandard,
    /// `P1Y2M3DT4H5M6S`.
    Iso8601,
}

/// How bytea prints (`bytea_output`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ByteaOutput {
    /// `\x0102ff` (the default).
    #[default]
    Hex,
    /// `\001\002\377`, printable bytes as themselves.
    Escape,
}

/// A session's value-formatting settings. [`FormatSettings::default`] is
/// PostgreSQL's: `TimeZone` UTC (as this library's servers report it),
/// `DateStyle` `ISO, MDY`, `IntervalStyle` postgres, `extra_float_digits`
/// 1, `bytea_output` hex.
#[derive(Clone, Debug)]
pub struct FormatSettings {
    /// `TimeZone`.
    pub time_zone: SessionTimeZone,
    /// `DateStyle`, output style.
    pub date_style: DateStyle,
    /// `DateStyle`, field order.
    pub date_order: DateOrder,
    /// `IntervalStyle`.
    pub interval_style: IntervalStyle,
    /// `extra_float_digits`, -15 to 3: above 0 floats print in the fewest
    /// digits that read back exactly, otherwise rounded to 15 (float8) or
    /// 6 (float4) plus this many significant digits.
    pub extra_float_digits: i8,
    /// `bytea_output`.
    pub bytea_output: ByteaOutput,
}

impl Default for FormatSettings {
    fn default() -> Self {
        FormatSettings {
            time_zone: SessionTimeZone::utc(),
            date_style: DateStyle::Iso,
            date_order: DateOrder::Mdy,
            interval_style: IntervalStyle::Postgres,
            extra_float_digits: 1,
            bytea_output: ByteaOutput::Hex,
        }
    }
}

static DEFAULT: LazyLock<FormatSettings> = LazyLock::new(FormatSettings::default);

fn invalid(name: &str, value: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INVALID_PARAMETER_VALUE,
        format!("invalid value for parameter \"{name}\": \"{value}\""),
    )
}

impl FormatSettings {
    /// PostgreSQL's defaults, shared (no allocation per use).
    pub fn default_ref() -> &'static FormatSettings {
        &DEFAULT
    }

    /// Whether values of type `ty` print differently with these settings
    /// than with the defaults (a `timestamptz` outside UTC, a `date` in
    /// German style, a `float8` with `extra_float_digits` 0...).
    pub fn changes_text_of(&self, ty: &postgres_types::Type) -> bool {
        use postgres_types::{Kind, Type};
        match *ty {
            Type::DATE | Type::TIMESTAMP => self.date_style != DateStyle::Iso,
            Type::TIMESTAMPTZ => self.date_style != DateStyle::Iso || !self.time_zone.is_utc(),
            Type::INTERVAL => self.interval_style != IntervalStyle::Postgres,
            Type::FLOAT4 | Type::FLOAT8 => self.extra_float_digits < 1,
            Type::BYTEA => self.bytea_output != ByteaOutput::Hex,
            _ => match ty.kind() {
                Kind::Array(elem) => self.changes_text_of(elem),
                _ => false,
            },
        }
    }

    /// Whether `name` (case-insensitive) is one of the settings kept here.
    pub fn is_format_setting(name: &str) -> bool {
        Self::canonical_name(name).is_some()
    }

    /// The setting's name as PostgreSQL spells it in messages and
    /// ParameterStatus (`timezone` → `TimeZone`).
    pub fn canonical_name(name: &str) -> Option<&'static str> {
        [
            "TimeZone",
            "DateStyle",
            "IntervalStyle",
            "extra_float_digits",
            "bytea_output",
        ]
        .into_iter()
        .find(|n| n.eq_ignore_ascii_case(name))
    }

    /// Applies `SET name = value`. Returns `Ok(None)` if `name` is not one
    /// of these settings, `Ok(Some(shown))` with the value as `SHOW` prints
    /// it, or PostgreSQL's error (22023 for a bad value, settings
    /// unchanged).
    pub fn set(&mut self, name: &str, value: &str) -> Result<Option<String>, ErrorInfo> {
        let Some(name) = Self::canonical_name(name) else {
            return Ok(None);
        };
        match name {
            "TimeZone" => self.time_zone = SessionTimeZone::parse(value)?,
            "DateStyle" => (self.date_style, self.date_order) = self.parse_date_style(value)?,
            "IntervalStyle" => {
                self.interval_style = match &*value.trim().to_ascii_lowercase() {
                    "postgres" => IntervalStyle::Postgres,
                    "postgres_verbose" => IntervalStyle::PostgresVerbose,
                    "sql_standard" => IntervalStyle::SqlStandard,
                    "iso_8601" => IntervalStyle::Iso8601,
                    _ => {
                        return Err(invalid(name, value).with_hint(
                            "Available values: postgres, postgres_verbose, sql_standard, iso_8601.",
                        ));
                    }
                }
            }
            "bytea_output" => {
                self.bytea_output = match &*value.trim().to_ascii_lowercase() {
                    "hex" => ByteaOutput::Hex,
                    "escape" => ByteaOutput::Escape,
                    _ => {
                        return Err(
                            invalid(name, value).with_hint("Available values: escape, hex.")
                        );
                    }
                }
            }
            _ => self.extra_float_digits = parse_extra_float_digits(value)?,
        }
        Ok(Some(self.show(name).unwrap_or_default()))
    }

    /// The value of a setting as `SHOW` prints it.
    pub fn show(&self, name: &str) -> Option<String> {
        Some(match Self::canonical_name(name)? {
            "TimeZone" => self.time_zone.name().to_owned(),
            "DateStyle" => {
                let style = match self.date_style {
                    DateStyle::Iso => "ISO",
                    DateStyle::Sql => "SQL",
                    DateStyle::Postgres => "Postgres",
                    DateStyle::German => "German",
                };
                let order = match self.date_order {
                    DateOrder::Mdy => "MDY",
                    DateOrder::Dmy => "DMY",
                    DateOrder::Ymd => "YMD",
                };
                format!("{style}, {order}")
            }
            "IntervalStyle" => match self.interval_style {
                IntervalStyle::Postgres => "postgres",
                IntervalStyle::PostgresVerbose => "postgres_verbose",
                IntervalStyle::SqlStandard => "sql_standard",
                IntervalStyle::Iso8601 => "iso_8601",
            }
            .to_owned(),
            "bytea_output" => match self.bytea_output {
                ByteaOutput::Hex => "hex",
                ByteaOutput::Escape => "escape",
            }
            .to_owned(),
            _ => self.extra_float_digits.to_string(),
        })
    }

    /// PostgreSQL's `check_datestyle`: a comma-separated list of a style
    /// and/or an order; a part not given keeps its current value, and
    /// `German` alone also means `DMY`.
    fn parse_date_style(&self, value: &str) -> Result<(DateStyle, DateOrder), ErrorInfo> {
        let err = || invalid("DateStyle", value);
        let mut style = self.date_style;
        let mut order = self.date_order;
        let (mut have_style, mut have_order, mut ok) = (false, false, true);
        let words =
            split_identifiers(value).ok_or_else(|| err().with_detail("List syntax is invalid."))?;
        for word in &words {
            let mut set_style = |s: DateStyle| {
                if have_style && style != s {
                    ok = false;
                }
                style = s;
                have_style = true;
            };
            let w = word.as_str();
            match w {
                "iso" => set_style(DateStyle::Iso),
                "sql" => set_style(DateStyle::Sql),
                "postgres" => set_style(DateStyle::Postgres),
                "german" => {
                    set_style(DateStyle::German);
                    if !have_order {
                        order = DateOrder::Dmy;
                    }
                }
                _ => {
                    let o = if w == "ymd" {
                        DateOrder::Ymd
                    } else if w == "dmy" || w.starts_with("euro") {
                        DateOrder::Dmy
                    } else if w == "mdy" || w == "us" || w.starts_with("noneuro") {
                        DateOrder::Mdy
                    } else if w == "default" {
                        if !have_style {
                            style = DateStyle::Iso;
                        }
                        if !have_order {
                            order = DateOrder::Mdy;
                        }
                        continue;
                    } else {
                        return Err(
                            err().with_detail(format!("Unrecognized key word: \"{word}\"."))
                        );
                    };
                    if have_order && order != o {
                        ok = false;
                    }
                    order = o;
                    have_order = true;
                }
            }
        }
        if !ok {
            return Err(err().with_detail("Conflicting \"datestyle\" specifications."));
        }
        Ok((style, order))
    }
}

/// `extra_float_digits`: an integer (a fraction is rounded, as GUC
/// integers are) from -15 to 3.
fn parse_extra_float_digits(value: &str) -> Result<i8, ErrorInfo> {
    let name = "extra_float_digits";
    let t = value.trim();
    let v = match t.parse::<i64>() {
        Ok(v) => v,
        Err(_) => match t.parse::<f64>() {
            Ok(f) if f.is_finite() && !t.contains(['i', 'I', 'n', 'N']) => f.round() as i64,
            _ => return Err(invalid(name, value)),
        },
    };
    if !(-15..=3).contains(&v) {
        return Err(ErrorInfo::new(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("{v} is outside the valid range for parameter \"{name}\" (-15 .. 3)"),
        ));
    }
    Ok(v as i8)
}

/// PostgreSQL's `SplitIdentifierString` with `,`: identifiers (lowercased
/// unless double-quoted) separated by commas, white space around them.
fn split_identifiers(s: &str) -> Option<Vec<String>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let skip_ws = |i: &mut usize| {
        while b.get(*i).is_some_and(|c| c.is_ascii_whitespace()) {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if i == b.len() {
        return Some(out);
    }
    loop {
        let word = if b.get(i) == Some(&b'"') {
            let mut w = String::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return None,
                    Some(b'"') if b.get(i + 1) == Some(&b'"') => {
                        w.push('"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(_) => {
                        let ch = s[i..].chars().next()?;
                        w.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            if w.is_empty() {
                return None;
            }
            w
        } else {
            let start = i;
            while b
                .get(i)
                .is_some_and(|&c| c != b',' && c != b'"' && !c.is_ascii_whitespace())
            {
                i += 1;
            }
            if i == start {
                return None;
            }
            s[start..i].to_ascii_lowercase()
        };
        out.push(word);
        skip_ws(&mut i);
        match b.get(i) {
            None => return Some(out),
            Some(b',') => {
                i += 1;
                skip_ws(&mut i);
            }
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_style_as_postgres() {
        let mut s = FormatSettings::default();
        assert_eq!(
            s.set("datestyle", "German").unwrap().unwrap(),
            "German, DMY"
        );
        assert_eq!(s.set("DateStyle", "sql").unwrap().unwrap(), "SQL, DMY");
        assert_eq!(
            s.set("DateStyle", "mdy, postgres").unwrap().unwrap(),
            "Postgres, MDY"
        );
        assert_eq!(
            s.set("DateStyle", "euro").unwrap().unwrap(),
            "Postgres, DMY"
        );
        assert_eq!(
            s.set("DateStyle", "ymd, german").unwrap().unwrap(),
            "German, YMD"
        );
        let e = s.set("DateStyle", "iso, sql").unwrap_err();
        assert_eq!(
            e.detail(),
            Some("Conflicting \"datestyle\" specifications.")
        );
        let e = s.set("DateStyle", "iso mdy").unwrap_err();
        assert_eq!(
            e.message(),
            "invalid value for parameter \"DateStyle\": \"iso mdy\""
        );
        assert_eq!(s.show("datestyle").unwrap(), "German, YMD");
        assert!(s.set("DateStyle", "foo").is_err());
        assert_eq!(s.set("DateStyle", "default").unwrap().unwrap(), "ISO, MDY");
    }

    #[test]
    fn other_settings() {
        let mut s = FormatSettings::default();
        assert_eq!(s.show("extra_float_digits").unwrap(), "1");
        assert_eq!(s.show("DateStyle").unwrap(), "ISO, MDY");
        assert_eq!(s.set("extra_float_digits", "-3").unwrap().unwrap(), "-3");
        let e = s.set("extra_float_digits", "4").unwrap_err();
        assert_eq!(
            e.message(),
            "4 is outside the valid range for parameter \"extra_float_digits\" (-15 .. 3)"
        );
        assert_eq!(s.extra_float_digits, -3);
        assert_eq!(s.set("bytea_output", "ESCAPE").unwrap().unwrap(), "escape");
        assert!(s.set("bytea_output", "base64").is_err());
        assert_eq!(
            s.set("intervalstyle", "iso_8601").unwrap().unwrap(),
            "iso_8601"
        );
        assert_eq!(s.set("search_path", "x").unwrap(), None);
        let e = s.set("TimeZone", "Nowhere/Land").unwrap_err();
        assert_eq!(e.code(), SqlState::INVALID_PARAMETER_VALUE);
        assert_eq!(s.show("timezone").unwrap(), "UTC");
    }
}
