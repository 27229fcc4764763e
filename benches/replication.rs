//! Logical replication throughput: changes per second decoded from a real
//! PostgreSQL 15 for one 1,000,000-row INSERT, by
//! `pgwire::client::LogicalReplicationStream` (every column of every row
//! visited) and by `pg_recvlogical` writing the same `pgoutput` stream to
//! /dev/null, each on its own slot of the same kind, twice, alternating.
//!
//! Opt-in (it starts a cluster and takes about a minute):
//!
//! ```sh
//! PGWIRE_REPLICATION_BENCH=1 cargo bench --bench replication
//! ```
//!
//! `ROWS=N` changes the row count. Without the variable it only measures
//! the client's decoding of 1,000,000 changes from memory.

#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod postgres;

use std::process::Command;
use std::time::{Duration, Instant};

use pgwire::client::Client;
use pgwire::replication::{Lsn, PgOutputMessage, TupleValue};

/// This process's CPU time (user + system), from /proc (Linux); zero
/// elsewhere.
fn cpu_time() -> Duration {
    proc_stat_ticks(11..13)
}

/// The CPU time of this process's finished (waited-for) children.
fn children_cpu_time() -> Duration {
    proc_stat_ticks(13..15)
}

/// The sum of fields of /proc/self/stat (counted after the command name)
/// in clock ticks of 1/100 s.
fn proc_stat_ticks(fields_range: std::ops::Range<usize>) -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime, stime, cutime, cstime are fields 14 to 17 of the whole line:
    // 12 to 15 after the name.
    let ticks: u64 = fields
        .get(fields_range)
        .map(|f| f.iter().filter_map(|t| t.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

async fn ours(port: u16, slot: &str) -> (u64, Duration, Duration) {
    let mut client = Client::connect_str(&format!(
        "host=127.0.0.1 port={port} user=postgres dbname=postgres replication=database"
    ))
    .await
    .expect("replication connection");
    let started = Instant::now();
    let cpu_started = cpu_time();
    let mut stream = client
        .start_logical_replication(
            slot,
            Lsn::INVALID,
            &[("proto_version", "1"), ("publication_names", "p")],
        )
        .await
        .expect("START_REPLICATION");
    let (mut rows, mut bytes) = (0u64, 0usize);
    while let Some(event) = stream.next().await.expect("stream") {
        match &event.message {
            PgOutputMessage::Insert(i) => {
                rows += 1;
                for v in &i.new {
                    if let TupleValue::Text(b) = v {
                        bytes += b.len();
                    }
                }
            }
            PgOutputMessage::Commit(c) => {
                stream.confirm(c.end_lsn);
                break;
            }
            _ => {}
        }
    }
    let elapsed = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_started);
    assert!(bytes > 0);
    stream.finish().await.expect("finish");
    (rows, elapsed, cpu)
}

fn pg_recvlogical(bindir: &str, port: u16, slot: &str, endpos: Lsn) -> (Duration, Duration) {
    let started = Instant::now();
    let cpu_started = children_cpu_time();
    let out = Command::new(format!("{bindir}/pg_recvlogical"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "--slot",
            slot,
            "--start",
            "--no-loop",
            &format!("--endpos={endpos}"),
            "-o",
            "proto_version=1",
            "-o",
            "publication_names=p",
            "-f",
            "/dev/null",
        ])
        .output()
        .expect("run pg_recvlogical");
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "pg_recvlogical failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (elapsed, children_cpu_time().saturating_sub(cpu_started))
}

/// The client's decoding alone, without a server: CopyData frames holding
/// XLogData with a `pgoutput` Insert of three text columns, decoded the
/// way the stream does (backend decoder, XLogData, pgoutput, every column).
fn codec_only(changes: u64) {
    use bytes::BytesMut;
    use pgwire::messages::{BackendDecoder, BackendMessage};
    use pgwire::replication::pgoutput::Insert;
    use pgwire::replication::{PgOutputDecoder, ReplicationMessage, TupleData, XLogData};

    let mut wire = BytesMut::new();
    for i in 0..changes {
        let id = i.to_string();
        let v = format!("value {i}");
        let n = (i * 7).to_string();
        let insert = PgOutputMessage::Insert(Insert {
            xid: None,
            relation_oid: 16384,
            new: TupleData::from_values([
                TupleValue::Text(id.as_bytes()),
                TupleValue::Text(v.as_bytes()),
                TupleValue::Text(n.as_bytes()),
            ]),
        });
        pgwire::replication::copy_both::put_copy_data_with(&mut wire, |b| {
            XLogData::encode_header(b, Lsn(i), Lsn(i), 0);
            insert.encode(b);
        });
    }
    let started = Instant::now();
    let mut decoder = BackendDecoder::new();
    let mut pgoutput = PgOutputDecoder::new();
    let mut bytes = 0usize;
    while let Some(BackendMessage::CopyData(d)) = decoder.decode(&mut wire).unwrap() {
        let ReplicationMessage::XLogData(x) = ReplicationMessage::decode(d.data).unwrap() else {
            unreachable!()
        };
        if let PgOutputMessage::Insert(i) = pgoutput.decode(x.data).unwrap() {
            for v in &i.new {
                if let TupleValue::Text(b) = v {
                    bytes += b.len();
                }
            }
        }
    }
    let t = started.elapsed();
    assert!(bytes > 0);
    println!(
        "codec only: {changes} changes decoded in {:.3} s: {:.0} ns/change, {:.0} changes/s",
        t.as_secs_f64(),
        t.as_nanos() as f64 / changes as f64,
        changes as f64 / t.as_secs_f64()
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    codec_only(1_000_000);
    if std::env::var_os("PGWIRE_REPLICATION_BENCH").is_none() {
        println!("SKIPPED: set PGWIRE_REPLICATION_BENCH=1 to run the replication throughput bench");
        return;
    }
    let rows: u64 = std::env::var("ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000_000);
    let bindir = String::from_utf8(
        Command::new("pg_config")
            .arg("--bindir")
            .output()
            .expect("pg_config")
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let pg = postgres::Postgres::start(
        "repl-bench",
        // Enough decoding memory that the transaction is not spilled to
        // disk: the server's share of the time is smaller, the clients'
        // difference shows more.
        "-c wal_level=logical -c max_wal_senders=10 -c max_replication_slots=10 \
         -c logical_decoding_work_mem=2GB",
    )
    .expect("start PostgreSQL");
    let sql = pg.connect().await;
    sql.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY, v text, n bigint);
         CREATE PUBLICATION p FOR TABLE t;",
    )
    .await
    .unwrap();
    // Alternating, so a warmer server or a busier machine favours neither.
    let slots = ["ours_1", "recv_1", "recv_2", "ours_2"];
    for slot in slots {
        sql.execute(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
            &[&slot],
        )
        .await
        .unwrap();
    }
    sql.execute(
        &format!("INSERT INTO t SELECT i, 'value ' || i, i * 7 FROM generate_series(1, {rows}) i"),
        &[],
    )
    .await
    .unwrap();
    let endpos: String = sql
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await
        .unwrap()
        .get(0);
    let endpos: Lsn = endpos.parse().unwrap();

    println!("| run | client | changes | seconds | changes/s |");
    println!("|---|---|---|---|---|");
    let mut ours_best = f64::MAX;
    let mut recv_best = f64::MAX;
    let (mut ours_cpu, mut recv_cpu) = (f64::MAX, f64::MAX);
    for (i, slot) in slots.iter().enumerate() {
        if slot.starts_with("ours") {
            let (got, t, cpu) = ours(pg.port, slot).await;
            assert_eq!(got, rows, "every row decoded");
            ours_best = ours_best.min(t.as_secs_f64());
            ours_cpu = ours_cpu.min(cpu.as_secs_f64());
            println!(
                "| {} | pgwire LogicalReplicationStream (client CPU {:.2} s) | {got} | {:.2} | {:.0} |",
                i + 1,
                cpu.as_secs_f64(),
                t.as_secs_f64(),
                got as f64 / t.as_secs_f64()
            );
        } else {
            let (t, cpu) = pg_recvlogical(&bindir, pg.port, slot, endpos);
            let confirmed: String = sql
                .query_one(
                    "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
                    &[slot],
                )
                .await
                .unwrap()
                .get(0);
            recv_best = recv_best.min(t.as_secs_f64());
            recv_cpu = recv_cpu.min(cpu.as_secs_f64());
            println!(
                "| {} | pg_recvlogical -f /dev/null (client CPU {:.2} s; slot at {confirmed}) | {rows} | {:.2} | {:.0} |",
                i + 1,
                cpu.as_secs_f64(),
                t.as_secs_f64(),
                rows as f64 / t.as_secs_f64()
            );
        }
    }
    println!(
        "best of 2: pgwire {:.0} changes/s, pg_recvlogical {:.0} changes/s, ratio {:.2}x",
        rows as f64 / ours_best,
        rows as f64 / recv_best,
        recv_best / ours_best
    );
    println!(
        "client CPU per change (best of 2): pgwire {:.0} ns, pg_recvlogical {:.0} ns",
        ours_cpu * 1e9 / rows as f64,
        recv_cpu * 1e9 / rows as f64
    );
}
