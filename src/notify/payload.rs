//! The JSON body of a Discord message for an [`Outgoing`]: the same shape serves a webhook
//! execution and the bot's own channel messages.
//!
//! Its edges:
//! - **Mentions are locked down.** Every body carries `allowed_mentions` with an empty `parse`
//!   list, so no text in a headline or title (`@everyone`, `<@user>`, `<@&role>`) can ping
//!   anyone; only the subscription's own [`Outgoing::mention_role`] is listed under `roles`.
//! - **Discord's limits are enforced here**, not discovered as a 400: over-long text is cut on
//!   a character boundary and ends in `…`; fields beyond 25 are dropped. Lengths are counted in
//!   Unicode scalar values (`char`s), as Discord counts them. The cutting itself lives in
//!   [`super::limits`], shared with the bot's replies.
//! - **Text is shown as written.** Titles, descriptions and fields carry names from outside
//!   (a symbol's name, a data file's name): their markdown characters are escaped, so `_x_`
//!   is not shown in italics and `||` hides nothing. Footers are never rendered as markdown.
//! - **One message, never a split.** More than 10 embeds, or embeds whose text adds up to more
//!   than 6000 characters, are not spread over several messages: the first embeds that fit are
//!   kept, in order, and the rest dropped. A first embed too big on its own is shrunk (fields
//!   dropped from the end, then the description cut) so that a message is never left empty.
//!   Alerts are grouped per subscription, symbol and session, so this only bites on a pathological
//!   rule set, and one readable message beats a burst of fragments.
//! - Every cut and every drop is logged with `tracing::warn!`.
//! - **A file goes as Discord takes uploads**: `multipart/form-data` with the JSON body in a
//!   `payload_json` part and the file in `files[0]`, listed under `attachments` and shown as
//!   the first embed's image (`attachment://name`).
//!
//! Pure: no I/O, no clock.

use serde_json::{Map, Value, json};

use super::limits::{DiscordLimits, cut, escape_markdown, truncate};
use super::{Attachment, DeliveryError, Outgoing};
use crate::alerts::{Embed, EmbedField};
use crate::shared::RoleId;

/// The body of a webhook execution (`POST /webhooks/{id}/{token}`) for `message`.
///
/// `content` appears only when the message has some; `allowed_mentions` always. There is no
/// `nonce`: Execute Webhook does not take one (see [`discord_channel_message_json`]).
pub fn discord_message_json(message: &Outgoing) -> Value {
    let mut body = Map::new();
    if let Some(content) = &message.content {
        body.insert(
            "content".to_owned(),
            Value::String(truncate(content, DiscordLimits::CONTENT, "content")),
        );
    }
    body.insert(
        "embeds".to_owned(),
        Value::Array(embeds_json(&message.embeds)),
    );
    body.insert(
        "allowed_mentions".to_owned(),
        allowed_mentions(message.mention_role),
    );
    Value::Object(body)
}

/// The body of a bot's channel message (`POST /channels/{id}/messages`) for `message`: the
/// webhook body plus `nonce` and `enforce_nonce: true`, with which Discord answers a repeat of
/// the same nonce (within a few minutes) with the message already posted instead of a second one.
///
/// A nonce longer than [`DiscordLimits::NONCE`] would get the whole message refused, so it is
/// left out (with a warning) and the message goes without deduplication.
pub fn discord_channel_message_json(message: &Outgoing) -> Value {
    let mut body = discord_message_json(message);
    let nonce_chars = message.nonce.chars().count();
    if let Value::Object(map) = &mut body {
        if nonce_chars <= DiscordLimits::NONCE && !message.nonce.is_empty() {
            map.insert("nonce".to_owned(), Value::String(message.nonce.clone()));
            map.insert("enforce_nonce".to_owned(), Value::Bool(true));
        } else {
            tracing::warn!(
                nonce = %message.nonce,
                chars = nonce_chars,
                limit = DiscordLimits::NONCE,
                "nonce empty or too long for Discord: sending without one, a re-send may repeat"
            );
        }
    }
    body
}

/// Lists `file` in `body` (a message body from [`discord_message_json`] or
/// [`discord_channel_message_json`]) as upload 0, shown as the first embed's image.
pub fn with_attachment(body: &mut Value, file: &Attachment) {
    let Value::Object(map) = body else { return };
    map.insert(
        "attachments".to_owned(),
        json!([{ "id": 0, "filename": file.file_name }]),
    );
    if let Some(Value::Object(first)) = map
        .get_mut("embeds")
        .and_then(Value::as_array_mut)
        .and_then(|embeds| embeds.first_mut())
    {
        first.insert(
            "image".to_owned(),
            json!({ "url": format!("attachment://{}", file.file_name) }),
        );
    }
}

/// The `multipart/form-data` upload of `body` with `file`: `payload_json` and `files[0]`.
/// Built afresh for each attempt (a form is consumed by its request).
pub(crate) fn upload_form(
    body: &Value,
    file: &Attachment,
) -> Result<reqwest::multipart::Form, DeliveryError> {
    let mut body = body.clone();
    with_attachment(&mut body, file);
    let rejected = |error: reqwest::Error| DeliveryError::Rejected {
        reason: format!("cannot build the upload of {}: {error}", file.file_name),
    };
    let payload = reqwest::multipart::Part::text(body.to_string())
        .mime_str("application/json")
        .map_err(rejected)?;
    let image = reqwest::multipart::Part::bytes(file.bytes.to_vec())
        .file_name(file.file_name.clone())
        .mime_str("image/png")
        .map_err(rejected)?;
    Ok(reqwest::multipart::Form::new()
        .part("payload_json", payload)
        .part("files[0]", image))
}

/// `{"parse": []}`, plus the one role that may be pinged.
fn allowed_mentions(role: Option<RoleId>) -> Value {
    match role {
        Some(role) => json!({ "parse": [], "roles": [role.to_string()] }),
        None => json!({ "parse": [] }),
    }
}

/// The embeds that fit in one message, as JSON, each within its own limits.
fn embeds_json(embeds: &[Embed]) -> Vec<Value> {
    if embeds.len() > DiscordLimits::EMBEDS {
        tracing::warn!(
            embeds = embeds.len(),
            kept = DiscordLimits::EMBEDS,
            "more embeds than Discord allows in one message: dropping the rest"
        );
    }
    let mut kept = Vec::new();
    let mut total = 0;
    for (index, embed) in embeds.iter().take(DiscordLimits::EMBEDS).enumerate() {
        let mut fitted = Fitted::new(embed, index);
        let room = DiscordLimits::EMBEDS_TOTAL - total;
        if fitted.chars() > room {
            if index > 0 {
                tracing::warn!(
                    kept = index,
                    dropped = embeds.len().min(DiscordLimits::EMBEDS) - index,
                    chars = total + fitted.chars(),
                    limit = DiscordLimits::EMBEDS_TOTAL,
                    "embeds exceed Discord's total characters per message: dropping the rest"
                );
                break;
            }
            fitted.shrink_to(room, index);
        }
        total += fitted.chars();
        kept.push(fitted.into_json());
    }
    kept
}

/// One embed with every text cut to its own limit, before it is turned into JSON.
struct Fitted<'a> {
    embed: &'a Embed,
    title: String,
    description: String,
    fields: Vec<(String, String, bool)>,
    footer: String,
}

impl<'a> Fitted<'a> {
    fn new(embed: &'a Embed, index: usize) -> Self {
        if embed.fields.len() > DiscordLimits::FIELDS {
            tracing::warn!(
                embed = index,
                fields = embed.fields.len(),
                kept = DiscordLimits::FIELDS,
                "more fields than Discord allows in an embed: dropping the rest"
            );
        }
        let fields = embed
            .fields
            .iter()
            .take(DiscordLimits::FIELDS)
            .map(
                |EmbedField {
                     name,
                     value,
                     inline,
                 }| {
                    (
                        truncate(
                            &escape_markdown(name),
                            DiscordLimits::FIELD_NAME,
                            "field name",
                        ),
                        truncate(
                            &escape_markdown(value),
                            DiscordLimits::FIELD_VALUE,
                            "field value",
                        ),
                        *inline,
                    )
                },
            )
            .collect();
        Fitted {
            embed,
            title: truncate(
                &escape_markdown(&embed.title),
                DiscordLimits::TITLE,
                "title",
            ),
            description: truncate(
                &escape_markdown(&embed.description),
                DiscordLimits::DESCRIPTION,
                "description",
            ),
            fields,
            footer: truncate(&embed.footer, DiscordLimits::FOOTER, "footer"),
        }
    }

    /// The characters this embed adds to the message total.
    fn chars(&self) -> usize {
        self.fixed_chars()
            + self.description.chars().count()
            + self
                .fields
                .iter()
                .map(|(name, value, _)| name.chars().count() + value.chars().count())
                .sum::<usize>()
    }

    /// Title and footer: never cut for the total (together at most 2304 characters).
    fn fixed_chars(&self) -> usize {
        self.title.chars().count() + self.footer.chars().count()
    }

    /// Drops fields from the end, then cuts the description, until the embed has at most
    /// `room` characters. `room` is the whole message budget here, which always exceeds the
    /// title and footer limits together.
    fn shrink_to(&mut self, room: usize, index: usize) {
        let before = self.chars();
        let fields_before = self.fields.len();
        while self.chars() > room && !self.fields.is_empty() {
            self.fields.pop();
        }
        if self.chars() > room {
            let left = room.saturating_sub(self.fixed_chars());
            self.description = cut(&self.description, left);
        }
        tracing::warn!(
            embed = index,
            chars = before,
            limit = room,
            dropped_fields = fields_before - self.fields.len(),
            "embed alone exceeds Discord's total characters per message: shrinking it"
        );
    }

    fn into_json(self) -> Value {
        let mut object = Map::new();
        if !self.title.is_empty() {
            object.insert("title".to_owned(), Value::String(self.title));
        }
        if !self.description.is_empty() {
            object.insert("description".to_owned(), Value::String(self.description));
        }
        let colour = self.embed.colour;
        if colour > DiscordLimits::COLOR_MAX {
            tracing::warn!(
                colour,
                "embed colour is not 0xRRGGBB: keeping its low 24 bits"
            );
        }
        object.insert(
            "color".to_owned(),
            Value::from(colour & DiscordLimits::COLOR_MAX),
        );
        object.insert(
            "fields".to_owned(),
            Value::Array(
                self.fields
                    .into_iter()
                    .map(|(name, value, inline)| {
                        json!({ "name": name, "value": value, "inline": inline })
                    })
                    .collect(),
            ),
        );
        object.insert(
            "timestamp".to_owned(),
            Value::String(
                self.embed
                    .timestamp
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        );
        if !self.footer.is_empty() {
            object.insert("footer".to_owned(), json!({ "text": self.footer }));
        }
        Value::Object(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_embeds_are_shown_as_written() {
        let embed = Embed {
            title: "my_sym_bol: record close".to_owned(),
            description: "**BIG** closes at a record > 1 @everyone".to_owned(),
            fields: vec![EmbedField {
                name: "Close".to_owned(),
                value: "~~1~~ ||2||".to_owned(),
                inline: true,
            }],
            colour: 0,
            timestamp: chrono::DateTime::UNIX_EPOCH,
            footer: "CSV · session 2025-09-18".to_owned(),
        };
        let json = Fitted::new(&embed, 0).into_json();
        assert_eq!(json["title"], r"my\_sym\_bol: record close");
        assert_eq!(
            json["description"],
            r"\*\*BIG\*\* closes at a record \> 1 @everyone"
        );
        assert_eq!(json["fields"][0]["value"], r"\~\~1\~\~ \|\|2\|\|");
        assert_eq!(json["footer"]["text"], "CSV · session 2025-09-18");
    }

    #[test]
    fn an_attachment_is_listed_and_shown_as_the_first_embeds_image() {
        let embed = |title: &str| Embed {
            title: title.to_owned(),
            description: String::new(),
            fields: Vec::new(),
            colour: 0,
            timestamp: chrono::DateTime::UNIX_EPOCH,
            footer: String::new(),
        };
        let message = Outgoing {
            nonce: "n".into(),
            content: None,
            mention_role: None,
            embeds: vec![embed("first"), embed("second")],
            headlines: Vec::new(),
            events: Vec::new(),
            chart: None,
        };
        let mut body = discord_channel_message_json(&message);
        let file = Attachment {
            file_name: "rut-2025-09-18-1y.png".into(),
            bytes: vec![1, 2, 3].into(),
        };
        with_attachment(&mut body, &file);
        assert_eq!(
            body["attachments"],
            json!([{"id": 0, "filename": "rut-2025-09-18-1y.png"}])
        );
        assert_eq!(
            body["embeds"][0]["image"]["url"],
            "attachment://rut-2025-09-18-1y.png"
        );
        assert_eq!(body["embeds"][1].get("image"), None);
        assert_eq!(body["nonce"], "n");
    }

    #[test]
    fn only_the_subscriptions_role_may_be_mentioned() {
        assert_eq!(allowed_mentions(None), json!({ "parse": [] }));
        assert_eq!(
            allowed_mentions(Some(RoleId::new(42))),
            json!({ "parse": [], "roles": ["42"] })
        );
    }
}
