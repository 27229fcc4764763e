//! A statement the client already sent runs to its end, as in PostgreSQL:
//! a client that half-closes its socket after a query still gets the
//! answer, and a batch followed by Terminate and close is run whole. Each
//! case runs against a throwaway PostgreSQL 15 first (when installed), then
//! against the SQLite example, with the same raw bytes.

mod common;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{RawClient, TestServer, message, startup_packet, tags};
use pgwire::server::ServerConfig;
use postgres::Postgres;
use sqlite_server::{DbLocation, SqliteServer};

async fn startup(addr: SocketAddr) -> RawClient {
    let mut c = RawClient::connect(addr).await;
    c.send(&startup_packet(
        3,
        0,
        &[("user", "postgres"), ("database", "postgres")],
    ))
    .await;
    let msgs = c.read_until(b'Z').await;
    assert!(!tags(&msgs).contains('E'), "startup failed: {msgs:?}");
    c
}

fn query(sql: &str) -> Vec<u8> {
    let mut body = sql.as_bytes().to_vec();
    body.push(0);
    message(b'Q', &body)
}

async fn count(addr: SocketAddr, table: &str) -> i64 {
    let mut c = startup(addr).await;
    c.send(&query(&format!("SELECT count(*) FROM {table}")))
        .await;
    let msgs = c.read_until(b'Z').await;
    let row = msgs.iter().find(|m| m.tag == b'D').expect("a row");
    // DataRow: column count (2), length (4), text.
    String::from_utf8_lossy(&row.body[6..]).parse().unwrap()
}

/// Query, then shutdown(SHUT_WR): the answer still arrives, 20 times out
/// of 20, and every INSERT is there.
async fn half_close(addr: SocketAddr, who: &str) {
    let mut c = startup(addr).await;
    c.send(&query("CREATE TABLE half_closed (i int)")).await;
    c.read_until(b'Z').await;
    for i in 0..20 {
        let mut c = startup(addr).await;
        c.send(&query(&format!("INSERT INTO half_closed VALUES ({i})")))
            .await;
        tokio::io::AsyncWriteExt::shutdown(&mut c.stream)
            .await
            .unwrap();
        let msgs = c.read_until(b'Z').await;
        assert_eq!(tags(&msgs), "CZ", "{who}, try {i}: {msgs:?}");
        assert!(c.is_closed().await, "{who}: the session ends after EOF");
    }
    assert_eq!(count(addr, "half_closed").await, 20, "{who}");

    // The extended protocol too: Parse/Bind/Execute/Sync, then SHUT_WR.
    let mut c = startup(addr).await;
    let mut parse = b"\0INSERT INTO half_closed VALUES (100)\0".to_vec();
    parse.extend_from_slice(&0u16.to_be_bytes());
    let mut bind = b"\0\0".to_vec();
    bind.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut batch = message(b'P', &parse);
    batch.extend(message(b'B', &bind));
    batch.extend(message(b'E', b"\0\0\0\0\0"));
    batch.extend(message(b'S', b""));
    c.send(&batch).await;
    tokio::io::AsyncWriteExt::shutdown(&mut c.stream)
        .await
        .unwrap();
    assert_eq!(tags(&c.read_until(b'Z').await), "12CZ", "{who}");
    assert_eq!(count(addr, "half_closed").await, 21, "{who}");
}

/// 200 INSERTs in one Query, then Terminate and close without reading:
/// all of them are committed.
async fn batch_then_gone(addr: SocketAddr, who: &str) {
    let mut c = startup(addr).await;
    c.send(&query("CREATE TABLE batch_gone (i int)")).await;
    c.read_until(b'Z').await;
    let sql: String = (0..200)
        .map(|i| format!("INSERT INTO batch_gone VALUES ({i});"))
        .collect();
    let mut c = startup(addr).await;
    let mut bytes = query(&sql);
    bytes.extend(message(b'X', b""));
    c.send(&bytes).await;
    drop(c);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = count(addr, "batch_gone").await;
        if n == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{who}: {n} of 200 rows after the client left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sqlite() -> TestServer<SqliteServer> {
    TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    )
}

fn postgres() -> Option<Postgres> {
    match Postgres::start("fidelity", "") {
        Ok(pg) => Some(pg),
        Err(why) => {
            println!("SKIPPED the PostgreSQL side: {why}");
            None
        }
    }
}

#[tokio::test]
async fn half_closed_client_gets_its_answer() {
    if let Some(pg) = postgres() {
        half_close(([127, 0, 0, 1], pg.port).into(), "PostgreSQL").await;
    }
    let s = sqlite();
    half_close(s.addr, "sqlite example").await;
}

#[tokio::test]
async fn batch_followed_by_terminate_runs_to_its_end() {
    if let Some(pg) = postgres() {
        batch_then_gone(([127, 0, 0, 1], pg.port).into(), "PostgreSQL").await;
    }
    let s = sqlite();
    batch_then_gone(s.addr, "sqlite example").await;
}
