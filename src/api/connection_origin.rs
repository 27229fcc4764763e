//! How a connection reached the server, beyond its address: over a
//! Unix-domain socket (with the peer's credentials), or relayed by a proxy
//! that declared the client's address with a PROXY protocol header.

use std::net::SocketAddr;

/// How a connection reached the server. Plain TCP connections have none
/// (see [`ClientInfo::origin`](super::ClientInfo::origin)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionOrigin {
    /// The connection came over a Unix-domain socket.
    pub unix_socket: bool,
    /// The peer process's credentials, where the OS gives them (Unix
    /// sockets on Linux, macOS and the BSDs).
    pub peer_credentials: Option<PeerCredentials>,
    /// The PROXY protocol header the connection began with.
    pub proxy: Option<ProxyInfo>,
}

/// The credentials of the process at the other end of a Unix socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerCredentials {
    /// Effective user ID.
    pub uid: u32,
    /// Effective group ID.
    pub gid: u32,
    /// Process ID, where the OS reports it (Linux does).
    pub pid: Option<i32>,
}

impl PeerCredentials {
    /// Credentials with these IDs.
    pub fn new(uid: u32, gid: u32, pid: Option<i32>) -> Self {
        PeerCredentials { uid, gid, pid }
    }
}

/// What a PROXY protocol header said.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyInfo {
    /// The address of the proxy itself: the connection's own peer address.
    pub proxy_addr: Option<SocketAddr>,
    /// The address the client connected to, as the proxy declared it.
    pub destination: Option<SocketAddr>,
    /// A LOCAL header (version 2): the proxy connected on its own behalf,
    /// a health check; the connection's own address stands.
    pub local: bool,
    /// The version 2 TLVs (type, value): ALPN 0x01, authority 0x02,
    /// unique ID 0x05, SSL 0x20, ...
    pub tlvs: Vec<(u8, Vec<u8>)>,
}

impl ProxyInfo {
    /// A header record.
    pub fn new(
        proxy_addr: Option<SocketAddr>,
        destination: Option<SocketAddr>,
        local: bool,
        tlvs: Vec<(u8, Vec<u8>)>,
    ) -> Self {
        ProxyInfo {
            proxy_addr,
            destination,
            local,
            tlvs,
        }
    }
}
