//! MD5 password authentication (AuthenticationMD5Password), as PostgreSQL
//! does it: a random 4-byte salt per connection, and the client answers
//! `md5` + md5hex(md5hex(password + user) + salt).

use ring::rand::{SecureRandom, SystemRandom};

use super::source::{Credential, md5_hash};
use super::{Authenticator, constant_time_eq, unexpected};
use crate::error::{ErrorInfo, SqlState};
use crate::messages::{AuthResponseKind, Authentication, FrontendMessage};

/// The answer a client holding `stored` (`md5<hex>`) gives for `salt`.
pub(crate) fn salted_response(stored: &str, salt: &[u8; 4]) -> String {
    let hex = stored.strip_prefix("md5").unwrap_or(stored);
    let mut ctx = md5::Context::new();
    ctx.consume(hex.as_bytes());
    ctx.consume(salt);
    format!("md5{:x}", ctx.finalize())
}

impl Authenticator<'_> {
    /// MD5 password authentication against `credential` (`None` for an
    /// unknown user, which fails like a wrong password).
    ///
    /// A cleartext password or an MD5 hash can check the answer. For a
    /// user with a SCRAM verifier, SCRAM-SHA-256 is run instead, as
    /// PostgreSQL does for `md5` in pg_hba.conf. MD5 is weak: prefer
    /// [`scram_sha_256`](Self::scram_sha_256).
    pub async fn md5(&mut self, credential: Option<&Credential>) -> Result<(), ErrorInfo> {
        if let Some(Credential::Scram(_)) = credential {
            return self.scram_sha_256(credential).await;
        }
        let mut salt = [0u8; 4];
        SystemRandom::new().fill(&mut salt).map_err(|_| {
            ErrorInfo::fatal(
                SqlState::INTERNAL_ERROR,
                "could not generate random MD5 salt",
            )
        })?;
        self.send(&Authentication::Md5Password { salt });
        let given = match self.recv(AuthResponseKind::Password).await? {
            FrontendMessage::Password(p) => p.password,
            other => return Err(unexpected(&other)),
        };
        if given.is_empty() {
            return Err(super::empty_password());
        }
        let stored = match credential {
            Some(Credential::Md5(h)) => Some(h.clone()),
            Some(Credential::Password(p)) => Some(md5_hash(self.user(), p)),
            _ => None,
        };
        // An unknown user's answer is still hashed and compared, so that
        // the time taken does not tell.
        let expected = salted_response(stored.as_deref().unwrap_or("md5"), &salt);
        let ok = constant_time_eq(given.as_bytes(), expected.as_bytes());
        if ok && stored.is_some() {
            Ok(())
        } else {
            Err(self.password_failed())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_as_libpq_computes_it() {
        // md5(md5("pw" + "md5user") + salt): the stored hash is the inner part.
        let stored = md5_hash("md5user", "pw");
        let salt = [0xec, 0x63, 0xc9, 0xf5];
        let inner = format!("{:x}", md5::compute(b"pwmd5user"));
        let mut outer = inner.into_bytes();
        outer.extend_from_slice(&salt);
        assert_eq!(
            salted_response(&stored, &salt),
            format!("md5{:x}", md5::compute(&outer))
        );
    }
}
