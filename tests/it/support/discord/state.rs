//! What the fake Discord remembers, shared by the REST handlers, the gateway connections and the
//! test: recorded requests, messages, commands, interactions and the gateway sessions (one per
//! shard).
//!
//! One `std::sync::Mutex` guards it all; no lock is held across an `.await`. Gateway frames are
//! queued to a connection's channel while the lock is held, so dispatches keep their sequence
//! order on the wire.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::FakeConfig;
use super::ratelimit::RateLimiter;

/// Discord's epoch (2015-01-01) in Unix milliseconds; snowflakes count from it.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// One REST request the fake received.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub at: Instant,
    pub method: String,
    /// The path, e.g. `/api/v10/channels/2001/messages`.
    pub path: String,
    pub status: u16,
    /// The JSON body (`Null` when there was none or it was not JSON).
    pub body: Value,
    /// Whether it counts toward the global limit (authorized, not an interaction endpoint).
    pub global: bool,
    /// Whether the fake knows the route; unknown ones answer 404 and are worth a look.
    pub known_route: bool,
    /// The files of a multipart body (`files[n]` parts): (part name, filename, bytes).
    pub files: Vec<(String, String, Vec<u8>)>,
}

/// How a channel answers message creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelAccess {
    /// The bot may post.
    Open,
    /// 404 Unknown Channel (10003): deleted, or never existed.
    Missing,
    /// 403 Missing Access (50001): the bot cannot see the channel.
    NoAccess,
    /// 403 Missing Permissions (50013): it can see but not send (or embed).
    NoPermission,
}

/// A frame for one gateway connection.
#[derive(Debug)]
pub enum Outbound {
    Text(String),
    /// Drop the socket without a close frame, like a network failure.
    Drop,
}

/// What happened to one interaction.
#[derive(Debug, Clone)]
pub struct InteractionLog {
    pub token: String,
    pub channel_id: u64,
    pub dispatched_at: Instant,
    pub callback: Option<(Value, Instant)>,
    /// The original response message, once there is one.
    pub original: Option<Value>,
    pub edits: Vec<(Value, Instant)>,
    pub followups: Vec<(Value, Instant)>,
    /// The shard whose session the interaction was dispatched in.
    pub shard: Shard,
}

/// A shard as `[shard_id, num_shards]`, the way IDENTIFY and READY carry it.
pub type Shard = [u64; 2];

/// The shard of a bot that identified without a `shard` field: the only one.
pub const ONLY_SHARD: Shard = [0, 1];

/// The shard Discord sends `guild`'s events to among `total` shards; direct messages (no
/// guild) go to shard 0.
pub fn shard_of(guild: Option<u64>, total: u64) -> u64 {
    guild.map_or(0, |id| (id >> 22) % total.max(1))
}

/// One gateway session: one shard of the bot, identified once, resumable.
#[derive(Debug)]
pub struct Session {
    pub id: String,
    pub shard: Shard,
    pub seq: u64,
    /// Every dispatch of the session, for replay on RESUME: (seq, frame).
    pub log: Vec<(u64, String)>,
    /// The connection that receives the session's dispatches: (connection id, sender).
    pub current: Option<(u64, UnboundedSender<Outbound>)>,
}

/// The gateway: a session per shard the bot identified as (one for an unsharded bot).
#[derive(Debug, Default)]
pub struct Gateway {
    /// At most one per shard: a new IDENTIFY for a shard replaces its session.
    pub sessions: Vec<Session>,
    /// The shard of every IDENTIFY, in order.
    pub identified: Vec<Shard>,
    pub identifies: usize,
    pub resumes: usize,
    pub heartbeats: usize,
    pub connections: usize,
    /// Sessions handed out so far (for unique session ids).
    pub started: u64,
}

impl Gateway {
    /// The session of `shard`, if the bot identified as it.
    pub fn session_mut(&mut self, shard: Shard) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.shard == shard)
    }

    /// The shard that owns `guild` among the sessions (Discord's formula), if one does.
    pub fn shard_for(&self, guild: Option<u64>) -> Option<Shard> {
        self.sessions
            .iter()
            .map(|s| s.shard)
            .find(|[id, total]| shard_of(guild, *total) == *id)
    }

    /// Every connection that receives dispatches now.
    pub fn live_senders(&self) -> Vec<UnboundedSender<Outbound>> {
        self.sessions
            .iter()
            .filter_map(|s| s.current.as_ref().map(|(_, sender)| sender.clone()))
            .collect()
    }
}

#[derive(Default)]
pub struct State {
    pub requests: Vec<RequestRecord>,
    pub rate_limited: usize,
    /// Forced 429s: (path substring, how many left, retry_after seconds).
    pub injections: Vec<(String, usize, f64)>,
    pub channels: HashMap<u64, ChannelAccess>,
    /// Created channel messages, in order.
    pub messages: Vec<Value>,
    /// (channel, nonce) → (the first message, when it was created).
    pub nonces: HashMap<(u64, String), (Value, Instant)>,
    /// Registered commands per scope (`None` global, `Some(guild)`), as echoed.
    pub commands: Vec<(Option<u64>, Vec<Value>)>,
    /// How many times commands were registered (any scope).
    pub registrations: usize,
    pub interactions: HashMap<u64, InteractionLog>,
    pub gateway: Gateway,
    /// Create each channel message, then leave the request unanswered until released: the
    /// window in which a bot that dies has posted without knowing it.
    pub hang_after_recording: bool,
    /// Message creates recorded and not answered yet.
    pub holding: usize,
}

/// Everything the server tasks share.
pub struct Shared {
    pub config: FakeConfig,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `ws://127.0.0.1:PORT`.
    pub ws_url: String,
    pub limiter: Mutex<RateLimiter>,
    pub state: Mutex<State>,
    pub shutdown: CancellationToken,
    /// Wakes message creates held by [`State::hang_after_recording`].
    pub release: tokio::sync::Notify,
    snowflakes: AtomicU64,
}

impl Shared {
    pub fn new(config: FakeConfig, base: String, ws_url: String) -> Self {
        let channels = config
            .guilds
            .iter()
            .flat_map(|g| g.channels.iter().map(|(id, _)| (*id, ChannelAccess::Open)))
            .collect();
        let limiter = Mutex::new(RateLimiter::new(config.global_per_second));
        Self {
            config,
            base,
            ws_url,
            limiter,
            state: Mutex::new(State {
                channels,
                ..State::default()
            }),
            shutdown: CancellationToken::new(),
            release: tokio::sync::Notify::new(),
            snowflakes: AtomicU64::new(0),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn limiter(&self) -> MutexGuard<'_, RateLimiter> {
        self.limiter.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh snowflake: milliseconds since Discord's epoch, then a counter, so ids grow with
    /// time and never repeat within one fake.
    pub fn snowflake(&self) -> u64 {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .saturating_sub(DISCORD_EPOCH_MS);
        let counter = self.snowflakes.fetch_add(1, Ordering::Relaxed) & 0x3F_FFFF;
        (ms << 22) | counter
    }
}

impl State {
    /// Sends a dispatch (`op` 0) in `shard`'s session: numbered, logged for RESUME and sent to
    /// the connection that holds the session if there is one. `None` when the bot never
    /// identified as that shard.
    pub fn dispatch(&mut self, shard: Shard, event: &str, data: Value) -> Option<u64> {
        let session = self.gateway.session_mut(shard)?;
        session.seq += 1;
        let seq = session.seq;
        let frame = json!({"op": 0, "t": event, "s": seq, "d": data}).to_string();
        session.log.push((seq, frame.clone()));
        if let Some((_, sender)) = &session.current
            && sender.send(Outbound::Text(frame)).is_err()
        {
            session.current = None;
        }
        Some(seq)
    }

    /// The interaction whose webhook token is `token`.
    pub fn interaction_by_token(&mut self, token: &str) -> Option<(u64, &mut InteractionLog)> {
        self.interactions
            .iter_mut()
            .find(|(_, log)| log.token == token)
            .map(|(id, log)| (*id, log))
    }

    /// The id Discord gave `/name` when it was registered (guild scope first), if it was.
    pub fn command_id(&self, name: &str, guild: Option<u64>) -> Option<u64> {
        let lookup = |scope: Option<u64>| {
            self.commands
                .iter()
                .filter(|(s, _)| *s == scope)
                .flat_map(|(_, commands)| commands.iter())
                .find(|c| c["name"] == json!(name))
                .and_then(|c| c["id"].as_str()?.parse().ok())
        };
        guild.and_then(|g| lookup(Some(g))).or_else(|| lookup(None))
    }
}
