//! pgcli's completion refresh against the SQLite example, compared with
//! PostgreSQL 15 running the same schema: `tests/drivers/pgcli_refresh.py`
//! runs every metadata query pgcli's refresher sends and prints one line
//! per fact about the user's tables, views, columns and foreign keys; the
//! example must print the same lines.

mod common;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod pg;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use common::*;
use pgwire::server::ServerConfig;
use sqlite_server::{DbLocation, SqliteServer};

/// The script's output lines against the server on `port`; panics unless
/// it ends with OK.
fn refresh_lines(port: u16, server: &str) -> Vec<String> {
    python_driver_lines("pgcli_refresh.py", port, &[], server)
}

#[tokio::test]
async fn pgcli_completion_refresh_matches_postgres() {
    let has_pgcli = python_can_import("pgcli.pgexecute, psycopg");
    if !has_pgcli {
        eprintln!(
            "SKIPPED pgcli_completion_refresh_matches_postgres: python3 cannot import pgcli \
             (pip install pgcli)"
        );
        return;
    }
    let server = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let port = server.port();
    let example = tokio::task::spawn_blocking(move || refresh_lines(port, "the SQLite example"))
        .await
        .unwrap();
    // Whatever PostgreSQL says, the example must have listed the user's
    // objects through every refresher.
    for needle in [
        "table: public.pc_books",
        "view: public.pc_cheap",
        "fk: public.pc_books.author_id -> public.pc_authors.id",
        "refresher functions ran",
        "casing: []",
    ] {
        assert!(
            example.iter().any(|l| l == needle),
            "{needle:?} missing from the example's refresh:\n{}",
            example.join("\n")
        );
    }
    match pg::Postgres::start("catalog-pgcli", "-c TimeZone=UTC") {
        Ok(postgres) => {
            let port = postgres.port;
            let reference =
                tokio::task::spawn_blocking(move || refresh_lines(port, "PostgreSQL 15"))
                    .await
                    .unwrap();
            drop(postgres);
            assert_eq!(
                example.join("\n"),
                reference.join("\n"),
                "pgcli's refresh differs (left: the SQLite example, right: PostgreSQL 15)"
            );
        }
        Err(why) => eprintln!("(no PostgreSQL reference for pgcli: {why})"),
    }
}
