//! One client, from the end of its startup until it leaves: frames from
//! the client go to a backend connection and the backend's answers come
//! back, as bytes, read and written in whole buffers.
//!
//! Under transaction pooling the client holds a backend connection only
//! from its first message after a ReadyForQuery Idle to the next one
//! (nothing owed, status Idle); under session pooling for its whole life.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::FutureExt;
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::messages::{Message, ParameterStatus};
use pgwire::server::{RawSession, peek_frame};
use tokio::net::TcpStream;
use tracing::Instrument;

use super::FrontDoor;
use super::backend::MAX_BACKEND_MESSAGE;
use super::clients::{NewClient, Registration};
use super::config::PoolMode;
use super::pool::{Checkout, Pool, Pools};
use super::query_effects::{
    QueryEffects, SettingChanges, changes_session, contains_ci, database_needing_sole_access,
    followed_settings,
};
use super::settings::{self, Settings};
use super::statements::{self, Pending, Statements, cstr};

/// The client side of a session.
pub type Front = RawSession<FrontDoor, TcpStream>;

const PARSE_COMPLETE: &[u8] = b"1\0\0\0\x04";
const CLOSE_COMPLETE: &[u8] = b"3\0\0\0\x04";

/// Serves one authenticated client; `span` is its span.
pub async fn run(front: Front, pools: Arc<Pools>, span: tracing::Span) {
    let session = open(front, pools, span.clone())
        .instrument(span.clone())
        .await;
    let Some(mut session) = session else { return };
    // The relay loop enters the span only around what it logs: entering
    // it around every poll cost more than the loop's own bookkeeping.
    if session.start().instrument(span.clone()).await {
        session.serve().await;
    }
    session.finish().instrument(span).await;
    let home = session.home;
    session.my_pools[home]
        .stats
        .clients
        .fetch_sub(1, Ordering::Relaxed);
}

/// The client's pools and settings: `None` when it was turned away (or
/// was served by the admin console).
async fn open(mut front: Front, pools: Arc<Pools>, span: tracing::Span) -> Option<ClientSession> {
    let database = front.client().database().to_owned();
    let user = front.client().user().to_owned();
    if database == pools.config.admin_database {
        super::admin::run(front, pools).await;
        return None;
    }
    let (real_database, mut read_only) = match database.strip_suffix("_ro") {
        Some(d) if !d.is_empty() => (d.to_owned(), true),
        _ => (database.clone(), false),
    };
    // `target_session_attrs=read-only` as a startup parameter (or in
    // `options`) asks for a standby too.
    let attrs = front
        .client()
        .parameter("target_session_attrs")
        .unwrap_or("");
    let options = front.client().parameter("options").unwrap_or("");
    if attrs == "read-only"
        || attrs == "standby"
        || options.contains("target_session_attrs=read-only")
    {
        read_only = true;
    }
    let my_pools = match pools.pools_for(&user, &real_database) {
        Ok(p) => p,
        Err(e) => {
            front.send_fatal(&e).await;
            return None;
        }
    };
    let home = if read_only && my_pools.len() > 1 {
        1
    } else {
        0
    };
    my_pools[home].stats.clients.fetch_add(1, Ordering::Relaxed);
    let registration = pools.clients.register(NewClient {
        user,
        database,
        addr: front.client().peer_addr(),
        application_name: front.client().application_name().unwrap_or("").to_owned(),
        key_pid: front.backend_key_data().process_id,
        pools: my_pools.clone(),
        terminate: Some(front.terminate_handle()),
    });
    let mode = pools.config.pool_mode;
    let mut session = ClientSession {
        span,
        home,
        front,
        pools,
        my_pools,
        read_only,
        mode,
        rename: mode == PoolMode::Transaction,
        backend: None,
        pending: VecDeque::new(),
        statements: Statements::default(),
        skip_to_sync: false,
        copy_in: false,
        wanted: Settings::default(),
        wanted_resolved: false,
        extras: Vec::new(),
        startup_extras: Vec::new(),
        changed_settings: SettingChanges::default(),
        reading_settings: None,
        last_parse: LastScan::default(),
        pinned: false,
        registration,
        alone_statements: Vec::new(),
    };
    let requested =
        settings::from_startup(session.front.client().parameters(), &mut session.wanted);
    match requested {
        Ok(extras) => {
            session.startup_extras = extras.clone();
            session.extras = extras;
        }
        Err(message) => {
            let e = ErrorInfo::fatal(SqlState::INVALID_PARAMETER_VALUE, message);
            session.front.send_fatal(&e).await;
            session.my_pools[home]
                .stats
                .clients
                .fetch_sub(1, Ordering::Relaxed);
            return None;
        }
    }
    Some(session)
}

struct ClientSession {
    /// The client's span (see [`run`]).
    span: tracing::Span,
    /// The pool whose client count includes this client.
    home: usize,
    front: Front,
    pools: Arc<Pools>,
    my_pools: Vec<Arc<Pool>>,
    read_only: bool,
    mode: PoolMode,
    /// Rename named statements (transaction pooling).
    rename: bool,
    backend: Option<Checkout>,
    pending: VecDeque<Pending>,
    statements: Statements,
    /// A checkout failed in the middle of an extended-protocol cycle: the
    /// client's messages up to its Sync are skipped, as after an error.
    skip_to_sync: bool,
    /// The backend is in copy-in mode (CopyInResponse seen, the client's
    /// CopyDone/CopyFail not yet): it ignores Sync and Flush meanwhile.
    copy_in: bool,
    /// The values the client expects of the tracked settings.
    wanted: Settings,
    /// `wanted` is resolved (startup values, else the backends' defaults).
    wanted_resolved: bool,
    /// Settings backends do not report that the client wants: from its
    /// startup, and (transaction pooling) from its own `SET`s.
    extras: settings::Extras,
    /// The extras from the client's startup (what `RESET` goes back to).
    startup_extras: settings::Extras,
    /// Transaction pooling: settings the client's current transaction
    /// changed, read back when it ends.
    changed_settings: SettingChanges,
    /// The changes whose values are being read back, and the names read.
    reading_settings: Option<(SettingChanges, Vec<String>)>,
    /// The text of the last Parse looked at, and what it does.
    last_parse: LastScan,
    /// Transaction pooling: the client made session state the proxy does
    /// not follow (a temporary table, a prepared statement...), so it
    /// keeps its connection until it leaves, and the connection is
    /// discarded then (see [`super::query_effects::leaves_session_state`]).
    pinned: bool,
    /// The client's line in `SHOW CLIENTS` (removed when the session ends).
    registration: Registration,
    /// Session pooling: the client's named statements that need their
    /// database alone (`DROP DATABASE x`...), by name, with their query:
    /// each run closes the proxy's idle connections to it again, as the
    /// renamed statements of transaction pooling do. Usually empty.
    alone_statements: Vec<(Vec<u8>, Vec<u8>)>,
}

/// What [`ClientSession::forward_client`] stopped at.
enum Step {
    /// Every whole frame is handled.
    Done,
    /// The next frame needs a backend connection.
    NeedBackend,
    /// The next frame is a named Parse and no backend connection is held:
    /// see [`ClientSession::parse_detached`].
    ParseDetached,
    /// Terminate.
    Terminate,
    /// The client broke the protocol.
    Fatal(ErrorInfo),
}

enum Event {
    Client(std::io::Result<usize>),
    Backend(std::io::Result<usize>),
    Cancel,
    /// The proxy began shutting down.
    Shutdown,
}

impl ClientSession {
    /// Finishes the client's startup with a backend's parameters, the
    /// proxy's own BackendKeyData and ReadyForQuery. Session pooling takes
    /// the client's connection now.
    async fn start(&mut self) -> bool {
        let known = self.my_pools.iter().find_map(|p| p.params.get()).cloned();
        let params = match known {
            Some(p) if self.mode == PoolMode::Transaction => {
                // Checked aside, without waiting in line for a connection.
                if let Err(e) = self.check_extras().await {
                    self.front.send_fatal(&e).await;
                    return false;
                }
                p
            }
            _ => {
                if let Err(e) = self.attach().await {
                    self.front.send_fatal(&e).await;
                    return false;
                }
                if let Err(e) = self.apply_extras().await {
                    self.front.send_fatal(&e).await;
                    return false;
                }
                let p = self
                    .backend
                    .as_ref()
                    .and_then(|b| b.pool.params.get().cloned())
                    .unwrap_or_default();
                if self.mode == PoolMode::Transaction {
                    self.release();
                }
                p
            }
        };
        // Settings the client did not choose are the backends' defaults.
        for (name, value) in &params {
            if let Some(i) = settings::index_of(name) {
                self.wanted[i].get_or_insert_with(|| settings::value(value));
            }
        }
        self.wanted_resolved = true;
        let key = self.front.backend_key_data();
        let wanted = self.wanted.clone();
        let wbuf = self.front.write_buffer();
        for (name, value) in &params {
            let value = settings::index_of(name)
                .and_then(|i| wanted[i].as_deref().map(str::to_owned))
                .unwrap_or_else(|| value.clone());
            ParameterStatus::new(name.clone(), value).encode(wbuf);
        }
        key.encode(wbuf);
        wbuf.put_slice(b"Z\0\0\0\x05I");
        self.front.flush().await.is_ok()
    }

    /// Takes an idle connection if one is there now: the usual case under
    /// transaction pooling, done without a future or a timer.
    fn attach_idle_now(&mut self) -> bool {
        match self.pools.checkout_idle_now(&self.my_pools, self.read_only) {
            Some(b) => {
                self.install(b);
                true
            }
            None => false,
        }
    }

    /// Takes a connection: idle, or new, or after waiting in line.
    async fn attach(&mut self) -> Result<(), ErrorInfo> {
        if self.attach_idle_now() {
            return Ok(());
        }
        self.registration.set_waiting(true);
        let b = self.pools.checkout(&self.my_pools, self.read_only).await;
        self.registration.set_waiting(false);
        self.install(b?);
        Ok(())
    }

    /// At startup under transaction pooling: checks that the client's
    /// extras can be set, on the checker connection of its primary pool.
    async fn check_extras(&mut self) -> Result<(), ErrorInfo> {
        if self.extras.is_empty() {
            return Ok(());
        }
        match self.my_pools[0].check_settings(&self.extras).await {
            Ok(None) => Ok(()),
            Ok(Some(frame)) => {
                let (code, message) = super::backend::error_fields(&frame);
                let code =
                    SqlState::try_from_code(&code).unwrap_or(SqlState::INVALID_PARAMETER_VALUE);
                Err(ErrorInfo::fatal(code, message))
            }
            // Set (and checked) when the client first takes a connection.
            Err(e) => {
                tracing::info!("settings checker unavailable: {e}");
                Ok(())
            }
        }
    }

    /// At startup: sets the client's extras on the connection just taken
    /// and waits for the answer, so that a setting PostgreSQL would refuse
    /// at connection time ends the startup with its error.
    async fn apply_extras(&mut self) -> Result<(), ErrorInfo> {
        let Some(b) = self.backend.as_mut() else {
            return Ok(());
        };
        if !settings::queue_extras(&mut b.conn.wbuf, &self.extras, &b.conn.extras) {
            return Ok(());
        }
        match b.conn.round_trip().await {
            Ok(None) => {
                b.conn.extras = self.extras.clone();
                if self.mode == PoolMode::Session {
                    b.conn.dirty = true;
                }
                Ok(())
            }
            Ok(Some(frame)) => {
                let (code, message) = super::backend::error_fields(&frame);
                // Part of the settings may have been applied: the
                // connection is not reused.
                if let Some(b) = self.detach() {
                    Pool::checkin(b, false);
                }
                let code =
                    SqlState::try_from_code(&code).unwrap_or(SqlState::INVALID_PARAMETER_VALUE);
                Err(ErrorInfo::fatal(code, message))
            }
            Err(e) => {
                if let Some(b) = self.detach() {
                    Pool::checkin(b, false);
                }
                Err(ErrorInfo::fatal(
                    SqlState::CONNECTION_FAILURE,
                    format!("server connection lost: {e}"),
                ))
            }
        }
    }

    /// Takes connection `b` for the client.
    fn install(&mut self, mut b: Checkout) {
        tracing::trace!(parent: &self.span, backend = b.conn.process_id, "attached");
        // Sent in front of the client's first message: no extra round trip.
        if self.wanted_resolved
            && settings::queue_differences(&mut b.conn.wbuf, &self.wanted, &b.conn.settings)
        {
            self.pending.push_back(Pending::InjectedQuery);
        }
        if self.wanted_resolved
            && settings::queue_extras(&mut b.conn.wbuf, &self.extras, &b.conn.extras)
        {
            self.pending.push_back(Pending::InjectedQuery);
            b.conn.extras = self.extras.clone();
            if self.mode == PoolMode::Session {
                b.conn.dirty = true;
            }
        }
        if self.pinned {
            b.conn.dirty = true;
        }
        // `my_pools` has one pool per target, in target order.
        self.registration.holds(b.pool.target, b.conn.process_id);
        self.backend = Some(b);
    }

    /// Lets go of the connection held, if any (the caller gives it back to
    /// its pool).
    fn detach(&mut self) -> Option<Checkout> {
        let b = self.backend.take()?;
        self.registration.holds_nothing();
        Some(b)
    }

    /// Transaction pooling: gives the connection back once nothing is owed
    /// and no transaction is open.
    fn maybe_release(&mut self) {
        if self.pinned {
            self.registration.set_pinned();
        }
        if self.mode != PoolMode::Transaction || self.pinned || !self.pending.is_empty() {
            return;
        }
        if let Some(b) = &self.backend {
            if b.conn.status == b'I' && b.conn.rbuf.is_empty() && b.conn.wbuf.is_empty() {
                self.release();
            }
        }
    }

    /// Nothing is under way: no transaction open on the connection held
    /// (if any), no answer owed, no COPY.
    fn is_idle(&self) -> bool {
        match &self.backend {
            None => true,
            Some(b) => {
                b.conn.status == b'I'
                    && self.pending.is_empty()
                    && !self.copy_in
                    && b.conn.rbuf.is_empty()
                    && b.conn.wbuf.is_empty()
            }
        }
    }

    fn release(&mut self) {
        if let Some(b) = self.detach() {
            Pool::checkin(b, true);
        }
    }

    async fn serve(&mut self) {
        let cancel = self.front.cancel_signal();
        // One wait for a cancel across iterations (re-armed when one
        // comes), not a new one per message.
        let mut cancelled = std::pin::pin!(cancel.requested());
        let mut shutdown_watch = self.front.shutdown_signal();
        let mut shutdown = std::pin::pin!(shutdown_watch.requested());
        // The shutdown began: end the client at its next idle point.
        let mut stopping = false;
        loop {
            match self.forward_client() {
                Step::Done => {}
                Step::NeedBackend => {
                    if !self.attach_idle_now() {
                        // Not in the client's span: what a checkout logs
                        // is about the backend (its own span, or target).
                        if let Err(e) = self.attach().await {
                            self.refuse(&e);
                        }
                    }
                    continue;
                }
                Step::ParseDetached => {
                    let span = self.span.clone();
                    self.parse_detached().instrument(span).await;
                    continue;
                }
                Step::Terminate => return,
                Step::Fatal(e) => {
                    tracing::info!(parent: &self.span, "client error: {}", e.message());
                    self.front.send_fatal(&e).await;
                    return;
                }
            }
            if let Some(b) = &mut self.backend {
                if !b.conn.wbuf.is_empty() && b.conn.flush().await.is_err() {
                    self.backend_lost("could not write to the backend").await;
                    return;
                }
            }
            // The client's answer goes out before the connection goes back
            // to the pool (the client waits for it; the pool's next user
            // is not waiting yet), unless the client is slow to take it.
            let mut flushed = self.front.write_buffer().is_empty();
            if !flushed {
                match self.front.flush().now_or_never() {
                    Some(Ok(())) => flushed = true,
                    Some(Err(_)) => return,
                    None => {}
                }
            }
            self.maybe_release();
            if !flushed && self.front.flush().await.is_err() {
                return;
            }
            if stopping && self.is_idle() {
                self.front.send_fatal(&super::admin::shutting_down()).await;
                return;
            }
            let event = match &mut self.backend {
                // Biased: no random branch order to draw per wait. A
                // cancel goes first (it is ready only when one came, and
                // a backend streaming a long result is ready at nearly
                // every turn); then the backend, whose answers free the
                // connection and must be drained for it to go on.
                Some(b) => tokio::select! {
                    biased;
                    _ = &mut cancelled => Event::Cancel,
                    r = b.conn.fill() => Event::Backend(r),
                    r = self.front.fill() => Event::Client(r),
                    _ = &mut shutdown, if !stopping => Event::Shutdown,
                },
                None => tokio::select! {
                    biased;
                    _ = &mut cancelled => Event::Cancel,
                    r = self.front.fill() => Event::Client(r),
                    _ = &mut shutdown, if !stopping => Event::Shutdown,
                },
            };
            match event {
                Event::Client(Ok(0)) | Event::Client(Err(_)) => return,
                Event::Client(Ok(_)) => {}
                Event::Backend(Ok(0)) | Event::Backend(Err(_)) => {
                    self.backend_lost("the backend closed the connection").await;
                    return;
                }
                Event::Backend(Ok(_)) => {
                    if let Err(e) = self.forward_backend() {
                        // Forward what came before the bad message.
                        let _ = self.front.flush().await;
                        self.backend_lost(e.message()).await;
                        return;
                    }
                }
                Event::Shutdown => stopping = true,
                Event::Cancel if self.front.is_terminating() => {
                    // KILL on the admin console: the backend connection
                    // may be mid-transaction or mid-query; it is closed,
                    // not given back (PostgreSQL rolls back what it held).
                    if let Some(b) = self.detach() {
                        Pool::checkin(b, false);
                    }
                    tracing::info!(parent: &self.span, "client killed by KILL");
                    self.front.send_fatal(&killed()).await;
                    return;
                }
                Event::Cancel => {
                    cancelled.set(cancel.requested());
                    // Only while something of the client's runs: the
                    // proxy's own queries (settings read back, SETs in
                    // front of the client's first message) are not what
                    // the client cancels, and cancelling the read-back
                    // would leave the connection's settings unknown.
                    let clients_query_runs = self
                        .pending
                        .iter()
                        .any(|p| !matches!(p, Pending::ReadSettings | Pending::InjectedQuery));
                    if let Some(b) = &self.backend {
                        if clients_query_runs {
                            let token = b.conn.cancel.clone();
                            tracing::debug!(
                                parent: &self.span,
                                backend = b.conn.process_id,
                                "forwarding cancel"
                            );
                            let forward = async move {
                                if let Err(e) = token.cancel().await {
                                    tracing::info!("cancel not delivered: {e}");
                                }
                            };
                            tokio::spawn(forward.instrument(self.span.clone()));
                        }
                    }
                }
            }
        }
    }

    /// The backend went away under the client: tell it and end it (its
    /// session state is lost with the connection).
    async fn backend_lost(&mut self, why: &str) {
        if let Some(b) = self.detach() {
            b.conn
                .span
                .in_scope(|| tracing::warn!("backend connection lost: {why}"));
            Pool::checkin(b, false);
        }
        let e = ErrorInfo::fatal(
            SqlState::CONNECTION_FAILURE,
            format!("server connection lost: {why}"),
        );
        self.front.send_fatal(&e).await;
    }

    /// Transaction pooling, a named Parse while no backend connection is
    /// held. With room in the pool the client takes a connection and the
    /// Parse goes to it, so an error in it surfaces at the Parse. When the
    /// pool is full the client does not wait in line for it (a client
    /// preparing synchronously while its siblings hold every connection in
    /// their transactions, as pgbench does, would wait for itself): the
    /// statement is checked on the pool's checker connection instead, and
    /// the client gets the backend's error or ParseComplete; the statement
    /// is parsed on a serving backend when first used.
    async fn parse_detached(&mut self) {
        if self
            .my_pools
            .first()
            .is_some_and(|p| self.pools.pause.is_paused_for(&p.database))
        {
            // Not checked aside while paused (PostgreSQL may be down for a
            // restart): the client waits for RESUME like any other.
            if let Err(e) = self.attach().await {
                self.refuse(&e);
            }
            return;
        }
        match self
            .pools
            .try_checkout(&self.my_pools, self.read_only)
            .await
        {
            Some(Ok(b)) => {
                self.install(b);
                return;
            }
            Some(Err(e)) => {
                self.refuse(&e);
                return;
            }
            None => {}
        }
        let max = self.front.max_message_len();
        let Ok(Some(f)) = peek_frame(self.front.read_buffer(), max) else {
            return;
        };
        let frame = self.front.read_buffer().split_to(f.len).freeze();
        let Some((name, definition)) = cstr(&frame[5..]) else {
            return;
        };
        let query = statements::query_of(definition);
        let effects = QueryEffects::of(query);
        let alone = effects.database && make_way_for(query, &self.pools, &self.span);
        let mut settings = None;
        if self.mode == PoolMode::Transaction && !self.pinned {
            match session_effect(query, effects) {
                SessionEffect::None => {}
                SessionEffect::Settings(changes) => settings = Some(Arc::new(changes)),
                // Marked dirty when a connection is installed.
                SessionEffect::Pinned => self.pinned = true,
            }
        }
        let hash = statements::statement_hash(definition);
        let pool = self.my_pools[0].clone();
        let answer = match pool.check_parse(hash, definition).await {
            Ok(answer) => answer,
            Err(e) => {
                // The statement is checked when first used instead.
                tracing::info!("parse checker unavailable: {e}");
                None
            }
        };
        let out = self.front.write_buffer();
        match answer {
            None => {
                self.statements.define(name, definition, settings, alone);
                out.put_slice(PARSE_COMPLETE);
            }
            Some(error) => {
                // As PostgreSQL: the statement does not exist, and the
                // client's messages up to its Sync are skipped.
                out.put_slice(&error);
                self.skip_to_sync = true;
            }
        }
    }

    /// A checkout failed: the client gets the error where PostgreSQL would
    /// give it, and its messages up to the next Sync are skipped.
    fn refuse(&mut self, e: &ErrorInfo) {
        let max = self.front.max_message_len();
        let (rbuf, wbuf) = self.front.buffers();
        e.encode_error(wbuf);
        if let Ok(Some(f)) = peek_frame(rbuf, max) {
            if f.tag == b'Q' || f.tag == b'F' {
                rbuf.advance(f.len);
                wbuf.put_slice(b"Z\0\0\0\x05I");
                return;
            }
        }
        self.skip_to_sync = true;
    }

    /// Moves the client's whole frames to the backend's write buffer,
    /// renaming statements and answering what the proxy answers itself.
    fn forward_client(&mut self) -> Step {
        let max = self.front.max_message_len();
        let ClientSession {
            span,
            front,
            backend,
            pending,
            statements,
            skip_to_sync,
            mode,
            rename,
            copy_in,
            pinned,
            pools,
            changed_settings,
            last_parse,
            alone_statements,
            ..
        } = self;
        let (rbuf, out) = front.buffers();
        // Frames before `pos` are handled; those from `run` to `pos` go to
        // the backend as they are but are not copied yet: a client's
        // pipeline goes over in one copy, and leaves the read buffer in one
        // step. A frame rewritten or answered here first copies the run
        // before it (`skip`).
        let mut pos = 0;
        let mut run = 0;
        let step = loop {
            let f = match peek_frame(&rbuf[pos..], max) {
                Ok(Some(f)) => f,
                Ok(None) => break Step::Done,
                Err(e) => break Step::Fatal(e.to_error_info()),
            };
            if f.tag == b'X' {
                break Step::Terminate;
            }
            if !b"QPBDESHCFdcf".contains(&f.tag) {
                break Step::Fatal(ErrorInfo::fatal(
                    SqlState::PROTOCOL_VIOLATION,
                    format!("invalid frontend message type {}", f.tag),
                ));
            }
            let frame = &rbuf[pos..pos + f.len];
            let body = &frame[5..];
            tracing::trace!(parent: &*span, tag = %(f.tag as char), n = pending.len(), "client frame");
            if *skip_to_sync {
                skip(backend, rbuf, &mut run, pos, f.len);
                if f.tag == b'S' {
                    *skip_to_sync = false;
                    out.put_slice(b"Z\0\0\0\x05I");
                }
                pos += f.len;
                continue;
            }
            if f.tag == b'Q' {
                let status = backend.as_ref().map(|b| b.conn.status).unwrap_or(b'I');
                if let Some(reply) = local_query(body, *mode, *rename, statements, status) {
                    skip(backend, rbuf, &mut run, pos, f.len);
                    emit(pending, out, Pending::LocalReply(reply));
                    pos += f.len;
                    continue;
                }
            }
            if backend.is_none() && *rename {
                if f.tag == b'P' && cstr(body).is_some_and(|(name, _)| !name.is_empty()) {
                    break Step::ParseDetached;
                }
                if answer_detached(f.tag, body, statements, out) {
                    // No backend: nothing is waiting to be copied.
                    pos += f.len;
                    run = pos;
                    continue;
                }
            }
            let Some(b) = backend.as_mut() else {
                break Step::NeedBackend;
            };
            let conn = &mut b.conn;
            let stats = &b.pool.stats;
            let w = &mut conn.wbuf;
            match f.tag {
                b'Q' => {
                    let sql = body.strip_suffix(b"\0").unwrap_or(body);
                    let words = QueryEffects::of(sql);
                    if *rename && (words.discard || words.deallocate) {
                        // The backend may drop the renamed statements:
                        // inject them again when needed (with a Close
                        // first, in case they survived).
                        conn.prepared.clear();
                        if contains_ci(sql, b"ALL") {
                            // DEALLOCATE ALL / DISCARD ALL: the client's
                            // statements are gone too.
                            statements.clear();
                        }
                    }
                    if (words.discard || words.deallocate) && contains_ci(sql, b"ALL") {
                        alone_statements.clear();
                    }
                    if words.database {
                        make_way_for(sql, pools, span);
                    }
                    let session =
                        Session::of(*mode, pinned, &mut conn.dirty, changed_settings, span);
                    note_session_effects(sql, words, false, session);
                    stats.queries.fetch_add(1, Ordering::Relaxed);
                    pending.push_back(Pending::Query);
                }
                b'P' => {
                    let Some((name, definition)) = cstr(body) else {
                        break Step::Fatal(malformed("Parse"));
                    };
                    let query = statements::query_of(definition);
                    let session =
                        Session::of(*mode, pinned, &mut conn.dirty, changed_settings, span);
                    let named = *rename && !name.is_empty();
                    let effects = last_parse.effects_of(query);
                    let alone = effects.database && make_way_for(query, pools, span);
                    let settings = note_session_effects(query, effects, named, session);
                    if named {
                        copy_run(w, rbuf, &mut run, pos, f.len);
                        let hash = statements.define(name, definition, settings, alone);
                        if conn.prepared.contains(&hash) {
                            emit(pending, out, Pending::LocalParseComplete);
                        } else {
                            statements::put_parse(w, hash, definition);
                            conn.prepared.insert(hash);
                            pending.push_back(Pending::Parse {
                                hash: Some(hash),
                                injected: false,
                            });
                        }
                    } else {
                        if !name.is_empty() {
                            conn.dirty = true;
                            if alone {
                                alone_statements.retain(|(n, _)| n != name);
                                alone_statements.push((name.to_vec(), query.to_vec()));
                            }
                        }
                        pending.push_back(Pending::Parse {
                            hash: None,
                            injected: false,
                        });
                    }
                }
                b'B' => {
                    let Some((portal, after_portal)) = cstr(body) else {
                        break Step::Fatal(malformed("Bind"));
                    };
                    let Some((name, rest)) = cstr(after_portal) else {
                        break Step::Fatal(malformed("Bind"));
                    };
                    // The unnamed statement (the commonest) is not looked up.
                    let renamed = (*rename && !name.is_empty())
                        .then(|| statements.get(name))
                        .flatten();
                    if let Some(st) = renamed {
                        copy_run(&mut conn.wbuf, rbuf, &mut run, pos, f.len);
                        if let Some(changes) = &st.settings {
                            // A named statement that changes settings runs.
                            changed_settings.then(SettingChanges::clone(changes));
                        }
                        if st.needs_database_alone {
                            make_way_for(statements::query_of(&st.definition), pools, span);
                        }
                        ensure_prepared(conn, pending, st.hash, &st.definition);
                        statements::put_bind(
                            &mut conn.wbuf,
                            &body[..portal.len() + 1],
                            st.hash,
                            rest,
                        );
                    } else if !alone_statements.is_empty() {
                        if let Some((_, query)) = alone_statements.iter().find(|(n, _)| n == name) {
                            make_way_for(query, pools, span);
                        }
                    }
                    pending.push_back(Pending::Bind);
                }
                b'D' => {
                    let kind = body.first().copied().unwrap_or(0);
                    let Some((name, _)) = cstr(body.get(1..).unwrap_or_default()) else {
                        break Step::Fatal(malformed("Describe"));
                    };
                    let renamed = (*rename && kind == b'S' && !name.is_empty())
                        .then(|| statements.get(name))
                        .flatten();
                    if let Some(st) = renamed {
                        copy_run(&mut conn.wbuf, rbuf, &mut run, pos, f.len);
                        ensure_prepared(conn, pending, st.hash, &st.definition);
                        statements::put_describe(&mut conn.wbuf, st.hash);
                    }
                    pending.push_back(Pending::Describe);
                }
                b'C' => {
                    let kind = body.first().copied().unwrap_or(0);
                    let Some((name, _)) = cstr(body.get(1..).unwrap_or_default()) else {
                        break Step::Fatal(malformed("Close"));
                    };
                    if *rename && kind == b'S' && !name.is_empty() {
                        // The backend keeps `pgw_<hash>` for whoever
                        // prepares the same query next.
                        copy_run(w, rbuf, &mut run, pos, f.len);
                        statements.remove(name);
                        emit(pending, out, Pending::LocalCloseComplete);
                    } else {
                        if kind == b'S' {
                            alone_statements.retain(|(n, _)| n != name);
                        }
                        pending.push_back(Pending::Close);
                    }
                }
                b'E' => pending.push_back(Pending::Execute),
                b'S' if !*copy_in => {
                    stats.queries.fetch_add(1, Ordering::Relaxed);
                    pending.push_back(Pending::Sync);
                }
                b'c' | b'f' => {
                    if *copy_in {
                        *copy_in = false;
                    } else {
                        pending.push_back(Pending::CopyEnd);
                    }
                }
                b'F' => pending.push_back(Pending::Query),
                // Flush, CopyData, CopyDone, CopyFail: no answer of their own.
                _ => {}
            }
            pos += f.len;
        };
        skip(backend, rbuf, &mut run, pos, 0);
        rbuf.advance(pos);
        step
    }

    /// Moves the backend's whole frames to the client, swallowing the
    /// answers to injected messages and adding the proxy's own answers in
    /// their place in the order.
    fn forward_backend(&mut self) -> Result<(), ErrorInfo> {
        let ClientSession {
            span,
            front,
            backend,
            pending,
            mode,
            copy_in,
            wanted,
            extras,
            startup_extras,
            changed_settings,
            reading_settings,
            pinned,
            ..
        } = self;
        let Some(b) = backend.as_mut() else {
            return Ok(());
        };
        let conn = &mut b.conn;
        let out = front.write_buffer();
        // Frames before `pos` are handled; those from `run` to `pos` are
        // forwarded but not copied yet: a reply's frames go to the client
        // in one copy, and leave the read buffer in one step.
        let mut pos = 0;
        let mut run = 0;
        let result = loop {
            let f = match peek_frame(&conn.rbuf[pos..], MAX_BACKEND_MESSAGE) {
                Ok(Some(f)) => f,
                Ok(None) => break Ok(()),
                Err(e) => {
                    break Err(ErrorInfo::fatal(
                        SqlState::PROTOCOL_VIOLATION,
                        format!("invalid message from the backend: {e}"),
                    ));
                }
            };
            let frame = &conn.rbuf[pos..pos + f.len];
            let mut forward = true;
            tracing::trace!(parent: &*span, tag = %(f.tag as char), front = ?pending.front(), n = pending.len(), "backend frame");
            if f.tag == b'S' {
                // A tracked setting changed (the client's SET, or ours).
                if let Some((name, value)) = settings::parse_parameter_status(&frame[5..]) {
                    if let Some(i) = settings::index_of(name) {
                        let value = settings::value(value);
                        if !matches!(pending.front(), Some(Pending::InjectedQuery)) {
                            wanted[i] = Some(value.clone());
                        }
                        conn.settings[i] = Some(value);
                    }
                }
            }
            if let Some(Pending::InjectedQuery | Pending::ReadSettings) = pending.front() {
                let reading = matches!(pending.front(), Some(Pending::ReadSettings));
                match f.tag {
                    b'Z' => {
                        conn.status = frame.get(5).copied().unwrap_or(b'I');
                        pending.pop_front();
                        if reading {
                            *reading_settings = None;
                        }
                    }
                    b'D' if reading => {
                        if let Some((changes, names)) = reading_settings.take() {
                            let values = settings::data_row_texts(frame);
                            settings::follow_read_back(
                                &changes,
                                &names,
                                &values,
                                startup_extras,
                                extras,
                                &mut conn.extras,
                            );
                        }
                    }
                    b'E' if reading => {
                        // What the connection has is unknown: the client
                        // keeps it, and it is discarded after.
                        tracing::warn!(parent: &*span, backend = conn.process_id, "reading the client's settings back failed");
                        *pinned = true;
                        conn.dirty = true;
                    }
                    b'E' => tracing::warn!(
                        parent: &*span,
                        backend = conn.process_id,
                        "restoring the client's settings failed"
                    ),
                    _ => {}
                }
                copy_run(out, &conn.rbuf, &mut run, pos, f.len);
                pos += f.len;
                emit_front_locals(pending, out);
                continue;
            }
            match f.tag {
                b'Z' => {
                    conn.status = frame.get(5).copied().unwrap_or(b'I');
                    while let Some(p) = pending.pop_front() {
                        match p {
                            Pending::Sync | Pending::Query => break,
                            Pending::Parse { hash: Some(h), .. } => {
                                conn.prepared.remove(&h);
                            }
                            _ => {}
                        }
                    }
                    while let Some(Pending::CopyEnd) = pending.front() {
                        pending.pop_front();
                    }
                    if conn.status == b'I' {
                        b.pool.stats.xacts.fetch_add(1, Ordering::Relaxed);
                    }
                }
                b'G' => {
                    // Syncs the client sent after the COPY's Execute and
                    // before its CopyDone are ignored by the backend.
                    let mut i = 1;
                    let mut ended = false;
                    while i < pending.len() {
                        match pending[i] {
                            Pending::Sync => {
                                pending.remove(i);
                            }
                            Pending::CopyEnd => {
                                pending.remove(i);
                                ended = true;
                                break;
                            }
                            _ => i += 1,
                        }
                    }
                    *copy_in = !ended;
                }
                b'1' => {
                    if let Some(Pending::Parse { injected, .. }) = pending.front() {
                        forward = !injected;
                        pending.pop_front();
                    }
                }
                b'3' => match pending.front() {
                    Some(Pending::InjectedClose) => {
                        forward = false;
                        pending.pop_front();
                    }
                    Some(Pending::Close) => {
                        pending.pop_front();
                    }
                    _ => {}
                },
                b'2' => {
                    if let Some(Pending::Bind) = pending.front() {
                        pending.pop_front();
                    }
                }
                b'n' | b'T' => {
                    if let Some(Pending::Describe) = pending.front() {
                        pending.pop_front();
                    }
                }
                b'C' | b'I' | b's' => {
                    if let Some(Pending::Execute) = pending.front() {
                        pending.pop_front();
                    }
                }
                b'E' => {
                    *copy_in = false;
                    // Extended protocol: everything up to the Sync is
                    // skipped by the backend; so are our own answers.
                    while let Some(p) = pending.front() {
                        if p.is_sync_point() {
                            break;
                        }
                        if let Some(Pending::Parse { hash: Some(h), .. }) = pending.pop_front() {
                            conn.prepared.remove(&h);
                        }
                    }
                }
                b'S' if *mode == PoolMode::Session => conn.dirty = true,
                _ => {}
            }
            if !forward {
                copy_run(out, &conn.rbuf, &mut run, pos, f.len);
            }
            pos += f.len;
            if pending.front().is_some_and(Pending::is_local) {
                copy_run(out, &conn.rbuf, &mut run, pos, 0);
                emit_front_locals(pending, out);
            }
        };
        copy_run(out, &conn.rbuf, &mut run, pos, 0);
        conn.rbuf.advance(pos);
        // The transaction that changed settings is over (committed or
        // not): read back what they are now, before the connection goes
        // back to the pool.
        if *mode == PoolMode::Transaction
            && !changed_settings.is_empty()
            && pending.is_empty()
            && conn.status == b'I'
        {
            let changes = std::mem::take(changed_settings);
            if !*pinned {
                // None to read: a RESET ALL with no settings anywhere.
                let names = settings::names_to_read(&changes, extras, &conn.extras);
                if !names.is_empty() {
                    settings::queue_read_settings(&mut conn.wbuf, &names);
                    pending.push_back(Pending::ReadSettings);
                    *reading_settings = Some((changes, names));
                }
            }
        }
        result
    }

    /// Reads the backend's answers until nothing is owed; false if the
    /// connection failed.
    async fn drain(&mut self) -> bool {
        while !self.pending.is_empty() {
            let Some(b) = self.backend.as_mut() else {
                return false;
            };
            if b.conn.flush().await.is_err() || !matches!(b.conn.fill().await, Ok(1..)) {
                return false;
            }
            if self.forward_backend().is_err() {
                return false;
            }
        }
        true
    }

    /// The client left: its connection goes back clean, or is closed.
    async fn finish(&mut self) {
        // Only the proxy's own read-back is owed (the client left right
        // after its transaction): wait for it.
        if self.reading_settings.is_some() && self.pending.len() == 1 {
            let drained = tokio::time::timeout(Duration::from_secs(5), self.drain());
            if !drained.await.unwrap_or(false) {
                if let Some(b) = self.detach() {
                    Pool::checkin(b, false);
                }
                return;
            }
        }
        let Some(mut b) = self.detach() else {
            return;
        };
        if !self.pending.is_empty() {
            // Mid-query: the backend's state is unknown.
            Pool::checkin(b, false);
            return;
        }
        let rollback = b.conn.status != b'I';
        let discard = (self.mode == PoolMode::Session || self.pinned) && b.conn.dirty;
        let ok = b.conn.reset(rollback, discard).await.is_ok();
        Pool::checkin(b, ok);
    }
}

/// Closes the proxy's idle connections to the database `sql` needs alone
/// (see [`database_needing_sole_access`]): PostgreSQL refuses while any
/// other session is connected to it. False when `sql` needs no database
/// alone.
fn make_way_for(sql: &[u8], pools: &Pools, span: &tracing::Span) -> bool {
    let Some(database) = database_needing_sole_access(sql) else {
        return false;
    };
    let closed = pools.close_idle_to(&database);
    tracing::debug!(parent: span, database, closed, "idle connections closed for a statement that needs the database alone");
    true
}

/// The last query text scanned for its [`QueryEffects`], and the result:
/// clients send the same few texts again and again (`pgbench -M extended`
/// sends one Parse of the same text per query), and comparing bytes costs
/// a tenth of scanning them.
#[derive(Default)]
struct LastScan {
    text: Vec<u8>,
    effects: QueryEffects,
}

impl LastScan {
    /// Longer texts are scanned every time rather than kept.
    const MAX_KEPT: usize = 4096;

    fn effects_of(&mut self, sql: &[u8]) -> QueryEffects {
        if self.text.as_slice() != sql || sql.is_empty() {
            self.effects = QueryEffects::of(sql);
            self.text.clear();
            if sql.len() <= Self::MAX_KEPT {
                self.text.extend_from_slice(sql);
            }
        }
        self.effects
    }
}

/// What [`note_session_effects`] may change about a client's session.
struct Session<'a> {
    mode: PoolMode,
    pinned: &'a mut bool,
    dirty: &'a mut bool,
    changed_settings: &'a mut SettingChanges,
    span: &'a tracing::Span,
}

impl<'a> Session<'a> {
    fn of(
        mode: PoolMode,
        pinned: &'a mut bool,
        dirty: &'a mut bool,
        changed_settings: &'a mut SettingChanges,
        span: &'a tracing::Span,
    ) -> Session<'a> {
        Session {
            mode,
            pinned,
            dirty,
            changed_settings,
            span,
        }
    }
}

/// Marks what a query (a simple Query's text or a Parse's, `named` for a
/// named statement's) may do to the session; `effects` is its
/// [`QueryEffects`]. Under session
/// pooling the connection gets `DISCARD ALL` when the client leaves.
/// Under transaction pooling settings are followed (see
/// [`session_effect`]): a named statement's changes are returned, to be
/// noted each time it runs; other session state keeps the client on its
/// connection until it leaves (and then DISCARD ALL).
fn note_session_effects(
    sql: &[u8],
    effects: QueryEffects,
    named: bool,
    session: Session<'_>,
) -> Option<Arc<SettingChanges>> {
    match session.mode {
        // Once dirty, the connection gets DISCARD ALL anyway.
        PoolMode::Session if !*session.dirty => *session.dirty = changes_session(sql, &effects),
        PoolMode::Session => {}
        PoolMode::Transaction if !*session.pinned => match session_effect(sql, effects) {
            SessionEffect::None => {}
            SessionEffect::Settings(changes) if named => return Some(Arc::new(changes)),
            SessionEffect::Settings(changes) => session.changed_settings.then(changes),
            SessionEffect::Pinned => {
                *session.pinned = true;
                *session.dirty = true;
                *session.changed_settings = SettingChanges::default();
                tracing::debug!(parent: session.span, "session state: the client keeps its connection");
            }
        },
        PoolMode::Transaction => {}
    }
    None
}

/// What a query does to its client's session under transaction pooling.
enum SessionEffect {
    None,
    /// It changes these settings: the proxy reads them back when the
    /// transaction ends.
    Settings(SettingChanges),
    /// It leaves state the proxy does not follow, or changes settings it
    /// cannot name: the client keeps its connection.
    Pinned,
}

fn session_effect(sql: &[u8], effects: QueryEffects) -> SessionEffect {
    if effects.session_state {
        return SessionEffect::Pinned;
    }
    if !(effects.settings || effects.reset || effects.discard) {
        return SessionEffect::None;
    }
    match followed_settings(sql) {
        Some(changes) if changes.is_empty() => SessionEffect::None,
        Some(changes) => SessionEffect::Settings(changes),
        None => SessionEffect::Pinned,
    }
}

/// Transaction pooling, no backend connection held: a Close of a
/// statement, a Flush and a Sync are answered here, without taking a
/// connection.
fn answer_detached(tag: u8, body: &[u8], statements: &mut Statements, out: &mut BytesMut) -> bool {
    match tag {
        b'C' if body.first() == Some(&b'S') => match cstr(&body[1..]) {
            Some((name, _)) if !name.is_empty() => {
                statements.remove(name);
                out.put_slice(CLOSE_COMPLETE);
                true
            }
            _ => false,
        },
        // Nothing is owed (the connection went back at ReadyForQuery
        // Idle), so the Sync's answer is ReadyForQuery Idle.
        b'S' => {
            out.put_slice(b"Z\0\0\0\x05I");
            true
        }
        b'H' => true,
        _ => false,
    }
}

/// Sends a Parse of statement `hash` before the message that needs it,
/// unless the backend has it. The Close before it makes the Parse succeed
/// even if the statement survived a DISCARD the proxy did not see.
fn ensure_prepared(
    conn: &mut super::backend::BackendConn,
    pending: &mut VecDeque<Pending>,
    hash: u64,
    definition: &Bytes,
) {
    if conn.prepared.contains(&hash) {
        return;
    }
    statements::put_close(&mut conn.wbuf, hash);
    pending.push_back(Pending::InjectedClose);
    statements::put_parse(&mut conn.wbuf, hash, definition);
    pending.push_back(Pending::Parse {
        hash: Some(hash),
        injected: true,
    });
    conn.prepared.insert(hash);
}

/// Copies the frames from `run` to `pos` (passed through as they are) to
/// `out`, and moves `run` past the `len` bytes at `pos` (a frame
/// rewritten, answered here or dropped).
fn copy_run(out: &mut BytesMut, buf: &[u8], run: &mut usize, pos: usize, len: usize) {
    out.extend_from_slice(&buf[*run..pos]);
    *run = pos + len;
}

/// [`copy_run`] toward the backend, if one is attached (without one
/// nothing was passed through).
fn skip(backend: &mut Option<Checkout>, rbuf: &[u8], run: &mut usize, pos: usize, len: usize) {
    match backend {
        Some(b) => copy_run(&mut b.conn.wbuf, rbuf, run, pos, len),
        None => *run = pos + len,
    }
}

/// Queues a local answer: sent now if nothing is owed before it.
fn emit(pending: &mut VecDeque<Pending>, out: &mut BytesMut, item: Pending) {
    if pending.is_empty() {
        write_local(out, &item);
    } else {
        pending.push_back(item);
    }
}

fn emit_front_locals(pending: &mut VecDeque<Pending>, out: &mut BytesMut) {
    while pending.front().is_some_and(Pending::is_local) {
        if let Some(item) = pending.pop_front() {
            write_local(out, &item);
        }
    }
}

fn write_local(out: &mut BytesMut, item: &Pending) {
    match item {
        Pending::LocalParseComplete => out.put_slice(PARSE_COMPLETE),
        Pending::LocalCloseComplete => out.put_slice(CLOSE_COMPLETE),
        Pending::LocalReply(b) => out.put_slice(b),
        _ => {}
    }
}

fn malformed(what: &str) -> ErrorInfo {
    ErrorInfo::fatal(
        SqlState::PROTOCOL_VIOLATION,
        format!("invalid {what} message: missing string terminator"),
    )
}

/// Queries the proxy answers itself: LISTEN under transaction pooling
/// (refused: notifications would go to whichever client holds the
/// connection next), and DEALLOCATE of a statement it renamed.
fn local_query(
    body: &[u8],
    mode: PoolMode,
    rename: bool,
    statements: &mut Statements,
    status: u8,
) -> Option<Bytes> {
    let sql = body.strip_suffix(b"\0").unwrap_or(body);
    // Only LISTEN and DEALLOCATE are answered here: most queries are
    // passed after one look at their first letter.
    let first_letter = sql.iter().find(|c| !c.is_ascii_whitespace() && **c != b';');
    if !matches!(first_letter.map(|c| c | 0x20), Some(b'l' | b'd')) {
        return None;
    }
    let mut words = sql
        .split(|c| c.is_ascii_whitespace() || *c == b';')
        .filter(|w| !w.is_empty());
    let first = words.next()?;
    let mut out = BytesMut::new();
    if mode == PoolMode::Transaction && first.eq_ignore_ascii_case(b"LISTEN") {
        ErrorInfo::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            "LISTEN is not supported in transaction pooling mode",
        )
        .with_hint("Connect to a proxy in session pooling mode to receive notifications.")
        .encode_error(&mut out);
    } else if rename && first.eq_ignore_ascii_case(b"DEALLOCATE") {
        let mut name = words.next()?;
        if name.eq_ignore_ascii_case(b"PREPARE") {
            name = words.next()?;
        }
        if words.next().is_some() || statements.get(name).is_none() {
            return None;
        }
        statements.remove(name);
        put_command_complete(&mut out, "DEALLOCATE");
    } else {
        return None;
    }
    out.put_slice(&[b'Z', 0, 0, 0, 5, status]);
    Some(out.freeze())
}

/// Appends CommandComplete with `tag`.
pub fn put_command_complete(out: &mut BytesMut, tag: &str) {
    out.put_u8(b'C');
    out.put_u32((4 + tag.len() + 1) as u32);
    out.put_slice(tag.as_bytes());
    out.put_u8(0);
}

/// What a client ended by `KILL` is told, as PostgreSQL tells a session
/// ended by `pg_terminate_backend`.
fn killed() -> ErrorInfo {
    ErrorInfo::fatal(
        SqlState::ADMIN_SHUTDOWN,
        "terminating connection due to administrator command",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_answers() {
        let mut st = Statements::default();
        st.define(b"s1", b"SELECT 1\0\0\0", None, false);
        let reply = local_query(
            b"DEALLOCATE s1\0",
            PoolMode::Transaction,
            true,
            &mut st,
            b'I',
        )
        .expect("answered here");
        assert!(reply.starts_with(b"C\0\0\0\x0fDEALLOCATE\0"));
        assert!(reply.ends_with(b"Z\0\0\0\x05I"));
        assert!(st.get(b"s1").is_none());
        // Unknown names and DEALLOCATE ALL go to the backend.
        assert!(
            local_query(
                b"DEALLOCATE s2\0",
                PoolMode::Transaction,
                true,
                &mut st,
                b'I'
            )
            .is_none()
        );
        assert!(
            local_query(
                b"DEALLOCATE ALL\0",
                PoolMode::Transaction,
                true,
                &mut st,
                b'I'
            )
            .is_none()
        );
        let refused = local_query(b" listen x\0", PoolMode::Transaction, true, &mut st, b'T')
            .expect("refused here");
        assert_eq!(refused[0], b'E');
        assert!(refused.ends_with(b"Z\0\0\0\x05T"));
        assert!(local_query(b"LISTEN x\0", PoolMode::Session, false, &mut st, b'I').is_none());
    }
}
