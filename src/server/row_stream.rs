//! Streaming a result's rows into the write buffer, and out to the socket
//! as it fills: a result of any size needs no more memory than the
//! high-water mark.

use std::future::poll_fn;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite};

use super::connection::{Connection, Flow, Stop, io_stop, watch_connection};
use crate::api::support::sealed::{CopyDriver, ExtendedQueryDriver, FunctionCallDriver};
use crate::api::{RowSink, Rows, RowsProgress, ServerHandlers};
use crate::error::ErrorInfo;
use crate::messages::FormatCodes;
use crate::types::FieldInfo;

/// What streaming rows ended with.
pub(super) enum RowsEnd {
    /// The source is exhausted.
    Done,
    /// The row limit was reached with rows remaining.
    Suspended,
    /// The source failed or the query was cancelled.
    Failed(ErrorInfo),
}

impl<H, S, X, C, F> Connection<H, S, X, C, F>
where
    H: ServerHandlers,
    S: AsyncRead + AsyncWrite + Unpin + Send,
    X: ExtendedQueryDriver<H::Handler>,
    C: CopyDriver<H::Handler>,
    F: FunctionCallDriver<H::Handler>,
{
    /// Streams rows until the source ends, `limit` rows were sent, the
    /// source fails or the query is cancelled. Returns how it ended and the
    /// rows sent.
    pub(super) async fn send_rows(
        &mut self,
        rows: &mut Rows,
        fields: &[FieldInfo],
        formats: &FormatCodes,
        limit: u64,
    ) -> Flow<(RowsEnd, u64)> {
        let high_water = self.server.config.write_high_water;
        let cancel_on_disconnect = self.server.config.cancel_on_client_disconnect;
        let transport = &mut self.transport;
        let shared = &*self.shared;
        let scratch = &mut self.scratch;
        // Text values print as the session's TimeZone, DateStyle... say.
        let settings = self.session.format_settings();
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
                            return match watch_connection(transport, cx, cancel_on_disconnect) {
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
                )
                .with_format_settings(settings);
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
                        return match watch_connection(transport, cx, cancel_on_disconnect) {
                            Poll::Ready(stop) => Poll::Ready(Err(stop)),
                            Poll::Pending => Poll::Pending,
                        };
                    }
                }
            }
        })
        .await
    }
}
