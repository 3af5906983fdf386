//! One bot run by two instances, each with its own gateway shard (`[discord] shards`): each
//! identifies as its shard only, receives only the guilds that shard owns, answers the commands
//! of those guilds — and only those — from its own state, and resumes its own session after a
//! dropped connection.

use crate::discord_bot::{GUILD, MARKETS, admin, config_with, rules_add, start_with, utc};
use crate::support::discord::{
    FakeConfig, FakeDiscord, FakeGuild, FakeRole, Interaction, permissions,
};
use crate::support::{ManualClock, run_dir};

use std::time::Duration;

use highwater::shared::GuildId;
use highwater::store::ServerId;

/// A guild on shard 1 of 2: `(id >> 22) % 2 == 1` (the default guild, 1111, is on shard 0).
const SECOND_GUILD: u64 = (1 << 22) | 2222;
const SECOND_CHANNEL: u64 = 2101;

/// Longer than serenity's 5 s between the boots of one process's shards.
const BOOT_GAP: Duration = Duration::from_secs(8);

/// The default guild and [`SECOND_GUILD`], with a channel and a managers' role of its own.
fn two_guilds() -> FakeConfig {
    let mut config = FakeConfig::default();
    config.guilds.push(FakeGuild {
        id: SECOND_GUILD,
        name: "Second Guild".to_owned(),
        owner_id: 5000,
        channels: vec![(SECOND_CHANNEL, "alerts".to_owned())],
        roles: vec![FakeRole {
            id: 3101,
            name: "Managers".to_owned(),
            permissions: permissions::MEMBER | permissions::MANAGE_GUILD,
        }],
    });
    config
}

fn shard_settings(shard: u32) -> String {
    format!("shards = \"{shard}\"\ntotal_shards = 2\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_each_run_their_shard_and_answer_the_commands_of_its_guilds() {
    assert_eq!((GUILD >> 22) % 2, 0);
    assert_eq!((SECOND_GUILD >> 22) % 2, 1);
    let fake = FakeDiscord::start(two_guilds()).await;
    let clock = ManualClock::at(utc(2025, 9, 19, 21, 0, 0));
    // Each instance its own database, so the store that holds a rule says who answered.
    let (a, b) = (run_dir(), run_dir());
    let first = start_with(
        &fake,
        config_with(&fake, &shard_settings(0)),
        &a.db,
        &a.data,
        clock.clone(),
    )
    .await;
    // serenity boots a process's shards 5 s apart: had the first instance been given more than
    // shard 0, its next IDENTIFY would come within this wait.
    let another = fake.wait_until(BOOT_GAP, |f| f.identifies() > 1).await;
    assert!(
        !another,
        "the first instance identified as {:?}",
        fake.identified_shards()
    );
    assert_eq!(fake.identified_shards(), vec![[0, 2]]);
    let second = start_with(
        &fake,
        config_with(&fake, &shard_settings(1)),
        &b.db,
        &b.data,
        clock,
    )
    .await;
    assert_eq!(fake.identified_shards(), vec![[0, 2], [1, 2]]);
    assert_eq!(fake.connected_shards(), vec![[0, 2], [1, 2]]);
    assert_eq!(fake.guilds_sent_to([0, 2]), vec![GUILD]);
    assert_eq!(fake.guilds_sent_to([1, 2]), vec![SECOND_GUILD]);

    for (guild, channel, shard) in [
        (GUILD, MARKETS, [0, 2]),
        (SECOND_GUILD, SECOND_CHANNEL, [1, 2]),
    ] {
        let sent = fake.send_interaction(
            &rules_add(0, "RUT")
                .option_channel("channel", channel)
                .in_guild(guild),
        );
        assert_eq!(fake.interaction_shard(sent.id), Some(shard), "{guild}");
        let reply = fake
            .wait_reply(sent.id, Duration::from_secs(15))
            .await
            .unwrap_or_else(|| panic!("no answer in guild {guild}"));
        let text = reply.content().unwrap_or_default();
        assert!(
            text.contains("Added rule `rut-record-high`")
                && text.contains(&format!("<#{channel}>")),
            "guild {guild}: {text}"
        );
    }

    // The instance that owns each guild's shard answered it: the rule is in its database only.
    let rules = |store: &std::sync::Arc<dyn highwater::store::Store>, guild: u64| {
        let store = store.clone();
        async move {
            store
                .rules(&ServerId::guild(GuildId::new(guild)))
                .await
                .expect("rules")
                .len()
        }
    };
    assert_eq!(
        (
            rules(&first.store, GUILD).await,
            rules(&first.store, SECOND_GUILD).await
        ),
        (1, 0),
        "the shard 0 instance answered the first guild only"
    );
    assert_eq!(
        (
            rules(&second.store, GUILD).await,
            rules(&second.store, SECOND_GUILD).await
        ),
        (0, 1),
        "the shard 1 instance answered the second guild only"
    );

    // A dropped network: each instance resumes its own shard's session, and goes on answering.
    fake.drop_connection();
    let resumed = fake
        .wait_until(Duration::from_secs(30), |f| {
            f.resumes() == 2 && f.connected_shards().len() == 2
        })
        .await;
    assert!(resumed, "resumed {} of 2 sessions", fake.resumes());
    let listed = fake
        .interact(
            Interaction::command("rules")
                .sub("list")
                .by(admin())
                .in_guild(SECOND_GUILD),
        )
        .await;
    assert!(
        listed
            .content()
            .is_some_and(|c| c.contains("`rut-record-high`")),
        "{:?}",
        listed.content()
    );
    assert_eq!(
        fake.identifies(),
        2,
        "no instance identified as another shard meanwhile: {:?}",
        fake.identified_shards()
    );
    first.stop().await;
    second.stop().await;
}
