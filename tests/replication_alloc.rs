//! The consumer's hot path allocates nothing per change: a CopyData frame
//! decoded by the backend decoder, its XLogData, the `pgoutput` Insert in
//! it and every column of its row are views of the read buffer (counted by
//! a global allocator of this test binary, per thread).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::BytesMut;
use pgwire::messages::{BackendDecoder, BackendMessage};
use pgwire::replication::pgoutput::Insert;
use pgwire::replication::{
    Lsn, PgOutputDecoder, PgOutputMessage, ReplicationMessage, TupleData, TupleValue, XLogData,
};

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwards the caller's layout unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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
