//! Real client drivers against the SQLite example, started in-process on an
//! ephemeral port: the scripts in `tests/drivers/` (asyncpg, psycopg2,
//! psycopg 3, node-postgres, pgJDBC) each print `OK` when every assertion
//! they make holds. The scripts were checked against PostgreSQL 15, so
//! they assert what PostgreSQL does.
//!
//! A driver whose runtime or package is missing is skipped with a
//! `SKIPPED` line. Where to look for them:
//! - node-postgres: `PGWIRE_NODE_PATH` (a `node_modules` directory, or the
//!   `pg` package itself), then each entry of `NODE_PATH`, then
//!   `./node_modules`, `~/.cache/pgwire-ci/node/node_modules` (where
//!   `.ci/run` installs it) and `/tmp/nodepg/node_modules`;
//! - pgJDBC: `PGWIRE_JDBC_JAR`, then `/usr/share/java/postgresql.jar`
//!   (Debian's `libpostgresql-jdbc-java`); `java` and `javac` are needed.

mod common;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use pgwire::server::ServerConfig;
use sqlite_server::{DbLocation, SqliteServer};

/// How long one driver script may take.
const TIMEOUT: Duration = Duration::from_secs(120);

fn server() -> TestServer<SqliteServer> {
    // Large objects (LargeObjects.java) use the function call protocol,
    // which the SQLite example serves.
    TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    )
}

fn scripts() -> PathBuf {
    common::repo_dir().join("tests/drivers")
}

/// Runs `cmd` to completion, killing it after [`TIMEOUT`].
fn run(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "{cmd:?} timed out after {TIMEOUT:?}\nstdout: {}\nstderr: {}",
                stdout(&out),
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

/// Asserts the script exited 0 and printed `OK`.
fn assert_ok(what: &str, out: &Output) {
    let so = stdout(out);
    assert!(
        out.status.success() && so.lines().any(|l| l.trim() == "OK"),
        "{what} failed ({})\nstdout:\n{so}\nstderr:\n{}",
        out.status,
        stderr(out)
    );
    eprintln!("{what}: OK");
}

/// Whether python3 can import `module`.
fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn run_python(test: &str, module: &str, script: &str) {
    if !python_has(module) {
        eprintln!(
            "SKIPPED {test}: python3 with the `{module}` module is not installed \
             (CI installs it)"
        );
        return;
    }
    let s = server();
    let mut cmd = Command::new("python3");
    cmd.arg(scripts().join(script)).arg(s.port().to_string());
    assert_ok(test, &run(cmd));
}

#[test]
fn asyncpg() {
    run_python("asyncpg", "asyncpg", "asyncpg_smoke.py");
}

/// A recursive CTE read as integers through psycopg's `cursor.stream()`.
#[test]
fn psycopg_cte_stream() {
    run_python("psycopg_cte_stream", "psycopg", "psycopg_cte_stream.py");
}

/// A recursive CTE read as numbers by node-postgres in both protocols.
#[test]
fn node_postgres_cte() {
    run_node("node_postgres_cte", "node_pg_cte.js");
}

#[test]
fn asyncpg_types() {
    run_python("asyncpg_types", "asyncpg", "asyncpg_types.py");
}

#[test]
fn psycopg2() {
    run_python("psycopg2", "psycopg2", "psycopg2_smoke.py");
}

#[test]
fn psycopg3_extended() {
    if python_with_psycopg().is_none() {
        eprintln!("SKIPPED psycopg3_extended: python3 with psycopg (3) is not installed");
        return;
    }
    run_python("psycopg3_extended", "psycopg", "psycopg_extended.py");
}

/// The directory of the `pg` package, if node-postgres is installed
/// somewhere this test knows to look.
fn node_pg_package() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("PGWIRE_NODE_PATH") {
        let p = PathBuf::from(p);
        candidates.push(p.join("pg"));
        candidates.push(p);
    }
    if let Some(paths) = std::env::var_os("NODE_PATH") {
        candidates.extend(std::env::split_paths(&paths).map(|p| p.join("pg")));
    }
    candidates.push(common::repo_dir().join("node_modules/pg"));
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cache/pgwire-ci/node/node_modules/pg"));
    }
    candidates.push(PathBuf::from("/tmp/nodepg/node_modules/pg"));
    candidates
        .into_iter()
        .find(|p| p.join("package.json").is_file())
}

/// Runs a node-postgres script, or says why it cannot.
fn run_node(test: &str, script: &str) {
    if skip_without("node", test) {
        return;
    }
    let Some(pg) = node_pg_package() else {
        eprintln!(
            "SKIPPED {test}: the `pg` package is not installed (set PGWIRE_NODE_PATH to its \
             node_modules directory; CI installs it)"
        );
        return;
    };
    let s = server();
    let mut cmd = Command::new("node");
    cmd.arg(scripts().join(script))
        .arg(s.port().to_string())
        .arg(&pg);
    assert_ok(test, &run(cmd));
}

#[test]
fn node_postgres() {
    run_node("node_postgres", "node_pg_smoke.js");
}

#[test]
fn node_postgres_types() {
    run_node("node_postgres_types", "node_pg_types.js");
}

/// Compiles `tests/drivers/jdbc/{class}.java` and runs it against a new
/// server, or says why it cannot.
fn run_jdbc(test: &str, class: &str) {
    if skip_without("java", test) || skip_without("javac", test) {
        return;
    }
    let jar = std::env::var_os("PGWIRE_JDBC_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java/postgresql.jar"));
    if !jar.is_file() {
        eprintln!(
            "SKIPPED {test}: the PostgreSQL JDBC driver is not at {} (set PGWIRE_JDBC_JAR; \
             CI installs libpostgresql-jdbc-java)",
            jar.display()
        );
        return;
    }
    let classes = std::env::temp_dir().join(format!("pgwire-jdbc-{}-{class}", std::process::id()));
    std::fs::create_dir_all(&classes).expect("class dir");
    let mut javac = Command::new("javac");
    javac
        .arg("-cp")
        .arg(&jar)
        .arg("-d")
        .arg(&classes)
        .arg(scripts().join(format!("jdbc/{class}.java")));
    let out = run(javac);
    assert!(out.status.success(), "javac: {}", stderr(&out));
    let s = server();
    let cp = std::env::join_paths([jar.as_path(), classes.as_path()]).expect("classpath");
    let mut java = Command::new("java");
    java.arg("-cp").arg(cp).arg(class).arg(s.port().to_string());
    let out = run(java);
    let _ = std::fs::remove_dir_all(&classes);
    assert_ok(test, &out);
}

#[test]
fn pgjdbc() {
    run_jdbc("pgjdbc", "Smoke");
}

#[test]
fn pgjdbc_types() {
    run_jdbc("pgjdbc_types", "TypeRoundTrip");
}

/// LargeObjectManager: a 10 MiB object written in 64 KiB chunks, seeked,
/// read back identical, truncated, unlinked (the function call protocol).
#[test]
fn pgjdbc_large_objects() {
    run_jdbc("pgjdbc_large_objects", "LargeObjects");
}
