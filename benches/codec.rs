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

// ---- the frames a server writes per statement: today's hand encoders
// (copied from the server as baselines) against `messages/`'s ----

mod hand {
    //! The server's hand-written encoders before they moved to `messages/`,
    //! kept as the baseline the `messages/` encoders must not be slower than.
    use bytes::{BufMut, BytesMut};

    pub fn command_complete(
        buf: &mut BytesMut,
        command: &str,
        oid: Option<u32>,
        rows: Option<u64>,
    ) {
        buf.put_u8(b'C');
        let at = buf.len();
        buf.put_u32(0);
        buf.put_slice(command.as_bytes());
        if let Some(oid) = oid {
            buf.put_u8(b' ');
            write_int(buf, oid as i64);
        }
        if let Some(rows) = rows {
            buf.put_u8(b' ');
            write_int(buf, rows.min(i64::MAX as u64) as i64);
        }
        buf.put_u8(0);
        let len = (buf.len() - at) as u32;
        buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }

    fn write_int(out: &mut BytesMut, v: i64) {
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";
        let mut tmp = [0u8; 20];
        let mut u = v.unsigned_abs();
        let mut i = tmp.len();
        while u >= 100 {
            let d = (u % 100) as usize * 2;
            u /= 100;
            i -= 2;
            tmp[i..i + 2].copy_from_slice(&PAIRS[d..d + 2]);
        }
        if u >= 10 {
            let d = u as usize * 2;
            i -= 2;
            tmp[i..i + 2].copy_from_slice(&PAIRS[d..d + 2]);
        } else {
            i -= 1;
            tmp[i] = b'0' + u as u8;
        }
        if v < 0 {
            out.put_u8(b'-');
        }
        out.put_slice(&tmp[i..]);
    }

    pub fn error(buf: &mut BytesMut, severity: &str, code: &str, message: &str) {
        fn field(buf: &mut BytesMut, code: u8, value: &str) {
            buf.put_u8(code);
            for part in value.split('\0') {
                buf.put_slice(part.as_bytes());
            }
            buf.put_u8(0);
        }
        buf.put_u8(b'E');
        let at = buf.len();
        buf.put_u32(0);
        field(buf, b'S', severity);
        field(buf, b'V', severity);
        field(buf, b'C', code);
        field(buf, b'M', message);
        buf.put_u8(0);
        let len = (buf.len() - at) as u32;
        buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }

    pub fn row_description(buf: &mut BytesMut, fields: &[super::FieldDescription]) {
        buf.put_u8(b'T');
        let at = buf.len();
        buf.put_u32(0);
        buf.put_i16(fields.len().min(i16::MAX as usize) as i16);
        for f in fields {
            buf.put_slice(f.name.as_bytes());
            buf.put_u8(0);
            buf.put_u32(f.table_oid);
            buf.put_i16(f.column_id);
            buf.put_u32(f.type_oid);
            buf.put_i16(f.type_size);
            buf.put_i32(f.type_modifier);
            buf.put_i16(f.format);
        }
        let len = (buf.len() - at) as u32;
        buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
}

/// Frames per timed iteration for the tiny ones, so the loop's own cost
/// does not dominate.
const BATCH: usize = 64;

fn bench_server_frames(c: &mut Criterion) {
    use bytes::BufMut;
    use pgwire::messages::{
        BindComplete, CommandComplete, ErrorResponse, Message, ReadyForQuery, TransactionStatus,
    };

    let mut g = c.benchmark_group("server frames x64");
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let status = TransactionStatus::Idle;
    g.bench_function("ReadyForQuery/put_slice", |b| {
        b.iter(|| {
            buf.clear();
            for _ in 0..BATCH {
                buf.put_slice(&[b'Z', 0, 0, 0, 5, black_box(status).byte()]);
            }
            black_box(buf.len())
        })
    });
    g.bench_function("ReadyForQuery/encode", |b| {
        b.iter(|| {
            buf.clear();
            for _ in 0..BATCH {
                ReadyForQuery::new(black_box(status)).encode(&mut buf);
            }
            black_box(buf.len())
        })
    });
    g.bench_function("BindComplete/put_slice", |b| {
        b.iter(|| {
            buf.clear();
            for _ in 0..BATCH {
                buf.put_slice(&[b'2', 0, 0, 0, 4]);
            }
            black_box(buf.len())
        })
    });
    g.bench_function("BindComplete/encode", |b| {
        b.iter(|| {
            buf.clear();
            for _ in 0..BATCH {
                BindComplete.encode(&mut buf);
            }
            black_box(buf.len())
        })
    });
    let (command, oid, rows) = ("INSERT", Some(0u32), Some(12_345u64));
    g.bench_function("CommandComplete INSERT 0 12345/hand", |b| {
        b.iter(|| {
            buf.clear();
            for _ in 0..BATCH {
                hand::command_complete(
                    &mut buf,
                    black_box(command),
                    black_box(oid),
                    black_box(rows),
                );
            }
            black_box(buf.len())
        })
    });
    g.bench_function("CommandComplete INSERT 0 12345/encode_parts", |b| {
        b.iter(|| {
            buf.clear();
            for _ in 0..BATCH {
                CommandComplete::encode_parts(
                    &mut buf,
                    black_box(command),
                    black_box(oid),
                    black_box(rows),
                );
            }
            black_box(buf.len())
        })
    });
    let message = "relation \"missing_table\" does not exist";
    g.bench_function("ErrorResponse S,V,C,M/hand", |b| {
        b.iter(|| {
            buf.clear();
            for _ in 0..BATCH {
                hand::error(
                    &mut buf,
                    black_box("ERROR"),
                    black_box("42P01"),
                    black_box(message),
                );
            }
            black_box(buf.len())
        })
    });
    g.bench_function("ErrorResponse S,V,C,M/encode_fields", |b| {
        b.iter(|| {
            buf.clear();
            for _ in 0..BATCH {
                let severity = black_box("ERROR");
                ErrorResponse::encode_fields(
                    &mut buf,
                    [
                        (b'S', severity),
                        (b'V', severity),
                        (b'C', black_box("42P01")),
                        (b'M', black_box(message)),
                    ],
                );
            }
            black_box(buf.len())
        })
    });
    g.bench_function("ErrorResponse S,V,C,M/encode_with", |b| {
        b.iter(|| {
            buf.clear();
            for _ in 0..BATCH {
                let severity = black_box("ERROR");
                ErrorResponse::encode_with(&mut buf, |w| {
                    w.field(b'S', severity)
                        .field(b'V', severity)
                        .field(b'C', black_box("42P01"))
                        .field(b'M', black_box(message));
                });
            }
            black_box(buf.len())
        })
    });
    g.finish();

    let BackendMessage::RowDescription(rd) = row_description() else {
        unreachable!()
    };
    let mut g = c.benchmark_group("server frames: RowDescription (10 fields)");
    g.bench_function("hand", |b| {
        b.iter(|| {
            buf.clear();
            hand::row_description(&mut buf, black_box(&rd.fields));
            black_box(buf.len())
        })
    });
    g.bench_function("encode_fields", |b| {
        b.iter(|| {
            buf.clear();
            RowDescription::encode_fields(
                &mut buf,
                black_box(&rd.fields).iter().map(|f| f.to_ref()),
            );
            black_box(buf.len())
        })
    });
    g.finish();
}

criterion_group!(server_frames, bench_server_frames);
criterion_main!(benches, server_frames);
