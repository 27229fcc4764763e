//! The simple query protocol: one Query message, possibly several
//! statements, each with its rows (text format) and command tag.

use std::sync::Arc;

use super::connection::Client;
use super::encode;
use super::error::Error;
use super::row::{Column, Row, columns_of};
use crate::messages::{BackendMessage, CopyFail, Message};

/// One answer of a simple query, as it arrives.
#[derive(Debug)]
#[non_exhaustive]
pub enum SimpleQueryMessage {
    /// A statement's columns (RowDescription): rows follow.
    Columns(Arc<[Column]>),
    /// A row of the current statement (text format).
    Row(Row),
    /// A statement finished with this command tag.
    CommandComplete(String),
    /// The query string was empty.
    EmptyQuery,
}

/// The whole result of one statement of a simple query.
#[derive(Debug, Default)]
pub struct SimpleQueryResult {
    /// The columns (empty for statements that return no rows).
    pub columns: Option<Arc<[Column]>>,
    /// The rows.
    pub rows: Vec<Row>,
    /// The command tag (`SELECT 2`, `INSERT 0 1`, ...); empty for an empty
    /// query.
    pub tag: String,
}

/// The answers of a simple query, read as the caller asks for them.
/// Dropping it early is fine: the rest is skipped before the next request.
pub struct SimpleQueryStream<'a> {
    client: &'a mut Client,
    columns: Option<Arc<[Column]>>,
    done: bool,
}

impl SimpleQueryStream<'_> {
    /// The next answer; `None` once the server is ready for the next query.
    pub async fn next(&mut self) -> Result<Option<SimpleQueryMessage>, Error> {
        if self.done {
            return Ok(None);
        }
        if let Some(columns) = &self.columns {
            if let Some(values) = self.client.take_data_row()? {
                return Ok(Some(SimpleQueryMessage::Row(Row {
                    columns: columns.clone(),
                    values,
                })));
            }
        }
        loop {
            match self.client.recv().await? {
                BackendMessage::RowDescription(d) => {
                    let cols = columns_of(&d, Some(0));
                    self.columns = Some(cols.clone());
                    return Ok(Some(SimpleQueryMessage::Columns(cols)));
                }
                BackendMessage::DataRow(r) => {
                    let Some(columns) = self.columns.clone() else {
                        return Err(Error::protocol("DataRow without RowDescription"));
                    };
                    return Ok(Some(SimpleQueryMessage::Row(Row {
                        columns,
                        values: r.values,
                    })));
                }
                BackendMessage::CommandComplete(c) => {
                    self.columns = None;
                    return Ok(Some(SimpleQueryMessage::CommandComplete(
                        c.tag.as_str().to_owned(),
                    )));
                }
                BackendMessage::EmptyQueryResponse(_) => {
                    return Ok(Some(SimpleQueryMessage::EmptyQuery));
                }
                BackendMessage::ReadyForQuery(_) => {
                    self.done = true;
                    return Ok(None);
                }
                BackendMessage::ErrorResponse(e) => {
                    self.done = true;
                    let e = crate::client::DbError::from_fields(&e.0);
                    // Boxed: keeps this per-row future small.
                    return Err(Box::pin(self.client.fail(e)).await);
                }
                BackendMessage::CopyInResponse(_) => {
                    // COPY FROM STDIN needs Client::copy_in; end it so the
                    // server reports the error and moves on.
                    CopyFail {
                        message: "COPY FROM STDIN is not supported by simple_query: use copy_in"
                            .into(),
                    }
                    .encode(&mut self.client.write_buf);
                    self.client.flush().await?;
                }
                BackendMessage::CopyOutResponse(_)
                | BackendMessage::CopyData(_)
                | BackendMessage::CopyDone(_) => {
                    // COPY TO STDOUT output is skipped here (Client::copy_out reads it).
                }
                other => {
                    self.done = true;
                    return Err(self.client.unexpected(&other, "a simple query"));
                }
            }
        }
    }
}

impl Client {
    /// Sends a simple query and returns its answers as a stream.
    pub async fn simple_query_stream(&mut self, sql: &str) -> Result<SimpleQueryStream<'_>, Error> {
        self.drain().await?;
        encode::query(&mut self.write_buf, sql)?;
        self.pending_ready += 1;
        self.flush().await?;
        Ok(SimpleQueryStream {
            client: self,
            columns: None,
            done: false,
        })
    }

    /// Runs a simple query (one or more statements separated by `;`) and
    /// returns each statement's rows (text) and command tag. The first
    /// error ends the query (PostgreSQL runs nothing after it).
    pub async fn simple_query(&mut self, sql: &str) -> Result<Vec<SimpleQueryResult>, Error> {
        let mut stream = self.simple_query_stream(sql).await?;
        let mut out = Vec::new();
        let mut current = SimpleQueryResult::default();
        while let Some(m) = stream.next().await? {
            match m {
                SimpleQueryMessage::Columns(c) => current.columns = Some(c),
                SimpleQueryMessage::Row(r) => current.rows.push(r),
                SimpleQueryMessage::CommandComplete(tag) => {
                    current.tag = tag;
                    out.push(std::mem::take(&mut current));
                }
                SimpleQueryMessage::EmptyQuery => out.push(std::mem::take(&mut current)),
            }
        }
        Ok(out)
    }

    /// Runs statements that return no rows of interest (`SET ...; CREATE
    /// ...`).
    pub async fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        let mut stream = self.simple_query_stream(sql).await?;
        while stream.next().await?.is_some() {}
        Ok(())
    }
}
