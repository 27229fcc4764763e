//! Startup and authentication messages: the packets without a type byte
//! (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest), the replies
//! to authentication requests ('p'), Authentication ('R'), BackendKeyData,
//! ParameterStatus and NegotiateProtocolVersion.

use bytes::{BufMut, Bytes, BytesMut};

use super::frame::put_cstr;
use super::reader::Reader;
use super::{ByteStr, DecodeError, MAX_CANCEL_KEY_LEN, Message, ProtocolVersion};

/// Request code of SSLRequest (1234 << 16 | 5679).
pub const SSL_REQUEST_CODE: u32 = 80_877_103;
/// Request code of GSSENCRequest (1234 << 16 | 5680).
pub const GSSENC_REQUEST_CODE: u32 = 80_877_104;
/// Request code of CancelRequest (1234 << 16 | 5678).
pub const CANCEL_REQUEST_CODE: u32 = 80_877_102;

/// StartupMessage: the protocol version the client wants and its startup
/// parameters (`user`, `database`, `application_name`, `options`,
/// `client_encoding`, `_pq_.*` protocol options, ...), in the order sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupMessage {
    /// Requested protocol version.
    pub version: ProtocolVersion,
    /// Name/value pairs. Empty when the major version is not 3, whose
    /// parameter layout this crate does not know.
    pub parameters: Vec<(ByteStr, ByteStr)>,
}

impl StartupMessage {
    /// A protocol 3.0 startup message with the given parameters.
    pub fn new<K, V>(parameters: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<ByteStr>,
        V: Into<ByteStr>,
    {
        StartupMessage {
            version: ProtocolVersion::V3_0,
            parameters: parameters
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of parameter `name`, if sent.
    pub fn parameter(&self, name: &str) -> Option<&ByteStr> {
        self.parameters
            .iter()
            .find(|(k, _)| k.as_str() == name)
            .map(|(_, v)| v)
    }
}

impl Message for StartupMessage {
    const NAME: &'static str = "StartupMessage";
    const TAG: Option<u8> = None;

    fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_u32(self.version.code());
        for (k, v) in &self.parameters {
            put_cstr(buf, k.as_bytes());
            put_cstr(buf, v.as_bytes());
        }
        buf.put_u8(0);
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let version = ProtocolVersion::from_code(r.u32()?);
        if version.major != 3 {
            // Another major version: its layout is unknown; the server only
            // needs the version to refuse it.
            r.rest();
            return Ok(StartupMessage {
                version,
                parameters: Vec::new(),
            });
        }
        // Room for what drivers send (3 to 7 pairs), so that the list is
        // not grown pair by pair.
        let mut parameters = Vec::with_capacity(6);
        loop {
            let name = r.cstr()?;
            if name.is_empty() {
                break;
            }
            let value = r.cstr()?;
            parameters.push((name, value));
        }
        r.finish()?;
        Ok(StartupMessage {
            version,
            parameters,
        })
    }
}

macro_rules! request_code_message {
    ($(#[$doc:meta])* $name:ident, $label:literal, $code:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name;

        impl Message for $name {
            const NAME: &'static str = $label;
            const TAG: Option<u8> = None;

            fn encode_body(&self, buf: &mut BytesMut) {
                buf.put_u32($code);
            }

            fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
                let mut r = Reader::of::<Self>(body);
                let code = r.u32()?;
                if code != $code {
                    return Err(r.invalid("request code", code.into()));
                }
                r.finish()?;
                Ok($name)
            }
        }
    };
}

request_code_message!(
    /// SSLRequest: the client asks to switch to TLS before the startup
    /// message. The server answers with one byte, `S` or `N`.
    SslRequest,
    "SSLRequest",
    SSL_REQUEST_CODE
);

request_code_message!(
    /// GSSENCRequest: the client asks for GSSAPI encryption. A server
    /// without GSSAPI answers `N`.
    GssEncRequest,
    "GSSENCRequest",
    GSSENC_REQUEST_CODE
);

/// CancelRequest, sent on a new connection to cancel the query running on
/// another one. The key is 4 bytes in protocol 3.0 and up to 256 bytes in
/// protocol 3.2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRequest {
    /// Process ID from the target session's BackendKeyData.
    pub process_id: i32,
    /// Secret key from the target session's BackendKeyData.
    pub secret_key: Bytes,
}

impl Message for CancelRequest {
    const NAME: &'static str = "CancelRequest";
    const TAG: Option<u8> = None;

    fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_u32(CANCEL_REQUEST_CODE);
        buf.put_i32(self.process_id);
        buf.put_slice(&self.secret_key);
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let code = r.u32()?;
        if code != CANCEL_REQUEST_CODE {
            return Err(r.invalid("request code", code.into()));
        }
        let process_id = r.i32()?;
        let secret_key = r.rest();
        check_key_len(&secret_key, Self::TAG, Self::NAME)?;
        Ok(CancelRequest {
            process_id,
            secret_key,
        })
    }
}

fn check_key_len(key: &[u8], tag: Option<u8>, message: &'static str) -> Result<(), DecodeError> {
    if key.len() < 4 || key.len() > MAX_CANCEL_KEY_LEN {
        return Err(DecodeError::InvalidValue {
            tag,
            message,
            what: "cancel key length",
            value: key.len() as i64,
        });
    }
    Ok(())
}

/// PasswordMessage ('p'): a cleartext or MD5-hashed password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordMessage {
    /// The password, or `md5` followed by the hex digest.
    pub password: ByteStr,
}

impl Message for PasswordMessage {
    const NAME: &'static str = "PasswordMessage";
    const TAG: Option<u8> = Some(b'p');

    fn encode_body(&self, buf: &mut BytesMut) {
        put_cstr(buf, self.password.as_bytes());
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let password = r.cstr()?;
        r.finish()?;
        Ok(PasswordMessage { password })
    }
}

/// SASLInitialResponse ('p'): the chosen SASL mechanism and the client's
/// first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslInitialResponse {
    /// Mechanism name, e.g. `SCRAM-SHA-256`.
    pub mechanism: ByteStr,
    /// The initial response; `None` when the client sent length -1.
    pub data: Option<Bytes>,
}

impl Message for SaslInitialResponse {
    const NAME: &'static str = "SASLInitialResponse";
    const TAG: Option<u8> = Some(b'p');

    fn encode_body(&self, buf: &mut BytesMut) {
        put_cstr(buf, self.mechanism.as_bytes());
        match &self.data {
            None => buf.put_i32(-1),
            Some(d) => {
                buf.put_i32(d.len() as i32);
                buf.put_slice(d);
            }
        }
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let mechanism = r.cstr()?;
        let len = r.i32()?;
        let data = match len {
            -1 => None,
            n if n < 0 => return Err(r.invalid("response length", n.into())),
            n => Some(r.take(n as usize)?),
        };
        r.finish()?;
        Ok(SaslInitialResponse { mechanism, data })
    }
}

macro_rules! raw_body_message {
    ($(#[$doc:meta])* $name:ident, $label:literal, $tag:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            /// The message's payload.
            pub data: Bytes,
        }

        impl Message for $name {
            const NAME: &'static str = $label;
            const TAG: Option<u8> = Some($tag);

            fn encode_body(&self, buf: &mut BytesMut) {
                buf.put_slice(&self.data);
            }

            fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
                Ok($name { data: body })
            }
        }
    };
}
pub(crate) use raw_body_message;

raw_body_message!(
    /// SASLResponse ('p'): a later SASL message from the client.
    SaslResponse,
    "SASLResponse",
    b'p'
);

raw_body_message!(
    /// GSSResponse ('p'): GSSAPI or SSPI data from the client.
    GssResponse,
    "GSSResponse",
    b'p'
);

/// Authentication ('R'): an authentication request or its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// AuthenticationOk: authentication succeeded.
    Ok,
    /// AuthenticationKerberosV5 (no longer supported by PostgreSQL).
    KerberosV5,
    /// AuthenticationCleartextPassword.
    CleartextPassword,
    /// AuthenticationMD5Password with its 4-byte salt.
    Md5Password {
        /// The salt to hash with.
        salt: [u8; 4],
    },
    /// AuthenticationGSS.
    Gss,
    /// AuthenticationGSSContinue with GSSAPI or SSPI data.
    GssContinue(Bytes),
    /// AuthenticationSSPI.
    Sspi,
    /// AuthenticationSASL with the mechanisms the server offers, in order
    /// of preference.
    Sasl {
        /// Mechanism names.
        mechanisms: Vec<ByteStr>,
    },
    /// AuthenticationSASLContinue with a server challenge.
    SaslContinue(Bytes),
    /// AuthenticationSASLFinal with the server's final message.
    SaslFinal(Bytes),
}

impl Message for Authentication {
    const NAME: &'static str = "Authentication";
    const TAG: Option<u8> = Some(b'R');

    fn encode_body(&self, buf: &mut BytesMut) {
        match self {
            Authentication::Ok => buf.put_i32(0),
            Authentication::KerberosV5 => buf.put_i32(2),
            Authentication::CleartextPassword => buf.put_i32(3),
            Authentication::Md5Password { salt } => {
                buf.put_i32(5);
                buf.put_slice(salt);
            }
            Authentication::Gss => buf.put_i32(7),
            Authentication::GssContinue(d) => {
                buf.put_i32(8);
                buf.put_slice(d);
            }
            Authentication::Sspi => buf.put_i32(9),
            Authentication::Sasl { mechanisms } => {
                buf.put_i32(10);
                for m in mechanisms {
                    put_cstr(buf, m.as_bytes());
                }
                buf.put_u8(0);
            }
            Authentication::SaslContinue(d) => {
                buf.put_i32(11);
                buf.put_slice(d);
            }
            Authentication::SaslFinal(d) => {
                buf.put_i32(12);
                buf.put_slice(d);
            }
        }
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let code = r.i32()?;
        let auth = match code {
            0 => Authentication::Ok,
            2 => Authentication::KerberosV5,
            3 => Authentication::CleartextPassword,
            5 => {
                let s = r.take(4)?;
                let mut salt = [0u8; 4];
                salt.copy_from_slice(&s);
                Authentication::Md5Password { salt }
            }
            7 => Authentication::Gss,
            8 => Authentication::GssContinue(r.rest()),
            9 => Authentication::Sspi,
            10 => {
                let mut mechanisms = Vec::new();
                loop {
                    let m = r.cstr()?;
                    if m.is_empty() {
                        break;
                    }
                    mechanisms.push(m);
                }
                Authentication::Sasl { mechanisms }
            }
            11 => Authentication::SaslContinue(r.rest()),
            12 => Authentication::SaslFinal(r.rest()),
            other => return Err(r.invalid("authentication request code", other.into())),
        };
        r.finish()?;
        Ok(auth)
    }
}

/// BackendKeyData ('K'): the process ID and secret key a client needs to
/// cancel queries. The key is 4 bytes in protocol 3.0 and up to 256 bytes
/// in protocol 3.2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendKeyData {
    /// Process ID of the session.
    pub process_id: i32,
    /// Secret key.
    pub secret_key: Bytes,
}

impl Message for BackendKeyData {
    const NAME: &'static str = "BackendKeyData";
    const TAG: Option<u8> = Some(b'K');

    fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_i32(self.process_id);
        buf.put_slice(&self.secret_key);
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let process_id = r.i32()?;
        let secret_key = r.rest();
        check_key_len(&secret_key, Self::TAG, Self::NAME)?;
        Ok(BackendKeyData {
            process_id,
            secret_key,
        })
    }
}

/// ParameterStatus ('S'): the current value of a run-time parameter the
/// client should know (`server_version`, `client_encoding`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterStatus {
    /// Parameter name.
    pub name: ByteStr,
    /// Current value.
    pub value: ByteStr,
}

impl ParameterStatus {
    /// A ParameterStatus for `name` = `value`.
    pub fn new(name: impl Into<ByteStr>, value: impl Into<ByteStr>) -> Self {
        ParameterStatus {
            name: name.into(),
            value: value.into(),
        }
    }
}

impl ParameterStatus {
    /// Encodes a ParameterStatus for `name` = `value` from borrowed
    /// strings, without building the message (a session's opening values).
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn encode_borrowed(name: &str, value: &str, buf: &mut BytesMut) {
        super::frame::write(buf, Self::TAG, |buf| {
            put_cstr(buf, name.as_bytes());
            put_cstr(buf, value.as_bytes());
        });
    }
}

impl Message for ParameterStatus {
    const NAME: &'static str = "ParameterStatus";
    const TAG: Option<u8> = Some(b'S');

    fn encode_body(&self, buf: &mut BytesMut) {
        put_cstr(buf, self.name.as_bytes());
        put_cstr(buf, self.value.as_bytes());
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let name = r.cstr()?;
        let value = r.cstr()?;
        r.finish()?;
        Ok(ParameterStatus { name, value })
    }
}

/// NegotiateProtocolVersion ('v'): the server does not support the minor
/// version or some `_pq_.` options the client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiateProtocolVersion {
    /// The protocol version the server will speak: the newest it supports
    /// for the major version the client asked for. The documentation calls
    /// this Int32 the "newest minor protocol version"; PostgreSQL sends the
    /// whole version number (`3 << 16 | minor`), and libpq reads it so.
    pub version: ProtocolVersion,
    /// Protocol options in the StartupMessage the server did not recognise.
    pub unrecognized_options: Vec<ByteStr>,
}

impl Message for NegotiateProtocolVersion {
    const NAME: &'static str = "NegotiateProtocolVersion";
    const TAG: Option<u8> = Some(b'v');

    fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_u32(self.version.code());
        buf.put_i32(self.unrecognized_options.len() as i32);
        for o in &self.unrecognized_options {
            put_cstr(buf, o.as_bytes());
        }
    }

    fn decode_body(body: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::of::<Self>(body);
        let version = ProtocolVersion::from_code(r.u32()?);
        let n = r.i32()?;
        if n < 0 {
            return Err(r.invalid("option count", n.into()));
        }
        // Each option needs at least its NUL: a count beyond the remaining
        // bytes is a lie, and must not size an allocation.
        if n as usize > r.remaining() {
            return Err(r.truncated());
        }
        let mut unrecognized_options = Vec::with_capacity(n as usize);
        for _ in 0..n {
            unrecognized_options.push(r.cstr()?);
        }
        r.finish()?;
        Ok(NegotiateProtocolVersion {
            version,
            unrecognized_options,
        })
    }
}
