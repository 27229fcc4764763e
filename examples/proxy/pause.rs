//! `PAUSE` and `RESUME` on the admin console: while paused, no client
//! takes a backend connection (each waits for `RESUME`, up to
//! [`PAUSE_WAIT_LIMIT`]), so PostgreSQL can be restarted or switched over
//! under the clients' feet without any of them seeing an error.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// How long a client waits for `RESUME` before its query fails (53300):
/// an operator who forgot the `RESUME` must not hang clients for good.
pub const PAUSE_WAIT_LIMIT: Duration = Duration::from_secs(60);

/// Whether the proxy is paused; wakes the waiting clients at `RESUME`.
#[derive(Default)]
pub struct Pause {
    paused: AtomicBool,
    resumed: Notify,
}

impl Pause {
    /// Whether checkouts wait now. One atomic load: asked on the
    /// transaction-pooling fast path.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// Pauses; false if already paused.
    pub fn pause(&self) -> bool {
        !self.paused.swap(true, Ordering::AcqRel)
    }

    /// Resumes and wakes every waiting client; false if not paused.
    pub fn resume(&self) -> bool {
        let was = self.paused.swap(false, Ordering::AcqRel);
        self.resumed.notify_waiters();
        was
    }

    /// Waits until not paused, up to `limit`; true when not paused.
    pub async fn wait_resumed(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            // Created before the check: a `resume` after it wakes this.
            let resumed = self.resumed.notified();
            if !self.is_paused() {
                return true;
            }
            if tokio::time::timeout_at(deadline, resumed).await.is_err() {
                return !self.is_paused();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn waiters_go_on_at_resume_or_give_up_at_the_limit() {
        let pause = Arc::new(Pause::default());
        assert!(pause.wait_resumed(Duration::ZERO).await, "not paused");
        assert!(pause.pause());
        assert!(!pause.pause(), "already paused");
        assert!(!pause.wait_resumed(Duration::from_millis(30)).await);
        let waiter = tokio::spawn({
            let pause = pause.clone();
            async move { pause.wait_resumed(Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!waiter.is_finished());
        assert!(pause.resume());
        assert!(waiter.await.unwrap());
        assert!(!pause.resume(), "not paused any more");
    }
}
