//! `pgwire::client` side by side with tokio-postgres against the same
//! throwaway PostgreSQL 15 (started by the bench, like the tests' cluster):
//! reading 100,000 rows in binary and text, pipelined prepared `SELECT 1`
//! 32 deep, and connect + close.
//!
//! Run: `cargo bench --bench client -- --warm-up-time 1 --measurement-time 3`
//! (prints `SKIPPED` without the PostgreSQL server binaries).

#[path = "../tests/common/pg_cluster.rs"]
mod pg_cluster;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::future::join_all;
use pg_cluster::PgCluster;
use pgwire::client::{Client, Config};

const ROWS: u64 = 100_000;
const ROWS_SQL: &str = "SELECT i, 'row ' || i::text FROM generate_series(1, 100000) AS i";

fn conninfo(pg: &PgCluster) -> String {
    format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=disable",
        pg.port
    )
}

async fn ours(pg: &PgCluster) -> Client {
    Client::connect(&Config::parse(&conninfo(pg)).unwrap())
        .await
        .unwrap()
}

async fn theirs(pg: &PgCluster) -> tokio_postgres::Client {
    let (c, conn) = tokio_postgres::connect(&conninfo(pg), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    c
}

fn benches(c: &mut Criterion) {
    let pg = match PgCluster::start("client-bench", &[]) {
        Ok(pg) => pg,
        Err(why) => {
            println!("SKIPPED client bench: {why}");
            return;
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut mine = rt.block_on(ours(&pg));
    let other = rt.block_on(theirs(&pg));

    let mut g = c.benchmark_group("read_100k_rows");
    g.throughput(Throughput::Elements(ROWS));
    let st = rt.block_on(mine.prepare(ROWS_SQL)).unwrap();
    let tst = rt.block_on(other.prepare(ROWS_SQL)).unwrap();
    g.bench_function("binary/pgwire", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut s = mine.query_stream(&st, &[]).await.unwrap();
                let mut sum = 0i64;
                while let Some(r) = s.next().await.unwrap() {
                    sum += r.get::<i32>(0) as i64;
                    black_box(r.get::<&str>(1));
                }
                assert_eq!(sum, 5_000_050_000);
            })
        })
    });
    g.bench_function("binary/tokio-postgres", |b| {
        b.iter(|| {
            rt.block_on(async {
                use futures_util::StreamExt;
                let s = other
                    .query_raw(&tst, std::iter::empty::<i32>())
                    .await
                    .unwrap();
                futures_util::pin_mut!(s);
                let mut sum = 0i64;
                while let Some(r) = s.next().await {
                    let r = r.unwrap();
                    sum += r.get::<_, i32>(0) as i64;
                    black_box(r.get::<_, &str>(1));
                }
                assert_eq!(sum, 5_000_050_000);
            })
        })
    });
    g.bench_function("text/pgwire", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut s = mine.simple_query_stream(ROWS_SQL).await.unwrap();
                let mut n = 0;
                while let Some(m) = s.next().await.unwrap() {
                    if let pgwire::client::SimpleQueryMessage::Row(r) = m {
                        black_box(r.get_text(0).unwrap());
                        black_box(r.get_text(1).unwrap());
                        n += 1;
                    }
                }
                assert_eq!(n, ROWS);
            })
        })
    });
    g.bench_function("text/tokio-postgres", |b| {
        b.iter(|| {
            rt.block_on(async {
                let msgs = other.simple_query(ROWS_SQL).await.unwrap();
                let mut n = 0;
                for m in &msgs {
                    if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
                        black_box(r.get(0));
                        black_box(r.get(1));
                        n += 1;
                    }
                }
                assert_eq!(n, ROWS);
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("pipelined_select1_depth32");
    g.throughput(Throughput::Elements(32));
    let one = rt.block_on(mine.prepare("SELECT 1")).unwrap();
    let tone = rt.block_on(other.prepare("SELECT 1")).unwrap();
    g.bench_function("pgwire", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut p = mine.pipeline().await.unwrap();
                for _ in 0..32 {
                    p.query(&one, &[]).unwrap();
                }
                for r in p.run().await.unwrap() {
                    assert_eq!(r.unwrap().rows[0].get::<i32>(0), 1);
                }
            })
        })
    });
    g.bench_function("tokio-postgres", |b| {
        b.iter(|| {
            rt.block_on(async {
                let all = join_all((0..32).map(|_| other.query(&tone, &[]))).await;
                for r in all {
                    assert_eq!(r.unwrap()[0].get::<_, i32>(0), 1);
                }
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("connect_close");
    g.bench_function("pgwire", |b| {
        b.iter(|| rt.block_on(async { ours(&pg).await.close().await.unwrap() }))
    });
    g.bench_function("tokio-postgres", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (c, conn) = tokio_postgres::connect(&conninfo(&pg), tokio_postgres::NoTls)
                    .await
                    .unwrap();
                let h = tokio::spawn(conn);
                drop(c);
                let _ = h.await;
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = client;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(client);
