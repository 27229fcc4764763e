//! LISTEN / NOTIFY between the sessions of one server, with PostgreSQL's
//! transaction rules: notifications sent in a transaction (by `NOTIFY` or
//! `pg_notify()`) are delivered when it commits and dropped if it rolls
//! back, identical ones sent in one transaction are delivered once, and a
//! `LISTEN`/`UNLISTEN` in a transaction takes effect at commit.
//!
//! The [`Hub`] (one per server) maps channels to the sessions listening on
//! them; a session's [`Notifier`] holds what its open transaction will
//! send and change, and leaves the hub when the session ends.
//! `pg_notify()` runs on the session's SQLite worker thread, so what it
//! queues is behind a mutex both sides share.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use pgwire::api::{Response, Session, SessionHandle, Tag};
use pgwire::error::{ErrorInfo, Severity, SqlState};
use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;

use super::sql::{self, Tok, ident_value, string_value};

/// PostgreSQL's limit on a channel name (NAMEDATALEN - 1 bytes).
const MAX_IDENTIFIER: usize = 63;

/// PostgreSQL refuses payloads of this many bytes or more.
const MAX_PAYLOAD: usize = 8000;

/// Who listens on what, for every session of a server.
#[derive(Debug, Default)]
pub struct Hub {
    channels: Mutex<HashMap<String, HashMap<i32, SessionHandle>>>,
}

impl Hub {
    fn listen(&self, channel: &str, handle: &SessionHandle) {
        if let Ok(mut c) = self.channels.lock() {
            c.entry(channel.to_owned())
                .or_default()
                .insert(handle.process_id(), handle.clone());
        }
    }

    fn unlisten(&self, channel: &str, pid: i32) {
        if let Ok(mut c) = self.channels.lock() {
            if let Some(l) = c.get_mut(channel) {
                l.remove(&pid);
                if l.is_empty() {
                    c.remove(channel);
                }
            }
        }
    }

    /// Delivers committed notifications from session `sender` to every
    /// session listening on their channels (the sender included, as
    /// PostgreSQL does).
    fn deliver(&self, sender: i32, notes: &[(String, String)]) {
        for (channel, payload) in notes {
            // Handles are cloned out so no lock is held while queueing.
            let listeners: Vec<SessionHandle> = match self.channels.lock() {
                Ok(c) => c
                    .get(channel)
                    .map(|l| l.values().cloned().collect())
                    .unwrap_or_default(),
                Err(_) => return,
            };
            for l in listeners {
                // A session that stopped reading loses notifications
                // rather than blocking the sender (PostgreSQL's queue is
                // bounded too).
                if let Err(e) = l.notify(sender, channel.clone(), payload.clone()) {
                    tracing::debug!(pid = l.process_id(), %e, "notification not queued");
                }
            }
        }
    }
}

/// Notifications queued by the open transaction, shared with the
/// `pg_notify()` function on the worker thread.
pub type PendingNotes = Arc<Mutex<Vec<(String, String)>>>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum ListenChange {
    Listen(String),
    Unlisten(String),
    UnlistenAll,
}

/// A session's side of LISTEN/NOTIFY.
#[derive(Debug)]
pub struct Notifier {
    hub: Arc<Hub>,
    handle: SessionHandle,
    /// Channels this session listens on (committed).
    listening: HashSet<String>,
    /// LISTEN/UNLISTEN of the open transaction, applied at commit.
    changes: Vec<ListenChange>,
    pending: PendingNotes,
}

impl Notifier {
    /// The notifier of the session `session` on the server's `hub`.
    pub fn new(hub: Arc<Hub>, session: &Session) -> Self {
        Notifier {
            hub,
            handle: session.handle(),
            listening: HashSet::new(),
            changes: Vec::new(),
            pending: PendingNotes::default(),
        }
    }

    /// What `pg_notify()` on this session's connection queues into.
    pub fn pending(&self) -> PendingNotes {
        self.pending.clone()
    }

    /// The open transaction (or the statement, outside a block) ended:
    /// deliver its notifications and apply its LISTEN changes if it
    /// committed, forget them if not.
    pub fn end_transaction(&mut self, committed: bool) {
        let notes = match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => Vec::new(),
        };
        let changes = std::mem::take(&mut self.changes);
        if !committed {
            return;
        }
        for c in changes {
            self.apply(c);
        }
        if !notes.is_empty() {
            self.hub.deliver(self.handle.process_id(), &notes);
        }
    }

    fn apply(&mut self, change: ListenChange) {
        let pid = self.handle.process_id();
        match change {
            ListenChange::Listen(ch) => {
                if self.listening.insert(ch.clone()) {
                    self.hub.listen(&ch, &self.handle);
                }
            }
            ListenChange::Unlisten(ch) => {
                if self.listening.remove(&ch) {
                    self.hub.unlisten(&ch, pid);
                }
            }
            ListenChange::UnlistenAll => {
                for ch in self.listening.drain() {
                    self.hub.unlisten(&ch, pid);
                }
            }
        }
    }

    /// Runs LISTEN, UNLISTEN or NOTIFY. In a transaction block their effect
    /// waits for COMMIT. `notice`: the notice parsing produced (a channel
    /// name truncated).
    pub fn run(
        &mut self,
        session: &Session,
        cmd: &NotifyCommand,
        notice: Option<&str>,
        in_block: bool,
    ) -> Response {
        // PostgreSQL's lexer warns before the statement runs.
        if let Some(n) = notice {
            session.send_notice(
                ErrorInfo::new(SqlState::NAME_TOO_LONG, n.to_owned())
                    .with_severity(Severity::Notice),
            );
        }
        let (change, tag) = match cmd {
            NotifyCommand::Listen(ch) => (ListenChange::Listen(ch.clone()), "LISTEN"),
            NotifyCommand::Unlisten(Some(ch)) => (ListenChange::Unlisten(ch.clone()), "UNLISTEN"),
            NotifyCommand::Unlisten(None) => (ListenChange::UnlistenAll, "UNLISTEN"),
            NotifyCommand::Notify { channel, payload } => {
                // Delivered when the transaction ends: at COMMIT, or
                // outside a block at the end of the query string (simple
                // protocol) or at Sync (extended protocol).
                if let Err(e) = queue(&self.pending, channel, payload) {
                    return e.into();
                }
                return Tag::new("NOTIFY").into();
            }
            NotifyCommand::Invalid(m) => {
                return ErrorInfo::new(SqlState::SYNTAX_ERROR, m.clone()).into();
            }
        };
        if in_block {
            self.changes.push(change);
        } else {
            self.apply(change);
        }
        Tag::new(tag).into()
    }
}

impl Drop for Notifier {
    /// The session ended: it listens no more.
    fn drop(&mut self) {
        self.apply(ListenChange::UnlistenAll);
    }
}

/// Checks a notification as PostgreSQL does and queues it, once.
fn queue(pending: &PendingNotes, channel: &str, payload: &str) -> Result<(), ErrorInfo> {
    let invalid = |m: &'static str| ErrorInfo::new(SqlState::INVALID_PARAMETER_VALUE, m);
    if channel.is_empty() {
        return Err(invalid("channel name cannot be empty"));
    }
    if channel.len() > MAX_IDENTIFIER {
        return Err(invalid("channel name too long"));
    }
    if payload.len() >= MAX_PAYLOAD {
        return Err(invalid("payload string too long"));
    }
    let mut p = pending
        .lock()
        .map_err(|_| ErrorInfo::new(SqlState::INTERNAL_ERROR, "notification queue poisoned"))?;
    if !p.iter().any(|(c, m)| c == channel && m == payload) {
        p.push((channel.to_owned(), payload.to_owned()));
    }
    Ok(())
}

/// Truncates an identifier to 63 bytes (on a character boundary), as
/// PostgreSQL does; returns the notice it sends when it does.
fn truncate_ident(name: String) -> (String, Option<String>) {
    if name.len() <= MAX_IDENTIFIER {
        return (name, None);
    }
    let mut end = MAX_IDENTIFIER;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let short = name[..end].to_owned();
    let notice = format!("identifier \"{name}\" will be truncated to \"{short}\"");
    (short, Some(notice))
}

/// LISTEN, UNLISTEN and NOTIFY, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyCommand {
    /// `LISTEN channel`.
    Listen(String),
    /// `UNLISTEN channel` (`None`: `UNLISTEN *`).
    Unlisten(Option<String>),
    /// `NOTIFY channel [, 'payload']`.
    Notify {
        /// The channel.
        channel: String,
        /// The payload (empty if none).
        payload: String,
    },
    /// A statement that does not parse: the syntax error to report.
    Invalid(String),
}

/// Parses LISTEN / UNLISTEN / NOTIFY text (the first word already tells
/// which). Long channel names are truncated; the notice comes with the
/// result.
pub fn parse(text: &str) -> (NotifyCommand, Option<String>) {
    let toks = sql::significant(text);
    let syntax = |at: Option<&str>| {
        let m = match at {
            Some(t) => format!("syntax error at or near \"{t}\""),
            None => "syntax error at end of input".to_owned(),
        };
        (NotifyCommand::Invalid(m), None)
    };
    let first = toks
        .first()
        .map(|t| t.text.to_ascii_lowercase())
        .unwrap_or_default();
    let Some(ch_tok) = toks.get(1) else {
        return syntax(None);
    };
    if first == "unlisten" && ch_tok.kind == Tok::Op && ch_tok.text == "*" {
        return match toks.get(2) {
            None => (NotifyCommand::Unlisten(None), None),
            Some(t) => syntax(Some(t.text)),
        };
    }
    if !matches!(ch_tok.kind, Tok::Word | Tok::QuotedIdent) {
        return syntax(Some(ch_tok.text));
    }
    if ch_tok.kind == Tok::QuotedIdent && ch_tok.text.len() <= 2 {
        return (
            NotifyCommand::Invalid(format!(
                "zero-length delimited identifier at or near \"{}\"",
                ch_tok.text
            )),
            None,
        );
    }
    let (channel, notice) = truncate_ident(ident_value(ch_tok));
    let cmd = match first.as_str() {
        "listen" => match toks.get(2) {
            None => NotifyCommand::Listen(channel),
            Some(t) => return syntax(Some(t.text)),
        },
        "unlisten" => match toks.get(2) {
            None => NotifyCommand::Unlisten(Some(channel)),
            Some(t) => return syntax(Some(t.text)),
        },
        _ => match (toks.get(2), toks.get(3), toks.get(4)) {
            (None, _, _) => NotifyCommand::Notify {
                channel,
                payload: String::new(),
            },
            (Some(c), Some(p), None) if c.kind == Tok::Comma && p.kind == Tok::Str => {
                NotifyCommand::Notify {
                    channel,
                    payload: string_value(p.text),
                }
            }
            (Some(c), Some(p), _) if c.kind == Tok::Comma => return syntax(Some(p.text)),
            (Some(c), None, _) if c.kind == Tok::Comma => return syntax(None),
            (Some(t), _, _) => return syntax(Some(t.text)),
        },
    };
    (cmd, notice)
}

/// Registers `pg_notify(channel, payload)` on a session's connection: it
/// queues into `pending`, delivered when the transaction commits.
pub fn register(conn: &Connection, pending: PendingNotes) -> rusqlite::Result<()> {
    conn.create_scalar_function("pg_notify", 2, FunctionFlags::SQLITE_UTF8, move |ctx| {
        let text = |i: usize| -> rusqlite::Result<String> {
            Ok(match ctx.get_raw(i) {
                rusqlite::types::ValueRef::Null => String::new(),
                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                    String::from_utf8_lossy(t).into_owned()
                }
                rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                rusqlite::types::ValueRef::Real(f) => f.to_string(),
            })
        };
        let (channel, payload) = (text(0)?, text(1)?);
        queue(&pending, &channel, &payload)
            .map_err(|e| rusqlite::Error::UserFunctionError(e.message().to_owned().into()))?;
        // pg_notify returns void, which prints as an empty string.
        Ok(String::new())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse("LISTEN Foo").0, NotifyCommand::Listen("foo".into()));
        assert_eq!(
            parse("unlisten \"Foo\"").0,
            NotifyCommand::Unlisten(Some("Foo".into()))
        );
        assert_eq!(parse("unlisten *").0, NotifyCommand::Unlisten(None));
        assert_eq!(
            parse("notify c, 'it''s'").0,
            NotifyCommand::Notify {
                channel: "c".into(),
                payload: "it's".into()
            }
        );
        assert!(matches!(parse("notify c,").0, NotifyCommand::Invalid(_)));
        assert!(matches!(parse("notify \"\"").0, NotifyCommand::Invalid(_)));
        let (cmd, notice) = parse(&format!("listen {}", "a".repeat(70)));
        assert_eq!(cmd, NotifyCommand::Listen("a".repeat(63)));
        assert!(notice.is_some());
    }
}
