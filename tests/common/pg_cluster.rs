//! A throwaway PostgreSQL cluster for client tests: `initdb` in a temp
//! directory, pg_hba lines per authentication method, users with passwords
//! stored as SCRAM and MD5, `ssl = on` with a CA and server certificate
//! made by rcgen, the Unix socket in the temp directory. Stopped and
//! removed on drop. `start` returns `Err(reason)` when the server binaries
//! are missing (the caller prints `SKIPPED`).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// Users the cluster knows, with the pg_hba method that applies to them
/// over TCP: (user, password, method).
pub const USERS: &[(&str, &str, &str)] = &[
    ("trust_user", "", "trust"),
    ("pw_user", "pw secret", "password"),
    ("md5_user", "md5 secret", "md5"),
    ("scram_user", "scram sécret", "scram-sha-256"),
    ("tls_user", "tls secret", "scram-sha-256"),
];

/// A running cluster.
pub struct PgCluster {
    bindir: PathBuf,
    pub dir: PathBuf,
    pub port: u16,
    as_nobody: bool,
}

impl PgCluster {
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

    /// The Unix socket directory.
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate (PEM file) that signed the server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// Starts a cluster; `name` keeps concurrent test binaries apart.
    pub fn start(name: &str, extra_conf: &[&str]) -> Result<PgCluster, String> {
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
        let dir = std::env::temp_dir().join(format!("pgwire-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let pg = PgCluster {
            bindir,
            dir,
            port,
            as_nobody: root,
        };
        pg.write_certs()?;
        if root {
            let ok = Command::new("chown")
                .args(["-R", "nobody:", pg.dir.to_str().unwrap_or("")])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !ok {
                return Err("cannot hand the data directory to `nobody`".into());
            }
        }
        let data = pg.dir.join("data");
        let data_s = data.to_str().ok_or("temp dir is not UTF-8")?;
        pg.run(
            "initdb",
            &[
                "-D",
                data_s,
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
        let mut hba = String::from("local all all trust\n");
        for (user, _, method) in USERS {
            if *user == "tls_user" {
                hba.push_str("hostssl all tls_user 127.0.0.1/32 scram-sha-256\n");
                hba.push_str("hostnossl all tls_user 127.0.0.1/32 reject\n");
            } else {
                hba.push_str(&format!("host all {user} 127.0.0.1/32 {method}\n"));
            }
        }
        hba.push_str("host all all 127.0.0.1/32 trust\n");
        std::fs::write(data.join("pg_hba.conf"), hba).map_err(|e| e.to_string())?;
        let mut conf = format!(
            "port = {}\nunix_socket_directories = '{}'\nlisten_addresses = '127.0.0.1'\nfsync = off\n\
             ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nssl_ca_file = '{}'\n\
             TimeZone = 'UTC'\nDateStyle = 'ISO, MDY'\nmax_connections = 50\n",
            pg.port,
            pg.dir.display(),
            pg.dir.join("server.crt").display(),
            pg.dir.join("server.key").display(),
            pg.dir.join("ca.crt").display(),
        );
        for line in extra_conf {
            conf.push_str(line);
            conf.push('\n');
        }
        let mut old =
            std::fs::read_to_string(data.join("postgresql.conf")).map_err(|e| e.to_string())?;
        old.push_str(&conf);
        std::fs::write(data.join("postgresql.conf"), old).map_err(|e| e.to_string())?;
        let log = pg.dir.join("log");
        pg.run(
            "pg_ctl",
            &[
                "-D",
                data_s,
                "-l",
                log.to_str().unwrap_or("log"),
                "-w",
                "start",
            ],
        )?;
        Ok(pg)
    }

    fn write_certs(&self) -> Result<(), String> {
        let e = |e: rcgen::Error| e.to_string();
        let ca_key = KeyPair::generate().map_err(e)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "pgwire client test CA");
        let ca = ca_params.self_signed(&ca_key).map_err(e)?;
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().map_err(e)?;
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .map_err(e)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &issuer).map_err(e)?;
        let write = |name: &str, data: &str| -> Result<(), String> {
            let path = self.dir.join(name);
            std::fs::write(&path, data).map_err(|e| e.to_string())?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        };
        write("ca.crt", &ca.pem())?;
        write("server.crt", &cert.pem())?;
        write("server.key", &key.serialize_pem())?;
        // A copy readable by the test (root or not) for sslrootcert.
        std::fs::write(self.dir.join("client-ca.crt"), ca.pem()).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// The CA file for clients.
    pub fn client_ca_file(&self) -> PathBuf {
        self.dir.join("client-ca.crt")
    }

    /// SQL that creates the test users (run as `postgres` over the socket).
    pub fn setup_sql() -> String {
        let mut sql = String::new();
        for (user, password, method) in USERS {
            let enc = if *method == "md5" {
                "md5"
            } else {
                "scram-sha-256"
            };
            sql.push_str(&format!("SET password_encryption = '{enc}'; "));
            if password.is_empty() {
                sql.push_str(&format!("CREATE ROLE {user} LOGIN; "));
            } else {
                sql.push_str(&format!("CREATE ROLE {user} LOGIN PASSWORD '{password}'; "));
            }
        }
        sql
    }

    /// The password of a test user.
    pub fn password_of(user: &str) -> &'static str {
        USERS
            .iter()
            .find(|(u, _, _)| *u == user)
            .map(|(_, p, _)| *p)
            .unwrap_or("")
    }

    /// A libpq connection string to 127.0.0.1 for `user`, plus `extra`.
    pub fn conninfo(&self, user: &str, extra: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={user} dbname=postgres sslmode=disable {extra}",
            self.port
        )
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
