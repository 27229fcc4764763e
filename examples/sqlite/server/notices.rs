//! Notices PostgreSQL sends for statements SQLite runs silently:
//! `DROP TABLE IF EXISTS missing` says `table "missing" does not exist,
//! skipping`.

use pgwire::api::Session;
use pgwire::error::ErrorInfo;

use super::SqliteSession;
use super::sql::{self, Tok, ident_value};

impl SqliteSession {
    /// Sends the notices of `DROP TABLE|VIEW|INDEX IF EXISTS` for the
    /// objects that do not exist (before the statement runs: it succeeds
    /// whatever they are).
    pub(super) async fn drop_if_exists_notices(&self, session: &Session, text: &str) {
        let toks = sql::significant(text);
        let is = |i: usize, w: &str| toks.get(i).is_some_and(|t| t.is_word(w));
        if !(is(0, "drop") && is(2, "if") && is(3, "exists")) {
            return;
        }
        let kind = match toks[1].text.to_ascii_lowercase().as_str() {
            k @ ("table" | "view" | "index") => k.to_owned(),
            _ => return,
        };
        // `a, b, schema.c`: the last part of each name.
        let mut names = Vec::new();
        for t in &toks[4..] {
            match t.kind {
                Tok::Word | Tok::QuotedIdent if !t.is_word("cascade") && !t.is_word("restrict") => {
                    if matches!(names.last(), Some((_, true))) {
                        names.pop();
                    }
                    names.push((ident_value(t), false));
                }
                Tok::Dot => {
                    if let Some(last) = names.last_mut() {
                        last.1 = true;
                    }
                }
                _ => {}
            }
        }
        let names: Vec<String> = names.into_iter().map(|(n, _)| n).collect();
        let k = kind.clone();
        let missing = self
            .engine
            .call(None, move |db| {
                names
                    .into_iter()
                    .filter(|n| {
                        db.conn
                            .query_row(
                                "SELECT 1 FROM sqlite_master WHERE type = ?1 AND name = ?2 COLLATE NOCASE",
                                [&k, n],
                                |_| Ok(()),
                            )
                            .is_err()
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
        for n in missing {
            session.send_notice(ErrorInfo::notice(format!(
                "{kind} \"{n}\" does not exist, skipping"
            )));
        }
    }
}
