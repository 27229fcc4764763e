//! Who may connect: the `--auth` method and the `--user NAME:PASSWORD`
//! table of the example.

use std::collections::HashMap;

use pgwire::api::auth::{AuthMethod, Credential, ScramVerifier, md5_hash};

/// The authentication method and the users it checks.
#[derive(Debug)]
pub struct AuthConfig {
    method: AuthMethod,
    users: HashMap<String, Credential>,
}

impl Default for AuthConfig {
    /// Everyone is let in, as the example does without flags.
    fn default() -> Self {
        AuthConfig {
            method: AuthMethod::Trust,
            users: HashMap::new(),
        }
    }
}

impl AuthConfig {
    /// `method` is PostgreSQL's name for it in `pg_hba.conf`: `trust`,
    /// `password`, `md5` or `scram-sha-256`.
    pub fn new(method: &str) -> Result<AuthConfig, String> {
        let method = match method {
            "trust" => AuthMethod::Trust,
            "password" => AuthMethod::Cleartext,
            "md5" => AuthMethod::Md5,
            "scram-sha-256" => AuthMethod::ScramSha256,
            other => {
                return Err(format!(
                    "unknown authentication method {other:?} (expected trust, password, md5 or scram-sha-256)"
                ));
            }
        };
        Ok(AuthConfig {
            method,
            users: HashMap::new(),
        })
    }

    /// Adds a user. The password is kept in the form the method needs, as
    /// PostgreSQL's `password_encryption` would store it: an MD5 hash for
    /// `md5`, a SCRAM verifier for `scram-sha-256`, so that the cleartext
    /// does not stay in memory longer than needed.
    pub fn add_user(&mut self, name: &str, password: &str) {
        let credential = match self.method {
            AuthMethod::Md5 => Credential::Md5(md5_hash(name, password)),
            AuthMethod::ScramSha256 => Credential::Scram(ScramVerifier::generate(password)),
            _ => Credential::Password(password.to_owned()),
        };
        self.users.insert(name.to_owned(), credential);
    }

    /// The method.
    pub fn method(&self) -> AuthMethod {
        self.method
    }

    /// The users, by name.
    pub fn users(&self) -> &HashMap<String, Credential> {
        &self.users
    }
}
