//! Where PostgreSQL's shortest float digits differ from the `ryu` crate's.
//!
//! PostgreSQL builds its Ryu without `STRICTLY_SHORTEST`: a decimal lying
//! exactly halfway between a float and its neighbour is never taken, even
//! where round-half-even would read it back to the float. The `ryu` crate
//! takes it for floats with an even mantissa, so for those few values
//! (`41517899644325104` prints as `4.1517899644325104e+16` in PostgreSQL,
//! `4.15178996443251e16` with `ryu`) the digits are found again here:
//! the fewest correctly rounded digits strictly inside the interval.

/// If `text` (ryu's output for a finite, non-zero `v`) lies exactly on a
/// rounding boundary of `v`, writes PostgreSQL's digits for `v` into `buf`
/// (as `d.ddde<exp>`) and returns their length.
pub(super) fn postgres_digits(
    v: f64,
    is_f32: bool,
    text: &[u8],
    buf: &mut [u8; 40],
) -> Option<usize> {
    let (digits, n, exp10) = decimal_parts(text)?;
    if !on_boundary(v, is_f32, digits, exp10) {
        return None;
    }
    let max = if is_f32 { 9 } else { 17 };
    for p in n..=max {
        let len = {
            use std::io::Write;
            let mut cur = std::io::Cursor::new(&mut buf[..]);
            if is_f32 {
                write!(cur, "{:.*e}", p - 1, (v as f32).abs()).ok()?;
            } else {
                write!(cur, "{:.*e}", p - 1, v.abs()).ok()?;
            }
            cur.position() as usize
        };
        let s = std::str::from_utf8(buf.get(..len)?).ok()?;
        let reads_back = if is_f32 {
            s.parse::<f32>().ok() == Some((v as f32).abs())
        } else {
            s.parse::<f64>().ok() == Some(v.abs())
        };
        if !reads_back {
            continue;
        }
        let (d, _, e) = decimal_parts(buf.get(..len)?)?;
        if !on_boundary(v, is_f32, d, e) {
            return Some(len);
        }
    }
    None
}

/// The digits of a `[-]ddd.ddd[e[-]x]` rendering as an integer, their
/// count, and the power of ten of the last one. `None` past 19 digits.
fn decimal_parts(text: &[u8]) -> Option<(u64, usize, i32)> {
    let text = text.strip_prefix(b"-").unwrap_or(text);
    let e_pos = text
        .iter()
        .position(|&c| c == b'e' || c == b'E')
        .unwrap_or(text.len());
    let (mantissa, exp) = text.split_at(e_pos);
    let mut exp10: i32 = match exp.get(1..) {
        Some(e) if !e.is_empty() => std::str::from_utf8(e).ok()?.parse().ok()?,
        _ => 0,
    };
    let mut digits: u64 = 0;
    let mut n = 0;
    let mut after_point = false;
    for &c in mantissa {
        if c == b'.' {
            after_point = true;
        } else if c.is_ascii_digit() {
            if digits == 0 && c == b'0' {
                if after_point {
                    exp10 -= 1;
                }
                continue;
            }
            digits = digits.checked_mul(10)?.checked_add((c - b'0') as u64)?;
            n += 1;
            if after_point {
                exp10 -= 1;
            }
        }
    }
    while digits != 0 && digits % 10 == 0 {
        digits /= 10;
        n -= 1;
        exp10 += 1;
    }
    Some((digits, n.max(1), exp10))
}

/// Whether `digits * 10^exp10` is exactly halfway between `v` and one of
/// its neighbours.
fn on_boundary(v: f64, is_f32: bool, digits: u64, exp10: i32) -> bool {
    // v = m * 2^e with m the full significand.
    let (m, e, min_normal) = if is_f32 {
        let bits = (v as f32).abs().to_bits();
        let (exp, frac) = ((bits >> 23) as i32, (bits & 0x7f_ffff) as u128);
        if exp == 0 {
            (frac, -149, false)
        } else {
            (frac | 1 << 23, exp - 150, frac == 0 && exp > 1)
        }
    } else {
        let bits = v.abs().to_bits();
        let (exp, frac) = ((bits >> 52) as i32, (bits & ((1 << 52) - 1)) as u128);
        if exp == 0 {
            (frac, -1074, false)
        } else {
            (frac | 1 << 52, exp - 1075, frac == 0 && exp > 1)
        }
    };
    let upper = (2 * m + 1, e - 1);
    // Below a power of two the neighbour is half as far.
    let lower = if min_normal {
        (4 * m - 1, e - 2)
    } else {
        (2 * m - 1, e - 1)
    };
    dec_equals_dyadic(digits, exp10, upper.0, upper.1)
        || dec_equals_dyadic(digits, exp10, lower.0, lower.1)
}

/// Whether `d * 10^k == m * 2^b` exactly (`m` odd). Either side needing
/// more than 128 bits cannot be equal for these magnitudes: equality makes
/// `5^|k|` divide a 64-bit number.
fn dec_equals_dyadic(d: u64, k: i32, m: u128, b: i32) -> bool {
    let pow5 = |n: u32| 5u128.checked_pow(n);
    // d * 5^k * 2^k == m * 2^b, with the powers of five moved to the side
    // where they are positive.
    let (lhs, rhs) = if k >= 0 {
        match pow5(k as u32).and_then(|p| (d as u128).checked_mul(p)) {
            Some(l) => (l, m),
            None => return false,
        }
    } else {
        match pow5(k.unsigned_abs()).and_then(|p| m.checked_mul(p)) {
            Some(r) => (d as u128, r),
            None => return false,
        }
    };
    // lhs * 2^k == rhs * 2^b.
    let shift_eq = |small: u128, big: u128, s: i32| -> bool {
        if !(0..=127).contains(&s) || small.leading_zeros() < s as u32 {
            return false;
        }
        small << s == big
    };
    if k >= b {
        shift_eq(lhs, rhs, k - b)
    } else {
        shift_eq(rhs, lhs, b - k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_postgres_digits_on_a_boundary() {
        let v = 41517899644325104.0f64;
        let text = ryu::Buffer::new().format_finite(v).to_owned();
        assert_eq!(text, "4.15178996443251e16");
        let mut buf = [0u8; 40];
        let len = postgres_digits(v, false, text.as_bytes(), &mut buf).unwrap();
        assert_eq!(&buf[..len], b"4.1517899644325104e16");
        // An ordinary value is left alone.
        assert!(postgres_digits(0.1, false, b"0.1", &mut buf).is_none());
        assert!(postgres_digits(1.5e300, false, b"1.5e300", &mut buf).is_none());
    }
}
