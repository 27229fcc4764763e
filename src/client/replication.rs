//! Replication commands on a replication connection (`replication=database`
//! for logical replication, `replication=true` for physical): IDENTIFY_SYSTEM,
//! CREATE/DROP_REPLICATION_SLOT, and START_REPLICATION, which turns the
//! connection into a [`LogicalReplicationStream`] or
//! [`PhysicalReplicationStream`].
//!
//! ```no_run
//! use pgwire::client::{Client, Config};
//! use pgwire::replication::Lsn;
//! use pgwire::replication::PgOutputMessage;
//!
//! # async fn f() -> Result<(), pgwire::client::Error> {
//! let config = Config::parse("host=localhost user=postgres dbname=postgres replication=database")?;
//! let mut client = Client::connect(&config).await?;
//! let slot = client.create_logical_slot("my_slot", "pgoutput", false).await?;
//! let mut stream = client
//!     .start_logical_replication(
//!         "my_slot",
//!         Lsn::INVALID,
//!         &[("proto_version", "1"), ("publication_names", "my_pub")],
//!     )
//!     .await?;
//! while let Some(event) = stream.next().await? {
//!     if let PgOutputMessage::Commit(c) = &event.message {
//!         // Everything up to this commit is handled: the slot may advance.
//!         stream.confirm(c.end_lsn);
//!     }
//! }
//! # let _ = slot;
//! # Ok(())
//! # }
//! ```

use super::connection::{Client, OpenCopy};
use super::encode;
use super::error::{DbError, Error};
use super::replication_stream::{LogicalReplicationStream, PhysicalReplicationStream};
use crate::messages::BackendMessage;
use crate::replication::command::{
    CreateReplicationSlot, PluginOption, ReplicationCommand, SlotKind, StartLogicalReplication,
    StartPhysicalReplication,
};
use crate::replication::pgoutput_options::PgOutputOptions;
use crate::replication::{Lsn, PgOutputDecoder};

/// IDENTIFY_SYSTEM's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifySystem {
    /// The cluster's unique system identifier (a decimal number).
    pub system_id: String,
    /// The current timeline.
    pub timeline: u32,
    /// The current WAL flush position.
    pub xlog_pos: Lsn,
    /// The database connected to (`replication=database`), if any.
    pub dbname: Option<String>,
}

/// CREATE_REPLICATION_SLOT's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedReplicationSlot {
    /// The slot's name.
    pub slot_name: String,
    /// Where the slot became consistent: changes committed after it are
    /// streamed.
    pub consistent_point: Lsn,
    /// The exported snapshot (`snapshot 'export'`), if any.
    pub snapshot_name: Option<String>,
    /// The output plugin (logical slots).
    pub output_plugin: Option<String>,
}

/// READ_REPLICATION_SLOT's answer for an existing (physical) slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationSlotInfo {
    /// `physical` (PostgreSQL 15 reads only physical slots).
    pub slot_type: String,
    /// The oldest WAL the slot keeps (`None` before it reserved WAL).
    pub restart_lsn: Option<Lsn>,
    /// The timeline of `restart_lsn`.
    pub restart_tli: Option<u32>,
}

fn lsn_of(text: Option<&str>, what: &str) -> Result<Lsn, Error> {
    text.and_then(|t| t.parse().ok())
        .ok_or_else(|| Error::protocol(format!("{what}: not an LSN: {text:?}")))
}

impl Client {
    /// IDENTIFY_SYSTEM: the server's system id, timeline, WAL position and
    /// database.
    pub async fn identify_system(&mut self) -> Result<IdentifySystem, Error> {
        let results = self
            .simple_query(&ReplicationCommand::IdentifySystem.to_string())
            .await?;
        let row = results
            .first()
            .and_then(|r| r.rows.first())
            .ok_or_else(|| Error::protocol("IDENTIFY_SYSTEM returned no row"))?;
        let timeline = row.get_text(1)?.and_then(|t| t.parse().ok());
        Ok(IdentifySystem {
            system_id: row.get_text(0)?.unwrap_or_default().to_owned(),
            timeline: timeline
                .ok_or_else(|| Error::protocol("IDENTIFY_SYSTEM: invalid timeline"))?,
            xlog_pos: lsn_of(row.get_text(2)?, "IDENTIFY_SYSTEM xlogpos")?,
            dbname: row.get_text(3)?.map(str::to_owned),
        })
    }

    /// CREATE_REPLICATION_SLOT with any options (PostgreSQL 15+ syntax).
    pub async fn create_replication_slot(
        &mut self,
        command: &CreateReplicationSlot,
    ) -> Result<CreatedReplicationSlot, Error> {
        let sql = ReplicationCommand::CreateReplicationSlot(command.clone()).to_string();
        let results = self.simple_query(&sql).await?;
        let row = results
            .first()
            .and_then(|r| r.rows.first())
            .ok_or_else(|| Error::protocol("CREATE_REPLICATION_SLOT returned no row"))?;
        Ok(CreatedReplicationSlot {
            slot_name: row.get_text(0)?.unwrap_or_default().to_owned(),
            consistent_point: lsn_of(row.get_text(1)?, "consistent_point")?,
            snapshot_name: row.get_text(2)?.map(str::to_owned),
            output_plugin: row.get_text(3)?.map(str::to_owned),
        })
    }

    /// Creates a logical slot for `plugin` without exporting a snapshot;
    /// `two_phase` lets it decode prepared transactions.
    pub async fn create_logical_slot(
        &mut self,
        slot: &str,
        plugin: &str,
        two_phase: bool,
    ) -> Result<CreatedReplicationSlot, Error> {
        use crate::replication::command::{CommandOption, OptionValue};
        let mut options = vec![CommandOption::new(
            "snapshot",
            OptionValue::String("nothing".into()),
        )];
        if two_phase {
            options.push(CommandOption::flag("two_phase"));
        }
        self.create_replication_slot(&CreateReplicationSlot {
            slot: slot.to_owned(),
            temporary: false,
            kind: SlotKind::Logical {
                plugin: plugin.to_owned(),
            },
            options,
        })
        .await
    }

    /// READ_REPLICATION_SLOT: `None` when there is no such slot.
    pub async fn read_replication_slot(
        &mut self,
        slot: &str,
    ) -> Result<Option<ReplicationSlotInfo>, Error> {
        let sql = ReplicationCommand::ReadReplicationSlot(slot.to_owned()).to_string();
        let results = self.simple_query(&sql).await?;
        let row = results
            .first()
            .and_then(|r| r.rows.first())
            .ok_or_else(|| Error::protocol("READ_REPLICATION_SLOT returned no row"))?;
        let Some(slot_type) = row.get_text(0)? else {
            return Ok(None);
        };
        Ok(Some(ReplicationSlotInfo {
            slot_type: slot_type.to_owned(),
            restart_lsn: row
                .get_text(1)?
                .map(|t| lsn_of(Some(t), "restart_lsn"))
                .transpose()?,
            restart_tli: row.get_text(2)?.and_then(|t| t.parse().ok()),
        }))
    }

    /// DROP_REPLICATION_SLOT, waiting for an active slot to be released
    /// when `wait`.
    pub async fn drop_replication_slot(&mut self, slot: &str, wait: bool) -> Result<(), Error> {
        let sql = ReplicationCommand::DropReplicationSlot {
            slot: slot.to_owned(),
            wait,
        }
        .to_string();
        self.simple_query(&sql).await.map(drop)
    }

    /// START_REPLICATION SLOT `slot` LOGICAL `start` with the output
    /// plugin's options (for `pgoutput`: `proto_version`,
    /// `publication_names`, `messages`, `streaming`, `two_phase`,
    /// `binary`...). `Lsn::INVALID` starts at the slot's confirmed position;
    /// a later `start` skips transactions that committed before it. Pass
    /// the position you confirmed last when you keep it yourself:
    /// PostgreSQL 15 writes a slot's confirmed position to disk only along
    /// with other slot changes, so after a server restart the slot may
    /// resend transactions you already confirmed.
    pub async fn start_logical_replication(
        &mut self,
        slot: &str,
        start: Lsn,
        options: &[(&str, &str)],
    ) -> Result<LogicalReplicationStream<'_>, Error> {
        let command = StartLogicalReplication {
            slot: slot.to_owned(),
            start,
            options: options
                .iter()
                .map(|(k, v)| PluginOption::new(*k, *v))
                .collect(),
        };
        // Protocol 4 with parallel streaming adds the abort LSN and time
        // to Stream Abort.
        let proto: u32 = command
            .option("proto_version")
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let parallel = command.option("streaming").flatten() == Some("parallel");
        let decoder = PgOutputDecoder::new().with_stream_abort_info(proto >= 4 && parallel);
        self.start_copy_both(&ReplicationCommand::StartLogicalReplication(command).to_string())
            .await?;
        Ok(LogicalReplicationStream::new(self, start, decoder))
    }

    /// START_REPLICATION SLOT `slot` LOGICAL `start` for `pgoutput` with
    /// typed options (checked here as the server would check them).
    pub async fn start_pgoutput_replication(
        &mut self,
        slot: &str,
        start: Lsn,
        options: &PgOutputOptions,
    ) -> Result<LogicalReplicationStream<'_>, Error> {
        let command = StartLogicalReplication {
            slot: slot.to_owned(),
            start,
            options: options.to_plugin_options(),
        };
        PgOutputOptions::parse(&command.options).map_err(|e| Error::Usage(e.message))?;
        self.start_copy_both(&ReplicationCommand::StartLogicalReplication(command).to_string())
            .await?;
        Ok(LogicalReplicationStream::new(
            self,
            start,
            options.decoder(),
        ))
    }

    /// START_REPLICATION [SLOT `slot`] PHYSICAL `start` [TIMELINE `t`]: raw
    /// WAL from `start` (a WAL segment boundary is not required).
    pub async fn start_physical_replication(
        &mut self,
        slot: Option<&str>,
        start: Lsn,
        timeline: Option<u32>,
    ) -> Result<PhysicalReplicationStream<'_>, Error> {
        let sql = ReplicationCommand::StartPhysicalReplication(StartPhysicalReplication {
            slot: slot.map(str::to_owned),
            start,
            timeline,
        })
        .to_string();
        self.start_copy_both(&sql).await?;
        Ok(PhysicalReplicationStream::new(self, start))
    }

    /// Sends a command and waits for CopyBothResponse.
    async fn start_copy_both(&mut self, sql: &str) -> Result<(), Error> {
        self.drain().await?;
        encode::query(&mut self.write_buf, sql)?;
        self.pending_ready += 1;
        self.flush().await?;
        match self.recv().await? {
            BackendMessage::CopyBothResponse(_) => {
                // A stream dropped unfinished is ended (CopyDone)
                // before the next request.
                self.open_copy = OpenCopy::Both;
                Ok(())
            }
            BackendMessage::ErrorResponse(e) => Err(self.fail(DbError::from_fields(&e.0)).await),
            other => Err(self.unexpected(&other, "START_REPLICATION")),
        }
    }
}
