//! TLS negotiation with hand-written bytes and a rustls client: SSLRequest
//! answered `S` or `N`, bytes stuffed after SSLRequest (CVE-2021-23214),
//! PostgreSQL 17+ direct TLS with and without ALPN `postgresql`,
//! `require_tls`, SCRAM-SHA-256-PLUS offered only over TLS.

mod common;

use std::sync::Arc;

use common::auth::*;
use common::*;
use pgwire::api::auth::AuthMethod;
use pgwire::server::ServerConfig;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::ServerName;

fn tls_config() -> ServerConfig {
    ServerConfig::default().with_tls(pki().acceptor())
}

fn startup(user: &str) -> Vec<u8> {
    startup_packet(3, 0, &[("user", user), ("database", "test")])
}

async fn tls_connect(
    tcp: TcpStream,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let name = ServerName::try_from("localhost").unwrap();
    TlsConnector::from(config).connect(name, tcp).await
}

#[tokio::test]
async fn ssl_request_is_refused_without_tls() {
    let s = TestServer::start(AuthServer::new(AuthMethod::Trust), ServerConfig::default());
    let mut c = RawClient::connect(s.addr).await;
    c.send(&SSL_REQUEST).await;
    assert_eq!(c.read_byte().await, Some(b'N'));
    // The client may go on in plaintext.
    c.send(&startup("alice")).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(msgs[0].tag, b'R');
}

#[tokio::test]
async fn ssl_request_then_handshake_then_scram_plus_offered() {
    let s = TestServer::start(AuthServer::new(AuthMethod::ScramSha256), tls_config());
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut tcp, &SSL_REQUEST)
        .await
        .unwrap();
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer).await.unwrap();
    assert_eq!(answer[0], b'S');
    let tls = tls_connect(tcp, pki().client_config(&[], false))
        .await
        .unwrap();
    let mut c = Raw::new(tls);
    c.send(&startup("alice")).await;
    let (code, body) = auth_request(&c.read_message().await.unwrap());
    assert_eq!(code, 10);
    // -PLUS first, as PostgreSQL lists it.
    assert_eq!(body, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0");
    // `y`: the client could bind but thinks we cannot; we offered it.
    c.send(&sasl_initial("SCRAM-SHA-256", Some(b"y,,n=,r=abc")))
        .await;
    assert_eq!(
        c.expect_fatal().await,
        (
            "28000".to_owned(),
            "SCRAM channel binding negotiation error".to_owned()
        )
    );
}

#[tokio::test]
async fn bytes_after_ssl_request_are_refused() {
    // CVE-2021-23214: a StartupMessage in the same write as the
    // SSLRequest was never protected by TLS.
    for config in [tls_config(), ServerConfig::default()] {
        let with_tls = config.tls().is_some();
        let s = TestServer::start(AuthServer::new(AuthMethod::Trust), config);
        let mut c = RawClient::connect(s.addr).await;
        let mut stuffed = SSL_REQUEST.to_vec();
        stuffed.extend_from_slice(&startup("alice"));
        c.send(&stuffed).await;
        assert_eq!(
            c.read_byte().await,
            Some(if with_tls { b'S' } else { b'N' })
        );
        let e = c.read_message().await.expect("an error");
        assert_eq!(e.tag, b'E');
        assert_eq!(e.field(b'S').as_deref(), Some("FATAL"));
        assert_eq!(e.sqlstate().as_deref(), Some("08P01"));
        assert_eq!(
            e.field(b'M').as_deref(),
            Some("received unencrypted data after SSL request")
        );
        assert!(c.is_closed().await);
    }
}

#[tokio::test]
async fn require_tls_refuses_a_plaintext_startup() {
    let s = TestServer::start(
        AuthServer::new(AuthMethod::Trust),
        tls_config().with_require_tls(true),
    );
    let mut c = Raw::new(TcpStream::connect(s.addr).await.unwrap());
    c.send(&startup("alice")).await;
    let (code, _) = c.expect_fatal().await;
    assert_eq!(code, "28000");
}

#[tokio::test]
async fn direct_tls_with_alpn() {
    let s = TestServer::start(AuthServer::new(AuthMethod::Cleartext), tls_config());
    let tcp = TcpStream::connect(s.addr).await.unwrap();
    let tls = tls_connect(tcp, pki().client_config(&[b"postgresql"], false))
        .await
        .unwrap();
    let mut c = Raw::new(tls);
    c.send(&startup("carol")).await;
    assert_eq!(auth_request(&c.read_message().await.unwrap()).0, 3);
    c.send(&message(b'p', b"carol-pw\0")).await;
    c.read_until(b'Z').await;
    c.send(&message(b'Q', b"select\0")).await;
    let msgs = c.read_until(b'Z').await;
    let row = msgs.iter().find(|m| m.tag == b'D').expect("a row");
    let text = String::from_utf8_lossy(&row.body[6..]).into_owned();
    assert_eq!(text, "carol tls=on direct=true peer_certs=0");
}

#[tokio::test]
async fn direct_tls_without_alpn_is_refused() {
    let s = TestServer::start(AuthServer::new(AuthMethod::Trust), tls_config());
    let tcp = TcpStream::connect(s.addr).await.unwrap();
    // The handshake may complete; the server then closes without a word,
    // as PostgreSQL 17 does.
    if let Ok(tls) = tls_connect(tcp, pki().client_config(&[], false)).await {
        let mut c = Raw::new(tls);
        c.send(&startup("alice")).await;
        assert!(c.read_message().await.is_none(), "the server answered");
    }
    // Another protocol's ALPN fails the handshake itself.
    let tcp = TcpStream::connect(s.addr).await.unwrap();
    assert!(
        tls_connect(tcp, pki().client_config(&[b"h2"], false))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn direct_tls_without_tls_configured_is_closed() {
    let s = TestServer::start(AuthServer::new(AuthMethod::Trust), ServerConfig::default());
    let tcp = TcpStream::connect(s.addr).await.unwrap();
    assert!(
        tls_connect(tcp, pki().client_config(&[b"postgresql"], false))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn client_certificate_reaches_the_handler() {
    let s = TestServer::start(
        AuthServer::new(AuthMethod::Trust),
        ServerConfig::default().with_tls(pki().acceptor_with_client_ca(true)),
    );
    let tcp = TcpStream::connect(s.addr).await.unwrap();
    let tls = tls_connect(tcp, pki().client_config(&[b"postgresql"], true))
        .await
        .unwrap();
    let mut c = Raw::new(tls);
    c.send(&startup("alice")).await;
    c.read_until(b'Z').await;
    c.send(&message(b'Q', b"select\0")).await;
    let msgs = c.read_until(b'Z').await;
    let row = msgs.iter().find(|m| m.tag == b'D').expect("a row");
    assert!(String::from_utf8_lossy(&row.body).ends_with("peer_certs=1"));
}

#[test]
fn end_point_hash_of_the_test_certificate() {
    // ECDSA P-256 with SHA-256: the hash is SHA-256 of the DER certificate.
    let pki = pki();
    let expected = ring::digest::digest(&ring::digest::SHA256, pki.server_der.as_ref());
    assert_eq!(pki.acceptor().server_end_point(), Some(expected.as_ref()));
    assert_eq!(
        pgwire::server::tls::tls_server_end_point(pki.server_der.as_ref()).as_deref(),
        Some(expected.as_ref())
    );
    assert_eq!(
        pgwire::server::tls::tls_server_end_point(b"\x30\x03\x02\x01\x00"),
        None
    );
    assert_eq!(pgwire::server::tls::tls_server_end_point(b""), None);
}

#[test]
fn end_point_hash_follows_the_signature_algorithm() {
    // RFC 5929: SHA-384 for an ECDSA-with-SHA384 certificate; no hash (so
    // no channel binding, as in PostgreSQL) for Ed25519.
    let cert = |alg: &'static rcgen::SignatureAlgorithm| {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap()
    };
    let p384 = cert(&rcgen::PKCS_ECDSA_P384_SHA384);
    let expected = ring::digest::digest(&ring::digest::SHA384, p384.der().as_ref());
    assert_eq!(
        pgwire::server::tls::tls_server_end_point(p384.der()).as_deref(),
        Some(expected.as_ref())
    );
    let ed = cert(&rcgen::PKCS_ED25519);
    assert_eq!(pgwire::server::tls::tls_server_end_point(ed.der()), None);
}

/// GSSENCRequest.
const GSSENC_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30];

#[tokio::test]
async fn gssenc_refused_then_ssl_accepted() {
    // What libpq does with gssencmode=prefer and sslmode=prefer.
    let s = TestServer::start(AuthServer::new(AuthMethod::Trust), tls_config());
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let mut answer = [0u8; 1];
    tokio::io::AsyncWriteExt::write_all(&mut tcp, &GSSENC_REQUEST)
        .await
        .unwrap();
    tcp.read_exact(&mut answer).await.unwrap();
    assert_eq!(answer[0], b'N');
    tokio::io::AsyncWriteExt::write_all(&mut tcp, &SSL_REQUEST)
        .await
        .unwrap();
    tcp.read_exact(&mut answer).await.unwrap();
    assert_eq!(answer[0], b'S');
    let tls = tls_connect(tcp, pki().client_config(&[], false))
        .await
        .unwrap();
    let mut c = Raw::new(tls);
    c.send(&startup("alice")).await;
    c.read_until(b'Z').await;
    c.send(&message(b'Q', b"select\0")).await;
    let msgs = c.read_until(b'Z').await;
    let row = msgs.iter().find(|m| m.tag == b'D').expect("a row");
    assert!(String::from_utf8_lossy(&row.body).ends_with("alice tls=on direct=false peer_certs=0"));
}

#[tokio::test]
async fn plaintext_after_s_fails_the_handshake_and_closes() {
    let s = TestServer::start(AuthServer::new(AuthMethod::Trust), tls_config());
    let mut c = RawClient::connect(s.addr).await;
    c.send(&SSL_REQUEST).await;
    assert_eq!(c.read_byte().await, Some(b'S'));
    // A client that ignores the `S` and speaks plaintext.
    c.send(&startup("alice")).await;
    // The server's TLS layer answers with an alert at most, never a
    // protocol message, and closes.
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        c.stream.read_to_end(&mut rest),
    )
    .await
    .expect("the server closes");
    assert!(
        rest.is_empty() || rest[0] == 0x15,
        "unexpected bytes {rest:?}"
    );
}
