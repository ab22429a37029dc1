//! The connection state machine: bytes in, events and bytes out (RFC 6455 §5-§7).

use crate::close::{CloseCode, CloseFrame, MAX_CLOSE_REASON};
use crate::config::Config;
use crate::error::{ProtocolError, SendError};
use crate::extension::{Extension, Rsv};
use crate::frame::{Frame, FrameHeader, OpCode};
use crate::mask::{apply_mask, MaskingKey};
use crate::message::{Event, Message};
use crate::output::Output;
use crate::prepared::PreparedMessage;
use crate::timers::{Due, Limits, Timeout, Timers};
use crate::utf8::{Utf8Bytes, Utf8Validator};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::io::IoSlice;
use std::time::Instant;

/// Most bytes reserved for a frame's payload before it arrives.
const UPFRONT_RESERVE: usize = 1 << 20;

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

/// The frame whose payload is arriving.
#[derive(Debug)]
struct InFrame {
    header: FrameHeader,
    len: usize,
    /// Bytes at the front of the read buffer already unmasked and validated.
    processed: usize,
    /// Whether the payload belongs to a text message (checked as UTF-8 as it arrives).
    text: bool,
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

    /// The read buffer: append bytes read from the transport to it (reading straight into its
    /// spare capacity avoids a copy), then call [`next_event`](Self::next_event).
    pub fn read_buffer(&mut self) -> &mut BytesMut {
        &mut self.read
    }

    /// Appends bytes read from the transport.
    pub fn receive(&mut self, data: &[u8]) {
        if self.wants_read() {
            self.read.extend_from_slice(data);
        }
    }

    /// Records that the transport reached end of file.
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    /// Whether received bytes are still of use: false once the peer's close arrived, the
    /// connection failed, or the transport ended. Later bytes are discarded.
    pub fn wants_read(&self) -> bool {
        !(self.close_received || self.failed || self.eof)
    }

    /// The next event decoded from the received bytes, `Ok(None)` when more bytes are needed.
    ///
    /// On a protocol violation the connection is failed (RFC 6455 §7.1.7): a close frame with
    /// the error's [close code](ProtocolError::close_code) is queued, the error is returned once,
    /// and later calls return `Ok(None)`. End of file before the closing handshake gives
    /// [`ProtocolError::AbnormalClosure`] once.
    pub fn next_event(&mut self) -> Result<Option<Event>, ProtocolError> {
        if let Some(error) = self.pending_error.take() {
            return Err(error);
        }
        if self.read.len() > self.read_seen {
            self.timers.received();
        }
        let result = self.next_event_inner();
        self.read_seen = self.read.len();
        result
    }

    fn next_event_inner(&mut self) -> Result<Option<Event>, ProtocolError> {
        if !self.wants_read() && (self.close_received || self.failed) {
            self.read.clear();
            return Ok(None);
        }
        match self.decode() {
            Ok(Some(event)) => Ok(Some(event)),
            Ok(None) if self.eof => {
                self.failed = true;
                self.read.clear();
                Err(ProtocolError::AbnormalClosure)
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.fail(&e);
                Err(e)
            }
        }
    }

    fn fail(&mut self, error: &ProtocolError) {
        self.failed = true;
        self.read.clear();
        self.frame = None;
        self.msg = None;
        self.msg_buf.clear();
        if !self.close_sent {
            let mut reason = error.to_string();
            while reason.len() > MAX_CLOSE_REASON {
                reason.pop();
            }
            let frame = CloseFrame::new(error.close_code(), reason);
            self.queue_close(Some(&frame));
        }
    }

    fn decode(&mut self) -> Result<Option<Event>, ProtocolError> {
        loop {
            if self.frame.is_none() {
                let Some((header, header_len)) = FrameHeader::decode(&self.read)? else {
                    return Ok(None);
                };
                self.check_header(&header)?;
                self.read.advance(header_len);
                // check_header bounded the length by max_frame_size, so it fits a usize.
                let len = header.payload_len as usize;
                if len > self.read.len() {
                    // Room for the payload as it comes, up to a point: a 14-byte header alone
                    // must not make us allocate max_frame_size. Beyond this, the buffer grows
                    // (doubling) as the bytes actually arrive.
                    self.read
                        .reserve((len - self.read.len()).min(UPFRONT_RESERVE));
                }
                // Transformed (compressed) text is validated after decoding instead. A whole
                // single-frame text message that is already here is validated once, when it
                // becomes a `Utf8Bytes`: checking it piece by piece as well would only double the
                // cost, since no earlier point exists to fail at.
                let complete_text = header.fin
                    && header.opcode == OpCode::Text
                    && self.config.reassemble
                    && self.read.len() >= len;
                let text = !self.msg_transformed
                    && !complete_text
                    && (header.opcode == OpCode::Text
                        || (header.opcode == OpCode::Continuation
                            && self.msg == Some(OpCode::Text)));
                self.frame = Some(InFrame {
                    header,
                    len,
                    processed: 0,
                    text,
                });
            }
            let Some(frame) = self.frame.as_mut() else {
                return Ok(None);
            };
            let avail = self.read.len().min(frame.len);
            if avail > frame.processed {
                let fresh = &mut self.read[frame.processed..avail];
                if let Some(key) = frame.header.mask {
                    apply_mask(fresh, key, frame.processed);
                }
                if frame.text {
                    // Validated as it arrives, so invalid text fails before the frame ends.
                    self.utf8
                        .feed(fresh)
                        .map_err(|_| ProtocolError::InvalidUtf8)?;
                }
                frame.processed = avail;
            }
            if frame.processed < frame.len {
                return Ok(None);
            }
            let (header, len) = (frame.header, frame.len);
            self.frame = None;
            let payload = self.read.split_to(len).freeze();
            if let Some(event) = self.complete_frame(header, payload)? {
                return Ok(Some(event));
            }
        }
    }

    /// Checks a header as soon as it arrives, before any payload is buffered.
    fn check_header(&mut self, h: &FrameHeader) -> Result<(), ProtocolError> {
        // RFC 6455 §5.2: RSV bits must be 0 unless an extension defines them; RFC 7692 §6.1:
        // an extension's bits go on the first frame of a data message only.
        let rsv = Rsv {
            rsv1: h.rsv1,
            rsv2: h.rsv2,
            rsv3: h.rsv3,
        };
        if rsv.any() {
            let granted = self.extension.as_ref().map_or(Rsv::NONE, |e| e.rsv());
            let first_data_frame = matches!(h.opcode, OpCode::Text | OpCode::Binary);
            if !first_data_frame || !rsv.within(granted) {
                return Err(ProtocolError::ReservedBits);
            }
        }
        // RFC 6455 §5.1: clients mask, servers do not.
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        if h.opcode.is_control() {
            // RFC 6455 §5.5.
            if h.payload_len > 125 {
                return Err(ProtocolError::ControlFrameTooLong(h.payload_len));
            }
            if !h.fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            return Ok(());
        }
        if h.payload_len > self.config.frame_limit() as u64 {
            return Err(ProtocolError::FrameTooLarge {
                size: h.payload_len,
                max: self.config.frame_limit(),
            });
        }
        // RFC 6455 §5.4: fragments of one message are not interleaved with another's.
        match (h.opcode, self.msg) {
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Continuation, Some(_)) => self.msg_size += h.payload_len,
            (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
            (opcode, None) => {
                self.msg = Some(opcode);
                self.msg_transformed = rsv.any();
                self.msg_size = h.payload_len;
                self.utf8.reset();
            }
        }
        if self.config.reassemble && self.msg_size > self.config.max_message_size as u64 {
            return Err(ProtocolError::MessageTooLarge {
                size: self.msg_size,
                max: self.config.max_message_size,
            });
        }
        Ok(())
    }

    fn complete_frame(
        &mut self,
        header: FrameHeader,
        payload: Bytes,
    ) -> Result<Option<Event>, ProtocolError> {
        let message = match header.opcode {
            OpCode::Ping => {
                // RFC 6455 §5.5.2: answer with a pong carrying the same application data.
                // Only the latest ping's pong may wait while the output is at its limit
                // (RFC 6455 §5.5.3): a ping flood never grows the output (see `push_pong`).
                if self.config.auto_pong && !self.close_sent {
                    let mask = self.mask();
                    let limit = self.config.write_buffer_limit;
                    self.out.push_pong(payload.clone(), mask, limit);
                }
                Message::Ping(payload)
            }
            OpCode::Pong => Message::Pong(payload),
            OpCode::Close => {
                let frame = parse_close(&payload)?;
                self.close_received = true;
                self.read.clear();
                if !self.close_sent {
                    // RFC 6455 §5.5.1: reply with a close, echoing the status code.
                    let reply = frame.as_ref().map(|f| CloseFrame::new(f.code, ""));
                    self.queue_close(reply.as_ref());
                }
                Message::Close(frame)
            }
            OpCode::Continuation | OpCode::Text | OpCode::Binary => {
                return self.complete_data_frame(header, payload)
            }
        };
        Ok(Some(Event::Message(message)))
    }

    fn complete_data_frame(
        &mut self,
        header: FrameHeader,
        payload: Bytes,
    ) -> Result<Option<Event>, ProtocolError> {
        let opcode = self.msg.unwrap_or(header.opcode);
        let text = opcode == OpCode::Text;
        let payload = if self.msg_transformed {
            self.decode_with_extension(&payload, header.fin, text)?
        } else {
            Some(payload)
        };
        if header.fin {
            self.msg = None;
            self.msg_transformed = false;
            if text {
                self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            }
        }
        if !self.config.reassemble {
            return Ok(Some(Event::Frame(Frame {
                opcode: header.opcode,
                fin: header.fin,
                payload: payload.unwrap_or_else(|| self.msg_buf.split().freeze()),
            })));
        }
        if !header.fin {
            if let Some(payload) = payload {
                self.msg_buf.extend_from_slice(&payload);
            }
            return Ok(None);
        }
        let data = match payload {
            Some(payload) if self.msg_buf.is_empty() => payload,
            Some(payload) => {
                self.msg_buf.extend_from_slice(&payload);
                self.msg_buf.split().freeze()
            }
            None => self.msg_buf.split().freeze(),
        };
        let message = if text {
            Message::Text(Utf8Bytes::try_from(data).map_err(|_| ProtocolError::InvalidUtf8)?)
        } else {
            Message::Binary(data)
        };
        Ok(Some(Event::Message(message)))
    }

    /// Decodes a frame of a transformed message into `msg_buf` (returns `None`: the data is
    /// there), enforcing the size limit on the decoded bytes and checking decoded text.
    fn decode_with_extension(
        &mut self,
        payload: &[u8],
        fin: bool,
        text: bool,
    ) -> Result<Option<Bytes>, ProtocolError> {
        let Some(extension) = self.extension.as_mut() else {
            return Err(ProtocolError::ReservedBits);
        };
        let max_len = if self.config.reassemble {
            self.config.max_message_size
        } else {
            self.config.max_frame_size
        };
        let start = self.msg_buf.len();
        extension.decode(payload, fin, &mut self.msg_buf, max_len)?;
        if text {
            self.utf8
                .feed(&self.msg_buf[start..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        Ok(None)
    }

    fn mask(&self) -> Option<MaskingKey> {
        mask_for(self.role)
    }

    fn check_can_send(&self) -> Result<(), SendError> {
        if self.close_sent || self.failed {
            Err(SendError::Closed)
        } else {
            Ok(())
        }
    }

    /// Queues a message: text and binary as one frame each, ping and pong as control frames, a
    /// close starts the closing handshake (see [`close`](Self::close)).
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        match message {
            Message::Text(text) => self.send_data(OpCode::Text, &text.into_bytes()),
            Message::Binary(data) => self.send_data(OpCode::Binary, &data),
            Message::Ping(data) => self.send_control(OpCode::Ping, &data),
            Message::Pong(data) => self.send_control(OpCode::Pong, &data),
            Message::Close(frame) => self.close(frame),
        }
    }

    fn send_data(&mut self, opcode: OpCode, payload: &Bytes) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending_fragments {
            return Err(SendError::InvalidFrameSequence);
        }
        let (rsv, payload) = match self.extension.as_mut().and_then(|e| e.encode(payload)) {
            Some((rsv, encoded)) => (rsv, encoded),
            None => (Rsv::NONE, payload.clone()),
        };
        // Split into frames of at most `fragment_size` (RSV bits on the first only).
        let role = self.role;
        let fragment = self.config.fragment_size;
        self.out
            .push_message(opcode, rsv, &payload, fragment, || mask_for(role));
        Ok(())
    }

    /// Queues a message encoded once for many connections (see [`PreparedMessage`]).
    ///
    /// A server connection queues the shared frame bytes: as they are, or, when its extension's
    /// encoding carries no state between messages (permessage-deflate without server context
    /// takeover), the encoding shared by every connection with the same parameters. Otherwise
    /// (a client, whose frames are masked with a fresh key each; an extension with context
    /// takeover) the message is encoded for this connection alone, like [`send`](Self::send).
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending_fragments {
            return Err(SendError::InvalidFrameSequence);
        }
        if self.role == Role::Client {
            return self.send_data(message.opcode(), message.payload());
        }
        let encoded = match self.extension.as_mut() {
            None => Some(message.plain().clone()),
            Some(extension) => extension
                .shared_encoding()
                .and_then(|key| message.encoded_for(key, |payload| extension.encode(payload))),
        };
        let Some(encoded) = encoded else {
            return self.send_data(message.opcode(), message.payload());
        };
        // The shared bytes are one frame: a message larger than `fragment_size` is queued as
        // several frames of the same (shared) payload.
        let (opcode, rsv, payload) = encoded.parts();
        if payload.len() > self.config.fragment_size {
            let fragment = self.config.fragment_size;
            self.out
                .push_message(opcode, rsv, &payload, fragment, || None);
            return Ok(());
        }
        self.out.push_encoded(&encoded.head);
        self.out.push_encoded(&encoded.body);
        Ok(())
    }

    fn send_control(&mut self, opcode: OpCode, payload: &Bytes) -> Result<(), SendError> {
        self.check_can_send()?;
        if payload.len() > 125 {
            return Err(SendError::ControlFrameTooLong(payload.len()));
        }
        let mask = self.mask();
        self.out.push_frame(opcode, true, Rsv::NONE, payload, mask);
        Ok(())
    }

    /// Queues one data frame of a message streamed fragment by fragment (RFC 6455 §5.4): the
    /// first has opcode `Text` or `Binary`, the rest `Continuation`, the last has `fin` set.
    /// Control messages may be sent in between with [`send`](Self::send).
    pub fn send_frame(&mut self, frame: Frame) -> Result<(), SendError> {
        self.check_can_send()?;
        match (frame.opcode, self.sending_fragments) {
            (OpCode::Text | OpCode::Binary, false) | (OpCode::Continuation, true) => {}
            _ => return Err(SendError::InvalidFrameSequence),
        }
        self.sending_fragments = !frame.fin;
        let mask = self.mask();
        self.out
            .push_frame(frame.opcode, frame.fin, Rsv::NONE, &frame.payload, mask);
        Ok(())
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2) by queueing a close frame; `None` sends
    /// one without a status code. Afterwards no data may be sent; received data is still
    /// delivered until the peer's close arrives.
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), SendError> {
        self.check_can_send()?;
        if let Some(f) = &frame {
            if !f.code.is_valid_on_wire() {
                return Err(SendError::InvalidCloseCode(f.code.0));
            }
            if f.reason.len() > MAX_CLOSE_REASON {
                return Err(SendError::CloseReasonTooLong(f.reason.len()));
            }
        }
        self.queue_close(frame.as_ref());
        Ok(())
    }

    fn queue_close(&mut self, frame: Option<&CloseFrame>) {
        let mut payload = BytesMut::new();
        if let Some(f) = frame {
            payload.put_u16(f.code.0);
            payload.put_slice(f.reason.as_bytes());
        }
        let mask = self.mask();
        self.out
            .push_frame(OpCode::Close, true, Rsv::NONE, &payload.freeze(), mask);
        self.close_sent = true;
    }

    fn limits(&self) -> Limits {
        Limits {
            idle: self.config.idle_timeout,
            keepalive: self.config.keepalive_interval,
            keepalive_timeout: self.config.keepalive_timeout,
            close: self.config.close_timeout,
        }
    }

    /// Whether data still flows both ways (no close sent or received, no failure, no EOF).
    fn is_open(&self) -> bool {
        !(self.close_sent || self.close_received || self.failed || self.eof)
    }

    /// Passes the current time in and acts on every deadline it reached: queues a keepalive
    /// ping, fails the connection with [`ProtocolError::TimedOut`] (returned by the next
    /// [`next_event`](Self::next_event); 1001 is queued) when the idle or keepalive deadline
    /// ran out, or gives up on the closing handshake (then
    /// [`should_close_transport`](Self::should_close_transport) is true).
    ///
    /// The adapter calls it when it is about to wait: after reading everything the transport
    /// had (so an answer sitting unread is never taken for silence), or when the transport
    /// will not take more output; then it arms a timer for
    /// [`poll_timeout`](Self::poll_timeout). Time only enters here: bytes received or written
    /// since the previous call, and a close frame queued since then, count from this `now`
    /// (a late stamp only postpones deadlines). Keepalive and idle count any traffic, either
    /// way; a keepalive ping is answered by anything received, or by our output moving on
    /// past the ping.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.timers.set_now(now);
        if self.gave_up() {
            return;
        }
        let limits = self.limits();
        match self.timers.expire(&limits, self.is_open(), self.close_sent) {
            Due::Nothing => {}
            Due::Ping => {
                let mask = self.mask();
                self.out
                    .push_frame(OpCode::Ping, true, Rsv::NONE, &Bytes::new(), mask);
                self.ping_unwritten = self.out.len();
            }
            Due::Expired(Timeout::Close) => self.timed_out = Some(Timeout::Close),
            Due::Expired(timeout) => {
                let error = ProtocolError::TimedOut(timeout);
                self.fail(&error);
                self.timed_out = Some(timeout);
                self.pending_error = Some(error);
            }
        }
    }

    /// The next deadline, when the adapter should call [`handle_timeout`](Self::handle_timeout)
    /// even if nothing else happens; `None` when no deadline is armed (or no time was passed
    /// in yet).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.gave_up() {
            return None;
        }
        self.timers
            .next_deadline(&self.limits(), self.is_open(), self.close_sent)
    }

    /// A deadline ran out after which nothing is waited for: the transport closes now. (After
    /// an idle timeout the close frame still gets `close_timeout` to go out.)
    fn gave_up(&self) -> bool {
        matches!(self.timed_out, Some(Timeout::Close | Timeout::Keepalive))
    }

    /// The deadline that ended the connection, if one did.
    pub fn timed_out(&self) -> Option<Timeout> {
        self.timed_out
    }

    /// The closing handshake state.
    pub fn state(&self) -> State {
        let flushed = self.out.len() == 0;
        match (self.close_sent, self.close_received) {
            _ if self.failed && flushed => State::Closed,
            (true, true) if flushed => State::Closed,
            (true, true) => State::CloseReceived,
            (true, false) | (false, true) => State::CloseSent,
            (false, false) if self.failed => State::CloseSent,
            (false, false) => State::Open,
        }
    }

    /// Whether the adapter should close the transport now.
    ///
    /// RFC 6455 §7.1.1: once the closing handshake is over, the server closes the TCP
    /// connection first; the client waits for the server to do so (and closes it itself only
    /// after [`Config::close_timeout`], see [`awaiting_transport_close`]). After a failure or
    /// end of file, either end closes once its output is written. After the closing handshake
    /// or keepalive deadline ran out ([`timed_out`](Self::timed_out)), at once, without waiting
    /// for output the peer is not reading.
    ///
    /// [`awaiting_transport_close`]: Self::awaiting_transport_close
    pub fn should_close_transport(&self) -> bool {
        self.gave_up()
            || (self.state() == State::Closed
                && (self.role == Role::Server || self.failed || self.eof))
    }

    /// Whether this client has finished the closing handshake and is waiting for the server to
    /// close the transport (RFC 6455 §7.1.1); the adapter keeps reading until end of file or
    /// [`Config::close_timeout`].
    pub fn awaiting_transport_close(&self) -> bool {
        self.state() == State::Closed && !self.should_close_transport()
    }

    /// Whether the peer's close frame arrived.
    pub fn close_received(&self) -> bool {
        self.close_received
    }

    /// Whether a close frame was queued (by [`close`](Self::close), in reply to the peer's, or
    /// on failure).
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Bytes waiting to be written.
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// Whether queued output reached [`Config::write_buffer_limit`] (or a pong is held back
    /// because it would cross it): the adapter should write before queueing more data, and
    /// may stop reading while the transport takes none of it.
    pub fn is_write_buffer_full(&self) -> bool {
        self.out.len() >= self.config.write_buffer_limit || self.out.has_pending_pong()
    }

    /// The first contiguous run of bytes waiting to be written (empty when there are none).
    pub fn output(&self) -> &[u8] {
        self.out.first()
    }

    /// Fills `dst` with the bytes waiting to be written, in order, for a vectored write.
    /// Returns how many slices were filled.
    pub fn output_io_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        self.out.io_slices(dst)
    }

    /// Marks `n` bytes of output as written.
    ///
    /// # Panics
    /// If `n` exceeds [`output_len`](Self::output_len): that is a bug in the caller.
    pub fn advance_output(&mut self, n: usize) {
        self.out.advance(n);
        if n > 0 {
            // Progress beyond our keepalive ping shows the peer's TCP still takes data.
            let after_ping = n > self.ping_unwritten;
            self.ping_unwritten = self.ping_unwritten.saturating_sub(n);
            self.timers.sent(after_ping);
        }
    }

    /// Takes all the bytes waiting to be written, as one buffer.
    pub fn take_output(&mut self) -> Vec<u8> {
        let mut all = Vec::with_capacity(self.out.len());
        while self.out.len() > 0 {
            let chunk = self.out.first();
            all.extend_from_slice(chunk);
            let n = chunk.len();
            self.advance_output(n);
        }
        all
    }
}

/// A fresh masking key for a client's frame, none for a server's (RFC 6455 §5.3).
fn mask_for(role: Role) -> Option<MaskingKey> {
    match role {
        Role::Client => Some(MaskingKey::random()),
        Role::Server => None,
    }
}

/// Parses a close frame's payload (RFC 6455 §5.5.1, §7.4).
fn parse_close(payload: &Bytes) -> Result<Option<CloseFrame>, ProtocolError> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(ProtocolError::InvalidClosePayload),
        _ => {
            let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
            if !code.is_valid_on_wire() {
                return Err(ProtocolError::InvalidCloseCode(code.0));
            }
            let reason =
                Utf8Bytes::try_from(payload.slice(2..)).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok(Some(CloseFrame { code, reason }))
        }
    }
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "extension_tests.rs"]
mod extension_tests;

#[cfg(test)]
#[path = "prepared_tests.rs"]
mod prepared_tests;

#[cfg(test)]
#[path = "timer_tests.rs"]
mod timer_tests;
