//! String literals stored into date/time columns, typed as PostgreSQL
//! types them: `INSERT INTO t (d) VALUES ('01/02/2024')` reads the literal
//! as a `date` under the session's DateStyle (and a `timestamptz` in its
//! TimeZone), where SQLite would store the text as written. The literal
//! gets the column's cast (`'01/02/2024'::date`), which the rewrite turns
//! into the cast function that parses it with the session's settings and
//! stores PostgreSQL's canonical form.

use std::borrow::Cow;

use pgwire::types::Type;
use rusqlite::Connection;

use super::sql::{Tok, Token, ident_value, significant};
use super::types::pg_type_for_decl;

/// The cast a literal stored into a column of type `ty` gets.
fn cast_for(ty: &Type) -> Option<&'static str> {
    Some(match *ty {
        Type::DATE => "date",
        Type::TIME => "time",
        Type::TIMESTAMP => "timestamp",
        Type::TIMESTAMPTZ => "timestamptz",
        _ => return None,
    })
}

/// The table's columns (name, type), in order.
fn table_columns(conn: &Connection, table: &str) -> Vec<(String, Type)> {
    let Ok(mut stmt) = conn.prepare("SELECT name, type FROM pragma_table_info(?1)") else {
        return Vec::new();
    };
    stmt.query_map([table], |r| {
        Ok((
            r.get::<_, String>(0)?,
            pg_type_for_decl(&r.get::<_, String>(1)?).ty,
        ))
    })
    .map(|rows| rows.filter_map(Result::ok).collect())
    .unwrap_or_default()
}

/// `text` with a cast after each string literal that is a whole value
/// stored into a date/time column: of an `INSERT ... VALUES` tuple, or
/// assigned by `UPDATE ... SET col = '...'`; `text` itself when there is
/// none.
pub fn type_insert_literals<'a>(conn: &Connection, text: &'a str) -> Cow<'a, str> {
    let toks = significant(text);
    let casts = match toks.first() {
        Some(t) if t.is_word("insert") => insert_literal_casts(conn, &toks),
        Some(t) if t.is_word("update") => update_literal_casts(conn, &toks),
        _ => None,
    };
    let Some(casts) = casts else {
        return Cow::Borrowed(text);
    };
    if casts.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + casts.len() * 12);
    let mut at = 0;
    for (end, cast) in casts {
        out.push_str(&text[at..end]);
        out.push_str("::");
        out.push_str(cast);
        at = end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// The casts of `UPDATE [ONLY] table [[AS] alias] SET col = '...', ...`.
fn update_literal_casts(
    conn: &Connection,
    toks: &[Token<'_>],
) -> Option<Vec<(usize, &'static str)>> {
    let mut i = 1;
    if toks.get(i)?.is_word("only") {
        i += 1;
    }
    let mut table = ident_value(toks.get(i)?);
    i += 1;
    while toks.get(i).is_some_and(|t| t.kind == Tok::Dot) {
        table = ident_value(toks.get(i + 1)?);
        i += 2;
    }
    // An alias, with or without AS.
    while !toks.get(i)?.is_word("set") {
        i += 1;
        if i > 4 {
            return None;
        }
    }
    i += 1;
    let columns = table_columns(conn, &table);
    if !columns.iter().any(|(_, ty)| cast_for(ty).is_some()) {
        return None;
    }
    let mut casts = Vec::new();
    // `col = value` items at depth 0, up to the first clause after them.
    let mut depth = 0usize;
    let mut item_start = i;
    while let Some(t) = toks.get(i) {
        match t.kind {
            Tok::LParen => depth += 1,
            Tok::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        let ends_item = depth == 0
            && (t.kind == Tok::Comma
                || t.kind == Tok::Semicolon
                || t.is_word("where")
                || t.is_word("from")
                || t.is_word("returning"));
        if ends_item || i + 1 == toks.len() {
            let end = if ends_item { i } else { i + 1 };
            // Exactly: name = 'literal'.
            if end == item_start + 3
                && toks[item_start + 1].text == "="
                && toks[item_start + 2].kind == Tok::Str
            {
                let name = ident_value(&toks[item_start]);
                let cast = columns
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(&name))
                    .and_then(|(_, ty)| cast_for(ty));
                if let Some(cast) = cast {
                    let lit = &toks[item_start + 2];
                    casts.push((lit.start + lit.text.len(), cast));
                }
            }
            if t.kind != Tok::Comma {
                break;
            }
            item_start = i + 1;
        }
        i += 1;
    }
    Some(casts)
}

/// Where to insert which cast (byte offsets after the literals).
fn insert_literal_casts(
    conn: &Connection,
    toks: &[Token<'_>],
) -> Option<Vec<(usize, &'static str)>> {
    let mut i = 0;
    if !toks.first()?.is_word("insert") || !toks.get(1)?.is_word("into") {
        return None;
    }
    i += 2;
    // [schema.]table [AS alias]
    let mut table = ident_value(toks.get(i)?);
    i += 1;
    while toks.get(i).is_some_and(|t| t.kind == Tok::Dot) {
        table = ident_value(toks.get(i + 1)?);
        i += 2;
    }
    if toks.get(i).is_some_and(|t| t.is_word("as")) {
        i += 2;
    }
    let columns = table_columns(conn, &table);
    if !columns.iter().any(|(_, ty)| cast_for(ty).is_some()) {
        return None;
    }
    // The target columns: listed, or all in order.
    let mut targets: Vec<Option<&'static str>> = Vec::new();
    if toks.get(i)?.kind == Tok::LParen {
        i += 1;
        loop {
            let t = toks.get(i)?;
            match t.kind {
                Tok::RParen => break,
                Tok::Comma => {}
                _ => {
                    let name = ident_value(t);
                    let ty = columns
                        .iter()
                        .find(|(c, _)| c.eq_ignore_ascii_case(&name))
                        .map(|(_, ty)| ty);
                    targets.push(ty.and_then(cast_for));
                }
            }
            i += 1;
        }
        i += 1;
    } else {
        targets = columns.iter().map(|(_, ty)| cast_for(ty)).collect();
    }
    if !toks.get(i)?.is_word("values") {
        return None;
    }
    i += 1;
    let mut casts = Vec::new();
    // Each tuple: `(` value, ... `)`, separated by commas.
    while toks.get(i).is_some_and(|t| t.kind == Tok::LParen) {
        i += 1;
        let mut depth = 0usize;
        let mut column = 0usize;
        let mut value_start = i;
        loop {
            let t = toks.get(i)?;
            match t.kind {
                Tok::LParen => depth += 1,
                Tok::RParen if depth > 0 => depth -= 1,
                Tok::Comma | Tok::RParen if depth == 0 => {
                    // A value that is one string literal.
                    if i == value_start + 1 && toks[value_start].kind == Tok::Str {
                        if let Some(Some(cast)) = targets.get(column) {
                            let lit = &toks[value_start];
                            casts.push((lit.start + lit.text.len(), *cast));
                        }
                    }
                    column += 1;
                    value_start = i + 1;
                    if t.kind == Tok::RParen {
                        i += 1;
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if toks.get(i).is_some_and(|t| t.kind == Tok::Comma) {
            i += 1;
        } else {
            break;
        }
    }
    Some(casts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_literals_of_date_time_columns() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("create table t (id int4, d date, ts timestamptz, note text)")
            .unwrap();
        let typed = |s| type_insert_literals(&c, s).into_owned();
        assert_eq!(
            typed("INSERT INTO t VALUES (1, '01/02/2024', '01/02/2024 10:00', 'x')"),
            "INSERT INTO t VALUES (1, '01/02/2024'::date, '01/02/2024 10:00'::timestamptz, 'x')"
        );
        assert_eq!(
            typed("insert into public.t (ts, d) values ('a', lower('b')), ('c', 'd') returning id"),
            "insert into public.t (ts, d) values ('a'::timestamptz, lower('b')), ('c'::timestamptz, 'd'::date) returning id"
        );
        // Already cast, other statements, tables without such columns.
        assert_eq!(
            typed("INSERT INTO t (d) VALUES ('2024-01-01'::date)"),
            "INSERT INTO t (d) VALUES ('2024-01-01'::date)"
        );
        assert_eq!(typed("SELECT '01/02/2024'"), "SELECT '01/02/2024'");
        assert_eq!(
            typed("UPDATE t SET d = '01/02/2024', note = 'n', ts = now() WHERE d = '2024-01-01'"),
            "UPDATE t SET d = '01/02/2024'::date, note = 'n', ts = now() WHERE d = '2024-01-01'"
        );
        assert_eq!(
            typed("update t x set ts = '01/02/2024 10:00'"),
            "update t x set ts = '01/02/2024 10:00'::timestamptz"
        );
        c.execute_batch("create table u (a text)").unwrap();
        assert_eq!(
            typed("INSERT INTO u VALUES ('01/02/2024')"),
            "INSERT INTO u VALUES ('01/02/2024')"
        );
    }
}
