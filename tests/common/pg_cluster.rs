//! A throwaway PostgreSQL cluster for client tests: `initdb` in a temp
//! directory, pg_hba lines per authentication method, users with passwords
//! stored as SCRAM and MD5, `ssl = on` with a CA and server certificate
//! made by rcgen, the Unix socket in the temp directory; built on the
//! throwaway cluster of `postgres.rs` (stopped and removed on drop). `start` returns `Err(reason)` when the server binaries
//! are missing (the caller prints `SKIPPED`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

#[path = "postgres.rs"]
mod postgres;
pub use postgres::Postgres;

/// Users the cluster knows, with the pg_hba method that applies to them
/// over TCP: (user, password, method).
pub const USERS: &[(&str, &str, &str)] = &[
    ("trust_user", "", "trust"),
    ("pw_user", "pw secret", "password"),
    ("md5_user", "md5 secret", "md5"),
    ("scram_user", "scram sécret", "scram-sha-256"),
    ("tls_user", "tls secret", "scram-sha-256"),
];

/// A running cluster (the [`Postgres`] it is built on is reachable
/// through `Deref`: `port`, `dir`).
pub struct PgCluster {
    pub pg: Postgres,
}

impl std::ops::Deref for PgCluster {
    type Target = Postgres;
    fn deref(&self) -> &Postgres {
        &self.pg
    }
}

impl PgCluster {
    /// The Unix socket directory.
    pub fn socket_dir(&self) -> &Path {
        &self.pg.dir
    }

    /// The CA certificate (PEM file) that signed the server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.pg.dir.join("ca.crt")
    }

    /// Starts a cluster; `name` keeps concurrent test binaries apart.
    /// `extra_conf` lines are appended to `postgresql.conf` (`ssl = off`...).
    pub fn start(name: &str, extra_conf: &[&str]) -> Result<PgCluster, String> {
        let mut pg = Postgres::init(name, write_certs)?;
        let data = pg.data_dir();
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
            "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nssl_ca_file = '{}'\n\
             TimeZone = 'UTC'\nDateStyle = 'ISO, MDY'\nmax_connections = 50\n",
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
        pg.start_server("")?;
        Ok(PgCluster { pg })
    }

    /// The CA file for clients.
    pub fn client_ca_file(&self) -> PathBuf {
        self.pg.dir.join("client-ca.crt")
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
            self.pg.port
        )
    }
}

/// Writes the CA, the server certificate (for `localhost` and 127.0.0.1)
/// and its key into `dir`.
fn write_certs(dir: &Path) -> Result<(), String> {
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
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).map_err(e)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &issuer).map_err(e)?;
    let write = |name: &str, data: &str| -> Result<(), String> {
        let path = dir.join(name);
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
    std::fs::write(dir.join("client-ca.crt"), ca.pem()).map_err(|e| e.to_string())?;
    Ok(())
}
