//! Evaluating rules over a symbol's history, one session at a time.
//!
//! An [`Evaluator`] owns the symbol's [`Tracker`] and the rules that apply to it. `warm` feeds
//! history without alerting (the context before a replay starts, or a backfill); `step` feeds one
//! session and appends the events its close produces, exactly as the scheduler would after that
//! close. Within one step a stronger event suppresses a weaker one of the same day, and an event
//! whose dedup key a rule already produced is not produced again.

use std::sync::Arc;

use chrono::NaiveDate;

use crate::analytics::{Direction, Intraday, Needs, OutOfOrder, StreakFact, Tracker};
use crate::market::{Bar, PeriodKey, Symbol};

use super::spec::{Basis, RuleKind, RuleSet};
use super::watch::Watch;
use super::{Event, Fact};

#[derive(Debug, Clone)]
struct Armed {
    id: Arc<str>,
    kind: RuleKind,
    /// Latest period this rule reported, per flavour (final, on pace): periods only move
    /// forward, so remembering the latest is enough to never repeat a key.
    last: [Option<PeriodKey>; 2],
}

/// Runs a rule set over one symbol's bars.
#[derive(Debug, Clone)]
pub struct Evaluator {
    symbol: Arc<Symbol>,
    rules: Vec<Armed>,
    tracker: Tracker,
    /// `None` evaluates every rule on every session (for checking the watch itself).
    watch: Option<Watch>,
}

impl Evaluator {
    /// Arms the rules of `rules` that apply to `symbol`.
    pub fn new(symbol: Arc<Symbol>, rules: &RuleSet) -> Self {
        let armed: Vec<Armed> = rules
            .rules()
            .iter()
            .filter(|r| r.applies_to(&symbol) && !r.kind().needs_two_histories())
            .map(|r| Armed {
                id: Arc::from(r.id()),
                kind: r.kind().clone(),
                last: [None, None],
            })
            .collect();
        Self {
            tracker: Tracker::with_needs(symbol.calendar(), needs(&armed)),
            watch: Some(Watch::new(armed.iter().map(|a| &a.kind))),
            symbol,
            rules: armed,
        }
    }

    /// Evaluates every rule on every session instead of first asking the [`Watch`] whether any
    /// could fire. Slower, same events: it exists so tests can prove the latter.
    #[doc(hidden)]
    pub fn without_watch(mut self) -> Self {
        self.watch = None;
        self
    }

    pub fn symbol(&self) -> &Arc<Symbol> {
        &self.symbol
    }

    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Feeds many bars as context at once (the tracker's bulk path): facts advance, nothing
    /// is reported. The same state as calling [`warm`](Self::warm) for each.
    pub fn warm_all(&mut self, bars: &[Bar]) -> Result<(), OutOfOrder> {
        self.tracker.extend(bars)
    }

    /// Feeds a bar as context: facts advance, nothing is reported.
    pub fn warm(&mut self, bar: &Bar) -> Result<(), OutOfOrder> {
        self.tracker.push(bar)
    }

    /// Feeds the next session's bar and appends the events of its close to `out`.
    /// Returns how many were appended.
    pub fn step(&mut self, bar: &Bar, out: &mut Vec<Event>) -> Result<usize, OutOfOrder> {
        self.tracker.push(bar)?;
        if self.watch.is_some_and(|w| !w.may_fire(&self.tracker)) {
            return Ok(0);
        }
        let start = out.len();
        let ctx = Context {
            tracker: &self.tracker,
            symbol: &self.symbol,
            history_from: self.tracker.first_date().unwrap_or(bar.date()),
        };
        for rule in &mut self.rules {
            evaluate(rule, &ctx, out);
        }
        suppress(out, start);
        Ok(out.len() - start)
    }
}

/// What the tracker must maintain for these rules, and nothing more.
fn needs(rules: &[Armed]) -> Needs {
    let mut needs = Needs::NONE;
    for rule in rules {
        match rule.kind {
            RuleKind::RecordHigh { basis } => needs.intraday |= basis == Basis::Intraday,
            RuleKind::PeriodHigh { .. } => needs.highs = true,
            RuleKind::PeriodLow { .. } => needs.lows = true,
            RuleKind::Streak { timeframe, .. } => needs.streaks[timeframe as usize] = true,
            RuleKind::BigMove {
                timeframe,
                threshold_pct,
                ..
            } => {
                let floor = &mut needs.moves[timeframe as usize];
                *floor = Some(floor.map_or(threshold_pct, |f| f.min(threshold_pct)));
            }
            RuleKind::CorrelationShift { .. } => {}
        }
    }
    needs
}

/// Where an event is anchored: the session whose close established it.
#[derive(Clone, Copy)]
struct Anchor {
    date: NaiveDate,
    close: f64,
    session_change_pct: Option<f64>,
}

impl Anchor {
    /// The latest session.
    fn today(tracker: &Tracker) -> Option<Self> {
        let bar = tracker.latest()?;
        Some(Self {
            date: bar.date(),
            close: bar.close(),
            session_change_pct: tracker.session_change_pct(),
        })
    }

    /// A period that ended before today, found complete only now (its last session is missing).
    fn late(streak: &StreakFact) -> Self {
        Self {
            date: streak.last_date,
            close: streak.close,
            session_change_pct: None,
        }
    }
}

fn emit(rule: &mut Armed, ctx: &Context<'_>, fact: Fact, at: Anchor, out: &mut Vec<Event>) {
    let flavour = usize::from(matches!(fact, Fact::Streak { streak, .. } if !streak.complete));
    let event = Event {
        rule_id: rule.id.clone(),
        symbol: ctx.symbol.clone(),
        date: at.date,
        close: at.close,
        session_change_pct: at.session_change_pct,
        history_from: ctx.history_from,
        fact,
    };
    let period = event.period();
    if rule.last[flavour].is_some_and(|last| last >= period) {
        return;
    }
    rule.last[flavour] = Some(period);
    out.push(event);
}

/// What every rule of one step reads.
struct Context<'a> {
    tracker: &'a Tracker,
    symbol: &'a Arc<Symbol>,
    history_from: NaiveDate,
}

fn sign(pct: f64) -> Direction {
    if pct >= 0.0 {
        Direction::Up
    } else {
        Direction::Down
    }
}

/// Evaluates one rule against the latest session. Cheap checks come first; a full fact is
/// computed only when the rule fires.
fn evaluate(rule: &mut Armed, ctx: &Context<'_>, out: &mut Vec<Event>) -> Option<()> {
    let tracker = ctx.tracker;
    match rule.kind {
        // After a gap the missing sessions may hold a higher close: a record claim would be
        // a guess, so none is made (see `market::gap`).
        RuleKind::RecordHigh { .. } if tracker.gap().is_some() => return None,
        RuleKind::RecordHigh {
            basis: Basis::Close,
        } => {
            let record = tracker.record_close()?;
            let fact = Fact::RecordClose {
                previous: record.previous?,
                drought_sessions: record.drought_sessions,
            };
            emit(rule, ctx, fact, Anchor::today(tracker)?, out);
        }
        RuleKind::RecordHigh {
            basis: Basis::Intraday,
        } => {
            let Intraday::Record(record) = tracker.record_high() else {
                return None;
            };
            let fact = Fact::RecordIntraday {
                high: tracker.latest()?.high()?,
                previous: record.previous?,
                drought_sessions: record.drought_sessions,
            };
            emit(rule, ctx, fact, Anchor::today(tracker)?, out);
        }
        RuleKind::PeriodHigh { weeks } => {
            if tracker.is_period_high(weeks)? {
                let fact = Fact::PeriodHigh {
                    weeks,
                    highest_since: tracker.highest_since(),
                };
                emit(rule, ctx, fact, Anchor::today(tracker)?, out);
            }
        }
        RuleKind::PeriodLow { weeks } => {
            if tracker.is_period_low(weeks)? {
                let fact = Fact::PeriodLow {
                    weeks,
                    lowest_since: tracker.lowest_since(),
                };
                emit(rule, ctx, fact, Anchor::today(tracker)?, out);
            }
        }
        RuleKind::Streak {
            timeframe,
            direction,
            min_length,
            on_pace,
        } => {
            let reportable = |d: Option<Direction>, length: u32| {
                length >= min_length && d.is_some_and(|d| direction.admits(d))
            };
            if let Some(late) = tracker.late(timeframe)
                && reportable(late.streak.direction, late.streak.length)
            {
                let fact = Fact::Streak {
                    timeframe,
                    streak: late.streak,
                };
                emit(rule, ctx, fact, Anchor::late(&late.streak), out);
            }
            let (d, length, remaining) = tracker.run(timeframe)?;
            let due = remaining == 0 || (on_pace && remaining == 1);
            if due && reportable(d, length) {
                let fact = Fact::Streak {
                    timeframe,
                    streak: tracker.streak(timeframe)?,
                };
                emit(rule, ctx, fact, Anchor::today(tracker)?, out);
            }
        }
        RuleKind::BigMove {
            timeframe,
            direction,
            threshold_pct,
        } => {
            let big = |pct: f64| pct.abs() >= threshold_pct && direction.admits(sign(pct));
            if let Some(late) = tracker.late(timeframe)
                && let Some(movement) = late.movement
                && big(movement.change_pct)
            {
                let fact = Fact::BigMove {
                    timeframe,
                    period: late.streak.period,
                    movement,
                };
                emit(rule, ctx, fact, Anchor::late(&late.streak), out);
            }
            let (_, _, remaining) = tracker.run(timeframe)?;
            let (close, previous) = tracker.closes(timeframe)?;
            // Most sessions move far less than any threshold: a multiplication rules them out
            // (with a hair of slack) before the exact percentage is worked out.
            let slack = threshold_pct * (1.0 - 1e-9) * 0.01;
            let far = close >= previous * (1.0 + slack) || close <= previous * (1.0 - slack);
            if remaining == 0 && far && big(tracker.change(timeframe)?.0) {
                let fact = Fact::BigMove {
                    timeframe,
                    period: tracker.streak(timeframe)?.period,
                    movement: tracker.move_fact(timeframe)?,
                };
                emit(rule, ctx, fact, Anchor::today(tracker)?, out);
            }
        }
        // Two histories: evaluated by `rules::cross`, never armed here.
        RuleKind::CorrelationShift { .. } => return None,
    }
    Some(())
}

/// Drops, among `out[start..]`, events outranked by another of the same day, and repeats of
/// the same fact from a second rule (the first rule written wins).
fn suppress(out: &mut Vec<Event>, start: usize) {
    if out.len() - start < 2 {
        return;
    }
    let step: Vec<Event> = out.drain(start..).collect();
    for (i, event) in step.iter().enumerate() {
        let redundant = step.iter().enumerate().any(|(j, other)| {
            j != i
                && other.date == event.date
                && (other.fact.outranks(&event.fact) || (j < i && other.fact == event.fact))
        });
        if !redundant {
            out.push(event.clone());
        }
    }
}
