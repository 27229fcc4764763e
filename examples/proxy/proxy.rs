//! The proxy as a library: [`run`] serves a listener with a
//! [`ProxyConfig`]. `main.rs` parses the command line; the tests include
//! this module with `#[path]` and run it in-process.

#![allow(dead_code)]

#[path = "admin.rs"]
mod admin;
#[path = "aging.rs"]
mod aging;
#[path = "backend.rs"]
mod backend;
#[path = "clients.rs"]
mod clients;
#[path = "config.rs"]
mod config;
#[path = "health.rs"]
mod health;
#[path = "pause.rs"]
mod pause;
#[path = "pool.rs"]
mod pool;
#[path = "query_effects.rs"]
mod query_effects;
#[path = "server_slots.rs"]
mod server_slots;
#[path = "session.rs"]
mod session;
#[path = "settings.rs"]
mod settings;
#[path = "statements.rs"]
mod statements;
#[path = "users.rs"]
mod users;

use std::sync::Arc;

use pgwire::api::auth::{AuthMethod, Authenticator, Credential};
use pgwire::api::{ServerHandlers, Session, SimpleQueryHandler};
use pgwire::error::ErrorInfo;
use pgwire::server::{Server, ServerConfig};

#[allow(unused_imports)]
pub use config::{PoolMode, ProxyConfig, USAGE};
pub use pool::Pools;

/// Authenticates clients against the configured users; sessions are run
/// by [`session::run`] on the raw frames, never by a handler.
pub struct FrontDoor {
    config: Arc<ProxyConfig>,
    users: Arc<users::Users>,
}

/// Never instantiated: the proxy takes connections over with
/// [`Server::accept_raw`], which does not call `connect`.
pub struct NoHandler;

impl SimpleQueryHandler for NoHandler {
    async fn do_query(&mut self, _: &mut Session, _: &str) -> pgwire::api::Responses {
        pgwire::api::Responses::new()
    }
}

impl ServerHandlers for FrontDoor {
    type Handler = NoHandler;

    async fn authenticate(&self, auth: &mut Authenticator<'_>) -> Result<(), ErrorInfo> {
        match self.config.auth {
            AuthMethod::Trust => Ok(()),
            AuthMethod::Md5 => {
                let credential = self.users.credential(auth.user(), AuthMethod::Md5).await?;
                auth.md5(credential.as_ref()).await
            }
            method => {
                let credential = self.users.credential(auth.user(), method).await?;
                auth.scram_sha_256(credential.as_ref()).await?;
                // For a user known by its verifier only, the keys the
                // client proved are how the proxy logs in to the backends.
                if let (Some(Credential::Scram(verifier)), Some(keys)) =
                    (&credential, auth.scram_keys())
                {
                    self.users.proven(auth.user(), verifier, keys);
                }
                Ok(())
            }
        }
    }

    async fn connect(&self, _: &mut Session) -> Result<NoHandler, ErrorInfo> {
        Err(ErrorInfo::fatal(
            pgwire::error::SqlState::INTERNAL_ERROR,
            "not a handler-based server",
        ))
    }
}

/// One client, authenticated.
async fn serve_client(raw: session::Front, pools: Arc<Pools>) {
    let span = tracing::info_span!(
        "client",
        pid = raw.backend_key_data().process_id,
        user = raw.client().user(),
        db = raw.client().database(),
    );
    // The span is entered where the session does something worth
    // logging, not around every poll of its relay loop.
    session::run(raw, pools, span).await;
}

/// Serves `listener` until the process ends (or the task is aborted).
pub async fn run(config: ProxyConfig, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve(config, listener, std::future::pending()).await
}

/// Serves `listener` until `shutdown` completes, then shuts down
/// gracefully: no new connections; each client is ended with FATAL 57P01
/// at its next idle point (a transaction in progress finishes first);
/// returns when every client is gone, or after `config.shutdown_timeout`
/// (clients still connected then are cut off, and PostgreSQL rolls back
/// what they left open), with the idle backend connections closed.
pub async fn serve(
    config: ProxyConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let config = Arc::new(config);
    let pools = Arc::new(Pools::new(config.clone()));
    health::spawn(&pools);
    aging::spawn(&pools);
    let reloads = config
        .reload_on_sighup
        .then(|| tokio::spawn(reload_on_sighup(pools.users.clone())));
    // As PostgreSQL's max_connections: counted after the startup packet,
    // refused with 53300 before authentication.
    let mut server_config = ServerConfig::default()
        .with_max_connections((config.max_clients > 0).then_some(config.max_clients))
        .with_proxy_protocol(config.proxy_protocol, config.proxy_trusted.clone());
    if let Some((cert, key)) = &config.tls {
        server_config =
            server_config.with_tls(pgwire::server::TlsAcceptor::from_pem_files(cert, key)?);
    }
    let server = Server::new(
        FrontDoor {
            config: config.clone(),
            users: pools.users.clone(),
        },
        server_config,
    );
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut shutdown => break,
        };
        let (socket, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let server = server.clone();
        let pools = pools.clone();
        tokio::spawn(async move {
            let raw = match server.accept_raw(socket, Some(peer)).await {
                Ok(Some(raw)) => raw,
                Ok(None) => return,
                Err(e) => {
                    tracing::debug!(%peer, "startup failed: {e}");
                    return;
                }
            };
            serve_client(raw, pools).await;
        });
    }
    drop(listener);
    let clients = server.session_count();
    tracing::info!(
        clients,
        "shutting down: no new connections; clients end when idle"
    );
    server.shutdown();
    // Clients held by a PAUSE go on, to end after their transaction.
    pools.pause.resume();
    let deadline = tokio::time::Instant::now() + config.shutdown_timeout;
    loop {
        let left = server.session_count();
        if left == 0 {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                clients = left,
                "shutdown timeout: clients still connected are cut off"
            );
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let closed = pools.close_all_idle();
    tracing::info!(closed, "idle backend connections closed");
    if let Some(task) = reloads {
        task.abort();
    }
    Ok(())
}

/// Re-reads the users files at each SIGHUP, as `RELOAD` does.
async fn reload_on_sighup(users: Arc<users::Users>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot watch SIGHUP: {e}");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            match users.reload() {
                Ok(count) => tracing::info!(users = count, "SIGHUP: users files read again"),
                Err(e) => tracing::warn!("SIGHUP: reload failed, the users stay as they were: {e}"),
            }
        }
    }
    #[cfg(not(unix))]
    drop(users);
}
