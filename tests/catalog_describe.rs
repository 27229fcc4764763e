//! What the SQLite example's RowDescription says about result columns:
//! the type the rows will have, the same in the simple and extended
//! protocols (PostgreSQL reports `integer` for a recursive CTE's counter),
//! and the table OID and column number of table columns, consistent with
//! its `pg_class` and `pg_attribute`.

mod common;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use common::*;
use pgwire::server::ServerConfig;
use sqlite_server::{DbLocation, SqliteServer};
use tokio_postgres::types::Type;

fn server() -> TestServer<SqliteServer> {
    TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    )
}

/// One RowDescription field: name, table OID, column number, type OID.
type Field = (String, u32, i16, u32);

/// The fields of the RowDescription a simple query answers with.
async fn simple_row_description(addr: std::net::SocketAddr, sql: &str) -> Vec<Field> {
    let mut c = RawClient::startup(addr).await;
    let mut body = sql.as_bytes().to_vec();
    body.push(0);
    c.send(&message(b'Q', &body)).await;
    let msgs = c.read_until(b'Z').await;
    let t = msgs
        .iter()
        .find(|m| m.tag == b'T')
        .unwrap_or_else(|| panic!("no RowDescription: {}", tags(&msgs)));
    let b = &t.body;
    let n = i16::from_be_bytes([b[0], b[1]]);
    let mut at = 2;
    let mut out = Vec::new();
    for _ in 0..n {
        let end = at + b[at..].iter().position(|&x| x == 0).expect("name");
        let name = String::from_utf8_lossy(&b[at..end]).into_owned();
        at = end + 1;
        let table = u32::from_be_bytes(b[at..at + 4].try_into().unwrap());
        let column = i16::from_be_bytes(b[at + 4..at + 6].try_into().unwrap());
        let ty = u32::from_be_bytes(b[at + 6..at + 10].try_into().unwrap());
        at += 18;
        out.push((name, table, column, ty));
    }
    out
}

const RECURSIVE: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT x FROM c";

#[tokio::test]
async fn recursive_cte_is_integer_in_both_protocols() {
    let s = server();
    let client = s.connect().await;
    let stmt = client.prepare(RECURSIVE).await.unwrap();
    assert_eq!(stmt.columns()[0].type_(), &Type::INT4);
    let rows = client.query(&stmt, &[]).await.unwrap();
    let xs: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(xs, vec![1, 2, 3, 4, 5]);
    let fields = simple_row_description(s.addr, RECURSIVE).await;
    assert_eq!(fields[0].3, Type::INT4.oid(), "{fields:?}");
    // Named columns of a non-recursive CTE too.
    let sql = "WITH t AS (SELECT 2.5 AS price, 'a' AS label) SELECT price, label FROM t";
    let stmt = client.prepare(sql).await.unwrap();
    let types: Vec<&Type> = stmt.columns().iter().map(|c| c.type_()).collect();
    assert_eq!(types, vec![&Type::NUMERIC, &Type::TEXT]);
    let fields = simple_row_description(s.addr, sql).await;
    assert_eq!(fields[0].3, Type::NUMERIC.oid(), "{fields:?}");
}

#[tokio::test]
async fn row_description_names_the_table_and_column() {
    let s = server();
    let client = s.connect().await;
    client
        .batch_execute("CREATE TABLE rd (id integer PRIMARY KEY, name text NOT NULL); INSERT INTO rd VALUES (1, 'a')")
        .await
        .unwrap();
    for fields in [
        simple_row_description(s.addr, "SELECT name, id, length(name) FROM rd").await,
        simple_row_description(s.addr, "SELECT * FROM rd").await,
    ] {
        for (name, table, column, _) in &fields {
            if name == "length" {
                assert_eq!((*table, *column), (0, 0), "an expression has no table");
                continue;
            }
            assert_ne!(*table, 0, "{fields:?}");
            // The catalog agrees: that table's column of that number.
            let row = client
                .query_one(
                    "SELECT c.relname::text, a.attname::text FROM pg_catalog.pg_attribute a \
                     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
                     WHERE a.attrelid = $1 AND a.attnum = $2",
                    &[table, column],
                )
                .await
                .unwrap();
            assert_eq!(row.get::<_, String>(0), "rd");
            assert_eq!(&row.get::<_, String>(1), name);
        }
    }
    // tokio-postgres sees them as PostgreSQL sends them.
    let stmt = client.prepare("SELECT id FROM rd").await.unwrap();
    assert_ne!(stmt.columns()[0].table_oid(), None);
    assert_eq!(stmt.columns()[0].column_id(), Some(1));
}
