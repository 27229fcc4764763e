//! COPY in and out, and asynchronous notifications, through the
//! connection state machine (scripted engine, real clients and raw bytes).

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::scripted::Scripted;
use common::*;
use futures_util::{SinkExt, StreamExt};
use pgwire::server::ServerConfig;

fn server() -> TestServer<Scripted> {
    TestServer::start(Scripted::default(), ServerConfig::default())
}

fn rows(msgs: &[tokio_postgres::SimpleQueryMessage]) -> Vec<String> {
    msgs.iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn copy_in_with_tokio_postgres() {
    let s = server();
    let client = s.connect().await;
    let sink = client.copy_in::<_, Bytes>("copy_in").await.unwrap();
    let mut sink = std::pin::pin!(sink);
    sink.send(Bytes::from_static(b"alpha\nbe")).await.unwrap();
    sink.send(Bytes::from_static(b"ta\ngamma\n")).await.unwrap();
    let n = sink.finish().await.unwrap();
    assert_eq!(n, 3);
    assert_eq!(
        rows(&client.simple_query("copied").await.unwrap()),
        ["alpha", "beta", "gamma"]
    );
}

#[tokio::test]
async fn copy_out_with_tokio_postgres() {
    let s = server();
    let client = s.connect().await;
    let stream = client.copy_out("copy_out 4").await.unwrap();
    let chunks: Vec<Bytes> = stream.map(|c| c.unwrap()).collect().await;
    assert_eq!(chunks.concat(), b"1\n2\n3\n4\n");
    // The session goes on.
    assert_eq!(rows(&client.simple_query("select 8").await.unwrap()), ["8"]);
}

#[tokio::test]
async fn copy_out_tag_counts_rows() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    c.send(&message(b'Q', b"copy_out 3\0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "HdddcCZ");
    assert_eq!(msgs[5].body, b"COPY 3\0");
    // CopyOutResponse: text format, one column.
    assert_eq!(msgs[0].body, [0, 0, 1, 0, 0]);
}

#[tokio::test]
async fn copy_fail_reports_the_clients_message() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    c.send(&message(b'Q', b"copy_in\0")).await;
    assert_eq!(c.read_message().await.unwrap().tag, b'G');
    let mut p = message(b'd', b"some data\n");
    p.extend(message(b'f', b"client gave up\0"));
    c.send(&p).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "EZ");
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("57014"));
    assert_eq!(
        msgs[0].field(b'M').as_deref(),
        Some("COPY from stdin failed: client gave up")
    );
    // Nothing was kept.
    c.send(&message(b'Q', b"copied\0")).await;
    assert_eq!(tags(&c.read_until(b'Z').await), "TCZ");
}

#[tokio::test]
async fn statements_after_copy_in_run_after_its_data() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    // As `COPY t FROM STDIN; SELECT count(*) FROM t; COPY ...; ...`: each
    // statement after a COPY sees the data copied before it.
    c.send(&message(
        b'Q',
        b"copy_in; copied; copy_in; copied; select 7\0",
    ))
    .await;
    assert_eq!(c.read_message().await.unwrap().tag, b'G');
    let mut p = message(b'd', b"first\n");
    p.extend(message(b'c', b""));
    c.send(&p).await;
    // The first COPY's tag and the SELECT of its lines, then the second
    // COPY asks for data.
    let mut msgs = Vec::new();
    while msgs.last().is_none_or(|m: &RawMessage| m.tag != b'G') {
        msgs.push(c.read_message().await.expect("message"));
    }
    assert_eq!(tags(&msgs), "CTDCG");
    assert_eq!(msgs[0].body, b"COPY 1\0");
    assert_eq!(&msgs[2].body[6..], b"first");
    let mut p = message(b'd', b"second\n");
    p.extend(message(b'd', b"third\n"));
    p.extend(message(b'c', b""));
    c.send(&p).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "CTDDCTDCZ");
    assert_eq!(msgs[0].body, b"COPY 2\0");
    assert_eq!(&msgs[2].body[6..], b"second");
    assert_eq!(&msgs[3].body[6..], b"third");

    // A failed COPY ends the query string: the rest never runs, and does
    // not leak into the next query.
    c.send(&message(b'Q', b"copy_in fail; select 1\0")).await;
    assert_eq!(c.read_message().await.unwrap().tag, b'G');
    let mut p = message(b'd', b"x\n");
    p.extend(message(b'c', b""));
    c.send(&p).await;
    assert_eq!(tags(&c.read_until(b'Z').await), "EZ");
    c.send(&message(b'Q', b"select 2\0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "TDCZ");
    assert_eq!(&msgs[1].body[6..], b"2");
}

#[tokio::test]
async fn handler_error_during_copy_in_ends_it() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    c.send(&message(b'Q', b"copy_in fail\0")).await;
    assert_eq!(c.read_message().await.unwrap().tag, b'G');
    let mut p = message(b'd', b"x\n");
    p.extend(message(b'd', b"y\n"));
    p.extend(message(b'c', b""));
    c.send(&p).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "EZ");
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("22P04"));
}

#[tokio::test]
async fn flush_and_sync_are_ignored_during_copy_in() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    c.send(&message(b'Q', b"copy_in\0")).await;
    assert_eq!(c.read_message().await.unwrap().tag, b'G');
    let mut p = message(b'H', b"");
    p.extend(message(b'S', b""));
    p.extend(message(b'd', b"only\n"));
    p.extend(message(b'c', b""));
    c.send(&p).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "CZ");
    assert_eq!(msgs[0].body, b"COPY 1\0");
}

#[tokio::test]
async fn copy_in_through_the_extended_protocol() {
    // As libpq does it: Parse/Bind/Execute/Sync, the data, CopyDone, Sync.
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    let mut p = message(b'P', b"\0copy_in\0\0\0");
    p.extend(message(b'B', b"\0\0\0\0\0\0\0\0"));
    p.extend(message(b'E', b"\0\0\0\0\0"));
    p.extend(message(b'S', b""));
    c.send(&p).await;
    let msgs = c.read_until(b'G').await;
    assert_eq!(tags(&msgs), "12G");
    let mut p = message(b'd', b"one\ntwo\n");
    p.extend(message(b'c', b""));
    p.extend(message(b'S', b""));
    c.send(&p).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "CZ");
    assert_eq!(msgs[0].body, b"COPY 2\0");
}

#[tokio::test]
async fn notification_reaches_an_idle_session() {
    let s = server();
    let mut listener = RawClient::startup(s.addr).await;
    listener.send(&message(b'Q', b"listen news\0")).await;
    listener.read_until(b'Z').await;
    let notifier = s.connect().await;
    notifier.simple_query("notify news hello").await.unwrap();
    // Delivered while the listener sends nothing.
    let m = listener.read_message().await.unwrap();
    assert_eq!(m.tag, b'A');
    assert_eq!(&m.body[4..], b"news\0hello\0");
}

#[tokio::test]
async fn notification_waits_for_the_end_of_a_transaction() {
    let s = server();
    let mut listener = RawClient::startup(s.addr).await;
    listener.send(&message(b'Q', b"listen ch\0")).await;
    listener.read_until(b'Z').await;
    listener.send(&message(b'Q', b"begin\0")).await;
    listener.read_until(b'Z').await;
    let notifier = s.connect().await;
    notifier.simple_query("notify ch inside").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    listener.send(&message(b'Q', b"select 1\0")).await;
    assert_eq!(tags(&listener.read_until(b'Z').await), "TDCZ");
    listener.send(&message(b'Q', b"commit\0")).await;
    let msgs = listener.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "CAZ");
    assert_eq!(&msgs[1].body[4..], b"ch\0inside\0");
}

#[tokio::test]
async fn notifications_with_tokio_postgres() {
    let s = server();
    let (client, mut conn) =
        tokio_postgres::connect(&s.conn_str("postgres"), tokio_postgres::NoTls)
            .await
            .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
            let _ = tx.send(m);
        }
    });
    client.simple_query("listen jobs").await.unwrap();
    let other = s.connect().await;
    other.simple_query("notify jobs 42").await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    match m {
        tokio_postgres::AsyncMessage::Notification(n) => {
            assert_eq!(n.channel(), "jobs");
            assert_eq!(n.payload(), "42");
        }
        other => panic!("unexpected {other:?}"),
    }
}
