//! Which instance runs which Discord shards, when several share one PostgreSQL database: each
//! claims its range (`[discord] shards`) at start, and an instance whose range overlaps one
//! another instance holds refuses to start, naming the shard. Two processes on one shard would
//! both receive its servers' events and answer every command twice.
//!
//! A claim is a session-level advisory lock per shard,
//! `pg_try_advisory_lock(SHARD_LOCK_CLASS, hashtext(current_schema() || '/' || total || '/' || shard))`,
//! on a connection of its own held for the life of the process: when the process dies,
//! PostgreSQL ends the session and the shards are free for another instance. The key names
//! the schema (deployments in two schemas do not collide) and the total (instances must agree
//! on `total_shards`; one with another total is not compared). An instance without `shards`
//! runs every shard Discord gives it and claims nothing.

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use super::StoreError;
use crate::config::ShardRange;

/// The first half of the advisory lock key of a claimed shard ("hwsh" in ASCII).
pub const SHARD_LOCK_CLASS: i32 = 0x6877_7368;

/// The shards this process holds; they are released when it is dropped (its connection
/// closes) or the process ends.
#[derive(Debug)]
pub struct ShardClaim {
    range: ShardRange,
    /// Holds the locks; `None` when there is nothing to hold (no other instance can share
    /// the database).
    _conn: Option<PgConnection>,
}

impl ShardClaim {
    /// A claim that holds nothing: for a database no other process can share.
    pub fn alone(range: ShardRange) -> Self {
        Self { range, _conn: None }
    }

    /// The shards claimed.
    pub fn range(&self) -> ShardRange {
        self.range
    }

    /// Claims every shard of `range` on the database `options` connect to, on a connection
    /// of its own; fails, holding none, when another process holds any of them.
    pub(super) async fn take(
        options: &PgConnectOptions,
        database: &str,
        range: ShardRange,
    ) -> Result<Self, StoreError> {
        let open = |reason: String| StoreError::Open {
            path: database.to_owned(),
            reason,
        };
        let mut conn = PgConnection::connect_with(options)
            .await
            .map_err(|e| open(format!("connecting to claim the Discord shards: {e}")))?;
        for shard in range.first()..=range.last() {
            let got: bool = sqlx::query_scalar(
                "SELECT pg_try_advisory_lock($1, hashtext(current_schema() || '/' || $2 || '/' || $3))",
            )
            .bind(SHARD_LOCK_CLASS)
            .bind(i64::from(range.total()))
            .bind(i64::from(shard))
            .fetch_one(&mut conn)
            .await
            .map_err(|e| open(format!("claiming the Discord shards: {e}")))?;
            if !got {
                // Closing the connection releases the shards claimed so far.
                let _ = conn.close().await;
                return Err(StoreError::ShardTaken {
                    shard,
                    total: range.total(),
                });
            }
        }
        Ok(Self {
            range,
            _conn: Some(conn),
        })
    }
}
