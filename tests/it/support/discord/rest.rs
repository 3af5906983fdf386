//! The REST half of the fake Discord: every `/api/v10/...` request goes through one handler that
//! checks the token, applies rate limits (answering 429 like Discord, with `X-RateLimit-*`
//! headers on every answer past the token check; a 401 carries none), records the request and
//! then does what Discord would.
//!
//! Routes: the gateway URL, the current user and application, command registration (global and
//! per guild), `GET /channels/{id}` (poise fetches every `GuildChannel` argument), channel messages (with nonce deduplication and channel access errors),
//! interaction callbacks, and the interaction webhooks (`@original`, follow-ups). Anything else
//! is logged, recorded and answered 404, so a test can see calls it did not expect. Nothing the
//! bot sends can make a handler panic: malformed input gets Discord's 400.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::payloads::{self, error};
use super::ratelimit::{BucketKey, BucketState, Scope, Verdict};
use super::state::{ChannelAccess, InteractionLog, RequestRecord, Shared, State};
use super::validate;

/// Per-route bucket for routes whose real limits the fake does not model: generous, so only
/// the global limit and the message buckets bite.
const OTHER_ROUTES: (u32, Duration) = (1000, Duration::from_secs(1));

/// An interaction response's "loading" flag (the "Bot is thinking..." message after a deferral).
const LOADING: u64 = 128;
const EPHEMERAL: u64 = 64;

/// A route the fake knows, with its parameters as the bot sent them (unparsed).
#[derive(Debug)]
enum Route {
    Gateway,
    GatewayBot,
    CurrentUser,
    CurrentApplication,
    Commands { app: String, guild: Option<String> },
    GetChannel { channel: String },
    CreateMessage { channel: String },
    Callback { id: String, token: String },
    Original { app: String, token: String },
    Followup { app: String, token: String },
    Unknown,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Self {
        let Some(rest) = path.strip_prefix("/api/v10/") else {
            return Route::Unknown;
        };
        let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        let own = |s: &str| s.to_owned();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["gateway"]) => Route::Gateway,
            ("GET", ["gateway", "bot"]) => Route::GatewayBot,
            ("GET", ["users", "@me"]) => Route::CurrentUser,
            ("GET", ["oauth2", "applications", "@me"] | ["applications", "@me"]) => {
                Route::CurrentApplication
            }
            ("GET" | "PUT", ["applications", app, "commands"]) => Route::Commands {
                app: own(app),
                guild: None,
            },
            ("GET" | "PUT", ["applications", app, "guilds", guild, "commands"]) => {
                Route::Commands {
                    app: own(app),
                    guild: Some(own(guild)),
                }
            }
            ("GET", ["channels", channel]) => Route::GetChannel {
                channel: own(channel),
            },
            ("POST", ["channels", channel, "messages"]) => Route::CreateMessage {
                channel: own(channel),
            },
            ("POST", ["interactions", id, token, "callback"]) => Route::Callback {
                id: own(id),
                token: own(token),
            },
            ("GET" | "PATCH" | "DELETE", ["webhooks", app, token, "messages", "@original"]) => {
                Route::Original {
                    app: own(app),
                    token: own(token),
                }
            }
            ("POST", ["webhooks", app, token]) => Route::Followup {
                app: own(app),
                token: own(token),
            },
            _ => Route::Unknown,
        }
    }

    /// Whether Discord wants `Authorization: Bot <token>` (interaction endpoints are
    /// authenticated by the token in the URL, `/gateway` by nothing).
    fn needs_auth(&self) -> bool {
        !matches!(
            self,
            Route::Gateway
                | Route::Callback { .. }
                | Route::Original { .. }
                | Route::Followup { .. }
        )
    }

    fn bucket(&self, method: &Method, shared: &Shared) -> BucketKey {
        let key = |route: &'static str, major: &str, (limit, window): (u32, Duration), global| {
            BucketKey {
                route,
                major: major.to_owned(),
                limit,
                window,
                global,
            }
        };
        match self {
            Route::CreateMessage { channel } => key(
                "POST /channels/{channel_id}/messages",
                channel,
                shared.config.channel_bucket,
                true,
            ),
            Route::Callback { id, .. } => key(
                "POST /interactions/{interaction_id}/{token}/callback",
                id,
                OTHER_ROUTES,
                false,
            ),
            Route::Original { token, .. } | Route::Followup { token, .. } => key(
                "/webhooks/{application_id}/{token}",
                token,
                OTHER_ROUTES,
                false,
            ),
            Route::Commands { .. } if *method == Method::PUT => key(
                "PUT /applications/{application_id}/commands",
                "",
                OTHER_ROUTES,
                true,
            ),
            _ => key("other", method.as_str(), OTHER_ROUTES, true),
        }
    }
}

/// One answer: status, JSON body (none for 204) and extra headers.
struct Answer {
    status: u16,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
            headers: Vec::new(),
        }
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match self.body {
            Some(body) => (
                status,
                [("content-type", "application/json")],
                body.to_string(),
            )
                .into_response(),
            None => status.into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(name), value);
            }
        }
        response
    }
}

fn rate_limited(state: &BucketState, retry_after: f64, scope: Scope) -> Answer {
    let global = scope == Scope::Global;
    let mut answer = Answer::json(
        429,
        json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": global}),
    );
    answer.headers = state.headers();
    answer.headers.push((
        "retry-after",
        format!("{}", retry_after.ceil().max(1.0) as u64),
    ));
    answer
        .headers
        .push(("x-ratelimit-scope", scope.header().to_owned()));
    if global {
        answer
            .headers
            .push(("x-ratelimit-global", "true".to_owned()));
    }
    answer
}

/// The JSON of a request body; multipart bodies (messages with files) carry it in the
/// `payload_json` part. `Err` when there is a body and it is not JSON.
pub(crate) fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ()> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("multipart/form-data") {
        let text = String::from_utf8_lossy(body);
        let start = text.find("name=\"payload_json\"").ok_or(())?;
        let rest = &text[start..];
        let begin = rest.find("\r\n\r\n").ok_or(())? + 4;
        let end = rest[begin..].find("\r\n--").ok_or(())? + begin;
        return serde_json::from_str(&rest[begin..end]).map_err(|_| ());
    }
    serde_json::from_slice(body).map_err(|_| ())
}

/// The file parts of a multipart body, as Discord reads uploads: every part with a `filename`
/// (name, filename, bytes). Not multipart, or malformed: none.
pub(crate) fn multipart_files(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String, Vec<u8>)> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(boundary) = content_type
        .strip_prefix("multipart/form-data")
        .and_then(|rest| rest.split("boundary=").nth(1))
        .map(|b| b.trim_matches('"').to_owned())
    else {
        return Vec::new();
    };
    let delimiter = format!("--{boundary}").into_bytes();
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|at| at + from)
    };
    let mut files = Vec::new();
    let mut at = 0;
    while let Some(start) = find(body, &delimiter, at) {
        let head_start = start + delimiter.len() + 2; // past "\r\n"
        let Some(head_end) = find(body, b"\r\n\r\n", head_start) else {
            break;
        };
        let Some(next) = find(body, &delimiter, head_end) else {
            break;
        };
        let head = String::from_utf8_lossy(&body[head_start..head_end]);
        let field = |key: &str| {
            head.split(';')
                .filter_map(|part| part.trim().strip_prefix(&format!("{key}=\"")))
                .map(|v| v.split('"').next().unwrap_or_default().to_owned())
                .next()
        };
        if let (Some(name), Some(filename)) = (field("name"), field("filename")) {
            // The part's bytes end with the "\r\n" before the next delimiter.
            let content = &body[head_end + 4..next.saturating_sub(2).max(head_end + 4)];
            files.push((name, filename, content.to_vec()));
        }
        at = next;
    }
    files
}

/// The REST entry point: everything that is not the gateway upgrade lands here.
pub async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = Instant::now();
    let path = uri.path().to_owned();
    let route = Route::parse(&method, &path);
    let files = multipart_files(&headers, &body);
    let parsed = parse_body(&headers, &body).map(|mut value| {
        if !files.is_empty() {
            payloads::stored_attachments(&mut value, &files);
            if let Some(data) = value.get_mut("data") {
                payloads::stored_attachments(data, &files);
            }
        }
        value
    });
    let expected = format!("Bot {}", shared.config.token);
    let authorized = !route.needs_auth()
        || headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == expected);
    let bucket = route.bucket(&method, &shared);
    let counts_globally = authorized && bucket.global;
    let record = |status: u16| RequestRecord {
        at: now,
        method: method.to_string(),
        path: path.clone(),
        status,
        body: parsed.clone().unwrap_or(Value::Null),
        global: counts_globally,
        known_route: !matches!(route, Route::Unknown),
        files: files.clone(),
    };

    if !authorized {
        shared.lock().requests.push(record(401));
        return Answer::json(401, error(0, "401: Unauthorized")).into_response();
    }

    let injected = {
        let mut state = shared.lock();
        let hit = state
            .injections
            .iter_mut()
            .find(|(needle, left, _)| *left > 0 && path.contains(needle.as_str()));
        hit.map(|(_, left, retry_after)| {
            *left -= 1;
            *retry_after
        })
    };
    let verdict = match injected {
        Some(retry_after) => Verdict::Limited {
            state: BucketState {
                limit: bucket.limit,
                remaining: 0,
                reset_after: retry_after,
                bucket: "injected".to_owned(),
            },
            retry_after,
            scope: Scope::User,
        },
        None => shared.limiter().check(&bucket, now),
    };
    let bucket_state = match verdict {
        Verdict::Allowed(state) => state,
        Verdict::Limited {
            state,
            retry_after,
            scope,
        } => {
            let mut locked = shared.lock();
            locked.rate_limited += 1;
            locked.requests.push(record(429));
            return rate_limited(&state, retry_after, scope).into_response();
        }
    };

    let mut answer = match &parsed {
        Err(()) => Answer::json(400, error(50109, "The request body contains invalid JSON.")),
        Ok(body) => {
            let mut state = shared.lock();
            route_answer(&shared, &mut state, &method, &route, &path, body, now)
        }
    };
    let hang = {
        let mut state = shared.lock();
        state.requests.push(record(answer.status));
        matches!(route, Route::CreateMessage { .. })
            && answer.status == 200
            && state.hang_after_recording
    };
    if hang {
        hold(&shared).await;
    }
    answer.headers.extend(bucket_state.headers());
    answer.into_response()
}

/// Waits until the test releases held message creates (or the bot's connection goes, which
/// drops this future); counted in [`State::holding`] meanwhile.
async fn hold(shared: &Shared) {
    struct Held<'s>(&'s Shared);
    impl Drop for Held<'_> {
        fn drop(&mut self) {
            self.0.lock().holding -= 1;
        }
    }
    let released = shared.release.notified();
    tokio::pin!(released);
    released.as_mut().enable();
    let _held = {
        let mut state = shared.lock();
        if !state.hang_after_recording {
            return;
        }
        state.holding += 1;
        Held(shared)
    };
    released.await;
}

fn route_answer(
    shared: &Shared,
    state: &mut State,
    method: &Method,
    route: &Route,
    path: &str,
    body: &Value,
    now: Instant,
) -> Answer {
    let config = &shared.config;
    match route {
        Route::Gateway => Answer::ok(json!({"url": shared.ws_url})),
        Route::GatewayBot => Answer::ok(json!({
            "url": shared.ws_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1
            },
        })),
        Route::CurrentUser => Answer::ok(payloads::bot_user(config)),
        Route::CurrentApplication => Answer::ok(payloads::application(config)),
        Route::Commands { app, guild } => {
            commands(shared, state, method, app, guild.as_deref(), body)
        }
        Route::GetChannel { channel } => get_channel(shared, state, channel),
        Route::CreateMessage { channel } => create_message(shared, state, channel, body, now),
        Route::Callback { id, token } => callback(shared, state, id, token, body, now),
        Route::Original { app, token } => original(shared, state, method, app, token, body, now),
        Route::Followup { app, token } => followup(shared, state, app, token, body, now),
        Route::Unknown => {
            eprintln!("fake discord: unexpected request {method} {path}");
            Answer::json(404, error(0, "404: Not Found"))
        }
    }
}

fn snowflake_param(value: &str, name: &str) -> Result<u64, Answer> {
    value.parse::<u64>().map_err(|_| {
        Answer::json(
            400,
            payloads::invalid_form(
                name,
                "NUMBER_TYPE_COERCE",
                &format!("Value \"{value}\" is not snowflake."),
            ),
        )
    })
}

fn commands(
    shared: &Shared,
    state: &mut State,
    method: &Method,
    app: &str,
    guild: Option<&str>,
    body: &Value,
) -> Answer {
    let config = &shared.config;
    if app != config.application_id.to_string() {
        return Answer::json(403, error(50001, "Missing Access"));
    }
    let guild = match guild.map(|g| snowflake_param(g, "guild_id")).transpose() {
        Ok(guild) => guild,
        Err(answer) => return answer,
    };
    if let Some(id) = guild
        && !config.guilds.iter().any(|g| g.id == id)
    {
        return Answer::json(403, error(50001, "Missing Access"));
    }
    let existing = state
        .commands
        .iter()
        .find(|(scope, _)| *scope == guild)
        .map(|(_, commands)| commands.clone())
        .unwrap_or_default();
    if *method == Method::GET {
        return Answer::ok(Value::Array(existing));
    }
    let sent = match validate::commands(body) {
        Ok(sent) => sent,
        Err(problem) => return Answer::json(400, problem),
    };
    let echoed: Vec<Value> = sent
        .iter()
        .map(|command| {
            // Discord keeps a command's id when it is overwritten under the same name.
            let id = existing
                .iter()
                .find(|c| c["name"] == command["name"])
                .and_then(|c| c["id"].as_str()?.parse().ok())
                .unwrap_or_else(|| shared.snowflake());
            payloads::registered_command(command, id, config.application_id, guild)
        })
        .collect();
    state.commands.retain(|(scope, _)| *scope != guild);
    state.commands.push((guild, echoed.clone()));
    state.registrations += 1;
    Answer::ok(Value::Array(echoed))
}

/// `GET /channels/{id}` (serenity's `ChannelId::to_channel`, which poise calls for every
/// `GuildChannel` argument).
fn get_channel(shared: &Shared, state: &State, channel: &str) -> Answer {
    let channel = match snowflake_param(channel, "channel_id") {
        Ok(channel) => channel,
        Err(answer) => return answer,
    };
    match state.channels.get(&channel) {
        None | Some(ChannelAccess::Missing) => Answer::json(404, error(10003, "Unknown Channel")),
        Some(ChannelAccess::NoAccess) => Answer::json(403, error(50001, "Missing Access")),
        Some(ChannelAccess::Open | ChannelAccess::NoPermission) => {
            let guilds = &shared.config.guilds;
            let found = guilds.iter().find_map(|g| {
                let position = g.channels.iter().position(|(id, _)| *id == channel)?;
                Some((g.id, g.channels[position].1.clone(), position))
            });
            let (guild_id, name, position) = found.unwrap_or_else(|| {
                let guild_id = guilds.first().map_or(0, |g| g.id);
                (guild_id, format!("channel-{channel}"), 0)
            });
            Answer::ok(payloads::text_channel(guild_id, channel, &name, position))
        }
    }
}

fn create_message(
    shared: &Shared,
    state: &mut State,
    channel: &str,
    body: &Value,
    now: Instant,
) -> Answer {
    let channel = match snowflake_param(channel, "channel_id") {
        Ok(channel) => channel,
        Err(answer) => return answer,
    };
    match state.channels.get(&channel) {
        None | Some(ChannelAccess::Missing) => {
            return Answer::json(404, error(10003, "Unknown Channel"));
        }
        Some(ChannelAccess::NoAccess) => return Answer::json(403, error(50001, "Missing Access")),
        Some(ChannelAccess::NoPermission) => {
            return Answer::json(403, error(50013, "Missing Permissions"));
        }
        Some(ChannelAccess::Open) => {}
    }
    if let Err(problem) = validate::message(body, false) {
        return Answer::json(400, problem);
    }
    let nonce = match &body["nonce"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let enforced = body["enforce_nonce"].as_bool().unwrap_or(false);
    let window = shared.config.nonce_window;
    if let (Some(nonce), true) = (&nonce, enforced)
        && let Some((first, at)) = state.nonces.get(&(channel, nonce.clone()))
        && now.duration_since(*at) < window
    {
        return Answer::ok(first.clone());
    }
    let message = payloads::message(
        shared.snowflake(),
        channel,
        payloads::bot_user(&shared.config),
        body,
    );
    if let (Some(nonce), true) = (nonce, enforced) {
        state
            .nonces
            .insert((channel, nonce), (message.clone(), now));
    }
    state.messages.push(message.clone());
    Answer::ok(message)
}

fn unknown_interaction() -> Answer {
    Answer::json(404, error(10062, "Unknown interaction"))
}

fn callback(
    shared: &Shared,
    state: &mut State,
    id: &str,
    token: &str,
    body: &Value,
    now: Instant,
) -> Answer {
    let Ok(id) = id.parse::<u64>() else {
        return unknown_interaction();
    };
    let bot = payloads::bot_user(&shared.config);
    let application_id = shared.config.application_id;
    let message_id = shared.snowflake();
    let Some(log) = state.interactions.get_mut(&id) else {
        return unknown_interaction();
    };
    if log.token != token
        || now.duration_since(log.dispatched_at) > shared.config.interaction_deadline
    {
        return unknown_interaction();
    }
    if log.callback.is_some() {
        return Answer::json(
            400,
            error(40060, "Interaction has already been acknowledged."),
        );
    }
    let kind = match validate::callback(body) {
        Ok(kind) => kind,
        Err(problem) => return Answer::json(400, problem),
    };
    let flags = body["data"]["flags"].as_u64().unwrap_or(0);
    let original = match kind {
        4 => Some(payloads::message(
            message_id,
            log.channel_id,
            bot,
            &body["data"],
        )),
        5 => Some(payloads::message(
            message_id,
            log.channel_id,
            bot,
            &json!({"content": "", "flags": LOADING | (flags & EPHEMERAL)}),
        )),
        _ => None,
    };
    log.original = original.map(|mut message| {
        message["webhook_id"] = json!(application_id.to_string());
        message["application_id"] = json!(application_id.to_string());
        message
    });
    log.callback = Some((body.clone(), now));
    Answer::no_content()
}

/// The interaction a webhook route points at, or Discord's "Unknown Webhook".
fn webhook_interaction<'s>(
    shared: &Shared,
    state: &'s mut State,
    app: &str,
    token: &str,
) -> Result<&'s mut InteractionLog, Answer> {
    let unknown = || Answer::json(404, error(10015, "Unknown Webhook"));
    if app != shared.config.application_id.to_string() {
        return Err(unknown());
    }
    state
        .interaction_by_token(token)
        .map(|(_, log)| log)
        .ok_or_else(unknown)
}

fn original(
    shared: &Shared,
    state: &mut State,
    method: &Method,
    app: &str,
    token: &str,
    body: &Value,
    now: Instant,
) -> Answer {
    let log = match webhook_interaction(shared, state, app, token) {
        Ok(log) => log,
        Err(answer) => return answer,
    };
    let Some(current) = log.original.clone() else {
        return Answer::json(404, error(10008, "Unknown Message"));
    };
    match *method {
        Method::GET => Answer::ok(current),
        Method::DELETE => {
            log.original = None;
            Answer::no_content()
        }
        _ => {
            if let Err(problem) = validate::message(body, true) {
                return Answer::json(400, problem);
            }
            let mut edited = payloads::edited(&current, body);
            let flags = edited["flags"].as_u64().unwrap_or(0) & !LOADING;
            edited["flags"] = json!(flags);
            log.original = Some(edited.clone());
            log.edits.push((body.clone(), now));
            Answer::ok(edited)
        }
    }
}

fn followup(
    shared: &Shared,
    state: &mut State,
    app: &str,
    token: &str,
    body: &Value,
    now: Instant,
) -> Answer {
    let bot = payloads::bot_user(&shared.config);
    let message_id = shared.snowflake();
    let application_id = shared.config.application_id;
    let log = match webhook_interaction(shared, state, app, token) {
        Ok(log) => log,
        Err(answer) => return answer,
    };
    if log.callback.is_none() {
        return Answer::json(404, error(10015, "Unknown Webhook"));
    }
    if let Err(problem) = validate::message(body, false) {
        return Answer::json(400, problem);
    }
    // The first follow-up after a deferral replaces the "thinking" message, as on Discord.
    let loading = log
        .original
        .as_ref()
        .is_some_and(|o| o["flags"].as_u64().unwrap_or(0) & LOADING != 0);
    let mut message = if loading {
        let current = log.original.clone().unwrap_or(Value::Null);
        let mut edited = payloads::edited(&current, body);
        let ephemeral = current["flags"].as_u64().unwrap_or(0) & EPHEMERAL;
        edited["flags"] = json!(body["flags"].as_u64().unwrap_or(0) | ephemeral);
        edited
    } else {
        payloads::message(message_id, log.channel_id, bot, body)
    };
    message["webhook_id"] = json!(application_id.to_string());
    message["application_id"] = json!(application_id.to_string());
    if loading {
        log.original = Some(message.clone());
    }
    log.followups.push((body.clone(), now));
    Answer::ok(message)
}
