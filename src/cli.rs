//! The command line: argument definitions (clap) and the thin glue from a command to the
//! services and renderers. Errors get context for the user here, with `anyhow`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::alerts;
use crate::config::Config;
use crate::market::{Catalog, Series, Timeframe};
use crate::providers::CsvSource;
use crate::service::{self, ReplayRange};

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
}

#[derive(Debug, Args)]
pub struct DataArgs {
    /// Directory of daily histories, one `SYMBOL.csv` per symbol (Date and Close columns).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
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
    /// Symbols or aliases (RUT, ^GSPC, SPX, BTC). Default: every file in the data directory.
    pub symbols: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StreakArgs {
    /// Symbol or alias.
    pub symbol: String,
    /// The periods the streak counts: daily, weekly or monthly.
    #[arg(long, default_value = "weekly", value_parser = parse_timeframe)]
    pub timeframe: Timeframe,
    /// Answer as of this date (YYYY-MM-DD; default: the latest bar).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    #[command(flatten)]
    pub data: DataArgs,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HighArgs {
    /// Symbol or alias.
    pub symbol: String,
    /// Answer as of this date (YYYY-MM-DD; default: the latest bar).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    #[command(flatten)]
    pub data: DataArgs,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("'{text}' is not a date; expected YYYY-MM-DD, e.g. 2025-09-18"))
}

fn parse_timeframe(text: &str) -> Result<Timeframe, String> {
    text.parse()
}

/// Runs a parsed command, writing its output to `out`.
pub fn run(cli: Cli, out: &mut impl Write) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref()).context("cannot load the configuration")?;
    tracing::info!(origin = %config.origin, rules = config.rules.rules().len(), "configuration loaded");
    match cli.command {
        Command::Replay(args) => replay(&config, args, out),
        Command::Streak(args) => streak(args, out),
        Command::High(args) => high(args, out),
    }
}

fn open(dir: &Path) -> anyhow::Result<CsvSource> {
    Ok(CsvSource::open(dir, Catalog::builtin())?)
}

fn load(source: &CsvSource, symbol: &str) -> anyhow::Result<Series> {
    Ok(source.load(symbol)?)
}

fn replay(config: &Config, args: ReplayArgs, out: &mut impl Write) -> anyhow::Result<()> {
    if let Some(to) = args.to
        && to < args.from
    {
        bail!("--to {to} is before --from {}", args.from);
    }
    let source = open(&args.data.data)?;
    let series: Vec<Series> = if args.symbols.is_empty() {
        let mut all = Vec::new();
        for (symbol, path) in source.available()? {
            all.push(crate::providers::csv::read_series(&path, symbol)?);
        }
        if all.is_empty() {
            bail!("no .csv files in {}", source.dir().display());
        }
        all
    } else {
        args.symbols
            .iter()
            .map(|s| load(&source, s))
            .collect::<anyhow::Result<_>>()?
    };
    let range = ReplayRange {
        from: args.from,
        to: args.to,
    };
    let events = service::replay(&series, &config.rules, range)?;
    for event in &events {
        if args.json {
            writeln!(out, "{}", alerts::event_json(event))?;
        } else {
            writeln!(
                out,
                "{}  {}",
                event.date.format("%Y-%m-%d"),
                alerts::headline(event)
            )?;
        }
    }
    tracing::info!(
        alerts = events.len(),
        symbols = series.len(),
        "replay finished"
    );
    Ok(())
}

fn streak(args: StreakArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let source = open(&args.data.data)?;
    let series = load(&source, &args.symbol)?;
    let answer = service::streak(&series, args.timeframe, args.as_of)?;
    if args.json {
        writeln!(out, "{}", alerts::streak_json_answer(&answer))?;
    } else {
        writeln!(out, "{}", alerts::streak_text(&answer))?;
    }
    Ok(())
}

fn high(args: HighArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let source = open(&args.data.data)?;
    let series = load(&source, &args.symbol)?;
    let answer = service::high(&series, args.as_of)?;
    if args.json {
        writeln!(out, "{}", alerts::high_json_answer(&answer))?;
    } else {
        writeln!(out, "{}", alerts::high_text(&answer))?;
    }
    Ok(())
}
