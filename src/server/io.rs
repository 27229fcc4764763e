//! A connection's buffered transport: the read buffer frames are decoded
//! from and the write buffer every message is encoded into, with the
//! poll-level read/write steps the connection drives concurrently with its
//! handlers.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};

/// Initial (and idle) size of each buffer: small, so idle sessions cost
/// little; they grow with the traffic and shrink back when idle.
pub(crate) const INITIAL_BUFFER: usize = 512;
/// Above this capacity an idle buffer is replaced by a small one.
const SHRINK_ABOVE: usize = 16 * 1024;
/// While a query runs, read ahead at most this much (to notice a
/// disconnect) before leaving the socket alone.
pub(crate) const READ_AHEAD_LIMIT: usize = 64 * 1024;

pub(crate) struct Transport<S> {
    pub(crate) io: S,
    pub(crate) rbuf: BytesMut,
    pub(crate) wbuf: BytesMut,
    /// The peer closed its side.
    pub(crate) eof: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Transport<S> {
    pub(crate) fn new(io: S) -> Self {
        Transport {
            io,
            rbuf: BytesMut::with_capacity(INITIAL_BUFFER),
            wbuf: BytesMut::with_capacity(INITIAL_BUFFER),
            eof: false,
        }
    }

    /// Reads what is available into the read buffer. Ready(Ok(0)) at EOF.
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.eof {
            return Poll::Ready(Ok(0));
        }
        if self.rbuf.capacity() - self.rbuf.len() < 128 {
            // Grow by at least what we had: amortised doubling for large
            // messages, and a whole small buffer otherwise.
            let extra = self.rbuf.len().max(INITIAL_BUFFER);
            self.rbuf.reserve(extra);
        }
        match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.rbuf) {
            Poll::Ready(Ok(0)) => {
                self.eof = true;
                Poll::Ready(Ok(0))
            }
            other => other,
        }
    }

    /// Writes the write buffer out (and flushes the transport).
    pub(crate) fn poll_flush_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.wbuf.is_empty() {
            match Pin::new(&mut self.io).poll_write(cx, &self.wbuf) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => self.wbuf.advance(n),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_out(cx)).await
    }

    pub(crate) async fn fill(&mut self) -> io::Result<usize> {
        poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// Releases buffer memory a large message or result left behind.
    pub(crate) fn shrink_idle(&mut self) {
        if self.wbuf.is_empty() && self.wbuf.capacity() > SHRINK_ABOVE {
            self.wbuf = BytesMut::with_capacity(INITIAL_BUFFER);
        }
        if self.rbuf.is_empty() && self.rbuf.capacity() > SHRINK_ABOVE {
            self.rbuf = BytesMut::with_capacity(INITIAL_BUFFER);
        }
    }
}
