//! A quick test, run after every session, of whether any rule of a set could possibly fire.
//!
//! On almost every session nothing happens: no record, no finished week, no long streak. The
//! [`Watch`] summarises a rule set into a few thresholds (the shortest streak any rule reports
//! per timeframe, the smallest move, the shortest high/low window) and checks them against the
//! tracker's cheap accessors. It is a necessary condition only: when it says "maybe", every rule
//! is evaluated in full, so it can make a replay faster but never change what it reports
//! (`tests/it/analytics_reference.rs` checks exactly that on random series).

use crate::analytics::{Intraday, Tracker};
use crate::market::Timeframe;

use super::spec::{Basis, RuleKind};

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Watch {
    records: bool,
    intraday: bool,
    /// The shortest window of any period-high rule, in weeks.
    high_weeks: Option<u32>,
    low_weeks: Option<u32>,
    /// Per timeframe: the shortest streak any rule reports.
    streak_min: [Option<u32>; 3],
    /// Per timeframe: the smallest move (percent) any rule reports.
    move_min: [Option<f64>; 3],
}

fn smaller<T: PartialOrd + Copy>(slot: &mut Option<T>, value: T) {
    *slot = Some(match *slot {
        Some(old) if old <= value => old,
        _ => value,
    });
}

impl Watch {
    pub(crate) fn new<'a>(kinds: impl IntoIterator<Item = &'a RuleKind>) -> Self {
        let mut watch = Watch::default();
        for kind in kinds {
            match *kind {
                RuleKind::RecordHigh {
                    basis: Basis::Close,
                } => watch.records = true,
                RuleKind::RecordHigh {
                    basis: Basis::Intraday,
                } => watch.intraday = true,
                RuleKind::PeriodHigh { weeks } => smaller(&mut watch.high_weeks, weeks),
                RuleKind::PeriodLow { weeks } => smaller(&mut watch.low_weeks, weeks),
                RuleKind::Streak {
                    timeframe,
                    min_length,
                    ..
                } => {
                    smaller(&mut watch.streak_min[timeframe as usize], min_length);
                }
                RuleKind::BigMove {
                    timeframe,
                    threshold_pct,
                    ..
                } => {
                    smaller(&mut watch.move_min[timeframe as usize], threshold_pct);
                }
                RuleKind::CorrelationShift { .. } => {}
            }
        }
        watch
    }

    /// False only when no rule of the set can fire on the tracker's latest session.
    #[inline]
    pub(crate) fn may_fire(&self, tracker: &Tracker) -> bool {
        (self.records && tracker.record_close().is_some())
            || (self.intraday && matches!(tracker.record_high(), Intraday::Record(_)))
            || self
                .high_weeks
                .is_some_and(|w| tracker.is_period_high(w) == Some(true))
            || self
                .low_weeks
                .is_some_and(|w| tracker.is_period_low(w) == Some(true))
            || Timeframe::ALL
                .iter()
                .any(|&tf| self.period_may_fire(tracker, tf))
    }

    #[inline]
    fn period_may_fire(&self, tracker: &Tracker, timeframe: Timeframe) -> bool {
        let i = timeframe as usize;
        let (streak_min, move_min) = (self.streak_min[i], self.move_min[i]);
        if streak_min.is_none() && move_min.is_none() {
            return false;
        }
        if tracker.late(timeframe).is_some() {
            return true;
        }
        let Some((_, length, remaining)) = tracker.run(timeframe) else {
            return false;
        };
        if remaining > 1 {
            return false;
        }
        if streak_min.is_some_and(|min| length >= min) {
            return true;
        }
        match (move_min, tracker.closes(timeframe)) {
            (Some(min), Some((close, previous))) if remaining == 0 => {
                let slack = min * (1.0 - 1e-9) * 0.01;
                close >= previous * (1.0 + slack) || close <= previous * (1.0 - slack)
            }
            _ => false,
        }
    }
}
