//! The gateway half of the fake Discord: a WebSocket at `ws://127.0.0.1:PORT/?v=10` speaking
//! Discord's JSON protocol (no compression).
//!
//! On connect it sends HELLO (op 10). IDENTIFY (op 2) with the right token starts a session:
//! READY, then one GUILD_CREATE per configured guild; a wrong token closes with 4004, as Discord
//! does. Heartbeats (op 1) are acknowledged (op 11). RESUME (op 6) with a known session replays
//! every dispatch after the client's `seq` and then sends RESUMED; an unknown session gets
//! INVALID_SESSION (op 9, not resumable). serenity sends RESUME as soon as it reconnects, before
//! reading HELLO (it ignores HELLO while resuming), so RESUME is accepted at any point.
//!
//! One session exists at a time; dispatches go to the connection that identified or resumed
//! last, and are logged so a resume after a dropped connection misses nothing.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State as AxumState};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::mpsc::{self, UnboundedSender};

use super::payloads;
use super::state::{Outbound, Shared};

/// Discord's gateway close codes that the fake uses.
mod close {
    pub const UNKNOWN_OPCODE: u16 = 4001;
    pub const DECODE_ERROR: u16 = 4002;
    pub const AUTHENTICATION_FAILED: u16 = 4004;
    pub const ALREADY_AUTHENTICATED: u16 = 4005;
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
    if state
        .gateway
        .current
        .as_ref()
        .is_some_and(|(id, _)| *id == connection)
    {
        state.gateway.current = None;
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
            *authenticated = true;
            let mut state = shared.lock();
            let gateway = &mut state.gateway;
            gateway.identifies += 1;
            gateway.sessions += 1;
            let session_id = format!("fake-session-{}", gateway.sessions);
            gateway.session_id = Some(session_id.clone());
            gateway.seq = 0;
            gateway.log.clear();
            gateway.current = Some((connection, sender.clone()));
            let ready = payloads::ready(&shared.config, &session_id, &shared.ws_url);
            state.dispatch("READY", ready);
            for guild in &shared.config.guilds {
                state.dispatch(
                    "GUILD_CREATE",
                    payloads::guild_create(&shared.config, guild),
                );
            }
            None
        }
        Some(6) => {
            let d = &frame["d"];
            if !token_ok(d) {
                return Some((close::AUTHENTICATION_FAILED, "Authentication failed."));
            }
            let mut state = shared.lock();
            let known = state.gateway.session_id.is_some()
                && state.gateway.session_id.as_deref() == d["session_id"].as_str();
            if !known {
                send(json!({"op": 9, "s": null, "t": null, "d": false}));
                return None;
            }
            *authenticated = true;
            let after = d["seq"].as_u64().unwrap_or(0);
            let gateway = &mut state.gateway;
            gateway.resumes += 1;
            gateway.current = Some((connection, sender.clone()));
            for (_, missed) in gateway.log.iter().filter(|(seq, _)| *seq > after) {
                let _ = sender.send(Outbound::Text(missed.clone()));
            }
            state.dispatch("RESUMED", json!({"_trace": ["fake-discord"]}));
            None
        }
        // Presence updates, voice state, guild member requests: accepted, not acted on.
        Some(3 | 4 | 8 | 31) => None,
        _ => Some((close::UNKNOWN_OPCODE, "Unknown opcode.")),
    }
}
