//! Messages from client to server, and their stateful decoder.

use bytes::{Buf, BytesMut};

use super::reader::Reader;
use super::startup::{CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, SSL_REQUEST_CODE};
use super::{
    Bind, CancelRequest, Close, CopyData, CopyDone, CopyFail, DEFAULT_MAX_MESSAGE_LEN, DecodeError,
    Describe, Execute, Flush, FunctionCall, GssEncRequest, GssResponse, MAX_AUTH_MESSAGE_LEN,
    MAX_SMALL_MESSAGE_LEN, MAX_STARTUP_PACKET_LEN, Message, Parse, PasswordMessage, Query,
    SaslInitialResponse, SaslResponse, SslRequest, StartupMessage, Sync, Terminate,
    split_frame_body, typed_frame_len,
};

/// A message sent by the client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrontendMessage {
    /// StartupMessage.
    Startup(StartupMessage),
    /// SSLRequest.
    SslRequest(SslRequest),
    /// GSSENCRequest.
    GssEncRequest(GssEncRequest),
    /// CancelRequest.
    CancelRequest(CancelRequest),
    /// PasswordMessage ('p' when a password was requested).
    Password(PasswordMessage),
    /// SASLInitialResponse ('p' after AuthenticationSASL).
    SaslInitialResponse(SaslInitialResponse),
    /// SASLResponse ('p' after AuthenticationSASLContinue).
    SaslResponse(SaslResponse),
    /// GSSResponse ('p' during GSSAPI/SSPI authentication).
    GssResponse(GssResponse),
    /// Query.
    Query(Query),
    /// Parse.
    Parse(Parse),
    /// Bind.
    Bind(Bind),
    /// Describe.
    Describe(Describe),
    /// Execute.
    Execute(Execute),
    /// Close.
    Close(Close),
    /// Sync.
    Sync(Sync),
    /// Flush.
    Flush(Flush),
    /// CopyData.
    CopyData(CopyData),
    /// CopyDone.
    CopyDone(CopyDone),
    /// CopyFail.
    CopyFail(CopyFail),
    /// FunctionCall.
    FunctionCall(FunctionCall),
    /// Terminate.
    Terminate(Terminate),
}

impl FrontendMessage {
    /// Appends the encoded message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) {
        match self {
            FrontendMessage::Startup(m) => m.encode(buf),
            FrontendMessage::SslRequest(m) => m.encode(buf),
            FrontendMessage::GssEncRequest(m) => m.encode(buf),
            FrontendMessage::CancelRequest(m) => m.encode(buf),
            FrontendMessage::Password(m) => m.encode(buf),
            FrontendMessage::SaslInitialResponse(m) => m.encode(buf),
            FrontendMessage::SaslResponse(m) => m.encode(buf),
            FrontendMessage::GssResponse(m) => m.encode(buf),
            FrontendMessage::Query(m) => m.encode(buf),
            FrontendMessage::Parse(m) => m.encode(buf),
            FrontendMessage::Bind(m) => m.encode(buf),
            FrontendMessage::Describe(m) => m.encode(buf),
            FrontendMessage::Execute(m) => m.encode(buf),
            FrontendMessage::Close(m) => m.encode(buf),
            FrontendMessage::Sync(m) => m.encode(buf),
            FrontendMessage::Flush(m) => m.encode(buf),
            FrontendMessage::CopyData(m) => m.encode(buf),
            FrontendMessage::CopyDone(m) => m.encode(buf),
            FrontendMessage::CopyFail(m) => m.encode(buf),
            FrontendMessage::FunctionCall(m) => m.encode(buf),
            FrontendMessage::Terminate(m) => m.encode(buf),
        }
    }

    /// The type byte, without encoding the message; `None` for the
    /// startup-phase packets (StartupMessage, SSLRequest, GSSENCRequest,
    /// CancelRequest), which have none.
    pub fn type_byte(&self) -> Option<u8> {
        match self {
            FrontendMessage::Startup(_) => StartupMessage::TAG,
            FrontendMessage::SslRequest(_) => SslRequest::TAG,
            FrontendMessage::GssEncRequest(_) => GssEncRequest::TAG,
            FrontendMessage::CancelRequest(_) => CancelRequest::TAG,
            FrontendMessage::Password(_) => PasswordMessage::TAG,
            FrontendMessage::SaslInitialResponse(_) => SaslInitialResponse::TAG,
            FrontendMessage::SaslResponse(_) => SaslResponse::TAG,
            FrontendMessage::GssResponse(_) => GssResponse::TAG,
            FrontendMessage::Query(_) => Query::TAG,
            FrontendMessage::Parse(_) => Parse::TAG,
            FrontendMessage::Bind(_) => Bind::TAG,
            FrontendMessage::Describe(_) => Describe::TAG,
            FrontendMessage::Execute(_) => Execute::TAG,
            FrontendMessage::Close(_) => Close::TAG,
            FrontendMessage::Sync(_) => Sync::TAG,
            FrontendMessage::Flush(_) => Flush::TAG,
            FrontendMessage::CopyData(_) => CopyData::TAG,
            FrontendMessage::CopyDone(_) => CopyDone::TAG,
            FrontendMessage::CopyFail(_) => CopyFail::TAG,
            FrontendMessage::FunctionCall(_) => FunctionCall::TAG,
            FrontendMessage::Terminate(_) => Terminate::TAG,
        }
    }

    /// The message's name in the PostgreSQL documentation.
    pub fn name(&self) -> &'static str {
        match self {
            FrontendMessage::Startup(_) => StartupMessage::NAME,
            FrontendMessage::SslRequest(_) => SslRequest::NAME,
            FrontendMessage::GssEncRequest(_) => GssEncRequest::NAME,
            FrontendMessage::CancelRequest(_) => CancelRequest::NAME,
            FrontendMessage::Password(_) => PasswordMessage::NAME,
            FrontendMessage::SaslInitialResponse(_) => SaslInitialResponse::NAME,
            FrontendMessage::SaslResponse(_) => SaslResponse::NAME,
            FrontendMessage::GssResponse(_) => GssResponse::NAME,
            FrontendMessage::Query(_) => Query::NAME,
            FrontendMessage::Parse(_) => Parse::NAME,
            FrontendMessage::Bind(_) => Bind::NAME,
            FrontendMessage::Describe(_) => Describe::NAME,
            FrontendMessage::Execute(_) => Execute::NAME,
            FrontendMessage::Close(_) => Close::NAME,
            FrontendMessage::Sync(_) => Sync::NAME,
            FrontendMessage::Flush(_) => Flush::NAME,
            FrontendMessage::CopyData(_) => CopyData::NAME,
            FrontendMessage::CopyDone(_) => CopyDone::NAME,
            FrontendMessage::CopyFail(_) => CopyFail::NAME,
            FrontendMessage::FunctionCall(_) => FunctionCall::NAME,
            FrontendMessage::Terminate(_) => Terminate::NAME,
        }
    }
}

/// Which message a 'p' is, which only the authentication step tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthResponseKind {
    /// PasswordMessage (cleartext or MD5 password).
    #[default]
    Password,
    /// SASLInitialResponse (after AuthenticationSASL).
    SaslInitial,
    /// SASLResponse (after AuthenticationSASLContinue).
    Sasl,
    /// GSSResponse (after AuthenticationGSS/SSPI/GSSContinue).
    Gss,
}

/// Decodes frontend messages; what a server reads.
///
/// The decoder is stateful, as the protocol is: it starts in the startup
/// phase, where packets have no type byte (StartupMessage, SSLRequest,
/// GSSENCRequest, CancelRequest), and switches to typed messages after a
/// StartupMessage. A 'p' message is decoded as the kind set with
/// [`FrontendDecoder::expect_auth_response`].
///
/// Limits: startup packets at most [`MAX_STARTUP_PACKET_LEN`] bytes; Sync,
/// Flush, Terminate, Describe, Close, Execute, CopyDone and CopyFail at most
/// [`MAX_SMALL_MESSAGE_LEN`]; authentication responses at most
/// [`MAX_AUTH_MESSAGE_LEN`]; everything else at most the configured maximum
/// ([`DEFAULT_MAX_MESSAGE_LEN`] by default). A declared length is checked
/// before any of the body is awaited, and no buffer is reserved for it.
#[derive(Debug, Clone)]
pub struct FrontendDecoder {
    startup_phase: bool,
    auth: AuthResponseKind,
    max_message_len: usize,
}

impl Default for FrontendDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrontendDecoder {
    /// A decoder in the startup phase, as a new connection begins.
    pub fn new() -> Self {
        FrontendDecoder {
            startup_phase: true,
            auth: AuthResponseKind::Password,
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
        }
    }

    /// A decoder past the startup phase, reading typed messages.
    pub fn new_typed() -> Self {
        FrontendDecoder {
            startup_phase: false,
            ..Self::new()
        }
    }

    /// Sets the maximum length of typed messages.
    pub fn with_max_message_len(mut self, max: usize) -> Self {
        self.max_message_len = max;
        self
    }

    /// The maximum length of typed messages.
    pub fn max_message_len(&self) -> usize {
        self.max_message_len
    }

    /// Whether the next message is read as a startup-phase packet.
    pub fn is_startup_phase(&self) -> bool {
        self.startup_phase
    }

    /// Forces the phase (a server returning to the startup phase after a
    /// TLS handshake, for example).
    pub fn set_startup_phase(&mut self, startup: bool) {
        self.startup_phase = startup;
    }

    /// Sets how the next 'p' messages are decoded.
    pub fn expect_auth_response(&mut self, kind: AuthResponseKind) {
        self.auth = kind;
    }

    fn limit(&self, tag: u8) -> usize {
        match tag {
            b'S' | b'H' | b'X' | b'D' | b'C' | b'E' | b'c' | b'f' => {
                MAX_SMALL_MESSAGE_LEN.min(self.max_message_len)
            }
            b'p' => MAX_AUTH_MESSAGE_LEN.min(self.max_message_len),
            _ => self.max_message_len,
        }
    }

    /// The type byte and total length of the typed message at the front of
    /// `buf`, if all of it is there and it is one a decode would read
    /// (known type, length within the limits); `None` otherwise, including
    /// in the startup phase. Lets a server read hot messages in place.
    // Used by the server only.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    #[inline]
    pub(crate) fn peek_typed_frame(&self, buf: &[u8]) -> Option<(u8, usize)> {
        if self.startup_phase {
            return None;
        }
        match typed_frame_len(buf, |t| self.limit(t)) {
            Ok(Some((tag, total))) if is_frontend_tag(tag) => Some((tag, total)),
            _ => None,
        }
    }

    /// Decodes the next message from the front of `buf`, consuming it.
    ///
    /// Returns `Ok(None)` if `buf` does not yet hold a whole message. After
    /// an error that is not [`DecodeError::is_recoverable`], the stream is no
    /// longer framed and the connection should be closed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<FrontendMessage>, DecodeError> {
        if self.startup_phase {
            self.decode_startup(buf)
        } else {
            self.decode_typed(buf)
        }
    }

    fn decode_startup(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<FrontendMessage>, DecodeError> {
        let Some(&[l0, l1, l2, l3]) = buf.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([l0, l1, l2, l3]);
        if len < 8 {
            return Err(DecodeError::InvalidLength {
                tag: None,
                length: len,
            });
        }
        if len as usize > MAX_STARTUP_PACKET_LEN {
            return Err(DecodeError::TooLarge {
                tag: None,
                length: len,
                max: MAX_STARTUP_PACKET_LEN,
            });
        }
        if buf.len() < len as usize {
            return Ok(None);
        }
        let Some(&[c0, c1, c2, c3]) = buf.get(4..8) else {
            return Ok(None);
        };
        let code = u32::from_be_bytes([c0, c1, c2, c3]);
        let mut body = buf.split_to(len as usize).freeze();
        body.advance(4);
        let msg = match code {
            SSL_REQUEST_CODE => FrontendMessage::SslRequest(SslRequest::decode_body(body)?),
            GSSENC_REQUEST_CODE => {
                FrontendMessage::GssEncRequest(GssEncRequest::decode_body(body)?)
            }
            CANCEL_REQUEST_CODE => {
                FrontendMessage::CancelRequest(CancelRequest::decode_body(body)?)
            }
            c if (c >> 16) == 1234 => return Err(DecodeError::UnknownRequestCode(c)),
            _ => {
                let startup = StartupMessage::decode_body(body)?;
                self.startup_phase = false;
                FrontendMessage::Startup(startup)
            }
        };
        Ok(Some(msg))
    }

    fn decode_typed(&mut self, buf: &mut BytesMut) -> Result<Option<FrontendMessage>, DecodeError> {
        // An unknown type byte is an error at once: waiting for the body of
        // a message we cannot read would only let a peer hold us.
        if let Some(&tag) = buf.first() {
            if !is_frontend_tag(tag) {
                return Err(DecodeError::UnknownMessageType(tag));
            }
        }
        let Some((tag, total)) = typed_frame_len(buf, |t| self.limit(t))? else {
            return Ok(None);
        };
        if let Some(msg) = buf
            .get(5..total)
            .and_then(|body| decode_borrowed(tag, body))
        {
            buf.advance(total);
            return Ok(Some(msg));
        }
        let body = split_frame_body(buf, total);
        let msg = match tag {
            b'Q' => FrontendMessage::Query(Query::decode_body(body)?),
            b'P' => FrontendMessage::Parse(Parse::decode_body(body)?),
            b'B' => FrontendMessage::Bind(Bind::decode_body(body)?),
            b'D' => FrontendMessage::Describe(Describe::decode_body(body)?),
            b'E' => FrontendMessage::Execute(Execute::decode_body(body)?),
            b'C' => FrontendMessage::Close(Close::decode_body(body)?),
            b'S' => FrontendMessage::Sync(Sync::decode_body(body)?),
            b'H' => FrontendMessage::Flush(Flush::decode_body(body)?),
            b'd' => FrontendMessage::CopyData(CopyData::decode_body(body)?),
            b'c' => FrontendMessage::CopyDone(CopyDone::decode_body(body)?),
            b'f' => FrontendMessage::CopyFail(CopyFail::decode_body(body)?),
            b'F' => FrontendMessage::FunctionCall(FunctionCall::decode_body(body)?),
            b'X' => FrontendMessage::Terminate(Terminate::decode_body(body)?),
            b'p' => match self.auth {
                AuthResponseKind::Password => {
                    FrontendMessage::Password(PasswordMessage::decode_body(body)?)
                }
                AuthResponseKind::SaslInitial => {
                    FrontendMessage::SaslInitialResponse(SaslInitialResponse::decode_body(body)?)
                }
                AuthResponseKind::Sasl => {
                    FrontendMessage::SaslResponse(SaslResponse::decode_body(body)?)
                }
                AuthResponseKind::Gss => {
                    FrontendMessage::GssResponse(GssResponse::decode_body(body)?)
                }
            },
            other => return Err(DecodeError::UnknownMessageType(other)),
        };
        Ok(Some(msg))
    }
}

/// Decodes the messages every query sends (Query, Bind, Execute, Describe,
/// Close, Sync, Flush) straight from the input buffer, without splitting
/// their bodies off it. `None` when the message needs an owned body (a long
/// string, parameter values) or is malformed: the owned decoding then reads
/// it again and reports the error.
#[inline]
fn decode_borrowed(tag: u8, body: &[u8]) -> Option<FrontendMessage> {
    fn read<'a, M: Message>(
        body: &'a [u8],
        read: impl FnOnce(Reader<&'a [u8]>) -> Result<M, DecodeError>,
    ) -> Option<M> {
        read(Reader::borrowed::<M>(body)).ok()
    }
    match tag {
        b'S' if body.is_empty() => Some(FrontendMessage::Sync(Sync)),
        b'H' if body.is_empty() => Some(FrontendMessage::Flush(Flush)),
        b'B' => read(body, Bind::read).map(FrontendMessage::Bind),
        b'E' => read(body, Execute::read).map(FrontendMessage::Execute),
        b'Q' => read(body, Query::read).map(FrontendMessage::Query),
        b'D' => read(body, Describe::read).map(FrontendMessage::Describe),
        b'C' => read(body, Close::read).map(FrontendMessage::Close),
        _ => None,
    }
}

fn is_frontend_tag(tag: u8) -> bool {
    matches!(
        tag,
        b'Q' | b'P'
            | b'B'
            | b'D'
            | b'E'
            | b'C'
            | b'S'
            | b'H'
            | b'd'
            | b'c'
            | b'f'
            | b'F'
            | b'X'
            | b'p'
    )
}
