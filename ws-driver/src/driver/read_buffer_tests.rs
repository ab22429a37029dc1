//! The read buffer's room across a run of large frames.

use super::*;

/// A message of `len` bytes whose frame arrives in two reads, the second one while the
/// earlier messages still share the buffer (as when their echoes are queued).
fn message_in_two_reads(h: &mut Harness, len: usize, held: &mut Vec<Message>) {
    let frame = from_peer(Role::Server, Message::binary(vec![7u8; len]));
    h.io.peer(Inbound::Bytes(frame[..1000].to_vec()));
    h.io.peer(Inbound::Bytes(frame[1000..].to_vec()));
    match h.next() {
        Poll::Ready(Some(Ok(message))) if message.len() == len => held.push(message),
        other => panic!("expected the message, got {other:?}"),
    }
}

#[test]
fn frames_after_a_large_one_arrive_in_place_and_the_room_stays_for_more() {
    let mut h = Harness::new(Role::Server, quiet());
    let mut held = Vec::new();
    message_in_two_reads(&mut h, 64 * 1024, &mut held);
    // The buffer moved for the frame, with room for more like it.
    let room = h.driver.conn.read_buffer().capacity();
    assert!(room >= 2 * 64 * 1024, "room ahead: {room} bytes");
    let before = h.driver.conn.read_buffer().as_ptr();
    message_in_two_reads(&mut h, 64 * 1024, &mut held);
    assert_eq!(
        h.driver.conn.read_buffer().as_ptr(),
        before.wrapping_add(14 + 64 * 1024),
        "the second frame (a 14-byte header, 64 KiB) was not read in place"
    );
    // Room for two more stays.
    assert!(h.driver.conn.read_buffer().capacity() >= 2 * 64 * 1024);
}
