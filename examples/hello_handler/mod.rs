//! The query side shared by the authentication examples (`secure_server`,
//! `scram`, `oauth`): every query answers one row greeting the
//! authenticated user and saying whether the connection is encrypted.
//! Only a [`SimpleQueryHandler`]: the server serves the extended protocol
//! from it. Not an example of its own.

use std::sync::Arc;

use pgwire::api::{QueryResponse, Response, Responses, Rows, Session, SimpleQueryHandler};
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
    async fn do_query(&mut self, _: &mut Session, _query: &str) -> Responses {
        self.answer().into()
    }
}
