//! Streamed reception (issue 19) against whole-message reception.
//!
//! The same client frames (arbitrary opcodes, FIN and RSV1 bits, payloads raw or compressed by
//! our permessage-deflate encoder, fragmented anyhow, pings between fragments, garbage at the
//! end) go to two server connections with the same limit: one reassembles every message, fed
//! everything at once; the other streams every message (`stream_next_message`), fed in
//! arbitrary pieces. Asserts:
//! * every chunk carries the message's opcode first, `Continuation` after, FIN only on the
//!   last, and at most 128 KiB when inflated;
//! * the messages and control frames the two deliver are the same, in the same order, until
//!   the first failure of either; if reassembly fails, so does streaming, and streaming fails
//!   alone only with 1007 or 1009 (it checks a frame's payload as it arrives, reassembly at
//!   the frame's end, which may not have arrived);
//! * the failures have the same close code, except that 1007 (bad text) and 1009 (too big)
//!   may trade places: streaming checks each as bytes arrive, reassembly at a frame's end.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws_proto::{
    apply_mask, Bytes, BytesMut, CloseCode, Config, Connection, DeflateConfig, Event, Extension,
    FrameHeader, MaskingKey, Message, OpCode, PerMessageDeflate, Role,
};

#[derive(Arbitrary, Debug)]
struct Frame {
    /// 0: continuation, 1: text, 2: binary, 9: ping, else the low 4 bits as they are.
    opcode: u8,
    fin: bool,
    rsv1: bool,
    /// Compress the payload with our encoder (a whole message's worth, then split).
    compress: bool,
    payload: Vec<u8>,
    /// Fragments the payload is split into (each its own frame; the last keeps `fin`).
    split: u8,
}

#[derive(Arbitrary, Debug)]
struct Input {
    deflate: bool,
    limit: u16,
    frames: Vec<Frame>,
    garbage: Vec<u8>,
    /// Sizes of the pieces the streaming connection is fed in.
    pieces: Vec<u16>,
}

fn server(input: &Input) -> Connection {
    let config = Config::default().max_message_size(usize::from(input.limit) + 1);
    let mut conn = Connection::new(Role::Server, config);
    if input.deflate {
        conn.set_extension(Box::new(PerMessageDeflate::new(
            Role::Server,
            &DeflateConfig::default(),
        )));
    }
    conn
}

fn encode(wire: &mut Vec<u8>, b0: u8, payload: &[u8]) {
    let key = MaskingKey([0x11, 0x22, 0x33, 0x44]);
    let Ok(Some((mut header, _))) = FrameHeader::decode(&[b0, 0]) else {
        return;
    };
    header.payload_len = payload.len() as u64;
    header.mask = Some(key);
    let mut out = BytesMut::new();
    header.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], key, 0);
    wire.extend_from_slice(&out);
}

fn wire(input: &Input) -> Vec<u8> {
    let mut encoder = PerMessageDeflate::new(Role::Client, &DeflateConfig::default());
    let mut wire = Vec::new();
    for frame in input.frames.iter().take(64) {
        let payload = match frame.compress {
            true => encoder
                .encode(&frame.payload)
                .map_or_else(|| Bytes::from(frame.payload.clone()), |(_, p)| p),
            false => Bytes::from(frame.payload.clone()),
        };
        let opcode = match frame.opcode % 16 {
            0 | 1 | 2 | 8 | 9 | 10 => frame.opcode % 16,
            other if other < 8 => other % 3,
            _ => 9,
        };
        let parts = usize::from(frame.split % 8) + 1;
        let size = payload.len().div_ceil(parts).max(1);
        let pieces: Vec<&[u8]> = if payload.is_empty() {
            vec![&[]]
        } else {
            payload.chunks(size).collect()
        };
        let last = pieces.len() - 1;
        for (i, piece) in pieces.iter().enumerate() {
            // FIN on the last piece of a data message, as the frame says on a control frame.
            let fin = frame.fin && (i == last || opcode >= 8);
            let op = if i == 0 { opcode } else { 0 };
            let rsv1 = i == 0 && frame.rsv1;
            let b0 = (u8::from(fin) << 7) | (u8::from(rsv1) << 6) | op;
            encode(&mut wire, b0, piece);
            if opcode >= 8 {
                break; // control frames are never split
            }
        }
    }
    wire.extend_from_slice(&input.garbage);
    wire
}

/// What a connection delivered: messages and control frames, and how it failed.
#[derive(Debug, Default)]
struct Outcome {
    messages: Vec<Message>,
    failure: Option<CloseCode>,
}

fn whole(input: &Input, wire: &[u8]) -> Outcome {
    let mut conn = server(input);
    let mut outcome = Outcome::default();
    conn.receive(wire);
    loop {
        match conn.next_event() {
            Ok(Some(Event::Message(m))) => outcome.messages.push(m),
            Ok(Some(Event::Frame(f))) => panic!("a frame while reassembling: {f:?}"),
            Ok(None) => return outcome,
            Err(e) => {
                outcome.failure = Some(e.close_code());
                return outcome;
            }
        }
    }
}

fn streamed(input: &Input, wire: &[u8]) -> Outcome {
    let mut conn = server(input);
    let limit = u64::from(input.limit) + 1;
    let mut outcome = Outcome::default();
    let mut message: Option<(OpCode, Vec<u8>)> = None;
    let mut rest = wire;
    let mut sizes = input.pieces.iter().cycle();
    while !rest.is_empty() {
        let size = sizes.next().map_or(rest.len(), |&s| usize::from(s).max(1));
        let (piece, after) = rest.split_at(size.min(rest.len()));
        rest = after;
        conn.receive(piece);
        loop {
            conn.stream_next_message(limit);
            match conn.next_event() {
                Ok(Some(Event::Message(m))) => {
                    assert!(!m.is_data(), "a whole data message while streaming: {m:?}");
                    outcome.messages.push(m);
                }
                Ok(Some(Event::Frame(f))) => {
                    // Inflated: at most 128 KiB; raw: at most what arrived.
                    let bound = (128 << 10).max(wire.len());
                    assert!(f.payload.len() <= bound, "chunk of {}", f.payload.len());
                    match (&mut message, f.opcode) {
                        (None, OpCode::Text | OpCode::Binary) => {
                            message = Some((f.opcode, f.payload.to_vec()))
                        }
                        (Some((_, bytes)), OpCode::Continuation) => {
                            bytes.extend_from_slice(&f.payload)
                        }
                        other => panic!("chunk out of order: {other:?}"),
                    }
                    if f.fin {
                        let (opcode, bytes) = message.take().unwrap();
                        outcome.messages.push(match opcode {
                            OpCode::Text => {
                                let text = String::from_utf8(bytes).expect("checked UTF-8");
                                Message::text(text)
                            }
                            _ => Message::binary(bytes),
                        });
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    outcome.failure = Some(e.close_code());
                    return outcome;
                }
            }
        }
    }
    outcome
}

fuzz_target!(|input: Input| {
    let wire = wire(&input);
    let (a, b) = (whole(&input, &wire), streamed(&input, &wire));
    let n = a.messages.len().min(b.messages.len());
    assert_eq!(a.messages[..n], b.messages[..n], "delivered differently");
    match (a.failure, b.failure) {
        (None, None) => assert_eq!(a.messages.len(), b.messages.len(), "delivered differently"),
        (Some(x), Some(y)) => {
            let bad_or_big = [CloseCode::INVALID_PAYLOAD, CloseCode::MESSAGE_TOO_BIG];
            assert!(
                x == y || (bad_or_big.contains(&x) && bad_or_big.contains(&y)),
                "failed with {x:?} reassembling, {y:?} streaming"
            );
        }
        // Streaming checks a frame's payload as it arrives: bad text, corrupt compressed data
        // or too much inflated output fail before the frame's end, which reassembly may still
        // be waiting for.
        (None, Some(y))
            if [CloseCode::INVALID_PAYLOAD, CloseCode::MESSAGE_TOO_BIG].contains(&y) =>
        {
            assert!(
                a.messages.len() <= b.messages.len(),
                "delivered differently"
            );
        }
        (x, y) => panic!("one failed and not the other: {x:?} reassembling, {y:?} streaming"),
    }
});
