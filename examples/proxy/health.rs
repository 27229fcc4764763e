//! The health probe: each backend is tried with a fresh connection every
//! `--health-interval`, whether or not clients are connected, so that a
//! standby that goes down leaves the rotation within one interval and
//! comes back within one interval of accepting connections again. Dead
//! idle connections are dropped on the way, so `SHOW POOLS` counts only
//! live ones. With `--max-replica-lag`, the probe of a standby also reads
//! how stale its data may be, and a standby that lags more leaves the
//! rotation until it catches up.

use std::sync::Arc;
use std::time::{Duration, Instant};

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
            let mut stream_lost_at = None;
            loop {
                tick.tick().await;
                probe(&pools, target, interval, &mut stream_lost_at).await;
            }
        });
    }
}

/// One probe of backend `target`, with the settings of one of its pools
/// (the backends are reached as the users clients come as: until a client
/// has asked for this backend there is nothing to probe with).
/// `stream_lost_at` is when a probe first found this standby without a
/// WAL stream from its primary (kept across probes).
async fn probe(
    pools: &Pools,
    target: usize,
    interval: Duration,
    stream_lost_at: &mut Option<Instant>,
) {
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
    let result = tokio::time::timeout(
        limit,
        pgwire::client::Client::connect(&pool.connect_config()),
    )
    .await;
    let t = &pools.targets[target];
    match result {
        Ok(Ok(mut client)) => {
            let max_lag = pools.config.max_replica_lag;
            if t.replica && !max_lag.is_zero() {
                match tokio::time::timeout(limit, replay_state(&mut client)).await {
                    Ok(Ok(state)) => {
                        if state.streaming || !state.in_recovery {
                            *stream_lost_at = None;
                        } else if stream_lost_at.is_none() {
                            tracing::warn!(target, "standby has no WAL stream from its primary");
                            *stream_lost_at = Some(Instant::now());
                        }
                        let lost_for = stream_lost_at.map(|at| at.elapsed());
                        t.set_lag(target, state.staleness(lost_for), max_lag)
                    }
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

/// What the probe reads from a standby to judge how stale its data may be.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ReplayState {
    /// `pg_is_in_recovery()`: false once promoted.
    in_recovery: bool,
    /// All the WAL received has been replayed.
    replayed_all_received: bool,
    /// The age of the last transaction replayed, if any was.
    last_replay_age: Option<Duration>,
    /// A WAL receiver is connected to the primary (a row in
    /// `pg_stat_wal_receiver`, streaming where the probe's user may see
    /// its status).
    streaming: bool,
}

impl ReplayState {
    /// How far behind the primary the standby's data may be. Replay behind
    /// what was received: the age of the last transaction replayed. All
    /// received replayed while streaming: zero. Without a stream the
    /// standby cannot know what it is missing, so its data counts as
    /// stale by at least `lost_for`, how long it has been without one
    /// (its replay position stands still however much the primary
    /// writes, so the first test alone would call it current forever).
    fn staleness(self, lost_for: Option<Duration>) -> Duration {
        if !self.in_recovery {
            return Duration::ZERO;
        }
        let behind = if self.replayed_all_received {
            Duration::ZERO
        } else {
            self.last_replay_age.unwrap_or(Duration::ZERO)
        };
        if self.streaming {
            behind
        } else {
            behind.max(lost_for.unwrap_or(Duration::ZERO))
        }
    }
}

/// Reads a standby's [`ReplayState`]. `pg_stat_wal_receiver` has a row
/// only while its WAL receiver is connected; a user without
/// `pg_read_all_stats` sees the row with a null `status`.
async fn replay_state(
    client: &mut pgwire::client::Client,
) -> Result<ReplayState, pgwire::client::Error> {
    let results = client
        .simple_query(
            "SELECT pg_is_in_recovery(), \
                pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn(), \
                EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), \
                EXISTS (SELECT 1 FROM pg_stat_wal_receiver \
                    WHERE status IS NULL OR status = 'streaming')",
        )
        .await?;
    let row = results.first().and_then(|r| r.rows.first());
    let text = |i: usize| row.and_then(|row| row.get_text(i).ok().flatten());
    let flag = |i: usize| text(i) == Some("t");
    let last_replay_age = text(2)
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|s| s.is_finite())
        .map(|s| Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX));
    Ok(ReplayState {
        in_recovery: flag(0),
        replayed_all_received: flag(1),
        last_replay_age,
        streaming: flag(3),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standby(replayed_all_received: bool, streaming: bool) -> ReplayState {
        ReplayState {
            in_recovery: true,
            replayed_all_received,
            last_replay_age: Some(Duration::from_secs(30)),
            streaming,
        }
    }

    #[test]
    fn a_streaming_standby_is_behind_only_by_what_it_has_not_replayed() {
        assert_eq!(standby(true, true).staleness(None), Duration::ZERO);
        assert_eq!(
            standby(false, true).staleness(None),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn a_standby_without_a_stream_ages_from_when_it_lost_it() {
        let lost = Some(Duration::from_secs(5));
        assert_eq!(standby(true, false).staleness(lost), Duration::from_secs(5));
        assert_eq!(
            standby(true, false).staleness(Some(Duration::from_secs(50))),
            Duration::from_secs(50)
        );
        assert_eq!(
            standby(false, false).staleness(lost),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn a_promoted_standby_is_current() {
        let promoted = ReplayState {
            in_recovery: false,
            ..standby(false, false)
        };
        assert_eq!(
            promoted.staleness(Some(Duration::from_secs(9))),
            Duration::ZERO
        );
    }
}
