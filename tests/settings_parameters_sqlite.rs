//! Text-format parameters, the SQLite example's own date/time casts and its
//! COPY text/CSV follow the session's DateStyle and TimeZone, as in
//! PostgreSQL 15: tokio-postgres (with parameters it sends in text format)
//! runs the same session against both, and every printed value, COPY line
//! and SQLSTATE must be identical. A portal reads its text parameters with
//! the settings of Bind time. Skipped, with a printed line, without the
//! PostgreSQL server binaries.

mod common;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::error::Error;

use bytes::{Bytes, BytesMut};
use common::*;
use futures_util::{SinkExt, TryStreamExt};
use pgwire::server::ServerConfig;
use postgres_types::{Format, IsNull, ToSql, Type, to_sql_checked};
use sqlite_server::{DbLocation, SqliteServer};
use tokio_postgres::{Client, SimpleQueryMessage};

/// A parameter tokio-postgres sends in text format, whatever its type:
/// what psycopg, node-postgres and JDBC's `setString` send.
#[derive(Debug)]
struct TextParam(&'static str);

impl ToSql for TextParam {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    fn encode_format(&self, _: &Type) -> Format {
        Format::Text
    }
    to_sql_checked!();
}

/// The rows of a simple query, tab-separated, NULL as `\N`.
async fn rows(c: &Client, sql: &str) -> String {
    let mut out = String::new();
    for m in c
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    {
        if let SimpleQueryMessage::Row(r) = m {
            let fields: Vec<&str> = (0..r.len()).map(|i| r.get(i).unwrap_or("\\N")).collect();
            out.push_str(&fields.join("\t"));
            out.push('\n');
        }
    }
    out
}

async fn copy_out(c: &Client, sql: &str) -> String {
    let stream = c
        .copy_out(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    String::from_utf8(chunks.concat()).unwrap()
}

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_owned())
        .unwrap_or_else(|| e.to_string())
}

/// The session, run against one server: everything it printed.
async fn session(c: &Client) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let mut note = |what: &str, v: String| seen.push((what.to_owned(), v));
    c.batch_execute(
        "SET DateStyle = 'ISO, DMY'; SET TimeZone = 'Europe/Berlin'; \
         CREATE TABLE t (id int4, d date, ts timestamptz)",
    )
    .await
    .unwrap();
    // Text parameters read under DMY and in the session's zone.
    let insert = c
        .prepare("INSERT INTO t (id, d, ts) VALUES ($1, $2, $3)")
        .await
        .unwrap();
    assert_eq!(insert.params()[1], Type::DATE);
    assert_eq!(insert.params()[2], Type::TIMESTAMPTZ);
    for (id, d, ts) in [
        (1, "01/02/2024", "01/02/2024 10:00"),
        (2, "13/02/2024", "2024-07-01 12:00:00.25"),
        (3, "2024-03-04", "04/03/2024 23:30:00+05"),
    ] {
        c.execute(&insert, &[&id, &TextParam(d), &TextParam(ts)])
            .await
            .unwrap_or_else(|e| panic!("insert {d} {ts}: {e}"));
    }
    // Literals stored into date/time columns are read the same way.
    c.batch_execute(
        "INSERT INTO t VALUES (7, '08/09/2024', '08/09/2024 10:00'); \
         INSERT INTO t (ts, id, d) VALUES ('10/11/2024 01:00:00', 8, '12/11/2024'); \
         INSERT INTO t (id) VALUES (10); \
         UPDATE t SET d = '11/12/2024', ts = '11/12/2024 11:12' WHERE id = 10",
    )
    .await
    .unwrap();
    // A day that is not one under DMY: refused at Bind with PostgreSQL's
    // SQLSTATE.
    let e = c
        .execute(&insert, &[&9, &TextParam("02/13/2024"), &TextParam("now")])
        .await
        .unwrap_err();
    note("bad DMY parameter", sqlstate(&e));
    // The same parameter read back through a prepared SELECT.
    let select = c.prepare("SELECT $1::date").await.unwrap();
    let d: chrono::NaiveDate = c
        .query_one(&select, &[&TextParam("05/06/2024")])
        .await
        .unwrap()
        .get(0);
    note("prepared date", d.to_string());
    note(
        "rows ISO DMY",
        rows(c, "SELECT id, d, ts FROM t ORDER BY id").await,
    );
    // The example's own casts.
    note(
        "casts",
        rows(
            c,
            "SELECT '01/02/2024'::date, '01/02/2024 10:00'::timestamptz, \
             '01/02/2024 10:00'::timestamp",
        )
        .await,
    );
    let e = c
        .simple_query("SELECT '13/13/2024'::date")
        .await
        .unwrap_err();
    note("bad DMY cast", sqlstate(&e));
    // COPY out, text and CSV, in German style and another zone.
    c.batch_execute("SET DateStyle = 'German'; SET TimeZone = 'America/New_York'")
        .await
        .unwrap();
    note(
        "rows German",
        rows(c, "SELECT id, d, ts FROM t ORDER BY id").await,
    );
    note(
        "copy text",
        copy_out(c, "COPY (SELECT id, d, ts FROM t ORDER BY id) TO STDOUT").await,
    );
    note(
        "copy csv",
        copy_out(
            c,
            "COPY (SELECT id, d, ts FROM t ORDER BY id) TO STDOUT (FORMAT csv)",
        )
        .await,
    );
    // COPY in: German style (DMY) and the session's zone.
    let sink = c.copy_in("COPY t FROM STDIN").await.unwrap();
    futures_util::pin_mut!(sink);
    sink.send(Bytes::from_static(
        b"4\t05.06.2024\t05.06.2024 08:15:00\n5\t2024-12-31\t31.12.2024 23:59:59.5 UTC\n",
    ))
    .await
    .unwrap();
    sink.finish().await.unwrap();
    let sink = c.copy_in("COPY t FROM STDIN (FORMAT csv)").await.unwrap();
    futures_util::pin_mut!(sink);
    sink.send(Bytes::from_static(b"6,07.08.2024,07.08.2024 01:02:03\n"))
        .await
        .unwrap();
    sink.finish().await.unwrap();
    c.batch_execute("SET DateStyle = 'ISO'; SET TimeZone = 'UTC'")
        .await
        .unwrap();
    note(
        "rows after COPY in",
        rows(c, "SELECT id, d, ts FROM t ORDER BY id").await,
    );
    seen
}

#[tokio::test]
async fn text_parameters_casts_and_copy_follow_the_session_settings() {
    let s = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let ours = session(&s.connect().await).await;
    // The example, whatever PostgreSQL says below.
    let casts = &ours.iter().find(|(w, _)| w == "casts").unwrap().1;
    assert!(casts.starts_with("2024-02-01\t"), "{casts}");
    let pg = match postgres::Postgres::start("settings-params", postgres::Postgres::PGWIRE_DEFAULTS)
    {
        Ok(pg) => pg,
        Err(why) => {
            println!("SKIPPED comparison with PostgreSQL 15: {why}");
            return;
        }
    };
    let theirs = session(&pg.connect().await).await;
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a, b, "pgwire's SQLite example vs PostgreSQL 15");
    }
    assert_eq!(ours.len(), theirs.len());
}
