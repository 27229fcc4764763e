//! The session settings that change how values print and read (TimeZone,
//! DateStyle, IntervalStyle, extra_float_digits, bytea_output), checked
//! against a real PostgreSQL 15 (skipped, with a printed line, when the
//! server binaries are not installed).
//!
//! For random combinations of the five settings (set in PostgreSQL with
//! `set_config` and in a [`FormatSettings`] with [`FormatSettings::set`]:
//! same acceptance, same SQLSTATE and message, same `SHOW` value), random
//! binary values of every affected type are sent to PostgreSQL as an array
//! and printed there with `::text`; `binary_to_text_with` must print the
//! same bytes. Random text inputs of dates and timestamps (every field
//! order, two- and four-digit years, month names, BC, times in the zone's
//! DST changes) are read by PostgreSQL (its binary `_send` form, or the
//! SQLSTATE) and by `text_to_binary_with`: same value or same SQLSTATE.
//!
//! The run is seeded: `PGWIRE_SETTINGS_SEED=<n>` repeats one; a failure
//! prints its seed.

#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;

use bytes::BytesMut;
use pgwire::types::FormatSettings;
use pgwire::types::text::{binary_to_text_with, text_to_binary_with};
use postgres::Postgres;
use postgres_types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::Client;

/// Combinations of settings per run.
const COMBINATIONS: usize = 48;
/// Values per type and combination.
const VALUES: usize = 24;
/// Text inputs per type and combination.
const INPUTS: usize = 24;

/// SplitMix64: small, seedable, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi as i128 - lo as i128 + 1) as u128;
        (lo as i128 + (self.next() as u128 % span) as i128) as i64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as i64 - 1) as usize]
    }

    fn chance(&mut self, percent: i64) -> bool {
        self.range(0, 99) < percent
    }
}

const USECS_PER_DAY: i64 = 86_400_000_000;
const USECS_PER_HOUR: i64 = 3_600_000_000;
/// 4714-11-24 BC and 294276-12-31, in days since 2000-01-01.
const DATE_MIN: i64 = -2_451_545;
const TIMESTAMP_END_DAYS: i64 = 106_751_983;

/// Zones with daylight saving, half-hour and odd offsets, historical
/// changes, and the other spellings PostgreSQL accepts.
const ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "europe/berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/St_Johns",
    "Pacific/Chatham",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Moscow",
    "Africa/Casablanca",
    "America/Sao_Paulo",
    "Asia/Kathmandu",
    "Pacific/Kiritimati",
    "Pacific/Apia",
    "America/Havana",
    "Etc/GMT+3",
    "GMT",
    "UTC+3",
    "<+03>-3",
    "EST5EDT",
    "5",
    "-3.5",
    "INTERVAL '+02:00'",
    "INTERVAL '-05:30'",
];

/// Values PostgreSQL refuses for the settings (compared too).
const BAD_SETTINGS: &[(&str, &str)] = &[
    ("TimeZone", "Mars/Olympus_Mons"),
    ("TimeZone", "Europe/Berlinn"),
    ("TimeZone", "INTERVAL '1 day'"),
    ("DateStyle", "ISO, SQL"),
    ("DateStyle", "DMY, YMD"),
    ("DateStyle", "ISO MDY"),
    ("DateStyle", "Julian"),
    ("IntervalStyle", "iso"),
    ("extra_float_digits", "4"),
    ("extra_float_digits", "-16"),
    ("extra_float_digits", "two"),
    ("bytea_output", "base64"),
];

fn random_date_style(rng: &mut Rng) -> String {
    let style = *rng.pick(&["ISO", "SQL", "Postgres", "German", "iso", "sql", ""]);
    let order = *rng.pick(&["MDY", "DMY", "YMD", "euro", "us", "dmy", ""]);
    match (style.is_empty(), order.is_empty()) {
        (true, true) => "ISO, MDY".to_owned(),
        (true, false) => order.to_owned(),
        (false, true) => style.to_owned(),
        (false, false) if rng.chance(50) => format!("{order}, {style}"),
        _ => format!("{style}, {order}"),
    }
}

fn random_settings(rng: &mut Rng) -> Vec<(&'static str, String)> {
    let mut s = vec![
        ("TimeZone", (*rng.pick(ZONES)).to_owned()),
        ("DateStyle", random_date_style(rng)),
        (
            "IntervalStyle",
            (*rng.pick(&["postgres", "postgres_verbose", "sql_standard", "iso_8601"])).to_owned(),
        ),
        ("extra_float_digits", rng.range(-15, 3).to_string()),
        (
            "bytea_output",
            (*rng.pick(&["hex", "escape", "Escape"])).to_owned(),
        ),
    ];
    if rng.chance(30) {
        let (name, value) = *rng.pick(BAD_SETTINGS);
        s.push((name, value.to_owned()));
    }
    s
}

/// A parameter given as binary bytes of whatever type the statement has.
#[derive(Debug)]
struct RawParam(Vec<u8>);

impl ToSql for RawParam {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Days since 2000-01-01 of a civil date (proleptic Gregorian,
/// astronomical year).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468 - 10_957
}

/// A timestamp in microseconds since 2000-01-01: anywhere in the range,
/// around DST changes of recent and historical years, on whole seconds or
/// with fractions.
fn random_timestamp(rng: &mut Rng) -> i64 {
    let day = match rng.range(0, 9) {
        0 => rng.range(DATE_MIN, TIMESTAMP_END_DAYS - 1),
        1 => rng.range(DATE_MIN, 0),
        2 => rng.range(-800_000, 2_900_000),
        3 => rng.range(-40_000, 40_000),
        // The last Sundays of March and October, the first Sunday of
        // November, the second of March: DST changes, 1900-2100.
        _ => {
            let y = rng.range(1900, 2100);
            let (m, from) = *rng.pick(&[(3, 25), (10, 25), (11, 1), (3, 8), (4, 1), (9, 24)]);
            days_from_civil(y, m, from) + rng.range(0, 6)
        }
    };
    let within = match rng.range(0, 3) {
        0 => rng.range(0, USECS_PER_DAY - 1),
        1 => rng.range(0, 23) * USECS_PER_HOUR + rng.range(0, 3) * 15 * 60_000_000,
        2 => rng.range(0, 86_399) * 1_000_000,
        _ => rng.range(0, 86_399) * 1_000_000 + rng.range(1, 999_999),
    };
    day * USECS_PER_DAY + within
}

fn random_binary(rng: &mut Rng, ty: &Type) -> Vec<u8> {
    let ts_special = rng.chance(4);
    match *ty {
        Type::TIMESTAMPTZ | Type::TIMESTAMP => {
            if ts_special {
                (*rng.pick(&[i64::MAX, i64::MIN])).to_be_bytes().to_vec()
            } else {
                random_timestamp(rng).to_be_bytes().to_vec()
            }
        }
        Type::DATE => {
            let d = if ts_special {
                *rng.pick(&[i32::MAX, i32::MIN])
            } else {
                random_timestamp(rng).div_euclid(USECS_PER_DAY) as i32
            };
            d.to_be_bytes().to_vec()
        }
        Type::TIME => rng.range(0, USECS_PER_DAY).to_be_bytes().to_vec(),
        Type::TIMETZ => {
            let mut b = rng.range(0, USECS_PER_DAY).to_be_bytes().to_vec();
            let west = if rng.chance(50) {
                rng.range(-15, 15) * 3600
            } else {
                rng.range(-57_599, 57_599)
            };
            b.extend_from_slice(&(west as i32).to_be_bytes());
            b
        }
        Type::INTERVAL => {
            let sign = |rng: &mut Rng| if rng.chance(50) { -1 } else { 1 };
            let time = match rng.range(0, 3) {
                0 => 0,
                1 => sign(rng) * rng.range(0, 100) * USECS_PER_HOUR,
                2 => sign(rng) * rng.range(0, i64::MAX / 2),
                _ => sign(rng) * rng.range(0, 10 * USECS_PER_DAY),
            };
            let days = if rng.chance(40) {
                0
            } else {
                {
                    let hi = if rng.chance(80) { 400 } else { i32::MAX as i64 };
                    sign(rng) * rng.range(0, hi)
                }
            };
            let months = if rng.chance(40) {
                0
            } else {
                {
                    let hi = if rng.chance(80) { 30 } else { i32::MAX as i64 };
                    sign(rng) * rng.range(0, hi)
                }
            };
            let mut b = time.to_be_bytes().to_vec();
            b.extend_from_slice(&(days as i32).to_be_bytes());
            b.extend_from_slice(&(months as i32).to_be_bytes());
            b
        }
        Type::FLOAT8 => {
            let v = match rng.range(0, 5) {
                0 => f64::from_bits(rng.next()),
                1 => rng.range(-1_000_000, 1_000_000) as f64 / 1000.0,
                // Near the limits of 15 and 17 significant digits.
                2 => {
                    let base = 10f64.powi(rng.range(-20, 22) as i32);
                    f64::from_bits((base.to_bits() as i64 + rng.range(-3, 3)) as u64)
                }
                3 => {
                    (rng.range(1, 999_999_999_999_999_999) as f64)
                        * 10f64.powi(rng.range(-30, 5) as i32)
                }
                4 => *rng.pick(&[
                    0.1,
                    0.5,
                    1.0 / 3.0,
                    2.5e-5,
                    1e15,
                    1e16,
                    123456789012345680.0,
                    5e-324,
                    f64::MAX,
                    -0.0,
                ]),
                _ => *rng.pick(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0]),
            };
            if v.is_nan() && rng.chance(90) {
                1.25f64.to_be_bytes().to_vec()
            } else {
                v.to_be_bytes().to_vec()
            }
        }
        Type::FLOAT4 => {
            let v = match rng.range(0, 3) {
                0 => f32::from_bits(rng.next() as u32),
                1 => rng.range(-1_000_000, 1_000_000) as f32 / 1000.0,
                2 => {
                    let base = 10f32.powi(rng.range(-20, 20) as i32);
                    f32::from_bits((base.to_bits() as i64 + rng.range(-3, 3)) as u32)
                }
                _ => *rng.pick(&[
                    0.1f32,
                    1.0 / 3.0,
                    1e6,
                    16777217.0,
                    f32::MAX,
                    f32::MIN_POSITIVE,
                    -0.0,
                ]),
            };
            if v.is_nan() && rng.chance(90) {
                0.75f32.to_be_bytes().to_vec()
            } else {
                v.to_be_bytes().to_vec()
            }
        }
        Type::BYTEA => {
            if rng.chance(10) {
                (0..=255u8).collect()
            } else {
                let n = rng.range(0, 40) as usize;
                (0..n).map(|_| rng.next() as u8).collect()
            }
        }
        _ => unreachable!("no generator for {ty}"),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// An interval input in the postgres, SQL standard or ISO 8601 form, with
/// mixed signs, `ago` and a leading minus (which IntervalStyle
/// `sql_standard` applies to every field).
fn random_interval_input(rng: &mut Rng) -> String {
    let n = |rng: &mut Rng, hi: i64| rng.range(0, hi);
    let sign = |rng: &mut Rng| *rng.pick(&["", "", "-", "+"]);
    match rng.range(0, 6) {
        0 => format!(
            "{}{} {}:{:02}:{:02}",
            sign(rng),
            n(rng, 40),
            n(rng, 30),
            n(rng, 59),
            n(rng, 59)
        ),
        1 => format!("{}{}-{}", sign(rng), n(rng, 20), n(rng, 11)),
        2 => format!(
            "{}{}-{} {} {}:{:02}:{:02}.{}",
            sign(rng),
            n(rng, 20),
            n(rng, 11),
            n(rng, 40),
            n(rng, 30),
            n(rng, 59),
            n(rng, 59),
            n(rng, 999_999)
        ),
        3 => format!(
            "{}{} year {}{} mons {}{} days {}{:02}:{:02}:{:02}{}",
            sign(rng),
            n(rng, 20),
            sign(rng),
            n(rng, 11),
            sign(rng),
            n(rng, 40),
            sign(rng),
            n(rng, 30),
            n(rng, 59),
            n(rng, 59),
            *rng.pick(&["", "", " ago"])
        ),
        4 => format!(
            "@ {} days {} hours {}{}",
            n(rng, 40),
            n(rng, 30),
            n(rng, 59),
            *rng.pick(&[" secs", " mins ago", " secs ago"])
        ),
        5 => format!("-{} {}:{:02} ago", n(rng, 9), n(rng, 23), n(rng, 59)),
        _ => format!(
            "P{}Y{}M{}DT{}H{}M{}S",
            n(rng, 9),
            n(rng, 11),
            n(rng, 30),
            n(rng, 23),
            n(rng, 59),
            n(rng, 59)
        ),
    }
}

/// A date/time input as people type them: every field order, two- and
/// four-digit years, month names, BC, times, offsets for a timestamptz.
fn random_input(rng: &mut Rng, ty: &Type) -> String {
    if *ty == Type::INTERVAL {
        return random_interval_input(rng);
    }
    let t = random_timestamp(rng);
    let days = t.div_euclid(USECS_PER_DAY);
    let (y, m, d) = civil(days);
    let y = if rng.chance(85) { y.clamp(1, 9999) } else { y };
    let (bc, yshown) = if y <= 0 { (true, 1 - y) } else { (false, y) };
    let yy = if rng.chance(20) && !bc {
        format!("{:02}", yshown % 100)
    } else {
        format!("{yshown:04}")
    };
    let (a, b, c) = (
        format!("{m:02}"),
        format!("{d:02}"),
        if rng.chance(30) {
            format!("{}", d)
        } else {
            format!("{d:02}")
        },
    );
    let mon = MONTHS[(m - 1) as usize];
    let mut s = match rng.range(0, 10) {
        0 => format!("{yy}-{a}-{b}"),
        1 => format!("{a}/{b}/{yy}"),
        2 => format!("{b}/{a}/{yy}"),
        3 => format!("{c}.{a}.{yy}"),
        4 => format!("{yy}/{a}/{c}"),
        5 => format!("{mon} {c} {yy}"),
        6 => format!("{c} {mon} {yy}"),
        7 => format!("{yy}-{mon}-{b}"),
        8 => format!("{c}-{mon}-{yy}"),
        9 => format!("{a} {b} {yy}"),
        _ => format!("{yy}{a}{b}"),
    };
    if bc {
        s.push_str(" BC");
    }
    if *ty != Type::DATE && rng.chance(80) {
        let within = t.rem_euclid(USECS_PER_DAY);
        let secs = within / 1_000_000;
        s.push_str(&format!(
            " {:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        ));
        if within % 1_000_000 != 0 {
            s.push_str(&format!(".{:06}", within % 1_000_000));
        }
        if *ty == Type::TIMESTAMPTZ && rng.chance(25) {
            let zones = [
                "+02",
                "-05:30",
                " UTC",
                "Z",
                " CET",
                " PST",
                "+14",
                " Europe/Paris",
                " America/New_York",
                " Australia/Lord_Howe",
                " Nowhere/Atlantis",
            ];
            let zone = zones[rng.range(0, zones.len() as i64 - 1) as usize];
            s.push_str(zone);
        }
    }
    if rng.chance(5) {
        s = (*rng.pick(&[
            "2024-13-01",
            "31/31/2024",
            "2024-02-30",
            "foo",
            "1/2",
            "0000-01-01",
            "24-01-02-03",
        ]))
        .to_owned();
    }
    s
}

/// The civil date of days since 2000-01-01 (astronomical year).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 10_957 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn pg_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {}", db.code().code(), db.message()),
        None => format!("?? {e}"),
    }
}

/// Applies one setting on both sides; both must agree on acceptance and
/// on the value `SHOW` prints.
async fn apply_setting(
    client: &Client,
    ours: &mut FormatSettings,
    name: &str,
    value: &str,
) -> Result<(), String> {
    let theirs = client
        .query_one("SELECT set_config($1, $2, false)", &[&name, &value])
        .await
        .map(|r| r.get::<_, String>(0))
        .map_err(|e| pg_error(&e));
    let mine = ours
        .set(name, value)
        .map(|v| v.unwrap_or_default())
        .map_err(|e| format!("{} {}", e.code().code(), e.message()));
    if theirs != mine {
        return Err(format!(
            "SET {name} = {value:?}: PostgreSQL {theirs:?}, pgwire {mine:?}"
        ));
    }
    Ok(())
}

/// `binary_to_text_with` against PostgreSQL's `::text` of the same values.
async fn compare_output(
    client: &Client,
    ours: &FormatSettings,
    ty: &Type,
    array: &Type,
    values: Vec<Vec<u8>>,
) -> Result<usize, String> {
    let sql = format!(
        "SELECT x::text FROM unnest($1::{}[]) WITH ORDINALITY AS t(x, i) ORDER BY i",
        ty.name()
    );
    let stmt = client
        .prepare_typed(&sql, std::slice::from_ref(array))
        .await
        .map_err(|e| pg_error(&e))?;
    let params: Vec<RawParam> = values.iter().cloned().map(RawParam).collect();
    let rows = client
        .query(&stmt, &[&params])
        .await
        .map_err(|e| format!("{ty} values {values:?}: {}", pg_error(&e)))?;
    for (row, bin) in rows.iter().zip(&values) {
        let theirs: String = row.get(0);
        let mut out = BytesMut::new();
        let mine = binary_to_text_with(ty, bin, ours, &mut out)
            .map(|()| String::from_utf8_lossy(&out).into_owned())
            .map_err(|e| e.message().to_owned());
        if mine.as_deref() != Ok(theirs.as_str()) {
            return Err(format!(
                "{ty} {bin:?}: PostgreSQL prints {theirs:?}, pgwire {mine:?}"
            ));
        }
    }
    Ok(rows.len())
}

/// An array of `values` printed by PostgreSQL (`$1::ty[]::text`) and by
/// `binary_to_text_with` (elements quoted when their text has spaces,
/// commas, backslashes...).
async fn compare_array_output(
    client: &Client,
    ours: &FormatSettings,
    ty: &Type,
    array: &Type,
    values: Vec<Vec<u8>>,
) -> Result<usize, String> {
    let sql = format!("SELECT $1::{}[]::text", ty.name());
    let stmt = client
        .prepare_typed(&sql, std::slice::from_ref(array))
        .await
        .map_err(|e| pg_error(&e))?;
    let params: Vec<RawParam> = values.into_iter().map(RawParam).collect();
    let row = client
        .query_one(&stmt, &[&params])
        .await
        .map_err(|e| format!("{array}: {}", pg_error(&e)))?;
    let theirs: String = row.get(0);
    let mut bin = BytesMut::new();
    params
        .to_sql(array, &mut bin)
        .map_err(|e| format!("encode {array}: {e}"))?;
    let mut out = BytesMut::new();
    let mine = binary_to_text_with(array, &bin, ours, &mut out)
        .map(|()| String::from_utf8_lossy(&out).into_owned())
        .map_err(|e| e.message().to_owned());
    if mine.as_deref() != Ok(theirs.as_str()) {
        return Err(format!(
            "{array}: PostgreSQL prints {theirs:?}, pgwire {mine:?}"
        ));
    }
    Ok(1)
}

/// `text_to_binary_with` against PostgreSQL's input function (its `_send`
/// bytes, or the SQLSTATE).
async fn compare_input(
    client: &Client,
    ours: &FormatSettings,
    ty: &Type,
    inputs: Vec<String>,
) -> Result<usize, String> {
    let rows = client
        .query(
            "SELECT try_in(x, $2) FROM unnest($1::text[]) WITH ORDINALITY AS t(x, i) ORDER BY i",
            &[&inputs, &ty.name()],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    for (row, text) in rows.iter().zip(&inputs) {
        let theirs: String = row.get(0);
        let mut out = BytesMut::new();
        let mine = match text_to_binary_with(ty, text, ours, &mut out) {
            Ok(()) => out.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            Err(e) => format!("E{}", e.code().code()),
        };
        if mine != theirs {
            return Err(format!(
                "{ty} input {text:?}: PostgreSQL reads {theirs}, pgwire {mine}"
            ));
        }
    }
    Ok(rows.len())
}

const TRY_IN: &str = "
CREATE FUNCTION try_in(t text, ty text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r bytea;
BEGIN
  EXECUTE format('SELECT %s_send(%L::%s)', CASE ty WHEN 'timestamptz' THEN 'timestamptz'
      WHEN 'timestamp' THEN 'timestamp' WHEN 'interval' THEN 'interval' ELSE 'date' END,
      t, ty) INTO r;
  RETURN encode(r, 'hex');
EXCEPTION WHEN others THEN
  RETURN 'E' || SQLSTATE;
END $$;
";

#[tokio::test]
async fn settings_match_postgres_15() {
    let pg = match Postgres::start("settings", Postgres::PGWIRE_DEFAULTS) {
        Ok(pg) => pg,
        Err(why) => {
            println!("SKIPPED settings_match_postgres_15: {why}");
            return;
        }
    };
    let client = pg.connect().await;
    client.batch_execute(TRY_IN).await.expect("create try_in");
    let seed = std::env::var("PGWIRE_SETTINGS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let mut rng = Rng(seed);
    let output_types = [
        (Type::TIMESTAMPTZ, Type::TIMESTAMPTZ_ARRAY),
        (Type::TIMESTAMP, Type::TIMESTAMP_ARRAY),
        (Type::DATE, Type::DATE_ARRAY),
        (Type::TIME, Type::TIME_ARRAY),
        (Type::TIMETZ, Type::TIMETZ_ARRAY),
        (Type::INTERVAL, Type::INTERVAL_ARRAY),
        (Type::FLOAT4, Type::FLOAT4_ARRAY),
        (Type::FLOAT8, Type::FLOAT8_ARRAY),
        (Type::BYTEA, Type::BYTEA_ARRAY),
    ];
    let input_types = [
        Type::DATE,
        Type::TIMESTAMP,
        Type::TIMESTAMPTZ,
        Type::INTERVAL,
    ];
    let mut ours = FormatSettings::default();
    let mut cases = 0;
    for round in 0..COMBINATIONS {
        // The first round checks the defaults of both sides.
        let settings = if round == 0 {
            Vec::new()
        } else {
            random_settings(&mut rng)
        };
        let mut failures = Vec::new();
        for (name, value) in &settings {
            if let Err(e) = apply_setting(&client, &mut ours, name, value).await {
                failures.push(e);
            }
            cases += 1;
        }
        for (ty, array) in &output_types {
            let values = (0..VALUES).map(|_| random_binary(&mut rng, ty)).collect();
            match compare_output(&client, &ours, ty, array, values).await {
                Ok(n) => cases += n,
                Err(e) => failures.push(e),
            }
        }
        for (ty, array) in &output_types {
            let values = (0..4).map(|_| random_binary(&mut rng, ty)).collect();
            match compare_array_output(&client, &ours, ty, array, values).await {
                Ok(n) => cases += n,
                Err(e) => failures.push(e),
            }
        }
        for ty in &input_types {
            let inputs = (0..INPUTS).map(|_| random_input(&mut rng, ty)).collect();
            match compare_input(&client, &ours, ty, inputs).await {
                Ok(n) => cases += n,
                Err(e) => failures.push(e),
            }
        }
        assert!(
            failures.is_empty(),
            "seed {seed} (PGWIRE_SETTINGS_SEED={seed} repeats it), settings {settings:?}:\n{}",
            failures.join("\n")
        );
    }
    println!("{cases} cases agree with PostgreSQL 15 (seed {seed})");
    assert!(cases > 10_000, "only {cases} cases");
}
