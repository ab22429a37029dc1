//! `WebSocketStream`: a `Stream` of received messages and a `Sink` of messages to send.

use crate::driver::{new_connection, Driver, StreamConfig};
use crate::error::Error;
use crate::transport::Transport;
use futures_core::Stream;
use futures_sink::Sink;
use futures_util::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};
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
pub struct WebSocketStream<T> {
    driver: Driver<T>,
}

impl<T: Transport> WebSocketStream<T> {
    /// Wraps a transport on which the opening handshake is already done, with `leftover`
    /// bytes read past the handshake (frames may follow it in the same read).
    pub fn from_transport(io: T, role: Role, config: &StreamConfig, leftover: &[u8]) -> Self {
        let mut conn = new_connection(role, config);
        conn.receive(leftover);
        WebSocketStream {
            driver: Driver::new(io, conn),
        }
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
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| self.driver.poll_next_message(cx)).await
    }

    /// Sends a message and flushes it to the transport.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        poll_fn(|cx| self.driver.poll_ready(cx)).await?;
        self.driver.start_send(message.into())?;
        poll_fn(|cx| self.driver.poll_flush(cx)).await
    }

    /// Sends one data frame of a message streamed fragment by fragment (see
    /// [`ws_proto::Connection::send_frame`]), and flushes it.
    pub async fn send_frame(&mut self, frame: Frame) -> Result<(), Error> {
        poll_fn(|cx| self.driver.poll_ready(cx)).await?;
        self.driver.send_frame(frame)?;
        poll_fn(|cx| self.driver.poll_flush(cx)).await
    }

    /// Sends a message encoded once for many connections (see
    /// [`ws_proto::Connection::send_prepared`]: a server queues the shared bytes) and flushes it.
    pub async fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        self.feed_prepared(message).await?;
        poll_fn(|cx| self.driver.poll_flush(cx)).await
    }

    /// Queues a prepared message without flushing, waiting first while the write buffer is
    /// full; flush later (`SinkExt::flush`) to write a batch with fewer system calls.
    pub async fn feed_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        poll_fn(|cx| self.driver.poll_ready(cx)).await?;
        self.driver.send_prepared(message)
    }

    /// Runs the closing handshake (RFC 6455 §7.1.2): sends a close frame (with `frame`'s code
    /// and reason, or none), then reads until the peer's close and the transport is closed in
    /// the order RFC 6455 §7.1.1 gives, bounded by the close timeout. Data messages that arrive
    /// meanwhile are dropped.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        self.driver.start_close(frame)?;
        poll_fn(|cx| self.driver.poll_flush(cx)).await?;
        while let Some(item) = self.recv().await {
            match item {
                Ok(_) => {}
                // The closing handshake may not finish cleanly; the connection is over anyway.
                Err(Error::Protocol(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Splits into a reading and a writing half that can be used from different tasks.
    pub fn split(self) -> (WebSocketSink<T>, WebSocketReader<T>) {
        let shared = Arc::new(Mutex::new(self.driver));
        (
            WebSocketSink {
                shared: shared.clone(),
            },
            WebSocketReader { shared },
        )
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

type Shared<T> = Arc<Mutex<Driver<T>>>;

fn lock<T>(shared: &Shared<T>) -> MutexGuard<'_, Driver<T>> {
    // A panic while holding the lock cannot leave the driver half-updated in a way that matters
    // more than the panic itself; keep serving the other half.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The reading half of a split [`WebSocketStream`]: a [`Stream`] of messages.
///
/// Reading also writes the automatic replies (pongs, the close echo) the protocol needs.
pub struct WebSocketReader<T> {
    shared: Shared<T>,
}

impl<T: Transport> WebSocketReader<T> {
    /// Receives the next message; `None` once the connection is over.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| lock(&self.shared).poll_next_message(cx)).await
    }

    /// Puts the halves back together. Fails (returning both) if they come from different
    /// streams.
    pub fn reunite(
        self,
        sink: WebSocketSink<T>,
    ) -> Result<WebSocketStream<T>, (WebSocketSink<T>, WebSocketReader<T>)> {
        if !Arc::ptr_eq(&self.shared, &sink.shared) {
            return Err((sink, self));
        }
        drop(sink);
        match Arc::try_unwrap(self.shared) {
            Ok(mutex) => Ok(WebSocketStream {
                driver: mutex.into_inner().unwrap_or_else(|p| p.into_inner()),
            }),
            // Unreachable: both halves were given, and no other clone exists.
            Err(shared) => Err((
                WebSocketSink {
                    shared: shared.clone(),
                },
                WebSocketReader { shared },
            )),
        }
    }
}

impl<T: Transport> Stream for WebSocketReader<T> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        lock(&self.shared).poll_next_message(cx)
    }
}

/// The writing half of a split [`WebSocketStream`]: a [`Sink`] of messages.
pub struct WebSocketSink<T> {
    shared: Shared<T>,
}

impl<T: Transport> WebSocketSink<T> {
    /// Sends a message and flushes it to the transport.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        poll_fn(|cx| lock(&self.shared).poll_ready(cx)).await?;
        lock(&self.shared).start_send(message)?;
        poll_fn(|cx| lock(&self.shared).poll_flush(cx)).await
    }

    /// Sends a message encoded once for many connections and flushes it (see
    /// [`WebSocketStream::send_prepared`]).
    pub async fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        self.feed_prepared(message).await?;
        poll_fn(|cx| lock(&self.shared).poll_flush(cx)).await
    }

    /// Queues a prepared message without flushing (see [`WebSocketStream::feed_prepared`]).
    pub async fn feed_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        poll_fn(|cx| lock(&self.shared).poll_ready(cx)).await?;
        lock(&self.shared).send_prepared(message)
    }

    /// Sends a close frame and flushes it; the reading half then sees the peer's close and
    /// ends once the transport is closed.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        lock(&self.shared).start_close(frame)?;
        poll_fn(|cx| lock(&self.shared).poll_flush(cx)).await
    }
}

impl<T: Transport> Sink<Message> for WebSocketSink<T> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        lock(&self.shared).start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut driver = lock(&self.shared);
        ready!(driver.poll_close(cx))?;
        Poll::Ready(Ok(()))
    }
}
