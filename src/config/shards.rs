//! `[discord] shards` and `total_shards`: which of the bot's gateway shards this instance runs,
//! so that several instances share one bot (each its own range), and the share of Discord's
//! global REST limit that goes with that range.
//!
//! Discord sends a guild's events, its interactions included, to shard
//! `(guild_id >> 22) % total_shards`, so an instance answers the commands of exactly the guilds
//! its shards own. The REST limit (50 requests a second per bot, whichever process sends) is
//! split by a fixed share rather than by a shared counter: see [`ShardRange::rest_share`].

use std::num::NonZeroU32;

use serde::Deserialize;

use super::Invalid;

/// The most shards accepted in `total_shards` (Discord's largest bots run a few thousand).
pub const MAX_TOTAL_SHARDS: u32 = 100_000;

/// `[discord] shards` as written: `"0-3"`, `"2"` or `2` (an environment override of a single
/// number arrives as an integer).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ShardsSetting {
    Number(i64),
    Text(String),
}

impl std::fmt::Display for ShardsSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShardsSetting::Number(n) => write!(f, "{n}"),
            ShardsSetting::Text(text) => write!(f, "\"{}\"", crate::market::shown(text)),
        }
    }
}

/// The shards one instance runs: `first..=last` of `total` (checked: `first <= last < total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardRange {
    first: u32,
    last: u32,
    total: u32,
}

impl ShardRange {
    /// Every shard of a bot with `total` shards.
    fn all(total: u32) -> Self {
        Self {
            first: 0,
            last: total - 1,
            total,
        }
    }

    /// The first shard this instance runs.
    pub fn first(&self) -> u32 {
        self.first
    }

    /// The last shard this instance runs (inclusive).
    pub fn last(&self) -> u32 {
        self.last
    }

    /// How many shards the bot has in all, across every instance.
    pub fn total(&self) -> u32 {
        self.total
    }

    /// How many shards this instance runs.
    pub fn count(&self) -> u32 {
        self.last - self.first + 1
    }

    /// Whether this instance runs the shard that owns `guild` (Discord's formula).
    pub fn owns_guild(&self, guild: u64) -> bool {
        let shard = (guild >> 22) % u64::from(self.total);
        (u64::from(self.first)..=u64::from(self.last)).contains(&shard)
    }

    /// This instance's requests per second out of `global` (the bot's whole budget):
    /// `floor(global × count / total)`, at least 1. When the instances' ranges partition
    /// `0..total` their shares add up to at most `global` (each is rounded down), with no
    /// round trip to a shared counter per request; the price is that an idle instance's share
    /// is not lent to a busy one. Only with more instances than `global` does the floor of 1
    /// lift the sum above it.
    pub fn rest_share(&self, global: NonZeroU32) -> NonZeroU32 {
        let share = u64::from(global.get()) * u64::from(self.count()) / u64::from(self.total);
        u32::try_from(share)
            .ok()
            .and_then(NonZeroU32::new)
            .unwrap_or(NonZeroU32::MIN)
    }

    /// Checks the two keys together: `None` (autosharded, every shard here) when neither is
    /// set; all of `0..total` when only `total_shards` is.
    pub fn from_settings(
        shards: Option<&ShardsSetting>,
        total: Option<u32>,
    ) -> Result<Option<Self>, Invalid> {
        super::run::check_count("discord.total_shards", total, 1, MAX_TOTAL_SHARDS)?;
        let Some(setting) = shards else {
            return Ok(total.map(Self::all));
        };
        let (first, last) = parse(setting)?;
        let Some(total) = total else {
            return Err(Invalid::new(
                "discord.shards",
                "is set without discord.total_shards: say how many shards the bot has in all, \
                 e.g. total_shards = 8",
            ));
        };
        if first > last {
            return Err(Invalid::new(
                "discord.shards",
                format!(
                    "= {setting} is reversed: write the lower shard first (\"{last}-{first}\")"
                ),
            ));
        }
        if last >= total {
            return Err(Invalid::new(
                "discord.shards",
                format!(
                    "= {setting} names shard {last}, but with total_shards = {total} the shards \
                     are 0 to {}",
                    total - 1
                ),
            ));
        }
        Ok(Some(Self { first, last, total }))
    }
}

/// `"3"`, `3` or `"0-3"` as (first, last); anything else names the key.
fn parse(setting: &ShardsSetting) -> Result<(u32, u32), Invalid> {
    let wrong = || {
        Invalid::new(
            "discord.shards",
            format!("= {setting} must be a shard number (\"3\") or a range of them (\"0-3\")"),
        )
    };
    let number = |text: &str| -> Result<u32, Invalid> {
        let text = text.trim();
        if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
            return Err(wrong());
        }
        text.parse().map_err(|_| wrong())
    };
    match setting {
        ShardsSetting::Number(n) => {
            let shard = u32::try_from(*n).map_err(|_| wrong())?;
            Ok((shard, shard))
        }
        ShardsSetting::Text(text) => match text.split_once('-') {
            Some((first, last)) => Ok((number(first)?, number(last)?)),
            None => {
                let shard = number(text)?;
                Ok((shard, shard))
            }
        },
    }
}

/// `0-3 of 8`, or `2 of 8` for one shard.
impl std::fmt::Display for ShardRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.first == self.last {
            write!(f, "{} of {}", self.first, self.total)
        } else {
            write!(f, "{}-{} of {}", self.first, self.last, self.total)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(shards: &str, total: Option<u32>) -> Result<Option<ShardRange>, String> {
        ShardRange::from_settings(Some(&ShardsSetting::Text(shards.to_owned())), total)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_range_a_single_shard_and_total_alone_are_read() {
        let range = text("2-5", Some(8)).expect("valid").expect("a range");
        assert_eq!((range.first(), range.last(), range.total()), (2, 5, 8));
        assert_eq!(range.count(), 4);
        assert_eq!(range.to_string(), "2-5 of 8");
        let one = text(" 1 ", Some(2)).expect("valid").expect("a range");
        assert_eq!((one.first(), one.last(), one.count()), (1, 1, 1));
        assert_eq!(one.to_string(), "1 of 2");
        let number = ShardRange::from_settings(Some(&ShardsSetting::Number(3)), Some(4))
            .expect("valid")
            .expect("a range");
        assert_eq!((number.first(), number.last()), (3, 3));
        let all = ShardRange::from_settings(None, Some(4))
            .expect("valid")
            .expect("a range");
        assert_eq!((all.first(), all.last(), all.count()), (0, 3, 4));
        assert_eq!(ShardRange::from_settings(None, None), Ok(None));
    }

    #[test]
    fn a_wrong_shard_setting_names_the_key_and_says_what_is_wrong() {
        assert_eq!(
            text("3-1", Some(8)),
            Err(
                "discord.shards = \"3-1\" is reversed: write the lower shard first (\"1-3\")"
                    .to_owned()
            )
        );
        assert_eq!(
            text("0-8", Some(8)),
            Err(
                "discord.shards = \"0-8\" names shard 8, but with total_shards = 8 the shards \
                 are 0 to 7"
                    .to_owned()
            )
        );
        assert_eq!(
            ShardRange::from_settings(Some(&ShardsSetting::Number(2)), Some(2))
                .map_err(|e| e.to_string()),
            Err(
                "discord.shards = 2 names shard 2, but with total_shards = 2 the shards are 0 \
                 to 1"
                    .to_owned()
            )
        );
        assert_eq!(
            text("0", Some(0)),
            Err("discord.total_shards = 0 must be between 1 and 100000".to_owned())
        );
        assert_eq!(
            text("0-3", None),
            Err(
                "discord.shards is set without discord.total_shards: say how many shards the \
                 bot has in all, e.g. total_shards = 8"
                    .to_owned()
            )
        );
        for bad in ["", "a-b", "1-", "-1", "1-2-3", "+1", "99999999999"] {
            assert_eq!(
                text(bad, Some(8)),
                Err(format!(
                    "discord.shards = {bad:?} must be a shard number (\"3\") or a range of them \
                     (\"0-3\")"
                )),
                "{bad:?}"
            );
        }
        assert_eq!(
            ShardRange::from_settings(Some(&ShardsSetting::Number(-1)), Some(8))
                .map_err(|e| e.to_string()),
            Err(
                "discord.shards = -1 must be a shard number (\"3\") or a range of them (\"0-3\")"
                    .to_owned()
            )
        );
    }

    #[test]
    fn the_rest_shares_of_a_partition_never_add_up_to_more_than_the_budget() {
        let global = NonZeroU32::new(49).expect("not zero");
        let share = |shards: &str, total| {
            text(shards, Some(total))
                .expect("valid")
                .expect("a range")
                .rest_share(global)
                .get()
        };
        assert_eq!(share("0-7", 8), 49, "one instance with every shard");
        assert_eq!(share("0-3", 8), 24);
        assert_eq!(share("4-7", 8), 24);
        assert_eq!(share("0", 2) + share("1", 2), 48);
        assert_eq!(share("0", 3), 16);
        assert_eq!(share("0-1", 3), 32);
        assert_eq!(share("0", 100), 1, "at least one request a second");
        for total in 1..=60 {
            let sum: u32 = (0..total).map(|s| share(&s.to_string(), total)).sum();
            let expected_most = if total <= 49 { 49 } else { total };
            assert!(sum <= expected_most, "{total} instances: {sum} a second");
        }
    }

    #[test]
    fn a_guild_belongs_to_the_shard_discords_formula_names() {
        let second = text("1", Some(2)).expect("valid").expect("a range");
        assert!(second.owns_guild(1 << 22));
        assert!(!second.owns_guild(1111));
        assert!(second.owns_guild((3 << 22) | 77));
        let all = text("0-1", Some(2)).expect("valid").expect("a range");
        assert!(all.owns_guild(1111) && all.owns_guild(1 << 22));
    }
}
