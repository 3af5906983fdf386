//! Questions anyone may ask: `/streak`, `/high`, `/context`, `/history`, `/risk`, `/quote`,
//! `/chart` (a PNG, drawn as `highwater chart` draws it). The answers are the CLI's answers
//! (`highwater streak RUT` and `/streak RUT` say the same thing).

use poise::serenity_prelude as serenity;

use super::{Context, Error, autocomplete_symbol, escape_markdown, fit_content, load, public};
use crate::alerts;
use crate::chart::{ChartError, ChartRange};
use crate::market::Timeframe;
use crate::service;

/// The periods a streak counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum TimeframeChoice {
    #[name = "daily"]
    Daily,
    #[name = "weekly"]
    Weekly,
    #[name = "monthly"]
    Monthly,
}

impl From<TimeframeChoice> for Timeframe {
    fn from(choice: TimeframeChoice) -> Self {
        match choice {
            TimeframeChoice::Daily => Timeframe::Daily,
            TimeframeChoice::Weekly => Timeframe::Weekly,
            TimeframeChoice::Monthly => Timeframe::Monthly,
        }
    }
}

/// The text of an answer and what to say about the data behind it, shown as written: the
/// answers use no markdown, and a symbol's name (a data file's name) may hold `_` or `*`.
fn with_status(text: String, loaded: &crate::providers::Loaded) -> String {
    let mut lines = vec![text];
    lines.extend(alerts::data_status_lines(&loaded.status));
    escape_markdown(&lines.join("\n"))
}

/// A symbol's current winning or losing streak, and how long since one was as long.
#[poise::command(slash_command)]
pub async fn streak(
    ctx: Context<'_>,
    #[description = "Symbol or alias, e.g. RUT, SPX, BTC"]
    #[autocomplete = "autocomplete_symbol"]
    #[max_length = 32]
    symbol: String,
    #[description = "Count days, weeks (default) or months"] timeframe: Option<TimeframeChoice>,
) -> Result<(), Error> {
    let loaded = load(ctx, &symbol).await?;
    let timeframe = timeframe.map_or(Timeframe::Weekly, Timeframe::from);
    let answer = service::streak(&loaded.series, timeframe, None)?;
    let context = service::context(&loaded.series, timeframe, None).ok();
    let text = alerts::streak_text_in_context(&answer, context.as_ref());
    public(ctx, with_status(text, &loaded)).await
}

/// A symbol's record close: when, how long ago, how far below it is, and its 52-week range.
#[poise::command(slash_command)]
pub async fn high(
    ctx: Context<'_>,
    #[description = "Symbol or alias, e.g. RUT, SPX, BTC"]
    #[autocomplete = "autocomplete_symbol"]
    #[max_length = 32]
    symbol: String,
) -> Result<(), Error> {
    let loaded = load(ctx, &symbol).await?;
    let answer = service::high(&loaded.series, None)?;
    let context = service::context(&loaded.series, Timeframe::Weekly, None).ok();
    let text = alerts::high_text_in_context(&answer, context.as_ref());
    public(ctx, with_status(text, &loaded)).await
}

/// How rare a symbol's streak and latest record are, and what followed earlier ones.
#[poise::command(slash_command)]
pub async fn context(
    ctx: Context<'_>,
    #[description = "Symbol or alias, e.g. RUT, SPX, BTC"]
    #[autocomplete = "autocomplete_symbol"]
    #[max_length = 32]
    symbol: String,
    #[description = "Count days, weeks (default) or months"] timeframe: Option<TimeframeChoice>,
) -> Result<(), Error> {
    let loaded = load(ctx, &symbol).await?;
    let timeframe = timeframe.map_or(Timeframe::Weekly, Timeframe::from);
    let answer = service::context(&loaded.series, timeframe, None)?;
    public(ctx, with_status(alerts::context_text(&answer), &loaded)).await
}

/// Which part of the record book `/history` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum BookChoice {
    #[name = "streaks"]
    Streaks,
    #[name = "droughts"]
    Droughts,
}

/// A symbol's record book: its longest winning and losing streaks and record droughts.
#[poise::command(slash_command)]
pub async fn history(
    ctx: Context<'_>,
    #[description = "Symbol or alias, e.g. RUT, SPX, BTC"]
    #[autocomplete = "autocomplete_symbol"]
    #[max_length = 32]
    symbol: String,
    #[description = "Only the streaks or only the droughts (default: both)"] kind: Option<
        BookChoice,
    >,
) -> Result<(), Error> {
    let loaded = load(ctx, &symbol).await?;
    let answer = service::history(&loaded.series, None)?;
    let part = match kind {
        None => alerts::BookPart::All,
        Some(BookChoice::Streaks) => alerts::BookPart::Streaks,
        Some(BookChoice::Droughts) => alerts::BookPart::Droughts,
    };
    public(
        ctx,
        with_status(alerts::history_text(&answer, part), &loaded),
    )
    .await
}

/// Two assets' streaks, distance from record, and how their daily returns move together.
#[poise::command(slash_command)]
pub async fn risk(
    ctx: Context<'_>,
    #[description = "First asset (default: RUT)"]
    #[autocomplete = "autocomplete_symbol"]
    #[max_length = 32]
    a: Option<String>,
    #[description = "Second asset (default: BTC)"]
    #[autocomplete = "autocomplete_symbol"]
    #[max_length = 32]
    b: Option<String>,
) -> Result<(), Error> {
    let a = load(ctx, a.as_deref().unwrap_or("RUT")).await?;
    let b = load(ctx, b.as_deref().unwrap_or("BTC")).await?;
    let answer = service::risk(&a.series, &b.series, None)?;
    let mut lines = vec![alerts::risk_text(&answer)];
    for loaded in [&a, &b] {
        for line in alerts::data_status_lines(&loaded.status) {
            lines.push(format!("{}: {line}", loaded.series.symbol().name()));
        }
    }
    public(ctx, escape_markdown(&lines.join("\n"))).await
}

/// A symbol's last close, its change, and whether its market is open.
#[poise::command(slash_command)]
pub async fn quote(
    ctx: Context<'_>,
    #[description = "Symbol or alias, e.g. RUT, SPX, BTC"]
    #[autocomplete = "autocomplete_symbol"]
    #[max_length = 32]
    symbol: String,
) -> Result<(), Error> {
    let loaded = load(ctx, &symbol).await?;
    let answer = service::quote(&loaded.series, ctx.data().clock.now())?;
    public(ctx, with_status(alerts::quote_text(&answer), &loaded)).await
}

/// How much history `/chart` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum RangeChoice {
    #[name = "1 month"]
    Month1,
    #[name = "3 months"]
    Month3,
    #[name = "6 months"]
    Month6,
    #[name = "1 year"]
    Year1,
    #[name = "5 years"]
    Year5,
    #[name = "everything"]
    Max,
}

impl From<RangeChoice> for ChartRange {
    fn from(choice: RangeChoice) -> Self {
        match choice {
            RangeChoice::Month1 => ChartRange::Month1,
            RangeChoice::Month3 => ChartRange::Month3,
            RangeChoice::Month6 => ChartRange::Month6,
            RangeChoice::Year1 => ChartRange::Year1,
            RangeChoice::Year5 => ChartRange::Year5,
            RangeChoice::Max => ChartRange::Max,
        }
    }
}

/// A chart of the closes: the record line, the current run shaded, the latest close labelled.
#[poise::command(slash_command)]
pub async fn chart(
    ctx: Context<'_>,
    #[description = "Symbol or alias, e.g. RUT, SPX, BTC"]
    #[autocomplete = "autocomplete_symbol"]
    #[max_length = 32]
    symbol: String,
    #[description = "How far back (default: 1 year)"] range: Option<RangeChoice>,
) -> Result<(), Error> {
    let loaded = load(ctx, &symbol).await?;
    let range = range.map_or(ChartRange::default(), ChartRange::from);
    let drawn = match crate::chart::render(&loaded.series, range, None) {
        Ok(drawn) => drawn,
        // Not enough history is the answers' own message.
        Err(ChartError::Query(error)) => return Err(error.into()),
        Err(error) => return Err(error.into()),
    };
    let layout = &drawn.layout;
    let name = loaded.series.symbol().name();
    let caption = format!(
        "{name}, {} to {} ({} sessions); record close {} on {}",
        alerts::short_date(layout.first_date),
        alerts::short_date(layout.last_date),
        layout.sessions,
        alerts::price(layout.record),
        alerts::short_date(layout.record_date)
    );
    let file = format!(
        "{}-{}.png",
        loaded.series.symbol().plain_ticker().to_ascii_lowercase(),
        range.as_str()
    );
    ctx.send(
        poise::CreateReply::default()
            .content(fit_content(&with_status(caption, &loaded)))
            .attachment(serenity::CreateAttachment::bytes(drawn.png, file))
            .allowed_mentions(serenity::CreateAllowedMentions::new()),
    )
    .await?;
    Ok(())
}
