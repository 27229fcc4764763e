//! The GlueSQL example server (`examples/gluesql/`) driven by
//! tokio-postgres and psql: simple and extended queries, types in text and
//! binary, errors and their SQLSTATEs, session commands.

mod common;

#[allow(dead_code)]
#[path = "../examples/gluesql/server/mod.rs"]
mod gluesql_server;

use std::error::Error;

use bytes::BytesMut;
use common::*;
use gluesql_server::GlueSqlServer;
use pgwire::server::ServerConfig;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, SimpleQueryMessage};

fn server() -> TestServer<GlueSqlServer> {
    TestServer::start(GlueSqlServer::new(), ServerConfig::default())
}

/// The rows of a simple query, as text (`None` for NULL).
fn text_rows(msgs: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    msgs.iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}

/// The row counts of a simple query's CommandCompletes.
fn counts(msgs: &[SimpleQueryMessage]) -> Vec<u64> {
    msgs.iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .collect()
}

async fn code_of(client: &Client, sql: &str) -> Option<SqlState> {
    client.simple_query(sql).await.err()?.code().cloned()
}

/// The column types of a simple query's RowDescription (tokio-postgres
/// does not show them).
async fn simple_query_types(s: &TestServer<GlueSqlServer>, sql: &str) -> Vec<Type> {
    let mut raw = RawClient::startup(s.addr).await;
    raw.send(&message(b'Q', format!("{sql}\0").as_bytes()))
        .await;
    let msgs = raw.read_until(b'Z').await;
    let desc = msgs.iter().find(|m| m.tag == b'T').expect("RowDescription");
    let body = &desc.body;
    let mut at = 2;
    let mut types = Vec::new();
    for _ in 0..i16::from_be_bytes([body[0], body[1]]) {
        at += body[at..].iter().position(|&b| b == 0).unwrap() + 1 + 4 + 2;
        let oid = u32::from_be_bytes(body[at..at + 4].try_into().unwrap());
        types.push(Type::from_oid(oid).unwrap());
        at += 4 + 2 + 4 + 2;
    }
    types
}

/// A value's bytes as the server sent them, whatever the type.
#[derive(Debug, PartialEq)]
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A parameter sent as the given bytes, whatever the type.
#[derive(Debug)]
struct RawParam(Vec<u8>);

impl ToSql for RawParam {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[tokio::test]
async fn simple_query_round_trip_with_nulls_and_unicode() {
    let s = server();
    let c = s.connect().await;
    let msgs = c
        .simple_query(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, score FLOAT8, ok BOOLEAN)",
        )
        .await
        .unwrap();
    assert_eq!(counts(&msgs), [0]);
    let msgs = c
        .simple_query(
            "INSERT INTO people VALUES (1, 'Zoë 🦀', 1.5, true), (2, NULL, NULL, NULL), (3, 'it''s', -0.25, false)",
        )
        .await
        .unwrap();
    assert_eq!(counts(&msgs), [3]);
    let msgs = c
        .simple_query("SELECT id, name, score, ok FROM people ORDER BY id")
        .await
        .unwrap();
    let SimpleQueryMessage::RowDescription(cols) = &msgs[0] else {
        panic!("{msgs:?}")
    };
    let names: Vec<&str> = cols.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["id", "name", "score", "ok"]);
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        text_rows(&msgs),
        [
            vec![s("1"), s("Zoë 🦀"), s("1.5"), s("t")],
            vec![s("2"), None, None, None],
            vec![s("3"), s("it's"), s("-0.25"), s("f")],
        ]
    );
    assert_eq!(counts(&msgs), [3]);
    let msgs = c
        .simple_query("UPDATE people SET score = 2 WHERE id > 1")
        .await
        .unwrap();
    assert_eq!(counts(&msgs), [2]);
    let msgs = c
        .simple_query("DELETE FROM people WHERE name IS NULL")
        .await
        .unwrap();
    assert_eq!(counts(&msgs), [1]);
    // An empty query string.
    let msgs = c.simple_query("").await.unwrap();
    assert!(text_rows(&msgs).is_empty());
}

#[tokio::test]
async fn column_types_are_postgres_types() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute(
        "CREATE TABLE t (i2 SMALLINT, i4 INT, i8 BIGINT, f4 REAL, f8 DOUBLE PRECISION, n NUMERIC(10,2), \
         t VARCHAR(20), b BYTEA, d DATE, ts TIMESTAMP, tm TIME, u UUID, ok BOOL, m JSONB);
         INSERT INTO t VALUES (1, 2, 3, 1.5, 2.5, 12345.678, 'x', X'00ff', '2024-01-02', \
         '2024-01-02 03:04:05.5', '13:45:10.25', '550e8400-e29b-41d4-a716-446655440000', true, '{\"a\": 1}');",
    )
    .await
    .unwrap();
    let stmt = c.prepare("SELECT * FROM t").await.unwrap();
    let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(
        types,
        [
            Type::INT2,
            Type::INT4,
            Type::INT8,
            Type::FLOAT4,
            Type::FLOAT8,
            Type::NUMERIC,
            Type::TEXT,
            Type::BYTEA,
            Type::DATE,
            Type::TIMESTAMP,
            Type::TIME,
            Type::UUID,
            Type::BOOL,
            Type::JSON
        ]
    );
    // Binary results (tokio-postgres asks for binary).
    let row = c.query_one(&stmt, &[]).await.unwrap();
    assert_eq!(row.get::<_, i16>(0), 1);
    assert_eq!(row.get::<_, i32>(1), 2);
    assert_eq!(row.get::<_, i64>(2), 3);
    assert_eq!(row.get::<_, f32>(3), 1.5);
    assert_eq!(row.get::<_, f64>(4), 2.5);
    // numeric 12345.678: 3 base-10000 digits, weight 1, positive, scale 3.
    assert_eq!(
        row.get::<_, Raw>(5).0,
        [0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]
    );
    assert_eq!(row.get::<_, &str>(6), "x");
    assert_eq!(row.get::<_, Vec<u8>>(7), [0, 255]);
    // 2024-01-02 is day 8767 after 2000-01-01.
    assert_eq!(row.get::<_, Raw>(8).0, 8767i32.to_be_bytes());
    let ts = 8767i64 * 86_400_000_000 + 3 * 3_600_000_000 + 4 * 60_000_000 + 5_500_000;
    assert_eq!(row.get::<_, Raw>(9).0, ts.to_be_bytes());
    let tm = (13 * 3600 + 45 * 60 + 10) * 1_000_000i64 + 250_000;
    assert_eq!(row.get::<_, Raw>(10).0, tm.to_be_bytes());
    assert_eq!(
        row.get::<_, Raw>(11).0,
        0x550e8400_e29b_41d4_a716_446655440000u128.to_be_bytes()
    );
    assert!(row.get::<_, bool>(12));
    assert_eq!(row.get::<_, Raw>(13).0, br#"{"a":1}"#);
    // The same in text.
    let msgs = c.simple_query("SELECT * FROM t").await.unwrap();
    let text: Vec<String> = text_rows(&msgs)[0]
        .iter()
        .map(|v| v.clone().unwrap())
        .collect();
    assert_eq!(
        text,
        [
            "1",
            "2",
            "3",
            "1.5",
            "2.5",
            "12345.678",
            "x",
            "\\x00ff",
            "2024-01-02",
            "2024-01-02 03:04:05.5",
            "13:45:10.25",
            "550e8400-e29b-41d4-a716-446655440000",
            "t",
            r#"{"a":1}"#
        ]
    );
}

#[tokio::test]
async fn expression_columns_and_null_columns() {
    let s = server();
    let c = s.connect().await;
    // Simple query: types from the values; an all-NULL column is text.
    let sql = "SELECT 1 AS one, 'a' AS a, NULL AS nothing, 1.5 * 2 AS x";
    assert_eq!(
        simple_query_types(&s, sql).await,
        [Type::INT4, Type::TEXT, Type::TEXT, Type::FLOAT8]
    );
    let msgs = c.simple_query(sql).await.unwrap();
    assert_eq!(
        text_rows(&msgs),
        [vec![
            Some("1".into()),
            Some("a".into()),
            None,
            Some("3".into())
        ]]
    );
    // Extended: an expression the schemas cannot type is run once.
    c.batch_execute("CREATE TABLE n (v INTEGER); INSERT INTO n VALUES (4), (NULL)")
        .await
        .unwrap();
    let stmt = c
        .prepare("SELECT v, UPPER('x') AS up, ABS(v) AS a, v IS NULL AS missing FROM n")
        .await
        .unwrap();
    let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(types, [Type::INT4, Type::TEXT, Type::INT4, Type::BOOL]);
    let rows = c.query(&stmt, &[]).await.unwrap();
    assert_eq!(rows.len(), 2);
    let got: Vec<(Option<i32>, &str, Option<i32>, bool)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert!(got.contains(&(Some(4), "X", Some(4), false)));
    assert!(got.contains(&(None, "X", None, true)));
}

#[tokio::test]
async fn several_statements_in_one_query_are_one_transaction() {
    let s = server();
    let c = s.connect().await;
    let msgs = c
        .simple_query(
            "CREATE TABLE m (id INTEGER PRIMARY KEY); INSERT INTO m VALUES (1); \
             INSERT INTO m VALUES (2), (3); SELECT id FROM m ORDER BY id",
        )
        .await
        .unwrap();
    assert_eq!(counts(&msgs), [0, 1, 2, 3]);
    assert_eq!(text_rows(&msgs).len(), 3);
    // The second statement fails: the first is rolled back with it.
    let err = c
        .simple_query(
            "INSERT INTO m VALUES (4); INSERT INTO m VALUES (1); INSERT INTO m VALUES (5)",
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::UNIQUE_VIOLATION));
    let msgs = c.simple_query("SELECT COUNT(*) FROM m").await.unwrap();
    assert_eq!(text_rows(&msgs), [vec![Some("3".to_owned())]]);
}

#[tokio::test]
async fn errors_carry_postgres_sqlstates_and_the_session_goes_on() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute(
        "CREATE TABLE e (id INTEGER PRIMARY KEY, u TEXT UNIQUE, n INTEGER NOT NULL DEFAULT 0)",
    )
    .await
    .unwrap();
    c.batch_execute("INSERT INTO e (id, u) VALUES (1, 'a')")
        .await
        .unwrap();
    let cases = [
        ("SELEC 1", SqlState::SYNTAX_ERROR),
        ("SELECT 1 +", SqlState::SYNTAX_ERROR),
        ("SELECT * FROM missing", SqlState::UNDEFINED_TABLE),
        ("DROP TABLE missing", SqlState::UNDEFINED_TABLE),
        ("SELECT nope FROM e", SqlState::UNDEFINED_COLUMN),
        (
            "INSERT INTO e (id, nope) VALUES (2, 1)",
            SqlState::UNDEFINED_COLUMN,
        ),
        ("CREATE TABLE e (x INTEGER)", SqlState::DUPLICATE_TABLE),
        ("INSERT INTO e (id) VALUES (1)", SqlState::UNIQUE_VIOLATION),
        (
            "INSERT INTO e (id, u) VALUES (2, 'a')",
            SqlState::UNIQUE_VIOLATION,
        ),
        (
            "INSERT INTO e (id, n) VALUES (3, NULL)",
            SqlState::NOT_NULL_VIOLATION,
        ),
        (
            "INSERT INTO e (id) VALUES ('abc')",
            SqlState::INVALID_TEXT_REPRESENTATION,
        ),
        (
            "SELECT CAST('x' AS INTEGER)",
            SqlState::INVALID_TEXT_REPRESENTATION,
        ),
        ("SELECT 1 / 0", SqlState::DIVISION_BY_ZERO),
        ("SELECT id + u FROM e", SqlState::DATATYPE_MISMATCH),
        ("CREATE TABLE s (x SERIAL)", SqlState::UNDEFINED_OBJECT),
        ("EXPLAIN SELECT 1", SqlState::FEATURE_NOT_SUPPORTED),
        ("LISTEN ch", SqlState::FEATURE_NOT_SUPPORTED),
        ("SHOW no_such_setting", SqlState::UNDEFINED_OBJECT),
    ];
    for (sql, code) in cases {
        assert_eq!(code_of(&c, sql).await, Some(code), "{sql}");
    }
    let err = c.simple_query("SELECT 1;\nSELEC 2").await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.message(), "syntax error at or near \"SELEC\"");
    assert_eq!(
        db.position(),
        Some(&tokio_postgres::error::ErrorPosition::Original(11))
    );
    // Errors in the extended protocol too, at Parse/Describe or Execute.
    let err = c.prepare("SELECT * FROM missing").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::UNDEFINED_TABLE));
    let err = c
        .execute("INSERT INTO e (id) VALUES ($1)", &[&1i32])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::UNIQUE_VIOLATION));
    let err = c.prepare("SELECT 1; SELECT 2").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::SYNTAX_ERROR));
    // The session is fine after all that.
    let row = c.query_one("SELECT COUNT(*) FROM e", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
}

#[tokio::test]
async fn prepared_statements_with_binary_parameters() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute(
        "CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT, score DOUBLE PRECISION, \
         small SMALLINT, big BIGINT, ok BOOLEAN, data BYTEA)",
    )
    .await
    .unwrap();
    let insert = c
        .prepare("INSERT INTO p VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .await
        .unwrap();
    assert_eq!(
        insert.params(),
        [
            Type::INT4,
            Type::TEXT,
            Type::FLOAT8,
            Type::INT2,
            Type::INT8,
            Type::BOOL,
            Type::BYTEA
        ]
    );
    assert!(insert.columns().is_empty());
    // One statement, executed many times (statement reuse).
    for i in 0..5i32 {
        let name = format!("n{i} ü");
        let n = c
            .execute(
                &insert,
                &[
                    &i,
                    &name,
                    &(f64::from(i) / 2.0),
                    &(i as i16),
                    &(i64::from(i) << 40),
                    &(i % 2 == 0),
                    &vec![i as u8; 3],
                ],
            )
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
    // Parameter types from their context: a column, LIMIT, a cast.
    let select = c
        .prepare("SELECT id, name, score, small, big, ok, data FROM p WHERE id >= $1 AND name LIKE $2 ORDER BY id LIMIT $3")
        .await
        .unwrap();
    assert_eq!(select.params(), [Type::INT4, Type::TEXT, Type::INT8]);
    let rows = c.query(&select, &[&2i32, &"n%", &2i64]).await.unwrap();
    assert_eq!(rows.len(), 2);
    let r = &rows[0];
    assert_eq!(r.get::<_, i32>(0), 2);
    assert_eq!(r.get::<_, &str>(1), "n2 ü");
    assert_eq!(r.get::<_, f64>(2), 1.0);
    assert_eq!(r.get::<_, i16>(3), 2);
    assert_eq!(r.get::<_, i64>(4), 2i64 << 40);
    assert!(r.get::<_, bool>(5));
    assert_eq!(r.get::<_, Vec<u8>>(6), [2, 2, 2]);
    // Reused with other parameters.
    let rows = c.query(&select, &[&4i32, &"n%", &10i64]).await.unwrap();
    assert_eq!(rows.len(), 1);
    // NULL parameters (GlueSQL's LIKE fails on NULL, so only now).
    let none: Option<&str> = None;
    c.execute(
        "INSERT INTO p (id, name) VALUES ($1, $2)",
        &[&100i32, &none],
    )
    .await
    .unwrap();
    let row = c
        .query_one("SELECT name FROM p WHERE id = $1", &[&100i32])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<&str>>(0), None);
    let row = c
        .query_one("SELECT $1::INTEGER * 2 AS doubled", &[&21i32])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 42);
}

#[tokio::test]
async fn binary_parameters_of_dates_numbers_and_uuids() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute("CREATE TABLE d (id INTEGER, day DATE, at TIMESTAMP, price NUMERIC, u UUID)")
        .await
        .unwrap();
    let insert = c
        .prepare("INSERT INTO d VALUES ($1, $2, $3, $4, $5)")
        .await
        .unwrap();
    assert_eq!(
        insert.params(),
        [
            Type::INT4,
            Type::DATE,
            Type::TIMESTAMP,
            Type::NUMERIC,
            Type::UUID
        ]
    );
    let day = RawParam(8767i32.to_be_bytes().to_vec());
    let at = RawParam(
        (8767i64 * 86_400_000_000 + 1_500_000)
            .to_be_bytes()
            .to_vec(),
    );
    // numeric -12.5: 2 digits (12, 5000), weight 0, negative, scale 1.
    let price = RawParam(vec![0, 2, 0, 0, 0x40, 0, 0, 1, 0, 12, 0x13, 0x88]);
    let u = RawParam(7u128.to_be_bytes().to_vec());
    c.execute(&insert, &[&1i32, &day, &at, &price, &u])
        .await
        .unwrap();
    let msgs = c
        .simple_query("SELECT day, at, price, u FROM d")
        .await
        .unwrap();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        text_rows(&msgs),
        [vec![
            s("2024-01-02"),
            s("2024-01-02 00:00:01.5"),
            s("-12.5"),
            s("00000000-0000-0000-0000-000000000007")
        ]]
    );
    let rows = c
        .query(
            "SELECT id FROM d WHERE price < $1 AND u = $2",
            &[
                &RawParam(vec![0, 0, 0, 0, 0, 0, 0, 0]),
                &RawParam(7u128.to_be_bytes().to_vec()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
}

#[tokio::test]
async fn query_raw_streams_rows() {
    use futures_util::TryStreamExt;
    let s = server();
    let c = s.connect().await;
    c.batch_execute("CREATE TABLE r (id INTEGER, tag TEXT)")
        .await
        .unwrap();
    let insert = c.prepare("INSERT INTO r VALUES ($1, $2)").await.unwrap();
    for i in 0..50i32 {
        c.execute(&insert, &[&i, &format!("t{}", i % 5)])
            .await
            .unwrap();
    }
    let stmt = c
        .prepare("SELECT id FROM r WHERE tag = $1 ORDER BY id")
        .await
        .unwrap();
    let rows: Vec<tokio_postgres::Row> = c
        .query_raw(&stmt, ["t3"])
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, (0..50).filter(|i| i % 5 == 3).collect::<Vec<_>>());
}

#[tokio::test]
async fn session_commands_drivers_send() {
    let s = server();
    let c = s.connect().await;
    let one = |msgs: Vec<SimpleQueryMessage>| text_rows(&msgs)[0][0].clone().unwrap();
    c.batch_execute(
        "SET extra_float_digits = 3; SET application_name = 'glue test'; \
         SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE",
    )
    .await
    .unwrap();
    c.batch_execute("SET TIME ZONE 'UTC'").await.unwrap();
    assert_eq!(
        one(c.simple_query("SHOW application_name").await.unwrap()),
        "glue test"
    );
    assert_eq!(
        one(c.simple_query("SHOW transaction_isolation").await.unwrap()),
        "serializable"
    );
    assert_eq!(
        one(c
            .simple_query("SELECT current_setting('extra_float_digits')")
            .await
            .unwrap()),
        "3"
    );
    c.batch_execute("RESET application_name").await.unwrap();
    assert_eq!(
        one(c.simple_query("SHOW application_name").await.unwrap()),
        ""
    );
    let v = one(c.simple_query("SELECT version()").await.unwrap());
    assert!(v.starts_with("PostgreSQL "), "{v}");
    // Over the extended protocol as well.
    let row = c
        .query_one(
            "SELECT current_schema(), current_database(), current_user",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "public");
    assert_eq!(row.get::<_, &str>(1), "test");
    assert_eq!(row.get::<_, &str>(2), "postgres");
    let row = c.query_one("SHOW DateStyle", &[]).await.unwrap();
    assert_eq!(row.get::<_, &str>(0), "ISO, MDY");
    let row = c.query_one("SELECT pg_backend_pid()", &[]).await.unwrap();
    assert!(row.get::<_, i32>(0) > 0);
    for sql in [
        "DEALLOCATE ALL",
        "DISCARD ALL",
        "START TRANSACTION",
        "COMMIT",
        "BEGIN ISOLATION LEVEL REPEATABLE READ",
        "END",
        "UNLISTEN *",
    ] {
        c.batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let err = c
        .batch_execute("SET client_encoding = 'LATIN1'")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::FEATURE_NOT_SUPPORTED));
}

#[tokio::test]
async fn psql_session() {
    if skip_without("psql", "psql_session") {
        return;
    }
    let s = server();
    let port = s.port();
    let out = tokio::task::spawn_blocking(move || {
        psql(
            port,
            "postgres",
            &[
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=0",
                "-c",
                "CREATE TABLE fruit (id INT, name TEXT)",
                "-c",
                "INSERT INTO fruit VALUES (1, 'äpple'), (2, NULL)",
                "-c",
                "SELECT id, name FROM fruit ORDER BY id",
                "-c",
                "SELECT * FROM nothing",
                "-c",
                "BEGIN",
                "-c",
                "SELECT COUNT(*) FROM fruit",
            ],
        )
    })
    .await
    .unwrap();
    let stdout = stdout(&out);
    let stderr = stderr(&out);
    assert!(stdout.contains("1|äpple\n2|\n"), "{stdout}");
    assert!(stdout.contains("\n2\n"), "{stdout}");
    assert!(
        stderr.contains("ERROR:  relation \"nothing\" does not exist"),
        "{stderr}"
    );
}

/// Parse/Bind/Execute/Sync with text parameters and no declared types.
fn extended(sql: &str, params: &[&str]) -> Vec<u8> {
    let mut parse = b"\0".to_vec();
    parse.extend_from_slice(sql.as_bytes());
    parse.extend_from_slice(&[0, 0, 0]);
    let mut bind = vec![0, 0, 0, 0];
    bind.extend_from_slice(&(params.len() as u16).to_be_bytes());
    for p in params {
        bind.extend_from_slice(&(p.len() as u32).to_be_bytes());
        bind.extend_from_slice(p.as_bytes());
    }
    bind.extend_from_slice(&[0, 0]);
    [
        message(b'P', &parse),
        message(b'B', &bind),
        message(b'E', &[0, 0, 0, 0, 0]),
        message(b'S', &[]),
    ]
    .concat()
}

#[tokio::test]
async fn text_parameters_are_parsed_for_their_inferred_types() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute(
        "CREATE TABLE tp (id INTEGER, day DATE, price NUMERIC); \
         INSERT INTO tp VALUES (1, '2024-01-02', -12.5), (2, '2024-01-03', 3)",
    )
    .await
    .unwrap();
    let mut raw = RawClient::startup(s.addr).await;
    raw.send(&extended(
        "SELECT id FROM tp WHERE day = $1 AND price = $2 AND id = $3",
        &["2024-01-02", "-12.50", " 1 "],
    ))
    .await;
    let msgs = raw.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "12DCZ");
    assert_eq!(msgs[2].body, [0, 1, 0, 0, 0, 1, b'1']);
    // A value that is not an integer fails at Bind, with 22P02.
    raw.send(&extended("SELECT id FROM tp WHERE id = $1", &["abc"]))
        .await;
    let msgs = raw.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "1EZ");
    assert_eq!(msgs[1].sqlstate().as_deref(), Some("22P02"));
    assert_eq!(
        msgs[1].field(b'M').as_deref(),
        Some("invalid input syntax for type integer: \"abc\"")
    );
    // The wrong number of parameters: 08P01 at Bind.
    raw.send(&extended("SELECT id FROM tp WHERE id = $1", &[]))
        .await;
    let msgs = raw.read_until(b'Z').await;
    assert_eq!(tags(&msgs), "1EZ");
    assert_eq!(msgs[1].sqlstate().as_deref(), Some("08P01"));
}

/// Dates, times and intervals print as the session's DateStyle and
/// IntervalStyle say (PostgreSQL 15's output for the same settings), and
/// floats as extra_float_digits says.
#[tokio::test]
async fn values_follow_the_session_settings() {
    let s = server();
    let c = s.connect().await;
    let one = |sql: &'static str| {
        let c = &c;
        async move {
            let rows = text_rows(&c.simple_query(sql).await.expect(sql));
            rows[0][0].clone().unwrap()
        }
    };
    c.batch_execute("SET datestyle = 'German'").await.unwrap();
    assert_eq!(one("SELECT DATE '2024-01-31'").await, "31.01.2024");
    assert_eq!(
        one("SELECT TIMESTAMP '2024-01-31 12:00:01.5'").await,
        "31.01.2024 12:00:01.5"
    );
    c.batch_execute("SET datestyle = 'SQL, MDY'").await.unwrap();
    assert_eq!(one("SELECT DATE '2024-01-31'").await, "01/31/2024");
    c.batch_execute("SET intervalstyle = 'iso_8601'")
        .await
        .unwrap();
    assert_eq!(one("SELECT INTERVAL '1' DAY").await, "P1D");
    c.batch_execute("SET extra_float_digits = 0").await.unwrap();
    assert_eq!(one("SELECT 0.1::float8 + 0.2::float8").await, "0.3");
    c.batch_execute("RESET ALL").await.unwrap();
    assert_eq!(one("SELECT DATE '2024-01-31'").await, "2024-01-31");
}
