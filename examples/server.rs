//! The smallest useful pgwire server: every query returns one row saying
//! hello, over both the simple and the extended protocol.
//!
//! ```sh
//! cargo run --example server            # listens on 127.0.0.1:5433
//! psql -h 127.0.0.1 -p 5433 -U anyone -c 'select anything'
//! ```

use std::sync::Arc;

use pgwire::api::{
    CopyHandler, ExtendedQueryHandler, Portal, QueryParser, QueryResponse, Response, Rows,
    ServerHandlers, Session, SimpleQueryHandler, StatementDescription, StoredStatement,
};
use pgwire::error::ErrorInfo;
use pgwire::server::{ServerConfig, serve};
use pgwire::types::{FieldInfo, Schema, Type};

/// Creates a [`Hello`] for every connection.
struct HelloServer {
    schema: Schema,
}

/// The per-connection handler.
struct Hello {
    schema: Schema,
}

impl Hello {
    fn answer(&self, query: &str) -> Response {
        let row = (format!("hello, you said: {}", query.trim()),);
        Response::Query(QueryResponse::new(
            self.schema.clone(),
            Rows::from_iterator([row]),
        ))
    }
}

impl ServerHandlers for HelloServer {
    type Handler = Hello;

    async fn connect(&self, _session: &mut Session) -> Result<Hello, ErrorInfo> {
        Ok(Hello {
            schema: self.schema.clone(),
        })
    }
}

impl SimpleQueryHandler for Hello {
    async fn do_query(&mut self, _session: &mut Session, query: &str) -> Vec<Response> {
        vec![self.answer(query)]
    }
}

impl QueryParser for Hello {
    // The statement is just its SQL text.
    type Statement = String;

    async fn parse_sql(
        &mut self,
        _: &mut Session,
        sql: &str,
        _: &[u32],
    ) -> Result<String, ErrorInfo> {
        Ok(sql.to_owned())
    }
}

impl ExtendedQueryHandler for Hello {
    async fn do_describe_statement(
        &mut self,
        _: &mut Session,
        _: &StoredStatement<String>,
    ) -> Result<StatementDescription, ErrorInfo> {
        Ok(StatementDescription::new(vec![], Some(self.schema.clone())))
    }

    async fn do_describe_portal(
        &mut self,
        _: &mut Session,
        _: &Portal<String>,
    ) -> Result<Option<Schema>, ErrorInfo> {
        Ok(Some(self.schema.clone()))
    }

    async fn do_query(
        &mut self,
        _: &mut Session,
        portal: &Portal<String>,
        _max_rows: usize,
    ) -> Response {
        self.answer(portal.statement().statement())
    }
}

// No COPY support: the defaults answer "not supported".
impl CopyHandler for Hello {}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:5433").await?;
    println!("listening on {}", listener.local_addr()?);
    let schema: Schema = Arc::from(vec![FieldInfo::new("greeting", Type::TEXT)]);
    serve(listener, HelloServer { schema }, ServerConfig::default()).await
}
