//! Limits and lifecycle: connection cap, startup and idle timeouts,
//! message size, graceful shutdown.

mod common;

use std::time::{Duration, Instant};

use common::scripted::Scripted;
use common::*;
use pgwire::server::ServerConfig;

#[tokio::test]
async fn too_many_connections_gets_53300() {
    let s = TestServer::start(
        Scripted::default(),
        ServerConfig::default().with_max_connections(Some(2)),
    );
    let _a = RawClient::startup(s.addr).await;
    let _b = RawClient::startup(s.addr).await;
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_packet(3, 0, &[("user", "u")])).await;
    let m = c.read_message().await.unwrap();
    assert_eq!(m.tag, b'E');
    assert_eq!(m.sqlstate().as_deref(), Some("53300"));
    assert_eq!(m.field(b'S').as_deref(), Some("FATAL"));
    assert!(c.is_closed().await);
    // Once one leaves, a new session fits again.
    drop(_a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _d = RawClient::startup(s.addr).await;
}

#[tokio::test]
async fn slow_startup_is_dropped_at_the_timeout() {
    let s = TestServer::start(
        Scripted::default(),
        ServerConfig::default().with_startup_timeout(Some(Duration::from_millis(800))),
    );
    let mut c = RawClient::connect(s.addr).await;
    let packet = startup_packet(3, 0, &[("user", "slowloris"), ("database", "test")]);
    let start = Instant::now();
    let mut closed = false;
    for byte in packet {
        if c.stream.try_write(&[byte]).is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if start.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    if !closed {
        closed = c.is_closed().await;
    }
    assert!(
        closed,
        "the server kept a client that never finished its startup packet"
    );
    assert!(start.elapsed() < Duration::from_secs(4));
    // Other sessions are unaffected.
    let client = s.connect().await;
    client.simple_query("select 1").await.unwrap();
}

#[tokio::test]
async fn idle_session_timeout_closes_with_57p05() {
    let s = TestServer::start(
        Scripted::default(),
        ServerConfig::default().with_idle_session_timeout(Some(Duration::from_millis(300))),
    );
    let mut c = RawClient::startup(s.addr).await;
    let m = c.read_message().await.unwrap();
    assert_eq!(m.sqlstate().as_deref(), Some("57P05"));
    assert!(c.is_closed().await);
    // Inside a transaction block the session is not idle-timed-out.
    let mut c = RawClient::startup(s.addr).await;
    c.send(&message(b'Q', b"begin\0")).await;
    c.read_until(b'Z').await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    c.send(&message(b'Q', b"select 1\0")).await;
    assert_eq!(tags(&c.read_until(b'Z').await), "TDCZ");
}

#[tokio::test]
async fn oversized_message_is_refused_before_its_body() {
    let s = TestServer::start(
        Scripted::default(),
        ServerConfig::default().with_max_message_len(1024),
    );
    let mut c = RawClient::startup(s.addr).await;
    // Declares 1 MiB but sends only the header.
    let mut header = vec![b'Q'];
    header.extend_from_slice(&(1u32 << 20).to_be_bytes());
    c.send(&header).await;
    let m = c.read_message().await.unwrap();
    assert_eq!(m.sqlstate().as_deref(), Some("08P01"));
    assert!(c.is_closed().await);
}

#[tokio::test]
async fn graceful_shutdown_lets_running_queries_finish() {
    let s = TestServer::start(Scripted::default(), ServerConfig::default());
    let mut idle = RawClient::startup(s.addr).await;
    let mut busy = RawClient::startup(s.addr).await;
    busy.send(&message(b'Q', b"sleep 400\0")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.server.shutdown();
    // The idle session is told at once.
    let m = idle.read_message().await.unwrap();
    assert_eq!(m.sqlstate().as_deref(), Some("57P01"));
    assert!(idle.is_closed().await);
    // The busy one gets its result, then the notice of shutdown.
    let msgs = busy.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "CZ");
    let m = busy.read_message().await.unwrap();
    assert_eq!(m.sqlstate().as_deref(), Some("57P01"));
    assert!(busy.is_closed().await);
}

#[tokio::test]
async fn shutdown_past_its_grace_period_ends_running_queries() {
    let s = TestServer::start(
        Scripted::default(),
        ServerConfig::default().with_shutdown_timeout(Duration::from_millis(300)),
    );
    let mut busy = RawClient::startup(s.addr).await;
    busy.send(&message(b'Q', b"sleep 60000\0")).await;
    let mut streaming = RawClient::startup(s.addr).await;
    // Rows the client never reads: the server blocks on a full socket.
    streaming.send(&message(b'Q', b"series 100000000\0")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    s.server.shutdown();
    let m = busy.read_message().await.unwrap();
    assert_eq!(m.sqlstate().as_deref(), Some("57P01"));
    assert!(busy.is_closed().await);
    assert!(streaming.is_closed().await);
    assert!(start.elapsed() < Duration::from_secs(5));
}
