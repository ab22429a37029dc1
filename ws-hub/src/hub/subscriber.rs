//! A connection's membership in a hub: its topics and its bounded queue.

use super::{lock, write, Hub, Publish, SubEntry};
use crate::queue::{Next, Offer, Queue, SubscriberStats};
use crate::HubError;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// One connection's membership in a [`Hub`]: the topics it joined and its bounded queue.
///
/// Its task awaits [`next`](Self::next) and sends what it gets with `send_prepared` (or hands
/// both to [`forward`](crate::forward)). Every method takes `&self`, so the task reading the
/// socket can (un)subscribe while another awaits `next`; only one task should await `next`.
/// Dropping it leaves every topic.
pub struct Subscriber {
    pub(super) hub: Hub,
    pub(super) id: u64,
    pub(super) queue: Arc<Queue>,
    pub(super) topics: Mutex<Vec<Arc<str>>>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("id", &self.id)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Subscriber {
    /// An id unique within its hub.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Joins `topic`; `Ok(false)` if already subscribed.
    pub fn subscribe(&self, topic: &str) -> Result<bool, HubError> {
        let config = &self.hub.inner.config;
        if topic.len() > config.max_topic_len {
            return Err(HubError::TopicTooLong {
                len: topic.len(),
                max: config.max_topic_len,
            });
        }
        let mut registry = write(&self.hub.inner.topics);
        let mut mine = lock(&self.topics);
        if mine.iter().any(|t| &**t == topic) {
            return Ok(false);
        }
        if mine.len() >= config.max_topics_per_subscriber {
            return Err(HubError::TooManyTopics(config.max_topics_per_subscriber));
        }
        let entry = SubEntry {
            id: self.id,
            queue: self.queue.clone(),
        };
        if let Some(name) = registry.get_key_value(topic).map(|(k, _)| k.clone()) {
            if let Some(subscribers) = registry.get_mut(topic) {
                subscribers.push(entry);
            }
            mine.push(name);
            return Ok(true);
        }
        if registry.len() >= config.max_topics {
            return Err(HubError::HubFull(config.max_topics));
        }
        let name: Arc<str> = topic.into();
        registry.insert(name.clone(), vec![entry]);
        mine.push(name);
        // First local subscriber: start receiving the topic from other nodes. Under the lock,
        // so the backplane sees subscribe and unsubscribe of one topic in order.
        if let Some(backplane) = &self.hub.inner.backplane {
            backplane.subscribe(topic);
        }
        Ok(true)
    }

    /// Leaves `topic`; false if not subscribed.
    pub fn unsubscribe(&self, topic: &str) -> bool {
        let mut registry = write(&self.hub.inner.topics);
        let mut mine = lock(&self.topics);
        let Some(at) = mine.iter().position(|t| &**t == topic) else {
            return false;
        };
        mine.swap_remove(at);
        self.hub.remove_from(&mut registry, topic, self.id);
        true
    }

    /// Queues a message for this subscriber alone (a reply, a welcome), in order with what
    /// its topics bring and under the same policy. Returns whether it was queued.
    pub fn send_direct(&self, message: impl Into<Publish>) -> bool {
        let message = message.into().0;
        matches!(
            self.queue.offer(&message),
            Offer::Queued | Offer::QueuedDroppedOldest
        )
    }

    /// The topics joined.
    pub fn topics(&self) -> Vec<String> {
        lock(&self.topics).iter().map(|t| t.to_string()).collect()
    }

    /// The next message (or disconnect order) without waiting.
    pub fn try_next(&self) -> Option<Next> {
        self.queue.try_pop()
    }

    /// Waits for the next message, or for the order to disconnect (then nothing more comes).
    /// Works on any runtime.
    pub fn next(&self) -> NextFuture<'_> {
        NextFuture { sub: self }
    }

    /// Polls for the next message (see [`next`](Self::next)).
    pub fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Next> {
        self.queue.poll_pop(cx)
    }

    /// Its figures: queue depth, queued, dropped, disconnected.
    pub fn stats(&self) -> SubscriberStats {
        self.queue.stats()
    }

    /// The hub it belongs to.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }
}

impl Hub {
    pub(super) fn remove_from(
        &self,
        registry: &mut HashMap<Arc<str>, Vec<SubEntry>>,
        topic: &str,
        id: u64,
    ) {
        let Some(subscribers) = registry.get_mut(topic) else {
            return;
        };
        if let Some(at) = subscribers.iter().position(|s| s.id == id) {
            subscribers.swap_remove(at);
        }
        if subscribers.is_empty() {
            registry.remove(topic);
            if let Some(backplane) = &self.inner.backplane {
                backplane.unsubscribe(topic);
            }
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let mut registry = write(&self.hub.inner.topics);
        let mine = std::mem::take(&mut *lock(&self.topics));
        for topic in mine {
            self.hub.remove_from(&mut registry, &topic, self.id);
        }
        drop(registry);
        self.hub.inner.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The future of [`Subscriber::next`].
#[derive(Debug)]
pub struct NextFuture<'a> {
    sub: &'a Subscriber,
}

impl Future for NextFuture<'_> {
    type Output = Next;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Next> {
        self.sub.queue.poll_pop(cx)
    }
}
