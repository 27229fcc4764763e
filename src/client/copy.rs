//! COPY FROM STDIN, COPY TO STDOUT and COPY BOTH as streams of bytes.

use bytes::Bytes;

use super::connection::{Client, OpenCopy, WRITE_HIGH_WATER};
use super::encode;
use super::error::{DbError, Error};
use super::extended_query::rows_of_tag;
use crate::messages::{BackendMessage, CopyDone, CopyFail, Message};

/// An open COPY FROM STDIN: send data, then [`finish`](Self::finish).
/// Dropping it unfinished aborts the COPY (CopyFail) before the next
/// request.
pub struct CopyIn<'a> {
    client: &'a mut Client,
}

impl CopyIn<'_> {
    /// Queues a chunk of data (any split: rows may span chunks); written
    /// once enough is buffered.
    pub async fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        put_copy_data(&mut self.client.write_buf, data);
        if self.client.write_buf.len() >= WRITE_HIGH_WATER {
            self.client.flush().await?;
        }
        Ok(())
    }

    /// Ends the data (CopyDone); returns the number of rows copied.
    pub async fn finish(self) -> Result<u64, Error> {
        CopyDone.encode(&mut self.client.write_buf);
        self.client.open_copy = OpenCopy::None;
        self.client.flush().await?;
        finish_copy(self.client).await
    }

    /// Aborts the COPY (CopyFail); the server answers with error 57014.
    pub async fn abort(self, reason: &str) -> Result<(), Error> {
        CopyFail {
            message: reason.to_owned().into(),
        }
        .encode(&mut self.client.write_buf);
        self.client.open_copy = OpenCopy::None;
        self.client.flush().await?;
        match finish_copy(self.client).await {
            Err(Error::Db(_)) => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Err(Error::protocol("COPY completed after CopyFail")),
        }
    }
}

fn put_copy_data(buf: &mut bytes::BytesMut, data: &[u8]) {
    use bytes::BufMut;
    buf.put_u8(b'd');
    buf.put_i32(data.len() as i32 + 4);
    buf.put_slice(data);
}

/// CommandComplete then ReadyForQuery.
async fn finish_copy(client: &mut Client) -> Result<u64, Error> {
    let mut rows = 0;
    loop {
        match client.recv().await? {
            BackendMessage::CommandComplete(c) => rows = rows_of_tag(c.tag.as_str()),
            BackendMessage::ReadyForQuery(_) => return Ok(rows),
            BackendMessage::ErrorResponse(e) => {
                return Err(client.fail(DbError::from_fields(&e.0)).await);
            }
            // Further statements of the same query string.
            BackendMessage::RowDescription(_)
            | BackendMessage::DataRow(_)
            | BackendMessage::EmptyQueryResponse(_) => {}
            other => return Err(client.unexpected(&other, "the end of COPY")),
        }
    }
}

/// An open COPY TO STDOUT: read chunks (one row each, as PostgreSQL sends
/// them) until `None`.
pub struct CopyOut<'a> {
    client: &'a mut Client,
    rows: Option<u64>,
}

impl CopyOut<'_> {
    /// The next chunk, a view of the read buffer; `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Bytes>, Error> {
        if self.rows.is_some() {
            return Ok(None);
        }
        match self.client.recv().await? {
            BackendMessage::CopyData(d) => Ok(Some(d.data)),
            BackendMessage::CopyDone(_) => {
                self.rows = Some(finish_copy(self.client).await?);
                Ok(None)
            }
            BackendMessage::ErrorResponse(e) => {
                self.rows = Some(0);
                Err(self.client.fail(DbError::from_fields(&e.0)).await)
            }
            other => {
                self.rows = Some(0);
                Err(self.client.unexpected(&other, "COPY TO STDOUT"))
            }
        }
    }

    /// Rows copied, once the end was read.
    pub fn rows(&self) -> Option<u64> {
        self.rows
    }
}

/// An open COPY BOTH (e.g. streaming replication): data both ways.
pub struct CopyBoth<'a> {
    client: &'a mut Client,
    server_done: bool,
}

impl CopyBoth<'_> {
    /// Sends a chunk now.
    pub async fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        put_copy_data(&mut self.client.write_buf, data);
        self.client.flush().await
    }

    /// The next chunk from the server; `None` when it sent CopyDone.
    pub async fn next(&mut self) -> Result<Option<Bytes>, Error> {
        if self.server_done {
            return Ok(None);
        }
        match self.client.recv().await? {
            BackendMessage::CopyData(d) => Ok(Some(d.data)),
            BackendMessage::CopyDone(_) => {
                self.server_done = true;
                Ok(None)
            }
            BackendMessage::ErrorResponse(e) => {
                self.client.open_copy = OpenCopy::None;
                self.server_done = true;
                Err(self.client.fail(DbError::from_fields(&e.0)).await)
            }
            other => Err(self.client.unexpected(&other, "COPY BOTH")),
        }
    }

    /// Ends our side (CopyDone) and reads to the end of the command.
    pub async fn finish(mut self) -> Result<u64, Error> {
        CopyDone.encode(&mut self.client.write_buf);
        self.client.open_copy = OpenCopy::None;
        self.client.flush().await?;
        while !self.server_done {
            if self.next().await?.is_none() {
                break;
            }
        }
        finish_copy(self.client).await
    }
}

impl Client {
    async fn start_copy(&mut self, sql: &str) -> Result<BackendMessage, Error> {
        self.drain().await?;
        encode::query(&mut self.write_buf, sql)?;
        self.pending_ready += 1;
        self.flush().await?;
        loop {
            match self.recv().await? {
                m @ (BackendMessage::CopyInResponse(_)
                | BackendMessage::CopyOutResponse(_)
                | BackendMessage::CopyBothResponse(_)) => return Ok(m),
                BackendMessage::ErrorResponse(e) => {
                    return Err(self.fail(DbError::from_fields(&e.0)).await);
                }
                BackendMessage::ReadyForQuery(_) => {
                    return Err(Error::Usage("the statement is not a COPY".into()));
                }
                // Statements before the COPY in the same query string.
                BackendMessage::RowDescription(_)
                | BackendMessage::DataRow(_)
                | BackendMessage::CommandComplete(_)
                | BackendMessage::EmptyQueryResponse(_) => {}
                other => return Err(self.unexpected(&other, "COPY start")),
            }
        }
    }

    /// Starts `COPY ... FROM STDIN`.
    pub async fn copy_in(&mut self, sql: &str) -> Result<CopyIn<'_>, Error> {
        match self.start_copy(sql).await? {
            BackendMessage::CopyInResponse(_) => {
                self.open_copy = OpenCopy::In;
                Ok(CopyIn { client: self })
            }
            other => {
                let e = Error::Usage(format!(
                    "expected COPY FROM STDIN, the server started {}",
                    other.name()
                ));
                // Leave the connection usable.
                self.open_copy = if matches!(other, BackendMessage::CopyBothResponse(_)) {
                    OpenCopy::Both
                } else {
                    OpenCopy::None
                };
                Err(e)
            }
        }
    }

    /// Starts `COPY ... TO STDOUT`.
    pub async fn copy_out(&mut self, sql: &str) -> Result<CopyOut<'_>, Error> {
        match self.start_copy(sql).await? {
            BackendMessage::CopyOutResponse(_) => Ok(CopyOut {
                client: self,
                rows: None,
            }),
            BackendMessage::CopyInResponse(_) => {
                self.open_copy = OpenCopy::In;
                Err(Error::Usage(
                    "expected COPY TO STDOUT, the server started COPY FROM STDIN".into(),
                ))
            }
            _ => {
                self.open_copy = OpenCopy::Both;
                Err(Error::Usage(
                    "expected COPY TO STDOUT, the server started COPY BOTH".into(),
                ))
            }
        }
    }

    /// Starts a command answered with CopyBothResponse (replication).
    pub async fn copy_both(&mut self, sql: &str) -> Result<CopyBoth<'_>, Error> {
        match self.start_copy(sql).await? {
            BackendMessage::CopyBothResponse(_) => {
                self.open_copy = OpenCopy::Both;
                Ok(CopyBoth {
                    client: self,
                    server_done: false,
                })
            }
            BackendMessage::CopyInResponse(_) => {
                self.open_copy = OpenCopy::In;
                Err(Error::Usage(
                    "expected COPY BOTH, the server started COPY FROM STDIN".into(),
                ))
            }
            _ => Err(Error::Usage(
                "expected COPY BOTH, the server started COPY TO STDOUT".into(),
            )),
        }
    }

    /// Calls a function by OID (the FunctionCall message); arguments and
    /// result in binary.
    pub async fn function_call(
        &mut self,
        function_oid: u32,
        args: &[Option<&[u8]>],
    ) -> Result<Option<Bytes>, Error> {
        self.drain().await?;
        crate::messages::FunctionCall {
            function_oid,
            arg_formats: crate::messages::FormatCodes::from_codes(&[1]),
            args: crate::messages::ValueList::from_values(args.iter().copied()),
            result_format: 1,
        }
        .encode(&mut self.write_buf);
        self.pending_ready += 1;
        self.flush().await?;
        let mut value = None;
        loop {
            match self.recv().await? {
                BackendMessage::FunctionCallResponse(r) => value = r.value,
                BackendMessage::ReadyForQuery(_) => return Ok(value),
                BackendMessage::ErrorResponse(e) => {
                    return Err(self.fail(DbError::from_fields(&e.0)).await);
                }
                other => return Err(self.unexpected(&other, "FunctionCall")),
            }
        }
    }
}
