//! highwater: watches markets and tells a Discord server the moment something historic happens.
//!
//! Data flows one way: fetch → evaluate → decide → deliver; questions come in the other door:
//! command → look up → evaluate → reply. Both share the same pure core.
//!
//! Modules:
//! - [`market`]: symbols, daily bars, series, exchange calendars, weekly/monthly resampling (pure).
pub mod alerts;
pub mod analytics;
pub mod cli;
pub mod config;
pub mod market;
pub mod providers;
pub mod rules;
pub mod service;
