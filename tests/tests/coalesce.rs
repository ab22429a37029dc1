//! Write coalescing (issue 18) on every runtime, against a raw TCP peer: the echo server of
//! the README's loop answers pipelined frames completely and in order, never holds a message
//! back waiting for more input, and never puts a pong behind data queued after it. The split
//! sink writes at once even when its reading half is never polled again. (That batches leave in one
//! write is counted deterministically at a scripted transport, in
//! `ws-driver/src/driver/coalesce_tests.rs`; socket segment counts here would depend on
//! timing.)

use futures::StreamExt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tests::raw::{read_head, UPGRADE_REQUEST};
use tests::{echo_handler, Handler, Runtime, ServeOptions, TIMEOUT};
use ws_driver::ws_proto::{Config, Connection, Event, Role};
use ws_driver::Message;

/// A raw client: its own frames come from a client-role core, what it reads is decoded by it.
struct Peer {
    tcp: TcpStream,
    core: Connection,
}

impl Peer {
    fn connect(addr: SocketAddr) -> Peer {
        let mut tcp = TcpStream::connect(addr).expect("connect");
        tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
        tcp.set_nodelay(true).unwrap();
        tcp.write_all(UPGRADE_REQUEST).unwrap();
        let head = read_head(&mut tcp).expect("the 101 response");
        assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
        Peer {
            tcp,
            core: Connection::new(Role::Client, Config::default()),
        }
    }

    /// Writes all of `messages`, framed, with one write.
    fn send_all(&mut self, messages: &[Message]) {
        for message in messages {
            self.core.send(message.clone()).expect("frame");
        }
        let bytes = self.core.take_output();
        self.tcp.write_all(&bytes).unwrap();
    }

    /// Reads until `n` messages (pings and pongs included) arrived; panics after the read
    /// timeout.
    fn receive(&mut self, n: usize) -> Vec<Message> {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while got.len() < n {
            while let Ok(Some(Event::Message(message))) = self.core.next_event() {
                got.push(message);
            }
            if got.len() >= n {
                break;
            }
            let read = self.tcp.read(&mut buf).expect("read within the timeout");
            assert!(read > 0, "the server closed after {got:?}");
            self.core.receive(&buf[..read]);
        }
        got
    }
}

fn texts(n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| Message::text(format!("message {i}")))
        .collect()
}

fn pipelined_messages_are_all_echoed_in_order<R: Runtime>() {
    let addr = R::serve(ServeOptions::default(), echo_handler());
    let mut peer = Peer::connect(addr);
    for round in [1, 16, 200] {
        let messages = texts(round);
        peer.send_all(&messages);
        assert_eq!(
            peer.receive(round),
            messages,
            "{}: round of {round}",
            R::NAME
        );
    }
}

fn one_message_is_echoed_without_further_input<R: Runtime>() {
    let addr = R::serve(ServeOptions::default(), echo_handler());
    let mut peer = Peer::connect(addr);
    // Each message alone, the next sent only once its echo came back: none may wait for a
    // later one (the read timeout fails the case if it does).
    for message in texts(20) {
        peer.send_all(std::slice::from_ref(&message));
        assert_eq!(peer.receive(1), [message], "{}", R::NAME);
    }
}

fn a_pong_is_never_behind_later_data<R: Runtime>() {
    let addr = R::serve(ServeOptions::default(), echo_handler());
    let mut peer = Peer::connect(addr);
    let mut sent = texts(8);
    sent.insert(4, Message::Ping("are you there".into()));
    peer.send_all(&sent);
    let got = peer.receive(sent.len());
    let expected: Vec<Message> = sent
        .into_iter()
        .map(|m| match m {
            Message::Ping(payload) => Message::Pong(payload),
            data => data,
        })
        .collect();
    assert_eq!(got, expected, "{}: the pong in its place", R::NAME);
}

/// Receives one message with the reading half, sends it back with the sink half, and then
/// never polls the reading half again (it waits out the suite's timeout, then ends).
fn split_echo_once<R: Runtime>() -> Handler<R::Server> {
    Arc::new(|ws| {
        Box::pin(async move {
            let Ok(ws) = ws else { return };
            let (mut sink, mut reader) = ws.split();
            if let Some(Ok(message)) = reader.recv().await {
                let _ = sink.send(message).await;
            }
            R::sleep(TIMEOUT).await;
            drop(reader);
        })
    })
}

fn the_split_sink_does_not_leave_its_message_to_the_reader<R: Runtime>() {
    let addr = R::serve(ServeOptions::default(), split_echo_once::<R>());
    let mut peer = Peer::connect(addr);
    // The second message is already received when the first is sent back: the sink writes
    // its echo anyway, though its reading half will not be polled again.
    let messages = texts(2);
    peer.send_all(&messages);
    assert_eq!(peer.receive(1), messages[..1], "{}", R::NAME);
}

/// A server that awaits other work (a database, say) between `recv` and `send`, with several
/// requests pipelined: each reply leaves when it is sent, not once every received request has
/// been handled. The test plays the database, and answers a request only after the reply to
/// the one before it arrived, so a reply held back for the next `recv` would never come.
fn a_reply_after_other_work_leaves_before_the_next_request_is_handled<R: Runtime>() {
    let (took_tx, took_rx) = std::sync::mpsc::channel::<()>();
    let (answer_tx, answer_rx) = futures::channel::mpsc::unbounded::<()>();
    let answers = Arc::new(Mutex::new(Some(answer_rx)));
    let handler: Handler<R::Server> = Arc::new(move |ws| {
        let took_tx = took_tx.clone();
        let answers = answers.lock().unwrap().take();
        Box::pin(async move {
            let (Ok(mut ws), Some(mut answers)) = (ws, answers) else {
                return;
            };
            while let Some(Ok(message)) = ws.recv().await {
                let _ = took_tx.send(());
                if answers.next().await.is_none() || ws.send(message).await.is_err() {
                    return;
                }
            }
        })
    });
    let addr = R::serve(ServeOptions::default(), handler);
    let mut peer = Peer::connect(addr);
    let messages = texts(4);
    peer.send_all(&messages);
    for message in messages {
        took_rx
            .recv_timeout(TIMEOUT)
            .expect("the server took the request");
        // The lookup's own time: longer than a reply computed at once takes.
        std::thread::sleep(Duration::from_millis(2));
        answer_tx.unbounded_send(()).unwrap();
        assert_eq!(peer.receive(1), [message], "{}", R::NAME);
    }
}

tests::for_each_runtime!(
    a_reply_after_other_work_leaves_before_the_next_request_is_handled,
    pipelined_messages_are_all_echoed_in_order,
    one_message_is_echoed_without_further_input,
    a_pong_is_never_behind_later_data,
    the_split_sink_does_not_leave_its_message_to_the_reader,
);
