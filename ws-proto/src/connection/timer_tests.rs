//! Deadlines, driven with a synthetic clock: the core never reads the real one.

use super::*;
use crate::*;
use std::time::{Duration, Instant};

const S: Duration = Duration::from_secs(1);

fn config() -> Config {
    Config::default()
        .keepalive_interval(Some(10 * S))
        .keepalive_timeout(5 * S)
        .close_timeout(3 * S)
}

/// Opcodes and payloads of what `conn` queued (server role: unmasked).
fn sent(conn: &mut Connection) -> Vec<(OpCode, Vec<u8>)> {
    let bytes = conn.take_output();
    let mut rest = &bytes[..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (h, n) = FrameHeader::decode(rest).unwrap().unwrap();
        let len = h.payload_len as usize;
        out.push((h.opcode, rest[n..n + len].to_vec()));
        rest = &rest[n + len..];
    }
    out
}

fn client_pong() -> Vec<u8> {
    let mut client = Connection::new(Role::Client, Config::default());
    client.send(Message::Pong(Bytes::new())).unwrap();
    client.take_output()
}

#[test]
fn no_deadline_before_time_is_known() {
    let conn = Connection::new(Role::Server, config());
    assert_eq!(conn.poll_timeout(), None);
}

#[test]
fn keepalive_pings_after_silence_and_survives_an_answer() {
    let t0 = Instant::now();
    let mut conn = Connection::new(Role::Server, config());
    conn.handle_timeout(t0);
    assert_eq!(conn.poll_timeout(), Some(t0 + 10 * S));
    conn.handle_timeout(t0 + 9 * S);
    assert!(sent(&mut conn).is_empty(), "no ping before the interval");
    conn.handle_timeout(t0 + 10 * S);
    assert_eq!(sent(&mut conn), vec![(OpCode::Ping, vec![])]);
    // Now the pong deadline is next, and a second ping is not sent while one is unanswered.
    assert_eq!(conn.poll_timeout(), Some(t0 + 15 * S));
    conn.handle_timeout(t0 + 12 * S);
    assert!(sent(&mut conn).is_empty());
    // The pong arrives at 12 s: the interval restarts from there.
    conn.receive(&client_pong());
    assert_eq!(
        conn.next_event().unwrap(),
        Some(Event::Message(Message::Pong(Bytes::new())))
    );
    assert_eq!(conn.poll_timeout(), Some(t0 + 22 * S));
    conn.handle_timeout(t0 + 16 * S);
    assert_eq!(conn.state(), State::Open);
    assert_eq!(conn.timed_out(), None);
}

#[test]
fn any_received_bytes_postpone_keepalive() {
    let t0 = Instant::now();
    let mut conn = Connection::new(Role::Server, config());
    conn.handle_timeout(t0);
    let mut client = Connection::new(Role::Client, Config::default());
    for i in 1..=5u32 {
        conn.handle_timeout(t0 + i * 8 * S);
        client.send(Message::text("tick")).unwrap();
        conn.receive(&client.take_output());
        assert!(matches!(conn.next_event(), Ok(Some(Event::Message(_)))));
        assert_eq!(conn.poll_timeout(), Some(t0 + (i * 8 + 10) * S));
    }
    assert!(sent(&mut conn).is_empty(), "a talking peer is never pinged");
}

#[test]
fn unanswered_keepalive_fails_and_closes_at_once() {
    let t0 = Instant::now();
    let mut conn = Connection::new(Role::Server, config());
    conn.handle_timeout(t0);
    conn.handle_timeout(t0 + 10 * S);
    assert_eq!(sent(&mut conn), vec![(OpCode::Ping, vec![])]);
    conn.handle_timeout(t0 + 15 * S);
    assert_eq!(conn.timed_out(), Some(Timeout::Keepalive));
    assert!(
        conn.should_close_transport(),
        "a dead peer is not waited for"
    );
    assert_eq!(
        conn.next_event(),
        Err(ProtocolError::TimedOut(Timeout::Keepalive))
    );
    assert_eq!(conn.next_event(), Ok(None), "the error is reported once");
    let frames = sent(&mut conn);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].0, OpCode::Close);
    assert_eq!(&frames[0].1[..2], &1001u16.to_be_bytes());
    assert_eq!(conn.poll_timeout(), None);
}

#[test]
fn idle_timeout_fails_with_going_away() {
    let t0 = Instant::now();
    let mut conn = Connection::new(
        Role::Server,
        config().keepalive_interval(None).idle_timeout(Some(20 * S)),
    );
    conn.handle_timeout(t0);
    assert_eq!(conn.poll_timeout(), Some(t0 + 20 * S));
    conn.handle_timeout(t0 + 19 * S);
    assert_eq!(conn.next_event(), Ok(None));
    conn.handle_timeout(t0 + 20 * S);
    assert_eq!(
        conn.next_event(),
        Err(ProtocolError::TimedOut(Timeout::Idle))
    );
    let frames = sent(&mut conn);
    assert_eq!(frames[0].0, OpCode::Close);
    assert_eq!(&frames[0].1[..2], &1001u16.to_be_bytes());
    assert_eq!(conn.state(), State::Closed);
    assert!(conn.should_close_transport());
}

#[test]
fn closing_handshake_times_out() {
    let t0 = Instant::now();
    let mut conn = Connection::new(Role::Client, config());
    conn.handle_timeout(t0);
    conn.handle_timeout(t0 + S);
    conn.close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
        .unwrap();
    conn.take_output();
    // The keepalive no longer applies; the close deadline does, counted from the next time
    // passed in.
    assert_eq!(conn.poll_timeout(), Some(t0 + 4 * S));
    conn.handle_timeout(t0 + 2 * S);
    assert_eq!(conn.poll_timeout(), Some(t0 + 5 * S));
    conn.handle_timeout(t0 + 4 * S);
    assert!(!conn.should_close_transport());
    conn.handle_timeout(t0 + 5 * S);
    assert_eq!(conn.timed_out(), Some(Timeout::Close));
    assert!(conn.should_close_transport());
    assert_eq!(
        conn.next_event(),
        Ok(None),
        "giving up on a close is not an error"
    );
}

#[test]
fn client_waiting_for_tcp_close_is_bounded_too() {
    let t0 = Instant::now();
    let mut client = Connection::new(Role::Client, config());
    let mut server = Connection::new(Role::Server, Config::default());
    client.handle_timeout(t0);
    server.close(None).unwrap();
    client.receive(&server.take_output());
    assert_eq!(
        client.next_event(),
        Ok(Some(Event::Message(Message::Close(None))))
    );
    client.take_output();
    assert!(client.awaiting_transport_close());
    client.handle_timeout(t0 + S);
    assert!(!client.should_close_transport());
    client.handle_timeout(t0 + 4 * S);
    assert!(client.should_close_transport());
}

#[test]
fn a_clock_going_backwards_does_not_rewind_deadlines() {
    let t0 = Instant::now();
    let mut conn = Connection::new(Role::Server, config());
    conn.handle_timeout(t0);
    conn.handle_timeout(t0 + 10 * S);
    assert_eq!(sent(&mut conn).len(), 1);
    conn.handle_timeout(t0 + S);
    assert_eq!(conn.poll_timeout(), Some(t0 + 15 * S));
}

#[test]
fn writing_counts_as_activity_but_not_the_ping_itself() {
    let t0 = Instant::now();
    let mut conn = Connection::new(Role::Server, config());
    conn.handle_timeout(t0);
    // A long send: output moves on between the adapter's calls, so no ping is due.
    for i in 1..=4u32 {
        conn.send(Message::binary(vec![0u8; 1000])).unwrap();
        conn.take_output();
        conn.handle_timeout(t0 + i * 8 * S);
        assert_eq!(conn.output_len(), 0, "no ping while busy sending");
    }
    // Silence: the ping goes out at t0 + 42 s; writing the ping itself proves nothing.
    conn.handle_timeout(t0 + 42 * S);
    assert_eq!(sent(&mut conn), vec![(OpCode::Ping, vec![])]);
    conn.handle_timeout(t0 + 47 * S);
    assert_eq!(conn.timed_out(), Some(Timeout::Keepalive));
    // Whereas output moving on after the ping does answer it.
    let mut conn = Connection::new(Role::Server, config());
    conn.handle_timeout(t0);
    conn.handle_timeout(t0 + 10 * S);
    assert_eq!(sent(&mut conn).len(), 1);
    conn.send(Message::binary(vec![0u8; 10])).unwrap();
    conn.take_output();
    conn.handle_timeout(t0 + 15 * S);
    assert_eq!(conn.timed_out(), None);
}
