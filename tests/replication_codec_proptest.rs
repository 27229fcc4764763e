//! Property tests of the replication codec (`pgwire::replication`):
//!
//! - arbitrary bytes, and mutated valid encodings, fed to every decoder
//!   (XLogData/keepalive, standby messages, `pgoutput` in every context)
//!   never panic;
//! - arbitrary text fed to the replication command parser never panics;
//! - generated `pgoutput` messages, replication CopyData payloads and
//!   replication commands read back as themselves after encoding.
//!
//! For a longer run: `PROPTEST_CASES=100000 cargo test --release --test replication_codec_proptest`.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use pgwire::messages::ByteStr;
use pgwire::replication::command::{
    CommandOption, CreateReplicationSlot, OptionValue, PluginOption, SlotKind,
    StartLogicalReplication, StartPhysicalReplication,
};
use pgwire::replication::pgoutput::*;
use pgwire::replication::{
    DecodeContext, HotStandbyFeedback, Lsn, PgOutputMessage, PrimaryKeepalive, ReplicationCommand,
    ReplicationMessage, StandbyMessage, StandbyStatusUpdate, TupleData, TupleValue, XLogData,
};

fn text() -> impl Strategy<Value = ByteStr> {
    "[^\u{0}]{0,12}".prop_map(ByteStr::from)
}

fn lsn() -> impl Strategy<Value = Lsn> {
    any::<u64>().prop_map(Lsn)
}

fn tuple() -> impl Strategy<Value = TupleData> {
    let value = prop_oneof![
        Just(0u8).prop_map(|_| (0u8, Vec::new())),
        Just(1u8).prop_map(|_| (1u8, Vec::new())),
        vec(any::<u8>(), 0..16).prop_map(|v| (2u8, v)),
        vec(any::<u8>(), 0..16).prop_map(|v| (3u8, v)),
    ];
    vec(value, 0..8).prop_map(|cols| {
        TupleData::from_values(cols.iter().map(|(k, v)| match k {
            0 => TupleValue::Null,
            1 => TupleValue::UnchangedToast,
            2 => TupleValue::Text(v),
            _ => TupleValue::Binary(v),
        }))
    })
}

fn old_tuple() -> impl Strategy<Value = OldTuple> {
    prop_oneof![
        tuple().prop_map(OldTuple::Key),
        tuple().prop_map(OldTuple::Full)
    ]
}

fn identity() -> impl Strategy<Value = ReplicaIdentity> {
    prop_oneof![
        Just(ReplicaIdentity::Default),
        Just(ReplicaIdentity::Nothing),
        Just(ReplicaIdentity::Full),
        Just(ReplicaIdentity::Index),
    ]
}

fn prepare() -> impl Strategy<Value = Prepare> {
    (
        any::<u8>(),
        lsn(),
        lsn(),
        any::<i64>(),
        any::<u32>(),
        text(),
    )
        .prop_map(
            |(flags, prepare_lsn, end_lsn, prepare_time, xid, gid)| Prepare {
                flags,
                prepare_lsn,
                end_lsn,
                prepare_time,
                xid,
                gid,
            },
        )
}

fn pgoutput_message() -> impl Strategy<Value = PgOutputMessage> {
    let xid = || option::of(any::<u32>());
    prop_oneof![
        (lsn(), any::<i64>(), any::<u32>()).prop_map(|(final_lsn, commit_time, xid)| {
            PgOutputMessage::Begin(Begin {
                final_lsn,
                commit_time,
                xid,
            })
        }),
        (xid(), any::<u8>(), lsn(), text(), vec(any::<u8>(), 0..32)).prop_map(
            |(xid, flags, lsn, prefix, content)| PgOutputMessage::Message(LogicalDecodingMessage {
                xid,
                flags,
                lsn,
                prefix,
                content: content.into(),
            })
        ),
        (any::<u8>(), lsn(), lsn(), any::<i64>()).prop_map(
            |(flags, commit_lsn, end_lsn, commit_time)| PgOutputMessage::Commit(Commit {
                flags,
                commit_lsn,
                end_lsn,
                commit_time,
            })
        ),
        (lsn(), text())
            .prop_map(|(commit_lsn, name)| PgOutputMessage::Origin(Origin { commit_lsn, name })),
        (
            xid(),
            any::<u32>(),
            text(),
            text(),
            identity(),
            vec((any::<u8>(), text(), any::<u32>(), any::<i32>()), 0..5)
        )
            .prop_map(|(xid, oid, namespace, name, replica_identity, cols)| {
                PgOutputMessage::Relation(Relation {
                    xid,
                    oid,
                    namespace,
                    name,
                    replica_identity,
                    columns: cols
                        .into_iter()
                        .map(|(flags, name, type_oid, type_modifier)| RelationColumn {
                            flags,
                            name,
                            type_oid,
                            type_modifier,
                        })
                        .collect(),
                })
            }),
        (xid(), any::<u32>(), text(), text()).prop_map(|(xid, oid, namespace, name)| {
            PgOutputMessage::Type(TypeMessage {
                xid,
                oid,
                namespace,
                name,
            })
        }),
        (xid(), any::<u32>(), tuple()).prop_map(|(xid, relation_oid, new)| {
            PgOutputMessage::Insert(Insert {
                xid,
                relation_oid,
                new,
            })
        }),
        (xid(), any::<u32>(), option::of(old_tuple()), tuple()).prop_map(
            |(xid, relation_oid, old, new)| PgOutputMessage::Update(Update {
                xid,
                relation_oid,
                old,
                new,
            })
        ),
        (xid(), any::<u32>(), old_tuple()).prop_map(|(xid, relation_oid, old)| {
            PgOutputMessage::Delete(Delete {
                xid,
                relation_oid,
                old,
            })
        }),
        (xid(), any::<u8>(), vec(any::<u32>(), 0..6)).prop_map(|(xid, options, relation_oids)| {
            PgOutputMessage::Truncate(Truncate {
                xid,
                options,
                relation_oids,
            })
        }),
        (any::<u32>(), any::<bool>()).prop_map(|(xid, first_segment)| {
            PgOutputMessage::StreamStart(StreamStart { xid, first_segment })
        }),
        Just(PgOutputMessage::StreamStop),
        (any::<u32>(), any::<u8>(), lsn(), lsn(), any::<i64>()).prop_map(
            |(xid, flags, commit_lsn, end_lsn, commit_time)| {
                PgOutputMessage::StreamCommit(StreamCommit {
                    xid,
                    flags,
                    commit_lsn,
                    end_lsn,
                    commit_time,
                })
            }
        ),
        (
            any::<u32>(),
            any::<u32>(),
            option::of((lsn(), any::<i64>()))
        )
            .prop_map(
                |(xid, subxid, abort)| PgOutputMessage::StreamAbort(StreamAbort {
                    xid,
                    subxid,
                    abort: abort.map(|(lsn, time)| AbortPosition { lsn, time }),
                })
            ),
        (lsn(), lsn(), any::<i64>(), any::<u32>(), text()).prop_map(
            |(prepare_lsn, end_lsn, prepare_time, xid, gid)| {
                PgOutputMessage::BeginPrepare(BeginPrepare {
                    prepare_lsn,
                    end_lsn,
                    prepare_time,
                    xid,
                    gid,
                })
            }
        ),
        prepare().prop_map(PgOutputMessage::Prepare),
        prepare().prop_map(PgOutputMessage::StreamPrepare),
        (
            any::<u8>(),
            lsn(),
            lsn(),
            any::<i64>(),
            any::<u32>(),
            text()
        )
            .prop_map(|(flags, commit_lsn, end_lsn, commit_time, xid, gid)| {
                PgOutputMessage::CommitPrepared(CommitPrepared {
                    flags,
                    commit_lsn,
                    end_lsn,
                    commit_time,
                    xid,
                    gid,
                })
            }),
        (
            any::<u8>(),
            lsn(),
            lsn(),
            any::<i64>(),
            any::<i64>(),
            any::<u32>(),
            text()
        )
            .prop_map(
                |(
                    flags,
                    prepare_end_lsn,
                    rollback_end_lsn,
                    prepare_time,
                    rollback_time,
                    xid,
                    gid,
                )| {
                    PgOutputMessage::RollbackPrepared(RollbackPrepared {
                        flags,
                        prepare_end_lsn,
                        rollback_end_lsn,
                        prepare_time,
                        rollback_time,
                        xid,
                        gid,
                    })
                }
            ),
    ]
}

fn replication_message() -> impl Strategy<Value = ReplicationMessage> {
    prop_oneof![
        (lsn(), lsn(), any::<i64>(), vec(any::<u8>(), 0..32)).prop_map(
            |(wal_start, wal_end, send_time, data)| ReplicationMessage::XLogData(XLogData {
                wal_start,
                wal_end,
                send_time,
                data: data.into(),
            })
        ),
        (lsn(), any::<i64>(), any::<bool>()).prop_map(|(wal_end, send_time, reply_requested)| {
            ReplicationMessage::PrimaryKeepalive(PrimaryKeepalive {
                wal_end,
                send_time,
                reply_requested,
            })
        }),
    ]
}

fn standby_message() -> impl Strategy<Value = StandbyMessage> {
    prop_oneof![
        (lsn(), lsn(), lsn(), any::<i64>(), any::<bool>()).prop_map(
            |(written, flushed, applied, client_time, reply_requested)| {
                StandbyMessage::StatusUpdate(StandbyStatusUpdate {
                    written,
                    flushed,
                    applied,
                    client_time,
                    reply_requested,
                })
            }
        ),
        (
            any::<i64>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(
                |(client_time, xmin, xmin_epoch, catalog_xmin, catalog_xmin_epoch)| {
                    StandbyMessage::HotStandbyFeedback(HotStandbyFeedback {
                        client_time,
                        xmin,
                        xmin_epoch,
                        catalog_xmin,
                        catalog_xmin_epoch,
                    })
                }
            ),
    ]
}

/// Names as the parser returns them: lower case when unquoted, anything
/// non-empty when quoted (the formatter quotes what needs it).
fn name() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z_][a-z0-9_]{0,10}", "[^\u{0}]{1,10}"]
        .prop_map(|s: String| s.chars().take(20).collect())
        .prop_filter("names are at most 63 bytes", |s: &String| s.len() <= 63)
}

fn command_option() -> impl Strategy<Value = CommandOption> {
    let value = option::of(prop_oneof![
        "[a-z][a-z0-9_]{0,8}".prop_map(OptionValue::Word),
        "[^\u{0}]{0,8}".prop_map(OptionValue::String),
        any::<u32>().prop_map(OptionValue::Number),
    ]);
    (name(), value).prop_map(|(name, value)| CommandOption { name, value })
}

fn replication_command() -> impl Strategy<Value = ReplicationCommand> {
    prop_oneof![
        Just(ReplicationCommand::IdentifySystem),
        vec(
            name().prop_filter("no dots in a part", |p| !p.contains('.')),
            1..3
        )
        .prop_map(|parts| ReplicationCommand::Show(parts.join("."))),
        (1u32..).prop_map(ReplicationCommand::TimelineHistory),
        (
            name(),
            any::<bool>(),
            option::of(name()),
            vec(command_option(), 0..4)
        )
            .prop_map(|(slot, temporary, plugin, options)| {
                ReplicationCommand::CreateReplicationSlot(CreateReplicationSlot {
                    slot,
                    temporary,
                    kind: match plugin {
                        None => SlotKind::Physical,
                        Some(plugin) => SlotKind::Logical { plugin },
                    },
                    options,
                })
            }),
        (name(), vec(command_option(), 1..4))
            .prop_map(|(slot, options)| ReplicationCommand::AlterReplicationSlot { slot, options }),
        name().prop_map(ReplicationCommand::ReadReplicationSlot),
        (name(), any::<bool>())
            .prop_map(|(slot, wait)| ReplicationCommand::DropReplicationSlot { slot, wait }),
        (option::of(name()), lsn(), option::of(1u32..)).prop_map(|(slot, start, timeline)| {
            ReplicationCommand::StartPhysicalReplication(StartPhysicalReplication {
                slot,
                start,
                timeline,
            })
        }),
        (
            name(),
            lsn(),
            vec((name(), option::of("[^\u{0}]{0,8}")), 0..4)
        )
            .prop_map(|(slot, start, opts)| {
                ReplicationCommand::StartLogicalReplication(StartLogicalReplication {
                    slot,
                    start,
                    options: opts
                        .into_iter()
                        .map(|(name, value)| PluginOption { name, value })
                        .collect(),
                })
            }),
        vec(command_option(), 0..4).prop_map(ReplicationCommand::BaseBackup),
    ]
}

fn all_contexts() -> [DecodeContext; 4] {
    [
        DecodeContext::default(),
        DecodeContext {
            in_stream: true,
            stream_abort_info: false,
        },
        DecodeContext {
            in_stream: false,
            stream_abort_info: true,
        },
        DecodeContext {
            in_stream: true,
            stream_abort_info: true,
        },
    ]
}

fn decode_everything(data: &[u8]) {
    let b = Bytes::copy_from_slice(data);
    let _ = ReplicationMessage::decode(b.clone());
    let _ = StandbyMessage::decode(b.clone());
    for c in all_contexts() {
        if let Ok(m) = PgOutputMessage::decode(b.clone(), c) {
            // Whatever decodes can be walked and encoded again.
            touch(&m);
        }
    }
}

fn touch(m: &PgOutputMessage) {
    let tuples: Vec<&TupleData> = match m {
        PgOutputMessage::Insert(i) => vec![&i.new],
        PgOutputMessage::Update(u) => {
            let mut v = vec![&u.new];
            if let Some(o) = &u.old {
                v.push(o.tuple());
            }
            v
        }
        PgOutputMessage::Delete(d) => vec![d.old.tuple()],
        _ => vec![],
    };
    for t in tuples {
        assert_eq!(t.iter().count(), t.len());
    }
    let mut out = BytesMut::new();
    m.encode(&mut out);
}

/// `n` cases, or `PROPTEST_CASES` if set.
fn cases(n: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    ProptestConfig::with_cases(n)
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(data in vec(any::<u8>(), 0..64)) {
        decode_everything(&data);
    }

    #[test]
    fn tagged_bytes_never_panic(
        tag in prop::sample::select(b"BMCORYIUDTSEcAbPKrpwkrh".to_vec()),
        data in vec(any::<u8>(), 0..64),
    ) {
        let mut v = vec![tag];
        v.extend_from_slice(&data);
        decode_everything(&v);
    }

    #[test]
    fn mutated_messages_never_panic(
        m in pgoutput_message(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut out = BytesMut::new();
        m.encode(&mut out);
        let mut v = out.to_vec();
        let i = at.index(v.len());
        v[i] = byte;
        let n = cut.index(v.len() + 1);
        decode_everything(&v[..n]);
        decode_everything(&v);
    }

    #[test]
    fn arbitrary_text_never_panics_the_command_parser(s in "\\PC{0,40}") {
        let _ = ReplicationCommand::parse(&s);
    }

    #[test]
    fn command_shaped_text_never_panics(
        kw in prop::sample::select(vec![
            "IDENTIFY_SYSTEM", "SHOW", "TIMELINE_HISTORY", "CREATE_REPLICATION_SLOT",
            "DROP_REPLICATION_SLOT", "START_REPLICATION", "READ_REPLICATION_SLOT",
            "ALTER_REPLICATION_SLOT", "BASE_BACKUP",
        ]),
        rest in "[ a-zA-Z0-9_/'\"(),.;]{0,40}",
    ) {
        let _ = ReplicationCommand::parse(&format!("{kw} {rest}"));
    }

    #[test]
    fn pgoutput_messages_round_trip(m in pgoutput_message()) {
        let mut out = BytesMut::new();
        m.encode(&mut out);
        let back = PgOutputMessage::decode(out.freeze(), m.encoding_context()).unwrap();
        prop_assert_eq!(back, m);
    }

    #[test]
    fn copy_both_payloads_round_trip(m in replication_message(), s in standby_message()) {
        let mut out = BytesMut::new();
        m.encode(&mut out);
        prop_assert_eq!(ReplicationMessage::decode(out.split().freeze()).unwrap(), m);
        s.encode(&mut out);
        prop_assert_eq!(StandbyMessage::decode(out.freeze()).unwrap(), s);
    }

    #[test]
    fn commands_round_trip(c in replication_command()) {
        let text = c.to_string();
        let back = ReplicationCommand::parse(&text)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?
            .ok_or_else(|| TestCaseError::fail(format!("{text}: not a command")))?;
        prop_assert_eq!(back, c, "{}", text);
    }

    #[test]
    fn pgoutput_options_round_trip(
        proto in 1u32..=4,
        names in vec("[^\u{0}]{1,8}", 1..4),
        binary in any::<bool>(),
        messages in any::<bool>(),
        streaming in 0u8..3,
        two_phase in any::<bool>(),
    ) {
        use pgwire::replication::pgoutput_options::{PgOutputOptions, Streaming, split_identifiers, join_identifiers};
        prop_assert_eq!(split_identifiers(&join_identifiers(&names)), Some(names.clone()));
        let mut o = PgOutputOptions::new(proto, names);
        o.binary = binary;
        o.messages = messages;
        o.streaming = [Streaming::Off, Streaming::On, Streaming::Parallel][streaming as usize];
        o.two_phase = two_phase;
        match PgOutputOptions::parse(&o.to_plugin_options()) {
            Ok(back) => prop_assert_eq!(back, o),
            // Refused only for a feature the protocol version lacks.
            Err(e) => prop_assert!(e.message.contains("does not support"), "{}", e),
        }
    }

    #[test]
    fn lsn_text_round_trips(l in lsn()) {
        prop_assert_eq!(l.to_string().parse::<Lsn>().unwrap(), l);
    }
}
