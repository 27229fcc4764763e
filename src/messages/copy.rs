//! COPY sub-protocol messages.

use bytes::{BufMut, Bytes, BytesMut};

use super::frame::put_cstr;
use super::reader::Reader;
use super::startup::raw_body_message;
use super::terminate::empty_message;
use super::{ByteStr, DecodeError, FormatCodes, Message};

raw_body_message!(
    /// CopyData ('d'): a chunk of COPY data, in either direction.
    CopyData,
    "CopyData",
    b'd'
);

empty_message!(
    /// CopyDone ('c'): the sender has no more COPY data.
    CopyDone,
    "CopyDone",
    b'c'
);

/// CopyFail ('f'): the client aborts a COPY FROM STDIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFail {
    /// Why the client gave up.
    pub message: ByteStr,
}

impl Message for CopyFail {
    const NAME: &'static str = "CopyFail";
    const TAG: Option<u8> = Some(b'f');

    fn encode_body(&self, buf: &mut BytesMut) {
        put_cstr(buf, self.message.as_bytes());
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let message = r.cstr()?;
        r.finish()?;
        Ok(CopyFail { message })
    }
}

macro_rules! copy_response {
    ($(#[$doc:meta])* $name:ident, $label:literal, $tag:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            /// Overall format: 0 = text (all columns text), 1 = binary.
            pub format: i8,
            /// Per-column formats (all 0 when `format` is 0).
            pub column_formats: FormatCodes,
        }

        impl Message for $name {
            const NAME: &'static str = $label;
            const TAG: Option<u8> = Some($tag);

            fn encode_body(&self, buf: &mut BytesMut) {
                buf.put_i8(self.format);
                self.column_formats.encode(buf);
            }

            fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
                let mut r = Reader::of::<Self>(body);
                let format = r.u8()? as i8;
                let column_formats = FormatCodes::decode(&mut r)?;
                r.finish()?;
                Ok($name {
                    format,
                    column_formats,
                })
            }
        }
    };
}

copy_response!(
    /// CopyInResponse ('G'): the server is ready for COPY FROM STDIN data.
    CopyInResponse,
    "CopyInResponse",
    b'G'
);

copy_response!(
    /// CopyOutResponse ('H'): COPY TO STDOUT data follows.
    CopyOutResponse,
    "CopyOutResponse",
    b'H'
);

copy_response!(
    /// CopyBothResponse ('W'): COPY data flows both ways (streaming
    /// replication).
    CopyBothResponse,
    "CopyBothResponse",
    b'W'
);
