//! The shared store: a PostgreSQL database (sqlx), its schema created or brought up to date
//! when it is opened. Selected by `[store] url = "postgres://user@host/db"`.
//!
//! **Same meaning as [`SqliteStore`](super::SqliteStore).** The schema in
//! `migrations/postgres/` has the same tables and columns as `migrations/sqlite/` and encodes
//! values the same way: instants as UTC milliseconds (`BIGINT`), session dates as `YYYY-MM-DD`
//! text, flags as 0/1, every integer `BIGINT` and every price `DOUBLE PRECISION`. Native
//! `TIMESTAMPTZ`, `DATE` and `BOOLEAN` columns would read better in `psql`, but would need a
//! second decoder for every row; with one encoding the rows of both databases become the
//! store's types through the same code (`rows.rs`), and the schema test compares the two
//! column by column. Text is ordered with `COLLATE "C"` (by bytes, as SQLite orders it), never
//! by the database's locale. Message nonces come from the message's identity, not from a row
//! id or the database ([`crate::notify::message_nonce`]), so they mean the same here: the same
//! alert to the same place has the same nonce in any database, different alerts never share one.
//!
//! **Several processes may share one database**, so nothing here assumes it is alone. There is
//! no file lock; every write that reads first is a transaction that locks what it depends on:
//! - claiming due messages locks the destinations it claims for with
//!   `FOR NO KEY UPDATE SKIP LOCKED` (the `FOR UPDATE` mode that does not block inserts
//!   referring to the row) and then, in a second statement with a fresh snapshot, takes their
//!   due messages with `FOR UPDATE SKIP LOCKED` — only if none of them is in flight *now*. Two
//!   claimers therefore never take the same message, nor messages of one destination at once
//!   (its messages stay in order, one at a time), and neither waits for the other;
//! - adding a rule within a server's limits, and replacing a server's rules, lock the server's
//!   row first, so two adds cannot both pass a limit;
//! - a duplicate dedup key is a no-op (`ON CONFLICT DO NOTHING`, which waits for a concurrent
//!   insert of the same key to commit), so two ticks writing the same alert log it once;
//! - claiming a job's run (`claim_job_run`) is one upsert of the job's row in `job_claims`,
//!   whose `WHERE` is re-checked against the committed row when two claim at once, so one
//!   instance runs a fire time; which instance *starts* jobs is the scheduler leader's
//!   advisory lock (`leader.rs`);
//! - migrating takes sqlx's advisory lock, so instances starting together migrate once.
//!
//! Taking every delivery marked `sending` as interrupted (`recover_interrupted(_, true)`) is
//! only safe for a process that knows it is alone; with a shared database only expired leases
//! are (`all == false`).

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};

use super::rows::{self, Columns, date_text, from_ms, ms, nan_to_null, parse_date, query};
use super::schema;
use super::{
    Claimed, Compose, Destination, Enqueued, JobClaim, MessageRecord, MessageState, Mute,
    OutboxSummary, RuleAdded, ServerId, ServerLimits, ServerSettings, Store, StoreError,
    StoredRule, Target, TickWrite,
};
use crate::config::PostgresUrl;
use crate::providers::market_data::Cached;

/// Connections per process: the deliverer's four workers, a tick and the bot's commands at
/// once, with room to spare, and still few enough for many instances on one server.
const MAX_CONNECTIONS: u32 = 8;

/// How long a query waits for a free connection (or to connect) before it fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL store. Clones share the pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The URL without its password, for errors.
    shown: String,
}

/// Turns a failure to connect into advice.
fn connect_reason(error: &sqlx::Error) -> String {
    if let Some(db) = error.as_database_error() {
        match db.code().as_deref() {
            Some("3D000") => return format!("{db}: create the database first"),
            Some("28000" | "28P01") => {
                return format!("{db}: check the user and password in the URL");
            }
            _ => return db.to_string(),
        }
    }
    format!("cannot connect ({error}); is PostgreSQL running and reachable?")
}

/// Watermarks written by one statement (three arrays of this many elements).
const WATERMARK_BATCH: usize = 5_000;

impl PgStore {
    /// Connects to the database at `url` and brings its schema up to date (creating it in an
    /// empty database). A database written by a newer highwater is refused. The schema lives in
    /// the connection's `search_path` (normally `public`; the URL may name another with
    /// `?options[search_path]=name`).
    pub async fn open(url: &PostgresUrl) -> Result<Self, StoreError> {
        Self::open_at_version(url, i64::MAX).await
    }

    /// Opens the database with the schema only up to migration `version` — how a test makes
    /// a database "written by an older version".
    #[doc(hidden)]
    pub async fn open_at_version(url: &PostgresUrl, version: i64) -> Result<Self, StoreError> {
        let store = Self::connect(url).await?;
        schema::migrator(&schema::POSTGRES, version)
            .run(&store.pool)
            .await
            .map_err(|e| StoreError::Migrate {
                path: store.shown.clone(),
                reason: schema::migrate_reason(&e, connect_reason),
            })?;
        Ok(store)
    }

    /// A pool on the database at `url`, checked with one query; no migration, no write.
    pub(super) async fn connect(url: &PostgresUrl) -> Result<Self, StoreError> {
        let shown = url.to_string();
        let open_error = |reason: String| StoreError::Open {
            path: shown.clone(),
            reason,
        };
        let options = PgConnectOptions::from_str(url.expose())
            .map_err(|e| open_error(format!("not a usable PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| open_error(connect_reason(&e)))?;
        sqlx::query("SELECT 1")
            .execute(&pool)
            .await
            .map_err(|e| open_error(connect_reason(&e)))?;
        Ok(Self { pool, shown })
    }

    /// The latest `limit` messages of the outbox (all of them without a limit), oldest first,
    /// read from the database at `url` without migrating or writing (as `highwater outbox`
    /// reads a SQLite file).
    pub async fn read_outbox(
        url: &PostgresUrl,
        limit: Option<u32>,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let store = Self::connect(url).await?;
        let messages = store.outbox(limit).await;
        store.close().await;
        messages
    }

    /// The latest `limit` messages of the outbox (all without a limit), oldest first.
    pub async fn outbox(&self, limit: Option<u32>) -> Result<Vec<MessageRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM (SELECT * FROM outbox ORDER BY id DESC LIMIT $1) latest ORDER BY id",
        )
        .bind(limit.map(i64::from))
        .fetch_all(&self.pool)
        .await
        .map_err(query("reading the outbox"))?;
        rows.iter().map(rows::message).collect()
    }

    /// The database, without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The pool, for reading beside the store (`status.rs`).
    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool (all connections).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Locks `server`'s row until the transaction ends, so that what the transaction reads of
    /// the server's rules cannot change before it writes. A server without a row has no rules
    /// and cannot get any (they refer to it).
    async fn lock_server(
        conn: &mut PgConnection,
        server: &ServerId,
        doing: &'static str,
    ) -> Result<(), StoreError> {
        sqlx::query("SELECT server FROM servers WHERE server = $1 FOR UPDATE")
            .bind(server.as_str())
            .fetch_optional(conn)
            .await
            .map_err(query(doing))?;
        Ok(())
    }

    async fn insert_rule(
        conn: &mut PgConnection,
        server: &ServerId,
        rule: &StoredRule,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO rules (server, rule_id, spec, destination, mention_role, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (server, rule_id) DO UPDATE SET
                spec = excluded.spec, destination = excluded.destination,
                mention_role = excluded.mention_role",
        )
        .bind(server.as_str())
        .bind(&rule.rule.id)
        .bind(rows::rule_spec(rule)?)
        .bind(rule.destination)
        .bind(rule.mention_role.map(|r| r.to_string()))
        .bind(ms(now))
        .execute(conn)
        .await
        .map_err(query("storing a rule"))?;
        Ok(())
    }

    async fn rules_in(
        conn: &mut PgConnection,
        server: &ServerId,
        doing: &'static str,
    ) -> Result<Vec<StoredRule>, StoreError> {
        sqlx::query(
            "SELECT * FROM rules WHERE server = $1 ORDER BY created_at, rule_id COLLATE \"C\"",
        )
        .bind(server.as_str())
        .fetch_all(conn)
        .await
        .map_err(query(doing))?
        .iter()
        .map(rows::rule)
        .collect()
    }
}

#[async_trait]
impl Store for PgStore {
    fn kind(&self) -> &'static str {
        "postgres"
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
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
        .execute(&self.pool)
        .await
        .map_err(query("storing server settings"))?;
        Ok(())
    }

    async fn server(&self, server: &ServerId) -> Result<Option<ServerSettings>, StoreError> {
        let row = sqlx::query("SELECT * FROM servers WHERE server = $1")
            .bind(server.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(query("reading server settings"))?;
        row.as_ref().map(rows::settings).transpose()
    }

    async fn servers(&self) -> Result<Vec<ServerSettings>, StoreError> {
        sqlx::query("SELECT * FROM servers ORDER BY server COLLATE \"C\"")
            .fetch_all(&self.pool)
            .await
            .map_err(query("listing servers"))?
            .iter()
            .map(rows::settings)
            .collect()
    }

    async fn destination_for(&self, server: &ServerId, target: &Target) -> Result<i64, StoreError> {
        sqlx::query(
            "INSERT INTO destinations (server, kind, target) VALUES ($1, $2, $3)
             ON CONFLICT (server, kind, target) DO NOTHING",
        )
        .bind(server.as_str())
        .bind(target.kind())
        .bind(target.stored())
        .execute(&self.pool)
        .await
        .map_err(query("storing a destination"))?;
        sqlx::query_scalar(
            "SELECT id FROM destinations WHERE server = $1 AND kind = $2 AND target = $3",
        )
        .bind(server.as_str())
        .bind(target.kind())
        .bind(target.stored())
        .fetch_one(&self.pool)
        .await
        .map_err(query("reading a destination"))
    }

    async fn destination(&self, id: i64) -> Result<Option<Destination>, StoreError> {
        let row = sqlx::query("SELECT * FROM destinations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("reading a destination"))?;
        row.as_ref().map(rows::destination).transpose()
    }

    async fn destinations(&self, server: &ServerId) -> Result<Vec<Destination>, StoreError> {
        sqlx::query("SELECT * FROM destinations WHERE server = $1 ORDER BY id")
            .bind(server.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(query("listing destinations"))?
            .iter()
            .map(rows::destination)
            .collect()
    }

    async fn disable_destination(
        &self,
        id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE destinations SET enabled = 0, disabled_reason = $1, disabled_at = $2
             WHERE id = $3",
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
             WHERE id = $1",
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
        let mut tx = self.pool.begin().await.map_err(query(DOING))?;
        // Another add for this server waits here until this one commits, then counts anew.
        Self::lock_server(&mut tx, server, DOING).await?;
        let existing = Self::rules_in(&mut tx, server, DOING).await?;
        let stored = match rows::within_limits(existing, rule, limits, id_for) {
            Ok(stored) => stored,
            Err(refused) => {
                tx.rollback().await.map_err(query(DOING))?;
                return Ok(refused);
            }
        };
        Self::insert_rule(&mut tx, server, &stored, now).await?;
        tx.commit().await.map_err(query(DOING))?;
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
        let done = sqlx::query("DELETE FROM rules WHERE server = $1 AND rule_id = $2")
            .bind(server.as_str())
            .bind(rule_id)
            .execute(&self.pool)
            .await
            .map_err(query("removing a rule"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn rules(&self, server: &ServerId) -> Result<Vec<StoredRule>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(query("reading rules"))?;
        Self::rules_in(&mut conn, server, "reading rules").await
    }

    async fn replace_rules(
        &self,
        server: &ServerId,
        rules: &[StoredRule],
        watchlist: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const DOING: &str = "replacing rules";
        let mut tx = self.pool.begin().await.map_err(query(DOING))?;
        Self::lock_server(&mut tx, server, DOING).await?;
        sqlx::query("DELETE FROM rules WHERE server = $1")
            .bind(server.as_str())
            .execute(&mut *tx)
            .await
            .map_err(query(DOING))?;
        for rule in rules {
            Self::insert_rule(&mut tx, server, rule, now).await?;
        }
        sqlx::query("DELETE FROM watchlist WHERE server = $1")
            .bind(server.as_str())
            .execute(&mut *tx)
            .await
            .map_err(query("replacing a watchlist"))?;
        sqlx::query(
            "INSERT INTO watchlist (server, symbol)
             SELECT $1, symbol FROM UNNEST($2::text[]) AS s(symbol)
             ON CONFLICT DO NOTHING",
        )
        .bind(server.as_str())
        .bind(watchlist)
        .execute(&mut *tx)
        .await
        .map_err(query("replacing a watchlist"))?;
        tx.commit().await.map_err(query(DOING))
    }

    async fn watchlist(&self, server: &ServerId) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT symbol FROM watchlist WHERE server = $1 ORDER BY symbol COLLATE \"C\"",
        )
        .bind(server.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(query("reading a watchlist"))
    }

    async fn mute(&self, server: &ServerId, mute: &Mute) -> Result<(), StoreError> {
        let (kind, target) = rows::mute_target(&mute.target);
        sqlx::query(
            "INSERT INTO mutes (server, target_kind, target, until) VALUES ($1, $2, $3, $4)
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
        sqlx::query(
            "SELECT target_kind, target, until FROM mutes WHERE server = $1 AND until > $2
             ORDER BY target_kind COLLATE \"C\", target COLLATE \"C\"",
        )
        .bind(server.as_str())
        .bind(ms(now))
        .fetch_all(&self.pool)
        .await
        .map_err(query("reading mutes"))?
        .iter()
        .map(rows::mute)
        .collect()
    }

    async fn load_history(&self, ticker: &str) -> Result<Option<Cached>, StoreError> {
        const DOING: &str = "reading the bar cache";
        // One snapshot for the meta row and the bars: a concurrent save is seen whole or not.
        let mut tx = self.pool.begin().await.map_err(query(DOING))?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(query(DOING))?;
        let meta = sqlx::query("SELECT * FROM bar_meta WHERE symbol = $1")
            .bind(ticker)
            .fetch_optional(&mut *tx)
            .await
            .map_err(query(DOING))?;
        let Some(meta) = meta else {
            return Ok(None);
        };
        let bars = sqlx::query(
            "SELECT date, open, high, low, close, volume FROM bars WHERE symbol = $1
             ORDER BY date COLLATE \"C\"",
        )
        .bind(ticker)
        .fetch_all(&mut *tx)
        .await
        .map_err(query(DOING))?
        .iter()
        .map(rows::bar)
        .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await.map_err(query(DOING))?;
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
        let mut tx = self.pool.begin().await.map_err(query(DOING))?;
        let (kept, bars) = rows::split_unchanged(&history.bars, unchanged);
        sqlx::query("DELETE FROM bars WHERE symbol = $1 AND date > $2")
            .bind(ticker)
            .bind(kept)
            .execute(&mut *tx)
            .await
            .map_err(query(DOING))?;
        // The changed bars in one statement (a column per array): thousands of bars cost one
        // round trip, not thousands.
        let column = |price: fn(&crate::market::Bar) -> Option<f64>| -> Vec<Option<f64>> {
            bars.iter().map(|b| nan_to_null(price(b))).collect()
        };
        sqlx::query(
            "INSERT INTO bars (symbol, date, open, high, low, close, volume)
             SELECT $1, * FROM UNNEST($2::text[], $3::float8[], $4::float8[], $5::float8[],
                                      $6::float8[], $7::float8[])",
        )
        .bind(ticker)
        .bind(bars.iter().map(|b| date_text(b.date())).collect::<Vec<_>>())
        .bind(column(|b| b.open()))
        .bind(column(|b| b.high()))
        .bind(column(|b| b.low()))
        .bind(bars.iter().map(|b| b.close()).collect::<Vec<_>>())
        .bind(column(|b| b.volume()))
        .execute(&mut *tx)
        .await
        .map_err(query(DOING))?;
        let meta = rows::BarMeta::of(history);
        sqlx::query(
            "INSERT INTO bar_meta (symbol, last_split, held_date, held_open, held_high, held_low,
                 held_close, held_volume, held_jump_pct, held_rejected, held_reason, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (symbol) DO UPDATE SET
                last_split = excluded.last_split, held_date = excluded.held_date,
                held_open = excluded.held_open, held_high = excluded.held_high,
                held_low = excluded.held_low, held_close = excluded.held_close,
                held_volume = excluded.held_volume, held_jump_pct = excluded.held_jump_pct,
                held_rejected = excluded.held_rejected, held_reason = excluded.held_reason,
                updated_at = excluded.updated_at",
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
        .execute(&mut *tx)
        .await
        .map_err(query(DOING))?;
        tx.commit().await.map_err(query(DOING))
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
            sqlx::query_scalar("SELECT through FROM evaluated WHERE server = $1 AND symbol = $2")
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
        let mut tx = self.pool.begin().await.map_err(query(DOING))?;
        let mut done = Enqueued::default();
        for group in &write.groups {
            let session = date_text(group.session);
            let mut fresh = Vec::new();
            for alert in &group.alerts {
                let inserted = sqlx::query(
                    "INSERT INTO alert_log
                        (server, rule_id, symbol, kind, period, session, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT DO NOTHING",
                )
                .bind(group.server.as_str())
                .bind(&alert.rule_id)
                .bind(&group.symbol)
                .bind(&alert.kind)
                .bind(&alert.period)
                .bind(&session)
                .bind(ms(now))
                .execute(&mut *tx)
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
            let destination = sqlx::query("SELECT kind, target FROM destinations WHERE id = $1")
                .bind(group.destination)
                .fetch_optional(&mut *tx)
                .await
                .map_err(query(DOING))?
                .ok_or_else(|| {
                    StoreError::NotFound(format!("no destination {}", group.destination))
                })?;
            let payload = rows::compose_payload(compose, group, &fresh, &destination)?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO outbox (server, destination, symbol, session, payload, state,
                                     next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) RETURNING id",
            )
            .bind(group.server.as_str())
            .bind(group.destination)
            .bind(&group.symbol)
            .bind(&session)
            .bind(payload)
            .bind(ms(now))
            .fetch_one(&mut *tx)
            .await
            .map_err(query(DOING))?;
            for alert in &fresh {
                sqlx::query(
                    "UPDATE alert_log SET outbox_id = $1
                     WHERE server = $2 AND rule_id = $3 AND symbol = $4 AND kind = $5
                       AND period = $6",
                )
                .bind(id)
                .bind(group.server.as_str())
                .bind(&alert.rule_id)
                .bind(&group.symbol)
                .bind(&alert.kind)
                .bind(&alert.period)
                .execute(&mut *tx)
                .await
                .map_err(query(DOING))?;
            }
            done.alerts += fresh.len();
            done.messages += 1;
        }
        // One statement per batch rather than one per watermark: a tick at scale moves
        // thousands. A pair given twice keeps its latest session (ON CONFLICT may touch a row
        // only once per statement).
        let mut latest: std::collections::BTreeMap<(&str, &str), NaiveDate> =
            std::collections::BTreeMap::new();
        for (server, symbol, through) in &write.evaluated {
            let entry = latest
                .entry((server.as_str(), symbol.as_str()))
                .or_insert(*through);
            *entry = (*entry).max(*through);
        }
        let latest: Vec<_> = latest.into_iter().collect();
        for batch in latest.chunks(WATERMARK_BATCH) {
            let servers: Vec<&str> = batch.iter().map(|((server, _), _)| *server).collect();
            let symbols: Vec<&str> = batch.iter().map(|((_, symbol), _)| *symbol).collect();
            let throughs: Vec<String> = batch.iter().map(|(_, d)| date_text(*d)).collect();
            sqlx::query(
                "INSERT INTO evaluated (server, symbol, through)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[])
                 ON CONFLICT (server, symbol) DO UPDATE
                 SET through = GREATEST(evaluated.through COLLATE \"C\", excluded.through)",
            )
            .bind(&servers)
            .bind(&symbols)
            .bind(&throughs)
            .execute(&mut *tx)
            .await
            .map_err(query(DOING))?;
        }
        tx.commit().await.map_err(query(DOING))?;
        Ok(done)
    }

    async fn recover_interrupted(&self, now: DateTime<Utc>, all: bool) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'pending', interrupted = 1, lease_until = NULL,
                note = 'an attempt was in flight when the process stopped'
             WHERE state = 'sending' AND ($1 OR lease_until < $2)",
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
        let mut tx = self.pool.begin().await.map_err(query(DOING))?;
        // First the destinations: those whose oldest open message (pending or sending) is
        // pending and due, oldest due first, each locked for this transaction; one another
        // claimer holds is skipped.
        let destinations: Vec<i64> = sqlx::query_scalar(
            "SELECT d.id FROM destinations d
             JOIN outbox h ON h.destination = d.id
             WHERE h.state = 'pending' AND h.next_attempt_at <= $1
               AND h.id = (SELECT MIN(o.id) FROM outbox o
                           WHERE o.destination = d.id AND o.state IN ('pending', 'sending'))
             ORDER BY h.next_attempt_at, h.id
             LIMIT $2
             FOR NO KEY UPDATE OF d SKIP LOCKED",
        )
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(query(DOING))?;
        if destinations.is_empty() {
            tx.commit().await.map_err(query(DOING))?;
            return Ok(Vec::new());
        }
        // Then their messages, in a statement whose snapshot is taken after those locks: a
        // claimer that held one of them has committed, so its claim is seen here as in flight.
        let claimed_rows = sqlx::query(
            "UPDATE outbox SET state = 'sending', lease_until = $1, attempts = attempts + 1,
                last_attempt_at = $2
             WHERE id IN (SELECT o.id FROM outbox o
                          WHERE o.state = 'pending' AND o.next_attempt_at <= $2
                            AND o.destination = ANY($3)
                            AND o.id = (SELECT MIN(h.id) FROM outbox h
                                        WHERE h.destination = o.destination
                                          AND h.state IN ('pending', 'sending'))
                          ORDER BY o.next_attempt_at, o.id
                          LIMIT $4
                          FOR UPDATE SKIP LOCKED)
             RETURNING id, server, destination, symbol, session, payload, attempts, interrupted",
        )
        .bind(ms(lease_until))
        .bind(ms(now))
        .bind(&destinations)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(query(DOING))?;
        let mut claimed = Vec::with_capacity(claimed_rows.len());
        for row in &claimed_rows {
            let id = row.int("id")?;
            let destination = sqlx::query("SELECT * FROM destinations WHERE id = $1")
                .bind(row.int("destination")?)
                .fetch_one(&mut *tx)
                .await
                .map_err(query(DOING))?;
            let rules: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT rule_id COLLATE \"C\" AS rule_id FROM alert_log
                 WHERE outbox_id = $1 ORDER BY 1",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await
            .map_err(query(DOING))?;
            claimed.push(rows::claimed(row, rows::destination(&destination)?, rules)?);
        }
        tx.commit().await.map_err(query(DOING))?;
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
            "UPDATE outbox SET state = 'delivered', remote_id = $1, note = $2, done_at = $3,
                lease_until = NULL
             WHERE id = $4",
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
            "UPDATE outbox SET state = 'pending', next_attempt_at = $1, note = $2,
                lease_until = NULL, attempts = attempts - $3
             WHERE id = $4",
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
            "UPDATE outbox SET state = $1, note = $2, done_at = $3, lease_until = NULL
             WHERE id = $4",
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
        sqlx::query("SELECT job, scheduled_at FROM job_runs")
            .fetch_all(&self.pool)
            .await
            .map_err(query("reading job runs"))?
            .iter()
            .map(|row| Ok((row.text("job")?, row.instant("scheduled_at")?)))
            .collect()
    }

    async fn outbox_summary(&self) -> Result<OutboxSummary, StoreError> {
        super::status::outbox_summary(&self.pool).await
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        // An update of no row: it writes nothing, and fails as every write would on a
        // read-only database (a standby, default_transaction_read_only).
        sqlx::query("UPDATE job_runs SET job = job WHERE false")
            .execute(&self.pool)
            .await
            .map_err(query("checking the database is writable"))?;
        Ok(())
    }

    async fn record_job_run(
        &self,
        job: &str,
        scheduled: DateTime<Utc>,
        finished: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const DOING: &str = "recording a job run";
        let mut tx = self.pool.begin().await.map_err(query(DOING))?;
        sqlx::query(
            "INSERT INTO job_runs (job, scheduled_at, finished_at) VALUES ($1, $2, $3)
             ON CONFLICT (job) DO UPDATE SET scheduled_at = excluded.scheduled_at,
                finished_at = excluded.finished_at
             WHERE excluded.scheduled_at >= job_runs.scheduled_at",
        )
        .bind(job)
        .bind(ms(scheduled))
        .bind(ms(finished))
        .execute(&mut *tx)
        .await
        .map_err(query(DOING))?;
        sqlx::query("DELETE FROM job_claims WHERE job = $1 AND scheduled_at <= $2")
            .bind(job)
            .bind(ms(scheduled))
            .execute(&mut *tx)
            .await
            .map_err(query(DOING))?;
        tx.commit().await.map_err(query(DOING))
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
        let mut tx = self.pool.begin().await.map_err(query(DOING))?;
        // One statement decides: an upsert of the job's row waits for a concurrent one on the
        // same row and then re-checks its WHERE against the row as committed, so of instances
        // claiming at once exactly one is granted.
        let granted = sqlx::query(
            "INSERT INTO job_claims (job, scheduled_at, instance, lease_until)
             SELECT $1, $2, $3, $4
             WHERE NOT EXISTS (SELECT 1 FROM job_runs WHERE job = $1 AND scheduled_at >= $2)
             ON CONFLICT (job) DO UPDATE SET scheduled_at = excluded.scheduled_at,
                instance = excluded.instance, lease_until = excluded.lease_until
             WHERE job_claims.scheduled_at < excluded.scheduled_at
                OR (job_claims.scheduled_at = excluded.scheduled_at
                    AND (job_claims.instance = excluded.instance
                         OR job_claims.lease_until < $5))
             RETURNING job",
        )
        .bind(job)
        .bind(ms(scheduled))
        .bind(instance)
        .bind(ms(lease_until))
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(query(DOING))?
        .is_some();
        let answer = if granted {
            JobClaim::Claimed
        } else {
            let last_run: Option<i64> =
                sqlx::query_scalar("SELECT scheduled_at FROM job_runs WHERE job = $1")
                    .bind(job)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(query(DOING))?;
            let claim = sqlx::query(
                "SELECT scheduled_at, instance, lease_until FROM job_claims WHERE job = $1",
            )
            .bind(job)
            .fetch_optional(&mut *tx)
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
        tx.commit().await.map_err(query(DOING))?;
        Ok(answer)
    }
}
