//! Backend connections do not live for ever: one idle in its pool longer
//! than `--server-idle-timeout` is closed (so the backends a burst opened
//! go away after it), and one older than `--server-lifetime` is closed
//! when it is next idle (so memory a long-lived backend grew is given
//! back, and connections move to a restarted or replaced server), as
//! PgBouncer's `server_idle_timeout` and `server_lifetime` do.
//!
//! Time is a coarse clock of whole seconds that a sweep task advances
//! once a second: a checkin stamps its connection with one atomic load
//! instead of reading the system clock on every transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::pool::Pools;

/// Seconds since the proxy started, advanced by [`spawn`]'s task.
#[derive(Default)]
pub struct CoarseClock(AtomicU64);

impl CoarseClock {
    /// The time now, in whole seconds.
    pub fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// What a sweep or a checkin compares a connection's stamps with.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest idle time in seconds (0: no limit).
    pub idle: u64,
    /// Longest life in seconds (0: no limit).
    pub lifetime: u64,
}

impl Limits {
    /// Whether a connection opened at `opened` is past its lifetime.
    pub fn too_old(&self, opened: u64, now: u64) -> bool {
        self.lifetime > 0 && now.saturating_sub(opened) >= self.lifetime
    }

    /// Whether a connection idle since `idle_since` (or too old) is to go.
    pub fn expired(&self, opened: u64, idle_since: u64, now: u64) -> bool {
        self.too_old(opened, now) || (self.idle > 0 && now.saturating_sub(idle_since) >= self.idle)
    }
}

/// Starts the task that advances the clock and closes expired idle
/// connections once a second; it ends with the runtime.
pub fn spawn(pools: &Arc<Pools>) {
    let pools = pools.clone();
    tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = start.elapsed().as_secs();
            pools.clock.0.store(now, Ordering::Relaxed);
            let limits = pools.limits();
            if limits.idle == 0 && limits.lifetime == 0 {
                continue;
            }
            for pool in pools.all() {
                pool.close_expired(&limits, now);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_of_zero_are_off() {
        let off = Limits {
            idle: 0,
            lifetime: 0,
        };
        assert!(!off.expired(0, 0, u64::MAX));
        let limits = Limits {
            idle: 10,
            lifetime: 100,
        };
        assert!(!limits.expired(50, 95, 104));
        assert!(limits.expired(50, 94, 104), "idle 10 s");
        assert!(limits.expired(10, 109, 110), "100 s old");
        assert!(!limits.too_old(50, 149));
        assert!(limits.too_old(50, 150));
        // A stamp from after `now` (a checkin racing the sweep) is not
        // expired.
        assert!(!limits.expired(7, 9, 8));
    }
}
