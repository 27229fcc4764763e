//! A PostgreSQL-compatible server over SQLite.
//!
//! ```sh
//! cargo run --release --example sqlite                  # 127.0.0.1:5432, in-memory
//! cargo run --release --example sqlite -- --listen 127.0.0.1:55432 --db /tmp/my.db
//! psql -h 127.0.0.1 -U postgres
//! ```
//!
//! Then, in psql:
//!
//! ```sql
//! CREATE TABLE t (id serial PRIMARY KEY, name text, created timestamptz DEFAULT CURRENT_TIMESTAMP);
//! INSERT INTO t (name) VALUES ('one'), ('two');
//! SELECT * FROM t;
//! ```
//!
//! Any user name and no password are accepted. `RUST_LOG=debug` logs every
//! query.

mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use pgwire::server::{Server, ServerConfig};
use server::{DbLocation, SqliteServer};

const USAGE: &str = "\
usage: sqlite [--listen ADDR] [--db PATH] [--busy-timeout MS]

  --listen ADDR        address to listen on (default 127.0.0.1:5432)
  --db PATH            SQLite database file (default: in memory, gone at exit)
  --busy-timeout MS    how long a statement waits for another session's
                       lock before failing with 55P03 (default 5000)
  -h, --help           this help";

struct Args {
    listen: SocketAddr,
    db: DbLocation,
    busy_timeout: Option<Duration>,
}

fn parse_args() -> Result<Args, String> {
    let mut listen: SocketAddr = ([127, 0, 0, 1], 5432).into();
    let mut db = DbLocation::Memory;
    let mut busy_timeout = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--listen" => {
                let v = value("--listen")?;
                listen = v
                    .parse()
                    .map_err(|e| format!("--listen {v}: {e} (expected e.g. 127.0.0.1:5432)"))?;
            }
            "--db" => db = DbLocation::File(PathBuf::from(value("--db")?)),
            "--busy-timeout" => {
                let v = value("--busy-timeout")?;
                let ms: u64 = v
                    .parse()
                    .map_err(|_| format!("--busy-timeout {v}: expected milliseconds"))?;
                busy_timeout = Some(Duration::from_millis(ms));
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Args {
        listen,
        db,
        busy_timeout,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let mut handlers = SqliteServer::new(args.db);
    if let Some(t) = args.busy_timeout {
        handlers = handlers.with_busy_timeout(t);
    }
    if let Some(e) = handlers.setup_error() {
        eprintln!("cannot open database {}: {e}", handlers.path().display());
        return ExitCode::FAILURE;
    }
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        listen = %args.listen,
        db = %handlers.path().display(),
        "ready: psql -h {} -p {} -U postgres",
        args.listen.ip(),
        args.listen.port()
    );
    let server = Server::new(handlers, ServerConfig::default());
    let stopper = server.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("shutting down");
            stopper.shutdown();
        }
    });
    if let Err(e) = server.serve(listener).await {
        eprintln!("server error: {e}");
        return ExitCode::FAILURE;
    }
    // Dropping the server removes an in-memory database's file.
    drop(server);
    ExitCode::SUCCESS
}
