//! SQL cursors in the SQLite example (`examples/sqlite/server/cursors.rs`),
//! compared with PostgreSQL 15 running the same script: psql's
//! `\set FETCH_COUNT n` (DECLARE / FETCH FORWARD n / CLOSE over the simple
//! protocol) and every FETCH / MOVE direction and error, `WITH HOLD`
//! cursors across COMMIT and ROLLBACK, through psql and through psycopg
//! (the extended protocol).

mod common;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod pg;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::path::Path;
use std::process::Command;

use common::*;
use pgwire::server::ServerConfig;
use sqlite_server::{DbLocation, SqliteServer};

/// What psql is asked: a result read 100 rows at a time through a cursor
/// (FETCH_COUNT), then cursors driven by hand, errors included.
const PSQL_SCRIPT: &str = "\
CREATE TABLE cur_t (id int PRIMARY KEY, name text, price numeric(8,2));
INSERT INTO cur_t SELECT g, 'n' || g, g * 1.5 FROM generate_series(1, 250) g;
\\set FETCH_COUNT 100
SELECT id, name, price FROM cur_t WHERE id % 2 = 0 ORDER BY id;
SELECT count(*) AS n, max(name) AS last FROM cur_t;
SELECT id FROM cur_t WHERE id > 1000;
\\unset FETCH_COUNT
DECLARE c CURSOR FOR SELECT id FROM cur_t;
BEGIN;
DECLARE c SCROLL CURSOR FOR SELECT id, name FROM cur_t WHERE id <= 7 ORDER BY id;
FETCH 2 FROM c;
FETCH NEXT FROM c;
MOVE 2 IN c;
FETCH PRIOR FROM c;
FETCH BACKWARD 2 FROM c;
FETCH ABSOLUTE -1 FROM c;
FETCH ALL FROM c;
FETCH RELATIVE -3 FROM c;
FETCH FORWARD 0 FROM c;
MOVE ABSOLUTE 0 IN c;
FETCH FORWARD ALL FROM c;
DECLARE c CURSOR FOR SELECT 1;
ROLLBACK;
BEGIN;
DECLARE n NO SCROLL CURSOR FOR SELECT id FROM cur_t ORDER BY id;
FETCH 1 FROM n;
FETCH PRIOR FROM n;
ROLLBACK;
BEGIN;
DECLARE d CURSOR WITHOUT HOLD FOR SELECT count(*), max(name) FROM cur_t;
FETCH d;
CLOSE d;
FETCH d;
ROLLBACK;
BEGIN;
DECLARE e CURSOR FOR SELECT id FROM cur_t;
COMMIT;
FETCH e;
CLOSE ALL;
BEGIN;
DECLARE h CURSOR WITH HOLD FOR SELECT id, name FROM cur_t WHERE id <= 5 ORDER BY id;
FETCH 2 FROM h;
UPDATE cur_t SET name = 'changed' WHERE id = 3;
COMMIT;
FETCH ALL FROM h;
FETCH BACKWARD 1 FROM h;
CLOSE h;
FETCH h;
BEGIN;
DECLARE r CURSOR WITH HOLD FOR SELECT 1;
ROLLBACK;
FETCH r;
DECLARE o CURSOR WITH HOLD FOR SELECT id, name FROM cur_t WHERE id < 4 ORDER BY id DESC;
FETCH ALL FROM o;
CLOSE ALL;
BEGIN;
DECLARE before_sp CURSOR FOR SELECT id FROM cur_t ORDER BY id;
SAVEPOINT sp;
DECLARE after_sp CURSOR FOR SELECT id FROM cur_t ORDER BY id;
FETCH 2 FROM before_sp;
ROLLBACK TO SAVEPOINT sp;
FETCH before_sp;
SAVEPOINT sp2;
DECLARE kept CURSOR FOR SELECT 1 AS one;
RELEASE sp2;
FETCH kept;
ROLLBACK TO sp;
FETCH after_sp;
ROLLBACK TO sp;
FETCH kept;
COMMIT;
";

/// psql's output for `script` (errors included, as psql prints them).
fn psql_script(port: u16, script: &str) -> String {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sqlite-cursors-{}-{port}.sql", std::process::id()));
    std::fs::write(&path, script).expect("script file");
    let out = Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", "postgres", "-d", "postgres", "-f"])
        .arg(&path)
        .env("PGSSLMODE", "disable")
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("run psql");
    let _ = std::fs::remove_file(&path);
    // psql prefixes errors with the script's name.
    format!("{}{}", stdout(&out), stderr(&out)).replace(&format!("{}:", path.display()), "")
}

/// `tests/drivers/psycopg_cursors.py`'s lines against the server on `port`.
fn psycopg_lines(port: u16, server: &str) -> Vec<String> {
    python_driver_lines("psycopg_cursors.py", port, &[], server)
}

#[tokio::test]
async fn psql_fetch_count_and_cursors_match_postgres() {
    if skip_without("psql", "psql_fetch_count_and_cursors_match_postgres") {
        return;
    }
    let server = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let port = server.port();
    let ours = tokio::task::spawn_blocking(move || psql_script(port, PSQL_SCRIPT))
        .await
        .unwrap();
    // Whatever PostgreSQL says: the cursor path ran (psql prints 0A000
    // if DECLARE fails) and the rows of every FETCH arrived.
    assert!(!ours.contains("not supported"), "{ours}");
    assert!(ours.contains("(125 rows)"), "{ours}");
    assert!(ours.contains(" 250 | n250 | 375.00"), "{ours}");
    assert!(ours.contains("cursor can only scan forward"), "{ours}");
    let postgres = match pg::Postgres::start("sqlite-cursors-psql", "") {
        Ok(p) => p,
        Err(why) => {
            println!("SKIPPED comparison with PostgreSQL 15: {why}");
            return;
        }
    };
    let pg_port = postgres.port;
    let theirs = tokio::task::spawn_blocking(move || psql_script(pg_port, PSQL_SCRIPT))
        .await
        .unwrap();
    let (ours, theirs): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "line {i}: SQLite example vs PostgreSQL 15");
    }
    assert_eq!(ours.len(), theirs.len());
}

/// Lines the example answers differently on purpose, with what it says
/// (none: psycopg's named cursors, which describe the SQL cursor as a
/// protocol portal, work through `ExtendedQueryHandler::do_describe_cursor`).
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

#[tokio::test]
async fn psycopg_cursors_match_postgres() {
    let has_psycopg = python_can_import("psycopg");
    if !has_psycopg {
        eprintln!("SKIPPED psycopg_cursors_match_postgres: python3 cannot import psycopg");
        return;
    }
    let server = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let port = server.port();
    let ours = tokio::task::spawn_blocking(move || psycopg_lines(port, "the SQLite example"))
        .await
        .unwrap();
    assert!(
        ours.iter()
            .any(|l| l.starts_with("FETCH BACKWARD 3 FROM pc: FETCH 3 [(7, 'n7', Decimal('7.25'))")),
        "{ours:#?}"
    );
    let split = |lines: Vec<String>| -> (Vec<String>, Vec<String>) {
        lines.into_iter().partition(|l| {
            KNOWN_DIFFERENCES
                .iter()
                .any(|(prefix, _)| l.starts_with(prefix))
        })
    };
    let (known, ours) = split(ours);
    let expected: Vec<&str> = KNOWN_DIFFERENCES.iter().map(|(_, line)| *line).collect();
    assert_eq!(known, expected);
    let postgres = match pg::Postgres::start("sqlite-cursors-psycopg", "") {
        Ok(p) => p,
        Err(why) => {
            println!("SKIPPED comparison with PostgreSQL 15: {why}");
            return;
        }
    };
    let pg_port = postgres.port;
    let theirs = tokio::task::spawn_blocking(move || psycopg_lines(pg_port, "PostgreSQL 15"))
        .await
        .unwrap();
    let (_, theirs) = split(theirs);
    assert_eq!(
        ours.join("\n"),
        theirs.join("\n"),
        "psycopg's cursors (left: the SQLite example, right: PostgreSQL 15)"
    );
}
