//! Starting the bot: a serenity client with the poise framework, its commands registered
//! globally (or in one development guild), sharded as Discord recommends or running the range
//! of shards `[discord] shards` gives this instance, stopped on shutdown — and started again
//! whenever it stops on its own.
//!
//! REST goes to Discord itself by default, with serenity's own rate limiter. With `[discord]
//! api_base` set to something else (an HTTP proxy, a local Discord in tests) serenity can only
//! reach it with its rate limiter off, so the proxy — or highwater's own limiter, for alert
//! posts — paces the traffic; command replies are few and go to per-interaction routes.
//!
//! **Staying connected** ([`run_bot_forever`]). serenity itself re-queues a shard whose
//! connection drops once it is running, but a client that cannot start (Discord unreachable at
//! boot, the command registration refused) returns, and would stay down. So each run gets a
//! fresh client, and a run that ends for any reason but shutdown is followed by another after
//! a capped exponential backoff with jitter ([`ReconnectPolicy`]: 1 s doubling to 5 min),
//! forever, while the scheduler and the webhooks go on.
//!
//! **A refused token stops the bot, not the process.** A 401 from Discord's REST API or close
//! code 4004 on the gateway means the token is invalid or revoked. The token is read once at
//! start-up, so trying it again cannot succeed, and Discord counts every refused request
//! towards a per-IP limit (10,000 invalid requests in 10 minutes earn a temporary ban that
//! would also block the webhooks). So the bot stops trying, logs one clear error (never the
//! token), and records the fault in the shared [`Health`]; channel alerts wait in the outbox
//! until a restart with a valid token.

use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::commands::{self, on_error};
use super::data::BotData;
use crate::config::ShardRange;
use crate::shared::GuildId;
use crate::telemetry::Health;

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
    pub dev_guild: Option<GuildId>,
    /// The gateway shards to run (`[discord] shards`); `None`: every shard Discord
    /// recommends for the bot.
    pub shards: Option<ShardRange>,
}

/// Why the bot stopped.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("the Discord client failed: {0}")]
    Client(#[from] serenity::Error),
}

impl BotError {
    /// Why trying again with the same token and settings cannot help — Discord refused the
    /// token (REST 401, gateway 4004) or the intents — or `None` for a failure worth another
    /// try (Discord unreachable, a 5xx, a dropped connection).
    pub fn fatal_reason(&self) -> Option<String> {
        let BotError::Client(error) = self;
        match error {
            serenity::Error::Gateway(serenity::GatewayError::InvalidAuthentication) => {
                Some("the Discord gateway refused the bot token (close code 4004)".to_owned())
            }
            serenity::Error::Gateway(
                serenity::GatewayError::InvalidGatewayIntents
                | serenity::GatewayError::DisallowedGatewayIntents,
            ) => Some(format!(
                "the Discord gateway refused the bot's intents: {error}"
            )),
            // The URL is left out: an interaction's route carries that interaction's token.
            serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response))
                if response.status_code.as_u16() == 401 =>
            {
                Some(format!(
                    "Discord refused the bot token (401: {})",
                    crate::market::shown(&response.error.message)
                ))
            }
            _ => None,
        }
    }
}

/// How long to wait before starting the bot again: `first` after the first failure, doubling
/// up to `max`, each wait drawn between half and all of that (jitter, so that many instances
/// cut off together do not come back in step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    pub first: Duration,
    pub max: Duration,
}

impl Default for ReconnectPolicy {
    /// 1 s doubling to 5 min.
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl ReconnectPolicy {
    /// The wait after `failures` failures in a row (1 for the first), with `jitter` in
    /// `0.0..=1.0` picking where in the upper half of the capped delay it falls.
    pub fn delay(&self, failures: u32, jitter: f64) -> Duration {
        let doubled = self
            .first
            .saturating_mul(1u32 << failures.saturating_sub(1).min(20));
        let capped = doubled.min(self.max);
        capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// How long a run must have been connected for the next failure to count as the first again.
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// Runs the bot until `shutdown` is cancelled: each time it stops on its own (it could not
/// connect, the connection failed for good) it is started again after a
/// [`ReconnectPolicy`] wait — unless Discord refused the token, when it stops for good, logs
/// it once and records it in `health` (see the module docs). `data` makes each run's command
/// state. Never returns an error: the rest of the process goes on either way.
pub async fn run_bot_forever(
    data: impl Fn() -> BotData,
    settings: BotSettings,
    policy: ReconnectPolicy,
    health: Arc<Health>,
    shutdown: CancellationToken,
) {
    let mut failures = 0u32;
    loop {
        let began = std::time::Instant::now();
        let result = run_bot(data(), settings.clone(), health.clone(), shutdown.clone()).await;
        health.set_gateway_connected(false);
        if shutdown.is_cancelled() {
            if let Err(error) = result {
                tracing::debug!(%error, "the Discord bot ended while stopping");
            }
            return;
        }
        if let Err(error) = &result
            && let Some(reason) = error.fatal_reason()
        {
            if health.set_discord_auth_failed(&reason) {
                tracing::error!(
                    %reason,
                    "the Discord bot stops: give highwater a valid token and restart it; \
                     alerts to channels wait in the outbox, webhooks and the scheduler go on"
                );
            }
            return;
        }
        if began.elapsed() >= STABLE_AFTER {
            failures = 0;
        }
        failures = failures.saturating_add(1);
        let wait = policy.delay(failures, fastrand::f64());
        match &result {
            Err(error) => tracing::warn!(
                %error,
                failures,
                retry_in_s = wait.as_secs_f64(),
                "the Discord bot could not run; starting it again"
            ),
            Ok(()) => tracing::warn!(
                failures,
                retry_in_s = wait.as_secs_f64(),
                "the Discord bot stopped on its own; starting it again"
            ),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Keeps [`Health::gateway_connected`] up to date from the gateway's own events: connected
/// while every shard this process runs is.
struct GatewayWatch {
    health: Arc<Health>,
    shards: std::sync::Mutex<ShardStates>,
}

impl GatewayWatch {
    fn new(health: Arc<Health>) -> Self {
        Self {
            health,
            shards: std::sync::Mutex::new(ShardStates::default()),
        }
    }

    fn note(&self, shard: serenity::ShardId, connected: bool) {
        let all = self
            .shards
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .note(shard.0, connected);
        self.health.set_gateway_connected(all);
    }
}

/// The connection state of each shard heard from.
#[derive(Debug, Default)]
struct ShardStates(std::collections::BTreeMap<u32, bool>);

impl ShardStates {
    /// Records `shard`'s state; returns whether every shard heard from is connected.
    fn note(&mut self, shard: u32, connected: bool) -> bool {
        self.0.insert(shard, connected);
        self.0.values().all(|up| *up)
    }
}

#[serenity::async_trait]
impl serenity::EventHandler for GatewayWatch {
    async fn ready(&self, ctx: serenity::Context, _ready: serenity::Ready) {
        self.note(ctx.shard_id, true);
    }

    async fn resume(&self, ctx: serenity::Context, _event: serenity::ResumedEvent) {
        self.note(ctx.shard_id, true);
    }

    async fn shard_stage_update(
        &self,
        _ctx: serenity::Context,
        event: serenity::ShardStageUpdateEvent,
    ) {
        let connected = matches!(event.new, serenity::ConnectionStage::Connected);
        tracing::debug!(shard = event.shard_id.0, old = ?event.old, new = ?event.new, "gateway stage");
        self.note(event.shard_id, connected);
    }
}

/// When a command began, kept with its invocation for [`answered`].
struct CommandStarted(std::time::Instant);

/// Notes when a command begins.
async fn started(ctx: commands::Context<'_>) {
    ctx.set_invocation_data(CommandStarted(std::time::Instant::now()))
        .await;
}

/// Records how long a command took, from dispatch to the end of its reply.
async fn answered(ctx: commands::Context<'_>) {
    let Some(metrics) = ctx.data().metrics() else {
        return;
    };
    let took = ctx
        .invocation_data::<CommandStarted>()
        .await
        .map(|started| started.0.elapsed());
    if let Some(took) = took {
        metrics.record_interaction(&ctx.command().qualified_name, took);
    }
}

/// Intents: guild events only. highwater reads no message content and no member lists, so it
/// needs no privileged intent.
pub fn intents() -> serenity::GatewayIntents {
    serenity::GatewayIntents::GUILDS
}

/// Runs one client until `shutdown` is cancelled or the client stops (it could not start, the
/// connection failed for good, the setup failed). See [`run_bot_forever`] for staying up.
pub async fn run_bot(
    data: BotData,
    settings: BotSettings,
    health: Arc<Health>,
    shutdown: CancellationToken,
) -> Result<(), BotError> {
    let dev_guild = settings.dev_guild;
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands::all(),
            on_error: |error| Box::pin(on_error(error)),
            command_check: Some(|ctx| Box::pin(commands::options_within_limits(ctx))),
            pre_command: |ctx| Box::pin(started(ctx)),
            post_command: |ctx| Box::pin(answered(ctx)),
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
                            serenity::GuildId::new(guild.get()),
                        )
                        .await?;
                    }
                    None => poise::builtins::register_globally(ctx, commands).await?,
                }
                tracing::info!(
                    user = %ready.user.name,
                    guilds = ready.guilds.len(),
                    commands = commands.len(),
                    dev_guild = dev_guild.map(GuildId::get),
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
    let mut client = builder
        .framework(framework)
        .event_handler(GatewayWatch::new(health))
        .await?;
    let shards = client.shard_manager.clone();
    let stopper = tokio::spawn(async move {
        shutdown.cancelled().await;
        tracing::info!("stopping the Discord bot");
        shards.shutdown_all().await;
    });
    let result = start(&mut client, settings.shards).await;
    stopper.abort();
    result.map_err(BotError::from)
}

/// Connects the client's shards and runs them until they stop: `shards`, or every shard
/// Discord recommends (`GET /gateway/bot`) when `None`.
async fn start(
    client: &mut serenity::Client,
    shards: Option<ShardRange>,
) -> Result<(), serenity::Error> {
    match shards {
        // serenity 0.12 reads this range's end as inclusive: `4..7` boots shards 4, 5, 6 and 7.
        Some(range) => {
            client
                .start_shard_range(range.first()..range.last(), range.total())
                .await
        }
        None => client.start_autosharded().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_counts_as_connected_only_while_every_shard_is() {
        let mut shards = ShardStates::default();
        assert!(shards.note(0, true));
        assert!(!shards.note(1, false), "shard 1 is down");
        assert!(
            !shards.note(0, true),
            "still down: shard 0 coming up says nothing of 1"
        );
        assert!(shards.note(1, true));
        assert!(!shards.note(0, false));
    }

    #[test]
    fn reconnect_waits_double_from_one_second_to_five_minutes() {
        let policy = ReconnectPolicy::default();
        let most = |failures| policy.delay(failures, 1.0);
        assert_eq!(most(1), Duration::from_secs(1));
        assert_eq!(most(2), Duration::from_secs(2));
        assert_eq!(most(9), Duration::from_secs(256));
        assert_eq!(most(10), Duration::from_secs(300));
        assert_eq!(most(u32::MAX), Duration::from_secs(300));
        // Jitter: between half and all of the capped delay.
        assert_eq!(policy.delay(3, 0.0), Duration::from_secs(2));
        assert_eq!(policy.delay(3, 0.5), Duration::from_secs(3));
        assert_eq!(policy.delay(3, 7.0), Duration::from_secs(4));
    }

    #[test]
    fn only_a_refused_token_or_intents_stop_the_bot_for_good() {
        let refused = BotError::Client(serenity::Error::Gateway(
            serenity::GatewayError::InvalidAuthentication,
        ));
        assert_eq!(
            refused.fatal_reason().as_deref(),
            Some("the Discord gateway refused the bot token (close code 4004)")
        );
        let dropped = BotError::Client(serenity::Error::Gateway(serenity::GatewayError::Closed(
            None,
        )));
        assert_eq!(dropped.fatal_reason(), None);
        let boot = BotError::Client(serenity::Error::Client(
            serenity::ClientError::ShardBootFailure,
        ));
        assert_eq!(boot.fatal_reason(), None);
    }
}
