//! The byte transport the driver runs on, and its implementations for each I/O trait family.

use bytes::BytesMut;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A future that completes after a delay, from the transport's runtime.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A byte stream the WebSocket driver can run on, with the timer of its runtime.
///
/// This is the only thing an adapter implements: tokio's `AsyncRead`/`AsyncWrite` through
/// `TokioIo` and futures-io's (async-std, smol) through `FuturesIo` (behind the `tokio` and
/// `futures-io` features). Everything else (framing, close handshake, backpressure,
/// split halves) is shared.
pub trait Transport: Unpin {
    /// Reads into the spare capacity of `buf`, appending; `Ok(0)` is end of file.
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>>;
    /// Writes from the slices, in order; returns how many bytes were written.
    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;
    /// Flushes buffered writes.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Shuts down the write side (for TCP, sends FIN; for TLS, close_notify first).
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// A timer from the transport's runtime.
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// How much spare room to have before each read.
#[cfg_attr(not(any(feature = "tokio", feature = "futures-io")), allow(dead_code))]
pub(crate) const READ_CHUNK: usize = 16 * 1024;

/// Room for a read into an empty, never-grown buffer: enough for a handshake request or a
/// burst of small messages, small enough that thousands of idle connections stay cheap.
#[cfg(feature = "tokio")]
const FIRST_READ: usize = 2 * 1024;

/// tokio's timer, as a [`Sleep`].
#[cfg(feature = "tokio")]
pub(crate) fn tokio_sleep(duration: Duration) -> Sleep {
    Box::pin(tokio::time::sleep(duration))
}

/// The timer of `async-io`, the reactor async-std and smol run on, as a [`Sleep`].
#[cfg(feature = "futures-io")]
pub(crate) fn futures_sleep(duration: Duration) -> Sleep {
    Box::pin(async move {
        async_io::Timer::after(duration).await;
    })
}

#[cfg(feature = "tokio")]
mod tokio_impl {
    use super::*;
    use tokio::io::{AsyncRead, AsyncWrite};

    /// Wraps a tokio `AsyncRead + AsyncWrite` stream as a [`Transport`].
    #[derive(Debug)]
    pub struct TokioIo<S>(pub S);

    impl<S> TokioIo<S> {
        /// The wrapped stream.
        pub fn get_ref(&self) -> &S {
            &self.0
        }

        /// The wrapped stream, mutably.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.0
        }
    }

    impl<S: AsyncRead + AsyncWrite + Unpin> Transport for TokioIo<S> {
        fn poll_read_buf(
            &mut self,
            cx: &mut Context<'_>,
            buf: &mut BytesMut,
        ) -> Poll<io::Result<usize>> {
            // An idle connection whose buffer never saw a burst waits with a small buffer; once
            // a read leaves part of a frame behind (or the buffer grew), reads are full-sized.
            let additional = if buf.is_empty() && buf.capacity() < READ_CHUNK {
                FIRST_READ
            } else {
                READ_CHUNK
            };
            buf.reserve(additional);
            // Reads straight into the uninitialised spare capacity: no zeroing, no copy.
            tokio_util::io::poll_read_buf(Pin::new(&mut self.0), cx, buf)
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
            Pin::new(&mut self.0).poll_shutdown(cx)
        }

        fn sleep(&self, duration: Duration) -> Sleep {
            tokio_sleep(duration)
        }
    }
}
#[cfg(feature = "tokio")]
pub use tokio_impl::TokioIo;

#[cfg(feature = "futures-io")]
mod futures_impl {
    use super::*;
    use futures_io::{AsyncRead, AsyncWrite};
    use std::cell::RefCell;

    thread_local! {
        /// Where futures-io reads land before they are appended to a connection's buffer.
        static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; 4 * READ_CHUNK].into_boxed_slice());
    }

    /// Wraps a futures-io `AsyncRead + AsyncWrite` stream (async-std, smol, futures-rustls) as a
    /// [`Transport`]. Timers come from `async-io`, the reactor both async-std and smol run on.
    #[derive(Debug)]
    pub struct FuturesIo<S>(pub S);

    impl<S> FuturesIo<S> {
        /// The wrapped stream.
        pub fn get_ref(&self) -> &S {
            &self.0
        }

        /// The wrapped stream, mutably.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.0
        }
    }

    impl<S: AsyncRead + AsyncWrite + Unpin> Transport for FuturesIo<S> {
        fn poll_read_buf(
            &mut self,
            cx: &mut Context<'_>,
            buf: &mut BytesMut,
        ) -> Poll<io::Result<usize>> {
            // futures-io reads into initialised memory. Zeroing the buffer's spare room before
            // each read (the only way without unsafe code) costs a memset of the whole room even
            // when a few bytes or none arrive, and makes an idle connection's buffer resident.
            // Instead each thread reads into one scratch buffer, zeroed once, and appends only
            // the bytes that arrived.
            SCRATCH.with_borrow_mut(|scratch| {
                let res = Pin::new(&mut self.0).poll_read(cx, &mut scratch[..]);
                if let Poll::Ready(Ok(n)) = res {
                    buf.extend_from_slice(&scratch[..n]);
                }
                res
            })
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
            Pin::new(&mut self.0).poll_close(cx)
        }

        fn sleep(&self, duration: Duration) -> Sleep {
            futures_sleep(duration)
        }
    }
}
#[cfg(feature = "futures-io")]
pub use futures_impl::FuturesIo;
