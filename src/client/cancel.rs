//! Cancelling a running query: a CancelRequest on a new connection of the
//! same kind (TCP, TLS, Unix socket) with the key from BackendKeyData.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::config::{Config, Host, Target};
use super::connect::open_transport;
use super::error::Error;
use crate::messages::{CancelRequest, Message};

/// Cancels the query running on the connection it came from
/// ([`Client::cancel_token`](super::Client::cancel_token)). Cheap to clone;
/// usable from any task. With protocol 3.2 the key may be longer than 4
/// bytes; it is sent as received.
#[derive(Debug, Clone)]
pub struct CancelToken {
    process_id: i32,
    secret_key: Bytes,
    target: Option<(Target, Arc<Config>)>,
}

impl CancelToken {
    pub(crate) fn new(
        process_id: i32,
        secret_key: Bytes,
        target: Target,
        config: Arc<Config>,
    ) -> Self {
        CancelToken {
            process_id,
            secret_key,
            target: Some((target, config)),
        }
    }

    pub(crate) fn unavailable(process_id: i32) -> Self {
        CancelToken {
            process_id,
            secret_key: Bytes::new(),
            target: None,
        }
    }

    /// The process id the cancel is for.
    pub fn process_id(&self) -> i32 {
        self.process_id
    }

    /// Sends the CancelRequest. Success means it was delivered; whether a
    /// query was running and stopped shows on the original connection
    /// (error 57014).
    pub async fn cancel(&self) -> Result<(), Error> {
        let Some((target, config)) = &self.target else {
            return Err(Error::Usage(
                "the server sent no BackendKeyData: this connection cannot be cancelled".into(),
            ));
        };
        if self.secret_key.is_empty() {
            return Err(Error::Usage("no cancel key".into()));
        }
        let (mut io, _) = open_transport(config, target).await?;
        let mut buf = BytesMut::new();
        CancelRequest {
            process_id: self.process_id,
            secret_key: self.secret_key.clone(),
        }
        .encode(&mut buf);
        io.write_all(&buf).await?;
        io.flush().await?;
        // The server closes the connection without answering; waiting for
        // that keeps the request from being lost in a reset.
        let mut scratch = [0u8; 16];
        let _ = io.read(&mut scratch).await;
        Ok(())
    }

    /// Where the cancel goes, for logs.
    pub fn describe(&self) -> String {
        match &self.target {
            Some((
                Target {
                    host: Host::Unix(d),
                    port,
                },
                _,
            )) => format!("{}/.s.PGSQL.{port}", d.display()),
            Some((t, _)) => format!("{}:{}", t.host_name(), t.port),
            None => "nowhere".into(),
        }
    }
}
