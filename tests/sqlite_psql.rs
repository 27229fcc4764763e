//! The SQLite example with psql and pgbench, plus the startup corner cases
//! a real client can produce (protocol 3.2, a greasing 3.9999 with a
//! `_pq_.` option, garbage before and after startup, an empty query).

mod common;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::io::Write;

use common::*;
use pgwire::server::ServerConfig;
use sqlite_server::{DbLocation, SqliteServer};

fn server() -> TestServer<SqliteServer> {
    TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    )
}

/// Writes `text` to a file in cargo's scratch directory for this test.
fn script(name: &str, text: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}.sql", std::process::id()));
    let mut f = std::fs::File::create(&path).expect("script file");
    f.write_all(text.as_bytes()).expect("write script");
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn psql_round_trip_errors_and_transactions() {
    if skip_without("psql", "psql_round_trip_errors_and_transactions") {
        return;
    }
    let s = server();
    let file = script(
        "round-trip",
        "\\set VERBOSITY verbose
CREATE TABLE p (id int PRIMARY KEY, name text, score float8);
INSERT INTO p VALUES (1, 'ünïcode ✓', 1.5), (2, NULL, NULL);
UPDATE p SET score = 2.5 WHERE id = 2;
SELECT * FROM p ORDER BY id;
INSERT INTO p VALUES (1, 'dup', 0);
SELECT nosuchcolumn FROM p;
SELECT count(*) FROM p;
BEGIN;
INSERT INTO p VALUES (3, 'gone', 3);
ROLLBACK;
DELETE FROM p WHERE id = 2;
SELECT id, name FROM p;
SELECT 1; SELECT 2;
",
    );
    let port = s.port();
    let out = tokio::task::spawn_blocking(move || psql(port, "postgres", &["-At", "-f", &file]))
        .await
        .unwrap();
    // Checked line by line against PostgreSQL 15 running the same script
    // (only the errors' wording differs: SQLite's detail is its own).
    assert_eq!(
        stdout(&out),
        "CREATE TABLE\nINSERT 0 2\nUPDATE 1\n1|ünïcode ✓|1.5\n2||2.5\n2\nBEGIN\nINSERT 0 1\nROLLBACK\nDELETE 1\n1|ünïcode ✓\n1\n2\n"
    );
    let err = stderr(&out);
    assert!(
        err.contains("s.sql:6: ERROR:  23505:") || err.contains(":6: ERROR:  23505:"),
        "{err}"
    );
    assert!(
        err.contains(":7: ERROR:  42703: column \"nosuchcolumn\" does not exist"),
        "{err}"
    );
}

#[tokio::test]
async fn psql_shows_the_sqlstate_and_stops_on_error() {
    if skip_without("psql", "psql_shows_the_sqlstate_and_stops_on_error") {
        return;
    }
    let s = server();
    let port = s.port();
    let out = tokio::task::spawn_blocking(move || {
        psql(
            port,
            "postgres",
            &[
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-v",
                "VERBOSITY=verbose",
                "-c",
                "SELECT * FROM missing_table",
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ERROR:  42P01: relation \"missing_table\" does not exist"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn pgbench_simple_select_1() {
    if skip_without("pgbench", "pgbench_simple_select_1") {
        return;
    }
    let s = server();
    let file = script("select1", "SELECT 1;\n");
    let port = s.port().to_string();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("pgbench")
            .args([
                "-n", "-M", "simple", "-c", "4", "-j", "2", "-t", "200", "-f", &file,
            ])
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "test"])
            .env("PGSSLMODE", "disable")
            .output()
            .expect("pgbench")
    })
    .await
    .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("number of transactions actually processed: 800/800"),
        "{text}"
    );
}

#[tokio::test]
async fn protocol_3_2_and_a_greasing_minor_version() {
    let s = server();
    // 3.2: a 32-byte cancel key, no NegotiateProtocolVersion.
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_packet(
        3,
        2,
        &[("user", "postgres"), ("database", "test")],
    ))
    .await;
    let msgs = c.read_until(b'Z').await;
    assert!(msgs.iter().all(|m| m.tag != b'v'));
    let key = msgs.iter().find(|m| m.tag == b'K').expect("BackendKeyData");
    assert_eq!(key.body.len(), 4 + 32);
    c.send(&message(b'Q', b"SELECT 41 + 1\0")).await;
    let msgs = c.read_until(b'Z').await;
    let row = msgs.iter().find(|m| m.tag == b'D').expect("a row");
    assert_eq!(&row.body[2..], b"\0\0\0\x0242");

    // 3.9999 and an unknown _pq_ option, as libpq 18 sends to test the
    // server: NegotiateProtocolVersion (3.2, the option refused), then a
    // normal session.
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_packet(
        3,
        9999,
        &[
            ("user", "postgres"),
            ("database", "test"),
            ("_pq_.test_protocol_negotiation", "1"),
        ],
    ))
    .await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(msgs[0].tag, b'v');
    assert_eq!(&msgs[0].body[..8], &[0, 3, 0, 2, 0, 0, 0, 1]);
    assert_eq!(&msgs[0].body[8..], b"_pq_.test_protocol_negotiation\0");
    assert!(msgs.iter().any(|m| m.tag == b'R'));
}

#[tokio::test]
async fn garbage_before_and_after_startup_and_an_empty_query() {
    let s = server();
    // Before: not a startup packet (version 1234.5678).
    let mut c = RawClient::connect(s.addr).await;
    c.send(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2e]).await;
    let msg = c.read_message().await.expect("an error");
    assert_eq!(msg.tag, b'E');
    assert_eq!(msg.sqlstate().as_deref(), Some("08P01"));
    assert!(c.is_closed().await);

    // After: an unknown message type ends the session with 08P01.
    let mut c = RawClient::startup(s.addr).await;
    c.send(&message(b'q', b"garbage")).await;
    let msg = c.read_message().await.expect("an error");
    assert_eq!(msg.sqlstate().as_deref(), Some("08P01"));
    assert!(c.is_closed().await);

    // An empty query string: EmptyQueryResponse, the session goes on.
    let mut c = RawClient::startup(s.addr).await;
    c.send(&message(b'Q', b"\0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(
        msgs.iter().map(|m| m.tag).collect::<Vec<_>>(),
        vec![b'I', b'Z']
    );
    c.send(&message(b'Q', b";  \0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(msgs[0].tag, b'I');

    // The server still serves others.
    let client = s.connect().await;
    let rows = client.simple_query("SELECT 'still here'").await.unwrap();
    assert!(
        matches!(&rows[1], tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("still here"))
    );
}

/// Runs psql with `-c sql`, feeding `input` on stdin (COPY FROM STDIN data).
fn psql_with_stdin(port: u16, sql: &str, input: &str) -> std::process::Output {
    let mut child = std::process::Command::new("psql")
        .args(["-X", "-At", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", "postgres", "-d", "test", "-c", sql])
        .env("PGSSLMODE", "disable")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("psql");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("feed psql");
    child.wait_with_output().expect("psql output")
}

#[tokio::test]
async fn statements_after_copy_from_stdin_see_its_rows() {
    if skip_without("psql", "statements_after_copy_from_stdin_see_its_rows") {
        return;
    }
    let s = server();
    let port = s.port();
    // The same output as PostgreSQL 15 for the same command and input.
    let out = tokio::task::spawn_blocking(move || {
        psql_with_stdin(
            port,
            "CREATE TABLE cc (a int); COPY cc FROM STDIN; SELECT count(*) FROM cc; \
             COPY cc FROM STDIN; SELECT sum(a) FROM cc",
            "1\n2\n3\n",
        )
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "CREATE TABLE\nCOPY 3\n3\nCOPY 0\n6\n");

    // A failing COPY ends the string: the SELECT after it never runs.
    let out = tokio::task::spawn_blocking(move || {
        psql_with_stdin(port, "COPY cc FROM STDIN; SELECT 'not run'", "1\nx\n")
    })
    .await
    .unwrap();
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("invalid input syntax for type integer: \"x\""),
        "{}",
        stderr(&out)
    );
    let client = s.connect().await;
    let n: i64 = client
        .query_one("SELECT count(*) FROM cc", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3);
}

#[tokio::test]
async fn casts_follow_postgres_input_rules() {
    let s = server();
    let client = s.connect().await;
    // Each checked against PostgreSQL 15: SQLite's own CAST would give 0,
    // 1 or a silently wrapped value.
    for (sql, code, message) in [
        (
            "SELECT 'abc'::int4",
            "22P02",
            "invalid input syntax for type integer: \"abc\"",
        ),
        (
            "SELECT '1.5'::int4",
            "22P02",
            "invalid input syntax for type integer: \"1.5\"",
        ),
        (
            "SELECT 'abc'::float8",
            "22P02",
            "invalid input syntax for type double precision: \"abc\"",
        ),
        (
            "SELECT '99999999999'::int4",
            "22003",
            "value \"99999999999\" is out of range for type integer",
        ),
        ("SELECT 40000::int2", "22003", "smallint out of range"),
        (
            "SELECT 'x'::bool",
            "22P02",
            "invalid input syntax for type boolean: \"x\"",
        ),
        (
            "SELECT pg_notify('', 'x')",
            "22023",
            "channel name cannot be empty",
        ),
    ] {
        let err = client.simple_query(sql).await.expect_err(sql);
        let db = err.as_db_error().expect("a server error");
        assert_eq!(db.code().code(), code, "{sql}");
        assert_eq!(db.message(), message, "{sql}");
    }
    let rows = client
        .simple_query("SELECT ' 7 '::int8, 2.5::int4, (-2.5)::int2, '1e3'::float4")
        .await
        .unwrap();
    let tokio_postgres::SimpleQueryMessage::Row(row) = &rows[1] else {
        panic!("a row: {rows:?}");
    };
    let values: Vec<_> = (0..4).map(|i| row.get(i).unwrap().to_owned()).collect();
    assert_eq!(values, ["7", "3", "-3", "1000"]);
}

#[tokio::test]
async fn drop_if_exists_notice_in_both_protocols() {
    use futures_util::StreamExt;
    let s = server();
    let (client, mut connection) =
        tokio_postgres::connect(&s.conn_str("postgres"), tokio_postgres::NoTls)
            .await
            .expect("connect");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notice(n) = m {
                let _ = tx.send((n.code().code().to_owned(), n.message().to_owned()));
            }
        }
    });
    // Extended protocol (execute) and simple protocol (batch_execute).
    client
        .execute("DROP TABLE IF EXISTS missing_tbl", &[])
        .await
        .unwrap();
    client
        .batch_execute("DROP INDEX IF EXISTS missing_idx")
        .await
        .unwrap();
    let mut next = async || {
        tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
            .await
            .expect("no notice within 10 s")
            .expect("a notice")
    };
    let first = next().await;
    let second = next().await;
    assert_eq!(
        first,
        (
            "00000".to_owned(),
            "table \"missing_tbl\" does not exist, skipping".to_owned()
        )
    );
    assert_eq!(
        second,
        (
            "00000".to_owned(),
            "index \"missing_idx\" does not exist, skipping".to_owned()
        )
    );
}
