//! What both backends share: how a stored value is encoded, how a row reads back into the
//! store's types, and the decisions that do not depend on SQL (a server's limits, the nonce of
//! a message stored before nonces named the message).
//!
//! Both schemas encode values the same way (see `migrations/*/0001_*.sql`): instants are UTC
//! milliseconds since the Unix epoch in a 64-bit integer, session dates are `YYYY-MM-DD` text
//! (which sorts as the dates do), flags are integers 0 or 1, prices are 64-bit floats. So a row
//! of either database reads through [`Columns`] (text, integer or float, each maybe NULL) and
//! everything after that is written once, here. A value that does not read back is
//! [`StoreError::Corrupt`], naming the column, never a panic.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::{
    AlertGroup, Claimed, Compose, Destination, JobClaim, MessageRecord, MessageState, Mute,
    MuteTarget, NewAlert, OutboxSummary, RuleAdded, ServerId, ServerLimits, ServerSettings,
    StoreError, StoredRule, Target,
};
use crate::alerts::QuietHours;
use crate::market::Bar;
use crate::notify::{Outgoing, legacy_nonce};
use crate::providers::market_data::{Cached, Held};
use crate::rules::spec::RawRule;
use crate::shared::ChannelId;

/// An instant as stored: UTC milliseconds since the Unix epoch.
pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored instant; `what` names it if it is out of range.
pub(super) fn from_ms(value: i64, what: &'static str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(value).ok_or_else(|| StoreError::Corrupt {
        what,
        problem: format!("{value} is not a time"),
    })
}

/// A session date as stored: `YYYY-MM-DD`.
pub(super) fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A history to save whose first `unchanged` bars are stored already: the date text of the
/// last of those (empty when there is none, which every stored date sorts after), and the bars
/// after it, which replace every stored bar dated later.
pub(super) fn split_unchanged(bars: &[Bar], unchanged: usize) -> (String, &[Bar]) {
    let unchanged = unchanged.min(bars.len());
    match unchanged.checked_sub(1).and_then(|last| bars.get(last)) {
        Some(last) => (date_text(last.date()), &bars[unchanged..]),
        None => (String::new(), bars),
    }
}

/// A stored session date; `what` names it if it does not parse.
pub(super) fn parse_date(text: &str, what: &'static str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| StoreError::Corrupt {
        what,
        problem: format!("{text:?}: {e}"),
    })
}

/// A missing price is NULL, never NaN.
pub(super) fn nan_to_null(value: Option<f64>) -> Option<f64> {
    value.filter(|v| !v.is_nan())
}

/// What a job run's claim that was not granted means, from what the database holds for the
/// job: `last_run`, the fire time it last finished (job_runs), and `claim`, the row of
/// job_claims as (fire time, instance, lease until). All instants in stored milliseconds.
///
/// Not granted because the fire time (or a later one) was run: done. Because a later fire
/// time is being run: done too (that run covers this one). Because another instance holds
/// this very fire time: held until its lease runs out. Anything else changed between the
/// claim and this read (the holder finished or its row went): the caller asks again at once.
pub(super) fn job_claim_refused(
    scheduled: i64,
    last_run: Option<i64>,
    claim: Option<(i64, String, i64)>,
    now: DateTime<Utc>,
) -> Result<JobClaim, StoreError> {
    if last_run.is_some_and(|last| last >= scheduled) {
        return Ok(JobClaim::Done);
    }
    match claim {
        Some((claimed, _, _)) if claimed > scheduled => Ok(JobClaim::Done),
        Some((claimed, instance, until)) if claimed == scheduled => Ok(JobClaim::Held {
            instance,
            until: from_ms(until, "job claim lease")?,
        }),
        _ => Ok(JobClaim::Held {
            instance: String::new(),
            until: now,
        }),
    }
}

/// Maps a failed query to [`StoreError::Query`], naming the work.
pub(super) fn query(doing: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { doing, source }
}

/// One column of a row of either backend, decoded; a value of the wrong type is corrupt.
fn get<'r, R, T>(row: &'r R, column: &'static str) -> Result<T, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(column).map_err(|e| StoreError::Corrupt {
        what: column,
        problem: e.to_string(),
    })
}

/// The column types the schemas use, read by name from a row of either backend.
pub(super) trait Columns {
    fn text(&self, column: &'static str) -> Result<String, StoreError>;
    fn text_or_null(&self, column: &'static str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &'static str) -> Result<i64, StoreError>;
    fn int_or_null(&self, column: &'static str) -> Result<Option<i64>, StoreError>;
    fn real(&self, column: &'static str) -> Result<f64, StoreError>;
    fn real_or_null(&self, column: &'static str) -> Result<Option<f64>, StoreError>;

    /// A stored instant (milliseconds).
    fn instant(&self, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
        from_ms(self.int(column)?, column)
    }

    /// A stored session date (`YYYY-MM-DD`).
    fn date(&self, column: &'static str) -> Result<NaiveDate, StoreError> {
        parse_date(&self.text(column)?, column)
    }

    /// A stored flag (0 or 1; anything else counts as set, as SQLite's own truth does).
    fn flag(&self, column: &'static str) -> Result<bool, StoreError> {
        Ok(self.int(column)? != 0)
    }
}

impl<R> Columns for R
where
    R: Row,
    &'static str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> f64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, column: &'static str) -> Result<String, StoreError> {
        get(self, column)
    }
    fn text_or_null(&self, column: &'static str) -> Result<Option<String>, StoreError> {
        get(self, column)
    }
    fn int(&self, column: &'static str) -> Result<i64, StoreError> {
        get(self, column)
    }
    fn int_or_null(&self, column: &'static str) -> Result<Option<i64>, StoreError> {
        get(self, column)
    }
    fn real(&self, column: &'static str) -> Result<f64, StoreError> {
        get(self, column)
    }
    fn real_or_null(&self, column: &'static str) -> Result<Option<f64>, StoreError> {
        get(self, column)
    }
}

/// A count as stored (never negative in practice; a negative one reads as 0).
pub(super) fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// A `servers` row.
pub(super) fn settings(row: &impl Columns) -> Result<ServerSettings, StoreError> {
    let server = ServerId::from_stored(row.text("server")?)?;
    let tz_text = row.text("display_tz")?;
    let display_tz = Tz::from_str(&tz_text).map_err(|_| StoreError::Corrupt {
        what: "display_tz",
        problem: format!("{tz_text:?} is not a timezone"),
    })?;
    let quiet_hours = match (
        row.int_or_null("quiet_start")?,
        row.int_or_null("quiet_end")?,
    ) {
        (Some(s), Some(e)) => {
            Some(
                QuietHours::from_minutes(s, e).map_err(|problem| StoreError::Corrupt {
                    what: "quiet hours",
                    problem: problem.to_string(),
                })?,
            )
        }
        _ => None,
    };
    let channel = |what: &'static str| -> Result<Option<ChannelId>, StoreError> {
        row.text_or_null(what)?
            .map(|text| {
                text.parse().map_err(|_| StoreError::Corrupt {
                    what,
                    problem: format!("{text:?} is not a channel id"),
                })
            })
            .transpose()
    };
    Ok(ServerSettings {
        server,
        display_tz,
        quiet_hours,
        alert_channel: channel("alert_channel")?,
        digest_channel: channel("digest_channel")?,
    })
}

/// A `destinations` row.
pub(super) fn destination(row: &impl Columns) -> Result<Destination, StoreError> {
    let id = row.int("id")?;
    let target = Target::from_stored(id, &row.text("kind")?, row.text("target")?)?;
    let disabled = match (
        row.text_or_null("disabled_reason")?,
        row.int_or_null("disabled_at")?,
    ) {
        (Some(reason), Some(at)) => Some((reason, from_ms(at, "disabled_at")?)),
        _ => None,
    };
    Ok(Destination {
        id,
        server: ServerId::from_stored(row.text("server")?)?,
        target,
        enabled: row.flag("enabled")?,
        disabled,
    })
}

/// A `rules` row.
pub(super) fn rule(row: &impl Columns) -> Result<StoredRule, StoreError> {
    let rule: RawRule =
        serde_json::from_str(&row.text("spec")?).map_err(|e| StoreError::Corrupt {
            what: "rule",
            problem: e.to_string(),
        })?;
    let mention_role = match row.text_or_null("mention_role")? {
        Some(text) => Some(text.parse().map_err(|_| StoreError::Corrupt {
            what: "mention_role",
            problem: format!("{text:?} is not a role id"),
        })?),
        None => None,
    };
    Ok(StoredRule {
        rule,
        destination: row.int_or_null("destination")?,
        mention_role,
    })
}

/// A rule's spec as stored: the JSON of its `[[rules]]` table.
pub(super) fn rule_spec(rule: &StoredRule) -> Result<String, StoreError> {
    serde_json::to_string(&rule.rule).map_err(|e| StoreError::Corrupt {
        what: "rule",
        problem: e.to_string(),
    })
}

/// A `mutes` row (`target_kind`, `target`, `until`).
pub(super) fn mute(row: &impl Columns) -> Result<Mute, StoreError> {
    let target = row.text("target")?;
    let target = match row.text("target_kind")?.as_str() {
        "symbol" => MuteTarget::Symbol(target),
        "rule" => MuteTarget::Rule(target),
        other => {
            return Err(StoreError::Corrupt {
                what: "mute",
                problem: format!("unknown target kind {other:?}"),
            });
        }
    };
    Ok(Mute {
        target,
        until: row.instant("until")?,
    })
}

/// How a mute's target is stored: (`target_kind`, `target`).
pub(super) fn mute_target(target: &MuteTarget) -> (&'static str, &str) {
    match target {
        MuteTarget::Symbol(s) => ("symbol", s),
        MuteTarget::Rule(r) => ("rule", r),
    }
}

/// An `outbox` row.
pub(super) fn message(row: &impl Columns) -> Result<MessageRecord, StoreError> {
    let id = row.int("id")?;
    Ok(MessageRecord {
        id,
        server: ServerId::from_stored(row.text("server")?)?,
        destination: row.int("destination")?,
        symbol: row.text("symbol")?,
        session: row.date("session")?,
        state: MessageState::parse(&row.text("state")?)?,
        attempts: attempts(row.int("attempts")?),
        next_attempt_at: row.instant("next_attempt_at")?,
        remote_id: row.text_or_null("remote_id")?,
        note: row.text_or_null("note")?,
        interrupted: row.flag("interrupted")?,
        payload: payload(&row.text("payload")?, id)?,
    })
}

/// A stored attempt count.
pub(super) fn attempts(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// The outbox payload of message `id`, with the nonce it was (or will be) first sent with.
pub(super) fn payload(text: &str, id: i64) -> Result<Outgoing, StoreError> {
    let mut payload: Outgoing = serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what: "outbox payload",
        problem: format!("message {id}: {e}"),
    })?;
    if payload.nonce.is_empty() {
        // Stored by a highwater from before nonces named the message: keep the nonce it
        // was (or will be) first sent with.
        payload.nonce = legacy_nonce(id);
    }
    Ok(payload)
}

fn bar_from(
    date: NaiveDate,
    open: Option<f64>,
    high: Option<f64>,
    low: Option<f64>,
    close: f64,
    volume: Option<f64>,
) -> Result<Bar, StoreError> {
    // A range stored before the checks of today (a high below the close) costs the bar its
    // high and low, not its close.
    Bar::new(date, close)
        .map(|b| b.with_range_or_less(open, high, low).0)
        .and_then(|b| b.with_volume(volume))
        .map_err(|e| StoreError::Corrupt {
            what: "bar",
            problem: format!("{date}: {e}"),
        })
}

/// A `bars` row (`date`, `open`, `high`, `low`, `close`, `volume`).
pub(super) fn bar(row: &impl Columns) -> Result<Bar, StoreError> {
    bar_from(
        parse_date(&row.text("date")?, "bar date")?,
        row.real_or_null("open")?,
        row.real_or_null("high")?,
        row.real_or_null("low")?,
        row.real("close")?,
        row.real_or_null("volume")?,
    )
}

/// A symbol's cached history from its `bar_meta` row and its bars, oldest first.
pub(super) fn cached(meta: &impl Columns, bars: Vec<Bar>) -> Result<Cached, StoreError> {
    let held = match meta.text_or_null("held_date")? {
        Some(date) => {
            let bar = bar_from(
                parse_date(&date, "held bar date")?,
                meta.real_or_null("held_open")?,
                meta.real_or_null("held_high")?,
                meta.real_or_null("held_low")?,
                meta.real_or_null("held_close")?.unwrap_or(f64::NAN),
                meta.real_or_null("held_volume")?,
            )?;
            Some(Held {
                bar,
                jump_pct: meta.real_or_null("held_jump_pct")?.unwrap_or(f64::NAN),
                rejected: meta.int_or_null("held_rejected")?.is_some_and(|r| r != 0),
                reason: meta.text_or_null("held_reason")?.unwrap_or_default(),
            })
        }
        None => None,
    };
    Ok(Cached {
        bars,
        held,
        last_split: meta
            .text_or_null("last_split")?
            .map(|d| parse_date(&d, "last split"))
            .transpose()?,
    })
}

/// The columns of a `bar_meta` row after `symbol`, as stored for `history` (the held bar's
/// verdict as an integer flag).
pub(super) struct BarMeta<'a> {
    pub last_split: Option<String>,
    pub held_date: Option<String>,
    pub held_open: Option<f64>,
    pub held_high: Option<f64>,
    pub held_low: Option<f64>,
    pub held_close: Option<f64>,
    pub held_volume: Option<f64>,
    pub held_jump_pct: Option<f64>,
    pub held_rejected: Option<i64>,
    pub held_reason: Option<&'a str>,
}

impl<'a> BarMeta<'a> {
    pub(super) fn of(history: &'a Cached) -> Self {
        let held = history.held.as_ref();
        Self {
            last_split: history.last_split.map(date_text),
            held_date: held.map(|h| date_text(h.bar.date())),
            held_open: held.and_then(|h| h.bar.open()),
            held_high: held.and_then(|h| h.bar.high()),
            held_low: held.and_then(|h| h.bar.low()),
            held_close: held.map(|h| h.bar.close()),
            held_volume: held.and_then(|h| h.bar.volume()),
            held_jump_pct: held.map(|h| h.jump_pct),
            held_rejected: held.map(|h| i64::from(h.rejected)),
            held_reason: held.map(|h| h.reason.as_str()),
        }
    }
}

/// What [`Store::add_rule_within`](super::Store::add_rule_within) decides from the server's
/// rules as they are inside its transaction: the rule to store, with the id `id_for` picks, or
/// why it is refused.
pub(super) fn within_limits(
    existing: Vec<StoredRule>,
    rule: &StoredRule,
    limits: ServerLimits,
    id_for: &(dyn for<'t> Fn(&'t BTreeSet<String>) -> String + Send + Sync),
) -> Result<StoredRule, RuleAdded> {
    if existing.len() >= limits.max_rules {
        return Err(RuleAdded::TooManyRules {
            have: existing.len(),
        });
    }
    let symbols: BTreeSet<&str> = existing
        .iter()
        .chain(std::iter::once(rule))
        .flat_map(|r| r.rule.symbols.iter().map(String::as_str))
        .collect();
    if symbols.len() > limits.max_symbols {
        return Err(RuleAdded::TooManySymbols {
            limit: limits.max_symbols,
        });
    }
    let taken: BTreeSet<String> = existing.into_iter().map(|r| r.rule.id).collect();
    let mut stored = rule.clone();
    stored.rule.id = id_for(&taken);
    Ok(stored)
}

/// A message claimed for an attempt, from its updated `outbox` row, its destination and the
/// rules of the alerts it carries.
pub(super) fn claimed(
    row: &impl Columns,
    destination: Destination,
    rules: Vec<String>,
) -> Result<Claimed, StoreError> {
    let id = row.int("id")?;
    Ok(Claimed {
        id,
        server: ServerId::from_stored(row.text("server")?)?,
        destination,
        symbol: row.text("symbol")?,
        session: row.date("session")?,
        payload: payload(&row.text("payload")?, id)?,
        attempts: attempts(row.int("attempts")?),
        interrupted: row.flag("interrupted")?,
        rules,
    })
}

/// The payload of the message of `group` carrying its `fresh` alerts, composed by `compose` for
/// the group's destination as stored in `destination` (its `kind` and `target` columns).
pub(super) fn compose_payload(
    compose: &dyn Compose,
    group: &AlertGroup,
    fresh: &[&NewAlert],
    destination: &impl Columns,
) -> Result<String, StoreError> {
    let target = Target::from_stored(
        group.destination,
        &destination.text("kind")?,
        destination.text("target")?,
    )?;
    compose
        .compose(group, fresh, &target)
        .map_err(|e| StoreError::Corrupt {
            what: "outbox payload",
            problem: e.to_string(),
        })
}

/// The outbox at a glance from rows of `state`, `n` (messages) and `oldest` (the earliest
/// `created_at`) per state.
pub(super) fn outbox_summary(rows: &[impl Columns]) -> Result<OutboxSummary, StoreError> {
    let mut summary = OutboxSummary::default();
    for row in rows {
        let state = row.text("state")?;
        let oldest = row.instant("oldest")?;
        if state == "pending" || state == "sending" {
            summary.oldest_pending = Some(summary.oldest_pending.map_or(oldest, |o| o.min(oldest)));
        }
        summary.by_state.insert(state, count(row.int("n")?));
    }
    Ok(summary)
}
