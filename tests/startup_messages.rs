//! What a session opens with, byte for byte: every ParameterStatus in
//! order (the configured values, then the client's), BackendKeyData with a
//! fresh key of the protocol's size, ReadyForQuery; and nothing of it
//! repeated later. Raw bytes against the scripted engine.

mod common;

use std::collections::HashSet;

use common::scripted::Scripted;
use common::*;
use pgwire::server::ServerConfig;

/// Connects with `params` (protocol 3.`minor`) and returns the messages up
/// to ReadyForQuery, with the client.
async fn open(
    addr: std::net::SocketAddr,
    minor: u16,
    params: &[(&str, &str)],
) -> (RawClient, Vec<RawMessage>) {
    let mut c = RawClient::connect(addr).await;
    c.send(&startup_packet(3, minor, params)).await;
    let msgs = c.read_until(b'Z').await;
    (c, msgs)
}

/// The ParameterStatus messages as (name, value), in order.
fn statuses(msgs: &[RawMessage]) -> Vec<(String, String)> {
    msgs.iter()
        .filter(|m| m.tag == b'S')
        .map(|m| {
            let mut parts = m.body.split(|&b| b == 0);
            let name = String::from_utf8(parts.next().unwrap().to_vec()).unwrap();
            let value = String::from_utf8(parts.next().unwrap().to_vec()).unwrap();
            (name, value)
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The defaults of `ServerConfig`, in their order.
const DEFAULTS: [(&str, &str); 12] = [
    ("client_encoding", "UTF8"),
    ("DateStyle", "ISO, MDY"),
    ("default_transaction_read_only", "off"),
    ("in_hot_standby", "off"),
    ("integer_datetimes", "on"),
    ("IntervalStyle", "postgres"),
    ("is_superuser", "on"),
    ("scram_iterations", "4096"),
    ("server_encoding", "UTF8"),
    ("server_version", "18.0"),
    ("standard_conforming_strings", "on"),
    ("TimeZone", "UTC"),
];

#[tokio::test]
async fn defaults_then_client_identity_then_key_then_ready() {
    let s = TestServer::start(Scripted::default(), ServerConfig::default());
    let (mut c, msgs) = open(
        s.addr,
        0,
        &[
            ("user", "alice"),
            ("database", "db"),
            ("application_name", "an application name longer than inline"),
        ],
    )
    .await;
    let mut expected = DEFAULTS.to_vec();
    expected.push(("application_name", "an application name longer than inline"));
    expected.push(("session_authorization", "alice"));
    assert_eq!(statuses(&msgs), pairs(&expected));
    // AuthenticationOk first; BackendKeyData and ReadyForQuery last.
    let t = tags(&msgs);
    assert_eq!(t, format!("R{}KZ", "S".repeat(expected.len())));
    assert_eq!(msgs[0].body, [0, 0, 0, 0]);
    assert_eq!(msgs[msgs.len() - 1].body, b"I");
    // Nothing of the startup is delivered again with the next answer.
    c.send(&message(b'Q', b"select 1\0")).await;
    assert_eq!(tags(&c.read_until(b'Z').await), "TDCZ");
}

#[tokio::test]
async fn client_settings_replace_values_in_place_and_new_ones_follow() {
    let config = ServerConfig::default()
        .with_parameter("server_version", "16.4 (bench)")
        .with_parameter("search_path", "public");
    let s = TestServer::start(Scripted::default(), config);
    let (_c, msgs) = open(
        s.addr,
        0,
        &[
            ("user", "bob"),
            ("client_encoding", "unicode"),
            ("DateStyle", "german"),
            ("timezone", "europe/berlin"),
            (
                "options",
                "-c intervalstyle=iso_8601 --extra-float-digits=1",
            ),
            ("application_name", "psql"),
        ],
    )
    .await;
    let expected = [
        ("client_encoding", "UTF8"),
        ("DateStyle", "German, DMY"),
        ("default_transaction_read_only", "off"),
        ("in_hot_standby", "off"),
        ("integer_datetimes", "on"),
        ("IntervalStyle", "iso_8601"),
        ("is_superuser", "on"),
        ("scram_iterations", "4096"),
        ("server_encoding", "UTF8"),
        ("server_version", "16.4 (bench)"),
        ("standard_conforming_strings", "on"),
        ("TimeZone", "Europe/Berlin"),
        ("search_path", "public"),
        ("application_name", "psql"),
        ("session_authorization", "bob"),
    ];
    assert_eq!(statuses(&msgs), pairs(&expected));
    // Sessions do not share changes: the next one has the defaults again.
    let (_d, msgs) = open(s.addr, 0, &[("user", "carol")]).await;
    let mut expected = DEFAULTS.to_vec();
    expected[9] = ("server_version", "16.4 (bench)");
    expected.push(("search_path", "public"));
    expected.push(("application_name", ""));
    expected.push(("session_authorization", "carol"));
    assert_eq!(statuses(&msgs), pairs(&expected));
}

#[tokio::test]
async fn a_refused_startup_setting_is_fatal() {
    let s = TestServer::start(Scripted::default(), ServerConfig::default());
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_packet(
        3,
        0,
        &[("user", "dave"), ("TimeZone", "Nowhere/Land")],
    ))
    .await;
    let msgs = c.read_until(b'E').await;
    let e = msgs.last().unwrap();
    assert_eq!(e.sqlstate().as_deref(), Some("22023"));
    assert_eq!(e.field(b'S').as_deref(), Some("FATAL"));
    assert!(c.is_closed().await);
}

#[tokio::test]
async fn backend_keys_are_fresh_and_sized_by_protocol_version() {
    let s = TestServer::start(Scripted::default(), ServerConfig::default());
    let mut keys = HashSet::new();
    let mut pids = HashSet::new();
    // Enough connections to use up more than one batch of random bytes.
    for i in 0..80 {
        let minor = if i % 2 == 0 { 0 } else { 2 };
        let (_c, msgs) = open(s.addr, minor, &[("user", "erin")]).await;
        let k = msgs.iter().find(|m| m.tag == b'K').expect("BackendKeyData");
        let (pid, key) = k.body.split_at(4);
        assert_eq!(key.len(), if minor == 0 { 4 } else { 32 });
        assert!(key.iter().any(|&b| b != 0), "an all-zero key");
        assert!(keys.insert(key.to_vec()), "a key was given twice");
        assert!(pids.insert(pid.to_vec()), "a process ID was given twice");
    }
}
