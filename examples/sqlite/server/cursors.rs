//! SQL cursors: `DECLARE name [NO] SCROLL CURSOR FOR query`, `FETCH`,
//! `MOVE` and `CLOSE`, what psql's `\set FETCH_COUNT n` sends.
//!
//! A cursor keeps its query (prepared and described at DECLARE), its row
//! count and its position; each FETCH runs the query again on the
//! session's worker and sends the rows of its window (`engine::Window`),
//! so memory stays bounded whatever the result's size (a FETCH costs a
//! scan up to its rows). Cursors live in a transaction block, as
//! PostgreSQL's without `WITH HOLD` do: SQLite's WAL snapshot, taken by
//! the row count at DECLARE, keeps what the query reads fixed until the
//! block ends, except for the block's own writes, which a later FETCH
//! sees (PostgreSQL's cursor would not). A `WITH HOLD` cursor (allowed
//! outside a block too) is materialized at DECLARE into a temporary table,
//! read by its FETCHes: its rows are those of the DECLARE's snapshot, as in
//! PostgreSQL, and it outlives the block if the block commits.
//!
//! Positions are PostgreSQL's: 0 before the first row, 1..=n on a row,
//! n + 1 after the last.

use std::sync::Arc;

use pgwire::api::{Response, Session, Tag};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::messages::{FormatCodes, TransactionStatus};
use pgwire::types::{Schema, Type};
use rusqlite::types::Value;

use super::SqliteSession;
use super::describe::{self, Prepared};
use super::engine::{Run, Source, Window};
use super::sql::{Tok, Token, ident_value, significant};

/// `DECLARE name ... CURSOR ... FOR query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclareCursor {
    name: String,
    /// `NO SCROLL`: backward moves are refused.
    no_scroll: bool,
    hold: bool,
    query: String,
}

/// Where a FETCH or MOVE goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// `NEXT`, `n`, `FORWARD [n]`, `ALL`, `FORWARD ALL` (`None`).
    Forward(Option<u64>),
    /// `PRIOR`, `-n`, `BACKWARD [n]`, `BACKWARD ALL` (`None`).
    Backward(Option<u64>),
    /// `FIRST`, `LAST` (-1), `ABSOLUTE n`.
    Absolute(i64),
    /// `RELATIVE n`.
    Relative(i64),
}

/// `FETCH` or `MOVE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchCursor {
    name: String,
    direction: Direction,
    /// `MOVE`: the position changes, no rows are sent.
    only_move: bool,
}

fn syntax_error(what: &str) -> ErrorInfo {
    ErrorInfo::new(SqlState::SYNTAX_ERROR, format!("syntax error in {what}"))
}

fn no_cursor(name: &str) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INVALID_CURSOR_NAME,
        format!("cursor \"{name}\" does not exist"),
    )
}

impl FetchCursor {
    /// The cursor's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `MOVE` rather than `FETCH`.
    pub fn only_move(&self) -> bool {
        self.only_move
    }
}

/// Parses `DECLARE`.
pub fn parse_declare(text: &str) -> Result<DeclareCursor, ErrorInfo> {
    let toks = significant(text);
    let name = toks
        .get(1)
        .filter(|t| matches!(t.kind, Tok::Word | Tok::QuotedIdent))
        .map(ident_value)
        .ok_or_else(|| syntax_error("DECLARE"))?;
    let mut no_scroll = false;
    let mut hold = false;
    let mut i = 2;
    let mut seen_cursor = false;
    while let Some(t) = toks.get(i) {
        if t.is_word("for") && seen_cursor {
            let query = text[t.start + t.text.len()..].trim();
            if query.is_empty() {
                return Err(syntax_error("DECLARE"));
            }
            return Ok(DeclareCursor {
                name,
                no_scroll,
                hold,
                query: query.to_owned(),
            });
        }
        if t.is_word("cursor") {
            seen_cursor = true;
        } else if t.is_word("no") && toks.get(i + 1).is_some_and(|n| n.is_word("scroll")) {
            no_scroll = true;
            i += 1;
        } else if t.is_word("with") && toks.get(i + 1).is_some_and(|n| n.is_word("hold")) {
            hold = true;
            i += 1;
        } else if ![
            "binary",
            "asensitive",
            "insensitive",
            "scroll",
            "without",
            "hold",
        ]
        .iter()
        .any(|w| t.is_word(w))
        {
            return Err(syntax_error("DECLARE"));
        }
        i += 1;
    }
    Err(syntax_error("DECLARE"))
}

/// A count, or `ALL` (`None`), at `toks[i]`.
fn count_at(toks: &[Token<'_>], i: usize) -> Option<Option<u64>> {
    let t = toks.get(i)?;
    if t.is_word("all") {
        return Some(None);
    }
    (t.kind == Tok::Number)
        .then(|| t.text.parse().ok())?
        .map(Some)
}

/// A signed number at `toks[i..]` (`-3` is two tokens), and how many
/// tokens it took.
fn signed_at(toks: &[Token<'_>], i: usize) -> Option<(i64, usize)> {
    let t = toks.get(i)?;
    if t.kind == Tok::Op && matches!(t.text, "-" | "+") {
        let n: i64 = toks
            .get(i + 1)
            .filter(|n| n.kind == Tok::Number)?
            .text
            .parse()
            .ok()?;
        return Some((if t.text == "-" { -n } else { n }, 2));
    }
    (t.kind == Tok::Number).then(|| t.text.parse().ok().map(|n| (n, 1)))?
}

/// Parses `FETCH` (or `MOVE`, `only_move`).
pub fn parse_fetch(text: &str, only_move: bool) -> Result<FetchCursor, ErrorInfo> {
    let what = if only_move { "MOVE" } else { "FETCH" };
    let toks = significant(text);
    let mut i = 1;
    let word = |i: usize| toks.get(i).map(|t| t.text.to_ascii_lowercase());
    let direction = match word(i).as_deref() {
        Some("next") => {
            i += 1;
            Direction::Forward(Some(1))
        }
        Some("prior") => {
            i += 1;
            Direction::Backward(Some(1))
        }
        Some("first") => {
            i += 1;
            Direction::Absolute(1)
        }
        Some("last") => {
            i += 1;
            Direction::Absolute(-1)
        }
        Some("all") => {
            i += 1;
            Direction::Forward(None)
        }
        Some(w @ ("absolute" | "relative")) => {
            let (n, used) = signed_at(&toks, i + 1).ok_or_else(|| syntax_error(what))?;
            i += 1 + used;
            if w == "absolute" {
                Direction::Absolute(n)
            } else {
                Direction::Relative(n)
            }
        }
        Some(w @ ("forward" | "backward")) => {
            let count = count_at(&toks, i + 1);
            i += 1 + usize::from(count.is_some());
            let n = count.unwrap_or(Some(1));
            if w == "forward" {
                Direction::Forward(n)
            } else {
                Direction::Backward(n)
            }
        }
        _ => match signed_at(&toks, i) {
            Some((n, used)) => {
                i += used;
                if n < 0 {
                    Direction::Backward(Some(n.unsigned_abs()))
                } else {
                    Direction::Forward(Some(n as u64))
                }
            }
            None => Direction::Forward(Some(1)),
        },
    };
    if toks
        .get(i)
        .is_some_and(|t| t.is_word("from") || t.is_word("in"))
    {
        i += 1;
    }
    let name = toks
        .get(i)
        .filter(|t| matches!(t.kind, Tok::Word | Tok::QuotedIdent))
        .map(ident_value)
        .ok_or_else(|| syntax_error(what))?;
    if toks.len() > i + 1 {
        return Err(syntax_error(what));
    }
    Ok(FetchCursor {
        name,
        direction,
        only_move,
    })
}

/// Parses `CLOSE name` / `CLOSE ALL` (`None`).
pub fn parse_close(text: &str) -> Result<Option<String>, ErrorInfo> {
    let toks = significant(text);
    match toks.get(1) {
        Some(t) if t.kind == Tok::Word && t.is_word("all") && toks.len() == 2 => Ok(None),
        Some(t) if matches!(t.kind, Tok::Word | Tok::QuotedIdent) && toks.len() == 2 => {
            Ok(Some(ident_value(t)))
        }
        _ => Err(syntax_error("CLOSE")),
    }
}

/// An open cursor.
#[derive(Debug)]
struct Cursor {
    name: String,
    prepared: Arc<Prepared>,
    rows: u64,
    position: u64,
    no_scroll: bool,
    /// `WITH HOLD`: the temporary table holding its rows.
    held_in: Option<String>,
    /// Declared in the current transaction block (a rollback removes it).
    in_block: bool,
    /// The values of the query's `$n`, bound at each FETCH.
    params: Vec<Value>,
    /// Its number in the order of DECLAREs (a rollback to a savepoint set
    /// before it removes it).
    declared: u64,
}

/// The session's open cursors (a handful: a linear search).
#[derive(Debug, Default)]
pub struct Cursors {
    open: Vec<Cursor>,
    /// Numbers the temporary tables of `WITH HOLD` cursors.
    tables_made: u64,
    /// DECLAREs so far in the session.
    declares: u64,
    /// The open savepoints of the block, with the DECLAREs before each.
    savepoints: Vec<(String, u64)>,
}

impl Cursors {
    /// The transaction block ended: its cursors are gone, except the
    /// `WITH HOLD` ones of a block that `committed`.
    pub fn end_transaction(&mut self, committed: bool) {
        self.open
            .retain(|c| c.held_in.is_some() && (committed || !c.in_block));
        for c in &mut self.open {
            c.in_block = false;
        }
        self.savepoints.clear();
    }

    /// `SAVEPOINT name`.
    pub fn savepoint(&mut self, name: &str) {
        self.savepoints.push((name.to_owned(), self.declares));
    }

    /// `RELEASE name`: it and the savepoints after it are gone.
    pub fn release(&mut self, name: &str) {
        if let Some(k) = self.savepoints.iter().rposition(|(n, _)| n == name) {
            self.savepoints.truncate(k);
        }
    }

    /// `ROLLBACK TO name`: the cursors declared after it are gone (a
    /// `WITH HOLD` one's table too, with SQLite's rollback); the
    /// savepoint stays.
    pub fn rollback_to(&mut self, name: &str) {
        let Some(k) = self.savepoints.iter().rposition(|(n, _)| n == name) else {
            return;
        };
        let before = self.savepoints[k].1;
        self.savepoints.truncate(k + 1);
        self.open.retain(|c| c.declared <= before);
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Cursor> {
        self.open.iter_mut().find(|c| c.name == name)
    }

    /// The columns a FETCH from `name` returns (the extended protocol's
    /// Describe).
    pub fn schema(&self, name: &str) -> Result<Option<Schema>, ErrorInfo> {
        self.open
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.prepared.schema.clone())
            .ok_or_else(|| no_cursor(name))
    }
}

/// What a FETCH or MOVE does from `position` over `rows` rows: the rows it
/// returns (a window), the new position and the count in its tag.
fn plan(
    position: u64,
    rows: u64,
    no_scroll: bool,
    direction: Direction,
) -> Result<(Option<Window>, u64, u64), ErrorInfo> {
    let backward = match direction {
        Direction::Backward(n) => n != Some(0),
        Direction::Absolute(k) => {
            let target = if k >= 0 {
                k as u64
            } else {
                (rows + 1).saturating_sub(k.unsigned_abs())
            };
            target < position
        }
        Direction::Relative(k) => k < 0,
        Direction::Forward(_) => false,
    };
    if backward && no_scroll {
        return Err(ErrorInfo::new(
            SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
            "cursor can only scan forward",
        )
        .with_hint("Declare it with SCROLL option to enable backward scan."));
    }
    // The row at `target`, or none past either end.
    let single = |target: i128| -> (Option<Window>, u64, u64) {
        if target < 1 {
            (None, 0, 0)
        } else if target as u128 > u128::from(rows) {
            (None, rows + 1, 0)
        } else {
            let t = target as u64;
            (
                Some(Window {
                    skip: t - 1,
                    take: 1,
                    reverse: false,
                }),
                t,
                1,
            )
        }
    };
    Ok(match direction {
        Direction::Forward(Some(0)) | Direction::Backward(Some(0)) => {
            // Re-fetches the current row, if on one.
            let (w, _, n) = single(i128::from(position));
            (w, position, n)
        }
        Direction::Forward(n) => {
            let available = rows.saturating_sub(position);
            let n = n.unwrap_or(u64::MAX);
            let take = n.min(available);
            let to = if n > available {
                rows + 1
            } else {
                position + n
            };
            let window = Window {
                skip: position.min(rows),
                take,
                reverse: false,
            };
            (Some(window), to, take)
        }
        Direction::Backward(n) => {
            let last = position.saturating_sub(1).min(rows);
            let n = n.unwrap_or(u64::MAX);
            let take = n.min(last);
            let to = if n > last {
                0
            } else {
                position.min(rows + 1) - n
            };
            let window = Window {
                skip: last - take,
                take,
                reverse: true,
            };
            (Some(window), to, take)
        }
        Direction::Absolute(k) => {
            let target = if k >= 0 {
                i128::from(k)
            } else {
                i128::from(rows) + 1 + i128::from(k)
            };
            single(target)
        }
        Direction::Relative(k) => single(i128::from(position) + i128::from(k)),
    })
}

impl SqliteSession {
    /// The parameter types of a DECLARE's query (the extended protocol's
    /// Parse; `declared`: the types the client gave).
    pub(super) async fn declare_param_types(
        &mut self,
        declare: &DeclareCursor,
        declared: Vec<Option<Type>>,
    ) -> Result<Vec<Type>, ErrorInfo> {
        let query = declare.query.clone();
        self.engine
            .call(None, move |db| {
                describe::prepare(&db.conn, &query, &declared).map(|p| p.params)
            })
            .await?
    }

    /// `DECLARE`: prepares the query and counts its rows. `params`: the
    /// values bound to its `$n` (extended protocol), of types `types`.
    pub(super) async fn declare_cursor(
        &mut self,
        session: &mut Session,
        declare: &DeclareCursor,
        params: Vec<Value>,
        types: Vec<Type>,
    ) -> Response {
        let in_block = session.transaction_status() != TransactionStatus::Idle;
        if !in_block && !declare.hold {
            return ErrorInfo::new(
                SqlState::NO_ACTIVE_SQL_TRANSACTION,
                "DECLARE CURSOR can only be used in transaction blocks",
            )
            .into();
        }
        if self.cursors.get_mut(&declare.name).is_some() {
            return ErrorInfo::new(
                SqlState::DUPLICATE_CURSOR,
                format!("cursor \"{}\" already exists", declare.name),
            )
            .into();
        }
        let query = declare.query.clone();
        let held_in = declare.hold.then(|| {
            self.cursors.tables_made += 1;
            format!("_pgwire_cursor_{}", self.cursors.tables_made)
        });
        let table = held_in.clone();
        let cancel = session.cancel_token();
        let prepared = self
            .engine
            .call(Some(&cancel), move |db| {
                let declared: Vec<Option<Type>> = types.into_iter().map(Some).collect();
                let mut prepared = describe::prepare(&db.conn, &query, &declared)?;
                if prepared.params.len() != params.len() {
                    describe::check_no_params(&prepared)?;
                }
                let mut params = params;
                if prepared.columns.is_empty() {
                    return Err(ErrorInfo::new(
                        SqlState::INVALID_CURSOR_DEFINITION,
                        "cannot open a query that returns no rows as a cursor",
                    ));
                }
                let with_params = |sql: &str, params: &[Value]| -> Result<i64, ErrorInfo> {
                    let mut stmt = db.conn.prepare(sql).map_err(|e| db.error(&e))?;
                    for (i, v) in params.iter().enumerate() {
                        stmt.raw_bind_parameter(i + 1, v)
                            .map_err(|e| db.error(&e))?;
                    }
                    let mut rows = stmt.raw_query();
                    let row = rows.next().map_err(|e| db.error(&e))?;
                    Ok(row.and_then(|r| r.get(0).ok()).unwrap_or(0))
                };
                if let Some(table) = &table {
                    // The rows now, kept beyond the transaction; read back
                    // in the order they were written.
                    with_params(
                        &format!(
                            "CREATE TEMP TABLE \"{table}\" AS SELECT * FROM ({})",
                            prepared.sql
                        ),
                        &params,
                    )?;
                    // Its FETCHes read the table: no parameters any more.
                    prepared.sql = format!("SELECT * FROM temp.\"{table}\" ORDER BY rowid");
                    prepared.params.clear();
                    params.clear();
                }
                // Also takes the transaction's snapshot the FETCHes read.
                let rows =
                    with_params(&format!("SELECT count(*) FROM ({})", prepared.sql), &params)?;
                Ok((prepared, rows, params))
            })
            .await
            .and_then(|r| r);
        match prepared {
            Ok((prepared, rows, params)) => {
                self.cursors.open.push(Cursor {
                    name: declare.name.clone(),
                    prepared: Arc::new(prepared),
                    rows: u64::try_from(rows).unwrap_or(0),
                    position: 0,
                    no_scroll: declare.no_scroll,
                    held_in,
                    in_block,
                    params,
                    declared: {
                        self.cursors.declares += 1;
                        self.cursors.declares
                    },
                });
                Tag::new("DECLARE CURSOR").into()
            }
            Err(e) => e.into(),
        }
    }

    /// `FETCH` (rows in `formats`) or `MOVE`.
    pub(super) async fn fetch_cursor(
        &mut self,
        session: &mut Session,
        fetch: &FetchCursor,
        formats: FormatCodes,
    ) -> Response {
        let Some(cursor) = self.cursors.get_mut(&fetch.name) else {
            return no_cursor(&fetch.name).into();
        };
        let (window, to, count) = match plan(
            cursor.position,
            cursor.rows,
            cursor.no_scroll,
            fetch.direction,
        ) {
            Ok(p) => p,
            Err(e) => return e.into(),
        };
        cursor.position = to;
        if fetch.only_move {
            return Tag::new("MOVE").with_rows(count).into();
        }
        let run = Run {
            source: Source::Prepared(cursor.prepared.clone()),
            params: cursor.params.clone(),
            formats,
            stream: false,
            begin_implicit: false,
            commit_implicit: false,
            settings: session.format_settings().clone(),
            window: Some(window.unwrap_or(Window {
                skip: 0,
                take: 0,
                reverse: false,
            })),
        };
        let cancel = session.cancel_token();
        self.run_sql(&cancel, run).await
    }

    /// `CLOSE name` / `CLOSE ALL`.
    pub(super) async fn close_cursor(&mut self, name: Option<&str>) -> Response {
        let (closed, tag) = match name {
            None => (std::mem::take(&mut self.cursors.open), "CLOSE CURSOR ALL"),
            Some(n) => match self.cursors.open.iter().position(|c| c.name == n) {
                Some(k) => (vec![self.cursors.open.remove(k)], "CLOSE CURSOR"),
                None => return no_cursor(n).into(),
            },
        };
        let tables: Vec<String> = closed.into_iter().filter_map(|c| c.held_in).collect();
        if !tables.is_empty() {
            let dropped = self
                .engine
                .call(None, move |db| {
                    for t in &tables {
                        db.batch(&format!("DROP TABLE IF EXISTS temp.\"{t}\""))?;
                    }
                    Ok::<_, ErrorInfo>(())
                })
                .await
                .and_then(|r| r);
            if let Err(e) = dropped {
                return e.into();
            }
        }
        Tag::new(tag).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_psql_and_psycopg_send() {
        let d = parse_declare("DECLARE _psql_cursor NO SCROLL CURSOR FOR\nselect 1").unwrap();
        assert_eq!(
            (d.name.as_str(), d.no_scroll, d.hold),
            ("_psql_cursor", true, false)
        );
        assert_eq!(d.query, "select 1");
        let d = parse_declare("DECLARE \"X\" SCROLL CURSOR WITH HOLD FOR SELECT 2").unwrap();
        assert_eq!((d.name.as_str(), d.no_scroll, d.hold), ("X", false, true));
        assert!(parse_declare("DECLARE c FOR SELECT 1").is_err());
        let f = |s: &str| parse_fetch(s, false).map(|f| (f.name, f.direction));
        assert_eq!(
            f("FETCH FORWARD 100 FROM _psql_cursor").unwrap(),
            ("_psql_cursor".into(), Direction::Forward(Some(100)))
        );
        assert_eq!(f("fetch c").unwrap().1, Direction::Forward(Some(1)));
        assert_eq!(f("FETCH ALL IN c").unwrap().1, Direction::Forward(None));
        assert_eq!(
            f("FETCH -2 FROM c").unwrap().1,
            Direction::Backward(Some(2))
        );
        assert_eq!(f("FETCH ABSOLUTE -1 c").unwrap().1, Direction::Absolute(-1));
        assert_eq!(
            f("FETCH BACKWARD ALL c").unwrap().1,
            Direction::Backward(None)
        );
        assert!(f("FETCH FORWARD 1 FROM c junk").is_err());
        assert_eq!(parse_close("CLOSE ALL").unwrap(), None);
        assert_eq!(parse_close("close c").unwrap().as_deref(), Some("c"));
    }

    #[test]
    fn positions_follow_postgres() {
        let p = |pos, dir| {
            plan(pos, 5, false, dir)
                .map(|(w, to, n)| (w.map(|w| (w.skip, w.take, w.reverse)), to, n))
        };
        assert_eq!(
            p(0, Direction::Forward(Some(2))).unwrap(),
            (Some((0, 2, false)), 2, 2)
        );
        assert_eq!(
            p(4, Direction::Forward(Some(2))).unwrap(),
            (Some((4, 1, false)), 6, 1)
        );
        assert_eq!(
            p(6, Direction::Forward(None)).unwrap(),
            (Some((5, 0, false)), 6, 0)
        );
        assert_eq!(
            p(6, Direction::Backward(Some(2))).unwrap(),
            (Some((3, 2, true)), 4, 2)
        );
        assert_eq!(
            p(2, Direction::Backward(None)).unwrap(),
            (Some((0, 1, true)), 0, 1)
        );
        assert_eq!(
            p(0, Direction::Absolute(-1)).unwrap(),
            (Some((4, 1, false)), 5, 1)
        );
        assert_eq!(p(3, Direction::Relative(9)).unwrap(), (None, 6, 0));
        assert!(plan(3, 5, true, Direction::Backward(Some(1))).is_err());
    }
}
