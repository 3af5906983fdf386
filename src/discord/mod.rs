//! Discord: the bot (serenity + poise: slash commands, per-server setup). Posting alerts to
//! channels is [`crate::notify`]'s.
//!
//! - [`bot`]: connecting, registering the commands, reconnecting, shutting down.
//! - [`commands`]: the slash commands, one file per group.
//! - [`data`]: what commands share (store, cached histories, clock, limits).

pub mod bot;
pub mod commands;
pub mod data;

pub use bot::{BotError, BotSettings, ReconnectPolicy, intents, run_bot, run_bot_forever};
pub use data::{BotData, ServerLimits};
