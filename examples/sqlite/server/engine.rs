//! A session's SQLite connection, on a thread of its own.
//!
//! SQLite calls block, so each session owns a worker thread holding its
//! `rusqlite::Connection`; the async handler sends it jobs and awaits the
//! answers, and the runtime's threads never wait on SQLite. Rows stream
//! back in pre-encoded batches through a bounded channel, so a large result
//! is never held in memory whole (except where the protocol needs the rows
//! of one statement before running the next: see [`Run::stream`]).
//!
//! Cancellation: [`Interrupt`] sets a flag that the worker checks between
//! rows, in its busy handler and in `pg_sleep`, and calls
//! `sqlite3_interrupt`, which stops a running statement inside SQLite.

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use pgwire::api::{CancelToken, RowSink, RowSource, Rows, RowsProgress, Tag};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::messages::FormatCodes;
use pgwire::types::{FieldInfo, RowBatch, Schema};
use rusqlite::types::Value;
use rusqlite::{Connection, InterruptHandle};
use tokio::sync::oneshot;

use super::describe::{self, Prepared, TagKind};
use super::errors::from_sqlite;
use super::functions::{self, SessionInfo};
use super::types::{encode_value, type_for_storage};

/// How long a statement waits for another session's lock before failing
/// with 55P03, unless the server says otherwise.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Rows are sent in batches of about this many bytes.
const BATCH_BYTES: usize = 64 * 1024;

/// Stops a session's running statement.
pub struct Interrupt {
    handle: InterruptHandle,
    /// Set when the running job is to stop; cleared when a new job is sent.
    pub flag: AtomicBool,
}

impl Interrupt {
    /// An interrupt for the connection `handle` belongs to.
    pub fn new(handle: InterruptHandle) -> Self {
        Interrupt {
            handle,
            flag: AtomicBool::new(false),
        }
    }

    /// Stops the running job (a no-op if none runs).
    pub fn fire(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.handle.interrupt();
    }

    /// Whether the running job was asked to stop.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}

type Job = Box<dyn FnOnce(&mut Db) + Send>;

/// The async side of a session's worker. Clones send to the same worker
/// (a COPY TO stream starts its job when first polled).
#[derive(Clone)]
pub struct Engine {
    jobs: mpsc::Sender<Job>,
    interrupt: Arc<Interrupt>,
}

fn worker_gone() -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INTERNAL_ERROR,
        "the session's SQLite worker has stopped",
    )
}

thread_local! {
    /// The worker's interrupt, its lock timeout and when the current lock
    /// wait began, for the busy handler (a plain `fn`, so it finds them
    /// here).
    static BUSY: RefCell<BusyState> = const {
        RefCell::new(BusyState { interrupt: None, timeout: BUSY_TIMEOUT, since: None })
    };
}

struct BusyState {
    interrupt: Option<Arc<Interrupt>>,
    timeout: Duration,
    since: Option<Instant>,
}

/// Waits for another session's lock: retries with short sleeps until
/// [`BUSY_TIMEOUT`] or a cancel.
fn busy_handler(count: i32) -> bool {
    let keep_waiting = BUSY.with(|b| {
        let mut b = b.borrow_mut();
        if count == 0 || b.since.is_none() {
            b.since = Some(Instant::now());
        }
        if b.interrupt.as_ref().is_some_and(|i| i.is_set()) {
            return false;
        }
        let timeout = b.timeout;
        b.since.is_some_and(|t| t.elapsed() < timeout)
    });
    if keep_waiting {
        std::thread::sleep(Duration::from_millis(1 << count.clamp(0, 3)));
    }
    keep_waiting
}

impl Engine {
    /// Opens a connection to the database at `path` on a new worker
    /// thread; a statement waits up to `busy_timeout` for another session's
    /// lock.
    pub async fn start(
        path: &Path,
        info: SessionInfo,
        busy_timeout: Duration,
    ) -> Result<Engine, ErrorInfo> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = oneshot::channel();
        let path = path.to_owned();
        std::thread::Builder::new()
            .name(format!("sqlite-{}", info.process_id))
            .spawn(move || {
                let mut db = match Db::open(&path, &info) {
                    Ok(db) => db,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                BUSY.with(|b| {
                    let mut b = b.borrow_mut();
                    b.interrupt = Some(db.interrupt.clone());
                    b.timeout = busy_timeout;
                });
                if ready_tx.send(Ok(db.interrupt.clone())).is_err() {
                    return;
                }
                while let Ok(job) = queue.recv() {
                    // A panicking job drops its reply; the session sees an
                    // internal error and the worker goes on.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut db)));
                    // A transaction that ended: the change log's readers look.
                    super::publisher::after_job(&db.conn);
                }
                // The connection closes here, rolling back an open
                // transaction.
            })
            .map_err(|e| {
                ErrorInfo::new(
                    SqlState::INSUFFICIENT_RESOURCES,
                    format!("could not start a SQLite worker: {e}"),
                )
            })?;
        let interrupt = ready_rx.await.map_err(|_| worker_gone())??;
        Ok(Engine { jobs, interrupt })
    }

    /// The session's interrupt, for work that outlives a call (streams).
    pub fn interrupt(&self) -> Arc<Interrupt> {
        self.interrupt.clone()
    }

    /// Runs `f` on the worker and returns its result. With `cancel`, a
    /// cancel request interrupts `f`.
    pub async fn call<R: Send + 'static>(
        &self,
        cancel: Option<&CancelToken>,
        f: impl FnOnce(&mut Db) -> R + Send + 'static,
    ) -> Result<R, ErrorInfo> {
        self.call_with_reply(cancel, move |db, reply| {
            let _ = reply.send(f(db));
        })
        .await
    }

    /// Runs `f` on the worker; `f` answers through its sender, and may go
    /// on working after it has (streaming rows).
    pub async fn call_with_reply<R: Send + 'static>(
        &self,
        cancel: Option<&CancelToken>,
        f: impl FnOnce(&mut Db, oneshot::Sender<R>) + Send + 'static,
    ) -> Result<R, ErrorInfo> {
        self.interrupt.flag.store(false, Ordering::SeqCst);
        let (tx, mut rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |db: &mut Db| f(db, tx)))
            .map_err(|_| worker_gone())?;
        let Some(cancel) = cancel else {
            return rx.await.map_err(|_| worker_gone());
        };
        tokio::select! {
            r = &mut rx => r.map_err(|_| worker_gone()),
            _ = cancel.cancelled() => {
                self.interrupt.fire();
                rx.await.map_err(|_| worker_gone())
            }
        }
    }
}

/// Where a statement to run comes from.
pub enum Source {
    /// PostgreSQL text, prepared and described now (simple protocol):
    /// result types not known from the text come from the first row.
    Text(String),
    /// A statement prepared at Parse (extended protocol), with its fixed
    /// description.
    Prepared(Arc<Prepared>),
}

/// A statement to run.
pub struct Run {
    /// The statement.
    pub source: Source,
    /// Parameter values.
    pub params: Vec<Value>,
    /// Result formats (empty = all text).
    pub formats: FormatCodes,
    /// Stream the rows as the client reads them. Otherwise all rows are
    /// read before answering, so that the worker is free for the next
    /// statement (a multi-statement query, or a portal that may be
    /// suspended and resumed around other statements).
    pub stream: bool,
    /// Open an implicit transaction first, unless one is open.
    pub begin_implicit: bool,
    /// The session's TimeZone, DateStyle... for text-format results.
    pub settings: pgwire::types::FormatSettings,
    /// Commit the implicit transaction once the statement succeeded.
    pub commit_implicit: bool,
    /// A FETCH from a cursor (`cursors.rs`): only these rows are sent.
    pub window: Option<Window>,
}

/// The rows of a query a FETCH sends: `take` rows after the first `skip`,
/// in reverse order for a backward fetch.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Rows passed over.
    pub skip: u64,
    /// Rows sent (at most).
    pub take: u64,
    /// Send them last first.
    pub reverse: bool,
}

/// What running a statement produced.
pub enum Outcome {
    /// Rows: their columns, the rows, and the tag's command name.
    Rows {
        /// Columns.
        schema: Schema,
        /// The rows (streaming or read).
        rows: Rows,
        /// `SELECT`, `INSERT`...
        command: &'static str,
    },
    /// A statement without rows, and its tag.
    Done(Tag),
}

/// A session's connection and transaction state, owned by its worker.
pub struct Db {
    /// The connection.
    pub conn: Connection,
    interrupt: Arc<Interrupt>,
    /// The settings of the statement running (the date/time casts read
    /// text with them).
    settings: functions::SharedSettings,
    /// An implicit transaction is open: one opened for a multi-statement
    /// query or an extended-protocol pipeline outside a transaction block.
    pub implicit: bool,
}

impl Db {
    fn open(path: &Path, info: &SessionInfo) -> Result<Db, ErrorInfo> {
        let conn = Connection::open(path).map_err(|e| from_sqlite(&e))?;
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
            .map_err(|e| from_sqlite(&e))?;
        conn.busy_handler(Some(busy_handler))
            .map_err(|e| from_sqlite(&e))?;
        conn.set_prepared_statement_cache_capacity(256);
        let interrupt = Arc::new(Interrupt::new(conn.get_interrupt_handle()));
        let settings = functions::SharedSettings::default();
        functions::register(&conn, info, interrupt.clone(), settings.clone())
            .map_err(|e| from_sqlite(&e))?;
        super::catalog::attach(&conn, info).map_err(|e| from_sqlite(&e))?;
        super::publisher::attach(&conn).map_err(|e| from_sqlite(&e))?;
        Ok(Db {
            conn,
            interrupt,
            settings,
            implicit: false,
        })
    }

    /// Whether SQLite has a transaction open.
    pub fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// Runs SQL without results (transaction control, TRUNCATE...).
    pub fn batch(&self, sql: &str) -> Result<(), ErrorInfo> {
        if sql == "COMMIT" {
            // The change log records the commit time (publisher.rs).
            super::publisher::before_commit(&self.conn);
        }
        self.conn.execute_batch(sql).map_err(|e| self.error(&e))
    }

    /// Ends the implicit transaction, if one is open: commits it, or rolls
    /// it back.
    pub fn end_implicit(&mut self, commit: bool) -> Result<(), ErrorInfo> {
        if !std::mem::take(&mut self.implicit) || !self.in_transaction() {
            return Ok(());
        }
        if commit {
            if let Err(e) = self.batch("COMMIT") {
                let _ = self.batch("ROLLBACK");
                return Err(e);
            }
            Ok(())
        } else {
            self.batch("ROLLBACK")
        }
    }

    /// Makes `settings` (the session's, sent with each statement) the ones
    /// the SQL functions read text with.
    pub fn use_settings(&self, settings: &pgwire::types::FormatSettings) {
        let mut current = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        *current = settings.clone();
    }

    /// The session's interrupt.
    pub fn interrupt(&self) -> Arc<Interrupt> {
        self.interrupt.clone()
    }

    /// The PostgreSQL error for a SQLite error; 57014 if the job was
    /// interrupted, whatever SQLite said.
    pub fn error(&self, e: &rusqlite::Error) -> ErrorInfo {
        if self.interrupt.is_set() {
            return ErrorInfo::query_canceled();
        }
        from_sqlite(e)
    }

    /// Runs a statement and answers through `reply` (see [`Run`]).
    pub fn run(&mut self, req: Run, reply: oneshot::Sender<Result<Outcome, ErrorInfo>>) {
        let mut reply = Some(reply);
        let result = self.execute(req, &mut reply);
        if let Err(e) = result {
            // The implicit transaction fails with its statement, as in
            // PostgreSQL.
            let _ = self.end_implicit(false);
            if let Some(reply) = reply.take() {
                let _ = reply.send(Err(e));
            }
        }
    }

    fn execute(
        &mut self,
        req: Run,
        reply: &mut Option<oneshot::Sender<Result<Outcome, ErrorInfo>>>,
    ) -> Result<(), ErrorInfo> {
        if self.interrupt.is_set() {
            return Err(ErrorInfo::query_canceled());
        }
        self.use_settings(&req.settings);
        // A statement from Parse was described before it ran: its rows
        // must match that description.
        let described = matches!(req.source, Source::Prepared(_));
        let prepared = match req.source {
            Source::Prepared(p) => p,
            Source::Text(text) => {
                let p = describe::prepare(&self.conn, &text, &[])?;
                describe::check_no_params(&p)?;
                Arc::new(p)
            }
        };
        if req.begin_implicit && !self.in_transaction() {
            self.batch("BEGIN")?;
            self.implicit = true;
        }
        let total_before = self.conn.total_changes();
        let conn = &self.conn;
        let mut stmt = conn
            .prepare_cached(&prepared.sql)
            .map_err(|e| self.error(&e))?;
        for (i, v) in req.params.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, v)
                .map_err(|e| self.error(&e))?;
        }
        if stmt.column_count() == 0 {
            stmt.raw_execute().map_err(|e| self.error(&e))?;
            drop(stmt);
            let changes = conn.changes();
            let tag = match &prepared.tag {
                TagKind::Insert => Tag::insert(changes),
                TagKind::Update => Tag::update(changes),
                TagKind::Delete => Tag::delete(changes),
                TagKind::Select => Tag::select(0),
                TagKind::CreateTableAs => {
                    Tag::select(conn.total_changes().saturating_sub(total_before))
                }
                TagKind::Named(n) => Tag::new(n.clone()),
            };
            if req.commit_implicit {
                self.end_implicit(true)?;
            }
            if let Some(reply) = reply.take() {
                let _ = reply.send(Ok(Outcome::Done(tag)));
            }
            return Ok(());
        }
        let command = match &prepared.tag {
            _ if req.window.is_some() => "FETCH",
            TagKind::Insert => "INSERT",
            TagKind::Update => "UPDATE",
            TagKind::Delete => "DELETE",
            TagKind::Named(n) if n == "EXPLAIN" => "EXPLAIN",
            _ => "SELECT",
        };
        let mut rows = stmt.raw_query();
        let window = req.window;
        if let Some(w) = window {
            for _ in 0..w.skip {
                if self.interrupt.is_set() {
                    return Err(ErrorInfo::query_canceled());
                }
                if rows.next().map_err(|e| self.error(&e))?.is_none() {
                    break;
                }
            }
        }
        let first = match window {
            Some(w) if w.take == 0 => None,
            _ => rows.next().map_err(|e| self.error(&e))?,
        };
        let schema: Schema = match &prepared.schema {
            Some(s) if described => s.clone(),
            _ => {
                // Unknown types from the first row's storage classes.
                prepared
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let t = c.ty.clone().unwrap_or_else(|| {
                            super::types::PgType::plain(
                                first
                                    .and_then(|r| r.get_ref(i).ok())
                                    .map_or(pgwire::types::Type::TEXT, type_for_storage),
                            )
                        });
                        FieldInfo::new(c.name.clone(), t.ty)
                            .with_type_modifier(t.typmod)
                            .with_table(c.origin.0, c.origin.1)
                    })
                    .collect::<Vec<_>>()
                    .into()
            }
        };
        let ncols = schema.len();
        let mut scratch = bytes::BytesMut::new();
        let mut batch = RowBatch::new(schema.clone(), req.formats.clone())
            .with_format_settings(req.settings.clone());
        let interrupt = self.interrupt.clone();
        let mut encode_row =
            |batch: &mut RowBatch, row: &rusqlite::Row<'_>| -> Result<(), ErrorInfo> {
                let mut enc = batch.encoder();
                for i in 0..ncols {
                    let v = row.get_ref(i).map_err(|e| from_sqlite(&e))?;
                    encode_value(&mut enc, v, &mut scratch)?;
                }
                enc.finish()?;
                batch.commit_row();
                Ok(())
            };
        let mut more = false;
        if let (Some(w), Some(row)) = (window.filter(|w| w.reverse), first) {
            // Backward: the window's rows, then sent last first.
            let mut held: Vec<Vec<rusqlite::types::Value>> = Vec::new();
            let mut next = Some(row);
            while let Some(row) = next {
                held.push(
                    (0..ncols)
                        .map(|i| row.get::<_, rusqlite::types::Value>(i))
                        .collect::<Result<_, _>>()
                        .map_err(|e| from_sqlite(&e))?,
                );
                if held.len() as u64 >= w.take {
                    break;
                }
                next = rows.next().map_err(|e| self.error(&e))?;
            }
            let mut held_scratch = bytes::BytesMut::new();
            for values in held.iter().rev() {
                let mut enc = batch.encoder();
                for v in values {
                    encode_value(&mut enc, v.into(), &mut held_scratch)?;
                }
                enc.finish()?;
                batch.commit_row();
            }
        } else if let Some(row) = first {
            encode_row(&mut batch, row)?;
            let mut sent = 1;
            loop {
                if window.is_some_and(|w| sent >= w.take) {
                    break;
                }
                if req.stream && batch.encoded_len() >= BATCH_BYTES {
                    more = true;
                    break;
                }
                if interrupt.is_set() {
                    return Err(ErrorInfo::query_canceled());
                }
                match rows.next().map_err(|e| self.error(&e))? {
                    Some(row) => {
                        encode_row(&mut batch, row)?;
                        sent += 1;
                    }
                    None => break,
                }
            }
        }
        let (first_frames, _) = batch.into_encoded();
        if !more {
            drop(rows);
            drop(stmt);
            if req.commit_implicit {
                self.end_implicit(true)?;
            }
            if let Some(reply) = reply.take() {
                let rows = Rows::from_source(WorkerRows::new(first_frames, None, interrupt));
                let _ = reply.send(Ok(Outcome::Rows {
                    schema,
                    rows,
                    command,
                }));
            }
            return Ok(());
        }
        // Streaming: answer with the first batch, then keep sending.
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        if let Some(reply) = reply.take() {
            let rows =
                Rows::from_source(WorkerRows::new(first_frames, Some(rx), interrupt.clone()));
            if reply
                .send(Ok(Outcome::Rows {
                    schema: schema.clone(),
                    rows,
                    command,
                }))
                .is_err()
            {
                return Err(ErrorInfo::query_canceled());
            }
        }
        let streamed: Result<(), ErrorInfo> = (|| {
            loop {
                let mut batch = RowBatch::new(schema.clone(), req.formats.clone())
                    .with_format_settings(req.settings.clone());
                let mut done = false;
                while batch.encoded_len() < BATCH_BYTES {
                    if interrupt.is_set() {
                        return Err(ErrorInfo::query_canceled());
                    }
                    match rows.next().map_err(|e| {
                        if interrupt.is_set() {
                            ErrorInfo::query_canceled()
                        } else {
                            from_sqlite(&e)
                        }
                    })? {
                        Some(row) => encode_row(&mut batch, row)?,
                        None => {
                            done = true;
                            break;
                        }
                    }
                }
                if !batch.is_empty() && tx.blocking_send(Ok(batch.into_encoded().0)).is_err() {
                    // The client went away or the query was cancelled.
                    return Err(ErrorInfo::query_canceled());
                }
                if done {
                    return Ok(());
                }
            }
        })();
        drop(rows);
        drop(stmt);
        let result = streamed.and_then(|()| {
            if req.commit_implicit {
                self.end_implicit(true)
            } else {
                Ok(())
            }
        });
        if let Err(e) = &result {
            let _ = tx.blocking_send(Err(e.clone()));
        }
        result
    }
}

/// Rows produced by a session's worker: the first batch, then whatever
/// arrives on the channel. Dropped before the end (the client cancelled,
/// disconnected or hit an error), it stops the worker's statement.
struct WorkerRows {
    current: Bytes,
    rx: Option<tokio::sync::mpsc::Receiver<Result<Bytes, ErrorInfo>>>,
    interrupt: Arc<Interrupt>,
    done: bool,
}

impl WorkerRows {
    fn new(
        first: Bytes,
        rx: Option<tokio::sync::mpsc::Receiver<Result<Bytes, ErrorInfo>>>,
        interrupt: Arc<Interrupt>,
    ) -> Self {
        WorkerRows {
            current: first,
            rx,
            interrupt,
            done: false,
        }
    }
}

impl RowSource for WorkerRows {
    fn poll_rows(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut RowSink<'_>,
    ) -> Poll<Result<RowsProgress, ErrorInfo>> {
        loop {
            if !self.current.is_empty() {
                sink.push_encoded(&mut self.current);
                if !self.current.is_empty() || sink.is_full() {
                    return Poll::Ready(Ok(RowsProgress::More));
                }
            }
            let Some(rx) = self.rx.as_mut() else {
                self.done = true;
                return Poll::Ready(Ok(RowsProgress::Done));
            };
            match rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(frames))) => self.current = frames,
                Poll::Ready(Some(Err(e))) => {
                    self.done = true;
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(None) => {
                    self.done = true;
                    return Poll::Ready(Ok(RowsProgress::Done));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for WorkerRows {
    fn drop(&mut self) {
        if !self.done && self.rx.is_some() {
            self.interrupt.fire();
        }
    }
}
