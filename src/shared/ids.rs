//! Discord's ids as types: [`ChannelId`], [`GuildId`] and [`RoleId`], so a channel is never
//! passed where a role is meant. Each is a snowflake (a `u64`), shown and stored as that number
//! exactly as before (`Display`, serde as a plain number), and read back with [`FromStr`].
//!
//! Plain types for every layer; the bot converts serenity's own ids to and from these at the
//! `discord/` edge.

use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A text that is not the id it should be: which kind of id, the text (made safe to show) and
/// why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} id '{text}' is not a number (a Discord snowflake): {reason}")]
pub struct BadId {
    /// `channel`, `guild` or `role`.
    pub what: &'static str,
    pub text: String,
    pub reason: ParseIntError,
}

macro_rules! snowflake {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(u64);

        impl $name {
            pub const fn new(id: u64) -> Self {
                Self(id)
            }

            /// The snowflake.
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = BadId;

            fn from_str(text: &str) -> Result<Self, BadId> {
                text.parse().map(Self).map_err(|reason| BadId {
                    what: $what,
                    text: crate::market::shown(text),
                    reason,
                })
            }
        }
    };
}

snowflake!(
    /// A Discord channel (or thread) alerts are posted to.
    ChannelId,
    "channel"
);
snowflake!(
    /// A Discord server ("guild").
    GuildId,
    "guild"
);
snowflake!(
    /// A Discord role an alert may mention.
    RoleId,
    "role"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_show_and_read_back_as_the_plain_number() {
        let channel: ChannelId = "123456789012345678".parse().expect("a snowflake");
        assert_eq!(channel, ChannelId::new(123_456_789_012_345_678));
        assert_eq!(channel.to_string(), "123456789012345678");
        assert_eq!(
            serde_json::to_string(&RoleId::new(42)).expect("serialises"),
            "42"
        );
        let guild: GuildId = serde_json::from_str("7").expect("deserialises");
        assert_eq!(guild.get(), 7);
    }

    #[test]
    fn a_bad_id_names_its_kind_and_text() {
        let error = "12a".parse::<RoleId>().expect_err("not a number");
        assert_eq!(error.what, "role");
        assert_eq!(
            error.to_string(),
            "role id '12a' is not a number (a Discord snowflake): invalid digit found in string"
        );
    }
}
