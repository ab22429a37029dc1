//! The whole protocol state machine (`Connection`), in both roles, driven by an arbitrary list
//! of operations: raw bytes and hand-built frames from the network, messages sent by a real peer
//! `Connection` (with permessage-deflate when both have it), our own sends and closes, partial
//! and vectored writes, end of file.
//!
//! Asserts:
//! * no panic;
//! * buffered memory stays bounded by the (small) configured limits: after the events are
//!   drained the read buffer holds less than a header plus one frame, delivered messages and
//!   frames respect `max_message_size` / `max_frame_size`, control payloads are at most 125
//!   bytes, and output queued in reaction to received bytes (pongs, close replies) is at most 3
//!   times those bytes plus one close frame, and never takes the output past
//!   `write_buffer_limit` plus one control frame: at the limit only the latest ping's pong waits
//!   (RFC 6455 §5.5.3), so the peer may see fewer pongs, but never an older one after a newer;
//! * at most one error is ever returned; its close code is 1006 for end of file and one of
//!   1002/1007/1009 otherwise; a close frame is then queued (unless one was already) and
//!   nothing can be sent any more;
//! * the closing-handshake state only moves forward (Open → CloseSent → CloseReceived →
//!   Closed) and never leaves Closed;
//! * everything we write is a valid stream for the peer, which never fails on it and receives
//!   exactly the messages we sent (plus automatic pongs and close replies, and our failure's
//!   close code);
//! * as long as only the peer's own bytes reached us, we receive exactly what it sent too.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use std::io::IoSlice;
use ws_proto::{
    apply_mask, Bytes, BytesMut, CloseCode, CloseFrame, Config, Connection, DeflateConfig, Event,
    Frame, FrameHeader, MaskingKey, Message, OpCode, PerMessageDeflate, ProtocolError, Role, State,
    MAX_HEADER_LEN,
};

#[derive(Arbitrary, Debug)]
struct Input {
    client: bool,
    max_frame_size: u16,
    max_message_size: u16,
    auto_pong: bool,
    reassemble: bool,
    write_buffer_limit: u16,
    deflate: Option<Deflate>,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
struct Deflate {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    level: u8,
    threshold: u8,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Arbitrary bytes from the network (taints what we receive).
    Receive(Vec<u8>),
    /// A frame built by the harness, masked as the role expects unless `wrong_mask` (taints).
    ReceiveFrame {
        opcode: u8,
        fin: bool,
        rsv: u8,
        wrong_mask: bool,
        key: [u8; 4],
        payload: Vec<u8>,
    },
    /// The peer queues something (delivered by `Deliver`).
    Peer(PeerOp),
    /// Moves up to this many of the peer's queued bytes to us.
    Deliver(u16),
    /// Pulls up to this many events (stops at "need more").
    Poll(u8),
    SendText(String),
    SendBinary(Vec<u8>),
    SendPing(Vec<u8>),
    SendPong(Vec<u8>),
    SendFrame {
        kind: u8,
        fin: bool,
        text: String,
    },
    Close(Option<(u16, String)>),
    /// Writes up to this many output bytes (to the peer), through `output`/`advance_output`.
    Write(u16),
    /// Writes everything through `output_io_slices`.
    WriteVectored,
    Eof,
}

#[derive(Arbitrary, Debug)]
enum PeerOp {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Frame { kind: u8, fin: bool, text: String },
    Close(Option<(u16, String)>),
}

/// What one side should see arrive from the other, in order.
#[derive(Debug, PartialEq)]
enum Expect {
    Message(Message),
    /// The close frame a failure queues: only its code is checked.
    FailureClose(CloseCode),
    /// An automatic pong: a later one may supersede it while the output is full.
    AutoPong(Bytes),
}

/// The longest control frame: a 2-byte header, a masking key and 125 bytes of payload.
const CONTROL_FRAME: usize = 2 + 4 + 125;

/// One end: its connection and what it has queued for the other end to receive.
struct End {
    conn: Connection,
    sent: VecDeque<Expect>,
    /// Fragments of a message being sent with `send_frame`.
    sending: Option<(OpCode, Vec<u8>)>,
    /// Fragments received with `reassemble` off.
    receiving: Option<(OpCode, Vec<u8>)>,
    errors: usize,
}

impl End {
    fn new(conn: Connection) -> Self {
        End {
            conn,
            sent: VecDeque::new(),
            sending: None,
            receiving: None,
            errors: 0,
        }
    }

    fn send(&mut self, message: Message) {
        let expect = match &message {
            Message::Close(f) => f.clone().map(|f| CloseFrame::new(f.code, f.reason)),
            _ => None,
        };
        let was_closing = self.conn.close_sent();
        match self.conn.send(message.clone()) {
            Ok(()) => {
                assert!(!was_closing, "sent after close");
                let message = match message {
                    Message::Close(_) => Message::Close(expect),
                    m => m,
                };
                self.sent.push_back(Expect::Message(message));
            }
            Err(_) => {}
        }
    }

    fn send_frame(&mut self, kind: u8, fin: bool, text: String) {
        let opcode = match kind % 3 {
            0 => OpCode::Continuation,
            1 => OpCode::Text,
            _ => OpCode::Binary,
        };
        let payload = Bytes::from(text.into_bytes());
        let frame = Frame {
            opcode,
            fin,
            payload: payload.clone(),
        };
        if self.conn.send_frame(frame).is_ok() {
            let (first, mut data) = self.sending.take().unwrap_or((opcode, Vec::new()));
            data.extend_from_slice(&payload);
            if fin {
                let message = match first {
                    OpCode::Text => Message::Text(
                        String::from_utf8(data)
                            .expect("fragments are whole strings")
                            .into(),
                    ),
                    _ => Message::Binary(data.into()),
                };
                self.sent.push_back(Expect::Message(message));
            } else {
                self.sending = Some((first, data));
            }
        }
    }

    fn close(&mut self, close: Option<(u16, String)>) {
        let frame = close.map(|(code, reason)| CloseFrame::new(code, reason));
        self.send(Message::Close(frame));
    }
}

fn rank(state: State) -> u8 {
    match state {
        State::Open => 0,
        State::CloseSent => 1,
        State::CloseReceived => 2,
        State::Closed => 3,
    }
}

fn deflate_config(d: &Deflate) -> DeflateConfig {
    let mut config = DeflateConfig::default();
    config.server_no_context_takeover = d.server_no_context_takeover;
    config.client_no_context_takeover = d.client_no_context_takeover;
    config.server_max_window_bits = 9 + d.server_max_window_bits % 7;
    config.client_max_window_bits = 9 + d.client_max_window_bits % 7;
    config.level = u32::from(d.level % 10);
    config.threshold = usize::from(d.threshold);
    config
}

struct Harness {
    us: End,
    peer: End,
    config: Config,
    /// Bytes that did not come from the peer reached us: stop comparing what we receive.
    tainted: bool,
    /// Received bytes and output queued in reaction to them, for the amplification bound.
    received: usize,
    reactive_output: usize,
    state: State,
}

impl Harness {
    fn check_state(&mut self) {
        let state = self.us.conn.state();
        assert!(
            rank(state) >= rank(self.state),
            "state went back from {:?} to {state:?}",
            self.state
        );
        self.state = state;
    }

    fn receive(&mut self, bytes: &[u8]) {
        if self.us.conn.wants_read() {
            self.received += bytes.len();
        }
        self.us.conn.receive(bytes);
        self.check_state();
    }

    /// Pulls at most `max` events from our connection and checks each.
    fn poll(&mut self, max: usize) {
        for _ in 0..max {
            let close_sent = self.us.conn.close_sent();
            let before = self.us.conn.output_len();
            let result = self.us.conn.next_event();
            let after = self.us.conn.output_len();
            self.reactive_output += after - before;
            let limit = self.config.write_buffer_limit;
            let bound = limit.max(CONTROL_FRAME) + CONTROL_FRAME;
            // Besides the one pong the limit allows, the peer can make us queue one close
            // frame, once (a reply to its close, or ours on a protocol error), even when our
            // own messages already filled the output.
            let closed_now = !close_sent && self.us.conn.close_sent();
            let allowed = if closed_now {
                before.max(bound) + CONTROL_FRAME
            } else {
                before.max(bound)
            };
            assert!(
                after <= allowed,
                "the peer's bytes took the output from {before} to {after}, limit {limit}"
            );
            assert!(
                self.reactive_output <= 3 * self.received + MAX_HEADER_LEN + 125,
                "{} bytes of output in reaction to {} received",
                self.reactive_output,
                self.received
            );
            self.check_state();
            match result {
                Ok(None) => {
                    let limit = self.config.max_frame_size.max(125) + MAX_HEADER_LEN;
                    let buffered = self.us.conn.read_buffer().len();
                    assert!(buffered < limit, "{buffered} bytes buffered, limit {limit}");
                    return;
                }
                Ok(Some(event)) => self.on_event(event, close_sent),
                Err(e) => self.on_error(e, close_sent),
            }
        }
    }

    fn on_event(&mut self, event: Event, close_sent: bool) {
        let message = match event {
            Event::Message(m) => m,
            Event::Frame(frame) => {
                assert!(!self.config.reassemble, "frame event while reassembling");
                assert!(frame.payload.len() <= self.config.max_frame_size);
                let (first, mut data) = self
                    .us
                    .receiving
                    .take()
                    .unwrap_or((frame.opcode, Vec::new()));
                assert!(
                    matches!(first, OpCode::Text | OpCode::Binary),
                    "message started by {first:?}"
                );
                data.extend_from_slice(&frame.payload);
                if !frame.fin {
                    self.us.receiving = Some((first, data));
                    return;
                }
                match first {
                    OpCode::Text => Message::Text(
                        String::from_utf8(data)
                            .expect("text frames add up to UTF-8")
                            .into(),
                    ),
                    _ => Message::Binary(data.into()),
                }
            }
        };
        match &message {
            Message::Text(_) | Message::Binary(_) if self.config.reassemble => {
                assert!(message.len() <= self.config.max_message_size);
            }
            Message::Ping(p) | Message::Pong(p) => assert!(p.len() <= 125),
            Message::Close(Some(f)) => {
                assert!(f.code.is_valid_on_wire());
                assert!(f.reason.len() <= 123);
            }
            _ => {}
        }
        // What we queued in reply, for the peer to check.
        match &message {
            Message::Ping(p) if self.config.auto_pong && !close_sent => {
                self.us.sent.push_back(Expect::AutoPong(p.clone()));
            }
            Message::Close(f) if !close_sent => {
                let reply = f.as_ref().map(|f| CloseFrame::new(f.code, ""));
                self.us
                    .sent
                    .push_back(Expect::Message(Message::Close(reply)));
            }
            _ => {}
        }
        if matches!(message, Message::Close(_)) {
            assert!(self.us.conn.close_received());
            assert!(self.us.conn.close_sent());
        }
        if !self.tainted {
            let expected = self.peer.sent.pop_front();
            assert_eq!(
                expected,
                Some(Expect::Message(message)),
                "we did not receive what the peer sent"
            );
        }
    }

    fn on_error(&mut self, e: ProtocolError, close_sent: bool) {
        self.us.errors += 1;
        assert_eq!(self.us.errors, 1, "a second error: {e:?}");
        let code = e.close_code();
        if e == ProtocolError::AbnormalClosure {
            assert_eq!(code, CloseCode::ABNORMAL);
        } else {
            assert!(
                [
                    CloseCode::PROTOCOL_ERROR,
                    CloseCode::INVALID_PAYLOAD,
                    CloseCode::MESSAGE_TOO_BIG
                ]
                .contains(&code),
                "{e:?} maps to {code:?}"
            );
            assert!(self.us.conn.close_sent());
            if !close_sent {
                self.us.sent.push_back(Expect::FailureClose(code));
            }
            // From the peer's own bytes, only our small limits may fail the connection.
            if !self.tainted {
                assert_eq!(
                    code,
                    CloseCode::MESSAGE_TOO_BIG,
                    "peer's bytes fail with {e:?}"
                );
            }
        }
        assert_ne!(self.us.conn.state(), State::Open);
        assert!(!self.us.conn.wants_read());
        assert!(self.us.conn.send(Message::binary(vec![1u8])).is_err());
        assert!(self.us.conn.close(None).is_err());
        self.tainted = true;
    }

    /// Hands our written bytes to the peer, which must accept all of them.
    fn to_peer(&mut self, bytes: &[u8]) {
        self.peer.conn.receive(bytes);
        loop {
            let close_sent = self.peer.conn.close_sent();
            match self.peer.conn.next_event() {
                Ok(None) => return,
                Err(e) => panic!("the peer fails on our output: {e:?}"),
                Ok(Some(Event::Frame(_))) => unreachable!("the peer reassembles"),
                Ok(Some(Event::Message(m))) => {
                    // Automatic pongs the slot superseded (RFC 6455 §5.5.3) never arrive: skip
                    // to the one that did; nothing else is ever queued ahead of a pong.
                    while match (&m, self.us.sent.front()) {
                        (Message::Pong(got), Some(Expect::AutoPong(p))) => got != p,
                        (_, Some(Expect::AutoPong(_))) => !matches!(m, Message::Pong(_)),
                        _ => false,
                    } {
                        self.us.sent.pop_front();
                    }
                    let got = match (&m, self.us.sent.front()) {
                        (Message::Close(Some(f)), Some(Expect::FailureClose(_))) => {
                            Expect::FailureClose(f.code)
                        }
                        (Message::Pong(p), Some(Expect::AutoPong(_))) => Expect::AutoPong(p.clone()),
                        _ => Expect::Message(m.clone()),
                    };
                    assert_eq!(
                        self.us.sent.pop_front(),
                        Some(got),
                        "the peer got other data"
                    );
                    match m {
                        Message::Ping(p) if !close_sent => {
                            self.peer.sent.push_back(Expect::Message(Message::Pong(p)));
                        }
                        Message::Close(f) if !close_sent => {
                            let reply = f.map(|f| CloseFrame::new(f.code, ""));
                            self.peer
                                .sent
                                .push_back(Expect::Message(Message::Close(reply)));
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    fn write(&mut self, max: usize) {
        let chunk = self.us.conn.output();
        assert_eq!(chunk.is_empty(), self.us.conn.output_len() == 0);
        let n = chunk.len().min(max);
        let bytes = chunk[..n].to_vec();
        self.us.conn.advance_output(n);
        self.check_state();
        self.to_peer(&bytes);
    }

    fn write_vectored(&mut self) {
        let mut slices = [IoSlice::new(&[]); 4];
        let n = self.us.conn.output_io_slices(&mut slices);
        let bytes: Vec<u8> = slices[..n].iter().flat_map(|s| s.iter().copied()).collect();
        if n < slices.len() {
            assert_eq!(bytes.len(), self.us.conn.output_len());
        }
        self.us.conn.advance_output(bytes.len());
        self.check_state();
        self.to_peer(&bytes);
    }

    fn deliver(&mut self, max: usize) {
        let chunk = self.peer.conn.output();
        let n = chunk.len().min(max);
        let bytes = chunk[..n].to_vec();
        self.peer.conn.advance_output(n);
        self.receive(&bytes);
    }

    fn receive_frame(
        &mut self,
        opcode: u8,
        fin: bool,
        rsv: u8,
        wrong_mask: bool,
        key: [u8; 4],
        payload: Vec<u8>,
    ) {
        let Some(opcode) = OpCode::from_u8(opcode & 0x0F) else {
            return;
        };
        let mut header = FrameHeader::new(opcode, payload.len() as u64);
        header.fin = fin;
        header.rsv1 = rsv & 1 != 0;
        header.rsv2 = rsv & 2 != 0;
        header.rsv3 = rsv & 4 != 0;
        let masked = (self.us.conn.role() == Role::Server) != wrong_mask;
        header.mask = masked.then_some(MaskingKey(key));
        let mut bytes = BytesMut::new();
        header.encode(&mut bytes);
        let start = bytes.len();
        bytes.extend_from_slice(&payload);
        if masked {
            apply_mask(&mut bytes[start..], MaskingKey(key), 0);
        }
        self.tainted = true;
        self.receive(&bytes);
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Receive(bytes) => {
                self.tainted = true;
                self.receive(&bytes);
            }
            Op::ReceiveFrame {
                opcode,
                fin,
                rsv,
                wrong_mask,
                key,
                payload,
            } => self.receive_frame(opcode, fin, rsv, wrong_mask, key, payload),
            Op::Peer(op) => match op {
                PeerOp::Text(s) => self.peer.send(Message::text(s)),
                PeerOp::Binary(b) => self.peer.send(Message::binary(b)),
                PeerOp::Ping(p) => self.peer.send(Message::Ping(p.into())),
                PeerOp::Pong(p) => self.peer.send(Message::Pong(p.into())),
                PeerOp::Frame { kind, fin, text } => self.peer.send_frame(kind, fin, text),
                PeerOp::Close(c) => self.peer.close(c),
            },
            Op::Deliver(n) => self.deliver(usize::from(n)),
            Op::Poll(n) => self.poll(usize::from(n) + 1),
            Op::SendText(s) => self.us.send(Message::text(s)),
            Op::SendBinary(b) => self.us.send(Message::binary(b)),
            Op::SendPing(p) => self.us.send(Message::Ping(p.into())),
            Op::SendPong(p) => self.us.send(Message::Pong(p.into())),
            Op::SendFrame { kind, fin, text } => self.us.send_frame(kind, fin, text),
            Op::Close(c) => self.us.close(c),
            Op::Write(n) => self.write(usize::from(n)),
            Op::WriteVectored => self.write_vectored(),
            Op::Eof => {
                // Bytes the peer queued but never delivered are lost with the transport.
                self.tainted = true;
                self.us.conn.receive_eof();
            }
        }
        self.check_state();
    }
}

fuzz_target!(|input: Input| {
    let role = if input.client {
        Role::Client
    } else {
        Role::Server
    };
    let peer_role = if input.client {
        Role::Server
    } else {
        Role::Client
    };
    let config = Config::default()
        .max_frame_size(usize::from(input.max_frame_size % 2048))
        .max_message_size(usize::from(input.max_message_size % 4096))
        .auto_pong(input.auto_pong)
        .reassemble(input.reassemble)
        .write_buffer_limit(usize::from(input.write_buffer_limit));
    let mut us = Connection::new(role, config.clone());
    let mut peer = Connection::new(peer_role, Config::default());
    if let Some(d) = &input.deflate {
        let dc = deflate_config(d);
        us.set_extension(Box::new(PerMessageDeflate::new(role, &dc)));
        peer.set_extension(Box::new(PerMessageDeflate::new(peer_role, &dc)));
    }
    let mut h = Harness {
        us: End::new(us),
        peer: End::new(peer),
        config,
        tainted: false,
        received: 0,
        reactive_output: 0,
        state: State::Open,
    };
    for op in input.ops {
        h.apply(op);
    }
    // Let both ends finish: everything written, delivered and polled.
    for _ in 0..4 {
        h.write(usize::MAX);
        h.deliver(usize::MAX);
        h.poll(10_000);
    }
    assert_eq!(h.us.conn.output_len(), 0);
    if h.us.errors > 0 || h.us.conn.close_received() {
        assert!(h.us.conn.close_sent() || h.us.conn.state() == State::Closed);
    }
});
