//! The text <-> binary conversions of `pgwire::types::text` checked against
//! a real PostgreSQL 15 started for this test binary (skipped, with a
//! printed line, when the server binaries are not installed).
//!
//! For a table of literals per type, PostgreSQL gives the text form
//! (simple query, text results) and the binary form (extended query,
//! binary results) of `'literal'::type`; then
//! `binary_to_text(pg_binary) == pg_text`,
//! `text_to_binary(pg_text) == pg_binary` and
//! `text_to_binary(literal) == pg_binary` must all hold. Literals that
//! PostgreSQL refuses must be refused with the same SQLSTATE. Random binary
//! values are also sent as parameters to check the output of values no
//! literal list would think of.

#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;

use bytes::BytesMut;
use pgwire::types::text::{binary_to_text, text_to_binary};
use postgres::Postgres;
use postgres_types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, SimpleQueryMessage};

/// Any value's bytes, as PostgreSQL sent them.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
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

fn ours_to_text(ty: &Type, bin: &[u8]) -> Result<String, String> {
    let mut out = BytesMut::new();
    binary_to_text(ty, bin, &mut out).map_err(|e| format!("{} {}", e.code(), e.message()))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn ours_to_binary(ty: &Type, text: &str) -> Result<Vec<u8>, String> {
    let mut out = BytesMut::new();
    text_to_binary(ty, text, &mut out).map_err(|e| format!("{} {}", e.code(), e.message()))?;
    Ok(out.to_vec())
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Literals PostgreSQL accepts, per type (`cast` is the SQL type name).
fn valid_cases() -> Vec<(&'static str, Type, Vec<&'static str>)> {
    vec![
        (
            "bool",
            Type::BOOL,
            vec!["t", "f", "yes", " off ", "1", "TRUE"],
        ),
        ("int2", Type::INT2, vec!["0", "-32768", "32767", " +42 "]),
        (
            "int4",
            Type::INT4,
            vec!["0", "-2147483648", "2147483647", "007"],
        ),
        (
            "int8",
            Type::INT8,
            vec!["0", "-9223372036854775808", "9223372036854775807", "-1"],
        ),
        (
            "float8",
            Type::FLOAT8,
            vec![
                "0",
                "-0",
                "1.5",
                "0.1",
                "1e15",
                "1e16",
                "1e-5",
                "123.456",
                "NaN",
                "Infinity",
                "-inf",
                "1.7976931348623157e308",
                "5e-324",
                "3.141592653589793",
            ],
        ),
        (
            "float4",
            Type::FLOAT4,
            vec![
                "0",
                "1.1",
                "1e6",
                "100000",
                "3.4028235e38",
                "1e-45",
                "-2.5",
                "NaN",
            ],
        ),
        (
            "numeric",
            Type::NUMERIC,
            vec![
                "0",
                "1.50",
                "  -1.5e3 ",
                "NaN",
                "Infinity",
                "-Infinity",
                "inf",
                "0.000",
                "-0.0",
                ".5",
                "5.",
                "1e-3",
                "123e-2",
                "9999.9999e4",
                "12345678901234567890.123456789",
                "-0.00000000000000000001",
                "10000",
                "99999999",
                "100000000.0001",
                "1e100",
                "-1.23456789e-20",
                "00001.2300",
                "+7",
                "1E+3",
                "0e200000",
                "3.14159265358979323846264338327950288",
            ],
        ),
        (
            "date",
            Type::DATE,
            vec![
                "2024-01-31",
                "infinity",
                "-infinity",
                "0044-03-15 BC",
                "4714-11-24 BC",
                "5874897-12-31",
                "1/2/2024",
                "Jan 31 2024",
                "31 Jan 2024",
                "20240131",
                "2024-01-31 13:45",
                "January 8, 1999",
                "1/8/99",
                "2024.01.31",
                "epoch",
                "1999-Jan-08",
                "08-Jan-1999",
                "Jan-08-1999",
                "990108",
                "J2451187",
                "Jan 8 44 BC",
                "2024-01-31T13:45",
                " 2024-1-3 ",
                "5/6/7",
                "0044-03-15 AD",
                "2000-02-29",
                "1900-02-28",
                "99999-01-01",
                "Wed Jan 31 2024",
            ],
        ),
        (
            "time",
            Type::TIME,
            vec![
                "13:45",
                "13:45:00.5",
                "24:00",
                "23:59:60",
                "1:2:3.1234565",
                "1:2:3.1234575",
                "allballs",
                "2024-01-31 13:45",
                "1:00 pm",
                "12:00 am",
                "13:45:00+02",
                "13:45.5",
                "00:00:00.000001",
                "23:59:59.999999",
                "T13:45:00",
            ],
        ),
        (
            "timetz",
            Type::TIMETZ,
            vec![
                "13:45+02",
                "13:45:00.5-05:30",
                "13:45",
                "13:45 +15:59:59",
                "13:45-0530",
                "13:45Z",
                "13:45 EST",
                "00:00:00+00",
                "24:00:00-01",
                "13:45 UTC",
            ],
        ),
        (
            "timestamp",
            Type::TIMESTAMP,
            vec![
                "2024-01-31 13:45:00.123456",
                "2024-01-31 13:45:00+02",
                "0044-03-15 12:00 BC",
                "infinity",
                "-infinity",
                "2024-01-31 24:00",
                "2024-01-31",
                "epoch",
                "294276-12-31 23:59:59.999999",
                "4714-11-24 00:00 BC",
                "2024-01-31 1:45 pm",
                "Wed Jan 31 13:45:00 2024",
                "2024-01-31T13:45:00",
                "2000-01-01 00:00:00.0000005",
                "1999-12-31 23:59:59.9999995",
                "2024-12-31 23:59:60",
                "1970-01-01 00:00:01",
            ],
        ),
        (
            "timestamptz",
            Type::TIMESTAMPTZ,
            vec![
                "2024-01-31T13:45:00Z",
                "2024-01-31 13:45:00+02",
                "2024-01-31 13:45:00-05:30",
                "2024-01-31 13:45:00 EST",
                "0044-03-15 12:00 BC",
                "infinity",
                "2024-01-31 13:45:00.5+0230",
                "2024-01-31 13:45:00 +02:30:15",
                "epoch",
                "2024-01-31 13:45:00 UTC",
                "Wed Jan 31 13:45:00 2024 PST",
                "2024-01-31 13:45 cst",
                "2024-01-31 13:45 cet",
                "2024-01-31 13:45 jst",
                "2024-01-31 13:45 aest",
                "2024-01-31 13:45 ist",
                "2024-01-31 13:45 msk",
                "2024-01-31 13:45 bst",
                "2024-01-31 13:45 Etc/UTC",
                "2024-01-31",
                "2000-01-01 00:30+01",
            ],
        ),
        (
            "interval",
            Type::INTERVAL,
            vec![
                "1 year 2 mons 3 days 04:05:06.5",
                "-1 second",
                "0",
                "1 day",
                "2 hours 30 minutes",
                "P1Y2M3DT4H5M6S",
                "10:00:00",
                "-1 year 2 mons",
                "1 year -2 mons",
                "-1 day +2 hours",
                "1 day -2 hours",
                "1.5 days",
                "1.5 months",
                "1.5 years",
                "10",
                "1 week",
                "@ 1 day ago",
                "1 day 2 hours ago",
                "100 hours",
                "-1 days -00:00:01",
                "PT1.5S",
                "P0001-02-03T04:05:06",
                "1-2",
                "3 4:05:06",
                "12 mons",
                "1 millisecond",
                "1.5",
                "10:00",
                "1:02.5",
                "-10:00",
                "1 decade",
                "1 century",
                "2 millennia",
                "1y 2mon 3d 4h 5m 6s",
                "0.375 years",
                "0.3 mons",
                "1.5 us",
                "1.5 ms",
                "P-1Y",
                "P1.5D",
                "PT36H",
                "P1W",
                "2147483647 months",
                "-2147483648 days",
                "2562047788 hours",
                "1 day -1.5 hours",
                "00:00:00.0000015",
                "-1.5 days",
                "2 weeks 1.5 days",
                "1 year 2 hours 1 minute -3 seconds",
            ],
        ),
        (
            "inet",
            Type::INET,
            vec![
                "::1",
                "::ffff:1.2.3.4",
                "::1.2.3.4",
                "::1:2",
                "::ffff:0:0",
                "10.0.0.1/8",
                "1:0:0:1:0:0:0:1",
                "1:0:1:0:1:0:1:0",
                "1:0:0:1:0:0:1:1",
                "::",
                "FE80::1",
                "1.2.3.4/32",
                "1.2.3.04",
                "10/8",
                "1::",
                "1:2:3:4:5:6:1.2.3.4",
                "192.168.0.1/24",
                "2001:db8::1/64",
            ],
        ),
        (
            "cidr",
            Type::CIDR,
            vec![
                "10/8",
                "192.168.1",
                "128",
                "224",
                "240",
                "10.0.0.0",
                "::/0",
                "2001:db8::/32",
                "0.0.0.0/0",
                "128.1.2",
            ],
        ),
        (
            "uuid",
            Type::UUID,
            vec![
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                "{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}",
                "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            ],
        ),
        (
            "bytea",
            Type::BYTEA,
            vec!["\\x", "\\x01ff", "abc", "a\\\\b\\001"],
        ),
        (
            "text",
            Type::TEXT,
            vec!["", "hello", "with 'quote'", "ünïcödé"],
        ),
        ("varchar", Type::VARCHAR, vec!["", "x y"]),
        ("bpchar", Type::BPCHAR, vec!["ab  ", "x"]),
        (
            "name",
            Type::NAME,
            vec![
                "pg_class",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ],
        ),
        (
            "\"char\"",
            Type::CHAR,
            vec!["a", "", "ab", "\\101", "\\377"],
        ),
        ("oid", Type::OID, vec!["0", "4294967295", "1"]),
        ("json", Type::JSON, vec!["{\"a\": [1, 2]}", "  3 "]),
        ("jsonb", Type::JSONB, vec!["{\"a\": [1, 2]}", "3", "null"]),
        (
            "int4[]",
            Type::INT4_ARRAY,
            vec![
                "{}",
                " { 1 , 2 } ",
                "{1,2,NULL}",
                "[0:2]={1,2,3}",
                "[1:3]={1,2,3}",
                "{{1,2},{3,4}}",
                "[0:1][1:2]={{1,2},{3,4}}",
                "{{{1},{2}},{{3},{4}}}",
                "{NULL}",
                "[-5:-4]={7,8}",
            ],
        ),
        (
            "text[]",
            Type::TEXT_ARRAY,
            vec![
                r#"{a b,"c",NULL,"NULL","",nULl}"#,
                r#"{"a b","with \"quote\"",NULL,"NULL"}"#,
                r#"{ a\ , \"x }"#,
                r#"{"{}",",","\\"}"#,
                "{\"tab\there\",\"line\nbreak\"}",
                "{ünï,cödé}",
                "{{a,b},{c,d}}",
            ],
        ),
        ("int8[]", Type::INT8_ARRAY, vec!["{9223372036854775807,-1}"]),
        ("int2[]", Type::INT2_ARRAY, vec!["{1,-1}"]),
        ("bool[]", Type::BOOL_ARRAY, vec!["{t,f,NULL,yes}"]),
        (
            "float8[]",
            Type::FLOAT8_ARRAY,
            vec!["{1.5,NaN,-Infinity,1e300}"],
        ),
        ("float4[]", Type::FLOAT4_ARRAY, vec!["{1.5,0.1}"]),
        (
            "numeric[]",
            Type::NUMERIC_ARRAY,
            vec!["{1.50,NaN,-1e-5,NULL}", "{{1,2.0},{3.00,4}}"],
        ),
        (
            "date[]",
            Type::DATE_ARRAY,
            vec!["{2024-01-31,infinity,\"0044-03-15 BC\"}"],
        ),
        ("time[]", Type::TIME_ARRAY, vec!["{13:45,00:00:00.5}"]),
        ("timetz[]", Type::TIMETZ_ARRAY, vec!["{13:45+02}"]),
        (
            "timestamp[]",
            Type::TIMESTAMP_ARRAY,
            vec!["{\"2024-01-31 13:45\",infinity}"],
        ),
        (
            "timestamptz[]",
            Type::TIMESTAMPTZ_ARRAY,
            vec!["{\"2024-01-31 13:45+02\",NULL,-infinity}"],
        ),
        (
            "interval[]",
            Type::INTERVAL_ARRAY,
            vec!["{\"1 day\",\"-00:00:01\",\"1 year 2 mons\"}"],
        ),
        ("inet[]", Type::INET_ARRAY, vec!["{::1,10.0.0.1/8}"]),
        ("cidr[]", Type::CIDR_ARRAY, vec!["{10/8}"]),
        (
            "uuid[]",
            Type::UUID_ARRAY,
            vec!["{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"],
        ),
        ("bytea[]", Type::BYTEA_ARRAY, vec![r#"{"\\x01ff",NULL}"#]),
        ("jsonb[]", Type::JSONB_ARRAY, vec![r#"{"{\"a\": 1}",null}"#]),
        ("json[]", Type::JSON_ARRAY, vec![r#"{"[1, 2]"}"#]),
        ("varchar[]", Type::VARCHAR_ARRAY, vec!["{a,\"b c\"}"]),
        ("bpchar[]", Type::BPCHAR_ARRAY, vec!["{\"a \",b}"]),
        ("name[]", Type::NAME_ARRAY, vec!["{pg_class,x}"]),
        ("\"char\"[]", Type::CHAR_ARRAY, vec!["{a,b}"]),
        ("oid[]", Type::OID_ARRAY, vec!["{1,2}"]),
    ]
}

/// Literals PostgreSQL refuses, per type.
fn invalid_cases() -> Vec<(&'static str, Type, Vec<&'static str>)> {
    vec![
        (
            "int4",
            Type::INT4,
            vec!["1_000", "4x", "", "2147483648", "0x10"],
        ),
        ("int2", Type::INT2, vec!["40000"]),
        ("float8", Type::FLOAT8, vec!["1e400", "abc", ""]),
        (
            "numeric",
            Type::NUMERIC,
            vec![
                "",
                ".",
                "1e",
                "1e+",
                "1.2.3",
                "- 1",
                "nanx",
                "1e131072",
                "1e-16384",
                "0e-16384",
                "0e1073741823",
                "1 2",
            ],
        ),
        (
            "date",
            Type::DATE,
            vec![
                "foo",
                "2024-02-30",
                "0000-01-01",
                "99-01-08",
                "2024-13-01",
                "4714-11-23 BC",
                "5874898-01-01",
                "2024-01",
                "",
            ],
        ),
        (
            "time",
            Type::TIME,
            vec![
                "24:00:01", "25:00", "13:60", "13:00 pm", "13", ".5", "epoch", "foo",
            ],
        ),
        (
            "timetz",
            Type::TIMETZ,
            vec!["13:45 +16", "13:45 Foo/Bar", "foo"],
        ),
        (
            "timestamp",
            Type::TIMESTAMP,
            vec![
                "foo",
                "2024-01-31 13",
                "2024-01-31 23:59:60.5",
                "294277-01-01",
                "4714-11-23 23:59 BC",
            ],
        ),
        (
            "timestamptz",
            Type::TIMESTAMPTZ,
            vec!["2024-01-31 13:45 +16", "2024-01-31 13:45 XYZ"],
        ),
        (
            "interval",
            Type::INTERVAL,
            vec![
                "foo",
                "1 year 1 year",
                "",
                "2147483648 days",
                "2562047789 hours",
                "178956971 years",
                "P1X",
            ],
        ),
        (
            "inet",
            Type::INET,
            vec!["10", " 1.2.3.4 ", "1.2.3.4/33", "foo", "1.2.3.4 /24"],
        ),
        ("cidr", Type::CIDR, vec!["10.0.0.1/8", "10.1/8"]),
        (
            "uuid",
            Type::UUID,
            vec!["a0eebc99", "x0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
        ),
        ("bytea", Type::BYTEA, vec!["\\x0", "\\xzz", "a\\b"]),
        (
            "int4[]",
            Type::INT4_ARRAY,
            vec![
                "{1,2",
                "{{},{}}",
                "{{1,2},{3}}",
                "{1,{2}}",
                "{1}x",
                "1,2",
                "[1:2]={1}",
                "{1,x}",
                "{{{{{{{1}}}}}}}",
                "",
            ],
        ),
    ]
}

/// Runs `SELECT lit::cast` for every literal at once, in text and in
/// binary; returns (literal, text, binary) per row.
async fn fetch(
    client: &Client,
    cast: &str,
    lits: &[&'static str],
) -> Vec<(&'static str, Option<String>, Option<Vec<u8>>)> {
    let values: Vec<String> = lits
        .iter()
        .enumerate()
        .map(|(i, l)| format!("({}, {i})", quote(l)))
        .collect();
    let sql = format!(
        "SELECT v::{cast} FROM (VALUES {}) AS t(v, i) ORDER BY i",
        values.join(", ")
    );
    let texts: Vec<Option<String>> = client
        .simple_query(&sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_owned)),
            _ => None,
        })
        .collect();
    let bins: Vec<Option<Vec<u8>>> = client
        .query(&sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.get::<_, Option<Raw>>(0).map(|r| r.0))
        .collect();
    assert_eq!(texts.len(), lits.len());
    assert_eq!(bins.len(), lits.len());
    lits.iter()
        .copied()
        .zip(texts)
        .zip(bins)
        .map(|((l, t), b)| (l, t, b))
        .collect()
}

/// Compares one value both ways; pushes a line per mismatch.
fn compare(
    bad: &mut Vec<String>,
    ty: &Type,
    what: &str,
    literal: Option<&str>,
    text: &str,
    bin: &[u8],
) {
    match ours_to_text(ty, bin) {
        Ok(t) if t == text => {}
        other => bad.push(format!(
            "{ty} {what}: binary_to_text({bin:?}) = {other:?}, PostgreSQL says {text:?}"
        )),
    }
    match ours_to_binary(ty, text) {
        Ok(b) if b == bin => {}
        other => bad.push(format!(
            "{ty} {what}: text_to_binary({text:?}) = {other:?}, PostgreSQL sends {bin:?}"
        )),
    }
    // jsonb input is not normalized (key order, spacing) as PostgreSQL
    // does; its canonical text is checked above.
    if let Some(lit) = literal.filter(|_| *ty != Type::JSONB && *ty != Type::JSONB_ARRAY) {
        match ours_to_binary(ty, lit) {
            Ok(b) if b == bin => {}
            other => bad.push(format!(
                "{ty} literal {lit:?}: text_to_binary = {other:?}, PostgreSQL sends {bin:?} ({text:?})"
            )),
        }
    }
}

/// A small deterministic generator for the random values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi as i128 - lo as i128 + 1) as u128;
        (lo as i128 + (self.next() as u128 % span) as i128) as i64
    }
}

/// Random binary values of the types whose `::text` cast is their output
/// function.
fn random_values(rng: &mut Rng) -> Vec<(&'static str, Type, Vec<u8>)> {
    const DAY: i64 = 86_400_000_000;
    let mut v = Vec::new();
    for _ in 0..150 {
        // numeric: normalized digits (no leading/trailing zero digits).
        let n = rng.below(8) as usize;
        let mut digits: Vec<i16> = (0..n).map(|_| rng.below(10_000) as i16).collect();
        if let Some(f) = digits.first_mut() {
            *f = (*f).max(1);
        }
        if let Some(l) = digits.last_mut() {
            *l = (*l).max(1);
        }
        let weight = rng.range(-6, 8) as i16;
        let sign: u16 = if rng.below(2) == 0 { 0 } else { 0x4000 };
        let min_scale = (-(weight as i64 - n as i64 + 1) * 4).max(0);
        let dscale = (min_scale + rng.range(-3, 3)).max(0) as u16;
        let mut b = Vec::new();
        b.extend_from_slice(&(n as u16).to_be_bytes());
        b.extend_from_slice(&weight.to_be_bytes());
        b.extend_from_slice(&(if n == 0 { 0 } else { sign }).to_be_bytes());
        b.extend_from_slice(&dscale.to_be_bytes());
        for d in digits {
            b.extend_from_slice(&d.to_be_bytes());
        }
        v.push(("numeric", Type::NUMERIC, b));

        let date = rng.range(-2_451_545, 2_145_031_948) as i32;
        v.push(("date", Type::DATE, date.to_be_bytes().to_vec()));
        let near = rng.range(-40_000, 40_000) as i32;
        v.push(("date", Type::DATE, near.to_be_bytes().to_vec()));

        let time = rng.range(0, DAY);
        v.push(("time", Type::TIME, time.to_be_bytes().to_vec()));
        let mut tz = time.to_be_bytes().to_vec();
        tz.extend_from_slice(&(rng.range(-57_599, 57_599) as i32).to_be_bytes());
        v.push(("timetz", Type::TIMETZ, tz));

        let ts = rng.range(-211_813_488_000_000_000, 9_223_371_331_199_999_999);
        v.push(("timestamp", Type::TIMESTAMP, ts.to_be_bytes().to_vec()));
        let ts = rng.range(-3_000_000_000_000_000, 3_000_000_000_000_000);
        v.push(("timestamptz", Type::TIMESTAMPTZ, ts.to_be_bytes().to_vec()));

        let mut iv = Vec::new();
        let us = match rng.below(3) {
            0 => rng.next() as i64,
            1 => rng.range(-100 * DAY, 100 * DAY),
            _ => rng.range(-1_000_000, 1_000_000) * 1_000_000,
        };
        iv.extend_from_slice(&us.to_be_bytes());
        let days = match rng.below(2) {
            0 => rng.next() as i32,
            _ => rng.range(-400, 400) as i32,
        };
        iv.extend_from_slice(&days.to_be_bytes());
        let months = match rng.below(2) {
            0 => rng.next() as i32,
            _ => rng.range(-30, 30) as i32,
        };
        iv.extend_from_slice(&months.to_be_bytes());
        v.push(("interval", Type::INTERVAL, iv));
    }
    v
}

/// Random literals built from the pieces real inputs are made of, for a
/// differential check of the parsers: PostgreSQL and we must agree on
/// accepting (same binary) or refusing (same SQLSTATE).
fn random_literals(rng: &mut Rng) -> Vec<(&'static str, Type, String)> {
    fn pick<'a>(rng: &mut Rng, xs: &[&'a str]) -> &'a str {
        xs[rng.below(xs.len() as u64) as usize]
    }
    fn digits(rng: &mut Rng, max: u64) -> String {
        (0..rng.below(max + 1))
            .map(|_| char::from(b'0' + rng.below(10) as u8))
            .collect()
    }
    fn num(rng: &mut Rng, lo: i64, hi: i64, width: usize) -> String {
        format!("{:0width$}", rng.range(lo, hi))
    }
    let rounds = std::env::var("PGWIRE_TYPES_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    let mut v = Vec::new();
    for _ in 0..rounds {
        // numeric
        let mut n = String::new();
        n.push_str(pick(rng, &["", "", " ", "\t"]));
        n.push_str(pick(rng, &["", "", "-", "+"]));
        n.push_str(&digits(rng, 22));
        if rng.below(2) == 0 {
            n.push('.');
            n.push_str(&digits(rng, 22));
        }
        if rng.below(3) == 0 {
            n.push_str(pick(rng, &["e", "E"]));
            n.push_str(pick(rng, &["", "-", "+"]));
            n.push_str(&digits(rng, 3));
        }
        n.push_str(pick(rng, &["", "", " "]));
        v.push(("numeric", Type::NUMERIC, n));

        // interval
        let mut iv = String::new();
        if rng.below(8) == 0 {
            iv.push_str("@ ");
        }
        if rng.below(6) == 0 {
            iv.push('P');
            for d in ["Y", "M", "W", "D"] {
                if rng.below(3) == 0 {
                    iv.push_str(&format!("{}{d}", rng.range(-20, 200)));
                }
            }
            if rng.below(2) == 0 {
                iv.push('T');
                for d in ["H", "M", "S"] {
                    if rng.below(2) == 0 {
                        iv.push_str(&rng.range(-20, 200).to_string());
                        if rng.below(3) == 0 {
                            iv.push_str(&format!(".{}", digits(rng, 4)));
                        }
                        iv.push_str(d);
                    }
                }
            }
        } else {
            let units = [
                "year", "years", "mon", "mons", "month", "day", "days", "hour", "hours", "min",
                "minutes", "sec", "seconds", "ms", "us", "week", "weeks", "decade", "y", "d", "h",
                "m", "s",
            ];
            let mut used = Vec::new();
            for _ in 0..rng.range(1, 3) {
                let u = pick(rng, &units);
                if used.contains(&u) {
                    continue;
                }
                used.push(u);
                let mut number = rng.range(-50, 500).to_string();
                if rng.below(4) == 0 {
                    number.push('.');
                    number.push_str(&digits(rng, 3));
                    if number.ends_with('.') {
                        number.push('5');
                    }
                }
                iv.push_str(&format!("{number} {u} "));
            }
            if rng.below(2) == 0 {
                iv.push_str(&format!(
                    "{}{}:{}",
                    pick(rng, &["", "-", "+"]),
                    rng.range(0, 100),
                    num(rng, 0, 59, 2)
                ));
                if rng.below(2) == 0 {
                    iv.push_str(&format!(":{}", num(rng, 0, 59, 2)));
                    if rng.below(2) == 0 {
                        iv.push_str(&format!(".{}", digits(rng, 8)));
                    }
                }
            }
            if rng.below(6) == 0 {
                iv.push_str(" ago");
            }
        }
        v.push(("interval", Type::INTERVAL, iv.trim().to_owned()));

        // date / timestamp / timestamptz / time / timetz
        let months = [
            "Jan", "feb", "MARCH", "Apr", "may", "June", "jul", "Aug", "Sep", "Sept", "oct",
            "November", "dec",
        ];
        let y = rng.range(1, 2100);
        let (m, d) = (rng.range(1, 12), rng.range(1, 31));
        let date = match rng.below(6) {
            0 => format!("{y:04}-{m:02}-{d:02}"),
            1 => format!("{m}/{d}/{y}"),
            2 => format!("{} {d} {y}", months[(m - 1) as usize % 13]),
            3 => format!("{d} {} {y}", pick(rng, &months)),
            4 => format!("{y:04}{m:02}{d:02}"),
            _ => format!("{y}-{}-{d:02}", pick(rng, &months)),
        };
        let era = pick(rng, &["", "", "", " BC", " AD"]);
        let mut time = format!("{}:{}", rng.range(0, 24), num(rng, 0, 60, 2));
        if rng.below(2) == 0 {
            time.push_str(&format!(":{}", num(rng, 0, 60, 2)));
            if rng.below(2) == 0 {
                time.push_str(&format!(".{}", digits(rng, 8)));
            }
        }
        let ampm = pick(rng, &["", "", "", " am", " pm"]);
        let zone = match rng.below(5) {
            0 => String::new(),
            1 => format!("{}{:02}", pick(rng, &["+", "-"]), rng.range(0, 16)),
            2 => format!(
                "{}{:02}:{}",
                pick(rng, &["+", "-"]),
                rng.range(0, 15),
                num(rng, 0, 59, 2)
            ),
            3 => format!(
                " {}",
                pick(rng, &["UTC", "Z", "EST", "pdt", "CET", "gmt", "jst"])
            ),
            _ => format!(" {}", pick(rng, &["+05", "-0800", "+0530"])),
        };
        let sep = pick(rng, &[" ", " ", "T"]);
        v.push(("date", Type::DATE, format!("{date}{era}")));
        v.push((
            "timestamp",
            Type::TIMESTAMP,
            format!("{date}{sep}{time}{ampm}{era}"),
        ));
        v.push((
            "timestamptz",
            Type::TIMESTAMPTZ,
            format!("{date}{sep}{time}{ampm}{zone}{era}"),
        ));
        v.push(("time", Type::TIME, format!("{time}{ampm}")));
        v.push(("timetz", Type::TIMETZ, format!("{time}{ampm}{zone}")));
    }
    v
}

#[tokio::test]
async fn conversions_match_postgres_15() {
    let pg = match Postgres::start("types", Postgres::PGWIRE_DEFAULTS) {
        Ok(pg) => pg,
        Err(why) => {
            println!("SKIPPED conversions_match_postgres_15: {why}");
            return;
        }
    };
    let client = pg.connect().await;
    let version: String = client
        .query_one("SHOW server_version_num", &[])
        .await
        .expect("version")
        .get(0);
    println!("comparing against PostgreSQL {version}");
    let mut bad = Vec::new();
    let mut checked = 0;

    for (cast, ty, lits) in valid_cases() {
        for (lit, text, bin) in fetch(&client, cast, &lits).await {
            let (Some(text), Some(bin)) = (text, bin) else {
                bad.push(format!("{cast} {lit:?}: PostgreSQL gave NULL"));
                continue;
            };
            compare(&mut bad, &ty, "value", Some(lit), &text, &bin);
            checked += 1;
        }
    }

    for (cast, ty, lits) in invalid_cases() {
        for lit in lits {
            let sql = format!("SELECT {}::{cast}", quote(lit));
            let pg_code = match client.simple_query(&sql).await {
                Ok(_) => {
                    bad.push(format!("{cast} {lit:?}: PostgreSQL accepted it"));
                    continue;
                }
                Err(e) => e.code().map(|c| c.code().to_owned()).unwrap_or_default(),
            };
            let mut out = BytesMut::new();
            match text_to_binary(&ty, lit, &mut out) {
                Ok(()) => bad.push(format!(
                    "{cast} {lit:?}: we accepted it ({:?}), PostgreSQL says {pg_code}",
                    &out[..]
                )),
                Err(e) if e.code().code() != pg_code => bad.push(format!(
                    "{cast} {lit:?}: we say {} ({}), PostgreSQL says {pg_code}",
                    e.code(),
                    e.message()
                )),
                Err(_) => {}
            }
            checked += 1;
        }
    }

    // PGWIRE_TYPES_SEED and PGWIRE_TYPES_ROUNDS widen the random part.
    let seed = std::env::var("PGWIRE_TYPES_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    let mut rng = Rng(seed);
    let mut statements = std::collections::HashMap::new();
    for (cast, ty, bin) in random_values(&mut rng) {
        if !statements.contains_key(cast) {
            let stmt = client
                .prepare_typed(
                    &format!("SELECT $1::{cast}::text, $1::{cast}"),
                    std::slice::from_ref(&ty),
                )
                .await
                .expect("prepare");
            statements.insert(cast, stmt);
        }
        let stmt = &statements[cast];
        let row = match client.query_one(stmt, &[&RawParam(bin.clone())]).await {
            Ok(row) => row,
            Err(e) => {
                bad.push(format!("{cast} {bin:?}: PostgreSQL refused it: {e}"));
                continue;
            }
        };
        let text: String = row.get(0);
        let pg_bin = row.get::<_, Raw>(1).0;
        match ours_to_text(&ty, &bin) {
            Ok(t) if t == text => {}
            other => bad.push(format!(
                "{cast} random {bin:?}: binary_to_text = {other:?}, PostgreSQL says {text:?}"
            )),
        }
        compare(&mut bad, &ty, "random", None, &text, &pg_bin);
        checked += 1;
    }

    for (cast, ty, lit) in random_literals(&mut rng) {
        let sql = format!("SELECT {}::{cast}", quote(&lit));
        let ours = ours_to_binary(&ty, &lit);
        match client.query_one(&sql, &[]).await {
            Ok(row) => {
                let pg_bin = row.get::<_, Raw>(0).0;
                if ours.as_ref() != Ok(&pg_bin) {
                    bad.push(format!(
                        "{cast} random literal {lit:?}: text_to_binary = {ours:?}, PostgreSQL sends {pg_bin:?}"
                    ));
                }
            }
            Err(e) => {
                let pg_code = e.code().map(|c| c.code().to_owned()).unwrap_or_default();
                match ours {
                    Err(ref m) if m.starts_with(&pg_code) => {}
                    other => bad.push(format!(
                        "{cast} random literal {lit:?}: we give {other:?}, PostgreSQL refuses with {pg_code} {}",
                        e.as_db_error().map(|d| d.message()).unwrap_or("")
                    )),
                }
            }
        }
        checked += 1;
    }

    for line in &bad {
        println!("MISMATCH {line}");
    }
    assert!(
        bad.is_empty(),
        "{} mismatches of {checked} values",
        bad.len()
    );
    println!("{checked} values match PostgreSQL");
    drop(pg);
}
