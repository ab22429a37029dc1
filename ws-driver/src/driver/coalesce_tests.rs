//! Write coalescing (see `batch.rs`), counted at the scripted transport: messages that are
//! ready at once leave in one write, none waits for input that has not arrived, and a pong
//! never waits behind data queued after it.

use super::*;
use crate::sending::{poll_send, Coalesce};

impl Harness {
    /// Polls one `send` of `message` once, coalescing as `coalesce` says; sends complete in their first poll here (the
    /// scripted transport takes everything).
    fn send_via(&mut self, message: Message, coalesce: Coalesce) -> Poll<Result<(), Error>> {
        let mut cx = Context::from_waker(&self.waker);
        let mut item = Some(message);
        poll_send(
            &mut self.driver,
            &mut cx,
            &mut item,
            Driver::start_send,
            coalesce,
        )
    }

    /// How many writes the transport took so far.
    fn writes(&self) -> usize {
        let log = &self.io.with().log;
        log.iter().filter(|d| matches!(d, Did::Wrote(_))).count()
    }

    /// The README's loop (`recv`, then `send` each data message) until `recv` would wait;
    /// returns how many messages it echoed.
    fn echo_until_pending(&mut self, coalesce: Coalesce) -> usize {
        let mut echoed = 0;
        for _ in 0..10_000 {
            match self.next() {
                Poll::Ready(Some(Ok(message))) if message.is_data() => {
                    assert!(matches!(
                        self.send_via(message, coalesce),
                        Poll::Ready(Ok(()))
                    ));
                    echoed += 1;
                }
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Pending => return echoed,
                other => panic!("unexpected {other:?}"),
            }
        }
        panic!("the echo loop did not come to a wait");
    }
}

/// `n` text messages `m0`, `m1`, ..., as the peer of a server frames them, in one buffer.
fn pipelined(n: usize) -> (Vec<u8>, Vec<Message>) {
    let messages: Vec<Message> = (0..n).map(|i| Message::text(format!("m{i}"))).collect();
    let bytes = messages
        .iter()
        .flat_map(|m| from_peer(Role::Server, m.clone()))
        .collect();
    (bytes, messages)
}

#[test]
fn pipelined_messages_are_echoed_in_one_write() {
    let mut h = Harness::new(Role::Server, quiet());
    let (bytes, messages) = pipelined(16);
    h.io.peer(Inbound::Bytes(bytes));
    assert_eq!(h.echo_until_pending(Coalesce::WithRecv), 16);
    assert_eq!(h.writes(), 1, "{:?}", h.io.with().log);
    assert_eq!(as_peer(Role::Server, &h.io.took()), messages, "in order");
}

/// A reply that comes later than the window after the read of its request (here every reply:
/// the window is zero) is written at once, with what was queued before it: an application that
/// awaits a database between `recv` and `send` does not hold its first reply until every
/// pipelined request has been handled.
#[test]
fn a_reply_later_than_the_window_is_written_at_once() {
    let mut h = Harness::new(Role::Server, quiet());
    h.driver.defer_window = Duration::ZERO;
    let (bytes, messages) = pipelined(4);
    h.io.peer(Inbound::Bytes(bytes));
    let first = match h.next() {
        Poll::Ready(Some(Ok(m))) => m,
        other => panic!("unexpected {other:?}"),
    };
    assert!(h.send_via(first, Coalesce::WithRecv).is_ready());
    assert_eq!(h.writes(), 1, "the first reply left before the next recv");
    assert_eq!(h.echo_until_pending(Coalesce::WithRecv), 3);
    assert_eq!(h.writes(), 4, "{:?}", h.io.with().log);
    assert_eq!(as_peer(Role::Server, &h.io.took()), messages, "in order");
}

#[test]
fn a_batch_is_written_once_it_reaches_the_bound() {
    let mut h = Harness::new(Role::Server, quiet());
    // 16 messages of 8 KiB: 128 KiB of echoes, in batches of 64 KiB.
    let messages: Vec<Message> = (0..16u8)
        .map(|i| Message::binary(vec![i; 8 * 1024]))
        .collect();
    let bytes = messages
        .iter()
        .flat_map(|m| from_peer(Role::Server, m.clone()))
        .collect();
    h.io.peer(Inbound::Bytes(bytes));
    assert_eq!(h.echo_until_pending(Coalesce::WithRecv), 16);
    let writes: Vec<usize> =
        h.io.with()
            .log
            .iter()
            .filter_map(|d| match d {
                Did::Wrote(n) => Some(*n),
                _ => None,
            })
            .collect();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(writes.iter().all(|&n| n <= batch::BATCH + 8 * 1024 + 4));
    assert_eq!(as_peer(Role::Server, &h.io.took()), messages);
}

#[test]
fn a_lone_message_is_written_when_its_send_returns() {
    let mut h = Harness::new(Role::Server, quiet());
    h.io.peer(Inbound::Bytes(from_peer(
        Role::Server,
        Message::text("one"),
    )));
    let Poll::Ready(Some(Ok(message))) = h.next() else {
        panic!("no message")
    };
    assert!(matches!(
        h.send_via(message, Coalesce::WithRecv),
        Poll::Ready(Ok(()))
    ));
    // No further input and no further poll of the reading side: the echo is out already.
    assert_eq!(as_peer(Role::Server, &h.io.took()), [Message::text("one")]);
}

#[test]
fn a_message_followed_by_part_of_a_frame_is_not_held() {
    let mut h = Harness::new(Role::Server, quiet());
    let mut bytes = from_peer(Role::Server, Message::text("whole"));
    let next = from_peer(Role::Server, Message::text("the next one"));
    bytes.extend_from_slice(&next[..5]);
    h.io.peer(Inbound::Bytes(bytes));
    let Poll::Ready(Some(Ok(message))) = h.next() else {
        panic!("no message")
    };
    assert!(h.send_via(message, Coalesce::WithRecv).is_ready());
    assert_eq!(
        as_peer(Role::Server, &h.io.took()),
        [Message::text("whole")],
        "the rest of the next frame may never come: the echo does not wait for it"
    );
}

#[test]
fn what_a_send_left_queued_is_written_before_recv_waits() {
    let mut h = Harness::new(Role::Server, quiet());
    let (bytes, _) = pipelined(2);
    h.io.peer(Inbound::Bytes(bytes));
    let Poll::Ready(Some(Ok(first))) = h.next() else {
        panic!("no message")
    };
    assert!(h.send_via(first, Coalesce::WithRecv).is_ready());
    assert_eq!(h.writes(), 0, "batched with what the next recv returns");
    // The application reads the second message and answers nothing.
    assert!(matches!(h.next(), Poll::Ready(Some(Ok(_)))));
    assert_eq!(h.writes(), 0);
    assert!(h.next().is_pending());
    assert_eq!(as_peer(Role::Server, &h.io.took()), [Message::text("m0")]);
}

#[test]
fn the_split_sink_writes_every_send_at_once() {
    let mut h = Harness::new(Role::Server, quiet());
    let (bytes, messages) = pipelined(4);
    h.io.peer(Inbound::Bytes(bytes));
    for expected in messages {
        let Poll::Ready(Some(Ok(message))) = h.next() else {
            panic!("no message")
        };
        assert!(h.send_via(message, Coalesce::Never).is_ready());
        // Its reading half may never be polled again: nothing is left for it to write.
        assert_eq!(as_peer(Role::Server, &h.io.took()), [expected]);
    }
}

#[test]
fn a_pong_is_written_at_once_and_never_behind_later_data() {
    let mut h = Harness::new(Role::Server, quiet());
    let mut bytes = from_peer(Role::Server, Message::text("a"));
    bytes.extend(from_peer(Role::Server, Message::Ping("p".into())));
    bytes.extend(from_peer(Role::Server, Message::text("b")));
    h.io.peer(Inbound::Bytes(bytes));
    let Poll::Ready(Some(Ok(a))) = h.next() else {
        panic!("no message")
    };
    assert!(h.send_via(a, Coalesce::WithRecv).is_ready());
    assert!(matches!(h.next(), Poll::Ready(Some(Ok(Message::Ping(_))))));
    // The pong went out as the ping was returned, after the echo queued before it.
    assert_eq!(
        as_peer(Role::Server, &h.io.took()),
        [Message::text("a"), Message::Pong("p".into())]
    );
    let Poll::Ready(Some(Ok(b))) = h.next() else {
        panic!("no message")
    };
    assert!(h.send_via(b, Coalesce::WithRecv).is_ready());
    assert_eq!(as_peer(Role::Server, &h.io.took()), [Message::text("b")]);
}

#[test]
fn feeding_all_available_then_flushing_makes_one_write() {
    let mut h = Harness::new(Role::Server, quiet());
    let (bytes, messages) = pipelined(8);
    h.io.peer(Inbound::Bytes(bytes));
    // Feed every message already available, then flush once.
    while let Poll::Ready(Some(Ok(message))) = h.next() {
        h.driver.start_send(message).expect("queued");
    }
    let mut cx = Context::from_waker(&h.waker);
    assert!(matches!(h.driver.poll_flush(&mut cx), Poll::Ready(Ok(()))));
    assert_eq!(h.writes(), 1);
    assert_eq!(as_peer(Role::Server, &h.io.took()), messages);
}
