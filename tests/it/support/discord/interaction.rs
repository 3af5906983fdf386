//! Interactions a test sends to the bot: a small builder (`Interaction::command("streak")
//! .option_str("symbol", "RUT").by(member)`) and its translation into the INTERACTION_CREATE
//! payload poise 0.7 accepts (member with computed `permissions`, `app_permissions`, resolved
//! channels and roles, subcommands nested as type 1/2 options, `focused` for autocomplete).

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::payloads::{self, permissions};
use super::{FakeConfig, FakeGuild};

/// Option types of Discord's application command options.
mod option_type {
    pub const SUB_COMMAND: u8 = 1;
    pub const SUB_COMMAND_GROUP: u8 = 2;
    pub const STRING: u8 = 3;
    pub const INTEGER: u8 = 4;
    pub const BOOLEAN: u8 = 5;
    pub const USER: u8 = 6;
    pub const CHANNEL: u8 = 7;
    pub const ROLE: u8 = 8;
    pub const NUMBER: u8 = 10;
}

/// Who invokes a command: a guild member with computed permissions (a bitfield, see
/// [`permissions`]) and roles.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub user_id: u64,
    pub username: String,
    pub roles: Vec<u64>,
    /// The member's computed permissions in the channel, as Discord sends them.
    pub permissions: u64,
}

impl Member {
    /// An ordinary member: may read, write and use commands, may not manage the server.
    pub fn new(user_id: u64, username: &str) -> Self {
        Self {
            user_id,
            username: username.to_owned(),
            roles: Vec::new(),
            permissions: permissions::MEMBER,
        }
    }

    /// A member with Manage Server (0x20).
    pub fn manager(user_id: u64, username: &str) -> Self {
        Self::new(user_id, username)
            .with_permissions(permissions::MEMBER | permissions::MANAGE_GUILD)
    }

    /// An administrator: Discord reports every permission bit for them.
    pub fn admin(user_id: u64, username: &str) -> Self {
        Self::new(user_id, username).with_permissions(permissions::ALL)
    }

    pub fn with_permissions(mut self, bits: u64) -> Self {
        self.permissions = bits;
        self
    }
}

impl Default for Member {
    /// user 6000 "trader", an ordinary member.
    fn default() -> Self {
        Self::new(6000, "trader")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Type 2, APPLICATION_COMMAND.
    Command,
    /// Type 4, APPLICATION_COMMAND_AUTOCOMPLETE.
    Autocomplete,
}

#[derive(Debug, Clone, PartialEq)]
enum Resolved {
    None,
    Channel(u64),
    Role(u64),
    User(Member),
}

#[derive(Debug, Clone, PartialEq)]
struct OptionValue {
    name: String,
    kind: u8,
    value: Value,
    focused: bool,
    resolved: Resolved,
}

/// A slash command (or autocomplete request) to dispatch; see [`super::FakeDiscord::interact`].
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    kind: Kind,
    name: String,
    /// Subcommand group and/or subcommand, outermost first.
    path: Vec<String>,
    options: Vec<OptionValue>,
    member: Member,
    guild_id: Option<u64>,
    dm: bool,
    channel_id: Option<u64>,
    locale: String,
}

impl Interaction {
    /// `/name`, by the default member, in the first channel of the first guild.
    pub fn command(name: &str) -> Self {
        Self {
            kind: Kind::Command,
            name: name.to_owned(),
            path: Vec::new(),
            options: Vec::new(),
            member: Member::default(),
            guild_id: None,
            dm: false,
            channel_id: None,
            locale: "en-US".to_owned(),
        }
    }

    /// An autocomplete request for `option` of `/command`, the user having typed `partial`.
    pub fn autocomplete(command: &str, option: &str, partial: &str) -> Self {
        Self::command(command).focused(option, partial)
    }

    /// Descends into a subcommand; called twice, the first names a subcommand group.
    pub fn sub(mut self, name: &str) -> Self {
        self.path.push(name.to_owned());
        self
    }

    /// Makes this an autocomplete request with `option` focused (after [`Self::sub`] for
    /// subcommands).
    pub fn focused(mut self, option: &str, partial: &str) -> Self {
        self.kind = Kind::Autocomplete;
        self.options.push(OptionValue {
            name: option.to_owned(),
            kind: option_type::STRING,
            value: json!(partial),
            focused: true,
            resolved: Resolved::None,
        });
        self
    }

    fn option(mut self, name: &str, kind: u8, value: Value, resolved: Resolved) -> Self {
        self.options.push(OptionValue {
            name: name.to_owned(),
            kind,
            value,
            focused: false,
            resolved,
        });
        self
    }

    pub fn option_str(self, name: &str, value: &str) -> Self {
        self.option(name, option_type::STRING, json!(value), Resolved::None)
    }

    pub fn option_int(self, name: &str, value: i64) -> Self {
        self.option(name, option_type::INTEGER, json!(value), Resolved::None)
    }

    pub fn option_bool(self, name: &str, value: bool) -> Self {
        self.option(name, option_type::BOOLEAN, json!(value), Resolved::None)
    }

    pub fn option_number(self, name: &str, value: f64) -> Self {
        self.option(name, option_type::NUMBER, json!(value), Resolved::None)
    }

    /// A channel option: the id as a string, and the channel in `data.resolved.channels`.
    pub fn option_channel(self, name: &str, channel_id: u64) -> Self {
        let value = json!(channel_id.to_string());
        self.option(
            name,
            option_type::CHANNEL,
            value,
            Resolved::Channel(channel_id),
        )
    }

    /// A role option: the id as a string, and the role in `data.resolved.roles`.
    pub fn option_role(self, name: &str, role_id: u64) -> Self {
        let value = json!(role_id.to_string());
        self.option(name, option_type::ROLE, value, Resolved::Role(role_id))
    }

    /// A user option: the id, and the user and member in `data.resolved`.
    pub fn option_user(self, name: &str, member: &Member) -> Self {
        let value = json!(member.user_id.to_string());
        self.option(
            name,
            option_type::USER,
            value,
            Resolved::User(member.clone()),
        )
    }

    /// Who invokes the command.
    pub fn by(mut self, member: Member) -> Self {
        self.member = member;
        self
    }

    /// In the configured guild `id` (default: the first guild), in its first channel unless
    /// a channel is given.
    pub fn in_guild(mut self, id: u64) -> Self {
        self.guild_id = Some(id);
        self
    }

    /// In a direct message with the bot: `user` instead of `member`, no guild.
    pub fn in_dm(mut self) -> Self {
        self.dm = true;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The invoking member.
    /// The INTERACTION_CREATE payload (`d`). `command_id` is the id Discord gave the command
    /// when it was registered.
    pub(super) fn to_json(
        &self,
        config: &FakeConfig,
        id: u64,
        token: &str,
        command_id: u64,
    ) -> Value {
        let guild = self.guild(config);
        let channel_id = self
            .channel_id
            .or_else(|| guild.and_then(|g| g.channels.first().map(|(c, _)| *c)))
            .unwrap_or(1);
        let mut resolved = Map::new();
        let options: Vec<Value> = self
            .options
            .iter()
            .map(|o| self.option_json(o, guild, &mut resolved))
            .collect();
        let options = self.nest(options);
        let mut data = json!({
            "id": command_id.to_string(),
            "name": self.name,
            "type": 1,
            "options": options,
        });
        if !resolved.is_empty() {
            data["resolved"] = Value::Object(resolved);
        }
        let user = payloads::user(self.member.user_id, &self.member.username, false);
        let bot_permissions = permissions::ALL;
        let mut d = json!({
            "id": id.to_string(),
            "application_id": config.application_id.to_string(),
            "type": if self.kind == Kind::Command { 2 } else { 4 },
            "data": data,
            "channel_id": channel_id.to_string(),
            "channel": payloads::partial_channel(guild, channel_id, self.member.permissions),
            "token": token,
            "version": 1,
            "app_permissions": bot_permissions.to_string(),
            "locale": self.locale,
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
        });
        if let (Some(guild), Some(map)) = (guild, d.as_object_mut()) {
            map.insert("guild_id".into(), json!(guild.id.to_string()));
            map.insert(
                "guild".into(),
                json!({"id": guild.id.to_string(), "locale": "en-US", "features": []}),
            );
            map.insert("guild_locale".into(), json!("en-US"));
            map.insert(
                "member".into(),
                payloads::member(user, &self.member.roles, Some(self.member.permissions)),
            );
            map.insert(
                "authorizing_integration_owners".into(),
                json!({"0": guild.id.to_string()}),
            );
            map.insert("context".into(), json!(0));
        } else if let Some(map) = d.as_object_mut() {
            map.insert("user".into(), user);
            map.insert("authorizing_integration_owners".into(), json!({"0": "0"}));
            map.insert("context".into(), json!(1));
            if let Some(channel) = map.get_mut("channel") {
                channel["type"] = json!(1);
            }
        }
        d
    }

    pub(super) fn guild<'c>(&self, config: &'c FakeConfig) -> Option<&'c FakeGuild> {
        if self.dm {
            return None;
        }
        match self.guild_id {
            Some(id) => config.guilds.iter().find(|g| g.id == id),
            None => config.guilds.first(),
        }
    }

    fn option_json(
        &self,
        option: &OptionValue,
        guild: Option<&FakeGuild>,
        resolved: &mut Map<String, Value>,
    ) -> Value {
        let mut add = |section: &str, id: String, value: Value| {
            let entry = resolved
                .entry(section.to_owned())
                .or_insert_with(|| json!({}));
            entry[id] = value;
        };
        match &option.resolved {
            Resolved::None => {}
            Resolved::Channel(id) => add(
                "channels",
                id.to_string(),
                payloads::partial_channel(guild, *id, self.member.permissions),
            ),
            Resolved::Role(id) => add("roles", id.to_string(), payloads::guild_role(guild, *id)),
            Resolved::User(member) => {
                let user = payloads::user(member.user_id, &member.username, false);
                add("users", member.user_id.to_string(), user);
                let mut partial =
                    payloads::member(Value::Null, &member.roles, Some(member.permissions));
                if let Some(map) = partial.as_object_mut() {
                    map.remove("user");
                }
                add("members", member.user_id.to_string(), partial);
            }
        }
        let mut json = json!({"name": option.name, "type": option.kind, "value": option.value});
        if option.focused {
            json["focused"] = json!(true);
        }
        json
    }

    /// Wraps `options` in the subcommand (and group) they belong to.
    fn nest(&self, options: Vec<Value>) -> Vec<Value> {
        let mut options = options;
        let depth = self.path.len();
        for (level, name) in self.path.iter().enumerate().rev() {
            let kind = if level + 1 == depth {
                option_type::SUB_COMMAND
            } else {
                option_type::SUB_COMMAND_GROUP
            };
            options = vec![json!({"name": name, "type": kind, "options": options})];
        }
        options
    }
}

/// What the bot answered to one interaction.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The callback body (`{"type": 4|5|8, "data": {...}}`).
    pub callback: Value,
    /// Bodies of `PATCH /webhooks/{app}/{token}/messages/@original`, in order.
    pub edits: Vec<Value>,
    /// Bodies of follow-ups (`POST /webhooks/{app}/{token}`), in order.
    pub followups: Vec<Value>,
    /// When the fake sent INTERACTION_CREATE.
    pub dispatched_at: Instant,
    /// When the callback arrived (Discord wants it within 3 s of the dispatch).
    pub answered_at: Instant,
    /// The original response as it stands (`GET .../@original`), `None` for autocomplete.
    pub original: Option<Value>,
}

impl Reply {
    /// The callback type: 4 message, 5 deferred message, 8 autocomplete result, ...
    pub fn kind(&self) -> u64 {
        self.callback["type"].as_u64().unwrap_or(0)
    }

    /// Whether the first answer was ephemeral (flag 64 on the callback data).
    pub fn ephemeral(&self) -> bool {
        self.callback["data"]["flags"]
            .as_u64()
            .is_some_and(|f| f & 64 != 0)
    }

    /// What the user finally sees as the answer: the last follow-up's content if the bot
    /// followed up, else the original response's (after its edits).
    pub fn content(&self) -> Option<String> {
        self.followups
            .last()
            .and_then(|f| f["content"].as_str())
            .or_else(|| self.original.as_ref().and_then(|o| o["content"].as_str()))
            .map(str::to_owned)
    }

    /// Autocomplete choices as (name, value).
    pub fn choices(&self) -> Vec<(String, Value)> {
        self.callback["data"]["choices"]
            .as_array()
            .map(|choices| {
                choices
                    .iter()
                    .map(|c| {
                        (
                            c["name"].as_str().unwrap_or("").to_owned(),
                            c["value"].clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How long the bot took to acknowledge.
    pub fn latency(&self) -> std::time::Duration {
        self.answered_at.duration_since(self.dispatched_at)
    }
}
