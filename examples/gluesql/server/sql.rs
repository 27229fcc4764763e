//! SQL text to statements: parsed with the parser GlueSQL uses (sqlparser,
//! PostgreSQL dialect), PostgreSQL type names turned into GlueSQL's, and
//! each statement sorted into what runs it: the transaction logic, the
//! session commands, or GlueSQL.

use std::ops::ControlFlow;

use pgwire::error::{ErrorInfo, SqlState};
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, DataType as SqlType, ExactNumberInfo, Expr,
    Statement as SqlStatement, TimezoneInfo, Value as SqlValue, visit_expressions,
    visit_expressions_mut,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};

use super::session_commands::{self, SessionCommand};

/// A transaction control statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxCommand {
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`.
    Commit,
    /// `ROLLBACK`, `ABORT`.
    Rollback,
    /// `SAVEPOINT name`.
    Savepoint(String),
    /// `RELEASE [SAVEPOINT] name`.
    Release(String),
    /// `ROLLBACK TO [SAVEPOINT] name`.
    RollbackTo(String),
}

/// One parsed statement, sorted by what runs it.
#[derive(Debug, Clone)]
pub enum Statement {
    /// Transaction control, handled by the server over GlueSQL's storage.
    Transaction(TxCommand),
    /// A session command drivers send (`SET`, `SHOW`, `SELECT version()`),
    /// answered without GlueSQL.
    Session(SessionCommand),
    /// Everything else: GlueSQL runs it.
    Engine {
        /// The syntax tree, with PostgreSQL type names rewritten.
        sql: Box<SqlStatement>,
        /// The number of parameters: the highest `$n` used.
        params: usize,
    },
}

impl Statement {
    /// Whether the statement may change data (everything GlueSQL runs
    /// except queries and SHOW).
    pub fn may_write(&self) -> bool {
        match self {
            Statement::Engine { sql, .. } => !matches!(
                **sql,
                SqlStatement::Query(_)
                    | SqlStatement::ShowTables { .. }
                    | SqlStatement::ShowColumns { .. }
                    | SqlStatement::ShowVariable { .. }
                    | SqlStatement::ShowFunctions { .. }
            ),
            _ => false,
        }
    }
}

/// Parses a query string into its statements (none for an empty string or
/// only semicolons and comments).
pub fn parse(sql: &str) -> Result<Vec<Statement>, ErrorInfo> {
    let parsed = match Parser::parse_sql(&PostgreSqlDialect {}, sql) {
        Ok(p) => p,
        // Session commands the parser does not know (`RESET`, `DISCARD
        // TEMP`, `SET SESSION CHARACTERISTICS ...`) are recognized by
        // their first words instead.
        Err(e) => {
            return match session_commands::recognize_text(sql) {
                Some(cmd) => Ok(vec![Statement::Session(cmd)]),
                None => Err(syntax_error(sql, &e)),
            };
        }
    };
    Ok(parsed
        .into_iter()
        .map(|mut sql| {
            pg_types_to_glue(&mut sql);
            classify(sql)
        })
        .collect())
}

fn classify(sql: SqlStatement) -> Statement {
    let ident = |i: &sqlparser::ast::Ident| i.value.clone();
    let tx = match &sql {
        SqlStatement::StartTransaction { .. } => TxCommand::Begin,
        SqlStatement::Commit { .. } => TxCommand::Commit,
        SqlStatement::Rollback {
            savepoint: Some(name),
            ..
        } => TxCommand::RollbackTo(ident(name)),
        SqlStatement::Rollback { .. } => TxCommand::Rollback,
        SqlStatement::Savepoint { name } => TxCommand::Savepoint(ident(name)),
        SqlStatement::ReleaseSavepoint { name } => TxCommand::Release(ident(name)),
        other => {
            return match session_commands::recognize(other) {
                Some(cmd) => Statement::Session(cmd),
                None => Statement::Engine {
                    params: placeholder_count(&sql),
                    sql: Box::new(sql),
                },
            };
        }
    };
    Statement::Transaction(tx)
}

/// PostgreSQL's `syntax error at or near "x"` (42601), with the position
/// when the parser reports a line and column.
fn syntax_error(sql: &str, e: &ParserError) -> ErrorInfo {
    let msg = match e {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => m.clone(),
        ParserError::RecursionLimitExceeded => "statement nested too deeply".to_owned(),
    };
    // sqlparser says "Expected: ..., found: TOKEN at Line: L, Column: C".
    let found = msg
        .split_once("found: ")
        .map(|(_, rest)| rest.split(" at Line: ").next().unwrap_or(rest));
    let message = match found {
        Some("EOF") => "syntax error at end of input".to_owned(),
        Some(token) => format!("syntax error at or near \"{token}\""),
        None => format!("syntax error: {msg}"),
    };
    let mut err = ErrorInfo::new(SqlState::SYNTAX_ERROR, message).with_detail(msg.clone());
    if let Some(pos) = position(sql, &msg) {
        err = err.with_position(pos);
    }
    err
}

/// The 1-based character position of sqlparser's "Line: L, Column: C".
fn position(sql: &str, msg: &str) -> Option<u32> {
    let (_, rest) = msg.rsplit_once("Line: ")?;
    let (line, rest) = rest.split_once(", Column: ")?;
    let line: usize = line.trim().parse().ok()?;
    let column: usize = rest
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    let before: usize = sql
        .split('\n')
        .take(line.checked_sub(1)?)
        .map(|l| l.chars().count() + 1)
        .sum();
    u32::try_from(before + column).ok()
}

/// The parameter number of a `$n` placeholder.
pub fn placeholder_index(e: &Expr) -> Option<usize> {
    match e {
        Expr::Value(SqlValue::Placeholder(p)) => p.strip_prefix('$')?.parse().ok(),
        _ => None,
    }
}

fn placeholder_count(sql: &SqlStatement) -> usize {
    let mut max = 0;
    let _ = visit_expressions(sql, |e| {
        if let Some(n) = placeholder_index(e) {
            max = max.max(n);
        }
        ControlFlow::<()>::Continue(())
    });
    max
}

/// Rewrites PostgreSQL type names GlueSQL does not know, or knows with
/// another meaning, to GlueSQL's: `integer` is four bytes in PostgreSQL
/// (GlueSQL's `INTEGER` is eight), `int8` is eight bytes (GlueSQL's is
/// one), `varchar(n)` is `TEXT`, `numeric(p,s)` is `DECIMAL`...
fn pg_types_to_glue(sql: &mut SqlStatement) {
    // `pg_catalog.pg_type` is the `pg_type` table (`catalog.rs`).
    let _ = sqlparser::ast::visit_relations_mut(sql, |name| {
        if name.0.len() == 2 && name.0[0].value.eq_ignore_ascii_case("pg_catalog") {
            name.0.remove(0);
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = visit_expressions_mut(sql, |e| {
        if let Expr::Cast { data_type, .. } | Expr::TypedString { data_type, .. } = e {
            rewrite_type(data_type);
        }
        ControlFlow::<()>::Continue(())
    });
    match sql {
        SqlStatement::CreateTable(t) => {
            for c in &mut t.columns {
                rewrite_type(&mut c.data_type);
            }
        }
        SqlStatement::AlterTable { operations, .. } => {
            for op in operations {
                match op {
                    AlterTableOperation::AddColumn { column_def, .. } => {
                        rewrite_type(&mut column_def.data_type)
                    }
                    AlterTableOperation::AlterColumn {
                        op: AlterColumnOperation::SetDataType { data_type, .. },
                        ..
                    } => rewrite_type(data_type),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn rewrite_type(t: &mut SqlType) {
    let glue = match t {
        SqlType::SmallInt(_) | SqlType::Int2(_) => SqlType::Int16,
        SqlType::Int(_) | SqlType::Integer(_) | SqlType::Int4(_) => SqlType::Int32,
        SqlType::BigInt(_) | SqlType::Int8(_) => SqlType::Int64,
        SqlType::Real | SqlType::Float4 => SqlType::Float32,
        SqlType::Float(Some(p)) if *p <= 24 => SqlType::Float32,
        SqlType::DoublePrecision | SqlType::Float8 | SqlType::Double | SqlType::Float(_) => {
            SqlType::Float64
        }
        SqlType::Bool => SqlType::Boolean,
        SqlType::Varchar(_)
        | SqlType::CharacterVarying(_)
        | SqlType::CharVarying(_)
        | SqlType::Char(_)
        | SqlType::Character(_)
        | SqlType::String(_) => SqlType::Text,
        SqlType::Numeric(_) | SqlType::Decimal(_) | SqlType::Dec(_) => {
            SqlType::Decimal(ExactNumberInfo::None)
        }
        SqlType::Timestamp(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => {
            SqlType::Timestamp(None, TimezoneInfo::None)
        }
        SqlType::Time(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => {
            SqlType::Time(None, TimezoneInfo::None)
        }
        // GlueSQL's MAP holds JSON objects.
        SqlType::JSON | SqlType::JSONB => SqlType::Custom(
            sqlparser::ast::ObjectName(vec![sqlparser::ast::Ident::new("MAP")]),
            vec![],
        ),
        _ => return,
    };
    *t = glue;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_postgres_types() {
        let s = parse("CREATE TABLE t (a int, b bigint, c varchar(10), d numeric(10,2)); SELECT $2::int4 + $1")
            .unwrap();
        let Statement::Engine { sql, .. } = &s[0] else {
            panic!("{s:?}")
        };
        assert_eq!(
            sql.to_string(),
            "CREATE TABLE t (a Int32, b INT64, c TEXT, d DECIMAL)"
        );
        assert!(matches!(s[1], Statement::Engine { params: 2, .. }));
        assert!(s[0].may_write() && !s[1].may_write());
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = parse("SELECT 1;\nSELEC 2").unwrap_err();
        assert_eq!(e.code(), SqlState::SYNTAX_ERROR);
        assert_eq!(e.message(), "syntax error at or near \"SELEC\"");
        assert_eq!(e.position(), Some(11));
        let e = parse("SELECT 1 +").unwrap_err();
        assert_eq!(e.message(), "syntax error at end of input");
    }
}
