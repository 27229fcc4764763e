//! Decoder behaviour: partial input, pipelines, the startup phase, limits
//! checked from the header alone, and every way a body can be malformed.

use bytes::{BufMut, Bytes, BytesMut};

use super::{
    be_bytes, be_decode, fe_bytes, fe_decode_startup, fe_decode_typed, fe_decoder_for, frame,
    packet,
};
use crate::messages::startup::{CANCEL_REQUEST_CODE, SSL_REQUEST_CODE};
use crate::messages::{
    AuthResponseKind, Authentication, BackendDecoder, BackendMessage, Bind, CancelRequest,
    CommandComplete, DEFAULT_MAX_MESSAGE_LEN, DataRow, DecodeError, Describe, Execute, FormatCodes,
    FrontendDecoder, FrontendMessage, GssEncRequest, InvalidSequence, MAX_AUTH_MESSAGE_LEN,
    MAX_SMALL_MESSAGE_LEN, MAX_STARTUP_PACKET_LEN, Message, Parse, ProtocolVersion, Query,
    ReadyForQuery, SslRequest, StartupMessage, Sync, TargetKind, TransactionStatus, ValueList,
};

fn sample_frontend() -> Vec<FrontendMessage> {
    vec![
        FrontendMessage::Startup(StartupMessage::new([("user", "u"), ("database", "d")])),
        FrontendMessage::CancelRequest(CancelRequest {
            process_id: 9,
            secret_key: Bytes::from_static(&[1; 32]),
        }),
        FrontendMessage::Query(Query::new("SELECT 1")),
        FrontendMessage::Bind(Bind {
            portal: "p".into(),
            statement: "s".into(),
            param_formats: FormatCodes::from_codes(&[1]),
            params: ValueList::from_values([None, Some(b"xyz")]),
            result_formats: FormatCodes::new(),
        }),
        FrontendMessage::Sync(Sync),
    ]
}

fn sample_backend() -> Vec<BackendMessage> {
    vec![
        BackendMessage::Authentication(Authentication::Sasl {
            mechanisms: vec!["SCRAM-SHA-256".into()],
        }),
        BackendMessage::DataRow(DataRow::new([Some(&b"1"[..]), None])),
        BackendMessage::ReadyForQuery(ReadyForQuery {
            status: TransactionStatus::Idle,
        }),
        BackendMessage::CommandComplete(CommandComplete::new("SELECT 1")),
    ]
}

// ---- partial input ----

#[test]
fn frontend_partial_input_waits_at_every_split_point() {
    for m in sample_frontend() {
        let wire = fe_bytes(&m);
        for cut in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..cut]);
            let mut d = fe_decoder_for(&m);
            assert_eq!(d.decode(&mut buf), Ok(None), "{} cut at {cut}", m.name());
            assert_eq!(buf.len(), cut, "a partial message is left untouched");
            buf.extend_from_slice(&wire[cut..]);
            assert_eq!(d.decode(&mut buf), Ok(Some(m.clone())));
            assert!(buf.is_empty());
        }
    }
}

#[test]
fn frontend_byte_by_byte() {
    for m in sample_frontend() {
        let wire = fe_bytes(&m);
        let mut d = fe_decoder_for(&m);
        let mut buf = BytesMut::new();
        let mut got = None;
        for (i, b) in wire.iter().enumerate() {
            buf.put_u8(*b);
            match d.decode(&mut buf).unwrap() {
                Some(x) => {
                    assert_eq!(i, wire.len() - 1, "decoded early");
                    got = Some(x);
                }
                None => assert!(i < wire.len() - 1),
            }
        }
        assert_eq!(got, Some(m));
    }
}

#[test]
fn backend_partial_input_waits_at_every_split_point() {
    for m in sample_backend() {
        let wire = be_bytes(&m);
        for cut in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..cut]);
            let mut d = BackendDecoder::new();
            assert_eq!(d.decode(&mut buf), Ok(None), "{} cut at {cut}", m.name());
            assert_eq!(buf.len(), cut);
            buf.extend_from_slice(&wire[cut..]);
            assert_eq!(d.decode(&mut buf), Ok(Some(m.clone())));
            assert!(buf.is_empty());
        }
    }
}

// ---- several messages in one buffer ----

#[test]
fn frontend_pipeline_decodes_in_order() {
    let msgs = vec![
        FrontendMessage::Parse(Parse {
            name: "".into(),
            query: "SELECT $1".into(),
            param_types: vec![23],
        }),
        FrontendMessage::Bind(Bind {
            portal: "".into(),
            statement: "".into(),
            param_formats: FormatCodes::new(),
            params: ValueList::from_values([Some("7")]),
            result_formats: FormatCodes::new(),
        }),
        FrontendMessage::Describe(Describe {
            kind: TargetKind::Portal,
            name: "".into(),
        }),
        FrontendMessage::Execute(Execute {
            portal: "".into(),
            max_rows: 0,
        }),
        FrontendMessage::Sync(Sync),
    ];
    let mut buf = BytesMut::new();
    for m in &msgs {
        m.encode(&mut buf);
    }
    // A partial next message at the end stays in the buffer.
    buf.extend_from_slice(b"Q\0\0");
    let mut d = FrontendDecoder::new_typed();
    for m in &msgs {
        assert_eq!(d.decode(&mut buf).unwrap().as_ref(), Some(m));
    }
    assert_eq!(d.decode(&mut buf), Ok(None));
    assert_eq!(&buf[..], b"Q\0\0");
}

#[test]
fn backend_sequence_decodes_in_order() {
    let msgs = sample_backend();
    let mut buf = BytesMut::new();
    for m in &msgs {
        m.encode(&mut buf);
    }
    let mut d = BackendDecoder::new();
    for m in &msgs {
        assert_eq!(d.decode(&mut buf).unwrap().as_ref(), Some(m));
    }
    assert_eq!(d.decode(&mut buf), Ok(None));
    assert!(buf.is_empty());
}

#[test]
fn encoding_appends_after_existing_bytes() {
    let mut buf = BytesMut::from(&b"junk"[..]);
    Query::new("x").encode(&mut buf);
    StartupMessage::new([("user", "u")]).encode(&mut buf);
    assert_eq!(&buf[..4], b"junk");
    assert_eq!(&buf[4..11], b"Q\0\0\0\x06x\0");
    assert_eq!(&buf[11..15], &(buf.len() as u32 - 11).to_be_bytes());
}

// ---- startup phase ----

#[test]
fn startup_phase_switches_to_typed_after_startup_message() {
    let mut buf = BytesMut::new();
    FrontendMessage::SslRequest(SslRequest).encode(&mut buf);
    FrontendMessage::GssEncRequest(GssEncRequest).encode(&mut buf);
    FrontendMessage::Startup(StartupMessage::new([("user", "u")])).encode(&mut buf);
    Query::new("SELECT 1").encode(&mut buf);

    let mut d = FrontendDecoder::new();
    assert!(d.is_startup_phase());
    assert_eq!(
        d.decode(&mut buf),
        Ok(Some(FrontendMessage::SslRequest(SslRequest)))
    );
    assert!(d.is_startup_phase(), "SSLRequest keeps the startup phase");
    assert_eq!(
        d.decode(&mut buf),
        Ok(Some(FrontendMessage::GssEncRequest(GssEncRequest)))
    );
    assert!(
        d.is_startup_phase(),
        "GSSENCRequest keeps the startup phase"
    );
    assert!(matches!(
        d.decode(&mut buf),
        Ok(Some(FrontendMessage::Startup(_)))
    ));
    assert!(!d.is_startup_phase());
    assert_eq!(
        d.decode(&mut buf),
        Ok(Some(FrontendMessage::Query(Query::new("SELECT 1"))))
    );
    assert!(buf.is_empty());
}

#[test]
fn cancel_request_keeps_the_startup_phase() {
    let mut buf = BytesMut::new();
    CancelRequest {
        process_id: 1,
        secret_key: Bytes::from_static(b"abcd"),
    }
    .encode(&mut buf);
    let mut d = FrontendDecoder::new();
    assert!(matches!(
        d.decode(&mut buf),
        Ok(Some(FrontendMessage::CancelRequest(_)))
    ));
    assert!(d.is_startup_phase());
}

#[test]
fn typed_phase_reads_a_startup_packet_as_garbage() {
    let mut buf = BytesMut::new();
    StartupMessage::new([("user", "u")]).encode(&mut buf);
    assert_eq!(
        FrontendDecoder::new_typed().decode(&mut buf),
        Err(DecodeError::UnknownMessageType(0))
    );
}

#[test]
fn set_startup_phase_returns_to_the_startup_phase() {
    // A server does this after a TLS handshake.
    let mut d = FrontendDecoder::new_typed();
    d.set_startup_phase(true);
    let mut buf = BytesMut::new();
    StartupMessage::new([("user", "u")]).encode(&mut buf);
    assert!(matches!(
        d.decode(&mut buf),
        Ok(Some(FrontendMessage::Startup(_)))
    ));
    assert!(!d.is_startup_phase());
}

#[test]
fn startup_version_2_decodes_with_empty_parameters() {
    // Protocol 2.0 (131072) is refused by the server, which only needs the
    // version to say so; the rest of the packet is not parsed.
    let mut body = 0x0002_0000u32.to_be_bytes().to_vec();
    body.extend_from_slice(b"whatever layout\xff\0");
    let got = fe_decode_startup(&packet(&body)).unwrap().unwrap();
    assert_eq!(
        got,
        FrontendMessage::Startup(StartupMessage {
            version: ProtocolVersion { major: 2, minor: 0 },
            parameters: vec![],
        })
    );
}

#[test]
fn startup_newer_minor_version_decodes() {
    let mut body = 0x0003_0005u32.to_be_bytes().to_vec();
    body.extend_from_slice(b"user\0u\0_pq_.x\0y\0\0");
    let Some(FrontendMessage::Startup(m)) = fe_decode_startup(&packet(&body)).unwrap() else {
        panic!("not a StartupMessage");
    };
    assert_eq!(m.version, ProtocolVersion { major: 3, minor: 5 });
    assert_eq!(m.version.to_string(), "3.5");
    assert_eq!(m.parameters.len(), 2);
}

#[test]
fn unknown_special_request_code_is_rejected_and_consumed() {
    let code = (1234 << 16) | 9999;
    let mut buf = BytesMut::from(&packet(&u32::to_be_bytes(code))[..]);
    buf.extend_from_slice(&packet(&SSL_REQUEST_CODE.to_be_bytes()));
    let mut d = FrontendDecoder::new();
    assert_eq!(
        d.decode(&mut buf),
        Err(DecodeError::UnknownRequestCode(code))
    );
    assert!(d.is_startup_phase());
    assert_eq!(
        d.decode(&mut buf),
        Ok(Some(FrontendMessage::SslRequest(SslRequest)))
    );
}

#[test]
fn ssl_request_with_extra_bytes_is_rejected() {
    let mut body = SSL_REQUEST_CODE.to_be_bytes().to_vec();
    body.push(0);
    assert_eq!(
        fe_decode_startup(&packet(&body)),
        Err(DecodeError::TrailingBytes {
            tag: None,
            message: "SSLRequest"
        })
    );
}

#[test]
fn startup_parameter_without_value_is_rejected() {
    let mut body = 0x0003_0000u32.to_be_bytes().to_vec();
    body.extend_from_slice(b"user\0");
    assert_eq!(
        fe_decode_startup(&packet(&body)),
        Err(DecodeError::MissingNul {
            tag: None,
            message: "StartupMessage"
        })
    );
    // Missing the final terminator.
    let mut body = 0x0003_0000u32.to_be_bytes().to_vec();
    body.extend_from_slice(b"user\0u\0");
    assert_eq!(
        fe_decode_startup(&packet(&body)),
        Err(DecodeError::MissingNul {
            tag: None,
            message: "StartupMessage"
        })
    );
    // Bytes after the final terminator.
    let mut body = 0x0003_0000u32.to_be_bytes().to_vec();
    body.extend_from_slice(b"user\0u\0\0x");
    assert_eq!(
        fe_decode_startup(&packet(&body)),
        Err(DecodeError::TrailingBytes {
            tag: None,
            message: "StartupMessage"
        })
    );
}

#[test]
fn cancel_request_without_key_is_truncated() {
    let mut body = CANCEL_REQUEST_CODE.to_be_bytes().to_vec();
    body.extend_from_slice(&[0, 0]);
    assert_eq!(
        fe_decode_startup(&packet(&body)),
        Err(DecodeError::Truncated {
            tag: None,
            message: "CancelRequest"
        })
    );
}

// ---- lengths and limits ----

#[test]
fn typed_length_below_4_is_rejected() {
    for len in 0..4u32 {
        let mut wire = vec![b'Q'];
        wire.extend_from_slice(&len.to_be_bytes());
        assert_eq!(
            fe_decode_typed(&wire),
            Err(DecodeError::InvalidLength {
                tag: Some(b'Q'),
                length: len
            })
        );
        wire[0] = b'Z';
        assert_eq!(
            be_decode(&wire),
            Err(DecodeError::InvalidLength {
                tag: Some(b'Z'),
                length: len
            })
        );
    }
}

#[test]
fn startup_length_below_8_is_rejected() {
    for len in 0..8u32 {
        assert_eq!(
            fe_decode_startup(&len.to_be_bytes()),
            Err(DecodeError::InvalidLength {
                tag: None,
                length: len
            })
        );
    }
}

#[test]
fn startup_packet_too_large_is_rejected_from_the_header() {
    let header = (MAX_STARTUP_PACKET_LEN as u32 + 1).to_be_bytes();
    assert_eq!(
        fe_decode_startup(&header),
        Err(DecodeError::TooLarge {
            tag: None,
            length: 10_001,
            max: 10_000
        })
    );
    // The limit itself is allowed: wait for the body.
    let header = (MAX_STARTUP_PACKET_LEN as u32).to_be_bytes();
    assert_eq!(fe_decode_startup(&header), Ok(None));
}

#[test]
fn typed_message_above_configured_max_is_rejected_from_the_header() {
    let mut d = FrontendDecoder::new_typed().with_max_message_len(1000);
    assert_eq!(d.max_message_len(), 1000);
    let mut buf = BytesMut::from(&b"Q\0\0\x03\xe9"[..]); // 1001
    assert_eq!(
        d.decode(&mut buf),
        Err(DecodeError::TooLarge {
            tag: Some(b'Q'),
            length: 1001,
            max: 1000
        })
    );
    let mut buf = BytesMut::from(&b"Q\0\0\x03\xe8"[..]); // 1000
    assert_eq!(d.decode(&mut buf), Ok(None));

    let mut d = BackendDecoder::new().with_max_message_len(1000);
    let mut buf = BytesMut::from(&b"D\0\0\x03\xe9"[..]);
    assert_eq!(
        d.decode(&mut buf),
        Err(DecodeError::TooLarge {
            tag: Some(b'D'),
            length: 1001,
            max: 1000
        })
    );
    let mut buf = BytesMut::from(&b"D\0\0\x03\xe8"[..]);
    assert_eq!(d.decode(&mut buf), Ok(None));
}

#[test]
fn default_max_message_len() {
    assert_eq!(
        FrontendDecoder::new().max_message_len(),
        DEFAULT_MAX_MESSAGE_LEN
    );
    let over = (DEFAULT_MAX_MESSAGE_LEN as u32 + 1).to_be_bytes();
    let mut wire = vec![b'd'];
    wire.extend_from_slice(&over);
    assert!(matches!(
        fe_decode_typed(&wire),
        Err(DecodeError::TooLarge {
            tag: Some(b'd'),
            ..
        })
    ));
    wire[0] = b'D';
    assert!(matches!(
        be_decode(&wire),
        Err(DecodeError::TooLarge {
            tag: Some(b'D'),
            ..
        })
    ));
}

#[test]
fn small_messages_have_a_small_limit() {
    for tag in [b'S', b'H', b'X', b'D', b'C', b'E', b'c', b'f'] {
        let mut wire = vec![tag];
        wire.extend_from_slice(&20_000u32.to_be_bytes());
        assert_eq!(
            fe_decode_typed(&wire),
            Err(DecodeError::TooLarge {
                tag: Some(tag),
                length: 20_000,
                max: MAX_SMALL_MESSAGE_LEN
            }),
            "tag {}",
            tag as char
        );
    }
    // Data-carrying messages may be larger.
    for tag in [b'Q', b'P', b'B', b'd', b'F'] {
        let mut wire = vec![tag];
        wire.extend_from_slice(&20_000u32.to_be_bytes());
        assert_eq!(fe_decode_typed(&wire), Ok(None), "tag {}", tag as char);
    }
    // A configured maximum below the small limit wins.
    let mut d = FrontendDecoder::new_typed().with_max_message_len(100);
    let mut buf = BytesMut::from(&b"S\0\0\0\x65"[..]);
    assert!(matches!(
        d.decode(&mut buf),
        Err(DecodeError::TooLarge { max: 100, .. })
    ));
}

#[test]
fn auth_responses_have_the_auth_limit() {
    let mut wire = vec![b'p'];
    wire.extend_from_slice(&(MAX_AUTH_MESSAGE_LEN as u32 + 1).to_be_bytes());
    assert_eq!(
        fe_decode_typed(&wire),
        Err(DecodeError::TooLarge {
            tag: Some(b'p'),
            length: 65_536,
            max: MAX_AUTH_MESSAGE_LEN
        })
    );
    let mut wire = vec![b'p'];
    wire.extend_from_slice(&(MAX_AUTH_MESSAGE_LEN as u32).to_be_bytes());
    assert_eq!(fe_decode_typed(&wire), Ok(None));
}

#[test]
fn unknown_type_byte_is_rejected_from_one_byte() {
    for tag in [0u8, b'Z', b'x', b'T', 0xff] {
        assert_eq!(
            fe_decode_typed(&[tag]),
            Err(DecodeError::UnknownMessageType(tag))
        );
    }
    for tag in [0u8, b'Q', b'P', b'X', b'p', 0xff] {
        assert_eq!(be_decode(&[tag]), Err(DecodeError::UnknownMessageType(tag)));
    }
}

#[test]
fn huge_declared_length_never_grows_the_buffer() {
    let header = |tag: u8| {
        let mut b = BytesMut::with_capacity(64);
        b.put_u8(tag);
        b.put_u32(0x7fff_ffff);
        b.put_slice(b"some body bytes");
        b
    };

    // Rejected by the default limit.
    let mut buf = header(b'Q');
    let cap = buf.capacity();
    assert!(matches!(
        FrontendDecoder::new_typed().decode(&mut buf),
        Err(DecodeError::TooLarge { .. })
    ));
    assert_eq!(buf.capacity(), cap);

    // Allowed by a limit that high: the decoder waits, reserving nothing.
    let mut d = FrontendDecoder::new_typed().with_max_message_len(usize::MAX);
    let mut buf = header(b'Q');
    let cap = buf.capacity();
    for _ in 0..3 {
        assert_eq!(d.decode(&mut buf), Ok(None));
        assert_eq!(buf.capacity(), cap);
    }

    let mut d = BackendDecoder::new().with_max_message_len(usize::MAX);
    let mut buf = header(b'd');
    let cap = buf.capacity();
    assert_eq!(d.decode(&mut buf), Ok(None));
    assert_eq!(buf.capacity(), cap);

    // Startup phase: rejected by the 10,000 byte limit.
    let mut buf = BytesMut::with_capacity(64);
    buf.put_u32(0x7fff_ffff);
    let cap = buf.capacity();
    assert!(matches!(
        FrontendDecoder::new().decode(&mut buf),
        Err(DecodeError::TooLarge { tag: None, .. })
    ));
    assert_eq!(buf.capacity(), cap);
}

#[test]
fn lying_counts_do_not_size_allocations() {
    // Counts of i16::MAX with no data behind them: Truncated, not an
    // allocation of 32767 elements followed by a failure.
    let parse = frame(b'P', b"\0q\0\x7f\xff");
    assert_eq!(
        fe_decode_typed(&parse),
        Err(DecodeError::Truncated {
            tag: Some(b'P'),
            message: "Parse"
        })
    );
    let rd = frame(b'T', b"\x7f\xff");
    assert_eq!(
        be_decode(&rd),
        Err(DecodeError::Truncated {
            tag: Some(b'T'),
            message: "RowDescription"
        })
    );
    let pd = frame(b't', b"\x7f\xff");
    assert_eq!(
        be_decode(&pd),
        Err(DecodeError::Truncated {
            tag: Some(b't'),
            message: "ParameterDescription"
        })
    );
    let npv = frame(b'v', b"\0\0\0\0\x7f\xff\xff\xff");
    assert_eq!(
        be_decode(&npv),
        Err(DecodeError::Truncated {
            tag: Some(b'v'),
            message: "NegotiateProtocolVersion"
        })
    );
}

// ---- malformed bodies ----

#[test]
fn query_without_nul() {
    assert_eq!(
        fe_decode_typed(&frame(b'Q', b"SELECT 1")),
        Err(DecodeError::MissingNul {
            tag: Some(b'Q'),
            message: "Query"
        })
    );
    assert_eq!(
        fe_decode_typed(&frame(b'Q', b"")),
        Err(DecodeError::MissingNul {
            tag: Some(b'Q'),
            message: "Query"
        })
    );
}

#[test]
fn invalid_utf8_is_recoverable_and_consumes_the_frame() {
    let mut buf = BytesMut::from(&frame(b'Q', b"SELECT '\xc3\x28'\0")[..]);
    Sync.encode(&mut buf);
    let mut d = FrontendDecoder::new_typed();
    let err = d.decode(&mut buf).unwrap_err();
    assert_eq!(
        err,
        DecodeError::InvalidUtf8 {
            tag: Some(b'Q'),
            message: "Query",
            sequence: InvalidSequence::at(b"\xc3\x28")
        }
    );
    assert_eq!(
        err.to_string(),
        "invalid byte sequence for encoding \"UTF8\": 0xc3 0x28"
    );
    assert!(err.is_recoverable());
    assert_eq!(d.decode(&mut buf), Ok(Some(FrontendMessage::Sync(Sync))));
    assert!(buf.is_empty());
}

#[test]
fn invalid_utf8_in_names() {
    let mut body = b"\xff\0SELECT 1\0".to_vec();
    body.extend_from_slice(&[0, 0]);
    assert_eq!(
        fe_decode_typed(&frame(b'P', &body)),
        Err(DecodeError::InvalidUtf8 {
            tag: Some(b'P'),
            message: "Parse",
            sequence: InvalidSequence::at(b"\xff")
        })
    );
    assert_eq!(
        be_decode(&frame(b'S', b"a\0\x80\0")),
        Err(DecodeError::InvalidUtf8 {
            tag: Some(b'S'),
            message: "ParameterStatus",
            sequence: InvalidSequence::at(b"\x80")
        })
    );
}

#[test]
fn trailing_bytes() {
    assert_eq!(
        fe_decode_typed(&frame(b'Q', b"SELECT 1\0x")),
        Err(DecodeError::TrailingBytes {
            tag: Some(b'Q'),
            message: "Query"
        })
    );
    assert_eq!(
        fe_decode_typed(&frame(b'S', b"\0")),
        Err(DecodeError::TrailingBytes {
            tag: Some(b'S'),
            message: "Sync"
        })
    );
    assert_eq!(
        fe_decode_typed(&frame(b'E', b"\0\0\0\0\0\0")),
        Err(DecodeError::TrailingBytes {
            tag: Some(b'E'),
            message: "Execute"
        })
    );
    assert_eq!(
        be_decode(&frame(b'Z', b"II")),
        Err(DecodeError::TrailingBytes {
            tag: Some(b'Z'),
            message: "ReadyForQuery"
        })
    );
    assert_eq!(
        be_decode(&frame(b'R', b"\0\0\0\0\0")),
        Err(DecodeError::TrailingBytes {
            tag: Some(b'R'),
            message: "Authentication"
        })
    );
    assert_eq!(
        be_decode(&frame(b'E', b"Mboom\0\0\0")),
        Err(DecodeError::TrailingBytes {
            tag: Some(b'E'),
            message: "ErrorResponse"
        })
    );
}

#[test]
fn bind_param_count_larger_than_the_data_is_truncated() {
    // Three parameters announced, one present.
    let body = b"\0\0\0\0\0\x03\0\0\0\x01x\0\0";
    assert_eq!(
        fe_decode_typed(&frame(b'B', body)),
        Err(DecodeError::Truncated {
            tag: Some(b'B'),
            message: "Bind"
        })
    );
    // A value length past the end of the body.
    let body = b"\0\0\0\0\0\x01\0\0\x10\0x";
    assert_eq!(
        fe_decode_typed(&frame(b'B', body)),
        Err(DecodeError::Truncated {
            tag: Some(b'B'),
            message: "Bind"
        })
    );
    // Format codes announced but missing.
    let body = b"\0\0\0\x05\0\0";
    assert_eq!(
        fe_decode_typed(&frame(b'B', body)),
        Err(DecodeError::Truncated {
            tag: Some(b'B'),
            message: "Bind"
        })
    );
}

#[test]
fn data_row_value_past_the_end_is_truncated() {
    assert_eq!(
        be_decode(&frame(b'D', b"\0\x01\0\0\0\x05abc")),
        Err(DecodeError::Truncated {
            tag: Some(b'D'),
            message: "DataRow"
        })
    );
    assert_eq!(
        be_decode(&frame(b'D', b"\0\x01\0\0")),
        Err(DecodeError::Truncated {
            tag: Some(b'D'),
            message: "DataRow"
        })
    );
}

#[test]
fn unknown_authentication_code() {
    for code in [1i32, 4, 6, 13, 99, -1] {
        assert_eq!(
            be_decode(&frame(b'R', &code.to_be_bytes())),
            Err(DecodeError::InvalidValue {
                tag: Some(b'R'),
                message: "Authentication",
                what: "authentication request code",
                value: code.into()
            })
        );
    }
}

#[test]
fn authentication_bodies_too_short() {
    assert_eq!(
        be_decode(&frame(b'R', b"\0\0")),
        Err(DecodeError::Truncated {
            tag: Some(b'R'),
            message: "Authentication"
        })
    );
    // MD5 without its full salt.
    assert_eq!(
        be_decode(&frame(b'R', b"\0\0\0\x05ab")),
        Err(DecodeError::Truncated {
            tag: Some(b'R'),
            message: "Authentication"
        })
    );
    // SASL list without its terminator.
    assert_eq!(
        be_decode(&frame(b'R', b"\0\0\0\x0aSCRAM-SHA-256\0")),
        Err(DecodeError::MissingNul {
            tag: Some(b'R'),
            message: "Authentication"
        })
    );
}

#[test]
fn bad_enumerated_values() {
    assert_eq!(
        fe_decode_typed(&frame(b'D', b"Xname\0")),
        Err(DecodeError::InvalidValue {
            tag: Some(b'D'),
            message: "Describe",
            what: "DESCRIBE message subtype",
            value: b'X'.into()
        })
    );
    assert_eq!(
        fe_decode_typed(&frame(b'C', b"")),
        Err(DecodeError::NoDataLeft {
            tag: Some(b'C'),
            message: "Close"
        })
    );
    assert_eq!(
        be_decode(&frame(b'Z', b"Q")),
        Err(DecodeError::InvalidValue {
            tag: Some(b'Z'),
            message: "ReadyForQuery",
            what: "transaction status",
            value: b'Q'.into()
        })
    );
}

#[test]
fn negative_lengths_in_optional_values() {
    assert_eq!(
        be_decode(&frame(b'V', b"\xff\xff\xff\xfe")),
        Err(DecodeError::InvalidValue {
            tag: Some(b'V'),
            message: "FunctionCallResponse",
            what: "result length",
            value: -2
        })
    );
    let mut d = FrontendDecoder::new_typed();
    d.expect_auth_response(AuthResponseKind::SaslInitial);
    let mut buf = BytesMut::from(&frame(b'p', b"SCRAM-SHA-256\0\x80\0\0\0")[..]);
    assert_eq!(
        d.decode(&mut buf),
        Err(DecodeError::InvalidValue {
            tag: Some(b'p'),
            message: "SASLInitialResponse",
            what: "response length",
            value: i32::MIN.into()
        })
    );
    let mut buf = BytesMut::from(&frame(b'p', b"SCRAM-SHA-256\0\0\0\0\x09abc")[..]);
    assert_eq!(
        d.decode(&mut buf),
        Err(DecodeError::Truncated {
            tag: Some(b'p'),
            message: "SASLInitialResponse"
        })
    );
}

#[test]
fn the_auth_kind_decides_what_p_is() {
    let wire = frame(b'p', b"secret\0");
    let decode = |kind| {
        let mut d = FrontendDecoder::new_typed();
        d.expect_auth_response(kind);
        d.decode(&mut BytesMut::from(&wire[..])).unwrap().unwrap()
    };
    assert_eq!(decode(AuthResponseKind::Password).name(), "PasswordMessage");
    assert_eq!(decode(AuthResponseKind::Sasl).name(), "SASLResponse");
    assert_eq!(decode(AuthResponseKind::Gss).name(), "GSSResponse");
    // The same bytes are not a valid SASLInitialResponse (no length word).
    let mut d = FrontendDecoder::new_typed();
    d.expect_auth_response(AuthResponseKind::SaslInitial);
    assert_eq!(
        d.decode(&mut BytesMut::from(&wire[..])),
        Err(DecodeError::Truncated {
            tag: Some(b'p'),
            message: "SASLInitialResponse"
        })
    );
    // The default is PasswordMessage.
    assert_eq!(AuthResponseKind::default(), AuthResponseKind::Password);
}

#[test]
fn row_description_field_cut_short() {
    // One field announced; its name and 17 of its 18 fixed bytes present.
    // The body is long enough for the count check (19 bytes per field),
    // so the field read itself must fail cleanly.
    let mut body = vec![0, 1];
    body.extend_from_slice(b"id\0");
    body.extend_from_slice(&[0; 17]);
    assert_eq!(
        be_decode(&frame(b'T', &body)),
        Err(DecodeError::Truncated {
            tag: Some(b'T'),
            message: "RowDescription"
        })
    );
    // With the 18th byte it decodes.
    body.push(0);
    let Some(BackendMessage::RowDescription(rd)) = be_decode(&frame(b'T', &body)).unwrap() else {
        panic!("not a RowDescription");
    };
    assert_eq!(rd.fields.len(), 1);
    assert_eq!(rd.fields[0].name, "id");
}

#[test]
fn tls_client_hello_in_the_startup_phase_fails_fast() {
    // Direct SSL (PostgreSQL 17+) starts with a TLS record header; read as
    // a startup length it is far above the limit, so the decoder refuses
    // at once instead of waiting for ~370 MB.
    let hello = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc];
    assert!(matches!(
        fe_decode_startup(&hello),
        Err(DecodeError::TooLarge { tag: None, .. })
    ));
}

#[test]
fn error_field_code_zero_is_not_encoded() {
    // 0 ends the field list on the wire, so it cannot be a field code.
    let m = BackendMessage::ErrorResponse(crate::messages::ErrorResponse(
        [(b'S', "ERROR"), (0, "dropped"), (b'M', "m")]
            .into_iter()
            .map(|(c, v)| (c, crate::messages::ByteStr::from(v)))
            .collect(),
    ));
    let wire = be_bytes(&m);
    assert_eq!(&wire[5..], b"SERROR\0Mm\0\0");
    let Some(BackendMessage::ErrorResponse(e)) = be_decode(&wire).unwrap() else {
        panic!("not an ErrorResponse");
    };
    assert_eq!(e.0.fields.len(), 2);
}
