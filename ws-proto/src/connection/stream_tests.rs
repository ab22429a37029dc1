//! Streamed reception and sending (issue 19).
use super::*;
use crate::deflate::{DeflateConfig, PerMessageDeflate};
use crate::*;

fn conn(role: Role, config: Config, deflate: bool) -> Connection {
    let mut conn = Connection::new(role, config);
    if deflate {
        let params = DeflateConfig {
            threshold: 0,
            ..DeflateConfig::default()
        };
        conn.set_extension(Box::new(PerMessageDeflate::new(role, &params)));
    }
    conn
}

/// Chunks (opcode, fin, bytes) and other events, until more input is needed or an error.
fn drain(conn: &mut Connection) -> Result<Vec<Event>, ProtocolError> {
    let mut all = Vec::new();
    while let Some(event) = conn.next_event()? {
        all.push(event);
    }
    Ok(all)
}

fn chunk(event: &Event) -> (OpCode, bool, &[u8]) {
    match event {
        Event::Frame(f) => (f.opcode, f.fin, &f.payload[..]),
        other => panic!("not a chunk: {other:?}"),
    }
}

/// Sends `data` from `sender` as a streamed message written in pieces of `piece` bytes.
fn stream_out(sender: &mut Connection, opcode: OpCode, data: &[u8], piece: usize) {
    sender.send_stream_begin(opcode).unwrap();
    for part in data.chunks(piece) {
        sender.send_stream_write(part).unwrap();
    }
    sender.send_stream_end().unwrap();
}

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| b"abcdefghij klmnop\n"[i % 18]).collect()
}

#[test]
fn a_streamed_message_arrives_in_chunks_as_its_bytes_do_and_whole_ones_follow() {
    for deflate in [false, true] {
        let config = Config::default()
            .fragment_size(10_000)
            .max_message_size(50_000);
        let mut client = conn(Role::Client, config.clone(), deflate);
        let mut server = conn(Role::Server, config, deflate);
        let data = sample(300_000);
        stream_out(&mut client, OpCode::Text, &data, 7_000);
        client.send(Message::text("after")).unwrap();
        let wire = client.take_output();
        // The server lifts its 50 000-byte limit for this one message.
        server.stream_next_message(1 << 20);
        let mut got = Vec::new();
        let mut chunks = Vec::new();
        // Byte by byte at first, then in 4 KiB reads: chunks come as bytes arrive.
        for piece in wire[..100].chunks(1).chain(wire[100..].chunks(4096)) {
            server.receive(piece);
            for event in drain(&mut server).unwrap() {
                chunks.push(event);
            }
        }
        let last = chunks.pop().unwrap();
        assert_eq!(
            last,
            Event::Message(Message::text("after")),
            "deflate {deflate}"
        );
        assert_eq!(chunk(&chunks[0]).0, OpCode::Text);
        for (i, event) in chunks.iter().enumerate() {
            let (opcode, fin, bytes) = chunk(event);
            assert!(i == 0 || opcode == OpCode::Continuation);
            assert_eq!(fin, i == chunks.len() - 1);
            assert!(bytes.len() <= stream_recv::STREAM_CHUNK);
            got.extend_from_slice(bytes);
        }
        assert!(chunks.len() > 30, "{} chunks", chunks.len());
        assert_eq!(got, data, "deflate {deflate}");
        // The lift was for that message only.
        client.send(Message::binary(sample(60_000))).unwrap();
        server.receive(&client.take_output());
        let error = drain(&mut server).unwrap_err();
        assert!(
            matches!(error, ProtocolError::MessageTooLarge { .. }),
            "{error:?}"
        );
    }
}

#[test]
fn invalid_utf8_fails_with_1007_before_the_rest_arrives() {
    for deflate in [false, true] {
        let mut client = conn(Role::Client, Config::default(), deflate);
        let mut server = conn(Role::Server, Config::default(), deflate);
        client.send_stream_begin(OpCode::Binary).unwrap();
        let mut bad = sample(5000);
        bad[4000] = 0xFF;
        client.send_stream_write(&bad).unwrap();
        client.send_stream_flush().unwrap();
        // The rest of the message is never sent: the error cannot wait for it.
        let mut wire = client.take_output();
        wire[0] = (wire[0] & 0xF0) | 0x01; // the client sends it as text
        server.stream_next_message(u64::MAX);
        server.receive(&wire);
        let error = drain(&mut server).unwrap_err();
        assert_eq!(
            error.close_code(),
            CloseCode::INVALID_PAYLOAD,
            "deflate {deflate}"
        );
    }
}

#[test]
fn a_streamed_message_over_its_limit_fails_with_1009_mid_stream() {
    for deflate in [false, true] {
        let config = Config::default().fragment_size(1000);
        let mut client = conn(Role::Client, config.clone(), deflate);
        let mut server = conn(Role::Server, config, deflate);
        client.send_stream_begin(OpCode::Binary).unwrap();
        client.send_stream_write(&vec![0u8; 200_000]).unwrap();
        client.send_stream_flush().unwrap();
        server.stream_next_message(100_000);
        server.receive(&client.take_output());
        let mut delivered = 0;
        let error = loop {
            match server.next_event() {
                Ok(Some(Event::Frame(f))) => delivered += f.payload.len(),
                Ok(other) => panic!("{other:?}"),
                Err(e) => break e,
            }
        };
        assert_eq!(error.close_code(), CloseCode::MESSAGE_TOO_BIG);
        assert!(delivered <= 100_000, "{delivered}");
        // Uncompressed, what arrived under the limit was delivered; 200 000 zeros inflate
        // past it in the first chunk.
        assert!(deflate || delivered > 0);
    }
}

#[test]
fn pings_between_the_fragments_of_a_streamed_message_are_answered() {
    let config = Config::default().fragment_size(100);
    let mut client = conn(Role::Client, config.clone(), false);
    let mut server = conn(Role::Server, config, false);
    server.send_stream_begin(OpCode::Binary).unwrap();
    server.send_stream_write(&sample(250)).unwrap();
    client
        .send(Message::Ping(Bytes::from_static(b"p")))
        .unwrap();
    server.receive(&client.take_output());
    assert_eq!(
        drain(&mut server).unwrap(),
        [Event::Message(Message::Ping(Bytes::from_static(b"p")))]
    );
    server.send_stream_write(&sample(10)).unwrap();
    server.send_stream_end().unwrap();
    // A whole message cannot start inside the streamed one; after it, it can.
    client.receive(&server.take_output());
    client.stream_next_message(u64::MAX);
    let events = drain(&mut client).unwrap();
    let pong = Event::Message(Message::Pong(Bytes::from_static(b"p")));
    assert_eq!(events.iter().filter(|e| **e == pong).count(), 1);
    let bytes: Vec<u8> = events
        .iter()
        .filter(|e| **e != pong)
        .flat_map(|e| chunk(e).2.to_vec())
        .collect();
    assert_eq!(bytes.len(), 260);
}

#[test]
fn a_message_being_reassembled_can_switch_to_streaming() {
    let mut client = conn(Role::Client, Config::default().fragment_size(10), false);
    let mut server = conn(Role::Server, Config::default(), false);
    stream_out(&mut client, OpCode::Text, b"0123456789abcdefghij", 20);
    let wire = client.take_output();
    server.receive(&wire[..16 + 5]); // the first frame and half of the second
    assert_eq!(drain(&mut server).unwrap(), []);
    server.stream_next_message(u64::MAX);
    server.receive(&wire[21..]);
    let events = drain(&mut server).unwrap();
    let chunks: Vec<_> = events.iter().map(chunk).collect();
    assert_eq!(chunks[0], (OpCode::Text, false, &b"0123456789"[..]));
    let rest: Vec<u8> = chunks[1..].iter().flat_map(|c| c.2.to_vec()).collect();
    assert_eq!(rest, b"abcdefghij");
    assert!(chunks.last().unwrap().1);
}

#[test]
fn abandoning_a_streamed_send_fails_the_connection_with_1011_and_whole_sends_wait_for_its_end() {
    let mut client = conn(Role::Client, Config::default(), true);
    client.send_stream_begin(OpCode::Text).unwrap();
    client.send_stream_write(b"half a mess").unwrap();
    assert_eq!(
        client.send(Message::text("x")),
        Err(SendError::InvalidFrameSequence)
    );
    assert_eq!(
        client.send_stream_write(&[0xC3, 0x28]),
        Err(SendError::InvalidUtf8)
    );
    client.send_stream_flush().unwrap();
    client.send_stream_abort();
    let mut server = conn(Role::Server, Config::default(), true);
    server.receive(&client.take_output());
    let events = drain(&mut server).unwrap();
    let Some(Event::Message(Message::Close(Some(frame)))) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(frame.code, CloseCode::INTERNAL_ERROR);
}

#[test]
fn a_stream_request_withdrawn_before_any_chunk_leaves_the_message_whole() {
    for deflate in [false, true] {
        let mut client = conn(Role::Client, Config::default().fragment_size(3000), deflate);
        let mut server = conn(Role::Server, Config::default(), deflate);
        let data = sample(10_000);
        stream_out(&mut client, OpCode::Binary, &data, 10_000);
        let wire = client.take_output();
        server.stream_next_message(u64::MAX);
        // The first frame's header arrives: the message is taken for streaming, no chunk yet.
        let (_, header) = FrameHeader::decode(&wire).unwrap().unwrap();
        server.receive(&wire[..header]);
        assert_eq!(drain(&mut server).unwrap(), []);
        assert!(server.is_streaming_message());
        // The request is withdrawn (a cancelled `recv_stream`): the message comes whole.
        server.reassemble_next_message();
        server.receive(&wire[header..]);
        assert_eq!(
            drain(&mut server).unwrap(),
            [Event::Message(Message::binary(data.clone()))],
            "deflate {deflate}"
        );
    }
}
