//! The permessage-deflate codec (RFC 7692 §7.2).
//!
//! Asserts:
//! * inflating arbitrary data (split into arbitrary frames, with or without context takeover)
//!   under a small `max_len` never yields more than `max_len` bytes on success, stops within one
//!   byte of it on failure, and fails only with 1009 (too big) or 1007 (corrupt data);
//! * round trip: messages compressed by our encoder (any level, window and threshold, with and
//!   without context takeover, split into any number of frames) inflate to the same bytes with
//!   our decoder, even when `max_len` is exactly the message length, and fail with 1009 when it
//!   is one less;
//! * interoperability: messages from a sender that ends each one with a BFINAL block, as RFC
//!   7692 §7.2.3.5 allows (compressed by miniz_oxide, an independent DEFLATE implementation,
//!   with or without the trailing empty stored block), mixed with messages from our encoder,
//!   inflate to the same bytes.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws_proto::{
    BytesMut, CloseCode, DeflateConfig, Extension, PerMessageDeflate, ProtocolError, Role, Rsv,
};

#[derive(Arbitrary, Debug)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    level: u8,
    threshold: u8,
}

impl Params {
    fn config(&self) -> DeflateConfig {
        let mut c = DeflateConfig::default();
        c.server_no_context_takeover = self.server_no_context_takeover;
        c.client_no_context_takeover = self.client_no_context_takeover;
        c.server_max_window_bits = 8 + self.server_max_window_bits % 8;
        c.client_max_window_bits = 8 + self.client_max_window_bits % 8;
        c.level = u32::from(self.level % 10);
        c.threshold = usize::from(self.threshold % 128);
        c
    }
}

#[derive(Arbitrary, Debug)]
enum Input {
    /// Arbitrary compressed messages, each as a list of frame payloads.
    Inflate {
        params: Params,
        max_len: u16,
        messages: Vec<Vec<Vec<u8>>>,
    },
    /// Our encoder to our decoder; each message with the frame split points of its wire form.
    RoundTrip {
        params: Params,
        messages: Vec<(Vec<u8>, Vec<u16>)>,
        tight: bool,
    },
    /// Each message either from our encoder (`final_block` false) or compressed on its own with
    /// BFINAL set; the sender restarts its stream after a final block.
    Foreign {
        params: Params,
        messages: Vec<ForeignMessage>,
    },
}

#[derive(Arbitrary, Debug)]
struct ForeignMessage {
    data: Vec<u8>,
    final_block: bool,
    empty_stored_block: bool,
    cuts: Vec<u16>,
}

/// Inflates `wire` cut into frames at `cuts` and checks it gives back `message`.
fn inflate_frames(
    server: &mut PerMessageDeflate,
    wire: &[u8],
    cuts: &[u16],
    message: &[u8],
    limit: usize,
) -> Result<(), ProtocolError> {
    let mut cuts: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) % (wire.len() + 1))
        .collect();
    cuts.sort_unstable();
    cuts.push(wire.len());
    let mut out = BytesMut::new();
    let mut start = 0;
    for (i, &end) in cuts.iter().enumerate() {
        server.decode(&wire[start..end], i + 1 == cuts.len(), &mut out, limit)?;
        assert!(out.len() <= limit);
        start = end;
    }
    assert_eq!(&out[..], message, "inflated to other bytes");
    Ok(())
}

fn foreign(params: Params, messages: Vec<ForeignMessage>) {
    let mut config = params.config();
    config.threshold = 0;
    let mut client = PerMessageDeflate::new(Role::Client, &config);
    let mut server = PerMessageDeflate::new(Role::Server, &config);
    for m in messages {
        let wire = if m.final_block {
            let mut wire = miniz_oxide::deflate::compress_to_vec(&m.data, params.level % 11);
            if m.empty_stored_block {
                // RFC 7692 §7.2.1 step 2 and 3: an empty stored block, less its 4-byte tail.
                wire.push(0x00);
            }
            // The sender's next message starts a new DEFLATE stream.
            client = PerMessageDeflate::new(Role::Client, &config);
            wire
        } else {
            client.encode(&m.data).expect("threshold 0").1.to_vec()
        };
        inflate_frames(&mut server, &wire, &m.cuts, &m.data, m.data.len())
            .expect("a valid message inflates");
    }
}

fn inflate(params: Params, max_len: u16, messages: Vec<Vec<Vec<u8>>>) {
    let max_len = usize::from(max_len % 4096);
    let mut server = PerMessageDeflate::new(Role::Server, &params.config());
    for frames in messages {
        let mut out = BytesMut::new();
        let count = frames.len();
        for (i, frame) in frames.into_iter().enumerate() {
            let result = server.decode(&frame, i + 1 == count, &mut out, max_len);
            match result {
                Ok(()) => assert!(out.len() <= max_len, "{} > {max_len}", out.len()),
                Err(e) => {
                    assert!(out.len() <= max_len + 1, "{} > {max_len} + 1", out.len());
                    match &e {
                        ProtocolError::MessageTooLarge { max, .. } => assert_eq!(*max, max_len),
                        ProtocolError::Extension { code, .. } => {
                            assert_eq!(*code, CloseCode::INVALID_PAYLOAD)
                        }
                        other => panic!("unexpected error {other:?}"),
                    }
                    // The connection is failed: the codec is not used again.
                    return;
                }
            }
        }
    }
}

fn round_trip(params: Params, messages: Vec<(Vec<u8>, Vec<u16>)>, tight: bool) {
    let config = params.config();
    let mut client = PerMessageDeflate::new(Role::Client, &config);
    let mut server = PerMessageDeflate::new(Role::Server, &config);
    assert_eq!(client.rsv(), Rsv::RSV1);
    for (message, cuts) in messages {
        let Some((rsv, wire)) = client.encode(&message) else {
            assert!(message.len() < config.threshold, "not compressed");
            continue;
        };
        assert_eq!(rsv, Rsv::RSV1);
        // The message's frames: the wire bytes cut at the given points, in order.
        let limit = if tight && !message.is_empty() {
            message.len() - 1
        } else {
            message.len()
        };
        let result = inflate_frames(&mut server, &wire, &cuts, &message, limit);
        if limit < message.len() {
            // One byte short: refused as too big, never corrupt.
            assert!(
                matches!(result, Err(ProtocolError::MessageTooLarge { .. })),
                "{result:?}"
            );
            return;
        }
        result.expect("our own output inflates");
    }
}

fuzz_target!(|input: Input| {
    match input {
        Input::Inflate {
            params,
            max_len,
            messages,
        } => inflate(params, max_len, messages),
        Input::RoundTrip {
            params,
            messages,
            tight,
        } => round_trip(params, messages, tight),
        Input::Foreign { params, messages } => foreign(params, messages),
    }
});
