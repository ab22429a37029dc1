//! The connection state machine: bytes in, events and bytes out (RFC 6455 §5-§7).
//!
//! One concept a module: [`recv`] (header checks, unmasking, reassembly, UTF-8, the extension's
//! decoding), [`send`] (framing, fragmentation, prepared messages, the write buffer),
//! [`closing`] (the closing handshake as one state, and what to do with the transport) and
//! [`liveness`] (keepalive, idle and close deadlines, in one table).

mod closing;
mod liveness;
mod recv;
mod send;
mod stream_recv;
mod stream_send;

pub use liveness::{Due, Timeout};

use crate::config::Config;
use crate::error::ProtocolError;
use crate::extension::Extension;
use crate::frame::OpCode;
use crate::output::Output;
use crate::utf8::Utf8Validator;
use bytes::BytesMut;
use closing::Closing;
use liveness::Timers;
use recv::InFrame;
use stream_recv::StreamRecv;
use stream_send::StreamSend;

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
    /// [`Connection::next_step`].
    Closed,
}

/// What the caller should do with the transport now, from [`Connection::next_step`].
///
/// This is the one question a driver asks the core about its socket, after each round of the
/// [call order](Connection#call-order); deadlines are the other answer
/// ([`Connection::poll_timeout`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Next {
    /// Keep the transport open: read what arrives and feed it in, write the
    /// [`output`](Connection::output) whenever it holds bytes. Once the connection no longer
    /// wants data ([`Connection::wants_read`]) what is read is dropped: a client that finished
    /// the closing handshake reads on until the server closes TCP (RFC 6455 §7.1.1).
    ReadWrite,
    /// The connection is over: write and flush the output, shut down the write side (TCP FIN,
    /// TLS `close_notify`), then, when `drain` is set, read and drop what the peer still sends
    /// until its end of file (for a short while: the caller bounds it). The peer did not
    /// close the handshake, so its data may still be on the way, and closing a socket with
    /// unread data resets the connection, which can discard our last frames. Then close.
    ShutdownWrite {
        /// Read and drop the peer's bytes until its end of file before closing.
        drain: bool,
    },
    /// Close the transport now: write what it takes at once and wait for nothing, since a
    /// deadline ran out and the peer is gone or not reading ([`Connection::timed_out`]).
    Close,
}

/// A sans-IO WebSocket connection, after the opening handshake.
///
/// Feed it the bytes read from the transport ([`read_buffer`](Self::read_buffer) or
/// [`receive`](Self::receive)), pull [`Event`](crate::Event)s with [`next_event`](Self::next_event), queue
/// messages with [`send`](Self::send), and write out what [`output`](Self::output) holds. It owns
/// no socket and reads no clock, so every async runtime (and every test) drives it the same way.
///
/// # Call order
///
/// A driver repeats, in this order:
///
/// 1. **Bytes in**: append what the transport read to [`read_buffer`](Self::read_buffer) (or
///    pass it to [`receive`](Self::receive)); at end of file call
///    [`receive_eof`](Self::receive_eof).
/// 2. **Events out**: call [`next_event`](Self::next_event) until it returns `Ok(None)`. It
///    may queue replies (pong, close echo, the close of a failed connection).
/// 3. **Bytes out**: write [`output`](Self::output) (or
///    [`output_io_slices`](Self::output_io_slices)) and report progress with
///    [`advance_output`](Self::advance_output). Messages queued with [`send`](Self::send) at
///    any time land here too.
/// 4. **Deadlines**: when the transport has nothing more to read (or will not take more
///    output), pass the time to [`handle_timeout`](Self::handle_timeout); if it returns
///    anything but [`Due::Nothing`] go round again, else arm a timer for
///    [`poll_timeout`](Self::poll_timeout).
/// 5. **Next**: [`next_step`](Self::next_step) says what to do with the transport: keep
///    reading and writing, shut down the write side, or close it now.
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
    /// A fragmented message is being sent through `send_frame` or streamed.
    sending_fragments: bool,
    /// Streamed reception (see `stream_recv.rs`).
    stream: StreamRecv,
    /// The message being streamed out (see `stream_send.rs`).
    stream_out: Option<StreamSend>,
    /// Where the closing handshake stands.
    closing: Closing,
    /// The transport reached end of file: the input ended.
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
            stream: StreamRecv::default(),
            stream_out: None,
            closing: Closing::Open,
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
mod call_order_tests;

#[cfg(test)]
mod closing_tests;

#[cfg(test)]
mod extension_tests;

#[cfg(test)]
mod prepared_tests;

#[cfg(test)]
mod timer_tests;

#[cfg(test)]
mod stream_tests;
