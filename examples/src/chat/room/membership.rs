//! A member's place in the room: its subscriber, its kick signal, and leaving on drop.

use super::{too_slow_frame, Event, Room, TOPIC};
use std::sync::Arc;
use tokio::sync::oneshot;
use ws_hub::{Next, Subscriber};
use ws_tokio::CloseFrame;

/// One member's place in a [`Room`]: its hub subscriber and kick signal. Dropping it leaves
/// the room (with a leave notice to the others).
pub struct Membership {
    pub(super) room: Arc<Room>,
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) subscriber: Arc<Subscriber>,
    pub(super) kicked: Option<oneshot::Receiver<CloseFrame>>,
}

impl Membership {
    /// The member's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The room.
    pub fn room(&self) -> &Arc<Room> {
        &self.room
    }

    /// The member's hub subscriber: await its `next` for the events to send, each already
    /// framed (`send_prepared`).
    pub fn subscriber(&self) -> &Subscriber {
        &self.subscriber
    }

    /// Called when [`Subscriber::next`] said [`Next::Disconnect`] before the room noticed:
    /// drops the member as too slow (once) and returns the close frame to send.
    pub fn fell_behind(&self) -> CloseFrame {
        if let Some(member) = self.room.remove(self.id) {
            self.room.announce_too_slow(member);
        }
        too_slow_frame()
    }

    /// The signal (taken once, by the connection's writer) that fires with the close frame to
    /// send when the room dropped this member: the writer is then usually stuck writing to a
    /// peer that does not read, so it must not wait for [`next`](Self::next) to say so.
    pub fn take_kicked(&mut self) -> Option<oneshot::Receiver<CloseFrame>> {
        self.kicked.take()
    }

    /// The next event to send (framed once for all members: `send_prepared` it), or the close
    /// frame when the member fell behind.
    pub async fn next(&self) -> Result<ws_hub::PreparedMessage, CloseFrame> {
        match self.subscriber.next().await {
            Next::Message(message) => Ok(message),
            Next::Disconnect(_) => Err(self.fell_behind()),
        }
    }

    /// [`next`](Self::next) without waiting.
    pub fn try_next(&self) -> Option<Result<ws_hub::PreparedMessage, CloseFrame>> {
        match self.subscriber.try_next()? {
            Next::Message(message) => Some(Ok(message)),
            Next::Disconnect(_) => Some(Err(self.fell_behind())),
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        // Absent when the room already dropped it (and announced that).
        if self.room.remove(self.id).is_some() {
            // Leave the topic before the notice, so it is not queued for the leaver itself.
            self.subscriber.unsubscribe(TOPIC);
            self.room.publish(&Event::Leave {
                name: std::mem::take(&mut self.name),
                reason: None,
            });
        }
    }
}
