//! Discord's JSON objects as the fake sends them: users, the application, READY, GUILD_CREATE,
//! messages, echoed application commands and error bodies.
//!
//! The shapes follow what serenity 0.12.5 deserialises *strictly* (a missing non-optional field
//! makes serenity drop the whole event without a word), so every field serenity requires is here
//! even when the fake has nothing interesting to say in it. Ids are strings, as Discord sends
//! snowflakes; timestamps are RFC 3339 in UTC.

use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::{FakeConfig, FakeGuild};

/// Permission bits the fake hands out (Discord's bitfield, sent as a decimal string).
pub mod permissions {
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const EMBED_LINKS: u64 = 1 << 14;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const USE_APPLICATION_COMMANDS: u64 = 1 << 31;
    /// What an ordinary member may do in a text channel (the usual @everyone set, trimmed).
    pub const MEMBER: u64 = VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | READ_MESSAGE_HISTORY
        | USE_APPLICATION_COMMANDS;
    /// The computed permissions Discord reports for an administrator: every defined bit.
    pub const ALL: u64 = (1 << 51) - 1;
}

/// Now as Discord writes timestamps (`2025-09-18T21:00:00.000000+00:00`).
pub fn now_timestamp() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, false)
}

/// When every member of a fake guild joined: a fixed date, so payloads are reproducible.
pub const JOINED_AT: &str = "2024-01-02T03:04:05.000000+00:00";

/// A user object (`bot` marks the bot's own account).
pub fn user(id: u64, name: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": name,
        "discriminator": "0",
        "global_name": if bot { Value::Null } else { json!(name) },
        "avatar": null,
        "bot": bot,
        "system": false,
        "banner": null,
        "accent_color": null,
        "public_flags": 0,
        "flags": 0,
    })
}

/// The bot's own user, as in READY and `GET /users/@me` (a current user carries a few more fields).
pub fn bot_user(config: &FakeConfig) -> Value {
    let mut user = user(config.bot_user_id, &config.bot_name, true);
    if let Some(map) = user.as_object_mut() {
        map.insert("verified".into(), json!(true));
        map.insert("mfa_enabled".into(), json!(false));
        map.insert("email".into(), Value::Null);
        map.insert("locale".into(), json!("en-US"));
    }
    user
}

/// `GET /oauth2/applications/@me`: the application, owned by the first guild's owner.
pub fn application(config: &FakeConfig) -> Value {
    let owner_id = config.guilds.first().map_or(1, |g| g.owner_id);
    json!({
        "id": config.application_id.to_string(),
        "name": config.bot_name,
        "icon": null,
        "description": "A fake application for tests",
        "rpc_origins": [],
        "bot_public": false,
        "bot_require_code_grant": false,
        "bot": bot_user(config),
        "owner": user(owner_id, "owner", false),
        "verify_key": "0".repeat(64),
        "team": null,
        "flags": 0,
        "tags": [],
        "install_params": null,
        "integration_types_config": {"0": {}},
        "approximate_guild_count": config.guilds.len(),
        "interactions_endpoint_url": null,
        "redirect_uris": [],
    })
}

/// READY's `d` for `shard` (`[id, total]`): it lists the guilds that shard owns.
pub fn ready(config: &FakeConfig, session_id: &str, resume_url: &str, shard: [u64; 2]) -> Value {
    let [id, total] = shard;
    let guilds: Vec<Value> = config
        .guilds
        .iter()
        .filter(|g| super::state::shard_of(Some(g.id), total) == id)
        .map(|g| json!({"id": g.id.to_string(), "unavailable": true}))
        .collect();
    json!({
        "v": 10,
        "user": bot_user(config),
        "guilds": guilds,
        "session_id": session_id,
        "resume_gateway_url": resume_url,
        "shard": [id, total],
        "application": {"id": config.application_id.to_string(), "flags": 0},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "user_settings": {},
        "_trace": ["fake-discord"],
    })
}

/// A role. `colors` (with `primary_color`) is required by serenity 0.12.5.
pub fn role(id: u64, name: &str, permissions: u64, position: u16) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": position,
        "permissions": permissions.to_string(),
        "managed": false,
        "mentionable": false,
        "flags": 0,
    })
}

/// Every role of `guild`: `@everyone` (whose id is the guild's) first, then the configured ones.
pub fn roles(guild: &FakeGuild) -> Vec<Value> {
    let mut all = vec![role(guild.id, "@everyone", permissions::MEMBER, 0)];
    for (position, r) in guild.roles.iter().enumerate() {
        let position = u16::try_from(position + 1).unwrap_or(u16::MAX);
        all.push(role(r.id, &r.name, r.permissions, position));
    }
    all
}

/// The JSON of one role of `guild` (a stub when it is not configured, so a test may name any id).
pub fn guild_role(guild: Option<&FakeGuild>, id: u64) -> Value {
    let found = guild.and_then(|g| {
        roles(g)
            .into_iter()
            .find(|r| r["id"] == json!(id.to_string()))
    });
    found.unwrap_or_else(|| role(id, &format!("role-{id}"), 0, 1))
}

/// A guild member; `permissions` (a string) is what interactions carry and poise 0.7 reads.
pub fn member(user: Value, roles: &[u64], permissions: Option<u64>) -> Value {
    let mut member = json!({
        "user": user,
        "nick": null,
        "avatar": null,
        "banner": null,
        "roles": roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "joined_at": JOINED_AT,
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "communication_disabled_until": null,
    });
    if let (Some(bits), Some(map)) = (permissions, member.as_object_mut()) {
        map.insert("permissions".into(), json!(bits.to_string()));
    }
    member
}

/// A text channel (type 0) of a guild.
pub fn text_channel(guild_id: u64, id: u64, name: &str, position: usize) -> Value {
    json!({
        "id": id.to_string(),
        "type": 0,
        "guild_id": guild_id.to_string(),
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "topic": null,
        "nsfw": false,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "parent_id": null,
        "flags": 0,
    })
}

/// A channel as interactions carry it (`channel`, `data.resolved.channels`): partial, with the
/// caller's computed permissions.
pub fn partial_channel(guild: Option<&FakeGuild>, id: u64, permissions: u64) -> Value {
    let name = guild
        .and_then(|g| g.channels.iter().find(|(c, _)| *c == id))
        .map_or_else(|| format!("channel-{id}"), |(_, n)| n.clone());
    let mut channel = json!({
        "id": id.to_string(),
        "type": 0,
        "name": name,
        "permissions": permissions.to_string(),
        "parent_id": null,
        "nsfw": false,
        "flags": 0,
        "topic": null,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "position": 0,
    });
    if let (Some(g), Some(map)) = (guild, channel.as_object_mut()) {
        map.insert("guild_id".into(), json!(g.id.to_string()));
    }
    channel
}

/// GUILD_CREATE's `d`: the full guild with the fields serenity insists on.
pub fn guild_create(config: &FakeConfig, guild: &FakeGuild) -> Value {
    let channels: Vec<Value> = guild
        .channels
        .iter()
        .enumerate()
        .map(|(position, (id, name))| text_channel(guild.id, *id, name, position))
        .collect();
    let members = vec![
        member(user(guild.owner_id, "owner", false), &[], None),
        member(bot_user(config), &[], None),
    ];
    let member_count = members.len();
    let mut guild_json = json!({
        "id": guild.id.to_string(),
        "name": guild.name,
        "icon": null,
        "icon_hash": null,
        "splash": null,
        "discovery_splash": null,
        "owner_id": guild.owner_id.to_string(),
        "afk_channel_id": null,
        "afk_timeout": 300,
        "widget_enabled": false,
        "widget_channel_id": null,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": roles(guild),
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": guild.channels.first().map(|(id, _)| id.to_string()),
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "max_presences": null,
        "max_members": 500_000,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "safety_alerts_channel_id": null,
        "incidents_data": null,
    });
    // GUILD_CREATE's extra fields (split off: one json! of everything exceeds the macro
    // recursion limit).
    let extra = json!({
        "joined_at": JOINED_AT,
        "large": false,
        "unavailable": false,
        "member_count": member_count,
        "voice_states": [],
        "members": members,
        "channels": channels,
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "lazy": true,
    });
    if let (Some(target), Value::Object(extra)) = (guild_json.as_object_mut(), extra) {
        target.extend(extra);
    }
    guild_json
}

/// A message the bot created: `body` is what it sent (content, embeds, components, nonce ...).
pub fn message(id: u64, channel_id: u64, author: Value, body: &Value) -> Value {
    let field = |name: &str, default: Value| body.get(name).cloned().unwrap_or(default);
    json!({
        "id": id.to_string(),
        "type": 0,
        "channel_id": channel_id.to_string(),
        "author": author,
        "content": field("content", json!("")),
        "timestamp": now_timestamp(),
        "edited_timestamp": null,
        "tts": field("tts", json!(false)),
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "mention_channels": [],
        "attachments": field("attachments", json!([])),
        "embeds": field("embeds", json!([])),
        "components": field("components", json!([])),
        "reactions": [],
        "nonce": field("nonce", Value::Null),
        "pinned": false,
        "webhook_id": null,
        "flags": field("flags", json!(0)),
    })
}

/// `edits` laid over `original`, as Discord edits a message: only the fields sent change.
pub fn edited(original: &Value, edits: &Value) -> Value {
    let mut message = original.clone();
    if let (Some(target), Some(changes)) = (message.as_object_mut(), edits.as_object()) {
        for key in ["content", "embeds", "components", "attachments", "flags"] {
            if let Some(value) = changes.get(key) {
                target.insert(key.into(), value.clone());
            }
        }
        target.insert("edited_timestamp".into(), json!(now_timestamp()));
    }
    message
}

/// A registered command as Discord echoes it: what the bot sent plus id, application id,
/// version, type and (for guild commands) the guild id.
pub fn registered_command(sent: &Value, id: u64, application_id: u64, guild: Option<u64>) -> Value {
    let mut command = sent.as_object().cloned().unwrap_or_else(Map::new);
    command.insert("id".into(), json!(id.to_string()));
    command.insert("application_id".into(), json!(application_id.to_string()));
    command.insert("version".into(), json!(id.to_string()));
    command.entry("type").or_insert_with(|| json!(1));
    command.entry("description").or_insert_with(|| json!(""));
    command
        .entry("default_member_permissions")
        .or_insert(Value::Null);
    command.entry("nsfw").or_insert_with(|| json!(false));
    if let Some(guild) = guild {
        command.insert("guild_id".into(), json!(guild.to_string()));
    }
    Value::Object(command)
}

/// Discord's error body: `{"message": ..., "code": ...}`.
pub fn error(code: u32, message: &str) -> Value {
    json!({"message": message, "code": code})
}

/// Discord's "Invalid Form Body" (50035) with one error at `path` (dot separated).
pub fn invalid_form(path: &str, error_code: &str, message: &str) -> Value {
    let mut errors = json!({"_errors": [{"code": error_code, "message": message}]});
    for key in path.rsplit('.') {
        errors = json!({ key: errors });
    }
    json!({"message": "Invalid Form Body", "code": 50035, "errors": errors})
}

/// The `attachments` of a message body with uploads, as Discord stores them: each entry the
/// bot named (`{"id": <upload index>, "filename"}`) becomes an attachment with its own
/// snowflake, its size from the uploaded part, and a CDN URL; an embed image naming one
/// (`attachment://<filename>`) is shown from that URL.
pub fn stored_attachments(body: &mut Value, files: &[(String, String, Vec<u8>)]) {
    let Some(entries) = body.get_mut("attachments").and_then(Value::as_array_mut) else {
        return;
    };
    let mut urls = Vec::new();
    for (index, entry) in entries.iter_mut().enumerate() {
        let filename = entry["filename"].as_str().unwrap_or("file").to_owned();
        let size = files
            .iter()
            .find(|(_, name, _)| *name == filename)
            .map_or(0, |(_, _, bytes)| bytes.len());
        let id = 990_000_000_000_000_000u64 + index as u64;
        *entry = json!({
            "id": id.to_string(),
            "filename": filename,
            "size": size,
            "url": format!("https://cdn.discordapp.com/attachments/{id}/{filename}"),
            "proxy_url": format!("https://media.discordapp.net/attachments/{id}/{filename}"),
            "content_type": "image/png",
        });
        urls.push((format!("attachment://{filename}"), entry["url"].clone()));
    }
    let Some(embeds) = body.get_mut("embeds").and_then(Value::as_array_mut) else {
        return;
    };
    for image in embeds.iter_mut().filter_map(|e| e.get_mut("image")) {
        let named = image["url"].as_str().unwrap_or_default().to_owned();
        if let Some((_, url)) = urls.iter().find(|(reference, _)| *reference == named) {
            image["url"] = url.clone();
        }
    }
}
