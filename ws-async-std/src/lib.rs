//! WebSocket (RFC 6455) for the async-std runtime.
//!
//! [`connect`] opens `ws://` and `wss://` connections (rustls, web PKI roots by default);
//! [`accept`] runs the server handshake on any byte stream, including a TLS one. Both give a
//! WebSocket stream: a `futures::Stream` of received [`Message`]s and a `futures::Sink` of
//! messages to send, with `send`, `recv`, `close` and `split`. The protocol lives in
//! [`ws_proto`] and [`ws_handshake`](mod@ws_handshake), the async driving logic in `ws-driver`,
//! shared by every runtime adapter: this crate only binds it to async-std's timer, sockets and
//! I/O types ([`AsyncStd`], [`AsyncStdIo`]).
//!
//! A server and a client on loopback, echoing one message:
//!
//! ```
//! use ws_async_std::Message;
//!
//! # async_std::task::block_on(async {
//! let listener = async_std::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! async_std::task::spawn(async move {
//!     let (tcp, _) = listener.accept().await.expect("accept");
//!     let mut ws = ws_async_std::accept(tcp).await.expect("handshake");
//!     while let Some(Ok(message)) = ws.recv().await {
//!         if message.is_data() && ws.send(message).await.is_err() {
//!             break;
//!         }
//!     }
//! });
//!
//! let (mut ws, _response) = ws_async_std::connect(format!("ws://{addr}/")).await?;
//! ws.send(Message::text("hello")).await?;
//! assert_eq!(ws.recv().await.expect("a reply")?, Message::text("hello"));
//! ws.close(None).await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod runtime;

pub use ws_driver::{http, ws_handshake, ws_proto};

pub use runtime::{AsyncStd, AsyncStdIo, ProxyStream};

ws_driver::adapter_api! {
    runtime: "async-std",
    rt: AsyncStd,
    io: AsyncStdIo,
    read: futures_io::AsyncRead,
    write: futures_io::AsyncWrite,
    tcp: async_std::net::TcpStream,
}
