//! A PostgreSQL server over GlueSQL's in-memory storage: one database,
//! shared by every session, gone when the server stops. What behaves
//! differently from PostgreSQL (transactions above all) is listed in
//! `server/mod.rs`.
//!
//! ```sh
//! cargo run --example gluesql                         # 127.0.0.1:5432
//! cargo run --example gluesql -- --listen 0.0.0.0:6543
//! psql -h 127.0.0.1 -U anyone
//! ```
//!
//! then, in psql:
//!
//! ```sql
//! CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price NUMERIC);
//! INSERT INTO items VALUES (1, 'apple', 0.5), (2, 'pear', 0.75);
//! BEGIN; UPDATE items SET price = price * 2; SELECT * FROM items; ROLLBACK;
//! ```
//!
//! Logs one line per session (`RUST_LOG` changes what is logged; the
//! library's own lines are at `pgwire=info`).

mod server;

use std::process::ExitCode;

use pgwire::server::{Server, ServerConfig};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: gluesql [--listen ADDR]   (default 127.0.0.1:5432)";

fn listen_addr() -> Result<Option<String>, String> {
    let mut addr = "127.0.0.1:5432".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => addr = args.next().ok_or("--listen needs an address")?,
            "-h" | "--help" => return Ok(None),
            _ => match arg.strip_prefix("--listen=") {
                Some(a) => addr = a.to_owned(),
                None => return Err(format!("unknown argument: {arg}")),
            },
        }
    }
    Ok(Some(addr))
}

#[tokio::main]
async fn main() -> ExitCode {
    let addr = match listen_addr() {
        Ok(Some(addr)) => addr,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        // Colours only on a terminal, not in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,pgwire=warn")),
        )
        .init();
    let listener = match TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("listening on {addr}");
    let server = Server::new(server::GlueSqlServer::new(), ServerConfig::default());
    let stopper = server.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("shutting down");
            stopper.shutdown();
        }
    });
    match server.serve(listener).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server failed: {e}");
            ExitCode::FAILURE
        }
    }
}
