//! Sending a [`PreparedMessage`] on many connections.
use super::*;
use crate::deflate::{DeflateConfig, PerMessageDeflate};
use crate::NotDataMessage;
use crate::*;

fn server(deflate: Option<&DeflateConfig>) -> Connection {
    let mut conn = Connection::new(Role::Server, Config::default());
    if let Some(config) = deflate {
        conn.set_extension(Box::new(PerMessageDeflate::new(Role::Server, config)));
    }
    conn
}

fn client(deflate: Option<&DeflateConfig>) -> Connection {
    let mut conn = Connection::new(Role::Client, Config::default());
    if let Some(config) = deflate {
        conn.set_extension(Box::new(PerMessageDeflate::new(Role::Client, config)));
    }
    conn
}

/// What a peer of the opposite role decodes from `conn`'s output.
fn decoded_by_peer(conn: &mut Connection, peer: &mut Connection) -> Vec<Message> {
    peer.receive(&conn.take_output());
    let mut out = Vec::new();
    while let Some(Event::Message(m)) = peer.next_event().unwrap() {
        out.push(m);
    }
    out
}

fn no_takeover() -> DeflateConfig {
    DeflateConfig {
        server_no_context_takeover: true,
        threshold: 0,
        ..DeflateConfig::default()
    }
}

#[test]
fn plain_server_frames_are_the_same_bytes_as_a_normal_send() {
    for len in [0, 5, 125, 126, 5000, 70_000] {
        let payload = Bytes::from(vec![b'x'; len]);
        let prepared = PreparedMessage::binary(payload.clone());
        let (mut a, mut b) = (server(None), server(None));
        a.send_prepared(&prepared).unwrap();
        b.send(Message::Binary(payload)).unwrap();
        assert_eq!(a.take_output(), b.take_output(), "len {len}");
        assert_eq!(
            prepared.frame_len(),
            len + FrameHeader::new(OpCode::Binary, len as u64).encoded_len()
        );
    }
}

#[test]
fn prepared_and_normal_sends_interleave_in_order() {
    let big = PreparedMessage::text("b".repeat(10_000));
    let mut conn = server(None);
    conn.send(Message::text("one")).unwrap();
    conn.send_prepared(&big).unwrap();
    conn.send(Message::Ping(Bytes::from_static(b"p"))).unwrap();
    conn.send_prepared(&PreparedMessage::text("two")).unwrap();
    let got = decoded_by_peer(&mut conn, &mut client(None));
    assert_eq!(
        got,
        vec![
            Message::text("one"),
            big.to_message(),
            Message::Ping(Bytes::from_static(b"p")),
            Message::text("two"),
        ]
    );
}

#[test]
fn no_context_takeover_compresses_once_for_every_connection() {
    let config = no_takeover();
    let text = "{\"price\": 101.25, \"symbol\": \"ACME\"} ".repeat(50);
    let prepared = PreparedMessage::text(text.clone());
    let mut outputs = Vec::new();
    for _ in 0..5 {
        let mut conn = server(Some(&config));
        conn.send_prepared(&prepared).unwrap();
        let bytes = conn.take_output();
        assert!(bytes.len() < text.len() / 4, "compressed: {}", bytes.len());
        assert_eq!(bytes[0] & 0x40, 0x40, "RSV1 set");
        outputs.push(bytes);
    }
    assert!(outputs.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(prepared.cached_encodings(), 1);
    // And a peer inflates it to the original.
    let mut conn = server(Some(&config));
    conn.send(Message::text("warm-up that must not matter"))
        .unwrap();
    conn.send_prepared(&prepared).unwrap();
    let got = decoded_by_peer(&mut conn, &mut client(Some(&config)));
    assert_eq!(got[1], Message::text(text));
}

#[test]
fn different_parameters_get_their_own_encoding() {
    let prepared = PreparedMessage::binary(vec![7u8; 3000]);
    let fast = no_takeover();
    let best = DeflateConfig {
        level: 9,
        ..no_takeover()
    };
    for config in [&fast, &best, &fast] {
        let mut conn = server(Some(config));
        conn.send_prepared(&prepared).unwrap();
        let got = decoded_by_peer(&mut conn, &mut client(Some(config)));
        assert_eq!(got, vec![prepared.to_message()]);
    }
    assert_eq!(prepared.cached_encodings(), 2);
}

#[test]
fn context_takeover_and_clients_encode_per_connection() {
    let takeover = DeflateConfig {
        threshold: 0,
        ..DeflateConfig::default()
    };
    let prepared = PreparedMessage::text("hello hello hello hello hello");
    let mut conn = server(Some(&takeover));
    let mut peer = client(Some(&takeover));
    for _ in 0..3 {
        conn.send_prepared(&prepared).unwrap();
        let got = decoded_by_peer(&mut conn, &mut peer);
        assert_eq!(got, vec![prepared.to_message()]);
    }
    assert_eq!(prepared.cached_encodings(), 0);

    // A client masks: its bytes differ from the server frame, and the server reads them.
    let mut c = client(None);
    c.send_prepared(&prepared).unwrap();
    let got = decoded_by_peer(&mut c, &mut server(None));
    assert_eq!(got, vec![prepared.to_message()]);
}

#[test]
fn closed_connections_and_fragments_in_progress_refuse() {
    let prepared = PreparedMessage::text("x");
    let mut conn = server(None);
    conn.send_frame(Frame {
        opcode: OpCode::Text,
        fin: false,
        payload: Bytes::from_static(b"a"),
    })
    .unwrap();
    assert_eq!(
        conn.send_prepared(&prepared),
        Err(SendError::InvalidFrameSequence)
    );
    let mut conn = server(None);
    conn.close(None).unwrap();
    assert_eq!(conn.send_prepared(&prepared), Err(SendError::Closed));
    assert_eq!(
        PreparedMessage::try_from(Message::Ping(Bytes::new())).unwrap_err(),
        NotDataMessage
    );
}

/// `to_message` shares the prepared payload, large text included (received text of that size
/// is copied by its faster check; a prepared message's text was checked when it was made).
#[test]
fn to_message_shares_the_payload_of_large_text() {
    let prepared = PreparedMessage::text("é".repeat(8 * 1024));
    match prepared.to_message() {
        Message::Text(text) => {
            assert_eq!(text.as_bytes().as_ptr(), prepared.payload().as_ptr());
            assert_eq!(text.len(), 16 * 1024);
        }
        other => panic!("expected text, got {other:?}"),
    }
}
