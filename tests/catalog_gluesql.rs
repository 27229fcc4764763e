//! The GlueSQL example and the tools that start by reading the catalog:
//! SQLAlchemy 2 connects with psycopg and with psycopg2 (which reads
//! `pg_type` first). (psql's `\d` family is not answered by the GlueSQL
//! example yet: it has only the catalog tables that do not describe the
//! user's tables.)

mod common;
#[allow(dead_code)]
#[path = "../examples/gluesql/server/mod.rs"]
mod gluesql_server;

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
            let ok = Command::new("python3")
                .args(["-c", &format!("import sqlalchemy, {driver}")])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if !ok {
                eprintln!("SKIPPED sqlalchemy_connects_to_gluesql with {driver}: not importable");
                continue;
            }
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/drivers/sqlalchemy_connect.py");
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
