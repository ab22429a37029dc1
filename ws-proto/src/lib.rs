//! The sans-IO core of an RFC 6455 WebSocket implementation.
//!
//! `ws-proto` turns received bytes into [`Event`]s and queued [`Message`]s into bytes to write.
//! It owns no socket, spawns nothing and reads no clock, so one core serves every async runtime
//! (see the `ws-tokio`, `ws-async-std` and `ws-smol` crates) and is tested without one.
//!
//! It covers framing (§5.2), masking (§5.3), fragmentation (§5.4), control frames (§5.5),
//! streaming UTF-8 validation of text (§8.1), the closing handshake (§7) and size limits
//! ([`Config`]), keepalive, idle and closing-handshake deadlines (time enters as an argument,
//! see [`Connection::handle_timeout`]). Protocol violations fail the connection with the right close code
//! ([`ProtocolError::close_code`]).
//!
//! ```
//! use ws_proto::{Config, Connection, Event, Message, Role};
//!
//! let mut server = Connection::new(Role::Server, Config::default());
//! let mut client = Connection::new(Role::Client, Config::default());
//!
//! client.send(Message::text("hello")).unwrap();
//! server.receive(&client.take_output());
//! assert_eq!(server.next_event().unwrap(), Some(Event::Message(Message::text("hello"))));
//!
//! server.send(Message::text("hi")).unwrap();
//! client.receive(&server.take_output());
//! assert_eq!(client.next_event().unwrap(), Some(Event::Message(Message::text("hi"))));
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod close;
mod config;
mod connection;
mod deflate;
mod error;
mod extension;
mod frame;
mod mask;
mod message;
mod output;
mod prepared;
mod utf8;

pub use bytes::{Bytes, BytesMut};
pub use close::{CloseCode, CloseFrame, MAX_CLOSE_REASON};
pub use config::Config;
pub use connection::{Connection, Due, Next, Role, State, Timeout};
pub use deflate::{DeflateConfig, PerMessageDeflate};
pub use error::{ProtocolError, SendError};
pub use extension::{Decoded, EncodingKey, Extension, Rsv};
pub use frame::{Frame, FrameHeader, OpCode, MAX_HEADER_LEN};
pub use mask::{apply_mask, MaskingKey};
pub use message::{Event, Message};
pub use prepared::{NotDataMessage, PreparedMessage};
pub use utf8::{InvalidUtf8, Utf8Bytes, Utf8Validator};
