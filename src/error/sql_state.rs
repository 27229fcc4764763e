//! `SqlState`, a five-character SQLSTATE, with every code PostgreSQL 15
//! defines as a named constant.

use std::fmt;
use std::str::FromStr;

/// A five-character SQLSTATE error code.
///
/// Every code of PostgreSQL 15's `errcodes.txt` is an associated constant
/// named after PostgreSQL's condition name in upper case
/// (`unique_violation` is [`SqlState::UNIQUE_VIOLATION`]). Five condition
/// names belong to two codes each; those constants take PostgreSQL's C macro
/// name (`ERRCODE_...` without the prefix), which starts with an
/// abbreviation of the class:
///
/// | condition name | codes and constants |
/// |---|---|
/// | `string_data_right_truncation` | 01004 `WARNING_STRING_DATA_RIGHT_TRUNCATION`, 22001 `STRING_DATA_RIGHT_TRUNCATION` |
/// | `null_value_not_allowed` | 22004 `NULL_VALUE_NOT_ALLOWED`, 39004 `E_R_I_E_NULL_VALUE_NOT_ALLOWED` |
/// | `modifying_sql_data_not_permitted` | 2F002 `S_R_E_...`, 38002 `E_R_E_...` |
/// | `prohibited_sql_statement_attempted` | 2F003 `S_R_E_...`, 38003 `E_R_E_...` |
/// | `reading_sql_data_not_permitted` | 2F004 `S_R_E_...`, 38004 `E_R_E_...` |
///
/// (`S_R_E_` is class 2F, SQL routine exception; `E_R_E_` class 38, external
/// routine exception; `E_R_I_E_` class 39, external routine invocation
/// exception.) The six codes PostgreSQL also knows under a second C name
/// have that name as an alias too ([`SqlState::UNDEFINED_DATABASE`] is
/// [`SqlState::INVALID_CATALOG_NAME`], 3D000).
///
/// Any other well-formed code (an extension's own) can be made with
/// [`SqlState::from_code`], which checks it at compile time in a `const`:
///
/// ```
/// use pgwire::error::SqlState;
///
/// const MY_CODE: SqlState = SqlState::from_code("P9001");
/// assert_eq!(MY_CODE.class(), "P9");
/// assert_eq!(MY_CODE.name(), None);
///
/// let code: SqlState = "23505".parse().unwrap();
/// assert_eq!(code, SqlState::UNIQUE_VIOLATION);
/// assert_eq!(code.name(), Some("unique_violation"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SqlState([u8; 5]);

/// A string that is not a SQLSTATE: not five characters, each a digit or an
/// upper-case ASCII letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid SQLSTATE: expected five characters, each 0-9 or A-Z")]
pub struct InvalidSqlState;

impl SqlState {
    /// The SQLSTATE `code`.
    ///
    /// # Panics
    ///
    /// If `code` is not five characters, each 0-9 or A-Z. In a `const` that
    /// is a compile error, which is what this is for; for codes read at run
    /// time use [`SqlState::try_from_code`].
    ///
    /// ```compile_fail
    /// use pgwire::error::SqlState;
    ///
    /// const LOWER_CASE: SqlState = SqlState::from_code("22p02");
    /// ```
    pub const fn from_code(code: &str) -> SqlState {
        match Self::parse(code.as_bytes()) {
            Some(state) => state,
            None => panic!("invalid SQLSTATE: expected five characters, each 0-9 or A-Z"),
        }
    }

    /// The SQLSTATE `code`, or [`InvalidSqlState`] if it is not five
    /// characters, each 0-9 or A-Z.
    pub const fn try_from_code(code: &str) -> Result<SqlState, InvalidSqlState> {
        match Self::parse(code.as_bytes()) {
            Some(state) => Ok(state),
            None => Err(InvalidSqlState),
        }
    }

    /// Deprecated: returns `Option` and is not `const`.
    #[deprecated(
        note = "use `SqlState::try_from_code` (fallible) or `SqlState::from_code` (const)"
    )]
    pub fn new(code: &str) -> Option<SqlState> {
        Self::try_from_code(code).ok()
    }

    const fn parse(code: &[u8]) -> Option<SqlState> {
        let bytes = match code {
            [a, b, c, d, e] => [*a, *b, *c, *d, *e],
            _ => return None,
        };
        let mut i = 0;
        while i < bytes.len() {
            if !(bytes[i].is_ascii_digit() || bytes[i].is_ascii_uppercase()) {
                return None;
            }
            i += 1;
        }
        Some(SqlState(bytes))
    }

    /// The code as a string, e.g. `"23505"`.
    pub fn code(&self) -> &str {
        // Only ASCII digits and letters get in (see `parse`).
        std::str::from_utf8(&self.0).unwrap_or("XX000")
    }

    /// The class: the code's first two characters, e.g. `"23"` (integrity
    /// constraint violation) for 23505.
    pub fn class(&self) -> &str {
        &self.code()[..2]
    }

    /// PostgreSQL's condition name for this code (`"unique_violation"` for
    /// 23505, as in PL/pgSQL's `EXCEPTION WHEN`), or `None` for a code
    /// PostgreSQL 15 does not define. Looked up without allocating.
    pub fn name(&self) -> Option<&'static str> {
        KNOWN
            .binary_search_by(|(state, _)| state.0.cmp(&self.0))
            .ok()
            .map(|i| KNOWN[i].1)
    }

    /// Every code PostgreSQL 15 defines, in code order (260 codes: its
    /// `errcodes.txt` has 266 entries, six of them second names for a code).
    pub fn known_codes() -> impl ExactSizeIterator<Item = SqlState> + Clone {
        KNOWN.iter().map(|(state, _)| *state)
    }
}

macro_rules! sql_state_codes {
    (
        codes { $($code:literal $constant:ident $name:literal;)* }
        aliases { $($alias:ident = $target:ident;)* }
    ) => {
        impl SqlState {
            $(
                #[doc = concat!("`", $code, "` `", $name, "`.")]
                pub const $constant: SqlState = SqlState::from_code($code);
            )*
            $(
                #[doc = concat!(
                    "Same code as [`SqlState::", stringify!($target),
                    "`], under PostgreSQL's second C name for it (`ERRCODE_",
                    stringify!($alias), "`)."
                )]
                pub const $alias: SqlState = SqlState::$target;
            )*
        }

        /// Every known code with its condition name, sorted by code for
        /// binary search.
        static KNOWN: &[(SqlState, &str)] = &[$((SqlState::$constant, $name),)*];
    };
}

include!("sql_state_codes.rs");

// The table must be sorted (and free of duplicates) for `name`'s binary
// search: checked when compiling.
const _: () = {
    let mut i = 1;
    while i < KNOWN.len() {
        let (before, after) = (KNOWN[i - 1].0.0, KNOWN[i].0.0);
        let mut j = 0;
        while j < 5 && before[j] == after[j] {
            j += 1;
        }
        assert!(j < 5 && before[j] < after[j], "SQLSTATE table out of order");
        i += 1;
    }
};

impl fmt::Debug for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SqlState({})", self.code())
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for SqlState {
    type Err = InvalidSqlState;

    fn from_str(code: &str) -> Result<SqlState, InvalidSqlState> {
        SqlState::try_from_code(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_have_their_code_name_and_class() {
        assert_eq!(SqlState::UNIQUE_VIOLATION.code(), "23505");
        assert_eq!(SqlState::UNIQUE_VIOLATION.class(), "23");
        assert_eq!(SqlState::UNIQUE_VIOLATION.name(), Some("unique_violation"));
        assert_eq!(
            SqlState::WARNING_STRING_DATA_RIGHT_TRUNCATION.name(),
            SqlState::STRING_DATA_RIGHT_TRUNCATION.name()
        );
        assert_ne!(
            SqlState::WARNING_STRING_DATA_RIGHT_TRUNCATION,
            SqlState::STRING_DATA_RIGHT_TRUNCATION
        );
        assert_eq!(SqlState::UNDEFINED_DATABASE, SqlState::INVALID_CATALOG_NAME);
    }

    #[test]
    fn every_known_code_finds_its_own_name() {
        assert_eq!(SqlState::known_codes().len(), 260);
        for state in SqlState::known_codes() {
            let name = state.name().expect("known code has a name");
            assert!(!name.is_empty() && name.bytes().all(|c| c == b'_' || c.is_ascii_lowercase()));
        }
    }

    #[test]
    fn codes_are_checked() {
        assert_eq!(
            SqlState::try_from_code("22P02"),
            Ok(SqlState::INVALID_TEXT_REPRESENTATION)
        );
        assert_eq!("P9001".parse::<SqlState>().map(|s| s.name()), Ok(None));
        for bad in ["", "2250", "225050", "22p02", "22 02", "Ä222", "ÄÄÄ"] {
            assert_eq!(
                SqlState::try_from_code(bad),
                Err(InvalidSqlState),
                "{bad:?}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "invalid SQLSTATE")]
    fn from_code_panics_at_run_time_on_a_bad_code() {
        let code = String::from("bad");
        let _ = SqlState::from_code(&code);
    }
}
