//! The connection core: buffers, reading and writing messages, the
//! messages that can arrive at any time (notices, notifications,
//! ParameterStatus), and the count of answers still owed.

use std::collections::{HashMap, VecDeque};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::cancel::CancelToken;
use super::error::{DbError, Error};
use super::transport::Transport;
use crate::messages::{
    BackendDecoder, BackendMessage, CopyDone, CopyFail, DataRow, FrontendMessage, Message,
    ProtocolVersion, TransactionStatus, ValueList,
};

/// Bytes asked of the socket per read when the buffer is empty.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// Output is written once this much is buffered (COPY IN, long pipelines).
pub(crate) const WRITE_HIGH_WATER: usize = 256 * 1024;

/// How many notifications are kept for the caller before the oldest are
/// dropped (with a warning): a session that LISTENs but never reads must
/// not grow without bound.
pub const MAX_QUEUED_NOTIFICATIONS: usize = 10_000;

/// A NotificationResponse: `NOTIFY channel, 'payload'` from some session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The notifying backend's process id.
    pub process_id: i32,
    /// The channel.
    pub channel: String,
    /// The payload.
    pub payload: String,
}

/// What to do with notices (NoticeResponse).
pub type NoticeHandler = Box<dyn FnMut(DbError) + Send>;

/// A COPY the caller left unfinished, to be ended before the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenCopy {
    None,
    In,
    Both,
}

/// An authenticated connection to a PostgreSQL server.
///
/// One request runs at a time (`&mut self`); a request's answers are read
/// only as fast as the caller consumes them, so a large result streams
/// through a fixed-size buffer. Answers the caller abandons (a dropped
/// [`RowStream`](super::RowStream)) are skipped before the next request.
///
/// Dropping a request's future (a timeout around it) is safe while it
/// reads; dropped while it writes, the connection may hold half a message
/// and refuses further requests with [`Error::Usage`].
pub struct Client {
    pub(crate) io: Transport,
    pub(crate) read_buf: BytesMut,
    pub(crate) write_buf: BytesMut,
    pub(crate) decoder: BackendDecoder,
    pub(crate) parameters: HashMap<String, String>,
    pub(crate) status: TransactionStatus,
    pub(crate) process_id: i32,
    pub(crate) secret_key: Bytes,
    pub(crate) protocol: ProtocolVersion,
    pub(crate) notifications: VecDeque<Notification>,
    pub(crate) notice_handler: NoticeHandler,
    /// ReadyForQuery messages owed for requests already sent.
    pub(crate) pending_ready: usize,
    pub(crate) open_copy: OpenCopy,
    pub(crate) next_statement_id: u64,
    pub(crate) cancel: Option<CancelToken>,
    /// Set while a write is in progress: a caller that drops a request's
    /// future mid-write leaves a partial message on the wire, after which
    /// the connection cannot be used.
    pub(crate) write_interrupted: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("process_id", &self.process_id)
            .field("protocol", &self.protocol)
            .field("status", &self.status)
            .field("tls", &self.io.is_tls())
            .finish_non_exhaustive()
    }
}

fn default_notice_handler() -> NoticeHandler {
    Box::new(|notice: DbError| {
        tracing::info!(severity = %notice.severity, code = %notice.code, "{}", notice.message);
    })
}

impl Client {
    pub(crate) fn new(io: Transport) -> Client {
        Client {
            io,
            read_buf: BytesMut::with_capacity(READ_CHUNK),
            write_buf: BytesMut::with_capacity(8 * 1024),
            decoder: BackendDecoder::new(),
            parameters: HashMap::new(),
            status: TransactionStatus::Idle,
            process_id: 0,
            secret_key: Bytes::new(),
            protocol: ProtocolVersion::V3_0,
            notifications: VecDeque::new(),
            notice_handler: default_notice_handler(),
            pending_ready: 0,
            open_copy: OpenCopy::None,
            next_statement_id: 0,
            cancel: None,
            write_interrupted: false,
        }
    }

    /// The transaction status of the last ReadyForQuery.
    pub fn transaction_status(&self) -> TransactionStatus {
        self.status
    }

    /// A run-time parameter the server reported (ParameterStatus):
    /// `server_version`, `TimeZone`, `DateStyle`, `client_encoding`...
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(String::as_str)
    }

    /// The server's process id (BackendKeyData).
    pub fn process_id(&self) -> i32 {
        self.process_id
    }

    /// The protocol version in use (3.2, or 3.0 after the server answered
    /// NegotiateProtocolVersion).
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.protocol
    }

    /// Is the connection encrypted?
    pub fn is_tls(&self) -> bool {
        self.io.is_tls()
    }

    /// A token that cancels the running query of this connection from
    /// anywhere (another task).
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel
            .clone()
            .unwrap_or_else(|| CancelToken::unavailable(self.process_id))
    }

    /// Replaces what happens to notices (by default they are logged with
    /// `tracing` at INFO).
    pub fn set_notice_handler(&mut self, handler: impl FnMut(DbError) + Send + 'static) {
        self.notice_handler = Box::new(handler);
    }

    /// Notifications received so far, oldest first, removed from the queue.
    pub fn take_notifications(&mut self) -> impl Iterator<Item = Notification> + '_ {
        self.notifications.drain(..)
    }

    // ----------------------------------------------------------- raw level

    /// Queues a message for sending (the lower level, for proxies: the
    /// caller keeps the protocol's rules, e.g. counts its own Syncs).
    pub fn send_message(&mut self, msg: &FrontendMessage) {
        msg.encode(&mut self.write_buf);
    }

    /// Queues an already encoded message (or several) as they are, for a
    /// proxy forwarding what it does not need to understand.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.write_buf.extend_from_slice(bytes);
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.check_usable()?;
        if !self.write_buf.is_empty() {
            self.write_interrupted = true;
            self.io.write_all(&self.write_buf).await?;
            self.write_buf.clear();
            self.write_interrupted = false;
        }
        self.io.flush().await?;
        Ok(())
    }

    fn check_usable(&self) -> Result<(), Error> {
        if self.write_interrupted {
            return Err(Error::Usage(
                "the connection is unusable: an earlier request was dropped while writing".into(),
            ));
        }
        Ok(())
    }

    /// Reads the next message as the server sent it, notices and
    /// notifications included (ParameterStatus and ReadyForQuery still
    /// update [`parameter`](Self::parameter) and
    /// [`transaction_status`](Self::transaction_status)).
    pub async fn receive_message(&mut self) -> Result<BackendMessage, Error> {
        let msg = self.recv_raw().await?;
        self.observe(&msg);
        Ok(msg)
    }

    /// Writes everything queued while reading whatever the server sends
    /// meanwhile into the read buffer (not decoded yet): a long pipeline's
    /// answers would otherwise fill the socket buffers and leave both sides
    /// blocked on writing.
    pub(crate) async fn flush_while_reading(&mut self) -> Result<(), Error> {
        use std::pin::Pin;
        use std::task::Poll;
        use tokio::io::AsyncWrite;
        self.check_usable()?;
        self.write_interrupted = true;
        let mut written = 0;
        let mut closed = false;
        std::future::poll_fn(|cx| {
            loop {
                let mut progressed = false;
                if written < self.write_buf.len() {
                    match Pin::new(&mut self.io).poll_write(cx, &self.write_buf[written..]) {
                        Poll::Ready(Ok(0)) => return Poll::Ready(Err(Error::Closed)),
                        Poll::Ready(Ok(n)) => {
                            written += n;
                            progressed = true;
                        }
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                        Poll::Pending => {}
                    }
                }
                if written == self.write_buf.len() {
                    return Poll::Ready(Ok(()));
                }
                if !closed {
                    if self.read_buf.capacity() - self.read_buf.len() < 4096 {
                        self.read_buf.reserve(READ_CHUNK);
                    }
                    match tokio_util::io::poll_read_buf(
                        Pin::new(&mut self.io),
                        cx,
                        &mut self.read_buf,
                    ) {
                        // EOF: the answers so far stay buffered; the
                        // write fails next round or the reader sees them.
                        Poll::Ready(Ok(0)) => closed = true,
                        Poll::Ready(Ok(_)) => progressed = true,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                        Poll::Pending => {}
                    }
                }
                if !progressed {
                    return Poll::Pending;
                }
            }
        })
        .await?;
        self.write_buf.clear();
        self.write_interrupted = false;
        self.io.flush().await?;
        Ok(())
    }

    // -------------------------------------------------------------- core

    /// Reads more bytes; a closed socket is an error (a server closes only
    /// after a FATAL error, which is read first).
    pub(crate) async fn fill(&mut self) -> Result<(), Error> {
        if self.read_buf.capacity() - self.read_buf.len() < 4096 {
            self.read_buf.reserve(READ_CHUNK);
        }
        let n = self.io.read_buf(&mut self.read_buf).await?;
        if n == 0 {
            return Err(Error::Closed);
        }
        Ok(())
    }

    pub(crate) async fn recv_raw(&mut self) -> Result<BackendMessage, Error> {
        loop {
            if let Some(msg) = self.decoder.decode(&mut self.read_buf)? {
                return Ok(msg);
            }
            self.fill().await?;
        }
    }

    fn observe(&mut self, msg: &BackendMessage) {
        match msg {
            BackendMessage::ParameterStatus(p) => {
                self.parameters
                    .insert(p.name.as_str().to_owned(), p.value.as_str().to_owned());
            }
            BackendMessage::ReadyForQuery(r) => {
                self.status = r.status;
                self.pending_ready = self.pending_ready.saturating_sub(1);
            }
            _ => {}
        }
    }

    /// The next message a request cares about: notices go to the handler,
    /// notifications to the queue.
    pub(crate) async fn recv(&mut self) -> Result<BackendMessage, Error> {
        loop {
            // Synchronous while the buffer holds whole messages: the
            // per-row path builds no nested futures.
            if let Some(msg) = self.next_buffered()? {
                return Ok(msg);
            }
            self.fill().await?;
        }
    }

    /// The values of the DataRow at the front of the read buffer, if a
    /// whole one is there: the per-row fast path, which skips the general
    /// decoder's dispatch and the `BackendMessage` it would build. Anything
    /// else (another message, a partial or malformed frame) is left for
    /// [`recv`](Self::recv), which reports errors as usual.
    #[inline]
    pub(crate) fn take_data_row(&mut self) -> Result<Option<ValueList>, Error> {
        let Some(&[b'D', l0, l1, l2, l3]) = self.read_buf.get(..5) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
        if len < 4 || len > self.decoder.max_message_len() || self.read_buf.len() <= len {
            return Ok(None);
        }
        self.read_buf.advance(5);
        let body = self.read_buf.split_to(len - 4).freeze();
        Ok(Some(DataRow::decode_body(body)?.values))
    }

    /// Decodes the buffered messages until one a request cares about;
    /// `None` when the buffer holds no whole message.
    pub(crate) fn next_buffered(&mut self) -> Result<Option<BackendMessage>, Error> {
        while let Some(msg) = self.decoder.decode(&mut self.read_buf)? {
            if let Some(msg) = self.handle_async(msg) {
                return Ok(Some(msg));
            }
        }
        Ok(None)
    }

    /// Tracks ParameterStatus and ReadyForQuery; hands notices to the
    /// handler and queues notifications (`None` for those).
    fn handle_async(&mut self, msg: BackendMessage) -> Option<BackendMessage> {
        self.observe(&msg);
        match msg {
            BackendMessage::NoticeResponse(n) => (self.notice_handler)(DbError::from_fields(&n.0)),
            BackendMessage::NotificationResponse(n) => {
                if self.notifications.len() >= MAX_QUEUED_NOTIFICATIONS {
                    tracing::warn!("notification queue full: dropping the oldest");
                    self.notifications.pop_front();
                }
                self.notifications.push_back(Notification {
                    process_id: n.process_id,
                    channel: n.channel.as_str().to_owned(),
                    payload: n.payload.as_str().to_owned(),
                });
            }
            // ParameterStatus is tracked (observe); it may come after SET
            // at any point of a response.
            BackendMessage::ParameterStatus(_) => {}
            other => return Some(other),
        }
        None
    }

    /// Skips the answers of abandoned requests: ends an unfinished COPY and
    /// reads up to every owed ReadyForQuery.
    pub(crate) async fn drain(&mut self) -> Result<(), Error> {
        self.check_usable()?;
        match std::mem::replace(&mut self.open_copy, OpenCopy::None) {
            OpenCopy::None => {}
            OpenCopy::In => {
                CopyFail {
                    message: "COPY abandoned by the client".into(),
                }
                .encode(&mut self.write_buf);
                self.flush().await?;
            }
            OpenCopy::Both => {
                CopyDone.encode(&mut self.write_buf);
                self.flush().await?;
            }
        }
        while self.pending_ready > 0 {
            if let BackendMessage::CopyInResponse(_) = self.recv().await? {
                CopyFail {
                    message: "COPY abandoned by the client".into(),
                }
                .encode(&mut self.write_buf);
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Ends a failed request: reads to its ReadyForQuery, returns the error.
    pub(crate) async fn fail(&mut self, e: DbError) -> Error {
        if let Err(io) = self.drain().await {
            return io;
        }
        Error::from(e)
    }

    /// A message that makes no sense here: the connection can no longer be
    /// trusted, so it is closed.
    pub(crate) fn unexpected(&mut self, msg: &BackendMessage, during: &str) -> Error {
        Error::protocol(format!("unexpected {} during {during}", msg.name()))
    }

    /// Ends the session: sends Terminate and closes the socket.
    pub async fn close(mut self) -> Result<(), Error> {
        crate::messages::Terminate.encode(&mut self.write_buf);
        self.flush().await?;
        let _ = self.io.shutdown().await;
        Ok(())
    }
}
