//! Encodings written out by hand from the PostgreSQL documentation
//! ("Frontend/Backend Protocol", section "Message Formats"), checked in
//! both directions: our encoder produces exactly these bytes and our
//! decoder reads them back into the expected message.

use bytes::{Bytes, BytesMut};

use super::{be_bytes, fe_bytes, fe_decoder_for};
use crate::messages::{
    Authentication, BackendDecoder, BackendKeyData, BackendMessage, Bind, ByteStr, CancelRequest,
    DataRow, ErrorResponse, FormatCodes, FrontendMessage, NegotiateProtocolVersion,
    ProtocolVersion, SaslInitialResponse, StartupMessage, ValueList,
};

/// `wire` is what `m` encodes to, and decodes back to `m`.
#[track_caller]
fn assert_fe_wire(m: FrontendMessage, wire: &[u8]) {
    assert_eq!(&fe_bytes(&m)[..], wire, "encoding of {}", m.name());
    let mut buf = BytesMut::from(wire);
    let got = fe_decoder_for(&m).decode(&mut buf).unwrap().unwrap();
    assert_eq!(got, m);
    assert!(buf.is_empty());
}

/// `wire` is what `m` encodes to, and decodes back to `m`.
#[track_caller]
fn assert_be_wire(m: BackendMessage, wire: &[u8]) {
    assert_eq!(&be_bytes(&m)[..], wire, "encoding of {}", m.name());
    let mut buf = BytesMut::from(wire);
    let got = BackendDecoder::new().decode(&mut buf).unwrap().unwrap();
    assert_eq!(got, m);
    assert!(buf.is_empty());
}

#[test]
fn startup_message_user_and_database() {
    // Int32 length, Int32(196608), then name/value String pairs, then a
    // terminating zero byte.
    let mut wire = vec![
        0, 0, 0, 34, // length: 4 + 4 + 5 + 6 + 9 + 5 + 1
        0x00, 0x03, 0x00, 0x00, // 196608 = 3.0
    ];
    wire.extend_from_slice(b"user\0alice\0database\0shop\0\0");
    assert_eq!(wire.len(), 34);
    let m = StartupMessage::new([("user", "alice"), ("database", "shop")]);
    assert_eq!(ProtocolVersion::V3_0.code(), 196_608);
    assert_eq!(m.parameter("user").map(|v| v.as_str()), Some("alice"));
    assert_eq!(m.parameter("database").map(|v| v.as_str()), Some("shop"));
    assert_eq!(m.parameter("options"), None);
    assert_fe_wire(FrontendMessage::Startup(m), &wire);
}

#[test]
fn bind_mixed_formats_null_and_binary_int4() {
    let wire: &[u8] = &[
        b'B', 0, 0, 0, 32, // length
        0,  // portal "" (unnamed)
        b's', b'1', 0, // statement "s1"
        0, 2, 0, 0, 0, 1, // 2 parameter format codes: text, binary
        0, 2, // 2 parameter values
        0xff, 0xff, 0xff, 0xff, // first: NULL (-1)
        0, 0, 0, 4, 0, 0, 0, 42, // second: 4 bytes, int4 42 in binary
        0, 1, 0, 1, // 1 result format code: binary for all columns
    ];
    let m = Bind {
        portal: "".into(),
        statement: "s1".into(),
        param_formats: FormatCodes::from_codes(&[0, 1]),
        params: ValueList::from_values([None, Some(42i32.to_be_bytes())]),
        result_formats: FormatCodes::from_codes(&[1]),
    };
    assert_fe_wire(FrontendMessage::Bind(m), wire);
}

#[test]
fn data_row_null_versus_empty_string() {
    let wire: &[u8] = &[
        b'D', 0, 0, 0, 20, // length
        0, 3, // 3 columns
        0xff, 0xff, 0xff, 0xff, // NULL: length -1, no bytes
        0, 0, 0, 0, // '': length 0
        0, 0, 0, 2, b'a', b'b', // 'ab'
    ];
    let m = DataRow::new([None, Some(&b""[..]), Some(&b"ab"[..])]);
    let values: Vec<_> = m.values.iter().collect();
    assert_eq!(values, [None, Some(&b""[..]), Some(&b"ab"[..])]);
    assert_be_wire(BackendMessage::DataRow(m), wire);
}

#[test]
fn error_response_fields() {
    let mut wire = vec![b'E', 0, 0, 0, 40];
    wire.extend_from_slice(b"SERROR\0");
    wire.extend_from_slice(b"VERROR\0");
    wire.extend_from_slice(b"C42601\0");
    wire.extend_from_slice(b"Msyntax error\0");
    wire.push(0); // end of fields
    assert_eq!(wire.len(), 41);
    let m = ErrorResponse(
        [
            (b'S', "ERROR"),
            (b'V', "ERROR"),
            (b'C', "42601"),
            (b'M', "syntax error"),
        ]
        .into_iter()
        .map(|(c, v)| (c, ByteStr::from(v)))
        .collect(),
    );
    assert_be_wire(BackendMessage::ErrorResponse(m), &wire);
}

#[test]
fn backend_key_data_3_2_with_32_byte_key() {
    let key: Vec<u8> = (1..=32).collect();
    let mut wire = vec![
        b'K', 0, 0, 0, 40, // length: 4 + 4 + 32
        0x00, 0x00, 0x30, 0x39, // process ID 12345
    ];
    wire.extend_from_slice(&key);
    let m = BackendKeyData {
        process_id: 12345,
        secret_key: Bytes::from(key),
    };
    assert_be_wire(BackendMessage::BackendKeyData(m), &wire);
}

#[test]
fn cancel_request_3_2_with_32_byte_key() {
    let key: Vec<u8> = (100..132).collect();
    let mut wire = vec![
        0, 0, 0, 44, // length: 12 + 32
        0x04, 0xd2, 0x16, 0x2e, // 80877102 = 1234 << 16 | 5678
        0x00, 0x00, 0x30, 0x39, // process ID 12345
    ];
    wire.extend_from_slice(&key);
    let m = CancelRequest {
        process_id: 12345,
        secret_key: Bytes::from(key),
    };
    assert_fe_wire(FrontendMessage::CancelRequest(m), &wire);
}

#[test]
fn cancel_request_3_0() {
    let wire: &[u8] = &[
        0, 0, 0, 16, // length
        0x04, 0xd2, 0x16, 0x2e, // 80877102
        0x00, 0x00, 0x00, 0x07, // process ID 7
        0xca, 0xfe, 0xba, 0xbe, // 4-byte key
    ];
    let m = CancelRequest {
        process_id: 7,
        secret_key: Bytes::from_static(&[0xca, 0xfe, 0xba, 0xbe]),
    };
    assert_fe_wire(FrontendMessage::CancelRequest(m), wire);
}

#[test]
fn sasl_initial_response() {
    let mut wire = vec![b'p', 0, 0, 0, 33]; // 4 + 14 + 4 + 11
    wire.extend_from_slice(b"SCRAM-SHA-256\0");
    wire.extend_from_slice(&[0, 0, 0, 11]);
    wire.extend_from_slice(b"n,,n=,r=abc");
    let m = SaslInitialResponse {
        mechanism: "SCRAM-SHA-256".into(),
        data: Some(Bytes::from_static(b"n,,n=,r=abc")),
    };
    assert_fe_wire(FrontendMessage::SaslInitialResponse(m), &wire);

    // No initial response: length -1 and nothing after it.
    let mut wire = vec![b'p', 0, 0, 0, 22]; // 4 + 14 + 4
    wire.extend_from_slice(b"SCRAM-SHA-256\0");
    wire.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    let m = SaslInitialResponse {
        mechanism: "SCRAM-SHA-256".into(),
        data: None,
    };
    assert_fe_wire(FrontendMessage::SaslInitialResponse(m), &wire);
}

#[test]
fn authentication_sasl_mechanism_list_ends_with_double_nul() {
    let mut wire = vec![b'R', 0, 0, 0, 42, 0, 0, 0, 10];
    wire.extend_from_slice(b"SCRAM-SHA-256-PLUS\0");
    wire.extend_from_slice(b"SCRAM-SHA-256\0");
    wire.push(0); // the empty name that ends the list
    assert_eq!(&wire[wire.len() - 2..], &[0, 0]);
    let m = Authentication::Sasl {
        mechanisms: vec!["SCRAM-SHA-256-PLUS".into(), "SCRAM-SHA-256".into()],
    };
    assert_be_wire(BackendMessage::Authentication(m), &wire);
}

#[test]
fn authentication_md5_password() {
    let wire: &[u8] = &[b'R', 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4];
    let m = Authentication::Md5Password { salt: [1, 2, 3, 4] };
    assert_be_wire(BackendMessage::Authentication(m), wire);
}

#[test]
fn authentication_ok() {
    let wire: &[u8] = &[b'R', 0, 0, 0, 8, 0, 0, 0, 0];
    assert_be_wire(BackendMessage::Authentication(Authentication::Ok), wire);
}

#[test]
fn negotiate_protocol_version() {
    let mut wire = vec![
        b'v', 0, 0, 0, 21, // length: 4 + 4 + 4 + 9
        0, 3, 0, 2, // the version the server speaks: 3.2
        0, 0, 0, 1, // one unrecognized option
    ];
    wire.extend_from_slice(b"_pq_.foo\0");
    let m = NegotiateProtocolVersion {
        version: ProtocolVersion::V3_2,
        unrecognized_options: vec!["_pq_.foo".into()],
    };
    assert_be_wire(BackendMessage::NegotiateProtocolVersion(m), &wire);
}
