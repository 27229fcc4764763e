//! Text <-> binary conversion of common types, per value.
//!
//! Run: `cargo bench -j 2 --bench types -- --warm-up-time 1 --measurement-time 3`
//!
//! Each iteration converts one value into a buffer that is cleared, not
//! reallocated, as `DataRowEncoder` does with its scratch buffer: the
//! numbers are the conversion alone.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, criterion_group, criterion_main};
use pgwire::types::FormatSettings;
use pgwire::types::Type;
use pgwire::types::text::{
    binary_to_text, binary_to_text_with, text_to_binary, text_to_binary_with,
};

/// (name, type, text form) of the benchmarked values.
fn cases() -> Vec<(&'static str, Type, &'static str)> {
    vec![
        ("int8", Type::INT8, "-1234567890123"),
        ("float8", Type::FLOAT8, "3.141592653589793"),
        ("float8_short", Type::FLOAT8, "19.99"),
        ("numeric", Type::NUMERIC, "-12345678.9050"),
        (
            "numeric_big",
            Type::NUMERIC,
            "123456789012345678901234567890.123456789",
        ),
        ("timestamp", Type::TIMESTAMP, "2024-01-31 13:45:00.123456"),
        (
            "timestamptz",
            Type::TIMESTAMPTZ,
            "2024-01-31 13:45:00.123456+00",
        ),
        ("date", Type::DATE, "2024-01-31"),
        (
            "interval",
            Type::INTERVAL,
            "1 year 2 mons 3 days 04:05:06.5",
        ),
        ("int4_array", Type::INT4_ARRAY, "{1,2,3,4,5,6,7,8,9,10}"),
    ]
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("binary_to_text");
    for (name, ty, text) in cases() {
        let mut bin = BytesMut::new();
        text_to_binary(&ty, text, &mut bin).expect("valid");
        let bin = bin.to_vec();
        let mut out = BytesMut::with_capacity(256);
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                binary_to_text(&ty, black_box(&bin), &mut out).expect("converts");
                black_box(&out);
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("text_to_binary");
    for (name, ty, text) in cases() {
        let mut out = BytesMut::with_capacity(256);
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                text_to_binary(&ty, black_box(text), &mut out).expect("converts");
                black_box(&out);
            })
        });
    }
    g.finish();

    // A session in a zone with daylight saving: the offset and abbreviation
    // are looked up per value.
    let mut g = c.benchmark_group("session_settings");
    let mut berlin = FormatSettings::default();
    berlin.set("TimeZone", "Europe/Berlin").expect("zone");
    let mut german = berlin.clone();
    german.set("DateStyle", "German").expect("style");
    let mut bin = BytesMut::new();
    text_to_binary(
        &Type::TIMESTAMPTZ,
        "2024-07-31 13:45:00.123456+00",
        &mut bin,
    )
    .expect("valid");
    let bin = bin.to_vec();
    for (name, settings) in [
        ("timestamptz_berlin_iso", &berlin),
        ("timestamptz_berlin_german", &german),
    ] {
        let mut out = BytesMut::with_capacity(256);
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                binary_to_text_with(&Type::TIMESTAMPTZ, black_box(&bin), settings, &mut out)
                    .expect("converts");
                black_box(&out);
            })
        });
    }
    let mut out = BytesMut::with_capacity(256);
    g.bench_function("timestamptz_input_berlin", |b| {
        b.iter(|| {
            out.clear();
            text_to_binary_with(
                &Type::TIMESTAMPTZ,
                black_box("2024-07-31 13:45:00.123456"),
                &berlin,
                &mut out,
            )
            .expect("converts");
            black_box(&out);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
