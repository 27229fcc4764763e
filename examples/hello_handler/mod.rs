//! The query side shared by the authentication examples (`secure_server`,
//! `scram`, `oauth`): every query answers one row greeting the
//! authenticated user and saying whether the connection is encrypted.
//! Not an example of its own.

use std::sync::Arc;

use pgwire::api::{
    CopyHandler, ExtendedQueryHandler, Portal, QueryParser, QueryResponse, Response, Rows, Session,
    SimpleQueryHandler, StatementDescription, StoredStatement,
};
use pgwire::error::ErrorInfo;
use pgwire::types::{FieldInfo, Schema, Type};

/// One per connection.
pub struct Hello {
    schema: Schema,
    line: String,
}

impl Hello {
    /// The handler for an authenticated session.
    pub fn new(session: &Session) -> Hello {
        let c = session.client();
        let how = match c.tls() {
            Some(t) if t.direct => "over direct TLS",
            Some(_) => "over TLS",
            None => "without encryption",
        };
        Hello {
            schema: Arc::from(vec![FieldInfo::new("greeting", Type::TEXT)]),
            line: format!("hello, {}, {how}", c.user()),
        }
    }

    fn answer(&self) -> Response {
        let rows = Rows::from_iterator([(self.line.clone(),)]);
        Response::Query(QueryResponse::new(self.schema.clone(), rows))
    }
}

impl SimpleQueryHandler for Hello {
    async fn do_query(&mut self, _: &mut Session, _query: &str) -> Vec<Response> {
        vec![self.answer()]
    }
}

impl QueryParser for Hello {
    type Statement = ();

    async fn parse_sql(&mut self, _: &mut Session, _: &str, _: &[u32]) -> Result<(), ErrorInfo> {
        Ok(())
    }
}

impl ExtendedQueryHandler for Hello {
    async fn do_describe_statement(
        &mut self,
        _: &mut Session,
        _: &StoredStatement<()>,
    ) -> Result<StatementDescription, ErrorInfo> {
        Ok(StatementDescription::new(vec![], Some(self.schema.clone())))
    }

    async fn do_describe_portal(
        &mut self,
        _: &mut Session,
        _: &Portal<()>,
    ) -> Result<Option<Schema>, ErrorInfo> {
        Ok(Some(self.schema.clone()))
    }

    async fn do_query(&mut self, _: &mut Session, _: &Portal<()>, _: usize) -> Response {
        self.answer()
    }
}

impl CopyHandler for Hello {}
