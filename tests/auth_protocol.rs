//! Authentication exchanges written byte by byte: what the server asks
//! for, and the FATAL errors for wrong and malformed answers (SQLSTATEs
//! and texts as PostgreSQL 15 sends them; OAUTHBEARER as PostgreSQL 18
//! documents it).

mod common;

use common::auth::*;
use common::*;
use pgwire::api::auth::{AuthMethod, OAuthConfig};
use pgwire::server::ServerConfig;
use tokio::net::TcpStream;

async fn start(addr: std::net::SocketAddr, user: &str) -> Raw<TcpStream> {
    let mut c = Raw::new(TcpStream::connect(addr).await.expect("connect"));
    c.send(&startup_packet(
        3,
        0,
        &[("user", user), ("database", "test")],
    ))
    .await;
    c
}

fn password_message(p: &[u8]) -> Vec<u8> {
    let mut body = p.to_vec();
    body.push(0);
    message(b'p', &body)
}

fn mechanisms(body: &[u8]) -> Vec<String> {
    body.split(|&b| b == 0)
        .filter(|m| !m.is_empty())
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect()
}

#[tokio::test]
async fn scram_is_offered_without_plus_on_plaintext() {
    let s = TestServer::start(
        AuthServer::new(AuthMethod::ScramSha256),
        ServerConfig::default(),
    );
    let mut c = start(s.addr, "alice").await;
    let (code, body) = auth_request(&c.read_message().await.unwrap());
    assert_eq!(code, 10);
    assert_eq!(mechanisms(&body), ["SCRAM-SHA-256"]);
    // Asking for channel binding anyway is refused.
    c.send(&sasl_initial(
        "SCRAM-SHA-256-PLUS",
        Some(b"p=tls-server-end-point,,n=,r=abc"),
    ))
    .await;
    let (code, msg) = c.expect_fatal().await;
    assert_eq!(code, "08P01");
    assert_eq!(
        msg,
        "client selected an invalid SASL authentication mechanism"
    );
}

#[tokio::test]
async fn malformed_sasl_messages_get_08p01() {
    let s = TestServer::start(
        AuthServer::new(AuthMethod::ScramSha256),
        ServerConfig::default(),
    );
    let cases: &[(&[u8], &str)] = &[
        (b"x,,n=,r=abc", "malformed SCRAM message"),
        (b"", "malformed SCRAM message"),
        (
            b"p=tls-server-end-point,,n=,r=abc",
            "malformed SCRAM message",
        ),
        (b"n,,n=,r=a b", "non-printable characters in SCRAM nonce"),
    ];
    for (data, text) in cases {
        let mut c = start(s.addr, "alice").await;
        c.read_message().await.unwrap();
        c.send(&sasl_initial("SCRAM-SHA-256", Some(data))).await;
        assert_eq!(
            c.expect_fatal().await,
            ("08P01".to_owned(), text.to_string())
        );
    }
    // A SASLInitialResponse whose length field overruns the message.
    let mut c = start(s.addr, "alice").await;
    c.read_message().await.unwrap();
    let mut body = b"SCRAM-SHA-256\0".to_vec();
    body.extend_from_slice(&100i32.to_be_bytes());
    body.extend_from_slice(b"n,,");
    c.send(&message(b'p', &body)).await;
    assert_eq!(c.expect_fatal().await.0, "08P01");
    // Another message type instead of the SASL response.
    let mut c = start(s.addr, "alice").await;
    c.read_message().await.unwrap();
    c.send(&sasl_initial("SCRAM-SHA-256", Some(b"n,,n=,r=abc")))
        .await;
    let (code, _) = auth_request(&c.read_message().await.unwrap());
    assert_eq!(code, 11);
    c.send(&message(b'Q', b"select 1\0")).await;
    assert_eq!(
        c.expect_fatal().await,
        (
            "08P01".to_owned(),
            "expected SASL response, got message type 81".to_owned()
        )
    );
}

#[tokio::test]
async fn scram_without_initial_data_asks_for_it() {
    // PostgreSQL answers a SASLInitialResponse of length -1 with an empty
    // SASLContinue and takes the next message as the client-first-message.
    let s = TestServer::start(
        AuthServer::new(AuthMethod::ScramSha256),
        ServerConfig::default(),
    );
    let mut c = start(s.addr, "alice").await;
    c.read_message().await.unwrap();
    c.send(&sasl_initial("SCRAM-SHA-256", None)).await;
    assert_eq!(auth_request(&c.read_message().await.unwrap()), (11, vec![]));
    c.send(&message(b'p', b"n,,n=,r=abc")).await;
    let (code, body) = auth_request(&c.read_message().await.unwrap());
    assert_eq!(code, 11);
    assert!(
        body.starts_with(b"r=abc"),
        "{}",
        String::from_utf8_lossy(&body)
    );
}

#[tokio::test]
async fn unknown_user_is_indistinguishable_until_the_end() {
    let s = TestServer::start(
        AuthServer::new(AuthMethod::ScramSha256),
        ServerConfig::default(),
    );
    let first = |user: &'static str| {
        let addr = s.addr;
        async move {
            let mut c = start(addr, user).await;
            c.read_message().await.unwrap();
            c.send(&sasl_initial("SCRAM-SHA-256", Some(b"n,,n=,r=abc")))
                .await;
            let (_, body) = auth_request(&c.read_message().await.unwrap());
            let text = String::from_utf8(body).unwrap();
            // r=<nonce>,s=<salt>,i=<iterations>
            let parts: Vec<&str> = text.split(',').collect();
            assert_eq!(parts.len(), 3, "{text}");
            assert!(
                parts[0].starts_with("r=abc") && parts[0].len() == 5 + 24,
                "{text}"
            );
            (c, parts[1].to_owned(), parts[2].to_owned())
        }
    };
    let (_, salt1, iter1) = first("nobody").await;
    let (mut c, salt2, iter2) = first("nobody").await;
    assert_eq!(salt1, salt2, "an unknown user's salt must be stable");
    assert_eq!(iter1, iter2);
    assert_eq!(iter1, "i=4096");
    assert_eq!(salt1.len(), 2 + 24, "16-byte salt, as PostgreSQL's");
    c.send(&message(
        b'p',
        b"c=biws,r=abc,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ))
    .await;
    // The nonce does not match: a protocol error, before the user matters.
    assert_eq!(c.expect_fatal().await.0, "08P01");
}

#[tokio::test]
async fn md5_request_salt_and_scram_fallback() {
    let s = TestServer::start(AuthServer::new(AuthMethod::Md5), ServerConfig::default());
    // bob (MD5 hash): AuthenticationMD5Password with a 4-byte salt, which
    // changes per connection.
    let mut salts = Vec::new();
    for _ in 0..2 {
        let mut c = start(s.addr, "bob").await;
        let (code, salt) = auth_request(&c.read_message().await.unwrap());
        assert_eq!(code, 5);
        assert_eq!(salt.len(), 4);
        salts.push(salt);
        // The password in clear instead of the hash: refused.
        c.send(&password_message(b"bob-pw")).await;
        assert_eq!(
            c.expect_fatal().await,
            (
                "28P01".to_owned(),
                "password authentication failed for user \"bob\"".to_owned()
            )
        );
    }
    assert_ne!(salts[0], salts[1]);
    // alice has a SCRAM verifier: SCRAM is asked for instead.
    let mut c = start(s.addr, "alice").await;
    assert_eq!(auth_request(&c.read_message().await.unwrap()).0, 10);
    // An unknown user still gets the MD5 request.
    let mut c = start(s.addr, "nobody").await;
    assert_eq!(auth_request(&c.read_message().await.unwrap()).0, 5);
    c.send(&password_message(b"md5000000000000000000000000000000000"))
        .await;
    assert_eq!(c.expect_fatal().await.0, "28P01");
}

#[tokio::test]
async fn cleartext_errors() {
    let s = TestServer::start(
        AuthServer::new(AuthMethod::Cleartext),
        ServerConfig::default(),
    );
    let mut c = start(s.addr, "carol").await;
    assert_eq!(auth_request(&c.read_message().await.unwrap()).0, 3);
    c.send(&password_message(b"")).await;
    assert_eq!(
        c.expect_fatal().await,
        (
            "28P01".to_owned(),
            "empty password returned by client".to_owned()
        )
    );
    let mut c = start(s.addr, "carol").await;
    c.read_message().await.unwrap();
    c.send(&message(b'Q', b"select 1\0")).await;
    assert_eq!(
        c.expect_fatal().await,
        (
            "08P01".to_owned(),
            "expected password response, got message type 81".to_owned()
        )
    );
    // The session starts with the right password.
    let mut c = start(s.addr, "carol").await;
    c.read_message().await.unwrap();
    c.send(&password_message(b"carol-pw")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(auth_request(&msgs[0]), (0, vec![]));
}

// ------------------------------------------------------------ OAUTHBEARER

fn oauth_server() -> TestServer<AuthServer> {
    TestServer::start(
        AuthServer::oauth(OAuthConfig::new(
            "https://issuer.example",
            "openid postgres",
        )),
        ServerConfig::default(),
    )
}

const DISCOVERY: &str = r#"{"status":"invalid_token","openid-configuration":"https://issuer.example/.well-known/openid-configuration","scope":"openid postgres"}"#;

async fn oauth_start(addr: std::net::SocketAddr, initial: &[u8]) -> Raw<TcpStream> {
    let mut c = start(addr, "alice").await;
    let (code, body) = auth_request(&c.read_message().await.unwrap());
    assert_eq!(code, 10);
    assert_eq!(mechanisms(&body), ["OAUTHBEARER"]);
    c.send(&sasl_initial("OAUTHBEARER", Some(initial))).await;
    c
}

#[tokio::test]
async fn oauth_valid_token() {
    let s = oauth_server();
    let mut c = oauth_start(s.addr, b"n,,\x01auth=Bearer good-token-for-alice\x01\x01").await;
    let msgs = c.read_until(b'Z').await;
    // No SASLFinal: AuthenticationOk directly.
    assert_eq!(auth_request(&msgs[0]), (0, vec![]));
}

#[tokio::test]
async fn oauth_discovery_and_refused_tokens() {
    let s = oauth_server();
    for initial in [
        &b"n,,\x01auth=\x01\x01"[..],
        b"y,,\x01auth=Bearer good-token-for-bob\x01\x01",
        b"n,,\x01host=db\x01auth=Bearer not a token\x01\x01",
    ] {
        let mut c = oauth_start(s.addr, initial).await;
        let (code, body) = auth_request(&c.read_message().await.unwrap());
        assert_eq!(code, 11);
        assert_eq!(String::from_utf8(body).unwrap(), DISCOVERY);
        c.send(&message(b'p', b"\x01")).await;
        assert_eq!(
            c.expect_fatal().await,
            (
                "28000".to_owned(),
                "OAuth bearer authentication failed for user \"alice\"".to_owned()
            )
        );
    }
}

#[tokio::test]
async fn oauth_protocol_errors() {
    let s = oauth_server();
    // Something other than the kvsep after the discovery document.
    let mut c = oauth_start(s.addr, b"n,,\x01auth=\x01\x01").await;
    c.read_message().await.unwrap();
    c.send(&message(b'p', b"\x01\x01")).await;
    assert_eq!(c.expect_fatal().await.1, "malformed OAUTHBEARER message");
    for initial in [
        &b"p=tls-server-end-point,,\x01auth=\x01\x01"[..],
        b"n,,auth=Bearer x\x01\x01",
        b"n,,\x01auth=Bearer x\x01",
        b"",
    ] {
        let mut c = oauth_start(s.addr, initial).await;
        assert_eq!(
            c.expect_fatal().await,
            (
                "08P01".to_owned(),
                "malformed OAUTHBEARER message".to_owned()
            )
        );
    }
    let mut c = start(s.addr, "alice").await;
    c.read_message().await.unwrap();
    c.send(&sasl_initial("SCRAM-SHA-256", Some(b"n,,n=,r=abc")))
        .await;
    assert_eq!(c.expect_fatal().await.0, "08P01");
}
