//! psql against the SQLite example prints values the way the session's
//! settings say (TimeZone, DateStyle, IntervalStyle, extra_float_digits,
//! bytea_output), as PostgreSQL 15 does: the same script runs through psql
//! against both, and the outputs must be identical. Skipped, with a
//! printed line, without psql or the PostgreSQL server binaries.

mod common;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::io::Write;
use std::process::Command;

use common::*;
use pgwire::server::ServerConfig;
use sqlite_server::{DbLocation, SqliteServer};

/// The script: each setting, then values whose text depends on it; a bad
/// zone (refused, setting unchanged). psql stops at nothing (no
/// ON_ERROR_STOP), so the error shows on stderr and the script goes on.
const SCRIPT: &str = "\
SELECT '2024-01-01 12:00:00+00'::timestamptz;
SET timezone = 'Europe/Berlin';
SHOW timezone;
SELECT '2024-01-01 12:00:00+00'::timestamptz;
SELECT '2024-07-01 12:00:00.5+00'::timestamptz;
SET timezone = 'Mars/Olympus_Mons';
SHOW timezone;
SET datestyle = 'German';
SHOW datestyle;
SELECT '2024-01-01'::date;
SELECT '2024-01-01 12:00:00+00'::timestamptz;
SET datestyle = 'SQL, DMY';
SELECT '2024-07-01 12:00:00+00'::timestamptz;
SET datestyle = 'Postgres, MDY';
SELECT '2024-07-01 12:00:00+00'::timestamptz;
SET timezone = 'UTC+3';
SELECT '2024-07-01 12:00:00+00'::timestamptz;
SET datestyle = 'ISO';
SELECT '2024-07-01 12:00:00+00'::timestamptz;
SET extra_float_digits = 0;
SELECT 0.1::float8 + 0.2::float8;
SET extra_float_digits = 1;
SELECT 0.1::float8 + 0.2::float8;
CREATE TABLE b (v bytea);
INSERT INTO b VALUES ('\\x00015c41ff');
SET bytea_output = 'escape';
SELECT v FROM b;
SET bytea_output = 'hex';
SELECT v FROM b;
RESET timezone;
RESET datestyle;
SHOW timezone;
SELECT '2024-07-01 12:00:00+00'::timestamptz;
";

/// Settings given at startup (`PGOPTIONS`, sent as the `options` startup
/// parameter).
const STARTUP_SCRIPT: &str = "\
SHOW timezone;
SHOW datestyle;
SELECT '2024-01-01 12:00:00+00'::timestamptz;
SELECT '2024-01-01'::date;
RESET timezone;
SELECT '2024-01-01 12:00:00+00'::timestamptz;
";
const STARTUP_OPTIONS: &str = "-c timezone=America/New_York -c datestyle=SQL,DMY";

fn script_file(name: &str, text: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("settings-{name}-{}.sql", std::process::id()));
    let mut f = std::fs::File::create(&path).expect("script file");
    f.write_all(text.as_bytes()).expect("write script");
    path.to_string_lossy().into_owned()
}

/// psql's `-At` output and the error lines (SQLSTATE and message) of its
/// stderr, without the file name and line prefix.
fn run_psql(port: u16, db: &str, file: &str, options: &str) -> (String, Vec<String>) {
    let out = Command::new("psql")
        .args(["-X", "-At", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args([
            "-U",
            "postgres",
            "-d",
            db,
            "-v",
            "VERBOSITY=verbose",
            "-f",
            file,
        ])
        .env("PGOPTIONS", options)
        .env("PGSSLMODE", "disable")
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("run psql");
    let errors = stderr(&out)
        .lines()
        .filter_map(|l| l.split_once("ERROR:").map(|(_, e)| e.trim().to_owned()))
        .collect();
    (stdout(&out), errors)
}

#[tokio::test]
async fn psql_output_follows_the_session_settings() {
    if skip_without("psql", "psql_output_follows_the_session_settings") {
        return;
    }
    let file = script_file("set", SCRIPT);
    let startup = script_file("startup", STARTUP_SCRIPT);
    let s = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let port = s.port();
    let (f, g) = (file.clone(), startup.clone());
    let (ours, our_errors, ours_at_startup) = tokio::task::spawn_blocking(move || {
        let (out, errors) = run_psql(port, "test", &f, "");
        let (at_startup, _) = run_psql(port, "test", &g, STARTUP_OPTIONS);
        (out, errors, at_startup)
    })
    .await
    .unwrap();
    // The examples, whatever PostgreSQL says below.
    let lines: Vec<&str> = ours.lines().collect();
    assert!(lines.contains(&"2024-01-01 13:00:00+01"), "{ours}");
    assert!(lines.contains(&"01.01.2024"), "{ours}");
    assert_eq!(
        our_errors,
        vec!["22023: invalid value for parameter \"TimeZone\": \"Mars/Olympus_Mons\"".to_owned()]
    );
    assert!(
        ours_at_startup.starts_with("America/New_York\nSQL, DMY\n01/01/2024 07:00:00 EST\n"),
        "{ours_at_startup}"
    );
    let pg = match postgres::Postgres::start("settings-psql", postgres::Postgres::PGWIRE_DEFAULTS) {
        Ok(pg) => pg,
        Err(why) => {
            println!("SKIPPED comparison with PostgreSQL 15: {why}");
            return;
        }
    };
    let pg_port = pg.port;
    let (theirs, their_errors, theirs_at_startup) = tokio::task::spawn_blocking(move || {
        let (out, errors) = run_psql(pg_port, "postgres", &file, "");
        let (at_startup, _) = run_psql(pg_port, "postgres", &startup, STARTUP_OPTIONS);
        (out, errors, at_startup)
    })
    .await
    .unwrap();
    assert_eq!(ours, theirs, "pgwire's SQLite example vs PostgreSQL 15");
    assert_eq!(our_errors, their_errors);
    assert_eq!(ours_at_startup, theirs_at_startup, "settings at startup");
}
