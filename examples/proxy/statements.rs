//! What a client has sent and not yet had answered, and its named prepared
//! statements, so that they survive transaction pooling.
//!
//! Under transaction pooling a client's next transaction may run on any
//! backend connection. A named Parse is therefore remembered per client
//! and sent to backends as `pgw_<hash>`, the hash of its query and
//! parameter types: a backend that already has it needs no new Parse
//! (clients preparing the same query share it), and one that lacks it gets
//! the Parse injected before the Bind or Describe that needs it. The
//! ParseComplete of an injected Parse, and the answers the proxy gives
//! itself, must fit into the backend's answers in order: [`Pending`]
//! tracks every message whose answer is still owed.

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use super::query_effects::SettingChanges;

/// A message sent (or answered by the proxy itself) whose answer the
/// client has not had yet, in order.
#[derive(Debug, Clone)]
pub enum Pending {
    /// A Parse: answered by ParseComplete. `hash` when it prepares a
    /// renamed statement; `injected` when the client did not send it (its
    /// ParseComplete is swallowed).
    Parse {
        hash: Option<u64>,
        injected: bool,
    },
    /// A Close the proxy sent before an injected Parse (CloseComplete
    /// swallowed).
    InjectedClose,
    /// Bind, Close: one answer each.
    Bind,
    Close,
    /// Describe: ParameterDescription, then RowDescription or NoData.
    Describe,
    /// Execute: rows, then CommandComplete, EmptyQueryResponse or
    /// PortalSuspended (or an error).
    Execute,
    /// Sync: ReadyForQuery.
    Sync,
    /// Query, FunctionCall: everything up to ReadyForQuery.
    Query,
    /// `SET`s the proxy sent so the connection has the client's settings:
    /// everything up to its ReadyForQuery is swallowed.
    InjectedQuery,
    /// The proxy's query reading back the settings the client's
    /// transaction changed: everything up to its ReadyForQuery is
    /// swallowed, its row kept (see `followed_settings`).
    ReadSettings,
    /// The client ended a COPY FROM STDIN (CopyDone/CopyFail) before the
    /// backend's CopyInResponse arrived: Syncs sent before it are
    /// ignored by the backend during copy-in and get no ReadyForQuery.
    CopyEnd,
    /// Answers the proxy gives itself, sent when they reach the front.
    LocalParseComplete,
    LocalCloseComplete,
    /// A whole answer to a Query handled by the proxy (ending with
    /// ReadyForQuery).
    LocalReply(Bytes),
}

impl Pending {
    /// Ends a cycle: the point an error skips to.
    pub fn is_sync_point(&self) -> bool {
        matches!(
            self,
            Pending::Sync | Pending::Query | Pending::LocalReply(_)
        )
    }

    pub fn is_local(&self) -> bool {
        matches!(
            self,
            Pending::LocalParseComplete | Pending::LocalCloseComplete | Pending::LocalReply(_)
        )
    }
}

/// A named statement of one client.
#[derive(Debug, Clone)]
pub struct Statement {
    /// Its backend name is `pgw_<hash>`.
    pub hash: u64,
    /// The Parse body after the name: query, NUL, parameter types.
    pub definition: Bytes,
    /// The settings it changes each time it runs.
    pub settings: Option<Arc<SettingChanges>>,
    /// It is a `DROP DATABASE` or the like, which PostgreSQL refuses while
    /// another session is connected to the database: the proxy's idle
    /// connections to it are closed before each run, not only at its
    /// Parse (they may have been opened again since).
    pub needs_database_alone: bool,
}

/// One client's named statements, by the name it gave them.
#[derive(Debug, Default)]
pub struct Statements {
    by_name: HashMap<Box<[u8]>, Statement>,
}

impl Statements {
    pub fn get(&self, name: &[u8]) -> Option<&Statement> {
        self.by_name.get(name)
    }

    /// Records a Parse of `name` (changing `settings` when it runs, and
    /// see [`Statement::needs_database_alone`]); returns the statement's
    /// hash.
    pub fn define(
        &mut self,
        name: &[u8],
        definition: &[u8],
        settings: Option<Arc<SettingChanges>>,
        needs_database_alone: bool,
    ) -> u64 {
        let hash = statement_hash(definition);
        match self.by_name.get_mut(name) {
            Some(s) if s.hash == hash => {}
            Some(s) => {
                s.hash = hash;
                s.definition = Bytes::copy_from_slice(definition);
                s.settings = settings;
                s.needs_database_alone = needs_database_alone;
            }
            None => {
                self.by_name.insert(
                    name.into(),
                    Statement {
                        hash,
                        definition: Bytes::copy_from_slice(definition),
                        settings,
                        needs_database_alone,
                    },
                );
            }
        }
        hash
    }

    pub fn remove(&mut self, name: &[u8]) {
        self.by_name.remove(name);
    }

    pub fn clear(&mut self) {
        self.by_name.clear();
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }
}

/// The query text of a Parse `definition` (query, NUL, parameter types).
pub fn query_of(definition: &[u8]) -> &[u8] {
    cstr(definition).map_or(definition, |(query, _)| query)
}

/// The hash a statement is renamed by: its query and parameter types.
pub fn statement_hash(definition: &[u8]) -> u64 {
    // SipHash with fixed keys: the same on every run and every client.
    let mut h = std::hash::DefaultHasher::new();
    h.write(definition);
    h.finish()
}

/// Length of `pgw_` + 16 hex digits.
const RENAMED_LEN: usize = 20;

/// Writes the backend name of statement `hash` and its NUL.
pub fn put_renamed(buf: &mut BytesMut, hash: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.put_slice(b"pgw_");
    for i in (0..16).rev() {
        buf.put_u8(HEX[((hash >> (i * 4)) & 0xf) as usize]);
    }
    buf.put_u8(0);
}

/// Writes a Parse of statement `hash` with `definition`.
pub fn put_parse(buf: &mut BytesMut, hash: u64, definition: &[u8]) {
    buf.put_u8(b'P');
    buf.put_u32((4 + RENAMED_LEN + 1 + definition.len()) as u32);
    put_renamed(buf, hash);
    buf.put_slice(definition);
}

/// Writes a Close of statement `hash`.
pub fn put_close(buf: &mut BytesMut, hash: u64) {
    buf.put_u8(b'C');
    buf.put_u32((4 + 1 + RENAMED_LEN + 1) as u32);
    buf.put_u8(b'S');
    put_renamed(buf, hash);
}

/// Writes a Bind whose statement name is replaced by `pgw_<hash>`:
/// `portal` (with its NUL) and `rest` (after the statement name's NUL) as
/// the client sent them.
pub fn put_bind(buf: &mut BytesMut, portal: &[u8], hash: u64, rest: &[u8]) {
    buf.put_u8(b'B');
    buf.put_u32((4 + portal.len() + RENAMED_LEN + 1 + rest.len()) as u32);
    buf.put_slice(portal);
    put_renamed(buf, hash);
    buf.put_slice(rest);
}

/// Writes a Describe of statement `hash`.
pub fn put_describe(buf: &mut BytesMut, hash: u64) {
    buf.put_u8(b'D');
    buf.put_u32((4 + 1 + RENAMED_LEN + 1) as u32);
    buf.put_u8(b'S');
    put_renamed(buf, hash);
}

/// Splits a NUL-terminated string off the front of `b`: (string without
/// NUL, the rest after it).
pub fn cstr(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let nul = b.iter().position(|&c| c == 0)?;
    Some((&b[..nul], &b[nul + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renamed_frames_have_right_lengths() {
        let mut b = BytesMut::new();
        put_parse(&mut b, 0xabc, b"SELECT 1\0\0\0");
        assert_eq!(
            b.len(),
            1 + u32::from_be_bytes([b[1], b[2], b[3], b[4]]) as usize
        );
        assert_eq!(&b[5..25], b"pgw_0000000000000abc");
    }
}
