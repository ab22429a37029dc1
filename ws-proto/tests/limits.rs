//! What the peer can make us queue (pongs, close replies) stays within the write buffer limit
//! plus one control frame, and large messages are fragmented on the way out.

use proptest::prelude::*;
use ws_proto::{
    apply_mask, Bytes, BytesMut, Config, Connection, DeflateConfig, Event, FrameHeader, MaskingKey,
    Message, OpCode, PerMessageDeflate, PreparedMessage, Role,
};

/// The longest control frame: a 2-byte header, a masking key and 125 bytes of payload.
const CONTROL_FRAME: usize = 2 + 4 + 125;

/// A frame as the peer of `role` sends it (masked when it is a client).
fn peer_frame(role: Role, fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut header = FrameHeader::new(opcode, payload.len() as u64);
    header.fin = fin;
    let key = MaskingKey([1, 2, 3, 4]);
    header.mask = (role == Role::Server).then_some(key);
    let mut out = BytesMut::new();
    header.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    if role == Role::Server {
        apply_mask(&mut out[start..], key, 0);
    }
    out.to_vec()
}

/// Decodes `bytes` as the peer would: each frame's header and unmasked payload.
fn frames(bytes: &[u8]) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut rest = bytes;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (header, n) = FrameHeader::decode(rest).unwrap().unwrap();
        let len = header.payload_len as usize;
        let mut payload = rest[n..n + len].to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        out.push((header, payload));
        rest = &rest[n + len..];
    }
    out
}

fn drain_events(conn: &mut Connection) {
    for _ in 0..100_000 {
        match conn.next_event() {
            Ok(Some(_)) | Err(_) => {}
            Ok(None) => return,
        }
    }
    panic!("next_event did not settle");
}

#[test]
fn a_ping_flood_queues_at_most_the_limit_and_the_latest_pong() {
    for role in [Role::Server, Role::Client] {
        let limit = 1000;
        let mut conn = Connection::new(role, Config::default().write_buffer_limit(limit));
        for i in 0..10_000u32 {
            conn.receive(&peer_frame(role, true, OpCode::Ping, &i.to_be_bytes()));
            drain_events(&mut conn);
            assert!(conn.output_len() <= limit, "{} queued", conn.output_len());
        }
        // Once written, the slot releases the reply to the latest ping, after the rest.
        let sent = frames(&conn.take_output());
        assert!(sent.iter().all(|(h, _)| h.opcode == OpCode::Pong));
        assert!(sent.len() < 200, "{} pongs for a full buffer", sent.len());
        assert_eq!(sent.last().unwrap().1, 9_999u32.to_be_bytes());
        assert_eq!(conn.output_len(), 0);
    }
}

#[test]
fn a_held_back_pong_goes_out_before_data_queued_after_it() {
    let mut conn = Connection::new(Role::Server, Config::default().write_buffer_limit(100));
    conn.send(Message::binary(vec![1u8; 200])).unwrap();
    conn.receive(&peer_frame(Role::Server, true, OpCode::Ping, b"first"));
    conn.receive(&peer_frame(Role::Server, true, OpCode::Ping, b"latest"));
    drain_events(&mut conn);
    assert_eq!(
        conn.output_len(),
        204,
        "the pong waits while the buffer is full"
    );
    conn.send(Message::text("after")).unwrap();
    let sent = frames(&conn.take_output());
    let kinds: Vec<_> = sent.iter().map(|(h, p)| (h.opcode, p.len())).collect();
    assert_eq!(
        kinds,
        [(OpCode::Binary, 200), (OpCode::Pong, 6), (OpCode::Text, 5)]
    );
    assert_eq!(sent[1].1, b"latest");
}

#[test]
fn close_frames_after_close_queue_nothing() {
    let mut conn = Connection::new(Role::Server, Config::default());
    conn.receive(&peer_frame(Role::Server, true, OpCode::Close, &[3, 232]));
    for _ in 0..1000 {
        conn.receive(&peer_frame(Role::Server, true, OpCode::Close, &[3, 232]));
        conn.receive(&peer_frame(Role::Server, true, OpCode::Ping, b"p"));
        drain_events(&mut conn);
    }
    let sent = frames(&conn.take_output());
    assert_eq!(sent.len(), 1, "one close reply: {sent:?}");
    assert_eq!(sent[0].0.opcode, OpCode::Close);
}

#[test]
fn large_messages_go_out_fragmented_and_arrive_whole() {
    let payload: Vec<u8> = (0..3_500_000u32).map(|i| (i * 7 % 251) as u8).collect();
    for deflate in [false, true] {
        let config = Config::default().fragment_size(1 << 20);
        let mut client = Connection::new(Role::Client, config.clone());
        let mut server = Connection::new(Role::Server, config);
        if deflate {
            let dc = DeflateConfig::default();
            client.set_extension(Box::new(PerMessageDeflate::new(Role::Client, &dc)));
            server.set_extension(Box::new(PerMessageDeflate::new(Role::Server, &dc)));
        }
        // Incompressible: several frames even compressed.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let noise: Vec<u8> = (0..3_500_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 32) as u8
            })
            .collect();
        for (data, compressible) in [(&payload, true), (&noise, false)] {
            client.send(Message::binary(data.clone())).unwrap();
            let bytes = client.take_output();
            let sent = frames(&bytes);
            if !(deflate && compressible) {
                assert!(
                    sent.len() >= 4,
                    "deflate {deflate}: {} frame(s)",
                    sent.len()
                );
            }
            for (i, (h, p)) in sent.iter().enumerate() {
                assert!(p.len() <= 1 << 20);
                assert_eq!(h.fin, i + 1 == sent.len());
                let first = i == 0;
                let opcode = if first {
                    OpCode::Binary
                } else {
                    OpCode::Continuation
                };
                assert_eq!(h.opcode, opcode);
                assert_eq!(h.rsv1, first && deflate, "RSV1 on the first frame only");
            }
            server.receive(&bytes);
            let got = server.next_event().unwrap();
            assert_eq!(got, Some(Event::Message(Message::binary(data.clone()))));
        }
    }
}

#[test]
fn large_prepared_messages_go_out_fragmented_too() {
    let data = Bytes::from(vec![9u8; (2 << 20) + 5]);
    let prepared = PreparedMessage::binary(data.clone());
    for deflate in [false, true] {
        // Compressed, the message would fit one frame of 1 MiB: split it finer.
        let fragment = if deflate { 1000 } else { 1 << 20 };
        let config = Config::default().fragment_size(fragment);
        let mut server = Connection::new(Role::Server, config);
        let mut client = Connection::new(Role::Client, Config::default());
        if deflate {
            let mut dc = DeflateConfig::default();
            dc.server_no_context_takeover = true;
            dc.threshold = 0;
            server.set_extension(Box::new(PerMessageDeflate::new(Role::Server, &dc)));
            client.set_extension(Box::new(PerMessageDeflate::new(Role::Client, &dc)));
        }
        server.send_prepared(&prepared).unwrap();
        let bytes = server.take_output();
        let sent = frames(&bytes);
        assert!(
            sent.len() >= 3,
            "deflate {deflate}: {} frame(s)",
            sent.len()
        );
        assert!(sent.iter().all(|(_, p)| p.len() <= fragment));
        assert_eq!(sent[0].0.rsv1, deflate);
        assert!(sent[1..].iter().all(|(h, _)| !h.rsv1));
        client.receive(&bytes);
        let got = client.next_event().unwrap();
        assert_eq!(got, Some(Event::Message(Message::Binary(data.clone()))));
    }
}

#[test]
fn a_single_frame_up_to_the_message_limit_is_accepted_by_default() {
    let config = Config::default();
    assert_eq!(config.frame_limit(), config.max_message_size);
    let mut server = Connection::new(Role::Server, config.clone());
    let mut client = Connection::new(Role::Client, config.fragment_size(usize::MAX));
    let data = Bytes::from(vec![5u8; 20 << 20]);
    client.send(Message::Binary(data.clone())).unwrap();
    let bytes = client.take_output();
    assert_eq!(frames(&bytes).len(), 1);
    server.receive(&bytes);
    assert_eq!(
        server.next_event(),
        Ok(Some(Event::Message(Message::Binary(data))))
    );
    // A smaller frame limit is still honoured.
    let mut strict = Connection::new(Role::Server, Config::default().max_frame_size(1 << 20));
    strict.receive(&bytes[..14]);
    assert!(strict.next_event().is_err());
}

/// Bytes a peer might send: garbage, and well-formed pings, closes and data in between.
fn peer_bytes(role: Role) -> impl Strategy<Value = Vec<u8>> {
    let chunk = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(any::<u8>(), 0..125).prop_map(move |p| peer_frame(
            role,
            true,
            OpCode::Ping,
            &p
        )),
        proptest::collection::vec(any::<u8>(), 0..60).prop_map(move |p| peer_frame(
            role,
            true,
            OpCode::Binary,
            &p
        )),
        Just(peer_frame(role, true, OpCode::Close, &[3, 232])),
    ];
    proptest::collection::vec(chunk, 0..60).prop_map(|chunks| chunks.concat())
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Server), Just(Role::Client)]
}

proptest! {
    #[test]
    fn output_never_exceeds_the_limit_plus_one_frame_whatever_the_peer_sends(
        (role, bytes) in role().prop_flat_map(|r| (Just(r), peer_bytes(r))),
        limit in 0usize..600,
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut conn = Connection::new(role, Config::default().write_buffer_limit(limit));
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut start = 0;
        for c in cuts.into_iter().chain([bytes.len()]) {
            conn.receive(&bytes[start..c]);
            start = c;
            drain_events(&mut conn);
            let bound = limit.max(CONTROL_FRAME) + CONTROL_FRAME;
            prop_assert!(conn.output_len() <= bound, "{} > {bound}", conn.output_len());
        }
    }
}
