//! The extended query protocol: prepared statements, Bind with `ToSql`
//! parameters, Execute with row limits, portals, Describe, Close.

use std::sync::Arc;

use postgres_types::{ToSql, Type};

use super::connection::Client;
use super::encode;
use super::error::{DbError, Error};
use super::row::{Column, Row, columns_of, type_of_oid};
use crate::messages::BackendMessage;

/// The format results come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Text: what psql shows.
    Text,
    /// Binary: what `FromSql` reads (the default).
    #[default]
    Binary,
}

impl Format {
    pub(crate) fn code(self) -> i16 {
        match self {
            Format::Text => 0,
            Format::Binary => 1,
        }
    }
}

#[derive(Debug)]
struct StatementInner {
    name: String,
    params: Vec<Type>,
    /// As described (format 0, the same as `text`).
    columns: Vec<Column>,
    /// The columns as rows carry them, one shared list per result format:
    /// a query takes a reference, not a copy of every name and type.
    text: Arc<[Column]>,
    binary: Arc<[Column]>,
}

/// A prepared statement: its name on the server, parameter types and
/// result columns. Cheap to clone. Closed with
/// [`Client::close_statement`] (or at the end of the session).
#[derive(Debug, Clone)]
pub struct Statement(Arc<StatementInner>);

impl Statement {
    /// The name on the server (empty for the unnamed statement).
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The parameter types.
    pub fn params(&self) -> &[Type] {
        &self.0.params
    }

    /// The result columns (empty for statements without rows).
    pub fn columns(&self) -> &[Column] {
        &self.0.columns
    }

    pub(crate) fn columns_in(&self, format: Format) -> Arc<[Column]> {
        match format {
            Format::Text => self.0.text.clone(),
            Format::Binary => self.0.binary.clone(),
        }
    }
}

/// A named portal (a cursor over a bound statement), for reading a result
/// in batches with [`Client::execute_portal`]. Lives until the end of the
/// transaction: use it inside `BEGIN`...`COMMIT`.
#[derive(Debug, Clone)]
pub struct Portal {
    name: String,
    columns: Arc<[Column]>,
}

impl Portal {
    /// The name on the server.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The result columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }
}

/// Rows and the command tag of one statement.
#[derive(Debug, Default)]
pub struct QueryResult {
    /// The rows.
    pub rows: Vec<Row>,
    /// The command tag.
    pub tag: String,
}

impl QueryResult {
    /// The row count of the tag (`INSERT 0 5` → 5), 0 if it has none.
    pub fn rows_affected(&self) -> u64 {
        rows_of_tag(&self.tag)
    }
}

pub(crate) fn rows_of_tag(tag: &str) -> u64 {
    tag.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The rows of a query, read from the connection as the caller asks for
/// them: the server's output waits in the socket (TCP flow control) while
/// the caller is busy, so memory holds one read buffer, not the result.
/// Dropping the stream early is fine: the rest is skipped before the next
/// request.
pub struct RowStream<'a> {
    client: &'a mut Client,
    columns: Arc<[Column]>,
    tag: Option<String>,
    suspended: bool,
    done: bool,
}

impl RowStream<'_> {
    /// The next row; `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Row>, Error> {
        if self.done {
            return Ok(None);
        }
        if let Some(values) = self.client.take_data_row()? {
            return Ok(Some(Row {
                columns: self.columns.clone(),
                values,
            }));
        }
        loop {
            match self.client.recv().await? {
                BackendMessage::DataRow(r) => {
                    return Ok(Some(Row {
                        columns: self.columns.clone(),
                        values: r.values,
                    }));
                }
                BackendMessage::ParseComplete(_) | BackendMessage::BindComplete(_) => {}
                BackendMessage::CommandComplete(c) => self.tag = Some(c.tag.as_str().to_owned()),
                BackendMessage::EmptyQueryResponse(_) => self.tag = Some(String::new()),
                BackendMessage::PortalSuspended(_) => self.suspended = true,
                BackendMessage::ReadyForQuery(_) => {
                    self.done = true;
                    return Ok(None);
                }
                BackendMessage::ErrorResponse(e) => {
                    self.done = true;
                    // Boxed: keeps this per-row future small.
                    return Err(Box::pin(self.client.fail(DbError::from_fields(&e.0))).await);
                }
                other => {
                    self.done = true;
                    return Err(self.client.unexpected(&other, "a query"));
                }
            }
        }
    }

    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The command tag, once the stream has ended.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The rows affected per the tag, once the stream has ended.
    pub fn rows_affected(&self) -> u64 {
        self.tag.as_deref().map(rows_of_tag).unwrap_or(0)
    }

    /// Did the portal stop at the row limit (more rows to fetch)?
    pub fn is_suspended(&self) -> bool {
        self.suspended
    }

    /// Reads every remaining row into a vector.
    pub async fn collect(mut self) -> Result<QueryResult, Error> {
        let mut rows = Vec::new();
        while let Some(r) = self.next().await? {
            rows.push(r);
        }
        Ok(QueryResult {
            rows,
            tag: self.tag.unwrap_or_default(),
        })
    }
}

/// Parameters: any `ToSql` values.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Client {
    /// Prepares a named statement; parameter types are inferred by the
    /// server.
    pub async fn prepare(&mut self, sql: &str) -> Result<Statement, Error> {
        self.prepare_typed(sql, &[]).await
    }

    /// Prepares a named statement with the given parameter types (the rest
    /// inferred).
    pub async fn prepare_typed(&mut self, sql: &str, types: &[Type]) -> Result<Statement, Error> {
        self.next_statement_id += 1;
        let name = format!("pgwire_s{}", self.next_statement_id);
        self.prepare_named(&name, sql, types).await
    }

    /// Prepares a statement under a name of the caller's choice (`""` is
    /// the unnamed statement, replaced by the next unnamed Parse).
    pub async fn prepare_named(
        &mut self,
        name: &str,
        sql: &str,
        types: &[Type],
    ) -> Result<Statement, Error> {
        self.drain().await?;
        encode::parse(&mut self.write_buf, name, sql, types)?;
        encode::describe(&mut self.write_buf, b'S', name)?;
        encode::sync(&mut self.write_buf);
        self.pending_ready += 1;
        self.flush().await?;
        let mut params = Vec::new();
        let mut columns = Vec::new();
        loop {
            match self.recv().await? {
                BackendMessage::ParseComplete(_) => {}
                BackendMessage::ParameterDescription(p) => {
                    params = p.types.iter().map(|&o| type_of_oid(o)).collect()
                }
                BackendMessage::RowDescription(d) => columns = columns_of(&d, Some(0)).to_vec(),
                BackendMessage::NoData(_) => {}
                BackendMessage::ReadyForQuery(_) => break,
                BackendMessage::ErrorResponse(e) => {
                    return Err(self.fail(DbError::from_fields(&e.0)).await);
                }
                other => return Err(self.unexpected(&other, "Parse/Describe")),
            }
        }
        let in_format = |format: Format| -> Arc<[Column]> {
            columns
                .iter()
                .map(|c| Column {
                    format: format.code(),
                    ..c.clone()
                })
                .collect()
        };
        Ok(Statement(Arc::new(StatementInner {
            name: name.to_owned(),
            params,
            text: in_format(Format::Text),
            binary: in_format(Format::Binary),
            columns,
        })))
    }

    /// Binds and executes a prepared statement; rows arrive as the stream
    /// is read. `max_rows` 0 means all rows.
    pub async fn query_stream_with(
        &mut self,
        statement: &Statement,
        params: Params<'_>,
        format: Format,
        max_rows: i32,
    ) -> Result<RowStream<'_>, Error> {
        self.drain().await?;
        encode::bind(
            &mut self.write_buf,
            "",
            statement.name(),
            statement.params(),
            params,
            format.code(),
        )?;
        encode::execute(&mut self.write_buf, "", max_rows)?;
        encode::sync(&mut self.write_buf);
        self.pending_ready += 1;
        self.flush().await?;
        Ok(RowStream {
            columns: statement.columns_in(format),
            client: self,
            tag: None,
            suspended: false,
            done: false,
        })
    }

    /// [`query_stream_with`](Self::query_stream_with) in binary, all rows.
    pub async fn query_stream(
        &mut self,
        statement: &Statement,
        params: Params<'_>,
    ) -> Result<RowStream<'_>, Error> {
        self.query_stream_with(statement, params, Format::Binary, 0)
            .await
    }

    /// Runs a prepared statement and returns all its rows (binary).
    pub async fn query(
        &mut self,
        statement: &Statement,
        params: Params<'_>,
    ) -> Result<Vec<Row>, Error> {
        Ok(self
            .query_stream(statement, params)
            .await?
            .collect()
            .await?
            .rows)
    }

    /// Prepares `sql` as the unnamed statement and runs it (two round
    /// trips: the parameter types must be known to encode the values).
    pub async fn query_sql(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        let st = self.prepare_named("", sql, &[]).await?;
        self.query(&st, params).await
    }

    /// Runs a prepared statement; returns the rows affected.
    pub async fn execute(
        &mut self,
        statement: &Statement,
        params: Params<'_>,
    ) -> Result<u64, Error> {
        let mut s = self.query_stream(statement, params).await?;
        while s.next().await?.is_some() {}
        Ok(s.rows_affected())
    }

    /// Runs `sql` through the extended protocol without parameters in one
    /// round trip (Parse, Bind, Describe, Execute, Sync), rows in `format`.
    pub async fn query_unprepared(
        &mut self,
        sql: &str,
        format: Format,
    ) -> Result<QueryResult, Error> {
        self.drain().await?;
        encode::parse(&mut self.write_buf, "", sql, &[])?;
        encode::bind(&mut self.write_buf, "", "", &[], &[], format.code())?;
        encode::describe(&mut self.write_buf, b'P', "")?;
        encode::execute(&mut self.write_buf, "", 0)?;
        encode::sync(&mut self.write_buf);
        self.pending_ready += 1;
        self.flush().await?;
        let columns: Arc<[Column]>;
        loop {
            match self.recv().await? {
                BackendMessage::ParseComplete(_)
                | BackendMessage::BindComplete(_)
                | BackendMessage::NoData(_) => {}
                BackendMessage::RowDescription(d) => {
                    columns = columns_of(&d, None);
                    break;
                }
                BackendMessage::CommandComplete(c) => {
                    let tag = c.tag.as_str().to_owned();
                    self.drain().await?;
                    return Ok(QueryResult {
                        rows: Vec::new(),
                        tag,
                    });
                }
                BackendMessage::EmptyQueryResponse(_) => {
                    self.drain().await?;
                    return Ok(QueryResult::default());
                }
                BackendMessage::ErrorResponse(e) => {
                    return Err(self.fail(DbError::from_fields(&e.0)).await);
                }
                other => return Err(self.unexpected(&other, "a query")),
            }
        }
        RowStream {
            client: self,
            columns,
            tag: None,
            suspended: false,
            done: false,
        }
        .collect()
        .await
    }

    /// Binds a named portal (inside a transaction block: Sync ends an
    /// implicit transaction and its portals).
    pub async fn bind(
        &mut self,
        statement: &Statement,
        params: Params<'_>,
        format: Format,
    ) -> Result<Portal, Error> {
        self.drain().await?;
        self.next_statement_id += 1;
        let name = format!("pgwire_p{}", self.next_statement_id);
        encode::bind(
            &mut self.write_buf,
            &name,
            statement.name(),
            statement.params(),
            params,
            format.code(),
        )?;
        encode::sync(&mut self.write_buf);
        self.pending_ready += 1;
        self.flush().await?;
        loop {
            match self.recv().await? {
                BackendMessage::BindComplete(_) => {}
                BackendMessage::ReadyForQuery(_) => break,
                BackendMessage::ErrorResponse(e) => {
                    return Err(self.fail(DbError::from_fields(&e.0)).await);
                }
                other => return Err(self.unexpected(&other, "Bind")),
            }
        }
        Ok(Portal {
            name,
            columns: statement.columns_in(format),
        })
    }

    /// Executes a portal for at most `max_rows` rows (0 = all). The stream's
    /// [`is_suspended`](RowStream::is_suspended) says whether more remain.
    pub async fn execute_portal(
        &mut self,
        portal: &Portal,
        max_rows: i32,
    ) -> Result<RowStream<'_>, Error> {
        self.drain().await?;
        encode::execute(&mut self.write_buf, &portal.name, max_rows)?;
        encode::sync(&mut self.write_buf);
        self.pending_ready += 1;
        self.flush().await?;
        Ok(RowStream {
            columns: portal.columns.clone(),
            client: self,
            tag: None,
            suspended: false,
            done: false,
        })
    }

    /// Describes a portal: its columns (as they will arrive).
    pub async fn describe_portal(&mut self, portal: &Portal) -> Result<Vec<Column>, Error> {
        self.drain().await?;
        encode::describe(&mut self.write_buf, b'P', &portal.name)?;
        encode::sync(&mut self.write_buf);
        self.pending_ready += 1;
        self.flush().await?;
        let mut cols = Vec::new();
        loop {
            match self.recv().await? {
                BackendMessage::RowDescription(d) => cols = columns_of(&d, None).to_vec(),
                BackendMessage::NoData(_) => {}
                BackendMessage::ReadyForQuery(_) => return Ok(cols),
                BackendMessage::ErrorResponse(e) => {
                    return Err(self.fail(DbError::from_fields(&e.0)).await);
                }
                other => return Err(self.unexpected(&other, "Describe")),
            }
        }
    }

    async fn close_target(&mut self, kind: u8, name: &str) -> Result<(), Error> {
        self.drain().await?;
        encode::close(&mut self.write_buf, kind, name)?;
        encode::sync(&mut self.write_buf);
        self.pending_ready += 1;
        self.flush().await?;
        loop {
            match self.recv().await? {
                BackendMessage::CloseComplete(_) => {}
                BackendMessage::ReadyForQuery(_) => return Ok(()),
                BackendMessage::ErrorResponse(e) => {
                    return Err(self.fail(DbError::from_fields(&e.0)).await);
                }
                other => return Err(self.unexpected(&other, "Close")),
            }
        }
    }

    /// Closes a prepared statement on the server.
    pub async fn close_statement(&mut self, statement: &Statement) -> Result<(), Error> {
        self.close_target(b'S', statement.name()).await
    }

    /// Closes a portal.
    pub async fn close_portal(&mut self, portal: &Portal) -> Result<(), Error> {
        self.close_target(b'P', &portal.name).await
    }
}
