//! The byte stream under a connection: TCP, a Unix-domain socket, or TLS
//! over TCP.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;

/// Any byte stream a caller connected itself (an in-memory pipe, a
/// socket from a pool, a tunnel).
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A connected transport.
pub enum Transport {
    /// Plain TCP.
    Tcp(TcpStream),
    /// A Unix-domain socket.
    #[cfg(unix)]
    Unix(UnixStream),
    /// TLS over TCP.
    #[cfg(feature = "client-tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// A stream the caller provided ([`Client::connect_stream`](super::Client::connect_stream)).
    Custom(Box<dyn Stream>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Tcp(_) => "Tcp",
            #[cfg(unix)]
            Transport::Unix(_) => "Unix",
            #[cfg(feature = "client-tls")]
            Transport::Tls(_) => "Tls",
            Transport::Custom(_) => "Custom",
        })
    }
}

impl Transport {
    /// Is this connection encrypted?
    pub fn is_tls(&self) -> bool {
        #[cfg(feature = "client-tls")]
        if let Transport::Tls(_) = self {
            return true;
        }
        false
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Transport::Tcp($s) => {
                let $s = Pin::new($s);
                $e
            }
            #[cfg(unix)]
            Transport::Unix($s) => {
                let $s = Pin::new($s);
                $e
            }
            #[cfg(feature = "client-tls")]
            Transport::Tls($s) => {
                let $s = Pin::new(&mut **$s);
                $e
            }
            Transport::Custom($s) => {
                let $s = Pin::new(&mut **$s);
                $e
            }
        }
    };
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => s.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_shutdown(cx))
    }
}
