//! The function call protocol (FunctionCall 'F' → FunctionCallResponse
//! 'V' or ErrorResponse, then ReadyForQuery) in raw bytes, against the
//! SQLite example's large objects, and the error cases compared with
//! PostgreSQL 15's answers to the same bytes.

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
use sqlite_server::{DbLocation, SqliteServer};

const LO_CREAT: u32 = 957;
const LO_OPEN: u32 = 952;
const LO_CLOSE: u32 = 953;
const LOREAD: u32 = 954;
const LOWRITE: u32 = 955;
const LO_LSEEK64: u32 = 3170;
const LO_UNLINK: u32 = 964;
const INV_READ_WRITE: i32 = 0x6_0000;

/// An argument: (format code, value).
type Arg<'a> = (i16, Option<&'a [u8]>);

/// A FunctionCall with one format code per argument.
fn function_call(oid: u32, args: &[Arg<'_>], result_format: i16) -> Vec<u8> {
    let mut b = oid.to_be_bytes().to_vec();
    b.extend_from_slice(&(args.len() as i16).to_be_bytes());
    for (f, _) in args {
        b.extend_from_slice(&f.to_be_bytes());
    }
    b.extend_from_slice(&(args.len() as i16).to_be_bytes());
    for (_, v) in args {
        match v {
            None => b.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(v) => {
                b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                b.extend_from_slice(v);
            }
        }
    }
    b.extend_from_slice(&result_format.to_be_bytes());
    message(b'F', &b)
}

fn query(sql: &str) -> Vec<u8> {
    let mut b = sql.as_bytes().to_vec();
    b.push(0);
    message(b'Q', &b)
}

async fn connect(addr: SocketAddr) -> RawClient {
    let mut c = RawClient::connect(addr).await;
    c.send(&startup_packet(
        3,
        0,
        &[("user", "postgres"), ("database", "postgres")],
    ))
    .await;
    c.read_until(b'Z').await;
    c
}

/// Sends `bytes` and reads up to ReadyForQuery.
async fn exchange(c: &mut RawClient, bytes: &[u8]) -> Vec<RawMessage> {
    c.send(bytes).await;
    c.read_until(b'Z').await
}

/// Messages as "tag[:SQLSTATE]" plus the ReadyForQuery status, ignoring
/// notices and parameter reports: what must match PostgreSQL.
fn shape(msgs: &[RawMessage]) -> Vec<String> {
    msgs.iter()
        .filter(|m| m.tag != b'N' && m.tag != b'S')
        .map(|m| match m.tag {
            b'E' => format!("E:{}", m.sqlstate().unwrap_or_default()),
            b'Z' => format!("Z:{}", m.body[0] as char),
            b'V' => "V".to_owned(),
            t => (t as char).to_string(),
        })
        .collect()
}

fn value(msgs: &[RawMessage]) -> Option<Vec<u8>> {
    let v = msgs
        .iter()
        .find(|m| m.tag == b'V')
        .expect("FunctionCallResponse");
    let len = i32::from_be_bytes(v.body[..4].try_into().unwrap());
    (len >= 0).then(|| v.body[4..4 + len as usize].to_vec())
}

fn sqlite_server() -> TestServer<SqliteServer> {
    TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    )
}

#[tokio::test]
async fn large_object_calls_in_binary_and_text() {
    let s = sqlite_server();
    let mut c = connect(s.addr).await;
    exchange(&mut c, &query("BEGIN")).await;
    let m = exchange(
        &mut c,
        &function_call(LO_CREAT, &[(1, Some(&INV_READ_WRITE.to_be_bytes()))], 1),
    )
    .await;
    assert_eq!(shape(&m), ["V", "Z:T"]);
    let oid = u32::from_be_bytes(value(&m).unwrap().try_into().unwrap());
    assert!(oid >= 16384, "{oid}");

    // Text arguments and a text result.
    let oid_text = oid.to_string();
    let mode_text = INV_READ_WRITE.to_string();
    let m = exchange(
        &mut c,
        &function_call(
            LO_OPEN,
            &[
                (0, Some(oid_text.as_bytes())),
                (0, Some(mode_text.as_bytes())),
            ],
            0,
        ),
    )
    .await;
    assert_eq!(shape(&m), ["V", "Z:T"]);
    let fd: i32 = String::from_utf8(value(&m).unwrap())
        .unwrap()
        .parse()
        .unwrap();

    let fd_bin = fd.to_be_bytes();
    let m = exchange(
        &mut c,
        &function_call(
            LOWRITE,
            &[(1, Some(&fd_bin)), (1, Some(b"hello, world"))],
            1,
        ),
    )
    .await;
    assert_eq!(value(&m).unwrap(), 12i32.to_be_bytes());
    let m = exchange(
        &mut c,
        &function_call(
            LO_LSEEK64,
            &[
                (1, Some(&fd_bin)),
                (1, Some(&7i64.to_be_bytes())),
                (1, Some(&0i32.to_be_bytes())),
            ],
            1,
        ),
    )
    .await;
    assert_eq!(value(&m).unwrap(), 7i64.to_be_bytes());
    // bytea in text: hex.
    let m = exchange(
        &mut c,
        &function_call(
            LOREAD,
            &[(1, Some(&fd_bin)), (1, Some(&100i32.to_be_bytes()))],
            0,
        ),
    )
    .await;
    assert_eq!(value(&m).unwrap(), b"\\x776f726c64");
    let m = exchange(&mut c, &function_call(LO_CLOSE, &[(1, Some(&fd_bin))], 1)).await;
    assert_eq!(value(&m).unwrap(), 0i32.to_be_bytes());
    // A closed descriptor: 42704, the block fails, then 25P02.
    let m = exchange(&mut c, &function_call(LO_CLOSE, &[(1, Some(&fd_bin))], 1)).await;
    assert_eq!(shape(&m), ["E:42704", "Z:E"]);
    let m = exchange(
        &mut c,
        &function_call(LO_UNLINK, &[(1, Some(&oid.to_be_bytes()))], 1),
    )
    .await;
    assert_eq!(shape(&m), ["E:25P02", "Z:E"]);
    exchange(&mut c, &query("ROLLBACK")).await;
    // The object was created in the rolled-back block: gone.
    let m = exchange(
        &mut c,
        &function_call(LO_UNLINK, &[(1, Some(&oid.to_be_bytes()))], 1),
    )
    .await;
    assert_eq!(shape(&m), ["E:42704", "Z:I"]);
}

#[tokio::test]
async fn refused_without_a_handler() {
    // The scripted engine serves no function calls (the default).
    let s = TestServer::start(
        common::scripted::Scripted::default(),
        ServerConfig::default(),
    );
    let mut c = connect(s.addr).await;
    let m = exchange(
        &mut c,
        &function_call(LO_CREAT, &[(1, Some(&0i32.to_be_bytes()))], 1),
    )
    .await;
    assert_eq!(shape(&m), ["E:0A000", "Z:I"]);
    let m = exchange(&mut c, &query("SELECT 1")).await;
    assert_eq!(shape(&m), ["T", "D", "C", "Z:I"]);
}

/// Error cases whose answers must be PostgreSQL's, byte sequence by byte
/// sequence: (what, bytes).
fn error_cases() -> Vec<(&'static str, Vec<u8>)> {
    let fd = 0i32.to_be_bytes();
    let mut truncated = function_call(LO_CLOSE, &[(1, Some(&fd))], 1);
    // Declare 2 values but send 1: the body ends early; fix the length.
    let at = 5 + 4 + 2 + 2;
    truncated[at..at + 2].copy_from_slice(&2i16.to_be_bytes());
    let mut trailing = function_call(LO_CLOSE, &[(1, Some(&fd))], 1);
    trailing.extend_from_slice(&[0, 0]);
    let len = (trailing.len() - 1) as u32;
    trailing[1..5].copy_from_slice(&len.to_be_bytes());
    let mut negative_count = message(b'F', &[0, 0, 3, 189, 0, 0, 0xff, 0xfe, 0, 1]);
    negative_count.truncate(negative_count.len());
    // Two format codes for three arguments.
    let mut formats = LO_LSEEK64.to_be_bytes().to_vec();
    formats.extend_from_slice(&[0, 2, 0, 1, 0, 1, 0, 3]);
    for v in [&fd[..], &0i64.to_be_bytes()[..], &fd[..]] {
        formats.extend_from_slice(&(v.len() as i32).to_be_bytes());
        formats.extend_from_slice(v);
    }
    formats.extend_from_slice(&[0, 1]);
    vec![
        ("unknown OID", function_call(1, &[], 1)),
        (
            "too many arguments",
            function_call(LO_CLOSE, &[(1, Some(&fd)), (1, Some(&fd))], 1),
        ),
        ("format count mismatch", message(b'F', &formats)),
        (
            "bad format code",
            function_call(LO_CLOSE, &[(7, Some(&fd))], 1),
        ),
        (
            "bad result format",
            function_call(LO_CLOSE, &[(1, Some(&fd))], 5),
        ),
        ("truncated body", truncated),
        ("trailing bytes", trailing),
        ("negative format count", negative_count),
        (
            "bad binary int4",
            function_call(LO_CLOSE, &[(1, Some(&[1, 2, 3]))], 1),
        ),
        (
            "long binary int4",
            function_call(LO_CLOSE, &[(1, Some(&[1, 2, 3, 4, 5]))], 1),
        ),
    ]
}

/// Runs every error case on a fresh session of `addr`, then checks the
/// session still works; returns the shapes.
async fn run_error_cases(addr: SocketAddr) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut c = connect(addr).await;
    for (what, bytes) in error_cases() {
        let m = exchange(&mut c, &bytes).await;
        out.push((what.to_owned(), shape(&m)));
        let m = exchange(&mut c, &query("SELECT 1")).await;
        assert_eq!(shape(&m), ["T", "D", "C", "Z:I"], "after {what}");
    }
    // In a failed block: 25P02 (checked before the arguments).
    exchange(&mut c, &query("BEGIN")).await;
    let m = exchange(&mut c, &query("SELECT * FROM no_such_table")).await;
    out.push(("error in block".to_owned(), shape(&m)));
    let m = exchange(
        &mut c,
        &function_call(LO_CLOSE, &[(1, Some(&0i32.to_be_bytes()))], 1),
    )
    .await;
    out.push(("call in failed block".to_owned(), shape(&m)));
    let m = exchange(&mut c, &query("ROLLBACK")).await;
    out.push(("rollback".to_owned(), shape(&m)));
    // After an extended-protocol error, a FunctionCall (even malformed) is
    // skipped until Sync.
    let mut bytes = message(b'P', b"\0SELEC nonsense\0\0\0");
    bytes.extend(error_cases().remove(5).1); // the truncated body
    bytes.extend(message(b'S', b""));
    let m = exchange(&mut c, &bytes).await;
    out.push(("skipped until Sync".to_owned(), shape(&m)));
    out
}

#[tokio::test]
async fn errors_match_postgresql() {
    let s = sqlite_server();
    let ours = run_error_cases(s.addr).await;
    let expected: Vec<(&str, Vec<&str>)> = vec![
        ("unknown OID", vec!["E:42883", "Z:I"]),
        ("too many arguments", vec!["E:08P01", "Z:I"]),
        ("format count mismatch", vec!["E:08P01", "Z:I"]),
        ("bad format code", vec!["E:22023", "Z:I"]),
        // PostgreSQL checks the result format after the call, which fails.
        ("bad result format", vec!["E:42704", "Z:I"]),
        ("truncated body", vec!["E:08P01", "Z:I"]),
        ("trailing bytes", vec!["E:08P01", "Z:I"]),
        ("negative format count", vec!["E:08P01", "Z:I"]),
        ("bad binary int4", vec!["E:08P01", "Z:I"]),
        ("long binary int4", vec!["E:22P03", "Z:I"]),
        ("error in block", vec!["E:42P01", "Z:E"]),
        ("call in failed block", vec!["E:25P02", "Z:E"]),
        ("rollback", vec!["C", "Z:I"]),
        ("skipped until Sync", vec!["E:42601", "Z:I"]),
    ];
    let got: Vec<(&str, Vec<&str>)> = ours
        .iter()
        .map(|(w, s)| (w.as_str(), s.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(got, expected);

    match postgres::Postgres::start("function-call", "") {
        Err(why) => println!("SKIPPED comparison with PostgreSQL: {why}"),
        Ok(pg) => {
            let theirs = run_error_cases(pg.addr()).await;
            assert_eq!(
                ours, theirs,
                "PostgreSQL answers the same bytes differently"
            );
        }
    }
}
