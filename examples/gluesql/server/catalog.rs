//! The catalog tables that do not depend on the user's tables, created in
//! the GlueSQL database at start from `pgwire::catalog`: `pg_type`,
//! `pg_namespace`, `pg_am`, `pg_proc`. Drivers read them when they
//! connect (psycopg2 and SQLAlchemy look up `hstore` in `pg_type`);
//! `pg_catalog.` prefixes are dropped by `sql.rs`.
//!
//! The relations that describe the user's tables (`pg_class`,
//! `pg_attribute`...) are answered by `catalog_queries.rs` (simple
//! protocol).

use gluesql_core::translate::translate;
use pgwire::catalog::{Catalog, CatalogSettings, CatalogValue, relation};
use pgwire::error::{ErrorInfo, SqlState};
use sqlparser::ast::Statement as SqlStatement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::database::Database;

/// The relations created.
pub const STATIC_RELATIONS: &[&str] = &["pg_type", "pg_namespace", "pg_am", "pg_proc"];

/// GlueSQL's type for a catalog column of PostgreSQL type `oid`.
fn glue_type(oid: u32) -> &'static str {
    match oid {
        16 => "BOOLEAN",
        20 | 21 | 23 | 26 | 28 => "INT",
        700 | 701 => "FLOAT",
        _ => "TEXT",
    }
}

/// `v` as a literal of a column of GlueSQL type `ty`.
fn literal(v: &CatalogValue, ty: &str) -> String {
    match v {
        CatalogValue::Null => "NULL".into(),
        // A `regproc` column's "none" is 0; it is text here.
        CatalogValue::Int(i) if ty == "TEXT" => format!("'{i}'"),
        CatalogValue::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        CatalogValue::Int(i) => i.to_string(),
        CatalogValue::Text(s) => format!("'{}'", s.replace('\'', "''")),
    }
}

/// Creates and fills the catalog tables.
pub fn seed(db: &Database) -> Result<(), ErrorInfo> {
    let catalog = Catalog::new(
        CatalogSettings {
            database: "postgres".into(),
            owner: "postgres".into(),
            settings: Vec::new(),
        },
        Vec::new(),
    );
    let mut sql = String::new();
    for name in STATIC_RELATIONS {
        let Some(rel) = relation("pg_catalog", name) else {
            continue;
        };
        let columns: Vec<String> = rel
            .columns
            .iter()
            .map(|c| format!("\"{}\" {} NULL", c.name, glue_type(c.type_oid)))
            .collect();
        sql.push_str(&format!("CREATE TABLE {name} ({});\n", columns.join(", ")));
        let rows = catalog.rows(rel);
        for chunk in rows.chunks(100) {
            let values: Vec<String> = chunk
                .iter()
                .map(|r| {
                    let values: Vec<String> = r
                        .iter()
                        .zip(rel.columns)
                        .map(|(v, c)| literal(v, glue_type(c.type_oid)))
                        .collect();
                    format!("({})", values.join(", "))
                })
                .collect();
            sql.push_str(&format!(
                "INSERT INTO {name} VALUES {};\n",
                values.join(", ")
            ));
        }
    }
    let parsed: Vec<SqlStatement> = Parser::parse_sql(&PostgreSqlDialect {}, &sql)
        .map_err(|e| ErrorInfo::new(SqlState::INTERNAL_ERROR, e.to_string()))?;
    let stmts = parsed
        .iter()
        .map(|s| translate(s).map_err(|e| ErrorInfo::new(SqlState::INTERNAL_ERROR, e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    db.seed(stmts)
}
