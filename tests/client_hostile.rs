//! Hostile and broken servers, played by raw-byte fake servers: the client
//! must end with a clear error, never a panic or a hang. Also replays the
//! client fuzz target over generated inputs.

#[path = "common/client_fuzz.rs"]
mod client_fuzz;

use std::time::Duration;

use base64::Engine;
use pgwire::client::{Client, Config, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Runs `script` as the server for one connection; returns the port.
async fn fake_server<F, Fut>(script: F) -> u16
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        if let Ok((s, _)) = l.accept().await {
            script(s).await;
        }
    });
    port
}

/// Reads the StartupMessage (length-prefixed, no type byte).
async fn read_startup(s: &mut TcpStream) -> Vec<u8> {
    let len = s.read_i32().await.unwrap() as usize;
    let mut body = vec![0; len - 4];
    s.read_exact(&mut body).await.unwrap();
    body
}

/// Reads one typed message: (type, body).
async fn read_message(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let tag = s.read_u8().await.unwrap();
    let len = s.read_i32().await.unwrap() as usize;
    let mut body = vec![0; len - 4];
    s.read_exact(&mut body).await.unwrap();
    (tag, body)
}

fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn auth(code: i32, extra: &[u8]) -> Vec<u8> {
    let mut b = code.to_be_bytes().to_vec();
    b.extend_from_slice(extra);
    msg(b'R', &b)
}

fn ready() -> Vec<u8> {
    msg(b'Z', b"I")
}

async fn connect(port: u16, extra: &str) -> Result<Client, Error> {
    let c = Config::parse(&format!(
        "host=127.0.0.1 port={port} user=u dbname=d sslmode=disable password=pw {extra}"
    ))
    .unwrap();
    tokio::time::timeout(Duration::from_secs(10), Client::connect(&c))
        .await
        .expect("the client must not hang")
}

#[tokio::test]
async fn garbage_instead_of_messages() {
    let port = fake_server(|mut s| async move {
        read_startup(&mut s).await;
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    })
    .await;
    let e = connect(port, "").await.unwrap_err();
    assert!(matches!(e, Error::Decode(_)), "{e}");
    assert_eq!(e.sqlstate(), "08P01");
}

#[tokio::test]
async fn over_long_message_is_refused_before_it_arrives() {
    let port = fake_server(|mut s| async move {
        read_startup(&mut s).await;
        // Claims 2 GiB and sends 5 bytes; the client must not wait for (or
        // allocate) the rest.
        let _ = s
            .write_all(&[b'R', 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0])
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let e = connect(port, "").await.unwrap_err();
    assert!(
        e.to_string().contains("too large") || matches!(e, Error::Decode(_)),
        "{e}"
    );
}

#[tokio::test]
async fn wrong_scram_server_signature() {
    let port = fake_server(|mut s| async move {
        read_startup(&mut s).await;
        s.write_all(&auth(10, b"SCRAM-SHA-256\0\0")).await.unwrap();
        let (_, body) = read_message(&mut s).await;
        // "SCRAM-SHA-256\0" len "n,,n=,r=<nonce>"
        let text = String::from_utf8_lossy(&body).into_owned();
        let nonce = text.split("r=").nth(1).unwrap().to_owned();
        let first = format!(
            "r={nonce}server,s={},i=4096",
            base64::engine::general_purpose::STANDARD.encode(b"salt")
        );
        s.write_all(&auth(11, first.as_bytes())).await.unwrap();
        read_message(&mut s).await;
        let forged = format!(
            "v={}",
            base64::engine::general_purpose::STANDARD.encode([7u8; 32])
        );
        s.write_all(&auth(12, forged.as_bytes())).await.unwrap();
        let _ = s.write_all(&auth(0, b"")).await;
        let _ = s.write_all(&ready()).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let e = connect(port, "").await.unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e}");
    assert!(e.to_string().contains("server signature"), "{e}");
}

#[tokio::test]
async fn authentication_ok_without_authenticating() {
    // The caller insists on SCRAM; the server skips authentication.
    for extra in [
        "require_auth=scram-sha-256",
        "require_auth=password",
        "channel_binding=require",
    ] {
        let port = fake_server(|mut s| async move {
            read_startup(&mut s).await;
            let _ = s.write_all(&auth(0, b"")).await;
            let _ = s.write_all(&ready()).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await;
        let e = connect(port, extra).await.unwrap_err();
        assert!(matches!(e, Error::Auth(_)), "{extra}: {e}");
    }
    // AuthenticationOk in the middle of SCRAM, before the server proved it
    // knows the password.
    let port = fake_server(|mut s| async move {
        read_startup(&mut s).await;
        s.write_all(&auth(10, b"SCRAM-SHA-256\0\0")).await.unwrap();
        let (_, body) = read_message(&mut s).await;
        let text = String::from_utf8_lossy(&body).into_owned();
        let nonce = text.split("r=").nth(1).unwrap().to_owned();
        let first = format!("r={nonce}x,s=c2FsdA==,i=1");
        s.write_all(&auth(11, first.as_bytes())).await.unwrap();
        read_message(&mut s).await;
        let _ = s.write_all(&auth(0, b"")).await;
        let _ = s.write_all(&ready()).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let e = connect(port, "").await.unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e}");
    // A downgrade to cleartext when only SCRAM is allowed: the password is
    // never sent.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let port = fake_server(|mut s| async move {
        read_startup(&mut s).await;
        s.write_all(&auth(3, b"")).await.unwrap();
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
        let _ = tx.send(rest);
    })
    .await;
    let e = connect(port, "require_auth=scram-sha-256")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("require_auth"), "{e}");
    let sent = rx.await.unwrap();
    assert!(
        !sent.windows(2).any(|w| w == b"pw"),
        "the password was sent: {sent:?}"
    );
}

async fn ready_server(s: &mut TcpStream) {
    read_startup(s).await;
    let mut out = auth(0, b"");
    out.extend(msg(b'K', &[0, 0, 0, 1, 0, 0, 0, 2]));
    out.extend(ready());
    s.write_all(&out).await.unwrap();
}

#[tokio::test]
async fn connection_closed_mid_result() {
    let port = fake_server(|mut s| async move {
        ready_server(&mut s).await;
        read_message(&mut s).await;
        // RowDescription (one int4 column), one DataRow, then gone.
        let mut rd = vec![0, 1];
        rd.extend_from_slice(b"n\0");
        rd.extend_from_slice(&0u32.to_be_bytes());
        rd.extend_from_slice(&0i16.to_be_bytes());
        rd.extend_from_slice(&23u32.to_be_bytes());
        rd.extend_from_slice(&4i16.to_be_bytes());
        rd.extend_from_slice(&(-1i32).to_be_bytes());
        rd.extend_from_slice(&0i16.to_be_bytes());
        let mut out = msg(b'T', &rd);
        out.extend(msg(b'D', &[0, 1, 0, 0, 0, 1, b'7']));
        // Half of a second DataRow.
        out.extend(&msg(b'D', &[0, 1, 0, 0, 0, 1, b'8'])[..4]);
        s.write_all(&out).await.unwrap();
    })
    .await;
    let mut c = connect(port, "").await.unwrap();
    let mut stream = c.simple_query_stream("SELECT n").await.unwrap();
    let mut rows = 0;
    let e = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("no hang")
        {
            Ok(Some(pgwire::client::SimpleQueryMessage::Row(r))) => {
                assert_eq!(r.get_text(0).unwrap(), Some("7"));
                rows += 1;
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("a truncated result must not end cleanly"),
            Err(e) => break e,
        }
    };
    assert_eq!(rows, 1);
    assert!(matches!(e, Error::Closed), "{e}");
    assert_eq!(e.sqlstate(), "08006");
}

/// RowDescription of one int4 column named `n`.
fn one_int4_column() -> Vec<u8> {
    let mut rd = vec![0, 1];
    rd.extend_from_slice(b"n\0");
    rd.extend_from_slice(&0u32.to_be_bytes());
    rd.extend_from_slice(&0i16.to_be_bytes());
    rd.extend_from_slice(&23u32.to_be_bytes());
    rd.extend_from_slice(&4i16.to_be_bytes());
    rd.extend_from_slice(&(-1i32).to_be_bytes());
    rd.extend_from_slice(&0i16.to_be_bytes());
    msg(b'T', &rd)
}

/// Good rows, then a broken one, all in one write (so the rows after the
/// first are read from the buffer, the per-row fast path): the broken row
/// is a decode error, for the simple and the extended protocol alike.
#[tokio::test]
async fn malformed_row_mid_result() {
    let broken_rows: [&[u8]; 3] = [
        // A value longer than the message.
        &[0, 1, 0, 0, 0, 9, b'1'],
        // A negative length other than -1.
        &[0, 1, 0xff, 0xff, 0xff, 0xfe],
        // Bytes after the values.
        &[0, 1, 0, 0, 0, 1, b'1', 0],
    ];
    for broken in broken_rows {
        for extended in [false, true] {
            let sent = broken.to_vec();
            let port = fake_server(move |mut s| async move {
                ready_server(&mut s).await;
                let mut out = Vec::new();
                if extended {
                    // Parse + Describe + Sync of prepare.
                    for _ in 0..3 {
                        read_message(&mut s).await;
                    }
                    out.extend(msg(b'1', b""));
                    out.extend(msg(b't', &[0, 0]));
                    out.extend(one_int4_column());
                    out.extend(ready());
                    s.write_all(&out).await.unwrap();
                    out.clear();
                    // Bind + Execute + Sync.
                    for _ in 0..3 {
                        read_message(&mut s).await;
                    }
                    out.extend(msg(b'2', b""));
                } else {
                    read_message(&mut s).await;
                    out.extend(one_int4_column());
                }
                for i in 0..3i32 {
                    let mut row = vec![0, 1, 0, 0, 0, 4];
                    row.extend_from_slice(&i.to_be_bytes());
                    out.extend(msg(b'D', &row));
                }
                out.extend(msg(b'D', &sent));
                out.extend(msg(b'C', b"SELECT 4\0"));
                out.extend(ready());
                let _ = s.write_all(&out).await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            })
            .await;
            let mut c = connect(port, "").await.unwrap();
            let (rows, e) = if extended {
                let st = c.prepare("SELECT n").await.unwrap();
                let mut stream = c.query_stream(&st, &[]).await.unwrap();
                let mut rows = 0;
                let e = loop {
                    match tokio::time::timeout(Duration::from_secs(10), stream.next())
                        .await
                        .expect("no hang")
                    {
                        Ok(Some(r)) => {
                            assert_eq!(r.get::<i32>(0), rows);
                            rows += 1;
                        }
                        Ok(None) => panic!("a broken row must not end cleanly"),
                        Err(e) => break e,
                    }
                };
                (rows, e)
            } else {
                let mut stream = c.simple_query_stream("SELECT n").await.unwrap();
                let mut rows = 0;
                let e = loop {
                    match tokio::time::timeout(Duration::from_secs(10), stream.next())
                        .await
                        .expect("no hang")
                    {
                        Ok(Some(pgwire::client::SimpleQueryMessage::Row(r))) => {
                            assert_eq!(r.get_raw(0).unwrap().map(<[u8]>::len), Some(4));
                            rows += 1;
                        }
                        Ok(Some(_)) => {}
                        Ok(None) => panic!("a broken row must not end cleanly"),
                        Err(e) => break e,
                    }
                };
                (rows, e)
            };
            assert_eq!(rows, 3, "{broken:?} extended={extended}");
            assert!(matches!(e, Error::Decode(_)), "{e}");
            assert_eq!(e.sqlstate(), "08P01");
        }
    }
}

#[tokio::test]
async fn unexpected_messages_and_bad_negotiation() {
    // A DataRow during authentication.
    let port = fake_server(|mut s| async move {
        read_startup(&mut s).await;
        let _ = s.write_all(&msg(b'D', &[0, 0])).await;
    })
    .await;
    assert!(matches!(
        connect(port, "").await.unwrap_err(),
        Error::Protocol(_)
    ));
    // NegotiateProtocolVersion to a version we did not ask for.
    let port = fake_server(|mut s| async move {
        read_startup(&mut s).await;
        let mut b = 0x0003_0005u32.to_be_bytes().to_vec();
        b.extend_from_slice(&0i32.to_be_bytes());
        let _ = s.write_all(&msg(b'v', &b)).await;
    })
    .await;
    assert!(matches!(
        connect(port, "").await.unwrap_err(),
        Error::Protocol(_)
    ));
    // A 3.0 server answering NegotiateProtocolVersion, then a normal
    // startup: accepted, protocol 3.0.
    let port = fake_server(|mut s| async move {
        let startup = read_startup(&mut s).await;
        assert_eq!(&startup[..4], &0x0003_0002u32.to_be_bytes());
        let mut b = 0x0003_0000u32.to_be_bytes().to_vec();
        b.extend_from_slice(&0i32.to_be_bytes());
        let mut out = msg(b'v', &b);
        out.extend(auth(0, b""));
        out.extend(msg(b'K', &[0, 0, 0, 9, 1, 2, 3, 4]));
        out.extend(ready());
        s.write_all(&out).await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    let c = connect(port, "").await.unwrap();
    assert_eq!(
        c.protocol_version(),
        pgwire::messages::ProtocolVersion::V3_0
    );
    assert_eq!(c.process_id(), 9);
    // A long (3.2) cancel key under 3.0 is a protocol violation.
    let port = fake_server(|mut s| async move {
        read_startup(&mut s).await;
        let mut b = 0x0003_0000u32.to_be_bytes().to_vec();
        b.extend_from_slice(&0i32.to_be_bytes());
        let mut out = msg(b'v', &b);
        out.extend(auth(0, b""));
        out.extend(msg(b'K', &[0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8]));
        out.extend(ready());
        let _ = s.write_all(&out).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    assert!(matches!(
        connect(port, "").await.unwrap_err(),
        Error::Protocol(_)
    ));
    // A server refusing SSL when it is required.
    let port = fake_server(|mut s| async move {
        let mut req = [0u8; 8];
        s.read_exact(&mut req).await.unwrap();
        let _ = s.write_all(b"N").await;
    })
    .await;
    let c = Config::parse(&format!(
        "host=127.0.0.1 port={port} user=u sslmode=require"
    ))
    .unwrap();
    assert!(matches!(
        Client::connect(&c).await.unwrap_err(),
        Error::Tls(_)
    ));
}

#[tokio::test]
async fn long_cancel_key_of_protocol_3_2_is_sent_back() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let key: Vec<u8> = (0..32).collect();
    let k = key.clone();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        read_startup(&mut s).await;
        let mut kd = 77i32.to_be_bytes().to_vec();
        kd.extend_from_slice(&k);
        let mut out = auth(0, b"");
        out.extend(msg(b'K', &kd));
        out.extend(ready());
        s.write_all(&out).await.unwrap();
        // The cancel connection.
        let (mut c, _) = l.accept().await.unwrap();
        let len = c.read_i32().await.unwrap() as usize;
        let mut body = vec![0; len - 4];
        c.read_exact(&mut body).await.unwrap();
        let _ = tx.send(body);
        drop(s);
    });
    let client = connect(port, "").await.unwrap();
    assert_eq!(
        client.protocol_version(),
        pgwire::messages::ProtocolVersion::V3_2
    );
    client.cancel_token().cancel().await.unwrap();
    let body = rx.await.unwrap();
    assert_eq!(&body[..4], &80_877_102u32.to_be_bytes());
    assert_eq!(&body[4..8], &77i32.to_be_bytes());
    assert_eq!(&body[8..], &key[..]);
}

#[test]
fn fuzz_target_on_generated_inputs() {
    // Valid prefixes followed by mutations: the target must return.
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let mut ok = auth(0, b"");
    ok.extend(msg(b'K', &[0, 0, 0, 1, 0, 0, 0, 2]));
    ok.extend(msg(b'S', b"server_version\x0015\0"));
    ok.extend(ready());
    let mut with_rows = ok.clone();
    let mut rd = vec![0, 1];
    rd.extend_from_slice(b"n\0");
    rd.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4, 255, 255, 255, 255, 0, 0,
    ]);
    with_rows.extend(msg(b'T', &rd));
    with_rows.extend(msg(b'D', &[0, 1, 0, 0, 0, 1, b'7']));
    with_rows.extend(msg(b'C', b"SELECT 1\0"));
    with_rows.extend(ready());
    seeds.push(ok.clone());
    seeds.push(with_rows.clone());
    seeds.push(auth(5, b"salt"));
    seeds.push(auth(10, b"SCRAM-SHA-256\0\0"));
    seeds.push(auth(10, b"OAUTHBEARER\0\0"));
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut connected = 0;
    let mut rows = 0;
    for seed in &seeds {
        let r = client_fuzz::client_target(seed);
        connected += r.connected as usize;
        rows += r.rows;
        for _ in 0..40 {
            let mut m = seed.clone();
            let flips = 1 + next() % 4;
            for _ in 0..flips {
                if m.is_empty() {
                    break;
                }
                let at = (next() as usize) % m.len();
                match next() % 3 {
                    0 => m[at] = next() as u8,
                    1 => m.truncate(at),
                    _ => m.insert(at, next() as u8),
                }
            }
            let r = client_fuzz::client_target(&m);
            connected += r.connected as usize;
        }
    }
    assert!(connected > 0, "no input got past startup");
    assert!(rows > 0, "no input reached rows");
}
