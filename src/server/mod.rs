//! The server: accepts connections and runs the protocol over them,
//! calling the [`ServerHandlers`] you provide.
//!
//! [`serve`] is the whole thing for a TCP listener. A [`Server`] lets you
//! own the accept loop (`server.process_socket(io, peer)` for any
//! `AsyncRead + AsyncWrite` transport), reach sessions by process ID, and
//! shut down gracefully.

mod accept;
mod bind_check;
mod config;
mod connection;
mod copy;
mod extended_query;
mod function_call;
mod io;
mod ip_network;
mod prefixed;
mod proxy_accept;
pub mod proxy_protocol;
mod raw_session;
mod registry;
mod replication;
mod row_description_cache;
mod row_stream;
mod session_tasks;
mod shutdown;
mod simple_query;
mod startup;
mod statement_store;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tracing::Instrument;

pub use config::ServerConfig;
pub use ip_network::{InvalidIpNetwork, IpNetwork};
pub use proxy_accept::{ProxyProtocolMode, ProxyRefusal};
pub use raw_session::{
    CancelRequested, CancelSignal, RawFrame, RawFrameError, RawSession, ShutdownWatch,
    TerminateHandle, peek_frame,
};
#[cfg(feature = "tls")]
pub use tls::TlsAcceptor;

use crate::api::{ServerHandlers, SessionDefaults, SessionHandle};
use crate::error::PgWireError;
use registry::Registry;
use shutdown::ShutdownSignal;

pub(crate) struct ServerInner<H> {
    pub(crate) handlers: H,
    pub(crate) config: ServerConfig,
    /// The configured parameters as each session starts with them.
    pub(crate) session_defaults: Arc<SessionDefaults>,
    pub(crate) registry: Registry,
    /// Connections being served (authenticated or not).
    pub(crate) connections: AtomicUsize,
    pub(crate) shutdown: ShutdownSignal,
}

/// A PostgreSQL-protocol server: the handlers, the configuration and the
/// sessions it runs. Cheap to clone (an `Arc` inside).
///
/// ```no_run
/// use pgwire::server::{Server, ServerConfig};
/// # use pgwire::api::*;
/// # struct H; impl ServerHandlers for H { type Handler = C;
/// #   async fn connect(&self, _: &mut Session) -> Result<C, pgwire::error::ErrorInfo> { Ok(C) } }
/// # struct C;
/// # impl SimpleQueryHandler for C { async fn do_query(&mut self, _: &mut Session, _: &str) -> Responses { Responses::new() } }
/// # async fn run() -> std::io::Result<()> {
/// let server = Server::new(H, ServerConfig::default());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5432").await?;
/// loop {
///     let (socket, peer) = listener.accept().await?;
///     let server = server.clone();
///     tokio::spawn(async move {
///         let _ = server.process_socket(socket, Some(peer)).await;
///     });
/// }
/// # }
/// ```
pub struct Server<H: ServerHandlers> {
    inner: Arc<ServerInner<H>>,
}

impl<H: ServerHandlers> Clone for Server<H> {
    fn clone(&self) -> Self {
        Server {
            inner: self.inner.clone(),
        }
    }
}

impl<H: ServerHandlers> Server<H> {
    /// A server with `handlers` and `config`.
    pub fn new(handlers: H, config: ServerConfig) -> Self {
        Server {
            inner: Arc::new(ServerInner {
                handlers,
                session_defaults: Arc::new(SessionDefaults::new(&config.parameters)),
                config,
                registry: Registry::new(),
                connections: AtomicUsize::new(0),
                shutdown: ShutdownSignal::new(),
            }),
        }
    }

    /// The handlers.
    pub fn handlers(&self) -> &H {
        &self.inner.handlers
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// Serves one connection until it ends. `peer` is reported in
    /// [`ClientInfo::peer_addr`](crate::api::ClientInfo::peer_addr).
    ///
    /// With an accept loop of your own, spawn it as a runtime task (as
    /// [`Server::serve`] does) rather than running it in `block_on`: a
    /// session spawned from a worker starts on that worker, while one
    /// spawned from outside the runtime wakes another thread per
    /// connection.
    pub async fn process_socket<S>(
        &self,
        io: S,
        peer: Option<SocketAddr>,
    ) -> Result<(), PgWireError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        Self::serve_socket(self.inner.clone(), io, peer, None).await
    }

    /// Serves one connection of the server `inner`, with what is known of
    /// the transport (a Unix socket and its peer's credentials).
    async fn serve_socket<S>(
        inner: Arc<ServerInner<H>>,
        io: S,
        peer: Option<SocketAddr>,
        origin: Option<Box<crate::api::ConnectionOrigin>>,
    ) -> Result<(), PgWireError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        inner.connections.fetch_add(1, Ordering::SeqCst);
        let _guard = ConnectionGuard(&inner);
        // PROXY protocol hook: the header names the real client (TCP only).
        if origin.is_none() && inner.config.proxy_protocol != ProxyProtocolMode::Off {
            return proxy_accept::serve_proxied(&inner, io, peer).await;
        }
        let span = tracing::info_span!("connection", peer = ?peer, pid = tracing::field::Empty);
        startup::run(&inner, io, peer, origin)
            .instrument(span)
            .await
    }

    /// Accepts connections from `listener` and serves each on its own
    /// task, until [`Server::shutdown`] is called; then waits (up to the
    /// configured shutdown timeout) for the sessions to end, and closes
    /// those still running after it.
    ///
    /// The accept loop itself runs as a task of the current Tokio runtime,
    /// so that each session starts on the worker thread that accepted its
    /// connection (with `block_on(server.serve(..))` the loop would
    /// otherwise run on the blocked thread, and every connection would
    /// wake a worker). Dropping the returned future stops accepting and
    /// ends every session it started.
    pub async fn serve(&self, listener: TcpListener) -> std::io::Result<()> {
        self.serve_on(listener).await
    }

    /// Runs the accept loop of [`Server::serve`] and [`Server::serve_unix`]
    /// as a task of the runtime rather than in the caller's future (often
    /// `block_on`, outside the runtime's workers): a session then starts on
    /// the worker that accepted its connection, without waking another
    /// thread. Dropping the returned future stops the loop and its
    /// sessions.
    async fn serve_on<L: accept::Accept + 'static>(&self, listener: L) -> std::io::Result<()> {
        let server = self.clone();
        let accept_loop = AbortOnDrop(tokio::spawn(
            async move { server.accept_loop(listener).await },
        ));
        match accept_loop.wait().await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Cancelled: only by the runtime shutting down.
            Err(_) => Ok(()),
        }
    }

    /// Accepts connections until shutdown; then waits for the sessions.
    async fn accept_loop<L: accept::Accept>(&self, listener: L) -> std::io::Result<()> {
        let mut shutdown = self.inner.shutdown.subscribe();
        let sessions = session_tasks::SessionTasks::new();
        loop {
            tokio::select! {
                accepted = listener.accept_connection() => {
                    let (socket, peer, origin) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            // Out of file descriptors and the like: keep
                            // serving the connections we have.
                            tracing::warn!("accept failed: {e}");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let inner = self.inner.clone();
                    // Boxed: the task then holds a pointer, not the session's
                    // future (kilobytes, copied several times as the task is
                    // created and completed).
                    sessions.spawn(Box::pin(async move {
                        if let Err(e) = Self::serve_socket(inner, socket, peer, origin).await {
                            tracing::debug!("connection ended: {e}");
                        }
                    }));
                }
                _ = shutdown.wait_for(|s| *s) => break,
            }
        }
        drop(listener);
        let drained =
            tokio::time::timeout(self.inner.config.shutdown_timeout, sessions.all_ended()).await;
        if drained.is_err() {
            tracing::info!(
                remaining = sessions.running(),
                "shutdown timeout: terminating the remaining sessions"
            );
            // Sessions stop what they run and say so (57P01); a handler
            // that ignores cancellation is cut off a moment later.
            self.inner.registry.terminate_all();
            let ended =
                tokio::time::timeout(std::time::Duration::from_secs(1), sessions.all_ended()).await;
            if ended.is_err() {
                sessions.abort_all();
                sessions.all_ended().await;
            }
        }
        Ok(())
    }

    /// Starts a graceful shutdown: [`Server::serve`] stops accepting, idle
    /// sessions are told `57P01 terminating connection due to administrator
    /// command` and closed, and busy sessions are closed the same way once
    /// their current query ends. Raw sessions ([`Server::accept_raw`]) are
    /// ended by their owner, which sees the shutdown through
    /// [`RawSession::shutdown_signal`].
    pub fn shutdown(&self) {
        self.inner.shutdown.trigger();
        // Sessions watch the flag when they wait for input: wake them to
        // see it (one registering now sees it at its first wait).
        self.inner.registry.wake_all();
    }

    /// Number of connections being served.
    pub fn connection_count(&self) -> usize {
        self.inner.connections.load(Ordering::SeqCst)
    }

    /// A handle to the session with `process_id`, if it is connected: to
    /// deliver NOTIFY to another session, for example.
    pub fn session(&self, process_id: i32) -> Option<SessionHandle> {
        self.inner.registry.handle(process_id)
    }

    /// Number of authenticated sessions.
    pub fn session_count(&self) -> usize {
        self.inner.registry.len()
    }
}

/// A task aborted when this is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    async fn wait(mut self) -> Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct ConnectionGuard<'a, H>(&'a ServerInner<H>);

impl<H> Drop for ConnectionGuard<'_, H> {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves `handlers` on `listener` with `config` until the process ends.
/// For graceful shutdown, use [`Server::serve`] and [`Server::shutdown`].
pub async fn serve<H: ServerHandlers>(
    listener: TcpListener,
    handlers: H,
    config: ServerConfig,
) -> std::io::Result<()> {
    Server::new(handlers, config).serve(listener).await
}
