//! `examples/logical_consumer.rs` against a real PostgreSQL 15: its code
//! (included as a module) prints one valid JSON object per change with
//! the right values, acknowledges what it printed (a second run resumes
//! after it, without duplicates), and the built binary does the same when
//! `cargo test` built the examples.

#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;
#[path = "common/replication_pg.rs"]
mod replication_pg;

#[allow(dead_code)]
#[path = "../examples/logical_consumer.rs"]
mod logical_consumer;

use serde_json::{Value, json};

fn args(pg: &postgres::Postgres, extra: &[&str]) -> logical_consumer::Args {
    let mut all = vec![
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            pg.port
        ),
        "--slot".into(),
        "cdc".into(),
        "--publication".into(),
        "p".into(),
    ];
    all.extend(extra.iter().map(|s| s.to_string()));
    logical_consumer::parse_args(all.into_iter()).unwrap()
}

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// The lines without their positions (which differ between runs).
fn without_lsn(mut v: Vec<Value>) -> Vec<Value> {
    for line in &mut v {
        let obj = line.as_object_mut().unwrap();
        let lsn = obj.remove("lsn").expect("every line has an lsn");
        assert!(
            lsn.as_str()
                .unwrap()
                .parse::<pgwire::replication::Lsn>()
                .is_ok()
        );
        obj.remove("end_lsn");
        obj.remove("xid");
    }
    v
}

#[tokio::test]
async fn logical_consumer_prints_json_lines_and_acknowledges_them() {
    let Some(pg) = replication_pg::start("repl-example") else {
        return;
    };
    let sql = pg.connect().await;
    sql.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY, v text, ok bool, x numeric, f float8);
         CREATE PUBLICATION p FOR TABLE t;",
    )
    .await
    .unwrap();
    // The first run creates the slot (--create-slot); the changes are
    // made once it exists.
    let mut out = Vec::new();
    let run = {
        let args = args(&pg, &["--create-slot", "--limit", "6"]);
        let sql_ref = &sql;
        async move {
            // Changes are made once the slot exists (the example creates it).
            let producer = async {
                for _ in 0..100 {
                    let n: i64 = sql_ref
                        .query_one(
                            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc'",
                            &[],
                        )
                        .await
                        .unwrap()
                        .get(0);
                    if n == 1 {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                sql_ref
                    .batch_execute(
                        "INSERT INTO t VALUES (1, 'quote \" backslash \\ newline \n tab \t', true, 1.50, 'NaN')",
                    )
                    .await
                    .unwrap();
                sql_ref
                    .batch_execute("UPDATE t SET id = 2, v = NULL")
                    .await
                    .unwrap();
                sql_ref.batch_execute("DELETE FROM t").await.unwrap();
            };
            let consumer = logical_consumer::run(&args, &mut out);
            let (printed, ()) = tokio::join!(consumer, producer);
            (printed.unwrap(), out)
        }
    };
    let (printed, out) = tokio::time::timeout(std::time::Duration::from_secs(60), run)
        .await
        .expect("the example stops after --limit lines");
    let got = without_lsn(lines(&out));
    assert_eq!(printed as usize, got.len());
    assert_eq!(
        got,
        vec![
            json!({"op": "begin"}),
            json!({"op": "insert", "table": "public.t", "new": {
                "id": 1, "v": "quote \" backslash \\ newline \n tab \t", "ok": true, "x": 1.50, "f": "NaN"}}),
            json!({"op": "commit"}),
            json!({"op": "begin"}),
            json!({"op": "update", "table": "public.t", "old_is_key": true,
                "old": {"id": 1, "v": null, "ok": null, "x": null, "f": null},
                "new": {"id": 2, "v": null, "ok": true, "x": 1.50, "f": "NaN"}}),
            json!({"op": "commit"}),
        ]
    );
    // The numeric keeps its digits as written (1.50), not a float's.
    assert!(String::from_utf8_lossy(&out).contains("\"x\":1.50"));

    // A second run resumes after what the first printed: only the delete.
    sql.batch_execute("TRUNCATE t").await.unwrap();
    let mut out = Vec::new();
    let printed = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        logical_consumer::run(&args(&pg, &["--limit", "6"]), &mut out),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(printed, 6);
    assert_eq!(
        without_lsn(lines(&out)),
        vec![
            json!({"op": "begin"}),
            json!({"op": "delete", "table": "public.t", "old": {"id": 2, "v": null, "ok": null, "x": null, "f": null}}),
            json!({"op": "commit"}),
            json!({"op": "begin"}),
            json!({"op": "truncate", "table": "public.t", "tables": ["public.t"]}),
            json!({"op": "commit"}),
        ]
    );

    // The binary, when `cargo test` built the examples.
    let bin = std::env::current_exe().ok().and_then(|p| {
        p.parent()?
            .parent()
            .map(|d| d.join("examples/logical_consumer"))
    });
    match bin.filter(|b| b.exists()) {
        None => println!(
            "SKIPPED the binary: examples/logical_consumer not built (run the whole `cargo test`)"
        ),
        Some(bin) => {
            sql.batch_execute("INSERT INTO t (id, v) VALUES (7, 'bin')")
                .await
                .unwrap();
            let output = tokio::process::Command::new(bin)
                .args([
                    &format!(
                        "host=127.0.0.1 port={} user=postgres dbname=postgres",
                        pg.port
                    ),
                    "--slot",
                    "cdc",
                    "--publication",
                    "p",
                    "--limit",
                    "3",
                ])
                .output()
                .await
                .unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let got = without_lsn(lines(&output.stdout));
            assert_eq!(
                got[1],
                json!({"op": "insert", "table": "public.t", "new": {"id": 7, "v": "bin", "ok": null, "x": null, "f": null}})
            );
        }
    }
}

#[test]
fn arguments_are_parsed_and_checked() {
    let parse = |a: &[&str]| logical_consumer::parse_args(a.iter().map(|s| s.to_string()));
    let a = parse(&[
        "host=x",
        "--slot",
        "s",
        "--publication",
        "p",
        "--start",
        "1/2A",
        "--limit",
        "5",
    ])
    .unwrap();
    assert_eq!(a.start, pgwire::replication::Lsn((1 << 32) | 0x2A));
    assert_eq!(a.limit, Some(5));
    assert!(!a.create_slot);
    for bad in [
        &["host=x", "--slot", "s"][..],
        &[
            "host=x",
            "--slot",
            "s",
            "--publication",
            "p",
            "--start",
            "zz",
        ],
        &["host=x", "--slot", "s", "--publication", "p", "--bogus"],
        &["--slot"],
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
}
