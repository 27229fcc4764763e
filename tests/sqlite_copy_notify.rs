//! The SQLite example's COPY, LISTEN/NOTIFY, notices and cancellation,
//! with real clients: psql (`\copy`, notifications, notices), psycopg 3
//! (`cursor.copy()`, `conn.cancel()`) and tokio-postgres (`copy_in`,
//! `copy_out`, `cancel_query`).

mod common;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use futures_util::{SinkExt, StreamExt};
use pgwire::server::ServerConfig;
use sqlite_server::{DbLocation, SqliteServer};

fn server() -> TestServer<SqliteServer> {
    TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    )
}

fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_owned()).unwrap_or_default()
}

fn tmp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("pgwire-copy-{}-{name}", std::process::id()))
}

/// `n` rows in PostgreSQL's text COPY format (as PostgreSQL writes it):
/// ints, text with tabs, backslashes, newlines and non-ASCII characters,
/// NULLs, booleans, floats.
fn text_rows(n: usize) -> String {
    let mut s = String::with_capacity(n * 48);
    for i in 0..n {
        let text = match i % 5 {
            0 => format!("row {i}"),
            1 => format!("tab\\there {i} back\\\\slash"),
            2 => format!("Zoë 🦀 ünïcødé {i}\\nsecond line"),
            3 => "\\N".to_owned(),
            _ => String::new(),
        };
        let flag = match i % 3 {
            0 => "t",
            1 => "f",
            _ => "\\N",
        };
        let score = if i % 7 == 0 {
            "\\N".to_owned()
        } else {
            format!("{}.5", i as i64 - 50_000)
        };
        let _ = writeln!(s, "{i}\t{text}\t{flag}\t{score}");
    }
    s
}

const TABLE: &str = "CREATE TABLE big (id integer PRIMARY KEY, t text, flag boolean, score float8)";

#[test]
fn psql_copy_in_and_out_100k_rows_byte_for_byte() {
    if skip_without("psql", "psql_copy_in_and_out_100k_rows_byte_for_byte") {
        return;
    }
    let s = server();
    let input = text_rows(100_000);
    let in_path = tmp_path("in.tsv");
    let out_path = tmp_path("out.tsv");
    std::fs::write(&in_path, &input).unwrap();
    let o = psql(s.port(), "postgres", &["-c", TABLE]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = psql(
        s.port(),
        "postgres",
        &["-c", &format!("\\copy big from '{}'", in_path.display())],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "COPY 100000");
    let o = psql(
        s.port(),
        "postgres",
        &[
            "-c",
            &format!(
                "\\copy (SELECT * FROM big ORDER BY id) to '{}'",
                out_path.display()
            ),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "COPY 100000");
    let output = std::fs::read(&out_path).unwrap();
    let _ = std::fs::remove_file(&in_path);
    let _ = std::fs::remove_file(&out_path);
    assert_eq!(output.len(), input.len());
    assert!(
        output == input.as_bytes(),
        "COPY TO differs from what COPY FROM read"
    );
    // The whole table, not the ordered query.
    let o = psql(s.port(), "postgres", &["-At", "-c", "COPY big TO STDOUT"]);
    assert_eq!(o.stdout.len(), input.len());
    let o = psql(
        s.port(),
        "postgres",
        &[
            "-At",
            "-c",
            "SELECT count(*), count(t), sum(flag::int) FROM big",
        ],
    );
    assert_eq!(stdout(&o).trim(), "100000|80000|33334");
}

#[test]
fn psql_copy_csv_with_header() {
    if skip_without("psql", "psql_copy_csv_with_header") {
        return;
    }
    let s = server();
    let csv = "id,name,note\n1,plain,\n2,\"with, comma\",\"\"\n3,\"multi\nline\",\"say \"\"hi\"\"\"\n4,,\\N\n";
    let path = tmp_path("in.csv");
    std::fs::write(&path, csv).unwrap();
    let o = psql(
        s.port(),
        "postgres",
        &[
            "-At",
            "-c",
            "CREATE TABLE c (id int, name text, note text)",
            "-c",
            &format!(
                "\\copy c from '{}' with (format csv, header)",
                path.display()
            ),
            "-c",
            "SELECT id, name IS NULL, note IS NULL FROM c ORDER BY id",
        ],
    );
    let _ = std::fs::remove_file(&path);
    assert!(o.status.success(), "{}", stderr(&o));
    // '' unquoted is NULL, "" is an empty string.
    assert!(
        stdout(&o).contains("1|f|t\n2|f|f\n3|f|f\n4|t|f"),
        "{}",
        stdout(&o)
    );
    let o = psql(
        s.port(),
        "postgres",
        &["-c", "COPY c TO STDOUT WITH (FORMAT csv, HEADER)"],
    );
    assert_eq!(stdout(&o), csv);
    let o = psql(
        s.port(),
        "postgres",
        &[
            "-c",
            "COPY (SELECT id, name FROM c WHERE id < 3 ORDER BY id) TO STDOUT CSV FORCE QUOTE *",
        ],
    );
    assert_eq!(stdout(&o), "\"1\",\"plain\"\n\"2\",\"with, comma\"\n");
}

#[tokio::test]
async fn failed_copy_leaves_the_table_unchanged() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute("CREATE TABLE f (a int PRIMARY KEY, b text); INSERT INTO f VALUES (0, 'kept')")
        .await
        .unwrap();
    // A bad value after many good rows, in the last chunk.
    let mut data = String::new();
    for i in 1..20_000 {
        let _ = writeln!(data, "{i}\tx{i}");
    }
    data.push_str("oops\tbad\n");
    let sink = c.copy_in::<_, Bytes>("COPY f FROM STDIN").await.unwrap();
    let mut sink = Box::pin(sink);
    sink.send(Bytes::from(data)).await.unwrap();
    let e = sink.as_mut().finish().await.unwrap_err();
    assert_eq!(code(&e), "22P02", "{e:?}");
    let db = e.as_db_error().unwrap();
    assert_eq!(
        db.message(),
        "invalid input syntax for type integer: \"oops\""
    );
    assert_eq!(db.where_(), Some("COPY f, line 20000, column a: \"oops\""));
    // Wrong number of columns.
    let sink = Box::pin(c.copy_in::<_, Bytes>("COPY f FROM STDIN").await.unwrap());
    let mut sink = sink;
    sink.send(Bytes::from_static(b"5\ta\n6\n")).await.unwrap();
    let e = sink.as_mut().finish().await.unwrap_err();
    assert_eq!(code(&e), "22P04");
    assert_eq!(
        e.as_db_error().unwrap().message(),
        "missing data for column \"b\""
    );
    // Duplicate key in the middle, inside a transaction block: the
    // savepoint is undone, the block fails as in PostgreSQL.
    c.batch_execute("BEGIN; INSERT INTO f VALUES (100, 'in block')")
        .await
        .unwrap();
    let mut sink = Box::pin(c.copy_in::<_, Bytes>("COPY f FROM STDIN").await.unwrap());
    sink.send(Bytes::from_static(b"7\ta\n0\tdup\n"))
        .await
        .unwrap();
    let e = sink.as_mut().finish().await.unwrap_err();
    assert_eq!(code(&e), "23505");
    assert_eq!(
        code(&c.simple_query("SELECT 1").await.unwrap_err()),
        "25P02"
    );
    c.batch_execute("ROLLBACK").await.unwrap();
    let rows = c
        .query("SELECT count(*), max(b) FROM f", &[])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), 1);
    assert_eq!(rows[0].get::<_, String>(1), "kept");
    // A good COPY in a block is kept by COMMIT.
    c.batch_execute("BEGIN").await.unwrap();
    let mut sink = Box::pin(
        c.copy_in::<_, Bytes>("COPY f (b, a) FROM STDIN")
            .await
            .unwrap(),
    );
    sink.send(Bytes::from_static(b"x\t1\ny\t2\n"))
        .await
        .unwrap();
    assert_eq!(sink.as_mut().finish().await.unwrap(), 2);
    c.batch_execute("COMMIT").await.unwrap();
    let rows = c.query("SELECT count(*) FROM f", &[]).await.unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), 3);
}

#[tokio::test]
async fn tokio_postgres_copy_in_out_and_cancel() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute("CREATE TABLE k (id int8, v text, b bytea, ok bool)")
        .await
        .unwrap();
    let mut sink = Box::pin(
        c.copy_in::<_, Bytes>("COPY k FROM STDIN (FORMAT csv)")
            .await
            .unwrap(),
    );
    for chunk in ["1,a,\\x00ff,t\n2,", "\"b,\"\"c\"\"\",,f\n3,,\\x,\n"] {
        sink.send(Bytes::from(chunk)).await.unwrap();
    }
    assert_eq!(sink.as_mut().finish().await.unwrap(), 3);
    let stream = c
        .copy_out("COPY (SELECT * FROM k ORDER BY id) TO STDOUT")
        .await
        .unwrap();
    let chunks: Vec<Bytes> = stream.map(|r| r.unwrap()).collect().await;
    // One row per CopyData, as PostgreSQL sends them.
    assert_eq!(chunks.len(), 3);
    assert_eq!(
        chunks.concat(),
        b"1\ta\t\\\\x00ff\tt\n2\tb,\"c\"\t\\N\tf\n3\t\\N\t\\\\x\t\\N\n"
    );

    // Cancel a query that would run forever; the session goes on.
    let mut times = Vec::new();
    for _ in 0..3 {
        let token = c.cancel_token();
        let sent = std::sync::Arc::new(std::sync::Mutex::new(None));
        let sent2 = sent.clone();
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            *sent2.lock().unwrap() = Some(Instant::now());
            token.cancel_query(tokio_postgres::NoTls).await
        });
        let e = c
            .simple_query(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
            )
            .await
            .unwrap_err();
        let at = Instant::now();
        canceller.await.unwrap().unwrap();
        assert_eq!(code(&e), "57014");
        let sent = sent.lock().unwrap().expect("cancel sent");
        times.push(at.duration_since(sent));
    }
    times.sort();
    eprintln!(
        "tokio-postgres: cancel to error, median of 3: {:?}",
        times[1]
    );
    let rows = c.simple_query("SELECT count(*) FROM k").await.unwrap();
    assert!(
        matches!(&rows[1], tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("3"))
    );
}

const PSYCOPG_SCRIPT: &str = r#"
import sys, threading, time, psycopg
from psycopg import errors
port = int(sys.argv[1])
conn = psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=test sslmode=disable", autocommit=True)
cur = conn.cursor()
cur.execute("CREATE TABLE p (id int, name text, score float8, ok bool)")
rows = [(i, None if i % 10 == 0 else f"name\t{i} \\ é", i / 4, i % 2 == 0) for i in range(5000)]
with cur.copy("COPY p FROM STDIN") as copy:
    for r in rows:
        copy.write_row(r)
print("copied", cur.rowcount)
with cur.copy("COPY (SELECT id, name, score, ok FROM p ORDER BY id) TO STDOUT") as copy:
    back = [tuple(r) for r in copy.rows()]
expected = [(str(i), n, repr(s) if s != int(s) else str(int(s)), "t" if ok else "f") for (i, n, s, ok) in rows]
assert back == expected, (back[:3], expected[:3])
print("rows match", len(back))
# A COPY the client abandons (CopyFail) leaves nothing.
try:
    with cur.copy("COPY p FROM STDIN") as copy:
        copy.write_row((99999, "never", 0, True))
        raise RuntimeError("client gave up")
except RuntimeError:
    pass
cur.execute("SELECT count(*) FROM p")
print("after CopyFail", cur.fetchone()[0])
# conn.cancel() of a long query.
times = []
for _ in range(5):
    sent = []
    def cancel():
        time.sleep(0.3)
        sent.append(time.perf_counter())
        conn.cancel()
    t = threading.Thread(target=cancel)
    t.start()
    try:
        cur.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
        print("not cancelled")
    except errors.QueryCanceled as e:
        times.append(time.perf_counter() - sent[0])
    t.join()
cur.execute("SELECT 42")
print("usable", cur.fetchone()[0])
times.sort()
print("cancelled", len(times), "median_ms %.1f" % (times[len(times) // 2] * 1000))
"#;

#[test]
fn psycopg_copy_and_cancel() {
    let Some(python) = python_with_psycopg() else {
        eprintln!("SKIPPED psycopg_copy_and_cancel: python3 with psycopg is not installed");
        return;
    };
    let s = server();
    let o = Command::new(python)
        .args(["-c", PSYCOPG_SCRIPT, &s.port().to_string()])
        .output()
        .unwrap();
    let out = stdout(&o);
    eprintln!("{out}");
    assert!(o.status.success(), "{}\n{}", out, stderr(&o));
    assert!(out.contains("copied 5000"), "{out}");
    assert!(out.contains("rows match 5000"), "{out}");
    assert!(out.contains("after CopyFail 5000"), "{out}");
    assert!(out.contains("usable 42"), "{out}");
    assert!(out.contains("cancelled 5 "), "{out}");
}

#[test]
fn psql_receives_notifications_and_notices() {
    if skip_without("psql", "psql_receives_notifications_and_notices") {
        return;
    }
    let s = server();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (c, pid) = rt.block_on(async {
        let c = s.connect().await;
        let pid = c
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get::<_, i32>(0);
        (c, pid)
    });
    // psql listens, waits in a shell command while the other session
    // notifies, and shows the notification after its next command.
    let mut child = Command::new("psql")
        .args([
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            &s.port().to_string(),
            "-U",
            "postgres",
            "-d",
            "test",
        ])
        .env("PGSSLMODE", "disable")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    use std::io::Write as _;
    stdin
        .write_all(b"LISTEN ch;\n\\! sleep 2\nSELECT 1 AS one;\nDROP TABLE IF EXISTS missing;\n")
        .unwrap();
    drop(stdin);
    rt.block_on(async {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        // In a transaction: delivered at COMMIT; the rolled back one never.
        c.batch_execute("BEGIN; NOTIFY ch, 'dropped'; ROLLBACK")
            .await
            .unwrap();
        c.batch_execute("BEGIN; NOTIFY ch, 'x'; SELECT pg_notify('ch', 'y'); COMMIT")
            .await
            .unwrap();
    });
    let o = child.wait_with_output().unwrap();
    let out = stdout(&o);
    let err = stderr(&o);
    assert!(out.contains("LISTEN"), "{out}\n{err}");
    let x = format!(
        "Asynchronous notification \"ch\" with payload \"x\" received from server process with PID {pid}."
    );
    let y = format!(
        "Asynchronous notification \"ch\" with payload \"y\" received from server process with PID {pid}."
    );
    assert!(out.contains(&x), "{out}\n{err}");
    assert!(out.contains(&y), "{out}\n{err}");
    assert!(!out.contains("dropped"), "{out}");
    // After the SELECT that followed the notifications.
    assert!(
        out.find(&x).unwrap() > out.find("(1 row)").unwrap(),
        "{out}"
    );
    assert!(
        err.contains("NOTICE:  table \"missing\" does not exist, skipping"),
        "{err}"
    );
}

#[tokio::test]
async fn notifications_between_tokio_postgres_sessions() {
    let s = server();
    let (listener, mut conn) =
        tokio_postgres::connect(&s.conn_str("postgres"), tokio_postgres::NoTls)
            .await
            .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(n) = m {
                let _ = tx.send((
                    n.process_id(),
                    n.channel().to_owned(),
                    n.payload().to_owned(),
                ));
            }
        }
    });
    listener.batch_execute("LISTEN a; LISTEN b").await.unwrap();
    let sender = s.connect().await;
    let pid = sender
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get::<_, i32>(0);
    sender
        .batch_execute("NOTIFY a, 'one'; NOTIFY c, 'nobody'")
        .await
        .unwrap();
    // Extended protocol: delivered at Sync.
    sender
        .execute("SELECT pg_notify('b', $1)", &[&"two"])
        .await
        .unwrap();
    listener.batch_execute("UNLISTEN a").await.unwrap();
    sender
        .batch_execute("NOTIFY a, 'after unlisten'; NOTIFY b, 'three'")
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        let n = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        got.push(n);
    }
    assert_eq!(
        got,
        [
            (pid, "a".to_owned(), "one".to_owned()),
            (pid, "b".to_owned(), "two".to_owned()),
            (pid, "b".to_owned(), "three".to_owned()),
        ]
    );
    let e = sender
        .query("SELECT pg_notify('', 'x')", &[])
        .await
        .unwrap_err();
    let message = e
        .as_db_error()
        .map(|d| d.message().to_owned())
        .unwrap_or_default();
    assert!(message.contains("channel name cannot be empty"), "{e:?}");
    let long = "x".repeat(8000);
    let e = sender
        .batch_execute(&format!("NOTIFY b, '{long}'"))
        .await
        .unwrap_err();
    assert_eq!(code(&e), "22023");
    // The listener's session ends: it leaves the hub.
    drop(listener);
    tokio::time::sleep(Duration::from_millis(200)).await;
    sender.batch_execute("NOTIFY b, 'gone'").await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), rx.recv())
            .await
            .map_or(true, |m| m.is_none())
    );
}
