//! Discord: the bot (serenity + poise: slash commands, per-server setup) and posting alerts to
//! channels over Discord's REST API with highwater's own rate limiting.

pub mod limiter;
pub mod rest;
