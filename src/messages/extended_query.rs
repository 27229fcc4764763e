//! The extended query protocol: Parse, Bind, Describe, Execute, Close,
//! Sync, Flush and the server's ParseComplete, BindComplete, CloseComplete,
//! ParameterDescription, NoData and PortalSuspended.

use bytes::{BufMut, Bytes, BytesMut};

use super::frame::{put_count16, put_cstr};
use super::reader::{Body, Reader};
use super::terminate::empty_message;
use super::{ByteStr, DecodeError, FormatCodes, Message, Oid, ValueList};

/// Parse ('P'): prepare a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parse {
    /// Statement name; empty for the unnamed statement.
    pub name: ByteStr,
    /// The SQL text (a single statement).
    pub query: ByteStr,
    /// Type OIDs the client gives for the parameters; 0 = unspecified.
    /// May be shorter than the number of parameters in the query.
    pub param_types: Vec<Oid>,
}

impl Message for Parse {
    const NAME: &'static str = "Parse";
    const TAG: Option<u8> = Some(b'P');

    fn encode_body(&self, buf: &mut BytesMut) {
        put_cstr(buf, self.name.as_bytes());
        put_cstr(buf, self.query.as_bytes());
        put_count16(buf, self.param_types.len());
        for t in &self.param_types {
            buf.put_u32(*t);
        }
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let name = r.cstr()?;
        let query = r.cstr()?;
        let n = r.count16()?;
        if r.remaining() < n * 4 {
            return Err(r.truncated());
        }
        let mut param_types = Vec::with_capacity(n);
        for _ in 0..n {
            param_types.push(r.u32()?);
        }
        r.finish()?;
        Ok(Parse {
            name,
            query,
            param_types,
        })
    }
}

/// Bind ('B'): create a portal from a prepared statement and parameter
/// values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// Portal name; empty for the unnamed portal.
    pub portal: ByteStr,
    /// Source statement name; empty for the unnamed statement.
    pub statement: ByteStr,
    /// Parameter format codes (none = all text, one = all, or one each).
    pub param_formats: FormatCodes,
    /// Parameter values, `None` for NULL.
    pub params: ValueList,
    /// Result column format codes (none = all text, one = all, or one each).
    pub result_formats: FormatCodes,
}

impl Message for Bind {
    const NAME: &'static str = "Bind";
    const TAG: Option<u8> = Some(b'B');

    fn encode_body(&self, buf: &mut BytesMut) {
        put_cstr(buf, self.portal.as_bytes());
        put_cstr(buf, self.statement.as_bytes());
        self.param_formats.encode(buf);
        self.params.encode(buf);
        self.result_formats.encode(buf);
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        Self::read(Reader::of::<Self>(body))
    }
}

impl Bind {
    /// Reads a Bind body in place in the input buffer; `None` if it needs
    /// an owned body or is malformed (see `Reader`).
    // Used by the server only.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    #[inline]
    pub(crate) fn read_borrowed(body: &[u8]) -> Option<Self> {
        Self::read(Reader::borrowed::<Self>(body)).ok()
    }

    /// Reads a Bind body; shared with the borrowed decoding of the hot path.
    pub(crate) fn read<B: Body>(mut r: Reader<B>) -> Result<Self, DecodeError> {
        let portal = r.cstr()?;
        let statement = r.cstr()?;
        let param_formats = FormatCodes::decode(&mut r)?;
        let params = ValueList::decode(&mut r, None)?;
        let result_formats = FormatCodes::decode(&mut r)?;
        r.finish()?;
        Ok(Bind {
            portal,
            statement,
            param_formats,
            params,
            result_formats,
        })
    }
}

/// What Describe and Close refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// A prepared statement (`S`).
    Statement,
    /// A portal (`P`).
    Portal,
}

impl TargetKind {
    /// Reads the kind byte; `what` names it in the error as PostgreSQL
    /// does ("invalid DESCRIBE message subtype 88").
    fn decode<B: Body>(r: &mut Reader<B>, what: &'static str) -> Result<Self, DecodeError> {
        match r.u8()? {
            b'S' => Ok(TargetKind::Statement),
            b'P' => Ok(TargetKind::Portal),
            other => Err(r.invalid(what, other.into())),
        }
    }

    fn byte(self) -> u8 {
        match self {
            TargetKind::Statement => b'S',
            TargetKind::Portal => b'P',
        }
    }
}

macro_rules! target_message {
    ($(#[$doc:meta])* $name:ident, $label:literal, $tag:expr, $subtype:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// Whether `name` is a statement or a portal.
            pub kind: TargetKind,
            /// Its name; empty for the unnamed one.
            pub name: ByteStr,
        }

        impl Message for $name {
            const NAME: &'static str = $label;
            const TAG: Option<u8> = Some($tag);

            fn encode_body(&self, buf: &mut BytesMut) {
                buf.put_u8(self.kind.byte());
                put_cstr(buf, self.name.as_bytes());
            }

            fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
                Self::read(Reader::of::<Self>(body))
            }
        }

        impl $name {
            /// Reads the body in place (the hot path); `None` when it
            /// needs the owned decoding (a long name, or malformed).
            // Used by the server only.
            #[cfg_attr(not(feature = "server"), allow(dead_code))]
            #[inline]
            pub(crate) fn read_borrowed(body: &[u8]) -> Option<Self> {
                Self::read(Reader::borrowed::<Self>(body)).ok()
            }

            /// Reads the body; shared with the borrowed decoding of the
            /// hot path.
            pub(crate) fn read<B: Body>(mut r: Reader<B>) -> Result<Self, DecodeError> {
                let kind = TargetKind::decode(&mut r, $subtype)?;
                let name = r.cstr()?;
                r.finish()?;
                Ok($name { kind, name })
            }
        }
    };
}

target_message!(
    /// Describe ('D'): ask for the description of a statement (parameters
    /// and result columns) or of a portal (result columns).
    Describe,
    "Describe",
    b'D',
    "DESCRIBE message subtype"
);

target_message!(
    /// Close ('C'): close a statement or a portal.
    Close,
    "Close",
    b'C',
    "CLOSE message subtype"
);

/// Execute ('E'): run a portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execute {
    /// Portal name; empty for the unnamed portal.
    pub portal: ByteStr,
    /// Maximum number of rows to return; 0 = no limit.
    pub max_rows: i32,
}

impl Message for Execute {
    const NAME: &'static str = "Execute";
    const TAG: Option<u8> = Some(b'E');

    fn encode_body(&self, buf: &mut BytesMut) {
        put_cstr(buf, self.portal.as_bytes());
        buf.put_i32(self.max_rows);
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        Self::read(Reader::of::<Self>(body))
    }
}

impl Execute {
    /// Reads an Execute body in place in the input buffer; `None` if it
    /// needs an owned body or is malformed (see `Reader`).
    // Used by the server only.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    #[inline]
    pub(crate) fn read_borrowed(body: &[u8]) -> Option<Self> {
        Self::read(Reader::borrowed::<Self>(body)).ok()
    }

    /// Reads an Execute body; shared with the borrowed decoding of the hot
    /// path.
    pub(crate) fn read<B: Body>(mut r: Reader<B>) -> Result<Self, DecodeError> {
        let portal = r.cstr()?;
        let max_rows = r.i32()?;
        r.finish()?;
        Ok(Execute { portal, max_rows })
    }
}

empty_message!(
    /// Sync ('S'): end of an extended-query pipeline; the server answers
    /// ReadyForQuery.
    Sync,
    "Sync",
    b'S'
);

empty_message!(
    /// Flush ('H'): send pending output without ending the pipeline.
    Flush,
    "Flush",
    b'H'
);

empty_message!(
    /// ParseComplete ('1').
    ParseComplete,
    "ParseComplete",
    b'1'
);

empty_message!(
    /// BindComplete ('2').
    BindComplete,
    "BindComplete",
    b'2'
);

empty_message!(
    /// CloseComplete ('3').
    CloseComplete,
    "CloseComplete",
    b'3'
);

empty_message!(
    /// NoData ('n'): the statement or portal returns no rows.
    NoData,
    "NoData",
    b'n'
);

empty_message!(
    /// PortalSuspended ('s'): Execute reached its row limit; another
    /// Execute continues.
    PortalSuspended,
    "PortalSuspended",
    b's'
);

/// ParameterDescription ('t'): the parameter types of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParameterDescription {
    /// One type OID per parameter.
    pub types: Vec<Oid>,
}

impl Message for ParameterDescription {
    const NAME: &'static str = "ParameterDescription";
    const TAG: Option<u8> = Some(b't');

    fn encode_body(&self, buf: &mut BytesMut) {
        put_count16(buf, self.types.len());
        for t in &self.types {
            buf.put_u32(*t);
        }
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let n = r.count16()?;
        if r.remaining() < n * 4 {
            return Err(r.truncated());
        }
        let mut types = Vec::with_capacity(n);
        for _ in 0..n {
            types.push(r.u32()?);
        }
        r.finish()?;
        Ok(ParameterDescription { types })
    }
}
