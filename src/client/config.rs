//! Connection settings: libpq connection strings and URLs, `PG*`
//! environment defaults and `~/.pgpass`, with libpq's names and meanings
//! ("Parameter Key Words" in the libpq chapter).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::Error;
use crate::scram_keys::ScramKeys;

/// Whether and how TLS is used (`sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never.
    Disable,
    /// Plaintext first; when the server rejects that session, a second
    /// connection with TLS (certificate not checked), as libpq.
    Allow,
    /// TLS first; plaintext when the server refuses TLS, or (on a new
    /// connection) when the handshake fails or the server rejects the
    /// session over TLS, as libpq. The default.
    #[default]
    Prefer,
    /// TLS, without checking the certificate (unless `sslrootcert` is
    /// given, then as `verify-ca`, as libpq does).
    Require,
    /// TLS with a certificate signed by the `sslrootcert` CA.
    VerifyCa,
    /// As `verify-ca`, and the certificate must name the host.
    VerifyFull,
}

impl SslMode {
    /// The libpq key word value (`prefer`, `verify-full`...).
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// How TLS is started (`sslnegotiation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslNegotiation {
    /// An SSLRequest first.
    #[default]
    Postgres,
    /// The TLS handshake right away, with ALPN `postgresql`
    /// (PostgreSQL 17+); needs `sslmode=require` or stronger.
    Direct,
}

/// SCRAM channel binding (`channel_binding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelBinding {
    /// Never bind.
    Disable,
    /// Bind when TLS is used and the server offers SCRAM-SHA-256-PLUS.
    #[default]
    Prefer,
    /// Refuse to connect without channel binding.
    Require,
}

/// Which server of several is acceptable (`target_session_attrs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetSessionAttrs {
    /// Any server.
    #[default]
    Any,
    /// A server that accepts writes by default.
    ReadWrite,
    /// A server whose sessions are read-only by default.
    ReadOnly,
    /// A server not in hot standby.
    Primary,
    /// A server in hot standby.
    Standby,
    /// A standby if any host is one, else any server.
    PreferStandby,
}

/// An authentication method named in `require_auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// No authentication request at all (`none`).
    None,
    /// Cleartext password (`password`).
    Password,
    /// MD5 (`md5`).
    Md5,
    /// SCRAM-SHA-256 with or without channel binding (`scram-sha-256`).
    ScramSha256,
    /// OAUTHBEARER (`oauth`).
    OAuth,
    /// GSSAPI (`gss`): never supported by this client.
    Gss,
    /// SSPI (`sspi`): never supported by this client.
    Sspi,
}

impl AuthMethod {
    fn parse(name: &str) -> Option<AuthMethod> {
        Some(match name {
            "none" => AuthMethod::None,
            "password" => AuthMethod::Password,
            "md5" => AuthMethod::Md5,
            "scram-sha-256" => AuthMethod::ScramSha256,
            "oauth" => AuthMethod::OAuth,
            "gss" => AuthMethod::Gss,
            "sspi" => AuthMethod::Sspi,
            _ => return None,
        })
    }

    const ALL: [AuthMethod; 7] = [
        AuthMethod::None,
        AuthMethod::Password,
        AuthMethod::Md5,
        AuthMethod::ScramSha256,
        AuthMethod::OAuth,
        AuthMethod::Gss,
        AuthMethod::Sspi,
    ];
}

/// Where a server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A host name or IP address (`host`), optionally with the address to
    /// dial instead of resolving it (`hostaddr`).
    Tcp {
        /// The name: used for TLS verification and `.pgpass`.
        name: String,
        /// The address to connect to, when given.
        addr: Option<std::net::IpAddr>,
    },
    /// A Unix-domain socket directory (a `host` starting with `/`).
    Unix(PathBuf),
}

/// One server to try: where, and its port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Where.
    pub host: Host,
    /// The port (also the socket file's suffix for Unix sockets).
    pub port: u16,
}

impl Target {
    /// The host's name as libpq shows it and `.pgpass` matches it.
    pub fn host_name(&self) -> String {
        match &self.host {
            Host::Tcp { name, addr } => {
                if name.is_empty() {
                    addr.map(|a| a.to_string()).unwrap_or_default()
                } else {
                    name.clone()
                }
            }
            Host::Unix(dir) => dir.display().to_string(),
        }
    }
}

/// Connection settings.
///
/// Built from a connection string or URL ([`Config::parse`]), with the
/// `PG*` environment variables as defaults ([`Config::from_env_and_str`]),
/// or by hand with the setters.
///
/// ```
/// use pgwire::client::{Config, SslMode};
///
/// let c = Config::parse("postgresql://alice:secret@db1:5433,db2/app?sslmode=require").unwrap();
/// assert_eq!(c.user.as_deref(), Some("alice"));
/// assert_eq!(c.targets().len(), 2);
/// assert_eq!(c.ssl_mode, SslMode::Require);
/// ```
#[derive(Clone, Default)]
pub struct Config {
    /// `host`: host names, IP addresses or socket directories (several are
    /// tried in order).
    pub hosts: Vec<String>,
    /// `hostaddr`: numeric addresses, one per host (empty entries allowed).
    pub hostaddrs: Vec<String>,
    /// `port`: one port, or one per host.
    pub ports: Vec<u16>,
    /// `user`.
    pub user: Option<String>,
    /// `password`.
    pub password: Option<String>,
    /// `dbname`.
    pub dbname: Option<String>,
    /// `application_name`.
    pub application_name: Option<String>,
    /// `options`: command-line options sent to the server.
    pub options: Option<String>,
    /// `sslmode`.
    pub ssl_mode: SslMode,
    /// `sslnegotiation`.
    pub ssl_negotiation: SslNegotiation,
    /// `sslrootcert`: the CA certificates file (PEM), or `system` for the
    /// operating system's trusted CAs (the `SSL_CERT_FILE` variable, else
    /// the usual bundle files such as `/etc/ssl/certs/ca-certificates.crt`;
    /// needs `sslmode=verify-full`, which it makes the default).
    pub ssl_root_cert: Option<PathBuf>,
    /// `sslcert`: the client certificate file (PEM).
    pub ssl_cert: Option<PathBuf>,
    /// `sslkey`: the client key file (PEM).
    pub ssl_key: Option<PathBuf>,
    /// `channel_binding`.
    pub channel_binding: ChannelBinding,
    /// `connect_timeout`, per host.
    pub connect_timeout: Option<Duration>,
    /// `target_session_attrs`.
    pub target_session_attrs: TargetSessionAttrs,
    /// `require_auth`: the methods the server may ask for; `None` = any.
    pub require_auth: Option<Vec<AuthMethod>>,
    /// `passfile`: the password file (default `~/.pgpass`).
    pub passfile: Option<PathBuf>,
    /// An OAuth bearer token for OAUTHBEARER (no libpq key word: libpq
    /// runs its own flow; this client sends the token the caller got).
    pub oauth_token: Option<String>,
    /// SCRAM-SHA-256 keys to prove instead of the password (no libpq key
    /// word): a pooler passing on the keys its client proved, see
    /// [`ScramKeys`]. Used when the server asks for SCRAM, in place of
    /// `password`; a server asking for MD5 or a cleartext password still
    /// needs the password.
    pub scram_keys: Option<ScramKeys>,
    /// Other `key=value` settings sent in the StartupMessage as run-time
    /// parameters (libpq sends only known ones; unknown key words are an
    /// error there, a parameter here only when given with [`Config::param`]).
    pub extra_params: Vec<(String, String)>,
    /// The protocol minor version to ask for: 2 (3.2, falling back to 3.0
    /// when the server negotiates down) from [`Config::new`] and the
    /// parsers, 0 from `Config::default()`; `max_protocol_version` sets it.
    pub protocol_minor: u16,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        f.debug_struct("Config")
            .field("hosts", &self.hosts)
            .field("hostaddrs", &self.hostaddrs)
            .field("ports", &self.ports)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("dbname", &self.dbname)
            .field("application_name", &self.application_name)
            .field("options", &self.options)
            .field("ssl_mode", &self.ssl_mode)
            .field("ssl_negotiation", &self.ssl_negotiation)
            .field("ssl_root_cert", &self.ssl_root_cert)
            .field("channel_binding", &self.channel_binding)
            .field("connect_timeout", &self.connect_timeout)
            .field("target_session_attrs", &self.target_session_attrs)
            .field("require_auth", &self.require_auth)
            .field("oauth_token", &self.oauth_token.as_ref().map(|_| "***"))
            .field("scram_keys", &self.scram_keys)
            .finish_non_exhaustive()
    }
}

fn config_error(msg: impl Into<String>) -> Error {
    Error::Config(msg.into())
}

impl Config {
    /// Empty settings (every default applies at connect time).
    pub fn new() -> Config {
        Config {
            protocol_minor: 2,
            ..Config::default()
        }
    }

    /// Parses a libpq connection string (`host=... port=...`) or URL
    /// (`postgresql://` / `postgres://`). No environment, no `.pgpass`.
    pub fn parse(s: &str) -> Result<Config, Error> {
        let mut c = Config::new();
        c.apply_str(s)?;
        Ok(c)
    }

    /// libpq's full behaviour: `PG*` environment variables first, then the
    /// connection string or URL on top.
    pub fn from_env_and_str(s: &str) -> Result<Config, Error> {
        Self::from_lookup_and_str(s, |k| std::env::var(k).ok())
    }

    /// As [`from_env_and_str`](Self::from_env_and_str) with the
    /// environment given as a function (for tests and embedding).
    pub fn from_lookup_and_str(
        s: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, Error> {
        let mut c = Config::new();
        for (var, key) in ENV_VARS {
            if let Some(v) = env(var) {
                c.set(key, &v)?;
            }
        }
        c.apply_str(s)?;
        if c.passfile.is_none() {
            c.passfile = env("HOME").map(|h| Path::new(&h).join(".pgpass"));
        }
        if c.user.is_none() {
            c.user = env("USER").or_else(|| env("LOGNAME"));
        }
        Ok(c)
    }

    fn apply_str(&mut self, s: &str) -> Result<(), Error> {
        let t = s.trim_start();
        if t.starts_with("postgresql://") || t.starts_with("postgres://") {
            self.apply_url(t)
        } else {
            for (k, v) in parse_keywords(s)? {
                self.set(&k, &v)?;
            }
            Ok(())
        }
    }

    /// Sets one setting by its libpq key word.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), Error> {
        match key {
            "host" => self.hosts = split_list(value),
            "hostaddr" => self.hostaddrs = split_list(value),
            "port" => {
                self.ports = split_list(value)
                    .iter()
                    .map(|p| {
                        if p.is_empty() {
                            Ok(5432)
                        } else {
                            p.parse::<u16>()
                                .map_err(|_| config_error(format!("invalid port number: \"{p}\"")))
                        }
                    })
                    .collect::<Result<_, _>>()?
            }
            "user" => self.user = Some(value.to_owned()),
            "password" => self.password = Some(value.to_owned()),
            "dbname" => self.dbname = Some(value.to_owned()),
            "application_name" => self.application_name = Some(value.to_owned()),
            "fallback_application_name" => {
                if self.application_name.is_none() {
                    self.application_name = Some(value.to_owned())
                }
            }
            "options" => self.options = Some(value.to_owned()),
            "sslmode" => {
                self.ssl_mode = match value {
                    "disable" => SslMode::Disable,
                    "allow" => SslMode::Allow,
                    "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    _ => return Err(config_error(format!("invalid sslmode value: \"{value}\""))),
                }
            }
            "sslnegotiation" => {
                self.ssl_negotiation = match value {
                    "postgres" => SslNegotiation::Postgres,
                    "direct" => SslNegotiation::Direct,
                    _ => {
                        return Err(config_error(format!(
                            "invalid sslnegotiation value: \"{value}\""
                        )));
                    }
                }
            }
            "sslrootcert" => {
                // libpq: the system's CAs make verify-full the default
                // (a weaker mode given explicitly is refused at connect).
                if value == "system" && self.ssl_mode == SslMode::Prefer {
                    self.ssl_mode = SslMode::VerifyFull;
                }
                self.ssl_root_cert = Some(PathBuf::from(value))
            }
            "sslcert" => self.ssl_cert = Some(PathBuf::from(value)),
            "sslkey" => self.ssl_key = Some(PathBuf::from(value)),
            "channel_binding" => {
                self.channel_binding = match value {
                    "disable" => ChannelBinding::Disable,
                    "prefer" => ChannelBinding::Prefer,
                    "require" => ChannelBinding::Require,
                    _ => {
                        return Err(config_error(format!(
                            "invalid channel_binding value: \"{value}\""
                        )));
                    }
                }
            }
            "connect_timeout" => {
                let secs: i64 = value.trim().parse().map_err(|_| {
                    config_error(format!(
                        "invalid integer value \"{value}\" for connect_timeout"
                    ))
                })?;
                // libpq: 0 or negative means wait forever; 1 is raised to 2.
                self.connect_timeout = match secs {
                    i64::MIN..=0 => None,
                    1 => Some(Duration::from_secs(2)),
                    n => Some(Duration::from_secs(n as u64)),
                };
            }
            "target_session_attrs" => {
                self.target_session_attrs = match value {
                    "any" => TargetSessionAttrs::Any,
                    "read-write" => TargetSessionAttrs::ReadWrite,
                    "read-only" => TargetSessionAttrs::ReadOnly,
                    "primary" => TargetSessionAttrs::Primary,
                    "standby" => TargetSessionAttrs::Standby,
                    "prefer-standby" => TargetSessionAttrs::PreferStandby,
                    _ => {
                        return Err(config_error(format!(
                            "invalid target_session_attrs value: \"{value}\""
                        )));
                    }
                }
            }
            "require_auth" => self.require_auth = Some(parse_require_auth(value)?),
            "passfile" => self.passfile = Some(PathBuf::from(value)),
            // Accepted and ignored, as settings of features this client
            // does not have (GSSAPI, keepalives, CRLs...).
            "gssencmode"
            | "krbsrvname"
            | "gsslib"
            | "gssdelegation"
            | "keepalives"
            | "keepalives_idle"
            | "keepalives_interval"
            | "keepalives_count"
            | "tcp_user_timeout"
            | "sslcompression"
            | "sslcrl"
            | "sslcrldir"
            | "sslsni"
            | "sslpassword"
            | "sslkeylogfile"
            | "requirepeer"
            | "ssl_min_protocol_version"
            | "ssl_max_protocol_version"
            | "load_balance_hosts"
            | "replication"
            | "client_encoding"
            | "service" => {
                if key == "replication" || key == "client_encoding" {
                    self.extra_params.push((key.to_owned(), value.to_owned()));
                }
            }
            "min_protocol_version" | "max_protocol_version" => {
                // libpq 18: "3.0", "3.2", "latest".
                if key == "max_protocol_version" {
                    self.protocol_minor = match value {
                        "3.0" => 0,
                        "3.2" | "latest" => 2,
                        _ => {
                            return Err(config_error(format!(
                                "invalid max_protocol_version value: \"{value}\""
                            )));
                        }
                    }
                }
            }
            _ => return Err(config_error(format!("invalid connection option \"{key}\""))),
        }
        Ok(())
    }

    /// Adds a run-time parameter to the StartupMessage (e.g. `search_path`).
    pub fn param(&mut self, name: &str, value: &str) -> &mut Config {
        self.extra_params.push((name.to_owned(), value.to_owned()));
        self
    }

    fn apply_url(&mut self, url: &str) -> Result<(), Error> {
        let rest = url
            .strip_prefix("postgresql://")
            .or_else(|| url.strip_prefix("postgres://"))
            .ok_or_else(|| config_error("not a postgresql:// URL"))?;
        let (before_query, query) = match rest.split_once('?') {
            Some((a, b)) => (a, Some(b)),
            None => (rest, None),
        };
        let (authority, path) = match before_query.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (before_query, None),
        };
        let (userinfo, hostlist) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        if let Some(u) = userinfo {
            let (user, pass) = match u.split_once(':') {
                Some((a, b)) => (a, Some(b)),
                None => (u, None),
            };
            if !user.is_empty() {
                self.user = Some(percent_decode(user)?);
            }
            if let Some(p) = pass {
                self.password = Some(percent_decode(p)?);
            }
        }
        if !hostlist.is_empty() {
            let mut hosts = Vec::new();
            let mut ports = Vec::new();
            let mut any_port = false;
            for item in hostlist.split(',') {
                let (h, p) = if let Some(v6) = item.strip_prefix('[') {
                    let (h, after) = v6.split_once(']').ok_or_else(|| {
                        config_error(format!("missing \"]\" in URL host \"{item}\""))
                    })?;
                    (h, after.strip_prefix(':'))
                } else {
                    match item.split_once(':') {
                        Some((h, p)) => (h, Some(p)),
                        None => (item, None),
                    }
                };
                hosts.push(percent_decode(h)?);
                match p {
                    Some(p) if !p.is_empty() => {
                        any_port = true;
                        ports.push(
                            p.parse::<u16>().map_err(|_| {
                                config_error(format!("invalid port number: \"{p}\""))
                            })?,
                        )
                    }
                    _ => ports.push(5432),
                }
            }
            if hosts.iter().any(|h| !h.is_empty()) {
                self.hosts = hosts;
            }
            if any_port {
                self.ports = ports;
            }
        }
        if let Some(p) = path {
            if !p.is_empty() {
                self.dbname = Some(percent_decode(p)?);
            }
        }
        if let Some(q) = query {
            for pair in q.split('&').filter(|s| !s.is_empty()) {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    config_error(format!("missing \"=\" after \"{pair}\" in URL query"))
                })?;
                let k = percent_decode(k)?;
                let v = percent_decode(v)?;
                // JDBC-style alias libpq accepts.
                let k = if k == "ssl" && v == "true" {
                    self.set("sslmode", "require")?;
                    continue;
                } else {
                    k
                };
                self.set(&k, &v)?;
            }
        }
        Ok(())
    }

    /// The servers to try, in order: `host` × `hostaddr` × `port` paired
    /// as libpq pairs them (one port for all, or one per host). Without a
    /// host: the Unix socket directory `/var/run/postgresql` if it exists,
    /// else `/tmp` if it exists, else `localhost`.
    pub fn targets(&self) -> Vec<Target> {
        let mut hosts: Vec<String> = self.hosts.clone();
        let n = hosts.len().max(self.hostaddrs.len()).max(1);
        hosts.resize(n, String::new());
        let mut out = Vec::with_capacity(n);
        for (i, name) in hosts.iter().enumerate() {
            let addr = self
                .hostaddrs
                .get(i)
                .filter(|a| !a.is_empty())
                .and_then(|a| a.parse().ok());
            let port = match self.ports.len() {
                0 => 5432,
                1 => self.ports[0],
                _ => self.ports.get(i).copied().unwrap_or(5432),
            };
            let host = if name.starts_with('/') {
                Host::Unix(PathBuf::from(name))
            } else if name.is_empty() && addr.is_none() {
                default_host()
            } else {
                Host::Tcp {
                    name: name.clone(),
                    addr,
                }
            };
            out.push(Target { host, port });
        }
        out
    }

    /// The user name to log in as (`user`, else the OS user via `USER`).
    pub fn user_or_default(&self) -> String {
        self.user
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "postgres".to_owned())
    }

    /// The password for one server: `password`, else the matching
    /// `.pgpass` line.
    pub fn password_for(&self, target: &Target) -> Option<String> {
        if let Some(p) = &self.password {
            return Some(p.clone());
        }
        let file = self.passfile.as_ref()?;
        let user = self.user_or_default();
        let db = self.dbname.clone().unwrap_or_else(|| user.clone());
        let host = match &target.host {
            // libpq matches socket connections against "localhost" too.
            Host::Unix(dir) => {
                if dir.as_os_str() == "/var/run/postgresql" || dir.as_os_str() == "/tmp" {
                    "localhost".to_owned()
                } else {
                    dir.display().to_string()
                }
            }
            Host::Tcp { .. } => target.host_name(),
        };
        pgpass_lookup(file, &host, target.port, &db, &user)
    }

    /// Is `method` allowed by `require_auth`?
    pub(crate) fn auth_allowed(&self, method: AuthMethod) -> bool {
        match &self.require_auth {
            None => true,
            Some(list) => list.contains(&method),
        }
    }
}

fn default_host() -> Host {
    for dir in ["/var/run/postgresql", "/tmp"] {
        if Path::new(dir).is_dir() {
            return Host::Unix(PathBuf::from(dir));
        }
    }
    Host::Tcp {
        name: "localhost".to_owned(),
        addr: None,
    }
}

/// `PG*` variables and the key words they default.
const ENV_VARS: [(&str, &str); 18] = [
    ("PGHOST", "host"),
    ("PGHOSTADDR", "hostaddr"),
    ("PGPORT", "port"),
    ("PGDATABASE", "dbname"),
    ("PGUSER", "user"),
    ("PGPASSWORD", "password"),
    ("PGPASSFILE", "passfile"),
    ("PGAPPNAME", "application_name"),
    ("PGOPTIONS", "options"),
    ("PGSSLMODE", "sslmode"),
    ("PGSSLNEGOTIATION", "sslnegotiation"),
    ("PGSSLROOTCERT", "sslrootcert"),
    ("PGSSLCERT", "sslcert"),
    ("PGSSLKEY", "sslkey"),
    ("PGCHANNELBINDING", "channel_binding"),
    ("PGCONNECT_TIMEOUT", "connect_timeout"),
    ("PGTARGETSESSIONATTRS", "target_session_attrs"),
    ("PGREQUIREAUTH", "require_auth"),
];

fn split_list(v: &str) -> Vec<String> {
    v.split(',').map(|s| s.trim().to_owned()).collect()
}

fn parse_require_auth(value: &str) -> Result<Vec<AuthMethod>, Error> {
    let items: Vec<&str> = value.split(',').map(str::trim).collect();
    let negated = items.first().is_some_and(|s| s.starts_with('!'));
    let mut listed = Vec::new();
    for item in &items {
        let (neg, name) = match item.strip_prefix('!') {
            Some(n) => (true, n),
            None => (false, *item),
        };
        if neg != negated {
            return Err(config_error(
                "negative require_auth method cannot be mixed with non-negative methods",
            ));
        }
        let m = AuthMethod::parse(name)
            .ok_or_else(|| config_error(format!("invalid require_auth value: \"{name}\"")))?;
        listed.push(m);
    }
    Ok(if negated {
        AuthMethod::ALL
            .into_iter()
            .filter(|m| !listed.contains(m))
            .collect()
    } else {
        listed
    })
}

/// `key = value` pairs of a libpq connection string: values may be
/// single-quoted, with `\'` and `\\` escapes inside or outside quotes.
fn parse_keywords(s: &str) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(config_error(format!(
                "missing \"=\" after \"{key}\" in connection info string"
            )));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(config_error(
                            "unterminated quoted string in connection info string",
                        ));
                    }
                    Some('\\') => {
                        if let Some(c) = chars.next() {
                            value.push(c);
                        }
                    }
                    Some('\'') => break,
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        value.push(n);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        out.push((key, value));
    }
}

fn percent_decode(s: &str) -> Result<String, Error> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| config_error(format!("invalid percent-encoded token: \"{s}\"")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| config_error(format!("invalid UTF-8 in \"{s}\"")))
}

/// The password of the first matching line of a `.pgpass` file
/// (`host:port:database:user:password`, `*` matches anything, `\:` and
/// `\\` escape). Like libpq, a file readable by group or others is ignored.
pub(crate) fn pgpass_lookup(
    file: &Path,
    host: &str,
    port: u16,
    db: &str,
    user: &str,
) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(file).ok()?;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(file = %file.display(), "password file has group or world access; permissions should be u=rw (0600) or less");
            return None;
        }
    }
    let text = std::fs::read_to_string(file).ok()?;
    pgpass_match(&text, host, port, db, user)
}

pub(crate) fn pgpass_match(
    text: &str,
    host: &str,
    port: u16,
    db: &str,
    user: &str,
) -> Option<String> {
    let port = port.to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass_line(line);
        if fields.len() < 5 {
            continue;
        }
        let wanted = [host, port.as_str(), db, user];
        if fields.iter().zip(wanted).all(|(f, w)| f == "*" || f == w) {
            return Some(fields[4].clone());
        }
    }
    None
}

fn split_pgpass_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    if let Some(last) = fields.last_mut() {
                        last.push(n);
                    }
                }
            }
            // The password is the rest of the line, colons included.
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_string() {
        let c = Config::parse(
            "host=localhost port=5433 user=alice password='it''s' dbname = app application_name='my app' \
             options='-c search_path=x' sslmode=verify-full sslrootcert=/ca.pem channel_binding=require \
             connect_timeout=10 target_session_attrs=read-write require_auth=scram-sha-256",
        );
        // '' inside quotes is not an escape in libpq: the quote ends.
        assert!(c.is_err() || c.as_ref().unwrap().password.as_deref() == Some("it"));
        let c = Config::parse(
            "host=localhost port=5433 user=alice password='it\\'s' dbname = app application_name='my app' \
             options='-c search_path=x' sslmode=verify-full sslrootcert=/ca.pem channel_binding=require \
             connect_timeout=10 target_session_attrs=read-write require_auth=scram-sha-256 sslnegotiation=direct",
        )
        .unwrap();
        assert_eq!(c.hosts, ["localhost"]);
        assert_eq!(c.ports, [5433]);
        assert_eq!(c.password.as_deref(), Some("it's"));
        assert_eq!(c.dbname.as_deref(), Some("app"));
        assert_eq!(c.application_name.as_deref(), Some("my app"));
        assert_eq!(c.options.as_deref(), Some("-c search_path=x"));
        assert_eq!(c.ssl_mode, SslMode::VerifyFull);
        assert_eq!(c.ssl_negotiation, SslNegotiation::Direct);
        assert_eq!(c.ssl_root_cert.as_deref(), Some(Path::new("/ca.pem")));
        assert_eq!(c.channel_binding, ChannelBinding::Require);
        assert_eq!(c.connect_timeout, Some(Duration::from_secs(10)));
        assert_eq!(c.target_session_attrs, TargetSessionAttrs::ReadWrite);
        assert_eq!(c.require_auth, Some(vec![AuthMethod::ScramSha256]));
    }

    #[test]
    fn keyword_errors() {
        assert!(Config::parse("host").is_err());
        assert!(Config::parse("nosuch=1").is_err());
        assert!(Config::parse("port=abc").is_err());
        assert!(Config::parse("sslmode=maybe").is_err());
        assert!(Config::parse("password='open").is_err());
        assert!(Config::parse("require_auth=md5,!password").is_err());
    }

    #[test]
    fn require_auth_negation() {
        let c = Config::parse("require_auth=!password,!md5").unwrap();
        let allowed = c.require_auth.unwrap();
        assert!(!allowed.contains(&AuthMethod::Password));
        assert!(!allowed.contains(&AuthMethod::Md5));
        assert!(allowed.contains(&AuthMethod::ScramSha256));
        assert!(allowed.contains(&AuthMethod::None));
    }

    #[test]
    fn url_forms() {
        let c = Config::parse(
            "postgresql://us%40er:p%3Ass@[::1]:5433,db2,db3:7000/my%20db?application_name=x&sslmode=disable&connect_timeout=1",
        )
        .unwrap();
        assert_eq!(c.user.as_deref(), Some("us@er"));
        assert_eq!(c.password.as_deref(), Some("p:ss"));
        assert_eq!(c.hosts, ["::1", "db2", "db3"]);
        assert_eq!(c.ports, [5433, 5432, 7000]);
        assert_eq!(c.dbname.as_deref(), Some("my db"));
        assert_eq!(c.application_name.as_deref(), Some("x"));
        assert_eq!(c.ssl_mode, SslMode::Disable);
        assert_eq!(c.connect_timeout, Some(Duration::from_secs(2)));
        let t = c.targets();
        assert_eq!(t.len(), 3);
        assert_eq!(t[2].port, 7000);

        let c = Config::parse("postgres://%2Ftmp%2Fsock/db").unwrap();
        assert_eq!(c.targets()[0].host, Host::Unix(PathBuf::from("/tmp/sock")));
        let c = Config::parse("postgresql:///db?host=/run/pg&port=6000").unwrap();
        assert_eq!(c.targets()[0].host, Host::Unix(PathBuf::from("/run/pg")));
        assert_eq!(c.targets()[0].port, 6000);
        assert!(Config::parse("postgresql://h/db?bogus=1").is_err());
        assert!(Config::parse("postgresql://h:99999/").is_err());
    }

    #[test]
    fn multiple_hosts_and_hostaddr() {
        let c = Config::parse("host=a,b hostaddr=127.0.0.1,10.0.0.2 port=1,2").unwrap();
        let t = c.targets();
        assert_eq!(
            t[0].host,
            Host::Tcp {
                name: "a".into(),
                addr: Some("127.0.0.1".parse().unwrap())
            }
        );
        assert_eq!(t[1].port, 2);
        let c = Config::parse("host=a,b port=7").unwrap();
        assert!(c.targets().iter().all(|t| t.port == 7));
    }

    #[test]
    fn environment_defaults_and_override() {
        let env = |k: &str| match k {
            "PGHOST" => Some("envhost".to_owned()),
            "PGPORT" => Some("6543".to_owned()),
            "PGUSER" => Some("envuser".to_owned()),
            "PGSSLMODE" => Some("require".to_owned()),
            "PGAPPNAME" => Some("envapp".to_owned()),
            "HOME" => Some("/home/x".to_owned()),
            _ => None,
        };
        let c = Config::from_lookup_and_str("port=7000 user=me", env).unwrap();
        assert_eq!(c.hosts, ["envhost"]);
        assert_eq!(c.ports, [7000]);
        assert_eq!(c.user.as_deref(), Some("me"));
        assert_eq!(c.ssl_mode, SslMode::Require);
        assert_eq!(c.application_name.as_deref(), Some("envapp"));
        assert_eq!(c.passfile.as_deref(), Some(Path::new("/home/x/.pgpass")));
    }

    #[test]
    fn pgpass_matching() {
        let text = "# comment\n\
                    otherhost:*:*:*:nope\n\
                    db\\:host:5432:app:alice:pa\\:ss:word\n\
                    *:*:*:bob:bobpw\n";
        assert_eq!(
            pgpass_match(text, "db:host", 5432, "app", "alice").as_deref(),
            Some("pa:ss:word")
        );
        assert_eq!(pgpass_match(text, "db:host", 5433, "app", "alice"), None);
        assert_eq!(
            pgpass_match(text, "x", 1, "y", "bob").as_deref(),
            Some("bobpw")
        );
    }

    #[test]
    fn pgpass_file_permissions() {
        let dir = std::env::temp_dir().join(format!("pgwire-pgpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pgpass");
        std::fs::write(&file, "h:5432:d:u:secret\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert_eq!(
                pgpass_lookup(&file, "h", 5432, "d", "u").as_deref(),
                Some("secret")
            );
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(pgpass_lookup(&file, "h", 5432, "d", "u"), None);
        }
        let mut c = Config::parse("host=h dbname=d user=u").unwrap();
        c.passfile = Some(file.clone());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(c.password_for(&c.targets()[0]).as_deref(), Some("secret"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
