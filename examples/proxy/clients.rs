//! The connected clients, for the admin console's `SHOW CLIENTS` and
//! `SHOW SERVERS`: who is connected, whether each holds a backend
//! connection (which one), waits for one, or is idle between transactions.
//!
//! A client registers once when its session opens and is removed when the
//! [`Registration`] drops. What changes per transaction (the connection
//! held) is one relaxed atomic store into the client's own entry, so the
//! relay's hot path takes no lock for the console's sake.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::pool::Pool;

/// Every registered client, by registration order.
#[derive(Default)]
pub struct Clients {
    next_id: AtomicU64,
    list: Mutex<BTreeMap<u64, Arc<ClientEntry>>>,
}

/// What the console shows of one client.
pub struct ClientEntry {
    pub user: String,
    /// The database the client asked for (`X_ro` included).
    pub database: String,
    pub addr: Option<SocketAddr>,
    pub connected: SystemTime,
    pub application_name: String,
    /// The process ID in the BackendKeyData the proxy gave the client (the
    /// `pid` of its span in the logs).
    pub key_pid: i32,
    /// The pools the client may be served by, one per target, in target
    /// order (primary first).
    pub pools: Vec<Arc<Pool>>,
    /// Ends the client's session (`KILL`); `None` in unit tests.
    pub terminate: Option<pgwire::server::TerminateHandle>,
    /// The connection held: 0 for none, else `(index in pools + 1) << 32 |
    /// backend pid`, one word so a reader never sees half of a change.
    server: AtomicU64,
    waiting: AtomicBool,
    pinned: AtomicBool,
}

/// The connection a client holds now.
pub struct ServerInUse<'a> {
    pub pool: &'a Arc<Pool>,
    /// The backend's process ID.
    pub pid: i32,
}

/// What a client is doing, as `SHOW CLIENTS` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// Holds a backend connection.
    Active,
    /// In line for one.
    Waiting,
    /// Between transactions, holding nothing.
    Idle,
}

impl ClientState {
    /// The console's word for it.
    pub fn name(self) -> &'static str {
        match self {
            ClientState::Active => "active",
            ClientState::Waiting => "waiting",
            ClientState::Idle => "idle",
        }
    }
}

/// A client's place in [`Clients`]; removes it when dropped.
pub struct Registration {
    clients: Arc<Clients>,
    id: u64,
    entry: Arc<ClientEntry>,
}

/// Who a client is, when it registers.
pub struct NewClient {
    pub user: String,
    pub database: String,
    pub addr: Option<SocketAddr>,
    pub application_name: String,
    pub key_pid: i32,
    pub pools: Vec<Arc<Pool>>,
    pub terminate: Option<pgwire::server::TerminateHandle>,
}

impl Clients {
    /// Adds a client; it stays listed while the registration lives.
    pub fn register(self: &Arc<Self>, client: NewClient) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let entry = Arc::new(ClientEntry {
            user: client.user,
            database: client.database,
            addr: client.addr,
            connected: SystemTime::now(),
            application_name: client.application_name,
            key_pid: client.key_pid,
            pools: client.pools,
            terminate: client.terminate,
            server: AtomicU64::new(0),
            waiting: AtomicBool::new(false),
            pinned: AtomicBool::new(false),
        });
        self.lock().insert(id, entry.clone());
        Registration {
            clients: self.clone(),
            id,
            entry,
        }
    }

    /// The clients now, oldest first.
    pub fn snapshot(&self) -> Vec<Arc<ClientEntry>> {
        self.lock().values().cloned().collect()
    }

    /// Ends the sessions of the clients of `database` (`X_ro` clients
    /// included); returns how many were asked to end.
    pub fn kill(&self, database: &str) -> usize {
        let mut killed = 0;
        for entry in self.snapshot() {
            if entry.pools.first().is_some_and(|p| p.database == database) {
                if let Some(t) = &entry.terminate {
                    t.terminate();
                    killed += 1;
                }
            }
        }
        killed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<ClientEntry>>> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.clients.lock().remove(&self.id);
    }
}

impl Registration {
    /// The client took a connection from the pool of `target` (backend
    /// `pid`).
    pub fn holds(&self, target: usize, pid: i32) {
        let word = ((target as u64 + 1) << 32) | u64::from(pid as u32);
        self.entry.server.store(word, Ordering::Relaxed);
    }

    /// The client gave its connection back.
    pub fn holds_nothing(&self) {
        self.entry.server.store(0, Ordering::Relaxed);
    }

    /// The client is in line for a connection (or no longer).
    pub fn set_waiting(&self, waiting: bool) {
        self.entry.waiting.store(waiting, Ordering::Relaxed);
    }

    /// The client made session state the proxy does not follow: it keeps
    /// its connection until it leaves.
    pub fn set_pinned(&self) {
        self.entry.pinned.store(true, Ordering::Relaxed);
    }
}

impl ClientEntry {
    /// The connection the client holds, if any.
    pub fn server(&self) -> Option<ServerInUse<'_>> {
        let word = self.server.load(Ordering::Relaxed);
        let index = (word >> 32) as usize;
        let pool = self.pools.get(index.checked_sub(1)?)?;
        Some(ServerInUse {
            pool,
            pid: word as u32 as i32,
        })
    }

    /// Active, waiting or idle.
    pub fn state(&self) -> ClientState {
        if self.server().is_some() {
            ClientState::Active
        } else if self.waiting.load(Ordering::Relaxed) {
            ClientState::Waiting
        } else {
            ClientState::Idle
        }
    }

    /// The client keeps its connection until it leaves (transaction
    /// pooling, session state the proxy does not follow).
    pub fn pinned(&self) -> bool {
        self.pinned.load(Ordering::Relaxed)
    }
}

/// `time` as `YYYY-MM-DD HH:MM:SS` in UTC, as the console shows it.
pub fn utc_timestamp(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (proleptic Gregorian), by
    // 400-year eras of 146,097 days that start on March 1st.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_civil_dates() {
        let at = |secs| utc_timestamp(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01 00:00:00");
        assert_eq!(at(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(at(951_868_799), "2000-02-29 23:59:59");
        assert_eq!(at(1_709_251_199), "2024-02-29 23:59:59");
        assert_eq!(at(1_796_083_200), "2026-12-01 00:00:00");
        assert_eq!(at(4_102_444_800), "2100-01-01 00:00:00");
    }

    #[test]
    fn a_registration_is_listed_while_it_lives() {
        let clients = Arc::new(Clients::default());
        let new = |user: &str| NewClient {
            user: user.into(),
            database: "db".into(),
            addr: None,
            application_name: String::new(),
            key_pid: 7,
            pools: Vec::new(),
            terminate: None,
        };
        let a = clients.register(new("a"));
        let b = clients.register(new("b"));
        let names = |c: &Clients| {
            c.snapshot()
                .iter()
                .map(|e| e.user.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&clients), ["a", "b"]);
        b.set_waiting(true);
        assert_eq!(clients.snapshot()[1].state(), ClientState::Waiting);
        // No pool at that index: not shown as holding one.
        b.holds(0, 1234);
        assert_eq!(clients.snapshot()[1].state(), ClientState::Waiting);
        drop(a);
        assert_eq!(names(&clients), ["b"]);
        drop(b);
        assert!(clients.snapshot().is_empty());
    }
}
