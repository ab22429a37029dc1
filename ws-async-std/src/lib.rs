//! WebSocket (RFC 6455) for the async-std runtime.
//!
//! [`connect`] opens `ws://` and `wss://` connections (rustls, web PKI roots by default);
//! [`accept`] runs the server handshake on any byte stream, including a TLS one. Both give a
//! WebSocket stream: a `futures::Stream` of received [`Message`]s and a `futures::Sink` of
//! messages to send, with `send`, `recv`, `close` and `split`. The protocol lives in
//! [`ws_proto`] and [`ws_handshake`], the async driving logic in `ws-async`, shared by every
//! runtime adapter: this crate only names async-std's socket and I/O types.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

ws_async::adapter_api! {
    runtime: "async-std",
    io: FuturesIo,
    read: futures_io::AsyncRead,
    write: futures_io::AsyncWrite,
    tcp: async_std::net::TcpStream,
    transport: FuturesClientTransport,
    connect: connect_futures_io,
}
