//! Cancellation on every runtime. Each call is raced, thousands of times, against a future that
//! is ready after a few polls (no clock involved), and what the API reported must be what the
//! peer saw: `recv` loses and repeats nothing, fragmented messages included; a cancelled
//! `send` (`send_frame`, `send_prepared`, `feed`, and the sink half's) queued nothing, so
//! sending the message again delivers it once and giving up on it delivers nothing; a
//! cancelled `flush` loses nothing; `close` has one result per outcome, whatever the path.

use futures::channel::mpsc;
use futures::future::{select, Either};
use futures::StreamExt;
use std::future::Future;
use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tests::raw::answer_upgrade;
use tests::{echo_handler, request, within, Handler, Runtime, ServeOptions};
use ws_driver::{
    ClientConfig, CloseCode, CloseFrame, Error, Frame, Message, OpCode, PreparedMessage,
    StreamConfig, Transport, WebSocketReader, WebSocketSink, WebSocketStream,
};

const MS: Duration = Duration::from_millis(1);

/// Ready on its `n`th poll. It wakes its task on the others, so a race against it moves on at
/// once: a call raced against it is cancelled after `n` polls of its own.
struct AfterPolls(u32);

impl Future for AfterPolls {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 <= 1 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Polls `call` until it completes (`Some`) or has been polled `polls` times without
/// completing (`None`: it was dropped, cancelled).
async fn race<F: Future>(call: F, polls: u32) -> Option<F::Output> {
    match select(pin!(call), AfterPolls(polls)).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

/// A small deterministic generator (xorshift), for how many polls each race allows.
struct Dice(u64);

impl Dice {
    /// 0 to `sides - 1`.
    fn roll(&mut self, sides: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % u64::from(sides)) as u32
    }
}

/// The stream, whole or split, so that each case runs on both.
enum Side<T> {
    Whole(Box<WebSocketStream<T>>),
    Split(WebSocketSink<T>, WebSocketReader<T>),
}

/// How a case hands its messages over.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Call {
    Send,
    SendFrame,
    SendPrepared,
    /// `feed`, and every few messages a `flush` (raced too).
    Feed,
}

impl<T: Transport> Side<T> {
    fn new(ws: WebSocketStream<T>, split: bool) -> Self {
        if split {
            let (sink, reader) = ws.split();
            Side::Split(sink, reader)
        } else {
            Side::Whole(Box::new(ws))
        }
    }

    async fn recv(&mut self) -> Option<Result<Message, Error>> {
        match self {
            Side::Whole(ws) => ws.recv().await,
            Side::Split(_, reader) => reader.recv().await,
        }
    }

    async fn hand_over(&mut self, call: Call, payload: Vec<u8>) -> Result<(), Error> {
        let frame = || Frame {
            opcode: OpCode::Binary,
            fin: true,
            payload: payload.clone().into(),
        };
        let prepared = || PreparedMessage::binary(payload.clone());
        match (self, call) {
            (Side::Whole(ws), Call::Send) => ws.send(Message::binary(payload)).await,
            (Side::Whole(ws), Call::SendFrame) => ws.send_frame(frame()).await,
            (Side::Whole(ws), Call::SendPrepared) => ws.send_prepared(&prepared()).await,
            (Side::Whole(ws), Call::Feed) => ws.feed(Message::binary(payload)).await,
            (Side::Split(sink, _), Call::Send) => sink.send(Message::binary(payload)).await,
            (Side::Split(sink, _), Call::SendPrepared) => sink.send_prepared(&prepared()).await,
            (Side::Split(sink, _), Call::Feed) => sink.feed(Message::binary(payload)).await,
            (Side::Split(..), Call::SendFrame) => unreachable!("the sink half has no send_frame"),
        }
    }

    async fn flush(&mut self) -> Result<(), Error> {
        match self {
            Side::Whole(ws) => ws.flush().await,
            Side::Split(sink, _) => sink.flush().await,
        }
    }

    async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        match self {
            Side::Whole(ws) => ws.close(frame).await,
            Side::Split(sink, _) => sink.close(frame).await,
        }
    }
}

/// Connects to `addr` without permessage-deflate, with `close_timeout`.
async fn connect<R: Runtime>(
    addr: SocketAddr,
    close_timeout: Duration,
) -> WebSocketStream<R::Client> {
    let config = ClientConfig::default()
        .deflate(None)
        .stream(StreamConfig::default().close_timeout(close_timeout));
    let url = format!("ws://{addr}/");
    let (ws, _) = within::<R, _>("connect", R::connect(request(&url), config))
        .await
        .unwrap_or_else(|e| panic!("{}: connect: {e}", R::NAME));
    ws
}

/// How many fragmented messages the `recv` cases receive.
const FRAGMENTED: u32 = 2_000;

/// The `seq`th message of the `recv` cases, in 1 to 4 fragments: text for even numbers (a
/// fragment may end inside a UTF-8 sequence), binary for odd ones, its number first.
fn fragments(seq: u32) -> Vec<Frame> {
    let body = format!("{seq:08} é {}", "ü".repeat(seq as usize * 37 % 1500)).into_bytes();
    let parts = 1 + seq as usize % 4;
    let chunks: Vec<&[u8]> = body.chunks(body.len().div_ceil(parts)).collect();
    let last = chunks.len() - 1;
    let first = if seq.is_multiple_of(2) {
        OpCode::Text
    } else {
        OpCode::Binary
    };
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| Frame {
            opcode: if i == 0 { first } else { OpCode::Continuation },
            fin: i == last,
            payload: chunk.to_vec().into(),
        })
        .collect()
}

/// The `seq`th message of the `recv` cases as it must arrive.
fn reassembled(seq: u32) -> Message {
    let body: Vec<u8> = fragments(seq)
        .iter()
        .flat_map(|f| f.payload.to_vec())
        .collect();
    if seq.is_multiple_of(2) {
        Message::text(String::from_utf8(body).expect("UTF-8"))
    } else {
        Message::binary(body)
    }
}

/// Messages the server sends before it waits for the client's go-ahead.
const BURST: u32 = 500;

/// A server that sends the [`FRAGMENTED`] messages frame by frame, then closes; after each
/// [`BURST`] of messages it waits for a go-ahead on `go` (the client has received them all).
fn fragment_sender<T: Transport + Send + 'static>(go: mpsc::UnboundedReceiver<()>) -> Handler<T> {
    let go = Arc::new(Mutex::new(Some(go)));
    Arc::new(move |ws| {
        let go = go.lock().unwrap().take();
        Box::pin(async move {
            let (Ok(mut ws), Some(mut go)) = (ws, go) else {
                return;
            };
            for seq in 0..FRAGMENTED {
                if seq > 0 && seq.is_multiple_of(BURST) && go.next().await.is_none() {
                    return;
                }
                for frame in fragments(seq) {
                    if ws.send_frame(frame).await.is_err() {
                        return;
                    }
                }
            }
            let _ = ws.close(None).await;
        })
    })
}

/// `recv` cancelled at random points receives every message exactly once, in order. At each
/// burst's end the server waits for the client, so a `recv` there finds nothing and is
/// cancelled for certain, however the two threads are scheduled.
fn recv_loses_nothing<R: Runtime>(split: bool) {
    let (go_tx, go_rx) = mpsc::unbounded();
    let addr = R::serve(ServeOptions::default(), fragment_sender(go_rx));
    R::block_on(within::<R, _>("receive everything", async {
        let mut side = Side::new(connect::<R>(addr, 5000 * MS).await, split);
        let (mut dice, mut got, mut cancels) = (Dice(0x9E37_79B9_7F4A_7C15), Vec::new(), 0);
        let mut bursts_done = 0;
        loop {
            let n = got.len() as u32;
            let at_burst_end = n > 0 && n < FRAGMENTED && n.is_multiple_of(BURST);
            if at_burst_end && bursts_done < got.len() / BURST as usize {
                // Nothing more comes until the go-ahead: this `recv` must be cancelled.
                if let Some(got) = race(side.recv(), 1 + dice.roll(3)).await {
                    panic!(
                        "{}: recv completed while the server was waiting: {got:?}",
                        R::NAME
                    );
                }
                cancels += 1;
                bursts_done += 1;
                go_tx.unbounded_send(()).expect("the server is waiting");
                continue;
            }
            match race(side.recv(), 1 + dice.roll(3)).await {
                None => cancels += 1,
                Some(None) => break,
                Some(Some(Ok(message))) if message.is_data() => got.push(message),
                Some(Some(Ok(_))) => {}
                Some(Some(Err(e))) => panic!("{}: recv: {e}", R::NAME),
            }
        }
        assert_eq!(
            got.len(),
            FRAGMENTED as usize,
            "{}: {cancels} cancels",
            R::NAME
        );
        for (seq, message) in got.iter().enumerate() {
            assert!(
                *message == reassembled(seq as u32),
                "{}: message {seq} differs ({cancels} cancels)",
                R::NAME
            );
        }
        assert!(cancels > 0, "{}: no recv was cancelled", R::NAME);
    }));
}

fn recv_is_cancel_safe<R: Runtime>() {
    recv_loses_nothing::<R>(false);
}

fn reader_recv_is_cancel_safe<R: Runtime>() {
    recv_loses_nothing::<R>(true);
}

/// How many messages the send cases hand over, and their size: big enough that the socket
/// fills and the calls wait.
const SENDS: u32 = 200;
const SIZE: usize = 128 * 1024;

/// The `seq`th message of the send cases, its number in its first four bytes.
fn numbered(seq: u32) -> Vec<u8> {
    let mut payload = vec![(seq % 251) as u8; SIZE];
    payload[..4].copy_from_slice(&seq.to_be_bytes());
    payload
}

/// A server that reads one message per token the client gives (one per cancelled call), so
/// that the sockets between them fill and the client's calls have to wait, and reads freely once the client drops its
/// gate; it reports the numbers of the messages it received, in order, once the client closed.
fn counting_receiver<T: Transport + Send + 'static>(
    gate: mpsc::UnboundedReceiver<()>,
    report: mpsc::UnboundedSender<Vec<u32>>,
) -> Handler<T> {
    let gate = Arc::new(Mutex::new(Some(gate)));
    Arc::new(move |ws| {
        let (report, gate) = (report.clone(), gate.lock().unwrap().take());
        Box::pin(async move {
            let (Ok(mut ws), Some(mut gate)) = (ws, gate) else {
                return;
            };
            let mut seen = Vec::new();
            loop {
                let _ = gate.next().await; // `None` at once after the client dropped it
                match ws.recv().await {
                    Some(Ok(Message::Binary(payload))) => {
                        seen.push(u32::from_be_bytes(payload[..4].try_into().unwrap()))
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                }
            }
            let _ = report.unbounded_send(seen);
        })
    })
}

/// Hands [`SENDS`] messages over with `call`, each raced against a few polls; when one is
/// cancelled, either hands the same message over again or gives up on it. The peer must get
/// exactly the messages the calls reported as done.
fn cancelled_calls_queue_nothing<R: Runtime>(call: Call, split: bool) {
    let (tx, mut rx) = mpsc::unbounded();
    let (gate, gate_rx) = mpsc::unbounded();
    let addr = R::serve(ServeOptions::default(), counting_receiver(gate_rx, tx));
    R::block_on(within::<R, _>("send everything", async {
        let mut side = Side::new(connect::<R>(addr, 5000 * MS).await, split);
        let mut dice = Dice(0x2545_F491_4F6C_DD1D);
        let (mut done, mut cancels, mut given_up, mut flush_cancels) = (Vec::new(), 0, 0, 0);
        let mut seq = 0;
        while seq < SENDS {
            let handed = race(side.hand_over(call, numbered(seq)), 1 + dice.roll(4)).await;
            if handed.is_none() {
                let _ = gate.unbounded_send(()); // the server may read one more message
            }
            match handed {
                Some(Ok(())) => {
                    done.push(seq);
                    seq += 1;
                }
                Some(Err(e)) => panic!("{}: {call:?} {seq}: {e}", R::NAME),
                None if dice.roll(2) == 0 => {
                    cancels += 1;
                    given_up += 1;
                    seq += 1;
                }
                None => cancels += 1,
            }
            if call == Call::Feed && seq.is_multiple_of(8) {
                while race(side.flush(), 1 + dice.roll(4)).await.is_none() {
                    let _ = gate.unbounded_send(());
                    flush_cancels += 1;
                }
            }
        }
        drop(gate);
        side.close(None).await.expect("close");
        if let Side::Split(_, reader) = &mut side {
            while reader.recv().await.is_some() {}
        }
        let seen = rx.next().await.expect("the server's report");
        let counts =
            format!("{cancels} cancels, {given_up} given up, {flush_cancels} flushes cancelled");
        assert_eq!(
            seen.len(),
            done.len(),
            "{}: {call:?}, split {split}: {counts}",
            R::NAME
        );
        assert!(
            seen == done,
            "{}: {call:?}, split {split}: order differs: {counts}",
            R::NAME
        );
        assert!(
            cancels + flush_cancels > 0,
            "{}: {call:?}: nothing was cancelled",
            R::NAME
        );
    }));
}

fn cancelled_send_is_not_sent<R: Runtime>() {
    cancelled_calls_queue_nothing::<R>(Call::Send, false);
}

fn cancelled_sink_send_is_not_sent<R: Runtime>() {
    cancelled_calls_queue_nothing::<R>(Call::Send, true);
}

fn cancelled_send_frame_is_not_sent<R: Runtime>() {
    cancelled_calls_queue_nothing::<R>(Call::SendFrame, false);
}

fn cancelled_send_prepared_is_not_sent<R: Runtime>() {
    cancelled_calls_queue_nothing::<R>(Call::SendPrepared, false);
}

fn cancelled_sink_send_prepared_is_not_sent<R: Runtime>() {
    cancelled_calls_queue_nothing::<R>(Call::SendPrepared, true);
}

fn cancelled_feed_and_flush_lose_nothing<R: Runtime>() {
    cancelled_calls_queue_nothing::<R>(Call::Feed, false);
    cancelled_calls_queue_nothing::<R>(Call::Feed, true);
}

/// Closes, racing each `close` against a few polls until one completes; then reads to the
/// end and closes again. Returns both results: the raced call's, and the final one.
async fn close_twice<T: Transport>(
    side: &mut Side<T>,
    seed: u64,
) -> (Result<(), String>, Result<(), String>) {
    let mut dice = Dice(seed);
    let frame = || Some(CloseFrame::new(CloseCode::NORMAL, "bye"));
    let first = loop {
        if let Some(result) = race(side.close(frame()), 1 + dice.roll(3)).await {
            break result.map_err(|e| e.to_string());
        }
    };
    while side.recv().await.is_some() {}
    let last = side.close(frame()).await.map_err(|e| e.to_string());
    (first, last)
}

/// A peer that answers the close: `Ok(())`, whole or split, however often `close` was
/// cancelled, and again once the connection is over.
fn close_is_ok_when_the_peer_answers<R: Runtime>() {
    let addr = R::serve(ServeOptions::default(), echo_handler());
    R::block_on(within::<R, _>("close", async {
        for split in [false, true] {
            let mut side = Side::new(connect::<R>(addr, 5000 * MS).await, split);
            let results = close_twice(&mut side, 7).await;
            assert_eq!(results, (Ok(()), Ok(())), "{}: split {split}", R::NAME);
        }
    }));
}

/// A peer that closed first: the stream ended, and `close` then returns `Ok(())` at once.
fn close_after_the_peer_closed_is_ok<R: Runtime>() {
    let handler: Handler<R::Server> = Arc::new(|ws| {
        Box::pin(async move {
            let Ok(mut ws) = ws else { return };
            let _ = ws
                .close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "leaving")))
                .await;
        })
    });
    let addr = R::serve(ServeOptions::default(), handler);
    R::block_on(within::<R, _>("close", async {
        for split in [false, true] {
            let mut side = Side::new(connect::<R>(addr, 5000 * MS).await, split);
            while side.recv().await.is_some() {}
            let results = close_twice(&mut side, 11).await;
            assert_eq!(results, (Ok(()), Ok(())), "{}: split {split}", R::NAME);
        }
    }));
}

/// A raw peer on its own thread: answers the upgrade, then either reads (and drops)
/// everything until the client is gone, or reads nothing at all until `done` says so. It never
/// answers a close frame.
fn silent_peer(
    reads: bool,
) -> (
    SocketAddr,
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().expect("accept");
        tcp.set_read_timeout(Some(tests::TIMEOUT)).unwrap();
        answer_upgrade(&mut tcp);
        if reads {
            let mut buf = [0u8; 64 * 1024];
            while matches!(tcp.read(&mut buf), Ok(n) if n > 0) {}
        } else {
            let _ = wait.recv_timeout(tests::TIMEOUT);
        }
    });
    (addr, done, thread)
}

/// A peer that never answers the close: `Err(CloseTimeout)`, the same whether it read our
/// close frame or left it stuck behind a full socket, however often `close` was cancelled, and
/// again once the connection is over. The sink half's `close` returns once our close frame is
/// written (`Ok`, if the peer reads), and the outcome once the reading half has ended.
fn close_timeout_is_one_error<R: Runtime>() {
    let timeout = || Err(Error::CloseTimeout.to_string());
    for (reads, split) in [(true, false), (false, false), (true, true), (false, true)] {
        let (addr, done, peer) = silent_peer(reads);
        R::block_on(within::<R, _>("close", async {
            let mut side = Side::new(connect::<R>(addr, 200 * MS).await, split);
            if !reads {
                // More than the sockets hold: the close frame cannot be written.
                let stuck = vec![0u8; 32 << 20];
                side.hand_over(Call::Feed, stuck).await.expect("feed");
            }
            let (first, last) = close_twice(&mut side, 13).await;
            let expected_first = if split && reads { Ok(()) } else { timeout() };
            let case = format!("{}: peer reads {reads}, split {split}", R::NAME);
            assert_eq!(first, expected_first, "{case}: close");
            assert_eq!(last, timeout(), "{case}: close once over");
        }));
        let _ = done.send(());
        peer.join().expect("peer thread");
    }
}

tests::for_each_runtime!(
    recv_is_cancel_safe,
    reader_recv_is_cancel_safe,
    cancelled_send_is_not_sent,
    cancelled_sink_send_is_not_sent,
    cancelled_send_frame_is_not_sent,
    cancelled_send_prepared_is_not_sent,
    cancelled_sink_send_prepared_is_not_sent,
    cancelled_feed_and_flush_lose_nothing,
    close_is_ok_when_the_peer_answers,
    close_after_the_peer_closed_is_ok,
    close_timeout_is_one_error,
);
