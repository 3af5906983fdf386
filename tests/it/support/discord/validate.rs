//! The checks Discord makes on what the bot sends, answered as Discord answers them (400 with
//! code 50035 "Invalid Form Body", or 50006 for an empty message): message length and embed
//! limits, nonce length, command names, descriptions and option counts.
//!
//! A bot that passes a test against the fake but breaks one of these limits would fail in
//! production, so the fake refuses what Discord refuses.

use serde_json::Value;

use super::payloads::{error, invalid_form};

/// Discord's limits on message content and embeds.
pub const CONTENT_MAX: usize = 2000;
pub const EMBEDS_MAX: usize = 10;
pub const EMBED_TITLE_MAX: usize = 256;
pub const EMBED_DESCRIPTION_MAX: usize = 4096;
pub const EMBED_FIELDS_MAX: usize = 25;
pub const EMBED_FIELD_NAME_MAX: usize = 256;
pub const EMBED_FIELD_VALUE_MAX: usize = 1024;
pub const EMBED_FOOTER_MAX: usize = 2048;
pub const EMBED_AUTHOR_MAX: usize = 256;
/// Across all embeds of one message.
pub const EMBEDS_TOTAL_MAX: usize = 6000;
pub const NONCE_MAX: usize = 25;
/// Limits on application commands and autocomplete answers.
pub const COMMAND_NAME_MAX: usize = 32;
pub const COMMAND_DESCRIPTION_MAX: usize = 100;
pub const OPTIONS_MAX: usize = 25;
pub const CHOICES_MAX: usize = 25;

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

fn too_long(path: &str, max: usize) -> Value {
    invalid_form(
        path,
        "BASE_TYPE_MAX_LENGTH",
        &format!("Must be {max} or fewer in length."),
    )
}

/// A message body (create, follow-up, callback data; `partial` for edits, which may omit
/// everything).
pub fn message(body: &Value, partial: bool) -> Result<(), Value> {
    if !body.is_object() {
        return Err(invalid_form(
            "_root",
            "MODEL_TYPE_CONVERT",
            "Expected an object.",
        ));
    }
    if chars(&body["content"]) > CONTENT_MAX {
        return Err(too_long("content", CONTENT_MAX));
    }
    if let Some(nonce) = body["nonce"].as_str()
        && nonce.chars().count() > NONCE_MAX
    {
        return Err(too_long("nonce", NONCE_MAX));
    }
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > EMBEDS_MAX {
        return Err(too_long("embeds", EMBEDS_MAX));
    }
    let mut total = 0;
    for (i, embed) in embeds.iter().enumerate() {
        let checks = [
            ("title", &embed["title"], EMBED_TITLE_MAX),
            ("description", &embed["description"], EMBED_DESCRIPTION_MAX),
            ("footer.text", &embed["footer"]["text"], EMBED_FOOTER_MAX),
            ("author.name", &embed["author"]["name"], EMBED_AUTHOR_MAX),
        ];
        for (field, value, max) in checks {
            total += chars(value);
            if chars(value) > max {
                return Err(too_long(&format!("embeds.{i}.{field}"), max));
            }
        }
        let fields = embed["fields"].as_array().cloned().unwrap_or_default();
        if fields.len() > EMBED_FIELDS_MAX {
            return Err(too_long(&format!("embeds.{i}.fields"), EMBED_FIELDS_MAX));
        }
        for (j, field) in fields.iter().enumerate() {
            total += chars(&field["name"]) + chars(&field["value"]);
            if chars(&field["name"]) > EMBED_FIELD_NAME_MAX {
                return Err(too_long(
                    &format!("embeds.{i}.fields.{j}.name"),
                    EMBED_FIELD_NAME_MAX,
                ));
            }
            if chars(&field["value"]) > EMBED_FIELD_VALUE_MAX {
                return Err(too_long(
                    &format!("embeds.{i}.fields.{j}.value"),
                    EMBED_FIELD_VALUE_MAX,
                ));
            }
        }
    }
    if total > EMBEDS_TOTAL_MAX {
        return Err(invalid_form(
            "embeds",
            "MAX_EMBED_SIZE_EXCEEDED",
            "Embed size exceeds maximum size of 6000",
        ));
    }
    let has = |key: &str| body[key].as_array().is_some_and(|a| !a.is_empty());
    let empty = chars(&body["content"]) == 0
        && embeds.is_empty()
        && !has("components")
        && !has("attachments")
        && !has("sticker_ids")
        && body["poll"].is_null();
    if empty && !partial {
        return Err(error(50006, "Cannot send an empty message"));
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    let count = name.chars().count();
    (1..=COMMAND_NAME_MAX).contains(&count)
        && name
            .chars()
            .all(|c| c == '-' || c == '_' || c.is_alphanumeric())
        && name.to_lowercase() == name
}

/// One command or option (`path` says where it is, for the error).
fn command_like(item: &Value, path: &str, chat_input: bool) -> Result<(), Value> {
    let name = item["name"].as_str().unwrap_or("");
    if chat_input && !valid_name(name) {
        return Err(invalid_form(
            &format!("{path}.name"),
            "APPLICATION_COMMAND_INVALID_NAME",
            &format!("Command name is invalid: {name:?}"),
        ));
    }
    let description = chars(&item["description"]);
    if chat_input && !(1..=COMMAND_DESCRIPTION_MAX).contains(&description) {
        return Err(invalid_form(
            &format!("{path}.description"),
            "BASE_TYPE_BAD_LENGTH",
            &format!("Must be between 1 and {COMMAND_DESCRIPTION_MAX} in length."),
        ));
    }
    let options = item["options"].as_array().cloned().unwrap_or_default();
    if options.len() > OPTIONS_MAX {
        return Err(too_long(&format!("{path}.options"), OPTIONS_MAX));
    }
    let mut seen_optional = false;
    for (i, option) in options.iter().enumerate() {
        let option_path = format!("{path}.options.{i}");
        command_like(option, &option_path, true)?;
        let choices = option["choices"].as_array().map_or(0, Vec::len);
        if choices > CHOICES_MAX {
            return Err(too_long(&format!("{option_path}.choices"), CHOICES_MAX));
        }
        let kind = option["type"].as_u64().unwrap_or(0);
        if kind > 2 {
            let required = option["required"].as_bool().unwrap_or(false);
            if required && seen_optional {
                return Err(invalid_form(
                    &option_path,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                ));
            }
            seen_optional |= !required;
        }
    }
    Ok(())
}

/// A bulk overwrite of commands (`PUT .../commands`).
pub fn commands(body: &Value) -> Result<Vec<Value>, Value> {
    let Some(commands) = body.as_array() else {
        return Err(invalid_form(
            "_root",
            "MODEL_TYPE_CONVERT",
            "Expected an array.",
        ));
    };
    let mut names = Vec::new();
    for (i, command) in commands.iter().enumerate() {
        let chat_input = command["type"].as_u64().unwrap_or(1) == 1;
        command_like(command, &i.to_string(), chat_input)?;
        let key = (
            command["type"].as_u64().unwrap_or(1),
            command["name"].clone(),
        );
        if names.contains(&key) {
            return Err(invalid_form(
                &i.to_string(),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            ));
        }
        names.push(key);
    }
    Ok(commands.clone())
}

/// An interaction callback body (`{"type": ..., "data": ...}`).
pub fn callback(body: &Value) -> Result<u64, Value> {
    let Some(kind) = body["type"].as_u64() else {
        return Err(invalid_form(
            "type",
            "BASE_TYPE_REQUIRED",
            "This field is required",
        ));
    };
    match kind {
        4 => message(&body["data"], false).map(|()| kind),
        8 => {
            let choices = body["data"]["choices"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if choices.len() > CHOICES_MAX {
                return Err(too_long("data.choices", CHOICES_MAX));
            }
            for (i, choice) in choices.iter().enumerate() {
                if !(1..=100).contains(&chars(&choice["name"])) {
                    return Err(invalid_form(
                        &format!("data.choices.{i}.name"),
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    ));
                }
            }
            Ok(kind)
        }
        1 | 5 | 6 | 7 | 9 | 10 | 12 => Ok(kind),
        _ => Err(invalid_form(
            "type",
            "BASE_TYPE_CHOICES",
            &format!("Value must be one of {{1, 4, 5, 6, 7, 8, 9, 10, 12}}, got {kind}."),
        )),
    }
}
