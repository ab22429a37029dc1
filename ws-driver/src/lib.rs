//! The runtime-agnostic async layer shared by `ws-tokio`, `ws-async-std` and `ws-smol`.
//!
//! It drives the sans-IO cores ([`ws_proto`] and [`ws_handshake`]) over any byte
//! [`Transport`]: the adapters only implement that trait for their runtime's I/O types (see
//! `TokioIo` and `FuturesIo`, behind the `tokio` and `futures-io` features) and open
//! sockets. [`WebSocketStream`], its split halves, the handshake drivers and the error type
//! live here, once.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod accept;
mod adapter;
mod connect;
mod driver;
mod either;
mod error;
mod extended_connect;
mod handshake;
mod limits;
pub mod reconnect;
mod sending;
mod split;
mod stream;
mod tls;
mod transport;

pub use accept::{accept_request, Accepted};
pub use connect::{connect_addr, connect_route, host_port};
#[cfg(feature = "futures-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures-io")))]
pub use connect::{connect_futures_io, FuturesClientTransport, FuturesProxyStream};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use connect::{connect_tokio, TokioClientTransport, TokioProxyStream};
pub use driver::StreamConfig;
pub use either::MaybeTls;
pub use error::Error;
pub use extended_connect::{accept_extended_connect, ExtendedConnect};
pub use handshake::{
    client_handshake, server_handshake, tls_server_name, ClientConfig, ServerConfig,
};
pub use split::{WebSocketReader, WebSocketSink};
pub use stream::WebSocketStream;
pub use tls::{crypto_provider, default_tls_config, TlsFailure};
#[cfg(feature = "futures-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures-io")))]
pub use transport::FuturesIo;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use transport::TokioIo;
pub use transport::{Sleep, Transport};

pub use http;
pub use rustls;
pub use ws_handshake;
pub use ws_handshake::{Proxy, ProxyError};
pub use ws_proto;
/// The protocol core's settings (limits, deadlines), as
/// [`StreamConfig::protocol`](StreamConfig::protocol) takes them.
pub use ws_proto::Config as ProtocolConfig;
pub use ws_proto::{
    CloseCode, CloseFrame, Frame, Message, OpCode, PreparedMessage, ProtocolError, Role, State,
    Timeout, Utf8Bytes,
};
