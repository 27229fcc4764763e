//! Tools that read the catalog, against the SQLite example and, as the
//! reference, a throwaway PostgreSQL 15: the scripts in `tests/drivers/`
//! print `OK` when every assertion they make holds, and make the same
//! assertions of both servers.

mod common;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod pg;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::path::Path;
use std::process::Command;

use common::*;
use pgwire::server::ServerConfig;
use sqlite_server::{DbLocation, SqliteServer};

/// Whether python3 can import all of `modules`.
fn python_has(modules: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs `script` with `args` after the port; panics unless it prints OK.
fn run_script(script: &str, port: u16, args: &[&str], server: &str) {
    python_driver_lines(script, port, args, server);
}

/// Runs `script` with each argument list against PostgreSQL 15 (if it
/// can be started) and the SQLite example.
async fn against_both(test: &str, script: &'static str, arg_sets: &[&'static [&'static str]]) {
    let sets: Vec<&'static [&'static str]> = arg_sets.to_vec();
    match pg::Postgres::start(test, "-c TimeZone=UTC -c DateStyle='ISO, MDY'") {
        Ok(postgres) => {
            let port = postgres.port;
            let sets = sets.clone();
            tokio::task::spawn_blocking(move || {
                for args in sets {
                    run_script(script, port, args, "PostgreSQL 15");
                }
                drop(postgres);
            })
            .await
            .unwrap();
        }
        Err(why) => eprintln!("(no PostgreSQL reference for {test}: {why})"),
    }
    let server = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let port = server.port();
    tokio::task::spawn_blocking(move || {
        for args in sets {
            run_script(script, port, args, "the SQLite example");
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn sqlalchemy_reflection_and_orm() {
    for (driver, module) in [("psycopg", "psycopg"), ("psycopg2", "psycopg2")] {
        if !python_has(&format!("sqlalchemy, {module}")) {
            eprintln!(
                "SKIPPED sqlalchemy_reflection_and_orm with {driver}: python3 cannot import sqlalchemy and {module}"
            );
            return;
        }
    }
    against_both(
        "catalog-sqlalchemy",
        "sqlalchemy_reflection.py",
        &[&["psycopg"], &["psycopg2"]],
    )
    .await;
}

/// Compiles `tests/drivers/jdbc/{class}.java`; the class directory, or
/// why it cannot.
fn compile_jdbc(class: &str) -> Result<(std::path::PathBuf, std::path::PathBuf), String> {
    if !have_program("java") || !have_program("javac") {
        return Err("`java`/`javac` are not installed".into());
    }
    let jar = std::env::var_os("PGWIRE_JDBC_JAR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/usr/share/java/postgresql.jar".into());
    if !jar.is_file() {
        return Err(format!(
            "the PostgreSQL JDBC driver is not at {} (set PGWIRE_JDBC_JAR)",
            jar.display()
        ));
    }
    let classes = std::env::temp_dir().join(format!(
        "pgwire-catalog-jdbc-{}-{class}",
        std::process::id()
    ));
    std::fs::create_dir_all(&classes).map_err(|e| e.to_string())?;
    let out = Command::new("javac")
        .arg("-cp")
        .arg(&jar)
        .arg("-d")
        .arg(&classes)
        .arg(common::repo_dir().join(format!("tests/drivers/jdbc/{class}.java")))
        .output()
        .map_err(|e| e.to_string())?;
    assert!(out.status.success(), "javac: {}", stderr(&out));
    Ok((jar, classes))
}

fn run_java(jar: &Path, classes: &Path, class: &str, port: u16, server: &str) {
    let cp = std::env::join_paths([jar, classes]).expect("classpath");
    let out = Command::new("java")
        .arg("-cp")
        .arg(cp)
        .arg(class)
        .arg(port.to_string())
        .output()
        .expect("run java");
    assert!(
        stdout(&out).trim_end().ends_with("OK"),
        "{class} against {server} failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
}

#[tokio::test]
async fn pgjdbc_database_and_result_set_metadata() {
    let (jar, classes) = match compile_jdbc("CatalogMetadata") {
        Ok(c) => c,
        Err(why) => {
            eprintln!("SKIPPED pgjdbc_database_and_result_set_metadata: {why}");
            return;
        }
    };
    let (jar2, classes2) = (jar.clone(), classes.clone());
    match pg::Postgres::start("catalog-jdbc", "-c TimeZone=UTC -c DateStyle='ISO, MDY'") {
        Ok(postgres) => tokio::task::spawn_blocking(move || {
            run_java(
                &jar2,
                &classes2,
                "CatalogMetadata",
                postgres.port,
                "PostgreSQL 15",
            );
        })
        .await
        .unwrap(),
        Err(why) => eprintln!("(no PostgreSQL reference: {why})"),
    }
    let server = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let port = server.port();
    let classes3 = classes.clone();
    tokio::task::spawn_blocking(move || {
        run_java(
            &jar,
            &classes3,
            "CatalogMetadata",
            port,
            "the SQLite example",
        );
    })
    .await
    .unwrap();
    let _ = std::fs::remove_dir_all(&classes);
}

#[tokio::test]
async fn asyncpg_copy_records_and_recursive_cte() {
    if !python_has("asyncpg") {
        eprintln!("SKIPPED asyncpg_copy_records_and_recursive_cte: python3 cannot import asyncpg");
        return;
    }
    against_both("catalog-asyncpg", "asyncpg_copy_records.py", &[&[]]).await;
}

#[tokio::test]
async fn psql_tab_completion_of_tables_and_columns() {
    if skip_without("psql", "psql_tab_completion_of_tables_and_columns") {
        return;
    }
    if !python_has("pty") {
        eprintln!("SKIPPED psql_tab_completion_of_tables_and_columns: no python3 with pty");
        return;
    }
    let create = |port: u16| {
        let out = psql_at(
            port,
            "CREATE TABLE tab_books (id integer PRIMARY KEY, price integer)",
        );
        assert!(out.status.success(), "{}", stderr(&out));
    };
    if let Ok(postgres) =
        pg::Postgres::start("catalog-tab", "-c TimeZone=UTC -c DateStyle='ISO, MDY'")
    {
        let port = postgres.port;
        tokio::task::spawn_blocking(move || {
            create(port);
            run_script(
                "psql_tab_completion.py",
                port,
                &["tab_books"],
                "PostgreSQL 15",
            );
            drop(postgres);
        })
        .await
        .unwrap();
    }
    let server = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let port = server.port();
    tokio::task::spawn_blocking(move || {
        create(port);
        run_script(
            "psql_tab_completion.py",
            port,
            &["tab_books"],
            "the SQLite example",
        );
    })
    .await
    .unwrap();
}

/// Runs one SQL command with psql on database `postgres`.
fn psql_at(port: u16, sql: &str) -> std::process::Output {
    Command::new("psql")
        .args([
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
        ])
        .args(["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("run psql")
}

#[tokio::test]
async fn psycopg_type_info_fetch() {
    if !python_has("psycopg") {
        eprintln!("SKIPPED psycopg_type_info_fetch: python3 cannot import psycopg");
        return;
    }
    against_both("catalog-typeinfo", "psycopg_typeinfo.py", &[&[]]).await;
}
