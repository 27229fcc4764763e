//! A change-data-capture consumer: streams a PostgreSQL logical
//! replication slot (`pgoutput`) and prints one JSON object per change.
//!
//! ```sh
//! # postgresql.conf: wal_level = logical
//! psql -c 'CREATE PUBLICATION p FOR ALL TABLES'
//! cargo run --release --example logical_consumer -- \
//!     'host=localhost user=postgres dbname=postgres' --slot s --publication p --create-slot
//! ```
//!
//! Each line is one message of the stream:
//!
//! ```text
//! {"lsn":"0/16B3748","op":"begin","xid":740}
//! {"lsn":"0/16B3748","op":"insert","table":"public.t","new":{"id":1,"v":"a"}}
//! {"lsn":"0/16B37C0","op":"update","table":"public.t","old":{"id":1,"v":null},"new":{"id":2,"v":"a"}}
//! {"lsn":"0/16B3800","op":"delete","table":"public.t","old":{"id":2,"v":null}}
//! {"lsn":"0/16B3900","op":"truncate","table":"public.t","tables":["public.t"]}
//! {"lsn":"0/16B3950","op":"message","prefix":"p","content":"hi","transactional":true}
//! {"lsn":"0/16B3990","op":"commit","end_lsn":"0/16B39C0"}
//! ```
//!
//! Integers, floats, numerics and booleans print as JSON numbers and
//! booleans, everything else as strings; an unchanged TOASTed value (an
//! UPDATE that did not touch it) is left out of `new` and named in
//! `"unchanged"`. A transaction is acknowledged to the server (the slot's
//! `confirmed_flush_lsn`) only after its commit line was written and
//! flushed, so a restart resumes after the last printed transaction.
//!
//! Options: `--create-slot` creates the slot first; `--start LSN` resumes
//! after a position the caller kept (PostgreSQL 15 may restart a slot
//! from an older position after a server restart: transactions committed
//! before LSN are then skipped by the server); `--limit N` stops after N
//! lines (at the end of a transaction); `--status-interval-ms` sets how
//! often positions are reported (default 10000).
//! `replication=database` is added to the connection string.

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use pgwire::client::{Client, Config, Error, LogicalReplicationStream};
use pgwire::replication::pgoutput::{OldTuple, Relation};
use pgwire::replication::pgoutput_options::{PgOutputOptions, split_identifiers};
use pgwire::replication::{Lsn, PgOutputMessage, TupleData, TupleValue};

/// Command-line arguments.
#[derive(Debug, Clone)]
pub struct Args {
    /// The libpq connection string or URL.
    pub conninfo: String,
    /// The slot to stream.
    pub slot: String,
    /// The publication(s), comma-separated.
    pub publication: String,
    /// Create the slot first.
    pub create_slot: bool,
    /// Stop after this many lines, at a transaction boundary.
    pub limit: Option<u64>,
    /// Where to start (`0/0`: the slot's confirmed position).
    pub start: Lsn,
    /// How often positions are reported.
    pub status_interval: Duration,
}

/// Parses `<conninfo> --slot NAME --publication NAME [--create-slot]
/// [--start LSN] [--limit N] [--status-interval-ms N]`.
pub fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let usage = "usage: logical_consumer '<connection string>' --slot NAME --publication NAME \
                 [--create-slot] [--start LSN] [--limit N] [--status-interval-ms N]";
    let mut conninfo = None;
    let (mut slot, mut publication) = (None, None);
    let mut create_slot = false;
    let mut limit = None;
    let mut start = Lsn::INVALID;
    let mut status_interval = Duration::from_secs(10);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value\n{usage}"));
        match a.as_str() {
            "--slot" => slot = Some(value("--slot")?),
            "--publication" => publication = Some(value("--publication")?),
            "--create-slot" => create_slot = true,
            "--start" => {
                start = value("--start")?
                    .parse()
                    .map_err(|e| format!("--start: {e}"))?
            }
            "--limit" => {
                limit = Some(
                    value("--limit")?
                        .parse()
                        .map_err(|_| "--limit: not a number")?,
                )
            }
            "--status-interval-ms" => {
                let ms: u64 = value("--status-interval-ms")?
                    .parse()
                    .map_err(|_| "--status-interval-ms: not a number")?;
                status_interval = Duration::from_millis(ms.max(1));
            }
            "-h" | "--help" => return Err(usage.to_owned()),
            other if other.starts_with("--") => {
                return Err(format!("unknown option {other}\n{usage}"));
            }
            other if conninfo.is_none() => conninfo = Some(other.to_owned()),
            other => return Err(format!("unexpected argument {other:?}\n{usage}")),
        }
    }
    Ok(Args {
        conninfo: conninfo.ok_or(usage)?,
        slot: slot.ok_or(usage)?,
        publication: publication.ok_or(usage)?,
        create_slot,
        limit,
        start,
        status_interval,
    })
}

/// Appends `s` as a JSON string.
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Is `s` a number JSON can hold as written (not NaN or Infinity)?
fn is_json_number(s: &str) -> bool {
    let b = s.strip_prefix('-').unwrap_or(s).as_bytes();
    let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if int_len == 0 || (int_len > 1 && b[0] == b'0') {
        return false;
    }
    let mut rest = &b[int_len..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    if let Some(exp) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exp = exp
            .strip_prefix(b"+")
            .or_else(|| exp.strip_prefix(b"-"))
            .unwrap_or(exp);
        return !exp.is_empty() && exp.iter().all(u8::is_ascii_digit);
    }
    rest.is_empty()
}

/// One column value as JSON, using the column's type for numbers and
/// booleans.
fn json_value(out: &mut String, type_oid: u32, v: &TupleValue<'_>) {
    match v {
        TupleValue::Null | TupleValue::UnchangedToast => out.push_str("null"),
        TupleValue::Text(b) => {
            let text = String::from_utf8_lossy(b);
            match type_oid {
                // bool
                16 => out.push_str(if text == "t" { "true" } else { "false" }),
                // int2, int4, int8, oid, float4, float8, numeric
                21 | 23 | 20 | 26 | 700 | 701 | 1700 if is_json_number(&text) => {
                    out.push_str(&text)
                }
                _ => json_str(out, &text),
            }
        }
        TupleValue::Binary(b) => {
            let mut hex = String::with_capacity(2 + b.len() * 2);
            hex.push_str("\\x");
            for byte in *b {
                let _ = write!(hex, "{byte:02x}");
            }
            json_str(out, &hex);
        }
    }
}

/// `{"col": value, ...}`; names of unchanged TOASTed columns go to
/// `unchanged`.
fn json_tuple(
    out: &mut String,
    rel: Option<&Relation>,
    t: &TupleData,
    unchanged: &mut Vec<String>,
) {
    out.push('{');
    let mut first = true;
    for (i, v) in t.iter().enumerate() {
        let column = rel.and_then(|r| r.columns.get(i));
        let name = column.map_or_else(|| format!("column{}", i + 1), |c| c.name.to_string());
        if v == TupleValue::UnchangedToast {
            unchanged.push(name);
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        json_str(out, &name);
        out.push(':');
        json_value(out, column.map_or(0, |c| c.type_oid), &v);
    }
    out.push('}');
}

fn table_name(rel: Option<&Relation>, oid: u32) -> String {
    match rel {
        Some(r) if r.namespace.is_empty() => r.name.to_string(),
        Some(r) => format!("{}.{}", r.namespace, r.name),
        None => format!("oid:{oid}"),
    }
}

/// The JSON line of a message (without newline); `None` for messages
/// that are not changes (Relation, Type, Origin...).
pub fn json_line(
    stream: &LogicalReplicationStream<'_>,
    lsn: Lsn,
    m: &PgOutputMessage,
) -> Option<String> {
    let mut out = String::with_capacity(128);
    let _ = write!(out, "{{\"lsn\":\"{lsn}\",\"op\":");
    let change = |out: &mut String, op: &str, oid: u32| {
        let rel = stream.relation(oid);
        let _ = write!(out, "\"{op}\",\"table\":");
        json_str(out, &table_name(rel, oid));
        rel
    };
    let mut unchanged = Vec::new();
    match m {
        PgOutputMessage::Begin(b) => {
            let _ = write!(out, "\"begin\",\"xid\":{}", b.xid);
        }
        PgOutputMessage::Commit(c) => {
            let _ = write!(out, "\"commit\",\"end_lsn\":\"{}\"", c.end_lsn);
        }
        PgOutputMessage::Insert(i) => {
            let rel = change(&mut out, "insert", i.relation_oid);
            out.push_str(",\"new\":");
            json_tuple(&mut out, rel, &i.new, &mut unchanged);
        }
        PgOutputMessage::Update(u) => {
            let rel = change(&mut out, "update", u.relation_oid);
            if let Some(old) = &u.old {
                out.push_str(",\"old\":");
                json_tuple(&mut out, rel, old.tuple(), &mut Vec::new());
                if matches!(old, OldTuple::Key(_)) {
                    out.push_str(",\"old_is_key\":true");
                }
            }
            out.push_str(",\"new\":");
            json_tuple(&mut out, rel, &u.new, &mut unchanged);
        }
        PgOutputMessage::Delete(d) => {
            let rel = change(&mut out, "delete", d.relation_oid);
            out.push_str(",\"old\":");
            json_tuple(&mut out, rel, d.old.tuple(), &mut Vec::new());
        }
        PgOutputMessage::Truncate(t) => {
            let names: Vec<String> = t
                .relation_oids
                .iter()
                .map(|oid| table_name(stream.relation(*oid), *oid))
                .collect();
            out.push_str("\"truncate\",\"table\":");
            json_str(&mut out, names.first().map_or("", String::as_str));
            out.push_str(",\"tables\":[");
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_str(&mut out, n);
            }
            out.push(']');
            if t.cascade() {
                out.push_str(",\"cascade\":true");
            }
            if t.restart_identity() {
                out.push_str(",\"restart_identity\":true");
            }
        }
        PgOutputMessage::Message(msg) => {
            out.push_str("\"message\",\"prefix\":");
            json_str(&mut out, &msg.prefix);
            out.push_str(",\"content\":");
            json_str(&mut out, &String::from_utf8_lossy(&msg.content));
            let _ = write!(out, ",\"transactional\":{}", msg.transactional());
        }
        _ => return None,
    }
    if !unchanged.is_empty() {
        out.push_str(",\"unchanged\":[");
        for (i, n) in unchanged.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_str(&mut out, n);
        }
        out.push(']');
    }
    out.push('}');
    Some(out)
}

/// Streams the slot, writing JSON lines to `out`; returns the number of
/// lines written.
pub async fn run(args: &Args, out: &mut impl Write) -> Result<u64, Error> {
    let mut config = Config::parse(&args.conninfo)?;
    if !config.extra_params.iter().any(|(k, _)| k == "replication") {
        config.param("replication", "database");
    }
    let mut client = Client::connect(&config).await?;
    if args.create_slot {
        client
            .create_logical_slot(&args.slot, "pgoutput", false)
            .await?;
    }
    let publications = split_identifiers(&args.publication).ok_or_else(|| {
        Error::Usage(format!(
            "--publication: not a list of names: {}",
            args.publication
        ))
    })?;
    let mut options = PgOutputOptions::new(1, publications);
    options.messages = true;
    let mut stream = client
        .start_pgoutput_replication(&args.slot, args.start, &options)
        .await?;
    stream.set_status_interval(args.status_interval);
    let mut lines = 0u64;
    while let Some(event) = stream.next().await? {
        if let Some(line) = json_line(&stream, event.wal_start, &event.message) {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
            lines += 1;
        }
        // Acknowledge only what is printed: flush, then confirm.
        if let Some(lsn) = event.confirm_lsn() {
            out.flush()?;
            stream.confirm(lsn);
            if args.limit.is_some_and(|limit| lines >= limit) {
                break;
            }
        }
    }
    out.flush()?;
    stream.finish().await?;
    client.close().await?;
    Ok(lines)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    match run(&args, &mut out).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            eprintln!("ERROR {}: {e}", e.sqlstate());
            ExitCode::FAILURE
        }
    }
}
