//! Codec throughput: encoding and decoding the messages that dominate a
//! busy connection.
//!
//! Run: `cargo bench --bench codec -- --warm-up-time 1 --measurement-time 3`
//!
//! Decoding is measured from a `BytesMut` holding the encoded bytes, as a
//! connection's read buffer would; preparing that buffer, and dropping it
//! and the decoded messages, is not timed (`iter_batched_ref`). The buffer
//! is made shared first, as a read buffer is after its first message, so
//! the one-time promotion of a fresh `BytesMut` is not counted per message.
//! Encoding appends to a reused buffer, as a connection's write buffer is.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use pgwire::messages::{
    BackendDecoder, BackendMessage, Bind, DataRow, Describe, Execute, FieldDescription,
    FormatCodes, FrontendDecoder, FrontendMessage, Parse, RowDescription, Sync, TargetKind,
    ValueList,
};

/// A row of 10 columns of mixed sizes and kinds, as text: integers, a NULL,
/// an empty string, a UUID, a timestamp, a boolean, a numeric, a short and
/// a long text, and a JSON document.
fn data_row() -> BackendMessage {
    let long_text = "lorem ipsum dolor sit amet ".repeat(20);
    let json = format!(
        "{{\"id\": 42, \"tags\": [\"a\", \"b\", \"c\"], \"note\": \"{}\"}}",
        "x".repeat(120)
    );
    let cols: Vec<Option<Vec<u8>>> = vec![
        Some(b"12345".to_vec()),
        None,
        Some(Vec::new()),
        Some(b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".to_vec()),
        Some(b"2024-05-17 12:34:56.789012+00".to_vec()),
        Some(b"t".to_vec()),
        Some(b"31415.92653589793".to_vec()),
        Some(b"Ada Lovelace".to_vec()),
        Some(long_text.into_bytes()),
        Some(json.into_bytes()),
    ];
    BackendMessage::DataRow(DataRow::new(cols))
}

/// A RowDescription of 10 fields.
fn row_description() -> BackendMessage {
    let cols: [(&'static str, u32, i16); 10] = [
        ("id", 23, 4),
        ("customer_id", 20, 8),
        ("customer_name", 1043, -1),
        ("email", 25, -1),
        ("created_at", 1184, 8),
        ("active", 16, 1),
        ("balance", 1700, -1),
        ("uuid", 2950, 16),
        ("payload", 3802, -1),
        ("note", 25, -1),
    ];
    BackendMessage::RowDescription(RowDescription {
        fields: cols
            .iter()
            .enumerate()
            .map(|(i, &(name, type_oid, type_size))| FieldDescription {
                name: name.into(),
                table_oid: 16_384,
                column_id: i as i16 + 1,
                type_oid,
                type_size,
                type_modifier: -1,
                format: 0,
            })
            .collect(),
    })
}

/// A Bind of 5 parameters: binary int4 and int8, a NULL, text, and a
/// 64-byte bytea; result columns all binary.
fn bind() -> Bind {
    Bind {
        portal: "".into(),
        statement: "stmt_42".into(),
        param_formats: FormatCodes::from_codes(&[1, 1, 0, 0, 1]),
        params: ValueList::from_values([
            Some(42i32.to_be_bytes().to_vec()),
            Some(9_000_000_000i64.to_be_bytes().to_vec()),
            None,
            Some(b"hello world".to_vec()),
            Some(vec![0xab; 64]),
        ]),
        result_formats: FormatCodes::from_codes(&[1]),
    }
}

/// Parse, Bind, Describe, Execute, Sync: one extended-query round trip.
fn pipeline() -> Vec<FrontendMessage> {
    vec![
        FrontendMessage::Parse(Parse {
            name: "stmt_42".into(),
            query: "SELECT id, name, balance FROM accounts WHERE id = $1 AND owner = $2".into(),
            param_types: vec![23, 20, 0, 25, 17],
        }),
        FrontendMessage::Bind(bind()),
        FrontendMessage::Describe(Describe {
            kind: TargetKind::Portal,
            name: "".into(),
        }),
        FrontendMessage::Execute(Execute {
            portal: "".into(),
            max_rows: 0,
        }),
        FrontendMessage::Sync(Sync),
    ]
}

/// A read buffer holding `wire`, already shared (see the module docs).
fn read_buffer(wire: &[u8]) -> BytesMut {
    let mut buf = BytesMut::from(wire);
    drop(buf.split_to(0));
    buf
}

fn encoded_backend(m: &BackendMessage) -> Bytes {
    let mut b = BytesMut::new();
    m.encode(&mut b);
    b.freeze()
}

fn encoded_frontend(msgs: &[FrontendMessage]) -> Bytes {
    let mut b = BytesMut::new();
    for m in msgs {
        m.encode(&mut b);
    }
    b.freeze()
}

fn bench_backend(c: &mut Criterion, label: &str, m: BackendMessage) {
    let wire = encoded_backend(&m);
    let mut g = c.benchmark_group(label);
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("decode", |b| {
        let mut d = BackendDecoder::new();
        b.iter_batched_ref(
            || read_buffer(&wire),
            |buf| d.decode(black_box(&mut *buf)).unwrap().unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("encode", |b| {
        let mut buf = BytesMut::with_capacity(wire.len() * 2);
        b.iter(|| {
            buf.clear();
            black_box(&m).encode(&mut buf);
            black_box(buf.len())
        })
    });
    g.finish();
}

fn bench_data_row(c: &mut Criterion) {
    bench_backend(c, "DataRow (10 columns)", data_row());
}

fn bench_row_description(c: &mut Criterion) {
    bench_backend(c, "RowDescription (10 fields)", row_description());
}

fn bench_bind(c: &mut Criterion) {
    let m = FrontendMessage::Bind(bind());
    let wire = encoded_frontend(std::slice::from_ref(&m));
    let mut g = c.benchmark_group("Bind (5 params)");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("decode", |b| {
        let mut d = FrontendDecoder::new_typed();
        b.iter_batched_ref(
            || read_buffer(&wire),
            |buf| d.decode(black_box(&mut *buf)).unwrap().unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("encode", |b| {
        let mut buf = BytesMut::with_capacity(wire.len() * 2);
        b.iter(|| {
            buf.clear();
            black_box(&m).encode(&mut buf);
            black_box(buf.len())
        })
    });
    g.finish();
}

fn bench_pipeline(c: &mut Criterion) {
    let msgs = pipeline();
    let wire = encoded_frontend(&msgs);
    let mut g = c.benchmark_group("Parse+Bind+Describe+Execute+Sync");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("decode", |b| {
        let mut d = FrontendDecoder::new_typed();
        b.iter_batched_ref(
            || read_buffer(&wire),
            |buf| -> [FrontendMessage; 5] {
                std::array::from_fn(|_| d.decode(black_box(&mut *buf)).unwrap().unwrap())
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("encode", |b| {
        let mut buf = BytesMut::with_capacity(wire.len() * 2);
        b.iter(|| {
            buf.clear();
            for m in black_box(&msgs) {
                m.encode(&mut buf);
            }
            black_box(buf.len())
        })
    });
    g.finish();
}

/// 100 DataRows in one read buffer, as a client sees a result set; each
/// row is dropped as it is read (timed), as a client would consume it.
fn bench_data_row_stream(c: &mut Criterion) {
    let row = encoded_backend(&data_row());
    let wire: Bytes = row.repeat(100).into();
    let mut g = c.benchmark_group("DataRow x100 in one buffer");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("decode", |b| {
        let mut d = BackendDecoder::new();
        b.iter_batched_ref(
            || read_buffer(&wire),
            |buf| {
                let mut n = 0;
                while let Some(m) = d.decode(black_box(&mut *buf)).unwrap() {
                    black_box(m);
                    n += 1;
                }
                n
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_data_row,
    bench_row_description,
    bench_bind,
    bench_pipeline,
    bench_data_row_stream
);
criterion_main!(benches);
