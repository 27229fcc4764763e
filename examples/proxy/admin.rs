//! The admin console: database `pgwire` (configurable) answers
//! `SHOW POOLS` and `SHOW STATS` with the pools' counters, as poolers do.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::{Buf, BufMut, BytesMut};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::messages::{Message, ParameterStatus};
use pgwire::server::peek_frame;

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
                    match sql.as_str() {
                        "SHOW POOLS" => show_pools(out, &pools),
                        "SHOW STATS" => show_stats(out, &pools),
                        _ => ErrorInfo::new(
                            SqlState::FEATURE_NOT_SUPPORTED,
                            "the admin console knows SHOW POOLS and SHOW STATS",
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
