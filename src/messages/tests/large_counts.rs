//! Counts are unsigned Int16s (0..=65535), as PostgreSQL reads them: a Bind
//! with 40,000 parameters (an ORM's multi-row INSERT) decodes, from raw
//! bytes, and every count field encodes above 32,767 as an unsigned value.

use bytes::{BufMut, BytesMut};

use super::{be_decode, fe_decode_typed, frame};
use crate::messages::{
    BackendMessage, CopyInResponse, DataRow, FieldDescription, FormatCodes, FrontendMessage,
    FunctionCall, Message, ParameterDescription, Parse, RowDescription, ValueList,
};

const N: u16 = 40_000;

/// Bind of `n` text parameters "1", one format code each, and `n` result
/// format codes, built by hand.
fn raw_bind(n: u16) -> Vec<u8> {
    let mut body = BytesMut::new();
    body.put_slice(b"\0\0");
    body.put_u16(n);
    for _ in 0..n {
        body.put_i16(0);
    }
    body.put_u16(n);
    for _ in 0..n {
        body.put_i32(1);
        body.put_u8(b'1');
    }
    body.put_u16(n);
    for _ in 0..n {
        body.put_i16(1);
    }
    frame(b'B', &body)
}

#[test]
fn bind_with_40000_parameters_decodes() {
    let Ok(Some(FrontendMessage::Bind(b))) = fe_decode_typed(&raw_bind(N)) else {
        panic!("not decoded");
    };
    assert_eq!(b.params.len(), N as usize);
    assert_eq!(b.param_formats.len(), N as usize);
    assert_eq!(b.result_formats.len(), N as usize);
    assert!(b.params.iter().all(|v| v == Some(&b"1"[..])));
    // And encodes back to the same bytes.
    let mut again = BytesMut::new();
    b.encode(&mut again);
    assert_eq!(&again[..], &raw_bind(N)[..]);
}

#[test]
fn bind_with_65535_parameters_decodes() {
    let Ok(Some(FrontendMessage::Bind(b))) = fe_decode_typed(&raw_bind(u16::MAX)) else {
        panic!("not decoded");
    };
    assert_eq!(b.params.len(), 65_535);
}

#[test]
fn count_0xffff_without_data_is_truncation_not_a_negative_count() {
    for (wire, backend) in [
        (frame(b'P', b"\0q\0\xff\xff"), false),
        (frame(b'B', b"\0\0\xff\xff"), false),
        (frame(b'B', b"\0\0\0\0\xff\xff"), false),
        (frame(b'B', b"\0\0\0\0\0\0\xff\xff"), false),
        (frame(b'F', b"\0\0\0\x01\0\0\xff\xff"), false),
        (frame(b'D', b"\xff\xff"), true),
        (frame(b'T', b"\xff\xff"), true),
        (frame(b't', b"\xff\xff"), true),
        (frame(b'G', b"\0\xff\xff"), true),
    ] {
        let err = if backend {
            be_decode(&wire).unwrap_err()
        } else {
            fe_decode_typed(&wire).unwrap_err()
        };
        assert_eq!(err.to_string(), "insufficient data left in message");
        assert_eq!(err.tag(), wire.first().copied());
    }
}

#[test]
fn parse_with_40000_parameter_types() {
    let mut body = b"\0SELECT 1\0".to_vec();
    body.extend_from_slice(&N.to_be_bytes());
    for i in 0..u32::from(N) {
        body.extend_from_slice(&i.to_be_bytes());
    }
    let wire = frame(b'P', &body);
    let Ok(Some(FrontendMessage::Parse(p))) = fe_decode_typed(&wire) else {
        panic!("not decoded");
    };
    assert_eq!(p.param_types.len(), N as usize);
    assert_eq!(p.param_types.last(), Some(&39_999));
    let mut again = BytesMut::new();
    Parse { ..p }.encode(&mut again);
    assert_eq!(&again[..], &wire[..]);
}

#[test]
fn function_call_with_40000_arguments() {
    let m = FunctionCall {
        function_oid: 1,
        arg_formats: FormatCodes::from_codes(&[0; N as usize]),
        args: ValueList::from_values(std::iter::repeat_n(Some(b"x"), N as usize)),
        result_format: 0,
    };
    let mut wire = BytesMut::new();
    m.encode(&mut wire);
    // Function OID, then the format count as an unsigned Int16.
    assert_eq!(&wire[9..11], &N.to_be_bytes());
    assert_eq!(
        fe_decode_typed(&wire),
        Ok(Some(FrontendMessage::FunctionCall(m)))
    );
}

#[test]
fn backend_counts_above_i16_max() {
    let field = FieldDescription {
        name: "c".into(),
        table_oid: 0,
        column_id: 0,
        type_oid: 23,
        type_size: 4,
        type_modifier: -1,
        format: 0,
    };
    let messages = [
        BackendMessage::RowDescription(RowDescription {
            fields: vec![field; N as usize],
        }),
        BackendMessage::DataRow(DataRow::new(std::iter::repeat_n(None::<&[u8]>, N as usize))),
        BackendMessage::ParameterDescription(ParameterDescription {
            types: vec![25; N as usize],
        }),
        BackendMessage::CopyInResponse(CopyInResponse {
            format: 1,
            column_formats: FormatCodes::from_codes(&[1; N as usize]),
        }),
    ];
    for m in messages {
        let mut wire = BytesMut::new();
        m.encode(&mut wire);
        let count_at = if m.type_byte() == Some(b'G') { 6 } else { 5 };
        assert_eq!(
            &wire[count_at..count_at + 2],
            &N.to_be_bytes(),
            "{}",
            m.name()
        );
        assert_eq!(be_decode(&wire), Ok(Some(m)));
    }
}
