//! The slash commands: questions anyone may ask (`/streak`, `/high`, `/quote`) and the setup
//! that only a server's managers may change (`/alerts`, `/rules`, `/mute`, `/quiet-hours`).
//!
//! Commands are thin: parse the arguments, call the same services the CLI uses, render the
//! reply. A mistake by the user gets a short ephemeral reply saying what to change; anything
//! else is logged whole and the user gets a short apology.
//!
//! **Discord's size limits.** Every string option declares its `max_length` (poise takes only
//! literals: a symbol 32, a rule id 64 like the ids themselves, a duration or a daily window
//! 16, a timezone 64), and [`options_within_limits`] enforces the declared
//! lengths again before any command runs, because a client can send longer values than the
//! command declares: an over-long value gets a short private reply, not silence. Every reply
//! goes through [`ephemeral`] or [`public`], which fit it to Discord's 2,000 characters
//! ([`crate::notify::limits`]), never ping anyone (`allowed_mentions` empty), and names from
//! outside are shown escaped ([`escape_markdown`]).

use poise::serenity_prelude as serenity;

use super::data::{BotData, LookupError};
use crate::market::{Symbol, shown};
pub use crate::notify::limits::escape_markdown;
use crate::notify::limits::fit_content;
use crate::providers::Loaded;
use crate::shared::GuildId;

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

/// What Discord itself allows in a string option, for an option that declares nothing.
const DISCORD_MAX_OPTION: usize = 6000;

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
        query::context(),
        query::history(),
        query::risk(),
        query::quote(),
        query::chart(),
        setup::alerts(),
        setup::rules(),
        setup::mute(),
        setup::quiet_hours(),
    ]
}

/// Checks, on every call, that the member may change this server's setup — Discord hides the
/// commands from others (`default_member_permissions`), but that is a display setting a server
/// can override, so it is not trusted alone.
pub async fn require_manager(ctx: Context<'_>) -> Result<GuildId, Error> {
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
    Ok(GuildId::from(guild))
}

/// The `max_length` that `command` declares for its string option `name`, read back from its
/// registration (poise keeps it only in the option builder).
fn declared_max_length(command: &poise::Command<BotData, Error>, name: &str) -> Option<usize> {
    let parameter = command.parameters.iter().find(|p| p.name == name)?;
    let set = parameter.type_setter?;
    let option = set(serenity::CreateCommandOption::new(
        serenity::CommandOptionType::String,
        name,
        "-",
    ));
    let json = serde_json::to_value(option).ok()?;
    json.get("max_length")?
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
}

/// Every command's first check: each string option within the `max_length` its command
/// declares (Discord's clients enforce it; other clients need not). `Err` with a short
/// [`UserError`] for the first that is not, which [`on_error`] sends privately.
pub async fn options_within_limits(ctx: Context<'_>) -> Result<bool, Error> {
    let poise::Context::Application(app) = ctx else {
        return Ok(true);
    };
    for option in app.args {
        let serenity::ResolvedValue::String(value) = option.value else {
            continue;
        };
        let limit = declared_max_length(ctx.command(), option.name).unwrap_or(DISCORD_MAX_OPTION);
        let chars = value.chars().count();
        if chars > limit {
            tracing::info!(
                command = %ctx.command().qualified_name,
                option = option.name,
                chars,
                limit,
                "refused: option too long"
            );
            return Err(UserError::boxed(format!(
                "`{}` is too long ({chars} characters); it takes at most {limit}.",
                option.name
            )));
        }
    }
    Ok(true)
}

/// Sends `text` to the user only, fitted to Discord's limit.
pub async fn ephemeral(ctx: Context<'_>, text: impl Into<String>) -> Result<(), Error> {
    ctx.send(
        poise::CreateReply::default()
            .content(fit_content(&text.into()))
            .ephemeral(true)
            .allowed_mentions(serenity::CreateAllowedMentions::new()),
    )
    .await?;
    Ok(())
}

/// Sends `text` to the channel, fitted to Discord's limit, never pinging anyone.
pub async fn public(ctx: Context<'_>, text: impl Into<String>) -> Result<(), Error> {
    ctx.send(
        poise::CreateReply::default()
            .content(fit_content(&text.into()))
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
        poise::FrameworkError::CommandCheckFailed {
            error: Some(error),
            ctx,
            ..
        } if error.is::<UserError>() => {
            if let Err(e) = ephemeral(ctx, error.to_string()).await {
                tracing::warn!(error = %e, "could not send the error reply");
            }
        }
        poise::FrameworkError::ArgumentParse {
            error, input, ctx, ..
        } => {
            let text = format!(
                "I couldn't read `{}`: {error}",
                shown(&input.unwrap_or_default().replace('`', "'"))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string option of every command (and subcommand), as registered with Discord.
    fn string_options() -> Vec<(String, serde_json::Value)> {
        fn walk(
            path: &str,
            options: &serde_json::Value,
            out: &mut Vec<(String, serde_json::Value)>,
        ) {
            for option in options.as_array().into_iter().flatten() {
                let name = format!("{path} {}", option["name"].as_str().unwrap_or("?"));
                match option["type"].as_u64() {
                    // Subcommand and subcommand group.
                    Some(1 | 2) => walk(&name, &option["options"], out),
                    Some(3) => out.push((name, option.clone())),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        for command in all() {
            let Some(registered) = command.create_as_slash_command() else {
                continue;
            };
            let json = serde_json::to_value(registered).expect("a command serialises");
            walk(command.name.as_ref(), &json["options"], &mut out);
        }
        out
    }

    #[test]
    fn every_string_option_declares_its_max_length() {
        let options = string_options();
        let declared: Vec<(String, u64)> = options
            .iter()
            .map(|(name, option)| (name.clone(), option["max_length"].as_u64().unwrap_or(0)))
            .collect();
        assert_eq!(
            declared,
            vec![
                ("streak symbol".to_owned(), 32),
                ("high symbol".to_owned(), 32),
                ("context symbol".to_owned(), 32),
                ("history symbol".to_owned(), 32),
                ("risk a".to_owned(), 32),
                ("risk b".to_owned(), 32),
                ("quote symbol".to_owned(), 32),
                ("chart symbol".to_owned(), 32),
                ("rules add symbol".to_owned(), 32),
                ("rules add versus".to_owned(), 32),
                ("rules remove id".to_owned(), 64),
                ("rules preview id".to_owned(), 64),
                ("mute target".to_owned(), 64),
                ("mute duration".to_owned(), 16),
                ("quiet-hours hours".to_owned(), 16),
                ("quiet-hours timezone".to_owned(), 64),
            ]
        );
    }

    #[test]
    fn the_enforced_limit_is_the_declared_one() {
        let commands = all();
        let streak = commands
            .iter()
            .find(|c| c.name == "streak")
            .expect("/streak");
        assert_eq!(declared_max_length(streak, "symbol"), Some(32));
        assert_eq!(declared_max_length(streak, "timeframe"), None);
        assert_eq!(declared_max_length(streak, "nope"), None);
    }
}
