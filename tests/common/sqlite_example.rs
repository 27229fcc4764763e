//! The `sqlite` example binary as a child process, with its log captured
//! in a file: for tests of its command-line flags (Unix socket, PROXY
//! protocol). Included with `#[path]` by the tests that need it.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The example binary cargo built next to this test.
pub fn example_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let bin = profile_dir
        .join("examples")
        .join(format!("sqlite{}", std::env::consts::EXE_SUFFIX));
    bin.exists().then_some(bin)
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A scratch directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "pgwire-{name}-{}-{}",
            std::process::id(),
            free_port()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The port in the example's "ready: psql -h HOST -p PORT ..." log line.
fn ready_port(log: &str) -> Option<u16> {
    let rest = &log[log.find("ready: psql -h ")? + "ready: psql -h ".len()..];
    let mut words = rest.split_whitespace();
    let _host = words.next()?;
    if words.next()? != "-p" {
        return None;
    }
    words.next()?.parse().ok()
}

/// A running example, stopped with SIGINT (a clean shutdown) on drop.
pub struct Example {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Example {
    /// Starts the example on a free port with `args` and waits until it
    /// accepts TCP connections. `None` (with a SKIPPED line) if the binary
    /// was not built.
    pub fn start(test: &str, args: &[&str]) -> Option<Example> {
        let Some(bin) = example_binary() else {
            println!(
                "SKIPPED {test}: the sqlite example binary was not built (run `cargo test`, which builds examples)"
            );
            return None;
        };
        // Port 0, and the port read from the example's "ready" line: a
        // port picked here and freed before the example binds it can be
        // taken by another test's example in between.
        let log = std::env::temp_dir().join(format!(
            "pgwire-{test}-{}-{}.log",
            std::process::id(),
            free_port()
        ));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(bin)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the example");
        let mut example = Example {
            child,
            port: 0,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(port) = ready_port(&example.log_text()) {
                example.port = port;
                break;
            }
            if let Ok(Some(status)) = example.child.try_wait() {
                panic!("the example exited ({status}): {}", example.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "the example did not start listening: {}",
                example.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        while std::net::TcpStream::connect(("127.0.0.1", example.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the example did not accept connections"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(example)
    }

    /// What the example logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the example with SIGINT and waits for it to exit.
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let interrupted = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if interrupted {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.log);
    }
}
