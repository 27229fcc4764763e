//! The consumer's hot path allocates nothing per change: a CopyData frame
//! decoded by the backend decoder, its XLogData, the `pgoutput` Insert in
//! it and every column of its row are views of the read buffer (counted by
//! a global allocator of this test binary, per thread).

use bytes::BytesMut;
use pgwire::messages::{BackendDecoder, BackendMessage};
use pgwire::replication::pgoutput::Insert;
use pgwire::replication::{
    Lsn, PgOutputDecoder, PgOutputMessage, ReplicationMessage, TupleData, TupleValue, XLogData,
};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{allocations, allocations_in};

#[test]
fn decoding_a_change_does_not_allocate() {
    const N: usize = 1000;
    let row = TupleData::from_values([
        TupleValue::Text(b"42"),
        TupleValue::Text(b"some text value"),
        TupleValue::Null,
        TupleValue::UnchangedToast,
    ]);
    let insert = PgOutputMessage::Insert(Insert {
        xid: None,
        relation_oid: 16384,
        new: row,
    });
    let mut wire = BytesMut::new();
    for i in 0..N as u64 {
        pgwire::replication::copy_both::put_copy_data_with(&mut wire, |b| {
            XLogData::encode_header(b, Lsn(i * 100), Lsn(i * 100 + 50), 0);
            insert.encode(b);
        });
    }
    let mut decoder = BackendDecoder::new();
    let mut pgoutput = PgOutputDecoder::new();
    let mut decode_one = |wire: &mut BytesMut| -> usize {
        let Some(BackendMessage::CopyData(d)) = decoder.decode(wire).unwrap() else {
            panic!("a CopyData")
        };
        let ReplicationMessage::XLogData(x) = ReplicationMessage::decode(d.data).unwrap() else {
            panic!("XLogData")
        };
        let PgOutputMessage::Insert(i) = pgoutput.decode(x.data).unwrap() else {
            panic!("Insert")
        };
        i.new
            .iter()
            .filter_map(|v| v.as_bytes())
            .map(<[u8]>::len)
            .sum()
    };
    // The first split turns the buffer into a shared one (one allocation).
    assert_eq!(decode_one(&mut wire), 17);
    let before = allocations();
    let mut total = 0;
    for _ in 1..N {
        total += decode_one(&mut wire);
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations while decoding {} changes",
        N - 1
    );
    assert_eq!(total, 17 * (N - 1));
    assert!(wire.is_empty());
}

/// The publisher's side: an Update with an old key, text and binary
/// values is written straight into the output buffer.
#[test]
fn encoding_a_change_does_not_allocate() {
    use pgwire::replication::pgoutput::{ChangeShape, OldTupleKind, TupleRole, put_change_with};
    use pgwire::types::Type;
    use pgwire::types::text::text_to_binary;

    const N: usize = 1000;
    let mut buf = BytesMut::with_capacity(N * 64);
    // Once-per-process setup (the default format settings) out of the
    // count.
    text_to_binary(&Type::INT8, "0", &mut BytesMut::with_capacity(8)).unwrap();
    let n = allocations_in(|| {
        for _ in 0..N {
            put_change_with(
                &mut buf,
                ChangeShape::Update(Some(OldTupleKind::Key)),
                None,
                16384,
                |role, row| match role {
                    TupleRole::Old => {
                        row.text(b"1");
                        row.null();
                    }
                    TupleRole::New => {
                        row.text(b"2");
                        row.binary_with(|b| text_to_binary(&Type::INT8, "-42", b))
                            .unwrap();
                    }
                },
            );
        }
    });
    assert_eq!(n, 0, "{n} allocations for {N} changes");
    let one = buf.len() / N;
    let PgOutputMessage::Update(u) = PgOutputDecoder::new()
        .decode(buf.split_to(one).freeze())
        .unwrap()
    else {
        panic!("not an update")
    };
    assert_eq!(
        u.new.get(1),
        Some(TupleValue::Binary(&(-42i64).to_be_bytes()))
    );
    assert_eq!(u.old.unwrap().tuple().len(), 2);
}
