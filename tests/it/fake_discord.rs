//! The local Discord (`tests/it/support/discord`) against a real, unmodified serenity 0.12.5 +
//! poise 0.7.1 bot written here: commands are registered, slash commands, autocomplete,
//! deferrals and ephemeral replies are answered, message nonces deduplicate, rate limits answer
//! 429 like Discord, and a dropped gateway connection is resumed without losing events.
//!
//! When an event "does nothing", serenity has dropped it as malformed: run with
//! `RUST_LOG=serenity=debug,poise=debug` (the bot here initialises tracing from `RUST_LOG`).

use crate::support;

use std::time::{Duration, Instant};

use poise::serenity_prelude as serenity;
use serde_json::{Value, json};
use support::discord::{
    ChannelAccess, FakeConfig, FakeDiscord, Interaction, Member, max_in_window, permissions,
};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Context<'a> = poise::Context<'a, (), Error>;

const GUILD: u64 = 1111;
const MARKETS: u64 = 2001;
const GENERAL: u64 = 2002;

// --- the bot under test --------------------------------------------------------------------

/// Answers pong.
#[poise::command(slash_command)]
async fn ping(ctx: Context<'_>) -> Result<(), Error> {
    ctx.say("pong").await?;
    Ok(())
}

async fn symbols(_ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let partial = partial.to_uppercase();
    let choices = ["RUT", "RUI", "SPX"]
        .into_iter()
        .filter(|s| s.starts_with(&partial))
        .map(|s| serenity::AutocompleteChoice::new(s, s))
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Shows the current streak of a symbol.
#[poise::command(slash_command)]
async fn streak(
    ctx: Context<'_>,
    #[description = "Market symbol"]
    #[autocomplete = "symbols"]
    symbol: String,
) -> Result<(), Error> {
    ctx.say(format!("{symbol}: 7 weeks up")).await?;
    Ok(())
}

/// Takes its time, then edits the deferred answer.
#[poise::command(slash_command)]
async fn report(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer().await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    if let poise::Context::Application(app) = ctx {
        let edit = serenity::EditInteractionResponse::new().content("report ready");
        app.interaction
            .edit_response(ctx.serenity_context(), edit)
            .await?;
    }
    Ok(())
}

/// Tells only you.
#[poise::command(slash_command)]
async fn secret(ctx: Context<'_>) -> Result<(), Error> {
    let reply = poise::CreateReply::default()
        .content("only you can see this")
        .ephemeral(true);
    ctx.send(reply).await?;
    Ok(())
}

/// Defers privately, then answers with a follow-up.
#[poise::command(slash_command)]
async fn slow(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    ctx.say("done").await?;
    Ok(())
}

/// Names the guild, from serenity's cache (filled by GUILD_CREATE).
#[poise::command(slash_command, guild_only)]
async fn guild(ctx: Context<'_>) -> Result<(), Error> {
    let name = ctx.guild().map(|g| g.name.clone());
    ctx.say(name.unwrap_or_else(|| "not cached".to_owned()))
        .await?;
    Ok(())
}

/// Manages alert rules.
#[poise::command(
    slash_command,
    subcommands("add"),
    default_member_permissions = "MANAGE_GUILD",
    required_permissions = "MANAGE_GUILD"
)]
async fn rules(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Adds a rule posting to a channel.
#[poise::command(slash_command, required_permissions = "MANAGE_GUILD")]
async fn add(
    ctx: Context<'_>,
    #[description = "Market symbol"] symbol: String,
    #[description = "Where to post"] channel: serenity::GuildChannel,
    #[description = "Weeks in a row"] weeks: i64,
) -> Result<(), Error> {
    ctx.say(format!("{symbol} after {weeks} weeks in #{}", channel.name))
        .await?;
    Ok(())
}

/// The fake and the bot running against it.
struct Harness {
    fake: FakeDiscord,
    bot: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.bot.abort();
    }
}

/// Starts the fake with the default config and the bot against it, and waits until the bot has
/// registered its commands (globally and in the guild).
async fn start_bot() -> Harness {
    start_bot_with(FakeConfig::default()).await
}

const COMMANDS: usize = 7;

async fn start_bot_with(config: FakeConfig) -> Harness {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let fake = FakeDiscord::start(config).await;
    let options = poise::FrameworkOptions {
        commands: vec![
            ping(),
            streak(),
            report(),
            secret(),
            slow(),
            guild(),
            rules(),
        ],
        ..Default::default()
    };
    let framework = poise::Framework::builder()
        .options(options)
        .setup(|ctx, _ready, framework| {
            Box::pin(async move {
                let commands = &framework.options().commands;
                poise::builtins::register_globally(ctx, commands).await?;
                let guild = serenity::GuildId::new(GUILD);
                poise::builtins::register_in_guild(ctx, commands, guild).await?;
                Ok(())
            })
        })
        .build();
    let mut client = serenity::ClientBuilder::new_with_http(
        fake.http(),
        serenity::GatewayIntents::non_privileged(),
    )
    .framework(framework)
    .await
    .expect("the serenity client builds");
    let bot = tokio::spawn(async move {
        if let Err(e) = client.start().await {
            eprintln!("the bot stopped: {e}");
        }
    });
    fake.wait_for_ready().await;
    let registered = fake
        .wait_until(Duration::from_secs(15), |f| {
            f.command_names(Some(GUILD)).len() == COMMANDS
                && f.command_names(None).len() == COMMANDS
        })
        .await;
    assert!(
        registered,
        "commands registered: {:?}",
        fake.registered_commands()
    );
    Harness { fake, bot }
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn auth(fake: &FakeDiscord) -> String {
    format!("Bot {}", fake.config().token)
}

// --- payload shapes ------------------------------------------------------------------------

#[tokio::test]
async fn every_payload_deserialises_as_serenity_models() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let config = fake.config();
    let ready = support::discord::payloads::ready(config, "s", "ws://x", [0, 1]);
    serde_json::from_value::<serenity::Ready>(ready).expect("READY");
    let guild = support::discord::payloads::guild_create(config, &config.guilds[0]);
    let guild = serde_json::from_value::<serenity::GuildCreateEvent>(guild).expect("GUILD_CREATE");
    assert_eq!(guild.guild.channels.len(), 2);
    assert_eq!(guild.guild.roles.len(), 2);
    let app = support::discord::payloads::application(config);
    serde_json::from_value::<serenity::CurrentApplicationInfo>(app).expect("application");
    let interactions = [
        Interaction::command("ping"),
        Interaction::command("rules")
            .sub("add")
            .option_str("symbol", "RUT")
            .option_channel("channel", MARKETS)
            .option_role("role", 3001)
            .option_int("weeks", 7)
            .option_number("pct", 1.5)
            .option_user("who", &Member::new(7, "other"))
            .by(Member::manager(6001, "mod")),
        Interaction::autocomplete("streak", "symbol", "ru"),
        Interaction::command("ping").in_dm(),
    ];
    for interaction in interactions {
        let payload = fake.interaction_payload(&interaction);
        let parsed = serde_json::from_value::<serenity::Interaction>(payload.clone());
        assert!(parsed.is_ok(), "{parsed:?}: {payload:#}");
    }
}

// --- commands and interactions -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn the_bot_registers_its_commands_globally_and_in_the_guild() {
    let h = start_bot().await;
    let commands = h.fake.registered_commands();
    assert_eq!(commands.len(), 2 * COMMANDS);
    for command in &commands {
        assert!(command["id"].is_string() && command["version"].is_string());
        assert_eq!(command["application_id"], json!("4242"));
    }
    let rules = commands
        .iter()
        .find(|c| c["name"] == json!("rules") && c["guild_id"] == json!("1111"))
        .expect("/rules registered in the guild");
    assert_eq!(rules["default_member_permissions"], json!("32"));
    assert_eq!(rules["options"][0]["type"], json!(1), "add is a subcommand");
    assert!(
        h.fake.unexpected_requests().is_empty(),
        "{:?}",
        h.fake.unexpected_requests()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ping_is_answered_with_pong_in_a_message_callback() {
    let h = start_bot().await;
    let reply = h.fake.interact(Interaction::command("ping")).await;
    assert_eq!(reply.kind(), 4);
    assert_eq!(reply.content().as_deref(), Some("pong"));
    assert!(!reply.ephemeral());
    assert!(reply.latency() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_string_option_reaches_the_command() {
    let h = start_bot().await;
    let reply = h
        .fake
        .interact(Interaction::command("streak").option_str("symbol", "RUT"))
        .await;
    assert_eq!(reply.content().as_deref(), Some("RUT: 7 weeks up"));
}

#[tokio::test(flavor = "multi_thread")]
async fn autocomplete_is_answered_with_choices() {
    let h = start_bot().await;
    let reply = h
        .fake
        .interact(Interaction::autocomplete("streak", "symbol", "ru"))
        .await;
    assert_eq!(reply.kind(), 8);
    let names: Vec<String> = reply.choices().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["RUT", "RUI"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deferred_answer_is_completed_by_an_edit_of_the_original() {
    let h = start_bot().await;
    let reply = h.fake.interact(Interaction::command("report")).await;
    assert_eq!(reply.kind(), 5);
    assert_eq!(reply.edits.len(), 1);
    assert_eq!(reply.content().as_deref(), Some("report ready"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ephemeral_reply_carries_flag_64() {
    let h = start_bot().await;
    let reply = h.fake.interact(Interaction::command("secret")).await;
    assert_eq!(reply.kind(), 4);
    assert!(reply.ephemeral());
    assert_eq!(reply.content().as_deref(), Some("only you can see this"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subcommand_with_a_channel_option_needs_manage_server() {
    let h = start_bot().await;
    let add = || {
        Interaction::command("rules")
            .sub("add")
            .option_str("symbol", "RUT")
            .option_channel("channel", MARKETS)
            .option_int("weeks", 7)
    };
    let reply = h
        .fake
        .interact(add().by(Member::manager(6001, "mod")))
        .await;
    assert_eq!(
        reply.content().as_deref(),
        Some("RUT after 7 weeks in #markets")
    );
    let reply = h.fake.interact(add().by(Member::admin(6002, "boss"))).await;
    assert_eq!(
        reply.content().as_deref(),
        Some("RUT after 7 weeks in #markets")
    );
    let refused = h.fake.interact(add().by(Member::new(6000, "trader"))).await;
    assert!(refused.ephemeral(), "{:?}", refused.callback);
    assert!(
        refused.content().is_some_and(|c| c.contains("permissions")),
        "{:?}",
        refused.callback
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deferred_ephemeral_answer_is_completed_by_a_followup() {
    let h = start_bot().await;
    let reply = h.fake.interact(Interaction::command("slow")).await;
    assert_eq!(reply.kind(), 5);
    assert!(reply.ephemeral());
    assert_eq!(reply.followups.len(), 1);
    assert_eq!(reply.content().as_deref(), Some("done"));
    let original = reply
        .original
        .expect("the follow-up replaced the thinking message");
    assert_eq!(original["content"], json!("done"));
    assert_eq!(original["flags"], json!(64));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guild_create_reaches_the_bots_cache() {
    let h = start_bot().await;
    let reply = h.fake.interact(Interaction::command("guild")).await;
    assert_eq!(reply.content().as_deref(), Some("Test Guild"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_after_the_deadline_is_refused_as_an_unknown_interaction() {
    let h = start_bot_with(FakeConfig {
        interaction_deadline: Duration::ZERO,
        ..FakeConfig::default()
    })
    .await;
    let sent = h.fake.send_interaction(&Interaction::command("ping"));
    let refused = |f: &FakeDiscord| {
        f.requests()
            .iter()
            .any(|r| r.path.contains("/callback") && r.status == 404)
    };
    assert!(h.fake.wait_until(Duration::from_secs(10), refused).await);
    assert!(h.fake.reply(sent.id).is_none());
}

// --- messages --------------------------------------------------------------------------------

#[tokio::test]
async fn a_repeated_nonce_with_enforce_nonce_creates_one_message() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = fake.http();
    let message = serenity::CreateMessage::new()
        .content("RUT closed at a record")
        .nonce(serenity::Nonce::String("alert-42".into()))
        .enforce_nonce(true);
    let channel = serenity::ChannelId::new(MARKETS);
    let first = http
        .send_message(channel, vec![], &message)
        .await
        .expect("the first post");
    let second = http
        .send_message(channel, vec![], &message)
        .await
        .expect("the repeat is answered");
    assert_eq!(first.id, second.id);
    assert_eq!(fake.messages(MARKETS).len(), 1);
    // Without enforce_nonce, Discord does not deduplicate.
    let loose = message.enforce_nonce(false);
    http.send_message(channel, vec![], &loose)
        .await
        .expect("a loose post");
    assert_eq!(fake.messages(MARKETS).len(), 2);
    assert_eq!(fake.all_messages().len(), 2);
}

#[tokio::test]
async fn missing_and_forbidden_channels_answer_like_discord() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = fake.http();
    fake.set_channel(GENERAL, ChannelAccess::NoAccess);
    let message = serenity::CreateMessage::new().content("hello");
    let status_and_code = |result: serenity::Result<serenity::Message>| match result {
        Err(serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(e))) => {
            (e.status_code.as_u16(), e.error.code)
        }
        other => panic!("expected an HTTP error, got {other:?}"),
    };
    let to = |id| serenity::ChannelId::new(id);
    let forbidden = http.send_message(to(GENERAL), vec![], &message).await;
    assert_eq!(status_and_code(forbidden), (403, 50001));
    fake.set_channel(GENERAL, ChannelAccess::NoPermission);
    let forbidden = http.send_message(to(GENERAL), vec![], &message).await;
    assert_eq!(status_and_code(forbidden), (403, 50013));
    let missing = http.send_message(to(9999), vec![], &message).await;
    assert_eq!(status_and_code(missing), (404, 10003));
    let too_long = serenity::CreateMessage::new().content("x".repeat(2001));
    let invalid = http.send_message(to(MARKETS), vec![], &too_long).await;
    assert_eq!(status_and_code(invalid), (400, 50035));
    assert!(fake.all_messages().is_empty());
}

// --- rate limits -----------------------------------------------------------------------------

#[tokio::test]
async fn an_injected_429_is_returned_with_retry_after() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    fake.inject_429("/channels/2001/messages", 2, 1.5);
    let message = serenity::CreateMessage::new().content("hello");
    let through_serenity = fake
        .http()
        .send_message(serenity::ChannelId::new(MARKETS), vec![], &message)
        .await;
    match through_serenity {
        Err(serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(e))) => {
            assert_eq!(e.status_code.as_u16(), 429);
        }
        other => panic!("expected a 429, got {other:?}"),
    }
    let url = format!("{}/api/v10/channels/{MARKETS}/messages", fake.api_base());
    let answer = client()
        .post(&url)
        .header("authorization", auth(&fake))
        .json(&json!({"content": "hello"}))
        .send()
        .await
        .expect("the fake answers");
    assert_eq!(answer.status(), 429);
    assert_eq!(answer.headers()["retry-after"], "2");
    assert_eq!(answer.headers()["x-ratelimit-scope"], "user");
    let body: Value = answer.json().await.expect("JSON");
    assert_eq!(body["retry_after"], json!(1.5));
    assert_eq!(body["global"], json!(false));
    assert_eq!(fake.rate_limited(), 2);
    assert!(fake.all_messages().is_empty());
}

#[tokio::test]
async fn a_channel_takes_five_messages_per_five_seconds() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let url = format!("{}/api/v10/channels/{MARKETS}/messages", fake.api_base());
    let mut remaining = Vec::new();
    for i in 0..6 {
        let answer = client()
            .post(&url)
            .header("authorization", auth(&fake))
            .json(&json!({"content": format!("message {i}")}))
            .send()
            .await
            .expect("the fake answers");
        let header = |name: &str| answer.headers()[name].to_str().expect("ASCII").to_owned();
        assert_eq!(header("x-ratelimit-limit"), "5");
        assert!(!header("x-ratelimit-bucket").is_empty());
        remaining.push((answer.status().as_u16(), header("x-ratelimit-remaining")));
        if answer.status() == 429 {
            assert_eq!(header("x-ratelimit-scope"), "user");
            let reset_after: f64 = header("x-ratelimit-reset-after").parse().expect("seconds");
            assert!(reset_after > 4.0 && reset_after <= 5.0, "{reset_after}");
        }
    }
    let expected: Vec<(u16, String)> = [
        (200, "4"),
        (200, "3"),
        (200, "2"),
        (200, "1"),
        (200, "0"),
        (429, "0"),
    ]
    .into_iter()
    .map(|(s, r)| (s, r.to_owned()))
    .collect();
    assert_eq!(remaining, expected);
    // Another channel has its own bucket.
    let other = format!("{}/api/v10/channels/{GENERAL}/messages", fake.api_base());
    let answer = client()
        .post(other)
        .header("authorization", auth(&fake))
        .json(&json!({"content": "elsewhere"}))
        .send()
        .await
        .expect("the fake answers");
    assert_eq!(answer.status(), 200);
    assert_eq!(fake.all_messages().len(), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn more_than_fifty_requests_in_a_second_meet_the_global_limit() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let url = format!("{}/api/v10/users/@me", fake.api_base());
    let client = client();
    let started = Instant::now();
    let requests = (0..80).map(|_| client.get(&url).header("authorization", auth(&fake)).send());
    let answers = futures_join_all(requests).await;
    let burst = started.elapsed();
    let mut ok = 0;
    let mut limited = 0;
    for answer in answers {
        let answer = answer.expect("the fake answers");
        match answer.status().as_u16() {
            200 => ok += 1,
            429 => {
                limited += 1;
                assert_eq!(answer.headers()["x-ratelimit-scope"], "global");
                assert_eq!(answer.headers()["x-ratelimit-global"], "true");
                let body: Value = answer.json().await.expect("JSON");
                assert_eq!(body["global"], json!(true));
                let retry_after = body["retry_after"].as_f64().expect("seconds");
                assert!(retry_after > 0.0 && retry_after <= 1.0, "{retry_after}");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok + limited, 80);
    assert_eq!(fake.rate_limited(), limited);
    assert_eq!(
        fake.max_global_per_second(),
        50,
        "never more than 50 in any second"
    );
    if burst < Duration::from_secs(1) {
        assert_eq!((ok, limited), (50, 30));
    } else {
        eprintln!("the burst took {burst:?}; only the invariants were checked");
        assert!(limited > 0);
    }
    let times: Vec<Instant> = fake.requests().iter().map(|r| r.at).collect();
    assert_eq!(times.len(), 80);
    assert!(max_in_window(&times, Duration::from_secs(1)) > 50);
}

/// Runs the futures concurrently (no `futures` crate among the dev-dependencies).
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.expect("the request task"));
    }
    outputs
}

#[tokio::test]
async fn requests_without_the_token_or_to_unknown_routes_are_refused_and_recorded() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let base = fake.api_base();
    let unauthorized = client()
        .get(format!("{base}/api/v10/users/@me"))
        .header("authorization", "Bot wrong")
        .send()
        .await
        .expect("the fake answers");
    assert_eq!(unauthorized.status(), 401);
    let unknown = client()
        .get(format!("{base}/api/v10/guilds/{GUILD}/members/5000"))
        .header("authorization", auth(&fake))
        .send()
        .await
        .expect("the fake answers");
    assert_eq!(unknown.status(), 404);
    assert!(unknown.headers().contains_key("x-ratelimit-bucket"));
    let unexpected = fake.unexpected_requests();
    assert_eq!(unexpected.len(), 1);
    assert_eq!(unexpected[0].path, "/api/v10/guilds/1111/members/5000");
    let bad_json = client()
        .post(format!("{base}/api/v10/channels/{MARKETS}/messages"))
        .header("authorization", auth(&fake))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("the fake answers");
    assert_eq!(bad_json.status(), 400);
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(permissions::MANAGE_GUILD, 0x20);
}

// --- gateway -----------------------------------------------------------------------------------

/// Waits until the bot has resumed (once) and is connected again.
async fn assert_resumes_once(fake: &FakeDiscord) {
    let resumed = fake
        .wait_until(Duration::from_secs(10), |f| {
            f.resumes() == 1 && f.connected()
        })
        .await;
    assert!(
        resumed,
        "the bot did not resume (resumes: {})",
        fake.resumes()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_dropped_connection_the_bot_resumes_and_misses_nothing() {
    let h = start_bot().await;
    assert_eq!(h.fake.identifies(), 1);
    h.fake.drop_connection();
    // Sent while the bot is away: it must arrive with the replay on RESUME.
    let missed = h.fake.send_interaction(&Interaction::command("ping"));
    assert_resumes_once(&h.fake).await;
    let reply = h
        .fake
        .wait_reply(missed.id, Duration::from_secs(10))
        .await
        .expect("the interaction sent during the outage is answered after the resume");
    assert_eq!(reply.content().as_deref(), Some("pong"));
    let reply = h.fake.interact(Interaction::command("ping")).await;
    assert_eq!(reply.content().as_deref(), Some("pong"));
    assert_eq!(h.fake.identifies(), 1, "resumed, not re-identified");
    assert_eq!(h.fake.resumes(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn heartbeats_are_acknowledged_and_the_connection_stays() {
    let h = start_bot_with(FakeConfig {
        heartbeat_ms: 100,
        ..FakeConfig::default()
    })
    .await;
    let beating = h
        .fake
        .wait_until(Duration::from_secs(5), |f| f.heartbeats() >= 2)
        .await;
    assert!(beating, "heartbeats: {}", h.fake.heartbeats());
    assert_eq!(
        h.fake.connections(),
        1,
        "an unacknowledged heartbeat makes serenity reconnect"
    );
    assert_eq!(h.fake.identifies(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_op_7_reconnect_makes_the_bot_resume() {
    let h = start_bot().await;
    h.fake.request_reconnect();
    assert_resumes_once(&h.fake).await;
    let reply = h.fake.interact(Interaction::command("ping")).await;
    assert_eq!(reply.content().as_deref(), Some("pong"));
    assert_eq!(h.fake.identifies(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_is_refused_at_identify() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = serenity::HttpBuilder::new("wrong-token")
        .proxy(fake.api_base())
        .ratelimiter_disabled(true)
        .build();
    let framework = poise::Framework::<(), Error>::builder()
        .options(poise::FrameworkOptions::default())
        .setup(|_, _, _| Box::pin(async { Ok(()) }))
        .build();
    let mut client =
        serenity::ClientBuilder::new_with_http(http, serenity::GatewayIntents::non_privileged())
            .framework(framework)
            .await
            .expect("the client builds");
    // GET /gateway needs no token, so the bot connects; IDENTIFY is closed with 4004, which
    // serenity treats as fatal.
    let outcome = tokio::time::timeout(Duration::from_secs(10), client.start()).await;
    assert!(outcome.is_ok(), "serenity stops on 4004");
    assert_eq!(fake.identifies(), 0);
    assert!(fake.connections() >= 1);
}
