//! Rendering events for people: the market-desk sentence, a structured embed, and JSON.
//!
//! Pure: takes events and answers, returns text and data. Posting them is the job of the
//! notifiers at the edge. `decide.rs` says whether a message goes now, waits for the
//! end of a server's quiet hours, or is dropped because its rule or symbol is muted.

mod answers;
mod context;
mod decide;
mod digest;
mod embed;
mod format;
mod json;
mod text;

pub use answers::{
    data_status_lines, high_json_answer, high_text, quote_text, streak_json_answer, streak_text,
    with_data_status,
};
pub use context::{
    BookPart, context_field, context_json, context_text, high_text_in_context, history_json,
    history_text, record_context_line, risk_json, risk_text, streak_context_line,
    streak_text_in_context,
};
pub use decide::{Decision, Mute, MuteTarget, QuietHours, QuietHoursError, decide};
pub use digest::{digest_embed, digest_json, digest_line};
pub use embed::{Embed, EmbedField, render_embed};
pub use format::{a_ordinal, month_year, ordinal, percent, price, short_date};
pub use json::{bar_json, bar_text, event_json, write_event_json};
pub use text::{Headline, headline, push_headline};
