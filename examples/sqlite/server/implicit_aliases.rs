//! PostgreSQL names a select-list column that is a bare function call
//! after the function (`count(1)` is `count`, `row_number() OVER (...)`
//! is `row_number`), and queries refer to those names from outside a
//! subquery or CTE (pgcli's `casing()` orders by `Count` and filters on
//! `Row_Number`). SQLite names such a column after its text, so this pass
//! gives those columns their PostgreSQL name with an explicit alias.
//!
//! Only nested SELECTs (inside parentheses: subqueries, CTE bodies) are
//! touched: the top-level columns' names are Describe's (`describe.rs`).

use std::borrow::Cow;

use super::sql::{Tok, Token, closing_paren, next_significant, tokenize};

/// Words that end a select list.
const END_OF_LIST: &[&str] = &[
    "from",
    "where",
    "group",
    "order",
    "having",
    "limit",
    "union",
    "except",
    "intersect",
    "window",
    "offset",
    "into",
];

/// Calls whose column PostgreSQL does not name after the word.
const NOT_NAMED_AFTER_CALL: &[&str] = &["cast", "row", "array", "case", "values"];

/// One parenthesis level while scanning.
#[derive(Default)]
struct Level {
    /// Scanning a select list; the index of the current item's first token.
    item_start: Option<usize>,
}

/// `sql` with aliases added to the unaliased function-call columns of
/// nested select lists (borrowed when there is nothing to add).
pub fn name_function_columns(sql: &str) -> Cow<'_, str> {
    // Only statements with a nested SELECT can refer to such a column.
    if count_ci(sql, "select") < 2 {
        return Cow::Borrowed(sql);
    }
    let toks = tokenize(sql);
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let mut levels = vec![Level::default()];
    for (i, t) in toks.iter().enumerate() {
        let depth = levels.len() - 1;
        match t.kind {
            Tok::LParen => levels.push(Level::default()),
            Tok::RParen => {
                if let Some(start) = levels.last().and_then(|l| l.item_start) {
                    name_item(&toks, start, i, &mut inserts);
                }
                if levels.len() > 1 {
                    levels.pop();
                }
            }
            Tok::Word if depth > 0 && t.is_word("select") => {
                let mut start = i + 1;
                // `SELECT DISTINCT` / `SELECT ALL`: the list starts after.
                if let Some(k) = next_significant(&toks, i + 1)
                    && (toks[k].is_word("distinct") || toks[k].is_word("all"))
                {
                    start = k + 1;
                }
                if let Some(l) = levels.last_mut() {
                    l.item_start = Some(start);
                }
            }
            Tok::Comma => {
                if let Some(l) = levels.last_mut()
                    && let Some(start) = l.item_start
                {
                    name_item(&toks, start, i, &mut inserts);
                    l.item_start = Some(i + 1);
                }
            }
            Tok::Word if END_OF_LIST.iter().any(|w| t.is_word(w)) => {
                if let Some(l) = levels.last_mut()
                    && let Some(start) = l.item_start.take()
                {
                    name_item(&toks, start, i, &mut inserts);
                }
            }
            _ => {}
        }
    }
    if inserts.is_empty() {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + inserts.len() * 16);
    let mut at = 0;
    for (pos, alias) in inserts {
        out.push_str(&sql[at..pos]);
        out.push_str(&alias);
        at = pos;
    }
    out.push_str(&sql[at..]);
    Cow::Owned(out)
}

fn count_ci(hay: &str, needle: &str) -> usize {
    hay.as_bytes()
        .windows(needle.len())
        .filter(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
        .count()
}

/// If the select-list item `toks[from..to]` is `[schema.]name(...)`,
/// optionally with `FILTER (...)` and `OVER (...)` / `OVER w`, records
/// ` AS "name"` after it.
fn name_item(toks: &[Token<'_>], from: usize, to: usize, inserts: &mut Vec<(usize, String)>) {
    let sig: Vec<usize> = (from..to).filter(|&k| toks[k].is_significant()).collect();
    let mut p = 0;
    let mut name = None;
    // [schema.]name
    while p < sig.len() && matches!(toks[sig[p]].kind, Tok::Word | Tok::QuotedIdent) {
        name = Some(toks[sig[p]]);
        p += 1;
        if p < sig.len() && toks[sig[p]].kind == Tok::Dot {
            p += 1;
        } else {
            break;
        }
    }
    let Some(name) = name else { return };
    if p >= sig.len() || toks[sig[p]].kind != Tok::LParen {
        return;
    }
    if name.kind == Tok::Word && NOT_NAMED_AFTER_CALL.iter().any(|w| name.is_word(w)) {
        return;
    }
    let mut end = closing_paren(toks, sig[p]);
    // FILTER (...) and OVER (...) / OVER name.
    while let Some(k) = sig.iter().copied().find(|&k| k > end) {
        if !(toks[k].is_word("filter") || toks[k].is_word("over")) {
            // An alias, an operator, a cast...: not a bare call.
            return;
        }
        let Some(n) = next_significant(toks, k + 1).filter(|&n| n < to) else {
            return;
        };
        end = match toks[n].kind {
            Tok::LParen => closing_paren(toks, n),
            Tok::Word if toks[k].is_word("over") => n,
            _ => return,
        };
        if end >= to {
            return;
        }
    }
    let alias = match name.kind {
        Tok::QuotedIdent => super::sql::ident_value(&name),
        _ => name.text.to_ascii_lowercase(),
    };
    let pos = toks[end].start + toks[end].text.len();
    inserts.push((pos, format!(" AS \"{}\"", alias.replace('"', "\"\""))));
}

#[cfg(test)]
mod tests {
    use super::name_function_columns as name;

    #[test]
    fn nested_calls_get_their_postgres_names() {
        assert_eq!(
            name("with w as (select x, COUNT(1) from t group by x) select count from w"),
            "with w as (select x, COUNT(1) AS \"count\" from t group by x) select count from w"
        );
        assert_eq!(
            name(
                "select * from (select row_number() over (partition by a order by b), f(x) y from t) s"
            ),
            "select * from (select row_number() over (partition by a order by b) AS \"row_number\", f(x) y from t) s"
        );
    }

    #[test]
    fn top_level_aliases_and_expressions_stay() {
        let same = [
            "select count(*) from t",
            "select (select max(a) m from t), count(*) from u",
            "select * from (select cast(a as int), f(a) + 1, pg_catalog.lower(b) as l from t) s",
        ];
        for sql in same {
            assert_eq!(name(sql), sql);
        }
        assert_eq!(
            name("select (select max(a) from t)"),
            "select (select max(a) AS \"max\" from t)"
        );
    }
}
