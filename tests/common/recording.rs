//! The SQLite example's handlers, recording the `ClientInfo` of every
//! session: for tests of what the server learned about a connection
//! (Unix socket, PROXY protocol). Included with `#[path]` next to the
//! `sqlite_server` module.

use std::sync::{Arc, Mutex};

use pgwire::api::auth::Authenticator;
use pgwire::api::{ClientInfo, CopySupport, ExtendedQuerySupport, ServerHandlers, Session};
use pgwire::error::ErrorInfo;

use crate::sqlite_server::{DbLocation, SqliteServer, SqliteSession};

pub struct Recording {
    inner: SqliteServer,
    pub seen: Arc<Mutex<Vec<ClientInfo>>>,
}

impl Recording {
    pub fn new() -> (Recording, Arc<Mutex<Vec<ClientInfo>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        (
            Recording {
                inner: SqliteServer::new(DbLocation::Memory),
                seen: seen.clone(),
            },
            seen,
        )
    }
}

impl ServerHandlers for Recording {
    type Handler = SqliteSession;

    async fn authenticate(&self, auth: &mut Authenticator<'_>) -> Result<(), ErrorInfo> {
        self.inner.authenticate(auth).await
    }

    async fn connect(&self, session: &mut Session) -> Result<SqliteSession, ErrorInfo> {
        self.seen.lock().unwrap().push(session.client().clone());
        self.inner.connect(session).await
    }

    // The wrapped server's choices, whatever they are.
    fn extended_query() -> impl ExtendedQuerySupport<SqliteSession> {
        SqliteServer::extended_query()
    }

    fn copy() -> impl CopySupport<SqliteSession> {
        SqliteServer::copy()
    }
}
