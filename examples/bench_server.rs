//! The benchmark server of `../shared/bench/` (its CONTRACT.md): trust
//! authentication, `SELECT 1`, and the generate_series query with values
//! byte-identical to PostgreSQL's, over the simple and extended protocols;
//! anything else fails with 0A000.
//!
//! ```sh
//! cargo build --release --example bench_server
//! PROJECT_SERVER_CMD="$PWD/target/release/examples/bench_server" ../shared/bench/run.sh
//! ```
//!
//! It uses the library the way a user would: a `ServerHandlers` factory, a
//! per-connection handler, rows as an iterator of tuples of `ToSql` values.

use std::error::Error;
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use pgwire::api::{
    ExtendedQueryHandler, Portal, QueryResponse, Response, Responses, Rows, ServerHandlers,
    Session, SimpleQueryHandler, StatementDescription, StoredStatement,
};
use pgwire::api::{ExtendedQuerySupport, UseExtendedQueryHandler};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::server::{Server, ServerConfig};
use pgwire::types::{FieldInfo, IsNull, Schema, ToSql, Type};

/// The two statements of the contract.
#[derive(Debug, Clone, Copy)]
enum Stmt {
    Select1,
    Series(u64),
}

const SERIES_PREFIX: &str =
    "select i::int8, ('row-' || i)::text, (i * 0.5)::float8 from generate_series(1, ";
const SERIES_SUFFIX: &str = ") as s(i)";

/// Classifies a query: whitespace and one trailing `;` trimmed,
/// case-insensitive, as CONTRACT.md says.
fn classify(sql: &str) -> Result<Stmt, ErrorInfo> {
    // The statement of every pipelined query, as clients send it: eight
    // bytes compared as one word (the letters of "select" folded to lower
    // case) rather than trimmed and compared byte by byte.
    if let Ok(bytes) = <[u8; 8]>::try_from(sql.as_bytes()) {
        const LETTERS: u64 = u64::from_le_bytes(*b"      \0\0");
        if u64::from_le_bytes(bytes) | LETTERS == u64::from_le_bytes(*b"select 1") {
            return Ok(Stmt::Select1);
        }
    }
    let s = sql.trim();
    let s = s.strip_suffix(';').map(str::trim_end).unwrap_or(s);
    if s.eq_ignore_ascii_case("select 1") {
        return Ok(Stmt::Select1);
    }
    let (p, x) = (SERIES_PREFIX.len(), SERIES_SUFFIX.len());
    if s.len() > p + x
        && s.is_char_boundary(p)
        && s.is_char_boundary(s.len() - x)
        && s[..p].eq_ignore_ascii_case(SERIES_PREFIX)
        && s[s.len() - x..].eq_ignore_ascii_case(SERIES_SUFFIX)
    {
        let n = s[p..s.len() - x].trim();
        if !n.is_empty() && n.len() <= 18 && n.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = n.parse() {
                return Ok(Stmt::Series(n));
            }
        }
    }
    let shown: String = sql.chars().take(64).collect();
    Err(ErrorInfo::new(
        SqlState::FEATURE_NOT_SUPPORTED,
        format!("feature not supported by the bench server: {shown}"),
    ))
}

/// The `('row-' || i)::text` column, written straight into the row buffer.
#[derive(Debug)]
struct RowLabel(i64);

impl ToSql for RowLabel {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.put_slice(b"row-");
        pgwire::types::text::write_int(out, self.0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TEXT
    }

    postgres_types::to_sql_checked!();
}

struct Schemas {
    select1: Schema,
    series: Schema,
}

struct BenchServer {
    schemas: Arc<Schemas>,
}

struct BenchConnection {
    schemas: Arc<Schemas>,
}

impl BenchConnection {
    fn schema(&self, stmt: Stmt) -> &Schema {
        match stmt {
            Stmt::Select1 => &self.schemas.select1,
            Stmt::Series(_) => &self.schemas.series,
        }
    }

    fn run(&self, stmt: Stmt) -> Response {
        let rows = match stmt {
            Stmt::Select1 => Rows::from_iterator([(1i32,)]),
            Stmt::Series(n) => {
                Rows::from_iterator((1..=n as i64).map(|i| (i, RowLabel(i), i as f64 * 0.5)))
            }
        };
        Response::Query(QueryResponse::new(self.schema(stmt).clone(), rows))
    }
}

impl ServerHandlers for BenchServer {
    type Handler = BenchConnection;

    fn extended_query() -> impl ExtendedQuerySupport<Self::Handler> {
        UseExtendedQueryHandler
    }

    async fn connect(&self, _: &mut Session) -> Result<BenchConnection, ErrorInfo> {
        Ok(BenchConnection {
            schemas: self.schemas.clone(),
        })
    }
}

impl SimpleQueryHandler for BenchConnection {
    async fn do_query(&mut self, _: &mut Session, query: &str) -> Responses {
        match classify(query) {
            Ok(stmt) => self.run(stmt).into(),
            Err(e) => e.into(),
        }
    }
}

impl ExtendedQueryHandler for BenchConnection {
    type Statement = Stmt;

    async fn parse_sql(
        &mut self,
        _: &mut Session,
        sql: &str,
        _: &[u32],
    ) -> Result<Stmt, ErrorInfo> {
        classify(sql)
    }

    async fn do_describe_statement(
        &mut self,
        _: &mut Session,
        stmt: &StoredStatement<Stmt>,
    ) -> Result<StatementDescription, ErrorInfo> {
        let fields = self.schema(*stmt.statement()).clone();
        Ok(StatementDescription::new(Vec::new(), Some(fields)))
    }

    async fn do_describe_portal(
        &mut self,
        _: &mut Session,
        portal: &Portal<Stmt>,
    ) -> Result<Option<Schema>, ErrorInfo> {
        Ok(Some(self.schema(*portal.statement().statement()).clone()))
    }

    async fn do_query(&mut self, _: &mut Session, portal: &Portal<Stmt>, _: usize) -> Response {
        self.run(*portal.statement().statement())
    }
}

fn listen_addr() -> String {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--listen" {
            if let Some(v) = args.next() {
                return v;
            }
        } else if let Some(v) = a.strip_prefix("--listen=") {
            return v.to_owned();
        }
    }
    "127.0.0.1:55003".to_owned()
}

fn main() -> std::io::Result<()> {
    let listen = listen_addr();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let schemas = Arc::new(Schemas {
        select1: Arc::from(vec![FieldInfo::new("?column?", Type::INT4)]),
        series: Arc::from(vec![
            FieldInfo::new("i", Type::INT8),
            FieldInfo::new("text", Type::TEXT),
            FieldInfo::new("float8", Type::FLOAT8),
        ]),
    });
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        eprintln!("bench_server listening on {listen}");
        Server::new(BenchServer { schemas }, ServerConfig::default())
            .serve(listener)
            .await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_1_matches_in_any_case_and_nothing_else_does() {
        for sql in [
            "select 1",
            "SELECT 1",
            "Select 1",
            " select 1 ",
            "select 1;",
            "SELECT 1 ; ",
        ] {
            assert!(matches!(classify(sql), Ok(Stmt::Select1)), "{sql:?}");
        }
        for sql in [
            "select 2",
            "select  1",
            "selec 1",
            "select 10",
            "select \u{11}",
            "SELECT\t1",
            "se1ect 1",
            "select\u{0}1",
            "",
        ] {
            assert!(!matches!(classify(sql), Ok(Stmt::Select1)), "{sql:?}");
        }
        let series = format!("{SERIES_PREFIX}5{SERIES_SUFFIX}");
        assert!(matches!(classify(&series), Ok(Stmt::Series(5))));
    }
}
