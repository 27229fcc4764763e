//! SCRAM-SHA-256 with users from a table of verifiers in PostgreSQL's own
//! format: copy them from `select rolname, rolpassword from pg_authid`, or
//! make one with `--verifier`. The server never holds a password.
//!
//! ```sh
//! cargo run --example scram                        # listens on 127.0.0.1:5434
//! psql 'host=127.0.0.1 port=5434 user=alice sslmode=disable'   # password: secret
//! psql 'host=127.0.0.1 port=5434 user=bob sslmode=disable'     # password: pencil
//! cargo run --example scram -- --verifier 'my password'        # prints a verifier
//! ```
//!
//! A wrong password and an unknown user both get
//! `FATAL: password authentication failed for user "..."`.

#[path = "hello_handler/mod.rs"]
mod hello_handler;

use std::collections::HashMap;

use hello_handler::Hello;
use pgwire::api::auth::{AuthMethod, Authenticator, Credential, ScramVerifier};
use pgwire::api::{ServerHandlers, Session};
use pgwire::error::ErrorInfo;
use pgwire::server::{ServerConfig, serve};

/// user -> `pg_authid.rolpassword`. alice's was made by PostgreSQL 15
/// (`CREATE ROLE alice PASSWORD 'secret'`), bob's by `--verifier pencil`.
const USERS: &[(&str, &str)] = &[
    (
        "alice",
        "SCRAM-SHA-256$4096:/RvRLP20mNRpr1RCdf1OZw==$5CVjuVBmaN6HTXLqdit9YqPS+OQMUs5BynmOm0yB8Kg=:GcuIfcyvX0uZRxUpCHekchskQ/iPwGx6ctaRGTZTTS4=",
    ),
    (
        "bob",
        "SCRAM-SHA-256$4096:4Il38kiBx08fIA8C4bM8/w==$5VwFRlvpVoDpnugzuJ5+T1hV2HY3077tUczfF0eJTv4=:A0403kONHGzUJYarJWYxbNUtvq3RJavOOInYuUsJE/M=",
    ),
];

struct ScramServer {
    users: HashMap<String, Credential>,
}

impl ServerHandlers for ScramServer {
    type Handler = Hello;

    async fn authenticate(&self, auth: &mut Authenticator<'_>) -> Result<(), ErrorInfo> {
        auth.run(AuthMethod::ScramSha256, &self.users).await
    }

    async fn connect(&self, session: &mut Session) -> Result<Hello, ErrorInfo> {
        Ok(Hello::new(session))
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, password] = args.as_slice() {
        if flag == "--verifier" {
            println!("{}", ScramVerifier::generate(password));
            return Ok(());
        }
    }
    let users = USERS
        .iter()
        .map(|(user, stored)| (user.to_string(), Credential::parse(stored)))
        .collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:5434").await?;
    println!("listening on 127.0.0.1:5434 (SCRAM-SHA-256; alice/secret, bob/pencil)");
    serve(listener, ScramServer { users }, ServerConfig::default()).await
}
