//! What handlers answer with: [`Response`], [`QueryResponse`], [`Tag`] and
//! [`StatementDescription`].

use std::borrow::Cow;

use bytes::BytesMut;

use super::copy::{CopyBoth, CopyIn, CopyOut};
use super::rows::Rows;
use crate::error::ErrorInfo;
use crate::messages::CommandComplete;
use crate::types::{Schema, Type};

/// A command tag, sent in CommandComplete: the command name, then for
/// `INSERT` an OID (always 0 nowadays), then a row count where the command
/// has one. `Tag::new("INSERT").with_oid(0).with_rows(1)` is `INSERT 0 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    command: Cow<'static, str>,
    oid: Option<u32>,
    rows: Option<u64>,
}

impl Tag {
    /// A tag with just a command name (`CREATE TABLE`, `BEGIN`, `SET`).
    pub fn new(command: impl Into<Cow<'static, str>>) -> Self {
        Tag {
            command: command.into(),
            oid: None,
            rows: None,
        }
    }

    /// Adds a row count (`UPDATE 3`).
    pub fn with_rows(mut self, rows: u64) -> Self {
        self.rows = Some(rows);
        self
    }

    /// Adds an OID (only `INSERT` has one, always 0 in PostgreSQL 12+).
    pub fn with_oid(mut self, oid: u32) -> Self {
        self.oid = Some(oid);
        self
    }

    /// `INSERT 0 rows`.
    pub fn insert(rows: u64) -> Self {
        Tag::new("INSERT").with_oid(0).with_rows(rows)
    }

    /// `SELECT rows`.
    pub fn select(rows: u64) -> Self {
        Tag::new("SELECT").with_rows(rows)
    }

    /// `UPDATE rows`.
    pub fn update(rows: u64) -> Self {
        Tag::new("UPDATE").with_rows(rows)
    }

    /// `DELETE rows`.
    pub fn delete(rows: u64) -> Self {
        Tag::new("DELETE").with_rows(rows)
    }

    /// The command name.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The row count, if any.
    pub fn rows(&self) -> Option<u64> {
        self.rows
    }

    /// The tag of a statement that returns rows, with PostgreSQL's fields
    /// for `command`: `INSERT` gets the `0` OID before the count, `SHOW`
    /// and `EXPLAIN` get no count, every other command a count. The count
    /// is the number of rows the server sends (see
    /// [`QueryResponse::with_tag`]).
    pub fn counting(command: impl Into<Cow<'static, str>>) -> Self {
        let tag = Tag::new(command);
        match &*tag.command {
            "INSERT" => tag.with_oid(0).with_rows(0),
            "SHOW" | "EXPLAIN" => tag,
            _ => tag.with_rows(0),
        }
    }

    /// Appends a CommandComplete message carrying this tag.
    pub(crate) fn encode(&self, buf: &mut BytesMut) {
        CommandComplete::encode_parts(buf, &self.command, self.oid, self.rows);
    }

    /// Appends a CommandComplete message carrying this tag with its row
    /// count (if it has one) replaced by `rows`.
    #[inline]
    pub(crate) fn encode_with_rows(&self, buf: &mut BytesMut, rows: u64) {
        CommandComplete::encode_parts(buf, &self.command, self.oid, self.rows.map(|_| rows));
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.command)?;
        if let Some(oid) = self.oid {
            write!(f, " {oid}")?;
        }
        if let Some(rows) = self.rows {
            write!(f, " {rows}")?;
        }
        Ok(())
    }
}

/// Rows for the client: the columns and a source of rows.
///
/// The command tag is `SELECT n` by default, n counted by the server as
/// rows are sent; [`QueryResponse::with_tag`] changes it for statements
/// that return rows but are not SELECTs (`INSERT ... RETURNING` gives
/// `INSERT 0 n`, `FETCH`, `SHOW`...).
pub struct QueryResponse {
    pub(crate) schema: Schema,
    pub(crate) rows: Rows,
    pub(crate) tag: Tag,
}

impl QueryResponse {
    /// A result with columns `schema` and rows from `rows`.
    pub fn new(schema: Schema, rows: Rows) -> Self {
        QueryResponse {
            schema,
            rows,
            tag: Tag::select(0),
        }
    }

    /// Sets the command tag. Its row count, if it has one, is replaced by
    /// the number of rows sent: `Tag::counting("INSERT")` ends as
    /// `INSERT 0 n`, `Tag::new("SHOW")` as `SHOW`.
    pub fn with_tag(mut self, tag: Tag) -> Self {
        self.tag = tag;
        self
    }

    /// The command tag (its row count is filled in as rows are sent).
    pub fn tag(&self) -> &Tag {
        &self.tag
    }

    /// The columns.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

impl std::fmt::Debug for QueryResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryResponse")
            .field("schema", &self.schema)
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

/// The answer to one statement.
#[derive(Debug)]
#[non_exhaustive]
pub enum Response {
    /// Rows (RowDescription, DataRows, CommandComplete).
    Query(QueryResponse),
    /// A statement without rows (CommandComplete with its tag).
    Execution(Tag),
    /// The query string was empty (EmptyQueryResponse).
    EmptyQuery,
    /// The statement failed. In a multi-statement query, later statements
    /// are not run; inside a transaction block (see
    /// [`Session::set_transaction_status`](super::Session::set_transaction_status))
    /// the server marks the transaction failed.
    Error(ErrorInfo),
    /// COPY FROM STDIN: the client sends data, handled by
    /// [`CopyHandler`](super::CopyHandler).
    CopyIn(CopyIn),
    /// COPY TO STDOUT: data flows to the client.
    CopyOut(CopyOut),
    /// COPY in both directions (replication).
    CopyBoth(CopyBoth),
}

impl From<ErrorInfo> for Response {
    fn from(e: ErrorInfo) -> Self {
        Response::Error(e)
    }
}

impl From<QueryResponse> for Response {
    fn from(q: QueryResponse) -> Self {
        Response::Query(q)
    }
}

impl From<Tag> for Response {
    fn from(t: Tag) -> Self {
        Response::Execution(t)
    }
}

/// What Describe of a statement answers: the parameter types
/// (ParameterDescription) and the result columns (RowDescription), or no
/// columns (NoData) for statements that return no rows.
#[derive(Debug, Clone, Default)]
pub struct StatementDescription {
    /// One type per parameter (`$1`, `$2`, ...).
    pub parameters: Vec<Type>,
    /// The result columns; `None` if the statement returns no rows.
    pub fields: Option<Schema>,
}

impl StatementDescription {
    /// A description with `parameters` and result columns `fields`.
    pub fn new(parameters: Vec<Type>, fields: Option<Schema>) -> Self {
        StatementDescription { parameters, fields }
    }
}
