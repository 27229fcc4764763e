//! Reading the PROXY protocol header a connection begins with, before
//! SSLRequest and the startup packet: who may send one, what happens
//! without one, and how the declared address reaches the session.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tracing::Instrument;

use super::ServerInner;
use super::prefixed::Prefixed;
use super::proxy_protocol::{self, Parsed, ProxyHeader, ProxyHeaderError};
use crate::api::{ConnectionOrigin, ProxyInfo, ServerHandlers};
use crate::error::PgWireError;

/// Whether connections begin with a PROXY protocol header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProxyProtocolMode {
    /// No header is read (the default).
    #[default]
    Off,
    /// A header is read if the connection starts with one, from trusted
    /// peers; connections without one are served as usual.
    Optional,
    /// Every connection must start with a header from a trusted peer.
    Required,
}

impl std::str::FromStr for ProxyProtocolMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(ProxyProtocolMode::Off),
            "optional" => Ok(ProxyProtocolMode::Optional),
            "required" => Ok(ProxyProtocolMode::Required),
            _ => Err(format!(
                "invalid PROXY protocol mode {s:?}: expected off, optional or required"
            )),
        }
    }
}

/// Why a connection was closed before its startup packet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyRefusal {
    /// The header is not valid.
    #[error("malformed PROXY protocol header: {0}")]
    Malformed(#[from] ProxyHeaderError),
    /// A header from a peer outside the trusted networks.
    #[error("PROXY protocol header from untrusted peer {0:?}")]
    Untrusted(Option<SocketAddr>),
    /// No header, in required mode.
    #[error("PROXY protocol header required but not received")]
    Missing,
    /// The peer closed the connection inside the header.
    #[error("connection closed inside the PROXY protocol header")]
    Truncated,
}

/// The largest header: 16 fixed bytes and a 65535-byte body.
const MAX_HEADER: usize = 16 + 65_535;

/// Serves a connection that may begin with a PROXY header: reads it (in
/// the startup timeout), then runs the startup with the declared client
/// address in `ClientInfo::peer_addr` and the tracing span.
pub(crate) async fn serve_proxied<H, S>(
    server: &Arc<ServerInner<H>>,
    io: S,
    peer: Option<SocketAddr>,
) -> Result<(), PgWireError>
where
    H: ServerHandlers,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (io, rest, client, origin) = read_proxied(server, io, peer).await?;
    let io = Prefixed::new(rest, io);
    let span = tracing::info_span!(
        "connection",
        peer = ?client,
        proxy = ?origin.as_ref().and(peer),
        pid = tracing::field::Empty
    );
    async {
        if origin.is_some() {
            tracing::info!("PROXY protocol header: client {client:?} via {peer:?}");
        }
        super::startup::run(server, io, client, origin).await
    }
    .instrument(span)
    .await
}

/// Reads the header a connection of `server` may begin with (in the
/// startup timeout): the stream, the bytes read past the header (the start
/// of the startup packet, to be read first), and the client's address and
/// origin as the header declares them (`peer` and none without a header).
/// A refusal is logged; the connection is then to be closed unanswered.
pub(crate) async fn read_proxied<H, S>(
    server: &ServerInner<H>,
    io: S,
    peer: Option<SocketAddr>,
) -> Result<(S, Bytes, Option<SocketAddr>, Option<Box<ConnectionOrigin>>), PgWireError>
where
    H: ServerHandlers,
    S: AsyncRead + Unpin,
{
    let config = &server.config;
    let read = read_header(io, peer, config.proxy_protocol, &config.proxy_trusted);
    let read = match config.startup_timeout {
        Some(t) => match tokio::time::timeout(t, read).await {
            Ok(r) => r,
            Err(_) => {
                tracing::info!(peer = ?peer, "PROXY protocol header timed out");
                return Err(PgWireError::StartupTimeout);
            }
        },
        None => read.await,
    };
    let (io, rest, header) = match read {
        Ok(r) => r,
        Err(e) => {
            // No answer: the peer is not (or not known to be) a proxy
            // speaking for a PostgreSQL client.
            tracing::warn!(peer = ?peer, "connection refused: {e}");
            return Err(PgWireError::ProxyProtocol(e));
        }
    };
    let Some(h) = header else {
        return Ok((io, rest, peer, None));
    };
    let declared = h.source();
    let (destination, local) = match &h {
        ProxyHeader::Proxied { destination, .. } => (Some(*destination), false),
        ProxyHeader::Local { .. } => (None, true),
        ProxyHeader::Unknown { .. } => (None, false),
    };
    let tlvs = h.tlvs().iter().map(|t| (t.kind, t.value.clone())).collect();
    let origin = ConnectionOrigin {
        proxy: Some(ProxyInfo::new(peer, destination, local, tlvs)),
        ..ConnectionOrigin::default()
    };
    Ok((io, rest, declared.or(peer), Some(Box::new(origin))))
}

/// Reads the header, if any: the stream, the bytes read past the header,
/// and the header.
pub(crate) async fn read_header<S>(
    mut io: S,
    peer: Option<SocketAddr>,
    mode: ProxyProtocolMode,
    trusted: &[super::IpNetwork],
) -> Result<(S, Bytes, Option<ProxyHeader>), ProxyRefusal>
where
    S: AsyncRead + Unpin,
{
    let is_trusted =
        trusted.is_empty() || peer.is_some_and(|p| trusted.iter().any(|n| n.contains(p.ip())));
    if mode == ProxyProtocolMode::Required && !is_trusted {
        return Err(ProxyRefusal::Untrusted(peer));
    }
    let mut buf = BytesMut::with_capacity(256);
    loop {
        let n = io
            .read_buf(&mut buf)
            .await
            .map_err(|_| ProxyRefusal::Truncated)?;
        if n == 0 {
            if buf.is_empty() {
                // Closed before a byte (a port probe): nothing to refuse;
                // the startup sees the end of the stream and stops quietly.
                return Ok((io, Bytes::new(), None));
            }
            return Err(ProxyRefusal::Truncated);
        }
        let Some(&first) = buf.first() else { continue };
        if !proxy_protocol::may_start_header(first) {
            if mode == ProxyProtocolMode::Required {
                return Err(ProxyRefusal::Missing);
            }
            return Ok((io, buf.freeze(), None));
        }
        if !is_trusted {
            return Err(ProxyRefusal::Untrusted(peer));
        }
        match proxy_protocol::parse_header(&buf)? {
            Parsed::Complete { header, len } => {
                let rest = buf.split_off(len).freeze();
                return Ok((io, rest, Some(header)));
            }
            Parsed::Incomplete { min_more } => {
                if buf.len() + min_more > MAX_HEADER + 1024 {
                    return Err(ProxyRefusal::Malformed(ProxyHeaderError::V1TooLong));
                }
                buf.reserve(min_more);
            }
        }
    }
}
