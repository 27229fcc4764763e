//! Notifications (LISTEN/NOTIFY) as a stream: read from the socket while
//! the connection is idle, between requests.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::connection::{Client, Notification, READ_CHUNK};
use super::error::{DbError, Error};
use crate::messages::BackendMessage;

/// The notifications of a connection as a [`Stream`]
/// ([`Client::notifications`]): waits on the socket while idle, yields
/// queued notifications first. Ends after yielding an error (the server
/// closed the connection, or sent something other than asynchronous
/// messages while idle). Dropping it loses nothing: notifications not yet
/// yielded stay queued in the [`Client`].
#[derive(Debug)]
pub struct Notifications<'a> {
    client: &'a mut Client,
    failed: bool,
}

impl Client {
    /// The notifications of this connection as a [`Stream`], waiting for
    /// them while the connection is idle. Skips the answers of abandoned
    /// requests first. While the stream lives it borrows the connection;
    /// drop it to run queries (notifications arriving meanwhile are
    /// queued and yielded by the next stream or
    /// [`next_notification`](Self::next_notification)).
    pub async fn notifications(&mut self) -> Result<Notifications<'_>, Error> {
        self.drain().await?;
        Ok(Notifications {
            client: self,
            failed: false,
        })
    }

    /// Waits for the next notification (LISTEN), reading from the server
    /// while idle. Cancel-safe: dropping the future loses nothing.
    pub async fn next_notification(&mut self) -> Result<Notification, Error> {
        self.drain().await?;
        std::future::poll_fn(|cx| self.poll_notification(cx)).await
    }

    /// The next queued notification, else reads from the socket; only
    /// asynchronous messages may arrive between requests.
    fn poll_notification(&mut self, cx: &mut Context<'_>) -> Poll<Result<Notification, Error>> {
        loop {
            if let Some(n) = self.notifications.pop_front() {
                return Poll::Ready(Ok(n));
            }
            match self.next_buffered() {
                Err(e) => return Poll::Ready(Err(e)),
                // A FATAL error while idle: the session was terminated
                // (pg_terminate_backend, shutdown, idle timeouts).
                Ok(Some(BackendMessage::ErrorResponse(e))) => {
                    return Poll::Ready(Err(DbError::from_fields(&e.0).into()));
                }
                Ok(Some(msg)) => {
                    return Poll::Ready(Err(Error::protocol(format!(
                        "unexpected {} while idle",
                        msg.name()
                    ))));
                }
                // The buffer held notices/notifications only, or nothing.
                Ok(None) if !self.notifications.is_empty() => continue,
                Ok(None) => {}
            }
            if self.read_buf.capacity() - self.read_buf.len() < 4096 {
                self.read_buf.reserve(READ_CHUNK);
            }
            match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.read_buf) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(Error::Closed)),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Stream for Notifications<'_> {
    type Item = Result<Notification, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        match this.client.poll_notification(cx) {
            Poll::Ready(Ok(n)) => Poll::Ready(Some(Ok(n))),
            Poll::Ready(Err(e)) => {
                this.failed = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
