//! A session's prepared statements and portals, with PostgreSQL's
//! lifetimes: named statements until closed, the unnamed one until the
//! next unnamed Parse; named portals until the transaction ends, the
//! unnamed one until the next unnamed Bind or the transaction's end.

use std::collections::HashMap;
use std::sync::Arc;

use crate::api::{Portal, Rows, StoredStatement, Tag};
use crate::messages::ByteStr;
use crate::types::Schema;

/// Where a portal stands between Execute messages (kept beside the
/// portal, which handlers see and which must stay `Sync`).
pub(crate) enum PortalState {
    /// Not executed yet.
    Ready,
    /// An Execute hit its row limit; these rows remain. Boxed: a portal
    /// is moved in and out of the store at every Bind and Execute, and
    /// suspended ones are rare.
    Suspended(Box<SuspendedPortal>),
    /// Ran to completion.
    Done,
}

/// The rest of a result an Execute left at its row limit.
pub(crate) struct SuspendedPortal {
    pub(crate) schema: Schema,
    pub(crate) rows: Rows,
    pub(crate) tag: Tag,
    /// Rows sent by earlier Executes.
    pub(crate) sent: u64,
}

/// A portal and where its execution stands.
pub(crate) struct PortalEntry<S> {
    pub(crate) portal: Portal<S>,
    pub(crate) state: PortalState,
}

/// Where a portal is kept: a box that Execute takes out of the store and
/// puts back, moving a pointer rather than the portal. The unnamed portal's
/// box stays allocated for the session (emptied, not freed, when the portal
/// goes), so the extended query protocol allocates nothing per query.
pub(crate) type PortalSlot<S> = Box<Option<PortalEntry<S>>>;

pub(crate) struct StatementStore<S> {
    statements: HashMap<ByteStr, Arc<StoredStatement<S>>>,
    unnamed_statement: Option<Arc<StoredStatement<S>>>,
    /// The named statement used last (see `statement`).
    last_statement: Option<Arc<StoredStatement<S>>>,
    portals: HashMap<ByteStr, PortalSlot<S>>,
    /// `None` before the first unnamed Bind and while an Execute has it.
    unnamed_portal: Option<PortalSlot<S>>,
}

impl<S> StatementStore<S> {
    pub(crate) fn new() -> Self {
        StatementStore {
            statements: HashMap::new(),
            unnamed_statement: None,
            last_statement: None,
            portals: HashMap::new(),
            unnamed_portal: None,
        }
    }

    pub(crate) fn statement(&mut self, name: &ByteStr) -> Option<Arc<StoredStatement<S>>> {
        if name.is_empty() {
            return self.unnamed_statement.clone();
        }
        // Clients usually run the same named statement again and again: a
        // one-entry cache saves hashing the name each time.
        if let Some(hit) = &self.last_statement {
            if hit.name == *name {
                return Some(hit.clone());
            }
        }
        let found = self.statements.get(name).cloned();
        if found.is_some() {
            self.last_statement.clone_from(&found);
        }
        found
    }

    pub(crate) fn has_statement(&self, name: &ByteStr) -> bool {
        self.statements.contains_key(name)
    }

    pub(crate) fn statement_count(&self) -> usize {
        self.statements.len()
    }

    pub(crate) fn put_statement(&mut self, stored: Arc<StoredStatement<S>>) {
        if stored.name.is_empty() {
            self.unnamed_statement = Some(stored);
        } else {
            self.statements.insert(stored.name.clone(), stored);
        }
    }

    /// The unnamed statement, if nothing else holds it (no portal, no
    /// handler): a new unnamed Parse can then be stored in its place,
    /// keeping its allocation and, for the same SQL, its text.
    pub(crate) fn unnamed_statement_to_overwrite(&mut self) -> Option<&mut StoredStatement<S>> {
        self.unnamed_statement.as_mut().and_then(Arc::get_mut)
    }

    pub(crate) fn close_statement(&mut self, name: &ByteStr) {
        if name.is_empty() {
            self.unnamed_statement = None;
        } else {
            self.last_statement = None;
            self.statements.remove(name);
        }
    }

    pub(crate) fn has_portal(&self, name: &ByteStr) -> bool {
        self.portals.contains_key(name)
    }

    pub(crate) fn portal_count(&self) -> usize {
        self.portals.len()
    }

    /// Takes a portal out (in its slot, which holds it); put it back with
    /// [`StatementStore::put_portal`] to keep it.
    pub(crate) fn take_portal(&mut self, name: &ByteStr) -> Option<PortalSlot<S>> {
        if !name.is_empty() {
            return self.portals.remove(name);
        }
        let slot = self.unnamed_portal.take()?;
        if slot.is_none() {
            self.unnamed_portal = Some(slot);
            return None;
        }
        Some(slot)
    }

    /// Puts back a portal taken with [`StatementStore::take_portal`].
    pub(crate) fn put_portal(&mut self, slot: PortalSlot<S>) {
        match slot.as_ref() {
            Some(entry) if !entry.portal.name.is_empty() => {
                self.portals.insert(entry.portal.name.clone(), slot);
            }
            _ => self.unnamed_portal = Some(slot),
        }
    }

    /// An empty slot for a portal being bound: the unnamed portal's own
    /// (emptied: a Bind replaces the unnamed portal), or a new one.
    pub(crate) fn vacant_slot(&mut self, unnamed: bool) -> PortalSlot<S> {
        if unnamed {
            if let Some(mut slot) = self.unnamed_portal.take() {
                *slot = None;
                return slot;
            }
        }
        Box::new(None)
    }

    /// Closes a portal (nothing happens if it does not exist).
    pub(crate) fn close_portal(&mut self, name: &ByteStr) {
        if name.is_empty() {
            self.drop_unnamed_portal();
        } else {
            self.portals.remove(name);
        }
    }

    /// The unnamed portal is replaced by the next unnamed Bind.
    pub(crate) fn drop_unnamed_portal(&mut self) {
        if let Some(slot) = &mut self.unnamed_portal {
            **slot = None;
        }
    }

    /// The transaction ended: its portals go with it.
    pub(crate) fn end_transaction(&mut self) {
        self.drop_unnamed_portal();
        if !self.portals.is_empty() {
            self.portals.clear();
        }
    }
}
