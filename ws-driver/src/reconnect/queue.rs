//! The bounded queue of outgoing messages, shared by the client and its [`Sender`]s.

use super::events::EventQueue;
use super::policy::{Event, ReconnectError};
use futures_util::future::poll_fn;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use ws_proto::Message;

/// What sending does when the outgoing queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum QueuePolicy {
    /// Wait until there is room (backpressure). The default.
    #[default]
    Wait,
    /// Drop the oldest queued message, reporting it as [`Event::Dropped`].
    DropOldest,
    /// Fail with [`ReconnectError::QueueFull`], giving the message back.
    Error,
}

/// The application's event callback.
pub(crate) type EventFn = Arc<dyn Fn(&Event) + Send + Sync>;

struct Inner {
    items: VecDeque<Message>,
    capacity: usize,
    policy: QueuePolicy,
    /// The task driving the connection, woken when a message is queued.
    driver: Option<Waker>,
    /// Senders waiting for room ([`QueuePolicy::Wait`]); one entry per waiting task.
    waiting: Vec<Waker>,
    /// No more messages are accepted.
    closed: bool,
}

/// The queue and the event callback, shared by the client and its senders.
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    on_event: Option<EventFn>,
    events: Option<Arc<EventQueue>>,
}

impl Shared {
    pub(crate) fn new(
        capacity: usize,
        policy: QueuePolicy,
        on_event: Option<EventFn>,
        events: Option<Arc<EventQueue>>,
    ) -> Self {
        Shared {
            inner: Mutex::new(Inner {
                items: VecDeque::new(),
                // A zero-sized queue could never take a message, even while connected.
                capacity: capacity.max(1),
                policy,
                driver: None,
                waiting: Vec::new(),
                closed: false,
            }),
            on_event,
            events,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The queue is consistent after every statement; a panicking holder broke nothing.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn emit(&self, event: Event) {
        if let Some(f) = &self.on_event {
            f(&event);
        }
        if let Some(events) = &self.events {
            events.push(event);
        }
    }

    /// Queues `slot`'s message by the policy; Pending (keeping it in `slot`) while full with
    /// [`QueuePolicy::Wait`].
    pub(crate) fn poll_push(
        &self,
        slot: &mut Option<Message>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), ReconnectError>> {
        let Some(message) = slot.take() else {
            return Poll::Ready(Ok(()));
        };
        let mut inner = self.lock();
        if inner.closed {
            return Poll::Ready(Err(ReconnectError::Closed(message)));
        }
        let mut dropped = None;
        if inner.items.len() >= inner.capacity {
            match inner.policy {
                QueuePolicy::Error => return Poll::Ready(Err(ReconnectError::QueueFull(message))),
                QueuePolicy::DropOldest => dropped = inner.items.pop_front(),
                QueuePolicy::Wait => {
                    if !inner.waiting.iter().any(|w| w.will_wake(cx.waker())) {
                        inner.waiting.push(cx.waker().clone());
                    }
                    *slot = Some(message);
                    return Poll::Pending;
                }
            }
        }
        inner.items.push_back(message);
        let driver = inner.driver.take();
        drop(inner);
        if let Some(waker) = driver {
            waker.wake();
        }
        if let Some(message) = dropped {
            self.emit(Event::Dropped(message));
        }
        Poll::Ready(Ok(()))
    }

    /// Registers the task driving the connection, to be woken by new messages.
    pub(crate) fn register_driver(&self, waker: &Waker) {
        let mut inner = self.lock();
        match &inner.driver {
            Some(w) if w.will_wake(waker) => {}
            _ => inner.driver = Some(waker.clone()),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lock().items.is_empty()
    }

    /// The oldest message, waking the senders waiting for room.
    pub(crate) fn pop(&self) -> Option<Message> {
        let mut inner = self.lock();
        let message = inner.items.pop_front()?;
        let waiting = std::mem::take(&mut inner.waiting);
        drop(inner);
        waiting.into_iter().for_each(Waker::wake);
        Some(message)
    }

    /// Accepts no more messages; returns the ones never sent and wakes waiting senders (they
    /// get [`ReconnectError::Closed`]).
    pub(crate) fn close(&self) -> Vec<Message> {
        let mut inner = self.lock();
        inner.closed = true;
        let unsent = inner.items.drain(..).collect();
        let waiting = std::mem::take(&mut inner.waiting);
        drop(inner);
        waiting.into_iter().for_each(Waker::wake);
        if let Some(events) = &self.events {
            events.close();
        }
        unsent
    }
}

/// A cloneable handle that queues messages for a
/// [`ReconnectingClient`](super::ReconnectingClient) from other tasks.
///
/// Messages go out, in order, while the client's owner keeps calling
/// [`recv`](super::ReconnectingClient::recv) (which drives the connection).
#[derive(Clone)]
pub struct Sender {
    pub(crate) shared: Arc<Shared>,
}

impl Sender {
    /// Queues a message by the queue's [`QueuePolicy`]: waits for room with
    /// [`QueuePolicy::Wait`], drops the oldest with [`QueuePolicy::DropOldest`], fails with
    /// [`ReconnectError::QueueFull`] with [`QueuePolicy::Error`]. Fails with
    /// [`ReconnectError::Closed`] once the client is closed.
    pub async fn send(&self, message: impl Into<Message>) -> Result<(), ReconnectError> {
        let mut slot = Some(message.into());
        poll_fn(|cx| self.shared.poll_push(&mut slot, cx)).await
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::task::noop_waker;
    use std::sync::Mutex as StdMutex;

    fn push(q: &Shared, text: &str) -> Poll<Result<(), ReconnectError>> {
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        q.poll_push(&mut Some(Message::text(text)), &mut cx)
    }

    fn drain(q: &Shared) -> Vec<Message> {
        std::iter::from_fn(|| q.pop()).collect()
    }

    #[test]
    fn error_policy_gives_the_message_back() {
        let q = Shared::new(2, QueuePolicy::Error, None, None);
        assert!(matches!(push(&q, "a"), Poll::Ready(Ok(()))));
        assert!(matches!(push(&q, "b"), Poll::Ready(Ok(()))));
        match push(&q, "c") {
            Poll::Ready(Err(ReconnectError::QueueFull(m))) => assert_eq!(m, Message::text("c")),
            other => panic!("{other:?}"),
        }
        assert_eq!(drain(&q), [Message::text("a"), Message::text("b")]);
    }

    #[test]
    fn drop_oldest_reports_what_it_dropped() {
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let log = seen.clone();
        let on_event: EventFn = Arc::new(move |e| {
            if let Event::Dropped(m) = e {
                log.lock().unwrap().push(m.clone());
            }
        });
        let q = Shared::new(2, QueuePolicy::DropOldest, Some(on_event), None);
        for text in ["a", "b", "c", "d"] {
            assert!(matches!(push(&q, text), Poll::Ready(Ok(()))));
        }
        assert_eq!(drain(&q), [Message::text("c"), Message::text("d")]);
        assert_eq!(
            *seen.lock().unwrap(),
            [Message::text("a"), Message::text("b")]
        );
    }

    #[test]
    fn wait_policy_keeps_the_message_until_room() {
        let q = Shared::new(1, QueuePolicy::Wait, None, None);
        assert!(matches!(push(&q, "a"), Poll::Ready(Ok(()))));
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut slot = Some(Message::text("b"));
        assert!(q.poll_push(&mut slot, &mut cx).is_pending());
        assert_eq!(slot, Some(Message::text("b")));
        assert_eq!(q.pop(), Some(Message::text("a")));
        assert!(matches!(
            q.poll_push(&mut slot, &mut cx),
            Poll::Ready(Ok(()))
        ));
        assert_eq!(drain(&q), [Message::text("b")]);
    }

    #[test]
    fn closed_queue_returns_unsent_and_refuses() {
        let q = Shared::new(4, QueuePolicy::Wait, None, None);
        let _ = push(&q, "a");
        assert_eq!(q.close(), [Message::text("a")]);
        assert!(matches!(
            push(&q, "b"),
            Poll::Ready(Err(ReconnectError::Closed(_)))
        ));
    }
}
