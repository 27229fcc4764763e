//! The per-connection state machine of an authenticated session: reads
//! messages, runs them through the handlers and writes the answers.
//!
//! Output goes into one write buffer and reaches the socket when the client
//! waits for it: when no complete message is left to process, on Flush,
//! when a handler is slow, when COPY needs input, and whenever streaming
//! rows fill the buffer past its high-water mark. A pipeline of any length
//! therefore costs one write.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};

use super::ServerInner;
use super::io::{READ_AHEAD_LIMIT, Transport};
use super::startup::send_fatal;
use crate::api::{
    AsyncMessage, CopyFormat, CopyHandler, ExtendedQueryHandler, Portal, PortalState, QueryParser,
    QueryResponse, Response, RowSink, Rows, RowsProgress, ServerHandlers, Session, SessionShared,
    SimpleQueryHandler, StoredStatement, encode_command_complete,
};
use crate::error::{ErrorInfo, PgWireError, SqlState};
use crate::messages::{
    Bind, ByteStr, Close, CopyData, CopyDone, Describe, Execute, FormatCodes, FrontendDecoder,
    FrontendMessage, Message, NotificationResponse, ParameterDescription, ParameterStatus, Parse,
    TargetKind, TransactionStatus,
};
use crate::types::FieldInfo;

type Stmt<H> = <<H as ServerHandlers>::Handler as QueryParser>::Statement;

/// Why processing stopped early.
#[derive(Debug)]
enum Stop {
    /// The connection must close (EOF, Terminate, I/O error, FATAL).
    Close(Option<PgWireError>),
    /// The server is shutting down now: say so (57P01) and close.
    Terminate,
}

type Flow<T = ()> = Result<T, Stop>;

fn io_stop(e: std::io::Error) -> Stop {
    Stop::Close(Some(PgWireError::Io(e)))
}

/// What streaming rows ended with.
enum RowsEnd {
    /// The source is exhausted.
    Done,
    /// The row limit was reached with rows remaining.
    Suspended,
    /// The source failed or the query was cancelled.
    Failed(ErrorInfo),
}

/// A portal and where its execution stands.
struct PortalEntry<S> {
    portal: Portal<S>,
    state: PortalState,
}

pub(crate) struct Connection<H: ServerHandlers, S> {
    server: Arc<ServerInner<H>>,
    transport: Transport<S>,
    decoder: FrontendDecoder,
    pub(crate) session: Session,
    shared: Arc<SessionShared>,
    handler: Option<H::Handler>,
    statements: HashMap<ByteStr, Arc<StoredStatement<Stmt<H>>>>,
    unnamed_statement: Option<Arc<StoredStatement<Stmt<H>>>>,
    /// The named statement used last (see `statement`).
    last_statement: Option<Arc<StoredStatement<Stmt<H>>>>,
    portals: HashMap<ByteStr, PortalEntry<Stmt<H>>>,
    unnamed_portal: Option<PortalEntry<Stmt<H>>>,
    /// After an error in the extended protocol: discard until Sync.
    skip_to_sync: bool,
    /// An error happened since the last Sync (the implicit transaction
    /// failed).
    failed_since_sync: bool,
    /// Notifications that arrived while a transaction was open.
    held_notifications: VecDeque<AsyncMessage>,
    /// The last message sent was ReadyForQuery: the client is idle.
    ready: bool,
    scratch: BytesMut,
}

macro_rules! handler {
    ($self:ident) => {
        match $self.handler.as_mut() {
            Some(h) => h,
            None => return Err(Stop::Close(None)),
        }
    };
}

impl<H, S> Connection<H, S>
where
    H: ServerHandlers,
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    pub(crate) fn new(
        server: Arc<ServerInner<H>>,
        transport: Transport<S>,
        decoder: FrontendDecoder,
        session: Session,
        handler: H::Handler,
    ) -> Self {
        let shared = session.shared().clone();
        Connection {
            server,
            transport,
            decoder,
            session,
            shared,
            handler: Some(handler),
            statements: HashMap::new(),
            unnamed_statement: None,
            last_statement: None,
            portals: HashMap::new(),
            unnamed_portal: None,
            skip_to_sync: false,
            failed_since_sync: false,
            held_notifications: VecDeque::new(),
            ready: false,
            scratch: BytesMut::new(),
        }
    }

    pub(crate) fn process_id(&self) -> i32 {
        self.shared.process_id
    }

    /// Ends the session: the handler's `disconnect`, and the registry.
    pub(crate) async fn finish(&mut self, server: &ServerInner<H>) {
        let _ = self.transport.flush().await;
        server.registry.unregister(&self.shared);
        if let Some(handler) = self.handler.take() {
            server.handlers.disconnect(handler, &self.session).await;
        }
        tracing::info!("session ended");
    }

    /// Serves the session until it ends.
    pub(crate) async fn run(&mut self) -> Result<(), PgWireError> {
        self.ready_for_query();
        let mut shutdown = self.server.shutdown.subscribe();
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
            self.deliver_async();
            if let Err(e) = self.transport.flush().await {
                return if is_disconnect(&e) {
                    Ok(())
                } else {
                    Err(e.into())
                };
            }
            if self.ready {
                self.transport.shrink_idle();
            }
            // Idle: wait for input, an asynchronous message, shutdown or
            // the idle timeout.
            let idle_timeout = match self.server.config.idle_session_timeout {
                Some(t)
                    if self.ready
                        && self.session.transaction_status() == TransactionStatus::Idle =>
                {
                    Some(t)
                }
                _ => None,
            };
            let shared = self.shared.clone();
            let ready = self.ready;
            let wait = async {
                tokio::select! {
                    r = self.transport.fill() => Wake::Input(r),
                    terminate = poll_fn(|cx| {
                        shared.register_waker(cx.waker());
                        if shared.is_terminating() { return Poll::Ready(true) }
                        if shared.has_messages() { Poll::Ready(false) } else { Poll::Pending }
                    }) => if terminate { Wake::Shutdown } else { Wake::Async },
                    _ = shutdown.wait_for(|s| *s), if ready => Wake::Shutdown,
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
            let msg = match self.decoder.decode(&mut self.transport.rbuf) {
                Ok(Some(m)) => m,
                Ok(None) => return Ok(()),
                // FunctionCall hook: a malformed one is ERROR 08P01 and
                // ReadyForQuery, as PostgreSQL (its frame was consumed whole).
                Err(e) if super::function_call::is_malformed_call(&e) => {
                    if self.skip_to_sync {
                        continue;
                    }
                    self.ready = false;
                    self.send_error(&ErrorInfo::new(SqlState::PROTOCOL_VIOLATION, e.to_string()))?;
                    self.ready_for_query();
                    continue;
                }
                Err(e) if e.is_recoverable() => {
                    self.ready = false;
                    let message = match &e {
                        crate::messages::DecodeError::InvalidUtf8 { message } => *message,
                        _ => "",
                    };
                    let info = ErrorInfo::from(e);
                    match message {
                        // Ignored outside COPY whatever it holds, as a
                        // well-formed one is.
                        "CopyFail" => continue,
                        // Refused whatever they hold, as well-formed ones
                        // are: no Sync will follow to end a skip.
                        "PasswordMessage"
                        | "SASLInitialResponse"
                        | "SASLResponse"
                        | "GSSResponse" => {
                            let e = ErrorInfo::fatal(
                                SqlState::PROTOCOL_VIOLATION,
                                format!("unexpected {message} message"),
                            );
                            send_fatal(&mut self.transport, &e).await;
                            return Err(Stop::Close(Some(PgWireError::Fatal(e))));
                        }
                        _ => {}
                    }
                    if self.skip_to_sync {
                        continue;
                    }
                    if message == "Query" {
                        self.send_error(&info)?;
                        self.ready_for_query();
                    } else {
                        self.extended_error(&info)?;
                    }
                    continue;
                }
                Err(e) => {
                    let info = ErrorInfo::from(e.clone());
                    send_fatal(&mut self.transport, &info).await;
                    return Err(Stop::Close(Some(PgWireError::Decode(e))));
                }
            };
            self.ready = false;
            // Dispatched inline rather than through another async fn: each
            // nested future is one more copy of the message per query.
            if self.skip_to_sync
                && !matches!(
                    msg,
                    FrontendMessage::Sync(_) | FrontendMessage::Terminate(_)
                )
            {
                continue;
            }
            match msg {
                FrontendMessage::Query(q) => self.simple_query(&q.query).await,
                FrontendMessage::Parse(p) => self.parse(p).await,
                FrontendMessage::Bind(b) => match self.check_bind(b) {
                    Err(e) => self.extended_error(&e),
                    Ok(portal) => {
                        let handler = handler!(self);
                        let checked = Self::drive(
                            &mut self.transport,
                            &self.shared,
                            ExtendedQueryHandler::do_bind(handler, &mut self.session, &portal),
                        )
                        .await?;
                        self.finish_bind(portal, checked)
                    }
                },
                FrontendMessage::Describe(d) => self.describe(d).await,
                FrontendMessage::Execute(e) => match self.portal_for_execute(&e) {
                    Err(err) => self.extended_error(&err),
                    Ok(mut entry) => {
                        let limit = if e.max_rows <= 0 {
                            u64::MAX
                        } else {
                            e.max_rows as u64
                        };
                        self.shared.set_busy(true);
                        let result = self
                            .execute_portal(&mut entry, limit, e.max_rows.max(0) as usize)
                            .await;
                        self.shared.set_busy(false);
                        self.put_portal(entry);
                        match result? {
                            Ok(()) => Ok(()),
                            Err(err) => self.extended_error(&err),
                        }
                    }
                },
                FrontendMessage::Close(c) => self.close(c),
                FrontendMessage::Sync(_) => self.sync().await,
                FrontendMessage::Flush(_) => {
                    self.deliver_async();
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
                    let handler = handler!(self);
                    self.shared.set_busy(true);
                    let answer = Self::drive(
                        &mut self.transport,
                        &self.shared,
                        super::function_call::answer(
                            &self.server,
                            handler,
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

    // ----------------------------------------------------------- output

    fn ready_for_query(&mut self) {
        if self.session.transaction_status() == TransactionStatus::Idle {
            // The transaction ended: its portals go with it.
            self.unnamed_portal = None;
            if !self.portals.is_empty() {
                self.portals.clear();
            }
        }
        self.deliver_async();
        let wbuf = &mut self.transport.wbuf;
        wbuf.put_slice(&[b'Z', 0, 0, 0, 5, self.session.transaction_status().byte()]);
        self.ready = true;
    }

    /// Writes queued notices and parameter changes; notifications too when
    /// no transaction is open (others are held until it ends).
    fn deliver_async(&mut self) {
        let deliver_notifications = self.session.transaction_status() == TransactionStatus::Idle;
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

    /// Sends an error; FATAL errors end the connection.
    fn send_error(&mut self, e: &ErrorInfo) -> Flow {
        self.deliver_async();
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
    fn extended_error(&mut self, e: &ErrorInfo) -> Flow {
        self.send_error(e)?;
        self.skip_to_sync = true;
        self.failed_since_sync = true;
        Ok(())
    }

    /// Runs a handler future while writing out pending output and
    /// watching the connection: if the client disconnects, the future is
    /// dropped.
    async fn drive<F: Future>(
        transport: &mut Transport<S>,
        shared: &SessionShared,
        fut: F,
    ) -> Flow<F::Output> {
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
            watch_connection(transport, cx).map(Err)
        })
        .await
    }

    // ------------------------------------------------------ simple query

    async fn simple_query(&mut self, query: &ByteStr) -> Flow {
        if query
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .is_empty()
        {
            self.transport.wbuf.put_slice(&[b'I', 0, 0, 0, 4]);
            self.ready_for_query();
            return Ok(());
        }
        self.shared.set_busy(true);
        let handler = handler!(self);
        let responses = Self::drive(
            &mut self.transport,
            &self.shared,
            SimpleQueryHandler::do_query(handler, &mut self.session, query),
        )
        .await;
        let result = match responses {
            Ok(responses) => self.send_simple_responses(responses).await,
            Err(stop) => Err(stop),
        };
        self.shared.set_busy(false);
        result?;
        self.ready_for_query();
        Ok(())
    }

    async fn send_simple_responses(&mut self, mut responses: Vec<Response>) -> Flow {
        loop {
            // Whether the last response was a COPY FROM STDIN (or BOTH) that
            // succeeded: the statements after it run only now.
            let mut copied_in = false;
            for response in responses {
                copied_in = false;
                if !self.send_simple_response(response, &mut copied_in).await? {
                    return Ok(());
                }
            }
            if !copied_in {
                return Ok(());
            }
            let handler = handler!(self);
            responses = Self::drive(
                &mut self.transport,
                &self.shared,
                SimpleQueryHandler::do_query_after_copy(handler, &mut self.session),
            )
            .await?;
        }
    }

    /// Sends one response of a simple query; `Ok(false)` when it was an
    /// error, which ends the query string.
    async fn send_simple_response(
        &mut self,
        response: Response,
        copied_in: &mut bool,
    ) -> Flow<bool> {
        self.deliver_async();
        match response {
            Response::Query(q) => {
                let QueryResponse {
                    schema,
                    mut rows,
                    command,
                } = q;
                crate::types::encode_row_description_into(
                    &mut self.transport.wbuf,
                    &schema,
                    &FormatCodes::new(),
                );
                let (end, sent) = self
                    .send_rows(&mut rows, &schema, &FormatCodes::new(), u64::MAX)
                    .await?;
                match end {
                    RowsEnd::Failed(e) => {
                        self.send_error(&e)?;
                        return Ok(false);
                    }
                    RowsEnd::Done | RowsEnd::Suspended => {
                        let tag = QueryResponse::tag_parts_for(&command, sent);
                        encode_command_complete(&mut self.transport.wbuf, &command, tag.0, tag.1);
                    }
                }
            }
            Response::Error(e) => {
                self.send_error(&e)?;
                return Ok(false);
            }
            other => {
                let copy_in = matches!(other, Response::CopyIn(_) | Response::CopyBoth(_));
                if let Err(e) = self.send_plain_response(other).await? {
                    self.send_error(&e)?;
                    return Ok(false);
                }
                *copied_in = copy_in;
            }
        }
        Ok(true)
    }

    /// Sends a response that is not rows or an error (the same in both
    /// protocols). The inner error is a statement failure to report.
    async fn send_plain_response(&mut self, response: Response) -> Flow<Result<(), ErrorInfo>> {
        match response {
            Response::Execution(tag) => tag.encode(&mut self.transport.wbuf),
            Response::EmptyQuery => self.transport.wbuf.put_slice(&[b'I', 0, 0, 0, 4]),
            Response::TransactionStart(tag) => {
                tag.encode(&mut self.transport.wbuf);
                if self.session.transaction_status() == TransactionStatus::Idle {
                    self.session
                        .set_transaction_status(TransactionStatus::InTransaction);
                }
            }
            Response::TransactionEnd(tag) => {
                tag.encode(&mut self.transport.wbuf);
                self.session.set_transaction_status(TransactionStatus::Idle);
            }
            // COPY is rare next to queries: boxing its futures keeps every
            // query's future (and each idle session's memory) small.
            Response::CopyIn(c) => return Box::pin(self.copy_in(&c.format)).await,
            Response::CopyOut(c) => return Box::pin(self.copy_out(&c.format, c.data, b'H')).await,
            Response::CopyBoth(c) => {
                // Both directions: announce, then stream ours; the client's
                // data arrives through the COPY-in loop afterwards.
                match Box::pin(self.copy_out(&c.format, c.data, b'W')).await? {
                    Ok(()) => {}
                    Err(e) => return Ok(Err(e)),
                }
            }
            Response::Query(_) | Response::Error(_) => {}
        }
        Ok(Ok(()))
    }

    // ------------------------------------------------------------- rows

    /// Streams rows into the write buffer (and out to the socket as it
    /// fills) until the source ends, `limit` rows were sent, the source
    /// fails or the query is cancelled. Returns how it ended and the rows
    /// sent.
    async fn send_rows(
        &mut self,
        rows: &mut Rows,
        fields: &[FieldInfo],
        formats: &FormatCodes,
        limit: u64,
    ) -> Flow<(RowsEnd, u64)> {
        let high_water = self.server.config.write_high_water;
        let transport = &mut self.transport;
        let shared = &*self.shared;
        let scratch = &mut self.scratch;
        let mut sent = 0u64;
        let mut rounds = 0u32;
        poll_fn(|cx| {
            loop {
                if shared.is_cancel_requested() {
                    if shared.is_terminating() {
                        return Poll::Ready(Err(Stop::Terminate));
                    }
                    return Poll::Ready(Ok((RowsEnd::Failed(ErrorInfo::query_canceled()), sent)));
                }
                if transport.wbuf.len() >= high_water {
                    match transport.poll_flush_out(cx) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(io_stop(e))),
                        Poll::Pending => {
                            shared.register_waker(cx.waker());
                            return match watch_connection(transport, cx) {
                                Poll::Ready(stop) => Poll::Ready(Err(stop)),
                                Poll::Pending => Poll::Pending,
                            };
                        }
                    }
                    // Let other sessions run now and then, even when the
                    // socket always accepts data.
                    rounds += 1;
                    if rounds % 16 == 0 {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                }
                let mut sink = RowSink::new(
                    &mut transport.wbuf,
                    fields,
                    formats,
                    scratch,
                    limit - sent,
                    high_water,
                );
                let polled = rows.poll_rows(cx, &mut sink);
                sent += sink.rows_written();
                match polled {
                    Poll::Ready(Ok(RowsProgress::Done)) => {
                        return Poll::Ready(Ok((RowsEnd::Done, sent)));
                    }
                    Poll::Ready(Ok(RowsProgress::More)) => {
                        if sent >= limit {
                            return Poll::Ready(Ok((RowsEnd::Suspended, sent)));
                        }
                        if transport.wbuf.len() < high_water {
                            // A source that says "more" without filling the
                            // sink: yield rather than spin.
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Ok((RowsEnd::Failed(e), sent))),
                    Poll::Pending => {
                        // Waiting for rows: send what we have meanwhile.
                        if !transport.wbuf.is_empty() {
                            if let Poll::Ready(Err(e)) = transport.poll_flush_out(cx) {
                                return Poll::Ready(Err(io_stop(e)));
                            }
                        }
                        shared.register_waker(cx.waker());
                        return match watch_connection(transport, cx) {
                            Poll::Ready(stop) => Poll::Ready(Err(stop)),
                            Poll::Pending => Poll::Pending,
                        };
                    }
                }
            }
        })
        .await
    }

    // ------------------------------------------------------------- COPY

    /// COPY FROM STDIN: CopyInResponse, then the client's data to the
    /// handler until CopyDone or CopyFail. Flush and Sync are ignored while
    /// copying, as PostgreSQL does.
    async fn copy_in(&mut self, format: &CopyFormat) -> Flow<Result<(), ErrorInfo>> {
        crate::messages::CopyInResponse {
            format: format.format().code() as i8,
            column_formats: format.column_formats(),
        }
        .encode(&mut self.transport.wbuf);
        self.receive_copy_data().await
    }

    /// The client's side of COPY FROM STDIN (and of COPY BOTH): CopyData to
    /// the handler until CopyDone or CopyFail.
    async fn receive_copy_data(&mut self) -> Flow<Result<(), ErrorInfo>> {
        self.transport.flush().await.map_err(io_stop)?;
        let mut failed: Option<ErrorInfo> = None;
        loop {
            let msg = loop {
                match self.decoder.decode(&mut self.transport.rbuf) {
                    Ok(Some(m)) => break m,
                    Ok(None) => {}
                    Err(e) => {
                        let info = ErrorInfo::from(e.clone());
                        if e.is_recoverable() {
                            // Only CopyFail and messages that have no place
                            // in COPY carry strings: either way the COPY
                            // ends here (going on would wait for a CopyDone
                            // the client will not send).
                            let handler = handler!(self);
                            let _ = Self::drive(
                                &mut self.transport,
                                &self.shared,
                                CopyHandler::copy_fail(
                                    handler,
                                    &mut self.session,
                                    "invalid message",
                                ),
                            )
                            .await?;
                            return Ok(Err(failed.unwrap_or(info)));
                        }
                        send_fatal(&mut self.transport, &info).await;
                        return Err(Stop::Close(Some(PgWireError::Decode(e))));
                    }
                }
                match self.transport.fill().await {
                    Ok(0) => return Err(Stop::Close(None)),
                    Ok(_) => {}
                    Err(e) => return Err(io_stop(e)),
                }
            };
            let handler = handler!(self);
            match msg {
                FrontendMessage::CopyData(CopyData { data }) => {
                    if failed.is_none() {
                        let r = Self::drive(
                            &mut self.transport,
                            &self.shared,
                            CopyHandler::copy_data(handler, &mut self.session, data),
                        )
                        .await?;
                        if let Err(e) = r {
                            failed = Some(e);
                        }
                    }
                }
                FrontendMessage::CopyDone(CopyDone) => {
                    if let Some(e) = failed {
                        return Ok(Err(e));
                    }
                    let r = Self::drive(
                        &mut self.transport,
                        &self.shared,
                        CopyHandler::copy_done(handler, &mut self.session),
                    )
                    .await?;
                    return Ok(match r {
                        Ok(tag) => {
                            tag.encode(&mut self.transport.wbuf);
                            Ok(())
                        }
                        Err(e) => Err(e),
                    });
                }
                FrontendMessage::CopyFail(f) => {
                    let e = Self::drive(
                        &mut self.transport,
                        &self.shared,
                        CopyHandler::copy_fail(handler, &mut self.session, &f.message),
                    )
                    .await?;
                    return Ok(Err(failed.unwrap_or(e)));
                }
                FrontendMessage::Flush(_) | FrontendMessage::Sync(_) => {}
                FrontendMessage::Terminate(_) => return Err(Stop::Close(None)),
                other => {
                    // The COPY is over: undo it, and report the message.
                    let _ = Self::drive(
                        &mut self.transport,
                        &self.shared,
                        CopyHandler::copy_fail(handler, &mut self.session, "protocol violation"),
                    )
                    .await?;
                    return Ok(Err(ErrorInfo::new(
                        SqlState::PROTOCOL_VIOLATION,
                        format!(
                            "unexpected message type 0x{:02X} during COPY from stdin",
                            tag_of(&other)
                        ),
                    )));
                }
            }
        }
    }

    /// COPY TO STDOUT (or the server side of COPY BOTH with `tag` 'W').
    async fn copy_out(
        &mut self,
        format: &CopyFormat,
        data: crate::api::CopyStreamBox,
        tag: u8,
    ) -> Flow<Result<(), ErrorInfo>> {
        let header = crate::messages::CopyOutResponse {
            format: format.format().code() as i8,
            column_formats: format.column_formats(),
        };
        if tag == b'W' {
            crate::messages::CopyBothResponse {
                format: header.format,
                column_formats: header.column_formats,
            }
            .encode(&mut self.transport.wbuf);
        } else {
            header.encode(&mut self.transport.wbuf);
        }
        let high_water = self.server.config.write_high_water;
        let transport = &mut self.transport;
        let shared = &*self.shared;
        let mut data = data;
        let mut rows = 0u64;
        let end: Result<(), ErrorInfo> = poll_fn(|cx| {
            loop {
                if shared.is_cancel_requested() {
                    if shared.is_terminating() {
                        return Poll::Ready(Err(Stop::Terminate));
                    }
                    return Poll::Ready(Ok(Err(ErrorInfo::query_canceled())));
                }
                if transport.wbuf.len() >= high_water {
                    match transport.poll_flush_out(cx) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(io_stop(e))),
                        Poll::Pending => {
                            shared.register_waker(cx.waker());
                            return watch_connection(transport, cx).map(Err);
                        }
                    }
                }
                match data.as_mut().poll_next(cx) {
                    Poll::Ready(Some(Ok(chunk))) => {
                        CopyData { data: chunk.data }.encode(&mut transport.wbuf);
                        rows += chunk.rows;
                    }
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Ok(Err(e))),
                    Poll::Ready(None) => return Poll::Ready(Ok(Ok(()))),
                    Poll::Pending => {
                        if !transport.wbuf.is_empty() {
                            if let Poll::Ready(Err(e)) = transport.poll_flush_out(cx) {
                                return Poll::Ready(Err(io_stop(e)));
                            }
                        }
                        shared.register_waker(cx.waker());
                        return watch_connection(transport, cx).map(Err);
                    }
                }
            }
        })
        .await?;
        if let Err(e) = end {
            return Ok(Err(e));
        }
        CopyDone.encode(&mut self.transport.wbuf);
        if tag == b'W' {
            // COPY BOTH: now receive the client's side.
            return Box::pin(self.receive_copy_data()).await;
        }
        encode_command_complete(&mut self.transport.wbuf, "COPY", None, Some(rows));
        Ok(Ok(()))
    }

    // ---------------------------------------------------- extended query

    fn statement(&mut self, name: &ByteStr) -> Option<Arc<StoredStatement<Stmt<H>>>> {
        if name.is_empty() {
            return self.unnamed_statement.clone();
        }
        // Clients usually run the same named statement again and again: a
        // one-entry cache saves hashing the name each time.
        if let Some(hit) = &self.last_statement {
            if hit.name == *name {
                return Some(hit.clone());
            }
        }
        let found = self.statements.get(name).cloned();
        if found.is_some() {
            self.last_statement.clone_from(&found);
        }
        found
    }

    fn take_portal(&mut self, name: &ByteStr) -> Option<PortalEntry<Stmt<H>>> {
        if name.is_empty() {
            self.unnamed_portal.take()
        } else {
            self.portals.remove(name)
        }
    }

    fn put_portal(&mut self, entry: PortalEntry<Stmt<H>>) {
        if entry.portal.name.is_empty() {
            self.unnamed_portal = Some(entry);
        } else {
            self.portals.insert(entry.portal.name.clone(), entry);
        }
    }

    async fn parse(&mut self, p: Parse) -> Flow {
        if !p.name.is_empty() {
            if self.statements.contains_key(&p.name) {
                return self.extended_error(&ErrorInfo::new(
                    SqlState::DUPLICATE_PREPARED_STATEMENT,
                    format!("prepared statement \"{}\" already exists", p.name),
                ));
            }
            if self.statements.len() >= self.server.config.max_prepared_statements {
                return self.extended_error(&ErrorInfo::new(
                    SqlState::PROGRAM_LIMIT_EXCEEDED,
                    format!(
                        "too many prepared statements (the limit is {})",
                        self.server.config.max_prepared_statements
                    ),
                ));
            }
        }
        let handler = handler!(self);
        let parsed = Self::drive(
            &mut self.transport,
            &self.shared,
            QueryParser::parse_sql(handler, &mut self.session, &p.query, &p.param_types),
        )
        .await?;
        let statement = match parsed {
            Ok(s) => s,
            Err(e) => return self.extended_error(&e),
        };
        // Copies, so that a long-lived statement does not pin the read
        // buffer its Parse arrived in.
        let stored = Arc::new(StoredStatement {
            name: ByteStr::from(p.name.as_str().to_owned()),
            sql: ByteStr::from(p.query.as_str().to_owned()),
            param_types: p.param_types,
            statement,
        });
        if stored.name.is_empty() {
            self.unnamed_statement = Some(stored);
        } else {
            self.statements.insert(stored.name.clone(), stored);
        }
        self.transport.wbuf.put_slice(&[b'1', 0, 0, 0, 4]);
        Ok(())
    }

    /// The checks of Bind that need no handler: the statement exists, the
    /// format codes are consistent, the portal name is free. Done outside
    /// an async fn: the hot path of every extended query.
    fn check_bind(&mut self, b: Bind) -> Result<Portal<Stmt<H>>, ErrorInfo> {
        let Some(statement) = self.statement(&b.statement) else {
            let msg = if b.statement.is_empty() {
                "unnamed prepared statement does not exist".to_owned()
            } else {
                format!("prepared statement \"{}\" does not exist", b.statement)
            };
            return Err(ErrorInfo::new(SqlState::INVALID_SQL_STATEMENT_NAME, msg));
        };
        let nparams = b.params.len();
        if let Some(expected) = self
            .handler
            .as_ref()
            .and_then(|h| h.parameter_count(&statement.statement))
        {
            if expected != nparams {
                let name = if b.statement.is_empty() {
                    ""
                } else {
                    &*b.statement
                };
                return Err(ErrorInfo::new(
                    SqlState::PROTOCOL_VIOLATION,
                    format!(
                        "bind message supplies {nparams} parameters, but prepared statement \"{name}\" requires {expected}"
                    ),
                ));
            }
        }
        let nformats = b.param_formats.len();
        if nformats > 1 && nformats != nparams {
            return Err(ErrorInfo::new(
                SqlState::PROTOCOL_VIOLATION,
                format!("bind message has {nformats} parameter formats but {nparams} parameters"),
            ));
        }
        if let Some(bad) = b
            .param_formats
            .iter()
            .chain(b.result_formats.iter())
            .find(|c| !matches!(c, 0 | 1))
        {
            return Err(ErrorInfo::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("unsupported format code: {bad}"),
            ));
        }
        if !b.portal.is_empty() {
            if self.portals.contains_key(&b.portal) {
                return Err(ErrorInfo::new(
                    SqlState::DUPLICATE_CURSOR,
                    format!("cursor \"{}\" already exists", b.portal),
                ));
            }
            if self.portals.len() >= self.server.config.max_portals {
                return Err(ErrorInfo::new(
                    SqlState::PROGRAM_LIMIT_EXCEEDED,
                    format!(
                        "too many portals (the limit is {})",
                        self.server.config.max_portals
                    ),
                ));
            }
        }
        // The unnamed portal is replaced by the next unnamed Bind.
        if b.portal.is_empty() {
            self.unnamed_portal = None;
        }
        Ok(Portal::new(b, statement))
    }

    /// Stores a bound portal once the handler accepted it.
    fn finish_bind(&mut self, portal: Portal<Stmt<H>>, checked: Result<(), ErrorInfo>) -> Flow {
        if let Err(e) = checked {
            return self.extended_error(&e);
        }
        self.put_portal(PortalEntry {
            portal,
            state: PortalState::Ready,
        });
        self.transport.wbuf.put_slice(&[b'2', 0, 0, 0, 4]);
        Ok(())
    }

    async fn describe(&mut self, d: Describe) -> Flow {
        match d.kind {
            TargetKind::Statement => {
                let Some(statement) = self.statement(&d.name) else {
                    return self.extended_error(&ErrorInfo::new(
                        SqlState::INVALID_SQL_STATEMENT_NAME,
                        if d.name.is_empty() {
                            "unnamed prepared statement does not exist".to_owned()
                        } else {
                            format!("prepared statement \"{}\" does not exist", d.name)
                        },
                    ));
                };
                let handler = handler!(self);
                let described = Self::drive(
                    &mut self.transport,
                    &self.shared,
                    ExtendedQueryHandler::do_describe_statement(
                        handler,
                        &mut self.session,
                        &statement,
                    ),
                )
                .await?;
                match described {
                    Ok(desc) => {
                        ParameterDescription {
                            types: desc.parameters.iter().map(|t| t.oid()).collect(),
                        }
                        .encode(&mut self.transport.wbuf);
                        match desc.fields {
                            Some(fields) => crate::types::encode_row_description_into(
                                &mut self.transport.wbuf,
                                &fields,
                                &FormatCodes::new(),
                            ),
                            None => self.transport.wbuf.put_slice(&[b'n', 0, 0, 0, 4]),
                        }
                        Ok(())
                    }
                    Err(e) => self.extended_error(&e),
                }
            }
            TargetKind::Portal => {
                let Some(entry) = self.take_portal(&d.name) else {
                    return self.extended_error(&ErrorInfo::new(
                        SqlState::INVALID_CURSOR_NAME,
                        format!("portal \"{}\" does not exist", d.name),
                    ));
                };
                let schema = match &entry.state {
                    PortalState::Suspended { schema, .. } => Ok(Some(schema.clone())),
                    _ => {
                        let handler = match self.handler.as_mut() {
                            Some(h) => h,
                            None => return Err(Stop::Close(None)),
                        };
                        Self::drive(
                            &mut self.transport,
                            &self.shared,
                            ExtendedQueryHandler::do_describe_portal(
                                handler,
                                &mut self.session,
                                &entry.portal,
                            ),
                        )
                        .await?
                    }
                };
                let formats = entry.portal.result_formats.clone();
                self.put_portal(entry);
                match schema {
                    Ok(Some(fields)) => {
                        if let Err(e) = check_result_formats(&formats, fields.len()) {
                            return self.extended_error(&e);
                        }
                        crate::types::encode_row_description_into(
                            &mut self.transport.wbuf,
                            &fields,
                            &formats,
                        );
                        Ok(())
                    }
                    Ok(None) => {
                        self.transport.wbuf.put_slice(&[b'n', 0, 0, 0, 4]);
                        Ok(())
                    }
                    Err(e) => self.extended_error(&e),
                }
            }
        }
    }

    /// Finds the portal of an Execute; the error to report if there is
    /// none.
    fn portal_for_execute(&mut self, e: &Execute) -> Result<PortalEntry<Stmt<H>>, ErrorInfo> {
        self.take_portal(&e.portal).ok_or_else(|| {
            ErrorInfo::new(
                SqlState::INVALID_CURSOR_NAME,
                format!("portal \"{}\" does not exist", e.portal),
            )
        })
    }

    async fn execute_portal(
        &mut self,
        entry: &mut PortalEntry<Stmt<H>>,
        limit: u64,
        max_rows: usize,
    ) -> Flow<Result<(), ErrorInfo>> {
        let portal = &entry.portal;
        let state = std::mem::replace(&mut entry.state, PortalState::Done);
        let (schema, mut rows, command, already) = match state {
            PortalState::Suspended {
                schema,
                rows,
                command,
                sent,
            } => (schema, rows, command, sent),
            PortalState::Done => {
                // Running a finished portal again returns no more rows.
                encode_command_complete(&mut self.transport.wbuf, "SELECT", None, Some(0));
                return Ok(Ok(()));
            }
            PortalState::Ready => {
                let handler = handler!(self);
                let response = Self::drive(
                    &mut self.transport,
                    &self.shared,
                    ExtendedQueryHandler::do_query(handler, &mut self.session, portal, max_rows),
                )
                .await?;
                match response {
                    Response::Query(q) => {
                        if let Err(e) = check_result_formats(&portal.result_formats, q.schema.len())
                        {
                            return Ok(Err(e));
                        }
                        (q.schema, q.rows, q.command, 0)
                    }
                    Response::Error(e) => return Ok(Err(e)),
                    other => return self.send_plain_response(other).await,
                }
            }
        };
        let formats = portal.result_formats.clone();
        let (end, sent) = self.send_rows(&mut rows, &schema, &formats, limit).await?;
        match end {
            RowsEnd::Failed(e) => Ok(Err(e)),
            RowsEnd::Done => {
                let (oid, count) = QueryResponse::tag_parts_for(&command, sent);
                encode_command_complete(&mut self.transport.wbuf, &command, oid, count);
                Ok(Ok(()))
            }
            RowsEnd::Suspended => {
                self.transport.wbuf.put_slice(&[b's', 0, 0, 0, 4]);
                entry.state = PortalState::Suspended {
                    schema,
                    rows,
                    command,
                    sent: already + sent,
                };
                Ok(Ok(()))
            }
        }
    }

    fn close(&mut self, c: Close) -> Flow {
        match c.kind {
            TargetKind::Statement => {
                // Portals bound from the statement stay usable: the
                // protocol chapter says closing a statement closes them, but
                // PostgreSQL 15 keeps them (checked), and that is what
                // clients meet.
                if c.name.is_empty() {
                    self.unnamed_statement = None;
                } else {
                    self.last_statement = None;
                    self.statements.remove(&c.name);
                }
            }
            TargetKind::Portal => {
                self.take_portal(&c.name);
            }
        }
        // Closing something that does not exist is not an error.
        self.transport.wbuf.put_slice(&[b'3', 0, 0, 0, 4]);
        Ok(())
    }

    async fn sync(&mut self) -> Flow {
        self.skip_to_sync = false;
        let failed = std::mem::take(&mut self.failed_since_sync);
        let handler = handler!(self);
        let synced = Self::drive(
            &mut self.transport,
            &self.shared,
            ExtendedQueryHandler::on_sync(handler, &mut self.session, failed),
        )
        .await?;
        if let Err(e) = synced {
            self.send_error(&e)?;
        }
        self.ready_for_query();
        Ok(())
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

/// While a query runs: writes pending output and reads ahead (bounded) to
/// notice a client that went away. `Ready` means the connection is gone.
fn watch_connection<S: AsyncRead + AsyncWrite + Unpin>(
    transport: &mut Transport<S>,
    cx: &mut Context<'_>,
) -> Poll<Stop> {
    if !transport.wbuf.is_empty() {
        if let Poll::Ready(Err(e)) = transport.poll_flush_out(cx) {
            return Poll::Ready(io_stop(e));
        }
    }
    while transport.rbuf.len() < READ_AHEAD_LIMIT {
        match transport.poll_fill(cx) {
            Poll::Ready(Ok(0)) => return Poll::Ready(Stop::Close(None)),
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

fn tag_of(m: &FrontendMessage) -> u8 {
    let mut b = BytesMut::new();
    m.encode(&mut b);
    b.first().copied().unwrap_or(0)
}

/// The result formats of a portal must be none, one, or one per column.
fn check_result_formats(formats: &FormatCodes, columns: usize) -> Result<(), ErrorInfo> {
    let n = formats.len();
    if n > 1 && n != columns {
        return Err(ErrorInfo::new(
            SqlState::PROTOCOL_VIOLATION,
            format!("bind message has {n} result formats but query has {columns} columns"),
        ));
    }
    Ok(())
}
