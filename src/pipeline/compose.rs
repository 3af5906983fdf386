//! What an outbox message says: the store's [`Compose`] for Discord, so the store only
//! persists. The payload is a [`notify::Outgoing`](crate::notify::Outgoing) as JSON, its nonce
//! taken from the server, the destination's identity and the fresh alerts' dedup keys; it names
//! the chart to send with it when a fresh alert's rule asked for one.

use crate::chart::ChartRange;
use crate::notify::{AlertParts, ChartRequest, Outgoing};
use crate::store::{AlertGroup, Compose, NewAlert, Target};

/// Composes an outbox payload as a Discord message ([`Outgoing`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscordMessage;

impl Compose for DiscordMessage {
    fn compose(
        &self,
        group: &AlertGroup,
        fresh: &[&NewAlert],
        target: &Target,
    ) -> Result<String, serde_json::Error> {
        let keys: Vec<String> = fresh.iter().map(|a| a.dedup_key(&group.symbol)).collect();
        let parts: Vec<AlertParts> = fresh
            .iter()
            .map(|a| AlertParts {
                embed: a.embed.clone(),
                headline: a.headline.clone(),
                event: a.event.clone(),
            })
            .collect();
        let mut outgoing = Outgoing::compose(
            group.server.as_str(),
            &target.identity(),
            &keys,
            group.mention_role,
            &parts,
        );
        // The default chart range: a year shows the record and the run in one picture.
        let asking: Vec<String> = fresh
            .iter()
            .filter(|a| a.chart)
            .map(|a| a.rule_id.clone())
            .collect();
        outgoing.chart = (!asking.is_empty()).then(|| ChartRequest {
            symbol: group.symbol.clone(),
            session: group.session,
            range: ChartRange::default(),
            rules: asking,
        });
        serde_json::to_string(&outgoing)
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::alerts::Embed;
    use crate::store::ServerId;

    #[test]
    fn the_payload_mentions_the_role_and_carries_each_fresh_alert() {
        let alert = NewAlert {
            rule_id: "r".into(),
            kind: "record_high".into(),
            period: "2025-09-18".into(),
            embed: Embed {
                title: "RUT".into(),
                description: "RUT closes at a record".into(),
                fields: Vec::new(),
                colour: 0,
                timestamp: chrono::DateTime::UNIX_EPOCH,
                footer: String::new(),
            },
            headline: "RUT closes at a record".into(),
            event: serde_json::json!({"kind": "record_high"}),
            chart: false,
        };
        let group = AlertGroup {
            server: ServerId::config("main"),
            destination: 1,
            symbol: "^RUT".into(),
            session: NaiveDate::from_ymd_opt(2025, 9, 18).expect("a date"),
            mention_role: Some(crate::store::RoleId::new(42)),
            alerts: vec![alert.clone()],
        };
        let payload = DiscordMessage
            .compose(&group, &[&alert], &Target::Console)
            .expect("serialisable");
        let outgoing: Outgoing = serde_json::from_str(&payload).expect("an Outgoing");
        assert_eq!(outgoing.content.as_deref(), Some("<@&42>"));
        assert_eq!(outgoing.headlines, ["RUT closes at a record"]);
        assert_eq!(
            outgoing.nonce,
            crate::notify::message_nonce(
                "config:main",
                "console",
                &["r/^RUT/record_high/2025-09-18".to_owned()]
            )
        );
    }
}
