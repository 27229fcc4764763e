//! A real PostgreSQL 15 subscribes to the SQLite example:
//! `CREATE SUBSCRIPTION ... PUBLICATION p` copies the published tables'
//! rows (the subscriber's table sync: a slot created with `SNAPSHOT 'use'`
//! in a transaction, catalog queries, `COPY ... TO STDOUT`), then applies
//! the inserts, updates and deletes made on the example afterwards. Both
//! sides' tables are compared.

mod common;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::time::{Duration, Instant};

use common::*;
use pgwire::server::ServerConfig;
use postgres::Postgres;
use sqlite_server::{DbLocation, SqliteServer};
use tokio_postgres::{Client, SimpleQueryMessage};

/// The rows of `sql` as text, one string per row.
async fn rows(client: &Client, sql: &str) -> Vec<String> {
    client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
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

/// Waits until `sql` gives the same rows on both sides.
async fn wait_until_equal(publisher: &Client, subscriber: &Client, sql: &str, pg: &Postgres) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let want = rows(publisher, sql).await;
        let got = rows(subscriber, sql).await;
        if want == got {
            return;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(pg.dir.join("log")).unwrap_or_default();
            let first = |v: &[String]| v.iter().take(5).cloned().collect::<Vec<_>>();
            panic!(
                "subscriber never caught up on {sql}:\npublisher {} rows {:?}...\nsubscriber {} rows {:?}...\nsubscriber log:\n{log}",
                want.len(),
                first(&want),
                got.len(),
                first(&got)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn postgres_subscribes_to_the_sqlite_example() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let pg = match Postgres::start("subscriber", "") {
        Ok(pg) => pg,
        Err(e) => {
            println!("SKIPPED postgres_subscribes_to_the_sqlite_example: {e}");
            return;
        }
    };
    let s = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let publisher = s.connect().await;
    let schema = "CREATE TABLE items (id int PRIMARY KEY, name text, score float8, active bool);
                  CREATE TABLE tags (item int, tag text)";
    publisher.batch_execute(schema).await.unwrap();
    publisher
        .batch_execute(
            "INSERT INTO items VALUES (1, 'one', 1.5, true), (2, 'two', NULL, false), (3, 'it''s \"3\"', -0.25, NULL);
             INSERT INTO tags VALUES (1, 'a'), (1, 'b'), (3, NULL);
             CREATE PUBLICATION p FOR TABLE items, tags;",
        )
        .await
        .unwrap();

    let subscriber = pg.connect().await;
    subscriber.batch_execute(schema).await.unwrap();
    subscriber
        .batch_execute(&format!(
            "CREATE SUBSCRIPTION s CONNECTION 'host=127.0.0.1 port={} dbname=postgres user=postgres' PUBLICATION p",
            s.port()
        ))
        .await
        .unwrap_or_else(|e| panic!("CREATE SUBSCRIPTION: {e:?}"));

    let items = "SELECT id, name, score, active FROM items ORDER BY id";
    let tags = "SELECT item, tag FROM tags ORDER BY item, tag";
    // The initial copy.
    wait_until_equal(&publisher, &subscriber, items, &pg).await;
    wait_until_equal(&publisher, &subscriber, tags, &pg).await;
    assert_eq!(rows(&subscriber, "SELECT count(*) FROM items").await, ["3"]);

    // Then the changes, in and out of transaction blocks.
    for transaction in [
        "INSERT INTO items VALUES (4, 'four', 4.0, true)",
        "UPDATE items SET name = 'ONE', score = score * 2 WHERE id = 1",
        "DELETE FROM items WHERE id = 2",
        "BEGIN; INSERT INTO items VALUES (5, 'five', 5, false); UPDATE items SET id = 30 WHERE id = 3; COMMIT",
        "BEGIN; INSERT INTO items VALUES (6, 'never', 6, true); ROLLBACK",
        "INSERT INTO tags VALUES (4, 'new')",
        "DELETE FROM tags WHERE tag = 'a'",
    ] {
        execute_retrying(&publisher, transaction).await;
    }
    wait_until_equal(&publisher, &subscriber, items, &pg).await;
    wait_until_equal(&publisher, &subscriber, tags, &pg).await;
    assert_eq!(
        rows(&subscriber, "SELECT id FROM items ORDER BY id").await,
        ["1", "4", "5", "30"]
    );

    // A transaction larger than one read of the change log, mixed with
    // changes to a table the publication does not hold.
    publisher
        .batch_execute("CREATE TABLE unpublished (x int)")
        .await
        .unwrap();
    execute_retrying(
        &publisher,
        "BEGIN;
             INSERT INTO unpublished SELECT x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500) SELECT x FROM c);
             INSERT INTO items SELECT 100 + x, 'bulk ' || x, x / 4.0, x % 2 = 0 FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2500) SELECT x FROM c);
             INSERT INTO unpublished VALUES (0);
             UPDATE items SET name = upper(name) WHERE id % 7 = 0;
             COMMIT;",
    )
    .await;
    wait_until_equal(&publisher, &subscriber, items, &pg).await;
    assert_eq!(
        rows(&subscriber, "SELECT count(*) FROM items").await,
        ["2504"]
    );

    // The subscription's slot advances on the publisher.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let slots = rows(
            &publisher,
            "SELECT slot_name, confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 's'",
        )
        .await;
        let identify = rows(&publisher, "SELECT 1").await;
        assert_eq!(identify, ["1"]);
        if slots.len() == 1 && !slots[0].ends_with("|0/0") {
            break;
        }
        assert!(Instant::now() < deadline, "slot s: {slots:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    subscriber
        .batch_execute("DROP SUBSCRIPTION s")
        .await
        .unwrap();
    // Dropping the subscription dropped its slot on the publisher.
    assert!(
        rows(&publisher, "SELECT slot_name FROM pg_replication_slots")
            .await
            .is_empty()
    );
}

/// Runs one transaction on the example, again if it failed with 55P03
/// (the database was busy) or 40001: the subscriber's slots write their
/// confirmed positions to the database, and a transaction block that read
/// before such a write cannot write after it (SQLite's snapshot conflict,
/// reported as PostgreSQL's serialization failure, which clients retry).
async fn execute_retrying(client: &Client, transaction: &str) {
    for attempt in 1.. {
        match client.batch_execute(transaction).await {
            Ok(()) => return,
            Err(e)
                if attempt < 5
                    && e.code()
                        .is_some_and(|c| matches!(c.code(), "55P03" | "40001")) =>
            {
                client.batch_execute("ROLLBACK").await.ok();
            }
            Err(e) => panic!("{transaction}: {e:?}"),
        }
    }
}

/// A subscriber and the SQLite example publishing `schema`'s tables
/// (created on both sides) in publication `p`; `None` (after a SKIPPED
/// line) without PostgreSQL.
async fn publisher_and_subscriber(
    test: &str,
    schema: &str,
) -> Option<(Postgres, TestServer<SqliteServer>, Client, Client)> {
    let pg = match Postgres::start(test, "") {
        Ok(pg) => pg,
        Err(e) => {
            println!("SKIPPED {test}: {e}");
            return None;
        }
    };
    let s = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let publisher = s.connect().await;
    publisher.batch_execute(schema).await.unwrap();
    publisher
        .batch_execute("CREATE PUBLICATION p FOR ALL TABLES")
        .await
        .unwrap();
    let subscriber = pg.connect().await;
    subscriber.batch_execute(schema).await.unwrap();
    Some((pg, s, publisher, subscriber))
}

async fn subscribe(subscriber: &Client, port: u16, name: &str, with: &str) {
    subscriber
        .batch_execute(&format!(
            "CREATE SUBSCRIPTION {name} CONNECTION 'host=127.0.0.1 port={port} dbname=postgres user=postgres' PUBLICATION p WITH ({with})"
        ))
        .await
        .unwrap_or_else(|e| panic!("CREATE SUBSCRIPTION: {e:?}"));
}

/// `WITH (binary = true)`: the example sends values in binary with the
/// library's encoders; the subscriber reads them with each type's
/// receive function, which checks the bytes (a wrong length or layout is
/// an error in its log, and the tables would differ).
#[tokio::test]
async fn postgres_subscribes_in_binary() {
    let schema = "CREATE TABLE vals (id int PRIMARY KEY, i8 bigint, i2 smallint, t text, \
                  f8 float8, f4 real, b bool, n numeric, by bytea, d date, ts timestamp, \
                  tz timestamptz, u uuid, j jsonb)";
    let Some((pg, s, publisher, subscriber)) =
        publisher_and_subscriber("subscriber-binary", schema).await
    else {
        return;
    };
    publisher
        .batch_execute(
            "INSERT INTO vals VALUES (1, 9000000000, -3, 'héllo', 1.25, 0.5, true, 12.345, '\\x00ff10', \
             '2024-02-29', '2024-01-02 03:04:05.678', '2024-01-02 03:04:05+00', \
             'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}')",
        )
        .await
        .unwrap();
    subscribe(&subscriber, s.port(), "s_binary", "binary = true").await;
    let all = "SELECT id, i8, i2, t, f8, f4, b, n, by, d, ts, tz, u, j FROM vals ORDER BY id";
    wait_until_equal(&publisher, &subscriber, all, &pg).await;
    for transaction in [
        "INSERT INTO vals VALUES (2, -1, 32767, '', -0.0, 1e10, false, -0.001, '\\x', \
         '1999-12-31', '2000-01-01 00:00:00', '1970-01-01 00:00:00+00', \
         '00000000-0000-0000-0000-000000000000', '[]')",
        "INSERT INTO vals (id) VALUES (3)",
        "UPDATE vals SET t = 'changed', n = 99.5, by = '\\xdeadbeef' WHERE id = 1",
        "DELETE FROM vals WHERE id = 2",
        "INSERT INTO vals (id, i8, t) VALUES (4, 4, 'four')",
    ] {
        execute_retrying(&publisher, transaction).await;
    }
    wait_until_equal(&publisher, &subscriber, all, &pg).await;
    assert_eq!(
        rows(&subscriber, "SELECT id, t, n, by FROM vals ORDER BY id").await,
        [
            "1|changed|99.5|\\xdeadbeef",
            "3|NULL|NULL|NULL",
            "4|four|NULL|NULL"
        ]
    );
    // The apply worker took every value: no error in its log.
    let log = std::fs::read_to_string(pg.dir.join("log")).unwrap_or_default();
    assert!(!log.contains("incorrect binary data format"), "{log}");
}

/// `WITH (streaming = on)`: a transaction larger than the example's
/// threshold goes out in Stream Start / Stop blocks and a Stream Commit,
/// which the subscriber spools and applies at the commit; a large
/// transaction rolled back leaves nothing, and later transactions go on.
#[tokio::test]
async fn postgres_subscribes_with_streaming() {
    let schema = "CREATE TABLE big (id int PRIMARY KEY, v text); CREATE TABLE small (id int)";
    let Some((pg, s, publisher, subscriber)) =
        publisher_and_subscriber("subscriber-streaming", schema).await
    else {
        return;
    };
    subscribe(&subscriber, s.port(), "s_streaming", "streaming = on").await;
    let series = |n: u32| {
        format!(
            "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) SELECT x FROM c)"
        )
    };
    let large = format!(
        "BEGIN;
         INSERT INTO big SELECT x, 'row ' || x FROM {};
         INSERT INTO small VALUES (1);
         UPDATE big SET v = upper(v) WHERE id % 3 = 0;
         DELETE FROM big WHERE id % 10 = 0;
         COMMIT;",
        series(3000)
    );
    execute_retrying(&publisher, &large).await;
    let big = "SELECT id, v FROM big ORDER BY id";
    let small = "SELECT id FROM small ORDER BY id";
    wait_until_equal(&publisher, &subscriber, big, &pg).await;
    wait_until_equal(&publisher, &subscriber, small, &pg).await;
    assert_eq!(
        rows(&subscriber, "SELECT count(*) FROM big").await,
        ["2700"]
    );

    // Rolled back after it was streamed in progress: Stream Abort, and
    // the subscriber drops what it spooled.
    let gone = format!(
        "BEGIN; INSERT INTO big SELECT 10000 + x, 'gone' FROM {}; ROLLBACK;
         INSERT INTO small VALUES (2);",
        series(2000)
    );
    execute_retrying(&publisher, &gone).await;
    wait_until_equal(&publisher, &subscriber, small, &pg).await;
    wait_until_equal(&publisher, &subscriber, big, &pg).await;
    assert_eq!(
        rows(&subscriber, "SELECT count(*) FROM big WHERE v = 'gone'").await,
        ["0"]
    );
}
