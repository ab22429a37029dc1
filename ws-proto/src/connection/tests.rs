use super::*;
use crate::*;
use proptest::prelude::*;
use recv::UPFRONT_RESERVE;

pub(super) const KEY: MaskingKey = MaskingKey([0x37, 0xfa, 0x21, 0x3d]);

/// Encodes a frame as a client would (masked with `KEY`) or a server (unmasked).
pub(super) fn frame(fin: bool, opcode: OpCode, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut h = FrameHeader::new(opcode, payload.len() as u64);
    h.fin = fin;
    h.mask = masked.then_some(KEY);
    let mut out = BytesMut::new();
    h.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    if masked {
        apply_mask(&mut out[start..], KEY, 0);
    }
    out.to_vec()
}

pub(super) fn client_frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    frame(fin, opcode, payload, true)
}

pub(super) fn server() -> Connection {
    Connection::new(Role::Server, Config::default())
}

pub(super) fn events(conn: &mut Connection) -> Vec<Result<Event, ProtocolError>> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        match conn.next_event() {
            Ok(Some(e)) => out.push(Ok(e)),
            Ok(None) => return out,
            Err(e) => out.push(Err(e)),
        }
    }
    panic!("next_event did not settle");
}

pub(super) fn msg(m: Message) -> Result<Event, ProtocolError> {
    Ok(Event::Message(m))
}

/// Decodes everything `conn` queued, as the peer would (unmasking client frames).
pub(super) fn sent_frames(conn: &mut Connection) -> Vec<(FrameHeader, Vec<u8>)> {
    let bytes = conn.take_output();
    let mut rest = &bytes[..];
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let (h, n) = FrameHeader::decode(rest).unwrap().unwrap();
        let len = h.payload_len as usize;
        let mut payload = rest[n..n + len].to_vec();
        if let Some(key) = h.mask {
            apply_mask(&mut payload, key, 0);
        }
        frames.push((h, payload));
        rest = &rest[n + len..];
    }
    frames
}

pub(super) fn close_code_sent(conn: &mut Connection) -> Option<u16> {
    let frames = sent_frames(conn);
    let (h, p) = frames.last()?;
    assert_eq!(h.opcode, OpCode::Close);
    (p.len() >= 2).then(|| u16::from_be_bytes([p[0], p[1]]))
}

pub(super) fn fails_with(bytes: &[u8], role: Role, expected: ProtocolError, code: u16) {
    let mut conn = Connection::new(role, Config::default());
    conn.receive(bytes);
    let evs = events(&mut conn);
    assert_eq!(evs.last(), Some(&Err(expected.clone())), "{evs:?}");
    assert_eq!(expected.close_code().0, code);
    assert_eq!(close_code_sent(&mut conn), Some(code));
    assert_eq!(conn.state(), State::Closed);
    assert!(conn.should_close_transport());
    assert_eq!(conn.next_event(), Ok(None), "the error is reported once");
}

#[test]
fn rfc_5_7_examples() {
    // A single-frame unmasked text message, received by a client.
    let mut c = Connection::new(Role::Client, Config::default());
    c.receive(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(events(&mut c), [msg(Message::text("Hello"))]);
    // A single-frame masked text message, received by a server.
    let mut s = server();
    s.receive(&[
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ]);
    assert_eq!(events(&mut s), [msg(Message::text("Hello"))]);
    // A fragmented unmasked text message.
    let mut c = Connection::new(Role::Client, Config::default());
    c.receive(&[0x01, 0x03, 0x48, 0x65, 0x6c]);
    c.receive(&[0x80, 0x02, 0x6c, 0x6f]);
    assert_eq!(events(&mut c), [msg(Message::text("Hello"))]);
    // Unmasked ping, and the masked pong a client answers with.
    let mut c = Connection::new(Role::Client, Config::default());
    c.receive(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(
        events(&mut c),
        [msg(Message::Ping(Bytes::from_static(b"Hello")))]
    );
    let pong = sent_frames(&mut c);
    assert_eq!(pong.len(), 1);
    assert_eq!(pong[0].0.opcode, OpCode::Pong);
    assert!(pong[0].0.mask.is_some());
    assert_eq!(pong[0].1, b"Hello");
    // A server's unmasked pong is byte for byte the RFC's (0x8a 0x05 "Hello").
    let mut s = server();
    s.send(Message::Pong(Bytes::from_static(b"Hello"))).unwrap();
    assert_eq!(s.take_output(), [0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    // 256 bytes and 64 KiB binary messages in a single unmasked frame.
    let mut s = server();
    s.send(Message::binary(vec![0u8; 256])).unwrap();
    assert_eq!(s.take_output()[..4], [0x82, 0x7E, 0x01, 0x00]);
    s.send(Message::binary(vec![0u8; 65536])).unwrap();
    let out = s.take_output();
    assert_eq!(out[..10], [0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
    assert_eq!(out.len(), 10 + 65536);
}

#[test]
fn client_masks_every_frame_with_fresh_keys() {
    let mut c = Connection::new(Role::Client, Config::default());
    for _ in 0..20 {
        c.send(Message::text("same payload")).unwrap();
    }
    let frames = sent_frames(&mut c);
    let keys: std::collections::HashSet<_> = frames.iter().map(|(h, _)| h.mask.unwrap()).collect();
    assert!(keys.len() >= 19, "keys repeat");
    assert!(frames.iter().all(|(_, p)| p == b"same payload"));
    let mut s = server();
    s.send(Message::text("x")).unwrap();
    assert!(sent_frames(&mut s)[0].0.mask.is_none());
}

#[test]
fn fragments_get_fresh_keys_and_connections_do_not_share_a_key_sequence() {
    // Every fragment of a message split by fragment_size has its own key, and the payload
    // still reads back whole: the single-frame path and the split path mask alike.
    let mut c = Connection::new(Role::Client, Config::default().fragment_size(4));
    c.send(Message::binary(b"0123456789".to_vec())).unwrap();
    c.send(Message::binary(b"abc".to_vec())).unwrap();
    let frames = sent_frames(&mut c);
    let payloads: Vec<&[u8]> = frames.iter().map(|(_, p)| &p[..]).collect();
    assert_eq!(payloads, [&b"0123"[..], b"4567", b"89", b"abc"]);
    let keys: std::collections::HashSet<_> = frames.iter().map(|(h, _)| h.mask.unwrap()).collect();
    assert_eq!(
        keys.len(),
        frames.len(),
        "a key repeats within one connection"
    );
    // Each connection has its own generator, seeded from the OS: no two start alike.
    let first_keys = |_| {
        let mut c = Connection::new(Role::Client, Config::default());
        for _ in 0..4 {
            c.send(Message::text("x")).unwrap();
        }
        let keys: Vec<_> = sent_frames(&mut c).iter().map(|(h, _)| h.mask).collect();
        keys
    };
    let sequences: std::collections::HashSet<_> = (0..8).map(first_keys).collect();
    assert_eq!(sequences.len(), 8, "two connections drew the same keys");
    // Debug output of a client connection never shows the generator's state.
    let debug = format!("{c:?}");
    assert!(debug.contains("MaskKeys { seeded: true }"), "{debug}");
}

#[test]
fn roles_enforce_masking() {
    fails_with(
        &frame(true, OpCode::Text, b"hi", false),
        Role::Server,
        ProtocolError::UnmaskedFrame,
        1002,
    );
    fails_with(
        &frame(true, OpCode::Text, b"hi", true),
        Role::Client,
        ProtocolError::MaskedFrame,
        1002,
    );
}

#[test]
fn reserved_opcodes_and_bits() {
    for op in [3u8, 7, 0xB, 0xF] {
        fails_with(
            &[0x80 | op, 0x80, 1, 2, 3, 4],
            Role::Server,
            ProtocolError::ReservedOpCode(op),
            1002,
        );
    }
    for rsv in [0x40u8, 0x20, 0x10] {
        fails_with(
            &[0x81 | rsv, 0x80, 1, 2, 3, 4],
            Role::Server,
            ProtocolError::ReservedBits,
            1002,
        );
    }
    fails_with(
        &[0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
        Role::Server,
        ProtocolError::InvalidPayloadLength,
        1002,
    );
}

#[test]
fn control_frame_rules() {
    let big = vec![b'x'; 126];
    fails_with(
        &client_frame(true, OpCode::Ping, &big),
        Role::Server,
        ProtocolError::ControlFrameTooLong(126),
        1002,
    );
    fails_with(
        &client_frame(false, OpCode::Ping, b"x"),
        Role::Server,
        ProtocolError::FragmentedControlFrame,
        1002,
    );
    // 125 bytes is fine and echoed exactly.
    let mut s = server();
    s.receive(&client_frame(true, OpCode::Ping, &big[..125]));
    assert_eq!(
        events(&mut s),
        [msg(Message::Ping(Bytes::from(big[..125].to_vec())))]
    );
    let pong = sent_frames(&mut s);
    assert_eq!((pong[0].0.opcode, pong[0].1.len()), (OpCode::Pong, 125));
    // Pongs surface as events and are not answered.
    s.receive(&client_frame(true, OpCode::Pong, b"p"));
    assert_eq!(
        events(&mut s),
        [msg(Message::Pong(Bytes::from_static(b"p")))]
    );
    assert_eq!(s.output_len(), 0);
    // Sending an oversized control frame is refused.
    assert_eq!(
        s.send(Message::Ping(Bytes::from(big))),
        Err(SendError::ControlFrameTooLong(126))
    );
}

#[test]
fn auto_pong_can_be_turned_off() {
    let mut s = Connection::new(Role::Server, Config::default().auto_pong(false));
    s.receive(&client_frame(true, OpCode::Ping, b"x"));
    assert_eq!(
        events(&mut s),
        [msg(Message::Ping(Bytes::from_static(b"x")))]
    );
    assert_eq!(s.output_len(), 0);
}

#[test]
fn fragmentation_with_interleaved_control() {
    let mut s = server();
    let mut input = client_frame(false, OpCode::Binary, b"ab");
    input.extend(client_frame(true, OpCode::Ping, b"p"));
    input.extend(client_frame(false, OpCode::Continuation, b""));
    input.extend(client_frame(true, OpCode::Continuation, b"cd"));
    s.receive(&input);
    assert_eq!(
        events(&mut s),
        [
            msg(Message::Ping(Bytes::from_static(b"p"))),
            msg(Message::binary(&b"abcd"[..]))
        ]
    );
}

#[test]
fn fragmentation_errors() {
    fails_with(
        &client_frame(true, OpCode::Continuation, b"x"),
        Role::Server,
        ProtocolError::UnexpectedContinuation,
        1002,
    );
    let mut input = client_frame(false, OpCode::Text, b"a");
    input.extend(client_frame(true, OpCode::Text, b"b"));
    fails_with(
        &input,
        Role::Server,
        ProtocolError::ExpectedContinuation,
        1002,
    );
}

#[test]
fn frame_mode_streams_fragments() {
    let mut s = Connection::new(
        Role::Server,
        Config::default().reassemble(false).max_message_size(4),
    );
    let mut input = client_frame(false, OpCode::Text, "h\u{e9}".as_bytes()[..2].as_ref());
    input.extend(client_frame(
        false,
        OpCode::Continuation,
        &"h\u{e9}".as_bytes()[2..],
    ));
    input.extend(client_frame(true, OpCode::Continuation, b"llo"));
    s.receive(&input);
    let evs = events(&mut s);
    let frames: Vec<_> = evs
        .into_iter()
        .map(|e| match e {
            Ok(Event::Frame(f)) => (f.opcode, f.fin, f.payload.to_vec()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        frames,
        [
            (OpCode::Text, false, vec![b'h', 0xC3]),
            (OpCode::Continuation, false, vec![0xA9]),
            (OpCode::Continuation, true, b"llo".to_vec())
        ]
    );
    // A text message broken across frames is still validated as a whole.
    let mut s = Connection::new(Role::Server, Config::default().reassemble(false));
    let mut input = client_frame(false, OpCode::Text, &[b'a', 0xC3]);
    input.extend(client_frame(true, OpCode::Continuation, b"x"));
    s.receive(&input);
    let evs = events(&mut s);
    assert_eq!(evs.last(), Some(&Err(ProtocolError::InvalidUtf8)));
}

#[test]
fn sending_fragments() {
    let mut s = server();
    let f = |opcode, fin, p: &'static [u8]| Frame {
        opcode,
        fin,
        payload: Bytes::from_static(p),
    };
    assert_eq!(
        s.send_frame(f(OpCode::Continuation, true, b"x")),
        Err(SendError::InvalidFrameSequence)
    );
    s.send_frame(f(OpCode::Text, false, b"he")).unwrap();
    assert_eq!(
        s.send(Message::text("no")),
        Err(SendError::InvalidFrameSequence)
    );
    assert_eq!(
        s.send_frame(f(OpCode::Binary, true, b"x")),
        Err(SendError::InvalidFrameSequence)
    );
    s.send(Message::Ping(Bytes::new())).unwrap();
    s.send_frame(f(OpCode::Continuation, true, b"llo")).unwrap();
    let mut c = Connection::new(Role::Client, Config::default());
    c.receive(&s.take_output());
    assert_eq!(
        events(&mut c),
        [
            msg(Message::Ping(Bytes::new())),
            msg(Message::text("hello"))
        ]
    );
}

#[test]
fn invalid_utf8_fails_fast_mid_frame() {
    // The frame announces 20 bytes; only the invalid start arrives, and the error comes at once.
    let full = client_frame(true, OpCode::Text, b"ok\xF4\x90\x80\x80 and more bytes");
    let mut s = server();
    s.receive(&full[..10]);
    assert_eq!(s.next_event(), Err(ProtocolError::InvalidUtf8));
    assert_eq!(close_code_sent(&mut s), Some(1007));
    // Also when the invalid byte is in a later fragment.
    let mut s = server();
    s.receive(&client_frame(false, OpCode::Text, "κόσμε".as_bytes()));
    assert_eq!(s.next_event(), Ok(None));
    s.receive(&client_frame(false, OpCode::Continuation, b"\xed\xa0\x80"));
    assert_eq!(s.next_event(), Err(ProtocolError::InvalidUtf8));
    // And a message ending in a truncated sequence fails at its end.
    fails_with(
        &client_frame(true, OpCode::Text, b"ab\xE2\x82"),
        Role::Server,
        ProtocolError::InvalidUtf8,
        1007,
    );
}

#[test]
fn limits_fail_before_buffering() {
    let cfg = Config::default()
        .max_frame_size(1000)
        .max_message_size(1500);
    // Only the header of a too-large frame is needed to fail it.
    let mut s = Connection::new(Role::Server, cfg.clone());
    s.receive(&client_frame(true, OpCode::Binary, &[0; 1001])[..8]);
    assert_eq!(
        s.next_event(),
        Err(ProtocolError::FrameTooLarge {
            size: 1001,
            max: 1000
        })
    );
    assert_eq!(close_code_sent(&mut s), Some(1009));
    // A message crossing the limit fails at the header of the frame that crosses it.
    let mut s = Connection::new(Role::Server, cfg);
    s.receive(&client_frame(false, OpCode::Binary, &[0; 1000]));
    assert_eq!(s.next_event(), Ok(None));
    s.receive(&client_frame(true, OpCode::Continuation, &[0; 501])[..8]);
    assert_eq!(
        s.next_event(),
        Err(ProtocolError::MessageTooLarge {
            size: 1501,
            max: 1500
        })
    );
    assert_eq!(close_code_sent(&mut s), Some(1009));
    // Huge announced lengths are refused without allocating.
    fails_with(
        &[
            0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4,
        ],
        Role::Server,
        ProtocolError::FrameTooLarge {
            size: i64::MAX as u64,
            // No separate frame limit by default: frames are bounded by max_message_size.
            max: 64 << 20,
        },
        1009,
    );
}

#[test]
fn write_buffer_limit_signals_backpressure() {
    let mut s = Connection::new(Role::Server, Config::default().write_buffer_limit(100));
    assert!(!s.is_write_buffer_full());
    s.send(Message::binary(vec![0; 120])).unwrap();
    assert!(s.is_write_buffer_full());
    let n = s.output().len();
    s.advance_output(n);
    assert!(!s.is_write_buffer_full());
}

#[test]
fn single_frame_payload_is_not_copied() {
    let mut s = server();
    s.receive(&client_frame(true, OpCode::Binary, &[9; 300]));
    let start = s.read_buffer().as_ptr() as usize;
    let Ok(Some(Event::Message(Message::Binary(b)))) = s.next_event() else {
        panic!()
    };
    let p = b.as_ptr() as usize;
    assert!(
        p >= start && p < start + 320,
        "payload points into the read buffer"
    );
}

fn data_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        "\\PC{0,40}".prop_map(Message::text),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Message::binary),
        proptest::collection::vec(any::<u8>(), 0..125).prop_map(|v| Message::Ping(v.into())),
        proptest::collection::vec(any::<u8>(), 0..125).prop_map(|v| Message::Pong(v.into())),
    ]
}

fn chunked_events(bytes: &[u8], cuts: &[usize], role: Role) -> Vec<Result<Event, ProtocolError>> {
    let mut conn = Connection::new(role, Config::default().auto_pong(false));
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut start = 0;
    let mut evs = Vec::new();
    for c in cuts.into_iter().chain([bytes.len()]) {
        conn.receive(&bytes[start..c]);
        start = c;
        evs.extend(events(&mut conn));
    }
    evs
}

proptest! {
    #[test]
    fn messages_round_trip_both_ways(msgs in proptest::collection::vec(data_message(), 0..8)) {
        for (from, to) in [(Role::Client, Role::Server), (Role::Server, Role::Client)] {
            let mut a = Connection::new(from, Config::default());
            let mut b = Connection::new(to, Config::default().auto_pong(false));
            for m in &msgs { a.send(m.clone()).unwrap(); }
            b.receive(&a.take_output());
            let got = events(&mut b);
            let want: Vec<_> = msgs.iter().cloned().map(msg).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn any_chunking_gives_the_same_events(msgs in proptest::collection::vec(data_message(), 1..6),
                                          cuts in proptest::collection::vec(any::<usize>(), 0..12),
                                          garbage in proptest::collection::vec(any::<u8>(), 0..20)) {
        let mut a = Connection::new(Role::Client, Config::default());
        for m in &msgs { a.send(m.clone()).unwrap(); }
        let mut bytes = a.take_output();
        bytes.extend(garbage); // often a protocol error: it must be found at the same point
        let whole = chunked_events(&bytes, &[], Role::Server);
        prop_assert_eq!(chunked_events(&bytes, &cuts, Role::Server), whole.clone());
        let one_by_one: Vec<usize> = (0..bytes.len()).collect();
        prop_assert_eq!(chunked_events(&bytes, &one_by_one, Role::Server), whole);
    }

    #[test]
    fn arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), server: bool) {
        let role = if server { Role::Server } else { Role::Client };
        let mut conn = Connection::new(role, Config::default().max_frame_size(100));
        conn.receive(&bytes);
        conn.receive_eof();
        let _ = events(&mut conn);
        let _ = conn.take_output();
    }
}

#[test]
fn a_bare_header_does_not_reserve_the_announced_length() {
    // 82 ff + 64-bit length of 16 MiB - 1 + mask key, and no payload.
    let header = [0x82, 0xff, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 1, 2, 3, 4];
    let mut s = server();
    s.receive(&header);
    assert_eq!(s.next_event(), Ok(None));
    assert!(
        s.read_buffer().capacity() <= UPFRONT_RESERVE + 64,
        "reserved {} bytes for a header alone",
        s.read_buffer().capacity()
    );
}
