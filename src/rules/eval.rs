//! Evaluating rules over a symbol's history, one session at a time.
//!
//! An [`Evaluator`] owns the symbol's [`Tracker`] and the rules that apply to it. `warm` feeds
//! history without alerting (the context before a replay starts, or a backfill); `step` feeds one
//! session and appends the events its close produces, exactly as the scheduler would after that
//! close. Within one step a stronger event suppresses a weaker one of the same day, and an event
//! whose dedup key a rule already produced is not produced again.

use std::sync::Arc;

use chrono::NaiveDate;

use crate::analytics::{Facts, Intraday, OutOfOrder, StreakFact, Tracker};
use crate::market::{Bar, PeriodKey, Symbol};

use super::spec::{Basis, RuleKind, RuleSet};
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
}

impl Evaluator {
    /// Arms the rules of `rules` that apply to `symbol`.
    pub fn new(symbol: Arc<Symbol>, rules: &RuleSet) -> Self {
        let armed = rules
            .rules()
            .iter()
            .filter(|r| r.applies_to(&symbol))
            .map(|r| Armed {
                id: Arc::from(r.id()),
                kind: r.kind().clone(),
                last: [None, None],
            })
            .collect();
        Self {
            tracker: crate::analytics::Tracker::new(symbol.calendar()),
            symbol,
            rules: armed,
        }
    }

    pub fn symbol(&self) -> &Arc<Symbol> {
        &self.symbol
    }

    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Feeds a bar as context: facts advance, nothing is reported.
    pub fn warm(&mut self, bar: &Bar) -> Result<(), OutOfOrder> {
        self.tracker.push(bar).map(|_| ())
    }

    /// Feeds the next session's bar and appends the events of its close to `out`.
    /// Returns how many were appended.
    pub fn step(&mut self, bar: &Bar, out: &mut Vec<Event>) -> Result<usize, OutOfOrder> {
        let facts = *self.tracker.push(bar)?;
        let start = out.len();
        for rule in &mut self.rules {
            evaluate(rule, &facts, &self.tracker, &self.symbol, out);
        }
        suppress(out, start);
        Ok(out.len() - start)
    }
}

/// Where an event is anchored: the session whose close established it.
#[derive(Clone, Copy)]
struct Anchor {
    date: NaiveDate,
    close: f64,
    session_change_pct: Option<f64>,
    history_from: NaiveDate,
}

impl Anchor {
    fn today(facts: &Facts) -> Self {
        Self {
            date: facts.date,
            close: facts.close,
            session_change_pct: facts.daily.change.map(|(pct, _)| pct),
            history_from: facts.first_date,
        }
    }

    /// A period that ended before today, found complete only now (its last session is missing).
    fn late(facts: &Facts, streak: &StreakFact) -> Self {
        Self {
            date: streak.last_date,
            close: streak.close,
            session_change_pct: None,
            history_from: facts.first_date,
        }
    }
}

fn emit(rule: &mut Armed, symbol: &Arc<Symbol>, fact: Fact, at: Anchor, out: &mut Vec<Event>) {
    let event = Event {
        rule_id: rule.id.clone(),
        symbol: symbol.clone(),
        date: at.date,
        close: at.close,
        session_change_pct: at.session_change_pct,
        history_from: at.history_from,
        fact,
    };
    let flavour = usize::from(matches!(fact, Fact::Streak { streak, .. } if !streak.complete));
    let period = event.period();
    if rule.last[flavour].is_some_and(|last| last >= period) {
        return;
    }
    rule.last[flavour] = Some(period);
    out.push(event);
}

fn evaluate(
    rule: &mut Armed,
    facts: &Facts,
    tracker: &Tracker,
    symbol: &Arc<Symbol>,
    out: &mut Vec<Event>,
) {
    let today = Anchor::today(facts);
    match rule.kind {
        RuleKind::RecordHigh {
            basis: Basis::Close,
        } => {
            if let Some(record) = facts.record_close
                && let Some(previous) = record.previous
            {
                let fact = Fact::RecordClose {
                    previous,
                    drought_sessions: record.drought_sessions,
                };
                emit(rule, symbol, fact, today, out);
            }
        }
        RuleKind::RecordHigh {
            basis: Basis::Intraday,
        } => {
            if let Intraday::Record(record) = facts.record_high
                && let (Some(previous), Some(high)) = (record.previous, facts.high)
            {
                let fact = Fact::RecordIntraday {
                    high,
                    previous,
                    drought_sessions: record.drought_sessions,
                };
                emit(rule, symbol, fact, today, out);
            }
        }
        RuleKind::PeriodHigh { weeks } => {
            if facts.is_period_high(weeks) == Some(true) {
                let fact = Fact::PeriodHigh {
                    weeks,
                    highest_since: facts.highest_since,
                };
                emit(rule, symbol, fact, today, out);
            }
        }
        RuleKind::PeriodLow { weeks } => {
            if facts.is_period_low(weeks) == Some(true) {
                let fact = Fact::PeriodLow {
                    weeks,
                    lowest_since: facts.lowest_since,
                };
                emit(rule, symbol, fact, today, out);
            }
        }
        RuleKind::Streak {
            timeframe,
            direction,
            min_length,
            on_pace,
        } => {
            let period = facts.period(timeframe);
            let reportable = |s: &StreakFact| {
                s.length >= min_length && s.direction.is_some_and(|d| direction.admits(d))
            };
            if let Some((late, _)) = period.late
                && reportable(&late)
            {
                emit(
                    rule,
                    symbol,
                    Fact::Streak {
                        timeframe,
                        streak: late,
                    },
                    Anchor::late(facts, &late),
                    out,
                );
            }
            let streak = period.streak;
            let due = streak.complete || (on_pace && streak.sessions_remaining == 1);
            if due && reportable(&streak) {
                emit(rule, symbol, Fact::Streak { timeframe, streak }, today, out);
            }
        }
        RuleKind::BigMove {
            timeframe,
            direction,
            threshold_pct,
        } => {
            let period = facts.period(timeframe);
            let big = |pct: f64| {
                pct.abs() >= threshold_pct
                    && direction.admits(if pct >= 0.0 {
                        crate::analytics::Direction::Up
                    } else {
                        crate::analytics::Direction::Down
                    })
            };
            if let Some((late, Some(movement))) = period.late
                && big(movement.change_pct)
            {
                let fact = Fact::BigMove {
                    timeframe,
                    period: late.period,
                    movement,
                };
                emit(rule, symbol, fact, Anchor::late(facts, &late), out);
            }
            if period.streak.complete
                && period.change.is_some_and(|(pct, _)| big(pct))
                && let Some(movement) = tracker.move_fact(timeframe)
            {
                let fact = Fact::BigMove {
                    timeframe,
                    period: period.streak.period,
                    movement,
                };
                emit(rule, symbol, fact, today, out);
            }
        }
    }
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
