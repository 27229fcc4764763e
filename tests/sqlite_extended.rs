//! The SQLite example over the extended query protocol with a real driver
//! (tokio-postgres, binary parameters and results) and pgbench: every
//! common type stored and read back, Describe's parameter and column types,
//! portals with a row limit, statement reuse, NULLs, SQLSTATEs.

mod common;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use std::error::Error;
use std::process::Command;

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use common::*;
use futures_util::TryStreamExt;
use pgwire::server::ServerConfig;
use pgwire::types::text::{binary_to_text, text_to_binary};
use sqlite_server::{DbLocation, SqliteServer};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

fn server() -> TestServer<SqliteServer> {
    TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    )
}

fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_owned()).unwrap_or_default()
}

type BoxError = Box<dyn Error + Sync + Send>;

/// A parameter sent in text format, whatever its type.
#[derive(Debug)]
struct Text<'a>(&'a str);

impl ToSql for Text<'_> {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.put_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    fn encode_format(&self, _: &Type) -> tokio_postgres::types::Format {
        tokio_postgres::types::Format::Text
    }
    to_sql_checked!();
}

/// A numeric in its decimal text form, sent and read in binary format
/// (base-10000 digits, weight, sign, display scale) through the library's
/// conversions, which `types_postgres.rs` checks against PostgreSQL.
#[derive(Debug, Clone, PartialEq)]
struct Numeric(String);

impl ToSql for Numeric {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        text_to_binary(&Type::NUMERIC, &self.0, out).map_err(|e| e.message().to_owned())?;
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
    to_sql_checked!();
}

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let mut text = BytesMut::new();
        binary_to_text(&Type::NUMERIC, raw, &mut text).map_err(|e| e.message().to_owned())?;
        Ok(Numeric(String::from_utf8(text.to_vec())?))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

/// An interval in binary format: microseconds, days, months.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Interval {
    micros: i64,
    days: i32,
    months: i32,
}

impl ToSql for Interval {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.put_i64(self.micros);
        out.put_i32(self.days);
        out.put_i32(self.months);
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
    to_sql_checked!();
}

impl<'a> FromSql<'a> for Interval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        if raw.len() != 16 {
            return Err("interval: bad length".into());
        }
        Ok(Interval {
            micros: i64::from_be_bytes(raw[0..8].try_into()?),
            days: i32::from_be_bytes(raw[8..12].try_into()?),
            months: i32::from_be_bytes(raw[12..16].try_into()?),
        })
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

const ALL_TYPES: &str = "CREATE TABLE all_types (id int4 PRIMARY KEY, b bool, i2 int2, i4 int4, \
     i8 int8, f4 float4, f8 float8, n numeric, t text, vc varchar(20), bc char(5), nm name, \
     by bytea, d date, tm time, ts timestamp, tstz timestamptz, iv interval, u uuid, j json, \
     jb jsonb, o oid, ai int4[], at text[], an int8[], ab bool[], af float8[])";

const ALL_TYPE_OIDS: [Type; 27] = [
    Type::INT4,
    Type::BOOL,
    Type::INT2,
    Type::INT4,
    Type::INT8,
    Type::FLOAT4,
    Type::FLOAT8,
    Type::NUMERIC,
    Type::TEXT,
    Type::VARCHAR,
    Type::BPCHAR,
    Type::NAME,
    Type::BYTEA,
    Type::DATE,
    Type::TIME,
    Type::TIMESTAMP,
    Type::TIMESTAMPTZ,
    Type::INTERVAL,
    Type::UUID,
    Type::JSON,
    Type::JSONB,
    Type::OID,
    Type::INT4_ARRAY,
    Type::TEXT_ARRAY,
    Type::INT8_ARRAY,
    Type::BOOL_ARRAY,
    Type::FLOAT8_ARRAY,
];

/// One row of `all_types`, as Rust values.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    id: i32,
    b: bool,
    i2: i16,
    i4: i32,
    i8: i64,
    f4: f32,
    f8: f64,
    n: Numeric,
    t: String,
    vc: String,
    bc: String,
    nm: String,
    by: Vec<u8>,
    d: NaiveDate,
    tm: NaiveTime,
    ts: NaiveDateTime,
    tstz: DateTime<Utc>,
    iv: Interval,
    u: uuid::Uuid,
    j: serde_json::Value,
    jb: serde_json::Value,
    o: u32,
    ai: Vec<i32>,
    at: Vec<String>,
    an: Vec<Option<i64>>,
    ab: Vec<bool>,
    af: Vec<f64>,
}

fn sample_rows() -> Vec<Row> {
    let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let tm = NaiveTime::from_hms_micro_opt(13, 45, 7, 123_456).unwrap();
    vec![
        Row {
            id: 1,
            b: true,
            i2: -32768,
            i4: 2_147_483_647,
            i8: -9_223_372_036_854_775_808,
            f4: 1.5,
            f8: -0.1,
            n: Numeric("12345.678".into()),
            t: "Zoë 🦀 'quoted' \"double\" \\ back".into(),
            vc: "varchar".into(),
            bc: "ab   ".into(),
            nm: "a_name".into(),
            by: vec![0, 1, 2, 0xff, b'\\', b'\''],
            d,
            tm,
            ts: d.and_time(tm),
            tstz: DateTime::<Utc>::from_naive_utc_and_offset(d.and_time(tm), Utc),
            iv: Interval {
                micros: 3_723_000_001,
                days: 4,
                months: 14,
            },
            u: uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            j: serde_json::json!({"a": [1, 2, {"b": null}], "s": "x\"y"}),
            jb: serde_json::json!({"k": true, "n": 1.5}),
            o: 4_000_000_000,
            ai: vec![1, -2, 3],
            at: vec![
                "a".into(),
                "b c".into(),
                "".into(),
                "q\"uote".into(),
                "NULL".into(),
            ],
            an: vec![Some(1), None, Some(-9_000_000_000)],
            ab: vec![true, false],
            af: vec![0.5, -1e300],
        },
        Row {
            id: 2,
            b: false,
            i2: 0,
            i4: 0,
            i8: 0,
            f4: 0.0,
            f8: f64::INFINITY,
            // Numeric columns have SQLite's NUMERIC affinity: values are
            // stored as SQLite numbers (15 significant digits, no trailing
            // zeros kept), so this one has its canonical scale.
            n: Numeric("-0.0001".into()),
            t: String::new(),
            vc: String::new(),
            bc: "x    ".into(),
            nm: String::new(),
            by: Vec::new(),
            d: NaiveDate::from_ymd_opt(1999, 12, 31).unwrap(),
            tm: NaiveTime::from_hms_opt(0, 0, 0).unwrap(),
            ts: NaiveDate::from_ymd_opt(1970, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            tstz: DateTime::<Utc>::from_naive_utc_and_offset(
                NaiveDate::from_ymd_opt(2000, 1, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
                Utc,
            ),
            iv: Interval {
                micros: -1,
                days: 0,
                months: 0,
            },
            u: uuid::Uuid::nil(),
            j: serde_json::json!([]),
            jb: serde_json::json!("string"),
            o: 0,
            ai: Vec::new(),
            at: Vec::new(),
            an: vec![None],
            ab: Vec::new(),
            af: vec![],
        },
    ]
}

fn row_params(r: &Row) -> Vec<&(dyn ToSql + Sync)> {
    vec![
        &r.id, &r.b, &r.i2, &r.i4, &r.i8, &r.f4, &r.f8, &r.n, &r.t, &r.vc, &r.bc, &r.nm, &r.by,
        &r.d, &r.tm, &r.ts, &r.tstz, &r.iv, &r.u, &r.j, &r.jb, &r.o, &r.ai, &r.at, &r.an, &r.ab,
        &r.af,
    ]
}

fn from_row(r: &tokio_postgres::Row) -> Row {
    Row {
        id: r.get(0),
        b: r.get(1),
        i2: r.get(2),
        i4: r.get(3),
        i8: r.get(4),
        f4: r.get(5),
        f8: r.get(6),
        n: r.get(7),
        t: r.get(8),
        vc: r.get(9),
        bc: r.get(10),
        nm: r.get(11),
        by: r.get(12),
        d: r.get(13),
        tm: r.get(14),
        ts: r.get(15),
        tstz: r.get(16),
        iv: r.get(17),
        u: r.get(18),
        j: r.get(19),
        jb: r.get(20),
        o: r.get(21),
        ai: r.get(22),
        at: r.get(23),
        an: r.get(24),
        ab: r.get(25),
        af: r.get(26),
    }
}

#[tokio::test]
async fn every_type_round_trips_in_binary() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute(ALL_TYPES).await.unwrap();
    let placeholders: Vec<String> = (1..=27).map(|i| format!("${i}")).collect();
    let insert = c
        .prepare(&format!(
            "INSERT INTO all_types VALUES ({})",
            placeholders.join(", ")
        ))
        .await
        .unwrap();
    assert_eq!(
        insert.params(),
        &ALL_TYPE_OIDS[..],
        "Describe's parameter types"
    );
    assert!(insert.columns().is_empty());
    let rows = sample_rows();
    for r in &rows {
        assert_eq!(c.execute(&insert, &row_params(r)).await.unwrap(), 1);
    }
    let select = c
        .prepare("SELECT * FROM all_types WHERE id = $1")
        .await
        .unwrap();
    assert_eq!(select.params(), &[Type::INT4]);
    let col_types: Vec<Type> = select.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(col_types, ALL_TYPE_OIDS, "Describe's column types");
    let names: Vec<&str> = select.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names[..3], ["id", "b", "i2"]);
    for r in &rows {
        let got = c.query_one(&select, &[&r.id]).await.unwrap();
        assert_eq!(from_row(&got), *r);
    }
    // The same values again, in a WHERE clause: compared as stored.
    let r = &rows[0];
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM all_types WHERE d = $1 AND ts = $2 AND u = $3 AND by = $4 \
             AND n = $5 AND iv = $6",
            &[&r.d, &r.ts, &r.u, &r.by, &r.n, &r.iv],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    // Parameters sent in text format are stored in PostgreSQL's text form.
    c.execute(
        "INSERT INTO all_types (id, n, iv, d, ai) VALUES ($1, $2, $3, $4, $5)",
        &[
            &3i32,
            &Text("1e3"),
            &Text("1 day 02:00:00"),
            &Text("2024-1-5"),
            &Text("{1, 2}"),
        ],
    )
    .await
    .unwrap();
    let got = c
        .query_one("SELECT n, iv, d, ai FROM all_types WHERE id = 3", &[])
        .await
        .unwrap();
    assert_eq!(got.get::<_, Numeric>(0), Numeric("1000".into()));
    assert_eq!(
        got.get::<_, Interval>(1),
        Interval {
            micros: 7_200_000_000,
            days: 1,
            months: 0
        }
    );
    assert_eq!(
        got.get::<_, NaiveDate>(2),
        NaiveDate::from_ymd_opt(2024, 1, 5).unwrap()
    );
    assert_eq!(got.get::<_, Vec<i32>>(3), vec![1, 2]);
    let text = c
        .simple_query("SELECT n, iv, d, ai, at, tstz FROM all_types WHERE id IN (1, 3) ORDER BY id")
        .await
        .unwrap();
    let rows: Vec<Vec<Option<&str>>> = text
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i)).collect())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            vec![
                Some("12345.678"),
                Some("1 year 2 mons 4 days 01:02:03.000001"),
                Some("2024-02-29"),
                Some("{1,-2,3}"),
                Some("{a,\"b c\",\"\",\"q\\\"uote\",\"NULL\"}"),
                Some("2024-02-29 13:45:07.123456+00"),
            ],
            vec![
                Some("1000"),
                Some("1 day 02:00:00"),
                Some("2024-01-05"),
                Some("{1,2}"),
                None,
                None
            ],
        ]
    );
}

#[tokio::test]
async fn null_parameters_and_nulls_of_every_type() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute(ALL_TYPES).await.unwrap();
    let insert = c
        .prepare(
            "INSERT INTO all_types (id, b, i8, f8, n, t, by, d, tstz, iv, u, j, ai, an) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .await
        .unwrap();
    let none_i64: Option<i64> = None;
    c.execute(
        &insert,
        &[
            &1i32,
            &None::<bool>,
            &none_i64,
            &None::<f64>,
            &None::<Numeric>,
            &None::<String>,
            &None::<Vec<u8>>,
            &None::<NaiveDate>,
            &None::<DateTime<Utc>>,
            &None::<Interval>,
            &None::<uuid::Uuid>,
            &None::<serde_json::Value>,
            &None::<Vec<i32>>,
            &None::<Vec<Option<i64>>>,
        ],
    )
    .await
    .unwrap();
    let row = c.query_one("SELECT * FROM all_types", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 1);
    assert_eq!(row.get::<_, Option<bool>>(1), None);
    assert_eq!(row.get::<_, Option<i64>>(4), None);
    assert_eq!(row.get::<_, Option<Numeric>>(7), None);
    assert_eq!(row.get::<_, Option<String>>(8), None);
    assert_eq!(row.get::<_, Option<Vec<u8>>>(12), None);
    assert_eq!(row.get::<_, Option<DateTime<Utc>>>(16), None);
    assert_eq!(row.get::<_, Option<Interval>>(17), None);
    assert_eq!(row.get::<_, Option<uuid::Uuid>>(18), None);
    assert_eq!(row.get::<_, Option<serde_json::Value>>(19), None);
    assert_eq!(row.get::<_, Option<Vec<i32>>>(22), None);
    // A NULL compared is unknown: no row; IS NULL with a parameter works.
    let n = c
        .query("SELECT id FROM all_types WHERE t = $1", &[&None::<String>])
        .await
        .unwrap();
    assert!(n.is_empty());
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM all_types WHERE $1::text IS NULL",
            &[&None::<String>],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn statement_reuse_and_query_raw() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute("CREATE TABLE kv (k int8 PRIMARY KEY, v text)")
        .await
        .unwrap();
    let insert = c
        .prepare("INSERT INTO kv (k, v) VALUES ($1, $2)")
        .await
        .unwrap();
    assert_eq!(insert.params(), &[Type::INT8, Type::TEXT]);
    for k in 0..100i64 {
        let v = format!("value {k}");
        assert_eq!(c.execute(&insert, &[&k, &v]).await.unwrap(), 1);
    }
    let get = c.prepare("SELECT v FROM kv WHERE k = $1").await.unwrap();
    for k in [5i64, 50, 99, 0] {
        let v: String = c.query_one(&get, &[&k]).await.unwrap().get(0);
        assert_eq!(v, format!("value {k}"));
    }
    assert!(c.query_opt(&get, &[&1000i64]).await.unwrap().is_none());
    // query_raw streams rows.
    let range = c
        .prepare("SELECT k, v FROM kv WHERE k >= $1 AND k < $2 ORDER BY k")
        .await
        .unwrap();
    assert_eq!(range.params(), &[Type::INT8, Type::INT8]);
    let params: Vec<i64> = vec![10, 20];
    let stream = c.query_raw(&range, params.iter()).await.unwrap();
    let rows: Vec<tokio_postgres::Row> = stream.try_collect().await.unwrap();
    let ks: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ks, (10..20).collect::<Vec<_>>());
    // query_raw with an unprepared statement text (Parse + Describe + Bind).
    let stream = c
        .query_raw("SELECT count(*) FROM kv WHERE v LIKE $1", ["value 1%"])
        .await
        .unwrap();
    let rows: Vec<tokio_postgres::Row> = stream.try_collect().await.unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), 11);
    // UPDATE/DELETE counts through the extended protocol.
    let up = c
        .execute("UPDATE kv SET v = $1 WHERE k < $2", &[&"small", &10i64])
        .await
        .unwrap();
    assert_eq!(up, 10);
    let del = c
        .execute("DELETE FROM kv WHERE v = $1", &[&"small"])
        .await
        .unwrap();
    assert_eq!(del, 10);
    // `= ANY($1)` with an array parameter, `<> ALL($1)`.
    let any = c
        .prepare("SELECT k FROM kv WHERE k = ANY($1) ORDER BY k")
        .await
        .unwrap();
    assert_eq!(any.params(), &[Type::INT8_ARRAY]);
    let ks: Vec<i64> = c
        .query(&any, &[&vec![55i64, 12, 99, 1000]])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ks, [12, 55, 99]);
    assert!(
        c.query(&any, &[&Vec::<i64>::new()])
            .await
            .unwrap()
            .is_empty()
    );
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM kv WHERE v <> ALL($1)",
            &[&vec!["value 50", "value 51", "nope"]],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 88);
    // The statement is still usable after other statements ran.
    let v: String = c.query_one(&get, &[&50i64]).await.unwrap().get(0);
    assert_eq!(v, "value 50");
}

#[tokio::test]
async fn portals_with_a_row_limit_in_a_transaction() {
    let s = server();
    let mut c = s.connect().await;
    c.batch_execute("CREATE TABLE seq (n int4 PRIMARY KEY)")
        .await
        .unwrap();
    let insert = c.prepare("INSERT INTO seq VALUES ($1)").await.unwrap();
    for n in 0..25i32 {
        c.execute(&insert, &[&n]).await.unwrap();
    }
    let tx = c.transaction().await.unwrap();
    let stmt = tx
        .prepare("SELECT n FROM seq WHERE n >= $1 ORDER BY n")
        .await
        .unwrap();
    let portal = tx.bind(&stmt, &[&3i32]).await.unwrap();
    let other = tx.bind(&stmt, &[&20i32]).await.unwrap();
    let mut got = Vec::new();
    let mut batches = Vec::new();
    loop {
        let rows = tx.query_portal(&portal, 5).await.unwrap();
        batches.push(rows.len());
        if rows.is_empty() {
            break;
        }
        got.extend(rows.iter().map(|r| r.get::<_, i32>(0)));
        // Another portal and a write, interleaved with the first portal.
        if batches.len() == 2 {
            let o = tx.query_portal(&other, 2).await.unwrap();
            assert_eq!(
                o.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(),
                [20, 21]
            );
            tx.execute("INSERT INTO seq VALUES (100)", &[])
                .await
                .unwrap();
        }
    }
    // A portal reads the rows there were when it was bound, as in
    // PostgreSQL: neither sees the row inserted after.
    assert_eq!(got, (3..25).collect::<Vec<_>>());
    assert_eq!(batches, [5, 5, 5, 5, 2, 0]);
    let rest = tx.query_portal(&other, 0).await.unwrap();
    assert_eq!(
        rest.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(),
        [22, 23, 24]
    );
    let n: i64 = tx
        .query_one("SELECT count(*) FROM seq", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 26);
    tx.rollback().await.unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM seq", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 25);
}

#[tokio::test]
async fn errors_have_the_right_sqlstate() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute("CREATE TABLE e (id int4 PRIMARY KEY, name text NOT NULL)")
        .await
        .unwrap();
    // At Parse.
    let err = c.prepare("SELEC $1").await.unwrap_err();
    assert_eq!(code(&err), "42601", "{err:?}");
    let err = c
        .prepare("SELECT * FROM missing WHERE id = $1")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "42P01", "{err:?}");
    let err = c.prepare("SELECT missing FROM e").await.unwrap_err();
    assert_eq!(code(&err), "42703", "{err:?}");
    let err = c.prepare("SELECT 1; SELECT 2").await.unwrap_err();
    assert_eq!(code(&err), "42601", "{err:?}");
    // At Execute.
    let insert = c.prepare("INSERT INTO e VALUES ($1, $2)").await.unwrap();
    c.execute(&insert, &[&1i32, &"a"]).await.unwrap();
    let err = c.execute(&insert, &[&1i32, &"b"]).await.unwrap_err();
    assert_eq!(code(&err), "23505", "{err:?}");
    let err = c
        .execute(&insert, &[&2i32, &None::<String>])
        .await
        .unwrap_err();
    assert_eq!(code(&err), "23502", "{err:?}");
    // Bad text input for a typed parameter (22P02), out of range (22003).
    let err = c.execute(&insert, &[&Text("x"), &"c"]).await.unwrap_err();
    assert_eq!(code(&err), "22P02", "{err:?}");
    let err = c
        .execute(&insert, &[&Text("99999999999"), &"c"])
        .await
        .unwrap_err();
    assert_eq!(code(&err), "22003", "{err:?}");
    // A wider declared type stored into an int4 column: range-checked and
    // rounded as PostgreSQL's assignment cast; compared, merely unequal.
    let wide = c
        .prepare_typed("INSERT INTO e VALUES ($1, 'w')", &[Type::INT8])
        .await
        .unwrap();
    let err = c.execute(&wide, &[&3_000_000_000i64]).await.unwrap_err();
    assert_eq!(code(&err), "22003", "{err:?}");
    assert_eq!(err.as_db_error().unwrap().message(), "integer out of range");
    let float = c
        .prepare_typed("INSERT INTO e VALUES ($1, 'f')", &[Type::FLOAT8])
        .await
        .unwrap();
    // float8 to int4 rounds half to even (rint), as in PostgreSQL.
    c.execute(&float, &[&10.5f64]).await.unwrap();
    let cmp = c
        .prepare_typed("SELECT count(*) FROM e WHERE id = $1", &[Type::INT8])
        .await
        .unwrap();
    let n: i64 = c
        .query_one(&cmp, &[&3_000_000_000i64])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    let n: i64 = c.query_one(&cmp, &[&10i64]).await.unwrap().get(0);
    assert_eq!(n, 1, "10.5 was stored as 10");
    c.execute("DELETE FROM e WHERE id = 10", &[]).await.unwrap();
    // In a transaction: the error aborts it (25P02) until ROLLBACK.
    c.batch_execute("BEGIN").await.unwrap();
    let err = c.execute(&insert, &[&1i32, &"dup"]).await.unwrap_err();
    assert_eq!(code(&err), "23505");
    let err = c.query("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(code(&err), "25P02", "{err:?}");
    c.batch_execute("ROLLBACK").await.unwrap();
    // The session and its statements go on.
    c.execute(&insert, &[&2i32, &"b"]).await.unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM e", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
}

#[tokio::test]
async fn numeric_prints_no_exponent() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute(
        "CREATE TABLE nums (id int4 PRIMARY KEY, n numeric); \
         INSERT INTO nums VALUES (1, 1e19), (2, 0.0000001), (3, -0.0), (4, 2.5)",
    )
    .await
    .unwrap();
    // Stored as SQLite numbers (REAL), printed as PostgreSQL prints a
    // numeric: never with an exponent.
    let msgs = c
        .simple_query("SELECT n FROM nums ORDER BY id")
        .await
        .unwrap();
    let text: Vec<String> = msgs
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .collect();
    assert_eq!(text, ["10000000000000000000", "0.0000001", "0", "2.5"]);
    let rows = c
        .query("SELECT n FROM nums ORDER BY id", &[])
        .await
        .unwrap();
    let binary: Vec<Numeric> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(
        binary,
        ["10000000000000000000", "0.0000001", "0", "2.5"].map(|s| Numeric(s.into()))
    );
}

#[tokio::test]
async fn defaults_that_call_functions() {
    let s = server();
    let c = s.connect().await;
    c.batch_execute(
        "CREATE TABLE d (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), \
         u uuid DEFAULT gen_random_uuid() NOT NULL, n int4 DEFAULT 7)",
    )
    .await
    .unwrap();
    let row = c
        .query_one("INSERT INTO d DEFAULT VALUES RETURNING id, at, u, n", &[])
        .await
        .unwrap();
    assert_eq!(row.columns()[0].type_(), &Type::INT8, "bigserial is int8");
    assert_eq!(row.get::<_, i64>(0), 1);
    let at: DateTime<Utc> = row.get(1);
    assert!((Utc::now() - at).num_seconds().abs() < 60, "{at}");
    assert_eq!(row.get::<_, uuid::Uuid>(2).get_version_num(), 4);
    assert_eq!(row.get::<_, i32>(3), 7);
    let star = c.prepare("SELECT * FROM d WHERE id = $1").await.unwrap();
    assert_eq!(star.params(), &[Type::INT8]);
    assert_eq!(star.columns()[0].type_(), &Type::INT8);
    assert_eq!(c.query(&star, &[&1i64]).await.unwrap().len(), 1);
}

#[tokio::test]
async fn current_setting_and_set_config() {
    let s = server();
    let c = s.connect().await;
    let row = c
        .query_one(
            "SELECT current_setting('application_name') AS before, \
             set_config('application_name', 'renamed', false) AS new",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.columns()[0].name(), "before");
    assert_eq!(row.columns()[1].type_(), &Type::TEXT);
    assert_eq!(row.get::<_, String>(0), "");
    assert_eq!(row.get::<_, String>(1), "renamed");
    let shown = c.simple_query("SHOW application_name").await.unwrap();
    let value = shown.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
        _ => None,
    });
    assert_eq!(value.as_deref(), Some("renamed"));
    let row = c
        .query_one("SELECT current_setting('no.such', true)", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0), None);
    let err = c
        .query_one("SELECT current_setting('no_such')", &[])
        .await
        .unwrap_err();
    assert_eq!(code(&err), "42704", "{err:?}");
}

// ----------------------------------------------------------- pgbench

/// Runs pgbench with `mode` and a custom script; returns its stdout.
fn run_pgbench(port: u16, mode: &str, script: &std::path::Path) -> String {
    let out = Command::new("pgbench")
        .args(["-n", "-M", mode, "-f"])
        .arg(script)
        .args([
            "-T",
            "2",
            "-c",
            "4",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
        ])
        .args(["postgres", "test"])
        .env("PGSSLMODE", "disable")
        .output()
        .expect("run pgbench");
    let stdout = stdout(&out);
    assert!(
        out.status.success(),
        "pgbench -M {mode} failed: {}\n{stdout}\n{}",
        out.status,
        stderr(&out)
    );
    stdout
}

/// The number after `label` in pgbench's report.
fn pgbench_number(report: &str, label: &str) -> Option<u64> {
    let line = report.lines().find(|l| l.contains(label))?;
    let rest = &line[line.find(label)? + label.len()..];
    rest.trim_start_matches([':', ' '])
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[test]
fn pgbench_extended_prepared_and_simple() {
    if skip_without("pgbench", "pgbench_extended_prepared_and_simple") {
        return;
    }
    let s = server();
    let setup = psql_free_setup(s.port());
    assert!(setup.is_ok(), "setup: {setup:?}");
    let dir = std::env::temp_dir().join(format!("pgwire-pgbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("select.sql");
    std::fs::write(
        &script,
        "\\set aid random(1, 1000)\nSELECT v FROM t WHERE id = :aid;\n",
    )
    .unwrap();
    for mode in ["extended", "prepared", "simple"] {
        let report = run_pgbench(s.port(), mode, &script);
        let done = pgbench_number(&report, "number of transactions actually processed")
            .unwrap_or_else(|| panic!("no transaction count:\n{report}"));
        assert!(done > 0, "-M {mode}: {report}");
        // pgbench 15 reports failed transactions only when there were any.
        let failed = pgbench_number(&report, "number of failed transactions").unwrap_or(0);
        assert_eq!(failed, 0, "-M {mode}: {report}");
        assert!(report.contains(&format!("query mode: {mode}")), "{report}");
        eprintln!("pgbench -M {mode}: {done} transactions");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Creates `t (id, v)` with 1000 rows through tokio-postgres.
fn psql_free_setup(port: u16) -> Result<(), tokio_postgres::Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(
            &format!("host=127.0.0.1 port={port} user=postgres dbname=test sslmode=disable"),
            tokio_postgres::NoTls,
        )
        .await?;
        tokio::spawn(conn);
        c.batch_execute(
            "CREATE TABLE t (id int4 PRIMARY KEY, v text); \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
             INSERT INTO t SELECT i, 'v' || i FROM n",
        )
        .await?;
        let n: i64 = c.query_one("SELECT count(*) FROM t", &[]).await?.get(0);
        assert_eq!(n, 1000);
        Ok(())
    })
}
