//! What a client's query may do to the session it runs in, read from its
//! text without parsing SQL: the proxy needs to know when a backend
//! connection's session state is no longer the plain one it hands out.
//!
//! The checks err on the side of "changed": a word in a string literal or
//! a comment counts too. A false alarm costs a `DISCARD ALL` (session
//! pooling) or keeps a client on its connection (transaction pooling);
//! a miss would leak one client's session state to the next.

use super::settings;

/// Which of the words that drop session state a query mentions
/// anywhere (case-insensitively; a mention in a literal counts too, which
/// only costs a re-Parse later).
#[derive(Debug, Default, PartialEq)]
pub struct ResetWords {
    pub discard: bool,
    pub deallocate: bool,
    pub reset: bool,
}

impl ResetWords {
    /// One pass over `sql` (every simple Query goes through it), eight
    /// bytes at a time: only the positions holding a `d` or an `r` (either
    /// case) are compared further, and most of a query has neither.
    pub fn of(sql: &[u8]) -> ResetWords {
        let mut words = ResetWords::default();
        let mut check = |i: usize| {
            let rest = &sql[i..];
            let starts =
                |w: &[u8]| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w);
            match rest[0] | 0x20 {
                b'd' => {
                    words.discard |= starts(b"discard");
                    words.deallocate |= starts(b"deallocate");
                }
                b'r' => words.reset |= starts(b"reset"),
                _ => {}
            }
        };
        let mut chunks = sql.chunks_exact(8);
        let mut at = 0;
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            if holds_d_or_r(word) {
                for (k, c) in chunk.iter().enumerate() {
                    if matches!(c | 0x20, b'd' | b'r') {
                        check(at + k);
                    }
                }
            }
            at += 8;
        }
        for (k, c) in chunks.remainder().iter().enumerate() {
            if matches!(c | 0x20, b'd' | b'r') {
                check(at + k);
            }
        }
        words
    }
}

/// Whether one of the eight bytes in `word` is `d`, `D`, `r` or `R`.
fn holds_d_or_r(word: u64) -> bool {
    let lower = word | (ONES * 0x20);
    holds(lower, b'd') || holds(lower, b'r')
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// Whether one of the eight bytes in `word` is `byte`, without looking at
/// them one by one: a byte equal to it is a zero byte after the XOR, and
/// subtracting one from every byte borrows through a zero byte only.
fn holds(word: u64, byte: u8) -> bool {
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let v = word ^ (ONES * u64::from(byte));
    v.wrapping_sub(ONES) & !v & HIGHS != 0
}

/// Whether `at` is true for a position of `byte` in `sql` (eight bytes
/// tested at a time; positions in order).
fn any_position_of(sql: &[u8], byte: u8, mut at: impl FnMut(usize) -> bool) -> bool {
    let mut chunks = sql.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        if holds(word, byte) {
            for (k, c) in chunk.iter().enumerate() {
                if *c == byte && at(base + k) {
                    return true;
                }
            }
        }
        base += 8;
    }
    let tail = chunks.remainder();
    (0..tail.len()).any(|k| tail[k] == byte && at(base + k))
}

pub fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Session pooling: whether a query may leave state behind in the session
/// (a setting, a prepared statement, a temporary table, LISTEN...): then
/// the connection gets DISCARD ALL before its next client. Statements that
/// are all plain DML, queries and transaction control do not.
pub fn changes_session(sql: &[u8]) -> bool {
    const HARMLESS: &[&[u8]] = &[
        b"SELECT",
        b"INSERT",
        b"UPDATE",
        b"DELETE",
        b"WITH",
        b"VALUES",
        b"TABLE",
        b"BEGIN",
        b"START",
        b"COMMIT",
        b"END",
        b"ROLLBACK",
        b"ABORT",
        b"COPY",
        b"SHOW",
        b"EXPLAIN",
        b"FETCH",
        b"MOVE",
    ];
    let not_harmless = |statement: &[u8]| {
        let first = statement
            .split(|c| c.is_ascii_whitespace() || *c == b'(')
            .find(|w| !w.is_empty());
        first.is_some_and(|w| !HARMLESS.iter().any(|h| w.eq_ignore_ascii_case(h)))
    };
    sql.split(|c| *c == b';').any(not_harmless) || calls_session_function(sql)
}

/// Transaction pooling: whether a query (a simple Query's text, or a
/// Parse's) may leave session state that outlives its transaction and
/// that the proxy does not restore itself: a `SET` (or `set_config`) of a
/// setting PostgreSQL does not report, a temporary object, an SQL-level
/// prepared statement, a cursor `WITH HOLD`, a session advisory lock,
/// `LOAD`, `LISTEN`. The client then keeps its connection until it leaves
/// (its state stays its own; the next client gets the connection after a
/// `DISCARD ALL`). Transaction-scoped changes (`SET LOCAL`,
/// `SET TRANSACTION`) and the reported settings (`TimeZone`,
/// `application_name`, ... which the proxy restores per client) do not
/// count; neither do DDL and the statements that drop session state.
pub fn leaves_session_state(sql: &[u8]) -> bool {
    sql.split(|c| *c == b';').any(statement_leaves_state) || calls_session_function(sql)
}

fn statement_leaves_state(statement: &[u8]) -> bool {
    let mut words = statement
        .split(|c| c.is_ascii_whitespace() || *c == b'(')
        .filter(|w| !w.is_empty());
    let Some(first) = words.next() else {
        return false;
    };
    let is = |word: &[u8], keyword: &str| word.eq_ignore_ascii_case(keyword.as_bytes());
    if is(first, "set") {
        let mut name = words.next().unwrap_or_default();
        if is(name, "session") {
            // SET SESSION name ...; AUTHORIZATION and CHARACTERISTICS are
            // not settings the proxy follows.
            name = words.next().unwrap_or_default();
        }
        // `SET name=value` written without spaces.
        let name = name.split(|c| *c == b'=').next().unwrap_or_default();
        let transaction_scoped = ["local", "transaction", "constraints"]
            .iter()
            .any(|k| is(name, k));
        // SET NAMES is client_encoding and SET TIME ZONE is TimeZone.
        let followed = ["names", "time"].iter().any(|k| is(name, k))
            || std::str::from_utf8(name)
                .ok()
                .and_then(settings::index_of)
                .is_some();
        return !transaction_scoped && !followed;
    }
    if ["prepare", "load", "listen"].iter().any(|k| is(first, k)) {
        return true;
    }
    if is(first, "declare") {
        return words.any(|w| is(w, "hold"));
    }
    if is(first, "create") {
        // CREATE [GLOBAL | LOCAL] TEMP[ORARY] ..., CREATE OR REPLACE TEMP VIEW
        return words.take(4).any(|w| is(w, "temp") || is(w, "temporary"));
    }
    false
}

/// Calls with a session-wide effect, and objects in the session's own
/// temporary schema. All hold a `_`, the only bytes looked at closely.
fn calls_session_function(sql: &[u8]) -> bool {
    // (the name's offset from its first `_`, the name)
    const NAMES: [(usize, &[u8]); 4] = [
        (3, b"set_config"),
        (2, b"pg_advisory_lock"),
        (2, b"pg_try_advisory_lock"),
        (2, b"pg_temp"),
    ];
    any_position_of(sql, b'_', |i| {
        NAMES.iter().any(|(back, name)| {
            i >= *back
                && sql[i - back..].len() >= name.len()
                && sql[i - back..i - back + name.len()].eq_ignore_ascii_case(name)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_changing_queries() {
        assert!(!changes_session(b"SELECT 1"));
        assert!(!changes_session(b"  begin; update t set x = 1; commit"));
        assert!(changes_session(b"SET search_path = a"));
        assert!(changes_session(b"CREATE TEMP TABLE x (a int)"));
        assert!(changes_session(b"select set_config('a.b', '1', false)"));
        assert!(!changes_session(b""));
        assert!(changes_session(b"select 1; set search_path = a"));
    }

    #[test]
    fn reset_words_are_found_in_one_pass() {
        assert_eq!(
            ResetWords::of(b"SELECT abalance FROM t WHERE aid = 1"),
            ResetWords::default()
        );
        let w = ResetWords::of(b"select 1; Discard ALL");
        assert!(w.discard && !w.deallocate && !w.reset);
        let w = ResetWords::of(b"DEALLOCATE s1");
        assert!(!w.discard && w.deallocate && !w.reset);
        let w = ResetWords::of(b"reset all");
        assert!(!w.discard && !w.deallocate && w.reset);
        // Words cut by the end of the query do not count.
        assert_eq!(ResetWords::of(b"SELECT disc"), ResetWords::default());
        // Every position of the eight-byte steps and of the tail is seen.
        for pad in 0..20 {
            let mut sql = vec![b' '; pad];
            sql.extend_from_slice(b"DeAllocate x");
            assert!(ResetWords::of(&sql).deallocate, "at offset {pad}");
            let mut sql = vec![b'x'; pad];
            sql.extend_from_slice(b"RESET");
            assert!(ResetWords::of(&sql).reset, "at offset {pad}");
        }
        for b in 0..=u8::MAX {
            let flagged = holds_d_or_r((u64::from(b) << 24) | 0x4141_4141_0041_4141);
            assert_eq!(flagged, matches!(b, b'd' | b'D' | b'r' | b'R'), "byte {b}");
        }
    }

    #[test]
    fn byte_positions_are_found_in_steps_and_tail() {
        for len in 0..40 {
            for at in 0..len {
                let mut sql = vec![b'x'; len];
                sql[at] = b'_';
                let mut seen = Vec::new();
                any_position_of(&sql, b'_', |i| {
                    seen.push(i);
                    false
                });
                assert_eq!(seen, [at], "length {len}");
            }
        }
        for b in 0..=u8::MAX {
            let word = (u64::from(b) << 40) | 0x4141_0041_4141_4141;
            assert_eq!(holds(word, b'_'), b == b'_', "byte {b}");
        }
    }

    #[test]
    fn session_state_under_transaction_pooling() {
        for sql in [
            "SET search_path = app",
            "set statement_timeout=1000",
            "SET SESSION work_mem TO '8MB'",
            "SET ROLE admin",
            "SET SESSION AUTHORIZATION bob",
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            "SELECT pg_catalog.set_config('search_path', '', false)",
            "select 1; set search_path to x",
            "CREATE TEMP TABLE t (x int)",
            "create global temporary table t (x int)",
            "CREATE OR REPLACE TEMP VIEW v AS SELECT 1",
            "CREATE TABLE pg_temp.t (x int)",
            "PREPARE q AS SELECT 1",
            "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
            "SELECT pg_advisory_lock(1)",
            "select PG_TRY_ADVISORY_LOCK(1)",
            "LOAD 'auto_explain'",
            "LISTEN ch",
        ] {
            assert!(leaves_session_state(sql.as_bytes()), "{sql}");
        }
        for sql in [
            "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
            "SET LOCAL search_path = app",
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "SET CONSTRAINTS ALL DEFERRED",
            "SET TimeZone = 'UTC'",
            "SET TIME ZONE 'UTC'",
            "set application_name = 'x'",
            "SET NAMES 'UTF8'",
            "SET SESSION DateStyle = ISO",
            "CREATE TABLE t (x int)",
            "DECLARE c CURSOR FOR SELECT 1",
            "RESET ALL; DISCARD ALL; DEALLOCATE ALL; UNLISTEN *",
            "SELECT pg_advisory_xact_lock(1); SELECT pg_advisory_unlock_all()",
            "BEGIN; UPDATE t SET x = 1; COMMIT",
            "",
        ] {
            assert!(!leaves_session_state(sql.as_bytes()), "{sql}");
        }
    }
}
