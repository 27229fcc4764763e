//! Large objects, as PostgreSQL's `lo_*` functions called through the
//! function call protocol (what pgJDBC's `LargeObjectManager` uses),
//! stored in SQLite: an object is a row of `pgwire_largeobject_metadata`
//! and its bytes are pages of `pgwire_largeobject`, written in the
//! session's transaction (so a rollback undoes them, as in PostgreSQL).
//!
//! pgJDBC looks the functions' OIDs up first with
//! `SELECT p.proname,p.oid FROM pg_catalog.pg_proc p, pg_catalog.pg_namespace n
//! WHERE p.pronamespace=n.oid AND n.nspname='pg_catalog' AND (proname = 'lo_open' or ...)`;
//! the example's catalog (`catalog.rs`, from `pgwire::catalog`) answers it
//! with PostgreSQL's built-in `pg_proc` rows, whose OIDs are the ones
//! dispatched here.
//!
//! Descriptors belong to the session and, as in PostgreSQL, to a
//! transaction: a call outside a transaction block starts with none open.

use std::collections::HashMap;

use bytes::Bytes;
use pgwire::api::{FunctionCallHandler, FunctionCallRequest, Session};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::messages::TransactionStatus;
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteSession;
use super::engine::Db;
use super::errors::from_sqlite;

/// Bytes per stored page.
const PAGE: i64 = 8192;
/// `INV_WRITE` and `INV_READ` of `libpq-fs.h`.
const INV_WRITE: i32 = 0x0002_0000;
const INV_READ: i32 = 0x0004_0000;
/// PostgreSQL's largest large object (4 TB).
const MAX_SIZE: i64 = (i32::MAX as i64) * 2048;
/// The first OID handed out (PostgreSQL's FirstNormalObjectId).
const FIRST_OID: i64 = 16384;

/// The functions served, by PostgreSQL's OIDs.
const FUNCTIONS: &[(u32, &str)] = &[
    (715, "lo_create"),
    (952, "lo_open"),
    (953, "lo_close"),
    (954, "loread"),
    (955, "lowrite"),
    (956, "lo_lseek"),
    (957, "lo_creat"),
    (958, "lo_tell"),
    (964, "lo_unlink"),
    (1004, "lo_truncate"),
    (3170, "lo_lseek64"),
    (3171, "lo_tell64"),
    (3172, "lo_truncate64"),
];

/// The storage tables, created with the first large object (so that a
/// database without large objects has no extra tables).
const STORAGE_TABLES: &str =
    "CREATE TABLE IF NOT EXISTS pgwire_largeobject_metadata (oid INTEGER PRIMARY KEY);
     CREATE TABLE IF NOT EXISTS pgwire_largeobject (
         loid INTEGER NOT NULL, pageno INTEGER NOT NULL, data BLOB NOT NULL,
         PRIMARY KEY (loid, pageno)) WITHOUT ROWID;";

/// An open large object.
#[derive(Debug, Clone, Copy)]
struct Descriptor {
    oid: i64,
    offset: i64,
    writable: bool,
}

/// A session's open descriptors.
#[derive(Debug, Default)]
pub struct Descriptors {
    open: HashMap<i32, Descriptor>,
    next: i32,
}

fn undefined(oid: i64) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::UNDEFINED_OBJECT,
        format!("large object {oid} does not exist"),
    )
}

fn bad_fd(fd: i32) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::UNDEFINED_OBJECT,
        format!("invalid large-object descriptor: {fd}"),
    )
}

fn invalid(message: String) -> ErrorInfo {
    ErrorInfo::new(SqlState::INVALID_PARAMETER_VALUE, message)
}

fn null_arg() -> ErrorInfo {
    // PostgreSQL's fast path calls strict functions with NULL as NULL;
    // the lo functions then return NULL. Refusing is clearer here.
    invalid("large-object functions do not take NULL arguments".to_owned())
}

fn i32_arg(call: &FunctionCallRequest, i: usize) -> Result<i32, ErrorInfo> {
    call.arg_i32(i)?.ok_or_else(null_arg)
}

fn i64_arg(call: &FunctionCallRequest, i: usize) -> Result<i64, ErrorInfo> {
    call.arg_i64(i)?.ok_or_else(null_arg)
}

/// An `oid` argument: PostgreSQL's fast path sends it as an unsigned Int32.
fn oid_arg(call: &FunctionCallRequest, i: usize) -> Result<i64, ErrorInfo> {
    if call.arg_format(i) == pgwire::types::FieldFormat::Binary {
        Ok(i64::from(i32_arg(call, i)? as u32))
    } else {
        i64_arg(call, i)
    }
}

fn oid_result(call: &FunctionCallRequest, oid: i64) -> Bytes {
    if call.result_format() == pgwire::types::FieldFormat::Binary {
        call.encode_i32(oid as u32 as i32)
    } else {
        Bytes::from(oid.to_string())
    }
}

impl FunctionCallHandler for SqliteSession {
    async fn call_function(
        &mut self,
        session: &mut Session,
        call: &FunctionCallRequest,
    ) -> Result<Option<Bytes>, ErrorInfo> {
        let Some(&(_, name)) = FUNCTIONS.iter().find(|(o, _)| *o == call.function_oid()) else {
            return Err(call.undefined_function());
        };
        if session.transaction_status() == TransactionStatus::Idle {
            // The previous transaction ended: its descriptors closed.
            self.large_objects.open.clear();
        }
        match name {
            "lo_creat" => {
                call.expect_args(1)?;
                let _mode = i32_arg(call, 0)?;
                let oid = self.lo_db(move |db| create(db, 0)).await?;
                Ok(Some(oid_result(call, oid)))
            }
            "lo_create" => {
                call.expect_args(1)?;
                let wanted = oid_arg(call, 0)?;
                let oid = self.lo_db(move |db| create(db, wanted)).await?;
                Ok(Some(oid_result(call, oid)))
            }
            "lo_open" => {
                call.expect_args(2)?;
                let oid = oid_arg(call, 0)?;
                let mode = i32_arg(call, 1)?;
                if mode & (INV_READ | INV_WRITE) == 0 {
                    return Err(invalid(format!(
                        "invalid flags for opening a large object: {mode}"
                    )));
                }
                self.lo_db(move |db| {
                    exists(db, oid).and_then(|e| if e { Ok(()) } else { Err(undefined(oid)) })
                })
                .await?;
                let fds = &mut self.large_objects;
                let fd = fds.next;
                fds.next = fds.next.wrapping_add(1).max(0);
                fds.open.insert(
                    fd,
                    Descriptor {
                        oid,
                        offset: 0,
                        writable: mode & INV_WRITE != 0,
                    },
                );
                Ok(Some(call.encode_i32(fd)))
            }
            "lo_close" => {
                call.expect_args(1)?;
                let fd = i32_arg(call, 0)?;
                self.large_objects
                    .open
                    .remove(&fd)
                    .ok_or_else(|| bad_fd(fd))?;
                Ok(Some(call.encode_i32(0)))
            }
            "loread" => {
                call.expect_args(2)?;
                let fd = i32_arg(call, 0)?;
                let len = i32_arg(call, 1)?;
                if len < 0 {
                    return Err(invalid("requested length cannot be negative".to_owned()));
                }
                let d = self.descriptor(fd)?;
                let data = self
                    .lo_db(move |db| {
                        read(&db.conn, d.oid, d.offset, len as i64).map_err(|e| from_sqlite(&e))
                    })
                    .await?;
                self.set_offset(fd, d.offset + data.len() as i64);
                Ok(Some(call.encode_bytea(data)))
            }
            "lowrite" => {
                call.expect_args(2)?;
                let fd = i32_arg(call, 0)?;
                let data = call.arg_bytea(1)?.ok_or_else(null_arg)?;
                let d = self.writable(fd)?;
                let n = data.len() as i64;
                if d.offset + n > MAX_SIZE {
                    return Err(invalid(format!(
                        "invalid large object write request size: {n}"
                    )));
                }
                self.lo_db(move |db| write(db, d.oid, d.offset, &data))
                    .await?;
                self.set_offset(fd, d.offset + n);
                Ok(Some(call.encode_i32(n as i32)))
            }
            "lo_lseek" | "lo_lseek64" => {
                call.expect_args(3)?;
                let fd = i32_arg(call, 0)?;
                let offset = if name == "lo_lseek" {
                    i64::from(i32_arg(call, 1)?)
                } else {
                    i64_arg(call, 1)?
                };
                let whence = i32_arg(call, 2)?;
                let d = self.descriptor(fd)?;
                let base = match whence {
                    0 => 0,
                    1 => d.offset,
                    2 => {
                        let oid = d.oid;
                        self.lo_db(move |db| size(&db.conn, oid).map_err(|e| from_sqlite(&e)))
                            .await?
                    }
                    w => return Err(invalid(format!("invalid whence setting: {w}"))),
                };
                let pos = base
                    .checked_add(offset)
                    .filter(|p| (0..=MAX_SIZE).contains(p))
                    .ok_or_else(|| invalid(format!("invalid seek offset: {offset}")))?;
                if name == "lo_lseek" && pos > i64::from(i32::MAX) {
                    return Err(ErrorInfo::new(
                        SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                        format!("lo_lseek result out of range for large-object descriptor {fd}"),
                    ));
                }
                self.set_offset(fd, pos);
                Ok(Some(if name == "lo_lseek" {
                    call.encode_i32(pos as i32)
                } else {
                    call.encode_i64(pos)
                }))
            }
            "lo_tell" | "lo_tell64" => {
                call.expect_args(1)?;
                let fd = i32_arg(call, 0)?;
                let d = self.descriptor(fd)?;
                if name == "lo_tell" {
                    let pos = i32::try_from(d.offset).map_err(|_| {
                        ErrorInfo::new(
                            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                            format!("lo_tell result out of range for large-object descriptor {fd}"),
                        )
                    })?;
                    Ok(Some(call.encode_i32(pos)))
                } else {
                    Ok(Some(call.encode_i64(d.offset)))
                }
            }
            "lo_truncate" | "lo_truncate64" => {
                call.expect_args(2)?;
                let fd = i32_arg(call, 0)?;
                let len = if name == "lo_truncate" {
                    i64::from(i32_arg(call, 1)?)
                } else {
                    i64_arg(call, 1)?
                };
                if !(0..=MAX_SIZE).contains(&len) {
                    return Err(invalid(format!(
                        "invalid large object truncation target: {len}"
                    )));
                }
                let d = self.writable(fd)?;
                self.lo_db(move |db| truncate(db, d.oid, len)).await?;
                Ok(Some(call.encode_i32(0)))
            }
            "lo_unlink" => {
                call.expect_args(1)?;
                let oid = oid_arg(call, 0)?;
                self.lo_db(move |db| unlink(db, oid)).await?;
                self.large_objects.open.retain(|_, d| d.oid != oid);
                Ok(Some(call.encode_i32(1)))
            }
            _ => Err(call.undefined_function()),
        }
    }
}

impl SqliteSession {
    async fn lo_db<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<R, ErrorInfo> + Send + 'static,
    ) -> Result<R, ErrorInfo> {
        self.engine.call(None, f).await?
    }

    fn descriptor(&self, fd: i32) -> Result<Descriptor, ErrorInfo> {
        self.large_objects
            .open
            .get(&fd)
            .copied()
            .ok_or_else(|| bad_fd(fd))
    }

    fn writable(&self, fd: i32) -> Result<Descriptor, ErrorInfo> {
        let d = self.descriptor(fd)?;
        if !d.writable {
            return Err(ErrorInfo::new(
                SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("large object descriptor {fd} was not opened for writing"),
            ));
        }
        Ok(d)
    }

    fn set_offset(&mut self, fd: i32, offset: i64) {
        if let Some(d) = self.large_objects.open.get_mut(&fd) {
            d.offset = offset;
        }
    }
}

/// Runs `f` in a savepoint: all of it or nothing, inside or outside a
/// transaction block.
fn atomically<R>(
    db: &Db,
    f: impl FnOnce(&Connection) -> rusqlite::Result<Result<R, ErrorInfo>>,
) -> Result<R, ErrorInfo> {
    db.batch("SAVEPOINT pgwire_lo")?;
    let result = match f(&db.conn) {
        Ok(r) => r,
        Err(e) => Err(db.error(&e)),
    };
    match &result {
        Ok(_) => db.batch("RELEASE pgwire_lo")?,
        Err(_) => {
            let _ = db.batch("ROLLBACK TO pgwire_lo; RELEASE pgwire_lo");
        }
    }
    result
}

/// Whether the storage tables exist (no large object was ever created
/// otherwise).
fn has_storage(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pgwire_largeobject_metadata'",
        [],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
}

fn exists(db: &Db, oid: i64) -> Result<bool, ErrorInfo> {
    if !has_storage(&db.conn).map_err(|e| db.error(&e))? {
        return Ok(false);
    }
    db.conn
        .query_row(
            "SELECT 1 FROM pgwire_largeobject_metadata WHERE oid = ?1",
            [oid],
            |_| Ok(()),
        )
        .optional()
        .map(|r| r.is_some())
        .map_err(|e| db.error(&e))
}

fn create(db: &mut Db, wanted: i64) -> Result<i64, ErrorInfo> {
    atomically(db, |conn| {
        conn.execute_batch(STORAGE_TABLES)?;
        let oid = if wanted == 0 {
            let max: Option<i64> = conn.query_row(
                "SELECT max(oid) FROM pgwire_largeobject_metadata",
                [],
                |r| r.get(0),
            )?;
            max.map_or(FIRST_OID, |m| (m + 1).max(FIRST_OID))
        } else {
            wanted
        };
        if oid > i64::from(u32::MAX) {
            return Ok(Err(ErrorInfo::new(
                SqlState::PROGRAM_LIMIT_EXCEEDED,
                "no more large object OIDs",
            )));
        }
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO pgwire_largeobject_metadata (oid) VALUES (?1)",
            [oid],
        )?;
        if inserted == 0 {
            return Ok(Err(ErrorInfo::new(
                SqlState::DUPLICATE_OBJECT,
                format!("large object {oid} already exists"),
            )));
        }
        Ok(Ok(oid))
    })
}

fn unlink(db: &mut Db, oid: i64) -> Result<(), ErrorInfo> {
    if !exists(db, oid)? {
        return Err(undefined(oid));
    }
    atomically(db, |conn| {
        let n = conn.execute(
            "DELETE FROM pgwire_largeobject_metadata WHERE oid = ?1",
            [oid],
        )?;
        if n == 0 {
            return Ok(Err(undefined(oid)));
        }
        conn.execute("DELETE FROM pgwire_largeobject WHERE loid = ?1", [oid])?;
        Ok(Ok(()))
    })
}

/// The object's size: the end of its last page.
fn size(conn: &Connection, oid: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT pageno, length(data) FROM pgwire_largeobject WHERE loid = ?1
         ORDER BY pageno DESC LIMIT 1",
        [oid],
        |r| Ok(r.get::<_, i64>(0)? * PAGE + r.get::<_, i64>(1)?),
    )
    .optional()
    .map(|s| s.unwrap_or(0))
}

/// Up to `len` bytes from `offset`; holes read as zeros.
fn read(conn: &Connection, oid: i64, offset: i64, len: i64) -> rusqlite::Result<Vec<u8>> {
    let end = (offset + len).min(size(conn, oid)?);
    if end <= offset {
        return Ok(Vec::new());
    }
    let mut out = vec![0u8; (end - offset) as usize];
    let mut stmt = conn.prepare_cached(
        "SELECT pageno, data FROM pgwire_largeobject
         WHERE loid = ?1 AND pageno BETWEEN ?2 AND ?3",
    )?;
    let mut rows = stmt.query(params![oid, offset / PAGE, (end - 1) / PAGE])?;
    while let Some(row) = rows.next()? {
        let pageno: i64 = row.get(0)?;
        let data = row.get_ref(1)?.as_blob().unwrap_or(&[]);
        let page_start = pageno * PAGE;
        let from = offset.max(page_start);
        let to = end.min(page_start + data.len() as i64);
        if from < to {
            let src = &data[(from - page_start) as usize..(to - page_start) as usize];
            out[(from - offset) as usize..(to - offset) as usize].copy_from_slice(src);
        }
    }
    Ok(out)
}

fn write(db: &mut Db, oid: i64, offset: i64, data: &[u8]) -> Result<(), ErrorInfo> {
    atomically(db, |conn| {
        let mut get = conn.prepare_cached(
            "SELECT data FROM pgwire_largeobject WHERE loid = ?1 AND pageno = ?2",
        )?;
        let mut put = conn.prepare_cached(
            "INSERT OR REPLACE INTO pgwire_largeobject (loid, pageno, data) VALUES (?1, ?2, ?3)",
        )?;
        let mut at = offset;
        let mut rest = data;
        while !rest.is_empty() {
            let pageno = at / PAGE;
            let in_page = (at % PAGE) as usize;
            let n = rest.len().min(PAGE as usize - in_page);
            let mut page: Vec<u8> = if in_page == 0 && n == PAGE as usize {
                Vec::new()
            } else {
                get.query_row(params![oid, pageno], |r| r.get(0))
                    .optional()?
                    .unwrap_or_default()
            };
            if page.len() < in_page + n {
                page.resize(in_page + n, 0);
            }
            page[in_page..in_page + n].copy_from_slice(&rest[..n]);
            put.execute(params![oid, pageno, page])?;
            at += n as i64;
            rest = &rest[n..];
        }
        Ok(Ok(()))
    })
}

fn truncate(db: &mut Db, oid: i64, len: i64) -> Result<(), ErrorInfo> {
    atomically(db, |conn| {
        let current = size(conn, oid)?;
        if len >= current {
            // Extending: a zero-filled last byte makes the size (holes
            // read as zeros).
            if len > current {
                let pageno = (len - 1) / PAGE;
                let in_page = ((len - 1) % PAGE) as usize + 1;
                let existing: Option<Vec<u8>> = conn
                    .query_row(
                        "SELECT data FROM pgwire_largeobject WHERE loid = ?1 AND pageno = ?2",
                        params![oid, pageno],
                        |r| r.get(0),
                    )
                    .optional()?;
                let mut page = existing.unwrap_or_default();
                page.resize(in_page.max(page.len()), 0);
                conn.execute(
                    "INSERT OR REPLACE INTO pgwire_largeobject (loid, pageno, data) VALUES (?1, ?2, ?3)",
                    params![oid, pageno, page],
                )?;
            }
            return Ok(Ok(()));
        }
        let keep_pages = len / PAGE;
        let tail = (len % PAGE) as usize;
        conn.execute(
            "DELETE FROM pgwire_largeobject WHERE loid = ?1 AND pageno > ?2",
            params![oid, keep_pages],
        )?;
        if tail == 0 {
            conn.execute(
                "DELETE FROM pgwire_largeobject WHERE loid = ?1 AND pageno = ?2",
                params![oid, keep_pages],
            )?;
        } else {
            conn.execute(
                "UPDATE pgwire_largeobject SET data = substr(data, 1, ?3)
                 WHERE loid = ?1 AND pageno = ?2",
                params![oid, keep_pages, tail as i64],
            )?;
        }
        Ok(Ok(()))
    })
}
