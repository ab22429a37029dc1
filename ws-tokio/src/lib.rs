//! WebSocket (RFC 6455) for the tokio runtime.
//!
//! [`connect`] opens `ws://` and `wss://` connections (rustls, web PKI roots by default);
//! [`accept`] runs the server handshake on any byte stream, including a TLS one. Both give a
//! WebSocket stream: a `futures::Stream` of received [`Message`]s and a `futures::Sink` of
//! messages to send, with `send`, `recv`, `close` and `split`. The protocol lives in
//! [`ws_proto`] and [`ws_handshake`](mod@ws_handshake), the async driving logic in `ws-driver`,
//! shared by every runtime adapter: this crate only binds it to tokio's timer, sockets and
//! I/O types ([`Tokio`], [`TokioIo`]).
//!
//! An echo server that only accepts browsers from one origin (RFC 6455 §10.2):
//!
//! ```no_run
//! use ws_tokio::{http, Accept, Reject, ServerConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let check_origin = |request: &http::Request<()>| match request.headers().get("origin") {
//!             Some(origin) if origin == "https://app.example.com" => Ok(Accept::default()),
//!             _ => Err(Reject::new(http::StatusCode::FORBIDDEN).body("origin not allowed")),
//!         };
//!         let Ok(mut ws) = ws_tokio::accept_with(tcp, check_origin, ServerConfig::default()).await
//!         else {
//!             return;
//!         };
//!         while let Some(Ok(message)) = ws.recv().await {
//!             if message.is_data() && ws.send(message).await.is_err() {
//!                 break;
//!             }
//!         }
//!     });
//! }
//! # }
//! ```
//!
//! The halves of [`split`](WebSocketStream::split) have names in this crate, so they can be
//! passed to functions and stored:
//!
//! ```no_run
//! use tokio::net::TcpStream;
//! use ws_tokio::{Message, WebSocketReader, WebSocketSink};
//!
//! async fn forward(mut sink: WebSocketSink<TcpStream>, mut reader: WebSocketReader<TcpStream>) {
//!     while let Some(Ok(message)) = reader.recv().await {
//!         if message.is_data() && sink.send(message).await.is_err() {
//!             break;
//!         }
//!     }
//! }
//!
//! # async fn run(tcp: TcpStream) -> Result<(), ws_tokio::Error> {
//! let (sink, reader) = ws_tokio::accept(tcp).await?.split();
//! forward(sink, reader).await;
//! # Ok(())
//! # }
//! ```
//!
//! With the `hyper` feature, [`upgrade`] turns a request received by a hyper 1.x service (or an
//! axum 0.8 handler) into a WebSocket stream.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "hyper")]
pub mod upgrade;

mod runtime;

pub use ws_driver::{http, ws_handshake, ws_proto};

pub use runtime::{ProxyStream, Tokio, TokioIo};

ws_driver::adapter_api! {
    runtime: "tokio",
    rt: Tokio,
    io: TokioIo,
    read: tokio::io::AsyncRead,
    write: tokio::io::AsyncWrite,
    tcp: tokio::net::TcpStream,
}
