//! OAUTHBEARER (RFC 7628) as PostgreSQL 18 speaks it: the client sends a
//! bearer token in its SASL initial response and a validator the server
//! provides decides.
//!
//! The flow: AuthenticationSASL offering `OAUTHBEARER`; the client's
//! SASLInitialResponse `n,,\x01auth=Bearer <token>\x01\x01`. A valid token
//! gets AuthenticationOk. A client without a token (an empty `auth=`,
//! asking where to get one) or with a refused token gets the discovery
//! document as AuthenticationSASLContinue
//! (`{"status":"invalid_token","openid-configuration":...,"scope":...}`),
//! must answer with the single byte `\x01`, and then gets FATAL 28000.

use std::future::Future;

use bytes::Bytes;

use super::{Authenticator, unexpected};
use crate::error::{ErrorInfo, SqlState};
use crate::messages::{AuthResponseKind, Authentication, ByteStr, FrontendMessage};

/// The SASL mechanism name.
pub const OAUTHBEARER: &str = "OAUTHBEARER";

/// RFC 7628's key-value separator.
const KVSEP: u8 = 0x01;

/// What a validator decided about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OAuthDecision {
    /// The token lets the client in as the requested user. `identity` is
    /// who the token authenticated (PostgreSQL's `authn_id`), if known.
    Allowed {
        /// The authenticated identity, e.g. the token's subject.
        identity: Option<String>,
    },
    /// The token is not valid, or not for this user.
    Denied,
}

/// Checks bearer tokens: implemented by the server (against its issuer's
/// keys or introspection endpoint).
///
/// The token is syntactically valid (RFC 6750 `b64token`) when this is
/// called; everything else is the validator's to check (signature, expiry,
/// audience, and that it may log in as `user`). An `Err` is sent to the
/// client as is.
pub trait OAuthValidator: Send + Sync {
    /// Decides whether `token` lets the client log in as `user`.
    fn validate(
        &self,
        token: &str,
        user: &str,
    ) -> impl Future<Output = Result<OAuthDecision, ErrorInfo>> + Send;
}

/// What a client is told to get a token: the issuer's discovery document
/// and the scope to ask for (PostgreSQL's `issuer` and `scope` HBA
/// options).
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    issuer: String,
    scope: String,
}

impl OAuthConfig {
    /// An issuer (its identifier, e.g. `https://auth.example.com`, or a
    /// URL containing `/.well-known/`) and the scopes, space separated
    /// (may be empty).
    pub fn new(issuer: impl Into<String>, scope: impl Into<String>) -> Self {
        OAuthConfig {
            issuer: issuer.into(),
            scope: scope.into(),
        }
    }

    /// The discovery document URL: the issuer as is if it contains
    /// `/.well-known/`, otherwise the issuer with
    /// `/.well-known/openid-configuration` appended (OpenID Connect
    /// Discovery), as PostgreSQL builds it.
    pub fn discovery_uri(&self) -> String {
        if self.issuer.contains("/.well-known/") {
            self.issuer.clone()
        } else {
            format!(
                "{}/.well-known/openid-configuration",
                self.issuer.trim_end_matches('/')
            )
        }
    }

    /// The error response (RFC 7628 section 3.2.2) sent to a client without
    /// a valid token.
    pub fn error_json(&self) -> String {
        let mut out = String::from("{\"status\":\"invalid_token\",\"openid-configuration\":");
        json_string(&mut out, &self.discovery_uri());
        if !self.scope.is_empty() {
            out.push_str(",\"scope\":");
            json_string(&mut out, &self.scope);
        }
        out.push('}');
        out
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn malformed(detail: impl Into<String>) -> ErrorInfo {
    ErrorInfo::fatal(
        SqlState::PROTOCOL_VIOLATION,
        "malformed OAUTHBEARER message",
    )
    .with_detail(detail.into())
}

fn show_char(c: Option<u8>) -> String {
    match c {
        Some(c) if c.is_ascii_graphic() => format!("'{}'", c as char),
        Some(c) => format!("0x{c:02x}"),
        None => "0x00".to_owned(),
    }
}

/// Reads the client's initial response and returns its `auth` value
/// (empty when the client asks for discovery).
pub(crate) fn parse_initial_response(msg: &[u8]) -> Result<&[u8], ErrorInfo> {
    if msg.is_empty() {
        return Err(malformed("The message is empty."));
    }
    let mut pos = 0;
    let at = |i: usize| msg.get(i).copied();
    match at(0) {
        // `y`: the client could bind but thinks we cannot; we cannot.
        Some(b'n' | b'y') => pos += 1,
        Some(b'p') => {
            return Err(malformed(
                "The server does not support channel binding for OAuth, but the client message includes channel binding data.",
            ));
        }
        c => {
            return Err(malformed(format!(
                "Unexpected channel-binding flag \"{}\".",
                show_char(c)
            )));
        }
    }
    if at(pos) != Some(b',') {
        return Err(malformed(format!(
            "Comma expected, but found character \"{}\".",
            show_char(at(pos))
        )));
    }
    pos += 1;
    match at(pos) {
        Some(b'a') => {
            return Err(ErrorInfo::fatal(
                SqlState::FEATURE_NOT_SUPPORTED,
                "client uses authorization identity, but it is not supported",
            ));
        }
        Some(b',') => pos += 1,
        c => {
            return Err(malformed(format!(
                "Unexpected attribute \"{}\" in client-first-message.",
                show_char(c)
            )));
        }
    }
    if at(pos) != Some(KVSEP) {
        return Err(malformed(format!(
            "Key-value separator expected, but found character \"{}\".",
            show_char(at(pos))
        )));
    }
    pos += 1;

    // kvpair = key "=" value kvsep, then one more kvsep ends the message.
    let mut auth = None;
    loop {
        let rest = msg.get(pos..).unwrap_or_default();
        let Some(end) = rest.iter().position(|&b| b == KVSEP) else {
            return Err(malformed("Message does not contain a final terminator."));
        };
        if end == 0 {
            pos += 1;
            break;
        }
        let pair = &rest[..end];
        pos += end + 1;
        let Some(eq) = pair.iter().position(|&b| b == b'=') else {
            return Err(malformed("Key-value pair has no \"=\"."));
        };
        let (key, value) = (&pair[..eq], &pair[eq + 1..]);
        if key.is_empty() || !key.iter().all(u8::is_ascii_alphabetic) {
            return Err(malformed("Message contains an invalid key name."));
        }
        // value = *(VCHAR / SP / HTAB / CR / LF)
        if !value
            .iter()
            .all(|&b| (0x20..=0x7e).contains(&b) || b == b'\t' || b == b'\r' || b == b'\n')
        {
            return Err(malformed("Message contains an invalid value."));
        }
        if key == b"auth" {
            if auth.is_some() {
                return Err(malformed("Message contains multiple auth values."));
            }
            auth = Some(value);
        }
        // Other keys (host, port, extensions) are ignored, as RFC 7628
        // allows.
    }
    if pos != msg.len() {
        return Err(malformed(
            "Message contains additional data after the final terminator.",
        ));
    }
    auth.ok_or_else(|| malformed("Message does not contain an auth value."))
}

/// The token of an `auth` value `Bearer <token>` (scheme case-insensitive,
/// RFC 6750 `b64token` syntax), or `None` if it is not one.
pub(crate) fn bearer_token(auth: &[u8]) -> Option<&str> {
    let scheme = auth.get(..7)?;
    if !scheme.eq_ignore_ascii_case(b"Bearer ") {
        return None;
    }
    let token = std::str::from_utf8(&auth[7..])
        .ok()?
        .trim_start_matches(' ');
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    ok.then_some(token)
}

impl Authenticator<'_> {
    /// OAUTHBEARER authentication: the client's bearer token is checked by
    /// `validator`; a client without one, or with one refused, is sent
    /// `config`'s discovery information and then refused with FATAL 28000.
    ///
    /// Returns the identity the validator reported. Bearer tokens are
    /// secrets: use OAuth only over TLS (see
    /// [`ServerConfig::with_require_tls`](crate::server::ServerConfig::with_require_tls)).
    pub async fn oauth<V: OAuthValidator + ?Sized>(
        &mut self,
        config: &OAuthConfig,
        validator: &V,
    ) -> Result<Option<String>, ErrorInfo> {
        self.send(&Authentication::Sasl {
            mechanisms: vec![ByteStr::from_static(OAUTHBEARER)],
        });
        let initial = match self.recv(AuthResponseKind::SaslInitial).await? {
            FrontendMessage::SaslInitialResponse(m) => m,
            other => return Err(unexpected(&other)),
        };
        if initial.mechanism.as_str() != OAUTHBEARER {
            return Err(ErrorInfo::fatal(
                SqlState::PROTOCOL_VIOLATION,
                "client selected an invalid SASL authentication mechanism",
            ));
        }
        let data = match initial.data {
            Some(d) => d,
            None => {
                self.send(&Authentication::SaslContinue(Bytes::new()));
                self.sasl_response().await?
            }
        };
        let auth = parse_initial_response(&data)?;
        if !auth.is_empty() {
            match bearer_token(auth) {
                Some(token) => {
                    let user = self.user().to_owned();
                    match validator.validate(token, &user).await? {
                        OAuthDecision::Allowed { identity } => return Ok(identity),
                        OAuthDecision::Denied => {
                            tracing::info!(user = %user, "OAuth bearer token refused by the validator");
                        }
                    }
                }
                None => tracing::info!("malformed OAuth bearer token"),
            }
        }
        // Discovery, or a failed token: tell the client where tokens come
        // from; RFC 7628 has it answer with a lone kvsep before failing.
        self.send(&Authentication::SaslContinue(Bytes::from(
            config.error_json(),
        )));
        let answer = self.sasl_response().await?;
        if answer.as_ref() != [KVSEP] {
            return Err(malformed("Client did not send a kvsep response."));
        }
        Err(ErrorInfo::fatal(
            SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
            format!(
                "OAuth bearer authentication failed for user \"{}\"",
                self.user()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_responses() {
        assert_eq!(
            parse_initial_response(b"n,,\x01auth=Bearer abc.def\x01\x01").unwrap(),
            b"Bearer abc.def"
        );
        assert_eq!(
            parse_initial_response(b"y,,\x01host=db\x01auth=\x01port=5432\x01\x01").unwrap(),
            b""
        );
        let bad: &[(&[u8], &str)] = &[
            (b"", "The message is empty."),
            (
                b"p=tls-server-end-point,,\x01auth=x\x01\x01",
                "channel binding",
            ),
            (
                b"x,,\x01auth=\x01\x01",
                "Unexpected channel-binding flag \"'x'\".",
            ),
            (b"n,,auth=\x01\x01", "Key-value separator expected"),
            (b"n,,\x01auth=abc\x01", "final terminator"),
            (b"n,,\x01host=x\x01\x01", "does not contain an auth value"),
            (b"n,,\x01auth=a\x01\x01junk", "additional data"),
            (b"n,,\x01au th=a\x01\x01", "invalid key"),
            (b"n,,\x01auth=a\x01auth=b\x01\x01", "multiple auth"),
            (b"n,,\x01auth=a\x00\x01\x01", "invalid value"),
        ];
        for (msg, detail) in bad {
            let e = parse_initial_response(msg).unwrap_err();
            assert_eq!(e.code(), SqlState::PROTOCOL_VIOLATION);
            assert!(e.detail().unwrap().contains(detail), "{e:?}");
        }
        let e = parse_initial_response(b"n,a=bob,\x01auth=\x01\x01").unwrap_err();
        assert_eq!(e.code(), SqlState::FEATURE_NOT_SUPPORTED);
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer_token(b"Bearer abc-._~+/=="), Some("abc-._~+/=="));
        assert_eq!(bearer_token(b"bearer abc"), Some("abc"));
        assert_eq!(bearer_token(b"Bearer "), None);
        assert_eq!(bearer_token(b"Bearer a b"), None);
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bearer =abc"), None);
    }

    #[test]
    fn discovery_document() {
        let c = OAuthConfig::new("https://auth.example.com/", "openid db");
        assert_eq!(
            c.error_json(),
            r#"{"status":"invalid_token","openid-configuration":"https://auth.example.com/.well-known/openid-configuration","scope":"openid db"}"#
        );
        let c = OAuthConfig::new(
            "https://a.example/.well-known/oauth-authorization-server",
            "",
        );
        assert_eq!(
            c.error_json(),
            r#"{"status":"invalid_token","openid-configuration":"https://a.example/.well-known/oauth-authorization-server"}"#
        );
    }
}
