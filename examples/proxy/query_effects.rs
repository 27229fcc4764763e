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
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct QueryEffects {
    /// `DISCARD`, `DEALLOCATE`, `RESET` and `DATABASE` appear (anywhere,
    /// case-insensitively; a mention in a literal counts too, which only
    /// costs a closer look or a re-Parse later).
    pub discard: bool,
    pub deallocate: bool,
    pub reset: bool,
    pub database: bool,
    /// See [`leaves_session_state`].
    pub session_state: bool,
    /// A `SET` or `set_config` of a setting PostgreSQL does not report:
    /// see [`followed_settings`].
    pub settings: bool,
}

/// What one statement (or call) does to the session.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Effect {
    None,
    /// Sets a setting the proxy can follow (see [`followed_settings`]).
    Settings,
    /// Leaves state the proxy does not follow.
    SessionState,
}

impl QueryEffects {
    /// Every simple Query goes through this, so it reads eight bytes at a
    /// time and looks closer only where one of the bytes that start what
    /// it looks for is: `d`, `r` (either case), `;` (the next statement's
    /// first words) and `_` (the session functions).
    pub fn of(sql: &[u8]) -> QueryEffects {
        let mut effects = QueryEffects::default();
        effects.note(statement_effect(sql));
        let mut look = |i: usize| {
            let rest = &sql[i..];
            let starts =
                |w: &[u8]| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w);
            match rest[0] {
                b';' => effects.note(statement_effect(&rest[1..])),
                b'_' => effects.note(session_function_at(sql, i)),
                b'd' | b'D' => {
                    effects.discard |= starts(b"discard");
                    effects.deallocate |= starts(b"deallocate");
                    effects.database |= starts(b"database");
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

    fn note(&mut self, effect: Effect) {
        match effect {
            Effect::None => {}
            Effect::Settings => self.settings = true,
            Effect::SessionState => self.session_state = true,
        }
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
    find_ci(haystack, needle).is_some()
}

/// Session pooling: whether a query may leave state behind in the session
/// (a setting, a prepared statement, a temporary table, LISTEN...): then
/// the connection gets DISCARD ALL before its next client. Statements that
/// are all plain DML, queries and transaction control do not. `effects`
/// is the query's scan, already made.
pub fn changes_session(sql: &[u8], effects: &QueryEffects) -> bool {
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
    sql.split(|c| *c == b';').any(not_harmless) || effects.session_state || effects.settings
}

/// Transaction pooling: whether a query (a simple Query's text, or a
/// Parse's) may leave session state that outlives its transaction and
/// that the proxy does not restore itself: a temporary object, an
/// SQL-level prepared statement, a cursor `WITH HOLD`, a session advisory
/// lock, `LOAD`, `LISTEN`, `SET ROLE` and `SET SESSION AUTHORIZATION`.
/// The client then keeps its connection until it leaves (its state stays
/// its own; the next client gets the connection after a `DISCARD ALL`).
/// Settings are followed instead (see [`followed_settings`]);
/// transaction-scoped changes (`SET LOCAL`, `SET TRANSACTION`) do not
/// count, and neither do DDL and the statements that drop session state.
pub fn leaves_session_state(sql: &[u8]) -> bool {
    QueryEffects::of(sql).session_state
}

fn statement_effect(statement: &[u8]) -> Effect {
    let rest = skip_blanks_and_comments(statement);
    let length = rest
        .iter()
        .position(|c| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    // Most statements are passed on their first word's length: only SET,
    // LOAD, LISTEN, CREATE, PREPARE and DECLARE are looked at further.
    if !matches!(length, 3 | 4 | 6 | 7) {
        return Effect::None;
    }
    let first = &rest[..length];
    let mut words = rest[length..]
        .split(|c| c.is_ascii_whitespace() || *c == b'(')
        .filter(|w| !w.is_empty());
    let is = |word: &[u8], keyword: &str| word.eq_ignore_ascii_case(keyword.as_bytes());
    let state = |yes: bool| {
        if yes {
            Effect::SessionState
        } else {
            Effect::None
        }
    };
    if is(first, "set") {
        let mut name = words.next().unwrap_or_default();
        if is(name, "session") {
            name = words.next().unwrap_or_default();
        }
        // `SET name=value` written without spaces.
        let name = name.split(|c| *c == b'=').next().unwrap_or_default();
        let transaction_scoped = ["local", "transaction", "constraints"]
            .iter()
            .any(|k| is(name, k));
        // SET NAMES is client_encoding and SET TIME ZONE is TimeZone.
        let reported = ["names", "time"].iter().any(|k| is(name, k))
            || std::str::from_utf8(name)
                .ok()
                .and_then(settings::index_of)
                .is_some();
        let identity = ["role", "authorization", "characteristics"]
            .iter()
            .any(|k| is(name, k));
        return if identity {
            Effect::SessionState
        } else if transaction_scoped || reported {
            Effect::None
        } else {
            Effect::Settings
        };
    }
    if ["prepare", "load", "listen"].iter().any(|k| is(first, k)) {
        return Effect::SessionState;
    }
    if is(first, "declare") {
        return state(words.any(|w| is(w, "hold")));
    }
    if is(first, "create") {
        // CREATE [GLOBAL | LOCAL] TEMP[ORARY] ..., CREATE OR REPLACE TEMP VIEW
        return state(words.take(4).any(|w| is(w, "temp") || is(w, "temporary")));
    }
    Effect::None
}

/// What a query's `SET`, `RESET`, `DISCARD ALL` and `set_config` calls do
/// to the settings PostgreSQL does not report, in order. The proxy reads
/// their values back when the client's transaction ends (so a rolled-back
/// `SET` counts for nothing) and sets them on whichever connection serves
/// the client next.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SettingChanges {
    /// Settings set (lower case): the client keeps the value read back.
    pub set: Vec<String>,
    /// Settings reset (`RESET name`, `SET name TO DEFAULT`): back to the
    /// client's startup value, or to the server's.
    pub reset: Vec<String>,
    /// `RESET ALL` or `DISCARD ALL`: every setting the client or the
    /// connection had is reset, except those in `set` (set after it).
    pub reset_all: bool,
}

impl SettingChanges {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.reset.is_empty() && !self.reset_all
    }

    fn set_one(&mut self, name: String) {
        self.reset.retain(|n| *n != name);
        if !self.set.contains(&name) {
            self.set.push(name);
        }
    }

    fn reset_one(&mut self, name: String) {
        self.set.retain(|n| *n != name);
        if !self.reset.contains(&name) {
            self.reset.push(name);
        }
    }

    fn reset_everything(&mut self) {
        self.reset_all = true;
        let set = std::mem::take(&mut self.set);
        for name in set {
            self.reset_one(name);
        }
    }

    /// Adds what a later query did.
    pub fn then(&mut self, later: SettingChanges) {
        if later.reset_all {
            self.reset_everything();
        }
        for name in later.reset {
            self.reset_one(name);
        }
        for name in later.set {
            self.set_one(name);
        }
    }
}

/// The settings a query sets or resets (see [`SettingChanges`]), when the
/// proxy can tell which: `None` when it cannot (a `set_config` whose name
/// is not a literal, a name the proxy cannot put in a query), and then
/// the client keeps its connection instead. Settings PostgreSQL reports
/// are left out (the proxy follows those from its ParameterStatus).
pub fn followed_settings(sql: &[u8]) -> Option<SettingChanges> {
    let mut changes = SettingChanges::default();
    let keyword = |token: &[u8], word: &str| token.eq_ignore_ascii_case(word.as_bytes());
    let unreported = |name: &str| settings::index_of(name).is_none();
    // A semicolon in a literal splits a statement in two: the second
    // part's first word is then looked at as a statement's, which at
    // worst reads a literal as a SET (a false alarm).
    for statement in sql.split(|c| *c == b';') {
        let (first, rest) = token(statement);
        if keyword(first, "set") {
            let (mut word, mut after) = token(rest);
            if keyword(word, "session") {
                (word, after) = token(after);
                if keyword(word, "authorization") || keyword(word, "characteristics") {
                    return None;
                }
            }
            let name = if keyword(word, "schema") {
                "search_path".to_owned()
            } else if keyword(word, "xml") {
                "xmloption".to_owned()
            } else if ["local", "transaction", "constraints", "names", "time"]
                .iter()
                .any(|k| keyword(word, k))
            {
                continue;
            } else if keyword(word, "role") {
                return None;
            } else {
                let (name, value) = setting_name(rest_from(statement, word))?;
                after = value;
                name
            };
            if !unreported(&name) {
                continue;
            }
            let (to, value) = token(after);
            let (value, end) = token(value);
            if (keyword(to, "to") || to == b"=")
                && keyword(value, "default")
                && token(end).0.is_empty()
            {
                changes.reset_one(name);
            } else {
                changes.set_one(name);
            }
        } else if keyword(first, "reset") {
            let (word, _) = token(rest);
            if keyword(word, "all") {
                changes.reset_everything();
            } else if keyword(word, "session") || keyword(word, "role") {
                return None;
            } else if !(keyword(word, "time") || keyword(word, "transaction")) {
                let (name, _) = setting_name(rest_from(statement, word))?;
                if unreported(&name) {
                    changes.reset_one(name);
                }
            }
        } else if keyword(first, "discard") && keyword(token(rest).0, "all") {
            changes.reset_everything();
        }
    }
    // set_config('name', value, is_local) anywhere (also in a statement
    // above: the calls come after its SETs in no particular order, which
    // only matters for the same name set both ways in one query).
    let mut from = 0;
    while let Some(at) = find_ci(&sql[from..], b"set_config") {
        let start = from + at;
        from = start + 1;
        // Part of a longer name (`offset_config`): not the function.
        if start > 0 && (sql[start - 1].is_ascii_alphanumeric() || sql[start - 1] == b'_') {
            continue;
        }
        let rest = skip_blanks_and_comments(&sql[start + b"set_config".len()..]);
        // `skip_blanks_and_comments` skips the `(` too; the name must be
        // a plain literal.
        let literal = rest.strip_prefix(b"'")?;
        let end = literal.iter().position(|c| *c == b'\'')?;
        if literal.get(end + 1) == Some(&b'\'') {
            return None;
        }
        let name = std::str::from_utf8(&literal[..end])
            .ok()?
            .to_ascii_lowercase();
        if !settings::is_setting_name(&name) {
            return None;
        }
        if unreported(&name) {
            changes.set_one(name);
        }
    }
    Some(changes)
}

/// The next word of `sql` (letters, digits, `_`, `$`, `.`, a quoted
/// identifier, or one other character) and what follows it.
fn token(sql: &[u8]) -> (&[u8], &[u8]) {
    let sql = skip_blanks_and_comments(sql);
    let word = |c: &u8| c.is_ascii_alphanumeric() || matches!(*c, b'_' | b'$' | b'.' | 0x80..);
    let len = match sql.first() {
        None => 0,
        Some(b'"') => sql[1..]
            .iter()
            .position(|c| *c == b'"')
            .map_or(sql.len(), |i| i + 2),
        Some(c) if word(c) => sql.iter().position(|c| !word(c)).unwrap_or(sql.len()),
        Some(_) => 1,
    };
    sql.split_at(len)
}

/// `statement` from where `word` (a slice of it) starts.
fn rest_from<'a>(statement: &'a [u8], word: &[u8]) -> &'a [u8] {
    let offset = word.as_ptr() as usize - statement.as_ptr() as usize;
    &statement[offset..]
}

/// A setting's name (parts separated by `.`, each quoted or not), in
/// lower case as PostgreSQL compares them, if the proxy can follow it
/// (see [`settings::is_setting_name`]), and what follows it.
fn setting_name(sql: &[u8]) -> Option<(String, &[u8])> {
    let mut name = String::new();
    let mut rest = sql;
    loop {
        let (part, after) = identifier(rest)?;
        // Setting names are case-insensitive, quoted or not.
        name.push_str(&part.to_ascii_lowercase());
        match after.strip_prefix(b".") {
            Some(next) => {
                name.push('.');
                rest = next;
            }
            None => {
                rest = after;
                break;
            }
        }
    }
    settings::is_setting_name(&name).then_some((name, rest))
}

/// Where `needle` first appears in `haystack`, ignoring ASCII case.
fn find_ci(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// The database a statement needs no other session connected to
/// (PostgreSQL refuses with 55006 while there is one): the one `DROP
/// DATABASE` drops, `ALTER DATABASE ... RENAME` renames or `SET
/// TABLESPACE` moves, or `CREATE DATABASE ... TEMPLATE` copies. The name
/// is as PostgreSQL reads it: folded to lower case unless quoted.
pub fn database_needing_sole_access(sql: &[u8]) -> Option<String> {
    let keyword = |token: &[u8], word: &str| token.eq_ignore_ascii_case(word.as_bytes());
    let (first, rest) = token(sql);
    let (second, rest) = token(rest);
    if !keyword(second, "database") {
        return None;
    }
    if keyword(first, "drop") {
        let (word, after) = token(rest);
        let rest = if keyword(word, "if") {
            let (exists, after) = token(after);
            if !keyword(exists, "exists") {
                return None;
            }
            after
        } else {
            rest
        };
        return identifier(rest).map(|(name, _)| name);
    }
    if keyword(first, "alter") {
        let (name, after) = identifier(rest)?;
        let (word, after) = token(after);
        let moves = keyword(word, "set") && keyword(token(after).0, "tablespace");
        return (keyword(word, "rename") || moves).then_some(name);
    }
    if keyword(first, "create") {
        let (_, mut rest) = identifier(rest)?;
        loop {
            let (word, after) = token(rest);
            if word.is_empty() || word == b";" {
                return None;
            }
            if keyword(word, "template") {
                let (equals, value) = token(after);
                let value = if equals == b"=" { value } else { after };
                let (name, _) = identifier(value)?;
                // TEMPLATE DEFAULT is template1.
                return Some(if name == "default" {
                    "template1".to_owned()
                } else {
                    name
                });
            }
            rest = after;
        }
    }
    None
}

/// An SQL identifier at the start of `sql` (after blanks and comments):
/// quoted (`""` inside is one `"`) or folded to lower case; and what
/// follows it.
fn identifier(sql: &[u8]) -> Option<(String, &[u8])> {
    let rest = skip_blanks_and_comments(sql);
    let (name, after) = if let Some(quoted) = rest.strip_prefix(b"\"") {
        let mut name = Vec::new();
        let mut i = 0;
        loop {
            match (quoted.get(i)?, quoted.get(i + 1)) {
                (b'"', Some(b'"')) => {
                    name.push(b'"');
                    i += 2;
                }
                (b'"', _) => break,
                (c, _) => {
                    name.push(*c);
                    i += 1;
                }
            }
        }
        (name, &quoted[i + 1..])
    } else {
        let end = rest
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$' || *c >= 0x80))
            .unwrap_or(rest.len());
        (rest[..end].to_ascii_lowercase(), &rest[end..])
    };
    let name = String::from_utf8(name).ok().filter(|n| !n.is_empty())?;
    Some((name, after))
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

/// Whether the `_` at `i` is in a call with a session-wide effect
/// (`set_config` sets a setting), or names an object in the session's
/// own temporary schema.
fn session_function_at(sql: &[u8], i: usize) -> Effect {
    // (the name's offset from its first `_`, the name)
    const NAMES: [(usize, &[u8]); 4] = [
        (3, b"set_config"),
        (2, b"pg_advisory_lock"),
        (2, b"pg_try_advisory_lock"),
        (2, b"pg_temp"),
    ];
    // Each name's letter before its first `_` (`t`, `g`) first.
    let before = i.checked_sub(1).map(|j| sql[j] | 0x20);
    if !matches!(before, Some(b't' | b'g')) {
        return Effect::None;
    }
    let found = NAMES.iter().position(|(back, name)| {
        i >= *back
            && sql[i - back..].len() >= name.len()
            && sql[i - back..i - back + name.len()].eq_ignore_ascii_case(name)
    });
    match found {
        None => Effect::None,
        Some(0) => Effect::Settings,
        Some(_) => Effect::SessionState,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_changing_queries() {
        let changes_session = |sql: &[u8]| changes_session(sql, &QueryEffects::of(sql));
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
        assert!(QueryEffects::of(b"DROP DATABASE x").database);
        // Words cut by the end of the query do not count.
        assert_eq!(QueryEffects::of(b"SELECT disc"), QueryEffects::default());
    }

    #[test]
    fn databases_needing_sole_access() {
        for (sql, name) in [
            ("DROP DATABASE zz_new;", Some("zz_new")),
            ("drop database if exists App", Some("app")),
            ("DROP DATABASE \"My \"\"Db\" WITH (FORCE)", Some("My \"Db")),
            ("/* x */ DROP  DATABASE\n\td1", Some("d1")),
            ("ALTER DATABASE Old RENAME TO new", Some("old")),
            ("alter database \"A\" set tablespace t2", Some("A")),
            ("ALTER DATABASE d SET work_mem = '1MB'", None),
            ("CREATE DATABASE copy TEMPLATE Orig", Some("orig")),
            (
                "CREATE DATABASE c WITH OWNER u TEMPLATE = \"T\" ENCODING 'UTF8'",
                Some("T"),
            ),
            ("CREATE DATABASE c TEMPLATE DEFAULT", Some("template1")),
            ("CREATE DATABASE c OWNER u", None),
            ("DROP TABLE t", None),
            ("DROP DATABASES x", None),
            ("DROP DATABASE IF x", None),
            ("SELECT 'DROP DATABASE x'", None),
        ] {
            assert_eq!(
                database_needing_sole_access(sql.as_bytes()).as_deref(),
                name,
                "{sql}"
            );
        }
    }

    #[test]
    fn every_position_is_seen() {
        // In the eight-byte steps and in the tail, at every offset.
        type Found = fn(&QueryEffects) -> bool;
        let cases: [(&[u8], Found); 5] = [
            (b" DeAllocate x", |e| e.deallocate),
            (b"RESET", |e| e.reset),
            (b";SET search_path = x", |e| e.settings),
            (b";CREATE TEMP TABLE x ()", |e| e.session_state),
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
            "SET ROLE admin",
            "SET SESSION AUTHORIZATION bob",
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
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
            "select 1; create temp table x (a int)",
        ] {
            assert!(leaves_session_state(sql.as_bytes()), "{sql}");
        }
        for sql in [
            "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
            "SET search_path = app",
            "SELECT pg_catalog.set_config('search_path', '', false)",
            "SET LOCAL search_path = app",
            "SET TimeZone = 'UTC'",
            "CREATE TABLE t (x int)",
            "DECLARE c CURSOR FOR SELECT 1",
            "RESET ALL; DISCARD ALL; DEALLOCATE ALL; UNLISTEN *",
            "SELECT pg_advisory_xact_lock(1); SELECT pg_advisory_unlock_all()",
            "BEGIN; UPDATE t SET x = 1; COMMIT",
            "",
        ] {
            assert!(!leaves_session_state(sql.as_bytes()), "{sql}");
        }
        // Settings: followed rather than kept on the connection.
        for sql in [
            "SET search_path = app",
            "set statement_timeout=1000",
            "SET SESSION work_mem TO '8MB'",
            "SELECT pg_catalog.set_config('search_path', '', false)",
            "select 1; set search_path to x",
            "-- restore\n/* settings */ SET search_path = ''",
            "(SET search_path = x)",
        ] {
            let effects = QueryEffects::of(sql.as_bytes());
            assert!(effects.settings && !effects.session_state, "{sql}");
        }
        for sql in [
            "SET LOCAL search_path = app",
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "SET CONSTRAINTS ALL DEFERRED",
            "SET TimeZone = 'UTC'",
            "SET TIME ZONE 'UTC'",
            "set application_name = 'x'",
            "SET NAMES 'UTF8'",
            "SET SESSION DateStyle = ISO",
        ] {
            assert_eq!(
                QueryEffects::of(sql.as_bytes()),
                QueryEffects::default(),
                "{sql}"
            );
        }
    }

    #[test]
    fn followed_setting_changes() {
        let changes = |sql: &str| followed_settings(sql.as_bytes());
        let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let c = changes(
            "SET search_path = a, \"B\"; set SESSION Work_Mem TO '8MB'; \
             SET \"MyApp\".tenant = 42; SET SCHEMA 'x'; SET XML OPTION DOCUMENT; \
             SET TimeZone = 'UTC'; SET LOCAL statement_timeout = 1",
        )
        .unwrap();
        assert_eq!(
            c.set,
            set(&["search_path", "work_mem", "myapp.tenant", "xmloption"])
        );
        assert!(c.reset.is_empty() && !c.reset_all);
        let c = changes("SET work_mem = 1; RESET work_mem; SET lock_timeout TO DEFAULT").unwrap();
        assert!(c.set.is_empty());
        assert_eq!(c.reset, set(&["work_mem", "lock_timeout"]));
        let c = changes("SET a.b = 1; RESET ALL; SET work_mem = 2").unwrap();
        assert_eq!(
            (c.set, c.reset, c.reset_all),
            (set(&["work_mem"]), set(&["a.b"]), true)
        );
        assert!(changes("DISCARD ALL").unwrap().reset_all);
        assert!(changes("discard plans").unwrap().is_empty());
        let c = changes("SELECT pg_catalog.set_config ( 'Search_Path', '', false)").unwrap();
        assert_eq!(c.set, set(&["search_path"]));
        assert!(changes("SELECT offset_config FROM t").unwrap().is_empty());
        // Reported settings are followed another way.
        assert!(
            changes("SET TIME ZONE 'UTC'; RESET TimeZone")
                .unwrap()
                .is_empty()
        );
        // What the proxy cannot name keeps the client on its connection.
        for sql in [
            "SELECT set_config(name, 'x', false) FROM t",
            "SELECT set_config('a''b', 'x', false)",
            "SET \"a b\" = 1",
            "SET \"unterminated = 1",
            "RESET \"\"",
            "SET ROLE admin",
            "RESET SESSION AUTHORIZATION",
            "SET",
        ] {
            assert_eq!(changes(sql), None, "{sql}");
        }
        // Later queries add to what earlier ones did.
        let mut all = changes("SET work_mem = 1").unwrap();
        all.then(changes("RESET ALL").unwrap());
        all.then(changes("SET search_path = x").unwrap());
        assert_eq!(
            (all.set, all.reset, all.reset_all),
            (set(&["search_path"]), set(&["work_mem"]), true)
        );
    }
}
