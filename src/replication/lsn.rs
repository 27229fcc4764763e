//! Log sequence numbers: positions in the write-ahead log.

use std::fmt;
use std::ops::{Add, Sub};
use std::str::FromStr;

/// A position in PostgreSQL's write-ahead log (`pg_lsn`), a 64-bit byte
/// offset. Its text form is PostgreSQL's `X/X`: the high and low 32 bits
/// in upper-case hexadecimal without leading zeros (`0/16B3748`).
///
/// ```
/// use pgwire::replication::Lsn;
///
/// let lsn: Lsn = "0/16B3748".parse().unwrap();
/// assert_eq!(lsn.as_u64(), 0x16B3748);
/// assert_eq!((lsn + 8).to_string(), "0/16B3750");
/// assert!(Lsn::INVALID < lsn);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// `0/0`: PostgreSQL's InvalidXLogRecPtr ("no position").
    pub const INVALID: Lsn = Lsn(0);

    /// The LSN as a byte offset.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Is it `0/0`?
    pub const fn is_invalid(self) -> bool {
        self.0 == 0
    }

    /// `self + bytes`, `None` on overflow.
    pub const fn checked_add(self, bytes: u64) -> Option<Lsn> {
        match self.0.checked_add(bytes) {
            Some(v) => Some(Lsn(v)),
            None => None,
        }
    }

    /// Bytes from `earlier` to `self`, 0 when `earlier` is later.
    pub const fn saturating_distance_from(self, earlier: Lsn) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl From<u64> for Lsn {
    fn from(v: u64) -> Lsn {
        Lsn(v)
    }
}

impl From<Lsn> for u64 {
    fn from(lsn: Lsn) -> u64 {
        lsn.0
    }
}

/// Advances by a number of bytes, saturating at the largest LSN (WAL never
/// gets there; a saturated value stays ordered).
impl Add<u64> for Lsn {
    type Output = Lsn;
    fn add(self, bytes: u64) -> Lsn {
        Lsn(self.0.saturating_add(bytes))
    }
}

/// The distance in bytes (saturating at 0), like PostgreSQL's
/// `pg_wal_lsn_diff` for non-negative differences.
impl Sub<Lsn> for Lsn {
    type Output = u64;
    fn sub(self, earlier: Lsn) -> u64 {
        self.saturating_distance_from(earlier)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// Why a string is not an LSN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLsnError;

impl fmt::Display for ParseLsnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "invalid LSN: expected two hexadecimal numbers of at most 8 digits, as in 0/16B3748",
        )
    }
}

impl std::error::Error for ParseLsnError {}

impl FromStr for Lsn {
    type Err = ParseLsnError;

    /// Parses `X/X` as PostgreSQL's `pg_lsn` input does: 1 to 8 hex digits
    /// (either case) on each side of the slash.
    fn from_str(s: &str) -> Result<Lsn, ParseLsnError> {
        let (hi, lo) = s.split_once('/').ok_or(ParseLsnError)?;
        let half = |part: &str| -> Result<u64, ParseLsnError> {
            if part.is_empty() || part.len() > 8 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ParseLsnError);
            }
            u64::from_str_radix(part, 16).map_err(|_| ParseLsnError)
        };
        Ok(Lsn((half(hi)? << 32) | half(lo)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        for (text, value) in [
            ("0/0", 0u64),
            ("0/16B3748", 0x16B3748),
            ("1/0", 1 << 32),
            ("FFFFFFFF/FFFFFFFF", u64::MAX),
        ] {
            let lsn: Lsn = text.parse().unwrap();
            assert_eq!(lsn.0, value);
            assert_eq!(lsn.to_string(), text);
        }
        assert_eq!("a/bc".parse::<Lsn>().unwrap(), Lsn(0xA_0000_00BC));
    }

    #[test]
    fn bad_text_is_an_error() {
        for bad in [
            "",
            "0",
            "/0",
            "0/",
            "0/0/0",
            "g/0",
            "123456789/0",
            "0/ 1",
            "+1/0",
        ] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn arithmetic_and_order() {
        let a = Lsn(100);
        assert_eq!(a + 5, Lsn(105));
        assert_eq!(Lsn(105) - a, 5);
        assert_eq!(a - Lsn(105), 0);
        assert_eq!(Lsn(u64::MAX) + 1, Lsn(u64::MAX));
        assert_eq!(Lsn(u64::MAX).checked_add(1), None);
        assert!(Lsn(1 << 32) > Lsn(0xFFFF_FFFF));
    }
}
