//! Frame header decoder (RFC 6455 §5.2), on its own and as each role's connection sees it.
//!
//! Asserts:
//! * every prefix of the input decodes to "need more" (`Ok(None)`) or to the same result as the
//!   whole input, and the whole input is decisive once it holds `MAX_HEADER_LEN` bytes;
//! * whatever decodes re-encodes to the same bytes when the length used the minimal encoding
//!   RFC 6455 §5.2 requires, and always decodes back from its re-encoding to the same header;
//! * a `Connection` of either role fails with the decoder's error, or with the role's masking
//!   error when the MASK bit is wrong for it;
//! * a `Connection` of either role fed the input in two pieces (events drained in between)
//!   yields the same events and errors as when fed all of it at once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_proto::{BytesMut, Config, Connection, FrameHeader, ProtocolError, Role, MAX_HEADER_LEN};

/// Whether the 7-bit length field used the shortest form for the decoded length.
fn minimal_length(b1: u8, payload_len: u64) -> bool {
    match b1 & 0x7F {
        126 => payload_len > 125,
        127 => payload_len > 0xFFFF,
        _ => true,
    }
}

/// Feeds `pieces` to a connection, draining events after each, and records what came out.
fn run(role: Role, pieces: &[&[u8]]) -> (Vec<String>, usize, Vec<u8>) {
    let config = Config::default()
        .max_frame_size(1024)
        .max_message_size(2048);
    let mut conn = Connection::new(role, config);
    let mut seen = Vec::new();
    for piece in pieces {
        conn.receive(piece);
        loop {
            match conn.next_event() {
                Ok(Some(event)) => seen.push(format!("{event:?}")),
                Ok(None) => break,
                Err(e) => seen.push(format!("error {e:?}")),
            }
        }
    }
    let out_len = conn.output_len();
    (seen, out_len, conn.take_output())
}

fn first_error(role: Role, data: &[u8]) -> Option<ProtocolError> {
    let mut conn = Connection::new(role, Config::default());
    conn.receive(data);
    loop {
        match conn.next_event() {
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(e) => return Some(e),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let whole = FrameHeader::decode(data);

    // Split at every point: "need more" or the same answer, never something else.
    for k in 0..=data.len().min(MAX_HEADER_LEN + 1) {
        let part = FrameHeader::decode(&data[..k]);
        if part != Ok(None) {
            assert_eq!(part, whole, "prefix of {k} bytes disagrees");
        }
    }
    if data.len() >= MAX_HEADER_LEN {
        assert_ne!(whole, Ok(None), "a full-size header is still incomplete");
    }

    if let Ok(Some((header, n))) = whole {
        assert!((2..=MAX_HEADER_LEN).contains(&n));
        let mut encoded = BytesMut::new();
        header.encode(&mut encoded);
        assert_eq!(encoded.len(), header.encoded_len());
        // decode∘encode is the identity on headers.
        assert_eq!(
            FrameHeader::decode(&encoded),
            Ok(Some((header, encoded.len())))
        );
        if minimal_length(data[1], header.payload_len) {
            // encode∘decode is the identity on minimally encoded bytes.
            assert_eq!(&encoded[..], &data[..n], "re-encoding differs");
        } else {
            // A longer-than-needed length field (RFC 6455 §5.2 says senders MUST NOT) is
            // accepted and re-encoded in the minimal form.
            assert!(encoded.len() < n);
        }
    }

    for role in [Role::Client, Role::Server] {
        // The connection reports the decoder's verdict, or the role's masking rule.
        if let Some(first) = first_error(role, data) {
            match &whole {
                Err(e) => assert_eq!(&first, e),
                Ok(Some((h, _))) => {
                    let rsv = h.rsv1 || h.rsv2 || h.rsv3;
                    let wrong_mask = h.mask.is_some() == (role == Role::Client);
                    if !rsv && wrong_mask {
                        let expected = match role {
                            Role::Server => ProtocolError::UnmaskedFrame,
                            Role::Client => ProtocolError::MaskedFrame,
                        };
                        assert_eq!(first, expected);
                    }
                    if rsv {
                        assert_eq!(first, ProtocolError::ReservedBits);
                    }
                }
                Ok(None) => panic!("error {first:?} from an incomplete header"),
            }
        } else {
            assert!(!matches!(whole, Err(_)), "decoder error not surfaced");
        }

        // Any split of the stream gives the same events.
        let split = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
        let all = run(role, &[data]);
        let parts = run(role, &[&data[..split], &data[split..]]);
        assert_eq!(all.0, parts.0, "split at {split} changes the events");
        assert_eq!(all.1, parts.1, "split at {split} changes the output length");
        if role == Role::Server {
            // Servers do not mask, so their output is deterministic.
            assert_eq!(all.2, parts.2);
        }
    }
});
