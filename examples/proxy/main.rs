//! A connection pooler and router in front of a PostgreSQL primary and its
//! hot standbys, built on `pgwire`'s server half (clients authenticate
//! here) and client half (connections to the backends).
//!
//! ```text
//! cargo run --release --example proxy -- --listen 127.0.0.1:6432 \
//!     --primary 'host=127.0.0.1 port=5432' [--replica 'host=127.0.0.1 port=5433']... \
//!     --user NAME:PASSWORD... [--auth scram-sha-256|md5|trust] \
//!     [--pool-mode session|transaction] [--pool-size N] [--wait-timeout SECONDS] \
//!     [--shutdown-timeout SECONDS] [--threads N]
//! ```
//!
//! Database `X` goes to the primary, `X_ro` to the replicas (round-robin,
//! the primary when none is up). Database `pgwire` is the admin console:
//! `SHOW POOLS`, `SHOW STATS`, `SHOW CLIENTS`, `SHOW SERVERS`, `SHOW HELP`,
//! `PAUSE`, `RESUME`.
//! SIGINT or SIGTERM shuts it down gracefully (see `proxy::serve`).

#[path = "proxy.rs"]
mod proxy;

fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        // Colours only on a terminal, not in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(filter)
        .init();
    let mut config = match proxy::ProxyConfig::from_args(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) if e.is_empty() => {
            println!("{}", proxy::USAGE);
            return;
        }
        Err(e) => {
            eprintln!("proxy: {e}\n\n{}", proxy::USAGE);
            std::process::exit(2);
        }
    };
    config.reload_on_sighup = true;
    let mut builder = if config.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    if config.threads > 1 {
        builder.worker_threads(config.threads);
    }
    let runtime = builder.enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        tracing::info!(addr = %listener.local_addr()?, "proxy listening");
        // A task of the runtime rather than block_on's own thread: each
        // client's task then starts on the worker that accepted it, without
        // waking another thread.
        let serving = tokio::spawn(proxy::serve(config, listener, signal()));
        // A second signal while clients finish: stop at once.
        tokio::select! {
            joined = serving => match joined {
                Ok(result) => result,
                Err(e) => Err(std::io::Error::other(e)),
            },
            _ = async { signal().await; signal().await } => {
                tracing::warn!("second signal: stopping at once");
                Ok(())
            }
        }
    });
    if let Err(e) = result {
        eprintln!("proxy: {e}");
        std::process::exit(1);
    }
}

/// Completes at the next SIGINT (Ctrl-C) or SIGTERM.
#[cfg(unix)]
async fn signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot watch SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Completes at the next Ctrl-C.
#[cfg(not(unix))]
async fn signal() {
    let _ = tokio::signal::ctrl_c().await;
}
