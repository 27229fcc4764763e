//! NotificationResponse ('A'): LISTEN/NOTIFY.

use bytes::{BufMut, Bytes, BytesMut};

use super::frame::put_cstr;
use super::reader::Reader;
use super::{ByteStr, DecodeError, Message};

/// NotificationResponse ('A'): a NOTIFY on a channel the session listens to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationResponse {
    /// Process ID of the notifying session.
    pub process_id: i32,
    /// Channel name.
    pub channel: ByteStr,
    /// Payload (may be empty).
    pub payload: ByteStr,
}

impl Message for NotificationResponse {
    const NAME: &'static str = "NotificationResponse";
    const TAG: Option<u8> = Some(b'A');

    fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_i32(self.process_id);
        put_cstr(buf, self.channel.as_bytes());
        put_cstr(buf, self.payload.as_bytes());
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let process_id = r.i32()?;
        let channel = r.cstr()?;
        let payload = r.cstr()?;
        r.finish()?;
        Ok(NotificationResponse {
            process_id,
            channel,
            payload,
        })
    }
}
