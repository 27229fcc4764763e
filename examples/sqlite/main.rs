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
//! Without flags any user name and no password are accepted. With
//! passwords and TLS:
//!
//! ```sh
//! cargo run --release --example sqlite -- --auth scram-sha-256 --user alice:secret \
//!     --tls-cert server.crt --tls-key server.key
//! psql 'host=localhost user=alice sslmode=require channel_binding=require'
//! ```
//!
//! `--unix-socket-dir DIR` also listens on `DIR/.s.PGSQL.<port>` (`psql -h
//! DIR -p PORT`); `--proxy-protocol optional|required` reads HAProxy's
//! PROXY header (v1/v2) from the peers `--proxy-trusted NET` allows, and
//! `inet_client_addr()` answers the address it declares. Large objects
//! (pgJDBC's `LargeObjectManager`) work through the function call protocol.
//!
//! It is also a logical-replication publisher on the same port:
//!
//! ```sql
//! CREATE PUBLICATION p FOR TABLE t;   -- or FOR ALL TABLES; ALTER/DROP PUBLICATION
//! SELECT pg_create_logical_replication_slot('s', 'pgoutput');
//! ```
//!
//! then `pg_recvlogical -d 'host=127.0.0.1 dbname=postgres' --slot s --start
//! -o proto_version=1 -o publication_names=p -f -` streams the committed
//! changes, and a PostgreSQL can subscribe (`CREATE SUBSCRIPTION s
//! CONNECTION 'host=127.0.0.1 port=5432 dbname=postgres' PUBLICATION p`
//! copies the tables, then applies inserts, updates and deletes). Slots and
//! the changes they still need are kept in the database file.
//!
//! `RUST_LOG=debug` logs every query.

mod server;
mod unix_socket;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use pgwire::server::{IpNetwork, ProxyProtocolMode, Server, ServerConfig, TlsAcceptor};
use server::{AuthConfig, DbLocation, SqliteServer};

const USAGE: &str = "\
usage: sqlite [--listen ADDR] [--db PATH] [--busy-timeout MS]
              [--auth METHOD] [--user NAME:PASSWORD]...
              [--tls-cert PATH --tls-key PATH [--require-tls]]
              [--unix-socket-dir DIR] [--proxy-protocol MODE]
              [--proxy-trusted NET]...

  --listen ADDR        address to listen on (default 127.0.0.1:5432)
  --db PATH            SQLite database file (default: in memory, gone at exit)
  --busy-timeout MS    how long a statement waits for another session's
                       lock before failing with 55P03 (default 5000)
  --auth METHOD        trust (default), password, md5 or scram-sha-256
                       (SCRAM-SHA-256-PLUS too when TLS is on)
  --user NAME:PASSWORD a user who may connect (repeatable; needed by
                       every method but trust)
  --tls-cert PATH      certificate chain (PEM) for TLS: SSLRequest and
  --tls-key PATH       PostgreSQL 17's direct TLS (ALPN postgresql)
  --require-tls        refuse connections without TLS (28000)
  --unix-socket-dir DIR  also listen on the Unix socket DIR/.s.PGSQL.<port>
                       (removed at shutdown)
  --proxy-protocol MODE  off (default), optional or required: read a PROXY
                       protocol v1/v2 header before startup
  --proxy-trusted NET  a network allowed to send PROXY headers, e.g.
                       10.0.0.0/8 (repeatable; default: any peer)
  -h, --help           this help";

struct Args {
    listen: SocketAddr,
    db: DbLocation,
    busy_timeout: Option<Duration>,
    auth: AuthConfig,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    require_tls: bool,
    unix_socket_dir: Option<PathBuf>,
    proxy_protocol: ProxyProtocolMode,
    proxy_trusted: Vec<IpNetwork>,
}

fn parse_args() -> Result<Args, String> {
    let mut listen: SocketAddr = ([127, 0, 0, 1], 5432).into();
    let mut db = DbLocation::Memory;
    let mut busy_timeout = None;
    let mut method = "trust".to_owned();
    let mut users = Vec::new();
    let (mut tls_cert, mut tls_key, mut require_tls) = (None, None, false);
    let mut unix_socket_dir = None;
    let mut proxy_protocol = ProxyProtocolMode::Off;
    let mut proxy_trusted = Vec::new();
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
            "--auth" => method = value("--auth")?,
            "--user" => {
                let v = value("--user")?;
                let (name, password) = v
                    .split_once(':')
                    .filter(|(n, p)| !n.is_empty() && !p.is_empty())
                    .ok_or("--user needs NAME:PASSWORD")?;
                users.push((name.to_owned(), password.to_owned()));
            }
            "--tls-cert" => tls_cert = Some(PathBuf::from(value("--tls-cert")?)),
            "--tls-key" => tls_key = Some(PathBuf::from(value("--tls-key")?)),
            "--require-tls" => require_tls = true,
            "--unix-socket-dir" => {
                unix_socket_dir = Some(PathBuf::from(value("--unix-socket-dir")?));
            }
            "--proxy-protocol" => proxy_protocol = value("--proxy-protocol")?.parse()?,
            "--proxy-trusted" => {
                let v = value("--proxy-trusted")?;
                proxy_trusted.push(v.parse::<IpNetwork>().map_err(|e| e.to_string())?);
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    let mut auth = AuthConfig::new(&method)?;
    if method != "trust" && users.is_empty() {
        return Err(format!(
            "--auth {method} needs at least one --user NAME:PASSWORD"
        ));
    }
    for (name, password) in &users {
        auth.add_user(name, password);
    }
    if tls_cert.is_some() != tls_key.is_some() {
        return Err("--tls-cert and --tls-key go together".to_owned());
    }
    if require_tls && tls_cert.is_none() {
        return Err("--require-tls needs --tls-cert and --tls-key".to_owned());
    }
    Ok(Args {
        listen,
        db,
        busy_timeout,
        auth,
        tls_cert,
        tls_key,
        require_tls,
        unix_socket_dir,
        proxy_protocol,
        proxy_trusted,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        // Colours only on a terminal, not in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
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
    let mut config = ServerConfig::default();
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        match TlsAcceptor::from_pem_files(cert, key) {
            Ok(tls) => config = config.with_tls(tls).with_require_tls(args.require_tls),
            Err(e) => {
                eprintln!("cannot load TLS certificate/key: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    config = config.with_proxy_protocol(args.proxy_protocol, args.proxy_trusted.clone());
    let mut handlers = SqliteServer::new(args.db).with_auth(args.auth);
    if let Some(t) = args.busy_timeout {
        handlers = handlers.with_busy_timeout(t);
    }
    if let Some(e) = handlers.setup_error() {
        eprintln!("cannot open database {}: {e}", handlers.path().display());
        return ExitCode::FAILURE;
    }
    let bind_unix = |port| match &args.unix_socket_dir {
        None => Ok(None),
        Some(dir) => unix_socket::bind(dir, port).map(Some).map_err(|e| {
            eprintln!("{e}");
            ExitCode::FAILURE
        }),
    };
    // The Unix socket first: a live server on it is the likelier conflict,
    // and its message the clearer one. With port 0 (the system picks one)
    // it is named after the port TCP got, so it comes second.
    let mut unix = None;
    if args.listen.port() != 0 {
        match bind_unix(args.listen.port()) {
            Ok(u) => unix = u,
            Err(code) => return code,
        }
    }
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    // The bound address: with `--listen 127.0.0.1:0` the system picks the
    // port, and this line is how one learns it.
    let listening = listener.local_addr().unwrap_or(args.listen);
    if args.listen.port() == 0 {
        match bind_unix(listening.port()) {
            Ok(u) => unix = u,
            Err(code) => return code,
        }
    }
    tracing::info!(
        listen = %listening,
        db = %handlers.path().display(),
        "ready: psql -h {} -p {} -U postgres",
        listening.ip(),
        listening.port()
    );
    let server = Server::new(handlers, config);
    if let Some((listener, path)) = unix {
        tracing::info!("also listening on {}", path.display());
        let unix_server = server.clone();
        tokio::spawn(async move {
            // Removes the socket file when serving ends.
            let _socket = path;
            if let Err(e) = unix_server.serve_unix(listener.0).await {
                tracing::error!("Unix socket server error: {e}");
            }
        });
    }
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
