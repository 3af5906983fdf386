//! The alert pipeline: tick → histories of the symbols any server needs → every server's rules
//! → new alerts into the outbox (one transaction, duplicates are no-ops) → the deliverer sends
//! them through each destination's notifier, retrying with backoff, and records the outcome.
//!
//! The store persists; [`DiscordMessage`] is what it is given to compose each outbox message.
//!
//! [`App`](crate::app::App) wires it from the configuration; `highwater run` and `run --once`
//! call it.

mod compose;
mod deliver;
mod tick;

pub use compose::DiscordMessage;
pub use deliver::{
    AUTH_FAILED_HOLD, CONCURRENT_SENDS, DeliveryPolicy, DeliveryReport, Notifiers, deliver_due,
    run_deliverer,
};
pub use tick::{TickLimits, TickReport, new_events, tick, tick_symbols};
