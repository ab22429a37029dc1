//! When a message is handed to the core, and what a finished close returns: the one home of
//! the cancellation rules that [`WebSocketStream`](crate::WebSocketStream) and its
//! [`WebSocketSink`](crate::WebSocketSink) half share (see the README's "Cancellation").
//!
//! A call that queues a message does so in the poll in which it completes, never before an
//! await point: a call dropped before completing has queued nothing, so retrying it can
//! neither lose nor duplicate the message.

use crate::driver::Driver;
use crate::error::Error;
use crate::transport::Transport;
use std::task::{ready, Context, Poll};
use ws_proto::{Connection, Timeout};

/// Whether a `send` may leave its message queued for the next `recv` to write (see
/// `driver/batch.rs`): yes for the whole stream, whose `recv` writes the batch before it
/// waits; never for the split sink, whose reading half may not be polled.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coalesce {
    /// Leave the message queued when more received input is already waiting.
    WithRecv,
    /// Always start writing at once.
    Never,
}

/// Polls a `send`: waits while the write buffer is full or the transport has not taken
/// earlier output, then queues `item` with `queue` and writes it, with everything queued
/// before it, and completes in that same poll. What the transport did not take yet is written
/// by the next call that drives the stream. With [`Coalesce::WithRecv`], when the last `recv`
/// left a whole frame of input waiting, the message stays queued without a write: that
/// `recv` writes it, with the replies to the frames it returns, before it would wait.
pub(crate) fn poll_send<T: Transport, M>(
    driver: &mut Driver<T>,
    cx: &mut Context<'_>,
    item: &mut Option<M>,
    queue: impl FnOnce(&mut Driver<T>, M) -> Result<(), Error>,
    coalesce: Coalesce,
) -> Poll<Result<(), Error>> {
    ready!(driver.poll_ready(cx))?;
    if driver.output_stalled() {
        ready!(driver.poll_flush(cx))?;
    }
    ready!(poll_feed(driver, cx, item, queue))?;
    if coalesce == Coalesce::WithRecv && driver.may_defer_write() {
        return Poll::Ready(Ok(()));
    }
    match driver.poll_flush(cx) {
        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        // Queued: the rest of the message goes out with the next call.
        Poll::Ready(Ok(())) | Poll::Pending => Poll::Ready(Ok(())),
    }
}

/// Polls a `feed`: waits while the write buffer is over its limit, then queues `item` with
/// `queue` and completes in that same poll, without flushing.
pub(crate) fn poll_feed<T: Transport, M>(
    driver: &mut Driver<T>,
    cx: &mut Context<'_>,
    item: &mut Option<M>,
    queue: impl FnOnce(&mut Driver<T>, M) -> Result<(), Error>,
) -> Poll<Result<(), Error>> {
    ready!(driver.poll_ready(cx))?;
    match item.take() {
        Some(item) => Poll::Ready(queue(driver, item)),
        // Already queued by an earlier poll that returned Ready: nothing left to do.
        None => Poll::Ready(Ok(())),
    }
}

/// What `close` returns once the connection is over: `Err(CloseTimeout)` if the close timeout
/// ended it, `Ok(())` otherwise (the closing handshake finished, or the connection had ended
/// before and its error was already returned).
pub(crate) fn close_outcome(conn: &Connection) -> Result<(), Error> {
    match conn.timed_out() {
        Some(Timeout::Close) => Err(Error::CloseTimeout),
        _ => Ok(()),
    }
}
