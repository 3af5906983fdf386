//! Three `highwater run` processes on one PostgreSQL schema, with a local Yahoo (slow, so a
//! tick takes seconds), local Discord webhooks and the local Discord (REST and gateway, for a
//! server's channels): the scheduler leader is killed with SIGKILL in the middle of the
//! us-close tick, and then the instances holding deliveries in flight are killed as well, and
//! a fourth takes over. The tick is not lost (the next leader runs it once, after the dead
//! one's claim on it runs out) and every alert arrives: on channels exactly once (the re-sent
//! message carries the nonce of the first, which Discord deduplicates), on webhooks with one
//! re-send per message in flight at the kill (webhooks cannot deduplicate).
//!
//! In process: two apps' deliverers on one PostgreSQL schema share the outbox, and the claims
//! of a third instance that "died" are taken over once their lease runs out.

use crate::support;
use crate::support::database::{Kind, TestDb};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use highwater::rules::spec::RawRule;
use highwater::store::{
    ChannelId, GuildId, MessageState, ServerId, ServerSettings, StoredRule, Target,
};
use sqlx::Connection;
use support::discord::{FakeConfig, FakeDiscord};
use support::webhook::FakeWebhook;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::run_process::{SYMBOLS, WEBHOOKS, config_text_with};

/// How long the local Yahoo takes to answer: a tick lasts at least this long.
const YAHOO_DELAY: Duration = Duration::from_secs(2);

/// The instant every instance's clock reads when the test starts: two seconds before the
/// us-close job fires at 16:15 New York time on Friday 2025-09-19.
const START: &str = "2025-09-19T20:14:57Z";

/// The process tests' config, with one Yahoo attempt per request, a 21 s delivery lease and
/// the bot's REST pointed at the local Discord. Posts time out after 20 s: longer than the
/// test holds the first posts while it waits for every destination to have one in flight
/// (with 8 s, on a busy machine, the webhooks' posts timed out and were sent again before the
/// channel's was made, and arrived three times).
fn config_text(yahoo: &str, webhook: &FakeWebhook, discord: &FakeDiscord) -> String {
    let mut text = config_text_with(
        yahoo,
        webhook,
        "max_attempts = 1",
        "timeout_secs = 20\nlease_secs = 21",
    );
    text.push_str(&format!(
        "\n[discord]\napi_base = \"{}\"\n",
        discord.api_base()
    ));
    text
}

/// The local Discord's guild, and the channel its rules post to (one: the bot's requests to
/// a second channel would wait behind the first one's held request to learn its rate limit
/// bucket, and time out).
const GUILD: u64 = 1111;
const CHANNELS: [u64; 1] = [2001];

/// The guild's rules, as `/rules add` stores them: Russell 2000 and S&P 500 records and big
/// daily moves of the Russell 2000, in #markets.
async fn seed_guild(db: &TestDb) {
    let store = db.open().await;
    let now = START.parse().expect("an instant");
    let server = ServerId::guild(GuildId::new(GUILD));
    store
        .upsert_server(&ServerSettings::new(server.clone()), now)
        .await
        .expect("the server");
    let rules = [
        (
            CHANNELS[0],
            RawRule {
                id: "records".into(),
                kind: "record_high".into(),
                symbols: vec!["RUT".into(), "SPX".into()],
                ..RawRule::default()
            },
        ),
        (
            CHANNELS[0],
            RawRule {
                id: "rut-moves".into(),
                kind: "big_move".into(),
                timeframe: Some(highwater::market::Timeframe::Daily),
                threshold_pct: Some(0.5),
                symbols: vec!["RUT".into()],
                ..RawRule::default()
            },
        ),
    ];
    for (channel, rule) in rules {
        let destination = store
            .destination_for(&server, &Target::Channel(ChannelId::new(channel)))
            .await
            .expect("a destination");
        let stored = StoredRule {
            rule,
            destination: Some(destination),
            mention_role: None,
        };
        store.put_rule(&server, &stored, now).await.expect("a rule");
    }
    store.close().await;
}

/// A local Yahoo serving the four indices' histories through Friday 2025-09-19, slowly.
async fn slow_yahoo() -> MockServer {
    let data = support::data_dir();
    let yahoo = MockServer::start().await;
    let through = chrono::NaiveDate::from_ymd_opt(2025, 9, 19);
    for (file, symbol, segment) in SYMBOLS {
        let chart = support::yahoo::chart_from_csv(&data.join(file), symbol, through);
        Mock::given(method("GET"))
            .and(path(format!("/v8/finance/chart/{segment}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(chart)
                    .set_delay(YAHOO_DELAY),
            )
            .mount(&yahoo)
            .await;
    }
    yahoo
}

/// A free port on 127.0.0.1 (bound and released at once) for an instance's endpoints.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One `highwater run` process and what the test knows of it.
struct Instance {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
    port: u16,
}

impl Instance {
    /// Starts `highwater run` on the PostgreSQL `url`, its clock set so that every instance
    /// reads the same time: [`START`] plus the time since `began`.
    fn start(name: &'static str, dir: &Path, config: &Path, url: &str, began: Instant) -> Self {
        let log = dir.join(format!("{name}.log"));
        let port = free_port();
        let start: chrono::DateTime<chrono::Utc> = START.parse().expect("an instant");
        let now = start + chrono::Duration::from_std(began.elapsed()).expect("short");
        let child = Command::new(env!("CARGO_BIN_EXE_highwater"))
            .args(["run", "--config"])
            .arg(config)
            .args(["--now", &now.to_rfc3339(), "-v"])
            .env("HIGHWATER__STORE__URL", url)
            .env("HIGHWATER__HTTP__LISTEN", format!("127.0.0.1:{port}"))
            .env("DISCORD_TOKEN", FakeConfig::default().token)
            .env_remove("HIGHWATER_CONFIG")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("a log file"))
            .spawn()
            .expect("highwater run starts");
        Self {
            name,
            child: Some(child),
            log,
            port,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn leads(&self) -> bool {
        self.child.is_some() && self.log().contains("leading: this instance runs the jobs")
    }

    /// SIGKILL: no clean-up of any kind.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
            child.wait().expect("the process ends");
        }
    }

    /// SIGTERM, and a clean exit.
    fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let status = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .expect("kill runs");
            assert!(status.success());
            let exit = child.wait().expect("the process ends");
            assert!(exit.success(), "{}: {exit:?}\n{}", self.name, self.log());
        }
    }

    /// A sample of this instance's `/metrics` (off the async threads is not needed: reqwest
    /// is async).
    async fn metric(&self, series: &str) -> Option<f64> {
        let text = reqwest::get(format!("http://127.0.0.1:{}/metrics", self.port))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines().find_map(|line| {
            line.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
    }

    async fn readyz(&self) -> Option<serde_json::Value> {
        reqwest::get(format!("http://127.0.0.1:{}/readyz", self.port))
            .await
            .ok()?
            .json()
            .await
            .ok()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `ready` every 50 ms for up to `limit`.
async fn eventually(limit: Duration, mut ready: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ready().await
}

fn logs(instances: &[Instance]) -> String {
    instances
        .iter()
        .map(|i| format!("===== {}\n{}", i.name, i.log()))
        .collect()
}

/// The job claim and last run of us-close, read beside the instances.
async fn job_state(url: &str) -> (Option<(i64, String)>, Option<i64>) {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connects");
    let claim: Option<(i64, String)> =
        sqlx::query_as("SELECT scheduled_at, instance FROM job_claims WHERE job = 'us-close'")
            .fetch_optional(&mut conn)
            .await
            .expect("job_claims reads");
    let run: Option<i64> =
        sqlx::query_scalar("SELECT scheduled_at FROM job_runs WHERE job = 'us-close'")
            .fetch_optional(&mut conn)
            .await
            .expect("job_runs reads");
    let _ = conn.close().await;
    (claim, run)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_lose_the_leader_mid_tick_and_the_deliverers_mid_send_and_every_alert_arrives()
 {
    let db = TestDb::new(Kind::Postgres).await;
    let url = db.url().expect("a PostgreSQL schema").expose().to_owned();
    // Migrated once, before the instances race to it, with the guild's rules.
    seed_guild(&db).await;
    let yahoo = slow_yahoo().await;
    let webhook = FakeWebhook::start().await;
    webhook.set_delay(Duration::from_millis(20));
    let discord = FakeDiscord::start(FakeConfig::default()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("highwater.toml");
    std::fs::write(&config, config_text(&yahoo.uri(), &webhook, &discord)).expect("config written");
    let fire_ms = "2025-09-19T20:15:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .expect("an instant")
        .timestamp_millis();

    // A first, so that it leads; then B and C follow.
    let began = Instant::now();
    let mut instances = vec![Instance::start("a", dir.path(), &config, &url, began)];
    let a_leads = eventually(Duration::from_secs(30), async || instances[0].leads()).await;
    assert!(a_leads, "{}", logs(&instances));
    for name in ["b", "c"] {
        instances.push(Instance::start(name, dir.path(), &config, &url, began));
    }
    let following = eventually(Duration::from_secs(30), async || {
        instances[1..]
            .iter()
            .all(|i| i.log().contains("another instance runs the jobs"))
    })
    .await;
    assert!(following, "{}", logs(&instances));
    let ready = instances[1].readyz().await.expect("/readyz answers");
    assert_eq!(
        (&ready["role"], &ready["database"]),
        (
            &serde_json::json!("follower"),
            &serde_json::json!("postgres")
        ),
        "{ready}"
    );
    assert!(
        !ready.to_string().contains("postgres://"),
        "no URL: {ready}"
    );
    assert_eq!(instances[0].metric("highwater_leader").await, Some(1.0));
    assert_eq!(instances[2].metric("highwater_leader").await, Some(0.0));

    // The tick starts on A (its claim is in the database and Yahoo is asked), and A dies
    // while Yahoo takes its time: nothing of the tick is written.
    let asked = eventually(Duration::from_secs(30), async || {
        !yahoo
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    })
    .await;
    assert!(asked, "the tick never started:\n{}", logs(&instances));
    let (claim, run) = job_state(&url).await;
    let (claimed_for, _) = claim.expect("A claimed the run before it fetched");
    assert_eq!(claimed_for, fire_ms);
    assert!(run.is_none(), "not run yet");
    instances[0].kill();
    let killed_at = Instant::now();
    assert!(
        db.outbox().await.is_empty(),
        "A died before the tick wrote anything"
    );
    // Each post is recorded (Discord has it) and then left unanswered until released: the
    // window in which a post can be made twice.
    webhook.hang_after_recording();
    discord.hang_after_recording();

    // Another instance takes the lead within a few seconds, waits for A's claim to run out,
    // and runs the tick: its messages come.
    let took_over = eventually(Duration::from_secs(10), async || {
        instances[1..].iter().any(Instance::leads)
    })
    .await;
    assert!(took_over, "no new leader:\n{}", logs(&instances));
    let takeover = killed_at.elapsed();
    assert!(takeover < Duration::from_secs(10), "took {takeover:?}");
    let in_flight = eventually(Duration::from_secs(60), async || {
        webhook.holding() as u64 == WEBHOOKS && discord.holding() == CHANNELS.len()
    })
    .await;
    assert!(
        in_flight,
        "{} posts, {} held; {} channel messages, {} held:\n{}",
        webhook.posts().len(),
        webhook.holding(),
        discord.all_messages().len(),
        discord.holding(),
        logs(&instances)
    );
    let (claim, run) = job_state(&url).await;
    assert_eq!(
        run,
        Some(fire_ms),
        "the tick ran for the fire time A died in"
    );
    assert!(claim.is_none(), "and its claim is done: {claim:?}");

    // Every destination has a post in flight, recorded and unanswered (one at a time per
    // destination: nothing else is being sent). Both instances that could hold them die, and a
    // fourth comes up to take their claims over once the leases run out.
    for instance in &mut instances[1..] {
        instance.kill();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    webhook.release();
    discord.release();
    instances.push(Instance::start("d", dir.path(), &config, &url, began));
    let survivor = instances.len() - 1;

    let expected = db.outbox().await.len();
    assert!(expected > 2 * WEBHOOKS as usize, "{expected} messages");
    let delivered = eventually(Duration::from_secs(90), async || {
        let messages = db.outbox().await;
        messages.iter().all(|m| m.state == MessageState::Delivered)
    })
    .await;
    assert!(
        delivered,
        "{:?}\n{}",
        db.outbox()
            .await
            .iter()
            .map(|m| (m.id, m.state, m.note.clone()))
            .collect::<Vec<_>>(),
        logs(&instances)
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    instances[survivor].terminate();

    // Every webhook message arrived once, except those the killed deliverers had in flight:
    // Discord had them, the instances never learnt it, and D sent them again (interrupted),
    // each exactly once more. That is the documented webhook re-send, one per message in
    // flight at the kill.
    let messages = db.outbox().await;
    assert_eq!(messages.len(), expected, "the tick wrote its alerts once");
    // Each message's destination: a channel, or the id of a webhook (its token is `token-ID`).
    let (to_channel, to_webhook) = {
        let store = db.open().await;
        let (mut channels, mut webhooks) = (HashMap::new(), HashMap::new());
        for message in &messages {
            match store.destination(message.destination).await {
                Ok(Some(d)) => match d.target {
                    Target::Channel(channel) => channels.insert(d.id, channel.get()),
                    Target::Webhook(url) => webhooks.insert(d.id, url.id()),
                    Target::Console => None,
                },
                other => panic!("destination {}: {other:?}", message.destination),
            };
        }
        store.close().await;
        (channels, webhooks)
    };
    let (channel_messages, webhook_messages): (Vec<_>, Vec<_>) = messages
        .iter()
        .partition(|m| to_channel.contains_key(&m.destination));
    assert!(
        channel_messages.len() >= 2 * CHANNELS.len() && webhook_messages.len() > WEBHOOKS as usize,
        "{} channel and {} webhook messages",
        channel_messages.len(),
        webhook_messages.len()
    );
    let posts = webhook.posts();
    for message in &webhook_messages {
        let matching = posts
            .iter()
            .filter(|p| {
                to_webhook
                    .get(&message.destination)
                    .is_some_and(|id| p.path.ends_with(&format!("token-{id}")))
                    && p.body["embeds"][0]["title"] == message.payload.embeds[0].title.as_str()
                    && p.body["embeds"][0]["footer"]["text"]
                        == message.payload.embeds[0].footer.as_str()
                    && p.body["embeds"].as_array().map(Vec::len)
                        == Some(message.payload.embeds.len())
            })
            .count();
        let times = if message.interrupted { 2 } else { 1 };
        assert!(
            matching == times,
            "message {} arrived {matching} times (interrupted: {}, attempts {}, note {:?})\n{}",
            message.id,
            message.interrupted,
            message.attempts,
            message.note,
            logs(&instances)
        );
    }
    let interrupted =
        |of: &[&highwater::store::MessageRecord]| of.iter().filter(|m| m.interrupted).count();
    assert_eq!(
        interrupted(&webhook_messages) as u64,
        WEBHOOKS,
        "each webhook's post in flight was taken over\n{}",
        logs(&instances)
    );
    let resent = posts.len() - webhook_messages.len();
    assert_eq!(
        resent as u64, WEBHOOKS,
        "one re-send for each post in flight at the kill"
    );

    // On the channels, the messages in flight were sent again too, with their nonce: Discord
    // answered with the message it already had, so each shows once.
    assert_eq!(
        interrupted(&channel_messages),
        CHANNELS.len(),
        "each channel's message in flight was taken over"
    );
    let creates = |channel: u64| {
        discord
            .requests()
            .iter()
            .filter(|r| {
                r.method == "POST"
                    && r.status == 200
                    && r.path == format!("/api/v10/channels/{channel}/messages")
            })
            .count()
    };
    for channel in CHANNELS {
        let shown = discord.messages(channel);
        let sent: Vec<_> = channel_messages
            .iter()
            .filter(|m| to_channel.get(&m.destination) == Some(&channel))
            .collect();
        assert_eq!(
            shown.len(),
            sent.len(),
            "#{channel} shows each message once"
        );
        for message in &sent {
            let title = message.payload.embeds[0].title.as_str();
            let footer = message.payload.embeds[0].footer.as_str();
            let matching = shown
                .iter()
                .filter(|m| {
                    m["embeds"][0]["title"] == title && m["embeds"][0]["footer"]["text"] == footer
                })
                .count();
            assert_eq!(
                matching, 1,
                "message {} shows once in #{channel}",
                message.id
            );
        }
        assert_eq!(
            creates(channel),
            sent.len() + 1,
            "#{channel}: one create per message, and the one in flight sent twice"
        );
    }
    eprintln!(
        "leader taken over {takeover:?} after the kill; {expected} messages \
         ({} to channels), {} webhook posts, {} re-sent; {} channel creates for {} messages",
        channel_messages.len(),
        posts.len(),
        resent,
        CHANNELS.iter().map(|c| creates(*c)).sum::<usize>(),
        channel_messages.len(),
    );
    // One tick finished in all: A's was cut off, the next leader's ran once.
    let ticks: usize = instances
        .iter()
        .map(|i| i.log().matches("tick done").count())
        .sum();
    assert_eq!(ticks, 1, "{}", logs(&instances));
    let all = logs(&instances);
    assert!(
        all.contains("another instance runs this job; waiting"),
        "the new leader waited for A's claim: {all}"
    );
}

/// Two apps (two processes' stores) on one PostgreSQL schema deliver one tick's messages
/// together while a third instance's claims sit in flight; once those leases run out they are
/// taken back (as the running instances' sweep does) and delivered. Every message is posted
/// exactly once, each destination's in order, and the two deliverers' claims add up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deliverers_share_the_outbox_and_take_over_a_dead_instances_claims() {
    use highwater::app::{App, RunOptions};
    use highwater::config::Config;
    use highwater::scheduler::Clock;
    use highwater::store::{PgStore, Store};
    use std::sync::Arc;

    let db = TestDb::new(Kind::Postgres).await;
    let url = db.url().expect("a PostgreSQL schema").clone();
    let webhook = FakeWebhook::start().await;
    let mut text = format!(
        "{}{}\n[delivery]\nretry_base_secs = 0.05\n",
        support::RECORD_AND_WEEKLY_RULES,
        support::DAILY_STREAK_AND_MOVE_RULES
    );
    for id in 1..=WEBHOOKS {
        text.push_str(&format!(
            "\n[[subscriptions]]\nname = \"desk-{id}\"\nwebhook = \"{}\"\nsymbols = [\"RUT\", \"SPX\", \"NDX\", \"DJI\"]\n",
            webhook.url(id)
        ));
    }
    let config = Config::from_toml(&text, "test config").expect("a valid config");
    let start: chrono::DateTime<chrono::Utc> = "2025-09-19T21:00:00Z".parse().expect("an instant");
    let clock = support::ManualClock::at(start);
    let options = RunOptions {
        data: Some(support::data_dir()),
        ..RunOptions::default()
    };
    let mut apps = Vec::new();
    for _ in 0..2 {
        let store = PgStore::open(&url).await.expect("the store opens");
        apps.push(
            App::with_parts(
                config.clone(),
                options.clone(),
                Arc::new(store),
                clock.clone(),
            )
            .await
            .expect("the app starts"),
        );
    }
    let report = apps[0].tick(None).await.expect("the tick runs");
    let total = db.outbox().await.len();
    assert_eq!(report.messages, total);
    assert!(total > 2 * WEBHOOKS as usize, "{total} messages");

    // The dead instance claimed the first messages of two destinations and never came back.
    let dead = PgStore::open(&url).await.expect("the store opens");
    let lease = chrono::Duration::seconds(120);
    // One at a time, as the deliverer claims: the second skips the first's destination.
    let mut stuck = Vec::new();
    for _ in 0..2 {
        stuck.extend(
            dead.claim_due(start, start + lease, 1)
                .await
                .expect("claimed"),
        );
    }
    assert_eq!(stuck.len(), 2);
    assert_ne!(stuck[0].destination.id, stuck[1].destination.id);
    let free_destination = db
        .outbox()
        .await
        .iter()
        .map(|m| m.destination)
        .find(|d| stuck.iter().all(|m| m.destination.id != *d));
    let free: Vec<_> = db
        .outbox()
        .await
        .into_iter()
        .filter(|m| Some(m.destination) == free_destination)
        .collect();

    // Both deliverers at once: the destination nobody holds is delivered whole; the two held
    // ones wait for their message in flight.
    let (one, two) = tokio::join!(apps[0].deliver_now(), apps[1].deliver_now());
    let (one, two) = (one.expect("delivers"), two.expect("delivers"));
    assert_eq!(one.delivered + two.delivered, free.len());
    assert!(
        apps[0]
            .store()
            .recover_interrupted(clock.now(), false)
            .await
            .expect("checked")
            == 0,
        "the dead instance's leases still run"
    );

    // Its leases run out: taken back as interrupted, then the rest goes.
    clock.advance(Duration::from_secs(121));
    assert_eq!(
        apps[1]
            .store()
            .recover_interrupted(clock.now(), false)
            .await
            .expect("recovered"),
        2
    );
    let (one, two) = tokio::join!(apps[0].deliver_now(), apps[1].deliver_now());
    let (one, two) = (one.expect("delivers"), two.expect("delivers"));
    assert_eq!(one.delivered + two.delivered, total - free.len());

    let messages = db.outbox().await;
    assert!(messages.iter().all(|m| m.state == MessageState::Delivered));
    let interrupted: Vec<i64> = messages
        .iter()
        .filter(|m| m.interrupted)
        .map(|m| m.id)
        .collect();
    assert_eq!(interrupted, stuck.iter().map(|m| m.id).collect::<Vec<_>>());
    let posts = webhook.posts();
    assert_eq!(posts.len(), total, "each message once");
    // Each destination's posts came in the order of its messages.
    for destination in messages
        .iter()
        .map(|m| m.destination)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let expected: Vec<String> = messages
            .iter()
            .filter(|m| m.destination == destination)
            .map(|m| m.payload.embeds[0].footer.clone() + &m.payload.embeds[0].title)
            .collect();
        let arrived: Vec<String> = posts
            .iter()
            .filter(|p| p.path.ends_with(&format!("token-{destination}")))
            .map(|p| {
                format!(
                    "{}{}",
                    p.body["embeds"][0]["footer"]["text"]
                        .as_str()
                        .unwrap_or_default(),
                    p.body["embeds"][0]["title"].as_str().unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(arrived, expected, "destination {destination}");
    }
    let claims = |app: &App| {
        app.metrics()
            .encode()
            .lines()
            .find_map(|l| {
                l.strip_prefix("highwater_outbox_claims_total ")?
                    .parse::<f64>()
                    .ok()
            })
            .unwrap_or(0.0)
    };
    assert_eq!(claims(&apps[0]) + claims(&apps[1]), total as f64);
}

/// The election itself: of two instances on one schema one leads; when it resigns (as its
/// connection closing at death does) the other takes the lead at its next poll; a deployment in
/// another schema of the same database has a leader of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_per_schema_leads_and_another_takes_over_when_it_resigns() {
    use highwater::store::{Election, Role};

    let one = TestDb::new(Kind::Postgres).await;
    let other = TestDb::new(Kind::Postgres).await;
    let url = one.url().expect("a schema");
    let mut a = Election::postgres(url).expect("a URL");
    let mut b = Election::postgres(url).expect("a URL");
    let mut elsewhere = Election::postgres(other.url().expect("a schema")).expect("a URL");
    assert!(a.is_shared());
    assert_eq!(a.poll().await, Role::Leader);
    assert_eq!(b.poll().await, Role::Follower);
    assert_eq!(a.poll().await, Role::Leader, "a leader stays one");
    assert_eq!(b.poll().await, Role::Follower);
    assert_eq!(
        elsewhere.poll().await,
        Role::Leader,
        "another schema, another lock"
    );
    a.resign().await;
    assert_eq!(b.poll().await, Role::Leader);
    assert_eq!(a.poll().await, Role::Follower);
    assert_eq!(
        Election::alone().poll().await,
        Role::Leader,
        "SQLite: always"
    );
    b.resign().await;
    elsewhere.resign().await;
}

fn shard_range(range: &str, total: u32) -> highwater::config::ShardRange {
    let setting = highwater::config::ShardsSetting::Text(range.to_owned());
    highwater::config::ShardRange::from_settings(Some(&setting), Some(total))
        .expect("a valid range")
        .expect("a range")
}

/// Instances on one database claim their Discord shards: a range that overlaps a claimed one
/// is refused, naming the shard, and holds nothing; a claim ends with its holder; another
/// schema is another deployment; alone on its database (SQLite) there is nothing to check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_cannot_claim_a_shard_another_instance_runs() {
    use highwater::store::{Election, StoreError};

    let one = TestDb::new(Kind::Postgres).await;
    let other = TestDb::new(Kind::Postgres).await;
    let url = one.url().expect("a schema");
    let election = Election::postgres(url).expect("a URL");
    let first = election
        .claim_shards(shard_range("2", 4))
        .await
        .expect("free shards");
    let refused = election
        .claim_shards(shard_range("0-3", 4))
        .await
        .expect_err("shard 2 is taken");
    assert!(matches!(
        refused,
        StoreError::ShardTaken { shard: 2, total: 4 }
    ));
    assert_eq!(
        refused.to_string(),
        "discord.shards: shard 2 of 4 is already run by another instance on this database; \
         give each instance a range of its own"
    );
    // The refused claim had taken shards 0 and 1 before it met shard 2: it let them go.
    let rest = election
        .claim_shards(shard_range("0-1", 4))
        .await
        .expect("shards 0 and 1 are free");
    assert_eq!(rest.range(), shard_range("0-1", 4));
    let elsewhere = Election::postgres(other.url().expect("a schema")).expect("a URL");
    let theirs = elsewhere
        .claim_shards(shard_range("0-3", 4))
        .await
        .expect("another schema, other locks");
    drop(first);
    let again = election
        .claim_shards(shard_range("2-3", 4))
        .await
        .expect("released with its holder");
    let alone = Election::alone();
    alone
        .claim_shards(shard_range("0", 4))
        .await
        .expect("nothing to check alone");
    drop((rest, theirs, again));
}

/// `highwater run` told to run a shard that another instance on its database runs exits 1
/// with an error line that says so, before it connects to Discord or says it is running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_on_a_claimed_shard_refuses_to_start() {
    use highwater::store::Election;

    let db = TestDb::new(Kind::Postgres).await;
    let url = db.url().expect("a schema");
    let election = Election::postgres(url).expect("a URL");
    let _held = election
        .claim_shards(shard_range("1", 2))
        .await
        .expect("free shards");
    let discord = FakeDiscord::start(FakeConfig::default()).await;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let config = dir.path().join("highwater.toml");
    std::fs::write(
        &config,
        format!(
            "[discord]\napi_base = \"{}\"\nshards = \"0-1\"\ntotal_shards = 2\n",
            discord.api_base()
        ),
    )
    .expect("a config");
    let mut command = Command::new(env!("CARGO_BIN_EXE_highwater"));
    command
        .args(["run", "--config"])
        .arg(&config)
        .env("HIGHWATER__STORE__URL", url.expose())
        .env(
            "HIGHWATER__HTTP__LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .env("DISCORD_TOKEN", FakeConfig::default().token)
        .env_remove("HIGHWATER_CONFIG")
        .env_remove("RUST_LOG");
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .expect("it exits at once")
    .expect("the blocking task")
    .expect("highwater runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    // `run` logs its start (info, as documented); the error is the last line, and only there.
    let error = "error: cannot start highwater run: discord.shards: shard 1 of 2 is already run \
                 by another instance on this database; give each instance a range of its own";
    assert_eq!(stderr.lines().last(), Some(error), "{stderr}");
    assert_eq!(stderr.matches("shard 1 of 2").count(), 1, "{stderr}");
    assert!(!stderr.contains("running; stop with"), "{stderr}");
    assert_eq!(discord.identifies(), 0, "it never connected to the gateway");
}
