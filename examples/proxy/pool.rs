//! Backend connection pools: one per (user, database, backend), bounded,
//! with clients waiting in line (up to a timeout) when a pool is full.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use pgwire::error::{ErrorInfo, SqlState};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::aging::{CoarseClock, Limits};
use super::backend::BackendConn;
use super::config::ProxyConfig;
use super::pause::PAUSE_WAIT_LIMIT;
use super::server_slots::ServerSlots;
use super::users::{BackendSecret, Users};

/// How long a backend that refused a connection stays out of rotation
/// when no health probe runs (`--health-interval 0`).
const DOWN_FOR: Duration = Duration::from_secs(3);

/// A backend server: the primary (index 0) or a standby.
pub struct Target {
    pub conninfo: String,
    pub replica: bool,
    /// Out of rotation: a connection attempt or a health probe failed.
    down: AtomicBool,
    /// When it went down; used only without a health probe (which
    /// otherwise decides when it is back).
    down_since: Mutex<Option<Instant>>,
    probed: bool,
    /// A standby whose replay lag the probe found above `--max-replica-lag`:
    /// out of rotation until it catches up.
    lagging: AtomicBool,
    /// The last lag measured, in milliseconds (`u64::MAX`: none yet).
    lag_ms: AtomicU64,
}

impl Target {
    fn new(conninfo: &str, replica: bool, probed: bool) -> Target {
        Target {
            conninfo: conninfo.to_owned(),
            replica,
            down: AtomicBool::new(false),
            down_since: Mutex::new(None),
            probed,
            lagging: AtomicBool::new(false),
            lag_ms: AtomicU64::new(u64::MAX),
        }
    }

    /// Serves clients now: not down, not lagging.
    pub fn in_rotation(&self) -> bool {
        !self.is_down() && !self.lagging.load(Ordering::Relaxed)
    }

    /// Out of rotation for its replay lag.
    pub fn is_lagging(&self) -> bool {
        self.lagging.load(Ordering::Relaxed)
    }

    /// The last replay lag measured, if any.
    pub fn lag(&self) -> Option<Duration> {
        match self.lag_ms.load(Ordering::Relaxed) {
            u64::MAX => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    /// Records a standby's replay lag: past `max` it leaves the rotation
    /// (logged once), under it it comes back.
    pub fn set_lag(&self, index: usize, lag: Duration, max: Duration) {
        self.lag_ms.store(
            lag.as_millis().min(u64::MAX as u128 - 1) as u64,
            Ordering::Relaxed,
        );
        let over = lag > max;
        if self.lagging.swap(over, Ordering::Relaxed) != over {
            if over {
                tracing::warn!(
                    target = index,
                    lag_ms = lag.as_millis() as u64,
                    "standby out of rotation: replay lag"
                );
            } else {
                tracing::info!(target = index, "standby caught up: back in rotation");
            }
        }
    }

    /// Out of rotation now.
    pub fn is_down(&self) -> bool {
        if !self.down.load(Ordering::Relaxed) {
            return false;
        }
        if self.probed {
            return true;
        }
        let mut since = self.down_since.lock().unwrap_or_else(|e| e.into_inner());
        match *since {
            Some(t) if t.elapsed() < DOWN_FOR => true,
            _ => {
                *since = None;
                self.down.store(false, Ordering::Relaxed);
                false
            }
        }
    }

    /// Takes the backend out of rotation (logged once per outage).
    pub fn mark_down(&self, index: usize, why: &str) {
        *self.down_since.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(target = index, "backend out of rotation: {why}");
        }
    }

    /// Puts the backend back into rotation.
    pub fn mark_up(&self, index: usize) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!(target = index, "backend back in rotation");
        }
    }
}

/// Counters of one pool, for `SHOW POOLS` / `SHOW STATS`.
#[derive(Default)]
pub struct PoolStats {
    /// Clients connected to this pool's (user, database).
    pub clients: AtomicUsize,
    /// Clients waiting for a connection now.
    pub waiting: AtomicUsize,
    /// When each of them began to wait, by a number of its own (touched
    /// only by waits, not by the checkouts that get a connection at once).
    wait_starts: Mutex<std::collections::BTreeMap<u64, Instant>>,
    next_wait: AtomicU64,
    /// Connections handed out now.
    pub active: AtomicUsize,
    /// Connections open (active + idle).
    pub open: AtomicUsize,
    /// Transactions ended (ReadyForQuery Idle).
    pub xacts: AtomicU64,
    /// Queries and Syncs forwarded.
    pub queries: AtomicU64,
    /// Checkouts that had to wait, and their total wait.
    pub waits: AtomicU64,
    pub wait_us: AtomicU64,
    /// Checkouts that timed out (53300).
    pub timeouts: AtomicU64,
    /// Backend connections opened / broken.
    pub connects: AtomicU64,
    pub broken: AtomicU64,
}

impl PoolStats {
    /// Records a client that began to wait at `start`, until the guard
    /// drops (served, timed out or gone).
    fn begin_wait(&self, start: Instant) -> WaitRecord<'_> {
        let id = self.next_wait.fetch_add(1, Ordering::Relaxed);
        self.wait_starts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, start);
        WaitRecord { stats: self, id }
    }

    /// How long the client waiting longest has waited (zero with none
    /// waiting): PgBouncer's `maxwait`.
    pub fn max_wait(&self) -> Duration {
        let starts = self.wait_starts.lock().unwrap_or_else(|e| e.into_inner());
        starts
            .values()
            .min()
            .map_or(Duration::ZERO, |start| start.elapsed())
    }
}

/// A wait in [`PoolStats::wait_starts`], removed on drop.
struct WaitRecord<'a> {
    stats: &'a PoolStats,
    id: u64,
}

impl Drop for WaitRecord<'_> {
    fn drop(&mut self) {
        self.stats
            .wait_starts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

/// The pool of one (user, database, backend).
pub struct Pool {
    pub user: String,
    pub database: String,
    pub target: usize,
    pub replica: bool,
    /// The connection settings, but for the password or SCRAM keys,
    /// which [`users`](Self::connect_config) gives at each connect (a
    /// looked-up user's may change).
    config: pgwire::client::Config,
    users: Arc<Users>,
    /// The server's `--max-server-connections` slots, if bounded.
    slots: Option<Arc<ServerSlots>>,
    /// Boxed: a checkout and a checkin move a pointer, not the whole
    /// connection state (buffers, settings, cancel token...), through the
    /// idle list, the `Checkout` and the session.
    #[allow(clippy::vec_box)]
    idle: Mutex<Vec<Box<BackendConn>>>,
    permits: Arc<Semaphore>,
    pub size: usize,
    /// The ParameterStatus values of the first connection, reported to
    /// clients at startup.
    pub params: OnceLock<Vec<(String, String)>>,
    pub stats: PoolStats,
    next_id: Arc<AtomicU64>,
    /// A connection outside the pool's bound that checks named Parses
    /// received while the client holds no connection and the pool is full
    /// (opened on first use).
    checker: tokio::sync::Mutex<Option<BackendConn>>,
    /// Statement hashes the checker (or a backend) accepted.
    valid: Mutex<HashSet<u64>>,
    /// The proxy's coarse clock, and how long connections may live and
    /// stay idle.
    clock: Arc<CoarseClock>,
    limits: Limits,
    /// Bumped by `RECONNECT`: connections opened before are closed when
    /// next given back.
    generation: Arc<AtomicU64>,
}

/// What the checker connection is asked.
enum Check<'a> {
    /// A Parse body after the statement name.
    Parse(&'a [u8]),
    /// A Query frame setting a client's extras.
    Settings(bytes::BytesMut),
}

/// A connection taken from a pool; give it back with [`Pool::checkin`].
pub struct Checkout {
    pub conn: Box<BackendConn>,
    pub pool: Arc<Pool>,
    _permit: OwnedSemaphorePermit,
}

/// Why no connection was handed out.
pub enum CheckoutError {
    /// The pool stayed full for the whole wait.
    Timeout,
    /// Connecting failed.
    Connect(pgwire::client::Error),
}

impl Pool {
    /// Takes an idle connection or opens one, waiting up to `wait` for
    /// room in the pool.
    pub async fn checkout(self: &Arc<Self>, wait: Duration) -> Result<Checkout, CheckoutError> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let start = Instant::now();
                self.stats.waiting.fetch_add(1, Ordering::Relaxed);
                let waiter = self.stats.begin_wait(start);
                let got = tokio::time::timeout(wait, self.permits.clone().acquire_owned()).await;
                drop(waiter);
                self.stats.waiting.fetch_sub(1, Ordering::Relaxed);
                self.stats.waits.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .wait_us
                    .fetch_add(start.elapsed().as_micros() as u64, Ordering::Relaxed);
                match got {
                    Ok(Ok(p)) => p,
                    _ => {
                        self.stats.timeouts.fetch_add(1, Ordering::Relaxed);
                        return Err(CheckoutError::Timeout);
                    }
                }
            }
        };
        self.take(permit).await
    }

    /// An idle connection if one can be had at once (room in the pool and
    /// a live idle connection), else `None` and nothing taken: the
    /// transaction-pooling fast path, without a future, a timer or a
    /// connection attempt.
    pub fn take_idle_now(self: &Arc<Self>) -> Option<Checkout> {
        let permit = self.permits.clone().try_acquire_owned().ok()?;
        let conn = self.pop_live_idle()?;
        self.stats.active.fetch_add(1, Ordering::Relaxed);
        Some(Checkout {
            conn,
            pool: self.clone(),
            _permit: permit,
        })
    }

    /// The most recently returned idle connection that is still alive
    /// (dead ones found on the way are closed).
    fn pop_live_idle(&self) -> Option<Box<BackendConn>> {
        loop {
            let mut conn = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()?;
            if conn.is_alive() {
                return Some(conn);
            }
            conn.span
                .in_scope(|| tracing::info!("idle backend connection closed: replaced"));
            self.stats.open.fetch_sub(1, Ordering::Relaxed);
            self.stats.broken.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A connection if the pool has room now (`None` when it is full),
    /// without waiting in line.
    pub async fn try_checkout(self: &Arc<Self>) -> Option<Result<Checkout, CheckoutError>> {
        let permit = self.permits.clone().try_acquire_owned().ok()?;
        Some(self.take(permit).await)
    }

    /// An idle connection, or a new one, under `permit`.
    async fn take(
        self: &Arc<Self>,
        permit: OwnedSemaphorePermit,
    ) -> Result<Checkout, CheckoutError> {
        if let Some(conn) = self.pop_live_idle() {
            self.stats.active.fetch_add(1, Ordering::Relaxed);
            return Ok(Checkout {
                conn,
                pool: self.clone(),
                _permit: permit,
            });
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!(
            parent: None,
            "backend",
            id,
            pid = tracing::field::Empty,
            target = self.target,
            user = %self.user,
            database = %self.database,
        );
        let slot = match &self.slots {
            Some(slots) => Some(slots.acquire().await?),
            None => None,
        };
        let (mut conn, params) = BackendConn::connect(&self.connect_config(), id, span)
            .await
            .map_err(CheckoutError::Connect)?;
        conn.server_slot = slot;
        conn.opened = self.clock.now();
        conn.generation = self.generation.load(Ordering::Acquire);
        conn.span
            .in_scope(|| tracing::info!("backend connection opened"));
        self.stats.connects.fetch_add(1, Ordering::Relaxed);
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        self.stats.active.fetch_add(1, Ordering::Relaxed);
        let _ = self.params.set({
            let mut p: Vec<_> = params.into_iter().collect();
            p.sort();
            p
        });
        Ok(Checkout {
            conn: Box::new(conn),
            pool: self.clone(),
            _permit: permit,
        })
    }

    /// Gives a connection back: to the idle list when `reusable`, closed
    /// otherwise (a new one is opened when needed).
    pub fn checkin(checkout: Checkout, reusable: bool) {
        let Checkout {
            conn,
            pool,
            _permit,
        } = checkout;
        pool.stats.active.fetch_sub(1, Ordering::Relaxed);
        let now = pool.clock.now();
        let stale = conn.generation != pool.generation.load(Ordering::Acquire);
        if reusable && (stale || pool.limits.too_old(conn.opened, now)) {
            conn.span.in_scope(|| {
                tracing::debug!("backend connection closed: past its lifetime or RECONNECT")
            });
            pool.stats.open.fetch_sub(1, Ordering::Relaxed);
        } else if reusable {
            let mut conn = conn;
            conn.idle_since = now;
            pool.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
            if let Some(slots) = &pool.slots {
                slots.connection_went_idle();
            }
        } else {
            conn.span
                .in_scope(|| tracing::debug!("backend connection closed"));
            pool.stats.open.fetch_sub(1, Ordering::Relaxed);
            pool.stats.broken.fetch_add(1, Ordering::Relaxed);
        }
        // `_permit` drops here, after the connection is back: a waiter
        // woken by it finds the connection idle.
        drop(_permit);
    }

    /// Checks a Parse (`definition`: query, NUL, parameter types) on the
    /// checker connection: `Ok(None)` if the backend accepts it, else the
    /// backend's ErrorResponse frame. Accepted statements are remembered.
    /// `Err` when the checker cannot reach the backend.
    pub async fn check_parse(
        &self,
        hash: u64,
        definition: &[u8],
    ) -> Result<Option<bytes::BytesMut>, pgwire::client::Error> {
        self.check(hash, Check::Parse(definition)).await
    }

    /// Checks that a client's extra settings can be set, on the checker
    /// connection, in a transaction that is rolled back: `Ok(None)` if they
    /// can, else the backend's ErrorResponse frame.
    pub async fn check_settings(
        &self,
        extras: &super::settings::Extras,
    ) -> Result<Option<bytes::BytesMut>, pgwire::client::Error> {
        let mut out = bytes::BytesMut::new();
        if !super::settings::queue_extras(&mut out, extras, &Vec::new()) {
            return Ok(None);
        }
        // Keyed apart from statement definitions (which hold a NUL).
        let key = super::statements::statement_hash(&out);
        self.check(key, Check::Settings(out)).await
    }

    async fn check(
        &self,
        key: u64,
        what: Check<'_>,
    ) -> Result<Option<bytes::BytesMut>, pgwire::client::Error> {
        if self.is_known_valid(key) {
            return Ok(None);
        }
        let mut checker = self.checker.lock().await;
        // Another client may have checked the same thing meanwhile.
        if self.is_known_valid(key) {
            return Ok(None);
        }
        let conn = match checker.as_mut() {
            Some(c) => c,
            None => {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let span = tracing::info_span!(
                    parent: None,
                    "checker",
                    id,
                    pid = tracing::field::Empty,
                    target = self.target,
                );
                let (mut conn, _) = BackendConn::connect(&self.connect_config(), id, span).await?;
                conn.opened = self.clock.now();
                checker.insert(conn)
            }
        };
        let answer = match what {
            Check::Parse(definition) => conn.check_parse(definition).await,
            Check::Settings(query) => {
                super::backend::queue_query(&mut conn.wbuf, "BEGIN");
                conn.wbuf.extend_from_slice(&query);
                super::backend::queue_query(&mut conn.wbuf, "ROLLBACK");
                let mut answer = Ok(None);
                for _ in 0..3 {
                    match conn.round_trip().await {
                        Ok(Some(e)) => {
                            answer = Ok(Some(e));
                        }
                        Ok(None) => {}
                        Err(e) => {
                            answer = Err(e);
                            break;
                        }
                    }
                }
                answer
            }
        };
        conn.idle_since = self.clock.now();
        match answer {
            Ok(answer) if conn.status == b'I' => {
                if answer.is_none() {
                    self.valid
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(key);
                }
                Ok(answer)
            }
            Ok(answer) => {
                // Left in a transaction: not usable for the next check.
                *checker = None;
                Ok(answer)
            }
            Err(e) => {
                *checker = None;
                Err(pgwire::client::Error::from(e))
            }
        }
    }

    fn is_known_valid(&self, hash: u64) -> bool {
        self.valid
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&hash)
    }

    /// The connection settings of this pool's next backend connection:
    /// with the user's password, or the SCRAM keys its last client proved.
    /// (Without either, there is no client of the user yet, and the
    /// backend's refusal says so.)
    pub fn connect_config(&self) -> pgwire::client::Config {
        let mut config = self.config.clone();
        match self.users.backend_secret(&self.user) {
            Some(BackendSecret::Password(p)) => config.password = Some(p),
            Some(BackendSecret::Keys(keys)) => config.scram_keys = Some(keys),
            None => {}
        }
        config
    }

    /// Closes every idle connection and the checker connection; returns
    /// how many idle ones were closed.
    pub fn close_idle(&self) -> usize {
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        self.stats.open.fetch_sub(idle.len(), Ordering::Relaxed);
        if let Ok(mut checker) = self.checker.try_lock() {
            *checker = None;
        }
        idle.len()
    }

    /// Closes the idle connections past `limits` at `now`, and the
    /// checker connection if it is past them and not in use.
    pub fn close_expired(&self, limits: &Limits, now: u64) {
        if let Ok(mut checker) = self.checker.try_lock() {
            if checker
                .as_ref()
                .is_some_and(|c| limits.expired(c.opened, c.idle_since, now))
            {
                *checker = None;
            }
        }
        let closed = self.retain_idle(|c| !limits.expired(c.opened, c.idle_since, now));
        if closed > 0 {
            tracing::debug!(
                database = %self.database,
                user = %self.user,
                closed,
                "idle backend connections closed: idle or open too long"
            );
        }
    }

    /// Closes idle connections whose backend went away.
    pub fn drop_dead_idle(&self) {
        let dead = self.retain_idle(|c| c.is_alive());
        if dead > 0 {
            tracing::info!(
                target = self.target,
                dead,
                "idle backend connections closed"
            );
            self.stats.broken.fetch_add(dead as u64, Ordering::Relaxed);
        }
    }

    /// Keeps the idle connections `keep` says yes to and closes the
    /// others; returns how many were closed.
    fn retain_idle(&self, mut keep: impl FnMut(&mut BackendConn) -> bool) -> usize {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let before = idle.len();
        idle.retain_mut(|c| keep(c));
        let closed = before - idle.len();
        self.stats.open.fetch_sub(closed, Ordering::Relaxed);
        closed
    }

    /// When the connection idle longest went idle (coarse clock).
    pub fn oldest_idle_since(&self) -> Option<u64> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.first().map(|c| c.idle_since)
    }

    /// Closes the connection idle longest (for a checkout of another pool
    /// of the same server, under `--max-server-connections`); false when
    /// none is idle.
    pub fn close_oldest_idle(&self) -> bool {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.is_empty() {
            return false;
        }
        let conn = idle.remove(0);
        drop(idle);
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
        conn.span.in_scope(|| {
            tracing::debug!("idle backend connection closed: room for another pool of the server")
        });
        true
    }

    /// Idle connections now.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// The backend process IDs of the idle connections.
    pub fn idle_pids(&self) -> Vec<i32> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.iter().map(|c| c.process_id).collect()
    }

    /// The backend process ID of the checker connection, if it is open
    /// and not in use now.
    pub fn checker_pid(&self) -> Option<i32> {
        let checker = self.checker.try_lock().ok()?;
        checker.as_ref().map(|c| c.process_id)
    }

    /// Where this pool connects, for the admin console.
    pub fn label(&self) -> String {
        let t = self.config.targets();
        match t.first() {
            Some(t) => format!("{}:{}", t.host_name(), t.port),
            None => "?".into(),
        }
    }
}

/// Every pool, and the routing of clients to them.
pub struct Pools {
    pub config: Arc<ProxyConfig>,
    /// Per target, its `--max-server-connections` slots, if bounded.
    pub slots: Vec<Option<Arc<ServerSlots>>>,
    /// The users, and what the proxy logs in to the backends with.
    pub users: Arc<Users>,
    pub targets: Vec<Target>,
    pools: Mutex<HashMap<(String, String, usize), Arc<Pool>>>,
    round_robin: AtomicUsize,
    next_id: Arc<AtomicU64>,
    /// The connected clients (`SHOW CLIENTS`, `SHOW SERVERS`).
    pub clients: Arc<super::clients::Clients>,
    /// `PAUSE` / `RESUME` on the admin console.
    pub pause: super::pause::Pause,
    /// Seconds since the start, for connection ages (see [`super::aging`]).
    pub clock: Arc<CoarseClock>,
    /// See [`Pools::reconnect`].
    generation: Arc<AtomicU64>,
    /// Clients in [`checkout`](Self::checkout) past the pause check: a
    /// `PAUSE` waits for them as for the connections handed out.
    checking_out: AtomicUsize,
}

impl Pools {
    /// The targets of `config`, no pools yet.
    pub fn new(config: Arc<ProxyConfig>) -> Pools {
        let probed = !config.health_interval.is_zero();
        let mut targets = vec![Target::new(&config.primary, false, probed)];
        for r in &config.replicas {
            targets.push(Target::new(r, true, probed));
        }
        let slots = targets
            .iter()
            .map(|_| {
                (config.max_server_connections > 0).then(|| {
                    Arc::new(ServerSlots::new(
                        config.max_server_connections,
                        config.wait_timeout,
                    ))
                })
            })
            .collect();
        Pools {
            slots,
            users: Arc::new(Users::new(config.clone())),
            config,
            targets,
            pools: Mutex::new(HashMap::new()),
            round_robin: AtomicUsize::new(0),
            next_id: Arc::new(AtomicU64::new(1)),
            clients: Arc::default(),
            pause: Default::default(),
            clock: Arc::default(),
            generation: Arc::default(),
            checking_out: AtomicUsize::new(0),
        }
    }

    /// `RECONNECT`: every backend connection is replaced by a new one, the
    /// idle ones now and the others when they are given back (so a new
    /// `ALTER DATABASE/ROLE ... SET` reaches pooled sessions). Returns how
    /// many idle ones were closed.
    pub fn reconnect(&self) -> usize {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.close_all_idle()
    }

    /// How long backend connections may stay idle and live.
    pub fn limits(&self) -> Limits {
        Limits {
            idle: self.config.server_idle_timeout.as_secs(),
            lifetime: self.config.server_lifetime.as_secs(),
        }
    }

    /// No connection (of `database`, or at all) is handed out and no
    /// client is on its way to one (what `PAUSE` waits for; the clients on
    /// their way are counted for every database, as they pass quickly).
    pub fn all_released(&self, database: Option<&str>) -> bool {
        self.checking_out.load(Ordering::Acquire) == 0
            && self
                .all()
                .iter()
                .filter(|p| database.is_none_or(|db| p.database == db))
                .all(|p| p.stats.active.load(Ordering::Acquire) == 0)
    }

    /// Closes every connection no client holds (idle and checker
    /// connections of every pool); returns how many idle ones were closed.
    pub fn close_all_idle(&self) -> usize {
        self.all().iter().map(|p| p.close_idle()).sum()
    }

    /// Closes the connections to `database` that no client holds (idle
    /// and checker connections, every user and target): PostgreSQL refuses
    /// to drop a database while any session is connected to it, and these
    /// are the proxy's, not a client's. Returns how many were closed.
    pub fn close_idle_to(&self, database: &str) -> usize {
        let pools: Vec<Arc<Pool>> = self
            .pools
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|p| p.database == database)
            .cloned()
            .collect();
        pools.iter().map(|p| p.close_idle()).sum()
    }

    /// The pools of (user, database), one per target (index 0 the
    /// primary), created on first use. A client resolves them once.
    pub fn pools_for(&self, user: &str, database: &str) -> Result<Vec<Arc<Pool>>, ErrorInfo> {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::with_capacity(self.targets.len());
        for (i, target) in self.targets.iter().enumerate() {
            let key = (user.to_owned(), database.to_owned(), i);
            if let Some(p) = pools.get(&key) {
                out.push(p.clone());
                continue;
            }
            let mut config = pgwire::client::Config::parse(&target.conninfo).map_err(|e| {
                ErrorInfo::fatal(SqlState::CONNECTION_EXCEPTION, format!("backend {i}: {e}"))
            })?;
            let set = |c: &mut pgwire::client::Config, k: &str, v: &str| {
                c.set(k, v).map_err(|e| {
                    ErrorInfo::fatal(SqlState::CONNECTION_EXCEPTION, format!("backend {i}: {e}"))
                })
            };
            set(&mut config, "user", user)?;
            set(&mut config, "dbname", database)?;
            if !target.conninfo.contains("connect_timeout") {
                // A standby that does not answer must not hold clients for
                // the operating system's TCP timeout.
                set(&mut config, "connect_timeout", "5")?;
            }
            let pool = Arc::new(Pool {
                user: user.to_owned(),
                database: database.to_owned(),
                target: i,
                replica: target.replica,
                config,
                users: self.users.clone(),
                slots: self.slots[i].clone(),
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(self.config.pool_size)),
                size: self.config.pool_size,
                params: OnceLock::new(),
                stats: PoolStats::default(),
                next_id: self.next_id.clone(),
                checker: tokio::sync::Mutex::new(None),
                valid: Mutex::new(HashSet::new()),
                clock: self.clock.clone(),
                limits: self.limits(),
                generation: self.generation.clone(),
            });
            if let Some(slots) = &self.slots[i] {
                slots.register(&pool);
            }
            pools.insert(key, pool.clone());
            out.push(pool);
        }
        Ok(out)
    }

    /// A connection for a client of `pools`: from the primary, or for
    /// `read_only` from the standbys in turn (one that refuses connections
    /// is skipped for a few seconds), the primary when none is up.
    pub async fn checkout(
        &self,
        pools: &[Arc<Pool>],
        read_only: bool,
    ) -> Result<Checkout, ErrorInfo> {
        let database = pools.first().map_or("", |p| p.database.as_str());
        if self.pause.is_paused_for(database)
            && !self.pause.wait_resumed(database, PAUSE_WAIT_LIMIT).await
        {
            return Err(ErrorInfo::new(
                SqlState::TOO_MANY_CONNECTIONS,
                format!(
                    "the proxy is paused (PAUSE) and was not resumed within {} s",
                    PAUSE_WAIT_LIMIT.as_secs()
                ),
            ));
        }
        let _counted = CheckingOut::new(&self.checking_out);
        self.checkout_unpaused(pools, read_only).await
    }

    async fn checkout_unpaused(
        &self,
        pools: &[Arc<Pool>],
        read_only: bool,
    ) -> Result<Checkout, ErrorInfo> {
        let wait = self.config.wait_timeout;
        let replicas = pools.len().saturating_sub(1);
        if read_only && replicas > 0 {
            let start = self.round_robin.fetch_add(1, Ordering::Relaxed);
            for k in 0..replicas {
                let i = 1 + (start + k) % replicas;
                if !self.targets[i].in_rotation() {
                    continue;
                }
                match pools[i].checkout(wait).await {
                    Ok(c) => return Ok(c),
                    Err(CheckoutError::Timeout) => return Err(pool_timeout(&pools[i], wait)),
                    Err(CheckoutError::Connect(e)) => {
                        // On to the next standby or the primary either way.
                        if server_unavailable(&e) {
                            self.targets[i].mark_down(i, &format!("standby unreachable: {e}"));
                        }
                    }
                }
            }
        }
        match pools[0].checkout(wait).await {
            Ok(c) => Ok(c),
            Err(CheckoutError::Timeout) => Err(pool_timeout(&pools[0], wait)),
            Err(CheckoutError::Connect(e)) => Err(connect_error(&e)),
        }
    }

    /// An idle connection of the primary's pool for a client that does not
    /// read from the standbys, if one is there now; `None` otherwise (then
    /// [`checkout`](Self::checkout) decides: it waits, connects, balances).
    pub fn checkout_idle_now(&self, pools: &[Arc<Pool>], read_only: bool) -> Option<Checkout> {
        let primary = pools.first()?;
        if (read_only && pools.len() > 1) || self.pause.is_paused_for(&primary.database) {
            return None;
        }
        primary.take_idle_now()
    }

    /// A connection for a client of `pools` if one can be had without
    /// waiting in line: `None` when the pool it would come from is full.
    pub async fn try_checkout(
        &self,
        pools: &[Arc<Pool>],
        read_only: bool,
    ) -> Option<Result<Checkout, ErrorInfo>> {
        let replicas = pools.len().saturating_sub(1);
        if read_only && replicas > 0 {
            let start = self.round_robin.fetch_add(1, Ordering::Relaxed);
            for k in 0..replicas {
                let i = 1 + (start + k) % replicas;
                if !self.targets[i].in_rotation() {
                    continue;
                }
                match pools[i].try_checkout().await? {
                    Ok(c) => return Some(Ok(c)),
                    Err(CheckoutError::Timeout) => return None,
                    Err(CheckoutError::Connect(e)) => {
                        // On to the next standby or the primary either way.
                        if server_unavailable(&e) {
                            self.targets[i].mark_down(i, &format!("standby unreachable: {e}"));
                        }
                    }
                }
            }
        }
        match pools[0].try_checkout().await? {
            Ok(c) => Some(Ok(c)),
            Err(CheckoutError::Timeout) => None,
            Err(CheckoutError::Connect(e)) => Some(Err(connect_error(&e))),
        }
    }

    /// The pools of backend `target` (one per user and database).
    pub fn pools_of_target(&self, target: usize) -> Vec<Arc<Pool>> {
        let pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools
            .values()
            .filter(|p| p.target == target)
            .cloned()
            .collect()
    }

    /// Every pool, for the admin console.
    pub fn all(&self) -> Vec<Arc<Pool>> {
        let pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = pools.values().cloned().collect();
        v.sort_by(|a, b| (&a.database, &a.user, a.target).cmp(&(&b.database, &b.user, b.target)));
        v
    }
}

/// Counts a client in [`Pools::checkout`] until it leaves (also when its
/// future is dropped).
struct CheckingOut<'a>(&'a AtomicUsize);

impl<'a> CheckingOut<'a> {
    fn new(counter: &'a AtomicUsize) -> CheckingOut<'a> {
        counter.fetch_add(1, Ordering::AcqRel);
        CheckingOut(counter)
    }
}

impl Drop for CheckingOut<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn pool_timeout(pool: &Pool, wait: Duration) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::TOO_MANY_CONNECTIONS,
        format!(
            "no backend connection available for user \"{}\" database \"{}\" within {:.1} s: \
             all {} connections of the pool are busy",
            pool.user,
            pool.database,
            wait.as_secs_f64(),
            pool.size
        ),
    )
}

/// Whether a failed connection attempt means the server itself cannot
/// take clients now (unreachable, silent, starting up, shutting down,
/// full), rather than refusing one database or user (3D000 for a database
/// dropped or not replayed yet on a standby, 28P01...): only the first
/// takes a backend out of rotation for everyone.
pub fn server_unavailable(e: &pgwire::client::Error) -> bool {
    use pgwire::client::Error;
    match e {
        Error::Db(db) => {
            db.code.starts_with("57P") || db.code.starts_with("08") || db.code == "53300"
        }
        Error::AllHostsFailed(each) => each.iter().all(server_unavailable),
        // A pool's own user or settings (a password the server would not
        // take, or could not prove it knew), not the server.
        Error::Auth(_) | Error::Config(_) => false,
        _ => true,
    }
}

/// A backend's refusal, passed on with its SQLSTATE (a wrong configured
/// password shows as 28P01, an unknown database as 3D000).
pub fn connect_error(e: &pgwire::client::Error) -> ErrorInfo {
    let code = SqlState::try_from_code(e.sqlstate()).unwrap_or(SqlState::CONNECTION_FAILURE);
    let message = match e.as_db_error() {
        Some(db) => db.message.clone(),
        None => format!("cannot connect to the backend: {e}"),
    };
    ErrorInfo::new(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgwire::client::{DbError, Error};

    fn db(code: &str) -> Error {
        Error::Db(Box::new(DbError {
            code: code.to_owned(),
            ..DbError::default()
        }))
    }

    #[test]
    fn which_errors_take_a_server_out_of_rotation() {
        // Starting up, shutting down, too many clients, connection failures.
        for code in ["57P03", "57P01", "53300", "08006"] {
            assert!(server_unavailable(&db(code)), "{code}");
        }
        // One database or user refused: the server serves the others.
        for code in ["3D000", "28P01", "28000", "42501"] {
            assert!(!server_unavailable(&db(code)), "{code}");
        }
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(server_unavailable(&Error::Io(refused)));
        assert!(server_unavailable(&Error::Closed));
        assert!(!server_unavailable(&Error::Auth("no password".into())));
        assert!(server_unavailable(&Error::AllHostsFailed(vec![
            db("57P03"),
            Error::Closed
        ])));
        assert!(!server_unavailable(&Error::AllHostsFailed(vec![
            db("57P03"),
            db("3D000")
        ])));
    }
}
