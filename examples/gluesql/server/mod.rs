//! A PostgreSQL front door for GlueSQL's in-memory storage: one database
//! shared by every session, queried over the simple and the extended
//! protocol.
//!
//! GlueSQL parses and runs the SQL; this server adds what a PostgreSQL
//! client expects around it: transactions with isolation between sessions
//! (GlueSQL's shared memory storage has none), result column types, bound
//! parameters, PostgreSQL's type names and error codes, and the session
//! commands drivers send (`SET`, `SHOW`, `SELECT version()`...).
//!
//! What a PostgreSQL user will notice:
//!
//! - **Transactions** are serializable, with conflicts detected per
//!   database rather than per row. A transaction block works on a snapshot
//!   taken at its first statement and sees no other session's changes
//!   (whatever `SET TRANSACTION ISOLATION LEVEL` says: there is no READ
//!   COMMITTED). If another session commits anything after that snapshot,
//!   this transaction's next write, or its `COMMIT`, fails with 40001
//!   `could not serialize access due to concurrent update` and it is rolled
//!   back: even when the two touched different tables, where PostgreSQL
//!   would have let both commit. Read-only transactions never fail this
//!   way. Nothing ever waits for another session's locks: no lock waits,
//!   no deadlocks. DDL is transactional. `SAVEPOINT`, `ROLLBACK TO` and
//!   `RELEASE` work. A multi-statement simple query is one implicit
//!   transaction, as in PostgreSQL; each extended-protocol Execute outside
//!   a block commits on its own (not at Sync). Each snapshot copies the
//!   whole database. See `database.rs`.
//! - **SQL** is GlueSQL's dialect: no `RETURNING`, `ON CONFLICT`,
//!   sequences/`SERIAL`, `EXPLAIN`, `LISTEN`/`NOTIFY` or `COPY`. Queries
//!   of the system catalogs that describe tables (psql's `\dt`, `\d t`)
//!   are answered by the SQLite example's catalog over a mirror of the
//!   session's tables (`catalog_queries.rs`, simple protocol only). Unquoted names are not folded to lower
//!   case. PostgreSQL type names are mapped to GlueSQL's (`integer` is
//!   4 bytes, `bigint`/`int8` 8, `varchar(n)` and `char(n)` are unbounded
//!   text, `numeric(p,s)` has no precision, `json`/`jsonb` hold objects
//!   only); `timestamptz`, arrays and `serial` do not exist. Integer
//!   literals are `bigint` (PostgreSQL: `integer`), and unnamed result
//!   columns are named after their expression (`1 + 1`, not `?column?`).
//! - **Types**: GlueSQL is dynamically typed, so a Describe before Execute
//!   infers result types from the table schemas, or by running the query
//!   once for one row; where that fails a column is `text`. Parameters
//!   without a client-given type are inferred from their context
//!   (`col = $1`, `INSERT ... VALUES ($1)`, `$1::int4`, `LIMIT $1`), `text`
//!   otherwise. One-byte and unsigned integers are sent as the next larger
//!   PostgreSQL integer, 128-bit ones as `numeric`, maps and lists as
//!   `json`. Timestamps keep microseconds.
//! - **Errors** carry PostgreSQL's SQLSTATEs for the common cases (42601,
//!   42P01, 42703, 42P07, 23505, 23502, 22P02, 22012, 42804, 40001, 25P02);
//!   the rest are XX000 with GlueSQL's message.
//! - Statements run on the connection's task, so a long query occupies a
//!   runtime worker and cannot be cancelled mid-statement (the rows stop
//!   when a cancel arrives).
//!
//! Tests use it as `#[path = "../examples/gluesql/server/mod.rs"] mod
//! gluesql_server;` with [`GlueSqlServer::new`].

mod catalog;
mod catalog_queries;
mod database;
mod describe;
mod errors;
mod pg_formats;
mod results;
mod session_commands;
mod sql;
mod values;

/// The SQLite example, whose catalog answers psql's `\d` queries
/// (`catalog_queries.rs`).
#[allow(dead_code, unused_imports)]
#[path = "../../sqlite/server/mod.rs"]
mod sqlite_catalog;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use gluesql_core::translate::{ParamLiteral, translate_with_params};
use gluesql_shared_memory_storage::SharedMemoryStorage;
use pgwire::api::{
    ExtendedQueryHandler, Portal, Response, Responses, ServerHandlers, Session, SimpleQueryHandler,
    StatementDescription, StoredStatement, Tag,
};
use pgwire::api::{ExtendedQuerySupport, UseExtendedQueryHandler};
use pgwire::error::{ErrorInfo, Severity, SqlState};
use pgwire::messages::TransactionStatus;
use pgwire::types::{Schema, Type};
use sqlparser::ast::Statement as SqlStatement;

use database::{Database, Transaction};
use sql::{Statement, TxCommand};

/// The server: one GlueSQL database in memory, shared by every session.
#[derive(Default)]
pub struct GlueSqlServer {
    db: Arc<Database>,
}

impl GlueSqlServer {
    /// A server with an empty database.
    pub fn new() -> Self {
        let server = Self::default();
        if let Err(e) = catalog::seed(&server.db) {
            tracing::warn!(error = e.message(), "could not create the catalog tables");
        }
        server
    }
}

/// One session: its transaction block, if one is open.
pub struct GlueSqlSession {
    db: Arc<Database>,
    block: Option<Transaction>,
    /// The parameters the session started with, for `RESET`.
    defaults: Vec<(String, String)>,
    statements: u64,
    started: Instant,
    /// Answers psql's `\d` queries (`catalog_queries.rs`).
    catalog: catalog_queries::CatalogEngine,
}

/// A prepared statement.
pub struct Prepared {
    /// `None` for an empty query string.
    stmt: Option<Statement>,
    /// A catalog query, answered by the SQLite example's catalog
    /// (`catalog_queries.rs`) instead of `stmt`.
    catalog: Option<sqlite_catalog::HostedStatement>,
    param_types: Vec<Type>,
    /// The result columns, once described (`Some(None)`: no rows).
    fields: OnceLock<Option<Schema>>,
}

impl ServerHandlers for GlueSqlServer {
    type Handler = GlueSqlSession;

    fn extended_query() -> impl ExtendedQuerySupport<Self::Handler> {
        UseExtendedQueryHandler
    }

    async fn connect(&self, session: &mut Session) -> Result<GlueSqlSession, ErrorInfo> {
        Ok(GlueSqlSession {
            db: self.db.clone(),
            block: None,
            defaults: session
                .parameters()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            statements: 0,
            started: Instant::now(),
            catalog: Default::default(),
        })
    }

    async fn disconnect(&self, handler: GlueSqlSession, session: &Session) {
        let client = session.client();
        tracing::info!(
            peer = ?client.peer_addr(),
            user = client.user(),
            database = client.database(),
            statements = handler.statements,
            seconds = handler.started.elapsed().as_secs_f64(),
            // A transaction still open is rolled back by dropping it.
            rolled_back = handler.block.is_some(),
            "session ended"
        );
    }
}

fn warning(code: SqlState, message: &'static str) -> ErrorInfo {
    ErrorInfo::new(code, message).with_severity(Severity::Warning)
}

fn not_in_block(what: &str) -> Response {
    ErrorInfo::new(
        SqlState::NO_ACTIVE_SQL_TRANSACTION,
        format!("{what} can only be used in transaction blocks"),
    )
    .into()
}

impl GlueSqlSession {
    /// Calls `f` with the database as this session sees it.
    async fn read<R>(&mut self, f: impl FnOnce(&mut SharedMemoryStorage) -> R + Send) -> R {
        match &mut self.block {
            Some(tx) => tx.read(&self.db, f).await,
            None => self.db.read(f).await,
        }
    }

    /// Runs one statement. `batch` is the implicit transaction of a
    /// multi-statement query; `described` the columns announced at
    /// Describe.
    async fn run(
        &mut self,
        session: &mut Session,
        stmt: &Statement,
        params: &[ParamLiteral],
        batch: Option<&mut Transaction>,
        described: Option<Schema>,
    ) -> Response {
        self.statements += 1;
        let ends_block = matches!(
            stmt,
            Statement::Transaction(
                TxCommand::Commit | TxCommand::Rollback | TxCommand::RollbackTo(_)
            )
        );
        if session.transaction_status() == TransactionStatus::Failed && !ends_block {
            return ErrorInfo::new(
                SqlState::IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            )
            .into();
        }
        match stmt {
            Statement::Transaction(cmd) => self.transaction_command(session, cmd).await,
            Statement::Session(cmd) => session_commands::answer(cmd, session, &self.defaults),
            Statement::Engine { sql, .. } => self.run_engine(sql, params, batch, described).await,
        }
    }

    async fn run_engine(
        &mut self,
        sql: &SqlStatement,
        params: &[ParamLiteral],
        batch: Option<&mut Transaction>,
        described: Option<Schema>,
    ) -> Response {
        let stmt = match translate_with_params(sql, params) {
            Ok(s) => s,
            Err(e) => return errors::glue_error(e).into(),
        };
        let create_tag = results::command_tag(&stmt);
        let db = self.db.clone();
        let payload = match (batch, self.block.as_mut()) {
            (Some(tx), _) | (None, Some(tx)) => tx.execute(&db, stmt).await,
            (None, None) => db.execute(stmt).await,
        };
        match payload {
            Ok(p) => results::response(p, described, create_tag),
            Err(e) => e.into(),
        }
    }

    async fn transaction_command(&mut self, session: &mut Session, cmd: &TxCommand) -> Response {
        let response = self.run_transaction_command(session, cmd).await;
        // The session's status follows the block: open (or failed) while
        // there is one, idle once it is over.
        match (&self.block, session.transaction_status()) {
            (None, _) => session.set_transaction_status(TransactionStatus::Idle),
            (Some(_), TransactionStatus::Idle) => {
                session.set_transaction_status(TransactionStatus::InTransaction)
            }
            (Some(_), _) => {}
        }
        response
    }

    async fn run_transaction_command(
        &mut self,
        session: &mut Session,
        cmd: &TxCommand,
    ) -> Response {
        let db = self.db.clone();
        match cmd {
            TxCommand::Begin => {
                if self.block.is_some() {
                    session.send_notice(warning(
                        SqlState::ACTIVE_SQL_TRANSACTION,
                        "there is already a transaction in progress",
                    ));
                } else {
                    self.block = Some(Transaction::block());
                }
                Response::Execution(Tag::new("BEGIN"))
            }
            TxCommand::Commit => match self.block.take() {
                None => {
                    session.send_notice(warning(
                        SqlState::NO_ACTIVE_SQL_TRANSACTION,
                        "there is no transaction in progress",
                    ));
                    Response::Execution(Tag::new("COMMIT"))
                }
                // COMMIT of a failed transaction rolls it back.
                Some(_) if session.transaction_status() == TransactionStatus::Failed => {
                    Response::Execution(Tag::new("ROLLBACK"))
                }
                Some(tx) => match tx.commit(&db).await {
                    Ok(()) => Response::Execution(Tag::new("COMMIT")),
                    Err(e) => {
                        // The transaction is over (rolled back), not failed.
                        session.set_transaction_status(TransactionStatus::Idle);
                        e.into()
                    }
                },
            },
            TxCommand::Rollback => {
                if self.block.take().is_none() {
                    session.send_notice(warning(
                        SqlState::NO_ACTIVE_SQL_TRANSACTION,
                        "there is no transaction in progress",
                    ));
                }
                Response::Execution(Tag::new("ROLLBACK"))
            }
            TxCommand::Savepoint(name) => match &mut self.block {
                None => not_in_block("SAVEPOINT"),
                Some(tx) => match tx.savepoint(&db, name.clone()).await {
                    Ok(()) => Tag::new("SAVEPOINT").into(),
                    Err(e) => e.into(),
                },
            },
            TxCommand::Release(name) => match &mut self.block {
                None => not_in_block("RELEASE SAVEPOINT"),
                Some(tx) => match tx.release(name) {
                    Ok(()) => Tag::new("RELEASE").into(),
                    Err(e) => e.into(),
                },
            },
            TxCommand::RollbackTo(name) => match &mut self.block {
                None => not_in_block("ROLLBACK TO SAVEPOINT"),
                Some(tx) => match tx.rollback_to(name) {
                    Ok(()) => {
                        // The block is usable again.
                        session.set_transaction_status(TransactionStatus::InTransaction);
                        Tag::new("ROLLBACK").into()
                    }
                    Err(e) => e.into(),
                },
            },
        }
    }

    /// The tables the session sees, for the catalog mirror.
    async fn schemas(&mut self) -> Vec<gluesql_core::data::Schema> {
        use gluesql_core::store::Store;
        self.read(|s| s.fetch_all_schemas().unwrap_or_default())
            .await
    }

    /// The result columns of a prepared statement, described once.
    async fn fields(&mut self, p: &Prepared) -> Result<Option<Schema>, ErrorInfo> {
        if let Some(f) = p.fields.get() {
            return Ok(f.clone());
        }
        let fields = match &p.stmt {
            None | Some(Statement::Transaction(_)) => None,
            Some(Statement::Session(cmd)) => session_commands::fields(cmd),
            Some(Statement::Engine { sql, .. }) => {
                let types = &p.param_types;
                self.read(|s| describe::result_fields(s, sql, types))
                    .await?
            }
        };
        Ok(p.fields.get_or_init(|| fields).clone())
    }
}

/// The parameters of a portal as GlueSQL values (the server has checked
/// their number, see `parameter_count`).
fn bind_params(portal: &Portal<Prepared>) -> Result<Vec<ParamLiteral>, ErrorInfo> {
    let types = &portal.statement().statement().param_types;
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| values::bind_param(portal, i, ty))
        .collect()
}

impl SimpleQueryHandler for GlueSqlSession {
    async fn do_query(&mut self, session: &mut Session, query: &str) -> Responses {
        if catalog_queries::reads_catalog(query) {
            let schemas = self.schemas().await;
            return self.catalog.query(session, &schemas, query).await;
        }
        let stmts = match sql::parse(query) {
            Ok(s) => s,
            Err(e) => return e.into(),
        };
        if stmts.is_empty() {
            return Response::EmptyQuery.into();
        }
        // Several statements outside a block are one transaction, unless
        // they control transactions themselves.
        let implicit = self.block.is_none()
            && stmts.len() > 1
            && stmts.iter().any(Statement::may_write)
            && !stmts.iter().any(|s| matches!(s, Statement::Transaction(_)));
        let mut batch = match implicit {
            true => Some(Transaction::exclusive(&self.db).await),
            false => None,
        };
        let mut out = Responses::new();
        for stmt in &stmts {
            let response = self.run(session, stmt, &[], batch.as_mut(), None).await;
            let failed = matches!(response, Response::Error(_));
            out.push(response);
            if failed {
                // The implicit transaction is dropped: rolled back.
                return out;
            }
        }
        if let Some(tx) = batch {
            if let Err(e) = tx.commit(&self.db).await {
                out.push(e);
            }
        }
        out
    }
}

impl ExtendedQueryHandler for GlueSqlSession {
    type Statement = Prepared;

    async fn parse_sql(
        &mut self,
        session: &mut Session,
        sql: &str,
        declared: &[u32],
    ) -> Result<Prepared, ErrorInfo> {
        if catalog_queries::reads_catalog(sql) {
            let schemas = self.schemas().await;
            let hosted = self.catalog.parse(session, &schemas, sql, declared).await?;
            let (param_types, fields) = hosted.description(declared);
            return Ok(Prepared {
                stmt: None,
                catalog: Some(hosted),
                param_types,
                fields: OnceLock::from(fields),
            });
        }
        let mut stmts = sql::parse(sql)?;
        if stmts.len() > 1 {
            return Err(ErrorInfo::new(
                SqlState::SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement",
            ));
        }
        let stmt = stmts.pop();
        let param_types = match &stmt {
            Some(Statement::Engine { sql, params }) => {
                let count = *params;
                self.read(|s| describe::param_types(s, sql, count, declared))
                    .await
            }
            _ => declared
                .iter()
                .map(|&oid| Type::from_oid(oid).unwrap_or(Type::TEXT))
                .collect(),
        };
        Ok(Prepared {
            stmt,
            catalog: None,
            param_types,
            fields: OnceLock::new(),
        })
    }

    async fn do_describe_statement(
        &mut self,
        _session: &mut Session,
        statement: &StoredStatement<Prepared>,
    ) -> Result<StatementDescription, ErrorInfo> {
        let p = statement.statement();
        let fields = self.fields(p).await?;
        Ok(StatementDescription::new(p.param_types.clone(), fields))
    }

    async fn do_describe_portal(
        &mut self,
        _session: &mut Session,
        portal: &Portal<Prepared>,
    ) -> Result<Option<Schema>, ErrorInfo> {
        self.fields(portal.statement().statement()).await
    }

    fn parameter_count(&self, statement: &Prepared) -> Option<usize> {
        Some(statement.param_types.len())
    }

    async fn do_bind(
        &mut self,
        _session: &mut Session,
        portal: &Portal<Prepared>,
    ) -> Result<(), ErrorInfo> {
        if portal.statement().statement().catalog.is_some() {
            // The SQLite session reads them at Execute.
            return Ok(());
        }
        // Bad parameter values are reported at Bind, as PostgreSQL does.
        bind_params(portal).map(drop)
    }

    async fn do_query(
        &mut self,
        session: &mut Session,
        portal: &Portal<Prepared>,
        max_rows: usize,
    ) -> Response {
        let p = portal.statement().statement();
        if let Some(hosted) = &p.catalog {
            let schemas = self.schemas().await;
            return self
                .catalog
                .execute(session, &schemas, hosted, portal, max_rows)
                .await;
        }
        let Some(stmt) = &p.stmt else {
            return Response::EmptyQuery;
        };
        let params = match bind_params(portal) {
            Ok(params) => params,
            Err(e) => return e.into(),
        };
        let described = p.fields.get().cloned().flatten();
        self.run(session, stmt, &params, None, described).await
    }
}
