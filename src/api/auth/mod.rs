//! Authentication: the [`Authenticator`] a server's
//! [`ServerHandlers::authenticate`](super::ServerHandlers::authenticate)
//! drives, one method per PostgreSQL authentication method, and the
//! [`AuthSource`] users are looked up in.
//!
//! Supported: trust, cleartext password, MD5, SCRAM-SHA-256, and
//! SCRAM-SHA-256-PLUS (`tls-server-end-point` channel binding, offered on
//! TLS connections) and OAUTHBEARER. Stored secrets use PostgreSQL's
//! formats ([`Credential`]), so `rolpassword` values from `pg_authid` can be
//! copied as they are.
//!
//! A typical server authenticates in one line:
//!
//! ```
//! use std::collections::HashMap;
//! use pgwire::api::auth::{AuthMethod, Authenticator, Credential, ScramVerifier};
//! use pgwire::error::ErrorInfo;
//!
//! struct Users(HashMap<String, Credential>);
//!
//! impl Users {
//!     async fn authenticate(&self, auth: &mut Authenticator<'_>) -> Result<(), ErrorInfo> {
//!         auth.run(AuthMethod::ScramSha256, &self.0).await
//!     }
//! }
//! ```
//!
//! Failures look like PostgreSQL's: FATAL 28P01 `password authentication
//! failed for user "..."` for a wrong password and for an unknown user
//! alike, FATAL 08P01 for a malformed message. Passwords, proofs and tokens
//! are never logged.

use std::future::Future;
use std::pin::Pin;

use crate::api::ClientInfo;
use crate::error::{ErrorInfo, SqlState};
use crate::messages::{AuthResponseKind, Authentication, FrontendMessage, Message};

mod md5;
mod oauth;
mod scram;
mod source;

pub use crate::scram_keys::ScramKeys;
pub use oauth::{OAUTHBEARER, OAuthConfig, OAuthDecision, OAuthValidator};
pub use scram::{SCRAM_SHA_256, SCRAM_SHA_256_PLUS, ScramExchange};
pub use source::{
    AuthSource, Credential, DEFAULT_SCRAM_ITERATIONS, InvalidVerifier, ScramVerifier, md5_hash,
};

/// A password authentication method, for [`Authenticator::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// Everyone is let in (PostgreSQL's `trust`); the source is not asked.
    Trust,
    /// The password in clear text (`password`): only over TLS.
    Cleartext,
    /// MD5 (`md5`); users with a SCRAM verifier get SCRAM instead.
    Md5,
    /// SCRAM-SHA-256 (`scram-sha-256`), with channel binding over TLS.
    ScramSha256,
}

/// How the connection carries authentication messages; implemented by the
/// server's connection.
pub(crate) trait AuthChannel: Send {
    /// Queues an Authentication message.
    fn send_auth(&mut self, msg: &Authentication);

    /// Sends what is queued, then reads the client's next message, decoding
    /// a 'p' message as `kind`.
    fn recv<'a>(
        &'a mut self,
        kind: AuthResponseKind,
    ) -> Pin<Box<dyn Future<Output = Result<FrontendMessage, ErrorInfo>> + Send + 'a>>;
}

/// Runs the authentication exchange with one client.
///
/// Methods send the authentication request, read the answer and check it;
/// they fail with a FATAL error the server sends before closing. Failures
/// for an unknown user and a wrong password look the same to the client.
///
/// ```
/// use pgwire::api::auth::Authenticator;
/// use pgwire::error::ErrorInfo;
///
/// async fn check(auth: &mut Authenticator<'_>) -> Result<(), ErrorInfo> {
///     let expected = match auth.user() {
///         "alice" => Some("secret"),
///         _ => None,
///     };
///     auth.cleartext(expected).await
/// }
/// ```
pub struct Authenticator<'a> {
    pub(crate) channel: &'a mut dyn AuthChannel,
    pub(crate) client: &'a ClientInfo,
    pub(crate) scram_keys: Option<ScramKeys>,
}

impl<'a> Authenticator<'a> {
    pub(crate) fn new(channel: &'a mut dyn AuthChannel, client: &'a ClientInfo) -> Self {
        Authenticator {
            channel,
            client,
            scram_keys: None,
        }
    }

    /// The [`ScramKeys`] the client proved it holds, once
    /// [`scram_sha_256`](Self::scram_sha_256) has succeeded against a
    /// stored [`ScramVerifier`]: with them a pooler can log in as this
    /// user to a PostgreSQL server storing the same verifier, without the
    /// password. `None` before that, and when the user's credential was a
    /// cleartext password (the keys would then be made with this server's
    /// own salt, and open nothing elsewhere).
    pub fn scram_keys(&self) -> Option<&ScramKeys> {
        self.scram_keys.as_ref()
    }

    /// The connecting client.
    pub fn client(&self) -> &ClientInfo {
        self.client
    }

    /// The user name the client connects as.
    pub fn user(&self) -> &str {
        self.client.user()
    }

    /// The error PostgreSQL sends for a failed password check (28P01),
    /// used for unknown users too, so that a client cannot tell which users
    /// exist.
    pub fn password_failed(&self) -> ErrorInfo {
        ErrorInfo::fatal(
            SqlState::INVALID_PASSWORD,
            format!(
                "password authentication failed for user \"{}\"",
                self.user()
            ),
        )
    }

    /// Sends an authentication request.
    pub(crate) fn send(&mut self, msg: &Authentication) {
        self.channel.send_auth(msg);
    }

    /// Reads the client's answer, decoding 'p' as `kind`.
    pub(crate) async fn recv(
        &mut self,
        kind: AuthResponseKind,
    ) -> Result<FrontendMessage, ErrorInfo> {
        self.channel.recv(kind).await
    }

    /// Asks for a cleartext password (AuthenticationCleartextPassword) and
    /// returns what the client sent. Only use this over TLS or trusted
    /// networks.
    pub async fn request_cleartext_password(&mut self) -> Result<String, ErrorInfo> {
        self.send(&Authentication::CleartextPassword);
        match self.recv(AuthResponseKind::Password).await? {
            FrontendMessage::Password(p) => Ok(p.password.to_string()),
            other => Err(unexpected(&other)),
        }
    }

    /// Cleartext password authentication: asks for the password and
    /// compares it, in constant time, with `expected` (`None` for an
    /// unknown user, which fails the same way as a wrong password).
    pub async fn cleartext(&mut self, expected: Option<&str>) -> Result<(), ErrorInfo> {
        let credential = expected.map(|e| Credential::Password(e.to_owned()));
        self.password(credential.as_ref()).await
    }

    /// Cleartext password authentication against any stored form: the
    /// password itself, its MD5 hash or a SCRAM verifier (the password the
    /// client sends is hashed the same way), as PostgreSQL's `password`
    /// method does.
    pub async fn password(&mut self, credential: Option<&Credential>) -> Result<(), ErrorInfo> {
        let given = self.request_cleartext_password().await?;
        if given.is_empty() {
            return Err(empty_password());
        }
        let ok = match credential {
            Some(Credential::Password(p)) => same_secret(p, &given),
            Some(Credential::Md5(h)) => {
                constant_time_eq(h.as_bytes(), md5_hash(self.user(), &given).as_bytes())
            }
            Some(Credential::Scram(v)) => v.matches_password(&given),
            None => false,
        };
        if ok {
            Ok(())
        } else {
            Err(self.password_failed())
        }
    }

    /// Authenticates with `method`, looking the user up in `source`: the
    /// one line a typical [`ServerHandlers::authenticate`](crate::api::ServerHandlers::authenticate)
    /// needs. The source is asked before the client is (as PostgreSQL
    /// does), so an unknown user goes through the same exchange.
    pub async fn run<S: AuthSource + ?Sized>(
        &mut self,
        method: AuthMethod,
        source: &S,
    ) -> Result<(), ErrorInfo> {
        if method == AuthMethod::Trust {
            return Ok(());
        }
        let credential = source.lookup(self.user()).await?;
        match method {
            AuthMethod::Trust => Ok(()),
            AuthMethod::Cleartext => self.password(credential.as_ref()).await,
            AuthMethod::Md5 => self.md5(credential.as_ref()).await,
            AuthMethod::ScramSha256 => self.scram_sha_256(credential.as_ref()).await,
        }
    }
}

/// Compares two secrets by their SHA-256 digests in constant time, so that
/// not even their lengths show in the time taken.
fn same_secret(a: &str, b: &str) -> bool {
    use ring::digest::{SHA256, digest};
    constant_time_eq(
        digest(&SHA256, a.as_bytes()).as_ref(),
        digest(&SHA256, b.as_bytes()).as_ref(),
    )
}

/// PostgreSQL's answer to an empty password.
pub(crate) fn empty_password() -> ErrorInfo {
    ErrorInfo::fatal(
        SqlState::INVALID_PASSWORD,
        "empty password returned by client",
    )
}

/// The error for a message that is not the expected authentication reply.
pub(crate) fn unexpected(msg: &FrontendMessage) -> ErrorInfo {
    ErrorInfo::fatal(
        SqlState::PROTOCOL_VIOLATION,
        format!(
            "expected password response, got message type {}",
            message_type(msg)
        ),
    )
}

/// A message's type byte, which PostgreSQL prints (as a number) when the
/// client answers an authentication request with something else.
pub(crate) fn message_type(msg: &FrontendMessage) -> u8 {
    use crate::messages as m;
    let tag = match msg {
        FrontendMessage::Query(_) => m::Query::TAG,
        FrontendMessage::Parse(_) => m::Parse::TAG,
        FrontendMessage::Bind(_) => m::Bind::TAG,
        FrontendMessage::Describe(_) => m::Describe::TAG,
        FrontendMessage::Execute(_) => m::Execute::TAG,
        FrontendMessage::Close(_) => m::Close::TAG,
        FrontendMessage::Sync(_) => m::Sync::TAG,
        FrontendMessage::Flush(_) => m::Flush::TAG,
        FrontendMessage::CopyData(_) => m::CopyData::TAG,
        FrontendMessage::CopyDone(_) => m::CopyDone::TAG,
        FrontendMessage::CopyFail(_) => m::CopyFail::TAG,
        FrontendMessage::FunctionCall(_) => m::FunctionCall::TAG,
        FrontendMessage::Terminate(_) => m::Terminate::TAG,
        FrontendMessage::Password(_)
        | FrontendMessage::SaslInitialResponse(_)
        | FrontendMessage::SaslResponse(_)
        | FrontendMessage::GssResponse(_) => Some(b'p'),
        _ => None,
    };
    tag.unwrap_or(0)
}

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
