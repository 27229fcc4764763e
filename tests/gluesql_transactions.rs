//! Transactions of the GlueSQL example server between sessions: what a
//! block sees, when it conflicts (40001), failed blocks (25P02),
//! savepoints, and statements outside blocks not losing updates.

mod common;

#[allow(dead_code)]
#[path = "../examples/gluesql/server/mod.rs"]
mod gluesql_server;

use common::*;
use gluesql_server::GlueSqlServer;
use pgwire::server::ServerConfig;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

fn server() -> TestServer<GlueSqlServer> {
    TestServer::start(GlueSqlServer::new(), ServerConfig::default())
}

async fn count(c: &Client, table: &str) -> i64 {
    c.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0)
}

async fn setup(s: &TestServer<GlueSqlServer>) -> (Client, Client) {
    let a = s.connect().await;
    let b = s.connect().await;
    a.batch_execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE other (x INTEGER)",
    )
    .await
    .unwrap();
    (a, b)
}

#[tokio::test]
async fn a_block_is_invisible_until_commit_and_gone_on_rollback() {
    let s = server();
    let (a, b) = setup(&s).await;
    a.batch_execute("BEGIN; INSERT INTO t VALUES (1, 'one')")
        .await
        .unwrap();
    assert_eq!(count(&a, "t").await, 1, "a block sees its own writes");
    assert_eq!(count(&b, "t").await, 0, "others do not");
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(count(&b, "t").await, 1);

    a.batch_execute("BEGIN; DELETE FROM t; CREATE TABLE made_in_block (x INTEGER)")
        .await
        .unwrap();
    assert_eq!(count(&a, "t").await, 0);
    a.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(count(&a, "t").await, 1);
    // DDL was rolled back too.
    let err = b
        .query("SELECT * FROM made_in_block", &[])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::UNDEFINED_TABLE));

    // tokio-postgres's own transaction API, dropped without commit.
    let mut a = a;
    {
        let tx = a.transaction().await.unwrap();
        tx.execute("INSERT INTO t VALUES (2, 'two')", &[])
            .await
            .unwrap();
    }
    assert_eq!(count(&b, "t").await, 1);
    let tx = a.transaction().await.unwrap();
    tx.execute("INSERT INTO t VALUES ($1, $2)", &[&3i32, &"three"])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count(&b, "t").await, 2);
}

#[tokio::test]
async fn a_block_reads_its_snapshot_and_a_write_after_a_foreign_commit_fails() {
    let s = server();
    let (a, b) = setup(&s).await;
    a.batch_execute("BEGIN").await.unwrap();
    // The snapshot is taken at the first statement, not at BEGIN.
    b.batch_execute("INSERT INTO t VALUES (1, 'before')")
        .await
        .unwrap();
    assert_eq!(count(&a, "t").await, 1);
    b.batch_execute("INSERT INTO t VALUES (2, 'after')")
        .await
        .unwrap();
    assert_eq!(count(&a, "t").await, 1, "repeatable reads");
    // A write after another session's commit, even to another table.
    let err = a
        .batch_execute("INSERT INTO other VALUES (1)")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::T_R_SERIALIZATION_FAILURE));
    // The block has failed: everything but its end is refused.
    let err = a.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::IN_FAILED_SQL_TRANSACTION));
    a.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(count(&a, "t").await, 2);
    assert_eq!(count(&a, "other").await, 0);
}

#[tokio::test]
async fn the_second_of_two_writing_blocks_fails_at_commit() {
    let s = server();
    let (a, b) = setup(&s).await;
    a.batch_execute("BEGIN; INSERT INTO t VALUES (1, 'a')")
        .await
        .unwrap();
    b.batch_execute("BEGIN; INSERT INTO t VALUES (2, 'b')")
        .await
        .unwrap();
    a.batch_execute("COMMIT").await.unwrap();
    let err = b.batch_execute("COMMIT").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::T_R_SERIALIZATION_FAILURE));
    // b's block is over (rolled back), and b works on.
    b.batch_execute("INSERT INTO t VALUES (3, 'b again')")
        .await
        .unwrap();
    let rows = b.query("SELECT id FROM t ORDER BY id", &[]).await.unwrap();
    let ids: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, [1, 3]);
}

#[tokio::test]
async fn read_only_blocks_never_conflict() {
    let s = server();
    let (a, b) = setup(&s).await;
    a.batch_execute("BEGIN").await.unwrap();
    assert_eq!(count(&a, "t").await, 0);
    b.batch_execute("INSERT INTO t VALUES (1, 'x')")
        .await
        .unwrap();
    assert_eq!(count(&a, "t").await, 0);
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(count(&a, "t").await, 1);
}

#[tokio::test]
async fn failed_block_status_and_commit_that_rolls_back() {
    let s = server();
    let _ = setup(&s).await;
    let mut c = RawClient::startup(s.addr).await;
    let status = |msgs: &[RawMessage]| msgs.last().unwrap().body[0];
    c.send(&message(b'Q', b"BEGIN\0")).await;
    assert_eq!(status(&c.read_until(b'Z').await), b'T');
    c.send(&message(b'Q', b"INSERT INTO t VALUES (1, 'x')\0"))
        .await;
    assert_eq!(status(&c.read_until(b'Z').await), b'T');
    c.send(&message(b'Q', b"SELECT * FROM missing\0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("42P01"));
    assert_eq!(status(&msgs), b'E');
    c.send(&message(b'Q', b"SELECT 1\0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("25P02"));
    assert_eq!(status(&msgs), b'E');
    // COMMIT of a failed block answers ROLLBACK.
    c.send(&message(b'Q', b"COMMIT\0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "CZ");
    assert_eq!(msgs[0].body, b"ROLLBACK\0");
    assert_eq!(status(&msgs), b'I');
    // COMMIT outside a block: a warning, then COMMIT.
    c.send(&message(b'Q', b"COMMIT\0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "NCZ");
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("25P01"));
    c.send(&message(b'Q', b"SELECT COUNT(*) FROM t\0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "TDCZ");
    assert_eq!(msgs[1].body, [0, 1, 0, 0, 0, 1, b'0']);
}

#[tokio::test]
async fn savepoints() {
    let s = server();
    let (a, _b) = setup(&s).await;
    a.batch_execute(
        "BEGIN; INSERT INTO t VALUES (1, 'kept'); SAVEPOINT s1; INSERT INTO t VALUES (2, 'undone'); \
         ROLLBACK TO SAVEPOINT s1; INSERT INTO t VALUES (3, 'kept')",
    )
    .await
    .unwrap();
    // After an error, ROLLBACK TO makes the block usable again.
    a.batch_execute("SAVEPOINT s2").await.unwrap();
    let err = a
        .batch_execute("INSERT INTO t VALUES (1, 'duplicate')")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::UNIQUE_VIOLATION));
    a.batch_execute(
        "ROLLBACK TO s2; RELEASE SAVEPOINT s2; INSERT INTO t VALUES (4, 'kept'); COMMIT",
    )
    .await
    .unwrap();
    let rows = a.query("SELECT id FROM t ORDER BY id", &[]).await.unwrap();
    let ids: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, [1, 3, 4]);
    let err = a.batch_execute("SAVEPOINT outside").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::NO_ACTIVE_SQL_TRANSACTION));
    let err = a
        .batch_execute("BEGIN; ROLLBACK TO nowhere")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::S_E_INVALID_SPECIFICATION));
    a.batch_execute("ROLLBACK").await.unwrap();
}

#[tokio::test]
async fn concurrent_updates_outside_blocks_lose_nothing() {
    let s = server();
    let (a, b) = setup(&s).await;
    a.batch_execute("CREATE TABLE counter (n INTEGER); INSERT INTO counter VALUES (0)")
        .await
        .unwrap();
    let bump = |c: Client| async move {
        let stmt = c.prepare("UPDATE counter SET n = n + 1").await.unwrap();
        for _ in 0..100 {
            c.execute(&stmt, &[]).await.unwrap();
        }
        c
    };
    let (a, _b) = tokio::join!(tokio::spawn(bump(a)), tokio::spawn(bump(b)));
    let a = a.unwrap();
    let n: i32 = a
        .query_one("SELECT n FROM counter", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 200);
}
