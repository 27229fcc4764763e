//! Hand-written bad input: broken framing, bad bodies, bad startup packets,
//! slow, silent and non-reading clients. Each gets the right ErrorResponse
//! or a clean close, never a panic or a hang, and after each the server
//! still serves both a session opened before the bad client and a new one.
//! (`server_core.rs` and `server_limits.rs` hold the first cases of some of
//! these; the ones here are the rest.)

mod common;

use std::time::{Duration, Instant};

use common::hardening::{CountingAlloc, FuzzEngine};
use common::scripted::Scripted;
use common::*;
use pgwire::api::ServerHandlers;
use pgwire::server::{Server, ServerConfig};
use tokio::io::AsyncWriteExt;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn server() -> TestServer<Scripted> {
    TestServer::start(Scripted::default(), ServerConfig::default())
}

/// Runs `select 1` on `c` and checks the answer.
async fn still_works(c: &mut RawClient) {
    c.send(&message(b'Q', b"select 1\0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "TDCZ");
    assert_eq!(msgs[1].body, b"\0\x01\0\0\0\x011");
}

/// The bystander session still works, and so does a new one.
async fn others_keep_working<H: ServerHandlers>(s: &TestServer<H>, bystander: &mut RawClient) {
    still_works(bystander).await;
    let mut fresh = RawClient::startup(s.addr).await;
    still_works(&mut fresh).await;
}

/// Sends `bytes` on a new session and expects one FATAL ErrorResponse
/// with `code`, then the close.
async fn expect_fatal(s: &TestServer<Scripted>, bytes: &[u8], code: &str) -> RawMessage {
    let mut c = RawClient::startup(s.addr).await;
    c.send(bytes).await;
    let m = c.read_message().await.expect("an ErrorResponse");
    assert_eq!(m.tag, b'E', "{m:?}");
    assert_eq!(m.field(b'S').as_deref(), Some("FATAL"), "{m:?}");
    assert_eq!(m.sqlstate().as_deref(), Some(code), "{m:?}");
    assert!(c.is_closed().await, "nothing may follow a FATAL error");
    m
}

#[tokio::test]
async fn length_below_four_is_a_fatal_protocol_violation() {
    let s = server();
    let mut bystander = RawClient::startup(s.addr).await;
    for len in [0u32, 1, 3] {
        let mut bytes = vec![b'Q'];
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(b"select 1\0");
        expect_fatal(&s, &bytes, "08P01").await;
    }
    // Sync with length 3 (its body would be -1 bytes).
    expect_fatal(&s, b"S\0\0\0\x03", "08P01").await;
    others_keep_working(&s, &mut bystander).await;
}

#[tokio::test]
async fn lengths_past_the_maximum_are_refused_before_the_body() {
    let s = server();
    let mut bystander = RawClient::startup(s.addr).await;
    // A Query past the default 64 MiB limit, and the largest length word:
    // refused from the header alone (the body never comes).
    for len in [64 * 1024 * 1024 + 5, u32::MAX] {
        let mut header = vec![b'Q'];
        header.extend_from_slice(&len.to_be_bytes());
        let m = expect_fatal(&s, &header, "08P01").await;
        assert!(
            m.field(b'M').unwrap().contains("exceeds the limit"),
            "{m:?}"
        );
    }
    // Messages that are always small have a small limit of their own
    // (10,000 bytes, as PostgreSQL): a 10,001-byte Sync, Execute or
    // CopyDone is refused whatever the configured maximum.
    for tag in [b'S', b'E', b'c', b'X', b'H', b'D', b'C', b'f'] {
        let mut header = vec![tag];
        header.extend_from_slice(&10_001u32.to_be_bytes());
        expect_fatal(&s, &header, "08P01").await;
    }
    others_keep_working(&s, &mut bystander).await;
}

#[tokio::test]
async fn truncated_message_then_eof_closes_quietly() {
    let s = server();
    let mut bystander = RawClient::startup(s.addr).await;
    let full = message(b'Q', b"select 1\0");
    for cut in [1, 3, 5, full.len() - 1] {
        let mut c = RawClient::startup(s.addr).await;
        c.send(&full[..cut]).await;
        c.stream.shutdown().await.unwrap();
        // No answer to half a message; the server just goes.
        assert_eq!(c.read_message().await, None, "cut at {cut}");
    }
    // The sessions are gone from the server's books.
    let deadline = Instant::now() + Duration::from_secs(5);
    while s.server.connection_count() > 1 {
        assert!(Instant::now() < deadline, "closed sessions still counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    others_keep_working(&s, &mut bystander).await;
}

#[tokio::test]
async fn unknown_type_byte_is_a_fatal_protocol_violation() {
    let s = server();
    let mut bystander = RawClient::startup(s.addr).await;
    // Backend-only tags, a NUL, lowercase and high bytes: refused at once,
    // without waiting for a body that may never come.
    for tag in [b'?', b'Z', b'T', 0u8, b'q', 0xff] {
        let m = expect_fatal(&s, &[tag], "08P01").await;
        assert!(m.field(b'M').is_some());
    }
    others_keep_working(&s, &mut bystander).await;
}

#[tokio::test]
async fn string_without_its_nul_is_an_error_and_the_session_goes_on() {
    // As PostgreSQL: the frame was whole, so only the message is refused
    // (ERROR 08P01 "invalid string in message" / "invalid message
    // format"); the simple protocol answers ReadyForQuery, the extended
    // one skips to Sync.
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    let sync = message(b'S', b"");
    let cases: [(&[u8], u8, &str); 5] = [
        (b"select 1", b'Q', "invalid string in message"),
        (b"select 1\0junk", b'Q', "invalid message format"),
        (b"stmt", b'P', "invalid string in message"),
        (b"\0select 1", b'P', "invalid string in message"),
        (b"portal", b'B', "invalid string in message"),
    ];
    for (body, tag, text) in cases {
        let mut bytes = message(tag, body);
        if tag != b'Q' {
            bytes.extend(sync.clone());
        }
        c.send(&bytes).await;
        let msgs = c.read_until(b'Z').await;
        assert_eq!(tags(&msgs), "EZ", "{body:?}");
        assert_eq!(msgs[0].sqlstate().as_deref(), Some("08P01"));
        assert_eq!(msgs[0].field(b'S').as_deref(), Some("ERROR"));
        assert_eq!(msgs[0].field(b'M').as_deref(), Some(text), "{body:?}");
        still_works(&mut c).await;
    }
}

#[tokio::test]
async fn invalid_utf8_is_22021_and_the_session_goes_on() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    // Simple query: an error, ReadyForQuery, and the session continues.
    c.send(&message(b'Q', b"select \xff\xfe 1\0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "EZ");
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("22021"));
    assert_eq!(msgs[0].field(b'S').as_deref(), Some("ERROR"));
    still_works(&mut c).await;
    // Extended: Parse with a truncated UTF-8 sequence fails, the rest is
    // skipped to Sync.
    let mut p = message(b'P', b"\0select \xc3\0\0\0");
    p.extend(message(b'B', b"\0\0\0\0\0\0\0\0"));
    p.extend(message(b'E', b"\0\0\0\0\0"));
    p.extend(message(b'S', b""));
    c.send(&p).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "EZ");
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("22021"));
    // A statement name in another encoding: the same.
    let mut p = message(b'P', b"n\xe9\0select 1\0\0\0");
    p.extend(message(b'S', b""));
    c.send(&p).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("22021"));
    still_works(&mut c).await;
}

#[tokio::test]
async fn bind_to_a_missing_statement_is_26000() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    for (body, msg) in [
        (
            &b"\0nope\0\0\0\0\0\0\0"[..],
            "prepared statement \"nope\" does not exist",
        ),
        (
            b"\0\0\0\0\0\0\0\0",
            "unnamed prepared statement does not exist",
        ),
    ] {
        let mut p = message(b'B', body);
        p.extend(message(b'E', b"\0\0\0\0\0"));
        p.extend(message(b'S', b""));
        c.send(&p).await;
        let msgs = c.read_until(b'Z').await;
        assert_eq!(tags(&msgs), "EZ");
        assert_eq!(msgs[0].sqlstate().as_deref(), Some("26000"));
        assert_eq!(msgs[0].field(b'M').as_deref(), Some(msg));
    }
    // A closed statement is missing too.
    let mut p = message(b'P', b"s\0select 1\0\0\0");
    p.extend(message(b'C', b"Ss\0"));
    p.extend(message(b'B', b"\0s\0\0\0\0\0\0\0"));
    p.extend(message(b'S', b""));
    c.send(&p).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "13EZ");
    assert_eq!(msgs[2].sqlstate().as_deref(), Some("26000"));
    still_works(&mut c).await;
}

/// A Bind body: unnamed portal, `stmt`, format codes, parameters, result
/// format codes.
fn bind(stmt: &str, pformats: &[i16], params: &[&[u8]], rformats: &[i16]) -> Vec<u8> {
    let mut b = vec![0u8];
    b.extend_from_slice(stmt.as_bytes());
    b.push(0);
    b.extend_from_slice(&(pformats.len() as i16).to_be_bytes());
    for f in pformats {
        b.extend_from_slice(&f.to_be_bytes());
    }
    b.extend_from_slice(&(params.len() as i16).to_be_bytes());
    for p in params {
        b.extend_from_slice(&(p.len() as i32).to_be_bytes());
        b.extend_from_slice(p);
    }
    b.extend_from_slice(&(rformats.len() as i16).to_be_bytes());
    for f in rformats {
        b.extend_from_slice(&f.to_be_bytes());
    }
    message(b'B', &b)
}

#[tokio::test]
async fn bind_with_inconsistent_format_counts_is_08p01() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    let parse = message(b'P', b"e\0echo $1\0\0\0");
    let sync = message(b'S', b"");
    c.send(&[parse, sync.clone()].concat()).await;
    assert_eq!(tags(&c.read_until(b'Z').await), "1Z");
    // Two parameter formats for one parameter, and for three.
    for (formats, params) in [
        (&[0i16, 0][..], &[&b"1"[..]][..]),
        (&[0, 1], &[b"1", b"2", b"3"]),
    ] {
        let mut p = bind("e", formats, params, &[]);
        p.extend(message(b'E', b"\0\0\0\0\0"));
        p.extend(sync.clone());
        c.send(&p).await;
        let msgs = c.read_until(b'Z').await;
        assert_eq!(tags(&msgs), "EZ");
        assert_eq!(msgs[0].sqlstate().as_deref(), Some("08P01"));
        assert_eq!(msgs[0].field(b'S').as_deref(), Some("ERROR"));
    }
    // Two result formats for a one-column result: refused at Bind, as
    // PostgreSQL does (the server asks the handler's Describe for the
    // column count).
    let mut p = bind("e", &[], &[b"5"], &[0, 1]);
    p.extend(message(b'E', b"\0\0\0\0\0"));
    p.extend(sync.clone());
    c.send(&p).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "EZ");
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("08P01"));
    // One format for all parameters, and one per parameter, are fine.
    for formats in [&[0i16][..], &[0]] {
        let mut p = bind("e", formats, &[b"9"], &[]);
        p.extend(message(b'E', b"\0\0\0\0\0"));
        p.extend(sync.clone());
        c.send(&p).await;
        let msgs = c.read_until(b'Z').await;
        assert_eq!(tags(&msgs), "2DCZ");
        assert_eq!(msgs[1].body, b"\0\x01\0\0\0\x019");
    }
    still_works(&mut c).await;
}

/// A startup packet of exactly `len` bytes (protocol 3.0, user `u`, an
/// `application_name` padding it out).
fn startup_of_len(len: usize) -> Vec<u8> {
    let fixed = startup_packet(3, 0, &[("user", "u"), ("application_name", "")]).len();
    let pad = "x".repeat(len - fixed);
    let p = startup_packet(3, 0, &[("user", "u"), ("application_name", &pad)]);
    assert_eq!(p.len(), len);
    p
}

#[tokio::test]
async fn startup_packet_of_10001_bytes_is_refused() {
    let s = server();
    let mut bystander = RawClient::startup(s.addr).await;
    // 10,000 bytes is PostgreSQL's maximum, and fine.
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_of_len(10_000)).await;
    c.read_until(b'Z').await;
    still_works(&mut c).await;
    // One more byte: the connection is closed without a word, from the
    // length alone, as PostgreSQL does.
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_of_len(10_001)[..4]).await;
    assert_eq!(c.read_message().await, None);
    others_keep_working(&s, &mut bystander).await;
}

#[tokio::test]
async fn startup_packets_with_bad_layouts() {
    let s = server();
    let mut bystander = RawClient::startup(s.addr).await;
    let packet = |body: &[u8]| {
        let mut p = ((body.len() + 4) as u32).to_be_bytes().to_vec();
        p.extend_from_slice(body);
        p
    };
    let v3 = 196_608u32.to_be_bytes();
    let with_v3 = |rest: &[u8]| [&v3[..], rest].concat();
    for (what, body, code) in [
        // No final terminator after a complete pair.
        ("no terminator", with_v3(b"user\0u\0"), Some("08P01")),
        // A name without its value.
        (
            "name without value",
            with_v3(b"user\0u\0database\0\0"),
            Some("08P01"),
        ),
        // Bytes after the terminator.
        ("trailing bytes", with_v3(b"user\0u\0\0junk"), Some("08P01")),
        // The version alone: no parameters, so no user.
        ("version only", with_v3(b""), Some("08P01")),
        // Only the terminator: well-formed, but no user (28000).
        ("no user", with_v3(b"\0"), Some("28000")),
        // Invalid UTF-8 in a value.
        ("bad utf-8", with_v3(b"user\0\xff\0\0"), Some("08P01")),
        // Shorter than a version: closed without a word.
        ("too short", b"\0\0\0".to_vec(), None),
    ] {
        let mut c = RawClient::connect(s.addr).await;
        c.send(&packet(&body)).await;
        if let Some(code) = code {
            let m = c
                .read_message()
                .await
                .unwrap_or_else(|| panic!("{what}: closed without an error"));
            assert_eq!(m.tag, b'E', "{what}");
            assert_eq!(m.sqlstate().as_deref(), Some(code), "{what}: {m:?}");
            assert_eq!(m.field(b'S').as_deref(), Some("FATAL"), "{what}");
        }
        assert!(c.is_closed().await, "{what}: not closed");
    }
    others_keep_working(&s, &mut bystander).await;
}

#[tokio::test]
async fn slow_password_is_dropped_at_the_startup_timeout() {
    // The startup timeout covers authentication: a client that answers
    // the password request one byte per second is dropped with it.
    let timeout = Duration::from_millis(1500);
    let s = TestServer::start(
        FuzzEngine,
        ServerConfig::default().with_startup_timeout(Some(timeout)),
    );
    let mut bystander = RawClient::startup(s.addr).await;
    let mut c = RawClient::connect(s.addr).await;
    let start = Instant::now();
    c.send(&startup_packet(3, 0, &[("user", "pw")])).await;
    let m = c.read_message().await.unwrap();
    assert_eq!(m.tag, b'R');
    assert_eq!(m.body, 3i32.to_be_bytes(), "cleartext password request");
    let mut closed = false;
    for byte in message(b'p', b"pw\0") {
        if c.stream.write_all(&[byte]).await.is_err() {
            closed = true;
            break;
        }
        // Meanwhile other clients get through startup at once.
        let mut quick = RawClient::startup(s.addr).await;
        still_works(&mut quick).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        if start.elapsed() > timeout + Duration::from_secs(2) {
            break;
        }
    }
    if !closed {
        closed = c.read_message().await.is_none();
    }
    assert!(closed, "the slow client outlived the startup timeout");
    let took = start.elapsed();
    assert!(took >= timeout, "closed too early: {took:?}");
    assert!(
        took < timeout + Duration::from_secs(3),
        "closed late: {took:?}"
    );
    others_keep_working(&s, &mut bystander).await;
}

#[tokio::test]
async fn silent_client_is_dropped_at_the_startup_timeout() {
    let timeout = Duration::from_millis(600);
    let s = TestServer::start(
        Scripted::default(),
        ServerConfig::default().with_startup_timeout(Some(timeout)),
    );
    let mut bystander = RawClient::startup(s.addr).await;
    let start = Instant::now();
    let mut silent: Vec<RawClient> = Vec::new();
    for _ in 0..20 {
        silent.push(RawClient::connect(s.addr).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(s.server.connection_count(), 21);
    for c in &mut silent {
        // Closed without a message (PostgreSQL says nothing either).
        assert_eq!(c.read_message().await, None);
    }
    let took = start.elapsed();
    assert!(took >= timeout && took < timeout * 4, "{took:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while s.server.connection_count() > 1 {
        assert!(
            Instant::now() < deadline,
            "silent connections still counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The bystander was not idle-timed-out by the startup timeout.
    others_keep_working(&s, &mut bystander).await;
}

/// A client that pipelines far more queries than it reads answers: the
/// server stops reading once its output backs up, so its memory stays
/// bounded by its buffers (write high-water mark, read-ahead), not by what
/// the client sends or asks for. Server and clients run on this thread so
/// the counting allocator sees exactly their heap.
#[test]
fn client_that_never_reads_keeps_server_memory_bounded() {
    CountingAlloc::mark_installed();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let high_water = 16 * 1024;
        let server = Server::new(
            Scripted::default(),
            ServerConfig::default().with_write_high_water(high_water),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serving = server.serve(listener);
        let test = async {
            let mut c = RawClient::startup(addr).await;
            // Queries asking for 100,000 rows each, until the server
            // stops taking them (past the kernel's socket buffers, which
            // hold megabytes on loopback), at most 256 MB.
            let chunk = message(b'Q', b"series 100000\0").repeat(4096);
            let base = CountingAlloc::live();
            CountingAlloc::reset_peak();
            let mut written = 0usize;
            let mut off = 0;
            let stalled = loop {
                if written > 256 << 20 {
                    break false;
                }
                let write = c.stream.write(&chunk[off..]);
                match tokio::time::timeout(Duration::from_millis(500), write).await {
                    Ok(Ok(n)) if n > 0 => {
                        written += n;
                        off = (off + n) % chunk.len();
                    }
                    Ok(_) => panic!("the server closed the connection"),
                    // The server stopped reading: its output is backed up.
                    Err(_) => break true,
                }
            };
            assert!(stalled, "the server read {written} bytes of queries");
            tokio::time::sleep(Duration::from_millis(300)).await;
            let peak = CountingAlloc::peak() - base;
            println!(
                "client not reading: {written} bytes accepted, session heap peak {peak} bytes"
            );
            // Buffers: read-ahead (64 KiB, doubling) + write high-water
            // mark + one row; and a fixed allowance.
            let bound = 2 * 64 * 1024 + 2 * high_water + 128 * 1024;
            assert!(peak < bound as isize, "peak {peak} over {bound}");
            // Another client is served meanwhile.
            let mut other = RawClient::startup(addr).await;
            still_works(&mut other).await;
            // Hanging up ends the blocked session.
            drop(c);
            let deadline = Instant::now() + Duration::from_secs(5);
            while server.connection_count() > 1 {
                assert!(Instant::now() < deadline, "blocked session not ended");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            still_works(&mut other).await;
        };
        tokio::select! {
            r = serving => panic!("serve ended: {r:?}"),
            () = test => {}
        }
    });
}

#[tokio::test]
async fn invalid_utf8_outside_the_extended_protocol_does_not_wedge_the_session() {
    // Found by the wrong-phase property tests: an invalid UTF-8 string in a
    // message that is not Query used to be handled as an extended-query
    // error (skip to Sync). A client that sends no Sync (a password
    // message outside authentication, a CopyFail) then waited forever for
    // the answer to its next Query.
    let s = server();
    let mut bystander = RawClient::startup(s.addr).await;
    // A password message outside authentication is FATAL, whatever it
    // holds (as PostgreSQL: an invalid message type there).
    let mut bad = message(b'p', b"\xff\0");
    bad.extend(message(b'Q', b"select 1\0"));
    expect_fatal(&s, &bad, "08P01").await;
    // A CopyFail outside COPY is ignored, whatever it holds.
    let mut c = RawClient::startup(s.addr).await;
    c.send(&message(b'f', b"\xff\0")).await;
    still_works(&mut c).await;
    // A CopyFail inside COPY ends it, whatever it holds.
    c.send(&message(b'Q', b"copy_in\0")).await;
    assert_eq!(c.read_message().await.unwrap().tag, b'G');
    let mut p = message(b'd', b"row\n");
    p.extend(message(b'f', b"\xc3\0"));
    c.send(&p).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "EZ");
    assert_eq!(msgs[1].body, b"I");
    still_works(&mut c).await;
    // Nothing of the failed COPY was kept.
    c.send(&message(b'Q', b"copied\0")).await;
    assert_eq!(tags(&c.read_until(b'Z').await), "TCZ");
    others_keep_working(&s, &mut bystander).await;
}

/// A Bind of prepared statement `stmt` to `portal`: no parameters, text
/// results.
fn bind_msg(portal: &str, stmt: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for name in [portal, stmt] {
        b.extend_from_slice(name.as_bytes());
        b.push(0);
    }
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    message(b'B', &b)
}

#[tokio::test]
async fn portals_refused_at_bind_are_gone_and_kept_ones_resume() {
    // A Bind the handler refuses leaves no portal behind (its name is free
    // again, the unnamed one can be bound at once), and a portal that
    // stopped at its row limit is kept, under its name, for the next
    // Execute.
    let s = TestServer::start(FuzzEngine, ServerConfig::default());
    let mut c = RawClient::startup(s.addr).await;
    let mut setup = Vec::new();
    for (name, sql) in [("good", "series 5"), ("refused", "select bindfail")] {
        let mut p = format!("{name}\0{sql}\0").into_bytes();
        p.extend_from_slice(&[0, 0]);
        setup.extend(message(b'P', &p));
    }
    setup.extend(message(b'S', b""));
    c.send(&setup).await;
    assert_eq!(tags(&c.read_until(b'Z').await), "11Z");

    for portal in ["", "p"] {
        let mut refused = bind_msg(portal, "refused");
        refused.extend(execute_message(portal, 0));
        refused.extend(message(b'S', b""));
        c.send(&refused).await;
        let msgs = c.read_until(b'Z').await;
        assert_eq!(tags(&msgs), "EZ", "portal {portal:?}");
        assert_eq!(msgs[0].sqlstate().as_deref(), Some("22023"));

        // Two rows, then (after a Flush shows they arrived) the rest.
        let mut kept = bind_msg(portal, "good");
        kept.extend(execute_message(portal, 2));
        kept.extend(message(b'H', b""));
        c.send(&kept).await;
        let mut msgs = Vec::new();
        while !msgs.iter().any(|m: &RawMessage| m.tag == b's') {
            msgs.extend(c.read_message().await);
        }
        let mut rest = execute_message(portal, 0);
        rest.extend(message(b'S', b""));
        c.send(&rest).await;
        msgs.extend(c.read_until(b'Z').await);
        let rows = msgs.iter().filter(|m| m.tag == b'D').count();
        assert_eq!(rows, 5, "portal {portal:?}: {}", tags(&msgs));
        assert_eq!(tags(&msgs), "2DDsDDDCZ", "portal {portal:?}");
    }
    still_works(&mut c).await;
}
