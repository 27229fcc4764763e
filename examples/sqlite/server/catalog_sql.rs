//! The PostgreSQL syntax of tools' catalog queries, rewritten into what
//! the general rewrite (`sql.rs`) and SQLite take:
//!
//! - `OPERATOR(pg_catalog.~)` is the operator `~`;
//! - `~`, `~*`, `!~`, `!~*` become `REGEXP` (the `regexp` function of
//!   `catalog.rs`), `~~` and `!~~` `LIKE`;
//! - `COLLATE pg_catalog.default` goes, `COLLATE "C"` is `BINARY`;
//! - `ARRAY(SELECT ...)` and `ARRAY[...]` build an array's text form;
//! - `a[i]` is `pg_array_get(a, i)`;
//! - `unnest(...)`, `generate_series(...)`, `regexp_split_to_table(...)`
//!   and `pg_partition_ancestors(...)` in FROM (with an alias, column names, `WITH ORDINALITY`) become
//!   subqueries;
//! - `LIKE '...\...'` gets `ESCAPE '\'` (PostgreSQL's default);
//! - `string_agg` is SQLite's `group_concat`, `json_build_object` its
//!   `json_object`.
//!
//! Statements without any of these come back unchanged (borrowed).

use std::borrow::Cow;

use super::sql::{Tok, Token, next_significant, tokenize};

/// Clauses that decide whether a function call is in FROM.
const CLAUSES: &[&str] = &[
    "select",
    "from",
    "where",
    "group",
    "order",
    "having",
    "limit",
    "union",
    "on",
    "set",
    "values",
    "returning",
    "except",
    "intersect",
    "window",
];

/// Words that end a FROM item rather than name its alias.
const NOT_ALIAS: &[&str] = &[
    "where",
    "on",
    "join",
    "left",
    "right",
    "inner",
    "outer",
    "cross",
    "natural",
    "full",
    "order",
    "group",
    "limit",
    "union",
    "having",
    "using",
    "except",
    "intersect",
    "window",
    "offset",
    "for",
    "lateral",
];

/// Rewrites `sql` (see the module documentation).
pub fn rewrite(sql: &str) -> Cow<'_, str> {
    let needs = sql.contains(['~', '[']) || (sql.contains('\\') && contains_ci(sql, "like")) || {
        [
            "operator",
            "collate",
            "array",
            "unnest",
            "generate_series",
            "pg_partition_ancestors",
            "string_to_array",
            "regexp_split_to_table",
            "string_agg",
            "json_build_object",
            "generate_subscripts",
            "bool_and",
            "bool_or",
            "cast",
            "values",
            "_pg_expandarray",
            "trim",
        ]
        .iter()
        .any(|w| contains_ci(sql, w))
    };
    if !needs {
        return Cow::Borrowed(sql);
    }
    let toks = tokenize(sql);
    let mut counter = 0;
    Cow::Owned(rewrite_tokens(sql, &toks, &mut counter))
}

/// Whether `hay` contains the lower-case ASCII `needle`, ignoring case.
pub fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Whether `out`, trailing spaces aside, ends with the lower-case ASCII
/// `suffix`, ignoring case (`PG_CATALOG.` as HoneySQL writes it).
fn ends_with_ci(out: &str, suffix: &str) -> bool {
    let t = out.trim_end().as_bytes();
    t.len() >= suffix.len() && t[t.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// The index of the token closing the bracket or parenthesis at `open`.
fn matching(toks: &[Token<'_>], open: usize) -> usize {
    let mut depth = 0i32;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match (t.kind, t.text) {
            (Tok::LParen, _) | (Tok::Bracket, "[") => depth += 1,
            (Tok::RParen, _) | (Tok::Bracket, "]") => {
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

/// The source text of tokens `from..to`, rewritten.
fn sub(sql: &str, toks: &[Token<'_>], from: usize, to: usize, counter: &mut usize) -> String {
    if from >= to || from >= toks.len() {
        return String::new();
    }
    rewrite_tokens(sql, &toks[from..to.min(toks.len())], counter)
}

/// Splits tokens `from..to` at top-level commas.
fn split_args(toks: &[Token<'_>], from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = from;
    for (k, t) in toks.iter().enumerate().take(to).skip(from) {
        match t.kind {
            Tok::LParen => depth += 1,
            Tok::RParen => depth -= 1,
            Tok::Bracket if t.text == "[" => depth += 1,
            Tok::Bracket => depth -= 1,
            Tok::Comma if depth == 0 => {
                out.push((start, k));
                start = k + 1;
            }
            _ => {}
        }
    }
    if toks[from..to].iter().any(Token::is_significant) {
        out.push((start, to));
    }
    out
}

fn rewrite_tokens(sql: &str, toks: &[Token<'_>], counter: &mut usize) -> String {
    let mut out = String::with_capacity(toks.iter().map(|t| t.text.len()).sum::<usize>() + 16);
    // Clause per parenthesis depth.
    let mut clause: Vec<&str> = vec![""];
    // Where the last operand started in `out`.
    let mut operand: Option<usize> = None;
    // Output positions of open parentheses (the operand they start).
    let mut parens: Vec<usize> = Vec::new();
    // Set-returning functions of the select list, per depth: their
    // argument and the join that lists its elements.
    let mut srfs: Vec<Vec<(String, usize)>> = vec![Vec::new()];
    let mut from_seen: Vec<bool> = vec![false];
    // Whether each depth is a SELECT of its own (not an expression's
    // parentheses): where select-list functions join.
    let mut select_level: Vec<bool> = vec![false];
    let mut prev: Option<Token<'_>> = None;
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        let nx = next_significant(toks, i + 1);
        let next = nx.map(|k| toks[k]);
        match t.kind {
            Tok::Word if t.is_word("operator") && next.is_some_and(|n| n.kind == Tok::LParen) => {
                // OPERATOR(schema.op): the operator alone.
                let open = nx.unwrap_or(i);
                let close = matching(toks, open);
                let op: String = toks[open + 1..close.min(toks.len())]
                    .iter()
                    .filter(|t| t.kind == Tok::Op)
                    .map(|t| t.text)
                    .collect();
                out.push(' ');
                out.push_str(&regex_op(&op).unwrap_or(op));
                out.push(' ');
                operand = None;
                i = close + 1;
                prev = Some(Token {
                    kind: Tok::Op,
                    text: "~",
                    start: t.start,
                });
                continue;
            }
            Tok::Op if matches!(t.text, "~" | "!") => {
                // `!~*`, `~~`...: the run of operator characters.
                let mut j = i;
                let mut op = String::new();
                while j < toks.len()
                    && toks[j].kind == Tok::Op
                    && matches!(toks[j].text, "~" | "!" | "*")
                {
                    op.push_str(toks[j].text);
                    j += 1;
                }
                if let Some(r) = regex_op(&op) {
                    out.push(' ');
                    out.push_str(&r);
                    out.push(' ');
                    operand = None;
                    prev = Some(t);
                    i = j;
                    continue;
                }
                out.push_str(t.text);
                operand = None;
            }
            Tok::Word if t.is_word("collate") => {
                // COLLATE name (possibly schema-qualified).
                let mut j = nx.unwrap_or(toks.len());
                let mut name = String::new();
                while j < toks.len() {
                    let tk = toks[j];
                    match tk.kind {
                        Tok::Word | Tok::QuotedIdent => {
                            name = super::sql::ident_value(&tk);
                        }
                        Tok::Dot => {}
                        Tok::Space | Tok::Comment => {}
                        _ => break,
                    }
                    j += 1;
                    // A name is one word, or words joined by dots.
                    let after = next_significant(toks, j);
                    if tk.kind != Tok::Dot && after.is_none_or(|a| toks[a].kind != Tok::Dot) {
                        break;
                    }
                }
                if matches!(name.as_str(), "C" | "POSIX" | "c" | "posix") {
                    out.push_str("COLLATE BINARY");
                }
                i = j;
                continue;
            }
            Tok::Word
                if t.is_word("array")
                    && next.is_some_and(|n| n.kind == Tok::LParen || n.text == "[") =>
            {
                let open = nx.unwrap_or(i);
                let close = matching(toks, open);
                let start = out.len();
                if toks[open].kind == Tok::LParen {
                    *counter += 1;
                    let name = format!("_pgwire_array{counter}");
                    let inner = sub(sql, toks, open + 1, close, counter);
                    out.push_str(&format!(
                        "(WITH {name}(v) AS ({inner}) SELECT pg_array_from_json(json_group_array(v)) FROM {name})"
                    ));
                } else {
                    let items: Vec<String> = split_args(toks, open + 1, close)
                        .into_iter()
                        .map(|(a, b)| sub(sql, toks, a, b, counter))
                        .collect();
                    out.push_str(&format!(
                        "pg_array_from_json(json_array({}))",
                        items.join(",")
                    ));
                }
                operand = Some(start);
                prev = Some(Token {
                    kind: Tok::RParen,
                    text: ")",
                    start: t.start,
                });
                i = close + 1;
                continue;
            }
            Tok::Word
                if clause.last() == Some(&"from")
                    && next.is_some_and(|n| n.kind == Tok::LParen)
                    && [
                        "unnest",
                        "generate_series",
                        "pg_partition_ancestors",
                        "string_to_array",
                        "regexp_split_to_table",
                    ]
                    .iter()
                    .any(|f| t.is_word(f))
                    && (prev.is_none_or(|p| p.kind != Tok::Dot)
                        || ends_with_ci(&out, "pg_catalog.")) =>
            {
                if prev.is_some_and(|p| p.kind == Tok::Dot) {
                    let keep = out.trim_end().len() - "pg_catalog.".len();
                    out.truncate(keep);
                }
                let (text, end) = from_function(sql, toks, i, nx.unwrap_or(i), counter);
                out.push_str(&text);
                operand = None;
                prev = Some(Token {
                    kind: Tok::Word,
                    text: "x",
                    start: t.start,
                });
                i = end;
                continue;
            }
            Tok::Word
                if clause.last() == Some(&"select")
                    && (t.is_word("unnest")
                        || t.is_word("regexp_split_to_table")
                        || t.is_word("generate_subscripts")
                        || t.is_word("_pg_expandarray"))
                    && (prev.is_none_or(|p| p.kind != Tok::Dot)
                        || ends_with_ci(&out, "information_schema.")
                        || ends_with_ci(&out, "pg_catalog."))
                    && next.is_some_and(|n| n.kind == Tok::LParen) =>
            {
                if prev.is_some_and(|p| p.kind == Tok::Dot) {
                    let trimmed = out.trim_end();
                    let keep = trimmed.len()
                        - if ends_with_ci(trimmed, "information_schema.") {
                            "information_schema.".len()
                        } else {
                            "pg_catalog.".len()
                        };
                    out.truncate(keep);
                }
                // `SELECT unnest(a), generate_subscripts(a, 1)`: one row per
                // element, from a join on the array's elements.
                let open = nx.unwrap_or(i);
                let close = matching(toks, open);
                let args = split_args(toks, open + 1, close);
                let arg = if t.is_word("regexp_split_to_table") {
                    // The pieces as an array, then one row per piece.
                    let all: Vec<String> = args
                        .iter()
                        .map(|&(a, b)| sub(sql, toks, a, b, counter))
                        .collect();
                    format!("regexp_split_to_array({})", all.join(","))
                } else {
                    args.first()
                        .map_or_else(String::new, |&(a, b)| sub(sql, toks, a, b, counter))
                };
                let owner = select_level.iter().rposition(|&s| s).unwrap_or(0);
                let level = &mut srfs[owner];
                let id = match level.iter().find(|(a, _)| *a == arg) {
                    Some((_, id)) => *id,
                    None => {
                        *counter += 1;
                        level.push((arg, *counter));
                        *counter
                    }
                };
                operand = Some(out.len());
                if t.is_word("unnest")
                    || t.is_word("_pg_expandarray")
                    || t.is_word("regexp_split_to_table")
                {
                    // `_pg_expandarray`'s (x, n) is represented by x; `.n`
                    // after it is read below.
                    out.push_str(&format!("_pgwire_srf{id}.value"));
                } else {
                    out.push_str(&format!("(_pgwire_srf{id}.key + 1)"));
                }
                prev = Some(Token {
                    kind: Tok::RParen,
                    text: ")",
                    start: t.start,
                });
                i = close + 1;
                continue;
            }
            Tok::Word if t.is_word("cast") && next.is_some_and(|n| n.kind == Tok::LParen) => {
                // CAST(x AS regclass): the catalog's resolution.
                let open = nx.unwrap_or(i);
                let close = matching(toks, open);
                let mut depth = 0;
                let mut as_at = None;
                for (k, tk) in toks
                    .iter()
                    .enumerate()
                    .take(close.min(toks.len()))
                    .skip(open + 1)
                {
                    match tk.kind {
                        Tok::LParen => depth += 1,
                        Tok::RParen => depth -= 1,
                        Tok::Word if depth == 0 && tk.is_word("as") => as_at = Some(k),
                        _ => {}
                    }
                }
                let Some(as_at) = as_at else {
                    out.push_str(t.text);
                    prev = Some(t);
                    i += 1;
                    continue;
                };
                let expr = sub(sql, toks, open + 1, as_at, counter);
                let ty: String = toks[as_at + 1..close.min(toks.len())]
                    .iter()
                    .filter(|t| t.is_significant())
                    .map(|t| t.text)
                    .collect::<Vec<_>>()
                    .join(" ");
                operand = Some(out.len());
                match ty.to_ascii_lowercase().as_str() {
                    "regclass" => out.push_str(&format!("pg_regclass({expr})")),
                    "regtype" => out.push_str(&format!("pg_regtype({expr})")),
                    _ => out.push_str(&format!("CAST({expr} AS {ty})")),
                }
                prev = Some(Token {
                    kind: Tok::RParen,
                    text: ")",
                    start: t.start,
                });
                i = close + 1;
                continue;
            }
            Tok::Word
                if (t.is_word("bool_and") || t.is_word("bool_or"))
                    && next.is_some_and(|n| n.kind == Tok::LParen) =>
            {
                operand = Some(out.len());
                out.push_str(if t.is_word("bool_and") { "min" } else { "max" });
            }
            Tok::Word
                if (t.is_word("string_agg") || t.is_word("json_build_object"))
                    && next.is_some_and(|n| n.kind == Tok::LParen) =>
            {
                operand = Some(out.len());
                out.push_str(if t.is_word("string_agg") {
                    "group_concat"
                } else {
                    "json_object"
                });
            }
            Tok::Word
                if t.is_word("trim")
                    && next.is_some_and(|n| n.kind == Tok::LParen)
                    && nx
                        .and_then(|o| next_significant(toks, o + 1))
                        .is_some_and(|w| {
                            ["both", "leading", "trailing"]
                                .iter()
                                .any(|k| toks[w].is_word(k))
                        }) =>
            {
                // trim(both 'x' from s) is SQLite's trim(s, 'x').
                let open = nx.unwrap_or(i);
                let close = matching(toks, open);
                let side = next_significant(toks, open + 1).unwrap_or(open);
                let from = (side..close).find(|&k| toks[k].is_word("from"));
                if let Some(from) = from {
                    let chars = sub(sql, toks, side + 1, from, counter);
                    let what = sub(sql, toks, from + 1, close, counter);
                    let f = if toks[side].is_word("leading") {
                        "ltrim"
                    } else if toks[side].is_word("trailing") {
                        "rtrim"
                    } else {
                        "trim"
                    };
                    operand = Some(out.len());
                    out.push_str(&format!("{f}({what}, {})", chars.trim()));
                    prev = Some(Token {
                        kind: Tok::RParen,
                        text: ")",
                        start: t.start,
                    });
                    i = close + 1;
                    continue;
                }
                operand = Some(out.len());
                out.push_str(t.text);
            }
            Tok::Word
                if (t.is_word("like") || t.is_word("ilike"))
                    && next.is_some_and(|n| n.kind == Tok::Str && n.text.contains('\\'))
                    && nx
                        .and_then(|s| next_significant(toks, s + 1))
                        .is_none_or(|e| !toks[e].is_word("escape")) =>
            {
                // PostgreSQL's LIKE escapes with a backslash by default;
                // SQLite's only with an ESCAPE clause.
                let s = nx.unwrap_or(i);
                out.push_str(t.text);
                out.push(' ');
                out.push_str(toks[s].text);
                out.push_str(" ESCAPE '\\'");
                operand = None;
                prev = Some(toks[s]);
                i = s + 1;
                continue;
            }
            Tok::Word | Tok::QuotedIdent => {
                let lower = t.text.to_ascii_lowercase();
                if t.kind == Tok::Word && CLAUSES.contains(&lower.as_str()) {
                    if lower != "from" && lower != "select" && lower != "on" {
                        flush_srfs(&mut out, &mut srfs, &from_seen);
                    }
                    if lower == "from" {
                        if let Some(f) = from_seen.last_mut() {
                            *f = true;
                        }
                    }
                    if lower == "select" {
                        if let Some(s) = select_level.last_mut() {
                            *s = true;
                        }
                    }
                    if let Some(c) = clause.last_mut() {
                        *c = CLAUSES.iter().find(|c| **c == lower).copied().unwrap_or("");
                    }
                }
                let chained = prev.is_some_and(|p| p.kind == Tok::Dot);
                if !chained || operand.is_none() {
                    operand = Some(out.len());
                }
                out.push_str(t.text);
            }
            Tok::LParen if next.is_some_and(|n| n.is_word("values")) => {
                // `(VALUES ...) AS name(a, b)`: SQLite names the columns
                // column1, column2...
                let close = matching(toks, i);
                let mut k = next_significant(toks, close + 1);
                if k.is_some_and(|k| toks[k].is_word("as")) {
                    k = next_significant(toks, k.unwrap_or(0) + 1);
                }
                let alias = k.filter(|&k| matches!(toks[k].kind, Tok::Word | Tok::QuotedIdent));
                let cols = alias
                    .and_then(|a| next_significant(toks, a + 1))
                    .filter(|&p| toks[p].kind == Tok::LParen);
                if let (Some(a), Some(p)) = (alias, cols) {
                    let pc = matching(toks, p);
                    let names: Vec<String> = toks[p + 1..pc.min(toks.len())]
                        .iter()
                        .filter(|t| matches!(t.kind, Tok::Word | Tok::QuotedIdent))
                        .map(super::sql::ident_value)
                        .collect();
                    let select: Vec<String> = names
                        .iter()
                        .enumerate()
                        .map(|(n, c)| format!("column{} AS \"{}\"", n + 1, c.replace('"', "\"\"")))
                        .collect();
                    let inner = sub(sql, toks, i + 1, close, counter);
                    out.push_str(&format!(
                        "(SELECT {} FROM ({inner})) AS {}",
                        select.join(", "),
                        toks[a].text
                    ));
                    operand = None;
                    prev = Some(Token {
                        kind: Tok::Word,
                        text: "x",
                        start: t.start,
                    });
                    i = pc + 1;
                    continue;
                }
                parens.push(out.len());
                clause.push("");
                srfs.push(Vec::new());
                from_seen.push(false);
                out.push('(');
            }
            Tok::LParen => {
                let at = match (prev, operand) {
                    (Some(p), Some(start)) if matches!(p.kind, Tok::Word | Tok::QuotedIdent) => {
                        start
                    }
                    _ => out.len(),
                };
                parens.push(at);
                // Parentheses in an expression are in their clause.
                let parent = clause.last().copied().unwrap_or("");
                clause.push(parent);
                srfs.push(Vec::new());
                from_seen.push(false);
                select_level.push(false);
                out.push('(');
            }
            Tok::RParen => {
                flush_srfs(&mut out, &mut srfs, &from_seen);
                if srfs.len() > 1 {
                    srfs.pop();
                    from_seen.pop();
                }
                out.push(')');
                clause.pop();
                if clause.is_empty() {
                    clause.push("");
                }
                if select_level.len() > 1 {
                    select_level.pop();
                }
                operand = parens.pop();
                // `(composite).x`, `(composite).n`: of `_pg_expandarray`'s
                // rows, represented by x.
                let dot = next_significant(toks, i + 1).filter(|&d| toks[d].kind == Tok::Dot);
                let field = dot
                    .and_then(|d| next_significant(toks, d + 1))
                    .filter(|&f| toks[f].is_word("x") || toks[f].is_word("n"));
                if let (Some(start), Some(f)) = (operand, field) {
                    let group = out[start..].trim().to_owned();
                    let inner = group
                        .strip_prefix('(')
                        .and_then(|g| g.strip_suffix(')'))
                        .unwrap_or(&group)
                        .trim()
                        .to_owned();
                    let srf = inner
                        .strip_prefix("_pgwire_srf")
                        .and_then(|r| r.strip_suffix(".value"))
                        .filter(|n| n.chars().all(|c| c.is_ascii_digit()));
                    let replaced = match (srf, toks[f].is_word("n")) {
                        (Some(id), true) => Some(format!("(_pgwire_srf{id}.key + 1)")),
                        (_, false) => Some(inner),
                        (None, true) => None,
                    };
                    if let Some(r) = replaced {
                        out.truncate(start);
                        out.push_str(&r);
                        prev = Some(Token {
                            kind: Tok::RParen,
                            text: ")",
                            start: t.start,
                        });
                        i = f + 1;
                        continue;
                    }
                }
            }
            Tok::Bracket if t.text == "[" => {
                let close = matching(toks, i);
                let empty_or_type = next.is_some_and(|n| n.text == "]")
                    || prev.is_some_and(|p| p.kind == Tok::Cast);
                let after_type = {
                    // `::int2[]`: the word before is a type name.
                    let before: Vec<&Token> = toks[..i]
                        .iter()
                        .rev()
                        .filter(|t| t.is_significant())
                        .take(4)
                        .collect();
                    before.iter().any(|b| b.kind == Tok::Cast)
                        && before.first().is_some_and(|b| b.kind == Tok::Word)
                        && before
                            .get(1)
                            .is_some_and(|b| b.kind == Tok::Cast || b.kind == Tok::Dot)
                };
                match operand {
                    Some(start) if !empty_or_type && !after_type && close < toks.len() => {
                        let base = out.split_off(start);
                        let index = sub(sql, toks, i + 1, close, counter);
                        out.push_str(&format!("pg_array_get({base}, {index})"));
                        operand = Some(start);
                        prev = Some(Token {
                            kind: Tok::RParen,
                            text: ")",
                            start: t.start,
                        });
                        i = close + 1;
                        continue;
                    }
                    _ => out.push('['),
                }
            }
            Tok::Space | Tok::Comment => out.push_str(t.text),
            Tok::Dot => out.push('.'),
            Tok::Cast => {
                out.push_str(t.text);
            }
            _ => {
                operand = None;
                out.push_str(t.text);
            }
        }
        if t.is_significant() {
            prev = Some(t);
        }
        i += 1;
    }
    flush_srfs(&mut out, &mut srfs, &from_seen);
    out
}

/// Adds the joins of the current level's set-returning functions to its
/// FROM clause (or makes one).
fn flush_srfs(out: &mut String, srfs: &mut [Vec<(String, usize)>], from_seen: &[bool]) {
    let Some(level) = srfs.last_mut() else { return };
    let mut from = from_seen.last().copied().unwrap_or(false);
    for (arg, id) in level.drain(..) {
        let trimmed = out.trim_end().len();
        let tail = out.split_off(trimmed);
        out.push_str(if from { ", " } else { " FROM " });
        out.push_str(&format!(
            "json_each(pg_items_json({arg})) AS _pgwire_srf{id}"
        ));
        out.push_str(&tail);
        from = true;
    }
}

/// The SQLite spelling of a PostgreSQL pattern-matching operator.
fn regex_op(op: &str) -> Option<String> {
    Some(
        match op {
            "~" => "REGEXP",
            "~*" => "REGEXP '(?i)' ||",
            "!~" => "NOT REGEXP",
            "!~*" => "NOT REGEXP '(?i)' ||",
            "~~" | "~~*" => "LIKE",
            "!~~" | "!~~*" => "NOT LIKE",
            _ => return None,
        }
        .to_owned(),
    )
}

/// A set-returning function in FROM at `name` (its `(` at `open`), with
/// what follows it: `WITH ORDINALITY`, `AS`, an alias, column names.
/// Returns the subquery and the index after the item.
fn from_function(
    sql: &str,
    toks: &[Token<'_>],
    name: usize,
    open: usize,
    counter: &mut usize,
) -> (String, usize) {
    let func = toks[name].text.to_ascii_lowercase();
    let close = matching(toks, open);
    let args: Vec<String> = split_args(toks, open + 1, close)
        .into_iter()
        .map(|(a, b)| sub(sql, toks, a, b, counter))
        .collect();
    let mut j = close + 1;
    let mut ordinality = false;
    let mut alias: Option<String> = None;
    let mut columns: Vec<String> = Vec::new();
    let sig = |j: usize| next_significant(toks, j);
    if let Some(k) = sig(j) {
        if toks[k].is_word("with") && sig(k + 1).is_some_and(|o| toks[o].is_word("ordinality")) {
            ordinality = true;
            j = sig(k + 1).map_or(j, |o| o + 1);
        }
    }
    if let Some(k) = sig(j) {
        let mut k = k;
        if toks[k].is_word("as") {
            k = sig(k + 1).unwrap_or(toks.len());
        }
        if k < toks.len()
            && matches!(toks[k].kind, Tok::Word | Tok::QuotedIdent)
            && !NOT_ALIAS.iter().any(|w| toks[k].is_word(w))
        {
            alias = Some(super::sql::ident_value(&toks[k]));
            j = k + 1;
            if let Some(p) = sig(j).filter(|&p| toks[p].kind == Tok::LParen) {
                let c = matching(toks, p);
                columns = toks[p + 1..c.min(toks.len())]
                    .iter()
                    .filter(|t| matches!(t.kind, Tok::Word | Tok::QuotedIdent))
                    .map(super::sql::ident_value)
                    .collect();
                j = c + 1;
            }
        }
    }
    let alias = alias.unwrap_or_else(|| func.clone());
    let value_col = columns.first().cloned().unwrap_or_else(|| {
        if func == "unnest" || func == "regexp_split_to_table" || columns.is_empty() {
            alias.clone()
        } else {
            func.clone()
        }
    });
    let ord_col = columns
        .get(1)
        .cloned()
        .unwrap_or_else(|| "ordinality".into());
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let arg = |k: usize| args.get(k).cloned().unwrap_or_else(|| "NULL".into());
    let body = match func.as_str() {
        "unnest" | "regexp_split_to_table" => {
            let items = if func == "unnest" {
                arg(0)
            } else {
                format!("regexp_split_to_array({})", args.join(","))
            };
            let ord = if ordinality {
                format!(", key + 1 AS {}", q(&ord_col))
            } else {
                String::new()
            };
            format!(
                "SELECT value AS {}{ord} FROM json_each(pg_items_json({items}))",
                q(&value_col),
            )
        }
        "generate_series" => {
            *counter += 1;
            let g = format!("_pgwire_series{counter}");
            let step = args.get(2).cloned().unwrap_or_else(|| "1".into());
            let ord = if ordinality {
                format!(", row_number() OVER () AS {}", q(&ord_col))
            } else {
                String::new()
            };
            format!(
                "WITH RECURSIVE {g}(v) AS (SELECT ({a}) WHERE ({a}) <= ({b}) \
                 UNION ALL SELECT v + ({step}) FROM {g} WHERE v + ({step}) <= ({b})) \
                 SELECT v AS {}{ord} FROM {g}",
                q(&value_col),
                a = arg(0),
                b = arg(1),
            )
        }
        // One array as a one-row relation (Grafana: `string_to_array(..) s`
        // in FROM, then `s[i]`).
        "string_to_array" => format!(
            "SELECT string_to_array({}, {}) AS {}",
            arg(0),
            arg(1),
            q(&value_col)
        ),
        // Not partitioned: a relation is its own only ancestor.
        _ => {
            let ord = if ordinality {
                format!(", 1 AS {}", q(&ord_col))
            } else {
                String::new()
            };
            format!("SELECT ({}) AS {}{ord}", arg(0), q(&value_col))
        }
    };
    (format!("({body}) AS {}", q(&alias)), j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_and_collations() {
        assert_eq!(
            rewrite("c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default"),
            "c.relname  REGEXP  '^(t)$' "
        );
        assert_eq!(rewrite("n !~ '^pg_'"), "n  NOT REGEXP  '^pg_'");
        assert_eq!(rewrite("n ~* 'x'"), "n  REGEXP '(?i)' ||  'x'");
    }

    #[test]
    fn arrays_and_functions_in_from() {
        assert_eq!(
            rewrite("select a[2] from t"),
            "select pg_array_get(a, 2) from t"
        );
        assert_eq!(
            rewrite("select x::int2[] from t"),
            "select x::int2[] from t"
        );
        assert!(rewrite("select ARRAY(select 1)").contains("json_group_array(v)"));
        assert_eq!(
            rewrite("select x from unnest(y) x"),
            "select x from (SELECT value AS \"x\" FROM json_each(pg_items_json(y))) AS \"x\""
        );
        assert!(rewrite("select s from generate_series(1, 3) s").contains("WITH RECURSIVE"));
    }
}
