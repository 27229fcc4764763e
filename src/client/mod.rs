//! A PostgreSQL client: the frontend half of the protocol, for proxies,
//! poolers, routers, test tools and applications.
//!
//! ```no_run
//! use pgwire::client::Client;
//!
//! # async fn f() -> Result<(), pgwire::client::Error> {
//! let mut client = Client::connect_str("host=localhost user=postgres dbname=postgres").await?;
//!
//! // Simple query: several statements, rows as text.
//! for result in client.simple_query("SELECT 1; SELECT 'a', NULL").await? {
//!     println!("{} rows, tag {}", result.rows.len(), result.tag);
//! }
//!
//! // Extended query: typed parameters, binary results decoded with FromSql.
//! let st = client.prepare("SELECT $1::int8 * 2 AS doubled").await?;
//! let rows = client.query(&st, &[&21i64]).await?;
//! let doubled: i64 = rows[0].get("doubled");
//! assert_eq!(doubled, 42);
//!
//! // A large result, streamed: one row in memory at a time.
//! let st = client.prepare("SELECT generate_series(1, 1000000)").await?;
//! let mut stream = client.query_stream(&st, &[]).await?;
//! while let Some(row) = stream.next().await? {
//!     let _n: i32 = row.get(0);
//! }
//! client.close().await
//! # }
//! ```
//!
//! ## What it does
//!
//! - **Connect** ([`Config`]): libpq connection strings and URLs, `PG*`
//!   environment variables, `~/.pgpass`, several hosts with
//!   `target_session_attrs`, `connect_timeout`; TCP, Unix-domain sockets and
//!   TLS (feature `client-tls`: rustls with ring, `sslmode` disable to
//!   verify-full, `sslnegotiation=direct`, client certificates). Asks for
//!   protocol 3.2 and falls back to 3.0 when the server answers
//!   NegotiateProtocolVersion.
//! - **Authenticate**: trust, cleartext, MD5, SCRAM-SHA-256,
//!   SCRAM-SHA-256-PLUS (`tls-server-end-point`), OAUTHBEARER with a token
//!   the caller supplies ([`Config::oauth_token`]); `require_auth` and
//!   `channel_binding=require` refuse weaker methods, and an
//!   AuthenticationOk the server sends without authenticating.
//! - **Query**: [`Client::simple_query`], [`Client::prepare`],
//!   [`Client::query`] / [`Client::query_stream`] (rows streamed with
//!   backpressure, decoded lazily with `FromSql` by index or name),
//!   portals with row limits ([`Client::bind`], [`Client::execute_portal`]),
//!   [`Client::pipeline`].
//! - **The rest**: errors and notices as [`DbError`] with every field,
//!   notifications ([`Client::notifications`], a `Stream`, or
//!   [`Client::next_notification`]), ParameterStatus
//!   ([`Client::parameter`]), transaction status, COPY in/out/both,
//!   cancel ([`CancelToken`], 4-byte and 3.2 long keys), FunctionCall,
//!   Terminate ([`Client::close`]).
//! - **Replication** (connect with `replication=database` or
//!   `replication=true`): [`Client::identify_system`],
//!   [`Client::create_replication_slot`], [`Client::start_logical_replication`]
//!   ([`LogicalReplicationStream`]: typed `pgoutput` changes, keepalives
//!   answered, confirmed positions reported),
//!   [`Client::start_physical_replication`].
//! - **A lower level** for proxies: [`Client::send_message`],
//!   [`Client::send_raw`], [`Client::flush`], [`Client::receive_message`]
//!   exchange typed [`FrontendMessage`](crate::messages::FrontendMessage) /
//!   [`BackendMessage`](crate::messages::BackendMessage) values on the
//!   authenticated connection.
//!
//! One request runs at a time (`&mut self`): open several connections for
//! concurrency. Answers abandoned by the caller (a dropped stream) are
//! skipped before the next request.

mod cancel;
mod config;
mod connect;
mod connection;
mod copy;
mod encode;
mod error;
mod extended_query;
mod notifications;
mod pipeline;
mod raw_parts;
mod replication;
mod replication_stream;
mod row;
mod scram;
mod simple_query;
#[cfg(feature = "client-tls")]
mod tls;
mod transport;

pub use crate::messages::TransactionStatus;
pub use crate::scram_keys::ScramKeys;
pub use cancel::CancelToken;
pub use config::{
    AuthMethod, ChannelBinding, Config, Host, SslMode, SslNegotiation, Target, TargetSessionAttrs,
};
pub use connection::{Client, MAX_QUEUED_NOTIFICATIONS, NoticeHandler, Notification};
pub use copy::{CopyBoth, CopyIn, CopyOut};
pub use error::{DbError, Error};
pub use extended_query::{Format, Params, Portal, QueryResult, RowStream, Statement};
pub use notifications::Notifications;
pub use pipeline::Pipeline;
pub use raw_parts::RawParts;
pub use replication::{CreatedReplicationSlot, IdentifySystem, ReplicationSlotInfo};
pub use replication_stream::{
    DEFAULT_STATUS_INTERVAL, LogicalReplicationEvent, LogicalReplicationStream,
    PhysicalReplicationStream,
};
pub use row::{Column, Row, RowIndex, type_of_oid};
pub use simple_query::{SimpleQueryMessage, SimpleQueryResult, SimpleQueryStream};
pub use transport::{Stream, Transport};
