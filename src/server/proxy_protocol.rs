//! The PROXY protocol (HAProxy's, versions 1 and 2): the header a load
//! balancer sends before the client's own bytes, declaring the client's
//! address. Behind HAProxy, an AWS NLB or a Kubernetes ingress the server
//! otherwise sees only the balancer.
//!
//! [`parse_header`] is a pure parser over bytes: it says whether the bytes
//! hold a complete header (and how long it is), need more bytes, or cannot
//! be one. The server reads the header before SSLRequest and the startup
//! packet when [`ServerConfig::with_proxy_protocol`] enables it.
//!
//! ```
//! use pgwire::server::proxy_protocol::{parse_header, ProxyHeader, Parsed};
//!
//! let bytes = b"PROXY TCP4 192.0.2.7 198.51.100.1 51000 5432\r\n\0\0\0\x08";
//! let Parsed::Complete { header, len } = parse_header(bytes).unwrap() else { panic!() };
//! assert_eq!(len, 46);
//! let ProxyHeader::Proxied { source, .. } = header else { panic!() };
//! assert_eq!(source.to_string(), "192.0.2.7:51000");
//! ```
//!
//! [`ServerConfig::with_proxy_protocol`]: super::ServerConfig::with_proxy_protocol

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The 12-byte signature that opens a version 2 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// What opens a version 1 header.
const V1_PREFIX: &[u8] = b"PROXY ";
/// The longest version 1 header, CRLF included (the spec's 107 bytes).
pub const V1_MAX_LEN: usize = 107;
/// Fixed part of a version 2 header: signature, version/command, family,
/// length.
const V2_FIXED_LEN: usize = 16;

/// A TLV type of version 2: CRC32c of the whole header.
pub const PP2_TYPE_CRC32C: u8 = 0x03;

/// What a PROXY header says about the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyHeader {
    /// The proxy speaks for itself (version 2 LOCAL, a health check): the
    /// connection's own addresses apply.
    Local {
        /// Version 2 TLVs that followed the (ignored) address block.
        tlvs: Vec<Tlv>,
    },
    /// The proxy relays a client whose addresses it could not express
    /// (version 1 `UNKNOWN`, version 2 `UNSPEC` or `AF_UNIX`): the
    /// connection's own addresses apply.
    Unknown {
        /// Version 2 TLVs.
        tlvs: Vec<Tlv>,
    },
    /// The proxy relays a TCP client.
    Proxied {
        /// The client's address.
        source: SocketAddr,
        /// The address the client connected to (the proxy's listener).
        destination: SocketAddr,
        /// Version 2 TLVs (empty for version 1).
        tlvs: Vec<Tlv>,
    },
}

impl ProxyHeader {
    /// The client address the header declares, if it declares one.
    pub fn source(&self) -> Option<SocketAddr> {
        match self {
            ProxyHeader::Proxied { source, .. } => Some(*source),
            _ => None,
        }
    }

    /// The TLVs (version 2 only).
    pub fn tlvs(&self) -> &[Tlv] {
        match self {
            ProxyHeader::Local { tlvs }
            | ProxyHeader::Unknown { tlvs }
            | ProxyHeader::Proxied { tlvs, .. } => tlvs,
        }
    }
}

/// One type-length-value field of a version 2 header (ALPN 0x01, authority
/// 0x02, CRC32c 0x03, unique ID 0x05, SSL 0x20, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    /// The type byte.
    pub kind: u8,
    /// The value.
    pub value: Vec<u8>,
}

/// The outcome of [`parse_header`] on bytes that may be a valid header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A complete header of `len` bytes; the client's bytes follow it.
    Complete {
        /// The header.
        header: ProxyHeader,
        /// Its length in bytes.
        len: usize,
    },
    /// The bytes are the beginning of a header: at least `min_more` more
    /// bytes are needed.
    Incomplete {
        /// A lower bound on the bytes still missing (at least 1).
        min_more: usize,
    },
}

/// Why bytes are not a PROXY header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyHeaderError {
    /// Neither signature: the connection does not start with a header.
    #[error("no PROXY protocol signature")]
    NoSignature,
    /// A version 1 line longer than 107 bytes or without CRLF.
    #[error("PROXY v1 header is not terminated by CRLF within 107 bytes")]
    V1TooLong,
    /// A version 1 line whose fields are wrong, missing or extra.
    #[error("malformed PROXY v1 header: {0}")]
    V1Malformed(&'static str),
    /// A version 2 version nibble other than 2.
    #[error("unsupported PROXY protocol version {0}")]
    V2Version(u8),
    /// A version 2 command other than LOCAL (0) or PROXY (1).
    #[error("unsupported PROXY v2 command {0}")]
    V2Command(u8),
    /// A version 2 address family or transport protocol the spec does not
    /// define, or a datagram transport (this is a stream server).
    #[error("unsupported PROXY v2 address family/transport byte 0x{0:02x}")]
    V2Family(u8),
    /// A version 2 length too small for the declared address family.
    #[error("PROXY v2 length {len} is too short for the address block ({need} bytes)")]
    V2ShortAddress {
        /// The declared length.
        len: usize,
        /// What the family needs.
        need: usize,
    },
    /// A TLV that runs past the end of the header.
    #[error("PROXY v2 TLV overruns the header")]
    V2TlvOverrun,
    /// A CRC32c TLV of the wrong size or whose value does not match.
    #[error("PROXY v2 CRC32c checksum mismatch")]
    V2Checksum,
}

/// Whether `first` can open a PROXY header ('P' for version 1, CR for
/// version 2). A PostgreSQL startup packet or TLS handshake cannot start
/// with either (its length word would be over 200 MB).
pub fn may_start_header(first: u8) -> bool {
    first == V1_PREFIX[0] || first == V2_SIGNATURE[0]
}

/// Parses the PROXY header at the start of `buf`.
///
/// Never panics and never reads past `buf`. A prefix of a valid header is
/// [`Parsed::Incomplete`]; bytes that no continuation can make valid are
/// an error as soon as that is known.
pub fn parse_header(buf: &[u8]) -> Result<Parsed, ProxyHeaderError> {
    match buf.first() {
        None => Ok(Parsed::Incomplete { min_more: 1 }),
        Some(b'P') => parse_v1(buf),
        Some(b'\r') => parse_v2(buf),
        Some(_) => Err(ProxyHeaderError::NoSignature),
    }
}

fn parse_v1(buf: &[u8]) -> Result<Parsed, ProxyHeaderError> {
    let prefix_len = buf.len().min(V1_PREFIX.len());
    if buf.get(..prefix_len) != V1_PREFIX.get(..prefix_len) {
        return Err(ProxyHeaderError::NoSignature);
    }
    let window = &buf[..buf.len().min(V1_MAX_LEN)];
    let Some(cr) = window.iter().position(|&b| b == b'\r') else {
        if buf.len() >= V1_MAX_LEN {
            return Err(ProxyHeaderError::V1TooLong);
        }
        if window.contains(&b'\n') {
            return Err(ProxyHeaderError::V1Malformed("LF without CR"));
        }
        return Ok(Parsed::Incomplete { min_more: 1 });
    };
    match window.get(cr + 1) {
        None if cr + 1 >= V1_MAX_LEN => return Err(ProxyHeaderError::V1TooLong),
        None => return Ok(Parsed::Incomplete { min_more: 1 }),
        Some(b'\n') => {}
        Some(_) => return Err(ProxyHeaderError::V1Malformed("CR not followed by LF")),
    }
    let line = &window[V1_PREFIX.len().min(cr)..cr];
    let line = std::str::from_utf8(line).map_err(|_| ProxyHeaderError::V1Malformed("not ASCII"))?;
    if line.contains('\n') {
        return Err(ProxyHeaderError::V1Malformed("LF without CR"));
    }
    let header = parse_v1_fields(line)?;
    Ok(Parsed::Complete {
        header,
        len: cr + 2,
    })
}

/// Parses `TCP4 src dst sport dport`, `TCP6 ...` or `UNKNOWN ...` (the
/// line after `PROXY `, without CRLF). Fields are separated by exactly one
/// space.
fn parse_v1_fields(line: &str) -> Result<ProxyHeader, ProxyHeaderError> {
    let malformed = ProxyHeaderError::V1Malformed;
    let mut fields = line.split(' ');
    let family = fields.next().unwrap_or("");
    match family {
        // The receiver must ignore whatever follows UNKNOWN.
        "UNKNOWN" => return Ok(ProxyHeader::Unknown { tlvs: Vec::new() }),
        "TCP4" | "TCP6" => {}
        "" => return Err(malformed("missing protocol family")),
        _ => return Err(malformed("protocol family is not TCP4, TCP6 or UNKNOWN")),
    }
    let (Some(src), Some(dst), Some(sport), Some(dport), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(malformed(
            "expected exactly four fields after the protocol family, separated by single spaces",
        ));
    };
    let (src, dst): (IpAddr, IpAddr) = if family == "TCP4" {
        (
            parse_v1_ipv4(src).ok_or(malformed("invalid IPv4 source address"))?,
            parse_v1_ipv4(dst).ok_or(malformed("invalid IPv4 destination address"))?,
        )
    } else {
        (
            src.parse::<Ipv6Addr>()
                .map_err(|_| malformed("invalid IPv6 source address"))?
                .into(),
            dst.parse::<Ipv6Addr>()
                .map_err(|_| malformed("invalid IPv6 destination address"))?
                .into(),
        )
    };
    let sport = parse_v1_port(sport).ok_or(malformed("invalid source port"))?;
    let dport = parse_v1_port(dport).ok_or(malformed("invalid destination port"))?;
    Ok(ProxyHeader::Proxied {
        source: SocketAddr::new(src, sport),
        destination: SocketAddr::new(dst, dport),
        tlvs: Vec::new(),
    })
}

/// A dotted quad: four decimal numbers 0-255 (Rust's parser already
/// refuses leading zeros, which some readers take as octal).
fn parse_v1_ipv4(s: &str) -> Option<IpAddr> {
    s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// A decimal port 0-65535, digits only, no leading zero.
fn parse_v1_port(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

fn parse_v2(buf: &[u8]) -> Result<Parsed, ProxyHeaderError> {
    let sig_len = buf.len().min(V2_SIGNATURE.len());
    if buf.get(..sig_len) != V2_SIGNATURE.get(..sig_len) {
        return Err(ProxyHeaderError::NoSignature);
    }
    if let Some(&ver_cmd) = buf.get(12) {
        let version = ver_cmd >> 4;
        if version != 2 {
            return Err(ProxyHeaderError::V2Version(version));
        }
        let command = ver_cmd & 0x0f;
        if command > 1 {
            return Err(ProxyHeaderError::V2Command(command));
        }
    }
    if let Some(&fam) = buf.get(13) {
        check_v2_family(fam, buf.get(12).is_some_and(|c| c & 0x0f == 0))?;
    }
    let (Some(&ver_cmd), Some(&fam), Some(&l0), Some(&l1)) =
        (buf.get(12), buf.get(13), buf.get(14), buf.get(15))
    else {
        return Ok(Parsed::Incomplete {
            min_more: V2_FIXED_LEN - buf.len(),
        });
    };
    let len = u16::from_be_bytes([l0, l1]) as usize;
    let local = ver_cmd & 0x0f == 0;
    let need = address_len(fam);
    if len < need && !local {
        return Err(ProxyHeaderError::V2ShortAddress { len, need });
    }
    let total = V2_FIXED_LEN + len;
    let Some(body) = buf.get(V2_FIXED_LEN..total) else {
        return Ok(Parsed::Incomplete {
            min_more: total - buf.len(),
        });
    };
    // LOCAL: the address block (if any) is to be ignored; what follows a
    // complete one is still TLVs.
    let addr_len = if len >= need { need } else { len };
    let (addresses, tlv_bytes) = body.split_at(addr_len);
    let tlvs = parse_tlvs(tlv_bytes)?;
    if let Some(crc) = tlvs.iter().find(|t| t.kind == PP2_TYPE_CRC32C) {
        verify_crc32c(&buf[..total], body.len() - tlv_bytes.len(), crc)?;
    }
    let header = if local {
        ProxyHeader::Local { tlvs }
    } else {
        match fam >> 4 {
            1 => {
                let (src, dst, sp, dp) = split_addresses::<4>(addresses);
                ProxyHeader::Proxied {
                    source: SocketAddr::new(Ipv4Addr::from(src).into(), sp),
                    destination: SocketAddr::new(Ipv4Addr::from(dst).into(), dp),
                    tlvs,
                }
            }
            2 => {
                let (src, dst, sp, dp) = split_addresses::<16>(addresses);
                ProxyHeader::Proxied {
                    source: SocketAddr::new(Ipv6Addr::from(src).into(), sp),
                    destination: SocketAddr::new(Ipv6Addr::from(dst).into(), dp),
                    tlvs,
                }
            }
            _ => ProxyHeader::Unknown { tlvs },
        }
    };
    Ok(Parsed::Complete { header, len: total })
}

/// The family byte: high nibble AF_UNSPEC 0, AF_INET 1, AF_INET6 2, AF_UNIX
/// 3; low nibble UNSPEC 0, STREAM 1, DGRAM 2. For PROXY, a datagram
/// transport is refused: it cannot describe a stream connection.
fn check_v2_family(fam: u8, local: bool) -> Result<(), ProxyHeaderError> {
    let family = fam >> 4;
    let transport = fam & 0x0f;
    if family > 3 || transport > 2 {
        return Err(ProxyHeaderError::V2Family(fam));
    }
    if !local && transport == 2 {
        return Err(ProxyHeaderError::V2Family(fam));
    }
    Ok(())
}

fn address_len(fam: u8) -> usize {
    match fam >> 4 {
        1 => 12,
        2 => 36,
        3 => 216,
        _ => 0,
    }
}

/// Source address, destination address, source port, destination port.
fn split_addresses<const N: usize>(block: &[u8]) -> ([u8; N], [u8; N], u16, u16) {
    let mut src = [0u8; N];
    let mut dst = [0u8; N];
    if let Some(s) = block.get(..N) {
        src.copy_from_slice(s);
    }
    if let Some(d) = block.get(N..2 * N) {
        dst.copy_from_slice(d);
    }
    let port = |at: usize| match block.get(at..at + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    };
    (src, dst, port(2 * N), port(2 * N + 2))
}

fn parse_tlvs(mut rest: &[u8]) -> Result<Vec<Tlv>, ProxyHeaderError> {
    let mut tlvs = Vec::new();
    while !rest.is_empty() {
        let (Some(&kind), Some(&l0), Some(&l1)) = (rest.first(), rest.get(1), rest.get(2)) else {
            return Err(ProxyHeaderError::V2TlvOverrun);
        };
        let len = u16::from_be_bytes([l0, l1]) as usize;
        let value = rest.get(3..3 + len).ok_or(ProxyHeaderError::V2TlvOverrun)?;
        tlvs.push(Tlv {
            kind,
            value: value.to_vec(),
        });
        rest = &rest[3 + len..];
    }
    Ok(tlvs)
}

/// Checks a CRC32c TLV: the checksum of the whole header with the TLV's
/// value taken as zeros.
fn verify_crc32c(header: &[u8], tlv_start: usize, tlv: &Tlv) -> Result<(), ProxyHeaderError> {
    let expected: [u8; 4] = tlv
        .value
        .as_slice()
        .try_into()
        .map_err(|_| ProxyHeaderError::V2Checksum)?;
    // Find the TLV's value offset again by walking the TLVs.
    let mut at = V2_FIXED_LEN + tlv_start;
    let mut value_at = None;
    while let (Some(&kind), Some(&l0), Some(&l1)) =
        (header.get(at), header.get(at + 1), header.get(at + 2))
    {
        let len = u16::from_be_bytes([l0, l1]) as usize;
        if kind == PP2_TYPE_CRC32C {
            value_at = Some(at + 3);
            break;
        }
        at += 3 + len;
    }
    let value_at = value_at.ok_or(ProxyHeaderError::V2Checksum)?;
    let mut crc = Crc32c::new();
    crc.update(header.get(..value_at).unwrap_or(&[]));
    crc.update(&[0; 4]);
    crc.update(header.get(value_at + 4..).unwrap_or(&[]));
    if crc.finish() == u32::from_be_bytes(expected) {
        Ok(())
    } else {
        Err(ProxyHeaderError::V2Checksum)
    }
}

/// CRC-32C (Castagnoli), bitwise: headers are small and rarely carry it.
struct Crc32c(u32);

impl Crc32c {
    fn new() -> Self {
        Crc32c(!0)
    }

    fn update(&mut self, data: &[u8]) {
        for &b in data {
            self.0 ^= u32::from(b);
            for _ in 0..8 {
                let mask = (self.0 & 1).wrapping_neg();
                self.0 = (self.0 >> 1) ^ (0x82F6_3B78 & mask);
            }
        }
    }

    fn finish(&self) -> u32 {
        !self.0
    }
}

/// The CRC-32C of `data` (for building test headers).
pub fn crc32c(data: &[u8]) -> u32 {
    let mut c = Crc32c::new();
    c.update(data);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(buf: &[u8]) -> (ProxyHeader, usize) {
        match parse_header(buf) {
            Ok(Parsed::Complete { header, len }) => (header, len),
            other => panic!("expected a complete header, got {other:?}"),
        }
    }

    fn v2(ver_cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
        let mut b = V2_SIGNATURE.to_vec();
        b.push(ver_cmd);
        b.push(fam);
        b.extend_from_slice(&(body.len() as u16).to_be_bytes());
        b.extend_from_slice(body);
        b
    }

    fn v4_block() -> Vec<u8> {
        let mut b = vec![192, 0, 2, 7, 198, 51, 100, 1];
        b.extend_from_slice(&51000u16.to_be_bytes());
        b.extend_from_slice(&5432u16.to_be_bytes());
        b
    }

    #[test]
    fn v1_tcp4_tcp6_unknown() {
        let line = b"PROXY TCP4 192.0.2.7 198.51.100.1 51000 5432\r\nrest";
        let (h, len) = complete(line);
        assert_eq!(len, line.len() - 4);
        assert_eq!(h.source(), Some("192.0.2.7:51000".parse().unwrap()));
        let line = b"PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n";
        let (h, _) = complete(line);
        assert_eq!(h.source(), Some("[2001:db8::1]:65535".parse().unwrap()));
        let (h, len) = complete(b"PROXY UNKNOWN\r\n");
        assert_eq!((h, len), (ProxyHeader::Unknown { tlvs: vec![] }, 15));
        let (h, _) = complete(b"PROXY UNKNOWN ffff::1 whatever\r\n");
        assert_eq!(h.source(), None);
    }

    #[test]
    fn v1_every_prefix_is_incomplete() {
        let line = b"PROXY TCP4 192.0.2.7 198.51.100.1 51000 5432\r\n";
        for n in 0..line.len() {
            assert!(
                matches!(parse_header(&line[..n]), Ok(Parsed::Incomplete { .. })),
                "prefix {n}"
            );
        }
    }

    #[test]
    fn v1_malformed() {
        let bad: &[&[u8]] = &[
            b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
            b"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
            b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",
            b"PROXY \r\n",
            b"PROXY\r\n",
            b"PROXX TCP4",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\xff\r\n",
        ];
        for b in bad {
            assert!(parse_header(b).is_err(), "{:?}", String::from_utf8_lossy(b));
        }
        let mut long = b"PROXY UNKNOWN ".to_vec();
        long.resize(200, b'x');
        assert_eq!(parse_header(&long), Err(ProxyHeaderError::V1TooLong));
        // 107 bytes exactly, CRLF last: accepted.
        let mut max = b"PROXY UNKNOWN ".to_vec();
        max.resize(105, b'x');
        max.extend_from_slice(b"\r\n");
        assert_eq!(complete(&max).1, 107);
        // CR at 107: one byte too many.
        max.insert(20, b'x');
        assert!(parse_header(&max).is_err());
    }

    #[test]
    fn v2_tcp4_tcp6_local_unspec_unix() {
        let h = v2(0x21, 0x11, &v4_block());
        let (header, len) = complete(&h);
        assert_eq!(len, 28);
        assert_eq!(header.source(), Some("192.0.2.7:51000".parse().unwrap()));

        let mut block = vec![0x20, 0x01, 0x0d, 0xb8];
        block.extend_from_slice(&[0; 11]);
        block.push(1);
        block.extend_from_slice(&[0xfe, 0x80]);
        block.extend_from_slice(&[0; 13]);
        block.push(2);
        block.extend_from_slice(&443u16.to_be_bytes());
        block.extend_from_slice(&5432u16.to_be_bytes());
        let (header, _) = complete(&v2(0x21, 0x21, &block));
        assert_eq!(header.source(), Some("[2001:db8::1]:443".parse().unwrap()));

        let (header, len) = complete(&v2(0x20, 0x00, &[]));
        assert_eq!((header, len), (ProxyHeader::Local { tlvs: vec![] }, 16));
        // LOCAL with an address block: ignored.
        let (header, _) = complete(&v2(0x20, 0x11, &v4_block()));
        assert_eq!(header, ProxyHeader::Local { tlvs: vec![] });
        let (header, _) = complete(&v2(0x21, 0x00, &[]));
        assert_eq!(header, ProxyHeader::Unknown { tlvs: vec![] });
        let (header, _) = complete(&v2(0x21, 0x31, &[0; 216]));
        assert_eq!(header, ProxyHeader::Unknown { tlvs: vec![] });
    }

    #[test]
    fn v2_tlvs_and_crc() {
        let mut body = v4_block();
        body.extend_from_slice(&[0x01, 0, 10]);
        body.extend_from_slice(b"postgresql");
        body.extend_from_slice(&[0x04, 0, 0]);
        let (header, _) = complete(&v2(0x21, 0x11, &body));
        assert_eq!(
            header.tlvs(),
            &[
                Tlv {
                    kind: 1,
                    value: b"postgresql".to_vec()
                },
                Tlv {
                    kind: 4,
                    value: vec![]
                }
            ]
        );
        // CRC32c over the whole header with the value zeroed.
        let mut body = v4_block();
        body.extend_from_slice(&[PP2_TYPE_CRC32C, 0, 4, 0, 0, 0, 0]);
        let mut h = v2(0x21, 0x11, &body);
        let crc = crc32c(&h);
        let n = h.len();
        h[n - 4..].copy_from_slice(&crc.to_be_bytes());
        complete(&h);
        h[n - 1] ^= 1;
        assert_eq!(parse_header(&h), Err(ProxyHeaderError::V2Checksum));
        // The standard check value of CRC-32C.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn v2_every_prefix_is_incomplete() {
        let mut body = v4_block();
        body.extend_from_slice(&[0x05, 0, 2, 9, 9]);
        let h = v2(0x21, 0x11, &body);
        for n in 0..h.len() {
            match parse_header(&h[..n]) {
                Ok(Parsed::Incomplete { min_more }) => {
                    assert!(min_more >= 1 && n + min_more <= h.len())
                }
                other => panic!("prefix {n}: {other:?}"),
            }
        }
    }

    #[test]
    fn v2_malformed() {
        let mut sig = V2_SIGNATURE.to_vec();
        sig[11] = b'X';
        assert_eq!(parse_header(&sig), Err(ProxyHeaderError::NoSignature));
        assert_eq!(
            parse_header(&v2(0x11, 0x11, &v4_block())),
            Err(ProxyHeaderError::V2Version(1))
        );
        assert_eq!(
            parse_header(&v2(0x31, 0x11, &v4_block())),
            Err(ProxyHeaderError::V2Version(3))
        );
        assert_eq!(
            parse_header(&v2(0x22, 0x11, &v4_block())),
            Err(ProxyHeaderError::V2Command(2))
        );
        assert_eq!(
            parse_header(&v2(0x21, 0x41, &v4_block())),
            Err(ProxyHeaderError::V2Family(0x41))
        );
        assert_eq!(
            parse_header(&v2(0x21, 0x13, &v4_block())),
            Err(ProxyHeaderError::V2Family(0x13))
        );
        assert_eq!(
            parse_header(&v2(0x21, 0x12, &v4_block())),
            Err(ProxyHeaderError::V2Family(0x12))
        );
        assert_eq!(
            parse_header(&v2(0x21, 0x11, &v4_block()[..11])),
            Err(ProxyHeaderError::V2ShortAddress { len: 11, need: 12 })
        );
        assert_eq!(
            parse_header(&v2(0x21, 0x21, &v4_block())),
            Err(ProxyHeaderError::V2ShortAddress { len: 12, need: 36 })
        );
        let mut body = v4_block();
        body.extend_from_slice(&[0x01, 0, 5, b'a']);
        assert_eq!(
            parse_header(&v2(0x21, 0x11, &body)),
            Err(ProxyHeaderError::V2TlvOverrun)
        );
        let mut body = v4_block();
        body.extend_from_slice(&[0x01, 0]);
        assert_eq!(
            parse_header(&v2(0x21, 0x11, &body)),
            Err(ProxyHeaderError::V2TlvOverrun)
        );
        let mut body = v4_block();
        body.extend_from_slice(&[PP2_TYPE_CRC32C, 0, 2, 0, 0]);
        assert_eq!(
            parse_header(&v2(0x21, 0x11, &body)),
            Err(ProxyHeaderError::V2Checksum)
        );
    }

    #[test]
    fn other_bytes_are_not_a_header() {
        assert_eq!(
            parse_header(&[0, 0, 0, 8, 4, 210, 22, 47]),
            Err(ProxyHeaderError::NoSignature)
        );
        assert!(!may_start_header(0));
        assert!(!may_start_header(0x16));
        assert!(may_start_header(b'P'));
        assert!(may_start_header(b'\r'));
    }
}
