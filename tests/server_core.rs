//! The connection state machine driven by real clients and by raw bytes,
//! against the scripted engine of `common::scripted`.

mod common;

use common::scripted::Scripted;
use common::*;
use pgwire::server::ServerConfig;

fn server() -> TestServer<Scripted> {
    TestServer::start(Scripted::default(), ServerConfig::default())
}

#[tokio::test]
async fn simple_query_results_and_tags() {
    let s = server();
    let client = s.connect().await;
    let msgs = client.simple_query("select 7; series 3").await.unwrap();
    use tokio_postgres::SimpleQueryMessage::*;
    let mut rows = Vec::new();
    let mut tags = Vec::new();
    for m in &msgs {
        match m {
            Row(r) => rows.push(r.get(0).unwrap().to_owned()),
            CommandComplete(n) => tags.push(*n),
            _ => {}
        }
    }
    assert_eq!(rows, ["7", "1", "2", "3"]);
    assert_eq!(tags, [1, 3]);
}

#[tokio::test]
async fn error_stops_the_rest_and_connection_survives() {
    let s = server();
    let client = s.connect().await;
    let err = client
        .simple_query("select 1; fail; select 2")
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::SYNTAX_ERROR)
    );
    let rows = client.simple_query("select 5").await.unwrap();
    assert!(
        matches!(&rows[1], tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("5"))
    );
}

#[tokio::test]
async fn transaction_status_in_ready_for_query() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    let status = |msgs: &[RawMessage]| msgs.last().unwrap().body[0];
    c.send(&message(b'Q', b"begin\0")).await;
    assert_eq!(status(&c.read_until(b'Z').await), b'T');
    c.send(&message(b'Q', b"fail\0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "EZ");
    assert_eq!(status(&msgs), b'E');
    c.send(&message(b'Q', b"rollback\0")).await;
    assert_eq!(status(&c.read_until(b'Z').await), b'I');
}

#[tokio::test]
async fn empty_query_gets_empty_query_response() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    c.send(&message(b'Q', b"  \0")).await;
    assert_eq!(tags(&c.read_until(b'Z').await), "IZ");
}

#[tokio::test]
async fn notice_from_handler_precedes_completion() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    c.send(&message(b'Q', b"notice\0")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "NCZ");
    assert_eq!(
        msgs[0].field(b'M').as_deref(),
        Some("hello from the handler")
    );
}

#[tokio::test]
async fn fatal_error_closes() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    c.send(&message(b'Q', b"fatal\0")).await;
    let m = c.read_message().await.unwrap();
    assert_eq!(m.tag, b'E');
    assert_eq!(m.field(b'S').as_deref(), Some("FATAL"));
    assert!(c.is_closed().await);
}

#[tokio::test]
async fn connect_can_refuse_the_session() {
    let s = server();
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_packet(
        3,
        0,
        &[("user", "u"), ("database", "missing")],
    ))
    .await;
    let msgs = c.read_until(b'E').await;
    assert_eq!(tags(&msgs), "RE");
    assert_eq!(msgs[1].sqlstate().as_deref(), Some("3D000"));
    assert!(c.is_closed().await);
}

#[tokio::test]
async fn extended_query_with_params_and_statement_reuse() {
    let s = server();
    let client = s.connect().await;
    let stmt = client.prepare("echo $1").await.unwrap();
    assert_eq!(stmt.params(), &[tokio_postgres::types::Type::INT4]);
    for i in [1, -5, i32::MAX] {
        let row = client.query_one(&stmt, &[&i]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), i);
    }
    let row = client.query_one(&stmt, &[&None::<i32>]).await.unwrap();
    assert_eq!(row.get::<_, Option<i32>>(0), None);
}

#[tokio::test]
async fn portal_with_row_limit_inside_transaction() {
    let s = server();
    let mut client = s.connect().await;
    let tx = client.transaction().await.unwrap();
    let stmt = tx.prepare("series 10").await.unwrap();
    let portal = tx.bind(&stmt, &[]).await.unwrap();
    let mut seen = Vec::new();
    loop {
        let rows = tx.query_portal(&portal, 3).await.unwrap();
        if rows.is_empty() {
            break;
        }
        seen.extend(rows.iter().map(|r| r.get::<_, i64>(0)));
    }
    assert_eq!(seen, (1..=10).collect::<Vec<_>>());
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn extended_errors_skip_to_sync() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    // Parse fails; Bind/Execute are discarded; Sync answers.
    let mut pipeline = message(b'P', b"\0bad\0\0\0");
    pipeline.extend(message(b'B', b"\0\0\0\0\0\0\0\0"));
    pipeline.extend(message(b'E', b"\0\0\0\0\0"));
    pipeline.extend(message(b'S', b""));
    // Then a good one in the same write.
    pipeline.extend(message(b'P', b"\0select 3\0\0\0"));
    pipeline.extend(message(b'B', b"\0\0\0\0\0\0\0\0"));
    pipeline.extend(message(b'E', b"\0\0\0\0\0"));
    pipeline.extend(message(b'S', b""));
    c.send(&pipeline).await;
    let first = c.read_until(b'Z').await;
    assert_eq!(tags(&first), "EZ");
    assert_eq!(first[0].sqlstate().as_deref(), Some("42601"));
    let second = c.read_until(b'Z').await;
    assert_eq!(tags(&second), "12DCZ");
}

#[tokio::test]
async fn describe_unknown_statement_and_close_missing_portal() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    let mut p = message(b'C', b"Pnope\0");
    p.extend(message(b'S', b""));
    c.send(&p).await;
    assert_eq!(tags(&c.read_until(b'Z').await), "3Z");
    let mut p = message(b'D', b"Snope\0");
    p.extend(message(b'S', b""));
    c.send(&p).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "EZ");
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("26000"));
    let mut p = message(b'E', b"nope\0\0\0\0\0");
    p.extend(message(b'S', b""));
    c.send(&p).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("34000"));
}

#[tokio::test]
async fn flush_without_sync_sends_pending_output() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    let mut p = message(b'P', b"s1\0select 9\0\0\0");
    p.extend(message(b'H', b""));
    c.send(&p).await;
    assert_eq!(c.read_message().await.unwrap().tag, b'1');
    let mut p = message(b'D', b"Ss1\0");
    p.extend(message(b'H', b""));
    c.send(&p).await;
    assert_eq!(c.read_message().await.unwrap().tag, b't');
    assert_eq!(c.read_message().await.unwrap().tag, b'T');
}

#[tokio::test]
async fn suspended_portal_resumes_with_raw_messages() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    let mut p = message(b'Q', b"begin\0");
    p.extend(message(b'P', b"\0series 5\0\0\0"));
    p.extend(message(b'B', b"cur\0\0\0\0\0\0\0\0"));
    p.extend(message(b'E', b"cur\0\0\0\0\x02"));
    p.extend(message(b'E', b"cur\0\0\0\0\x02"));
    p.extend(message(b'E', b"cur\0\0\0\0\x02"));
    p.extend(message(b'S', b""));
    c.send(&p).await;
    c.read_until(b'Z').await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "12DDsDDsDCZ");
    assert_eq!(msgs.last().unwrap().body, b"T");
}

#[tokio::test]
async fn cancel_request_stops_a_running_query() {
    let s = server();
    let client = s.connect().await;
    let token = client.cancel_token();
    let q = tokio::spawn(async move { client.simple_query("wait").await });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    token.cancel_query(tokio_postgres::NoTls).await.unwrap();
    let err = q.await.unwrap().unwrap_err();
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::QUERY_CANCELED)
    );
}

#[tokio::test]
async fn garbage_startup_is_refused_without_panic() {
    let s = server();
    for bytes in [
        &b"\x00\x00\x00\x02xx"[..],
        b"GET / HTTP/1.1\r\n\r\n",
        b"\x00\x00\x00\x08\x00\x02\x00\x00",
    ] {
        let mut c = RawClient::connect(s.addr).await;
        c.send(bytes).await;
        assert!(c.is_closed().await);
    }
    // The server still works.
    let client = s.connect().await;
    client.simple_query("select 1").await.unwrap();
}

#[tokio::test]
async fn protocol_3_2_and_negotiation() {
    let s = server();
    // 3.2: a 32-byte cancel key.
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_packet(3, 2, &[("user", "u")])).await;
    let msgs = c.read_until(b'Z').await;
    let key = msgs.iter().find(|m| m.tag == b'K').unwrap();
    assert_eq!(key.body.len(), 4 + 32);
    // 3.9999 with a _pq_ option: NegotiateProtocolVersion first, 3.2.
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_packet(
        3,
        9999,
        &[("user", "u"), ("_pq_.test_protocol_negotiation", "x")],
    ))
    .await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(msgs[0].tag, b'v');
    assert_eq!(&msgs[0].body[..4], &0x0003_0002u32.to_be_bytes());
    assert_eq!(&msgs[0].body[4..8], &1u32.to_be_bytes());
    assert_eq!(&msgs[0].body[8..], b"_pq_.test_protocol_negotiation\0");
    assert_eq!(msgs[1].tag, b'R');
    // Major version 2: FATAL 0A000.
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_packet(2, 0, &[])).await;
    let m = c.read_message().await.unwrap();
    assert_eq!(m.sqlstate().as_deref(), Some("0A000"));
    assert!(c.is_closed().await);
}

/// A CancelRequest packet for `pid` and `key` (any key length: 3.2).
fn cancel_packet(pid: &[u8], key: &[u8]) -> Vec<u8> {
    let mut p = ((12 + key.len()) as u32).to_be_bytes().to_vec();
    p.extend_from_slice(&80_877_102u32.to_be_bytes());
    p.extend_from_slice(pid);
    p.extend_from_slice(key);
    p
}

#[tokio::test]
async fn cancel_with_protocol_3_2_keys() {
    let s = server();
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_packet(3, 2, &[("user", "u")])).await;
    let msgs = c.read_until(b'Z').await;
    let k = msgs.iter().find(|m| m.tag == b'K').unwrap().body.clone();
    let (pid, key) = k.split_at(4);
    assert_eq!(key.len(), 32);
    c.send(&message(b'Q', b"wait\0")).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    // A wrong key is ignored silently (and gets no reply).
    let mut wrong = key.to_vec();
    wrong[31] ^= 1;
    let mut other = RawClient::connect(s.addr).await;
    other.send(&cancel_packet(pid, &wrong)).await;
    assert!(other.is_closed().await);
    // A truncated key (3.0 length for a 3.2 session) is wrong too.
    let mut other = RawClient::connect(s.addr).await;
    other.send(&cancel_packet(pid, &key[..4])).await;
    assert!(other.is_closed().await);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    // The right one cancels.
    let mut other = RawClient::connect(s.addr).await;
    other.send(&cancel_packet(pid, key)).await;
    assert!(other.is_closed().await);
    let msgs = c.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "EZ");
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("57014"));
    // The session is still usable, and a late cancel does not hit the
    // next query.
    let mut other = RawClient::connect(s.addr).await;
    other.send(&cancel_packet(pid, key)).await;
    assert!(other.is_closed().await);
    c.send(&message(b'Q', b"sleep 50\0")).await;
    assert_eq!(tags(&c.read_until(b'Z').await), "CZ");
}

#[tokio::test]
async fn cancel_stops_row_streaming() {
    let s = server();
    let mut c = RawClient::connect(s.addr).await;
    c.send(&startup_packet(3, 0, &[("user", "u")])).await;
    let msgs = c.read_until(b'Z').await;
    let k = msgs.iter().find(|m| m.tag == b'K').unwrap().body.clone();
    // Ask for far more rows than the client will read: the server blocks
    // on a full socket, and a cancel must still end the query.
    c.send(&message(b'Q', b"series 100000000\0")).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut other = RawClient::connect(s.addr).await;
    other.send(&cancel_packet(&k[..4], &k[4..])).await;
    let mut seen_error = None;
    let mut rows = 0u64;
    loop {
        let m = c.read_message().await.expect("connection closed");
        match m.tag {
            b'D' => rows += 1,
            b'E' => seen_error = m.sqlstate(),
            b'Z' => break,
            _ => {}
        }
    }
    assert_eq!(seen_error.as_deref(), Some("57014"));
    assert!(rows < 100_000_000);
}

#[tokio::test]
async fn startup_packet_with_bad_layout_gets_08p01() {
    let s = server();
    let mut c = RawClient::connect(s.addr).await;
    // Version 3.0, then "user\0u" without the value's NUL or the final NUL.
    let mut p = 15u32.to_be_bytes().to_vec();
    p.extend_from_slice(&196_608u32.to_be_bytes());
    p.extend_from_slice(b"user\0u\0");
    c.send(&p).await;
    let m = c.read_message().await.unwrap();
    assert_eq!(m.sqlstate().as_deref(), Some("08P01"));
    assert_eq!(m.field(b'S').as_deref(), Some("FATAL"));
    assert!(c.is_closed().await);
}

async fn run(c: &mut RawClient, parts: Vec<Vec<u8>>) -> Vec<RawMessage> {
    c.send(&parts.concat()).await;
    c.read_until(b'Z').await
}

/// Sequences whose answers were recorded from PostgreSQL 15 with the same
/// messages (`select generate_series(1,5)` in place of `series 5`).
#[tokio::test]
async fn portal_lifetimes_match_postgres() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    let p = |q: &str| {
        let mut b = b"\0".to_vec();
        b.extend_from_slice(q.as_bytes());
        b.extend_from_slice(b"\0\0\0");
        message(b'P', &b)
    };
    let bind = |portal: &str, stmt: &str| {
        let mut b = portal.as_bytes().to_vec();
        b.push(0);
        b.extend_from_slice(stmt.as_bytes());
        b.extend_from_slice(b"\0\0\0\0\0\0\0");
        message(b'B', &b)
    };
    let exec = execute_message;
    let sync = message(b'S', b"");
    let tags_and_commands = |msgs: &[RawMessage]| -> String {
        msgs.iter()
            .map(|m| match m.tag {
                b'C' => format!("C:{}", String::from_utf8_lossy(&m.body[..m.body.len() - 1])),
                t => (t as char).to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    // Suspension: CommandComplete counts the rows of the last Execute only;
    // executing a finished portal gives SELECT 0.
    run(&mut c, vec![message(b'Q', b"begin\0")]).await;
    let msgs = run(
        &mut c,
        vec![
            p("series 5"),
            bind("cur", ""),
            exec("cur", 2),
            exec("cur", 2),
            exec("cur", 2),
            exec("cur", 2),
            sync.clone(),
        ],
    )
    .await;
    assert_eq!(
        tags_and_commands(&msgs),
        "1 2 D D s D D s D C:SELECT 1 C:SELECT 0 Z"
    );
    // A limit equal to the row count still suspends.
    let msgs = run(
        &mut c,
        vec![
            p("series 2"),
            bind("q", ""),
            exec("q", 2),
            exec("q", 2),
            sync.clone(),
        ],
    )
    .await;
    assert_eq!(tags_and_commands(&msgs), "1 2 D D s C:SELECT 0 Z");
    // Closing the statement leaves the portal usable.
    let mut named = message(b'P', b"s5\0select 1\0\0\0");
    named.extend(bind("p5", "s5"));
    let msgs = run(
        &mut c,
        vec![named, message(b'C', b"Ss5\0"), exec("p5", 0), sync.clone()],
    )
    .await;
    assert_eq!(tags_and_commands(&msgs), "1 2 3 D C:SELECT 1 Z");
    run(&mut c, vec![message(b'Q', b"rollback\0")]).await;
    // Outside a transaction the unnamed portal dies at Sync.
    run(&mut c, vec![p("select 1"), bind("", ""), sync.clone()]).await;
    let msgs = run(&mut c, vec![exec("", 0), sync.clone()]).await;
    assert_eq!(tags(&msgs), "EZ");
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("34000"));
}

#[tokio::test]
async fn bind_with_the_wrong_parameter_count() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    // echo $1 takes one parameter; bind none. PostgreSQL 15 answers the same
    // text at Bind: `bind message supplies 0 parameters, but prepared
    // statement "" requires 1`.
    let msgs = run(
        &mut c,
        vec![
            message(b'P', b"\0echo $1\0\0\0"),
            message(b'B', b"\0\0\0\0\0\0\0\0"),
            message(b'E', b"\0\0\0\0\0"),
            message(b'S', b""),
        ],
    )
    .await;
    assert_eq!(tags(&msgs), "1EZ");
    assert_eq!(msgs[1].sqlstate().as_deref(), Some("08P01"));
    assert_eq!(
        msgs[1].field(b'M').as_deref(),
        Some("bind message supplies 0 parameters, but prepared statement \"\" requires 1")
    );
}

/// The unnamed statement parsed again: what drivers do with every query.
/// The new text and parameter types are the ones used, and a portal still
/// bound to the old statement keeps running the old one.
#[tokio::test]
async fn unnamed_statement_parsed_again_is_the_new_one() {
    let s = server();
    let mut c = RawClient::startup(s.addr).await;
    let parse = parse_message;
    // Bind `portal` to the unnamed statement with one text parameter (or
    // none), text results.
    let bind = |portal: &str, param: Option<&str>| {
        let mut b = portal.as_bytes().to_vec();
        b.extend_from_slice(b"\0\0\0\0");
        match param {
            Some(v) => {
                b.extend_from_slice(&1u16.to_be_bytes());
                b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                b.extend_from_slice(v.as_bytes());
            }
            None => b.extend_from_slice(&0u16.to_be_bytes()),
        }
        b.extend_from_slice(&0u16.to_be_bytes());
        message(b'B', &b)
    };
    let exec = execute_message;
    let sync = message(b'S', b"");
    let data = |msgs: &[RawMessage]| -> Vec<String> {
        msgs.iter()
            .filter(|m| m.tag == b'D')
            .map(|m| String::from_utf8_lossy(&m.body[6..]).into_owned())
            .collect()
    };

    // Declared int4: a text value that is not a number fails at Bind.
    let msgs = run(
        &mut c,
        vec![parse("echo $1", &[23]), bind("", Some("x")), sync.clone()],
    )
    .await;
    assert_eq!(tags(&msgs), "1EZ");
    assert_eq!(msgs[1].sqlstate().as_deref(), Some("22P02"));
    // The same text declared as text: Bind takes the value now.
    let msgs = run(
        &mut c,
        vec![parse("echo $1", &[25]), bind("", Some("x")), sync.clone()],
    )
    .await;
    assert_eq!(tags(&msgs), "12Z");
    // Again as int4, with a number: the statement runs.
    let msgs = run(
        &mut c,
        vec![
            parse("echo $1", &[23]),
            bind("", Some("7")),
            exec("", 0),
            sync.clone(),
        ],
    )
    .await;
    assert_eq!(tags(&msgs), "12DCZ");
    assert_eq!(data(&msgs), ["7"]);
    // Other text: the other statement.
    let msgs = run(
        &mut c,
        vec![
            parse("series 2", &[]),
            bind("", None),
            exec("", 0),
            sync.clone(),
        ],
    )
    .await;
    assert_eq!(tags(&msgs), "12DDCZ");
    assert_eq!(data(&msgs), ["1", "2"]);

    // In a transaction a named portal holds the old unnamed statement
    // while a new one is parsed and run.
    run(&mut c, vec![message(b'Q', b"begin\0")]).await;
    let msgs = run(
        &mut c,
        vec![
            parse("series 3", &[]),
            bind("cur", None),
            exec("cur", 1),
            parse("echo $1", &[23]),
            bind("", Some("42")),
            exec("", 0),
            exec("cur", 0),
            sync.clone(),
        ],
    )
    .await;
    assert_eq!(tags(&msgs), "12Ds12DCDDCZ");
    assert_eq!(data(&msgs), ["1", "42", "2", "3"]);
    run(&mut c, vec![message(b'Q', b"rollback\0")]).await;
}
