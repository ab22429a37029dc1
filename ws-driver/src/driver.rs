//! The shared driving logic: moves bytes between a [`Transport`] and a protocol [`Connection`].

use crate::config::StreamConfig;
use crate::error::Error;
use crate::transport::{Sleep, Transport};
use futures_util::task::{waker, ArcWake, AtomicWaker};
use std::io::{self, IoSlice};
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};
use std::time::{Duration, Instant};
use ws_proto::{CloseCode, CloseFrame, Connection, Due, Event, Message, Next, State};

mod batch;
mod closing;
mod flow;
mod streaming;

/// Wakes both the reading and the writing task: either may be waiting on the transport, and a
/// transport keeps one waker per direction, which the other task may have replaced.
#[derive(Default)]
struct WakerProxy {
    read: AtomicWaker,
    write: AtomicWaker,
}

impl ArcWake for WakerProxy {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.read.wake();
        arc_self.write.wake();
    }
}

/// What a read of the transport brought (see `Driver::poll_read_input`).
enum Input {
    /// Bytes, appended to the core's read buffer.
    Bytes,
    /// The peer's end of input, now or before.
    End,
}

/// A connection and its transport, driven by poll methods that both halves share.
pub(crate) struct Driver<T> {
    io: T,
    conn: Connection,
    proxy: Arc<WakerProxy>,
    proxy_waker: Waker,
    /// The runtime timer armed for the core's earliest deadline, and that deadline.
    timer: Option<(Instant, Sleep)>,
    /// Our side of the transport is shut down; what the peer still sends is read and dropped
    /// for a while (see `poll_linger`).
    shut_down: bool,
    /// How much longer to keep draining, once lingering started.
    linger: Option<Sleep>,
    /// The peer's input has ended (end of file, or a read error): the transport is not read
    /// again (see `poll_read_input`).
    peer_eof: bool,
    /// The transport was shut down (or failed): the stream has ended.
    finished: bool,
    /// Flow control between the halves (issue 15; see `flow.rs`): a write of ours is waiting
    /// for the transport, a message read meanwhile for `poll_next_message` to return, the
    /// failure it returns once the transport is closed, and the peer's close frame if it
    /// arrived during our write (reported by that write); bytes written since we last looked
    /// for it.
    write_waiting: bool,
    written_unchecked: usize,
    stash: Option<Event>,
    failure: Option<Error>,
    peer_close: Option<Option<CloseFrame>>,
    /// Write coalescing (see `batch.rs`): when the last read that brought bytes returned;
    /// whether the last message returned left a whole frame of further input received; how
    /// soon after that read a `send` may still leave its message for the next `recv`; the
    /// transport refused part of our output when last asked.
    read_at: Instant,
    input_ready: bool,
    defer_window: Duration,
    stalled: bool,
}

impl<T: Transport> Driver<T> {
    pub(crate) fn new(io: T, conn: Connection) -> Self {
        let proxy = Arc::new(WakerProxy::default());
        Driver {
            io,
            conn,
            proxy_waker: waker(proxy.clone()),
            proxy,
            timer: None,
            shut_down: false,
            linger: None,
            peer_eof: false,
            finished: false,
            write_waiting: false,
            written_unchecked: 0,
            stash: None,
            failure: None,
            peer_close: None,
            read_at: Instant::now(),
            input_ready: false,
            defer_window: batch::DEFER_WINDOW,
            stalled: false,
        }
    }

    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub(crate) fn transport(&self) -> &T {
        &self.io
    }

    /// Writes queued output until it is all written or the transport would block.
    fn poll_write_out(&mut self) -> Poll<io::Result<()>> {
        let mut cx = Context::from_waker(&self.proxy_waker);
        while self.conn.output_len() > 0 {
            let mut slices = [IoSlice::new(&[]); 32];
            let n = self.conn.output_io_slices(&mut slices);
            let written = match self.io.poll_write_vectored(&mut cx, &slices[..n]) {
                Poll::Ready(written) => written?,
                Poll::Pending => {
                    self.stalled = true;
                    return Poll::Pending;
                }
            };
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.advance_output(written);
            self.written_unchecked = self.written_unchecked.saturating_add(written);
        }
        self.stalled = false;
        Poll::Ready(Ok(()))
    }

    fn poll_write_and_flush(&mut self) -> Poll<io::Result<()>> {
        ready!(self.poll_write_out())?;
        let mut cx = Context::from_waker(&self.proxy_waker);
        let flushed = self.io.poll_flush(&mut cx);
        self.stalled = flushed.is_pending();
        flushed
    }

    /// Passes the time to the core and keeps a timer armed for its next deadline; a timer
    /// that fires wakes both halves (through the proxy waker), which pass the time in again.
    /// True when the core acted on a deadline (a keepalive ping to write, or a deadline that
    /// changed what to do with the transport).
    fn poll_deadlines(&mut self) -> bool {
        let mut cx = Context::from_waker(&self.proxy_waker);
        let mut acted = false;
        loop {
            let now = Instant::now();
            acted |= self.conn.handle_timeout(now) != Due::Nothing;
            let Some(deadline) = self.conn.poll_timeout() else {
                self.timer = None;
                return acted;
            };
            // Deadlines mostly move later (each read postpones keepalive): keep the armed
            // timer then, and re-arm when it fires, instead of a new timer per read.
            let (_, sleep) = match &mut self.timer {
                Some(armed) if armed.0 <= deadline => armed,
                slot => slot.insert((
                    deadline,
                    self.io.sleep(deadline.saturating_duration_since(now)),
                )),
            };
            if sleep.as_mut().poll(&mut cx).is_pending() {
                return acted;
            }
            self.timer = None;
        }
    }

    /// The next received message; `None` once the connection is over. Chunks of a streamed
    /// message nobody reads (its reader was dropped) are dropped (see `streaming.rs`).
    ///
    /// Queued output is written in batches (see `batch.rs`): before a read that would wait,
    /// when the batch is full, and at once when the core queued a reply by itself.
    pub(crate) fn poll_next_message(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        // A whole message is wanted: withdraw the request of a cancelled `recv_stream`.
        self.conn.reassemble_next_message();
        loop {
            match ready!(self.poll_next_event(cx)) {
                Some(Ok(Event::Message(message))) => return Poll::Ready(Some(Ok(message))),
                Some(Ok(Event::Frame(_))) => continue,
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
    }

    /// The next received event: a message, or a chunk of a streamed message; `None` once the
    /// connection is over.
    pub(crate) fn poll_next_event(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Event, Error>>> {
        self.input_ready = false;
        loop {
            // An event our write read meanwhile comes first (see `flow.rs`).
            if let Some(event) = self.stash.take() {
                return Poll::Ready(Some(Ok(event)));
            }
            if self.finished {
                return Poll::Ready(self.failure.take().map(Err));
            }
            let queued = self.conn.output_len();
            match self.conn.next_event() {
                Ok(Some(event)) => {
                    // Send an automatic reply (pong, close echo) without waiting for it, or a
                    // full batch; the rest waits for more of the batch.
                    if self.conn.output_len() > queued || self.batch_full() {
                        let _ = self.poll_write_out();
                    }
                    // Only a whole message leaves the read buffer at a frame boundary; a
                    // chunk of a streamed one may end inside a frame.
                    if let Event::Message(_) = event {
                        self.note_input_after_message();
                    }
                    return Poll::Ready(Some(Ok(event)));
                }
                Ok(None) => {}
                Err(e) => {
                    // Returned once the transport is closed (`poll_closing` drains what the
                    // peer still sends first), so a caller that drops the stream on error does
                    // not make the kernel reset the connection before our close goes out.
                    tracing::debug!(error = %e, "websocket connection failed");
                    self.failure = Some(Error::Protocol(e));
                }
            }
            // Every way to Pending is below: the task's waker is registered here, not for each
            // message returned from what was already received (most of a pipelined batch).
            self.proxy.read.register(cx.waker());
            // Everything received is decoded. A full batch, output while closing (the core
            // moves on once it is written) or after the peer's end of input, is written before
            // reading; otherwise the read goes first and what is queued is written only if it
            // would wait.
            let closing = self.conn.state() != State::Open;
            let written = if closing || self.peer_eof || self.batch_full() {
                self.poll_write_out()
            } else {
                Poll::Ready(Ok(()))
            };
            if let Poll::Ready(Err(e)) = written {
                self.finished = true;
                return Poll::Ready(Some(Err(Error::Io(e))));
            }
            if self.poll_closing().is_ready() {
                return Poll::Ready(self.failure.take().map(Err));
            }
            // After the peer's end of input there is nothing more to read: while our output
            // waits for the transport, wait for it (or a deadline) instead of reading the end
            // again. Backpressure (see `flow.rs`) leaves the peer's bytes unread too. Deadlines
            // still run.
            if written.is_pending() && (self.peer_eof || self.read_paused()) {
                if self.poll_deadlines() {
                    continue;
                }
                return Poll::Pending;
            }
            let read = if self.peer_eof {
                Poll::Pending
            } else {
                self.poll_read_input()
            };
            match read {
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(Error::Io(e)))),
                Poll::Pending => {
                    // Nothing more to read: write the batch now, before waiting.
                    if self.conn.output_len() > 0 {
                        if let Poll::Ready(Err(e)) = self.poll_write_and_flush() {
                            self.finished = true;
                            return Poll::Ready(Some(Err(Error::Io(e))));
                        }
                    }
                    // Deadlines are judged only once everything that arrived has been read, so
                    // a pong waiting in the socket is never mistaken for silence.
                    if self.poll_deadlines() {
                        continue; // a keepalive ping to write, or a deadline to act on
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    /// Reads what the transport has into the core's read buffer: the one place the driver
    /// reads. The peer's end of input is final: after end of file, or a read error (during the
    /// closing handshake, a reset after the peer's close counts as its end), the transport is
    /// never read again, on any path. Some transports answer every later read at once (hyper's
    /// upgraded HTTP/2 stream), and re-reading the end spins and can starve the task that takes
    /// our output. Any other read error ends the stream and is returned, once.
    fn poll_read_input(&mut self) -> Poll<io::Result<Input>> {
        if self.peer_eof {
            return Poll::Ready(Ok(Input::End));
        }
        let mut cx = Context::from_waker(&self.proxy_waker);
        match ready!(self.io.poll_read_buf(&mut cx, self.conn.read_buffer())) {
            Ok(0) => {}
            Ok(_) => {
                self.read_at = Instant::now();
                return Poll::Ready(Ok(Input::Bytes));
            }
            Err(e) if self.conn.close_sent() => {
                tracing::debug!(error = %e, "read error while closing");
            }
            Err(e) => {
                self.peer_eof = true;
                self.finished = true;
                return Poll::Ready(Err(e));
            }
        }
        self.peer_eof = true;
        self.conn.receive_eof();
        Poll::Ready(Ok(Input::End))
    }

    /// The peer is not taking our bytes. Deadlines still run (a dead peer is dropped by the
    /// keepalive, a close by its timeout); true once the connection is over.
    fn write_stalled(&mut self) -> bool {
        self.poll_deadlines();
        if self.conn.next_step() == Next::Close {
            let _ = self.poll_closing();
        }
        self.finished
    }

    /// Writes queued output; Pending while the transport would block, unless a deadline ended
    /// the connection meanwhile.
    fn poll_write_or_deadline(&mut self, flush: bool) -> Poll<Result<(), Error>> {
        let written = if flush {
            self.poll_write_and_flush()
        } else {
            self.poll_write_out()
        };
        // While the write waits, the peer's bytes are read (bounded, see `flow.rs`): its close
        // may explain why it stopped taking ours, and is then what the write reports.
        self.write_waiting = written.is_pending();
        let result = match written {
            Poll::Ready(Err(e)) => {
                // A reset often follows the peer's close: report the close if it came first.
                self.read_while_writing();
                Err(Error::Io(e))
            }
            Poll::Ready(Ok(())) => {
                // A peer that drains fast never made this write wait after its close arrived:
                // look for the close once per write buffer's worth of bytes written.
                if self.written_unchecked >= self.conn.config().write_buffer_limit {
                    self.read_while_writing();
                }
                Ok(())
            }
            Poll::Pending if self.read_while_writing() || self.write_stalled() => {
                Err(Error::ConnectionClosed)
            }
            Poll::Pending => return Poll::Pending,
        };
        self.write_waiting = false;
        Poll::Ready(match self.peer_close.take() {
            Some(frame) => Err(Error::ClosedByPeer(frame)),
            None => result,
        })
    }

    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.finished || self.conn.close_sent() {
            return Poll::Ready(Err(Error::ConnectionClosed));
        }
        if self.conn.is_write_buffer_full() {
            // The one way to Pending here: only then is the task's waker needed.
            self.proxy.write.register(cx.waker());
            ready!(self.poll_write_or_deadline(false))?;
        }
        Poll::Ready(Ok(()))
    }

    /// The connection to queue data on, unless the stream has ended.
    fn sending(&mut self) -> Result<&mut Connection, Error> {
        if self.finished {
            return Err(Error::ConnectionClosed);
        }
        Ok(&mut self.conn)
    }

    pub(crate) fn start_send(&mut self, message: Message) -> Result<(), Error> {
        Ok(self.sending()?.send(message)?)
    }

    pub(crate) fn send_frame(&mut self, frame: ws_proto::Frame) -> Result<(), Error> {
        Ok(self.sending()?.send_frame(frame)?)
    }

    pub(crate) fn send_prepared(
        &mut self,
        message: &ws_proto::PreparedMessage,
    ) -> Result<(), Error> {
        Ok(self.sending()?.send_prepared(message)?)
    }

    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.proxy.write.register(cx.waker());
        if self.conn.next_step() == Next::Close {
            ready!(self.poll_closing());
        }
        if self.finished {
            return Poll::Ready(Ok(()));
        }
        self.poll_write_or_deadline(true)
    }

    /// Queues a close frame if none was sent yet.
    pub(crate) fn start_close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        if self.finished || self.conn.close_sent() {
            return Ok(());
        }
        self.conn.close(frame).map_err(Error::from)
    }

    /// Sink close: sends a normal close if none was sent, writes everything out, and closes
    /// the transport if the handshake is already over. Reading the peer's close is the reading
    /// side's job.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.proxy.write.register(cx.waker());
        self.start_close(Some(CloseFrame::new(CloseCode::NORMAL, "")))?;
        if self.conn.next_step() == Next::Close {
            ready!(self.poll_closing());
        }
        if self.finished {
            return Poll::Ready(Ok(()));
        }
        ready!(self.poll_write_or_deadline(true))?;
        if self.conn.next_step() != Next::ReadWrite {
            ready!(self.poll_closing());
        }
        Poll::Ready(Ok(()))
    }
}

/// The protocol connection an adapter stream runs: the async layer always reassembles.
pub(crate) fn new_connection(role: ws_proto::Role, config: &StreamConfig) -> Connection {
    Connection::new(role, config.protocol.clone().reassemble(true))
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
