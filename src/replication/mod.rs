//! Streaming and logical replication: the codec.
//!
//! What a replication connection (`replication=true` or
//! `replication=database` in the startup packet) exchanges, as typed
//! values, decoded without panics from any bytes and encoded into a
//! caller's buffer. Pure like [`messages`](crate::messages): it needs
//! only `bytes`, so a proxy, a consumer or a publisher can use it alone.
//!
//! - [`Lsn`]: a WAL position with PostgreSQL's `X/X` text form.
//! - [`command`]: the replication command language (IDENTIFY_SYSTEM,
//!   CREATE_REPLICATION_SLOT, START_REPLICATION...): parse and format.
//! - [`copy_both`]: the CopyData payloads of START_REPLICATION:
//!   [`XLogData`], [`PrimaryKeepalive`], [`StandbyStatusUpdate`],
//!   [`HotStandbyFeedback`].
//! - [`pgoutput`]: the messages of the `pgoutput` plugin (protocol
//!   versions 1 to 4) carried in XLogData, with [`TupleData`] rows.
//! - [`pgoutput_options`]: `pgoutput`'s START_REPLICATION options,
//!   checked as PostgreSQL checks them.
//! - [`timestamp`]: the microseconds-since-2000 timestamps they carry.
//!
//! The client that consumes a stream from PostgreSQL with these is
//! `pgwire::client::LogicalReplicationStream` (feature `client`).
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use pgwire::replication::{Lsn, PgOutputDecoder, PgOutputMessage, ReplicationMessage};
//!
//! // A CopyData payload as the server sends it: XLogData with a Begin.
//! let mut payload = BytesMut::new();
//! pgwire::replication::XLogData::encode_header(&mut payload, Lsn(0x100), Lsn(0x200), 0);
//! PgOutputMessage::Begin(pgwire::replication::pgoutput::Begin {
//!     final_lsn: Lsn(0x180),
//!     commit_time: 0,
//!     xid: 740,
//! })
//! .encode(&mut payload);
//!
//! let ReplicationMessage::XLogData(x) = ReplicationMessage::decode(payload.freeze()).unwrap() else {
//!     unreachable!()
//! };
//! let mut decoder = PgOutputDecoder::new();
//! match decoder.decode(x.data).unwrap() {
//!     PgOutputMessage::Begin(b) => assert_eq!((b.xid, b.final_lsn.to_string().as_str()), (740, "0/180")),
//!     other => panic!("{other:?}"),
//! }
//! ```

pub mod command;
pub mod copy_both;
mod error;
mod lsn;
pub mod pgoutput;
pub mod pgoutput_options;
mod reader;
pub mod timestamp;
mod tuple;

pub use command::{CommandParseError, ReplicationCommand};
pub use copy_both::{
    HotStandbyFeedback, PrimaryKeepalive, ReplicationMessage, StandbyMessage, StandbyStatusUpdate,
    XLogData,
};
pub use error::ReplicationDecodeError;
pub use lsn::{Lsn, ParseLsnError};
pub use pgoutput::{DecodeContext, PgOutputDecoder, PgOutputMessage};
pub use tuple::{TupleData, TupleIter, TupleValue, TupleWriter};
