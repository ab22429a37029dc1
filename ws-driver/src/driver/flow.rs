//! Flow control between reading and writing (issue 15).
//!
//! * Backpressure onto the peer: while our output is at the write buffer limit and the
//!   transport takes none of it, the reading side stops reading, so a peer that sends pings (or
//!   anything else that makes us answer) and never reads fills its own TCP window instead of our
//!   memory. Deadlines keep running meanwhile. The exception is a write of the application's
//!   own that is waiting: then the output is full of its data, and both ends writing while
//!   neither reads would deadlock, so the peer is read as usual (what that can make us queue is
//!   bounded by the core: one pending pong, one close reply).
//! * Reading while writing: a write that waits for the peer (or has written a write buffer's
//!   worth since it last looked) reads what the peer sends (at most one message, kept for
//!   `poll_next_event`), so a peer that closed the connection meanwhile (1009 for a message
//!   too big for it) is noticed, and the write reports its close frame instead of succeeding
//!   or failing with a bare reset.

use super::Driver;
use crate::error::Error;
use crate::transport::Transport;
use std::task::Poll;
use ws_proto::{Event, Message};

impl<T: Transport> Driver<T> {
    /// Whether the reading side should leave the peer's bytes in the transport for now; asked
    /// after a write returned `Pending`.
    pub(super) fn read_paused(&self) -> bool {
        self.conn.is_write_buffer_full() && !self.write_waiting
    }

    /// Reads what the peer sends while our write waits, until the transport has nothing more,
    /// a message was decoded (kept in `stash` for the reading side, which is woken), or the
    /// connection failed (the failure is kept for the reading side too). A close frame from
    /// the peer, unless it answers ours, is also recorded in `peer_close` for the write to
    /// report. Returns true when the stream ended meanwhile.
    pub(super) fn read_while_writing(&mut self) -> bool {
        self.written_unchecked = 0;
        // The read buffer may leave its frame boundary: no longer known to hold a whole frame.
        self.input_ready = false;
        let answering_ours = self.conn.close_sent();
        while self.stash.is_none() && self.failure.is_none() && !self.finished {
            match self.conn.next_event() {
                Ok(Some(event)) => {
                    if let Event::Message(Message::Close(frame)) = &event {
                        if !answering_ours {
                            self.peer_close = Some(frame.clone());
                        }
                    }
                    // A message, or a chunk of a streamed one.
                    self.stash = Some(event);
                    self.proxy.read.wake();
                    break;
                }
                Err(e) => {
                    self.failure = Some(Error::Protocol(e));
                    self.proxy.read.wake();
                    break;
                }
                Ok(None) => {}
            }
            if self.peer_eof || !self.conn.wants_read() {
                break;
            }
            match self.poll_read_input() {
                Poll::Ready(Ok(_)) => {}
                // The stream has ended: the reading side reports the error.
                Poll::Ready(Err(e)) => {
                    self.failure = Some(Error::Io(e));
                    self.proxy.read.wake();
                    break;
                }
                Poll::Pending => break,
            }
        }
        self.finished
    }
}
