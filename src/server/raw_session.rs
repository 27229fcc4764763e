//! A connection taken over after startup and authentication, as raw
//! frames: the front half of a proxy or pooler.
//!
//! [`Server::accept_raw`] runs what every PostgreSQL-speaking front door
//! needs and a proxy should not rewrite (SSLRequest/TLS, GSSENCRequest
//! refusal, the startup packet, protocol version negotiation, the
//! handlers' [`authenticate`](crate::api::ServerHandlers::authenticate),
//! CancelRequest matching), then hands the connection over with
//! AuthenticationOk queued. The caller sends the rest of the startup
//! (ParameterStatus, [`RawSession::backend_key_data`], ReadyForQuery) and
//! from then on reads and writes whole frames as bytes, so nothing it
//! forwards is decoded and re-encoded.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::futures::Notified;

use super::io::Transport;
use super::proxy_accept::{ProxyProtocolMode, read_proxied};
use super::startup::{
    Channel, Stream, compact_parameters, negotiate, negotiate_version, send_fatal,
};
use super::{Server, ServerInner};
use crate::api::auth::Authenticator;
use crate::api::{ClientInfo, ServerHandlers, SessionShared};
use crate::error::{ErrorInfo, PgWireError, SqlState};
use crate::messages::{AuthResponseKind, Authentication, BackendKeyData, Message, ProtocolVersion};

/// An authenticated client connection handed over as raw frames by
/// [`Server::accept_raw`].
///
/// The session is registered with the server: a CancelRequest carrying its
/// [`backend_key_data`](Self::backend_key_data) completes
/// [`CancelSignal::requested`]. Dropping it unregisters
/// the session and closes the connection.
pub struct RawSession<H: ServerHandlers, S> {
    server: Arc<ServerInner<H>>,
    transport: Transport<Stream<S>>,
    client: ClientInfo,
    shared: Arc<SessionShared>,
    max_message_len: usize,
}

impl<H: ServerHandlers, S> std::fmt::Debug for RawSession<H, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSession")
            .field("process_id", &self.shared.process_id)
            .field("user", &self.client.user())
            .field("database", &self.client.database())
            .finish_non_exhaustive()
    }
}

/// One whole frame at the front of a read buffer: its type byte and its
/// total length (type byte and length word included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFrame {
    /// The message type byte (`Q`, `P`, `B`...).
    pub tag: u8,
    /// Bytes the frame takes in the buffer: 1 + the length word's value.
    pub len: usize,
}

/// Why a frame could not be split off a read buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RawFrameError {
    /// The length word is below 4 (it counts itself).
    #[error("invalid message length {0}")]
    InvalidLength(u32),
    /// The length word exceeds the allowed maximum.
    #[error("message of {len} bytes exceeds the maximum of {max}")]
    TooLarge {
        /// The announced length.
        len: usize,
        /// The maximum.
        max: usize,
    },
}

impl RawFrameError {
    /// The error to send before closing: 08P01 protocol violation, or 54000
    /// for an over-long message, both FATAL.
    pub fn to_error_info(&self) -> ErrorInfo {
        let code = match self {
            RawFrameError::InvalidLength(_) => SqlState::PROTOCOL_VIOLATION,
            RawFrameError::TooLarge { .. } => SqlState::PROGRAM_LIMIT_EXCEEDED,
        };
        ErrorInfo::fatal(code, self.to_string())
    }
}

/// The frame at the start of `buf` (`tag`, Int32 length, body), if it is
/// all there; `Ok(None)` when more bytes are needed. Works for both
/// directions of the protocol after startup.
pub fn peek_frame(buf: &[u8], max_len: usize) -> Result<Option<RawFrame>, RawFrameError> {
    let Some(header) = buf.get(..5) else {
        return Ok(None);
    };
    let word = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    if word < 4 {
        return Err(RawFrameError::InvalidLength(word));
    }
    let len = word as usize;
    if len > max_len {
        return Err(RawFrameError::TooLarge { len, max: max_len });
    }
    if buf.len() < len + 1 {
        return Ok(None);
    }
    Ok(Some(RawFrame {
        tag: header[0],
        len: len + 1,
    }))
}

impl<H: ServerHandlers> Server<H> {
    /// Accepts a connection for a proxy: the PROXY protocol header where
    /// [`ServerConfig::with_proxy_protocol`](super::ServerConfig::with_proxy_protocol)
    /// asks for one, encryption negotiation, the
    /// startup packet, protocol version negotiation and the handlers'
    /// [`authenticate`](crate::api::ServerHandlers::authenticate) run as for
    /// [`Server::process_socket`]; the handlers' `connect` is not called.
    /// Returns `Ok(None)` when the connection ended during startup (a
    /// CancelRequest, which is matched against the sessions here, or a
    /// client that went away). The configured startup timeout applies.
    ///
    /// On success AuthenticationOk is queued (not yet flushed); the caller
    /// continues the startup with ParameterStatus messages,
    /// [`RawSession::backend_key_data`] and ReadyForQuery.
    pub async fn accept_raw<S>(
        &self,
        io: S,
        peer: Option<SocketAddr>,
    ) -> Result<Option<RawSession<H, S>>, PgWireError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let inner = self.inner.clone();
        let started = Box::pin(accept_raw_inner(inner, io, peer));
        match self.inner.config.startup_timeout {
            Some(t) => tokio::time::timeout(t, started)
                .await
                .map_err(|_| PgWireError::StartupTimeout)?,
            None => started.await,
        }
    }
}

async fn accept_raw_inner<H, S>(
    server: Arc<ServerInner<H>>,
    io: S,
    peer: Option<SocketAddr>,
) -> Result<Option<RawSession<H, S>>, PgWireError>
where
    H: ServerHandlers,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Behind a load balancer: the PROXY protocol header names the client.
    let (io, initial, peer, origin) = if server.config.proxy_protocol != ProxyProtocolMode::Off {
        let (io, rest, client, origin) = read_proxied(&server, io, peer).await?;
        if origin.is_some() {
            tracing::info!("PROXY protocol header: client {client:?} via {peer:?}");
        }
        (io, rest, client, origin)
    } else {
        (io, bytes::Bytes::new(), peer, None)
    };
    let (mut transport, mut decoder, startup, tls) = negotiate(&server, io, initial, true).await?;
    let Some(startup) = startup else {
        return Ok(None);
    };
    let version = negotiate_version(&mut transport, &startup).await?;
    let user_missing = startup
        .parameter("user")
        .map(|u| u.as_str().is_empty())
        .unwrap_or(true);
    if user_missing {
        let e = ErrorInfo::fatal(
            SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
            "no PostgreSQL user name specified in startup packet",
        );
        send_fatal(&mut transport, &e).await;
        return Err(PgWireError::Fatal(e));
    }
    if let Some(max) = server.config.max_connections {
        if server.registry.len() >= max {
            let e = ErrorInfo::fatal(
                SqlState::TOO_MANY_CONNECTIONS,
                "sorry, too many clients already",
            );
            send_fatal(&mut transport, &e).await;
            return Err(PgWireError::Fatal(e));
        }
    }
    let shared = server.registry.register(version);
    let client = ClientInfo {
        process_id: shared.process_id,
        protocol_version: version,
        parameters: compact_parameters(startup.parameters),
        peer_addr: peer,
        tls: tls.map(Box::new),
        origin,
    };
    // From here on the session is registered: dropping `session`
    // unregisters it, whatever happens next.
    let max_message_len = server.config.max_message_len;
    let mut session = RawSession {
        server: server.clone(),
        transport,
        client,
        shared,
        max_message_len,
    };
    let auth = {
        let mut channel = Channel {
            transport: &mut session.transport,
            decoder: &mut decoder,
        };
        let mut authenticator = Authenticator::new(&mut channel, &session.client);
        server.handlers.authenticate(&mut authenticator).await
    };
    decoder.expect_auth_response(AuthResponseKind::Password);
    if let Err(e) = auth {
        tracing::info!(
            user = session.client.user(),
            "authentication failed: {}",
            e.message()
        );
        let e = e.with_severity(crate::error::Severity::Fatal);
        send_fatal(&mut session.transport, &e).await;
        return Err(PgWireError::Fatal(e));
    }
    Authentication::Ok.encode(&mut session.transport.wbuf);
    // A cancel counts at any time: the proxy decides whether a backend
    // query is running.
    session.shared.set_busy(true);
    Ok(Some(session))
}

impl<H: ServerHandlers, S> RawSession<H, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Who connected: user, database, startup parameters, peer, TLS.
    pub fn client(&self) -> &ClientInfo {
        &self.client
    }

    /// The BackendKeyData to send the client: a process ID and secret key
    /// issued by this server (4 bytes in protocol 3.0, 32 in 3.2), which a
    /// CancelRequest must carry to reach [`cancel_signal`](Self::cancel_signal).
    pub fn backend_key_data(&self) -> BackendKeyData {
        BackendKeyData {
            process_id: self.shared.process_id,
            secret_key: self.shared.secret_key.clone(),
        }
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.client.protocol_version
    }

    /// The largest frame accepted from the client
    /// ([`ServerConfig::with_max_message_len`](super::ServerConfig::with_max_message_len)).
    pub fn max_message_len(&self) -> usize {
        self.max_message_len
    }

    /// The bytes read and not yet consumed. Split whole frames off with
    /// [`peek_frame`] and `BytesMut::advance`/`split_to`.
    pub fn read_buffer(&mut self) -> &mut BytesMut {
        &mut self.transport.rbuf
    }

    /// The bytes queued for the client; written by [`flush`](Self::flush).
    pub fn write_buffer(&mut self) -> &mut BytesMut {
        &mut self.transport.wbuf
    }

    /// Both buffers at once (read, write), to move frames from one to the
    /// other without a copy in between.
    pub fn buffers(&mut self) -> (&mut BytesMut, &mut BytesMut) {
        (&mut self.transport.rbuf, &mut self.transport.wbuf)
    }

    /// Reads what the client sent into the read buffer; `Ok(0)` once the
    /// client closed its side. Cancel-safe.
    pub async fn fill(&mut self) -> std::io::Result<usize> {
        self.transport.fill().await
    }

    /// Writes the write buffer out.
    pub async fn flush(&mut self) -> std::io::Result<()> {
        self.transport.flush().await
    }

    /// Queues an ErrorResponse.
    pub fn queue_error(&mut self, e: &ErrorInfo) {
        e.encode_error(&mut self.transport.wbuf);
    }

    /// Sends a FATAL error and flushes (write errors ignored: the
    /// connection is ending).
    pub async fn send_fatal(&mut self, e: &ErrorInfo) {
        let e = e.clone().with_severity(crate::error::Severity::Fatal);
        send_fatal(&mut self.transport, &e).await;
    }

    /// Observes CancelRequests carrying this session's key (they arrive
    /// on other connections). Owned, so that a loop can wait for one while
    /// it reads and writes the session.
    pub fn cancel_signal(&self) -> CancelSignal {
        CancelSignal {
            shared: self.shared.clone(),
        }
    }

    /// A handle that ends this session from elsewhere (an admin command,
    /// as PostgreSQL's `pg_terminate_backend`): the session's
    /// [`CancelSignal`] wait completes, and [`is_terminating`](Self::is_terminating)
    /// then tells it to end rather than cancel.
    pub fn terminate_handle(&self) -> TerminateHandle {
        TerminateHandle {
            shared: self.shared.clone(),
        }
    }

    /// Whether the session was asked to end ([`TerminateHandle::terminate`],
    /// or the server's shutdown past its grace period): the caller sends
    /// FATAL 57P01 and closes.
    pub fn is_terminating(&self) -> bool {
        self.shared.is_terminating()
    }
}

/// Ends a [`RawSession`] from elsewhere; from
/// [`RawSession::terminate_handle`].
#[derive(Debug, Clone)]
pub struct TerminateHandle {
    shared: Arc<SessionShared>,
}

impl TerminateHandle {
    /// Asks the session to end: its [`CancelSignal`] wait completes (now or
    /// at its next poll) and [`RawSession::is_terminating`] is true.
    pub fn terminate(&self) {
        self.shared.request_terminate();
    }
}

impl<H: ServerHandlers, S> RawSession<H, S> {
    /// Observes the server's graceful shutdown ([`Server::shutdown`]).
    /// A raw session has no handler loop in the library to end it, so
    /// the caller's loop waits on this beside its reads and ends the
    /// session at its next idle point, as the handler-based sessions do
    /// (with `57P01`, see [`SqlState::ADMIN_SHUTDOWN`]).
    pub fn shutdown_signal(&self) -> ShutdownWatch {
        ShutdownWatch {
            listener: self.server.shutdown.subscribe(),
        }
    }
}

/// Completes [`requested`](Self::requested) once the server began a
/// graceful shutdown; from [`RawSession::shutdown_signal`].
pub struct ShutdownWatch {
    listener: super::shutdown::ShutdownListener,
}

impl std::fmt::Debug for ShutdownWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownWatch").finish_non_exhaustive()
    }
}

impl ShutdownWatch {
    /// Completes once [`Server::shutdown`] was called (at once if it
    /// already was), and at every poll after that. Made to be pinned once
    /// and polled in a `select!` loop: a poll while nothing happened
    /// stores no new waker and reads a flag.
    pub fn requested(&mut self) -> impl Future<Output = ()> + Send + '_ {
        self.listener.wait_for(|begun| *begun)
    }
}

/// Completes [`requested`](Self::requested) when a CancelRequest for a
/// [`RawSession`] arrives.
#[derive(Debug, Clone)]
pub struct CancelSignal {
    shared: Arc<SessionShared>,
}

impl CancelSignal {
    /// Completes when a CancelRequest with the session's key arrives.
    /// Cancel-safe; each request completes one wait. Never completes once
    /// the session is gone.
    ///
    /// Made to sit in a `select!` loop beside the session's reads: polling
    /// it while nothing happened costs an atomic load, not a lock.
    pub fn requested(&self) -> CancelRequested<'_> {
        CancelRequested {
            shared: &self.shared,
            notified: None,
            seen: 0,
            waker: None,
        }
    }
}

/// The future of [`CancelSignal::requested`].
#[must_use = "futures do nothing unless polled"]
pub struct CancelRequested<'a> {
    shared: &'a SessionShared,
    /// Registered with the session's Notify while waiting (boxed: a
    /// `Notified` must stay pinned, and this future stays `Unpin`).
    notified: Option<Pin<Box<Notified<'a>>>>,
    /// The session's cancel generation when `notified` was last polled.
    seen: u64,
    /// The waker `notified` was last polled with.
    waker: Option<Waker>,
}

impl std::fmt::Debug for CancelRequested<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelRequested")
            .field("process_id", &self.shared.process_id)
            .finish_non_exhaustive()
    }
}

impl Future for CancelRequested<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let shared = this.shared;
        loop {
            // Nothing was notified since the last poll, which registered
            // this same waker: still waiting.
            if let Some(w) = &this.waker {
                if shared.cancel_generation.load(Ordering::Acquire) == this.seen
                    && w.will_wake(cx.waker())
                {
                    return Poll::Pending;
                }
            }
            // Created before the checks below, it receives every wake that
            // follows them.
            let notified = this
                .notified
                .get_or_insert_with(|| Box::pin(shared.cancel_notify.notified()));
            let seen = shared.cancel_generation.load(Ordering::Acquire);
            if shared.is_cancel_requested() {
                // Re-arm for the next one.
                shared.set_busy(true);
                this.notified = None;
                this.waker = None;
                return Poll::Ready(());
            }
            let closed = shared.closed.load(Ordering::SeqCst);
            if closed || notified.as_mut().poll(cx).is_pending() {
                // Closed: pending for good (the generation no longer moves).
                this.seen = seen;
                match &mut this.waker {
                    Some(w) => w.clone_from(cx.waker()),
                    None => this.waker = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            // Woken by a cancel another wait took, or by the session's
            // end: look again.
            this.notified = None;
            this.waker = None;
        }
    }
}

impl<H: ServerHandlers, S> Drop for RawSession<H, S> {
    fn drop(&mut self) {
        self.server.registry.unregister(&self.shared);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A waker that counts its wakes.
    struct CountingWaker(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<CountingWaker>, Waker) {
        let count = Arc::new(CountingWaker(std::sync::atomic::AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    fn wakes(c: &CountingWaker) -> usize {
        c.0.load(Ordering::SeqCst)
    }

    #[test]
    fn cancel_request_completes_one_wait_then_rearms() {
        let shared = Arc::new(SessionShared::new(7, bytes::Bytes::from_static(b"key1")));
        shared.set_busy(true);
        let signal = CancelSignal {
            shared: shared.clone(),
        };
        let (count_a, waker_a) = counting_waker();
        let (count_b, waker_b) = counting_waker();
        let mut cx_a = Context::from_waker(&waker_a);
        let mut cx_b = Context::from_waker(&waker_b);
        let mut a = signal.requested();
        let mut b = signal.requested();
        for _ in 0..3 {
            // Polled again and again as a select loop does: still waiting.
            assert!(Pin::new(&mut a).poll(&mut cx_a).is_pending());
            assert!(Pin::new(&mut b).poll(&mut cx_b).is_pending());
        }
        assert_eq!((wakes(&count_a), wakes(&count_b)), (0, 0));

        shared.request_cancel();
        assert_eq!((wakes(&count_a), wakes(&count_b)), (1, 1));
        // The first wait polled takes the request; the other goes on
        // waiting, and the signal is armed for the next request.
        assert!(Pin::new(&mut a).poll(&mut cx_a).is_ready());
        assert!(Pin::new(&mut b).poll(&mut cx_b).is_pending());
        assert!(!shared.is_cancel_requested());
        assert!(Pin::new(&mut b).poll(&mut cx_b).is_pending());

        shared.request_cancel();
        assert_eq!(wakes(&count_b), 2);
        assert!(Pin::new(&mut b).poll(&mut cx_b).is_ready());

        // A wait polled with another waker registers that one.
        let mut c = signal.requested();
        assert!(Pin::new(&mut c).poll(&mut cx_a).is_pending());
        assert!(Pin::new(&mut c).poll(&mut cx_b).is_pending());
        shared.request_cancel();
        assert_eq!(wakes(&count_b), 3);
        assert!(Pin::new(&mut c).poll(&mut cx_b).is_ready());
    }

    #[test]
    fn shutdown_watch_completes_after_the_trigger_only() {
        let signal = super::super::shutdown::ShutdownSignal::new();
        let mut watch = ShutdownWatch {
            listener: signal.subscribe(),
        };
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let mut wait = std::pin::pin!(watch.requested());
        for _ in 0..3 {
            assert!(wait.as_mut().poll(&mut cx).is_pending());
        }
        signal.trigger();
        assert_eq!(wakes(&count), 1);
        assert!(wait.as_mut().poll(&mut cx).is_ready());
        // And on every poll after, so the caller's loop decides when.
        assert!(wait.as_mut().poll(&mut cx).is_ready());
    }

    #[test]
    fn cancel_wait_never_completes_once_the_session_is_closed() {
        let shared = Arc::new(SessionShared::new(8, bytes::Bytes::from_static(b"key2")));
        let signal = CancelSignal {
            shared: shared.clone(),
        };
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let mut wait = signal.requested();
        assert!(Pin::new(&mut wait).poll(&mut cx).is_pending());
        shared.close();
        assert_eq!(wakes(&count), 1);
        assert!(Pin::new(&mut wait).poll(&mut cx).is_pending());
        // Not busy: a cancel after the end has no effect either.
        shared.request_cancel();
        assert!(Pin::new(&mut wait).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut signal.requested()).poll(&mut cx).is_pending());
    }

    #[test]
    fn frames_are_split_by_their_length_word() {
        let buf = b"Q\0\0\0\x0dSELECT 1\0Z\0\0\0";
        assert_eq!(
            peek_frame(buf, 1024),
            Ok(Some(RawFrame { tag: b'Q', len: 14 }))
        );
        // The second frame is incomplete.
        assert_eq!(peek_frame(&buf[14..], 1024), Ok(None));
        assert_eq!(peek_frame(b"Q\0\0", 1024), Ok(None));
        assert_eq!(
            peek_frame(b"Q\0\0\0\x03", 1024),
            Err(RawFrameError::InvalidLength(3))
        );
        assert_eq!(
            peek_frame(b"Q\x7f\xff\xff\xff", 1024),
            Err(RawFrameError::TooLarge {
                len: 0x7fff_ffff,
                max: 1024
            })
        );
        assert_eq!(
            RawFrameError::InvalidLength(3).to_error_info().code(),
            SqlState::PROTOCOL_VIOLATION
        );
    }
}
