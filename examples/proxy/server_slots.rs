//! `--max-server-connections`: a bound on the connections the proxy opens
//! to one backend server, across all its pools (users and databases), so
//! that many users times `--pool-size` cannot exceed PostgreSQL's
//! `max_connections`. Each pooled connection holds a slot for its life.
//! When none is free, an idle connection of another pool on the same
//! server is closed to make room (the least recently used); when none is
//! idle either, the checkout waits until one is released or goes idle, up
//! to `--wait-timeout`, then gets 53300 like any full pool.
//!
//! The health probe's connection and each pool's checker connection are
//! outside the bound (one of each at most).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::pool::{CheckoutError, Pool};

/// The slots of one backend server.
pub struct ServerSlots {
    permits: Arc<Semaphore>,
    /// The server's pools, to close an idle connection of when it is full.
    pools: Mutex<Vec<Weak<Pool>>>,
    /// Wakes the checkouts waiting for a slot when a connection goes idle
    /// (it may then be closed for them).
    went_idle: Notify,
    /// Checkouts waiting for a slot now.
    waiting: AtomicUsize,
    /// How long a checkout waits for a slot.
    wait: Duration,
}

impl ServerSlots {
    /// `max` slots; a checkout waits up to `wait` for one.
    pub fn new(max: usize, wait: Duration) -> ServerSlots {
        ServerSlots {
            permits: Arc::new(Semaphore::new(max)),
            pools: Mutex::new(Vec::new()),
            went_idle: Notify::new(),
            waiting: AtomicUsize::new(0),
            wait,
        }
    }

    /// Records a pool of this server.
    pub fn register(&self, pool: &Arc<Pool>) {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools.retain(|p| p.strong_count() > 0);
        pools.push(Arc::downgrade(pool));
    }

    /// Slots free now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Called when a connection of this server went idle: a waiting
    /// checkout may close it.
    pub fn connection_went_idle(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.went_idle.notify_waiters();
        }
    }

    /// A slot for a new connection: a free one, else one freed by closing
    /// the least recently used idle connection of this server, else the
    /// first released or freed within the wait.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, CheckoutError> {
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            if let Some(slot) = self.free_slot() {
                return Ok(slot);
            }
            self.waiting.fetch_add(1, Ordering::SeqCst);
            let went_idle = self.went_idle.notified();
            tokio::pin!(went_idle);
            went_idle.as_mut().enable();
            // Looked at again once registered: a connection that went idle
            // in between has not woken this checkout.
            if let Some(slot) = self.free_slot() {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                return Ok(slot);
            }
            let waited = tokio::time::timeout_at(deadline, async {
                tokio::select! {
                    slot = self.permits.clone().acquire_owned() => slot.ok(),
                    _ = &mut went_idle => None,
                }
            })
            .await;
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            match waited {
                Ok(Some(slot)) => return Ok(slot),
                Ok(None) => continue,
                Err(_) => return Err(CheckoutError::Timeout),
            }
        }
    }

    /// A free slot, or one freed by closing an idle connection.
    fn free_slot(&self) -> Option<OwnedSemaphorePermit> {
        loop {
            if let Ok(slot) = self.permits.clone().try_acquire_owned() {
                return Some(slot);
            }
            if !self.close_least_recently_used_idle() {
                return None;
            }
        }
    }

    /// Closes the idle connection of this server that has been idle
    /// longest (its slot comes free); false when none is idle.
    fn close_least_recently_used_idle(&self) -> bool {
        let pools: Vec<Arc<Pool>> = self
            .pools
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        let oldest = pools
            .iter()
            .filter_map(|p| p.oldest_idle_since().map(|since| (since, p)))
            .min_by_key(|(since, _)| *since);
        match oldest {
            Some((_, pool)) => pool.close_oldest_idle(),
            None => false,
        }
    }
}
