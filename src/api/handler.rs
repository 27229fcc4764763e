//! The traits a server implements.

use std::future::Future;

use bytes::Bytes;

use super::auth::Authenticator;
use super::portal::{Portal, StoredStatement};
use super::responses::Responses;
use super::results::{Response, StatementDescription, Tag};
use super::session::Session;
use super::support::{CopySupport, ExtendedQuerySupport, FunctionCallSupport, ReplicationSupport};
use crate::error::{ErrorInfo, SqlState};
use crate::messages::Oid;
use crate::types::Schema;

/// Runs queries sent with the simple query protocol (`Query`): what psql
/// uses, and every driver for statements without parameters.
///
/// ```
/// use pgwire::api::{Response, Responses, Session, SimpleQueryHandler, Tag};
///
/// struct Echo;
///
/// impl SimpleQueryHandler for Echo {
///     async fn do_query(&mut self, _session: &mut Session, query: &str) -> Responses {
///         Response::Execution(Tag::new(query.trim().to_uppercase())).into()
///     }
/// }
/// ```
pub trait SimpleQueryHandler: Send {
    /// Runs `query`, which may hold several statements separated by
    /// semicolons, and answers one [`Response`] per statement (a single
    /// response converts with `.into()`; see [`Responses`]). Stop at the
    /// first failing statement and end with its [`Response::Error`]: the
    /// server sends nothing after an error. A query string of only
    /// whitespace never reaches the handler (the server answers
    /// EmptyQueryResponse itself).
    fn do_query(
        &mut self,
        session: &mut Session,
        query: &str,
    ) -> impl Future<Output = Responses> + Send;

    /// Runs the statements of the current query string that follow a
    /// `COPY ... FROM STDIN`.
    ///
    /// Statements after a COPY FROM STDIN must run after its data has
    /// arrived (`COPY t FROM STDIN; SELECT count(*) FROM t` counts the
    /// copied rows), so a handler stops at the COPY, ends its responses
    /// with [`Response::CopyIn`] and keeps the rest of the query string.
    /// When that COPY (or a [`Response::CopyBoth`]) ends successfully, the
    /// server calls this method and sends its responses the same way as
    /// [`do_query`](Self::do_query)'s, calling it again if they end with
    /// another COPY. After a failed COPY it is not called (an error ends the
    /// query string, as in PostgreSQL): drop what was kept at the next
    /// `do_query`. The default has nothing left to run.
    fn do_query_after_copy(
        &mut self,
        session: &mut Session,
    ) -> impl Future<Output = Responses> + Send {
        let _ = session;
        async { Responses::new() }
    }
}

/// Runs queries sent with the extended query protocol (Parse, Bind,
/// Describe, Execute, Sync): what drivers use for parameterised queries
/// and prepared statements.
///
/// The server keeps the statements and portals, follows their lifetimes,
/// skips to Sync after an error, limits rows per Execute and resumes
/// suspended portals; the handler only parses, describes and runs.
///
/// Opt-in: a handler that implements this trait says so in
/// [`ServerHandlers::extended_query`] by returning
/// [`UseExtendedQueryHandler`](super::UseExtendedQueryHandler). Without it the server serves
/// the extended protocol from [`SimpleQueryHandler`] (see
/// [`ServedBySimpleQuery`](super::ServedBySimpleQuery)).
pub trait ExtendedQueryHandler: Send {
    /// The parsed form of a statement: made once, when the client sends
    /// Parse, stored with the prepared statement and handed back on every
    /// Describe and Execute.
    type Statement: Send + Sync + 'static;

    /// Parses `sql`. `param_types` are the parameter type OIDs the client
    /// specified (0 = unspecified; the list may be shorter than the number
    /// of parameters). An error is reported for the Parse message.
    fn parse_sql(
        &mut self,
        session: &mut Session,
        sql: &str,
        param_types: &[Oid],
    ) -> impl Future<Output = Result<Self::Statement, ErrorInfo>> + Send;

    /// Describes a prepared statement: its parameter types
    /// (ParameterDescription) and result columns (RowDescription, or NoData
    /// when `fields` is `None`). Parameters the client left unspecified
    /// should be given the type the handler infers.
    fn do_describe_statement(
        &mut self,
        session: &mut Session,
        statement: &StoredStatement<Self::Statement>,
    ) -> impl Future<Output = Result<StatementDescription, ErrorInfo>> + Send;

    /// Describes the result columns of a portal (`None` = NoData). The
    /// server applies the portal's result formats.
    fn do_describe_portal(
        &mut self,
        session: &mut Session,
        portal: &Portal<Self::Statement>,
    ) -> impl Future<Output = Result<Option<Schema>, ErrorInfo>> + Send;

    /// Runs a portal. `max_rows` is the client's row limit (0 = none); the
    /// server enforces it and keeps the remaining rows for the next Execute,
    /// so handlers may ignore it. Rows are encoded in the portal's result
    /// formats. A [`Response::Query`] here sends no RowDescription (Describe
    /// does that in this protocol).
    fn do_query(
        &mut self,
        session: &mut Session,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> impl Future<Output = Response> + Send;

    /// The number of parameters `statement` takes, if the handler knows it.
    /// The server then refuses a Bind that supplies another number, with
    /// PostgreSQL's 08P01 error, before calling [`do_bind`]. By default the
    /// count is not checked.
    ///
    /// [`do_bind`]: ExtendedQueryHandler::do_bind
    fn parameter_count(&self, statement: &Self::Statement) -> Option<usize> {
        let _ = statement;
        None
    }

    /// Describes the SQL cursor `name` (`DECLARE name CURSOR FOR ...`)
    /// when a client asks for it as a protocol portal: in PostgreSQL an SQL
    /// cursor is a portal, and drivers rely on it (psycopg's named cursors
    /// send Describe for the portal named after the cursor they declared).
    /// `Ok(Some(columns))` for a cursor; `Ok(None)` if there is none, which
    /// the server reports as an unknown portal (34000). The result formats
    /// are text, as for a cursor in PostgreSQL. By default there are no
    /// cursors.
    fn do_describe_cursor(
        &mut self,
        session: &mut Session,
        name: &str,
    ) -> impl Future<Output = Result<Option<Schema>, ErrorInfo>> + Send {
        let _ = (session, name);
        async { Ok(None) }
    }

    /// Called for Bind, after the server checked the statement exists and
    /// the format codes are consistent. Validate parameters here to report
    /// errors at Bind as PostgreSQL does; by default nothing is checked
    /// until Execute.
    fn do_bind(
        &mut self,
        session: &mut Session,
        portal: &Portal<Self::Statement>,
    ) -> impl Future<Output = Result<(), ErrorInfo>> + Send {
        let _ = (session, portal);
        async { Ok(()) }
    }

    /// Called for Sync, before ReadyForQuery. Outside a transaction block
    /// the messages since the last Sync form an implicit transaction: commit
    /// it here, or roll it back if `failed` (an error occurred since the
    /// last Sync). An error returned here is sent before ReadyForQuery.
    fn on_sync(
        &mut self,
        session: &mut Session,
        failed: bool,
    ) -> impl Future<Output = Result<(), ErrorInfo>> + Send {
        let _ = (session, failed);
        async { Ok(()) }
    }
}

/// Receives the data of COPY FROM STDIN (and of the client side of COPY
/// BOTH).
///
/// Opt-in: a handler that implements this trait says so in
/// [`ServerHandlers::copy`] by returning [`UseCopyHandler`](super::UseCopyHandler). Without it
/// a `COPY ... FROM STDIN` answered with [`Response::CopyIn`] fails with
/// 0A000 when its data arrives. Every method has a default.
pub trait CopyHandler: Send {
    /// A CopyData message from the client. An error aborts the COPY: the
    /// server reports it and ignores the rest of the client's data.
    fn copy_data(
        &mut self,
        session: &mut Session,
        data: Bytes,
    ) -> impl Future<Output = Result<(), ErrorInfo>> + Send {
        let _ = (session, data);
        async {
            Err(ErrorInfo::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "COPY is not supported by this server",
            ))
        }
    }

    /// The client sent CopyDone: finish the COPY and return its tag
    /// (`COPY n`).
    fn copy_done(
        &mut self,
        session: &mut Session,
    ) -> impl Future<Output = Result<Tag, ErrorInfo>> + Send {
        let _ = session;
        async {
            Err(ErrorInfo::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "COPY is not supported by this server",
            ))
        }
    }

    /// The client sent CopyFail with `message`: undo what the COPY did. The
    /// returned error is sent to the client; by default PostgreSQL's
    /// `COPY from stdin failed: <message>` (57014).
    fn copy_fail(
        &mut self,
        session: &mut Session,
        message: &str,
    ) -> impl Future<Output = ErrorInfo> + Send {
        let _ = session;
        let e = ErrorInfo::new(
            SqlState::QUERY_CANCELED,
            format!("COPY from stdin failed: {message}"),
        );
        async move { e }
    }
}

/// The server's handlers: authenticates clients and creates one handler per
/// connection.
///
/// Per-connection state (an engine connection, a transaction) lives in
/// [`ServerHandlers::Handler`], which every handler method gets as
/// `&mut self`; state shared between connections lives in the
/// `ServerHandlers` value, which the server keeps behind an `Arc`.
pub trait ServerHandlers: Send + Sync + 'static {
    /// The per-connection handler.
    type Handler: SimpleQueryHandler + 'static;

    /// Authenticates the client. The default accepts everyone (trust);
    /// see [`Authenticator`] for password, MD5 and SCRAM. Return an error
    /// (FATAL, 28P01 or 28000) to refuse the connection.
    fn authenticate(
        &self,
        auth: &mut Authenticator<'_>,
    ) -> impl Future<Output = Result<(), ErrorInfo>> + Send {
        let _ = auth;
        async { Ok(()) }
    }

    /// Creates the handler of an authenticated session. Runs after
    /// AuthenticationOk and before the ParameterStatus messages, so it may
    /// change parameters (`session.set_parameter("server_version", ..)`) or
    /// refuse the session (for example 3D000 for an unknown database).
    fn connect(
        &self,
        session: &mut Session,
    ) -> impl Future<Output = Result<Self::Handler, ErrorInfo>> + Send;

    /// The session ended (Terminate, disconnect or a fatal error). The
    /// default drops the handler, which should roll back any open
    /// transaction.
    fn disconnect(
        &self,
        handler: Self::Handler,
        session: &Session,
    ) -> impl Future<Output = ()> + Send {
        let _ = session;
        drop(handler);
        async {}
    }

    /// How the extended query protocol (Parse, Bind, Describe, Execute) is
    /// served for this server's handlers.
    ///
    /// The default, [`ServedBySimpleQuery`](super::ServedBySimpleQuery), runs statements without
    /// parameters through [`SimpleQueryHandler::do_query`], so drivers that
    /// always use the extended protocol (tokio-postgres, psycopg 3, pgJDBC,
    /// `pgbench -M extended`) work with a two-trait server. Return
    /// [`UseExtendedQueryHandler`](super::UseExtendedQueryHandler) when [`Self::Handler`]
    /// implements [`ExtendedQueryHandler`]:
    ///
    /// ```text
    /// fn extended_query() -> impl ExtendedQuerySupport<Self::Handler> {
    ///     UseExtendedQueryHandler
    /// }
    /// ```
    fn extended_query() -> impl ExtendedQuerySupport<Self::Handler> {
        super::ServedBySimpleQuery::default()
    }

    /// How COPY FROM STDIN data is received. The default,
    /// [`NoCopy`](super::NoCopy), refuses it with 0A000; return
    /// [`UseCopyHandler`](super::UseCopyHandler) when [`Self::Handler`] implements
    /// [`CopyHandler`].
    fn copy() -> impl CopySupport<Self::Handler> {
        super::NoCopy
    }

    /// How FunctionCall messages (the fast-path interface pgJDBC's large
    /// objects use) are answered. The default,
    /// [`NoFunctionCall`](super::NoFunctionCall), refuses them with 0A000;
    /// return [`UseFunctionCallHandler`](super::UseFunctionCallHandler) when
    /// [`Self::Handler`] implements
    /// [`FunctionCallHandler`](super::FunctionCallHandler).
    fn function_call() -> impl FunctionCallSupport<Self::Handler> {
        super::NoFunctionCall
    }

    /// Whether replication connections (the `replication` startup
    /// parameter, as `pg_recvlogical` and a subscribing PostgreSQL send)
    /// are served. The default,
    /// [`NoReplication`](super::NoReplication), refuses them at startup
    /// with 42501; return
    /// [`UseReplicationHandler`](super::UseReplicationHandler) when
    /// [`Self::Handler`] implements
    /// [`ReplicationHandler`](super::ReplicationHandler).
    fn replication() -> impl ReplicationSupport<Self::Handler> {
        super::NoReplication
    }
}
