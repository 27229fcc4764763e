//! TLS for the client: rustls with the ring provider, certificate checks
//! per `sslmode`.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio::net::TcpStream;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::config::{Config, SslMode, SslNegotiation};
use super::error::Error;

fn tls_error(e: impl std::fmt::Display) -> Error {
    Error::Tls(e.to_string())
}

/// How the certificate is checked, after libpq: `require` with a root
/// certificate file given checks the chain as `verify-ca`.
fn effective_mode(config: &Config) -> SslMode {
    match config.ssl_mode {
        SslMode::Require if config.ssl_root_cert.is_some() => SslMode::VerifyCa,
        m => m,
    }
}

/// The `sslrootcert` value that means the operating system's trusted CAs.
const SYSTEM_ROOT_CERT: &str = "system";

/// Where the operating system keeps its trusted CAs as one PEM file
/// (Debian/Ubuntu, Fedora/RHEL, Alpine/macOS/BSD, openSUSE), after the
/// `SSL_CERT_FILE` variable OpenSSL (hence libpq) honours.
const SYSTEM_CA_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// The system's CA bundle for `sslrootcert=system`.
fn system_ca_bundle() -> Result<std::path::PathBuf, Error> {
    if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
        return Ok(file.into());
    }
    SYSTEM_CA_BUNDLES
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::Tls(format!(
                "sslrootcert=system: no system CA bundle found (looked for SSL_CERT_FILE, {}); \
                 install the CA certificates package or give sslrootcert a CA file",
                SYSTEM_CA_BUNDLES.join(", ")
            ))
        })
}

/// The rustls configuration for `config`.
pub(crate) fn client_config(config: &Config) -> Result<Arc<ClientConfig>, Error> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;
    let mode = effective_mode(config);
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let path = match &config.ssl_root_cert {
                Some(p) => p.clone(),
                None => std::env::var_os("HOME")
                    .map(|h| std::path::Path::new(&h).join(".postgresql/root.crt"))
                    .ok_or_else(|| {
                        Error::Tls("no sslrootcert for certificate verification".into())
                    })?,
            };
            let mut roots = RootCertStore::empty();
            let path = if path.as_os_str() == SYSTEM_ROOT_CERT {
                system_ca_bundle()?
            } else {
                path
            };
            let certs = CertificateDer::pem_file_iter(&path).map_err(|e| {
                Error::Tls(format!(
                    "could not read root certificate file {}: {e}",
                    path.display()
                ))
            })?;
            for c in certs {
                roots.add(c.map_err(tls_error)?).map_err(tls_error)?;
            }
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(tls_error)?;
            Arc::new(Verifier {
                webpki: Some(webpki),
                check_name: mode == SslMode::VerifyFull,
                provider: provider.clone(),
            })
        }
        _ => Arc::new(Verifier {
            webpki: None,
            check_name: false,
            provider: provider.clone(),
        }),
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut tls = match (&config.ssl_cert, &config.ssl_key) {
        (Some(cert), Some(key)) if cert.exists() => {
            let chain = CertificateDer::pem_file_iter(cert)
                .map_err(tls_error)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(tls_error)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(tls_error)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(tls_error)?
        }
        _ => builder.with_no_client_auth(),
    };
    if config.ssl_negotiation == SslNegotiation::Direct {
        tls.alpn_protocols = vec![b"postgresql".to_vec()];
    }
    Ok(Arc::new(tls))
}

/// Starts TLS on `tcp`, checking the server name when asked.
pub(crate) async fn handshake(
    tcp: TcpStream,
    config: Arc<ClientConfig>,
    host: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Error> {
    // verify-ca and require do not look at the name, but rustls needs one.
    let name = ServerName::try_from(host.to_owned())
        .unwrap_or_else(|_| ServerName::try_from("localhost").expect("a valid name"));
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(tls_error)
}

/// The `tls-server-end-point` binding data of the server's certificate.
pub(crate) fn server_end_point(
    tls: &tokio_rustls::client::TlsStream<TcpStream>,
) -> Option<Vec<u8>> {
    let (_, conn) = tls.get_ref();
    let cert = conn.peer_certificates()?.first()?;
    crate::server::tls::tls_server_end_point(cert.as_ref())
}

/// Checks the chain (verify-ca / verify-full) and, for verify-full, the
/// name; `require` checks neither but still checks the handshake
/// signatures, so the peer holds the key of the certificate it sent.
#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Ok(v) => Ok(v),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
