//! SCRAM and TLS with other real clients: tokio-postgres (plaintext, and
//! over rustls with channel binding required) and psycopg 3 (SCRAM, and
//! PostgreSQL 17's `sslnegotiation=direct` when its libpq has it).

mod common;

use std::process::Command;

use common::auth::*;
use common::*;
use pgwire::api::auth::AuthMethod;
use pgwire::server::ServerConfig;
use tokio_postgres::config::{ChannelBinding, SslMode};
use tokio_postgres::error::SqlState;

fn config(port: u16, user: &str, password: &str) -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    c.host("127.0.0.1")
        .port(port)
        .user(user)
        .password(password)
        .dbname("test");
    c
}

async fn whoami(client: &tokio_postgres::Client) -> String {
    let rows = client.simple_query("select").await.unwrap();
    match &rows[1] {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).unwrap().to_owned(),
        other => panic!("expected a row, got {other:?}"),
    }
}

#[tokio::test]
async fn tokio_postgres_scram() {
    let s = TestServer::start(
        AuthServer::new(AuthMethod::ScramSha256),
        ServerConfig::default(),
    );
    let (client, conn) = config(s.port(), "alice", "alice-pw")
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    assert_eq!(
        whoami(&client).await,
        "alice tls=off direct=false peer_certs=0"
    );

    for (user, password) in [("alice", "wrong"), ("nobody", "x"), ("bob", "bob-pw")] {
        let err = config(s.port(), user, password)
            .connect(tokio_postgres::NoTls)
            .await
            .err()
            .expect("login should fail");
        let db = err.as_db_error().expect("a server error");
        assert_eq!(db.code(), &SqlState::INVALID_PASSWORD);
        assert_eq!(
            db.message(),
            format!("password authentication failed for user \"{user}\"")
        );
    }
}

#[tokio::test]
async fn tokio_postgres_scram_plus_over_tls() {
    let pki = pki();
    let s = TestServer::start(
        AuthServer::new(AuthMethod::ScramSha256),
        ServerConfig::default().with_tls(pki.acceptor()),
    );
    let tls = RustlsConnect(pki.client_config(&[], false));
    let mut c = config(s.port(), "alice", "alice-pw");
    c.ssl_mode(SslMode::Require)
        .channel_binding(ChannelBinding::Require);
    let (client, conn) = c.connect(tls.clone()).await.unwrap();
    tokio::spawn(conn);
    assert_eq!(
        whoami(&client).await,
        "alice tls=on direct=false peer_certs=0"
    );

    let mut c = config(s.port(), "alice", "wrong");
    c.ssl_mode(SslMode::Require)
        .channel_binding(ChannelBinding::Require);
    let err = c.connect(tls).await.err().expect("login should fail");
    assert_eq!(err.code(), Some(&SqlState::INVALID_PASSWORD));
}

#[tokio::test]
async fn tokio_postgres_md5_and_cleartext() {
    for method in [AuthMethod::Md5, AuthMethod::Cleartext] {
        let s = TestServer::start(AuthServer::new(method), ServerConfig::default());
        for user in ["bob", "carol"] {
            let (client, conn) = config(s.port(), user, password_of(user))
                .connect(tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            assert!(whoami(&client).await.starts_with(user));
        }
        let err = config(s.port(), "bob", "wrong")
            .connect(tokio_postgres::NoTls)
            .await
            .err()
            .expect("login should fail");
        assert_eq!(err.code(), Some(&SqlState::INVALID_PASSWORD));
    }
}

/// Runs a psycopg script with the connection string as argv[1]; returns
/// its stdout, or None (after printing why) when psycopg is missing.
fn psycopg(test: &str, script: &str, conninfo: &str) -> Option<Result<String, String>> {
    let Some(python) = python_with_psycopg() else {
        eprintln!("SKIPPED {test}: python3 with psycopg is not installed");
        return None;
    };
    let out = Command::new(python)
        .args(["-c", script, conninfo])
        .env_remove("PGSSLMODE")
        .output()
        .expect("run python");
    Some(if out.status.success() {
        Ok(stdout(&out).trim().to_owned())
    } else {
        Err(stderr(&out))
    })
}

const QUERY: &str = r#"
import sys, psycopg
with psycopg.connect(sys.argv[1], connect_timeout=10) as conn:
    print(conn.execute("select").fetchone()[0])
"#;

#[test]
fn psycopg_scram_and_tls() {
    let pki = pki();
    let s = TestServer::start(
        AuthServer::new(AuthMethod::ScramSha256),
        ServerConfig::default().with_tls(pki.acceptor()),
    );
    let base = format!("host=127.0.0.1 port={} dbname=test", s.port());
    let Some(out) = psycopg(
        "psycopg_scram_and_tls",
        QUERY,
        &format!("{base} user=alice password=alice-pw sslmode=disable"),
    ) else {
        return;
    };
    assert_eq!(out.unwrap(), "alice tls=off direct=false peer_certs=0");
    let verified = format!(
        "{base} user=carol password=carol-pw sslmode=verify-full sslrootcert={} channel_binding=require",
        pki.path("ca.crt")
    );
    let out = psycopg("psycopg_scram_and_tls", QUERY, &verified).unwrap();
    assert_eq!(out.unwrap(), "carol tls=on direct=false peer_certs=0");
    let wrong = format!("{base} user=alice password=wrong sslmode=require");
    let err = psycopg("psycopg_scram_and_tls", QUERY, &wrong)
        .unwrap()
        .unwrap_err();
    assert!(
        err.contains("password authentication failed for user \"alice\""),
        "{err}"
    );
}

#[test]
fn psycopg_direct_tls() {
    const VERSION: &str = "import psycopg; print(psycopg.pq.version())";
    let Some(version) = psycopg("psycopg_direct_tls", VERSION, "") else {
        return;
    };
    let version: u32 = version.unwrap().parse().unwrap();
    if version < 170000 {
        eprintln!("SKIPPED psycopg_direct_tls: psycopg's libpq is {version}, direct TLS needs 17");
        return;
    }
    let pki = pki();
    let s = TestServer::start(
        AuthServer::new(AuthMethod::ScramSha256),
        ServerConfig::default().with_tls(pki.acceptor()),
    );
    let info = format!(
        "host=localhost port={} dbname=test user=alice password=alice-pw sslmode=verify-full sslrootcert={} sslnegotiation=direct channel_binding=require",
        s.port(),
        pki.path("ca.crt")
    );
    let out = psycopg("psycopg_direct_tls", QUERY, &info).unwrap();
    assert_eq!(out.unwrap(), "alice tls=on direct=true peer_certs=0");
}

#[test]
fn psycopg_oauth_discovery() {
    // libpq 18 speaks OAUTHBEARER: without a token it asks for discovery,
    // checks the issuer in the server's answer against `oauth_issuer`, and
    // then runs a flow (which this wheel's libpq does not ship). Reaching
    // either message shows it read our discovery document.
    const VERSION: &str = "import psycopg; print(psycopg.pq.version())";
    let Some(version) = psycopg("psycopg_oauth_discovery", VERSION, "") else {
        return;
    };
    let version: u32 = version.unwrap().parse().unwrap();
    if version < 180000 {
        eprintln!("SKIPPED psycopg_oauth_discovery: psycopg's libpq is {version}, OAuth needs 18");
        return;
    }
    let s = TestServer::start(
        AuthServer::oauth(pgwire::api::auth::OAuthConfig::new(
            "https://issuer.example",
            "openid",
        )),
        ServerConfig::default(),
    );
    let base = format!(
        "host=127.0.0.1 port={} dbname=test user=alice sslmode=disable oauth_client_id=c",
        s.port()
    );
    let err = psycopg(
        "psycopg_oauth_discovery",
        QUERY,
        &format!("{base} oauth_issuer=https://other.example"),
    )
    .unwrap()
    .unwrap_err();
    assert!(
        err.contains("server's discovery document at https://issuer.example/.well-known/openid-configuration (issuer \"https://issuer.example\") is incompatible with oauth_issuer"),
        "{err}"
    );
    let err = psycopg(
        "psycopg_oauth_discovery",
        QUERY,
        &format!("{base} oauth_issuer=https://issuer.example"),
    )
    .unwrap()
    .unwrap_err();
    // With a flow installed, libpq would now fetch a token from the issuer.
    assert!(
        err.contains("OAuth") && !err.contains("incompatible"),
        "{err}"
    );
}
