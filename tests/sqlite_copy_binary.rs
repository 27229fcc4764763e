//! Binary COPY out and in with the SQLite example, driven by asyncpg
//! (`copy_from_table`, `copy_from_query`, `copy_to_table` with
//! `format="binary"`), and the same script against a throwaway PostgreSQL
//! 15: both must pass it, and the binary COPY of the same query must be
//! byte-identical. Skipped, with a printed line, without python3 and
//! asyncpg (or the PostgreSQL server binaries, for the comparison).

mod common;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use common::*;
use pgwire::server::ServerConfig;
use sqlite_server::{DbLocation, SqliteServer};

/// Runs the script against `port`; its output, after checking it ended
/// with OK.
fn run_script(port: u16, server: &str) -> String {
    python_driver_lines("asyncpg_copy_binary.py", port, &[], server).join("\n")
}

#[tokio::test]
async fn asyncpg_binary_copy_out_and_in() {
    let has_asyncpg = python_can_import("asyncpg");
    if !has_asyncpg {
        println!("SKIPPED asyncpg_binary_copy_out_and_in: python3 cannot import asyncpg");
        return;
    }
    let server = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let port = server.port();
    let ours = tokio::task::spawn_blocking(move || run_script(port, "the SQLite example"))
        .await
        .unwrap();
    let pg = match postgres::Postgres::start("copy-binary", postgres::Postgres::PGWIRE_DEFAULTS) {
        Ok(pg) => pg,
        Err(why) => {
            println!("SKIPPED comparison with PostgreSQL 15: {why}");
            return;
        }
    };
    let pg_port = pg.port;
    let theirs = tokio::task::spawn_blocking(move || run_script(pg_port, "PostgreSQL 15"))
        .await
        .unwrap();
    assert_eq!(
        ours, theirs,
        "binary COPY of the same rows: SQLite example vs PostgreSQL 15"
    );
}
