//! A PostgreSQL-compatible server over SQLite: the handlers of the
//! `sqlite` example, usable in-process (the tests include this module).
//!
//! One database is shared by all sessions; each session has its own SQLite
//! connection on its own worker thread (`engine.rs`), so transactions are
//! isolated as in PostgreSQL: SQLite's WAL mode gives every transaction a
//! snapshot, and a write that conflicts with a concurrent one fails with
//! 40001 like a PostgreSQL `REPEATABLE READ` transaction.
//!
//! The in-memory database is a temporary file in WAL mode, deleted when the
//! server is dropped. (SQLite's `memdb` VFS shares a database between
//! connections too, but without WAL: a reader waits for every open write
//! transaction instead of reading the last committed state.)
//!
//! Modules: `sql.rs` (lexing, splitting, rewriting PostgreSQL's dialect),
//! `describe.rs` (parameter and column types, tags), `types.rs` (values),
//! `errors.rs` (SQLSTATEs), `functions.rs` (`version()`, `now()`...),
//! `session_commands.rs` (SET, SHOW, BEGIN...), `transactions.rs`,
//! `simple.rs` and `extended.rs` (the two query protocols), `copy.rs`
//! (COPY FROM STDIN / TO STDOUT), `notify.rs` (LISTEN / NOTIFY),
//! `publisher.rs` (publications and the change log), `replication.rs`
//! (slots), `change_stream.rs` and `live_changes.rs` (streaming changes,
//! also of transactions in progress, to `pg_recvlogical` or a subscribing
//! PostgreSQL) and `auth.rs` (who may connect).

mod auth;
mod catalog;
mod catalog_sql;
mod change_stream;
mod copy;
mod cursors;
mod describe;
mod engine;
mod errors;
mod extended;
mod functions;
// Used by the gluesql example, which hosts this server's catalog.
#[allow(dead_code)]
mod hosted;
mod implicit_aliases;
mod json_row;
mod large_objects;
mod literal_types;
mod live_changes;
mod notices;
mod notify;
mod publisher;
mod replication;
mod session_commands;
mod simple;
mod sql;
mod transactions;
mod types;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use pgwire::api::auth::Authenticator;
use pgwire::api::{
    CopySupport, ExtendedQuerySupport, FunctionCallSupport, ReplicationSupport, UseCopyHandler,
    UseExtendedQueryHandler, UseFunctionCallHandler, UseReplicationHandler,
};
use pgwire::api::{ServerHandlers, Session};
use pgwire::error::{ErrorInfo, SqlState};

pub use auth::AuthConfig;
use engine::Engine;
use functions::SessionInfo;
#[allow(unused_imports)]
pub use hosted::HostedStatement;
use session_commands::Settings;

/// Where the database lives.
#[derive(Debug, Clone)]
pub enum DbLocation {
    /// A private database for this server, gone when it stops.
    Memory,
    /// A database file (created if missing).
    File(PathBuf),
}

/// The server's handlers: opens a SQLite connection for every session.
#[derive(Debug)]
pub struct SqliteServer {
    path: PathBuf,
    temporary: bool,
    setup_error: Option<String>,
    busy_timeout: Duration,
    auth: AuthConfig,
    /// Who LISTENs on what, across sessions.
    notify_hub: Arc<notify::Hub>,
}

impl SqliteServer {
    /// A server for the database at `db`. Failing to open it is reported
    /// by [`SqliteServer::setup_error`] and to every client.
    pub fn new(db: DbLocation) -> SqliteServer {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let (path, temporary) = match db {
            DbLocation::File(p) => (p, false),
            DbLocation::Memory => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                let name = format!(
                    "pgwire-sqlite-{}-{}-{nanos}.db",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                );
                (std::env::temp_dir().join(name), true)
            }
        };
        let setup_error = setup(&path, temporary).err().map(|e| e.to_string());
        SqliteServer {
            path,
            temporary,
            setup_error,
            busy_timeout: engine::BUSY_TIMEOUT,
            auth: AuthConfig::default(),
            notify_hub: Arc::default(),
        }
    }

    /// How long a statement waits for a lock another session holds before
    /// failing with 55P03 (default 5 s).
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Who may connect (default: everyone, as `trust`).
    pub fn with_auth(mut self, auth: AuthConfig) -> Self {
        self.auth = auth;
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why the database could not be opened, if it could not.
    pub fn setup_error(&self) -> Option<&str> {
        self.setup_error.as_deref()
    }
}

/// Creates the database (if needed) and puts it in WAL mode, which is
/// recorded in the file.
fn setup(path: &Path, temporary: bool) -> rusqlite::Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(
            mode,
            "the database is not in WAL mode: readers will wait for writers"
        );
    }
    if temporary {
        // Nothing to keep across a crash: no need to wait for the disk.
        conn.execute_batch("PRAGMA synchronous = OFF")?;
    }
    publisher::setup(&conn)
}

impl Drop for SqliteServer {
    fn drop(&mut self) {
        if self.temporary {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut p = self.path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// Transaction state a session keeps beside the transaction status.
#[derive(Debug, Default)]
struct TxState {
    /// The current transaction is read-only (`PRAGMA query_only` is on).
    read_only: bool,
    /// An implicit transaction may be open on the worker (begun by an
    /// extended-protocol Execute outside a block; ended at Sync).
    implicit: bool,
}

/// One session: its SQLite worker and state.
pub struct SqliteSession {
    engine: Engine,
    settings: Settings,
    tx: TxState,
    scratch: BytesMut,
    /// The COPY FROM STDIN in progress.
    copy: Option<copy::CopyInState>,
    /// The statements of the query string after a COPY FROM STDIN, run
    /// once its data is in.
    after_copy: Vec<String>,
    /// LISTEN / NOTIFY; leaves the hub when the session ends.
    notifier: notify::Notifier,
    /// Open large-object descriptors (large_objects.rs).
    large_objects: large_objects::Descriptors,
    /// Open SQL cursors (cursors.rs).
    cursors: cursors::Cursors,
    /// The database file (replication slots are written outside the
    /// session's transaction, on a connection of their own).
    db_path: PathBuf,
    /// The temporary replication slots this session created, dropped
    /// with it (replication.rs).
    temp_slots: replication::TempSlots,
}

impl ServerHandlers for SqliteServer {
    type Handler = SqliteSession;

    fn extended_query() -> impl ExtendedQuerySupport<Self::Handler> {
        UseExtendedQueryHandler
    }

    fn copy() -> impl CopySupport<Self::Handler> {
        UseCopyHandler
    }

    // Large objects (large_objects.rs) over the function call protocol.
    fn function_call() -> impl FunctionCallSupport<Self::Handler> {
        UseFunctionCallHandler
    }

    // Replication connections (replication.rs): a publisher.
    fn replication() -> impl ReplicationSupport<Self::Handler> {
        UseReplicationHandler
    }

    async fn authenticate(&self, auth: &mut Authenticator<'_>) -> Result<(), ErrorInfo> {
        auth.run(self.auth.method(), self.auth.users()).await
    }

    async fn connect(&self, session: &mut Session) -> Result<SqliteSession, ErrorInfo> {
        if let Some(e) = &self.setup_error {
            return Err(ErrorInfo::fatal(
                SqlState::IO_ERROR,
                format!("could not open database \"{}\": {e}", self.path.display()),
            ));
        }
        let client = session.client();
        let info = SessionInfo {
            user: client.user().to_owned(),
            database: client.database().to_owned(),
            process_id: client.process_id(),
            server_version: session
                .parameter("server_version")
                .unwrap_or("18.0")
                .to_owned(),
            client_addr: client.peer_addr(),
        };
        // The server logs the session's start and end; this adds what the
        // engine sees.
        tracing::debug!(
            application = client.application_name().unwrap_or(""),
            db = %self.path.display(),
            "opening SQLite connection"
        );
        let engine = Engine::start(&self.path, info, self.busy_timeout).await?;
        let notifier = notify::Notifier::new(self.notify_hub.clone(), session);
        let pending = notifier.pending();
        engine
            .call(None, move |db| notify::register(&db.conn, pending))
            .await?
            .map_err(|e| errors::from_sqlite(&e))?;
        Ok(SqliteSession {
            engine,
            settings: Settings::new(session),
            tx: TxState::default(),
            scratch: BytesMut::new(),
            copy: None,
            after_copy: Vec::new(),
            notifier,
            large_objects: large_objects::Descriptors::default(),
            cursors: cursors::Cursors::default(),
            db_path: self.path.clone(),
            temp_slots: replication::TempSlots::default(),
        })
    }
}
