//! Serving replication connections: the commands of PostgreSQL's streaming
//! replication protocol (`IDENTIFY_SYSTEM`, `CREATE_REPLICATION_SLOT`,
//! `START_REPLICATION`...) and the stream of changes after
//! `START_REPLICATION`, so that `pg_recvlogical` or a PostgreSQL
//! subscriber (`CREATE SUBSCRIPTION`) can consume from a server built on
//! this crate.
//!
//! A client asks for a replication connection with the startup parameter
//! `replication`: `database` (logical replication: replication commands
//! and SQL) or `true` (physical: replication commands only). A server
//! serves them by implementing [`ReplicationHandler`] on its handler and
//! returning [`UseReplicationHandler`](super::UseReplicationHandler) from
//! [`ServerHandlers::replication`](super::ServerHandlers::replication);
//! without that, a replication connection is refused with PostgreSQL's
//! 42501 "permission denied to start WAL sender".
//!
//! The server parses the commands, answers them with the handler's results
//! in PostgreSQL's result shapes, and drives `START_REPLICATION`: it asks
//! the [`ReplicationStream`] the handler returned for changes, which the
//! stream writes as XLogData straight into the connection's write buffer
//! ([`WalWriter`]); it sends PrimaryKeepalive messages when the client has
//! been quiet for [`ReplicationStream::keepalive_interval`] (asking for a
//! reply) and after catching up; it hands the client's StandbyStatusUpdate
//! to [`ReplicationStream::standby_status`] (where a slot's confirmed
//! position advances); it stops asking for changes while the client is not
//! reading, so memory stays bounded; and it ends the stream when the
//! client sends CopyDone. As in PostgreSQL, a replication connection takes
//! simple queries only (the extended protocol gets 08P01), and a
//! `replication=true` one takes no SQL.
//!
//! The SQLite example (`examples/sqlite/server/replication.rs`) is a
//! complete publisher: slots kept in its database (temporary ones dropped
//! with their session), a change log captured by triggers with real
//! commit times, and a stream that `pg_recvlogical` and a subscribing
//! PostgreSQL 15 consume, with `binary`, `streaming` (transactions in
//! progress, with Stream Abort on rollback) and `messages`
//! (`pg_logical_emit_message`). A stream writes rows column by column
//! with [`put_change_with`](crate::replication::pgoutput::put_change_with)
//! and [`TupleWriter`](crate::replication::TupleWriter), text or binary,
//! without allocating per change.

use std::future::Future;
use std::time::Duration;

use bytes::BytesMut;

use super::session::{ClientInfo, Session};
use crate::error::{ErrorInfo, SqlState};
use crate::replication::command::PluginOption;
pub use crate::replication::command::SlotKind;
use crate::replication::copy_both::put_copy_data_with;
use crate::replication::{HotStandbyFeedback, Lsn, PgOutputMessage, StandbyStatusUpdate, XLogData};

/// What kind of connection the client asked for with the `replication`
/// startup parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicationMode {
    /// A normal connection (`replication` absent, `false`, `off`, `no`, `0`).
    None,
    /// `replication=true` (`on`, `yes`, `1`): physical replication;
    /// replication commands only.
    Physical,
    /// `replication=database`: logical replication; replication commands
    /// and SQL, in the database the client named.
    Logical,
}

impl ReplicationMode {
    /// Parses the `replication` startup parameter as PostgreSQL does
    /// (a boolean or `database`, case-insensitive); `None` if invalid.
    pub fn parse(value: &str) -> Option<ReplicationMode> {
        let v = value.trim().to_ascii_lowercase();
        match v.as_str() {
            "database" => Some(ReplicationMode::Logical),
            "true" | "on" | "yes" | "1" | "t" | "y" => Some(ReplicationMode::Physical),
            "false" | "off" | "no" | "0" | "f" | "n" => Some(ReplicationMode::None),
            _ => None,
        }
    }

    /// Whether this is a replication connection.
    pub fn is_replication(self) -> bool {
        self != ReplicationMode::None
    }
}

impl ClientInfo {
    /// The kind of connection the client asked for (the `replication`
    /// startup parameter; an invalid value was refused at startup).
    pub fn replication(&self) -> ReplicationMode {
        self.parameter("replication")
            .and_then(ReplicationMode::parse)
            .unwrap_or(ReplicationMode::None)
    }
}

/// The answer to `IDENTIFY_SYSTEM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemIdentity {
    /// The system identifier (PostgreSQL prints a 64-bit number); the
    /// same for every connection to this server.
    pub system_id: String,
    /// The current timeline (1 for a server without timelines).
    pub timeline: u32,
    /// The current end of the change log (WAL flush position).
    pub xlog_pos: Lsn,
    /// The database of a `replication=database` connection, `None` for a
    /// physical one.
    pub database: Option<String>,
}

/// What `CREATE_REPLICATION_SLOT` does with the slot's snapshot
/// (`SNAPSHOT 'export' | 'use' | 'nothing'`, or the old syntax's
/// `EXPORT_SNAPSHOT` / `USE_SNAPSHOT` / `NOEXPORT_SNAPSHOT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SnapshotAction {
    /// Export it for other sessions (`SET TRANSACTION SNAPSHOT`); the
    /// default.
    #[default]
    Export,
    /// Use it in the current transaction: the transaction that issued the
    /// command sees exactly the data before the slot's consistent point
    /// (a subscriber's table sync copies a table this way).
    Use,
    /// No snapshot.
    Nothing,
}

/// `CREATE_REPLICATION_SLOT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSlotRequest {
    /// The slot's name.
    pub name: String,
    /// `TEMPORARY`: dropped when the session ends.
    pub temporary: bool,
    /// Logical (with its plugin) or physical.
    pub kind: SlotKind,
    /// `RESERVE_WAL` (physical slots): reserve WAL at once.
    pub reserve_wal: bool,
    /// What to do with the snapshot (logical slots).
    pub snapshot: SnapshotAction,
    /// `TWO_PHASE`: decode prepared transactions.
    pub two_phase: bool,
}

/// The answer to `CREATE_REPLICATION_SLOT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedSlot {
    /// Where the slot starts: changes committed after it are streamed.
    pub consistent_point: Lsn,
    /// The exported snapshot's name (`SnapshotAction::Export`), if any.
    pub snapshot_name: Option<String>,
}

/// The answer to `READ_REPLICATION_SLOT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotStatus {
    /// `physical` or `logical`.
    pub slot_type: String,
    /// The slot's restart LSN, if it has one.
    pub restart_lsn: Option<Lsn>,
    /// The timeline of the restart LSN.
    pub restart_timeline: Option<u32>,
}

/// The answer to `TIMELINE_HISTORY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineHistory {
    /// The history file's name (`00000002.history`).
    pub file_name: String,
    /// Its content.
    pub content: Vec<u8>,
}

/// `START_REPLICATION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartReplicationRequest {
    /// `SLOT name` (required for logical replication).
    pub slot: Option<String>,
    /// `LOGICAL` (or physical).
    pub logical: bool,
    /// Where to start: changes that end after it are sent.
    pub start: Lsn,
    /// `TIMELINE n` (physical).
    pub timeline: Option<u32>,
    /// The output plugin's options (`proto_version '1'`,
    /// `publication_names '"p"'`), in the order given.
    pub options: Vec<PluginOption>,
}

impl StartReplicationRequest {
    /// The value of option `name`, if given.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
            .and_then(|o| o.value.as_deref())
    }
}

/// Answers the replication commands of a replication connection.
///
/// Implemented by the per-connection handler
/// ([`ServerHandlers::Handler`](super::ServerHandlers::Handler)) and opted
/// into with
/// [`ServerHandlers::replication`](super::ServerHandlers::replication).
/// Errors are reported to the client as ERRORs (the session goes on), with
/// PostgreSQL's codes: 42704 for a slot that does not exist, 42710 for a
/// duplicate, 55006 for a slot another session streams from.
pub trait ReplicationHandler: Send {
    /// What `START_REPLICATION` streams.
    type Stream: ReplicationStream + 'static;

    /// `IDENTIFY_SYSTEM`.
    fn identify_system(
        &mut self,
        session: &mut Session,
    ) -> impl Future<Output = Result<SystemIdentity, ErrorInfo>> + Send;

    /// `SHOW name`: the value of a run-time parameter. The default answers
    /// the session's parameters, and 42704 for others.
    fn show(
        &mut self,
        session: &mut Session,
        name: &str,
    ) -> impl Future<Output = Result<String, ErrorInfo>> + Send {
        let value = session.parameter(name).map(str::to_owned).ok_or_else(|| {
            ErrorInfo::new(
                SqlState::UNDEFINED_OBJECT,
                format!("unrecognized configuration parameter \"{name}\""),
            )
        });
        async move { value }
    }

    /// `CREATE_REPLICATION_SLOT`.
    fn create_slot(
        &mut self,
        session: &mut Session,
        request: &CreateSlotRequest,
    ) -> impl Future<Output = Result<CreatedSlot, ErrorInfo>> + Send;

    /// `DROP_REPLICATION_SLOT name [WAIT]`: with `wait`, wait for a slot
    /// that is in use instead of failing with 55006.
    fn drop_slot(
        &mut self,
        session: &mut Session,
        name: &str,
        wait: bool,
    ) -> impl Future<Output = Result<(), ErrorInfo>> + Send;

    /// `READ_REPLICATION_SLOT name` (physical slots in PostgreSQL): `None`
    /// for a slot that does not exist (PostgreSQL answers a row of NULLs).
    /// The default refuses with 0A000.
    fn read_slot(
        &mut self,
        session: &mut Session,
        name: &str,
    ) -> impl Future<Output = Result<Option<SlotStatus>, ErrorInfo>> + Send {
        let _ = (session, name);
        async { Err(not_supported("READ_REPLICATION_SLOT")) }
    }

    /// `TIMELINE_HISTORY n` (physical replication). The default refuses
    /// with 0A000.
    fn timeline_history(
        &mut self,
        session: &mut Session,
        timeline: u32,
    ) -> impl Future<Output = Result<TimelineHistory, ErrorInfo>> + Send {
        let _ = (session, timeline);
        async { Err(not_supported("TIMELINE_HISTORY")) }
    }

    /// `START_REPLICATION`: checks the slot and options and returns the
    /// stream of changes. An error here is reported before the stream
    /// starts (no CopyBothResponse).
    fn start_replication(
        &mut self,
        session: &mut Session,
        request: &StartReplicationRequest,
    ) -> impl Future<Output = Result<Self::Stream, ErrorInfo>> + Send;
}

fn not_supported(what: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::FEATURE_NOT_SUPPORTED,
        format!("{what} is not supported by this server"),
    )
}

/// The changes of one `START_REPLICATION`, as the server pulls them.
///
/// The server alternates between [`write_changes`](Self::write_changes)
/// (while the client reads fast enough) and
/// [`wait_for_changes`](Self::wait_for_changes) (when everything was
/// written), and hands over what the client reports in between. The
/// stream is dropped when replication ends (CopyDone, disconnect).
pub trait ReplicationStream: Send {
    /// Waits until there is something to write. The server drops this
    /// future whenever the client sends a message or a keepalive is due,
    /// and calls it again later: it must be cancel-safe (lose nothing when
    /// dropped before it completes). An error ends the stream with that
    /// error.
    fn wait_for_changes(&mut self) -> impl Future<Output = Result<(), ErrorInfo>> + Send;

    /// Writes pending changes into `out`, one XLogData per message, until
    /// nothing is pending or [`WalWriter::is_full`]; the server writes
    /// them out and calls again. Synchronous, so a message is never half
    /// written.
    fn write_changes(&mut self, out: &mut WalWriter<'_>) -> Result<(), ErrorInfo>;

    /// Where the stream stands (PostgreSQL's `sentPtr`): everything
    /// before it has been written, or had nothing to send. Keepalives carry
    /// it, and a client with nothing pending confirms up to it, so it must
    /// never pass a change not yet written (the slot would skip it).
    fn sent_position(&self) -> Lsn;

    /// The client's StandbyStatusUpdate: `status.flushed` is what a slot
    /// confirms (its `confirmed_flush_lsn`). The default ignores it.
    fn standby_status(
        &mut self,
        status: &StandbyStatusUpdate,
    ) -> impl Future<Output = Result<(), ErrorInfo>> + Send {
        let _ = status;
        async { Ok(()) }
    }

    /// The client's HotStandbyFeedback. The default ignores it.
    fn hot_standby_feedback(
        &mut self,
        feedback: &HotStandbyFeedback,
    ) -> impl Future<Output = Result<(), ErrorInfo>> + Send {
        let _ = feedback;
        async { Ok(()) }
    }

    /// How long the client may stay quiet before the server sends a
    /// keepalive asking for a reply (default 10 s; PostgreSQL's
    /// `wal_sender_timeout` is 60 s, and it asks at half of it).
    fn keepalive_interval(&self) -> Duration {
        Duration::from_secs(10)
    }
}

/// Where a [`ReplicationStream`] writes: the connection's write buffer,
/// each message framed as CopyData carrying XLogData.
#[derive(Debug)]
pub struct WalWriter<'a> {
    buf: &'a mut BytesMut,
    high_water: usize,
    send_time: i64,
    wrote: bool,
}

impl<'a> WalWriter<'a> {
    /// A writer appending to `buf` until it holds `high_water` bytes.
    pub(crate) fn new(buf: &'a mut BytesMut, high_water: usize, send_time: i64) -> Self {
        WalWriter {
            buf,
            high_water,
            send_time,
            wrote: false,
        }
    }

    /// Whether the buffer is full: stop writing and return.
    pub fn is_full(&self) -> bool {
        self.buf.len() >= self.high_water
    }

    /// Whether anything was written.
    pub(crate) fn wrote(&self) -> bool {
        self.wrote
    }

    /// Appends one XLogData whose data `data` writes straight into the
    /// buffer: `wal_start` is where the data starts in the log, `wal_end`
    /// how far the log has been sent with it. For logical replication
    /// PostgreSQL sends the message's own LSN as both: a subscriber takes
    /// `wal_end` as received (and, between transactions, as flushed), so
    /// it must not pass changes not yet sent.
    pub fn xlog_data(&mut self, wal_start: Lsn, wal_end: Lsn, data: impl FnOnce(&mut BytesMut)) {
        let send_time = self.send_time;
        put_copy_data_with(self.buf, |b| {
            XLogData::encode_header(b, wal_start, wal_end, send_time);
            data(b);
        });
        self.wrote = true;
    }

    /// Appends one `pgoutput` message at `lsn` as XLogData (`lsn` as both
    /// its start and end, as PostgreSQL sends them).
    pub fn pgoutput(&mut self, lsn: Lsn, message: &PgOutputMessage) {
        self.xlog_data(lsn, lsn, |b| message.encode(b));
    }
}
