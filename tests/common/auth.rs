//! Helpers for the authentication and TLS tests: certificates generated
//! once per test binary (a CA, a server certificate for localhost and
//! 127.0.0.1, a client certificate), a server whose authentication method
//! is chosen per test and whose only query answers who the client is, a
//! rustls connector for tokio-postgres, psql with a connection string, and
//! a raw protocol connection over any stream (plain or TLS).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use pgwire::api::auth::{
    AuthMethod, Authenticator, Credential, OAuthConfig, OAuthDecision, OAuthValidator,
    ScramVerifier, md5_hash,
};
use pgwire::api::{
    ExtendedQueryHandler, Portal, QueryResponse, Response, Responses, Rows, ServerHandlers,
    Session, SimpleQueryHandler, StatementDescription, StoredStatement,
};
use pgwire::api::{ExtendedQuerySupport, UseExtendedQueryHandler};
use pgwire::error::ErrorInfo;
use pgwire::server::TlsAcceptor;
use pgwire::types::{FieldInfo, Schema, Type};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::RawMessage;

// ------------------------------------------------------------ certificates

/// A test PKI, written as PEM files to a directory of its own.
pub struct Pki {
    pub dir: PathBuf,
    pub ca_der: CertificateDer<'static>,
    pub server_der: CertificateDer<'static>,
    pub server_key_der: Vec<u8>,
    pub client_der: CertificateDer<'static>,
    pub client_key_der: Vec<u8>,
}

impl Pki {
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// An acceptor for the server certificate (with channel binding).
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from_pem_files(self.path("server.crt"), self.path("server.key"))
            .expect("acceptor")
    }

    /// An acceptor that asks for client certificates signed by the CA.
    pub fn acceptor_with_client_ca(&self, required: bool) -> TlsAcceptor {
        TlsAcceptor::from_pem_files_with_client_ca(
            self.path("server.crt"),
            self.path("server.key"),
            self.path("ca.crt"),
            required,
        )
        .expect("acceptor")
    }

    /// A rustls client configuration trusting the CA, with `alpn`.
    pub fn client_config(&self, alpn: &[&[u8]], client_cert: bool) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone()).expect("root");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots);
        let mut config = if client_cert {
            let key = PrivateKeyDer::try_from(self.client_key_der.clone()).expect("key");
            builder
                .with_client_auth_cert(vec![self.client_der.clone()], key)
                .expect("client cert")
        } else {
            builder.with_no_client_auth()
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

/// The test PKI, generated on first use.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        // One directory per process (nextest runs each test in its own),
        // under cargo's scratch directory for integration tests; those
        // left by earlier runs are removed.
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        remove_stale(&base);
        let dir = base.join(format!("pgwire-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");

        let ca_key = KeyPair::generate().expect("ca key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "pgwire test CA");
        let ca = ca_params.self_signed(&ca_key).expect("ca");
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().expect("server key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server = params.signed_by(&server_key, &issuer).expect("server cert");

        let client_key = KeyPair::generate().expect("client key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        params.distinguished_name.push(DnType::CommonName, "alice");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client = params.signed_by(&client_key, &issuer).expect("client cert");

        let write = |name: &str, data: &str| {
            let path = dir.join(name);
            std::fs::write(&path, data).expect("write pem");
            // libpq refuses private keys readable by others.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
            }
        };
        write("ca.crt", &ca.pem());
        write("server.crt", &server.pem());
        write("server.key", &server_key.serialize_pem());
        write("client.crt", &client.pem());
        write("client.key", &client_key.serialize_pem());
        Pki {
            dir,
            ca_der: ca.der().clone(),
            server_der: server.der().clone(),
            server_key_der: server_key.serialize_der(),
            client_der: client.der().clone(),
            client_key_der: client_key.serialize_der(),
        }
    })
}

/// Removes certificate directories older than ten minutes.
fn remove_stale(base: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(600));
        if old && e.file_name().to_string_lossy().starts_with("pgwire-auth-") {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

// ------------------------------------------------------------ the server

/// The users every test knows: alice has a SCRAM verifier, bob an MD5
/// hash, carol a cleartext password.
pub fn users() -> HashMap<String, Credential> {
    let mut users = HashMap::new();
    users.insert(
        "alice".to_owned(),
        Credential::Scram(ScramVerifier::generate("alice-pw")),
    );
    users.insert("bob".to_owned(), Credential::Md5(md5_hash("bob", "bob-pw")));
    users.insert(
        "carol".to_owned(),
        Credential::Password("carol-pw".to_owned()),
    );
    users
}

/// The password of each test user.
pub fn password_of(user: &str) -> &'static str {
    match user {
        "alice" => "alice-pw",
        "bob" => "bob-pw",
        "carol" => "carol-pw",
        _ => "whatever",
    }
}

/// How [`AuthServer`] authenticates.
#[derive(Clone)]
pub enum Mode {
    Method(AuthMethod),
    OAuth(OAuthConfig),
}

/// A server that authenticates with its mode and answers every query with
/// one row describing the connection: `user tls=on|off direct=.. peer_certs=N`.
pub struct AuthServer {
    pub mode: Mode,
    pub users: HashMap<String, Credential>,
}

impl AuthServer {
    pub fn new(method: AuthMethod) -> Self {
        AuthServer {
            mode: Mode::Method(method),
            users: users(),
        }
    }

    pub fn oauth(config: OAuthConfig) -> Self {
        AuthServer {
            mode: Mode::OAuth(config),
            users: users(),
        }
    }
}

/// Accepts `good-token-for-<user>` for that user only.
pub struct ToyValidator;

impl OAuthValidator for ToyValidator {
    async fn validate(&self, token: &str, user: &str) -> Result<OAuthDecision, ErrorInfo> {
        if token == format!("good-token-for-{user}") {
            Ok(OAuthDecision::Allowed {
                identity: Some(format!("{user}@issuer")),
            })
        } else {
            Ok(OAuthDecision::Denied)
        }
    }
}

impl ServerHandlers for AuthServer {
    type Handler = WhoAmI;

    fn extended_query() -> impl ExtendedQuerySupport<Self::Handler> {
        UseExtendedQueryHandler
    }

    async fn authenticate(&self, auth: &mut Authenticator<'_>) -> Result<(), ErrorInfo> {
        match &self.mode {
            Mode::Method(m) => auth.run(*m, &self.users).await,
            Mode::OAuth(config) => auth.oauth(config, &ToyValidator).await.map(|_| ()),
        }
    }

    async fn connect(&self, session: &mut Session) -> Result<WhoAmI, ErrorInfo> {
        let c = session.client();
        let tls = c.tls();
        let line = format!(
            "{} tls={} direct={} peer_certs={}",
            c.user(),
            if tls.is_some() { "on" } else { "off" },
            tls.is_some_and(|t| t.direct),
            tls.map_or(0, |t| t.peer_certificates.len()),
        );
        Ok(WhoAmI {
            line,
            schema: Arc::from(vec![FieldInfo::new("whoami", Type::TEXT)]),
        })
    }
}

pub struct WhoAmI {
    line: String,
    schema: Schema,
}

impl WhoAmI {
    fn answer(&self) -> Response {
        Response::Query(QueryResponse::new(
            self.schema.clone(),
            Rows::from_iterator([(self.line.clone(),)]),
        ))
    }
}

impl SimpleQueryHandler for WhoAmI {
    async fn do_query(&mut self, _: &mut Session, _query: &str) -> Responses {
        self.answer().into()
    }
}

impl ExtendedQueryHandler for WhoAmI {
    type Statement = String;

    async fn parse_sql(
        &mut self,
        _: &mut Session,
        sql: &str,
        _: &[u32],
    ) -> Result<String, ErrorInfo> {
        Ok(sql.to_owned())
    }

    async fn do_describe_statement(
        &mut self,
        _: &mut Session,
        _: &StoredStatement<String>,
    ) -> Result<StatementDescription, ErrorInfo> {
        Ok(StatementDescription::new(vec![], Some(self.schema.clone())))
    }

    async fn do_describe_portal(
        &mut self,
        _: &mut Session,
        _: &Portal<String>,
    ) -> Result<Option<Schema>, ErrorInfo> {
        Ok(Some(self.schema.clone()))
    }

    async fn do_query(
        &mut self,
        _: &mut Session,
        _: &Portal<String>,
        _max_rows: usize,
    ) -> Response {
        self.answer()
    }
}

// ------------------------------------------------------------ psql

/// Runs `psql -X -At -c 'select 1' "<conninfo>"` with `password` in
/// PGPASSWORD (no environment defaults leak in).
pub fn psql_conninfo(conninfo: &str, password: Option<&str>) -> Output {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-At", "-c", "select 1", conninfo]);
    for var in [
        "PGSSLMODE",
        "PGSSLROOTCERT",
        "PGCHANNELBINDING",
        "PGPASSWORD",
        "PGSSLCERT",
        "PGSSLKEY",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("PGCONNECT_TIMEOUT", "10");
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.output().expect("run psql")
}

// ------------------------------------------------------------ tokio-postgres over rustls

/// A `MakeTlsConnect` for tokio-postgres over tokio-rustls, with
/// `tls-server-end-point` channel binding computed here (SHA-256: the test
/// certificates are ECDSA P-256 with SHA-256).
#[derive(Clone)]
pub struct RustlsConnect(pub Arc<rustls::ClientConfig>);

pub struct RustlsConnectOne {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S> tokio_postgres::tls::MakeTlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnectOne;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnectOne> {
        let name = ServerName::try_from(domain.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(RustlsConnectOne {
            config: self.0.clone(),
            name,
        })
    }
}

impl<S> tokio_postgres::tls::TlsConnect<S> for RustlsConnectOne
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let tls = tokio_rustls::TlsConnector::from(self.config)
                .connect(self.name, stream)
                .await?;
            Ok(RustlsStream(tls))
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> tokio_postgres::tls::ChannelBinding {
        let (_, conn) = self.0.get_ref();
        match conn.peer_certificates().and_then(|c| c.first()) {
            Some(cert) => tokio_postgres::tls::ChannelBinding::tls_server_end_point(
                ring::digest::digest(&ring::digest::SHA256, cert.as_ref())
                    .as_ref()
                    .to_vec(),
            ),
            None => tokio_postgres::tls::ChannelBinding::none(),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

// ------------------------------------------------------------ raw bytes over any stream

/// A raw protocol connection over any stream (plain TCP or TLS).
pub type Raw<S> = super::RawConn<S>;

impl<S: AsyncRead + AsyncWrite + Unpin> Raw<S> {
    /// The next message, which must be an error; then the connection must
    /// close. Returns (SQLSTATE, message).
    pub async fn expect_fatal(&mut self) -> (String, String) {
        let m = self.read_message().await.expect("an ErrorResponse");
        assert_eq!(m.tag, b'E', "expected an error, got {m:?}");
        assert_eq!(m.field(b'S').as_deref(), Some("FATAL"));
        assert!(self.read_message().await.is_none(), "connection stays open");
        (
            m.sqlstate().unwrap_or_default(),
            m.field(b'M').unwrap_or_default(),
        )
    }
}

/// An Authentication message's code and the rest of its body.
pub fn auth_request(m: &RawMessage) -> (i32, Vec<u8>) {
    assert_eq!(m.tag, b'R', "expected an Authentication message, got {m:?}");
    let code = i32::from_be_bytes([m.body[0], m.body[1], m.body[2], m.body[3]]);
    (code, m.body[4..].to_vec())
}

/// A SASLInitialResponse ('p'): mechanism, then the data (or -1).
pub fn sasl_initial(mechanism: &str, data: Option<&[u8]>) -> Vec<u8> {
    let mut body = mechanism.as_bytes().to_vec();
    body.push(0);
    match data {
        None => body.extend_from_slice(&(-1i32).to_be_bytes()),
        Some(d) => {
            body.extend_from_slice(&(d.len() as i32).to_be_bytes());
            body.extend_from_slice(d);
        }
    }
    super::message(b'p', &body)
}

/// SSLRequest.
pub const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
