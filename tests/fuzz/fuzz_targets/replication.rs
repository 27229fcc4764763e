//! libFuzzer entry point for the replication codec: every decoder of
//! `pgwire::replication` (CopyData payloads both ways, `pgoutput` in each
//! decoding context) and the replication command parser, on arbitrary
//! bytes. None may panic; what decodes must encode again.
#![no_main]

use bytes::{Bytes, BytesMut};
use pgwire::replication::{
    DecodeContext, PgOutputMessage, ReplicationCommand, ReplicationMessage, StandbyMessage,
};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let b = Bytes::copy_from_slice(data);
    let _ = ReplicationMessage::decode(b.clone());
    let _ = StandbyMessage::decode(b.clone());
    for in_stream in [false, true] {
        for stream_abort_info in [false, true] {
            let context = DecodeContext {
                in_stream,
                stream_abort_info,
            };
            if let Ok(m) = PgOutputMessage::decode(b.clone(), context) {
                let mut out = BytesMut::new();
                m.encode(&mut out);
                assert_eq!(PgOutputMessage::decode(out.freeze(), context).ok(), Some(m));
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ReplicationCommand::parse(text);
    }
});
