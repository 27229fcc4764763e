//! Well-framed messages with bad bodies, from raw bytes: each is a
//! recoverable error that consumed its frame, names the message's type byte
//! and reads as PostgreSQL 15's own message for the same fault (checked
//! against a PostgreSQL 15 server with the same bytes). Framing errors stay
//! unrecoverable.

use bytes::BytesMut;

use super::{fe_decode_startup, frame, packet};
use crate::messages::{
    AuthResponseKind, DecodeError, FrontendDecoder, FrontendMessage, Message, Sync,
};

/// Decodes `wire` followed by a Sync with a typed decoder expecting `auth`
/// for 'p'; checks the error consumed exactly the bad frame (the Sync is
/// read next) and returns it.
#[track_caller]
fn bad_body_with(auth: AuthResponseKind, wire: &[u8]) -> DecodeError {
    let mut buf = BytesMut::from(wire);
    Sync.encode(&mut buf);
    let mut d = FrontendDecoder::new_typed();
    d.expect_auth_response(auth);
    let err = match d.decode(&mut buf) {
        Err(e) => e,
        other => panic!("expected an error, got {other:?}"),
    };
    assert!(err.is_recoverable(), "{err:?}");
    assert_eq!(err.tag(), wire.first().copied(), "{err:?}");
    assert!(err.message_name().is_some(), "{err:?}");
    assert_eq!(d.decode(&mut buf), Ok(Some(FrontendMessage::Sync(Sync))));
    assert!(buf.is_empty());
    err
}

#[track_caller]
fn bad_body(wire: &[u8]) -> DecodeError {
    bad_body_with(AuthResponseKind::Password, wire)
}

/// `bad_body` and its text.
#[track_caller]
fn text_of(wire: &[u8]) -> String {
    bad_body(wire).to_string()
}

const INSUFFICIENT: &str = "insufficient data left in message";
const NO_DATA: &str = "no data left in message";
const BAD_STRING: &str = "invalid string in message";
const BAD_FORMAT: &str = "invalid message format";

#[test]
fn describe_bodies() {
    assert_eq!(text_of(&frame(b'D', b"")), NO_DATA);
    assert_eq!(
        text_of(&frame(b'D', b"X\0")),
        "invalid DESCRIBE message subtype 88"
    );
    assert_eq!(text_of(&frame(b'D', b"S")), BAD_STRING);
    assert_eq!(text_of(&frame(b'D', b"Sname")), BAD_STRING);
    assert_eq!(text_of(&frame(b'D', b"S\0x")), BAD_FORMAT);
    assert_eq!(
        bad_body(&frame(b'D', b"X\0")),
        DecodeError::InvalidValue {
            tag: Some(b'D'),
            message: "Describe",
            what: "DESCRIBE message subtype",
            value: 88,
        }
    );
}

#[test]
fn close_bodies() {
    assert_eq!(text_of(&frame(b'C', b"")), NO_DATA);
    assert_eq!(
        text_of(&frame(b'C', b"Q\0")),
        "invalid CLOSE message subtype 81"
    );
    assert_eq!(text_of(&frame(b'C', b"P")), BAD_STRING);
}

#[test]
fn execute_bodies() {
    // Portal name, but no row limit.
    assert_eq!(text_of(&frame(b'E', b"\0")), INSUFFICIENT);
    assert_eq!(text_of(&frame(b'E', b"\0\0\0")), INSUFFICIENT);
    assert_eq!(text_of(&frame(b'E', b"")), BAD_STRING);
    assert_eq!(text_of(&frame(b'E', b"\0\0\0\0\0x")), BAD_FORMAT);
}

#[test]
fn bind_bodies() {
    // One parameter of length -2: PostgreSQL reads it as a length past the
    // end of the message.
    let minus_two = b"\0\0\0\0\0\x01\xff\xff\xff\xfe\0\0";
    assert_eq!(
        bad_body(&frame(b'B', minus_two)),
        DecodeError::Truncated {
            tag: Some(b'B'),
            message: "Bind",
        }
    );
    assert_eq!(text_of(&frame(b'B', minus_two)), INSUFFICIENT);
    // A length of 100 with 3 bytes behind it.
    assert_eq!(
        text_of(&frame(b'B', b"\0\0\0\0\0\x01\0\0\0\x64abc\0\0")),
        INSUFFICIENT
    );
    // Cut inside the format count.
    assert_eq!(text_of(&frame(b'B', b"\0\0\0")), INSUFFICIENT);
    // No result format count.
    assert_eq!(text_of(&frame(b'B', b"\0\0\0\0\0\0")), INSUFFICIENT);
    // Unterminated portal name.
    assert_eq!(text_of(&frame(b'B', b"portal")), BAD_STRING);
    // Trailing byte.
    assert_eq!(text_of(&frame(b'B', b"\0\0\0\0\0\0\0\0x")), BAD_FORMAT);
}

#[test]
fn parse_bodies() {
    assert_eq!(text_of(&frame(b'P', b"\0SELECT 1\0\0")), INSUFFICIENT);
    assert_eq!(text_of(&frame(b'P', b"\0SELECT 1\0\0\0x")), BAD_FORMAT);
    assert_eq!(text_of(&frame(b'P', b"\0SELECT 1")), BAD_STRING);
    // Two parameter types announced, one sent.
    assert_eq!(
        text_of(&frame(b'P', b"\0SELECT 1\0\0\x02\0\0\0\x17")),
        INSUFFICIENT
    );
}

#[test]
fn query_bodies() {
    // An embedded NUL ends the string early: the rest is trailing bytes.
    assert_eq!(text_of(&frame(b'Q', b"SELECT 1\0SELECT 2\0")), BAD_FORMAT);
    assert_eq!(
        bad_body(&frame(b'Q', b"SELECT 1\0SELECT 2\0")),
        DecodeError::TrailingBytes {
            tag: Some(b'Q'),
            message: "Query",
        }
    );
    // No terminator at all.
    assert_eq!(text_of(&frame(b'Q', b"SELECT 1")), BAD_STRING);
    assert_eq!(text_of(&frame(b'Q', b"")), BAD_STRING);
}

#[test]
fn bodiless_messages_with_a_body() {
    for tag in [b'S', b'H', b'X', b'c'] {
        assert_eq!(text_of(&frame(tag, b"x")), BAD_FORMAT, "{}", tag as char);
    }
}

#[test]
fn function_call_bodies() {
    assert_eq!(text_of(&frame(b'F', b"\0\0")), INSUFFICIENT);
    // One argument of size -2.
    assert_eq!(
        text_of(&frame(b'F', b"\0\0\0\x01\0\0\0\x01\xff\xff\xff\xfe\0\0")),
        "invalid argument size -2 in function call message"
    );
}

#[test]
fn copy_fail_and_auth_responses_name_their_type_byte() {
    assert_eq!(bad_body(&frame(b'f', b"abc")).tag(), Some(b'f'));
    assert_eq!(
        bad_body(&frame(b'p', b"secret")).message_name(),
        Some("PasswordMessage")
    );
    assert_eq!(
        bad_body_with(
            AuthResponseKind::SaslInitial,
            &frame(b'p', b"SCRAM-SHA-256\0")
        ),
        DecodeError::Truncated {
            tag: Some(b'p'),
            message: "SASLInitialResponse",
        }
    );
}

#[test]
fn invalid_utf8_quotes_the_sequence_as_postgresql_does() {
    assert_eq!(
        text_of(&frame(b'Q', b"SELECT \xff\0")),
        "invalid byte sequence for encoding \"UTF8\": 0xff"
    );
    // A three-byte lead followed by a non-continuation byte.
    assert_eq!(
        text_of(&frame(b'Q', b"SELECT '\xe2\x28\xa1'\0")),
        "invalid byte sequence for encoding \"UTF8\": 0xe2 0x28 0xa1"
    );
    // Cut by the end of the string.
    assert_eq!(
        text_of(&frame(b'P', b"\0SELECT \xe2\x82\0\0\0")),
        "invalid byte sequence for encoding \"UTF8\": 0xe2 0x82"
    );
    // Long (shared, not inline) strings too.
    let mut long = b"SELECT '".to_vec();
    long.extend_from_slice(&[b'a'; 64]);
    long.extend_from_slice(b"\xc0'\0");
    assert_eq!(
        text_of(&frame(b'Q', &long)),
        "invalid byte sequence for encoding \"UTF8\": 0xc0 0x27"
    );
}

#[test]
fn framing_errors_stay_unrecoverable() {
    let mut d = FrontendDecoder::new_typed();
    for wire in [
        b"S\0\0\0\x03".to_vec(),
        b"y\0\0\0\x04".to_vec(),
        // A Sync claiming 100 kB: over the small-message limit.
        b"S\0\x01\x86\xa0".to_vec(),
    ] {
        let err = d.decode(&mut BytesMut::from(&wire[..])).unwrap_err();
        assert!(!err.is_recoverable(), "{err:?}");
        assert_eq!(err.message_name(), None);
    }
    assert_eq!(
        DecodeError::UnknownMessageType(121).to_string(),
        "invalid message type 121"
    );
}

#[test]
fn startup_packet_body_errors_stay_unrecoverable() {
    // Parameters without the final terminator; an SSLRequest with a byte
    // too many; a CancelRequest without its key.
    let mut startup = 0x0003_0000u32.to_be_bytes().to_vec();
    startup.extend_from_slice(b"user\0u\0");
    let mut ssl = 80_877_103u32.to_be_bytes().to_vec();
    ssl.push(0);
    let cancel = 80_877_102u32.to_be_bytes().to_vec();
    for body in [startup, ssl, cancel] {
        let err = fe_decode_startup(&packet(&body)).unwrap_err();
        assert!(!err.is_recoverable(), "{err:?}");
        assert_eq!(err.tag(), None);
        assert!(err.message_name().is_some());
    }
}
