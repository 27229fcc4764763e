//! Large in-progress transactions streamed by PostgreSQL 15 (`streaming
//! 'on'`, protocol 2+, `logical_decoding_work_mem=64kB`), committed and
//! rolled back, and two-phase commit (`two_phase 'on'`, protocol 3),
//! received through `pgwire::client::LogicalReplicationStream`.

#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;
#[path = "common/replication_pg.rs"]
mod replication_pg;

use std::time::Duration;

use pgwire::client::LogicalReplicationEvent;
use pgwire::replication::pgoutput_options::{PgOutputOptions, Streaming};
use pgwire::replication::{Lsn, PgOutputMessage, TupleValue};
use replication_pg::*;

const LIMIT: Duration = Duration::from_secs(60);
const ROWS: i32 = 5000;

fn is(m: &PgOutputMessage, name: &str) -> bool {
    m.name() == name
}

/// The ids of the inserts into streamed transactions, in order.
fn inserted_ids(events: &[LogicalReplicationEvent]) -> Vec<i32> {
    events
        .iter()
        .filter_map(|e| match &e.message {
            PgOutputMessage::Insert(i) if i.xid.is_some() => i
                .new
                .get(0)
                .and_then(|v| v.as_text())
                .map(|t| t.parse().unwrap()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn large_transactions_stream_in_progress_commit_and_abort() {
    let Some(pg) = start("repl-stream") else {
        return;
    };
    let sql = pg.connect().await;
    sql.batch_execute(
        "CREATE TABLE big (id int PRIMARY KEY, pad text);
         CREATE TABLE small (id int);
         CREATE PUBLICATION p FOR ALL TABLES;",
    )
    .await
    .unwrap();
    let mut repl = replication_client(&pg, "database").await;
    repl.create_logical_slot("s", "pgoutput", false)
        .await
        .unwrap();

    let insert = |from: i32, to: i32| {
        format!(
            "INSERT INTO big SELECT i, repeat('x', 100) || i FROM generate_series({from}, {to}) i"
        )
    };
    // A committed large transaction, an aborted one, then a small marker.
    sql.batch_execute(&format!("BEGIN; {}; COMMIT;", insert(1, ROWS)))
        .await
        .unwrap();
    sql.batch_execute(&format!("BEGIN; {}; ROLLBACK;", insert(ROWS + 1, 2 * ROWS)))
        .await
        .unwrap();
    sql.batch_execute("INSERT INTO small VALUES (1)")
        .await
        .unwrap();

    let mut stream = repl
        .start_logical_replication(
            "s",
            Lsn::INVALID,
            &[
                ("proto_version", "2"),
                ("publication_names", "p"),
                ("streaming", "on"),
            ],
        )
        .await
        .unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| {
        ev.last().is_some_and(|e| is(&e.message, "Commit"))
    })
    .await;

    // The committed one: in several blocks, every change with its xid,
    // then Stream Commit; all rows in order with their values.
    let starts: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.message {
            PgOutputMessage::StreamStart(s) => Some(*s),
            _ => None,
        })
        .collect();
    assert!(
        starts.len() >= 2,
        "expected several stream blocks, got {}",
        starts.len()
    );
    let committed_xid = starts[0].xid;
    assert!(starts[0].first_segment);
    let commit_at = events
        .iter()
        .position(
            |e| matches!(&e.message, PgOutputMessage::StreamCommit(c) if c.xid == committed_xid),
        )
        .expect("a Stream Commit for the first transaction");
    let committed = &events[..commit_at];
    assert_eq!(inserted_ids(committed), (1..=ROWS).collect::<Vec<_>>());
    for e in committed {
        match &e.message {
            PgOutputMessage::Insert(i) => {
                assert_eq!(i.xid, Some(committed_xid));
                let id = i.new.get(0).unwrap().as_text().unwrap();
                assert_eq!(
                    i.new.get(1),
                    Some(TupleValue::Text(
                        format!("{}{id}", "x".repeat(100)).as_bytes()
                    ))
                );
            }
            PgOutputMessage::Relation(r) => assert_eq!(r.xid, Some(committed_xid)),
            _ => {}
        }
    }
    // No Begin/Commit around a streamed transaction.
    assert_eq!(count(committed, |m| is(m, "Begin") || is(m, "Commit")), 0);
    assert_eq!(
        count(committed, |m| is(m, "Stream Start")),
        count(committed, |m| is(m, "Stream Stop"))
    );

    // The rolled-back one: streamed, then reported as aborted.
    let rest = &events[commit_at + 1..];
    let aborted_xid = rest
        .iter()
        .find_map(|e| match &e.message {
            PgOutputMessage::StreamStart(s) => Some(s.xid),
            _ => None,
        })
        .expect("the rolled-back transaction was streamed");
    assert_ne!(aborted_xid, committed_xid);
    let abort = rest
        .iter()
        .find_map(|e| match &e.message {
            PgOutputMessage::StreamAbort(a) => Some(*a),
            _ => None,
        })
        .expect("a Stream Abort");
    assert_eq!((abort.xid, abort.subxid), (aborted_xid, aborted_xid));
    assert_eq!(abort.abort, None, "protocol 2 carries no abort position");
    let streamed_ids = inserted_ids(rest);
    assert!(!streamed_ids.is_empty());
    assert!(streamed_ids.iter().all(|id| *id > ROWS));
    // Then the marker, as an ordinary transaction.
    let tail: Vec<String> = events
        .iter()
        .rev()
        .filter_map(|e| render(&stream, e))
        .take(3)
        .collect();
    assert_eq!(tail, ["commit", "insert small (1)", "begin"]);
    let last = events.last().unwrap().confirm_lsn().unwrap();
    stream.confirm(last);
    stream.finish().await.unwrap();
    assert!(wait_confirmed(&sql, "s", last).await >= last);
}

#[tokio::test]
async fn two_phase_commit_is_decoded_at_prepare() {
    let Some(pg) = start("repl-2pc") else { return };
    let sql = pg.connect().await;
    sql.batch_execute("CREATE TABLE t (id int, pad text); CREATE PUBLICATION p FOR TABLE t;")
        .await
        .unwrap();
    let mut repl = replication_client(&pg, "database").await;
    repl.create_logical_slot("s", "pgoutput", true)
        .await
        .unwrap();
    // Typed options this time (the same as proto_version '3',
    // publication_names 'p', two_phase 'on', streaming 'on').
    let mut options = PgOutputOptions::new(3, ["p"]);
    options.two_phase = true;
    options.streaming = Streaming::On;
    let mut stream = repl
        .start_pgoutput_replication("s", Lsn::INVALID, &options)
        .await
        .unwrap();

    sql.batch_execute("BEGIN; INSERT INTO t VALUES (1, 'one'); PREPARE TRANSACTION 'g1';")
        .await
        .unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| {
        ev.last().is_some_and(|e| is(&e.message, "Prepare"))
    })
    .await;
    let got: Vec<String> = events.iter().filter_map(|e| render(&stream, e)).collect();
    assert_eq!(got, ["begin prepare g1", "insert t (1,one)", "prepare g1"]);
    // The prepare is decoded before the commit: confirm it.
    stream.confirm(events.last().unwrap().confirm_lsn().unwrap());

    sql.batch_execute("COMMIT PREPARED 'g1'").await.unwrap();
    sql.batch_execute("BEGIN; INSERT INTO t VALUES (2, 'two'); PREPARE TRANSACTION 'g2';")
        .await
        .unwrap();
    sql.batch_execute("ROLLBACK PREPARED 'g2'").await.unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| {
        ev.last()
            .is_some_and(|e| is(&e.message, "Rollback Prepared"))
    })
    .await;
    let got: Vec<String> = events.iter().filter_map(|e| render(&stream, e)).collect();
    assert_eq!(
        got,
        [
            "commit prepared g1",
            "begin prepare g2",
            "insert t (2,two)",
            "prepare g2",
            "rollback prepared g2"
        ]
    );
    let PgOutputMessage::CommitPrepared(c) = &events[0].message else {
        unreachable!()
    };
    assert!(c.end_lsn > c.commit_lsn);

    // A large prepared transaction is streamed, then Stream Prepare.
    sql.batch_execute(&format!(
        "BEGIN; INSERT INTO t SELECT i, repeat('y', 100) FROM generate_series(1, {ROWS}) i; PREPARE TRANSACTION 'g3';"
    ))
    .await
    .unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| {
        ev.last().is_some_and(|e| is(&e.message, "Stream Prepare"))
    })
    .await;
    assert!(count(&events, |m| is(m, "Stream Start")) >= 2);
    assert_eq!(count(&events, |m| is(m, "Insert")), ROWS as usize);
    let PgOutputMessage::StreamPrepare(p) = &events.last().unwrap().message else {
        unreachable!()
    };
    assert_eq!(p.gid, "g3");
    sql.batch_execute("COMMIT PREPARED 'g3'").await.unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| {
        ev.last().is_some_and(|e| is(&e.message, "Commit Prepared"))
    })
    .await;
    let PgOutputMessage::CommitPrepared(c) = &events.last().unwrap().message else {
        unreachable!()
    };
    assert_eq!(c.gid, "g3");
    stream.finish().await.unwrap();
}
