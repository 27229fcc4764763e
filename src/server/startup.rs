//! Connection startup, as a straight line: encryption negotiation
//! (SSLRequest, GSSENCRequest, direct TLS), the startup packet and protocol
//! version negotiation, authentication, then the session's first
//! ReadyForQuery; after which [`super::connection`] takes over.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::BufMut;
use tokio::io::{AsyncRead, AsyncWrite};

use super::ServerInner;
use super::connection::Connection;
use super::io::Transport;
#[cfg(feature = "tls")]
use super::prefixed::Prefixed;
use super::tls::MaybeTls;
use crate::api::auth::{AuthChannel, Authenticator};
use crate::api::support::sealed::ReplicationDriver as _;
use crate::api::{ClientInfo, ServerHandlers, Session, SessionShared, TlsInfo};
use crate::error::{ErrorInfo, PgWireError, SqlState};
use crate::messages::{
    AuthResponseKind, Authentication, BackendKeyData, ByteStr, FrontendDecoder, FrontendMessage,
    Message, NegotiateProtocolVersion, ProtocolVersion, StartupMessage,
};

/// The newest protocol version served.
const LATEST: ProtocolVersion = ProtocolVersion::V3_2;

/// The first byte of a TLS ClientHello record: a startup packet cannot
/// begin with it (its length would be hundreds of megabytes).
const TLS_HANDSHAKE_BYTE: u8 = 0x16;

pub(crate) type Stream<S> = MaybeTls<S>;

pub(crate) async fn run<H, S>(
    server: &Arc<ServerInner<H>>,
    io: S,
    peer: Option<SocketAddr>,
    origin: Option<Box<crate::api::ConnectionOrigin>>,
) -> Result<(), PgWireError>
where
    H: ServerHandlers,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = &server.config;
    // Unix sockets: no TLS, as PostgreSQL (SSLRequest answered 'N').
    let allow_tls = !origin.as_ref().is_some_and(|o| o.unix_socket);
    // Boxed: the startup futures (TLS handshake, authentication, the
    // handler's `connect`) are large and live only until the session
    // starts; inline they would stay part of every idle session's memory.
    let started = Box::pin(async {
        let (transport, decoder, startup, tls) =
            negotiate(server, io, bytes::Bytes::new(), allow_tls).await?;
        let Some(startup) = startup else {
            return Ok(None);
        };
        begin_session(server, transport, decoder, startup, tls, peer, origin)
            .await
            .map(Some)
    });
    let started = match config.startup_timeout {
        Some(t) => match tokio::time::timeout(t, started).await {
            Ok(r) => r,
            Err(_) => {
                tracing::debug!("startup timed out");
                return Err(PgWireError::StartupTimeout);
            }
        },
        None => started.await,
    };
    let Some(Started {
        transport,
        decoder,
        session,
        handler,
    }) = started?
    else {
        return Ok(());
    };
    let mut conn = Connection::new(
        server.clone(),
        transport,
        decoder,
        session,
        handler,
        (H::extended_query(), H::copy(), H::function_call()),
    );
    tracing::Span::current().record("pid", conn.process_id());
    tracing::info!(
        user = conn.session.client().user(),
        database = conn.session.client().database(),
        "session started"
    );
    let result = conn.run().await;
    conn.finish().await;
    result
}

/// Reads startup-phase packets until a StartupMessage (or a CancelRequest,
/// which ends the connection: `None`).
pub(crate) async fn negotiate<H, S>(
    server: &ServerInner<H>,
    io: S,
    initial: bytes::Bytes,
    allow_tls: bool,
) -> Result<
    (
        Transport<Stream<S>>,
        FrontendDecoder,
        Option<StartupMessage>,
        Option<TlsInfo>,
    ),
    PgWireError,
>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = &server.config;
    let mut decoder = FrontendDecoder::new().with_max_message_len(config.max_message_len);
    #[cfg_attr(not(feature = "tls"), allow(unused_mut))]
    let mut tls_info = None;

    // Direct TLS (PostgreSQL 17+ `sslnegotiation=direct`) starts with a TLS
    // handshake instead of a startup packet; its first byte tells which.
    // The first read goes straight into the read buffer (not one byte
    // aside): one read system call for the startup packet, not two.
    let mut transport = Transport::new(MaybeTls::Plain(io));
    // `initial`: what was read before (past a PROXY protocol header).
    if initial.is_empty() {
        if transport.fill().await? == 0 {
            return Ok((transport, decoder, None, None));
        }
    } else {
        transport.rbuf.extend_from_slice(&initial);
    }
    if transport.rbuf[0] == TLS_HANDSHAKE_BYTE {
        #[cfg(feature = "tls")]
        {
            let Some(acceptor) = config.tls.as_ref().filter(|_| allow_tls) else {
                tracing::debug!("direct TLS attempted but TLS is not configured");
                return Ok((transport, decoder, None, None));
            };
            let MaybeTls::Plain(io) = std::mem::replace(&mut transport.io, MaybeTls::Taken) else {
                return Err(PgWireError::Io(std::io::ErrorKind::InvalidInput.into()));
            };
            // What was read is the start of the ClientHello: the TLS layer
            // reads it again.
            let hello = transport.rbuf.split().freeze();
            let (tls, mut info) = acceptor
                .accept(Prefixed::new(hello, io))
                .await
                .map_err(PgWireError::Tls)?;
            transport.io = MaybeTls::Tls(Box::new(tls));
            if info.alpn.as_deref() != Some(super::tls::ALPN_POSTGRESQL) {
                // PostgreSQL closes without an error message: the client
                // may not be speaking our protocol at all.
                tracing::debug!("direct TLS without ALPN postgresql refused");
                return Ok((transport, decoder, None, None));
            }
            info.direct = true;
            tls_info = Some(info);
        }
        #[cfg(not(feature = "tls"))]
        {
            return Ok((transport, decoder, None, None));
        }
    }

    let mut ssl_done = tls_info.is_some();
    let mut gss_done = false;
    loop {
        let msg = match read_message(&mut transport, &mut decoder).await {
            Ok(Some(m)) => m,
            Ok(None) => return Ok((transport, decoder, None, tls_info)),
            Err(e) => {
                // As PostgreSQL: a bad length (not a PostgreSQL client, or
                // a broken one) closes silently; a well-framed packet with
                // a bad version or layout gets a FATAL error.
                use crate::messages::DecodeError;
                match &e {
                    PgWireError::Decode(DecodeError::UnknownRequestCode(code)) => {
                        let v = ProtocolVersion::from_code(*code);
                        send_fatal(&mut transport, &unsupported_version(v)).await;
                    }
                    PgWireError::Decode(
                        DecodeError::InvalidLength { .. } | DecodeError::TooLarge { .. },
                    ) => {}
                    PgWireError::Decode(d) => {
                        let info = ErrorInfo::fatal(
                            SqlState::PROTOCOL_VIOLATION,
                            format!("invalid startup packet layout: {d}"),
                        );
                        send_fatal(&mut transport, &info).await;
                    }
                    _ => {}
                }
                return Err(e);
            }
        };
        match msg {
            FrontendMessage::SslRequest(_) if !ssl_done => {
                ssl_done = true;
                let accept_tls = tls_available(config) && allow_tls;
                transport.wbuf.put_u8(if accept_tls { b'S' } else { b'N' });
                transport.flush().await?;
                reject_buffered(&mut transport, "SSL").await?;
                if accept_tls {
                    #[cfg(feature = "tls")]
                    {
                        let plain = std::mem::replace(&mut transport.io, MaybeTls::Taken);
                        let MaybeTls::Plain(io) = plain else {
                            return Err(PgWireError::Io(std::io::ErrorKind::InvalidInput.into()));
                        };
                        let acceptor = config.tls.as_ref().ok_or_else(|| {
                            PgWireError::Io(std::io::ErrorKind::InvalidInput.into())
                        })?;
                        let (tls, info) = acceptor
                            .accept(Prefixed::new(bytes::Bytes::new(), io))
                            .await
                            .map_err(PgWireError::Tls)?;
                        transport.io = MaybeTls::Tls(Box::new(tls));
                        tls_info = Some(info);
                        gss_done = true;
                    }
                }
            }
            FrontendMessage::GssEncRequest(_) if !gss_done => {
                gss_done = true;
                transport.wbuf.put_u8(b'N');
                transport.flush().await?;
                reject_buffered(&mut transport, "GSSAPI encryption").await?;
            }
            FrontendMessage::SslRequest(_) | FrontendMessage::GssEncRequest(_) => {
                // A second request of the same kind: PostgreSQL reads its
                // code as a protocol version and refuses it.
                let code = if matches!(msg, FrontendMessage::SslRequest(_)) {
                    crate::messages::ProtocolVersion::from_code(80_877_103)
                } else {
                    crate::messages::ProtocolVersion::from_code(80_877_104)
                };
                send_fatal(&mut transport, &unsupported_version(code)).await;
                return Ok((transport, decoder, None, tls_info));
            }
            FrontendMessage::CancelRequest(c) => {
                server.registry.cancel(c.process_id, &c.secret_key);
                return Ok((transport, decoder, None, tls_info));
            }
            FrontendMessage::Startup(s) => return Ok((transport, decoder, Some(s), tls_info)),
            other => {
                return Err(PgWireError::Fatal(ErrorInfo::fatal(
                    SqlState::PROTOCOL_VIOLATION,
                    format!("unexpected {} during startup", other.name()),
                )));
            }
        }
    }
}

#[cfg(feature = "tls")]
fn tls_available(config: &super::ServerConfig) -> bool {
    config.tls.is_some()
}

#[cfg(not(feature = "tls"))]
fn tls_available(_: &super::ServerConfig) -> bool {
    false
}

/// Bytes that arrived after SSLRequest/GSSENCRequest but before our answer
/// was read were not protected by the encryption the client asked for (a
/// man-in-the-middle may have injected them: CVE-2021-23214): refuse them.
async fn reject_buffered<S>(
    transport: &mut Transport<Stream<S>>,
    what: &str,
) -> Result<(), PgWireError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if transport.rbuf.is_empty() {
        return Ok(());
    }
    let e = ErrorInfo::fatal(
        SqlState::PROTOCOL_VIOLATION,
        format!("received unencrypted data after {what} request"),
    )
    .with_detail(
        "This could be either a client-software bug or evidence of an attempted man-in-the-middle attack.",
    );
    transport.rbuf.clear();
    send_fatal(transport, &e).await;
    Err(PgWireError::Fatal(e))
}

/// The protocol version to serve a startup packet with: a major version
/// other than 3 is refused (FATAL sent); a newer minor version or `_pq_.`
/// protocol options get NegotiateProtocolVersion queued. Shared by
/// [`Server::process_socket`](super::Server::process_socket) and
/// [`Server::accept_raw`](super::Server::accept_raw).
pub(crate) async fn negotiate_version<S>(
    transport: &mut Transport<S>,
    startup: &StartupMessage,
) -> Result<ProtocolVersion, PgWireError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let requested = startup.version;
    if requested.major != 3 {
        let e = unsupported_version(requested);
        send_fatal(transport, &e).await;
        return Err(PgWireError::Fatal(e));
    }
    let version = requested.min(LATEST);
    // `_pq_.` names are protocol options; none is defined yet, so every
    // one the client sends is reported back as unrecognized.
    let unknown_options: Vec<ByteStr> = startup
        .parameters
        .iter()
        .filter(|(k, _)| k.starts_with("_pq_."))
        .map(|(k, _)| k.clone())
        .collect();
    if requested.minor > LATEST.minor || !unknown_options.is_empty() {
        NegotiateProtocolVersion {
            version,
            unrecognized_options: unknown_options,
        }
        .encode(&mut transport.wbuf);
    }
    Ok(version)
}

pub(crate) fn unsupported_version(v: ProtocolVersion) -> ErrorInfo {
    ErrorInfo::fatal(
        SqlState::FEATURE_NOT_SUPPORTED,
        format!(
            "unsupported frontend protocol {}.{}: server supports 3.0 to {}.{}",
            v.major, v.minor, LATEST.major, LATEST.minor
        ),
    )
}

/// Reads one message. `Ok(None)` at EOF.
pub(crate) async fn read_message<S>(
    transport: &mut Transport<S>,
    decoder: &mut FrontendDecoder,
) -> Result<Option<FrontendMessage>, PgWireError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        if let Some(m) = decoder.decode(&mut transport.rbuf)? {
            return Ok(Some(m));
        }
        if transport.fill().await? == 0 {
            return Ok(None);
        }
    }
}

/// Sends a FATAL error and flushes, ignoring write errors (the connection
/// is closing anyway).
pub(crate) async fn send_fatal<S>(transport: &mut Transport<S>, e: &ErrorInfo)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    e.encode_error(&mut transport.wbuf);
    let _ = transport.flush().await;
}

/// The connection's authentication messages.
pub(crate) struct Channel<'a, S> {
    pub(crate) transport: &'a mut Transport<Stream<S>>,
    pub(crate) decoder: &'a mut FrontendDecoder,
}

impl<S> AuthChannel for Channel<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    fn send_auth(&mut self, msg: &Authentication) {
        msg.encode(&mut self.transport.wbuf);
    }

    fn recv<'b>(
        &'b mut self,
        kind: AuthResponseKind,
    ) -> Pin<Box<dyn Future<Output = Result<FrontendMessage, ErrorInfo>> + Send + 'b>> {
        Box::pin(async move {
            self.decoder.expect_auth_response(kind);
            let closed = || {
                ErrorInfo::fatal(
                    SqlState::CONNECTION_FAILURE,
                    "client closed the connection during authentication",
                )
            };
            self.transport.flush().await.map_err(|_| closed())?;
            match read_message(self.transport, self.decoder).await {
                Ok(Some(FrontendMessage::Terminate(_))) | Ok(None) | Err(PgWireError::Io(_)) => {
                    Err(closed())
                }
                Ok(Some(m)) => Ok(m),
                Err(PgWireError::Decode(e)) => Err(ErrorInfo::fatal(
                    SqlState::PROTOCOL_VIOLATION,
                    e.to_string(),
                )),
                Err(e) => Err(ErrorInfo::fatal(
                    SqlState::PROTOCOL_VIOLATION,
                    e.to_string(),
                )),
            }
        })
    }
}

/// Protocol-level checks of the startup packet, then authentication and
/// the handler's `connect`, then the session's opening messages.
async fn begin_session<H, S>(
    server: &Arc<ServerInner<H>>,
    mut transport: Transport<Stream<S>>,
    mut decoder: FrontendDecoder,
    startup: StartupMessage,
    tls: Option<TlsInfo>,
    peer: Option<SocketAddr>,
    origin: Option<Box<crate::api::ConnectionOrigin>>,
) -> Result<Started<H, Stream<S>>, PgWireError>
where
    H: ServerHandlers,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = &server.config;
    let version = negotiate_version(&mut transport, &startup).await?;

    let fatal = |code, msg: String| ErrorInfo::fatal(code, msg);
    let user = startup.parameter("user").map(|u| u.as_str()).unwrap_or("");
    if user.is_empty() {
        let e = fatal(
            SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
            "no PostgreSQL user name specified in startup packet".to_owned(),
        );
        send_fatal(&mut transport, &e).await;
        return Err(PgWireError::Fatal(e));
    }
    if let Some(enc) = startup.parameter("client_encoding") {
        if !is_supported_client_encoding(enc) {
            let e = fatal(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("invalid value for parameter \"client_encoding\": \"{enc}\""),
            )
            .with_hint("This server supports only UTF8.");
            send_fatal(&mut transport, &e).await;
            return Err(PgWireError::Fatal(e));
        }
    }
    if let Some(r) = startup.parameter("replication") {
        if crate::api::ReplicationMode::parse(r).is_none() {
            let e = fatal(
                SqlState::INVALID_PARAMETER_VALUE,
                format!(
                    "invalid value for parameter \"replication\": \"{}\"",
                    r.as_str()
                ),
            );
            send_fatal(&mut transport, &e).await;
            return Err(PgWireError::Fatal(e));
        }
    }
    // Unix sockets are exempt, as PostgreSQL's `local` lines are.
    let unix = origin.as_ref().is_some_and(|o| o.unix_socket);
    if config.require_tls && tls.is_none() && !unix {
        let e = fatal(
            SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
            format!(
                "connection requires TLS: user \"{}\", database \"{}\", no encryption",
                user,
                startup
                    .parameter("database")
                    .map(|d| d.as_str())
                    .filter(|d| !d.is_empty())
                    .unwrap_or(user)
            ),
        );
        send_fatal(&mut transport, &e).await;
        return Err(PgWireError::Fatal(e));
    }
    if let Some(max) = config.max_connections {
        if server.registry.len() >= max {
            let e = fatal(
                SqlState::TOO_MANY_CONNECTIONS,
                "sorry, too many clients already".to_owned(),
            );
            send_fatal(&mut transport, &e).await;
            return Err(PgWireError::Fatal(e));
        }
    }

    let shared: Arc<SessionShared> = server.registry.register(version);
    let client = ClientInfo {
        process_id: shared.process_id,
        protocol_version: version,
        parameters: compact_parameters(startup.parameters),
        peer_addr: peer,
        tls: tls.map(Box::new),
        origin,
    };

    let registered = RegistrationGuard {
        server: server.as_ref(),
        shared: &shared,
    };
    let auth = {
        let mut channel = Channel {
            transport: &mut transport,
            decoder: &mut decoder,
        };
        let mut authenticator = Authenticator::new(&mut channel, &client);
        server.handlers.authenticate(&mut authenticator).await
    };
    decoder.expect_auth_response(AuthResponseKind::Password);
    if let Err(e) = auth {
        tracing::info!(
            user = client.user(),
            "authentication failed: {}",
            e.message()
        );
        let e = e.with_severity(crate::error::Severity::Fatal);
        send_fatal(&mut transport, &e).await;
        return Err(PgWireError::Fatal(e));
    }
    Authentication::Ok.encode(&mut transport.wbuf);

    // A replication connection to a server that does not serve them is
    // refused after authentication, as PostgreSQL refuses a role without
    // the REPLICATION attribute.
    if client.replication().is_replication() && !H::replication().supported() {
        let e = ErrorInfo::fatal(
            SqlState::INSUFFICIENT_PRIVILEGE,
            "permission denied to start WAL sender",
        )
        .with_detail("This server does not serve replication connections.");
        send_fatal(&mut transport, &e).await;
        return Err(PgWireError::Fatal(e));
    }
    let defaults = &server.session_defaults;
    let mut session = Session::with_defaults(client, shared.clone(), defaults);
    if let Err(e) = session.with_client(apply_startup_settings) {
        let e = e.with_severity(crate::error::Severity::Fatal);
        send_fatal(&mut transport, &e).await;
        return Err(PgWireError::Fatal(e));
    }

    let handler = match server.handlers.connect(&mut session).await {
        Ok(h) => h,
        Err(e) => {
            let e = e.with_severity(crate::error::Severity::Fatal);
            send_fatal(&mut transport, &e).await;
            return Err(PgWireError::Fatal(e));
        }
    };
    // Every value is reported now: drop what the handler queued through a
    // handle, and report later changes.
    drain_parameter_reports(&shared);
    session.start_reporting();
    session.encode_parameter_statuses(&mut transport.wbuf);
    BackendKeyData {
        process_id: shared.process_id,
        secret_key: shared.secret_key.clone(),
    }
    .encode(&mut transport.wbuf);
    std::mem::forget(registered);
    Ok(Started {
        transport,
        decoder,
        session,
        handler,
    })
}

/// An authenticated session, ready for its [`Connection`].
struct Started<H: ServerHandlers, S> {
    transport: Transport<S>,
    decoder: FrontendDecoder,
    session: Session,
    handler: H::Handler,
}

/// Unregisters a session whose startup failed.
struct RegistrationGuard<'a, H> {
    server: &'a ServerInner<H>,
    shared: &'a SessionShared,
}

impl<H> Drop for RegistrationGuard<'_, H> {
    fn drop(&mut self) {
        self.server.registry.unregister(self.shared);
    }
}

/// Gives the startup parameters storage of their own: as views of the read
/// buffer they would keep that whole buffer alive for the life of the
/// session. Short strings are held inline (no allocation); only a long one
/// is copied out.
pub(crate) fn compact_parameters(mut params: Vec<(ByteStr, ByteStr)>) -> Vec<(ByteStr, ByteStr)> {
    fn own(s: &mut ByteStr) {
        if s.is_inline() {
            return;
        }
        *s = match ByteStr::inline_from_utf8(s.as_bytes()) {
            Some(Ok(inline)) => inline,
            _ => ByteStr::from(s.as_str().to_owned()),
        };
    }
    for (k, v) in &mut params {
        own(k);
        own(v);
    }
    params
}

fn drain_parameter_reports(shared: &SessionShared) {
    shared.drain_outbox(|m| matches!(m, crate::api::AsyncMessage::ParameterStatus { .. }));
}

pub(crate) fn is_supported_client_encoding(enc: &str) -> bool {
    // Compared as PostgreSQL does: letters and digits only, any case.
    let normalized = || {
        enc.bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| b.to_ascii_uppercase())
    };
    ["UTF8", "UNICODE", "SQLASCII", "AUTO"]
        .iter()
        .any(|name| normalized().eq(name.bytes()))
}

/// Startup parameters that are run-time settings (everything but `user`,
/// `database`, `options`, `replication` and `_pq_.*`), and the `-c
/// name=value` settings in `options`, become session parameters.
/// A value PostgreSQL refuses (an unknown `TimeZone`, a bad `DateStyle`)
/// ends the connection with its error, as PostgreSQL does.
fn apply_startup_settings(client: &ClientInfo, session: &mut Session) -> Result<(), ErrorInfo> {
    for (name, value) in client.parameters() {
        match name {
            // application_name: set with the session.
            "user" | "database" | "replication" | "application_name" => {}
            "options" => {
                for (k, v) in parse_options(value) {
                    session.try_set_parameter(&k, v)?;
                }
            }
            "client_encoding" => {
                let v = if value.eq_ignore_ascii_case("SQL_ASCII") {
                    "SQL_ASCII"
                } else {
                    "UTF8"
                };
                // Not a format setting: cannot be refused.
                session.try_set_parameter_str("client_encoding", v)?;
            }
            n if n.starts_with("_pq_.") => {}
            n => session.try_set_parameter_str(n, value)?,
        }
    }
    Ok(())
}

/// Parses the `options` startup parameter: `-c name=value` and
/// `--name=value`, with backslash escaping spaces, as PostgreSQL does.
fn parse_options(options: &str) -> Vec<(String, String)> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_ascii_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let mut out = Vec::new();
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        let setting = if w == "-c" {
            it.next()
        } else if let Some(rest) = w.strip_prefix("--") {
            Some(rest.to_owned())
        } else {
            w.strip_prefix("-c").map(str::to_owned)
        };
        if let Some((k, v)) = setting.as_deref().and_then(|s| s.split_once('=')) {
            out.push((k.replace('-', "_"), v.to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parameter() {
        assert_eq!(
            parse_options("-c search_path=a\\ b --statement-timeout=5s -cgeqo=off"),
            vec![
                ("search_path".to_owned(), "a b".to_owned()),
                ("statement_timeout".to_owned(), "5s".to_owned()),
                ("geqo".to_owned(), "off".to_owned()),
            ]
        );
    }

    #[test]
    fn client_encodings() {
        assert!(is_supported_client_encoding("utf-8"));
        assert!(is_supported_client_encoding("UTF8"));
        assert!(is_supported_client_encoding("SQL_ASCII"));
        assert!(!is_supported_client_encoding("LATIN1"));
    }
}
