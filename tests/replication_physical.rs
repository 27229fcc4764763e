//! A physical replication stream (START_REPLICATION PHYSICAL) from a real
//! PostgreSQL 15 through `pgwire::client::PhysicalReplicationStream`: WAL
//! arrives contiguously from the requested position, its positions
//! advance as the server writes, and a physical slot's `restart_lsn`
//! follows what the client confirms.

#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod postgres;
#[path = "common/replication_pg.rs"]
mod replication_pg;

use std::time::Duration;

use pgwire::replication::Lsn;
use pgwire::replication::command::{CommandOption, CreateReplicationSlot, SlotKind};
use replication_pg::*;

#[tokio::test]
async fn physical_wal_positions_advance() {
    let Some(pg) = start("repl-physical") else {
        return;
    };
    let sql = pg.connect().await;
    sql.batch_execute("CREATE TABLE w (id int, pad text)")
        .await
        .unwrap();

    let mut repl = replication_client(&pg, "true").await;
    let system = repl.identify_system().await.unwrap();
    assert_eq!(system.dbname, None, "a physical connection has no database");
    let slot = repl
        .create_replication_slot(&CreateReplicationSlot {
            slot: "phys".into(),
            temporary: false,
            kind: SlotKind::Physical,
            options: vec![CommandOption::flag("reserve_wal")],
        })
        .await
        .unwrap();
    assert_eq!(slot.output_plugin, None);
    let info = repl
        .read_replication_slot("phys")
        .await
        .unwrap()
        .expect("the slot exists");
    assert_eq!(info.slot_type, "physical");
    assert!(info.restart_lsn.is_some_and(|l| l <= system.xlog_pos));
    assert_eq!(info.restart_tli, Some(system.timeline));
    assert_eq!(repl.read_replication_slot("nope").await.unwrap(), None);
    // Any position up to the flush point works: start a little earlier.
    let start = Lsn(system.xlog_pos.as_u64() & !0xFFFF);
    let mut stream = repl
        .start_physical_replication(Some("phys"), start, Some(system.timeline))
        .await
        .unwrap();

    let target: Lsn = {
        sql.batch_execute(
            "INSERT INTO w SELECT i, repeat('z', 200) FROM generate_series(1, 2000) i",
        )
        .await
        .unwrap();
        let text: String = sql
            .query_one("SELECT pg_current_wal_flush_lsn()::text", &[])
            .await
            .unwrap()
            .get(0);
        text.parse().unwrap()
    };
    assert!(target > system.xlog_pos);

    let mut expected_next = start;
    let mut blocks = 0;
    while stream.received() < target {
        let x = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("WAL within 30 s")
            .unwrap()
            .expect("the stream goes on");
        // Contiguous: each block starts where the previous ended.
        assert_eq!(x.wal_start, expected_next);
        expected_next = x.wal_start + x.data.len() as u64;
        assert!(x.wal_end >= x.wal_start);
        blocks += 1;
    }
    assert!(blocks >= 1);
    assert!(stream.received() >= target);
    assert!(stream.server_wal_end() >= target);

    // Hot standby feedback is accepted (the walsender would close the
    // stream on a malformed one); with the slot, it shows as its xmin.
    let xmin: String = sql
        .query_one("SELECT txid_current()::text", &[])
        .await
        .unwrap()
        .get(0);
    let xmin: u32 = xmin.parse::<u64>().unwrap() as u32;
    stream
        .send_hot_standby_feedback(pgwire::replication::HotStandbyFeedback {
            client_time: pgwire::replication::timestamp::pg_timestamp_now(),
            xmin,
            xmin_epoch: 0,
            catalog_xmin: 0,
            catalog_xmin_epoch: 0,
        })
        .await
        .unwrap();
    let mut slot_xmin = None;
    for _ in 0..100 {
        slot_xmin = sql
            .query_one(
                "SELECT xmin::text FROM pg_replication_slots WHERE slot_name = 'phys'",
                &[],
            )
            .await
            .unwrap()
            .get::<_, Option<String>>(0);
        if slot_xmin.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(slot_xmin, Some(xmin.to_string()));

    // Confirming moves the slot.
    stream.confirm(target);
    stream.send_status_update().await.unwrap();
    let mut restart = Lsn::INVALID;
    for _ in 0..100 {
        let text: String = sql
            .query_one(
                "SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = 'phys'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        restart = text.parse().unwrap();
        if restart >= target {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(restart >= target, "restart_lsn {restart} < {target}");
    stream.finish().await.unwrap();
    repl.drop_replication_slot("phys", false).await.unwrap();
}
