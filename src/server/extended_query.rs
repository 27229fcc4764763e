//! The extended query protocol: Parse, Bind, Describe, Execute, Close and
//! Sync (Bind and Execute are dispatched inline in `connection`, their
//! checks and bodies are here).

use std::sync::{Arc, OnceLock};

use tokio::io::{AsyncRead, AsyncWrite};

use super::bind_check::check_parameter_values;
use super::connection::{Connection, Flow, Phase};
use super::row_stream::RowsEnd;
use super::statement_store::{PortalEntry, PortalSlot, PortalState, SuspendedPortal};
use crate::api::support::sealed::{CopyDriver, ExtendedQueryDriver, FunctionCallDriver};
use crate::api::{Portal, Response, ServerHandlers, StoredStatement};
use crate::error::{ErrorInfo, SqlState};
use crate::messages::{
    Bind, BindComplete, ByteStr, Close, CloseComplete, CommandComplete, Describe, Execute,
    FormatCodes, Message, NoData, ParameterDescription, Parse, ParseComplete, PortalSuspended,
    TargetKind,
};
use crate::types::FormatSettings;

/// What a checked Bind binds: its statement, and the session's settings at
/// Bind (how its text parameters read).
type BindTarget<S> = (Arc<StoredStatement<S>>, Arc<FormatSettings>);

impl<H, S, X, C, F> Connection<H, S, X, C, F>
where
    H: ServerHandlers,
    S: AsyncRead + AsyncWrite + Unpin + Send,
    X: ExtendedQueryDriver<H::Handler>,
    C: CopyDriver<H::Handler>,
    F: FunctionCallDriver<H::Handler>,
{
    pub(super) async fn parse(&mut self, p: Parse) -> Flow {
        if !p.name.is_empty() {
            if self.store.has_statement(&p.name) {
                return self.extended_error(&ErrorInfo::new(
                    SqlState::DUPLICATE_PREPARED_STATEMENT,
                    format!("prepared statement \"{}\" already exists", p.name),
                ));
            }
            let max = self.server.config.max_prepared_statements;
            if self.store.statement_count() >= max {
                return self.extended_error(&ErrorInfo::new(
                    SqlState::PROGRAM_LIMIT_EXCEEDED,
                    format!("too many prepared statements (the limit is {max})"),
                ));
            }
        }
        let parsed = Self::drive(
            &mut self.transport,
            &self.shared,
            self.server.config.cancel_on_client_disconnect,
            self.extended.parse(
                &mut self.handler,
                &mut self.session,
                &p.query,
                &p.param_types,
            ),
        )
        .await?;
        let statement = match parsed {
            Ok(s) => s,
            Err(e) => return self.extended_error(&e),
        };
        // Drivers send an unnamed Parse with every query, mostly with the
        // text of the one before: the old statement is overwritten in
        // place, its text kept when equal (no allocation then).
        if p.name.is_empty() {
            if let Some(old) = self.store.unnamed_statement_to_overwrite() {
                if old.sql != p.query {
                    old.sql = ByteStr::from(p.query.as_str().to_owned());
                }
                old.param_types.clone_from(&p.param_types);
                old.statement = statement;
                old.described_params = OnceLock::new();
                old.described_columns = OnceLock::new();
                ParseComplete.encode(&mut self.transport.wbuf);
                return Ok(());
            }
        }
        // Copies, so that a long-lived statement does not pin the read
        // buffer its Parse arrived in.
        self.store.put_statement(Arc::new(StoredStatement {
            name: ByteStr::from(p.name.as_str().to_owned()),
            sql: ByteStr::from(p.query.as_str().to_owned()),
            param_types: p.param_types,
            statement,
            described_params: OnceLock::new(),
            described_columns: OnceLock::new(),
        }));
        ParseComplete.encode(&mut self.transport.wbuf);
        Ok(())
    }

    /// Bind: checks, the handler's say, and the new portal.
    pub(super) async fn bind(&mut self, b: Bind) -> Flow {
        match self.bind_portal(b) {
            Ok(slot) => self.finish_bind(slot).await,
            Err(e) => self.extended_error(&e),
        }
    }

    /// The part of Bind that needs no handler: checks, and the portal
    /// built in its slot. Not async, so the large Bind is not moved into a
    /// future: only the slot (a pointer) is.
    #[inline(always)]
    pub(super) fn bind_portal(&mut self, b: Bind) -> Result<PortalSlot<X::Statement>, ErrorInfo> {
        let (statement, settings) = self.check_bind(&b)?;
        let mut slot = self.store.vacant_slot(b.portal.is_empty());
        *slot = Some(PortalEntry {
            portal: Portal::new(b, statement, settings),
            state: PortalState::Ready,
        });
        Ok(slot)
    }

    /// The handler's say on a bound portal; it is kept if all agree.
    pub(super) async fn finish_bind(&mut self, mut slot: PortalSlot<X::Statement>) -> Flow {
        let Some(entry) = slot.as_mut() else {
            return Ok(());
        };
        let unnamed = entry.portal.name.is_empty();
        // Most Binds give none or one result format: nothing to ask then
        // (checked here, not in an async call, on every extended query).
        let mut checked = if entry.portal.result_formats.len() <= 1 {
            Ok(())
        } else {
            self.check_bind_result_formats(&entry.portal).await?
        };
        if checked.is_ok() {
            checked = Self::drive(
                &mut self.transport,
                &self.shared,
                self.server.config.cancel_on_client_disconnect,
                self.extended
                    .bind(&mut self.handler, &mut self.session, &entry.portal),
            )
            .await?;
        }
        if let Err(e) = checked {
            // The unnamed portal's slot is kept (empty) for the next Bind.
            *slot = None;
            if unnamed {
                self.store.put_portal(slot);
            }
            return self.extended_error(&e);
        }
        self.store.put_portal(slot);
        BindComplete.encode(&mut self.transport.wbuf);
        Ok(())
    }

    /// Execute: runs the portal (in its slot, put back after).
    pub(super) async fn execute(&mut self, e: Execute) -> Flow {
        let mut slot = match self.portal_for_execute(&e) {
            Ok(slot) => slot,
            Err(err) => return self.extended_error(&err),
        };
        let limit = if e.max_rows <= 0 {
            u64::MAX
        } else {
            e.max_rows as u64
        };
        self.shared.set_busy(true);
        let result = match slot.as_mut() {
            Some(entry) => {
                self.execute_portal(entry, limit, e.max_rows.max(0) as usize)
                    .await
            }
            None => Ok(Ok(())),
        };
        self.shared.set_busy(false);
        self.store.put_portal(slot);
        match result? {
            Ok(()) => Ok(()),
            Err(err) => self.extended_error(&err),
        }
    }

    /// The checks of Bind that need no handler: the statement exists, the
    /// format codes are consistent, the portal name is free. Done outside
    /// an async fn: the hot path of every extended query.
    pub(super) fn check_bind(&mut self, b: &Bind) -> Result<BindTarget<X::Statement>, ErrorInfo> {
        let Some(statement) = self.store.statement(&b.statement) else {
            return Err(no_such_statement(&b.statement));
        };
        let nparams = b.params.len();
        if let Some(expected) = self
            .extended
            .parameter_count(&self.handler, &statement.statement)
        {
            if expected != nparams {
                return Err(ErrorInfo::new(
                    SqlState::PROTOCOL_VIOLATION,
                    format!(
                        "bind message supplies {nparams} parameters, but prepared statement \"{}\" requires {expected}",
                        &*b.statement
                    ),
                ));
            }
        }
        let nformats = b.param_formats.len();
        if nformats > 1 && nformats != nparams {
            return Err(ErrorInfo::new(
                SqlState::PROTOCOL_VIOLATION,
                format!("bind message has {nformats} parameter formats but {nparams} parameters"),
            ));
        }
        if let Some(bad) = b
            .param_formats
            .first_invalid()
            .or_else(|| b.result_formats.first_invalid())
        {
            return Err(ErrorInfo::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("unsupported format code: {bad}"),
            ));
        }
        if !b.portal.is_empty() {
            if self.store.has_portal(&b.portal) {
                return Err(ErrorInfo::new(
                    SqlState::DUPLICATE_CURSOR,
                    format!("cursor \"{}\" already exists", b.portal),
                ));
            }
            let max = self.server.config.max_portals;
            if self.store.portal_count() >= max {
                return Err(ErrorInfo::new(
                    SqlState::PROGRAM_LIMIT_EXCEEDED,
                    format!("too many portals (the limit is {max})"),
                ));
            }
        } else {
            self.store.drop_unnamed_portal();
        }
        if let Some(&columns) = statement.described_columns.get() {
            check_result_formats(&b.result_formats, columns)?;
        }
        let settings = self.session.shared_format_settings();
        check_parameter_values(b, &statement, settings, &mut self.scratch)?;
        Ok((statement, settings.clone()))
    }

    /// A Bind with one result format per column needs the column count,
    /// which only a Describe tells: ask the handler now (rare: most clients
    /// send none or one format code), so a wrong count fails the Bind as in
    /// PostgreSQL.
    pub(super) async fn check_bind_result_formats(
        &mut self,
        portal: &Portal<X::Statement>,
    ) -> Flow<Result<(), ErrorInfo>> {
        if portal.result_formats.len() <= 1 || portal.statement.described_columns.get().is_some() {
            return Ok(Ok(()));
        }
        let described = Self::drive(
            &mut self.transport,
            &self.shared,
            self.server.config.cancel_on_client_disconnect,
            self.extended
                .describe_portal(&mut self.handler, &mut self.session, portal),
        )
        .await?;
        Ok(described.and_then(|schema| {
            let columns = schema.map_or(0, |s| s.len());
            let _ = portal.statement.described_columns.set(columns);
            check_result_formats(&portal.result_formats, columns)
        }))
    }

    pub(super) async fn describe(&mut self, d: Describe) -> Flow {
        let cancel_on_disconnect = self.server.config.cancel_on_client_disconnect;
        match d.kind {
            TargetKind::Statement => {
                let Some(statement) = self.store.statement(&d.name) else {
                    return self.extended_error(&no_such_statement(&d.name));
                };
                let described = Self::drive(
                    &mut self.transport,
                    &self.shared,
                    cancel_on_disconnect,
                    self.extended.describe_statement(
                        &mut self.handler,
                        &mut self.session,
                        &statement,
                    ),
                )
                .await?;
                match described {
                    Ok(desc) => {
                        ParameterDescription {
                            types: desc.parameters.iter().map(|t| t.oid()).collect(),
                        }
                        .encode(&mut self.transport.wbuf);
                        let columns = desc.fields.as_ref().map_or(0, |f| f.len());
                        match desc.fields {
                            Some(fields) => self.row_descriptions.encode(
                                &mut self.transport.wbuf,
                                &fields,
                                &FormatCodes::new(),
                            ),
                            None => NoData.encode(&mut self.transport.wbuf),
                        }
                        let _ = statement.described_columns.set(columns);
                        let _ = statement.described_params.set(desc.parameters);
                        Ok(())
                    }
                    Err(e) => self.extended_error(&e),
                }
            }
            TargetKind::Portal => {
                let Some(mut slot) = self.store.take_portal(&d.name) else {
                    return self.describe_cursor(&d.name).await;
                };
                // Exclusive: a shared reference held across the handler's
                // await would need the portal's rows to be `Sync`.
                let Some(entry) = slot.as_mut() else {
                    self.store.put_portal(slot);
                    return self.extended_error(&no_such_portal(&d.name));
                };
                let schema = match &entry.state {
                    PortalState::Suspended(suspended) => Ok(Some(suspended.schema.clone())),
                    _ => {
                        Self::drive(
                            &mut self.transport,
                            &self.shared,
                            cancel_on_disconnect,
                            self.extended.describe_portal(
                                &mut self.handler,
                                &mut self.session,
                                &entry.portal,
                            ),
                        )
                        .await?
                    }
                };
                let formats = entry.portal.result_formats.clone();
                self.store.put_portal(slot);
                match schema {
                    Ok(Some(fields)) => {
                        if let Err(e) = check_result_formats(&formats, fields.len()) {
                            return self.extended_error(&e);
                        }
                        self.row_descriptions
                            .encode(&mut self.transport.wbuf, &fields, &formats);
                        Ok(())
                    }
                    Ok(None) => {
                        NoData.encode(&mut self.transport.wbuf);
                        Ok(())
                    }
                    Err(e) => self.extended_error(&e),
                }
            }
        }
    }

    /// Describe of a portal that is not a protocol portal: it may be an SQL
    /// cursor (`DECLARE`), which is a portal in PostgreSQL.
    async fn describe_cursor(&mut self, name: &ByteStr) -> Flow {
        if name.is_empty() {
            return self.extended_error(&no_such_portal(name));
        }
        let described = Self::drive(
            &mut self.transport,
            &self.shared,
            self.server.config.cancel_on_client_disconnect,
            self.extended
                .describe_cursor(&mut self.handler, &mut self.session, name),
        )
        .await?;
        match described {
            Ok(Some(fields)) => {
                self.row_descriptions.encode(
                    &mut self.transport.wbuf,
                    &fields,
                    &FormatCodes::new(),
                );
                Ok(())
            }
            Ok(None) => self.extended_error(&no_such_portal(name)),
            Err(e) => self.extended_error(&e),
        }
    }

    /// Finds the portal of an Execute; the error to report if there is
    /// none.
    pub(super) fn portal_for_execute(
        &mut self,
        e: &Execute,
    ) -> Result<PortalSlot<X::Statement>, ErrorInfo> {
        self.store
            .take_portal(&e.portal)
            .ok_or_else(|| no_such_portal(&e.portal))
    }

    pub(super) async fn execute_portal(
        &mut self,
        entry: &mut PortalEntry<X::Statement>,
        limit: u64,
        max_rows: usize,
    ) -> Flow<Result<(), ErrorInfo>> {
        let portal = &entry.portal;
        let state = std::mem::replace(&mut entry.state, PortalState::Done);
        let (schema, mut rows, tag, already) = match state {
            PortalState::Suspended(suspended) => {
                let SuspendedPortal {
                    schema,
                    rows,
                    tag,
                    sent,
                } = *suspended;
                (schema, rows, tag, sent)
            }
            PortalState::Done => {
                // Running a finished portal again returns no more rows.
                CommandComplete::encode_parts(&mut self.transport.wbuf, "SELECT", None, Some(0));
                return Ok(Ok(()));
            }
            PortalState::Ready => {
                let response = Self::drive(
                    &mut self.transport,
                    &self.shared,
                    self.server.config.cancel_on_client_disconnect,
                    self.extended
                        .execute(&mut self.handler, &mut self.session, portal, max_rows),
                )
                .await?;
                match response {
                    Response::Query(q) => {
                        if let Err(e) = check_result_formats(&portal.result_formats, q.schema.len())
                        {
                            return Ok(Err(e));
                        }
                        (q.schema, q.rows, q.tag, 0)
                    }
                    Response::Error(e) => return Ok(Err(e)),
                    other => return self.send_plain_response(other).await,
                }
            }
        };
        let (end, sent) = self
            .send_rows(&mut rows, &schema, &portal.result_formats, limit)
            .await?;
        match end {
            RowsEnd::Failed(e) => Ok(Err(e)),
            RowsEnd::Done => {
                tag.encode_with_rows(&mut self.transport.wbuf, sent);
                Ok(Ok(()))
            }
            RowsEnd::Suspended => {
                PortalSuspended.encode(&mut self.transport.wbuf);
                entry.state = PortalState::Suspended(Box::new(SuspendedPortal {
                    schema,
                    rows,
                    tag,
                    sent: already + sent,
                }));
                Ok(Ok(()))
            }
        }
    }

    pub(super) fn close(&mut self, c: Close) -> Flow {
        match c.kind {
            // Portals bound from the statement stay usable: the protocol
            // chapter says closing a statement closes them, but PostgreSQL
            // 15 keeps them (checked), and that is what clients meet.
            TargetKind::Statement => self.store.close_statement(&c.name),
            TargetKind::Portal => {
                self.store.close_portal(&c.name);
            }
        }
        // Closing something that does not exist is not an error.
        CloseComplete.encode(&mut self.transport.wbuf);
        Ok(())
    }

    pub(super) async fn sync(&mut self) -> Flow {
        let failed = self.phase == Phase::SkipToSync;
        self.phase = Phase::Busy;
        let synced = Self::drive(
            &mut self.transport,
            &self.shared,
            self.server.config.cancel_on_client_disconnect,
            self.extended
                .sync(&mut self.handler, &mut self.session, failed),
        )
        .await?;
        if let Err(e) = synced {
            self.send_error(&e)?;
        }
        self.ready_for_query();
        Ok(())
    }
}

fn no_such_statement(name: &ByteStr) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INVALID_SQL_STATEMENT_NAME,
        if name.is_empty() {
            "unnamed prepared statement does not exist".to_owned()
        } else {
            format!("prepared statement \"{name}\" does not exist")
        },
    )
}

fn no_such_portal(name: &ByteStr) -> ErrorInfo {
    ErrorInfo::new(
        SqlState::INVALID_CURSOR_NAME,
        format!("portal \"{name}\" does not exist"),
    )
}

/// The result formats of a portal must be none, one, or one per column.
fn check_result_formats(formats: &FormatCodes, columns: usize) -> Result<(), ErrorInfo> {
    let n = formats.len();
    if n > 1 && n != columns {
        return Err(ErrorInfo::new(
            SqlState::PROTOCOL_VIOLATION,
            format!("bind message has {n} result formats but query has {columns} columns"),
        ));
    }
    Ok(())
}
