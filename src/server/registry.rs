//! The sessions of one server, by process ID: where a CancelRequest
//! arriving on a new connection finds the session it targets.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use ring::rand::{SecureRandom, SystemRandom};

use crate::api::auth::constant_time_eq;
use crate::api::{SessionHandle, SessionShared};
use crate::messages::ProtocolVersion;

/// Secret key length by protocol version: 4 bytes in 3.0 (an Int32), 32
/// bytes in 3.2 (what PostgreSQL 18 generates).
fn key_len(version: ProtocolVersion) -> usize {
    if version >= ProtocolVersion::V3_2 {
        32
    } else {
        4
    }
}

/// Random bytes fetched from the system CSPRNG in one call and handed out
/// as secret keys: one `getrandom` system call per this many bytes rather
/// than one per connection (a 3.0 key is 4 bytes, a 3.2 key 32).
const KEY_POOL_BYTES: usize = 1024;

/// Hashes process IDs for the session table. They are chosen here, one
/// after another, never by a client (a CancelRequest only looks one up):
/// a multiplicative hash spreads them well enough, without SipHash's cost
/// on every connect and disconnect.
#[derive(Default)]
struct PidHasher(u64);

impl Hasher for PidHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_i32(&mut self, n: i32) {
        self.0 = u64::from(n as u32).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) struct Registry {
    sessions: Mutex<Sessions>,
    next_pid: AtomicI32,
    rng: SystemRandom,
}

struct Sessions {
    by_pid: HashMap<i32, Arc<SessionShared>, BuildHasherDefault<PidHasher>>,
    /// CSPRNG output; keys are slices of it from `key_pool_used` on, so a
    /// key and its copies (in BackendKeyData) cost no allocation. Each
    /// byte is handed out once.
    key_pool: Bytes,
    key_pool_used: usize,
}

impl Sessions {
    /// A fresh secret key of `len` bytes, or an empty one if the system
    /// has no randomness to give.
    fn take_key(&mut self, rng: &SystemRandom, len: usize) -> Bytes {
        if self.key_pool_used + len > self.key_pool.len() {
            let mut fresh = vec![0u8; KEY_POOL_BYTES];
            if rng.fill(&mut fresh).is_err() {
                // No randomness: the key must still be unguessable, so
                // refuse to make cancellation possible rather than use a
                // weak key.
                return Bytes::new();
            }
            self.key_pool = Bytes::from(fresh);
            self.key_pool_used = 0;
        }
        let key = self
            .key_pool
            .slice(self.key_pool_used..self.key_pool_used + len);
        self.key_pool_used += len;
        key
    }
}

impl Registry {
    pub(crate) fn new() -> Self {
        let rng = SystemRandom::new();
        let mut seed = [0u8; 2];
        let _ = rng.fill(&mut seed);
        Registry {
            sessions: Mutex::new(Sessions {
                by_pid: HashMap::default(),
                // Empty: filled on first use.
                key_pool: Bytes::new(),
                key_pool_used: 0,
            }),
            // Start somewhere unremarkable; uniqueness is what matters, the
            // secret key is what protects cancellation.
            next_pid: AtomicI32::new(1000 + u16::from_be_bytes(seed) as i32),
            rng,
        }
    }

    /// Creates and registers a session with a fresh process ID and a
    /// secret key from the system CSPRNG.
    pub(crate) fn register(&self, version: ProtocolVersion) -> Arc<SessionShared> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let key = sessions.take_key(&self.rng, key_len(version));
        let pid = loop {
            let pid = self
                .next_pid
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| {
                    Some(if p >= i32::MAX - 1 { 1000 } else { p + 1 })
                })
                .unwrap_or(1000);
            if !sessions.by_pid.contains_key(&pid) {
                break pid;
            }
        };
        let shared = Arc::new(SessionShared::new(pid, key));
        sessions.by_pid.insert(pid, shared.clone());
        shared
    }

    pub(crate) fn unregister(&self, shared: &SessionShared) {
        shared.close();
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.by_pid.remove(&shared.process_id);
    }

    /// Handles a CancelRequest: if the process ID and key match a session
    /// (the key compared in constant time), its running query is asked to
    /// stop. A mismatch is ignored silently, as PostgreSQL does.
    pub(crate) fn cancel(&self, process_id: i32, key: &[u8]) -> bool {
        let target = {
            let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
            sessions.by_pid.get(&process_id).cloned()
        };
        match target {
            Some(s) if !s.secret_key.is_empty() && constant_time_eq(&s.secret_key, key) => {
                s.request_cancel();
                true
            }
            _ => false,
        }
    }

    /// Wakes every session's connection task, to see a change of server
    /// state (a shutdown signalled).
    pub(crate) fn wake_all(&self) {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        for s in sessions.by_pid.values() {
            s.wake();
        }
    }

    /// Asks every session to end now (shutdown past its grace period).
    pub(crate) fn terminate_all(&self) {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        for s in sessions.by_pid.values() {
            s.request_terminate();
        }
    }

    pub(crate) fn handle(&self, process_id: i32) -> Option<SessionHandle> {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions
            .by_pid
            .get(&process_id)
            .map(|s| SessionHandle::from_shared(s.clone()))
    }

    pub(crate) fn len(&self) -> usize {
        self.sessions.lock().map(|s| s.by_pid.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn keys_are_fresh_across_pool_refills_and_cancel_needs_the_right_one() {
        let registry = Registry::new();
        let mut keys = HashSet::new();
        let mut sessions = Vec::new();
        // More key bytes than one pool holds, in both key sizes.
        for i in 0..(KEY_POOL_BYTES / 32) * 3 {
            let version = if i % 2 == 0 {
                ProtocolVersion::V3_0
            } else {
                ProtocolVersion::V3_2
            };
            let s = registry.register(version);
            assert_eq!(s.secret_key.len(), key_len(version));
            assert!(
                keys.insert(s.secret_key.clone()),
                "a key was handed out twice"
            );
            sessions.push(s);
        }
        assert_eq!(registry.len(), sessions.len());
        let target = &sessions[7];
        target.set_busy(true);
        let mut wrong = target.secret_key.to_vec();
        wrong[0] ^= 1;
        assert!(!registry.cancel(target.process_id, &wrong));
        assert!(!registry.cancel(target.process_id + 1_000_000, &target.secret_key));
        assert!(registry.cancel(target.process_id, &target.secret_key));
        assert!(target.is_cancel_requested());
        for s in &sessions {
            registry.unregister(s);
        }
        assert_eq!(registry.len(), 0);
        assert!(registry.handle(target.process_id).is_none());
    }
}
