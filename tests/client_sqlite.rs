//! `pgwire::client` against the repository's SQLite example server, started
//! in-process: what applies from the PostgreSQL suite (simple, extended
//! and pipelined queries, errors, COPY, LISTEN/NOTIFY), and what
//! PostgreSQL 15 cannot show: direct TLS (`sslnegotiation=direct`) with
//! SCRAM-SHA-256-PLUS and protocol 3.2.

mod common;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::time::Duration;

use common::TestServer;
use common::auth::pki;
use pgwire::client::{Client, Config, Error, Format, TransactionStatus};
use pgwire::messages::ProtocolVersion;
use pgwire::server::ServerConfig;
use sqlite_server::{DbLocation, SqliteServer};

fn server() -> TestServer<SqliteServer> {
    TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    )
}

async fn connect(server: &TestServer<SqliteServer>) -> Client {
    Client::connect(&Config::parse(&server.conn_str("postgres")).unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_against_sqlite() {
    let server = server();
    let mut c = connect(&server).await;
    assert_eq!(c.protocol_version(), ProtocolVersion::V3_2);
    let r = c
        .simple_query("CREATE TABLE t(i int, s text); INSERT INTO t VALUES (1, 'a'), (2, NULL); SELECT i, s FROM t ORDER BY i")
        .await
        .unwrap();
    let tags: Vec<&str> = r.iter().map(|r| r.tag.as_str()).collect();
    assert_eq!(tags, ["CREATE TABLE", "INSERT 0 2", "SELECT 2"]);
    assert_eq!(r[2].rows[0].get_text(1).unwrap(), Some("a"));
    assert_eq!(r[2].rows[1].get_text("s").unwrap(), None);

    let st = c.prepare("SELECT i, s FROM t WHERE i = $1").await.unwrap();
    let rows = c.query(&st, &[&2i32]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<Option<&str>>(1), None);
    let ins = c.prepare("INSERT INTO t VALUES ($1, $2)").await.unwrap();
    assert_eq!(c.execute(&ins, &[&3i32, &"c"]).await.unwrap(), 1);
    let text = c
        .query_stream_with(&st, &[&3i32], Format::Text, 0)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(text.rows[0].get_text(0).unwrap(), Some("3"));

    let mut p = c.pipeline().await.unwrap();
    for i in 1..=3i32 {
        p.query(&st, &[&i]).unwrap();
    }
    let results = p.run().await.unwrap();
    let found: Vec<usize> = results
        .iter()
        .map(|r| r.as_ref().unwrap().rows.len())
        .collect();
    assert_eq!(found, [1, 1, 1]);

    let e = c.simple_query("SELECT * FROM nosuch").await.unwrap_err();
    assert_eq!(e.sqlstate(), "42P01");
    c.batch_execute("BEGIN").await.unwrap();
    assert_eq!(c.transaction_status(), TransactionStatus::InTransaction);
    c.batch_execute("ROLLBACK").await.unwrap();

    let mut w = c.copy_in("COPY t FROM STDIN").await.unwrap();
    for i in 10..1010 {
        w.send(format!("{i}\trow{i}\n").as_bytes()).await.unwrap();
    }
    assert_eq!(w.finish().await.unwrap(), 1000);
    let mut out = c.copy_out("COPY t TO STDOUT").await.unwrap();
    let mut n = 0;
    while let Some(chunk) = out.next().await.unwrap() {
        n += chunk.iter().filter(|&&b| b == b'\n').count();
    }
    assert_eq!(n, 1003);
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_notify_against_sqlite() {
    let server = server();
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    b.batch_execute("LISTEN jobs").await.unwrap();
    a.batch_execute("NOTIFY jobs, 'payload 1'").await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), b.next_notification())
        .await
        .expect("notification within 5 s")
        .unwrap();
    assert_eq!(
        (n.channel.as_str(), n.payload.as_str()),
        ("jobs", "payload 1")
    );
    assert_eq!(n.process_id, a.process_id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_tls_and_scram_plus_against_sqlite() {
    let pki = pki();
    let mut auth = sqlite_server::AuthConfig::new("scram-sha-256").unwrap();
    auth.add_user("alice", "s3cret");
    let server = TestServer::start(
        SqliteServer::new(DbLocation::Memory).with_auth(auth),
        ServerConfig::default()
            .with_tls(pki.acceptor())
            .with_require_tls(true),
    );
    let base = format!(
        "host=localhost port={} user=alice dbname=postgres sslrootcert={} password=s3cret",
        server.port(),
        pki.path("ca.crt")
    );
    for extra in [
        "sslmode=verify-full channel_binding=require",
        "sslmode=verify-full sslnegotiation=direct channel_binding=require",
        "sslmode=require sslnegotiation=direct",
    ] {
        let mut c = Client::connect(&Config::parse(&format!("{base} {extra}")).unwrap())
            .await
            .unwrap_or_else(|e| panic!("{extra}: {e}"));
        assert!(c.is_tls());
        let r = c.simple_query("SELECT 1").await.unwrap();
        assert_eq!(r[0].rows[0].get_text(0).unwrap(), Some("1"), "{extra}");
    }
    let e = Client::connect(
        &Config::parse(&format!("{base} sslmode=verify-full"))
            .unwrap()
            .clone(),
    )
    .await;
    assert!(e.is_ok());
    let mut wrong =
        Config::parse(&format!("{base} sslmode=verify-full sslnegotiation=direct")).unwrap();
    wrong.password = Some("nope".into());
    assert_eq!(
        Client::connect(&wrong).await.unwrap_err().sqlstate(),
        "28P01"
    );
    // Plaintext is refused by --require-tls.
    let plain = Config::parse(&format!("{base} sslmode=disable")).unwrap();
    let e = Client::connect(&plain).await.unwrap_err();
    assert_eq!(e.sqlstate(), "28000", "{e}");
    assert!(matches!(e, Error::Db(_)));
}
