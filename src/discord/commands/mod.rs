//! The slash commands: questions anyone may ask (`/streak`, `/high`, `/quote`) and the setup
//! that only a server's managers may change (`/alerts`, `/rules`, `/mute`, `/quiet-hours`).
//!
//! Commands are thin: parse the arguments, call the same services the CLI uses, render the
//! reply. A mistake by the user gets a short ephemeral reply saying what to change; anything
//! else is logged whole and the user gets a short apology.

use poise::serenity_prelude as serenity;

use super::data::{BotData, LookupError};
use crate::market::{Symbol, shown};
use crate::pipeline::Loaded;

mod query;
mod setup;

/// Errors of a command.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// The context every command gets.
pub type Context<'a> = poise::Context<'a, BotData, Error>;

/// A mistake in what the user asked: shown to them (ephemeral), not logged as a failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

impl UserError {
    pub fn boxed(text: impl Into<String>) -> Error {
        Box::new(UserError(text.into()))
    }
}

/// Discord's Manage Server permission (and Administrator, which implies it).
const MANAGE: [serenity::Permissions; 2] = [
    serenity::Permissions::MANAGE_GUILD,
    serenity::Permissions::ADMINISTRATOR,
];

/// Every command, for registration.
pub fn all() -> Vec<poise::Command<BotData, Error>> {
    vec![
        query::streak(),
        query::high(),
        query::quote(),
        setup::alerts(),
        setup::rules(),
        setup::mute(),
        setup::quiet_hours(),
    ]
}

/// Checks, on every call, that the member may change this server's setup — Discord hides the
/// commands from others (`default_member_permissions`), but that is a display setting a server
/// can override, so it is not trusted alone.
pub async fn require_manager(ctx: Context<'_>) -> Result<u64, Error> {
    let guild = ctx
        .guild_id()
        .ok_or_else(|| UserError::boxed("This command works in a server, not in a DM."))?;
    let permissions = ctx.author_member().await.and_then(|m| m.permissions);
    let allowed = permissions.is_some_and(|p| MANAGE.iter().any(|m| p.contains(*m)));
    if !allowed {
        tracing::info!(guild = guild.get(), user = ctx.author().id.get(), command = %ctx.command().qualified_name, "refused: member lacks Manage Server");
        return Err(UserError::boxed(
            "Only members with the **Manage Server** permission can change highwater's setup.",
        ));
    }
    Ok(guild.get())
}

/// Sends `text` to the user only.
pub async fn ephemeral(ctx: Context<'_>, text: impl Into<String>) -> Result<(), Error> {
    ctx.send(
        poise::CreateReply::default()
            .content(text)
            .ephemeral(true)
            .allowed_mentions(serenity::CreateAllowedMentions::new()),
    )
    .await?;
    Ok(())
}

/// Sends `text` to the channel, never pinging anyone.
pub async fn public(ctx: Context<'_>, text: impl Into<String>) -> Result<(), Error> {
    ctx.send(
        poise::CreateReply::default()
            .content(text)
            .allowed_mentions(serenity::CreateAllowedMentions::new()),
    )
    .await?;
    Ok(())
}

/// What an unknown symbol gets told.
fn unknown_text(query: &str, suggestions: &[String]) -> String {
    let query = shown(&query.replace('`', "'"));
    if suggestions.is_empty() {
        format!("I don't know the symbol `{query}`. Try a ticker like `RUT`, `SPX` or `BTC`.")
    } else {
        format!(
            "I don't know the symbol `{query}`. Did you mean {}?",
            suggestions
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The symbol a command names, or an ephemeral "did you mean".
pub fn resolve(ctx: Context<'_>, query: &str) -> Result<std::sync::Arc<Symbol>, Error> {
    ctx.data().resolve(query).map_err(|e| match e {
        LookupError::Unknown { query, suggestions } => {
            UserError::boxed(unknown_text(&query, &suggestions))
        }
        other => Box::new(other) as Error,
    })
}

/// The history of a symbol for an answer; defers the reply first when it must be fetched, so
/// Discord's 3-second deadline is met however long the provider takes.
pub async fn load(ctx: Context<'_>, query: &str) -> Result<Loaded, Error> {
    load_for(ctx, query, false).await
}

/// [`load`] for an answer only the user sees: the deferral is private too.
pub async fn load_private(ctx: Context<'_>, query: &str) -> Result<Loaded, Error> {
    load_for(ctx, query, true).await
}

async fn load_for(ctx: Context<'_>, query: &str, private: bool) -> Result<Loaded, Error> {
    let symbol = resolve(ctx, query)?;
    if !ctx.data().is_cached(&symbol).await {
        if private {
            ctx.defer_ephemeral().await?;
        } else {
            ctx.defer().await?;
        }
    }
    ctx.data().history(symbol).await.map_err(|e| match e {
        LookupError::Unknown { query, suggestions } => {
            UserError::boxed(unknown_text(&query, &suggestions))
        }
        LookupError::History(error) => {
            tracing::warn!(%error, "history unavailable for a command");
            UserError::boxed(format!(
                "Market data for `{query}` is unavailable right now. Please try again in a few minutes."
            ))
        }
    })
}

/// Autocomplete for symbol arguments: catalog symbols whose ticker, name or alias matches what
/// was typed, shown as "RUT — Russell 2000".
pub async fn autocomplete_symbol(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let typed = partial.trim().to_ascii_lowercase();
    let mut scored: Vec<(u8, String, String)> = Vec::new();
    for symbol in ctx.data().catalog().symbols() {
        let names: Vec<&str> = symbol.names().collect();
        let best = names
            .iter()
            .filter_map(|n| {
                let n = n.to_ascii_lowercase();
                if typed.is_empty() || n.starts_with(&typed) {
                    Some(0)
                } else if n.contains(&typed) {
                    Some(1)
                } else {
                    None
                }
            })
            .min();
        if let Some(rank) = best {
            let short = symbol.plain_ticker().to_owned();
            scored.push((rank, format!("{short} — {}", symbol.name()), short));
        }
    }
    scored.sort();
    let choices = scored
        .into_iter()
        .take(25)
        .map(|(_, label, value)| serenity::AutocompleteChoice::new(label, value))
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Handles a command's failure: the user's mistakes as ephemeral advice, everything else
/// logged with its whole chain and a short apology.
pub async fn on_error(error: poise::FrameworkError<'_, BotData, Error>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            let text = if let Some(user) = error.downcast_ref::<UserError>() {
                user.0.clone()
            } else {
                tracing::error!(command = %ctx.command().qualified_name, error = %chain(&*error), "command failed");
                "Sorry, something went wrong on highwater's side; it has been logged.".to_owned()
            };
            if let Err(e) = ephemeral(ctx, text).await {
                tracing::warn!(error = %e, "could not send the error reply");
            }
        }
        poise::FrameworkError::ArgumentParse {
            error, input, ctx, ..
        } => {
            let text = format!(
                "I couldn't read `{}`: {error}",
                input.unwrap_or_default().replace('`', "'")
            );
            if let Err(e) = ephemeral(ctx, text).await {
                tracing::warn!(error = %e, "could not send the error reply");
            }
        }
        poise::FrameworkError::Setup {
            error, framework, ..
        } => {
            // Without its data no command could answer: stop this client, and the bot's
            // supervisor starts a new one after a backoff.
            tracing::error!(error = %chain(&*error), "the bot's setup failed (command registration?); reconnecting");
            let shards = framework.shard_manager().clone();
            tokio::spawn(async move { shards.shutdown_all().await });
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::error!(error = %e, "error while handling an error");
            }
        }
    }
}

fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
