//! The change log's rows: SQLite's `json_array(...)` of a row's values,
//! read back without a round trip through SQLite's `json_each` (the
//! publisher's per-change hot path).

use std::borrow::Cow;

/// One value of a logged row.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// SQL NULL (JSON `null`).
    Null,
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text (blobs were logged as PostgreSQL's `\x...` text).
    Text(Cow<'a, str>),
}

/// Parses a JSON array of scalars; `None` if `json` is not one.
pub fn parse(json: &str) -> Option<Vec<Scalar<'_>>> {
    let bytes = json.as_bytes();
    let mut i = skip_ws(bytes, 0);
    if bytes.get(i) != Some(&b'[') {
        return None;
    }
    i = skip_ws(bytes, i + 1);
    let mut out = Vec::new();
    if bytes.get(i) == Some(&b']') {
        return (skip_ws(bytes, i + 1) == bytes.len()).then_some(out);
    }
    loop {
        let (value, next) = scalar(json, i)?;
        out.push(value);
        i = skip_ws(bytes, next);
        match bytes.get(i)? {
            b',' => i = skip_ws(bytes, i + 1),
            b']' => return (skip_ws(bytes, i + 1) == bytes.len()).then_some(out),
            _ => return None,
        }
    }
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// One scalar starting at `i`, and the index after it.
fn scalar(json: &str, i: usize) -> Option<(Scalar<'_>, usize)> {
    let bytes = json.as_bytes();
    match *bytes.get(i)? {
        b'n' if json[i..].starts_with("null") => Some((Scalar::Null, i + 4)),
        b't' if json[i..].starts_with("true") => Some((Scalar::Int(1), i + 4)),
        b'f' if json[i..].starts_with("false") => Some((Scalar::Int(0), i + 5)),
        b'"' => string(json, i + 1),
        b'-' | b'0'..=b'9' => {
            let end = i + bytes[i..]
                .iter()
                .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .unwrap_or(bytes.len() - i);
            let text = &json[i..end];
            let value = if text.contains(['.', 'e', 'E']) {
                Scalar::Real(text.parse().ok()?)
            } else {
                match text.parse::<i64>() {
                    Ok(n) => Scalar::Int(n),
                    Err(_) => Scalar::Real(text.parse().ok()?),
                }
            };
            Some((value, end))
        }
        _ => None,
    }
}

/// A string whose body starts at `start`; borrowed when it has no escape.
fn string(json: &str, start: usize) -> Option<(Scalar<'_>, usize)> {
    let bytes = json.as_bytes();
    let mut i = start;
    let mut owned: Option<String> = None;
    loop {
        match *bytes.get(i)? {
            b'"' => {
                let value = match owned {
                    Some(s) => Cow::Owned(s),
                    None => Cow::Borrowed(&json[start..i]),
                };
                return Some((Scalar::Text(value), i + 1));
            }
            b'\\' => {
                let s = owned.get_or_insert_with(|| json[start..i].to_owned());
                let (c, next) = escape(json, i + 1)?;
                s.push(c);
                i = next;
            }
            _ => {
                // Copy up to the next quote or escape at once.
                let run = bytes[i..]
                    .iter()
                    .position(|b| matches!(b, b'"' | b'\\'))
                    .map_or(bytes.len(), |p| i + p);
                if let Some(s) = owned.as_mut() {
                    s.push_str(&json[i..run]);
                }
                i = run;
            }
        }
    }
}

/// The character of the escape after a backslash at `i - 1`.
fn escape(json: &str, i: usize) -> Option<(char, usize)> {
    let c = match *json.as_bytes().get(i)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hi = u32::from_str_radix(json.get(i + 1..i + 5)?, 16).ok()?;
            if (0xD800..0xDC00).contains(&hi) && json.get(i + 5..i + 7) == Some("\\u") {
                let lo = u32::from_str_radix(json.get(i + 7..i + 11)?, 16).ok()?;
                let c =
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo.checked_sub(0xDC00)?))?;
                return Some((c, i + 11));
            }
            return Some((char::from_u32(hi)?, i + 5));
        }
        _ => return None,
    };
    Some((c, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_sqlite_writes() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let json: String = conn
            .query_row(
                "SELECT json_array(1, -2, 1.5, 1e300, NULL, 'plain', 'q\"uo\\te' || char(10) || 'é😀', '')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let row = parse(&json).expect(&json);
        assert_eq!(row[0], Scalar::Int(1));
        assert_eq!(row[1], Scalar::Int(-2));
        assert_eq!(row[2], Scalar::Real(1.5));
        assert_eq!(row[3], Scalar::Real(1e300));
        assert_eq!(row[4], Scalar::Null);
        assert_eq!(row[5], Scalar::Text("plain".into()));
        assert_eq!(row[6], Scalar::Text("q\"uo\\te\né😀".into()));
        assert_eq!(row[7], Scalar::Text("".into()));
        assert_eq!(
            parse("[\"\\ud83d\\ude00\"]").unwrap()[0],
            Scalar::Text("😀".into())
        );
        assert_eq!(parse("[]").unwrap(), vec![]);
        for bad in ["", "[", "[1,", "[1 2]", "{}", "[\"x]", "[nul]", "[1] x"] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
