//! [`MessageWriter`]: a message sent piece by piece.

use super::{io_error, Access, MessageKind};
use crate::error::Error;
use crate::transport::Transport;
use futures_util::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Most bytes taken from one `poll_write`: the rest waits for the next call, so that one write
/// cannot queue more than this on top of a full write buffer.
const WRITE_MAX: usize = 256 << 10;

/// `send_stream` of the stream and of the writing half: waits while the write buffer is full,
/// then starts the message.
pub(crate) async fn send_stream<'a, T: Transport>(
    mut access: Access<'a, T>,
    kind: MessageKind,
) -> Result<MessageWriter<'a, T>, Error> {
    poll_fn(|cx| {
        access.with(|driver| {
            ready!(driver.poll_ready(cx))?;
            let begun = driver.connection_mut().send_stream_begin(kind.opcode());
            Poll::Ready(begun.map_err(Error::from))
        })
    })
    .await?;
    Ok(MessageWriter {
        access,
        kind,
        ended: false,
    })
}

/// A message being sent piece by piece: a futures-io `AsyncWrite` (in `ws-tokio`,
/// `.compat_write()` gives tokio's `AsyncWrite`). From `send_stream` on the stream or its
/// writing half.
///
/// What is written goes out as frames of [`fragment_size`](ws_proto::Config::fragment_size)
/// payload bytes (compressed piece by piece when permessage-deflate is negotiated); `flush`
/// sends what is held back, so the peer can read everything written so far. Writes wait while
/// the write buffer is full. Pings from the peer are answered in between the message's frames
/// (RFC 6455 §5.4). Text must be valid UTF-8 (a character may be split between writes);
/// invalid text is refused with `InvalidData` and not sent.
///
/// [`finish`](Self::finish) (or `AsyncWriteExt::close`) ends the message and flushes it; it
/// does not close the connection.
///
/// # Dropping it unfinished
///
/// A writer dropped (or cancelled) before `finish` fails the connection: a close frame with
/// 1011 (internal error) is queued and the peer drops the incomplete message, so a truncated
/// message is never taken for a whole one. The close goes out with the next call that drives
/// the stream (`recv`, `flush`, `close`, or the reading half's task).
pub struct MessageWriter<'a, T: Transport> {
    access: Access<'a, T>,
    kind: MessageKind,
    ended: bool,
}

impl<T: Transport> MessageWriter<'_, T> {
    /// Text or binary.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// Ends the message (its last frame) and flushes it.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the message is ended on the first poll, once; call `finish` again to
    /// finish writing it.
    pub async fn finish(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_finish(cx)).await
    }

    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let ended = &mut self.ended;
        self.access.with(|driver| {
            if !*ended {
                driver.connection_mut().send_stream_end()?;
                *ended = true;
            }
            driver.poll_flush(cx)
        })
    }
}

impl<T: Transport> futures_io::AsyncWrite for MessageWriter<'_, T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(Err(io_error(Error::ConnectionClosed)));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        this.access.with(|driver| {
            ready!(driver.poll_ready(cx)).map_err(io_error)?;
            let n = buf.len().min(WRITE_MAX);
            driver
                .connection_mut()
                .send_stream_write(&buf[..n])
                .map_err(|e| io_error(e.into()))?;
            // Start writing it; what the transport does not take now goes with the next call.
            match driver.poll_flush(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(io_error(e))),
                _ => Poll::Ready(Ok(n)),
            }
        })
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let ended = this.ended;
        this.access.with(|driver| {
            if !ended {
                driver
                    .connection_mut()
                    .send_stream_flush()
                    .map_err(|e| io_error(e.into()))?;
            }
            driver.poll_flush(cx).map_err(io_error)
        })
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_finish(cx).map_err(io_error)
    }
}

impl<T: Transport> Drop for MessageWriter<'_, T> {
    fn drop(&mut self) {
        if !self.ended {
            self.access.with(|driver| {
                driver.connection_mut().send_stream_abort();
                driver.wake_halves();
            });
        }
    }
}

impl<T: Transport> std::fmt::Debug for MessageWriter<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageWriter")
            .field("kind", &self.kind)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}
