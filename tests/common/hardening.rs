//! Fuzz targets and their helpers, shared by the libFuzzer crate under
//! `tests/fuzz/` (which includes this file by path) and by the corpus
//! replay test `tests/fuzz_replay.rs`.
//!
//! Three targets, each taking arbitrary bytes:
//!
//! - [`frontend_target`]: the frontend decoder in every phase and 'p' kind,
//!   fed in chunks; the decoder contract holds and every decoded message
//!   encodes and decodes back to itself.
//! - [`backend_target`]: the same for the backend decoder.
//! - [`server_target`]: a whole server session over an in-memory duplex
//!   stream with [`FuzzEngine`]: a startup packet then the input bytes (or
//!   the input alone, from the first byte), then EOF. No panic, the session
//!   ends within a bounded time, its output is well-formed protocol, the
//!   thread's heap never grows past a bound derived from the configured
//!   limits, and the server serves a new session afterwards.
//!
//! The first input byte of each target chooses the options (phase,
//! chunking, client behaviour); the rest is the data.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pgwire::api::auth::Authenticator;
use pgwire::api::{
    CopyBoth, CopyFormat, CopyHandler, CopyIn, CopyOut, ExtendedQueryHandler, Portal,
    QueryResponse, Response, Responses, Rows, ServerHandlers, Session, SimpleQueryHandler,
    StatementDescription, StoredStatement, Tag,
};
use pgwire::api::{CopySupport, ExtendedQuerySupport, UseCopyHandler, UseExtendedQueryHandler};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::messages::TransactionStatus;
use pgwire::messages::{
    AuthResponseKind, BackendDecoder, BackendMessage, DecodeError, FrontendDecoder, FrontendMessage,
};
use pgwire::server::{Server, ServerConfig};
use pgwire::types::{FieldInfo, Schema, Type};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

// ------------------------------------------------------------ allocator

/// A global allocator that counts the bytes live on each thread, and their
/// peak, so a target can bound a session's memory. Install it with
/// `#[global_allocator] static A: CountingAlloc = CountingAlloc;` and call
/// [`CountingAlloc::mark_installed`]; without it the memory check is off.
pub struct CountingAlloc;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

static INSTALLED: AtomicBool = AtomicBool::new(false);

fn count(delta: isize) {
    // `try_with`: during thread teardown the counters may be gone.
    let _ = LIVE.try_with(|l| {
        let now = l.get() + delta;
        l.set(now);
        let _ = PEAK.try_with(|p| {
            if now > p.get() {
                p.set(now);
            }
        });
    });
}

// The one `unsafe` of the test suite, and only in tests: a global
// allocator cannot be written without it. Every method forwards its
// arguments unchanged to the system allocator, so the caller's guarantees
// are exactly the ones `System` needs; the counting touches no memory the
// allocator hands out.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

impl CountingAlloc {
    /// Says the counting allocator is the global one (checks are on).
    pub fn mark_installed() {
        INSTALLED.store(true, Ordering::Relaxed);
    }

    fn installed() -> bool {
        INSTALLED.load(Ordering::Relaxed)
    }

    /// Bytes live on this thread now (allocated here minus freed here).
    pub fn live() -> isize {
        LIVE.with(Cell::get)
    }

    /// Starts a new peak measurement from the current level.
    pub fn reset_peak() {
        let now = Self::live();
        PEAK.with(|p| p.set(now));
    }

    /// The highest level since [`CountingAlloc::reset_peak`].
    pub fn peak() -> isize {
        PEAK.with(Cell::get)
    }
}

// ------------------------------------------------------------- decoders

/// What a decoder target saw (for the replay test's summary).
#[derive(Debug, Default, Clone, Copy)]
pub struct DecodeStats {
    pub messages: usize,
    pub errors: usize,
}

const MAX_LENS: [usize; 4] = [1 << 20, 16, 300, 0];

/// Splits `data` into chunks of a size picked by `sel`.
fn chunked(data: &[u8], sel: u8) -> Vec<&[u8]> {
    let size = match sel & 7 {
        0 | 7 => data.len().max(1),
        1 => 1,
        2 => 2,
        3 => 3,
        4 => 7,
        5 => 64,
        _ => 512,
    };
    data.chunks(size).collect()
}

/// Feeds `chunks` to `decode` as a connection would, checking the
/// contract: `Ok(None)` leaves the buffer alone, a message or a recoverable
/// error consumes bytes, the loop terminates. `check` sees each message.
fn feed<M>(
    chunks: &[&[u8]],
    mut decode: impl FnMut(&mut BytesMut) -> Result<Option<M>, DecodeError>,
    mut check: impl FnMut(&M),
) -> DecodeStats {
    let total: usize = chunks.iter().map(|c| c.len()).sum();
    let bound = total + chunks.len() + 1;
    let mut steps = 0;
    let mut stats = DecodeStats::default();
    let mut buf = BytesMut::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            steps += 1;
            assert!(steps <= bound, "decoder loop did not terminate");
            let before = buf.len();
            match decode(&mut buf) {
                Ok(Some(m)) => {
                    assert!(buf.len() < before, "a message consumed nothing");
                    stats.messages += 1;
                    check(&m);
                }
                Ok(None) => {
                    assert_eq!(buf.len(), before, "Ok(None) changed the buffer");
                    break;
                }
                Err(e) => {
                    stats.errors += 1;
                    let _ = e.to_string();
                    if !e.is_recoverable() {
                        return stats;
                    }
                    assert!(buf.len() < before, "a recoverable error kept its frame");
                }
            }
        }
    }
    stats
}

/// Re-encodes `m` and decodes it with a fresh decoder configured like the
/// one that produced it: it must come back equal.
fn frontend_roundtrip(m: &FrontendMessage, startup: bool, kind: AuthResponseKind) {
    let mut wire = BytesMut::new();
    m.encode(&mut wire);
    let mut d = FrontendDecoder::new().with_max_message_len(usize::MAX >> 1);
    // A StartupMessage re-read in the startup phase, others as they came.
    d.set_startup_phase(startup);
    d.expect_auth_response(kind);
    let back = d.decode(&mut wire);
    assert!(
        matches!(&back, Ok(Some(b)) if b == m),
        "{} did not survive re-encoding: {m:?} -> {back:?}",
        m.name()
    );
    assert!(wire.is_empty(), "re-encoded {} left bytes", m.name());
}

/// The frontend decoder target. Option byte: bit 0 startup phase, bits 1-2
/// the 'p' kind, bits 3-5 the chunk size, bits 6-7 the maximum length.
pub fn frontend_target(data: &[u8]) -> DecodeStats {
    let Some((&opts, data)) = data.split_first() else {
        return DecodeStats::default();
    };
    let kind = [
        AuthResponseKind::Password,
        AuthResponseKind::SaslInitial,
        AuthResponseKind::Sasl,
        AuthResponseKind::Gss,
    ][usize::from((opts >> 1) & 3)];
    let max = MAX_LENS[usize::from(opts >> 6)];
    let mut d = FrontendDecoder::new().with_max_message_len(max);
    d.set_startup_phase(opts & 1 == 1);
    d.expect_auth_response(kind);
    let chunks = chunked(data, opts >> 3);
    let phase = Cell::new(d.is_startup_phase());
    feed(
        &chunks,
        |b| {
            phase.set(d.is_startup_phase());
            d.decode(b)
        },
        |m| frontend_roundtrip(m, phase.get(), kind),
    )
}

/// The backend decoder target. Option byte: bits 3-5 the chunk size, bits
/// 6-7 the maximum length.
pub fn backend_target(data: &[u8]) -> DecodeStats {
    let Some((&opts, data)) = data.split_first() else {
        return DecodeStats::default();
    };
    let max = MAX_LENS[usize::from(opts >> 6)];
    let mut d = BackendDecoder::new().with_max_message_len(max);
    let chunks = chunked(data, opts >> 3);
    feed(
        &chunks,
        |b| d.decode(b),
        |m| {
            let mut wire = BytesMut::new();
            m.encode(&mut wire);
            let back = BackendDecoder::new()
                .with_max_message_len(usize::MAX >> 1)
                .decode(&mut wire);
            assert!(
                matches!(&back, Ok(Some(b)) if b == m),
                "{} did not survive re-encoding: {m:?} -> {back:?}",
                m.name()
            );
            assert!(wire.is_empty());
        },
    )
}

// --------------------------------------------------------------- engine

/// A bounded engine for fuzzing: every command finishes quickly and keeps
/// nothing that grows with the input, so what grows is the server's.
///
/// Commands (one per `;`-separated statement): `select N`, `series N` (at
/// most 3,000 int8 rows), `wide N` (one row of N text columns, at most
/// 300), `failrows N` (N rows then an error), `begin`/`commit`/`rollback`,
/// `fail` (42601), `fatal`, `notice`, `set NAME VALUE` (a reported
/// parameter change), `sleep` (1 ms), `wait` (until cancelled, at most
/// 5 ms), `empty`, `copy_in [fail]`, `copy_out N`, `copy_both N`,
/// `notify CH PAYLOAD` (to this session), `echo $1`, `bindfail`. A
/// statement `bad` fails to parse. User `pw` must give password `pw`.
#[derive(Default, Clone)]
pub struct FuzzEngine;

pub struct FuzzConn {
    int4: Schema,
    int8: Schema,
    copy_bytes: usize,
    copy_reject: bool,
    /// Timed waits left: bounds a session's wall time.
    waits_left: u32,
}

impl ServerHandlers for FuzzEngine {
    type Handler = FuzzConn;

    fn extended_query() -> impl ExtendedQuerySupport<Self::Handler> {
        UseExtendedQueryHandler
    }

    fn copy() -> impl CopySupport<Self::Handler> {
        UseCopyHandler
    }

    async fn authenticate(&self, auth: &mut Authenticator<'_>) -> Result<(), ErrorInfo> {
        if auth.user() == "pw" {
            auth.cleartext(Some("pw")).await
        } else {
            Ok(())
        }
    }

    async fn connect(&self, session: &mut Session) -> Result<FuzzConn, ErrorInfo> {
        if session.client().database() == "missing" {
            return Err(ErrorInfo::new(
                SqlState::INVALID_CATALOG_NAME,
                "database \"missing\" does not exist",
            ));
        }
        Ok(FuzzConn {
            int4: Arc::from(vec![FieldInfo::new("?column?", Type::INT4)]),
            int8: Arc::from(vec![FieldInfo::new("n", Type::INT8)]),
            copy_bytes: 0,
            copy_reject: false,
            waits_left: 4,
        })
    }
}

fn arg_n(arg: Option<&str>, cap: u64) -> u64 {
    arg.and_then(|a| a.parse::<u64>().ok())
        .unwrap_or(0)
        .min(cap)
}

impl FuzzConn {
    fn schema_of(&self, stmt: &str) -> Option<Schema> {
        let mut words = stmt.split_whitespace();
        match words.next().unwrap_or("").to_ascii_lowercase().as_str() {
            "select" | "echo" => Some(self.int4.clone()),
            "series" | "failrows" => Some(self.int8.clone()),
            "wide" => Some(wide_schema(arg_n(words.next(), 300) as usize)),
            _ => None,
        }
    }

    async fn timed_wait(&mut self, session: &Session, ms: u64) {
        if self.waits_left == 0 {
            return;
        }
        self.waits_left -= 1;
        let token = session.cancel_token();
        tokio::select! {
            _ = token.cancelled() => {}
            _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
        }
    }

    async fn run(&mut self, session: &mut Session, stmt: &str, param: Option<i32>) -> Response {
        let mut words = stmt.split_whitespace();
        let cmd = words.next().unwrap_or("").to_ascii_lowercase();
        let arg = words.next();
        match cmd.as_str() {
            "select" => match arg.and_then(|a| a.parse::<i32>().ok()) {
                Some(n) => Response::Query(QueryResponse::new(
                    self.int4.clone(),
                    Rows::from_iterator([(n,)]),
                )),
                None => ErrorInfo::new(SqlState::SYNTAX_ERROR, "bad select").into(),
            },
            "echo" => Response::Query(QueryResponse::new(
                self.int4.clone(),
                Rows::from_iterator([(param,)]),
            )),
            "series" => {
                let n = arg_n(arg, 3000) as i64;
                Response::Query(QueryResponse::new(
                    self.int8.clone(),
                    Rows::from_iterator((1..=n).map(|i| (i,))),
                ))
            }
            "failrows" => {
                let n = arg_n(arg, 3000) as i64;
                let rows = (1..=n + 1).map(move |i| {
                    if i > n {
                        Err(ErrorInfo::new(
                            SqlState::DIVISION_BY_ZERO,
                            "division by zero",
                        ))
                    } else {
                        Ok((i,))
                    }
                });
                Response::Query(QueryResponse::new(
                    self.int8.clone(),
                    Rows::from_try_iterator(rows),
                ))
            }
            "wide" => {
                let n = arg_n(arg, 300) as usize;
                let row: Vec<Option<String>> = (0..n).map(|i| Some(i.to_string())).collect();
                Response::Query(QueryResponse::new(
                    wide_schema(n),
                    Rows::from_iterator([WideRow(row)]),
                ))
            }
            "begin" | "start" => {
                if session.transaction_status() == TransactionStatus::Idle {
                    session.set_transaction_status(TransactionStatus::InTransaction);
                }
                Response::Execution(Tag::new("BEGIN"))
            }
            "commit" | "rollback" => {
                session.set_transaction_status(TransactionStatus::Idle);
                Response::Execution(Tag::new(if cmd == "commit" {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                }))
            }
            "fail" => ErrorInfo::new(SqlState::SYNTAX_ERROR, "syntax error").into(),
            "fatal" => ErrorInfo::fatal(SqlState::ADMIN_SHUTDOWN, "going away").into(),
            "notice" => {
                session.send_notice(ErrorInfo::notice("a notice"));
                Response::Execution(Tag::new("DO"))
            }
            "set" => {
                let name = arg.unwrap_or("application_name");
                session.set_parameter(name, words.next().unwrap_or(""));
                Response::Execution(Tag::new("SET"))
            }
            "sleep" => {
                self.timed_wait(session, 1).await;
                Response::Execution(Tag::new("SLEEP"))
            }
            "wait" => {
                self.timed_wait(session, 5).await;
                if session.is_cancelled() {
                    ErrorInfo::query_canceled().into()
                } else {
                    Response::Execution(Tag::new("WAIT"))
                }
            }
            "empty" => Response::EmptyQuery,
            "copy_in" => {
                self.copy_bytes = 0;
                self.copy_reject = arg == Some("fail");
                Response::CopyIn(CopyIn::new(CopyFormat::text(1)))
            }
            "copy_out" | "copy_both" => {
                let n = arg_n(arg, 2000);
                let lines = (1..=n).map(|i| Ok::<_, ErrorInfo>(Bytes::from(format!("{i}\n"))));
                let stream = futures_util::stream::iter(lines);
                if cmd == "copy_out" {
                    Response::CopyOut(CopyOut::new(CopyFormat::text(1), stream))
                } else {
                    self.copy_bytes = 0;
                    self.copy_reject = false;
                    Response::CopyBoth(CopyBoth::new(CopyFormat::binary(0), stream))
                }
            }
            "notify" => {
                let pid = session.client().process_id();
                let _ = session
                    .handle()
                    .notify(pid, arg.unwrap_or(""), words.next().unwrap_or(""));
                Response::Execution(Tag::new("NOTIFY"))
            }
            _ => ErrorInfo::new(SqlState::SYNTAX_ERROR, "unknown command").into(),
        }
    }
}

fn wide_schema(n: usize) -> Schema {
    Arc::from(
        (0..n)
            .map(|i| FieldInfo::new(format!("c{i}"), Type::TEXT))
            .collect::<Vec<_>>(),
    )
}

/// A row of any width.
struct WideRow(Vec<Option<String>>);

impl pgwire::types::EncodeRow for WideRow {
    fn encode_row(&self, enc: &mut pgwire::types::DataRowEncoder<'_>) -> Result<(), ErrorInfo> {
        for v in &self.0 {
            enc.encode_field(v)?;
        }
        Ok(())
    }
}

impl SimpleQueryHandler for FuzzConn {
    async fn do_query(&mut self, session: &mut Session, query: &str) -> Responses {
        let mut out = Responses::new();
        for stmt in query.split(';').filter(|s| !s.trim().is_empty()).take(64) {
            let r = self.run(session, stmt, None).await;
            let stop = matches!(r, Response::Error(_) | Response::CopyIn(_));
            out.push(r);
            if stop {
                break;
            }
        }
        out
    }
}

impl ExtendedQueryHandler for FuzzConn {
    type Statement = String;

    async fn parse_sql(
        &mut self,
        _: &mut Session,
        sql: &str,
        _: &[u32],
    ) -> Result<String, ErrorInfo> {
        if sql.trim() == "bad" {
            return Err(ErrorInfo::new(SqlState::SYNTAX_ERROR, "syntax error"));
        }
        Ok(sql.to_owned())
    }

    async fn do_describe_statement(
        &mut self,
        _: &mut Session,
        stmt: &StoredStatement<String>,
    ) -> Result<StatementDescription, ErrorInfo> {
        let sql = stmt.statement();
        let params = if sql.contains("$1") {
            vec![Type::INT4]
        } else {
            vec![]
        };
        Ok(StatementDescription::new(params, self.schema_of(sql)))
    }

    async fn do_describe_portal(
        &mut self,
        _: &mut Session,
        portal: &Portal<String>,
    ) -> Result<Option<Schema>, ErrorInfo> {
        Ok(self.schema_of(portal.statement().statement()))
    }

    async fn do_bind(&mut self, _: &mut Session, portal: &Portal<String>) -> Result<(), ErrorInfo> {
        if portal.statement().statement().contains("bindfail") {
            return Err(ErrorInfo::new(
                SqlState::INVALID_PARAMETER_VALUE,
                "bind refused",
            ));
        }
        Ok(())
    }

    async fn do_query(
        &mut self,
        session: &mut Session,
        portal: &Portal<String>,
        _: usize,
    ) -> Response {
        let sql = portal.statement().statement().clone();
        let param = if sql.contains("$1") {
            if let Err(e) = portal.check_param_count(1) {
                return e.into();
            }
            let mut scratch = BytesMut::new();
            match portal.parameter::<i32>(0, &Type::INT4, &mut scratch) {
                Ok(v) => v,
                Err(e) => return e.into(),
            }
        } else {
            None
        };
        self.run(session, &sql, param).await
    }
}

impl CopyHandler for FuzzConn {
    async fn copy_data(&mut self, _: &mut Session, data: Bytes) -> Result<(), ErrorInfo> {
        if self.copy_reject {
            return Err(ErrorInfo::new(SqlState::BAD_COPY_FILE_FORMAT, "rejected"));
        }
        self.copy_bytes += data.len();
        Ok(())
    }

    async fn copy_done(&mut self, _: &mut Session) -> Result<Tag, ErrorInfo> {
        Ok(Tag::new("COPY").with_rows(self.copy_bytes as u64))
    }
}

// --------------------------------------------------------------- server

/// The limits the server target runs with: small, so that a bound on
/// memory derived from them means something.
pub const FUZZ_MAX_MESSAGE_LEN: usize = 8 * 1024;
pub const FUZZ_MAX_STATEMENTS: usize = 8;
pub const FUZZ_MAX_PORTALS: usize = 8;
pub const FUZZ_WRITE_HIGH_WATER: usize = 2 * 1024;
/// The in-memory pipe's buffer in each direction.
const DUPLEX_BUF: usize = 4 * 1024;
/// Wall time allowed for one input's session (the slowest legitimate
/// input waits a few milliseconds).
const SESSION_DEADLINE: Duration = Duration::from_secs(10);

pub fn fuzz_config() -> ServerConfig {
    ServerConfig::default()
        .with_max_message_len(FUZZ_MAX_MESSAGE_LEN)
        .with_max_prepared_statements(FUZZ_MAX_STATEMENTS)
        .with_max_portals(FUZZ_MAX_PORTALS)
        .with_write_high_water(FUZZ_WRITE_HIGH_WATER)
        .with_startup_timeout(Some(Duration::from_secs(5)))
        .with_max_connections(Some(4))
}

/// The most heap a session may hold at once, beyond what it holds idle:
/// each stored statement keeps copies of its name and SQL, each portal may
/// pin the read buffer its Bind arrived in, the read buffer doubles as it
/// grows, the write buffer holds up to the high-water mark plus one
/// message. A fixed allowance covers the engine, the session's maps and
/// the pipe. A session past this bound holds memory no limit accounts for.
pub fn session_memory_bound() -> usize {
    let per_message = 4 * FUZZ_MAX_MESSAGE_LEN;
    (FUZZ_MAX_STATEMENTS + FUZZ_MAX_PORTALS + 8) * per_message
        + 4 * FUZZ_WRITE_HIGH_WATER
        + 256 * 1024
}

/// What one server-target input did.
#[derive(Debug, Default, Clone, Copy)]
pub struct SessionStats {
    /// Backend messages the client received (0 when not decoded).
    pub messages: usize,
    /// Bytes the client received.
    pub received: usize,
    /// Heap growth at the session's peak over its start (0 when the
    /// counting allocator is not installed).
    pub peak_heap: isize,
    /// The client stopped writing because the server stopped reading.
    pub stalled: bool,
}

/// Polls `fut` once.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Option<F::Output> {
    poll_fn(|cx| {
        Poll::Ready(match std::pin::Pin::new(&mut *fut).poll(cx) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        })
    })
    .await
}

/// Writes `data` in `chunks`, giving up when the peer is gone; with
/// `stall_after`, also when that many rounds pass without progress (the
/// server stopped reading). Returns whether it stalled.
async fn write_chunks<W: AsyncWrite + Unpin>(
    w: &mut W,
    chunks: &[&[u8]],
    stall_after: Option<u32>,
) -> bool {
    for chunk in chunks {
        let mut off = 0;
        let mut idle = 0;
        while off < chunk.len() {
            let res = match stall_after {
                None => Some(w.write(&chunk[off..]).await),
                Some(limit) => {
                    let rest = &chunk[off..];
                    let r = poll_fn(|cx| {
                        Poll::Ready(match std::pin::Pin::new(&mut *w).poll_write(cx, rest) {
                            Poll::Ready(r) => Some(r),
                            Poll::Pending => None,
                        })
                    })
                    .await;
                    if r.is_none() {
                        idle += 1;
                        if idle > limit {
                            return true;
                        }
                        tokio::task::yield_now().await;
                        continue;
                    }
                    r
                }
            };
            match res {
                Some(Ok(n)) if n > 0 => {
                    off += n;
                    idle = 0;
                }
                _ => return false,
            }
        }
    }
    false
}

/// Reads the server's output to EOF, decoding it when `decode`: it must be
/// a sequence of well-formed backend messages, with nothing after a FATAL
/// error. Returns (messages, bytes).
async fn read_output<R: AsyncRead + Unpin>(
    r: &mut R,
    decode: bool,
    answered: Option<&tokio::sync::Notify>,
) -> (usize, usize) {
    let mut buf = BytesMut::with_capacity(4096);
    let mut decoder = BackendDecoder::new();
    let mut messages = 0;
    let mut received = 0;
    let mut fatal_seen = false;
    loop {
        let before = buf.len();
        match r.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        received += buf.len() - before;
        if !decode {
            buf.clear();
            continue;
        }
        while let Some(m) = decoder
            .decode(&mut buf)
            .unwrap_or_else(|e| panic!("the server sent a malformed message: {e}"))
        {
            assert!(
                !fatal_seen,
                "the server sent {} after a FATAL error",
                m.name()
            );
            messages += 1;
            if let (BackendMessage::DataRow(row), Some(n)) = (&m, answered) {
                if row.values.get(0).flatten() == Some(SENTINEL_VALUE) {
                    n.notify_one();
                }
            }
            if let BackendMessage::ErrorResponse(e) = &m {
                let severity = e.0.severity();
                assert!(severity.is_some(), "ErrorResponse without severity");
                assert!(e.0.code().is_some(), "ErrorResponse without SQLSTATE");
                assert!(e.0.message().is_some(), "ErrorResponse without message");
                fatal_seen = severity == Some("FATAL");
            }
        }
    }
    if decode {
        assert!(buf.is_empty(), "the server's output ends mid-message");
    }
    if let Some(n) = answered {
        n.notify_one();
    }
    (messages, received)
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
}

/// The server target. Option byte: bit 0 clear with bit 1 clear = the
/// client never reads (25% of inputs); bits 2-4 the chunk size; bit 5
/// protocol 3.2 rather than 3.0; bit 6 no startup packet (the input is the
/// whole stream, output not decoded); bit 7 user `pw` (password
/// authentication; the input must answer it).
pub fn server_target(data: &[u8]) -> SessionStats {
    let Some((&opts, input)) = data.split_first() else {
        return SessionStats::default();
    };
    RUNTIME.with(|rt| rt.block_on(server_session(opts, input)))
}

async fn server_session(opts: u8, input: &[u8]) -> SessionStats {
    let drain = opts & 3 != 0;
    let raw = opts & 0x40 != 0;
    let minor = if opts & 0x20 != 0 { 2 } else { 0 };
    let user = if opts & 0x80 != 0 { "pw" } else { "fuzz" };
    let server = Server::new(FuzzEngine, fuzz_config());

    let mut stream = Vec::new();
    if !raw {
        stream = startup_bytes(minor, &[("user", user), ("database", "fuzz")]);
    }
    stream.extend_from_slice(input);
    // After whole messages, in any state, Query gets an answer: in COPY a
    // first Query ends the COPY (an error) and a second one is answered.
    // Only an extended-query error skips messages, up to a Sync: the
    // sentinel has one when the input used the extended protocol (and not
    // otherwise, so that nothing else may make the server skip).
    let frames = whole_frames(input);
    let sentinel = drain && !raw && frames.is_some();
    if sentinel {
        let extended = frames.is_some_and(|tags| tags.iter().any(|t| b"PBDECHS".contains(t)));
        for _ in 0..2 {
            if extended {
                stream.extend_from_slice(b"S\0\0\0\x04");
            }
            stream.extend_from_slice(b"Q\0\0\0\x12select 424242\0");
        }
    }
    let chunks = chunked(&stream, opts >> 2);

    let measure = CountingAlloc::installed();
    let (client, server_io) = tokio::io::duplex(DUPLEX_BUF);
    CountingAlloc::reset_peak();
    let start = CountingAlloc::live();
    let (mut rd, mut wr) = tokio::io::split(client);
    let served = server.process_socket(server_io, None);
    let mut stats = SessionStats::default();
    let session = async {
        let mut served = pin!(served);
        if drain {
            let answered = tokio::sync::Notify::new();
            let client = async {
                let writer = async {
                    write_chunks(&mut wr, &chunks, None).await;
                    if sentinel {
                        // The server must answer (or close): a session
                        // waiting for input the client will never send
                        // is wedged.
                        answered.notified().await;
                    }
                    let _ = wr.shutdown().await;
                };
                let reader = read_output(&mut rd, !raw, sentinel.then_some(&answered));
                let ((), out) = tokio::join!(writer, reader);
                out
            };
            let (_, (messages, received)) = tokio::join!(served.as_mut(), client);
            stats.messages = messages;
            stats.received = received;
        } else {
            // Write without ever reading; when the server stops reading
            // too (its output backs up), check its memory and hang up.
            let stalled = tokio::select! {
                _ = served.as_mut() => None,
                s = write_chunks(&mut wr, &chunks, Some(64)) => Some(s),
            };
            if let Some(s) = stalled {
                stats.stalled = s;
                let _ = wr.shutdown().await;
                // Let the server take in what it can.
                let mut done = false;
                for _ in 0..64 {
                    if poll_once(&mut served.as_mut()).await.is_some() {
                        done = true;
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                stats.peak_heap = CountingAlloc::peak() - start;
                drop(rd);
                drop(wr);
                if !done {
                    let _ = served.await;
                }
            }
        }
    };
    if tokio::time::timeout(SESSION_DEADLINE, session)
        .await
        .is_err()
    {
        panic!(
            "the session did not end within {SESSION_DEADLINE:?} of its input's end (or did not answer a Query after it: wedged)"
        );
    }
    stats.peak_heap = stats.peak_heap.max(CountingAlloc::peak() - start);
    if measure {
        let bound = session_memory_bound() as isize;
        assert!(
            stats.peak_heap <= bound,
            "a session held {} bytes at its peak; the limits allow {bound}",
            stats.peak_heap
        );
    }
    assert_eq!(
        server.session_count(),
        0,
        "a session outlived its connection"
    );
    assert_eq!(
        server.connection_count(),
        0,
        "a connection was not counted out"
    );
    check_server_still_serves(&server).await;
    stats
}

/// A fresh client gets a whole session from the same server.
async fn check_server_still_serves(server: &Server<FuzzEngine>) {
    let (mut client, server_io) = tokio::io::duplex(DUPLEX_BUF);
    let served = server.process_socket(server_io, None);
    let client = async {
        let mut bytes = startup_bytes(0, &[("user", "after")]);
        bytes.extend_from_slice(b"Q\0\0\0\x0eselect 42\0X\0\0\0\x04");
        client.write_all(&bytes).await.expect("write");
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.expect("read");
        out
    };
    let (r, out) = tokio::time::timeout(SESSION_DEADLINE, async { tokio::join!(served, client) })
        .await
        .expect("the server did not serve a new session");
    assert!(r.is_ok(), "the follow-up session failed: {r:?}");
    let mut buf = BytesMut::from(&out[..]);
    let mut d = BackendDecoder::new();
    let mut tags = Vec::new();
    while let Some(m) = d.decode(&mut buf).expect("well-formed") {
        if let BackendMessage::DataRow(row) = &m {
            assert_eq!(row.values.get(0).flatten(), Some(&b"42"[..]));
        }
        let mut w = BytesMut::new();
        m.encode(&mut w);
        tags.push(w[0]);
    }
    assert!(
        tags.ends_with(b"ZTDCZ"),
        "the follow-up session got {:?}",
        String::from_utf8_lossy(&tags)
    );
}

/// The value the liveness check's `select` returns.
const SENTINEL_VALUE: &[u8] = b"424242";

/// The type bytes of `input`'s frames if it is a sequence of whole typed
/// frames.
fn whole_frames(mut input: &[u8]) -> Option<Vec<u8>> {
    let mut tags = Vec::new();
    while !input.is_empty() {
        let &[tag, a, b, c, d] = input.get(..5)? else {
            return None;
        };
        let len = u32::from_be_bytes([a, b, c, d]) as usize;
        if len < 4 || len + 1 > input.len() {
            return None;
        }
        tags.push(tag);
        input = &input[len + 1..];
    }
    Some(tags)
}

/// A startup packet (no dependency on the test helpers, so the fuzz crate
/// can include this file alone).
pub fn startup_bytes(minor: u16, params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&3u16.to_be_bytes());
    body.extend_from_slice(&minor.to_be_bytes());
    for (k, v) in params {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}
