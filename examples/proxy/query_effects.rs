//! What a client's query may do to the session it runs in, read from its
//! text without parsing SQL: the proxy needs to know when a backend
//! connection's session state is no longer the plain one it hands out.
//!
//! The checks err on the side of "changed": a word in a string literal or
//! a comment counts too. A false alarm costs a `DISCARD ALL` (session
//! pooling) or keeps a client on its connection (transaction pooling);
//! a miss would leak one client's session state to the next.

use super::settings;

/// What a query's text says about the session, from one pass over it.
#[derive(Debug, Default, PartialEq)]
pub struct QueryEffects {
    /// `DISCARD`, `DEALLOCATE` and `RESET` appear (anywhere,
    /// case-insensitively; a mention in a literal counts too, which only
    /// costs a re-Parse later).
    pub discard: bool,
    pub deallocate: bool,
    pub reset: bool,
    /// See [`leaves_session_state`].
    pub session_state: bool,
}

impl QueryEffects {
    /// Every simple Query goes through this, so it reads eight bytes at a
    /// time and looks closer only where one of the bytes that start what
    /// it looks for is: `d`, `r` (either case), `;` (the next statement's
    /// first words) and `_` (the session functions).
    pub fn of(sql: &[u8]) -> QueryEffects {
        let mut effects = QueryEffects {
            session_state: statement_leaves_state(sql),
            ..QueryEffects::default()
        };
        let mut look = |i: usize| {
            let rest = &sql[i..];
            let starts =
                |w: &[u8]| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w);
            match rest[0] {
                b';' => effects.session_state |= statement_leaves_state(&rest[1..]),
                b'_' => effects.session_state |= session_function_at(sql, i),
                b'd' | b'D' => {
                    effects.discard |= starts(b"discard");
                    effects.deallocate |= starts(b"deallocate");
                }
                b'r' | b'R' => effects.reset |= starts(b"reset"),
                // A byte flagged beside a real one (see `zero_bytes`).
                _ => {}
            }
        };
        let mut chunks = sql.chunks_exact(8);
        let mut at = 0;
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            let lower = word | (ONES * 0x20);
            let mut flagged = zero_bytes(lower ^ (ONES * u64::from(b'd')))
                | zero_bytes(lower ^ (ONES * u64::from(b'r')))
                | zero_bytes(word ^ (ONES * u64::from(b';')))
                | zero_bytes(word ^ (ONES * u64::from(b'_')));
            while flagged != 0 {
                look(at + flagged.trailing_zeros() as usize / 8);
                flagged &= flagged - 1;
            }
            at += 8;
        }
        for (k, c) in chunks.remainder().iter().enumerate() {
            if matches!(c | 0x20, b'd' | b'r') || *c == b';' || *c == b'_' {
                look(at + k);
            }
        }
        effects
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each zero byte of `v` set (subtracting one from every
/// byte borrows through a zero byte), and perhaps of a byte above a zero
/// byte (a borrow carried on): exact about whether there is one, and
/// about the lowest.
fn zero_bytes(v: u64) -> u64 {
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// Whether `needle` appears in `haystack`, ignoring ASCII case.
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
    sql.split(|c| *c == b';').any(not_harmless) || QueryEffects::of(sql).session_state
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
    QueryEffects::of(sql).session_state
}

fn statement_leaves_state(statement: &[u8]) -> bool {
    let rest = skip_blanks_and_comments(statement);
    let length = rest
        .iter()
        .position(|c| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    // Most statements are passed on their first word's length: only SET,
    // LOAD, LISTEN, CREATE, PREPARE and DECLARE are looked at further.
    if !matches!(length, 3 | 4 | 6 | 7) {
        return false;
    }
    let first = &rest[..length];
    let mut words = rest[length..]
        .split(|c| c.is_ascii_whitespace() || *c == b'(')
        .filter(|w| !w.is_empty());
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

/// The database a `DROP DATABASE` statement drops (the name as
/// PostgreSQL reads it: folded to lower case unless quoted), if `sql`
/// is one.
pub fn dropped_database(sql: &[u8]) -> Option<String> {
    let mut rest = skip_blanks_and_comments(sql);
    let mut keyword = |word: &str| {
        let found = rest.len() > word.len()
            && rest[..word.len()].eq_ignore_ascii_case(word.as_bytes())
            && !rest[word.len()].is_ascii_alphanumeric()
            && rest[word.len()] != b'_';
        if found {
            rest = skip_blanks_and_comments(&rest[word.len()..]);
        }
        found
    };
    if !(keyword("drop") && keyword("database")) {
        return None;
    }
    if keyword("if") && !keyword("exists") {
        return None;
    }
    let name = if let Some(quoted) = rest.strip_prefix(b"\"") {
        // "" inside quotes is one ".
        let mut name = Vec::new();
        let mut bytes = quoted.iter();
        loop {
            match (bytes.next()?, bytes.as_slice().first()) {
                (b'"', Some(b'"')) => {
                    name.push(b'"');
                    bytes.next();
                }
                (b'"', _) => break,
                (c, _) => name.push(*c),
            }
        }
        name
    } else {
        let end = rest
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$' || *c >= 0x80))
            .unwrap_or(rest.len());
        rest[..end].to_ascii_lowercase()
    };
    String::from_utf8(name).ok().filter(|n| !n.is_empty())
}

/// `sql` from its first byte that is not white space, `(` or in a comment.
fn skip_blanks_and_comments(mut sql: &[u8]) -> &[u8] {
    loop {
        match sql {
            [c, rest @ ..] if c.is_ascii_whitespace() || *c == b'(' => sql = rest,
            [b'-', b'-', rest @ ..] => {
                let end = rest
                    .iter()
                    .position(|c| *c == b'\n')
                    .map_or(rest.len(), |i| i + 1);
                sql = &rest[end..];
            }
            [b'/', b'*', rest @ ..] => {
                // Nesting is not followed: the scan may stop inside a
                // nested comment and read the rest as SQL (a false alarm
                // at worst), but never skips SQL.
                let end = rest
                    .windows(2)
                    .position(|w| w == b"*/")
                    .map_or(rest.len(), |i| i + 2);
                sql = &rest[end..];
            }
            _ => return sql,
        }
    }
}

/// Whether the `_` at `i` is in a call with a session-wide effect, or
/// names an object in the session's own temporary schema.
fn session_function_at(sql: &[u8], i: usize) -> bool {
    // (the name's offset from its first `_`, the name)
    const NAMES: [(usize, &[u8]); 4] = [
        (3, b"set_config"),
        (2, b"pg_advisory_lock"),
        (2, b"pg_try_advisory_lock"),
        (2, b"pg_temp"),
    ];
    // Each name's letter before its first `_` (`t`, `g`) first.
    let before = i.checked_sub(1).map(|j| sql[j] | 0x20);
    matches!(before, Some(b't' | b'g'))
        && NAMES.iter().any(|(back, name)| {
            i >= *back
                && sql[i - back..].len() >= name.len()
                && sql[i - back..i - back + name.len()].eq_ignore_ascii_case(name)
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
            QueryEffects::of(b"SELECT abalance FROM t WHERE aid = 1"),
            QueryEffects::default()
        );
        let w = QueryEffects::of(b"select 1; Discard ALL");
        assert!(w.discard && !w.deallocate && !w.reset);
        let w = QueryEffects::of(b"DEALLOCATE s1");
        assert!(!w.discard && w.deallocate && !w.reset);
        let w = QueryEffects::of(b"reset all");
        assert!(!w.discard && !w.deallocate && w.reset);
        // Words cut by the end of the query do not count.
        assert_eq!(QueryEffects::of(b"SELECT disc"), QueryEffects::default());
    }

    #[test]
    fn dropped_databases() {
        for (sql, name) in [
            ("DROP DATABASE zz_new;", Some("zz_new")),
            ("drop database if exists App", Some("app")),
            ("DROP DATABASE \"My \"\"Db\" WITH (FORCE)", Some("My \"Db")),
            ("/* x */ DROP  DATABASE\n\td1", Some("d1")),
            ("DROP TABLE t", None),
            ("DROP DATABASES x", None),
            ("DROP DATABASE IF x", None),
            ("SELECT 'DROP DATABASE x'", None),
        ] {
            assert_eq!(dropped_database(sql.as_bytes()).as_deref(), name, "{sql}");
        }
    }

    #[test]
    fn every_position_is_seen() {
        // In the eight-byte steps and in the tail, at every offset.
        type Found = fn(&QueryEffects) -> bool;
        let cases: [(&[u8], Found); 4] = [
            (b" DeAllocate x", |e| e.deallocate),
            (b"RESET", |e| e.reset),
            (b";SET search_path = x", |e| e.session_state),
            (b"(pg_try_advisory_lock(1))", |e| e.session_state),
        ];
        for pad in 0..20 {
            for (text, found) in cases {
                let mut sql = vec![b'x'; pad];
                sql.extend_from_slice(text);
                assert!(found(&QueryEffects::of(&sql)), "{sql:?}");
            }
        }
        // Every zero byte is flagged, whatever the bytes around it.
        for b in 0..=u8::MAX {
            for z in 0..8 {
                let word = (0..8).fold(0u64, |w, k| {
                    let byte = if k == z { 0 } else { b.wrapping_add(k as u8) };
                    w | (u64::from(byte) << (8 * k))
                });
                assert_ne!(zero_bytes(word) & (0x80 << (8 * z)), 0, "byte {b} at {z}");
            }
            let word = u64::from_le_bytes([b, 1, 2, 3, 4, 5, 6, 7]);
            assert_eq!(zero_bytes(word) != 0, b == 0, "byte {b}");
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
            "-- restore\n/* settings */ SET search_path = ''",
            "(SET search_path = x)",
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
