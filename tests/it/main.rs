//! The integration tests: one binary (linking highwater, serenity, sqlx and reqwest once),
//! one module per area. `support` holds what several areas share: the local Discord, the
//! local Yahoo and webhook servers, and helpers to run the `highwater` binary.
//!
//! Run one area with `cargo test --test it AREA::`, e.g. `cargo test --test it store::`.

mod support;

mod alert_charts;
mod analytics_reference;
mod binance_provider;
mod calendar_data;
mod chart;
mod cli;
mod context;
mod cross_asset;
mod deploy;
mod discord_bot;
mod discord_fanout;
mod discord_rest;
mod discord_shards;
mod engine_cases;
mod fake_discord;
mod fuzz;
mod http_resilience;
mod live_cache;
mod live_replay;
mod market_data;
mod multi_instance;
mod notifiers;
mod ops;
mod pipeline;
mod run_cli;
mod run_process;
mod scheduler;
mod store;
mod yahoo_provider;
