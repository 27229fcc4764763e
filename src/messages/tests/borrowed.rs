//! The in-place decoding of the hot messages (a body borrowed from the
//! input buffer) must read exactly what the owned decoding reads, and leave
//! everything it cannot read (long strings, parameter values, malformed
//! bodies) to the owned decoding.

use bytes::{Bytes, BytesMut};

use crate::messages::reader::Reader;
use crate::messages::{
    Bind, Close, Describe, Execute, FormatCodes, FrontendDecoder, FrontendMessage, Message, Query,
    TargetKind, ValueList,
};

fn binds() -> Vec<Bind> {
    let long = "a_statement_name_longer_than_the_inline_limit";
    vec![
        Bind {
            portal: "".into(),
            statement: "s1".into(),
            param_formats: FormatCodes::new(),
            params: ValueList::new(),
            result_formats: FormatCodes::from([1]),
        },
        Bind {
            portal: "p".into(),
            statement: long.into(),
            param_formats: FormatCodes::from([0, 1, 1]),
            params: ValueList::from_values([Some(&b"42"[..]), None, Some(&[0, 0, 0, 7][..])]),
            result_formats: FormatCodes::from([0; 12]),
        },
    ]
}

#[test]
fn borrowed_reads_what_owned_reads_or_declines() {
    for b in binds() {
        let mut body = BytesMut::new();
        b.encode_body(&mut body);
        let owned = Bind::decode_body(body.clone().freeze()).unwrap();
        assert_eq!(owned, b);
        match Bind::read_borrowed(&body) {
            Some(borrowed) => assert_eq!(borrowed, b),
            // Declined only when something must be shared with the input.
            None => assert!(!b.params.is_empty() || b.statement.len() > 22),
        }
    }
    let e = Execute {
        portal: "".into(),
        max_rows: 10,
    };
    let mut body = BytesMut::new();
    e.encode_body(&mut body);
    assert_eq!(Execute::read_borrowed(&body), Some(e));
}

#[test]
fn malformed_bodies_are_declined_and_reported_by_the_owned_decoding() {
    // A Bind cut short, an Execute with trailing bytes, a Describe of kind
    // 'X', a Query with an embedded NUL.
    let cases: Vec<(u8, Vec<u8>)> = vec![
        (b'B', b"\0s1\0\0".to_vec()),
        (b'E', b"\0\0\0\0\x01\xff".to_vec()),
        (b'D', b"Xname\0".to_vec()),
        (b'Q', b"select 1\0;\0".to_vec()),
    ];
    for (tag, body) in cases {
        assert!(Bind::read_borrowed(&body).is_none() || tag != b'B');
        assert!(Execute::read_borrowed(&body).is_none() || tag != b'E');
        let owned_err = match tag {
            b'B' => Bind::decode_body(Bytes::from(body.clone())).err(),
            b'E' => Execute::decode_body(Bytes::from(body.clone())).err(),
            b'D' => Describe::decode_body(Bytes::from(body.clone())).err(),
            _ => Query::decode_body(Bytes::from(body.clone())).err(),
        }
        .expect("malformed");
        let mut frame = BytesMut::new();
        frame.extend_from_slice(&[tag]);
        frame.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        frame.extend_from_slice(&body);
        let mut decoder = FrontendDecoder::new_typed();
        assert_eq!(decoder.decode(&mut frame).unwrap_err(), owned_err);
        assert!(frame.is_empty(), "the bad frame is consumed whole");
    }
}

#[test]
fn the_decoder_reads_hot_messages_in_place_and_others_owned() {
    let messages = vec![
        FrontendMessage::Describe(Describe {
            kind: TargetKind::Portal,
            name: "".into(),
        }),
        FrontendMessage::Close(Close {
            kind: TargetKind::Statement,
            name: "a_statement_name_longer_than_the_inline_limit".into(),
        }),
        FrontendMessage::Query(Query {
            query: "select * from a_table_with_a_long_name where x = 1".into(),
        }),
        FrontendMessage::Query(Query {
            query: "select 1".into(),
        }),
    ]
    .into_iter()
    .chain(binds().into_iter().map(FrontendMessage::Bind))
    .collect::<Vec<_>>();
    let mut buf = BytesMut::new();
    for m in &messages {
        m.encode(&mut buf);
    }
    let mut decoder = FrontendDecoder::new_typed();
    for m in &messages {
        assert_eq!(decoder.decode(&mut buf).unwrap().as_ref(), Some(m));
    }
    assert!(buf.is_empty());
    // The borrowed reader refuses to share.
    let mut r = Reader::borrowed::<Query>(b"abc");
    assert!(r.take(2).is_err());
}
