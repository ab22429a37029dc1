//! The connection hyper hands over after an upgrade (HTTP/1.1) or an extended CONNECT (HTTP/2),
//! as the WebSocket's byte stream.

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// hyper's upgraded connection, whose end of input is final: once a read has reported the end
/// (or failed), later reads wait instead of reporting it again.
///
/// On HTTP/2, hyper writes through a task of its own, so a flush can wait while the peer has
/// already ended its side of the stream (a browser does so right after the closing handshake);
/// a reader that kept getting the end again at once would spin, and could keep hyper's writing
/// task from running on its thread.
#[derive(Debug)]
pub struct HyperIo {
    inner: TokioIo<Upgraded>,
    ended: bool,
}

impl HyperIo {
    pub(crate) fn new(upgraded: Upgraded) -> Self {
        HyperIo {
            inner: TokioIo::new(upgraded),
            ended: false,
        }
    }
}

impl AsyncRead for HyperIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.ended {
            // Reported already; the writes, flushes and shutdown go on and wake the stream.
            return Poll::Pending;
        }
        let (room, before) = (buf.remaining(), buf.filled().len());
        let read = ready!(Pin::new(&mut this.inner).poll_read(cx, buf));
        if read.is_err() || (room > 0 && buf.filled().len() == before) {
            this.ended = true;
        }
        Poll::Ready(read)
    }
}

impl AsyncWrite for HyperIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
