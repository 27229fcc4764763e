//! Property tests of the codec.
//!
//! - Every frontend and backend message, with arbitrary field contents,
//!   decodes back to itself, alone and in a pipeline split at arbitrary
//!   points.
//! - Arbitrary bytes, bytes shaped like frames, and mutated valid encodings,
//!   fed to every decoder configuration in arbitrary chunks, never panic,
//!   always terminate, and keep the decoders' contract: `Ok(None)` leaves
//!   the buffer untouched, a message or a recoverable error consumes bytes.
//! - A typed frontend frame whose length is right, whatever its body, is
//!   either a message or a recoverable error that consumed exactly that
//!   frame, naming its type byte.
//!
//! Case counts are kept small so `cargo test` stays fast; for a longer
//! run, `PROPTEST_CASES=100000 cargo test --release --test codec_proptest`
//! (the variable overrides the count of every block but the large-count one).

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::Index;

use pgwire::messages::{
    AuthResponseKind, Authentication, BackendDecoder, BackendKeyData, BackendMessage, Bind,
    BindComplete, ByteStr, CancelRequest, Close, CloseComplete, CommandComplete, CopyBothResponse,
    CopyData, CopyDone, CopyFail, CopyInResponse, CopyOutResponse, DEFAULT_MAX_MESSAGE_LEN,
    DataRow, DecodeError, Describe, EmptyQueryResponse, ErrorFields, ErrorResponse, Execute,
    FieldDescription, Flush, FormatCodes, FrontendDecoder, FrontendMessage, FunctionCall,
    FunctionCallResponse, GssEncRequest, GssResponse, MAX_CANCEL_KEY_LEN, Message,
    NegotiateProtocolVersion, NoData, NoticeResponse, NotificationResponse, ParameterDescription,
    ParameterStatus, Parse, ParseComplete, PasswordMessage, PortalSuspended, ProtocolVersion,
    Query, ReadyForQuery, RowDescription, SaslInitialResponse, SaslResponse, SslRequest,
    StartupMessage, Sync, TargetKind, Terminate, TransactionStatus, ValueList,
};

// ---- field strategies ----

/// Any string without NUL (it could not be sent as a protocol String).
fn text() -> impl Strategy<Value = ByteStr> {
    "[^\\x00]{0,12}".prop_map(ByteStr::from)
}

/// A non-empty string without NUL: names in lists that an empty name ends
/// (startup parameters, SASL mechanisms).
fn name() -> impl Strategy<Value = ByteStr> {
    "[^\\x00]{1,12}".prop_map(ByteStr::from)
}

fn payload() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..48).prop_map(Bytes::from)
}

fn cancel_key() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 4..=MAX_CANCEL_KEY_LEN).prop_map(Bytes::from)
}

fn format_codes() -> impl Strategy<Value = FormatCodes> {
    vec(any::<i16>(), 0..6).prop_map(|c| FormatCodes::from_codes(&c))
}

fn values() -> impl Strategy<Value = ValueList> {
    vec(option::of(vec(any::<u8>(), 0..16)), 0..8).prop_map(ValueList::from_values)
}

fn oids() -> impl Strategy<Value = Vec<u32>> {
    vec(any::<u32>(), 0..8)
}

fn target_kind() -> impl Strategy<Value = TargetKind> {
    prop_oneof![Just(TargetKind::Statement), Just(TargetKind::Portal)]
}

fn error_fields() -> impl Strategy<Value = ErrorFields> {
    vec((1u8..=255, text()), 0..6).prop_map(|f| f.into_iter().collect())
}

fn auth_kind() -> impl Strategy<Value = AuthResponseKind> {
    prop_oneof![
        Just(AuthResponseKind::Password),
        Just(AuthResponseKind::SaslInitial),
        Just(AuthResponseKind::Sasl),
        Just(AuthResponseKind::Gss),
    ]
}

/// A limit on typed messages: tiny, default, or none.
fn max_len() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..64, Just(DEFAULT_MAX_MESSAGE_LEN), Just(usize::MAX)]
}

// ---- message strategies ----

fn startup_phase_message() -> BoxedStrategy<FrontendMessage> {
    prop_oneof![
        (any::<u16>(), vec((name(), text()), 0..6)).prop_map(|(minor, parameters)| {
            FrontendMessage::Startup(StartupMessage {
                version: ProtocolVersion { major: 3, minor },
                parameters,
            })
        }),
        Just(FrontendMessage::SslRequest(SslRequest)),
        Just(FrontendMessage::GssEncRequest(GssEncRequest)),
        (any::<i32>(), cancel_key()).prop_map(|(process_id, secret_key)| {
            FrontendMessage::CancelRequest(CancelRequest {
                process_id,
                secret_key,
            })
        }),
    ]
    .boxed()
}

fn auth_response() -> BoxedStrategy<FrontendMessage> {
    prop_oneof![
        text().prop_map(|password| FrontendMessage::Password(PasswordMessage { password })),
        (text(), option::of(payload())).prop_map(|(mechanism, data)| {
            FrontendMessage::SaslInitialResponse(SaslInitialResponse { mechanism, data })
        }),
        payload().prop_map(|data| FrontendMessage::SaslResponse(SaslResponse { data })),
        payload().prop_map(|data| FrontendMessage::GssResponse(GssResponse { data })),
    ]
    .boxed()
}

fn typed_frontend_message() -> BoxedStrategy<FrontendMessage> {
    prop_oneof![
        auth_response(),
        text().prop_map(|query| FrontendMessage::Query(Query { query })),
        (text(), text(), oids()).prop_map(|(name, query, param_types)| {
            FrontendMessage::Parse(Parse {
                name,
                query,
                param_types,
            })
        }),
        (text(), text(), format_codes(), values(), format_codes()).prop_map(
            |(portal, statement, param_formats, params, result_formats)| {
                FrontendMessage::Bind(Bind {
                    portal,
                    statement,
                    param_formats,
                    params,
                    result_formats,
                })
            }
        ),
        (target_kind(), text())
            .prop_map(|(kind, name)| FrontendMessage::Describe(Describe { kind, name })),
        (text(), any::<i32>())
            .prop_map(|(portal, max_rows)| FrontendMessage::Execute(Execute { portal, max_rows })),
        (target_kind(), text())
            .prop_map(|(kind, name)| FrontendMessage::Close(Close { kind, name })),
        Just(FrontendMessage::Sync(Sync)),
        Just(FrontendMessage::Flush(Flush)),
        payload().prop_map(|data| FrontendMessage::CopyData(CopyData { data })),
        Just(FrontendMessage::CopyDone(CopyDone)),
        text().prop_map(|message| FrontendMessage::CopyFail(CopyFail { message })),
        (any::<u32>(), format_codes(), values(), any::<i16>()).prop_map(
            |(function_oid, arg_formats, args, result_format)| {
                FrontendMessage::FunctionCall(FunctionCall {
                    function_oid,
                    arg_formats,
                    args,
                    result_format,
                })
            }
        ),
        Just(FrontendMessage::Terminate(Terminate)),
    ]
    .boxed()
}

fn frontend_message() -> BoxedStrategy<FrontendMessage> {
    prop_oneof![1 => startup_phase_message(), 4 => typed_frontend_message()].boxed()
}

fn authentication() -> BoxedStrategy<Authentication> {
    prop_oneof![
        Just(Authentication::Ok),
        Just(Authentication::KerberosV5),
        Just(Authentication::CleartextPassword),
        any::<[u8; 4]>().prop_map(|salt| Authentication::Md5Password { salt }),
        Just(Authentication::Gss),
        payload().prop_map(Authentication::GssContinue),
        Just(Authentication::Sspi),
        vec(name(), 0..4).prop_map(|mechanisms| Authentication::Sasl { mechanisms }),
        payload().prop_map(Authentication::SaslContinue),
        payload().prop_map(Authentication::SaslFinal),
    ]
    .boxed()
}

fn field_description() -> impl Strategy<Value = FieldDescription> {
    (
        text(),
        any::<u32>(),
        any::<i16>(),
        any::<u32>(),
        any::<i16>(),
        any::<i32>(),
        any::<i16>(),
    )
        .prop_map(
            |(name, table_oid, column_id, type_oid, type_size, type_modifier, format)| {
                FieldDescription {
                    name,
                    table_oid,
                    column_id,
                    type_oid,
                    type_size,
                    type_modifier,
                    format,
                }
            },
        )
}

fn transaction_status() -> impl Strategy<Value = TransactionStatus> {
    prop_oneof![
        Just(TransactionStatus::Idle),
        Just(TransactionStatus::InTransaction),
        Just(TransactionStatus::Failed),
    ]
}

fn backend_message() -> BoxedStrategy<BackendMessage> {
    prop_oneof![
        authentication().prop_map(BackendMessage::Authentication),
        (any::<i32>(), cancel_key()).prop_map(|(process_id, secret_key)| {
            BackendMessage::BackendKeyData(BackendKeyData {
                process_id,
                secret_key,
            })
        }),
        Just(BackendMessage::BindComplete(BindComplete)),
        Just(BackendMessage::CloseComplete(CloseComplete)),
        text().prop_map(|tag| BackendMessage::CommandComplete(CommandComplete { tag })),
        payload().prop_map(|data| BackendMessage::CopyData(CopyData { data })),
        Just(BackendMessage::CopyDone(CopyDone)),
        (any::<i8>(), format_codes()).prop_map(|(format, column_formats)| {
            BackendMessage::CopyInResponse(CopyInResponse {
                format,
                column_formats,
            })
        }),
        (any::<i8>(), format_codes()).prop_map(|(format, column_formats)| {
            BackendMessage::CopyOutResponse(CopyOutResponse {
                format,
                column_formats,
            })
        }),
        (any::<i8>(), format_codes()).prop_map(|(format, column_formats)| {
            BackendMessage::CopyBothResponse(CopyBothResponse {
                format,
                column_formats,
            })
        }),
        values().prop_map(|values| BackendMessage::DataRow(DataRow { values })),
        Just(BackendMessage::EmptyQueryResponse(EmptyQueryResponse)),
        error_fields().prop_map(|f| BackendMessage::ErrorResponse(ErrorResponse(f))),
        option::of(payload())
            .prop_map(|value| BackendMessage::FunctionCallResponse(FunctionCallResponse { value })),
        (any::<u32>(), vec(text(), 0..4)).prop_map(|(code, unrecognized_options)| {
            BackendMessage::NegotiateProtocolVersion(NegotiateProtocolVersion {
                version: ProtocolVersion::from_code(code),
                unrecognized_options,
            })
        }),
        Just(BackendMessage::NoData(NoData)),
        error_fields().prop_map(|f| BackendMessage::NoticeResponse(NoticeResponse(f))),
        (any::<i32>(), text(), text()).prop_map(|(process_id, channel, payload)| {
            BackendMessage::NotificationResponse(NotificationResponse {
                process_id,
                channel,
                payload,
            })
        }),
        oids()
            .prop_map(|types| BackendMessage::ParameterDescription(ParameterDescription { types })),
        (text(), text()).prop_map(|(name, value)| BackendMessage::ParameterStatus(
            ParameterStatus { name, value }
        )),
        Just(BackendMessage::ParseComplete(ParseComplete)),
        Just(BackendMessage::PortalSuspended(PortalSuspended)),
        transaction_status()
            .prop_map(|status| BackendMessage::ReadyForQuery(ReadyForQuery { status })),
        vec(field_description(), 0..6)
            .prop_map(|fields| BackendMessage::RowDescription(RowDescription { fields })),
    ]
    .boxed()
}

// ---- helpers ----

/// `n` cases, or `PROPTEST_CASES` if set.
fn cases(n: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    ProptestConfig::with_cases(n)
}

const AUTH_KINDS: [AuthResponseKind; 4] = [
    AuthResponseKind::Password,
    AuthResponseKind::SaslInitial,
    AuthResponseKind::Sasl,
    AuthResponseKind::Gss,
];

/// Every frontend decoder configuration: both phases, each 'p' kind.
fn feed_every_frontend(chunks: &[Vec<u8>], max: usize) -> Result<(), TestCaseError> {
    for startup in [true, false] {
        for kind in AUTH_KINDS {
            feed_frontend(chunks, startup, kind, max)?;
        }
    }
    Ok(())
}

fn is_startup_phase(m: &FrontendMessage) -> bool {
    matches!(
        m,
        FrontendMessage::Startup(_)
            | FrontendMessage::SslRequest(_)
            | FrontendMessage::GssEncRequest(_)
            | FrontendMessage::CancelRequest(_)
    )
}

fn auth_kind_of(m: &FrontendMessage) -> AuthResponseKind {
    match m {
        FrontendMessage::SaslInitialResponse(_) => AuthResponseKind::SaslInitial,
        FrontendMessage::SaslResponse(_) => AuthResponseKind::Sasl,
        FrontendMessage::GssResponse(_) => AuthResponseKind::Gss,
        _ => AuthResponseKind::Password,
    }
}

fn decoder_for(m: &FrontendMessage) -> FrontendDecoder {
    let mut d = if is_startup_phase(m) {
        FrontendDecoder::new()
    } else {
        FrontendDecoder::new_typed()
    };
    d.expect_auth_response(auth_kind_of(m));
    d
}

/// `data` cut at the given points (sorted, deduplicated).
fn chunks(data: &[u8], cuts: &[Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
    at.push(0);
    at.push(data.len());
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| data[w[0]..w[1]].to_vec()).collect()
}

/// Feeds `chunks` one after the other to `decode`, decoding as far as
/// possible after each, until the input ends or an unrecoverable error.
/// Checks the decoder contract on the way and that the loop is bounded.
fn feed<M>(
    chunks: &[Vec<u8>],
    mut decode: impl FnMut(&mut BytesMut) -> Result<Option<M>, DecodeError>,
) -> Result<(), TestCaseError> {
    let total: usize = chunks.iter().map(Vec::len).sum();
    // Every step that goes on consumes at least one byte.
    let bound = total + chunks.len() + 1;
    let mut steps = 0;
    let mut buf = BytesMut::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            steps += 1;
            prop_assert!(steps <= bound, "decoder loop did not terminate");
            let before = buf.len();
            match decode(&mut buf) {
                Ok(Some(_)) => prop_assert!(buf.len() < before, "message consumed nothing"),
                Ok(None) => {
                    prop_assert_eq!(buf.len(), before, "Ok(None) changed the buffer");
                    break;
                }
                Err(e) if e.is_recoverable() => {
                    prop_assert!(buf.len() < before, "recoverable error kept the frame");
                    // Errors render without panicking.
                    let _ = e.to_string();
                }
                Err(e) => {
                    let _ = e.to_string();
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

fn feed_frontend(
    chunks: &[Vec<u8>],
    startup: bool,
    kind: AuthResponseKind,
    max: usize,
) -> Result<(), TestCaseError> {
    let mut d = FrontendDecoder::new().with_max_message_len(max);
    d.set_startup_phase(startup);
    d.expect_auth_response(kind);
    feed(chunks, |b| d.decode(b))
}

fn feed_backend(chunks: &[Vec<u8>], max: usize) -> Result<(), TestCaseError> {
    let mut d = BackendDecoder::new().with_max_message_len(max);
    feed(chunks, |b| d.decode(b))
}

/// Typed frames with plausible (or arbitrary) type bytes and correct
/// lengths around arbitrary bodies, so that the body decoders see garbage,
/// not just the type-byte check.
fn framed_garbage() -> impl Strategy<Value = Vec<u8>> {
    let tag = prop_oneof![
        3 => proptest::sample::select(b"QPBDECSHdcfFXpRK23GWIVvnNAt1sZT".to_vec()),
        1 => any::<u8>(),
    ];
    vec((tag, vec(any::<u8>(), 0..40)), 0..6).prop_map(|frames| {
        let mut out = Vec::new();
        for (tag, body) in frames {
            out.push(tag);
            out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
            out.extend_from_slice(&body);
        }
        out
    })
}

/// Startup-phase packets: known and unknown codes, arbitrary bodies.
fn startup_garbage() -> impl Strategy<Value = Vec<u8>> {
    let code = prop_oneof![
        Just(80_877_103u32),
        Just(80_877_104),
        Just(80_877_102),
        Just(196_608),
        Just(196_610),
        Just(131_072),
        any::<u32>(),
    ];
    vec((code, vec(any::<u8>(), 0..40)), 1..3).prop_map(|packets| {
        let mut out = Vec::new();
        for (code, body) in packets {
            out.extend_from_slice(&(body.len() as u32 + 8).to_be_bytes());
            out.extend_from_slice(&code.to_be_bytes());
            out.extend_from_slice(&body);
        }
        out
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Insert(Index, u8),
    Delete(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Delete),
    ]
}

fn mutate(data: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        match m {
            Mutation::Flip(i, x) if !data.is_empty() => {
                let i = i.index(data.len());
                data[i] ^= x;
            }
            Mutation::Insert(i, b) => data.insert(i.index(data.len() + 1), *b),
            Mutation::Delete(i) if !data.is_empty() => {
                data.remove(i.index(data.len()));
            }
            _ => {}
        }
    }
}

// ---- properties ----

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn frontend_roundtrip(m in frontend_message()) {
        let mut buf = BytesMut::new();
        m.encode(&mut buf);
        let got = decoder_for(&m).decode(&mut buf);
        prop_assert_eq!(got, Ok(Some(m)));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn backend_roundtrip(m in backend_message()) {
        let mut buf = BytesMut::new();
        m.encode(&mut buf);
        let got = BackendDecoder::new().decode(&mut buf);
        prop_assert_eq!(got, Ok(Some(m)));
        prop_assert!(buf.is_empty());
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// A whole session's worth of client messages (startup packets, then
    /// typed ones), in one stream cut at arbitrary points.
    #[test]
    fn frontend_stream_roundtrip(
        pre in vec(startup_phase_message(), 0..3),
        startup in vec((name(), text()), 0..4),
        typed in vec(typed_frontend_message(), 0..8),
        cuts in vec(any::<Index>(), 0..8),
    ) {
        // SSLRequest, GSSENCRequest and CancelRequest keep the startup
        // phase; the StartupMessage ends it.
        let mut msgs: Vec<FrontendMessage> = pre
            .into_iter()
            .filter(|m| !matches!(m, FrontendMessage::Startup(_)))
            .collect();
        msgs.push(FrontendMessage::Startup(StartupMessage::new(startup)));
        msgs.extend(typed);
        let mut wire = BytesMut::new();
        for m in &msgs {
            m.encode(&mut wire);
        }
        let mut d = FrontendDecoder::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for chunk in chunks(&wire, &cuts) {
            buf.extend_from_slice(&chunk);
            loop {
                // The server knows which 'p' comes next; so does the test.
                if let Some(next) = msgs.get(got.len()) {
                    d.expect_auth_response(auth_kind_of(next));
                }
                match d.decode(&mut buf) {
                    Ok(Some(m)) => got.push(m),
                    Ok(None) => break,
                    Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
                }
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, msgs);
    }

    #[test]
    fn backend_stream_roundtrip(
        msgs in vec(backend_message(), 0..10),
        cuts in vec(any::<Index>(), 0..8),
    ) {
        let mut wire = BytesMut::new();
        for m in &msgs {
            m.encode(&mut wire);
        }
        let mut d = BackendDecoder::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for chunk in chunks(&wire, &cuts) {
            buf.extend_from_slice(&chunk);
            while let Some(m) = d.decode(&mut buf).map_err(|e| TestCaseError::fail(e.to_string()))? {
                got.push(m);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, msgs);
    }
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(
        data in vec(any::<u8>(), 0..256),
        cuts in vec(any::<Index>(), 0..8),
        max in max_len(),
    ) {
        let chunks = chunks(&data, &cuts);
        feed_every_frontend(&chunks, max)?;
        feed_backend(&chunks, max)?;
    }

    #[test]
    fn framed_garbage_never_panics(
        data in framed_garbage(),
        cuts in vec(any::<Index>(), 0..8),
        max in max_len(),
    ) {
        let chunks = chunks(&data, &cuts);
        feed_every_frontend(&chunks, max)?;
        feed_backend(&chunks, max)?;
    }

    #[test]
    fn startup_garbage_never_panics(
        data in startup_garbage(),
        tail in framed_garbage(),
        cuts in vec(any::<Index>(), 0..8),
        kind in auth_kind(),
    ) {
        let mut data = data;
        data.extend_from_slice(&tail);
        feed_frontend(&chunks(&data, &cuts), true, kind, DEFAULT_MAX_MESSAGE_LEN)?;
    }

    #[test]
    fn mutated_frontend_encodings_never_panic(
        msgs in vec(frontend_message(), 1..4),
        mutations in vec(mutation(), 1..4),
        cuts in vec(any::<Index>(), 0..4),
    ) {
        let mut data = BytesMut::new();
        for m in &msgs {
            m.encode(&mut data);
        }
        let mut data = data.to_vec();
        mutate(&mut data, &mutations);
        feed_every_frontend(&chunks(&data, &cuts), DEFAULT_MAX_MESSAGE_LEN)?;
    }

    #[test]
    fn mutated_backend_encodings_never_panic(
        msgs in vec(backend_message(), 1..4),
        mutations in vec(mutation(), 1..4),
        cuts in vec(any::<Index>(), 0..4),
    ) {
        let mut data = BytesMut::new();
        for m in &msgs {
            m.encode(&mut data);
        }
        let mut data = data.to_vec();
        mutate(&mut data, &mutations);
        feed_backend(&chunks(&data, &cuts), DEFAULT_MAX_MESSAGE_LEN)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Counts anywhere in the unsigned Int16 range, up to u16::MAX elements
    /// (PostgreSQL reads them as unsigned: a Bind may carry 65,535
    /// parameters).
    #[test]
    fn large_counts_roundtrip(n in 0..=u16::MAX as usize, seed in any::<u32>()) {
        let types: Vec<u32> = (0..n as u32).map(|i| i ^ seed).collect();
        let row: Vec<Option<[u8; 1]>> = (0..n)
            .map(|i| if (i as u32 ^ seed) % 3 == 0 { None } else { Some([i as u8]) })
            .collect();
        let codes: Vec<i16> = (0..n).map(|i| (i % 2) as i16).collect();
        let backend = [
            BackendMessage::ParameterDescription(ParameterDescription { types: types.clone() }),
            BackendMessage::DataRow(DataRow::new(row.clone())),
            BackendMessage::CopyOutResponse(CopyOutResponse {
                format: 1,
                column_formats: FormatCodes::from_codes(&codes),
            }),
        ];
        for m in backend {
            let mut buf = BytesMut::new();
            m.encode(&mut buf);
            prop_assert_eq!(BackendDecoder::new().decode(&mut buf), Ok(Some(m)));
        }
        let frontend = [
            FrontendMessage::Parse(Parse {
                name: "s".into(),
                query: "q".into(),
                param_types: types,
            }),
            FrontendMessage::Bind(Bind {
                portal: "".into(),
                statement: "s".into(),
                param_formats: FormatCodes::from_codes(&codes),
                params: ValueList::from_values(row),
                result_formats: FormatCodes::from_codes(&codes),
            }),
        ];
        for m in frontend {
            let mut buf = BytesMut::new();
            m.encode(&mut buf);
            prop_assert_eq!(FrontendDecoder::new_typed().decode(&mut buf), Ok(Some(m)));
        }
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Whatever the body of a well-framed message, the error (if any) is
    /// recoverable, names the frame's type byte and leaves the next message
    /// (a Sync) intact: the server can answer ERROR and go on.
    #[test]
    fn well_framed_bad_bodies_are_recoverable(
        tag in prop::sample::select(b"QPBDECSHdcfFp".to_vec()),
        body in vec(any::<u8>(), 0..40),
    ) {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&[tag]);
        buf.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        buf.extend_from_slice(&body);
        Sync.encode(&mut buf);
        let mut d = FrontendDecoder::new_typed();
        match d.decode(&mut buf) {
            Ok(Some(m)) => prop_assert_eq!(m.type_byte(), Some(tag)),
            Ok(None) => prop_assert!(false, "a whole frame was not decoded"),
            Err(e) => {
                prop_assert!(e.is_recoverable(), "{:?}", e);
                prop_assert_eq!(e.tag(), Some(tag));
            }
        }
        prop_assert_eq!(d.decode(&mut buf), Ok(Some(FrontendMessage::Sync(Sync))));
        prop_assert!(buf.is_empty());
    }
}
