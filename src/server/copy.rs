//! COPY: FROM STDIN (the client's data to the handler), TO STDOUT (a
//! stream of data to the client) and BOTH.

use std::future::poll_fn;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite};

use super::connection::{Connection, Flow, Stop, io_stop, watch_connection};
use super::startup::send_fatal;
use crate::api::support::sealed::{CopyDriver, ExtendedQueryDriver, FunctionCallDriver};
use crate::api::{CopyFormat, CopyStreamBox, ServerHandlers};
use crate::error::{ErrorInfo, PgWireError, SqlState};
use crate::messages::{
    CommandComplete, CopyBothResponse, CopyData, CopyDone, CopyInResponse, CopyOutResponse,
    FrontendMessage, Message,
};

impl<H, S, X, C, F> Connection<H, S, X, C, F>
where
    H: ServerHandlers,
    S: AsyncRead + AsyncWrite + Unpin + Send,
    X: ExtendedQueryDriver<H::Handler>,
    C: CopyDriver<H::Handler>,
    F: FunctionCallDriver<H::Handler>,
{
    /// COPY FROM STDIN: CopyInResponse, then the client's data to the
    /// handler until CopyDone or CopyFail. Flush and Sync are ignored while
    /// copying, as PostgreSQL does.
    pub(super) async fn copy_in(&mut self, format: &CopyFormat) -> Flow<Result<(), ErrorInfo>> {
        CopyInResponse {
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
        let cancel_on_disconnect = self.server.config.cancel_on_client_disconnect;
        let mut failed: Option<ErrorInfo> = None;
        loop {
            let msg = loop {
                match self.decoder.decode(&mut self.transport.rbuf) {
                    Ok(Some(m)) => break m,
                    Ok(None) => {}
                    Err(e) => {
                        let info = ErrorInfo::from(e.clone());
                        if e.is_recoverable() {
                            // A frame that could not be decoded: either way
                            // the COPY ends here (going on would wait for a
                            // CopyDone the client will not send).
                            let _ = Self::drive(
                                &mut self.transport,
                                &self.shared,
                                cancel_on_disconnect,
                                self.copy.copy_fail(
                                    &mut self.handler,
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
            match msg {
                FrontendMessage::CopyData(CopyData { data }) => {
                    if failed.is_none() {
                        let r = Self::drive(
                            &mut self.transport,
                            &self.shared,
                            cancel_on_disconnect,
                            self.copy
                                .copy_data(&mut self.handler, &mut self.session, data),
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
                        cancel_on_disconnect,
                        self.copy.copy_done(&mut self.handler, &mut self.session),
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
                        cancel_on_disconnect,
                        self.copy
                            .copy_fail(&mut self.handler, &mut self.session, &f.message),
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
                        cancel_on_disconnect,
                        self.copy.copy_fail(
                            &mut self.handler,
                            &mut self.session,
                            "protocol violation",
                        ),
                    )
                    .await?;
                    return Ok(Err(ErrorInfo::new(
                        SqlState::PROTOCOL_VIOLATION,
                        format!(
                            "unexpected message type 0x{:02X} during COPY from stdin",
                            other.type_byte().unwrap_or(0)
                        ),
                    )));
                }
            }
        }
    }

    /// COPY TO STDOUT, or the server side of COPY BOTH (`both`).
    pub(super) async fn copy_out(
        &mut self,
        format: &CopyFormat,
        data: CopyStreamBox,
        both: bool,
    ) -> Flow<Result<(), ErrorInfo>> {
        let format_code = format.format().code() as i8;
        if both {
            CopyBothResponse {
                format: format_code,
                column_formats: format.column_formats(),
            }
            .encode(&mut self.transport.wbuf);
        } else {
            CopyOutResponse {
                format: format_code,
                column_formats: format.column_formats(),
            }
            .encode(&mut self.transport.wbuf);
        }
        let high_water = self.server.config.write_high_water;
        let cancel_on_disconnect = self.server.config.cancel_on_client_disconnect;
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
                            return watch_connection(transport, cx, cancel_on_disconnect).map(Err);
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
                        return watch_connection(transport, cx, cancel_on_disconnect).map(Err);
                    }
                }
            }
        })
        .await?;
        if let Err(e) = end {
            return Ok(Err(e));
        }
        CopyDone.encode(&mut self.transport.wbuf);
        if both {
            // COPY BOTH: now receive the client's side.
            return Box::pin(self.receive_copy_data()).await;
        }
        CommandComplete::encode_parts(&mut self.transport.wbuf, "COPY", None, Some(rows));
        Ok(Ok(()))
    }
}
