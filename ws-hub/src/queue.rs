//! A subscriber's bounded outgoing queue and what happens when it is full.

use futures_util::task::AtomicWaker;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use ws_proto::{CloseCode, CloseFrame, PreparedMessage};

/// What to do with a message for a subscriber whose queue is full (a slow reader, or a peer
/// whose TCP window is closed): one slow subscriber must never hold up the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlowPolicy {
    /// Drop the oldest queued message to make room: the subscriber sees the latest state
    /// (dashboards, prices).
    DropOldest,
    /// Drop the new message: the subscriber keeps what it had (in-order logs where a gap at the
    /// end is better than one in the middle).
    DropNewest,
    /// Disconnect the subscriber with this close code, 1008 (policy violation) or 1013 (try
    /// again later); see [`SlowPolicy::disconnect`]. Queued messages are discarded. Any other
    /// code is sent as 1013.
    Disconnect(CloseCode),
}

impl SlowPolicy {
    /// Disconnect with 1013 Try Again Later: the usual answer to a subscriber that fell behind.
    pub const TRY_AGAIN_LATER: SlowPolicy = SlowPolicy::Disconnect(CloseCode(1013));
    /// Disconnect with 1008 Policy Violation.
    pub const POLICY_VIOLATION: SlowPolicy = SlowPolicy::Disconnect(CloseCode(1008));

    /// [`SlowPolicy::Disconnect`] with `code`, which must be 1008 or 1013 (the codes RFC 6455
    /// §7.4.1 and the IANA registry give for these situations).
    pub fn disconnect(code: CloseCode) -> Result<SlowPolicy, crate::HubError> {
        match code.0 {
            1008 | 1013 => Ok(SlowPolicy::Disconnect(code)),
            other => Err(crate::HubError::DisconnectCode(other)),
        }
    }
}

/// What a subscriber gets next.
#[derive(Clone, Debug)]
pub enum Next {
    /// A published message: send it with `send_prepared`.
    Message(PreparedMessage),
    /// The subscriber fell behind under [`SlowPolicy::Disconnect`]: close the connection with
    /// this frame. Nothing more will arrive.
    Disconnect(CloseFrame),
}

/// A subscriber's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubscriberStats {
    /// Messages waiting in the queue now.
    pub depth: usize,
    /// Messages queued for it since it was created.
    pub queued: u64,
    /// Messages dropped because its queue was full.
    pub dropped: u64,
    /// Whether it was disconnected for falling behind.
    pub disconnected: bool,
}

#[derive(Debug)]
struct State {
    items: VecDeque<PreparedMessage>,
    disconnect: Option<CloseFrame>,
    /// The disconnect was handed out by `next`: later calls wait forever.
    disconnect_taken: bool,
}

/// Result of offering a message to a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    Queued,
    /// Queued, and the oldest message was dropped for it.
    QueuedDroppedOldest,
    Dropped,
    /// This message made the subscriber be disconnected.
    Disconnected,
    /// Already disconnected: ignored.
    Closed,
}

/// The queue shared by the hub (which pushes) and the subscriber (which pops).
#[derive(Debug)]
pub(crate) struct Queue {
    state: Mutex<State>,
    waker: AtomicWaker,
    capacity: usize,
    policy: SlowPolicy,
    queued: AtomicU64,
    dropped: AtomicU64,
}

impl Queue {
    pub(crate) fn new(capacity: usize, policy: SlowPolicy) -> Self {
        let capacity = capacity.max(1);
        let policy = match policy {
            SlowPolicy::Disconnect(code) if !matches!(code.0, 1008 | 1013) => {
                SlowPolicy::TRY_AGAIN_LATER
            }
            other => other,
        };
        Queue {
            state: Mutex::new(State {
                // Room for a burst up front; grows (once) towards the capacity if needed.
                items: VecDeque::with_capacity(capacity.min(16)),
                disconnect: None,
                disconnect_taken: false,
            }),
            waker: AtomicWaker::new(),
            capacity,
            policy,
            queued: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Offers a message under the queue's policy; wakes the subscriber if it got something.
    pub(crate) fn offer(&self, message: &PreparedMessage) -> Offer {
        let outcome = {
            let mut state = self.lock();
            if state.disconnect.is_some() {
                return Offer::Closed;
            }
            if state.items.len() < self.capacity {
                state.items.push_back(message.clone());
                Offer::Queued
            } else {
                match self.policy {
                    SlowPolicy::DropOldest => {
                        state.items.pop_front();
                        state.items.push_back(message.clone());
                        Offer::QueuedDroppedOldest
                    }
                    SlowPolicy::DropNewest => Offer::Dropped,
                    SlowPolicy::Disconnect(code) => {
                        state.items.clear();
                        state.disconnect = Some(CloseFrame::new(code, "subscriber fell behind"));
                        Offer::Disconnected
                    }
                }
            }
        };
        match outcome {
            Offer::Queued => {
                self.queued.fetch_add(1, Ordering::Relaxed);
            }
            Offer::QueuedDroppedOldest => {
                self.queued.fetch_add(1, Ordering::Relaxed);
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Offer::Dropped => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return outcome;
            }
            Offer::Disconnected | Offer::Closed => {}
        }
        self.waker.wake();
        outcome
    }

    /// The next item without waiting.
    pub(crate) fn try_pop(&self) -> Option<Next> {
        let mut state = self.lock();
        if let Some(message) = state.items.pop_front() {
            return Some(Next::Message(message));
        }
        if state.disconnect_taken {
            return None;
        }
        let frame = state.disconnect.clone()?;
        state.disconnect_taken = true;
        Some(Next::Disconnect(frame))
    }

    pub(crate) fn poll_pop(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Next> {
        if let Some(next) = self.try_pop() {
            return std::task::Poll::Ready(next);
        }
        self.waker.register(cx.waker());
        // A push between the check and the registration would otherwise be missed.
        match self.try_pop() {
            Some(next) => std::task::Poll::Ready(next),
            None => std::task::Poll::Pending,
        }
    }

    pub(crate) fn stats(&self) -> SubscriberStats {
        let state = self.lock();
        SubscriberStats {
            depth: state.items.len(),
            queued: self.queued.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            disconnected: state.disconnect.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(queue: &Queue) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(Next::Message(m)) = queue.try_pop() {
            out.push(String::from_utf8_lossy(m.payload()).into_owned());
        }
        out
    }

    fn fill(queue: &Queue, n: usize) -> Vec<Offer> {
        (0..n)
            .map(|i| queue.offer(&PreparedMessage::text(i.to_string())))
            .collect()
    }

    #[test]
    fn drop_oldest_keeps_the_latest() {
        let q = Queue::new(3, SlowPolicy::DropOldest);
        fill(&q, 5);
        assert_eq!(q.stats().dropped, 2);
        assert_eq!(q.stats().depth, 3);
        assert_eq!(texts(&q), ["2", "3", "4"]);
    }

    #[test]
    fn drop_newest_keeps_the_first() {
        let q = Queue::new(3, SlowPolicy::DropNewest);
        let offers = fill(&q, 5);
        assert_eq!(offers[3..], [Offer::Dropped, Offer::Dropped]);
        assert_eq!(texts(&q), ["0", "1", "2"]);
        assert_eq!(q.stats().queued, 3);
    }

    #[test]
    fn disconnect_discards_and_reports_once() {
        let q = Queue::new(2, SlowPolicy::TRY_AGAIN_LATER);
        let offers = fill(&q, 4);
        assert_eq!(offers[2..], [Offer::Disconnected, Offer::Closed]);
        assert!(q.stats().disconnected);
        match q.try_pop() {
            Some(Next::Disconnect(frame)) => assert_eq!(frame.code, CloseCode(1013)),
            other => panic!("{other:?}"),
        }
        assert!(q.try_pop().is_none());
    }

    #[test]
    fn only_1008_and_1013_disconnect() {
        assert!(SlowPolicy::disconnect(CloseCode(1008)).is_ok());
        assert!(SlowPolicy::disconnect(CloseCode(1000)).is_err());
        let q = Queue::new(1, SlowPolicy::Disconnect(CloseCode(1000)));
        fill(&q, 2);
        match q.try_pop() {
            Some(Next::Disconnect(frame)) => assert_eq!(frame.code, CloseCode(1013)),
            other => panic!("{other:?}"),
        }
    }
}
