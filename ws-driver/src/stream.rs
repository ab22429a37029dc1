//! `WebSocketStream`: a `Stream` of received messages and a `Sink` of messages to send.

use crate::config::StreamConfig;
use crate::driver::{new_connection, Driver};
use crate::error::Error;
use crate::sending::{close_outcome, poll_feed, poll_send, Coalesce};
use crate::split::{split, WebSocketReader, WebSocketSink};
use crate::streaming::{self, Access, ByteStream, MessageKind, MessageReader, MessageWriter};
use crate::transport::Transport;
use futures_core::Stream;
use futures_sink::Sink;
use futures_util::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use ws_proto::{CloseFrame, Frame, Message, PreparedMessage, Role, State};

/// A WebSocket connection over a transport, after the opening handshake.
///
/// It is a [`Stream`] of received [`Message`]s (pings are answered and the closing handshake
/// is run for you; the stream ends after the peer's close, or yields an [`Error`] once if the
/// connection fails, after its close frame went out and the transport was closed) and a
/// [`Sink`] of messages to send, with backpressure from a bounded write buffer: sending waits
/// while it is full, and so does reading, unless a send is waiting, so a peer that does not
/// read cannot make us queue its replies without bound. A send that waits reads meanwhile and
/// fails with [`Error::ClosedByPeer`] if the peer closes (for example 1009, a message too big
/// for it). [`split`](Self::split) gives halves usable from two tasks at once.
///
/// Every inherent method is cancel-safe (each says so under "Cancel safety"): `recv` loses no
/// message, and `send`, `feed`, `send_frame`, `send_prepared` and `feed_prepared` queue their
/// message in the poll in which they complete, so one that was cancelled (in `select!`, under a
/// timeout) queued nothing and can be retried without duplicating it. The [`Sink`] trait's
/// `SinkExt::send` is not: cancelled while flushing, it leaves its message queued.
pub struct WebSocketStream<T> {
    /// Boxed: the stream lives in the application's future for the connection's whole life,
    /// where the compiler often lays out more than one copy of it (the `Ok` of the accept
    /// that made it, and the loop that owns it), so an idle connection would pay for its
    /// state two or three times over. Boxed, each copy is a pointer.
    driver: Box<Driver<T>>,
}

impl<T: Transport> WebSocketStream<T> {
    /// Wraps a transport on which the opening handshake is already done, with `leftover`
    /// bytes read past the handshake (frames may follow it in the same read).
    ///
    /// Fails with [`Error::ReassembleOff`] if `config` turns message reassembly off.
    pub fn from_transport(
        io: T,
        role: Role,
        config: &StreamConfig,
        leftover: &[u8],
    ) -> Result<Self, Error> {
        config.check()?;
        let mut conn = new_connection(role, config);
        conn.receive(leftover);
        Ok(WebSocketStream {
            driver: Box::new(Driver::new(io, conn)),
        })
    }

    /// Installs the extension negotiated in the handshake (see
    /// [`ws_proto::Connection::set_extension`]).
    pub fn set_extension(&mut self, extension: Box<dyn ws_proto::Extension>) {
        self.driver.connection_mut().set_extension(extension);
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.driver.connection().role()
    }

    /// The closing handshake state.
    pub fn state(&self) -> State {
        self.driver.connection().state()
    }

    /// Bytes queued for writing that the transport has not taken yet (our messages, and the
    /// pongs and close replies the peer's frames call for). The peer cannot grow it past the
    /// write buffer limit plus one control frame, whatever it sends.
    pub fn buffered_output(&self) -> usize {
        self.driver.connection().output_len()
    }

    /// The transport.
    pub fn get_ref(&self) -> &T {
        self.driver.transport()
    }

    /// Receives the next message; `None` once the connection is over.
    ///
    /// Receiving also writes: what `send` left queued and the replies the protocol sends by
    /// itself. Queued output is written in batches: when everything already received is
    /// decoded and the transport has nothing more to read (just before `recv` would wait),
    /// once 64 KiB are queued, and at once after a frame that called for a reply (a ping's
    /// pong, the close echo), with whatever was queued before it.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a message leaves the connection only in the poll that returns it. If
    /// `recv` is cancelled (another `select!` branch completes first, a timeout expires), no
    /// message and no part of a fragmented one is lost; the next `recv` returns it.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| self.driver.poll_next_message(cx)).await
    }

    /// Sends a message: waits while the write buffer is full or the transport has not taken
    /// earlier output, then queues the message whole and writes it, with everything queued
    /// before it, in one (vectored) write, and returns once it is queued. What the transport
    /// did not take at once is written by the next call that drives the stream (`send`,
    /// `feed`, `flush`, `recv`, `close`); [`flush`](Self::flush) waits until it is all
    /// written.
    ///
    /// Coalescing: when the [`recv`](Self::recv) before it left a whole further frame
    /// already received, and the read that brought the input returned just before (within
    /// 50 µs: a reply computed at once, not one that awaited a database first), `send` only
    /// queues the message. The next `recv` returns that frame
    /// without waiting and writes the batch before it would wait, so a loop that answers each
    /// message answers pipelined messages with one write. Never is a message held for input
    /// that has not arrived. If you await something other than this stream between `send`
    /// and the next `recv`, [`flush`](Self::flush) first. (The split
    /// [`WebSocketSink::send`] always writes at once.)
    ///
    /// `Err(ConnectionClosed)` once a close frame was sent or the connection is over, and
    /// `Err(Send)` if the core refuses the message: nothing was queued. An I/O error means the
    /// transport failed, the connection with it.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the message is queued in the poll in which `send` completes, never
    /// earlier. A cancelled `send` queued nothing and the message will not be sent; calling
    /// `send` again with it sends it once. (`SinkExt::send` differs: cancelled while
    /// flushing, it leaves its message queued.)
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let mut message = Some(message.into());
        poll_fn(|cx| {
            let queue = Driver::start_send;
            poll_send(
                &mut self.driver,
                cx,
                &mut message,
                queue,
                Coalesce::WithRecv,
            )
        })
        .await
    }

    /// Queues a message without writing it, waiting first while the write buffer is over its
    /// limit; [`flush`](Self::flush) later to write a batch with one system call (a `recv`
    /// that would wait writes it too).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the message is queued in the poll in which `feed` completes; a cancelled
    /// `feed` queued nothing.
    pub async fn feed(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let mut message = Some(message.into());
        poll_fn(|cx| poll_feed(&mut self.driver, cx, &mut message, Driver::start_send)).await
    }

    /// Writes and flushes everything queued: when it returns `Ok(())`, the transport took it
    /// all. `Ok(())` at once if the connection is over.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a cancelled `flush` leaves what it did not write queued, in order, for the
    /// next call that drives the stream; nothing is lost or written twice.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.driver.poll_flush(cx)).await
    }

    /// Sends one data frame of a message streamed fragment by fragment (see
    /// [`ws_proto::Connection::send_frame`]), like [`send`](Self::send): returns once the
    /// frame is queued, and writes it with everything before it.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`send`](Self::send): a cancelled `send_frame` queued nothing; send
    /// the same frame again to continue the message.
    pub async fn send_frame(&mut self, frame: Frame) -> Result<(), Error> {
        let mut frame = Some(frame);
        poll_fn(|cx| {
            let queue = Driver::send_frame;
            poll_send(&mut self.driver, cx, &mut frame, queue, Coalesce::WithRecv)
        })
        .await
    }

    /// Sends a message encoded once for many connections (see
    /// [`ws_proto::Connection::send_prepared`]: a server queues the shared bytes), like
    /// [`send`](Self::send).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`send`](Self::send): a cancelled `send_prepared` queued nothing.
    pub async fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        let mut message = Some(message);
        poll_fn(|cx| {
            let queue = Driver::send_prepared;
            poll_send(
                &mut self.driver,
                cx,
                &mut message,
                queue,
                Coalesce::WithRecv,
            )
        })
        .await
    }

    /// Queues a prepared message without flushing, like [`feed`](Self::feed).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`feed`](Self::feed): a cancelled `feed_prepared` queued nothing.
    pub async fn feed_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        let mut message = Some(message);
        poll_fn(|cx| poll_feed(&mut self.driver, cx, &mut message, Driver::send_prepared)).await
    }

    /// Runs the closing handshake (RFC 6455 §7.1.2): sends a close frame (with `frame`'s code
    /// and reason, or none), then reads until the peer's close and the transport is closed in
    /// the order RFC 6455 §7.1.1 gives, bounded by the close timeout. Data messages that arrive
    /// meanwhile are dropped. Returns:
    ///
    /// - `Ok(())` when the closing handshake finished (the peer answered our close, or we
    ///   answered its close) and the transport is closed;
    /// - `Err(CloseTimeout)` when the close timeout ran out first, whether the peer did not
    ///   answer our close frame or did not even read it; the transport is closed anyway;
    /// - if the connection was already over (`close` called again, or `recv` returned `None`
    ///   or an error before): the same at once, `Err(CloseTimeout)` if that timeout ended it,
    ///   `Ok(())` otherwise;
    /// - an I/O error if the transport failed meanwhile.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe in that nothing is lost or done twice: the close frame is queued on the
    /// first poll, once. Call `close` again (or `recv` until `None`) to finish the handshake;
    /// the close timeout counts from the first call. Data messages a cancelled `close` read are
    /// dropped, as a finished one drops them.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        self.driver.start_close(frame)?;
        match poll_fn(|cx| self.driver.poll_flush(cx)).await {
            // Not written when the close timeout ended the connection: reported below.
            Ok(()) | Err(Error::ConnectionClosed) => {}
            Err(e) => return Err(e),
        }
        while let Some(item) = self.recv().await {
            match item {
                Ok(_) => {}
                // The closing handshake may not finish cleanly; the connection is over anyway.
                Err(Error::Protocol(_)) => {}
                Err(e) => return Err(e),
            }
        }
        close_outcome(self.driver.connection())
    }

    /// Splits into a writing and a reading half that can be used from different tasks.
    pub fn split(self) -> (WebSocketSink<T>, WebSocketReader<T>) {
        split(*self.driver)
    }

    /// Receives the next data message as a stream of its bytes, as they arrive, instead of
    /// whole: a [`MessageReader`] (a `Stream` of chunks and an `AsyncRead`) that knows the
    /// message's kind at once. `max_message_size` applies to it as to any message; see
    /// [`recv_stream_with_limit`](Self::recv_stream_with_limit) to lift it for one message.
    /// Pings and pongs that arrive before the message are answered and skipped. `None` once
    /// the connection is over. Whole and streamed messages mix freely on a connection.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a message leaves the connection only in the poll that returns its reader;
    /// cancelled before, the next `recv` or `recv_stream` returns the message (one that began
    /// to arrive goes back to reassembly for `recv`). On a split reading half, if the writing
    /// half happened to read the message's first chunk just before the cancellation, only
    /// `recv_stream` can still return it: `recv` discards it. Once a reader exists, dropping it
    /// discards the rest of its message: see [`MessageReader`].
    pub async fn recv_stream(&mut self) -> Option<Result<MessageReader<'_, T>, Error>> {
        streaming::recv_stream(Access::Borrowed(&mut self.driver), None).await
    }

    /// [`recv_stream`](Self::recv_stream) with a size limit of its own for this message, in
    /// place of `max_message_size` (say, a large one for an upload the application accepts);
    /// the limit stays for the other messages. Exceeding it fails the connection with 1009.
    pub async fn recv_stream_with_limit(
        &mut self,
        max_message_size: u64,
    ) -> Option<Result<MessageReader<'_, T>, Error>> {
        let access = Access::Borrowed(&mut self.driver);
        streaming::recv_stream(access, Some(max_message_size)).await
    }

    /// Starts sending a message written piece by piece: a [`MessageWriter`] (an
    /// `AsyncWrite`); [`MessageWriter::finish`] ends the message. Waits first while the write
    /// buffer is full.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a cancelled `send_stream` started no message.
    pub async fn send_stream(&mut self, kind: MessageKind) -> Result<MessageWriter<'_, T>, Error> {
        streaming::send_stream(Access::Borrowed(&mut self.driver), kind).await
    }

    /// The connection as a plain byte stream, binary messages in both directions (see
    /// [`ByteStream`]).
    pub fn into_io(self) -> ByteStream<T> {
        ByteStream::new(self)
    }

    pub(crate) fn driver_mut(&mut self) -> &mut Driver<T> {
        &mut self.driver
    }

    /// Reassembles the stream from the driver its halves shared.
    pub(crate) fn from_driver(driver: Driver<T>) -> Self {
        WebSocketStream {
            driver: Box::new(driver),
        }
    }
}

impl<T: Transport> Stream for WebSocketStream<T> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().driver.poll_next_message(cx)
    }
}

impl<T: Transport> Sink<Message> for WebSocketStream<T> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().driver.poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.get_mut().driver.start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().driver.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().driver.poll_close(cx)
    }
}
