//! The command line: argument definitions (clap) and the thin glue from a command to the
//! services and renderers. Errors get context for the user here, with `anyhow`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::alerts;
use crate::app::{App, AppError, RunOptions};
use crate::chart::ChartRange;
use crate::config::{Config, ShardsSetting};
use crate::market::{IsoDate, Series, Symbol, Timeframe};
use crate::notify::ConsoleFormat;
use crate::providers::csv::{ReusedBars, read_series};
use crate::providers::{self, Source, live};
use crate::rules::Event;
use crate::service::{self, ReplayRange};
use crate::store::{LockError, StoreError};

mod ordered;

/// highwater — tells a Discord server the moment something historic happens in a market.
#[derive(Debug, Parser)]
#[command(name = "highwater", version, about, long_about = None)]
pub struct Cli {
    /// Config file (default: $HIGHWATER_CONFIG, then ./config/highwater.toml, then built-in).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Log more (-v info, -vv debug). Logs go to stderr; RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what highwater would have posted over a stretch of history.
    Replay(ReplayArgs),
    /// The current winning or losing streak of a symbol.
    Streak(StreakArgs),
    /// A symbol's record close, how far it is from it, and its 52-week range.
    High(HighArgs),
    /// How rare the current streak and the latest record's drought are, and what followed
    /// the earlier cases (forward returns over 5, 21 and 63 sessions).
    Context(ContextArgs),
    /// The record book: the longest weekly and daily runs up and down, and the longest
    /// droughts between record closes.
    History(HistoryArgs),
    /// Two assets side by side — by default the Russell 2000 and Bitcoin: their streaks and
    /// distance from record, and the 30- and 90-day correlation of their daily returns.
    Risk(RiskArgs),
    /// Draw a symbol's daily closes as a PNG: the record line, the current daily run shaded
    /// and the latest close labelled.
    Chart(ChartArgs),
    /// Fetch daily bars from the live providers and print them, normalised.
    Fetch(FetchArgs),
    /// Run the scheduler and deliver alerts until stopped (SIGTERM or Ctrl-C), or do one
    /// tick with --once.
    Run(RunArgs),
    /// Print the effective configuration: the built-in defaults merged with the config file
    /// and the HIGHWATER__ environment overrides, secrets redacted.
    Config,
    /// Show a database's state: servers, destinations, rules, the outbox, the last run of each
    /// job and the lock holder. Reads only (safe beside a running `highwater run`).
    Status(StatusArgs),
    /// List the latest messages of a database's outbox: state, attempts, Discord's message id
    /// and what happened. Reads only (safe beside a running `highwater run`).
    Outbox(OutboxArgs),
}

#[derive(Debug, Args)]
pub struct OutboxArgs {
    /// The SQLite database file (default: the config's store.url, a PostgreSQL database, else
    /// its store.path, else highwater.db in the platform's data folder).
    #[arg(long, value_name = "PATH")]
    pub database: Option<PathBuf>,
    /// How many of the latest messages to list.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: u32,
    /// One JSON object per message instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The SQLite database file (default: the config's store.url, a PostgreSQL database, else
    /// its store.path, else highwater.db in the platform's data folder).
    #[arg(long, value_name = "PATH")]
    pub database: Option<PathBuf>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

impl Command {
    /// Whether this command runs as a service (its logs matter without -v) rather than
    /// answering once (where stderr is kept for the one error line).
    pub fn is_service(&self) -> bool {
        matches!(self, Command::Run(_))
    }

    /// The log filter without `-v` or `RUST_LOG`. A one-shot command keeps stderr for its one
    /// error line; `run --once` prints its own one-line summary and logs warnings (a stale
    /// history, a symbol without data, a failed delivery); `run` as a service logs its own
    /// info too (the start-up summary, each tick, each delivery) and others' warnings.
    pub fn default_log_level(&self) -> &'static str {
        match self {
            Command::Run(args) if args.once => "warn",
            Command::Run(_) => "warn,highwater=info",
            _ => "off",
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Do one tick over every symbol, deliver what is due now, and exit.
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub data: DataArgs,
    /// The SQLite database file (default: the config's store.path, else highwater.db in the
    /// platform's data folder, ~/.local/share/highwater on Linux). Not with store.url, which
    /// selects PostgreSQL.
    #[arg(long, value_name = "PATH")]
    pub database: Option<PathBuf>,
    /// Run as if the clock read this UTC instant at start-up (RFC 3339, e.g.
    /// 2025-09-19T21:00:00Z); it then advances in real time.
    #[arg(long, value_name = "INSTANT", value_parser = parse_instant)]
    pub now: Option<DateTime<Utc>>,
    /// How console subscriptions print alerts: text or json (default: the config's
    /// delivery.console_format, else text).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<ConsoleFormat>,
    /// The bot's gateway shards this instance runs, "A-B" or "N" (default: the config's
    /// discord.shards; needs a total). Another instance runs the rest.
    #[arg(long, value_name = "RANGE")]
    pub shards: Option<String>,
    /// How many gateway shards the bot has in all, across its instances (default: the
    /// config's discord.total_shards).
    #[arg(long, value_name = "N")]
    pub total_shards: Option<u32>,
}

impl RunArgs {
    /// `--shards` and `--total-shards` laid over `[discord]`, checked as the keys are.
    fn lay_shards_over(&self, config: &mut Config) -> anyhow::Result<()> {
        if self.shards.is_none() && self.total_shards.is_none() {
            return Ok(());
        }
        if let Some(shards) = &self.shards {
            config.discord.shards = Some(ShardsSetting::Text(shards.clone()));
        }
        if let Some(total) = self.total_shards {
            config.discord.total_shards = Some(total);
        }
        config
            .discord
            .shard_range()
            .context("--shards and --total-shards (over the config's [discord])")?;
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct DataArgs {
    /// Directory of daily histories, one `SYMBOL.csv` per symbol (Date and Close columns).
    /// Without it, histories come from the live providers (the config's providers section).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Symbol or alias.
    pub symbol: String,
    /// First session to fetch (YYYY-MM-DD; default: 30 days ago).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub from: Option<NaiveDate>,
    /// One JSON object per bar instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// First session to report (YYYY-MM-DD); all earlier history is context.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub from: NaiveDate,
    /// Last session to report (YYYY-MM-DD, inclusive; default: the latest bar).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub to: Option<NaiveDate>,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Symbols or aliases (RUT, ^GSPC, SPX, BTC). Default: every file in the data directory
    /// (with live providers, name the symbols).
    pub symbols: Vec<String>,
}

/// What `streak` and `high` share: the symbol, the instant and date to answer as of, where the
/// history comes from, and the output form.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Symbol or alias.
    pub symbol: String,
    #[command(flatten)]
    pub answer: AnswerArgs,
}

/// When an answer is for, where its histories come from, and its form.
#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// Answer as of this date (YYYY-MM-DD; default: the latest bar).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// Answer as if it were this UTC instant (RFC 3339, e.g. 2025-09-19T15:00:00Z; default:
    /// now): the history is cut at the latest session closed then, as the bot cuts it.
    #[arg(long, value_name = "INSTANT", value_parser = parse_instant)]
    pub now: Option<DateTime<Utc>>,
    #[command(flatten)]
    pub data: DataArgs,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StreakArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// The periods the streak counts: daily, weekly or monthly.
    #[arg(long, default_value = "weekly", value_parser = parse_timeframe)]
    pub timeframe: Timeframe,
}

#[derive(Debug, Args)]
pub struct ContextArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// The periods streaks count: daily, weekly or monthly.
    #[arg(long, default_value = "weekly", value_parser = parse_timeframe)]
    pub timeframe: Timeframe,
}

#[derive(Debug, Args)]
pub struct RiskArgs {
    /// The first asset (default: RUT).
    pub a: Option<String>,
    /// The second asset (default: BTC).
    pub b: Option<String>,
    #[command(flatten)]
    pub answer: AnswerArgs,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub query: QueryArgs,
}

#[derive(Debug, Args)]
pub struct ChartArgs {
    /// Symbol or alias.
    pub symbol: String,
    /// How much history to show: 1m, 3m, 6m, 1y, 5y or max.
    #[arg(long, default_value = "1y", value_parser = parse_range)]
    pub range: ChartRange,
    /// Draw as of this date (YYYY-MM-DD; default: the latest bar).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// Draw as if it were this UTC instant (RFC 3339; default: now): the history is cut at
    /// the latest session closed then, as the bot cuts it.
    #[arg(long, value_name = "INSTANT", value_parser = parse_instant)]
    pub now: Option<DateTime<Utc>>,
    #[command(flatten)]
    pub data: DataArgs,
    /// The PNG file to write (replaced whole: written beside it, then renamed).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct HighArgs {
    #[command(flatten)]
    pub query: QueryArgs,
}

/// A date exactly as the CSV reader takes it: `YYYY-MM-DD`, two-digit month and day.
fn parse_date(text: &str) -> Result<NaiveDate, String> {
    crate::market::parse_session_date(text.as_bytes()).ok_or_else(|| {
        format!(
            "'{}' is not a date; expected YYYY-MM-DD, e.g. 2025-09-18",
            crate::market::shown(text)
        )
    })
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!("'{text}' is not an instant; expected RFC 3339, e.g. 2025-09-19T21:00:00Z")
        })
}

fn parse_timeframe(text: &str) -> Result<Timeframe, String> {
    text.parse()
}

fn parse_range(text: &str) -> Result<ChartRange, String> {
    text.parse()
        .map_err(|e: crate::chart::UnknownRange| e.to_string())
}

/// Runs a parsed command, writing its output to `out`. Configuration warnings are logged for
/// `run` and written to `err` as `warning:` lines after a one-shot command succeeds (so a
/// failing command still prints exactly one line).
pub fn run(cli: Cli, out: &mut impl Write, err: &mut impl Write) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref()).context("cannot load the configuration")?;
    tracing::info!(origin = %config.origin, rules = config.rules.rules().len(), "configuration loaded");
    if cli.command.is_service() {
        for warning in &config.warnings {
            tracing::warn!("{warning}");
        }
    }
    let warnings = config.warnings.clone();
    let answered = match cli.command {
        Command::Run(args) => return run_pipeline(config, args),
        Command::Replay(args) => replay(&config, args, out),
        Command::Streak(args) => streak(&config, args, out),
        Command::High(args) => high(&config, args, out),
        Command::Context(args) => context(&config, args, out),
        Command::History(args) => history(&config, args, out),
        Command::Risk(args) => risk(&config, args, out),
        Command::Chart(args) => chart(&config, args, out),
        Command::Fetch(args) => fetch(&config, args, out),
        Command::Config => write!(out, "{}", config.effective_toml()).map_err(Into::into),
        Command::Status(args) => status(&config, args, out),
        Command::Outbox(args) => outbox(&config, args, out),
    };
    // A reader that stopped reading (`highwater replay ... | head -1`) is not a failure: it
    // has had all it wanted. The command ends quietly and successfully.
    match answered {
        Err(error) if is_broken_pipe(&error) => return Ok(()),
        other => other?,
    }
    for warning in warnings {
        writeln!(err, "warning: {warning}")?;
    }
    Ok(())
}

/// `highwater run`: the pipeline, once or until a signal.
fn run_pipeline(mut config: Config, args: RunArgs) -> anyhow::Result<()> {
    args.lay_shards_over(&mut config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let options = RunOptions {
            data: args.data.data,
            database: args.database,
            now: args.now,
            console_format: args.format,
            discord_token: None,
        };
        let mut app = match App::build(config, options).await {
            Ok(app) => app,
            // Said as it is, with no "cannot start" in front: the one line an operator who
            // started a second `run` by mistake needs.
            Err(AppError::Store(StoreError::Locked(held @ LockError::Held { .. }))) => {
                return Err(held.into());
            }
            Err(error) => {
                return Err(anyhow::Error::new(error).context("cannot start highwater run"));
            }
        };
        if args.once {
            let (ticked, delivered) = app.run_once().await.context("the tick failed")?;
            if ticked.symbols > 0 && ticked.failed.len() == ticked.symbols {
                bail!(
                    "no symbol could be evaluated: no history for {} (the log says why)",
                    ticked.failed.join(", ")
                );
            }
            eprintln!(
                "tick: {}, {} in {} ({} already sent before){}; \
                 delivered {}, retrying {}, held {}, dropped {}, failed {}",
                counted(ticked.symbols, "symbol"),
                counted(ticked.alerts, "new alert"),
                counted(ticked.messages, "message"),
                ticked.duplicates,
                if ticked.failed.is_empty() {
                    String::new()
                } else {
                    format!("; no data for {}", ticked.failed.join(", "))
                },
                delivered.delivered,
                delivered.retried,
                delivered.held,
                delivered.dropped,
                delivered.failed,
            );
            return Ok(());
        }
        app.claim_shards()
            .await
            .context("cannot start highwater run")?;
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        tracing::info!("running; stop with SIGTERM or Ctrl-C");
        app.run_until_stopped(shutdown)
            .await
            .context("highwater run stopped on an error")
    })
}

/// `highwater status`: the database read without its lock and without writing.
fn status(config: &Config, args: StatusArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let runtime = runtime()?;
    let (shown, status, holder) = match (args.database, &config.store.url) {
        (None, Some(url)) => (
            url.to_string(),
            runtime
                .block_on(crate::store::StoreStatus::read_postgres(url))
                .context("cannot read the database")?,
            crate::store::Holder::Shared,
        ),
        (database, _) => {
            let path = database
                .or_else(|| config.store.path())
                .context("no database: name one with --database or [store] path")?;
            let status = runtime
                .block_on(crate::store::StoreStatus::read_only(&path))
                .context("cannot read the database")?;
            (
                path.display().to_string(),
                status,
                crate::store::holder(&path),
            )
        }
    };
    if args.json {
        writeln!(out, "{}", crate::ops::status::json(&shown, &status, holder))?;
    } else {
        write!(out, "{}", crate::ops::status::text(&shown, &status, holder))?;
    }
    Ok(())
}

/// `highwater outbox`: the latest messages, read without the lock and without writing.
fn outbox(config: &Config, args: OutboxArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let limit = Some(args.limit);
    let messages = match (args.database, &config.store.url) {
        (None, Some(url)) => runtime()?
            .block_on(crate::store::PgStore::read_outbox(url, limit))
            .context("cannot read the database")?,
        (database, _) => {
            let path = database
                .or_else(|| config.store.path())
                .context("no database: name one with --database or [store] path")?;
            runtime()?
                .block_on(crate::store::outbox(&path, limit))
                .context("cannot read the database")?
        }
    };
    if args.json {
        for message in &messages {
            writeln!(out, "{}", crate::ops::status::outbox_json(message))?;
        }
    } else {
        write!(out, "{}", crate::ops::status::outbox_text(&messages))?;
    }
    Ok(())
}

/// "1 symbol", "2 symbols".
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
async fn stop_on_signal(shutdown: CancellationToken) {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing deliveries in flight");
    shutdown.cancel();
}

/// The history lookup a one-shot command reads: the `--data` folder, or the live providers.
fn open_histories(config: &Config, data: Option<&Path>) -> anyhow::Result<providers::Histories> {
    Ok(providers::Histories::open(config, data, None)?)
}

/// A runtime for a one-shot command's requests.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The history of each of `queries` from `histories` as of `now`, one after another.
fn load_all(
    histories: &providers::Histories,
    queries: &[String],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Series>> {
    let runtime = runtime()?;
    queries
        .iter()
        .map(|query| {
            let symbol = histories.resolve(query)?;
            let loaded =
                runtime.block_on(histories.history(&providers::NoBarCache, symbol, now))?;
            Ok(loaded.series)
        })
        .collect()
}

/// `highwater replay`: the alerts of every session in the range, one line each, written to
/// `out`. The `replay` benchmark runs this same function.
///
/// Histories from `--data` are read and evaluated on one thread per core
/// ([`service::replay_each`]), and the merged events rendered on one thread per core a chunk
/// at a time while the chunks are written in order ([`ordered::write_rendered`]); the output
/// is the same as a one-by-one replay's, in order and errors.
pub fn replay(config: &Config, args: ReplayArgs, out: &mut impl Write) -> anyhow::Result<()> {
    if let Some(to) = args.to
        && to < args.from
    {
        bail!("--to {to} is before --from {}", args.from);
    }
    let histories = open_histories(config, args.data.data.as_deref())?;
    let range = ReplayRange {
        from: args.from,
        to: args.to,
    };
    let rules = &config.rules;
    // The workers keep each input's events (in a list of its own) rather than their lines: the
    // lines are rendered after the merge, in order, a chunk at a time (see `ordered`).
    let keep = |event: Event, events: &mut Vec<Event>| -> anyhow::Result<usize> {
        events.push(event);
        Ok(events.len() - 1)
    };
    let (replayed, symbols) = match histories.source() {
        Source::Csv(source) if args.symbols.is_empty() => {
            let files = source.available()?;
            if files.is_empty() {
                bail!("no .csv files in {}", source.dir().display());
            }
            let load = |(symbol, path): &(Arc<Symbol>, PathBuf)| {
                Ok(ReusedBars(read_series(path, symbol.clone())?))
            };
            let replayed = service::replay_each(&files, load, rules, range, keep)?;
            (replayed, files.len())
        }
        Source::Csv(source) => {
            let load = |query: &String| Ok(source.load(query)?);
            let replayed = service::replay_each(&args.symbols, load, rules, range, keep)?;
            (replayed, args.symbols.len())
        }
        Source::Live(_) => {
            if args.symbols.is_empty() {
                bail!("name the symbols to replay: without --data there is no list of histories");
            }
            let series = load_all(&histories, &args.symbols, Utc::now())?;
            let replayed = service::replay_each(&series, Ok, rules, range, keep)?;
            (replayed, series.len())
        }
    };
    let render = |event: &Event, buffer: &mut Vec<u8>| -> anyhow::Result<()> {
        if args.json {
            alerts::write_event_json(buffer, event);
        } else {
            match crate::market::iso_date::ymd(event.date) {
                Some(date) => buffer.extend_from_slice(&date),
                None => write!(buffer, "{}", IsoDate(event.date))?,
            }
            buffer.extend_from_slice(b"  ");
            alerts::push_headline(buffer, event);
        }
        buffer.push(b'\n');
        Ok(())
    };
    ordered::write_rendered(out, replayed.len(), |lines, buffer| -> anyhow::Result<()> {
        for (events, &at) in replayed.range(lines) {
            if let Some(event) = events.get(at) {
                render(event, buffer)?;
            }
        }
        Ok(())
    })?;
    tracing::info!(alerts = replayed.len(), symbols, "replay finished");
    drop_in_background(replayed);
    Ok(())
}

/// Frees `value` on a thread of its own, so that the caller does not wait for it: a replay's
/// events are a hundred thousand in a hundred lists that other threads allocated, and handing
/// them back to the allocator is work nobody waits for. When no thread can be started, the
/// closure (and `value` with it) is dropped right here.
fn drop_in_background<T: Send + 'static>(value: T) {
    let spawned = std::thread::Builder::new()
        .name("replay-free".to_owned())
        .spawn(move || drop(value));
    if let Err(error) = spawned {
        tracing::debug!(%error, "freed the replay's events here: no thread to do it");
    }
}

/// Whether `error` is a write to a reader that has gone (`highwater replay | head -1`).
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

fn streak(config: &Config, args: StreakArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let as_of = args.query.answer.as_of;
    answer(config, &args.query, out, |series| {
        let answer = service::streak(series, args.timeframe, as_of)?;
        let context = service::context(series, args.timeframe, as_of).ok();
        Ok((
            alerts::streak_json_answer(&answer),
            alerts::streak_text_in_context(&answer, context.as_ref()),
        ))
    })
}

fn context(config: &Config, args: ContextArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let as_of = args.query.answer.as_of;
    answer(config, &args.query, out, |series| {
        let answer = service::context(series, args.timeframe, as_of)?;
        Ok((alerts::context_json(&answer), alerts::context_text(&answer)))
    })
}

fn history(config: &Config, args: HistoryArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let as_of = args.query.answer.as_of;
    answer(config, &args.query, out, |series| {
        let answer = service::history(series, as_of)?;
        Ok((
            alerts::history_json(&answer),
            alerts::history_text(&answer, alerts::BookPart::All),
        ))
    })
}

fn high(config: &Config, args: HighArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let as_of = args.query.answer.as_of;
    answer(config, &args.query, out, |series| {
        let answer = service::high(series, as_of)?;
        let context = service::context(series, Timeframe::Weekly, as_of).ok();
        Ok((
            alerts::high_json_answer(&answer),
            alerts::high_text_in_context(&answer, context.as_ref()),
        ))
    })
}

/// Looks up one symbol's history as the bot's commands do (the same [`providers::Histories`],
/// cut at the latest session closed at `now`; a one-shot command keeps no bar cache), asks
/// `render` for the answer (JSON and text), and prints it with what should be said about the
/// data behind it.
fn answer(
    config: &Config,
    args: &QueryArgs,
    out: &mut impl Write,
    render: impl FnOnce(&Series) -> anyhow::Result<(serde_json::Value, String)>,
) -> anyhow::Result<()> {
    let at = &args.answer;
    let loaded = load_one(config, &args.symbol, at.data.data.as_deref(), at.now)?;
    let (series, status) = (loaded.series, loaded.status);
    let (value, text) = render(&series)?;
    if at.json {
        writeln!(out, "{}", alerts::with_data_status(value, &status))?;
    } else {
        writeln!(out, "{text}")?;
        for line in alerts::data_status_lines(&status) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// One symbol's history as the bot's commands look it up: the `--data` folder or the live
/// providers, cut at the latest session closed at `now` (default: now), with no bar cache.
fn load_one(
    config: &Config,
    query: &str,
    data: Option<&Path>,
    now: Option<DateTime<Utc>>,
) -> anyhow::Result<providers::Loaded> {
    let histories = open_histories(config, data)?;
    let symbol = histories.resolve(query)?;
    Ok(runtime()?.block_on(histories.history(
        &providers::NoBarCache,
        symbol,
        now.unwrap_or_else(Utc::now),
    ))?)
}

/// `highwater chart`: the history as `answer` loads it, drawn, and written to `--out` whole
/// (a temporary file in the same folder, then renamed over it).
fn chart(config: &Config, args: ChartArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let target = &args.out;
    let folder = match target.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        bail!(
            "--out {}: no such folder {}",
            target.display(),
            folder.display()
        );
    }
    let loaded = load_one(config, &args.symbol, args.data.data.as_deref(), args.now)?;
    let drawn = crate::chart::render(&loaded.series, args.range, args.as_of)?;
    write_whole(target, &drawn.png)
        .with_context(|| format!("cannot write the chart to {}", target.display()))?;
    let layout = &drawn.layout;
    writeln!(
        out,
        "wrote {} ({}×{}, {} sessions {}..{}, record {} on {})",
        target.display(),
        layout.width,
        layout.height,
        layout.sessions,
        layout.first_date,
        layout.last_date,
        alerts::price(layout.record),
        layout.record_date
    )?;
    for line in alerts::data_status_lines(&loaded.status) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`, so a reader
/// never sees half a file; the temporary file is removed when anything fails.
fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut temporary = name.to_os_string();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary);
    let written =
        std::fs::write(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// `highwater risk`: both histories from the one lookup, then the view and what should be
/// said about each history.
fn risk(config: &Config, args: RiskArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let at = &args.answer;
    let histories = open_histories(config, at.data.data.as_deref())?;
    let now = at.now.unwrap_or_else(Utc::now);
    let runtime = runtime()?;
    let load = |query: &str| -> anyhow::Result<providers::Loaded> {
        let symbol = histories.resolve(query)?;
        Ok(runtime.block_on(histories.history(&providers::NoBarCache, symbol, now))?)
    };
    let a = load(args.a.as_deref().unwrap_or("RUT"))?;
    let b = load(args.b.as_deref().unwrap_or("BTC"))?;
    let answer = service::risk(&a.series, &b.series, at.as_of)?;
    if at.json {
        let mut value = alerts::risk_json(&answer);
        if let Some(assets) = value["assets"].as_array_mut() {
            for (asset, loaded) in assets.iter_mut().zip([&a, &b]) {
                *asset = alerts::with_data_status(asset.take(), &loaded.status);
            }
        }
        writeln!(out, "{value}")?;
    } else {
        writeln!(out, "{}", alerts::risk_text(&answer))?;
        for loaded in [&a, &b] {
            for line in alerts::data_status_lines(&loaded.status) {
                writeln!(out, "{}: {line}", loaded.series.symbol().name())?;
            }
        }
    }
    Ok(())
}

fn fetch(config: &Config, args: FetchArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let market = live::market_data(config).context("cannot set up the live providers")?;
    let runtime = runtime()?;
    let symbol = live::resolve(&args.symbol)?;
    let now = Utc::now();
    let from = args
        .from
        .unwrap_or_else(|| now.date_naive() - chrono::Days::new(30));
    let (fetched, source) = runtime.block_on(market.fetch_raw(&symbol, from, now))?;
    for dropped in &fetched.dropped {
        tracing::warn!(date = %dropped.date, reason = %dropped.reason, "bar dropped");
    }
    let rows = fetched
        .bars
        .iter()
        .map(|b| (b, false))
        .chain(fetched.in_progress.iter().map(|b| (b, true)));
    for (bar, in_progress) in rows {
        if args.json {
            writeln!(
                out,
                "{}",
                alerts::bar_json(symbol.ticker(), source, bar, in_progress)
            )?;
        } else {
            writeln!(out, "{}", alerts::bar_text(bar, in_progress))?;
        }
    }
    Ok(())
}
