//! SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677) as
//! PostgreSQL speaks them: the exchange as a state machine without I/O
//! ([`ScramExchange`], tested against RFC 7677's example), and
//! [`Authenticator::scram_sha_256`] driving it over a connection.
//!
//! PostgreSQL's ways, followed here: the user name in the client's first
//! message is ignored (the startup packet's counts); a wrong proof gets no
//! `e=` server-final-message but an ErrorResponse 28P01; malformed
//! messages get FATAL 08P01 with the detail PostgreSQL 15 sends; an
//! unknown user goes through the whole exchange with a made-up salt, so the
//! client cannot tell.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use ring::rand::{SecureRandom, SystemRandom};

use super::source::{Credential, DEFAULT_SCRAM_ITERATIONS, SCRAM_SALT_LEN, ScramVerifier};
use super::{Authenticator, constant_time_eq, unexpected};
use crate::error::{ErrorInfo, SqlState};
use crate::messages::{AuthResponseKind, Authentication, ByteStr, FrontendMessage};
pub(crate) use crate::scram_keys::salted_password;
use crate::scram_keys::{ScramKeys, hmac_sha256, sha256};

/// The mechanism without channel binding.
pub const SCRAM_SHA_256: &str = "SCRAM-SHA-256";
/// The mechanism with `tls-server-end-point` channel binding (TLS only).
pub const SCRAM_SHA_256_PLUS: &str = "SCRAM-SHA-256-PLUS";

/// PostgreSQL's server nonce: 18 random bytes, base64 (24 characters).
const RAW_NONCE_LEN: usize = 18;

/// (StoredKey, ServerKey) from SaltedPassword.
pub(crate) fn keys(salted: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let keys = ScramKeys::from_salted_password(salted);
    (keys.stored_key(), *keys.server_key())
}

/// A per-process secret behind the made-up salts of unknown users: stable
/// while the server runs, so asking twice gives the same salt, as for a
/// real user, and unpredictable from outside.
fn mock_secret() -> &'static [u8; 32] {
    static SECRET: OnceLock<[u8; 32]> = OnceLock::new();
    SECRET.get_or_init(|| {
        let mut s = [0u8; 32];
        // Without the system generator, a fixed secret only makes unknown
        // users' salts predictable, which reveals nothing else.
        let _ = SystemRandom::new().fill(&mut s);
        s
    })
}

/// The salt shown for `user` when it has no usable verifier.
pub(crate) fn mock_salt(user: &str) -> [u8; SCRAM_SALT_LEN] {
    let mac = hmac_sha256(mock_secret(), &[b"scram-mock-salt", user.as_bytes()]);
    let mut salt = [0u8; SCRAM_SALT_LEN];
    salt.copy_from_slice(&mac[..SCRAM_SALT_LEN]);
    salt
}

/// A fresh server nonce from the system CSPRNG.
fn server_nonce() -> Result<String, ErrorInfo> {
    let mut raw = [0u8; RAW_NONCE_LEN];
    SystemRandom::new().fill(&mut raw).map_err(|_| {
        ErrorInfo::fatal(SqlState::INTERNAL_ERROR, "could not generate random nonce")
    })?;
    Ok(B64.encode(raw))
}

fn malformed(detail: impl Into<String>) -> ErrorInfo {
    ErrorInfo::fatal(SqlState::PROTOCOL_VIOLATION, "malformed SCRAM message")
        .with_detail(detail.into())
}

/// How PostgreSQL quotes an unexpected character in its error details.
fn show_char(c: Option<u8>) -> String {
    match c {
        Some(c) if c.is_ascii_graphic() => format!("'{}'", c as char),
        Some(c) => format!("0x{c:02x}"),
        None => "0x00".to_owned(),
    }
}

/// A cursor over a SCRAM message (`attr=value,attr=value`).
struct Attrs<'a> {
    input: &'a [u8],
    pos: usize,
    /// Which message, for error details.
    message: &'static str,
}

impl<'a> Attrs<'a> {
    fn new(input: &'a [u8], message: &'static str) -> Self {
        Attrs {
            input,
            pos: 0,
            message,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn rest(&self) -> &'a [u8] {
        self.input.get(self.pos..).unwrap_or_default()
    }

    /// Reads `attr=value` up to a comma (consumed) or the end.
    fn value(&mut self, attr: u8) -> Result<&'a [u8], ErrorInfo> {
        let c = self.peek();
        if c != Some(attr) {
            return Err(malformed(format!(
                "Expected attribute \"{}\" but found \"{}\".",
                attr as char,
                show_char(c)
            )));
        }
        self.pos += 1;
        if self.peek() != Some(b'=') {
            return Err(malformed(format!(
                "Expected character \"=\" for attribute \"{}\".",
                attr as char
            )));
        }
        self.pos += 1;
        Ok(self.until_comma())
    }

    /// Reads any `attr=value`, returning both.
    fn any(&mut self) -> Result<(u8, &'a [u8]), ErrorInfo> {
        let Some(attr) = self.peek() else {
            return Err(malformed("Attribute expected, but found end of string."));
        };
        if !attr.is_ascii_alphabetic() {
            return Err(malformed(format!(
                "Attribute expected, but found invalid character \"{}\".",
                show_char(Some(attr))
            )));
        }
        self.pos += 1;
        if self.peek() != Some(b'=') {
            return Err(malformed(format!(
                "Expected character \"=\" for attribute \"{}\".",
                attr as char
            )));
        }
        self.pos += 1;
        Ok((attr, self.until_comma()))
    }

    fn until_comma(&mut self) -> &'a [u8] {
        let rest = self.rest();
        let end = rest.iter().position(|&b| b == b',').unwrap_or(rest.len());
        self.pos += end;
        if self.peek() == Some(b',') {
            self.pos += 1;
        }
        &rest[..end]
    }

    fn comma(&mut self) -> Result<(), ErrorInfo> {
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(())
            }
            c => Err(malformed(format!(
                "Comma expected, but found character \"{}\".",
                show_char(c)
            ))),
        }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.input.len()
    }

    fn unexpected_attr(&self) -> ErrorInfo {
        malformed(format!(
            "Unexpected attribute \"{}\" in {}.",
            show_char(self.peek()),
            self.message
        ))
    }
}

/// What the exchange checks proofs against.
enum Secret {
    Real(ScramVerifier),
    /// No usable verifier: the exchange runs to the end with a made-up
    /// salt and then fails as a wrong password would.
    Doomed {
        salt: Vec<u8>,
        iterations: u32,
    },
}

/// The server side of one SCRAM-SHA-256(-PLUS) exchange, without I/O.
///
/// [`server_first`](Self::server_first) takes the client-first-message and
/// returns the server-first-message; [`server_final`](Self::server_final)
/// takes the client-final-message and returns the server-final-message, or
/// `None` when the proof is wrong (or the user unknown). Errors are the
/// FATAL errors PostgreSQL sends for malformed messages.
pub struct ScramExchange {
    secret: Secret,
    /// The client chose SCRAM-SHA-256-PLUS: the `tls-server-end-point`
    /// data its binding must match.
    binding: Option<Vec<u8>>,
    /// The server offered SCRAM-SHA-256-PLUS (a `y` flag is then refused).
    plus_offered: bool,
    first: Option<FirstState>,
    /// The keys the client proved it holds, after a successful final.
    proven: Option<ScramKeys>,
}

struct FirstState {
    gs2_header: Vec<u8>,
    client_first_bare: Vec<u8>,
    server_first: String,
    nonce: String,
}

impl ScramExchange {
    /// An exchange checking proofs against `verifier`, or, with `None`
    /// (an unknown user, or one without a SCRAM verifier), running to the
    /// end with a salt made up for `user` (the same on every attempt while
    /// the process runs) and then failing like a wrong password.
    ///
    /// `binding` is the channel binding data when the client chose
    /// SCRAM-SHA-256-PLUS; `plus_offered` whether the server offered it.
    pub fn new(
        verifier: Option<ScramVerifier>,
        user: &str,
        binding: Option<Vec<u8>>,
        plus_offered: bool,
    ) -> Self {
        let secret = match verifier {
            Some(v) => Secret::Real(v),
            None => Secret::Doomed {
                salt: mock_salt(user).to_vec(),
                iterations: DEFAULT_SCRAM_ITERATIONS,
            },
        };
        ScramExchange {
            secret,
            binding,
            plus_offered,
            first: None,
            proven: None,
        }
    }

    /// The [`ScramKeys`] the client proved it holds: `Some` once
    /// [`server_final`](Self::server_final) has accepted its proof.
    pub fn proven_keys(&self) -> Option<&ScramKeys> {
        self.proven.as_ref()
    }

    fn salt_and_iterations(&self) -> (&[u8], u32) {
        match &self.secret {
            Secret::Real(v) => (&v.salt, v.iterations),
            Secret::Doomed { salt, iterations } => (salt, *iterations),
        }
    }

    /// Handles the client-first-message with the given server nonce
    /// (random in real use: see [`Authenticator::scram_sha_256`]).
    pub fn server_first(
        &mut self,
        client_first: &[u8],
        server_nonce: &str,
    ) -> Result<String, ErrorInfo> {
        if client_first.is_empty() {
            return Err(malformed("The message is empty."));
        }
        let mut a = Attrs::new(client_first, "client-first-message");
        let plus = self.binding.is_some();
        let no_binding_data = || {
            malformed(
                "The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data.",
            )
        };
        match a.peek() {
            Some(b'n') => {
                if plus {
                    return Err(no_binding_data());
                }
                a.pos += 1;
                a.comma()?;
            }
            Some(b'y') => {
                if plus {
                    return Err(no_binding_data());
                }
                // RFC 5802: the client could bind but believes we cannot;
                // since we offered binding, someone removed it on the way.
                if self.plus_offered {
                    return Err(ErrorInfo::fatal(
                        SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                        "SCRAM channel binding negotiation error",
                    )
                    .with_detail(
                        "The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding.",
                    ));
                }
                a.pos += 1;
                a.comma()?;
            }
            Some(b'p') => {
                if !plus {
                    return Err(malformed(
                        "The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.",
                    ));
                }
                let kind = a.value(b'p')?;
                if kind != b"tls-server-end-point" {
                    return Err(ErrorInfo::fatal(
                        SqlState::PROTOCOL_VIOLATION,
                        format!(
                            "unsupported SCRAM channel-binding type \"{}\"",
                            String::from_utf8_lossy(kind)
                        ),
                    ));
                }
            }
            c => {
                return Err(malformed(format!(
                    "Unexpected channel-binding flag \"{}\".",
                    show_char(c)
                )));
            }
        }
        match a.peek() {
            Some(b'a') => {
                return Err(ErrorInfo::fatal(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "client uses authorization identity, but it is not supported",
                ));
            }
            Some(b',') => a.pos += 1,
            _ => return Err(a.unexpected_attr()),
        }
        let gs2_header = client_first[..a.pos].to_vec();
        let client_first_bare = a.rest().to_vec();

        if a.peek() == Some(b'm') {
            return Err(ErrorInfo::fatal(
                SqlState::FEATURE_NOT_SUPPORTED,
                "client requires an unsupported SCRAM extension",
            ));
        }
        // The user name is ignored: the startup packet's is authenticated.
        a.value(b'n')?;
        let client_nonce = a.value(b'r')?;
        if !client_nonce.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
            return Err(ErrorInfo::fatal(
                SqlState::PROTOCOL_VIOLATION,
                "non-printable characters in SCRAM nonce",
            ));
        }
        // Extensions after the nonce are allowed and ignored.
        while !a.is_empty() {
            a.any()?;
        }

        // Printable ASCII, checked above.
        let client_nonce = String::from_utf8_lossy(client_nonce);
        let nonce = format!("{client_nonce}{server_nonce}");
        let (salt, iterations) = self.salt_and_iterations();
        let server_first = format!("r={nonce},s={},i={iterations}", B64.encode(salt));
        self.first = Some(FirstState {
            gs2_header,
            client_first_bare,
            server_first: server_first.clone(),
            nonce,
        });
        Ok(server_first)
    }

    /// Handles the client-final-message: `Ok(Some(server_final))` when the
    /// proof is right, `Ok(None)` when it is wrong or the user unknown.
    pub fn server_final(&mut self, client_final: &[u8]) -> Result<Option<String>, ErrorInfo> {
        let Some(first) = self.first.take() else {
            return Err(ErrorInfo::fatal(
                SqlState::PROTOCOL_VIOLATION,
                "invalid SCRAM exchange state",
            ));
        };
        let mut a = Attrs::new(client_final, "client-final-message");
        let cbind = a.value(b'c')?;
        match &self.binding {
            Some(data) => {
                let expected = [&first.gs2_header[..], data].concat();
                let given = B64.decode(cbind).unwrap_or_default();
                if !constant_time_eq(&given, &expected) {
                    return Err(ErrorInfo::fatal(
                        SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                        "SCRAM channel binding check failed",
                    ));
                }
            }
            None => {
                // base64 of "n,," and "y,,": no authzid is accepted above.
                if cbind != b"biws" && cbind != b"eSws" {
                    return Err(ErrorInfo::fatal(
                        SqlState::PROTOCOL_VIOLATION,
                        "unexpected SCRAM channel-binding attribute in client-final-message",
                    ));
                }
            }
        }
        let nonce = a.value(b'r')?;
        // Extensions up to the proof.
        let (proof, without_proof_end) = loop {
            let start = a.pos;
            let (attr, value) = a.any()?;
            if attr == b'p' {
                break (value, start.saturating_sub(1));
            }
        };
        let proof = B64
            .decode(proof)
            .ok()
            .and_then(|p| <[u8; 32]>::try_from(p).ok())
            .ok_or_else(|| malformed("Malformed proof in client-final-message."))?;
        if !a.is_empty() {
            return Err(malformed(
                "Garbage found at the end of client-final-message.",
            ));
        }
        if nonce != first.nonce.as_bytes() {
            return Err(
                ErrorInfo::fatal(SqlState::PROTOCOL_VIOLATION, "invalid SCRAM response")
                    .with_detail("Nonce does not match."),
            );
        }

        let Secret::Real(verifier) = &self.secret else {
            return Ok(None);
        };
        let without_proof = &client_final[..without_proof_end];
        let auth_message: [&[u8]; 5] = [
            &first.client_first_bare,
            b",",
            first.server_first.as_bytes(),
            b",",
            without_proof,
        ];
        let signature = hmac_sha256(&verifier.stored_key, &auth_message);
        let mut client_key = proof;
        for (k, s) in client_key.iter_mut().zip(signature) {
            *k ^= s;
        }
        if !constant_time_eq(&sha256(&client_key), &verifier.stored_key) {
            return Ok(None);
        }
        let server_signature = hmac_sha256(&verifier.server_key, &auth_message);
        self.proven = Some(ScramKeys::new(client_key, verifier.server_key));
        Ok(Some(format!("v={}", B64.encode(server_signature))))
    }
}

impl Authenticator<'_> {
    /// SCRAM-SHA-256 authentication, with SCRAM-SHA-256-PLUS channel
    /// binding offered first on TLS connections whose certificate allows
    /// it ([`TlsInfo::server_end_point`](crate::api::TlsInfo)).
    ///
    /// `credential` is the user's (`None` for an unknown user). A SCRAM
    /// verifier is used as is; a cleartext password gets a verifier with a
    /// salt fixed per user and server run (a PBKDF2 computation per login,
    /// which also makes such users slower to answer than unknown ones:
    /// store verifiers instead); an MD5 hash cannot serve SCRAM, and fails
    /// like a wrong password, as in PostgreSQL.
    ///
    /// An unknown user is shown a made-up salt and PostgreSQL's default
    /// 4096 iterations: keep real verifiers at 4096 iterations too, or the
    /// iteration count tells which users exist.
    pub async fn scram_sha_256(
        &mut self,
        credential: Option<&Credential>,
    ) -> Result<(), ErrorInfo> {
        let user = self.user().to_owned();
        // Only keys checked against a stored verifier open anything
        // elsewhere (see `scram_keys`).
        let stored = matches!(credential, Some(Credential::Scram(_)));
        let verifier = match credential {
            Some(Credential::Scram(v)) => Some(v.clone()),
            Some(Credential::Password(p)) => Some(ScramVerifier::from_password(
                p,
                &mock_salt(&user),
                DEFAULT_SCRAM_ITERATIONS,
            )),
            Some(Credential::Md5(_)) => {
                tracing::debug!(user = %user, "user has an MD5 password, not a SCRAM verifier");
                None
            }
            None => None,
        };
        let end_point = self.client().tls().and_then(|t| t.server_end_point.clone());
        let mut mechanisms = Vec::with_capacity(2);
        if end_point.is_some() {
            mechanisms.push(ByteStr::from_static(SCRAM_SHA_256_PLUS));
        }
        mechanisms.push(ByteStr::from_static(SCRAM_SHA_256));
        self.send(&Authentication::Sasl { mechanisms });

        let initial = match self.recv(AuthResponseKind::SaslInitial).await? {
            FrontendMessage::SaslInitialResponse(m) => m,
            other => return Err(unexpected(&other)),
        };
        let plus_offered = end_point.is_some();
        let binding = match initial.mechanism.as_str() {
            SCRAM_SHA_256 => None,
            SCRAM_SHA_256_PLUS if plus_offered => end_point,
            _ => {
                return Err(ErrorInfo::fatal(
                    SqlState::PROTOCOL_VIOLATION,
                    "client selected an invalid SASL authentication mechanism",
                ));
            }
        };
        let mut exchange = ScramExchange::new(verifier, &user, binding, plus_offered);

        let client_first = match initial.data {
            Some(d) => d,
            // No initial response (length -1): PostgreSQL asks for it with
            // an empty challenge.
            None => {
                self.send(&Authentication::SaslContinue(Bytes::new()));
                self.sasl_response().await?
            }
        };
        let server_first = exchange.server_first(&client_first, &server_nonce()?)?;
        self.send(&Authentication::SaslContinue(Bytes::from(server_first)));
        let client_final = self.sasl_response().await?;
        match exchange.server_final(&client_final)? {
            Some(server_final) => {
                if stored {
                    self.scram_keys = exchange.proven.take();
                }
                self.send(&Authentication::SaslFinal(Bytes::from(server_final)));
                Ok(())
            }
            None => Err(self.password_failed()),
        }
    }

    /// Reads a SASLResponse.
    pub(crate) async fn sasl_response(&mut self) -> Result<Bytes, ErrorInfo> {
        match self.recv(AuthResponseKind::Sasl).await? {
            FrontendMessage::SaslResponse(m) => Ok(m.data),
            other => Err(unexpected_sasl(&other)),
        }
    }
}

fn unexpected_sasl(msg: &FrontendMessage) -> ErrorInfo {
    ErrorInfo::fatal(
        SqlState::PROTOCOL_VIOLATION,
        format!(
            "expected SASL response, got message type {}",
            super::message_type(msg)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3: user "user", password "pencil".
    const CLIENT_FIRST: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    const SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const SALT_B64: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";
    const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn rfc_verifier() -> ScramVerifier {
        ScramVerifier::from_password("pencil", &B64.decode(SALT_B64).unwrap(), 4096)
    }

    fn exchange() -> ScramExchange {
        ScramExchange::new(Some(rfc_verifier()), "user", None, false)
    }

    #[test]
    fn rfc7677_example() {
        let mut x = exchange();
        let first = x
            .server_first(CLIENT_FIRST.as_bytes(), SERVER_NONCE)
            .unwrap();
        assert_eq!(first, SERVER_FIRST);
        let last = x.server_final(CLIENT_FINAL.as_bytes()).unwrap();
        assert_eq!(last.as_deref(), Some(SERVER_FINAL));
    }

    #[test]
    fn a_right_proof_yields_the_password_s_keys() {
        let mut x = exchange();
        assert!(x.proven_keys().is_none());
        x.server_first(CLIENT_FIRST.as_bytes(), SERVER_NONCE)
            .unwrap();
        x.server_final(CLIENT_FINAL.as_bytes()).unwrap().unwrap();
        let salted = salted_password("pencil", &B64.decode(SALT_B64).unwrap(), 4096);
        let client_key = hmac_sha256(&salted, &[b"Client Key"]);
        let keys = x.proven_keys().expect("keys after a right proof");
        assert_eq!(keys.client_key(), &client_key);
        assert_eq!(keys.server_key(), &rfc_verifier().server_key);
        assert_eq!(format!("{keys:?}"), "ScramKeys(***)");
    }

    #[test]
    fn iterations_come_from_the_verifier() {
        let v = ScramVerifier::from_password("pencil", b"salt", 10);
        let mut x = ScramExchange::new(Some(v), "user", None, false);
        let first = x.server_first(CLIENT_FIRST.as_bytes(), "s").unwrap();
        assert!(first.ends_with(",s=c2FsdA==,i=10"), "{first}");
    }

    #[test]
    fn wrong_proof_fails_without_error_message() {
        let mut x = exchange();
        x.server_first(CLIENT_FIRST.as_bytes(), SERVER_NONCE)
            .unwrap();
        let bad = CLIENT_FINAL.replace("p=dHzb", "p=dHza");
        assert_eq!(x.server_final(bad.as_bytes()).unwrap(), None);
        assert!(x.proven_keys().is_none(), "no keys from a wrong proof");
    }

    #[test]
    fn unknown_user_gets_a_stable_made_up_salt_and_fails() {
        let mut x = ScramExchange::new(None, "nobody", None, false);
        let first = x
            .server_first(CLIENT_FIRST.as_bytes(), SERVER_NONCE)
            .unwrap();
        let mut y = ScramExchange::new(None, "nobody", None, false);
        assert_eq!(
            first,
            y.server_first(CLIENT_FIRST.as_bytes(), SERVER_NONCE)
                .unwrap()
        );
        let mut z = ScramExchange::new(None, "somebody", None, false);
        assert_ne!(
            first,
            z.server_first(CLIENT_FIRST.as_bytes(), SERVER_NONCE)
                .unwrap()
        );
        assert!(first.ends_with(",i=4096"));
        assert_eq!(x.server_final(CLIENT_FINAL.as_bytes()).unwrap(), None);
    }

    fn first_error(msg: &[u8], binding: Option<Vec<u8>>, offered: bool) -> ErrorInfo {
        ScramExchange::new(Some(rfc_verifier()), "user", binding, offered)
            .server_first(msg, "abc")
            .unwrap_err()
    }

    /// The errors PostgreSQL 15 sends, recorded with hand-written messages.
    #[test]
    fn malformed_client_first() {
        let cases: &[(&[u8], &str, &str, Option<&str>)] = &[
            (
                b"",
                "08P01",
                "malformed SCRAM message",
                Some("The message is empty."),
            ),
            (
                b"x,,n=,r=abc",
                "08P01",
                "malformed SCRAM message",
                Some("Unexpected channel-binding flag \"'x'\"."),
            ),
            (
                b"n",
                "08P01",
                "malformed SCRAM message",
                Some("Comma expected, but found character \"0x00\"."),
            ),
            (
                b"n,x",
                "08P01",
                "malformed SCRAM message",
                Some("Unexpected attribute \"'x'\" in client-first-message."),
            ),
            (
                b"n,a=bob,n=,r=abc",
                "0A000",
                "client uses authorization identity, but it is not supported",
                None,
            ),
            (
                b"n,,m=ext,n=,r=abc",
                "0A000",
                "client requires an unsupported SCRAM extension",
                None,
            ),
            (
                b"n,,nx,r=abc",
                "08P01",
                "malformed SCRAM message",
                Some("Expected character \"=\" for attribute \"n\"."),
            ),
            (
                b"n,,n=,x=abc",
                "08P01",
                "malformed SCRAM message",
                Some("Expected attribute \"r\" but found \"'x'\"."),
            ),
            (
                b"n,,n=,r=ab c",
                "08P01",
                "non-printable characters in SCRAM nonce",
                None,
            ),
            (
                b"p=tls-server-end-point,,n=,r=abc",
                "08P01",
                "malformed SCRAM message",
                Some(
                    "The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.",
                ),
            ),
        ];
        for (msg, code, text, detail) in cases {
            let e = first_error(msg, None, false);
            assert_eq!(e.code().code(), *code, "{}", String::from_utf8_lossy(msg));
            assert_eq!(e.message(), *text);
            assert_eq!(e.detail(), *detail);
            assert!(e.is_fatal());
        }
    }

    #[test]
    fn accepted_client_first_variants() {
        // PostgreSQL accepts an empty nonce, extensions and a trailing comma.
        for msg in ["n,,n=,r=", "n,,n=,r=abc,x=1", "n,,n=,r=abc,", "y,,n=,r=abc"] {
            let mut x = exchange();
            assert!(x.server_first(msg.as_bytes(), "s").is_ok(), "{msg}");
        }
    }

    #[test]
    fn channel_binding_flags() {
        // `y` when the server offered -PLUS: a downgrade.
        let e = first_error(b"y,,n=,r=abc", None, true);
        assert_eq!(e.code(), SqlState::INVALID_AUTHORIZATION_SPECIFICATION);
        assert_eq!(e.message(), "SCRAM channel binding negotiation error");
        // -PLUS chosen but no binding requested.
        for msg in [&b"n,,n=,r=abc"[..], b"y,,n=,r=abc"] {
            let e = first_error(msg, Some(vec![1, 2, 3]), true);
            assert_eq!(e.code(), SqlState::PROTOCOL_VIOLATION);
            assert!(
                e.detail()
                    .unwrap()
                    .contains("does not include channel binding data")
            );
        }
        let e = first_error(b"p=tls-unique,,n=,r=abc", Some(vec![1]), true);
        assert_eq!(
            e.message(),
            "unsupported SCRAM channel-binding type \"tls-unique\""
        );
    }

    /// A whole -PLUS exchange, with the client side computed here.
    #[test]
    fn plus_exchange_checks_the_binding() {
        let binding = vec![7u8; 32];
        let run = |cbind_data: &[u8]| -> Result<Option<String>, ErrorInfo> {
            let mut x =
                ScramExchange::new(Some(rfc_verifier()), "user", Some(binding.clone()), true);
            let gs2 = b"p=tls-server-end-point,,";
            let bare = "n=,r=clientnonce";
            let first = [&gs2[..], bare.as_bytes()].concat();
            let server_first = x.server_first(&first, "servernonce")?;
            let cbind = B64.encode([&gs2[..], cbind_data].concat());
            let without_proof = format!("c={cbind},r=clientnonceservernonce");
            let salted = salted_password("pencil", &B64.decode(SALT_B64).unwrap(), 4096);
            let client_key = hmac_sha256(&salted, &[b"Client Key"]);
            let auth = format!("{bare},{server_first},{without_proof}");
            let sig = hmac_sha256(&sha256(&client_key), &[auth.as_bytes()]);
            let proof: Vec<u8> = client_key.iter().zip(sig).map(|(a, b)| a ^ b).collect();
            let last = format!("{without_proof},p={}", B64.encode(proof));
            x.server_final(last.as_bytes())
        };
        assert!(run(&binding).unwrap().unwrap().starts_with("v="));
        let e = run(&[8u8; 32]).unwrap_err();
        assert_eq!(e.code(), SqlState::INVALID_AUTHORIZATION_SPECIFICATION);
        assert_eq!(e.message(), "SCRAM channel binding check failed");
    }

    #[test]
    fn malformed_client_final() {
        let run = |last: &str| {
            let mut x = exchange();
            x.server_first(CLIENT_FIRST.as_bytes(), SERVER_NONCE)
                .unwrap();
            x.server_final(last.as_bytes())
        };
        let (without_proof, proof) = CLIENT_FINAL.split_once(",p=").unwrap();
        let cases = [
            (
                CLIENT_FINAL.replace("c=biws", "c=eSwx"),
                "unexpected SCRAM channel-binding attribute in client-final-message",
                None,
            ),
            (
                CLIENT_FINAL.replace(",r=rOpr", ",r=XrOpr"),
                "invalid SCRAM response",
                Some("Nonce does not match."),
            ),
            (
                format!("{without_proof},p=AAAA"),
                "malformed SCRAM message",
                Some("Malformed proof in client-final-message."),
            ),
            (
                format!("{without_proof},p=!!!!"),
                "malformed SCRAM message",
                Some("Malformed proof in client-final-message."),
            ),
            (
                without_proof.to_owned(),
                "malformed SCRAM message",
                Some("Attribute expected, but found end of string."),
            ),
            (
                format!("{without_proof},p={proof},z=1"),
                "malformed SCRAM message",
                Some("Garbage found at the end of client-final-message."),
            ),
            (
                "r=x".to_owned(),
                "malformed SCRAM message",
                Some("Expected attribute \"c\" but found \"'r'\"."),
            ),
        ];
        for (msg, text, detail) in cases {
            let e = run(&msg).unwrap_err();
            assert_eq!(e.code(), SqlState::PROTOCOL_VIOLATION, "{msg}");
            assert_eq!(e.message(), text, "{msg}");
            assert_eq!(e.detail(), detail, "{msg}");
        }
        // An extension before the proof is allowed (and covered by it).
        let ext = format!("{without_proof},x=1,p={proof}");
        assert_eq!(run(&ext).unwrap(), None);
    }

    #[test]
    fn saslprep_and_its_fallback() {
        // U+00AA normalizes to "a" under SASLprep (NFKC).
        let salt = b"salt";
        assert_eq!(
            salted_password("\u{aa}", salt, 1),
            salted_password("a", salt, 1)
        );
        // A prohibited character (U+0007): the raw password is used.
        let raw = "a\u{7}";
        let mut out = [0u8; 32];
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA256,
            std::num::NonZeroU32::MIN,
            salt,
            raw.as_bytes(),
            &mut out,
        );
        assert_eq!(salted_password(raw, salt, 1), out);
    }
}
