//! Text output of the hot types writes straight into the caller's buffer:
//! no allocation per value (counted by a global allocator of this test
//! binary, per thread: the test harness and the other test allocate on
//! their own threads at the same time).

use bytes::BytesMut;
use pgwire::types::Type;
use pgwire::types::text::{binary_to_text, text_to_binary};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::allocations;

#[test]
fn hot_types_do_not_allocate() {
    let cases = [
        (Type::INT8, "-9223372036854775808"),
        (Type::INT4, "123456"),
        (Type::FLOAT8, "3.141592653589793"),
        (Type::FLOAT8, "1e+300"),
        (Type::FLOAT4, "1.1"),
        (Type::NUMERIC, "-12345678901234567890.123456789"),
        (Type::NUMERIC, "0.000"),
        (Type::TIMESTAMP, "2024-01-31 13:45:00.123456"),
        (Type::TIMESTAMPTZ, "0044-03-15 12:00:00+00 BC"),
        (Type::DATE, "2024-01-31"),
        (Type::TIME, "13:45:00.5"),
        (Type::TIMETZ, "13:45:00-05:30"),
        (Type::INTERVAL, "-1 years -2 mons +3 days -04:05:06.5"),
        (Type::INT4_ARRAY, "{1,2,NULL,4}"),
    ];
    let mut out = BytesMut::with_capacity(1024);
    for (ty, text) in cases {
        let mut bin = BytesMut::new();
        text_to_binary(&ty, text, &mut bin).expect("valid");
        // Warm up: nothing is lazily initialised on the first call either,
        // but keep the measurement about the steady state.
        binary_to_text(&ty, &bin, &mut out).expect("converts");
        let before = allocations();
        for _ in 0..100 {
            out.clear();
            binary_to_text(&ty, &bin, &mut out).expect("converts");
        }
        let n = allocations() - before;
        assert_eq!(n, 0, "{ty}: {n} allocations for 100 values");
        assert_eq!(&out[..], text.as_bytes(), "{ty}");
    }
}

#[test]
fn hot_types_parse_without_allocating() {
    let cases = [
        (Type::INT8, "-9223372036854775808"),
        (Type::FLOAT8, "3.141592653589793"),
        (Type::FLOAT8, "-Infinity"),
        (Type::BOOL, "TRUE"),
        (Type::NUMERIC, "-12345678901234567890.123456789"),
        (Type::TIMESTAMP, "2024-01-31 13:45:00.123456"),
        (Type::TIMESTAMPTZ, "2024-01-31 13:45:00.123456+02"),
        (Type::DATE, "2024-01-31"),
        (Type::INTERVAL, "1 year 2 mons 3 days 04:05:06.5"),
    ];
    let mut out = BytesMut::with_capacity(1024);
    for (ty, text) in cases {
        text_to_binary(&ty, text, &mut out).expect("valid");
        let before = allocations();
        for _ in 0..100 {
            out.clear();
            text_to_binary(&ty, text, &mut out).expect("valid");
        }
        let n = allocations() - before;
        assert_eq!(n, 0, "{ty}: {n} allocations for 100 values");
    }
}

/// The same with a session's settings: a time zone with daylight saving,
/// every DateStyle and IntervalStyle, rounded floats, escaped bytea.
#[test]
fn session_settings_do_not_allocate() {
    use pgwire::types::FormatSettings;
    use pgwire::types::text::{binary_to_text_with, text_to_binary_with};

    let styles: &[&[(&str, &str)]] = &[
        &[
            ("TimeZone", "Europe/Berlin"),
            ("DateStyle", "German"),
            ("IntervalStyle", "postgres_verbose"),
            ("extra_float_digits", "0"),
            ("bytea_output", "escape"),
        ],
        &[
            ("TimeZone", "America/New_York"),
            ("DateStyle", "Postgres, DMY"),
            ("IntervalStyle", "sql_standard"),
            ("extra_float_digits", "-3"),
        ],
        &[
            ("TimeZone", "<+03>-3"),
            ("DateStyle", "SQL, MDY"),
            ("IntervalStyle", "iso_8601"),
        ],
        &[("TimeZone", "5"), ("DateStyle", "ISO, YMD")],
    ];
    let values = [
        (Type::TIMESTAMPTZ, "2024-07-01 12:00:00.25+00"),
        (Type::TIMESTAMPTZ, "2024-01-01 12:00:00+00"),
        (Type::TIMESTAMPTZ, "99999-01-01 12:00:00+00"),
        (Type::TIMESTAMP, "2024-01-31 13:45:00.123456"),
        (Type::DATE, "2024-01-31"),
        (Type::INTERVAL, "-1 years -2 mons +3 days -04:05:06.5"),
        (Type::FLOAT8, "3.141592653589793"),
        (Type::FLOAT4, "1.1"),
        (Type::BYTEA, "\\x00015c7f80ff"),
    ];
    let inputs = [
        (Type::TIMESTAMPTZ, "2024-03-31 02:30:00"),
        (Type::TIMESTAMPTZ, "01.02.03 13:45:00"),
        (Type::DATE, "01/02/03"),
        (Type::DATE, "Jan 31 2024"),
    ];
    let mut out = BytesMut::with_capacity(1024);
    for style in styles {
        let mut settings = FormatSettings::default();
        for (name, value) in *style {
            settings.set(name, value).expect("valid setting");
        }
        for (ty, text) in &values {
            let mut bin = BytesMut::new();
            text_to_binary(ty, text, &mut bin).expect("valid");
            binary_to_text_with(ty, &bin, &settings, &mut out).expect("converts");
            let before = allocations();
            for _ in 0..100 {
                out.clear();
                binary_to_text_with(ty, &bin, &settings, &mut out).expect("converts");
            }
            let n = allocations() - before;
            assert_eq!(n, 0, "{ty} {style:?}: {n} allocations for 100 values");
        }
        for (ty, text) in &inputs {
            text_to_binary_with(ty, text, &settings, &mut out).expect("valid");
            let before = allocations();
            for _ in 0..100 {
                out.clear();
                text_to_binary_with(ty, text, &settings, &mut out).expect("valid");
            }
            let n = allocations() - before;
            assert_eq!(n, 0, "{ty} input {text:?} {style:?}: {n} allocations");
        }
    }
}
