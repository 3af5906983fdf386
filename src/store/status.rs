//! What `highwater status` and `/metrics` read about a database: servers, destinations, rule
//! counts, the outbox by state, and the last run of each job; and what `highwater outbox`
//! lists: the latest messages of the outbox, each with its state and what happened to it.
//!
//! [`StoreStatus::read_only`] and [`outbox`] open the file with its own read-only connection: no lock, no
//! migration, no write of any kind, so it is safe beside a running `highwater run` (SQLite's
//! WAL lets a reader see the last committed state while the writer goes on). It never creates
//! the file either: a missing database is an error naming it. [`StoreStatus::read_postgres`]
//! reads a PostgreSQL database the same way, with the same statements (written once, for either
//! backend), and nothing is sorted by the database: the lists are sorted here, by bytes.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Database, Executor, IntoArguments, Pool, SqlitePool};

use super::rows::{self, Columns, count, query};
use super::{Destination, MessageRecord, PgStore, StoreError};
use crate::config::PostgresUrl;

/// The outbox at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxSummary {
    /// Messages by state (`pending`, `sending`, `delivered`, `dropped`, `failed`); states with
    /// no message are absent.
    pub by_state: BTreeMap<String, u64>,
    /// When the oldest message still waiting (pending or sending) was enqueued (UTC).
    pub oldest_pending: Option<DateTime<Utc>>,
}

impl OutboxSummary {
    /// Messages still waiting: pending or sending.
    pub fn waiting(&self) -> u64 {
        ["pending", "sending"]
            .iter()
            .filter_map(|state| self.by_state.get(*state))
            .sum()
    }
}

/// A database's state for an operator.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreStatus {
    /// Server ids, sorted.
    pub servers: Vec<String>,
    /// Every destination, by server then id.
    pub destinations: Vec<Destination>,
    /// Rules per server (servers without rules are absent).
    pub rules: BTreeMap<String, u64>,
    pub outbox: OutboxSummary,
    /// Job name -> (the fire time it last ran for, when that run finished), both UTC.
    pub job_runs: BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)>,
}

/// The outbox by state and its oldest waiting message, from a pool of either backend.
pub(super) async fn outbox_summary<DB>(pool: &Pool<DB>) -> Result<OutboxSummary, StoreError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    DB::Row: Columns,
{
    let rows = sqlx::query::<DB>(
        "SELECT state, COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox GROUP BY state",
    )
    .fetch_all(pool)
    .await
    .map_err(query("counting the outbox"))?;
    rows::outbox_summary(&rows)
}

/// Whether the database takes a write now: a write transaction begun (`BEGIN IMMEDIATE`, which
/// takes SQLite's write lock) and rolled back. Fails on a read-only file or a database another
/// writer keeps locked past the busy timeout.
pub(super) async fn check_writable(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await.map_err(query(
        "taking a connection to check the database is writable",
    ))?;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await
        .map_err(query("beginning a write to check the database is writable"))?;
    sqlx::query("ROLLBACK")
        .execute(&mut *conn)
        .await
        .map_err(query("rolling back the writability check"))?;
    Ok(())
}

/// The latest `limit` messages of the outbox of the database at `path` (all of them without
/// a limit), oldest first; read-only (see the module docs).
pub async fn outbox(path: &Path, limit: Option<u32>) -> Result<Vec<MessageRecord>, StoreError> {
    let pool = open_read_only(path).await?;
    let rows =
        sqlx::query("SELECT * FROM (SELECT * FROM outbox ORDER BY id DESC LIMIT ?) ORDER BY id")
            .bind(limit.map_or(-1, i64::from))
            .fetch_all(&pool)
            .await
            .map_err(query("reading the outbox"));
    pool.close().await;
    rows?.iter().map(rows::message).collect()
}

/// A read-only pool of one connection to the existing database at `path`.
async fn open_read_only(path: &Path) -> Result<SqlitePool, StoreError> {
    let shown = path.display().to_string();
    if !path.is_file() {
        return Err(StoreError::Open {
            path: shown,
            reason: "no such database file".into(),
        });
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(std::time::Duration::from_secs(5));
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Open {
            path: shown,
            reason: e.to_string(),
        })
}

impl StoreStatus {
    /// Reads the status of the database at `path`, read-only (see the module docs).
    pub async fn read_only(path: &Path) -> Result<Self, StoreError> {
        let pool = open_read_only(path).await?;
        let status = Self::read(&pool).await;
        pool.close().await;
        status
    }

    /// Reads the status of the PostgreSQL database at `url` without migrating or writing.
    pub async fn read_postgres(url: &PostgresUrl) -> Result<Self, StoreError> {
        let store = PgStore::connect(url).await?;
        let status = Self::read(store.pool()).await;
        store.close().await;
        status
    }

    /// The status through `pool`, of either backend: the statements are plain SQL both take.
    async fn read<DB>(pool: &Pool<DB>) -> Result<Self, StoreError>
    where
        DB: Database,
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
        for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
        DB::Row: Columns,
    {
        let mut servers = sqlx::query::<DB>("SELECT server FROM servers")
            .fetch_all(pool)
            .await
            .map_err(query("reading servers"))?
            .iter()
            .map(|row| row.text("server"))
            .collect::<Result<Vec<_>, _>>()?;
        servers.sort();
        let mut destinations = sqlx::query::<DB>("SELECT * FROM destinations")
            .fetch_all(pool)
            .await
            .map_err(query("reading destinations"))?
            .iter()
            .map(rows::destination)
            .collect::<Result<Vec<_>, _>>()?;
        destinations.sort_by(|a, b| (&a.server, a.id).cmp(&(&b.server, b.id)));
        let mut rules = BTreeMap::new();
        for row in sqlx::query::<DB>("SELECT server, COUNT(*) AS n FROM rules GROUP BY server")
            .fetch_all(pool)
            .await
            .map_err(query("counting rules"))?
        {
            rules.insert(row.text("server")?, count(row.int("n")?));
        }
        let mut job_runs = BTreeMap::new();
        for row in sqlx::query::<DB>("SELECT job, scheduled_at, finished_at FROM job_runs")
            .fetch_all(pool)
            .await
            .map_err(query("reading job runs"))?
        {
            job_runs.insert(
                row.text("job")?,
                (row.instant("scheduled_at")?, row.instant("finished_at")?),
            );
        }
        Ok(Self {
            servers,
            destinations,
            rules,
            outbox: outbox_summary(pool).await?,
            job_runs,
        })
    }
}
