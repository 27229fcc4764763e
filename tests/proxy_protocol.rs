//! The PROXY protocol (v1 and v2) before SSLRequest/TLS and startup: the
//! declared client address in `ClientInfo`, LOCAL and UNKNOWN headers,
//! TLVs, malformed headers and untrusted or missing ones refused without an
//! answer; and HAProxy (`send-proxy-v2`) in front of the sqlite example
//! forwarding psql sessions.

mod common;
#[path = "common/proxy_fuzz.rs"]
mod proxy_fuzz;
#[path = "common/recording.rs"]
mod recording;
#[allow(dead_code)]
#[path = "common/sqlite_example.rs"]
mod sqlite_example;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{RawClient, RawConn, TestServer, have_program, startup_packet, stderr, stdout};
use pgwire::api::ClientInfo;
use pgwire::server::proxy_protocol::{PP2_TYPE_CRC32C, V2_SIGNATURE, crc32c};
use pgwire::server::{IpNetwork, ProxyProtocolMode, ServerConfig};
use recording::Recording;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Proxied {
    server: TestServer<Recording>,
    seen: Arc<Mutex<Vec<ClientInfo>>>,
}

fn server(mode: ProxyProtocolMode, trusted: &[&str]) -> Proxied {
    server_with(ServerConfig::default(), mode, trusted)
}

fn server_with(config: ServerConfig, mode: ProxyProtocolMode, trusted: &[&str]) -> Proxied {
    let nets: Vec<IpNetwork> = trusted.iter().map(|n| n.parse().unwrap()).collect();
    let (handlers, seen) = Recording::new();
    let server = TestServer::start(handlers, config.with_proxy_protocol(mode, nets));
    Proxied { server, seen }
}

impl Proxied {
    fn last(&self) -> ClientInfo {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a session started")
    }
}

fn v1(line: &str) -> Vec<u8> {
    format!("PROXY {line}\r\n").into_bytes()
}

/// A v2 header: version/command byte, family byte, address block, TLVs.
fn v2(ver_cmd: u8, fam: u8, addresses: &[u8], tlvs: &[(u8, &[u8])]) -> Vec<u8> {
    let mut body = addresses.to_vec();
    for (t, v) in tlvs {
        body.push(*t);
        body.extend_from_slice(&(v.len() as u16).to_be_bytes());
        body.extend_from_slice(v);
    }
    let mut h = V2_SIGNATURE.to_vec();
    h.push(ver_cmd);
    h.push(fam);
    h.extend_from_slice(&(body.len() as u16).to_be_bytes());
    h.extend_from_slice(&body);
    h
}

fn inet4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut b = src.to_vec();
    b.extend_from_slice(&dst);
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b
}

fn inet6(src: &str, dst: &str, sport: u16, dport: u16) -> Vec<u8> {
    let s: std::net::Ipv6Addr = src.parse().unwrap();
    let d: std::net::Ipv6Addr = dst.parse().unwrap();
    let mut b = s.octets().to_vec();
    b.extend_from_slice(&d.octets());
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b
}

fn startup() -> Vec<u8> {
    startup_packet(3, 0, &[("user", "postgres"), ("database", "test")])
}

/// Sends `header` then a startup packet (in one write, the way HAProxy
/// often does) and reads to ReadyForQuery; returns the local address.
async fn connect_with(addr: SocketAddr, header: &[u8]) -> (RawClient, SocketAddr) {
    let mut c = RawClient::connect(addr).await;
    let local = c.stream.local_addr().unwrap();
    let mut bytes = header.to_vec();
    bytes.extend(startup());
    c.send(&bytes).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(msgs[0].tag, b'R', "{msgs:?}");
    (c, local)
}

/// Whether the server closed `stream` without sending a byte.
async fn closed_silently(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(n)) => {
            eprintln!("server answered {:?}", &buf[..n]);
            false
        }
        Err(_) => {
            eprintln!("server kept the connection open");
            false
        }
    }
}

#[tokio::test]
async fn v1_tcp4_tcp6_and_unknown() {
    let s = server(ProxyProtocolMode::Required, &["127.0.0.0/8"]);
    let (_c, local) =
        connect_with(s.server.addr, &v1("TCP4 192.0.2.7 198.51.100.1 51000 5432")).await;
    let info = s.last();
    assert_eq!(info.peer_addr(), Some("192.0.2.7:51000".parse().unwrap()));
    let proxy = info.proxy().expect("proxy info");
    assert_eq!(proxy.proxy_addr, Some(local), "the proxy is the real peer");
    assert_eq!(
        proxy.destination,
        Some("198.51.100.1:5432".parse().unwrap())
    );
    assert!(!proxy.local);

    connect_with(
        s.server.addr,
        &v1("TCP6 2001:db8::7 2001:db8::1 40000 5432"),
    )
    .await;
    assert_eq!(
        s.last().peer_addr(),
        Some("[2001:db8::7]:40000".parse().unwrap())
    );

    let (_c, local) = connect_with(s.server.addr, &v1("UNKNOWN")).await;
    assert_eq!(
        s.last().peer_addr(),
        Some(local),
        "UNKNOWN: the connection's own address"
    );
}

#[tokio::test]
async fn v2_tcp4_tcp6_local_and_tlvs() {
    let s = server(ProxyProtocolMode::Required, &[]);
    let tlvs: &[(u8, &[u8])] = &[
        (0x01, b"postgresql"),
        (0x02, b"db.example.com"),
        (0x05, b"req-42"),
    ];
    connect_with(
        s.server.addr,
        &v2(
            0x21,
            0x11,
            &inet4([203, 0, 113, 9], [10, 0, 0, 1], 61000, 5432),
            tlvs,
        ),
    )
    .await;
    let info = s.last();
    assert_eq!(info.peer_addr(), Some("203.0.113.9:61000".parse().unwrap()));
    let tlvs_seen = &info.proxy().unwrap().tlvs;
    assert_eq!(tlvs_seen.len(), 3);
    assert_eq!(tlvs_seen[1], (0x02, b"db.example.com".to_vec()));

    connect_with(
        s.server.addr,
        &v2(
            0x21,
            0x21,
            &inet6("2001:db8::9", "2001:db8::1", 1234, 5432),
            &[],
        ),
    )
    .await;
    assert_eq!(
        s.last().peer_addr(),
        Some("[2001:db8::9]:1234".parse().unwrap())
    );

    // LOCAL (a health check): the connection's own address stands.
    let (_c, local) = connect_with(s.server.addr, &v2(0x20, 0x00, &[], &[])).await;
    let info = s.last();
    assert_eq!(info.peer_addr(), Some(local));
    assert!(info.proxy().unwrap().local);

    // With a valid CRC32c TLV.
    let mut h = v2(
        0x21,
        0x11,
        &inet4([198, 51, 100, 20], [10, 0, 0, 1], 7000, 5432),
        &[(PP2_TYPE_CRC32C, &[0; 4])],
    );
    let crc = crc32c(&h);
    let n = h.len();
    h[n - 4..].copy_from_slice(&crc.to_be_bytes());
    connect_with(s.server.addr, &h).await;
    assert_eq!(
        s.last().peer_addr(),
        Some("198.51.100.20:7000".parse().unwrap())
    );
}

#[tokio::test]
async fn header_in_pieces_and_queries_after_it() {
    let s = server(ProxyProtocolMode::Required, &[]);
    let mut stream = TcpStream::connect(s.server.addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let header = v2(
        0x21,
        0x11,
        &inet4([192, 0, 2, 1], [192, 0, 2, 2], 1111, 5432),
        &[(0x04, b"")],
    );
    for b in &header {
        stream.write_all(&[*b]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut c = RawConn::new(stream);
    c.send(&startup()).await;
    c.read_until(b'Z').await;
    c.send(&common::message(
        b'Q',
        b"SELECT inet_client_addr(), inet_client_port()\0",
    ))
    .await;
    let msgs = c.read_until(b'Z').await;
    let row = msgs.iter().find(|m| m.tag == b'D').expect("a row");
    let text = String::from_utf8_lossy(&row.body);
    assert!(
        text.contains("192.0.2.1") && text.contains("1111"),
        "{text}"
    );
}

#[tokio::test]
async fn header_then_ssl_request_and_tls() {
    let pki = common::auth::pki();
    let s = server_with(
        ServerConfig::default().with_tls(pki.acceptor()),
        ProxyProtocolMode::Optional,
        &["127.0.0.1"],
    );
    let mut tcp = TcpStream::connect(s.server.addr).await.unwrap();
    tcp.write_all(&v1("TCP4 192.0.2.77 192.0.2.1 4321 5432"))
        .await
        .unwrap();
    tcp.write_all(&[0, 0, 0, 8, 4, 210, 22, 47]).await.unwrap();
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer).await.unwrap();
    assert_eq!(answer[0], b'S');
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(pki.client_config(&[], false))
        .connect(name, tcp)
        .await
        .expect("TLS handshake after the PROXY header");
    let mut c = RawConn::new(tls);
    c.send(&startup()).await;
    c.read_until(b'Z').await;
    let info = s.last();
    assert!(info.is_tls());
    assert_eq!(info.peer_addr(), Some("192.0.2.77:4321".parse().unwrap()));
}

#[tokio::test]
async fn optional_mode_serves_connections_without_a_header() {
    let s = server(ProxyProtocolMode::Optional, &[]);
    let (_c, local) = connect_with(s.server.addr, &[]).await;
    let info = s.last();
    assert_eq!(info.peer_addr(), Some(local));
    assert!(info.proxy().is_none());
    // tokio-postgres too.
    let client = s.server.connect().await;
    let row = client.query_one("SELECT 1::int4", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 1);
}

#[tokio::test]
async fn missing_malformed_and_untrusted_headers_are_refused_silently() {
    let required = server(ProxyProtocolMode::Required, &["127.0.0.0/8"]);
    let optional = server(ProxyProtocolMode::Optional, &[]);
    let mut bad: Vec<(&str, Vec<u8>)> = vec![
        ("v1 bad family", v1("TCP5 1.2.3.4 5.6.7.8 1 2")),
        ("v1 missing port", v1("TCP4 1.2.3.4 5.6.7.8 1")),
        ("v1 double space", v1("TCP4 1.2.3.4  5.6.7.8 1 2")),
        ("v1 bad address", v1("TCP4 1.2.3.999 5.6.7.8 1 2")),
        ("v1 family mismatch", v1("TCP6 1.2.3.4 5.6.7.8 1 2")),
        ("v1 port out of range", v1("TCP4 1.2.3.4 5.6.7.8 65536 2")),
        (
            "v1 LF without CR",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n".to_vec(),
        ),
        ("v1 too long", {
            let mut l = b"PROXY UNKNOWN ".to_vec();
            l.resize(120, b'x');
            l
        }),
        (
            "v2 version 1",
            v2(0x11, 0x11, &inet4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2), &[]),
        ),
        (
            "v2 command 2",
            v2(0x22, 0x11, &inet4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2), &[]),
        ),
        (
            "v2 family 4",
            v2(0x21, 0x41, &inet4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2), &[]),
        ),
        (
            "v2 datagram",
            v2(0x21, 0x12, &inet4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2), &[]),
        ),
        (
            "v2 short address",
            v2(0x21, 0x21, &inet4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2), &[]),
        ),
        ("v2 TLV overrun", {
            let mut h = v2(0x21, 0x11, &inet4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2), &[]);
            h.extend_from_slice(&[0x01, 0, 9, b'a']);
            let n = (h.len() - 16) as u16;
            h[14..16].copy_from_slice(&n.to_be_bytes());
            h
        }),
        (
            "v2 bad CRC",
            v2(
                0x21,
                0x11,
                &inet4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2),
                &[(PP2_TYPE_CRC32C, &[1, 2, 3, 4])],
            ),
        ),
        ("v2 bad signature", {
            let mut h = v2(0x21, 0x11, &inet4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2), &[]);
            h[11] = b'X';
            h
        }),
    ];
    for (what, header) in bad.drain(..) {
        for s in [&required, &optional] {
            let mut stream = TcpStream::connect(s.server.addr).await.unwrap();
            let mut bytes = header.clone();
            bytes.extend(startup());
            let _ = stream.write_all(&bytes).await;
            assert!(closed_silently(&mut stream).await, "{what} was not refused");
        }
    }
    // Truncated: the peer stops inside the header and closes its side.
    let mut stream = TcpStream::connect(required.server.addr).await.unwrap();
    stream
        .write_all(&v2(0x21, 0x11, &inet4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2), &[])[..20])
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    assert!(closed_silently(&mut stream).await, "truncated header");

    // Required: no header at all.
    let mut stream = TcpStream::connect(required.server.addr).await.unwrap();
    stream.write_all(&startup()).await.unwrap();
    assert!(closed_silently(&mut stream).await, "missing header");
    // Required: nor an SSLRequest first.
    let mut stream = TcpStream::connect(required.server.addr).await.unwrap();
    stream
        .write_all(&[0, 0, 0, 8, 4, 210, 22, 47])
        .await
        .unwrap();
    assert!(
        closed_silently(&mut stream).await,
        "SSLRequest without a header"
    );

    // Untrusted peers: a header from 127.0.0.1 when only 10.0.0.0/8 may
    // send one; in required mode even without a header.
    for mode in [ProxyProtocolMode::Optional, ProxyProtocolMode::Required] {
        let s = server(mode, &["10.0.0.0/8"]);
        let mut stream = TcpStream::connect(s.server.addr).await.unwrap();
        let mut bytes = v1("TCP4 10.1.1.1 10.0.0.1 1000 5432");
        bytes.extend(startup());
        stream.write_all(&bytes).await.unwrap();
        assert!(
            closed_silently(&mut stream).await,
            "untrusted header ({mode:?})"
        );
        let mut stream = TcpStream::connect(s.server.addr).await.unwrap();
        stream.write_all(&startup()).await.unwrap();
        if mode == ProxyProtocolMode::Required {
            assert!(
                closed_silently(&mut stream).await,
                "untrusted peer, required"
            );
        } else {
            let mut c = RawConn::new(stream);
            assert_eq!(c.read_until(b'Z').await[0].tag, b'R');
        }
    }
    assert!(
        required.seen.lock().unwrap().is_empty(),
        "no refused connection reached a session"
    );
}

/// HAProxy with `send-proxy-v2` in front of the sqlite example
/// (`--proxy-protocol required`): psql's sessions arrive with psql's own
/// address, and the server logs it.
#[test]
fn haproxy_send_proxy_v2_forwards_psql() {
    for program in ["haproxy", "psql"] {
        let found = if program == "haproxy" {
            std::process::Command::new("haproxy")
                .arg("-v")
                .output()
                .is_ok_and(|o| o.status.success())
        } else {
            have_program(program)
        };
        if !found {
            println!("SKIPPED haproxy_send_proxy_v2_forwards_psql: {program} is not installed");
            return;
        }
    }
    let Some(example) = sqlite_example::Example::start(
        "haproxy",
        &[
            "--proxy-protocol",
            "required",
            "--proxy-trusted",
            "127.0.0.1/32",
        ],
    ) else {
        return;
    };
    let dir = sqlite_example::TempDir::new("haproxy");
    let front = sqlite_example::free_port();
    let config = format!(
        "global\n    maxconn 100\n\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n\n\
         frontend pg\n    bind 127.0.0.1:{front}\n    default_backend sqlite\n\n\
         backend sqlite\n    server example 127.0.0.1:{} send-proxy-v2\n",
        example.port
    );
    let cfg = dir.0.join("haproxy.cfg");
    std::fs::write(&cfg, config).unwrap();
    let mut haproxy = std::process::Command::new("haproxy")
        .arg("-f")
        .arg(&cfg)
        .arg("-db")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start haproxy");
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let haproxy = Kill(&mut haproxy);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", front)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "haproxy did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut ports = Vec::new();
    for i in 0..2 {
        let out = std::process::Command::new("psql")
            .args([
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                &front.to_string(),
                "-U",
                "postgres",
            ])
            .args([
                "-c",
                &format!("SELECT {i}, inet_client_addr(), inet_client_port()"),
            ])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql through haproxy: {}",
            stderr(&out)
        );
        let line = stdout(&out);
        let fields: Vec<&str> = line.trim().split('|').collect();
        assert_eq!(fields[..2], [i.to_string().as_str(), "127.0.0.1"], "{line}");
        let port: u16 = fields[2].parse().expect("a port");
        ports.push(port);
    }
    assert_ne!(
        ports[0], ports[1],
        "each psql session has its own client port"
    );
    // A direct connection (no header) is refused, and logged.
    {
        use std::io::{Read, Write};
        let mut direct = std::net::TcpStream::connect(("127.0.0.1", example.port)).unwrap();
        direct.write_all(&startup()).unwrap();
        direct
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 16];
        assert!(
            matches!(direct.read(&mut buf), Ok(0) | Err(_)),
            "a direct connection was answered"
        );
    }
    // The server logs the client (psql) and the proxy (HAProxy) addresses.
    std::thread::sleep(Duration::from_millis(200));
    let log = example.log_text();
    for port in &ports {
        let needle =
            format!("PROXY protocol header: client Some(127.0.0.1:{port}) via Some(127.0.0.1:");
        assert!(
            log.contains(&needle),
            "no log line with the client address {port}:\n{log}"
        );
        assert!(
            log.contains(&format!("peer=Some(127.0.0.1:{port})")),
            "the session span does not carry the client address {port}:\n{log}"
        );
    }
    assert!(
        log.contains("PROXY protocol header required but not received"),
        "{log}"
    );
    drop(haproxy);
}

/// The fuzz target's property over mutations of valid headers (a stable,
/// deterministic stand-in for `cargo fuzz run proxy_header`).
#[test]
fn parser_property_over_mutated_headers() {
    let seeds: Vec<Vec<u8>> = vec![
        v1("TCP4 192.0.2.7 198.51.100.1 51000 5432"),
        v1("TCP6 2001:db8::7 2001:db8::1 40000 5432"),
        v1("UNKNOWN"),
        v2(
            0x21,
            0x11,
            &inet4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2),
            &[(1, b"x"), (4, b"")],
        ),
        v2(0x21, 0x21, &inet6("::1", "::2", 3, 4), &[]),
        v2(0x20, 0x00, &[], &[(PP2_TYPE_CRC32C, &[0; 4])]),
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut complete = 0;
    for seed in &seeds {
        proxy_fuzz::proxy_header_target(seed);
        for _ in 0..3000 {
            let mut input = seed.clone();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() as usize) % (input.len() + 1);
                match next() % 4 {
                    0 if at < input.len() => input[at] = next() as u8,
                    1 if at < input.len() => {
                        input.remove(at);
                    }
                    2 => input.insert(at, next() as u8),
                    _ => input.truncate(at),
                }
            }
            input.extend(startup());
            if matches!(
                pgwire::server::proxy_protocol::parse_header(&input),
                Ok(pgwire::server::proxy_protocol::Parsed::Complete { .. })
            ) {
                complete += 1;
            }
            proxy_fuzz::proxy_header_target(&input);
        }
    }
    assert!(
        complete > 0,
        "no mutation stayed a valid header: the check is vacuous"
    );
}

/// `Server::accept_raw` (the path of proxies built on the library) reads
/// the header too: the declared client in `peer_addr` and the proxy in the
/// origin, with the startup packet arriving in the same write as the
/// header; in required mode a connection without one is refused.
#[tokio::test]
async fn accept_raw_reads_the_header_too() {
    let (handlers, _) = Recording::new();
    let config = ServerConfig::default().with_proxy_protocol(
        ProxyProtocolMode::Required,
        ["127.0.0.1/32".parse::<IpNetwork>().unwrap()],
    );
    let server = pgwire::server::Server::new(handlers, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();

    let mut client = TcpStream::connect(addr).await.unwrap();
    let mut bytes = v1("TCP4 10.1.2.3 10.9.9.9 5555 6432");
    bytes.extend(startup());
    client.write_all(&bytes).await.unwrap();
    let (socket, peer) = listener.accept().await.unwrap();
    let session = server
        .accept_raw(socket, Some(peer))
        .await
        .expect("accepted")
        .expect("a session");
    assert_eq!(
        session.client().peer_addr(),
        Some("10.1.2.3:5555".parse().unwrap())
    );
    let proxy = session.client().proxy().expect("the proxy is recorded");
    assert_eq!(proxy.proxy_addr, Some(peer));
    assert_eq!(proxy.destination, Some("10.9.9.9:6432".parse().unwrap()));
    assert_eq!(session.client().user(), "postgres");

    let mut bare = TcpStream::connect(addr).await.unwrap();
    bare.write_all(&startup()).await.unwrap();
    let (socket, peer) = listener.accept().await.unwrap();
    let refused = server.accept_raw(socket, Some(peer)).await;
    assert!(
        matches!(refused, Err(pgwire::error::PgWireError::ProxyProtocol(_))),
        "{refused:?}"
    );
    assert!(closed_silently(&mut bare).await);
}
