//! OAUTHBEARER (PostgreSQL 18's `oauth` method) with a toy validator: a
//! real one checks the token's signature, expiry and audience with its
//! issuer; this one knows two tokens by heart.
//!
//! ```sh
//! cargo run --example oauth                        # listens on 127.0.0.1:5436
//! # psql 18 built with OAuth support fetches a token from the issuer
//! # the server names, then logs in with it:
//! psql 'host=127.0.0.1 port=5436 user=alice oauth_issuer=https://issuer.example oauth_client_id=my-client'
//! ```
//!
//! Clients without a token are told where to get one (the issuer's
//! discovery document and the scope) and refused with FATAL 28000; so are
//! clients with a token the validator refuses. Bearer tokens are secrets:
//! in production, also configure TLS (see `secure_server.rs`).

#[path = "hello_handler/mod.rs"]
mod hello_handler;

use hello_handler::Hello;
use pgwire::api::auth::{Authenticator, OAuthConfig, OAuthDecision, OAuthValidator};
use pgwire::api::{ServerHandlers, Session};
use pgwire::error::ErrorInfo;
use pgwire::server::{ServerConfig, serve};

/// Knows `alice-token` (for alice) and `bob-token` (for bob).
struct ToyValidator;

impl OAuthValidator for ToyValidator {
    async fn validate(&self, token: &str, user: &str) -> Result<OAuthDecision, ErrorInfo> {
        let subject = match token {
            "alice-token" => "alice",
            "bob-token" => "bob",
            _ => return Ok(OAuthDecision::Denied),
        };
        // The token must be for the user the client logs in as.
        Ok(if subject == user {
            OAuthDecision::Allowed {
                identity: Some(format!("{subject}@issuer.example")),
            }
        } else {
            OAuthDecision::Denied
        })
    }
}

struct OAuthServer {
    config: OAuthConfig,
}

impl ServerHandlers for OAuthServer {
    type Handler = Hello;

    async fn authenticate(&self, auth: &mut Authenticator<'_>) -> Result<(), ErrorInfo> {
        let identity = auth.oauth(&self.config, &ToyValidator).await?;
        println!("{} logged in as {identity:?}", auth.user());
        Ok(())
    }

    async fn connect(&self, session: &mut Session) -> Result<Hello, ErrorInfo> {
        Ok(Hello::new(session))
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let config = OAuthConfig::new("https://issuer.example", "openid postgres");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:5436").await?;
    println!("listening on 127.0.0.1:5436 (OAUTHBEARER)");
    serve(listener, OAuthServer { config }, ServerConfig::default()).await
}
