//! The tokio-util codecs over a real `AsyncRead`/`AsyncWrite`.

use futures_util::{SinkExt, StreamExt};
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::messages::{
    AuthResponseKind, Authentication, BackendMessage, ClientCodec, CodecError, CommandComplete,
    DataRow, DecodeError, FrontendMessage, ParameterStatus, PasswordMessage, Query, ReadyForQuery,
    ServerCodec, SslRequest, StartupMessage, Terminate, TransactionStatus,
};

fn frontend_session() -> Vec<FrontendMessage> {
    vec![
        FrontendMessage::SslRequest(SslRequest),
        FrontendMessage::Startup(StartupMessage::new([("user", "u"), ("database", "d")])),
        FrontendMessage::Password(PasswordMessage {
            password: "hunter2".into(),
        }),
        FrontendMessage::Query(Query::new("SELECT 1")),
        FrontendMessage::Terminate(Terminate),
    ]
}

fn backend_session() -> Vec<BackendMessage> {
    vec![
        BackendMessage::Authentication(Authentication::CleartextPassword),
        BackendMessage::Authentication(Authentication::Ok),
        BackendMessage::ParameterStatus(ParameterStatus::new("server_version", "17.0")),
        BackendMessage::ReadyForQuery(ReadyForQuery {
            status: TransactionStatus::Idle,
        }),
        BackendMessage::DataRow(DataRow::new([Some("1")])),
        BackendMessage::CommandComplete(CommandComplete::new("SELECT 1")),
        BackendMessage::ReadyForQuery(ReadyForQuery {
            status: TransactionStatus::Idle,
        }),
    ]
}

#[tokio::test]
async fn server_codec_reads_a_session_from_a_byte_slice() {
    let msgs = frontend_session();
    let mut wire = Vec::new();
    for m in &msgs {
        let mut b = bytes::BytesMut::new();
        m.encode(&mut b);
        wire.extend_from_slice(&b);
    }
    let mut framed = FramedRead::new(&wire[..], ServerCodec::default());
    let mut got = Vec::new();
    while let Some(m) = framed.next().await {
        got.push(m.unwrap());
    }
    assert_eq!(got, msgs);
    assert!(!framed.decoder().decoder.is_startup_phase());
}

#[tokio::test]
async fn client_and_server_codecs_over_a_duplex() {
    let (client_io, server_io) = tokio::io::duplex(64);
    let (client_r, client_w) = tokio::io::split(client_io);
    let (server_r, server_w) = tokio::io::split(server_io);

    let server = tokio::spawn(async move {
        let mut reader = FramedRead::new(server_r, ServerCodec::default());
        let mut writer = FramedWrite::new(server_w, ServerCodec::default());
        let mut got = Vec::new();
        while let Some(m) = reader.next().await {
            let m = m.unwrap();
            if matches!(m, FrontendMessage::Startup(_)) {
                // Ask for a SASL response next, to check the decoder state
                // is reachable through the codec.
                reader
                    .decoder_mut()
                    .decoder
                    .expect_auth_response(AuthResponseKind::Password);
            }
            let done = matches!(m, FrontendMessage::Terminate(_));
            got.push(m);
            if done {
                break;
            }
        }
        for m in backend_session() {
            writer.send(m).await.unwrap();
        }
        let by_ref = BackendMessage::Authentication(Authentication::Ok);
        writer.send(&by_ref).await.unwrap();
        got
    });

    let mut writer = FramedWrite::new(client_w, ClientCodec::default());
    for m in frontend_session() {
        writer.send(m).await.unwrap();
    }
    let mut reader = FramedRead::new(client_r, ClientCodec::default());
    let mut got = Vec::new();
    for _ in 0..backend_session().len() + 1 {
        got.push(reader.next().await.unwrap().unwrap());
    }
    let mut expected = backend_session();
    expected.push(BackendMessage::Authentication(Authentication::Ok));
    assert_eq!(got, expected);
    assert_eq!(server.await.unwrap(), frontend_session());
}

#[tokio::test]
async fn codec_surfaces_decode_errors() {
    let wire = [b'Q', 0, 0, 0, 1];
    let mut framed = FramedRead::new(&wire[..], ServerCodec::default());
    framed.decoder_mut().decoder.set_startup_phase(false);
    match framed.next().await {
        Some(Err(CodecError::Decode(DecodeError::InvalidLength { length: 1, .. }))) => {}
        other => panic!("{other:?}"),
    }
    let wire = [b'?'];
    let mut framed = FramedRead::new(&wire[..], ClientCodec::default());
    match framed.next().await {
        Some(Err(e @ CodecError::Decode(DecodeError::UnknownMessageType(b'?')))) => {
            assert!(std::error::Error::source(&e).is_some());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn codec_reports_a_message_cut_by_eof() {
    let wire = [b'Z', 0, 0, 0, 5];
    let mut framed = FramedRead::new(&wire[..], ClientCodec::default());
    match framed.next().await {
        Some(Err(CodecError::Io(e))) => {
            assert!(e.to_string().contains("bytes remaining"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}
