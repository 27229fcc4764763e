//! A tiny psql -c: runs SQL on a server and prints the rows.
//!
//! ```sh
//! cargo run --release --example client -- 'host=localhost user=postgres' 'SELECT 1, NULL'
//! cargo run --release --example client -- 'postgresql://postgres@localhost/postgres' 'SELECT 1'
//! ```
//!
//! Rows are printed tab-separated, one per line, NULL as `\N`, then the
//! command tag of each statement. On error: `ERROR <SQLSTATE>: <message>`
//! on stderr and exit status 1. `PG*` environment variables and `~/.pgpass`
//! apply as with psql.

use std::io::Write;
use std::process::ExitCode;

use pgwire::client::{Client, Error, SimpleQueryMessage};

async fn run(conninfo: &str, sql: &str) -> Result<(), Error> {
    let mut client = Client::connect_str(conninfo).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut stream = client.simple_query_stream(sql).await?;
    // Rows are streamed: a large result is printed as it arrives.
    while let Some(msg) = stream.next().await? {
        match msg {
            SimpleQueryMessage::Row(row) => {
                for i in 0..row.len() {
                    if i > 0 {
                        out.write_all(b"\t")?;
                    }
                    match row.get_raw(i)? {
                        Some(v) => out.write_all(v)?,
                        None => out.write_all(b"\\N")?,
                    }
                }
                out.write_all(b"\n")?;
            }
            SimpleQueryMessage::CommandComplete(tag) => writeln!(out, "{tag}")?,
            _ => {}
        }
    }
    out.flush()?;
    drop(out);
    client.close().await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(conninfo), Some(sql)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: client '<connection string or URL>' '<sql>'");
        return ExitCode::from(2);
    };
    match run(conninfo, sql).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let message = match e.as_db_error() {
                Some(db) => db.message.clone(),
                None => e.to_string(),
            };
            eprintln!("ERROR {}: {message}", e.sqlstate());
            ExitCode::FAILURE
        }
    }
}
