//! The proxy's configuration, from the command line.

use std::net::SocketAddr;
use std::time::Duration;

use pgwire::api::auth::{AuthMethod, Credential, ScramVerifier};

/// The command line.
pub const USAGE: &str = "usage: proxy --listen ADDR --primary CONNINFO [--replica CONNINFO]... \
--user NAME:PASSWORD... [--auth scram-sha-256|md5|trust] [--tls-cert FILE --tls-key FILE] \
[--pool-mode session|transaction] [--pool-size N] [--wait-timeout SECONDS] \
[--health-interval SECONDS] [--threads N]";

/// When a backend connection goes back to the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    /// When the client disconnects.
    Session,
    /// At every ReadyForQuery with status Idle.
    Transaction,
}

impl PoolMode {
    /// The name used on the command line and in `SHOW POOLS`.
    pub fn name(self) -> &'static str {
        match self {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
        }
    }
}

/// A user the proxy lets in, and connects to the backends as.
#[derive(Debug, Clone)]
pub struct User {
    /// The role name.
    pub name: String,
    /// Its password (used toward the backends, and for MD5 toward clients).
    pub password: String,
    /// A SCRAM verifier computed once, so that a client's authentication
    /// does not run PBKDF2 on the server side.
    pub scram: ScramVerifier,
}

/// Everything the proxy is told.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Where clients connect.
    pub listen: SocketAddr,
    /// The primary's connection string (host, port, sslmode...; user,
    /// password and dbname are set per pool).
    pub primary: String,
    /// The standbys' connection strings.
    pub replicas: Vec<String>,
    /// The users.
    pub users: Vec<User>,
    /// How clients authenticate at the proxy.
    pub auth: AuthMethod,
    /// Session or transaction pooling.
    pub pool_mode: PoolMode,
    /// Backend connections per (user, database, backend).
    pub pool_size: usize,
    /// How long a client waits for a backend connection before 53300.
    pub wait_timeout: Duration,
    /// How often each backend is probed with a fresh connection (a standby
    /// that fails leaves the rotation until a probe succeeds); zero: no
    /// probe (a backend that refused a connection is retried after 3 s).
    pub health_interval: Duration,
    /// The admin console's database name.
    pub admin_database: String,
    /// TLS toward clients: certificate chain and key (PEM files).
    pub tls: Option<(String, String)>,
    /// Runtime worker threads (`main.rs`); 0: one per core.
    pub threads: usize,
}

impl ProxyConfig {
    /// A configuration with defaults: SCRAM, transaction pooling, pools of
    /// 20, 5 s waits, a health probe every 2 s.
    pub fn new(listen: SocketAddr, primary: impl Into<String>) -> ProxyConfig {
        ProxyConfig {
            listen,
            primary: primary.into(),
            replicas: Vec::new(),
            users: Vec::new(),
            auth: AuthMethod::ScramSha256,
            pool_mode: PoolMode::Transaction,
            pool_size: 20,
            wait_timeout: Duration::from_secs(5),
            health_interval: Duration::from_secs(2),
            admin_database: "pgwire".into(),
            tls: None,
            threads: 0,
        }
    }

    /// Adds a user.
    pub fn user(mut self, name: &str, password: &str) -> ProxyConfig {
        self.users.push(User {
            name: name.into(),
            password: password.into(),
            scram: ScramVerifier::generate(password),
        });
        self
    }

    /// Parses the command line (without the program name).
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<ProxyConfig, String> {
        let mut args = args.into_iter();
        let mut listen = None;
        let mut primary = None;
        let mut tls_cert = None;
        let mut tls_key = None;
        let mut config = ProxyConfig::new(([127, 0, 0, 1], 6432).into(), "");
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--listen" => {
                    let v = value()?;
                    listen = Some(v.parse().map_err(|e| format!("--listen {v}: {e}"))?);
                }
                "--primary" => primary = Some(value()?),
                "--tls-cert" => tls_cert = Some(value()?),
                "--tls-key" => tls_key = Some(value()?),
                "--replica" => config.replicas.push(value()?),
                "--user" => {
                    let v = value()?;
                    let (name, password) = v
                        .split_once(':')
                        .ok_or_else(|| format!("--user {v}: expected NAME:PASSWORD"))?;
                    config = config.user(name, password);
                }
                "--auth" => {
                    config.auth = match value()?.as_str() {
                        "scram-sha-256" => AuthMethod::ScramSha256,
                        "md5" => AuthMethod::Md5,
                        "trust" => AuthMethod::Trust,
                        other => return Err(format!("--auth {other}: unknown method")),
                    }
                }
                "--pool-mode" => {
                    config.pool_mode = match value()?.as_str() {
                        "session" => PoolMode::Session,
                        "transaction" => PoolMode::Transaction,
                        other => return Err(format!("--pool-mode {other}: unknown mode")),
                    }
                }
                "--pool-size" => {
                    let v = value()?;
                    config.pool_size =
                        v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                            format!("--pool-size {v}: expected a positive number")
                        })?;
                }
                "--threads" => {
                    let v = value()?;
                    config.threads = v
                        .parse()
                        .map_err(|_| format!("--threads {v}: expected a number"))?;
                }
                "--health-interval" => {
                    let v = value()?;
                    let secs: f64 = v
                        .parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                        .ok_or_else(|| format!("--health-interval {v}: expected seconds"))?;
                    config.health_interval = Duration::from_secs_f64(secs);
                }
                "--wait-timeout" => {
                    let v = value()?;
                    let secs: f64 = v
                        .parse()
                        .map_err(|_| format!("--wait-timeout {v}: expected seconds"))?;
                    config.wait_timeout = Duration::from_secs_f64(secs.max(0.0));
                }
                other => return Err(format!("unknown option {other}")),
            }
        }
        config.tls = match (tls_cert, tls_key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => return Err("--tls-cert and --tls-key go together".into()),
        };
        config.listen = listen.ok_or("--listen is required")?;
        config.primary = primary.ok_or("--primary is required")?;
        if config.users.is_empty() {
            return Err("at least one --user NAME:PASSWORD is required".into());
        }
        Ok(config)
    }

    /// The password of `user`, if it is configured.
    pub fn password_of(&self, user: &str) -> Option<&str> {
        self.find_user(user).map(|u| u.password.as_str())
    }

    /// The credential `user` authenticates with at the proxy.
    pub fn credential_of(&self, user: &str, method: AuthMethod) -> Option<Credential> {
        let u = self.find_user(user)?;
        Some(match method {
            AuthMethod::ScramSha256 => Credential::Scram(u.scram.clone()),
            _ => Credential::Password(u.password.clone()),
        })
    }

    fn find_user(&self, user: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == user)
    }
}
