//! Replication connections: the replication commands a client sends as
//! simple queries (parsed by [`crate::replication::command`]), answered
//! through the server's [`ReplicationDriver`] in PostgreSQL's result
//! shapes, and the CopyBoth exchange of `START_REPLICATION`: XLogData out,
//! keepalives, status updates in, CopyDone to end.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};

use super::connection::{Connection, Flow, Stop, io_stop, watch_connection};
use super::startup::send_fatal;
use crate::api::support::sealed::{
    CopyDriver, ExtendedQueryDriver, FunctionCallDriver, ReplicationDriver,
};
use crate::api::{
    CreateSlotRequest, QueryResponse, ReplicationMode, ReplicationStream, Response, Rows,
    ServerHandlers, SnapshotAction, StartReplicationRequest, Tag, WalWriter,
};
use crate::error::{ErrorInfo, PgWireError, SqlState};
use crate::messages::{
    CommandComplete, CopyBothResponse, CopyDone, FrontendMessage, Message, TransactionStatus,
};
use crate::replication::command::{OptionValue, ReplicationCommand, SlotKind};
use crate::replication::timestamp::pg_timestamp_now;
use crate::replication::{PrimaryKeepalive, StandbyMessage};
use crate::types::{FieldInfo, Type};

/// A client that sends nothing for this long while streaming is gone
/// (PostgreSQL's `wal_sender_timeout` default).
const REPLICATION_TIMEOUT: Duration = Duration::from_secs(60);

impl<H, S, X, C, F> Connection<H, S, X, C, F>
where
    H: ServerHandlers,
    S: AsyncRead + AsyncWrite + Unpin + Send,
    X: ExtendedQueryDriver<H::Handler>,
    C: CopyDriver<H::Handler>,
    F: FunctionCallDriver<H::Handler>,
{
    /// A simple query on a replication connection: `None` when it is SQL
    /// for the normal path (a `replication=database` connection), else the
    /// command is answered here, ReadyForQuery included.
    pub(super) async fn replication_query(&mut self, query: &str) -> Option<Flow> {
        let mode = self.session.client().replication();
        if mode == ReplicationMode::None {
            return None;
        }
        let parsed = ReplicationCommand::parse(query);
        let command = match parsed {
            Ok(Some(c)) => c,
            Ok(None) if mode == ReplicationMode::Logical => return None,
            Ok(None) => {
                return Some(self.replication_error(&ErrorInfo::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "cannot execute SQL commands in WAL sender for physical replication",
                )));
            }
            Err(e) => {
                let info = ErrorInfo::new(SqlState::SYNTAX_ERROR, e.message.clone())
                    .with_position(u32::try_from(e.position + 1).unwrap_or(u32::MAX));
                return Some(self.replication_error(&info));
            }
        };
        tracing::debug!(command = %command, "replication command");
        Some(self.replication_command(command, mode).await)
    }

    fn replication_error(&mut self, e: &ErrorInfo) -> Flow {
        self.send_error(e)?;
        self.ready_for_query();
        Ok(())
    }

    async fn replication_command(
        &mut self,
        command: ReplicationCommand,
        mode: ReplicationMode,
    ) -> Flow {
        let mut driver = H::replication();
        let cancel = self.server.config.cancel_on_client_disconnect;
        let in_block = self.session.transaction_status() != TransactionStatus::Idle;
        let response: Result<Response, ErrorInfo> = match command {
            ReplicationCommand::IdentifySystem => Self::drive(
                &mut self.transport,
                &self.shared,
                cancel,
                driver.identify_system(&mut self.handler, &mut self.session),
            )
            .await?
            .map(|id| {
                let schema = Arc::from(vec![
                    FieldInfo::new("systemid", Type::TEXT),
                    FieldInfo::new("timeline", Type::INT4),
                    FieldInfo::new("xlogpos", Type::TEXT),
                    FieldInfo::new("dbname", Type::TEXT),
                ]);
                let database = match mode {
                    ReplicationMode::Logical => id.database,
                    _ => None,
                };
                let row = (
                    id.system_id,
                    i32::try_from(id.timeline).unwrap_or(i32::MAX),
                    id.xlog_pos.to_string(),
                    database,
                );
                Response::Query(
                    QueryResponse::new(schema, Rows::from_iterator([row]))
                        .with_tag(Tag::new("IDENTIFY_SYSTEM")),
                )
            }),
            ReplicationCommand::Show(name) => Self::drive(
                &mut self.transport,
                &self.shared,
                cancel,
                driver.show(&mut self.handler, &mut self.session, &name),
            )
            .await?
            .map(|value| {
                let schema = Arc::from(vec![FieldInfo::new(name.clone(), Type::TEXT)]);
                Response::Query(
                    QueryResponse::new(schema, Rows::from_iterator([(value,)]))
                        .with_tag(Tag::new("SHOW")),
                )
            }),
            ReplicationCommand::TimelineHistory(timeline) => Self::drive(
                &mut self.transport,
                &self.shared,
                cancel,
                driver.timeline_history(&mut self.handler, &mut self.session, timeline),
            )
            .await?
            .map(|h| {
                let schema = Arc::from(vec![
                    FieldInfo::new("filename", Type::TEXT),
                    FieldInfo::new("content", Type::TEXT),
                ]);
                let content = String::from_utf8_lossy(&h.content).into_owned();
                Response::Query(
                    QueryResponse::new(schema, Rows::from_iterator([(h.file_name, content)]))
                        .with_tag(Tag::new("TIMELINE_HISTORY")),
                )
            }),
            ReplicationCommand::CreateReplicationSlot(create) => {
                match create_slot_request(&create, in_block) {
                    Err(e) => Err(e),
                    Ok(request) => Self::drive(
                        &mut self.transport,
                        &self.shared,
                        cancel,
                        driver.create_slot(&mut self.handler, &mut self.session, &request),
                    )
                    .await?
                    .map(|created| {
                        let schema = Arc::from(vec![
                            FieldInfo::new("slot_name", Type::TEXT),
                            FieldInfo::new("consistent_point", Type::TEXT),
                            FieldInfo::new("snapshot_name", Type::TEXT),
                            FieldInfo::new("output_plugin", Type::TEXT),
                        ]);
                        let plugin = match &request.kind {
                            SlotKind::Logical { plugin } => Some(plugin.clone()),
                            SlotKind::Physical => None,
                        };
                        let row = (
                            request.name.clone(),
                            created.consistent_point.to_string(),
                            created.snapshot_name,
                            plugin,
                        );
                        Response::Query(
                            QueryResponse::new(schema, Rows::from_iterator([row]))
                                .with_tag(Tag::new("CREATE_REPLICATION_SLOT")),
                        )
                    }),
                }
            }
            ReplicationCommand::DropReplicationSlot { slot, wait } => Self::drive(
                &mut self.transport,
                &self.shared,
                cancel,
                driver.drop_slot(&mut self.handler, &mut self.session, &slot, wait),
            )
            .await?
            .map(|()| Response::Execution(Tag::new("DROP_REPLICATION_SLOT"))),
            ReplicationCommand::ReadReplicationSlot(slot) => Self::drive(
                &mut self.transport,
                &self.shared,
                cancel,
                driver.read_slot(&mut self.handler, &mut self.session, &slot),
            )
            .await?
            .map(|status| {
                let schema = Arc::from(vec![
                    FieldInfo::new("slot_type", Type::TEXT),
                    FieldInfo::new("restart_lsn", Type::TEXT),
                    FieldInfo::new("restart_tli", Type::INT8),
                ]);
                let row = match status {
                    Some(s) => (
                        Some(s.slot_type),
                        s.restart_lsn.map(|l| l.to_string()),
                        s.restart_timeline.map(i64::from),
                    ),
                    None => (None, None, None),
                };
                Response::Query(
                    QueryResponse::new(schema, Rows::from_iterator([row]))
                        .with_tag(Tag::new("READ_REPLICATION_SLOT")),
                )
            }),
            ReplicationCommand::StartLogicalReplication(start) => {
                let request = StartReplicationRequest {
                    slot: Some(start.slot),
                    logical: true,
                    start: start.start,
                    timeline: None,
                    options: start.options,
                };
                return self.start_replication(&mut driver, request, in_block).await;
            }
            ReplicationCommand::StartPhysicalReplication(start) => {
                let request = StartReplicationRequest {
                    slot: start.slot,
                    logical: false,
                    start: start.start,
                    timeline: start.timeline,
                    options: Vec::new(),
                };
                return self.start_replication(&mut driver, request, in_block).await;
            }
            other => Err(ErrorInfo::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!(
                    "{} is not supported by this server",
                    other
                        .to_string()
                        .split(' ')
                        .next()
                        .unwrap_or("this command")
                ),
            )),
        };
        match response {
            Ok(r) => self.send_simple_responses(r.into()).await?,
            Err(e) => self.send_error(&e)?,
        }
        self.ready_for_query();
        Ok(())
    }

    /// START_REPLICATION: the handler's stream, then the CopyBoth exchange
    /// until the client's CopyDone.
    async fn start_replication<R: ReplicationDriver<H::Handler>>(
        &mut self,
        driver: &mut R,
        request: StartReplicationRequest,
        in_block: bool,
    ) -> Flow {
        if in_block {
            return self.replication_error(&ErrorInfo::new(
                SqlState::ACTIVE_SQL_TRANSACTION,
                "START_REPLICATION cannot run inside a transaction block",
            ));
        }
        let started = Self::drive(
            &mut self.transport,
            &self.shared,
            self.server.config.cancel_on_client_disconnect,
            driver.start_replication(&mut self.handler, &mut self.session, &request),
        )
        .await?;
        let mut stream = match started {
            Ok(s) => s,
            Err(e) => return self.replication_error(&e),
        };
        tracing::info!(
            slot = request.slot.as_deref().unwrap_or(""),
            start = %request.start,
            "replication started"
        );
        CopyBothResponse {
            format: 0,
            column_formats: crate::messages::FormatCodes::new(),
        }
        .encode(&mut self.transport.wbuf);
        self.shared.set_busy(true);
        let ended = self.stream_changes(&mut stream).await;
        self.shared.set_busy(false);
        drop(stream);
        match ended? {
            Ok(()) => {
                // The client's CopyDone: ours, the end of the COPY, then
                // the command's end, as PostgreSQL (libpq's walreceiver
                // reads both CommandCompletes).
                CopyDone.encode(&mut self.transport.wbuf);
                CommandComplete {
                    tag: "COPY 0".into(),
                }
                .encode(&mut self.transport.wbuf);
                CommandComplete {
                    tag: "START_REPLICATION".into(),
                }
                .encode(&mut self.transport.wbuf);
            }
            Err(e) => self.send_error(&e)?,
        }
        tracing::info!("replication ended");
        self.ready_for_query();
        Ok(())
    }

    /// The CopyBoth loop. `Ok(Ok(()))`: the client sent CopyDone;
    /// `Ok(Err(e))`: the stream failed with `e` (reported, the session goes
    /// on); `Err`: the connection ends.
    async fn stream_changes<T: ReplicationStream>(
        &mut self,
        stream: &mut T,
    ) -> Flow<Result<(), ErrorInfo>> {
        let interval = stream.keepalive_interval().max(Duration::from_millis(10));
        let high_water = self.server.config.write_high_water;
        let mut shutdown = self.server.shutdown.subscribe();
        let mut last_heard = Instant::now();
        let mut next_ping = last_heard + interval;
        // Something was sent since the last keepalive: tell the client
        // where the log ends once caught up, so it can confirm that far.
        let mut sent_since_keepalive = false;
        loop {
            // The client's messages first: its CopyDone ends the stream,
            // its status updates advance the slot.
            loop {
                let msg = match self.decoder.decode(&mut self.transport.rbuf) {
                    Ok(Some(m)) => m,
                    Ok(None) => break,
                    Err(e) => {
                        let info =
                            ErrorInfo::from(e.clone()).with_severity(crate::error::Severity::Fatal);
                        send_fatal(&mut self.transport, &info).await;
                        return Err(Stop::Close(Some(PgWireError::Decode(e))));
                    }
                };
                last_heard = Instant::now();
                next_ping = last_heard + interval;
                match msg {
                    FrontendMessage::CopyData(d) => match StandbyMessage::decode(d.data) {
                        Ok(StandbyMessage::StatusUpdate(status)) => {
                            tracing::trace!(flushed = %status.flushed, "standby status update");
                            if let Err(e) = stream.standby_status(&status).await {
                                return Ok(Err(e));
                            }
                            if status.reply_requested {
                                keepalive(&mut self.transport.wbuf, stream.sent_position(), false);
                            }
                        }
                        Ok(StandbyMessage::HotStandbyFeedback(feedback)) => {
                            if let Err(e) = stream.hot_standby_feedback(&feedback).await {
                                return Ok(Err(e));
                            }
                        }
                        Err(e) => {
                            let info =
                                ErrorInfo::fatal(SqlState::PROTOCOL_VIOLATION, e.to_string());
                            send_fatal(&mut self.transport, &info).await;
                            return Err(Stop::Close(Some(PgWireError::Fatal(info))));
                        }
                    },
                    FrontendMessage::CopyDone(_) => return Ok(Ok(())),
                    FrontendMessage::CopyFail(f) => {
                        return Ok(Err(ErrorInfo::new(
                            SqlState::QUERY_CANCELED,
                            format!("COPY from stdin failed: {}", f.message),
                        )));
                    }
                    FrontendMessage::Terminate(_) => return Err(Stop::Close(None)),
                    FrontendMessage::Flush(_) | FrontendMessage::Sync(_) => {}
                    other => {
                        let info = ErrorInfo::fatal(
                            SqlState::PROTOCOL_VIOLATION,
                            format!("unexpected message type \"{}\"", other.name()),
                        );
                        send_fatal(&mut self.transport, &info).await;
                        return Err(Stop::Close(Some(PgWireError::Fatal(info))));
                    }
                }
            }
            if self.shared.is_terminating() {
                return Err(Stop::Terminate);
            }
            // Changes, as long as the client keeps up: a full buffer is
            // written out (reading the client meanwhile) before the stream
            // is asked for more.
            let mut writer =
                WalWriter::new(&mut self.transport.wbuf, high_water, pg_timestamp_now());
            if let Err(e) = stream.write_changes(&mut writer) {
                return Ok(Err(e));
            }
            let (wrote, full) = (writer.wrote(), writer.is_full());
            sent_since_keepalive |= wrote;
            if full {
                self.flush_reading().await?;
                continue;
            }
            if sent_since_keepalive {
                keepalive(&mut self.transport.wbuf, stream.sent_position(), false);
                sent_since_keepalive = false;
            }
            self.transport.flush().await.map_err(io_stop)?;
            if !self.transport.rbuf.is_empty() && self.decoder_has_message() {
                continue;
            }
            // Wait for the client, for changes or for a keepalive to be due.
            let now = Instant::now();
            if now.duration_since(last_heard) >= REPLICATION_TIMEOUT.max(interval * 2) {
                tracing::info!("terminating replication: the client sent nothing for too long");
                return Err(Stop::Close(None));
            }
            let ping_at = tokio::time::Instant::from_std(next_ping);
            let shared = self.shared.clone();
            tokio::select! {
                r = self.transport.fill() => match r {
                    Ok(0) => return Err(Stop::Close(None)),
                    Ok(_) => {}
                    Err(e) => return Err(io_stop(e)),
                },
                r = stream.wait_for_changes() => if let Err(e) = r {
                    return Ok(Err(e));
                },
                _ = tokio::time::sleep_until(ping_at) => {
                    keepalive(&mut self.transport.wbuf, stream.sent_position(), true);
                    next_ping = Instant::now() + interval;
                }
                _ = shutdown.wait_for(|s| *s) => return Err(Stop::Terminate),
                _ = poll_fn(|cx| {
                    shared.register_waker(cx.waker());
                    if shared.is_terminating() { Poll::Ready(()) } else { Poll::Pending }
                }) => return Err(Stop::Terminate),
            }
        }
    }

    /// Whether the read buffer holds a whole message.
    fn decoder_has_message(&self) -> bool {
        let buf = &self.transport.rbuf;
        if buf.len() < 5 {
            return false;
        }
        let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        buf.len() > len
    }

    /// Writes the buffer out while reading ahead (bounded), so a client
    /// that sends while it reads slowly is never deadlocked.
    async fn flush_reading(&mut self) -> Flow {
        let transport = &mut self.transport;
        poll_fn(|cx| match transport.poll_flush_out(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(io_stop(e))),
            Poll::Pending => watch_connection(transport, cx, true).map(Err),
        })
        .await
    }
}

/// PostgreSQL's answer to the extended query protocol and function calls
/// on a replication connection (an ERROR; the session goes on after Sync).
pub(super) fn forbidden_in_wal_sender(msg: &FrontendMessage) -> Option<ErrorInfo> {
    let what = match msg {
        FrontendMessage::FunctionCall(_) => "fastpath function calls",
        FrontendMessage::Parse(_)
        | FrontendMessage::Bind(_)
        | FrontendMessage::Describe(_)
        | FrontendMessage::Execute(_)
        | FrontendMessage::Close(_) => "extended query protocol",
        _ => return None,
    };
    Some(ErrorInfo::new(
        SqlState::PROTOCOL_VIOLATION,
        format!("{what} not supported in a replication connection"),
    ))
}

fn keepalive(wbuf: &mut bytes::BytesMut, sent: crate::replication::Lsn, reply: bool) {
    PrimaryKeepalive {
        wal_end: sent,
        send_time: pg_timestamp_now(),
        reply_requested: reply,
    }
    .encode_framed(wbuf);
}

/// The handler's view of CREATE_REPLICATION_SLOT, with PostgreSQL's
/// checks of the options.
fn create_slot_request(
    create: &crate::replication::command::CreateReplicationSlot,
    in_block: bool,
) -> Result<CreateSlotRequest, ErrorInfo> {
    let snapshot = match create.snapshot() {
        None if create.option("snapshot").is_some() => {
            return Err(ErrorInfo::new(
                SqlState::SYNTAX_ERROR,
                "unrecognized value for CREATE_REPLICATION_SLOT option \"snapshot\"",
            ));
        }
        None | Some("export") => SnapshotAction::Export,
        Some("use") => SnapshotAction::Use,
        Some("nothing") => SnapshotAction::Nothing,
        Some(other) => {
            return Err(ErrorInfo::new(
                SqlState::SYNTAX_ERROR,
                format!(
                    "unrecognized value for CREATE_REPLICATION_SLOT option \"snapshot\": \"{other}\""
                ),
            ));
        }
    };
    for o in &create.options {
        if !matches!(
            o.name.as_str(),
            "snapshot" | "two_phase" | "reserve_wal" | "failover"
        ) {
            return Err(ErrorInfo::new(
                SqlState::SYNTAX_ERROR,
                format!("unrecognized option: {}", o.name),
            ));
        }
        if let Some(OptionValue::Number(n)) = &o.value {
            if *n > 1 && o.name != "snapshot" {
                return Err(ErrorInfo::new(
                    SqlState::SYNTAX_ERROR,
                    format!("{} requires a Boolean value", o.name),
                ));
            }
        }
    }
    let logical = matches!(create.kind, SlotKind::Logical { .. });
    // As PostgreSQL: only USE_SNAPSHOT may (and must) run in a
    // transaction, and only on a logical slot.
    if logical && snapshot == SnapshotAction::Use && !in_block {
        return Err(ErrorInfo::new(
            SqlState::NO_ACTIVE_SQL_TRANSACTION,
            "CREATE_REPLICATION_SLOT ... (SNAPSHOT 'use') must be called inside a transaction",
        ));
    }
    if in_block && logical && snapshot == SnapshotAction::Export {
        return Err(ErrorInfo::new(
            SqlState::ACTIVE_SQL_TRANSACTION,
            "CREATE_REPLICATION_SLOT ... (SNAPSHOT 'export') must not be called inside a transaction",
        ));
    }
    Ok(CreateSlotRequest {
        name: create.slot.clone(),
        temporary: create.temporary,
        kind: create.kind.clone(),
        reserve_wal: create.reserve_wal(),
        snapshot,
        two_phase: create.two_phase(),
    })
}
