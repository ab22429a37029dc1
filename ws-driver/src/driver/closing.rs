//! The end of a connection: closing the transport when the core says so, after lingering
//! for the peer's last bytes where that keeps our last frames from being lost to a reset.

use super::{Driver, Input};
use crate::transport::Transport;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use ws_proto::Next;

/// How long a connection failed by a protocol error waits for more of the peer's bytes while
/// draining them after shutting down its side, unless the peer closes first; a peer that keeps
/// sending is drained up to the close timeout (see `Driver::poll_linger`).
const LINGER: Duration = Duration::from_millis(250);

impl<T: Transport> Driver<T> {
    /// Closes the transport when the core says so. Ready(()) means the stream has ended.
    pub(super) fn poll_closing(&mut self) -> Poll<()> {
        if self.finished {
            return Poll::Ready(());
        }
        match self.conn.next_step() {
            Next::ReadWrite => return Poll::Pending,
            Next::ShutdownWrite { drain } => {
                // Errors here change nothing: the connection is over either way.
                let _ = ready!(self.poll_write_and_flush());
                if !self.shut_down {
                    let mut cx = Context::from_waker(&self.proxy_waker);
                    let _ = ready!(self.io.poll_shutdown(&mut cx));
                    self.shut_down = true;
                }
                if drain {
                    ready!(self.poll_linger());
                }
                tracing::debug!("websocket transport closed");
            }
            // Next::Close, and whatever a later core may add: close now.
            _ => {
                // The peer is gone or not reading: write what fits, do not wait for the rest,
                // nor for a TLS close_notify it may never take; dropping the stream closes the
                // socket.
                let _ = self.poll_write_out();
                if !self.shut_down {
                    let mut cx = Context::from_waker(&self.proxy_waker);
                    let _ = self.io.poll_shutdown(&mut cx);
                    self.shut_down = true;
                }
                tracing::debug!("websocket transport closed after a timeout");
            }
        }
        self.finished = true;
        Poll::Ready(())
    }

    /// Reads and drops whatever the peer still sends until it closes its side too, or is quiet
    /// for [`LINGER`], or the close timeout runs out. Closing a socket with unread data makes
    /// the kernel answer with a reset, and a reset discards what we queued but it has not sent
    /// yet: our last frames (the close frame, a message sent just before a protocol error)
    /// could be lost. Not every transport half-closes on shutdown (async-std's TCP stream does
    /// not), so a quiet peer is not waited for long; one still sending (the rest of a message
    /// too large for us, until it reads our 1009) is drained up to the close timeout.
    fn poll_linger(&mut self) -> Poll<()> {
        let waker = self.proxy_waker.clone();
        let mut cx = Context::from_waker(&waker);
        while !self.peer_eof && self.conn.timed_out().is_none() {
            self.conn.read_buffer().clear();
            match self.poll_read_input() {
                // The peer closed its side (or reset the connection): done.
                Poll::Ready(Ok(Input::End) | Err(_)) => {}
                // Still sending: the quiet period starts again.
                Poll::Ready(Ok(Input::Bytes)) => self.linger = None,
                Poll::Pending => {
                    let io = &self.io;
                    let linger = self.linger.get_or_insert_with(|| io.sleep(LINGER));
                    if linger.as_mut().poll(&mut cx).is_ready() {
                        break;
                    }
                    self.poll_deadlines();
                    if self.conn.timed_out().is_none() {
                        return Poll::Pending;
                    }
                }
            }
            // The close timeout bounds a peer that never stops sending.
            self.poll_deadlines();
        }
        self.conn.read_buffer().clear();
        Poll::Ready(())
    }
}
