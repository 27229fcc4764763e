//! A well-framed message with a bad body is an ERROR (08P01, or 22021 for
//! invalid UTF-8) and the session goes on (to the next Sync in the
//! extended protocol), as PostgreSQL does; only framing errors are FATAL.
//! Counts are unsigned 16-bit. The same raw bytes go to a throwaway
//! PostgreSQL 15 (when installed) and to the SQLite example; the answers
//! (message types, SQLSTATEs and texts) must be the same.

mod common;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::net::SocketAddr;

use common::{RawClient, RawMessage, TestServer, message, startup_packet};
use pgwire::server::ServerConfig;
use postgres::Postgres;
use sqlite_server::{DbLocation, SqliteServer};

fn sync() -> Vec<u8> {
    message(b'S', b"")
}

fn select_one() -> Vec<u8> {
    message(b'Q', b"SELECT 1\0")
}

fn parse_bind_execute_sync(sql: &str) -> Vec<u8> {
    let mut p = vec![0];
    p.extend_from_slice(sql.as_bytes());
    p.extend_from_slice(&[0, 0, 0]);
    let mut v = message(b'P', &p);
    v.extend(message(b'B', &[0, 0, 0, 0, 0, 0, 0, 0]));
    v.extend(message(b'E', &[0, 0, 0, 0, 0]));
    v.extend(sync());
    v
}

fn summary(msgs: &[RawMessage]) -> String {
    msgs.iter()
        .map(|m| match m.tag {
            b'E' => format!(
                "E({} {})",
                m.sqlstate().unwrap_or_default(),
                m.field(b'M').unwrap_or_default()
            ),
            t => (t as char).to_string(),
        })
        .collect()
}

/// (name, bytes, ReadyForQuery messages that end the answer).
fn cases() -> Vec<(&'static str, Vec<u8>, usize)> {
    let mut bind_40000 = vec![0, 0, 0, 0];
    bind_40000.extend_from_slice(&40000u16.to_be_bytes());
    for _ in 0..40000 {
        bind_40000.extend_from_slice(&1u32.to_be_bytes());
        bind_40000.push(b'1');
    }
    bind_40000.extend_from_slice(&[0, 0]);
    let c = |parts: Vec<Vec<u8>>| parts.concat();
    vec![
        (
            "Describe kind 'X', then a whole query before Sync",
            c(vec![
                message(b'D', b"X\0"),
                parse_bind_execute_sync("SELECT 2"),
            ]),
            1,
        ),
        ("Close kind 'Q'", c(vec![message(b'C', b"Q\0"), sync()]), 1),
        (
            "Describe without a body",
            c(vec![message(b'D', b""), sync()]),
            1,
        ),
        (
            "Execute without its row limit",
            c(vec![message(b'E', b"\0"), sync()]),
            1,
        ),
        (
            "Execute with trailing bytes",
            c(vec![message(b'E', b"\0\0\0\0\0\0"), sync()]),
            1,
        ),
        (
            "Bind with a parameter length of -2",
            c(vec![
                message(b'P', b"\0SELECT $1::text\0\0\x01\0\0\0\x19"),
                message(b'B', &[0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe, 0, 0]),
                sync(),
            ]),
            1,
        ),
        (
            "Query with an embedded NUL",
            message(b'Q', b"SELECT 1\0x\0"),
            1,
        ),
        ("Query without its NUL", message(b'Q', b"SELECT 1"), 1),
        ("Sync with a body", message(b'S', b"x"), 1),
        ("Flush with a body", c(vec![message(b'H', b"x"), sync()]), 1),
        (
            "CopyData outside COPY",
            c(vec![message(b'd', b"junk"), select_one()]),
            1,
        ),
        (
            "Bind with 40,000 parameters for a statement with none",
            c(vec![
                message(b'P', b"\0SELECT 1\0\0\0"),
                message(b'B', &bind_40000),
                sync(),
            ]),
            1,
        ),
        ("the session still works", select_one(), 1),
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
    // Terminate with a body closes quietly.
    c.send(&message(b'X', b"x")).await;
    assert!(c.is_closed().await, "Terminate with a body closes");
    out
}

#[tokio::test]
async fn bad_bodies_are_errors_and_the_session_goes_on() {
    let s = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let ours = run(s.addr).await;
    match Postgres::start("fidelity", "") {
        Ok(pg) => {
            let theirs = run(([127, 0, 0, 1], pg.port).into()).await;
            assert_eq!(ours, theirs);
        }
        Err(why) => {
            println!("SKIPPED the comparison with PostgreSQL ({why})");
            for line in &ours {
                assert!(!line.contains("FATAL"), "{line}");
            }
            assert!(ours.last().unwrap().ends_with("TDCZ"), "{ours:?}");
        }
    }
}

/// A startup setting PostgreSQL refuses ends the connection with FATAL
/// 22023, as PostgreSQL does; a good one is taken.
#[tokio::test]
async fn bad_startup_setting_is_fatal_22023() {
    async fn first_answer(addr: SocketAddr, options: &str) -> String {
        let mut c = RawClient::connect(addr).await;
        c.send(&startup_packet(
            3,
            0,
            &[
                ("user", "postgres"),
                ("database", "postgres"),
                ("options", options),
            ],
        ))
        .await;
        // Message types up to the error or ReadyForQuery, ParameterStatus
        // and BackendKeyData left out (their number differs).
        let mut out = String::new();
        while let Some(m) = c.read_message().await {
            match m.tag {
                b'E' => {
                    out += &format!(
                        "E({} {} {})",
                        m.field(b'S').unwrap_or_default(),
                        m.sqlstate().unwrap_or_default(),
                        m.field(b'M').unwrap_or_default()
                    );
                    break;
                }
                b'S' | b'K' => {}
                t => out.push(t as char),
            }
            if m.tag == b'Z' {
                break;
            }
        }
        out
    }
    let s = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let ours = [
        first_answer(s.addr, "-c TimeZone=Nowhere/Atlantis").await,
        first_answer(s.addr, "-c TimeZone=Europe/Berlin").await,
    ];
    assert_eq!(
        ours[0],
        "RE(FATAL 22023 invalid value for parameter \"TimeZone\": \"Nowhere/Atlantis\")"
    );
    assert_eq!(ours[1], "RZ");
    match Postgres::start("fidelity", "") {
        Ok(pg) => {
            let theirs = [
                first_answer(
                    ([127, 0, 0, 1], pg.port).into(),
                    "-c TimeZone=Nowhere/Atlantis",
                )
                .await,
                first_answer(
                    ([127, 0, 0, 1], pg.port).into(),
                    "-c TimeZone=Europe/Berlin",
                )
                .await,
            ];
            assert_eq!(ours, theirs);
        }
        Err(why) => println!("SKIPPED the comparison with PostgreSQL ({why})"),
    }
}
