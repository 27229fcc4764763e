//! A throwaway primary (`wal_level=replica`, password authentication over
//! TCP) and hot standbys made with `pg_basebackup -R`, each on its own port
//! with its Unix socket in a temp dir; stopped and removed on drop.
//! Included with `#[path]`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The role tests connect as (SCRAM over TCP), and its password.
pub const USER: &str = "app";
pub const PASSWORD: &str = "app-secret";

/// One server of the group.
pub struct Node {
    pub port: u16,
    pub data: PathBuf,
}

/// A primary and its standbys.
pub struct Replicated {
    bindir: PathBuf,
    pub dir: PathBuf,
    as_nobody: bool,
    pub primary: Node,
    pub standbys: Vec<Node>,
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

impl Replicated {
    fn run(&self, program: &str, args: &[&str]) -> Result<String, String> {
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
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts a primary and `standbys` hot standbys. `Err` is the reason to
    /// skip (no PostgreSQL installed).
    pub fn start(name: &str, standbys: usize, extra_conf: &str) -> Result<Replicated, String> {
        let bindir = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .ok_or("`pg_config` is not installed")?;
        for tool in ["initdb", "pg_ctl", "pg_basebackup", "psql"] {
            if !bindir.join(tool).exists() {
                return Err(format!("`{tool}` is not installed in {bindir:?}"));
            }
        }
        let as_nobody = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let port = free_port()?;
        let dir =
            std::env::temp_dir().join(format!("pgwire-{name}-repl-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        if as_nobody {
            let ok = Command::new("chown")
                .args(["nobody:", dir.to_str().unwrap_or("")])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !ok {
                return Err("cannot hand the data directory to `nobody`".into());
            }
        }
        let mut group = Replicated {
            bindir,
            dir: dir.clone(),
            as_nobody,
            primary: Node {
                port,
                data: dir.join("primary"),
            },
            standbys: Vec::new(),
        };
        let data = group
            .primary
            .data
            .to_str()
            .ok_or("temp dir is not UTF-8")?
            .to_owned();
        group.run(
            "initdb",
            &[
                "-D",
                &data,
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
        let hba = format!(
            "local all all trust\nlocal replication all trust\n\
             host all postgres 127.0.0.1/32 trust\n\
             host all {USER} 127.0.0.1/32 scram-sha-256\n"
        );
        write_as(&group, &group.primary.data.join("pg_hba.conf"), &hba)?;
        let conf = format!(
            "\nwal_level = replica\nmax_wal_senders = 10\nhot_standby = on\nfsync = off\n\
             listen_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             max_connections = 200\npassword_encryption = 'scram-sha-256'\n{extra_conf}\n",
            dir.display()
        );
        append_as(&group, &group.primary.data.join("postgresql.conf"), &conf)?;
        group.pg_ctl_start(&group.primary.data, port)?;
        group.psql(
            port,
            "postgres",
            &format!("CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'"),
        )?;
        group.psql(
            port,
            "postgres",
            &format!("CREATE DATABASE appdb OWNER {USER}"),
        )?;
        for i in 0..standbys {
            let sport = free_port()?;
            let sdata = dir.join(format!("standby{i}"));
            let sdata_s = sdata.to_str().ok_or("temp dir is not UTF-8")?.to_owned();
            let dir_s = dir.to_str().unwrap_or("").to_owned();
            let pport = port.to_string();
            group.run(
                "pg_basebackup",
                &[
                    "-h",
                    &dir_s,
                    "-p",
                    &pport,
                    "-U",
                    "postgres",
                    "-D",
                    &sdata_s,
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                    "--no-sync",
                ],
            )?;
            group.pg_ctl_start(&sdata, sport)?;
            group.standbys.push(Node {
                port: sport,
                data: sdata,
            });
        }
        Ok(group)
    }

    fn pg_ctl_start(&self, data: &Path, port: u16) -> Result<(), String> {
        let log = data.with_extension("log");
        let opts = format!("-p {port}");
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap_or(""),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap_or("log"),
                "-w",
                "start",
            ],
        )
        .map(|_| ())
    }

    /// Stops standby `i` (fast shutdown).
    pub fn stop_standby(&self, i: usize) -> Result<(), String> {
        let data = self.standbys[i].data.to_str().unwrap_or("").to_owned();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])
            .map(|_| ())
    }

    /// Stops the primary (fast shutdown).
    pub fn stop_primary(&self) -> Result<(), String> {
        let data = self.primary.data.to_str().unwrap_or("").to_owned();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])
            .map(|_| ())
    }

    /// Promotes standby `i` (`pg_ctl promote`, waiting for it).
    pub fn promote(&self, i: usize) -> Result<(), String> {
        let data = self.standbys[i].data.to_str().unwrap_or("").to_owned();
        self.run("pg_ctl", &["-D", &data, "-w", "promote"])
            .map(|_| ())
    }

    /// Starts standby `i` again.
    pub fn start_standby(&self, i: usize) -> Result<(), String> {
        self.pg_ctl_start(&self.standbys[i].data, self.standbys[i].port)
    }

    /// Runs SQL as `postgres` over the Unix socket; returns psql's
    /// unaligned output.
    pub fn psql(&self, port: u16, db: &str, sql: &str) -> Result<String, String> {
        let dir = self.dir.to_str().unwrap_or("").to_owned();
        let port = port.to_string();
        self.run(
            "psql",
            &[
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                &dir,
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ],
        )
    }

    /// Waits until standby `i` has replayed everything the primary wrote
    /// so far.
    pub fn wait_replayed(&self, i: usize) -> Result<(), String> {
        let lsn = self.psql(self.primary.port, "postgres", "SELECT pg_current_wal_lsn()")?;
        let lsn = lsn.trim();
        for _ in 0..200 {
            let ok = self.psql(
                self.standbys[i].port,
                "postgres",
                &format!("SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"),
            )?;
            if ok.trim() == "t" {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("standby {i} did not replay up to {lsn}"))
    }

    /// The connection string of a node, for the proxy's `--primary` /
    /// `--replica` (user, password and dbname are the proxy's).
    pub fn conninfo(port: u16) -> String {
        format!("host=127.0.0.1 port={port} sslmode=disable")
    }
}

fn write_as(g: &Replicated, path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| e.to_string())?;
    chown(g, path)
}

fn append_as(g: &Replicated, path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| e.to_string())?;
    f.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    chown(g, path)
}

fn chown(g: &Replicated, path: &Path) -> Result<(), String> {
    if g.as_nobody {
        Command::new("chown")
            .args(["nobody:", path.to_str().unwrap_or("")])
            .status()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

impl Drop for Replicated {
    fn drop(&mut self) {
        let mut nodes: Vec<&Node> = self.standbys.iter().collect();
        nodes.push(&self.primary);
        for n in nodes {
            let data = n.data.to_str().unwrap_or("").to_owned();
            let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
