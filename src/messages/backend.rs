//! Messages from server to client, and their decoder.

use bytes::BytesMut;

use super::{
    Authentication, BackendKeyData, BindComplete, CloseComplete, CommandComplete, CopyBothResponse,
    CopyData, CopyDone, CopyInResponse, CopyOutResponse, DEFAULT_MAX_MESSAGE_LEN, DataRow,
    DecodeError, EmptyQueryResponse, ErrorResponse, FunctionCallResponse, Message,
    NegotiateProtocolVersion, NoData, NoticeResponse, NotificationResponse, ParameterDescription,
    ParameterStatus, ParseComplete, PortalSuspended, ReadyForQuery, RowDescription,
    split_typed_frame,
};

/// A message sent by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendMessage {
    /// Authentication (all sub-types).
    Authentication(Authentication),
    /// BackendKeyData.
    BackendKeyData(BackendKeyData),
    /// BindComplete.
    BindComplete(BindComplete),
    /// CloseComplete.
    CloseComplete(CloseComplete),
    /// CommandComplete.
    CommandComplete(CommandComplete),
    /// CopyData.
    CopyData(CopyData),
    /// CopyDone.
    CopyDone(CopyDone),
    /// CopyInResponse.
    CopyInResponse(CopyInResponse),
    /// CopyOutResponse.
    CopyOutResponse(CopyOutResponse),
    /// CopyBothResponse.
    CopyBothResponse(CopyBothResponse),
    /// DataRow.
    DataRow(DataRow),
    /// EmptyQueryResponse.
    EmptyQueryResponse(EmptyQueryResponse),
    /// ErrorResponse.
    ErrorResponse(ErrorResponse),
    /// FunctionCallResponse.
    FunctionCallResponse(FunctionCallResponse),
    /// NegotiateProtocolVersion.
    NegotiateProtocolVersion(NegotiateProtocolVersion),
    /// NoData.
    NoData(NoData),
    /// NoticeResponse.
    NoticeResponse(NoticeResponse),
    /// NotificationResponse.
    NotificationResponse(NotificationResponse),
    /// ParameterDescription.
    ParameterDescription(ParameterDescription),
    /// ParameterStatus.
    ParameterStatus(ParameterStatus),
    /// ParseComplete.
    ParseComplete(ParseComplete),
    /// PortalSuspended.
    PortalSuspended(PortalSuspended),
    /// ReadyForQuery.
    ReadyForQuery(ReadyForQuery),
    /// RowDescription.
    RowDescription(RowDescription),
}

macro_rules! backend_dispatch {
    ($self:expr, $m:ident => $e:expr) => {
        match $self {
            BackendMessage::Authentication($m) => $e,
            BackendMessage::BackendKeyData($m) => $e,
            BackendMessage::BindComplete($m) => $e,
            BackendMessage::CloseComplete($m) => $e,
            BackendMessage::CommandComplete($m) => $e,
            BackendMessage::CopyData($m) => $e,
            BackendMessage::CopyDone($m) => $e,
            BackendMessage::CopyInResponse($m) => $e,
            BackendMessage::CopyOutResponse($m) => $e,
            BackendMessage::CopyBothResponse($m) => $e,
            BackendMessage::DataRow($m) => $e,
            BackendMessage::EmptyQueryResponse($m) => $e,
            BackendMessage::ErrorResponse($m) => $e,
            BackendMessage::FunctionCallResponse($m) => $e,
            BackendMessage::NegotiateProtocolVersion($m) => $e,
            BackendMessage::NoData($m) => $e,
            BackendMessage::NoticeResponse($m) => $e,
            BackendMessage::NotificationResponse($m) => $e,
            BackendMessage::ParameterDescription($m) => $e,
            BackendMessage::ParameterStatus($m) => $e,
            BackendMessage::ParseComplete($m) => $e,
            BackendMessage::PortalSuspended($m) => $e,
            BackendMessage::ReadyForQuery($m) => $e,
            BackendMessage::RowDescription($m) => $e,
        }
    };
}

fn name_of<M: Message>(_: &M) -> &'static str {
    M::NAME
}

fn tag_of<M: Message>(_: &M) -> Option<u8> {
    M::TAG
}

impl BackendMessage {
    /// Appends the encoded message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) {
        backend_dispatch!(self, m => m.encode(buf))
    }

    /// The type byte, without encoding the message. Every backend message
    /// has one; the `Option` mirrors [`FrontendMessage::type_byte`].
    ///
    /// [`FrontendMessage::type_byte`]: super::FrontendMessage::type_byte
    pub fn type_byte(&self) -> Option<u8> {
        backend_dispatch!(self, m => tag_of(m))
    }

    /// The message's name in the PostgreSQL documentation.
    pub fn name(&self) -> &'static str {
        backend_dispatch!(self, m => name_of(m))
    }
}

/// Decodes backend messages; what a client reads.
///
/// Backend messages need no state: every type byte means one message, and
/// the Authentication sub-type is in its body. (The single-byte answer to
/// SSLRequest/GSSENCRequest is not a message; a client reads it itself.)
#[derive(Debug, Clone)]
pub struct BackendDecoder {
    max_message_len: usize,
}

impl Default for BackendDecoder {
    fn default() -> Self {
        BackendDecoder {
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
        }
    }
}

impl BackendDecoder {
    /// A decoder with the default maximum message length.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the maximum message length.
    pub fn with_max_message_len(mut self, max: usize) -> Self {
        self.max_message_len = max;
        self
    }

    /// The maximum message length.
    pub fn max_message_len(&self) -> usize {
        self.max_message_len
    }

    /// Decodes the next message from the front of `buf`, consuming it;
    /// `Ok(None)` if `buf` does not yet hold a whole message.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<BackendMessage>, DecodeError> {
        if let Some(&tag) = buf.first() {
            if !is_backend_tag(tag) {
                return Err(DecodeError::UnknownMessageType(tag));
            }
        }
        let max = self.max_message_len;
        let Some((tag, body)) = split_typed_frame(buf, |_| max)? else {
            return Ok(None);
        };
        let msg = match tag {
            b'R' => BackendMessage::Authentication(Authentication::decode_body(body)?),
            b'K' => BackendMessage::BackendKeyData(BackendKeyData::decode_body(body)?),
            b'2' => BackendMessage::BindComplete(BindComplete::decode_body(body)?),
            b'3' => BackendMessage::CloseComplete(CloseComplete::decode_body(body)?),
            b'C' => BackendMessage::CommandComplete(CommandComplete::decode_body(body)?),
            b'd' => BackendMessage::CopyData(CopyData::decode_body(body)?),
            b'c' => BackendMessage::CopyDone(CopyDone::decode_body(body)?),
            b'G' => BackendMessage::CopyInResponse(CopyInResponse::decode_body(body)?),
            b'H' => BackendMessage::CopyOutResponse(CopyOutResponse::decode_body(body)?),
            b'W' => BackendMessage::CopyBothResponse(CopyBothResponse::decode_body(body)?),
            b'D' => BackendMessage::DataRow(DataRow::decode_body(body)?),
            b'I' => BackendMessage::EmptyQueryResponse(EmptyQueryResponse::decode_body(body)?),
            b'E' => BackendMessage::ErrorResponse(ErrorResponse::decode_body(body)?),
            b'V' => BackendMessage::FunctionCallResponse(FunctionCallResponse::decode_body(body)?),
            b'v' => BackendMessage::NegotiateProtocolVersion(
                NegotiateProtocolVersion::decode_body(body)?,
            ),
            b'n' => BackendMessage::NoData(NoData::decode_body(body)?),
            b'N' => BackendMessage::NoticeResponse(NoticeResponse::decode_body(body)?),
            b'A' => BackendMessage::NotificationResponse(NotificationResponse::decode_body(body)?),
            b't' => BackendMessage::ParameterDescription(ParameterDescription::decode_body(body)?),
            b'S' => BackendMessage::ParameterStatus(ParameterStatus::decode_body(body)?),
            b'1' => BackendMessage::ParseComplete(ParseComplete::decode_body(body)?),
            b's' => BackendMessage::PortalSuspended(PortalSuspended::decode_body(body)?),
            b'Z' => BackendMessage::ReadyForQuery(ReadyForQuery::decode_body(body)?),
            b'T' => BackendMessage::RowDescription(RowDescription::decode_body(body)?),
            other => return Err(DecodeError::UnknownMessageType(other)),
        };
        Ok(Some(msg))
    }
}

fn is_backend_tag(tag: u8) -> bool {
    matches!(
        tag,
        b'R' | b'K'
            | b'2'
            | b'3'
            | b'C'
            | b'd'
            | b'c'
            | b'G'
            | b'H'
            | b'W'
            | b'D'
            | b'I'
            | b'E'
            | b'V'
            | b'v'
            | b'n'
            | b'N'
            | b'A'
            | b't'
            | b'S'
            | b'1'
            | b's'
            | b'Z'
            | b'T'
    )
}
