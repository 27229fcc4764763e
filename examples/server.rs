//! The smallest useful pgwire server: two traits. Every query returns one
//! row saying hello, over the simple protocol and, served from the same
//! handler, the extended one (statements without parameters).
//!
//! ```sh
//! cargo run --example server                     # listens on 127.0.0.1:5433
//! cargo run --example server -- --listen 127.0.0.1:6000
//! psql -h 127.0.0.1 -p 5433 -U anyone -c 'select anything'
//! ```

use std::sync::Arc;

use pgwire::api::{QueryResponse, Responses, Rows, ServerHandlers, Session, SimpleQueryHandler};
use pgwire::error::ErrorInfo;
use pgwire::server::{ServerConfig, serve};
use pgwire::types::{FieldInfo, Schema, Type};

/// Shared by all connections: creates a [`Hello`] for each.
struct HelloServer {
    schema: Schema,
}

/// The per-connection handler.
struct Hello {
    schema: Schema,
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
    async fn do_query(&mut self, _session: &mut Session, query: &str) -> Responses {
        let row = (format!("hello, you said: {}", query.trim()),);
        QueryResponse::new(self.schema.clone(), Rows::from_iterator([row])).into()
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut listen = "127.0.0.1:5433".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(addr)) => listen = addr,
            _ => {
                eprintln!("usage: server [--listen ADDR]");
                std::process::exit(2);
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on {}", listener.local_addr()?);
    let schema: Schema = Arc::from(vec![FieldInfo::new("greeting", Type::TEXT)]);
    serve(listener, HelloServer { schema }, ServerConfig::default()).await
}
