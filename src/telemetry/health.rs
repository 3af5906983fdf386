//! The process's health as the deliverer, the bot and the scheduler see it: one small shared
//! state, written where a fault is found and read by whoever reports on the process (the logs,
//! `/readyz` and `/metrics`).
//!
//! Its edges:
//! - Only **process-wide** facts live here: whether a bot is configured, whether Discord
//!   refused the bot token, whether the gateway is connected, how the last tick ended,
//!   which histories are stale and which latest closes are held back, whether this instance
//!   leads the scheduler, which kind of database it uses and which gateway shards it runs.
//!   A single channel or webhook that fails is that destination's business and is recorded
//!   with the destination in the store.
//! - The state is in memory and per process. A refused token is only ever cleared by a restart
//!   (the token is read once, at start-up), so nothing here un-sets it.
//! - No secret is ever stored: a reason says what Discord answered, never the token.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};

/// How the last tick ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastTick {
    /// The job it ran for (`once` for `run --once`).
    pub job: String,
    /// When it ended (UTC).
    pub at: DateTime<Utc>,
    /// Why it failed; `None` when it succeeded.
    pub error: Option<String>,
}

/// What [`Health::snapshot`] reports; plain data, for a status page or a test.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthSnapshot {
    /// Why Discord refused the bot token (a 401 on a REST call, close code 4004 on the
    /// gateway), once it has; `None` while the token works or has not been tried. While it is
    /// set no channel message is attempted: they wait, pending, for a restart with a valid
    /// token.
    pub discord_auth_failed: Option<String>,
    /// Whether the bot's gateway connection is up (identified or resumed) right now. `false`
    /// without a bot.
    pub gateway_connected: bool,
    /// Whether this process runs the bot (it has a token). Without one, the gateway being down
    /// is not a fault.
    pub bot_configured: bool,
    /// The last tick, once one has ended.
    pub last_tick: Option<LastTick>,
    /// Stale histories as of the last tick: ticker -> why (its latest bar, and how many
    /// sessions behind the calendar's latest closed session it is).
    pub stale: BTreeMap<String, String>,
    /// Latest closes held back as of the last tick: ticker -> the close and the verdict.
    pub held: BTreeMap<String, String>,
    /// Whether this instance runs the scheduled jobs now (the scheduler leader of its
    /// database); `false` for a follower, and before `run` starts its scheduler.
    pub leader: bool,
    /// The database's kind, `sqlite` or `postgres` (never its URL); empty until the app sets it.
    pub database: &'static str,
    /// The gateway shards this instance's bot runs (`0-3 of 8`), when `[discord] shards` or
    /// `total_shards` chose them; `None` for every shard Discord recommends, or no bot.
    pub shards: Option<String>,
}

/// The shared health state: cheap to read, written rarely. Share it as an `Arc<Health>`.
#[derive(Debug, Default)]
pub struct Health {
    discord_auth_failed: Mutex<Option<String>>,
    gateway_connected: AtomicBool,
    bot_configured: AtomicBool,
    last_tick: Mutex<Option<LastTick>>,
    stale: Mutex<BTreeMap<String, String>>,
    held: Mutex<BTreeMap<String, String>>,
    leader: AtomicBool,
    database: Mutex<&'static str>,
    shards: Mutex<Option<String>>,
}

/// A plain value behind a mutex: a writer that panicked cannot have left it half-set.
fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Health {
    /// A healthy state, shared.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Everything at once.
    pub fn snapshot(&self) -> HealthSnapshot {
        HealthSnapshot {
            discord_auth_failed: self.discord_auth_failed(),
            gateway_connected: self.gateway_connected(),
            bot_configured: self.bot_configured.load(Ordering::Relaxed),
            last_tick: locked(&self.last_tick).clone(),
            stale: locked(&self.stale).clone(),
            held: locked(&self.held).clone(),
            leader: self.leader.load(Ordering::Relaxed),
            database: *locked(&self.database),
            shards: locked(&self.shards).clone(),
        }
    }

    /// Records whether this instance leads the scheduler now.
    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    /// Records the database's kind (`sqlite` or `postgres`).
    pub fn set_database(&self, kind: &'static str) {
        *locked(&self.database) = kind;
    }

    /// Records which gateway shards this process's bot runs (`None`: every one).
    pub fn set_shards(&self, shards: Option<String>) {
        *locked(&self.shards) = shards;
    }

    /// Records that this process runs the bot.
    pub fn set_bot_configured(&self, configured: bool) {
        self.bot_configured.store(configured, Ordering::Relaxed);
    }

    /// Records how a tick ended.
    pub fn set_last_tick(&self, tick: LastTick) {
        *locked(&self.last_tick) = Some(tick);
    }

    /// Replaces the stale histories of the symbols a tick looked at: `checked` were looked
    /// at, `stale` are those found stale (ticker -> why). Symbols the tick did not look at
    /// (another job's calendar) keep what their own job found.
    pub fn set_stale(&self, checked: &[String], stale: BTreeMap<String, String>) {
        let mut current = locked(&self.stale);
        current.retain(|ticker, _| !checked.contains(ticker));
        current.extend(stale);
    }

    /// Replaces the held closes of the symbols a tick looked at, as [`Self::set_stale`] does
    /// for stale histories.
    pub fn set_held(&self, checked: &[String], held: BTreeMap<String, String>) {
        let mut current = locked(&self.held);
        current.retain(|ticker, _| !checked.contains(ticker));
        current.extend(held);
    }

    /// Why Discord refused the bot token, if it has.
    pub fn discord_auth_failed(&self) -> Option<String> {
        self.auth().clone()
    }

    /// Records that Discord refused the bot token, and why. Returns `true` only the first
    /// time, so that the caller logs the fault once, however many posts run into it.
    pub fn set_discord_auth_failed(&self, reason: &str) -> bool {
        let mut auth = self.auth();
        if auth.is_some() {
            return false;
        }
        *auth = Some(reason.to_owned());
        true
    }

    /// Whether the gateway connection is up.
    pub fn gateway_connected(&self) -> bool {
        self.gateway_connected.load(Ordering::Relaxed)
    }

    /// Records the gateway going up or down.
    pub fn set_gateway_connected(&self, connected: bool) {
        self.gateway_connected.store(connected, Ordering::Relaxed);
    }

    fn auth(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        locked(&self.discord_auth_failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_token_is_reported_once_and_keeps_its_first_reason() {
        let health = Health::new();
        assert_eq!(health.snapshot(), HealthSnapshot::default());
        assert!(health.set_discord_auth_failed("401 Unauthorized"));
        assert!(!health.set_discord_auth_failed("gateway closed with 4004"));
        health.set_gateway_connected(true);
        assert_eq!(
            health.snapshot(),
            HealthSnapshot {
                discord_auth_failed: Some("401 Unauthorized".to_owned()),
                gateway_connected: true,
                ..HealthSnapshot::default()
            }
        );
    }
}

#[cfg(test)]
mod stale_tests {
    use super::*;

    #[test]
    fn a_tick_replaces_only_the_staleness_of_the_symbols_it_looked_at() {
        let health = Health::new();
        let why = |s: &str| s.to_owned();
        health.set_stale(
            &["^RUT".into(), "BTC-USD".into()],
            BTreeMap::from([("^RUT".into(), why("old")), ("BTC-USD".into(), why("old"))]),
        );
        health.set_stale(&["BTC-USD".into()], BTreeMap::new());
        assert_eq!(
            health.snapshot().stale,
            BTreeMap::from([("^RUT".to_owned(), why("old"))])
        );
    }
}
