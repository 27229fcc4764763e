//! The SQLite example as a logical-replication publisher, consumed by real
//! clients: `pg_recvlogical` (PostgreSQL 15's) streaming from a slot, and
//! the replication commands and publication SQL with their errors.

mod common;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use pgwire::server::ServerConfig;
use sqlite_server::{DbLocation, SqliteServer};
use tokio_postgres::SimpleQueryMessage;

fn server() -> TestServer<SqliteServer> {
    TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    )
}

/// PostgreSQL's client program `name`, if installed.
fn pg_program(name: &str) -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join(name);
    bin.exists().then_some(bin)
}

/// The first column of every row of a simple query.
async fn column(client: &tokio_postgres::Client, sql: &str) -> Vec<Option<String>> {
    client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_owned)),
            _ => None,
        })
        .collect()
}

async fn sql_state(client: &tokio_postgres::Client, sql: &str) -> String {
    match client.simple_query(sql).await {
        Ok(_) => panic!("{sql}: succeeded, expected an error"),
        Err(e) => e.code().map(|c| c.code().to_owned()).unwrap_or_default(),
    }
}

/// A `pg_recvlogical --start` writing to a file, killed on drop.
struct Recv {
    child: Child,
    out: PathBuf,
}

impl Recv {
    fn start(bin: &PathBuf, port: u16, slot: &str, out: PathBuf) -> Recv {
        let child = Command::new(bin)
            .args([
                "-d",
                &format!("host=127.0.0.1 port={port} dbname=postgres user=postgres"),
                "--slot",
                slot,
                "--start",
                "-o",
                "proto_version=1",
                "-o",
                "publication_names=p",
                "--no-loop",
                "-s",
                "1",
                "-F",
                "1",
                "-f",
            ])
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pg_recvlogical");
        Recv { child, out }
    }

    fn output(&self) -> Vec<u8> {
        std::fs::read(&self.out).unwrap_or_default()
    }

    /// Waits until the output holds every one of `needles`.
    async fn wait_for(&mut self, needles: &[&str]) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.output();
            if needles.iter().all(|n| contains(&out, n)) {
                return out;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                panic!("pg_recvlogical exited ({status}): {err}");
            }
            assert!(
                Instant::now() < deadline,
                "pg_recvlogical did not receive {needles:?}; got {:?}",
                String::from_utf8_lossy(&out)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Recv {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.out);
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    count(haystack, needle) > 0
}

fn count(haystack: &[u8], needle: &str) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle.as_bytes())
        .count()
}

fn out_file(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}.bin", std::process::id()))
}

async fn confirmed_flush(client: &tokio_postgres::Client, slot: &str) -> String {
    column(
        client,
        &format!("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '{slot}'"),
    )
    .await
    .into_iter()
    .next()
    .flatten()
    .unwrap_or_else(|| panic!("slot {slot} not in pg_replication_slots"))
}

fn lsn_value(text: &str) -> u64 {
    let (hi, lo) = text.split_once('/').expect("X/X");
    (u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap()
}

#[tokio::test]
async fn pg_recvlogical_streams_changes_and_the_slot_advances() {
    let Some(bin) = pg_program("pg_recvlogical") else {
        println!(
            "SKIPPED pg_recvlogical_streams_changes_and_the_slot_advances: pg_recvlogical is not installed"
        );
        return;
    };
    let s = server();
    let client = s.connect().await;
    client
        .batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, name text, score float8);
             CREATE TABLE other (id int PRIMARY KEY, secret text);
             CREATE PUBLICATION p FOR TABLE t;",
        )
        .await
        .unwrap();
    let created = column(
        &client,
        "SELECT * FROM pg_create_logical_replication_slot('s', 'pgoutput')",
    )
    .await;
    assert_eq!(created, vec![Some("s".to_owned())]);
    let start = confirmed_flush(&client, "s").await;

    // Before the client starts: kept by the slot.
    client
        .batch_execute(
            "INSERT INTO t VALUES (1, 'alpha-before', 1.5);
             INSERT INTO other VALUES (1, 'unpublished-secret');
             BEGIN; INSERT INTO t VALUES (2, 'beta-in-block', NULL); UPDATE t SET name = 'alpha-updated' WHERE id = 1; COMMIT;
             BEGIN; INSERT INTO t VALUES (3, 'rolled-back-row', 0); ROLLBACK;",
        )
        .await
        .unwrap();

    let mut recv = Recv::start(&bin, s.port(), "s", out_file("recvlogical-1"));
    recv.wait_for(&["alpha-before", "beta-in-block", "alpha-updated"])
        .await;
    // While it runs.
    client
        .batch_execute("INSERT INTO t VALUES (4, 'gamma-live', 2); DELETE FROM t WHERE id = 2;")
        .await
        .unwrap();
    let out = recv.wait_for(&["gamma-live"]).await;
    assert!(
        !contains(&out, "unpublished-secret"),
        "an unpublished table was streamed"
    );
    assert!(
        !contains(&out, "rolled-back-row"),
        "a rolled-back change was streamed"
    );
    // pgoutput: a Relation message names the table; Begin, Insert, Update,
    // Delete, Commit messages follow (one per line in pg_recvlogical's file).
    let lines: Vec<&[u8]> = out
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    // A message's binary fields (LSNs, commit times) may hold a newline
    // byte, which splits it: the fragments add letters, never remove a
    // message's own, so the messages are checked as a subsequence.
    let kinds: String = lines.iter().map(|l| l[0] as char).collect();
    let in_order = |want: &str| {
        let mut seen = kinds.chars();
        want.chars().all(|w| seen.any(|k| k == w))
    };
    assert!(
        kinds.starts_with('B') && in_order("BRI"),
        "message kinds: {kinds}"
    );
    for k in ['C', 'U', 'D'] {
        assert!(kinds.contains(k), "no {k} message in {kinds}");
    }
    assert!(
        std::process::Command::new("true").status().is_ok()
            && recv.child.try_wait().unwrap().is_none(),
        "pg_recvlogical stopped"
    );

    // The client confirms what it wrote: the slot advances.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = confirmed_flush(&client, "s").await;
        if lsn_value(&now) > lsn_value(&start) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "confirmed_flush_lsn stayed at {now}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let a status update cover everything received, then stop the client.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    drop(recv);

    // A new client on the same slot resumes after what was confirmed.
    client
        .batch_execute("INSERT INTO t VALUES (5, 'delta-after-restart', 3)")
        .await
        .unwrap();
    let mut again = Recv::start(&bin, s.port(), "s", out_file("recvlogical-2"));
    let out = again.wait_for(&["delta-after-restart"]).await;
    assert!(
        !contains(&out, "alpha-before") && !contains(&out, "gamma-live"),
        "confirmed changes were sent again: {:?}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(count(&out, "delta-after-restart"), 1);
    drop(again);

    // TRUNCATE is one message.
    let mut third = Recv::start(&bin, s.port(), "s", out_file("recvlogical-3"));
    client.batch_execute("TRUNCATE t").await.unwrap();
    client
        .batch_execute("INSERT INTO t VALUES (6, 'after-truncate', 4)")
        .await
        .unwrap();
    let out = third.wait_for(&["after-truncate"]).await;
    let kinds: String = out
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| l[0] as char)
        .collect();
    assert!(kinds.contains('T'), "no Truncate message in {kinds}");
    drop(third);

    // The slot can be dropped once nobody streams from it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client
            .simple_query("SELECT pg_drop_replication_slot('s')")
            .await
        {
            Ok(_) => break,
            Err(e) if e.code().map(|c| c.code()) == Some("55006") && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("drop slot: {e}"),
        }
    }
    assert!(
        column(&client, "SELECT slot_name FROM pg_replication_slots")
            .await
            .is_empty()
    );

    // pg_recvlogical's own --create-slot and --drop-slot.
    let conninfo = format!(
        "host=127.0.0.1 port={} dbname=postgres user=postgres",
        s.port()
    );
    for action in ["--create-slot", "--drop-slot"] {
        let out = Command::new(&bin)
            .args([
                "-d",
                &conninfo,
                "--slot",
                "made_by_recvlogical",
                "-P",
                "pgoutput",
                action,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{action}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed = column(&client, "SELECT slot_name FROM pg_replication_slots").await;
        assert_eq!(
            listed.is_empty(),
            action == "--drop-slot",
            "{action}: {listed:?}"
        );
    }
}

#[tokio::test]
async fn publications_and_slots_in_sql_with_postgres_errors() {
    let s = server();
    let client = s.connect().await;
    client
        .batch_execute(
            "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY, v text);",
        )
        .await
        .unwrap();
    client
        .batch_execute(
            "CREATE PUBLICATION p1 FOR TABLE a; CREATE PUBLICATION everything FOR ALL TABLES",
        )
        .await
        .unwrap();
    assert_eq!(
        column(
            &client,
            "SELECT pubname FROM pg_publication ORDER BY pubname"
        )
        .await,
        vec![Some("everything".into()), Some("p1".into())]
    );
    assert_eq!(
        column(
            &client,
            "SELECT puballtables FROM pg_publication WHERE pubname = 'everything'"
        )
        .await,
        vec![Some("t".into())]
    );
    client
        .batch_execute("ALTER PUBLICATION p1 ADD TABLE b")
        .await
        .unwrap();
    assert_eq!(
        column(
            &client,
            "SELECT tablename FROM pg_publication_tables WHERE pubname = 'p1' ORDER BY tablename"
        )
        .await,
        vec![Some("a".into()), Some("b".into())]
    );
    assert_eq!(
        column(
            &client,
            "SELECT count(*) FROM pg_publication_rel r JOIN pg_class c ON c.oid = r.prrelid WHERE c.relname IN ('a', 'b')"
        )
        .await,
        vec![Some("2".into())]
    );
    client
        .batch_execute("ALTER PUBLICATION p1 DROP TABLE a")
        .await
        .unwrap();
    assert_eq!(
        column(
            &client,
            "SELECT tablename FROM pg_publication_tables WHERE pubname = 'p1'"
        )
        .await,
        vec![Some("b".into())]
    );
    // PostgreSQL's errors.
    assert_eq!(
        sql_state(&client, "CREATE PUBLICATION p1 FOR TABLE a").await,
        "42710"
    );
    assert_eq!(
        sql_state(&client, "CREATE PUBLICATION p2 FOR TABLE nosuch").await,
        "42P01"
    );
    assert_eq!(
        sql_state(&client, "ALTER PUBLICATION nosuch ADD TABLE a").await,
        "42704"
    );
    assert_eq!(
        sql_state(&client, "ALTER PUBLICATION p1 ADD TABLE b").await,
        "42710"
    );
    assert_eq!(
        sql_state(&client, "ALTER PUBLICATION everything ADD TABLE a").await,
        "55000"
    );
    assert_eq!(sql_state(&client, "DROP PUBLICATION nosuch").await, "42704");
    client
        .batch_execute("DROP PUBLICATION IF EXISTS nosuch")
        .await
        .unwrap();
    client
        .batch_execute("DROP PUBLICATION p1, everything")
        .await
        .unwrap();
    assert!(
        column(&client, "SELECT pubname FROM pg_publication")
            .await
            .is_empty()
    );

    // Slots.
    client
        .simple_query("SELECT pg_create_logical_replication_slot('s1', 'pgoutput')")
        .await
        .unwrap();
    assert_eq!(
        sql_state(
            &client,
            "SELECT pg_create_logical_replication_slot('s1', 'pgoutput')"
        )
        .await,
        "42710"
    );
    assert_eq!(
        sql_state(
            &client,
            "SELECT pg_create_logical_replication_slot('Bad-Name', 'pgoutput')"
        )
        .await,
        "42602"
    );
    assert_eq!(
        sql_state(
            &client,
            "SELECT pg_create_logical_replication_slot('s2', 'nosuchplugin')"
        )
        .await,
        "58P01"
    );
    assert_eq!(
        column(
            &client,
            "SELECT slot_name || ':' || plugin || ':' || slot_type FROM pg_replication_slots"
        )
        .await,
        vec![Some("s1:pgoutput:logical".into())]
    );
    assert_eq!(
        sql_state(&client, "SELECT pg_drop_replication_slot('nosuch')").await,
        "42704"
    );
    // Not in a transaction that wrote, as in PostgreSQL.
    assert_eq!(
        sql_state(
            &client,
            "BEGIN; INSERT INTO a VALUES (1); SELECT pg_create_logical_replication_slot('s3', 'pgoutput')"
        )
        .await,
        "25001"
    );
    client.batch_execute("ROLLBACK").await.unwrap();
    client
        .simple_query("SELECT pg_drop_replication_slot('s1')")
        .await
        .unwrap();
    assert!(
        column(&client, "SELECT slot_name FROM pg_replication_slots")
            .await
            .is_empty()
    );
}

/// Runs `commands` (one per `-c`) on a `replication=database` connection
/// with psql: (stdout, stderr), errors with their SQLSTATE.
fn repl_psql(port: u16, commands: &[&str]) -> (String, String) {
    let mut cmd = Command::new("psql");
    cmd.arg("-X")
        .arg(format!(
            "host=127.0.0.1 port={port} user=postgres dbname=postgres replication=database"
        ))
        .args(["-At", "-F", "|", "-v", "VERBOSITY=verbose"]);
    for c in commands {
        cmd.args(["-c", c]);
    }
    let out = cmd.output().expect("psql");
    (stdout(&out), stderr(&out))
}

#[tokio::test]
async fn replication_commands_answer_as_postgres() {
    if skip_without("psql", "replication_commands_answer_as_postgres") {
        return;
    }
    let s = server();
    let client = s.connect().await;
    client
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION p FOR TABLE t")
        .await
        .unwrap();
    let port = s.port();
    let run = move |commands: Vec<&'static str>| {
        tokio::task::spawn_blocking(move || repl_psql(port, &commands))
    };
    let (out, err) = run(vec!["IDENTIFY_SYSTEM"]).await.unwrap();
    let fields: Vec<&str> = out.trim().split('|').collect();
    assert_eq!(fields.len(), 4, "{out}{err}");
    assert!(fields[0].parse::<u64>().is_ok(), "systemid {out}");
    assert_eq!(fields[1], "1");
    assert!(fields[2].contains('/'));
    assert_eq!(fields[3], "postgres");

    let (out, err) = run(vec![
        "CREATE_REPLICATION_SLOT r1 LOGICAL pgoutput (SNAPSHOT 'nothing')",
        // The old syntax too.
        "CREATE_REPLICATION_SLOT r2 LOGICAL pgoutput NOEXPORT_SNAPSHOT",
        "READ_REPLICATION_SLOT r1",
        "SELECT count(*) FROM t",
    ])
    .await
    .unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}{err}");
    assert!(
        lines[0].starts_with("r1|") && lines[0].ends_with("|pgoutput"),
        "{out}"
    );
    assert!(lines[1].starts_with("r2|"), "{out}");
    assert!(lines[2].starts_with("logical|"), "{out}");
    // SQL works on a replication=database connection.
    assert_eq!(lines[3], "0");

    for (command, code) in [
        (
            "CREATE_REPLICATION_SLOT r1 LOGICAL pgoutput (SNAPSHOT 'nothing')",
            "42710",
        ),
        ("DROP_REPLICATION_SLOT nosuch", "42704"),
        (
            "START_REPLICATION SLOT nosuch LOGICAL 0/0 (proto_version '1', publication_names 'p')",
            "42704",
        ),
        (
            "START_REPLICATION SLOT r1 LOGICAL 0/0 (proto_version '1', publication_names 'nosuch')",
            "42704",
        ),
        // As PostgreSQL 15: a missing proto_version is version 0.
        (
            "START_REPLICATION SLOT r1 LOGICAL 0/0 (publication_names 'p')",
            "0A000",
        ),
        (
            "START_REPLICATION SLOT r1 LOGICAL 0/0 (proto_version '1')",
            "22023",
        ),
        (
            "START_REPLICATION SLOT r1 LOGICAL 0/0 (proto_version '9', publication_names 'p')",
            "0A000",
        ),
        ("CREATE_REPLICATION_SLOT", "42601"),
        (
            "CREATE_REPLICATION_SLOT r4 LOGICAL pgoutput (SNAPSHOT 'use')",
            "25P01",
        ),
        (
            "CREATE_REPLICATION_SLOT r4 LOGICAL pgoutput (SNAPSHOT 'sometimes')",
            "42601",
        ),
        ("CREATE_REPLICATION_SLOT r3 PHYSICAL", "0A000"),
        ("TIMELINE_HISTORY 1", "0A000"),
    ] {
        let (out, err) = run(vec![command]).await.unwrap();
        assert!(
            err.contains(&format!("ERROR:  {code}")),
            "{command}: expected {code}, got {out}{err}"
        );
    }
    let (_, err) = run(vec![
        "DROP_REPLICATION_SLOT r1",
        "DROP_REPLICATION_SLOT r2 WAIT",
    ])
    .await
    .unwrap();
    assert!(err.is_empty(), "{err}");
    assert!(
        column(&client, "SELECT slot_name FROM pg_replication_slots")
            .await
            .is_empty()
    );

    // A physical replication connection takes no SQL.
    let out = Command::new("psql")
        .arg("-X")
        .arg(format!(
            "host=127.0.0.1 port={port} user=postgres dbname=postgres replication=true"
        ))
        .args(["-At", "-c", "SELECT 1"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("cannot execute SQL commands"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn replication_connections_refused_without_opt_in_or_with_a_bad_value() {
    if skip_without(
        "psql",
        "replication_connections_refused_without_opt_in_or_with_a_bad_value",
    ) {
        return;
    }
    let s = server();
    let port = s.port();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("psql")
            .arg("-X")
            .arg(format!(
                "host=127.0.0.1 port={port} user=postgres dbname=postgres replication=maybe"
            ))
            .args(["-c", "IDENTIFY_SYSTEM"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        stderr(&out).contains("invalid value for parameter \"replication\""),
        "{}",
        stderr(&out)
    );
}

/// A server that does not opt into replication.
struct PlainServer;
struct PlainSession;

impl pgwire::api::SimpleQueryHandler for PlainSession {
    async fn do_query(&mut self, _: &mut pgwire::api::Session, _: &str) -> pgwire::api::Responses {
        pgwire::api::Response::Execution(pgwire::api::Tag::new("OK")).into()
    }
}

impl pgwire::api::ServerHandlers for PlainServer {
    type Handler = PlainSession;

    async fn connect(
        &self,
        _: &mut pgwire::api::Session,
    ) -> Result<PlainSession, pgwire::error::ErrorInfo> {
        Ok(PlainSession)
    }
}

#[tokio::test]
async fn replication_refused_by_a_server_that_did_not_opt_in() {
    let s = TestServer::start(PlainServer, ServerConfig::default());
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_packet(
        3,
        0,
        &[
            ("user", "postgres"),
            ("database", "postgres"),
            ("replication", "database"),
        ],
    ))
    .await;
    let msgs = c.read_until(b'E').await;
    let e = msgs.last().unwrap();
    assert_eq!(e.sqlstate().as_deref(), Some("42501"));
    assert_eq!(e.field(b'S').as_deref(), Some("FATAL"));
    assert_eq!(
        e.field(b'M').as_deref(),
        Some("permission denied to start WAL sender")
    );
    assert!(c.is_closed().await);
    // `replication=false` is a normal connection.
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_packet(
        3,
        0,
        &[("user", "postgres"), ("replication", "false")],
    ))
    .await;
    assert_eq!(tags(&c.read_until(b'Z').await).chars().last(), Some('Z'));
}

#[tokio::test]
async fn extended_protocol_refused_on_a_replication_connection() {
    let s = server();
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_packet(
        3,
        0,
        &[
            ("user", "postgres"),
            ("database", "postgres"),
            ("replication", "database"),
        ],
    ))
    .await;
    c.read_until(b'Z').await;
    let mut parse = b"\0SELECT 1\0".to_vec();
    parse.extend_from_slice(&0u16.to_be_bytes());
    let mut bytes = message(b'P', &parse);
    bytes.extend(message(b'S', &[]));
    c.send(&bytes).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "EZ");
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("08P01"));
    // The simple protocol goes on: a replication command, then SQL.
    c.send(&message(b'Q', b"IDENTIFY_SYSTEM\0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "TDCZ");
    assert!(String::from_utf8_lossy(&msgs[2].body).starts_with("IDENTIFY_SYSTEM"));
    c.send(&message(b'Q', b"SELECT 41 + 1\0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "TDCZ");
}

#[tokio::test]
async fn a_slot_and_its_changes_survive_a_server_restart() {
    let Some(bin) = pg_program("pg_recvlogical") else {
        println!(
            "SKIPPED a_slot_and_its_changes_survive_a_server_restart: pg_recvlogical is not installed"
        );
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("publisher-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("db.sqlite");
    let before = {
        let s = TestServer::start(
            SqliteServer::new(DbLocation::File(db.clone())),
            ServerConfig::default(),
        );
        let client = s.connect().await;
        // One statement per query: a query string is one transaction, and
        // a slot cannot be created in a transaction that wrote (25001).
        for sql in [
            "CREATE TABLE t (id int PRIMARY KEY, v text)",
            "CREATE PUBLICATION p FOR ALL TABLES",
            "SELECT pg_create_logical_replication_slot('kept', 'pgoutput')",
            "INSERT INTO t VALUES (1, 'written-before-restart')",
        ] {
            client.batch_execute(sql).await.unwrap();
        }
        confirmed_flush(&client, "kept").await
    };
    // A new server on the same database file.
    let s = TestServer::start(
        SqliteServer::new(DbLocation::File(db.clone())),
        ServerConfig::default(),
    );
    let client = s.connect().await;
    assert_eq!(confirmed_flush(&client, "kept").await, before);
    assert_eq!(
        column(&client, "SELECT pubname FROM pg_publication").await,
        vec![Some("p".into())]
    );
    client
        .batch_execute("CREATE TABLE later (id int PRIMARY KEY); INSERT INTO later VALUES (424242)")
        .await
        .unwrap();
    let mut recv = Recv::start(&bin, s.port(), "kept", out_file("recvlogical-restart"));
    // The change made before the restart, and one to a table created
    // after it (FOR ALL TABLES).
    recv.wait_for(&["written-before-restart", "424242"]).await;
    drop(recv);
    drop(client);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
