//! Client throughput: each client library keeps a window of binary messages in flight to the
//! fixed raw echo server, on a single-threaded runtime, and checks every echo.

use crate::loadgen::LoadResult;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use ws_driver::{ClientConfig, Message, Transport, WebSocketStream};

/// A client implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// Ours, on tokio.
    WsTokio,
    /// Ours, on async-std.
    WsAsyncStd,
    /// Ours, on smol.
    WsSmol,
    /// tokio-tungstenite.
    Tungstenite,
}

impl ClientKind {
    /// Every client compared, ours first.
    pub const ALL: [ClientKind; 4] = [
        ClientKind::WsTokio,
        ClientKind::WsAsyncStd,
        ClientKind::WsSmol,
        ClientKind::Tungstenite,
    ];

    /// The name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::WsTokio => "ws-tokio",
            ClientKind::WsAsyncStd => "ws-async-std",
            ClientKind::WsSmol => "ws-smol",
            ClientKind::Tungstenite => "tokio-tungstenite",
        }
    }
}

/// One client run.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    /// The raw echo server.
    pub addr: SocketAddr,
    /// Payload size.
    pub size: usize,
    /// Messages in flight.
    pub in_flight: usize,
    /// Traffic before measuring.
    pub warmup: Duration,
    /// Measured traffic.
    pub duration: Duration,
}

/// Runs one client against the server.
pub fn run(kind: ClientKind, spec: &ClientSpec) -> Result<LoadResult, String> {
    let url = format!("ws://{}/", spec.addr);
    // Same settings as the peer: no compression offered.
    let config = ClientConfig::default().deflate(None);
    let err = |e: ws_driver::Error| e.to_string();
    match kind {
        ClientKind::WsTokio => current_thread_tokio()?.block_on(async {
            let (ws, _) = ws_tokio::connect_with(url.as_str(), config)
                .await
                .map_err(err)?;
            drive_ours(ws, spec).await
        }),
        ClientKind::WsAsyncStd => async_std::task::block_on(async {
            let (ws, _) = ws_async_std::connect_with(url.as_str(), config)
                .await
                .map_err(err)?;
            drive_ours(ws, spec).await
        }),
        ClientKind::WsSmol => smol::block_on(async {
            let (ws, _) = ws_smol::connect_with(url.as_str(), config)
                .await
                .map_err(err)?;
            drive_ours(ws, spec).await
        }),
        ClientKind::Tungstenite => current_thread_tokio()?.block_on(async {
            let tcp = tokio::net::TcpStream::connect(spec.addr)
                .await
                .map_err(|e| e.to_string())?;
            tcp.set_nodelay(true).map_err(|e| e.to_string())?;
            let (ws, _) = tokio_tungstenite::client_async(url.as_str(), tcp)
                .await
                .map_err(|e| e.to_string())?;
            drive_tungstenite(ws, spec).await
        }),
    }
}

fn current_thread_tokio() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// Counts echoes after the warm-up, for the measured window.
struct Window {
    started: Instant,
    measuring: Option<(Instant, u64)>,
    received: u64,
    warmup: Duration,
    duration: Duration,
    size: usize,
}

impl Window {
    fn new(spec: &ClientSpec) -> Self {
        Window {
            started: Instant::now(),
            measuring: None,
            received: 0,
            warmup: spec.warmup,
            duration: spec.duration,
            size: spec.size,
        }
    }

    /// Records an echo; `Some` with the result once the window is over.
    fn record(&mut self) -> Option<LoadResult> {
        self.received += 1;
        match self.measuring {
            None if self.started.elapsed() >= self.warmup => {
                self.measuring = Some((Instant::now(), self.received));
                None
            }
            Some((start, before)) if start.elapsed() >= self.duration => Some(LoadResult {
                messages: self.received - before,
                elapsed: start.elapsed(),
                size: self.size,
            }),
            _ => None,
        }
    }
}

async fn drive_ours<T: Transport>(
    mut ws: WebSocketStream<T>,
    spec: &ClientSpec,
) -> Result<LoadResult, String> {
    let payload = Bytes::from(crate::wire::payload(spec.size));
    let err = |e: ws_driver::Error| e.to_string();
    for _ in 0..spec.in_flight {
        ws.send(Message::Binary(payload.clone()))
            .await
            .map_err(err)?;
    }
    let mut window = Window::new(spec);
    loop {
        match ws.recv().await {
            Some(Ok(Message::Binary(b))) if b == payload => {}
            other => return Err(format!("bad echo: {:?}", other.map(|r| r.map(|m| m.len())))),
        }
        if let Some(result) = window.record() {
            // The echoes still in flight are dropped with the connection.
            let _ = ws.close(None).await;
            return Ok(result);
        }
        ws.send(Message::Binary(payload.clone()))
            .await
            .map_err(err)?;
    }
}

async fn drive_tungstenite<S>(
    mut ws: tokio_tungstenite::WebSocketStream<S>,
    spec: &ClientSpec,
) -> Result<LoadResult, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio_tungstenite::tungstenite::Message;
    let payload = Bytes::from(crate::wire::payload(spec.size));
    let err = |e: tokio_tungstenite::tungstenite::Error| e.to_string();
    for _ in 0..spec.in_flight {
        ws.send(Message::Binary(payload.clone()))
            .await
            .map_err(err)?;
    }
    let mut window = Window::new(spec);
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(b))) if b == payload => {}
            other => return Err(format!("bad echo: {:?}", other.map(|r| r.map(|m| m.len())))),
        }
        if let Some(result) = window.record() {
            let _ = ws.close(None).await;
            return Ok(result);
        }
        ws.send(Message::Binary(payload.clone()))
            .await
            .map_err(err)?;
    }
}
