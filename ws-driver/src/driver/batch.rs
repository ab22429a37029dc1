//! Write coalescing (issue 18): several messages that are ready at once leave in one write.
//!
//! The rules, in one place:
//!
//! * Reading does not write after each message it returns. What is queued is written when the
//!   reading side has decoded everything already received and the transport has nothing more
//!   to read (just before the read would wait), or as soon as the queue reaches
//!   [`BATCH`] bytes (or the write buffer limit, if smaller).
//! * Replies the core queues by itself (a pong, the close echo) are written at once, with
//!   whatever was queued before them: a control reply never waits for the application.
//! * The whole stream's `send` (not the split sink's) leaves its message queued, without a
//!   write, when the `recv` that preceded it left a whole frame of further input already
//!   received, and the read that brought the input returned less than [`DEFER_WINDOW`] ago:
//!   the next `recv` returns that frame without reading, and writes the batch before it would
//!   wait. Otherwise `send` writes at once, everything queued before it included, in one
//!   vectored write. The window keeps an application that awaits other work between `recv`
//!   and `send` (a database, a remote call) from holding its replies until every pipelined
//!   request has been handled: no reply is held once its request was read that long ago; it
//!   leaves at once, with those queued before it.
//! * `flush` (inherent and `Sink::poll_flush`) and `close` always write and flush everything.
//!
//! Frames are never reordered: there is one output queue, in the core, written front to back.

use super::Driver;
use crate::transport::Transport;
use std::time::Duration;
use ws_proto::FrameHeader;

/// How soon after the read that brought its request a `send` may leave its message queued
/// for the next `recv` (see the module documentation). Echoes or replies computed at once
/// come within a few microseconds of it, a whole batch of them within tens; a reply that
/// needed a database or another service takes longer, and is written at once rather than
/// held until every pipelined request is answered. The clock is read once per read and once
/// per `send` of a pipelined message, none for a message that came alone.
pub(super) const DEFER_WINDOW: Duration = Duration::from_micros(50);

/// Queued output at which reading writes it out before going on, even if more received input
/// is waiting to be decoded: bounds how long the first message of a batch waits, and how much
/// memory a batch holds.
pub(super) const BATCH: usize = 64 * 1024;

impl<T: Transport> Driver<T> {
    /// Whether queued output should be written now rather than batched further.
    pub(super) fn batch_full(&self) -> bool {
        let bound = BATCH.min(self.conn.config().write_buffer_limit);
        self.conn.output_len() >= bound || self.conn.is_write_buffer_full()
    }

    /// Records, as `poll_next_message` returns a message, whether a whole frame of further
    /// input is already received: a `send` now may then leave its bytes for the next `recv`.
    pub(super) fn note_input_after_message(&mut self) {
        self.input_ready = complete_frame_at_front(self.conn.read_buffer());
    }

    /// Whether a `send` of the whole stream may leave its message queued without writing:
    /// the last `recv` left a whole frame waiting (so the next `recv` returns without
    /// reading, and writes the batch before it would wait), the read that brought the input
    /// returned less than [`DEFER_WINDOW`] ago, and the batch is not full.
    pub(crate) fn may_defer_write(&self) -> bool {
        !self.finished
            && self.input_ready
            && !self.batch_full()
            && self.read_at.elapsed() < self.defer_window
    }

    /// Whether the transport refused part of the queued output when last asked: a `send`
    /// then waits for it to go before queuing more (backpressure), as flushing would.
    pub(crate) fn output_stalled(&self) -> bool {
        self.stalled && self.conn.output_len() > 0
    }
}

/// Whether `buf` starts with a whole frame (header and payload). Valid only at a frame
/// boundary, which is where the core leaves its read buffer after returning a message.
fn complete_frame_at_front(buf: &[u8]) -> bool {
    match FrameHeader::decode(buf) {
        Ok(Some((header, header_len))) => (buf.len() - header_len) as u64 >= header.payload_len,
        // A partial header, or one the core will refuse: write now.
        Ok(None) | Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::complete_frame_at_front;

    #[test]
    fn only_a_whole_frame_counts_as_waiting_input() {
        assert!(!complete_frame_at_front(&[]));
        assert!(!complete_frame_at_front(&[0x81]));
        // Masked text "hi": header 2 + key 4 + payload 2.
        let frame = [0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
        assert!(complete_frame_at_front(&frame));
        assert!(!complete_frame_at_front(&frame[..7]));
        // An empty ping is whole with its header.
        assert!(complete_frame_at_front(&[0x89, 0x80, 0, 0, 0, 0]));
    }
}
