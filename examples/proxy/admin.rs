//! The admin console: database `pgwire` (configurable) answers `SHOW
//! POOLS` and `SHOW STATS` with the pools' counters, `SHOW CLIENTS` and
//! `SHOW SERVERS` with a line per client and per backend connection, and
//! `SHOW HELP`, as poolers do.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::{Buf, BufMut, BytesMut};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::messages::{Message, ParameterStatus};
use pgwire::server::peek_frame;

use super::clients::utc_timestamp;
use super::pool::Pools;
use super::session::{Front, put_command_complete};

/// Serves the admin console to one client.
pub async fn run(mut front: Front, pools: Arc<Pools>) {
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
    loop {
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
            match f.tag {
                b'X' => return,
                b'Q' => {
                    let sql = String::from_utf8_lossy(body.strip_suffix(b"\0").unwrap_or(&body))
                        .trim()
                        .trim_end_matches(';')
                        .trim()
                        .to_ascii_uppercase();
                    match sql.split_whitespace().collect::<Vec<_>>()[..] {
                        ["SHOW", "POOLS"] => show_pools(out, &pools),
                        ["SHOW", "STATS"] => show_stats(out, &pools),
                        ["SHOW", "CLIENTS"] => show_clients(out, &pools),
                        ["SHOW", "SERVERS"] => show_servers(out, &pools),
                        ["SHOW", "HELP"] => show_help(out),
                        [] => out.put_slice(b"I\0\0\0\x04"),
                        _ => ErrorInfo::new(
                            SqlState::FEATURE_NOT_SUPPORTED,
                            "unknown admin command: SHOW HELP lists the commands",
                        )
                        .encode_error(out),
                    }
                    out.put_slice(b"Z\0\0\0\x05I");
                }
                b'S' => {
                    ErrorInfo::new(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        "the admin console answers simple queries only",
                    )
                    .encode_error(out);
                    out.put_slice(b"Z\0\0\0\x05I");
                }
                _ => {}
            }
        }
        if front.flush().await.is_err() {
            return;
        }
        match front.fill().await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

fn show_pools(out: &mut BytesMut, pools: &Pools) {
    let rows: Vec<Vec<String>> = pools
        .all()
        .iter()
        .map(|p| {
            let s = &p.stats;
            vec![
                p.database.clone(),
                p.user.clone(),
                p.label(),
                if p.replica { "standby" } else { "primary" }.into(),
                if pools.targets[p.target].is_down() {
                    "down"
                } else {
                    "up"
                }
                .into(),
                pools.config.pool_mode.name().into(),
                p.size.to_string(),
                s.clients.load(Ordering::Relaxed).to_string(),
                s.waiting.load(Ordering::Relaxed).to_string(),
                s.active.load(Ordering::Relaxed).to_string(),
                p.idle_count().to_string(),
                s.open.load(Ordering::Relaxed).to_string(),
            ]
        })
        .collect();
    put_result(
        out,
        &[
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
        ],
        &rows,
    );
}

fn show_stats(out: &mut BytesMut, pools: &Pools) {
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
    put_result(
        out,
        &[
            "database",
            "user",
            "backend",
            "total_xact_count",
            "total_query_count",
            "total_waits",
            "total_wait_time_us",
            "total_wait_timeouts",
            "total_server_connects",
            "total_server_broken",
        ],
        &rows,
    );
}

/// The commands, with what each shows.
const COMMANDS: [(&str, &str); 5] = [
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
        "one line per backend connection: active (and the client holding it) or idle",
    ),
    ("SHOW HELP", "this list"),
];

fn show_help(out: &mut BytesMut) {
    let rows: Vec<Vec<String>> = COMMANDS
        .iter()
        .map(|(command, what)| vec![command.to_string(), what.to_string()])
        .collect();
    put_result(out, &["command", "shows"], &rows);
}

fn show_clients(out: &mut BytesMut, pools: &Pools) {
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
    put_result(
        out,
        &[
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
        &rows,
    );
}

fn show_servers(out: &mut BytesMut, pools: &Pools) {
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
        for pid in p.idle_pids() {
            rows.push(vec![
                p.database.clone(),
                p.user.clone(),
                p.label(),
                "idle".into(),
                pid.to_string(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
    }
    rows.sort();
    put_result(
        out,
        &[
            "database",
            "user",
            "backend",
            "state",
            "pid",
            "client_addr",
            "client_port",
            "client_pid",
        ],
        &rows,
    );
}

/// A text result: RowDescription (all `text`), DataRows, CommandComplete.
fn put_result(out: &mut BytesMut, columns: &[&str], rows: &[Vec<String>]) {
    let at = out.len();
    out.put_u8(b'T');
    out.put_u32(0);
    out.put_u16(columns.len() as u16);
    for c in columns {
        out.put_slice(c.as_bytes());
        out.put_u8(0);
        out.put_u32(0);
        out.put_i16(0);
        out.put_u32(25);
        out.put_i16(-1);
        out.put_i32(-1);
        out.put_i16(0);
    }
    patch_len(out, at);
    for row in rows {
        let at = out.len();
        out.put_u8(b'D');
        out.put_u32(0);
        out.put_u16(row.len() as u16);
        for v in row {
            out.put_u32(v.len() as u32);
            out.put_slice(v.as_bytes());
        }
        patch_len(out, at);
    }
    put_command_complete(out, &format!("SELECT {}", rows.len()));
}

fn patch_len(out: &mut BytesMut, at: usize) {
    let len = (out.len() - at - 1) as u32;
    out[at + 1..at + 5].copy_from_slice(&len.to_be_bytes());
}
