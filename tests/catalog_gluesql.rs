//! The GlueSQL example and the tools that start by reading the catalog:
//! SQLAlchemy 2 connects with psycopg and with psycopg2 (which reads
//! `pg_type` first); psql's `\dt`, `\d TABLE` and `\d+ TABLE` print what
//! PostgreSQL 15 prints for the same schema, line by line; SQLAlchemy's
//! `inspect()` (over psycopg's extended protocol and psycopg2's simple
//! one), `autoload_with` and a round trip report what they report
//! against PostgreSQL 15.

mod common;
#[allow(dead_code)]
#[path = "../examples/gluesql/server/mod.rs"]
mod gluesql_server;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;

use std::path::Path;
use std::process::Command;

use common::*;
use gluesql_server::GlueSqlServer;
use pgwire::server::ServerConfig;

#[tokio::test]
async fn sqlalchemy_connects_to_gluesql() {
    let server = TestServer::start(GlueSqlServer::new(), ServerConfig::default());
    let port = server.port();
    tokio::task::spawn_blocking(move || {
        for driver in ["psycopg", "psycopg2"] {
            let ok = python_can_import(&format!("sqlalchemy, {driver}"));
            if !ok {
                eprintln!("SKIPPED sqlalchemy_connects_to_gluesql with {driver}: not importable");
                continue;
            }
            let script = common::repo_dir().join("tests/drivers/sqlalchemy_connect.py");
            let out = Command::new("python3")
                .arg(script)
                .arg(port.to_string())
                .arg(driver)
                .output()
                .expect("run python3");
            assert!(
                stdout(&out).trim_end().ends_with("OK"),
                "{driver}: {}\n{}",
                stdout(&out),
                stderr(&out)
            );
        }
    })
    .await
    .unwrap();
}

/// `tests/drivers/sqlalchemy_gluesql.py`'s lines against the server on
/// `port`; panics unless it ends with OK.
fn sqlalchemy_lines(port: u16, driver: &str, server: &str) -> Vec<String> {
    python_driver_lines("sqlalchemy_gluesql.py", port, &[driver], server)
}

#[tokio::test]
async fn sqlalchemy_reflects_gluesql_as_postgres() {
    let drivers: Vec<&str> = ["psycopg", "psycopg2"]
        .into_iter()
        .filter(|driver| {
            let ok = python_can_import(&format!("sqlalchemy, {driver}"));
            if !ok {
                eprintln!(
                    "SKIPPED sqlalchemy_reflects_gluesql_as_postgres with {driver}: \
                     python3 cannot import sqlalchemy and {driver}"
                );
            }
            ok
        })
        .collect();
    if drivers.is_empty() {
        return;
    }
    let server = TestServer::start(GlueSqlServer::new(), ServerConfig::default());
    let port = server.port();
    let ds = drivers.clone();
    let ours: Vec<Vec<String>> = tokio::task::spawn_blocking(move || {
        ds.iter()
            .map(|d| sqlalchemy_lines(port, d, "the GlueSQL example"))
            .collect()
    })
    .await
    .unwrap();
    // What a user sees, whatever PostgreSQL says below.
    for lines in &ours {
        for needle in [
            "tables: ['sa_authors', 'sa_books']",
            "sa_books pk: sa_books_pkey ['id']",
            "sa_books fk: sa_books_author_id_fkey ['author_id'] -> sa_authors ['id']",
            "round trip: ('Wire', 9.5)",
        ] {
            assert!(
                lines.iter().any(|l| l == needle),
                "{needle:?} missing:\n{}",
                lines.join("\n")
            );
        }
    }
    let pg = match postgres::Postgres::start("gluesql-sqlalchemy", "") {
        Ok(pg) => pg,
        Err(why) => {
            println!("SKIPPED comparison with PostgreSQL 15: {why}");
            return;
        }
    };
    let pg_port = pg.port;
    let ds = drivers.clone();
    let theirs: Vec<Vec<String>> = tokio::task::spawn_blocking(move || {
        ds.iter()
            .map(|d| sqlalchemy_lines(pg_port, d, "PostgreSQL 15"))
            .collect()
    })
    .await
    .unwrap();
    for ((driver, ours), theirs) in drivers.iter().zip(&ours).zip(&theirs) {
        assert_eq!(
            ours.join("\n"),
            theirs.join("\n"),
            "SQLAlchemy with {driver} (left: the GlueSQL example, right: PostgreSQL 15)"
        );
    }
}

/// The schema, in SQL both GlueSQL and PostgreSQL accept, and what psql
/// is asked about it.
const SCHEMA: &str = "\
CREATE TABLE authors (id int8 PRIMARY KEY, name text NOT NULL);
CREATE TABLE books (id int8 PRIMARY KEY, title text NOT NULL, author_id int8, \
  price float8 DEFAULT 0, published date, note text UNIQUE, \
  CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id));
CREATE TABLE tags (label text, weight int4 NOT NULL DEFAULT 1);
";
const DESCRIBE: &str = "\\dt\n\\d books\n\\d authors\n\\d tags\n\\d+ books\n\\d nosuch\n";

/// psql's output for `script` (errors included, as psql prints them).
fn psql_script(port: u16, db: &str, script: &str) -> String {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "gluesql-describe-{}-{port}.sql",
        std::process::id()
    ));
    std::fs::write(&path, script).expect("script file");
    let out = Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", "postgres", "-d", db, "-f"])
        .arg(&path)
        .env("PGSSLMODE", "disable")
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("run psql");
    let _ = std::fs::remove_file(&path);
    // psql prefixes errors with the script's name.
    format!("{}{}", stdout(&out), stderr(&out)).replace(&format!("{}:", path.display()), "")
}

#[tokio::test]
async fn psql_describes_gluesql_tables_as_postgres() {
    if skip_without("psql", "psql_describes_gluesql_tables_as_postgres") {
        return;
    }
    let server = TestServer::start(GlueSqlServer::new(), ServerConfig::default());
    let port = server.port();
    let ours = tokio::task::spawn_blocking(move || {
        psql_script(port, "test", SCHEMA);
        psql_script(port, "test", DESCRIBE)
    })
    .await
    .unwrap();
    // What a user sees, whatever PostgreSQL says below.
    for line in [
        " public | authors | table | postgres",
        " public | books   | table | postgres",
        " price     | double precision |           |          | 0",
        "    \"books_pkey\" PRIMARY KEY, btree (id)",
        "    \"books_note_key\" UNIQUE CONSTRAINT, btree (note)",
        "    \"books_author_id_fkey\" FOREIGN KEY (author_id) REFERENCES authors(id)",
        "    TABLE \"books\" CONSTRAINT \"books_author_id_fkey\" FOREIGN KEY (author_id) REFERENCES authors(id)",
    ] {
        assert!(
            ours.lines().any(|l| l == line),
            "missing {line:?} in\n{ours}"
        );
    }
    let pg = match postgres::Postgres::start("gluesql-describe", "") {
        Ok(pg) => pg,
        Err(why) => {
            println!("SKIPPED comparison with PostgreSQL 15: {why}");
            return;
        }
    };
    let pg_port = pg.port;
    let theirs = tokio::task::spawn_blocking(move || {
        psql_script(pg_port, "postgres", SCHEMA);
        psql_script(pg_port, "postgres", DESCRIBE)
    })
    .await
    .unwrap();
    let (ours, theirs): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "line {i}: GlueSQL example vs PostgreSQL 15");
    }
    assert_eq!(ours.len(), theirs.len(), "{ours:#?}\n{theirs:#?}");
}
