//! What an operator sees of a running highwater: the Prometheus [`metrics`], the
//! [`readiness`] checks behind `/readyz`, the HTTP [`server`] for `/healthz`, `/readyz` and
//! `/metrics`, and the [`status`] report of a database (`highwater status`).
//!
//! Nothing here decides anything for the pipeline: it reads the shared
//! [`Health`](crate::pipeline::Health), the store and the metrics registry, and reports.

pub mod metrics;
pub mod readiness;
pub mod server;
pub mod status;

pub use metrics::Metrics;
pub use readiness::{Check, Readiness};
pub use server::{OpsState, serve};
