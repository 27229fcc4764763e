//! Pipelining: many Bind/Execute pairs sent at once, Sync points where the
//! caller wants them, answers matched to statements in order.

use std::sync::Arc;

use super::connection::Client;
use super::encode;
use super::error::{DbError, Error};
use super::extended_query::{Format, Params, QueryResult, Statement};
use super::row::{Column, Row};
use crate::messages::BackendMessage;

enum Item {
    Query(Arc<[Column]>),
    Sync,
}

/// A batch of statements sent in one write (see [`Client::pipeline`]).
///
/// PostgreSQL skips everything after an error up to the next Sync: those
/// statements report [`Error::PipelineAborted`]. Statements separated by
/// [`sync`](Self::sync) are independent (each segment is its own implicit
/// transaction unless a transaction block is open).
pub struct Pipeline<'a> {
    client: &'a mut Client,
    items: Vec<Item>,
    format: Format,
    /// Where this pipeline's messages start in the write buffer: a pipeline
    /// dropped without [`run`](Self::run) takes them back out.
    start: usize,
    syncs: usize,
    sent: bool,
}

impl Drop for Pipeline<'_> {
    fn drop(&mut self) {
        if !self.sent {
            self.client.write_buf.truncate(self.start);
        }
    }
}

impl Pipeline<'_> {
    /// Result format of the statements queued from now on.
    pub fn format(&mut self, format: Format) -> &mut Self {
        self.format = format;
        self
    }

    /// Queues Bind + Execute of a prepared statement. Parameters are
    /// encoded now; an encoding error queues nothing.
    pub fn query(&mut self, statement: &Statement, params: Params<'_>) -> Result<&mut Self, Error> {
        let buf = &mut self.client.write_buf;
        encode::bind(
            buf,
            "",
            statement.name(),
            statement.params(),
            params,
            self.format.code(),
        )?;
        encode::execute(buf, "", 0)?;
        self.items
            .push(Item::Query(statement.columns_in(self.format)));
        Ok(self)
    }

    /// Queues a Sync: an error before it does not skip what follows.
    pub fn sync(&mut self) -> &mut Self {
        encode::sync(&mut self.client.write_buf);
        self.syncs += 1;
        self.items.push(Item::Sync);
        self
    }

    /// How many statements are queued.
    pub fn len(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i, Item::Query(_)))
            .count()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sends everything (with a final Sync) and reads the answers: one
    /// result per queued statement, in order. The outer error is a
    /// connection failure; the inner ones are per statement.
    pub async fn run(mut self) -> Result<Vec<Result<QueryResult, Error>>, Error> {
        if !matches!(self.items.last(), Some(Item::Sync)) {
            self.sync();
        }
        self.sent = true;
        self.client.pending_ready += self.syncs;
        let items = std::mem::take(&mut self.items);
        let client = &mut *self.client;
        // Answers are read while the statements are written: a pipeline
        // longer than the socket buffers would otherwise block both sides.
        client.flush_while_reading().await?;
        let mut results = Vec::with_capacity(items.len() - self.syncs);
        let mut aborted = false;
        for item in items {
            match item {
                Item::Sync => {
                    // Read up to this segment's ReadyForQuery.
                    match client.recv().await? {
                        BackendMessage::ReadyForQuery(_) => {}
                        other => return Err(client.unexpected(&other, "a pipeline")),
                    }
                    aborted = false;
                }
                Item::Query(_) if aborted => results.push(Err(Error::PipelineAborted)),
                Item::Query(columns) => {
                    let mut rows: Vec<Row> = Vec::new();
                    loop {
                        match client.recv().await? {
                            BackendMessage::BindComplete(_) => {}
                            BackendMessage::DataRow(r) => rows.push(Row {
                                columns: columns.clone(),
                                values: r.values,
                            }),
                            BackendMessage::CommandComplete(c) => {
                                results.push(Ok(QueryResult {
                                    rows,
                                    tag: c.tag.as_str().to_owned(),
                                }));
                                break;
                            }
                            BackendMessage::EmptyQueryResponse(_) => {
                                results.push(Ok(QueryResult {
                                    rows,
                                    tag: String::new(),
                                }));
                                break;
                            }
                            BackendMessage::PortalSuspended(_) => {
                                results.push(Ok(QueryResult {
                                    rows,
                                    tag: String::new(),
                                }));
                                break;
                            }
                            BackendMessage::ErrorResponse(e) => {
                                results.push(Err(DbError::from_fields(&e.0).into()));
                                aborted = true;
                                break;
                            }
                            other => return Err(client.unexpected(&other, "a pipeline")),
                        }
                    }
                }
            }
        }
        Ok(results)
    }
}

impl Client {
    /// Starts a pipeline: queue statements with [`Pipeline::query`], then
    /// [`Pipeline::run`] sends them in one write and reads all answers.
    ///
    /// ```no_run
    /// # async fn f(client: &mut pgwire::client::Client) -> Result<(), pgwire::client::Error> {
    /// let st = client.prepare("SELECT $1::int4 + 1").await?;
    /// let mut p = client.pipeline().await?;
    /// for i in 0..32i32 {
    ///     p.query(&st, &[&i])?;
    /// }
    /// for r in p.run().await? {
    ///     let r = r?;
    ///     let _v: i32 = r.rows[0].get(0);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn pipeline(&mut self) -> Result<Pipeline<'_>, Error> {
        self.drain().await?;
        Ok(Pipeline {
            start: self.write_buf.len(),
            client: self,
            items: Vec::new(),
            format: Format::Binary,
            syncs: 0,
            sent: false,
        })
    }
}
