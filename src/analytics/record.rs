//! Record closes and record intraday highs: a value strictly above every earlier one.

use chrono::NaiveDate;

/// A value at a point of the history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    /// Session date.
    pub date: NaiveDate,
    pub value: f64,
    /// Position of the session in the history (0 = first bar).
    pub index: u32,
}

/// A new record, and the one it beat.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordFact {
    /// The record it beat; `None` on the first bar of a history, where "record" means nothing.
    pub previous: Option<Mark>,
    /// Sessions strictly between the previous record and this one (0 = back-to-back records).
    pub drought_sessions: u32,
}

/// Whether a bar set a record intraday high.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Intraday {
    Record(RecordFact),
    NotRecord,
    /// This bar, or an earlier one, has no high: a record cannot be claimed or ruled out.
    Unknown,
}

/// Running maximum of one value over a history.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordState {
    best: Option<Mark>,
    /// Set once a bar lacked the value: from then on no record can be established.
    broken: bool,
}

impl RecordState {
    pub(crate) fn best(&self) -> Option<Mark> {
        self.best
    }

    /// Feeds the next bar's value; `Some` when it is a record (strictly above every earlier one).
    pub(crate) fn observe(
        &mut self,
        date: NaiveDate,
        value: f64,
        index: u32,
    ) -> Option<RecordFact> {
        let mark = Mark { date, value, index };
        match self.best {
            Some(best) if value <= best.value => None,
            previous => {
                self.best = Some(mark);
                Some(RecordFact {
                    previous,
                    drought_sessions: previous.map_or(0, |p| index - p.index - 1),
                })
            }
        }
    }

    /// Like [`observe`](Self::observe) for a value that may be missing (an intraday high).
    pub(crate) fn observe_optional(
        &mut self,
        date: NaiveDate,
        value: Option<f64>,
        index: u32,
    ) -> Intraday {
        match value {
            _ if self.broken => Intraday::Unknown,
            None => {
                self.broken = true;
                Intraday::Unknown
            }
            Some(v) => self
                .observe(date, v, index)
                .map_or(Intraday::NotRecord, Intraday::Record),
        }
    }
}
