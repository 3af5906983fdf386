//! One tick: the symbols any server's rules need (each fetched once) → every server's rules
//! evaluated on the sessions it has not seen yet → the new alerts, grouped per server,
//! destination, symbol and session, written to the outbox in one transaction.
//!
//! Re-running a tick is harmless: an alert whose dedup key is already logged is skipped, and
//! the watermark (`evaluated through`) only moves forward.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::DiscordMessage;
use crate::alerts::{context_field, event_json, headline, render_embed};
use crate::market::sanity::sessions_behind;
use crate::market::{Calendar, Series, Symbol};
use crate::providers::live;
use crate::providers::market_data::Held;
use crate::providers::{Histories, HistoryError};
use crate::rules::{Event, Rule, RuleSet, cross};
use crate::service::{ReplayRange, replay_series};
use crate::shared::ChannelId;
use crate::store::{
    AlertGroup, NewAlert, RoleId, ServerId, ServerSettings, Store, StoreError, StoredRule,
    TickWrite,
};

/// How many sessions a tick looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickLimits {
    /// Sessions evaluated the first time a server sees a symbol (1 = only the latest: a new
    /// server is not flooded with history).
    pub first_run_sessions: usize,
    /// At most this many unseen sessions are evaluated after a long outage; older ones are
    /// skipped (and logged) rather than posted as stale news.
    pub max_catch_up_sessions: usize,
    /// A history more than this many sessions behind its calendar's latest closed session is
    /// stale: warned about and reported in [`TickReport::stale`].
    pub stale_sessions: u32,
    /// How long a job keeps re-checking a held close the evidence has not decided
    /// (`[sanity] confirm_within_secs`); zero leaves it to the next job.
    pub confirm_within: std::time::Duration,
}

impl Default for TickLimits {
    fn default() -> Self {
        Self {
            first_run_sessions: 1,
            max_catch_up_sessions: 5,
            stale_sessions: 3,
            confirm_within: std::time::Duration::from_secs(900),
        }
    }
}

/// What a tick did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickReport {
    pub symbols: usize,
    pub events: usize,
    pub alerts: usize,
    pub duplicates: usize,
    pub messages: usize,
    /// Symbols whose history could not be had this tick (they are retried next tick).
    pub failed: Vec<String>,
    /// Symbols whose history was had, in ticker order.
    pub loaded: Vec<String>,
    /// Loaded histories that are stale: ticker -> why (its latest bar, sessions behind).
    pub stale: BTreeMap<String, String>,
    /// Loaded histories whose latest close is held back: ticker -> the held close and what
    /// the evidence said.
    pub held: BTreeMap<String, Held>,
}

impl TickReport {
    /// The tickers whose held close waits for evidence (not rejected): worth checking again
    /// soon.
    pub fn undecided(&self) -> BTreeSet<String> {
        self.held
            .iter()
            .filter(|(_, h)| !h.rejected)
            .map(|(ticker, _)| ticker.clone())
            .collect()
    }

    /// Adds a re-check of some symbols to this report: its counts add up, and what it found
    /// about the symbols it loaded replaces what this report said about them.
    pub fn absorb(&mut self, recheck: TickReport) {
        self.events += recheck.events;
        self.alerts += recheck.alerts;
        self.duplicates += recheck.duplicates;
        self.messages += recheck.messages;
        for ticker in recheck.loaded.iter().chain(&recheck.failed) {
            self.held.remove(ticker);
            self.stale.remove(ticker);
        }
        self.held.extend(recheck.held);
        self.stale.extend(recheck.stale);
    }
}

/// A server's rules ready to run, and where each rule's alerts go.
pub(super) struct Plan {
    pub(super) server: ServerId,
    rules: RuleSet,
    routes: HashMap<String, (Option<i64>, Option<RoleId>)>,
    /// The rules whose alerts carry the symbol's chart.
    charted: HashSet<String>,
    pub(super) symbols: Vec<Arc<Symbol>>,
    /// The histories its two-history rules compare with (loaded, not evaluated).
    pub(super) versus: Vec<Arc<Symbol>>,
    /// Where its daily digest goes, when it asked for one.
    digest: Option<ChannelId>,
}

async fn plan(store: &dyn Store, settings: &ServerSettings) -> Result<Plan, StoreError> {
    let server = settings.server.clone();
    let stored: Vec<StoredRule> = store.rules(&server).await?;
    let mut rules = Vec::new();
    let mut routes = HashMap::new();
    let mut charted = HashSet::new();
    let mut symbols: BTreeMap<String, Arc<Symbol>> = BTreeMap::new();
    for stored_rule in stored {
        match Rule::from_raw(stored_rule.rule.clone()) {
            Ok(rule) => {
                for name in &stored_rule.rule.symbols {
                    if let Ok(symbol) = live::resolve(name) {
                        symbols.insert(symbol.ticker().to_owned(), symbol);
                    }
                }
                routes.insert(
                    rule.id().to_owned(),
                    (stored_rule.destination, stored_rule.mention_role),
                );
                if rule.chart() {
                    charted.insert(rule.id().to_owned());
                }
                rules.push(rule);
            }
            Err(error) => {
                tracing::error!(%server, rule = %stored_rule.rule.id, %error, "ignoring a stored rule that no longer parses");
            }
        }
    }
    for name in store.watchlist(&server).await? {
        match live::resolve(&name) {
            Ok(symbol) => {
                symbols.insert(symbol.ticker().to_owned(), symbol);
            }
            Err(error) => {
                tracing::warn!(%server, symbol = %name, %error, "ignoring a watchlist entry")
            }
        }
    }
    let rules = RuleSet::new(rules).unwrap_or_else(|error| {
        tracing::error!(%server, %error, "stored rules conflict; evaluating none");
        RuleSet::default()
    });
    let mut versus = Vec::new();
    for name in cross::versus_symbols(&rules) {
        match live::resolve(name) {
            Ok(symbol) => versus.push(symbol),
            Err(error) => {
                tracing::warn!(%server, symbol = %name, %error, "ignoring a correlation rule's versus symbol")
            }
        }
    }
    Ok(Plan {
        server,
        rules,
        routes,
        charted,
        symbols: symbols.into_values().collect(),
        versus,
        digest: settings.digest_channel,
    })
}

/// How far back a tick looks for correlation crossings it could not see before (see
/// [`new_events`]).
const LATE_COMPARISON_DAYS: u64 = 7;

/// The events of the sessions after `through` (at most `limits` of them), and the last session
/// looked at. The evaluation is replay's ([`replay_series`]) from the first unseen session; an
/// evaluation that fails is logged and looks at nothing, so those sessions are tried again.
///
/// Two-history rules (`correlation_shift`) compare with the history `others` gives for their
/// `versus` symbol (by name as written). When it gives none, the other rules' events are still
/// returned but the sessions count as not looked at, so the comparison is made on a later tick
/// (the outbox keeps the repeated events once).
pub fn new_events<'a>(
    series: &Series,
    rules: &RuleSet,
    through: Option<NaiveDate>,
    limits: TickLimits,
    others: &dyn Fn(&str) -> Option<&'a Series>,
) -> (Vec<Event>, Option<NaiveDate>) {
    let bars = series.bars();
    let Some(last) = series.last_date() else {
        return (Vec::new(), None);
    };
    let unseen = match through {
        Some(date) => bars.len() - bars.partition_point(|b| b.date() <= date),
        None => limits.first_run_sessions.min(bars.len()),
    };
    let evaluate = unseen.min(limits.max_catch_up_sessions.max(1));
    if evaluate < unseen {
        tracing::warn!(symbol = %series.symbol().ticker(), skipped = unseen - evaluate, "too many unseen sessions; only the latest are evaluated");
    }
    let Some(first) = bars.get(bars.len() - evaluate) else {
        return (Vec::new(), Some(last)); // nothing unseen
    };
    let range = ReplayRange {
        from: first.date(),
        to: None,
    };
    match replay_series(series, rules, range) {
        Ok(mut events) => {
            let mut looked_at = Some(last);
            // The other history may reach a date only later (a crypto day closes at midnight
            // UTC, after the index's evening tick): comparisons look back a week, and the
            // outbox keeps each crossing once.
            let compare_from = match through {
                Some(_) => range
                    .from
                    .checked_sub_days(chrono::Days::new(LATE_COMPARISON_DAYS))
                    .unwrap_or(range.from),
                None => range.from,
            };
            for name in cross::versus_symbols(rules) {
                match others(name) {
                    Some(versus) => events.extend(cross::correlation_events(
                        series,
                        versus,
                        rules,
                        compare_from,
                        None,
                    )),
                    None => {
                        tracing::warn!(symbol = %series.symbol().ticker(), versus = %name, "no history to compare with this tick; correlation rules wait for it");
                        looked_at = through;
                    }
                }
            }
            // Stable: same-date events keep the one-history order, comparisons after.
            events.sort_by_key(|e| e.date);
            (events, looked_at)
        }
        Err(error) => {
            tracing::error!(symbol = %series.symbol().ticker(), %error, "the rules could not be evaluated on this history; it is tried again next tick");
            (Vec::new(), through)
        }
    }
}

/// Runs one tick at `now` for the symbols of `calendar` (all symbols when `None`).
pub async fn tick(
    store: &dyn Store,
    histories: &Histories,
    limits: TickLimits,
    calendar: Option<Calendar>,
    now: DateTime<Utc>,
) -> Result<TickReport, StoreError> {
    tick_symbols(store, histories, limits, calendar, None, now).await
}

/// Runs one tick at `now` for the symbols of `calendar` (all when `None`), and of those only
/// the tickers in `only` when given (a re-check of held closes).
#[tracing::instrument(skip_all, fields(calendar = ?calendar))]
pub async fn tick_symbols(
    store: &dyn Store,
    histories: &Histories,
    limits: TickLimits,
    calendar: Option<Calendar>,
    only: Option<&BTreeSet<String>>,
    now: DateTime<Utc>,
) -> Result<TickReport, StoreError> {
    let mut plans = Vec::new();
    for settings in store.servers().await? {
        plans.push(plan(store, &settings).await?);
    }
    let mut needed: BTreeMap<String, Arc<Symbol>> = plans
        .iter()
        .flat_map(|p| p.symbols.iter())
        .filter(|s| calendar.is_none_or(|c| s.calendar() == c))
        .filter(|s| only.is_none_or(|only| only.contains(s.ticker())))
        .map(|s| (s.ticker().to_owned(), s.clone()))
        .collect();
    // What a plan's evaluated symbols are compared with, whatever its calendar.
    for plan in &plans {
        if plan.symbols.iter().any(|s| needed.contains_key(s.ticker())) {
            for symbol in &plan.versus {
                needed
                    .entry(symbol.ticker().to_owned())
                    .or_insert_with(|| symbol.clone());
            }
        }
    }
    let mut report = TickReport {
        symbols: needed.len(),
        ..TickReport::default()
    };
    let mut series: HashMap<String, (Series, &'static str)> = HashMap::new();
    for (ticker, symbol) in &needed {
        match histories.history(store, symbol.clone(), now).await {
            Ok(loaded) => {
                if let Some(last) = loaded.series.last_date() {
                    let behind = sessions_behind(symbol.calendar(), last, now);
                    if behind > limits.stale_sessions {
                        let why = format!(
                            "latest bar {last}, {behind} sessions behind the latest closed session"
                        );
                        tracing::warn!(symbol = %ticker, latest_bar = %last, sessions_behind = behind, limit = limits.stale_sessions, "stale history: the provider has not updated this symbol");
                        report.stale.insert(ticker.clone(), why);
                    }
                }
                if let Some(held) = loaded.held {
                    report.held.insert(ticker.clone(), held);
                }
                report.loaded.push(ticker.clone());
                series.insert(ticker.clone(), (loaded.series, loaded.source));
            }
            // The database failing (full, locked, an I/O error) while it keeps the bar cache is
            // not missing data: the tick fails, loudly, rather than passing without the symbol.
            Err(HistoryError::Cache(error)) => match error.downcast::<StoreError>() {
                Ok(error @ StoreError::Query { .. }) => return Err(error),
                Ok(error) => {
                    tracing::warn!(symbol = %ticker, %error, "no history this tick: the bar cache");
                    report.failed.push(ticker.clone());
                }
                Err(error) => {
                    tracing::warn!(symbol = %ticker, %error, "no history this tick: the bar cache");
                    report.failed.push(ticker.clone());
                }
            },
            Err(error) => {
                tracing::warn!(symbol = %ticker, %error, "no history this tick");
                report.failed.push(ticker.clone());
            }
        }
    }

    let mut write = TickWrite::default();
    for plan in &plans {
        for symbol in &plan.symbols {
            if calendar.is_some_and(|c| symbol.calendar() != c)
                || only.is_some_and(|only| !only.contains(symbol.ticker()))
            {
                continue; // loaded only to be compared with
            }
            let Some((history, source)) = series.get(symbol.ticker()) else {
                continue;
            };
            let rules = plan.rules.for_symbol(symbol);
            if rules.is_empty() {
                continue;
            }
            let through = store
                .evaluated_through(&plan.server, symbol.ticker())
                .await?;
            let others = |name: &str| {
                let versus = live::resolve(name).ok()?;
                series.get(versus.ticker()).map(|(history, _)| history)
            };
            let (events, last) = new_events(history, &rules, through, limits, &others);
            report.events += events.len();
            let mut groups: BTreeMap<(i64, NaiveDate, Option<RoleId>), Vec<NewAlert>> =
                BTreeMap::new();
            let mut unrouted = BTreeSet::new();
            for event in &events {
                let Some((Some(destination), role)) = plan.routes.get(&*event.rule_id).copied()
                else {
                    unrouted.insert(event.rule_id.to_string());
                    continue;
                };
                let key = event.dedup_key();
                let mut embed = render_embed(event, source);
                embed.fields.extend(context_field(event, history));
                groups
                    .entry((destination, event.date, role))
                    .or_default()
                    .push(NewAlert {
                        rule_id: key.rule.to_string(),
                        kind: key.kind.to_owned(),
                        period: key.period.to_string(),
                        embed,
                        headline: headline(event),
                        event: event_json(event),
                        chart: plan.charted.contains(&*event.rule_id),
                    });
            }
            for rule in unrouted {
                tracing::warn!(server = %plan.server, %rule, "rule has no destination; its alerts are not sent");
            }
            for ((destination, session, mention_role), alerts) in groups {
                write.groups.push(AlertGroup {
                    server: plan.server.clone(),
                    destination,
                    symbol: symbol.ticker().to_owned(),
                    session,
                    mention_role,
                    alerts,
                });
            }
            if let Some(last) = last {
                write
                    .evaluated
                    .push((plan.server.clone(), symbol.ticker().to_owned(), last));
            }
        }
    }
    // A re-check of held closes sends no digest: the tick it re-checks did.
    if only.is_none() {
        for plan in &plans {
            if let Some(channel) = plan.digest {
                super::digest::digests(store, plan, channel, &series, calendar, &mut write).await?;
            }
        }
    }
    let enqueued = store.enqueue(&write, &DiscordMessage, now).await?;
    report.alerts = enqueued.alerts;
    report.duplicates = enqueued.duplicates;
    report.messages = enqueued.messages;
    tracing::info!(
        symbols = report.symbols,
        events = report.events,
        alerts = report.alerts,
        duplicates = report.duplicates,
        messages = report.messages,
        failed = report.failed.len(),
        stale = report.stale.len(),
        "tick done"
    );
    Ok(report)
}
