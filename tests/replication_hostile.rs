//! A hostile or broken server during START_REPLICATION: invalid XLogData,
//! keepalives and `pgoutput` bytes are typed errors
//! (`Error::Replication`, SQLSTATE 08P01) from the stream, never a panic
//! or a hang. The "server" is a raw TCP script.

use std::time::Duration;

use pgwire::client::{Client, Error};
use pgwire::replication::Lsn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    m.extend_from_slice(body);
    m
}

async fn read_startup(s: &mut TcpStream) {
    let len = s.read_u32().await.unwrap() as usize;
    let mut body = vec![0; len - 4];
    s.read_exact(&mut body).await.unwrap();
}

async fn read_message(s: &mut TcpStream) -> u8 {
    let tag = s.read_u8().await.unwrap();
    let len = s.read_u32().await.unwrap() as usize;
    let mut body = vec![0; len - 4];
    s.read_exact(&mut body).await.unwrap();
    tag
}

/// A server that authenticates anyone, answers the first query with
/// CopyBothResponse and then sends `copy_data` payloads as CopyData.
async fn script(copy_data: Vec<Vec<u8>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        read_startup(&mut s).await;
        let mut out = message(b'R', &0u32.to_be_bytes());
        out.extend(message(b'Z', b"I"));
        s.write_all(&out).await.unwrap();
        assert_eq!(read_message(&mut s).await, b'Q');
        let mut out = message(b'W', &[0, 0, 0]);
        for payload in copy_data {
            out.extend(message(b'd', &payload));
        }
        s.write_all(&out).await.unwrap();
        // Keep the connection open until the client goes.
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await;
    });
    port
}

fn xlog_data(data: &[u8]) -> Vec<u8> {
    let mut p = vec![b'w'];
    p.extend_from_slice(&[0; 24]);
    p.extend_from_slice(data);
    p
}

async fn first_error(copy_data: Vec<Vec<u8>>) -> Error {
    let port = script(copy_data).await;
    let mut client = Client::connect_str(&format!(
        "host=127.0.0.1 port={port} user=u dbname=d sslmode=disable replication=database"
    ))
    .await
    .unwrap();
    let mut stream = client
        .start_logical_replication("s", Lsn::INVALID, &[("proto_version", "1")])
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.next().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the stream ended without an error"),
                Err(e) => return e,
            }
        }
    })
    .await
    .expect("an error, not a hang")
}

#[tokio::test]
async fn invalid_replication_payloads_are_typed_errors() {
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("empty CopyData", vec![vec![]]),
        ("unknown type", vec![b"x123".to_vec()]),
        ("truncated XLogData", vec![b"w\0\0\0".to_vec()]),
        (
            "keepalive with a bad flag",
            vec![{
                let mut k = vec![b'k'];
                k.extend_from_slice(&[0; 16]);
                k.push(7);
                k
            }],
        ),
        ("unknown pgoutput message", vec![xlog_data(b"Z")]),
        (
            "insert with a negative column length",
            vec![xlog_data(&[
                b'I', 0, 0, 0x40, 0, b'N', 0, 1, b't', 0xff, 0xff, 0xff, 0xfe,
            ])],
        ),
        (
            "relation claiming 32767 columns",
            vec![xlog_data(&[
                b'R', 0, 0, 0x40, 0, b'p', 0, b't', 0, b'd', 0x7f, 0xff,
            ])],
        ),
        (
            "a valid Begin, then a truncated Commit",
            vec![
                xlog_data(&[
                    b'B', 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
                ]),
                xlog_data(&[b'C', 0, 0, 0]),
            ],
        ),
    ];
    for (what, payloads) in cases {
        let e = first_error(payloads).await;
        assert!(matches!(e, Error::Replication(_)), "{what}: {e:?}");
        assert_eq!(e.sqlstate(), "08P01", "{what}");
        assert!(!e.to_string().is_empty());
    }
}
