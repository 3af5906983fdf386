//! Persistence behind one interface: servers and their rules, watchlists and mutes, where their
//! alerts go, the bar cache, the alert log and outbox, and when each job last ran.
//!
//! [`Store`] is what the pipeline, the scheduler and the Discord commands use; the embedded
//! default is [`SqliteStore`], one file created with its migrations on first run, and
//! [`PgStore`] keeps the same in a PostgreSQL database that several processes may share
//! (`[store] url`). [`open`] opens whichever the configuration names. The two share their
//! encoding and everything that does not depend on SQL (`rows.rs`), and their schemas are kept
//! in step (`schema.rs`). Which of several instances on one PostgreSQL database runs the
//! scheduled jobs is decided in `leader.rs` ([`Election`]).
//! Writes that belong together are one transaction: a tick's new alerts, their outbox messages
//! and the evaluation watermarks land together or not at all, and a duplicate dedup key is a
//! no-op, so re-running a tick never creates a second alert.
//!
//! Instants are UTC; session dates are exchange-local dates. Nothing here decides anything:
//! what to send, hold or drop is the pipeline's job, and what a message says comes from the
//! caller's [`Compose`]; the store only persists it.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::alerts::{Embed, QuietHours};
pub use crate::alerts::{Mute, MuteTarget};
use crate::notify::{Outgoing, WebhookUrl};
use crate::providers::market_data::Cached;
use crate::providers::{BarCache, CacheError};
use crate::rules::spec::RawRule;
pub use crate::shared::{ChannelId, GuildId, RoleId};

mod leader;
mod lock;
mod open;
mod page_limit;
mod postgres;
mod rows;
mod schema;
mod shard_claim;
mod sqlite;
mod status;
mod transaction;

pub use crate::config::PostgresUrl;
pub use leader::{Election, FOLLOWER_RETRY, LEADER_LOCK_CLASS, Role, instance_name};
pub use lock::{DatabaseLock, Holder, LockError, holder, lock_path};
pub use open::{Location, Opened, open};
#[doc(hidden)]
pub use page_limit::PageLimit;
pub use postgres::PgStore;
pub use shard_claim::{SHARD_LOCK_CLASS, ShardClaim};
pub use sqlite::SqliteStore;
pub use status::{OutboxSummary, StoreStatus, outbox};

/// Limits on what one server may configure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    pub max_rules: usize,
    pub max_symbols: usize,
}

/// What [`Store::add_rule_within`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAdded {
    /// Stored under this id.
    Added { id: String },
    /// Refused: the server already has this many rules (the limit).
    TooManyRules { have: usize },
    /// Refused: the rule would make the server watch more than this many symbols.
    TooManySymbols { limit: usize },
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or created; `reason` says what to fix.
    #[error("database {path}: {reason}")]
    Open { path: String, reason: String },
    /// Another process holds the database (see [`DatabaseLock`]), or its lock file cannot be
    /// made.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// The schema could not be brought up to date.
    #[error("database {path}: migrating the schema failed: {reason}")]
    Migrate { path: String, reason: String },
    /// A query failed (locked, disk full, ...).
    #[error("database error while {doing}: {source}")]
    Query {
        doing: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// A stored value does not read back (edited by hand, or written by another program).
    #[error("database holds a bad {what}: {problem}")]
    Corrupt { what: &'static str, problem: String },
    /// The caller asked for something that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Another instance on the database runs a Discord shard this one was told to run.
    #[error(
        "discord.shards: shard {shard} of {total} is already run by another instance on this \
         database; give each instance a range of its own"
    )]
    ShardTaken { shard: u32, total: u32 },
}

/// A server: a Discord guild or a subscription declared in the config file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerId(String);

impl ServerId {
    /// A Discord guild.
    pub fn guild(id: GuildId) -> Self {
        Self(format!("discord:{id}"))
    }

    /// A subscription declared in the config file, by its name.
    pub fn config(name: &str) -> Self {
        Self(format!("config:{name}"))
    }

    /// The stored form (`discord:<id>` or `config:<name>`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The guild's snowflake, for a Discord server.
    pub fn guild_id(&self) -> Option<GuildId> {
        self.0.strip_prefix("discord:")?.parse().ok()
    }

    pub(crate) fn from_stored(text: String) -> Result<Self, StoreError> {
        if text.starts_with("discord:") || text.starts_with("config:") {
            Ok(Self(text))
        } else {
            Err(StoreError::Corrupt {
                what: "server id",
                problem: format!("{text:?} is neither discord:<id> nor config:<name>"),
            })
        }
    }
}

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A server's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    pub server: ServerId,
    /// Timezone for showing times and for quiet hours.
    pub display_tz: Tz,
    pub quiet_hours: Option<QuietHours>,
    /// The Discord channel alerts go to unless a rule names another (guilds only).
    pub alert_channel: Option<ChannelId>,
    /// The Discord channel a daily digest goes to (`/alerts digest on`); `None`: no digest.
    pub digest_channel: Option<ChannelId>,
}

impl ServerSettings {
    /// Defaults: UTC, no quiet hours, no alert channel.
    pub fn new(server: ServerId) -> Self {
        Self {
            server,
            display_tz: Tz::UTC,
            quiet_hours: None,
            alert_channel: None,
            digest_channel: None,
        }
    }
}

/// Where alerts go.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// Standard output of the running process.
    Console,
    /// A Discord webhook, parsed once when it is read (secret: never logged; `Debug` and
    /// `Display` show its id only).
    Webhook(WebhookUrl),
    /// A Discord channel the bot posts to.
    Channel(ChannelId),
}

impl Target {
    /// `console`, `webhook` or `channel`: what a metric label or a log may say of it.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Console => "console",
            Target::Webhook(_) => "webhook",
            Target::Channel(_) => "channel",
        }
    }

    /// The place itself, without a secret and without a row id of any database: the
    /// destination part of a message's nonce (`channel:<id>`, `webhook:<id>`, `console`).
    pub fn identity(&self) -> String {
        match self {
            Target::Console => "console".to_owned(),
            Target::Webhook(url) => format!("webhook:{}", url.id()),
            Target::Channel(id) => format!("channel:{id}"),
        }
    }

    fn stored(&self) -> String {
        match self {
            Target::Console => String::new(),
            Target::Webhook(url) => url.expose_secret(),
            Target::Channel(id) => id.to_string(),
        }
    }

    /// The target of destination row `id` from its stored `kind` and `target` columns. A
    /// webhook URL is parsed here, once; a bad one is reported with the row's id, never its
    /// text (it holds the token).
    fn from_stored(id: i64, kind: &str, target: String) -> Result<Self, StoreError> {
        let corrupt = |problem: String| StoreError::Corrupt {
            what: "destination",
            problem,
        };
        match kind {
            "console" => Ok(Target::Console),
            "webhook" => WebhookUrl::parse(&target)
                .map(Target::Webhook)
                .map_err(|e| corrupt(format!("destination {id}: {e}"))),
            "channel" => target
                .parse()
                .map(Target::Channel)
                .map_err(|_| corrupt(format!("channel id {target:?} is not a number"))),
            other => Err(corrupt(format!("unknown kind {other:?}"))),
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A label safe for logs: a webhook shows its id, never its token.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Console => f.write_str("console"),
            Target::Webhook(url) => write!(f, "webhook {}", url.id()),
            Target::Channel(id) => write!(f, "channel {id}"),
        }
    }
}

/// A stored destination with its state.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    pub id: i64,
    pub server: ServerId,
    pub target: Target,
    pub enabled: bool,
    /// Why it was disabled, and when.
    pub disabled: Option<(String, DateTime<Utc>)>,
}

/// A rule as a server stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRule {
    pub rule: RawRule,
    /// Where its alerts go (a destination id of the same server).
    pub destination: Option<i64>,
    /// The one role its alerts may mention.
    pub mention_role: Option<RoleId>,
}

/// One new alert, as the pipeline found it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub rule_id: String,
    /// The event kind as in the dedup key (`record_high`, `streak_on_pace`, ...).
    pub kind: String,
    /// The period the fact is about, as text (`2025-09-18`, `2025-W38`, `2025-09`).
    pub period: String,
    pub embed: Embed,
    pub headline: String,
    pub event: serde_json::Value,
    /// Its rule asked for the symbol's chart to go with it (`chart = true`).
    pub chart: bool,
}

impl NewAlert {
    /// The alert's dedup key as text, `rule/symbol/kind/period` (as `rules::DedupKey` writes
    /// it), for the alert about `symbol`.
    pub fn dedup_key(&self, symbol: &str) -> String {
        format!("{}/{symbol}/{}/{}", self.rule_id, self.kind, self.period)
    }
}

/// Alerts of one server for one destination, symbol and session: one message if any is new.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertGroup {
    pub server: ServerId,
    pub destination: i64,
    pub symbol: String,
    pub session: NaiveDate,
    pub mention_role: Option<RoleId>,
    pub alerts: Vec<NewAlert>,
}

/// Builds the outbox payload of one message: the store decides which alerts of a group are
/// fresh (not logged before) and persists what this returns, inside the same transaction; what
/// the message says is the caller's business (the pipeline composes Discord messages).
pub trait Compose: Send + Sync {
    /// The payload (JSON text) for `fresh`, the group's alerts not logged before (in order,
    /// never empty), sent to `target`.
    fn compose(
        &self,
        group: &AlertGroup,
        fresh: &[&NewAlert],
        target: &Target,
    ) -> Result<String, serde_json::Error>;
}

/// Everything one tick writes, in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickWrite {
    pub groups: Vec<AlertGroup>,
    /// (server, symbol, session): rules have been evaluated through this session.
    pub evaluated: Vec<(ServerId, String, NaiveDate)>,
}

/// What [`Store::enqueue`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Enqueued {
    /// New alerts logged.
    pub alerts: usize,
    /// Alerts whose key was already logged (a re-run): skipped.
    pub duplicates: usize,
    /// Outbox messages created.
    pub messages: usize,
}

/// States of an outbox message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageState {
    Pending,
    Sending,
    Delivered,
    Dropped,
    Failed,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Sending => "sending",
            MessageState::Delivered => "delivered",
            MessageState::Dropped => "dropped",
            MessageState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "pending" => MessageState::Pending,
            "sending" => MessageState::Sending,
            "delivered" => MessageState::Delivered,
            "dropped" => MessageState::Dropped,
            "failed" => MessageState::Failed,
            other => {
                return Err(StoreError::Corrupt {
                    what: "outbox state",
                    problem: format!("{other:?}"),
                });
            }
        })
    }
}

impl fmt::Display for MessageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An outbox message claimed for an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub id: i64,
    pub server: ServerId,
    pub destination: Destination,
    pub symbol: String,
    pub session: NaiveDate,
    pub payload: Outgoing,
    /// Attempts including this one.
    pub attempts: u32,
    /// An earlier attempt was in flight when the process stopped: this may be a re-send.
    pub interrupted: bool,
    /// The rules whose alerts the message carries (for mutes).
    pub rules: Vec<String>,
}

/// An outbox message as stored (for status and tests).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub id: i64,
    pub server: ServerId,
    pub destination: i64,
    pub symbol: String,
    pub session: NaiveDate,
    pub state: MessageState,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub remote_id: Option<String>,
    pub note: Option<String>,
    pub interrupted: bool,
    pub payload: Outgoing,
}

/// What [`Store::claim_job_run`] found for one (job, fire time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobClaim {
    /// The caller holds the run until the lease it gave: run it, then
    /// [`record_job_run`](Store::record_job_run). Also the answer when the caller already held
    /// it (its lease is then renewed), or when the holder's lease had run out (it died mid-run).
    Claimed,
    /// Nothing to run: this fire time (or a later one of the job) has already been run, or is
    /// being run for a later fire time, which covers this one.
    Done,
    /// Another instance runs it, and its lease holds until `until` (UTC): ask again then.
    Held {
        instance: String,
        until: DateTime<Utc>,
    },
}

/// Persistence for everything highwater must remember across restarts.
#[async_trait]
pub trait Store: Send + Sync {
    /// `sqlite` or `postgres`: which backend this is (for `/readyz` and the logs; never the
    /// URL).
    fn kind(&self) -> &'static str;

    // Servers, destinations, rules, watchlists, mutes.

    /// Creates or updates a server's settings.
    async fn upsert_server(
        &self,
        settings: &ServerSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn server(&self, server: &ServerId) -> Result<Option<ServerSettings>, StoreError>;
    async fn servers(&self) -> Result<Vec<ServerSettings>, StoreError>;

    /// The id of `target` for `server`, created (enabled) if new; an existing one keeps its
    /// state — a destination disabled for good stays disabled.
    async fn destination_for(&self, server: &ServerId, target: &Target) -> Result<i64, StoreError>;
    async fn destination(&self, id: i64) -> Result<Option<Destination>, StoreError>;
    async fn destinations(&self, server: &ServerId) -> Result<Vec<Destination>, StoreError>;
    /// Disables a destination for good (404, 403), recording why.
    async fn disable_destination(
        &self,
        id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Re-enables a destination (an admin fixed it).
    async fn enable_destination(&self, id: i64) -> Result<(), StoreError>;

    /// Adds `rule` for `server` unless that would pass `limits`, with the id `id_for` picks
    /// given the ids already taken. The check and the insert are one transaction that excludes
    /// every other writer, so concurrent adds cannot pass a limit together.
    async fn add_rule_within(
        &self,
        server: &ServerId,
        rule: &StoredRule,
        limits: ServerLimits,
        id_for: &(dyn for<'t> Fn(&'t BTreeSet<String>) -> String + Send + Sync),
        now: DateTime<Utc>,
    ) -> Result<RuleAdded, StoreError>;

    /// Adds or replaces one rule.
    async fn put_rule(
        &self,
        server: &ServerId,
        rule: &StoredRule,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Removes a rule; `false` if there was none.
    async fn remove_rule(&self, server: &ServerId, rule_id: &str) -> Result<bool, StoreError>;
    async fn rules(&self, server: &ServerId) -> Result<Vec<StoredRule>, StoreError>;
    /// Replaces all of a server's rules and its watchlist at once (config sync).
    async fn replace_rules(
        &self,
        server: &ServerId,
        rules: &[StoredRule],
        watchlist: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn watchlist(&self, server: &ServerId) -> Result<Vec<String>, StoreError>;

    async fn mute(&self, server: &ServerId, mute: &Mute) -> Result<(), StoreError>;
    /// Mutes still in force at `now`.
    async fn active_mutes(
        &self,
        server: &ServerId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Mute>, StoreError>;

    // The bar cache.

    async fn load_history(&self, ticker: &str) -> Result<Option<Cached>, StoreError>;
    /// Makes the stored history of `ticker` `history`, in one transaction. The first
    /// `unchanged` bars are stored already, as they are in `history` (a refresh that adds a
    /// session rewrites only its last days, not every bar since 1927): only the bars after
    /// them are replaced. Zero replaces the whole history.
    async fn save_history(
        &self,
        ticker: &str,
        history: &Cached,
        unchanged: usize,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    // The pipeline.

    /// Every watermark at once: the last session each server's rules were evaluated through,
    /// by (server, ticker). A tick reads them in one query rather than one per pair.
    async fn watermarks(&self) -> Result<HashMap<(String, String), NaiveDate>, StoreError>;

    /// The last session a server's rules were evaluated through for `ticker`.
    async fn evaluated_through(
        &self,
        server: &ServerId,
        ticker: &str,
    ) -> Result<Option<NaiveDate>, StoreError>;
    /// Logs new alerts, creates their outbox messages and moves the watermarks, in one
    /// transaction. An alert whose key is already logged is skipped. Each message's payload
    /// (and with it its nonce) comes from `compose`, called with the fresh alerts of its group
    /// inside the transaction, and is kept as written.
    async fn enqueue(
        &self,
        write: &TickWrite,
        compose: &dyn Compose,
        now: DateTime<Utc>,
    ) -> Result<Enqueued, StoreError>;
    /// Marks messages whose attempt was in flight when the process stopped (state `sending`,
    /// lease expired or `all`) as pending and interrupted. Returns how many.
    ///
    /// Only the process that holds the database's [`DatabaseLock`] may call this with `all`:
    /// any other could take a live process's post in flight for an interrupted one and send
    /// it again.
    async fn recover_interrupted(&self, now: DateTime<Utc>, all: bool) -> Result<u64, StoreError>;
    /// Claims up to `limit` pending messages due at `now` for one attempt each (state
    /// `sending` until `lease_until`), oldest first — at most one per destination, and only a
    /// destination's oldest open message (pending or sending): so each destination gets its
    /// messages in the order they were written, one at a time, and a message waiting to be
    /// retried holds back the later ones of its destination.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError>;
    /// The earliest `next_attempt_at` of a pending message.
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
    async fn mark_delivered(
        &self,
        id: i64,
        remote_id: Option<&str>,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Back to pending until `at`. `counts_as_attempt == false` (quiet hours) gives the claim's
    /// attempt back.
    async fn retry_at(
        &self,
        id: i64,
        at: DateTime<Utc>,
        note: &str,
        counts_as_attempt: bool,
    ) -> Result<(), StoreError>;
    /// Ends a message without delivering it (dropped or failed), with the reason.
    async fn finish(
        &self,
        id: i64,
        state: MessageState,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    // The scheduler.

    /// The scheduled fire time each job last ran for.
    async fn job_runs(&self) -> Result<HashMap<String, DateTime<Utc>>, StoreError>;
    /// The outbox by state, and when its oldest waiting message was enqueued.
    async fn outbox_summary(&self) -> Result<OutboxSummary, StoreError>;
    /// Whether the database takes a write now (without writing anything).
    async fn check_writable(&self) -> Result<(), StoreError>;
    /// Records that `job` ran for the fire time `scheduled` (a job's last run never moves
    /// backwards) and ends the claim on it, in one transaction.
    async fn record_job_run(
        &self,
        job: &str,
        scheduled: DateTime<Utc>,
        finished: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The fire time each job's run is claimed for and not finished (a run in progress, or
    /// one whose instance died): a new scheduler leader runs these too, even a job that has
    /// never finished a run.
    async fn job_claims(&self) -> Result<HashMap<String, DateTime<Utc>>, StoreError>;
    /// Claims the run of `job` for the fire time `scheduled` for `instance` until
    /// `lease_until`, atomically: of any number of instances asking at once, one gets
    /// [`JobClaim::Claimed`]. A fire time already recorded as run is [`JobClaim::Done`]; one
    /// another instance holds is [`JobClaim::Held`] until its lease runs out, and then
    /// claimable again — a run whose instance died mid-way is taken over, not lost. The holder
    /// renews its lease by claiming again. `now` (UTC) decides which leases have run out.
    async fn claim_job_run(
        &self,
        job: &str,
        scheduled: DateTime<Utc>,
        instance: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<JobClaim, StoreError>;
}

/// Every store keeps the live path's bar cache.
#[async_trait]
impl<S: Store + ?Sized> BarCache for S {
    async fn load_bars(&self, ticker: &str) -> Result<Option<Cached>, CacheError> {
        self.load_history(ticker).await.map_err(CacheError::new)
    }

    async fn save_bars(
        &self,
        ticker: &str,
        history: &Cached,
        unchanged: usize,
        now: DateTime<Utc>,
    ) -> Result<(), CacheError> {
        self.save_history(ticker, history, unchanged, now)
            .await
            .map_err(CacheError::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOOK: &str = "https://discord.com/api/webhooks/123456789012345678/s3cret-token";

    #[test]
    fn a_stored_webhook_is_parsed_once_and_shown_by_its_id() {
        let target = Target::from_stored(4, "webhook", HOOK.to_owned()).expect("a valid row");
        let Target::Webhook(url) = &target else {
            panic!("a webhook: {target}");
        };
        assert_eq!(url.id(), 123_456_789_012_345_678);
        assert_eq!(target.stored(), HOOK, "stored back byte for byte");
        assert_eq!(target.identity(), "webhook:123456789012345678");
        assert_eq!(target.to_string(), "webhook 123456789012345678");
        assert!(!format!("{target:?}").contains("s3cret"));
    }

    #[test]
    fn a_bad_stored_webhook_is_corrupt_naming_the_row_not_the_token() {
        let bad = "https://example.com/api/webhooks/1/s3cret-token";
        let error = Target::from_stored(7, "webhook", bad.to_owned()).expect_err("not Discord");
        let message = error.to_string();
        assert!(
            matches!(
                error,
                StoreError::Corrupt {
                    what: "destination",
                    ..
                }
            ),
            "{message}"
        );
        assert!(message.contains("destination 7: webhook host"), "{message}");
        assert!(!message.contains("s3cret"), "{message}");
    }
}
