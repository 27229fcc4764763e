//! The logical replication consumer (`pgwire::client::LogicalReplicationStream`)
//! against a real PostgreSQL 15 with `wal_level=logical`: every kind of
//! change arrives in order with its values (INSERT/UPDATE/DELETE with
//! REPLICA IDENTITY DEFAULT and FULL, TRUNCATE, logical messages, an
//! unchanged TOASTed value), the slot's `confirmed_flush_lsn` follows what
//! the consumer confirms, and a restarted consumer resumes from it
//! without loss or duplicates. Streamed (in-progress) transactions,
//! committed and aborted, and two-phase commit have their own tests.

#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;
#[path = "common/replication_pg.rs"]
mod replication_pg;

use std::time::Duration;

use pgwire::replication::{Lsn, PgOutputMessage};
use replication_pg::*;

const LIMIT: Duration = Duration::from_secs(30);

fn rendered(
    stream: &pgwire::client::LogicalReplicationStream<'_>,
    events: &[pgwire::client::LogicalReplicationEvent],
) -> Vec<String> {
    events.iter().filter_map(|e| render(stream, e)).collect()
}

fn commits(events: &[pgwire::client::LogicalReplicationEvent]) -> usize {
    count(events, |m| matches!(m, PgOutputMessage::Commit(_)))
}

#[tokio::test]
async fn changes_arrive_in_order_with_their_values_and_the_slot_advances() {
    let Some(pg) = start("repl-dml") else { return };
    let sql = pg.connect().await;
    sql.batch_execute(
        "CREATE TABLE t_default (id int PRIMARY KEY, v text);
         CREATE TABLE t_full (id int, v text);
         ALTER TABLE t_full REPLICA IDENTITY FULL;
         CREATE TABLE t_toast (id int PRIMARY KEY, n int, big text);
         ALTER TABLE t_toast ALTER COLUMN big SET STORAGE EXTERNAL;
         CREATE PUBLICATION p FOR ALL TABLES;",
    )
    .await
    .unwrap();

    let mut repl = replication_client(&pg, "database").await;
    let system = repl.identify_system().await.unwrap();
    assert_eq!(system.dbname.as_deref(), Some("postgres"));
    assert!(system.timeline >= 1);
    let slot = repl
        .create_logical_slot("s1", "pgoutput", false)
        .await
        .unwrap();
    assert_eq!(slot.slot_name, "s1");
    assert_eq!(slot.output_plugin.as_deref(), Some("pgoutput"));
    assert!(slot.consistent_point >= system.xlog_pos);

    // One transaction per entry (a multi-statement simple query would be
    // one implicit transaction).
    for statement in [
        "INSERT INTO t_default VALUES (1, 'a'), (2, NULL)",
        "UPDATE t_default SET v = 'b' WHERE id = 1",
        "UPDATE t_default SET id = 10 WHERE id = 1",
        "DELETE FROM t_default WHERE id = 10",
        "INSERT INTO t_full VALUES (1, 'a')",
        "UPDATE t_full SET v = 'b'",
        "DELETE FROM t_full",
        "BEGIN; INSERT INTO t_default VALUES (3, 'in tx');
         SELECT pg_logical_emit_message(true, 'pfx', 'transactional hello'); COMMIT",
        "SELECT pg_logical_emit_message(false, 'pfx', 'right now')",
        "TRUNCATE t_default, t_full",
        "INSERT INTO t_toast SELECT 1, 1, string_agg(md5(i::text), '') FROM generate_series(1, 500) i",
        "UPDATE t_toast SET n = 2 WHERE id = 1",
    ] {
        sql.batch_execute(statement).await.unwrap();
    }
    let toast_len: i32 = sql
        .query_one("SELECT length(big) FROM t_toast", &[])
        .await
        .unwrap()
        .get(0);

    let mut stream = repl
        .start_logical_replication(
            "s1",
            Lsn::INVALID,
            &[
                ("proto_version", "1"),
                ("publication_names", "p"),
                ("messages", "true"),
            ],
        )
        .await
        .unwrap();
    // 11 transactions plus the non-transactional message.
    let events = read_until(&mut stream, LIMIT, |ev| commits(ev) == 11).await;
    let got = rendered(&stream, &events);
    let toast_row = format!("insert t_toast (1,1,<{toast_len} bytes>)");
    let expected: Vec<&str> = vec![
        "begin",
        "insert t_default (1,a)",
        "insert t_default (2,NULL)",
        "commit",
        "begin",
        "update t_default (1,b)",
        "commit",
        "begin",
        "update t_default K(1,NULL) (10,b)",
        "commit",
        "begin",
        "delete t_default K(10,NULL)",
        "commit",
        "begin",
        "insert t_full (1,a)",
        "commit",
        "begin",
        "update t_full O(1,a) (1,b)",
        "commit",
        "begin",
        "delete t_full O(1,b)",
        "commit",
        "begin",
        "insert t_default (3,in tx)",
        "message pfx transactional hello",
        "commit",
        "message (now) pfx right now",
        "begin",
        "truncate t_default,t_full",
        "commit",
        "begin",
        &toast_row,
        "commit",
        "begin",
        // The TOASTed column was not changed: PostgreSQL does not send it.
        "update t_toast (1,2,<unchanged>)",
        "commit",
    ];
    assert_eq!(got, expected);
    // The relation cache knows the tables with their replica identity.
    let full = events
        .iter()
        .find_map(|e| match &e.message {
            PgOutputMessage::Relation(r) if r.name == "t_full" => Some(r.clone()),
            _ => None,
        })
        .expect("a Relation message for t_full");
    assert_eq!(full.namespace, "public");
    assert_eq!(
        full.replica_identity,
        pgwire::replication::pgoutput::ReplicaIdentity::Full
    );
    assert_eq!(full.columns.len(), 2);
    assert_eq!(full.columns[0].type_oid, 23);

    // Confirm up to the fourth commit and tell the server: the slot
    // records exactly that.
    let fourth = events
        .iter()
        .filter_map(|e| match &e.message {
            PgOutputMessage::Commit(c) => Some(c.end_lsn),
            _ => None,
        })
        .nth(3)
        .unwrap();
    let before = confirmed_flush(&sql, "s1").await;
    assert!(before < fourth, "{before} < {fourth}");
    stream.confirm(fourth);
    stream.send_status_update().await.unwrap();
    assert_eq!(wait_confirmed(&sql, "s1", fourth).await, fourth);

    // The interval sends updates by itself while the caller waits for data.
    let last = events.iter().rev().find_map(|e| e.confirm_lsn()).unwrap();
    stream.set_advance_on_keepalive(false);
    stream.confirm(last);
    stream.set_status_interval(Duration::from_millis(100));
    let _ = tokio::time::timeout(Duration::from_millis(600), stream.next()).await;
    assert_eq!(wait_confirmed(&sql, "s1", last).await, last);
    stream.finish().await.unwrap();

    // The connection runs commands again after the stream.
    assert_eq!(
        repl.identify_system().await.unwrap().system_id,
        system.system_id
    );
}

#[tokio::test]
async fn a_restarted_consumer_resumes_without_loss_or_duplicates() {
    let Some(pg) = start("repl-resume") else {
        return;
    };
    let sql = pg.connect().await;
    sql.batch_execute("CREATE TABLE r (id int PRIMARY KEY); CREATE PUBLICATION p FOR TABLE r;")
        .await
        .unwrap();
    let options = [("proto_version", "1"), ("publication_names", "p")];
    {
        let mut repl = replication_client(&pg, "database").await;
        repl.create_logical_slot("s", "pgoutput", false)
            .await
            .unwrap();
    }
    for i in 1..=3 {
        sql.execute("INSERT INTO r VALUES ($1)", &[&i])
            .await
            .unwrap();
    }

    // First run: handles transaction 1 and confirms it, sees 2 but stops
    // before confirming it (as if it crashed while handling 2).
    let confirmed_1 = {
        let mut repl = replication_client(&pg, "database").await;
        let mut stream = repl
            .start_logical_replication("s", Lsn::INVALID, &options)
            .await
            .unwrap();
        let events = read_until(&mut stream, LIMIT, |ev| commits(ev) == 2).await;
        let got = rendered(&stream, &events);
        assert_eq!(
            got,
            [
                "begin",
                "insert r (1)",
                "commit",
                "begin",
                "insert r (2)",
                "commit"
            ]
        );
        let first_commit = events.iter().find_map(|e| e.confirm_lsn()).unwrap();
        stream.set_advance_on_keepalive(false);
        stream.confirm(first_commit);
        stream.finish().await.unwrap();
        first_commit
    };
    assert_eq!(wait_confirmed(&sql, "s", confirmed_1).await, confirmed_1);
    // The server restarts too. PostgreSQL 15 writes a logical slot's
    // confirmed position to disk only with other slot changes, so after a
    // restart it may be older than what was confirmed: a consumer resumes
    // from the position it keeps itself, and the server skips what
    // committed before it.
    drop(sql);
    restart(&pg);
    let sql = pg.connect().await;
    assert!(confirmed_flush(&sql, "s").await <= confirmed_1);
    sql.execute("INSERT INTO r VALUES (4)", &[]).await.unwrap();

    // Second run, after the restart, from the slot's position: 2 again
    // (not confirmed), then 3 and 4; nothing before.
    let mut repl = replication_client(&pg, "database").await;
    let mut stream = repl
        .start_logical_replication("s", confirmed_1, &options)
        .await
        .unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| commits(ev) == 3).await;
    let inserts: Vec<String> = rendered(&stream, &events)
        .into_iter()
        .filter(|s| s.starts_with("insert"))
        .collect();
    assert_eq!(inserts, ["insert r (2)", "insert r (3)", "insert r (4)"]);
    let last = events.iter().rev().find_map(|e| e.confirm_lsn()).unwrap();
    stream.confirm(last);
    stream.finish().await.unwrap();
    assert!(wait_confirmed(&sql, "s", last).await >= last);

    // A third run sees nothing old, only what comes next. (On a new
    // connection: PostgreSQL 15 ends a second logical stream on the same
    // connection at once.)
    sql.execute("INSERT INTO r VALUES (5)", &[]).await.unwrap();
    let mut repl = replication_client(&pg, "database").await;
    let mut stream = repl
        .start_logical_replication("s", Lsn::INVALID, &options)
        .await
        .unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| commits(ev) == 1).await;
    assert_eq!(
        rendered(&stream, &events),
        ["begin", "insert r (5)", "commit"]
    );
    stream.finish().await.unwrap();
}

#[tokio::test]
async fn keepalives_advance_an_idle_slot_past_unpublished_transactions() {
    let Some(pg) = start("repl-idle") else { return };
    let sql = pg.connect().await;
    sql.batch_execute(
        "CREATE TABLE published (id int); CREATE TABLE other (id int);
         CREATE PUBLICATION p FOR TABLE published;",
    )
    .await
    .unwrap();
    let mut repl = replication_client(&pg, "database").await;
    repl.create_logical_slot("s", "pgoutput", false)
        .await
        .unwrap();
    let mut stream = repl
        .start_logical_replication(
            "s",
            Lsn::INVALID,
            &[("proto_version", "1"), ("publication_names", "p")],
        )
        .await
        .unwrap();
    stream.set_status_interval(Duration::from_millis(100));
    let start = confirmed_flush(&sql, "s").await;
    for i in 0..20 {
        sql.execute("INSERT INTO other VALUES ($1)", &[&i])
            .await
            .unwrap();
    }
    let wal_now: String = sql
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await
        .unwrap()
        .get(0);
    let wal_now: Lsn = wal_now.parse().unwrap();
    assert!(wal_now > start);
    // Nothing is published; keepalives (wal_sender_timeout/2, or at the
    // walsender's idle wakeups) let the slot move anyway.
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let _ = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
        if confirmed_flush(&sql, "s").await >= wal_now {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot stayed at {} (WAL at {wal_now})",
            confirmed_flush(&sql, "s").await
        );
    }
    // A stream dropped without `finish` is ended before the next request.
    drop(stream);
    assert_eq!(
        repl.identify_system().await.unwrap().dbname.as_deref(),
        Some("postgres")
    );
}

#[tokio::test]
async fn binary_mode_sends_binary_values() {
    let Some(pg) = start("repl-binary") else {
        return;
    };
    let sql = pg.connect().await;
    sql.batch_execute(
        "CREATE TABLE b (id int PRIMARY KEY, big int8, v text, n int);
         CREATE PUBLICATION p FOR TABLE b;",
    )
    .await
    .unwrap();
    let mut repl = replication_client(&pg, "database").await;
    repl.create_logical_slot("s", "pgoutput", false)
        .await
        .unwrap();
    sql.batch_execute("INSERT INTO b VALUES (7, -2, 'text', NULL)")
        .await
        .unwrap();
    let mut stream = repl
        .start_logical_replication(
            "s",
            Lsn::INVALID,
            &[
                ("proto_version", "2"),
                ("publication_names", "p"),
                ("binary", "true"),
            ],
        )
        .await
        .unwrap();
    let events = read_until(&mut stream, LIMIT, |ev| commits(ev) == 1).await;
    let insert = events
        .iter()
        .find_map(|e| match &e.message {
            PgOutputMessage::Insert(i) => Some(i.new.clone()),
            _ => None,
        })
        .unwrap();
    use pgwire::replication::TupleValue;
    let values: Vec<TupleValue<'_>> = insert.iter().collect();
    assert_eq!(
        values,
        [
            TupleValue::Binary(&7i32.to_be_bytes()),
            TupleValue::Binary(&(-2i64).to_be_bytes()),
            TupleValue::Binary(b"text"),
            TupleValue::Null,
        ]
    );
    stream.finish().await.unwrap();
}
