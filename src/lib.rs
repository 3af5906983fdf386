//! highwater: watches markets and tells a Discord server the moment something historic happens.
//!
//! Data flows one way: fetch → evaluate → decide → deliver; questions come in the other door:
//! command → look up → evaluate → reply. Both share the same pure core.
//!
//! The pure core — it never touches the network, the clock or a database; dates come in as
//! parameters:
//! - [`market`]: symbols and aliases, daily bars, series, the NYSE and crypto calendars,
//!   weekly/monthly periods.
//! - [`analytics`]: the incremental fact engine — records, highs and lows, streaks, moves.
//! - [`rules`]: rules as data (TOML), evaluated session by session into events with dedup keys.
//! - [`alerts`]: events and answers rendered for people: headlines, embeds, JSON.
//!
//! Around it:
//! - [`service`]: the operations the CLI, the bot and the scheduler share: replay, streak, high
//!   and quote.
//! - [`providers`]: market-data sources (CSV files, Yahoo Finance, Binance) behind a cache.
//! - [`store`]: persistence (SQLite): servers, rules, the bar cache, the alert log and outbox.
//! - [`scheduler`]: cron schedules in a market's timezone, and the loop that runs them.
//! - [`pipeline`]: a tick (fetch, evaluate, store new alerts) and the deliverer; `App` wires it;
//!   `Health` holds the process-wide state (a refused token, the gateway, the last tick,
//!   stale histories).
//! - [`notify`]: where messages go: the console, Discord webhooks, Discord's message JSON.
//! - [`discord`]: the bot — slash commands and per-server setup — and channel posting.
//! - [`config`]: settings files, environment overrides and the built-in defaults.
//! - [`ops`]: what an operator sees: metrics, `/healthz`, `/readyz`, `highwater status`.
//! - [`cli`]: the command line.
pub mod alerts;
pub mod analytics;
pub mod cli;
pub mod config;
pub mod discord;
pub mod market;
pub mod notify;
pub mod ops;
pub mod pipeline;
pub mod providers;
pub mod rules;
pub mod scheduler;
pub mod service;
pub mod store;
