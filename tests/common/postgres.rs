//! A throwaway PostgreSQL cluster (initdb in a temp dir, its own port, its
//! Unix socket in the temp dir), stopped and removed on drop: for tests
//! that compare our answers with PostgreSQL's. Included with `#[path]`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

pub struct Postgres {
    bindir: PathBuf,
    pub dir: PathBuf,
    pub port: u16,
    /// Server programs run as `nobody` (we are root): files written for
    /// the server must be handed to it.
    pub as_nobody: bool,
}

impl Postgres {
    /// Runs a server binary, as `nobody` when we are root (PostgreSQL
    /// refuses to run as root).
    pub fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let path = self.bindir.join(program);
        let out = if self.as_nobody {
            Command::new("runuser")
                .args(["-u", "nobody", "--"])
                .arg(&path)
                .args(args)
                .output()
        } else {
            Command::new(&path).args(args).output()
        }
        .map_err(|e| format!("{program}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    /// The settings pgwire reports to clients by default, for tests that
    /// compare values printed by both.
    pub const PGWIRE_DEFAULTS: &str = "-c TimeZone=UTC -c DateStyle='ISO, MDY' \
         -c IntervalStyle=postgres -c lc_monetary=C";

    /// Starts a cluster with `extra` server options (`-c name=value ...`).
    /// `Err` is the reason to skip.
    pub fn start(name: &str, extra: &str) -> Result<Postgres, String> {
        let mut pg = Postgres::init(name, |_| Ok(()))?;
        pg.start_server(extra)?;
        Ok(pg)
    }

    /// Creates the temp dir, lets `prepare` write files into it (TLS keys,
    /// for example; they are handed to the server's user afterwards) and
    /// runs `initdb`, without starting the server: for tests that edit
    /// `pg_hba.conf` or `postgresql.conf` first ([`data_dir`](Self::data_dir)).
    pub fn init(
        name: &str,
        prepare: impl FnOnce(&std::path::Path) -> Result<(), String>,
    ) -> Result<Postgres, String> {
        let bindir = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .ok_or("`pg_config` is not installed")?;
        if !bindir.join("initdb").exists() || !bindir.join("pg_ctl").exists() {
            return Err(format!("`initdb`/`pg_ctl` are not installed in {bindir:?}"));
        }
        let root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let port = free_port()?;
        let dir =
            std::env::temp_dir().join(format!("pgwire-{name}-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        prepare(&dir)?;
        if root {
            let ok = Command::new("chown")
                .args(["-R", "nobody:", dir.to_str().unwrap_or("")])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !ok {
                return Err("cannot hand the data directory to `nobody`".into());
            }
        }
        let pg = Postgres {
            bindir,
            dir,
            port,
            as_nobody: root,
        };
        let data = pg.data_dir();
        let data = data.to_str().ok_or("temp dir is not UTF-8")?;
        pg.run(
            "initdb",
            &[
                "-D",
                data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        Ok(pg)
    }

    /// The data directory (`initdb`'s `-D`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Starts the server of an [`init`](Self::init)ed cluster with `extra`
    /// server options (`-c name=value ...`). When another process took the
    /// port since it was picked, the server starts on a new one (`port`
    /// changes).
    pub fn start_server(&mut self, extra: &str) -> Result<(), String> {
        let data = self.data_dir();
        let data = data.to_str().ok_or("temp dir is not UTF-8")?;
        let log = self.dir.join("log");
        let mut port = self.port;
        let started = start_on_a_free_port(&mut port, &log, |port| {
            let opts = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off {extra}",
                self.dir.display()
            );
            self.run(
                "pg_ctl",
                &[
                    "-D",
                    data,
                    "-o",
                    &opts,
                    "-l",
                    log.to_str().unwrap_or("log"),
                    "-w",
                    "start",
                ],
            )
        });
        self.port = port;
        started
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// A tokio-postgres client for user and database `postgres`.
    pub async fn connect(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(
            &format!(
                "host=127.0.0.1 port={} user=postgres dbname=postgres",
                self.port
            ),
            tokio_postgres::NoTls,
        )
        .await
        .expect("connect to the test PostgreSQL");
        tokio::spawn(conn);
        client
    }
}

/// A port nothing listens on now. PostgreSQL cannot be given port 0, so
/// a test picks one and starts the server on it; another process may take
/// it in between (see [`start_on_a_free_port`]).
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Runs `start` (a server start on the port it is given) until it
/// succeeds, with a new `port` each time the server found its port taken
/// (its `log` says so; emptied for the next attempt), at most 5 times.
pub fn start_on_a_free_port(
    port: &mut u16,
    log: &std::path::Path,
    mut start: impl FnMut(u16) -> Result<(), String>,
) -> Result<(), String> {
    for attempt in 1.. {
        match start(*port) {
            Err(_) if attempt < 5 && port_was_taken(log) => *port = free_port()?,
            other => return other,
        }
    }
    unreachable!("the loop returns")
}

fn port_was_taken(log: &std::path::Path) -> bool {
    let taken = std::fs::read_to_string(log).is_ok_and(|l| l.contains("Address already in use"));
    let _ = std::fs::remove_file(log);
    taken
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
