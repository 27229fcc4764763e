//! A server as it should face a network: TLS required (after SSLRequest or
//! PostgreSQL 17's direct TLS), SCRAM-SHA-256 with channel binding to the
//! certificate (SCRAM-SHA-256-PLUS), optional client certificates.
//!
//! ```sh
//! cargo run --example secure_server -- server.crt server.key   # your certificate
//! cargo run --example secure_server      # or a fresh self-signed one for localhost
//! psql 'host=localhost port=5435 user=alice sslmode=verify-full sslrootcert=<printed path> channel_binding=require'
//! ```
//!
//! The password is `secret`. `sslmode=disable` is refused with FATAL 28000;
//! psql 17+ can add `sslnegotiation=direct`.

#[path = "hello_handler/mod.rs"]
mod hello_handler;

use std::collections::HashMap;
use std::path::PathBuf;

use hello_handler::Hello;
use pgwire::api::auth::{AuthMethod, Authenticator, Credential, ScramVerifier};
use pgwire::api::{ServerHandlers, Session};
use pgwire::error::ErrorInfo;
use pgwire::server::{ServerConfig, TlsAcceptor, serve};

struct Secure {
    users: HashMap<String, Credential>,
}

impl ServerHandlers for Secure {
    type Handler = Hello;

    async fn authenticate(&self, auth: &mut Authenticator<'_>) -> Result<(), ErrorInfo> {
        auth.run(AuthMethod::ScramSha256, &self.users).await
    }

    async fn connect(&self, session: &mut Session) -> Result<Hello, ErrorInfo> {
        // A client certificate, if one was asked for and verified, is in
        // session.client().tls().unwrap().peer_certificates.
        Ok(Hello::new(session))
    }
}

/// A self-signed certificate for localhost and 127.0.0.1, written to the
/// temporary directory.
fn self_signed() -> std::io::Result<(PathBuf, PathBuf)> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let cert = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
    let dir = std::env::temp_dir();
    let (crt, key) = (
        dir.join("pgwire-example.crt"),
        dir.join("pgwire-example.key"),
    );
    std::fs::write(&crt, cert.cert.pem())?;
    std::fs::write(&key, cert.signing_key.serialize_pem())?;
    Ok((crt, key))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (crt, key) = match args.as_slice() {
        [crt, key] => (PathBuf::from(crt), PathBuf::from(key)),
        _ => self_signed()?,
    };
    let tls = TlsAcceptor::from_pem_files(&crt, &key)?;
    // Or TlsAcceptor::from_pem_files_with_client_ca(&crt, &key, "ca.crt", true)
    // to require client certificates.
    let config = ServerConfig::default().with_tls(tls).with_require_tls(true);

    let mut users = HashMap::new();
    users.insert("alice".to_owned(), ScramVerifier::generate("secret").into());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:5435").await?;
    println!("listening on 127.0.0.1:5435, certificate {}", crt.display());
    serve(listener, Secure { users }, config).await
}
