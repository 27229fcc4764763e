//! The changes of transactions still in progress, so that a client that
//! asked for `streaming 'on'` gets a large transaction before it commits
//! (and a Stream Abort if it rolls back), as PostgreSQL streams one that
//! outgrows `logical_decoding_work_mem`.
//!
//! SQLite shows a transaction's rows in the change log to other
//! connections only once it commits, so the capture triggers also hand
//! each logged row to this registry (`pgwire_live()`), where the streams
//! read them. Only one SQLite transaction writes at a time, so at most
//! one transaction is in progress here, and every committed change comes
//! before it in the log.
//!
//! A `ROLLBACK TO SAVEPOINT` takes back rows a stream may have sent: it
//! shows as a row logged at a position not after the last one (SQLite
//! reuses the rolled-back positions), or as a transaction committing fewer
//! rows than were recorded. A stream that sent such rows aborts the
//! streamed transaction and sends it again, whole, from the log once it
//! commits.
//!
//! Memory is bounded: rows are recorded only while some stream wants them,
//! and at most [`MAX_ROWS`] per transaction (a stream then waits for the
//! commit to send the rest from the log).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The most rows of one transaction kept in memory.
pub const MAX_ROWS: usize = 100_000;
/// How many ended transactions are remembered (for streams that sent part
/// of one).
const ENDED_KEPT: usize = 1024;
/// Streams are woken every this many recorded rows.
const NOTIFY_EVERY: usize = 250;

/// One logged row of a transaction in progress (the columns of
/// `_pgwire_changes`).
#[derive(Debug, Clone)]
pub struct LiveRow {
    /// Its position in the log.
    pub seq: i64,
    /// The table (a message's prefix).
    pub rel: String,
    /// The operation (`I`, `U`, `D`, `T`, `M`, `m`).
    pub op: String,
    /// The old row (JSON).
    pub old: Option<String>,
    /// The new row (JSON; a message's content as hex).
    pub new: Option<String>,
}

#[derive(Debug, Default)]
struct LiveTx {
    rows: Vec<LiveRow>,
    /// The lowest position a savepoint rollback took back.
    rolled_back_from: Option<i64>,
    /// More rows than [`MAX_ROWS`] were logged.
    overflowed: bool,
}

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// Committed (else rolled back).
    pub committed: bool,
    /// The lowest position a savepoint rollback took back, if any.
    pub rolled_back_from: Option<i64>,
}

#[derive(Debug, Default)]
struct Registry {
    open: HashMap<u32, LiveTx>,
    ended: VecDeque<(u32, Ended)>,
    /// Streams that want rows.
    consumers: usize,
}

fn registry() -> MutexGuard<'static, Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// A stream's interest in rows of transactions in progress, while it
/// lives.
#[derive(Debug)]
pub struct Interest(());

impl Interest {
    /// Starts recording rows.
    pub fn register() -> Interest {
        registry().consumers += 1;
        Interest(())
    }
}

impl Drop for Interest {
    fn drop(&mut self) {
        let mut r = registry();
        r.consumers = r.consumers.saturating_sub(1);
        if r.consumers == 0 {
            r.open.clear();
        }
    }
}

/// Transaction `xid` is about to log its first row: its rows are
/// recorded if a stream wants them now (a transaction that began before
/// is never streamed in progress: its first rows would be missing).
pub fn begin(xid: u32) {
    let mut r = registry();
    if r.consumers > 0 {
        r.open.insert(xid, LiveTx::default());
    }
}

/// Records row `row` of transaction `xid` (right after it is logged).
pub fn record(xid: u32, row: LiveRow) {
    let notify = {
        let mut r = registry();
        let Some(tx) = r.open.get_mut(&xid) else {
            return;
        };
        if tx.rows.last().is_some_and(|last| row.seq <= last.seq) {
            // Positions reused: a savepoint rollback took these back.
            let from = row.seq;
            tx.rolled_back_from = Some(tx.rolled_back_from.map_or(from, |f| f.min(from)));
            tx.rows.retain(|r| r.seq < from);
        }
        if tx.rows.len() >= MAX_ROWS {
            tx.overflowed = true;
            false
        } else {
            tx.rows.push(row);
            tx.rows.len() % NOTIFY_EVERY == 0
        }
    };
    if notify {
        super::publisher::changes_signal().send_modify(|n| *n += 1);
    }
}

/// Whether transaction `xid` has rows recorded (so its end matters).
pub fn is_open(xid: u32) -> bool {
    registry().open.contains_key(&xid)
}

/// Transaction `xid` ended.
pub fn end(xid: u32, committed: bool) {
    let mut r = registry();
    let rolled_back_from = r.open.remove(&xid).and_then(|t| t.rolled_back_from);
    r.ended.push_back((
        xid,
        Ended {
            committed,
            rolled_back_from,
        },
    ));
    while r.ended.len() > ENDED_KEPT {
        r.ended.pop_front();
    }
}

/// How transaction `xid` ended, if it did recently.
pub fn ended(xid: u32) -> Option<Ended> {
    registry()
        .ended
        .iter()
        .rev()
        .find(|(x, _)| *x == xid)
        .map(|(_, e)| *e)
}

/// What a stream reads of the transaction in progress.
#[derive(Debug, Default)]
pub struct LiveRead {
    /// The transaction.
    pub xid: u32,
    /// Rows after the asked position (at most the asked number).
    pub rows: Vec<LiveRow>,
    /// The lowest position a savepoint rollback took back, if any.
    pub rolled_back_from: Option<i64>,
}

/// The transaction in progress with at least `min_rows` rows recorded
/// (or `xid`, when given, whatever its size), and up to `max` of its rows
/// after position `after`.
pub fn read(xid: Option<u32>, min_rows: usize, after: i64, max: usize) -> Option<LiveRead> {
    let r = registry();
    let (&x, tx) = match xid {
        Some(x) => r.open.get_key_value(&x)?,
        None => r
            .open
            .iter()
            .find(|(_, t)| t.rows.len() >= min_rows || t.overflowed)?,
    };
    let start = tx.rows.partition_point(|row| row.seq <= after);
    Some(LiveRead {
        xid: x,
        rows: tx.rows[start..].iter().take(max).cloned().collect(),
        rolled_back_from: tx.rolled_back_from,
    })
}

/// A position transaction `xid` logged a row at (to tell, once it ended,
/// whether it committed: the row is then in the log).
pub fn some_seq(xid: u32) -> Option<i64> {
    registry()
        .open
        .get(&xid)
        .and_then(|t| t.rows.first())
        .map(|r| r.seq)
}
