//! The health probe: each backend is tried with a fresh connection every
//! `--health-interval`, whether or not clients are connected, so that a
//! standby that goes down leaves the rotation within one interval and
//! comes back within one interval of accepting connections again. Dead
//! idle connections are dropped on the way, so `SHOW POOLS` counts only
//! live ones. With `--max-replica-lag`, the probe of a standby also reads
//! its replay lag, and a standby that lags more leaves the rotation until
//! it catches up.

use std::sync::Arc;
use std::time::Duration;

use super::pool::{Pools, server_unavailable};

/// Starts one probe task per backend; they end with the runtime.
pub fn spawn(pools: &Arc<Pools>) {
    let interval = pools.config.health_interval;
    if interval.is_zero() {
        return;
    }
    for target in 0..pools.targets.len() {
        let pools = pools.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                probe(&pools, target, interval).await;
            }
        });
    }
}

/// One probe of backend `target`, with the settings of one of its pools
/// (the backends are reached as the users clients come as: until a client
/// has asked for this backend there is nothing to probe with).
async fn probe(pools: &Pools, target: usize, interval: Duration) {
    let of_target = pools.pools_of_target(target);
    let Some(pool) = of_target.first() else {
        return;
    };
    for p in &of_target {
        p.drop_dead_idle();
    }
    // A backend that accepts TCP but does not answer must not hold the
    // probe past a few intervals.
    let limit = (interval * 3).clamp(Duration::from_secs(1), Duration::from_secs(10));
    let result = tokio::time::timeout(limit, pgwire::client::Client::connect(pool.config())).await;
    let t = &pools.targets[target];
    match result {
        Ok(Ok(mut client)) => {
            let max_lag = pools.config.max_replica_lag;
            if t.replica && !max_lag.is_zero() {
                match tokio::time::timeout(limit, replay_lag(&mut client)).await {
                    Ok(Ok(lag)) => t.set_lag(target, lag, max_lag),
                    Ok(Err(e)) => tracing::info!(target, "replay lag not read: {e}"),
                    Err(_) => tracing::info!(target, "replay lag not read in time"),
                }
            }
            drop(client);
            t.mark_up(target);
        }
        // A refusal of the probe's database or user is an answer: the
        // server is up (the probe uses whichever pool it finds first).
        Ok(Err(e)) if !server_unavailable(&e) => t.mark_up(target),
        Ok(Err(e)) => t.mark_down(target, &e.to_string()),
        Err(_) => t.mark_down(target, "no answer to the health probe"),
    }
}

/// How far a standby's data is behind: zero when it has replayed all the
/// WAL it received (or is not in recovery), else the age of the last
/// transaction it replayed.
async fn replay_lag(
    client: &mut pgwire::client::Client,
) -> Result<Duration, pgwire::client::Error> {
    let results = client
        .simple_query(
            "SELECT CASE WHEN NOT pg_is_in_recovery() \
                OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 \
                ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END",
        )
        .await?;
    let seconds = results
        .first()
        .and_then(|r| r.rows.first())
        .and_then(|row| row.get_text(0).ok().flatten())
        .and_then(|text| text.parse::<f64>().ok())
        .filter(|s| s.is_finite())
        .unwrap_or(0.0);
    Ok(Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX))
}
