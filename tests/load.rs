//! Load: 1,000 concurrent sessions, each running simple and extended
//! queries and checking that every answer is its own; and the memory an
//! idle session costs the server (RSS growth per session, printed).
//!
//! Not timed. Clients are raw sockets, so the memory measured is the
//! server's (a socket's buffers are kernel memory, not the process's RSS).

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::scripted::Scripted;
use common::*;
use pgwire::server::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SESSIONS: usize = 1000;

/// The soft limit on open files, raised to the hard limit if it is too
/// low for `needed` (with `prlimit`, so without unsafe code). `None` if
/// even the hard limit is too low.
fn ensure_open_files(needed: u64) -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut nums = line.split_whitespace().filter_map(|w| {
        w.parse::<u64>()
            .ok()
            .or((w == "unlimited").then_some(u64::MAX))
    });
    let (soft, hard) = (nums.next()?, nums.next()?);
    if soft >= needed {
        return Some(soft);
    }
    if hard < needed {
        return None;
    }
    let pid = std::process::id().to_string();
    let ok = std::process::Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={hard}:{hard}")])
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(hard)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Reads backend messages from a blocking socket up to ReadyForQuery.
fn read_until_ready(s: &mut std::net::TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut tags = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while buf.len() >= 5 {
            let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
            if buf.len() < len + 1 {
                break;
            }
            tags.push(buf[0]);
            let done = buf[0] == b'Z';
            buf.drain(..len + 1);
            if done {
                assert!(buf.is_empty());
                return tags;
            }
        }
        let n = s.read(&mut chunk).expect("read");
        assert!(n > 0, "closed during startup");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends `bytes` and returns the messages (tag, body) up to `zs`
/// ReadyForQuery messages.
async fn exchange(s: &mut tokio::net::TcpStream, bytes: &[u8], zs: usize) -> Vec<(u8, Vec<u8>)> {
    s.write_all(bytes).await.unwrap();
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut seen = 0;
    loop {
        while buf.len() >= 5 {
            let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
            if buf.len() < len + 1 {
                break;
            }
            let tag = buf[0];
            out.push((tag, buf[5..len + 1].to_vec()));
            buf.drain(..len + 1);
            if tag == b'Z' {
                seen += 1;
                if seen == zs {
                    return out;
                }
            }
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut chunk))
            .await
            .expect("no answer in 30 s")
            .unwrap();
        assert!(n > 0, "the server closed a session");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn int_values(msgs: &[(u8, Vec<u8>)]) -> Vec<i32> {
    msgs.iter()
        .filter(|(t, _)| *t == b'D')
        .map(|(_, b)| std::str::from_utf8(&b[6..]).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn thousand_concurrent_sessions_get_their_own_answers() {
    // Two descriptors per session (both ends are in this process).
    if ensure_open_files(2 * SESSIONS as u64 + 200).is_none() {
        eprintln!(
            "SKIPPED thousand_concurrent_sessions_get_their_own_answers: \
             the open-file hard limit is below {}",
            2 * SESSIONS + 200
        );
        return;
    }
    let s = TestServer::start(Scripted::default(), ServerConfig::default());
    // Warm up (the runtime's threads, first allocations), then measure.
    for _ in 0..20 {
        let mut c = std::net::TcpStream::connect(s.addr).unwrap();
        c.write_all(&startup_packet(3, 0, &[("user", "warm")]))
            .unwrap();
        read_until_ready(&mut c);
    }
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_kib();
    let mut clients = Vec::with_capacity(SESSIONS);
    for i in 0..SESSIONS {
        let mut c = std::net::TcpStream::connect(s.addr).unwrap();
        c.set_nodelay(true).unwrap();
        let user = format!("user{i}");
        c.write_all(&startup_packet(
            3,
            0,
            &[("user", &user), ("database", "load")],
        ))
        .unwrap();
        let tags = read_until_ready(&mut c);
        assert_eq!(tags.first(), Some(&b'R'));
        clients.push(c);
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = rss_kib();
    assert_eq!(s.server.session_count(), SESSIONS);
    let per_session = (after.saturating_sub(before)) as f64 * 1024.0 / SESSIONS as f64;
    println!(
        "{SESSIONS} idle sessions: RSS {before} KiB -> {after} KiB, \
         {per_session:.0} bytes per idle session"
    );

    // Every session at once: simple and extended queries, each with
    // values only it asks for.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, c) in clients.into_iter().enumerate() {
            c.set_nonblocking(true).unwrap();
            let mut c = tokio::net::TcpStream::from_std(c).unwrap();
            tasks.spawn(async move {
                let base = i as i32 * 1000;
                for round in 0..3 {
                    // Simple: two statements in one query.
                    let (a, b) = (base + round * 10, base + round * 10 + 1);
                    let q = format!("select {a}; select {b}\0");
                    let msgs = exchange(&mut c, &message(b'Q', q.as_bytes()), 1).await;
                    assert_eq!(int_values(&msgs), vec![a, b], "session {i}");
                    // Extended: a named statement with a parameter, run
                    // twice in one pipeline.
                    let name = format!("s{round}");
                    let mut p = Vec::new();
                    let mut body = format!("{name}\0echo $1\0").into_bytes();
                    body.extend_from_slice(&1i16.to_be_bytes());
                    body.extend_from_slice(&23u32.to_be_bytes());
                    p.extend(message(b'P', &body));
                    let values = [base + round * 10 + 2, base + round * 10 + 3];
                    for v in values {
                        let mut b = format!("\0{name}\0").into_bytes();
                        b.extend_from_slice(&1i16.to_be_bytes());
                        b.extend_from_slice(&1i16.to_be_bytes()); // binary
                        b.extend_from_slice(&1i16.to_be_bytes());
                        b.extend_from_slice(&4i32.to_be_bytes());
                        b.extend_from_slice(&v.to_be_bytes());
                        b.extend_from_slice(&0i16.to_be_bytes());
                        p.extend(message(b'B', &b));
                        p.extend(message(b'E', b"\0\0\0\0\0"));
                    }
                    p.extend(message(b'S', b""));
                    let msgs = exchange(&mut c, &p, 1).await;
                    let tags: Vec<u8> = msgs.iter().map(|(t, _)| *t).collect();
                    assert_eq!(tags, b"12DC2DCZ", "session {i}");
                    assert_eq!(int_values(&msgs), values.to_vec(), "session {i}");
                }
                c.write_all(&message(b'X', b"")).await.unwrap();
                i
            });
        }
        let mut done = vec![false; SESSIONS];
        while let Some(r) = tasks.join_next().await {
            done[r.expect("a session task failed")] = true;
        }
        assert!(done.iter().all(|d| *d));
    });
    // All sessions end once their clients said Terminate.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s.server.session_count() > 0 {
        assert!(std::time::Instant::now() < deadline, "sessions left behind");
        std::thread::sleep(Duration::from_millis(20));
    }
}
