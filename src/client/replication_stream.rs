//! The CopyBoth phase of START_REPLICATION on the client side: XLogData
//! handed to the caller, keepalives answered, standby status updates sent
//! on the server's request and on an interval, positions the caller
//! confirms reported so the slot advances.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::connection::{Client, OpenCopy};
use super::error::{DbError, Error};
use crate::messages::{BackendMessage, CopyDone, Message};
use crate::replication::copy_both::put_copy_data_with;
use crate::replication::pgoutput::Relation;
use crate::replication::timestamp::pg_timestamp_now;
use crate::replication::{
    HotStandbyFeedback, Lsn, PgOutputDecoder, PgOutputMessage, ReplicationMessage,
    StandbyStatusUpdate, XLogData,
};

/// How often a status update is sent when nothing else asks for one
/// (pg_recvlogical's default).
pub const DEFAULT_STATUS_INTERVAL: Duration = Duration::from_secs(10);

/// The part shared by logical and physical streams.
struct StreamCore<'a> {
    client: &'a mut Client,
    /// Reported as written (physical: what was received).
    written: Lsn,
    /// Reported as flushed and applied: what the caller confirmed.
    confirmed: Lsn,
    /// The WAL start of the last XLogData handed out.
    last_delivered: Lsn,
    /// The server's WAL end from the last XLogData or keepalive.
    server_wal_end: Lsn,
    status_interval: Duration,
    next_status: Instant,
    /// Physical streams report what they received as written.
    written_follows_received: bool,
    /// May a keepalive move the confirmed position when everything handed
    /// out was confirmed (see `set_advance_on_keepalive`)?
    advance_on_keepalive: bool,
    /// The caller is between transactions (logical): a keepalive may
    /// advance the confirmed position.
    idle: bool,
    server_done: bool,
}

impl<'a> StreamCore<'a> {
    fn new(client: &'a mut Client, start: Lsn) -> StreamCore<'a> {
        StreamCore {
            client,
            written: start,
            confirmed: start,
            last_delivered: Lsn::INVALID,
            server_wal_end: Lsn::INVALID,
            status_interval: DEFAULT_STATUS_INTERVAL,
            next_status: Instant::now() + DEFAULT_STATUS_INTERVAL,
            written_follows_received: false,
            advance_on_keepalive: false,
            idle: true,
            server_done: false,
        }
    }

    fn confirm(&mut self, lsn: Lsn) {
        self.confirmed = self.confirmed.max(lsn);
        self.written = self.written.max(self.confirmed);
    }

    /// Queues and sends a standby status update now.
    async fn send_status(&mut self, reply_requested: bool) -> Result<(), Error> {
        let update = StandbyStatusUpdate {
            written: self.written.max(self.confirmed),
            flushed: self.confirmed,
            applied: self.confirmed,
            client_time: pg_timestamp_now(),
            reply_requested,
        };
        put_copy_data_with(&mut self.client.write_buf, |b| update.encode(b));
        self.client.flush().await?;
        self.next_status = Instant::now() + self.status_interval;
        Ok(())
    }

    /// The next XLogData; keepalives are answered here. `None` once the
    /// server ended the stream (CopyDone).
    async fn next_xlog(&mut self) -> Result<Option<XLogData>, Error> {
        loop {
            if self.server_done {
                return Ok(None);
            }
            // Whole messages already buffered are handled without
            // awaiting: the per-message path builds no future.
            while let Some(msg) = self.client.decoder.decode(&mut self.client.read_buf)? {
                if let Some(x) = self.handle(msg).await? {
                    return Ok(Some(x));
                }
                if self.server_done {
                    return Ok(None);
                }
            }
            if Instant::now() >= self.next_status {
                self.send_status(false).await?;
            }
            let deadline = self.next_status;
            tokio::select! {
                biased;
                read = self.client.fill() => read?,
                _ = tokio::time::sleep_until(deadline) => self.send_status(false).await?,
            }
        }
    }

    async fn handle(&mut self, msg: BackendMessage) -> Result<Option<XLogData>, Error> {
        match msg {
            BackendMessage::CopyData(d) => match ReplicationMessage::decode(d.data)? {
                ReplicationMessage::XLogData(x) => {
                    self.server_wal_end = self.server_wal_end.max(x.wal_end);
                    self.last_delivered = self.last_delivered.max(x.wal_start);
                    if self.written_follows_received {
                        self.written = self.written.max(x.wal_start + x.data.len() as u64);
                    }
                    Ok(Some(x))
                }
                ReplicationMessage::PrimaryKeepalive(k) => {
                    self.server_wal_end = self.server_wal_end.max(k.wal_end);
                    // Nothing handed out is unconfirmed and no transaction
                    // is open: every change before the server's position
                    // has been seen, so the slot may move past it (past
                    // transactions that touched no published table).
                    if self.advance_on_keepalive
                        && self.idle
                        && self.confirmed >= self.last_delivered
                    {
                        self.confirm(k.wal_end);
                    }
                    if k.reply_requested {
                        self.send_status(false).await?;
                    }
                    Ok(None)
                }
            },
            // CommandComplete without CopyDone: PostgreSQL 15 ends a
            // logical stream at once when it is restarted on a connection
            // that already streamed (its "done" flags stay set).
            BackendMessage::CopyDone(_) | BackendMessage::CommandComplete(_) => {
                self.server_done = true;
                Ok(None)
            }
            BackendMessage::ErrorResponse(e) => {
                self.server_done = true;
                self.client.open_copy = OpenCopy::None;
                Err(self.client.fail(DbError::from_fields(&e.0)).await)
            }
            BackendMessage::NoticeResponse(n) => {
                (self.client.notice_handler)(DbError::from_fields(&n.0));
                Ok(None)
            }
            BackendMessage::ParameterStatus(p) => {
                self.client
                    .parameters
                    .insert(p.name.as_str().to_owned(), p.value.as_str().to_owned());
                Ok(None)
            }
            BackendMessage::NotificationResponse(_) => Ok(None),
            other => Err(self
                .client
                .unexpected(&other, "START_REPLICATION streaming")),
        }
    }

    /// Sends a last status update and CopyDone, then reads to the end of
    /// the command.
    async fn finish(mut self) -> Result<(), Error> {
        self.send_status(false).await?;
        CopyDone.encode(&mut self.client.write_buf);
        self.client.open_copy = OpenCopy::None;
        self.client.flush().await?;
        // The server answers CopyDone (and possibly still some CopyData),
        // CommandComplete and ReadyForQuery: drain reads up to it.
        self.client.drain().await
    }
}

/// One message of a logical replication stream with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalReplicationEvent {
    /// The XLogData's WAL start.
    pub wal_start: Lsn,
    /// The server's WAL end when it was sent.
    pub wal_end: Lsn,
    /// The server's clock when it was sent (microseconds since 2000-01-01).
    pub send_time: i64,
    /// The decoded `pgoutput` message.
    pub message: PgOutputMessage,
}

impl LogicalReplicationEvent {
    /// The position to confirm once this message (and everything before
    /// it) is handled: the end LSN of commits, prepares and rollbacks;
    /// `None` for messages inside a transaction.
    pub fn confirm_lsn(&self) -> Option<Lsn> {
        match &self.message {
            PgOutputMessage::Commit(c) => Some(c.end_lsn),
            PgOutputMessage::StreamCommit(c) => Some(c.end_lsn),
            PgOutputMessage::Prepare(p) | PgOutputMessage::StreamPrepare(p) => Some(p.end_lsn),
            PgOutputMessage::CommitPrepared(c) => Some(c.end_lsn),
            PgOutputMessage::RollbackPrepared(r) => Some(r.rollback_end_lsn),
            PgOutputMessage::Message(m) if !m.transactional() => Some(m.lsn),
            _ => None,
        }
    }
}

/// A logical replication stream (START_REPLICATION ... LOGICAL) decoding
/// `pgoutput` messages.
///
/// Keepalives that ask for a reply are answered at once and a status
/// update goes out every [`set_status_interval`](Self::set_status_interval)
/// while the caller reads. The caller [`confirm`](Self::confirm)s what it
/// has durably handled (typically a commit's `end_lsn`, see
/// [`LogicalReplicationEvent::confirm_lsn`]); that is what the server
/// records as the slot's `confirmed_flush_lsn`, where a restarted stream
/// resumes. Between transactions, with everything confirmed, a keepalive
/// advances the confirmed position to the server's WAL end (so the slot
/// moves past transactions that had nothing published); turn that off
/// with [`set_advance_on_keepalive`](Self::set_advance_on_keepalive).
///
/// [`finish`](Self::finish) sends a last status update and ends the
/// stream, leaving the connection usable; a stream dropped unfinished is
/// ended before the client's next request (without that last update).
pub struct LogicalReplicationStream<'a> {
    core: StreamCore<'a>,
    decoder: PgOutputDecoder,
    relations: HashMap<u32, Relation>,
}

impl<'a> LogicalReplicationStream<'a> {
    pub(crate) fn new(
        client: &'a mut Client,
        start: Lsn,
        decoder: PgOutputDecoder,
    ) -> LogicalReplicationStream<'a> {
        let mut core = StreamCore::new(client, start);
        core.advance_on_keepalive = true;
        LogicalReplicationStream {
            core,
            decoder,
            relations: HashMap::new(),
        }
    }

    /// The next message; `None` when the server ended the stream.
    pub async fn next(&mut self) -> Result<Option<LogicalReplicationEvent>, Error> {
        let Some(x) = self.core.next_xlog().await? else {
            return Ok(None);
        };
        let message = self.decoder.decode(x.data)?;
        match &message {
            PgOutputMessage::Begin(_)
            | PgOutputMessage::BeginPrepare(_)
            | PgOutputMessage::StreamStart(_) => self.core.idle = false,
            PgOutputMessage::Commit(_)
            | PgOutputMessage::Prepare(_)
            | PgOutputMessage::StreamStop
            | PgOutputMessage::StreamCommit(_)
            | PgOutputMessage::StreamAbort(_)
            | PgOutputMessage::StreamPrepare(_)
            | PgOutputMessage::CommitPrepared(_)
            | PgOutputMessage::RollbackPrepared(_) => self.core.idle = true,
            PgOutputMessage::Relation(r) => {
                self.relations.insert(r.oid, r.clone());
            }
            _ => {}
        }
        Ok(Some(LogicalReplicationEvent {
            wal_start: x.wal_start,
            wal_end: x.wal_end,
            send_time: x.send_time,
            message,
        }))
    }

    /// The last Relation message received for table `oid` (pgoutput sends
    /// one before a table's first change in each session).
    pub fn relation(&self, oid: u32) -> Option<&Relation> {
        self.relations.get(&oid)
    }

    /// Everything up to `lsn` is handled: reported as flushed (and
    /// applied) in the next status update. Never moves backwards.
    pub fn confirm(&mut self, lsn: Lsn) {
        self.core.confirm(lsn);
    }

    /// The confirmed position.
    pub fn confirmed(&self) -> Lsn {
        self.core.confirmed
    }

    /// The server's WAL end as last reported.
    pub fn server_wal_end(&self) -> Lsn {
        self.core.server_wal_end
    }

    /// Sends a status update now (e.g. right after confirming).
    pub async fn send_status_update(&mut self) -> Result<(), Error> {
        self.core.send_status(false).await
    }

    /// How often status updates are sent without being asked (default
    /// [`DEFAULT_STATUS_INTERVAL`]); keep it below the server's
    /// `wal_sender_timeout`.
    pub fn set_status_interval(&mut self, interval: Duration) {
        self.core.status_interval = interval;
        self.core.next_status = Instant::now() + interval;
    }

    /// Whether keepalives may advance the confirmed position between
    /// transactions when everything received was confirmed (default on).
    pub fn set_advance_on_keepalive(&mut self, yes: bool) {
        self.core.advance_on_keepalive = yes;
    }

    /// Sends a final status update, ends the stream and reads to the end
    /// of the command; the connection can run other commands afterwards.
    pub async fn finish(self) -> Result<(), Error> {
        self.core.finish().await
    }
}

/// A physical replication stream (START_REPLICATION ... PHYSICAL): raw WAL.
///
/// What was received is reported as written; what the caller
/// [`confirm`](Self::confirm)s as flushed and applied.
pub struct PhysicalReplicationStream<'a> {
    core: StreamCore<'a>,
}

impl<'a> PhysicalReplicationStream<'a> {
    pub(crate) fn new(client: &'a mut Client, start: Lsn) -> PhysicalReplicationStream<'a> {
        let mut core = StreamCore::new(client, start);
        core.written_follows_received = true;
        PhysicalReplicationStream { core }
    }

    /// The next block of WAL; `None` when the server ended the stream
    /// (e.g. the end of a timeline).
    pub async fn next(&mut self) -> Result<Option<XLogData>, Error> {
        self.core.next_xlog().await
    }

    /// WAL up to `lsn` is durably stored.
    pub fn confirm(&mut self, lsn: Lsn) {
        self.core.confirm(lsn);
    }

    /// The end of the WAL received so far.
    pub fn received(&self) -> Lsn {
        self.core.written
    }

    /// The server's WAL end as last reported.
    pub fn server_wal_end(&self) -> Lsn {
        self.core.server_wal_end
    }

    /// Sends a status update now.
    pub async fn send_status_update(&mut self) -> Result<(), Error> {
        self.core.send_status(false).await
    }

    /// Sends hot standby feedback: the oldest transaction ids this standby
    /// still needs (0 for none), so the primary keeps those row versions.
    pub async fn send_hot_standby_feedback(
        &mut self,
        feedback: HotStandbyFeedback,
    ) -> Result<(), Error> {
        put_copy_data_with(&mut self.core.client.write_buf, |b| feedback.encode(b));
        self.core.client.flush().await
    }

    /// How often status updates are sent without being asked.
    pub fn set_status_interval(&mut self, interval: Duration) {
        self.core.status_interval = interval;
        self.core.next_status = Instant::now() + interval;
    }

    /// Sends a final status update and ends the stream.
    pub async fn finish(self) -> Result<(), Error> {
        self.core.finish().await
    }
}
