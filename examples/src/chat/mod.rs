//! A broadcast chat server for browsers, on tokio: `GET /` serves the page
//! (`examples/chat/index.html`), `GET /ws?name=NAME` is the WebSocket endpoint, on one port.
//!
//! Every text message a member sends goes to every member as JSON (see [`room::Event`]), with
//! join and leave notices, through a [`ws_hub::Hub`]: encoded and framed once for everyone.
//! permessage-deflate is accepted when the browser offers it, without server context takeover
//! so that the hub compresses each event once for all members. A member whose outgoing queue
//! fills up (a browser that does not read) is dropped with close 1008 so it cannot stall the
//! others. With [`ChatConfig::redis`], several chat processes (nodes) share the room through
//! Redis pub/sub (see [`room`] for what each node knows of the others' members).

pub mod http;
pub mod presence;
pub mod room;

use self::http::{read_head, route, Rewind, Route};
use self::room::{Event, Membership, Room, RoomConfig};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};
use ws_tokio::ws_handshake::DeflateOptions;
use ws_tokio::{http as http_types, Accept, CloseCode, CloseFrame, Message, Reject, ServerConfig};

/// The page, served at `/`.
pub const PAGE: &str = include_str!("../../chat/index.html");

/// Limits and settings of the chat server. Defaults suit a demo on the open internet.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ChatConfig {
    /// Largest request head, in bytes; larger ones get 431. Default 8 KiB.
    pub max_head: usize,
    /// How long a client may take to send its request head (and the page to be written).
    /// Default 10 s.
    pub request_timeout: Duration,
    /// Events a member may have waiting to be sent before it is dropped. Default 256.
    pub queue_len: usize,
    /// Largest chat message, in bytes; larger ones close the connection with 1009.
    /// Default 4 KiB.
    pub max_message: usize,
    /// Longest name, in characters; longer ones are cut. Default 32.
    pub max_name: usize,
    /// Most connections at once (page requests included); more get 503 and are closed at
    /// once. Default 1024.
    pub max_connections: usize,
    /// How long a closing handshake may take. Default 2 s.
    pub close_timeout: Duration,
    /// Offer permessage-deflate to clients that ask for it. Default on.
    pub deflate: bool,
    /// Messages a member may send per second, on average; faster senders are closed with
    /// 1008. 0: no limit. Default 20.
    pub messages_per_second: u32,
    /// Messages a member may send at once before the rate applies. Default 40.
    pub burst: u32,
    /// `redis://HOST:PORT/`: this server is one node of a room shared through that Redis.
    /// Default `None`: one process.
    pub redis: Option<String>,
    /// How often a node repeats its member list to the others (see [`presence`]). Default 10 s.
    pub presence_interval: Duration,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            max_head: 8 * 1024,
            request_timeout: Duration::from_secs(10),
            queue_len: 256,
            max_message: 4 * 1024,
            max_name: 32,
            max_connections: 1024,
            close_timeout: Duration::from_secs(2),
            deflate: true,
            messages_per_second: 20,
            burst: 40,
            redis: None,
            presence_interval: Duration::from_secs(10),
        }
    }
}

impl ChatConfig {
    /// Sets [`queue_len`](Self::queue_len).
    pub fn queue_len(mut self, queue_len: usize) -> Self {
        self.queue_len = queue_len;
        self
    }

    /// Sets [`max_message`](Self::max_message).
    pub fn max_message(mut self, max_message: usize) -> Self {
        self.max_message = max_message;
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    pub fn max_connections(mut self, max_connections: usize) -> Self {
        self.max_connections = max_connections;
        self
    }

    /// Sets the rate limit: `messages_per_second` (0: none) after a `burst`.
    pub fn rate_limit(mut self, messages_per_second: u32, burst: u32) -> Self {
        self.messages_per_second = messages_per_second;
        self.burst = burst;
        self
    }

    /// Sets [`redis`](Self::redis).
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        self.redis = Some(url.into());
        self
    }

    /// The room these settings describe.
    pub fn room_config(&self) -> RoomConfig {
        RoomConfig {
            queue_len: self.queue_len,
            redis: self.redis.clone(),
            presence_interval: self.presence_interval,
            ..RoomConfig::default()
        }
    }

    fn server_config(&self) -> ServerConfig {
        ServerConfig::default()
            .max_message_size(self.max_message)
            .max_frame_size(self.max_message)
            .close_timeout(self.close_timeout)
            .handshake_timeout(self.request_timeout)
            .deflate(self.deflate.then(|| {
                // Every message is compressed on its own, so the hub's shared frame (compressed
                // once) suits every member with the same parameters.
                let mut deflate = DeflateOptions::default();
                deflate.server_no_context_takeover = true;
                deflate
            }))
    }
}

struct Server {
    config: ChatConfig,
    room: Arc<Room>,
    guests: AtomicU64,
}

/// Serves the chat on `listener` until accepting fails for good. With [`ChatConfig::redis`],
/// as a node of the room shared through Redis (an invalid URL is an `InvalidInput` error).
pub async fn serve(listener: TcpListener, config: ChatConfig) -> io::Result<()> {
    let room = Room::start(&config.room_config())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    serve_room(listener, config, room).await
}

/// [`serve`] with a room made beforehand (by [`Room::start`]), to watch it, wait until it is
/// [`ready`](Room::ready), or serve it on several listeners. `config`'s room settings are not
/// used.
pub async fn serve_room(
    listener: TcpListener,
    config: ChatConfig,
    room: Arc<Room>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let server = Arc::new(Server {
        room,
        config,
        guests: AtomicU64::new(1),
    });
    loop {
        let (tcp, _peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) if is_transient(&e) => {
                // Out of file descriptors and the like: give connections time to end.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let _ = tcp.set_nodelay(true);
        let server = server.clone();
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                tokio::spawn(async move {
                    server.connection(tcp).await;
                    drop(slot);
                });
            }
            Err(_) => {
                let busy = http::response(
                    "503 Service Unavailable",
                    &["Retry-After: 5"],
                    "text/plain",
                    b"too many connections\n",
                );
                // No task and no waiting when overloaded: one attempt at the answer (it fits
                // any fresh socket buffer), then the connection is dropped.
                let _ = tcp.try_write(&busy);
            }
        }
    }
}

/// Most request bytes read and thrown away after an answer, so that closing does not reset the
/// connection before the client has read the answer.
const LINGER_BYTES: usize = 64 * 1024;

/// Writes a plain HTTP answer and closes: our side first (FIN), then reads what the client
/// still sends, up to [`LINGER_BYTES`] and `deadline`. Closing with unread input would make the
/// kernel send a reset, which can destroy the answer in flight (an oversized head, say).
async fn answer_and_close(mut tcp: TcpStream, answer: impl AsRef<[u8]>, deadline: Duration) {
    let linger = async {
        tcp.write_all(answer.as_ref()).await?;
        tcp.shutdown().await?;
        let mut sink = [0u8; 4096];
        let mut drained = 0;
        while drained < LINGER_BYTES {
            match tcp.read(&mut sink).await? {
                0 => break,
                n => drained += n,
            }
        }
        io::Result::Ok(())
    };
    let _ = tokio::time::timeout(deadline, linger).await;
}

fn is_transient(e: &io::Error) -> bool {
    !matches!(
        e.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::PermissionDenied
    )
}

impl Server {
    async fn connection(&self, mut tcp: TcpStream) {
        let deadline = self.config.request_timeout;
        let head =
            match tokio::time::timeout(deadline, read_head(&mut tcp, self.config.max_head)).await {
                Ok(Ok(head)) => head,
                Ok(Err(e)) => {
                    if let Some(answer) = e.response() {
                        answer_and_close(tcp, &answer, deadline).await;
                    }
                    return;
                }
                Err(_elapsed) => return,
            };
        match route(&head) {
            Route::Page => {
                let page =
                    http::response("200 OK", &[], "text/html; charset=utf-8", PAGE.as_bytes());
                answer_and_close(tcp, &page, deadline).await;
            }
            Route::Respond(answer) => answer_and_close(tcp, &answer, deadline).await,
            Route::WebSocket { name } => {
                let stream = Rewind::new(head, tcp);
                let Ok(ws) =
                    ws_tokio::accept_with(stream, same_origin, self.config.server_config()).await
                else {
                    // Already answered with an HTTP error by the handshake.
                    return;
                };
                let name = self.clean_name(name.as_deref().unwrap_or(""));
                match self.room.join(name) {
                    Ok(membership) => self.session(ws, membership).await,
                    Err(_) => {
                        // Hub limits reached: a server condition, try again later.
                        let frame = CloseFrame::new(CloseCode::TRY_AGAIN_LATER, "room full");
                        let closing = async {
                            let mut ws = ws;
                            if ws.close(Some(frame)).await.is_ok() {
                                while ws.recv().await.is_some() {}
                            }
                        };
                        let _ = tokio::time::timeout(self.config.close_timeout, closing).await;
                    }
                }
            }
        }
    }

    /// The name without control characters and surrounding space, cut to `max_name`; a guest
    /// name when nothing is left.
    fn clean_name(&self, raw: &str) -> String {
        let cleaned: String = raw
            .chars()
            .filter(|c| !c.is_control())
            .take(self.config.max_name)
            .collect::<String>()
            .trim()
            .to_string();
        if cleaned.is_empty() {
            format!("guest-{}", self.guests.fetch_add(1, Ordering::Relaxed))
        } else {
            cleaned
        }
    }

    /// Relays the member's messages to the room and the room's events to the member, until
    /// either side ends. The member leaves the room when `me` is dropped, at the end.
    async fn session(
        &self,
        ws: ws_tokio::WebSocketStream<ws_tokio::TokioIo<Rewind<TcpStream>>>,
        mut me: Membership,
    ) {
        let (mut sink, mut reader) = ws.split();
        let name = me.name().to_string();
        let kicked = me.take_kicked();
        let mut bucket = TokenBucket::new(self.config.messages_per_second, self.config.burst);
        // Why we end the session, if it is our decision: the close frame to send.
        let close = {
            let read = async {
                while let Some(item) = reader.recv().await {
                    match item {
                        Ok(Message::Text(text)) => {
                            if !bucket.take(tokio::time::Instant::now()) {
                                return Some(CloseFrame::new(
                                    CloseCode::POLICY_VIOLATION,
                                    "too many messages",
                                ));
                            }
                            let text = text.trim();
                            if !text.is_empty() {
                                self.room.publish(&Event::Message {
                                    from: name.clone(),
                                    text: text.to_string(),
                                });
                            }
                        }
                        Ok(Message::Binary(_)) => {
                            return Some(CloseFrame::new(CloseCode::UNSUPPORTED_DATA, "text only"))
                        }
                        // Pings and pongs carry nothing for the room; a close is answered by
                        // the stream, which then ends.
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                None
            };
            let write = write_loop(&mut sink, &me, kicked);
            tokio::select! {
                close = read => close,
                close = write => close,
            }
        };
        if let Some(frame) = close {
            // Our close, then the peer's reply and the end of the transport, all bounded: a
            // peer that reads nothing may not even take the close frame.
            let deadline = self.config.close_timeout;
            let closing = async {
                if sink.close(Some(frame)).await.is_ok() {
                    while reader.recv().await.is_some() {}
                }
            };
            let _ = tokio::time::timeout(deadline, closing).await;
        }
    }
}

/// Accepts browsers only from the page's own origin (RFC 6455 §10.2): another site's script
/// must not join with the user's cookies. Clients without `Origin` (not browsers) are let in.
fn same_origin(request: &http_types::Request<()>) -> Result<Accept, Reject> {
    let Some(origin) = request.headers().get("origin") else {
        return Ok(Accept::default());
    };
    let host = request.headers().get("host").map(|h| h.as_bytes());
    let origin_host = origin
        .as_bytes()
        .strip_prefix(b"http://")
        .or_else(|| origin.as_bytes().strip_prefix(b"https://"));
    if origin_host.is_some() && origin_host == host {
        Ok(Accept::default())
    } else {
        Err(Reject::new(http_types::StatusCode::FORBIDDEN).body("cross-origin request refused"))
    }
}

/// Most events written before one flush: a burst goes out in few writes.
const BATCH: usize = 64;

/// Sends the member's queued events, each as the hub's shared frame, until the room drops it
/// (returning the close frame the room chose) or the connection fails (`None`).
async fn write_loop<T: ws_driver::Transport>(
    sink: &mut ws_driver::WebSocketSink<T>,
    me: &Membership,
    kicked: Option<oneshot::Receiver<CloseFrame>>,
) -> Option<CloseFrame> {
    let pump = async {
        loop {
            let mut next = Some(me.next().await);
            let mut batch = 0;
            while let Some(item) = next.take() {
                match item {
                    Ok(message) => sink.feed_prepared(&message).await.ok()?,
                    // The hub dropped it before the room noticed: same close either way.
                    Err(frame) => return Some(frame),
                }
                batch += 1;
                if batch < BATCH {
                    next = me.try_next();
                }
            }
            sink.flush().await.ok()?;
        }
    };
    let kicked = async {
        match kicked {
            Some(kicked) => kicked.await.ok(),
            None => std::future::pending().await,
        }
    };
    // The kick goes first: a member being dropped is usually stuck writing.
    tokio::select! {
        biased;
        frame = kicked => frame,
        frame = pump => frame,
    }
}

/// Limits how fast one member may send: `burst` messages at once, refilled at `rate` a second.
struct TokenBucket {
    rate: u32,
    burst: u32,
    tokens: f64,
    last: Option<tokio::time::Instant>,
}

impl TokenBucket {
    /// A full bucket; `rate` 0 means no limit.
    fn new(rate: u32, burst: u32) -> Self {
        TokenBucket {
            rate,
            burst: burst.max(1),
            tokens: f64::from(burst.max(1)),
            last: None,
        }
    }

    /// Takes a token for one message at `now`; `false` if there is none.
    fn take(&mut self, now: tokio::time::Instant) -> bool {
        if self.rate == 0 {
            return true;
        }
        if let Some(last) = self.last {
            let refill = now.saturating_duration_since(last).as_secs_f64() * f64::from(self.rate);
            self.tokens = (self.tokens + refill).min(f64::from(self.burst));
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TokenBucket;
    use std::time::Duration;
    use tokio::time::Instant;

    #[test]
    fn token_bucket() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(2, 3);
        assert!((0..3).all(|_| bucket.take(t0)));
        assert!(!bucket.take(t0));
        // Half a second at 2 a second: one more.
        let t1 = t0 + Duration::from_millis(500);
        assert!(bucket.take(t1));
        assert!(!bucket.take(t1));
        // Refills to the burst, no further.
        let t2 = t1 + Duration::from_secs(60);
        assert!((0..3).all(|_| bucket.take(t2)));
        assert!(!bucket.take(t2));
        let mut unlimited = TokenBucket::new(0, 1);
        assert!((0..1000).all(|_| unlimited.take(t0)));
    }
}
