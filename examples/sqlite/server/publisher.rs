//! The example as a logical-replication publisher: publications, the
//! change log and its capture, and what the catalog shows of them.
//!
//! Everything lives in the database file itself, in tables the catalog
//! does not show (`_pgwire_*`), so publications, slots and the changes a
//! slot still needs survive a restart of the server:
//! - `_pgwire_publication` / `_pgwire_publication_rel`: `CREATE
//!   PUBLICATION` and its tables (by name: a table's OID follows its row
//!   in `sqlite_schema`);
//! - `_pgwire_changes`: the change log, one row per captured change, its
//!   `seq` giving its LSN (`replication.rs`) and `ts` the time it was
//!   logged; besides row changes (`I`, `U`, `D`, `T`) it holds logical
//!   decoding messages (`M` transactional, `m` not: `prefix` in `rel`,
//!   content as hex in `new`) and commit records (`C`, written as a
//!   transaction block commits: its `ts` is the commit time);
//! - `_pgwire_replication_slots`: the slots, their confirmed position,
//!   and whether they are temporary (dropped with their session, and when
//!   the server starts).
//!
//! Capture is by SQLite triggers on the published tables (kept in line
//! with the publications and the tables' columns by [`sync_triggers`]): a
//! trigger writes into the change log inside the writing transaction, so a
//! rolled-back transaction (or savepoint) leaves nothing, and a reader sees
//! a transaction's changes all at once when it commits. Each row carries
//! the writing transaction's id (`pgwire_xid()`, a per-connection function
//! reset when SQLite's transaction ends) so the stream can send the
//! transaction boundaries.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use pgwire::api::{QueryResponse, Response, Rows, Session, Tag};
use pgwire::error::{ErrorInfo, Severity, SqlState};
use pgwire::replication::Lsn;
use pgwire::replication::timestamp::pg_timestamp_now;
use pgwire::types::{FieldInfo, Schema, Type};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension};
use tokio::sync::watch;

use super::SqliteSession;
use super::errors::from_sqlite;
use super::live_changes;
use super::sql::{Tok, Token, ident_value, quote_ident, significant, string_value};

/// The example's own tables, created when the server opens the database.
pub const SCHEMA_SQL: &str = "\
CREATE TABLE IF NOT EXISTS _pgwire_publication (\
  id INTEGER PRIMARY KEY, pubname TEXT NOT NULL UNIQUE, puballtables INTEGER NOT NULL, \
  pubinsert INTEGER NOT NULL, pubupdate INTEGER NOT NULL, pubdelete INTEGER NOT NULL, \
  pubtruncate INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS _pgwire_publication_rel (\
  id INTEGER PRIMARY KEY, pubname TEXT NOT NULL, relname TEXT NOT NULL, UNIQUE (pubname, relname));
CREATE TABLE IF NOT EXISTS _pgwire_changes (\
  seq INTEGER PRIMARY KEY AUTOINCREMENT, xid INTEGER NOT NULL, rel TEXT NOT NULL, \
  op TEXT NOT NULL, old TEXT, new TEXT, ts INTEGER);
CREATE TABLE IF NOT EXISTS _pgwire_replication_slots (\
  slot_name TEXT PRIMARY KEY, plugin TEXT NOT NULL, two_phase INTEGER NOT NULL DEFAULT 0, \
  confirmed_lsn INTEGER NOT NULL, temporary INTEGER NOT NULL DEFAULT 0);";

/// Columns added since the first version of [`SCHEMA_SQL`], added to a
/// database file made before them: (table, column, definition).
const ADDED_COLUMNS: [(&str, &str, &str); 2] = [
    ("_pgwire_changes", "ts", "INTEGER"),
    (
        "_pgwire_replication_slots",
        "temporary",
        "INTEGER NOT NULL DEFAULT 0",
    ),
];

/// The catalog relations the example adds to `pg_catalog` (views in
/// PostgreSQL; tables filled before a statement that reads them here).
const CATALOG_SQL: &str = "\
CREATE TABLE pg_catalog.pg_publication_tables (\
  pubname name, schemaname name, tablename name, attnames text, rowfilter text);
CREATE TABLE pg_catalog.pg_replication_slots (\
  slot_name name, plugin name, slot_type text, datoid oid, database name, temporary bool, \
  active bool, active_pid int4, xmin text, catalog_xmin text, restart_lsn pg_lsn, \
  confirmed_flush_lsn pg_lsn, wal_status text, safe_wal_size int8, two_phase bool);
CREATE TABLE pg_catalog._pgwire_gpt (pubname name, relid oid, attrs text, qual text);";

/// Where publication OIDs start: far above the tables' OIDs.
const PUBLICATION_OID_BASE: i64 = 3_900_000_000;

/// The next transaction id; starts above what the log holds.
static NEXT_XID: AtomicU32 = AtomicU32::new(1000);

/// Bumped whenever a transaction that wrote to the change log ends, so
/// waiting streams look again.
pub fn changes_signal() -> &'static watch::Sender<u64> {
    static SIGNAL: OnceLock<watch::Sender<u64>> = OnceLock::new();
    SIGNAL.get_or_init(|| watch::channel(0).0)
}

thread_local! {
    /// The id of the worker connection's current writing transaction.
    static CURRENT_XID: Cell<Option<u32>> = const { Cell::new(None) };
    /// Off while TRUNCATE deletes rows (it is logged as one change).
    static CAPTURING: Cell<bool> = const { Cell::new(true) };
    /// The schema version the triggers were last checked against.
    static SYNCED_SCHEMA: Cell<i64> = const { Cell::new(-1) };
}

/// Creates the example's tables; called once when the server opens the
/// database.
pub fn setup(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA_SQL)?;
    for (table, column, definition) in ADDED_COLUMNS {
        let present: i64 = conn.query_row(
            "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
            [table, column],
            |r| r.get(0),
        )?;
        if present == 0 {
            conn.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {definition}"
            ))?;
        }
    }
    // Temporary slots die with their session: none is alive when the
    // server starts.
    conn.execute("DELETE FROM _pgwire_replication_slots WHERE temporary", [])?;
    let max: Option<i64> =
        conn.query_row("SELECT max(xid) FROM _pgwire_changes", [], |r| r.get(0))?;
    if let Some(m) = max.and_then(|m| u32::try_from(m).ok()) {
        NEXT_XID.fetch_max(m.saturating_add(1), Ordering::Relaxed);
    }
    Ok(())
}

/// Registers the capture functions and the catalog relations on a new
/// session's connection (after the catalog is attached).
pub fn attach(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function("pgwire_xid", 0, FunctionFlags::SQLITE_UTF8, |_| {
        Ok(i64::from(current_xid()))
    })?;
    conn.create_scalar_function("pgwire_capturing", 0, FunctionFlags::SQLITE_UTF8, |_| {
        Ok(CAPTURING.with(Cell::get))
    })?;
    // When a change is logged (microseconds since 2000-01-01, as
    // pgoutput's timestamps).
    conn.create_scalar_function("pgwire_now", 0, FunctionFlags::SQLITE_UTF8, |_| {
        Ok(pg_timestamp_now())
    })?;
    // The replica identity index of a table: its primary key's index
    // (the catalog gives it OID table + 1).
    conn.create_scalar_function(
        "pg_get_replica_identity_index",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let oid: Option<i64> = ctx.get(0).ok();
            Ok(oid.map(|o| o + 1))
        },
    )?;
    // Whether the current transaction's rows go to streams of
    // transactions in progress; and handing one over.
    conn.create_scalar_function("pgwire_live_wanted", 0, FunctionFlags::SQLITE_UTF8, |_| {
        Ok(CURRENT_XID
            .with(Cell::get)
            .is_some_and(live_changes::is_open))
    })?;
    conn.create_scalar_function("pgwire_live", 6, FunctionFlags::SQLITE_UTF8, |ctx| {
        let xid: i64 = ctx.get(1)?;
        record_live(
            u32::try_from(xid).unwrap_or(0),
            ctx.get(0)?,
            &ctx.get::<String>(2)?,
            &ctx.get::<String>(3)?,
            ctx.get(4)?,
            ctx.get(5)?,
        );
        Ok(0)
    })?;
    conn.execute_batch(CATALOG_SQL)?;
    SYNCED_SCHEMA.with(|s| s.set(-1));
    Ok(())
}

fn current_xid() -> u32 {
    CURRENT_XID.with(|c| match c.get() {
        Some(x) => x,
        None => {
            let x = NEXT_XID.fetch_add(1, Ordering::Relaxed);
            c.set(Some(x));
            live_changes::begin(x);
            x
        }
    })
}

/// Called by the worker after every job: when SQLite's transaction has
/// ended, the next write gets a new transaction id, and streams are woken
/// if this one wrote to the change log.
pub fn after_job(conn: &Connection) {
    if !conn.is_autocommit() {
        return;
    }
    let Some(xid) = CURRENT_XID.with(|c| c.take()) else {
        return;
    };
    if live_changes::is_open(xid) {
        // Committed if a row it logged is in the log now.
        let committed = live_changes::some_seq(xid).is_some_and(|seq| {
            conn.query_row(
                "SELECT xid FROM _pgwire_changes WHERE seq = ?1",
                [seq],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .ok()
            .flatten()
                == Some(i64::from(xid))
        });
        live_changes::end(xid, committed);
    }
    changes_signal().send_modify(|n| *n += 1);
}

/// Hands the row just logged at `seq` to the streams of transactions in
/// progress (`live_changes.rs`).
fn record_live(xid: u32, seq: i64, rel: &str, op: &str, old: Option<String>, new: Option<String>) {
    live_changes::record(
        xid,
        live_changes::LiveRow {
            seq,
            rel: rel.to_owned(),
            op: op.to_owned(),
            old,
            new,
        },
    );
}

/// Called just before a transaction block's `COMMIT`: if the transaction
/// wrote to the change log, logs its commit record, whose `ts` is the
/// commit time the stream sends. (A statement outside a block commits
/// as it ends: its last change's time is its commit time.) A failed
/// COMMIT rolls the record back with the rest.
pub fn before_commit(conn: &Connection) {
    let Some(xid) = CURRENT_XID.with(Cell::get) else {
        return;
    };
    if let Err(e) = conn.execute(
        "INSERT INTO _pgwire_changes (xid, rel, op, ts) VALUES (?1, '', 'C', pgwire_now())",
        [xid],
    ) {
        tracing::debug!(error = %e, "commit record not logged");
    }
}

/// Called before a statement is prepared (after the catalog's refresh):
/// keeps the capture triggers in line with the schema, and fills the
/// publication and slot catalog tables if the statement reads them.
pub fn before_statement(conn: &Connection, text: &str) -> Result<(), ErrorInfo> {
    let version: i64 = conn
        .query_row("PRAGMA main.schema_version", [], |r| r.get(0))
        .map_err(|e| from_sqlite(&e))?;
    if SYNCED_SCHEMA.with(Cell::get) != version {
        match sync_triggers(conn) {
            Ok(()) => {
                let now: i64 = conn
                    .query_row("PRAGMA main.schema_version", [], |r| r.get(0))
                    .unwrap_or(version);
                SYNCED_SCHEMA.with(|s| s.set(now));
            }
            // A read-only transaction, or another writer: tried again at
            // the next statement.
            Err(e) => tracing::debug!(error = %e, "capture triggers not synced"),
        }
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("pg_publication")
        || lower.contains("pg_replication_slots")
        || lower.contains("pg_get_publication_tables")
    {
        fill_catalog(conn).map_err(|e| from_sqlite(&e))?;
    }
    Ok(())
}

/// `FROM pg_publication p, LATERAL pg_get_publication_tables(p.pubname) gpt`
/// (or with a literal name), as the subscriber's table sync sends it,
/// becomes a subquery of `_pgwire_gpt`.
pub fn rewrite_publication_tables(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("pg_get_publication_tables")?;
    let open = at + lower[at..].find('(')?;
    let close = open + lower[open..].find(')')?;
    let arg = text[open + 1..close].trim().to_owned();
    let mut start = at;
    if lower[..start].trim_end().ends_with("pg_catalog.") {
        start = lower[..start].trim_end().len() - "pg_catalog.".len();
    }
    let mut lateral = false;
    if let Some(b) = lower[..start].trim_end().strip_suffix("lateral") {
        start = b.len();
        lateral = true;
    }
    // The alias after the call.
    let rest = &text[close + 1..];
    let toks = significant(rest);
    let (alias, alias_end) = match toks.first() {
        Some(t) if t.is_word("as") => match toks.get(1) {
            Some(a) => (ident_value(a), close + 1 + a.start + a.text.len()),
            None => return None,
        },
        Some(t) if matches!(t.kind, Tok::Word | Tok::QuotedIdent) && !is_clause_word(t) => {
            (ident_value(t), close + 1 + t.start + t.text.len())
        }
        _ => ("pg_get_publication_tables".to_owned(), close + 1),
    };
    let alias = quote_ident(&alias);
    // `p, LATERAL f(p.pubname) gpt` (SQLite has no LATERAL): a join on
    // the publication name; a call with a constant: a subquery.
    let before = lower[..start].trim_end();
    let (start, replacement) = match before.strip_suffix(',') {
        Some(b) if lateral || arg.contains('.') => (
            b.len(),
            format!(" JOIN pg_catalog._pgwire_gpt AS {alias} ON {alias}.pubname = {arg}"),
        ),
        _ => (
            start,
            format!(" (SELECT * FROM pg_catalog._pgwire_gpt WHERE pubname = {arg}) AS {alias}"),
        ),
    };
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str(&text[..start]);
    out.push_str(&replacement);
    out.push_str(&text[alias_end..]);
    Some(out)
}

fn is_clause_word(t: &Token<'_>) -> bool {
    [
        "where", "join", "on", "left", "inner", "cross", "order", "group", "limit",
    ]
    .iter()
    .any(|w| t.is_word(w))
}

/// Refills `pg_publication`, `pg_publication_rel`,
/// `pg_publication_tables`, `pg_replication_slots` and the rows of
/// `pg_get_publication_tables()` from the example's tables.
fn fill_catalog(conn: &Connection) -> rusqlite::Result<()> {
    let span = i64::from(pgwire::catalog::OID_SPAN);
    let query_only: i64 = conn.query_row("PRAGMA query_only", [], |r| r.get(0))?;
    if query_only != 0 {
        conn.execute_batch("PRAGMA query_only = 0")?;
    }
    // The tables of each publication: its own, or all for FOR ALL TABLES.
    let members = "SELECT p.pubname AS pubname, s.name AS relname, s.rowid AS rowid \
         FROM main._pgwire_publication p JOIN main.sqlite_schema s ON s.type = 'table' \
         AND s.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND s.name NOT LIKE '\\_pgwire\\_%' ESCAPE '\\' \
         AND (p.puballtables OR EXISTS (SELECT 1 FROM main._pgwire_publication_rel r \
              WHERE r.pubname = p.pubname AND r.relname = s.name))";
    let result = conn.execute_batch(&format!(
        "SAVEPOINT pgwire_publisher_catalog;
         DELETE FROM pg_catalog.pg_publication;
         INSERT INTO pg_catalog.pg_publication SELECT {PUBLICATION_OID_BASE} + id, pubname, 10, \
           puballtables, pubinsert, pubupdate, pubdelete, pubtruncate, 0 FROM main._pgwire_publication;
         DELETE FROM pg_catalog.pg_publication_rel;
         INSERT INTO pg_catalog.pg_publication_rel SELECT {PUBLICATION_OID_BASE} + 1000000 + r.id, \
           {PUBLICATION_OID_BASE} + p.id, 16384 + s.rowid * {span}, NULL, NULL \
           FROM main._pgwire_publication_rel r JOIN main._pgwire_publication p USING (pubname) \
           JOIN main.sqlite_schema s ON s.type = 'table' AND s.name = r.relname;
         DELETE FROM pg_catalog.pg_publication_tables;
         INSERT INTO pg_catalog.pg_publication_tables SELECT m.pubname, 'public', m.relname, \
           '{{' || (SELECT group_concat(c.name, ',') FROM pragma_table_info(m.relname) c) || '}}', NULL \
           FROM ({members}) m;
         DELETE FROM pg_catalog._pgwire_gpt;
         INSERT INTO pg_catalog._pgwire_gpt SELECT m.pubname, 16384 + m.rowid * {span}, \
           (SELECT group_concat(c.cid + 1, ' ') FROM pragma_table_info(m.relname) c), NULL \
           FROM ({members}) m;
         DELETE FROM pg_catalog.pg_replication_slots;
         INSERT INTO pg_catalog.pg_replication_slots SELECT slot_name, plugin, 'logical', 16384, \
           current_database(), temporary, 0, NULL, NULL, NULL, \
           printf('%X/%X', confirmed_lsn >> 32, confirmed_lsn & 4294967295), \
           printf('%X/%X', confirmed_lsn >> 32, confirmed_lsn & 4294967295), 'reserved', NULL, \
           two_phase FROM main._pgwire_replication_slots;
         RELEASE pgwire_publisher_catalog;"
    ));
    if result.is_err() {
        let _ = conn.execute_batch(
            "ROLLBACK TO pgwire_publisher_catalog; RELEASE pgwire_publisher_catalog",
        );
    }
    let marked = result.and_then(|()| {
        let mut stmt = conn.prepare(
            "UPDATE pg_catalog.pg_replication_slots SET active = 1, active_pid = ?2 \
             WHERE slot_name = ?1",
        )?;
        let db = std::path::PathBuf::from(conn.path().unwrap_or_default());
        for (name, pid) in super::replication::active_slots(&db) {
            stmt.execute(rusqlite::params![name, pid])?;
        }
        Ok(())
    });
    if query_only != 0 {
        conn.execute_batch("PRAGMA query_only = 1")?;
    }
    marked
}

// ------------------------------------------------------------ triggers

/// The tables whose changes are captured: those of every publication.
fn published_tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM main.sqlite_schema s WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_pgwire\\_%' ESCAPE '\\' \
         AND (EXISTS (SELECT 1 FROM main._pgwire_publication WHERE puballtables) \
              OR EXISTS (SELECT 1 FROM main._pgwire_publication_rel r WHERE r.relname = s.name)) \
         ORDER BY name",
    )?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

/// A row of table columns as the change log stores it: a JSON array,
/// blobs as PostgreSQL's `\x` hex text.
fn row_json(prefix: &str, columns: &[String]) -> String {
    let items: Vec<String> = columns
        .iter()
        .map(|c| {
            let v = format!("{prefix}.{}", quote_ident(c));
            format!("CASE WHEN typeof({v}) = 'blob' THEN '\\x' || lower(hex({v})) ELSE {v} END")
        })
        .collect();
    format!("json_array({})", items.join(", "))
}

/// The capture triggers `table` should have: (name, SQL).
fn wanted_triggers(table: &str, columns: &[String]) -> Vec<(String, String)> {
    let new = row_json("NEW", columns);
    let old = row_json("OLD", columns);
    let lit = super::sql::quote_literal(table);
    let qt = quote_ident(table);
    [
        ("i", "INSERT", "NULL".to_owned(), new.clone()),
        ("u", "UPDATE", old.clone(), new),
        ("d", "DELETE", old, "NULL".to_owned()),
    ]
    .into_iter()
    .map(|(tag, event, old, new)| {
        let name = format!("_pgwire_capture_{tag}_{table}");
        let sql = format!(
            "CREATE TRIGGER {} AFTER {event} ON {qt} WHEN pgwire_capturing() BEGIN \
             INSERT INTO _pgwire_changes (xid, rel, op, old, new, ts) \
             VALUES (pgwire_xid(), {lit}, '{}', {old}, {new}, pgwire_now()); \
             SELECT pgwire_live(seq, xid, rel, op, old, new) FROM _pgwire_changes \
             WHERE pgwire_live_wanted() AND seq = last_insert_rowid(); END",
            quote_ident(&name),
            tag.to_ascii_uppercase()
        );
        (name, sql)
    })
    .collect()
}

/// Creates, replaces and drops capture triggers so that exactly the
/// published tables have them, with their current columns.
pub fn sync_triggers(conn: &Connection) -> rusqlite::Result<()> {
    let mut wanted: Vec<(String, String)> = Vec::new();
    for table in published_tables(conn)? {
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?
            .query_map([&table], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        wanted.extend(wanted_triggers(&table, &columns));
    }
    let existing: Vec<(String, String)> = conn
        .prepare(
            "SELECT name, sql FROM main.sqlite_schema WHERE type = 'trigger' \
             AND name LIKE '\\_pgwire\\_capture\\_%' ESCAPE '\\'",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut ddl = String::new();
    for (name, sql) in &existing {
        if !wanted.iter().any(|(n, s)| n == name && s == sql) {
            ddl.push_str(&format!(
                "DROP TRIGGER IF EXISTS main.{};",
                quote_ident(name)
            ));
        }
    }
    for (name, sql) in &wanted {
        if !existing.iter().any(|(n, s)| n == name && s == sql) {
            ddl.push_str(sql);
            ddl.push(';');
        }
    }
    if ddl.is_empty() {
        return Ok(());
    }
    conn.execute_batch(&format!(
        "SAVEPOINT pgwire_capture; {ddl} RELEASE pgwire_capture;"
    ))
    .inspect_err(|_| {
        let _ = conn.execute_batch("ROLLBACK TO pgwire_capture; RELEASE pgwire_capture");
    })
}

/// Runs TRUNCATE's deletes with capture off, logging one truncate change
/// per table instead of a delete per row.
pub fn truncate(conn: &Connection, tables: &[String], sql: &str) -> rusqlite::Result<()> {
    let published = published_tables(conn)?;
    let xid = current_xid();
    for t in tables.iter().filter(|t| published.contains(t)) {
        conn.execute(
            "INSERT INTO _pgwire_changes (xid, rel, op, ts) VALUES (?1, ?2, 'T', pgwire_now())",
            rusqlite::params![xid, t],
        )?;
        record_live(xid, conn.last_insert_rowid(), t, "T", None, None);
    }
    CAPTURING.with(|c| c.set(false));
    let result = conn.execute_batch(sql);
    CAPTURING.with(|c| c.set(true));
    result
}

// ------------------------------------------------------- SQL commands

/// A publication or slot statement the example runs itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublisherCommand {
    /// `CREATE PUBLICATION name [FOR TABLE t, ... | FOR ALL TABLES] [WITH (publish = '...')]`.
    Create {
        /// The publication.
        name: String,
        /// `FOR ALL TABLES`.
        all_tables: bool,
        /// `FOR TABLE ...`.
        tables: Vec<String>,
        /// What is published: insert, update, delete, truncate.
        publish: [bool; 4],
    },
    /// `ALTER PUBLICATION name ADD|DROP|SET TABLE t, ...` / `SET (publish = ...)`.
    Alter {
        /// The publication.
        name: String,
        /// What changes.
        action: AlterAction,
    },
    /// `DROP PUBLICATION [IF EXISTS] name, ...`.
    Drop {
        /// The publications.
        names: Vec<String>,
        /// `IF EXISTS`.
        if_exists: bool,
    },
    /// `SELECT [* FROM] pg_create_logical_replication_slot('name', 'plugin' [, temporary [, two_phase]])`.
    CreateSlot {
        /// The slot.
        name: String,
        /// The output plugin.
        plugin: String,
        /// `two_phase`.
        two_phase: bool,
        /// `temporary`: dropped when the session ends.
        temporary: bool,
        /// `SELECT *` (two columns) rather than one record column.
        expanded: bool,
    },
    /// `SELECT pg_logical_emit_message(transactional, 'prefix', 'content')`.
    EmitMessage {
        /// Part of the current transaction (else sent on its own).
        transactional: bool,
        /// The prefix.
        prefix: String,
        /// The content.
        content: Vec<u8>,
    },
    /// `SELECT pg_drop_replication_slot('name')`.
    DropSlot(String),
    /// A statement of this family that could not be parsed or is not
    /// supported.
    Invalid(ErrorInfo),
}

/// What `ALTER PUBLICATION` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterAction {
    /// `ADD TABLE`.
    Add(Vec<String>),
    /// `DROP TABLE`.
    Drop(Vec<String>),
    /// `SET TABLE`.
    Set(Vec<String>),
    /// `SET (publish = '...')`.
    Publish([bool; 4]),
}

fn syntax(msg: impl Into<String>) -> PublisherCommand {
    let msg: String = msg.into();
    PublisherCommand::Invalid(ErrorInfo::new(SqlState::SYNTAX_ERROR, msg))
}

fn unsupported(msg: impl Into<String>) -> PublisherCommand {
    let msg: String = msg.into();
    PublisherCommand::Invalid(ErrorInfo::new(SqlState::FEATURE_NOT_SUPPORTED, msg))
}

/// Recognises the statements this module runs.
pub fn classify(text: &str) -> Option<PublisherCommand> {
    let toks = significant(text);
    let w = |i: usize| {
        toks.get(i)
            .filter(|t| t.kind == Tok::Word)
            .map(|t| t.text.to_ascii_lowercase())
            .unwrap_or_default()
    };
    match (w(0).as_str(), w(1).as_str()) {
        ("create", "publication") => Some(parse_create(&toks)),
        ("alter", "publication") => Some(parse_alter(&toks)),
        ("drop", "publication") => Some(parse_drop(&toks)),
        ("select", _) => parse_slot_function(&toks),
        _ => None,
    }
}

fn name_at(toks: &[Token<'_>], i: usize) -> Option<String> {
    toks.get(i)
        .filter(|t| matches!(t.kind, Tok::Word | Tok::QuotedIdent))
        .map(ident_value)
}

/// A table list from `i`: `[TABLE] [ONLY] [schema.]t [*], ...`, up to
/// `WITH` or the end; the index after it.
fn table_list(toks: &[Token<'_>], mut i: usize) -> Result<(Vec<String>, usize), PublisherCommand> {
    let mut tables = Vec::new();
    loop {
        if toks.get(i).is_some_and(|t| t.is_word("table")) {
            i += 1;
        }
        if toks.get(i).is_some_and(|t| t.is_word("only")) {
            i += 1;
        }
        let Some(mut name) = name_at(toks, i) else {
            return Err(syntax("syntax error: a table name was expected"));
        };
        i += 1;
        if toks.get(i).is_some_and(|t| t.kind == Tok::Dot) {
            if !name.eq_ignore_ascii_case("public") {
                return Err(PublisherCommand::Invalid(ErrorInfo::new(
                    SqlState::INVALID_SCHEMA_NAME,
                    format!("schema \"{name}\" does not exist"),
                )));
            }
            name = name_at(toks, i + 1).ok_or_else(|| syntax("a table name was expected"))?;
            i += 2;
        }
        if toks.get(i).is_some_and(|t| t.text == "*") {
            i += 1;
        }
        if toks
            .get(i)
            .is_some_and(|t| t.kind == Tok::LParen || t.is_word("where"))
        {
            return Err(unsupported(
                "column lists and row filters in publications are not supported",
            ));
        }
        tables.push(name);
        match toks.get(i) {
            Some(t) if t.kind == Tok::Comma => i += 1,
            _ => return Ok((tables, i)),
        }
    }
}

/// `WITH (publish = 'insert, update')` from `i`, if present.
fn publish_option(toks: &[Token<'_>], i: usize) -> Result<[bool; 4], PublisherCommand> {
    let mut publish = [true; 4];
    let Some(t) = toks.get(i) else {
        return Ok(publish);
    };
    if !t.is_word("with") && t.kind != Tok::LParen {
        return Err(syntax(format!("syntax error at or near \"{}\"", t.text)));
    }
    let mut j = if t.is_word("with") { i + 1 } else { i };
    if toks.get(j).is_none_or(|t| t.kind != Tok::LParen) {
        return Err(syntax("syntax error: ( expected"));
    }
    j += 1;
    while let Some(t) = toks.get(j) {
        if t.kind == Tok::RParen {
            break;
        }
        let option = ident_value(t).to_ascii_lowercase();
        let value = toks
            .get(j + 2)
            .filter(|_| toks.get(j + 1).is_some_and(|eq| eq.text == "="))
            .map(|v| {
                if v.kind == Tok::Str {
                    string_value(v.text)
                } else {
                    v.text.to_owned()
                }
            })
            .unwrap_or_default();
        match option.as_str() {
            "publish" => {
                publish = [false; 4];
                for what in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    match what {
                        "insert" => publish[0] = true,
                        "update" => publish[1] = true,
                        "delete" => publish[2] = true,
                        "truncate" => publish[3] = true,
                        other => {
                            return Err(PublisherCommand::Invalid(ErrorInfo::new(
                                SqlState::INVALID_PARAMETER_VALUE,
                                format!(
                                    "unrecognized value for publication option \"publish\": \"{other}\""
                                ),
                            )));
                        }
                    }
                }
            }
            "publish_via_partition_root" => {}
            other => {
                return Err(syntax(format!(
                    "unrecognized publication parameter: \"{other}\""
                )));
            }
        }
        j += 3;
        if toks.get(j).is_some_and(|t| t.kind == Tok::Comma) {
            j += 1;
        }
    }
    Ok(publish)
}

fn parse_create(toks: &[Token<'_>]) -> PublisherCommand {
    let Some(name) = name_at(toks, 2) else {
        return syntax("syntax error: a publication name was expected");
    };
    let mut i = 3;
    let mut all_tables = false;
    let mut tables = Vec::new();
    if toks.get(i).is_some_and(|t| t.is_word("for")) {
        let words: Vec<String> = (i + 1..i + 4)
            .map(|k| {
                toks.get(k)
                    .map(|t| t.text.to_ascii_lowercase())
                    .unwrap_or_default()
            })
            .collect();
        if words[0] == "all" && words[1] == "tables" {
            all_tables = true;
            i += 3;
        } else if words[0] == "tables" && words[1] == "in" {
            return unsupported("FOR TABLES IN SCHEMA is not supported: use FOR ALL TABLES");
        } else {
            match table_list(toks, i + 1) {
                Ok((t, next)) => {
                    tables = t;
                    i = next;
                }
                Err(e) => return e,
            }
        }
    }
    match publish_option(toks, i) {
        Ok(publish) => PublisherCommand::Create {
            name,
            all_tables,
            tables,
            publish,
        },
        Err(e) => e,
    }
}

fn parse_alter(toks: &[Token<'_>]) -> PublisherCommand {
    let Some(name) = name_at(toks, 2) else {
        return syntax("syntax error: a publication name was expected");
    };
    let verb = toks
        .get(3)
        .map(|t| t.text.to_ascii_lowercase())
        .unwrap_or_default();
    let action = match verb.as_str() {
        "set" if toks.get(4).is_some_and(|t| t.kind == Tok::LParen) => {
            match publish_option(toks, 4) {
                Ok(p) => AlterAction::Publish(p),
                Err(e) => return e,
            }
        }
        "add" | "drop" | "set" => {
            if !toks.get(4).is_some_and(|t| t.is_word("table")) {
                return unsupported(format!(
                    "ALTER PUBLICATION ... {} is supported for TABLE only",
                    verb.to_ascii_uppercase()
                ));
            }
            let tables = match table_list(toks, 4) {
                Ok((t, _)) => t,
                Err(e) => return e,
            };
            match verb.as_str() {
                "add" => AlterAction::Add(tables),
                "drop" => AlterAction::Drop(tables),
                _ => AlterAction::Set(tables),
            }
        }
        _ => return unsupported("only ALTER PUBLICATION ... ADD/DROP/SET are supported"),
    };
    PublisherCommand::Alter { name, action }
}

fn parse_drop(toks: &[Token<'_>]) -> PublisherCommand {
    let mut i = 2;
    let if_exists = toks.get(2).is_some_and(|t| t.is_word("if"))
        && toks.get(3).is_some_and(|t| t.is_word("exists"));
    if if_exists {
        i = 4;
    }
    let mut names = Vec::new();
    while let Some(n) = name_at(toks, i) {
        if n.eq_ignore_ascii_case("cascade") || n.eq_ignore_ascii_case("restrict") {
            break;
        }
        names.push(n);
        i += 1;
        if toks.get(i).is_some_and(|t| t.kind == Tok::Comma) {
            i += 1;
        } else {
            break;
        }
    }
    if names.is_empty() {
        return syntax("syntax error: a publication name was expected");
    }
    PublisherCommand::Drop { names, if_exists }
}

/// `SELECT [* FROM] pg_create_logical_replication_slot(...)` and
/// `SELECT pg_drop_replication_slot(...)`: run by the example, as they
/// write to the database.
fn parse_slot_function(toks: &[Token<'_>]) -> Option<PublisherCommand> {
    let (expanded, at) = if toks.get(1).is_some_and(|t| t.text == "*")
        && toks.get(2).is_some_and(|t| t.is_word("from"))
    {
        (true, 3)
    } else {
        (false, 1)
    };
    let mut at = at;
    if toks.get(at).is_some_and(|t| t.is_word("pg_catalog"))
        && toks.get(at + 1).is_some_and(|t| t.kind == Tok::Dot)
    {
        at += 2;
    }
    let func = toks.get(at)?;
    let create = func.is_word("pg_create_logical_replication_slot");
    let emit = func.is_word("pg_logical_emit_message");
    if !create && !emit && !func.is_word("pg_drop_replication_slot") {
        return None;
    }
    if toks.get(at + 1).is_none_or(|t| t.kind != Tok::LParen) {
        return None;
    }
    let mut args = Vec::new();
    let mut j = at + 2;
    while let Some(t) = toks.get(j) {
        match t.kind {
            Tok::RParen => break,
            Tok::Comma => {}
            Tok::Str => args.push(string_value(t.text)),
            Tok::Word => args.push(t.text.to_ascii_lowercase()),
            Tok::Cast => j += 1,
            _ => return Some(syntax("slot functions take literal arguments here")),
        }
        j += 1;
    }
    // Only `FROM f(...)` or `f(...) [AS x]` and nothing else.
    let rest = &toks[(j + 1).min(toks.len())..];
    if rest
        .iter()
        .any(|t| t.kind != Tok::Semicolon && !t.is_word("as") && t.kind != Tok::Word)
    {
        return None;
    }
    let truthy = |s: Option<&String>| s.is_some_and(|v| matches!(v.as_str(), "true" | "t" | "on"));
    if emit {
        return Some(match args.as_slice() {
            [transactional, prefix, content] if !prefix.is_empty() => {
                PublisherCommand::EmitMessage {
                    transactional: truthy(Some(transactional)),
                    prefix: prefix.clone(),
                    content: content.clone().into_bytes(),
                }
            }
            [_, _, _] => PublisherCommand::Invalid(ErrorInfo::new(
                SqlState::INVALID_PARAMETER_VALUE,
                "prefix must not be empty",
            )),
            _ => PublisherCommand::Invalid(ErrorInfo::new(
                SqlState::UNDEFINED_FUNCTION,
                "function pg_logical_emit_message does not exist",
            )),
        });
    }
    Some(if create {
        if args.len() < 2 {
            return Some(PublisherCommand::Invalid(ErrorInfo::new(
                SqlState::UNDEFINED_FUNCTION,
                "function pg_create_logical_replication_slot(unknown) does not exist",
            )));
        }
        PublisherCommand::CreateSlot {
            name: args[0].clone(),
            plugin: args[1].clone(),
            two_phase: truthy(args.get(3)),
            temporary: truthy(args.get(2)),
            expanded,
        }
    } else {
        match args.first() {
            Some(n) => PublisherCommand::DropSlot(n.clone()),
            None => {
                return Some(PublisherCommand::Invalid(ErrorInfo::new(
                    SqlState::UNDEFINED_FUNCTION,
                    "function pg_drop_replication_slot() does not exist",
                )));
            }
        }
    })
}

/// The result columns of a publisher command in the extended protocol.
pub fn describe(cmd: &PublisherCommand) -> Option<Schema> {
    match cmd {
        PublisherCommand::CreateSlot { expanded, .. } => Some(if *expanded {
            Schema::from(vec![
                FieldInfo::new("slot_name", Type::NAME),
                FieldInfo::new("lsn", Type::TEXT),
            ])
        } else {
            Schema::from(vec![FieldInfo::new(
                "pg_create_logical_replication_slot",
                Type::TEXT,
            )])
        }),
        PublisherCommand::DropSlot(_) => Some(Schema::from(vec![FieldInfo::new(
            "pg_drop_replication_slot",
            Type::TEXT,
        )])),
        // pg_lsn in PostgreSQL; its text form here, as the slot functions'
        // LSNs.
        PublisherCommand::EmitMessage { .. } => Some(Schema::from(vec![FieldInfo::new(
            "pg_logical_emit_message",
            Type::TEXT,
        )])),
        _ => None,
    }
}

fn publication_missing(name: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::UNDEFINED_OBJECT,
        format!("publication \"{name}\" does not exist"),
    )
}

impl SqliteSession {
    /// Runs a publication or slot statement.
    pub(super) async fn publisher_command(
        &mut self,
        session: &mut Session,
        cmd: &PublisherCommand,
    ) -> Response {
        if session.transaction_status() == pgwire::messages::TransactionStatus::Failed {
            return Response::Error(super::transactions::in_failed_transaction());
        }
        let cmd = cmd.clone();
        let result = match cmd {
            PublisherCommand::Invalid(e) => Err(e),
            PublisherCommand::CreateSlot {
                name,
                plugin,
                two_phase,
                temporary,
                expanded,
            } => {
                if let Err(e) = super::replication::check_no_writes(&self.engine).await {
                    return Response::Error(e);
                }
                let owner = temporary.then(|| session.client().process_id());
                let created = super::replication::create_slot(
                    &self.db_path,
                    &name,
                    &plugin,
                    two_phase,
                    None,
                    owner,
                )
                .await;
                if created.is_ok() && temporary {
                    self.temp_slots
                        .hold(&self.db_path, &name, session.client().process_id());
                }
                created.map(|lsn| {
                    let lsn = lsn.to_string();
                    let schema = describe(&PublisherCommand::CreateSlot {
                        name: String::new(),
                        plugin: String::new(),
                        two_phase,
                        temporary,
                        expanded,
                    })
                    .unwrap_or_default();
                    let rows = if expanded {
                        Rows::from_iterator([(name.clone(), lsn)])
                    } else {
                        Rows::from_iterator([(format!("({name},{lsn})"),)])
                    };
                    Response::Query(
                        QueryResponse::new(schema, rows).with_tag(Tag::counting("SELECT")),
                    )
                })
            }
            PublisherCommand::EmitMessage {
                transactional,
                prefix,
                content,
            } => {
                let logged = self
                    .engine
                    .call(None, move |db| {
                        emit_message(&db.conn, transactional, &prefix, &content)
                            .map_err(|e| db.error(&e))
                    })
                    .await
                    .and_then(|r| r);
                logged.map(|lsn| {
                    let schema = describe(&PublisherCommand::EmitMessage {
                        transactional,
                        prefix: String::new(),
                        content: Vec::new(),
                    })
                    .unwrap_or_default();
                    Response::Query(
                        QueryResponse::new(schema, Rows::from_iterator([(lsn.to_string(),)]))
                            .with_tag(Tag::counting("SELECT")),
                    )
                })
            }
            PublisherCommand::DropSlot(name) => {
                let own = session.client().process_id();
                super::replication::drop_slot(&self.db_path, &name, false, Some(own))
                    .await
                    .map(|()| {
                        self.temp_slots.forget(&name);
                        let schema = describe(&PublisherCommand::DropSlot(String::new()))
                            .unwrap_or_default();
                        Response::Query(
                            QueryResponse::new(schema, Rows::from_iterator([("".to_owned(),)]))
                                .with_tag(Tag::counting("SELECT")),
                        )
                    })
            }
            other => {
                let in_block =
                    session.transaction_status() != pgwire::messages::TransactionStatus::Idle;
                let outcome = self
                    .engine
                    .call(None, move |db| {
                        run_ddl(&db.conn, &other, in_block).map_err(|e| match e {
                            DdlError::Sql(e) => db.error(&e),
                            DdlError::Pg(e) => e,
                        })
                    })
                    .await
                    .and_then(|r| r);
                outcome.map(|(tag, notices)| {
                    for n in notices {
                        session.send_notice(n);
                    }
                    Response::Execution(Tag::new(tag))
                })
            }
        };
        result.unwrap_or_else(Response::Error)
    }
}

/// Logs a logical decoding message in the session's transaction (a
/// non-transactional one too: SQLite makes it visible when the
/// transaction commits, and a rollback loses it, where PostgreSQL would
/// send it at once). Returns its LSN.
fn emit_message(
    conn: &Connection,
    transactional: bool,
    prefix: &str,
    content: &[u8],
) -> rusqlite::Result<Lsn> {
    let mut hex = String::with_capacity(content.len() * 2);
    for b in content {
        hex.push_str(&format!("{b:02x}"));
    }
    let (xid, op) = (current_xid(), if transactional { "M" } else { "m" });
    conn.execute(
        "INSERT INTO _pgwire_changes (xid, rel, op, new, ts) VALUES (?1, ?2, ?3, ?4, pgwire_now())",
        rusqlite::params![xid, prefix, op, hex],
    )?;
    let seq = conn.last_insert_rowid();
    record_live(xid, seq, prefix, op, None, Some(hex));
    Ok(Lsn(super::replication::seq_lsn(seq)))
}

enum DdlError {
    Sql(rusqlite::Error),
    Pg(ErrorInfo),
}

impl From<rusqlite::Error> for DdlError {
    fn from(e: rusqlite::Error) -> Self {
        DdlError::Sql(e)
    }
}

impl From<ErrorInfo> for DdlError {
    fn from(e: ErrorInfo) -> Self {
        DdlError::Pg(e)
    }
}

fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM main.sqlite_schema WHERE type = 'table' AND name = ?1 \
         AND name NOT LIKE '\\_pgwire\\_%' ESCAPE '\\'",
        [name],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

fn check_tables(conn: &Connection, tables: &[String]) -> Result<(), DdlError> {
    for t in tables {
        if !table_exists(conn, t)? {
            return Err(DdlError::Pg(ErrorInfo::new(
                SqlState::UNDEFINED_TABLE,
                format!("relation \"{t}\" does not exist"),
            )));
        }
    }
    Ok(())
}

/// Runs a publication statement in one savepoint (all or nothing),
/// then brings the capture triggers in line.
fn run_ddl(
    conn: &Connection,
    cmd: &PublisherCommand,
    in_block: bool,
) -> Result<(&'static str, Vec<ErrorInfo>), DdlError> {
    let _ = in_block;
    conn.execute_batch("SAVEPOINT pgwire_publication")?;
    let result = run_ddl_inner(conn, cmd).and_then(|r| {
        sync_triggers(conn)?;
        Ok(r)
    });
    match &result {
        Ok(_) => conn.execute_batch("RELEASE pgwire_publication")?,
        Err(_) => {
            let _ =
                conn.execute_batch("ROLLBACK TO pgwire_publication; RELEASE pgwire_publication");
        }
    }
    result
}

fn run_ddl_inner(
    conn: &Connection,
    cmd: &PublisherCommand,
) -> Result<(&'static str, Vec<ErrorInfo>), DdlError> {
    let exists = |name: &str| -> rusqlite::Result<Option<bool>> {
        conn.query_row(
            "SELECT puballtables FROM _pgwire_publication WHERE pubname = ?1",
            [name],
            |r| r.get::<_, bool>(0),
        )
        .optional()
    };
    match cmd {
        PublisherCommand::Create {
            name,
            all_tables,
            tables,
            publish,
        } => {
            if exists(name)?.is_some() {
                return Err(ErrorInfo::new(
                    SqlState::DUPLICATE_OBJECT,
                    format!("publication \"{name}\" already exists"),
                )
                .into());
            }
            check_tables(conn, tables)?;
            conn.execute(
                "INSERT INTO _pgwire_publication (pubname, puballtables, pubinsert, pubupdate, \
                 pubdelete, pubtruncate) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    name, all_tables, publish[0], publish[1], publish[2], publish[3]
                ],
            )?;
            for t in tables {
                conn.execute(
                    "INSERT OR IGNORE INTO _pgwire_publication_rel (pubname, relname) VALUES (?1, ?2)",
                    [name, t],
                )?;
            }
            Ok(("CREATE PUBLICATION", Vec::new()))
        }
        PublisherCommand::Alter { name, action } => {
            let Some(all) = exists(name)? else {
                return Err(publication_missing(name).into());
            };
            if all && !matches!(action, AlterAction::Publish(_)) {
                return Err(ErrorInfo::new(
                    SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                    format!("publication \"{name}\" is defined as FOR ALL TABLES"),
                )
                .with_detail(
                    "Tables cannot be added to or dropped from FOR ALL TABLES publications.",
                )
                .into());
            }
            match action {
                AlterAction::Publish(p) => {
                    conn.execute(
                        "UPDATE _pgwire_publication SET pubinsert = ?2, pubupdate = ?3, \
                         pubdelete = ?4, pubtruncate = ?5 WHERE pubname = ?1",
                        rusqlite::params![name, p[0], p[1], p[2], p[3]],
                    )?;
                }
                AlterAction::Add(tables) => {
                    check_tables(conn, tables)?;
                    for t in tables {
                        let n = conn.execute(
                            "INSERT OR IGNORE INTO _pgwire_publication_rel (pubname, relname) \
                             VALUES (?1, ?2)",
                            [name, t],
                        )?;
                        if n == 0 {
                            return Err(ErrorInfo::new(
                                SqlState::DUPLICATE_OBJECT,
                                format!(
                                    "relation \"{t}\" is already member of publication \"{name}\""
                                ),
                            )
                            .into());
                        }
                    }
                }
                AlterAction::Drop(tables) => {
                    check_tables(conn, tables)?;
                    for t in tables {
                        let n = conn.execute(
                            "DELETE FROM _pgwire_publication_rel WHERE pubname = ?1 AND relname = ?2",
                            [name, t],
                        )?;
                        if n == 0 {
                            return Err(ErrorInfo::new(
                                SqlState::UNDEFINED_OBJECT,
                                format!("relation \"{t}\" is not part of the publication"),
                            )
                            .into());
                        }
                    }
                }
                AlterAction::Set(tables) => {
                    check_tables(conn, tables)?;
                    conn.execute(
                        "DELETE FROM _pgwire_publication_rel WHERE pubname = ?1",
                        [name],
                    )?;
                    for t in tables {
                        conn.execute(
                            "INSERT OR IGNORE INTO _pgwire_publication_rel (pubname, relname) \
                             VALUES (?1, ?2)",
                            [name, t],
                        )?;
                    }
                }
            }
            Ok(("ALTER PUBLICATION", Vec::new()))
        }
        PublisherCommand::Drop { names, if_exists } => {
            let mut notices = Vec::new();
            for name in names {
                if exists(name)?.is_none() {
                    if *if_exists {
                        notices.push(
                            ErrorInfo::new(
                                SqlState::SUCCESSFUL_COMPLETION,
                                format!("publication \"{name}\" does not exist, skipping"),
                            )
                            .with_severity(Severity::Notice),
                        );
                        continue;
                    }
                    return Err(publication_missing(name).into());
                }
                conn.execute("DELETE FROM _pgwire_publication WHERE pubname = ?1", [name])?;
                conn.execute(
                    "DELETE FROM _pgwire_publication_rel WHERE pubname = ?1",
                    [name],
                )?;
            }
            Ok(("DROP PUBLICATION", notices))
        }
        _ => Err(ErrorInfo::new(SqlState::INTERNAL_ERROR, "not a publication statement").into()),
    }
}

/// The publications `names` as the stream filters with them: whether any
/// is FOR ALL TABLES, their tables, and what they publish (union).
#[derive(Debug, Clone, Default)]
pub struct PublicationSet {
    /// Some publication is FOR ALL TABLES.
    pub all_tables: bool,
    /// The tables of the others.
    pub tables: Vec<String>,
    /// insert, update, delete, truncate.
    pub publish: [bool; 4],
}

impl PublicationSet {
    /// Whether changes `op` (I, U, D, T) of `table` are published.
    pub fn publishes(&self, table: &str, op: &str) -> bool {
        let kind = match op {
            "I" => 0,
            "U" => 1,
            "D" => 2,
            _ => 3,
        };
        self.publish[kind] && (self.all_tables || self.tables.iter().any(|t| t == table))
    }
}

/// Reads publications `names`; 42704 for one that does not exist.
pub fn load_publications(conn: &Connection, names: &[String]) -> Result<PublicationSet, ErrorInfo> {
    let mut set = PublicationSet::default();
    for name in names {
        let row = conn
            .query_row(
                "SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate \
                 FROM _pgwire_publication WHERE pubname = ?1",
                [name],
                |r| {
                    Ok((
                        r.get::<_, bool>(0)?,
                        [
                            r.get::<_, bool>(1)?,
                            r.get::<_, bool>(2)?,
                            r.get::<_, bool>(3)?,
                            r.get::<_, bool>(4)?,
                        ],
                    ))
                },
            )
            .optional()
            .map_err(|e| from_sqlite(&e))?;
        let Some((all, publish)) = row else {
            return Err(publication_missing(name));
        };
        set.all_tables |= all;
        for (s, p) in set.publish.iter_mut().zip(publish) {
            *s |= p;
        }
        let mut stmt = conn
            .prepare("SELECT relname FROM _pgwire_publication_rel WHERE pubname = ?1")
            .map_err(|e| from_sqlite(&e))?;
        let tables = stmt
            .query_map([name], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| from_sqlite(&e))?;
        set.tables.extend(tables);
    }
    Ok(set)
}
