//! Where users' secrets come from: the [`AuthSource`] a server implements
//! (or a map it fills), the [`Credential`] it returns, and helpers that
//! compute the stored forms PostgreSQL uses (`md5<hex>` and SCRAM
//! verifiers) from a password.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::ErrorInfo;

/// PostgreSQL's default SCRAM iteration count (`scram_iterations`).
pub const DEFAULT_SCRAM_ITERATIONS: u32 = 4096;

/// PostgreSQL's SCRAM salt length in bytes.
pub(crate) const SCRAM_SALT_LEN: usize = 16;

/// What a server knows about a user's password, in one of the forms
/// PostgreSQL stores in `pg_authid.rolpassword`.
///
/// Which methods each form supports, as in PostgreSQL: a cleartext
/// password works with every method; an MD5 hash with cleartext and MD5; a
/// SCRAM verifier with cleartext and SCRAM (an MD5 request for a user with
/// a SCRAM verifier is answered with SCRAM instead, as PostgreSQL does).
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// The password itself.
    Password(String),
    /// `md5` followed by the hex MD5 of password + user name (see
    /// [`md5_hash`]).
    Md5(String),
    /// A SCRAM-SHA-256 verifier.
    Scram(ScramVerifier),
}

// Never print a secret: a credential in a log line is a leaked password
// (or a hash that is as good as one for MD5 authentication).
impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Password(_) => f.write_str("Credential::Password(..)"),
            Credential::Md5(_) => f.write_str("Credential::Md5(..)"),
            Credential::Scram(v) => write!(f, "Credential::Scram(iterations={})", v.iterations),
        }
    }
}

impl Credential {
    /// Reads a stored password as PostgreSQL does: a SCRAM verifier
    /// (`SCRAM-SHA-256$...`), an MD5 hash (`md5` and 32 hex digits), or else
    /// a cleartext password.
    pub fn parse(stored: &str) -> Credential {
        if stored.starts_with("SCRAM-SHA-256$") {
            if let Ok(v) = stored.parse() {
                return Credential::Scram(v);
            }
        }
        if is_md5_hash(stored) {
            return Credential::Md5(stored.to_owned());
        }
        Credential::Password(stored.to_owned())
    }
}

impl FromStr for Credential {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Credential::parse(s))
    }
}

impl From<ScramVerifier> for Credential {
    fn from(v: ScramVerifier) -> Self {
        Credential::Scram(v)
    }
}

fn is_md5_hash(s: &str) -> bool {
    s.len() == 35
        && s.starts_with("md5")
        && s[3..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Looks users up: implemented by a server (over its user table) or used
/// through the maps that implement it.
///
/// `Ok(None)` for an unknown user; the authentication then fails exactly
/// as for a wrong password, so a client cannot tell which users exist. An
/// error is sent to the client as is (make it FATAL 28000 or 28P01).
///
/// ```
/// use std::collections::HashMap;
/// use pgwire::api::auth::{Credential, ScramVerifier};
///
/// let mut users = HashMap::new();
/// users.insert("alice".to_owned(), Credential::Scram(ScramVerifier::generate("secret")));
/// users.insert("bob".to_owned(), Credential::parse("md5f4f5e3ec0b1bc4ae1e0bd4f84a3a8d36"));
/// ```
pub trait AuthSource: Send + Sync {
    /// The credential of `user`, or `None` if there is no such user.
    fn lookup(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Option<Credential>, ErrorInfo>> + Send;
}

impl AuthSource for HashMap<String, Credential> {
    async fn lookup(&self, user: &str) -> Result<Option<Credential>, ErrorInfo> {
        Ok(self.get(user).cloned())
    }
}

impl AuthSource for BTreeMap<String, Credential> {
    async fn lookup(&self, user: &str) -> Result<Option<Credential>, ErrorInfo> {
        Ok(self.get(user).cloned())
    }
}

impl<T: AuthSource + ?Sized> AuthSource for std::sync::Arc<T> {
    fn lookup(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Option<Credential>, ErrorInfo>> + Send {
        (**self).lookup(user)
    }
}

impl<T: AuthSource + ?Sized> AuthSource for &T {
    fn lookup(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Option<Credential>, ErrorInfo>> + Send {
        (**self).lookup(user)
    }
}

/// The MD5 hash PostgreSQL stores for `password` (`md5` followed by the
/// hex MD5 of password + user name), as `CREATE ROLE ... PASSWORD` does
/// with `password_encryption = md5`.
pub fn md5_hash(user: &str, password: &str) -> String {
    let mut ctx = md5::Context::new();
    ctx.consume(password.as_bytes());
    ctx.consume(user.as_bytes());
    format!("md5{:x}", ctx.finalize())
}

/// A SCRAM-SHA-256 verifier: what PostgreSQL stores instead of a password
/// (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64),
/// enough to check a client's proof but not to log in as the user.
///
/// Its text form is PostgreSQL's, so verifiers can be copied from and to
/// `pg_authid.rolpassword`:
///
/// ```
/// use pgwire::api::auth::ScramVerifier;
///
/// let v = ScramVerifier::generate("secret");
/// let stored = v.to_string();
/// assert!(stored.starts_with("SCRAM-SHA-256$4096:"));
/// assert_eq!(stored.parse::<ScramVerifier>().unwrap(), v);
/// assert!(v.matches_password("secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    pub(crate) iterations: u32,
    pub(crate) salt: Vec<u8>,
    pub(crate) stored_key: [u8; 32],
    pub(crate) server_key: [u8; 32],
}

impl fmt::Debug for ScramVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramVerifier")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// Why a stored SCRAM verifier could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SCRAM-SHA-256 verifier")]
pub struct InvalidVerifier;

impl ScramVerifier {
    /// A verifier for `password` with a random salt and PostgreSQL's
    /// default 4096 iterations.
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails.
    pub fn generate(password: &str) -> ScramVerifier {
        Self::generate_with_iterations(password, DEFAULT_SCRAM_ITERATIONS)
    }

    /// A verifier for `password` with a random salt and `iterations`
    /// rounds of PBKDF2 (at least 1).
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails.
    pub fn generate_with_iterations(password: &str, iterations: u32) -> ScramVerifier {
        let mut salt = [0u8; SCRAM_SALT_LEN];
        // The system generator failing leaves no safe salt to use.
        if SystemRandom::new().fill(&mut salt).is_err() {
            panic!("the system random number generator failed");
        }
        Self::from_password(password, &salt, iterations.max(1))
    }

    /// The verifier for `password` with a given salt and iteration count.
    pub fn from_password(password: &str, salt: &[u8], iterations: u32) -> ScramVerifier {
        let salted = super::scram::salted_password(password, salt, iterations.max(1));
        let (stored_key, server_key) = super::scram::keys(&salted);
        ScramVerifier {
            iterations: iterations.max(1),
            salt: salt.to_vec(),
            stored_key,
            server_key,
        }
    }

    /// The PBKDF2 iteration count.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// The salt.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// Whether `password` is the password this verifier was made from
    /// (compared in constant time).
    pub fn matches_password(&self, password: &str) -> bool {
        let other = Self::from_password(password, &self.salt, self.iterations);
        let a = [&self.stored_key[..], &self.server_key[..]].concat();
        let b = [&other.stored_key[..], &other.server_key[..]].concat();
        super::constant_time_eq(&a, &b)
    }
}

impl fmt::Display for ScramVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(self.stored_key),
            B64.encode(self.server_key)
        )
    }
}

impl FromStr for ScramVerifier {
    type Err = InvalidVerifier;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s.strip_prefix("SCRAM-SHA-256$").ok_or(InvalidVerifier)?;
        let (params, keys) = rest.split_once('$').ok_or(InvalidVerifier)?;
        let (iterations, salt) = params.split_once(':').ok_or(InvalidVerifier)?;
        let (stored, server) = keys.split_once(':').ok_or(InvalidVerifier)?;
        let iterations: u32 = iterations.parse().map_err(|_| InvalidVerifier)?;
        if iterations == 0 {
            return Err(InvalidVerifier);
        }
        let salt = B64.decode(salt).map_err(|_| InvalidVerifier)?;
        let key = |k: &str| -> Result<[u8; 32], InvalidVerifier> {
            B64.decode(k)
                .ok()
                .and_then(|v| <[u8; 32]>::try_from(v).ok())
                .ok_or(InvalidVerifier)
        };
        Ok(ScramVerifier {
            iterations,
            salt,
            stored_key: key(stored)?,
            server_key: key(server)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_hash_matches_postgresql() {
        // `CREATE ROLE md5user PASSWORD 'pw'` with password_encryption=md5
        // on PostgreSQL 15 stored this.
        assert_eq!(
            md5_hash("md5user", "pw"),
            "md509c85c4b8a32ea4ee667388a4f515933"
        );
    }

    #[test]
    fn verifier_from_postgresql_checks_its_password() {
        // `CREATE ROLE alice PASSWORD 'secret'` on PostgreSQL 15.
        let stored = "SCRAM-SHA-256$4096:/RvRLP20mNRpr1RCdf1OZw==$5CVjuVBmaN6HTXLqdit9YqPS+OQMUs5BynmOm0yB8Kg=:GcuIfcyvX0uZRxUpCHekchskQ/iPwGx6ctaRGTZTTS4=";
        let v: ScramVerifier = stored.parse().unwrap();
        assert_eq!(v.iterations(), 4096);
        assert!(v.matches_password("secret"));
        assert!(!v.matches_password("Secret"));
        assert_eq!(v.to_string(), stored);
        assert!(matches!(Credential::parse(stored), Credential::Scram(_)));
    }

    #[test]
    fn credential_forms() {
        assert!(matches!(
            Credential::parse("md509c85c4b8a32ea4ee667388a4f515933"),
            Credential::Md5(_)
        ));
        // Not 32 lowercase hex digits: a password that happens to start with md5.
        assert!(matches!(
            Credential::parse("md5secret"),
            Credential::Password(_)
        ));
        assert!(matches!(
            Credential::parse("SCRAM-SHA-256$broken"),
            Credential::Password(_)
        ));
        assert!(!format!("{:?}", Credential::Password("hunter2".into())).contains("hunter2"));
    }

    #[test]
    fn bad_verifiers() {
        for s in [
            "SCRAM-SHA-256$0:c2FsdA==$AAAA:AAAA",
            "SCRAM-SHA-256$4096:c2FsdA==$AAAA",
            "SCRAM-SHA-256$x:c2FsdA==$5CVjuVBmaN6HTXLqdit9YqPS+OQMUs5BynmOm0yB8Kg=:GcuIfcyvX0uZRxUpCHekchskQ/iPwGx6ctaRGTZTTS4=",
            "SCRAM-SHA-256$4096:!!$5CVjuVBmaN6HTXLqdit9YqPS+OQMUs5BynmOm0yB8Kg=:GcuIfcyvX0uZRxUpCHekchskQ/iPwGx6ctaRGTZTTS4=",
            "SCRAM-SHA-1$4096:c2FsdA==$AAAA:AAAA",
        ] {
            assert_eq!(s.parse::<ScramVerifier>(), Err(InvalidVerifier), "{s}");
        }
    }
}
