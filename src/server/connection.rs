//! The per-connection state machine of an authenticated session: the idle
//! loop, message dispatch and decode-error recovery. The sub-protocols live
//! beside it: `simple_query`, `extended_query`, `copy`, `row_stream`, and
//! the statement and portal store in `statement_store`.
//!
//! Output goes into one write buffer and reaches the socket when the client
//! waits for it: when no complete message is left to process, on Flush,
//! when a handler is slow, when COPY needs input, and whenever streaming
//! rows fill the buffer past its high-water mark. A pipeline of any length
//! therefore costs one write.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};

use super::ServerInner;
use super::io::{READ_AHEAD_LIMIT, Transport};
use super::row_description_cache::RowDescriptionCache;
use super::startup::send_fatal;
use super::statement_store::StatementStore;
use crate::api::support::sealed::{CopyDriver, ExtendedQueryDriver, FunctionCallDriver};
use crate::api::{AsyncMessage, ServerHandlers, Session, SessionShared};
use crate::error::{ErrorInfo, PgWireError, SqlState};
use crate::messages::{
    Bind, Close, DecodeError, Describe, Execute, FrontendDecoder, FrontendMessage, Message,
    NotificationResponse, ParameterStatus, Query, ReadyForQuery, TransactionStatus,
};

/// Why processing stopped early.
#[derive(Debug)]
pub(super) enum Stop {
    /// The connection must close (EOF, Terminate, I/O error, FATAL).
    Close(Option<PgWireError>),
    /// The server is shutting down now: say so (57P01) and close.
    Terminate,
}

pub(super) type Flow<T = ()> = Result<T, Stop>;

pub(super) fn io_stop(e: std::io::Error) -> Stop {
    Stop::Close(Some(PgWireError::Io(e)))
}

/// Where the session stands in the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// The last message sent was ReadyForQuery: the client is idle.
    Ready,
    /// Messages are being processed.
    Busy,
    /// An error in the extended protocol: messages are discarded until
    /// Sync, which then ends a failed implicit transaction.
    SkipToSync,
}

pub(crate) struct Connection<H, S, X, C, F>
where
    H: ServerHandlers,
    X: ExtendedQueryDriver<H::Handler>,
{
    pub(super) server: Arc<ServerInner<H>>,
    pub(super) transport: Transport<S>,
    pub(super) decoder: FrontendDecoder,
    pub(crate) session: Session,
    pub(super) shared: Arc<SessionShared>,
    pub(super) handler: H::Handler,
    /// How the extended query protocol is served.
    pub(super) extended: X,
    /// How COPY FROM STDIN data is received.
    pub(super) copy: C,
    /// How FunctionCall is answered.
    pub(super) function_call: F,
    /// A replication connection (`replication` startup parameter).
    pub(super) replication: bool,
    pub(super) store: StatementStore<X::Statement>,
    pub(super) phase: Phase,
    /// Notifications that arrived while a transaction was open.
    held_notifications: VecDeque<AsyncMessage>,
    pub(super) scratch: BytesMut,
    /// The last RowDescription sent.
    pub(super) row_descriptions: RowDescriptionCache,
}

impl<H, S, X, C, F> Connection<H, S, X, C, F>
where
    H: ServerHandlers,
    S: AsyncRead + AsyncWrite + Unpin + Send,
    X: ExtendedQueryDriver<H::Handler>,
    C: CopyDriver<H::Handler>,
    F: FunctionCallDriver<H::Handler>,
{
    pub(crate) fn new(
        server: Arc<ServerInner<H>>,
        transport: Transport<S>,
        decoder: FrontendDecoder,
        session: Session,
        handler: H::Handler,
        // How the optional sub-protocols are served: the server handlers'
        // `extended_query()`, `copy()` and `function_call()`.
        (extended, copy, function_call): (X, C, F),
    ) -> Self {
        let shared = session.shared().clone();
        let replication = session.client().replication().is_replication();
        Connection {
            server,
            transport,
            decoder,
            session,
            shared,
            handler,
            extended,
            copy,
            function_call,
            replication,
            store: StatementStore::new(),
            phase: Phase::Busy,
            held_notifications: VecDeque::new(),
            scratch: BytesMut::new(),
            row_descriptions: RowDescriptionCache::default(),
        }
    }

    pub(crate) fn process_id(&self) -> i32 {
        self.shared.process_id
    }

    /// Ends the session: the handler's `disconnect`, and the registry.
    pub(crate) async fn finish(mut self) {
        let _ = self.transport.flush().await;
        let server = self.server.clone();
        server.registry.unregister(&self.shared);
        server
            .handlers
            .disconnect(self.handler, &self.session)
            .await;
        tracing::info!("session ended");
    }

    /// Serves the session until it ends.
    pub(crate) async fn run(&mut self) -> Result<(), PgWireError> {
        self.ready_for_query();
        loop {
            match self.process_buffered().await {
                Ok(()) => {}
                Err(Stop::Close(e)) => return e.map_or(Ok(()), Err),
                Err(Stop::Terminate) => {
                    self.transport.wbuf.clear();
                    send_fatal(&mut self.transport, &admin_shutdown()).await;
                    return Ok(());
                }
            }
            self.deliver_async(self.phase == Phase::Ready);
            if let Err(e) = self.transport.flush().await {
                return if is_disconnect(&e) {
                    Ok(())
                } else {
                    Err(e.into())
                };
            }
            let ready = self.phase == Phase::Ready;
            if ready {
                self.transport.shrink_idle();
            }
            // Idle: wait for input, an asynchronous message, shutdown or
            // the idle timeout.
            let idle_timeout = match self.server.config.idle_session_timeout {
                Some(t)
                    if ready && self.session.transaction_status() == TransactionStatus::Idle =>
                {
                    Some(t)
                }
                _ => None,
            };
            // Borrowed field by field: the wait reads the input while it
            // watches the session's shared state and the server's shutdown.
            let (transport, shared) = (&mut self.transport, &*self.shared);
            let shutdown = &self.server.shutdown;
            let wait = async {
                // Biased: input first, and the other branches are not
                // polled at all when it is ready (tokio's random order cost
                // about 100 instructions per wake-up). A session that
                // always has input still sees a shutdown: past its grace
                // period the server terminates it while it works.
                tokio::select! {
                    biased;
                    r = transport.fill() => Wake::Input(r),
                    // A shutdown ends the session only between queries; its
                    // trigger wakes every registered session, so checking
                    // the flag here is enough.
                    terminate = poll_fn(|cx| {
                        shared.register_waker(cx.waker());
                        if shared.is_terminating() || (ready && shutdown.is_triggered()) {
                            return Poll::Ready(true);
                        }
                        if shared.has_messages() { Poll::Ready(false) } else { Poll::Pending }
                    }) => if terminate { Wake::Shutdown } else { Wake::Async },
                    _ = sleep_opt(idle_timeout) => Wake::IdleTimeout,
                }
            };
            match wait.await {
                Wake::Input(Ok(0)) => return Ok(()),
                Wake::Input(Ok(_)) | Wake::Async => {}
                Wake::Input(Err(e)) => {
                    return if is_disconnect(&e) {
                        Ok(())
                    } else {
                        Err(e.into())
                    };
                }
                Wake::Shutdown => {
                    send_fatal(&mut self.transport, &admin_shutdown()).await;
                    return Ok(());
                }
                Wake::IdleTimeout => {
                    let e = ErrorInfo::fatal(
                        SqlState::IDLE_SESSION_TIMEOUT,
                        "terminating connection due to idle-session timeout",
                    );
                    send_fatal(&mut self.transport, &e).await;
                    return Ok(());
                }
            }
        }
    }

    /// Processes every complete message in the read buffer.
    async fn process_buffered(&mut self) -> Flow {
        loop {
            // A pipeline of small requests can ask for large answers
            // (Describe of a wide table, say): write them out as they pile
            // up, so output stays bounded whatever the input.
            if self.transport.wbuf.len() >= self.server.config.write_high_water {
                self.transport.flush().await.map_err(io_stop)?;
            }
            // The messages of every extended query (Bind, Execute, Sync)
            // are read straight from the input buffer: decoded into a
            // `FrontendMessage` they would be copied whole twice more.
            if self.phase != Phase::SkipToSync && !self.replication {
                let rbuf = &mut self.transport.rbuf;
                match self.decoder.peek_typed_frame(rbuf) {
                    Some((b'S', 5)) => {
                        rbuf.advance(5);
                        self.sync().await?;
                        continue;
                    }
                    Some((b'E', total)) => {
                        if let Some(e) = rbuf.get(5..total).and_then(Execute::read_borrowed) {
                            rbuf.advance(total);
                            self.phase = Phase::Busy;
                            self.execute(e).await?;
                            continue;
                        }
                    }
                    Some((b'Q', total)) => {
                        if let Some(q) = rbuf.get(5..total).and_then(Query::read_borrowed) {
                            rbuf.advance(total);
                            self.phase = Phase::Busy;
                            self.simple_query(&q.query).await?;
                            continue;
                        }
                    }
                    // Describe of the portal between Bind and Execute:
                    // what libpq and most drivers send with every query.
                    Some((b'D', total)) => {
                        if let Some(d) = rbuf.get(5..total).and_then(Describe::read_borrowed) {
                            rbuf.advance(total);
                            self.phase = Phase::Busy;
                            self.describe(d).await?;
                            continue;
                        }
                    }
                    Some((b'C', total)) => {
                        if let Some(c) = rbuf.get(5..total).and_then(Close::read_borrowed) {
                            rbuf.advance(total);
                            self.phase = Phase::Busy;
                            self.close(c)?;
                            continue;
                        }
                    }
                    Some((b'B', total)) => {
                        if let Some(b) = rbuf.get(5..total).and_then(Bind::read_borrowed) {
                            rbuf.advance(total);
                            self.phase = Phase::Busy;
                            match self.bind_portal(b) {
                                Ok(slot) => self.finish_bind(slot).await?,
                                Err(e) => self.extended_error(&e)?,
                            }
                            continue;
                        }
                    }
                    _ => {}
                }
            }
            let msg = match self.decoder.decode(&mut self.transport.rbuf) {
                Ok(Some(m)) => m,
                Ok(None) => return Ok(()),
                Err(e) if e.is_recoverable() => {
                    self.recover_from_decode_error(e).await?;
                    continue;
                }
                Err(e) => {
                    let info = ErrorInfo::from(e.clone());
                    send_fatal(&mut self.transport, &info).await;
                    return Err(Stop::Close(Some(PgWireError::Decode(e))));
                }
            };
            if self.phase == Phase::SkipToSync
                && !matches!(
                    msg,
                    FrontendMessage::Sync(_) | FrontendMessage::Terminate(_)
                )
            {
                continue;
            }
            if self.phase == Phase::Ready {
                self.phase = Phase::Busy;
            }
            if self.replication {
                if let Some(e) = super::replication::forbidden_in_wal_sender(&msg) {
                    self.extended_error(&e)?;
                    continue;
                }
            }
            // Dispatched inline rather than through another async fn: each
            // nested future is one more copy of the message per query.
            match msg {
                FrontendMessage::Query(q) => self.simple_query(&q.query).await,
                FrontendMessage::Parse(p) => self.parse(p).await,
                FrontendMessage::Bind(b) => self.bind(b).await,
                FrontendMessage::Describe(d) => self.describe(d).await,
                FrontendMessage::Execute(e) => self.execute(e).await,
                FrontendMessage::Close(c) => self.close(c),
                FrontendMessage::Sync(_) => self.sync().await,
                FrontendMessage::Flush(_) => {
                    self.deliver_async(false);
                    self.transport.flush().await.map_err(io_stop)
                }
                FrontendMessage::Terminate(_) => Err(Stop::Close(None)),
                // Outside COPY these are leftovers of a COPY that failed:
                // ignored, as PostgreSQL does.
                FrontendMessage::CopyData(_)
                | FrontendMessage::CopyDone(_)
                | FrontendMessage::CopyFail(_) => Ok(()),
                // FunctionCall hook: answered in server/function_call.rs.
                FrontendMessage::FunctionCall(call) => {
                    self.shared.set_busy(true);
                    let answer = Self::drive(
                        &mut self.transport,
                        &self.shared,
                        self.server.config.cancel_on_client_disconnect,
                        super::function_call::answer(
                            &mut self.function_call,
                            &mut self.handler,
                            &mut self.session,
                            call,
                        ),
                    )
                    .await;
                    self.shared.set_busy(false);
                    match answer? {
                        Ok(response) => response.encode(&mut self.transport.wbuf),
                        Err(e) => self.send_error(&e)?,
                    }
                    self.ready_for_query();
                    Ok(())
                }
                other => {
                    let e = ErrorInfo::fatal(
                        SqlState::PROTOCOL_VIOLATION,
                        format!("unexpected {} message", other.name()),
                    );
                    send_fatal(&mut self.transport, &e).await;
                    Err(Stop::Close(Some(PgWireError::Fatal(e))))
                }
            }?;
        }
    }

    /// A well-framed message whose body could not be decoded: the frame was
    /// consumed whole, so the session goes on after an error, keyed on the
    /// message type as PostgreSQL does.
    async fn recover_from_decode_error(&mut self, e: DecodeError) -> Flow {
        if self.phase == Phase::Ready {
            self.phase = Phase::Busy;
        }
        let tag = e.tag();
        match tag {
            // CopyData/CopyDone/CopyFail outside COPY are ignored whatever
            // they hold, as well-formed ones are.
            Some(b'd' | b'c' | b'f') => return Ok(()),
            // Terminate closes, body or not.
            Some(b'X') => return Err(Stop::Close(None)),
            // Authentication responses are refused whatever they hold, as
            // well-formed ones are: no Sync will follow to end a skip.
            Some(b'p') => {
                let name = e.message_name().unwrap_or("PasswordMessage");
                let e = ErrorInfo::fatal(
                    SqlState::PROTOCOL_VIOLATION,
                    format!("unexpected {name} message"),
                );
                send_fatal(&mut self.transport, &e).await;
                return Err(Stop::Close(Some(PgWireError::Fatal(e))));
            }
            _ => {}
        }
        if self.phase == Phase::SkipToSync && tag != Some(b'S') {
            return Ok(());
        }
        let info = ErrorInfo::from(e);
        match tag {
            // The simple protocol (and the function call, its sibling):
            // the error, then ReadyForQuery.
            Some(b'Q' | b'F') => {
                self.send_error(&info)?;
                self.ready_for_query();
                Ok(())
            }
            // A Sync with a body still ends the extended query, as in
            // PostgreSQL: the error (unless one is being skipped), then
            // Sync's work and ReadyForQuery.
            Some(b'S') => {
                if self.phase != Phase::SkipToSync {
                    self.extended_error(&info)?;
                }
                self.sync().await
            }
            _ => self.extended_error(&info),
        }
    }

    // ----------------------------------------------------------- output

    pub(super) fn ready_for_query(&mut self) {
        let status = self.session.transaction_status();
        if status == TransactionStatus::Idle {
            self.store.end_transaction();
        }
        self.deliver_async(true);
        ReadyForQuery { status }.encode(&mut self.transport.wbuf);
        self.phase = Phase::Ready;
    }

    /// Writes queued notices and parameter changes; notifications too when
    /// `notifications` (the client is about to be, or is, idle) and no
    /// transaction is open. Others are held: as in PostgreSQL, they follow
    /// the CommandComplete of the COMMIT that ends the transaction, just
    /// before ReadyForQuery.
    #[inline]
    pub(super) fn deliver_async(&mut self, notifications: bool) {
        // Nearly always nothing to do: say so before asking anything else
        // (inline, twice per query), and deliver out of line.
        if self.held_notifications.is_empty() && !self.shared.has_messages() {
            return;
        }
        self.deliver_pending(notifications);
    }

    #[inline(never)]
    fn deliver_pending(&mut self, notifications: bool) {
        let deliver_notifications =
            notifications && self.session.transaction_status() == TransactionStatus::Idle;
        if deliver_notifications {
            while let Some(n) = self.held_notifications.pop_front() {
                encode_async(&n, &mut self.transport.wbuf);
            }
        }
        if !self.shared.has_messages() {
            return;
        }
        for m in self.shared.drain_outbox(|_| true) {
            if matches!(m, AsyncMessage::Notification { .. }) && !deliver_notifications {
                if self.held_notifications.len() < crate::api::OUTBOX_CAPACITY {
                    self.held_notifications.push_back(m);
                }
                continue;
            }
            encode_async(&m, &mut self.transport.wbuf);
        }
    }

    /// Sends an error; FATAL errors end the connection. An error inside a
    /// transaction block fails the transaction.
    pub(super) fn send_error(&mut self, e: &ErrorInfo) -> Flow {
        self.deliver_async(false);
        e.encode_error(&mut self.transport.wbuf);
        if e.is_fatal() {
            return Err(Stop::Close(Some(PgWireError::Fatal(e.clone()))));
        }
        if self.session.transaction_status() == TransactionStatus::InTransaction {
            self.session
                .set_transaction_status(TransactionStatus::Failed);
        }
        Ok(())
    }

    /// An error in the extended protocol: report it and skip to Sync.
    pub(super) fn extended_error(&mut self, e: &ErrorInfo) -> Flow {
        self.send_error(e)?;
        self.phase = Phase::SkipToSync;
        Ok(())
    }

    /// Runs a handler future while writing out pending output and
    /// watching the connection.
    ///
    /// A statement the client sent runs to its end, as in PostgreSQL: a
    /// client that closes its sending side (or sends Terminate and goes)
    /// still gets its answer, or at least its statement completed. With
    /// [`ServerConfig::with_cancel_on_client_disconnect`](super::ServerConfig::with_cancel_on_client_disconnect)
    /// the future is dropped (the statement cancelled) as soon as the
    /// client's end of the connection closes. Output that cannot be written
    /// (the client is gone entirely) always ends the session.
    pub(super) async fn drive<Fut: Future>(
        transport: &mut Transport<S>,
        shared: &SessionShared,
        cancel_on_disconnect: bool,
        fut: Fut,
    ) -> Flow<Fut::Output> {
        let mut fut = pin!(fut);
        poll_fn(|cx| {
            if shared.is_terminating() {
                return Poll::Ready(Err(Stop::Terminate));
            }
            if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                return Poll::Ready(Ok(v));
            }
            // Notices the handler sent are delivered while it works.
            if shared.has_messages() {
                drain_notices(shared, &mut transport.wbuf);
            }
            shared.register_waker(cx.waker());
            watch_connection(transport, cx, cancel_on_disconnect).map(Err)
        })
        .await
    }
}

fn admin_shutdown() -> ErrorInfo {
    ErrorInfo::fatal(
        SqlState::ADMIN_SHUTDOWN,
        "terminating connection due to administrator command",
    )
}

enum Wake {
    Input(std::io::Result<usize>),
    Async,
    Shutdown,
    IdleTimeout,
}

async fn sleep_opt(d: Option<std::time::Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

fn is_disconnect(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | NotConnected
    )
}

/// While a statement runs: writes pending output and reads ahead (bounded)
/// to notice a client that went away. `Ready` means the session must stop:
/// output could not be written, or the client's side closed and
/// `cancel_on_disconnect` is set.
pub(super) fn watch_connection<S: AsyncRead + AsyncWrite + Unpin>(
    transport: &mut Transport<S>,
    cx: &mut Context<'_>,
    cancel_on_disconnect: bool,
) -> Poll<Stop> {
    if !transport.wbuf.is_empty() {
        if let Poll::Ready(Err(e)) = transport.poll_flush_out(cx) {
            return Poll::Ready(io_stop(e));
        }
    }
    while transport.rbuf.len() < READ_AHEAD_LIMIT {
        match transport.poll_fill(cx) {
            // End of input is not the end of the client: it may still be
            // reading (a half-closed socket), and what it sent runs to its
            // end unless told otherwise.
            Poll::Ready(Ok(0)) if cancel_on_disconnect => return Poll::Ready(Stop::Close(None)),
            Poll::Ready(Ok(0)) => break,
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(io_stop(e)),
            Poll::Pending => break,
        }
    }
    Poll::Pending
}

/// Writes queued notices and parameter changes (not notifications: those
/// wait for the end of the query).
fn drain_notices(shared: &SessionShared, wbuf: &mut BytesMut) {
    for m in shared.drain_outbox(|m| !matches!(m, AsyncMessage::Notification { .. })) {
        encode_async(&m, wbuf);
    }
}

fn encode_async(m: &AsyncMessage, wbuf: &mut BytesMut) {
    match m {
        AsyncMessage::Notice(n) => n.encode_notice(wbuf),
        AsyncMessage::ParameterStatus { name, value } => {
            ParameterStatus::new(name.clone(), value.clone()).encode(wbuf)
        }
        AsyncMessage::Notification {
            process_id,
            channel,
            payload,
        } => NotificationResponse {
            process_id: *process_id,
            channel: channel.clone().into(),
            payload: payload.clone().into(),
        }
        .encode(wbuf),
    }
}
