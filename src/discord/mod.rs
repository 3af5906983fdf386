//! Discord: the bot (serenity + poise: slash commands, per-server setup) and posting alerts to
//! channels over Discord's REST API with highwater's own rate limiting.
//!
//! - [`bot`]: connecting, registering the commands, reconnecting, shutting down.
//! - [`commands`]: the slash commands, one file per group.
//! - [`data`]: what commands share (store, cached histories, clock, limits).
//! - [`rest`] and [`limiter`]: channel messages for the deliverer, paced to Discord's limits.

pub mod bot;
pub mod commands;
pub mod data;
pub mod limiter;
pub mod rest;

pub use bot::{BotError, BotSettings, ReconnectPolicy, intents, run_bot, run_bot_forever};
pub use data::{BotData, ServerLimits};
