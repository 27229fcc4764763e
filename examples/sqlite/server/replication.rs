//! The example's replication commands and its stream of changes: slots
//! (`CREATE_REPLICATION_SLOT`, `pg_create_logical_replication_slot()`),
//! and `START_REPLICATION` streaming the change log (`publisher.rs`) as
//! `pgoutput` messages, filtered by the client's publications.
//!
//! LSNs: change number `seq` of the log is at `BASE + seq * STEP`; a
//! transaction whose last change is `seq` commits at `lsn(seq) + 0x80` and
//! ends at `lsn(seq) + 0x88`, which is what a client confirms once it has
//! it. So positions only grow, and a slot's confirmed position says which
//! transactions it still needs. A slot's position lives in the database
//! (`_pgwire_replication_slots`), so it survives restarts of the client
//! and of the server.
//!
//! What the stream does with `pgoutput`'s options:
//! - `binary 'true'`: values in binary, encoded with the library's
//!   encoders (`pgwire::types::text::text_to_binary`) straight into the
//!   output; a value SQLite holds that its column's type cannot take goes
//!   as text, as PostgreSQL sends types without a binary form.
//! - `streaming 'on'` / `'parallel'` (protocol 2+): a transaction is
//!   streamed in Stream Start ... Stream Stop blocks (changes carry its
//!   xid) ending with Stream Commit, once it has [`STREAM_THRESHOLD`]
//!   changes: while still in progress (read from `live_changes.rs`; a
//!   rollback then sends Stream Abort), or at once when already committed.
//! - `messages 'true'`: `pg_logical_emit_message()`'s messages.
//! - `two_phase`: accepted; the example has no PREPARE TRANSACTION, so
//!   there is never a prepared transaction to send.
//! - Physical replication (slots and `START_REPLICATION PHYSICAL`) is
//!   refused with 0A000: there is no WAL to send.
//!
//! Temporary slots are held by their session from their creation (55006
//! for any other) and dropped when it ends ([`TempSlots`]); the server
//! drops any left over when it starts.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use pgwire::api::{
    CreateSlotRequest, CreatedSlot, ReplicationHandler, ReplicationStream, Session, SlotKind,
    SlotStatus, SnapshotAction, StartReplicationRequest, SystemIdentity, WalWriter,
};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::messages::TransactionStatus;
use pgwire::replication::pgoutput::{
    AbortPosition, Begin, ChangeShape, Commit, LogicalDecodingMessage, OldTupleKind, Relation,
    RelationColumn, ReplicaIdentity, StreamAbort, StreamCommit, StreamStart, Truncate, TupleRole,
    put_change_with,
};
use pgwire::replication::pgoutput_options::{PgOutputOptions, Streaming};
use pgwire::replication::timestamp::pg_timestamp_now;
use pgwire::replication::{
    HotStandbyFeedback, Lsn, PgOutputMessage, StandbyStatusUpdate, TupleWriter,
};
use pgwire::types::Type;
use rusqlite::{Connection, OptionalExtension};
use tokio::sync::watch;

use super::SqliteSession;
use super::engine::Engine;
use super::errors::from_sqlite;
use super::json_row::Scalar;
use super::live_changes;
use super::publisher;

const BASE: u64 = 0x0100_0000;
const STEP: u64 = 0x100;
/// Changes read from the log at a time.
const FETCH_ROWS: usize = 1000;

/// The LSN of change `seq` of the log.
pub fn seq_lsn(seq: i64) -> u64 {
    BASE + u64::try_from(seq).unwrap_or(0) * STEP
}

fn commit_lsn(last_seq: i64) -> u64 {
    seq_lsn(last_seq) + 0x80
}

fn end_lsn(last_seq: i64) -> u64 {
    seq_lsn(last_seq) + 0x88
}

/// The end of the log: after the last change ever numbered.
fn log_end(conn: &Connection) -> rusqlite::Result<u64> {
    let seq: Option<i64> = conn
        .query_row(
            "SELECT seq FROM main.sqlite_sequence WHERE name = '_pgwire_changes'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(seq_lsn(seq.unwrap_or(0)) + STEP)
}

/// Slots being streamed from, by name: the streaming session's process ID.
fn active() -> &'static Mutex<HashMap<SlotKey, i32>> {
    static ACTIVE: OnceLock<Mutex<HashMap<SlotKey, i32>>> = OnceLock::new();
    ACTIVE.get_or_init(Mutex::default)
}

/// A slot in the registry: its database (several servers may run in one
/// process, each with its own slots) and its name.
type SlotKey = (std::path::PathBuf, String);

fn slot_key(db: &Path, name: &str) -> SlotKey {
    (
        std::fs::canonicalize(db).unwrap_or_else(|_| db.to_owned()),
        name.to_owned(),
    )
}

/// The slots of database `db` being streamed from (or held by their
/// session), and by which session.
pub fn active_slots(db: &Path) -> Vec<(String, i32)> {
    let (db, _) = slot_key(db, "");
    active()
        .lock()
        .map(|m| {
            m.iter()
                .filter(|((d, _), _)| *d == db)
                .map(|((_, name), pid)| (name.clone(), *pid))
                .collect()
        })
        .unwrap_or_default()
}

/// Marks a slot in use while it lives.
struct ActiveSlot {
    key: SlotKey,
    /// Released on drop; `false` for a temporary slot, which its session
    /// holds as long as it lives ([`TempSlots`]).
    release: bool,
}

impl ActiveSlot {
    fn acquire(db: &Path, name: &str, pid: i32) -> Result<ActiveSlot, ErrorInfo> {
        let key = slot_key(db, name);
        let mut map = active()
            .lock()
            .map_err(|_| internal("slot registry poisoned"))?;
        match map.get(&key) {
            // The session's own temporary slot.
            Some(&owner) if owner == pid => {
                return Ok(ActiveSlot {
                    key,
                    release: false,
                });
            }
            Some(&other) => return Err(slot_active(name, other)),
            None => {}
        }
        map.insert(key.clone(), pid);
        Ok(ActiveSlot { key, release: true })
    }
}

impl Drop for ActiveSlot {
    fn drop(&mut self) {
        if !self.release {
            return;
        }
        if let Ok(mut m) = active().lock() {
            m.remove(&self.key);
        }
    }
}

/// The temporary slots of a session (`CREATE_REPLICATION_SLOT ...
/// TEMPORARY`, `pg_create_logical_replication_slot(..., true)`): in use by
/// the session from their creation (another session gets 55006, as in
/// PostgreSQL) and dropped when it ends.
#[derive(Debug, Default)]
pub struct TempSlots {
    path: Option<std::path::PathBuf>,
    names: Vec<String>,
}

impl TempSlots {
    /// Holds the just-created temporary slot `name` for session `pid`.
    pub fn hold(&mut self, path: &Path, name: &str, pid: i32) {
        if let Ok(mut m) = active().lock() {
            m.insert(slot_key(path, name), pid);
        }
        self.path = Some(path.to_owned());
        self.names.push(name.to_owned());
    }

    /// Lets go of `name` (dropped by the session itself).
    pub fn forget(&mut self, name: &str) {
        let Some(path) = &self.path else {
            return;
        };
        if let Some(i) = self.names.iter().position(|n| n == name) {
            self.names.swap_remove(i);
            if let Ok(mut m) = active().lock() {
                m.remove(&slot_key(path, name));
            }
        }
    }
}

impl Drop for TempSlots {
    fn drop(&mut self) {
        let (Some(path), false) = (self.path.take(), self.names.is_empty()) else {
            return;
        };
        let names = std::mem::take(&mut self.names);
        let drop_all = move || {
            let dropped = Connection::open(&path).and_then(|conn| {
                conn.busy_timeout(super::engine::BUSY_TIMEOUT)?;
                for name in &names {
                    conn.execute(
                        "DELETE FROM _pgwire_replication_slots WHERE slot_name = ?1 AND temporary",
                        [name],
                    )?;
                }
                prune(&conn)
            });
            if let Err(e) = dropped {
                tracing::warn!(error = %e, "temporary replication slots not dropped");
            }
            if let Ok(mut m) = active().lock() {
                for name in &names {
                    m.remove(&slot_key(&path, name));
                }
            }
            tracing::info!(slots = ?names, "temporary replication slots dropped");
        };
        // Off the async worker threads: the delete may wait for a lock.
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(drop_all)),
            Err(_) => drop_all(),
        }
    }
}

fn internal(msg: &str) -> ErrorInfo {
    ErrorInfo::new(SqlState::INTERNAL_ERROR, msg.to_owned())
}

fn slot_active(name: &str, pid: i32) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::OBJECT_IN_USE,
        format!("replication slot \"{name}\" is active for PID {pid}"),
    )
}

fn slot_missing(name: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::UNDEFINED_OBJECT,
        format!("replication slot \"{name}\" does not exist"),
    )
}

/// PostgreSQL's rules for slot names.
fn check_slot_name(name: &str) -> Result<(), ErrorInfo> {
    if name.is_empty() {
        return Err(ErrorInfo::new(
            SqlState::INVALID_NAME,
            format!("replication slot name \"{name}\" is too short"),
        ));
    }
    if name.len() > 63 {
        return Err(ErrorInfo::new(
            SqlState::NAME_TOO_LONG,
            format!("replication slot name \"{name}\" is too long"),
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(ErrorInfo::new(
            SqlState::INVALID_NAME,
            format!("replication slot name \"{name}\" contains invalid character"),
        )
        .with_hint(
            "Replication slot names may only contain lower case letters, numbers, and the underscore character.",
        ));
    }
    Ok(())
}

/// Runs `f` on a connection of its own (outside the session's
/// transaction: a slot exists whatever the session's transaction does).
async fn with_own_connection<R: Send + 'static>(
    path: &Path,
    f: impl FnOnce(&Connection) -> Result<R, ErrorInfo> + Send + 'static,
) -> Result<R, ErrorInfo> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let conn = Connection::open(&path).map_err(|e| from_sqlite(&e))?;
        conn.busy_timeout(super::engine::BUSY_TIMEOUT)
            .map_err(|e| from_sqlite(&e))?;
        f(&conn)
    })
    .await
    .map_err(|_| internal("slot task failed"))?
}

/// PostgreSQL refuses to create a logical slot in a transaction that has
/// written (25001); here the slot's row, written on a connection of its
/// own, would also wait for the session's own write lock.
pub async fn check_no_writes(engine: &Engine) -> Result<(), ErrorInfo> {
    let writing = engine
        .call(None, |db| wrote_in_transaction(&db.conn))
        .await?;
    if writing {
        return Err(ErrorInfo::new(
            SqlState::ACTIVE_SQL_TRANSACTION,
            "cannot create logical replication slot in transaction that has performed writes",
        ));
    }
    Ok(())
}

fn wrote_in_transaction(conn: &Connection) -> bool {
    // SAFETY: the handle is this live connection's, used on its own
    // thread; sqlite3_txn_state only reads the connection's state.
    unsafe {
        rusqlite::ffi::sqlite3_txn_state(conn.handle(), c"main".as_ptr())
            == rusqlite::ffi::SQLITE_TXN_WRITE
    }
}

/// Creates logical slot `name` at `at` (or the end of the log); a
/// temporary one when `temporary_owner` is the creating session's process
/// ID (the caller then holds it in its [`TempSlots`]).
pub async fn create_slot(
    path: &Path,
    name: &str,
    plugin: &str,
    two_phase: bool,
    at: Option<u64>,
    temporary_owner: Option<i32>,
) -> Result<Lsn, ErrorInfo> {
    check_slot_name(name)?;
    if plugin != "pgoutput" {
        return Err(ErrorInfo::new(
            SqlState::UNDEFINED_FILE,
            format!("could not access file \"{plugin}\": No such file or directory"),
        ));
    }
    let (name, plugin) = (name.to_owned(), plugin.to_owned());
    with_own_connection(path, move |conn| {
        let at = match at {
            Some(at) => at,
            None => log_end(conn).map_err(|e| from_sqlite(&e))?,
        };
        let inserted = conn
            .execute(
                "INSERT OR IGNORE INTO _pgwire_replication_slots \
                 (slot_name, plugin, two_phase, confirmed_lsn, temporary) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![
                    name,
                    plugin,
                    two_phase,
                    at as i64,
                    temporary_owner.is_some()
                ],
            )
            .map_err(|e| from_sqlite(&e))?;
        if inserted == 0 {
            return Err(ErrorInfo::new(
                SqlState::DUPLICATE_OBJECT,
                format!("replication slot \"{name}\" already exists"),
            ));
        }
        tracing::info!(slot = name, lsn = %Lsn(at), "replication slot created");
        Ok(Lsn(at))
    })
    .await
}

/// Drops slot `name`; with `wait`, waits (up to a minute) for a session
/// streaming from it to stop. Session `own_pid` may drop its own
/// temporary slot.
pub async fn drop_slot(
    path: &Path,
    name: &str,
    wait: bool,
    own_pid: Option<i32>,
) -> Result<(), ErrorInfo> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let key = slot_key(path, name);
        let user = active().lock().ok().and_then(|m| m.get(&key).copied());
        match user {
            Some(pid) if Some(pid) == own_pid => break,
            Some(pid) if !wait || tokio::time::Instant::now() >= deadline => {
                return Err(slot_active(name, pid));
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            None => break,
        }
    }
    let name = name.to_owned();
    with_own_connection(path, move |conn| {
        let n = conn
            .execute(
                "DELETE FROM _pgwire_replication_slots WHERE slot_name = ?1",
                [&name],
            )
            .map_err(|e| from_sqlite(&e))?;
        if n == 0 {
            return Err(slot_missing(&name));
        }
        prune(conn).map_err(|e| from_sqlite(&e))?;
        tracing::info!(slot = name, "replication slot dropped");
        Ok(())
    })
    .await
}

/// Deletes the transactions every slot has confirmed (all of them when
/// there is no slot).
fn prune(conn: &Connection) -> rusqlite::Result<()> {
    let min: Option<i64> = conn.query_row(
        "SELECT min(confirmed_lsn) FROM _pgwire_replication_slots",
        [],
        |r| r.get(0),
    )?;
    let Some(min) = min else {
        conn.execute("DELETE FROM _pgwire_changes", [])?;
        return Ok(());
    };
    // Changes whose transaction ended at or before `min`.
    let done = (min as u64).saturating_sub(BASE + 0x88) / STEP;
    if (min as u64) < BASE + 0x88 {
        return Ok(());
    }
    conn.execute(
        "DELETE FROM _pgwire_changes WHERE xid IN \
         (SELECT xid FROM _pgwire_changes GROUP BY xid HAVING max(seq) <= ?1)",
        [done as i64],
    )?;
    Ok(())
}

/// The slot's plugin and confirmed position.
fn read_slot_row(conn: &Connection, name: &str) -> rusqlite::Result<Option<(String, u64)>> {
    conn.query_row(
        "SELECT plugin, confirmed_lsn FROM _pgwire_replication_slots WHERE slot_name = ?1",
        [name],
        |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
    )
    .optional()
}

/// A stable system identifier for the database file.
fn system_id(path: &Path) -> String {
    // FNV-1a of the path: the same for every connection and restart.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.to_string_lossy().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 1).to_string()
}

impl ReplicationHandler for SqliteSession {
    type Stream = ChangeStream;

    async fn identify_system(
        &mut self,
        session: &mut Session,
    ) -> Result<SystemIdentity, ErrorInfo> {
        let end = with_own_connection(&self.db_path, |conn| {
            log_end(conn).map_err(|e| from_sqlite(&e))
        })
        .await?;
        Ok(SystemIdentity {
            system_id: system_id(&self.db_path),
            timeline: 1,
            xlog_pos: Lsn(end),
            database: Some(session.client().database().to_owned()),
        })
    }

    async fn show(&mut self, session: &mut Session, name: &str) -> Result<String, ErrorInfo> {
        match session.parameter(name) {
            Some(v) => Ok(v.to_owned()),
            // What replication clients ask (pg_recvlogical, pg_basebackup).
            None if name.eq_ignore_ascii_case("wal_segment_size") => Ok("16MB".into()),
            None if name.eq_ignore_ascii_case("data_directory_mode") => Ok("0700".into()),
            None => Err(ErrorInfo::new(
                SqlState::UNDEFINED_OBJECT,
                format!("unrecognized configuration parameter \"{name}\""),
            )),
        }
    }

    async fn create_slot(
        &mut self,
        session: &mut Session,
        request: &CreateSlotRequest,
    ) -> Result<CreatedSlot, ErrorInfo> {
        let SlotKind::Logical { plugin } = &request.kind else {
            return Err(ErrorInfo::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "physical replication slots are not supported by this server",
            ));
        };
        // USE_SNAPSHOT: the slot starts where the session's transaction
        // sees the log end, so that transaction's reads (a table sync's
        // COPY) and the changes streamed from the slot meet exactly.
        let at = if request.snapshot == SnapshotAction::Use
            && session.transaction_status() == TransactionStatus::InTransaction
        {
            let end = self
                .engine
                .call(None, |db| log_end(&db.conn).map_err(|e| db.error(&e)))
                .await??;
            Some(end)
        } else {
            None
        };
        check_no_writes(&self.engine).await?;
        let pid = session.client().process_id();
        let owner = request.temporary.then_some(pid);
        let lsn = create_slot(
            &self.db_path,
            &request.name,
            plugin,
            request.two_phase,
            at,
            owner,
        )
        .await?;
        if request.temporary {
            self.temp_slots.hold(&self.db_path, &request.name, pid);
        }
        Ok(CreatedSlot {
            consistent_point: lsn,
            snapshot_name: None,
        })
    }

    async fn drop_slot(
        &mut self,
        session: &mut Session,
        name: &str,
        wait: bool,
    ) -> Result<(), ErrorInfo> {
        let own = session.client().process_id();
        drop_slot(&self.db_path, name, wait, Some(own)).await?;
        self.temp_slots.forget(name);
        Ok(())
    }

    async fn read_slot(
        &mut self,
        _session: &mut Session,
        name: &str,
    ) -> Result<Option<SlotStatus>, ErrorInfo> {
        let name = name.to_owned();
        let row = with_own_connection(&self.db_path, move |conn| {
            read_slot_row(conn, &name).map_err(|e| from_sqlite(&e))
        })
        .await?;
        Ok(row.map(|(_, lsn)| SlotStatus {
            slot_type: "logical".into(),
            restart_lsn: Some(Lsn(lsn)),
            restart_timeline: Some(1),
        }))
    }

    async fn start_replication(
        &mut self,
        session: &mut Session,
        request: &StartReplicationRequest,
    ) -> Result<ChangeStream, ErrorInfo> {
        if !request.logical {
            return Err(ErrorInfo::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "physical replication is not supported by this server",
            ));
        }
        let slot = request.slot.clone().unwrap_or_default();
        // pgoutput's options, checked as PostgreSQL's pgoutput does.
        let options = PgOutputOptions::parse(&request.options).map_err(|e| {
            let code =
                SqlState::try_from_code(e.sql_state).unwrap_or(SqlState::INVALID_PARAMETER_VALUE);
            ErrorInfo::new(code, e.message)
        })?;
        let format = Format {
            binary: options.binary,
            messages: options.messages,
            // PgOutputOptions::parse refused streaming below protocol 2.
            streaming: options.streaming != Streaming::Off,
            abort_info: options.proto_version >= 4 && options.streaming == Streaming::Parallel,
        };
        let names = options.publication_names;
        let guard = ActiveSlot::acquire(&self.db_path, &slot, session.client().process_id())?;
        let (slot_name, pubs) = (slot.clone(), names.clone());
        let (confirmed, end, set) = self
            .engine
            .call(None, move |db| {
                let row = read_slot_row(&db.conn, &slot_name).map_err(|e| db.error(&e))?;
                let Some((plugin, confirmed)) = row else {
                    return Err(slot_missing(&slot_name));
                };
                if plugin != "pgoutput" {
                    return Err(ErrorInfo::new(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        format!("replication slot \"{slot_name}\" uses plugin \"{plugin}\""),
                    ));
                }
                let set = publisher::load_publications(&db.conn, &pubs)?;
                let end = log_end(&db.conn).map_err(|e| db.error(&e))?;
                Ok((confirmed, end, set))
            })
            .await??;
        let start = request.start.0.max(confirmed);
        // First transaction not yet confirmed: changes after `start`.
        let position = if start >= BASE + 0x88 {
            ((start - BASE - 0x88) / STEP) as i64
        } else {
            0
        };
        let _ = set;
        Ok(ChangeStream {
            engine: self.engine.clone(),
            slot,
            _guard: guard,
            publications: names,
            position,
            start,
            confirmed,
            wal_end: end,
            sent: start,
            caught_up_to: None,
            queue: VecDeque::new(),
            open: None,
            reading: None,
            relations: HashMap::new(),
            described: HashMap::new(),
            format,
            streamed: None,
            live_interest: format.streaming.then(live_changes::Interest::register),
            live: None,
            live_queue: VecDeque::new(),
            live_abort: false,
            live_skip: None,
            signal: publisher::changes_signal().subscribe(),
        })
    }
}

/// What the client asked `pgoutput` for.
#[derive(Debug, Clone, Copy)]
struct Format {
    /// `binary 'true'`: values in binary format.
    binary: bool,
    /// `messages 'true'`: logical decoding messages.
    messages: bool,
    /// `streaming 'on'` (protocol 2+): large transactions in blocks.
    streaming: bool,
    /// Stream Abort carries the abort LSN and time (protocol 4,
    /// `streaming 'parallel'`).
    abort_info: bool,
}

/// How far a transaction in progress was streamed.
#[derive(Debug, Clone, Copy)]
struct LiveCursor {
    xid: u32,
    /// Its rows up to this position were taken from the registry.
    upto: i64,
}

/// A transaction of at least this many logged changes is streamed
/// (Stream Start / Stop / Commit) to a client that asked for streaming:
/// PostgreSQL streams when `logical_decoding_work_mem` fills.
const STREAM_THRESHOLD: i64 = 1000;
/// Changes per Stream Start ... Stream Stop block.
const STREAM_BLOCK: usize = 500;

/// The streamed transaction being written.
#[derive(Debug)]
struct Streamed {
    xid: u32,
    /// Between Stream Start and Stream Stop.
    in_block: bool,
    /// Changes written in the current block.
    block_changes: usize,
    /// Tables described inside this transaction: a subscriber forgets
    /// them if it aborts, so they count as sent only once it commits (as
    /// PostgreSQL's pgoutput).
    described: HashMap<String, TableInfo>,
}

/// A column of a published table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ColumnInfo {
    name: String,
    ty: Type,
    typmod: i32,
    key: bool,
}

/// A published table as the stream describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TableInfo {
    oid: u32,
    columns: Vec<ColumnInfo>,
    /// Has a primary key (REPLICA IDENTITY DEFAULT); FULL otherwise.
    keyed: bool,
}

/// One change read from the log, values in PostgreSQL's text format.
#[derive(Debug)]
struct Change {
    seq: i64,
    /// The table (the prefix of a message).
    rel: String,
    /// `I`, `U`, `D`, `T`, or `M` / `m` for a (non-)transactional message.
    op: char,
    old: Option<Vec<Option<String>>>,
    new: Option<Vec<Option<String>>>,
    /// A message's content.
    content: Vec<u8>,
}

/// A change read from the log, with where its transaction ends.
#[derive(Debug)]
struct Queued {
    xid: u32,
    seq: i64,
    /// The last change of its transaction (committed: all are visible).
    tx_last: i64,
    /// Its transaction's commit time (microseconds since 2000-01-01).
    commit_time: i64,
    /// The change, `None` when no requested publication publishes it (kept
    /// only to end its transaction).
    change: Option<Change>,
}

/// What one read of the log brought.
struct Fetched {
    rows: Vec<Queued>,
    /// The last change read (published or not), its transaction, that
    /// transaction's last change and commit time.
    last: Option<(i64, TxEnd)>,
    tables: HashMap<String, TableInfo>,
    end: u64,
    more: bool,
}

/// Where a transaction ends: its id, its last change and its commit time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TxEnd {
    xid: u32,
    last: i64,
    commit_time: i64,
}

/// The stream of one START_REPLICATION. It holds at most one read of the
/// log ([`FETCH_ROWS`] changes) at a time, however large a transaction:
/// a transaction's end is looked up when it starts, so its Begin can say
/// where and when it commits before all its changes are read.
pub struct ChangeStream {
    engine: Engine,
    slot: String,
    _guard: ActiveSlot,
    publications: Vec<String>,
    /// The last change read from the log.
    position: i64,
    /// Transactions that end at or before this were confirmed.
    start: u64,
    confirmed: u64,
    wal_end: u64,
    /// Every transaction ending before this was written (or skipped).
    sent: u64,
    /// The end of the log at the last read, if that read reached it.
    caught_up_to: Option<u64>,
    /// Changes read and not yet written.
    queue: VecDeque<Queued>,
    /// The transaction whose Begin (or first Stream Start) was written and
    /// Commit not yet.
    open: Option<u32>,
    /// The last transaction read, and where it ends.
    reading: Option<TxEnd>,
    relations: HashMap<String, TableInfo>,
    /// The table descriptions sent (Relation messages), by table.
    described: HashMap<String, TableInfo>,
    format: Format,
    /// The open transaction, when it is streamed.
    streamed: Option<Streamed>,
    /// Rows of transactions in progress are recorded while this lives
    /// (streaming clients only).
    live_interest: Option<live_changes::Interest>,
    /// The transaction in progress being streamed.
    live: Option<LiveCursor>,
    /// Its rows read and not yet written.
    live_queue: VecDeque<Queued>,
    /// It rolled back (or a savepoint rollback took back rows sent): a
    /// Stream Abort is due.
    live_abort: bool,
    /// A transaction not to stream in progress again (aborted after a
    /// savepoint rollback; it goes whole from the log once committed).
    live_skip: Option<u32>,
    signal: watch::Receiver<u64>,
}

/// A change log row: seq, xid, table, operation, old row, new row, time.
type LogRow = (
    i64,
    u32,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
);

/// Reads up to [`FETCH_ROWS`] changes after `position`, with the tables
/// they touch, filtered by publications `names` (and messages, if asked
/// for). `reading` is the transaction the previous read ended in.
fn fetch(
    conn: &Connection,
    position: i64,
    names: &[String],
    messages: bool,
    reading: Option<TxEnd>,
) -> Result<Fetched, ErrorInfo> {
    let sql_error = |e: rusqlite::Error| from_sqlite(&e);
    let publications = publisher::load_publications(conn, names)?;
    let end = log_end(conn).map_err(sql_error)?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, xid, rel, op, old, new, ts FROM _pgwire_changes WHERE seq > ?1 \
             ORDER BY seq LIMIT ?2",
        )
        .map_err(sql_error)?;
    let raw: Vec<LogRow> = stmt
        .query_map(rusqlite::params![position, FETCH_ROWS as i64], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .and_then(|rows| rows.collect())
        .map_err(sql_error)?;
    let more = raw.len() == FETCH_ROWS;
    // A transaction commits at its last row: a block's commit record, or
    // the last change of a statement outside a block (SQLite commits it
    // as the statement ends). Rows logged before commit times were
    // recorded have no time: now, then.
    let time = |ts: Option<i64>| ts.unwrap_or_else(pg_timestamp_now);
    // Where each transaction ends: at the next row of another one, or
    // (for the last one of a full read) at its last row in the log.
    let mut ends: Vec<TxEnd> = Vec::with_capacity(raw.len());
    ends.resize(
        raw.len(),
        TxEnd {
            xid: 0,
            last: 0,
            commit_time: 0,
        },
    );
    let mut i = raw.len();
    while i > 0 {
        let xid = raw[i - 1].1;
        let mut j = i;
        while j > 0 && raw[j - 1].1 == xid {
            j -= 1;
        }
        let tx_end = if i == raw.len() && more {
            match reading {
                Some(r) if r.xid == xid => r,
                _ => {
                    let found = conn
                        .query_row(
                            "SELECT seq, ts FROM _pgwire_changes WHERE seq > ?1 AND xid = ?2 \
                             ORDER BY seq DESC LIMIT 1",
                            rusqlite::params![raw[i - 1].0, xid],
                            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)),
                        )
                        .optional()
                        .map_err(sql_error)?;
                    let (last, ts) = found.unwrap_or((raw[i - 1].0, raw[i - 1].6));
                    TxEnd {
                        xid,
                        last,
                        commit_time: time(ts),
                    }
                }
            }
        } else {
            TxEnd {
                xid,
                last: raw[i - 1].0,
                commit_time: time(raw[i - 1].6),
            }
        };
        ends[j..i].fill(tx_end);
        i = j;
    }
    let last = raw.last().zip(ends.last()).map(|(r, &e)| (r.0, e));
    let mut tables: HashMap<String, TableInfo> = HashMap::new();
    let mut rows = Vec::with_capacity(raw.len());
    for ((seq, xid, rel, op, old, new, _), tx_end) in raw.into_iter().zip(ends) {
        let op = op.chars().next().unwrap_or('?');
        let published = describe_and_filter(conn, &mut tables, &publications, messages, &rel, op)?;
        if published != Some(true) && seq != tx_end.last {
            continue;
        }
        let change = if published == Some(true) {
            Some(to_change(&tables, seq, rel, op, old, new)?)
        } else {
            None
        };
        rows.push(Queued {
            xid,
            seq,
            tx_last: tx_end.last,
            commit_time: tx_end.commit_time,
            change,
        });
    }
    Ok(Fetched {
        rows,
        last,
        tables,
        end,
        more,
    })
}

/// Whether a logged row is published: `Some(true)` if so, `Some(false)`
/// if not, `None` if its table is unknown (dropped since, or created by a
/// transaction not committed yet). Loads the table's description into
/// `tables`.
fn describe_and_filter(
    conn: &Connection,
    tables: &mut HashMap<String, TableInfo>,
    publications: &publisher::PublicationSet,
    messages: bool,
    rel: &str,
    op: char,
) -> Result<Option<bool>, ErrorInfo> {
    match op {
        'M' | 'm' => Ok(Some(messages)),
        'I' | 'U' | 'D' | 'T' => {
            if !tables.contains_key(rel) {
                match table_info(conn, rel).map_err(|e| from_sqlite(&e))? {
                    Some(info) => {
                        tables.insert(rel.to_owned(), info);
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some(publications.publishes(rel, &op.to_string())))
        }
        // Commit records.
        _ => Ok(Some(false)),
    }
}

/// A published row of the log, its values read.
fn to_change(
    tables: &HashMap<String, TableInfo>,
    seq: i64,
    rel: String,
    op: char,
    old: Option<String>,
    new: Option<String>,
) -> Result<Change, ErrorInfo> {
    if matches!(op, 'M' | 'm') {
        let content = new.as_deref().and_then(unhex).unwrap_or_default();
        return Ok(Change {
            seq,
            rel,
            op,
            old: None,
            new: None,
            content,
        });
    }
    let types: Vec<Type> = tables
        .get(&rel)
        .map(|t| t.columns.iter().map(|c| c.ty.clone()).collect())
        .unwrap_or_default();
    let decode = |json: Option<String>| match json {
        Some(j) => values(&j, &types)
            .map(Some)
            .ok_or_else(|| internal("unreadable change log row")),
        None => Ok(None),
    };
    Ok(Change {
        seq,
        rel,
        op,
        old: decode(old)?,
        new: decode(new)?,
        content: Vec::new(),
    })
}

/// What [`decode_live`] gives: the rows to write, the tables they
/// touch, and the position of the last row taken.
type LiveDecoded = (Vec<Queued>, HashMap<String, TableInfo>, Option<i64>);

/// Rows of a transaction in progress as the stream queues them, up to
/// the first whose table is not known yet; and the position of the last
/// row taken.
fn decode_live(
    conn: &Connection,
    names: &[String],
    messages: bool,
    xid: u32,
    rows: Vec<live_changes::LiveRow>,
) -> Result<LiveDecoded, ErrorInfo> {
    let publications = publisher::load_publications(conn, names)?;
    let mut tables = HashMap::new();
    let mut queued = Vec::with_capacity(rows.len());
    let mut taken = None;
    for row in rows {
        let op = row.op.chars().next().unwrap_or('?');
        let published =
            describe_and_filter(conn, &mut tables, &publications, messages, &row.rel, op)?;
        match published {
            // Its table is not committed yet: wait for the commit.
            None => break,
            Some(false) => {}
            Some(true) => queued.push(Queued {
                xid,
                seq: row.seq,
                // Not known before the commit; never reached.
                tx_last: i64::MAX,
                commit_time: 0,
                change: Some(to_change(&tables, row.seq, row.rel, op, row.old, row.new)?),
            }),
        }
        taken = Some(row.seq);
    }
    Ok((queued, tables, taken))
}

/// Bytes from lower-case hex (a message's content in the log).
fn unhex(hex: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(digit(*hi)? << 4 | digit(*lo)?),
            _ => None,
        })
        .collect()
}

/// A table's OID and columns (`None` if it no longer exists).
fn table_info(conn: &Connection, table: &str) -> rusqlite::Result<Option<TableInfo>> {
    let rowid: Option<i64> = conn
        .query_row(
            "SELECT rowid FROM main.sqlite_schema WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .optional()?;
    let Some(rowid) = rowid else {
        return Ok(None);
    };
    let oid = u32::try_from(rowid)
        .ok()
        .and_then(|r| r.checked_mul(pgwire::catalog::OID_SPAN))
        .and_then(|r| r.checked_add(16_384))
        .unwrap_or(16_384);
    let mut stmt = conn.prepare("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid")?;
    let columns: Vec<ColumnInfo> = stmt
        .query_map([table], |r| {
            let decl: String = r.get(1)?;
            let ty = super::types::pg_type_for_decl(&decl);
            Ok(ColumnInfo {
                name: r.get(0)?,
                ty: ty.ty,
                typmod: ty.typmod,
                key: r.get::<_, i64>(2)? > 0,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let keyed = columns.iter().any(|c| c.key);
    Ok(Some(TableInfo {
        oid,
        columns,
        keyed,
    }))
}

/// A logged row (JSON array) as PostgreSQL text values of `types`.
fn values(json: &str, types: &[Type]) -> Option<Vec<Option<String>>> {
    let row = super::json_row::parse(json)?;
    Some(
        row.into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Scalar::Null => None,
                Scalar::Int(n) if types.get(i) == Some(&Type::BOOL) => {
                    Some(if n != 0 { "t" } else { "f" }.to_owned())
                }
                Scalar::Int(n) => Some(n.to_string()),
                Scalar::Real(f) if f.is_nan() => Some("NaN".to_owned()),
                Scalar::Real(f) if f.is_infinite() => {
                    Some(if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned())
                }
                Scalar::Real(f) => Some(f.to_string()),
                Scalar::Text(t) => Some(t.into_owned()),
            })
            .collect(),
    )
}

/// Writes a row's values into a tuple being encoded: text, or binary
/// with the library's encoders (`binary 'true'`); columns `keep` refuses
/// are sent as NULL (the non-key columns of an old key). A value the
/// binary encoder does not take (SQLite accepts anything in any column)
/// goes as text, as PostgreSQL sends types without a binary form.
fn put_values(
    row: &mut TupleWriter<'_>,
    values: &[Option<String>],
    columns: &[ColumnInfo],
    binary: bool,
    keep: impl Fn(usize) -> bool,
) {
    for (i, v) in values.iter().enumerate() {
        match (v, columns.get(i)) {
            (Some(s), Some(c)) if keep(i) && binary => {
                if row
                    .binary_with(|b| pgwire::types::text::text_to_binary(&c.ty, s, b))
                    .is_err()
                {
                    row.text(s.as_bytes());
                }
            }
            (Some(s), _) if keep(i) => row.text(s.as_bytes()),
            _ => row.null(),
        }
    }
}

impl ChangeStream {
    /// Queues a read of the log.
    fn absorb(&mut self, fetched: Fetched) {
        self.wal_end = self.wal_end.max(fetched.end);
        self.caught_up_to = (!fetched.more).then_some(fetched.end);
        self.relations.extend(fetched.tables);
        if let Some((seq, tx_end)) = fetched.last {
            self.position = self.position.max(seq);
            self.reading = Some(tx_end);
        }
        for row in fetched.rows {
            // Confirmed before (a restart): skipped.
            if commit_lsn(row.tx_last) >= self.start {
                self.queue.push_back(row);
            }
        }
    }

    /// Reads rows of the transaction in progress (a large one, or the one
    /// being streamed); whether there is something to write.
    async fn read_live(&mut self) -> Result<bool, ErrorInfo> {
        if self.open.is_some() && self.live.is_none() {
            return Ok(false);
        }
        let (xid, after) = match self.live {
            Some(c) => (Some(c.xid), c.upto),
            None => (None, 0),
        };
        let threshold = usize::try_from(STREAM_THRESHOLD).unwrap_or(usize::MAX);
        let Some(read) = live_changes::read(xid, threshold, after, FETCH_ROWS) else {
            // Ended: committed (its rows come from the log) or rolled back.
            if let Some(c) = self.live {
                if live_changes::ended(c.xid).is_some_and(|e| !e.committed) {
                    self.live_abort = true;
                    return Ok(true);
                }
            }
            return Ok(false);
        };
        if Some(read.xid) == self.live_skip {
            return Ok(false);
        }
        if self.live.is_some() && read.rolled_back_from.is_some_and(|from| from <= after) {
            // Rows it sent were taken back.
            self.live_abort = true;
            self.live_skip = Some(read.xid);
            return Ok(true);
        }
        if read.rows.is_empty() {
            return Ok(false);
        }
        let (names, messages, live_xid) =
            (self.publications.clone(), self.format.messages, read.xid);
        let rows = read.rows;
        let (queued, tables, taken) = self
            .engine
            .call(None, move |db| {
                decode_live(&db.conn, &names, messages, live_xid, rows)
            })
            .await??;
        self.relations.extend(tables);
        let Some(upto) = taken else {
            return Ok(false);
        };
        self.live = Some(LiveCursor {
            xid: live_xid,
            upto,
        });
        self.live_queue.extend(queued);
        Ok(!self.live_queue.is_empty())
    }

    /// Ends the transaction streamed in progress with a Stream Abort.
    fn abort_live(&mut self, out: &mut WalWriter<'_>) {
        self.live_abort = false;
        self.live_queue.clear();
        let Some(cursor) = self.live.take() else {
            return;
        };
        let at = Lsn(seq_lsn(cursor.upto));
        if let Some(s) = self.streamed.take() {
            if s.in_block {
                out.pgoutput(at, &PgOutputMessage::StreamStop);
            }
            let abort = StreamAbort {
                xid: s.xid,
                subxid: s.xid,
                abort: self.format.abort_info.then(|| AbortPosition {
                    lsn: at,
                    time: pg_timestamp_now(),
                }),
            };
            out.pgoutput(at, &PgOutputMessage::StreamAbort(abort));
        }
        if self.open == Some(cursor.xid) {
            self.open = None;
        }
    }

    /// The transaction id streamed messages carry (inside a streamed
    /// transaction only).
    fn stream_xid(&self) -> Option<u32> {
        self.streamed.as_ref().map(|s| s.xid)
    }

    /// Opens transaction `xid` at its first published change `seq`: a
    /// Begin, or, when it is large and the client streams, a first
    /// Stream Start.
    fn begin(&mut self, out: &mut WalWriter<'_>, row: &Queued) {
        let at = Lsn(seq_lsn(row.seq));
        if self.format.streaming && row.tx_last.saturating_sub(row.seq) + 1 >= STREAM_THRESHOLD {
            let start = StreamStart {
                xid: row.xid,
                first_segment: true,
            };
            out.pgoutput(at, &PgOutputMessage::StreamStart(start));
            self.streamed = Some(Streamed {
                xid: row.xid,
                in_block: true,
                block_changes: 0,
                described: HashMap::new(),
            });
        } else {
            let begin = PgOutputMessage::Begin(Begin {
                final_lsn: Lsn(commit_lsn(row.tx_last)),
                commit_time: row.commit_time,
                xid: row.xid,
            });
            out.pgoutput(at, &begin);
        }
        self.open = Some(row.xid);
    }

    /// In a streamed transaction, opens a block before a change if none
    /// is open.
    fn before_change(&mut self, out: &mut WalWriter<'_>, seq: i64) {
        if let Some(s) = self.streamed.as_mut().filter(|s| !s.in_block) {
            let start = StreamStart {
                xid: s.xid,
                first_segment: false,
            };
            out.pgoutput(Lsn(seq_lsn(seq)), &PgOutputMessage::StreamStart(start));
            s.in_block = true;
            s.block_changes = 0;
        }
    }

    /// In a streamed transaction, closes a full block after a change.
    fn after_change(&mut self, out: &mut WalWriter<'_>, seq: i64) {
        if let Some(s) = self.streamed.as_mut() {
            s.block_changes += 1;
            if s.block_changes >= STREAM_BLOCK {
                out.pgoutput(Lsn(seq_lsn(seq)), &PgOutputMessage::StreamStop);
                s.in_block = false;
            }
        }
    }

    /// In a streamed transaction, closes the open block.
    fn stop_block(&mut self, out: &mut WalWriter<'_>, seq: i64) {
        if let Some(s) = self.streamed.as_mut().filter(|s| s.in_block) {
            out.pgoutput(Lsn(seq_lsn(seq)), &PgOutputMessage::StreamStop);
            s.in_block = false;
        }
    }

    /// Ends the open transaction: Commit, or Stream Stop (if a block is
    /// open) and Stream Commit.
    fn commit(&mut self, out: &mut WalWriter<'_>, row: &Queued) {
        let (commit_at, end_at) = (Lsn(commit_lsn(row.tx_last)), Lsn(end_lsn(row.tx_last)));
        match self.streamed.take() {
            Some(s) => {
                if s.in_block {
                    out.pgoutput(commit_at, &PgOutputMessage::StreamStop);
                }
                let commit = PgOutputMessage::StreamCommit(StreamCommit {
                    xid: s.xid,
                    flags: 0,
                    commit_lsn: commit_at,
                    end_lsn: end_at,
                    commit_time: row.commit_time,
                });
                out.pgoutput(end_at, &commit);
                self.described.extend(s.described);
            }
            None => {
                let commit = PgOutputMessage::Commit(Commit {
                    flags: 0,
                    commit_lsn: commit_at,
                    end_lsn: end_at,
                    commit_time: row.commit_time,
                });
                out.pgoutput(end_at, &commit);
            }
        }
        self.open = None;
        self.live = None;
        self.sent = self.sent.max(end_at.0);
    }

    /// Writes one row of the log (or of a transaction in progress): the
    /// transaction's Begin before its first published change, the change,
    /// its Commit after its last row. `from_log`: consecutive TRUNCATEs of
    /// the log's queue go out as one message.
    fn write_row(&mut self, out: &mut WalWriter<'_>, front: Queued, from_log: bool) {
        let (xid, seq) = (front.xid, front.seq);
        let mut last_seen = seq;
        if let Some(change) = &front.change {
            if change.op == 'm' && self.open != Some(xid) {
                // A non-transactional message outside an open
                // transaction: on its own, as PostgreSQL sends them.
                self.write_message(out, change, None);
            } else {
                // A transaction begins with its first published change
                // (one without any is not sent, as PostgreSQL 15 does).
                if self.open != Some(xid) {
                    self.begin(out, &front);
                }
                self.before_change(out, seq);
                match change.op {
                    'T' => {
                        // TRUNCATE a, b: one message, as in PostgreSQL.
                        let mut names = vec![change.rel.clone()];
                        while let Some(next) = self.queue.front().filter(|_| from_log) {
                            match &next.change {
                                Some(c) if next.xid == xid && c.op == 'T' => {
                                    names.push(c.rel.clone());
                                    last_seen = next.seq;
                                    self.queue.pop_front();
                                }
                                _ => break,
                            }
                        }
                        let oids: Vec<u32> = names
                            .iter()
                            .filter_map(|n| self.relation(out, n, seq_lsn(seq)))
                            .collect();
                        let message = PgOutputMessage::Truncate(Truncate {
                            xid: self.stream_xid(),
                            options: 0,
                            relation_oids: oids,
                        });
                        out.pgoutput(Lsn(seq_lsn(seq)), &message);
                    }
                    'M' | 'm' => self.write_message(out, change, self.stream_xid()),
                    _ => self.write_change(out, change),
                }
                self.after_change(out, last_seen);
            }
        }
        let ends = last_seen == front.tx_last;
        if ends && self.open != Some(xid) {
            // Nothing of it was published: passed over.
            self.sent = self.sent.max(end_lsn(front.tx_last));
        }
        if ends && self.open == Some(xid) {
            self.commit(out, &front);
        }
    }

    /// Writes a logical decoding message.
    fn write_message(&self, out: &mut WalWriter<'_>, change: &Change, xid: Option<u32>) {
        let at = Lsn(seq_lsn(change.seq));
        let message = PgOutputMessage::Message(LogicalDecodingMessage {
            xid,
            flags: u8::from(change.op == 'M'),
            lsn: at,
            prefix: change.rel.clone().into(),
            content: Bytes::copy_from_slice(&change.content),
        });
        out.pgoutput(at, &message);
    }

    /// Writes the Insert, Update or Delete of `change` (after its table's
    /// Relation message, if not sent yet), straight from its values.
    fn write_change(&mut self, out: &mut WalWriter<'_>, change: &Change) {
        let at = Lsn(seq_lsn(change.seq));
        let Some(oid) = self.relation(out, &change.rel, at.0) else {
            return;
        };
        let Some(info) = self.relations.get(&change.rel) else {
            return;
        };
        let (keyed, binary, xid) = (info.keyed, self.format.binary, self.stream_xid());
        let is_key = |i: usize| info.columns.get(i).is_some_and(|c| c.key);
        let old = change.old.as_deref().unwrap_or_default();
        let new = change.new.as_deref().unwrap_or_default();
        let shape = match change.op {
            // The old key only when it changed (REPLICA IDENTITY
            // DEFAULT); the whole old row for a table without key (sent
            // as REPLICA IDENTITY FULL).
            'U' if !keyed => ChangeShape::Update(Some(OldTupleKind::Full)),
            'U' if (0..old.len()).any(|i| is_key(i) && old.get(i) != new.get(i)) => {
                ChangeShape::Update(Some(OldTupleKind::Key))
            }
            'U' => ChangeShape::Update(None),
            'I' => ChangeShape::Insert,
            _ if keyed => ChangeShape::Delete(OldTupleKind::Key),
            _ => ChangeShape::Delete(OldTupleKind::Full),
        };
        out.xlog_data(at, at, |b| {
            put_change_with(b, shape, xid, oid, |role, row| match role {
                TupleRole::Old => {
                    put_values(row, old, &info.columns, binary, |i| !keyed || is_key(i))
                }
                TupleRole::New => put_values(row, new, &info.columns, binary, |_| true),
            });
        });
    }

    /// Writes a Relation message for `rel` if its description was not sent
    /// yet (or changed); inside a streamed transaction, if it was not sent
    /// in that transaction.
    fn relation(&mut self, out: &mut WalWriter<'_>, rel: &str, at: u64) -> Option<u32> {
        let info = self.relations.get(rel)?.clone();
        let xid = self.stream_xid();
        let described = match self.streamed.as_mut() {
            Some(s) => &mut s.described,
            None => &mut self.described,
        };
        if described.get(rel) != Some(&info) {
            let message = PgOutputMessage::Relation(Relation {
                xid,
                oid: info.oid,
                namespace: "public".into(),
                name: rel.to_owned().into(),
                replica_identity: if info.keyed {
                    ReplicaIdentity::Default
                } else {
                    ReplicaIdentity::Full
                },
                columns: info
                    .columns
                    .iter()
                    .map(|c| RelationColumn {
                        flags: u8::from(c.key || !info.keyed),
                        name: c.name.clone().into(),
                        type_oid: c.ty.oid(),
                        type_modifier: c.typmod,
                    })
                    .collect(),
            });
            out.pgoutput(Lsn(at), &message);
            described.insert(rel.to_owned(), info.clone());
        }
        Some(info.oid)
    }
}

impl ReplicationStream for ChangeStream {
    async fn wait_for_changes(&mut self) -> Result<(), ErrorInfo> {
        loop {
            if !self.queue.is_empty() || !self.live_queue.is_empty() || self.live_abort {
                return Ok(());
            }
            // Look before waiting: what was committed since the last read.
            self.signal.borrow_and_update();
            let (position, names, reading) =
                (self.position, self.publications.clone(), self.reading);
            let messages = self.format.messages;
            let fetched = self
                .engine
                .call(None, move |db| {
                    fetch(&db.conn, position, &names, messages, reading)
                })
                .await??;
            let more = fetched.more;
            self.absorb(fetched);
            if !self.queue.is_empty() || more {
                continue;
            }
            if self.live_interest.is_some() && self.read_live().await? {
                continue;
            }
            // Woken by a commit that wrote to the log, or after a while
            // (a change made by another process).
            let _ = tokio::time::timeout(Duration::from_secs(1), self.signal.changed()).await;
        }
    }

    fn write_changes(&mut self, out: &mut WalWriter<'_>) -> Result<(), ErrorInfo> {
        if self.live_abort {
            self.abort_live(out);
        }
        while !out.is_full() {
            // Rows of the transaction in progress first: nothing commits
            // while it writes.
            if let Some(row) = self.live_queue.pop_front() {
                let seq = row.seq;
                self.write_row(out, row, false);
                if self.live_queue.is_empty() {
                    // Everything recorded so far is out: the block ends
                    // (the subscriber is between blocks while the
                    // transaction goes on).
                    self.stop_block(out, seq);
                }
                continue;
            }
            let Some(front) = self.queue.pop_front() else {
                return Ok(());
            };
            if self.live.is_some_and(|c| c.xid != front.xid) {
                // Another transaction in the log while one is streamed in
                // progress: that one rolled back (its positions reused),
                // or this one committed before it began. Either way it
                // cannot go on around this one: aborted (and streamed
                // again from its start if it is still in progress).
                self.abort_live(out);
            }
            if let Some(cursor) = self.live.filter(|c| c.xid == front.xid) {
                let taken_back = front.tx_last < cursor.upto
                    || live_changes::ended(front.xid)
                        .and_then(|e| e.rolled_back_from)
                        .is_some_and(|from| from <= cursor.upto);
                if taken_back {
                    // It committed without rows it streamed: abort what
                    // was sent, then send it whole.
                    self.abort_live(out);
                } else if front.seq <= cursor.upto {
                    // Sent while in progress.
                    if front.seq == front.tx_last {
                        self.commit(out, &front);
                    }
                    continue;
                }
            }
            self.write_row(out, front, true);
        }
        Ok(())
    }

    fn sent_position(&self) -> Lsn {
        // Caught up with the log: everything before its end is sent.
        match self.caught_up_to {
            Some(end) if self.queue.is_empty() && self.open.is_none() => Lsn(self.sent.max(end)),
            _ => Lsn(self.sent),
        }
    }

    async fn standby_status(&mut self, status: &StandbyStatusUpdate) -> Result<(), ErrorInfo> {
        // Never past what was sent: the slot would skip the rest.
        let flushed = status.flushed.0.min(self.sent_position().0);
        if flushed <= self.confirmed {
            return Ok(());
        }
        self.confirmed = flushed;
        let slot = self.slot.clone();
        self.engine
            .call(None, move |db| {
                db.conn
                    .execute(
                        "UPDATE _pgwire_replication_slots SET confirmed_lsn = max(confirmed_lsn, ?2) \
                         WHERE slot_name = ?1",
                        rusqlite::params![slot, flushed as i64],
                    )
                    .and_then(|_| prune(&db.conn))
                    .map_err(|e| db.error(&e))
            })
            .await?
    }

    async fn hot_standby_feedback(&mut self, _: &HotStandbyFeedback) -> Result<(), ErrorInfo> {
        Ok(())
    }
}
