//! What an operator sees of a running highwater: the [`readiness`] checks behind `/readyz`, the
//! HTTP [`server`] for `/healthz`, `/readyz` and `/metrics`, and the [`status`] report of a
//! database (`highwater status`).
//!
//! Nothing here decides anything for the pipeline: it reads the shared
//! [`Health`](crate::telemetry::Health), the store and the
//! [`Metrics`](crate::telemetry::Metrics) registry, and reports.

pub mod readiness;
pub mod server;
pub mod status;

pub use readiness::{Check, DatabaseUnready, Readiness};
pub use server::{OpsState, serve};
