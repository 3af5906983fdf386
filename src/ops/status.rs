//! `highwater status` (a database's state for an operator) and `highwater outbox` (its latest
//! messages), as text or JSON. Reading is [`StoreStatus::read_only`] (or
//! [`StoreStatus::read_postgres`]) and [`crate::store::outbox`] (no lock, no write); this file
//! only renders.
//!
//! Times are UTC and say so. Destinations are shown by kind and id, never a webhook token.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::store::{Holder, MessageRecord, MessageState, StoreStatus};

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn holder_text(holder: Holder) -> String {
    match holder {
        Holder::None => "none".to_owned(),
        Holder::Running(pid) => format!("pid {pid}"),
        Holder::Gone(pid) => format!("none (pid {pid} in the lock file is not running)"),
        Holder::Shared => "none (PostgreSQL: shared by every instance, no lock)".to_owned(),
    }
}

/// The status as lines of text.
pub fn text(database: &str, status: &StoreStatus, holder: Holder) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!("database: {database}"));
    line(format!("lock holder: {}", holder_text(holder)));
    line(format!("servers: {}", status.servers.len()));
    for server in &status.servers {
        let rules = status.rules.get(server).copied().unwrap_or(0);
        line(format!("  {server}: {rules} rules"));
        for d in status
            .destinations
            .iter()
            .filter(|d| d.server.as_str() == server)
        {
            let state = match &d.disabled {
                None if d.enabled => "enabled".to_owned(),
                None => "paused".to_owned(),
                Some((reason, at)) => format!("paused since {}: {reason}", utc(*at)),
            };
            line(format!("    destination {} ({}): {state}", d.id, d.target));
        }
    }
    let states = if status.outbox.by_state.is_empty() {
        "empty".to_owned()
    } else {
        status
            .outbox
            .by_state
            .iter()
            .map(|(state, n)| format!("{n} {state}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    line(format!("outbox: {states}"));
    line(format!(
        "oldest pending: {}",
        status.outbox.oldest_pending.map_or("none".to_owned(), utc)
    ));
    if status.job_runs.is_empty() {
        line("jobs: none has run".to_owned());
    } else {
        line("jobs:".to_owned());
        for (job, (scheduled, finished)) in &status.job_runs {
            line(format!(
                "  {job}: last ran for {}, finished {}",
                utc(*scheduled),
                utc(*finished)
            ));
        }
    }
    out
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The status as one JSON object; instants in RFC 3339 UTC (`Z`).
pub fn json(database: &str, status: &StoreStatus, holder: Holder) -> Value {
    let (pid, stale) = match holder {
        Holder::None | Holder::Shared => (None, None),
        Holder::Running(pid) => (Some(pid), None),
        Holder::Gone(pid) => (None, Some(pid)),
    };
    json!({
        "database": database,
        "lock_holder": { "pid": pid, "stale_pid": stale },
        "servers": status.servers.iter().map(|server| json!({
            "server": server,
            "rules": status.rules.get(server).copied().unwrap_or(0),
            "destinations": status.destinations.iter()
                .filter(|d| d.server.as_str() == server)
                .map(|d| json!({
                    "id": d.id,
                    "target": d.target.to_string(),
                    "enabled": d.enabled,
                    "paused_reason": d.disabled.as_ref().map(|(r, _)| r.clone()),
                    "paused_at": d.disabled.as_ref().map(|(_, at)| rfc3339(*at)),
                }))
                .collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "outbox": {
            "by_state": status.outbox.by_state,
            "oldest_pending": status.outbox.oldest_pending.map(rfc3339),
        },
        "jobs": status.job_runs.iter().map(|(job, (scheduled, finished))| json!({
            "job": job,
            "scheduled": rfc3339(*scheduled),
            "finished": rfc3339(*finished),
        })).collect::<Vec<_>>(),
    })
}

/// `highwater outbox`: one line per message, oldest first. Notes are a delivery's own words
/// (never a webhook token: the store keeps none in them).
pub fn outbox_text(messages: &[MessageRecord]) -> String {
    if messages.is_empty() {
        return "the outbox is empty\n".to_owned();
    }
    let mut out = String::new();
    for m in messages {
        out.push_str(&format!(
            "#{} {} {} {} server {} destination {}, {} attempt{}",
            m.id,
            m.state.as_str(),
            m.session,
            m.symbol,
            m.server,
            m.destination,
            m.attempts,
            if m.attempts == 1 { "" } else { "s" }
        ));
        if let Some(remote) = &m.remote_id {
            out.push_str(&format!(", message {remote}"));
        }
        if m.interrupted {
            out.push_str(", interrupted while sending");
        }
        if matches!(m.state, MessageState::Pending | MessageState::Sending) {
            out.push_str(&format!(", next attempt {}", utc(m.next_attempt_at)));
        }
        if let Some(note) = m.note.as_deref().filter(|n| !n.is_empty()) {
            out.push_str(&format!(": {note}"));
        }
        out.push('\n');
    }
    out
}

/// `highwater outbox --json`: one object per message.
pub fn outbox_json(message: &MessageRecord) -> Value {
    json!({
        "id": message.id,
        "state": message.state.as_str(),
        "session": message.session.to_string(),
        "symbol": message.symbol,
        "server": message.server.to_string(),
        "destination": message.destination,
        "attempts": message.attempts,
        "next_attempt_at": rfc3339(message.next_attempt_at),
        "remote_id": message.remote_id,
        "interrupted": message.interrupted,
        "note": message.note,
    })
}
