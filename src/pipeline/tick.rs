//! One tick: the symbols any server's rules need, each loaded once and one at a time (a
//! [`TickSource`]) → every server's rules for it evaluated on the sessions the server has not
//! seen yet, then the history dropped → the new alerts, grouped per server, destination,
//! symbol and session, written to the outbox in one transaction. Only the histories that
//! comparisons and the digest's pair need stay for the whole tick, so a tick over hundreds of
//! symbols holds a few histories, not all of them.
//!
//! Re-running a tick is harmless: an alert whose dedup key is already logged is skipped, and
//! the watermark (`evaluated through`) only moves forward.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::DiscordMessage;
use crate::alerts::{context_field, event_json, headline, render_embed};
use crate::market::sanity::sessions_behind;
use crate::market::{Calendar, Series, Symbol};
use crate::providers::live;
use crate::providers::market_data::Held;
use crate::providers::{Histories, HistoryError};
use crate::rules::{Event, Rule, RuleSet, cross};
use crate::service::digest::{DigestRow, latest_line};
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

/// The rules' shapes, ids left out, in order: two servers whose rules for a symbol have the
/// same shapes find the same events on its history.
fn shapes(rules: &RuleSet) -> String {
    let mut text = String::new();
    for rule in rules.rules() {
        text.push_str(&format!("{:?};", rule.kind()));
    }
    text
}

/// The events one evaluation found, rendered, with their rule as a position in the rule set
/// (each server that shares them puts its own rule's id there).
struct Evaluated {
    alerts: Vec<RenderedAlert>,
    /// The last session looked at.
    last: Option<NaiveDate>,
}

struct RenderedAlert {
    /// The position of the event's rule in the evaluated rule set.
    rule: usize,
    date: NaiveDate,
    kind: &'static str,
    period: String,
    embed: crate::alerts::Embed,
    headline: String,
    /// As `replay --json` writes it; its `rule` and `dedup_key` are rewritten with each
    /// server's rule id.
    event: serde_json::Value,
    /// The dedup key as text after the rule id (`/^RUT/record_high/2025-09-18`).
    key_after_rule: String,
}

impl Evaluated {
    fn render(
        events: Vec<Event>,
        last: Option<NaiveDate>,
        ids: Vec<Arc<str>>,
        history: &Series,
        source: &str,
    ) -> Self {
        let alerts = events
            .iter()
            .filter_map(|event| {
                let Some(rule) = ids.iter().position(|id| *id == event.rule_id) else {
                    tracing::error!(rule = %event.rule_id, "an event of a rule not in its set");
                    return None;
                };
                let key = event.dedup_key();
                let key_text = key.to_string();
                let key_after_rule = key_text
                    .strip_prefix(&*event.rule_id)
                    .unwrap_or(&key_text)
                    .to_owned();
                let mut embed = render_embed(event, source);
                embed.fields.extend(context_field(event, history));
                Some(RenderedAlert {
                    rule,
                    date: event.date,
                    kind: key.kind,
                    period: key.period.to_string(),
                    embed,
                    headline: headline(event),
                    event: event_json(event),
                    key_after_rule,
                })
            })
            .collect();
        Self { alerts, last }
    }
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

/// Every server's [`Plan`], read from the store at the start of a tick.
pub struct Plans(Vec<Plan>);

/// The histories of one tick by ticker, with the name of their source.
pub type TickHistories = HashMap<String, (Series, &'static str)>;

impl Plans {
    /// The plans of every server in the store.
    pub async fn load(store: &dyn Store) -> Result<Self, StoreError> {
        let mut plans = Vec::new();
        for settings in store.servers().await? {
            plans.push(plan(store, &settings).await?);
        }
        Ok(Self(plans))
    }

    /// The symbols the plans evaluate for `calendar` (all when `None`) and, when given, only
    /// the tickers in `only`, plus what their two-history rules compare them with.
    pub fn needed(
        &self,
        calendar: Option<Calendar>,
        only: Option<&BTreeSet<String>>,
    ) -> BTreeMap<String, Arc<Symbol>> {
        let mut needed: BTreeMap<String, Arc<Symbol>> = self
            .0
            .iter()
            .flat_map(|p| p.symbols.iter())
            .filter(|s| calendar.is_none_or(|c| s.calendar() == c))
            .filter(|s| only.is_none_or(|only| only.contains(s.ticker())))
            .map(|s| (s.ticker().to_owned(), s.clone()))
            .collect();
        // What a plan's evaluated symbols are compared with, whatever its calendar.
        for plan in &self.0 {
            if plan.symbols.iter().any(|s| needed.contains_key(s.ticker())) {
                for symbol in &plan.versus {
                    needed
                        .entry(symbol.ticker().to_owned())
                        .or_insert_with(|| symbol.clone());
                }
            }
        }
        needed
    }
}

/// Where a tick gets its histories: one symbol at a time, so that a tick over hundreds of
/// symbols holds only the one it evaluates (and the few every server compares with).
#[async_trait]
pub trait TickSource: Sync {
    /// The history of `symbol` for this tick with the name of its source, or `None` when it
    /// cannot be had this tick (which `report` then says). An error is the store failing: the
    /// tick fails with it.
    async fn load(
        &self,
        symbol: &Arc<Symbol>,
        report: &mut TickReport,
    ) -> Result<Option<(Series, &'static str)>, StoreError>;
}

/// Histories already in memory (tests and benchmarks): a ticker that is not there cannot be had.
#[async_trait]
impl TickSource for TickHistories {
    async fn load(
        &self,
        symbol: &Arc<Symbol>,
        report: &mut TickReport,
    ) -> Result<Option<(Series, &'static str)>, StoreError> {
        let ticker = symbol.ticker().to_owned();
        match self.get(&ticker) {
            Some(history) => {
                report.loaded.push(ticker);
                Ok(Some(history.clone()))
            }
            None => {
                report.failed.push(ticker);
                Ok(None)
            }
        }
    }
}

/// A tick's histories from [`Histories`] (the live providers and their bar cache, or CSV
/// files), each checked for staleness and a held close as it is loaded.
pub struct HistoryLookup<'a> {
    store: &'a dyn Store,
    histories: &'a Histories,
    limits: TickLimits,
    now: DateTime<Utc>,
}

impl<'a> HistoryLookup<'a> {
    /// Histories as of `now`, their bar cache in `store`; `limits` says when one is stale.
    pub fn new(
        store: &'a dyn Store,
        histories: &'a Histories,
        limits: TickLimits,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            store,
            histories,
            limits,
            now,
        }
    }
}

#[async_trait]
impl TickSource for HistoryLookup<'_> {
    async fn load(
        &self,
        symbol: &Arc<Symbol>,
        report: &mut TickReport,
    ) -> Result<Option<(Series, &'static str)>, StoreError> {
        let ticker = symbol.ticker().to_owned();
        match self
            .histories
            .history(self.store, symbol.clone(), self.now)
            .await
        {
            Ok(loaded) => {
                if let Some(last) = loaded.series.last_date() {
                    let behind = sessions_behind(symbol.calendar(), last, self.now);
                    if behind > self.limits.stale_sessions {
                        let why = format!(
                            "latest bar {last}, {behind} sessions behind the latest closed session"
                        );
                        tracing::warn!(symbol = %ticker, latest_bar = %last, sessions_behind = behind, limit = self.limits.stale_sessions, "stale history: the provider has not updated this symbol");
                        report.stale.insert(ticker.clone(), why);
                    }
                }
                if let Some(held) = loaded.held {
                    report.held.insert(ticker.clone(), held);
                }
                report.loaded.push(ticker);
                Ok(Some((loaded.series, loaded.source)))
            }
            // The database failing (full, locked, an I/O error) while it keeps the bar cache is
            // not missing data: the tick fails, loudly, rather than passing without the symbol.
            Err(HistoryError::Cache(error)) => match error.downcast::<StoreError>() {
                Ok(error @ StoreError::Query { .. }) => Err(error),
                Ok(error) => {
                    tracing::warn!(symbol = %ticker, %error, "no history this tick: the bar cache");
                    report.failed.push(ticker);
                    Ok(None)
                }
                Err(error) => {
                    tracing::warn!(symbol = %ticker, %error, "no history this tick: the bar cache");
                    report.failed.push(ticker);
                    Ok(None)
                }
            },
            Err(error) => {
                tracing::warn!(symbol = %ticker, %error, "no history this tick");
                report.failed.push(ticker);
                Ok(None)
            }
        }
    }
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
    let plans = Plans::load(store).await?;
    let source = HistoryLookup::new(store, histories, limits, now);
    let mut report = TickReport::default();
    evaluate_and_enqueue(
        store,
        &plans,
        &source,
        limits,
        calendar,
        only,
        now,
        &mut report,
    )
    .await?;
    Ok(report)
}

/// A tick once its plans are read: the histories it needs, each loaded from `source` once
/// and dropped when every server's rules for it are evaluated on the sessions the server has
/// not seen; the new alerts (and the digests, unless this is a re-check of `only` some
/// symbols) written to the outbox in one transaction, counted in `report`.
///
/// Only the histories that two-history rules compare with and the digest's pair are kept
/// for the whole tick, so its memory does not grow with the number of symbols.
#[allow(clippy::too_many_arguments)]
pub async fn evaluate_and_enqueue(
    store: &dyn Store,
    plans: &Plans,
    source: &dyn TickSource,
    limits: TickLimits,
    calendar: Option<Calendar>,
    only: Option<&BTreeSet<String>>,
    now: DateTime<Utc>,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    let needed = plans.needed(calendar, only);
    report.symbols = needed.len();
    let plans = &plans.0;
    let evaluated_here = |symbol: &Symbol| {
        calendar.is_none_or(|c| symbol.calendar() == c)
            && only.is_none_or(|only| only.contains(symbol.ticker()))
    };
    // Which plans evaluate each symbol, in plan order.
    let mut evaluating: HashMap<&str, Vec<usize>> = HashMap::new();
    for (at, plan) in plans.iter().enumerate() {
        for symbol in plan.symbols.iter().filter(|s| evaluated_here(s)) {
            evaluating.entry(symbol.ticker()).or_default().push(at);
        }
    }
    // A re-check of held closes sends no digest: the tick it re-checks did.
    let digesting: Vec<(usize, ChannelId)> = match only {
        Some(_) => Vec::new(),
        None => plans
            .iter()
            .enumerate()
            .filter_map(|(at, plan)| Some((at, plan.digest?)))
            .collect(),
    };
    let digested: HashSet<&str> = digesting
        .iter()
        .flat_map(|&(at, _)| plans[at].symbols.iter())
        .filter(|s| calendar.is_none_or(|c| s.calendar() == c))
        .map(|s| s.ticker())
        .collect();

    // Loaded first and kept to the end: what the evaluated symbols are compared with, and
    // the digest's pair when a digest watches both.
    let mut keep: BTreeSet<&str> = BTreeSet::new();
    for plan in plans {
        if plan
            .symbols
            .iter()
            .any(|s| evaluating.contains_key(s.ticker()))
        {
            keep.extend(plan.versus.iter().map(|s| s.ticker()));
        }
    }
    let (a, b) = crate::service::digest::PAIR;
    if digesting
        .iter()
        .any(|&(at, _)| watches(&plans[at], a) && watches(&plans[at], b))
    {
        keep.extend([a, b]);
    }
    let mut kept: TickHistories = HashMap::new();
    for ticker in keep {
        if let Some(symbol) = needed.get(ticker)
            && let Some(history) = source.load(symbol, report).await?
        {
            kept.insert(ticker.to_owned(), history);
        }
    }

    let watermarks = store.watermarks().await?;
    let mut groups: Vec<Vec<AlertGroup>> = plans.iter().map(|_| Vec::new()).collect();
    let mut write = TickWrite::default();
    let mut lines: DigestLines = HashMap::new();
    for (ticker, symbol) in &needed {
        let plans_of = evaluating
            .get(ticker.as_str())
            .map_or(&[][..], Vec::as_slice);
        let history = match kept.get(ticker) {
            Some(history) => history.clone(),
            None if plans_of.is_empty() && !digested.contains(ticker.as_str()) => continue,
            None => match source.load(symbol, report).await? {
                Some(history) => history,
                None => continue,
            },
        };
        if digested.contains(ticker.as_str()) {
            lines.insert(
                ticker.clone(),
                (history.0.last_date(), latest_line(&history.0)),
            );
        }
        let others = |name: &str| {
            let versus = live::resolve(name).ok()?;
            kept.get(versus.ticker()).map(|(history, _)| history)
        };
        let evaluate = Evaluate {
            symbol,
            history: &history,
            watermarks: &watermarks,
            limits,
            others: &others,
        };
        evaluate.for_plans(plans, plans_of, &mut groups, &mut write, report);
    }
    write.groups = groups.into_iter().flatten().collect();
    for (at, channel) in digesting {
        super::digest::digests(
            store, &plans[at], channel, &lines, &kept, calendar, &mut write,
        )
        .await?;
    }
    report.loaded.sort();
    report.failed.sort();
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
    Ok(())
}

/// Whether `plan` evaluates or compares with `ticker`.
pub(super) fn watches(plan: &Plan, ticker: &str) -> bool {
    plan.symbols
        .iter()
        .chain(&plan.versus)
        .any(|s| s.ticker() == ticker)
}

/// A digested symbol's latest bar and its line as of that bar.
pub(super) type DigestLine = (Option<NaiveDate>, Result<DigestRow, Arc<Symbol>>);

/// Each digested symbol's [`DigestLine`], by ticker (absent: not loaded).
pub(super) type DigestLines = HashMap<String, DigestLine>;

/// One symbol's history, evaluated for every plan that has rules for it.
struct Evaluate<'a> {
    symbol: &'a Arc<Symbol>,
    history: &'a (Series, &'static str),
    watermarks: &'a HashMap<(String, String), NaiveDate>,
    limits: TickLimits,
    others: &'a dyn Fn(&str) -> Option<&'a Series>,
}

impl Evaluate<'_> {
    /// Evaluates the plans at `plans_of` (positions in `plans`), each server's alerts grouped
    /// per destination, session and role into `groups` (one list per plan), its watermark into
    /// `write`.
    ///
    /// Servers whose rules for the symbol have the same shapes, in the same order, and have
    /// seen it through the same session find the same events, but for their rules' ids: the
    /// rules are evaluated and the alerts rendered once per such group, and every later server
    /// of it takes them under its own ids.
    fn for_plans(
        &self,
        plans: &[Plan],
        plans_of: &[usize],
        groups: &mut [Vec<AlertGroup>],
        write: &mut TickWrite,
        report: &mut TickReport,
    ) {
        let symbol = self.symbol;
        let (history, source) = self.history;
        let mut evaluated: HashMap<(Option<NaiveDate>, String), Evaluated> = HashMap::new();
        for &at in plans_of {
            let plan = &plans[at];
            let rules = plan.rules.for_symbol(symbol);
            if rules.is_empty() {
                continue;
            }
            let through = self
                .watermarks
                .get(&(plan.server.as_str().to_owned(), symbol.ticker().to_owned()))
                .copied();
            let ids: Vec<Arc<str>> = rules.rules().iter().map(|r| Arc::from(r.id())).collect();
            let shared = evaluated
                .entry((through, shapes(&rules)))
                .or_insert_with(|| {
                    let (events, last) =
                        new_events(history, &rules, through, self.limits, self.others);
                    Evaluated::render(events, last, ids.clone(), history, source)
                });
            report.events += shared.alerts.len();
            let mut by_group: BTreeMap<(i64, NaiveDate, Option<RoleId>), Vec<NewAlert>> =
                BTreeMap::new();
            let mut unrouted = BTreeSet::new();
            for rendered in &shared.alerts {
                let rule_id = &ids[rendered.rule];
                let Some((Some(destination), role)) = plan.routes.get(&**rule_id).copied() else {
                    unrouted.insert(rule_id.to_string());
                    continue;
                };
                let mut event = rendered.event.clone();
                if let Some(object) = event.as_object_mut() {
                    object.insert("rule".to_owned(), serde_json::Value::from(&**rule_id));
                    if object.contains_key("dedup_key") {
                        let key = format!("{rule_id}{}", rendered.key_after_rule);
                        object.insert("dedup_key".to_owned(), serde_json::Value::from(key));
                    }
                }
                by_group
                    .entry((destination, rendered.date, role))
                    .or_default()
                    .push(NewAlert {
                        rule_id: rule_id.to_string(),
                        kind: rendered.kind.to_owned(),
                        period: rendered.period.clone(),
                        embed: rendered.embed.clone(),
                        headline: rendered.headline.clone(),
                        event,
                        chart: plan.charted.contains(&**rule_id),
                    });
            }
            for rule in unrouted {
                tracing::warn!(server = %plan.server, %rule, "rule has no destination; its alerts are not sent");
            }
            for ((destination, session, mention_role), alerts) in by_group {
                groups[at].push(AlertGroup {
                    server: plan.server.clone(),
                    destination,
                    symbol: symbol.ticker().to_owned(),
                    session,
                    mention_role,
                    alerts,
                });
            }
            if let Some(last) = shared.last {
                write
                    .evaluated
                    .push((plan.server.clone(), symbol.ticker().to_owned(), last));
            }
        }
    }
}
