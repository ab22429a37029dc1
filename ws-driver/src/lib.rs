//! The runtime-agnostic async layer shared by `ws-tokio`, `ws-async-std` and `ws-smol`.
//!
//! It drives the sans-IO cores ([`ws_proto`] and [`ws_handshake`]) over any byte
//! [`Transport`], and depends on no async runtime: each adapter crate implements [`Runtime`]
//! (a timer, TCP connections, TLS over them) for its runtime, in its own crate, and its byte
//! streams as a [`Transport`] (half-closing with FIN): tokio's its own, async-std's and smol's
//! through the futures-io [`FuturesIo`] here, with their [`FuturesIoRuntime`] part.
//! [`WebSocketStream`], its split halves, the handshake drivers, connecting (proxies included)
//! and the error type live here, once.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod accept;
mod adapter;
mod config;
mod connect;
mod deflate;
mod driver;
mod either;
mod error;
mod extended_connect;
mod futures_io;
mod handshake;
mod limits;
pub mod reconnect;
mod runtime;
mod sending;
mod split;
mod stream;
mod streaming;
mod tls;
mod transport;

pub use accept::{accept_request, Accepted};
pub use config::{tls_server_name, ClientConfig, ServerConfig, StreamConfig};
#[doc(hidden)]
pub use connect::{connect_addr, host_port};
pub use either::MaybeTls;
pub use error::Error;
pub use extended_connect::{accept_extended_connect, ExtendedConnect};
pub use futures_io::{FuturesIo, FuturesIoRuntime};
pub use handshake::{client_handshake, server_handshake, server_handshake_owned};
pub use runtime::{connect_with, ClientTransport, Runtime, RuntimeFuture};
pub use split::{WebSocketReader, WebSocketSink};
pub use stream::WebSocketStream;
pub use streaming::{ByteStream, MessageKind, MessageReader, MessageWriter};
pub use tls::{crypto_provider, default_tls_config, TlsFailure};
#[doc(hidden)]
pub use transport::{poll_read_scratch, read_reserve, read_via_scratch};
pub use transport::{Sleep, Transport};

pub use http;
pub use rustls;
pub use ws_handshake;
pub use ws_handshake::{Proxy, ProxyError};
pub use ws_proto;
/// The protocol core's settings (limits, deadlines): where the values that the setters of
/// [`StreamConfig`], [`ClientConfig`] and [`ServerConfig`] set live.
pub use ws_proto::Config as ProtocolConfig;
pub use ws_proto::{
    CloseCode, CloseFrame, Frame, Message, OpCode, PreparedMessage, ProtocolError, Role, State,
    Timeout, Utf8Bytes,
};
