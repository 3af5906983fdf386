//! `/readyz`: whether this process is doing its job, check by check, each with why.
//!
//! Ready means: the database takes writes, the bot is connected when it has a token and
//! Discord has not refused that token, the last tick did not fail, and no history is stale.
//! A process that has not ticked yet is ready (its first tick may be hours away). The answer
//! also says whether this instance leads the scheduler, which kind of database it uses and
//! which of the bot's gateway shards it runs.

use serde_json::{Value, json};

use crate::store::StoreError;
use crate::telemetry::HealthSnapshot;

/// Why the database check failed.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseUnready {
    /// The test write failed.
    #[error("not writable: {0}")]
    NotWritable(StoreError),
    /// The test write did not finish within this long.
    #[error("no write possible within {} s", .0.as_secs())]
    TimedOut(std::time::Duration),
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `database`, `discord`, `last_tick` or `histories`.
    pub name: &'static str,
    pub ok: bool,
    /// What was found, in a few words an operator can act on.
    pub why: String,
}

/// Every check, in a fixed order, and what this instance is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub checks: Vec<Check>,
    /// `leader` (runs the scheduled jobs) or `follower`: information, never a failed check —
    /// a follower is ready, it delivers and answers.
    pub role: &'static str,
    /// The database's kind, `sqlite` or `postgres` (never its URL, which may hold a password).
    pub database: &'static str,
    /// The gateway shards this instance runs (`0-3 of 8`); `None` for every shard, or no bot.
    pub shards: Option<String>,
}

impl Readiness {
    /// The checks, from whether the database took a write (`Err` says why not) and the
    /// process's health.
    pub fn assess(database: Result<(), DatabaseUnready>, health: &HealthSnapshot) -> Self {
        let database = match database {
            Ok(()) => Check {
                name: "database",
                ok: true,
                why: "writable".into(),
            },
            Err(why) => Check {
                name: "database",
                ok: false,
                why: why.to_string(),
            },
        };
        let discord = match (&health.discord_auth_failed, health.bot_configured) {
            (Some(reason), _) => Check {
                name: "discord",
                ok: false,
                why: format!("Discord refused the bot token: {reason}"),
            },
            (None, false) => Check {
                name: "discord",
                ok: true,
                why: "no bot token configured".into(),
            },
            (None, true) if health.gateway_connected => Check {
                name: "discord",
                ok: true,
                why: "gateway connected".into(),
            },
            (None, true) => Check {
                name: "discord",
                ok: false,
                why: "gateway not connected".into(),
            },
        };
        let last_tick = match &health.last_tick {
            None => Check {
                name: "last_tick",
                ok: true,
                why: "no tick yet".into(),
            },
            Some(tick) => match &tick.error {
                None => Check {
                    name: "last_tick",
                    ok: true,
                    why: format!(
                        "job {} succeeded at {} UTC",
                        tick.job,
                        tick.at.format("%Y-%m-%d %H:%M:%S")
                    ),
                },
                Some(error) => Check {
                    name: "last_tick",
                    ok: false,
                    why: format!(
                        "job {} failed at {} UTC: {error}",
                        tick.job,
                        tick.at.format("%Y-%m-%d %H:%M:%S")
                    ),
                },
            },
        };
        let histories = if health.stale.is_empty() {
            Check {
                name: "histories",
                ok: true,
                why: "none stale".into(),
            }
        } else {
            Check {
                name: "histories",
                ok: false,
                why: health
                    .stale
                    .iter()
                    .map(|(ticker, why)| format!("{ticker} is stale: {why}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            }
        };
        // A held close is the sanity checks doing their job, not a fault: shown, never failing.
        let held = Check {
            name: "held_closes",
            ok: true,
            why: if health.held.is_empty() {
                "none held".into()
            } else {
                health
                    .held
                    .iter()
                    .map(|(ticker, why)| format!("{ticker}: {why}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        };
        Self {
            checks: vec![database, discord, last_tick, histories, held],
            role: if health.leader { "leader" } else { "follower" },
            database: health.database,
            shards: health.shards.clone(),
        }
    }

    /// Every check passed.
    pub fn ready(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// `{"ready": bool, "role": "leader"|"follower", "database": "sqlite"|"postgres",
    /// "shards": "0-3 of 8"|null, "checks": [{"name", "ok", "why"}, ...]}`.
    pub fn to_json(&self) -> Value {
        json!({
            "ready": self.ready(),
            "role": self.role,
            "database": self.database,
            "shards": self.shards,
            "checks": self.checks.iter().map(|c| json!({
                "name": c.name,
                "ok": c.ok,
                "why": c.why,
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bot_without_a_connection_is_not_ready_but_no_bot_is_fine() {
        let mut health = HealthSnapshot::default();
        assert!(Readiness::assess(Ok(()), &health).ready());
        health.bot_configured = true;
        let readiness = Readiness::assess(Ok(()), &health);
        assert!(!readiness.ready());
        assert_eq!(
            readiness.checks[1],
            Check {
                name: "discord",
                ok: false,
                why: "gateway not connected".into()
            }
        );
        health.gateway_connected = true;
        assert!(Readiness::assess(Ok(()), &health).ready());
        let broken = Readiness::assess(
            Err(DatabaseUnready::TimedOut(std::time::Duration::from_secs(2))),
            &health,
        );
        assert_eq!(
            broken.to_json()["checks"][0],
            json!({"name": "database", "ok": false, "why": "no write possible within 2 s"})
        );
    }

    #[test]
    fn readyz_says_the_role_and_the_database_kind_and_a_follower_is_ready() {
        let mut health = HealthSnapshot {
            database: "postgres",
            ..HealthSnapshot::default()
        };
        let follower = Readiness::assess(Ok(()), &health).to_json();
        assert_eq!(
            (&follower["ready"], &follower["role"], &follower["database"]),
            (&json!(true), &json!("follower"), &json!("postgres"))
        );
        assert_eq!(follower["shards"], Value::Null, "every shard, or no bot");
        health.leader = true;
        health.shards = Some("1 of 2".into());
        let leader = Readiness::assess(Ok(()), &health).to_json();
        assert_eq!(
            (&leader["role"], &leader["shards"]),
            (&json!("leader"), &json!("1 of 2"))
        );
    }

    #[test]
    fn held_closes_are_shown_without_failing_readiness() {
        let mut health = HealthSnapshot::default();
        health.held.insert(
            "^RUT".into(),
            "close 1480.62 of 2025-09-18 (-38.5%) held, rejected as a bad tick: -38.5% while IWM +2.5% the same session".into(),
        );
        let readiness = Readiness::assess(Ok(()), &health);
        assert!(readiness.ready());
        assert_eq!(
            readiness.to_json()["checks"][4],
            json!({"name": "held_closes", "ok": true,
                   "why": "^RUT: close 1480.62 of 2025-09-18 (-38.5%) held, rejected as a bad tick: -38.5% while IWM +2.5% the same session"})
        );
    }
}
