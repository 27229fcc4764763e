//! The CopyData payloads of a streaming replication connection
//! ("Streaming Replication Protocol", START_REPLICATION): XLogData and
//! PrimaryKeepalive from the server, StandbyStatusUpdate and
//! HotStandbyFeedback from the client.
//!
//! `decode` takes the CopyData payload (type byte included); `encode`
//! appends the payload to a buffer; `encode_framed` appends a whole
//! CopyData message (`'d'`, length, payload) ready for the socket.

use bytes::{BufMut, Bytes, BytesMut};

use super::error::ReplicationDecodeError;
use super::lsn::Lsn;
use super::reader::{DecodeResult, Reader};

/// Appends a CopyData message whose payload `body` writes, patching its
/// length in afterwards: the payload is written once, straight into the
/// output buffer.
pub fn put_copy_data_with(buf: &mut BytesMut, body: impl FnOnce(&mut BytesMut)) {
    buf.put_u8(b'd');
    let len_at = buf.len();
    buf.put_u32(0);
    body(buf);
    let len = u32::try_from(buf.len() - len_at).unwrap_or(u32::MAX);
    buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
}

/// A message from the server during START_REPLICATION.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicationMessage {
    /// `'w'`: WAL data (raw WAL for physical replication, output plugin
    /// data such as one `pgoutput` message for logical replication).
    XLogData(XLogData),
    /// `'k'`: the server's position, and whether it wants a status update.
    PrimaryKeepalive(PrimaryKeepalive),
}

impl ReplicationMessage {
    /// Decodes a CopyData payload sent by the server.
    pub fn decode(payload: Bytes) -> Result<ReplicationMessage, ReplicationDecodeError> {
        match payload.first() {
            Some(b'w') => XLogData::decode(payload).map(ReplicationMessage::XLogData),
            Some(b'k') => {
                PrimaryKeepalive::decode(payload).map(ReplicationMessage::PrimaryKeepalive)
            }
            Some(&tag) => Err(ReplicationDecodeError::UnknownTag {
                family: "replication (server)",
                tag,
            }),
            None => Err(ReplicationDecodeError::Empty {
                family: "replication (server)",
            }),
        }
    }

    /// Appends the CopyData payload.
    pub fn encode(&self, buf: &mut BytesMut) {
        match self {
            ReplicationMessage::XLogData(m) => m.encode(buf),
            ReplicationMessage::PrimaryKeepalive(m) => m.encode(buf),
        }
    }
}

/// A message from the client during START_REPLICATION.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StandbyMessage {
    /// `'r'`: how far the client has written, flushed and applied.
    StatusUpdate(StandbyStatusUpdate),
    /// `'h'`: the standby's xmin, for hot standby feedback.
    HotStandbyFeedback(HotStandbyFeedback),
}

impl StandbyMessage {
    /// Decodes a CopyData payload sent by the client.
    pub fn decode(payload: Bytes) -> Result<StandbyMessage, ReplicationDecodeError> {
        match payload.first() {
            Some(b'r') => StandbyStatusUpdate::decode(payload).map(StandbyMessage::StatusUpdate),
            Some(b'h') => {
                HotStandbyFeedback::decode(payload).map(StandbyMessage::HotStandbyFeedback)
            }
            Some(&tag) => Err(ReplicationDecodeError::UnknownTag {
                family: "replication (standby)",
                tag,
            }),
            None => Err(ReplicationDecodeError::Empty {
                family: "replication (standby)",
            }),
        }
    }

    /// Appends the CopyData payload.
    pub fn encode(&self, buf: &mut BytesMut) {
        match self {
            StandbyMessage::StatusUpdate(m) => m.encode(buf),
            StandbyMessage::HotStandbyFeedback(m) => m.encode(buf),
        }
    }
}

/// Checks the type byte a payload starts with.
fn open(payload: Bytes, tag: u8, message: &'static str) -> DecodeResult<Reader> {
    let mut r = Reader::new(payload, message);
    let got = r.u8("message type")?;
    if got != tag {
        return Err(r.invalid("message type", got.into()));
    }
    Ok(r)
}

/// XLogData (`'w'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XLogData {
    /// Where `data` starts in the WAL.
    pub wal_start: Lsn,
    /// The current end of WAL on the server.
    pub wal_end: Lsn,
    /// The server's clock when sending (microseconds since 2000-01-01).
    pub send_time: i64,
    /// The WAL bytes (physical) or the output plugin's message (logical),
    /// a view of the received buffer.
    pub data: Bytes,
}

impl XLogData {
    /// The header's length: type byte and three 8-byte fields.
    pub const HEADER_LEN: usize = 25;

    /// Decodes a `'w'` payload.
    pub fn decode(payload: Bytes) -> Result<XLogData, ReplicationDecodeError> {
        let mut r = open(payload, b'w', "XLogData")?;
        Ok(XLogData {
            wal_start: r.lsn("WAL start")?,
            wal_end: r.lsn("WAL end")?,
            send_time: r.i64("send time")?,
            data: r.rest(),
        })
    }

    /// Appends the payload.
    pub fn encode(&self, buf: &mut BytesMut) {
        Self::encode_header(buf, self.wal_start, self.wal_end, self.send_time);
        buf.put_slice(&self.data);
    }

    /// Appends only the header; the caller appends the data after it (a
    /// publisher encodes its `pgoutput` message straight behind it).
    pub fn encode_header(buf: &mut BytesMut, wal_start: Lsn, wal_end: Lsn, send_time: i64) {
        buf.reserve(Self::HEADER_LEN);
        buf.put_u8(b'w');
        buf.put_u64(wal_start.0);
        buf.put_u64(wal_end.0);
        buf.put_i64(send_time);
    }

    /// Appends a whole CopyData message carrying this XLogData.
    pub fn encode_framed(&self, buf: &mut BytesMut) {
        put_copy_data_with(buf, |b| self.encode(b));
    }
}

/// Primary keepalive (`'k'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrimaryKeepalive {
    /// The current end of WAL on the server.
    pub wal_end: Lsn,
    /// The server's clock when sending (microseconds since 2000-01-01).
    pub send_time: i64,
    /// The client should answer with a status update at once (or risk a
    /// timeout disconnect).
    pub reply_requested: bool,
}

impl PrimaryKeepalive {
    /// Decodes a `'k'` payload.
    pub fn decode(payload: Bytes) -> Result<PrimaryKeepalive, ReplicationDecodeError> {
        let mut r = open(payload, b'k', "PrimaryKeepalive")?;
        let m = PrimaryKeepalive {
            wal_end: r.lsn("WAL end")?,
            send_time: r.i64("send time")?,
            reply_requested: r.bool("reply requested")?,
        };
        r.finish()?;
        Ok(m)
    }

    /// Appends the payload.
    pub fn encode(&self, buf: &mut BytesMut) {
        buf.reserve(18);
        buf.put_u8(b'k');
        buf.put_u64(self.wal_end.0);
        buf.put_i64(self.send_time);
        buf.put_u8(self.reply_requested.into());
    }

    /// Appends a whole CopyData message.
    pub fn encode_framed(&self, buf: &mut BytesMut) {
        put_copy_data_with(buf, |b| self.encode(b));
    }
}

/// Standby status update (`'r'`). Each position is "the last WAL byte + 1"
/// the client has handled that far; for a logical slot, `flushed` is what
/// becomes its `confirmed_flush_lsn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandbyStatusUpdate {
    /// Received and written.
    pub written: Lsn,
    /// Durably stored.
    pub flushed: Lsn,
    /// Applied.
    pub applied: Lsn,
    /// The client's clock (microseconds since 2000-01-01).
    pub client_time: i64,
    /// Asks the server to answer with a keepalive at once.
    pub reply_requested: bool,
}

impl StandbyStatusUpdate {
    /// Decodes an `'r'` payload.
    pub fn decode(payload: Bytes) -> Result<StandbyStatusUpdate, ReplicationDecodeError> {
        let mut r = open(payload, b'r', "StandbyStatusUpdate")?;
        let m = StandbyStatusUpdate {
            written: r.lsn("written LSN")?,
            flushed: r.lsn("flushed LSN")?,
            applied: r.lsn("applied LSN")?,
            client_time: r.i64("client time")?,
            reply_requested: r.bool("reply requested")?,
        };
        r.finish()?;
        Ok(m)
    }

    /// Appends the payload.
    pub fn encode(&self, buf: &mut BytesMut) {
        buf.reserve(34);
        buf.put_u8(b'r');
        buf.put_u64(self.written.0);
        buf.put_u64(self.flushed.0);
        buf.put_u64(self.applied.0);
        buf.put_i64(self.client_time);
        buf.put_u8(self.reply_requested.into());
    }

    /// Appends a whole CopyData message.
    pub fn encode_framed(&self, buf: &mut BytesMut) {
        put_copy_data_with(buf, |b| self.encode(b));
    }
}

/// Hot standby feedback (`'h'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotStandbyFeedback {
    /// The client's clock (microseconds since 2000-01-01).
    pub client_time: i64,
    /// The standby's current global xmin (0: none).
    pub xmin: u32,
    /// Its epoch.
    pub xmin_epoch: u32,
    /// The lowest catalog_xmin of the standby's slots (0: none).
    pub catalog_xmin: u32,
    /// Its epoch.
    pub catalog_xmin_epoch: u32,
}

impl HotStandbyFeedback {
    /// Decodes an `'h'` payload.
    pub fn decode(payload: Bytes) -> Result<HotStandbyFeedback, ReplicationDecodeError> {
        let mut r = open(payload, b'h', "HotStandbyFeedback")?;
        let m = HotStandbyFeedback {
            client_time: r.i64("client time")?,
            xmin: r.u32("xmin")?,
            xmin_epoch: r.u32("xmin epoch")?,
            catalog_xmin: r.u32("catalog xmin")?,
            catalog_xmin_epoch: r.u32("catalog xmin epoch")?,
        };
        r.finish()?;
        Ok(m)
    }

    /// Appends the payload.
    pub fn encode(&self, buf: &mut BytesMut) {
        buf.reserve(25);
        buf.put_u8(b'h');
        buf.put_i64(self.client_time);
        buf.put_u32(self.xmin);
        buf.put_u32(self.xmin_epoch);
        buf.put_u32(self.catalog_xmin);
        buf.put_u32(self.catalog_xmin_epoch);
    }

    /// Appends a whole CopyData message.
    pub fn encode_framed(&self, buf: &mut BytesMut) {
        put_copy_data_with(buf, |b| self.encode(b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of(f: impl FnOnce(&mut BytesMut)) -> Bytes {
        let mut b = BytesMut::new();
        f(&mut b);
        b.freeze()
    }

    #[test]
    fn round_trips() {
        let x = XLogData {
            wal_start: Lsn(1),
            wal_end: Lsn(2),
            send_time: 3,
            data: Bytes::from_static(b"abc"),
        };
        let m = ReplicationMessage::XLogData(x.clone());
        assert_eq!(
            ReplicationMessage::decode(bytes_of(|b| m.encode(b))).unwrap(),
            m
        );
        let k = ReplicationMessage::PrimaryKeepalive(PrimaryKeepalive {
            wal_end: Lsn(9),
            send_time: -1,
            reply_requested: true,
        });
        assert_eq!(
            ReplicationMessage::decode(bytes_of(|b| k.encode(b))).unwrap(),
            k
        );
        let r = StandbyMessage::StatusUpdate(StandbyStatusUpdate {
            written: Lsn(3),
            flushed: Lsn(2),
            applied: Lsn(1),
            client_time: 77,
            reply_requested: false,
        });
        assert_eq!(
            StandbyMessage::decode(bytes_of(|b| r.encode(b))).unwrap(),
            r
        );
        let h = StandbyMessage::HotStandbyFeedback(HotStandbyFeedback {
            client_time: 1,
            xmin: 2,
            xmin_epoch: 3,
            catalog_xmin: 4,
            catalog_xmin_epoch: 5,
        });
        assert_eq!(
            StandbyMessage::decode(bytes_of(|b| h.encode(b))).unwrap(),
            h
        );
    }

    #[test]
    fn framing_patches_the_length() {
        let framed = bytes_of(|b| {
            PrimaryKeepalive {
                wal_end: Lsn(1),
                send_time: 0,
                reply_requested: false,
            }
            .encode_framed(b)
        });
        assert_eq!(framed[0], b'd');
        assert_eq!(u32::from_be_bytes(framed[1..5].try_into().unwrap()), 4 + 18);
        assert_eq!(framed.len(), 1 + 4 + 18);
    }

    #[test]
    fn short_or_unknown_payloads_are_errors() {
        for bad in [
            &b""[..],
            b"w",
            b"k\0\0",
            b"r",
            b"h",
            b"x123",
            b"k\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x02",
        ] {
            let b = Bytes::copy_from_slice(bad);
            assert!(
                ReplicationMessage::decode(b.clone()).is_err()
                    || StandbyMessage::decode(b).is_err()
            );
        }
        assert!(StandbyMessage::decode(Bytes::from_static(b"r")).is_err());
    }
}
