//! A local Discord for tests: REST (`/api/v10/...`) and the gateway (WebSocket) on one
//! 127.0.0.1 port, speaking Discord's protocol well enough that an unmodified serenity 0.12.5 +
//! poise 0.7.1 bot runs against it.
//!
//! Point the bot at it with
//! `HttpBuilder::new(token).proxy(fake.api_base()).ratelimiter_disabled(true)` and
//! `ClientBuilder::new_with_http` (serenity rewrites `https://discord.com` to the proxy base only
//! with its own rate limiter disabled; see `shared/notes/discord.md`). Then send interactions
//! with [`FakeDiscord::interact`] and inspect what the bot did: registered commands, messages,
//! interaction replies, every request with its time and status, 429s, identifies and resumes.
//!
//! Modules: `rest` (the HTTP routes), `gateway` (the WebSocket), `payloads` (Discord's JSON
//! objects), `interaction` (the interaction builder and [`Reply`]), `ratelimit` (buckets and the
//! global limit), `validate` (Discord's limits on what the bot sends), `state` (what is recorded).

mod gateway;
mod interaction;
pub mod payloads;
mod ratelimit;
pub(crate) mod rest;
mod state;
pub mod validate;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use serde_json::Value;

// Re-exports for the tests; each test binary uses only some of them.
#[allow(unused_imports)]
pub use interaction::{Interaction, Member, Reply};
#[allow(unused_imports)]
pub use payloads::permissions;
#[allow(unused_imports)]
pub use ratelimit::max_in_window;
#[allow(unused_imports)]
pub use state::{ChannelAccess, RequestRecord};

use state::{InteractionLog, Outbound, Shared};

/// A role of a fake guild (besides `@everyone`, which every guild has, with the guild's id).
#[derive(Debug, Clone, PartialEq)]
pub struct FakeRole {
    pub id: u64,
    pub name: String,
    /// Permission bits (see [`permissions`]).
    pub permissions: u64,
}

/// A guild the bot is in: it arrives in GUILD_CREATE after READY.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeGuild {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    /// Text channels (type 0) as (id, name); names without `#`, as Discord stores them.
    pub channels: Vec<(u64, String)>,
    pub roles: Vec<FakeRole>,
}

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    pub guilds: Vec<FakeGuild>,
    pub bot_user_id: u64,
    pub bot_name: String,
    pub application_id: u64,
    /// The bot token, without `Bot `; requests must carry `Authorization: Bot <token>`.
    pub token: String,
    /// Discord's global limit: requests per second across all authorized routes except the
    /// interaction endpoints.
    pub global_per_second: u32,
    /// The message-create bucket of each channel: (requests, per window).
    pub channel_bucket: (u32, Duration),
    /// HELLO's heartbeat interval in milliseconds (Discord sends about 41 250).
    pub heartbeat_ms: u64,
    /// How long a message nonce sent with `enforce_nonce` stays unique per channel (Discord
    /// says "the past few minutes").
    pub nonce_window: Duration,
    /// How long the bot has to answer an interaction (Discord: 3 s); later callbacks get
    /// 10062 Unknown interaction.
    pub interaction_deadline: Duration,
}

impl Default for FakeConfig {
    /// One guild, 1111 "Test Guild" owned by user 5000, with #markets (2001), #general (2002)
    /// and a "Moderators" role (3001, Manage Server); token `test-token`, application 4242,
    /// bot user 4243; Discord's limits.
    fn default() -> Self {
        Self {
            guilds: vec![FakeGuild {
                id: 1111,
                name: "Test Guild".to_owned(),
                owner_id: 5000,
                channels: vec![(2001, "markets".to_owned()), (2002, "general".to_owned())],
                roles: vec![FakeRole {
                    id: 3001,
                    name: "Moderators".to_owned(),
                    permissions: permissions::MEMBER | permissions::MANAGE_GUILD,
                }],
            }],
            bot_user_id: 4243,
            bot_name: "highwater".to_owned(),
            application_id: 4242,
            token: "test-token".to_owned(),
            global_per_second: 50,
            channel_bucket: (5, Duration::from_secs(5)),
            heartbeat_ms: 41_250,
            nonce_window: Duration::from_secs(180),
            interaction_deadline: Duration::from_secs(3),
        }
    }
}

/// An interaction that was dispatched.
#[derive(Debug, Clone)]
pub struct SentInteraction {
    pub id: u64,
}

/// The running fake; it stops (and drops the bot's gateway connection) when dropped.
pub struct FakeDiscord {
    shared: Arc<Shared>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}

/// How long [`FakeDiscord::interact`] and [`FakeDiscord::wait_for_ready`] wait before failing
/// the test.
const WAIT_LIMIT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(10);

impl FakeDiscord {
    pub async fn start(config: FakeConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Discord");
        Self::serve(config, listener)
    }

    /// A 127.0.0.1 port where nothing listens (yet): bound and released at once, for a bot
    /// pointed at a Discord that is down; [`start_on`](Self::start_on) brings it up there.
    pub async fn free_port() -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        listener.local_addr().expect("its address").port()
    }

    /// Starts the fake on 127.0.0.1:`port` (see [`free_port`](Self::free_port)).
    pub async fn start_on(config: FakeConfig, port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the fake Discord on its port");
        Self::serve(config, listener)
    }

    fn serve(config: FakeConfig, listener: tokio::net::TcpListener) -> Self {
        let addr = listener.local_addr().expect("the fake Discord's address");
        let shared = Arc::new(Shared::new(
            config,
            format!("http://{addr}"),
            format!("ws://{addr}"),
        ));
        let app = Router::new()
            .route("/", get(gateway::upgrade))
            .fallback(rest::handle)
            .with_state(shared.clone());
        let stop = shared.shutdown.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(e) = served {
                eprintln!("fake discord: server stopped: {e}");
            }
        });
        Self { shared }
    }

    /// `http://127.0.0.1:PORT`: what serenity's `HttpBuilder::proxy` takes.
    pub fn api_base(&self) -> String {
        self.shared.base.clone()
    }

    pub fn config(&self) -> &FakeConfig {
        &self.shared.config
    }

    /// A serenity HTTP client pointed at the fake, with the bot's token.
    pub fn http(&self) -> serenity::http::Http {
        serenity::http::HttpBuilder::new(&self.shared.config.token)
            .proxy(self.api_base())
            .ratelimiter_disabled(true)
            .build()
    }

    /// Waits (up to `limit`) until `ready` holds; polls every 10 ms.
    pub async fn wait_until(&self, limit: Duration, ready: impl Fn(&Self) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if ready(self) {
                return true;
            }
            tokio::time::sleep(POLL).await;
        }
        ready(self)
    }

    /// Waits until the bot has identified and has been sent READY; panics after 15 s.
    pub async fn wait_for_ready(&self) {
        let ready = self
            .wait_until(WAIT_LIMIT, |d| d.identifies() > 0 && d.connected())
            .await;
        assert!(
            ready,
            "the bot did not identify within {WAIT_LIMIT:?} (run with RUST_LOG=serenity=debug)"
        );
    }

    // --- gateway ---

    pub fn identifies(&self) -> usize {
        self.shared.lock().gateway.identifies
    }

    pub fn resumes(&self) -> usize {
        self.shared.lock().gateway.resumes
    }

    pub fn heartbeats(&self) -> usize {
        self.shared.lock().gateway.heartbeats
    }

    /// Gateway connections opened so far (identified or not).
    pub fn connections(&self) -> usize {
        self.shared.lock().gateway.connections
    }

    /// Whether a bot connection is identified (or resumed) right now.
    pub fn connected(&self) -> bool {
        !self.shared.lock().gateway.live_senders().is_empty()
    }

    /// The shard (`[id, total]`) each IDENTIFY named, in order; `[0, 1]` for a bot that named
    /// none.
    pub fn identified_shards(&self) -> Vec<[u64; 2]> {
        self.shared.lock().gateway.identified.clone()
    }

    /// The shards whose sessions have a connection right now, in the order they identified.
    pub fn connected_shards(&self) -> Vec<[u64; 2]> {
        let state = self.shared.lock();
        state
            .gateway
            .sessions
            .iter()
            .filter(|s| s.current.is_some())
            .map(|s| s.shard)
            .collect()
    }

    /// The guilds whose GUILD_CREATE went to `shard`'s current session, in order.
    pub fn guilds_sent_to(&self, shard: [u64; 2]) -> Vec<u64> {
        let mut state = self.shared.lock();
        let Some(session) = state.gateway.session_mut(shard) else {
            return Vec::new();
        };
        session
            .log
            .iter()
            .filter_map(|(_, frame)| serde_json::from_str::<Value>(frame).ok())
            .filter(|frame| frame["t"] == "GUILD_CREATE")
            .filter_map(|frame| frame["d"]["id"].as_str()?.parse().ok())
            .collect()
    }

    /// Drops the bot's gateway connection without a close frame, like a network failure; the
    /// session stays resumable and later dispatches wait in its log.
    pub fn drop_connection(&self) {
        self.disconnect(|| Outbound::Drop);
    }

    /// Asks the bot to reconnect and resume (op 7 RECONNECT), on every connected shard.
    pub fn request_reconnect(&self) {
        let state = self.shared.lock();
        for sender in state.gateway.live_senders() {
            let _ = sender.send(Outbound::Text(
                r#"{"op":7,"s":null,"t":null,"d":null}"#.to_owned(),
            ));
        }
    }

    /// Ends every shard's connection `how`.
    fn disconnect(&self, how: impl Fn() -> Outbound) {
        let mut state = self.shared.lock();
        for session in &mut state.gateway.sessions {
            if let Some((_, sender)) = session.current.take() {
                let _ = sender.send(how());
            }
        }
    }

    // --- interactions ---

    /// Dispatches INTERACTION_CREATE for `interaction` in the session of the shard that owns
    /// its guild (shard 0 for a direct message), as Discord does; the command id is the one
    /// the bot registered under that name, if it did. Panics when no session owns the guild
    /// (the bot never identified as its shard).
    pub fn send_interaction(&self, interaction: &Interaction) -> SentInteraction {
        let config = &self.shared.config;
        let id = self.shared.snowflake();
        let token = format!("interaction-token-{id}");
        let mut state = self.shared.lock();
        let guild = interaction.guild(config).map(|g| g.id);
        let shard = state.gateway.shard_for(guild).unwrap_or_else(|| {
            panic!(
                "no session owns guild {guild:?}: the bot has not identified as its shard \
                 (wait_for_ready); sessions {:?}",
                state.gateway.identified
            )
        });
        let command_id = state
            .command_id(interaction.name(), guild)
            .unwrap_or_else(|| self.shared.snowflake());
        let payload = interaction.to_json(config, id, &token, command_id);
        let channel_id = payload["channel_id"]
            .as_str()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let dispatched_at = Instant::now();
        state.interactions.insert(
            id,
            InteractionLog {
                token: token.clone(),
                channel_id,
                dispatched_at,
                callback: None,
                original: None,
                edits: Vec::new(),
                followups: Vec::new(),
                shard,
            },
        );
        state
            .dispatch(shard, "INTERACTION_CREATE", payload)
            .expect("the shard's session exists");
        SentInteraction { id }
    }

    /// The shard (`[id, total]`) whose session interaction `id` was dispatched in.
    pub fn interaction_shard(&self, id: u64) -> Option<[u64; 2]> {
        self.shared
            .lock()
            .interactions
            .get(&id)
            .map(|log| log.shard)
    }

    /// The INTERACTION_CREATE payload `interaction` becomes (with a fresh id and token), for
    /// checking its shape without a bot.
    pub fn interaction_payload(&self, interaction: &Interaction) -> Value {
        let config = &self.shared.config;
        let id = self.shared.snowflake();
        let guild = interaction.guild(config).map(|g| g.id);
        let command_id = self
            .shared
            .lock()
            .command_id(interaction.name(), guild)
            .unwrap_or_else(|| self.shared.snowflake());
        interaction.to_json(config, id, &format!("interaction-token-{id}"), command_id)
    }

    /// What the bot has answered to interaction `id` so far (`None` before the callback).
    pub fn reply(&self, id: u64) -> Option<Reply> {
        let state = self.shared.lock();
        let log = state.interactions.get(&id)?;
        let (callback, answered_at) = log.callback.clone()?;
        Some(Reply {
            callback,
            edits: log.edits.iter().map(|(v, _)| v.clone()).collect(),
            followups: log.followups.iter().map(|(v, _)| v.clone()).collect(),
            dispatched_at: log.dispatched_at,
            answered_at,
            original: log.original.clone(),
        })
    }

    /// Waits up to `limit` for the bot's answer to interaction `id`; after a deferral (type 5)
    /// it also waits for the edit of `@original` or a follow-up that carries the real answer.
    /// `None` when no callback came; a deferred reply without an edit is returned as it is.
    pub async fn wait_reply(&self, id: u64, limit: Duration) -> Option<Reply> {
        let settled = |d: &Self| {
            d.reply(id)
                .is_some_and(|r| r.kind() != 5 || !r.edits.is_empty() || !r.followups.is_empty())
        };
        self.wait_until(limit, settled).await;
        self.reply(id)
    }

    /// Sends `interaction` and waits for the final answer; panics after 15 s without a callback.
    pub async fn interact(&self, interaction: Interaction) -> Reply {
        let sent = self.send_interaction(&interaction);
        self.wait_reply(sent.id, WAIT_LIMIT).await.unwrap_or_else(|| {
            panic!(
                "no answer to /{} within {WAIT_LIMIT:?} (malformed events are dropped silently: \
                 run with RUST_LOG=serenity=debug,poise=debug)",
                interaction.name()
            )
        })
    }

    // --- REST records ---

    /// Every command registration as Discord echoed it; guild commands carry `guild_id`.
    /// How many times the bot registered its commands (each start registers once).
    pub fn registrations(&self) -> usize {
        self.shared.lock().registrations
    }

    pub fn registered_commands(&self) -> Vec<Value> {
        let state = self.shared.lock();
        state
            .commands
            .iter()
            .flat_map(|(_, commands)| commands.iter().cloned())
            .collect()
    }

    /// Names of the commands registered in `guild` (`None`: globally).
    pub fn command_names(&self, guild: Option<u64>) -> Vec<String> {
        let state = self.shared.lock();
        state
            .commands
            .iter()
            .filter(|(scope, _)| *scope == guild)
            .flat_map(|(_, commands)| commands.iter())
            .filter_map(|c| c["name"].as_str().map(str::to_owned))
            .collect()
    }

    /// Messages created in `channel_id` through `POST /channels/{id}/messages`, oldest first.
    pub fn messages(&self, channel_id: u64) -> Vec<Value> {
        let id = channel_id.to_string();
        self.all_messages()
            .into_iter()
            .filter(|m| m["channel_id"].as_str() == Some(id.as_str()))
            .collect()
    }

    /// Every channel message created, oldest first (interaction replies are in [`Reply`]).
    pub fn all_messages(&self) -> Vec<Value> {
        self.shared.lock().messages.clone()
    }

    /// Makes message creation in `channel_id` succeed or fail like Discord does for a
    /// deleted or inaccessible channel (also how to add a channel the config does not list).
    /// From now on, each channel message is created and its request left unanswered until
    /// [`release`](Self::release).
    pub fn hang_after_recording(&self) {
        self.shared.lock().hang_after_recording = true;
    }

    /// Message creates recorded and not answered yet.
    pub fn holding(&self) -> usize {
        self.shared.lock().holding
    }

    /// Answers the held message creates (and no longer holds later ones).
    pub fn release(&self) {
        self.shared.lock().hang_after_recording = false;
        self.shared.release.notify_waiters();
    }

    pub fn set_channel(&self, channel_id: u64, access: ChannelAccess) {
        self.shared.lock().channels.insert(channel_id, access);
    }

    /// Makes the next `count` requests whose path contains `route_contains` answer 429 with
    /// `retry_after` seconds (scope `user`, not global).
    pub fn inject_429(&self, route_contains: &str, count: usize, retry_after: f64) {
        self.shared
            .lock()
            .injections
            .push((route_contains.to_owned(), count, retry_after));
    }

    /// How many 429s the fake has answered.
    pub fn rate_limited(&self) -> usize {
        self.shared.lock().rate_limited
    }

    /// Every REST request, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().requests.clone()
    }

    /// Requests to routes the fake does not know (answered 404).
    pub fn unexpected_requests(&self) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(|r| !r.known_route)
            .collect()
    }

    /// The most requests the fake let through (not 429) that count toward the global limit,
    /// in any one-second window.
    pub fn max_global_per_second(&self) -> usize {
        let times: Vec<Instant> = self
            .requests()
            .iter()
            .filter(|r| r.global && r.status != 429)
            .map(|r| r.at)
            .collect();
        max_in_window(&times, Duration::from_secs(1))
    }
}
