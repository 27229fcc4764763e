//! `pgwire::client` against a real PostgreSQL 15 started for this test
//! binary: every authentication method (and wrong passwords, refused
//! downgrades), TLS modes, Unix sockets, several hosts, simple, extended and
//! pipelined queries, types in text and binary, a streamed million-row
//! read, COPY, cancel, LISTEN/NOTIFY, errors and notices, the example
//! binary. Prints `SKIPPED` when the PostgreSQL server binaries are missing.

#[path = "common/pg_cluster.rs"]
mod pg_cluster;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pg_cluster::PgCluster;
use pgwire::api::auth::ScramVerifier;
use pgwire::client::{Client, Config, Error, Format, ScramKeys, TransactionStatus};
use pgwire::messages::{BackendMessage, FrontendMessage, ProtocolVersion, Query};
use postgres_types::Type;

fn password(user: &str) -> String {
    // Quoted for a connection string.
    format!("'{}'", PgCluster::password_of(user).replace('\'', "\\'"))
}

async fn connect(pg: &PgCluster, user: &str, extra: &str) -> Result<Client, Error> {
    let conninfo = pg.conninfo(user, &format!("password={} {extra}", password(user)));
    Client::connect(&Config::parse(&conninfo)?).await
}

async fn admin(pg: &PgCluster) -> Client {
    let c = format!(
        "host={} port={} user=postgres dbname=postgres",
        pg.socket_dir().display(),
        pg.port
    );
    Client::connect(&Config::parse(&c).unwrap())
        .await
        .expect("connect over the Unix socket")
}

async fn one_text(c: &mut Client, sql: &str) -> Option<String> {
    let r = c.simple_query(sql).await.unwrap();
    r[0].rows[0].get_text(0).unwrap().map(str::to_owned)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_postgres_15() {
    let pg = match PgCluster::start("client-pg", &[]) {
        Ok(pg) => pg,
        Err(why) => {
            println!("SKIPPED against_postgres_15: {why}");
            return;
        }
    };
    let mut adm = admin(&pg).await;
    adm.batch_execute(&PgCluster::setup_sql())
        .await
        .expect("create users");
    // PostgreSQL 15 speaks 3.0: it answered our 3.2 with NegotiateProtocolVersion.
    assert_eq!(adm.protocol_version(), ProtocolVersion::V3_0);
    assert!(!adm.is_tls());
    assert!(adm.parameter("server_version").unwrap().starts_with("15"));

    auth_methods(&pg).await;
    tls_modes(&pg).await;
    connect_options(&pg).await;
    simple_queries(&mut adm).await;
    extended_queries(&mut adm).await;
    types_text_and_binary(&mut adm).await;
    builtin_types_wire_forms(&mut adm).await;
    pipelines(&mut adm).await;
    errors_notices_status(&mut adm).await;
    copy_in_out(&mut adm).await;
    cancel(&pg).await;
    listen_notify(&pg).await;
    raw_level(&mut adm).await;
    streamed_million_rows(&mut adm).await;
    example_binary(&pg);
    adm.close().await.unwrap();
}

async fn whoami(c: &mut Client) -> String {
    one_text(c, "SELECT current_user").await.unwrap()
}

async fn auth_methods(pg: &PgCluster) {
    for user in ["trust_user", "pw_user", "md5_user", "scram_user"] {
        let mut c = connect(pg, user, "")
            .await
            .unwrap_or_else(|e| panic!("{user}: {e}"));
        assert_eq!(whoami(&mut c).await, user);
        c.close().await.unwrap();
    }
    // Wrong passwords: the server's 28P01.
    for user in ["pw_user", "md5_user", "scram_user"] {
        let conninfo = pg.conninfo(user, "password=wrong");
        let e = Client::connect(&Config::parse(&conninfo).unwrap())
            .await
            .unwrap_err();
        assert_eq!(e.sqlstate(), "28P01", "{user}: {e}");
    }
    // No password at all: refused on our side before sending anything.
    let e = Client::connect(
        &Config::parse(&pg.conninfo("scram_user", "passfile=/nonexistent")).unwrap(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e}");
    // require_auth: downgrades refused.
    let e = connect(pg, "pw_user", "require_auth=scram-sha-256")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("require_auth"), "{e}");
    let e = connect(pg, "md5_user", "require_auth=!md5")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("require_auth"), "{e}");
    let e = connect(pg, "trust_user", "require_auth=scram-sha-256")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("none"), "{e}");
    connect(pg, "scram_user", "require_auth=scram-sha-256")
        .await
        .unwrap();
    connect(pg, "md5_user", "require_auth=md5,password")
        .await
        .unwrap();
    connect(pg, "trust_user", "require_auth=none")
        .await
        .unwrap();
    // SCRAM-SHA-256-PLUS: channel binding over TLS; required binding
    // without TLS is refused.
    let mut c = connect(pg, "tls_user", "sslmode=require channel_binding=require")
        .await
        .unwrap();
    assert!(c.is_tls());
    assert_eq!(whoami(&mut c).await, "tls_user");
    let e = connect(pg, "scram_user", "channel_binding=require")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e}");
    let e = connect(pg, "md5_user", "sslmode=require channel_binding=require")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e}");
    // hostnossl ... reject: the server's 28000.
    let e = connect(pg, "tls_user", "sslmode=disable")
        .await
        .unwrap_err();
    assert_eq!(e.sqlstate(), "28000", "{e}");
    // channel_binding=disable still authenticates with plain SCRAM over TLS.
    connect(pg, "tls_user", "sslmode=require channel_binding=disable")
        .await
        .unwrap();

    // SCRAM keys instead of the password (what a pooler passes on): derived
    // with the salt and iterations of the verifier PostgreSQL stores, they
    // log in, with channel binding too; keys of another password get the
    // server's 28P01; a server asking for MD5 still needs the password.
    let mut a = admin(pg).await;
    for (user, extra) in [
        ("scram_user", ""),
        ("tls_user", "sslmode=require channel_binding=require"),
    ] {
        let stored = one_text(
            &mut a,
            &format!("SELECT rolpassword FROM pg_authid WHERE rolname = '{user}'"),
        )
        .await
        .unwrap();
        let verifier: ScramVerifier = stored.parse().unwrap();
        let keys_of =
            |password: &str| ScramKeys::derive(password, verifier.salt(), verifier.iterations());
        let mut config = Config::parse(&pg.conninfo(user, extra)).unwrap();
        config.passfile = Some("/nonexistent".into());
        config.scram_keys = Some(keys_of(PgCluster::password_of(user)));
        let mut c = Client::connect(&config)
            .await
            .unwrap_or_else(|e| panic!("{user} with keys: {e}"));
        assert_eq!(whoami(&mut c).await, user);
        assert_eq!(c.is_tls(), !extra.is_empty());
        config.scram_keys = Some(keys_of("wrong"));
        let e = Client::connect(&config).await.unwrap_err();
        assert_eq!(e.sqlstate(), "28P01", "{user}: {e}");
    }
    let mut config = Config::parse(&pg.conninfo("md5_user", "passfile=/nonexistent")).unwrap();
    config.scram_keys = Some(ScramKeys::derive("x", b"salt", 1));
    let e = Client::connect(&config).await.unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e}");
}

async fn tls_modes(pg: &PgCluster) {
    let ca = pg.client_ca_file();
    let ca = ca.display();
    for (extra, tls) in [
        ("sslmode=disable".to_owned(), false),
        ("sslmode=allow".to_owned(), false),
        ("sslmode=prefer".to_owned(), true),
        ("sslmode=require".to_owned(), true),
        (format!("sslmode=verify-ca sslrootcert={ca}"), true),
        (
            format!("sslmode=verify-full sslrootcert={ca} host=localhost"),
            true,
        ),
        (
            format!("sslmode=verify-ca sslrootcert={ca} host=localhost hostaddr=127.0.0.1"),
            true,
        ),
    ] {
        let mut c = connect(pg, "scram_user", &extra)
            .await
            .unwrap_or_else(|e| panic!("{extra}: {e}"));
        assert_eq!(c.is_tls(), tls, "{extra}");
        assert_eq!(whoami(&mut c).await, "scram_user");
    }
    // verify-full with a name the certificate does not have.
    let e = connect(
        pg,
        "scram_user",
        &format!("sslmode=verify-full sslrootcert={ca} host=wronghost hostaddr=127.0.0.1"),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e}");
    // ... but verify-ca does not look at the name.
    connect(
        pg,
        "scram_user",
        &format!("sslmode=verify-ca sslrootcert={ca} host=wronghost hostaddr=127.0.0.1"),
    )
    .await
    .unwrap();
    // A CA that did not sign the server certificate.
    let other = PgCluster::password_of("nobody");
    let _ = other;
    let bogus = std::env::temp_dir().join(format!("pgwire-bogus-ca-{}.crt", std::process::id()));
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    std::fs::write(&bogus, p.self_signed(&key).unwrap().pem()).unwrap();
    let e = connect(
        pg,
        "scram_user",
        &format!("sslmode=verify-ca sslrootcert={}", bogus.display()),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e}");
    // require + sslrootcert acts as verify-ca (libpq).
    let e = connect(
        pg,
        "scram_user",
        &format!("sslmode=require sslrootcert={}", bogus.display()),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e}");
    let _ = std::fs::remove_file(&bogus);
    // PostgreSQL 15 has no direct TLS: the handshake fails cleanly.
    let e = connect(pg, "scram_user", "sslmode=require sslnegotiation=direct")
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Tls(_) | Error::Io(_) | Error::Closed),
        "{e}"
    );
    // direct needs require or stronger.
    let e = connect(pg, "scram_user", "sslmode=prefer sslnegotiation=direct")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
}

async fn connect_options(pg: &PgCluster) {
    // Unix socket, URL form, application_name and options.
    let url = format!(
        "postgresql://postgres@{}:{}/postgres?application_name=url%20app&options=-c%20search_path%3Dpg_catalog",
        urlencode(&pg.socket_dir().display().to_string()),
        pg.port
    );
    let mut c = Client::connect(&Config::parse(&url).unwrap())
        .await
        .unwrap();
    assert_eq!(c.parameter("application_name"), Some("url app"));
    assert_eq!(
        one_text(&mut c, "SHOW search_path").await.as_deref(),
        Some("pg_catalog")
    );
    assert_eq!(
        one_text(
            &mut c,
            "SELECT coalesce(inet_client_addr()::text, 'socket')"
        )
        .await
        .as_deref(),
        Some("socket")
    );

    // A password from a passfile.
    let passfile =
        std::env::temp_dir().join(format!("pgwire-client-pgpass-{}", std::process::id()));
    std::fs::write(
        &passfile,
        format!("127.0.0.1:{}:*:md5_user:md5 secret\n", pg.port),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut c = Client::connect(
        &Config::parse(&pg.conninfo("md5_user", &format!("passfile={}", passfile.display())))
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(whoami(&mut c).await, "md5_user");
    // The environment: PG* variables and PGPASSFILE (read through a lookup,
    // not the process environment, so parallel tests do not interfere).
    let port = pg.port.to_string();
    let pf = passfile.display().to_string();
    let env = |k: &str| match k {
        "PGHOST" => Some("127.0.0.1".to_owned()),
        "PGPORT" => Some(port.clone()),
        "PGUSER" => Some("md5_user".to_owned()),
        "PGDATABASE" => Some("postgres".to_owned()),
        "PGPASSFILE" => Some(pf.clone()),
        "PGSSLMODE" => Some("disable".to_owned()),
        _ => None,
    };
    let mut c = Client::connect(&Config::from_lookup_and_str("", env).unwrap())
        .await
        .unwrap();
    assert_eq!(whoami(&mut c).await, "md5_user");
    let _ = std::fs::remove_file(&passfile);

    // Several hosts: the first refuses, the second is the server.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Config::parse(&format!(
        "host=127.0.0.1,127.0.0.1 port={closed},{} user=postgres dbname=postgres sslmode=disable",
        pg.port
    ))
    .unwrap();
    let mut client = Client::connect(&c).await.unwrap();
    assert_eq!(whoami(&mut client).await, "postgres");
    // target_session_attrs.
    let base = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=disable",
        pg.port
    );
    Client::connect(&Config::parse(&format!("{base} target_session_attrs=read-write")).unwrap())
        .await
        .unwrap();
    Client::connect(&Config::parse(&format!("{base} target_session_attrs=primary")).unwrap())
        .await
        .unwrap();
    let e =
        Client::connect(&Config::parse(&format!("{base} target_session_attrs=read-only")).unwrap())
            .await
            .unwrap_err();
    assert!(e.to_string().contains("target_session_attrs"), "{e}");
    let e =
        Client::connect(&Config::parse(&format!("{base} target_session_attrs=standby")).unwrap())
            .await
            .unwrap_err();
    assert!(e.to_string().contains("target_session_attrs"), "{e}");
    let mut c = Client::connect(
        &Config::parse(&format!(
            "{base} target_session_attrs=read-only options='-c default_transaction_read_only=on'"
        ))
        .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(c.parameter("default_transaction_read_only"), Some("on"));
    assert_eq!(
        one_text(&mut c, "SHOW transaction_read_only")
            .await
            .as_deref(),
        Some("on")
    );
    Client::connect(
        &Config::parse(&format!("{base} target_session_attrs=prefer-standby")).unwrap(),
    )
    .await
    .unwrap();
    // connect_timeout against a server that accepts but never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let started = Instant::now();
    let e = Client::connect(
        &Config::parse(&format!(
            "host=127.0.0.1 port={silent_port} connect_timeout=2 sslmode=disable user=x"
        ))
        .unwrap(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    hold.abort();
    // Protocol 3.0 asked directly.
    let c = Client::connect(&Config::parse(&format!("{base} max_protocol_version=3.0")).unwrap())
        .await
        .unwrap();
    assert_eq!(c.protocol_version(), ProtocolVersion::V3_0);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn simple_queries(c: &mut Client) {
    let r = c
        .simple_query(
            "SELECT 1 AS a, NULL AS b; SELECT 'x' UNION ALL SELECT 'y'; \
             CREATE TEMP TABLE s(i int); INSERT INTO s VALUES (1), (2), (3); DELETE FROM s WHERE i > 1",
        )
        .await
        .unwrap();
    let tags: Vec<&str> = r.iter().map(|r| r.tag.as_str()).collect();
    assert_eq!(
        tags,
        [
            "SELECT 1",
            "SELECT 2",
            "CREATE TABLE",
            "INSERT 0 3",
            "DELETE 2"
        ]
    );
    assert_eq!(r[0].rows[0].get_text("a").unwrap(), Some("1"));
    assert_eq!(r[0].rows[0].get_text("b").unwrap(), None);
    assert_eq!(r[0].columns.as_ref().unwrap()[0].type_, Type::INT4);
    assert_eq!(r[1].rows[1].get_text(0).unwrap(), Some("y"));
    let empty = c.simple_query("").await.unwrap();
    assert_eq!(empty.len(), 1);
    assert_eq!(empty[0].tag, "");
    // Multi-statement with an error: earlier statements ran (implicit
    // transaction rolled back), the error is reported.
    let e = c
        .simple_query("SELECT 1; SELECT 1/0; SELECT 3")
        .await
        .unwrap_err();
    assert_eq!(e.sqlstate(), "22012");
    assert_eq!(c.transaction_status(), TransactionStatus::Idle);
    c.batch_execute("DROP TABLE s").await.unwrap();
}

async fn extended_queries(c: &mut Client) {
    let st = c
        .prepare_typed(
            "SELECT $1::int8 * 2 AS doubled, $2::text AS t",
            &[Type::INT8],
        )
        .await
        .unwrap();
    assert_eq!(st.params(), &[Type::INT8, Type::TEXT]);
    assert_eq!(st.columns()[0].name, "doubled");
    let rows = c.query(&st, &[&21i64, &"hé"]).await.unwrap();
    assert_eq!(rows[0].get::<i64>("doubled"), 42);
    assert_eq!(rows[0].get::<&str>(1), "hé");
    let rows = c.query(&st, &[&None::<i64>, &None::<&str>]).await.unwrap();
    assert_eq!(rows[0].get::<Option<i64>>(0), None);
    // Wrong parameter count and a type error are reported, not panics.
    assert!(matches!(c.query(&st, &[&1i64]).await, Err(Error::Usage(_))));
    assert!(matches!(
        c.query(&st, &[&1i32, &"x"]).await,
        Err(Error::Conversion(_))
    ));
    assert!(matches!(
        rows[0].try_get::<i32>(0),
        Err(Error::Conversion(_))
    ));
    assert!(matches!(
        rows[0].try_get::<i64>("nope"),
        Err(Error::NoColumn(_))
    ));
    // Text results.
    let r = c
        .query_stream_with(&st, &[&5i64, &"a"], Format::Text, 0)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(r.rows[0].get_text(0).unwrap(), Some("10"));
    assert_eq!(r.tag, "SELECT 1");
    // query_sql: the unnamed statement.
    let rows = c.query_sql("SELECT $1::int4 + 1", &[&41i32]).await.unwrap();
    assert_eq!(rows[0].get::<i32>(0), 42);
    // One round trip without parameters.
    let r = c
        .query_unprepared("SELECT generate_series(1, 3)", Format::Binary)
        .await
        .unwrap();
    assert_eq!(
        r.rows.iter().map(|r| r.get::<i32>(0)).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let r = c
        .query_unprepared("SELECT 'abc'::text, 7::int2", Format::Text)
        .await
        .unwrap();
    assert_eq!(r.rows[0].get_text(1).unwrap(), Some("7"));
    // execute returns rows affected.
    c.batch_execute("CREATE TEMP TABLE e(i int8)")
        .await
        .unwrap();
    let ins = c
        .prepare("INSERT INTO e SELECT generate_series(1, $1)")
        .await
        .unwrap();
    assert_eq!(c.execute(&ins, &[&5i32]).await.unwrap(), 5);
    // Portals with row limits (inside a transaction).
    c.batch_execute("BEGIN").await.unwrap();
    let sel = c.prepare("SELECT i FROM e ORDER BY i").await.unwrap();
    let portal = c.bind(&sel, &[], Format::Binary).await.unwrap();
    let cols = c.describe_portal(&portal).await.unwrap();
    assert_eq!(cols[0].type_, Type::INT8);
    let mut s = c.execute_portal(&portal, 3).await.unwrap();
    let mut got = Vec::new();
    while let Some(r) = s.next().await.unwrap() {
        got.push(r.get::<i64>(0));
    }
    assert!(s.is_suspended());
    assert_eq!(got, [1, 2, 3]);
    let r = c
        .execute_portal(&portal, 0)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(
        r.rows.iter().map(|r| r.get::<i64>(0)).collect::<Vec<_>>(),
        [4, 5]
    );
    assert_eq!(r.tag, "SELECT 2");
    c.close_portal(&portal).await.unwrap();
    c.batch_execute("COMMIT").await.unwrap();
    // Close, then the statement is gone (26000).
    c.close_statement(&sel).await.unwrap();
    assert_eq!(c.query(&sel, &[]).await.unwrap_err().sqlstate(), "26000");
    // A dropped stream: the rest is skipped before the next request.
    let big = c.prepare("SELECT generate_series(1, 10000)").await.unwrap();
    {
        let mut s = c.query_stream(&big, &[]).await.unwrap();
        s.next().await.unwrap().unwrap();
    }
    assert_eq!(
        one_text(c, "SELECT 'after'").await.as_deref(),
        Some("after")
    );
    // FunctionCall: int4pl (OID 177).
    let v = c
        .function_call(177, &[Some(&2i32.to_be_bytes()), Some(&3i32.to_be_bytes())])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&v[..], 5i32.to_be_bytes());
    c.batch_execute("DROP TABLE e").await.unwrap();
}

async fn types_text_and_binary(c: &mut Client) {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    c.batch_execute(
        "CREATE TEMP TABLE ty(b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, t text, v varchar, \
         c \"char\", n name, by bytea, d date, ts timestamp, tz timestamptz, u uuid, j json, jb jsonb, \
         o oid, ia int4[], ta text[], ip inet, nu numeric)",
    )
    .await
    .unwrap();
    let ins = c
        .prepare("INSERT INTO ty VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22::text::numeric)")
        .await
        .unwrap();
    let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let ts: NaiveDateTime = d.and_hms_micro_opt(13, 14, 15, 123456).unwrap();
    let tz: DateTime<Utc> = DateTime::from_naive_utc_and_offset(ts, Utc);
    let u = uuid::Uuid::parse_str("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").unwrap();
    let j = serde_json::json!({"k": [1, 2, "x"]});
    let ip: std::net::IpAddr = "192.168.0.1".parse().unwrap();
    let ia = vec![1i32, -2, 3];
    let ta = vec!["a".to_owned(), "b c".to_owned()];
    let bytes = vec![0u8, 1, 255];
    let n = c
        .execute(
            &ins,
            &[
                &true,
                &-7i16,
                &i32::MIN,
                &i64::MAX,
                &1.5f32,
                &-2.25f64,
                &"tëxt",
                &"var",
                &(b'q' as i8),
                &"nm",
                &bytes,
                &d,
                &ts,
                &tz,
                &u,
                &j,
                &j,
                &4242u32,
                &ia,
                &ta,
                &ip,
                &"12345.6789",
            ],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let sel = c.prepare("SELECT * FROM ty").await.unwrap();
    let rows = c.query(&sel, &[]).await.unwrap();
    let r = &rows[0];
    assert!(r.get::<bool>("b"));
    assert_eq!(r.get::<i16>("i2"), -7);
    assert_eq!(r.get::<i32>("i4"), i32::MIN);
    assert_eq!(r.get::<i64>("i8"), i64::MAX);
    assert_eq!(r.get::<f32>("f4"), 1.5);
    assert_eq!(r.get::<f64>("f8"), -2.25);
    assert_eq!(r.get::<&str>("t"), "tëxt");
    assert_eq!(r.get::<String>("v"), "var");
    assert_eq!(r.get::<i8>("c"), b'q' as i8);
    assert_eq!(r.get::<&str>("n"), "nm");
    assert_eq!(r.get::<&[u8]>("by"), &bytes[..]);
    assert_eq!(r.get::<NaiveDate>("d"), d);
    assert_eq!(r.get::<NaiveDateTime>("ts"), ts);
    assert_eq!(r.get::<DateTime<Utc>>("tz"), tz);
    assert_eq!(r.get::<uuid::Uuid>("u"), u);
    assert_eq!(r.get::<serde_json::Value>("j"), j);
    assert_eq!(r.get::<serde_json::Value>("jb"), j);
    assert_eq!(r.get::<u32>("o"), 4242);
    assert_eq!(r.get::<Vec<i32>>("ia"), ia);
    assert_eq!(r.get::<Vec<String>>("ta"), ta);
    assert_eq!(r.get::<std::net::IpAddr>("ip"), ip);
    assert_eq!(r.columns()[21].type_, Type::NUMERIC);
    // Text: the same values as PostgreSQL prints them, through both the
    // simple protocol and extended-with-text-results.
    let simple = c.simple_query("SELECT * FROM ty").await.unwrap();
    let ext = c
        .query_stream_with(&sel, &[], Format::Text, 0)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let expected = [
        "t",
        "-7",
        "-2147483648",
        "9223372036854775807",
        "1.5",
        "-2.25",
        "tëxt",
        "var",
        "q",
        "nm",
        "\\x0001ff",
        "2024-02-29",
        "2024-02-29 13:14:15.123456",
        "2024-02-29 13:14:15.123456+00",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        r#"{"k":[1,2,"x"]}"#,
        r#"{"k": [1, 2, "x"]}"#,
        "4242",
        "{1,-2,3}",
        "{a,\"b c\"}",
        "192.168.0.1",
        "12345.6789",
    ];
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(
            simple[0].rows[0].get_text(i).unwrap(),
            Some(*want),
            "column {i} (simple)"
        );
        assert_eq!(
            ext.rows[0].get_text(i).unwrap(),
            Some(*want),
            "column {i} (extended text)"
        );
    }
    // Text-format columns of non-text types are not misread as binary.
    assert!(matches!(
        ext.rows[0].try_get::<i32>("i4"),
        Err(Error::Conversion(_))
    ));
    assert_eq!(ext.rows[0].get::<&str>("t"), "tëxt");
    c.batch_execute("DROP TABLE ty").await.unwrap();
}

/// Built-in types beyond the `ToSql` ones: each literal read as text (simple
/// protocol and extended with text results, which must agree) and as
/// binary, and the binary bytes checked against the library's text ->
/// binary conversion (itself checked against PostgreSQL in
/// tests/types_postgres.rs) where it has one.
async fn builtin_types_wire_forms(c: &mut Client) {
    let literals = [
        "true::bool",
        "'-32768'::int2",
        "'2147483647'::int4",
        "'-9223372036854775808'::int8",
        "'3.25'::float4",
        "'-1e300'::float8",
        "'123456789.000000001'::numeric",
        "'NaN'::numeric",
        "'text'::text",
        "'vc'::varchar(5)",
        "'bp'::bpchar(4)",
        "'nm'::name",
        "'x'::\"char\"",
        "'\\xdeadbeef'::bytea",
        "'2000-01-01'::date",
        "'infinity'::date",
        "'23:59:59.999999'::time",
        "'12:00:00+05:30'::timetz",
        "'1999-12-31 23:59:59'::timestamp",
        "'2024-06-01 12:00:00+02'::timestamptz",
        "'1 year 2 mons 3 days 04:05:06.7'::interval",
        "'-1 day'::interval",
        "'550e8400-e29b-41d4-a716-446655440000'::uuid",
        "'{\"a\":1}'::json",
        "'{\"a\": [1, 2]}'::jsonb",
        "'10.1.0.0/16'::cidr",
        "'::1/128'::inet",
        "'08:00:2b:01:02:03'::macaddr",
        "'12.34'::money",
        "'(1,2)'::point",
        "'<(0,0),1>'::circle",
        "'101'::bit(3)",
        "'1'::varbit",
        "'a & b'::tsquery",
        "'a b'::tsvector",
        "'<x/>'::xml",
        "'{1,NULL,3}'::int4[]",
        "'{{1,2},{3,4}}'::int8[]",
        "'{\"a b\",c}'::text[]",
        "'[1,5)'::int4range",
        "'42'::oid",
        "'pg_class'::regclass",
        "'int4'::regtype",
        "'1 2'::int2vector",
        "'0/16B6C50'::pg_lsn",
    ];
    let sql = format!("SELECT {}", literals.join(", "));
    let simple = c.simple_query(&sql).await.unwrap();
    let text = c.query_unprepared(&sql, Format::Text).await.unwrap();
    let binary = c.query_unprepared(&sql, Format::Binary).await.unwrap();
    let (srow, trow, brow) = (&simple[0].rows[0], &text.rows[0], &binary.rows[0]);
    assert_eq!(brow.len(), literals.len());
    let mut checked = 0;
    for (i, lit) in literals.iter().enumerate() {
        let s = srow.get_text(i).unwrap().unwrap();
        assert_eq!(
            trow.get_text(i).unwrap(),
            Some(s),
            "{lit}: text differs between protocols"
        );
        let bin = brow.get_raw(i).unwrap().unwrap();
        let ty = &brow.columns()[i].type_;
        assert_eq!(&srow.columns()[i].type_, ty, "{lit}");
        let mut ours = bytes::BytesMut::new();
        if pgwire::types::text::text_to_binary(ty, s, &mut ours).is_ok() {
            assert_eq!(&ours[..], bin, "{lit}: binary form of {s:?} ({ty})");
            checked += 1;
        }
    }
    println!(
        "built-in types: {} read in text and binary, {checked} binary forms cross-checked",
        literals.len()
    );
    assert!(checked >= 25, "only {checked} binary forms checked");
}

async fn pipelines(c: &mut Client) {
    let st = c.prepare("SELECT $1::int4 * 2").await.unwrap();
    let mut p = c.pipeline().await.unwrap();
    for i in 0..32i32 {
        p.query(&st, &[&i]).unwrap();
    }
    assert_eq!(p.len(), 32);
    let results = p.run().await.unwrap();
    let got: Vec<i32> = results
        .into_iter()
        .map(|r| r.unwrap().rows[0].get(0))
        .collect();
    assert_eq!(got, (0..32).map(|i| i * 2).collect::<Vec<_>>());
    // Errors: the failing statement reports its error, the rest of its
    // Sync segment is skipped, the next segment runs.
    let div = c.prepare("SELECT 10 / $1::int4").await.unwrap();
    let mut p = c.pipeline().await.unwrap();
    p.query(&div, &[&2i32]).unwrap();
    p.query(&div, &[&0i32]).unwrap();
    p.query(&div, &[&5i32]).unwrap();
    p.sync();
    p.query(&div, &[&1i32]).unwrap();
    let r = p.run().await.unwrap();
    assert_eq!(r.len(), 4);
    assert_eq!(r[0].as_ref().unwrap().rows[0].get::<i32>(0), 5);
    assert_eq!(r[1].as_ref().unwrap_err().sqlstate(), "22012");
    assert!(matches!(r[2], Err(Error::PipelineAborted)));
    assert_eq!(r[3].as_ref().unwrap().rows[0].get::<i32>(0), 10);
    assert_eq!(c.transaction_status(), TransactionStatus::Idle);
    // A pipeline dropped before run sends nothing.
    {
        let mut p = c.pipeline().await.unwrap();
        p.query(&div, &[&0i32]).unwrap();
        p.sync();
    }
    assert_eq!(
        one_text(c, "SELECT 'clean'").await.as_deref(),
        Some("clean")
    );
    // A pipeline far longer than the socket buffers (several MB each way):
    // answers are read while the statements are still being written.
    let wide = c
        .prepare("SELECT $1::int4, repeat('y', 200)")
        .await
        .unwrap();
    let mut p = c.pipeline().await.unwrap();
    for i in 0..20_000i32 {
        p.query(&wide, &[&i]).unwrap();
    }
    let r = tokio::time::timeout(Duration::from_secs(60), p.run())
        .await
        .expect("a long pipeline must not deadlock")
        .unwrap();
    assert_eq!(r.len(), 20_000);
    assert_eq!(r[19_999].as_ref().unwrap().rows[0].get::<i32>(0), 19_999);
}

async fn errors_notices_status(c: &mut Client) {
    let e = c
        .simple_query("SELECT nosuchcolumn FROM pg_class")
        .await
        .unwrap_err();
    let db = e.as_db_error().unwrap();
    assert_eq!(db.code, "42703");
    assert_eq!(db.severity, "ERROR");
    assert_eq!(db.severity_nonlocalized.as_deref(), Some("ERROR"));
    assert_eq!(db.position, Some(8));
    assert!(db.message.contains("nosuchcolumn"));
    assert!(db.file.is_some() && db.line.is_some() && db.routine.is_some());
    let e = c
        .simple_query("INSERT INTO pg_nosuch VALUES (1)")
        .await
        .unwrap_err();
    assert_eq!(e.sqlstate(), "42P01");
    c.batch_execute("CREATE TEMP TABLE u(k int PRIMARY KEY)")
        .await
        .unwrap();
    c.batch_execute("INSERT INTO u VALUES (1)").await.unwrap();
    let e = c
        .batch_execute("INSERT INTO u VALUES (1)")
        .await
        .unwrap_err();
    let db = e.as_db_error().unwrap();
    assert_eq!(db.code, "23505");
    assert_eq!(db.constraint.as_deref(), Some("u_pkey"));
    assert_eq!(db.table.as_deref(), Some("u"));
    assert!(db.detail.as_deref().unwrap().contains("(k)=(1)"));
    // Transaction status.
    c.batch_execute("BEGIN").await.unwrap();
    assert_eq!(c.transaction_status(), TransactionStatus::InTransaction);
    assert!(c.batch_execute("SELECT 1/0").await.is_err());
    assert_eq!(c.transaction_status(), TransactionStatus::Failed);
    assert_eq!(
        c.batch_execute("SELECT 1").await.unwrap_err().sqlstate(),
        "25P02"
    );
    c.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(c.transaction_status(), TransactionStatus::Idle);
    // Notices.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    c.set_notice_handler(move |n| s.lock().unwrap().push(n));
    c.batch_execute("DO $$BEGIN RAISE NOTICE 'hello %', 42 USING HINT = 'a hint'; END$$")
        .await
        .unwrap();
    c.batch_execute("DROP TABLE IF EXISTS no_such_table_here")
        .await
        .unwrap();
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].message, "hello 42");
        assert_eq!(seen[0].severity, "NOTICE");
        assert_eq!(seen[0].code, "00000");
        assert_eq!(seen[0].hint.as_deref(), Some("a hint"));
        assert_eq!(seen[1].code, "00000");
        assert!(seen[1].message.contains("does not exist, skipping"));
    }
    // ParameterStatus follows SET.
    c.batch_execute("SET application_name = 'renamed'")
        .await
        .unwrap();
    assert_eq!(c.parameter("application_name"), Some("renamed"));
    c.batch_execute("DROP TABLE u").await.unwrap();
}

async fn copy_in_out(c: &mut Client) {
    c.batch_execute("CREATE TEMP TABLE cp(i int, t text)")
        .await
        .unwrap();
    let mut expected = Vec::new();
    for i in 0..100_000 {
        expected.extend_from_slice(format!("{i}\trow {i}\n").as_bytes());
    }
    let mut w = c.copy_in("COPY cp FROM STDIN").await.unwrap();
    // Chunks that split rows.
    for chunk in expected.chunks(7777) {
        w.send(chunk).await.unwrap();
    }
    assert_eq!(w.finish().await.unwrap(), 100_000);
    assert_eq!(
        one_text(c, "SELECT count(*) FROM cp").await.as_deref(),
        Some("100000")
    );
    let mut r = c
        .copy_out("COPY (SELECT * FROM cp ORDER BY i) TO STDOUT")
        .await
        .unwrap();
    let mut got = Vec::new();
    while let Some(chunk) = r.next().await.unwrap() {
        got.extend_from_slice(&chunk);
    }
    assert_eq!(r.rows(), Some(100_000));
    assert!(got == expected, "COPY OUT differs from what went in");
    // Bad data: the server's error, connection still usable.
    let mut w = c.copy_in("COPY cp FROM STDIN").await.unwrap();
    w.send(b"notanumber\tx\n").await.unwrap();
    assert_eq!(w.finish().await.unwrap_err().sqlstate(), "22P02");
    // Abort.
    let mut w = c.copy_in("COPY cp FROM STDIN").await.unwrap();
    w.send(b"1\tx\n").await.unwrap();
    w.abort("changed my mind").await.unwrap();
    // Abandoned: dropped without finish.
    {
        let mut w = c.copy_in("COPY cp FROM STDIN").await.unwrap();
        w.send(b"1\tx\n").await.unwrap();
    }
    assert_eq!(
        one_text(c, "SELECT count(*) FROM cp").await.as_deref(),
        Some("100000")
    );
    // Not a COPY.
    assert!(matches!(c.copy_out("SELECT 1").await, Err(Error::Usage(_))));
    assert_eq!(one_text(c, "SELECT 2").await.as_deref(), Some("2"));
    c.batch_execute("DROP TABLE cp").await.unwrap();
}

async fn cancel(pg: &PgCluster) {
    for extra in ["", "sslmode=require"] {
        let mut c = connect(pg, "scram_user", extra).await.unwrap();
        let token = c.cancel_token();
        let started = Instant::now();
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            token.cancel().await
        });
        let e = c.simple_query("SELECT pg_sleep(10)").await.unwrap_err();
        assert_eq!(e.sqlstate(), "57014", "{e}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "took {:?}",
            started.elapsed()
        );
        canceller.await.unwrap().unwrap();
        // PostgreSQL signals a cancelled backend twice (process, then
        // process group); on a loaded machine the second signal can
        // cancel the next query: one retry.
        if let Err(e) = c.simple_query("SELECT 1").await {
            assert_eq!(e.sqlstate(), "57014", "{e}");
        }
        assert_eq!(
            one_text(&mut c, "SELECT 'still usable'").await.as_deref(),
            Some("still usable")
        );
    }
    // Over the Unix socket too.
    let mut c = admin(pg).await;
    let token = c.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        token.cancel().await
    });
    let st = c.prepare("SELECT pg_sleep(10)").await.unwrap();
    let started = Instant::now();
    assert_eq!(c.query(&st, &[]).await.unwrap_err().sqlstate(), "57014");
    assert!(started.elapsed() < Duration::from_secs(1));
    canceller.await.unwrap().unwrap();
}

async fn listen_notify(pg: &PgCluster) {
    let mut listener = connect(pg, "scram_user", "").await.unwrap();
    let mut notifier = connect(pg, "md5_user", "").await.unwrap();
    listener.batch_execute("LISTEN chan").await.unwrap();
    notifier
        .batch_execute("NOTIFY chan, 'hello'")
        .await
        .unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), listener.next_notification())
        .await
        .expect("notification within 5 s")
        .unwrap();
    assert_eq!(n.channel, "chan");
    assert_eq!(n.payload, "hello");
    assert_eq!(n.process_id, notifier.process_id());
    // Notifications that arrive during a query are queued.
    notifier
        .batch_execute("SELECT pg_notify('chan', 'two')")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    listener.batch_execute("SELECT 1").await.unwrap();
    let queued: Vec<_> = listener.take_notifications().collect();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].payload, "two");
}

async fn raw_level(c: &mut Client) {
    c.send_message(&FrontendMessage::Query(Query::new("SELECT 'raw'")));
    c.flush().await.unwrap();
    let mut seen = Vec::new();
    loop {
        let m = c.receive_message().await.unwrap();
        seen.push(m.name());
        if let BackendMessage::DataRow(r) = &m {
            assert_eq!(r.values.get(0), Some(Some(&b"raw"[..])));
        }
        if matches!(m, BackendMessage::ReadyForQuery(_)) {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            "RowDescription",
            "DataRow",
            "CommandComplete",
            "ReadyForQuery"
        ]
    );
    assert_eq!(
        one_text(c, "SELECT 'cooked'").await.as_deref(),
        Some("cooked")
    );
}

async fn streamed_million_rows(c: &mut Client) {
    // ~120 bytes a row: buffering the whole result would take >120 MB.
    let st = c
        .prepare("SELECT i, repeat('x', 100) FROM generate_series(1, 1000000) AS i")
        .await
        .unwrap();
    let before = rss_kib();
    let mut peak = before;
    let mut s = c.query_stream(&st, &[]).await.unwrap();
    let mut count = 0u64;
    let mut sum = 0i64;
    while let Some(r) = s.next().await.unwrap() {
        count += 1;
        sum += r.get::<i32>(0) as i64;
        if count % 50_000 == 0 {
            peak = peak.max(rss_kib());
        }
    }
    assert_eq!(s.tag(), Some("SELECT 1000000"));
    assert_eq!(count, 1_000_000);
    assert_eq!(sum, 500_000_500_000);
    let growth_mib = peak.saturating_sub(before) / 1024;
    println!(
        "million-row stream: RSS {before} KiB before, peak {peak} KiB, growth {growth_mib} MiB"
    );
    assert!(before > 0, "VmRSS not readable");
    assert!(
        growth_mib < 40,
        "memory grew by {growth_mib} MiB while streaming"
    );
}

fn example_binary(pg: &PgCluster) {
    // Built by `cargo test` next to the test binaries' directory.
    let exe = std::env::current_exe().unwrap();
    let Some(bin) = exe
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("examples/client"))
    else {
        return;
    };
    if !bin.exists() {
        println!("SKIPPED example_binary: {} not built", bin.display());
        return;
    }
    let conninfo = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=disable",
        pg.port
    );
    let out = std::process::Command::new(&bin)
        .args([
            conninfo.as_str(),
            "SELECT 1 AS a, NULL, 'x y' UNION ALL SELECT 2, 'n', 'z'",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1\t\\N\tx y\n2\tn\tz\nSELECT 2\n"
    );
    let out = std::process::Command::new(&bin)
        .args([conninfo.as_str(), "SELECT 1/0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ERROR 22012: division by zero\n"
    );
}
