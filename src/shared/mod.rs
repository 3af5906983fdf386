//! Small things shared across the layers: Discord's ids as types ([`ids`]), the id of a
//! message Discord created, and how an HTTP error and a URL may be shown in errors and logs
//! without leaking a secret. A leaf: it uses
//! nothing of the crate but `market`'s text helpers, so every layer above `market` may use it.

use url::Url;

pub mod ids;

pub use ids::{BadId, ChannelId, GuildId, RoleId};

/// `url` as it may appear in errors and logs: scheme, host, port and path, without the query
/// string (API keys, signatures), the fragment or any credentials.
pub(crate) fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    // Both fail only for URLs that cannot have credentials, which then have none to remove.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.into()
}

/// The id of the message a Discord answer describes (`"id"`: a snowflake as a string, or as
/// a number from a lenient server); `None` when there is none.
pub(crate) fn message_id(json: &serde_json::Value) -> Option<String> {
    match json.get("id") {
        Some(serde_json::Value::String(id)) => Some(id.clone()),
        Some(serde_json::Value::Number(id)) => Some(id.to_string()),
        _ => None,
    }
}

/// What went wrong with a request that got no answer, in words: `timed out`, `could not
/// connect` or `request failed`.
pub(crate) fn request_failure(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    }
}

/// A reqwest error and its causes, without the URL (which would carry the query string, or a
/// webhook's token).
pub(crate) fn error_chain(error: reqwest::Error) -> String {
    use std::error::Error as _;
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_id_is_read_as_text_or_number_and_nothing_else() {
        use serde_json::json;
        assert_eq!(message_id(&json!({"id": "1234"})), Some("1234".into()));
        assert_eq!(message_id(&json!({"id": 1234})), Some("1234".into()));
        assert_eq!(message_id(&json!({"id": null})), None);
        assert_eq!(message_id(&json!({"content": "hi"})), None);
    }

    #[test]
    fn redacted_urls_keep_the_path_and_lose_query_and_credentials() {
        let url = Url::parse("https://user:pw@example.com:8443/v8/chart/%5ERUT?apikey=s3cret#x")
            .expect("a valid test URL");
        assert_eq!(redact(&url), "https://example.com:8443/v8/chart/%5ERUT");
    }
}
