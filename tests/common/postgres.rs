//! A throwaway PostgreSQL cluster for tests that compare with the real
//! thing: initdb in a temporary directory, its own port, stopped and
//! removed on drop. Include with `#[path = "common/postgres.rs"] mod pg;`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

/// A running cluster.
pub struct Postgres {
    bindir: PathBuf,
    dir: PathBuf,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    as_nobody: bool,
}

impl Postgres {
    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
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

    /// Starts a cluster (superuser `postgres`, trust, UTF8, locale C,
    /// TimeZone UTC). `Err` is the reason to skip.
    pub fn start(tag: &str) -> Result<Postgres, String> {
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
        let dir = std::env::temp_dir().join(format!("pgwire-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        if root {
            let ok = Command::new("chown")
                .args(["nobody:", dir.to_str().unwrap_or("")])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !ok {
                return Err("cannot hand the data directory to `nobody`".into());
            }
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let pg = Postgres {
            bindir,
            dir,
            port,
            as_nobody: root,
        };
        let data = pg.dir.join("data");
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
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c TimeZone=UTC \
             -c DateStyle='ISO, MDY'",
            pg.port,
            pg.dir.display()
        );
        let log = pg.dir.join("log");
        pg.run(
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
        )?;
        Ok(pg)
    }
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
