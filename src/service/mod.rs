//! Services: the operations both doors of highwater share — the CLI today, Discord commands
//! and the scheduler later. Each takes series and rules and returns facts or events; none of
//! them knows where the bars came from or where the answer goes.

pub mod query;
pub mod replay;

pub use query::{HighAnswer, QueryError, StreakAnswer, high, streak};
pub use replay::{ReplayRange, replay, replay_series};
