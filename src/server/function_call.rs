//! Answering FunctionCall ('F'): checks as PostgreSQL makes them, then the
//! [`FunctionCallHandler`] if the server enabled it
//! ([`Server::with_function_calls`]), else 0A000.
//!
//! The handler is reached through a function pointer stored when it is
//! enabled, so [`ServerHandlers::Handler`] needs no extra bound: servers
//! without function calls implement nothing.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use super::{Server, ServerInner};
use crate::api::{FunctionCallHandler, FunctionCallRequest, ServerHandlers, Session};
use crate::error::{ErrorInfo, SqlState};
use crate::messages::{FunctionCall, FunctionCallResponse, TransactionStatus};

type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<Bytes>, ErrorInfo>> + Send + 'a>>;

/// `FunctionCallHandler::call_function` for one handler type.
type CallFn<T> = for<'a> fn(&'a mut T, &'a mut Session, &'a FunctionCallRequest) -> CallFuture<'a>;

/// A [`CallFn`] of the server's handler type, type-erased (the server
/// struct has no `ServerHandlers` bound to name the type with).
pub(crate) type Dispatch = Box<dyn Any + Send + Sync>;

fn call<'a, T: FunctionCallHandler>(
    handler: &'a mut T,
    session: &'a mut Session,
    request: &'a FunctionCallRequest,
) -> CallFuture<'a> {
    // Boxed once per call: function calls are not a row-level hot path.
    Box::pin(handler.call_function(session, request))
}

impl<H: ServerHandlers> Server<H>
where
    H::Handler: FunctionCallHandler,
{
    /// Answers FunctionCall messages with the handler's
    /// [`FunctionCallHandler`] (by default they are refused with 0A000).
    pub fn with_function_calls(self) -> Self {
        let f: CallFn<H::Handler> = call::<H::Handler>;
        let _ = self.inner.function_calls.set(Box::new(f));
        self
    }
}

/// The answer to `call`: a FunctionCallResponse or the error to send (the
/// connection sends ReadyForQuery after either).
pub(crate) async fn answer<H: ServerHandlers>(
    server: &ServerInner<H>,
    handler: &mut H::Handler,
    session: &mut Session,
    call: FunctionCall,
) -> Result<FunctionCallResponse, ErrorInfo> {
    if session.transaction_status() == TransactionStatus::Failed {
        return Err(ErrorInfo::new(
            SqlState::IN_FAILED_SQL_TRANSACTION,
            "current transaction is aborted, commands ignored until end of transaction block",
        ));
    }
    let Some(f) = server
        .function_calls
        .get()
        .and_then(|d| d.downcast_ref::<CallFn<H::Handler>>())
    else {
        return Err(ErrorInfo::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            "the function call protocol is not supported",
        ));
    };
    let request = FunctionCallRequest::new(call)?;
    tracing::debug!(oid = request.function_oid(), "function call");
    let value = f(handler, session, &request).await?;
    request.check_result_format()?;
    Ok(FunctionCallResponse { value })
}
