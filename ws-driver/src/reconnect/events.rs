//! A bounded receiver of the client's [`Event`]s, for applications that prefer a stream to a
//! callback.

use super::policy::Event;
use futures_core::Stream;
use futures_util::future::poll_fn;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

struct Inner {
    items: VecDeque<Event>,
    capacity: usize,
    waker: Option<Waker>,
    missed: u64,
    closed: bool,
}

/// The sending side, held by the client.
pub(crate) struct EventQueue(Mutex<Inner>);

impl EventQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        EventQueue(Mutex::new(Inner {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            waker: None,
            missed: 0,
            closed: false,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an event; a receiver that fell behind loses the oldest (counted), so a client
    /// whose events nobody reads does not grow without bound.
    pub(crate) fn push(&self, event: Event) {
        let mut inner = self.lock();
        if inner.closed {
            return;
        }
        if inner.items.len() >= inner.capacity {
            inner.items.pop_front();
            inner.missed = inner.missed.saturating_add(1);
        }
        inner.items.push_back(event);
        let waker = inner.waker.take();
        drop(inner);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// No more events: the receiver ends after the queued ones.
    pub(crate) fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        let waker = inner.waker.take();
        drop(inner);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The client's events as a [`Stream`] (from
/// [`Builder::events`](super::Builder::events)); it ends once the client has ended and every
/// event was taken. It holds at most the capacity given: when the application falls behind,
/// the oldest events are dropped and counted by [`missed`](Self::missed).
pub struct Events {
    pub(crate) queue: Arc<EventQueue>,
}

impl Events {
    /// The next event; `None` once the client has ended and every event was taken.
    pub async fn recv(&mut self) -> Option<Event> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// How many events were dropped because this receiver fell behind.
    pub fn missed(&self) -> u64 {
        self.queue.lock().missed
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut inner = self.queue.lock();
        if let Some(event) = inner.items.pop_front() {
            return Poll::Ready(Some(event));
        }
        if inner.closed {
            return Poll::Ready(None);
        }
        inner.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.get_mut().poll_recv(cx)
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("missed", &self.missed())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::task::noop_waker;

    #[test]
    fn bounded_drops_oldest_and_ends_after_close() {
        let queue = Arc::new(EventQueue::new(2));
        let mut events = Events {
            queue: queue.clone(),
        };
        for attempts in 1..=3 {
            queue.push(Event::Connected { attempts });
        }
        queue.close();
        queue.push(Event::GaveUp { attempts: 9 }); // after close: ignored
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut seen = Vec::new();
        while let Poll::Ready(Some(event)) = events.poll_recv(&mut cx) {
            seen.push(format!("{event:?}"));
        }
        assert_eq!(
            seen,
            ["Connected { attempts: 2 }", "Connected { attempts: 3 }"]
        );
        assert_eq!(events.missed(), 1);
        assert!(matches!(events.poll_recv(&mut cx), Poll::Ready(None)));
    }
}
