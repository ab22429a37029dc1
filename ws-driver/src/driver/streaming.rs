//! The driver's hook for streamed messages (`crate::streaming`): waking both halves when a
//! message writer dropped half-way queued a close outside any poll.

use super::Driver;
use crate::transport::Transport;

impl<T: Transport> Driver<T> {
    /// Wakes whichever task waits on the stream, so that output queued outside a poll (the
    /// close frame of an abandoned message writer) is written.
    pub(crate) fn wake_halves(&self) {
        self.proxy_waker.wake_by_ref();
    }
}
