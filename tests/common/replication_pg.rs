//! Helpers for the replication consumer tests: a throwaway PostgreSQL with
//! `wal_level=logical`, replication connections through `pgwire::client`,
//! and `pgoutput` changes rendered as short strings to compare in order.
//! Included with `#[path]` next to `common/postgres.rs`.
#![allow(dead_code)]

use std::time::Duration;

use pgwire::client::{Client, LogicalReplicationEvent, LogicalReplicationStream};
use pgwire::replication::pgoutput::OldTuple;
use pgwire::replication::{Lsn, PgOutputMessage, TupleData, TupleValue};

use super::postgres::Postgres;

/// Server options for logical decoding with small memory (so large
/// transactions are streamed) and prepared transactions.
pub const LOGICAL_CONF: &str = "-c wal_level=logical -c max_wal_senders=10 \
     -c max_replication_slots=10 -c logical_decoding_work_mem=64kB \
     -c max_prepared_transactions=10 -c wal_sender_timeout=60s";

/// Starts the cluster, or prints `SKIPPED` and returns `None`.
pub fn start(name: &str) -> Option<Postgres> {
    match Postgres::start(name, LOGICAL_CONF) {
        Ok(pg) => Some(pg),
        Err(why) => {
            eprintln!("SKIPPED: {why}");
            None
        }
    }
}

/// A replication connection (`replication=database`, or `true` for
/// physical) through `pgwire::client`.
pub async fn replication_client(pg: &Postgres, mode: &str) -> Client {
    Client::connect_str(&format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres replication={mode}",
        pg.port
    ))
    .await
    .expect("replication connection")
}

fn tuple(t: &TupleData) -> String {
    let cols: Vec<String> = t
        .iter()
        .map(|v| match v {
            TupleValue::Null => "NULL".to_owned(),
            TupleValue::UnchangedToast => "<unchanged>".to_owned(),
            TupleValue::Text(b) => {
                let s = String::from_utf8_lossy(b);
                if s.len() > 40 {
                    format!("<{} bytes>", s.len())
                } else {
                    s.into_owned()
                }
            }
            TupleValue::Binary(b) => format!("<binary {} bytes>", b.len()),
        })
        .collect();
    format!("({})", cols.join(","))
}

fn old(o: &OldTuple) -> String {
    match o {
        OldTuple::Key(t) => format!("K{}", tuple(t)),
        OldTuple::Full(t) => format!("O{}", tuple(t)),
    }
}

/// One change as a short string: `insert t (1,a)`, `update t K(1,NULL) (2,a)`,
/// `delete t O(1,a)`, `truncate t,u`, `message pfx hello`, `begin`,
/// `commit`... Relation and Type messages render as `None` (skipped).
pub fn render(
    stream: &LogicalReplicationStream<'_>,
    e: &LogicalReplicationEvent,
) -> Option<String> {
    let name = |oid: u32| {
        stream
            .relation(oid)
            .map(|r| r.name.to_string())
            .unwrap_or_else(|| format!("oid {oid}"))
    };
    Some(match &e.message {
        PgOutputMessage::Begin(_) => "begin".into(),
        PgOutputMessage::Commit(_) => "commit".into(),
        PgOutputMessage::Relation(_) | PgOutputMessage::Type(_) | PgOutputMessage::Origin(_) => {
            return None;
        }
        PgOutputMessage::Insert(i) => format!("insert {} {}", name(i.relation_oid), tuple(&i.new)),
        PgOutputMessage::Update(u) => match &u.old {
            Some(o) => format!(
                "update {} {} {}",
                name(u.relation_oid),
                old(o),
                tuple(&u.new)
            ),
            None => format!("update {} {}", name(u.relation_oid), tuple(&u.new)),
        },
        PgOutputMessage::Delete(d) => format!("delete {} {}", name(d.relation_oid), old(&d.old)),
        PgOutputMessage::Truncate(t) => {
            let names: Vec<String> = t.relation_oids.iter().map(|o| name(*o)).collect();
            let mut s = format!("truncate {}", names.join(","));
            if t.cascade() {
                s.push_str(" cascade");
            }
            if t.restart_identity() {
                s.push_str(" restart");
            }
            s
        }
        PgOutputMessage::Message(m) => format!(
            "message{} {} {}",
            if m.transactional() { "" } else { " (now)" },
            m.prefix,
            String::from_utf8_lossy(&m.content)
        ),
        PgOutputMessage::StreamStart(s) => format!("stream start first={}", s.first_segment),
        PgOutputMessage::StreamStop => "stream stop".into(),
        PgOutputMessage::StreamCommit(_) => "stream commit".into(),
        PgOutputMessage::StreamAbort(a) => {
            format!(
                "stream abort{}",
                if a.xid == a.subxid { "" } else { " (subxact)" }
            )
        }
        PgOutputMessage::BeginPrepare(b) => format!("begin prepare {}", b.gid),
        PgOutputMessage::Prepare(p) => format!("prepare {}", p.gid),
        PgOutputMessage::StreamPrepare(p) => format!("stream prepare {}", p.gid),
        PgOutputMessage::CommitPrepared(c) => format!("commit prepared {}", c.gid),
        PgOutputMessage::RollbackPrepared(r) => format!("rollback prepared {}", r.gid),
    })
}

/// Reads events until `done` says so (given all events so far), failing
/// after `limit`. Returns the events.
pub async fn read_until(
    stream: &mut LogicalReplicationStream<'_>,
    limit: Duration,
    mut done: impl FnMut(&[LogicalReplicationEvent]) -> bool,
) -> Vec<LogicalReplicationEvent> {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    while !done(&events) {
        let next = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| {
                let names: Vec<String> =
                    events.iter().map(|e| format!("{:?}", e.message)).collect();
                panic!("timed out; events so far:\n{}", names.join("\n"))
            })
            .expect("replication stream")
            .expect("the server ended the stream");
        events.push(next);
    }
    events
}

/// Counts messages of a kind.
pub fn count(events: &[LogicalReplicationEvent], f: impl Fn(&PgOutputMessage) -> bool) -> usize {
    events.iter().filter(|e| f(&e.message)).count()
}

/// The slot's `confirmed_flush_lsn`.
pub async fn confirmed_flush(sql: &tokio_postgres::Client, slot: &str) -> Lsn {
    let row = sql
        .query_one(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .expect("pg_replication_slots");
    let text: String = row.get(0);
    text.parse().expect("an LSN")
}

/// Waits until the slot's `confirmed_flush_lsn` reaches `at_least`;
/// returns it.
pub async fn wait_confirmed(sql: &tokio_postgres::Client, slot: &str, at_least: Lsn) -> Lsn {
    for _ in 0..100 {
        let now = confirmed_flush(sql, slot).await;
        if now >= at_least {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "confirmed_flush_lsn of {slot} stayed at {} (< {at_least})",
        confirmed_flush(sql, slot).await
    );
}

/// Restarts the cluster (`pg_ctl restart -m fast`, same options), as
/// `nobody` when we are root like `Postgres::start`.
pub fn restart(pg: &Postgres) {
    let bindir = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .expect("pg_config");
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let pg_ctl = format!("{bindir}/pg_ctl");
    let data = pg.dir.join("data");
    let log = pg.dir.join("log");
    let args = [
        "-D",
        data.to_str().unwrap(),
        "-l",
        log.to_str().unwrap(),
        "-m",
        "fast",
        "-w",
        "restart",
    ];
    let status = if root {
        std::process::Command::new("runuser")
            .args(["-u", "nobody", "--", &pg_ctl])
            .args(args)
            .status()
    } else {
        std::process::Command::new(&pg_ctl).args(args).status()
    }
    .expect("pg_ctl restart");
    assert!(status.success(), "pg_ctl restart failed");
}
