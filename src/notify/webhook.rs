//! The Discord webhook notifier (stub; being written).

/// A Discord webhook URL.
#[derive(Debug)]
pub struct WebhookUrl;

/// Why a text is not a Discord webhook URL.
#[derive(Debug, thiserror::Error)]
#[error("not a Discord webhook URL")]
pub struct WebhookUrlError;

/// Posts to a Discord webhook.
#[derive(Debug)]
pub struct WebhookNotifier;
