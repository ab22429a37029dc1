//! The connection with a negotiated extension (permessage-deflate).
use super::*;
use crate::deflate::{DeflateConfig, PerMessageDeflate};
use crate::*;

fn deflating(role: Role, config: Config) -> Connection {
    let mut conn = Connection::new(role, config);
    let deflate = DeflateConfig {
        threshold: 0,
        level: 9,
        ..DeflateConfig::default()
    };
    conn.set_extension(Box::new(PerMessageDeflate::new(role, &deflate)));
    conn
}

fn all_events(conn: &mut Connection) -> Vec<Result<Event, ProtocolError>> {
    let mut out = Vec::new();
    loop {
        match conn.next_event() {
            Ok(Some(e)) => out.push(Ok(e)),
            Ok(None) => return out,
            Err(e) => {
                out.push(Err(e));
                return out;
            }
        }
    }
}

/// Frames a raw payload with the given first byte, masked as a client does.
fn raw_client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let key = MaskingKey([1, 2, 3, 4]);
    let mut h = FrameHeader::decode(&[b0, 0]).unwrap().unwrap().0;
    h.payload_len = payload.len() as u64;
    h.mask = Some(key);
    let mut out = BytesMut::new();
    h.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], key, 0);
    out.to_vec()
}

#[test]
fn compressed_messages_round_trip_and_set_rsv1() {
    let mut client = deflating(Role::Client, Config::default());
    let mut server = deflating(Role::Server, Config::default());
    let text = "{\"price\": 101.5, \"symbol\": \"ABC\"} ".repeat(50);
    for _ in 0..3 {
        client.send(Message::text(text.as_str())).unwrap();
        client
            .send(Message::Ping(Bytes::from_static(b"not compressed")))
            .unwrap();
    }
    let wire = client.take_output();
    assert!(wire.len() < text.len(), "compressed: {} bytes", wire.len());
    assert_eq!(wire[0], 0xC1, "FIN + RSV1 + text");
    server.receive(&wire);
    let evs = all_events(&mut server);
    assert_eq!(evs.len(), 6);
    for pair in evs.chunks(2) {
        assert_eq!(pair[0], Ok(Event::Message(Message::text(text.as_str()))));
        assert!(matches!(pair[1], Ok(Event::Message(Message::Ping(_)))));
    }
    let pong = server.take_output();
    assert_eq!(pong[0] & 0x70, 0, "control frames are never compressed");
}

#[test]
fn rsv1_is_only_granted_on_first_data_frames() {
    let mut server = deflating(Role::Server, Config::default());
    server.receive(&raw_client_frame(0xC9, b"")); // ping with RSV1
    assert_eq!(server.next_event(), Err(ProtocolError::ReservedBits));
    let mut server = deflating(Role::Server, Config::default());
    let mut input = raw_client_frame(0x41, &[0xf2, 0x48]); // text, RSV1, not FIN
    input.extend(raw_client_frame(0xC0, &[0xcd])); // continuation with RSV1
    server.receive(&input);
    assert_eq!(
        all_events(&mut server).last(),
        Some(&Err(ProtocolError::ReservedBits))
    );
    // RSV2 is not granted by permessage-deflate.
    let mut server = deflating(Role::Server, Config::default());
    server.receive(&raw_client_frame(0xA1, b""));
    assert_eq!(server.next_event(), Err(ProtocolError::ReservedBits));
}

#[test]
fn fragmented_compressed_message() {
    let mut server = deflating(Role::Server, Config::default());
    // RFC 7692 §7.2.3.1 "Hello", split over two frames.
    let mut input = raw_client_frame(0x41, &[0xf2, 0x48, 0xcd]);
    input.extend(raw_client_frame(0x80, &[0xc9, 0xc9, 0x07, 0x00]));
    server.receive(&input);
    assert_eq!(
        all_events(&mut server),
        [Ok(Event::Message(Message::text("Hello")))]
    );
}

#[test]
fn compressed_bomb_fails_with_1009() {
    let mut client = deflating(Role::Client, Config::default());
    let mut server = deflating(Role::Server, Config::default().max_message_size(1 << 20));
    client.send(Message::binary(vec![0u8; 8 << 20])).unwrap();
    let wire = client.take_output();
    assert!(wire.len() < 16 * 1024, "{} bytes on the wire", wire.len());
    server.receive(&wire);
    let err = all_events(&mut server).pop().unwrap().unwrap_err();
    assert!(
        matches!(err, ProtocolError::MessageTooLarge { .. }),
        "{err:?}"
    );
    assert_eq!(err.close_code(), CloseCode::MESSAGE_TOO_BIG);
}

#[test]
fn compressed_invalid_utf8_fails_with_1007() {
    let mut client = deflating(Role::Client, Config::default());
    let mut server = deflating(Role::Server, Config::default());
    // Sent as binary by the client, relabelled as text on the wire.
    client.send(Message::binary(&b"abc\xff\xfe"[..])).unwrap();
    let mut wire = client.take_output();
    wire[0] = (wire[0] & 0xF0) | 0x1;
    server.receive(&wire);
    assert_eq!(server.next_event(), Err(ProtocolError::InvalidUtf8));
}
