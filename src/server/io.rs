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
/// The largest read buffer kept for pipelined batches (above
/// [`SHRINK_ABOVE`] it would be released when idle anyway).
const READ_HINT_MAX: usize = 8 * 1024;
/// While a query runs, read ahead at most this much (to notice a
/// disconnect) before leaving the socket alone.
pub(crate) const READ_AHEAD_LIMIT: usize = 64 * 1024;

pub(crate) struct Transport<S> {
    pub(crate) io: S,
    pub(crate) rbuf: BytesMut,
    pub(crate) wbuf: BytesMut,
    /// The peer closed its side.
    pub(crate) eof: bool,
    /// The most one wake-up has read (capped): a client that pipelines
    /// batches this large gets room for a whole batch in one read.
    read_hint: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Transport<S> {
    pub(crate) fn new(io: S) -> Self {
        Transport {
            io,
            rbuf: BytesMut::with_capacity(INITIAL_BUFFER),
            wbuf: BytesMut::with_capacity(INITIAL_BUFFER),
            eof: false,
            read_hint: INITIAL_BUFFER,
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
        // Written out: start the next output at the front of the buffer.
        // Otherwise it starts where this one ended, and once it reaches
        // the end of the allocation the buffer moves it back to the front,
        // a copy of up to the high-water mark per flush in a large result.
        let _ = self.wbuf.try_reclaim(self.wbuf.capacity() + 1);
        Pin::new(&mut self.io).poll_flush(cx)
    }

    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_out(cx)).await
    }

    /// Waits for input, then reads what is available. A read that filled
    /// the buffer's free space may have left more in the socket (a
    /// pipelined batch larger than the small idle buffer): it reads again
    /// into a larger buffer, so a whole batch is answered with one write
    /// rather than one per buffer-full.
    pub(crate) async fn fill(&mut self) -> io::Result<usize> {
        poll_fn(|cx| {
            if self.rbuf.capacity() - self.rbuf.len() < self.read_hint {
                self.rbuf.reserve(self.read_hint);
            }
            let mut total = 0;
            loop {
                match self.poll_fill(cx) {
                    Poll::Ready(Ok(n))
                        if n > 0
                            && self.rbuf.len() == self.rbuf.capacity()
                            && total + n < READ_AHEAD_LIMIT =>
                    {
                        total += n;
                        self.read_hint = (total * 2).min(READ_HINT_MAX);
                    }
                    Poll::Ready(Ok(n)) => return Poll::Ready(Ok(total + n)),
                    Poll::Ready(Err(e)) if total == 0 => return Poll::Ready(Err(e)),
                    // Data already read is processed first; the error
                    // comes back on the next read.
                    Poll::Ready(Err(_)) | Poll::Pending if total > 0 => {
                        return Poll::Ready(Ok(total));
                    }
                    other => return other,
                }
            }
        })
        .await
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
