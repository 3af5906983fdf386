//! A local Discord webhook: answers `POST /api/webhooks/{id}/{token}?wait=true` the way
//! Discord's Execute Webhook does (the created message as JSON), and records what was posted.
//!
//! A post counts as made when the server answers it, as with Discord, where a request whose
//! connection dies before it is processed posts nothing. Tests can script answers (429, 404),
//! hold requests after a number of posts (to kill a client mid-delivery), or record a post and
//! then hang (the "sent but never marked" window).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One recorded post.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    /// `/api/webhooks/{id}/{token}`.
    pub path: String,
    /// The query string (`wait=true`).
    pub query: String,
    /// The JSON body (of a multipart upload: its `payload_json` part).
    pub body: Value,
    /// The files of a multipart upload: (part name, filename, bytes).
    pub files: Vec<(String, String, Vec<u8>)>,
}

/// A scripted answer: status, JSON body, extra headers.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

#[derive(Default)]
struct State {
    posts: Vec<Post>,
    /// Requests read, whatever became of them.
    requests: usize,
    /// Answers to give before the default 200s.
    script: VecDeque<Answer>,
    /// Once this many posts are recorded, further requests wait for `release`.
    hold_after: Option<usize>,
    /// Requests waiting right now (held before or after recording).
    holding: usize,
    /// Record a post, then never answer it (until released).
    hang_after_recording: bool,
    /// Delay before each answer.
    delay: Duration,
    next_id: u64,
}

/// The server; it stops when dropped.
pub struct FakeWebhook {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    release: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeWebhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeWebhook {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let state = Arc::new(Mutex::new(State {
            next_id: 1_300_000_000_000_000_000,
            ..State::default()
        }));
        let release = Arc::new(Notify::new());
        let (s, r) = (state.clone(), release.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, s.clone(), r.clone()));
            }
        });
        Self {
            addr,
            state,
            release,
            task,
        }
    }

    /// The webhook URL for `id` (the token is `token-{id}`).
    pub fn url(&self, id: u64) -> String {
        format!("http://{}/api/webhooks/{id}/token-{id}", self.addr)
    }

    pub fn posts(&self) -> Vec<Post> {
        self.lock().posts.clone()
    }

    pub fn requests(&self) -> usize {
        self.lock().requests
    }

    pub fn holding(&self) -> usize {
        self.lock().holding
    }

    pub fn script(&self, answer: Answer) {
        self.lock().script.push_back(answer);
    }

    pub fn hold_after(&self, posts: usize) {
        self.lock().hold_after = Some(posts);
    }

    pub fn hang_after_recording(&self) {
        self.lock().hang_after_recording = true;
    }

    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// Lets held requests (and later ones) through.
    pub fn release(&self) {
        {
            let mut state = self.lock();
            state.hold_after = None;
            state.hang_after_recording = false;
        }
        self.release.notify_waiters();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits (up to `limit`) until `ready` holds.
    pub async fn wait_for(&self, limit: Duration, ready: impl Fn(&Self) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if ready(self) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ready(self)
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads one request: (method, target, content type, body). `None` at EOF.
async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Option<(String, String, String, Vec<u8>)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let length = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end + 4..end + 4 + length].to_vec();
            buf.drain(..end + 4 + length);
            let content_type = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-type"))
                .map_or(String::new(), |(_, v)| v.trim().to_owned());
            let mut first = head.lines().next()?.split_whitespace();
            let method = first.next()?.to_owned();
            let target = first.next()?.to_owned();
            return Some((method, target, content_type, body));
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Waits for `release`, or returns false when the client hangs up first.
async fn held(stream: &mut TcpStream, release: &Notify) -> bool {
    let mut probe = [0u8; 1];
    tokio::select! {
        _ = release.notified() => true,
        _ = stream.read(&mut probe) => false,
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>, release: Arc<Notify>) {
    let mut buf = Vec::new();
    while let Some((method, target, content_type, body)) = read_request(&mut stream, &mut buf).await
    {
        let (path, query) = target
            .split_once('?')
            .map_or((target.clone(), String::new()), |(p, q)| {
                (p.to_owned(), q.to_owned())
            });
        let must_hold = {
            let mut s = lock(&state);
            s.requests += 1;
            s.hold_after.is_some_and(|n| s.posts.len() >= n)
        };
        if must_hold {
            lock(&state).holding += 1;
            let go_on = held(&mut stream, &release).await;
            lock(&state).holding -= 1;
            if !go_on {
                return; // the client died: nothing was posted
            }
        }
        let delay = lock(&state).delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut headers = axum::http::HeaderMap::new();
        if let Ok(value) = axum::http::HeaderValue::from_str(&content_type) {
            headers.insert("content-type", value);
        }
        let files = super::discord::rest::multipart_files(&headers, &body);
        let body: Value = super::discord::rest::parse_body(&headers, &body).unwrap_or(Value::Null);
        let scripted = lock(&state).script.pop_front();
        let answer = match scripted {
            Some(answer) => answer,
            None if method == "POST" && path.starts_with("/api/webhooks/") => {
                let (id, hang) = {
                    let mut s = lock(&state);
                    s.next_id += 1;
                    s.posts.push(Post {
                        path: path.clone(),
                        query: query.clone(),
                        body: body.clone(),
                        files: files.clone(),
                    });
                    (s.next_id, s.hang_after_recording)
                };
                if hang {
                    lock(&state).holding += 1;
                    let go_on = held(&mut stream, &release).await;
                    lock(&state).holding -= 1;
                    if !go_on {
                        return;
                    }
                }
                let webhook_id = path.split('/').nth(3).unwrap_or("0");
                Answer {
                    status: 200,
                    body: json!({
                        "id": id.to_string(), "type": 0, "channel_id": "1000",
                        "webhook_id": webhook_id, "content": body.get("content").cloned().unwrap_or(json!("")),
                        "embeds": body.get("embeds").cloned().unwrap_or(json!([])),
                        "timestamp": "2025-09-18T21:00:00.000000+00:00"
                    }),
                    headers: Vec::new(),
                }
            }
            None => Answer {
                status: 404,
                body: json!({"message": "404: Not Found", "code": 0}),
                headers: Vec::new(),
            },
        };
        let text = answer.body.to_string();
        let mut response = format!(
            "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            answer.status,
            text.len()
        );
        for (k, v) in &answer.headers {
            response.push_str(&format!("{k}: {v}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&text);
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
