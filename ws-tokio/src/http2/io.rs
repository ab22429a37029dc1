//! One HTTP/2 stream as a byte stream (tokio's `AsyncRead`/`AsyncWrite`), with HTTP/2 flow
//! control: received data is acknowledged (its window released) as the WebSocket reads it, and
//! writes wait for the peer's window, so one stalled WebSocket does not hold up the others on
//! the connection.

use bytes::Bytes;
use h2::{Reason, RecvStream, SendStream};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// An HTTP/2 stream carrying a WebSocket (RFC 8441): the request's DATA frames are written,
/// the response's are read. Shutting it down ends the stream (END_STREAM); dropping it before
/// resets it (RST_STREAM with CANCEL).
#[derive(Debug)]
pub struct H2Stream {
    send: SendStream<Bytes>,
    recv: RecvStream,
    /// Received bytes the reader has not taken yet.
    pending: Bytes,
    ended: bool,
}

impl H2Stream {
    pub(crate) fn new(send: SendStream<Bytes>, recv: RecvStream) -> Self {
        H2Stream {
            send,
            recv,
            pending: Bytes::new(),
            ended: false,
        }
    }
}

fn to_io(error: h2::Error) -> io::Error {
    if error.is_io() {
        return error
            .into_io()
            .unwrap_or_else(|| io::ErrorKind::Other.into());
    }
    io::Error::new(io::ErrorKind::ConnectionReset, error)
}

impl AsyncRead for H2Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while this.pending.is_empty() {
            match ready!(this.recv.poll_data(cx)) {
                // END_STREAM: the peer has finished sending.
                None => return Poll::Ready(Ok(())),
                Some(Ok(data)) => {
                    // The window opens again for what this WebSocket has taken in.
                    let _ = this.recv.flow_control().release_capacity(data.len());
                    this.pending = data;
                }
                // A stream reset with NO_ERROR after the close is an end like any other.
                Some(Err(e)) if e.reason() == Some(Reason::NO_ERROR) => return Poll::Ready(Ok(())),
                Some(Err(e)) => return Poll::Ready(Err(to_io(e))),
            }
        }
        let n = this.pending.len().min(out.remaining());
        out.put_slice(&this.pending.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.ended {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        this.send.reserve_capacity(data.len());
        loop {
            match this.send.poll_capacity(cx) {
                Poll::Ready(Some(Ok(0))) => continue,
                Poll::Ready(Some(Ok(n))) => {
                    let n = n.min(data.len());
                    this.send
                        .send_data(Bytes::copy_from_slice(&data[..n]), false)
                        .map_err(to_io)?;
                    return Poll::Ready(Ok(n));
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(to_io(e))),
                Poll::Ready(None) => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
                // No window: unless the peer reset the stream, wait for it to open.
                Poll::Pending => {
                    return match ready!(this.send.poll_reset(cx)) {
                        Ok(reason) => Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::ConnectionReset,
                            h2::Error::from(reason),
                        ))),
                        Err(e) => Poll::Ready(Err(to_io(e))),
                    }
                }
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The connection's task writes the frames out.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.ended {
            this.ended = true;
            this.send.send_data(Bytes::new(), true).map_err(to_io)?;
        }
        Poll::Ready(Ok(()))
    }
}
