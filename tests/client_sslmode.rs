//! `sslmode=prefer` and `allow` as libpq: prefer asks for TLS and goes on in
//! plaintext when the server has no TLS or the handshake fails; allow
//! connects in plaintext and retries with TLS when the server rejects a
//! plaintext session. `sslrootcert=system`. Checked with PostgreSQL's own
//! view of the session (`pg_stat_ssl`). Prints `SKIPPED` without the
//! PostgreSQL server binaries.

#[path = "common/pg_cluster.rs"]
mod pg_cluster;

use pg_cluster::PgCluster;
use pgwire::client::{Client, Config, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn connect(port: u16, user: &str, extra: &str) -> Result<Client, Error> {
    let password = PgCluster::password_of(user);
    let conninfo = format!(
        "host=127.0.0.1 port={port} user={user} dbname=postgres password='{password}' {extra}"
    );
    Client::connect(&Config::parse(&conninfo)?).await
}

/// Whether PostgreSQL sees the session as TLS.
async fn server_says_ssl(c: &mut Client) -> bool {
    let r = c
        .simple_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .await
        .unwrap();
    match r[0].rows[0].get_text(0).unwrap() {
        Some("t") => true,
        Some("f") => false,
        other => panic!("pg_stat_ssl.ssl = {other:?}"),
    }
}

async fn create_users(pg: &PgCluster) {
    let mut adm = Client::connect(
        &Config::parse(&format!(
            "host={} port={} user=postgres dbname=postgres",
            pg.socket_dir().display(),
            pg.port
        ))
        .unwrap(),
    )
    .await
    .expect("connect over the Unix socket");
    adm.batch_execute(&PgCluster::setup_sql()).await.unwrap();
}

/// A server whose first connection answers the SSLRequest with 'S' and
/// then sends bytes that are no TLS handshake; later connections are
/// forwarded to `upstream`.
async fn broken_tls_then_forward(upstream: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((mut sock, _)) = listener.accept().await {
            if std::mem::take(&mut first) {
                let mut request = [0u8; 8];
                if sock.read_exact(&mut request).await.is_ok() {
                    let _ = sock.write_all(b"Snot a TLS server hello").await;
                }
                continue;
            }
            tokio::spawn(async move {
                if let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)).await {
                    let _ = tokio::io::copy_bidirectional(&mut sock, &mut up).await;
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_and_allow_against_postgres_15() {
    let with_ssl = match PgCluster::start("sslmode-on", &[]) {
        Ok(pg) => pg,
        Err(why) => {
            println!("SKIPPED prefer_and_allow_against_postgres_15: {why}");
            return;
        }
    };
    let without_ssl = PgCluster::start("sslmode-off", &["ssl = off"]).expect("second cluster");
    create_users(&with_ssl).await;
    create_users(&without_ssl).await;

    // Server with TLS: prefer (also the default) gets TLS, allow plaintext.
    for extra in ["sslmode=prefer", ""] {
        let mut c = connect(with_ssl.port, "scram_user", extra).await.unwrap();
        assert!(c.is_tls(), "{extra}");
        assert!(server_says_ssl(&mut c).await, "{extra}");
    }
    let mut c = connect(with_ssl.port, "scram_user", "sslmode=allow")
        .await
        .unwrap();
    assert!(!c.is_tls());
    assert!(!server_says_ssl(&mut c).await);

    // allow: pg_hba rejects tls_user without TLS (hostnossl ... reject),
    // so the second attempt is over TLS and succeeds, with SCRAM.
    let mut c = connect(with_ssl.port, "tls_user", "sslmode=allow")
        .await
        .unwrap();
    assert!(c.is_tls());
    assert!(server_says_ssl(&mut c).await);
    // disable makes no second attempt.
    let e = connect(with_ssl.port, "tls_user", "sslmode=disable")
        .await
        .unwrap_err();
    assert_eq!(e.sqlstate(), "28000", "{e}");
    // A wrong password fails both attempts: the error is still the server's.
    let e = Client::connect(
        &Config::parse(&format!(
            "host=127.0.0.1 port={} user=tls_user dbname=postgres password=wrong sslmode=allow",
            with_ssl.port
        ))
        .unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.sqlstate(), "28P01", "{e}");

    // Server without TLS: prefer and allow connect in plaintext, require
    // does not connect.
    for extra in ["sslmode=prefer", "", "sslmode=allow"] {
        let mut c = connect(without_ssl.port, "scram_user", extra)
            .await
            .unwrap_or_else(|e| panic!("{extra}: {e}"));
        assert!(!c.is_tls(), "{extra}");
        assert!(!server_says_ssl(&mut c).await, "{extra}");
    }
    let e = connect(without_ssl.port, "scram_user", "sslmode=require")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e}");
    // A query cancel of a session that fell back to plaintext works.
    let mut c = connect(without_ssl.port, "scram_user", "").await.unwrap();
    let token = c.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        token.cancel().await
    });
    let e = c.simple_query("SELECT pg_sleep(10)").await.unwrap_err();
    assert_eq!(e.sqlstate(), "57014", "{e}");
    canceller.await.unwrap().unwrap();

    // prefer: the server says 'S' but the handshake fails: a new
    // connection in plaintext (through a forwarder to the cluster without
    // TLS); require gives up.
    let broken = broken_tls_then_forward(without_ssl.port).await;
    let mut c = connect(broken, "scram_user", "sslmode=prefer")
        .await
        .unwrap();
    assert!(!c.is_tls());
    assert!(!server_says_ssl(&mut c).await);
    let broken = broken_tls_then_forward(without_ssl.port).await;
    let e = connect(broken, "scram_user", "sslmode=require")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e}");

    // sslrootcert=system: verify-full by default, weaker modes refused.
    let e = connect(
        with_ssl.port,
        "scram_user",
        "sslmode=require sslrootcert=system",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, Error::Config(_)) && e.to_string().contains("verify-full"),
        "{e}"
    );
    let c = Config::parse("host=localhost sslrootcert=system").unwrap();
    assert_eq!(c.ssl_mode, pgwire::client::SslMode::VerifyFull);
    // The test CA is not among the system's CAs: the chain check fails.
    let e = connect(
        with_ssl.port,
        "scram_user",
        "host=localhost sslrootcert=system",
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e}");
    if std::path::Path::new("/etc/ssl/certs/ca-certificates.crt").is_file() {
        assert!(
            e.to_string().to_lowercase().contains("issuer")
                || e.to_string().to_lowercase().contains("certificate"),
            "{e}"
        );
    }
    // With SSL_CERT_FILE naming the test CA (OpenSSL's variable, which
    // libpq honours too), the system store is that CA and verify-full
    // succeeds. This is the last step of the only test of this binary, so
    // nothing else reads the environment concurrently.
    // SAFETY: no other thread of this process reads or writes the
    // environment while this runs (one test per binary; the runtime's
    // workers are idle).
    unsafe { std::env::set_var("SSL_CERT_FILE", with_ssl.client_ca_file()) };
    let mut c = connect(
        with_ssl.port,
        "scram_user",
        "host=localhost sslrootcert=system",
    )
    .await
    .unwrap();
    assert!(c.is_tls());
    assert!(server_says_ssl(&mut c).await);
}
