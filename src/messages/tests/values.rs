//! FormatCodes, ValueList and ByteStr.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};

use super::{fe_bytes, frame};
use crate::messages::{
    Bind, ByteStr, DataRow, FormatCodes, FrontendDecoder, FrontendMessage, ValueList,
};

#[test]
fn format_for_no_codes_means_all_text() {
    let f = FormatCodes::new();
    assert!(f.is_empty());
    for i in 0..3 {
        assert_eq!(f.format_for(i, 3), Some(0));
    }
    assert_eq!(f.format_for(3, 3), None, "index out of range");
    assert_eq!(f.format_for(0, 0), None);
}

#[test]
fn format_for_one_code_applies_to_all() {
    let f = FormatCodes::from_codes(&[1]);
    for i in 0..5 {
        assert_eq!(f.format_for(i, 5), Some(1));
    }
    assert_eq!(f.format_for(5, 5), None);
    // One code and one column: the same thing.
    assert_eq!(f.format_for(0, 1), Some(1));
}

#[test]
fn format_for_one_code_per_column() {
    let f = FormatCodes::from([0, 1, 1, 0]);
    let got: Vec<_> = (0..4).map(|i| f.format_for(i, 4)).collect();
    assert_eq!(got, [Some(0), Some(1), Some(1), Some(0)]);
    assert_eq!(f.format_for(4, 4), None);
}

#[test]
fn format_for_other_counts_is_none() {
    let f = FormatCodes::from_codes(&[0, 1]);
    for i in 0..3 {
        assert_eq!(f.format_for(i, 3), None, "2 codes for 3 columns");
    }
    assert_eq!(f.format_for(0, 1), None, "2 codes for 1 column");
}

#[test]
fn format_codes_accessors() {
    let f = FormatCodes::from(&[1i16, -3, 7][..]);
    assert_eq!(f.len(), 3);
    assert_eq!(f.get(0), Some(1));
    assert_eq!(f.get(1), Some(-3));
    assert_eq!(f.get(2), Some(7));
    assert_eq!(f.get(3), None);
    assert_eq!(f.get(usize::MAX), None);
    assert_eq!(f.iter().collect::<Vec<_>>(), [1, -3, 7]);
    assert_eq!(f.iter().len(), 3);
    assert_eq!(format!("{f:?}"), "[1, -3, 7]");
    assert_eq!(f, FormatCodes::from([1, -3, 7]));
    assert_ne!(f, FormatCodes::from([1, -3]));
}

#[test]
fn decoded_format_codes() {
    // Bind with param formats [0, 1], no params, result formats [1].
    let wire = frame(b'B', b"\0\0\0\x02\0\0\0\x01\0\0\0\x01\0\x01");
    let Some(FrontendMessage::Bind(b)) = FrontendDecoder::new_typed()
        .decode(&mut BytesMut::from(&wire[..]))
        .unwrap()
    else {
        panic!("not a Bind");
    };
    assert_eq!(b.param_formats.iter().collect::<Vec<_>>(), [0, 1]);
    assert_eq!(b.result_formats.format_for(9, 10), Some(1));
}

fn decoded_bind(params: ValueList) -> Bind {
    let m = FrontendMessage::Bind(Bind {
        portal: "".into(),
        statement: "".into(),
        param_formats: FormatCodes::new(),
        params,
        result_formats: FormatCodes::new(),
    });
    let mut wire = fe_bytes(&m);
    match FrontendDecoder::new_typed().decode(&mut wire) {
        Ok(Some(FrontendMessage::Bind(b))) => b,
        other => panic!("{other:?}"),
    }
}

#[test]
fn value_list_iter_and_get() {
    let v = ValueList::from_values([Some(&b"one"[..]), None, Some(&b""[..]), Some(b"\0\xff")]);
    assert_eq!(v.len(), 4);
    assert!(!v.is_empty());
    let it = v.iter();
    assert_eq!(it.len(), 4);
    assert_eq!(
        it.collect::<Vec<_>>(),
        [
            Some(&b"one"[..]),
            None,
            Some(&b""[..]),
            Some(&b"\0\xff"[..])
        ]
    );
    assert_eq!(v.get(0), Some(Some(&b"one"[..])));
    assert_eq!(v.get(1), Some(None));
    assert_eq!(v.get(2), Some(Some(&b""[..])));
    assert_eq!(v.get(3), Some(Some(&b"\0\xff"[..])));
    assert_eq!(v.get(4), None);
    assert_eq!(
        format!("{v:?}"),
        "[Some(b\"one\"), None, Some(b\"\"), Some(b\"\\0\\xff\")]"
    );
    // raw() is the encoding without the count.
    assert_eq!(
        &v.raw()[..],
        b"\0\0\0\x03one\xff\xff\xff\xff\0\0\0\0\0\0\0\x02\0\xff"
    );
}

#[test]
fn value_list_empty() {
    let v = ValueList::new();
    assert!(v.is_empty());
    assert_eq!(v.len(), 0);
    assert_eq!(v.iter().next(), None);
    assert_eq!(v.get(0), None);
    assert_eq!(v, ValueList::default());
    assert_eq!(v, ValueList::from_values(Vec::<Option<&[u8]>>::new()));
}

#[test]
fn value_list_iter_bytes_shares_the_message_buffer() {
    let b = decoded_bind(ValueList::from_values([
        Some(&b"alpha"[..]),
        None,
        Some(&b"omega"[..]),
    ]));
    let got: Vec<Option<Bytes>> = b.params.iter_bytes().collect();
    assert_eq!(
        got,
        [
            Some(Bytes::from_static(b"alpha")),
            None,
            Some(Bytes::from_static(b"omega"))
        ]
    );
    // Zero-copy: each value points into the decoded list's bytes.
    let raw = b.params.raw().as_ptr_range();
    for v in got.iter().flatten() {
        assert!(raw.contains(&v.as_ptr()), "value was copied");
    }
}

#[test]
fn decoded_value_list_equals_the_built_one() {
    let built = ValueList::from_values([Some("x"), None]);
    assert_eq!(decoded_bind(built.clone()).params, built);
}

#[test]
fn value_list_keeps_at_most_u16_max_values() {
    // 40,000 fit (the count is unsigned); 70,000 are cut at 65,535.
    let v = ValueList::from_values(std::iter::repeat_n(None::<&[u8]>, 40_000));
    assert_eq!(v.len(), 40_000);
    let cut = ValueList::from_values(std::iter::repeat_n(None::<&[u8]>, 70_000));
    assert_eq!(cut.len(), u16::MAX as usize);
    // It still encodes and decodes.
    let row = DataRow { values: v };
    let mut wire = BytesMut::new();
    crate::messages::Message::encode(&row, &mut wire);
    let got = crate::messages::BackendDecoder::new()
        .decode(&mut wire)
        .unwrap()
        .unwrap();
    assert_eq!(got, crate::messages::BackendMessage::DataRow(row));
}

#[test]
fn byte_str_basics() {
    let s = ByteStr::from("héllo");
    assert_eq!(s.as_str(), "héllo");
    assert_eq!(s.len(), 6);
    assert!(!s.is_empty());
    assert!(ByteStr::new().is_empty());
    assert_eq!(s, "héllo");
    assert_eq!(&*s, "héllo");
    assert_eq!(s.to_string(), "héllo");
    assert_eq!(format!("{s:?}"), "\"héllo\"");
    assert_eq!(String::from(s.clone()), "héllo");
    assert_eq!(ByteStr::from(String::from("héllo")), s);
    assert_eq!(ByteStr::from(&String::from("héllo")), s);
    assert_eq!(
        s.clone().into_bytes(),
        Bytes::from_static("héllo".as_bytes())
    );
    assert!(ByteStr::from_utf8(Bytes::from_static(b"\xc3\x28")).is_err());
    assert_eq!(
        ByteStr::from_utf8(Bytes::from_static(b"ok")).unwrap(),
        ByteStr::from_static("ok")
    );
}

#[test]
fn byte_str_hash_map_lookup_by_str() {
    // ByteStr implements Borrow<str>, so a map keyed by ByteStr must find
    // entries by &str: Hash has to agree with str's.
    let mut m: HashMap<ByteStr, u32> = HashMap::new();
    m.insert(ByteStr::from("stmt_1"), 1);
    m.insert(ByteStr::from(String::from("")), 2);
    assert_eq!(m.get("stmt_1"), Some(&1));
    assert_eq!(m.get(""), Some(&2));
    assert_eq!(m.get("stmt_2"), None);
    assert_eq!(m.remove("stmt_1"), Some(1));
}

#[test]
fn byte_str_orders_like_str() {
    let mut v: Vec<ByteStr> = ["b", "a", "ä", "ab", ""]
        .into_iter()
        .map(ByteStr::from)
        .collect();
    v.sort();
    let mut w = vec!["b", "a", "ä", "ab", ""];
    w.sort();
    assert_eq!(v, w.into_iter().map(ByteStr::from).collect::<Vec<_>>());
}

#[test]
fn first_invalid_format_code_is_found_whatever_its_bytes() {
    let cases: [(&[i16], Option<i16>); 8] = [
        (&[], None),
        (&[0], None),
        (&[1, 0, 1], None),
        (&[2], Some(2)),
        (&[0, 1, -1], Some(-1)),
        (&[256], Some(256)),
        (&[0, 257, 3], Some(257)),
        (&[0; 12], None),
    ];
    for (codes, want) in cases {
        let codes = FormatCodes::from_codes(codes);
        assert_eq!(codes.first_invalid(), want, "{codes:?}");
        assert_eq!(
            codes.first_invalid(),
            codes.iter().find(|c| !matches!(c, 0 | 1))
        );
    }
}
