//! A lexical look at SQL text: does it hold `$n` parameters, and how many
//! statements? Enough for [`ServedBySimpleQuery`](super::ServedBySimpleQuery)
//! to refuse what the simple query handler cannot run, without parsing SQL.
//!
//! Follows PostgreSQL's lexer where it matters for those two questions:
//! quoted strings (with `''`, and backslash escapes in `E'...'`), quoted
//! identifiers, `--` and nested `/* */` comments, dollar-quoted strings
//! (`$tag$...$tag$`), and `$` inside identifiers (`a$1` is a name).

/// What [`sql_shape`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SqlShape {
    /// A `$n` parameter occurs outside strings, identifiers and comments.
    pub(crate) has_parameters: bool,
    /// Statements with content (`;` alone, whitespace and comments are
    /// none).
    pub(crate) statements: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_char(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

/// Scans `sql` once.
pub(crate) fn sql_shape(sql: &str) -> SqlShape {
    let s = sql.as_bytes();
    let mut i = 0;
    let mut has_parameters = false;
    let mut statements = 0;
    // The current statement has something in it.
    let mut content = false;
    // The previous byte was part of an identifier or number (so `$` there
    // does not start a parameter or a dollar quote).
    let mut in_word = false;
    while i < s.len() {
        let b = s[i];
        match b {
            b'\'' => {
                // E'...' allows backslash escapes.
                let escapes =
                    i > 0 && matches!(s[i - 1], b'e' | b'E') && (i < 2 || !is_ident_char(s[i - 2]));
                i = skip_quoted(s, i + 1, b'\'', escapes);
                content = true;
                in_word = false;
                continue;
            }
            b'"' => {
                i = skip_quoted(s, i + 1, b'"', false);
                content = true;
                in_word = true;
                continue;
            }
            b'-' if s.get(i + 1) == Some(&b'-') => {
                while i < s.len() && s[i] != b'\n' {
                    i += 1;
                }
                in_word = false;
                continue;
            }
            b'/' if s.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(s, i + 2);
                in_word = false;
                continue;
            }
            b'$' if !in_word => {
                if s.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    has_parameters = true;
                    content = true;
                    i += 1;
                    while i < s.len() && s[i].is_ascii_digit() {
                        i += 1;
                    }
                    continue;
                }
                if let Some(end) = dollar_quote_end(s, i) {
                    i = end;
                    content = true;
                    in_word = false;
                    continue;
                }
                content = true;
                i += 1;
                continue;
            }
            b';' => {
                if content {
                    statements += 1;
                }
                content = false;
                in_word = false;
            }
            b if b.is_ascii_whitespace() => in_word = false,
            b => {
                content = true;
                in_word = is_ident_char(b);
            }
        }
        i += 1;
    }
    if content {
        statements += 1;
    }
    SqlShape {
        has_parameters,
        statements,
    }
}

/// Skips a quoted string or identifier starting after its opening quote;
/// a doubled quote is part of it. Returns the index after the closing
/// quote (or the end of an unterminated one).
fn skip_quoted(s: &[u8], mut i: usize, quote: u8, backslash_escapes: bool) -> usize {
    while i < s.len() {
        let b = s[i];
        if backslash_escapes && b == b'\\' {
            i += 2;
            continue;
        }
        if b == quote {
            if s.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    s.len()
}

/// Skips a (nested) block comment starting after its `/*`.
fn skip_block_comment(s: &[u8], mut i: usize) -> usize {
    let mut depth = 1;
    while i < s.len() {
        if s[i] == b'/' && s.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if s[i] == b'*' && s.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    s.len()
}

/// If a dollar quote (`$$` or `$tag$`) starts at `start`, the index after
/// its closing delimiter (or the end of an unterminated one).
fn dollar_quote_end(s: &[u8], start: usize) -> Option<usize> {
    let mut j = start + 1;
    if s.get(j).is_some_and(|&b| is_ident_start(b)) {
        while j < s.len() && (is_ident_start(s[j]) || s[j].is_ascii_digit()) {
            j += 1;
        }
    }
    if s.get(j) != Some(&b'$') {
        return None;
    }
    let delimiter = &s[start..=j];
    let body = j + 1;
    let end = s[body..]
        .windows(delimiter.len())
        .position(|w| w == delimiter)
        .map_or(s.len(), |p| body + p + delimiter.len());
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(sql: &str) -> (bool, usize) {
        let s = sql_shape(sql);
        (s.has_parameters, s.statements)
    }

    #[test]
    fn parameters_outside_strings_and_comments() {
        assert_eq!(shape("SELECT $1"), (true, 1));
        assert_eq!(shape("SELECT a FROM t WHERE b = $12;"), (true, 1));
        assert_eq!(shape("SELECT '$1'"), (false, 1));
        assert_eq!(shape("SELECT 'it''s $1'"), (false, 1));
        assert_eq!(shape("SELECT E'\\'$1'"), (false, 1));
        assert_eq!(shape("SELECT \"$1\""), (false, 1));
        assert_eq!(shape("SELECT 1 -- $1\n"), (false, 1));
        assert_eq!(shape("SELECT /* /* $1 */ $1 */ 1"), (false, 1));
        assert_eq!(shape("SELECT $$ $1 $$"), (false, 1));
        assert_eq!(shape("SELECT $f$ $1 ; $$ $f$"), (false, 1));
        assert_eq!(shape("SELECT a$1 FROM t"), (false, 1));
        assert_eq!(shape("SELECT price$ FROM t"), (false, 1));
    }

    #[test]
    fn statements_are_counted_by_content() {
        assert_eq!(shape(""), (false, 0));
        assert_eq!(shape(" ;; -- nothing\n ; /* x */"), (false, 0));
        assert_eq!(shape("SELECT 1;"), (false, 1));
        assert_eq!(shape("SELECT 1; "), (false, 1));
        assert_eq!(shape("SELECT 1; SELECT 2"), (false, 2));
        assert_eq!(shape("SELECT ';'; "), (false, 1));
        assert_eq!(shape("DO $$ BEGIN; END $$;"), (false, 1));
        assert_eq!(shape("SELECT 'unterminated; SELECT 2"), (false, 1));
    }
}
