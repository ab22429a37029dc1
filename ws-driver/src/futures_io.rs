//! futures-io byte streams (async-std's and smol's TCP, futures-rustls over them) as the
//! driver's [`Transport`], written once for the adapters of both runtimes.

use crate::runtime::Runtime;
use crate::transport::{poll_read_futures_io, Sleep, Transport};
use bytes::BytesMut;
use futures_io::{AsyncRead, AsyncWrite};
use std::fmt;
use std::io::{self, IoSlice};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// A runtime whose byte streams are futures-io's (`AsyncRead`/`AsyncWrite`), for streams `S`:
/// what [`FuturesIo`] needs from it besides its timer.
pub trait FuturesIoRuntime<S>: Runtime {
    /// Finishes shutting `stream` down once its `poll_close` returned: the peer must see TCP
    /// FIN (after TLS `close_notify`). smol's `poll_close` sends it already; async-std's TCP
    /// stream only flushes, so its adapter shuts the TCP write side down here.
    fn shut_down_write(stream: &S) -> io::Result<()>;
}

/// A futures-io `AsyncRead + AsyncWrite` stream as the driver's [`Transport`] on runtime `R`
/// (its timer, and its [`shut_down_write`](FuturesIoRuntime::shut_down_write)). The
/// adapters name it `AsyncStdIo<S>` and `SmolIo<S>`.
pub struct FuturesIo<S, R>(pub S, PhantomData<fn() -> R>);

impl<S, R> FuturesIo<S, R> {
    /// Wraps `stream`.
    pub fn new(stream: S) -> Self {
        FuturesIo(stream, PhantomData)
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.0
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.0
    }
}

impl<S: fmt::Debug, R> fmt::Debug for FuturesIo<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FuturesIo").field(&self.0).finish()
    }
}

impl<S, R> Transport for FuturesIo<S, R>
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: FuturesIoRuntime<S>,
{
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        poll_read_futures_io(&mut self.0, cx, buf)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut self.0).poll_close(cx))?;
        Poll::Ready(R::shut_down_write(&self.0))
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        R::sleep(duration)
    }
}
