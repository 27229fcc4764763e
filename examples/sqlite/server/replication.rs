//! The example's replication commands: slots
//! (`CREATE_REPLICATION_SLOT`, `pg_create_logical_replication_slot()`),
//! and `START_REPLICATION`, whose stream (`change_stream.rs`) sends the
//! change log (`publisher.rs`) as `pgoutput` messages, filtered by the
//! client's publications.
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
//!   xid) ending with Stream Commit, once it has `STREAM_THRESHOLD`
//!   changes (`change_stream.rs`): while still in progress (read from
//!   `live_changes.rs`; a rollback then sends Stream Abort), or at once
//!   when already committed.
//! - `messages 'true'`: `pg_logical_emit_message()`'s messages.
//! - `two_phase`: accepted; the example has no PREPARE TRANSACTION, so
//!   there is never a prepared transaction to send.
//! - Physical replication (slots and `START_REPLICATION PHYSICAL`) is
//!   refused with 0A000: there is no WAL to send.
//!
//! Temporary slots are held by their session from their creation (55006
//! for any other) and dropped when it ends ([`TempSlots`]); the server
//! drops any left over when it starts.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use pgwire::api::{
    CreateSlotRequest, CreatedSlot, ReplicationHandler, Session, SlotKind, SlotStatus,
    SnapshotAction, StartReplicationRequest, SystemIdentity,
};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::messages::TransactionStatus;
use pgwire::replication::Lsn;
use pgwire::replication::pgoutput_options::{PgOutputOptions, Streaming};
use rusqlite::{Connection, OptionalExtension};

use super::SqliteSession;
use super::engine::Engine;
use super::errors::from_sqlite;
use super::publisher;

pub use super::change_stream::ChangeStream;
use super::change_stream::{Format, StreamSetup};

const BASE: u64 = 0x0100_0000;
const STEP: u64 = 0x100;
/// Changes read from the log at a time.
pub(super) const FETCH_ROWS: usize = 1000;

/// The LSN of change `seq` of the log.
pub fn seq_lsn(seq: i64) -> u64 {
    BASE + u64::try_from(seq).unwrap_or(0) * STEP
}

pub(super) fn commit_lsn(last_seq: i64) -> u64 {
    seq_lsn(last_seq) + 0x80
}

pub(super) fn end_lsn(last_seq: i64) -> u64 {
    seq_lsn(last_seq) + 0x88
}

/// The end of the log: after the last change ever numbered.
pub(super) fn log_end(conn: &Connection) -> rusqlite::Result<u64> {
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
pub(super) struct ActiveSlot {
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

pub(super) fn internal(msg: &str) -> ErrorInfo {
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
pub(super) fn prune(conn: &Connection) -> rusqlite::Result<()> {
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
        Ok(ChangeStream::new(StreamSetup {
            engine: self.engine.clone(),
            slot,
            guard,
            publications: names,
            position,
            start,
            confirmed,
            wal_end: end,
            format,
        }))
    }
}
