//! The driver's state transitions against a scripted in-memory transport: no runtime, no
//! socket, a manual waker, and timers that fire only when a test fires them.

use super::*;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use ws_proto::{BytesMut, Role, Timeout};

/// What the peer does next when the driver reads.
enum Inbound {
    Bytes(Vec<u8>),
    Eof,
    /// The read fails (a reset).
    Fail,
}

/// What the driver did to the transport, in order.
#[derive(Debug, PartialEq, Eq)]
enum Did {
    Read(usize),
    ReadFailed,
    Wrote(usize),
    Shutdown,
}

#[derive(Default)]
struct Shared {
    inbound: VecDeque<Inbound>,
    written: Vec<u8>,
    /// Bytes the transport still takes before writes block; `None`: unlimited.
    write_room: Option<usize>,
    log: Vec<Did>,
    /// Timers armed so far; the ones armed before the test last fired them are due.
    timers_armed: usize,
    timers_fired_at: usize,
    /// Flushes wait until the test clears this.
    flush_blocked: bool,
    /// The peer's input ended (end of file or a read error): a later read fails the test.
    ended: bool,
    /// The waker of the last read, write or flush that returned Pending.
    waker: Option<Waker>,
}

/// A transport whose peer is a script, shared with the test through `Arc<Mutex<..>>`.
#[derive(Clone, Default)]
struct Scripted(Arc<Mutex<Shared>>);

impl Scripted {
    fn with(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.0.lock().expect("scripted transport")
    }

    /// The peer sends bytes (or ends): wakes a read waiting for them.
    fn peer(&self, inbound: Inbound) {
        let mut shared = self.with();
        shared.inbound.push_back(inbound);
        if let Some(waker) = shared.waker.take() {
            waker.wake();
        }
    }

    /// Fires every timer armed so far (later ones wait for the next call).
    /// Lets flushes complete, waking the one waiting.
    fn unblock_flush(&self) {
        let mut shared = self.with();
        shared.flush_blocked = false;
        if let Some(waker) = shared.waker.take() {
            waker.wake();
        }
    }

    fn fire_timers(&self) {
        let mut shared = self.with();
        shared.timers_fired_at = shared.timers_armed;
    }

    fn took(&self) -> Vec<u8> {
        std::mem::take(&mut self.with().written)
    }

    fn shut_down(&self) -> bool {
        self.with().log.contains(&Did::Shutdown)
    }
}

/// The `n`th timer armed: due once the test fired timers after it was armed.
struct ManualSleep(Scripted, usize);

impl Future for ManualSleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0.with().timers_fired_at >= self.1 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Transport for Scripted {
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        let mut shared = self.with();
        assert!(
            !shared.ended,
            "read again after the peer's end of input: {:?}",
            shared.log
        );
        match shared.inbound.pop_front() {
            Some(Inbound::Bytes(bytes)) => {
                buf.extend_from_slice(&bytes);
                shared.log.push(Did::Read(bytes.len()));
                Poll::Ready(Ok(bytes.len()))
            }
            Some(Inbound::Eof) => {
                shared.ended = true;
                shared.log.push(Did::Read(0));
                Poll::Ready(Ok(0))
            }
            Some(Inbound::Fail) => {
                shared.ended = true;
                shared.log.push(Did::ReadFailed);
                Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()))
            }
            None => {
                shared.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut shared = self.with();
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let n = shared.write_room.map_or(total, |room| room.min(total));
        if n == 0 && total > 0 {
            shared.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let mut left = n;
        for buf in bufs {
            let take = left.min(buf.len());
            shared.written.extend_from_slice(&buf[..take]);
            left -= take;
        }
        if let Some(room) = shared.write_room.as_mut() {
            *room -= n;
        }
        shared.log.push(Did::Wrote(n));
        Poll::Ready(Ok(n))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut shared = self.with();
        if shared.flush_blocked {
            shared.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with().log.push(Did::Shutdown);
        Poll::Ready(Ok(()))
    }

    fn sleep(&self, _: Duration) -> crate::transport::Sleep {
        let mut shared = self.with();
        shared.timers_armed += 1;
        Box::pin(ManualSleep(self.clone(), shared.timers_armed))
    }
}

/// A waker that counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl ArcWake for CountingWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct Harness {
    driver: Driver<Scripted>,
    io: Scripted,
    wakes: Arc<CountingWaker>,
    waker: Waker,
}

impl Harness {
    fn new(role: Role, config: ws_proto::Config) -> Self {
        let io = Scripted::default();
        let wakes = Arc::new(CountingWaker::default());
        let mut driver = Driver::new(io.clone(), Connection::new(role, config));
        // Write counts must not depend on how fast this thread runs between `recv` and `send`
        // (see `coalesce_tests.rs` for the window itself).
        driver.defer_window = Duration::from_secs(3600);
        Harness {
            driver,
            io,
            waker: waker(wakes.clone()),
            wakes,
        }
    }

    fn next(&mut self) -> Poll<Option<Result<Message, Error>>> {
        let mut cx = Context::from_waker(&self.waker);
        self.driver.poll_next_message(&mut cx)
    }

    /// Queues `message` and writes it out, as the stream's `send` does.
    fn send(&mut self, message: Message) -> Poll<Result<(), Error>> {
        let mut cx = Context::from_waker(&self.waker);
        ready!(self.driver.poll_ready(&mut cx))?;
        self.driver.start_send(message)?;
        self.driver.poll_flush(&mut cx)
    }

    fn flush(&mut self) -> Poll<Result<(), Error>> {
        let mut cx = Context::from_waker(&self.waker);
        self.driver.poll_flush(&mut cx)
    }

    fn close(&mut self) -> Poll<Result<(), Error>> {
        let mut cx = Context::from_waker(&self.waker);
        self.driver.poll_close(&mut cx)
    }

    fn wakes(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }
}

/// No deadlines: transitions happen only through the script.
fn quiet() -> ws_proto::Config {
    ws_proto::Config::default().keepalive_interval(None)
}

/// What `role`'s peer would send: `message`, framed (masked when the peer is a client).
fn from_peer(role: Role, message: Message) -> Vec<u8> {
    let peer_role = match role {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    };
    let mut peer = Connection::new(peer_role, ws_proto::Config::default());
    peer.send(message).expect("scripted frame");
    peer.take_output()
}

/// Decodes what the driver wrote, as its peer.
fn as_peer(role: Role, bytes: &[u8]) -> Vec<Message> {
    let peer_role = match role {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    };
    let mut peer = Connection::new(peer_role, ws_proto::Config::default());
    peer.receive(bytes);
    let mut out = Vec::new();
    while let Ok(Some(Event::Message(m))) = peer.next_event() {
        out.push(m);
    }
    out
}

#[test]
fn a_message_is_delivered_and_a_quiet_read_waits_with_no_timer() {
    let mut h = Harness::new(Role::Server, quiet());
    h.io.peer(Inbound::Bytes(from_peer(Role::Server, Message::text("hi"))));
    assert!(matches!(h.next(), Poll::Ready(Some(Ok(m))) if m == Message::text("hi")));
    assert!(h.next().is_pending());
    assert_eq!(
        h.io.with().timers_armed,
        0,
        "no deadline is armed without keepalive"
    );
    // The peer's next bytes wake the reading task through the driver's waker proxy.
    let before = h.wakes();
    h.io.peer(Inbound::Bytes(from_peer(
        Role::Server,
        Message::binary(vec![1, 2]),
    )));
    assert!(h.wakes() > before);
    assert!(matches!(h.next(), Poll::Ready(Some(Ok(Message::Binary(b)))) if b[..] == [1, 2]));
}

#[test]
fn the_server_echoes_the_peers_close_and_shuts_down_without_draining() {
    let mut h = Harness::new(Role::Server, quiet());
    let close = CloseFrame::new(CloseCode::NORMAL, "bye");
    h.io.peer(Inbound::Bytes(from_peer(
        Role::Server,
        Message::Close(Some(close)),
    )));
    assert!(
        matches!(h.next(), Poll::Ready(Some(Ok(Message::Close(Some(f))))) if f.code == CloseCode::NORMAL)
    );
    assert!(matches!(h.next(), Poll::Ready(None)));
    let echo = as_peer(Role::Server, &h.io.took());
    assert_eq!(
        echo,
        [Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))]
    );
    let log = &h.io.with().log;
    assert_eq!(
        log.last(),
        Some(&Did::Shutdown),
        "nothing is read after the handshake: {log:?}"
    );
}

#[test]
fn a_protocol_error_flushes_the_close_shuts_down_then_drains_until_eof() {
    let mut h = Harness::new(Role::Server, quiet());
    // An unmasked frame from a client: 1002 (RFC 6455 §5.1).
    h.io.peer(Inbound::Bytes(vec![0x81, 0x02, b'h', b'i']));
    // Shut down, then drain: the peer's late bytes are read and dropped until its EOF, and
    // only then is the error returned (a caller dropping the stream on error cannot reset the
    // connection before our close went out).
    assert!(h.next().is_pending(), "waits for the peer to finish");
    assert!(h.io.shut_down());
    assert!(matches!(as_peer(Role::Server, &h.io.took())[..],
        [Message::Close(Some(ref f))] if f.code == CloseCode::PROTOCOL_ERROR));
    h.io.peer(Inbound::Bytes(b"late".to_vec()));
    assert!(h.next().is_pending());
    h.io.peer(Inbound::Eof);
    assert!(matches!(
        h.next(),
        Poll::Ready(Some(Err(Error::Protocol(_))))
    ));
    assert!(matches!(h.next(), Poll::Ready(None)));
    let log = &h.io.with().log;
    let shutdown = log
        .iter()
        .position(|d| *d == Did::Shutdown)
        .expect("shut down");
    assert_eq!(
        &log[shutdown + 1..],
        [Did::Read(4), Did::Read(0)],
        "{log:?}"
    );
}

#[test]
fn the_client_waits_for_the_servers_eof_after_the_closing_handshake() {
    let mut h = Harness::new(Role::Client, quiet());
    assert!(matches!(h.close(), Poll::Ready(Ok(()))));
    assert!(matches!(
        as_peer(Role::Client, &h.io.took())[..],
        [Message::Close(Some(_))]
    ));
    h.io.peer(Inbound::Bytes(from_peer(
        Role::Client,
        Message::Close(None),
    )));
    assert!(matches!(
        h.next(),
        Poll::Ready(Some(Ok(Message::Close(None))))
    ));
    // RFC 6455 §7.1.1: the server closes TCP first; the client keeps reading.
    assert!(h.next().is_pending());
    assert!(!h.io.shut_down());
    h.io.peer(Inbound::Eof);
    assert!(matches!(h.next(), Poll::Ready(None)));
    assert!(h.io.shut_down());
}

#[test]
fn an_unanswered_keepalive_fails_the_connection_and_closes_at_once() {
    let config = ws_proto::Config::default()
        .keepalive_interval(Some(Duration::ZERO))
        .keepalive_timeout(Duration::ZERO);
    let mut h = Harness::new(Role::Server, config);
    // The first wait finds the keepalive due: a ping goes out, then its deadline runs out.
    let failed = h.next();
    assert!(
        matches!(
            failed,
            Poll::Ready(Some(Err(Error::Protocol(
                ws_proto::ProtocolError::TimedOut(Timeout::Keepalive)
            ))))
        ),
        "{failed:?}"
    );
    let sent = as_peer(Role::Server, &h.io.took());
    assert!(
        matches!(&sent[..], [Message::Ping(_), Message::Close(Some(f))] if f.code == CloseCode::GOING_AWAY),
        "{sent:?}"
    );
    assert!(matches!(h.next(), Poll::Ready(None)));
    assert!(h.io.shut_down());
}

#[test]
fn a_peer_not_reading_is_dropped_when_the_close_deadline_gives_up() {
    let config = quiet().close_timeout(Duration::from_secs(3600));
    let mut h = Harness::new(Role::Server, config);
    h.io.with().write_room = Some(0);
    // The close frame cannot be written: the sink waits, with the close deadline armed.
    assert!(h.close().is_pending());
    assert_eq!(h.io.with().timers_armed, 1);
    assert!(!h.io.shut_down());
    // The timer fires (as if an hour passed): still early by the core's clock, so it re-arms.
    h.io.fire_timers();
    assert!(h.close().is_pending());
    assert!(!h.io.shut_down());
    assert_eq!(
        h.io.with().timers_armed,
        2,
        "a new timer for the same deadline"
    );
}

#[test]
fn a_zero_close_deadline_ends_a_blocked_close_without_waiting_for_the_peer() {
    let mut h = Harness::new(Role::Server, quiet().close_timeout(Duration::ZERO));
    h.io.with().write_room = Some(0);
    assert!(matches!(
        h.close(),
        Poll::Ready(Err(Error::ConnectionClosed))
    ));
    assert!(
        h.io.shut_down(),
        "the transport is shut down without waiting for the write"
    );
    assert!(h.io.took().is_empty());
    assert!(matches!(h.next(), Poll::Ready(None)));
}

#[test]
fn the_peers_end_of_input_is_not_read_again_while_our_flush_waits() {
    // WebSocket over HTTP/2 behind hyper: its writer task flushes our output, so a flush can
    // wait while the browser has answered our close and ended its stream. Reading the end
    // again at once spun and starved that task (the scripted transport fails the test then).
    let mut h = Harness::new(Role::Server, quiet());
    h.io.with().flush_blocked = true;
    assert!(h.close().is_pending(), "the close waits for its flush");
    h.io.peer(Inbound::Bytes(from_peer(
        Role::Server,
        Message::Close(None),
    )));
    h.io.peer(Inbound::Eof);
    assert!(matches!(
        h.next(),
        Poll::Ready(Some(Ok(Message::Close(None))))
    ));
    assert!(h.next().is_pending(), "the shutdown waits for the flush");
    assert!(h.next().is_pending(), "still waiting, without reading");
    assert!(!h.io.shut_down());
    let before = h.wakes();
    h.io.unblock_flush();
    assert!(h.wakes() > before, "the flush wakes the reading task");
    assert!(matches!(h.next(), Poll::Ready(None)));
    assert!(h.io.shut_down());
    assert!(matches!(h.close(), Poll::Ready(Ok(()))));
    let log = &h.io.with().log;
    assert_eq!(
        log.iter().filter(|d| matches!(d, Did::Read(_))).count(),
        2,
        "the close, then the end, each read once: {log:?}"
    );
}

#[test]
fn a_read_error_while_our_write_waits_ends_the_stream_without_reading_again() {
    let mut h = Harness::new(Role::Server, quiet());
    h.io.with().write_room = Some(0);
    h.io.peer(Inbound::Fail);
    // The blocked write reads the peer meanwhile, finds the transport broken, and gives up.
    assert!(matches!(
        h.send(Message::text("hi")),
        Poll::Ready(Err(Error::ConnectionClosed))
    ));
    // The reading side reports the read error once, without reading again.
    assert!(matches!(
        h.next(),
        Poll::Ready(Some(Err(Error::Io(e)))) if e.kind() == io::ErrorKind::ConnectionReset
    ));
    assert!(matches!(h.next(), Poll::Ready(None)));
    assert!(matches!(h.flush(), Poll::Ready(Ok(()))));
    let log = &h.io.with().log;
    assert_eq!(log[..], [Did::ReadFailed], "{log:?}");
}

#[path = "driver/coalesce_tests.rs"]
mod coalesce;

#[path = "driver/read_buffer_tests.rs"]
mod read_buffer;
