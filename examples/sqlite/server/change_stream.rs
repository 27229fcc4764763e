//! The stream of one `START_REPLICATION`: the change log (and the
//! transaction in progress, `live_changes.rs`) as `pgoutput` messages,
//! filtered by the client's publications, in the format its options ask
//! for (see `replication.rs` for what each option does).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use pgwire::api::{ReplicationStream, WalWriter};
use pgwire::error::ErrorInfo;
use pgwire::replication::pgoutput::{
    AbortPosition, Begin, ChangeShape, Commit, LogicalDecodingMessage, OldTupleKind, Relation,
    RelationColumn, ReplicaIdentity, StreamAbort, StreamCommit, StreamStart, Truncate, TupleRole,
    put_change_with,
};
use pgwire::replication::timestamp::pg_timestamp_now;
use pgwire::replication::{
    HotStandbyFeedback, Lsn, PgOutputMessage, StandbyStatusUpdate, TupleWriter,
};
use pgwire::types::Type;
use rusqlite::{Connection, OptionalExtension};
use tokio::sync::watch;

use super::engine::Engine;
use super::errors::from_sqlite;
use super::json_row::Scalar;
use super::live_changes;
use super::publisher;
use super::replication::{
    ActiveSlot, FETCH_ROWS, commit_lsn, end_lsn, internal, log_end, prune, seq_lsn,
};

/// What the client asked `pgoutput` for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Format {
    /// `binary 'true'`: values in binary format.
    pub(super) binary: bool,
    /// `messages 'true'`: logical decoding messages.
    pub(super) messages: bool,
    /// `streaming 'on'` (protocol 2+): large transactions in blocks.
    pub(super) streaming: bool,
    /// Stream Abort carries the abort LSN and time (protocol 4,
    /// `streaming 'parallel'`).
    pub(super) abort_info: bool,
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

/// Where and how a stream starts (from START_REPLICATION).
pub(super) struct StreamSetup {
    pub(super) engine: Engine,
    pub(super) slot: String,
    pub(super) guard: ActiveSlot,
    pub(super) publications: Vec<String>,
    /// The last change already handled.
    pub(super) position: i64,
    /// Transactions ending at or before this are not sent.
    pub(super) start: u64,
    /// The slot's confirmed position.
    pub(super) confirmed: u64,
    /// The end of the log.
    pub(super) wal_end: u64,
    pub(super) format: Format,
}

impl ChangeStream {
    /// The stream of `setup`.
    pub(super) fn new(setup: StreamSetup) -> ChangeStream {
        let format = setup.format;
        ChangeStream {
            engine: setup.engine,
            slot: setup.slot,
            _guard: setup.guard,
            publications: setup.publications,
            position: setup.position,
            start: setup.start,
            confirmed: setup.confirmed,
            wal_end: setup.wal_end,
            sent: setup.start,
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
        }
    }
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
