//! `numeric`: PostgreSQL's arbitrary-precision decimal.
//!
//! Binary form (as `numeric_send` writes it): `ndigits` (u16), `weight`
//! (i16, the power of 10000 of the first digit), `sign` (u16: 0x0000
//! positive, 0x4000 negative, 0xC000 NaN, 0xD000 +Infinity, 0xF000
//! -Infinity), `dscale` (u16, decimal digits shown after the point), then
//! `ndigits` base-10000 digits (i16 each, 0..=9999), without leading or
//! trailing zero digits.

use bytes::{BufMut, BytesMut};

use super::text::{bad_binary_msg, is_pg_space};
use crate::error::{ErrorInfo, SqlState};

const SIGN_POS: u16 = 0x0000;
const SIGN_NEG: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
const SIGN_PINF: u16 = 0xD000;
const SIGN_NINF: u16 = 0xF000;
/// What PostgreSQL sends as the dscale of +-Infinity.
const INFINITY_DSCALE: u16 = 32;
/// The largest display scale the binary form can carry.
const DSCALE_MAX: i64 = 0x3FFF;
/// The weight of a base-10000 digit is an i16.
const WEIGHT_MAX: i64 = i16::MAX as i64;
/// PostgreSQL rejects exponents from this magnitude on, whatever the digits.
const EXPONENT_LIMIT: i64 = i32::MAX as i64 / 2;

/// The four decimal digits of a base-10000 digit.
#[inline]
fn four_digits(d: u16) -> [u8; 4] {
    [
        b'0' + (d / 1000) as u8,
        b'0' + (d / 100 % 10) as u8,
        b'0' + (d / 10 % 10) as u8,
        b'0' + (d % 10) as u8,
    ]
}

/// Appends the text form of a binary numeric, as `numeric_out` prints it
/// after `numeric_recv`: exactly `dscale` digits after the point (digits
/// beyond it are cut, as `numeric_recv` does), no sign on a zero.
pub(super) fn numeric_to_text(bin: &[u8], out: &mut BytesMut) -> Result<(), ErrorInfo> {
    let bad = |what: &str| {
        ErrorInfo::new(
            SqlState::INVALID_BINARY_REPRESENTATION,
            format!("invalid {what} in external \"numeric\" value"),
        )
    };
    let (Some(head), Some(body)) = (bin.get(..8), bin.get(8..)) else {
        return Err(bad_binary_msg("numeric"));
    };
    let ndigits = u16::from_be_bytes([head[0], head[1]]) as usize;
    let weight = i16::from_be_bytes([head[2], head[3]]) as i64;
    let sign = u16::from_be_bytes([head[4], head[5]]);
    let dscale = u16::from_be_bytes([head[6], head[7]]);
    if body.len() != ndigits * 2 {
        return Err(bad_binary_msg("numeric"));
    }
    match sign {
        SIGN_NAN => {
            out.put_slice(b"NaN");
            return Ok(());
        }
        SIGN_PINF => {
            out.put_slice(b"Infinity");
            return Ok(());
        }
        SIGN_NINF => {
            out.put_slice(b"-Infinity");
            return Ok(());
        }
        SIGN_POS | SIGN_NEG => {}
        _ => return Err(bad("sign")),
    }
    if dscale as i64 > DSCALE_MAX {
        return Err(bad("scale"));
    }
    let digit = |i: i64| -> u16 {
        if i < 0 {
            return 0;
        }
        body.get(i as usize * 2..i as usize * 2 + 2)
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
    };
    if body
        .chunks_exact(2)
        .any(|b| u16::from_be_bytes([b[0], b[1]]) > 9999)
    {
        return Err(bad("digit"));
    }
    let dscale = dscale as i64;
    // Digit i stands for 10000^(weight - i). Whole digits before the point
    // are those with weight - i >= 0; after it, only the first `dscale`
    // decimals count.
    let visible_nonzero = (0..ndigits as i64).any(|i| {
        let d = digit(i);
        let w = weight - i;
        if w >= 0 || d == 0 {
            return d != 0;
        }
        // Decimal places 4*(-w)-3 ..= 4*(-w) of this digit; keep the
        // first `dscale - first + 1` of them.
        let first = 4 * (-w) - 3;
        let shown = (dscale - first + 1).clamp(0, 4);
        d / 10u16.pow(4 - shown as u32) != 0
    });
    if sign == SIGN_NEG && visible_nonzero {
        out.put_u8(b'-');
    }
    // Integer part: the first non-zero digit without its leading zeros,
    // every later one padded to four.
    let mut started = false;
    for i in 0..=weight.max(-1) {
        let d = digit(i);
        if started {
            out.put_slice(&four_digits(d));
        } else if d != 0 {
            let s = four_digits(d);
            let lead = s.iter().take_while(|&&c| c == b'0').count();
            out.put_slice(&s[lead..]);
            started = true;
        }
    }
    if !started {
        out.put_u8(b'0');
    }
    if dscale > 0 {
        out.put_u8(b'.');
        let mut left = dscale;
        let mut i = weight + 1;
        while left > 0 {
            let s = four_digits(digit(i));
            let n = left.min(4) as usize;
            out.put_slice(&s[..n]);
            left -= n as i64;
            i += 1;
        }
    }
    Ok(())
}

fn invalid(text: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INVALID_TEXT_REPRESENTATION,
        format!("invalid input syntax for type numeric: \"{text}\""),
    )
}

fn overflow() -> ErrorInfo {
    ErrorInfo::new(
        SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
        "value overflows numeric format",
    )
}

fn put_header(out: &mut BytesMut, ndigits: u16, weight: i16, sign: u16, dscale: u16) {
    out.put_u16(ndigits);
    out.put_i16(weight);
    out.put_u16(sign);
    out.put_u16(dscale);
}

/// Parses `numeric_in`'s input (`  -1.5e3 `, `.5`, `NaN`, `-Infinity`,
/// `inf`) and appends the binary form `numeric_send` would produce.
pub(super) fn text_to_numeric(text: &str, out: &mut BytesMut) -> Result<(), ErrorInfo> {
    let t = text.trim_matches(|c: char| c.is_ascii() && is_pg_space(c as u8));
    let special = |s: &str| t.eq_ignore_ascii_case(s);
    if special("nan") {
        put_header(out, 0, 0, SIGN_NAN, 0);
        return Ok(());
    }
    // numeric_send writes 32 in the dscale field of an infinity (the bits
    // of its short header), so the same bytes are produced here.
    if special("infinity") || special("+infinity") || special("inf") || special("+inf") {
        put_header(out, 0, 0, SIGN_PINF, INFINITY_DSCALE);
        return Ok(());
    }
    if special("-infinity") || special("-inf") {
        put_header(out, 0, 0, SIGN_NINF, INFINITY_DSCALE);
        return Ok(());
    }
    let b = t.as_bytes();
    let mut i = 0;
    let neg = match b.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let int_digits = &b[int_start..i];
    let mut frac_digits: &[u8] = &[];
    if b.get(i) == Some(&b'.') {
        i += 1;
        let s = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        frac_digits = &b[s..i];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(invalid(text));
    }
    let mut exponent: i64 = 0;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let exp_neg = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let s = i;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            exponent = exponent * 10 + (c - b'0') as i64;
            if exponent >= EXPONENT_LIMIT {
                return Err(overflow());
            }
            i += 1;
        }
        if i == s {
            return Err(invalid(text));
        }
        if exp_neg {
            exponent = -exponent;
        }
    }
    if i != b.len() {
        return Err(invalid(text));
    }
    let n_frac = frac_digits.len() as i64;
    let dscale = (n_frac - exponent).max(0);
    if dscale > DSCALE_MAX {
        return Err(overflow());
    }
    let all = || int_digits.iter().chain(frac_digits.iter()).copied();
    let total = int_digits.len() + frac_digits.len();
    let lead = all().take_while(|&c| c == b'0').count();
    if lead == total {
        put_header(out, 0, 0, SIGN_POS, dscale as u16);
        return Ok(());
    }
    let trail = frac_digits
        .iter()
        .rev()
        .chain(int_digits.iter().rev())
        .take_while(|&&c| c == b'0')
        .count();
    // Decimal exponent of the digit at index j of int_digits ++ frac_digits.
    let exp_of = |j: usize| (total - 1 - j) as i64 + exponent - n_frac;
    let first_exp = exp_of(lead);
    let last_exp = exp_of(total - 1 - trail);
    let weight = first_exp.div_euclid(4);
    let last_weight = last_exp.div_euclid(4);
    if weight > WEIGHT_MAX {
        return Err(overflow());
    }
    let ndigits = weight - last_weight + 1;
    put_header(
        out,
        ndigits as u16,
        weight as i16,
        if neg { SIGN_NEG } else { SIGN_POS },
        dscale as u16,
    );
    out.reserve(ndigits as usize * 2);
    // Pack decimal digits into base-10000 digits, most significant first.
    let mut group = 0u16;
    let mut e = first_exp;
    // The first group may start part-way: its higher places are zero.
    for c in all().skip(lead).take(total - lead - trail) {
        let place = e.rem_euclid(4) as u32;
        group += (c - b'0') as u16 * 10u16.pow(place);
        if place == 0 {
            out.put_u16(group);
            group = 0;
        }
        e -= 1;
    }
    if e.rem_euclid(4) != 3 {
        // The last significant digit was not in the ones place of its group.
        out.put_u16(group);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_bin(s: &str) -> Vec<u8> {
        let mut b = BytesMut::new();
        text_to_numeric(s, &mut b).unwrap();
        b.to_vec()
    }

    fn to_text(b: &[u8]) -> String {
        let mut t = BytesMut::new();
        numeric_to_text(b, &mut t).unwrap();
        String::from_utf8(t.to_vec()).unwrap()
    }

    fn bin(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = BytesMut::new();
        put_header(&mut b, ndigits, weight, sign, dscale);
        for d in digits {
            b.put_u16(*d);
        }
        b.to_vec()
    }

    #[test]
    fn binary_layout_matches_numeric_send() {
        assert_eq!(to_bin("1.50"), bin(2, 0, SIGN_POS, 2, &[1, 5000]));
        assert_eq!(to_bin("  -1.5e3 "), bin(1, 0, SIGN_NEG, 0, &[1500]));
        assert_eq!(to_bin("10000"), bin(1, 1, SIGN_POS, 0, &[1]));
        assert_eq!(to_bin("0.0001"), bin(1, -1, SIGN_POS, 4, &[1]));
        assert_eq!(to_bin("0.00001"), bin(1, -2, SIGN_POS, 5, &[1000]));
        assert_eq!(to_bin("-0.000"), bin(0, 0, SIGN_POS, 3, &[]));
        assert_eq!(
            to_bin("12345678.9"),
            bin(3, 1, SIGN_POS, 1, &[1234, 5678, 9000])
        );
        assert_eq!(
            to_bin("100000000.0001"),
            bin(4, 2, SIGN_POS, 4, &[1, 0, 0, 1])
        );
        assert_eq!(to_bin("NaN"), bin(0, 0, SIGN_NAN, 0, &[]));
        assert_eq!(to_bin("-inf"), bin(0, 0, SIGN_NINF, 32, &[]));
    }

    #[test]
    fn text_round_trips() {
        for s in [
            "0",
            "1.50",
            "-1500",
            "0.001",
            "0.000",
            "12345678901234567890.12300",
            "-0.0000012",
            "9999",
            "10000",
            "99999999",
            "0.5",
            "NaN",
            "Infinity",
            "-Infinity",
        ] {
            assert_eq!(to_text(&to_bin(s)), s);
        }
        assert_eq!(to_text(&to_bin("1e-3")), "0.001");
        assert_eq!(to_text(&to_bin("123e-2")), "1.23");
        assert_eq!(to_text(&to_bin("9999.9999e4")), "99999999");
        assert_eq!(to_text(&to_bin("-0.0")), "0.0");
        assert_eq!(to_text(&to_bin(".5")), "0.5");
        assert_eq!(to_text(&to_bin("5.")), "5");
    }

    #[test]
    fn output_truncates_to_dscale_and_drops_sign_of_zero() {
        // 0.123456 sent with dscale 2: numeric_recv cuts to 0.12.
        assert_eq!(to_text(&bin(2, -1, SIGN_POS, 2, &[1234, 5600])), "0.12");
        assert_eq!(to_text(&bin(1, -1, SIGN_NEG, 2, &[9])), "0.00");
        assert_eq!(to_text(&bin(1, -1, SIGN_NEG, 4, &[9])), "-0.0009");
        assert_eq!(to_text(&bin(0, 5, SIGN_NEG, 0, &[])), "0");
        // Leading zero digits are tolerated.
        assert_eq!(to_text(&bin(2, 1, SIGN_POS, 0, &[0, 7])), "7");
    }

    #[test]
    fn rejects_bad_input() {
        for s in [
            "", " ", ".", "-", "1e", "1e+", "1.2.3", "- 1", "nanx", "1 2", "0x10",
        ] {
            let e = text_to_numeric(s, &mut BytesMut::new()).unwrap_err();
            assert_eq!(e.code(), SqlState::INVALID_TEXT_REPRESENTATION, "{s}");
        }
        for s in [
            "1e131072",
            "1e-16384",
            "0e-16384",
            "0e1073741823",
            "1e99999999999999",
        ] {
            let e = text_to_numeric(s, &mut BytesMut::new()).unwrap_err();
            assert_eq!(e.code(), SqlState::NUMERIC_VALUE_OUT_OF_RANGE, "{s}");
        }
        assert!(text_to_numeric("1e131071", &mut BytesMut::new()).is_ok());
        assert!(text_to_numeric("0e200000", &mut BytesMut::new()).is_ok());
        for b in [
            &[0u8, 1, 0, 0, 0, 0, 0, 0][..],
            &[0, 0, 0, 0, 0x12, 0, 0, 0],
            &[0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10],
            &[0, 0, 0, 0, 0, 0, 0x40, 0],
            &[0, 0],
        ] {
            assert!(numeric_to_text(b, &mut BytesMut::new()).is_err(), "{b:?}");
        }
    }
}
