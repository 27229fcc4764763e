//! # pgwire
//!
//! The PostgreSQL frontend/backend wire protocol (versions 3.0 and 3.2), to
//! put a PostgreSQL-compatible front door on your own data service: psql,
//! libpq, JDBC, psycopg, asyncpg, node-postgres, tokio-postgres and pgbench
//! talk to it as to PostgreSQL.
//!
//! ## Layers
//!
//! - [`messages`]: the codec. Every protocol message as a typed value, a
//!   stateful decoder for each direction, zero-copy decoding, encoding into
//!   a caller's buffer. Pure: no I/O, depends only on `bytes` (plus
//!   `tokio-util` codecs with the `codec` feature), so a proxy or a client
//!   can use it alone (`default-features = false`).
//! - [`server`]: accepts connections and runs the protocol: TLS and
//!   encryption negotiation, startup and authentication, simple and extended
//!   query, COPY, cancellation, notifications, limits, graceful shutdown.
//! - [`api`]: what you implement ([`api::ServerHandlers`] and the
//!   per-connection [`api::SimpleQueryHandler`]; opt in to
//!   [`api::ExtendedQueryHandler`] and [`api::CopyHandler`] when you need
//!   them) and what your handlers get and return ([`api::Session`],
//!   [`api::Response`], [`api::Rows`]).
//! - [`types`]: column descriptions and value encoding: any
//!   `postgres_types::ToSql` value in text or binary format, straight into
//!   the connection's write buffer.
//! - [`client`]: the other side: connect to PostgreSQL (or any server
//!   speaking the protocol) over TCP, TLS or Unix sockets, authenticate,
//!   run simple, extended and pipelined queries, COPY, cancel; and a
//!   message-level API for proxies.
//! - [`replication`]: streaming and logical replication: the replication
//!   command language, XLogData/keepalive/status update payloads, the
//!   `pgoutput` messages, LSNs (codec only, like [`messages`]).
//! - [`error`]: [`error::ErrorInfo`] (what a client sees: severity,
//!   SQLSTATE, message, detail...) and [`error::PgWireError`].
//!
//! ## A server in two traits
//!
//! [`api::ServerHandlers`] (authentication, one handler per connection) and
//! [`api::SimpleQueryHandler`] (run a query string) are a complete server:
//! psql, `pgbench -M simple`, and drivers that use the extended protocol
//! for statements without parameters (tokio-postgres, psycopg, pgJDBC)
//! work, because the extended protocol is served from the simple handler
//! ([`api::ServedBySimpleQuery`] says how, and what it refuses).
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use pgwire::api::{QueryResponse, Responses, Rows, ServerHandlers, Session, SimpleQueryHandler};
//! use pgwire::error::ErrorInfo;
//! use pgwire::server::{ServerConfig, serve};
//! use pgwire::types::{FieldInfo, Schema, Type};
//!
//! /// Shared by all connections: creates one handler per connection.
//! struct Hello;
//!
//! /// One per connection: per-session state lives here.
//! struct HelloSession {
//!     schema: Schema,
//! }
//!
//! impl ServerHandlers for Hello {
//!     type Handler = HelloSession;
//!
//!     async fn connect(&self, _session: &mut Session) -> Result<HelloSession, ErrorInfo> {
//!         let schema = Arc::from(vec![FieldInfo::new("greeting", Type::TEXT)]);
//!         Ok(HelloSession { schema })
//!     }
//! }
//!
//! impl SimpleQueryHandler for HelloSession {
//!     async fn do_query(&mut self, _: &mut Session, _query: &str) -> Responses {
//!         let rows = Rows::from_iterator([("hello, world",)]);
//!         QueryResponse::new(self.schema.clone(), rows).into()
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:5432").await?;
//!     serve(listener, Hello, ServerConfig::default()).await
//! }
//! ```
//!
//! Then `psql -h 127.0.0.1 -U anyone -c 'select 1'` prints `hello, world`.
//!
//! ## Parameters and prepared statements: the extended protocol
//!
//! To bind parameters, describe statements without running them and keep
//! your own parsed form of each prepared statement, implement
//! [`api::ExtendedQueryHandler`] too and say so in `ServerHandlers`:
//!
//! ```no_run
//! # use std::sync::Arc;
//! use pgwire::api::{
//!     ExtendedQueryHandler, ExtendedQuerySupport, Portal, QueryResponse, Response, Responses, Rows,
//!     ServerHandlers, Session, SimpleQueryHandler, StatementDescription, StoredStatement,
//!     UseExtendedQueryHandler,
//! };
//! use pgwire::error::ErrorInfo;
//! use pgwire::types::{FieldInfo, Schema, Type};
//! # struct Hello;
//! # struct HelloSession { schema: Schema }
//! # impl SimpleQueryHandler for HelloSession {
//! #     async fn do_query(&mut self, _: &mut Session, _: &str) -> Responses { Responses::new() }
//! # }
//!
//! impl ServerHandlers for Hello {
//!     type Handler = HelloSession;
//!     # async fn connect(&self, _: &mut Session) -> Result<HelloSession, ErrorInfo> {
//!     #     Ok(HelloSession { schema: Arc::from(vec![FieldInfo::new("greeting", Type::TEXT)]) })
//!     # }
//!
//!     fn extended_query() -> impl ExtendedQuerySupport<HelloSession> {
//!         UseExtendedQueryHandler
//!     }
//! }
//!
//! impl ExtendedQueryHandler for HelloSession {
//!     /// The parsed form of a statement: here, its SQL text.
//!     type Statement = String;
//!
//!     async fn parse_sql(&mut self, _: &mut Session, sql: &str, _: &[u32]) -> Result<String, ErrorInfo> {
//!         Ok(sql.to_owned())
//!     }
//!
//!     async fn do_describe_statement(
//!         &mut self,
//!         _: &mut Session,
//!         _: &StoredStatement<String>,
//!     ) -> Result<StatementDescription, ErrorInfo> {
//!         Ok(StatementDescription::new(vec![Type::TEXT], Some(self.schema.clone())))
//!     }
//!
//!     async fn do_describe_portal(&mut self, _: &mut Session, _: &Portal<String>) -> Result<Option<Schema>, ErrorInfo> {
//!         Ok(Some(self.schema.clone()))
//!     }
//!
//!     async fn do_query(&mut self, _: &mut Session, portal: &Portal<String>, _max_rows: usize) -> Response {
//!         let name = portal.parameter_text(0).ok().flatten().unwrap_or("world").to_owned();
//!         let rows = Rows::from_iterator([(format!("hello, {name}"),)]);
//!         Response::Query(QueryResponse::new(self.schema.clone(), rows))
//!     }
//! }
//! ```
//!
//! COPY FROM STDIN works the same way: implement [`api::CopyHandler`] and
//! return [`api::UseCopyHandler`] from [`api::ServerHandlers::copy`].
//!
//! The `examples/` directory has complete servers: `server.rs` (the
//! two-trait one), `sqlite/` (a real SQL engine with transactions, COPY,
//! LISTEN/NOTIFY and cancellation), `gluesql/`, and `bench_server.rs`.
//!
//! ## Features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `server` | yes | the server, handler API, authentication |
//! | `tls` | yes | TLS with rustls (ring provider), PEM loading |
//! | `codec` | with `server` | tokio-util `Decoder`/`Encoder` impls |
//! | `client` | yes | [`client`]: a PostgreSQL client (connect, authenticate, query, COPY, cancel) and the client-side codec (`ClientCodec`) |
//! | `client-tls` | yes | TLS for the client (rustls, ring); implies `tls` |
//!
//! With `default-features = false` the crate is only the codec, over
//! `bytes`.
// One audited exception: `messages::ByteStr::as_str` (see its comment).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod messages;
pub mod replication;

#[cfg(feature = "server")]
pub mod api;
#[cfg(feature = "server")]
pub mod catalog;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
pub mod error;
#[cfg(any(feature = "server", feature = "client"))]
mod scram_keys;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod types;
