//! The server's graceful-shutdown signal, as the accept loops wait for it
//! and sessions read it.
//!
//! A `watch` channel made every wait cost a lock, a waiter-list insertion
//! and its removal (about 900 instructions per query when each session
//! waited on it between requests). Here a listener registers once, when it
//! subscribes, and each wait only stores its task's waker in the listener's
//! own slot and reads a flag. Sessions do not even subscribe: they read the
//! flag when they wait for input, and the server wakes them through its
//! session registry when it signals shutdown.

use std::future::{Future, poll_fn};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures_util::task::AtomicWaker;

/// The sending side, owned by the server.
pub(crate) struct ShutdownSignal {
    shared: Arc<Shared>,
}

struct Shared {
    triggered: AtomicBool,
    listeners: Mutex<Listeners>,
}

/// The wakers of the listeners, by slot; freed slots are reused.
#[derive(Default)]
struct Listeners {
    slots: Vec<Option<Arc<AtomicWaker>>>,
    free: Vec<usize>,
}

impl ShutdownSignal {
    pub(crate) fn new() -> Self {
        ShutdownSignal {
            shared: Arc::new(Shared {
                triggered: AtomicBool::new(false),
                listeners: Mutex::new(Listeners::default()),
            }),
        }
    }

    /// Signals shutdown: every listener's wait completes (now, or at once
    /// if it starts later).
    pub(crate) fn trigger(&self) {
        self.shared.triggered.store(true, Ordering::SeqCst);
        let listeners = self
            .shared
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for waker in listeners.slots.iter().flatten() {
            waker.wake();
        }
    }

    /// Whether shutdown has been signalled. Sessions check this when they
    /// wait for input; [`Server::shutdown`](super::Server::shutdown) wakes
    /// each registered session after the trigger, so they need no listener
    /// of their own.
    pub(crate) fn is_triggered(&self) -> bool {
        self.shared.triggered.load(Ordering::SeqCst)
    }

    /// A listener, registered until it is dropped.
    pub(crate) fn subscribe(&self) -> ShutdownListener {
        let waker = Arc::new(AtomicWaker::new());
        let mut listeners = self
            .shared
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let slot = match listeners.free.pop() {
            Some(slot) => {
                listeners.slots[slot] = Some(waker.clone());
                slot
            }
            None => {
                listeners.slots.push(Some(waker.clone()));
                listeners.slots.len() - 1
            }
        };
        ShutdownListener {
            shared: self.shared.clone(),
            waker,
            slot,
        }
    }
}

/// The receiving side: one per waiting task.
pub(crate) struct ShutdownListener {
    shared: Arc<Shared>,
    waker: Arc<AtomicWaker>,
    slot: usize,
}

impl ShutdownListener {
    /// Completes once `pred` holds for the shutdown state (`true` once
    /// shutdown is signalled), as `tokio::sync::watch::Receiver::wait_for`
    /// reads: `listener.wait_for(|s| *s)`.
    pub(crate) fn wait_for<'a>(
        &'a mut self,
        mut pred: impl FnMut(&bool) -> bool + 'a,
    ) -> impl Future<Output = ()> + 'a {
        // The waker this wait registered last: polled again by the same
        // task (a session's select loop, at every message), it is still in
        // the slot, since only the trigger takes it out and the flag is set
        // before that. So the re-registration, two compare-exchanges, is
        // skipped.
        let mut registered: Option<std::task::Waker> = None;
        poll_fn(move |cx| {
            // The waker first, then the flag: a trigger between the two
            // still finds the waker.
            if !registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                self.waker.register(cx.waker());
                registered = Some(cx.waker().clone());
            }
            if pred(&self.shared.triggered.load(Ordering::SeqCst)) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

impl Drop for ShutdownListener {
    fn drop(&mut self) {
        let mut listeners = self
            .shared
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = listeners.slots.get_mut(self.slot) {
            *slot = None;
            listeners.free.push(self.slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn waits_until_triggered_and_completes_at_once_after() {
        let signal = Arc::new(ShutdownSignal::new());
        let mut first = signal.subscribe();
        let waiting = tokio::spawn(async move { first.wait_for(|s| *s).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        // Slots are reused once their listener is gone.
        drop(signal.subscribe());
        let mut late = signal.subscribe();
        signal.trigger();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the waiting listener is woken")
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), late.wait_for(|s| *s))
            .await
            .expect("a listener waiting after the trigger completes at once");
        let listeners = signal.shared.listeners.lock().unwrap();
        assert_eq!(listeners.slots.len(), 2);
    }
}
