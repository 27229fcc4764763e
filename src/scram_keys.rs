//! The keys a SCRAM-SHA-256 exchange turns on, shared by the server side
//! (which learns them from a client's proof) and the client side (which
//! can log in with them instead of a password).

use std::fmt;

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
