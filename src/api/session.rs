//! The per-connection session: who the client is, the session's state, and
//! the ways to reach it from a handler or from another task.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

use bytes::{Bytes, BytesMut};

use crate::error::ErrorInfo;
use crate::messages::{ByteStr, Message, ParameterStatus, ProtocolVersion, TransactionStatus};
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

    fn wake(&self) {
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
    let name = if canonical == name {
        ByteStr::from_static(canonical)
    } else {
        byte_str(name)
    };
    ParameterStatus::new(name, byte_str(value)).encode(out);
}

/// `s` as a [`ByteStr`]: inline if short, without a temporary `String`.
fn byte_str(s: &str) -> ByteStr {
    match ByteStr::inline_from_utf8(s.as_bytes()) {
        Some(Ok(inline)) => inline,
        _ => ByteStr::from(s.to_owned()),
    }
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
/// than per connection: the configured parameters as
/// [`Session::init_parameter`] stores them, the format settings they give,
/// and the ParameterStatus frames of those PostgreSQL reports.
#[derive(Debug)]
pub(crate) struct SessionDefaults {
    parameters: Vec<(Arc<str>, Arc<str>)>,
    format: Arc<FormatSettings>,
    /// The frames, back to back; `frame_ranges[i]` is that of
    /// `parameters[i]` (empty if it is not reported).
    frames: Bytes,
    frame_ranges: Vec<std::ops::Range<usize>>,
    /// The names of the parameters every session sets from its client.
    application_name: Arc<str>,
    session_authorization: Arc<str>,
}

impl SessionDefaults {
    pub(crate) fn new(configured: &[(Arc<str>, Arc<str>)]) -> Self {
        let mut parameters = Vec::with_capacity(configured.len() + 2);
        let mut format = Arc::new(FormatSettings::default());
        for (name, value) in configured {
            init_parameter(&mut parameters, &mut format, name, value);
        }
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
            application_name: Arc::from("application_name"),
            session_authorization: Arc::from("session_authorization"),
        }
    }
}

/// A connected session, handed to every handler call: the client's
/// startup information, the transaction status, the session's run-time
/// parameters, and ways to send notices and observe cancellation.
#[derive(Debug)]
pub struct Session {
    client: ClientInfo,
    transaction_status: TransactionStatus,
    /// Shared with the server configuration until changed: sessions do not
    /// each allocate the dozen default values.
    parameters: Vec<(Arc<str>, Arc<str>)>,
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
    #[cfg(test)]
    pub(crate) fn new(client: ClientInfo, shared: Arc<SessionShared>) -> Self {
        Session {
            client,
            transaction_status: TransactionStatus::Idle,
            parameters: Vec::new(),
            format: Arc::new(FormatSettings::default()),
            shared,
            report_changes: true,
        }
    }

    /// A session starting from the server's `defaults`, not reporting
    /// parameter changes until [`Session::start_reporting`].
    pub(crate) fn with_defaults(
        client: ClientInfo,
        shared: Arc<SessionShared>,
        defaults: &SessionDefaults,
    ) -> Self {
        Session {
            client,
            transaction_status: TransactionStatus::Idle,
            parameters: {
                // Room for what every session adds (application_name,
                // session_authorization) and a few client settings.
                let mut parameters = Vec::with_capacity(defaults.parameters.len() + 4);
                parameters.extend_from_slice(&defaults.parameters);
                parameters
            },
            format: defaults.format.clone(),
            shared,
            report_changes: false,
        }
    }

    /// Sets `application_name` and `session_authorization` from the
    /// client's startup packet (not reported: startup reports every value
    /// at its end).
    pub(crate) fn init_client_parameters(&mut self, defaults: &SessionDefaults) {
        let application_name: Arc<str> = Arc::from(self.client.application_name().unwrap_or(""));
        let user: Arc<str> = Arc::from(self.client.user());
        self.init_parameter(&defaults.application_name, &application_name);
        self.init_parameter(&defaults.session_authorization, &user);
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
    /// order: the opening of a session. Values still those of `defaults`
    /// are copied as the frames encoded once for the server.
    pub(crate) fn encode_parameter_statuses(&self, defaults: &SessionDefaults, out: &mut BytesMut) {
        // The frames of consecutive unchanged values are adjacent: copied
        // as one run.
        let mut run = 0..0;
        for (i, (name, value)) in self.parameters.iter().enumerate() {
            if let Some(((default_name, default_value), frame)) =
                defaults.parameters.get(i).zip(defaults.frame_ranges.get(i))
            {
                if Arc::ptr_eq(name, default_name) && Arc::ptr_eq(value, default_value) {
                    if run.is_empty() {
                        run = frame.clone();
                    } else {
                        run.end = frame.end;
                    }
                    continue;
                }
            }
            out.extend_from_slice(&defaults.frames[run.clone()]);
            run = 0..0;
            encode_parameter_status(name, value, out);
        }
        out.extend_from_slice(&defaults.frames[run]);
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
        self.parameters
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// Every run-time parameter with its value.
    pub fn parameters(&self) -> impl Iterator<Item = (&str, &str)> {
        self.parameters.iter().map(|(k, v)| (&**k, &**v))
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
        let new_value = value.as_ref();
        match self
            .parameters
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            // An unchanged value keeps its (shared) string.
            Some((_, v)) if **v == *new_value => {}
            Some((_, v)) => *v = Arc::from(new_value),
            None => self.parameters.push((
                Arc::from(reported_name(name).unwrap_or(name)),
                Arc::from(new_value),
            )),
        }
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

    /// Sets a parameter without reporting it (the server's initial values).
    pub(crate) fn init_parameter(&mut self, name: &Arc<str>, value: &Arc<str>) {
        init_parameter(&mut self.parameters, &mut self.format, name, value);
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

    fn session() -> Session {
        let client = ClientInfo {
            process_id: 1,
            protocol_version: ProtocolVersion::V3_0,
            parameters: Vec::new(),
            peer_addr: None,
            tls: None,
            origin: None,
        };
        Session::new(client, Arc::new(SessionShared::new(1, Bytes::new())))
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

    #[test]
    fn formatting_settings_are_checked_kept_and_reported() {
        let mut s = session();
        s.init_parameter(&Arc::from("DateStyle"), &Arc::from("iso, mdy"));
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
