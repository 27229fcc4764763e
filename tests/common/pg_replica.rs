//! A throwaway primary (`wal_level=replica`, password authentication over
//! TCP; a [`Postgres`] from `postgres.rs`) and hot standbys made with
//! `pg_basebackup -R`, each on its own port with its Unix socket in the
//! primary's temp dir; stopped and removed on drop. Included with
//! `#[path]`, next to `postgres.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::postgres::{Postgres, free_port, start_on_a_free_port};

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
    pub dir: PathBuf,
    pub primary: Node,
    pub standbys: Vec<Node>,
    /// Declared last: dropped (primary stopped, temp dir removed) after the
    /// standbys are stopped.
    pg: Postgres,
}

fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str().ok_or_else(|| "temp dir is not UTF-8".to_owned())
}

impl Replicated {
    /// Starts a primary and `standbys` hot standbys. `Err` is the reason to
    /// skip (no PostgreSQL installed).
    pub fn start(name: &str, standbys: usize, extra_conf: &str) -> Result<Replicated, String> {
        if Command::new("psql").arg("--version").output().is_err() {
            return Err("`psql` is not installed".into());
        }
        let mut pg = Postgres::init(&format!("{name}-repl"), |_| Ok(()))?;
        let data = pg.data_dir();
        // Every role but postgres logs in over TCP with SCRAM (the proxy
        // tests add roles of their own).
        let hba = "local all all trust\nlocal replication all trust\n\
                   host all postgres 127.0.0.1/32 trust\n\
                   host all all 127.0.0.1/32 scram-sha-256\n";
        write_as(&pg, &data.join("pg_hba.conf"), hba, false)?;
        let conf = format!(
            "\nwal_level = replica\nmax_wal_senders = 10\nhot_standby = on\n\
             max_connections = 200\npassword_encryption = 'scram-sha-256'\n{extra_conf}\n"
        );
        write_as(&pg, &data.join("postgresql.conf"), &conf, true)?;
        pg.start_server("")?;
        let mut group = Replicated {
            dir: pg.dir.clone(),
            primary: Node {
                port: pg.port,
                data,
            },
            standbys: Vec::new(),
            pg,
        };
        group.psql(
            group.primary.port,
            "postgres",
            &format!("CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'"),
        )?;
        group.psql(
            group.primary.port,
            "postgres",
            &format!("CREATE DATABASE appdb OWNER {USER}"),
        )?;
        for i in 0..standbys {
            let mut sport = free_port()?;
            let sdata = group.dir.join(format!("standby{i}"));
            let pport = group.primary.port.to_string();
            group.pg.run(
                "pg_basebackup",
                &[
                    "-h",
                    path_str(&group.dir)?,
                    "-p",
                    &pport,
                    "-U",
                    "postgres",
                    "-D",
                    path_str(&sdata)?,
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                    "--no-sync",
                ],
            )?;
            let log = sdata.with_extension("log");
            start_on_a_free_port(&mut sport, &log, |port| group.pg_ctl_start(&sdata, port))?;
            group.standbys.push(Node {
                port: sport,
                data: sdata,
            });
        }
        Ok(group)
    }

    /// Starts a standby's server (the primary's options are in its own
    /// `postgresql.conf`, copied by `pg_basebackup`; the port is its own).
    fn pg_ctl_start(&self, data: &Path, port: u16) -> Result<(), String> {
        let log = data.with_extension("log");
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.dir.display()
        );
        self.pg.run(
            "pg_ctl",
            &[
                "-D",
                path_str(data)?,
                "-o",
                &opts,
                "-l",
                path_str(&log)?,
                "-w",
                "start",
            ],
        )
    }

    fn pg_ctl(&self, data: &Path, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["-D", path_str(data)?];
        all.extend_from_slice(args);
        self.pg.run("pg_ctl", &all)
    }

    /// Stops standby `i` (fast shutdown).
    pub fn stop_standby(&self, i: usize) -> Result<(), String> {
        self.pg_ctl(&self.standbys[i].data, &["-m", "fast", "-w", "stop"])
    }

    /// Stops the primary (fast shutdown).
    pub fn stop_primary(&self) -> Result<(), String> {
        self.pg_ctl(&self.primary.data, &["-m", "fast", "-w", "stop"])
    }

    /// Restarts the primary (fast shutdown: its sessions are ended; the
    /// same options again).
    pub fn restart_primary(&self) -> Result<(), String> {
        let log = self.dir.join("log.restart");
        let log = path_str(&log)?;
        self.pg_ctl(
            &self.primary.data,
            &["-m", "fast", "-l", log, "-w", "restart"],
        )
    }

    /// Promotes standby `i` (`pg_ctl promote`, waiting for it).
    pub fn promote(&self, i: usize) -> Result<(), String> {
        self.pg_ctl(&self.standbys[i].data, &["-w", "promote"])
    }

    /// Starts standby `i` again.
    pub fn start_standby(&self, i: usize) -> Result<(), String> {
        self.pg_ctl_start(&self.standbys[i].data, self.standbys[i].port)
    }

    /// Runs SQL as `postgres` over the Unix socket; returns psql's
    /// unaligned output.
    pub fn psql(&self, port: u16, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.dir)
            .args([
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ])
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "psql failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
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

/// Writes (or appends to) a file of the server's, handing it to the
/// server's user.
fn write_as(pg: &Postgres, path: &Path, text: &str, append: bool) -> Result<(), String> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| e.to_string())?;
    f.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    if pg.as_nobody {
        Command::new("chown")
            .args(["nobody:", path_str(path)?])
            .status()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

impl Drop for Replicated {
    fn drop(&mut self) {
        for n in &self.standbys {
            let _ = self.pg_ctl(&n.data, &["-m", "immediate", "-w", "stop"]);
        }
        // `pg` stops the primary and removes the temp dir.
    }
}
