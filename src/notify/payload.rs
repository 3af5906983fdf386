//! Discord message JSON (stub; being written).

/// Discord's message limits.
#[derive(Debug)]
pub struct DiscordLimits;

/// The JSON body of a Discord message.
pub fn discord_message_json(_message: &super::Outgoing) -> serde_json::Value {
    serde_json::Value::Null
}
