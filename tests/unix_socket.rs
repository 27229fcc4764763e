//! Serving over a Unix-domain socket: `Server::serve_unix` with
//! tokio-postgres and psql (`-h DIR -p PORT`, libpq's `.s.PGSQL.<port>`),
//! what `ClientInfo` says about such a connection, SSLRequest answered `N`,
//! and the sqlite example's `--unix-socket-dir`.
#![cfg(unix)]

mod common;
#[path = "common/recording.rs"]
mod recording;
#[allow(dead_code)]
#[path = "common/sqlite_example.rs"]
mod sqlite_example;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{RawConn, have_program, startup_packet, stderr, stdout};
use pgwire::api::ClientInfo;
use pgwire::server::{Server, ServerConfig};
use recording::Recording;
use sqlite_example::{Example, TempDir};

/// A server on `dir/.s.PGSQL.<port>`, on its own runtime thread.
struct UnixServer {
    server: Server<Recording>,
    seen: Arc<Mutex<Vec<ClientInfo>>>,
    dir: TempDir,
    port: u16,
}

impl UnixServer {
    fn start(config: ServerConfig) -> UnixServer {
        let dir = TempDir::new("unix");
        let port = 5432;
        let (handlers, seen) = Recording::new();
        let server = Server::new(handlers, config);
        let path = socket_path(&dir.0, port);
        let s = server.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::UnixListener::bind(&path).expect("bind");
                tx.send(()).expect("started");
                let _ = s.serve_unix(listener).await;
            });
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("server started");
        UnixServer {
            server,
            seen,
            dir,
            port,
        }
    }

    fn dir(&self) -> &str {
        self.dir.0.to_str().expect("UTF-8 temp dir")
    }
}

impl Drop for UnixServer {
    fn drop(&mut self) {
        self.server.shutdown();
    }
}

fn socket_path(dir: &Path, port: u16) -> PathBuf {
    dir.join(format!(".s.PGSQL.{port}"))
}

#[tokio::test]
async fn tokio_postgres_over_a_unix_socket_and_client_info() {
    let s = UnixServer::start(ServerConfig::default());
    let (client, conn) = tokio_postgres::connect(
        &format!("host={} port={} user=alice dbname=test", s.dir(), s.port),
        tokio_postgres::NoTls,
    )
    .await
    .expect("connect over the Unix socket");
    tokio::spawn(conn);
    client
        .batch_execute(
            "CREATE TABLE u (id int, name text); INSERT INTO u VALUES (1, 'one'), (2, 'two')",
        )
        .await
        .unwrap();
    let rows = client
        .query("SELECT name FROM u WHERE id = $1", &[&2i32])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, String>(0), "two");
    // As PostgreSQL: no client address over a Unix socket.
    let row = client
        .query_one(
            "SELECT inet_client_addr()::text, inet_client_port()::text",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0), None);
    assert_eq!(row.get::<_, Option<String>>(1), None);

    let info = s.seen.lock().unwrap().last().cloned().expect("a session");
    assert!(info.is_unix_socket());
    assert_eq!(info.peer_addr(), None);
    assert_eq!(info.user(), "alice");
    let creds = info.peer_credentials().expect("peer credentials on Linux");
    // SAFETY: getuid has no preconditions.
    let (uid, pid) = (unsafe_free_uid(), std::process::id() as i32);
    assert_eq!(creds.uid, uid);
    assert_eq!(creds.pid, Some(pid), "the peer is this test process");
}

/// This process's real user ID, from /proc (no libc dependency).
fn unsafe_free_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|u| u.parse().ok())
        .expect("Uid line")
}

#[tokio::test]
async fn ssl_request_on_a_unix_socket_is_answered_n_even_with_tls_configured() {
    let acceptor = common::auth::pki().acceptor();
    let s = UnixServer::start(
        ServerConfig::default()
            .with_tls(acceptor)
            .with_require_tls(true),
    );
    let stream = tokio::net::UnixStream::connect(socket_path(&s.dir.0, s.port))
        .await
        .expect("connect");
    let mut c = RawConn::new(stream);
    c.send(&[0, 0, 0, 8, 4, 210, 22, 47]).await;
    assert_eq!(c.read_byte().await, Some(b'N'));
    // Plain startup then works: a local socket needs no TLS, as PostgreSQL's
    // `local` lines (require_tls applies to TCP only).
    c.send(&startup_packet(3, 0, &[("user", "postgres")])).await;
    let msgs = c.read_until(b'Z').await;
    assert_eq!(msgs[0].tag, b'R', "{msgs:?}");
    assert!(!s.seen.lock().unwrap().last().expect("session").is_tls());
}

#[test]
fn psql_and_the_example_unix_socket_dir() {
    if !have_program("psql") {
        println!("SKIPPED psql_and_the_example_unix_socket_dir: psql is not installed");
        return;
    }
    let dir = TempDir::new("unix-example");
    let dir_str = dir.0.to_str().expect("UTF-8").to_owned();
    let Some(mut example) = Example::start("unix_socket_dir", &["--unix-socket-dir", &dir_str])
    else {
        return;
    };
    let path = socket_path(&dir.0, example.port);
    assert!(path.exists(), "{} was not created", path.display());
    let port = example.port.to_string();
    let psql = |extra: &[&str]| {
        std::process::Command::new("psql")
            .args([
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                &dir_str,
                "-p",
                &port,
                "-U",
                "postgres",
            ])
            .args(extra)
            .output()
            .expect("run psql")
    };
    let out = psql(&[
        "-c",
        "CREATE TABLE t (x int)",
        "-c",
        "INSERT INTO t VALUES (40), (2)",
        "-c",
        "SELECT sum(x) FROM t",
        "-c",
        "SELECT inet_client_addr() IS NULL",
    ]);
    assert!(out.status.success(), "psql: {}", stderr(&out));
    assert_eq!(stdout(&out), "CREATE TABLE\nINSERT 0 2\n42\nt\n");

    // A second server on the same socket: a clear error, the first keeps it.
    let bin = sqlite_example::example_binary().expect("built");
    let second = std::process::Command::new(bin)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--unix-socket-dir",
            &dir_str,
        ])
        .output()
        .expect("run the example");
    assert!(!second.status.success());
    let err = stderr(&second);
    assert!(
        err.contains("another server is already running") && err.contains(".s.PGSQL."),
        "{err}"
    );
    assert!(path.exists());
    let out = psql(&["-c", "SELECT count(*) FROM t"]);
    assert_eq!(stdout(&out), "2\n", "{}", stderr(&out));

    // Removed on shutdown.
    example.stop();
    assert!(!path.exists(), "{} was left behind", path.display());
}

#[test]
fn a_stale_socket_file_is_replaced() {
    let dir = TempDir::new("unix-stale");
    let dir_str = dir.0.to_str().expect("UTF-8").to_owned();
    // Reserve a port for the example's TCP listener, then leave a dead
    // socket file with its name.
    let port = sqlite_example::free_port();
    let path = socket_path(&dir.0, port);
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    assert!(path.exists());
    let Some(bin) = sqlite_example::example_binary() else {
        println!("SKIPPED a_stale_socket_file_is_replaced: example not built");
        return;
    };
    let mut child = std::process::Command::new(bin)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--unix-socket-dir",
            &dir_str,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut served = false;
    while std::time::Instant::now() < deadline {
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            served = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
    assert!(served, "the example did not take over the stale socket");
}
