//! Property tests: messages in the wrong phase of the protocol. Typed
//! messages during startup, startup packets after it, password messages
//! outside authentication, COPY messages outside COPY, other messages
//! inside COPY, Terminate anywhere. Each gets the right ErrorResponse or a
//! clean close, never a panic or a hang, and a bystander session opened
//! before them keeps working throughout.
//!
//! Case counts are small so `cargo test` stays fast; `PROPTEST_CASES=2000`
//! runs more.

mod common;

use std::sync::Arc;

use common::scripted::Scripted;
use common::*;
use pgwire::server::ServerConfig;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Everything a property runs against: one server, one runtime, and a
/// bystander session that must keep working.
struct Bench {
    rt: tokio::runtime::Runtime,
    server: TestServer<Scripted>,
    bystander: std::sync::Mutex<Option<RawClient>>,
}

impl Bench {
    fn new() -> Arc<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let server = TestServer::start(Scripted::default(), ServerConfig::default());
        let bystander = rt.block_on(RawClient::startup(server.addr));
        Arc::new(Bench {
            rt,
            server,
            bystander: std::sync::Mutex::new(Some(bystander)),
        })
    }

    /// Runs `cases` cases of `strategy` through `test`, each followed by a
    /// query on the bystander session.
    fn check<S: Strategy>(
        &self,
        cases: u32,
        strategy: S,
        test: impl AsyncFn(std::net::SocketAddr, S::Value) -> Result<(), TestCaseError>,
    ) where
        S::Value: Clone,
    {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases);
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let addr = self.server.addr;
        let result = runner.run(&strategy, |value| {
            self.rt.block_on(async {
                test(addr, value).await?;
                // Taken out of the lock: no guard is held across the await.
                let mut bystander = self.bystander.lock().unwrap().take().unwrap();
                let answer = select(&mut bystander, 5).await;
                *self.bystander.lock().unwrap() = Some(bystander);
                prop_assert_eq!(answer, vec![5]);
                Ok(())
            })
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        // A new session works too.
        self.rt.block_on(async {
            let mut c = RawClient::startup(addr).await;
            assert_eq!(select(&mut c, 6).await, vec![6]);
        });
    }
}

/// Runs `select n` and returns the values of its rows.
async fn select(c: &mut RawClient, n: i32) -> Vec<i32> {
    c.send(&query(&format!("select {n}"))).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "TDCZ", "{msgs:?}");
    values(&msgs)
}

fn query(sql: &str) -> Vec<u8> {
    let mut body = sql.as_bytes().to_vec();
    body.push(0);
    message(b'Q', &body)
}

/// The int4 text values of the DataRows in `msgs`.
fn values(msgs: &[RawMessage]) -> Vec<i32> {
    msgs.iter()
        .filter(|m| m.tag == b'D')
        .map(|m| {
            let text = std::str::from_utf8(&m.body[6..]).unwrap();
            text.parse().unwrap()
        })
        .collect()
}

/// Reads everything until the server closes (panics after 10 s without a
/// message: a hang).
async fn read_to_close(c: &mut RawClient) -> Vec<RawMessage> {
    let mut out = Vec::new();
    while let Some(m) = c.read_message().await {
        out.push(m);
    }
    out
}

/// A string without NUL, as the protocol's strings are.
fn cstring() -> impl Strategy<Value = Vec<u8>> {
    vec(1u8..=255, 0..24).prop_map(|mut s| {
        s.push(0);
        s
    })
}

/// A string without NUL in valid UTF-8.
fn utf8_cstring() -> impl Strategy<Value = Vec<u8>> {
    "[^\\x00]{0,16}".prop_map(|s| {
        let mut b = s.into_bytes();
        b.push(0);
        b
    })
}

const FRONTEND_TAGS: &[u8] = b"QPBDECSHdcfFXp";

#[test]
fn typed_messages_during_startup_are_refused_silently() {
    // A type byte read as the first byte of a startup packet's length is
    // at least 0x42 << 24: far past the 10,000-byte maximum, so the
    // connection is closed without a word, as PostgreSQL does.
    let bench = Bench::new();
    let strategy = (
        proptest::sample::select(FRONTEND_TAGS),
        vec(any::<u8>(), 0..64),
    );
    bench.check(48, strategy, async |addr, (tag, body)| {
        let mut c = RawClient::connect(addr).await;
        c.send(&message(tag, &body)).await;
        let got = read_to_close(&mut c).await;
        prop_assert!(got.is_empty(), "answered {got:?}");
        Ok(())
    });
}

/// A startup-phase packet: StartupMessage, SSLRequest, GSSENCRequest or
/// CancelRequest.
fn startup_phase_packet() -> impl Strategy<Value = Vec<u8>> {
    let params = vec(("[a-z_]{1,10}", "[^\\x00]{0,10}"), 0..4);
    prop_oneof![
        params.prop_map(|p| {
            let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            startup_packet(3, 0, &p)
        }),
        Just([8u32.to_be_bytes(), 80_877_103u32.to_be_bytes()].concat()),
        Just([8u32.to_be_bytes(), 80_877_104u32.to_be_bytes()].concat()),
        any::<(i32, u32)>().prop_map(|(pid, key)| {
            [
                16u32.to_be_bytes(),
                80_877_102u32.to_be_bytes(),
                pid.to_be_bytes().map(|b| b),
                key.to_be_bytes(),
            ]
            .concat()
        }),
    ]
}

/// Sends `before` queries, then `bad`, then more queries: the queries
/// before are answered, `bad` gets FATAL 08P01, and nothing follows.
async fn fatal_after_queries(
    addr: std::net::SocketAddr,
    before: &[i32],
    bad: &[u8],
) -> Result<(), TestCaseError> {
    let mut c = RawClient::startup(addr).await;
    let mut bytes = Vec::new();
    for n in before {
        bytes.extend(query(&format!("select {n}")));
    }
    bytes.extend_from_slice(bad);
    bytes.extend(query("select 999"));
    c.send(&bytes).await;
    let got = read_to_close(&mut c).await;
    let (last, answers) = got.split_last().expect("some answer");
    prop_assert_eq!(values(answers), before.to_vec());
    prop_assert_eq!(tags(answers), "TDCZ".repeat(before.len()));
    prop_assert_eq!(last.tag, b'E');
    prop_assert_eq!(last.field(b'S'), Some("FATAL".to_owned()));
    prop_assert_eq!(last.sqlstate(), Some("08P01".to_owned()));
    Ok(())
}

#[test]
fn startup_packets_after_startup_are_fatal() {
    let bench = Bench::new();
    let strategy = (vec(any::<i32>(), 0..4), startup_phase_packet());
    bench.check(48, strategy, async |addr, (before, packet)| {
        fatal_after_queries(addr, &before, &packet).await
    });
}

#[test]
fn password_messages_outside_authentication_are_fatal() {
    let bench = Bench::new();
    let body = prop_oneof![
        // A password, a SASL initial response, anything.
        utf8_cstring(),
        cstring(),
        vec(any::<u8>(), 0..48),
    ];
    let strategy = (vec(any::<i32>(), 0..4), body);
    bench.check(64, strategy, async |addr, (before, body)| {
        fatal_after_queries(addr, &before, &message(b'p', &body)).await
    });
}

/// A well-formed CopyData, CopyDone or CopyFail.
fn copy_message() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..48).prop_map(|d| message(b'd', &d)),
        Just(message(b'c', b"")),
        utf8_cstring().prop_map(|m| message(b'f', &m)),
    ]
}

#[test]
fn copy_messages_outside_copy_are_ignored() {
    // Leftovers of a COPY that failed: PostgreSQL ignores them, and so
    // does the server; the queries around them are answered as usual.
    let bench = Bench::new();
    let step = prop_oneof![
        any::<i32>().prop_map(|n| (Some(n), query(&format!("select {n}")))),
        copy_message().prop_map(|m| (None, m)),
    ];
    bench.check(64, vec(step, 1..12), async |addr, steps| {
        let mut c = RawClient::startup(addr).await;
        let bytes: Vec<u8> = steps.iter().flat_map(|(_, m)| m.clone()).collect();
        let expected: Vec<i32> = steps.iter().filter_map(|(n, _)| *n).collect();
        c.send(&bytes).await;
        c.send(&query("select 777")).await;
        let mut got = Vec::new();
        for _ in 0..=expected.len() {
            got.extend(c.read_until(b'Z').await);
        }
        prop_assert_eq!(tags(&got), "TDCZ".repeat(expected.len() + 1));
        let mut want = expected;
        want.push(777);
        prop_assert_eq!(values(&got), want);
        Ok(())
    });
}

/// A well-formed message that has no place in COPY FROM STDIN.
fn non_copy_message() -> impl Strategy<Value = (u8, Vec<u8>)> {
    prop_oneof![
        utf8_cstring().prop_map(|q| (b'Q', message(b'Q', &q))),
        (utf8_cstring(), utf8_cstring())
            .prop_map(|(n, q)| (b'P', message(b'P', &[n, q, vec![0, 0]].concat()))),
        Just((b'B', message(b'B', b"\0\0\0\0\0\0\0\0"))),
        utf8_cstring().prop_map(|n| (b'D', message(b'D', &[&b"S"[..], &n].concat()))),
        Just((b'E', message(b'E', b"\0\0\0\0\0"))),
        utf8_cstring().prop_map(|n| (b'C', message(b'C', &[&b"P"[..], &n].concat()))),
        Just((b'F', message(b'F', b"\0\0\0\x01\0\0\0\0\0\0"))),
    ]
}

#[test]
fn other_messages_inside_copy_end_it_with_08p01() {
    // The COPY fails with "unexpected message type 0x.. during COPY from
    // stdin" (ERROR 08P01), the offending message is dropped, and the
    // session goes on. Flush and Sync are ignored inside COPY.
    let bench = Bench::new();
    let filler = vec(
        prop_oneof![
            vec(any::<u8>(), 0..32).prop_map(|d| message(b'd', &d)),
            Just(message(b'H', b"")),
            Just(message(b'S', b"")),
        ],
        0..4,
    );
    bench.check(
        64,
        (filler, non_copy_message()),
        async |addr, (filler, (tag, msg))| {
            let mut c = RawClient::startup(addr).await;
            c.send(&query("copy_in")).await;
            prop_assert_eq!(c.read_message().await.map(|m| m.tag), Some(b'G'));
            let bytes = [filler.concat(), msg].concat();
            c.send(&bytes).await;
            let got = c.read_until(b'Z').await;
            prop_assert_eq!(tags(&got), "EZ");
            prop_assert_eq!(got[0].sqlstate(), Some("08P01".to_owned()));
            prop_assert_eq!(got[0].field(b'S'), Some("ERROR".to_owned()));
            let text = format!("unexpected message type 0x{tag:02X} during COPY from stdin");
            prop_assert_eq!(got[0].field(b'M'), Some(text));
            prop_assert_eq!(got[1].body.clone(), b"I".to_vec());
            prop_assert_eq!(select(&mut c, 8).await, vec![8]);
            Ok(())
        },
    );
}

/// One unit of a well-behaved conversation: its messages and the value its
/// row carries (if it returns one), with the index of the message after
/// which the row has been produced.
#[derive(Debug, Clone)]
struct Step {
    messages: Vec<Vec<u8>>,
    value: Option<(usize, i32)>,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        any::<i32>().prop_map(|n| Step {
            messages: vec![query(&format!("select {n}"))],
            value: Some((0, n)),
        }),
        any::<i32>().prop_map(|n| {
            let mut parse = b"\0".to_vec();
            parse.extend(format!("select {n}").into_bytes());
            parse.extend_from_slice(b"\0\0\0");
            Step {
                messages: vec![
                    message(b'P', &parse),
                    message(b'B', b"\0\0\0\0\0\0\0\0"),
                    message(b'E', b"\0\0\0\0\0"),
                    message(b'S', b""),
                ],
                value: Some((2, n)),
            }
        }),
        vec(vec(any::<u8>(), 0..16), 0..3).prop_map(|chunks| {
            let mut messages = vec![query("copy_in")];
            messages.extend(chunks.iter().map(|c| message(b'd', c)));
            messages.push(message(b'c', b""));
            Step {
                messages,
                value: None,
            }
        }),
        Just(Step {
            messages: vec![query("begin"), query("notice"), query("commit")],
            value: None,
        }),
    ]
}

#[test]
fn terminate_anywhere_closes_cleanly() {
    // Terminate between any two messages, even in the middle of an
    // extended-query sequence or of a COPY: the server stops there and
    // closes, with no error; what came before was answered.
    let bench = Bench::new();
    let strategy = (vec(step(), 1..6), any::<prop::sample::Index>());
    bench.check(64, strategy, async |addr, (steps, at)| {
        let all: Vec<(usize, usize)> = steps
            .iter()
            .enumerate()
            .flat_map(|(i, s)| (0..s.messages.len()).map(move |j| (i, j)))
            .collect();
        let cut = at.index(all.len() + 1);
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for &(i, j) in &all[..cut] {
            bytes.extend_from_slice(&steps[i].messages[j]);
            if let Some((k, n)) = steps[i].value {
                if k == j {
                    expected.push(n);
                }
            }
        }
        bytes.extend(message(b'X', b""));
        // Anything after Terminate is never read.
        bytes.extend(query("select 999"));
        let mut c = RawClient::startup(addr).await;
        c.send(&bytes).await;
        let got = read_to_close(&mut c).await;
        prop_assert!(got.iter().all(|m| m.tag != b'E'), "an error: {got:?}");
        prop_assert_eq!(values(&got), expected);
        Ok(())
    });
}
