//! The simple query protocol (Query), and the responses both protocols
//! share.

use tokio::io::{AsyncRead, AsyncWrite};

use super::connection::{Connection, Flow};
use super::row_stream::RowsEnd;
use crate::api::support::sealed::{CopyDriver, ExtendedQueryDriver, FunctionCallDriver};
use crate::api::{QueryResponse, Response, Responses, ServerHandlers, SimpleQueryHandler};
use crate::error::ErrorInfo;
use crate::messages::{ByteStr, EmptyQueryResponse, FormatCodes, Message};

impl<H, S, X, C, F> Connection<H, S, X, C, F>
where
    H: ServerHandlers,
    S: AsyncRead + AsyncWrite + Unpin + Send,
    X: ExtendedQueryDriver<H::Handler>,
    C: CopyDriver<H::Handler>,
    F: FunctionCallDriver<H::Handler>,
{
    pub(super) async fn simple_query(&mut self, query: &ByteStr) -> Flow {
        if query.bytes().all(|b| b.is_ascii_whitespace()) {
            EmptyQueryResponse.encode(&mut self.transport.wbuf);
            self.ready_for_query();
            return Ok(());
        }
        // Replication commands on a replication connection (boxed: rare,
        // and its future would otherwise enlarge every session's).
        if self.replication {
            if let Some(flow) = Box::pin(self.replication_query(query)).await {
                return flow;
            }
        }
        self.shared.set_busy(true);
        let responses = Self::drive(
            &mut self.transport,
            &self.shared,
            self.server.config.cancel_on_client_disconnect,
            SimpleQueryHandler::do_query(&mut self.handler, &mut self.session, query),
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

    pub(super) async fn send_simple_responses(&mut self, mut responses: Responses) -> Flow {
        loop {
            // Whether the last response was a COPY FROM STDIN (or BOTH) that
            // succeeded: the statements after it run only now.
            let mut copied_in = false;
            // Answered in place: a response is over a hundred bytes, and
            // moving each out of the list costs more than sending its tag.
            for response in responses.as_mut_slice() {
                copied_in = false;
                if !self.send_simple_response(response, &mut copied_in).await? {
                    return Ok(());
                }
            }
            if !copied_in {
                return Ok(());
            }
            responses = Self::drive(
                &mut self.transport,
                &self.shared,
                self.server.config.cancel_on_client_disconnect,
                SimpleQueryHandler::do_query_after_copy(&mut self.handler, &mut self.session),
            )
            .await?;
        }
    }

    /// Sends one response of a simple query; `Ok(false)` when it was an
    /// error, which ends the query string.
    async fn send_simple_response(
        &mut self,
        response: &mut Response,
        copied_in: &mut bool,
    ) -> Flow<bool> {
        self.deliver_async(false);
        match response {
            Response::Query(q) => {
                let QueryResponse { schema, rows, tag } = q;
                self.row_descriptions
                    .encode(&mut self.transport.wbuf, schema, &FormatCodes::new());
                let (end, sent) = self
                    .send_rows(rows, schema, &FormatCodes::new(), u64::MAX)
                    .await?;
                match end {
                    RowsEnd::Failed(e) => {
                        self.send_error(&e)?;
                        return Ok(false);
                    }
                    RowsEnd::Done | RowsEnd::Suspended => {
                        tag.encode_with_rows(&mut self.transport.wbuf, sent);
                    }
                }
            }
            Response::Error(e) => {
                self.send_error(e)?;
                return Ok(false);
            }
            other => {
                let copy_in = matches!(other, Response::CopyIn(_) | Response::CopyBoth(_));
                let other = std::mem::replace(other, Response::EmptyQuery);
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
    pub(super) async fn send_plain_response(
        &mut self,
        response: Response,
    ) -> Flow<Result<(), ErrorInfo>> {
        match response {
            Response::Execution(tag) => tag.encode(&mut self.transport.wbuf),
            Response::EmptyQuery => EmptyQueryResponse.encode(&mut self.transport.wbuf),
            // COPY is rare next to queries: boxing its futures keeps every
            // query's future (and each idle session's memory) small.
            Response::CopyIn(c) => return Box::pin(self.copy_in(&c.format)).await,
            Response::CopyOut(c) => {
                return Box::pin(self.copy_out(&c.format, c.data, false)).await;
            }
            Response::CopyBoth(c) => {
                // Both directions: announce, then stream ours; the client's
                // data arrives through the COPY-in loop afterwards.
                match Box::pin(self.copy_out(&c.format, c.data, true)).await? {
                    Ok(()) => {}
                    Err(e) => return Ok(Err(e)),
                }
            }
            Response::Query(_) | Response::Error(_) => {}
        }
        Ok(Ok(()))
    }
}
