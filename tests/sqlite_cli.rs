//! The `sqlite` example as a newcomer runs it: the compiled binary with its
//! command-line flags (`--listen`, `--auth`, `--user`, `--tls-cert`,
//! `--tls-key`, `--require-tls`), driven by psql and tokio-postgres.

mod common;
// Shared with the other tests that run the example; this one uses part.
#[allow(dead_code)]
#[path = "common/sqlite_example.rs"]
mod sqlite_example;

use std::process::Command;

use common::auth::{pki, psql_conninfo};
use common::{have_program, stderr, stdout};
use sqlite_example::{Example, example_binary};

/// Starts the example with `args` (plus `--listen` on a port of the
/// system's choosing) and waits until it accepts connections; it is stopped
/// with SIGINT when dropped, which removes its temporary database file.
fn start(args: &[&str]) -> Option<Example> {
    Example::start("sqlite_cli", args)
}

fn run_example(args: &[&str]) -> Option<std::process::Output> {
    let bin = example_binary()?;
    Some(
        Command::new(bin)
            .args(args)
            .output()
            .expect("run the example"),
    )
}

#[test]
fn readme_command_serves_psql() {
    if !have_program("psql") {
        println!("SKIPPED readme_command_serves_psql: psql is not installed");
        return;
    }
    let Some(server) = start(&[]) else { return };
    let out = std::process::Command::new("psql")
        .args([
            "-X",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
        ])
        .arg("-p")
        .arg(server.port.to_string())
        .args([
            "-c",
            "CREATE TABLE t (id serial PRIMARY KEY, name text)",
            "-c",
            "INSERT INTO t (name) VALUES ('one'), ('two'), (NULL)",
            "-c",
            "SELECT id, coalesce(name, '-') FROM t ORDER BY id",
        ])
        .env_remove("PGPASSWORD")
        .output()
        .expect("psql");
    assert!(out.status.success(), "psql failed: {}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "CREATE TABLE\nINSERT 0 3\n1|one\n2|two\n3|-\n"
    );
}

#[test]
fn help_and_bad_flags() {
    let Some(help) = run_example(&["--help"]) else {
        println!("SKIPPED help_and_bad_flags: the sqlite example binary was not built");
        return;
    };
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stderr);
    for flag in [
        "--listen",
        "--auth",
        "--user",
        "--tls-cert",
        "--require-tls",
    ] {
        assert!(text.contains(flag), "usage lacks {flag}: {text}");
    }
    for (args, says) in [
        (&["--auth", "md5"][..], "needs at least one --user"),
        (
            &["--auth", "kerberos", "--user", "a:b"][..],
            "unknown authentication method",
        ),
        (&["--user", "nopassword"][..], "NAME:PASSWORD"),
        (&["--tls-cert", "x.crt"][..], "go together"),
        (&["--require-tls"][..], "needs --tls-cert"),
        (&["--listen", "nowhere"][..], "--listen nowhere"),
    ] {
        let out = run_example(args).expect("binary");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let pki = pki();
    let out = run_example(&[
        "--tls-cert",
        &pki.path("missing.crt"),
        "--tls-key",
        &pki.path("server.key"),
    ])
    .expect("binary");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot load TLS"));
}

#[test]
fn every_password_method_with_psql() {
    if !have_program("psql") {
        println!("SKIPPED every_password_method_with_psql: psql is not installed");
        return;
    }
    for method in ["password", "md5", "scram-sha-256"] {
        let Some(server) = start(&[
            "--auth",
            method,
            "--user",
            "alice:s3cret",
            "--user",
            "bob:other",
        ]) else {
            return;
        };
        let conninfo = |user: &str| {
            format!(
                "host=127.0.0.1 port={} user={user} dbname=postgres sslmode=disable",
                server.port
            )
        };
        let ok = psql_conninfo(&conninfo("alice"), Some("s3cret"));
        assert!(ok.status.success(), "{method}: {}", stderr(&ok));
        assert_eq!(stdout(&ok), "1\n", "{method}");
        let bob = psql_conninfo(&conninfo("bob"), Some("other"));
        assert!(bob.status.success(), "{method}: {}", stderr(&bob));

        // A wrong password and an unknown user read the same.
        let wrong = psql_conninfo(&conninfo("alice"), Some("nope"));
        assert!(!wrong.status.success());
        assert!(
            stderr(&wrong).contains("password authentication failed for user \"alice\""),
            "{method}: {}",
            stderr(&wrong)
        );
        let unknown = psql_conninfo(&conninfo("mallory"), Some("s3cret"));
        assert!(
            stderr(&unknown).contains("password authentication failed for user \"mallory\""),
            "{method}: {}",
            stderr(&unknown)
        );
    }
}

#[test]
fn scram_plus_over_tls_with_psql() {
    if !have_program("psql") {
        println!("SKIPPED scram_plus_over_tls_with_psql: psql is not installed");
        return;
    }
    let pki = pki();
    let (crt, key) = (pki.path("server.crt"), pki.path("server.key"));
    let Some(server) = start(&[
        "--auth",
        "scram-sha-256",
        "--user",
        "alice:s3cret",
        "--tls-cert",
        &crt,
        "--tls-key",
        &key,
        "--require-tls",
    ]) else {
        return;
    };
    let base = format!(
        "host=localhost port={} user=alice dbname=postgres sslrootcert={}",
        server.port,
        pki.path("ca.crt")
    );
    let ok = psql_conninfo(
        &format!("{base} sslmode=verify-full channel_binding=require"),
        Some("s3cret"),
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(stdout(&ok), "1\n");

    let wrong = psql_conninfo(
        &format!("{base} sslmode=verify-full channel_binding=require"),
        Some("nope"),
    );
    assert!(
        stderr(&wrong).contains("password authentication failed"),
        "{}",
        stderr(&wrong)
    );

    // --require-tls: a plaintext connection is refused with 28000.
    let plain = psql_conninfo(&format!("{base} sslmode=disable"), Some("s3cret"));
    assert!(!plain.status.success());
    assert!(
        stderr(&plain).contains("requires TLS") && stderr(&plain).contains("no encryption"),
        "{}",
        stderr(&plain)
    );
}

#[tokio::test]
async fn md5_with_tokio_postgres() {
    let Some(server) = start(&["--auth", "md5", "--user", "carol:pa:ss"]) else {
        return;
    };
    // The password may contain ':' (only the first one splits).
    let conn = format!(
        "host=127.0.0.1 port={} user=carol password=pa:ss dbname=postgres",
        server.port
    );
    let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
        .await
        .expect("md5 login");
    tokio::spawn(connection);
    let row = client
        .query_one("SELECT $1::int4 + 1", &[&41i32])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 42);

    let bad = format!(
        "host=127.0.0.1 port={} user=carol password=wrong dbname=postgres",
        server.port
    );
    let err = tokio_postgres::connect(&bad, tokio_postgres::NoTls)
        .await
        .err()
        .expect("wrong password refused");
    assert_eq!(
        err.as_db_error().map(|e| e.code().code()),
        Some("28P01"),
        "{err}"
    );
}
