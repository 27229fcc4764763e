//! `pgwire::client` side by side with tokio-postgres against the same
//! servers: a throwaway PostgreSQL 15 (started by the bench, like the
//! tests' cluster) and an in-process "limit" server that answers with
//! precomputed bytes (the contract of `../shared/bench/`: `SELECT 1` and the
//! three-column `generate_series` query), which leaves only the clients'
//! own cost. Workloads, against both servers: reading 1,000,000 rows
//! (`int8, text, float8`) in binary and text, pipelined prepared `SELECT 1`
//! 32 deep, and connect + close. Both clients read every value as the same
//! Rust type (binary: `i64`, `&str`, `f64`; text: `&str` checked as UTF-8)
//! and both stream rows (neither collects the result).
//!
//! Run: `cargo bench --bench client -- --warm-up-time 1 --measurement-time 3`
//! (prints `SKIPPED` without the PostgreSQL server binaries; the
//! PostgreSQL groups are named `postgres/...`, the others `limit/...`).
//!
//! With `PGWIRE_BENCH_CPU=1` criterion measures the CPU time of the thread
//! running the clients instead of wall time: on a busy machine that is far
//! steadier, and against the limit server (its own thread) it is exactly
//! the client's cost. The clients (and tokio-postgres' connection task)
//! run on that one thread: both runtimes are current-thread.
//!
//! With `PGWIRE_BENCH_PAIRED=<rounds>` (no criterion) each workload runs
//! in rounds that alternate the two clients back to back, and the table
//! gives the medians of wall and thread-CPU time and the median of the
//! per-round ratios: load that drifts over seconds (a shared machine)
//! then hits both clients alike. An argument filters workloads by name:
//! `cargo bench --bench client -- limit/`.

#[path = "../tests/common/pg_cluster.rs"]
mod pg_cluster;

use std::hint::black_box;
use std::time::Instant;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput};
use futures_util::StreamExt;
use futures_util::future::join_all;
use pg_cluster::PgCluster;
use pgwire::client::{Client, Config, SimpleQueryMessage, Statement};
use tokio::runtime::Runtime;

/// The contract's row query, N = 1,000,000 (run by PostgreSQL too).
const ROWS_SQL: &str = "SELECT i::int8, ('row-' || i)::text, (i * 0.5)::float8 FROM generate_series(1, 1000000) AS s(i)";
const ROWS: u64 = 1_000_000;

fn frame(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    out.extend_from_slice(body);
}

fn row_description(cols: &[(&str, u32, i16)], format: i16) -> Vec<u8> {
    let mut b = (cols.len() as i16).to_be_bytes().to_vec();
    for (name, oid, len) in cols {
        b.extend_from_slice(name.as_bytes());
        b.push(0);
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&0i16.to_be_bytes());
        b.extend_from_slice(&oid.to_be_bytes());
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b.extend_from_slice(&format.to_be_bytes());
    }
    b
}

/// Precomputed answers of the limit server.
struct Canned {
    rows_text: Vec<u8>,
    rows_binary: Vec<u8>,
    one_text: Vec<u8>,
    one_binary: Vec<u8>,
    rows_desc: Vec<u8>,
    one_desc: Vec<u8>,
}

fn float8_text(v: f64) -> String {
    // float8out's shortest form for these values: no trailing ".0".
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn canned() -> Canned {
    let cols = [("i", 20, 8), ("text", 25, -1), ("float8", 701, 8)];
    let mut rows_text = Vec::with_capacity(40 * ROWS as usize);
    let mut rows_binary = Vec::with_capacity(50 * ROWS as usize);
    let mut body = Vec::new();
    for i in 1..=ROWS as i64 {
        let t = format!("row-{i}");
        let f = i as f64 * 0.5;
        body.clear();
        body.extend_from_slice(&3i16.to_be_bytes());
        for v in [i.to_string(), t.clone(), float8_text(f)] {
            body.extend_from_slice(&(v.len() as i32).to_be_bytes());
            body.extend_from_slice(v.as_bytes());
        }
        frame(&mut rows_text, b'D', &body);
        body.clear();
        body.extend_from_slice(&3i16.to_be_bytes());
        body.extend_from_slice(&8i32.to_be_bytes());
        body.extend_from_slice(&i.to_be_bytes());
        body.extend_from_slice(&(t.len() as i32).to_be_bytes());
        body.extend_from_slice(t.as_bytes());
        body.extend_from_slice(&8i32.to_be_bytes());
        body.extend_from_slice(&f.to_be_bytes());
        frame(&mut rows_binary, b'D', &body);
    }
    for rows in [&mut rows_text, &mut rows_binary] {
        frame(rows, b'C', b"SELECT 1000000\0");
    }
    let mut one_text = Vec::new();
    frame(&mut one_text, b'D', &[0, 1, 0, 0, 0, 1, b'1']);
    frame(&mut one_text, b'C', b"SELECT 1\0");
    let mut one_binary = Vec::new();
    frame(&mut one_binary, b'D', &[0, 1, 0, 0, 0, 4, 0, 0, 0, 1]);
    frame(&mut one_binary, b'C', b"SELECT 1\0");
    Canned {
        rows_text,
        rows_binary,
        one_text,
        one_binary,
        rows_desc: row_description(&cols, 0),
        one_desc: row_description(&[("?column?", 23, 4)], 0),
    }
}

/// One connection of the limit server: the contract's answers, chosen by
/// the query text of the Query or of the Bind's prepared statement,
/// written when the client waits (Sync, Query).
async fn limit_session(mut s: tokio::net::TcpStream, canned: std::sync::Arc<Canned>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(len) = s.read_i32().await else { return };
    let mut startup = vec![0; len as usize - 4];
    if s.read_exact(&mut startup).await.is_err() {
        return;
    }
    if startup[..4] == 80_877_103u32.to_be_bytes() {
        let _ = s.write_all(b"N").await;
        let Ok(len) = s.read_i32().await else { return };
        let mut startup = vec![0; len as usize - 4];
        if s.read_exact(&mut startup).await.is_err() {
            return;
        }
    }
    let mut out = Vec::new();
    frame(&mut out, b'R', &0i32.to_be_bytes());
    frame(&mut out, b'S', b"client_encoding\0UTF8\0");
    frame(&mut out, b'S', b"server_version\x0015.0\0");
    frame(&mut out, b'K', &[0, 0, 0, 1, 0, 0, 0, 2]);
    frame(&mut out, b'Z', b"I");
    let _ = s.write_all(&out).await;
    out.clear();
    let (rd, wr) = s.split();
    let mut rd = tokio::io::BufReader::with_capacity(64 * 1024, rd);
    let mut wr = tokio::io::BufWriter::with_capacity(256 * 1024, wr);
    // Whether each prepared statement is the row query (else SELECT 1),
    // and what the current portal runs.
    let mut statements = std::collections::HashMap::<Vec<u8>, bool>::new();
    let mut rows_query = false;
    let mut binary = false;
    let is_rows = |sql: &[u8]| sql.windows(15).any(|w| w == b"generate_series");
    let cstr = |b: &[u8]| b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())].to_vec();
    loop {
        let Ok(tag) = rd.read_u8().await else { return };
        let Ok(len) = rd.read_i32().await else { return };
        let mut body = vec![0; len as usize - 4];
        if rd.read_exact(&mut body).await.is_err() {
            return;
        }
        let (desc, rows): (&[u8], &[u8]) = match (rows_query, binary) {
            (true, false) => (&canned.rows_desc, &canned.rows_text),
            (true, true) => (&canned.rows_desc, &canned.rows_binary),
            (false, false) => (&canned.one_desc, &canned.one_text),
            (false, true) => (&canned.one_desc, &canned.one_binary),
        };
        match tag {
            b'Q' => {
                rows_query = is_rows(&body);
                binary = false;
                let desc = if rows_query {
                    &canned.rows_desc
                } else {
                    &canned.one_desc
                };
                let rows = if rows_query {
                    &canned.rows_text
                } else {
                    &canned.one_text
                };
                frame(&mut out, b'T', desc);
                out.extend_from_slice(rows);
                frame(&mut out, b'Z', b"I");
            }
            b'P' => {
                let name = cstr(&body);
                rows_query = is_rows(&body[name.len()..]);
                statements.insert(name, rows_query);
                frame(&mut out, b'1', b"");
            }
            b'B' => {
                // Portal name, statement name, ...; the last two bytes are
                // the (single) result format code.
                let portal = cstr(&body);
                let statement = cstr(&body[portal.len() + 1..]);
                rows_query = statements.get(&statement).copied().unwrap_or(false);
                binary = body.ends_with(&[0, 1, 0, 1]);
                frame(&mut out, b'2', b"");
            }
            b'D' => {
                if body[0] == b'S' {
                    rows_query = statements.get(&cstr(&body[1..])).copied().unwrap_or(false);
                    frame(&mut out, b't', &[0, 0]);
                }
                let d = if rows_query {
                    &canned.rows_desc
                } else {
                    &canned.one_desc
                };
                frame(&mut out, b'T', d);
            }
            b'E' => out.extend_from_slice(rows),
            b'S' => frame(&mut out, b'Z', b"I"),
            b'C' => frame(&mut out, b'3', b""),
            b'H' => {}
            b'X' => return,
            _ => return,
        }
        let _ = desc;
        if matches!(tag, b'S' | b'Q' | b'H') || out.len() > 1 << 20 {
            if wr.write_all(&out).await.is_err() || wr.flush().await.is_err() {
                return;
            }
            out.clear();
        }
    }
}

/// Starts the limit server on its own thread; returns its port.
fn start_limit_server() -> u16 {
    let canned = std::sync::Arc::new(canned());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            listener.set_nonblocking(true).unwrap();
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((s, _)) = l.accept().await {
                let _ = s.set_nodelay(true);
                tokio::spawn(limit_session(s, canned.clone()));
            }
        });
    });
    port
}

/// Both clients connected to one server, with the statements prepared.
struct Side {
    /// `limit` or `postgres`: the prefix of the workload names.
    server: &'static str,
    rt: Runtime,
    mine: Client,
    other: tokio_postgres::Client,
    rows: Statement,
    other_rows: tokio_postgres::Statement,
    one: Statement,
    other_one: tokio_postgres::Statement,
    cfg: Config,
    other_cfg: tokio_postgres::Config,
    /// Keeps PostgreSQL running while the side is used.
    _cluster: Option<PgCluster>,
}

impl Side {
    fn new(server: &'static str, conninfo: &str, ours: &str, cluster: Option<PgCluster>) -> Side {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let cfg = Config::parse(&format!("{conninfo} {ours}")).unwrap();
        let other_cfg: tokio_postgres::Config = conninfo.parse().unwrap();
        let mut mine = rt.block_on(Client::connect(&cfg)).unwrap();
        let (other, conn) = rt
            .block_on(other_cfg.connect(tokio_postgres::NoTls))
            .unwrap();
        rt.spawn(conn);
        let rows = rt.block_on(mine.prepare(ROWS_SQL)).unwrap();
        let one = rt.block_on(mine.prepare("SELECT 1")).unwrap();
        let other_rows = rt.block_on(other.prepare(ROWS_SQL)).unwrap();
        let other_one = rt.block_on(other.prepare("SELECT 1")).unwrap();
        Side {
            server,
            rt,
            mine,
            other,
            rows,
            other_rows,
            one,
            other_one,
            cfg,
            other_cfg,
            _cluster: cluster,
        }
    }

    fn limit() -> Side {
        let port = start_limit_server();
        let conninfo =
            format!("host=127.0.0.1 port={port} user=bench dbname=bench sslmode=disable");
        // The limit server speaks 3.0 only (tokio-postgres asks for 3.0 too).
        Side::new("limit", &conninfo, "max_protocol_version=3.0", None)
    }

    fn postgres() -> Option<Side> {
        let pg = match PgCluster::start("client-bench", &[]) {
            Ok(pg) => pg,
            Err(why) => {
                println!("SKIPPED client bench against PostgreSQL: {why}");
                return None;
            }
        };
        let conninfo = format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=disable",
            pg.port
        );
        Some(Side::new("postgres", &conninfo, "", Some(pg)))
    }
}

// ------------------------------------------------------------ workloads

async fn rows_binary_ours(c: &mut Client, st: &Statement) {
    let mut s = c.query_stream(st, &[]).await.unwrap();
    let mut sum = 0i64;
    while let Some(r) = s.next().await.unwrap() {
        sum += r.get::<i64>(0);
        black_box(r.get::<&str>(1));
        black_box(r.get::<f64>(2));
    }
    assert_eq!(sum, 500_000_500_000);
}

async fn rows_binary_theirs(c: &tokio_postgres::Client, st: &tokio_postgres::Statement) {
    let s = c.query_raw(st, std::iter::empty::<i32>()).await.unwrap();
    futures_util::pin_mut!(s);
    let mut sum = 0i64;
    while let Some(r) = s.next().await {
        let r = r.unwrap();
        sum += r.get::<_, i64>(0);
        black_box(r.get::<_, &str>(1));
        black_box(r.get::<_, f64>(2));
    }
    assert_eq!(sum, 500_000_500_000);
}

async fn rows_text_ours(c: &mut Client) {
    let mut s = c.simple_query_stream(ROWS_SQL).await.unwrap();
    let mut n = 0;
    while let Some(m) = s.next().await.unwrap() {
        if let SimpleQueryMessage::Row(r) = m {
            black_box(r.get_text(0).unwrap());
            black_box(r.get_text(1).unwrap());
            black_box(r.get_text(2).unwrap());
            n += 1;
        }
    }
    assert_eq!(n, ROWS);
}

async fn rows_text_theirs(c: &tokio_postgres::Client) {
    // The streaming form, so neither side buffers the result.
    let s = c.simple_query_raw(ROWS_SQL).await.unwrap();
    futures_util::pin_mut!(s);
    let mut n = 0;
    while let Some(m) = s.next().await {
        if let tokio_postgres::SimpleQueryMessage::Row(r) = m.unwrap() {
            black_box(r.get(0));
            black_box(r.get(1));
            black_box(r.get(2));
            n += 1;
        }
    }
    assert_eq!(n, ROWS);
}

const DEPTH: usize = 32;

async fn select1_ours(c: &mut Client, st: &Statement) {
    let mut p = c.pipeline().await.unwrap();
    for _ in 0..DEPTH {
        p.query(st, &[]).unwrap();
    }
    for r in p.run().await.unwrap() {
        assert_eq!(r.unwrap().rows[0].get::<i32>(0), 1);
    }
}

async fn select1_theirs(c: &tokio_postgres::Client, st: &tokio_postgres::Statement) {
    // tokio-postgres pipelines concurrent requests on one connection.
    let all = join_all((0..DEPTH).map(|_| c.query(st, &[]))).await;
    for r in all {
        assert_eq!(r.unwrap()[0].get::<_, i32>(0), 1);
    }
}

async fn connect_ours(cfg: &Config) {
    Client::connect(cfg).await.unwrap().close().await.unwrap()
}

async fn connect_theirs(cfg: &tokio_postgres::Config) {
    let (c, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
    let h = tokio::spawn(conn);
    drop(c);
    let _ = h.await;
}

// ------------------------------------------------------------ criterion

fn criterion_benches<M: Measurement>(c: &mut Criterion<M>, side: &mut Side) {
    let Side {
        server,
        rt,
        mine,
        other,
        rows,
        other_rows,
        one,
        other_one,
        cfg,
        other_cfg,
        ..
    } = side;

    let mut g = c.benchmark_group(format!("{server}/read_1m_rows"));
    g.throughput(Throughput::Elements(ROWS));
    g.bench_function("binary/pgwire", |b| {
        b.iter(|| rt.block_on(rows_binary_ours(mine, rows)))
    });
    g.bench_function("binary/tokio-postgres", |b| {
        b.iter(|| rt.block_on(rows_binary_theirs(other, other_rows)))
    });
    g.bench_function("text/pgwire", |b| {
        b.iter(|| rt.block_on(rows_text_ours(mine)))
    });
    g.bench_function("text/tokio-postgres", |b| {
        b.iter(|| rt.block_on(rows_text_theirs(other)))
    });
    g.finish();

    let mut g = c.benchmark_group(format!("{server}/pipelined_select1_depth32"));
    g.throughput(Throughput::Elements(DEPTH as u64));
    g.bench_function("pgwire", |b| {
        b.iter(|| rt.block_on(select1_ours(mine, one)))
    });
    g.bench_function("tokio-postgres", |b| {
        b.iter(|| rt.block_on(select1_theirs(other, other_one)))
    });
    g.finish();

    let mut g = c.benchmark_group(format!("{server}/connect_close"));
    g.bench_function("pgwire", |b| b.iter(|| rt.block_on(connect_ours(cfg))));
    g.bench_function("tokio-postgres", |b| {
        b.iter(|| rt.block_on(connect_theirs(other_cfg)))
    });
    g.finish();
}

/// CPU time of the calling thread (`/proc/thread-self/schedstat`: time on
/// a CPU, in nanoseconds), formatted as durations.
struct ThreadCpu;

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux) is needed for the CPU measurements")
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns() - start
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WallTime.formatter()
    }
}

// --------------------------------------------------------------- paired

/// Wall and thread-CPU time (seconds) per run of `n` runs of a workload.
macro_rules! timed {
    ($rt:expr, $n:expr, $workload:expr) => {{
        let (t, cpu) = (Instant::now(), thread_cpu_ns());
        for _ in 0..$n {
            $rt.block_on($workload);
        }
        let n = f64::from($n);
        (
            t.elapsed().as_secs_f64() / n,
            (thread_cpu_ns() - cpu) as f64 / 1e9 / n,
        )
    }};
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One workload in `rounds` rounds, each running both clients back to
/// back (alternating who goes first); prints a table row.
fn paired(
    name: &str,
    rounds: u32,
    mut ours: impl FnMut() -> (f64, f64),
    mut theirs: impl FnMut() -> (f64, f64),
) {
    // Warm-up: connections, caches, the server's plans.
    ours();
    theirs();
    // Per round: wall and CPU of ours, of theirs, and their ratios.
    let [mut ow, mut oc, mut tw, mut tc, mut rw, mut rc]: [Vec<f64>; 6] = Default::default();
    for round in 0..rounds {
        let (o, t) = if round % 2 == 0 {
            let o = ours();
            (o, theirs())
        } else {
            let t = theirs();
            (ours(), t)
        };
        ow.push(o.0);
        oc.push(o.1);
        tw.push(t.0);
        tc.push(t.1);
        rw.push(t.0 / o.0);
        rc.push(t.1 / o.1);
    }
    let fmt = |s: f64| {
        if s >= 1e-3 {
            format!("{:.2} ms", s * 1e3)
        } else {
            format!("{:.1} us", s * 1e6)
        }
    };
    println!(
        "| {name} | {} | {} | {:.2}x | {} | {} | {:.2}x |",
        fmt(median(&mut ow)),
        fmt(median(&mut tw)),
        median(&mut rw),
        fmt(median(&mut oc)),
        fmt(median(&mut tc)),
        median(&mut rc),
    );
}

/// The workloads' names (after `limit/` or `postgres/`) in paired mode.
const WORKLOADS: [&str; 4] = [
    "read_1m_rows/binary",
    "read_1m_rows/text",
    "pipelined_select1_depth32",
    "connect_close",
];

fn paired_benches(side: &mut Side, rounds: u32, filter: &str) {
    let Side {
        server,
        rt,
        mine,
        other,
        rows,
        other_rows,
        one,
        other_one,
        cfg,
        other_cfg,
        ..
    } = side;
    let rt = &*rt;
    // Runs per timing: enough for a few hundred milliseconds each.
    let connects = if *server == "limit" { 300 } else { 40 };
    let wanted = |i: usize| format!("{server}/{}", WORKLOADS[i]).contains(filter);
    if wanted(0) {
        paired(
            &format!("{server}/{}", WORKLOADS[0]),
            rounds,
            || timed!(rt, 1, rows_binary_ours(mine, rows)),
            || timed!(rt, 1, rows_binary_theirs(other, other_rows)),
        );
    }
    if wanted(1) {
        paired(
            &format!("{server}/{}", WORKLOADS[1]),
            rounds,
            || timed!(rt, 1, rows_text_ours(mine)),
            || timed!(rt, 1, rows_text_theirs(other)),
        );
    }
    if wanted(2) {
        paired(
            &format!("{server}/{}", WORKLOADS[2]),
            rounds,
            || timed!(rt, 1000, select1_ours(mine, one)),
            || timed!(rt, 1000, select1_theirs(other, other_one)),
        );
    }
    if wanted(3) {
        paired(
            &format!("{server}/{}", WORKLOADS[3]),
            rounds,
            || timed!(rt, connects, connect_ours(cfg)),
            || timed!(rt, connects, connect_theirs(other_cfg)),
        );
    }
}

fn main() {
    if let Some(rounds) = std::env::var_os("PGWIRE_BENCH_PAIRED") {
        let rounds = rounds.to_str().and_then(|r| r.parse().ok()).unwrap_or(5);
        let filter = std::env::args()
            .skip(1)
            .find(|a| !a.starts_with('-'))
            .unwrap_or_default();
        println!(
            "| workload | pgwire wall | tokio-postgres wall | ratio | pgwire CPU | tokio-postgres CPU | ratio |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let wanted = |server: &str| {
            WORKLOADS
                .iter()
                .any(|w| format!("{server}/{w}").contains(&filter))
        };
        if wanted("limit") {
            paired_benches(&mut Side::limit(), rounds, &filter);
        }
        if wanted("postgres") {
            if let Some(mut side) = Side::postgres() {
                paired_benches(&mut side, rounds, &filter);
            }
        }
        return;
    }
    let mut sides = vec![Side::limit()];
    sides.extend(Side::postgres());
    if std::env::var_os("PGWIRE_BENCH_CPU").is_some() {
        let mut c = Criterion::default()
            .sample_size(10)
            .with_measurement(ThreadCpu)
            .configure_from_args();
        for side in &mut sides {
            criterion_benches(&mut c, side);
        }
        c.final_summary();
    } else {
        let mut c = Criterion::default().sample_size(10).configure_from_args();
        for side in &mut sides {
            criterion_benches(&mut c, side);
        }
        c.final_summary();
    }
}
