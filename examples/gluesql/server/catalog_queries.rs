//! Queries of the catalog relations that describe the user's tables
//! (`pg_class`, `pg_attribute`, `pg_index`, `information_schema`...):
//! psql's `\dt`, `\d t` and the like. GlueSQL cannot run them (regular
//! expressions, `OPERATOR(pg_catalog.~)`, `pg_get_indexdef`...), so they
//! are answered by the SQLite example's catalog, which builds those
//! relations with `pgwire::catalog` and runs the SQL tools send: the
//! session's GlueSQL tables (columns with their PostgreSQL types,
//! nullability, defaults, primary and unique keys, indexes, foreign keys)
//! are mirrored as empty tables into a private in-memory SQLite database
//! (re-created when the schema the session sees changes), and the query
//! goes to a session of the SQLite example over that database, through
//! the handler API (`SimpleQueryHandler::do_query`).
//!
//! Queries of both protocols are routed here: psql's simple queries and
//! the extended protocol's Parse/Bind/Execute (SQLAlchemy's reflection
//! with psycopg), whose statements the SQLite session parses and runs
//! (`HostedStatement`). Queries of the seeded relations alone stay with
//! GlueSQL.

use gluesql_core::ast::{ColumnDef, ToSql};
use gluesql_core::data::Schema as GlueSchema;
use pgwire::api::{Portal, Response, Responses, ServerHandlers, Session, SimpleQueryHandler};
use pgwire::catalog::{CATALOG_RELATIONS, quote_ident};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::messages::Oid;

use super::catalog::STATIC_RELATIONS;
use super::sqlite_catalog::{DbLocation, HostedStatement, SqliteServer, SqliteSession};
use super::values::pg_type_of;

/// Whether `sql` reads a catalog relation that describes the user's
/// tables: a `pg_catalog` relation other than the seeded ones, or any
/// `information_schema` view (words outside string literals and quoted
/// names).
pub fn reads_catalog(sql: &str) -> bool {
    words(sql).any(|w| {
        w.eq_ignore_ascii_case("information_schema")
            || (w.eq_ignore_ascii_case("pg_catalog") && names_column_of_relation(sql, w))
            || CATALOG_RELATIONS.iter().any(|r| {
                r.schema == "pg_catalog"
                    && w.eq_ignore_ascii_case(r.name)
                    && !STATIC_RELATIONS.contains(&r.name)
            })
    })
}

/// Whether the word `pg_catalog` (a slice of `sql`) starts a column
/// reference `pg_catalog.relation.column` (SQLAlchemy's spelling), which
/// GlueSQL cannot resolve even for the seeded relations.
fn names_column_of_relation(sql: &str, pg_catalog: &str) -> bool {
    let end = pg_catalog.as_ptr() as usize - sql.as_ptr() as usize + pg_catalog.len();
    let rest = sql[end..].trim_start();
    let Some(rest) = rest.strip_prefix('.') else {
        return false;
    };
    let rest = rest.trim_start();
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    name_len > 0 && rest[name_len..].trim_start().starts_with('.')
}

/// The identifier-like words of `sql`, skipping string literals, quoted
/// identifiers and comments.
fn words(sql: &str) -> impl Iterator<Item = &str> {
    let b = sql.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            let c = b[i];
            match c {
                b'\'' | b'"' => {
                    i += 1;
                    while i < b.len() {
                        if b[i] == c {
                            // A doubled quote is one quote inside.
                            if b.get(i + 1) == Some(&c) {
                                i += 2;
                                continue;
                            }
                            break;
                        }
                        i += 1;
                    }
                    i += 1;
                }
                b'-' if b.get(i + 1) == Some(&b'-') => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                }
                _ if c.is_ascii_alphabetic() || c == b'_' => {
                    let start = i;
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                        i += 1;
                    }
                    return Some(&sql[start..i]);
                }
                _ => i += 1,
            }
        }
        None
    })
}

/// The SQL that creates the mirror of `schemas` (the user's tables).
pub fn mirror_ddl(schemas: &[GlueSchema]) -> Vec<String> {
    let mut out = Vec::new();
    for s in schemas {
        if STATIC_RELATIONS.contains(&s.table_name.as_str()) {
            continue;
        }
        let table = quote_ident(&s.table_name);
        let mut items: Vec<String> = s
            .column_defs
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(column_sql)
            .collect();
        for fk in &s.foreign_keys {
            items.push(format!(
                "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
                quote_ident(&fk.name),
                quote_ident(&fk.referencing_column_name),
                quote_ident(&fk.referenced_table_name),
                quote_ident(&fk.referenced_column_name),
                fk.on_delete,
                fk.on_update,
            ));
        }
        out.push(format!("CREATE TABLE {table} ({})", items.join(", ")));
        for index in &s.indexes {
            out.push(format!(
                "CREATE INDEX {} ON {table} ({})",
                quote_ident(&index.name),
                index.expr.to_sql()
            ));
        }
    }
    out
}

/// One column: its PostgreSQL type, NOT NULL, DEFAULT, PRIMARY KEY or
/// UNIQUE.
fn column_sql(c: &ColumnDef) -> String {
    let mut sql = format!(
        "{} {}",
        quote_ident(&c.name),
        pg_type_of(&c.data_type).name()
    );
    match c.unique {
        Some(u) if u.is_primary => sql.push_str(" PRIMARY KEY"),
        Some(_) => sql.push_str(" UNIQUE"),
        None => {}
    }
    if !c.nullable {
        sql.push_str(" NOT NULL");
    }
    if let Some(d) = &c.default {
        sql.push_str(&format!(" DEFAULT {}", d.to_sql()));
    }
    sql
}

/// A session's private catalog engine, started at its first catalog
/// query.
#[derive(Default)]
pub struct CatalogEngine {
    engine: Option<(SqliteServer, SqliteSession)>,
    /// The DDL last mirrored, and the tables it created.
    mirrored: Vec<String>,
    tables: Vec<String>,
}

impl CatalogEngine {
    /// Answers catalog query `sql` over the mirror of `schemas`.
    pub async fn query(
        &mut self,
        session: &mut Session,
        schemas: &[GlueSchema],
        sql: &str,
    ) -> Responses {
        match self.mirror(session, schemas).await {
            Ok(()) => {}
            Err(e) => return e.into(),
        }
        let Some((_, sqlite)) = &mut self.engine else {
            return Responses::new();
        };
        sqlite.do_query(session, sql).await
    }

    /// Parses catalog query `sql` for the extended protocol, over the
    /// mirror of `schemas`.
    pub async fn parse(
        &mut self,
        session: &mut Session,
        schemas: &[GlueSchema],
        sql: &str,
        declared: &[Oid],
    ) -> Result<HostedStatement, ErrorInfo> {
        self.mirror(session, schemas).await?;
        let Some((_, sqlite)) = &mut self.engine else {
            return Err(ErrorInfo::new(
                SqlState::INTERNAL_ERROR,
                "the catalog engine did not start",
            ));
        };
        sqlite.parse_hosted(session, sql, declared).await
    }

    /// Runs a catalog query parsed by [`CatalogEngine::parse`] with
    /// `portal`'s parameters, over the mirror of `schemas`.
    pub async fn execute<S>(
        &mut self,
        session: &mut Session,
        schemas: &[GlueSchema],
        statement: &HostedStatement,
        portal: &Portal<S>,
        max_rows: usize,
    ) -> Response {
        if let Err(e) = self.mirror(session, schemas).await {
            return e.into();
        }
        let Some((_, sqlite)) = &mut self.engine else {
            return Response::EmptyQuery;
        };
        sqlite
            .execute_hosted(session, statement, portal, max_rows)
            .await
    }

    async fn mirror(
        &mut self,
        session: &mut Session,
        schemas: &[GlueSchema],
    ) -> Result<(), ErrorInfo> {
        if self.engine.is_none() {
            let server = SqliteServer::new(DbLocation::Memory);
            let sqlite = server.connect(session).await?;
            self.engine = Some((server, sqlite));
        }
        let ddl = mirror_ddl(schemas);
        if ddl == self.mirrored {
            return Ok(());
        }
        let Some((_, sqlite)) = &mut self.engine else {
            return Ok(());
        };
        let mut script: Vec<String> = self
            .tables
            .iter()
            .map(|t| format!("DROP TABLE IF EXISTS {}", quote_ident(t)))
            .collect();
        script.extend(ddl.iter().cloned());
        for stmt in &script {
            for response in sqlite.do_query(session, stmt).await {
                if let Response::Error(e) = response {
                    // A default or index the mirror cannot express is
                    // left out rather than failing the query.
                    tracing::debug!(statement = %stmt, error = e.message(), "catalog mirror");
                }
            }
        }
        self.tables = schemas
            .iter()
            .map(|s| s.table_name.clone())
            .filter(|t| !STATIC_RELATIONS.contains(&t.as_str()))
            .collect();
        self.mirrored = ddl;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_queries_of_the_user_catalog() {
        assert!(reads_catalog(
            "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relkind IN ('r','p')"
        ));
        assert!(reads_catalog("select * from information_schema.tables"));
        assert!(reads_catalog(
            "SELECT pg_catalog.pg_am.oid FROM pg_catalog.pg_am WHERE amname = 'btree'"
        ));
        // Seeded relations, data and names that only look like them.
        assert!(!reads_catalog("SELECT typname FROM pg_type"));
        assert!(!reads_catalog("SELECT 'pg_class' FROM t -- pg_attribute"));
        assert!(!reads_catalog("SELECT \"pg_class\" FROM t"));
        assert!(!reads_catalog("SELECT pg_catalog.version()"));
    }
}
