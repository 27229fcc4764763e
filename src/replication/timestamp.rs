//! PostgreSQL timestamps as replication messages carry them: microseconds
//! since 2000-01-01 00:00:00 UTC (`TimestampTz`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).
const PG_EPOCH_FROM_UNIX_SECS: u64 = 946_684_800;

/// The PostgreSQL epoch, 2000-01-01 00:00:00 UTC.
pub fn pg_epoch() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(PG_EPOCH_FROM_UNIX_SECS)
}

/// `time` as microseconds since the PostgreSQL epoch (negative before it,
/// saturating far outside PostgreSQL's range).
pub fn to_pg_timestamp(time: SystemTime) -> i64 {
    match time.duration_since(pg_epoch()) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_micros())
            .map(|m| -m)
            .unwrap_or(i64::MIN),
    }
}

/// Microseconds since the PostgreSQL epoch as a `SystemTime`.
pub fn from_pg_timestamp(micros: i64) -> SystemTime {
    let offset = Duration::from_micros(micros.unsigned_abs());
    if micros >= 0 {
        pg_epoch()
            .checked_add(offset)
            .unwrap_or_else(|| pg_epoch() + Duration::from_secs(u32::MAX.into()))
    } else {
        pg_epoch().checked_sub(offset).unwrap_or(UNIX_EPOCH)
    }
}

/// Now, as microseconds since the PostgreSQL epoch (what status updates
/// and keepalives carry).
pub fn pg_timestamp_now() -> i64 {
    to_pg_timestamp(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_round_trip() {
        assert_eq!(to_pg_timestamp(pg_epoch()), 0);
        assert_eq!(to_pg_timestamp(UNIX_EPOCH), -946_684_800_000_000);
        let t = from_pg_timestamp(123_456_789);
        assert_eq!(to_pg_timestamp(t), 123_456_789);
        assert_eq!(to_pg_timestamp(from_pg_timestamp(-5)), -5);
        // Never panics at the extremes.
        let _ = from_pg_timestamp(i64::MAX);
        let _ = from_pg_timestamp(i64::MIN);
    }
}
