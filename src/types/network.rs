//! `inet` and `cidr`.
//!
//! Binary form (`inet_send`): family (2 for IPv4, 3 for IPv6), netmask
//! bits, an is-cidr flag, the address length (4 or 16), then the address
//! bytes. Text form: the address, then `/bits` for a `cidr` always and for
//! an `inet` whose netmask is not the whole address. IPv6 addresses are
//! written with the longest run of two or more zero groups as `::` and
//! with a dotted IPv4 tail for IPv4-mapped (`::ffff:1.2.3.4`) and
//! IPv4-compatible (`::1.2.3.4`) addresses, as PostgreSQL does.

use bytes::{BufMut, BytesMut};

use super::text::write_int;
use crate::error::{ErrorInfo, SqlState};

const FAMILY_V4: u8 = 2;
const FAMILY_V6: u8 = 3;

fn bad(name: &str, what: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INVALID_BINARY_REPRESENTATION,
        format!("invalid {what} in external \"{name}\" value"),
    )
}

fn write_v4(out: &mut BytesMut, a: &[u8]) {
    for (i, b) in a.iter().enumerate() {
        if i > 0 {
            out.put_u8(b'.');
        }
        write_int(out, *b as i64);
    }
}

fn write_hex_group(out: &mut BytesMut, w: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut started = false;
    for shift in [12u16, 8, 4, 0] {
        let d = (w >> shift) & 0xf;
        if d != 0 || started || shift == 0 {
            out.put_u8(HEX[d as usize]);
            started = true;
        }
    }
}

fn write_v6(out: &mut BytesMut, a: &[u8; 16]) {
    let mut words = [0u16; 8];
    for (i, w) in words.iter_mut().enumerate() {
        *w = u16::from_be_bytes([a[2 * i], a[2 * i + 1]]);
    }
    // The longest run of zero words (the first of equal ones), if >= 2.
    let (mut best, mut best_len) = (usize::MAX, 0);
    let mut i = 0;
    while i < 8 {
        if words[i] == 0 {
            let start = i;
            while i < 8 && words[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best = usize::MAX;
    }
    let mut i = 0;
    while i < 8 {
        if i == best {
            out.put_slice(b"::");
            i += best_len;
            continue;
        }
        if i > 0 && i != best.wrapping_add(best_len) {
            out.put_u8(b':');
        }
        if i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff)) {
            write_v4(out, &a[12..16]);
            return;
        }
        write_hex_group(out, words[i]);
        i += 1;
    }
}

/// `inet`/`cidr` text output of a binary value.
pub(super) fn inet_to_text(bin: &[u8], cidr: bool, out: &mut BytesMut) -> Result<(), ErrorInfo> {
    let name = if cidr { "cidr" } else { "inet" };
    let [family, bits, _is_cidr, nb, addr @ ..] = bin else {
        return Err(bad(name, "length"));
    };
    let max = match *family {
        FAMILY_V4 => 32,
        FAMILY_V6 => 128,
        _ => return Err(bad(name, "address family")),
    };
    if *bits > max {
        return Err(bad(name, "bits"));
    }
    if *nb as usize != max as usize / 8 || addr.len() != *nb as usize {
        return Err(bad(name, "length"));
    }
    if cidr && !host_bits_clear(addr, *bits) {
        return Err(ErrorInfo::new(
            SqlState::INVALID_BINARY_REPRESENTATION,
            "invalid external \"cidr\" value",
        )
        .with_detail("Value has bits set to right of mask."));
    }
    match <&[u8; 16]>::try_from(addr) {
        Ok(a16) => write_v6(out, a16),
        Err(_) => write_v4(out, addr),
    }
    if cidr || *bits != max {
        out.put_u8(b'/');
        write_int(out, *bits as i64);
    }
    Ok(())
}

fn host_bits_clear(addr: &[u8], bits: u8) -> bool {
    addr.iter().enumerate().all(|(i, &b)| {
        let keep = (bits as usize).saturating_sub(i * 8).min(8);
        let mask = if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
        b & !mask == 0
    })
}

/// Dotted IPv4, possibly with fewer than four octets; returns the bytes
/// and how many octets were given.
fn parse_v4(s: &str) -> Option<([u8; 4], usize)> {
    let mut a = [0u8; 4];
    let mut n = 0;
    for part in s.split('.') {
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let v: u16 = part.parse().ok()?;
        *a.get_mut(n)? = u8::try_from(v).ok()?;
        n += 1;
    }
    Some((a, n))
}

/// `inet`/`cidr` text input.
pub(super) fn text_to_inet(text: &str, cidr: bool, out: &mut BytesMut) -> Result<(), ErrorInfo> {
    let name = if cidr { "cidr" } else { "inet" };
    let invalid = || {
        ErrorInfo::new(
            SqlState::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type {name}: \"{text}\""),
        )
    };
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => {
            if b.is_empty() || b.len() > 3 || !b.bytes().all(|c| c.is_ascii_digit()) {
                return Err(invalid());
            }
            (a, Some(b.parse::<u8>().map_err(|_| invalid())?))
        }
        None => (text, None),
    };
    let (family, bytes, max): (u8, [u8; 16], u8) = if addr.contains(':') {
        let v6: std::net::Ipv6Addr = addr.parse().map_err(|_| invalid())?;
        (FAMILY_V6, v6.octets(), 128)
    } else {
        let (a, n) = parse_v4(addr).ok_or_else(invalid)?;
        let bits = match (bits, n) {
            (Some(b), _) => b,
            (None, 4) => 32,
            // Abbreviated addresses need a netmask, or for cidr take the
            // classful one.
            (None, _) if !cidr => return Err(invalid()),
            (None, _) => {
                let class = match a[0] {
                    240.. => 32,
                    224.. => 8,
                    192.. => 24,
                    128.. => 16,
                    _ => 8,
                };
                match class.max(n as u8 * 8) {
                    // A bare 224 is the whole multicast block.
                    8 if a[0] == 224 => 4,
                    b => b,
                }
            }
        };
        let mut b16 = [0u8; 16];
        b16[..4].copy_from_slice(&a);
        if bits > 32 {
            return Err(invalid());
        }
        return finish(out, FAMILY_V4, bits, cidr, &b16[..4], text);
    };
    let bits = bits.unwrap_or(max);
    if bits > max {
        return Err(invalid());
    }
    finish(out, family, bits, cidr, &bytes, text)
}

fn finish(
    out: &mut BytesMut,
    family: u8,
    bits: u8,
    cidr: bool,
    addr: &[u8],
    text: &str,
) -> Result<(), ErrorInfo> {
    if cidr && !host_bits_clear(addr, bits) {
        return Err(ErrorInfo::new(
            SqlState::INVALID_TEXT_REPRESENTATION,
            format!("invalid cidr value: \"{text}\""),
        )
        .with_detail("Value has bits set to right of mask."));
    }
    out.put_u8(family);
    out.put_u8(bits);
    out.put_u8(cidr as u8);
    out.put_u8(addr.len() as u8);
    out.put_slice(addr);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(s: &str, cidr: bool) -> String {
        let mut b = BytesMut::new();
        text_to_inet(s, cidr, &mut b).unwrap_or_else(|e| panic!("{s}: {e}"));
        let mut t = BytesMut::new();
        inet_to_text(&b, cidr, &mut t).unwrap();
        String::from_utf8(t.to_vec()).unwrap()
    }

    #[test]
    fn forms_as_postgres_prints_them() {
        for (i, o) in [
            ("::1", "::1"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::1:2", "::0.1.0.2"),
            ("::ffff:0:0", "::ffff:0.0.0.0"),
            ("10.0.0.1/8", "10.0.0.1/8"),
            ("1:0:0:1:0:0:0:1", "1:0:0:1::1"),
            ("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"),
            ("1:0:0:1:0:0:1:1", "1::1:0:0:1:1"),
            ("::", "::"),
            ("FE80::1", "fe80::1"),
            ("1.2.3.4/32", "1.2.3.4"),
            ("1.2.3.04", "1.2.3.4"),
            ("10/8", "10.0.0.0/8"),
            ("1::", "1::"),
            ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
        ] {
            assert_eq!(round(i, false), o, "{i}");
        }
        for (i, o) in [
            ("10/8", "10.0.0.0/8"),
            ("192.168.1", "192.168.1.0/24"),
            ("128", "128.0.0.0/16"),
            ("224", "224.0.0.0/4"),
            ("10.0.0.0", "10.0.0.0/32"),
            ("::/0", "::/0"),
            ("2001:db8::/32", "2001:db8::/32"),
        ] {
            assert_eq!(round(i, true), o, "{i}");
        }
        for s in [
            "10",
            " 1.2.3.4 ",
            "1.2.3.4/33",
            "1.2.3.256",
            "foo",
            "1.2.3.4 /24",
            "::1/129",
        ] {
            assert!(text_to_inet(s, false, &mut BytesMut::new()).is_err(), "{s}");
        }
        let e = text_to_inet("10.0.0.1/8", true, &mut BytesMut::new()).unwrap_err();
        assert_eq!(e.detail(), Some("Value has bits set to right of mask."));
    }
}
