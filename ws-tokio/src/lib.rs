//! WebSocket (RFC 6455) for the tokio runtime.
//!
//! [`connect`] opens `ws://` and `wss://` connections (rustls, web PKI roots by default);
//! [`accept`] runs the server handshake on any byte stream, including a TLS one. Both give a
//! WebSocket stream: a `futures::Stream` of received [`Message`]s and a `futures::Sink` of
//! messages to send, with `send`, `recv`, `close` and `split`. The protocol lives in
//! [`ws_proto`] and [`ws_handshake`], the async driving logic in `ws-async`, shared by every
//! runtime adapter: this crate only names tokio's socket and I/O types.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

ws_async::adapter_api! {
    runtime: "tokio",
    io: TokioIo,
    read: tokio::io::AsyncRead,
    write: tokio::io::AsyncWrite,
    tcp: tokio::net::TcpStream,
    transport: TokioClientTransport,
    connect: connect_tokio,
}
