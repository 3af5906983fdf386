//! Which instance runs the scheduled jobs when several share one database: the scheduler
//! *leader*. The others are *followers*: they deliver, answer commands and serve their
//! endpoints, and ask again every [`FOLLOWER_RETRY`] whether they may lead.
//!
//! **PostgreSQL.** The leader is the instance holding a session-level advisory lock,
//! `pg_try_advisory_lock(LEADER_LOCK_CLASS, hashtext(current_schema()))`, on a connection of
//! its own (never one of the store's pool, which hands connections to whoever asks). The key
//! is the constant [`LEADER_LOCK_CLASS`] (`0x68776C64`, "hwld") with the hash of the schema
//! the URL selects, so two highwater deployments in two schemas of one database each have a
//! leader. The lock lives exactly as long as that connection: when the leader's process dies,
//! PostgreSQL ends its session and releases the lock, and a follower takes it at its next try
//! (within [`FOLLOWER_RETRY`] of PostgreSQL noticing; a killed process's socket is closed by
//! the kernel at once). The leader checks its connection with `SELECT 1` at every poll and
//! steps down when it is gone, so it never goes on scheduling after another may have taken
//! over. A connection cut by the network (no FIN) is noticed by the server only through TCP
//! keepalives; until then no one leads, which delays a tick rather than doubling it.
//!
//! **SQLite.** One process per file already (its [`DatabaseLock`](super::DatabaseLock)), so
//! that process always leads.
//!
//! Leading decides who *starts* the jobs; it is not what makes a tick run once. A run is
//! claimed in the database first ([`Store::claim_job_run`](super::Store::claim_job_run)), so
//! even two instances that both believe they lead during a handover never run the same fire
//! time twice while its claim's lease holds.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use super::{ShardClaim, StoreError};
use crate::config::{PostgresUrl, ShardRange};

/// The first half of the advisory lock key the leader holds ("hwld" in ASCII); the second is
/// `hashtext(current_schema())`.
pub const LEADER_LOCK_CLASS: i32 = 0x6877_6C64;

/// How often a follower asks for the lock, and a leader checks it still has it. Keeps a
/// takeover after the leader dies within a few seconds (the issue asks for 10).
pub const FOLLOWER_RETRY: Duration = Duration::from_secs(2);

/// How long connecting, asking for the lock or checking the connection may take before the
/// attempt counts as failed (the leader then steps down).
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// This instance's part in running the jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Runs the scheduled jobs.
    Leader,
    /// Waits to lead; delivers and answers meanwhile.
    Follower,
}

impl Role {
    /// `leader` or `follower`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
        }
    }
}

/// The election of one instance: ask [`poll`](Self::poll) every [`FOLLOWER_RETRY`].
#[derive(Debug)]
pub struct Election {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    /// The only process on its database (SQLite, tests): always the leader.
    Alone,
    Postgres(Box<PgElection>),
}

#[derive(Debug)]
struct PgElection {
    options: PgConnectOptions,
    /// The database as errors name it (no password).
    database: String,
    /// The connection that holds (or asks for) the lock; `None` after a failure, until the
    /// next poll connects again.
    conn: Option<PgConnection>,
    leading: bool,
}

impl Election {
    /// An instance alone on its database: always the leader.
    pub fn alone() -> Self {
        Self {
            inner: Inner::Alone,
        }
    }

    /// An instance of several on the PostgreSQL database at `url`. Nothing connects until the
    /// first [`poll`](Self::poll).
    pub fn postgres(url: &PostgresUrl) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url.expose()).map_err(|e| StoreError::Open {
            path: url.to_string(),
            reason: format!("not a usable PostgreSQL URL: {e}"),
        })?;
        Ok(Self {
            inner: Inner::Postgres(Box::new(PgElection {
                options,
                database: url.to_string(),
                conn: None,
                leading: false,
            })),
        })
    }

    /// Claims the Discord shards of `range` for this process ([`ShardClaim`]): on PostgreSQL,
    /// an error naming the shard when another instance holds any of them; alone on its
    /// database, nothing to check.
    pub async fn claim_shards(&self, range: ShardRange) -> Result<ShardClaim, StoreError> {
        match &self.inner {
            Inner::Alone => Ok(ShardClaim::alone(range)),
            Inner::Postgres(pg) => ShardClaim::take(&pg.options, &pg.database, range).await,
        }
    }

    /// Whether other instances may share the database (and so another may lead).
    pub fn is_shared(&self) -> bool {
        matches!(self.inner, Inner::Postgres(_))
    }

    /// This instance's role now: a follower tries to take the lock, a leader checks that it
    /// still holds it (and steps down when its connection is gone). Never fails: a database
    /// that cannot be reached makes a follower, logged.
    pub async fn poll(&mut self) -> Role {
        match &mut self.inner {
            Inner::Alone => Role::Leader,
            Inner::Postgres(pg) => pg.poll().await,
        }
    }

    /// Gives up the lead: the lock is released before this returns (then its connection is
    /// closed), so a follower's next try gets it. A clean stop resigns; a dead process's lock
    /// goes when PostgreSQL ends its session.
    pub async fn resign(&mut self) {
        if let Inner::Postgres(pg) = &mut self.inner
            && let Some(mut conn) = pg.conn.take()
        {
            if pg.leading {
                let unlocked = tokio::time::timeout(
                    QUERY_TIMEOUT,
                    sqlx::query("SELECT pg_advisory_unlock($1, hashtext(current_schema()))")
                        .bind(LEADER_LOCK_CLASS)
                        .execute(&mut conn),
                )
                .await;
                if !matches!(unlocked, Ok(Ok(_))) {
                    tracing::debug!(
                        "could not release the scheduler lock; closing its connection does"
                    );
                }
            }
            pg.leading = false;
            let _ = tokio::time::timeout(QUERY_TIMEOUT, conn.close()).await;
        }
    }
}

impl PgElection {
    async fn poll(&mut self) -> Role {
        match self.try_poll().await {
            Ok(role) => role,
            Err(error) => {
                // The lock, if held, went with the connection.
                self.conn = None;
                if self.leading {
                    tracing::warn!(%error, "lost the connection that holds the scheduler lock; stepping down");
                } else {
                    tracing::debug!(%error, "cannot ask for the scheduler lock; trying again");
                }
                self.leading = false;
                Role::Follower
            }
        }
    }

    async fn try_poll(&mut self) -> Result<Role, String> {
        if self.conn.is_none() {
            let conn =
                tokio::time::timeout(QUERY_TIMEOUT, PgConnection::connect_with(&self.options))
                    .await
                    .map_err(|_| "connecting timed out".to_owned())?
                    .map_err(|e| e.to_string())?;
            self.conn = Some(conn);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err("no connection".to_owned());
        };
        if self.leading {
            tokio::time::timeout(QUERY_TIMEOUT, sqlx::query("SELECT 1").execute(&mut *conn))
                .await
                .map_err(|_| "the check timed out".to_owned())?
                .map_err(|e| e.to_string())?;
            return Ok(Role::Leader);
        }
        let got: bool = tokio::time::timeout(
            QUERY_TIMEOUT,
            sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext(current_schema()))")
                .bind(LEADER_LOCK_CLASS)
                .fetch_one(&mut *conn),
        )
        .await
        .map_err(|_| "asking for the lock timed out".to_owned())?
        .map_err(|e| e.to_string())?;
        if got {
            tracing::info!("took the scheduler lock: this instance runs the jobs");
            self.leading = true;
            Ok(Role::Leader)
        } else {
            Ok(Role::Follower)
        }
    }
}

/// A name for this process among the instances sharing a database, kept in the claims it
/// makes: the host, the pid and a random part (two containers may both run as pid 1).
pub fn instance_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    format!("{host}/{}/{:08x}", std::process::id(), fastrand::u32(..))
}
