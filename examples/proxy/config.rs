//! The proxy's configuration, from the command line.

use std::net::SocketAddr;
use std::time::Duration;

use pgwire::api::auth::{AuthMethod, Credential, ScramVerifier};
use pgwire::server::{IpNetwork, ProxyProtocolMode};

/// The command line, printed with `--help` and after a bad option.
pub const USAGE: &str = "\
usage: proxy --listen ADDR --primary CONNINFO [--replica CONNINFO]...
             (--user NAME:PASSWORD | --users-file FILE)... [--auth METHOD]
             [--admin-user NAME]... [--auth-user NAME [--auth-query SQL]
             [--auth-dbname NAME]] [--tls-cert FILE --tls-key FILE]
             [--proxy-protocol MODE [--proxy-trusted CIDR]...]
             [--pool-mode MODE]
             [--pool-size N] [--max-server-connections N] [--max-clients N]
             [--wait-timeout SECONDS]
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
                         \"name\" \"password\" per line. Here and in
                         --user a password may be a SCRAM-SHA-256 verifier
                         as pg_authid stores it: the proxy then logs in to
                         the backends with the keys its clients prove
                         (--auth scram-sha-256 only)
  --admin-user NAME      may run PAUSE, RESUME, KILL, RECONNECT and RELOAD
                         on the admin console (repeatable; every user may
                         run its SHOWs)
  --auth-user NAME       a user given with its password, as whom the proxy
                         looks up other users in PostgreSQL at each login
                         (their SCRAM verifiers, with --auth-query)
  --auth-query SQL       default: SELECT usename, passwd FROM pg_shadow
                         WHERE usename=$1
  --auth-dbname NAME     where --auth-query runs (default postgres)
  --auth METHOD          how clients authenticate here: scram-sha-256
                         (default), md5 or trust
  --tls-cert FILE        certificate chain and key (PEM) for TLS toward
  --tls-key FILE         clients
  --proxy-protocol MODE  off (default), optional or required: read the
                         client's address from a PROXY protocol header
                         (v1 or v2) sent by a load balancer such as HAProxy
  --proxy-trusted CIDR   a peer that may send it, e.g. 10.0.0.0/8
                         (repeatable; none given: any peer)
  --pool-mode MODE       transaction (default: a backend connection per
                         transaction) or session (one per client)
  --pool-size N          backend connections per user, database and
                         backend (default 20)
  --max-server-connections N
                         backend connections per backend server across
                         users and databases (default 0: no such bound);
                         when all are taken, the one idle longest is closed
                         for a pool that needs one
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
                         probe; for a standby without a WAL stream, the
                         time since it lost it) is above this serves no
                         reads until it catches up (default 0: no limit)
  --threads N            runtime threads (default 0: one per core; 1 runs
                         a single-threaded runtime, as PgBouncer runs)

The database named pgwire is the admin console: SHOW POOLS, SHOW STATS,
SHOW CLIENTS, SHOW SERVERS, SHOW DATABASES, SHOW USERS, SHOW CONFIG,
SHOW VERSION, SHOW HELP, and for --admin-user users PAUSE [db],
RESUME [db], KILL db, RECONNECT, RELOAD (SIGHUP re-reads the users
files).";

/// PgBouncer's default `auth_query`: needs a superuser, or a function
/// reading `pg_shadow` with `SECURITY DEFINER`, as PgBouncer's docs show.
pub const DEFAULT_AUTH_QUERY: &str = "SELECT usename, passwd FROM pg_shadow WHERE usename=$1";

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
/// lines and lines starting with `#` or `;` are skipped. A password is
/// the plain one or a SCRAM-SHA-256 verifier as `pg_authid` stores it
/// (see [`ProxyConfig::user`]); an MD5 hash is refused: with it the proxy
/// could not log in to a PostgreSQL that asks for SCRAM.
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
        let md5 = password.len() == 35
            && password.starts_with("md5")
            && password[3..].bytes().all(|b| b.is_ascii_hexdigit());
        if md5 {
            return Err(bad(
                "an MD5 hash: give the plain password or the SCRAM-SHA-256 verifier \
                 (pg_authid.rolpassword), with which the proxy can log in to PostgreSQL",
            ));
        }
        if password.starts_with("SCRAM-SHA-256$") && password.parse::<ScramVerifier>().is_err() {
            return Err(bad("a malformed SCRAM-SHA-256 verifier"));
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
    /// Its password (used toward the backends, and for MD5 toward
    /// clients); `None` for a user given as a SCRAM verifier.
    pub password: Option<String>,
    /// The SCRAM verifier clients are checked against: the one given, or
    /// one computed once from the password (so that a client's
    /// authentication does not run PBKDF2 on the server side).
    pub scram: ScramVerifier,
    /// Read from a `--users-file` (re-read by `RELOAD`), not given with
    /// `--user`.
    pub from_file: bool,
}

impl User {
    /// A user with a plain password, or a SCRAM-SHA-256 verifier as
    /// PostgreSQL stores it (see [`ProxyConfig::user`]).
    pub fn new(name: &str, password: &str) -> User {
        match password.parse::<ScramVerifier>() {
            Ok(verifier) if password.starts_with("SCRAM-SHA-256$") => User {
                name: name.into(),
                password: None,
                scram: verifier,
                from_file: false,
            },
            _ => User {
                name: name.into(),
                password: Some(password.into()),
                scram: ScramVerifier::generate(password),
                from_file: false,
            },
        }
    }

    /// The credential this user authenticates with at the proxy.
    pub fn credential(&self, method: AuthMethod) -> Credential {
        match (method, &self.password) {
            (AuthMethod::ScramSha256, _) | (_, None) => Credential::Scram(self.scram.clone()),
            (_, Some(password)) => Credential::Password(password.clone()),
        }
    }
}

/// The users of the `--users-file` at `path`.
pub fn read_users_file(path: &str) -> Result<Vec<User>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--users-file {path}: {e}"))?;
    let users = parse_users_file(&text).map_err(|e| format!("--users-file {path}: {e}"))?;
    Ok(users
        .iter()
        .map(|(name, password)| User {
            from_file: true,
            ..User::new(name, password)
        })
        .collect())
}

/// Checks that `users` can serve with `auth` and `auth_user` (a user given
/// as a verifier needs SCRAM toward clients; the auth user needs a
/// password).
pub fn check_users(
    users: &[User],
    auth: AuthMethod,
    auth_user: Option<&str>,
) -> Result<(), String> {
    if auth != AuthMethod::ScramSha256 {
        if let Some(u) = users.iter().find(|u| u.password.is_none()) {
            return Err(format!(
                "user {} is given as a SCRAM verifier, which needs --auth scram-sha-256 \
                 (the proxy logs in to PostgreSQL with the keys its clients prove)",
                u.name
            ));
        }
        if auth_user.is_some() {
            return Err(
                "--auth-user needs --auth scram-sha-256 (looked-up users are SCRAM verifiers)"
                    .into(),
            );
        }
    }
    if let Some(name) = auth_user {
        if !users.iter().any(|u| u.name == name && u.password.is_some()) {
            return Err(format!(
                "--auth-user {name}: give its password with --user or --users-file"
            ));
        }
    }
    Ok(())
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
    /// The users (the first given wins where a name repeats).
    pub users: Vec<User>,
    /// The `--users-file`s, re-read by `RELOAD` (and SIGHUP).
    pub users_files: Vec<String>,
    /// SIGHUP re-reads the users files (set by the binary; off where the
    /// proxy runs inside another program, whose signals they are).
    pub reload_on_sighup: bool,
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
    /// `--proxy-protocol`: read the client's address from a PROXY protocol
    /// header (HAProxy's `send-proxy`/`send-proxy-v2`) sent by a load
    /// balancer in front.
    pub proxy_protocol: ProxyProtocolMode,
    /// `--proxy-trusted`: the peers that may send that header (none
    /// listed: any peer).
    pub proxy_trusted: Vec<IpNetwork>,
    /// Runtime worker threads (`main.rs`); 0: one per core.
    pub threads: usize,
    /// How long a graceful shutdown waits for clients to finish their
    /// transactions.
    pub shutdown_timeout: Duration,
    /// A backend connection idle this long is closed (zero: never).
    pub server_idle_timeout: Duration,
    /// `--max-server-connections`: the most connections to one backend
    /// server across all pools (0: only `pool_size` per pool bounds them).
    pub max_server_connections: usize,
    /// A backend connection this old is closed when next idle (zero:
    /// never).
    pub server_lifetime: Duration,
    /// A standby whose replay lag (read by the health probe) is above
    /// this leaves the rotation until it catches up (zero: no limit).
    pub max_replica_lag: Duration,
    /// Users who may run the admin console's control commands (`PAUSE`,
    /// `RESUME`, `KILL`, `RECONNECT`, `RELOAD`); every user may run its `SHOW`s.
    pub admin_users: Vec<String>,
    /// `--auth-user`: a configured user (with a password) as whom the
    /// proxy looks up users it is not given, with `auth_query`.
    pub auth_user: Option<String>,
    /// `--auth-query`: returns a user's stored password (a SCRAM verifier)
    /// in its second column, given the user name as `$1`.
    pub auth_query: String,
    /// `--auth-dbname`: the database `auth_query` runs in.
    pub auth_dbname: String,
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
            max_server_connections: 0,
            server_lifetime: Duration::from_secs(3600),
            max_replica_lag: Duration::ZERO,
            admin_users: Vec::new(),
            users_files: Vec::new(),
            proxy_protocol: ProxyProtocolMode::Off,
            proxy_trusted: Vec::new(),
            reload_on_sighup: false,
            auth_user: None,
            auth_query: DEFAULT_AUTH_QUERY.into(),
            auth_dbname: "postgres".into(),
        }
    }

    /// Adds a user. `password` is the plain password, or a SCRAM-SHA-256
    /// verifier as PostgreSQL stores it (`SCRAM-SHA-256$4096:salt$...`,
    /// read from `pg_authid.rolpassword`), as PostgreSQL and PgBouncer take
    /// either. With a verifier the proxy never knows the password: it
    /// checks its clients against the verifier and logs in to the
    /// backends with the SCRAM keys a client proved it holds, which works
    /// where the backends store that same verifier, and only with
    /// SCRAM-SHA-256 toward clients.
    pub fn user(mut self, name: &str, password: &str) -> ProxyConfig {
        self.users.push(User::new(name, password));
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
                "--proxy-protocol" => {
                    let v = value()?;
                    config.proxy_protocol =
                        v.parse().map_err(|e| format!("--proxy-protocol: {e}"))?;
                }
                "--proxy-trusted" => {
                    let v = value()?;
                    config
                        .proxy_trusted
                        .push(v.parse().map_err(|e| format!("--proxy-trusted {v}: {e}"))?);
                }
                "--replica" => config.replicas.push(value()?),
                "--user" => {
                    let v = value()?;
                    let (name, password) = v
                        .split_once(':')
                        .ok_or_else(|| format!("--user {v}: expected NAME:PASSWORD"))?;
                    config = config.user(name, password);
                }
                "--admin-user" => config.admin_users.push(value()?),
                "--auth-user" => config.auth_user = Some(value()?),
                "--auth-query" => config.auth_query = value()?,
                "--auth-dbname" => config.auth_dbname = value()?,
                "--users-file" => {
                    let path = value()?;
                    config.users.extend(read_users_file(&path)?);
                    warn_if_readable_by_others(&path);
                    config.users_files.push(path);
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
                "--max-server-connections" => {
                    let v = value()?;
                    config.max_server_connections = v
                        .parse()
                        .map_err(|_| format!("--max-server-connections {v}: expected a number"))?;
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
        check_users(&config.users, config.auth, config.auth_user.as_deref())?;
        Ok(config)
    }

    /// Whether `user` may run the admin console's control commands.
    pub fn is_admin(&self, user: &str) -> bool {
        self.admin_users.iter().any(|u| u == user)
    }

    /// The user named `user` given at startup.
    pub fn find_user(&self, user: &str) -> Option<&User> {
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
    fn a_scram_verifier_is_a_user_without_a_password() {
        let verifier = ScramVerifier::generate("s3cret").to_string();
        let users = parse_users_file(&format!("\"alice\" \"{verifier}\"\n")).unwrap();
        assert_eq!(users, [("alice".to_owned(), verifier.clone())]);
        let config = ProxyConfig::new(([127, 0, 0, 1], 0).into(), "")
            .user("alice", &verifier)
            .user("bob", "plain");
        let alice = config.find_user("alice").unwrap();
        assert!(alice.password.is_none());
        assert!(alice.scram.matches_password("s3cret"));
        assert_eq!(
            config.find_user("bob").unwrap().password.as_deref(),
            Some("plain")
        );
        // MD5 toward clients cannot check a verifier, and trust would
        // never learn the keys.
        for auth in ["md5", "trust"] {
            let e = parse(&["--user", &format!("alice:{verifier}"), "--auth", auth]).unwrap_err();
            assert!(e.contains("needs --auth scram-sha-256"), "{e}");
        }
        assert!(parse(&["--user", &format!("alice:{verifier}")]).is_ok());
        // The auth user logs in with a password of its own.
        let e = parse(&[
            "--auth-user",
            "alice",
            "--user",
            &format!("alice:{verifier}"),
        ])
        .unwrap_err();
        assert!(e.contains("give its password"), "{e}");
        assert!(parse(&["--auth-user", "nobody"]).is_err());
        let config = parse(&["--auth-user", "u", "--auth-dbname", "auth"]).unwrap();
        assert_eq!(config.auth_user.as_deref(), Some("u"));
        assert_eq!(config.auth_dbname, "auth");
        assert_eq!(config.auth_query, DEFAULT_AUTH_QUERY);
        assert!(parse(&["--auth-user", "u", "--auth", "md5"]).is_err());
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
