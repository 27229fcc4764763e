//! The client fuzz target: `data` is everything a server says. The client
//! connects over an in-memory pipe, authenticates (any method the bytes
//! ask for) and runs a few requests; every outcome must be `Ok` or a typed
//! `Err`, never a panic or a hang (the whole run is bounded by the input's
//! length: once the bytes are used up the pipe closes).
#![allow(dead_code)]

use pgwire::client::{Client, Config, Format};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What one run reached, so a corpus replay can check the inputs do more
/// than fail at the first byte.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientRun {
    pub connected: bool,
    pub rows: usize,
}

pub fn client_target(data: &[u8]) -> ClientRun {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(data.to_vec()))
}

async fn run(data: Vec<u8>) -> ClientRun {
    let (client_side, mut server_side) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let _ = server_side.write_all(&data).await;
        let _ = server_side.shutdown().await;
        // Swallow what the client writes until it hangs up.
        let mut sink = [0u8; 4096];
        while let Ok(n) = server_side.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    });
    let mut config = Config::parse("user=fuzz dbname=fuzz password=pw").expect("config");
    config.oauth_token = Some("token".into());
    let mut out = ClientRun::default();
    if let Ok(mut c) = Client::connect_stream(client_side, &config).await {
        out.connected = true;
        if let Ok(results) = c.simple_query("SELECT 1").await {
            out.rows += results.iter().map(|r| r.rows.len()).sum::<usize>();
        }
        if let Ok(st) = c.prepare("SELECT $1::int4").await {
            if let Ok(rows) = c.query(&st, &[]).await {
                out.rows += rows.len();
                for r in &rows {
                    for i in 0..r.len() {
                        let _ = r.get_raw(i);
                        let _ = r.try_get::<i32>(i);
                        let _ = r.try_get::<String>(i);
                    }
                }
            }
        }
        if let Ok(r) = c.query_unprepared("SELECT 2", Format::Text).await {
            out.rows += r.rows.len();
        }
        let _ = c.close().await;
    }
    server.abort();
    out
}
