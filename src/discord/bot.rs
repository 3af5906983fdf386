//! Starting the bot: a serenity client with the poise framework, its commands registered
//! globally (or in one development guild), sharded as Discord recommends, stopped on shutdown.
//!
//! REST goes to Discord itself by default, with serenity's own rate limiter. With `[discord]
//! api_base` set to something else (an HTTP proxy, a local Discord in tests) serenity can only
//! reach it with its rate limiter off, so the proxy — or highwater's own limiter, for alert
//! posts — paces the traffic; command replies are few and go to per-interaction routes.

use poise::serenity_prelude as serenity;
use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::commands::{self, on_error};
use super::data::BotData;

/// How to connect.
#[derive(Debug, Clone)]
pub struct BotSettings {
    /// The bot token (never logged).
    pub token: SecretString,
    /// The REST base, e.g. `https://discord.com` or `http://127.0.0.1:8080`.
    pub api_base: Url,
    /// Whether `api_base` is not Discord's own.
    pub proxied: bool,
    /// Register commands in this guild only (development).
    pub dev_guild: Option<u64>,
}

/// Why the bot stopped.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("the Discord client failed: {0}")]
    Client(#[from] serenity::Error),
}

/// Intents: guild events only. highwater reads no message content and no member lists, so it
/// needs no privileged intent.
pub fn intents() -> serenity::GatewayIntents {
    serenity::GatewayIntents::GUILDS
}

/// Runs the bot until `shutdown` is cancelled or the connection fails for good.
pub async fn run_bot(
    data: BotData,
    settings: BotSettings,
    shutdown: CancellationToken,
) -> Result<(), BotError> {
    let dev_guild = settings.dev_guild;
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands::all(),
            on_error: |error| Box::pin(on_error(error)),
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                let commands = &framework.options().commands;
                match dev_guild {
                    Some(guild) => {
                        poise::builtins::register_in_guild(
                            ctx,
                            commands,
                            serenity::GuildId::new(guild),
                        )
                        .await?;
                    }
                    None => poise::builtins::register_globally(ctx, commands).await?,
                }
                tracing::info!(
                    user = %ready.user.name,
                    guilds = ready.guilds.len(),
                    commands = commands.len(),
                    dev_guild,
                    "Discord bot ready; commands registered"
                );
                Ok(data)
            })
        })
        .build();
    let token = settings.token.expose_secret();
    let builder = if settings.proxied {
        let base = settings.api_base.as_str().trim_end_matches('/').to_owned();
        let http = serenity::HttpBuilder::new(token)
            .proxy(base)
            .ratelimiter_disabled(true)
            .build();
        serenity::ClientBuilder::new_with_http(http, intents())
    } else {
        serenity::ClientBuilder::new(token, intents())
    };
    let mut client = builder.framework(framework).await?;
    let shards = client.shard_manager.clone();
    let stopper = tokio::spawn(async move {
        shutdown.cancelled().await;
        tracing::info!("stopping the Discord bot");
        shards.shutdown_all().await;
    });
    let result = client.start_autosharded().await;
    stopper.abort();
    result.map_err(BotError::from)
}
