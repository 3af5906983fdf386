//! The alert pipeline: tick → histories of the symbols any server needs → every server's rules
//! → new alerts into the outbox (one transaction, duplicates are no-ops) → the deliverer sends
//! them through each destination's notifier, retrying with backoff, and records the outcome.
//!
//! A tick also writes the daily digests servers asked for (`digest.rs`). A message whose rule
//! asked for a chart names it; the chart is drawn when it is sent (`charts.rs`).
//!
//! The store persists; [`DiscordMessage`] is what it is given to compose each outbox message.
//!
//! [`App`](crate::app::App) wires it from the configuration; `highwater run` and `run --once`
//! call it.

mod charts;
mod compose;
mod deliver;
mod digest;
mod tick;

pub use charts::HistoryCharts;
pub use compose::DiscordMessage;
pub use deliver::{
    AUTH_FAILED_HOLD, CONCURRENT_SENDS, DeliveryPolicy, DeliveryReport, Notifiers, deliver_due,
    run_deliverer,
};
pub use tick::{
    HistoryLookup, Plans, TickHistories, TickLimits, TickReport, TickSource, evaluate_and_enqueue,
    new_events, tick, tick_symbols,
};

#[cfg(test)]
mod documented_defaults {
    use std::time::Duration;

    use super::{DeliveryPolicy, TickLimits};
    use crate::config::documented::{number, stated};

    /// The delivery and pipeline defaults `config/highwater.toml` states are the ones
    /// [`DeliveryPolicy`] and [`TickLimits`] apply when a key is absent.
    #[test]
    fn the_shipped_config_states_the_delivery_and_pipeline_defaults() {
        let delivery = DeliveryPolicy::default();
        let limits = TickLimits::default();
        assert_eq!(
            f64::from(delivery.max_attempts),
            number(&stated("delivery.max_attempts"))
        );
        assert_eq!(
            delivery.retry_base,
            Duration::from_secs_f64(number(&stated("delivery.retry_base_secs")))
        );
        assert_eq!(
            delivery.retry_max,
            Duration::from_secs_f64(number(&stated("delivery.retry_max_secs")))
        );
        assert_eq!(
            delivery.lease,
            Duration::from_secs_f64(number(&stated("delivery.lease_secs")))
        );
        // `App::build` prints console alerts as text unless told otherwise.
        assert_eq!(stated("delivery.console_format").as_str(), Some("text"));
        assert_eq!(
            limits.first_run_sessions as f64,
            number(&stated("pipeline.first_run_sessions"))
        );
        assert_eq!(
            limits.max_catch_up_sessions as f64,
            number(&stated("pipeline.max_catch_up_sessions"))
        );
    }
}
