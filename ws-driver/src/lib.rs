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
mod handshake;
pub mod reconnect;
mod stream;
mod transport;

pub use accept::{accept_request, Accepted};
pub use connect::{connect_addr, connect_route};
#[cfg(feature = "futures-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures-io")))]
pub use connect::{connect_futures_io, FuturesClientTransport};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use connect::{connect_tokio, TokioClientTransport};
pub use driver::StreamConfig;
pub use either::MaybeTls;
pub use error::Error;
pub use handshake::{
    client_handshake, default_tls_config, server_handshake, tls_server_name, ClientConfig,
    ServerConfig,
};
pub use stream::{WebSocketReader, WebSocketSink, WebSocketStream};
#[cfg(feature = "futures-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures-io")))]
pub use transport::FuturesIo;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use transport::TokioIo;
pub use transport::{Sleep, Transport};

pub use http;
pub use ws_handshake;
pub use ws_handshake::{Proxy, ProxyError};
pub use ws_proto;
pub use ws_proto::{
    CloseCode, CloseFrame, Frame, Message, OpCode, PreparedMessage, ProtocolError, Role, State,
    Timeout, Utf8Bytes,
};
