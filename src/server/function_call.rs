//! Answering FunctionCall ('F'): the checks PostgreSQL makes, then the
//! handler the server chose in
//! [`ServerHandlers::function_call`](crate::api::ServerHandlers::function_call)
//! (0A000 by default).

use crate::api::FunctionCallRequest;
use crate::api::Session;
use crate::api::support::sealed::FunctionCallDriver;
use crate::error::{ErrorInfo, SqlState};
use crate::messages::{FunctionCall, FunctionCallResponse, TransactionStatus};

/// The answer to `call`: a FunctionCallResponse or the error to send (the
/// connection sends ReadyForQuery after either).
pub(crate) async fn answer<H, F: FunctionCallDriver<H>>(
    driver: &mut F,
    handler: &mut H,
    session: &mut Session,
    call: FunctionCall,
) -> Result<FunctionCallResponse, ErrorInfo> {
    if session.transaction_status() == TransactionStatus::Failed {
        return Err(ErrorInfo::new(
            SqlState::IN_FAILED_SQL_TRANSACTION,
            "current transaction is aborted, commands ignored until end of transaction block",
        ));
    }
    if !driver.supported() {
        return Err(ErrorInfo::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            "the function call protocol is not supported",
        ));
    }
    let request = FunctionCallRequest::new(call)?;
    tracing::debug!(oid = request.function_oid(), "function call");
    let value = driver.call(handler, session, &request).await?;
    request.check_result_format()?;
    Ok(FunctionCallResponse { value })
}
