//! Who logs in, and how the proxy logs in to the backends as them: the
//! users configured (`--user`, `--users-file`) and, with `--auth-user`,
//! any other user PostgreSQL knows, looked up with `--auth-query` at each
//! login (as PgBouncer's `auth_user` and `auth_query`).
//!
//! A user known by a SCRAM verifier only (given so, or looked up) has no
//! password here: its clients' proofs reveal the SCRAM keys, with which
//! the proxy logs in to backends storing that same verifier.
//!
//! `RELOAD` on the admin console (and SIGHUP to the binary) re-reads the
//! `--users-file`s: new users may log in, removed ones no longer can
//! (their sessions go on), and a changed password is used from the next
//! backend connection on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use pgwire::api::auth::{AuthMethod, Credential, ScramKeys, ScramVerifier};
use pgwire::error::{ErrorInfo, SqlState};

use super::config::{ProxyConfig, User, check_users, read_users_file};

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
    /// The users given (`--user`, `--users-file`), replaced by `reload`.
    listed: RwLock<Arc<Vec<User>>>,
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
            listed: RwLock::new(Arc::new(config.users.clone())),
            config,
            proven: Mutex::new(HashMap::new()),
            lookup: tokio::sync::Mutex::new(None),
        }
    }

    /// The given user named `user` (the first, where a name repeats).
    pub fn find(&self, user: &str) -> Option<User> {
        self.listed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|u| u.name == user)
            .cloned()
    }

    /// The names of the users given, for the admin console.
    pub fn names(&self) -> Vec<String> {
        let listed = self
            .listed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        listed.iter().map(|u| u.name.clone()).collect()
    }

    /// The users found by `--auth-query` that logged in (sorted).
    pub fn looked_up_names(&self) -> Vec<String> {
        let proven: Vec<String> = self
            .proven
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        let mut names: Vec<String> = proven
            .into_iter()
            .filter(|name| self.find(name).is_none())
            .collect();
        names.sort();
        names
    }

    /// Re-reads the `--users-file`s (the `--user`s stay). On an error
    /// (a file unreadable or malformed, a user that cannot serve) the
    /// users stay as they were. Returns how many users there are now.
    pub fn reload(&self) -> Result<usize, String> {
        let mut users: Vec<User> = self
            .config
            .users
            .iter()
            .filter(|u| !u.from_file)
            .cloned()
            .collect();
        for path in &self.config.users_files {
            users.extend(read_users_file(path)?);
        }
        check_users(&users, self.config.auth, self.config.auth_user.as_deref())?;
        let count = users.len();
        *self.listed.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(users);
        Ok(count)
    }

    /// The credential `user` logs in to the proxy with (authenticating
    /// with `method`): a given user's, else, with `--auth-user`, the SCRAM
    /// verifier `--auth-query` finds in PostgreSQL. `Ok(None)` for an
    /// unknown user (who then fails like a wrong password). A lookup that
    /// cannot be made is an error.
    pub async fn credential(
        &self,
        user: &str,
        method: AuthMethod,
    ) -> Result<Option<Credential>, ErrorInfo> {
        if let Some(u) = self.find(user) {
            return Ok(Some(u.credential(method)));
        }
        if self.config.auth_user.is_none() || method != AuthMethod::ScramSha256 {
            return Ok(None);
        }
        Ok(self.look_up(user).await?.map(Credential::Scram))
    }

    /// Records the keys a client of `user` proved against `verifier`, if
    /// the proxy has no password for `user` (the keys are then how it
    /// logs in to the backends).
    pub fn proven(&self, user: &str, verifier: &ScramVerifier, keys: &ScramKeys) {
        if self.find(user).is_some_and(|u| u.password.is_some()) {
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
        if let Some(p) = self.find(user).and_then(|u| u.password) {
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
                let config = self.lookup_config().map_err(|e| lookup_failed(user, &e))?;
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
    fn lookup_config(&self) -> Result<pgwire::client::Config, pgwire::client::Error> {
        let name = self.config.auth_user.as_deref().unwrap_or_default();
        let password = self.find(name).and_then(|u| u.password).unwrap_or_default();
        let mut config = pgwire::client::Config::parse(&self.config.primary)?;
        config.set("user", name)?;
        config.set("password", &password)?;
        config.set("dbname", &self.config.auth_dbname)?;
        config.set("application_name", "pgwire-proxy auth_query")?;
        if !self.config.primary.contains("connect_timeout") {
            config.set("connect_timeout", "5")?;
        }
        Ok(config)
    }
}

/// The client's error when a user could not be looked up: the cause is
/// logged, not told to a client that has not authenticated.
fn lookup_failed(user: &str, e: &pgwire::client::Error) -> ErrorInfo {
    tracing::warn!(user, "--auth-query failed: {e}");
    ErrorInfo::fatal(
        SqlState::CONNECTION_FAILURE,
        format!("cannot look up user \"{user}\" (the proxy's log says why)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_reads_the_users_files_again_and_keeps_them_on_an_error() {
        let path = std::env::temp_dir().join(format!("pgwire-users-{}.txt", std::process::id()));
        let path_text = path.to_str().unwrap().to_owned();
        std::fs::write(&path, "\"alice\" \"a-secret\"\n").unwrap();
        let mut config = ProxyConfig::new(([127, 0, 0, 1], 0).into(), "").user("cli", "c");
        config.users.extend(read_users_file(&path_text).unwrap());
        config.users_files.push(path_text);
        let users = Users::new(Arc::new(config));
        assert!(users.find("alice").is_some());

        std::fs::write(&path, "\"bob\" \"b-secret\"\n").unwrap();
        assert_eq!(users.reload(), Ok(2));
        assert!(users.find("alice").is_none(), "removed from the file");
        assert_eq!(
            users.find("bob").unwrap().password.as_deref(),
            Some("b-secret")
        );
        assert!(users.find("cli").is_some(), "--user users stay");
        assert!(matches!(
            users.backend_secret("bob"),
            Some(BackendSecret::Password(p)) if p == "b-secret"
        ));

        std::fs::write(&path, "\"carol\" unquoted\n").unwrap();
        let e = users.reload().unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        assert!(users.find("bob").is_some(), "a bad file changes nothing");
        std::fs::remove_file(&path).unwrap();
        assert!(users.reload().is_err(), "a missing file is an error");
        assert!(users.find("bob").is_some());
        assert_eq!(users.names(), ["cli", "bob"]);
    }
}
