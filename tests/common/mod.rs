//! Shared helpers for the integration tests: start a server on an
//! ephemeral port, find outside programs (psql, pgbench, python with
//! psycopg) and run them, and speak raw protocol bytes.
#![allow(dead_code)]

pub mod auth;
pub mod hardening;
pub mod scripted;

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use pgwire::api::ServerHandlers;
use pgwire::server::{Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The checkout the tests run in (`tests/`, `examples/` and the driver
/// scripts are under it). Read when the test runs, from what `cargo test`
/// sets: `env!` would keep the checkout the test binary was built in, and
/// a target directory shared by two checkouts of the same sources serves
/// both with one binary.
pub fn repo_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

/// A server running on 127.0.0.1 with an ephemeral port, on its own
/// runtime thread, so tests using blocking clients (psql) work too.
pub struct TestServer<H: ServerHandlers> {
    pub addr: SocketAddr,
    pub server: Server<H>,
    /// Signalled when the server's runtime is gone (`serve` returned and
    /// its sessions were dropped).
    /// (In a mutex so that a `TestServer` stays `Sync`.)
    stopped: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

impl<H: ServerHandlers> TestServer<H> {
    pub fn start(handlers: H, config: ServerConfig) -> Self {
        let server = Server::new(handlers, config);
        let (tx, rx) = std::sync::mpsc::channel();
        let s = server.clone();
        let (stopped_tx, stopped) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                let _ = s.serve(listener).await;
            });
            drop(rt);
            let _ = stopped_tx.send(());
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("server started");
        TestServer {
            addr,
            server,
            stopped: std::sync::Mutex::new(stopped),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A tokio-postgres connection string for this server.
    pub fn conn_str(&self, user: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={user} dbname=test sslmode=disable",
            self.port()
        )
    }

    /// Connects with tokio-postgres (no TLS) and drives the connection on
    /// the current runtime.
    pub async fn connect(&self) -> tokio_postgres::Client {
        self.connect_as("postgres").await
    }

    pub async fn connect_as(&self, user: &str) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.conn_str(user), tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    }
}

impl<H: ServerHandlers> Drop for TestServer<H> {
    fn drop(&mut self) {
        self.server.shutdown();
        // Give the graceful shutdown a moment, so that the handlers are
        // dropped before the test process exits (the SQLite example removes
        // its temporary database then). Sessions still running a query keep
        // it longer; the test does not wait for those.
        if let Ok(stopped) = self.stopped.get_mut() {
            let _ = stopped.recv_timeout(Duration::from_secs(3));
        }
    }
}

/// Whether `program` runs (`program --version` succeeds).
pub fn have_program(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Prints a skip line and returns true if `program` is missing.
pub fn skip_without(program: &str, test: &str) -> bool {
    if have_program(program) {
        return false;
    }
    eprintln!("SKIPPED {test}: `{program}` is not installed (CI installs it)");
    true
}

/// The python interpreter, if python3 has psycopg (3) importable.
pub fn python_with_psycopg() -> Option<&'static str> {
    static FOUND: OnceLock<Option<&'static str>> = OnceLock::new();
    *FOUND.get_or_init(|| python_can_import("psycopg").then_some("python3"))
}

/// Whether python3 can import `modules` (a comma-separated import list,
/// `"sqlalchemy, psycopg2"`).
pub fn python_can_import(modules: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs `tests/drivers/<script>` with python3, the server's `port` and
/// `args`; panics (naming `server`) unless its output ends with OK.
/// Returns the output's lines.
pub fn python_driver_lines(script: &str, port: u16, args: &[&str], server: &str) -> Vec<String> {
    let path = repo_dir().join("tests/drivers").join(script);
    let out = Command::new("python3")
        .arg(&path)
        .arg(port.to_string())
        .args(args)
        .output()
        .expect("run python3");
    let text = stdout(&out);
    assert!(
        text.trim_end().ends_with("OK"),
        "{script} {args:?} against {server} failed:\n{text}\n{}",
        stderr(&out)
    );
    text.lines().map(str::to_owned).collect()
}

/// Runs psql against `port` with `args` (after the connection options),
/// without reading ~/.psqlrc, in unaligned tuples-only mode unless the
/// args say otherwise. Returns the output.
pub fn psql(port: u16, user: &str, args: &[&str]) -> Output {
    Command::new("psql")
        .args([
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            user,
            "-d",
            "test",
        ])
        .args(args)
        .env("PGSSLMODE", "disable")
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("run psql")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

// ------------------------------------------------------------- raw bytes

/// A startup packet for protocol `major.minor` with `params`.
pub fn startup_packet(major: u16, minor: u16, params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&major.to_be_bytes());
    body.extend_from_slice(&minor.to_be_bytes());
    for (k, v) in params {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// A typed message: tag, length, body.
pub fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A Parse of the unnamed statement with the given parameter types.
pub fn parse_message(sql: &str, types: &[u32]) -> Vec<u8> {
    let mut b = vec![0];
    b.extend_from_slice(sql.as_bytes());
    b.push(0);
    b.extend_from_slice(&(types.len() as u16).to_be_bytes());
    for t in types {
        b.extend_from_slice(&t.to_be_bytes());
    }
    message(b'P', &b)
}

/// An Execute of `portal` with a row limit (0: all rows).
pub fn execute_message(portal: &str, max_rows: i32) -> Vec<u8> {
    let mut b = portal.as_bytes().to_vec();
    b.push(0);
    b.extend_from_slice(&max_rows.to_be_bytes());
    message(b'E', &b)
}

/// A raw protocol connection for hand-written byte sequences, over any
/// stream (plain TCP, or TLS in the TLS tests).
pub struct RawConn<S> {
    pub stream: S,
    buf: Vec<u8>,
}

/// A raw protocol connection over TCP.
pub type RawClient = RawConn<TcpStream>;

/// One backend message: its tag and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub tag: u8,
    pub body: Vec<u8>,
}

impl RawMessage {
    /// The SQLSTATE of an ErrorResponse/NoticeResponse.
    pub fn sqlstate(&self) -> Option<String> {
        self.field(b'C')
    }

    /// A field of an ErrorResponse/NoticeResponse.
    pub fn field(&self, code: u8) -> Option<String> {
        let mut rest = &self.body[..];
        while let Some((&c, tail)) = rest.split_first() {
            if c == 0 {
                return None;
            }
            let end = tail.iter().position(|&b| b == 0)?;
            if c == code {
                return Some(String::from_utf8_lossy(&tail[..end]).into_owned());
            }
            rest = &tail[end + 1..];
        }
        None
    }
}

impl RawClient {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).ok();
        RawConn::new(stream)
    }

    /// Connects and completes a trust startup up to ReadyForQuery.
    pub async fn startup(addr: SocketAddr) -> Self {
        let mut c = Self::connect(addr).await;
        c.send(&startup_packet(
            3,
            0,
            &[("user", "postgres"), ("database", "test")],
        ))
        .await;
        c.read_until(b'Z').await;
        c
    }
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> RawConn<S> {
    pub fn new(stream: S) -> Self {
        RawConn {
            stream,
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
        self.stream.flush().await.expect("flush");
    }

    /// Reads one byte (the answer to SSLRequest/GSSENCRequest).
    pub async fn read_byte(&mut self) -> Option<u8> {
        if let Some(&b) = self.buf.first() {
            self.buf.remove(0);
            return Some(b);
        }
        let mut b = [0u8; 1];
        match tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut b)).await {
            Ok(Ok(1)) => Some(b[0]),
            _ => None,
        }
    }

    /// The next backend message, or None at EOF (10 s timeout panics).
    pub async fn read_message(&mut self) -> Option<RawMessage> {
        loop {
            if self.buf.len() >= 5 {
                let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]])
                    as usize;
                if self.buf.len() > len {
                    let tag = self.buf[0];
                    let body = self.buf[5..1 + len].to_vec();
                    self.buf.drain(..1 + len);
                    return Some(RawMessage { tag, body });
                }
            }
            let mut chunk = [0u8; 8192];
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
                .await
                .expect("timed out waiting for the server")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads messages up to and including the first with `tag`.
    pub async fn read_until(&mut self, tag: u8) -> Vec<RawMessage> {
        let mut out = Vec::new();
        loop {
            let m = self
                .read_message()
                .await
                .unwrap_or_else(|| panic!("EOF before '{}'; got {out:?}", tag as char));
            let done = m.tag == tag;
            out.push(m);
            if done {
                return out;
            }
        }
    }

    /// Whether the server closed the connection (EOF within 10 s).
    pub async fn is_closed(&mut self) -> bool {
        loop {
            match self.read_message().await {
                None => return true,
                Some(_) => continue,
            }
        }
    }
}

/// The tags of `msgs` as a string, e.g. "12TDCZ".
pub fn tags(msgs: &[RawMessage]) -> String {
    msgs.iter().map(|m| m.tag as char).collect()
}
