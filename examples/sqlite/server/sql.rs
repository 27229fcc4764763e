//! PostgreSQL-flavoured SQL text: a lexer, a statement splitter, and the
//! rewrite into SQLite's dialect (`$n` placeholders, `::type` casts,
//! PostgreSQL-only spellings).
//!
//! Nothing here parses SQL properly: the lexer only knows enough (string
//! literals, quoted identifiers, comments, dollar quotes, parentheses) to
//! never touch the inside of a literal or an identifier, which is what
//! splitting and placeholder rewriting need.

use std::fmt::Write as _;

use pgwire::types::Type;

use super::types::{PgType, pg_type_from_name};

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// A keyword or an unquoted identifier.
    Word,
    /// `"identifier"`.
    QuotedIdent,
    /// `'string'`, `E'string'`, `X'blob'`, `$tag$string$tag$`.
    Str,
    /// `42`, `1.5`, `1e10`, `0x1F`.
    Number,
    /// `$1`.
    Param,
    /// `::`.
    Cast,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `[` and `]`.
    Bracket,
    /// `,`.
    Comma,
    /// `.`.
    Dot,
    /// `;`.
    Semicolon,
    /// Any other operator or punctuation.
    Op,
    /// Spaces, tabs, newlines.
    Space,
    /// `-- ...` and `/* ... */`.
    Comment,
}

/// A token: its kind and where it is in the text.
#[derive(Debug, Clone, Copy)]
pub struct Token<'a> {
    /// The kind.
    pub kind: Tok,
    /// The exact text.
    pub text: &'a str,
    /// Byte offset in the source.
    pub start: usize,
}

impl Token<'_> {
    /// Whether this is the word `w` (case-insensitive).
    pub fn is_word(&self, w: &str) -> bool {
        self.kind == Tok::Word && self.text.eq_ignore_ascii_case(w)
    }

    /// Whether this token carries meaning (not space or a comment).
    pub fn is_significant(&self) -> bool {
        !matches!(self.kind, Tok::Space | Tok::Comment)
    }

    /// The parameter number of a `$n` token.
    pub fn param_number(&self) -> Option<usize> {
        if self.kind == Tok::Param {
            self.text[1..].parse().ok()
        } else {
            None
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// Splits `sql` into tokens. Never fails: an unterminated literal or
/// comment runs to the end of the text (SQLite then reports the error).
pub fn tokenize(sql: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let c = sql[i..].chars().next().unwrap_or(' ');
        let kind = match c {
            ' ' | '\t' | '\n' | '\r' | '\x0c' => {
                while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0c) {
                    i += 1;
                }
                Tok::Space
            }
            '-' if b.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(b.len(), |n| i + n);
                Tok::Comment
            }
            '/' if b.get(i + 1) == Some(&b'*') => {
                // PostgreSQL's block comments nest.
                let mut depth = 0usize;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                Tok::Comment
            }
            '\'' => {
                i = skip_quoted(b, i + 1, b'\'', false);
                Tok::Str
            }
            '"' => {
                i = skip_quoted(b, i + 1, b'"', false);
                Tok::QuotedIdent
            }
            'e' | 'E' if b.get(i + 1) == Some(&b'\'') => {
                i = skip_quoted(b, i + 2, b'\'', true);
                Tok::Str
            }
            'x' | 'X' | 'b' | 'B' | 'n' | 'N' if b.get(i + 1) == Some(&b'\'') => {
                i = skip_quoted(b, i + 2, b'\'', false);
                Tok::Str
            }
            '$' => {
                let rest = &sql[i + 1..];
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                if digits > 0 {
                    i += 1 + digits;
                    Tok::Param
                } else if let Some(end) = dollar_quote_end(sql, i) {
                    i = end;
                    Tok::Str
                } else {
                    i += 1;
                    Tok::Op
                }
            }
            '0'..='9' => {
                i = scan_number(b, i);
                Tok::Number
            }
            '.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i = scan_number(b, i);
                Tok::Number
            }
            ':' if b.get(i + 1) == Some(&b':') => {
                i += 2;
                Tok::Cast
            }
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            '[' | ']' => {
                i += 1;
                Tok::Bracket
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '.' => {
                i += 1;
                Tok::Dot
            }
            ';' => {
                i += 1;
                Tok::Semicolon
            }
            c if is_ident_start(c) => {
                i += c.len_utf8();
                while let Some(c) = sql[i..].chars().next() {
                    if !is_ident_char(c) {
                        break;
                    }
                    i += c.len_utf8();
                }
                Tok::Word
            }
            _ => {
                // Two-character operators the inference looks at.
                let two = sql.get(i..i + 2).unwrap_or("");
                i += if matches!(two, "<=" | ">=" | "<>" | "!=" | "||" | "==" | "->") {
                    if sql.get(i..i + 3) == Some("->>") {
                        3
                    } else {
                        2
                    }
                } else {
                    c.len_utf8()
                };
                Tok::Op
            }
        };
        out.push(Token {
            kind,
            text: &sql[start..i],
            start,
        });
    }
    out
}

/// The index just past a quoted run that started before `i` (the opening
/// quote is already consumed). A doubled quote is an escaped quote; with
/// `backslash`, so is `\'`.
fn skip_quoted(b: &[u8], mut i: usize, quote: u8, backslash: bool) -> usize {
    while i < b.len() {
        if backslash && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

fn scan_number(b: &[u8], mut i: usize) -> usize {
    if b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        while i < b.len() && b[i].is_ascii_hexdigit() {
            i += 1;
        }
        return i;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    if b.get(i) == Some(&b'.') && b.get(i + 1) != Some(&b'.') {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// If a dollar quote (`$$` or `$tag$`) opens at `i`, the index past its
/// closing delimiter (or the end of the text if it is never closed).
fn dollar_quote_end(sql: &str, i: usize) -> Option<usize> {
    let rest = &sql[i + 1..];
    let tag_len = rest
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(rest.len(), |(n, _)| n);
    if !rest[tag_len..].starts_with('$') {
        return None;
    }
    if rest.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let delim = &sql[i..i + tag_len + 2];
    let body = i + delim.len();
    Some(
        sql[body..]
            .find(delim)
            .map_or(sql.len(), |n| body + n + delim.len()),
    )
}

/// The value of a string literal token (`'it''s'`, `E'a\nb'`, `$$x$$`).
pub fn string_value(token: &str) -> String {
    if let Some(rest) = token.strip_prefix('$') {
        let Some(tag_end) = rest.find('$') else {
            return String::new();
        };
        let delim = &token[..tag_end + 2];
        let body = &token[delim.len()..];
        return body.strip_suffix(delim).unwrap_or(body).to_owned();
    }
    let (escapes, quoted) = match token.as_bytes().first() {
        Some(b'e' | b'E') => (true, &token[1..]),
        Some(b'\'') => (false, token),
        _ => (false, token.get(1..).unwrap_or("")),
    };
    let inner = quoted.strip_prefix('\'').unwrap_or(quoted);
    let inner = inner.strip_suffix('\'').unwrap_or(inner);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            '\\' if escapes => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('b') => out.push('\x08'),
                Some('f') => out.push('\x0c'),
                Some(o @ '0'..='7') => {
                    let mut v = o.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match chars.peek().and_then(|c| c.to_digit(8)) {
                            Some(d) => {
                                v = v * 8 + d;
                                chars.next();
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                Some(other) => out.push(other),
                None => {}
            },
            c => out.push(c),
        }
    }
    out
}

/// The name an identifier token stands for: unquoted words fold to lower
/// case, quoted identifiers keep theirs.
pub fn ident_value(token: &Token<'_>) -> String {
    match token.kind {
        Tok::QuotedIdent => {
            let inner = &token.text[1..token.text.len().saturating_sub(1).max(1)];
            inner.replace("\"\"", "\"")
        }
        _ => token.text.to_lowercase(),
    }
}

/// Quotes `s` as an SQL string literal.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Quotes `s` as an identifier.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

// ------------------------------------------------------------ splitting

/// Splits a query string into its statements, without the separating
/// semicolons; statements with nothing but spaces and comments are left
/// out. Semicolons inside literals, identifiers, comments, parentheses and
/// the body of a `CREATE TRIGGER` (`BEGIN ... END`) do not split.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let tokens = tokenize(sql);
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut depth = 0i32;
    // In a CREATE TRIGGER: 0 = not, 1 = before its BEGIN, n > 1 = inside
    // n - 1 nested BEGIN/CASE ... END.
    let mut trigger = 0i32;
    let mut words_seen = 0usize;
    let mut first_words = [""; 4];
    for t in &tokens {
        match t.kind {
            Tok::LParen => depth += 1,
            Tok::RParen => depth -= 1,
            Tok::Word => {
                if words_seen < first_words.len() {
                    first_words[words_seen] = t.text;
                    if trigger == 0 && is_create_trigger(&first_words[..=words_seen]) {
                        trigger = 1;
                    }
                }
                words_seen += 1;
                if trigger > 0 && depth == 0 {
                    if t.is_word("begin") || (trigger > 1 && t.is_word("case")) {
                        trigger += 1;
                    } else if t.is_word("end") && trigger > 1 {
                        trigger -= 1;
                    }
                }
            }
            Tok::Semicolon if depth <= 0 && trigger <= 1 => {
                push_statement(&mut out, sql, start, t.start);
                start = t.start + 1;
                depth = 0;
                trigger = 0;
                words_seen = 0;
                first_words = [""; 4];
            }
            _ => {}
        }
    }
    push_statement(&mut out, sql, start, sql.len());
    out
}

fn is_create_trigger(words: &[&str]) -> bool {
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    matches!(
        lower.iter().map(String::as_str).collect::<Vec<_>>()[..],
        ["create", "trigger"] | ["create", "temp" | "temporary", "trigger"]
    )
}

fn push_statement<'a>(out: &mut Vec<&'a str>, sql: &'a str, start: usize, end: usize) {
    let s = &sql[start..end];
    if tokenize(s).iter().any(Token::is_significant) {
        out.push(s.trim());
    }
}

/// The index of the next significant token at or after `i`.
pub fn next_significant(toks: &[Token<'_>], i: usize) -> Option<usize> {
    (i..toks.len()).find(|&k| toks[k].is_significant())
}

/// The index of the `)` closing the `(` at `open` (or `toks.len()`).
pub fn closing_paren(toks: &[Token<'_>], open: usize) -> usize {
    let mut depth = 0i32;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t.kind {
            Tok::LParen => depth += 1,
            Tok::RParen => {
                depth -= 1;
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// The significant tokens of `sql` (no spaces or comments).
pub fn significant(sql: &str) -> Vec<Token<'_>> {
    tokenize(sql)
        .into_iter()
        .filter(Token::is_significant)
        .collect()
}

// ------------------------------------------------------------ rewriting

/// A statement rewritten for SQLite.
#[derive(Debug, Clone, Default)]
pub struct Rewritten {
    /// The SQLite text.
    pub sql: String,
    /// The highest `$n` used.
    pub param_count: usize,
    /// Types given to parameters by casts (`$1::int4`), by index.
    pub param_casts: Vec<Option<PgType>>,
}

/// What `bigserial` becomes in CREATE TABLE: SQLite numbers the rows of
/// an `INTEGER PRIMARY KEY` column (any case), and this spelling tells
/// the column's PostgreSQL type (int8, where `serial` is int4) apart.
pub const BIGSERIAL_DECL: &str = "Integer";

/// Keywords SQLite rejects as a column alias that PostgreSQL accepts
/// after `AS`; tools' catalog queries use them (quoted on the way).
const KEYWORD_ALIASES: &[&str] = &[
    "default",
    "table",
    "index",
    "column",
    "check",
    "order",
    "group",
    "references",
];

/// Words PostgreSQL accepts without parentheses that are functions here.
const BARE_FUNCTIONS: &[&str] = &[
    "current_user",
    "session_user",
    "user",
    "current_role",
    "current_catalog",
    "current_schema",
];

/// Rewrites one PostgreSQL statement into SQLite's dialect:
/// - `$n` becomes `?n` (numbered, so `$2 ... $1` binds by number);
/// - `x::type` becomes `CAST(x AS affinity)` (or nothing where SQLite
///   stores the type as text); on a parameter the cast only gives the
///   parameter its type, unless the client declared another one
///   (`declared`, by index);
/// - `E'...'` and dollar-quoted strings become plain literals;
/// - `pg_catalog.` prefixes go; `current_user` and friends become calls;
///   `ILIKE` becomes `LIKE` (case-insensitive in SQLite already);
/// - in `CREATE TABLE`, `serial` and `bigserial` become `INTEGER` so that a
///   `serial PRIMARY KEY` column numbers its rows.
pub fn rewrite(sql: &str, declared: &[Option<Type>]) -> Rewritten {
    let tokens = tokenize(sql);
    let mut out = String::with_capacity(sql.len() + 8);
    let mut r = Rewritten::default();
    let create_table = {
        let sig: Vec<&Token> = tokens
            .iter()
            .filter(|t| t.is_significant())
            .take(4)
            .collect();
        sig.first().is_some_and(|t| t.is_word("create"))
            && sig.iter().skip(1).any(|t| t.is_word("table"))
    };
    // Where the operand a `::` applies to starts in `out`, and whether it
    // is a lone parameter (its number).
    let mut operand: Option<(usize, Option<usize>)> = None;
    // Open parentheses: where each one's operand starts in `out` (a
    // function name before it, or the parenthesis itself).
    let mut parens: Vec<usize> = Vec::new();
    // Depths (in `parens`) of the parentheses of `= ANY (...)` and
    // `<> ALL (...)`, which close the subquery they became.
    let mut any_parens: Vec<usize> = Vec::new();
    // Where the last operator starts in `out`.
    let mut last_op_at = 0;
    // Depths (in `parens`) of the calls after DEFAULT in CREATE TABLE,
    // which SQLite wants parenthesised: `DEFAULT (now())`.
    let mut default_calls: Vec<usize> = Vec::new();
    let mut prev_sig: Option<Token> = None;
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        let next_sig = tokens[i + 1..].iter().find(|t| t.is_significant()).copied();
        match t.kind {
            Tok::Param => {
                let n = t.param_number().unwrap_or(0);
                r.param_count = r.param_count.max(n);
                operand = Some((out.len(), Some(n)));
                let _ = write!(out, "?{n}");
            }
            Tok::Cast => {
                let (ty_end, ty_name) = cast_type(&tokens, i + 1);
                i = ty_end;
                let ty = pg_type_from_name(&ty_name);
                if let Some((at, param)) = operand {
                    match (param, ty) {
                        (Some(n), Some(ty)) if n > 0 => {
                            let given = declared.get(n - 1).cloned().flatten();
                            if r.param_casts.len() < n {
                                r.param_casts.resize(n, None);
                            }
                            match given {
                                Some(g) if g != ty.ty => {
                                    let expr = out.split_off(at);
                                    out.push_str(&cast_sql(&expr, &ty));
                                }
                                _ => {
                                    if r.param_casts[n - 1].is_none() {
                                        r.param_casts[n - 1] = Some(ty);
                                    }
                                }
                            }
                        }
                        (_, Some(ty)) => {
                            let expr = out.split_off(at);
                            out.push_str(&cast_sql(&expr, &ty));
                        }
                        // A type we do not know: keep the value as it is.
                        (_, None) => {}
                    }
                    // The cast result may be cast again (`x::text::int`).
                    operand = Some((at, None));
                }
                prev_sig = Some(t);
                continue;
            }
            Tok::Str => {
                operand = Some((out.len(), None));
                if t.text.starts_with(['e', 'E', '$']) {
                    out.push_str(&quote_literal(&string_value(t.text)));
                } else {
                    out.push_str(t.text);
                }
            }
            Tok::Number | Tok::QuotedIdent => {
                let chained = prev_sig.is_some_and(|p| p.kind == Tok::Dot);
                if !chained || operand.is_none() {
                    operand = Some((out.len(), None));
                }
                out.push_str(t.text);
            }
            Tok::Word => {
                let chained = prev_sig.is_some_and(|p| p.kind == Tok::Dot);
                if t.is_word("pg_catalog") && next_sig.is_some_and(|n| n.kind == Tok::Dot) {
                    // Drop `pg_catalog.`: skip to after the dot.
                    let dot = tokens[i + 1..]
                        .iter()
                        .position(|n| n.kind == Tok::Dot)
                        .map_or(i + 1, |p| i + 1 + p);
                    i = dot + 1;
                    continue;
                }
                if !chained || operand.is_none() {
                    operand = Some((out.len(), None));
                }
                let lower = t.text.to_ascii_lowercase();
                let called = next_sig.is_some_and(|n| n.kind == Tok::LParen);
                let compared = prev_sig.filter(|p| p.kind == Tok::Op).map(|p| p.text);
                if !chained && !called && BARE_FUNCTIONS.contains(&lower.as_str()) {
                    let _ = write!(out, "{lower}()");
                } else if called
                    && ((lower == "any" && compared == Some("="))
                        || (lower == "all" && matches!(compared, Some("<>" | "!="))))
                {
                    // `x = ANY (array)`: x is one of the array's elements,
                    // which `pg_array_json` lists (NULL for a NULL array).
                    out.truncate(last_op_at);
                    if !out.ends_with(char::is_whitespace) {
                        out.push(' ');
                    }
                    out.push_str(if lower == "any" { "IN " } else { "NOT IN " });
                    out.push_str("(SELECT value FROM json_each(pg_array_json");
                    any_parens.push(parens.len() + 1);
                } else if create_table
                    && called
                    && prev_sig.is_some_and(|p| p.is_word("default"))
                    && !chained
                {
                    out.push('(');
                    out.push_str(t.text);
                    default_calls.push(parens.len() + 1);
                } else if prev_sig.is_some_and(|p| p.is_word("as"))
                    && !called
                    && KEYWORD_ALIASES.contains(&lower.as_str())
                {
                    // `... AS default` (pgcli's column query): a keyword
                    // PostgreSQL takes as a column alias after AS but
                    // SQLite does not; no type has these names, so this
                    // is never a CAST's target.
                    let _ = write!(out, "\"{lower}\"");
                } else if lower == "ilike" {
                    out.push_str("LIKE");
                } else if create_table && matches!(lower.as_str(), "bigserial" | "serial8") {
                    out.push_str(BIGSERIAL_DECL);
                } else if create_table
                    && matches!(
                        lower.as_str(),
                        "serial" | "serial4" | "smallserial" | "serial2"
                    )
                {
                    out.push_str("INTEGER ");
                    out.push_str(super::catalog::SERIAL_MARKER);
                } else {
                    out.push_str(t.text);
                }
            }
            Tok::LParen => {
                // A call's operand starts at its function name.
                let at = match (prev_sig, operand) {
                    (Some(p), Some((start, None)))
                        if matches!(p.kind, Tok::Word | Tok::QuotedIdent) =>
                    {
                        start
                    }
                    _ => out.len(),
                };
                parens.push(at);
                out.push('(');
            }
            Tok::RParen => {
                out.push(')');
                if any_parens.last() == Some(&parens.len()) {
                    any_parens.pop();
                    out.push_str("))");
                }
                if default_calls.last() == Some(&parens.len()) {
                    default_calls.pop();
                    out.push(')');
                }
                operand = parens.pop().map(|at| (at, None));
            }
            Tok::Bracket => {
                // Subscripts (`a[1]`) and array types keep the operand.
                out.push_str(t.text);
            }
            Tok::Dot => out.push('.'),
            Tok::Space | Tok::Comment => out.push_str(t.text),
            _ => {
                operand = None;
                if t.kind == Tok::Op {
                    last_op_at = out.len();
                }
                out.push_str(t.text);
            }
        }
        if t.is_significant() {
            prev_sig = Some(t);
        }
        i += 1;
    }
    if r.param_casts.len() < r.param_count {
        r.param_casts.resize(r.param_count, None);
    }
    r.sql = out;
    r
}

/// Reads the type name after `::` starting at token `i`; returns the index
/// after it and the name as written (normalised spaces, lower case).
pub fn cast_type(tokens: &[Token<'_>], mut i: usize) -> (usize, String) {
    let mut name = String::new();
    let skip_space = |i: &mut usize| {
        while *i < tokens.len() && !tokens[*i].is_significant() {
            *i += 1;
        }
    };
    skip_space(&mut i);
    // `pg_catalog.int4`
    if i < tokens.len() && tokens[i].is_word("pg_catalog") {
        let mut j = i + 1;
        skip_space(&mut j);
        if j < tokens.len() && tokens[j].kind == Tok::Dot {
            i = j + 1;
            skip_space(&mut i);
        }
    }
    let Some(first) = tokens.get(i) else {
        return (i, name);
    };
    if !matches!(first.kind, Tok::Word | Tok::QuotedIdent) {
        return (i, name);
    }
    name.push_str(&ident_value(first));
    i += 1;
    // Multi-word type names.
    let follow: &[&[&str]] = match name.as_str() {
        "double" => &[&["precision"]],
        "character" | "char" => &[&["varying"]],
        "bit" => &[&["varying"]],
        "time" | "timestamp" => &[&["with", "time", "zone"], &["without", "time", "zone"]],
        _ => &[],
    };
    for words in follow {
        let mut j = i;
        let mut ok = true;
        for w in *words {
            skip_space(&mut j);
            if j < tokens.len() && tokens[j].is_word(w) {
                j += 1;
            } else {
                ok = false;
                break;
            }
        }
        if ok {
            for w in *words {
                name.push(' ');
                name.push_str(w);
            }
            i = j;
            break;
        }
    }
    // `(n)` / `(p, s)` modifiers, then `[]` array markers.
    let mut j = i;
    skip_space(&mut j);
    if j < tokens.len() && tokens[j].kind == Tok::LParen {
        let mut depth = 0;
        let mut k = j;
        while k < tokens.len() {
            match tokens[k].kind {
                Tok::LParen => depth += 1,
                Tok::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            k += 1;
        }
        name.push('(');
        for t in &tokens[j + 1..k.min(tokens.len())] {
            if t.is_significant() {
                name.push_str(t.text);
            }
        }
        name.push(')');
        i = (k + 1).min(tokens.len());
    }
    loop {
        let mut j = i;
        skip_space(&mut j);
        if j + 1 < tokens.len() && tokens[j].text == "[" {
            let mut k = j + 1;
            skip_space(&mut k);
            // `[]` or `[n]`
            if k < tokens.len() && tokens[k].kind == Tok::Number {
                k += 1;
                skip_space(&mut k);
            }
            if k < tokens.len() && tokens[k].text == "]" {
                name.push_str("[]");
                i = k + 1;
                continue;
            }
        }
        break;
    }
    (i, name)
}

/// The SQLite expression for `expr::ty`.
fn cast_sql(expr: &str, ty: &PgType) -> String {
    let t = &ty.ty;
    let affinity = match *t {
        Type::INT2 => return format!("pg_int2({expr})"),
        Type::INT4 => return format!("pg_int4({expr})"),
        Type::INT8 => return format!("pg_int8({expr})"),
        Type::FLOAT4 => return format!("pg_float4({expr})"),
        Type::FLOAT8 => return format!("pg_float8({expr})"),
        Type::OID => "INTEGER",
        // The catalog's resolution (`catalog.rs`).
        Type::REGCLASS => return format!("pg_regclass({expr})"),
        Type::REGTYPE => return format!("pg_regtype({expr})"),
        Type::REGTYPE_ARRAY => return format!("pg_regtype_array({expr})"),
        Type::NUMERIC => "NUMERIC",
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => "TEXT",
        Type::BYTEA => "BLOB",
        Type::BOOL => return format!("pg_bool({expr})"),
        Type::DATE => return format!("pg_date({expr})"),
        Type::TIME => return format!("pg_time({expr})"),
        Type::TIMESTAMP => return format!("pg_timestamp({expr})"),
        Type::TIMESTAMPTZ => return format!("pg_timestamptz({expr})"),
        // Stored as PostgreSQL text: the value stays as written.
        _ => return expr.to_owned(),
    };
    format!("CAST({expr} AS {affinity})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_literals_and_comments() {
        let s = split_statements("select 'a;b'; select \"x;\" -- c;\n; /* ; */ ;select 1");
        assert_eq!(s, ["select 'a;b'", "select \"x;\" -- c;", "select 1"]);
        let s = split_statements("select $$a;b$$; select $t$;$t$");
        assert_eq!(s, ["select $$a;b$$", "select $t$;$t$"]);
        assert!(split_statements(" ; -- nothing\n;").is_empty());
    }

    #[test]
    fn splits_triggers_whole() {
        let sql = "create trigger tr after insert on t begin insert into u values (1); \
                   update u set a = case when 1 then 2 end; end; select 1";
        let s = split_statements(sql);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].ends_with("end"));
    }

    #[test]
    fn rewrites_placeholders_by_number() {
        let r = rewrite("select $2, '$1', \"$1\", $1 -- $3", &[]);
        assert_eq!(r.sql, "select ?2, '$1', \"$1\", ?1 -- $3");
        assert_eq!(r.param_count, 2);
    }

    #[test]
    fn default_calls_are_parenthesised() {
        let r = rewrite(
            "create table t (a timestamptz default now(), b uuid DEFAULT gen_random_uuid() NOT NULL, \
             c int default 1, d text default lower('X'))",
            &[],
        );
        assert_eq!(
            r.sql,
            "create table t (a timestamptz default (now()), b uuid DEFAULT (gen_random_uuid()) NOT NULL, \
             c int default 1, d text default (lower('X')))"
        );
    }

    #[test]
    fn quantified_comparisons() {
        let r = rewrite(
            "select 1 from t where id = ANY($1) and (b <> all (f($2)))",
            &[],
        );
        assert_eq!(
            r.sql,
            "select 1 from t where id IN (SELECT value FROM json_each(pg_array_json(?1))) and \
             (b NOT IN (SELECT value FROM json_each(pg_array_json (f(?2)))))"
        );
        // Other uses of the words are left alone.
        let r = rewrite("select 1 from t where id=any($1)", &[]);
        assert!(
            r.sql.starts_with("select 1 from t where id IN (SELECT"),
            "{}",
            r.sql
        );
        let r = rewrite("select any(x) from t where a > any ($1)", &[]);
        assert_eq!(r.sql, "select any(x) from t where a > any (?1)");
    }

    #[test]
    fn casts() {
        let r = rewrite(
            "select $1::int4, $2::text, 'x'::text, (1+2)::text, f(a)::int8",
            &[],
        );
        assert_eq!(
            r.sql,
            "select ?1, ?2, CAST('x' AS TEXT), CAST((1+2) AS TEXT), pg_int8(f(a))"
        );
        assert_eq!(r.param_casts[0].as_ref().unwrap().ty, Type::INT4);
        assert_eq!(r.param_casts[1].as_ref().unwrap().ty, Type::TEXT);
        let r = rewrite(
            "select t.a::bool, '2024-01-01'::date, x::double precision",
            &[],
        );
        assert_eq!(
            r.sql,
            "select pg_bool(t.a), pg_date('2024-01-01'), pg_float8(x)"
        );
        let r = rewrite("select $1::int4", &[Some(Type::TEXT)]);
        assert_eq!(r.sql, "select pg_int4(?1)");
    }

    #[test]
    fn postgres_spellings() {
        let r = rewrite(
            "select pg_catalog.version(), current_user, E'a\\nb''c', $$it's$$ where x ilike 'a'",
            &[],
        );
        assert_eq!(
            r.sql,
            "select version(), current_user(), 'a\nb''c', 'it''s' where x LIKE 'a'"
        );
        let r = rewrite("create table t (id serial primary key, b bigserial)", &[]);
        assert_eq!(
            r.sql,
            "create table t (id INTEGER /*serial*/ primary key, b Integer)"
        );
        // Keywords as aliases after AS are quoted; casts keep their type.
        let r = rewrite("select d.x as default, cast(y as integer), user", &[]);
        assert_eq!(
            r.sql,
            "select d.x as \"default\", cast(y as integer), user()"
        );
    }

    #[test]
    fn string_values() {
        assert_eq!(string_value("'it''s'"), "it's");
        assert_eq!(string_value("E'a\\tb\\101'"), "a\tbA");
        assert_eq!(string_value("$x$a$$b$x$"), "a$$b");
    }
}
