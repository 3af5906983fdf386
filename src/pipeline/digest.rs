//! The daily digest of a tick: for each server that asked for one (`/alerts digest on`), one
//! message per calendar and session with where each of its symbols closed, written to the
//! outbox with the tick's alerts and kept to one per session by the alert log.

use std::collections::HashMap;
use std::sync::Arc;

use super::tick::{DigestLine, DigestLines, Plan, watches};
use crate::alerts::{digest_embed, digest_json, short_date};
use crate::market::{Calendar, Series, Symbol};
use crate::shared::ChannelId;
use crate::store::{AlertGroup, NewAlert, Store, StoreError, Target, TickWrite};

/// The rule id and kind a digest is logged under (no rule kind is named so).
pub const DIGEST: &str = "digest";

/// Adds `plan`'s daily digests to `write`: for each calendar this tick is for (`None`: all),
/// the digest of its symbols as of the latest session any of them reached, once per session
/// (the alert log keeps it to one: rule `digest`, kind `digest`, the session as the period).
/// `lines` has each loaded symbol's line as of its latest bar; `kept` the histories of the
/// pair when the tick kept them. Symbols whose history did not load this tick are named under
/// "No data".
pub(super) async fn digests(
    store: &dyn Store,
    plan: &Plan,
    channel: ChannelId,
    lines: &DigestLines,
    kept: &HashMap<String, (Series, &'static str)>,
    only_calendar: Option<Calendar>,
    write: &mut TickWrite,
) -> Result<(), StoreError> {
    let (a, b) = crate::service::digest::PAIR;
    let pair = match (kept.get(a), kept.get(b)) {
        (Some((a_history, _)), Some((b_history, _))) if watches(plan, a) && watches(plan, b) => {
            Some((a_history, b_history))
        }
        _ => None,
    };
    // Per calendar: the lines at hand and the symbols without one.
    type Part<'s> = (Calendar, Vec<&'s DigestLine>, Vec<Arc<Symbol>>);
    let mut calendars: Vec<Part<'_>> = Vec::new();
    for symbol in &plan.symbols {
        if only_calendar.is_some_and(|c| symbol.calendar() != c) {
            continue;
        }
        let calendar = symbol.calendar();
        let slot = match calendars.iter().position(|c| c.0 == calendar) {
            Some(at) => at,
            None => {
                calendars.push((calendar, Vec::new(), Vec::new()));
                calendars.len() - 1
            }
        };
        match lines.get(symbol.ticker()) {
            Some(line) => calendars[slot].1.push(line),
            None => calendars[slot].2.push(symbol.clone()),
        }
    }
    for (calendar, lines, unloaded) in calendars {
        let Some(session) = lines.iter().filter_map(|(last, _)| *last).max() else {
            continue; // nothing of this calendar was looked at this tick
        };
        let mut digest = crate::service::digest::assemble(
            lines.into_iter().map(|(_, line)| line.clone()),
            session,
            pair,
        );
        digest.missing.extend(unloaded);
        let destination = store
            .destination_for(&plan.server, &Target::Channel(channel))
            .await?;
        let period = session.to_string();
        write.groups.push(AlertGroup {
            server: plan.server.clone(),
            destination,
            symbol: calendar.as_str().to_owned(),
            session,
            mention_role: None,
            alerts: vec![NewAlert {
                rule_id: DIGEST.to_owned(),
                kind: DIGEST.to_owned(),
                period,
                embed: digest_embed(&digest, calendar),
                headline: format!("Daily digest for {}", short_date(session)),
                event: digest_json(&digest),
                chart: false,
            }],
        });
    }
    Ok(())
}
