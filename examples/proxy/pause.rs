//! `PAUSE` and `RESUME` on the admin console: while paused, no client
//! takes a backend connection (each waits for `RESUME`, up to
//! [`PAUSE_WAIT_LIMIT`]), so PostgreSQL can be restarted or switched over
//! under the clients' feet without any of them seeing an error. `PAUSE db`
//! and `RESUME db` do the same for the clients of one database.

use std::collections::HashSet;
use std::sync::Mutex;
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
    /// Databases paused on their own, and whether there are any (one
    /// atomic load on the fast path when none is).
    databases: Mutex<HashSet<String>>,
    some_database: AtomicBool,
    resumed: Notify,
}

impl Pause {
    /// Whether the whole proxy is paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// Whether checkouts for `database` wait now. Two atomic loads when
    /// no database is paused on its own: asked on the transaction-pooling
    /// fast path.
    pub fn is_paused_for(&self, database: &str) -> bool {
        self.is_paused()
            || (self.some_database.load(Ordering::Acquire)
                && self
                    .databases
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains(database))
    }

    /// Pauses `database`; false if it is paused already.
    pub fn pause_database(&self, database: &str) -> bool {
        let mut databases = self.databases.lock().unwrap_or_else(|e| e.into_inner());
        let added = databases.insert(database.to_owned());
        self.some_database.store(true, Ordering::Release);
        added
    }

    /// Resumes `database` and wakes its waiting clients; false if it was
    /// not paused on its own.
    pub fn resume_database(&self, database: &str) -> bool {
        let mut databases = self.databases.lock().unwrap_or_else(|e| e.into_inner());
        let was = databases.remove(database);
        self.some_database
            .store(!databases.is_empty(), Ordering::Release);
        drop(databases);
        self.resumed.notify_waiters();
        was
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

    /// Waits until `database` is not paused, up to `limit`; true when
    /// it is not.
    pub async fn wait_resumed(&self, database: &str, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            // Created before the check: a `resume` after it wakes this.
            let resumed = self.resumed.notified();
            if !self.is_paused_for(database) {
                return true;
            }
            if tokio::time::timeout_at(deadline, resumed).await.is_err() {
                return !self.is_paused_for(database);
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
        assert!(pause.wait_resumed("db", Duration::ZERO).await, "not paused");
        assert!(pause.pause());
        assert!(!pause.pause(), "already paused");
        assert!(!pause.wait_resumed("db", Duration::from_millis(30)).await);
        let waiter = tokio::spawn({
            let pause = pause.clone();
            async move { pause.wait_resumed("db", Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!waiter.is_finished());
        assert!(pause.resume());
        assert!(waiter.await.unwrap());
        assert!(!pause.resume(), "not paused any more");
    }

    #[tokio::test]
    async fn one_database_pauses_alone() {
        let pause = Arc::new(Pause::default());
        assert!(pause.pause_database("a"));
        assert!(!pause.pause_database("a"), "already paused");
        assert!(pause.is_paused_for("a") && !pause.is_paused_for("b"));
        assert!(!pause.is_paused(), "the proxy as a whole is not");
        assert!(pause.wait_resumed("b", Duration::ZERO).await);
        let waiter = tokio::spawn({
            let pause = pause.clone();
            async move { pause.wait_resumed("a", Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!waiter.is_finished());
        assert!(!pause.resume_database("b"), "b was not paused");
        assert!(pause.resume_database("a"));
        assert!(waiter.await.unwrap());
        assert!(!pause.is_paused_for("a"));
    }
}
