//! The SQLite example over the simple query protocol, with tokio-postgres
//! and raw protocol bytes: round trips, command tags, multi-statement
//! strings, SQLSTATEs, transaction status, isolation between sessions,
//! session commands, cancellation.

mod common;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::time::{Duration, Instant};

use common::*;
use pgwire::server::ServerConfig;
use sqlite_server::{DbLocation, SqliteServer};
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::error::SqlState;

fn server() -> TestServer<SqliteServer> {
    TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    )
}

/// The rows of a simple query's result, as optional strings.
fn rows(msgs: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    msgs.iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}

async fn query_rows(c: &tokio_postgres::Client, sql: &str) -> Vec<Vec<Option<String>>> {
    rows(&c.simple_query(sql).await.unwrap())
}

fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_owned()).unwrap_or_default()
}

/// Sends a simple query on a raw connection; returns the messages up to
/// ReadyForQuery.
async fn raw_query(c: &mut RawClient, sql: &str) -> Vec<RawMessage> {
    let mut body = sql.as_bytes().to_vec();
    body.push(0);
    c.send(&message(b'Q', &body)).await;
    c.read_until(b'Z').await
}

/// The command tags (CommandComplete) among `msgs`.
fn command_tags(msgs: &[RawMessage]) -> Vec<String> {
    msgs.iter()
        .filter(|m| m.tag == b'C')
        .map(|m| String::from_utf8_lossy(&m.body[..m.body.len() - 1]).into_owned())
        .collect()
}

fn status(msgs: &[RawMessage]) -> u8 {
    msgs.last().expect("messages").body[0]
}

#[tokio::test]
async fn round_trip_with_nulls_and_unicode() {
    let s = server();
    let c = s.connect().await;
    c.simple_query(
        "CREATE TABLE people (id integer PRIMARY KEY, name text, score double precision, \
         active boolean, born date, photo bytea)",
    )
    .await
    .unwrap();
    let inserted = c
        .simple_query(
            "INSERT INTO people VALUES \
             (1, 'Zoë 🦀 Ünïcødé', 9.5, true, '2024-01-31', x'00ff10'), \
             (2, NULL, NULL, false, NULL, NULL), \
             (3, 'it''s', -0.25, NULL, '1999-12-31', NULL)",
        )
        .await
        .unwrap();
    assert!(matches!(
        inserted.last(),
        Some(SimpleQueryMessage::CommandComplete(3))
    ));
    let got = query_rows(&c, "SELECT * FROM people ORDER BY id").await;
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        got,
        vec![
            vec![
                s("1"),
                s("Zoë 🦀 Ünïcødé"),
                s("9.5"),
                s("t"),
                s("2024-01-31"),
                s("\\x00ff10")
            ],
            vec![s("2"), None, None, s("f"), None, None],
            vec![s("3"), s("it's"), s("-0.25"), None, s("1999-12-31"), None],
        ]
    );
    let updated = c
        .simple_query("UPDATE people SET name = 'ß' WHERE name IS NULL OR id = 3")
        .await
        .unwrap();
    assert!(matches!(
        updated.last(),
        Some(SimpleQueryMessage::CommandComplete(2))
    ));
    let deleted = c
        .simple_query("DELETE FROM people WHERE id > 1")
        .await
        .unwrap();
    assert!(matches!(
        deleted.last(),
        Some(SimpleQueryMessage::CommandComplete(2))
    ));
    assert_eq!(
        query_rows(&c, "SELECT count(*), max(name) FROM people").await,
        vec![vec![s("1"), s("Zoë 🦀 Ünïcødé")]]
    );
}

#[tokio::test]
async fn command_tags_are_postgres_tags() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    let msgs = raw_query(
        &mut c,
        "CREATE TABLE t (a int PRIMARY KEY, b text); CREATE INDEX t_b ON t (b); \
         INSERT INTO t VALUES (1, 'x'), (2, 'y'); UPDATE t SET b = 'z'; SELECT * FROM t; \
         DELETE FROM t WHERE a = 1; INSERT INTO t VALUES (5, 'r') RETURNING a; \
         CREATE VIEW v AS SELECT a FROM t; DROP VIEW v; DROP INDEX t_b; \
         ALTER TABLE t ADD COLUMN c int; TRUNCATE t; SET x.y = 1; SHOW x.y; DROP TABLE t",
    )
    .await;
    assert_eq!(
        command_tags(&msgs),
        [
            "CREATE TABLE",
            "CREATE INDEX",
            "INSERT 0 2",
            "UPDATE 2",
            "SELECT 2",
            "DELETE 1",
            "INSERT 0 1",
            "CREATE VIEW",
            "DROP VIEW",
            "DROP INDEX",
            "ALTER TABLE",
            "TRUNCATE TABLE",
            "SET",
            "SHOW",
            "DROP TABLE",
        ]
    );
    let msgs = raw_query(&mut c, "BEGIN; COMMIT; START TRANSACTION; ROLLBACK").await;
    assert_eq!(
        command_tags(&msgs),
        ["BEGIN", "COMMIT", "START TRANSACTION", "ROLLBACK"]
    );
}

#[tokio::test]
async fn multi_statement_strings_are_all_or_nothing() {
    let s = server();
    let c = s.connect().await;
    let msgs = c
        .simple_query(
            "CREATE TABLE k (id int PRIMARY KEY); INSERT INTO k VALUES (1); \
             INSERT INTO k VALUES (2); SELECT count(*) FROM k;",
        )
        .await
        .unwrap();
    assert_eq!(rows(&msgs), vec![vec![Some("2".to_owned())]]);
    // The duplicate key fails the whole string: (3) is not kept, and the
    // statement after the error does not run.
    let err = c
        .simple_query(
            "INSERT INTO k VALUES (3); INSERT INTO k VALUES (1); INSERT INTO k VALUES (4)",
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::UNIQUE_VIOLATION));
    assert_eq!(
        query_rows(&c, "SELECT id FROM k ORDER BY id").await,
        vec![vec![Some("1".into())], vec![Some("2".into())]]
    );
    // Empty statements are skipped.
    let msgs = c.simple_query(";;SELECT 1;; ;SELECT 2;").await.unwrap();
    assert_eq!(
        rows(&msgs),
        vec![vec![Some("1".into())], vec![Some("2".into())]]
    );
    // A statement-only-of-comments string is an empty query.
    let mut raw = RawClient::startup(s.addr).await;
    assert_eq!(tags(&raw_query(&mut raw, "-- nothing\n;").await), "IZ");
}

#[tokio::test]
async fn errors_have_postgres_sqlstates_and_the_session_goes_on() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute(
        "CREATE TABLE parent (id int PRIMARY KEY); \
         CREATE TABLE child (id int PRIMARY KEY, parent int REFERENCES parent (id), \
         qty int NOT NULL CHECK (qty > 0), name text UNIQUE); \
         INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1, 1, 'a')",
    )
    .await
    .unwrap();
    let cases = [
        ("SELECT * FROM nope", "42P01"),
        ("SELECT nope FROM parent", "42703"),
        ("SELEC 1", "42601"),
        ("SELECT (1", "42601"),
        ("CREATE TABLE parent (id int)", "42P07"),
        ("INSERT INTO child VALUES (1, 1, 1, 'b')", "23505"),
        ("INSERT INTO child VALUES (2, 1, 1, 'a')", "23505"),
        ("INSERT INTO child VALUES (2, 1, NULL, 'b')", "23502"),
        ("INSERT INTO child VALUES (2, 9, 1, 'b')", "23503"),
        ("INSERT INTO child VALUES (2, 1, 0, 'b')", "23514"),
        ("SELECT no_such_function(1)", "42883"),
        ("SELECT $1", "42P02"),
        ("SHOW no_such_setting", "42704"),
        ("ROLLBACK TO SAVEPOINT s", "25P01"),
        ("LOCK TABLE parent", "0A000"),
    ];
    for (sql, want) in cases {
        let err = c.simple_query(sql).await.expect_err(sql);
        assert_eq!(code(&err), want, "{sql}: {err:?}");
        assert_eq!(
            query_rows(&c, "SELECT 1").await,
            vec![vec![Some("1".into())]]
        );
    }
    let err = c.simple_query("SELECT * FROM nope").await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.message(), "relation \"nope\" does not exist");
    assert_eq!(db.severity(), "ERROR");
}

#[tokio::test]
async fn transaction_status_in_ready_for_query() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    raw_query(&mut c, "CREATE TABLE t (a int PRIMARY KEY)").await;
    let msgs = raw_query(&mut c, "BEGIN").await;
    assert_eq!(
        (command_tags(&msgs), status(&msgs)),
        (vec!["BEGIN".into()], b'T')
    );
    assert_eq!(
        status(&raw_query(&mut c, "INSERT INTO t VALUES (1)").await),
        b'T'
    );
    // BEGIN inside a block warns and stays in it.
    let msgs = raw_query(&mut c, "BEGIN").await;
    assert_eq!(tags(&msgs), "NCZ");
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("25001"));
    assert_eq!(status(&raw_query(&mut c, "COMMIT").await), b'I');
    // A failed block: everything but ROLLBACK/COMMIT gets 25P02, and
    // COMMIT answers ROLLBACK.
    raw_query(&mut c, "BEGIN; INSERT INTO t VALUES (2)").await;
    let msgs = raw_query(&mut c, "INSERT INTO t VALUES (1)").await;
    assert_eq!(
        (msgs[0].sqlstate().as_deref(), status(&msgs)),
        (Some("23505"), b'E')
    );
    let msgs = raw_query(&mut c, "SELECT 1").await;
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("25P02"));
    assert_eq!(
        msgs[0].field(b'M').as_deref(),
        Some("current transaction is aborted, commands ignored until end of transaction block")
    );
    assert_eq!(status(&msgs), b'E');
    let msgs = raw_query(&mut c, "COMMIT").await;
    assert_eq!(
        (command_tags(&msgs), status(&msgs)),
        (vec!["ROLLBACK".into()], b'I')
    );
    let msgs = raw_query(&mut c, "SELECT count(*) FROM t").await;
    assert_eq!(
        msgs.iter().find(|m| m.tag == b'D').unwrap().body[6..],
        *b"1"
    );
    // ROLLBACK outside a block warns; ROLLBACK of a block says ROLLBACK.
    let msgs = raw_query(&mut c, "ROLLBACK").await;
    assert_eq!(tags(&msgs), "NCZ");
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("25P01"));
    raw_query(&mut c, "BEGIN; INSERT INTO t VALUES (3)").await;
    let msgs = raw_query(&mut c, "ROLLBACK").await;
    assert_eq!(
        (command_tags(&msgs), status(&msgs)),
        (vec!["ROLLBACK".into()], b'I')
    );
}

#[tokio::test]
async fn savepoints_recover_a_failed_block() {
    let s = server();
    let c = s.connect().await;
    let mut raw = RawClient::startup(s.addr).await;
    c.batch_execute("CREATE TABLE t (a int PRIMARY KEY)")
        .await
        .unwrap();
    let msgs = raw_query(
        &mut raw,
        "BEGIN; INSERT INTO t VALUES (1); SAVEPOINT s1; INSERT INTO t VALUES (2)",
    )
    .await;
    assert_eq!(
        command_tags(&msgs),
        ["BEGIN", "INSERT 0 1", "SAVEPOINT", "INSERT 0 1"]
    );
    assert_eq!(
        status(&raw_query(&mut raw, "INSERT INTO t VALUES (1)").await),
        b'E'
    );
    let msgs = raw_query(&mut raw, "ROLLBACK TO SAVEPOINT s1").await;
    assert_eq!(
        (command_tags(&msgs), status(&msgs)),
        (vec!["ROLLBACK".into()], b'T')
    );
    let msgs = raw_query(&mut raw, "RELEASE s1; INSERT INTO t VALUES (3); COMMIT").await;
    assert_eq!(command_tags(&msgs), ["RELEASE", "INSERT 0 1", "COMMIT"]);
    assert_eq!(status(&msgs), b'I');
    assert_eq!(
        query_rows(&c, "SELECT a FROM t ORDER BY a").await,
        vec![vec![Some("1".into())], vec![Some("3".into())]]
    );
}

#[tokio::test]
async fn sessions_are_isolated_until_commit() {
    let s = server();
    let a = s.connect().await;
    let b = s.connect().await;
    a.batch_execute("CREATE TABLE t (a int)").await.unwrap();
    a.batch_execute("BEGIN; INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    // The other session neither sees the row nor waits for it.
    let started = Instant::now();
    assert_eq!(
        query_rows(&b, "SELECT count(*) FROM t").await,
        vec![vec![Some("0".into())]]
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(
        query_rows(&a, "SELECT count(*) FROM t").await,
        vec![vec![Some("1".into())]]
    );
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(
        query_rows(&b, "SELECT count(*) FROM t").await,
        vec![vec![Some("1".into())]]
    );
    // A rolled-back write never shows.
    a.batch_execute("BEGIN; INSERT INTO t VALUES (2); ROLLBACK")
        .await
        .unwrap();
    assert_eq!(
        query_rows(&b, "SELECT count(*) FROM t").await,
        vec![vec![Some("1".into())]]
    );
    // A disconnect rolls back the open transaction.
    let c = s.connect().await;
    c.batch_execute("BEGIN; INSERT INTO t VALUES (3)")
        .await
        .unwrap();
    drop(c);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        query_rows(&b, "SELECT count(*) FROM t").await,
        vec![vec![Some("1".into())]]
    );
}

#[tokio::test]
async fn write_conflicts_wait_then_fail_like_postgres() {
    let s = TestServer::start(
        SqliteServer::new(DbLocation::Memory).with_busy_timeout(Duration::from_millis(300)),
        ServerConfig::default(),
    );
    let a = s.connect().await;
    let b = s.connect().await;
    a.batch_execute("CREATE TABLE t (a int); BEGIN; INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    // Another writer waits for the lock, then gives up with 55P03.
    let started = Instant::now();
    let err = b
        .simple_query("INSERT INTO t VALUES (2)")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::LOCK_NOT_AVAILABLE));
    assert!(started.elapsed() >= Duration::from_millis(250));
    // It gets the lock if the holder commits in time.
    let waiter =
        tokio::spawn(async move { b.simple_query("INSERT INTO t VALUES (2)").await.map(|_| b) });
    tokio::time::sleep(Duration::from_millis(50)).await;
    a.batch_execute("COMMIT").await.unwrap();
    let b = waiter.await.unwrap().unwrap();
    // A transaction that read before another committed a write cannot
    // write on its old snapshot: 40001, as in REPEATABLE READ.
    b.batch_execute("BEGIN").await.unwrap();
    assert_eq!(
        query_rows(&b, "SELECT count(*) FROM t").await,
        vec![vec![Some("2".into())]]
    );
    a.batch_execute("INSERT INTO t VALUES (3)").await.unwrap();
    let err = b
        .simple_query("INSERT INTO t VALUES (4)")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::T_R_SERIALIZATION_FAILURE));
    b.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(
        query_rows(&b, "SELECT count(*) FROM t").await,
        vec![vec![Some("3".into())]]
    );
}

#[tokio::test]
async fn startup_with_unknown_parameters() {
    let s = server();
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_packet(
        3,
        0,
        &[
            ("user", "alice"),
            ("database", "shop"),
            ("application_name", "tests"),
            ("extra_float_digits", "3"),
            ("myapp.tenant", "42"),
            ("options", "-c search_path=shop"),
        ],
    ))
    .await;
    let msgs = c.read_until(b'Z').await;
    assert!(!msgs.iter().any(|m| m.tag == b'E'), "{msgs:?}");
    let msgs = raw_query(
        &mut c,
        "SHOW myapp.tenant; SHOW extra_float_digits; SHOW search_path; \
         SELECT current_user, current_database(), session_user",
    )
    .await;
    let values: Vec<String> = msgs
        .iter()
        .filter(|m| m.tag == b'D')
        .map(|m| String::from_utf8_lossy(&m.body[6..]).into_owned())
        .collect();
    assert_eq!(values[..3], ["42", "3", "shop"]);
    assert!(values[3].starts_with("alice"), "{values:?}");
}

#[tokio::test]
async fn session_commands_drivers_send() {
    let s = server();
    let c = s.connect().await;
    let version = query_rows(&c, "SELECT version()").await;
    let version = version[0][0].clone().unwrap();
    assert!(version.starts_with("PostgreSQL "), "{version}");
    assert!(
        version.contains("pgwire") && version.contains("SQLite"),
        "{version}"
    );
    assert_eq!(
        query_rows(
            &c,
            "SELECT current_schema(), current_database(), current_user, session_user, \
             pg_catalog.current_schema"
        )
        .await,
        vec![vec![
            Some("public".into()),
            Some("test".into()),
            Some("postgres".into()),
            Some("postgres".into()),
            Some("public".into()),
        ]]
    );
    let pid: i32 = query_rows(&c, "SELECT pg_backend_pid()").await[0][0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pid > 0);
    for sql in [
        "SET application_name = 'pgwire tests'",
        "SET SESSION statement_timeout TO 0",
        "SET LOCAL lock_timeout = '1s'",
        "SET TIME ZONE 'UTC'",
        "SET extra_float_digits = 3",
        "SET search_path TO \"$user\", public",
        "SET client_encoding = 'UTF8'",
        "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "SET datestyle = 'ISO, MDY'",
        "RESET statement_timeout",
        "DISCARD ALL",
        "DEALLOCATE ALL",
        "DEALLOCATE PREPARE foo",
        "UNLISTEN *",
        "START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE",
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "COMMIT",
    ] {
        c.simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }
    // DISCARD ALL reset the application name to its startup value.
    assert_eq!(
        query_rows(&c, "SHOW application_name").await,
        vec![vec![Some("".into())]]
    );
    c.batch_execute("SET application_name = 'x'").await.unwrap();
    let shown = query_rows(
        &c,
        "SHOW application_name; SHOW TimeZone; SHOW transaction isolation level; \
         SHOW server_version_num; SHOW standard_conforming_strings",
    )
    .await;
    assert_eq!(
        shown,
        vec![
            vec![Some("x".into())],
            vec![Some("UTC".into())],
            vec![Some("serializable".into())],
            vec![Some("180000".into())],
            vec![Some("on".into())],
        ]
    );
    // SHOW's column is named after the parameter.
    let msgs = c.simple_query("SHOW TIME ZONE").await.unwrap();
    let SimpleQueryMessage::RowDescription(cols) = &msgs[0] else {
        panic!("{msgs:?}")
    };
    assert_eq!(cols[0].name(), "TimeZone");
    let err = c
        .simple_query("SET client_encoding = 'LATIN1'")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "0A000");
    // A read-only transaction refuses writes.
    c.batch_execute("CREATE TABLE t (a int)").await.unwrap();
    c.batch_execute("START TRANSACTION READ ONLY")
        .await
        .unwrap();
    let err = c
        .simple_query("INSERT INTO t VALUES (1)")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "25006");
    c.batch_execute("ROLLBACK").await.unwrap();
    c.batch_execute("INSERT INTO t VALUES (1)").await.unwrap();
}

#[tokio::test]
async fn large_results_stream_and_types_follow_postgres() {
    let s = server();
    let c = s.connect().await;
    // 20,000 rows of ~100 bytes: more than one batch.
    let msgs = c
        .simple_query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) \
             SELECT i, printf('%090d', i) FROM n",
        )
        .await
        .unwrap();
    let got = rows(&msgs);
    assert_eq!(got.len(), 20000);
    assert_eq!(got[19999][0].as_deref(), Some("20000"));
    assert!(matches!(
        msgs.last(),
        Some(SimpleQueryMessage::CommandComplete(20000))
    ));
    // Column types: declared, inferred from the text, or from the first
    // row's storage class.
    let mut raw = RawClient::startup(s.addr).await;
    raw_query(
        &mut raw,
        "CREATE TABLE ty (a int, b bigint, c varchar(10), d numeric(8,2), e timestamptz)",
    )
    .await;
    raw_query(
        &mut raw,
        "INSERT INTO ty VALUES (1, 2, 'c', 1.5, '2024-01-31 10:00:00+00')",
    )
    .await;
    let msgs = raw_query(
        &mut raw,
        "SELECT a, b, c, d, e, 1, 1.5, 'x', true, a = 1, a + b, 0.5 + 0.25, typeof(a) FROM ty",
    )
    .await;
    let desc = &msgs[0];
    assert_eq!(desc.tag, b'T');
    let fields = parse_row_description(&desc.body);
    let want: [(&str, u32, i32); 13] = [
        ("a", 23, -1),
        ("b", 20, -1),
        ("c", 1043, 14),
        ("d", 1700, (8 << 16 | 2) + 4),
        ("e", 1184, -1),
        ("?column?", 23, -1),
        ("?column?", 1700, -1),
        ("?column?", 25, -1),
        ("bool", 16, -1),
        ("?column?", 16, -1),
        ("?column?", 20, -1),
        ("?column?", 1700, -1),
        ("typeof", 25, -1),
    ];
    assert_eq!(fields.len(), want.len());
    for (i, (name, oid, typmod)) in want.iter().enumerate() {
        assert_eq!(fields[i], (name.to_string(), *oid, *typmod), "column {i}");
    }
    let row: Vec<String> = data_row_values(&msgs[1].body);
    assert_eq!(
        row,
        [
            "1",
            "2",
            "c",
            "1.50",
            "2024-01-31 10:00:00+00",
            "1",
            "1.5",
            "x",
            "t",
            "t",
            "3",
            "0.75",
            "integer"
        ]
    );
}

/// (name, type OID, type modifier) of each RowDescription field.
fn parse_row_description(body: &[u8]) -> Vec<(String, u32, i32)> {
    let n = u16::from_be_bytes([body[0], body[1]]) as usize;
    let mut at = 2;
    let mut out = Vec::new();
    for _ in 0..n {
        let end = at + body[at..].iter().position(|&b| b == 0).unwrap();
        let name = String::from_utf8_lossy(&body[at..end]).into_owned();
        at = end + 1;
        let oid = u32::from_be_bytes(body[at + 6..at + 10].try_into().unwrap());
        let typmod = i32::from_be_bytes(body[at + 12..at + 16].try_into().unwrap());
        at += 18;
        out.push((name, oid, typmod));
    }
    out
}

/// The text values of a DataRow (NULL as "NULL").
fn data_row_values(body: &[u8]) -> Vec<String> {
    let n = u16::from_be_bytes([body[0], body[1]]) as usize;
    let mut at = 2;
    let mut out = Vec::new();
    for _ in 0..n {
        let len = i32::from_be_bytes(body[at..at + 4].try_into().unwrap());
        at += 4;
        if len < 0 {
            out.push("NULL".into());
            continue;
        }
        let len = len as usize;
        out.push(String::from_utf8_lossy(&body[at..at + len]).into_owned());
        at += len;
    }
    out
}

#[tokio::test]
async fn cancel_request_interrupts_a_running_query() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute("CREATE TABLE t (a int)").await.unwrap();
    let token = c.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel_query(tokio_postgres::NoTls).await
    });
    let started = Instant::now();
    let err = c.simple_query("SELECT pg_sleep(30)").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::QUERY_CANCELED));
    assert!(started.elapsed() < Duration::from_secs(5));
    canceller.await.unwrap().unwrap();
    // A long computation inside SQLite is interrupted too.
    let token = c.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel_query(tokio_postgres::NoTls).await
    });
    let started = Instant::now();
    let err = c
        .simple_query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
             SELECT count(*) FROM n",
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::QUERY_CANCELED));
    assert!(started.elapsed() < Duration::from_secs(5));
    canceller.await.unwrap().unwrap();
    assert_eq!(
        query_rows(&c, "SELECT 1").await,
        vec![vec![Some("1".into())]]
    );
}
