//! Services: the operations both doors of highwater share — the command line, the bot's
//! commands and the scheduler's tick. Each takes series and rules and returns facts or events;
//! none of them knows where the bars came from or where the answer goes.

pub mod context;
pub mod digest;
pub mod episodes;
pub mod history;
pub mod query;
pub mod quote;
pub mod replay;
pub mod risk;

use chrono::NaiveDate;

/// What an answer should say about the data behind it, when it came from a live provider.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DataStatus {
    /// The latest closed session, when the history does not reach it yet.
    pub missing_session: Option<NaiveDate>,
    /// A latest close held back as implausible until confirmed: (session, close, move in %).
    pub held: Option<(NaiveDate, f64, f64)>,
    /// Whether the held close was judged a bad tick (not merely waiting for evidence).
    pub held_rejected: bool,
}

impl DataStatus {
    pub fn is_clean(&self) -> bool {
        self.missing_session.is_none() && self.held.is_none()
    }
}

pub use context::{ContextAnswer, context};
pub use digest::{Digest, digest};
pub use history::{HistoryAnswer, history};
pub use query::{HighAnswer, QueryError, StreakAnswer, high, streak};
pub use quote::{QuoteAnswer, SessionState, quote, session_state};
pub use replay::{ReplayRange, Replayed, replay, replay_each, replay_series};
pub use risk::{RiskAnswer, risk};
