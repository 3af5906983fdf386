//! The names of the rule kinds: the one place `record_high`, `period_high`, `period_low`,
//! `streak`, `big_move` and `correlation_shift` are spelled. Rule files, stored rules, JSON output, dedup keys and
//! the `/rules add` command all go through [`Kind`].

use std::fmt;
use std::str::FromStr;

/// What a rule watches for, without its parameters (those live in [`super::RuleKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    RecordHigh,
    PeriodHigh,
    PeriodLow,
    Streak,
    BigMove,
    CorrelationShift,
}

impl Kind {
    /// Every kind, in the order error messages and docs list them.
    pub const ALL: [Kind; 6] = [
        Kind::RecordHigh,
        Kind::PeriodHigh,
        Kind::PeriodLow,
        Kind::Streak,
        Kind::BigMove,
        Kind::CorrelationShift,
    ];

    /// The machine name, as written in rule files, stored rules and JSON output.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::RecordHigh => "record_high",
            Kind::PeriodHigh => "period_high",
            Kind::PeriodLow => "period_low",
            Kind::Streak => "streak",
            Kind::BigMove => "big_move",
            Kind::CorrelationShift => "correlation_shift",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`Kind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rule kind '{}' (expected one of: {})", crate::market::shown(.0), Kind::names())]
pub struct UnknownKind(pub String);

impl Kind {
    /// The names of every kind, comma-separated, for messages.
    pub fn names() -> String {
        Kind::ALL.map(Kind::as_str).join(", ")
    }
}

impl FromStr for Kind {
    type Err = UnknownKind;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownKind(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(kind));
        }
        assert_eq!(
            Kind::names(),
            "record_high, period_high, period_low, streak, big_move, correlation_shift"
        );
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_list() {
        let err = "moonshot".parse::<Kind>().expect_err("not a kind");
        assert_eq!(
            err.to_string(),
            "unknown rule kind 'moonshot' (expected one of: record_high, period_high, period_low, streak, big_move, correlation_shift)"
        );
        assert!(
            "Streak".parse::<Kind>().is_err(),
            "names are case-sensitive"
        );
    }
}
