//! The encoders the server writes its frames with: constant frames for the
//! bodiless messages and ReadyForQuery, and the borrowed-data encoders of
//! CommandComplete, RowDescription and ErrorResponse/NoticeResponse, each
//! checked byte for byte against the owned message's encoding. Also
//! `type_byte()` against the first encoded byte.

use bytes::BytesMut;

use super::{be_bytes, fe_bytes};
use crate::messages::{
    BackendMessage, BindComplete, ByteStr, CancelRequest, CloseComplete, CommandComplete,
    EmptyQueryResponse, ErrorFields, ErrorResponse, FieldDescription, FieldDescriptionRef, Flush,
    FrontendMessage, GssEncRequest, Message, NoData, NoticeResponse, ParseComplete,
    PortalSuspended, Query, ReadyForQuery, RowDescription, SslRequest, StartupMessage, Sync,
    Terminate, TransactionStatus,
};

fn encoded(m: &impl Message) -> BytesMut {
    let mut b = BytesMut::new();
    m.encode(&mut b);
    b
}

#[test]
fn bodiless_frames_are_constants() {
    assert_eq!(&encoded(&ParseComplete)[..], b"1\0\0\0\x04");
    assert_eq!(&encoded(&BindComplete)[..], b"2\0\0\0\x04");
    assert_eq!(&encoded(&CloseComplete)[..], b"3\0\0\0\x04");
    assert_eq!(&encoded(&NoData)[..], b"n\0\0\0\x04");
    assert_eq!(&encoded(&PortalSuspended)[..], b"s\0\0\0\x04");
    assert_eq!(&encoded(&EmptyQueryResponse)[..], b"I\0\0\0\x04");
    assert_eq!(&encoded(&Sync)[..], b"S\0\0\0\x04");
    assert_eq!(&encoded(&Flush)[..], b"H\0\0\0\x04");
    assert_eq!(&encoded(&Terminate)[..], b"X\0\0\0\x04");
    assert_eq!(ParseComplete::FRAME, *b"1\0\0\0\x04");
}

#[test]
fn ready_for_query_frames() {
    for (status, byte) in [
        (TransactionStatus::Idle, b'I'),
        (TransactionStatus::InTransaction, b'T'),
        (TransactionStatus::Failed, b'E'),
    ] {
        let expected = [b'Z', 0, 0, 0, 5, byte];
        assert_eq!(ReadyForQuery::frame(status), expected);
        assert_eq!(&encoded(&ReadyForQuery::new(status))[..], &expected[..]);
    }
}

#[test]
fn command_complete_from_parts() {
    let cases: [(&str, Option<u32>, Option<u64>, &str); 6] = [
        ("INSERT", Some(0), Some(5), "INSERT 0 5"),
        ("SELECT", None, Some(3), "SELECT 3"),
        ("SELECT", None, Some(0), "SELECT 0"),
        ("CREATE TABLE", None, None, "CREATE TABLE"),
        ("INSERT", Some(u32::MAX), Some(10), "INSERT 4294967295 10"),
        (
            "UPDATE",
            None,
            Some(u64::MAX),
            "UPDATE 18446744073709551615",
        ),
    ];
    for (command, oid, rows, tag) in cases {
        let mut buf = BytesMut::from(&b"prefix"[..]);
        CommandComplete::encode_parts(&mut buf, command, oid, rows);
        let mut expected = BytesMut::from(&b"prefix"[..]);
        CommandComplete::new(tag).encode(&mut expected);
        assert_eq!(buf, expected, "{tag}");
    }
}

#[test]
fn command_complete_with_long_commands() {
    // Short tags are assembled on the stack, longer ones written in place:
    // both must give the same frame, at and around the boundary.
    for len in [0usize, 1, 40, 49, 50, 51, 60, 89, 90, 91, 95, 96, 200, 5000] {
        let command = "X".repeat(len);
        for (oid, rows) in [(None, None), (Some(0), Some(7)), (None, Some(u64::MAX))] {
            let mut buf = BytesMut::from(&b"prefix"[..]);
            CommandComplete::encode_parts(&mut buf, &command, oid, rows);
            let mut tag = command.clone();
            if let Some(oid) = oid {
                tag.push_str(&format!(" {oid}"));
            }
            if let Some(rows) = rows {
                tag.push_str(&format!(" {rows}"));
            }
            let mut expected = BytesMut::from(&b"prefix"[..]);
            CommandComplete::new(tag).encode(&mut expected);
            assert_eq!(buf, expected, "{len} {oid:?} {rows:?}");
        }
    }
}

#[test]
fn command_complete_row_counts_in_decimal() {
    let mut rows: Vec<u64> = (0..1100).collect();
    rows.extend((1..20).map(|e| 10u64.pow(e)));
    rows.extend((1..20).map(|e| 10u64.pow(e) - 1));
    rows.push(u64::MAX);
    // SELECT has a path of its own.
    for command in ["DELETE", "SELECT"] {
        for &n in &rows {
            let mut buf = BytesMut::from(&b"prefix"[..]);
            CommandComplete::encode_parts(&mut buf, command, None, Some(n));
            let mut expected = BytesMut::from(&b"prefix"[..]);
            CommandComplete::new(format!("{command} {n}")).encode(&mut expected);
            assert_eq!(buf, expected, "{command} {n}");
        }
    }
}

#[test]
fn row_description_from_borrowed_fields() {
    let owned = RowDescription {
        fields: vec![
            FieldDescription {
                name: "id".into(),
                table_oid: 16384,
                column_id: 1,
                type_oid: 23,
                type_size: 4,
                type_modifier: -1,
                format: 1,
            },
            FieldDescription {
                name: "name with ünïcode".into(),
                table_oid: 0,
                column_id: 0,
                type_oid: 25,
                type_size: -1,
                type_modifier: -1,
                format: 0,
            },
        ],
    };
    let mut borrowed = BytesMut::new();
    RowDescription::encode_fields(&mut borrowed, owned.fields.iter().map(|f| f.to_ref()));
    assert_eq!(borrowed, encoded(&owned));
    // Any iterator will do (the count is patched in afterwards).
    let mut filtered = BytesMut::new();
    RowDescription::encode_fields(
        &mut filtered,
        owned
            .fields
            .iter()
            .map(|f| f.to_ref())
            .filter(|f| f.type_oid == 25),
    );
    let expected = RowDescription {
        fields: vec![owned.fields[1].clone()],
    };
    assert_eq!(filtered, encoded(&expected));
    let empty = FieldDescriptionRef {
        name: "",
        table_oid: 0,
        column_id: 0,
        type_oid: 0,
        type_size: 0,
        type_modifier: 0,
        format: 0,
    };
    let mut one = BytesMut::new();
    RowDescription::encode_fields(&mut one, [empty]);
    assert_eq!(&one[..7], b"T\0\0\0\x19\0\x01");
}

#[test]
fn error_and_notice_from_borrowed_fields() {
    let fields = [
        (b'S', "ERROR"),
        (b'V', "ERROR"),
        (b'C', "08P01"),
        (b'M', "invalid message format"),
    ];
    let owned = ErrorFields {
        fields: fields
            .iter()
            .map(|(c, v)| (*c, ByteStr::from(*v)))
            .collect(),
    };
    let mut buf = BytesMut::new();
    ErrorResponse::encode_fields(&mut buf, fields);
    assert_eq!(buf, encoded(&ErrorResponse(owned.clone())));
    let mut buf = BytesMut::new();
    NoticeResponse::encode_fields(&mut buf, fields);
    assert_eq!(buf, encoded(&NoticeResponse(owned)));
}

#[test]
fn borrowed_error_fields_cannot_cut_the_message_short() {
    let mut buf = BytesMut::new();
    ErrorResponse::encode_fields(&mut buf, [(b'M', "a\0b"), (0, "dropped"), (b'C', "XX000")]);
    assert_eq!(&buf[..], b"E\0\0\0\x10Mab\0CXX000\0\0");
}

#[test]
fn type_byte_is_the_first_encoded_byte() {
    let frontend = [
        FrontendMessage::Query(Query::new("SELECT 1")),
        FrontendMessage::Sync(Sync),
        FrontendMessage::Terminate(Terminate),
        FrontendMessage::Flush(Flush),
    ];
    for m in frontend {
        assert_eq!(m.type_byte(), fe_bytes(&m).first().copied(), "{}", m.name());
    }
    let startup = [
        FrontendMessage::Startup(StartupMessage::new([("user", "u")])),
        FrontendMessage::SslRequest(SslRequest),
        FrontendMessage::GssEncRequest(GssEncRequest),
        FrontendMessage::CancelRequest(CancelRequest {
            process_id: 1,
            secret_key: bytes::Bytes::from_static(&[0; 4]),
        }),
    ];
    for m in startup {
        assert_eq!(m.type_byte(), None, "{}", m.name());
    }
    let backend = [
        BackendMessage::ReadyForQuery(ReadyForQuery::new(TransactionStatus::Idle)),
        BackendMessage::CommandComplete(CommandComplete::new("SELECT 1")),
        BackendMessage::NoData(NoData),
        BackendMessage::ErrorResponse(ErrorResponse::default()),
    ];
    for m in backend {
        assert_eq!(m.type_byte(), be_bytes(&m).first().copied(), "{}", m.name());
    }
}

#[test]
fn error_fields_written_one_by_one() {
    let mut buf = BytesMut::new();
    ErrorResponse::encode_with(&mut buf, |w| {
        w.field(b'S', "ERROR").field(b'C', "42601");
        w.field(b'M', "syntax error").field_u32(b'P', 4_294_967_295);
        w.field(0, "skipped").field_u32(0, 1);
    });
    let owned = ErrorFields {
        fields: vec![
            (b'S', "ERROR".into()),
            (b'C', "42601".into()),
            (b'M', "syntax error".into()),
            (b'P', "4294967295".into()),
        ],
    };
    assert_eq!(buf, encoded(&ErrorResponse(owned.clone())));
    let mut notice = BytesMut::new();
    NoticeResponse::encode_with(&mut notice, |w| {
        for (code, value) in &owned.fields {
            w.field(*code, value);
        }
    });
    assert_eq!(notice, encoded(&NoticeResponse(owned)));
}
