//! Notifications as a `Stream` against a real PostgreSQL 15: delivered
//! while the listening connection is idle, in order, also when they
//! arrived before the stream was made, and queued while the connection
//! runs queries. Prints `SKIPPED` without the PostgreSQL server binaries.

#[path = "common/pg_cluster.rs"]
mod pg_cluster;

use std::time::Duration;

use futures_util::StreamExt;
use pg_cluster::PgCluster;
use pgwire::client::{Client, Config, Error};

async fn connect(pg: &PgCluster) -> Client {
    Client::connect(&Config::parse(&pg.conninfo("trust_user", "")).unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_stream_against_postgres_15() {
    let pg = match PgCluster::start("client-notify", &[]) {
        Ok(pg) => pg,
        Err(why) => {
            println!("SKIPPED notifications_stream_against_postgres_15: {why}");
            return;
        }
    };
    let mut adm = Client::connect(
        &Config::parse(&format!(
            "host={} port={} user=postgres dbname=postgres",
            pg.socket_dir().display(),
            pg.port
        ))
        .unwrap(),
    )
    .await
    .unwrap();
    adm.batch_execute(&PgCluster::setup_sql()).await.unwrap();

    let mut listener = connect(&pg).await;
    let mut notifier = connect(&pg).await;
    listener.batch_execute("LISTEN a; LISTEN b").await.unwrap();

    // Sent while the listener is idle and nobody reads: the stream made
    // afterwards yields them, in order.
    notifier
        .batch_execute("NOTIFY a, 'one'; NOTIFY b, 'two'")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    {
        let mut stream = listener.notifications().await.unwrap();
        let n = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("a notification within 5 s")
            .unwrap()
            .unwrap();
        assert_eq!((n.channel.as_str(), n.payload.as_str()), ("a", "one"));
        assert_eq!(n.process_id, notifier.process_id());
        let n = stream.next().await.unwrap().unwrap();
        assert_eq!((n.channel.as_str(), n.payload.as_str()), ("b", "two"));

        // Waiting on the stream while another task notifies later.
        let later = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            for i in 0..100 {
                notifier
                    .batch_execute(&format!("NOTIFY a, 'n{i}'"))
                    .await
                    .unwrap();
            }
            notifier
        });
        let got: Vec<String> = tokio::time::timeout(
            Duration::from_secs(10),
            stream
                .by_ref()
                .take(100)
                .map(|n| n.unwrap().payload)
                .collect(),
        )
        .await
        .expect("100 notifications within 10 s");
        let want: Vec<String> = (0..100).map(|i| format!("n{i}")).collect();
        assert_eq!(got, want);
        notifier = later.await.unwrap();
        // Nothing more: the stream waits.
        assert!(
            tokio::time::timeout(Duration::from_millis(200), stream.next())
                .await
                .is_err()
        );
    }
    // The connection runs queries again after the stream is dropped;
    // notifications sent meanwhile are queued and yielded by the next
    // stream.
    notifier
        .batch_execute("SELECT pg_notify('b', 'during')")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = listener.simple_query("SELECT 41 + 1").await.unwrap();
    assert_eq!(r[0].rows[0].get_text(0).unwrap(), Some("42"));
    let n = listener
        .notifications()
        .await
        .unwrap()
        .next()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n.payload, "during");
    // next_notification is the same wait without a stream.
    notifier.batch_execute("NOTIFY a, 'last'").await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), listener.next_notification())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n.payload, "last");

    // The server ends the session: the stream yields the error, then ends.
    let pid = listener.process_id();
    adm.batch_execute(&format!("SELECT pg_terminate_backend({pid})"))
        .await
        .unwrap();
    let mut stream = listener.notifications().await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        let mut items = Vec::new();
        while let Some(item) = stream.next().await {
            items.push(item);
        }
        items
    })
    .await
    .expect("the stream ends when the server closes");
    // PostgreSQL's FATAL 57P01 (admin_shutdown) is read while idle.
    assert_eq!(end.len(), 1, "{end:?}");
    match &end[0] {
        Err(e @ Error::Db(_)) => assert_eq!(e.sqlstate(), "57P01"),
        other => panic!("{other:?}"),
    }
}
