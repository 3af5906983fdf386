//! The daily digest of a tick: for each server that asked for one (`/alerts digest on`), one
//! message per calendar and session with where each of its symbols closed, written to the
//! outbox with the tick's alerts and kept to one per session by the alert log.

use std::collections::HashMap;
use std::sync::Arc;

use super::tick::Plan;
use crate::alerts::{digest_embed, digest_json, short_date};
use crate::market::{Calendar, Series, Symbol};
use crate::shared::ChannelId;
use crate::store::{AlertGroup, NewAlert, Store, StoreError, Target, TickWrite};

/// The rule id and kind a digest is logged under (no rule kind is named so).
pub const DIGEST: &str = "digest";

/// Adds `plan`'s daily digests to `write`: for each calendar this tick is for (`None`: all),
/// the digest of its symbols as of the latest session any of them reached, once per session
/// (the alert log keeps it to one: rule `digest`, kind `digest`, the session as the period).
/// Symbols whose history did not load this tick are named under "No data".
pub(super) async fn digests(
    store: &dyn Store,
    plan: &Plan,
    channel: ChannelId,
    series: &HashMap<String, (Series, &'static str)>,
    only_calendar: Option<Calendar>,
    write: &mut TickWrite,
) -> Result<(), StoreError> {
    let watched = |ticker: &str| {
        plan.symbols
            .iter()
            .chain(&plan.versus)
            .any(|s| s.ticker() == ticker)
    };
    let (a, b) = crate::service::digest::PAIR;
    let pair = match (series.get(a), series.get(b)) {
        (Some((a_history, _)), Some((b_history, _))) if watched(a) && watched(b) => {
            Some((a_history, b_history))
        }
        _ => None,
    };
    // Per calendar: the histories at hand and the symbols without one.
    type Part<'s> = (Calendar, Vec<&'s Series>, Vec<Arc<Symbol>>);
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
        match series.get(symbol.ticker()) {
            Some((history, _)) => calendars[slot].1.push(history),
            None => calendars[slot].2.push(symbol.clone()),
        }
    }
    for (calendar, histories, unloaded) in calendars {
        let Some(session) = histories.iter().filter_map(|h| h.last_date()).max() else {
            continue; // nothing of this calendar was looked at this tick
        };
        let mut digest = crate::service::digest(&histories, session, pair);
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
