//! Events: what a rule found, with every fact an alert needs, and the key that makes it unique.

use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;

use super::Kind;
use crate::analytics::{Direction, Mark, MoveFact, StreakFact};
use crate::market::{PeriodKey, Symbol, Timeframe};

/// The fact behind an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// The close is strictly above every earlier close.
    RecordClose {
        previous: Mark,
        /// Sessions strictly between the previous record and this one.
        drought_sessions: u32,
    },
    /// The intraday high is strictly above every earlier high.
    RecordIntraday {
        high: f64,
        previous: Mark,
        drought_sessions: u32,
    },
    /// The close is the highest of the last `weeks` weeks.
    PeriodHigh {
        weeks: u32,
        /// The most recent earlier close at least as high: (close, date); `None` = none ever.
        highest_since: Option<(f64, NaiveDate)>,
    },
    /// The close is the lowest of the last `weeks` weeks.
    PeriodLow {
        weeks: u32,
        lowest_since: Option<(f64, NaiveDate)>,
    },
    /// A streak reached a length the rule reports. `streak.complete == false` means on pace.
    Streak {
        timeframe: Timeframe,
        streak: StreakFact,
    },
    /// A finished period moved at least the rule's threshold.
    BigMove {
        timeframe: Timeframe,
        period: PeriodKey,
        movement: MoveFact,
    },
    /// The rolling correlation of daily log returns with `versus` crossed the rule's
    /// `threshold` on this date (see `analytics::correlation` for the alignment).
    CorrelationShift {
        versus: Arc<Symbol>,
        /// Aligned returns in the window (30).
        window: u32,
        threshold: f64,
        correlation: f64,
        /// The correlation on the aligned date before.
        previous: f64,
        /// `Up`: rose to or above the threshold; `Down`: fell below it.
        direction: Direction,
    },
}

impl Fact {
    /// The kind of rule that finds this fact.
    pub fn rule_kind(&self) -> Kind {
        match self {
            Fact::RecordClose { .. } | Fact::RecordIntraday { .. } => Kind::RecordHigh,
            Fact::PeriodHigh { .. } => Kind::PeriodHigh,
            Fact::PeriodLow { .. } => Kind::PeriodLow,
            Fact::Streak { .. } => Kind::Streak,
            Fact::BigMove { .. } => Kind::BigMove,
            Fact::CorrelationShift { .. } => Kind::CorrelationShift,
        }
    }

    /// The machine name of the event kind, as in JSON output and dedup keys.
    pub fn kind(&self) -> &'static str {
        self.rule_kind().as_str()
    }

    /// The kind as it enters the dedup key: variants that may both fire in one period differ.
    fn key_kind(&self) -> &'static str {
        match self {
            Fact::RecordIntraday { .. } => "record_high_intraday",
            Fact::Streak { streak, .. } if !streak.complete => "streak_on_pace",
            other => other.kind(),
        }
    }

    /// Whether this fact makes `other` (same symbol, same day) redundant.
    pub fn outranks(&self, other: &Fact) -> bool {
        match (self, other) {
            (Fact::RecordClose { .. }, Fact::PeriodHigh { .. }) => true,
            (Fact::PeriodHigh { weeks: a, .. }, Fact::PeriodHigh { weeks: b, .. }) => a > b,
            (Fact::PeriodLow { weeks: a, .. }, Fact::PeriodLow { weeks: b, .. }) => a > b,
            (
                Fact::Streak {
                    timeframe: a,
                    streak: s,
                },
                Fact::Streak {
                    timeframe: b,
                    streak: t,
                },
            ) => a == b && s.direction == t.direction && s.complete && !t.complete,
            _ => false,
        }
    }

    /// Whether the fact is good news (a high, a gain) — decides the colour of an alert.
    pub fn is_positive(&self) -> bool {
        match self {
            Fact::RecordClose { .. } | Fact::RecordIntraday { .. } | Fact::PeriodHigh { .. } => {
                true
            }
            Fact::PeriodLow { .. } => false,
            Fact::Streak { streak, .. } => streak.direction == Some(Direction::Up),
            Fact::BigMove { movement, .. } => movement.change_pct >= 0.0,
            Fact::CorrelationShift { direction, .. } => *direction == Direction::Up,
        }
    }
}

/// One thing worth telling people.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub rule_id: Arc<str>,
    pub symbol: Arc<Symbol>,
    /// Session date whose close established the fact (exchange-local date).
    pub date: NaiveDate,
    /// Close of that session.
    pub close: f64,
    /// That session's change against the previous session, in percent, when known.
    pub session_change_pct: Option<f64>,
    /// Session date of the first bar of the history the fact was computed from: "on record"
    /// means since this date.
    pub history_from: NaiveDate,
    pub fact: Fact,
}

impl Event {
    /// The period the fact is about: the session for records and highs, the week or month for
    /// weekly and monthly streaks and moves.
    pub fn period(&self) -> PeriodKey {
        match &self.fact {
            Fact::Streak { streak, .. } => streak.period,
            Fact::BigMove { period, .. } => *period,
            _ => Timeframe::Daily.key(self.date),
        }
    }

    /// The key under which this event is delivered at most once.
    pub fn dedup_key(&self) -> DedupKey {
        DedupKey {
            rule: self.rule_id.clone(),
            symbol: self.symbol.ticker().to_owned(),
            kind: self.dedup_kind(),
            period: self.period(),
        }
    }

    /// The kind as it enters the dedup key (`DedupKey::kind`).
    pub fn dedup_kind(&self) -> &'static str {
        self.fact.key_kind()
    }

    /// The dedup key as text, as [`DedupKey`] displays it, without building the key.
    pub fn dedup_key_text(&self) -> DedupKeyText<'_> {
        DedupKeyText {
            rule: &self.rule_id,
            symbol: self.symbol.ticker(),
            kind: self.dedup_kind(),
            period: self.period(),
        }
    }
}

/// (rule, symbol, kind, period): the same key never alerts twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DedupKey {
    pub rule: Arc<str>,
    pub symbol: String,
    pub kind: &'static str,
    pub period: PeriodKey,
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        DedupKeyText {
            rule: &self.rule,
            symbol: &self.symbol,
            kind: self.kind,
            period: self.period,
        }
        .fmt(f)
    }
}

/// A dedup key's text, `rule/symbol/kind/period` (`record-close/^RUT/record_high/2025-09-18`),
/// from borrowed parts: [`Event::dedup_key_text`] writes it without allocating a key.
pub struct DedupKeyText<'a> {
    rule: &'a str,
    symbol: &'a str,
    kind: &'static str,
    period: PeriodKey,
}

impl fmt::Display for DedupKeyText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.rule, self.symbol, self.kind, self.period
        )
    }
}
