//! The per-connection session: who the client is, the session's state, and
//! the ways to reach it from a handler or from another task.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

use bytes::{Bytes, BytesMut};

use crate::error::ErrorInfo;
use crate::messages::{ByteStr, ParameterStatus, ProtocolVersion, TransactionStatus};
use crate::types::FormatSettings;

/// What the client told us at startup and how it is connected. Immutable
/// for the life of the connection.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub(crate) process_id: i32,
    pub(crate) protocol_version: ProtocolVersion,
    pub(crate) parameters: Vec<(ByteStr, ByteStr)>,
    pub(crate) peer_addr: Option<SocketAddr>,
    pub(crate) tls: Option<Box<TlsInfo>>,
    /// Unix socket / PROXY protocol details (None for plain TCP).
    pub(crate) origin: Option<Box<super::ConnectionOrigin>>,
}

/// What is known about the TLS layer of a connection.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The ALPN protocol negotiated (`postgresql` for direct TLS).
    pub alpn: Option<Vec<u8>>,
    /// The TLS server name the client asked for (SNI).
    pub server_name: Option<String>,
    /// The client's certificate chain (DER), end-entity first, if the
    /// client presented one and it was verified.
    pub peer_certificates: Vec<Vec<u8>>,
    /// `tls-server-end-point` channel binding data (RFC 5929): the hash of
    /// the server certificate, for SCRAM-SHA-256-PLUS.
    pub server_end_point: Option<Vec<u8>>,
    /// Whether the connection began with TLS directly (PostgreSQL 17+
    /// `sslnegotiation=direct`) rather than after an SSLRequest.
    pub direct: bool,
}

impl ClientInfo {
    /// The value of startup parameter `name`, if the client sent it.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k.as_str() == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every startup parameter, in the order sent (protocol options
    /// `_pq_.*` included).
    pub fn parameters(&self) -> impl Iterator<Item = (&str, &str)> {
        self.parameters
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The user name (`user` startup parameter).
    pub fn user(&self) -> &str {
        self.parameter("user").unwrap_or("")
    }

    /// The database: the `database` startup parameter, or the user name if
    /// it is absent or empty, as PostgreSQL does.
    pub fn database(&self) -> &str {
        match self.parameter("database") {
            Some(d) if !d.is_empty() => d,
            _ => self.user(),
        }
    }

    /// The `application_name` startup parameter.
    pub fn application_name(&self) -> Option<&str> {
        self.parameter("application_name")
    }

    /// The protocol version in use (3.0 or 3.2).
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.protocol_version
    }

    /// This session's process ID, as sent in BackendKeyData.
    pub fn process_id(&self) -> i32 {
        self.process_id
    }

    /// The client's address, if the transport has one.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }

    /// Whether the connection is encrypted with TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Details of the TLS layer, if any.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.tls.as_deref()
    }

    /// How the connection reached the server beyond its address: a Unix
    /// socket, a PROXY protocol header. `None` for plain TCP.
    pub fn origin(&self) -> Option<&super::ConnectionOrigin> {
        self.origin.as_deref()
    }

    /// Whether the client connected over a Unix-domain socket.
    pub fn is_unix_socket(&self) -> bool {
        self.origin.as_ref().is_some_and(|o| o.unix_socket)
    }

    /// The peer process's credentials (Unix sockets, where the OS gives
    /// them).
    pub fn peer_credentials(&self) -> Option<super::PeerCredentials> {
        self.origin.as_ref().and_then(|o| o.peer_credentials)
    }

    /// The PROXY protocol header the connection began with, if any; then
    /// [`peer_addr`](Self::peer_addr) is the address it declared.
    pub fn proxy(&self) -> Option<&super::ProxyInfo> {
        self.origin.as_ref().and_then(|o| o.proxy.as_ref())
    }
}

/// A message a session delivers to its client outside of a query's own
/// results.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AsyncMessage {
    /// A NoticeResponse (delivered at the next message boundary).
    Notice(ErrorInfo),
    /// A ParameterStatus (delivered at the next message boundary).
    ParameterStatus {
        /// Parameter name.
        name: String,
        /// New value.
        value: String,
    },
    /// A NotificationResponse, delivered only when the session is not in a
    /// transaction block, as PostgreSQL does.
    Notification {
        /// Process ID of the notifying session.
        process_id: i32,
        /// Channel name.
        channel: String,
        /// Payload.
        payload: String,
    },
}

/// Why a message could not be queued for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The session has ended.
    #[error("the session has ended")]
    Closed,
    /// The session's queue of undelivered messages is full (its client is
    /// not reading).
    #[error("the session's message queue is full")]
    Full,
}

/// Maximum number of undelivered asynchronous messages per session.
pub(crate) const OUTBOX_CAPACITY: usize = 4096;

/// State shared between a connection's task, its handles and the server's
/// session registry.
#[derive(Debug)]
pub(crate) struct SessionShared {
    pub(crate) process_id: i32,
    pub(crate) secret_key: Bytes,
    /// A query is running: a CancelRequest now has an effect.
    pub(crate) busy: AtomicBool,
    pub(crate) cancel_requested: AtomicBool,
    /// The server is shutting down and its grace period is over: end the
    /// session now, even mid-query.
    terminate: AtomicBool,
    pub(crate) closed: AtomicBool,
    pub(crate) outbox: Mutex<VecDeque<AsyncMessage>>,
    /// `outbox` is not empty: checked on every message without locking.
    pending: AtomicBool,
    /// The connection task's waker, woken on cancel and on new messages.
    waker: Mutex<Option<Waker>>,
    /// Wakes handler code awaiting [`CancelToken::cancelled`].
    pub(crate) cancel_notify: tokio::sync::Notify,
    /// Bumped before every wake of `cancel_notify`: a waiter that saw the
    /// same value at its last poll knows nothing happened since, without
    /// taking the Notify's lock (what a poll of a waiting `Notified` does).
    pub(crate) cancel_generation: AtomicU64,
}

impl SessionShared {
    pub(crate) fn new(process_id: i32, secret_key: Bytes) -> Self {
        SessionShared {
            process_id,
            secret_key,
            busy: AtomicBool::new(false),
            cancel_requested: AtomicBool::new(false),
            terminate: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            outbox: Mutex::new(VecDeque::new()),
            pending: AtomicBool::new(false),
            waker: Mutex::new(None),
            cancel_notify: tokio::sync::Notify::new(),
            cancel_generation: AtomicU64::new(0),
        }
    }

    pub(crate) fn register_waker(&self, waker: &Waker) {
        if let Ok(mut w) = self.waker.lock() {
            match &*w {
                Some(old) if old.will_wake(waker) => {}
                _ => *w = Some(waker.clone()),
            }
        }
    }

    pub(crate) fn wake(&self) {
        if let Ok(w) = self.waker.lock() {
            if let Some(w) = &*w {
                w.wake_by_ref();
            }
        }
    }

    /// Marks a query as running (cancels now count) or finished (a pending
    /// cancel is forgotten, as PostgreSQL ignores a cancel that arrives
    /// between queries).
    #[inline]
    pub(crate) fn set_busy(&self, busy: bool) {
        if self.is_terminating() {
            return;
        }
        // Plain loads and a release store: this runs twice per query, and
        // a full fence each time showed in the pipelined benchmark. A
        // cancel racing with the end of its query may be lost either way.
        if self.cancel_requested.load(Ordering::Relaxed) {
            self.cancel_requested.store(false, Ordering::SeqCst);
        }
        if self.busy.load(Ordering::Relaxed) != busy {
            self.busy.store(busy, Ordering::Release);
        }
    }

    fn notify_cancel_waiters(&self) {
        self.cancel_generation.fetch_add(1, Ordering::SeqCst);
        self.cancel_notify.notify_waiters();
    }

    pub(crate) fn request_cancel(&self) {
        if self.busy.load(Ordering::SeqCst) {
            self.cancel_requested.store(true, Ordering::SeqCst);
            self.notify_cancel_waiters();
            self.wake();
        }
    }

    #[inline]
    pub(crate) fn is_cancel_requested(&self) -> bool {
        self.cancel_requested.load(Ordering::SeqCst)
    }

    /// Asks the session to end at once (a shutdown past its grace period):
    /// its connection stops what it is doing, sends 57P01 and closes; a
    /// handler awaiting cancellation is woken too.
    pub(crate) fn request_terminate(&self) {
        self.terminate.store(true, Ordering::SeqCst);
        self.cancel_requested.store(true, Ordering::SeqCst);
        self.notify_cancel_waiters();
        self.wake();
    }

    #[inline]
    pub(crate) fn is_terminating(&self) -> bool {
        self.terminate.load(Ordering::Relaxed)
    }

    pub(crate) fn push(&self, msg: AsyncMessage) -> Result<(), SendError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(SendError::Closed);
        }
        {
            let mut q = self.outbox.lock().map_err(|_| SendError::Closed)?;
            if q.len() >= OUTBOX_CAPACITY {
                return Err(SendError::Full);
            }
            q.push_back(msg);
            self.pending.store(true, Ordering::Release);
        }
        self.wake();
        Ok(())
    }

    #[inline]
    pub(crate) fn has_messages(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Takes the queued messages that `take` selects (in order), leaving the
    /// others queued.
    pub(crate) fn drain_outbox(
        &self,
        mut take: impl FnMut(&AsyncMessage) -> bool,
    ) -> Vec<AsyncMessage> {
        if !self.has_messages() {
            // Nothing queued (`pending` is set under the lock, with the
            // message): no lock to take.
            return Vec::new();
        }
        let Ok(mut q) = self.outbox.lock() else {
            return Vec::new();
        };
        let mut taken = Vec::new();
        let mut kept = VecDeque::new();
        while let Some(m) = q.pop_front() {
            if take(&m) {
                taken.push(m);
            } else {
                kept.push_back(m);
            }
        }
        *q = kept;
        self.pending.store(!q.is_empty(), Ordering::Release);
        taken
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Ok(mut q) = self.outbox.lock() {
            q.clear();
            self.pending.store(false, Ordering::Release);
        }
        self.notify_cancel_waiters();
    }
}

/// Observes cancellation of the running query (a CancelRequest from the
/// client, matched by process ID and secret key).
///
/// Handlers doing long work check [`CancelToken::is_cancelled`] or race
/// their work against [`CancelToken::cancelled`], and answer with SQLSTATE
/// 57014 ([`ErrorInfo::query_canceled`]). The server also stops streaming
/// rows on its own when a cancel arrives.
#[derive(Debug, Clone)]
pub struct CancelToken {
    shared: Arc<SessionShared>,
}

impl CancelToken {
    /// Whether the running query has been asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.shared.is_cancel_requested()
    }

    /// Completes when the running query is cancelled (or the session ends).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.shared.cancel_notify.notified();
            if self.is_cancelled() || self.shared.closed.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }
}

/// A handle to a session usable from any task: push notices,
/// notifications and parameter changes to its client (LISTEN/NOTIFY between
/// sessions, for example). Cheap to clone.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    shared: Arc<SessionShared>,
}

impl SessionHandle {
    pub(crate) fn from_shared(shared: Arc<SessionShared>) -> Self {
        SessionHandle { shared }
    }

    /// The session's process ID.
    pub fn process_id(&self) -> i32 {
        self.shared.process_id
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// Queues a NotificationResponse; it is delivered when the session is
    /// idle or at the end of its current transaction.
    pub fn notify(
        &self,
        sender_process_id: i32,
        channel: impl Into<String>,
        payload: impl Into<String>,
    ) -> Result<(), SendError> {
        self.shared.push(AsyncMessage::Notification {
            process_id: sender_process_id,
            channel: channel.into(),
            payload: payload.into(),
        })
    }

    /// Queues a NoticeResponse, delivered at the next message boundary.
    pub fn notice(&self, notice: ErrorInfo) -> Result<(), SendError> {
        self.shared.push(AsyncMessage::Notice(notice))
    }

    /// Queues a ParameterStatus, delivered at the next message boundary.
    pub fn parameter_status(
        &self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), SendError> {
        self.shared.push(AsyncMessage::ParameterStatus {
            name: name.into(),
            value: value.into(),
        })
    }

    /// Queues any asynchronous message.
    pub fn send(&self, msg: AsyncMessage) -> Result<(), SendError> {
        self.shared.push(msg)
    }
}

/// The run-time parameters PostgreSQL reports to clients with
/// ParameterStatus (`GUC_REPORT`), so setting them queues a ParameterStatus.
pub(crate) const REPORTED_PARAMETERS: &[&str] = &[
    "application_name",
    "client_encoding",
    "DateStyle",
    "default_transaction_read_only",
    "in_hot_standby",
    "integer_datetimes",
    "IntervalStyle",
    "is_superuser",
    "scram_iterations",
    "search_path",
    "server_encoding",
    "server_version",
    "session_authorization",
    "standard_conforming_strings",
    "TimeZone",
];

/// The name PostgreSQL reports parameter `name` under, if it reports it.
fn reported_name(name: &str) -> Option<&'static str> {
    REPORTED_PARAMETERS
        .iter()
        .find(|p| p.eq_ignore_ascii_case(name))
        .copied()
}

/// Encodes a ParameterStatus for `name` if PostgreSQL reports it (under
/// the name as stored).
fn encode_parameter_status(name: &str, value: &str, out: &mut BytesMut) {
    let Some(canonical) = reported_name(name) else {
        return;
    };
    let name = if canonical == name { canonical } else { name };
    ParameterStatus::encode_borrowed(name, value, out);
}

/// Sets a parameter without reporting it: a format setting is checked and
/// stored as `SHOW` prints it; a value refused is logged and ignored.
fn init_parameter(
    parameters: &mut Vec<(Arc<str>, Arc<str>)>,
    format: &mut Arc<FormatSettings>,
    name: &Arc<str>,
    value: &Arc<str>,
) {
    let mut value = value.clone();
    if FormatSettings::is_format_setting(name) {
        match Arc::make_mut(format).set(name, &value) {
            Ok(Some(shown)) if *shown != *value => value = Arc::from(shown),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(
                    parameter = &**name,
                    error = e.message(),
                    "initial value ignored"
                );
                return;
            }
        }
    }
    match parameters
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
    {
        Some((_, v)) => *v = value,
        None => parameters.push((name.clone(), value)),
    }
}

/// What every session of a server starts with, worked out once rather
/// than per connection and shared by the sessions: the configured
/// parameters (a format setting as `SHOW` prints it), the format
/// settings they give, and the ParameterStatus frames of those PostgreSQL
/// reports. A session keeps only the values it changes.
#[derive(Debug)]
pub(crate) struct SessionDefaults {
    parameters: Vec<(Arc<str>, Arc<str>)>,
    format: Arc<FormatSettings>,
    /// The frames, back to back; `frame_ranges[i]` is that of
    /// `parameters[i]` (empty if it is not reported).
    frames: Bytes,
    frame_ranges: Vec<std::ops::Range<usize>>,
    /// Where in `parameters` the values every session sets from its client
    /// are (added, empty, unless configured).
    application_name: usize,
    session_authorization: usize,
}

impl SessionDefaults {
    pub(crate) fn new(configured: &[(Arc<str>, Arc<str>)]) -> Self {
        let mut parameters = Vec::with_capacity(configured.len() + 2);
        let mut format = Arc::new(FormatSettings::default());
        for (name, value) in configured {
            init_parameter(&mut parameters, &mut format, name, value);
        }
        let mut slot = |name: &str| match parameters
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some(i) => i,
            None => {
                parameters.push((Arc::from(name), Arc::from("")));
                parameters.len() - 1
            }
        };
        let application_name = slot("application_name");
        let session_authorization = slot("session_authorization");
        let mut frames = BytesMut::new();
        let frame_ranges = parameters
            .iter()
            .map(|(name, value)| {
                let start = frames.len();
                encode_parameter_status(name, value, &mut frames);
                start..frames.len()
            })
            .collect();
        SessionDefaults {
            parameters,
            format,
            frames: frames.freeze(),
            frame_ranges,
            application_name,
            session_authorization,
        }
    }
}

/// A session's value of a run-time parameter that differs from the
/// server's default (or that the server has no default for).
#[derive(Debug)]
struct ParameterOverride {
    /// The index in [`SessionDefaults::parameters`] of the value replaced.
    default: Option<usize>,
    name: Arc<str>,
    value: Arc<str>,
}

/// A connected session, handed to every handler call: the client's
/// startup information, the transaction status, the session's run-time
/// parameters, and ways to send notices and observe cancellation.
#[derive(Debug)]
pub struct Session {
    client: ClientInfo,
    transaction_status: TransactionStatus,
    /// The server's parameter values, shared by every session: a session
    /// does not copy (nor count references to) the dozen defaults.
    defaults: Arc<SessionDefaults>,
    /// The values this session changed, in the order first changed.
    overrides: Vec<ParameterOverride>,
    /// TimeZone, DateStyle, IntervalStyle, extra_float_digits and
    /// bytea_output, parsed: how this session's values read and print.
    /// Shared with the portals bound under them (text parameters are read
    /// with the settings of Bind time); copied on a change while shared.
    format: Arc<FormatSettings>,
    shared: Arc<SessionShared>,
    /// Whether a change of a reported parameter queues a ParameterStatus.
    /// Off during startup: every value is reported once at its end.
    report_changes: bool,
}

impl Session {
    /// A session starting from the server's `defaults`, with
    /// `application_name` and `session_authorization` from the client's
    /// startup packet, not reporting parameter changes until
    /// [`Session::start_reporting`] (startup reports every value at its
    /// end).
    pub(crate) fn with_defaults(
        client: ClientInfo,
        shared: Arc<SessionShared>,
        defaults: &Arc<SessionDefaults>,
    ) -> Self {
        // Room for the two set here and a couple of client settings.
        let mut overrides = Vec::with_capacity(4);
        let from_client = [
            (
                defaults.application_name,
                client.application_name().unwrap_or(""),
            ),
            (defaults.session_authorization, client.user()),
        ];
        for (slot, value) in from_client {
            if let Some((name, default)) = defaults.parameters.get(slot) {
                if **default != *value {
                    overrides.push(ParameterOverride {
                        default: Some(slot),
                        name: name.clone(),
                        value: Arc::from(value),
                    });
                }
            }
        }
        Session {
            client,
            transaction_status: TransactionStatus::Idle,
            defaults: defaults.clone(),
            overrides,
            format: defaults.format.clone(),
            shared,
            report_changes: false,
        }
    }

    /// From now on a change of a reported parameter queues a
    /// ParameterStatus (startup is over: the initial values were sent).
    pub(crate) fn start_reporting(&mut self) {
        self.report_changes = true;
    }

    /// Runs `f` with the client's startup information apart from the
    /// session, so that the one can be read while the other changes.
    pub(crate) fn with_client<R>(&mut self, f: impl FnOnce(&ClientInfo, &mut Session) -> R) -> R {
        let placeholder = ClientInfo {
            process_id: self.client.process_id,
            protocol_version: self.client.protocol_version,
            parameters: Vec::new(),
            peer_addr: None,
            tls: None,
            origin: None,
        };
        let client = std::mem::replace(&mut self.client, placeholder);
        let result = f(&client, self);
        self.client = client;
        result
    }

    /// Encodes a ParameterStatus for every parameter PostgreSQL reports, in
    /// order: the opening of a session. Values still the server's defaults
    /// are copied as the frames encoded once for the server.
    pub(crate) fn encode_parameter_statuses(&self, out: &mut BytesMut) {
        let defaults = &*self.defaults;
        // The default frames are back to back in order: copy the runs
        // between the values this session changed, taken in that order.
        let mut copied = 0;
        let mut after: Option<usize> = None;
        loop {
            let next = self
                .overrides
                .iter()
                .filter_map(|o| Some((o.default?, o)))
                .filter(|&(slot, _)| after.is_none_or(|a| slot > a))
                .min_by_key(|&(slot, _)| slot);
            let Some((slot, o)) = next else { break };
            let Some(frame) = defaults.frame_ranges.get(slot) else {
                break;
            };
            out.extend_from_slice(&defaults.frames[copied..frame.start]);
            encode_parameter_status(&o.name, &o.value, out);
            copied = frame.end;
            after = Some(slot);
        }
        out.extend_from_slice(&defaults.frames[copied..]);
        for o in self.overrides.iter().filter(|o| o.default.is_none()) {
            encode_parameter_status(&o.name, &o.value, out);
        }
    }

    pub(crate) fn shared(&self) -> &Arc<SessionShared> {
        &self.shared
    }

    /// The client's startup information.
    pub fn client(&self) -> &ClientInfo {
        &self.client
    }

    /// The transaction status reported in ReadyForQuery.
    pub fn transaction_status(&self) -> TransactionStatus {
        self.transaction_status
    }

    /// Sets the transaction status: the one place it comes from. A handler
    /// sets [`InTransaction`](TransactionStatus::InTransaction) when a
    /// transaction block begins (`BEGIN`) and
    /// [`Idle`](TransactionStatus::Idle) when it ends (`COMMIT`,
    /// `ROLLBACK`). The server only marks an open transaction
    /// [`Failed`](TransactionStatus::Failed) when it reports an error inside
    /// it, as PostgreSQL does; the handler clears that with `ROLLBACK`.
    pub fn set_transaction_status(&mut self, status: TransactionStatus) {
        self.transaction_status = status;
    }

    /// The current value of run-time parameter `name` (case-insensitive),
    /// as last set by the server or with [`Session::set_parameter`].
    pub fn parameter(&self, name: &str) -> Option<&str> {
        match self
            .overrides
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
        {
            Some(o) => Some(&o.value),
            None => self
                .defaults
                .parameters
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| &**v),
        }
    }

    /// Every run-time parameter with its value: the server's, in their
    /// order, then those the session added.
    pub fn parameters(&self) -> impl Iterator<Item = (&str, &str)> {
        let defaults = self
            .defaults
            .parameters
            .iter()
            .enumerate()
            .map(|(i, (k, v))| {
                let value = self
                    .overrides
                    .iter()
                    .find(|o| o.default == Some(i))
                    .map_or(v, |o| &o.value);
                (&**k, &**value)
            });
        let added = self
            .overrides
            .iter()
            .filter(|o| o.default.is_none())
            .map(|o| (&*o.name, &*o.value));
        defaults.chain(added)
    }

    /// The session's value-formatting settings (TimeZone, DateStyle,
    /// IntervalStyle, extra_float_digits, bytea_output), as last set with
    /// [`Session::try_set_parameter`] or [`Session::set_parameter`]. Pass
    /// them to [`crate::types::text::binary_to_text_with`] and
    /// [`crate::types::text::text_to_binary_with`] (or
    /// [`crate::api::RowSink::with_format_settings`]) so values print and
    /// read as this session expects.
    pub fn format_settings(&self) -> &FormatSettings {
        &self.format
    }

    /// The settings as the shared value a portal keeps from Bind time.
    pub(crate) fn shared_format_settings(&self) -> &Arc<FormatSettings> {
        &self.format
    }

    /// Changes one format setting; `Ok(None)` for other names (nothing is
    /// copied then).
    fn set_format(&mut self, name: &str, value: &str) -> Result<Option<String>, ErrorInfo> {
        if !FormatSettings::is_format_setting(name) {
            return Ok(None);
        }
        Arc::make_mut(&mut self.format).set(name, value)
    }

    /// Sets run-time parameter `name` (`SET name = value`, a startup
    /// parameter), checking the value as PostgreSQL does for the settings
    /// that change how values print: an unknown `TimeZone`, a bad
    /// `DateStyle`... fail with 22023 (`invalid value for parameter
    /// "TimeZone": "..."`) and leave the setting unchanged. Those settings
    /// are stored as `SHOW` prints them (`german` → `German, DMY`).
    /// Otherwise as [`Session::set_parameter`].
    pub fn try_set_parameter(
        &mut self,
        name: &str,
        value: impl Into<String>,
    ) -> Result<(), ErrorInfo> {
        self.set_parameter_value(name, value.into())
    }

    /// [`Session::try_set_parameter`] for a borrowed value: a startup
    /// parameter, copied only if it changes a value or is reported.
    pub(crate) fn try_set_parameter_str(
        &mut self,
        name: &str,
        value: &str,
    ) -> Result<(), ErrorInfo> {
        self.set_parameter_value(name, value)
    }

    fn set_parameter_value<V: AsRef<str> + Into<String>>(
        &mut self,
        name: &str,
        value: V,
    ) -> Result<(), ErrorInfo> {
        match self.set_format(name, value.as_ref())? {
            Some(shown) => self.store_parameter(name, shown),
            None => self.store_parameter(name, value),
        }
        Ok(())
    }

    /// Sets run-time parameter `name` (`SET name = value`). If the
    /// parameter is one PostgreSQL reports to clients (`client_encoding`,
    /// `DateStyle`, `TimeZone`, `application_name`, ...), a ParameterStatus
    /// is sent before the current response completes. A value refused by
    /// [`Session::try_set_parameter`] is logged and ignored; use that to
    /// report the error to the client.
    pub fn set_parameter(&mut self, name: &str, value: impl Into<String>) {
        if let Err(e) = self.try_set_parameter(name, value) {
            tracing::warn!(
                parameter = name,
                error = e.message(),
                "parameter value ignored"
            );
        }
    }

    fn store_parameter<V: AsRef<str> + Into<String>>(&mut self, name: &str, value: V) {
        self.store_value(name, value.as_ref());
        if !self.report_changes {
            return;
        }
        if let Some(name) = reported_name(name) {
            let _ = self.shared.push(AsyncMessage::ParameterStatus {
                name: name.to_owned(),
                value: value.into(),
            });
        }
    }

    /// Stores `value` as the session's value of `name`, without reporting
    /// it. An unchanged value keeps its (shared) string.
    fn store_value(&mut self, name: &str, value: &str) {
        if let Some(o) = self
            .overrides
            .iter_mut()
            .find(|o| o.name.eq_ignore_ascii_case(name))
        {
            if *o.value != *value {
                o.value = Arc::from(value);
            }
            return;
        }
        let found = self
            .defaults
            .parameters
            .iter()
            .enumerate()
            .find(|(_, (k, _))| k.eq_ignore_ascii_case(name));
        let replaced = match found {
            Some((_, (_, default))) if **default == *value => return,
            Some((i, (name, _))) => ParameterOverride {
                default: Some(i),
                name: name.clone(),
                value: Arc::from(value),
            },
            None => ParameterOverride {
                default: None,
                name: Arc::from(reported_name(name).unwrap_or(name)),
                value: Arc::from(value),
            },
        };
        self.overrides.push(replaced);
    }

    /// Sends a NoticeResponse to the client before the current response
    /// completes (a warning, a progress message, `RAISE NOTICE`).
    pub fn send_notice(&self, notice: ErrorInfo) {
        let _ = self.shared.push(AsyncMessage::Notice(notice));
    }

    /// A token that tells whether the running query has been cancelled.
    pub fn cancel_token(&self) -> CancelToken {
        CancelToken {
            shared: self.shared.clone(),
        }
    }

    /// Whether the running query has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.shared.is_cancel_requested()
    }

    /// A handle other tasks can use to send messages to this session.
    pub fn handle(&self) -> SessionHandle {
        SessionHandle {
            shared: self.shared.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session of a server configured with `configured`, past startup
    /// (changes are reported).
    fn session(configured: &[(&str, &str)]) -> Session {
        let client = ClientInfo {
            process_id: 1,
            protocol_version: ProtocolVersion::V3_0,
            parameters: Vec::new(),
            peer_addr: None,
            tls: None,
            origin: None,
        };
        let configured: Vec<(Arc<str>, Arc<str>)> = configured
            .iter()
            .map(|&(k, v)| (Arc::from(k), Arc::from(v)))
            .collect();
        let defaults = Arc::new(SessionDefaults::new(&configured));
        let shared = Arc::new(SessionShared::new(1, Bytes::new()));
        let mut s = Session::with_defaults(client, shared, &defaults);
        s.start_reporting();
        s
    }

    fn reported(s: &Session) -> Vec<(String, String)> {
        s.shared()
            .drain_outbox(|_| true)
            .into_iter()
            .filter_map(|m| match m {
                AsyncMessage::ParameterStatus { name, value } => Some((name, value)),
                _ => None,
            })
            .collect()
    }

    /// The frames of `out`, as (name, value) pairs; every one must be a
    /// ParameterStatus.
    fn parameter_statuses(out: &[u8]) -> Vec<(String, String)> {
        let mut frames = Vec::new();
        let mut rest = out;
        while let [tag, a, b, c, d, tail @ ..] = rest {
            assert_eq!(*tag, b'S');
            let body_len = u32::from_be_bytes([*a, *b, *c, *d]) as usize - 4;
            let (body, next) = tail.split_at(body_len);
            let mut fields = body.split(|&b| b == 0);
            let mut field = || String::from_utf8(fields.next().unwrap().to_vec()).unwrap();
            frames.push((field(), field()));
            rest = next;
        }
        assert!(rest.is_empty());
        frames
    }

    #[test]
    fn session_values_replace_the_shared_defaults_in_their_place() {
        let configured: Vec<(Arc<str>, Arc<str>)> = [
            ("server_version", "15.0"),
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"),
            ("search_path", "\"$user\", public"),
            ("work_mem", "4MB"),
        ]
        .into_iter()
        .map(|(k, v)| (Arc::from(k), Arc::from(v)))
        .collect();
        let defaults = Arc::new(SessionDefaults::new(&configured));
        let client = ClientInfo {
            process_id: 1,
            protocol_version: ProtocolVersion::V3_0,
            parameters: vec![
                (ByteStr::from("user"), ByteStr::from("alice")),
                (ByteStr::from("application_name"), ByteStr::from("psql")),
            ],
            peer_addr: None,
            tls: None,
            origin: None,
        };
        let shared = Arc::new(SessionShared::new(1, Bytes::new()));
        let mut s = Session::with_defaults(client, shared, &defaults);
        // A default's value, a changed one (stored as SHOW prints it), one
        // set back to its default, one the server has no default for.
        s.try_set_parameter("datestyle", "german").unwrap();
        s.try_set_parameter("WORK_MEM", "64MB").unwrap();
        s.try_set_parameter("work_mem", "4MB").unwrap();
        s.try_set_parameter("client_encoding", "UTF8").unwrap();
        s.try_set_parameter("TimeZone", "UTC").unwrap();
        assert_eq!(s.parameter("SESSION_AUTHORIZATION"), Some("alice"));
        assert_eq!(s.parameter("DateStyle"), Some("German, DMY"));
        assert_eq!(s.parameter("timezone"), Some("UTC"));
        assert_eq!(s.parameter("lc_messages"), None);
        let all: Vec<(&str, &str)> = s.parameters().collect();
        assert_eq!(
            all,
            [
                ("server_version", "15.0"),
                ("client_encoding", "UTF8"),
                ("DateStyle", "German, DMY"),
                ("search_path", "\"$user\", public"),
                ("work_mem", "4MB"),
                ("application_name", "psql"),
                ("session_authorization", "alice"),
                ("TimeZone", "UTC"),
            ]
        );
        // The opening ParameterStatus messages: every reported value, in
        // that order, the unchanged ones copied from the server's frames.
        let mut out = BytesMut::new();
        s.encode_parameter_statuses(&mut out);
        let expected: Vec<(String, String)> = all
            .iter()
            .filter(|(k, _)| *k != "work_mem")
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(parameter_statuses(&out), expected);
        // The defaults are untouched: a second session starts from them.
        assert_eq!(defaults.parameters[2].1.as_ref(), "ISO, MDY");
    }

    #[test]
    fn a_client_without_an_application_name_gets_the_default_frames() {
        let defaults = Arc::new(SessionDefaults::new(&[]));
        let client = ClientInfo {
            process_id: 1,
            protocol_version: ProtocolVersion::V3_0,
            parameters: vec![(ByteStr::from("user"), ByteStr::from("bob"))],
            peer_addr: None,
            tls: None,
            origin: None,
        };
        let shared = Arc::new(SessionShared::new(1, Bytes::new()));
        let s = Session::with_defaults(client, shared, &defaults);
        assert_eq!(s.overrides.len(), 1, "only session_authorization differs");
        let mut out = BytesMut::new();
        s.encode_parameter_statuses(&mut out);
        assert_eq!(
            parameter_statuses(&out),
            [
                ("application_name".to_owned(), String::new()),
                ("session_authorization".to_owned(), "bob".to_owned()),
            ]
        );
    }

    #[test]
    fn formatting_settings_are_checked_kept_and_reported() {
        // Configured as written; kept as SHOW prints it.
        let mut s = session(&[("DateStyle", "iso, mdy")]);
        assert_eq!(s.parameter("datestyle"), Some("ISO, MDY"));
        s.try_set_parameter("timezone", "europe/berlin").unwrap();
        s.try_set_parameter("DATESTYLE", "german").unwrap();
        assert_eq!(s.parameter("TimeZone"), Some("Europe/Berlin"));
        assert_eq!(s.format_settings().time_zone.name(), "Europe/Berlin");
        assert_eq!(
            reported(&s),
            [
                ("TimeZone".to_owned(), "Europe/Berlin".to_owned()),
                ("DateStyle".to_owned(), "German, DMY".to_owned())
            ]
        );
        let e = s.try_set_parameter("TimeZone", "Nowhere/Land").unwrap_err();
        assert_eq!(e.code(), crate::error::SqlState::INVALID_PARAMETER_VALUE);
        assert_eq!(
            e.message(),
            "invalid value for parameter \"TimeZone\": \"Nowhere/Land\""
        );
        // Unchanged, and nothing reported.
        s.set_parameter("TimeZone", "Nowhere/Land");
        assert_eq!(s.parameter("TimeZone"), Some("Europe/Berlin"));
        assert_eq!(s.format_settings().time_zone.name(), "Europe/Berlin");
        assert!(reported(&s).is_empty());
        // Other parameters are stored as given.
        s.try_set_parameter("application_name", "psql").unwrap();
        assert_eq!(s.parameter("application_name"), Some("psql"));
    }
}
