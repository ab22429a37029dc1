//! The byte transport the driver runs on, and the read-buffer rules its implementations share.

use bytes::BytesMut;
use std::cell::RefCell;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A future that completes after a delay, from the transport's runtime.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A byte stream the WebSocket driver can run on, with the timer of its runtime.
///
/// Each adapter implements it for its runtime's byte streams, next to its
/// [`Runtime`](crate::Runtime); everything else (framing, close handshake, backpressure, split
/// halves) is shared.
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
    /// A timer from the transport's runtime (its [`Runtime::sleep`](crate::Runtime::sleep)).
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// How much spare room to have before each read.
const READ_CHUNK: usize = 16 * 1024;

/// Room for a read into an empty, never-grown buffer: enough for a handshake request or a
/// burst of small messages, small enough that thousands of idle connections stay cheap.
const FIRST_READ: usize = 2 * 1024;

/// How much spare room `buf` should have before the next read, for adapters whose runtime reads
/// into a buffer's uninitialised spare capacity (tokio), once [`read_via_scratch`] says no:
/// a buffer that never saw a burst reads a little; once a read leaves part of a frame behind
/// (or the buffer grew), reads are full-sized.
#[doc(hidden)]
pub fn read_reserve(buf: &BytesMut) -> usize {
    if buf.is_empty() && buf.capacity() < READ_CHUNK {
        FIRST_READ
    } else {
        READ_CHUNK
    }
}

/// Whether the next read into `buf` should go through the thread's scratch buffer
/// ([`poll_read_scratch`]) rather than into `buf`'s spare room: `buf` is empty and smaller
/// than a first read, as on a connection that has been idle since its handshake. Reserving
/// room in it before a read that finds nothing would keep that room allocated (and resident)
/// for as long as the connection stays idle; through the scratch buffer, only the bytes that
/// arrive are kept.
#[doc(hidden)]
pub fn read_via_scratch(buf: &BytesMut) -> bool {
    buf.is_empty() && buf.capacity() < FIRST_READ
}

thread_local! {
    /// Where scratch reads land before they are appended to a connection's buffer.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; 4 * READ_CHUNK].into_boxed_slice());
}

/// Runs `read` on the thread's scratch buffer (zeroed once, so it is initialised memory) and
/// appends the bytes it read to `buf`.
#[doc(hidden)]
pub fn poll_read_scratch(
    buf: &mut BytesMut,
    read: impl FnOnce(&mut [u8]) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<usize>> {
    SCRATCH.with_borrow_mut(|scratch| {
        let res = read(&mut scratch[..]);
        if let Poll::Ready(Ok(n)) = res {
            buf.extend_from_slice(&scratch[..n]);
        }
        res
    })
}

/// Reads from a futures-io stream (async-std, smol, futures-rustls) into `buf`, appending, for
/// [`FuturesIo`](crate::FuturesIo)'s [`Transport::poll_read_buf`].
///
/// futures-io reads into initialised memory. Zeroing the buffer's spare room before each read
/// (the only way without unsafe code) costs a memset of the whole room even when a few bytes or
/// none arrive, and makes an idle connection's buffer resident. Instead every read goes
/// through the thread's scratch buffer ([`poll_read_scratch`]), which keeps only the bytes
/// that arrived.
pub(crate) fn poll_read_futures_io<S: futures_io::AsyncRead + Unpin>(
    stream: &mut S,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
) -> Poll<io::Result<usize>> {
    poll_read_scratch(buf, |scratch| Pin::new(stream).poll_read(cx, scratch))
}
