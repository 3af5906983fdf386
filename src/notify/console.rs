//! The console notifier: alerts written to standard output (or any writer), for running
//! highwater without Discord, for piping into other tools, and for tests.
//!
//! Two formats:
//! - **text**, one line per headline: `RUT 2025-09-18  Russell 2000 closes at a record 2,467.70 …`
//!   (ticker and session date from the event, when the event JSON has them);
//! - **json**, one line per message: `{"nonce": "...", "events": [...]}`, the events in the
//!   form of `highwater replay --json`.
//!
//! A message is written whole under a lock and flushed, so lines of concurrent sends never
//! interleave and a reader sees each message as soon as it is sent.

use std::fmt;
use std::io::Write;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{DeliveryError, Notifier, Outgoing, Receipt};

/// How the console prints alerts. Spelled `text` or `json` in settings and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum ConsoleFormat {
    /// One readable line per headline.
    #[default]
    Text,
    /// One JSON object per message, on one line.
    Json,
}

/// A console format that is neither `text` nor `json`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown console format `{given}`: expected `text` or `json`")]
pub struct ConsoleFormatError {
    /// What was given.
    pub given: String,
}

impl ConsoleFormat {
    /// The format's name: `text` or `json`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsoleFormat::Text => "text",
            ConsoleFormat::Json => "json",
        }
    }
}

impl FromStr for ConsoleFormat {
    type Err = ConsoleFormatError;

    /// `text` or `json`, in any letter case, surrounding whitespace ignored.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(ConsoleFormat::Text),
            "json" => Ok(ConsoleFormat::Json),
            _ => Err(ConsoleFormatError {
                given: text.to_owned(),
            }),
        }
    }
}

impl TryFrom<String> for ConsoleFormat {
    type Error = ConsoleFormatError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl fmt::Display for ConsoleFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Writes alerts to a writer, standard output by default.
///
/// Writing blocks the calling task briefly (a line or two to a terminal or pipe), which is
/// acceptable for a console; a slow reader slows the sender, which is what backpressure means.
pub struct ConsoleNotifier {
    format: ConsoleFormat,
    out: Mutex<Box<dyn Write + Send>>,
}

impl ConsoleNotifier {
    /// A notifier writing `format` to `out`.
    pub fn new(format: ConsoleFormat, out: Box<dyn Write + Send>) -> Self {
        ConsoleNotifier {
            format,
            out: Mutex::new(out),
        }
    }

    /// A notifier writing `format` to standard output.
    pub fn stdout(format: ConsoleFormat) -> Self {
        ConsoleNotifier::new(format, Box::new(std::io::stdout()))
    }

    /// The format this notifier writes.
    pub fn format(&self) -> ConsoleFormat {
        self.format
    }

    /// Everything `message` prints, newline-terminated.
    fn render(&self, message: &Outgoing) -> String {
        match self.format {
            ConsoleFormat::Json => {
                let line = json!({ "nonce": message.nonce, "events": message.events });
                format!("{line}\n")
            }
            ConsoleFormat::Text => message
                .headlines
                .iter()
                .enumerate()
                .map(|(index, headline)| text_line(message.events.get(index), headline))
                .collect(),
        }
    }
}

/// `RUT 2025-09-18  {headline}\n`: the prefix from the event's `symbol` and `date`, whichever
/// it has; the headline kept on one line.
fn text_line(event: Option<&Value>, headline: &str) -> String {
    let field = |key: &str| {
        event
            .and_then(|event| event.get(key))
            .and_then(Value::as_str)
    };
    let prefix: Vec<&str> = [field("symbol"), field("date")]
        .into_iter()
        .flatten()
        .collect();
    let headline = headline.split_whitespace().collect::<Vec<_>>().join(" ");
    if prefix.is_empty() {
        format!("{headline}\n")
    } else {
        format!("{}  {headline}\n", prefix.join(" "))
    }
}

impl fmt::Debug for ConsoleNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleNotifier")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Notifier for ConsoleNotifier {
    /// Writes and flushes the message; an I/O error (a closed pipe, a full disk) is retryable.
    async fn send(&self, message: &Outgoing) -> Result<Receipt, DeliveryError> {
        let text = self.render(message);
        // A panic while writing leaves at worst a half-written line: keep using the writer.
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|error| {
                tracing::warn!(nonce = %message.nonce, %error, "could not write to the console");
                DeliveryError::Retry {
                    after: None,
                    reason: format!("cannot write to the console: {error}"),
                }
            })?;
        Ok(Receipt::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_in_any_case_and_name_a_bad_one() {
        assert_eq!(" JSON ".parse(), Ok(ConsoleFormat::Json));
        assert_eq!("text".parse(), Ok(ConsoleFormat::Text));
        let error = "xml".parse::<ConsoleFormat>().expect_err("not a format");
        assert_eq!(
            error.to_string(),
            "unknown console format `xml`: expected `text` or `json`"
        );
    }

    #[test]
    fn a_text_line_without_an_event_is_just_the_headline() {
        assert_eq!(text_line(None, "Bitcoin\nrises"), "Bitcoin rises\n");
        let event = json!({"symbol": "RUT", "date": "2025-09-18"});
        assert_eq!(
            text_line(Some(&event), "Russell 2000 closes at a record"),
            "RUT 2025-09-18  Russell 2000 closes at a record\n"
        );
    }
}
