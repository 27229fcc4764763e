//! Connecting: the transport (TCP, Unix socket, TLS negotiation), the
//! StartupMessage with protocol negotiation, authentication, and the
//! choice among several hosts.

use std::sync::Arc;

use bytes::Bytes;
use tokio::net::TcpStream;

use super::cancel::CancelToken;
use super::config::{
    AuthMethod, ChannelBinding, Config, Host, SslMode, Target, TargetSessionAttrs,
};
use super::connection::Client;
use super::error::{DbError, Error};
use super::scram::{Binding, ScramClient, ScramSecret};
use super::transport::Transport;
use crate::messages::{
    Authentication, BackendMessage, ByteStr, Message, PasswordMessage, ProtocolVersion,
    SaslInitialResponse, SaslResponse, StartupMessage,
};

/// Whether one connection attempt asks for TLS. `sslmode=prefer` and
/// `allow` make two attempts when the first fails, as libpq does: prefer
/// asks for TLS first and goes on in plaintext when the server refuses it
/// (answers 'N', on the same socket), and reconnects in plaintext when
/// the handshake fails or the server rejects the session over TLS; allow
/// connects in plaintext first and reconnects with TLS when the server
/// rejects that session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsAttempt {
    /// No SSLRequest.
    Plain,
    /// TLS as `sslmode` and `sslnegotiation` say.
    Tls,
}

impl TlsAttempt {
    /// The first attempt for `mode`.
    pub(crate) fn first(mode: SslMode) -> TlsAttempt {
        match mode {
            SslMode::Disable | SslMode::Allow => TlsAttempt::Plain,
            _ => TlsAttempt::Tls,
        }
    }
}

/// Opens the transport to one server: TCP or Unix socket, then TLS as
/// `sslmode` and `sslnegotiation` say (the first attempt of
/// [`TlsAttempt`]). Returns the `tls-server-end-point` binding data when
/// TLS is up.
pub(crate) async fn open_transport(
    config: &Config,
    target: &Target,
) -> Result<(Transport, Option<Vec<u8>>), Error> {
    open_transport_as(config, target, TlsAttempt::first(config.ssl_mode)).await
}

/// [`open_transport`] for one attempt.
async fn open_transport_as(
    config: &Config,
    target: &Target,
    attempt: TlsAttempt,
) -> Result<(Transport, Option<Vec<u8>>), Error> {
    match &target.host {
        #[cfg(unix)]
        Host::Unix(dir) => {
            // libpq does not use TLS over Unix sockets, whatever sslmode says.
            let path = dir.join(format!(".s.PGSQL.{}", target.port));
            let s = tokio::net::UnixStream::connect(&path).await.map_err(|e| {
                Error::Io(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", path.display()),
                ))
            })?;
            Ok((Transport::Unix(s), None))
        }
        #[cfg(not(unix))]
        Host::Unix(_) => Err(Error::Config(
            "Unix-domain sockets are not supported on this platform".into(),
        )),
        Host::Tcp { name, addr } => {
            let tcp = match addr {
                Some(ip) => TcpStream::connect((*ip, target.port)).await,
                None => TcpStream::connect((name.as_str(), target.port)).await,
            }
            .map_err(|e| {
                Error::Io(std::io::Error::new(
                    e.kind(),
                    format!("{}:{}: {e}", target.host_name(), target.port),
                ))
            })?;
            let _ = tcp.set_nodelay(true);
            let host_name = if name.is_empty() {
                target.host_name()
            } else {
                name.clone()
            };
            negotiate_tls(config, tcp, &host_name, attempt).await
        }
    }
}

#[cfg(feature = "client-tls")]
async fn negotiate_tls(
    config: &Config,
    mut tcp: TcpStream,
    host: &str,
    attempt: TlsAttempt,
) -> Result<(Transport, Option<Vec<u8>>), Error> {
    use super::config::SslNegotiation;
    use super::tls;
    use crate::messages::SslRequest;
    use bytes::BytesMut;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if attempt == TlsAttempt::Plain {
        if config.ssl_negotiation == SslNegotiation::Direct {
            return Err(Error::Config(
                "sslnegotiation=direct needs sslmode=require, verify-ca or verify-full".into(),
            ));
        }
        return Ok((Transport::Tcp(tcp), None));
    }
    let tls_config = tls::client_config(config)?;
    if config.ssl_negotiation == SslNegotiation::Direct {
        if config.ssl_mode == SslMode::Prefer {
            return Err(Error::Config(
                "weak sslmode \"prefer\" may not be used with sslnegotiation=direct".into(),
            ));
        }
    } else {
        let mut buf = BytesMut::new();
        SslRequest.encode(&mut buf);
        tcp.write_all(&buf).await?;
        // Exactly one byte: anything sent after 'S' before the handshake
        // would be a man-in-the-middle's injection (CVE-2021-23222).
        let answer = tcp.read_u8().await.map_err(|_| Error::Closed)?;
        match answer {
            b'S' => {}
            b'N' if config.ssl_mode == SslMode::Prefer => return Ok((Transport::Tcp(tcp), None)),
            b'N' => {
                return Err(Error::Tls(
                    "server does not support SSL, but SSL was required".into(),
                ));
            }
            b'E' => {
                return Err(Error::protocol(
                    "server answered SSLRequest with an error (too old?)",
                ));
            }
            other => {
                return Err(Error::protocol(format!(
                    "received invalid response to SSL negotiation: {:?}",
                    other as char
                )));
            }
        }
    }
    let stream = tls::handshake(tcp, tls_config, host).await?;
    let end_point = tls::server_end_point(&stream);
    Ok((Transport::Tls(Box::new(stream)), end_point))
}

#[cfg(not(feature = "client-tls"))]
async fn negotiate_tls(
    config: &Config,
    tcp: TcpStream,
    _host: &str,
    _attempt: TlsAttempt,
) -> Result<(Transport, Option<Vec<u8>>), Error> {
    match config.ssl_mode {
        SslMode::Disable | SslMode::Allow | SslMode::Prefer => Ok((Transport::Tcp(tcp), None)),
        _ => Err(Error::Tls(
            "this build has no TLS (enable the `client-tls` feature)".into(),
        )),
    }
}

impl Client {
    /// Connects with a libpq connection string or URL, `PG*` environment
    /// variables and `~/.pgpass` as libpq does.
    pub async fn connect_str(conninfo: &str) -> Result<Client, Error> {
        Client::connect(&Config::from_env_and_str(conninfo)?).await
    }

    /// Connects: tries each host in order (each within `connect_timeout`)
    /// until one accepts and matches `target_session_attrs`.
    pub async fn connect(config: &Config) -> Result<Client, Error> {
        let config = Arc::new(config.clone());
        let targets = config.targets();
        let mut errors = Vec::new();
        let passes: &[TargetSessionAttrs] = match config.target_session_attrs {
            TargetSessionAttrs::PreferStandby => {
                &[TargetSessionAttrs::Standby, TargetSessionAttrs::Any]
            }
            ref one => std::slice::from_ref(one),
        };
        for &wanted in passes {
            for target in &targets {
                let attempt = connect_one(config.clone(), target.clone(), wanted);
                let result = match config.connect_timeout {
                    Some(t) => match tokio::time::timeout(t, attempt).await {
                        Ok(r) => r,
                        Err(_) => Err(Error::Timeout(format!(
                            "{}:{}",
                            target.host_name(),
                            target.port
                        ))),
                    },
                    None => attempt.await,
                };
                match result {
                    Ok(c) => return Ok(c),
                    Err(e) => {
                        tracing::debug!(host = %target.host_name(), port = target.port, error = %e, "connection attempt failed");
                        errors.push(e)
                    }
                }
            }
        }
        if errors.len() == 1 {
            return Err(errors.remove(0));
        }
        Err(Error::AllHostsFailed(errors))
    }
}

impl Client {
    /// Runs startup and authentication over a stream the caller connected
    /// (no TLS negotiation, no cancel target: the stream is used as is).
    /// For tests, tunnels, and proxies that own their sockets.
    pub async fn connect_stream(
        stream: impl super::transport::Stream + 'static,
        config: &Config,
    ) -> Result<Client, Error> {
        let mut client = Client::new(Transport::Custom(Box::new(stream)));
        let target = config.targets().into_iter().next().unwrap_or(Target {
            host: Host::Tcp {
                name: String::new(),
                addr: None,
            },
            port: 5432,
        });
        startup(&mut client, config, &target, None).await?;
        Ok(client)
    }
}

async fn connect_one(
    config: Arc<Config>,
    target: Target,
    wanted: TargetSessionAttrs,
) -> Result<Client, Error> {
    if config
        .ssl_root_cert
        .as_deref()
        .is_some_and(|p| p.as_os_str() == "system")
        && config.ssl_mode != SslMode::VerifyFull
    {
        // As libpq: the system's CAs vouch for any name they signed, so
        // only a name check makes them meaningful.
        return Err(Error::Config(format!(
            "weak sslmode \"{}\" may not be used with sslrootcert=system (use \"verify-full\")",
            config.ssl_mode.name()
        )));
    }
    let first = TlsAttempt::first(config.ssl_mode);
    let (first_error, tls_was_up) = match connect_attempt(&config, &target, first).await {
        Ok(client) => return finish_connect(client, config, target, wanted).await,
        Err(failed) => failed,
    };
    // libpq's second attempt (see TlsAttempt); never over a Unix socket,
    // where TLS is not used.
    let second = match (config.ssl_mode, &target.host) {
        (_, Host::Unix(_)) => None,
        (SslMode::Prefer, _)
            if matches!(first_error, Error::Tls(_))
                || (tls_was_up && matches!(first_error, Error::Db(_))) =>
        {
            Some(TlsAttempt::Plain)
        }
        (SslMode::Allow, _) if matches!(first_error, Error::Db(_)) => Some(TlsAttempt::Tls),
        _ => None,
    };
    let Some(second) = second else {
        return Err(first_error);
    };
    tracing::debug!(host = %target.host_name(), port = target.port, error = %first_error, retry = ?second, "sslmode: trying again");
    match connect_attempt(&config, &target, second).await {
        Ok(client) => finish_connect(client, config, target, wanted).await,
        Err((e, _)) => Err(e),
    }
}

/// One connection attempt up to ReadyForQuery; on failure, whether TLS
/// was up.
async fn connect_attempt(
    config: &Config,
    target: &Target,
    attempt: TlsAttempt,
) -> Result<Client, (Error, bool)> {
    let (io, end_point) = open_transport_as(config, target, attempt)
        .await
        .map_err(|e| (e, false))?;
    let tls = io.is_tls();
    let mut client = Client::new(io);
    match startup(&mut client, config, target, end_point).await {
        Ok(()) => Ok(client),
        Err(e) => Err((e, tls)),
    }
}

async fn finish_connect(
    mut client: Client,
    config: Arc<Config>,
    target: Target,
    wanted: TargetSessionAttrs,
) -> Result<Client, Error> {
    // The cancel request goes the way the session went (prefer/allow may
    // have ended in plaintext or in TLS).
    let cancel_config = match (config.ssl_mode, client.is_tls()) {
        (SslMode::Prefer, false) => Arc::new(Config {
            ssl_mode: SslMode::Disable,
            ..(*config).clone()
        }),
        (SslMode::Allow, true) => Arc::new(Config {
            ssl_mode: SslMode::Prefer,
            ..(*config).clone()
        }),
        _ => config,
    };
    client.cancel = Some(CancelToken::new(
        client.process_id,
        client.secret_key.clone(),
        target.clone(),
        cancel_config,
    ));
    check_session_attrs(&mut client, wanted).await?;
    Ok(client)
}

async fn startup(
    client: &mut Client,
    config: &Config,
    target: &Target,
    end_point: Option<Vec<u8>>,
) -> Result<(), Error> {
    let user = config.user_or_default();
    let mut params: Vec<(ByteStr, ByteStr)> = vec![("user".into(), user.clone().into())];
    if let Some(db) = &config.dbname {
        params.push(("database".into(), db.clone().into()));
    }
    if let Some(app) = &config.application_name {
        params.push(("application_name".into(), app.clone().into()));
    }
    if let Some(o) = &config.options {
        params.push(("options".into(), o.clone().into()));
    }
    if !config
        .extra_params
        .iter()
        .any(|(k, _)| k == "client_encoding")
    {
        // Strings are decoded as UTF-8.
        params.push(("client_encoding".into(), "UTF8".into()));
    }
    for (k, v) in &config.extra_params {
        params.push((k.clone().into(), v.clone().into()));
    }
    let requested = ProtocolVersion {
        major: 3,
        minor: config.protocol_minor,
    };
    StartupMessage {
        version: requested,
        parameters: params,
    }
    .encode(&mut client.write_buf);
    client.flush().await?;
    client.protocol = requested;

    authenticate(client, config, target, end_point).await?;

    // After AuthenticationOk: BackendKeyData, ParameterStatus..., ReadyForQuery.
    loop {
        match client.recv_raw().await? {
            BackendMessage::BackendKeyData(k) => {
                if client.protocol == ProtocolVersion::V3_0 && k.secret_key.len() != 4 {
                    return Err(Error::protocol(
                        "BackendKeyData with a long key under protocol 3.0",
                    ));
                }
                client.process_id = k.process_id;
                client.secret_key = k.secret_key;
            }
            BackendMessage::ParameterStatus(p) => {
                client
                    .parameters
                    .insert(p.name.as_str().to_owned(), p.value.as_str().to_owned());
            }
            BackendMessage::NoticeResponse(n) => {
                (client.notice_handler)(DbError::from_fields(&n.0))
            }
            BackendMessage::NegotiateProtocolVersion(v) => negotiated(client, &v)?,
            BackendMessage::ReadyForQuery(r) => {
                client.status = r.status;
                return Ok(());
            }
            BackendMessage::ErrorResponse(e) => return Err(DbError::from_fields(&e.0).into()),
            other => {
                return Err(Error::protocol(format!(
                    "unexpected {} during startup",
                    other.name()
                )));
            }
        }
    }
}

fn negotiated(
    client: &mut Client,
    v: &crate::messages::NegotiateProtocolVersion,
) -> Result<(), Error> {
    if v.version.major != 3
        || v.version > client.protocol
        || (v.version.minor != 0 && v.version.minor != 2)
    {
        return Err(Error::protocol(format!(
            "server offered protocol {} which this client does not speak",
            v.version
        )));
    }
    tracing::debug!(version = %v.version, "server negotiated the protocol version down");
    client.protocol = v.version;
    Ok(())
}

fn need_password(config: &Config, target: &Target) -> Result<String, Error> {
    config
        .password_for(target)
        .ok_or_else(|| Error::Auth("the server asked for a password but none was given".into()))
}

fn refuse(method: &str) -> Error {
    Error::Auth(format!(
        "server requested {method} authentication, which require_auth does not allow"
    ))
}

async fn authenticate(
    client: &mut Client,
    config: &Config,
    target: &Target,
    end_point: Option<Vec<u8>>,
) -> Result<(), Error> {
    let mut authenticated = false;
    let mut bound = false;
    let mut oauth_sent = false;
    loop {
        let request = match client.recv_raw().await? {
            BackendMessage::Authentication(a) => a,
            BackendMessage::NegotiateProtocolVersion(v) => {
                negotiated(client, &v)?;
                continue;
            }
            BackendMessage::NoticeResponse(n) => {
                (client.notice_handler)(DbError::from_fields(&n.0));
                continue;
            }
            BackendMessage::ErrorResponse(e) => return Err(DbError::from_fields(&e.0).into()),
            other => {
                return Err(Error::protocol(format!(
                    "unexpected {} during authentication",
                    other.name()
                )));
            }
        };
        match request {
            Authentication::Ok => {
                if !authenticated && !config.auth_allowed(AuthMethod::None) {
                    return Err(Error::Auth(
                        "server did not complete authentication (require_auth does not allow \"none\")".into(),
                    ));
                }
                if config.channel_binding == ChannelBinding::Require && !bound {
                    return Err(Error::Auth(
                        "channel binding required, but the server authenticated the client without it".into(),
                    ));
                }
                return Ok(());
            }
            Authentication::SaslContinue(status) if oauth_sent => {
                tracing::debug!(status = %String::from_utf8_lossy(&status), "OAUTHBEARER refused");
                SaslResponse {
                    data: Bytes::from_static(b"\x01"),
                }
                .encode(&mut client.write_buf);
                client.flush().await?;
                oauth_sent = false;
            }
            _ if authenticated => {
                return Err(Error::protocol(
                    "a second authentication request after authenticating",
                ));
            }
            Authentication::CleartextPassword => {
                if !config.auth_allowed(AuthMethod::Password) {
                    return Err(refuse("password"));
                }
                if config.channel_binding == ChannelBinding::Require {
                    return Err(Error::Auth("channel binding required but not supported by cleartext password authentication".into()));
                }
                let password = need_password(config, target)?;
                PasswordMessage {
                    password: password.into(),
                }
                .encode(&mut client.write_buf);
                client.flush().await?;
                authenticated = true;
            }
            Authentication::Md5Password { salt } => {
                if !config.auth_allowed(AuthMethod::Md5) {
                    return Err(refuse("md5"));
                }
                if config.channel_binding == ChannelBinding::Require {
                    return Err(Error::Auth(
                        "channel binding required but not supported by MD5 authentication".into(),
                    ));
                }
                let password = need_password(config, target)?;
                let user = config.user_or_default();
                let inner = format!("{:x}", md5::compute(format!("{password}{user}")));
                let mut outer = inner.into_bytes();
                outer.extend_from_slice(&salt);
                let hashed = format!("md5{:x}", md5::compute(outer));
                PasswordMessage {
                    password: hashed.into(),
                }
                .encode(&mut client.write_buf);
                client.flush().await?;
                authenticated = true;
            }
            Authentication::Sasl { mechanisms } => {
                let has = |m: &str| mechanisms.iter().any(|x| x.as_str() == m);
                if has("OAUTHBEARER")
                    && config.oauth_token.is_some()
                    && config.auth_allowed(AuthMethod::OAuth)
                {
                    oauth(client, config).await?;
                    oauth_sent = true;
                } else if has("SCRAM-SHA-256") || has("SCRAM-SHA-256-PLUS") {
                    if !config.auth_allowed(AuthMethod::ScramSha256) {
                        return Err(refuse("SASL (SCRAM-SHA-256)"));
                    }
                    bound = scram(
                        client,
                        config,
                        target,
                        &end_point,
                        has("SCRAM-SHA-256-PLUS"),
                        has("SCRAM-SHA-256"),
                    )
                    .await?;
                } else if has("OAUTHBEARER") {
                    if !config.auth_allowed(AuthMethod::OAuth) {
                        return Err(refuse("OAUTHBEARER"));
                    }
                    return Err(Error::Auth(
                        "server requested OAUTHBEARER but no oauth_token was given".into(),
                    ));
                } else {
                    return Err(Error::Auth(format!(
                        "none of the server's SASL mechanisms are supported: {}",
                        mechanisms
                            .iter()
                            .map(|m| m.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                authenticated = true;
            }
            Authentication::SaslContinue(_) | Authentication::SaslFinal(_) => {
                return Err(Error::protocol("SASL message without a SASL exchange"));
            }
            Authentication::KerberosV5
            | Authentication::Gss
            | Authentication::GssContinue(_)
            | Authentication::Sspi => {
                return Err(Error::Auth(
                    "GSSAPI, SSPI and Kerberos authentication are not supported".into(),
                ));
            }
        }
    }
}

/// Next authentication message of a SASL exchange; an ErrorResponse (wrong
/// password) ends it.
async fn next_sasl(client: &mut Client) -> Result<Authentication, Error> {
    loop {
        match client.recv_raw().await? {
            BackendMessage::Authentication(a) => return Ok(a),
            BackendMessage::NoticeResponse(n) => {
                (client.notice_handler)(DbError::from_fields(&n.0))
            }
            BackendMessage::ErrorResponse(e) => return Err(DbError::from_fields(&e.0).into()),
            other => {
                return Err(Error::protocol(format!(
                    "unexpected {} during SASL authentication",
                    other.name()
                )));
            }
        }
    }
}

/// SCRAM-SHA-256(-PLUS). Returns whether channel binding was used.
async fn scram(
    client: &mut Client,
    config: &Config,
    target: &Target,
    end_point: &Option<Vec<u8>>,
    offers_plus: bool,
    offers_plain: bool,
) -> Result<bool, Error> {
    let secret = match &config.scram_keys {
        Some(keys) => ScramSecret::Keys(keys.clone()),
        None => ScramSecret::Password(need_password(config, target)?),
    };
    let (mechanism, binding) = match (config.channel_binding, end_point, offers_plus) {
        (ChannelBinding::Disable, _, _) => ("SCRAM-SHA-256", Binding::Unsupported),
        (_, Some(ep), true) => ("SCRAM-SHA-256-PLUS", Binding::TlsServerEndPoint(ep.clone())),
        (ChannelBinding::Require, _, _) => {
            return Err(Error::Auth(
                "channel binding is required, but the server did not offer SCRAM-SHA-256-PLUS over TLS".into(),
            ));
        }
        // TLS but no -PLUS from the server: say "y" so a server that does
        // support binding can detect a downgrade.
        (_, Some(_), false) => ("SCRAM-SHA-256", Binding::NotUsed),
        (_, None, _) => ("SCRAM-SHA-256", Binding::Unsupported),
    };
    if mechanism == "SCRAM-SHA-256" && !offers_plain {
        return Err(Error::Auth(
            "server offers only SCRAM-SHA-256-PLUS, which needs TLS".into(),
        ));
    }
    let bound = matches!(binding, Binding::TlsServerEndPoint(_));
    let (mut scram, first) = ScramClient::new(secret, binding)?;
    SaslInitialResponse {
        mechanism: mechanism.into(),
        data: Some(Bytes::from(first)),
    }
    .encode(&mut client.write_buf);
    client.flush().await?;
    let Authentication::SaslContinue(server_first) = next_sasl(client).await? else {
        return Err(Error::protocol("expected SASLContinue"));
    };
    let final_ = scram.server_first(&server_first)?;
    SaslResponse {
        data: Bytes::from(final_),
    }
    .encode(&mut client.write_buf);
    client.flush().await?;
    match next_sasl(client).await? {
        Authentication::SaslFinal(server_final) => scram.server_final(&server_final)?,
        Authentication::Ok => {
            return Err(Error::Auth(
                "server sent AuthenticationOk without proving it knows the password (no SCRAM server signature)".into(),
            ));
        }
        _ => return Err(Error::protocol("expected SASLFinal")),
    }
    Ok(bound)
}

/// OAUTHBEARER (RFC 7628) with the caller's token: the initial response.
/// Success is AuthenticationOk; failure is a SASLContinue with a JSON
/// status, answered by a lone 0x01, then an ErrorResponse (both handled in
/// [`authenticate`]).
async fn oauth(client: &mut Client, config: &Config) -> Result<(), Error> {
    let token = config.oauth_token.as_deref().unwrap_or_default();
    let initial = format!("n,,\x01auth=Bearer {token}\x01\x01");
    SaslInitialResponse {
        mechanism: "OAUTHBEARER".into(),
        data: Some(Bytes::from(initial)),
    }
    .encode(&mut client.write_buf);
    client.flush().await?;
    Ok(())
}

async fn check_session_attrs(client: &mut Client, wanted: TargetSessionAttrs) -> Result<(), Error> {
    if wanted == TargetSessionAttrs::Any || wanted == TargetSessionAttrs::PreferStandby {
        return Ok(());
    }
    // PostgreSQL 14+ reports both; older servers are asked.
    let param = |c: &Client, name: &str| c.parameter(name).map(|v| v == "on");
    let read_only = match param(client, "default_transaction_read_only") {
        Some(v) => v,
        None => show_bool(client, "SHOW transaction_read_only").await?,
    };
    let standby = match param(client, "in_hot_standby") {
        Some(v) => v,
        None => show_bool(client, "SELECT pg_catalog.pg_is_in_recovery()").await?,
    };
    let ok = match wanted {
        TargetSessionAttrs::ReadWrite => !read_only && !standby,
        TargetSessionAttrs::ReadOnly => read_only || standby,
        TargetSessionAttrs::Primary => !standby,
        TargetSessionAttrs::Standby => standby,
        TargetSessionAttrs::Any | TargetSessionAttrs::PreferStandby => true,
    };
    if ok {
        return Ok(());
    }
    Err(Error::Config(format!(
        "server does not match target_session_attrs ({wanted:?}): read-only {read_only}, hot standby {standby}"
    )))
}

async fn show_bool(client: &mut Client, sql: &str) -> Result<bool, Error> {
    let results = client.simple_query(sql).await?;
    let v = results
        .first()
        .and_then(|r| r.rows.first())
        .and_then(|row| row.get_text(0).ok().flatten())
        .unwrap_or("");
    Ok(v == "on" || v == "t")
}
