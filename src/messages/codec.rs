//! tokio-util `Decoder`/`Encoder` implementations, for users who frame a
//! connection with `tokio_util::codec::Framed` (proxies, clients, tests).

use std::fmt;
use std::io;

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use super::{BackendDecoder, BackendMessage, DecodeError, FrontendDecoder, FrontendMessage};

/// An I/O error or a decoding error.
#[derive(Debug)]
#[non_exhaustive]
pub enum CodecError {
    /// The transport failed.
    Io(io::Error),
    /// The peer sent bytes that are not a valid message.
    Decode(DecodeError),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Io(e) => write!(f, "I/O error: {e}"),
            CodecError::Decode(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CodecError::Io(e) => Some(e),
            CodecError::Decode(e) => Some(e),
        }
    }
}

impl From<io::Error> for CodecError {
    fn from(e: io::Error) -> Self {
        CodecError::Io(e)
    }
}

impl From<DecodeError> for CodecError {
    fn from(e: DecodeError) -> Self {
        CodecError::Decode(e)
    }
}

/// The server side: decodes [`FrontendMessage`]s, encodes
/// [`BackendMessage`]s.
#[derive(Debug, Clone, Default)]
pub struct ServerCodec {
    /// The stateful frontend decoder (phase, 'p' kind, limits).
    pub decoder: FrontendDecoder,
}

impl Decoder for ServerCodec {
    type Item = FrontendMessage;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        Ok(self.decoder.decode(src)?)
    }
}

impl Encoder<BackendMessage> for ServerCodec {
    type Error = CodecError;

    fn encode(&mut self, item: BackendMessage, dst: &mut BytesMut) -> Result<(), Self::Error> {
        item.encode(dst);
        Ok(())
    }
}

impl Encoder<&BackendMessage> for ServerCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &BackendMessage, dst: &mut BytesMut) -> Result<(), Self::Error> {
        item.encode(dst);
        Ok(())
    }
}

/// The client side: decodes [`BackendMessage`]s, encodes
/// [`FrontendMessage`]s.
#[derive(Debug, Clone, Default)]
pub struct ClientCodec {
    /// The backend decoder.
    pub decoder: BackendDecoder,
}

impl Decoder for ClientCodec {
    type Item = BackendMessage;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        Ok(self.decoder.decode(src)?)
    }
}

impl Encoder<FrontendMessage> for ClientCodec {
    type Error = CodecError;

    fn encode(&mut self, item: FrontendMessage, dst: &mut BytesMut) -> Result<(), Self::Error> {
        item.encode(dst);
        Ok(())
    }
}

impl Encoder<&FrontendMessage> for ClientCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &FrontendMessage, dst: &mut BytesMut) -> Result<(), Self::Error> {
        item.encode(dst);
        Ok(())
    }
}
