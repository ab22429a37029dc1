//! The echo servers under test, each on its own runtime with the same number of worker threads.
//!
//! Every server echoes text and binary messages the way that library's README (or the example
//! it points to) shows: ours receive one message and send it (`examples::echo`, the README's
//! loop), fastwebsockets reads a frame and writes it, tokio-tungstenite `forward`s its stream
//! into its sink. One more row runs ours on tokio with the batched pattern ([`echo_batched`]).
//!
//! Ours set `TCP_NODELAY`, as our examples do; the peers leave Nagle's algorithm on, as their
//! READMEs do (neither sets `TCP_NODELAY`), so the kernel may coalesce their small writes.

use crate::wire;
use bytes::{Buf, BytesMut};
use futures::{FutureExt, StreamExt};
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use ws_driver::{Transport, WebSocketStream};

/// An echo server implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// Ours, on tokio.
    WsTokio,
    /// Ours, on tokio, echoing with [`echo_batched`] (feed what is ready, then one flush).
    WsTokioBatched,
    /// Ours, on async-std.
    WsAsyncStd,
    /// Ours, on smol.
    WsSmol,
    /// tokio-tungstenite.
    Tungstenite,
    /// fastwebsockets (on tokio).
    FastWebSockets,
    /// A minimal hand-written echo server, the fixed peer of the client benchmarks.
    Raw,
}

impl ServerKind {
    /// The servers compared end to end, ours first.
    pub const ECHO: [ServerKind; 6] = [
        ServerKind::WsTokio,
        ServerKind::WsTokioBatched,
        ServerKind::WsAsyncStd,
        ServerKind::WsSmol,
        ServerKind::Tungstenite,
        ServerKind::FastWebSockets,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::WsTokio => "ws-tokio",
            ServerKind::WsTokioBatched => "ws-tokio-batched",
            ServerKind::WsAsyncStd => "ws-async-std",
            ServerKind::WsSmol => "ws-smol",
            ServerKind::Tungstenite => "tokio-tungstenite",
            ServerKind::FastWebSockets => "fastwebsockets",
            ServerKind::Raw => "raw",
        }
    }

    /// The name used in tables.
    pub fn label(self) -> &'static str {
        match self {
            ServerKind::WsTokioBatched => "ws-tokio (feed+flush)",
            other => other.name(),
        }
    }

    /// Parses [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<ServerKind> {
        [ServerKind::Raw]
            .into_iter()
            .chain(ServerKind::ECHO)
            .find(|k| k.name() == name)
    }

    /// Whether this is one of ours.
    pub fn is_ours(self) -> bool {
        matches!(
            self,
            ServerKind::WsTokio
                | ServerKind::WsTokioBatched
                | ServerKind::WsAsyncStd
                | ServerKind::WsSmol
        )
    }
}

/// Serves echo on `listener` until the process ends, with `threads` worker threads.
///
/// async-std sizes its global executor from `ASYNC_STD_THREAD_COUNT`, which the parent sets
/// when it starts this process.
pub fn serve(kind: ServerKind, listener: std::net::TcpListener, threads: usize) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    match kind {
        ServerKind::WsTokio => tokio_runtime(threads)?.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            loop {
                let (tcp, _) = listener.accept().await?;
                tcp.set_nodelay(true)?;
                tokio::spawn(async move {
                    if let Ok(ws) = ws_tokio::accept(tcp).await {
                        examples::echo(ws).await;
                    }
                });
            }
        }),
        ServerKind::WsTokioBatched => tokio_runtime(threads)?.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            loop {
                let (tcp, _) = listener.accept().await?;
                tcp.set_nodelay(true)?;
                tokio::spawn(async move {
                    if let Ok(ws) = ws_tokio::accept(tcp).await {
                        echo_batched(ws).await;
                    }
                });
            }
        }),
        ServerKind::WsAsyncStd => async_std::task::block_on(async {
            let listener = async_std::net::TcpListener::from(listener);
            loop {
                let (tcp, _) = listener.accept().await?;
                tcp.set_nodelay(true)?;
                async_std::task::spawn(async move {
                    if let Ok(ws) = ws_async_std::accept(tcp).await {
                        examples::echo(ws).await;
                    }
                });
            }
        }),
        ServerKind::WsSmol => {
            let ex = std::sync::Arc::new(smol::Executor::new());
            for _ in 1..threads {
                let ex = ex.clone();
                std::thread::spawn(move || {
                    smol::block_on(ex.run(futures::future::pending::<()>()))
                });
            }
            smol::block_on(ex.run(async {
                let listener = smol::net::TcpListener::try_from(listener)?;
                loop {
                    let (tcp, _) = listener.accept().await?;
                    tcp.set_nodelay(true)?;
                    ex.spawn(async move {
                        if let Ok(ws) = ws_smol::accept(tcp).await {
                            examples::echo(ws).await;
                        }
                    })
                    .detach();
                }
            }))
        }
        ServerKind::Tungstenite => tokio_runtime(threads)?.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            loop {
                let (tcp, _) = listener.accept().await?;
                tokio::spawn(tungstenite_echo(tcp));
            }
        }),
        ServerKind::FastWebSockets => tokio_runtime(threads)?.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            loop {
                let (tcp, _) = listener.accept().await?;
                tokio::spawn(fastwebsockets_echo(tcp));
            }
        }),
        ServerKind::Raw => tokio_runtime(threads)?.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            loop {
                let (tcp, _) = listener.accept().await?;
                tcp.set_nodelay(true)?;
                tokio::spawn(raw_echo(tcp));
            }
        }),
    }
}

/// A multi-threaded tokio runtime with `threads` workers (the shape `#[tokio::main]` gives).
pub fn tokio_runtime(threads: usize) -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
}

/// The batched echo loop: wait for one message, then `feed` it and every further message that
/// is already there (`recv().now_or_never()`), then `flush` once. Each message is queued as it
/// arrives and nothing waits for a message that has not arrived yet.
pub async fn echo_batched<T: Transport>(mut ws: WebSocketStream<T>) {
    while let Some(first) = ws.recv().await {
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Ok(message) if message.is_data() => {
                    // Fails only once the connection is closing; keep reading to finish it.
                    let _ = ws.feed(message).await;
                }
                Ok(_) => {}
                Err(e) => eprintln!("connection error: {e}"),
            }
            // `None`: nothing ready now; `Some(None)`: the stream ended (the outer loop sees
            // that too). `recv` is cancel-safe, so dropping the pending call loses nothing.
            next = ws.recv().now_or_never().flatten();
        }
        let _ = ws.flush().await;
    }
}

/// tokio-tungstenite's own echo server (`examples/echo-server.rs`, where its README points):
/// split, keep text and binary messages, `forward` them to the sink. `forward` feeds each
/// message and flushes when the stream has nothing ready, so ready echoes leave together.
async fn tungstenite_echo(tcp: tokio::net::TcpStream) {
    use futures::TryStreamExt;
    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let (write, read) = ws.split();
    let _ = read
        .try_filter(|m| futures::future::ready(m.is_text() || m.is_binary()))
        .forward(write)
        .await;
}

/// fastwebsockets' README server: `WebSocket::after_handshake` with vectored writes, automatic
/// close and pong, `read_frame` then `write_frame`; wrapped in its `FragmentCollector` (the
/// README's way to get whole messages), as every other server here echoes messages.
async fn fastwebsockets_echo(mut tcp: tokio::net::TcpStream) {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    if wire::server_handshake(&mut tcp).await.is_err() {
        return;
    }
    let mut ws = WebSocket::after_handshake(tcp, Role::Server);
    ws.set_writev(true);
    ws.set_auto_close(true);
    ws.set_auto_pong(true);
    let mut ws = FragmentCollector::new(ws);
    while let Ok(frame) = ws.read_frame().await {
        let echoed = match frame.opcode {
            OpCode::Close => break,
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await,
            _ => Ok(()),
        };
        if echoed.is_err() {
            break;
        }
    }
}

/// Echoes unfragmented frames back unmasked; answers a close and ends. No validation beyond
/// what framing needs: it is the fixed, cheap peer of the client benchmarks.
async fn raw_echo(mut tcp: tokio::net::TcpStream) {
    if wire::server_handshake(&mut tcp).await.is_err() {
        return;
    }
    let mut input = BytesMut::with_capacity(64 * 1024);
    let mut output = Vec::with_capacity(64 * 1024);
    loop {
        match tcp.read_buf(&mut input).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut closing = false;
        while let Some(h) = wire::parse_header(&input) {
            if input.len() < h.header_len + h.len {
                input.reserve(h.header_len + h.len - input.len());
                break;
            }
            input.advance(h.header_len);
            let body = &mut input[..h.len];
            if let Some(key) = h.mask {
                wire::xor_mask(body, key);
            }
            match h.opcode {
                wire::OP_TEXT | wire::OP_BINARY => {
                    wire::put_header(&mut output, h.opcode, h.len, None);
                    output.extend_from_slice(body);
                }
                wire::OP_CLOSE => {
                    wire::put_header(&mut output, wire::OP_CLOSE, 2, None);
                    output.extend_from_slice(&1000u16.to_be_bytes());
                    closing = true;
                }
                wire::OP_PING => {
                    wire::put_header(&mut output, wire::OP_PONG, h.len, None);
                    output.extend_from_slice(body);
                }
                _ => {}
            }
            input.advance(h.len);
            if closing {
                break;
            }
        }
        if tcp.write_all(&output).await.is_err() {
            return;
        }
        output.clear();
        if closing {
            let _ = tcp.shutdown().await;
            return;
        }
    }
}
