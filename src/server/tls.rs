//! TLS: the acceptor built from a rustls configuration or PEM files, and
//! the stream type a connection runs over once it may be encrypted.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[cfg(feature = "tls")]
pub use tls_impl::*;

/// ALPN protocol name PostgreSQL 17+ requires for direct TLS.
pub const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// A stream with bytes already read from it put back in front: the first
/// byte of a direct-TLS handshake, read to tell it from a startup packet.
pub(crate) struct Rewind<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Rewind<S> {
    pub(crate) fn new(prefix: Bytes, inner: S) -> Self {
        Rewind { prefix, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A connection's stream: plain, or TLS once negotiated.
pub(crate) enum MaybeTls<S> {
    Plain(S),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::server::TlsStream<Rewind<S>>>),
    /// Transient state while the plain stream is handed to the TLS
    /// handshake.
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
    use super::*;
    use crate::api::TlsInfo;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;

    /// Accepts TLS connections: a rustls server configuration with ALPN
    /// `postgresql` (required by PostgreSQL 17+ clients for direct TLS).
    #[derive(Clone)]
    pub struct TlsAcceptor {
        pub(crate) config: Arc<rustls::ServerConfig>,
    }

    impl std::fmt::Debug for TlsAcceptor {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("TlsAcceptor").finish_non_exhaustive()
        }
    }

    impl TlsAcceptor {
        /// An acceptor from a rustls configuration. ALPN `postgresql` is
        /// added to its protocols if missing.
        pub fn new(mut config: rustls::ServerConfig) -> Self {
            if !config.alpn_protocols.iter().any(|p| p == ALPN_POSTGRESQL) {
                config.alpn_protocols.push(ALPN_POSTGRESQL.to_vec());
            }
            TlsAcceptor {
                config: Arc::new(config),
            }
        }

        /// An acceptor for the certificate chain and private key in the PEM
        /// files `cert` and `key` (no client certificates).
        pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
            let certs = CertificateDer::pem_file_iter(cert.as_ref())
                .map_err(pem_error)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(pem_error)?;
            let key = PrivateKeyDer::from_pem_file(key.as_ref()).map_err(pem_error)?;
            Self::from_der(certs, key)
        }

        /// An acceptor for a DER certificate chain and private key.
        pub fn from_der(
            certs: Vec<CertificateDer<'static>>,
            key: PrivateKeyDer<'static>,
        ) -> io::Result<Self> {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(io::Error::other)?
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .map_err(io::Error::other)?;
            Ok(Self::new(config))
        }

        /// The rustls configuration.
        pub fn config(&self) -> &Arc<rustls::ServerConfig> {
            &self.config
        }

        pub(crate) async fn accept<S>(
            &self,
            stream: Rewind<S>,
        ) -> io::Result<(tokio_rustls::server::TlsStream<Rewind<S>>, TlsInfo)>
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
                ..TlsInfo::default()
            };
            Ok((tls, info))
        }
    }

    fn pem_error(e: rustls_pki_types::pem::Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e.to_string())
    }
}
