//! What the SQLite example publishes beyond plain changes, consumed by
//! real clients: pgwire's own `LogicalReplicationStream` and PostgreSQL
//! 15's `pg_recvlogical`. Temporary slots (dropped with their session),
//! `binary 'true'` tuple data, large transactions streamed in blocks
//! (`streaming 'on'`), logical decoding messages
//! (`pg_logical_emit_message`, `messages 'true'`) and real commit times.

mod common;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;
#[path = "common/replication_pg.rs"]
mod replication_pg;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use pgwire::client::{Client, LogicalReplicationEvent};
use pgwire::replication::command::{CommandOption, CreateReplicationSlot, OptionValue, SlotKind};
use pgwire::replication::timestamp::pg_timestamp_now;
use pgwire::replication::{Lsn, PgOutputMessage, TupleValue};
use pgwire::server::ServerConfig;
use replication_pg::{count, read_until, render};
use sqlite_server::{DbLocation, SqliteServer};
use tokio_postgres::SimpleQueryMessage;

const LIMIT: Duration = Duration::from_secs(30);

fn server() -> TestServer<SqliteServer> {
    TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    )
}

async fn replication_client(port: u16) -> Client {
    Client::connect_str(&format!(
        "host=127.0.0.1 port={port} user=postgres dbname=postgres replication=database"
    ))
    .await
    .expect("replication connection")
}

/// The rows of a simple query, columns joined with `|`.
async fn rows(client: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("NULL").to_owned())
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            _ => None,
        })
        .collect()
}

fn logical_slot(name: &str, temporary: bool) -> CreateReplicationSlot {
    CreateReplicationSlot {
        slot: name.to_owned(),
        temporary,
        kind: SlotKind::Logical {
            plugin: "pgoutput".into(),
        },
        options: vec![CommandOption::new(
            "snapshot",
            OptionValue::String("nothing".into()),
        )],
    }
}

fn commits(events: &[LogicalReplicationEvent]) -> usize {
    count(events, |m| {
        matches!(
            m,
            PgOutputMessage::Commit(_) | PgOutputMessage::StreamCommit(_)
        )
    })
}

/// Waits until `sql` gives `want`.
async fn wait_for_rows(client: &tokio_postgres::Client, sql: &str, want: &[&str]) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let got = rows(client, sql).await;
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "{sql}: {got:?}, want {want:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn temporary_slots_live_as_long_as_their_session() {
    let s = server();
    let sql = s.connect().await;
    sql.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION p FOR TABLE t",
    )
    .await
    .unwrap();
    let slots = "SELECT slot_name, temporary, active FROM pg_replication_slots ORDER BY slot_name";

    let mut repl = replication_client(s.port()).await;
    let created = repl
        .create_replication_slot(&logical_slot("tmp", true))
        .await
        .unwrap();
    assert_eq!(created.slot_name, "tmp");
    // In use by its session from the start, as in PostgreSQL.
    wait_for_rows(&sql, slots, &["tmp|t|t"]).await;
    let mut other = replication_client(s.port()).await;
    let err = other
        .start_logical_replication(
            "tmp",
            Lsn::INVALID,
            &[("proto_version", "1"), ("publication_names", "p")],
        )
        .await
        .err()
        .expect("another session may not use a temporary slot");
    assert_eq!(err.sqlstate(), "55006", "{err}");
    let err = other
        .drop_replication_slot("tmp", false)
        .await
        .expect_err("nor drop it");
    assert_eq!(err.sqlstate(), "55006", "{err}");

    // Its own session streams from it, twice (the slot stays held).
    sql.batch_execute("INSERT INTO t VALUES (1, 'a')")
        .await
        .unwrap();
    for round in 0..2 {
        let mut stream = repl
            .start_logical_replication(
                "tmp",
                Lsn::INVALID,
                &[("proto_version", "1"), ("publication_names", "p")],
            )
            .await
            .unwrap();
        if round == 1 {
            sql.batch_execute("INSERT INTO t VALUES (2, 'b')")
                .await
                .unwrap();
        }
        let events = read_until(&mut stream, LIMIT, |ev| commits(ev) == 1).await;
        let got: Vec<String> = events.iter().filter_map(|e| render(&stream, e)).collect();
        let want = if round == 0 {
            "insert t (1,a)"
        } else {
            "insert t (2,b)"
        };
        assert_eq!(got, ["begin", want, "commit"]);
        let end = events.last().and_then(|e| e.confirm_lsn()).unwrap();
        stream.confirm(end);
        stream.finish().await.unwrap();
    }
    wait_for_rows(&sql, slots, &["tmp|t|t"]).await;

    // The session may drop its own temporary slot.
    repl.create_replication_slot(&logical_slot("tmp_dropped", true))
        .await
        .unwrap();
    repl.drop_replication_slot("tmp_dropped", false)
        .await
        .unwrap();
    wait_for_rows(&sql, slots, &["tmp|t|t"]).await;

    // A permanent slot beside it stays when the session ends.
    repl.create_replication_slot(&logical_slot("kept", false))
        .await
        .unwrap();
    repl.close().await.unwrap();
    wait_for_rows(&sql, slots, &["kept|f|f"]).await;

    // pg_create_logical_replication_slot(name, plugin, temporary => true)
    // on a normal connection: the same, with that connection.
    let session = s.connect().await;
    let lsn = rows(
        &session,
        "SELECT * FROM pg_create_logical_replication_slot('sql_tmp', 'pgoutput', true)",
    )
    .await;
    assert!(lsn[0].starts_with("sql_tmp|"), "{lsn:?}");
    wait_for_rows(&sql, slots, &["kept|f|f", "sql_tmp|t|t"]).await;
    drop(session);
    wait_for_rows(&sql, slots, &["kept|f|f"]).await;
    other.close().await.unwrap();
}

#[tokio::test]
async fn binary_tuple_data_uses_the_type_encoders() {
    let s = server();
    let sql = s.connect().await;
    sql.batch_execute(
        "CREATE TABLE v (id int PRIMARY KEY, big bigint, f float8, b bool, t text, n numeric, d date);
         CREATE PUBLICATION p FOR TABLE v",
    )
    .await
    .unwrap();
    let mut repl = replication_client(s.port()).await;
    repl.create_replication_slot(&logical_slot("bin", false))
        .await
        .unwrap();
    sql.batch_execute(
        "INSERT INTO v VALUES (7, -9000000000, 2.5, true, 'tëxt', 1.5, '2024-02-29');
         UPDATE v SET id = 8 WHERE id = 7",
    )
    .await
    .unwrap();
    let mut stream = repl
        .start_logical_replication(
            "bin",
            Lsn::INVALID,
            &[
                ("proto_version", "1"),
                ("publication_names", "p"),
                ("binary", "true"),
            ],
        )
        .await
        .unwrap();
    // One transaction (one simple query).
    let events = read_until(&mut stream, LIMIT, |ev| commits(ev) == 1).await;
    let tuples: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.message {
            PgOutputMessage::Insert(i) => Some(i.new.clone()),
            PgOutputMessage::Update(u) => Some(u.old.as_ref().unwrap().tuple().clone()),
            _ => None,
        })
        .collect();
    assert_eq!(tuples.len(), 2);
    let insert: Vec<TupleValue<'_>> = tuples[0].iter().collect();
    let mut numeric = bytes::BytesMut::new();
    pgwire::types::text::text_to_binary(&pgwire::types::Type::NUMERIC, "1.5", &mut numeric)
        .unwrap();
    assert_eq!(
        insert,
        [
            TupleValue::Binary(&7i32.to_be_bytes()),
            TupleValue::Binary(&(-9_000_000_000i64).to_be_bytes()),
            TupleValue::Binary(&2.5f64.to_be_bytes()),
            TupleValue::Binary(&[1]),
            TupleValue::Binary("tëxt".as_bytes()),
            TupleValue::Binary(&numeric),
            // Days from 2000-01-01.
            TupleValue::Binary(&8825i32.to_be_bytes()),
        ]
    );
    // The old key of the update: binary key, NULL for the rest.
    let old: Vec<TupleValue<'_>> = tuples[1].iter().collect();
    assert_eq!(old[0], TupleValue::Binary(&7i32.to_be_bytes()));
    assert!(old[1..].iter().all(|v| *v == TupleValue::Null), "{old:?}");
    stream.finish().await.unwrap();
}

#[tokio::test]
async fn large_transactions_are_streamed_in_blocks() {
    let s = server();
    let sql = s.connect().await;
    sql.batch_execute("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION p FOR TABLE t")
        .await
        .unwrap();
    let mut repl = replication_client(s.port()).await;
    repl.create_replication_slot(&logical_slot("st", false))
        .await
        .unwrap();
    sql.batch_execute(
        "INSERT INTO t VALUES (0);
         INSERT INTO t SELECT x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1200) SELECT x FROM c);
         BEGIN; INSERT INTO t SELECT 5000 + x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500) SELECT x FROM c); ROLLBACK;
         INSERT INTO t VALUES (-1);",
    )
    .await
    .unwrap();
    let options = [
        ("proto_version", "2"),
        ("publication_names", "p"),
        ("streaming", "on"),
    ];
    let mut stream = repl
        .start_logical_replication("st", Lsn::INVALID, &options)
        .await
        .unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| commits(ev) == 3).await;
    let kinds: Vec<String> = events
        .iter()
        .filter_map(|e| render(&stream, e))
        .filter(|r| !r.starts_with("insert"))
        .collect();
    // The small transactions as usual; the large one in blocks of 500
    // changes, then its commit. The rolled-back one was never sent.
    assert_eq!(
        kinds,
        [
            "begin",
            "commit",
            "stream start first=true",
            "stream stop",
            "stream start first=false",
            "stream stop",
            "stream start first=false",
            "stream stop",
            "stream commit",
            "begin",
            "commit"
        ]
    );
    // Every streamed change carries the transaction id; the Relation was
    // sent again inside the streamed transaction.
    let start = events
        .iter()
        .position(|e| matches!(e.message, PgOutputMessage::StreamStart(_)))
        .unwrap();
    let PgOutputMessage::StreamStart(first) = &events[start].message else {
        unreachable!()
    };
    let streamed: Vec<&PgOutputMessage> = events[start..]
        .iter()
        .map(|e| &e.message)
        .take_while(|m| !matches!(m, PgOutputMessage::StreamCommit(_)))
        .collect();
    let inserts = streamed
        .iter()
        .filter(|m| matches!(m, PgOutputMessage::Insert(i) if i.xid == Some(first.xid)))
        .count();
    assert_eq!(inserts, 1200);
    assert!(
        streamed
            .iter()
            .any(|m| matches!(m, PgOutputMessage::Relation(r) if r.xid == Some(first.xid)))
    );
    let PgOutputMessage::StreamCommit(commit) = &events
        .iter()
        .find(|e| matches!(e.message, PgOutputMessage::StreamCommit(_)))
        .unwrap()
        .message
    else {
        unreachable!()
    };
    assert_eq!(commit.xid, first.xid);
    stream.confirm(commit.end_lsn);
    stream.finish().await.unwrap();

    // Without streaming the same slot sends a large transaction whole.
    sql.batch_execute(
        "INSERT INTO t SELECT 9000 + x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1100) SELECT x FROM c)",
    )
    .await
    .unwrap();
    let mut stream = repl
        .start_logical_replication(
            "st",
            Lsn::INVALID,
            &[("proto_version", "2"), ("publication_names", "p")],
        )
        .await
        .unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| {
        ev.iter().any(|e| {
            matches!(&e.message, PgOutputMessage::Insert(i) if i.new.get(0).and_then(|v| v.as_text()) == Some("10100"))
        }) && commits(ev) >= 1
    })
    .await;
    assert_eq!(
        count(&events, |m| matches!(m, PgOutputMessage::StreamStart(_))),
        0
    );
    stream.finish().await.unwrap();
}

/// PostgreSQL's client program `name`, if installed.
fn pg_program(name: &str) -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join(name);
    bin.exists().then_some(bin)
}

#[tokio::test]
async fn logical_messages_and_commit_times() {
    let s = server();
    let sql = s.connect().await;
    sql.batch_execute("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION p FOR TABLE t")
        .await
        .unwrap();
    let mut repl = replication_client(s.port()).await;
    repl.create_replication_slot(&logical_slot("msg", false))
        .await
        .unwrap();
    repl.create_replication_slot(&logical_slot("nomsg", false))
        .await
        .unwrap();

    // A transaction block that commits well after its last change: the
    // commit time is when COMMIT ran.
    sql.batch_execute("BEGIN; INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    let lsn = rows(&sql, "SELECT pg_logical_emit_message(true, 'pfx', 'in tx')").await;
    assert!(lsn[0].contains('/'), "{lsn:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before_commit = pg_timestamp_now();
    sql.batch_execute("COMMIT").await.unwrap();
    let after_commit = pg_timestamp_now();
    rows(
        &sql,
        "SELECT pg_logical_emit_message(false, 'pfx', 'at once')",
    )
    .await;
    // Rolled back: its transactional message goes with it.
    sql.batch_execute("BEGIN; SELECT pg_logical_emit_message(true, 'pfx', 'never'); ROLLBACK")
        .await
        .unwrap();
    let before_insert = pg_timestamp_now();
    sql.batch_execute("INSERT INTO t VALUES (2)").await.unwrap();
    let after_insert = pg_timestamp_now();

    let mut stream = repl
        .start_logical_replication(
            "msg",
            Lsn::INVALID,
            &[
                ("proto_version", "1"),
                ("publication_names", "p"),
                ("messages", "true"),
            ],
        )
        .await
        .unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| commits(ev) == 2).await;
    let got: Vec<String> = events.iter().filter_map(|e| render(&stream, e)).collect();
    assert_eq!(
        got,
        [
            "begin",
            "insert t (1)",
            "message pfx in tx",
            "commit",
            "message (now) pfx at once",
            "begin",
            "insert t (2)",
            "commit"
        ]
    );
    let times: Vec<(i64, i64)> = events
        .iter()
        .filter_map(|e| match &e.message {
            PgOutputMessage::Begin(b) => Some((b.commit_time, 0)),
            PgOutputMessage::Commit(c) => Some((0, c.commit_time)),
            _ => None,
        })
        .collect();
    // Begin and Commit carry the same time, the real one.
    let (begin1, commit1, begin2, commit2) = (times[0].0, times[1].1, times[2].0, times[3].1);
    assert_eq!(begin1, commit1);
    assert_eq!(begin2, commit2);
    assert!(
        (before_commit..=after_commit).contains(&commit1),
        "commit time {commit1} not in [{before_commit}, {after_commit}]"
    );
    assert!(
        (before_insert..=after_insert).contains(&commit2),
        "commit time {commit2} not in [{before_insert}, {after_insert}]"
    );
    // Not the time of sending.
    assert!(events[0].send_time > after_insert);
    stream.finish().await.unwrap();

    // Without `messages`, none.
    let mut stream = repl
        .start_logical_replication(
            "nomsg",
            Lsn::INVALID,
            &[("proto_version", "1"), ("publication_names", "p")],
        )
        .await
        .unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| commits(ev) == 2).await;
    assert_eq!(
        count(&events, |m| matches!(m, PgOutputMessage::Message(_))),
        0
    );
    stream.finish().await.unwrap();
    repl.close().await.unwrap();

    // pg_recvlogical with plugin options and an end position: it prints
    // the messages and stops by itself at --endpos.
    let Some(bin) = pg_program("pg_recvlogical") else {
        println!("SKIPPED logical_messages_and_commit_times (pg_recvlogical part): not installed");
        return;
    };
    let end = rows(
        &sql,
        "SELECT pg_logical_emit_message(false, 'pfx', 'the end')",
    )
    .await;
    sql.batch_execute("INSERT INTO t VALUES (3)").await.unwrap();
    let out = std::env::temp_dir().join(format!("pgwire-recvlogical-msg-{}", std::process::id()));
    let port = s.port();
    let (bin2, out2, end) = (bin.clone(), out.clone(), end[0].clone());
    let status = tokio::task::spawn_blocking(move || {
        Command::new(bin2)
            .args([
                "-d",
                &format!("host=127.0.0.1 port={port} dbname=postgres user=postgres"),
                "--slot",
                "msg",
                "--start",
                "-o",
                "proto_version=1",
                "-o",
                "publication_names=p",
                "-o",
                "messages=true",
                "--endpos",
                &end,
                "--no-loop",
                "-f",
            ])
            .arg(&out2)
            .status()
    })
    .await
    .unwrap()
    .expect("pg_recvlogical");
    assert!(status.success(), "pg_recvlogical: {status}");
    let written = std::fs::read(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    let text = String::from_utf8_lossy(&written);
    // It stopped by itself (--no-loop, exit status 0) at the end
    // position, after printing the message there.
    assert!(text.contains("the end"), "{text:?}");
}

/// The streamed transaction's events, rendered, without its inserts
/// (counted instead).
fn outline(events: &[LogicalReplicationEvent]) -> (Vec<String>, usize) {
    let mut kinds = Vec::new();
    let mut inserts = 0;
    for e in events {
        match &e.message {
            PgOutputMessage::Insert(_) => inserts += 1,
            PgOutputMessage::Relation(_) => {}
            PgOutputMessage::StreamStart(s) => {
                kinds.push(format!("stream start first={}", s.first_segment))
            }
            PgOutputMessage::StreamStop => kinds.push("stream stop".into()),
            PgOutputMessage::StreamCommit(_) => kinds.push("stream commit".into()),
            PgOutputMessage::StreamAbort(a) => {
                assert_eq!(a.xid, a.subxid);
                kinds.push("stream abort".into())
            }
            PgOutputMessage::Begin(_) => kinds.push("begin".into()),
            PgOutputMessage::Commit(_) => kinds.push("commit".into()),
            other => kinds.push(other.name().into()),
        }
    }
    (kinds, inserts)
}

/// `n` inserts streamed, and the block they are in closed.
fn sent_in_blocks(events: &[LogicalReplicationEvent], n: usize) -> bool {
    let (kinds, inserts) = outline(events);
    inserts == n && kinds.last().map(String::as_str) == Some("stream stop")
}

#[tokio::test]
async fn transactions_in_progress_are_streamed_and_aborted() {
    let s = server();
    let sql = s.connect().await;
    sql.batch_execute("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION p FOR TABLE t")
        .await
        .unwrap();
    let mut repl = replication_client(s.port()).await;
    repl.create_replication_slot(&logical_slot("live", false))
        .await
        .unwrap();
    let mut stream = repl
        .start_logical_replication(
            "live",
            Lsn::INVALID,
            &[
                ("proto_version", "2"),
                ("publication_names", "p"),
                ("streaming", "on"),
            ],
        )
        .await
        .unwrap();
    let rows_from = |from: u32, n: u32| {
        format!(
            "INSERT INTO t SELECT {from} + x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) SELECT x FROM c)"
        )
    };
    let writer = s.connect().await;

    // Streamed while in progress: the rows arrive before COMMIT.
    writer.batch_execute("BEGIN").await.unwrap();
    writer.batch_execute(&rows_from(0, 1200)).await.unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| sent_in_blocks(ev, 1200)).await;
    let (kinds, _) = outline(&events);
    assert_eq!(kinds[0], "stream start first=true");
    assert!(!kinds.contains(&"stream commit".to_owned()), "{kinds:?}");
    writer.batch_execute(&rows_from(5000, 10)).await.unwrap();
    writer.batch_execute("COMMIT").await.unwrap();
    let more = read_until(&mut stream, LIMIT, |ev| commits(ev) == 1).await;
    let (kinds, inserts) = outline(&more);
    assert_eq!(inserts, 10, "the rest, once: {kinds:?}");
    assert_eq!(kinds.last().map(String::as_str), Some("stream commit"));
    assert!(
        kinds.contains(&"stream start first=false".to_owned()),
        "{kinds:?}"
    );

    // Rolled back after rows were sent: Stream Abort.
    writer.batch_execute("BEGIN").await.unwrap();
    writer
        .batch_execute(&rows_from(10_000, 1100))
        .await
        .unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| sent_in_blocks(ev, 1100)).await;
    assert_eq!(outline(&events).0[0], "stream start first=true");
    writer.batch_execute("ROLLBACK").await.unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| {
        outline(ev).0.contains(&"stream abort".to_owned())
    })
    .await;
    assert_eq!(outline(&events).1, 0);

    // A savepoint rollback takes back rows already sent: they are
    // aborted, and the transaction goes whole at its commit.
    writer.batch_execute("BEGIN; SAVEPOINT a").await.unwrap();
    writer
        .batch_execute(&rows_from(20_000, 1100))
        .await
        .unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| sent_in_blocks(ev, 1100)).await;
    assert_eq!(outline(&events).0[0], "stream start first=true");
    writer
        .batch_execute(&format!("ROLLBACK TO a; {}; COMMIT", rows_from(30_000, 3)))
        .await
        .unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| commits(ev) == 1).await;
    let (kinds, inserts) = outline(&events);
    assert_eq!(kinds, ["stream abort", "begin", "commit"], "{kinds:?}");
    assert_eq!(inserts, 3);
    let got: Vec<String> = events.iter().filter_map(|e| render(&stream, e)).collect();
    assert!(got.contains(&"insert t (30001)".to_owned()), "{got:?}");
    stream.finish().await.unwrap();
    assert_eq!(rows(&sql, "SELECT count(*) FROM t").await, ["1213"]);
}
