//! The halves of a split [`WebSocketStream`]: a [`WebSocketSink`] and a [`WebSocketReader`]
//! sharing one driver, with the same cancellation rules as the whole stream.

use crate::driver::Driver;
use crate::error::Error;
use crate::sending::{close_outcome, poll_feed, poll_send, Coalesce};
use crate::stream::WebSocketStream;
use crate::streaming::{self, Access, MessageKind, MessageReader, MessageWriter};
use crate::transport::Transport;
use futures_core::Stream;
use futures_sink::Sink;
use futures_util::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};
use ws_proto::{CloseFrame, Message, PreparedMessage};

pub(crate) type Shared<T> = Arc<Mutex<Driver<T>>>;

pub(crate) fn lock<T>(shared: &Shared<T>) -> MutexGuard<'_, Driver<T>> {
    // A panic while holding the lock cannot leave the driver half-updated in a way that matters
    // more than the panic itself; keep serving the other half.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Splits a stream's driver into the two halves.
pub(crate) fn split<T>(driver: Driver<T>) -> (WebSocketSink<T>, WebSocketReader<T>) {
    let shared = Arc::new(Mutex::new(driver));
    (
        WebSocketSink {
            shared: shared.clone(),
        },
        WebSocketReader { shared },
    )
}

/// The reading half of a split [`WebSocketStream`]: a [`Stream`] of messages.
///
/// Reading also writes the automatic replies (pongs, the close echo) the protocol needs, at
/// once, and what the writing half queued but did not write yet, before it waits.
pub struct WebSocketReader<T> {
    shared: Shared<T>,
}

impl<T: Transport> WebSocketReader<T> {
    /// Receives the next message; `None` once the connection is over (after the peer's close,
    /// or when the close timeout ran out: [`WebSocketSink::close`] reports that).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`WebSocketStream::recv`]: a cancelled `recv` loses no message and no
    /// part of a fragmented one.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| lock(&self.shared).poll_next_message(cx)).await
    }

    /// Receives the next data message as a stream (see [`WebSocketStream::recv_stream`]).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`WebSocketStream::recv_stream`].
    pub async fn recv_stream(&mut self) -> Option<Result<MessageReader<'_, T>, Error>> {
        streaming::recv_stream(Access::Shared(&self.shared), None).await
    }

    /// [`recv_stream`](Self::recv_stream) with a size limit of its own for this message (see
    /// [`WebSocketStream::recv_stream_with_limit`]).
    pub async fn recv_stream_with_limit(
        &mut self,
        max_message_size: u64,
    ) -> Option<Result<MessageReader<'_, T>, Error>> {
        streaming::recv_stream(Access::Shared(&self.shared), Some(max_message_size)).await
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
            Ok(mutex) => Ok(WebSocketStream::from_driver(
                mutex.into_inner().unwrap_or_else(|p| p.into_inner()),
            )),
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
///
/// Its methods behave, and are cancel-safe, as the whole stream's are.
pub struct WebSocketSink<T> {
    shared: Shared<T>,
}

impl<T: Transport> WebSocketSink<T> {
    /// Sends a message; see [`WebSocketStream::send`]: it returns once the message is queued,
    /// and writes it at once with everything queued before it (unlike the whole stream's
    /// `send`, it never leaves it for the reading half, which may not be polled). The reading
    /// half also writes what the transport did not take at once.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a cancelled `send` queued nothing; sending the message again sends it once.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let mut message = Some(message.into());
        poll_fn(|cx| {
            poll_send(
                &mut lock(&self.shared),
                cx,
                &mut message,
                Driver::start_send,
                Coalesce::Never,
            )
        })
        .await
    }

    /// Queues a message without flushing (see [`WebSocketStream::feed`]).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a cancelled `feed` queued nothing.
    pub async fn feed(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let mut message = Some(message.into());
        poll_fn(|cx| {
            poll_feed(
                &mut lock(&self.shared),
                cx,
                &mut message,
                Driver::start_send,
            )
        })
        .await
    }

    /// Writes and flushes everything queued (see [`WebSocketStream::flush`]).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: what a cancelled `flush` did not write stays queued, in order.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| lock(&self.shared).poll_flush(cx)).await
    }

    /// Sends a message encoded once for many connections (see
    /// [`WebSocketStream::send_prepared`]).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a cancelled `send_prepared` queued nothing.
    pub async fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        let mut message = Some(message);
        poll_fn(|cx| {
            let queue = Driver::send_prepared;
            poll_send(
                &mut lock(&self.shared),
                cx,
                &mut message,
                queue,
                Coalesce::Never,
            )
        })
        .await
    }

    /// Queues a prepared message without flushing (see [`WebSocketStream::feed_prepared`]).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a cancelled `feed_prepared` queued nothing.
    pub async fn feed_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        let mut message = Some(message);
        poll_fn(|cx| {
            let queue = Driver::send_prepared;
            poll_feed(&mut lock(&self.shared), cx, &mut message, queue)
        })
        .await
    }

    /// Starts sending a message written piece by piece (see
    /// [`WebSocketStream::send_stream`]).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a cancelled `send_stream` started no message.
    pub async fn send_stream(&mut self, kind: MessageKind) -> Result<MessageWriter<'_, T>, Error> {
        streaming::send_stream(Access::Shared(&self.shared), kind).await
    }

    /// Sends a close frame and flushes it; the reading half then sees the peer's close and
    /// ends once the transport is closed. Returns:
    ///
    /// - `Ok(())` once our close frame is written;
    /// - `Err(CloseTimeout)` when the close timeout ran out before it could be written (the
    ///   peer is not reading); the transport is closed anyway;
    /// - if the connection was already over: the same at once, `Err(CloseTimeout)` if that
    ///   timeout ended it, `Ok(())` otherwise.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe in that nothing is lost or done twice: the close frame is queued on the
    /// first poll, once; calling `close` again finishes writing it.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        lock(&self.shared).start_close(frame)?;
        match poll_fn(|cx| lock(&self.shared).poll_flush(cx)).await {
            Ok(()) | Err(Error::ConnectionClosed) => close_outcome(lock(&self.shared).connection()),
            Err(e) => Err(e),
        }
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
