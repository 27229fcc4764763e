//! Unit tests of the codec: round trips of every message, byte-exact
//! encodings checked against the PostgreSQL documentation ("Message
//! Formats"), decoder behaviour on partial and hostile input, the value
//! views, and the tokio-util codecs.

mod borrowed;
mod bytes_exact;
#[cfg(feature = "codec")]
mod codec;
mod decoder;
mod encoders;
mod hostile_bodies;
mod large_counts;
mod roundtrip;
mod values;

use bytes::{Bytes, BytesMut};

use super::{
    AuthResponseKind, BackendDecoder, BackendMessage, DecodeError, FrontendDecoder, FrontendMessage,
};

/// The encoding of `m`.
fn fe_bytes(m: &FrontendMessage) -> BytesMut {
    let mut buf = BytesMut::new();
    m.encode(&mut buf);
    buf
}

/// The encoding of `m`.
fn be_bytes(m: &BackendMessage) -> BytesMut {
    let mut buf = BytesMut::new();
    m.encode(&mut buf);
    buf
}

/// The decoder a frontend message is read with: startup phase for the
/// packets without a type byte, and the right 'p' kind for the
/// authentication responses.
fn fe_decoder_for(m: &FrontendMessage) -> FrontendDecoder {
    let mut d = match m {
        FrontendMessage::Startup(_)
        | FrontendMessage::SslRequest(_)
        | FrontendMessage::GssEncRequest(_)
        | FrontendMessage::CancelRequest(_) => FrontendDecoder::new(),
        _ => FrontendDecoder::new_typed(),
    };
    d.expect_auth_response(match m {
        FrontendMessage::SaslInitialResponse(_) => AuthResponseKind::SaslInitial,
        FrontendMessage::SaslResponse(_) => AuthResponseKind::Sasl,
        FrontendMessage::GssResponse(_) => AuthResponseKind::Gss,
        _ => AuthResponseKind::Password,
    });
    d
}

/// Encodes `m`, decodes it back, checks equality and that the buffer is
/// fully consumed; returns the encoding.
#[track_caller]
fn fe_roundtrip(m: FrontendMessage) -> Bytes {
    let wire = fe_bytes(&m);
    let mut buf = wire.clone();
    let mut d = fe_decoder_for(&m);
    let got = d.decode(&mut buf).expect("decodes").expect("complete");
    assert_eq!(got, m);
    assert!(buf.is_empty(), "{} left {} bytes", m.name(), buf.len());
    // A second decode on the empty buffer asks for more.
    assert_eq!(d.decode(&mut buf), Ok(None));
    wire.freeze()
}

/// Encodes `m`, decodes it back, checks equality and that the buffer is
/// fully consumed; returns the encoding.
#[track_caller]
fn be_roundtrip(m: BackendMessage) -> Bytes {
    let wire = be_bytes(&m);
    let mut buf = wire.clone();
    let mut d = BackendDecoder::new();
    let got = d.decode(&mut buf).expect("decodes").expect("complete");
    assert_eq!(got, m);
    assert!(buf.is_empty(), "{} left {} bytes", m.name(), buf.len());
    assert_eq!(d.decode(&mut buf), Ok(None));
    wire.freeze()
}

/// Decodes `wire` (one typed frontend message) with a typed decoder.
#[track_caller]
fn fe_decode_typed(wire: &[u8]) -> Result<Option<FrontendMessage>, DecodeError> {
    FrontendDecoder::new_typed().decode(&mut BytesMut::from(wire))
}

/// Decodes `wire` (one startup-phase packet) with a fresh decoder.
#[track_caller]
fn fe_decode_startup(wire: &[u8]) -> Result<Option<FrontendMessage>, DecodeError> {
    FrontendDecoder::new().decode(&mut BytesMut::from(wire))
}

/// Decodes `wire` (one backend message).
#[track_caller]
fn be_decode(wire: &[u8]) -> Result<Option<BackendMessage>, DecodeError> {
    BackendDecoder::new().decode(&mut BytesMut::from(wire))
}

/// A typed frame: tag, length (body + 4), body.
fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// A startup-phase packet: length (body + 4), body.
fn packet(body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    v.extend_from_slice(body);
    v
}
