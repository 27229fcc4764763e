//! The listeners [`Server`](super::Server) accepts connections from: TCP
//! and, on Unix, Unix-domain sockets (what psql and libpq use by default on
//! the same host: `/var/run/postgresql/.s.PGSQL.5432`).

use std::future::Future;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::api::ConnectionOrigin;

/// A listener: the next connection, its peer address and what else is
/// known about how it arrived.
pub(crate) trait Accept: Send {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    #[allow(clippy::type_complexity)]
    fn accept_connection(
        &self,
    ) -> impl Future<
        Output = std::io::Result<(Self::Io, Option<SocketAddr>, Option<Box<ConnectionOrigin>>)>,
    > + Send;
}

impl Accept for TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept_connection(
        &self,
    ) -> std::io::Result<(Self::Io, Option<SocketAddr>, Option<Box<ConnectionOrigin>>)> {
        let (socket, peer) = self.accept().await?;
        let _ = socket.set_nodelay(true);
        Ok((socket, Some(peer), None))
    }
}

#[cfg(unix)]
impl Accept for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;

    async fn accept_connection(
        &self,
    ) -> std::io::Result<(Self::Io, Option<SocketAddr>, Option<Box<ConnectionOrigin>>)> {
        let (socket, _) = self.accept().await?;
        let peer_credentials = socket
            .peer_cred()
            .ok()
            .map(|c| crate::api::PeerCredentials::new(c.uid(), c.gid(), c.pid()));
        let origin = ConnectionOrigin {
            unix_socket: true,
            peer_credentials,
            proxy: None,
        };
        Ok((socket, None, Some(Box::new(origin))))
    }
}

#[cfg(unix)]
impl<H: crate::api::ServerHandlers> super::Server<H> {
    /// [`Server::serve`](super::Server::serve) over a Unix-domain socket.
    /// Sessions report [`ClientInfo::is_unix_socket`] and the peer's
    /// credentials; SSLRequest is answered `N` (no TLS over a local socket,
    /// as PostgreSQL), so clients with `sslmode=require` refuse it, and
    /// [`ServerConfig::with_require_tls`] does not apply.
    ///
    /// PostgreSQL's clients look for the socket `.s.PGSQL.<port>` in the
    /// directory given as host (`psql -h /tmp -p 5432`).
    ///
    /// [`ClientInfo::is_unix_socket`]: crate::api::ClientInfo::is_unix_socket
    /// [`ServerConfig::with_require_tls`]: super::ServerConfig::with_require_tls
    pub async fn serve_unix(&self, listener: tokio::net::UnixListener) -> std::io::Result<()> {
        self.serve_on(listener).await
    }
}
