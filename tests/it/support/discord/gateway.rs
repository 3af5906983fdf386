//! The gateway half of the fake Discord: a WebSocket at `ws://127.0.0.1:PORT/?v=10` speaking
//! Discord's JSON protocol (no compression).
//!
//! On connect it sends HELLO (op 10). IDENTIFY (op 2) with the right token starts a session
//! for the shard it names (`"shard": [id, total]`, `[0, 1]` without one): READY, echoing the
//! shard, then one GUILD_CREATE per configured guild that shard owns (`(guild_id >> 22) %
//! total == id`, Discord's formula); a wrong token closes with 4004, as Discord does, and so does
//! a shard outside `0..total` (4010). Heartbeats (op 1) are acknowledged (op 11). RESUME (op 6)
//! with a known session replays every dispatch of that session after the client's `seq` and
//! then sends RESUMED; an unknown session gets INVALID_SESSION (op 9, not resumable). serenity
//! sends RESUME as soon as it reconnects, before reading HELLO (it ignores HELLO while
//! resuming), so RESUME is accepted at any point.
//!
//! Several sessions exist at once, one per shard (a new IDENTIFY for a shard replaces that
//! shard's session); each session's dispatches go to the connection that identified or resumed
//! it last, and are logged so a resume after a dropped connection misses nothing.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State as AxumState};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::mpsc::{self, UnboundedSender};

use super::payloads;
use super::state::{ONLY_SHARD, Outbound, Session, Shard, Shared, shard_of};

/// Discord's gateway close codes that the fake uses.
mod close {
    pub const UNKNOWN_OPCODE: u16 = 4001;
    pub const DECODE_ERROR: u16 = 4002;
    pub const AUTHENTICATION_FAILED: u16 = 4004;
    pub const ALREADY_AUTHENTICATED: u16 = 4005;
    pub const INVALID_SHARD: u16 = 4010;
    pub const INVALID_API_VERSION: u16 = 4012;
}

/// `GET /` with an upgrade: a gateway connection.
pub async fn upgrade(
    AxumState(shared): AxumState<Arc<Shared>>,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    let version = query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("v=").map(str::to_owned));
    ws.on_upgrade(move |socket| serve(socket, shared, version))
}

async fn serve(mut socket: WebSocket, shared: Arc<Shared>, version: Option<String>) {
    let (sender, mut outbound) = mpsc::unbounded_channel::<Outbound>();
    let connection = {
        let mut state = shared.lock();
        state.gateway.connections += 1;
        state.gateway.connections as u64
    };
    if version.as_deref().is_some_and(|v| v != "10") {
        close_with(
            &mut socket,
            close::INVALID_API_VERSION,
            "Invalid API version",
        )
        .await;
        return;
    }
    let hello = json!({"op": 10, "s": null, "t": null,
        "d": {"heartbeat_interval": shared.config.heartbeat_ms}});
    if socket
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    let mut authenticated = false;
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            frame = outbound.recv() => match frame {
                Some(Outbound::Text(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                // Dropping the socket without a close frame: the bot sees a reset connection.
                Some(Outbound::Drop) | None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let reply = on_frame(&shared, connection, &sender, &mut authenticated, text.as_str());
                    if let Some((code, reason)) = reply {
                        close_with(&mut socket, code, reason).await;
                        break;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    close_with(&mut socket, close::DECODE_ERROR, "Decode error").await;
                    break;
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let mut state = shared.lock();
    for session in &mut state.gateway.sessions {
        if session
            .current
            .as_ref()
            .is_some_and(|(id, _)| *id == connection)
        {
            session.current = None;
        }
    }
}

async fn close_with(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    // The bot may already be gone; nothing to do about it then.
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// Handles one frame from the bot; `Some((code, reason))` closes the connection.
fn on_frame(
    shared: &Shared,
    connection: u64,
    sender: &UnboundedSender<Outbound>,
    authenticated: &mut bool,
    text: &str,
) -> Option<(u16, &'static str)> {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return Some((close::DECODE_ERROR, "Decode error"));
    };
    let expected_token = format!("Bot {}", shared.config.token);
    let token_ok = |d: &Value| d["token"].as_str() == Some(expected_token.as_str());
    let send = |value: Value| {
        // The receiving half lives as long as this connection's task; an error means it ended.
        let _ = sender.send(Outbound::Text(value.to_string()));
    };
    match frame["op"].as_u64() {
        Some(1) => {
            shared.lock().gateway.heartbeats += 1;
            send(json!({"op": 11, "s": null, "t": null, "d": null}));
            None
        }
        Some(2) => {
            if *authenticated {
                return Some((close::ALREADY_AUTHENTICATED, "Already authenticated."));
            }
            if !token_ok(&frame["d"]) {
                return Some((close::AUTHENTICATION_FAILED, "Authentication failed."));
            }
            let Some(shard) = identified_shard(&frame["d"]) else {
                return Some((close::INVALID_SHARD, "Invalid shard."));
            };
            *authenticated = true;
            identify(shared, shard, (connection, sender.clone()));
            None
        }
        Some(6) => {
            let d = &frame["d"];
            if !token_ok(d) {
                return Some((close::AUTHENTICATION_FAILED, "Authentication failed."));
            }
            let mut state = shared.lock();
            let gateway = &mut state.gateway;
            let session = d["session_id"]
                .as_str()
                .and_then(|id| gateway.sessions.iter_mut().find(|s| s.id == id));
            let Some(session) = session else {
                send(json!({"op": 9, "s": null, "t": null, "d": false}));
                return None;
            };
            *authenticated = true;
            let after = d["seq"].as_u64().unwrap_or(0);
            session.current = Some((connection, sender.clone()));
            for (_, missed) in session.log.iter().filter(|(seq, _)| *seq > after) {
                let _ = sender.send(Outbound::Text(missed.clone()));
            }
            let shard = session.shard;
            gateway.resumes += 1;
            state.dispatch(shard, "RESUMED", json!({"_trace": ["fake-discord"]}));
            None
        }
        // Presence updates, voice state, guild member requests: accepted, not acted on.
        Some(3 | 4 | 8 | 31) => None,
        _ => Some((close::UNKNOWN_OPCODE, "Unknown opcode.")),
    }
}

/// The shard IDENTIFY names: `"shard": [id, total]` with `id < total`, or the only shard when
/// the field is absent; `None` for anything else.
fn identified_shard(d: &Value) -> Option<Shard> {
    match &d["shard"] {
        Value::Null => Some(ONLY_SHARD),
        Value::Array(pair) => match pair.as_slice() {
            [id, total] => {
                let (id, total) = (id.as_u64()?, total.as_u64()?);
                (id < total).then_some([id, total])
            }
            _ => None,
        },
        _ => None,
    }
}

/// Starts a fresh session for `shard` on `connection` (replacing the shard's old one): READY,
/// then the GUILD_CREATE of each guild the shard owns.
fn identify(shared: &Shared, shard: Shard, connection: (u64, UnboundedSender<Outbound>)) {
    let mut state = shared.lock();
    let gateway = &mut state.gateway;
    gateway.identifies += 1;
    gateway.identified.push(shard);
    gateway.started += 1;
    let session_id = format!("fake-session-{}", gateway.started);
    gateway.sessions.retain(|s| s.shard != shard);
    gateway.sessions.push(Session {
        id: session_id.clone(),
        shard,
        seq: 0,
        log: Vec::new(),
        current: Some(connection),
    });
    let ready = payloads::ready(&shared.config, &session_id, &shared.ws_url, shard);
    state.dispatch(shard, "READY", ready);
    let [id, total] = shard;
    for guild in &shared.config.guilds {
        if shard_of(Some(guild.id), total) == id {
            state.dispatch(
                shard,
                "GUILD_CREATE",
                payloads::guild_create(&shared.config, guild),
            );
        }
    }
}
