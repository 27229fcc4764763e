//! Who logs in, and how the proxy logs in to the backends as them: the
//! users configured (`--user`, `--users-file`) and, with `--auth-user`,
//! any other user PostgreSQL knows, looked up with `--auth-query` at each
//! login (as PgBouncer's `auth_user` and `auth_query`).
//!
//! A user known by a SCRAM verifier only (given so, or looked up) has no
//! password here: its clients' proofs reveal the SCRAM keys, with which
//! the proxy logs in to backends storing that same verifier.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pgwire::api::auth::{Credential, ScramKeys, ScramVerifier};
use pgwire::error::{ErrorInfo, SqlState};

use super::config::ProxyConfig;

/// What the proxy proves to a backend to log in as a user.
#[derive(Debug, Clone)]
pub enum BackendSecret {
    /// The user's password.
    Password(String),
    /// The SCRAM keys a client of this user proved it holds.
    Keys(ScramKeys),
}

/// The users and what the proxy knows of their secrets.
pub struct Users {
    config: Arc<ProxyConfig>,
    /// Users without a password here: the verifier their last client was
    /// checked against, and the keys it proved.
    proven: Mutex<HashMap<String, (ScramVerifier, ScramKeys)>>,
    /// The `--auth-query` connection, opened at the first lookup and kept.
    lookup: tokio::sync::Mutex<Option<pgwire::client::Client>>,
}

impl Users {
    /// The users of `config`.
    pub fn new(config: Arc<ProxyConfig>) -> Users {
        Users {
            config,
            proven: Mutex::new(HashMap::new()),
            lookup: tokio::sync::Mutex::new(None),
        }
    }

    /// The credential `user` logs in to the proxy with: a configured
    /// user's, else, with `--auth-user`, the SCRAM verifier `--auth-query`
    /// finds in PostgreSQL. `Ok(None)` for an unknown user (who then fails
    /// like a wrong password). A lookup that cannot be made is an error.
    pub async fn credential(&self, user: &str) -> Result<Option<Credential>, ErrorInfo> {
        if let Some(c) = self.config.credential_of(user, self.config.auth) {
            return Ok(Some(c));
        }
        if self.config.auth_user.is_none() {
            return Ok(None);
        }
        Ok(self.look_up(user).await?.map(Credential::Scram))
    }

    /// Records the keys a client of `user` proved against `verifier`, if
    /// the proxy has no password for `user` (the keys are then how it
    /// logs in to the backends).
    pub fn proven(&self, user: &str, verifier: &ScramVerifier, keys: &ScramKeys) {
        if self
            .config
            .find_user(user)
            .is_some_and(|u| u.password.is_some())
        {
            return;
        }
        self.proven
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(user.to_owned(), (verifier.clone(), keys.clone()));
    }

    /// What the proxy logs in to the backends as `user` with: its
    /// password, else the keys its last client proved (`None` before any
    /// did).
    pub fn backend_secret(&self, user: &str) -> Option<BackendSecret> {
        if let Some(p) = self.config.find_user(user).and_then(|u| u.password.clone()) {
            return Some(BackendSecret::Password(p));
        }
        self.proven
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
            .map(|(_, keys)| BackendSecret::Keys(keys.clone()))
    }

    /// Runs `--auth-query` for `user` on the primary, as `--auth-user`,
    /// in `--auth-dbname`: its second column is the stored password. A
    /// SCRAM verifier is returned; no row, a NULL or an MD5 hash is an
    /// unknown user here.
    async fn look_up(&self, user: &str) -> Result<Option<ScramVerifier>, ErrorInfo> {
        let mut conn = self.lookup.lock().await;
        // One retry on a fresh connection: the kept one may have been
        // closed (a backend restart, an idle timeout).
        let mut attempt = 0;
        let stored = loop {
            attempt += 1;
            if conn.is_none() {
                let config = self.lookup_config()?;
                *conn = Some(
                    pgwire::client::Client::connect(&config)
                        .await
                        .map_err(|e| lookup_failed(user, &e))?,
                );
            }
            let client = conn.as_mut().expect("connected above");
            match client.query_sql(&self.config.auth_query, &[&user]).await {
                Ok(rows) => {
                    break rows
                        .first()
                        .and_then(|row| row.try_get::<Option<String>>(1).ok().flatten());
                }
                Err(e) => {
                    *conn = None;
                    if attempt > 1 || e.as_db_error().is_some() {
                        return Err(lookup_failed(user, &e));
                    }
                }
            }
        };
        drop(conn);
        let Some(stored) = stored else {
            tracing::info!(user, "--auth-query found no password for the user");
            return Ok(None);
        };
        match stored.parse::<ScramVerifier>() {
            Ok(v) if stored.starts_with("SCRAM-SHA-256$") => Ok(Some(v)),
            _ => {
                tracing::info!(
                    user,
                    "--auth-query found a password that is not a SCRAM-SHA-256 verifier"
                );
                Ok(None)
            }
        }
    }

    /// The connection settings of the lookups: the primary, as the auth
    /// user (a configured user with a password), in the auth database.
    fn lookup_config(&self) -> Result<pgwire::client::Config, ErrorInfo> {
        let name = self.config.auth_user.as_deref().unwrap_or_default();
        let password = self
            .config
            .find_user(name)
            .and_then(|u| u.password.as_deref())
            .unwrap_or_default();
        let fail = |e: pgwire::client::Error| {
            ErrorInfo::fatal(
                SqlState::CONNECTION_EXCEPTION,
                format!("--auth-user connection: {e}"),
            )
        };
        let mut config = pgwire::client::Config::parse(&self.config.primary).map_err(fail)?;
        config.set("user", name).map_err(fail)?;
        config.set("password", password).map_err(fail)?;
        config
            .set("dbname", &self.config.auth_dbname)
            .map_err(fail)?;
        config
            .set("application_name", "pgwire-proxy auth_query")
            .map_err(fail)?;
        if !self.config.primary.contains("connect_timeout") {
            config.set("connect_timeout", "5").map_err(fail)?;
        }
        Ok(config)
    }
}

/// The client's error when a user could not be looked up.
fn lookup_failed(user: &str, e: &pgwire::client::Error) -> ErrorInfo {
    tracing::warn!(user, "--auth-query failed: {e}");
    ErrorInfo::fatal(
        SqlState::CONNECTION_FAILURE,
        format!("cannot look up user \"{user}\": {e}"),
    )
}
