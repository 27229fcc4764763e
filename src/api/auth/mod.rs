//! Authentication: the [`Authenticator`] a server's
//! [`ServerHandlers::authenticate`](super::ServerHandlers::authenticate)
//! drives, one method per PostgreSQL authentication method.

use std::future::Future;
use std::pin::Pin;

use crate::api::ClientInfo;
use crate::error::{ErrorInfo, SqlState};
use crate::messages::{AuthResponseKind, Authentication, FrontendMessage};

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
}

impl<'a> Authenticator<'a> {
    pub(crate) fn new(channel: &'a mut dyn AuthChannel, client: &'a ClientInfo) -> Self {
        Authenticator { channel, client }
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
        let given = self.request_cleartext_password().await?;
        match expected {
            Some(e) if constant_time_eq(e.as_bytes(), given.as_bytes()) && !given.is_empty() => {
                Ok(())
            }
            _ => Err(self.password_failed()),
        }
    }
}

/// The error for a message that is not the expected authentication reply.
pub(crate) fn unexpected(msg: &FrontendMessage) -> ErrorInfo {
    ErrorInfo::fatal(
        SqlState::PROTOCOL_VIOLATION,
        format!(
            "expected password response, got message type {}",
            msg.name()
        ),
    )
}

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
