//! Discord: the bot (serenity + poise: slash commands, per-server setup). Posting alerts to
//! channels is [`crate::notify`]'s.
//!
//! - [`bot`]: connecting, registering the commands, reconnecting, shutting down.
//! - [`commands`]: the slash commands, one file per group.
//! - [`data`]: what commands share (store, cached histories, clock, limits).
//!
//! serenity's channel, guild and role ids are turned into [`crate::shared`]'s here.

pub mod bot;
pub mod commands;
pub mod data;

pub use bot::{BotError, BotSettings, ReconnectPolicy, intents, run_bot, run_bot_forever};

use poise::serenity_prelude as serenity;

use crate::shared::{ChannelId, GuildId, RoleId};

// serenity's ids become ours here, at the edge: nothing below `discord` sees serenity's types.

impl From<serenity::ChannelId> for ChannelId {
    fn from(id: serenity::ChannelId) -> Self {
        ChannelId::new(id.get())
    }
}

impl From<serenity::GuildId> for GuildId {
    fn from(id: serenity::GuildId) -> Self {
        GuildId::new(id.get())
    }
}

impl From<serenity::RoleId> for RoleId {
    fn from(id: serenity::RoleId) -> Self {
        RoleId::new(id.get())
    }
}
pub use data::{BotData, ServerLimits};
