//! The messages of PostgreSQL's `pgoutput` logical decoding plugin
//! ("Logical Replication Message Formats"), protocol versions 1 to 4, as
//! carried in the data of XLogData messages.
//!
//! Decoding needs a little context, which [`PgOutputDecoder`] keeps:
//! between Stream Start and Stream Stop (protocol 2+, `streaming 'on'`)
//! data messages carry the transaction id, and with protocol 4 and
//! `streaming 'parallel'` Stream Abort carries the abort LSN and time.
//!
//! ```
//! use bytes::BytesMut;
//! use pgwire::replication::{Lsn, PgOutputDecoder, PgOutputMessage, TupleData, TupleValue};
//! use pgwire::replication::pgoutput::Insert;
//!
//! let insert = PgOutputMessage::Insert(Insert {
//!     xid: None,
//!     relation_oid: 16384,
//!     new: TupleData::from_values([TupleValue::Text(b"1"), TupleValue::Null]),
//! });
//! let mut wire = BytesMut::new();
//! insert.encode(&mut wire);
//!
//! let decoded = PgOutputDecoder::new().decode(wire.freeze()).unwrap();
//! assert_eq!(decoded, insert);
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::error::ReplicationDecodeError;
use super::lsn::Lsn;
use super::reader::{DecodeResult, Reader};
use super::tuple::{TupleData, TupleWriter};
use crate::messages::ByteStr;

/// A `pgoutput` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgOutputMessage {
    /// `'B'`: a transaction starts.
    Begin(Begin),
    /// `'M'`: a logical decoding message (`pg_logical_emit_message`;
    /// `messages 'true'`).
    Message(LogicalDecodingMessage),
    /// `'C'`: a transaction commits.
    Commit(Commit),
    /// `'O'`: the transaction came from another replication origin.
    Origin(Origin),
    /// `'R'`: a table's description, sent before its first change (and
    /// again when it changes).
    Relation(Relation),
    /// `'Y'`: a non-built-in type's name.
    Type(TypeMessage),
    /// `'I'`: a row inserted.
    Insert(Insert),
    /// `'U'`: a row updated.
    Update(Update),
    /// `'D'`: a row deleted.
    Delete(Delete),
    /// `'T'`: tables truncated.
    Truncate(Truncate),
    /// `'S'`: a block of a large in-progress transaction starts (protocol 2+).
    StreamStart(StreamStart),
    /// `'E'`: the block ends.
    StreamStop,
    /// `'c'`: a streamed transaction commits.
    StreamCommit(StreamCommit),
    /// `'A'`: a streamed transaction (or subtransaction) aborted.
    StreamAbort(StreamAbort),
    /// `'b'`: a prepared transaction starts (protocol 3+, `two_phase`).
    BeginPrepare(BeginPrepare),
    /// `'P'`: PREPARE TRANSACTION.
    Prepare(Prepare),
    /// `'K'`: COMMIT PREPARED.
    CommitPrepared(CommitPrepared),
    /// `'r'`: ROLLBACK PREPARED.
    RollbackPrepared(RollbackPrepared),
    /// `'p'`: PREPARE TRANSACTION of a streamed transaction.
    StreamPrepare(Prepare),
}

/// How to decode what depends on the session: see [`PgOutputDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeContext {
    /// Between Stream Start and Stream Stop: Message, Relation, Type,
    /// Insert, Update, Delete and Truncate carry the transaction id.
    pub in_stream: bool,
    /// Stream Abort carries the abort LSN and time (protocol 4 with
    /// `streaming 'parallel'`).
    pub stream_abort_info: bool,
}

/// Decodes `pgoutput` messages in order, tracking Stream Start / Stream
/// Stop so streamed messages are read with their transaction id.
#[derive(Debug, Clone, Copy, Default)]
pub struct PgOutputDecoder {
    context: DecodeContext,
}

impl PgOutputDecoder {
    /// A decoder for a stream that has not started a streamed block.
    pub fn new() -> PgOutputDecoder {
        PgOutputDecoder::default()
    }

    /// Stream Abort carries the abort LSN and time: set when
    /// START_REPLICATION asked for `proto_version '4'` and
    /// `streaming 'parallel'`.
    pub fn with_stream_abort_info(mut self, yes: bool) -> PgOutputDecoder {
        self.context.stream_abort_info = yes;
        self
    }

    /// Inside a Stream Start ... Stream Stop block?
    pub fn in_stream(&self) -> bool {
        self.context.in_stream
    }

    /// Decodes the next message (the data of one XLogData).
    pub fn decode(&mut self, data: Bytes) -> Result<PgOutputMessage, ReplicationDecodeError> {
        let m = PgOutputMessage::decode(data, self.context)?;
        match m {
            PgOutputMessage::StreamStart(_) => self.context.in_stream = true,
            PgOutputMessage::StreamStop => self.context.in_stream = false,
            _ => {}
        }
        Ok(m)
    }
}

/// Begin (`'B'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Begin {
    /// The LSN of the transaction's commit record.
    pub final_lsn: Lsn,
    /// Commit time (microseconds since 2000-01-01).
    pub commit_time: i64,
    /// Transaction id.
    pub xid: u32,
}

/// Logical decoding message (`'M'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalDecodingMessage {
    /// The transaction id (in a streamed block only).
    pub xid: Option<u32>,
    /// Flags: bit 0 set for a transactional message.
    pub flags: u8,
    /// The LSN of the message.
    pub lsn: Lsn,
    /// The prefix given to `pg_logical_emit_message`.
    pub prefix: ByteStr,
    /// The content.
    pub content: Bytes,
}

impl LogicalDecodingMessage {
    /// Was it emitted as part of its transaction (rather than at once)?
    pub fn transactional(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// Commit (`'C'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    /// Flags (none defined yet: 0).
    pub flags: u8,
    /// The LSN of the commit record.
    pub commit_lsn: Lsn,
    /// The end of the commit record: what a consumer confirms as flushed
    /// once it has handled the transaction.
    pub end_lsn: Lsn,
    /// Commit time (microseconds since 2000-01-01).
    pub commit_time: i64,
}

/// Origin (`'O'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The commit LSN on the origin server.
    pub commit_lsn: Lsn,
    /// The origin's name.
    pub name: ByteStr,
}

/// A table's replica identity (`pg_class.relreplident`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaIdentity {
    /// `'d'`: the primary key.
    Default,
    /// `'n'`: nothing.
    Nothing,
    /// `'f'`: all columns.
    Full,
    /// `'i'`: a chosen unique index.
    Index,
}

impl ReplicaIdentity {
    /// The catalog letter.
    pub fn as_byte(self) -> u8 {
        match self {
            ReplicaIdentity::Default => b'd',
            ReplicaIdentity::Nothing => b'n',
            ReplicaIdentity::Full => b'f',
            ReplicaIdentity::Index => b'i',
        }
    }

    /// From the catalog letter.
    pub fn from_byte(b: u8) -> Option<ReplicaIdentity> {
        Some(match b {
            b'd' => ReplicaIdentity::Default,
            b'n' => ReplicaIdentity::Nothing,
            b'f' => ReplicaIdentity::Full,
            b'i' => ReplicaIdentity::Index,
            _ => return None,
        })
    }
}

/// Relation (`'R'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The transaction id (in a streamed block only).
    pub xid: Option<u32>,
    /// The table's OID, which changes refer to.
    pub oid: u32,
    /// Schema (empty for `pg_catalog`).
    pub namespace: ByteStr,
    /// Table name.
    pub name: ByteStr,
    /// Replica identity.
    pub replica_identity: ReplicaIdentity,
    /// The published columns in order.
    pub columns: Vec<RelationColumn>,
}

/// A column of a [`Relation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Flags: bit 0 set when the column is part of the replica identity key.
    pub flags: u8,
    /// Name.
    pub name: ByteStr,
    /// Type OID.
    pub type_oid: u32,
    /// Type modifier (`atttypmod`; -1 for none).
    pub type_modifier: i32,
}

impl RelationColumn {
    /// Part of the key sent as the old key of updates and deletes?
    pub fn is_key(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// Type (`'Y'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMessage {
    /// The transaction id (in a streamed block only).
    pub xid: Option<u32>,
    /// Type OID.
    pub oid: u32,
    /// Schema (empty for `pg_catalog`).
    pub namespace: ByteStr,
    /// Type name.
    pub name: ByteStr,
}

/// Insert (`'I'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insert {
    /// The transaction id (in a streamed block only).
    pub xid: Option<u32>,
    /// The table ([`Relation::oid`]).
    pub relation_oid: u32,
    /// The new row.
    pub new: TupleData,
}

/// The old row of an update or delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldTuple {
    /// `'K'`: the replica identity key columns (others are null).
    Key(TupleData),
    /// `'O'`: the whole old row (REPLICA IDENTITY FULL).
    Full(TupleData),
}

impl OldTuple {
    /// The columns.
    pub fn tuple(&self) -> &TupleData {
        match self {
            OldTuple::Key(t) | OldTuple::Full(t) => t,
        }
    }

    /// Which old row it is.
    pub fn kind(&self) -> OldTupleKind {
        match self {
            OldTuple::Key(_) => OldTupleKind::Key,
            OldTuple::Full(_) => OldTupleKind::Full,
        }
    }
}

/// Update (`'U'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The transaction id (in a streamed block only).
    pub xid: Option<u32>,
    /// The table.
    pub relation_oid: u32,
    /// The old key (when it changed) or old row (REPLICA IDENTITY FULL).
    pub old: Option<OldTuple>,
    /// The new row (unchanged TOASTed values as
    /// [`TupleValue::UnchangedToast`](super::TupleValue::UnchangedToast)).
    pub new: TupleData,
}

/// Delete (`'D'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    /// The transaction id (in a streamed block only).
    pub xid: Option<u32>,
    /// The table.
    pub relation_oid: u32,
    /// The deleted row's key, or the whole row (REPLICA IDENTITY FULL).
    pub old: OldTuple,
}

/// Truncate (`'T'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncate {
    /// The transaction id (in a streamed block only).
    pub xid: Option<u32>,
    /// Options: bit 0 CASCADE, bit 1 RESTART IDENTITY.
    pub options: u8,
    /// The tables truncated.
    pub relation_oids: Vec<u32>,
}

impl Truncate {
    /// TRUNCATE ... CASCADE?
    pub fn cascade(&self) -> bool {
        self.options & 1 != 0
    }

    /// TRUNCATE ... RESTART IDENTITY?
    pub fn restart_identity(&self) -> bool {
        self.options & 2 != 0
    }
}

/// Stream Start (`'S'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStart {
    /// The transaction id.
    pub xid: u32,
    /// The transaction's first block?
    pub first_segment: bool,
}

/// Stream Commit (`'c'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamCommit {
    /// The transaction id.
    pub xid: u32,
    /// Flags (none defined yet: 0).
    pub flags: u8,
    /// The LSN of the commit record.
    pub commit_lsn: Lsn,
    /// The end of the commit record (what to confirm).
    pub end_lsn: Lsn,
    /// Commit time (microseconds since 2000-01-01).
    pub commit_time: i64,
}

/// Stream Abort (`'A'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamAbort {
    /// The transaction id.
    pub xid: u32,
    /// The subtransaction aborted (equal to `xid` for the whole transaction).
    pub subxid: u32,
    /// Where and when it aborted (protocol 4, `streaming 'parallel'`).
    pub abort: Option<AbortPosition>,
}

/// The abort LSN and time of a [`StreamAbort`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortPosition {
    /// The LSN of the abort record.
    pub lsn: Lsn,
    /// Abort time (microseconds since 2000-01-01).
    pub time: i64,
}

/// Begin Prepare (`'b'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeginPrepare {
    /// The LSN of the prepare record.
    pub prepare_lsn: Lsn,
    /// The end of the prepared transaction.
    pub end_lsn: Lsn,
    /// Prepare time (microseconds since 2000-01-01).
    pub prepare_time: i64,
    /// The transaction id.
    pub xid: u32,
    /// The global transaction identifier (`PREPARE TRANSACTION 'gid'`).
    pub gid: ByteStr,
}

/// Prepare (`'P'`) and Stream Prepare (`'p'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepare {
    /// Flags (none defined yet: 0).
    pub flags: u8,
    /// The LSN of the prepare record.
    pub prepare_lsn: Lsn,
    /// The end of the prepared transaction (what to confirm).
    pub end_lsn: Lsn,
    /// Prepare time (microseconds since 2000-01-01).
    pub prepare_time: i64,
    /// The transaction id.
    pub xid: u32,
    /// The global transaction identifier.
    pub gid: ByteStr,
}

/// Commit Prepared (`'K'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitPrepared {
    /// Flags (none defined yet: 0).
    pub flags: u8,
    /// The LSN of the commit record.
    pub commit_lsn: Lsn,
    /// The end of the commit record (what to confirm).
    pub end_lsn: Lsn,
    /// Commit time (microseconds since 2000-01-01).
    pub commit_time: i64,
    /// The transaction id.
    pub xid: u32,
    /// The global transaction identifier.
    pub gid: ByteStr,
}

/// Rollback Prepared (`'r'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackPrepared {
    /// Flags (none defined yet: 0).
    pub flags: u8,
    /// The end of the prepared transaction.
    pub prepare_end_lsn: Lsn,
    /// The end of the rollback record (what to confirm).
    pub rollback_end_lsn: Lsn,
    /// Prepare time (microseconds since 2000-01-01).
    pub prepare_time: i64,
    /// Rollback time (microseconds since 2000-01-01).
    pub rollback_time: i64,
    /// The transaction id.
    pub xid: u32,
    /// The global transaction identifier.
    pub gid: ByteStr,
}

// ------------------------------------------- encoding rows without copies

/// Which old row an Update or Delete written with [`put_update`] /
/// [`put_delete`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldTupleKind {
    /// `'K'`: the replica identity key columns.
    Key,
    /// `'O'`: the whole old row (REPLICA IDENTITY FULL).
    Full,
}

impl OldTupleKind {
    fn tag(self) -> u8 {
        match self {
            OldTupleKind::Key => b'K',
            OldTupleKind::Full => b'O',
        }
    }
}

/// What an Insert, Update or Delete carries: the tag and which tuples
/// follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeShape {
    /// Insert (`'I'`): the new row.
    Insert,
    /// Update (`'U'`): the old key or old row if sent, then the new row.
    Update(Option<OldTupleKind>),
    /// Delete (`'D'`): the old key or the old row.
    Delete(OldTupleKind),
}

impl ChangeShape {
    fn tag(self) -> u8 {
        match self {
            ChangeShape::Insert => b'I',
            ChangeShape::Update(_) => b'U',
            ChangeShape::Delete(_) => b'D',
        }
    }

    fn old(self) -> Option<OldTupleKind> {
        match self {
            ChangeShape::Insert => None,
            ChangeShape::Update(old) => old,
            ChangeShape::Delete(old) => Some(old),
        }
    }
}

/// Which row of a change a tuple is: the old one (key or whole row) or
/// the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TupleRole {
    /// The old key or old row of an Update or Delete.
    Old,
    /// The new row of an Insert or Update.
    New,
}

/// The one layout of Insert, Update and Delete: header, then the tuples
/// `shape` says, each introduced by its kind byte and written by `tuple`.
fn put_change(
    buf: &mut BytesMut,
    shape: ChangeShape,
    xid: Option<u32>,
    relation_oid: u32,
    mut tuple: impl FnMut(TupleRole, &mut BytesMut),
) {
    buf.put_u8(shape.tag());
    if let Some(x) = xid {
        buf.put_u32(x);
    }
    buf.put_u32(relation_oid);
    if let Some(kind) = shape.old() {
        buf.put_u8(kind.tag());
        tuple(TupleRole::Old, buf);
    }
    if matches!(shape, ChangeShape::Delete(_)) {
        return;
    }
    buf.put_u8(b'N');
    tuple(TupleRole::New, buf);
}

/// Appends an Insert, Update or Delete whose rows `tuple` writes column by
/// column (called once per row `shape` carries: the old row first). A
/// publisher's hot path: values, text or binary, go straight into the
/// buffer. The same bytes as encoding the matching [`PgOutputMessage`].
///
/// ```
/// use bytes::BytesMut;
/// use pgwire::replication::pgoutput::{put_change_with, ChangeShape, OldTupleKind, TupleRole};
/// use pgwire::replication::{PgOutputDecoder, PgOutputMessage};
///
/// let mut buf = BytesMut::new();
/// put_change_with(&mut buf, ChangeShape::Update(Some(OldTupleKind::Key)), None, 16384, |role, row| {
///     match role {
///         TupleRole::Old => row.text(b"1"),
///         TupleRole::New => row.text(b"2"),
///     }
/// });
/// let PgOutputMessage::Update(u) = PgOutputDecoder::new().decode(buf.freeze()).unwrap() else {
///     unreachable!()
/// };
/// assert_eq!(u.new.get(0).and_then(|v| v.as_text()), Some("2"));
/// ```
pub fn put_change_with(
    buf: &mut BytesMut,
    shape: ChangeShape,
    xid: Option<u32>,
    relation_oid: u32,
    mut tuple: impl FnMut(TupleRole, &mut TupleWriter<'_>),
) {
    put_change(buf, shape, xid, relation_oid, |role, b| {
        let mut row = TupleWriter::new(b);
        tuple(role, &mut row);
        row.finish();
    });
}

/// Appends an Insert straight from column values (no [`TupleData`] is
/// built). The same bytes as encoding [`PgOutputMessage::Insert`].
pub fn put_insert<'a, I>(buf: &mut BytesMut, xid: Option<u32>, relation_oid: u32, new: I)
where
    I: IntoIterator<Item = super::TupleValue<'a>>,
    I::IntoIter: ExactSizeIterator,
{
    put_values(
        buf,
        ChangeShape::Insert,
        xid,
        relation_oid,
        None::<[_; 0]>,
        Some(new),
    );
}

/// Appends an Update straight from column values.
pub fn put_update<'a, O, N>(
    buf: &mut BytesMut,
    xid: Option<u32>,
    relation_oid: u32,
    old: Option<(OldTupleKind, O)>,
    new: N,
) where
    O: IntoIterator<Item = super::TupleValue<'a>>,
    O::IntoIter: ExactSizeIterator,
    N: IntoIterator<Item = super::TupleValue<'a>>,
    N::IntoIter: ExactSizeIterator,
{
    let (kind, old) = match old {
        Some((kind, values)) => (Some(kind), Some(values)),
        None => (None, None),
    };
    put_values(
        buf,
        ChangeShape::Update(kind),
        xid,
        relation_oid,
        old,
        Some(new),
    );
}

/// Appends a Delete straight from the old row's column values.
pub fn put_delete<'a, O>(
    buf: &mut BytesMut,
    xid: Option<u32>,
    relation_oid: u32,
    kind: OldTupleKind,
    old: O,
) where
    O: IntoIterator<Item = super::TupleValue<'a>>,
    O::IntoIter: ExactSizeIterator,
{
    put_values(
        buf,
        ChangeShape::Delete(kind),
        xid,
        relation_oid,
        Some(old),
        None::<[_; 0]>,
    );
}

/// [`put_change`] from iterators of values.
fn put_values<'a, O, N>(
    buf: &mut BytesMut,
    shape: ChangeShape,
    xid: Option<u32>,
    relation_oid: u32,
    old: Option<O>,
    new: Option<N>,
) where
    O: IntoIterator<Item = super::TupleValue<'a>>,
    O::IntoIter: ExactSizeIterator,
    N: IntoIterator<Item = super::TupleValue<'a>>,
    N::IntoIter: ExactSizeIterator,
{
    let (mut old, mut new) = (old, new);
    put_change(buf, shape, xid, relation_oid, |role, b| match role {
        TupleRole::Old => match old.take() {
            Some(v) => TupleData::encode_values(b, v),
            None => TupleData::encode_values(b, [super::TupleValue::Null; 0]),
        },
        TupleRole::New => match new.take() {
            Some(v) => TupleData::encode_values(b, v),
            None => TupleData::encode_values(b, [super::TupleValue::Null; 0]),
        },
    });
}

// ----------------------------------------------------------------- decode

fn xid_if(r: &mut Reader, in_stream: bool) -> DecodeResult<Option<u32>> {
    if in_stream {
        r.u32("transaction id").map(Some)
    } else {
        Ok(None)
    }
}

fn old_tuple(r: &mut Reader, kind: u8) -> DecodeResult<OldTuple> {
    let t = TupleData::decode(r)?;
    Ok(if kind == b'K' {
        OldTuple::Key(t)
    } else {
        OldTuple::Full(t)
    })
}

fn prepare_body(r: &mut Reader) -> DecodeResult<Prepare> {
    Ok(Prepare {
        flags: r.u8("flags")?,
        prepare_lsn: r.lsn("prepare LSN")?,
        end_lsn: r.lsn("end LSN")?,
        prepare_time: r.i64("prepare time")?,
        xid: r.u32("transaction id")?,
        gid: r.cstr("GID")?,
    })
}

impl PgOutputMessage {
    /// The message's name as in the documentation.
    pub fn name(&self) -> &'static str {
        match self {
            PgOutputMessage::Begin(_) => "Begin",
            PgOutputMessage::Message(_) => "Message",
            PgOutputMessage::Commit(_) => "Commit",
            PgOutputMessage::Origin(_) => "Origin",
            PgOutputMessage::Relation(_) => "Relation",
            PgOutputMessage::Type(_) => "Type",
            PgOutputMessage::Insert(_) => "Insert",
            PgOutputMessage::Update(_) => "Update",
            PgOutputMessage::Delete(_) => "Delete",
            PgOutputMessage::Truncate(_) => "Truncate",
            PgOutputMessage::StreamStart(_) => "Stream Start",
            PgOutputMessage::StreamStop => "Stream Stop",
            PgOutputMessage::StreamCommit(_) => "Stream Commit",
            PgOutputMessage::StreamAbort(_) => "Stream Abort",
            PgOutputMessage::BeginPrepare(_) => "Begin Prepare",
            PgOutputMessage::Prepare(_) => "Prepare",
            PgOutputMessage::CommitPrepared(_) => "Commit Prepared",
            PgOutputMessage::RollbackPrepared(_) => "Rollback Prepared",
            PgOutputMessage::StreamPrepare(_) => "Stream Prepare",
        }
    }

    /// Decodes one message in `context` (prefer [`PgOutputDecoder`], which
    /// keeps the context). Bounded: every length is checked against the
    /// bytes present before anything is allocated.
    pub fn decode(
        data: Bytes,
        context: DecodeContext,
    ) -> Result<PgOutputMessage, ReplicationDecodeError> {
        let Some(&tag) = data.first() else {
            return Err(ReplicationDecodeError::Empty { family: "pgoutput" });
        };
        let name = match tag {
            b'B' => "Begin",
            b'M' => "Message",
            b'C' => "Commit",
            b'O' => "Origin",
            b'R' => "Relation",
            b'Y' => "Type",
            b'I' => "Insert",
            b'U' => "Update",
            b'D' => "Delete",
            b'T' => "Truncate",
            b'S' => "Stream Start",
            b'E' => "Stream Stop",
            b'c' => "Stream Commit",
            b'A' => "Stream Abort",
            b'b' => "Begin Prepare",
            b'P' => "Prepare",
            b'K' => "Commit Prepared",
            b'r' => "Rollback Prepared",
            b'p' => "Stream Prepare",
            _ => {
                return Err(ReplicationDecodeError::UnknownTag {
                    family: "pgoutput",
                    tag,
                });
            }
        };
        let mut r = Reader::new(data.slice(1..), name);
        let s = context.in_stream;
        let m = match tag {
            b'B' => PgOutputMessage::Begin(Begin {
                final_lsn: r.lsn("final LSN")?,
                commit_time: r.i64("commit time")?,
                xid: r.u32("transaction id")?,
            }),
            b'M' => {
                let xid = xid_if(&mut r, s)?;
                let flags = r.u8("flags")?;
                let lsn = r.lsn("LSN")?;
                let prefix = r.cstr("prefix")?;
                let len = r.i32("content length")?;
                let len =
                    usize::try_from(len).map_err(|_| r.invalid("content length", len.into()))?;
                PgOutputMessage::Message(LogicalDecodingMessage {
                    xid,
                    flags,
                    lsn,
                    prefix,
                    content: r.take(len, "content")?,
                })
            }
            b'C' => PgOutputMessage::Commit(Commit {
                flags: r.u8("flags")?,
                commit_lsn: r.lsn("commit LSN")?,
                end_lsn: r.lsn("end LSN")?,
                commit_time: r.i64("commit time")?,
            }),
            b'O' => PgOutputMessage::Origin(Origin {
                commit_lsn: r.lsn("origin commit LSN")?,
                name: r.cstr("origin name")?,
            }),
            b'R' => {
                let xid = xid_if(&mut r, s)?;
                let oid = r.u32("relation OID")?;
                let namespace = r.cstr("namespace")?;
                let name = r.cstr("relation name")?;
                let ident = r.u8("replica identity")?;
                let replica_identity = ReplicaIdentity::from_byte(ident)
                    .ok_or_else(|| r.invalid("replica identity", ident.into()))?;
                let n = r.i16("column count")?;
                let n = usize::try_from(n).map_err(|_| r.invalid("column count", n.into()))?;
                // Each column takes at least 10 bytes: no allocation
                // beyond what the message can hold.
                let mut columns = Vec::with_capacity(n.min(r.remaining() / 10));
                for _ in 0..n {
                    columns.push(RelationColumn {
                        flags: r.u8("column flags")?,
                        name: r.cstr("column name")?,
                        type_oid: r.u32("column type OID")?,
                        type_modifier: r.i32("column type modifier")?,
                    });
                }
                PgOutputMessage::Relation(Relation {
                    xid,
                    oid,
                    namespace,
                    name,
                    replica_identity,
                    columns,
                })
            }
            b'Y' => PgOutputMessage::Type(TypeMessage {
                xid: xid_if(&mut r, s)?,
                oid: r.u32("type OID")?,
                namespace: r.cstr("namespace")?,
                name: r.cstr("type name")?,
            }),
            b'I' => {
                let xid = xid_if(&mut r, s)?;
                let relation_oid = r.u32("relation OID")?;
                let kind = r.u8("tuple kind")?;
                if kind != b'N' {
                    return Err(r.invalid("tuple kind", kind.into()));
                }
                PgOutputMessage::Insert(Insert {
                    xid,
                    relation_oid,
                    new: TupleData::decode(&mut r)?,
                })
            }
            b'U' => {
                let xid = xid_if(&mut r, s)?;
                let relation_oid = r.u32("relation OID")?;
                let mut kind = r.u8("tuple kind")?;
                let mut old = None;
                if kind == b'K' || kind == b'O' {
                    old = Some(old_tuple(&mut r, kind)?);
                    kind = r.u8("tuple kind")?;
                }
                if kind != b'N' {
                    return Err(r.invalid("tuple kind", kind.into()));
                }
                PgOutputMessage::Update(Update {
                    xid,
                    relation_oid,
                    old,
                    new: TupleData::decode(&mut r)?,
                })
            }
            b'D' => {
                let xid = xid_if(&mut r, s)?;
                let relation_oid = r.u32("relation OID")?;
                let kind = r.u8("tuple kind")?;
                if kind != b'K' && kind != b'O' {
                    return Err(r.invalid("tuple kind", kind.into()));
                }
                PgOutputMessage::Delete(Delete {
                    xid,
                    relation_oid,
                    old: old_tuple(&mut r, kind)?,
                })
            }
            b'T' => {
                let xid = xid_if(&mut r, s)?;
                let n = r.i32("relation count")?;
                let n = usize::try_from(n).map_err(|_| r.invalid("relation count", n.into()))?;
                let options = r.u8("options")?;
                if r.remaining() / 4 < n {
                    return Err(r.truncated("relation OIDs"));
                }
                let mut relation_oids = Vec::with_capacity(n);
                for _ in 0..n {
                    relation_oids.push(r.u32("relation OID")?);
                }
                PgOutputMessage::Truncate(Truncate {
                    xid,
                    options,
                    relation_oids,
                })
            }
            b'S' => PgOutputMessage::StreamStart(StreamStart {
                xid: r.u32("transaction id")?,
                first_segment: r.bool("first segment")?,
            }),
            b'E' => PgOutputMessage::StreamStop,
            b'c' => PgOutputMessage::StreamCommit(StreamCommit {
                xid: r.u32("transaction id")?,
                flags: r.u8("flags")?,
                commit_lsn: r.lsn("commit LSN")?,
                end_lsn: r.lsn("end LSN")?,
                commit_time: r.i64("commit time")?,
            }),
            b'A' => {
                let xid = r.u32("transaction id")?;
                let subxid = r.u32("subtransaction id")?;
                let abort = if context.stream_abort_info {
                    Some(AbortPosition {
                        lsn: r.lsn("abort LSN")?,
                        time: r.i64("abort time")?,
                    })
                } else {
                    None
                };
                PgOutputMessage::StreamAbort(StreamAbort { xid, subxid, abort })
            }
            b'b' => PgOutputMessage::BeginPrepare(BeginPrepare {
                prepare_lsn: r.lsn("prepare LSN")?,
                end_lsn: r.lsn("end LSN")?,
                prepare_time: r.i64("prepare time")?,
                xid: r.u32("transaction id")?,
                gid: r.cstr("GID")?,
            }),
            b'P' => PgOutputMessage::Prepare(prepare_body(&mut r)?),
            b'K' => PgOutputMessage::CommitPrepared(CommitPrepared {
                flags: r.u8("flags")?,
                commit_lsn: r.lsn("commit LSN")?,
                end_lsn: r.lsn("end LSN")?,
                commit_time: r.i64("commit time")?,
                xid: r.u32("transaction id")?,
                gid: r.cstr("GID")?,
            }),
            b'r' => PgOutputMessage::RollbackPrepared(RollbackPrepared {
                flags: r.u8("flags")?,
                prepare_end_lsn: r.lsn("prepare end LSN")?,
                rollback_end_lsn: r.lsn("rollback end LSN")?,
                prepare_time: r.i64("prepare time")?,
                rollback_time: r.i64("rollback time")?,
                xid: r.u32("transaction id")?,
                gid: r.cstr("GID")?,
            }),
            // b'p': the tags were matched above.
            _ => PgOutputMessage::StreamPrepare(prepare_body(&mut r)?),
        };
        r.finish()?;
        Ok(m)
    }

    // ------------------------------------------------------------- encode

    /// Appends the message (what goes into XLogData's data). Optional
    /// fields are written when present: an `xid` of `Some` for messages in
    /// a streamed block, [`StreamAbort::abort`] for protocol 4 parallel
    /// streaming.
    pub fn encode(&self, buf: &mut BytesMut) {
        fn cstr(buf: &mut BytesMut, s: &ByteStr) {
            buf.put_slice(s.as_bytes());
            buf.put_u8(0);
        }
        fn xid(buf: &mut BytesMut, x: Option<u32>) {
            if let Some(x) = x {
                buf.put_u32(x);
            }
        }
        fn prepare(buf: &mut BytesMut, tag: u8, p: &Prepare) {
            buf.put_u8(tag);
            buf.put_u8(p.flags);
            buf.put_u64(p.prepare_lsn.0);
            buf.put_u64(p.end_lsn.0);
            buf.put_i64(p.prepare_time);
            buf.put_u32(p.xid);
            cstr(buf, &p.gid);
        }
        match self {
            PgOutputMessage::Begin(m) => {
                buf.put_u8(b'B');
                buf.put_u64(m.final_lsn.0);
                buf.put_i64(m.commit_time);
                buf.put_u32(m.xid);
            }
            PgOutputMessage::Message(m) => {
                buf.put_u8(b'M');
                xid(buf, m.xid);
                buf.put_u8(m.flags);
                buf.put_u64(m.lsn.0);
                cstr(buf, &m.prefix);
                buf.put_i32(i32::try_from(m.content.len()).unwrap_or(i32::MAX));
                buf.put_slice(&m.content);
            }
            PgOutputMessage::Commit(m) => {
                buf.put_u8(b'C');
                buf.put_u8(m.flags);
                buf.put_u64(m.commit_lsn.0);
                buf.put_u64(m.end_lsn.0);
                buf.put_i64(m.commit_time);
            }
            PgOutputMessage::Origin(m) => {
                buf.put_u8(b'O');
                buf.put_u64(m.commit_lsn.0);
                cstr(buf, &m.name);
            }
            PgOutputMessage::Relation(m) => {
                buf.put_u8(b'R');
                xid(buf, m.xid);
                buf.put_u32(m.oid);
                cstr(buf, &m.namespace);
                cstr(buf, &m.name);
                buf.put_u8(m.replica_identity.as_byte());
                buf.put_i16(i16::try_from(m.columns.len()).unwrap_or(i16::MAX));
                for c in m.columns.iter().take(i16::MAX as usize) {
                    buf.put_u8(c.flags);
                    cstr(buf, &c.name);
                    buf.put_u32(c.type_oid);
                    buf.put_i32(c.type_modifier);
                }
            }
            PgOutputMessage::Type(m) => {
                buf.put_u8(b'Y');
                xid(buf, m.xid);
                buf.put_u32(m.oid);
                cstr(buf, &m.namespace);
                cstr(buf, &m.name);
            }
            PgOutputMessage::Insert(m) => {
                put_change(buf, ChangeShape::Insert, m.xid, m.relation_oid, |_, b| {
                    m.new.encode(b)
                });
            }
            PgOutputMessage::Update(m) => {
                let shape = ChangeShape::Update(m.old.as_ref().map(OldTuple::kind));
                put_change(buf, shape, m.xid, m.relation_oid, |role, b| {
                    match (role, &m.old) {
                        (TupleRole::Old, Some(old)) => old.tuple().encode(b),
                        _ => m.new.encode(b),
                    }
                });
            }
            PgOutputMessage::Delete(m) => {
                let shape = ChangeShape::Delete(m.old.kind());
                put_change(buf, shape, m.xid, m.relation_oid, |_, b| {
                    m.old.tuple().encode(b)
                });
            }
            PgOutputMessage::Truncate(m) => {
                buf.put_u8(b'T');
                xid(buf, m.xid);
                buf.put_i32(i32::try_from(m.relation_oids.len()).unwrap_or(i32::MAX));
                buf.put_u8(m.options);
                for oid in &m.relation_oids {
                    buf.put_u32(*oid);
                }
            }
            PgOutputMessage::StreamStart(m) => {
                buf.put_u8(b'S');
                buf.put_u32(m.xid);
                buf.put_u8(m.first_segment.into());
            }
            PgOutputMessage::StreamStop => buf.put_u8(b'E'),
            PgOutputMessage::StreamCommit(m) => {
                buf.put_u8(b'c');
                buf.put_u32(m.xid);
                buf.put_u8(m.flags);
                buf.put_u64(m.commit_lsn.0);
                buf.put_u64(m.end_lsn.0);
                buf.put_i64(m.commit_time);
            }
            PgOutputMessage::StreamAbort(m) => {
                buf.put_u8(b'A');
                buf.put_u32(m.xid);
                buf.put_u32(m.subxid);
                if let Some(a) = m.abort {
                    buf.put_u64(a.lsn.0);
                    buf.put_i64(a.time);
                }
            }
            PgOutputMessage::BeginPrepare(m) => {
                buf.put_u8(b'b');
                buf.put_u64(m.prepare_lsn.0);
                buf.put_u64(m.end_lsn.0);
                buf.put_i64(m.prepare_time);
                buf.put_u32(m.xid);
                cstr(buf, &m.gid);
            }
            PgOutputMessage::Prepare(m) => prepare(buf, b'P', m),
            PgOutputMessage::CommitPrepared(m) => {
                buf.put_u8(b'K');
                buf.put_u8(m.flags);
                buf.put_u64(m.commit_lsn.0);
                buf.put_u64(m.end_lsn.0);
                buf.put_i64(m.commit_time);
                buf.put_u32(m.xid);
                cstr(buf, &m.gid);
            }
            PgOutputMessage::RollbackPrepared(m) => {
                buf.put_u8(b'r');
                buf.put_u8(m.flags);
                buf.put_u64(m.prepare_end_lsn.0);
                buf.put_u64(m.rollback_end_lsn.0);
                buf.put_i64(m.prepare_time);
                buf.put_i64(m.rollback_time);
                buf.put_u32(m.xid);
                cstr(buf, &m.gid);
            }
            PgOutputMessage::StreamPrepare(m) => prepare(buf, b'p', m),
        }
    }

    /// The context this message must be decoded in to read back as it is
    /// (for round trips: whether it carries an xid or abort position).
    pub fn encoding_context(&self) -> DecodeContext {
        let in_stream = match self {
            PgOutputMessage::Message(m) => m.xid.is_some(),
            PgOutputMessage::Relation(m) => m.xid.is_some(),
            PgOutputMessage::Type(m) => m.xid.is_some(),
            PgOutputMessage::Insert(m) => m.xid.is_some(),
            PgOutputMessage::Update(m) => m.xid.is_some(),
            PgOutputMessage::Delete(m) => m.xid.is_some(),
            PgOutputMessage::Truncate(m) => m.xid.is_some(),
            _ => false,
        };
        let stream_abort_info = matches!(
            self,
            PgOutputMessage::StreamAbort(StreamAbort { abort: Some(_), .. })
        );
        DecodeContext {
            in_stream,
            stream_abort_info,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::TupleValue;

    fn round_trip(m: PgOutputMessage) {
        let mut b = BytesMut::new();
        m.encode(&mut b);
        let wire = b.freeze();
        let back = PgOutputMessage::decode(wire.clone(), m.encoding_context()).unwrap();
        assert_eq!(back, m);
        // Every strict prefix is an error, never a panic.
        for cut in 0..wire.len() {
            let _ = PgOutputMessage::decode(wire.slice(..cut), m.encoding_context())
                .expect_err("a truncated message must not decode");
        }
    }

    fn t(cols: &[TupleValue<'_>]) -> TupleData {
        TupleData::from_values(cols.iter().copied())
    }

    #[test]
    fn every_message_round_trips() {
        let tuple = t(&[
            TupleValue::Text(b"42"),
            TupleValue::Null,
            TupleValue::UnchangedToast,
            TupleValue::Binary(&[0, 1, 2]),
        ]);
        round_trip(PgOutputMessage::Begin(Begin {
            final_lsn: Lsn(10),
            commit_time: 20,
            xid: 30,
        }));
        round_trip(PgOutputMessage::Message(LogicalDecodingMessage {
            xid: Some(5),
            flags: 1,
            lsn: Lsn(7),
            prefix: "pfx".into(),
            content: Bytes::from_static(b"hello"),
        }));
        round_trip(PgOutputMessage::Commit(Commit {
            flags: 0,
            commit_lsn: Lsn(1),
            end_lsn: Lsn(2),
            commit_time: 3,
        }));
        round_trip(PgOutputMessage::Origin(Origin {
            commit_lsn: Lsn(1),
            name: "o".into(),
        }));
        round_trip(PgOutputMessage::Relation(Relation {
            xid: None,
            oid: 16384,
            namespace: "public".into(),
            name: "t".into(),
            replica_identity: ReplicaIdentity::Full,
            columns: vec![RelationColumn {
                flags: 1,
                name: "id".into(),
                type_oid: 23,
                type_modifier: -1,
            }],
        }));
        round_trip(PgOutputMessage::Type(TypeMessage {
            xid: Some(1),
            oid: 99999,
            namespace: "public".into(),
            name: "mood".into(),
        }));
        round_trip(PgOutputMessage::Insert(Insert {
            xid: None,
            relation_oid: 1,
            new: tuple.clone(),
        }));
        round_trip(PgOutputMessage::Update(Update {
            xid: Some(9),
            relation_oid: 1,
            old: Some(OldTuple::Key(t(&[TupleValue::Text(b"1")]))),
            new: tuple.clone(),
        }));
        round_trip(PgOutputMessage::Update(Update {
            xid: None,
            relation_oid: 1,
            old: None,
            new: tuple.clone(),
        }));
        round_trip(PgOutputMessage::Delete(Delete {
            xid: None,
            relation_oid: 1,
            old: OldTuple::Full(tuple.clone()),
        }));
        round_trip(PgOutputMessage::Truncate(Truncate {
            xid: None,
            options: 3,
            relation_oids: vec![1, 2, 3],
        }));
        round_trip(PgOutputMessage::StreamStart(StreamStart {
            xid: 5,
            first_segment: true,
        }));
        round_trip(PgOutputMessage::StreamStop);
        round_trip(PgOutputMessage::StreamCommit(StreamCommit {
            xid: 5,
            flags: 0,
            commit_lsn: Lsn(1),
            end_lsn: Lsn(2),
            commit_time: 3,
        }));
        round_trip(PgOutputMessage::StreamAbort(StreamAbort {
            xid: 5,
            subxid: 6,
            abort: None,
        }));
        round_trip(PgOutputMessage::StreamAbort(StreamAbort {
            xid: 5,
            subxid: 5,
            abort: Some(AbortPosition {
                lsn: Lsn(8),
                time: 9,
            }),
        }));
        let gid: ByteStr = "gid-1".into();
        round_trip(PgOutputMessage::BeginPrepare(BeginPrepare {
            prepare_lsn: Lsn(1),
            end_lsn: Lsn(2),
            prepare_time: 3,
            xid: 4,
            gid: gid.clone(),
        }));
        let p = Prepare {
            flags: 0,
            prepare_lsn: Lsn(1),
            end_lsn: Lsn(2),
            prepare_time: 3,
            xid: 4,
            gid: gid.clone(),
        };
        round_trip(PgOutputMessage::Prepare(p.clone()));
        round_trip(PgOutputMessage::StreamPrepare(p));
        round_trip(PgOutputMessage::CommitPrepared(CommitPrepared {
            flags: 0,
            commit_lsn: Lsn(1),
            end_lsn: Lsn(2),
            commit_time: 3,
            xid: 4,
            gid: gid.clone(),
        }));
        round_trip(PgOutputMessage::RollbackPrepared(RollbackPrepared {
            flags: 0,
            prepare_end_lsn: Lsn(1),
            rollback_end_lsn: Lsn(2),
            prepare_time: 3,
            rollback_time: 4,
            xid: 5,
            gid,
        }));
    }

    #[test]
    fn hostile_lengths_are_errors() {
        // Insert with a column length of -1 and of 2^31-1.
        for len in [-1i32, i32::MAX] {
            let mut b = BytesMut::new();
            b.put_u8(b'I');
            b.put_u32(1);
            b.put_u8(b'N');
            b.put_i16(1);
            b.put_u8(b't');
            b.put_i32(len);
            assert!(PgOutputMessage::decode(b.freeze(), DecodeContext::default()).is_err());
        }
        // Truncate claiming a billion relations.
        let mut b = BytesMut::new();
        b.put_u8(b'T');
        b.put_i32(1_000_000_000);
        b.put_u8(0);
        assert!(PgOutputMessage::decode(b.freeze(), DecodeContext::default()).is_err());
        // Unknown tag, trailing bytes, empty.
        assert!(
            PgOutputMessage::decode(Bytes::from_static(b"Z"), DecodeContext::default()).is_err()
        );
        assert!(
            PgOutputMessage::decode(Bytes::from_static(b"E!"), DecodeContext::default()).is_err()
        );
        assert!(PgOutputMessage::decode(Bytes::new(), DecodeContext::default()).is_err());
    }

    #[test]
    fn put_functions_write_what_encode_writes() {
        let old = [TupleValue::Text(b"1"), TupleValue::Null];
        let new = [TupleValue::Text(b"2"), TupleValue::UnchangedToast];
        let same = |m: PgOutputMessage, put: &dyn Fn(&mut BytesMut)| {
            let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
            m.encode(&mut a);
            put(&mut b);
            assert_eq!(a, b, "{}", m.name());
        };
        same(
            PgOutputMessage::Insert(Insert {
                xid: Some(3),
                relation_oid: 9,
                new: t(&new),
            }),
            &|b| put_insert(b, Some(3), 9, new),
        );
        same(
            PgOutputMessage::Update(Update {
                xid: None,
                relation_oid: 9,
                old: Some(OldTuple::Full(t(&old))),
                new: t(&new),
            }),
            &|b| put_update(b, None, 9, Some((OldTupleKind::Full, old)), new),
        );
        same(
            PgOutputMessage::Update(Update {
                xid: None,
                relation_oid: 9,
                old: None,
                new: t(&new),
            }),
            &|b| put_update(b, None, 9, None::<(OldTupleKind, [TupleValue<'_>; 0])>, new),
        );
        same(
            PgOutputMessage::Delete(Delete {
                xid: None,
                relation_oid: 9,
                old: OldTuple::Key(t(&old)),
            }),
            &|b| put_delete(b, None, 9, OldTupleKind::Key, old),
        );
    }

    #[test]
    fn decoder_tracks_stream_blocks() {
        let mut d = PgOutputDecoder::new();
        let mut b = BytesMut::new();
        PgOutputMessage::StreamStart(StreamStart {
            xid: 7,
            first_segment: true,
        })
        .encode(&mut b);
        d.decode(b.split().freeze()).unwrap();
        assert!(d.in_stream());
        let ins = PgOutputMessage::Insert(Insert {
            xid: Some(7),
            relation_oid: 1,
            new: t(&[TupleValue::Text(b"x")]),
        });
        ins.encode(&mut b);
        assert_eq!(d.decode(b.split().freeze()).unwrap(), ins);
        PgOutputMessage::StreamStop.encode(&mut b);
        d.decode(b.split().freeze()).unwrap();
        assert!(!d.in_stream());
    }
}
