//! The keys a SCRAM-SHA-256 exchange turns on, shared by the server side
//! (which learns them from a client's proof) and the client side (which
//! can log in with them instead of a password).

use std::fmt;
use std::num::NonZeroU32;

use ring::{digest, hmac, pbkdf2};

/// A user's SCRAM-SHA-256 `ClientKey` and `ServerKey` (RFC 5802).
///
/// With these two keys a client can complete a SCRAM-SHA-256 exchange
/// against any server that stores the verifier they came from (same salt
/// and iteration count), without knowing the password: this is how a
/// pooler that authenticates its clients against `pg_authid`'s stored
/// verifiers logs in to PostgreSQL as them. A server learns them from a
/// client that proves its password
/// ([`Authenticator::scram_keys`](crate::api::auth::Authenticator::scram_keys));
/// a client uses them through
/// [`Config::scram_keys`](crate::client::Config::scram_keys).
///
/// They are as good as the password toward such servers: keep them in
/// memory only. `Debug` does not print them.
///
/// ```
/// # #[cfg(all(feature = "server", feature = "client"))] {
/// use pgwire::api::auth::{Authenticator, ScramKeys, ScramVerifier};
///
/// // A pooler's authentication: check the client against the verifier
/// // PostgreSQL stores, then keep what its proof revealed.
/// async fn authenticate(auth: &mut Authenticator<'_>, stored: ScramVerifier) -> Option<ScramKeys> {
///     auth.scram_sha_256(Some(&stored.into())).await.ok()?;
///     auth.scram_keys().cloned()
/// }
///
/// // Log in to PostgreSQL with them.
/// fn backend_config(keys: ScramKeys) -> pgwire::client::Config {
///     let mut config = pgwire::client::Config::parse("host=db.internal user=app").unwrap();
///     config.scram_keys = Some(keys);
///     config
/// }
///
/// // Or from a password and the stored verifier's salt, without PBKDF2 at
/// // each later connection.
/// let stored = ScramVerifier::generate("secret");
/// let keys = ScramKeys::derive("secret", stored.salt(), stored.iterations());
/// assert!(backend_config(keys).scram_keys.is_some());
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ScramKeys {
    client_key: [u8; 32],
    server_key: [u8; 32],
}

impl ScramKeys {
    /// The keys from their two values.
    pub fn new(client_key: [u8; 32], server_key: [u8; 32]) -> ScramKeys {
        ScramKeys {
            client_key,
            server_key,
        }
    }

    /// The keys of `password` with a stored verifier's salt and iteration
    /// count (as `pg_authid.rolpassword` shows them): with these a client
    /// logs in to that server without running PBKDF2 at each connection.
    /// The password is normalized as PostgreSQL does (SASLprep, or as it
    /// is where SASLprep rejects it).
    pub fn derive(password: &str, salt: &[u8], iterations: u32) -> ScramKeys {
        ScramKeys::from_salted_password(&salted_password(password, salt, iterations))
    }

    /// The keys of a SaltedPassword.
    pub(crate) fn from_salted_password(salted: &[u8; 32]) -> ScramKeys {
        ScramKeys {
            client_key: hmac_sha256(salted, &[b"Client Key"]),
            server_key: hmac_sha256(salted, &[b"Server Key"]),
        }
    }

    /// `StoredKey`: SHA-256 of `ClientKey`, as the verifier holds it.
    pub(crate) fn stored_key(&self) -> [u8; 32] {
        sha256(&self.client_key)
    }

    /// `ClientKey`: HMAC(SaltedPassword, "Client Key"). Its SHA-256 is the
    /// verifier's `StoredKey`.
    pub fn client_key(&self) -> &[u8; 32] {
        &self.client_key
    }

    /// `ServerKey`: HMAC(SaltedPassword, "Server Key"), with which a
    /// client checks the server's signature.
    pub fn server_key(&self) -> &[u8; 32] {
        &self.server_key
    }
}

impl fmt::Debug for ScramKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScramKeys(***)")
    }
}

/// SaltedPassword := Hi(Normalize(password), salt, i). PostgreSQL uses the
/// password as it is when SASLprep rejects it (RFC 5802 would fail), so
/// that any password set through it still works.
pub(crate) fn salted_password(password: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let prepared = stringprep::saslprep(password);
    let normalized: &str = match &prepared {
        Ok(p) => p,
        Err(_) => password,
    };
    let mut out = [0u8; 32];
    let iterations = NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        normalized.as_bytes(),
        &mut out,
    );
    out
}

/// HMAC-SHA-256 of the concatenation of `data`.
pub(crate) fn hmac_sha256(key: &[u8], data: &[&[u8]]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    for d in data {
        ctx.update(d);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

/// SHA-256.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}
