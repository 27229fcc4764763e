//! Graceful shutdown: once [`Shutdown::begin`] is called, each client
//! session ends at its next idle point (no transaction open, nothing owed)
//! with FATAL 57P01, as PostgreSQL ends sessions when it shuts down, and
//! sessions in a transaction finish it first.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// Set once, seen by every session.
#[derive(Default)]
pub struct Shutdown {
    begun: AtomicBool,
    notify: Notify,
}

impl Shutdown {
    /// Starts the shutdown: every [`ShutdownBegun`] completes.
    pub fn begin(&self) {
        self.begun.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether [`begin`](Self::begin) was called.
    pub fn has_begun(&self) -> bool {
        self.begun.load(Ordering::SeqCst)
    }

    /// Completes once the shutdown has begun. Made to sit in a session's
    /// `select!` loop: polled again by the same task while nothing
    /// happened, it costs an atomic load.
    pub fn begun(&self) -> ShutdownBegun<'_> {
        ShutdownBegun {
            shutdown: self,
            notified: None,
            waker: None,
        }
    }
}

/// The future of [`Shutdown::begun`].
pub struct ShutdownBegun<'a> {
    shutdown: &'a Shutdown,
    /// Registered with the Notify (boxed once: a `Notified` must stay
    /// pinned, and this future stays `Unpin`).
    notified: Option<Pin<Box<Notified<'a>>>>,
    /// The waker `notified` was last polled with.
    waker: Option<Waker>,
}

impl Future for ShutdownBegun<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.shutdown.has_begun() {
            return Poll::Ready(());
        }
        if this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            return Poll::Pending;
        }
        // Created before the flag is read again: a `begin` after that read
        // wakes it (`notify_waiters` reaches every `Notified` created
        // before the call, polled or not).
        let notified = this
            .notified
            .get_or_insert_with(|| Box::pin(this.shutdown.notify.notified()));
        if this.shutdown.has_begun() || notified.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        this.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn every_waiting_session_sees_the_shutdown() {
        let shutdown = std::sync::Arc::new(Shutdown::default());
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let s = shutdown.clone();
                tokio::spawn(async move {
                    let mut begun = std::pin::pin!(s.begun());
                    // Polled several times while nothing happens, as in a
                    // relay loop.
                    for _ in 0..3 {
                        tokio::select! {
                            _ = &mut begun => return true,
                            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                        }
                    }
                    begun.await;
                    true
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!shutdown.has_begun());
        shutdown.begin();
        for w in waiters {
            let done = tokio::time::timeout(Duration::from_secs(2), w).await;
            assert!(done.expect("woken").unwrap());
        }
        // Begun already: a new wait completes at once.
        shutdown.begun().await;
    }
}
