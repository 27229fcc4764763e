//! psql's describe commands (`\dt`, `\d TABLE`, `\l`...) against the SQLite
//! example, compared line by line with a throwaway PostgreSQL 15 holding
//! the same schema. Both are asked by the same psql, so both get the same
//! catalog queries; what they print must be the same.

mod common;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod pg;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::process::{Command, Output};

use common::*;
use pgwire::server::ServerConfig;
use sqlite_server::{DbLocation, SqliteServer};

/// A schema whose every part psql shows, written so that PostgreSQL's
/// deparsed expressions are the text as written.
const SCHEMA: &str = "
CREATE TABLE authors (id serial PRIMARY KEY, name text NOT NULL UNIQUE, born date,
                      country varchar(2) DEFAULT 'NL');
CREATE TABLE books (id integer PRIMARY KEY,
                    author_id integer NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
                    title varchar(200) NOT NULL, price numeric(8,2) DEFAULT 0,
                    qty integer CHECK (qty >= 0), tags text,
                    CONSTRAINT books_title_author UNIQUE (title, author_id));
CREATE INDEX books_title_idx ON books (title);
CREATE VIEW cheap_books AS SELECT id, title FROM books WHERE price < 10;
";

/// The commands compared.
const COMMANDS: &[&str] = &[
    "\\dt",
    "\\dv",
    "\\di",
    "\\ds",
    "\\dn",
    "\\du",
    "\\df",
    "\\d authors",
    "\\d books",
    "\\d+ books",
    "\\d cheap_books",
    "\\dt books",
    "\\dt nosuch",
];

fn run_psql(port: u16, args: &[&str]) -> Output {
    Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1"])
        .args(args)
        .output()
        .expect("run psql")
}

/// `8192 bytes`, `16 kB`... as `SIZE`.
fn normalise_sizes(line: &str) -> String {
    line.split('|')
        .map(|field| {
            let mut words = field.split(' ');
            let is_size = matches!(
                (words.next(), words.next(), words.next()),
                (Some(n), Some("bytes" | "kB" | "MB"), None) if n.parse::<u64>().is_ok()
            );
            if is_size { "SIZE" } else { field }
        })
        .collect::<Vec<_>>()
        .join("|")
}

fn describe_all(port: u16) -> Vec<(String, String)> {
    let setup = run_psql(port, &["-q", "-c", SCHEMA]);
    assert!(setup.status.success(), "{}", stderr(&setup));
    let mut out = Vec::new();
    for cmd in COMMANDS {
        let o = run_psql(port, &["-c", cmd]);
        out.push((cmd.to_string(), format!("{}{}", stdout(&o), stderr(&o))));
    }
    // Unaligned, sizes normalised (the example's relations have none),
    // and `\l` without the template databases only PostgreSQL has.
    // (`\\l+` is not compared: PostgreSQL's `postgres` database has a
    // comment of its own.)
    for cmd in ["\\l", "\\dt+", "\\di+", "\\dn+"] {
        let o = run_psql(port, &["-A", "-c", cmd]);
        let lines: String = stdout(&o)
            .lines()
            .filter(|l| {
                !l.contains("template") && !l.starts_with("postgres=") && !l.starts_with('(')
            })
            .map(|l| format!("{}\n", normalise_sizes(l)))
            .collect();
        out.push((cmd.into(), format!("{lines}{}", stderr(&o))));
    }
    out
}

#[tokio::test]
async fn psql_describe_matches_postgres() {
    if skip_without("psql", "psql_describe_matches_postgres") {
        return;
    }
    let postgres =
        match pg::Postgres::start("catalog-psql", "-c TimeZone=UTC -c DateStyle='ISO, MDY'") {
            Ok(p) => p,
            Err(why) => {
                eprintln!("SKIPPED psql_describe_matches_postgres: {why}");
                return;
            }
        };
    let server = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let (pg_port, our_port) = (postgres.port, server.port());
    let (theirs, ours) =
        tokio::task::spawn_blocking(move || (describe_all(pg_port), describe_all(our_port)))
            .await
            .unwrap();
    let mut failures = Vec::new();
    for ((cmd, want), (_, got)) in theirs.iter().zip(&ours) {
        assert!(!want.contains("ERROR"), "PostgreSQL failed {cmd}: {want}");
        if want != got {
            failures.push(format!(
                "{cmd}\n--- PostgreSQL 15\n{want}--- SQLite example\n{got}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Something was compared: the tables, their keys and the reference.
    let d_books = &ours.iter().find(|(c, _)| c == "\\d books").unwrap().1;
    assert!(d_books.contains("\"books_author_id_fkey\" FOREIGN KEY (author_id) REFERENCES authors(id) ON DELETE CASCADE"), "{d_books}");
    assert!(
        d_books.contains("\"books_title_author\" UNIQUE CONSTRAINT, btree (title, author_id)"),
        "{d_books}"
    );
}
