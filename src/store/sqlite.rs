//! The embedded store: one SQLite file (sqlx), created with its migrations on first run.
//!
//! The schema lives in `migrations/sqlite/`, compiled into the binary; opening a database
//! written by an older version applies the missing migrations (never wipes), and one written
//! by a newer version is refused. One process per file: `highwater run` opens it with
//! [`SqliteStore::open_locked`], which takes the file's [`DatabaseLock`] first, and only that
//! holder takes every attempt still in flight as interrupted at start-up (see
//! [`Store::recover_interrupted`]).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::page_limit::PageLimit;
use super::rows::{self, Columns, date_text, from_ms, ms, nan_to_null, parse_date, query};
use super::schema;
use super::transaction::{Begin, WriteTx};
use super::{
    Claimed, Compose, DatabaseLock, Destination, Enqueued, JobClaim, MessageState, Mute, RuleAdded,
    ServerId, ServerLimits, ServerSettings, Store, StoreError, StoredRule, Target, TickWrite,
};
use crate::providers::market_data::Cached;

/// How long a writer waits for another connection's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
}

/// Turns an open/migrate failure into advice.
fn open_reason(error: &sqlx::Error) -> String {
    let text = error.to_string();
    if let Some(db) = error.as_database_error() {
        match db.code().as_deref() {
            Some("26") => return "the file is not a SQLite database".into(),
            Some("8") => {
                return "the database is read-only; highwater must be able to write it".into();
            }
            Some("14") => {
                return "cannot open the file: check that its folder exists and is writable".into();
            }
            _ => {}
        }
    }
    if text.contains("file is not a database") {
        "the file is not a SQLite database".into()
    } else if text.contains("readonly") {
        "the database is read-only; highwater must be able to write it".into()
    } else {
        text
    }
}

/// Refuses, with advice, a path SQLite would open and fail on only later (a read-only file:
/// at the first write; as root perhaps never) or whose folder is missing.
fn check_path(path: &Path) -> Result<(), StoreError> {
    let open_error = |reason: String| StoreError::Open {
        path: path.display().to_string(),
        reason,
    };
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.is_dir() {
            return Err(open_error("is a directory, not a database file".into()));
        }
        if meta.permissions().readonly() {
            return Err(open_error(
                "the file is read-only; highwater must be able to write it".into(),
            ));
        }
    } else if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        match std::fs::metadata(parent) {
            Ok(meta) if meta.permissions().readonly() => {
                return Err(open_error(format!(
                    "its folder {} is read-only, so the database cannot be created",
                    parent.display()
                )));
            }
            Ok(_) => {}
            Err(_) => {
                return Err(open_error(format!(
                    "its folder {} does not exist",
                    parent.display()
                )));
            }
        }
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// This takes no lock: use [`open_locked`](Self::open_locked) for the process that owns
    /// the database (`highwater run`).
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_at_version(path, i64::MAX).await
    }

    /// Takes the database's exclusive lock ([`DatabaseLock`]), then opens it as
    /// [`open`](Self::open) does. Fails at once, before the file is touched, when another
    /// process holds the lock. The store works as long as the returned lock is kept.
    pub async fn open_locked(path: &Path) -> Result<(Self, DatabaseLock), StoreError> {
        check_path(path)?;
        let lock = DatabaseLock::acquire(path)?;
        let store = Self::connect(path, i64::MAX, None).await?;
        Ok((store, lock))
    }

    /// Opens the database as [`open`](Self::open) does, with every connection's size capped
    /// as `limit` says — how a test fills the disk (see [`PageLimit`]).
    #[doc(hidden)]
    pub async fn open_with_page_limit(path: &Path, limit: PageLimit) -> Result<Self, StoreError> {
        check_path(path)?;
        Self::connect(path, i64::MAX, Some(limit)).await
    }

    /// Opens the database with the schema only up to migration `version` — how a test makes
    /// a database "written by an older version".
    #[doc(hidden)]
    pub async fn open_at_version(path: &Path, version: i64) -> Result<Self, StoreError> {
        check_path(path)?;
        Self::connect(path, version, None).await
    }

    /// Creates the file if needed, opens the pool and migrates up to `version`.
    async fn connect(
        path: &Path,
        version: i64,
        limit: Option<PageLimit>,
    ) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let open_error = |reason: String| StoreError::Open {
            path: shown.clone(),
            reason,
        };
        // The database holds webhook URLs, whose tokens are secrets: a new file (and the WAL
        // files SQLite derives from it, which copy its mode) is readable by its owner only.
        #[cfg(unix)]
        if !path.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| open_error(format!("cannot create it: {e}")))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL syncs at checkpoints rather than at every commit: a process
            // crash loses nothing committed; only a power cut can lose the last commits (at
            // worst a delivery recorded again as pending, then re-sent).
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let mut pool_options = SqlitePoolOptions::new().max_connections(4);
        if let Some(limit) = limit {
            let on_connect = limit.clone();
            pool_options = pool_options
                .after_connect(move |conn, _| {
                    let pragma = on_connect.pragma();
                    Box::pin(async move { sqlx::query(&pragma).execute(conn).await.map(drop) })
                })
                .before_acquire(move |conn, _| {
                    let pragma = limit.pragma();
                    Box::pin(async move { sqlx::query(&pragma).execute(conn).await.map(|_| true) })
                });
        }
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(|e| open_error(open_reason(&e)))?;
        // Reading the schema is the first real read: a file that is not SQLite fails here.
        sqlx::query("SELECT count(*) FROM sqlite_master")
            .fetch_one(&pool)
            .await
            .map_err(|e| open_error(open_reason(&e)))?;
        schema::migrator(&schema::SQLITE, version)
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migrate {
                path: shown.clone(),
                reason: schema::migrate_reason(&e, open_reason),
            })?;
        Ok(Self {
            pool,
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the pool (all connections), e.g. before the file is inspected or replaced.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn insert_rule(
        tx: &mut sqlx::SqliteConnection,
        server: &ServerId,
        rule: &StoredRule,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let spec = rows::rule_spec(rule)?;
        sqlx::query(
            "INSERT INTO rules (server, rule_id, spec, destination, mention_role, created_at)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (server, rule_id) DO UPDATE SET
                spec = excluded.spec, destination = excluded.destination,
                mention_role = excluded.mention_role",
        )
        .bind(server.as_str())
        .bind(&rule.rule.id)
        .bind(spec)
        .bind(rule.destination)
        .bind(rule.mention_role.map(|r| r.to_string()))
        .bind(ms(now))
        .execute(tx)
        .await
        .map_err(query("storing a rule"))?;
        Ok(())
    }

    async fn insert_watchlist(
        tx: &mut sqlx::SqliteConnection,
        server: &ServerId,
        symbols: &[String],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM watchlist WHERE server = ?")
            .bind(server.as_str())
            .execute(&mut *tx)
            .await
            .map_err(query("replacing a watchlist"))?;
        for symbol in symbols {
            sqlx::query("INSERT OR IGNORE INTO watchlist (server, symbol) VALUES (?, ?)")
                .bind(server.as_str())
                .bind(symbol)
                .execute(&mut *tx)
                .await
                .map_err(query("replacing a watchlist"))?;
        }
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn upsert_server(
        &self,
        settings: &ServerSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (start, end) = match settings.quiet_hours {
            Some(q) => (Some(q.start_minute()), Some(q.end_minute())),
            None => (None, None),
        };
        sqlx::query(
            "INSERT INTO servers (server, display_tz, quiet_start, quiet_end, alert_channel,
                                  digest_channel, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (server) DO UPDATE SET
                display_tz = excluded.display_tz, quiet_start = excluded.quiet_start,
                quiet_end = excluded.quiet_end, alert_channel = excluded.alert_channel,
                digest_channel = excluded.digest_channel, updated_at = excluded.updated_at",
        )
        .bind(settings.server.as_str())
        .bind(settings.display_tz.name())
        .bind(start)
        .bind(end)
        .bind(settings.alert_channel.map(|c| c.to_string()))
        .bind(settings.digest_channel.map(|c| c.to_string()))
        .bind(ms(now))
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(query("storing server settings"))?;
        Ok(())
    }

    async fn server(&self, server: &ServerId) -> Result<Option<ServerSettings>, StoreError> {
        let row = sqlx::query("SELECT * FROM servers WHERE server = ?")
            .bind(server.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(query("reading server settings"))?;
        row.as_ref().map(rows::settings).transpose()
    }

    async fn servers(&self) -> Result<Vec<ServerSettings>, StoreError> {
        let rows = sqlx::query("SELECT * FROM servers ORDER BY server")
            .fetch_all(&self.pool)
            .await
            .map_err(query("listing servers"))?;
        rows.iter().map(rows::settings).collect()
    }

    async fn destination_for(&self, server: &ServerId, target: &Target) -> Result<i64, StoreError> {
        sqlx::query("INSERT OR IGNORE INTO destinations (server, kind, target) VALUES (?, ?, ?)")
            .bind(server.as_str())
            .bind(target.kind())
            .bind(target.stored())
            .execute(&self.pool)
            .await
            .map_err(query("storing a destination"))?;
        sqlx::query_scalar(
            "SELECT id FROM destinations WHERE server = ? AND kind = ? AND target = ?",
        )
        .bind(server.as_str())
        .bind(target.kind())
        .bind(target.stored())
        .fetch_one(&self.pool)
        .await
        .map_err(query("reading a destination"))
    }

    async fn destination(&self, id: i64) -> Result<Option<Destination>, StoreError> {
        let row = sqlx::query("SELECT * FROM destinations WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("reading a destination"))?;
        row.as_ref().map(rows::destination).transpose()
    }

    async fn destinations(&self, server: &ServerId) -> Result<Vec<Destination>, StoreError> {
        let rows = sqlx::query("SELECT * FROM destinations WHERE server = ? ORDER BY id")
            .bind(server.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(query("listing destinations"))?;
        rows.iter().map(rows::destination).collect()
    }

    async fn disable_destination(
        &self,
        id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE destinations SET enabled = 0, disabled_reason = ?, disabled_at = ?
             WHERE id = ?",
        )
        .bind(reason)
        .bind(ms(now))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(query("disabling a destination"))?;
        Ok(())
    }

    async fn enable_destination(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE destinations SET enabled = 1, disabled_reason = NULL, disabled_at = NULL
             WHERE id = ?",
        )
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(query("enabling a destination"))?;
        Ok(())
    }

    async fn add_rule_within(
        &self,
        server: &ServerId,
        rule: &StoredRule,
        limits: ServerLimits,
        id_for: &(dyn for<'t> Fn(&'t BTreeSet<String>) -> String + Send + Sync),
        now: DateTime<Utc>,
    ) -> Result<RuleAdded, StoreError> {
        const DOING: &str = "adding a rule";
        // IMMEDIATE takes the write lock before the read, so no other add can read the same
        // count between this one's check and its insert.
        let mut tx = WriteTx::begin(&self.pool, DOING, Begin::Immediate).await?;
        let rows = sqlx::query("SELECT * FROM rules WHERE server = ?")
            .bind(server.as_str())
            .fetch_all(tx.conn())
            .await
            .map_err(query(DOING))?;
        let existing = rows.iter().map(rows::rule).collect::<Result<Vec<_>, _>>()?;
        let stored = match rows::within_limits(existing, rule, limits, id_for) {
            Ok(stored) => stored,
            Err(refused) => {
                tx.rollback().await?;
                return Ok(refused);
            }
        };
        Self::insert_rule(tx.conn(), server, &stored, now).await?;
        tx.commit().await?;
        Ok(RuleAdded::Added { id: stored.rule.id })
    }

    async fn put_rule(
        &self,
        server: &ServerId,
        rule: &StoredRule,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(query("storing a rule"))?;
        Self::insert_rule(&mut conn, server, rule, now).await
    }

    async fn remove_rule(&self, server: &ServerId, rule_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM rules WHERE server = ? AND rule_id = ?")
            .bind(server.as_str())
            .bind(rule_id)
            .execute(&self.pool)
            .await
            .map_err(query("removing a rule"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn rules(&self, server: &ServerId) -> Result<Vec<StoredRule>, StoreError> {
        let rows = sqlx::query("SELECT * FROM rules WHERE server = ? ORDER BY created_at, rule_id")
            .bind(server.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(query("reading rules"))?;
        rows.iter().map(rows::rule).collect()
    }

    async fn replace_rules(
        &self,
        server: &ServerId,
        rules: &[StoredRule],
        watchlist: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = WriteTx::begin(&self.pool, "replacing rules", Begin::Deferred).await?;
        sqlx::query("DELETE FROM rules WHERE server = ?")
            .bind(server.as_str())
            .execute(tx.conn())
            .await
            .map_err(query("replacing rules"))?;
        for rule in rules {
            Self::insert_rule(tx.conn(), server, rule, now).await?;
        }
        Self::insert_watchlist(tx.conn(), server, watchlist).await?;
        tx.commit().await
    }

    async fn watchlist(&self, server: &ServerId) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT symbol FROM watchlist WHERE server = ? ORDER BY symbol")
            .bind(server.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(query("reading a watchlist"))
    }

    async fn mute(&self, server: &ServerId, mute: &Mute) -> Result<(), StoreError> {
        let (kind, target) = rows::mute_target(&mute.target);
        sqlx::query(
            "INSERT INTO mutes (server, target_kind, target, until) VALUES (?, ?, ?, ?)
             ON CONFLICT (server, target_kind, target) DO UPDATE SET until = excluded.until",
        )
        .bind(server.as_str())
        .bind(kind)
        .bind(target)
        .bind(ms(mute.until))
        .execute(&self.pool)
        .await
        .map_err(query("storing a mute"))?;
        Ok(())
    }

    async fn active_mutes(
        &self,
        server: &ServerId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Mute>, StoreError> {
        let rows = sqlx::query(
            "SELECT target_kind, target, until FROM mutes WHERE server = ? AND until > ?
             ORDER BY target_kind, target",
        )
        .bind(server.as_str())
        .bind(ms(now))
        .fetch_all(&self.pool)
        .await
        .map_err(query("reading mutes"))?;
        rows.iter().map(rows::mute).collect()
    }

    async fn load_history(&self, ticker: &str) -> Result<Option<Cached>, StoreError> {
        let meta = sqlx::query("SELECT * FROM bar_meta WHERE symbol = ?")
            .bind(ticker)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("reading the bar cache"))?;
        let Some(meta) = meta else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT date, open, high, low, close, volume FROM bars WHERE symbol = ? ORDER BY date",
        )
        .bind(ticker)
        .fetch_all(&self.pool)
        .await
        .map_err(query("reading the bar cache"))?;
        let bars = rows.iter().map(rows::bar).collect::<Result<Vec<_>, _>>()?;
        rows::cached(&meta, bars).map(Some)
    }

    async fn save_history(
        &self,
        ticker: &str,
        history: &Cached,
        unchanged: usize,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const DOING: &str = "saving the bar cache";
        let mut tx = WriteTx::begin(&self.pool, DOING, Begin::Deferred).await?;
        let (kept, changed) = rows::split_unchanged(&history.bars, unchanged);
        sqlx::query("DELETE FROM bars WHERE symbol = ? AND date > ?")
            .bind(ticker)
            .bind(kept)
            .execute(tx.conn())
            .await
            .map_err(query(DOING))?;
        for bar in changed {
            sqlx::query(
                "INSERT INTO bars (symbol, date, open, high, low, close, volume)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(ticker)
            .bind(date_text(bar.date()))
            .bind(nan_to_null(bar.open()))
            .bind(nan_to_null(bar.high()))
            .bind(nan_to_null(bar.low()))
            .bind(bar.close())
            .bind(nan_to_null(bar.volume()))
            .execute(tx.conn())
            .await
            .map_err(query(DOING))?;
        }
        let meta = rows::BarMeta::of(history);
        sqlx::query(
            "INSERT OR REPLACE INTO bar_meta (symbol, last_split, held_date, held_open, held_high,
                 held_low, held_close, held_volume, held_jump_pct, held_rejected, held_reason,
                 updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(ticker)
        .bind(meta.last_split)
        .bind(meta.held_date)
        .bind(meta.held_open)
        .bind(meta.held_high)
        .bind(meta.held_low)
        .bind(meta.held_close)
        .bind(meta.held_volume)
        .bind(meta.held_jump_pct)
        .bind(meta.held_rejected)
        .bind(meta.held_reason)
        .bind(ms(now))
        .execute(tx.conn())
        .await
        .map_err(query(DOING))?;
        tx.commit().await
    }

    async fn watermarks(&self) -> Result<HashMap<(String, String), NaiveDate>, StoreError> {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT server, symbol, through FROM evaluated")
                .fetch_all(&self.pool)
                .await
                .map_err(query("reading the watermarks"))?;
        rows.into_iter()
            .map(|(server, symbol, through)| {
                Ok(((server, symbol), parse_date(&through, "evaluated through")?))
            })
            .collect()
    }

    async fn evaluated_through(
        &self,
        server: &ServerId,
        ticker: &str,
    ) -> Result<Option<NaiveDate>, StoreError> {
        let through: Option<String> =
            sqlx::query_scalar("SELECT through FROM evaluated WHERE server = ? AND symbol = ?")
                .bind(server.as_str())
                .bind(ticker)
                .fetch_optional(&self.pool)
                .await
                .map_err(query("reading a watermark"))?;
        through
            .map(|d| parse_date(&d, "evaluated through"))
            .transpose()
    }

    async fn enqueue(
        &self,
        write: &TickWrite,
        compose: &dyn Compose,
        now: DateTime<Utc>,
    ) -> Result<Enqueued, StoreError> {
        const DOING: &str = "storing new alerts";
        let mut tx = WriteTx::begin(&self.pool, DOING, Begin::Deferred).await?;
        let mut done = Enqueued::default();
        for group in &write.groups {
            let session = date_text(group.session);
            let mut fresh = Vec::new();
            for alert in &group.alerts {
                let inserted = sqlx::query(
                    "INSERT OR IGNORE INTO alert_log
                        (server, rule_id, symbol, kind, period, session, created_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(group.server.as_str())
                .bind(&alert.rule_id)
                .bind(&group.symbol)
                .bind(&alert.kind)
                .bind(&alert.period)
                .bind(&session)
                .bind(ms(now))
                .execute(tx.conn())
                .await
                .map_err(query(DOING))?;
                if inserted.rows_affected() == 1 {
                    fresh.push(alert);
                } else {
                    done.duplicates += 1;
                }
            }
            if fresh.is_empty() {
                continue;
            }
            let destination = sqlx::query("SELECT kind, target FROM destinations WHERE id = ?")
                .bind(group.destination)
                .fetch_optional(tx.conn())
                .await
                .map_err(query(DOING))?
                .ok_or_else(|| {
                    StoreError::NotFound(format!("no destination {}", group.destination))
                })?;
            let payload = rows::compose_payload(compose, group, &fresh, &destination)?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO outbox (server, destination, symbol, session, payload, state,
                                     next_attempt_at, created_at)
                 VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING id",
            )
            .bind(group.server.as_str())
            .bind(group.destination)
            .bind(&group.symbol)
            .bind(&session)
            .bind(payload)
            .bind(ms(now))
            .bind(ms(now))
            .fetch_one(tx.conn())
            .await
            .map_err(query(DOING))?;
            for alert in &fresh {
                sqlx::query(
                    "UPDATE alert_log SET outbox_id = ?
                     WHERE server = ? AND rule_id = ? AND symbol = ? AND kind = ? AND period = ?",
                )
                .bind(id)
                .bind(group.server.as_str())
                .bind(&alert.rule_id)
                .bind(&group.symbol)
                .bind(&alert.kind)
                .bind(&alert.period)
                .execute(tx.conn())
                .await
                .map_err(query(DOING))?;
            }
            done.alerts += fresh.len();
            done.messages += 1;
        }
        for (server, symbol, through) in &write.evaluated {
            sqlx::query(
                "INSERT INTO evaluated (server, symbol, through) VALUES (?, ?, ?)
                 ON CONFLICT (server, symbol) DO UPDATE SET through = MAX(through, excluded.through)",
            )
            .bind(server.as_str())
            .bind(symbol)
            .bind(date_text(*through))
            .execute(tx.conn())
            .await
            .map_err(query(DOING))?;
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn recover_interrupted(&self, now: DateTime<Utc>, all: bool) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'pending', interrupted = 1, lease_until = NULL,
                note = 'an attempt was in flight when the process stopped'
             WHERE state = 'sending' AND (? OR lease_until < ?)",
        )
        .bind(all)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(query("recovering interrupted deliveries"))?;
        Ok(done.rows_affected())
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError> {
        const DOING: &str = "claiming due messages";
        let mut tx = WriteTx::begin(&self.pool, DOING, Begin::Deferred).await?;
        let rows = sqlx::query(
            "UPDATE outbox SET state = 'sending', lease_until = ?, attempts = attempts + 1,
                last_attempt_at = ?
             WHERE id IN (SELECT o.id FROM outbox o
                          WHERE o.state = 'pending' AND o.next_attempt_at <= ?
                            AND o.id = (SELECT MIN(h.id) FROM outbox h
                                        WHERE h.destination = o.destination
                                          AND h.state IN ('pending', 'sending'))
                          ORDER BY o.next_attempt_at, o.id LIMIT ?)
             RETURNING id, server, destination, symbol, session, payload, attempts, interrupted",
        )
        .bind(ms(lease_until))
        .bind(ms(now))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(tx.conn())
        .await
        .map_err(query(DOING))?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let id = row.int("id")?;
            let destination = sqlx::query("SELECT * FROM destinations WHERE id = ?")
                .bind(row.int("destination")?)
                .fetch_one(tx.conn())
                .await
                .map_err(query(DOING))?;
            let rules: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT rule_id FROM alert_log WHERE outbox_id = ? ORDER BY rule_id",
            )
            .bind(id)
            .fetch_all(tx.conn())
            .await
            .map_err(query(DOING))?;
            claimed.push(rows::claimed(row, rows::destination(&destination)?, rules)?);
        }
        tx.commit().await?;
        claimed.sort_by_key(|c| c.id);
        Ok(claimed)
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let at: Option<i64> =
            sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await
                .map_err(query("reading the outbox"))?;
        at.map(|t| from_ms(t, "next_attempt_at")).transpose()
    }

    async fn mark_delivered(
        &self,
        id: i64,
        remote_id: Option<&str>,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET state = 'delivered', remote_id = ?, note = ?, done_at = ?,
                lease_until = NULL
             WHERE id = ?",
        )
        .bind(remote_id)
        .bind(note)
        .bind(ms(now))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(query("marking a message delivered"))?;
        Ok(())
    }

    async fn retry_at(
        &self,
        id: i64,
        at: DateTime<Utc>,
        note: &str,
        counts_as_attempt: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?, note = ?, lease_until = NULL,
                attempts = attempts - ?
             WHERE id = ?",
        )
        .bind(ms(at))
        .bind(note)
        .bind(i64::from(!counts_as_attempt))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(query("rescheduling a message"))?;
        Ok(())
    }

    async fn finish(
        &self,
        id: i64,
        state: MessageState,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET state = ?, note = ?, done_at = ?, lease_until = NULL WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(note)
        .bind(ms(now))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(query("ending a message"))?;
        Ok(())
    }

    async fn job_runs(&self) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        let rows = sqlx::query("SELECT job, scheduled_at FROM job_runs")
            .fetch_all(&self.pool)
            .await
            .map_err(query("reading job runs"))?;
        rows.iter()
            .map(|row| Ok((row.text("job")?, row.instant("scheduled_at")?)))
            .collect()
    }

    async fn outbox_summary(&self) -> Result<super::OutboxSummary, StoreError> {
        super::status::outbox_summary(&self.pool).await
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        super::status::check_writable(&self.pool).await
    }

    async fn record_job_run(
        &self,
        job: &str,
        scheduled: DateTime<Utc>,
        finished: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const DOING: &str = "recording a job run";
        let mut tx = WriteTx::begin(&self.pool, DOING, Begin::Immediate).await?;
        sqlx::query(
            "INSERT INTO job_runs (job, scheduled_at, finished_at) VALUES (?, ?, ?)
             ON CONFLICT (job) DO UPDATE SET scheduled_at = excluded.scheduled_at,
                finished_at = excluded.finished_at
             WHERE excluded.scheduled_at >= job_runs.scheduled_at",
        )
        .bind(job)
        .bind(ms(scheduled))
        .bind(ms(finished))
        .execute(tx.conn())
        .await
        .map_err(query(DOING))?;
        sqlx::query("DELETE FROM job_claims WHERE job = ? AND scheduled_at <= ?")
            .bind(job)
            .bind(ms(scheduled))
            .execute(tx.conn())
            .await
            .map_err(query(DOING))?;
        tx.commit().await
    }

    async fn job_claims(&self) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        sqlx::query("SELECT job, scheduled_at FROM job_claims")
            .fetch_all(&self.pool)
            .await
            .map_err(query("reading job claims"))?
            .iter()
            .map(|row| Ok((row.text("job")?, row.instant("scheduled_at")?)))
            .collect()
    }

    async fn claim_job_run(
        &self,
        job: &str,
        scheduled: DateTime<Utc>,
        instance: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<JobClaim, StoreError> {
        const DOING: &str = "claiming a job run";
        let mut tx = WriteTx::begin(&self.pool, DOING, Begin::Immediate).await?;
        // The SELECT needs its WHERE for SQLite to read ON CONFLICT as the upsert clause.
        let granted = sqlx::query(
            "INSERT INTO job_claims (job, scheduled_at, instance, lease_until)
             SELECT ?, ?, ?, ?
             WHERE NOT EXISTS (SELECT 1 FROM job_runs WHERE job = ? AND scheduled_at >= ?)
             ON CONFLICT (job) DO UPDATE SET scheduled_at = excluded.scheduled_at,
                instance = excluded.instance, lease_until = excluded.lease_until
             WHERE job_claims.scheduled_at < excluded.scheduled_at
                OR (job_claims.scheduled_at = excluded.scheduled_at
                    AND (job_claims.instance = excluded.instance
                         OR job_claims.lease_until < ?))
             RETURNING job",
        )
        .bind(job)
        .bind(ms(scheduled))
        .bind(instance)
        .bind(ms(lease_until))
        .bind(job)
        .bind(ms(scheduled))
        .bind(ms(now))
        .fetch_optional(tx.conn())
        .await
        .map_err(query(DOING))?
        .is_some();
        let answer = if granted {
            JobClaim::Claimed
        } else {
            let last_run: Option<i64> =
                sqlx::query_scalar("SELECT scheduled_at FROM job_runs WHERE job = ?")
                    .bind(job)
                    .fetch_optional(tx.conn())
                    .await
                    .map_err(query(DOING))?;
            let claim = sqlx::query(
                "SELECT scheduled_at, instance, lease_until FROM job_claims WHERE job = ?",
            )
            .bind(job)
            .fetch_optional(tx.conn())
            .await
            .map_err(query(DOING))?
            .map(|row| {
                Ok::<_, StoreError>((
                    row.int("scheduled_at")?,
                    row.text("instance")?,
                    row.int("lease_until")?,
                ))
            })
            .transpose()?;
            rows::job_claim_refused(ms(scheduled), last_run, claim, now)?
        };
        tx.commit().await?;
        Ok(answer)
    }
}
