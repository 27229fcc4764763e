//! `examples/server.rs`, the two-trait server (`ServerHandlers` +
//! `SimpleQueryHandler` only), as a newcomer runs it: the built binary
//! with `--listen`, driven by psql, pgbench, tokio-postgres and psycopg.
//! The extended protocol is served from the simple handler; statements
//! with parameters get 0A000 and the session goes on.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::{have_program, python_with_psycopg, stderr, stdout};

struct Example {
    child: Child,
    port: u16,
    /// Kept open: the example's later output must not meet a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Option<Example> {
    let exe = std::env::current_exe().ok()?;
    let bin: PathBuf = exe
        .parent()?
        .parent()?
        .join("examples")
        .join(format!("server{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        println!("SKIPPED: the server example binary was not built (`cargo test` builds it)");
        return None;
    }
    // Port 0, and the address read from what the example prints: a port
    // picked here and freed before the example binds it can be taken by
    // another test's example in between (tests run in parallel).
    let mut child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the example");
    let mut stdout = BufReader::new(child.stdout.take().expect("the example's stdout"));
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("read the example's first line");
    let mut example = Example {
        child,
        port: 0,
        _stdout: stdout,
    };
    let addr: std::net::SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("the example printed {line:?}, not its address"));
    example.port = addr.port();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the example did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(example)
}

async fn client(port: u16) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=newcomer dbname=test"),
        tokio_postgres::NoTls,
    )
    .await
    .expect("connect");
    tokio::spawn(conn);
    client
}

#[test]
fn psql_and_pgbench_simple() {
    let Some(server) = start() else { return };
    if !have_program("psql") {
        println!("SKIPPED psql part: psql is not installed (CI installs it)");
    } else {
        let out = common::psql(server.port, "newcomer", &["-At", "-c", "select anything"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out).trim(), "hello, you said: select anything");
    }
    if !have_program("pgbench") {
        println!("SKIPPED pgbench part: pgbench is not installed (CI installs it)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("pgwire-server-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("select1.sql");
    std::fs::write(&script, "SELECT 1;\n").unwrap();
    for mode in ["simple", "extended", "prepared"] {
        let out = Command::new("pgbench")
            .args(["-n", "-h", "127.0.0.1", "-p", &server.port.to_string()])
            .args(["-U", "newcomer", "-M", mode, "-c", "2", "-t", "50", "-f"])
            .arg(&script)
            .arg("test")
            .env("PGSSLMODE", "disable")
            .output()
            .expect("run pgbench");
        let text = stdout(&out);
        assert!(
            out.status.success(),
            "pgbench -M {mode}: {}{}",
            text,
            stderr(&out)
        );
        assert!(
            text.contains("number of transactions actually processed: 100/100"),
            "pgbench -M {mode}: {text}"
        );
        assert!(text.contains("number of failed transactions: 0"), "{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn tokio_postgres_without_parameters() {
    let Some(server) = start() else { return };
    let client = client(server.port).await;
    // query() always uses the extended protocol: Parse, Describe, then
    // Bind, Execute.
    let rows = client.query("SELECT 1", &[]).await.expect("query");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].columns()[0].name(), "greeting");
    assert_eq!(rows[0].get::<_, String>(0), "hello, you said: SELECT 1");
    // A prepared statement run three times runs three times.
    let stmt = client.prepare("SELECT 2").await.expect("prepare");
    for _ in 0..3 {
        let row = client.query_one(&stmt, &[]).await.expect("execute");
        assert_eq!(row.get::<_, String>(0), "hello, you said: SELECT 2");
    }
    // The simple protocol too.
    let msgs = client.simple_query("SELECT 3").await.expect("simple");
    assert!(matches!(
        &msgs[1],
        tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("hello, you said: SELECT 3")
    ));
}

#[tokio::test]
async fn parameters_are_refused_with_0a000_and_the_session_goes_on() {
    let Some(server) = start() else { return };
    let client = client(server.port).await;
    let err = client
        .query("SELECT $1::text", &[&"x"])
        .await
        .expect_err("parameters need an ExtendedQueryHandler");
    let db = err.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "0A000", "{db:?}");
    assert!(db.message().contains("bind parameters"), "{db:?}");
    // Two statements in one Parse: 42601, as PostgreSQL.
    let err = client
        .query("SELECT 1; SELECT 2", &[])
        .await
        .expect_err("multiple commands in a prepared statement");
    assert_eq!(err.as_db_error().unwrap().code().code(), "42601");
    // The session goes on.
    let row = client.query_one("SELECT 4", &[]).await.expect("after");
    assert_eq!(row.get::<_, String>(0), "hello, you said: SELECT 4");
    // '$1' in a string is no parameter.
    let row = client.query_one("SELECT '$1'", &[]).await.expect("quoted");
    assert_eq!(row.get::<_, String>(0), "hello, you said: SELECT '$1'");
}

#[test]
fn psycopg_execute() {
    let Some(server) = start() else { return };
    let Some(python) = python_with_psycopg() else {
        println!("SKIPPED psycopg_execute: python3 with psycopg is not installed (CI installs it)");
        return;
    };
    let script = format!(
        r#"
import psycopg
with psycopg.connect("host=127.0.0.1 port={port} user=newcomer dbname=test sslmode=disable") as conn:
    cur = conn.execute("select 1")
    assert cur.fetchone() == ("hello, you said: select 1",), "plain"
    cur = conn.execute("select 2", prepare=True)
    assert cur.fetchone() == ("hello, you said: select 2",), "prepared"
    try:
        conn.execute("select %s", (1,))
        raise SystemExit("parameters were accepted")
    except psycopg.errors.FeatureNotSupported:
        pass
    cur = conn.execute("select 3")
    assert cur.fetchone() == ("hello, you said: select 3",), "after the error"
print("ok")
"#,
        port = server.port
    );
    let out = Command::new(python)
        .args(["-c", &script])
        .output()
        .expect("run python");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&out).trim(), "ok");
}
