//! What the process knows about itself, shared by every layer that has something to report:
//! the Prometheus [`metrics`] registry and the process-wide [`health`] state (a refused token,
//! the gateway, the last tick, stale histories, held closes). A leaf: it imports nothing from
//! the crate; [`crate::ops`] serves both to an operator.

pub mod health;
pub mod metrics;

pub use health::{Health, HealthSnapshot, LastTick};
pub use metrics::Metrics;
