//! The rules engine: rules are data; evaluating them against the facts of a bar yields events.
//!
//! - [`kind`]: the names of the rule kinds ([`Kind`]), spelled once.
//! - [`spec`]: what a rule is and how it is read from TOML, with errors that name the rule.
//! - [`event`]: an event carries every fact an alert needs and a stable dedup key.
//! - `watch`: a cheap test of whether any rule could fire on a session, so quiet sessions
//!   (nearly all of them) cost almost nothing.
//! - [`cross`]: rules over two histories (`correlation_shift`), evaluated where both are held.
//! - [`eval`]: runs a rule set over a symbol's bars, one session at a time, as the scheduler
//!   would after each close; a stronger event suppresses a weaker one of the same day.
//!
//! Pure: no I/O, no clock.

pub mod cross;
pub mod eval;
pub mod event;
pub mod kind;
pub mod spec;
mod watch;

pub use eval::Evaluator;
pub use event::{DedupKey, DedupKeyText, Event, Fact};
pub use kind::{Kind, UnknownKind};
pub use spec::{Basis, DirectionFilter, Rule, RuleError, RuleKind, RuleSet};
