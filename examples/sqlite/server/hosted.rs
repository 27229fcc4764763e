//! Statements another server's extended protocol runs on a session of
//! this one: the GlueSQL example answers the catalog queries of its
//! clients' Parse/Bind/Execute (SQLAlchemy's reflection) with this
//! server's catalog, on a session it owns. Its portals are its own type,
//! so these take any portal and read only its parameters and formats.

use pgwire::api::{ExtendedQueryHandler, Portal, Response, Session};
use pgwire::error::ErrorInfo;
use pgwire::messages::Oid;
use pgwire::types::{Schema, Type};

use super::SqliteSession;
use super::extended::{Statement, description};

/// A statement parsed for another server's extended protocol.
#[derive(Debug)]
pub struct HostedStatement {
    statement: Statement,
}

impl HostedStatement {
    /// The parameter types and result columns (`declared`: the types the
    /// client gave at Parse).
    pub fn description(&self, declared: &[Oid]) -> (Vec<Type>, Option<Schema>) {
        description(&self.statement, declared)
    }
}

impl SqliteSession {
    /// Parses and describes `sql` as this server's Parse would.
    pub async fn parse_hosted(
        &mut self,
        session: &mut Session,
        sql: &str,
        declared: &[Oid],
    ) -> Result<HostedStatement, ErrorInfo> {
        let statement = self.parse_sql(session, sql, declared).await?;
        Ok(HostedStatement { statement })
    }

    /// Runs `statement` with `portal`'s parameters and result formats
    /// (`max_rows`: the Execute's row limit, 0 for none).
    pub async fn execute_hosted<S>(
        &mut self,
        session: &mut Session,
        statement: &HostedStatement,
        portal: &Portal<S>,
        max_rows: usize,
    ) -> Response {
        self.execute(session, &statement.statement, portal, max_rows)
            .await
    }
}
