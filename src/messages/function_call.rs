//! The (legacy) function call sub-protocol: FunctionCall ('F') and
//! FunctionCallResponse ('V').

use bytes::{BufMut, Bytes, BytesMut};

use super::reader::Reader;
use super::{DecodeError, FormatCodes, Message, Oid, ValueList};

/// FunctionCall ('F'): call a function by OID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCall {
    /// OID of the function.
    pub function_oid: Oid,
    /// Argument format codes (none = all text, one = all, or one each).
    pub arg_formats: FormatCodes,
    /// Argument values, `None` for NULL.
    pub args: ValueList,
    /// Format code of the result.
    pub result_format: i16,
}

impl Message for FunctionCall {
    const NAME: &'static str = "FunctionCall";
    const TAG: Option<u8> = Some(b'F');

    fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_u32(self.function_oid);
        self.arg_formats.encode(buf);
        self.args.encode(buf);
        buf.put_i16(self.result_format);
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let function_oid = r.u32()?;
        let arg_formats = FormatCodes::decode(&mut r)?;
        let args = ValueList::decode(&mut r, Some("argument size"))?;
        let result_format = r.i16()?;
        r.finish()?;
        Ok(FunctionCall {
            function_oid,
            arg_formats,
            args,
            result_format,
        })
    }
}

/// FunctionCallResponse ('V'): the function's result, `None` for NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCallResponse {
    /// The result value.
    pub value: Option<Bytes>,
}

impl Message for FunctionCallResponse {
    const NAME: &'static str = "FunctionCallResponse";
    const TAG: Option<u8> = Some(b'V');

    fn encode_body(&self, buf: &mut BytesMut) {
        match &self.value {
            None => buf.put_i32(-1),
            Some(v) => {
                buf.put_i32(v.len() as i32);
                buf.put_slice(v);
            }
        }
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let len = r.i32()?;
        let value = match len {
            -1 => None,
            n if n < 0 => return Err(r.invalid("result length", n.into())),
            n => Some(r.take(n as usize)?),
        };
        r.finish()?;
        Ok(FunctionCallResponse { value })
    }
}
