//! The one database all sessions share, and how statements and
//! transactions run against it.
//!
//! GlueSQL's shared memory storage has no transactions (`BEGIN` fails with
//! "transaction is not supported"): each storage call takes its own lock, so
//! two sessions' statements interleave call by call. This module adds the
//! isolation:
//!
//! - Outside a transaction block each statement runs alone: writes hold the
//!   database's write lock, reads its read lock, so a statement sees no
//!   half-made change and two `UPDATE t SET n = n + 1` do not lose one.
//! - A transaction block works on a private copy of the database, taken at
//!   its first statement (as PostgreSQL takes a REPEATABLE READ snapshot):
//!   it sees its own changes and nobody else's. `COMMIT` installs the copy
//!   if no other session committed a change since the copy was taken;
//!   otherwise it fails with 40001 (`could not serialize access due to
//!   concurrent update`) and the block is rolled back. A statement that
//!   writes fails the same way as soon as such a change exists, rather than
//!   at `COMMIT`. `ROLLBACK` drops the copy. Savepoints are copies too.
//! - Several statements sent in one simple Query (`INSERT ..; INSERT ..`)
//!   form one implicit transaction, as in PostgreSQL, holding the write lock
//!   throughout: all or nothing, and never a 40001.
//!
//! The result is serializable: a transaction's writes only become visible
//! if nothing else was committed since its snapshot. Conflicts are found
//! per database, not per row: any commit by another session fails a
//! concurrent transaction that writes, even to another table. Nothing ever
//! waits for another session's transaction (no lock waits, no deadlocks).
//! The copies cost time and memory in proportion to the database's size:
//! fine for an in-memory example, not for big data.

use std::sync::Arc;

use gluesql_core::ast::Statement;
use gluesql_core::executor::{Payload, execute};
use gluesql_core::plan::StatementPlan;
use gluesql_core::store::Planner;
use gluesql_memory_storage::MemoryStorage;
use gluesql_shared_memory_storage::SharedMemoryStorage;
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::types::Type;
use tokio::sync::{OwnedRwLockWriteGuard, RwLock};

use super::describe::column_types;
use super::errors::glue_error;

/// The database shared by every session.
pub struct Database {
    storage: SharedMemoryStorage,
    /// Counts committed changes. Writers hold it for writing while they
    /// change `storage`; readers hold it for reading.
    version: Arc<RwLock<u64>>,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            storage: SharedMemoryStorage::new(),
            version: Arc::new(RwLock::new(0)),
        }
    }
}

/// Whether a GlueSQL statement only reads.
fn is_read_only(stmt: &Statement) -> bool {
    matches!(
        stmt,
        Statement::Query(_)
            | Statement::ShowColumns { .. }
            | Statement::ShowVariable(_)
            | Statement::ShowIndexes(_)
    )
}

/// What a statement returned.
pub struct Executed {
    /// GlueSQL's result.
    pub payload: Payload,
    /// For a query, the types of its result columns as far as the table
    /// schemas tell (read before it ran, under the same lock).
    pub column_types: Option<Vec<Option<Type>>>,
}

/// Plans and runs a statement on `storage`.
fn run(storage: &mut SharedMemoryStorage, stmt: Statement) -> Result<Executed, ErrorInfo> {
    let column_types = match &stmt {
        Statement::Query(q) => column_types(storage, q),
        _ => None,
    };
    let plan = storage
        .plan(StatementPlan::from(stmt))
        .map_err(glue_error)?;
    let payload = execute(storage, &plan).map_err(glue_error)?;
    Ok(Executed {
        payload,
        column_types,
    })
}

/// Runs a statement that only reads, to learn the columns of its result.
pub fn dry_run(storage: &mut SharedMemoryStorage, stmt: Statement) -> Result<Payload, ErrorInfo> {
    if !is_read_only(&stmt) {
        return Err(ErrorInfo::new(
            SqlState::INTERNAL_ERROR,
            "only queries can be run to describe their results",
        ));
    }
    run(storage, stmt).map(|e| e.payload)
}

fn poisoned() -> ErrorInfo {
    ErrorInfo::new(SqlState::INTERNAL_ERROR, "the database lock is poisoned")
}

/// A copy of the whole database.
fn copy_of(storage: &SharedMemoryStorage) -> Result<MemoryStorage, ErrorInfo> {
    Ok(storage.database.read().map_err(|_| poisoned())?.clone())
}

fn conflict() -> ErrorInfo {
    ErrorInfo::new(
        SqlState::SERIALIZATION_FAILURE,
        "could not serialize access due to concurrent update",
    )
    .with_detail("Another session committed a change after this transaction took its snapshot.")
    .with_hint("Retry the transaction.")
}

impl Database {
    /// Runs statements before any session exists (the catalog's tables).
    pub fn seed(&self, stmts: Vec<Statement>) -> Result<(), ErrorInfo> {
        let mut storage = self.storage.clone();
        for stmt in stmts {
            run(&mut storage, stmt)?;
        }
        Ok(())
    }

    /// Runs a statement outside any transaction block.
    pub async fn execute(&self, stmt: Statement) -> Result<Executed, ErrorInfo> {
        let mut storage = self.storage.clone();
        if is_read_only(&stmt) {
            let _reading = self.version.read().await;
            run(&mut storage, stmt)
        } else {
            let mut version = self.version.write().await;
            // Counted even if the statement fails: it may have changed
            // something before failing.
            *version += 1;
            run(&mut storage, stmt)
        }
    }

    /// Calls `f` with the committed database (for describing statements).
    pub async fn read<R>(&self, f: impl FnOnce(&mut SharedMemoryStorage) -> R) -> R {
        let _reading = self.version.read().await;
        f(&mut self.storage.clone())
    }
}

/// A private copy of the database a transaction works on.
struct Snapshot {
    storage: SharedMemoryStorage,
    /// The database version the copy was taken at.
    base: u64,
    /// Whether the transaction ran a statement that writes.
    wrote: bool,
}

struct Savepoint {
    name: String,
    data: MemoryStorage,
    wrote: bool,
}

/// A transaction: a transaction block (`BEGIN` ... `COMMIT`) or the
/// implicit transaction of a multi-statement query. Dropping it rolls it
/// back.
pub struct Transaction {
    snapshot: Option<Snapshot>,
    savepoints: Vec<Savepoint>,
    /// Held by an implicit transaction until it ends: nobody else changes
    /// the database meanwhile, so it cannot conflict.
    exclusive: Option<OwnedRwLockWriteGuard<u64>>,
}

impl Transaction {
    /// A transaction block. It takes its snapshot at its first statement.
    pub fn block() -> Self {
        Transaction {
            snapshot: None,
            savepoints: Vec::new(),
            exclusive: None,
        }
    }

    /// An implicit transaction, holding the database's write lock until it
    /// ends.
    pub async fn exclusive(db: &Database) -> Self {
        Transaction {
            snapshot: None,
            savepoints: Vec::new(),
            exclusive: Some(db.version.clone().write_owned().await),
        }
    }

    async fn snapshot(&mut self, db: &Database) -> Result<&mut Snapshot, ErrorInfo> {
        if self.snapshot.is_none() {
            let (data, base) = match &self.exclusive {
                Some(version) => (copy_of(&db.storage)?, **version),
                None => {
                    let version = db.version.read().await;
                    (copy_of(&db.storage)?, *version)
                }
            };
            self.snapshot = Some(Snapshot {
                storage: SharedMemoryStorage::from(data),
                base,
                wrote: false,
            });
        }
        self.snapshot
            .as_mut()
            .ok_or_else(|| ErrorInfo::new(SqlState::INTERNAL_ERROR, "no snapshot"))
    }

    /// Runs a statement in the transaction.
    pub async fn execute(&mut self, db: &Database, stmt: Statement) -> Result<Executed, ErrorInfo> {
        let writes = !is_read_only(&stmt);
        let exclusive = self.exclusive.is_some();
        let snapshot = self.snapshot(db).await?;
        if writes {
            if !exclusive && *db.version.read().await != snapshot.base {
                return Err(conflict());
            }
            snapshot.wrote = true;
        }
        run(&mut snapshot.storage, stmt)
    }

    /// Calls `f` with what the transaction sees (for describing
    /// statements).
    pub async fn read<R>(
        &mut self,
        db: &Database,
        f: impl FnOnce(&mut SharedMemoryStorage) -> R,
    ) -> R {
        match (&mut self.snapshot, &self.exclusive) {
            (Some(s), _) => f(&mut s.storage),
            (None, Some(_)) => f(&mut db.storage.clone()),
            (None, None) => db.read(f).await,
        }
    }

    /// Makes the transaction's changes visible to everyone, if no other
    /// session committed since its snapshot (40001 otherwise).
    pub async fn commit(mut self, db: &Database) -> Result<(), ErrorInfo> {
        let Some(snapshot) = self.snapshot.take() else {
            return Ok(());
        };
        if !snapshot.wrote {
            return Ok(());
        }
        let mut version = match self.exclusive.take() {
            Some(v) => v,
            None => db.version.clone().write_owned().await,
        };
        if *version != snapshot.base {
            return Err(conflict());
        }
        let data = std::mem::take(&mut *snapshot.storage.database.write().map_err(|_| poisoned())?);
        *db.storage.database.write().map_err(|_| poisoned())? = data;
        *version += 1;
        Ok(())
    }

    /// `SAVEPOINT name`.
    pub async fn savepoint(&mut self, db: &Database, name: String) -> Result<(), ErrorInfo> {
        let snapshot = self.snapshot(db).await?;
        let savepoint = Savepoint {
            name,
            data: copy_of(&snapshot.storage)?,
            wrote: snapshot.wrote,
        };
        self.savepoints.push(savepoint);
        Ok(())
    }

    fn find_savepoint(&self, name: &str) -> Result<usize, ErrorInfo> {
        self.savepoints
            .iter()
            .rposition(|s| s.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                ErrorInfo::new(
                    SqlState::INVALID_SAVEPOINT_SPECIFICATION,
                    format!("savepoint \"{name}\" does not exist"),
                )
            })
    }

    /// `ROLLBACK TO SAVEPOINT name`: back to the state at the savepoint,
    /// which stays.
    pub fn rollback_to(&mut self, name: &str) -> Result<(), ErrorInfo> {
        let at = self.find_savepoint(name)?;
        self.savepoints.truncate(at + 1);
        let (Some(savepoint), Some(snapshot)) = (self.savepoints.last(), self.snapshot.as_mut())
        else {
            return Err(ErrorInfo::new(SqlState::INTERNAL_ERROR, "no snapshot"));
        };
        *snapshot.storage.database.write().map_err(|_| poisoned())? = savepoint.data.clone();
        snapshot.wrote = savepoint.wrote;
        Ok(())
    }

    /// `RELEASE SAVEPOINT name`: forgets it and every later savepoint.
    pub fn release(&mut self, name: &str) -> Result<(), ErrorInfo> {
        let at = self.find_savepoint(name)?;
        self.savepoints.truncate(at);
        Ok(())
    }
}
