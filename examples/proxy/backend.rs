//! One connection to a backend PostgreSQL, in raw form: the transport,
//! its buffers, and what the proxy knows about the session on it.

use std::collections::{HashMap, HashSet};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use pgwire::client::{CancelToken, Client, Transport};
use pgwire::server::peek_frame;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};

/// Backend messages can be large (a row of wide values): PostgreSQL's own
/// limit for a field is 1 GB.
pub const MAX_BACKEND_MESSAGE: usize = 1 << 30;

/// A pooled connection to a backend.
pub struct BackendConn {
    /// Unique per proxy, for logs.
    pub id: u64,
    pub io: Transport,
    pub rbuf: BytesMut,
    pub wbuf: BytesMut,
    pub cancel: CancelToken,
    pub process_id: i32,
    /// Statement hashes prepared on this connection as `pgw_<hash>`
    /// (transaction pooling).
    pub prepared: HashSet<u64>,
    /// Transaction status of the last ReadyForQuery.
    pub status: u8,
    /// The client of a session changed something a DISCARD ALL resets.
    pub dirty: bool,
    /// The tracked settings' current values on this connection.
    pub settings: super::settings::Settings,
    /// The extra settings (`options`...) the proxy set on this connection
    /// for the client it serves (or served last).
    pub extras: super::settings::Extras,
    /// This connection's span: what happens to the connection (opened,
    /// lost, reset, closed) is logged in it, whichever client it serves.
    pub span: tracing::Span,
    /// When it was opened and when it last went idle, on the pools'
    /// coarse clock (see [`super::aging`]).
    pub opened: u64,
    pub idle_since: u64,
    /// The pools' `RECONNECT` generation when it was opened.
    pub generation: u64,
    /// Its slot under `--max-server-connections`, freed when it closes.
    pub server_slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl BackendConn {
    /// Connects and authenticates; returns the connection and the
    /// parameters the backend reported.
    pub async fn connect(
        config: &pgwire::client::Config,
        id: u64,
        span: tracing::Span,
    ) -> Result<(BackendConn, HashMap<String, String>), pgwire::client::Error> {
        let client = Client::connect(config).await?;
        span.record("pid", client.process_id());
        let parts = client.into_raw_parts();
        let mut settings = super::settings::Settings::default();
        for (name, value) in &parts.parameters {
            if let Some(i) = super::settings::index_of(name) {
                settings[i] = Some(super::settings::value(value));
            }
        }
        if let Some(s) = tcp_of(&parts.transport) {
            let _ = s.set_nodelay(true);
        }
        Ok((
            BackendConn {
                id,
                io: parts.transport,
                rbuf: {
                    let mut b = parts.read_buf;
                    b.reserve(16 * 1024);
                    b
                },
                wbuf: BytesMut::with_capacity(16 * 1024),
                cancel: parts.cancel,
                process_id: parts.process_id,
                prepared: HashSet::new(),
                status: b'I',
                dirty: false,
                settings,
                extras: Vec::new(),
                span,
                opened: 0,
                idle_since: 0,
                generation: 0,
                server_slot: None,
            },
            parts.parameters,
        ))
    }

    /// Reads what the backend sent; `Ok(0)` when it closed.
    pub async fn fill(&mut self) -> io::Result<usize> {
        if self.rbuf.capacity() - self.rbuf.len() < 4096 {
            self.rbuf.reserve(64 * 1024);
        }
        self.io.read_buf(&mut self.rbuf).await
    }

    /// Writes what is queued.
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.wbuf.is_empty() {
            self.io.write_all(&self.wbuf).await?;
            self.wbuf.clear();
        }
        self.io.flush().await
    }

    /// An idle connection is alive while its socket has nothing to read:
    /// a closed socket, or a message (an admin shutdown's FATAL error),
    /// means the backend is gone. Checked without waiting.
    pub fn is_alive(&mut self) -> bool {
        if !self.rbuf.is_empty() {
            return false;
        }
        if let Transport::Tcp(s) = &self.io {
            // Asks the runtime's readiness first: no system call and no
            // waker stored when nothing arrived (the usual case, on every
            // checkout).
            let mut byte = [0u8; 1];
            return matches!(s.try_read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        }
        let mut cx = Context::from_waker(Waker::noop());
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        matches!(
            Pin::new(&mut self.io).poll_read(&mut cx, &mut buf),
            Poll::Pending
        )
    }

    /// Sends an unnamed Parse of `definition` (query, NUL, parameter types)
    /// and a Sync: `Ok(None)` if the backend accepted it, else its
    /// ErrorResponse frame.
    pub async fn check_parse(&mut self, definition: &[u8]) -> io::Result<Option<BytesMut>> {
        self.wbuf.put_u8(b'P');
        self.wbuf.put_u32((4 + 1 + definition.len()) as u32);
        self.wbuf.put_u8(0);
        self.wbuf.put_slice(definition);
        self.wbuf.put_slice(b"S\0\0\0\x04");
        self.round_trip().await
    }

    /// Sends what is queued (ending with one Query or Sync) and reads the
    /// answer up to its ReadyForQuery: `Ok(None)` if it had no error, else
    /// the first ErrorResponse frame.
    pub async fn round_trip(&mut self) -> io::Result<Option<BytesMut>> {
        let answer = tokio::time::timeout(Duration::from_secs(10), async {
            self.flush().await?;
            let mut error = None;
            loop {
                match peek_frame(&self.rbuf, MAX_BACKEND_MESSAGE)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
                {
                    Some(f) => {
                        let frame = self.rbuf.split_to(f.len);
                        match f.tag {
                            b'E' => {
                                error.get_or_insert(frame);
                            }
                            b'Z' => {
                                self.status = frame.get(5).copied().unwrap_or(b'I');
                                return Ok(error);
                            }
                            _ => {}
                        }
                    }
                    None => {
                        if self.fill().await? == 0 {
                            return Err(io::ErrorKind::UnexpectedEof.into());
                        }
                    }
                }
            }
        })
        .await;
        answer.unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
    }

    /// Ends an open transaction and/or resets the session before the
    /// connection serves another client. `Err` if the connection is not
    /// usable afterwards.
    pub async fn reset(&mut self, rollback: bool, discard: bool) -> Result<(), ()> {
        let mut owed = 0;
        for (wanted, sql) in [(rollback, "ROLLBACK"), (discard, "DISCARD ALL")] {
            if wanted {
                queue_query(&mut self.wbuf, sql);
                owed += 1;
            }
        }
        if owed == 0 {
            return Ok(());
        }
        let done = tokio::time::timeout(Duration::from_secs(5), async {
            self.flush().await.map_err(|_| ())?;
            let mut failed = false;
            while owed > 0 {
                match peek_frame(&self.rbuf, MAX_BACKEND_MESSAGE).map_err(|_| ())? {
                    Some(f) => {
                        let frame = self.rbuf.split_to(f.len);
                        match f.tag {
                            b'Z' => {
                                owed -= 1;
                                self.status = frame.get(5).copied().unwrap_or(b'I');
                            }
                            b'E' => failed = true,
                            b'S' => {
                                // RESET ALL reports the settings it changes.
                                let parsed = super::settings::parse_parameter_status(&frame[5..]);
                                if let Some((name, value)) = parsed {
                                    if let Some(i) = super::settings::index_of(name) {
                                        self.settings[i] = Some(super::settings::value(value));
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    None => {
                        if self.fill().await.map_err(|_| ())? == 0 {
                            return Err(());
                        }
                    }
                }
            }
            if failed || self.status != b'I' {
                return Err(());
            }
            Ok(())
        })
        .await;
        if discard {
            self.prepared.clear();
            self.extras.clear();
        }
        self.dirty = false;
        let done = done.unwrap_or(Err(()));
        self.span
            .in_scope(|| tracing::debug!(rollback, discard, ok = done.is_ok(), "connection reset"));
        done
    }
}

/// Appends a Query message.
pub fn queue_query(buf: &mut BytesMut, sql: &str) {
    buf.put_u8(b'Q');
    buf.put_u32((4 + sql.len() + 1) as u32);
    buf.put_slice(sql.as_bytes());
    buf.put_u8(0);
}

/// The SQLSTATE and message of an ErrorResponse frame.
pub fn error_fields(frame: &[u8]) -> (String, String) {
    let mut code = String::new();
    let mut message = String::new();
    let mut rest = frame.get(5..).unwrap_or_default();
    while let Some((&kind, after)) = rest.split_first() {
        if kind == 0 {
            break;
        }
        let Some((value, next)) = super::statements::cstr(after) else {
            break;
        };
        match kind {
            b'C' => code = String::from_utf8_lossy(value).into_owned(),
            b'M' => message = String::from_utf8_lossy(value).into_owned(),
            _ => {}
        }
        rest = next;
    }
    (code, message)
}

fn tcp_of(t: &Transport) -> Option<&tokio::net::TcpStream> {
    match t {
        Transport::Tcp(s) => Some(s),
        _ => None,
    }
}
