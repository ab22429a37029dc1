//! [`MessageReader`]: a received message read as it arrives.

use super::{io_error, Access, MessageKind};
use crate::driver::Driver;
use crate::error::Error;
use crate::transport::Transport;
use bytes::{Buf, Bytes};
use futures_core::Stream;
use futures_util::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use ws_proto::{Event, Message, OpCode};

/// Where the reading of one message stands (shared by [`MessageReader`] and
/// [`ByteStream`](super::ByteStream)).
#[derive(Debug)]
pub(crate) struct ReadState {
    pub(crate) kind: MessageKind,
    /// Received bytes not yet handed out.
    pub(crate) current: Bytes,
    /// The message's last chunk was received (or it failed).
    pub(crate) done: bool,
}

/// Polls for the start of the next data message, asking the core to stream it with `limit`
/// (default: `max_message_size`). Chunks left of a message whose reader was dropped are
/// discarded; pings and pongs are skipped (pings are answered).
pub(crate) fn poll_start<T: Transport>(
    driver: &mut Driver<T>,
    cx: &mut Context<'_>,
    limit: Option<u64>,
) -> Poll<Option<Result<ReadState, Error>>> {
    let limit = limit.unwrap_or(driver.connection().config().max_message_size as u64);
    loop {
        driver.connection_mut().stream_next_message(limit);
        let (kind, current, done) = match ready!(driver.poll_next_event(cx)) {
            Some(Ok(Event::Frame(frame))) => match frame.opcode {
                OpCode::Text => (MessageKind::Text, frame.payload, frame.fin),
                OpCode::Binary => (MessageKind::Binary, frame.payload, frame.fin),
                // The rest of an abandoned message.
                _ => continue,
            },
            // Whole already: read while a write waited, before the stream was asked for.
            Some(Ok(Event::Message(Message::Text(text)))) => {
                (MessageKind::Text, text.into_bytes(), true)
            }
            Some(Ok(Event::Message(Message::Binary(data)))) => (MessageKind::Binary, data, true),
            Some(Ok(Event::Message(_))) => continue,
            Some(Err(e)) => return Poll::Ready(Some(Err(e))),
            None => return Poll::Ready(None),
        };
        return Poll::Ready(Some(Ok(ReadState {
            kind,
            current,
            done,
        })));
    }
}

impl ReadState {
    /// The next chunk of the message; `None` after its last.
    pub(crate) fn poll_chunk<T: Transport>(
        &mut self,
        driver: &mut Driver<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Error>>> {
        if !self.current.is_empty() {
            return Poll::Ready(Some(Ok(std::mem::take(&mut self.current))));
        }
        while !self.done {
            let event = ready!(driver.poll_next_event(cx));
            let failure = match event {
                Some(Ok(Event::Frame(frame))) => {
                    self.done = frame.fin;
                    if frame.payload.is_empty() {
                        continue;
                    }
                    return Poll::Ready(Some(Ok(frame.payload)));
                }
                Some(Ok(Event::Message(Message::Close(frame)))) => Error::MessageCut(frame),
                // Pings (answered already) and pongs between the message's frames.
                Some(Ok(Event::Message(_))) => continue,
                Some(Err(e)) => e,
                None => Error::MessageCut(None),
            };
            self.done = true;
            return Poll::Ready(Some(Err(failure)));
        }
        Poll::Ready(None)
    }

    /// Reads into `buf`, `Ok(0)` at the end of the message.
    pub(crate) fn poll_read<T: Transport>(
        &mut self,
        driver: &mut Driver<T>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.current.is_empty() {
            match ready!(self.poll_chunk(driver, cx)) {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Poll::Ready(Err(io_error(e))),
                None => return Poll::Ready(Ok(0)),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Poll::Ready(Ok(n))
    }
}

/// Withdraws the request to stream when `recv_stream` completes or is cancelled, so that a
/// later `recv` gets the next message whole.
struct Withdraw<'r, 'a, T: Transport>(&'r mut Access<'a, T>);

impl<T: Transport> Drop for Withdraw<'_, '_, T> {
    fn drop(&mut self) {
        self.0
            .with(|driver| driver.connection_mut().reassemble_next_message());
    }
}

/// `recv_stream` of the stream and of the reading half.
pub(crate) async fn recv_stream<'a, T: Transport>(
    mut access: Access<'a, T>,
    limit: Option<u64>,
) -> Option<Result<MessageReader<'a, T>, Error>> {
    let started = {
        let guard = Withdraw(&mut access);
        poll_fn(|cx| guard.0.with(|driver| poll_start(driver, cx, limit))).await
    };
    Some(started?.map(|state| MessageReader { access, state }))
}

/// A received message, read as it arrives: a [`Stream`] of its chunks and a futures-io
/// `AsyncRead` of its bytes (in `ws-tokio`, `.compat()` gives tokio's `AsyncRead`). From
/// `recv_stream` on the stream or its reading half.
///
/// Its [`kind`](Self::kind) is known before any byte. Chunks are pieces of the payload as they
/// arrived: a text message's chunks may split a character, the whole is valid UTF-8. Text is
/// checked as UTF-8 as it arrives: invalid text fails the connection with 1007 at the first bad byte, before the rest
/// is read. The size limit (1009) applies to the message as it arrives. Pings that arrive
/// meanwhile are answered. Bytes are read from the transport only as the reader asks for
/// them, so a slow reader slows the peer rather than filling memory.
///
/// The reader ends (`None`, `Ok(0)`) after the message's last byte; a failure mid-message
/// (1007, 1009, the peer's close: [`Error::MessageCut`]) is returned once, then it ends.
///
/// # Dropping it half-way
///
/// The rest of the message is discarded as it arrives, by whichever call reads the stream next
/// (`recv` or `recv_stream`); the connection stays open.
pub struct MessageReader<'a, T> {
    access: Access<'a, T>,
    state: ReadState,
}

impl<T: Transport> MessageReader<'_, T> {
    /// Text or binary.
    pub fn kind(&self) -> MessageKind {
        self.state.kind
    }

    /// The next chunk of the message (a piece of the payload, as it arrived); `None` after its
    /// last.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a chunk leaves the connection only in the poll that returns it.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, Error>> {
        poll_fn(|cx| self.poll_chunk(cx)).await
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Error>>> {
        let state = &mut self.state;
        self.access.with(|driver| state.poll_chunk(driver, cx))
    }
}

impl<T: Transport> Stream for MessageReader<'_, T> {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

impl<T: Transport> futures_io::AsyncRead for MessageReader<'_, T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let state = &mut this.state;
        this.access.with(|driver| state.poll_read(driver, cx, buf))
    }
}

impl<T> std::fmt::Debug for MessageReader<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageReader")
            .field("kind", &self.state.kind)
            .field("done", &self.state.done)
            .finish_non_exhaustive()
    }
}
