//! Setup, for members with Manage Server only: where alerts go (`/alerts channel`), which rules
//! run (`/rules add|list|remove|preview`), mutes and quiet hours. Every reply is ephemeral and
//! ends with a warning when one of the server's alert channels has been paused (the bot lost
//! access to it or it was deleted).

use std::collections::BTreeSet;

use chrono::{Duration, Months};
use poise::serenity_prelude as serenity;

use super::query::TimeframeChoice;
use super::{
    Context, Error, UserError, autocomplete_symbol, ephemeral, escape_markdown, load_private,
    require_manager, resolve,
};
use crate::alerts::{Mute, MuteTarget, QuietHours, headline};
use crate::market::{Timeframe, shown};
use crate::notify::limits::paginate;
use crate::rules::spec::RawRule;
use crate::rules::{Kind, Rule, RuleSet};
use crate::service::{ReplayRange, replay_series};
use crate::shared::{ChannelId, GuildId, RoleId};
use crate::store::{RuleAdded, ServerId, ServerSettings, StoredRule, Target};

/// Longest mute.
const MAX_MUTE_DAYS: i64 = 90;
/// Longest preview window.
const MAX_PREVIEW_MONTHS: u32 = 24;
/// Most events a preview lists.
const PREVIEW_LINES: usize = 15;
/// Characters of rule lines on one page of `/rules list`: Discord's 2,000 less room for the
/// header and a warning about a paused channel.
const RULES_PAGE_CHARS: usize = 1_500;

/// The server's settings, created with defaults on first use.
async fn settings(ctx: Context<'_>, guild: GuildId) -> Result<ServerSettings, Error> {
    let server = ServerId::guild(guild);
    Ok(match ctx.data().store.server(&server).await? {
        Some(s) => s,
        None => {
            let s = ServerSettings::new(server);
            ctx.data()
                .store
                .upsert_server(&s, ctx.data().clock.now())
                .await?;
            s
        }
    })
}

/// Warnings about alert channels that have been paused, for the admins' next setup reply.
async fn notices(ctx: Context<'_>, guild: GuildId) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for d in ctx
        .data()
        .store
        .destinations(&ServerId::guild(guild))
        .await?
    {
        if let (false, Target::Channel(channel), Some((reason, at))) =
            (d.enabled, &d.target, &d.disabled)
        {
            out.push(format!(
                "⚠️ Alerts to <#{channel}> are paused since {} UTC: {}. Give highwater \
                 access to that channel (View Channel, Send Messages, Embed Links), then run \
                 `/alerts channel` for it to resume.",
                at.format("%Y-%m-%d %H:%M"),
                escape_markdown(&crate::market::shown(reason))
            ));
        }
    }
    Ok(out)
}

/// An ephemeral setup reply with any paused-channel warnings after it.
async fn done(ctx: Context<'_>, guild: GuildId, text: String) -> Result<(), Error> {
    let mut lines = vec![text];
    lines.extend(notices(ctx, guild).await?);
    ephemeral(ctx, lines.join("\n")).await
}

/// Where highwater posts this server's alerts.
#[poise::command(
    slash_command,
    guild_only,
    subcommands("alerts_channel", "alerts_digest"),
    subcommand_required,
    default_member_permissions = "MANAGE_GUILD"
)]
pub async fn alerts(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Post alerts to this channel by default (and resume alerts paused there).
#[poise::command(slash_command, guild_only, rename = "channel")]
async fn alerts_channel(
    ctx: Context<'_>,
    #[description = "The channel for alerts"]
    #[channel_types("Text", "News")]
    channel: serenity::ChannelId,
) -> Result<(), Error> {
    let guild = require_manager(ctx).await?;
    let mut settings = settings(ctx, guild).await?;
    let channel = ChannelId::from(channel);
    settings.alert_channel = Some(channel);
    let store = &ctx.data().store;
    store
        .upsert_server(&settings, ctx.data().clock.now())
        .await?;
    let destination = store
        .destination_for(&settings.server, &Target::Channel(channel))
        .await?;
    let mut text = format!("Alerts will be posted to <#{channel}>.");
    if store
        .destination(destination)
        .await?
        .is_some_and(|d| !d.enabled)
    {
        store.enable_destination(destination).await?;
        text.push_str(" Alerts there were paused; they are resumed.");
    }
    done(ctx, guild, text).await
}

/// Whether a daily digest is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum Switch {
    #[name = "on"]
    On,
    #[name = "off"]
    Off,
}

/// Post a daily digest of this server's symbols after each session's close (or stop it).
#[poise::command(slash_command, guild_only, rename = "digest")]
async fn alerts_digest(
    ctx: Context<'_>,
    #[description = "on or off"] state: Switch,
    #[description = "The channel for the digest (default: the alerts channel)"]
    #[channel_types("Text", "News")]
    channel: Option<serenity::ChannelId>,
) -> Result<(), Error> {
    let guild = require_manager(ctx).await?;
    let mut settings = settings(ctx, guild).await?;
    let store = &ctx.data().store;
    let text = match state {
        Switch::On => {
            let channel = channel
                .map(ChannelId::from)
                .or(settings.alert_channel)
                .ok_or_else(|| {
                    UserError::boxed(
                        "Where should the digest go? Give `channel`, or set a default with `/alerts channel`.",
                    )
                })?;
            store
                .destination_for(&settings.server, &Target::Channel(channel))
                .await?;
            settings.digest_channel = Some(channel);
            format!(
                "A daily digest of this server's symbols will be posted to <#{channel}> after each session's close."
            )
        }
        Switch::Off if settings.digest_channel.is_none() => {
            "There is no daily digest to turn off.".to_owned()
        }
        Switch::Off => {
            settings.digest_channel = None;
            "The daily digest is off.".to_owned()
        }
    };
    store
        .upsert_server(&settings, ctx.data().clock.now())
        .await?;
    done(ctx, guild, text).await
}

/// What a rule watches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum KindChoice {
    #[name = "record high"]
    RecordHigh,
    #[name = "N-week high"]
    PeriodHigh,
    #[name = "N-week low"]
    PeriodLow,
    #[name = "streak"]
    Streak,
    #[name = "big move"]
    BigMove,
    #[name = "correlation shift"]
    CorrelationShift,
}

impl KindChoice {
    fn kind(self) -> Kind {
        match self {
            KindChoice::RecordHigh => Kind::RecordHigh,
            KindChoice::PeriodHigh => Kind::PeriodHigh,
            KindChoice::PeriodLow => Kind::PeriodLow,
            KindChoice::Streak => Kind::Streak,
            KindChoice::BigMove => Kind::BigMove,
            KindChoice::CorrelationShift => Kind::CorrelationShift,
        }
    }
}

/// Which way a streak or move goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum DirectionChoice {
    #[name = "up"]
    Up,
    #[name = "down"]
    Down,
    #[name = "both"]
    Both,
}

/// This server's alert rules.
#[poise::command(
    slash_command,
    guild_only,
    subcommands("rules_add", "rules_list", "rules_remove", "rules_preview"),
    subcommand_required,
    default_member_permissions = "MANAGE_GUILD"
)]
pub async fn rules(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// A readable rule id that is not taken yet: `rut-streak-weekly-up`, `rut-streak-weekly-up-2`.
fn new_rule_id(raw: &RawRule, ticker: &str, taken: &BTreeSet<String>) -> String {
    let mut parts = vec![ticker.to_ascii_lowercase(), raw.kind.replace('_', "-")];
    if let Some(weeks) = raw.weeks {
        parts.push(format!("{weeks}w"));
    }
    if let Some(versus) = &raw.versus {
        parts.push(versus.to_ascii_lowercase());
    }
    if let Some(tf) = raw.timeframe {
        parts.push(tf.as_str().to_owned());
    }
    if let Some(d) = raw.direction {
        parts.push(
            serde_json::to_value(d)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        );
    }
    let base: String = parts
        .join("-")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

/// Add a rule: what to watch for, on which symbol, posted where.
#[poise::command(slash_command, guild_only, rename = "add")]
#[allow(clippy::too_many_arguments)]
async fn rules_add(
    ctx: Context<'_>,
    #[description = "What to watch for"] kind: KindChoice,
    #[description = "Symbol or alias, e.g. RUT"]
    #[autocomplete = "autocomplete_symbol"]
    #[max_length = 32]
    symbol: String,
    #[description = "Streaks and moves: count days, weeks or months"] timeframe: Option<
        TimeframeChoice,
    >,
    #[description = "Streaks and moves: up, down or both (default)"] direction: Option<
        DirectionChoice,
    >,
    #[description = "Streaks: alert from this many periods on"]
    #[min = 2]
    #[max = 1000]
    min_length: Option<u32>,
    #[description = "Streaks (weekly, monthly): also alert when on pace"] on_pace: Option<bool>,
    #[description = "N-week highs and lows: N"]
    #[min = 1]
    #[max = 5218]
    weeks: Option<u32>,
    #[description = "Big moves: at least this many percent"] threshold_pct: Option<f64>,
    #[description = "Correlation shifts: the other asset, e.g. BTC"]
    #[autocomplete = "autocomplete_symbol"]
    #[max_length = 32]
    versus: Option<String>,
    #[description = "Correlation shifts: the 30-day correlation level, between -1 and 1"]
    threshold: Option<f64>,
    #[description = "Post the symbol's 1-year chart with each alert (default: no)"] chart: Option<
        bool,
    >,
    #[description = "Post to this channel (default: the /alerts channel)"]
    #[channel_types("Text", "News")]
    channel: Option<serenity::ChannelId>,
    #[description = "Mention this role in each alert"] role: Option<serenity::RoleId>,
) -> Result<(), Error> {
    let guild = require_manager(ctx).await?;
    let settings = settings(ctx, guild).await?;
    let server = settings.server.clone();
    let symbol = resolve(ctx, &symbol)?;
    let versus = versus.map(|name| resolve(ctx, &name)).transpose()?;
    let store = &ctx.data().store;
    let limits = ctx.data().limits;
    let channel = channel
        .map(ChannelId::from)
        .or(settings.alert_channel)
        .ok_or_else(|| {
            UserError::boxed(
                "Where should its alerts go? Give `channel`, or set a default with `/alerts channel`.",
            )
        })?;
    let (mut raw, rule) = RuleOptions {
        kind,
        timeframe,
        direction,
        min_length,
        on_pace,
        weeks,
        threshold_pct,
        versus: versus.map(|v| v.ticker().to_owned()),
        threshold,
        chart,
    }
    .rule_for(&symbol)?;
    let destination = store
        .destination_for(&server, &Target::Channel(channel))
        .await?;
    let ticker = symbol.plain_ticker().to_owned();
    let shape = raw.clone();
    let added = store
        .add_rule_within(
            &server,
            &StoredRule {
                rule: rule.to_raw(),
                destination: Some(destination),
                mention_role: role.map(RoleId::from),
            },
            limits,
            &move |taken| new_rule_id(&shape, &ticker, taken),
            ctx.data().clock.now(),
        )
        .await?;
    raw.id = added_id(added)?;
    tracing::info!(guild = guild.get(), rule = %raw.id, symbol = %symbol.ticker(), channel = channel.get(), "rule added");
    let mention = role
        .map(|r| format!(", mentioning <@&{}>", r.get()))
        .unwrap_or_default();
    done(
        ctx,
        guild,
        format!(
            "Added rule {} ({}) for {}: alerts go to <#{channel}>{mention}.",
            code(&raw.id),
            describe(&raw),
            escape_markdown(symbol.name())
        ),
    )
    .await
}

/// The options of `/rules add` that shape the rule itself.
struct RuleOptions {
    kind: KindChoice,
    timeframe: Option<TimeframeChoice>,
    direction: Option<DirectionChoice>,
    min_length: Option<u32>,
    on_pace: Option<bool>,
    weeks: Option<u32>,
    threshold_pct: Option<f64>,
    /// The other asset's ticker, already resolved.
    versus: Option<String>,
    threshold: Option<f64>,
    /// `Some(true)` only: an unasked-for `false` is not written into the rule.
    chart: Option<bool>,
}

impl RuleOptions {
    /// The rule these options describe for `symbol`, checked as a config file's rule is, with a
    /// provisional id (the store picks the final one, unique among the server's rules, inside
    /// the transaction that also checks the limits).
    fn rule_for(self, symbol: &crate::market::Symbol) -> Result<(RawRule, Rule), Error> {
        let mut raw = RawRule {
            kind: self.kind.kind().as_str().to_owned(),
            symbols: vec![symbol.ticker().to_owned()],
            timeframe: self.timeframe.map(Timeframe::from),
            direction: self.direction.map(|d| match d {
                DirectionChoice::Up => crate::rules::DirectionFilter::Up,
                DirectionChoice::Down => crate::rules::DirectionFilter::Down,
                DirectionChoice::Both => crate::rules::DirectionFilter::Both,
            }),
            min_length: self.min_length,
            on_pace: self.on_pace,
            weeks: self.weeks,
            threshold_pct: self.threshold_pct,
            versus: self.versus,
            threshold: self.threshold,
            chart: self.chart.filter(|&chart| chart),
            ..RawRule::default()
        };
        raw.id = new_rule_id(&raw, symbol.plain_ticker(), &BTreeSet::new());
        let rule = Rule::from_raw(raw.clone()).map_err(|e| {
            UserError::boxed(format!(
                "That rule doesn't work: {e}. Change it and try again."
            ))
        })?;
        Ok((raw, rule))
    }
}

/// The id the store gave a new rule, or why the server may not have it.
fn added_id(added: RuleAdded) -> Result<String, Error> {
    match added {
        RuleAdded::Added { id } => Ok(id),
        RuleAdded::TooManyRules { have } => Err(UserError::boxed(format!(
            "This server has {have} rules, the most it may have. Remove one with `/rules remove` first."
        ))),
        RuleAdded::TooManySymbols { limit } => Err(UserError::boxed(format!(
            "This server's rules already watch {limit} symbols, the most it may. Remove a rule for \
             another symbol first."
        ))),
    }
}

/// A rule's parameters in words.
fn describe(raw: &RawRule) -> String {
    let mut parts = vec![raw.kind.replace('_', " ")];
    if let Some(tf) = raw.timeframe {
        parts.push(tf.as_str().to_owned());
    }
    if let Some(d) = raw.direction {
        parts.push(format!("{d:?}").to_ascii_lowercase());
    }
    if let Some(n) = raw.min_length {
        parts.push(format!("from {n}"));
    }
    if raw.on_pace == Some(true) {
        parts.push("on pace too".into());
    }
    if let Some(w) = raw.weeks {
        parts.push(format!("{w} weeks"));
    }
    if let Some(p) = raw.threshold_pct {
        parts.push(format!("≥ {p}%"));
    }
    if let Some(versus) = &raw.versus {
        parts.push(format!("with {}", escape_markdown(versus)));
    }
    if let Some(level) = raw.threshold {
        parts.push(format!("crossing {level:+.2}"));
    }
    if raw.chart == Some(true) {
        parts.push("with its chart".into());
    }
    parts.join(", ")
}

/// List this server's rules (a page at a time when they do not fit one message).
#[poise::command(slash_command, guild_only, rename = "list")]
async fn rules_list(
    ctx: Context<'_>,
    #[description = "Which page of the list (default 1)"]
    #[min = 1]
    #[max = 100]
    page: Option<u32>,
) -> Result<(), Error> {
    let guild = require_manager(ctx).await?;
    let server = ServerId::guild(guild);
    let store = &ctx.data().store;
    let rules = store.rules(&server).await?;
    if rules.is_empty() {
        return done(
            ctx,
            guild,
            "No rules yet. Add one with `/rules add`, e.g. kind: record high, symbol: RUT.".into(),
        )
        .await;
    }
    let mut lines = Vec::new();
    for stored in &rules {
        let target = match stored.destination {
            Some(id) => match store.destination(id).await? {
                Some(d) => match d.target {
                    Target::Channel(c) if d.enabled => format!("<#{c}>"),
                    Target::Channel(c) => format!("<#{c}> (paused)"),
                    other => escape_markdown(&other.to_string()),
                },
                None => "nowhere".into(),
            },
            None => "nowhere".into(),
        };
        let mention = stored
            .mention_role
            .map(|r| format!(", mentions <@&{r}>"))
            .unwrap_or_default();
        lines.push(format!(
            "• {} — {} — {} → {target}{mention}",
            code(&stored.rule.id),
            describe(&stored.rule),
            escape_markdown(&stored.rule.symbols.join(", "))
        ));
    }
    let pages = paginate(&lines, RULES_PAGE_CHARS);
    let count = pages.len();
    let wanted = page.unwrap_or(1).max(1) as usize;
    let Some(shown) = pages.get(wanted - 1) else {
        return Err(UserError::boxed(format!(
            "The list has {count} page{}: ask for page 1{}.",
            if count == 1 { "" } else { "s" },
            if count == 1 {
                String::new()
            } else {
                format!(" to {count}")
            }
        )));
    };
    let mut header = format!("{} of {} rules", rules.len(), ctx.data().limits.max_rules);
    if count > 1 {
        header.push_str(&format!(" (page {wanted} of {count}"));
        if wanted < count {
            header.push_str(&format!("; `/rules list page:{}` shows more", wanted + 1));
        }
        header.push(')');
    }
    header.push(':');
    let mut text = vec![header];
    text.extend(shown.iter().cloned());
    done(ctx, guild, text.join("\n")).await
}

/// `text` as a code span: shown as written, its backticks (which would end the span) swapped
/// for `'`.
fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'"))
}

async fn autocomplete_rule(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let mut choices = Vec::new();
    if let Some(guild) = ctx.guild_id()
        && let Ok(rules) = ctx.data().store.rules(&ServerId::guild(guild.into())).await
    {
        for r in rules {
            if r.rule.id.contains(&partial.to_ascii_lowercase()) {
                choices.push(serenity::AutocompleteChoice::new(
                    r.rule.id.clone(),
                    r.rule.id.clone(),
                ));
            }
        }
    }
    choices.truncate(25);
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// The stored rule `id` of this server, or advice.
async fn stored_rule(ctx: Context<'_>, guild: GuildId, id: &str) -> Result<StoredRule, Error> {
    let rules = ctx.data().store.rules(&ServerId::guild(guild)).await?;
    rules
        .into_iter()
        .find(|r| r.rule.id == id.trim())
        .ok_or_else(|| {
            UserError::boxed(format!(
                "There is no rule `{}` here. `/rules list` shows this server's rules.",
                id.replace('`', "'")
            ))
        })
}

/// Remove a rule.
#[poise::command(slash_command, guild_only, rename = "remove")]
async fn rules_remove(
    ctx: Context<'_>,
    #[description = "The rule's id (see /rules list)"]
    #[autocomplete = "autocomplete_rule"]
    #[max_length = 64]
    id: String,
) -> Result<(), Error> {
    let guild = require_manager(ctx).await?;
    let rule = stored_rule(ctx, guild, &id).await?;
    ctx.data()
        .store
        .remove_rule(&ServerId::guild(guild), &rule.rule.id)
        .await?;
    tracing::info!(guild = guild.get(), rule = %rule.rule.id, "rule removed");
    done(ctx, guild, format!("Removed rule `{}`.", rule.rule.id)).await
}

/// What a rule would have posted over the last months.
#[poise::command(slash_command, guild_only, rename = "preview")]
async fn rules_preview(
    ctx: Context<'_>,
    #[description = "The rule's id (see /rules list)"]
    #[autocomplete = "autocomplete_rule"]
    #[max_length = 64]
    id: String,
    #[description = "How many months back (default 6)"]
    #[min = 1]
    #[max = 24]
    months: Option<u32>,
) -> Result<(), Error> {
    let guild = require_manager(ctx).await?;
    let stored = stored_rule(ctx, guild, &id).await?;
    let rule = Rule::from_raw(stored.rule.clone()).map_err(|e| {
        UserError::boxed(format!("Rule `{}` no longer parses: {e}", stored.rule.id))
    })?;
    let months = months.unwrap_or(6).min(MAX_PREVIEW_MONTHS);
    let rules = RuleSet::new(vec![rule])?;
    let mut lines = Vec::new();
    let mut total = 0;
    for symbol in &stored.rule.symbols {
        let loaded = load_private(ctx, symbol).await?;
        let Some(last) = loaded.series.last_date() else {
            continue;
        };
        let from = last.checked_sub_months(Months::new(months)).unwrap_or(last);
        let events = replay_series(&loaded.series, &rules, ReplayRange { from, to: None })?;
        total += events.len();
        for event in events.iter().rev().take(PREVIEW_LINES) {
            lines.push(format!(
                "{}  {}",
                event.date.format("%Y-%m-%d"),
                escape_markdown(&headline(event))
            ));
        }
    }
    lines.sort();
    lines.reverse();
    lines.truncate(PREVIEW_LINES);
    let mut text = format!(
        "Rule `{}` would have posted {total} alert{} in the last {months} month{}",
        stored.rule.id,
        if total == 1 { "" } else { "s" },
        if months == 1 { "" } else { "s" }
    );
    if lines.is_empty() {
        text.push('.');
    } else {
        text.push_str(&format!(
            "{}:\n{}",
            if total > lines.len() {
                format!(" (latest {} shown)", lines.len())
            } else {
                String::new()
            },
            lines.join("\n")
        ));
    }
    done(ctx, guild, text).await
}

/// Why a `/mute` duration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum MuteDurationError {
    /// `text` (made safe to show inside backticks) is not a number and a unit.
    #[error("`{text}` is not a duration like 30m, 12h, 3d or 2w")]
    Unreadable { text: String },
    #[error("a mute lasts from 1 minute to {MAX_MUTE_DAYS} days")]
    OutOfRange,
}

/// Reads `30m`, `12h`, `3d`, `2w`: from 1 minute to [`MAX_MUTE_DAYS`] days.
fn parse_duration(text: &str) -> Result<Duration, MuteDurationError> {
    let unreadable = || MuteDurationError::Unreadable {
        text: shown(&text.replace('`', "'")),
    };
    let t = text.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: i64 = number.parse().map_err(|_| unreadable())?;
    // `try_`: a number of weeks too big for a duration is out of range, not a panic.
    let duration = match unit.trim() {
        "m" | "min" | "minutes" => Duration::try_minutes(n),
        "h" | "hours" => Duration::try_hours(n),
        "d" | "days" => Duration::try_days(n),
        "w" | "weeks" => Duration::try_weeks(n),
        _ => return Err(unreadable()),
    };
    match duration {
        Some(duration) if n > 0 && duration <= Duration::days(MAX_MUTE_DAYS) => Ok(duration),
        _ => Err(MuteDurationError::OutOfRange),
    }
}

/// Silence a symbol or a rule for a while: its alerts are dropped, not delayed.
#[poise::command(slash_command, guild_only, default_member_permissions = "MANAGE_GUILD")]
pub async fn mute(
    ctx: Context<'_>,
    #[description = "A symbol (RUT) or one of this server's rule ids"]
    #[max_length = 64]
    target: String,
    #[description = "How long: 30m, 12h, 3d, 2w"]
    #[max_length = 16]
    duration: String,
) -> Result<(), Error> {
    let guild = require_manager(ctx).await?;
    let server = ServerId::guild(guild);
    let duration = parse_duration(&duration).map_err(|e| UserError::boxed(e.to_string()))?;
    let rules = ctx.data().store.rules(&server).await?;
    let (what, shown) = if let Some(rule) = rules.iter().find(|r| r.rule.id == target.trim()) {
        (
            MuteTarget::Rule(rule.rule.id.clone()),
            format!("rule `{}`", rule.rule.id),
        )
    } else {
        let symbol = resolve(ctx, &target)?;
        (
            MuteTarget::Symbol(symbol.ticker().to_owned()),
            escape_markdown(symbol.name()),
        )
    };
    let until = ctx.data().clock.now() + duration;
    settings(ctx, guild).await?;
    ctx.data()
        .store
        .mute(
            &server,
            &Mute {
                target: what,
                until,
            },
        )
        .await?;
    done(
        ctx,
        guild,
        format!(
            "Muted {shown} until {} UTC: its alerts are dropped until then.",
            until.format("%Y-%m-%d %H:%M")
        ),
    )
    .await
}

/// Hold alerts during the night (or any daily window); they are posted when it ends.
#[poise::command(
    slash_command,
    guild_only,
    rename = "quiet-hours",
    default_member_permissions = "MANAGE_GUILD"
)]
pub async fn quiet_hours(
    ctx: Context<'_>,
    #[description = "A daily window like 22:00-07:00, or off"]
    #[max_length = 16]
    hours: String,
    #[description = "Timezone of the window (IANA, e.g. America/New_York; default UTC)"]
    #[max_length = 64]
    timezone: Option<String>,
) -> Result<(), Error> {
    let guild = require_manager(ctx).await?;
    let mut settings = settings(ctx, guild).await?;
    if let Some(name) = &timezone {
        settings.display_tz = name.trim().parse().map_err(|_| {
            UserError::boxed(format!(
                "`{}` is not a timezone. Use an IANA name like America/New_York or Europe/London.",
                shown(&name.replace('`', "'"))
            ))
        })?;
    }
    let text = if hours.trim().eq_ignore_ascii_case("off") {
        settings.quiet_hours = None;
        "Quiet hours are off: alerts are posted as they come.".to_owned()
    } else {
        let q = QuietHours::parse(&hours).map_err(|e| {
            UserError::boxed(format!("{e}. Give a window like 22:00-07:00, or off."))
        })?;
        settings.quiet_hours = Some(q);
        format!(
            "Quiet hours set: {:02}:{:02}-{:02}:{:02} {}. Alerts found then are posted when they end.",
            q.start_minute() / 60,
            q.start_minute() % 60,
            q.end_minute() / 60,
            q.end_minute() % 60,
            settings.display_tz.name()
        )
    };
    ctx.data()
        .store
        .upsert_server(&settings, ctx.data().clock.now())
        .await?;
    done(ctx, guild, text).await
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("30m"), Ok(Duration::minutes(30)));
        assert_eq!(parse_duration(" 12h "), Ok(Duration::hours(12)));
        assert_eq!(parse_duration("3d"), Ok(Duration::days(3)));
        assert_eq!(parse_duration("2w"), Ok(Duration::weeks(2)));
        assert!(parse_duration("forever").is_err());
        assert!(parse_duration("0h").is_err());
        assert!(parse_duration("91d").is_err());
        // Too big for any duration: out of range, not a panic.
        assert_eq!(
            parse_duration("99999999999999999w"),
            Err(MuteDurationError::OutOfRange)
        );
        assert_eq!(
            MuteDurationError::OutOfRange.to_string(),
            "a mute lasts from 1 minute to 90 days"
        );
        assert_eq!(
            parse_duration("soon").map_err(|e| e.to_string()),
            Err("`soon` is not a duration like 30m, 12h, 3d or 2w".to_owned())
        );
    }

    /// What a reply may be: within Discord's 2,000 characters, on lines without control
    /// characters (no terminal escapes, no smuggled line breaks).
    fn a_fit_reply(text: &str) -> Result<(), TestCaseError> {
        prop_assert!(
            text.chars().count() <= 2_000,
            "{} characters",
            text.chars().count()
        );
        prop_assert!(!text.chars().any(char::is_control), "{text:?}");
        Ok(())
    }

    /// Option values that have broken parsers before, and arbitrary text up to 6,000
    /// characters (Discord allows 6,000 in a string option).
    fn option_text() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "",
                " ",
                "0m",
                "-5m",
                "1m",
                "90d",
                "91d",
                "99999999999999999w",
                "9223372036854775807m",
                "12h ",
                "3 d",
                "2W",
                "1e3m",
                "22:00-07:00",
                "24:00-07:00",
                "22:00-",
                "-",
                "22:00-22:00",
                "\u{1b}[31m",
                "`rm -rf`",
                "RUT",
                "^rut",
                "Russell 2000",
                "\u{a0}RUT",
            ])
            .prop_map(str::to_owned),
            ".{0,80}",
            prop::collection::vec(any::<char>(), 0..6_000).prop_map(|c| c.into_iter().collect()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// `/mute` durations: a duration in range or an error fit to show, never a panic.
        #[test]
        fn any_duration_text_is_a_mute_length_or_a_fit_error(text in option_text()) {
            match parse_duration(&text) {
                Ok(duration) => {
                    prop_assert!(duration >= Duration::minutes(1));
                    prop_assert!(duration <= Duration::days(MAX_MUTE_DAYS));
                }
                Err(message) => a_fit_reply(&message.to_string())?,
            }
        }

        /// `/quiet-hours` windows.
        #[test]
        fn any_quiet_hours_text_is_a_window_or_a_fit_error(text in option_text()) {
            match QuietHours::parse(&text) {
                Ok(hours) => {
                    prop_assert!((0..1440).contains(&hours.start_minute()));
                    prop_assert!((0..1440).contains(&hours.end_minute()));
                }
                Err(message) => a_fit_reply(&message.to_string())?,
            }
        }

        /// Symbol options: a symbol of the catalog, or "I don't know" with suggestions, fit to
        /// show.
        #[test]
        fn any_symbol_text_resolves_or_gets_a_fit_answer(text in option_text()) {
            let catalog = crate::market::Catalog::builtin();
            if catalog.resolve(text.trim()).is_none() {
                let suggestions = catalog.closest(&text, 3);
                a_fit_reply(&super::super::unknown_text(&text, &suggestions))?;
            }
        }

        /// `/rules add` options as Discord can send them (the numbers are only bounded where
        /// the command declares `min`/`max`): a rule or an error, never a panic.
        #[test]
        fn any_rule_options_make_a_rule_or_a_fit_error(
            kind in prop::sample::select(vec!["record_high", "period_high", "period_low", "streak", "big_move"]),
            timeframe in prop::option::of(prop::sample::select(vec![Timeframe::Daily, Timeframe::Weekly, Timeframe::Monthly])),
            min_length in prop::option::of(2u32..=1000),
            on_pace in prop::option::of(any::<bool>()),
            weeks in prop::option::of(1u32..=5218),
            threshold_pct in prop::option::of(prop_oneof![any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(-1.0), Just(1e300)]),
        ) {
            let mut raw = RawRule {
                kind: kind.to_owned(),
                symbols: vec!["^RUT".to_owned()],
                timeframe,
                min_length,
                on_pace,
                weeks,
                threshold_pct,
                ..RawRule::default()
            };
            raw.id = new_rule_id(&raw, "RUT", &BTreeSet::new());
            match Rule::from_raw(raw.clone()) {
                Ok(rule) => {
                    if let Some(pct) = threshold_pct.filter(|_| kind == "big_move") {
                        prop_assert!(pct.is_finite() && pct > 0.0, "threshold {pct} accepted");
                    }
                    prop_assert_eq!(rule.id(), raw.id.as_str());
                    a_fit_reply(&describe(&raw))?;
                }
                Err(error) => a_fit_reply(&error.to_string())?,
            }
        }
    }

    #[test]
    fn rule_ids_are_readable_and_unique() {
        let raw = RawRule {
            kind: "streak".into(),
            timeframe: Some(Timeframe::Weekly),
            direction: Some(crate::rules::DirectionFilter::Up),
            ..RawRule::default()
        };
        let mut taken = BTreeSet::new();
        assert_eq!(new_rule_id(&raw, "RUT", &taken), "rut-streak-weekly-up");
        taken.insert("rut-streak-weekly-up".to_owned());
        assert_eq!(new_rule_id(&raw, "RUT", &taken), "rut-streak-weekly-up-2");
        let btc = RawRule {
            kind: "record_high".into(),
            ..RawRule::default()
        };
        assert_eq!(new_rule_id(&btc, "BTC-USD", &taken), "btc-usd-record-high");
    }
}
