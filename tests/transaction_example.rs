//! `examples/transaction.rs`: psql's prompt (`%x`: `*` in a block, `!` in
//! a failed one), tags, warnings and errors for the same transaction
//! statements as PostgreSQL 15 (run side by side when it is installed);
//! tokio-postgres and psycopg transactions and savepoints.

mod common;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;
#[allow(dead_code)]
#[path = "../examples/transaction.rs"]
mod transaction_example;

use std::process::Command;

use common::{TestServer, have_program, python_with_psycopg, stderr};
use pgwire::server::ServerConfig;
use transaction_example::KvServer;

fn server() -> TestServer<KvServer> {
    // psql 15 warns about a newer server; the comparison is with 15.
    TestServer::start(
        KvServer::new(),
        ServerConfig::default().with_parameter("server_version", "15.0"),
    )
}

/// Statements valid in both servers, through every transaction state.
const SCRIPT: &str = "\\set VERBOSITY verbose
BEGIN;
SAVEPOINT a;
oops;
ROLLBACK TO a;
SAVEPOINT b;
RELEASE b;
COMMIT;
COMMIT;
BEGIN;
oops;
SAVEPOINT c;
COMMIT;
ROLLBACK;
BEGIN;
BEGIN;
ROLLBACK TO nope;
RELEASE a;
ROLLBACK TO SAVEPOINT nope;
ABORT;
SAVEPOINT x;
ROLLBACK TO x;
RELEASE x;
START TRANSACTION;
SAVEPOINT \"Q\";
oops;
ROLLBACK TO \"Q\";
END;
\\q
";

/// Runs psql interactively (under `script`, for a terminal) with the
/// prompt `<<%x>>` and returns what matters: each prompt's status, each
/// command tag, and each error/warning's SQLSTATE.
fn psql_transcript(port: u16) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("pgwire-tx-psql-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.sql");
    std::fs::write(&input, SCRIPT).unwrap();
    let cmd = format!(
        "psql -X -h 127.0.0.1 -p {port} -U postgres -d postgres -v 'PROMPT1=<<%x>>' -v PROMPT2="
    );
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .expect("run script");
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout)
        .replace("\x1b[?2004h", "")
        .replace("\x1b[?2004l", "");
    let mut items = Vec::new();
    for line in text.split(['\n', '\r']) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("<<") {
            let (status, _) = rest.split_once(">>").unwrap_or((rest, ""));
            items.push(format!("prompt[{status}]"));
        } else if let Some(rest) = line
            .strip_prefix("ERROR:")
            .or_else(|| line.strip_prefix("WARNING:"))
        {
            let kind = if line.starts_with('E') {
                "ERROR"
            } else {
                "WARNING"
            };
            let code = rest.trim().split(':').next().unwrap_or("");
            items.push(format!("{kind} {code}"));
        } else if !line.is_empty()
            && line.chars().all(|c| c.is_ascii_uppercase() || c == ' ')
            && !line.starts_with("LINE")
        {
            items.push(line.to_owned());
        }
    }
    items
}

#[test]
fn psql_prompts_tags_and_errors_match_postgresql() {
    if !have_program("psql") || !have_program("script") {
        println!(
            "SKIPPED psql_prompts_tags_and_errors_match_postgresql: psql or script is missing"
        );
        return;
    }
    let s = server();
    let ours = psql_transcript(s.port());
    let expected = [
        "prompt[]", // \\set VERBOSITY
        "prompt[]",
        "BEGIN",
        "prompt[*]",
        "SAVEPOINT",
        "prompt[*]",
        "ERROR 42601",
        "prompt[!]",
        "ROLLBACK",
        "prompt[*]",
        "SAVEPOINT",
        "prompt[*]",
        "RELEASE",
        "prompt[*]",
        "COMMIT",
        "prompt[]",
        "WARNING 25P01",
        "COMMIT",
        "prompt[]",
        "BEGIN",
        "prompt[*]",
        "ERROR 42601",
        "prompt[!]",
        "ERROR 25P02",
        "prompt[!]",
        "ROLLBACK",
        "prompt[]",
        "WARNING 25P01",
        "ROLLBACK",
        "prompt[]",
        "BEGIN",
        "prompt[*]",
        "WARNING 25001",
        "BEGIN",
        "prompt[*]",
        "ERROR 3B001",
        "prompt[!]",
        "ERROR 25P02",
        "prompt[!]",
        "ERROR 3B001",
        "prompt[!]",
        "ROLLBACK",
        "prompt[]",
        "ERROR 25P01",
        "prompt[]",
        "ERROR 25P01",
        "prompt[]",
        "ERROR 25P01",
        "prompt[]",
        "START TRANSACTION",
        "prompt[*]",
        "SAVEPOINT",
        "prompt[*]",
        "ERROR 42601",
        "prompt[!]",
        "ROLLBACK",
        "prompt[*]",
        "COMMIT",
        "prompt[]",
    ];
    assert_eq!(ours, expected, "our transcript");
    match postgres::Postgres::start("tx-psql", "") {
        Err(why) => println!("SKIPPED comparison with PostgreSQL: {why}"),
        Ok(pg) => assert_eq!(
            psql_transcript(pg.port),
            ours,
            "PostgreSQL's transcript differs"
        ),
    }
}

#[tokio::test]
async fn tokio_postgres_transactions_and_savepoints() {
    let s = server();
    let mut client = s.connect().await;
    let other = s.connect().await;
    let get = |rows: Vec<tokio_postgres::Row>| rows.first().map(|r| r.get::<_, String>(1));
    client.batch_execute("PUT a 1").await.unwrap();

    let tx = client.transaction().await.unwrap();
    tx.batch_execute("PUT a 2").await.unwrap();
    {
        let mut tx = tx;
        let sp = tx.transaction().await.unwrap(); // SAVEPOINT sp_1
        sp.batch_execute("PUT a 3; PUT b 3").await.unwrap();
        assert_eq!(
            get(sp.query("GET a", &[]).await.unwrap()).as_deref(),
            Some("3")
        );
        drop(sp); // ROLLBACK TO sp_1
        assert_eq!(
            get(tx.query("GET a", &[]).await.unwrap()).as_deref(),
            Some("2")
        );
        assert_eq!(get(tx.query("GET b", &[]).await.unwrap()), None);
        // Uncommitted: the other session sees the old value.
        assert_eq!(
            get(other.query("GET a", &[]).await.unwrap()).as_deref(),
            Some("1")
        );
        tx.commit().await.unwrap();
    }
    assert_eq!(
        get(other.query("GET a", &[]).await.unwrap()).as_deref(),
        Some("2")
    );

    // A failed block: 25P02 until ROLLBACK, and nothing of it is kept.
    let tx = client.transaction().await.unwrap();
    tx.batch_execute("PUT a 9").await.unwrap();
    let err = tx.batch_execute("oops").await.unwrap_err();
    assert_eq!(err.code().unwrap().code(), "42601");
    let err = tx.query("GET a", &[]).await.unwrap_err();
    assert_eq!(err.code().unwrap().code(), "25P02");
    tx.rollback().await.unwrap();
    assert_eq!(
        get(client.query("GET a", &[]).await.unwrap()).as_deref(),
        Some("2")
    );

    // A failed savepoint recovered in the extended protocol.
    let mut tx = client.transaction().await.unwrap();
    tx.execute("PUT c 1", &[]).await.unwrap();
    {
        let sp = tx.savepoint("inner").await.unwrap();
        assert!(sp.execute("bogus", &[]).await.is_err());
        sp.rollback().await.unwrap();
    }
    assert_eq!(
        get(tx.query("GET c", &[]).await.unwrap()).as_deref(),
        Some("1")
    );
    tx.commit().await.unwrap();
    assert_eq!(
        get(other.query("GET c", &[]).await.unwrap()).as_deref(),
        Some("1")
    );
}

#[test]
fn psycopg_transaction_status_and_savepoints() {
    let Some(python) = python_with_psycopg() else {
        println!(
            "SKIPPED psycopg_transaction_status_and_savepoints: python3 with psycopg is not installed"
        );
        return;
    };
    let s = server();
    let script = r#"
import sys, psycopg
from psycopg import pq
S = pq.TransactionStatus
conn = psycopg.connect(f"host=127.0.0.1 port={sys.argv[1]} user=postgres dbname=test sslmode=disable")
st = lambda: conn.info.transaction_status
assert st() == S.IDLE, st()
conn.execute("PUT k v1")               # psycopg opens a block first
assert st() == S.INTRANS, st()
conn.commit()
assert st() == S.IDLE, st()
try:
    with conn.transaction():
        conn.execute("PUT k v2")
        with conn.transaction():       # SAVEPOINT / RELEASE
            conn.execute("PUT k v3")
        try:
            with conn.transaction():   # ROLLBACK TO SAVEPOINT on error
                conn.execute("PUT k v4")
                conn.execute("oops")
        except psycopg.errors.SyntaxError:
            pass
        assert st() == S.INTRANS, st()
        assert conn.execute("GET k").fetchone()[1] == "v3"
        raise RuntimeError("roll back the outer block")
except RuntimeError:
    pass
conn.commit()
assert st() == S.IDLE, st()
assert conn.execute("GET k").fetchone()[1] == "v1"
conn.rollback()
try:
    conn.execute("oops")
except psycopg.errors.SyntaxError:
    pass
assert st() == S.INERROR, st()
try:
    conn.execute("GET k")
    raise AssertionError("a failed block ran a statement")
except psycopg.errors.InFailedSqlTransaction:
    pass
conn.rollback()
assert st() == S.IDLE, st()
conn.close()
print("OK")
"#;
    let out = Command::new(python)
        .args(["-c", script, &s.port().to_string()])
        .output()
        .expect("run python");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("OK"),
        "psycopg: {}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}
