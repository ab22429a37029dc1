//! The connection state machine: bytes in, events and bytes out (RFC 6455 §5-§7).

mod closing;
mod liveness;
mod recv;
mod send;

pub use liveness::Timeout;

use crate::config::Config;
use crate::error::ProtocolError;
use crate::extension::Extension;
use crate::frame::OpCode;
use crate::output::Output;
use crate::utf8::Utf8Validator;
use bytes::BytesMut;
use liveness::Timers;
use recv::InFrame;

/// Which end of the connection this is (RFC 6455 §5.1: clients mask, servers do not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection; masks every frame it sends.
    Client,
    /// The end that accepted the connection; never masks.
    Server,
}

/// Where the closing handshake stands (RFC 6455 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We queued a close frame (or failed the connection) and wait for the peer's close; no
    /// more data may be sent, data from the peer is still delivered.
    CloseSent,
    /// The peer's close arrived and our reply is queued but not yet written out.
    CloseReceived,
    /// The closing handshake is over (or the connection failed) and all output was written: see
    /// [`Connection::should_close_transport`].
    Closed,
}
/// A sans-IO WebSocket connection, after the opening handshake.
///
/// Feed it the bytes read from the transport ([`read_buffer`](Self::read_buffer) or
/// [`receive`](Self::receive)), pull [`Event`]s with [`next_event`](Self::next_event), queue
/// messages with [`send`](Self::send), and write out what [`output`](Self::output) holds. It owns
/// no socket and reads no clock, so every async runtime (and every test) drives it the same way.
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    read: BytesMut,
    frame: Option<InFrame>,
    /// Opcode of the data message in progress (its first frame's), if any.
    msg: Option<OpCode>,
    msg_size: u64,
    /// The message in progress carries an extension's RSV bits: its payload is decoded by it.
    msg_transformed: bool,
    msg_buf: BytesMut,
    extension: Option<Box<dyn Extension>>,
    utf8: Utf8Validator,
    out: Output,
    /// A fragmented message is being sent through `send_frame`.
    sending_fragments: bool,
    close_sent: bool,
    close_received: bool,
    failed: bool,
    eof: bool,
    timers: Timers,
    /// The deadline that ended the connection, if one did.
    timed_out: Option<Timeout>,
    /// A timeout failure not yet returned by `next_event`.
    pending_error: Option<ProtocolError>,
    /// Length of the read buffer when `next_event` last returned: more means bytes arrived.
    read_seen: usize,
    /// Output bytes up to and including an unanswered keepalive ping not yet written.
    ping_unwritten: usize,
}

impl Connection {
    /// A connection in the open state.
    pub fn new(role: Role, config: Config) -> Self {
        Connection {
            role,
            config,
            read: BytesMut::new(),
            frame: None,
            msg: None,
            msg_size: 0,
            msg_transformed: false,
            msg_buf: BytesMut::new(),
            extension: None,
            utf8: Utf8Validator::new(),
            out: Output::default(),
            sending_fragments: false,
            close_sent: false,
            close_received: false,
            failed: false,
            eof: false,
            timers: Timers::default(),
            timed_out: None,
            pending_error: None,
            read_seen: 0,
            ping_unwritten: 0,
        }
    }

    /// Installs the extension negotiated in the opening handshake (for example
    /// [`PerMessageDeflate`](crate::PerMessageDeflate)): its RSV bits become valid on the first
    /// frame of data messages, and it encodes and decodes their payloads.
    pub fn set_extension(&mut self, extension: Box<dyn Extension>) {
        self.extension = Some(extension);
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod extension_tests;

#[cfg(test)]
mod prepared_tests;

#[cfg(test)]
mod timer_tests;
