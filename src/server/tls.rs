//! TLS: the acceptor built from a rustls configuration or PEM files, and
//! the stream type a connection runs over once it may be encrypted.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[cfg(feature = "tls")]
pub use tls_impl::*;

#[cfg(feature = "tls")]
use super::prefixed::Prefixed;

/// ALPN protocol name PostgreSQL 17+ requires for direct TLS.
pub const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// A stream with bytes already read from it put back in front: the first
/// byte of a direct-TLS handshake, read to tell it from a startup packet.
/// A connection's stream: plain, or TLS once negotiated.
pub(crate) enum MaybeTls<S> {
    Plain(S),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::server::TlsStream<Prefixed<S>>>),
    /// Transient state while the plain stream is handed to the TLS
    /// handshake.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Taken,
}

fn taken() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "stream is being upgraded")
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTls<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            MaybeTls::Taken => Poll::Ready(Err(taken())),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTls<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            MaybeTls::Taken => Poll::Ready(Err(taken())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            MaybeTls::Taken => Poll::Ready(Err(taken())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            MaybeTls::Taken => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(feature = "tls")]
mod tls_impl {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::api::TlsInfo;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;

    /// Accepts TLS connections: a rustls server configuration with ALPN
    /// `postgresql` (required by PostgreSQL 17+ clients for direct TLS),
    /// and the `tls-server-end-point` channel binding data of its
    /// certificate, for SCRAM-SHA-256-PLUS.
    ///
    /// ```no_run
    /// use pgwire::server::{ServerConfig, TlsAcceptor};
    ///
    /// let tls = TlsAcceptor::from_pem_files("server.crt", "server.key")?;
    /// let config = ServerConfig::default().with_tls(tls).with_require_tls(true);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[derive(Clone)]
    pub struct TlsAcceptor {
        pub(crate) config: Arc<rustls::ServerConfig>,
        server_end_point: Option<Arc<[u8]>>,
    }

    impl std::fmt::Debug for TlsAcceptor {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("TlsAcceptor")
                .field("channel_binding", &self.server_end_point.is_some())
                .finish_non_exhaustive()
        }
    }

    impl TlsAcceptor {
        /// An acceptor from a rustls configuration. ALPN `postgresql` is
        /// added to its protocols if missing.
        ///
        /// rustls does not say which certificate a configuration serves,
        /// so SCRAM-SHA-256-PLUS is only offered once it is told with
        /// [`with_server_certificate`](Self::with_server_certificate).
        pub fn new(mut config: rustls::ServerConfig) -> Self {
            if !config.alpn_protocols.iter().any(|p| p == ALPN_POSTGRESQL) {
                config.alpn_protocols.push(ALPN_POSTGRESQL.to_vec());
            }
            TlsAcceptor {
                config: Arc::new(config),
                server_end_point: None,
            }
        }

        /// Names the (end-entity) certificate the configuration serves, so
        /// that SCRAM-SHA-256-PLUS can bind to it. Certificates signed with
        /// an algorithm that has no `tls-server-end-point` hash (Ed25519,
        /// RSA-PSS, as with PostgreSQL) leave channel binding off.
        pub fn with_server_certificate(mut self, cert: &CertificateDer<'_>) -> Self {
            self.server_end_point = tls_server_end_point(cert.as_ref()).map(Arc::from);
            self
        }

        /// An acceptor for the certificate chain and private key in the PEM
        /// files `cert` and `key` (no client certificates).
        pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
            let (certs, key) = read_pem_files(cert.as_ref(), key.as_ref())?;
            Self::from_der(certs, key)
        }

        /// Like [`from_pem_files`](Self::from_pem_files), also asking
        /// clients for a certificate signed by a CA in the PEM file
        /// `client_ca`: required if `required`, otherwise optional. The
        /// verified chain is in
        /// [`TlsInfo::peer_certificates`](crate::api::TlsInfo).
        pub fn from_pem_files_with_client_ca(
            cert: impl AsRef<Path>,
            key: impl AsRef<Path>,
            client_ca: impl AsRef<Path>,
            required: bool,
        ) -> io::Result<Self> {
            let (certs, key) = read_pem_files(cert.as_ref(), key.as_ref())?;
            let roots = CertificateDer::pem_file_iter(client_ca.as_ref())
                .map_err(pem_error)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(pem_error)?;
            Self::from_der_with_client_ca(certs, key, roots, required)
        }

        /// An acceptor for a DER certificate chain and private key.
        pub fn from_der(
            certs: Vec<CertificateDer<'static>>,
            key: PrivateKeyDer<'static>,
        ) -> io::Result<Self> {
            Self::build(certs, key, None)
        }

        /// Like [`from_der`](Self::from_der), also asking clients for a
        /// certificate signed by one of `client_ca`: required if
        /// `required`, otherwise optional (a client without one is let in;
        /// one with a certificate that does not verify is refused).
        pub fn from_der_with_client_ca(
            certs: Vec<CertificateDer<'static>>,
            key: PrivateKeyDer<'static>,
            client_ca: Vec<CertificateDer<'static>>,
            required: bool,
        ) -> io::Result<Self> {
            Self::build(certs, key, Some((client_ca, required)))
        }

        fn build(
            certs: Vec<CertificateDer<'static>>,
            key: PrivateKeyDer<'static>,
            client_ca: Option<(Vec<CertificateDer<'static>>, bool)>,
        ) -> io::Result<Self> {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(io::Error::other)?;
            let builder = match client_ca {
                None => builder.with_no_client_auth(),
                Some((roots, required)) => {
                    let mut store = rustls::RootCertStore::empty();
                    for root in roots {
                        store.add(root).map_err(io::Error::other)?;
                    }
                    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                        Arc::new(store),
                        provider,
                    );
                    let verifier = if required {
                        verifier
                    } else {
                        verifier.allow_unauthenticated()
                    };
                    builder.with_client_cert_verifier(verifier.build().map_err(io::Error::other)?)
                }
            };
            let end_entity = certs.first().cloned();
            let config = builder
                .with_single_cert(certs, key)
                .map_err(io::Error::other)?;
            let acceptor = Self::new(config);
            Ok(match end_entity {
                Some(cert) => acceptor.with_server_certificate(&cert),
                None => acceptor,
            })
        }

        /// The rustls configuration.
        pub fn config(&self) -> &Arc<rustls::ServerConfig> {
            &self.config
        }

        /// The `tls-server-end-point` channel binding data (RFC 5929), if
        /// the certificate is known and its signature algorithm has one.
        pub fn server_end_point(&self) -> Option<&[u8]> {
            self.server_end_point.as_deref()
        }

        pub(crate) async fn accept<S>(
            &self,
            stream: Prefixed<S>,
        ) -> io::Result<(tokio_rustls::server::TlsStream<Prefixed<S>>, TlsInfo)>
        where
            S: AsyncRead + AsyncWrite + Unpin,
        {
            let acceptor = tokio_rustls::TlsAcceptor::from(self.config.clone());
            let tls = acceptor.accept(stream).await?;
            let (_, conn) = tls.get_ref();
            let info = TlsInfo {
                alpn: conn.alpn_protocol().map(|p| p.to_vec()),
                server_name: conn.server_name().map(str::to_owned),
                peer_certificates: conn
                    .peer_certificates()
                    .map(|c| c.iter().map(|c| c.as_ref().to_vec()).collect())
                    .unwrap_or_default(),
                server_end_point: self.server_end_point.as_deref().map(<[u8]>::to_vec),
                ..TlsInfo::default()
            };
            Ok((tls, info))
        }
    }

    fn read_pem_files(
        cert: &Path,
        key: &Path,
    ) -> io::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
        let certs = CertificateDer::pem_file_iter(cert)
            .map_err(pem_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(pem_error)?;
        if certs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("no certificate in {}", cert.display()),
            ));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(pem_error)?;
        Ok((certs, key))
    }

    fn pem_error(e: rustls_pki_types::pem::Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e.to_string())
    }
}

/// The `tls-server-end-point` channel binding data of a DER certificate
/// (RFC 5929 section 4.1): its hash with the hash function of its
/// signature algorithm, SHA-256 for MD5 and SHA-1. `None` when the
/// algorithm names no hash function (Ed25519, RSA-PSS) or the certificate
/// cannot be read; PostgreSQL does not bind to such certificates either.
pub fn tls_server_end_point(cert_der: &[u8]) -> Option<Vec<u8>> {
    use ring::digest;
    let algorithm = match signature_algorithm_oid(cert_der)? {
        // md5WithRSAEncryption, sha1WithRSAEncryption, ecdsa-with-SHA1 and
        // sha256 variants: SHA-256.
        [
            0x2a,
            0x86,
            0x48,
            0x86,
            0xf7,
            0x0d,
            0x01,
            0x01,
            0x04 | 0x05 | 0x0b,
        ]
        | [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01]
        | [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02] => &digest::SHA256,
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c]
        | [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03] => &digest::SHA384,
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d]
        | [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04] => &digest::SHA512,
        _ => return None,
    };
    Some(digest::digest(algorithm, cert_der).as_ref().to_vec())
}

/// The OID (content bytes) of a certificate's outer signatureAlgorithm:
/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm
/// SEQUENCE { algorithm OID, ... }, signature }`.
fn signature_algorithm_oid(der: &[u8]) -> Option<&[u8]> {
    let (tag, cert, _) = der_element(der)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _, after_tbs) = der_element(cert)?;
    let (tag, alg, _) = der_element(after_tbs)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, oid, _) = der_element(alg)?;
    (tag == 0x06).then_some(oid)
}

/// One DER element: (tag, content, what follows it).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}
