//! [`ByteStream`]: a WebSocket as a plain byte stream.

use super::io_error;
use super::reader::{poll_start, ReadState};
use crate::error::Error;
use crate::stream::WebSocketStream;
use crate::transport::Transport;
use bytes::Bytes;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use ws_proto::Message;

/// A WebSocket connection as one byte stream in each direction (from
/// [`WebSocketStream::into_io`]), for tunnelling another protocol: a futures-io
/// `AsyncRead + AsyncWrite` (in `ws-tokio`, `.compat()` gives tokio's traits).
///
/// Each `write` sends one binary message (of at most `fragment_size` bytes: the rest is left
/// for the next write); reading yields the bytes of the messages received, in order, whatever
/// their size (each is streamed, so memory stays bounded; text messages give their UTF-8
/// bytes). Reading ends (`Ok(0)`) when the peer closes the connection; `close` runs the
/// closing handshake from our side.
pub struct ByteStream<T> {
    stream: WebSocketStream<T>,
    reading: Option<ReadState>,
}

impl<T: Transport> ByteStream<T> {
    pub(crate) fn new(stream: WebSocketStream<T>) -> Self {
        ByteStream {
            stream,
            reading: None,
        }
    }

    /// The WebSocket stream back (bytes of a message being read are dropped).
    pub fn into_inner(self) -> WebSocketStream<T> {
        self.stream
    }
}

impl<T: Transport> futures_io::AsyncRead for ByteStream<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let driver = this.stream.driver_mut();
        loop {
            let state = match &mut this.reading {
                Some(state) => state,
                None => match ready!(poll_start(driver, cx, Some(u64::MAX))) {
                    Some(Ok(state)) => this.reading.insert(state),
                    Some(Err(e)) => return Poll::Ready(Err(io_error(e))),
                    None => return Poll::Ready(Ok(0)),
                },
            };
            match ready!(state.poll_read(driver, cx, buf)) {
                // The end of one message: read on into the next.
                Ok(0) if !buf.is_empty() => this.reading = None,
                result => return Poll::Ready(result),
            }
        }
    }
}

impl<T: Transport> futures_io::AsyncWrite for ByteStream<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let driver = self.get_mut().stream.driver_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(driver.poll_ready(cx)).map_err(io_error)?;
        let n = buf
            .len()
            .min(driver.connection().config().fragment_size.max(1));
        let message = Message::Binary(Bytes::copy_from_slice(&buf[..n]));
        driver.start_send(message).map_err(io_error)?;
        match driver.poll_flush(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(io_error(e))),
            _ => Poll::Ready(Ok(n)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let driver = self.get_mut().stream.driver_mut();
        driver.poll_flush(cx).map_err(io_error)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let driver = self.get_mut().stream.driver_mut();
        match ready!(driver.poll_close(cx)) {
            Ok(()) | Err(Error::ConnectionClosed) => Poll::Ready(Ok(())),
            Err(e) => Poll::Ready(Err(io_error(e))),
        }
    }
}

impl<T> std::fmt::Debug for ByteStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteStream").finish_non_exhaustive()
    }
}
