//! The admin console: database `pgwire` (configurable) answers `SHOW
//! POOLS` and `SHOW STATS` with the pools' counters, `SHOW CLIENTS` and
//! `SHOW SERVERS` with a line per client and per backend connection,
//! `SHOW HELP`, and `PAUSE` / `RESUME` (see [`super::pause`]), as poolers
//! do.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::{Buf, BufMut, BytesMut};
use pgwire::api::auth::AuthMethod;
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::messages::{Message, ParameterStatus};
use pgwire::server::peek_frame;

use super::clients::utc_timestamp;
use super::pool::Pools;
use super::session::{Front, put_command_complete};
use super::statements::cstr;

/// Serves the admin console to one client.
pub async fn run(mut front: Front, pools: Arc<Pools>) {
    // Roles found by --auth-query are PostgreSQL's users, not the
    // proxy's: the console (other clients' addresses, the settings) is
    // for the users the proxy is given.
    if pools.users.find(front.client().user()).is_none() {
        front
            .send_fatal(&ErrorInfo::fatal(
                SqlState::INSUFFICIENT_PRIVILEGE,
                "the admin console is for the users given to the proxy (--user, --users-file)",
            ))
            .await;
        return;
    }
    let key = front.backend_key_data();
    let wbuf = front.write_buffer();
    for (k, v) in [
        ("server_version", "15.0 (pgwire proxy)"),
        ("client_encoding", "UTF8"),
        ("server_encoding", "UTF8"),
        ("DateStyle", "ISO, MDY"),
        ("integer_datetimes", "on"),
        ("standard_conforming_strings", "on"),
    ] {
        ParameterStatus::new(k.to_owned(), v.to_owned()).encode(wbuf);
    }
    key.encode(wbuf);
    wbuf.put_slice(b"Z\0\0\0\x05I");
    if front.flush().await.is_err() {
        return;
    }
    let max = front.max_message_len();
    let mut console = Console {
        may_control: pools.config.is_admin(front.client().user()),
        ..Console::default()
    };
    let mut shutdown_watch = front.shutdown_signal();
    let mut shutdown = std::pin::pin!(shutdown_watch.requested());
    loop {
        let mut pausing = None;
        loop {
            let (rbuf, out) = front.buffers();
            let f = match peek_frame(rbuf, max) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    front.send_fatal(&e.to_error_info()).await;
                    return;
                }
            };
            let body = rbuf[5..f.len].to_vec();
            rbuf.advance(f.len);
            if f.tag == b'X' {
                return;
            }
            pausing = console.handle(f.tag, &body, &pools, out);
            if pausing.is_some() {
                break;
            }
        }
        if front.flush().await.is_err() {
            if let Some(pausing) = &pausing {
                undo_pause(&pools, pausing);
            }
            return;
        }
        if let Some(pausing) = pausing {
            let database = pausing.database.as_deref();
            let released = wait_for_release(&mut front, &pools, database).await;
            let out = front.write_buffer();
            match released {
                Released::Yes => {
                    let closed = match database {
                        None => pools.close_all_idle(),
                        Some(db) => pools.close_idle_to(db),
                    };
                    tracing::info!(
                        closed,
                        database,
                        "paused: every connection released, idle ones closed"
                    );
                    put_command_complete(out, "PAUSE");
                }
                Released::Cancelled => {
                    undo_pause(&pools, &pausing);
                    ErrorInfo::new(
                        SqlState::QUERY_CANCELED,
                        "canceling statement due to user request: PAUSE undone",
                    )
                    .encode_error(out);
                    console.failed = pausing.extended;
                }
                Released::ClientGone => {
                    undo_pause(&pools, &pausing);
                    tracing::info!("the client that sent PAUSE left before it completed: resumed");
                    return;
                }
            }
            if !pausing.extended {
                out.put_slice(b"Z\0\0\0\x05I");
            }
            // What the client sent meanwhile is answered before reading on.
            continue;
        }
        let read = tokio::select! {
            read = front.fill() => read,
            _ = &mut shutdown => {
                front.send_fatal(&shutting_down()).await;
                return;
            }
        };
        match read {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// What a client is told when the proxy shuts down.
pub fn shutting_down() -> ErrorInfo {
    ErrorInfo::fatal(
        SqlState::ADMIN_SHUTDOWN,
        "terminating connection because the proxy is shutting down",
    )
}

/// A `PAUSE` waiting for the connections to be released: sent as an
/// Execute (else a simple Query), of one database or (`None`) all.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pausing {
    extended: bool,
    database: Option<String>,
}

/// How the wait of a `PAUSE` ended.
enum Released {
    /// No connection is handed out any more.
    Yes,
    /// The client sent a CancelRequest.
    Cancelled,
    /// The client closed its connection.
    ClientGone,
}

/// Resumes what a `PAUSE` that did not complete paused.
fn undo_pause(pools: &Pools, pausing: &Pausing) {
    match &pausing.database {
        None => {
            pools.pause.resume();
        }
        Some(db) => {
            pools.pause.resume_database(db);
        }
    }
}

/// Waits until every backend connection (of `database`, or all) is back
/// in its pool (clients finish their transactions; session-pooled clients
/// leave), watching the console client for a cancel or its departure.
async fn wait_for_release(front: &mut Front, pools: &Pools, database: Option<&str>) -> Released {
    let cancel = front.cancel_signal();
    let mut cancelled = std::pin::pin!(cancel.requested());
    loop {
        if pools.all_released(database) {
            return Released::Yes;
        }
        tokio::select! {
            _ = &mut cancelled => return Released::Cancelled,
            read = front.fill() => {
                if matches!(read, Ok(0) | Err(_)) {
                    return Released::ClientGone;
                }
            }
            _ = tokio::time::sleep(std::time::Duration::from_millis(10)) => {}
        }
    }
}

/// A console command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    Pools,
    Stats,
    Clients,
    Servers,
    Help,
    Config,
    Version,
    Databases,
    Users,
    /// `PAUSE`, or `PAUSE db` for one database.
    Pause(Option<String>),
    /// `RESUME`, or `RESUME db`.
    Resume(Option<String>),
    Reconnect,
    Reload,
    /// `KILL db`.
    Kill(String),
    /// An empty query string.
    Empty,
}

impl Command {
    fn parse(sql: &str) -> Result<Command, ErrorInfo> {
        // A Parse's text may end in `;` as a Query's parts do not.
        let raw: Vec<&str> = sql
            .trim_end_matches(|c: char| c == ';' || c.is_whitespace())
            .split_whitespace()
            .collect();
        let words: Vec<String> = raw.iter().map(|w| w.to_ascii_uppercase()).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        // A database name as written (quotes taken off), not upper-cased.
        let database = || raw.get(1).map(|d| d.trim_matches('"').to_owned());
        Ok(match words[..] {
            [] => Command::Empty,
            ["SHOW", "POOLS"] => Command::Pools,
            ["SHOW", "STATS"] => Command::Stats,
            ["SHOW", "CLIENTS"] => Command::Clients,
            ["SHOW", "SERVERS"] => Command::Servers,
            ["SHOW", "HELP"] => Command::Help,
            ["SHOW", "CONFIG"] => Command::Config,
            ["SHOW", "VERSION"] => Command::Version,
            ["SHOW", "DATABASES"] => Command::Databases,
            ["SHOW", "USERS"] => Command::Users,
            ["PAUSE"] => Command::Pause(None),
            ["PAUSE", _] => Command::Pause(database()),
            ["RESUME"] => Command::Resume(None),
            ["RESUME", _] => Command::Resume(database()),
            ["RECONNECT"] => Command::Reconnect,
            ["RELOAD"] => Command::Reload,
            ["KILL", _] => Command::Kill(database().unwrap_or_default()),
            _ => {
                return Err(ErrorInfo::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "unknown admin command: SHOW HELP lists the commands",
                ));
            }
        })
    }

    /// The command's rows; `None` for the commands that have none.
    fn run(self, pools: &Pools) -> Option<Table> {
        Some(match self {
            Command::Pools => show_pools(pools),
            Command::Stats => show_stats(pools),
            Command::Clients => show_clients(pools),
            Command::Servers => show_servers(pools),
            Command::Help => show_help(),
            Command::Config => show_config(pools),
            Command::Databases => show_databases(pools),
            Command::Users => show_users(pools),
            Command::Version => Table {
                columns: &["version"],
                integers: &[],
                rows: vec![vec![format!("pgwire proxy {}", env!("CARGO_PKG_VERSION"))]],
            },
            Command::Pause(_)
            | Command::Resume(_)
            | Command::Reconnect
            | Command::Reload
            | Command::Kill(_)
            | Command::Empty => {
                return None;
            }
        })
    }

    /// Runs a command that has no rows into `out`: its CommandComplete,
    /// EmptyQueryResponse, or (`PAUSE`) nothing yet.
    fn act(
        self,
        pools: &Pools,
        may_control: bool,
        out: &mut BytesMut,
    ) -> Result<Option<Option<String>>, ErrorInfo> {
        let controls = matches!(
            self,
            Command::Pause(_)
                | Command::Resume(_)
                | Command::Reconnect
                | Command::Reload
                | Command::Kill(_)
        );
        if controls && !may_control {
            return Err(ErrorInfo::new(
                SqlState::INSUFFICIENT_PRIVILEGE,
                "PAUSE, RESUME, RECONNECT, RELOAD and KILL are for the proxy's admin users \
                 (--admin-user)",
            ));
        }
        match self {
            Command::Empty => out.put_slice(b"I\0\0\0\x04"),
            Command::Resume(None) => {
                if !pools.pause.resume() {
                    return Err(not_paused("the proxy is not paused"));
                }
                tracing::info!("resumed");
                put_command_complete(out, "RESUME");
            }
            Command::Resume(Some(database)) => {
                if !pools.pause.resume_database(&database) {
                    return Err(not_paused("that database is not paused"));
                }
                tracing::info!(database, "resumed");
                put_command_complete(out, "RESUME");
            }
            Command::Reconnect => {
                let closed = pools.reconnect();
                tracing::info!(closed, "RECONNECT: backend connections are being replaced");
                put_command_complete(out, "RECONNECT");
            }
            Command::Kill(database) => {
                // As PgBouncer's KILL: the database stays paused (new
                // clients wait for RESUME db) and its clients end now.
                pools.pause.pause_database(&database);
                let killed = pools.clients.kill(&database);
                let closed = pools.close_idle_to(&database);
                tracing::info!(database, killed, closed, "KILL: clients ended, paused");
                put_command_complete(out, "KILL");
            }
            Command::Reload => match pools.users.reload() {
                Ok(users) => {
                    tracing::info!(users, "RELOAD: users files read again");
                    put_command_complete(out, "RELOAD");
                }
                Err(e) => {
                    tracing::warn!("RELOAD failed, the users stay as they were: {e}");
                    return Err(ErrorInfo::new(
                        SqlState::CONFIG_FILE_ERROR,
                        format!("RELOAD failed, the users stay as they were: {e}"),
                    ));
                }
            },
            Command::Pause(None) => {
                if !pools.pause.pause() {
                    return Err(not_paused("the proxy is already paused"));
                }
                tracing::info!("pausing: waiting for every backend connection to be released");
                return Ok(Some(None));
            }
            Command::Pause(Some(database)) => {
                if !pools.pause.pause_database(&database) {
                    return Err(not_paused("that database is already paused"));
                }
                tracing::info!(
                    database,
                    "pausing: waiting for the database's backend connections to be released"
                );
                return Ok(Some(Some(database)));
            }
            _ => {}
        }
        Ok(None)
    }
}

fn not_paused(message: &'static str) -> ErrorInfo {
    ErrorInfo::new(SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE, message)
}

/// A result: text columns.
struct Table {
    columns: &'static [&'static str],
    /// The columns sent as `int8` (PgBouncer's counters are numbers, and
    /// monitoring written for it computes with them); an empty value is
    /// NULL. Fixed per table, so a Describe and an Execute agree.
    integers: &'static [&'static str],
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Whether column `i` is sent as `int8`.
    fn is_integer(&self, i: usize) -> bool {
        self.columns
            .get(i)
            .is_some_and(|c| self.integers.contains(c))
    }
}

/// One console client's extended-protocol state, so that drivers that
/// only speak the extended protocol (psycopg, asyncpg, pgJDBC,
/// tokio-postgres' `query`) can read the console too.
#[derive(Default)]
struct Console {
    statements: HashMap<Vec<u8>, Command>,
    /// Portal name: its command and whether each column comes in binary
    /// (the same bytes as text for type `text`; only RowDescription says
    /// which).
    portals: HashMap<Vec<u8>, (Command, Vec<i16>)>,
    /// An extended-protocol message failed: the rest up to Sync is skipped.
    failed: bool,
    /// The client is an admin user (`--admin-user`): it may run `PAUSE`,
    /// `RESUME`, `RECONNECT` and `RELOAD`.
    may_control: bool,
}

impl Console {
    /// Answers one message into `out`; an error ends a simple Query, or
    /// skips the extended-protocol messages up to Sync.
    /// Answers one message into `out`; an error ends a simple Query, or
    /// skips the extended-protocol messages up to Sync. `Some` when a
    /// `PAUSE` began: the caller waits for the connections, then completes
    /// it.
    fn handle(
        &mut self,
        tag: u8,
        body: &[u8],
        pools: &Pools,
        out: &mut BytesMut,
    ) -> Option<Pausing> {
        match self.answer(tag, body, pools, out) {
            Ok(pausing) => pausing,
            Err(e) => {
                e.encode_error(out);
                if tag == b'Q' {
                    out.put_slice(b"Z\0\0\0\x05I");
                } else {
                    self.failed = true;
                }
                None
            }
        }
    }

    fn answer(
        &mut self,
        tag: u8,
        body: &[u8],
        pools: &Pools,
        out: &mut BytesMut,
    ) -> Result<Option<Pausing>, ErrorInfo> {
        if self.failed && tag != b'S' {
            return Ok(None);
        }
        match tag {
            b'Q' => {
                let sql = String::from_utf8_lossy(cstr(body).ok_or_else(malformed)?.0).into_owned();
                let commands = sql
                    .split(';')
                    .map(Command::parse)
                    .filter(|c| c.as_ref().map_or(true, |c| *c != Command::Empty))
                    .collect::<Result<Vec<_>, _>>()?;
                if commands.len() > 1 && commands.iter().any(|c| matches!(c, Command::Pause(_))) {
                    return Err(ErrorInfo::new(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        "PAUSE must be sent alone",
                    ));
                }
                if commands.is_empty() {
                    out.put_slice(b"I\0\0\0\x04");
                }
                for command in commands {
                    match command.clone().run(pools) {
                        Some(table) => {
                            put_row_description(out, &table, &[]);
                            put_rows(out, &table, &[]);
                        }
                        None => {
                            if let Some(database) = command.act(pools, self.may_control, out)? {
                                return Ok(Some(Pausing {
                                    extended: false,
                                    database,
                                }));
                            }
                        }
                    }
                }
                out.put_slice(b"Z\0\0\0\x05I");
            }
            b'P' => {
                let (name, rest) = cstr(body).ok_or_else(malformed)?;
                let (sql, _) = cstr(rest).ok_or_else(malformed)?;
                let command = Command::parse(&String::from_utf8_lossy(sql))?;
                self.statements.insert(name.to_vec(), command);
                out.put_slice(b"1\0\0\0\x04");
            }
            b'B' => {
                let (portal, rest) = cstr(body).ok_or_else(malformed)?;
                let (statement, mut rest) = cstr(rest).ok_or_else(malformed)?;
                let command = self
                    .statements
                    .get(statement)
                    .cloned()
                    .ok_or_else(|| no_such("prepared statement", statement))?;
                // Parameter formats: there are no parameters to read.
                read_i16s(&mut rest)?;
                if rest.len() < 2 || rest.get_i16() != 0 {
                    return Err(ErrorInfo::new(
                        SqlState::PROTOCOL_VIOLATION,
                        "the admin console's commands take no parameters",
                    ));
                }
                let result_formats = read_i16s(&mut rest)?;
                self.portals
                    .insert(portal.to_vec(), (command, result_formats));
                out.put_slice(b"2\0\0\0\x04");
            }
            b'D' => {
                let (&kind, rest) = body.split_first().ok_or_else(malformed)?;
                let (name, _) = cstr(rest).ok_or_else(malformed)?;
                let (command, formats) = if kind == b'S' {
                    let command = self
                        .statements
                        .get(name)
                        .cloned()
                        .ok_or_else(|| no_such("prepared statement", name))?;
                    out.put_slice(b"t\0\0\0\x06\0\0");
                    (command, Vec::new())
                } else {
                    self.portals
                        .get(name)
                        .cloned()
                        .ok_or_else(|| no_such("portal", name))?
                };
                match command.run(pools) {
                    Some(table) => put_row_description(out, &table, &formats),
                    // PAUSE and RESUME are not run by a Describe.
                    None => out.put_slice(b"n\0\0\0\x04"),
                }
            }
            b'E' => {
                let (name, _) = cstr(body).ok_or_else(malformed)?;
                let (command, formats) = self
                    .portals
                    .get(name)
                    .cloned()
                    .ok_or_else(|| no_such("portal", name))?;
                match command.clone().run(pools) {
                    Some(table) => put_rows(out, &table, &formats),
                    None => {
                        if let Some(database) = command.act(pools, self.may_control, out)? {
                            return Ok(Some(Pausing {
                                extended: true,
                                database,
                            }));
                        }
                    }
                }
            }
            b'C' => {
                let (&kind, rest) = body.split_first().ok_or_else(malformed)?;
                let (name, _) = cstr(rest).ok_or_else(malformed)?;
                if kind == b'S' {
                    self.statements.remove(name);
                } else {
                    self.portals.remove(name);
                }
                out.put_slice(b"3\0\0\0\x04");
            }
            b'S' => {
                self.failed = false;
                self.portals.remove(&b""[..]);
                out.put_slice(b"Z\0\0\0\x05I");
            }
            b'H' => {}
            _ => {
                return Err(ErrorInfo::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "the admin console answers queries only",
                ));
            }
        }
        Ok(None)
    }
}

fn malformed() -> ErrorInfo {
    ErrorInfo::new(SqlState::PROTOCOL_VIOLATION, "malformed message")
}

fn no_such(what: &str, name: &[u8]) -> ErrorInfo {
    let code = if what == "portal" {
        SqlState::INVALID_CURSOR_NAME
    } else {
        SqlState::INVALID_SQL_STATEMENT_NAME
    };
    ErrorInfo::new(
        code,
        format!(
            "{what} \"{}\" does not exist",
            String::from_utf8_lossy(name)
        ),
    )
}

/// A count-prefixed list of Int16 (format codes).
fn read_i16s(rest: &mut &[u8]) -> Result<Vec<i16>, ErrorInfo> {
    if rest.len() < 2 {
        return Err(malformed());
    }
    let n = rest.get_i16();
    let n = usize::try_from(n).map_err(|_| malformed())?;
    if rest.len() < 2 * n {
        return Err(malformed());
    }
    Ok((0..n).map(|_| rest.get_i16()).collect())
}

fn show_pools(pools: &Pools) -> Table {
    let rows: Vec<Vec<String>> = pools
        .all()
        .iter()
        .map(|p| {
            let s = &p.stats;
            let max_wait = s.max_wait();
            vec![
                p.database.clone(),
                p.user.clone(),
                p.label(),
                if p.replica { "standby" } else { "primary" }.into(),
                {
                    let t = &pools.targets[p.target];
                    if t.is_down() {
                        "down"
                    } else if t.is_lagging() {
                        "lagging"
                    } else {
                        "up"
                    }
                }
                .into(),
                pools.config.pool_mode.name().into(),
                p.size.to_string(),
                s.clients.load(Ordering::Relaxed).to_string(),
                s.waiting.load(Ordering::Relaxed).to_string(),
                s.active.load(Ordering::Relaxed).to_string(),
                p.idle_count().to_string(),
                s.open.load(Ordering::Relaxed).to_string(),
                max_wait.as_secs().to_string(),
                max_wait.subsec_micros().to_string(),
                if pools.pause.is_paused_for(&p.database) {
                    "yes"
                } else {
                    "no"
                }
                .into(),
                pools.targets[p.target]
                    .lag()
                    .map(|l| format!("{:.3}", l.as_secs_f64()))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    Table {
        columns: &[
            "database",
            "user",
            "backend",
            "role",
            "state",
            "pool_mode",
            "pool_size",
            "cl_active",
            "cl_waiting",
            "sv_active",
            "sv_idle",
            "sv_open",
            "maxwait",
            "maxwait_us",
            "paused",
            "replay_lag_s",
        ],
        integers: &[
            "pool_size",
            "cl_active",
            "cl_waiting",
            "sv_active",
            "sv_idle",
            "sv_open",
            "maxwait",
            "maxwait_us",
        ],
        rows,
    }
}

fn show_stats(pools: &Pools) -> Table {
    let rows: Vec<Vec<String>> = pools
        .all()
        .iter()
        .map(|p| {
            let s = &p.stats;
            vec![
                p.database.clone(),
                p.user.clone(),
                p.label(),
                s.xacts.load(Ordering::Relaxed).to_string(),
                s.queries.load(Ordering::Relaxed).to_string(),
                s.waits.load(Ordering::Relaxed).to_string(),
                s.wait_us.load(Ordering::Relaxed).to_string(),
                s.timeouts.load(Ordering::Relaxed).to_string(),
                s.connects.load(Ordering::Relaxed).to_string(),
                s.broken.load(Ordering::Relaxed).to_string(),
            ]
        })
        .collect();
    Table {
        columns: &[
            "database",
            "user",
            "backend",
            "total_xact_count",
            "total_query_count",
            "total_waits",
            "total_wait_time",
            "total_wait_timeouts",
            "total_server_connects",
            "total_server_broken",
        ],
        integers: &[
            "total_xact_count",
            "total_query_count",
            "total_waits",
            "total_wait_time",
            "total_wait_timeouts",
            "total_server_connects",
            "total_server_broken",
        ],
        rows,
    }
}

/// The commands, with what each shows.
const COMMANDS: [(&str, &str); 14] = [
    (
        "SHOW POOLS",
        "one line per pool (user, database, backend): clients, connections active and idle",
    ),
    (
        "SHOW STATS",
        "per pool: transactions, queries, waits for a connection, connections opened and broken",
    ),
    (
        "SHOW CLIENTS",
        "one line per client: active (holds a connection), waiting or idle, and which connection",
    ),
    (
        "SHOW SERVERS",
        "one line per backend connection: active (and the client holding it), idle, \
         or the pool's checker",
    ),
    (
        "PAUSE [db]",
        "no client (of db) takes a connection until RESUME; returns once all are released \
         (transactions finished, session clients gone) and the idle ones closed",
    ),
    ("RESUME [db]", "clients (of db) take connections again"),
    (
        "RECONNECT",
        "replace every backend connection (idle ones now, the others when released), \
         e.g. after ALTER DATABASE/ROLE ... SET",
    ),
    (
        "KILL db",
        "end every client of db now (their transactions roll back) and pause it: new \
         clients wait for RESUME db",
    ),
    (
        "RELOAD",
        "read the --users-file's again: new users may log in, removed ones no longer can",
    ),
    ("SHOW CONFIG", "the settings in effect (no passwords)"),
    (
        "SHOW DATABASES",
        "one line per database and backend in use: where, pool size, connections open, paused",
    ),
    (
        "SHOW USERS",
        "the users: given (--user, --users-file) or found by --auth-query",
    ),
    ("SHOW VERSION", "the proxy's version"),
    ("SHOW HELP", "this list"),
];

/// One line per (database, backend) among the pools, as PgBouncer's
/// `SHOW DATABASES` (a standby's line is named as clients reach it,
/// `X_ro`).
fn show_databases(pools: &Pools) -> Table {
    let mut lines: Vec<(String, usize, String, usize)> = Vec::new();
    for p in pools.all() {
        let open = p.stats.open.load(Ordering::Relaxed);
        match lines
            .iter_mut()
            .find(|(db, target, _, _)| *db == p.database && *target == p.target)
        {
            Some(line) => line.3 += open,
            None => lines.push((p.database.clone(), p.target, p.label(), open)),
        }
    }
    lines.sort();
    let c = &pools.config;
    let rows = lines
        .into_iter()
        .map(|(database, target, label, open)| {
            let (host, port) = label.rsplit_once(':').unwrap_or((&label, ""));
            let name = if target == 0 {
                database.clone()
            } else {
                format!("{database}_ro")
            };
            vec![
                name,
                host.to_owned(),
                port.to_owned(),
                database.clone(),
                c.pool_size.to_string(),
                c.pool_mode.name().into(),
                c.max_server_connections.to_string(),
                open.to_string(),
                u8::from(pools.pause.is_paused_for(&database)).to_string(),
            ]
        })
        .collect();
    Table {
        columns: &[
            "name",
            "host",
            "port",
            "database",
            "pool_size",
            "pool_mode",
            "max_connections",
            "current_connections",
            "paused",
        ],
        integers: &[
            "port",
            "pool_size",
            "max_connections",
            "current_connections",
            "paused",
        ],
        rows,
    }
}

/// The users, given or looked up.
fn show_users(pools: &Pools) -> Table {
    let given = pools.users.names();
    let looked_up = pools.users.looked_up_names();
    let rows = given
        .into_iter()
        .map(|name| (name, "given"))
        .chain(looked_up.into_iter().map(|name| (name, "auth_query")))
        .map(|(name, source)| {
            vec![
                name,
                source.to_owned(),
                pools.config.pool_mode.name().to_owned(),
            ]
        })
        .collect();
    Table {
        columns: &["name", "source", "pool_mode"],
        integers: &[],
        rows,
    }
}

fn show_config(pools: &Pools) -> Table {
    let c = &pools.config;
    let secs = |d: std::time::Duration| format!("{}", d.as_secs_f64());
    let mut rows = vec![
        ("listen", c.listen.to_string()),
        ("primary", without_password(&c.primary)),
        (
            "replicas",
            c.replicas
                .iter()
                .map(|r| without_password(r))
                .collect::<Vec<_>>()
                .join(" | "),
        ),
        ("users", pools.users.names().join(",")),
        (
            "auth",
            match c.auth {
                AuthMethod::ScramSha256 => "scram-sha-256",
                AuthMethod::Md5 => "md5",
                AuthMethod::Trust => "trust",
                _ => "other",
            }
            .to_owned(),
        ),
        ("auth_user", c.auth_user.clone().unwrap_or_default()),
        ("auth_query", c.auth_query.clone()),
        ("auth_dbname", c.auth_dbname.clone()),
        ("tls", if c.tls.is_some() { "on" } else { "off" }.to_owned()),
        (
            "proxy_protocol",
            format!("{:?}", c.proxy_protocol).to_ascii_lowercase(),
        ),
        ("pool_mode", c.pool_mode.name().to_owned()),
        ("pool_size", c.pool_size.to_string()),
        (
            "max_server_connections",
            c.max_server_connections.to_string(),
        ),
        ("max_clients", c.max_clients.to_string()),
        ("wait_timeout", secs(c.wait_timeout)),
        ("health_interval", secs(c.health_interval)),
        ("max_replica_lag", secs(c.max_replica_lag)),
        ("server_idle_timeout", secs(c.server_idle_timeout)),
        ("server_lifetime", secs(c.server_lifetime)),
        ("shutdown_timeout", secs(c.shutdown_timeout)),
        ("admin_database", c.admin_database.clone()),
        ("threads", c.threads.to_string()),
    ];
    Table {
        columns: &["key", "value"],
        integers: &[],
        rows: rows.drain(..).map(|(k, v)| vec![k.to_owned(), v]).collect(),
    }
}

/// A connection string with its password masked: the value of
/// `password=` (quoted or not) in the keyword form, the part after `:` in
/// the user information of a URL.
fn without_password(conninfo: &str) -> String {
    if let Some((scheme, rest)) = conninfo.split_once("://") {
        if let Some((userinfo, host)) = rest.split_once('@') {
            if let Some((user, _)) = userinfo.split_once(':') {
                return format!("{scheme}://{user}:********@{host}");
            }
        }
        return conninfo.to_owned();
    }
    let mut out = String::with_capacity(conninfo.len());
    let mut rest = conninfo;
    while let Some(at) = rest.find("password") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let after_key = from["password".len()..].trim_start();
        let at_word_start = before.is_empty() || before.ends_with(char::is_whitespace);
        let Some(value) = after_key.strip_prefix('=').filter(|_| at_word_start) else {
            out.push_str("password");
            rest = &from["password".len()..];
            continue;
        };
        out.push_str("password=********");
        let value = value.trim_start();
        rest = match value.strip_prefix('\'') {
            // Up to the closing quote; a backslash escapes the next char.
            Some(quoted) => {
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((k, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '\'' => {
                            end = k + 1;
                            break;
                        }
                        _ => {}
                    }
                }
                &quoted[end..]
            }
            None => value.find(char::is_whitespace).map_or("", |k| &value[k..]),
        };
    }
    out.push_str(rest);
    out
}

fn show_help() -> Table {
    let rows: Vec<Vec<String>> = COMMANDS
        .iter()
        .map(|(command, what)| vec![command.to_string(), what.to_string()])
        .collect();
    Table {
        columns: &["command", "shows"],
        integers: &[],
        rows,
    }
}

fn show_clients(pools: &Pools) -> Table {
    let rows: Vec<Vec<String>> = pools
        .clients
        .snapshot()
        .iter()
        .map(|c| {
            let server = c.server();
            vec![
                c.database.clone(),
                c.user.clone(),
                c.state().name().into(),
                c.addr.map(|a| a.ip().to_string()).unwrap_or_default(),
                c.addr.map(|a| a.port().to_string()).unwrap_or_default(),
                utc_timestamp(c.connected),
                c.application_name.clone(),
                c.key_pid.to_string(),
                server.as_ref().map(|s| s.pool.label()).unwrap_or_default(),
                server
                    .as_ref()
                    .map(|s| s.pid.to_string())
                    .unwrap_or_default(),
                if c.pinned() { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    Table {
        columns: &[
            "database",
            "user",
            "state",
            "addr",
            "port",
            "connect_time",
            "application_name",
            "pid",
            "backend",
            "server_pid",
            "pinned",
        ],
        integers: &["port", "pid", "server_pid"],
        rows,
    }
}

fn show_servers(pools: &Pools) -> Table {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for c in pools.clients.snapshot() {
        let Some(s) = c.server() else { continue };
        rows.push(vec![
            s.pool.database.clone(),
            s.pool.user.clone(),
            s.pool.label(),
            "active".into(),
            s.pid.to_string(),
            c.addr.map(|a| a.ip().to_string()).unwrap_or_default(),
            c.addr.map(|a| a.port().to_string()).unwrap_or_default(),
            c.key_pid.to_string(),
        ]);
    }
    for p in pools.all() {
        let idle = p.idle_pids().into_iter().map(|pid| ("idle", pid));
        // The pool's checker connection, outside its bound (shown when
        // not in use at this instant).
        let checker = p.checker_pid().map(|pid| ("checker", pid));
        for (state, pid) in idle.chain(checker) {
            rows.push(vec![
                p.database.clone(),
                p.user.clone(),
                p.label(),
                state.into(),
                pid.to_string(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
    }
    rows.sort();
    Table {
        columns: &[
            "database",
            "user",
            "backend",
            "state",
            "pid",
            "client_addr",
            "client_port",
            "client_pid",
        ],
        integers: &["pid", "client_pid", "client_port"],
        rows,
    }
}

/// RowDescription: every column `text`, in the given result formats
/// (none: all text; one: all in it; else one per column).
/// The result format of column `i` under Bind's result `formats`.
fn format_of(formats: &[i16], i: usize) -> i16 {
    match formats {
        [] => 0,
        [one] => *one,
        many => many.get(i).copied().unwrap_or(0),
    }
}

fn put_row_description(out: &mut BytesMut, table: &Table, formats: &[i16]) {
    let at = out.len();
    out.put_u8(b'T');
    out.put_u32(0);
    out.put_u16(table.columns.len() as u16);
    for (i, c) in table.columns.iter().enumerate() {
        out.put_slice(c.as_bytes());
        out.put_u8(0);
        out.put_u32(0);
        out.put_i16(0);
        if table.is_integer(i) {
            out.put_u32(20);
            out.put_i16(8);
        } else {
            out.put_u32(25);
            out.put_i16(-1);
        }
        out.put_i32(-1);
        out.put_i16(format_of(formats, i));
    }
    patch_len(out, at);
}

/// The DataRows (in the result `formats`) and CommandComplete of `table`.
fn put_rows(out: &mut BytesMut, table: &Table, formats: &[i16]) {
    for row in &table.rows {
        let at = out.len();
        out.put_u8(b'D');
        out.put_u32(0);
        out.put_u16(row.len() as u16);
        for (i, v) in row.iter().enumerate() {
            if !table.is_integer(i) {
                out.put_u32(v.len() as u32);
                out.put_slice(v.as_bytes());
                continue;
            }
            match v.parse::<i64>() {
                Err(_) => out.put_i32(-1),
                Ok(n) if format_of(formats, i) == 1 => {
                    out.put_u32(8);
                    out.put_i64(n);
                }
                Ok(_) => {
                    out.put_u32(v.len() as u32);
                    out.put_slice(v.as_bytes());
                }
            }
        }
        patch_len(out, at);
    }
    put_command_complete(out, &format!("SELECT {}", table.rows.len()));
}

fn patch_len(out: &mut BytesMut, at: usize) {
    let len = (out.len() - at - 1) as u32;
    out[at + 1..at + 5].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pools() -> Pools {
        let config = super::super::config::ProxyConfig::new(([127, 0, 0, 1], 0).into(), "host=x");
        Pools::new(Arc::new(config))
    }

    fn frame(tag: u8, parts: &[&[u8]]) -> (u8, Vec<u8>) {
        (tag, parts.concat())
    }

    /// The message tags of the console's answers to `frames`.
    fn tags(frames: &[(u8, Vec<u8>)]) -> String {
        let pools = pools();
        let mut console = Console::default();
        let mut out = BytesMut::new();
        for (tag, body) in frames {
            console.handle(*tag, body, &pools, &mut out);
        }
        let mut tags = String::new();
        while let Ok(Some(f)) = peek_frame(&out, 1 << 20) {
            tags.push(f.tag as char);
            out.advance(f.len);
        }
        tags
    }

    #[test]
    fn the_extended_protocol_gets_the_same_results() {
        let parse = frame(b'P', &[b"s1\0SHOW HELP\0\0\0"]);
        let bind = frame(b'B', &[b"\0s1\0\0\0\0\0\0\x01\0\x01"]);
        let describe_statement = frame(b'D', &[b"Ss1\0"]);
        let describe_portal = frame(b'D', &[b"P\0"]);
        let execute = frame(b'E', &[b"\0\0\0\0\0"]);
        let sync = frame(b'S', &[]);
        assert_eq!(
            tags(&[
                parse,
                describe_statement,
                bind.clone(),
                describe_portal,
                execute.clone(),
                sync.clone()
            ]),
            format!("1tT2T{}CZ", "D".repeat(COMMANDS.len()))
        );
        // An unknown command fails at Parse; the rest up to Sync is
        // skipped, and the next cycle works.
        let bad = frame(b'P', &[b"s1\0SHOW NOTHING\0\0\0"]);
        let again = frame(b'P', &[b"\0show  stats ;\0\0\0"]);
        let unnamed = frame(b'B', &[b"\0\0\0\0\0\0\0\0"]);
        assert_eq!(
            tags(&[
                bad,
                bind.clone(),
                execute.clone(),
                sync.clone(),
                again,
                unnamed,
                execute.clone(),
                sync.clone()
            ]),
            "EZ12CZ"
        );
        // A parameter is refused; an empty query has no data.
        let with_param = frame(b'B', &[b"\0s1\0\0\0\0\x01\0\0\0\x011\0\0"]);
        let empty = frame(b'P', &[b"s1\0\0\0\0"]);
        assert_eq!(
            tags(&[
                frame(b'P', &[b"s1\0SHOW HELP\0\0\0"]),
                with_param,
                sync.clone(),
                empty,
                bind,
                frame(b'D', &[b"P\0"]),
                execute,
                sync
            ]),
            "1EZ12nIZ"
        );
    }

    #[test]
    fn malformed_messages_get_an_error_not_a_panic() {
        let sync = frame(b'S', &[]);
        for bad in [
            frame(b'P', &[b"no terminator"]),
            frame(b'P', &[b"s\0SHOW HELP"]),
            frame(b'B', &[b"\0s1\0"]),
            frame(b'B', &[b"\0\0\xff\xff"]),
            frame(b'D', &[]),
            frame(b'D', &[b"Snope\0"]),
            frame(b'E', &[b"nope\0\0\0\0\0"]),
            frame(b'C', &[]),
            frame(b'F', &[b"\0\0\0\0"]),
        ] {
            assert_eq!(tags(&[bad.clone(), sync.clone()]), "EZ", "{bad:?}");
        }
        // A parameterless Bind of a known statement with a negative count.
        let parse = frame(b'P', &[b"s\0SHOW HELP\0\0\0"]);
        let negative = frame(b'B', &[b"\0s\0\xff\xff"]);
        assert_eq!(tags(&[parse, negative, sync]), "1EZ");
        assert_eq!(tags(&[frame(b'Q', &[b"no terminator"])]), "EZ");
    }

    #[test]
    fn a_simple_query_may_hold_several_commands() {
        let help = format!("T{}C", "D".repeat(COMMANDS.len()));
        assert_eq!(
            tags(&[frame(b'Q', &[b"SHOW HELP; show stats;\0"])]),
            format!("{help}TCZ")
        );
        assert_eq!(tags(&[frame(b'Q', &[b" ; \0"])]), "IZ");
        assert_eq!(
            tags(&[frame(b'Q', &[b"SHOW HELP; DROP TABLE x\0"])]),
            "EZ",
            "checked whole before anything runs"
        );
    }

    #[test]
    fn config_shows_no_password() {
        assert_eq!(
            without_password("host=a port=5 password=s3cret user=x"),
            "host=a port=5 password=******** user=x"
        );
        assert_eq!(
            without_password("password = 'a b\\' c' host=a"),
            "password=******** host=a"
        );
        assert_eq!(
            without_password("postgresql://u:s3cret@h:5/db?sslmode=disable"),
            "postgresql://u:********@h:5/db?sslmode=disable"
        );
        assert_eq!(
            without_password("host=a mypassword_file=x"),
            "host=a mypassword_file=x"
        );
        let mut config = super::super::config::ProxyConfig::new(
            ([127, 0, 0, 1], 0).into(),
            "host=h password=pw",
        )
        .user("alice", "alice-secret");
        config.replicas.push("host=r password=pw2".into());
        let pools = Pools::new(Arc::new(config));
        let table = show_config(&pools);
        let text = format!("{:?}", table.rows);
        assert!(!text.contains("pw") && !text.contains("secret"), "{text}");
        assert!(text.contains("alice") && text.contains("host=r"), "{text}");
    }

    #[test]
    fn pause_and_resume() {
        let pools = pools();
        let mut out = BytesMut::new();
        let mut plain = Console::default();
        for command in [
            &b"PAUSE\0"[..],
            b"RESUME\0",
            b"RECONNECT\0",
            b"RELOAD\0",
            b"KILL db\0",
        ] {
            out.clear();
            assert_eq!(plain.handle(b'Q', command, &pools, &mut out), None);
            assert!(out.starts_with(b"E"), "not an admin user");
            assert!(std::str::from_utf8(&out).unwrap().contains("42501"));
        }
        assert!(!pools.pause.is_paused());
        let mut console = Console {
            may_control: true,
            ..Console::default()
        };
        let mut out = BytesMut::new();
        let mut run = |sql: &[u8], out: &mut BytesMut| {
            out.clear();
            console.handle(b'Q', &[sql, b"\0"].concat(), &pools, out)
        };
        assert_eq!(run(b"RESUME", &mut out), None);
        assert!(out.starts_with(b"E"), "not paused");
        assert_eq!(run(b"RELOAD", &mut out), None);
        assert!(out.starts_with(b"C"), "RELOAD with no users file: {out:?}");
        assert_eq!(run(b"PAUSE; SHOW POOLS", &mut out), None);
        assert!(out.starts_with(b"E"), "PAUSE must come alone");
        assert!(!pools.pause.is_paused());
        assert_eq!(
            run(b"pause;", &mut out),
            Some(Pausing {
                extended: false,
                database: None
            })
        );
        assert!(out.is_empty(), "completed by the caller");
        assert!(pools.pause.is_paused());
        assert_eq!(run(b"PAUSE", &mut out), None);
        assert!(out.starts_with(b"E"), "already paused");
        assert_eq!(run(b"RESUME", &mut out), None);
        assert_eq!(&out[..], b"C\0\0\0\x0bRESUME\0Z\0\0\0\x05I");
        assert!(!pools.pause.is_paused());
    }
}
