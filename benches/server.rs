//! The server's hot paths: encoding result values per type into DataRow
//! frames, and a whole Bind/Execute/Sync round trip through a connection.
//!
//! Run: `cargo bench --bench server -- --warm-up-time 1 --measurement-time 3`
//!
//! The round trip runs the real connection state machine over an in-memory
//! duplex pipe (no TCP), with a handler that returns one int4 row: what is
//! left is the library's own cost per query (decode, handler dispatch,
//! encode, flush), pipelined 64 deep as a busy client would.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pgwire::api::{
    ExtendedQueryHandler, Portal, QueryResponse, Response, Responses, Rows, ServerHandlers,
    Session, SimpleQueryHandler, StatementDescription, StoredStatement,
};
use pgwire::api::{ExtendedQuerySupport, UseExtendedQueryHandler};
use pgwire::error::ErrorInfo;
use pgwire::messages::Sync as SyncMessage;
use pgwire::messages::{
    Bind, ByteStr, Execute, FormatCodes, FrontendMessage, Message, Parse, StartupMessage, ValueList,
};
use pgwire::server::{Server, ServerConfig};
use pgwire::types::{DataRowEncoder, FieldInfo, Schema, ToSql, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn encode_values<T: ToSql + Sync>(c: &mut Criterion, name: &str, ty: Type, values: &[T]) {
    let fields = vec![FieldInfo::new("v", ty)];
    let mut group = c.benchmark_group(format!("encode/{name}"));
    group.throughput(Throughput::Elements(values.len() as u64));
    for (label, formats) in [
        ("text", FormatCodes::new()),
        ("binary", FormatCodes::from_codes(&[1])),
    ] {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        let mut scratch = BytesMut::new();
        group.bench_function(label, |b| {
            b.iter(|| {
                buf.clear();
                for v in values {
                    let mut row = DataRowEncoder::new(&mut buf, &fields, &formats, &mut scratch);
                    row.encode_field(v).unwrap();
                    row.finish().unwrap();
                }
                black_box(buf.len());
            })
        });
    }
    group.finish();
}

fn encoding(c: &mut Criterion) {
    let ints: Vec<i32> = (0..1000).map(|i| i * 7919 - 3_000_000).collect();
    let bigints: Vec<i64> = (0..1000).map(|i| i * 1_000_000_007).collect();
    let floats: Vec<f64> = (0..1000).map(|i| i as f64 * 0.37 - 100.0).collect();
    let texts: Vec<String> = (0..1000).map(|i| format!("row-{i}")).collect();
    let bools: Vec<bool> = (0..1000).map(|i| i % 3 == 0).collect();
    let bytea: Vec<Vec<u8>> = (0..1000).map(|i| vec![i as u8; 16]).collect();
    encode_values(c, "int4", Type::INT4, &ints);
    encode_values(c, "int8", Type::INT8, &bigints);
    encode_values(c, "float8", Type::FLOAT8, &floats);
    encode_values(c, "text", Type::TEXT, &texts);
    encode_values(c, "bool", Type::BOOL, &bools);
    encode_values(c, "bytea", Type::BYTEA, &bytea);
}

/// One int4 row for every query, over both protocols.
struct OneRow;

struct OneRowSession {
    schema: Schema,
}

impl ServerHandlers for OneRow {
    type Handler = OneRowSession;

    fn extended_query() -> impl ExtendedQuerySupport<Self::Handler> {
        UseExtendedQueryHandler
    }

    async fn connect(&self, _: &mut Session) -> Result<OneRowSession, ErrorInfo> {
        Ok(OneRowSession {
            schema: Arc::from(vec![FieldInfo::new("?column?", Type::INT4)]),
        })
    }
}

impl OneRowSession {
    fn row(&self) -> Response {
        Response::Query(QueryResponse::new(
            self.schema.clone(),
            Rows::from_iterator([(1i32,)]),
        ))
    }
}

impl SimpleQueryHandler for OneRowSession {
    async fn do_query(&mut self, _: &mut Session, _: &str) -> Responses {
        self.row().into()
    }
}

impl ExtendedQueryHandler for OneRowSession {
    type Statement = ();

    async fn parse_sql(&mut self, _: &mut Session, _: &str, _: &[u32]) -> Result<(), ErrorInfo> {
        Ok(())
    }

    async fn do_describe_statement(
        &mut self,
        _: &mut Session,
        _: &StoredStatement<()>,
    ) -> Result<StatementDescription, ErrorInfo> {
        Ok(StatementDescription::new(vec![], Some(self.schema.clone())))
    }

    async fn do_describe_portal(
        &mut self,
        _: &mut Session,
        _: &Portal<()>,
    ) -> Result<Option<Schema>, ErrorInfo> {
        Ok(Some(self.schema.clone()))
    }

    async fn do_query(&mut self, _: &mut Session, _: &Portal<()>, _: usize) -> Response {
        self.row()
    }
}

/// Reads until `count` ReadyForQuery messages have arrived.
async fn read_ready(io: &mut tokio::io::DuplexStream, buf: &mut BytesMut, count: usize) {
    let mut seen = 0;
    while seen < count {
        let mut at = 0;
        while let Some(&[tag, a, b, c, d]) = buf.get(at..at + 5) {
            let len = u32::from_be_bytes([a, b, c, d]) as usize;
            if buf.len() < at + 1 + len {
                break;
            }
            if tag == b'Z' {
                seen += 1;
            }
            at += 1 + len;
        }
        let _ = buf.split_to(at);
        if seen < count {
            io.read_buf(buf).await.unwrap();
        }
    }
}

fn round_trip(c: &mut Criterion) {
    const DEPTH: usize = 64;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut client, server_io) = tokio::io::duplex(1 << 20);
    let server = Server::new(OneRow, ServerConfig::default());
    rt.spawn(async move {
        let _ = server.process_socket(server_io, None).await;
    });
    let mut rbuf = BytesMut::new();
    rt.block_on(async {
        let mut out = BytesMut::new();
        StartupMessage::new([("user", "bench")]).encode(&mut out);
        Parse {
            name: ByteStr::from_static("s"),
            query: ByteStr::from_static("SELECT 1"),
            param_types: vec![],
        }
        .encode(&mut out);
        SyncMessage.encode(&mut out);
        client.write_all(&out).await.unwrap();
        read_ready(&mut client, &mut rbuf, 2).await;
    });
    let mut pipeline = BytesMut::new();
    for _ in 0..DEPTH {
        FrontendMessage::Bind(Bind {
            portal: ByteStr::new(),
            statement: ByteStr::from_static("s"),
            param_formats: FormatCodes::new(),
            params: ValueList::new(),
            result_formats: FormatCodes::from_codes(&[1]),
        })
        .encode(&mut pipeline);
        Execute {
            portal: ByteStr::new(),
            max_rows: 0,
        }
        .encode(&mut pipeline);
        SyncMessage.encode(&mut pipeline);
    }
    let mut simple = BytesMut::new();
    for _ in 0..DEPTH {
        simple.put_u8(b'Q');
        simple.put_u32(4 + 9);
        simple.put_slice(b"SELECT 1\0");
    }
    let mut group = c.benchmark_group("round_trip");
    group.throughput(Throughput::Elements(DEPTH as u64));
    for (name, bytes) in [("bind_execute_sync", &pipeline), ("simple_query", &simple)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        client.write_all(bytes).await.unwrap();
                        read_ready(&mut client, &mut rbuf, DEPTH).await;
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = encoding, round_trip
}
criterion_main!(benches);
