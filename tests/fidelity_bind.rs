//! Bind is checked at Bind, as in PostgreSQL 15: a bad parameter value or a
//! result-format count that does not match the columns fails the Bind (no
//! BindComplete), with PostgreSQL's SQLSTATEs. The same raw bytes go to a
//! throwaway PostgreSQL 15 (when installed) and to the SQLite example, and
//! the answers (message types and SQLSTATEs) must be the same.

mod common;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::net::SocketAddr;

use common::{RawClient, RawMessage, TestServer, message, parse_message, startup_packet};
use pgwire::server::ServerConfig;
use postgres::Postgres;
use sqlite_server::{DbLocation, SqliteServer};

fn bind(param_formats: &[u16], params: &[&[u8]], result_formats: &[u16]) -> Vec<u8> {
    let mut b = vec![0, 0];
    b.extend_from_slice(&(param_formats.len() as u16).to_be_bytes());
    for f in param_formats {
        b.extend_from_slice(&f.to_be_bytes());
    }
    b.extend_from_slice(&(params.len() as u16).to_be_bytes());
    for p in params {
        b.extend_from_slice(&(p.len() as u32).to_be_bytes());
        b.extend_from_slice(p);
    }
    b.extend_from_slice(&(result_formats.len() as u16).to_be_bytes());
    for f in result_formats {
        b.extend_from_slice(&f.to_be_bytes());
    }
    message(b'B', &b)
}

fn execute_sync() -> Vec<u8> {
    let mut v = message(b'E', b"\0\0\0\0\0");
    v.extend(message(b'S', b""));
    v
}

fn describe_sync() -> Vec<u8> {
    let mut v = message(b'D', b"S\0");
    v.extend(message(b'S', b""));
    v
}

/// Message types, with the SQLSTATE after each error: "1E(08P01)Z".
fn summary(msgs: &[RawMessage]) -> String {
    msgs.iter()
        .map(|m| match m.tag {
            b'E' => format!("E({})", m.sqlstate().unwrap_or_default()),
            t => (t as char).to_string(),
        })
        .collect()
}

/// The cases: (name, bytes, how many ReadyForQuery end them).
fn cases() -> Vec<(&'static str, Vec<u8>, usize)> {
    let numeric_short = [&[0u8, 2, 0, 0, 0, 0, 0, 0][..], &[0, 1]].concat();
    let numeric_long = [&[0u8, 1, 0, 0, 0, 0, 0, 0][..], &[0, 1, 0, 2]].concat();
    let with = |parts: Vec<Vec<u8>>| parts.concat();
    vec![
        (
            "binary int4 of 3 bytes",
            with(vec![
                parse_message("SELECT $1::int4", &[23]),
                bind(&[1], &[&[0, 0, 1]], &[]),
                execute_sync(),
            ]),
            1,
        ),
        (
            "binary int4 of 5 bytes",
            with(vec![
                parse_message("SELECT $1::int4", &[23]),
                bind(&[1], &[&[0, 0, 0, 1, 0]], &[]),
                execute_sync(),
            ]),
            1,
        ),
        (
            "text 'abc' for a declared int4",
            with(vec![
                parse_message("SELECT $1::int4", &[23]),
                bind(&[0], &[b"abc"], &[]),
                execute_sync(),
            ]),
            1,
        ),
        (
            "text 'abc' for a described int4",
            with(vec![
                parse_message("SELECT $1::int4", &[]),
                describe_sync(),
                bind(&[0], &[b"abc"], &[]),
                execute_sync(),
            ]),
            2,
        ),
        (
            "binary numeric shorter than its digit count",
            with(vec![
                parse_message("SELECT $1::numeric", &[1700]),
                bind(&[1], &[&numeric_short], &[]),
                execute_sync(),
            ]),
            1,
        ),
        (
            "binary numeric longer than its digit count",
            with(vec![
                parse_message("SELECT $1::numeric", &[1700]),
                bind(&[1], &[&numeric_long], &[]),
                execute_sync(),
            ]),
            1,
        ),
        (
            "two result formats for one column",
            with(vec![
                parse_message("SELECT 1", &[]),
                bind(&[], &[], &[0, 1]),
                execute_sync(),
            ]),
            1,
        ),
        (
            "a good binary int4 still binds",
            with(vec![
                parse_message("SELECT $1::int4", &[23]),
                bind(&[1], &[&[0, 0, 0, 7]], &[]),
                execute_sync(),
            ]),
            1,
        ),
    ]
}

async fn run(addr: SocketAddr) -> Vec<String> {
    let mut c = RawClient::connect(addr).await;
    c.send(&startup_packet(
        3,
        0,
        &[("user", "postgres"), ("database", "postgres")],
    ))
    .await;
    c.read_until(b'Z').await;
    let mut out = Vec::new();
    for (name, bytes, syncs) in cases() {
        c.send(&bytes).await;
        let mut msgs = Vec::new();
        for _ in 0..syncs {
            msgs.extend(c.read_until(b'Z').await);
        }
        out.push(format!("{name}: {}", summary(&msgs)));
    }
    out
}

#[tokio::test]
async fn bind_errors_as_postgres() {
    let s = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let ours = run(s.addr).await;
    let expected = match Postgres::start("fidelity", "") {
        Ok(pg) => run(([127, 0, 0, 1], pg.port).into()).await,
        Err(why) => {
            println!(
                "SKIPPED the comparison with PostgreSQL ({why}); checking the recorded answers"
            );
            [
                "binary int4 of 3 bytes: 1E(08P01)Z",
                "binary int4 of 5 bytes: 1E(22P03)Z",
                "text 'abc' for a declared int4: 1E(22P02)Z",
                "text 'abc' for a described int4: 1tTZE(22P02)Z",
                "binary numeric shorter than its digit count: 1E(08P01)Z",
                "binary numeric longer than its digit count: 1E(22P03)Z",
                "two result formats for one column: 1E(08P01)Z",
                "a good binary int4 still binds: 12DCZ",
            ]
            .map(str::to_owned)
            .to_vec()
        }
    };
    assert_eq!(ours, expected);
}
