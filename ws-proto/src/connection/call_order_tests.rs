//! The documented call order (bytes in, events out, bytes out, deadlines, next step), followed
//! to the letter by a minimal driver against a scripted peer.

use super::*;
use crate::*;
use std::time::{Duration, Instant};

const S: Duration = Duration::from_secs(1);

fn ping(payload: &'static str) -> Message {
    Message::Ping(Bytes::from_static(payload.as_bytes()))
}

fn pong(payload: &'static str) -> Message {
    Message::Pong(Bytes::from_static(payload.as_bytes()))
}

/// What one round of the call order produced.
#[derive(Debug)]
struct Round {
    events: Vec<Result<Event, ProtocolError>>,
    /// What the peer decoded from the bytes written out.
    written: Vec<Message>,
    /// What each `handle_timeout` call of the round did.
    due: Vec<Due>,
    next: Next,
    deadline: Option<Instant>,
}

/// A driver that follows the documented call order: feed the scripted input, take every event,
/// write all output, pass the time in (going round again when a deadline did something), and
/// ask what to do with the transport.
struct Script {
    us: Connection,
    /// The peer, encoding what it sends and decoding what we write.
    peer: Connection,
    start: Instant,
    now: Instant,
}

impl Script {
    fn new(role: Role, config: Config) -> Self {
        let peer_role = match role {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        };
        let start = Instant::now();
        Script {
            us: Connection::new(role, config),
            // The script says what the peer sends, its close echo aside.
            peer: Connection::new(
                peer_role,
                Config::default().keepalive_interval(None).auto_pong(false),
            ),
            start,
            now: start,
        }
    }

    /// The peer's frames for `messages`, as bytes.
    fn peer_sends(&mut self, messages: &[Message]) -> Vec<u8> {
        for message in messages {
            self.peer.send(message.clone()).unwrap();
        }
        self.peer.take_output()
    }

    fn at(&mut self, secs: u32) -> &mut Self {
        self.now = self.start + secs * S;
        self
    }

    fn round(&mut self, input: &[u8], eof: bool) -> Round {
        // 1. Bytes in.
        self.us.read_buffer().extend_from_slice(input);
        if eof {
            self.us.receive_eof();
        }
        let mut events = Vec::new();
        let mut written = Vec::new();
        let mut due = Vec::new();
        for _ in 0..10 {
            // 2. Events out, until more bytes are needed.
            for _ in 0..100 {
                match self.us.next_event() {
                    Ok(Some(event)) => events.push(Ok(event)),
                    Ok(None) => break,
                    Err(e) => events.push(Err(e)),
                }
            }
            // 3. Bytes out.
            self.peer.receive(&self.us.take_output());
            while let Ok(Some(Event::Message(m))) = self.peer.next_event() {
                written.push(m);
            }
            // 4. Deadlines: go round again when one did something.
            let did = self.us.handle_timeout(self.now);
            due.push(did);
            if did == Due::Nothing {
                // 5. What to do with the transport, and when to wake up.
                return Round {
                    events,
                    written,
                    due,
                    next: self.us.next_step(),
                    deadline: self.us.poll_timeout(),
                };
            }
        }
        panic!("the call order did not settle: {events:?} {due:?}");
    }

    fn input(&mut self, messages: &[Message]) -> Round {
        let bytes = self.peer_sends(messages);
        self.round(&bytes, false)
    }

    fn deadline_in(&self, round: &Round) -> Option<Duration> {
        round.deadline.map(|d| d - self.now)
    }
}

fn keepalive() -> Config {
    Config::default()
        .keepalive_interval(Some(10 * S))
        .keepalive_timeout(5 * S)
        .close_timeout(3 * S)
}

fn message(m: Message) -> Result<Event, ProtocolError> {
    Ok(Event::Message(m))
}

#[test]
fn a_server_session_from_first_bytes_to_shutdown() {
    let mut s = Script::new(Role::Server, keepalive());
    // A ping and half a text message: the pong goes out in the same round.
    let bytes = s.peer_sends(&[ping("p"), Message::text("hello")]);
    let r = s.round(&bytes[..bytes.len() - 2], false);
    assert_eq!(r.events, [message(ping("p"))]);
    assert_eq!(r.written, [pong("p")]);
    assert_eq!(
        (r.due.as_slice(), r.next),
        ([Due::Nothing].as_slice(), Next::ReadWrite)
    );
    assert_eq!(s.deadline_in(&r), Some(10 * S), "keepalive armed");
    let r = s.at(4).round(&bytes[bytes.len() - 2..], false);
    assert_eq!(r.events, [message(Message::text("hello"))]);
    assert_eq!(
        s.deadline_in(&r),
        Some(10 * S),
        "traffic postpones keepalive"
    );

    // Silence: the keepalive ping is due, the round goes again to write it.
    let r = s.at(14).round(&[], false);
    assert_eq!(r.due, [Due::Ping, Due::Nothing]);
    assert_eq!(r.written, [ping("")]);
    assert_eq!((r.next, s.deadline_in(&r)), (Next::ReadWrite, Some(5 * S)));
    // Its answer disarms the pong deadline.
    let r = s.at(15).input(&[pong("")]);
    assert_eq!(r.events, [message(pong(""))]);
    assert_eq!(s.deadline_in(&r), Some(10 * S));

    // The peer closes: the echo is written, then the server shuts down, nothing to drain.
    let bye = CloseFrame::new(CloseCode::NORMAL, "bye");
    let r = s.at(16).input(&[Message::Close(Some(bye.clone()))]);
    assert_eq!(r.events, [message(Message::Close(Some(bye)))]);
    assert_eq!(
        r.written,
        [Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))]
    );
    assert_eq!(r.next, Next::ShutdownWrite { drain: false });
}

#[test]
fn next_step_waits_for_the_output_to_be_written() {
    let mut s = Script::new(Role::Server, keepalive());
    let bytes = s.peer_sends(&[Message::Close(None)]);
    s.us.receive(&bytes);
    assert_eq!(
        s.us.next_event(),
        Ok(Some(Event::Message(Message::Close(None))))
    );
    // The echo is still queued: closing now would lose it.
    assert_eq!(s.us.next_step(), Next::ReadWrite);
    let n = s.us.output_len();
    s.us.advance_output(n);
    assert_eq!(s.us.next_step(), Next::ShutdownWrite { drain: false });
}

#[test]
fn a_client_reads_until_the_server_closes_tcp_or_the_close_deadline() {
    let mut s = Script::new(Role::Client, keepalive());
    s.us.close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
        .unwrap();
    let r = s.round(&[], false);
    assert!(matches!(r.written[..], [Message::Close(Some(_))]));
    assert_eq!((r.next, s.deadline_in(&r)), (Next::ReadWrite, Some(3 * S)));
    // The peer's echo of our close (its automatic reply).
    let r = s.at(1).input(&[]);
    assert_eq!(
        r.events,
        [message(Message::Close(Some(CloseFrame::new(
            CloseCode::NORMAL,
            ""
        ))))]
    );
    // RFC 6455 §7.1.1: the server closes TCP first; the client reads on, bytes are dropped.
    assert_eq!(r.next, Next::ReadWrite);
    assert!(!s.us.wants_read());
    assert_eq!(s.deadline_in(&r), Some(2 * S));
    let r = s.at(3).round(&[], false);
    assert_eq!(r.due, [Due::Expired(Timeout::Close), Due::Nothing]);
    assert_eq!((r.next, r.deadline), (Next::Close, None));

    // The same client whose server does close TCP in time.
    let mut s = Script::new(Role::Client, keepalive());
    s.us.close(None).unwrap();
    s.round(&[], false);
    assert_eq!(s.input(&[]).events, [message(Message::Close(None))]);
    let r = s.at(1).round(&[], true);
    assert_eq!(r.events, []);
    assert_eq!(r.next, Next::ShutdownWrite { drain: false });
}

#[test]
fn a_protocol_error_closes_and_drains_the_peers_bytes() {
    let mut s = Script::new(Role::Server, keepalive());
    // An unmasked frame from a client (RFC 6455 §5.1).
    let r = s.round(&[0x81, 0x02, b'h', b'i'], false);
    assert_eq!(r.events, [Err(ProtocolError::UnmaskedFrame)]);
    assert!(
        matches!(&r.written[..], [Message::Close(Some(f))] if f.code == CloseCode::PROTOCOL_ERROR)
    );
    assert_eq!(r.next, Next::ShutdownWrite { drain: true });
    // End of file before the closing handshake: nothing left to drain.
    let mut s = Script::new(Role::Server, keepalive());
    let r = s.round(&[], true);
    assert_eq!(r.events, [Err(ProtocolError::AbnormalClosure)]);
    assert_eq!(r.written, []);
    assert_eq!(r.next, Next::ShutdownWrite { drain: false });
}

#[test]
fn deadlines_that_fail_the_connection_close_the_transport_at_once() {
    let mut s = Script::new(Role::Server, keepalive());
    s.round(&[], false);
    assert_eq!(s.at(10).round(&[], false).written, [ping("")]);
    let r = s.at(15).round(&[], false);
    assert_eq!(r.due, [Due::Expired(Timeout::Keepalive), Due::Nothing]);
    assert_eq!(r.events, [Err(ProtocolError::TimedOut(Timeout::Keepalive))]);
    assert!(matches!(&r.written[..], [Message::Close(Some(f))] if f.code == CloseCode::GOING_AWAY));
    assert_eq!((r.next, r.deadline), (Next::Close, None));

    let config = Config::default()
        .keepalive_interval(None)
        .idle_timeout(Some(20 * S));
    let mut s = Script::new(Role::Server, config);
    s.round(&[], false);
    let r = s.at(20).round(&[], false);
    assert_eq!(r.due, [Due::Expired(Timeout::Idle), Due::Nothing]);
    assert_eq!(r.events, [Err(ProtocolError::TimedOut(Timeout::Idle))]);
    assert_eq!(r.next, Next::Close);
}
