//! The proxy's configuration, from the command line.

use std::net::SocketAddr;
use std::time::Duration;

use pgwire::api::auth::{AuthMethod, Credential, ScramVerifier};

/// The command line, printed with `--help` and after a bad option.
pub const USAGE: &str = "\
usage: proxy --listen ADDR --primary CONNINFO [--replica CONNINFO]...
             (--user NAME:PASSWORD | --users-file FILE)... [--auth METHOD]
             [--admin-user NAME]... [--tls-cert FILE --tls-key FILE]
             [--pool-mode MODE]
             [--pool-size N] [--max-clients N] [--wait-timeout SECONDS]
             [--health-interval SECONDS] [--shutdown-timeout SECONDS]
             [--server-idle-timeout SECONDS] [--server-lifetime SECONDS]
             [--max-replica-lag SECONDS] [--threads N]

  --listen ADDR          where clients connect, e.g. 127.0.0.1:6432
  --primary CONNINFO     the primary, e.g. 'host=127.0.0.1 port=5432'
                         (user and dbname come from the client, the password
                         from --user)
  --replica CONNINFO     a hot standby (repeatable); database X_ro, or
                         target_session_attrs=read-only, is served by them
  --user NAME:PASSWORD   a user clients log in as; the proxy logs in to the
                         backends as the same user (repeatable, at least one
                         user in all; a command line is visible to others)
  --users-file FILE      users in PgBouncer's auth_file format, one
                         \"name\" \"password\" per line (plain passwords)
  --admin-user NAME      may run PAUSE, RESUME and RECONNECT on the admin
                         console (repeatable; every user may run its SHOWs)
  --auth METHOD          how clients authenticate here: scram-sha-256
                         (default), md5 or trust
  --tls-cert FILE        certificate chain and key (PEM) for TLS toward
  --tls-key FILE         clients
  --pool-mode MODE       transaction (default: a backend connection per
                         transaction) or session (one per client)
  --pool-size N          backend connections per user, database and
                         backend (default 20)
  --max-clients N        clients connected at once (default 1000; 0: no
                         limit); one more gets 53300 too_many_connections.
                         Keep it under the open-file limit (ulimit -n) less
                         the backend connections
  --wait-timeout SECONDS how long a client waits for a connection before
                         53300 (default 5)
  --health-interval SECONDS
                         how often each backend is probed (default 2; 0: never)
  --shutdown-timeout SECONDS
                         on SIGINT or SIGTERM, how long clients may finish
                         their transactions (default 10; each client is
                         ended with 57P01 when idle); a second signal ends
                         the proxy at once
  --server-idle-timeout SECONDS
                         close a backend connection idle this long
                         (default 600; 0: never)
  --server-lifetime SECONDS
                         close a backend connection this old when it is
                         next idle (default 3600; 0: never)
  --max-replica-lag SECONDS
                         a standby whose replay lag (read by the health
                         probe) is above this serves no reads until it
                         catches up (default 0: no limit)
  --threads N            runtime threads (default 0: one per core; 1 runs
                         a single-threaded runtime, as PgBouncer runs)

The database named pgwire is the admin console: SHOW POOLS, SHOW STATS,
SHOW CLIENTS, SHOW SERVERS, SHOW HELP, PAUSE, RESUME.";

/// The field an option given in seconds sets.
fn duration_option<'a>(config: &'a mut ProxyConfig, flag: &str) -> Option<&'a mut Duration> {
    Some(match flag {
        "--wait-timeout" => &mut config.wait_timeout,
        "--health-interval" => &mut config.health_interval,
        "--shutdown-timeout" => &mut config.shutdown_timeout,
        "--server-idle-timeout" => &mut config.server_idle_timeout,
        "--server-lifetime" => &mut config.server_lifetime,
        "--max-replica-lag" => &mut config.max_replica_lag,
        _ => return None,
    })
}

/// A duration in seconds from the command line: not negative, and small
/// enough for `Duration` (`inf` or `1e30` would panic in
/// `Duration::from_secs_f64`).
fn seconds(text: &str) -> Option<Duration> {
    let secs: f64 = text.parse().ok()?;
    if secs < 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(secs).ok()
}

/// The users of a file in PgBouncer's `auth_file` format: one
/// `"name" "password"` per line (a `""` inside quotes is one `"`); blank
/// lines and lines starting with `#` or `;` are skipped. The passwords
/// must be the plain ones: the proxy logs in to PostgreSQL with them, which
/// an MD5 hash or a SCRAM secret does not allow.
pub fn parse_users_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut users = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}", n + 1);
        let (name, rest) = quoted(line).ok_or_else(|| bad("expected \"name\" \"password\""))?;
        let (password, rest) =
            quoted(rest.trim_start()).ok_or_else(|| bad("expected \"name\" \"password\""))?;
        if !rest.trim().is_empty() {
            return Err(bad("text after the password"));
        }
        let hashed = password.starts_with("SCRAM-SHA-256$")
            || (password.len() == 35
                && password.starts_with("md5")
                && password[3..].bytes().all(|b| b.is_ascii_hexdigit()));
        if hashed {
            return Err(bad(
                "a hashed password: the proxy needs the plain one to log in to PostgreSQL as the user",
            ));
        }
        users.push((name, password));
    }
    Ok(users)
}

/// A `"..."` string at the start of `text` (`""` is a quote) and what
/// follows it.
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut rest = text.strip_prefix('"')?;
    let mut out = String::new();
    loop {
        let end = rest.find('"')?;
        out.push_str(&rest[..end]);
        rest = &rest[end + 1..];
        match rest.strip_prefix('"') {
            Some(after) => {
                out.push('"');
                rest = after;
            }
            None => return Some((out, rest)),
        }
    }
}

/// Passwords readable by other users of the machine deserve a warning.
fn warn_if_readable_by_others(path: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    path,
                    "the users file is readable by other users: chmod 600 it"
                );
            }
        }
    }
}

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
    /// How long a graceful shutdown waits for clients to finish their
    /// transactions.
    pub shutdown_timeout: Duration,
    /// A backend connection idle this long is closed (zero: never).
    pub server_idle_timeout: Duration,
    /// A backend connection this old is closed when next idle (zero:
    /// never).
    pub server_lifetime: Duration,
    /// A standby whose replay lag (read by the health probe) is above
    /// this leaves the rotation until it catches up (zero: no limit).
    pub max_replica_lag: Duration,
    /// Users who may run the admin console's control commands (`PAUSE`,
    /// `RESUME`, `RECONNECT`); every user may run its `SHOW`s.
    pub admin_users: Vec<String>,
    /// Clients connected at once (the admin console's too); one more is
    /// refused with 53300 before authentication. 0: no limit.
    pub max_clients: usize,
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
            shutdown_timeout: Duration::from_secs(10),
            max_clients: 1000,
            server_idle_timeout: Duration::from_secs(600),
            server_lifetime: Duration::from_secs(3600),
            max_replica_lag: Duration::ZERO,
            admin_users: Vec::new(),
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

    /// Parses the command line (without the program name). An empty error
    /// means `--help` was asked for.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<ProxyConfig, String> {
        let mut args = args.into_iter();
        let mut listen = None;
        let mut primary = None;
        let mut tls_cert = None;
        let mut tls_key = None;
        let mut config = ProxyConfig::new(([127, 0, 0, 1], 6432).into(), "");
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            if let Some(field) = duration_option(&mut config, &flag) {
                let v = value()?;
                *field = seconds(&v).ok_or_else(|| format!("{flag} {v}: expected seconds"))?;
                continue;
            }
            match flag.as_str() {
                "-h" | "--help" => return Err(String::new()),
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
                "--admin-user" => config.admin_users.push(value()?),
                "--users-file" => {
                    let path = value()?;
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format!("--users-file {path}: {e}"))?;
                    warn_if_readable_by_others(&path);
                    for (name, password) in
                        parse_users_file(&text).map_err(|e| format!("--users-file {path}: {e}"))?
                    {
                        config = config.user(&name, &password);
                    }
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
                "--max-clients" => {
                    let v = value()?;
                    config.max_clients = v
                        .parse()
                        .map_err(|_| format!("--max-clients {v}: expected a number"))?;
                }
                "--threads" => {
                    let v = value()?;
                    config.threads = v
                        .parse()
                        .map_err(|_| format!("--threads {v}: expected a number"))?;
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
            return Err("at least one --user NAME:PASSWORD (or --users-file) is required".into());
        }
        Ok(config)
    }

    /// Whether `user` may run the admin console's control commands.
    pub fn is_admin(&self, user: &str) -> bool {
        self.admin_users.iter().any(|u| u == user)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &[&str]) -> Result<ProxyConfig, String> {
        let base = [
            "--listen",
            "127.0.0.1:0",
            "--primary",
            "host=h",
            "--user",
            "u:p",
        ];
        ProxyConfig::from_args(base.iter().chain(extra).map(|s| s.to_string()))
    }

    #[test]
    fn users_files_are_read_as_pgbouncer_writes_them() {
        let users = parse_users_file(
            "# comment\n\n\"alice\" \"s3cret\"\n  \"bob\"   \"say \"\"hi\"\"\"  \n; other\n",
        )
        .unwrap();
        assert_eq!(
            users,
            [
                ("alice".to_owned(), "s3cret".to_owned()),
                ("bob".to_owned(), "say \"hi\"".to_owned())
            ]
        );
        for bad in [
            "alice s3cret",
            "\"alice\" s3cret",
            "\"alice\" \"unterminated",
            "\"alice\" \"x\" extra",
            "\"alice\" \"md5d41d8cd98f00b204e9800998ecf8427e\"",
            "\"alice\" \"SCRAM-SHA-256$4096:c2FsdA==$a:b\"",
        ] {
            let e = parse_users_file(bad).unwrap_err();
            assert!(e.starts_with("line 1: "), "{bad}: {e}");
        }
    }

    #[test]
    fn help_is_asked_for_with_an_empty_error() {
        assert_eq!(parse(&["--help"]).unwrap_err(), "");
        assert_eq!(parse(&["-h"]).unwrap_err(), "");
        assert_eq!(parse(&["--bogus"]).unwrap_err(), "unknown option --bogus");
    }

    #[test]
    fn durations_out_of_range_are_errors_not_panics() {
        let config = parse(&["--wait-timeout", "1.5", "--health-interval", "0"]).unwrap();
        assert_eq!(config.wait_timeout, Duration::from_millis(1500));
        assert_eq!(config.health_interval, Duration::ZERO);
        assert_eq!(config.max_clients, 1000);
        assert_eq!(parse(&["--max-clients", "0"]).unwrap().max_clients, 0);
        assert!(parse(&["--max-clients", "-1"]).is_err());
        let flags = [
            "--wait-timeout",
            "--health-interval",
            "--shutdown-timeout",
            "--server-idle-timeout",
            "--server-lifetime",
            "--max-replica-lag",
        ];
        for flag in flags {
            let mut config = parse(&[flag, "2.5"]).unwrap();
            assert_eq!(
                duration_option(&mut config, flag),
                Some(&mut Duration::from_millis(2500))
            );
            for bad in ["inf", "NaN", "-1", "1e30", "soon"] {
                let e = parse(&[flag, bad]).unwrap_err();
                assert_eq!(e, format!("{flag} {bad}: expected seconds"));
            }
        }
    }
}
