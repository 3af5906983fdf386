//! What to do with an alert message that is due: send it, hold it (quiet hours) or drop it
//! (mutes, a disabled destination) — and why, for the log.
//!
//! Pure: the caller passes the server's settings, its mutes and `now`.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::market::shown;

/// Minutes in a day.
const DAY_MINUTES: i64 = 24 * 60;

/// Why a quiet-hours window was refused; messages name the text or the bound at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuietHoursError {
    /// `bound` (`start` or `end`) is not within 0..1440.
    #[error("quiet hours {bound} {minute} is not a minute of the day")]
    NotAMinute { bound: &'static str, minute: i64 },
    #[error("quiet hours must not start and end at the same time")]
    Empty,
    /// `part` of `text` is not `HH:MM` (both already made safe to show).
    #[error("quiet hours '{text}': '{part}' is not a time like 22:00")]
    NotATime { text: String, part: String },
    #[error("quiet hours '{text}' must look like 22:00-07:00")]
    Shape { text: String },
}

/// Quiet hours: a daily window, in a server's display timezone, when alerts wait. The window
/// may wrap midnight (22:00–07:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// Minutes after local midnight.
    start: i64,
    end: i64,
}

impl QuietHours {
    /// From minutes after local midnight; start and end must differ.
    pub fn from_minutes(start: i64, end: i64) -> Result<Self, QuietHoursError> {
        for (bound, minute) in [("start", start), ("end", end)] {
            if !(0..DAY_MINUTES).contains(&minute) {
                return Err(QuietHoursError::NotAMinute { bound, minute });
            }
        }
        if start == end {
            return Err(QuietHoursError::Empty);
        }
        Ok(Self { start, end })
    }

    /// From `HH:MM-HH:MM` (24-hour clock), e.g. `22:00-07:00`.
    pub fn parse(text: &str) -> Result<Self, QuietHoursError> {
        let minute = |part: &str| -> Result<i64, QuietHoursError> {
            let t = NaiveTime::parse_from_str(part.trim(), "%H:%M").map_err(|_| {
                QuietHoursError::NotATime {
                    text: shown(text),
                    part: shown(part),
                }
            })?;
            Ok(i64::from(t.hour_minute().0) * 60 + i64::from(t.hour_minute().1))
        };
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| QuietHoursError::Shape { text: shown(text) })?;
        Self::from_minutes(minute(start)?, minute(end)?)
    }

    pub fn start_minute(self) -> i64 {
        self.start
    }

    pub fn end_minute(self) -> i64 {
        self.end
    }

    fn contains(self, minute: i64) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }

    /// When `now` falls inside the quiet hours (in `tz`), the instant they end.
    pub fn ends_after(self, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&tz);
        let (h, m) = local.time().hour_minute();
        let minute = i64::from(h) * 60 + i64::from(m);
        if !self.contains(minute) {
            return None;
        }
        let mut date = local.date_naive();
        if minute >= self.end {
            date = date.succ_opt()?;
        }
        let end = date.and_hms_opt(0, 0, 0)? + Duration::minutes(self.end);
        // A local time skipped by a DST change ends the window at the first instant after it.
        let instant = tz.from_local_datetime(&end).earliest().or_else(|| {
            tz.from_local_datetime(&(end + Duration::hours(1)))
                .earliest()
        })?;
        Some(instant.with_timezone(&Utc))
    }
}

trait HourMinute {
    fn hour_minute(&self) -> (u32, u32);
}

impl HourMinute for NaiveTime {
    fn hour_minute(&self) -> (u32, u32) {
        use chrono::Timelike;
        (self.hour(), self.minute())
    }
}

/// What a mute silences.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MuteTarget {
    /// A ticker as the catalog spells it (`^RUT`).
    Symbol(String),
    Rule(String),
}

/// A mute: alerts for its target are dropped until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mute {
    pub target: MuteTarget,
    pub until: DateTime<Utc>,
}

/// What to do with a due message.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Send it; `muted_rules` lists rules whose alerts must be taken out first.
    Send { muted_rules: Vec<String> },
    /// Wait until `until` (quiet hours), then decide again.
    Hold {
        until: DateTime<Utc>,
        reason: String,
    },
    /// Never send it.
    Drop { reason: String },
}

/// Decides for a message about `symbol` carrying alerts of `rules`.
pub fn decide(
    symbol: &str,
    rules: &[String],
    mutes: &[Mute],
    quiet: Option<(QuietHours, Tz)>,
    now: DateTime<Utc>,
) -> Decision {
    let active = |target: &MuteTarget| {
        mutes
            .iter()
            .find(|m| &m.target == target && m.until > now)
            .map(|m| m.until)
    };
    if let Some(until) = active(&MuteTarget::Symbol(symbol.to_owned())) {
        return Decision::Drop {
            reason: format!(
                "muted: {symbol} is muted until {}",
                until.format("%Y-%m-%d %H:%M UTC")
            ),
        };
    }
    let muted_rules: Vec<String> = rules
        .iter()
        .filter(|r| active(&MuteTarget::Rule((*r).clone())).is_some())
        .cloned()
        .collect();
    if !rules.is_empty() && muted_rules.len() == rules.len() {
        return Decision::Drop {
            reason: format!("muted: rule {} is muted", muted_rules.join(", ")),
        };
    }
    if let Some((hours, tz)) = quiet
        && let Some(until) = hours.ends_after(tz, now)
    {
        return Decision::Hold {
            until,
            reason: format!(
                "held: quiet hours until {} ({})",
                until.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
                tz.name()
            ),
        };
    }
    Decision::Send { muted_rules }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a valid test time")
            .with_timezone(&Utc)
    }

    #[test]
    fn quiet_hours_across_midnight_end_the_next_morning_in_local_time() {
        let q = QuietHours::parse("22:00-07:00").expect("valid");
        let ny = chrono_tz::America::New_York;
        // 23:30 New York on 2026-11-26 (UTC-5) is 04:30 UTC on the 27th.
        assert_eq!(
            q.ends_after(ny, utc("2026-11-27T04:30:00Z")),
            Some(utc("2026-11-27T12:00:00Z"))
        );
        // 06:59 local, still quiet, ends the same morning.
        assert_eq!(
            q.ends_after(ny, utc("2026-11-27T11:59:00Z")),
            Some(utc("2026-11-27T12:00:00Z"))
        );
        assert_eq!(q.ends_after(ny, utc("2026-11-27T12:00:00Z")), None);
        assert_eq!(q.ends_after(ny, utc("2026-11-27T20:00:00Z")), None);
    }

    #[test]
    fn quiet_hours_reject_nonsense() {
        assert!(QuietHours::parse("7pm-8am").is_err());
        assert!(QuietHours::parse("22:00").is_err());
        assert!(QuietHours::parse("22:00-22:00").is_err());
        assert!(QuietHours::from_minutes(0, 1440).is_err());
        assert_eq!(
            QuietHours::parse("7pm-8am").map_err(|e| e.to_string()),
            Err("quiet hours '7pm-8am': '7pm' is not a time like 22:00".to_owned())
        );
        assert_eq!(
            QuietHours::parse("22:00"),
            Err(QuietHoursError::Shape {
                text: "22:00".into()
            })
        );
        assert_eq!(
            QuietHours::from_minutes(0, 1440),
            Err(QuietHoursError::NotAMinute {
                bound: "end",
                minute: 1440
            })
        );
    }

    #[test]
    fn a_muted_symbol_drops_and_a_partly_muted_message_sends_the_rest() {
        let now = utc("2026-11-27T15:00:00Z");
        let mutes = [
            Mute {
                target: MuteTarget::Symbol("^RUT".into()),
                until: utc("2026-11-28T00:00:00Z"),
            },
            Mute {
                target: MuteTarget::Rule("streak".into()),
                until: utc("2026-11-28T00:00:00Z"),
            },
            Mute {
                target: MuteTarget::Symbol("^GSPC".into()),
                until: utc("2026-11-27T14:00:00Z"), // expired
            },
        ];
        let rules = vec!["record".to_owned(), "streak".to_owned()];
        assert!(matches!(
            decide("^RUT", &rules, &mutes, None, now),
            Decision::Drop { reason } if reason.contains("^RUT is muted until 2026-11-28 00:00 UTC")
        ));
        assert_eq!(
            decide("^GSPC", &rules, &mutes, None, now),
            Decision::Send {
                muted_rules: vec!["streak".into()]
            }
        );
        assert!(matches!(
            decide("^GSPC", &["streak".to_owned()], &mutes, None, now),
            Decision::Drop { .. }
        ));
    }

    #[test]
    fn quiet_hours_hold_instead_of_drop() {
        let q = QuietHours::parse("09:00-17:00").expect("valid");
        let decision = decide(
            "^RUT",
            &["record".to_owned()],
            &[],
            Some((q, Tz::UTC)),
            utc("2026-11-27T10:00:00Z"),
        );
        assert_eq!(
            decision,
            Decision::Hold {
                until: utc("2026-11-27T17:00:00Z"),
                reason: "held: quiet hours until 2026-11-27 17:00 (UTC)".into()
            }
        );
    }
}
