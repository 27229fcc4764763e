//! Server limits, timeouts and defaults.

use std::sync::Arc;
use std::time::Duration;

use crate::messages::DEFAULT_MAX_MESSAGE_LEN;

/// How a server behaves: limits, timeouts, TLS and the parameters it
/// reports. Built from [`ServerConfig::default`] with `with_*` methods.
///
/// ```
/// use std::time::Duration;
/// use pgwire::server::ServerConfig;
///
/// let config = ServerConfig::default()
///     .with_max_connections(Some(500))
///     .with_idle_session_timeout(Some(Duration::from_secs(600)))
///     .with_parameter("server_version", "16.4 (my engine)");
/// assert_eq!(config.max_connections(), Some(500));
/// ```
#[derive(Clone)]
pub struct ServerConfig {
    pub(crate) max_message_len: usize,
    pub(crate) startup_timeout: Option<Duration>,
    pub(crate) idle_session_timeout: Option<Duration>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_prepared_statements: usize,
    pub(crate) max_portals: usize,
    pub(crate) write_high_water: usize,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) parameters: Vec<(Arc<str>, Arc<str>)>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<super::tls::TlsAcceptor>,
    pub(crate) require_tls: bool,
    pub(crate) cancel_on_client_disconnect: bool,
    // PROXY protocol (additive; see proxy_accept.rs).
    pub(crate) proxy_protocol: super::ProxyProtocolMode,
    pub(crate) proxy_trusted: Vec<super::IpNetwork>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("ServerConfig");
        d.field("max_message_len", &self.max_message_len)
            .field("startup_timeout", &self.startup_timeout)
            .field("idle_session_timeout", &self.idle_session_timeout)
            .field("max_connections", &self.max_connections)
            .field("max_prepared_statements", &self.max_prepared_statements)
            .field("max_portals", &self.max_portals)
            .field("write_high_water", &self.write_high_water)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("parameters", &self.parameters)
            .field("require_tls", &self.require_tls)
            .field(
                "cancel_on_client_disconnect",
                &self.cancel_on_client_disconnect,
            )
            .field("proxy_protocol", &self.proxy_protocol)
            .field("proxy_trusted", &self.proxy_trusted);
        #[cfg(feature = "tls")]
        d.field("tls", &self.tls.is_some());
        d.finish()
    }
}

/// The ParameterStatus values sent at startup, as PostgreSQL 18 sends them
/// for a UTF-8 database. `application_name` and `session_authorization`
/// come from the client.
fn default_parameters() -> Vec<(Arc<str>, Arc<str>)> {
    [
        ("client_encoding", "UTF8"),
        ("DateStyle", "ISO, MDY"),
        ("default_transaction_read_only", "off"),
        ("in_hot_standby", "off"),
        ("integer_datetimes", "on"),
        ("IntervalStyle", "postgres"),
        ("is_superuser", "on"),
        ("scram_iterations", "4096"),
        ("server_encoding", "UTF8"),
        ("server_version", "18.0"),
        ("standard_conforming_strings", "on"),
        ("TimeZone", "UTC"),
    ]
    .into_iter()
    .map(|(k, v)| (Arc::from(k), Arc::from(v)))
    .collect()
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            startup_timeout: Some(Duration::from_secs(60)),
            idle_session_timeout: None,
            max_connections: None,
            max_prepared_statements: 10_000,
            max_portals: 10_000,
            write_high_water: 64 * 1024,
            shutdown_timeout: Duration::from_secs(30),
            parameters: default_parameters(),
            #[cfg(feature = "tls")]
            tls: None,
            require_tls: false,
            cancel_on_client_disconnect: false,
            proxy_protocol: super::ProxyProtocolMode::Off,
            proxy_trusted: Vec::new(),
        }
    }
}

impl ServerConfig {
    /// Maximum size of a client message (default 64 MiB, see
    /// [`DEFAULT_MAX_MESSAGE_LEN`]). Larger messages are refused with 08P01
    /// before their body is read.
    pub fn with_max_message_len(mut self, max: usize) -> Self {
        self.max_message_len = max;
        self
    }

    /// Time allowed from connection to ReadyForQuery, authentication
    /// included (default 60 s, PostgreSQL's `authentication_timeout`).
    /// `None` disables it.
    pub fn with_startup_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Closes sessions idle (outside a transaction, waiting for a query)
    /// for longer than this, with FATAL 57P05 (default: never).
    pub fn with_idle_session_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_session_timeout = timeout;
        self
    }

    /// Maximum concurrent sessions; more are refused with FATAL 53300
    /// too_many_connections (default: unlimited).
    pub fn with_max_connections(mut self, max: Option<usize>) -> Self {
        self.max_connections = max;
        self
    }

    /// Maximum prepared statements per session (default 10,000); a Parse
    /// beyond it fails with 54000 program_limit_exceeded.
    pub fn with_max_prepared_statements(mut self, max: usize) -> Self {
        self.max_prepared_statements = max;
        self
    }

    /// Maximum open portals per session (default 10,000).
    pub fn with_max_portals(mut self, max: usize) -> Self {
        self.max_portals = max;
        self
    }

    /// Output buffered before it is written while rows stream (default
    /// 64 KiB): the bound on a session's write buffer.
    pub fn with_write_high_water(mut self, bytes: usize) -> Self {
        self.write_high_water = bytes.max(1);
        self
    }

    /// How long a graceful shutdown waits for running queries before
    /// closing every connection (default 30 s).
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Sets a parameter reported with ParameterStatus at startup
    /// (`server_version`, `TimeZone`, ...), adding it if new.
    pub fn with_parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name: Arc<str> = Arc::from(name.into());
        let value: Arc<str> = Arc::from(value.into());
        match self
            .parameters
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(&name))
        {
            Some((_, v)) => *v = value,
            None => self.parameters.push((name, value)),
        }
        self
    }

    /// Accepts TLS, after an SSLRequest (answered `S`) or directly
    /// (PostgreSQL 17+ `sslnegotiation=direct`, ALPN `postgresql`). Without
    /// it, SSLRequest is answered `N` and direct TLS refused.
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, acceptor: super::tls::TlsAcceptor) -> Self {
        self.tls = Some(acceptor);
        self
    }

    /// The TLS acceptor, if TLS is configured.
    #[cfg(feature = "tls")]
    pub fn tls(&self) -> Option<&super::tls::TlsAcceptor> {
        self.tls.as_ref()
    }

    /// Refuses connections that are not encrypted with TLS (FATAL 28000).
    pub fn with_require_tls(mut self, require: bool) -> Self {
        self.require_tls = require;
        self
    }

    /// Whether a running statement is cancelled when its client's end of
    /// the connection closes. Default `false`.
    ///
    /// By default a statement the client sent runs to its end, as in
    /// PostgreSQL: a client that sends a query and then closes its sending
    /// side (`shutdown(SHUT_WR)`, as some proxies and scripted clients do)
    /// still gets its answer, and one that sends a batch followed by
    /// Terminate has the whole batch run. Set this to stop the handler's
    /// work (its future is dropped) as soon as the socket reports the
    /// client's end closed, the role of PostgreSQL's
    /// `client_connection_check_interval`. Either way a session whose
    /// output can no longer be written ends.
    pub fn with_cancel_on_client_disconnect(mut self, cancel: bool) -> Self {
        self.cancel_on_client_disconnect = cancel;
        self
    }

    /// Whether a vanished client cancels its running statement.
    pub fn cancel_on_client_disconnect(&self) -> bool {
        self.cancel_on_client_disconnect
    }

    /// Reads a PROXY protocol header (HAProxy's v1 or v2) before SSLRequest
    /// and the startup packet, and reports the client address it declares
    /// in [`ClientInfo::peer_addr`](crate::api::ClientInfo::peer_addr).
    /// Only peers in `trusted` may send one (an empty list trusts every
    /// peer: use it only when the port is reachable from the proxies
    /// alone). A malformed header, a header from an untrusted peer, or a
    /// missing one in [`Required`](super::ProxyProtocolMode::Required) mode
    /// closes the connection without an answer, with a log line.
    pub fn with_proxy_protocol(
        mut self,
        mode: super::ProxyProtocolMode,
        trusted: impl IntoIterator<Item = super::IpNetwork>,
    ) -> Self {
        self.proxy_protocol = mode;
        self.proxy_trusted = trusted.into_iter().collect();
        self
    }

    /// The PROXY protocol mode.
    pub fn proxy_protocol(&self) -> super::ProxyProtocolMode {
        self.proxy_protocol
    }

    /// The maximum message size.
    pub fn max_message_len(&self) -> usize {
        self.max_message_len
    }

    /// The startup timeout.
    pub fn startup_timeout(&self) -> Option<Duration> {
        self.startup_timeout
    }

    /// The idle session timeout.
    pub fn idle_session_timeout(&self) -> Option<Duration> {
        self.idle_session_timeout
    }

    /// The connection limit.
    pub fn max_connections(&self) -> Option<usize> {
        self.max_connections
    }

    /// The parameters reported at startup.
    pub fn parameters(&self) -> impl Iterator<Item = (&str, &str)> {
        self.parameters.iter().map(|(k, v)| (&**k, &**v))
    }
}
