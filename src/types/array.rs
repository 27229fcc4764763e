//! Arrays of any supported element type, up to PostgreSQL's six
//! dimensions.
//!
//! Binary form (`array_send`): `ndim` (i32), a has-nulls flag (i32, 0 or
//! 1), the element type OID (u32), `ndim` pairs of (length, lower bound),
//! then every element in row-major order as an i32 length (-1 for NULL)
//! and that many bytes of the element's binary form.
//!
//! Text form (`array_out`): `{1,2,NULL}`, nested braces per dimension
//! (`{{1,2},{3,4}}`), a `[lo:hi]` prefix per dimension when any lower
//! bound is not 1 (`[0:2]={1,2,3}`), `{}` when empty. Elements are quoted
//! when empty, spelled `NULL`, or containing `"`, `\`, `{`, `}`, `,` or
//! white space; inside quotes `"` and `\` are escaped by a backslash.

use bytes::{BufMut, BytesMut};
use postgres_types::Type;

use super::FormatSettings;
use super::text::{binary_to_text_with, is_pg_space, text_to_binary_with};
use crate::error::{ErrorInfo, SqlState};

/// PostgreSQL's limit on array dimensions.
const MAXDIM: usize = 6;

fn too_many_dims(n: i64) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::PROGRAM_LIMIT_EXCEEDED,
        format!("number of array dimensions ({n}) exceeds the maximum allowed ({MAXDIM})"),
    )
}

fn bad_binary(what: &str) -> ErrorInfo {
    ErrorInfo::new(SqlState::INVALID_BINARY_REPRESENTATION, what.to_owned())
}

/// A bounds-checked reader over a binary array.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ErrorInfo> {
        if self.buf.len() < n {
            return Err(bad_binary("insufficient data left in message"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn i32(&mut self) -> Result<i32, ErrorInfo> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Whether an element's text must be quoted.
fn needs_quotes(s: &[u8]) -> bool {
    s.is_empty()
        || s.eq_ignore_ascii_case(b"NULL")
        || s.iter()
            .any(|&c| matches!(c, b'"' | b'\\' | b'{' | b'}' | b',') || is_pg_space(c))
}

/// `array_out` for a binary array whose elements are of type `elem`.
pub(super) fn array_to_text(
    elem: &Type,
    bin: &[u8],
    settings: &FormatSettings,
    out: &mut BytesMut,
) -> Result<(), ErrorInfo> {
    let mut r = Reader { buf: bin };
    let ndim = r.i32()?;
    let flags = r.i32()?;
    let oid = u32::from_be_bytes(r.i32()?.to_be_bytes());
    if ndim < 0 {
        return Err(bad_binary(&format!("invalid number of dimensions: {ndim}")));
    }
    if ndim as usize > MAXDIM {
        return Err(too_many_dims(ndim as i64));
    }
    if flags != 0 && flags != 1 {
        return Err(bad_binary("invalid array flags"));
    }
    if oid != elem.oid() {
        return Err(ErrorInfo::new(
            SqlState::DATATYPE_MISMATCH,
            format!(
                "binary data has array element type {oid} instead of expected {} ({})",
                elem.oid(),
                elem.name()
            ),
        ));
    }
    let ndim = ndim as usize;
    let mut dims = [0i64; MAXDIM];
    let mut lbounds = [1i64; MAXDIM];
    let mut nitems: i64 = 1;
    for i in 0..ndim {
        let d = r.i32()? as i64;
        let lb = r.i32()? as i64;
        if d < 0 || lb + d - 1 > i32::MAX as i64 {
            return Err(bad_binary("invalid array dimensions"));
        }
        dims[i] = d;
        lbounds[i] = lb;
        nitems = nitems.saturating_mul(d);
    }
    if ndim == 0 || nitems == 0 {
        if !r.buf.is_empty() {
            return Err(bad_binary("incorrect binary data format"));
        }
        out.put_slice(b"{}");
        return Ok(());
    }
    // Every element takes at least its 4-byte length: a declared size the
    // data cannot hold is refused before any work is done for it.
    if nitems > (r.buf.len() / 4) as i64 {
        return Err(bad_binary("insufficient data left in message"));
    }
    let dims = &dims[..ndim];
    if lbounds[..ndim].iter().any(|&lb| lb != 1) {
        for (d, lb) in dims.iter().zip(&lbounds) {
            out.put_u8(b'[');
            super::text::write_int(out, *lb);
            out.put_u8(b':');
            super::text::write_int(out, lb + d - 1);
            out.put_u8(b']');
        }
        out.put_u8(b'=');
    }
    // Per-dimension position, to know where braces open and close.
    let mut idx = [0i64; MAXDIM];
    let mut quoted = Vec::new();
    for _ in 0..ndim {
        out.put_u8(b'{');
    }
    for n in 0..nitems {
        if n > 0 {
            // Close the dimensions that just wrapped, then reopen them.
            let mut k = ndim;
            while k > 1 && idx[k - 1] == 0 {
                k -= 1;
            }
            for _ in k..ndim {
                out.put_u8(b'}');
            }
            out.put_u8(b',');
            for _ in k..ndim {
                out.put_u8(b'{');
            }
        }
        let len = r.i32()?;
        if len == -1 {
            out.put_slice(b"NULL");
        } else if len < 0 {
            return Err(bad_binary("invalid array element length"));
        } else {
            let value = r.take(len as usize)?;
            let start = out.len();
            binary_to_text_with(elem, value, settings, out)?;
            if needs_quotes(&out[start..]) {
                quoted.clear();
                quoted.extend_from_slice(&out[start..]);
                out.truncate(start);
                out.reserve(quoted.len() + 2);
                out.put_u8(b'"');
                for &c in &quoted {
                    if c == b'"' || c == b'\\' {
                        out.put_u8(b'\\');
                    }
                    out.put_u8(c);
                }
                out.put_u8(b'"');
            }
        }
        // Advance the row-major index.
        for k in (0..ndim).rev() {
            idx[k] += 1;
            if idx[k] < dims[k] {
                break;
            }
            idx[k] = 0;
        }
    }
    for _ in 0..ndim {
        out.put_u8(b'}');
    }
    if !r.buf.is_empty() {
        return Err(bad_binary("incorrect binary data format"));
    }
    Ok(())
}

fn malformed(text: &str, detail: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INVALID_TEXT_REPRESENTATION,
        format!("malformed array literal: \"{text}\""),
    )
    .with_detail(detail.to_owned())
}

/// One element of a text array, as found by [`Scanner::element`].
struct Element<'a> {
    /// The raw text (without surrounding white space or quotes).
    raw: &'a str,
    /// Whether it has backslash escapes to undo.
    escaped: bool,
    /// Unquoted `NULL`.
    null: bool,
}

struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_pg_space) {
            self.pos += 1;
        }
    }

    fn err(&self, detail: &str) -> ErrorInfo {
        malformed(self.text, detail)
    }

    fn unexpected(&self) -> ErrorInfo {
        match self.peek() {
            None => self.err("Unexpected end of input."),
            Some(c) => self.err(&format!("Unexpected \"{}\" character.", c as char)),
        }
    }

    /// An element starting at the current (non-space) position.
    fn element(&mut self) -> Result<Element<'a>, ErrorInfo> {
        let b = self.text.as_bytes();
        if self.peek() == Some(b'"') {
            self.pos += 1;
            let start = self.pos;
            let mut escaped = false;
            loop {
                match b.get(self.pos) {
                    None => return Err(self.err("Unexpected end of input.")),
                    Some(b'\\') => {
                        escaped = true;
                        self.pos += 2;
                        if self.pos > b.len() {
                            return Err(self.err("Unexpected end of input."));
                        }
                    }
                    Some(b'"') => break,
                    Some(_) => self.pos += 1,
                }
            }
            let raw = self
                .text
                .get(start..self.pos)
                .ok_or_else(|| self.unexpected())?;
            self.pos += 1;
            return Ok(Element {
                raw,
                escaped,
                null: false,
            });
        }
        let start = self.pos;
        // End of the element without trailing white space; escaped
        // characters (white space included) always count.
        let mut end = start;
        let mut escaped = false;
        loop {
            match b.get(self.pos) {
                None => return Err(self.err("Unexpected end of input.")),
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 2;
                    if self.pos > b.len() {
                        return Err(self.err("Unexpected end of input."));
                    }
                    end = self.pos;
                }
                Some(b',' | b'}') => break,
                Some(b'{' | b'"') => return Err(self.unexpected()),
                Some(&c) => {
                    self.pos += 1;
                    if !is_pg_space(c) {
                        end = self.pos;
                    }
                }
            }
        }
        let raw = self.text.get(start..end).ok_or_else(|| self.unexpected())?;
        Ok(Element {
            raw,
            escaped,
            null: !escaped && raw.eq_ignore_ascii_case("NULL"),
        })
    }
}

/// The shape of a text array: dimensions and whether it has NULLs.
struct Shape {
    ndim: usize,
    dims: [i64; MAXDIM],
    has_null: bool,
}

/// Walks the braces once to find and check the shape, calling `each` for
/// every element in order.
fn walk<'a>(
    s: &mut Scanner<'a>,
    mut each: impl FnMut(&Element<'a>) -> Result<(), ErrorInfo>,
) -> Result<Shape, ErrorInfo> {
    let mut shape = Shape {
        ndim: 0,
        dims: [0; MAXDIM],
        has_null: false,
    };
    // Depth of the innermost open brace, and the element count per level.
    let mut depth = 0usize;
    let mut counts = [0i64; MAXDIM + 1];
    // Whether the level of elements is known (set by the first element or
    // the first empty innermost braces).
    let mut leaf_depth: Option<usize> = None;
    s.skip_space();
    if s.peek() != Some(b'{') {
        return Err(s.err("Array value must start with \"{\" or dimension information."));
    }
    loop {
        // At the start of a value: `{`, or an element.
        s.skip_space();
        match s.peek() {
            Some(b'{') => {
                if leaf_depth.is_some_and(|l| depth >= l) {
                    return Err(s.unexpected());
                }
                depth += 1;
                if depth > MAXDIM {
                    return Err(too_many_dims(depth as i64));
                }
                counts[depth] = 0;
                s.pos += 1;
                s.skip_space();
                if s.peek() == Some(b'}') {
                    // `{}`: only the whole array may be empty.
                    if depth == 1 && leaf_depth.is_none() {
                        s.pos += 1;
                        s.skip_space();
                        if s.peek().is_some() {
                            return Err(s.err("Junk after closing right brace."));
                        }
                        return Ok(shape);
                    }
                    return Err(s.unexpected());
                }
                continue;
            }
            Some(_) if depth > 0 => {
                match leaf_depth {
                    None => {
                        leaf_depth = Some(depth);
                        shape.ndim = depth;
                    }
                    Some(l) if l != depth => return Err(s.unexpected()),
                    Some(_) => {}
                }
                let e = s.element()?;
                shape.has_null |= e.null;
                each(&e)?;
                counts[depth] += 1;
            }
            _ => return Err(s.unexpected()),
        }
        // After a value: `,` for the next one, or `}` closing levels.
        loop {
            s.skip_space();
            match s.peek() {
                Some(b',') => {
                    s.pos += 1;
                    break;
                }
                Some(b'}') => {
                    s.pos += 1;
                    let n = counts[depth];
                    let d = &mut shape.dims[depth - 1];
                    if *d == 0 {
                        *d = n;
                    } else if *d != n {
                        return Err(s.err(
                            "Multidimensional arrays must have sub-arrays with matching dimensions.",
                        ));
                    }
                    depth -= 1;
                    if depth == 0 {
                        s.skip_space();
                        if s.peek().is_some() {
                            return Err(s.err("Junk after closing right brace."));
                        }
                        return Ok(shape);
                    }
                    counts[depth] += 1;
                }
                _ => return Err(s.unexpected()),
            }
        }
    }
}

/// Explicit dimensions: how many, their lower bounds and their lengths.
type GivenDims = (usize, [i64; MAXDIM], [i64; MAXDIM]);

/// Parses an optional `[lo:hi][lo:hi]=` prefix; returns the lower bounds
/// and lengths given.
fn dims_prefix(s: &mut Scanner<'_>) -> Result<Option<GivenDims>, ErrorInfo> {
    s.skip_space();
    if s.peek() != Some(b'[') {
        return Ok(None);
    }
    let mut n = 0;
    let mut lbs = [1i64; MAXDIM];
    let mut lens = [0i64; MAXDIM];
    let int = |s: &mut Scanner<'_>| -> Result<i64, ErrorInfo> {
        s.skip_space();
        let start = s.pos;
        if matches!(s.peek(), Some(b'-' | b'+')) {
            s.pos += 1;
        }
        while s.peek().is_some_and(|c| c.is_ascii_digit()) {
            s.pos += 1;
        }
        let v = s
            .text
            .get(start..s.pos)
            .and_then(|t| t.parse::<i32>().ok())
            .ok_or_else(|| s.err("\"[\" must introduce explicitly-specified array dimensions."))?;
        s.skip_space();
        Ok(v as i64)
    };
    while s.peek() == Some(b'[') {
        if n == MAXDIM {
            return Err(too_many_dims(n as i64 + 1));
        }
        s.pos += 1;
        let a = int(s)?;
        let (lb, ub) = if s.peek() == Some(b':') {
            s.pos += 1;
            (a, int(s)?)
        } else {
            (1, a)
        };
        if s.peek() != Some(b']') {
            return Err(s.err("Missing \"]\" after array dimensions."));
        }
        s.pos += 1;
        if ub < lb - 1 {
            return Err(s.err("Upper bound cannot be less than lower bound."));
        }
        lbs[n] = lb;
        lens[n] = ub - lb + 1;
        n += 1;
        s.skip_space();
    }
    if s.peek() != Some(b'=') {
        return Err(s.err("Missing \"=\" after array dimensions."));
    }
    s.pos += 1;
    Ok(Some((n, lbs, lens)))
}

/// `array_in` for elements of type `elem`, appending the binary form.
pub(super) fn text_to_array(
    elem: &Type,
    text: &str,
    settings: &FormatSettings,
    out: &mut BytesMut,
) -> Result<(), ErrorInfo> {
    let mut s = Scanner { text, pos: 0 };
    let given = dims_prefix(&mut s)?;
    let body_start = s.pos;
    // First pass: shape only.
    let shape = walk(&mut s, |_| Ok(()))?;
    let mut lbs = [1i64; MAXDIM];
    if let Some((n, given_lbs, lens)) = given {
        let matches = if shape.ndim == 0 {
            lens[..n].iter().all(|&l| l == 0)
        } else {
            n == shape.ndim && lens[..n] == shape.dims[..n]
        };
        if !matches {
            return Err(malformed(
                text,
                "Specified array dimensions do not match array contents.",
            ));
        }
        lbs = given_lbs;
    }
    out.put_i32(shape.ndim as i32);
    out.put_i32(shape.has_null as i32);
    out.put_u32(elem.oid());
    for (len, lb) in shape.dims.iter().zip(&lbs).take(shape.ndim) {
        out.put_i32(*len as i32);
        out.put_i32(*lb as i32);
    }
    // Second pass: convert each element in place.
    let mut scratch = String::new();
    let mut s = Scanner {
        text,
        pos: body_start,
    };
    walk(&mut s, |e| {
        if e.null {
            out.put_i32(-1);
            return Ok(());
        }
        let value = if e.escaped {
            scratch.clear();
            let mut chars = e.raw.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        scratch.push(n);
                    }
                } else {
                    scratch.push(c);
                }
            }
            scratch.as_str()
        } else {
            e.raw
        };
        let at = out.len();
        out.put_i32(0);
        text_to_binary_with(elem, value, settings, out)?;
        let len = (out.len() - at - 4) as i32;
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(ty: &Type, s: &str) -> String {
        let elem = match ty.kind() {
            postgres_types::Kind::Array(e) => e.clone(),
            _ => unreachable!(),
        };
        let mut b = BytesMut::new();
        text_to_array(&elem, s, FormatSettings::default_ref(), &mut b)
            .unwrap_or_else(|e| panic!("{s}: {e}"));
        let mut t = BytesMut::new();
        array_to_text(&elem, &b, FormatSettings::default_ref(), &mut t).unwrap();
        String::from_utf8(t.to_vec()).unwrap()
    }

    #[test]
    fn text_forms() {
        for (ty, i, o) in [
            (Type::INT4_ARRAY, "{}", "{}"),
            (Type::INT4_ARRAY, " { 1 , 2 } ", "{1,2}"),
            (Type::INT4_ARRAY, "{1,2,NULL}", "{1,2,NULL}"),
            (
                Type::TEXT_ARRAY,
                r#"{a b,"c",NULL,"NULL","",nULl}"#,
                r#"{"a b",c,NULL,"NULL","",NULL}"#,
            ),
            (
                Type::TEXT_ARRAY,
                r#"{"a b","with \"quote\"",NULL,"NULL"}"#,
                r#"{"a b","with \"quote\"",NULL,"NULL"}"#,
            ),
            (Type::TEXT_ARRAY, r#"{ a\ , \"x }"#, r#"{"a ","\"x"}"#),
            (Type::INT4_ARRAY, "[0:2]={1,2,3}", "[0:2]={1,2,3}"),
            (Type::INT4_ARRAY, "[1:3]={1,2,3}", "{1,2,3}"),
            (Type::INT4_ARRAY, "{{1,2},{3,4}}", "{{1,2},{3,4}}"),
            (
                Type::INT4_ARRAY,
                "[0:1][1:2]={{1,2},{3,4}}",
                "[0:1][1:2]={{1,2},{3,4}}",
            ),
            (
                Type::INT4_ARRAY,
                "{{{1},{2}},{{3},{4}}}",
                "{{{1},{2}},{{3},{4}}}",
            ),
            (Type::BYTEA_ARRAY, r#"{"\\x01"}"#, r#"{"\\x01"}"#),
            (Type::TEXT_ARRAY, "{\"{}\",\",\"}", "{\"{}\",\",\"}"),
        ] {
            assert_eq!(round(&ty, i), o, "{i}");
        }
    }

    #[test]
    fn malformed_literals() {
        for (s, detail) in [
            ("{1,2", "Unexpected end of input."),
            ("{{},{}}", "Unexpected \"}\" character."),
            (
                "{{1,2},{3}}",
                "Multidimensional arrays must have sub-arrays with matching dimensions.",
            ),
            ("{1,{2}}", "Unexpected \"{\" character."),
            ("{1}x", "Junk after closing right brace."),
            (
                "1,2",
                "Array value must start with \"{\" or dimension information.",
            ),
            (
                "[1:2]={1}",
                "Specified array dimensions do not match array contents.",
            ),
            ("{a\"b}", "Unexpected \"\"\" character."),
            (
                "",
                "Array value must start with \"{\" or dimension information.",
            ),
        ] {
            let e = text_to_array(
                &Type::INT4,
                s,
                FormatSettings::default_ref(),
                &mut BytesMut::new(),
            )
            .unwrap_err();
            assert_eq!(e.code(), SqlState::INVALID_TEXT_REPRESENTATION, "{s}");
            assert_eq!(e.detail(), Some(detail), "{s}");
        }
        let e = text_to_array(
            &Type::INT4,
            "{{{{{{{1}}}}}}}",
            FormatSettings::default_ref(),
            &mut BytesMut::new(),
        )
        .unwrap_err();
        assert_eq!(e.code(), SqlState::PROGRAM_LIMIT_EXCEEDED);
        let e = text_to_array(
            &Type::INT4,
            "{1,x}",
            FormatSettings::default_ref(),
            &mut BytesMut::new(),
        )
        .unwrap_err();
        assert_eq!(e.message(), "invalid input syntax for type integer: \"x\"");
    }

    #[test]
    fn declared_sizes_are_checked_against_the_data() {
        let mut b = BytesMut::new();
        b.put_i32(1);
        b.put_i32(0);
        b.put_u32(Type::INT4.oid());
        b.put_i32(i32::MAX);
        b.put_i32(1);
        b.put_i32(4);
        b.put_i32(7);
        assert!(
            array_to_text(
                &Type::INT4,
                &b,
                FormatSettings::default_ref(),
                &mut BytesMut::new()
            )
            .is_err()
        );
        let mut b = BytesMut::new();
        b.put_i32(2);
        b.put_i32(0);
        b.put_u32(Type::INT4.oid());
        for _ in 0..2 {
            b.put_i32(0x10000);
            b.put_i32(1);
        }
        assert!(
            array_to_text(
                &Type::INT4,
                &b,
                FormatSettings::default_ref(),
                &mut BytesMut::new()
            )
            .is_err()
        );
    }
}
