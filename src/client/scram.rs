//! The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL
//! speaks it: empty user name in the messages (the StartupMessage names
//! the user), `tls-server-end-point` channel binding for the -PLUS variant.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::rand::{SecureRandom, SystemRandom};

use super::error::Error;
use crate::scram_keys::{ScramKeys, hmac_sha256};

/// Channel binding as announced in the GS2 header.
pub(crate) enum Binding {
    /// "n": the client does not support it.
    Unsupported,
    /// "y": the client supports it but thinks the server does not.
    NotUsed,
    /// "p=tls-server-end-point": bound to this certificate hash.
    TlsServerEndPoint(Vec<u8>),
}

/// What the client proves it knows.
pub(crate) enum ScramSecret {
    /// The password.
    Password(String),
    /// The keys derived from it, given instead (a pooler passing on what
    /// its client proved).
    Keys(ScramKeys),
}

/// The client's state between its messages.
pub(crate) struct ScramClient {
    secret: ScramSecret,
    nonce: String,
    gs2_header: &'static str,
    binding_data: Vec<u8>,
    client_first_bare: String,
    server_signature: Option<[u8; 32]>,
}

fn auth_error(msg: impl Into<String>) -> Error {
    Error::Auth(msg.into())
}

/// Compares without an early exit, so timing does not tell how much of a
/// forged signature was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl ScramClient {
    /// Starts an exchange; returns the state and the client-first message.
    pub(crate) fn new(
        secret: ScramSecret,
        binding: Binding,
    ) -> Result<(ScramClient, Vec<u8>), Error> {
        let mut raw = [0u8; 18];
        SystemRandom::new()
            .fill(&mut raw)
            .map_err(|_| auth_error("no randomness for the SCRAM nonce"))?;
        Ok(Self::with_nonce(secret, binding, B64.encode(raw)))
    }

    fn with_nonce(secret: ScramSecret, binding: Binding, nonce: String) -> (ScramClient, Vec<u8>) {
        let (gs2_header, binding_data) = match binding {
            Binding::Unsupported => ("n,,", Vec::new()),
            Binding::NotUsed => ("y,,", Vec::new()),
            Binding::TlsServerEndPoint(d) => ("p=tls-server-end-point,,", d),
        };
        let client_first_bare = format!("n=,r={nonce}");
        let first = format!("{gs2_header}{client_first_bare}").into_bytes();
        (
            ScramClient {
                // Normalized (SASLprep) where the keys are derived.
                secret,
                nonce,
                gs2_header,
                binding_data,
                client_first_bare,
                server_signature: None,
            },
            first,
        )
    }

    /// Reads server-first, returns client-final.
    pub(crate) fn server_first(&mut self, msg: &[u8]) -> Result<Vec<u8>, Error> {
        let text = std::str::from_utf8(msg)
            .map_err(|_| auth_error("SCRAM server-first-message is not UTF-8"))?;
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for part in text.split(',') {
            match part.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = Some(v),
                Some(("m", _)) => {
                    return Err(auth_error("SCRAM server requires an unsupported extension"));
                }
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(auth_error("malformed SCRAM server-first-message"));
        };
        if !nonce.starts_with(&self.nonce) || nonce.len() <= self.nonce.len() {
            return Err(auth_error(
                "SCRAM server nonce does not extend the client nonce",
            ));
        }
        let salt = B64
            .decode(salt)
            .map_err(|_| auth_error("malformed SCRAM salt"))?;
        let iterations: u32 = iterations
            .parse()
            .ok()
            .filter(|&i| i > 0)
            .ok_or_else(|| auth_error("malformed SCRAM iteration count"))?;
        let keys = match &self.secret {
            ScramSecret::Password(password) => ScramKeys::derive(password, &salt, iterations),
            // Good only if the server's salt and iterations are the ones
            // they were made with; else the server refuses the proof.
            ScramSecret::Keys(keys) => keys.clone(),
        };
        let stored_key = keys.stored_key();

        let mut cbind = self.gs2_header.as_bytes().to_vec();
        cbind.extend_from_slice(&self.binding_data);
        let without_proof = format!("c={},r={nonce}", B64.encode(&cbind));
        let auth_message = format!("{},{text},{without_proof}", self.client_first_bare);
        let signature = hmac_sha256(&stored_key, &[auth_message.as_bytes()]);
        let mut proof = *keys.client_key();
        for (p, s) in proof.iter_mut().zip(signature) {
            *p ^= s;
        }
        self.server_signature = Some(hmac_sha256(keys.server_key(), &[auth_message.as_bytes()]));
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks server-final: the server must prove it knows the password.
    pub(crate) fn server_final(&self, msg: &[u8]) -> Result<(), Error> {
        let text = std::str::from_utf8(msg)
            .map_err(|_| auth_error("SCRAM server-final-message is not UTF-8"))?;
        if let Some(e) = text.strip_prefix("e=") {
            return Err(auth_error(format!("SCRAM error from the server: {e}")));
        }
        let v = text
            .split(',')
            .find_map(|p| p.strip_prefix("v="))
            .ok_or_else(|| auth_error("malformed SCRAM server-final-message"))?;
        let got = B64
            .decode(v)
            .map_err(|_| auth_error("malformed SCRAM server signature"))?;
        let expected = self
            .server_signature
            .ok_or_else(|| auth_error("SCRAM server-final-message before server-first"))?;
        if !constant_time_eq(&got, &expected) {
            return Err(auth_error(
                "incorrect server signature: the server does not know the password",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's example (user "user", password "pencil"): PostgreSQL's
    /// form sends an empty user name, so the messages differ, but the
    /// server side of this crate checks them. The keys derived from the
    /// password give the same proof, and check the server's signature
    /// alike.
    #[test]
    fn rfc7677_vector() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        for secret in [
            ScramSecret::Password("pencil".into()),
            ScramSecret::Keys(ScramKeys::derive("pencil", &salt, 4096)),
        ] {
            let (mut c, first) = ScramClient::with_nonce(
                secret,
                Binding::Unsupported,
                "rOprNGfwEbeRWgbNEkqO".into(),
            );
            // Replace the bare message with the RFC's (user name "user").
            c.client_first_bare = "n=user,r=rOprNGfwEbeRWgbNEkqO".into();
            assert_eq!(first, b"n,,n=,r=rOprNGfwEbeRWgbNEkqO");
            let final_ = c
                .server_first(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
                .unwrap();
            assert_eq!(
                std::str::from_utf8(&final_).unwrap(),
                "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
            );
            c.server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .unwrap();
            assert!(
                c.server_final(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                    .is_err()
            );
            assert!(c.server_final(b"e=invalid-proof").is_err());
        }
    }

    #[test]
    fn hostile_server_first() {
        let (mut c, _) = ScramClient::with_nonce(
            ScramSecret::Password("pw".into()),
            Binding::Unsupported,
            "abc".into(),
        );
        assert!(
            c.server_first(b"r=xyz,s=AAAA,i=1").is_err(),
            "nonce not extended"
        );
        assert!(
            c.server_first(b"r=abc,s=AAAA,i=1").is_err(),
            "nonce not extended"
        );
        assert!(c.server_first(b"r=abcd,s=!!!,i=1").is_err(), "bad salt");
        assert!(
            c.server_first(b"r=abcd,s=AAAA,i=0").is_err(),
            "zero iterations"
        );
        assert!(
            c.server_first(b"r=abcd,s=AAAA").is_err(),
            "missing iterations"
        );
        assert!(c.server_first(&[0xff, 0xfe]).is_err(), "not UTF-8");
        assert!(c.server_final(b"v=AAAA").is_err(), "final before first");
    }
}
