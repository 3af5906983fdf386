//! The process's health as the deliverer and the bot see it: one small shared state, written
//! where a fault is found and read by whoever reports on the process (logs now, a `/readyz`
//! endpoint later).
//!
//! Its edges:
//! - Only **bot-wide** facts live here: whether Discord refused the bot token, whether the
//!   gateway is connected. A single channel or webhook that fails is that destination's
//!   business and is recorded with the destination in the store.
//! - The state is in memory and per process. A refused token is only ever cleared by a restart
//!   (the token is read once, at start-up), so nothing here un-sets it.
//! - No secret is ever stored: a reason says what Discord answered, never the token.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

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
}

/// The shared health state: cheap to read, written rarely. Share it as an `Arc<Health>`.
#[derive(Debug, Default)]
pub struct Health {
    discord_auth_failed: Mutex<Option<String>>,
    gateway_connected: AtomicBool,
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
        }
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
        // The value is a plain Option: a writer that panicked cannot have left it half-set.
        self.discord_auth_failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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
            }
        );
    }
}
