//! encode -> decode -> equal, for every message type and variant.

use bytes::Bytes;

use super::{be_roundtrip, fe_roundtrip};
use crate::messages::{
    Authentication, BackendKeyData, BackendMessage, Bind, BindComplete, ByteStr, CancelRequest,
    Close, CloseComplete, CommandComplete, CopyBothResponse, CopyData, CopyDone, CopyFail,
    CopyInResponse, CopyOutResponse, DataRow, DecodeError, Describe, EmptyQueryResponse,
    ErrorFields, ErrorResponse, Execute, FieldDescription, Flush, FormatCodes, FrontendMessage,
    FunctionCall, FunctionCallResponse, GssEncRequest, GssResponse, MAX_CANCEL_KEY_LEN,
    NegotiateProtocolVersion, NoData, NoticeResponse, NotificationResponse, ParameterDescription,
    ParameterStatus, Parse, ParseComplete, PasswordMessage, PortalSuspended, ProtocolVersion,
    Query, ReadyForQuery, RowDescription, SaslInitialResponse, SaslResponse, SslRequest,
    StartupMessage, Sync, TargetKind, Terminate, TransactionStatus, ValueList,
};

fn key(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i * 7 + 3) as u8)
        .collect::<Vec<u8>>()
        .into()
}

// ---- frontend, startup phase ----

#[test]
fn startup_message_3_0() {
    let m = StartupMessage::new([
        ("user", "alice"),
        ("database", "shop"),
        ("application_name", "psql"),
        ("client_encoding", "UTF8"),
        ("options", "-c search_path=app"),
    ]);
    assert_eq!(m.version, ProtocolVersion::V3_0);
    fe_roundtrip(FrontendMessage::Startup(m));
}

#[test]
fn startup_message_3_2() {
    let m = StartupMessage {
        version: ProtocolVersion::V3_2,
        parameters: vec![
            ("user".into(), "bob".into()),
            ("database".into(), "".into()),
            ("_pq_.some_option".into(), "on".into()),
            ("application_name".into(), "žluťoučký kůň".into()),
        ],
    };
    let wire = fe_roundtrip(FrontendMessage::Startup(m));
    assert_eq!(&wire[4..8], &196_610u32.to_be_bytes());
}

#[test]
fn startup_message_without_parameters() {
    fe_roundtrip(FrontendMessage::Startup(StartupMessage::new(Vec::<(
        &'static str,
        &'static str,
    )>::new())));
}

#[test]
fn ssl_request() {
    let wire = fe_roundtrip(FrontendMessage::SslRequest(SslRequest));
    assert_eq!(&wire[..], &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
}

#[test]
fn gssenc_request() {
    let wire = fe_roundtrip(FrontendMessage::GssEncRequest(GssEncRequest));
    assert_eq!(&wire[..], &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]);
}

#[test]
fn cancel_request_3_0_four_byte_key() {
    let wire = fe_roundtrip(FrontendMessage::CancelRequest(CancelRequest {
        process_id: 4242,
        secret_key: key(4),
    }));
    assert_eq!(wire.len(), 16);
}

#[test]
fn cancel_request_3_2_thirty_two_byte_key() {
    let wire = fe_roundtrip(FrontendMessage::CancelRequest(CancelRequest {
        process_id: -7,
        secret_key: key(32),
    }));
    assert_eq!(wire.len(), 44);
}

#[test]
fn cancel_request_longest_key() {
    let wire = fe_roundtrip(FrontendMessage::CancelRequest(CancelRequest {
        process_id: i32::MAX,
        secret_key: key(MAX_CANCEL_KEY_LEN),
    }));
    assert_eq!(wire.len(), 12 + 256);
}

#[test]
fn cancel_request_key_too_short_or_too_long_is_rejected() {
    for len in [0, 3, MAX_CANCEL_KEY_LEN + 1] {
        let m = FrontendMessage::CancelRequest(CancelRequest {
            process_id: 1,
            secret_key: key(len),
        });
        let mut wire = super::fe_bytes(&m);
        let err = crate::messages::FrontendDecoder::new()
            .decode(&mut wire)
            .unwrap_err();
        assert_eq!(
            err,
            DecodeError::InvalidValue {
                tag: None,
                message: "CancelRequest",
                what: "cancel key length",
                value: len as i64,
            }
        );
        assert!(wire.is_empty(), "the packet is consumed");
    }
}

// ---- frontend, authentication responses ----

#[test]
fn password_message() {
    fe_roundtrip(FrontendMessage::Password(PasswordMessage {
        password: "md5a3556571e93b0d20722ba62be61e8c2d".into(),
    }));
    fe_roundtrip(FrontendMessage::Password(PasswordMessage {
        password: "".into(),
    }));
}

#[test]
fn sasl_initial_response_with_data() {
    fe_roundtrip(FrontendMessage::SaslInitialResponse(SaslInitialResponse {
        mechanism: "SCRAM-SHA-256".into(),
        data: Some(Bytes::from_static(b"n,,n=,r=rOprNGfwEbeRWgbNEkqO")),
    }));
}

#[test]
fn sasl_initial_response_with_empty_data() {
    fe_roundtrip(FrontendMessage::SaslInitialResponse(SaslInitialResponse {
        mechanism: "SCRAM-SHA-256-PLUS".into(),
        data: Some(Bytes::new()),
    }));
}

#[test]
fn sasl_initial_response_without_data() {
    let wire = fe_roundtrip(FrontendMessage::SaslInitialResponse(SaslInitialResponse {
        mechanism: "OAUTHBEARER".into(),
        data: None,
    }));
    assert_eq!(&wire[wire.len() - 4..], &(-1i32).to_be_bytes());
}

#[test]
fn sasl_response() {
    fe_roundtrip(FrontendMessage::SaslResponse(SaslResponse {
        data: Bytes::from_static(b"c=biws,r=abc,p=xyz\0\xff"),
    }));
    fe_roundtrip(FrontendMessage::SaslResponse(SaslResponse {
        data: Bytes::new(),
    }));
}

#[test]
fn gss_response() {
    fe_roundtrip(FrontendMessage::GssResponse(GssResponse {
        data: Bytes::from_static(&[0x60, 0x82, 0x00, 0x00, 0xff]),
    }));
}

// ---- frontend, typed ----

#[test]
fn query() {
    fe_roundtrip(FrontendMessage::Query(Query::new("SELECT 1; SELECT 'é'")));
    fe_roundtrip(FrontendMessage::Query(Query::new("")));
}

#[test]
fn parse() {
    fe_roundtrip(FrontendMessage::Parse(Parse {
        name: "stmt_1".into(),
        query: "SELECT $1::int4 + $2".into(),
        param_types: vec![23, 0],
    }));
    fe_roundtrip(FrontendMessage::Parse(Parse {
        name: "".into(),
        query: "BEGIN".into(),
        param_types: vec![],
    }));
}

#[test]
fn bind() {
    fe_roundtrip(FrontendMessage::Bind(Bind {
        portal: "p1".into(),
        statement: "s1".into(),
        param_formats: FormatCodes::from_codes(&[0, 1, 1]),
        params: ValueList::from_values([Some(&b"42"[..]), None, Some(&[0, 0, 0, 7][..])]),
        result_formats: FormatCodes::from_codes(&[1]),
    }));
    fe_roundtrip(FrontendMessage::Bind(Bind {
        portal: "".into(),
        statement: "".into(),
        param_formats: FormatCodes::new(),
        params: ValueList::new(),
        result_formats: FormatCodes::new(),
    }));
}

#[test]
fn describe_statement_and_portal() {
    let s = fe_roundtrip(FrontendMessage::Describe(Describe {
        kind: TargetKind::Statement,
        name: "s1".into(),
    }));
    assert_eq!(s[5], b'S');
    let p = fe_roundtrip(FrontendMessage::Describe(Describe {
        kind: TargetKind::Portal,
        name: "".into(),
    }));
    assert_eq!(p[5], b'P');
}

#[test]
fn execute() {
    fe_roundtrip(FrontendMessage::Execute(Execute {
        portal: "".into(),
        max_rows: 0,
    }));
    fe_roundtrip(FrontendMessage::Execute(Execute {
        portal: "cursor".into(),
        max_rows: 100,
    }));
}

#[test]
fn close_statement_and_portal() {
    let s = fe_roundtrip(FrontendMessage::Close(Close {
        kind: TargetKind::Statement,
        name: "s1".into(),
    }));
    assert_eq!(s[5], b'S');
    let p = fe_roundtrip(FrontendMessage::Close(Close {
        kind: TargetKind::Portal,
        name: "p1".into(),
    }));
    assert_eq!(p[5], b'P');
}

#[test]
fn sync_flush_copydone_terminate() {
    assert_eq!(
        &fe_roundtrip(FrontendMessage::Sync(Sync))[..],
        b"S\0\0\0\x04"
    );
    assert_eq!(
        &fe_roundtrip(FrontendMessage::Flush(Flush))[..],
        b"H\0\0\0\x04"
    );
    assert_eq!(
        &fe_roundtrip(FrontendMessage::CopyDone(CopyDone))[..],
        b"c\0\0\0\x04"
    );
    assert_eq!(
        &fe_roundtrip(FrontendMessage::Terminate(Terminate))[..],
        b"X\0\0\0\x04"
    );
}

#[test]
fn copy_data_frontend() {
    fe_roundtrip(FrontendMessage::CopyData(CopyData {
        data: Bytes::from_static(b"1\tone\n2\t\\N\n"),
    }));
    fe_roundtrip(FrontendMessage::CopyData(CopyData { data: Bytes::new() }));
}

#[test]
fn copy_fail() {
    fe_roundtrip(FrontendMessage::CopyFail(CopyFail {
        message: "aborted by user".into(),
    }));
}

#[test]
fn function_call() {
    fe_roundtrip(FrontendMessage::FunctionCall(FunctionCall {
        function_oid: 1598,
        arg_formats: FormatCodes::from_codes(&[1]),
        args: ValueList::from_values([Some(&[0u8, 0, 0, 1][..]), None]),
        result_format: 1,
    }));
    fe_roundtrip(FrontendMessage::FunctionCall(FunctionCall {
        function_oid: 0,
        arg_formats: FormatCodes::new(),
        args: ValueList::new(),
        result_format: 0,
    }));
}

// ---- backend ----

#[test]
fn authentication_every_variant() {
    let cases = [
        (Authentication::Ok, 0),
        (Authentication::KerberosV5, 2),
        (Authentication::CleartextPassword, 3),
        (
            Authentication::Md5Password {
                salt: [0xde, 0xad, 0xbe, 0xef],
            },
            5,
        ),
        (Authentication::Gss, 7),
        (
            Authentication::GssContinue(Bytes::from_static(b"\x01\x02gss")),
            8,
        ),
        (Authentication::Sspi, 9),
        (
            Authentication::Sasl {
                mechanisms: vec!["SCRAM-SHA-256-PLUS".into(), "SCRAM-SHA-256".into()],
            },
            10,
        ),
        (
            Authentication::SaslContinue(Bytes::from_static(b"r=abc,s=c2FsdA==,i=4096")),
            11,
        ),
        (
            Authentication::SaslFinal(Bytes::from_static(b"v=c2lnbmF0dXJl")),
            12,
        ),
    ];
    for (auth, code) in cases {
        let wire = be_roundtrip(BackendMessage::Authentication(auth));
        assert_eq!(wire[0], b'R');
        assert_eq!(&wire[5..9], &i32::to_be_bytes(code));
    }
}

#[test]
fn authentication_with_empty_payloads() {
    be_roundtrip(BackendMessage::Authentication(Authentication::GssContinue(
        Bytes::new(),
    )));
    be_roundtrip(BackendMessage::Authentication(
        Authentication::SaslContinue(Bytes::new()),
    ));
    be_roundtrip(BackendMessage::Authentication(Authentication::Sasl {
        mechanisms: vec![],
    }));
}

#[test]
fn backend_key_data_3_0_and_3_2() {
    let w = be_roundtrip(BackendMessage::BackendKeyData(BackendKeyData {
        process_id: 31337,
        secret_key: key(4),
    }));
    assert_eq!(w.len(), 13);
    let w = be_roundtrip(BackendMessage::BackendKeyData(BackendKeyData {
        process_id: 31337,
        secret_key: key(32),
    }));
    assert_eq!(w.len(), 41);
    be_roundtrip(BackendMessage::BackendKeyData(BackendKeyData {
        process_id: 1,
        secret_key: key(MAX_CANCEL_KEY_LEN),
    }));
}

#[test]
fn backend_key_data_bad_key_length_is_rejected() {
    for len in [3, MAX_CANCEL_KEY_LEN + 1] {
        let mut wire = super::be_bytes(&BackendMessage::BackendKeyData(BackendKeyData {
            process_id: 1,
            secret_key: key(len),
        }));
        let err = crate::messages::BackendDecoder::new()
            .decode(&mut wire)
            .unwrap_err();
        assert!(
            matches!(err, DecodeError::InvalidValue { tag: Some(b'K'), message: "BackendKeyData", value, .. } if value == len as i64),
            "{err:?}"
        );
    }
}

#[test]
fn empty_backend_messages() {
    for (m, tag) in [
        (BackendMessage::BindComplete(BindComplete), b'2'),
        (BackendMessage::CloseComplete(CloseComplete), b'3'),
        (BackendMessage::EmptyQueryResponse(EmptyQueryResponse), b'I'),
        (BackendMessage::NoData(NoData), b'n'),
        (BackendMessage::ParseComplete(ParseComplete), b'1'),
        (BackendMessage::PortalSuspended(PortalSuspended), b's'),
        (BackendMessage::CopyDone(CopyDone), b'c'),
    ] {
        let wire = be_roundtrip(m);
        assert_eq!(&wire[..], &[tag, 0, 0, 0, 4]);
    }
}

#[test]
fn command_complete() {
    for tag in ["SELECT 5", "INSERT 0 1", "CREATE TABLE", ""] {
        be_roundtrip(BackendMessage::CommandComplete(CommandComplete::new(tag)));
    }
}

#[test]
fn copy_responses() {
    be_roundtrip(BackendMessage::CopyInResponse(CopyInResponse {
        format: 0,
        column_formats: FormatCodes::from_codes(&[0, 0, 0]),
    }));
    be_roundtrip(BackendMessage::CopyOutResponse(CopyOutResponse {
        format: 1,
        column_formats: FormatCodes::from_codes(&[1, 1]),
    }));
    be_roundtrip(BackendMessage::CopyBothResponse(CopyBothResponse {
        format: 0,
        column_formats: FormatCodes::new(),
    }));
}

#[test]
fn copy_data_backend() {
    be_roundtrip(BackendMessage::CopyData(CopyData {
        data: Bytes::from_static(b"w\0\0\0\0\0\0\0\x01"),
    }));
}

#[test]
fn data_row() {
    be_roundtrip(BackendMessage::DataRow(DataRow::new([
        Some(&b"1"[..]),
        None,
        Some(&b""[..]),
        Some(&[0xff, 0x00][..]),
    ])));
    be_roundtrip(BackendMessage::DataRow(DataRow::default()));
}

fn error_fields() -> ErrorFields {
    [
        (b'S', "ERROR"),
        (b'V', "ERROR"),
        (b'C', "42P01"),
        (b'M', "relation \"nope\" does not exist"),
        (b'P', "15"),
        (b'F', "parse_relation.c"),
        (b'L', "1449"),
        (b'R', "parserOpenTable"),
    ]
    .into_iter()
    .map(|(c, v)| (c, ByteStr::from(v)))
    .collect()
}

#[test]
fn error_response() {
    let fields = error_fields();
    assert_eq!(fields.code(), Some("42P01"));
    assert_eq!(fields.severity(), Some("ERROR"));
    assert_eq!(fields.message(), Some("relation \"nope\" does not exist"));
    be_roundtrip(BackendMessage::ErrorResponse(ErrorResponse(fields)));
    be_roundtrip(BackendMessage::ErrorResponse(ErrorResponse::default()));
}

#[test]
fn notice_response() {
    let fields: ErrorFields = [
        (b'S', "NOTICE"),
        (b'C', "00000"),
        (b'M', "table \"t\" does not exist, skipping"),
    ]
    .into_iter()
    .map(|(c, v)| (c, ByteStr::from(v)))
    .collect();
    // Without V, severity() falls back to S.
    assert_eq!(fields.severity(), Some("NOTICE"));
    be_roundtrip(BackendMessage::NoticeResponse(NoticeResponse(fields)));
}

#[test]
fn function_call_response() {
    be_roundtrip(BackendMessage::FunctionCallResponse(FunctionCallResponse {
        value: Some(Bytes::from_static(&[0, 0, 0, 42])),
    }));
    be_roundtrip(BackendMessage::FunctionCallResponse(FunctionCallResponse {
        value: Some(Bytes::new()),
    }));
    let null = be_roundtrip(BackendMessage::FunctionCallResponse(FunctionCallResponse {
        value: None,
    }));
    assert_eq!(&null[..], &[b'V', 0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff]);
}

#[test]
fn negotiate_protocol_version() {
    be_roundtrip(BackendMessage::NegotiateProtocolVersion(
        NegotiateProtocolVersion {
            version: ProtocolVersion::V3_2,
            unrecognized_options: vec!["_pq_.compression".into(), "_pq_.x".into()],
        },
    ));
    be_roundtrip(BackendMessage::NegotiateProtocolVersion(
        NegotiateProtocolVersion {
            version: ProtocolVersion::V3_0,
            unrecognized_options: vec![],
        },
    ));
}

#[test]
fn notification_response() {
    be_roundtrip(BackendMessage::NotificationResponse(NotificationResponse {
        process_id: 1234,
        channel: "jobs".into(),
        payload: "{\"id\": 7}".into(),
    }));
    be_roundtrip(BackendMessage::NotificationResponse(NotificationResponse {
        process_id: 1,
        channel: "c".into(),
        payload: "".into(),
    }));
}

#[test]
fn parameter_description() {
    be_roundtrip(BackendMessage::ParameterDescription(ParameterDescription {
        types: vec![23, 25, 0, u32::MAX],
    }));
    be_roundtrip(BackendMessage::ParameterDescription(
        ParameterDescription::default(),
    ));
}

#[test]
fn parameter_status() {
    be_roundtrip(BackendMessage::ParameterStatus(ParameterStatus::new(
        "server_version",
        "17.0",
    )));
    be_roundtrip(BackendMessage::ParameterStatus(ParameterStatus::new(
        "application_name",
        "",
    )));
}

#[test]
fn ready_for_query_every_status() {
    for (status, byte) in [
        (TransactionStatus::Idle, b'I'),
        (TransactionStatus::InTransaction, b'T'),
        (TransactionStatus::Failed, b'E'),
    ] {
        let wire = be_roundtrip(BackendMessage::ReadyForQuery(ReadyForQuery { status }));
        assert_eq!(&wire[..], &[b'Z', 0, 0, 0, 5, byte]);
        assert_eq!(TransactionStatus::from_byte(byte), Some(status));
    }
    assert_eq!(TransactionStatus::from_byte(b'X'), None);
}

#[test]
fn row_description() {
    be_roundtrip(BackendMessage::RowDescription(RowDescription {
        fields: vec![
            FieldDescription {
                name: "id".into(),
                table_oid: 16384,
                column_id: 1,
                type_oid: 23,
                type_size: 4,
                type_modifier: -1,
                format: 0,
            },
            FieldDescription {
                name: "".into(),
                table_oid: 0,
                column_id: 0,
                type_oid: 1043,
                type_size: -1,
                type_modifier: 68,
                format: 1,
            },
        ],
    }));
    be_roundtrip(BackendMessage::RowDescription(RowDescription::default()));
}

#[test]
fn names_match_the_documentation() {
    assert_eq!(FrontendMessage::SslRequest(SslRequest).name(), "SSLRequest");
    assert_eq!(
        FrontendMessage::SaslInitialResponse(SaslInitialResponse {
            mechanism: "x".into(),
            data: None
        })
        .name(),
        "SASLInitialResponse"
    );
    assert_eq!(BackendMessage::NoData(NoData).name(), "NoData");
    assert_eq!(
        BackendMessage::Authentication(Authentication::Ok).name(),
        "Authentication"
    );
}
