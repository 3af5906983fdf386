//! The running application: the store, the histories, the notifiers and the clock wired from
//! the configuration, with the two ways to run it — one tick and out (`run --once`), or the
//! scheduler and the deliverer until shutdown (`run`).

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ShardRange, SubscriptionTarget};
use crate::discord::{BotData, BotSettings, ReconnectPolicy, ServerLimits, run_bot_forever};
use crate::market::Calendar;
use crate::notify::limiter::RateLimiter;
use crate::notify::rest::DiscordRest;
use crate::notify::{ConsoleFormat, ConsoleNotifier};
use crate::ops::OpsState;
use crate::pipeline::{
    DeliveryPolicy, DeliveryReport, HistoryCharts, Notifiers, TickLimits, TickReport, deliver_due,
    run_deliverer, tick, tick_symbols,
};
use crate::providers::Histories;
use crate::providers::live;
use crate::scheduler::{self, Clock, Due, Scheduler, SystemClock};
use crate::store::{
    DatabaseLock, Election, FOLLOWER_RETRY, JobClaim, Location, Opened, Role, ServerId,
    ServerSettings, ShardClaim, Store, StoreError, StoredRule, Target,
};
use crate::telemetry::{Health, LastTick, Metrics};
use secrecy::SecretString;

/// Why the application could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Histories(#[from] crate::providers::histories::OpenError),
    #[error("cannot set up the HTTP client for notifiers: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Discord(String),
    #[error(transparent)]
    Token(#[from] crate::config::TokenError),
    #[error("{0}")]
    DataHome(String),
    #[error("config {0}")]
    Setting(String),
}

/// `highwater.db` in the platform's data directory, which is created (private to the user) if
/// it does not exist yet. An explicitly named database's folder must exist already.
fn default_database() -> Result<PathBuf, AppError> {
    let dir = crate::config::data_home().ok_or_else(|| {
        AppError::DataHome(
            "no home directory to keep the database in; name a file with --database or \
             [store] path"
                .to_owned(),
        )
    })?;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&dir).map_err(|e| {
        AppError::DataHome(format!(
            "cannot create the data folder {}: {e}",
            dir.display()
        ))
    })?;
    Ok(dir.join(crate::config::DEFAULT_DATABASE))
}

/// Requests per second to Discord's REST API: just under its global limit of 50, so that
/// network jitter never lands 51 requests in one of Discord's seconds.
const PACED_PER_SECOND: std::num::NonZeroU32 = match std::num::NonZeroU32::new(49) {
    Some(n) => n,
    None => std::num::NonZeroU32::MIN,
};

/// This instance's pace of channel posts: all of [`PACED_PER_SECOND`] when it runs every
/// shard, else its shards' fixed share of it (see [`ShardRange::rest_share`]), so instances
/// that split the shards between them stay under Discord's per-bot limit together.
fn paced_per_second(shards: Option<ShardRange>) -> std::num::NonZeroU32 {
    shards.map_or(PACED_PER_SECOND, |range| range.rest_share(PACED_PER_SECOND))
}

/// Says at start which gateway shards this instance runs and its pace of channel posts.
fn log_shards(shards: Option<ShardRange>) {
    let rest_per_second = paced_per_second(shards).get();
    match shards {
        Some(range) => tracing::info!(
            shards = %range,
            rest_per_second,
            "Discord bot: this instance runs its range of the bot's shards, with its share of \
             the REST limit"
        ),
        None => tracing::info!(
            rest_per_second,
            "Discord bot: this instance runs every shard Discord recommends"
        ),
    }
}

/// How to run, from the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Read histories from this directory of CSV files instead of the live providers.
    pub data: Option<PathBuf>,
    /// The database file (overrides `[store] path`).
    pub database: Option<PathBuf>,
    /// Pretend the clock read this at start-up (it then advances in real time): runs the
    /// pipeline as of a past session, e.g. over `--data`.
    pub now: Option<DateTime<Utc>>,
    /// How the console prints (overrides `[delivery] console_format`).
    pub console_format: Option<ConsoleFormat>,
    /// The Discord bot token; when `None`, `build` reads `DISCORD_TOKEN` or
    /// `[discord] token_file`. No token, no bot.
    pub discord_token: Option<SecretString>,
}

/// How long a claim on a job's run holds without being renewed. The instance running the job
/// renews it every third of this, so only an instance that died (or lost the database for this
/// long) loses it; the next leader then runs the job, at most this long after the death.
const JOB_LEASE: std::time::Duration = std::time::Duration::from_secs(9);

/// A clock that started at a chosen instant and runs at real speed.
#[derive(Debug)]
struct OffsetClock {
    start: DateTime<Utc>,
    began: std::time::Instant,
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::from_std(self.began.elapsed()).unwrap_or_default()
    }
}

/// Everything `highwater run` needs.
pub struct App {
    config: Config,
    store: Arc<dyn Store>,
    histories: Arc<Histories>,
    notifiers: Notifiers,
    clock: Arc<dyn Clock>,
    policy: DeliveryPolicy,
    limits: TickLimits,
    wake: Arc<Notify>,
    bot: Option<BotSettings>,
    /// This process's hold on the database, kept for as long as the app lives: no other
    /// `highwater run` can use the file meanwhile. `None` for PostgreSQL (shared by design),
    /// tests and benchmarks.
    lock: Option<DatabaseLock>,
    /// The database (a file, or a URL without its password), when the app opened it itself
    /// (for the start-up summary).
    database: Option<String>,
    /// This process's metrics (see [`crate::telemetry::metrics`]): owned here, not global.
    metrics: Arc<Metrics>,
    /// Cancelled when `run` is asked to stop: a job waiting to re-check a held close stops
    /// waiting.
    stop: CancellationToken,
    /// Decides whether this instance runs the scheduled jobs (see [`crate::store::Election`]):
    /// always for SQLite, the holder of an advisory lock for PostgreSQL.
    election: Election,
    /// The Discord shards this instance claimed on its database (see
    /// [`crate::store::ShardClaim`]), held for as long as it runs.
    shard_claim: Option<ShardClaim>,
    /// This instance's name in the job-run claims it makes.
    instance: String,
}

impl App {
    /// Opens the configured database ([`crate::store::open`]: a SQLite file after taking its
    /// lock, an error at once if another process holds it; or a PostgreSQL database, which
    /// needs no lock), creating and migrating it, sets up histories and notifiers, stores the
    /// config's subscriptions, and takes note of deliveries a previous process left in flight.
    pub async fn build(config: Config, mut options: RunOptions) -> Result<Self, AppError> {
        if options.discord_token.is_none() {
            options.discord_token = config.discord.token(std::env::var("DISCORD_TOKEN").ok())?;
        }
        let location = match (&config.store.url, options.database.clone()) {
            (Some(_), Some(path)) => {
                return Err(AppError::Setting(format!(
                    "--database {} names a SQLite file, but store.url selects PostgreSQL; use one",
                    path.display()
                )));
            }
            (Some(url), None) => Location::Postgres(url.clone()),
            (None, Some(path)) => Location::Sqlite(path),
            (None, None) => Location::Sqlite(match config.store.path.clone() {
                Some(path) => path,
                None => default_database()?,
            }),
        };
        let Opened { store, lock } = crate::store::open(&location).await?;
        let clock: Arc<dyn Clock> = match options.now {
            Some(start) => Arc::new(OffsetClock {
                start,
                began: std::time::Instant::now(),
            }),
            None => Arc::new(SystemClock),
        };
        let mut app = Self::assemble(config, options, store, lock, clock).await?;
        app.database = Some(location.to_string());
        if let Location::Postgres(url) = &location {
            app.election = Election::postgres(url)?;
            // Other processes may share the database and be sending right now: only attempts
            // whose lease has run out are taken as interrupted.
            let interrupted = app
                .store
                .recover_interrupted(app.clock.now(), false)
                .await?;
            if interrupted > 0 {
                tracing::warn!(
                    interrupted,
                    "deliveries whose lease ran out were in flight; they will be sent again"
                );
            }
        }
        Ok(app)
    }

    /// Like [`build`](Self::build), with the store, its lock and the clock given (tests).
    /// `lock` must be the lock of the database `store` opened (see
    /// [`crate::store::SqliteStore::open_locked`]): holding it is what allows the app to take
    /// deliveries left `sending` as interrupted and send them again.
    pub async fn with_locked_parts(
        config: Config,
        options: RunOptions,
        store: Arc<dyn Store>,
        lock: DatabaseLock,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AppError> {
        Self::assemble(config, options, store, Some(lock), clock).await
    }

    /// Like [`build`](Self::build), with the store and clock given and no lock (tests and
    /// benchmarks on a database of their own). Without the lock the app leaves deliveries
    /// marked `sending` alone: they may be another process's posts in flight.
    pub async fn with_parts(
        config: Config,
        options: RunOptions,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AppError> {
        Self::assemble(config, options, store, None, clock).await
    }

    async fn assemble(
        config: Config,
        options: RunOptions,
        store: Arc<dyn Store>,
        lock: Option<DatabaseLock>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AppError> {
        let metrics = Arc::new(Metrics::new());
        let histories = Arc::new(Histories::open(
            &config,
            options.data.as_deref(),
            Some(metrics.clone()),
        )?);
        let format = options
            .console_format
            .or(config.delivery.console_format)
            .unwrap_or(ConsoleFormat::Text);
        let shards = config
            .discord
            .shard_range()
            .map_err(|invalid| AppError::Setting(invalid.to_string()))?;
        let discord = match &options.discord_token {
            Some(token) => Some(Arc::new(
                DiscordRest::new(
                    config.discord.api_base(),
                    token.clone(),
                    Arc::new(RateLimiter::with_global_per_second(paced_per_second(
                        shards,
                    ))),
                    config.delivery.timeout(),
                )
                .map_err(|e| AppError::Discord(format!("discord.api_base: {e}")))?
                .with_metrics(metrics.clone()),
            )),
            None => None,
        };
        let notifiers = Notifiers {
            console: Some(Arc::new(ConsoleNotifier::stdout(format))),
            http: reqwest::Client::builder()
                .timeout(config.delivery.timeout())
                .user_agent(concat!("highwater/", env!("CARGO_PKG_VERSION")))
                .build()?,
            discord,
            health: Health::new(),
            metrics: metrics.clone(),
            charts: Some(Arc::new(HistoryCharts::new(
                histories.clone(),
                store.clone(),
                clock.clone(),
            ))),
        };
        let defaults = DeliveryPolicy::default();
        let delivery = &config.delivery;
        let policy = DeliveryPolicy {
            max_attempts: delivery.max_attempts.unwrap_or(defaults.max_attempts),
            retry_base: delivery
                .retry_base_secs
                .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
                .unwrap_or(defaults.retry_base),
            retry_max: delivery
                .retry_max_secs
                .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
                .unwrap_or(defaults.retry_max),
            lease: delivery.lease().unwrap_or(defaults.lease),
            ..defaults
        };
        let limit_defaults = TickLimits::default();
        let limits = TickLimits {
            first_run_sessions: config
                .pipeline
                .first_run_sessions
                .map_or(limit_defaults.first_run_sessions, |n| n as usize),
            max_catch_up_sessions: config
                .pipeline
                .max_catch_up_sessions
                .map_or(limit_defaults.max_catch_up_sessions, |n| n as usize),
            stale_sessions: config.sanity.stale_sessions(),
            confirm_within: config.sanity.confirm_within(),
        };
        let bot = options.discord_token.clone().map(|token| BotSettings {
            token,
            api_base: config.discord.api_base(),
            proxied: config.discord.is_proxied(),
            dev_guild: config.discord.dev_guild,
            shards,
        });
        let app = Self {
            config,
            store,
            histories,
            notifiers,
            clock,
            policy,
            limits,
            wake: Arc::new(Notify::new()),
            bot,
            lock,
            database: None,
            metrics,
            stop: CancellationToken::new(),
            election: Election::alone(),
            shard_claim: None,
            instance: crate::store::instance_name(),
        };
        app.notifiers.health.set_bot_configured(app.bot.is_some());
        if app.bot.is_some() {
            app.notifiers
                .health
                .set_shards(shards.map(|r| r.to_string()));
        }
        app.notifiers.health.set_database(app.store.kind());
        app.sync_subscriptions().await?;
        // Only the lock holder: no other process can have a delivery in flight on this
        // database, so whatever is marked `sending` was left by one that stopped.
        if app.lock.is_some() {
            let interrupted = app.store.recover_interrupted(app.clock.now(), true).await?;
            if interrupted > 0 {
                tracing::warn!(
                    interrupted,
                    "deliveries were in flight when the last process stopped; they will be sent again"
                );
            }
        }
        Ok(app)
    }

    /// The store (for tests and status).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The process's bot-wide health (a refused token, the gateway connection), shared with the
    /// deliverer and the bot; read it for a status page or a readiness check.
    pub fn health(&self) -> Arc<Health> {
        self.notifiers.health.clone()
    }

    /// This process's metrics registry.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// What the `/healthz`, `/readyz` and `/metrics` endpoints read (see [`crate::ops::serve`]).
    pub fn ops_state(&self) -> OpsState {
        OpsState {
            health: self.health(),
            metrics: self.metrics.clone(),
            store: self.store.clone(),
            clock: self.clock.clone(),
        }
    }

    /// Stores the config file's `[[subscriptions]]` as servers with their rules, watchlist and
    /// destination; a subscription removed from the file loses its rules (its log stays).
    pub async fn sync_subscriptions(&self) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut current = Vec::new();
        for sub in &self.config.subscriptions {
            let server = ServerId::config(&sub.name);
            current.push(server.clone());
            let mut settings = self
                .store
                .server(&server)
                .await?
                .unwrap_or_else(|| ServerSettings::new(server.clone()));
            settings.display_tz = sub.timezone;
            settings.quiet_hours = sub.quiet_hours;
            self.store.upsert_server(&settings, now).await?;
            let target = match &sub.target {
                SubscriptionTarget::Webhook(url) => Target::Webhook(url.clone()),
                SubscriptionTarget::Console => Target::Console,
            };
            let destination = self.store.destination_for(&server, &target).await?;
            if let Some(d) = self.store.destination(destination).await?
                && let Some((reason, at)) = &d.disabled
            {
                tracing::warn!(subscription = %sub.name, destination = %d.target, %reason, disabled_at = %at, "this subscription's destination is disabled; its alerts are dropped");
            }
            let rules: Vec<StoredRule> = self
                .config
                .rules
                .rules()
                .iter()
                .filter(|r| sub.rules.iter().any(|id| id == r.id()))
                .map(|r| StoredRule {
                    rule: r.to_raw(),
                    destination: Some(destination),
                    mention_role: sub.mention_role,
                })
                .collect();
            let mut watchlist = Vec::new();
            for name in &sub.symbols {
                match live::resolve(name) {
                    Ok(symbol) => watchlist.push(symbol.ticker().to_owned()),
                    Err(error) => {
                        tracing::warn!(subscription = %sub.name, symbol = %name, %error, "ignoring a symbol");
                    }
                }
            }
            self.store
                .replace_rules(&server, &rules, &watchlist, now)
                .await?;
        }
        for settings in self.store.servers().await? {
            let server = settings.server;
            if server.as_str().starts_with("config:") && !current.contains(&server) {
                tracing::info!(%server, "subscription no longer in the config; its rules are removed");
                self.store.replace_rules(&server, &[], &[], now).await?;
            }
        }
        Ok(())
    }

    /// One tick now, for the symbols of `calendar` (all when `None`).
    pub async fn tick(&self, calendar: Option<Calendar>) -> Result<TickReport, StoreError> {
        let report = tick(
            &*self.store,
            &self.histories,
            self.limits,
            calendar,
            self.clock.now(),
        )
        .await?;
        if report.messages > 0 {
            self.wake.notify_one();
        }
        Ok(report)
    }

    /// Checks again, every little while, the symbols whose latest close `report` holds
    /// without a verdict, until each is decided or `confirm_within` has passed since the
    /// first check (or `run` is asked to stop). Each re-check is a tick of those symbols
    /// alone, so a close confirmed here produces its alerts at once, under the dedup keys it
    /// would always have had; what it finds is added to `report`.
    async fn confirm_held(&self, calendar: Option<Calendar>, report: &mut TickReport) {
        let within = self.limits.confirm_within;
        if within.is_zero() {
            return;
        }
        let step = (within / 5).clamp(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(60),
        );
        let began = tokio::time::Instant::now();
        loop {
            let waiting = report.undecided();
            if waiting.is_empty() {
                return;
            }
            let elapsed = began.elapsed();
            if elapsed >= within {
                tracing::warn!(symbols = ?waiting, within_secs = within.as_secs(), "held closes still undecided; the next job checks them again");
                return;
            }
            let wait = step.min(within - elapsed);
            tracing::info!(symbols = ?waiting, wait_secs = wait.as_secs_f64(), "checking held closes again shortly");
            tokio::select! {
                _ = self.stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            match tick_symbols(
                &*self.store,
                &self.histories,
                self.limits,
                calendar,
                Some(&waiting),
                self.clock.now(),
            )
            .await
            {
                Ok(recheck) => {
                    if recheck.messages > 0 {
                        self.wake.notify_one();
                    }
                    report.absorb(recheck);
                }
                Err(error) => {
                    tracing::warn!(%error, "re-checking held closes failed; the next job checks them again");
                    return;
                }
            }
        }
    }

    /// One tick for `job` (its `calendar`'s symbols) and its re-checks of held closes
    /// (`[sanity] confirm_within_secs`), timed together, counted in the metrics and recorded
    /// in the health state: how it ended, which histories are stale, which closes are held. A
    /// tick that needed symbols and could evaluate none of them counts as failed there,
    /// although it returns its report.
    pub async fn run_job(
        &self,
        job: &str,
        calendar: Option<Calendar>,
    ) -> Result<TickReport, StoreError> {
        let started = std::time::Instant::now();
        let mut result = self.tick(calendar).await;
        if let Ok(report) = &mut result {
            self.confirm_held(calendar, report).await;
        }
        // A tick that could evaluate none of its symbols did not do its job either.
        let nothing_evaluated = result.as_ref().ok().and_then(|report| {
            (report.symbols > 0 && report.failed.len() == report.symbols).then(|| {
                format!(
                    "no symbol could be evaluated: no history for {}",
                    report.failed.join(", ")
                )
            })
        });
        self.metrics.record_tick(
            job,
            result.is_ok() && nothing_evaluated.is_none(),
            started.elapsed(),
        );
        let at = self.clock.now();
        match &result {
            Ok(report) => {
                self.metrics
                    .record_alerts(report.events, report.alerts, report.duplicates);
                let health = &self.notifiers.health;
                let checked: Vec<String> = report
                    .loaded
                    .iter()
                    .chain(&report.failed)
                    .cloned()
                    .collect();
                health.set_stale(&checked, report.stale.clone());
                health.set_held(
                    &checked,
                    report
                        .held
                        .iter()
                        .map(|(ticker, held)| (ticker.clone(), held_line(held)))
                        .collect(),
                );
                health.set_last_tick(LastTick {
                    job: job.to_owned(),
                    at,
                    error: nothing_evaluated,
                });
            }
            Err(error) => self.notifiers.health.set_last_tick(LastTick {
                job: job.to_owned(),
                at,
                error: Some(error.to_string()),
            }),
        }
        result
    }

    /// Delivers everything due now, pass after pass, until nothing is left that is due.
    pub async fn deliver_now(&self) -> Result<DeliveryReport, StoreError> {
        let never = CancellationToken::new();
        let mut total = DeliveryReport::default();
        loop {
            let pass = deliver_due(
                &*self.store,
                &self.notifiers,
                &self.policy,
                &*self.clock,
                &never,
            )
            .await?;
            if pass.claimed == 0 {
                return Ok(total);
            }
            total.add(pass);
            if pass.delivered + pass.dropped + pass.failed == 0 {
                // Only retries and holds: they are due later, not now.
                return Ok(total);
            }
        }
    }

    /// `run --once`: one tick over every symbol, then one delivery of what is due.
    pub async fn run_once(&self) -> Result<(TickReport, DeliveryReport), StoreError> {
        let ticked = self.run_job("once", None).await?;
        let delivered = self.deliver_now().await?;
        Ok((ticked, delivered))
    }

    /// Claims the Discord shards the bot is told to run (`[discord] shards`), unless claimed
    /// already: an error, before anything connects to Discord, when another instance on the
    /// database runs any of them. Nothing to claim without a bot, or without a range (an
    /// autosharded bot runs what Discord gives it).
    pub async fn claim_shards(&mut self) -> Result<(), StoreError> {
        if self.shard_claim.is_none()
            && let Some(range) = self.bot.as_ref().and_then(|bot| bot.shards)
        {
            self.shard_claim = Some(self.election.claim_shards(range).await?);
        }
        Ok(())
    }

    /// `run`: the scheduler and the deliverer until `shutdown`; then the tick in progress and
    /// the delivery in flight are finished before this returns.
    pub async fn run_until_stopped(
        mut self,
        shutdown: CancellationToken,
    ) -> Result<(), StoreError> {
        self.stop = shutdown.clone();
        self.claim_shards().await?;
        let http = self.start_http(shutdown.clone()).await;
        let bot = self.bot.clone().map(|settings| {
            let (store, histories, clock) = (
                self.store.clone(),
                self.histories.clone(),
                self.clock.clone(),
            );
            let limits = ServerLimits {
                max_rules: self.config.discord.max_rules(),
                max_symbols: self.config.discord.max_symbols(),
            };
            let metrics = self.metrics.clone();
            let data = move || {
                BotData::new(store.clone(), histories.clone(), clock.clone(), limits)
                    .with_metrics(metrics.clone())
            };
            log_shards(settings.shards);
            tokio::spawn(run_bot_forever(
                data,
                settings,
                ReconnectPolicy::default(),
                self.health(),
                shutdown.clone(),
            ))
        });
        if bot.is_none() {
            tracing::info!("no Discord token: running without the bot");
            if self.store.servers().await?.is_empty() {
                tracing::warn!(
                    "no [[subscriptions]] in the config and no Discord token: nothing will be posted"
                );
            }
        }
        let deliverer = tokio::spawn(run_deliverer(
            self.store.clone(),
            self.notifiers.clone(),
            self.policy,
            self.clock.clone(),
            self.wake.clone(),
            shutdown.clone(),
        ));
        let sweeper = self.election.is_shared().then(|| {
            tokio::spawn(sweep_expired_leases(
                self.store.clone(),
                self.clock.clone(),
                self.policy.lease,
                self.wake.clone(),
                shutdown.clone(),
            ))
        });
        let started = self.clock.now();
        let last_runs = self.store.job_runs().await?;
        self.log_summary(&Scheduler::new(
            self.config.jobs.clone(),
            last_runs,
            started,
        ))
        .await?;
        let mut election = std::mem::replace(&mut self.election, Election::alone());
        self.schedule_while_leading(&mut election, started, &shutdown)
            .await;
        election.resign().await;
        if let Some(sweeper) = sweeper
            && let Err(error) = sweeper.await
        {
            tracing::error!(%error, "the lease sweeper stopped abnormally");
        }
        if let Err(error) = deliverer.await {
            tracing::error!(%error, "the deliverer stopped abnormally");
        }
        if let Some(bot) = bot
            && let Err(error) = bot.await
        {
            tracing::error!(%error, "the Discord bot task failed");
        }
        if let Some(http) = http
            && let Err(error) = http.await
        {
            tracing::error!(%error, "the HTTP endpoint task failed");
        }
        Ok(())
    }

    /// Records this instance's role in the health state and the metrics.
    fn set_role(&self, role: Role) {
        let leader = role == Role::Leader;
        self.notifiers.health.set_leader(leader);
        self.metrics.set_leader(leader);
    }

    /// The scheduler, run for as long as `election` makes this instance the leader, until
    /// `shutdown`. A follower asks again every [`FOLLOWER_RETRY`]; a leader checks as often
    /// that it still leads, and stops scheduling (after the job in progress) when it does not.
    /// Each time it starts to lead, it reads the jobs' last runs from the database, so a fire
    /// time the previous leader missed or died in the middle of is run now, once. `started`
    /// is when `run` started: a job that has never run waits for its first fire time after
    /// that.
    async fn schedule_while_leading(
        &self,
        election: &mut Election,
        started: DateTime<Utc>,
        shutdown: &CancellationToken,
    ) {
        let calendars: std::collections::HashMap<String, Option<Calendar>> = self
            .config
            .jobs
            .iter()
            .map(|j| (j.name.clone(), j.calendar))
            .collect();
        let mut announced_follower = false;
        while !shutdown.is_cancelled() {
            if election.poll().await == Role::Follower {
                self.set_role(Role::Follower);
                if !announced_follower {
                    tracing::info!(
                        retry_secs = FOLLOWER_RETRY.as_secs(),
                        "another instance runs the jobs: following, asking again shortly"
                    );
                    announced_follower = true;
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(FOLLOWER_RETRY) => continue,
                }
            }
            let last_runs = match self.last_runs_to_lead_from().await {
                Ok(runs) => runs,
                Err(error) => {
                    tracing::error!(%error, "cannot read the jobs' last runs; trying again shortly");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(FOLLOWER_RETRY) => continue,
                    }
                }
            };
            self.set_role(Role::Leader);
            announced_follower = false;
            tracing::info!(instance = %self.instance, "leading: this instance runs the jobs");
            let term = shutdown.child_token();
            let scheduler = Scheduler::new(self.config.jobs.clone(), last_runs, started);
            let run = scheduler::run(scheduler, &*self.clock, term.clone(), |due: Due| {
                let calendar = calendars.get(&due.job).copied().flatten();
                let term = term.clone();
                async move { self.run_claimed(&due, calendar, &term).await }
            });
            let watch = async {
                loop {
                    tokio::select! {
                        () = term.cancelled() => return,
                        () = tokio::time::sleep(FOLLOWER_RETRY) => {}
                    }
                    if election.poll().await == Role::Follower {
                        tracing::warn!(
                            "no longer the leader: stopping the scheduler after the job in progress"
                        );
                        term.cancel();
                        return;
                    }
                }
            };
            tokio::join!(run, watch);
            self.set_role(Role::Follower);
        }
    }

    /// The last run of each job as a new leader must see it: the finished runs, and before
    /// a fire time that is claimed but not finished (its instance may have died in it) — so
    /// that fire time is due, even for a job that never finished a run.
    async fn last_runs_to_lead_from(
        &self,
    ) -> Result<std::collections::HashMap<String, DateTime<Utc>>, StoreError> {
        let mut runs = self.store.job_runs().await?;
        for (job, claimed) in self.store.job_claims().await? {
            let before = claimed - chrono::Duration::milliseconds(1);
            let last = runs.entry(job).or_insert(before);
            if *last >= claimed {
                continue;
            }
            *last = (*last).max(before);
        }
        Ok(runs)
    }

    /// Runs `due` if this instance can claim it in the database: once per fire time across
    /// every instance. A run another instance holds is waited for (its lease renews while it
    /// runs, and runs out when that instance died, and then it is this one's); one already run
    /// is skipped. The claim is renewed while the job runs, and the run is recorded at the end.
    /// Gives up waiting when `term` is cancelled (shutdown, or no longer the leader).
    async fn run_claimed(&self, due: &Due, calendar: Option<Calendar>, term: &CancellationToken) {
        let lease = chrono::Duration::from_std(JOB_LEASE).unwrap_or(chrono::Duration::MAX / 2);
        let claim = || {
            let now = self.clock.now();
            self.store
                .claim_job_run(&due.job, due.scheduled, &self.instance, now, now + lease)
        };
        loop {
            let wait = match claim().await {
                Ok(JobClaim::Claimed) => break,
                Ok(JobClaim::Done) => {
                    tracing::info!(job = %due.job, scheduled = %due.scheduled, "already run by another instance");
                    return;
                }
                Ok(JobClaim::Held { instance, until }) => {
                    tracing::info!(job = %due.job, scheduled = %due.scheduled, %instance, lease_until = %until, "another instance runs this job; waiting for it to finish or for its claim to run out");
                    (until - self.clock.now())
                        .to_std()
                        .unwrap_or_default()
                        .clamp(std::time::Duration::from_millis(200), JOB_LEASE)
                }
                Err(error) => {
                    tracing::error!(job = %due.job, %error, "cannot claim the job's run; trying again shortly");
                    FOLLOWER_RETRY
                }
            };
            tokio::select! {
                () = term.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
        let renew = async {
            loop {
                tokio::time::sleep(JOB_LEASE / 3).await;
                match claim().await {
                    Ok(JobClaim::Claimed) => {}
                    Ok(other) => {
                        tracing::warn!(job = %due.job, claim = ?other, "lost the claim on the job's run; finishing it anyway (its alerts are deduplicated)");
                    }
                    Err(error) => {
                        tracing::warn!(job = %due.job, %error, "cannot renew the claim on the job's run");
                    }
                }
            }
        };
        let result = tokio::select! {
            biased;
            result = self.run_job(&due.job, calendar) => result,
            never = renew => never,
        };
        if let Err(error) = result {
            tracing::error!(job = %due.job, %error, "tick failed");
        }
        if let Err(error) = self
            .store
            .record_job_run(&due.job, due.scheduled, self.clock.now())
            .await
        {
            tracing::error!(job = %due.job, %error, "could not record the job run");
        }
    }

    /// Binds `[http] listen` and serves `/healthz`, `/readyz` and `/metrics` until
    /// `shutdown`. An address that cannot be bound is logged as an error and the service goes
    /// on without the endpoints: alerts matter more than their observation.
    async fn start_http(&self, shutdown: CancellationToken) -> Option<tokio::task::JoinHandle<()>> {
        let address = match self.config.http.listen() {
            Ok(Some(address)) => address,
            Ok(None) => {
                tracing::info!("http.listen = \"off\": no health or metrics endpoint");
                return None;
            }
            Err(problem) => {
                // Validated when the config was loaded; kept as a log line, never a panic.
                tracing::error!(%problem, "no health or metrics endpoint");
                return None;
            }
        };
        let listener = match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(%address, %error, "cannot serve /healthz, /readyz and /metrics: the address cannot be bound; running without them");
                return None;
            }
        };
        let bound = listener.local_addr().map_or(address, |a| a);
        tracing::info!(address = %bound, "serving /healthz, /readyz and /metrics");
        let state = self.ops_state();
        Some(tokio::spawn(async move {
            if let Err(error) = crate::ops::serve(listener, state, shutdown).await {
                tracing::error!(%error, "the HTTP endpoint stopped");
            }
        }))
    }

    /// The start-up summary at info: the database, what is watched, and when each job fires
    /// next (UTC, and the job's own zone).
    async fn log_summary(&self, scheduler: &Scheduler) -> Result<(), StoreError> {
        let servers = self.store.servers().await?;
        let mut rules = 0;
        let mut symbols = std::collections::BTreeSet::new();
        for settings in &servers {
            let stored = self.store.rules(&settings.server).await?;
            rules += stored.len();
            symbols.extend(stored.into_iter().flat_map(|r| r.rule.symbols));
            symbols.extend(self.store.watchlist(&settings.server).await?);
        }
        let database = self
            .database
            .clone()
            .unwrap_or_else(|| "(given)".to_owned());
        tracing::info!(
            %database,
            servers = servers.len(),
            rules,
            symbols = %symbols.into_iter().collect::<Vec<_>>().join(","),
            bot = self.bot.is_some(),
            "highwater starts"
        );
        let now = self.clock.now();
        for job in scheduler.jobs() {
            let next = job.next_after(now).map_or("never".to_owned(), |t| {
                t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
            });
            tracing::info!(
                job = %job.name,
                cron = %job.schedule.expression(),
                timezone = %job.schedule.timezone(),
                next_fire = %next,
                "job scheduled"
            );
        }
        Ok(())
    }
}

/// Every half lease, takes the outbox messages whose lease ran out — claimed by an instance
/// that died mid-send — back as pending and interrupted, and wakes the deliverer for them, so
/// another instance's claims are redelivered while this one runs (not only when one starts).
/// Only for a shared database: alone, `build` recovered everything at start-up and no other
/// process claims.
async fn sweep_expired_leases(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    lease: std::time::Duration,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let every = (lease / 2).max(std::time::Duration::from_millis(500));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        match store.recover_interrupted(clock.now(), false).await {
            Ok(0) => {}
            Ok(taken) => {
                tracing::warn!(
                    taken,
                    "deliveries whose lease ran out (their instance stopped) will be sent again"
                );
                wake.notify_one();
            }
            Err(error) => tracing::warn!(%error, "cannot look for expired deliveries"),
        }
    }
}

/// A held close as `/readyz` and the logs state it: its session, close, move and verdict.
fn held_line(held: &crate::providers::market_data::Held) -> String {
    format!(
        "close {} of {} ({:+.1}%) held, {}: {}",
        held.bar.close(),
        held.bar.date(),
        held.jump_pct,
        if held.rejected {
            "rejected as a bad tick"
        } else {
            "waiting for evidence"
        },
        held.reason
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ShardsSetting;

    fn shards(range: &str, total: u32) -> Option<ShardRange> {
        ShardRange::from_settings(Some(&ShardsSetting::Text(range.to_owned())), Some(total))
            .unwrap_or_else(|e| panic!("{range} of {total}: {e}"))
    }

    #[test]
    fn an_instance_running_some_of_the_shards_posts_at_its_share_of_the_pace() {
        assert_eq!(
            paced_per_second(None).get(),
            49,
            "every shard: the whole budget"
        );
        assert_eq!(paced_per_second(shards("0-7", 8)).get(), 49);
        assert_eq!(paced_per_second(shards("1", 2)).get(), 24);
        assert_eq!(paced_per_second(shards("0-5", 8)).get(), 36);
        assert_eq!(paced_per_second(shards("7", 64)).get(), 1, "never below 1");
    }
}
