//! The proxy example (examples/proxy/) in front of a real PostgreSQL 15
//! primary and a hot standby: real clients (tokio-postgres, psql,
//! pgbench) through it, in transaction and session pooling.

#[allow(dead_code)]
#[path = "common/pg_replica.rs"]
mod pg_replica;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;
#[path = "../examples/proxy/proxy.rs"]
mod proxy;

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use pg_replica::{PASSWORD, Replicated, USER};
use proxy::{PoolMode, ProxyConfig};

/// A proxy running on its own runtime thread (psql and pgbench block);
/// stopped on drop.
struct RunningProxy {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for RunningProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn start_proxy(cluster: &Replicated, mode: PoolMode, pool_size: usize) -> RunningProxy {
    let mut config = primary_config(cluster);
    for s in &cluster.standbys {
        config.replicas.push(Replicated::conninfo(s.port));
    }
    config.pool_mode = mode;
    config.pool_size = pool_size;
    config.admin_users.push(USER.into());
    config.wait_timeout = Duration::from_secs(3);
    config.health_interval = Duration::from_millis(500);
    start_proxy_with(config)
}

/// A proxy's settings: listening on an ephemeral port, the cluster's
/// primary as the backend, the test's user.
fn primary_config(cluster: &Replicated) -> ProxyConfig {
    ProxyConfig::new(
        ([127, 0, 0, 1], 0).into(),
        Replicated::conninfo(cluster.primary.port),
    )
    .user(USER, PASSWORD)
}

/// A port free on 127.0.0.1 now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed (and reaped) when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Writes `text` to `file` in a temporary directory named after `name`;
/// returns the directory (for the caller to remove) and the file.
fn temp_file(name: &str, file: &str, text: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("pgwire-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn start_proxy_with(config: ProxyConfig) -> RunningProxy {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let addr = spawn_proxy(move |listener| async move {
        tokio::select! {
            _ = proxy::run(config, listener) => {}
            _ = stopped => {}
        }
    });
    RunningProxy {
        addr,
        stop: Some(stop),
    }
}

/// Runs `serve` with a listener on 127.0.0.1 (an ephemeral port, returned)
/// on a runtime of its own thread: psql and pgbench block the test's.
fn spawn_proxy<F, Fut>(serve: F) -> SocketAddr
where
    F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let addr = std_listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
            serve(listener).await;
        });
        runtime.shutdown_background();
    });
    addr
}

/// The backend process serving `client`'s transaction (or, between
/// transactions, whichever connection the query takes).
async fn backend_pid(client: &tokio_postgres::Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pg_backend_pid()")
        .get(0)
}

/// The `int4` that `sql` returns.
async fn select_int(client: &tokio_postgres::Client, sql: &str) -> i32 {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// Waits until PostgreSQL process `pid` is gone from `pg_stat_activity`.
async fn wait_backend_gone(cluster: &Replicated, pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let query = format!("SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}");
    loop {
        let left = cluster
            .psql(cluster.primary.port, "postgres", &query)
            .expect("pg_stat_activity");
        if left.trim() == "0" {
            return;
        }
        assert!(Instant::now() < deadline, "backend {pid} did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn conninfo(proxy: &RunningProxy, db: &str) -> String {
    format!(
        "host=127.0.0.1 port={} user={USER} password={PASSWORD} dbname={db} sslmode=disable",
        proxy.addr.port()
    )
}

async fn connect(proxy: &RunningProxy, db: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&conninfo(proxy, db), tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect through the proxy to {db}: {e}"));
    tokio::spawn(conn);
    client
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn cluster_or_skip(name: &str, test: &str) -> Option<Replicated> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    match Replicated::start(name, 1, "") {
        Ok(c) => Some(c),
        Err(e) if e.contains("not installed") => {
            eprintln!("SKIPPED {test}: {e}");
            None
        }
        Err(e) => panic!("starting the primary and standby: {e}"),
    }
}

fn psql(proxy: &RunningProxy, db: &str, args: &[&str]) -> Output {
    Command::new("psql")
        .args(["-X", "-At", "-d", &conninfo(proxy, db)])
        .args(args)
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("run psql")
}

fn pgbench(proxy: &RunningProxy, args: &[&str]) -> Output {
    Command::new("pgbench")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &proxy.addr.port().to_string(),
            "-U",
            USER,
        ])
        .args(args)
        .arg("appdb")
        .env("PGPASSWORD", PASSWORD)
        .env("PGSSLMODE", "disable")
        .output()
        .expect("run pgbench")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_pooling_primary_and_standby() {
    let Some(cluster) = cluster_or_skip("proxy-tx", "transaction_pooling_primary_and_standby")
    else {
        return;
    };
    let proxy = start_proxy(&cluster, PoolMode::Transaction, 2);

    // Writes go to the primary; `_ro` reads are served by the standby.
    let rw = connect(&proxy, "appdb").await;
    rw.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one')",
    )
    .await
    .expect("create through the proxy");
    let rows = rw.query("SELECT pg_is_in_recovery()", &[]).await.unwrap();
    assert!(!rows[0].get::<_, bool>(0), "appdb must be the primary");
    cluster.wait_replayed(0).expect("standby caught up");
    let ro = connect(&proxy, "appdb_ro").await;
    let row = ro
        .query_one(
            "SELECT pg_is_in_recovery(), (SELECT v FROM t WHERE id = 1)",
            &[],
        )
        .await
        .unwrap();
    assert!(
        row.get::<_, bool>(0),
        "appdb_ro must be served by the standby"
    );
    assert_eq!(row.get::<_, String>(1), "one");
    let err = ro
        .execute("INSERT INTO t VALUES (2, 'two')", &[])
        .await
        .expect_err("the standby is read-only");
    assert_eq!(err.code().map(|c| c.code()), Some("25006"));

    // 8 clients on a pool of 2, each with prepared statements used across
    // many transactions (each may land on another backend connection).
    let mut tasks = Vec::new();
    for c in 0..8i32 {
        let client = connect(&proxy, "appdb").await;
        tasks.push(tokio::spawn(async move {
            let add = client.prepare("SELECT $1::int + $2::int").await.unwrap();
            let pid = client.prepare("SELECT pg_backend_pid()").await.unwrap();
            let mut pids = std::collections::HashSet::new();
            for i in 0..40i32 {
                let row = client.query_one(&add, &[&c, &i]).await.unwrap();
                assert_eq!(row.get::<_, i32>(0), c + i);
                pids.insert(client.query_one(&pid, &[]).await.unwrap().get::<_, i32>(0));
            }
            pids
        }));
    }
    let mut all_pids = std::collections::HashSet::new();
    for t in tasks {
        all_pids.extend(t.await.expect("client task"));
    }
    assert!(
        all_pids.len() <= 2,
        "a pool of 2 uses at most 2 backend connections, saw {all_pids:?}"
    );

    // An error in a named Parse surfaces at the Parse, as PostgreSQL
    // reports it: with room in the pool (the Parse goes to a backend) and
    // with the pool full (checked on the side, without waiting in line).
    let err = rw.prepare("SELEC 1").await.expect_err("syntax error");
    assert_eq!(err.code().map(|c| c.code()), Some("42601"), "{err:?}");
    let mut holders = Vec::new();
    for _ in 0..2 {
        let h = connect(&proxy, "appdb").await;
        h.batch_execute("BEGIN; SELECT 1").await.unwrap();
        holders.push(h);
    }
    let third = connect(&proxy, "appdb").await;
    let started = Instant::now();
    let err = third
        .prepare("SELECT * FROM no_such_table")
        .await
        .expect_err("undefined table");
    assert_eq!(err.code().map(|c| c.code()), Some("42P01"), "{err:?}");
    let err = third.prepare("SELEC 2").await.expect_err("syntax error");
    assert_eq!(err.code().map(|c| c.code()), Some("42601"), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered without waiting for the full pool"
    );
    for h in &holders {
        h.batch_execute("COMMIT").await.unwrap();
    }
    let st = third.prepare("SELECT 40 + 2").await.unwrap();
    assert_eq!(
        third.query_one(&st, &[]).await.unwrap().get::<_, i32>(0),
        42
    );
    drop((holders, third));

    // Each client keeps its own settings (application_name from its
    // startup packet, TimeZone from its SET) whichever connection serves
    // its next transaction.
    let mut settings_clients = Vec::new();
    for (name, zone) in [("alpha", "Asia/Tokyo"), ("beta", "America/New_York")] {
        let (c, conn) = tokio_postgres::connect(
            &format!("{} application_name={name}", conninfo(&proxy, "appdb")),
            tokio_postgres::NoTls,
        )
        .await
        .unwrap();
        tokio::spawn(conn);
        c.batch_execute(&format!("SET TimeZone = '{zone}'"))
            .await
            .unwrap();
        settings_clients.push((c, name, zone));
    }
    for _ in 0..10 {
        for (c, name, zone) in &settings_clients {
            let row = c
                .query_one(
                    "SELECT current_setting('application_name'), current_setting('TimeZone')",
                    &[],
                )
                .await
                .unwrap();
            assert_eq!(row.get::<_, String>(0), *name);
            assert_eq!(row.get::<_, String>(1), *zone);
        }
    }
    drop(settings_clients);

    // Settings PostgreSQL does not report, set by a client's SET (a simple
    // Query) or set_config (a Parse, as pg_dump's), are read back when its
    // transaction ends and set on whichever connection serves it next; a
    // RESET and a rolled-back SET are followed too. Other clients, and the
    // next client of a connection it used, see the defaults. Pool of 2:
    // `plain` holding one connection in a transaction every other round
    // makes the setter use both.
    let plain = connect(&proxy, "appdb").await;
    let defaults = "SELECT current_setting('statement_timeout'), current_setting('work_mem'), \
                    current_setting('search_path'), \
                    NOT EXISTS (SELECT FROM pg_class WHERE relnamespace = pg_my_temp_schema()), \
                    pg_backend_pid()";
    let fresh = plain.query_one(defaults, &[]).await.unwrap();
    let default_work_mem: String = fresh.get(1);
    let default_path: String = fresh.get(2);
    for by_parse in [false, true] {
        let setter = connect(&proxy, "appdb").await;
        if by_parse {
            setter
                .query_one(
                    "SELECT set_config('statement_timeout', '4321', false), \
                     set_config('search_path', '', false)",
                    &[],
                )
                .await
                .unwrap();
        } else {
            setter
                .batch_execute("SET statement_timeout = 4321; SET search_path = ''")
                .await
                .unwrap();
        }
        setter
            .batch_execute(
                "BEGIN; SET work_mem = '3MB'; COMMIT; \
                 BEGIN; SET lock_timeout = 999; ROLLBACK",
            )
            .await
            .unwrap();
        let mut setter_pids = std::collections::HashSet::new();
        for i in 0..10 {
            if i == 6 {
                setter
                    .batch_execute("RESET statement_timeout")
                    .await
                    .unwrap();
            }
            if i % 2 == 0 {
                plain.batch_execute("BEGIN").await.unwrap();
            }
            let row = setter
                .query_one(
                    "SELECT current_setting('statement_timeout'), current_setting('work_mem'), \
                     current_setting('search_path'), current_setting('lock_timeout'), \
                     pg_catalog.pg_backend_pid()",
                    &[],
                )
                .await
                .unwrap();
            let timeout = if i < 6 { "4321ms" } else { "0" };
            assert_eq!(
                row.get::<_, String>(0),
                timeout,
                "by parse: {by_parse}, round {i}"
            );
            assert_eq!(row.get::<_, String>(1), "3MB");
            // As PostgreSQL shows an empty path set each way.
            let path = if by_parse { "" } else { "\"\"" };
            assert_eq!(row.get::<_, String>(2), path);
            assert_eq!(
                row.get::<_, String>(3),
                "0",
                "the rolled-back SET is not kept"
            );
            setter_pids.insert(row.get::<_, i32>(4));
            // Meanwhile another client sees none of it.
            let row = plain.query_one(defaults, &[]).await.unwrap();
            assert_eq!(row.get::<_, String>(0), "0");
            assert_eq!(row.get::<_, String>(1), default_work_mem);
            assert_eq!(row.get::<_, String>(2), default_path);
            if i % 2 == 0 {
                plain.batch_execute("COMMIT").await.unwrap();
            }
        }
        assert_eq!(
            setter_pids.len(),
            2,
            "the setter was served by both connections"
        );
        drop(setter);
        // A client leaving right after its SET (while the proxy reads the
        // setting back) leaves its connection reusable.
        let quick = connect(&proxy, "appdb").await;
        quick.batch_execute("SET work_mem = '5MB'").await.unwrap();
        drop(quick);
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Both connections, held at once, have the defaults back.
        let next = [
            connect(&proxy, "appdb").await,
            connect(&proxy, "appdb").await,
        ];
        for c in &next {
            c.batch_execute("BEGIN").await.unwrap();
            let row = c.query_one(defaults, &[]).await.unwrap();
            assert_eq!(row.get::<_, String>(0), "0");
            assert_eq!(row.get::<_, String>(1), default_work_mem);
            assert_eq!(row.get::<_, String>(2), default_path);
            let pid = row.get::<_, i32>(4);
            assert!(
                setter_pids.contains(&pid),
                "connection {pid} reused, not replaced"
            );
        }
        drop(next);
    }

    // Session state the proxy does not follow (here a temporary table)
    // keeps a client on its connection until it leaves; the next client of
    // that connection gets it discarded.
    let keeper = connect(&proxy, "appdb").await;
    keeper
        .batch_execute("CREATE TEMP TABLE scratch (x int); SET work_mem = '3MB'")
        .await
        .unwrap();
    let mut keeper_pid = 0;
    for i in 0..10 {
        keeper
            .execute("INSERT INTO pg_temp.scratch VALUES ($1)", &[&i])
            .await
            .unwrap();
        let row = keeper
            .query_one(
                "SELECT current_setting('work_mem'), (SELECT count(*) FROM pg_temp.scratch), \
                 pg_catalog.pg_backend_pid()",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "3MB");
        assert_eq!(row.get::<_, i64>(1), i64::from(i) + 1);
        let pid: i32 = row.get(2);
        assert!(
            keeper_pid == 0 || keeper_pid == pid,
            "the client kept its connection"
        );
        keeper_pid = pid;
        let row = plain.query_one(defaults, &[]).await.unwrap();
        assert_eq!(row.get::<_, String>(1), default_work_mem);
        assert_ne!(row.get::<_, i32>(4), keeper_pid);
    }
    drop(keeper);
    // Its connection comes back discarded: with `plain` holding the other
    // one in a transaction, the next client gets it.
    plain.batch_execute("BEGIN").await.unwrap();
    let next = connect(&proxy, "appdb").await;
    let row = next.query_one(defaults, &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(4), keeper_pid);
    assert_eq!(row.get::<_, String>(1), default_work_mem);
    assert!(row.get::<_, bool>(3), "no temporary table left");
    plain.batch_execute("COMMIT").await.unwrap();
    drop(plain);

    // DROP DATABASE, ALTER DATABASE ... RENAME and CREATE DATABASE ...
    // TEMPLATE through the proxy, by a simple Query or the extended
    // protocol: its own idle connections to that database (a client's,
    // gone back to the pool) are closed first, or PostgreSQL would refuse
    // (55006, "being accessed by other users").
    cluster
        .psql(
            cluster.primary.port,
            "postgres",
            &format!("CREATE DATABASE dropme OWNER {USER}"),
        )
        .unwrap();
    cluster
        .psql(
            cluster.primary.port,
            "postgres",
            &format!("ALTER ROLE {USER} CREATEDB"),
        )
        .unwrap();
    for statement in [
        "CREATE DATABASE copied TEMPLATE dropme",
        "ALTER DATABASE dropme RENAME TO renamed",
        "DROP DATABASE renamed",
        "DROP DATABASE copied",
    ] {
        let database = statement.split_whitespace().nth(2).unwrap();
        let database = match database {
            "copied" if statement.starts_with("CREATE") => "dropme",
            d => d,
        };
        // A simple Query, or a named statement prepared before the visitor
        // came (its Parse found no connection to close; its run must).
        // It is prepared while two other clients hold both of appdb's
        // connections, so its Parse is answered without one (checked on
        // the pool's checker connection) and its Describe waits.
        let prepared = if statement.starts_with("DROP DATABASE renamed") {
            let holders = [
                connect(&proxy, "appdb").await,
                connect(&proxy, "appdb").await,
            ];
            for holder in &holders {
                holder.batch_execute("BEGIN; SELECT 1").await.unwrap();
            }
            let prepare = rw.prepare(statement);
            tokio::pin!(prepare);
            assert!(
                tokio::time::timeout(Duration::from_millis(300), &mut prepare)
                    .await
                    .is_err(),
                "the pool is full: the Describe waits for a connection"
            );
            for holder in &holders {
                holder.batch_execute("COMMIT").await.unwrap();
            }
            Some(prepare.await.unwrap())
        } else {
            None
        };
        let visitor = connect(&proxy, database).await;
        visitor.batch_execute("SELECT 1").await.unwrap();
        drop(visitor);
        let started = Instant::now();
        let done = match &prepared {
            Some(prepared) => rw.execute(prepared, &[]).await.map(drop),
            // A Parse after the visitor left (as pgJDBC sends every
            // statement).
            None if statement == "DROP DATABASE copied" => {
                rw.execute(statement, &[]).await.map(drop)
            }
            None => rw.batch_execute(statement).await,
        };
        done.unwrap_or_else(|e| panic!("{statement}: the proxy's idle connections hold it: {e}"));
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{statement}: without PostgreSQL's wait for other sessions"
        );
    }

    // Settings from the startup `options` (and other startup parameters)
    // are each client's own, whichever connection serves it; a client
    // without them sees the defaults. A setting PostgreSQL refuses ends
    // the startup with its error.
    rw.batch_execute(
        "CREATE SCHEMA s1; CREATE SCHEMA s2; \
         CREATE TABLE s1.which (v text); INSERT INTO s1.which VALUES ('one'); \
         CREATE TABLE s2.which (v text); INSERT INTO s2.which VALUES ('two')",
    )
    .await
    .unwrap();
    let mut option_clients = Vec::new();
    for (options, path, which, work_mem) in [
        ("-c search_path=s1 -c work_mem=2MB", "s1", "one", "2MB"),
        ("--search-path=s2,public", "s2,public", "two", "4MB"),
        ("", "\"$user\", public", "", "4MB"),
    ] {
        let mut config: tokio_postgres::Config = conninfo(&proxy, "appdb").parse().unwrap();
        if !options.is_empty() {
            config.options(options);
        }
        let (c, conn) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        option_clients.push((c, path, which, work_mem));
    }
    for round in 0..12 {
        if round == 6 {
            // As in PostgreSQL, RESET goes back to the startup value.
            option_clients[0]
                .0
                .batch_execute("RESET work_mem")
                .await
                .unwrap();
            // The next client of that connection (the client without
            // options first) sees none of the other startup settings.
            option_clients.reverse();
        }
        for (c, path, which, work_mem) in &option_clients {
            let row = c
                .query_one(
                    "SELECT current_setting('search_path'), current_setting('work_mem'), \
                     (SELECT string_agg(v, ',') FROM which)",
                    &[],
                )
                .await;
            if which.is_empty() {
                // No `which` on the default search_path.
                let err = row.expect_err("no table on the default path");
                assert_eq!(err.code().map(|c| c.code()), Some("42P01"), "{err:?}");
                let row = c
                    .query_one(
                        "SELECT current_setting('search_path'), current_setting('work_mem')",
                        &[],
                    )
                    .await
                    .unwrap();
                assert_eq!(row.get::<_, String>(0), *path);
                assert_eq!(row.get::<_, String>(1), *work_mem);
                continue;
            }
            let row = row.unwrap();
            assert_eq!(row.get::<_, String>(0), *path);
            assert_eq!(row.get::<_, String>(1), *work_mem);
            assert_eq!(row.get::<_, String>(2), *which);
        }
    }
    drop(option_clients);
    for (options, code) in [
        ("-c no_such_setting=1", "42704"),
        ("-c work_mem=banana", "22023"),
    ] {
        let mut config: tokio_postgres::Config = conninfo(&proxy, "appdb").parse().unwrap();
        config.options(options);
        let Err(err) = config.connect(tokio_postgres::NoTls).await else {
            panic!("options {options} must be refused");
        };
        assert_eq!(err.code().map(|c| c.code()), Some(code), "{err:?}");
    }

    // A transaction keeps its backend connection.
    let mut tx_client = connect(&proxy, "appdb").await;
    let tx = tx_client.transaction().await.unwrap();
    tx.execute("INSERT INTO t VALUES (10, 'ten')", &[])
        .await
        .unwrap();
    let seen: i64 = tx
        .query_one("SELECT count(*) FROM t WHERE id = 10", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 1);
    tx.rollback().await.unwrap();
    let after: i64 = rw
        .query_one("SELECT count(*) FROM t WHERE id = 10", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(after, 0, "rolled back");

    // Errors pass through with their fields; the session goes on.
    let err = rw
        .query("SELECT 1/0", &[])
        .await
        .expect_err("division by zero");
    assert_eq!(err.code().map(|c| c.code()), Some("22012"));
    assert_eq!(select_int(&rw, "SELECT 2").await, 2);

    // LISTEN is refused under transaction pooling.
    let err = rw
        .batch_execute("LISTEN ch")
        .await
        .expect_err("LISTEN refused");
    assert_eq!(err.code().map(|c| c.code()), Some("0A000"));
    let message = err
        .as_db_error()
        .map(|e| e.message().to_owned())
        .unwrap_or_default();
    assert!(message.contains("transaction pooling"), "{message}");

    // COPY in and out.
    let sink = rw
        .copy_in("COPY t (id, v) FROM STDIN")
        .await
        .expect("COPY FROM STDIN");
    {
        use futures_util::SinkExt;
        let mut sink = Box::pin(sink);
        let mut data = String::new();
        for i in 100..1100 {
            data.push_str(&format!("{i}\tv{i}\n"));
        }
        sink.send(bytes::Bytes::from(data)).await.unwrap();
        let n = sink.as_mut().finish().await.unwrap();
        assert_eq!(n, 1000);
    }
    let stream = rw
        .copy_out("COPY (SELECT id, v FROM t WHERE id >= 100 ORDER BY id) TO STDOUT")
        .await
        .unwrap();
    let mut stream = Box::pin(stream);
    let mut out = Vec::new();
    {
        use futures_util::StreamExt;
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
    }
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.lines().count(), 1000);
    assert!(out.starts_with("100\tv100\n"));

    // Cancel: the proxy's BackendKeyData reaches the backend running the
    // query.
    let sleeper = connect(&proxy, "appdb").await;
    let token = sleeper.cancel_token();
    let started = Instant::now();
    let sleep = tokio::spawn(async move { sleeper.query("SELECT pg_sleep(20)", &[]).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    token
        .cancel_query(tokio_postgres::NoTls)
        .await
        .expect("send the cancel");
    let err = sleep.await.unwrap().expect_err("cancelled");
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // psql through the proxy.
    if have("psql") {
        let o = psql(&proxy, "appdb", &["-c", "SELECT v FROM t WHERE id = 1"]);
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "one");
        let o = Command::new("psql")
            .args(["-X", "-At", "-d", &conninfo(&proxy, "appdb")])
            .args(["-c", "SELECT v FROM which"])
            .env("PGOPTIONS", "-c search_path=s2")
            .output()
            .expect("run psql");
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            "two",
            "{}",
            text(&o)
        );
        let o = psql(&proxy, "appdb_ro", &["-c", "SELECT pg_is_in_recovery()"]);
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            "t",
            "{}",
            text(&o)
        );
    } else {
        eprintln!("SKIPPED psql part: psql is not installed");
    }

    // pgbench in every query mode, prepared included.
    if have("pgbench") {
        let o = pgbench(&proxy, &["-i", "-s", "1", "-q"]);
        assert!(o.status.success(), "pgbench -i: {}", text(&o));
        for mode in ["simple", "extended", "prepared"] {
            let o = pgbench(&proxy, &["-M", mode, "-c", "8", "-j", "2", "-t", "50"]);
            let t = text(&o);
            assert!(o.status.success(), "pgbench -M {mode}: {t}");
            assert!(
                t.contains("number of transactions actually processed: 400/400"),
                "pgbench -M {mode}: {t}"
            );
            assert!(t.contains("number of failed transactions: 0"), "{t}");
        }
    } else {
        eprintln!("SKIPPED pgbench part: pgbench is not installed");
    }

    check_psycopg(&proxy, "py_tx");
    check_asyncpg(&proxy);
    check_jdbc(&proxy);

    // The admin console counts what went through.
    let admin = connect(&proxy, "pgwire").await;
    let rows = admin.simple_query("SHOW POOLS").await.unwrap();
    let pools: Vec<_> = rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .collect();
    assert!(
        pools.iter().any(|r| r.get("database") == Some("appdb")
            && r.get("role") == Some("primary")
            && r.get("pool_size") == Some("2")),
        "SHOW POOLS lists appdb's primary pool"
    );
    let stats = admin.simple_query("SHOW STATS").await.unwrap();
    let queries: u64 = stats
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                r.get("total_query_count")?.parse::<u64>().ok()
            }
            _ => None,
        })
        .sum();
    assert!(queries > 400, "SHOW STATS counts queries: {queries}");
    check_prometheus_exporter(&proxy).await;
    check_clients_and_servers(&cluster).await;
    check_graceful_shutdown(&cluster, PoolMode::Transaction).await;
    check_max_clients(&cluster).await;
    check_max_server_connections(&cluster).await;
    check_server_aging(&cluster).await;
    check_replica_lag(&cluster).await;
    check_scram_pass_through(&cluster).await;
    check_proxy_protocol(&cluster).await;
    check_binary(&cluster).await;
    check_reconnect(&cluster).await;

    // A client sending garbage is ended alone.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut raw = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
        raw.write_all(b"\x00\x00\x00\x08\x04\xd2\x16\x2fgarbage!!")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut buf)).await;
    }
    assert_eq!(select_int(&rw, "SELECT 3").await, 3);

    // The standby stops: with no client traffic at all, the health probe
    // takes it out of rotation within seconds (SHOW POOLS says so), `_ro`
    // reads fall back to the primary, and once the standby is up again
    // the probe puts it back before any client asks for it.
    drop((ro, rw));
    cluster.stop_standby(0).expect("stop the standby");
    let seen = wait_for_standby_state(&admin, "down").await;
    assert!(seen < Duration::from_secs(5), "down after {seen:?}");
    let ro2 = connect(&proxy, "appdb_ro").await;
    let in_recovery: bool = ro2
        .query_one("SELECT pg_is_in_recovery()", &[])
        .await
        .expect("read with the standby down")
        .get(0);
    assert!(
        !in_recovery,
        "served by the primary while the standby is down"
    );
    drop(ro2);
    cluster.start_standby(0).expect("restart the standby");
    let seen = wait_for_standby_state(&admin, "up").await;
    assert!(seen < Duration::from_secs(5), "up after {seen:?}");
    let ro3 = connect(&proxy, "appdb_ro").await;
    let in_recovery: bool = ro3
        .query_one("SELECT pg_is_in_recovery()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(in_recovery, "the standby is back in rotation");
}

/// Polls `SHOW POOLS` until the standby pool of `appdb` is in `state`;
/// returns how long that took (panics after 15 s).
/// The rows of an admin console command, as (column, value) maps.
async fn admin_rows(
    admin: &tokio_postgres::Client,
    command: &str,
) -> Vec<std::collections::HashMap<String, String>> {
    admin
        .simple_query(command)
        .await
        .unwrap_or_else(|e| panic!("{command}: {e}"))
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                r.columns()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.name().to_owned(), r.get(i).unwrap_or("").to_owned()))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// PgBouncer's Prometheus exporter (`prometheus-pgbouncer-exporter` from
/// PyPI) reads the admin console as it reads PgBouncer's: `SHOW STATS`,
/// `SHOW POOLS` (its `maxwait` arithmetic needs numbers), `SHOW DATABASES`
/// and `SHOW CONFIG` all answer, so it reports `pgbouncer_up 1`, with
/// appdb's pool among its gauges.
async fn check_prometheus_exporter(proxy: &RunningProxy) {
    if !Command::new("python3")
        .args(["-c", "import prometheus_pgbouncer_exporter.cli"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("SKIPPED exporter part: prometheus-pgbouncer-exporter is not installed");
        return;
    }
    let port = free_port();
    let (dir, cfg) = temp_file(
        "exporter",
        "exporter.yml",
        &format!(
            "exporter_host: 127.0.0.1\nexporter_port: {port}\npgbouncers:\n  - dsn: \
             postgresql://{USER}:{PASSWORD}@127.0.0.1:{}/pgwire?sslmode=disable\n    \
             connect_timeout: 5\n",
            proxy.addr.port()
        ),
    );
    let _exporter = KillOnDrop(
        Command::new("python3")
            .args([
                "-c",
                "import sys; from prometheus_pgbouncer_exporter.cli import main; main()",
                "--config",
            ])
            .arg(&cfg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the exporter"),
    );
    let scrape = || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        Some(body)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let metrics = loop {
        if let Some(body) = scrape() {
            if body.contains("pgbouncer_up ") {
                break body;
            }
        }
        assert!(Instant::now() < deadline, "the exporter did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        metrics.lines().any(|l| l == "pgbouncer_up 1.0"),
        "the exporter read every console command: {metrics}"
    );
    assert!(
        metrics.lines().any(|l| l.starts_with(
            "pgbouncer_pools_server_idle_connections{database=\"appdb\",user=\"app\"}"
        )),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("pgbouncer_stats_queries_total{database=\"appdb\"}")),
        "{metrics}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `SHOW CLIENTS` and `SHOW SERVERS` on a proxy of its own (pool of 2): a
/// client in a transaction and a client pinned by a temporary table are
/// shown active on the backends `pg_backend_pid()` names, a third in line
/// is shown waiting, and once the transaction ends its connection is
/// shown idle and the waiting client is served.
async fn check_clients_and_servers(cluster: &Replicated) {
    let proxy = start_proxy(cluster, PoolMode::Transaction, 2);
    let admin = connect(&proxy, "pgwire").await;
    let help = admin_rows(&admin, "SHOW HELP").await;
    for command in ["SHOW POOLS", "SHOW STATS", "SHOW CLIENTS", "SHOW SERVERS"] {
        assert!(
            help.iter().any(|r| r["command"] == command),
            "SHOW HELP lists {command}: {help:?}"
        );
    }
    let config = admin_config(&admin).await;
    let value = |key: &str| config.get(key).cloned();
    assert_eq!(value("pool_size").as_deref(), Some("2"));
    assert_eq!(value("pool_mode").as_deref(), Some("transaction"));
    assert_eq!(value("users").as_deref(), Some(USER));
    let version = admin_rows(&admin, "SHOW VERSION").await;
    assert!(
        version[0]["version"].starts_with("pgwire proxy "),
        "{version:?}"
    );
    let err = admin.simple_query("SHOW NOTHING").await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::FEATURE_NOT_SUPPORTED)
    );

    let in_transaction = connect(&proxy, "appdb").await;
    in_transaction.batch_execute("BEGIN").await.unwrap();
    let busy_pid = backend_pid(&in_transaction).await;
    let pinned = connect(&proxy, "appdb").await;
    pinned
        .batch_execute("CREATE TEMP TABLE admin_pinned (x int)")
        .await
        .unwrap();
    let pinned_pid = backend_pid(&pinned).await;
    assert_ne!(busy_pid, pinned_pid);
    let waiter = tokio::spawn({
        let conninfo = conninfo(&proxy, "appdb");
        async move {
            let (c, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            c.query_one("SELECT 7", &[]).await.unwrap().get::<_, i32>(0)
        }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let clients = loop {
        let rows = admin_rows(&admin, "SHOW CLIENTS").await;
        if rows.iter().any(|r| r["state"] == "waiting") || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        clients.len(),
        3,
        "three clients (the console is not one): {clients:?}"
    );
    let by_server = |pid: i32| {
        clients
            .iter()
            .find(|r| r["server_pid"] == pid.to_string())
            .unwrap_or_else(|| panic!("a client on backend {pid}: {clients:?}"))
    };
    let busy = by_server(busy_pid);
    assert_eq!(
        (busy["state"].as_str(), busy["pinned"].as_str()),
        ("active", "no")
    );
    assert_eq!(busy["database"], "appdb");
    assert_eq!(busy["addr"], "127.0.0.1");
    assert!(busy["port"].parse::<u16>().is_ok(), "{busy:?}");
    let held = by_server(pinned_pid);
    assert_eq!(
        (held["state"].as_str(), held["pinned"].as_str()),
        ("active", "yes")
    );
    let waiting: Vec<_> = clients.iter().filter(|r| r["state"] == "waiting").collect();
    assert_eq!(waiting.len(), 1, "{clients:?}");
    assert_eq!(waiting[0]["server_pid"], "");
    // SHOW POOLS: how long the client waiting longest has waited.
    let max_wait = || async {
        let pools = admin_rows(&admin, "SHOW POOLS").await;
        let appdb = pools
            .iter()
            .find(|r| r["database"] == "appdb" && r["role"] == "primary")
            .cloned()
            .expect("appdb's pool");
        assert_eq!(appdb["cl_waiting"], "1");
        Duration::from_secs(appdb["maxwait"].parse().unwrap())
            + Duration::from_micros(appdb["maxwait_us"].parse().unwrap())
    };
    let first = max_wait().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = max_wait().await;
    assert!(
        later >= first + Duration::from_millis(300),
        "maxwait grows while the client waits: {first:?} then {later:?}"
    );

    // The extended protocol (tokio-postgres' `query`: Parse, Describe,
    // Bind with binary results, Execute) reads the same.
    let extended = admin.query("SHOW CLIENTS", &[]).await.unwrap();
    let mut states: Vec<String> = extended.iter().map(|r| r.get("state")).collect();
    states.sort();
    assert_eq!(states, ["active", "active", "waiting"]);

    // The pool's two, and its checker connection: the waiting client's
    // Parse (tokio-postgres names its statements) was checked there,
    // outside the pool's bound, rather than waiting in line.
    let servers = admin_rows(&admin, "SHOW SERVERS").await;
    let mut states: Vec<&str> = servers.iter().map(|r| r["state"].as_str()).collect();
    states.sort();
    assert_eq!(states, ["active", "active", "checker"], "{servers:?}");
    for (pid, client) in [(busy_pid, busy), (pinned_pid, held)] {
        let row = servers
            .iter()
            .find(|r| r["pid"] == pid.to_string())
            .unwrap_or_else(|| panic!("backend {pid} in SHOW SERVERS: {servers:?}"));
        assert_eq!(row["state"], "active");
        assert_eq!(row["client_pid"], client["pid"]);
        assert_eq!(row["client_port"], client["port"]);
    }

    // The transaction ends: the waiting client gets that connection, and
    // then it is idle.
    in_transaction.batch_execute("COMMIT").await.unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiting client is served")
            .unwrap(),
        7
    );
    let pools = admin_rows(&admin, "SHOW POOLS").await;
    assert!(
        pools
            .iter()
            .all(|r| r["maxwait"] == "0" && r["maxwait_us"] == "0"),
        "no one waits any more: {pools:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let servers = admin_rows(&admin, "SHOW SERVERS").await;
        let busy = servers.iter().find(|r| r["pid"] == busy_pid.to_string());
        if busy.is_some_and(|r| r["state"] == "idle" && r["client_pid"].is_empty()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "backend {busy_pid} idle: {servers:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let clients = loop {
        let clients = admin_rows(&admin, "SHOW CLIENTS").await;
        if clients.len() == 2 {
            break clients;
        }
        assert!(Instant::now() < deadline, "the waiter left: {clients:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        clients
            .iter()
            .any(|r| r["state"] == "idle" && r["server_pid"].is_empty()),
        "the client whose transaction ended is idle: {clients:?}"
    );
    drop(pinned);
    let deadline = Instant::now() + Duration::from_secs(5);
    while admin_rows(&admin, "SHOW CLIENTS").await.len() != 1 {
        assert!(
            Instant::now() < deadline,
            "the pinned client is gone from SHOW CLIENTS"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `max_clients` 3: two clients and the admin console get in, one more
/// is refused with 53300 at connect time, and once a client leaves another
/// gets its place.
async fn check_max_clients(cluster: &Replicated) {
    let mut config = primary_config(cluster);
    config.max_clients = 3;
    config.health_interval = Duration::ZERO;
    let proxy = start_proxy_with(config);
    let first = connect(&proxy, "appdb").await;
    let second = connect(&proxy, "appdb").await;
    let admin = connect(&proxy, "pgwire").await;
    let refused = tokio_postgres::connect(&conninfo(&proxy, "appdb"), tokio_postgres::NoTls).await;
    let e = refused.err().expect("a fourth client is refused");
    assert_eq!(
        e.code(),
        Some(&tokio_postgres::error::SqlState::TOO_MANY_CONNECTIONS)
    );
    assert_eq!(admin_rows(&admin, "SHOW CLIENTS").await.len(), 2);
    // Not an --admin-user here: SHOW only.
    let e = admin.simple_query("PAUSE").await.unwrap_err();
    assert_eq!(
        e.code(),
        Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
    );
    assert_eq!(select_int(&second, "SELECT 2").await, 2);
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    let third = loop {
        match tokio_postgres::connect(&conninfo(&proxy, "appdb"), tokio_postgres::NoTls).await {
            Ok((client, conn)) => {
                tokio::spawn(conn);
                break client;
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "a place is free again: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert_eq!(select_int(&third, "SELECT 3").await, 3);
}

/// `server_idle_timeout`: a backend connection left idle is closed (the
/// backend process exits) and the next query opens another.
/// `server_lifetime`: a connection in steady use is replaced once it is
/// that old, between transactions.
async fn check_server_aging(cluster: &Replicated) {
    let config = |idle: u64, lifetime: u64| {
        let mut config = primary_config(cluster);
        config.health_interval = Duration::ZERO;
        config.server_idle_timeout = Duration::from_secs(idle);
        config.server_lifetime = Duration::from_secs(lifetime);
        config
    };

    let proxy = start_proxy_with(config(1, 0));
    let client = connect(&proxy, "appdb").await;
    let first = backend_pid(&client).await;
    assert_eq!(backend_pid(&client).await, first, "reused while fresh");
    wait_backend_gone(cluster, first).await;
    let admin = connect(&proxy, "pgwire").await;
    let pools = admin_rows(&admin, "SHOW POOLS").await;
    assert!(pools.iter().all(|r| r["sv_open"] == "0"), "{pools:?}");
    assert_ne!(backend_pid(&client).await, first, "a new connection");

    // The checker connection ages too: opened by a named Parse while the
    // pool (of one) is held by a transaction.
    let mut small = config(1, 0);
    small.pool_size = 1;
    let proxy = start_proxy_with(small);
    let holder = connect(&proxy, "appdb").await;
    holder.batch_execute("BEGIN; SELECT 1").await.unwrap();
    let preparer = connect(&proxy, "appdb").await;
    let prepared = tokio::spawn(async move {
        preparer.prepare("SELECT 2").await.unwrap();
        preparer
    });
    let admin = connect(&proxy, "pgwire").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let checker = loop {
        let servers = admin_rows(&admin, "SHOW SERVERS").await;
        if let Some(r) = servers.iter().find(|r| r["state"] == "checker") {
            break r["pid"].parse::<i32>().unwrap();
        }
        assert!(Instant::now() < deadline, "no checker: {servers:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    holder.batch_execute("COMMIT").await.unwrap();
    let _preparer = prepared.await.unwrap();
    wait_backend_gone(cluster, checker).await;

    let proxy = start_proxy_with(config(0, 2));
    let client = connect(&proxy, "appdb").await;
    let first = backend_pid(&client).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pid = backend_pid(&client).await;
        if pid != first {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "connection {first} replaced at its lifetime"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_backend_gone(cluster, first).await;
}

/// `max_replica_lag`: with the standby's replay paused while the primary
/// writes, the health probe finds its lag, `SHOW POOLS` says `lagging`,
/// and `_ro` reads go to the primary; once replay resumes the standby
/// serves them again. The same when the standby loses its WAL stream.
async fn check_replica_lag(cluster: &Replicated) {
    let standby = cluster.standbys[0].port;
    let mut config = primary_config(cluster);
    config.replicas.push(Replicated::conninfo(standby));
    config.health_interval = Duration::from_millis(200);
    config.max_replica_lag = Duration::from_secs(1);
    let proxy = start_proxy_with(config);
    let reader = connect(&proxy, "appdb_ro").await;
    let admin = connect(&proxy, "pgwire").await;
    let in_recovery = || async {
        let row = reader
            .query_one("SELECT pg_is_in_recovery()", &[])
            .await
            .unwrap();
        row.get::<_, bool>(0)
    };
    let standby_state = || async {
        let pools = admin_rows(&admin, "SHOW POOLS").await;
        let row = pools
            .iter()
            .find(|r| r["database"] == "appdb" && r["role"] == "standby")
            .cloned()
            .expect("the standby's pool");
        (row["state"].clone(), row["replay_lag_s"].clone())
    };
    assert!(in_recovery().await, "the standby serves _ro");

    cluster
        .psql(standby, "postgres", "SELECT pg_wal_replay_pause()")
        .expect("pause replay");
    // Until SHOW POOLS says `lagging` (the lag past the 1 s limit, shown
    // in whole milliseconds), with `write` run on the primary each time.
    let until_lagging = |write: &'static str| async move {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if !write.is_empty() {
                cluster
                    .psql(cluster.primary.port, "appdb", write)
                    .expect("write on the primary");
            }
            let (state, lag) = standby_state().await;
            if state == "lagging" {
                assert!(lag.parse::<f64>().unwrap() >= 1.0, "lag {lag}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the standby never showed lagging: {state} {lag}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    until_lagging("CREATE TABLE IF NOT EXISTS lag_rows (x int); INSERT INTO lag_rows VALUES (1)")
        .await;
    assert!(
        !in_recovery().await,
        "a lagging standby serves no reads: the primary does"
    );

    cluster
        .psql(standby, "postgres", "SELECT pg_wal_replay_resume()")
        .expect("resume replay");
    let deadline = Instant::now() + Duration::from_secs(15);
    while standby_state().await.0 != "up" {
        assert!(Instant::now() < deadline, "the standby caught up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(in_recovery().await, "back in rotation");

    // Cut off from its primary, a standby has replayed all it received,
    // so by its replay position it looks current while the primary
    // writes on: it counts as stale from when it lost its stream.
    let conninfo = cluster
        .psql(standby, "postgres", "SHOW primary_conninfo")
        .expect("read primary_conninfo");
    let set_conninfo = |value: &str| {
        cluster
            .psql(
                standby,
                "postgres",
                &format!(
                    "ALTER SYSTEM SET primary_conninfo = '{}'",
                    value.trim().replace('\'', "''")
                ),
            )
            .expect("set primary_conninfo");
        cluster
            .psql(standby, "postgres", "SELECT pg_reload_conf()")
            .expect("reload");
    };
    set_conninfo("host=127.0.0.1 port=1 connect_timeout=1");
    cluster
        .psql(
            cluster.primary.port,
            "appdb",
            &format!("INSERT INTO lag_rows VALUES (2); GRANT SELECT ON lag_rows TO {USER}"),
        )
        .expect("write on the primary");
    until_lagging("").await;
    // Who serves `_ro`, and whether it has the row written meanwhile.
    let server_and_row = || async {
        let row = reader
            .query_one(
                "SELECT pg_is_in_recovery(), count(*) FROM lag_rows WHERE x = 2",
                &[],
            )
            .await
            .unwrap();
        (row.get::<_, bool>(0), row.get::<_, i64>(1))
    };
    assert_eq!(
        server_and_row().await,
        (false, 1),
        "the primary serves _ro meanwhile, with the new row"
    );

    set_conninfo(&conninfo);
    let deadline = Instant::now() + Duration::from_secs(30);
    while standby_state().await.0 != "up" {
        assert!(Instant::now() < deadline, "the standby streams again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cluster.wait_replayed(0).expect("the standby catches up");
    assert_eq!(
        server_and_row().await,
        (true, 1),
        "the standby serves _ro again, with the row it had missed"
    );
}

/// A user given as the SCRAM verifier PostgreSQL stores for it (read from
/// `pg_authid`): the proxy checks clients against it and logs in to the
/// primary and the standby with the keys a client proved, never knowing
/// the password. A verifier the backends do not store (same password,
/// another salt) lets clients in at the proxy, but the backends refuse its
/// keys, and the client is told so.
async fn check_scram_pass_through(cluster: &Replicated) {
    let verifier = stored_verifier(cluster);
    let verifier = verifier.as_str();
    assert!(verifier.starts_with("SCRAM-SHA-256$"), "{verifier}");
    let with_user = |password: &str| {
        let mut config = ProxyConfig::new(
            ([127, 0, 0, 1], 0).into(),
            Replicated::conninfo(cluster.primary.port),
        )
        .user(USER, password);
        config
            .replicas
            .push(Replicated::conninfo(cluster.standbys[0].port));
        config.health_interval = Duration::from_millis(200);
        config
    };
    let proxy = start_proxy_with(with_user(verifier));
    let rw = connect(&proxy, "appdb").await;
    let row = rw
        .query_one("SELECT current_user::text, pg_is_in_recovery()", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), USER);
    assert!(
        !row.get::<_, bool>(1),
        "the primary, logged in to with keys"
    );
    let ro = connect(&proxy, "appdb_ro").await;
    let row = ro
        .query_one("SELECT current_user::text, pg_is_in_recovery()", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), USER);
    assert!(row.get::<_, bool>(1), "the standby, with the same keys");

    let wrong = format!(
        "host=127.0.0.1 port={} user={USER} password=wrong dbname=appdb sslmode=disable",
        proxy.addr.port()
    );
    let err = tokio_postgres::connect(&wrong, tokio_postgres::NoTls)
        .await
        .err()
        .expect("a wrong password is refused");
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD)
    );

    if have("psql") {
        let out = Command::new("psql")
            .args(["-X", "-At", "-h", "127.0.0.1", "-p"])
            .arg(proxy.addr.port().to_string())
            .args(["-U", USER, "-d", "appdb", "-c", "SELECT current_user"])
            .env("PGPASSWORD", PASSWORD)
            .env("PGSSLMODE", "disable")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql through a verifier-only user: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), USER);
    } else {
        eprintln!("SKIPPED psql part of the SCRAM pass-through check: psql is not installed");
    }

    check_auth_query(cluster).await;

    let other_salt = pgwire::api::auth::ScramVerifier::generate(PASSWORD).to_string();
    let proxy = start_proxy_with(with_user(&other_salt));
    // The proxy logs in to the backend during the client's startup (for
    // its ParameterStatus values): that is where the refusal shows.
    let err = tokio_postgres::connect(&conninfo(&proxy, "appdb"), tokio_postgres::NoTls)
        .await
        .err()
        .expect("the backend refuses keys of a verifier it does not store");
    let db = err.as_db_error().expect("an error from the proxy");
    assert_eq!(
        db.code(),
        &tokio_postgres::error::SqlState::INVALID_PASSWORD,
        "{db:?}"
    );
    assert!(
        db.message().contains("password authentication failed"),
        "{db:?}"
    );
}

/// `--auth-user` / `--auth-query`, as PgBouncer's docs set them up: a
/// login role that may only run a `SECURITY DEFINER` function reading
/// `pg_shadow`. A role the proxy is not given logs in with its
/// PostgreSQL password, on the primary and the standby; a wrong password
/// and an unknown role get 28P01; after `ALTER ROLE ... PASSWORD` the new
/// password works (and the proxy's new backend connections use it), the
/// old one no longer does.
async fn check_auth_query(cluster: &Replicated) {
    let primary = cluster.primary.port;
    for sql in [
        "CREATE ROLE auth_lookup LOGIN PASSWORD 'lookup-secret'",
        "CREATE ROLE looked_up LOGIN PASSWORD 'found-secret'",
        "CREATE FUNCTION public.user_lookup(name text, OUT usename text, OUT passwd text) \
         RETURNS record LANGUAGE sql SECURITY DEFINER \
         AS $$ SELECT usename::text, passwd::text FROM pg_catalog.pg_shadow WHERE usename = name $$",
        "REVOKE ALL ON FUNCTION public.user_lookup(text) FROM public",
        "GRANT EXECUTE ON FUNCTION public.user_lookup(text) TO auth_lookup",
    ] {
        cluster.psql(primary, "postgres", sql).expect(sql);
    }
    cluster.wait_replayed(0).expect("the standby has the roles");
    let mut config = ProxyConfig::new(([127, 0, 0, 1], 0).into(), Replicated::conninfo(primary))
        .user("auth_lookup", "lookup-secret");
    config
        .replicas
        .push(Replicated::conninfo(cluster.standbys[0].port));
    config.auth_user = Some("auth_lookup".into());
    config.auth_query = "SELECT usename, passwd FROM public.user_lookup($1)".into();
    config.health_interval = Duration::from_millis(200);
    let proxy = start_proxy_with(config);
    let login = |user: &str, password: &str, db: &str| {
        format!(
            "host=127.0.0.1 port={} user={user} password={password} dbname={db} sslmode=disable",
            proxy.addr.port()
        )
    };
    let connect_as = |conninfo: String| async move {
        let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        Ok::<_, tokio_postgres::Error>(client)
    };
    let whoami = |client: tokio_postgres::Client| async move {
        let row = client
            .query_one("SELECT current_user::text, pg_is_in_recovery()", &[])
            .await
            .unwrap();
        (row.get::<_, String>(0), row.get::<_, bool>(1))
    };
    let rw = connect_as(login("looked_up", "found-secret", "appdb"))
        .await
        .expect("a looked-up role logs in");
    assert_eq!(whoami(rw).await, ("looked_up".to_owned(), false));
    let ro = connect_as(login("looked_up", "found-secret", "appdb_ro"))
        .await
        .unwrap();
    assert_eq!(whoami(ro).await, ("looked_up".to_owned(), true));
    for (user, password) in [("looked_up", "wrong"), ("no_such_role", "x")] {
        let err = connect_as(login(user, password, "appdb"))
            .await
            .expect_err("refused");
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD),
            "{user}: {err}"
        );
    }

    cluster
        .psql(
            primary,
            "postgres",
            "ALTER ROLE looked_up PASSWORD 'new-secret'",
        )
        .unwrap();
    let err = connect_as(login("looked_up", "found-secret", "appdb"))
        .await
        .expect_err("the old password no longer works");
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD)
    );
    // A database not visited yet: a new pool, a new backend connection.
    let fresh = connect_as(login("looked_up", "new-secret", "postgres"))
        .await
        .expect("the new password works");
    assert_eq!(whoami(fresh).await, ("looked_up".to_owned(), false));

    let admin = connect_as(login("auth_lookup", "lookup-secret", "pgwire"))
        .await
        .unwrap();
    let config = admin_config(&admin).await;
    assert_eq!(config["auth_user"], "auth_lookup");
    assert_eq!(config["auth_dbname"], "postgres");
    let users: Vec<(String, String)> = admin_rows(&admin, "SHOW USERS")
        .await
        .into_iter()
        .map(|r| (r["name"].clone(), r["source"].clone()))
        .collect();
    assert_eq!(
        users,
        [
            ("auth_lookup".to_owned(), "given".to_owned()),
            ("looked_up".to_owned(), "auth_query".to_owned())
        ]
    );
    // The console is for the proxy's own users, not every role.
    let err = connect_as(login("looked_up", "new-secret", "pgwire"))
        .await
        .expect_err("a looked-up role on the admin console");
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
        "{err}"
    );

    // A lookup that fails tells the client no more than that.
    let mut config = ProxyConfig::new(([127, 0, 0, 1], 0).into(), Replicated::conninfo(primary))
        .user("auth_lookup", "lookup-secret");
    config.auth_user = Some("auth_lookup".into());
    config.auth_query = "SELECT usename, passwd FROM pg_shadow WHERE usename = $1".into();
    config.health_interval = Duration::ZERO;
    let denied = start_proxy_with(config);
    let err = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=looked_up password=new-secret dbname=appdb sslmode=disable",
            denied.addr.port()
        ),
        tokio_postgres::NoTls,
    )
    .await
    .err()
    .expect("pg_shadow is not auth_lookup's to read");
    let db = err.as_db_error().expect("an error from the proxy");
    assert_eq!(
        db.code(),
        &tokio_postgres::error::SqlState::CONNECTION_FAILURE
    );
    assert!(
        db.message().contains("cannot look up user") && !db.message().contains("pg_shadow"),
        "{}",
        db.message()
    );
}

/// The SCRAM verifier the primary stores for the test's user.
fn stored_verifier(cluster: &Replicated) -> String {
    cluster
        .psql(
            cluster.primary.port,
            "postgres",
            &format!("SELECT rolpassword FROM pg_authid WHERE rolname = '{USER}'"),
        )
        .expect("read the stored verifier")
        .trim()
        .to_owned()
}

/// `SHOW CONFIG` on the admin console, as key to value.
async fn admin_config(admin: &tokio_postgres::Client) -> std::collections::HashMap<String, String> {
    admin_rows(admin, "SHOW CONFIG")
        .await
        .into_iter()
        .map(|mut r| (r.remove("key").unwrap(), r.remove("value").unwrap()))
        .collect()
}

/// `--proxy-protocol required` behind a real HAProxy (`send-proxy-v2`):
/// `SHOW CLIENTS` shows the client's own address and port, not HAProxy's,
/// the admin console is reached through it too, and a client that
/// connects directly (no header) is closed.
async fn check_proxy_protocol(cluster: &Replicated) {
    if !Command::new("haproxy")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("SKIPPED proxy protocol part: haproxy is not installed");
        return;
    }
    let mut config = primary_config(cluster);
    config.proxy_protocol = pgwire::server::ProxyProtocolMode::Required;
    config.proxy_trusted.push("127.0.0.1/32".parse().unwrap());
    let proxy = start_proxy_with(config);

    let front = free_port();
    let (dir, cfg) = temp_file(
        "proxy-haproxy",
        "haproxy.cfg",
        &format!(
            "global\n    maxconn 100\n\ndefaults\n    mode tcp\n    timeout connect 5s\n    \
             timeout client 60s\n    timeout server 60s\n\nfrontend pg\n    \
             bind 127.0.0.1:{front}\n    default_backend pooler\n\nbackend pooler\n    \
             server proxy {} send-proxy-v2\n",
            proxy.addr
        ),
    );
    let _haproxy = KillOnDrop(
        Command::new("haproxy")
            .arg("-f")
            .arg(&cfg)
            .arg("-db")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start haproxy"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", front)).is_err() {
        assert!(Instant::now() < deadline, "haproxy did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A client through HAProxy, on a socket whose port the test knows.
    let through_haproxy = |db: &'static str| async move {
        let socket = tokio::net::TcpStream::connect(("127.0.0.1", front))
            .await
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let config: tokio_postgres::Config =
            format!("user={USER} password={PASSWORD} dbname={db} sslmode=disable")
                .parse()
                .unwrap();
        let (client, conn) = config
            .connect_raw(socket, tokio_postgres::NoTls)
            .await
            .expect("through HAProxy");
        tokio::spawn(conn);
        (client, port)
    };
    let (client, port) = through_haproxy("appdb").await;
    assert_eq!(select_int(&client, "SELECT 5").await, 5);
    let (admin, _) = through_haproxy("pgwire").await;
    let clients = admin_rows(&admin, "SHOW CLIENTS").await;
    assert!(
        clients
            .iter()
            .any(|r| r["addr"] == "127.0.0.1" && r["port"] == port.to_string()),
        "the client on port {port} is listed with its own address: {clients:?}"
    );
    let direct = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_postgres::connect(&conninfo(&proxy, "appdb"), tokio_postgres::NoTls),
    )
    .await
    .expect("a direct connection is answered (closed), not left hanging");
    assert!(direct.is_err(), "no PROXY header: closed");
    drop(client);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--max-server-connections 2` with pools of 2 for appdb and postgres:
/// with one connection of each in a transaction, a second appdb client
/// waits (the server is full and nothing is idle), and when the postgres
/// client commits, its now idle connection is closed to make room; with
/// both held through the wait, 53300. The proxy never has more than two
/// connections to the server.
async fn check_max_server_connections(cluster: &Replicated) {
    let mut config = primary_config(cluster);
    config.pool_size = 2;
    config.max_server_connections = 2;
    config.wait_timeout = Duration::from_secs(2);
    config.health_interval = Duration::ZERO;
    let proxy = start_proxy_with(config);
    let admin = connect(&proxy, "pgwire").await;
    let servers = || async {
        let rows = admin_rows(&admin, "SHOW SERVERS").await;
        rows.iter().filter(|r| r["state"] != "checker").count()
    };
    let a = connect(&proxy, "appdb").await;
    let p = connect(&proxy, "postgres").await;
    a.batch_execute("BEGIN; SELECT 1").await.unwrap();
    p.batch_execute("BEGIN; SELECT 1").await.unwrap();
    assert_eq!(servers().await, 2);

    let c = connect(&proxy, "appdb").await;
    let waiting = tokio::spawn(async move {
        let n = select_int(&c, "SELECT 7").await;
        (c, n)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "the server is full: the client waits"
    );
    let started = Instant::now();
    p.batch_execute("COMMIT").await.unwrap();
    let (c, n) = waiting.await.unwrap();
    assert_eq!(n, 7);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "served once the postgres connection went idle"
    );
    assert_eq!(servers().await, 2, "never more than two");
    let pools = admin_rows(&admin, "SHOW POOLS").await;
    let open = |db: &str| {
        pools
            .iter()
            .find(|r| r["database"] == db)
            .map(|r| r["sv_open"].clone())
    };
    assert_eq!(open("appdb").as_deref(), Some("2"));
    assert_eq!(open("postgres").as_deref(), Some("0"), "closed for appdb");
    let databases = admin_rows(&admin, "SHOW DATABASES").await;
    let line = |db: &str| {
        databases.iter().find(|r| r["name"] == db).map(|r| {
            (
                r["current_connections"].clone(),
                r["max_connections"].clone(),
            )
        })
    };
    assert_eq!(
        line("appdb"),
        Some(("2".into(), "2".into())),
        "{databases:?}"
    );
    assert_eq!(line("postgres"), Some(("0".into(), "2".into())));

    // The postgres client takes the idle appdb connection's slot in turn;
    // then both are held and a third query times out.
    p.batch_execute("BEGIN; SELECT 1").await.unwrap();
    assert_eq!(servers().await, 2);
    let err = c.simple_query("SELECT 8").await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::TOO_MANY_CONNECTIONS),
        "{err}"
    );
    a.batch_execute("COMMIT").await.unwrap();
    p.batch_execute("COMMIT").await.unwrap();
    assert_eq!(select_int(&c, "SELECT 9").await, 9);
}

/// The proxy binary as a user runs it: `--help`, a bad option, users
/// from a `--users-file` in PgBouncer's format (here the user's stored
/// SCRAM verifier), the listening address from its log (`--listen
/// 127.0.0.1:0`), a user added to the file let in after SIGHUP, and
/// SIGTERM: the idle client gets 57P01 and the process exits 0.
async fn check_binary(cluster: &Replicated) {
    let Some(bin) = std::env::current_exe().ok().and_then(|exe| {
        let bin = exe.parent()?.parent()?.join("examples").join("proxy");
        bin.exists().then_some(bin)
    }) else {
        eprintln!("SKIPPED proxy binary part: the proxy example is not built next to this test");
        return;
    };
    let help = Command::new(&bin).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--users-file FILE"));
    let bad = Command::new(&bin).arg("--bogus").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown option --bogus"));

    let dir = std::env::temp_dir().join(format!("pgwire-proxy-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let users = dir.join("userlist.txt");
    // The user's SCRAM verifier as PostgreSQL stores it, not its password.
    std::fs::write(
        &users,
        format!(
            "# as PgBouncer reads it\n\"{USER}\" \"{}\"\n",
            stored_verifier(cluster)
        ),
    )
    .unwrap();
    let log_path = dir.join("proxy.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(&bin)
        .args(["--listen", "127.0.0.1:0", "--primary"])
        .arg(Replicated::conninfo(cluster.primary.port))
        .arg("--users-file")
        .arg(&users)
        .args(["--health-interval", "0", "--threads", "1"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start the proxy binary");
    let deadline = Instant::now() + Duration::from_secs(10);
    let port = loop {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        if let Some(addr) = text
            .lines()
            .find(|l| l.contains("proxy listening"))
            .and_then(|l| l.split("addr=").nth(1))
        {
            break addr
                .trim()
                .rsplit(':')
                .next()
                .unwrap()
                .parse::<u16>()
                .unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no 'proxy listening' line: {text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let conninfo = format!(
        "host=127.0.0.1 port={port} user={USER} password={PASSWORD} dbname=appdb sslmode=disable"
    );
    let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
        .await
        .expect("a user of the users file logs in");
    let conn = tokio::spawn(conn);
    assert_eq!(select_int(&client, "SELECT 1").await, 1);
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        text.contains("readable by other users"),
        "a world-readable users file is warned about: {text}"
    );

    // A user added to the file logs in after SIGHUP.
    cluster
        .psql(
            cluster.primary.port,
            "postgres",
            "CREATE ROLE reloaded LOGIN PASSWORD 'reloaded-secret'",
        )
        .expect("create a role");
    let reloaded = format!(
        "host=127.0.0.1 port={port} user=reloaded password=reloaded-secret dbname=appdb \
         sslmode=disable"
    );
    let refused = tokio_postgres::connect(&reloaded, tokio_postgres::NoTls)
        .await
        .err()
        .expect("not in the users file yet");
    assert_eq!(
        refused.code(),
        Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD)
    );
    let mut text = std::fs::read_to_string(&users).unwrap();
    text.push_str("\"reloaded\" \"reloaded-secret\"\n");
    std::fs::write(&users, text).unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let added = loop {
        match tokio_postgres::connect(&reloaded, tokio_postgres::NoTls).await {
            Ok((client, conn)) => {
                tokio::spawn(conn);
                break client;
            }
            Err(e) => assert!(Instant::now() < deadline, "never let in after SIGHUP: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let row = added
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "reloaded");
    assert_eq!(
        select_int(&client, "SELECT 2").await,
        2,
        "the first client goes on"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(ended_with(conn).await, "57P01");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the proxy exits after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The session's `lock_timeout`, by a simple query.
async fn lock_timeout(client: &tokio_postgres::Client) -> String {
    let rows = client.simple_query("SHOW lock_timeout").await.unwrap();
    rows.iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .expect("a row")
}

/// `RECONNECT`: a database default set after the pool's connections
/// opened (`ALTER DATABASE ... SET`) reaches a client only once they are
/// replaced; `RECONNECT` replaces the idle one at once and the one in a
/// transaction when that ends.
async fn check_reconnect(cluster: &Replicated) {
    let proxy = start_proxy(cluster, PoolMode::Transaction, 2);
    let admin = connect(&proxy, "pgwire").await;
    let client = connect(&proxy, "appdb").await;
    let busy = connect(&proxy, "appdb").await;
    // Two connections open before the ALTER: one held in a transaction,
    // one idle between the other client's queries.
    busy.batch_execute("BEGIN").await.unwrap();
    let busy_pid = backend_pid(&busy).await;
    assert_eq!(lock_timeout(&client).await, "0");
    let port = cluster.primary.port;
    cluster
        .psql(
            port,
            "postgres",
            "ALTER DATABASE appdb SET lock_timeout = '4321ms'",
        )
        .unwrap();
    assert_eq!(
        lock_timeout(&client).await,
        "0",
        "the pooled session keeps its value"
    );
    admin.simple_query("RECONNECT").await.expect("RECONNECT");
    assert_eq!(
        lock_timeout(&client).await,
        "4321ms",
        "a new session has the new default"
    );
    busy.batch_execute("COMMIT").await.unwrap();
    wait_backend_gone(cluster, busy_pid).await;
    cluster
        .psql(port, "postgres", "ALTER DATABASE appdb RESET lock_timeout")
        .unwrap();
}

/// A proxy served by `proxy::serve` on a runtime thread of its own: `stop`
/// begins its graceful shutdown, and `finished` reports when `serve`
/// returned.
struct StoppableProxy {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    finished: tokio::sync::oneshot::Receiver<Instant>,
}

fn start_stoppable_proxy(config: ProxyConfig) -> StoppableProxy {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (done, finished) = tokio::sync::oneshot::channel();
    let addr = spawn_proxy(move |listener| async move {
        let result = proxy::serve(config, listener, async {
            let _ = stopped.await;
        })
        .await;
        assert!(result.is_ok(), "serve: {result:?}");
        let _ = done.send(Instant::now());
    });
    StoppableProxy {
        addr,
        stop: Some(stop),
        finished,
    }
}

impl StoppableProxy {
    /// When `serve` returned (waiting up to 5 s for it).
    async fn served_until(&mut self) -> Instant {
        tokio::time::timeout(Duration::from_secs(5), &mut self.finished)
            .await
            .expect("serve returns")
            .unwrap()
    }
}

/// Connects, keeping the connection's own result (where an error the
/// server sends unasked, such as FATAL 57P01, surfaces).
async fn connect_watched(
    addr: SocketAddr,
    db: &str,
) -> (
    tokio_postgres::Client,
    tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>,
) {
    let conninfo = format!(
        "host=127.0.0.1 port={} user={USER} password={PASSWORD} dbname={db} sslmode=disable",
        addr.port()
    );
    let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
        .await
        .expect("connect through the proxy");
    (client, tokio::spawn(conn))
}

/// The code of the error a connection ended with.
async fn ended_with(conn: tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>) -> String {
    let result = tokio::time::timeout(Duration::from_secs(5), conn)
        .await
        .expect("the connection ends")
        .unwrap();
    let e = result.expect_err("ended by an error");
    e.code()
        .map(|c| c.code().to_owned())
        .unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

/// Graceful shutdown: no new connections; an idle client (and an admin
/// console client) is ended with 57P01 at once; a client in a transaction finishes it (its rows are
/// committed) and is ended after; `serve` returns when the last client is
/// gone, well before the timeout. Then, with a short timeout, a client
/// that keeps its transaction open is cut off when the timeout passes
/// and PostgreSQL rolls its work back.
async fn check_graceful_shutdown(cluster: &Replicated, mode: PoolMode) {
    let port = cluster.primary.port;
    cluster
        .psql(
            port,
            "appdb",
            &format!("CREATE TABLE shutdown_rows (x int); GRANT ALL ON shutdown_rows TO {USER}"),
        )
        .expect("create table");
    let new_config = |timeout: Duration| {
        let mut config = ProxyConfig::new(([127, 0, 0, 1], 0).into(), Replicated::conninfo(port))
            .user(USER, PASSWORD);
        config.pool_size = 2;
        config.pool_mode = mode;
        config.shutdown_timeout = timeout;
        config.health_interval = Duration::ZERO;
        config
    };

    let committed_rows = || {
        let sql = "SELECT string_agg(x::text, ',' ORDER BY x) FROM shutdown_rows";
        cluster.psql(port, "appdb", sql).unwrap().trim().to_owned()
    };
    let mut proxy = start_stoppable_proxy(new_config(Duration::from_secs(30)));
    let (idle, idle_conn) = connect_watched(proxy.addr, "appdb").await;
    idle.simple_query("SELECT 1").await.unwrap();
    let (console, console_conn) = connect_watched(proxy.addr, "pgwire").await;
    console.simple_query("SHOW POOLS").await.unwrap();
    let (busy, busy_conn) = connect_watched(proxy.addr, "appdb").await;
    busy.batch_execute("BEGIN; INSERT INTO shutdown_rows VALUES (1)")
        .await
        .unwrap();
    let began = Instant::now();
    proxy.stop.take().unwrap().send(()).unwrap();
    assert_eq!(
        ended_with(idle_conn).await,
        "57P01",
        "the idle client is ended"
    );
    assert_eq!(
        ended_with(console_conn).await,
        "57P01",
        "so is the admin console's client"
    );
    let refused = tokio::net::TcpStream::connect(proxy.addr).await;
    assert!(
        refused.is_err(),
        "no new connections once the shutdown began"
    );
    // The transaction goes on to its end.
    busy.batch_execute("INSERT INTO shutdown_rows VALUES (2); COMMIT")
        .await
        .expect("the transaction finishes during the shutdown");
    assert_eq!(ended_with(busy_conn).await, "57P01");
    let finished = proxy.served_until().await;
    assert!(
        finished - began < Duration::from_secs(10),
        "well before the 30 s timeout: {:?}",
        finished - began
    );
    assert_eq!(committed_rows(), "1,2");

    let mut proxy = start_stoppable_proxy(new_config(Duration::from_millis(800)));
    let (lingering, _conn) = connect_watched(proxy.addr, "appdb").await;
    lingering
        .batch_execute("BEGIN; INSERT INTO shutdown_rows VALUES (3)")
        .await
        .unwrap();
    let lingering_pid = backend_pid(&lingering).await;
    let began = Instant::now();
    proxy.stop.take().unwrap().send(()).unwrap();
    let finished = proxy.served_until().await;
    assert!(
        finished - began >= Duration::from_millis(800),
        "it waited for the transaction: {:?}",
        finished - began
    );
    // The runtime is gone with its connections: the backend sees the end
    // of its connection, rolls back and exits.
    wait_backend_gone(cluster, lingering_pid).await;
    assert_eq!(
        committed_rows(),
        "1,2",
        "the cut-off transaction's row is rolled back"
    );
}

async fn wait_for_standby_state(admin: &tokio_postgres::Client, state: &str) -> Duration {
    let started = Instant::now();
    loop {
        let rows = admin.simple_query("SHOW POOLS").await.unwrap();
        let now = rows.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r)
                if r.get("database") == Some("appdb") && r.get("role") == Some("standby") =>
            {
                r.get("state").map(str::to_owned)
            }
            _ => None,
        });
        if now.as_deref() == Some(state) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "standby pool still {now:?}, expected {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Notifications of a tokio-postgres connection, as a channel.
async fn connect_listening(
    proxy: &RunningProxy,
    db: &str,
) -> (
    tokio_postgres::Client,
    tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>,
) {
    let (client, mut conn) = tokio_postgres::connect(&conninfo(proxy, db), tokio_postgres::NoTls)
        .await
        .expect("connect through the proxy");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(m)) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            if let tokio_postgres::AsyncMessage::Notification(n) = m {
                let _ = tx.send(n);
            }
        }
    });
    (client, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_pooling_notify_reset_and_waits() {
    let Some(cluster) = cluster_or_skip("proxy-session", "session_pooling_notify_reset_and_waits")
    else {
        return;
    };
    let proxy = start_proxy(&cluster, PoolMode::Session, 2);

    // LISTEN/NOTIFY between two clients, each on its own backend.
    let (listener, mut notifications) = connect_listening(&proxy, "appdb").await;
    listener
        .batch_execute("LISTEN jobs")
        .await
        .expect("LISTEN in session mode");
    let notifier = connect(&proxy, "appdb").await;
    notifier
        .batch_execute("NOTIFY jobs, 'job 42'")
        .await
        .unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), notifications.recv())
        .await
        .expect("notification within 5 s")
        .expect("notification");
    assert_eq!(n.channel(), "jobs");
    assert_eq!(n.payload(), "job 42");
    drop(notifier);
    drop(listener);

    // A session's settings, prepared statements and temporary tables do
    // not leak to the next client of the same backend connection.
    let first = connect(&proxy, "appdb").await;
    first
        .batch_execute(
            "SET application_name = 'leaky'; CREATE TEMP TABLE scratch (x int); \
             PREPARE p AS SELECT 1",
        )
        .await
        .unwrap();
    let first_pids: Vec<i32> = vec![
        first
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0),
    ];
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Both connections of the pool are idle now: take both, so one of
    // them is the first client's.
    let a = connect(&proxy, "appdb").await;
    let b = connect(&proxy, "appdb").await;
    let mut reused = false;
    for c in [&a, &b] {
        let row = c
            .query_one(
                "SELECT pg_backend_pid(), current_setting('application_name'), \
                 (SELECT count(*) FROM pg_prepared_statements WHERE name = 'p'), \
                 to_regclass('pg_temp.scratch') IS NULL",
                &[],
            )
            .await
            .unwrap();
        let pid: i32 = row.get(0);
        reused |= first_pids.contains(&pid);
        assert_ne!(row.get::<_, String>(1), "leaky", "settings are reset");
        assert_eq!(row.get::<_, i64>(2), 0, "prepared statements are reset");
        assert!(row.get::<_, bool>(3), "temporary tables are dropped");
    }
    assert!(reused, "the first client's backend connection was reused");

    // The pool is full (2 sessions): a third client waits, then gets 53300.
    let started = Instant::now();
    let Err(err) = tokio_postgres::connect(&conninfo(&proxy, "appdb"), tokio_postgres::NoTls).await
    else {
        panic!("pool of 2 is full: the connection must be refused");
    };
    assert_eq!(err.code().map(|c| c.code()), Some("53300"), "{err:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "it waited first"
    );
    // A waiter gets the connection a leaving client gives back.
    let waiter = tokio::spawn({
        let info = conninfo(&proxy, "appdb");
        async move {
            let (c, conn) = tokio_postgres::connect(&info, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            c.query_one("SELECT 7", &[])
                .await
                .map(|r| r.get::<_, i32>(0))
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(a);
    assert_eq!(waiter.await.unwrap().expect("waiter served"), 7);
    drop(b);

    check_psycopg(&proxy, "py_session");
    check_session_drop_database(&cluster, &proxy).await;
    check_graceful_shutdown(&cluster, PoolMode::Session).await;
    if have("pgbench") {
        let o = pgbench(&proxy, &["-i", "-s", "1", "-q"]);
        assert!(o.status.success(), "pgbench -i: {}", text(&o));
        for mode in ["simple", "extended", "prepared"] {
            let o = pgbench(&proxy, &["-M", mode, "-c", "2", "-j", "2", "-t", "50"]);
            let t = text(&o);
            assert!(
                t.contains("number of transactions actually processed: 100/100"),
                "pgbench -M {mode} in session pooling: {t}"
            );
        }
    }
    let o = psql(&proxy, "appdb", &["-c", "SELECT 40 + 2"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "42",
        "{}",
        text(&o)
    );
    // Last: it restarts the primary.
    check_pause_and_restart(&cluster).await;
}

/// Session pooling: a named `DROP DATABASE` prepared before another client
/// visited that database still runs at once: each run closes the idle
/// connection the visitor left in the pool, as in transaction pooling
/// (PostgreSQL would wait 5 s for it, then refuse with 55006).
async fn check_session_drop_database(cluster: &Replicated, proxy: &RunningProxy) {
    let port = cluster.primary.port;
    cluster
        .psql(
            port,
            "postgres",
            &format!("CREATE DATABASE dropme_s OWNER {USER}"),
        )
        .unwrap();
    cluster
        .psql(port, "postgres", &format!("ALTER ROLE {USER} CREATEDB"))
        .unwrap();
    let rw = connect(proxy, "appdb").await;
    let drop_it = rw.prepare("DROP DATABASE dropme_s").await.unwrap();
    let visitor = connect(proxy, "dropme_s").await;
    visitor.batch_execute("SELECT 1").await.unwrap();
    drop(visitor);
    let admin = connect(proxy, "pgwire").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let pools = admin_rows(&admin, "SHOW POOLS").await;
        let idle = pools
            .iter()
            .any(|r| r["database"] == "dropme_s" && r["sv_idle"] == "1");
        if idle {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the visitor's connection is idle in its pool: {pools:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    rw.execute(&drop_it, &[])
        .await
        .expect("the proxy's idle connection does not hold the database");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// `PAUSE` on the admin console waits for the transaction in progress,
/// holds the next query, and lets PostgreSQL restart under the clients:
/// after `RESUME` the held query runs and every client goes on without an
/// error. A cancelled `PAUSE` is undone. `PAUSE db` / `RESUME db` hold one
/// database's clients only; `KILL db` ends them.
async fn check_pause_and_restart(cluster: &Replicated) {
    let proxy = start_proxy(cluster, PoolMode::Transaction, 2);
    let admin = connect(&proxy, "pgwire").await;
    let writer = connect(&proxy, "appdb").await;
    let reader = connect(&proxy, "appdb").await;
    writer
        .batch_execute("CREATE TABLE pause_rows (x int)")
        .await
        .unwrap();
    // Both connections of the pool open, one idle when PAUSE begins.
    reader.batch_execute("BEGIN; SELECT 1").await.unwrap();
    writer
        .batch_execute("BEGIN; INSERT INTO pause_rows VALUES (1)")
        .await
        .unwrap();
    reader.batch_execute("COMMIT").await.unwrap();
    let pause = tokio::spawn({
        let admin = connect(&proxy, "pgwire").await;
        async move { admin.simple_query("PAUSE").await.map(|_| ()) }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!pause.is_finished(), "PAUSE waits for the open transaction");
    let held = tokio::spawn(async move {
        let n: i64 = reader
            .query_one("SELECT count(*) FROM pause_rows", &[])
            .await?
            .get(0);
        Ok::<_, tokio_postgres::Error>((n, reader))
    });
    writer
        .batch_execute("INSERT INTO pause_rows VALUES (2); COMMIT")
        .await
        .expect("the transaction finishes while PAUSE waits");
    tokio::time::timeout(Duration::from_secs(5), pause)
        .await
        .expect("PAUSE completes once the transaction ended")
        .unwrap()
        .expect("PAUSE");
    let pools = admin_rows(&admin, "SHOW POOLS").await;
    let appdb = pools
        .iter()
        .find(|r| r["database"] == "appdb" && r["role"] == "primary")
        .expect("appdb's pool");
    assert_eq!(appdb["paused"], "yes");
    assert_eq!(
        (appdb["sv_active"].as_str(), appdb["sv_open"].as_str()),
        ("0", "0")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!held.is_finished(), "a query waits while paused");

    cluster.restart_primary().expect("restart the primary");
    admin.simple_query("RESUME").await.expect("RESUME");
    let (n, reader) = tokio::time::timeout(Duration::from_secs(10), held)
        .await
        .expect("the held query runs after RESUME")
        .unwrap()
        .expect("no error for the held query across the restart");
    assert_eq!(n, 2);
    assert_eq!(
        writer
            .query_one("SELECT 3", &[])
            .await
            .expect("the writer goes on")
            .get::<_, i32>(0),
        3
    );
    assert_eq!(select_int(&reader, "SELECT 4").await, 4);
    let err = admin.simple_query("RESUME").await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE)
    );

    // A PAUSE cancelled while it waits is undone.
    writer.batch_execute("BEGIN").await.unwrap();
    writer.query_one("SELECT 5", &[]).await.unwrap();
    let pauser = connect(&proxy, "pgwire").await;
    let cancel = pauser.cancel_token();
    let pause = tokio::spawn(async move { pauser.simple_query("PAUSE").await.map(|_| ()) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    cancel.cancel_query(tokio_postgres::NoTls).await.unwrap();
    let e = tokio::time::timeout(Duration::from_secs(5), pause)
        .await
        .expect("the cancelled PAUSE ends")
        .unwrap()
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some(&tokio_postgres::error::SqlState::QUERY_CANCELED)
    );
    let pools = admin_rows(&admin, "SHOW POOLS").await;
    assert!(pools.iter().all(|r| r["paused"] == "no"), "{pools:?}");
    writer.batch_execute("COMMIT").await.unwrap();
    assert_eq!(
        connect(&proxy, "appdb")
            .await
            .query_one("SELECT 6", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        6
    );

    // `PAUSE appdb` waits for appdb's transaction only, holds appdb's
    // clients, and leaves the other databases' clients alone.
    let other = connect(&proxy, "postgres").await;
    other.batch_execute("BEGIN; SELECT 1").await.unwrap();
    writer.batch_execute("BEGIN; SELECT 1").await.unwrap();
    let pause = tokio::spawn({
        let admin = connect(&proxy, "pgwire").await;
        async move { admin.simple_query("PAUSE appdb").await.map(|_| ()) }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !pause.is_finished(),
        "PAUSE appdb waits for appdb's transaction"
    );
    writer.batch_execute("COMMIT").await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), pause)
        .await
        .expect("PAUSE appdb completes with postgres' transaction still open")
        .unwrap()
        .expect("PAUSE appdb");
    let pools = admin_rows(&admin, "SHOW POOLS").await;
    let paused = |db: &str| {
        pools
            .iter()
            .find(|r| r["database"] == db && r["role"] == "primary")
            .map(|r| r["paused"].clone())
    };
    assert_eq!(paused("appdb").as_deref(), Some("yes"));
    assert_eq!(paused("postgres").as_deref(), Some("no"));
    let held = tokio::spawn(async move { select_int(&writer, "SELECT 7").await });
    assert_eq!(
        select_int(&other, "SELECT 8").await,
        8,
        "another database goes on"
    );
    other.batch_execute("COMMIT").await.unwrap();
    assert_eq!(held_until_resumed(&admin, "RESUME appdb", held).await, 7);
    let err = admin.simple_query("RESUME appdb").await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE)
    );

    // `KILL appdb` ends appdb's clients at once, idle or in a transaction
    // (which rolls back), leaves postgres' alone, and keeps appdb paused
    // until `RESUME appdb`.
    let (in_tx, in_tx_conn) = connect_watched(proxy.addr, "appdb").await;
    in_tx
        .batch_execute("BEGIN; INSERT INTO pause_rows VALUES (99)")
        .await
        .unwrap();
    let (_idle, idle_conn) = connect_watched(proxy.addr, "appdb").await;
    let other = connect(&proxy, "postgres").await;
    admin.simple_query("KILL appdb").await.expect("KILL appdb");
    assert_eq!(ended_with(in_tx_conn).await, "57P01");
    assert_eq!(ended_with(idle_conn).await, "57P01");
    assert_eq!(select_int(&other, "SELECT 9").await, 9, "postgres goes on");
    let (late, _late_conn) = connect_watched(proxy.addr, "appdb").await;
    let late = tokio::spawn(async move {
        let n: i64 = late
            .query_one("SELECT count(*) FROM pause_rows WHERE x = 99", &[])
            .await
            .unwrap()
            .get(0);
        n
    });
    assert_eq!(
        held_until_resumed(&admin, "RESUME appdb", late).await,
        0,
        "the killed transaction rolled back"
    );
}

/// Asserts that `task` (a client's query) still waits after 300 ms,
/// sends `resume` on the admin console, and returns what `task` gives
/// once served (within 5 s).
async fn held_until_resumed<T>(
    admin: &tokio_postgres::Client,
    resume: &str,
    task: tokio::task::JoinHandle<T>,
) -> T {
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!task.is_finished(), "the client waits until {resume}");
    admin.simple_query(resume).await.expect(resume);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap_or_else(|_| panic!("served after {resume}"))
        .unwrap()
}

/// psycopg 3 with server-side prepared statements from the first use
/// (`prepare_threshold=0`): named Parse/Bind through the proxy, and a
/// `SET` kept across its transactions.
fn check_psycopg(proxy: &RunningProxy, table: &str) {
    if Command::new("python3")
        .args(["-c", "import psycopg"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
    {
        let script = format!(
            "import psycopg, sys\n\
            with psycopg.connect(sys.argv[1], prepare_threshold=0) as c:\n\
            \x20   for i in range(20):\n\
            \x20       r = c.execute('SELECT %s::int * 2', (i,)).fetchone()\n\
            \x20       assert r[0] == i * 2, r\n\
            \x20   c.execute('CREATE TABLE IF NOT EXISTS {table} (x int)')\n\
            \x20   c.execute('INSERT INTO {table} VALUES (%s)', (5,))\n\
            \x20   c.commit()\n\
            \x20   c.execute('SET statement_timeout = 7777')\n\
            \x20   c.commit()\n\
            \x20   for i in range(5):\n\
            \x20       r = c.execute(\"SELECT current_setting('statement_timeout')\").fetchone()\n\
            \x20       assert r[0] == '7777ms', r\n\
            \x20       c.commit()\n\
            \x20   print(c.execute('SELECT sum(x) FROM {table}').fetchone()[0])\n"
        );
        let o = Command::new("python3")
            .args(["-c", &script, &conninfo(proxy, "appdb")])
            .output()
            .expect("python3");
        assert!(o.status.success(), "psycopg: {}", text(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "5");
    } else {
        eprintln!("SKIPPED psycopg part: python3 with psycopg is not installed");
    }
}

/// A fake backend: authenticates everyone, then answers the first query
/// with `answer` and closes.
async fn fake_backend(answer: &'static [u8]) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut len = [0u8; 4];
                s.read_exact(&mut len).await?;
                let mut startup = vec![0u8; u32::from_be_bytes(len) as usize - 4];
                s.read_exact(&mut startup).await?;
                s.write_all(b"R\0\0\0\x08\0\0\0\0K\0\0\0\x0c\0\0\0\x07\0\0\0\x09Z\0\0\0\x05I")
                    .await?;
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await?;
                s.write_all(answer).await?;
                s.shutdown().await?;
                Ok::<_, std::io::Error>(())
            });
        }
    });
    addr
}

/// A fake backend that answers every simple Query with CommandComplete
/// and ReadyForQuery, except the proxy's settings read-back
/// (`current_setting`), which it answers after `delay`: with ErrorResponse
/// 57014 if a CancelRequest came meanwhile, as PostgreSQL would, else with
/// a row of `value`s. Returns its address and the count of CancelRequests.
async fn read_back_backend(
    delay: Duration,
    value: &'static str,
) -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cancels = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = cancels.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut len = [0u8; 4];
                s.read_exact(&mut len).await?;
                let mut startup = vec![0u8; u32::from_be_bytes(len) as usize - 4];
                s.read_exact(&mut startup).await?;
                if startup.starts_with(&80877102u32.to_be_bytes()) {
                    seen.fetch_add(1, Ordering::SeqCst);
                    return Ok::<_, std::io::Error>(());
                }
                s.write_all(b"R\0\0\0\x08\0\0\0\0K\0\0\0\x0c\0\0\0\x07\0\0\0\x09Z\0\0\0\x05I")
                    .await?;
                loop {
                    let mut head = [0u8; 5];
                    s.read_exact(&mut head).await?;
                    let len = u32::from_be_bytes(head[1..5].try_into().unwrap()) as usize;
                    let mut body = vec![0u8; len - 4];
                    s.read_exact(&mut body).await?;
                    match head[0] {
                        b'X' => return Ok(()),
                        b'Q' if String::from_utf8_lossy(&body).contains("current_setting") => {
                            let before = seen.load(Ordering::SeqCst);
                            tokio::time::sleep(delay).await;
                            if seen.load(Ordering::SeqCst) > before {
                                let e =
                                    b"SERROR\0C57014\0Mcanceling statement due to user request\0\0";
                                s.write_all(b"E").await?;
                                s.write_all(&(4 + e.len() as u32).to_be_bytes()).await?;
                                s.write_all(e).await?;
                            } else {
                                let n = String::from_utf8_lossy(&body)
                                    .matches("current_setting")
                                    .count();
                                let mut row = vec![b'D', 0, 0, 0, 0];
                                row.extend_from_slice(&(n as u16).to_be_bytes());
                                for _ in 0..n {
                                    row.extend_from_slice(&(value.len() as u32).to_be_bytes());
                                    row.extend_from_slice(value.as_bytes());
                                }
                                let row_len = (row.len() - 1) as u32;
                                row[1..5].copy_from_slice(&row_len.to_be_bytes());
                                s.write_all(&row).await?;
                                s.write_all(b"C\0\0\0\x0dSELECT 1\0").await?;
                            }
                            s.write_all(b"Z\0\0\0\x05I").await?;
                        }
                        b'Q' => s.write_all(b"C\0\0\0\x08SET\0Z\0\0\0\x05I").await?,
                        _ => {}
                    }
                }
            });
        }
    });
    (addr, cancels)
}

/// A client's cancel that comes while the only query in flight is the
/// proxy's own read-back of the settings the client changed is not
/// forwarded (nothing of the client's runs); forwarded, it would cancel
/// the read-back, and the client would keep its connection for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_during_the_settings_read_back_is_not_forwarded() {
    let (backend, cancels) = read_back_backend(Duration::from_millis(1500), "5MB").await;
    let mut config = ProxyConfig::new(
        ([127, 0, 0, 1], 0).into(),
        format!("host=127.0.0.1 port={} sslmode=disable", backend.port()),
    )
    .user(USER, PASSWORD);
    config.health_interval = Duration::ZERO;
    let proxy = start_proxy_with(config);
    let client = connect(&proxy, "appdb").await;
    client.batch_execute("SET work_mem = '5MB'").await.unwrap();
    // The read-back is in flight (answered after 1.5 s).
    client
        .cancel_token()
        .cancel_query(tokio_postgres::NoTls)
        .await
        .unwrap();
    // The cancel is handled before the next query is sent (which it would
    // rightly cancel).
    tokio::time::sleep(Duration::from_millis(500)).await;
    client
        .batch_execute("SELECT 1")
        .await
        .expect("the client goes on");
    assert_eq!(
        cancels.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no cancel reached the backend"
    );
    let admin = connect(&proxy, "pgwire").await;
    let clients = admin_rows(&admin, "SHOW CLIENTS").await;
    assert_eq!(clients.len(), 1, "{clients:?}");
    assert_eq!(
        clients[0]["pinned"], "no",
        "the read-back succeeded: {clients:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_ends_only_that_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    // Backends that send an over-long message, or close in the middle of
    // a result: the client gets a clear error, the proxy goes on.
    let over_long = fake_backend(b"T\x7f\xff\xff\xff").await;
    let mid_result =
        fake_backend(b"T\0\0\0\x1b\0\x01a\0\0\0\0\0\0\0\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0").await;
    for (backend, what) in [(over_long, "exceeds"), (mid_result, "closed")] {
        let mut config = ProxyConfig::new(
            ([127, 0, 0, 1], 0).into(),
            format!("host=127.0.0.1 port={} sslmode=disable", backend.port()),
        )
        .user(USER, PASSWORD);
        config.auth = pgwire::api::auth::AuthMethod::Md5;
        let proxy = start_proxy_with(config);
        for _ in 0..2 {
            let client = connect(&proxy, "appdb").await;
            let err = client
                .simple_query("SELECT 1")
                .await
                .expect_err("the backend misbehaves");
            let db = err.as_db_error().unwrap_or_else(|| panic!("{err:?}"));
            assert_eq!(db.code().code(), "08006", "{db:?}");
            assert!(db.message().contains(what), "{}", db.message());
        }
    }

    // A client sending an unknown message type after startup (trust
    // authentication) gets FATAL 08P01; others are unaffected.
    let Some(cluster) = Replicated::start("proxy-bad", 0, "")
        .map_err(|e| eprintln!("SKIPPED rest of bad_input_ends_only_that_connection: {e}"))
        .ok()
    else {
        return;
    };
    let mut config = primary_config(&cluster);
    config.auth = pgwire::api::auth::AuthMethod::Trust;
    let proxy = start_proxy_with(config);
    let good = connect(&proxy, "appdb").await;
    // An unknown message type, and a message announcing 2 GB.
    for (garbage, code) in [
        (&b"?\0\0\0\x04"[..], "08P01"),
        (&b"Q\x7f\xff\xff\xffSELECT"[..], "54000"),
    ] {
        let mut raw = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
        let mut startup = Vec::new();
        let body = format!("user\0{USER}\0database\0appdb\0\0");
        startup.extend_from_slice(&((8 + body.len()) as u32).to_be_bytes());
        startup.extend_from_slice(&196608u32.to_be_bytes());
        startup.extend_from_slice(body.as_bytes());
        raw.write_all(&startup).await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.ends_with(b"Z\0\0\0\x05I") {
            let n = raw.read(&mut buf).await.unwrap();
            assert!(n > 0, "startup answered");
            seen.extend_from_slice(&buf[..n]);
        }
        raw.write_all(garbage).await.unwrap();
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut rest))
            .await
            .expect("closed")
            .unwrap();
        assert_eq!(rest.first(), Some(&b'E'), "{rest:?}");
        let text = String::from_utf8_lossy(&rest);
        assert!(text.contains("FATAL") && text.contains(code), "{text}");
    }
    assert_eq!(select_int(&good, "SELECT 5").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_3_2_client_and_promotion() {
    let Some(cluster) = cluster_or_skip("proxy-promote", "protocol_3_2_client_and_promotion")
    else {
        return;
    };
    // The primary is whichever of the two accepts writes: after a
    // promotion the standby is found with target_session_attrs.
    let (p, s) = (cluster.primary.port, cluster.standbys[0].port);
    let mut config = ProxyConfig::new(
        ([127, 0, 0, 1], 0).into(),
        format!(
            "host=127.0.0.1,127.0.0.1 port={p},{s} target_session_attrs=read-write sslmode=disable"
        ),
    )
    .user(USER, PASSWORD);
    config.replicas.push(Replicated::conninfo(s));
    config.pool_size = 4;
    let proxy = start_proxy_with(config);

    // pgwire's own client asks for protocol 3.2: the proxy serves it (with
    // a 32-byte cancel key) while its backends speak 3.0.
    let mut client = pgwire::client::Client::connect_str(&conninfo(&proxy, "appdb"))
        .await
        .expect("pgwire client through the proxy");
    assert_eq!(
        client.protocol_version(),
        pgwire::messages::ProtocolVersion::V3_2
    );
    client
        .batch_execute("CREATE TABLE promo (x int)")
        .await
        .unwrap();
    let token = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        token.cancel().await
    });
    let err = client
        .simple_query("SELECT pg_sleep(20)")
        .await
        .expect_err("cancelled with a long key");
    assert_eq!(err.sqlstate(), "57014", "{err}");
    canceller.await.unwrap().expect("cancel sent");
    // PostgreSQL signals a cancelled backend twice (the process, then its
    // process group); on a loaded machine the second signal can land
    // after the cancelled query ended and cancel the next one, as it
    // would for a client connected directly. A pause lets it land while
    // the backend is idle (where PostgreSQL ignores it), and a short query
    // absorbs one later still, before the forged cancel below is judged
    // (once, under a loaded test run, it cancelled that query instead).
    tokio::time::sleep(Duration::from_millis(300)).await;
    for attempt in 0.. {
        match client.simple_query("SELECT 1").await {
            Ok(_) => break,
            Err(e) if e.sqlstate() == "57014" && attempt < 3 => continue,
            Err(e) => panic!("after a cancel: {e}"),
        }
    }
    // A CancelRequest with the right process ID and a wrong key does
    // nothing.
    let pid = client.process_id();
    let forger = tokio::spawn({
        let addr = proxy.addr;
        async move {
            use tokio::io::AsyncWriteExt;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut req = Vec::new();
            req.extend_from_slice(&16u32.to_be_bytes());
            req.extend_from_slice(&80877102u32.to_be_bytes());
            req.extend_from_slice(&pid.to_be_bytes());
            req.extend_from_slice(&[1, 2, 3, 4]);
            s.write_all(&req).await.unwrap();
        }
    });
    let results = client
        .simple_query("SELECT pg_sleep(1), 'slept'")
        .await
        .expect("a forged cancel has no effect");
    assert_eq!(results[0].rows[0].get::<&str>(1), "slept");
    forger.await.unwrap();
    drop(client);

    // TLS toward clients (psql with sslmode=require), and
    // target_session_attrs=read-only in the startup options routes to the
    // standby like `_ro`.
    if have("psql") {
        let dir = cluster.dir.join("proxy-tls");
        std::fs::create_dir_all(&dir).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (cert_file, key_file) = (dir.join("proxy.crt"), dir.join("proxy.key"));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        let mut config = ProxyConfig::new(([127, 0, 0, 1], 0).into(), Replicated::conninfo(p))
            .user(USER, PASSWORD);
        config.replicas.push(Replicated::conninfo(s));
        config.tls = Some((
            cert_file.to_string_lossy().into_owned(),
            key_file.to_string_lossy().into_owned(),
        ));
        let tls_proxy = start_proxy_with(config);
        let o = Command::new("psql")
            .args([
                "-X",
                "-At",
                "-d",
                &format!(
                    "host=127.0.0.1 port={} user={USER} password={PASSWORD} dbname=appdb \
                     sslmode=require options='-c target_session_attrs=read-only'",
                    tls_proxy.addr.port()
                ),
                "-c",
                "SELECT pg_is_in_recovery()",
            ])
            .output()
            .expect("psql");
        assert!(o.status.success(), "psql over TLS: {}", text(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "t");
    }

    // DEALLOCATE of a protocol-level statement is honoured by the proxy
    // (its backend copy, shared by name hash, stays for others).
    let mut client = pgwire::client::Client::connect_str(&conninfo(&proxy, "appdb"))
        .await
        .unwrap();
    let st = client.prepare("SELECT 11").await.unwrap();
    assert!(!st.name().is_empty(), "a named statement");
    let rows = client.query(&st, &[]).await.unwrap();
    assert_eq!(rows[0].get::<i32>(0), 11);
    let results = client
        .simple_query(&format!("DEALLOCATE {}", st.name()))
        .await
        .expect("DEALLOCATE");
    assert_eq!(results[0].tag, "DEALLOCATE");
    let err = client.query(&st, &[]).await.expect_err("deallocated");
    assert_eq!(err.sqlstate(), "26000", "{err}");
    let st2 = client.prepare("SELECT 12").await.unwrap();
    client.batch_execute("DEALLOCATE ALL").await.unwrap();
    let err = client.query(&st2, &[]).await.expect_err("deallocated");
    assert_eq!(err.sqlstate(), "26000", "{err}");
    drop(client);

    // Promotion: the old primary stops, the standby is promoted, and
    // writes through the proxy land on it.
    cluster.stop_primary().expect("stop the primary");
    cluster.promote(0).expect("promote the standby");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let attempt = async {
            let c =
                tokio_postgres::connect(&conninfo(&proxy, "appdb"), tokio_postgres::NoTls).await;
            let (c, conn) = c?;
            tokio::spawn(conn);
            c.execute("INSERT INTO promo VALUES (1)", &[]).await?;
            let row = c
                .query_one("SELECT pg_is_in_recovery(), inet_server_port()", &[])
                .await?;
            Ok::<_, tokio_postgres::Error>((row.get::<_, bool>(0), row.get::<_, i32>(1)))
        };
        match attempt.await {
            Ok((in_recovery, port)) => {
                assert!(!in_recovery);
                assert_eq!(port, i32::from(s), "writes go to the promoted standby");
                break;
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "no write after promotion: {e:?}");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }
}

/// asyncpg: named statements for every query (its statement cache), its
/// type introspection, and each connection's own `SET`, through the proxy
/// (under transaction pooling, four clients that `SET` share a pool of
/// two).
fn check_asyncpg(proxy: &RunningProxy) {
    let available = Command::new("python3")
        .args(["-c", "import asyncpg"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !available {
        eprintln!("SKIPPED asyncpg part: python3 with asyncpg is not installed");
        return;
    }
    let script = "import asyncio, asyncpg, sys\n\
        async def main():\n\
        \x20   conns = [await asyncpg.connect(sys.argv[1]) for _ in range(4)]\n\
        \x20   for n, c in enumerate(conns):\n\
        \x20       await c.execute(f'SET statement_timeout = {1001 + n}')\n\
        \x20   total = 0\n\
        \x20   for i in range(25):\n\
        \x20       for n, c in enumerate(conns):\n\
        \x20           total += await c.fetchval('SELECT $1::int + $2::int', i, n)\n\
        \x20           t = await c.fetchval(\"SELECT current_setting('statement_timeout')\")\n\
        \x20           assert t == f'{1001 + n}ms', (n, t)\n\
        \x20           async with c.transaction():\n\
        \x20               await c.execute('SELECT 1')\n\
        \x20   rows = await conns[0].fetch('SELECT g, g::text AS t FROM generate_series(1, 3) g')\n\
        \x20   assert [r['t'] for r in rows] == ['1', '2', '3'], rows\n\
        \x20   print(total)\n\
        asyncio.run(main())\n";
    let o = Command::new("python3")
        .args(["-c", script, &conninfo_url(proxy, "appdb")])
        .output()
        .expect("python3");
    assert!(o.status.success(), "asyncpg: {}", text(&o));
    // sum over i < 25 and n < 4 of i + n
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "1350");
}

fn conninfo_url(proxy: &RunningProxy, db: &str) -> String {
    format!(
        "postgresql://{USER}:{PASSWORD}@127.0.0.1:{}/{db}?sslmode=disable",
        proxy.addr.port()
    )
}

/// pgJDBC with server-side prepared statements (tests/proxy/ProxyPrepared.java).
fn check_jdbc(proxy: &RunningProxy) {
    let jar = std::env::var_os("PGWIRE_JDBC_JAR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/usr/share/java/postgresql.jar".into());
    if !have("javac") || !jar.is_file() {
        eprintln!("SKIPPED pgJDBC part: javac or the PostgreSQL JDBC driver is missing");
        return;
    }
    let classes = std::env::temp_dir().join(format!("pgwire-proxy-jdbc-{}", std::process::id()));
    std::fs::create_dir_all(&classes).unwrap();
    let source =
        // The checkout this runs in (as `common::repo_dir`; this file does
        // not include `common`).
        std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test"))
            .join("tests/proxy/ProxyPrepared.java");
    let o = Command::new("javac")
        .arg("-cp")
        .arg(&jar)
        .arg("-d")
        .arg(&classes)
        .arg(source)
        .output()
        .expect("javac");
    assert!(o.status.success(), "javac: {}", text(&o));
    let cp = std::env::join_paths([jar.as_path(), classes.as_path()]).unwrap();
    let o = Command::new("java")
        .arg("-cp")
        .arg(cp)
        .arg("ProxyPrepared")
        .args([&proxy.addr.port().to_string(), USER, PASSWORD])
        .output()
        .expect("java");
    let _ = std::fs::remove_dir_all(&classes);
    assert!(o.status.success(), "pgJDBC: {}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "10");
}

/// The relay under transaction pooling: a pipelined batch (many queries
/// sent before the first answer) gets every answer in order, results far
/// larger than the proxy's buffers (many rows, one huge value) stream
/// through whole, and an idle backend connection that died (terminated
/// while no client held it) is replaced at the next checkout, with no
/// health probe running to find it first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_pipelines_large_results_and_dead_idle_connections() {
    let Some(cluster) = cluster_or_skip(
        "proxy-relay",
        "relay_pipelines_large_results_and_dead_idle_connections",
    ) else {
        return;
    };
    let mut config = primary_config(&cluster);
    config.pool_mode = PoolMode::Transaction;
    config.pool_size = 1;
    config.wait_timeout = Duration::from_secs(10);
    config.health_interval = Duration::ZERO;
    let proxy = start_proxy_with(config);
    let client = connect(&proxy, "appdb").await;

    // Pipelined: all queries are written before any answer is awaited
    // (tokio-postgres pipelines concurrent requests on one connection).
    let statement = client.prepare("SELECT $1::int * 3").await.unwrap();
    let batch = (0..200i32).map(|i| {
        let client = &client;
        let statement = &statement;
        async move {
            let row = client.query_one(statement, &[&i]).await.unwrap();
            (i, row.get::<_, i32>(0))
        }
    });
    for (i, tripled) in futures_util::future::join_all(batch).await {
        assert_eq!(tripled, i * 3, "answer {i} out of order or lost");
    }
    let simple = (0..50i32).map(|i| {
        let client = &client;
        async move {
            let messages = client
                .simple_query(&format!("SELECT {i} + 1000"))
                .await
                .unwrap();
            let value = messages.iter().find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                _ => None,
            });
            (i, value)
        }
    });
    for (i, value) in futures_util::future::join_all(simple).await {
        assert_eq!(value, Some((i + 1000).to_string()), "simple query {i}");
    }

    // About 11 MB of rows, and one 8 MB value (a single DataRow larger
    // than any buffer the proxy keeps).
    let row = client
        .query_one(
            "SELECT count(*), sum(g), sum(length(p)) FROM \
             (SELECT g, repeat('x', 100) AS p FROM generate_series(1, 100000) g) s",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 100_000);
    let rows = client
        .query(
            "SELECT g, repeat('x', 100) FROM generate_series(1, 100000) g",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 100_000);
    let sum: i64 = rows.iter().map(|r| i64::from(r.get::<_, i32>(0))).sum();
    assert_eq!(sum, 100_000 * 100_001 / 2);
    assert!(rows.iter().all(|r| r.get::<_, &str>(1).len() == 100));
    let big = client
        .query_one("SELECT repeat('y', 8 * 1024 * 1024)", &[])
        .await
        .unwrap();
    let big: &str = big.get(0);
    assert_eq!(big.len(), 8 * 1024 * 1024);
    assert!(big.bytes().all(|b| b == b'y'));

    // The pool's one connection, idle between transactions, is killed.
    let pid_of = |row: tokio_postgres::Row| row.get::<_, i32>(0);
    let first = backend_pid(&client).await;
    let port = cluster.primary.port;
    cluster
        .psql(
            port,
            "postgres",
            &format!("SELECT pg_terminate_backend({first})"),
        )
        .expect("terminate the pooled connection");
    wait_backend_gone(&cluster, first).await;
    let second = pid_of(
        client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .expect("a dead idle connection is replaced, not handed out"),
    );
    assert_ne!(first, second, "served by a new backend connection");
    let row = client.query_one(&statement, &[&14i32]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 42, "the statement is re-prepared");

    // A cancel reaches a query that is streaming a long result (the
    // backend's answers are ready at nearly every turn of the relay).
    let total = 20_000_000i64;
    let stream = client
        .query_raw(
            "SELECT g FROM generate_series(1, 20000000::bigint) g",
            std::iter::empty::<i64>(),
        )
        .await
        .expect("start streaming");
    let mut stream = std::pin::pin!(stream);
    let mut read = 0i64;
    let mut cancelled = false;
    let outcome = loop {
        match futures_util::StreamExt::next(&mut stream).await {
            Some(Ok(_)) => {
                read += 1;
                if read == 10_000 && !cancelled {
                    cancelled = true;
                    let token = client.cancel_token();
                    tokio::spawn(async move {
                        token
                            .cancel_query(tokio_postgres::NoTls)
                            .await
                            .expect("send the cancel")
                    });
                }
            }
            Some(Err(e)) => break Some(e),
            None => break None,
        }
    };
    let e = outcome.expect("the streaming query is cancelled, not run to its end");
    assert_eq!(e.code().map(|c| c.code()), Some("57014"), "{e:?}");
    assert!(read < total);
    // One retry: PostgreSQL signals a cancelled backend twice, and the
    // second signal may cancel the next query (see
    // protocol_3_2_client_and_promotion).
    let row = match client.query_one("SELECT 7", &[]).await {
        Err(e) if e.code().map(|c| c.code()) == Some("57014") => {
            client.query_one("SELECT 7", &[]).await.unwrap()
        }
        other => other.unwrap(),
    };
    assert_eq!(
        row.get::<_, i32>(0),
        7,
        "the session goes on after the cancel"
    );
}
