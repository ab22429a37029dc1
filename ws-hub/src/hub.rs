//! The topic registry: subscribers by topic, and publishing to them.

use crate::backplane::{Backplane, Dedup, Envelope, NodeId};
use crate::queue::{Offer, Queue, SlowPolicy};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use ws_proto::PreparedMessage;

mod subscriber;
pub use subscriber::{NextFuture, Subscriber};

/// Settings of a [`Hub`]; every limit has a safe default.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HubConfig {
    /// Messages a subscriber may have waiting before [`policy`](Self::policy) applies.
    /// Default 256.
    pub queue_capacity: usize,
    /// What happens to a full queue. Default [`SlowPolicy::DropOldest`].
    pub policy: SlowPolicy,
    /// Longest topic name, in bytes. Default 256; at most 65 535 (the backplane envelope's
    /// limit), larger values are lowered to it.
    pub max_topic_len: usize,
    /// Most topics one subscriber may join. Default 1024.
    pub max_topics_per_subscriber: usize,
    /// Most distinct topics in the hub. Default 100 000.
    pub max_topics: usize,
    /// Most other nodes whose sequence numbers are remembered to drop duplicates (see
    /// [`Hub::deliver_remote`]). Default 1024.
    pub max_remote_nodes: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            queue_capacity: 256,
            policy: SlowPolicy::DropOldest,
            max_topic_len: 256,
            max_topics_per_subscriber: 1024,
            max_topics: 100_000,
            max_remote_nodes: 1024,
        }
    }
}

impl HubConfig {
    /// Sets the queue capacity.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// Sets the slow-subscriber policy.
    pub fn policy(mut self, policy: SlowPolicy) -> Self {
        self.policy = policy;
        self
    }
}

/// The hub's figures, summed over all subscribers since the hub was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HubStats {
    /// Topics with at least one local subscriber.
    pub topics: usize,
    /// Live subscribers.
    pub subscribers: usize,
    /// Messages published (locally or received from the backplane).
    pub published: u64,
    /// Copies queued to subscribers (one per subscriber per message).
    pub queued: u64,
    /// Copies dropped because a queue was full.
    pub dropped: u64,
    /// Subscribers disconnected for falling behind.
    pub disconnected: u64,
    /// Messages from the backplane ignored as our own echo or as duplicates.
    pub remote_ignored: u64,
}

#[derive(Debug)]
struct SubEntry {
    id: u64,
    queue: Arc<Queue>,
}

#[derive(Default)]
struct Counters {
    published: AtomicU64,
    queued: AtomicU64,
    dropped: AtomicU64,
    disconnected: AtomicU64,
    remote_ignored: AtomicU64,
}

struct Inner {
    config: HubConfig,
    node: NodeId,
    /// Subscribers by topic. Publishing takes the read lock; (un)subscribing the write lock,
    /// then a subscriber's own topic list: always in that order.
    topics: RwLock<HashMap<Arc<str>, Vec<SubEntry>>>,
    backplane: Option<Arc<dyn Backplane>>,
    /// Our publish sequence; held while handing a message to the backplane so sequence order
    /// is the order the backplane sees.
    seq: Mutex<u64>,
    dedup: Mutex<Dedup>,
    next_id: AtomicU64,
    subscribers: AtomicUsize,
    counters: Counters,
}

/// A pub/sub hub: connections subscribe to named topics, and [`publish`](Self::publish)
/// frames a message once and queues the same bytes for every subscriber.
///
/// It owns no task and no runtime: publishing is a synchronous call that only queues, and each
/// connection's task awaits its [`Subscriber`] (see [`forward`](crate::forward)). With a
/// [`Backplane`], messages also reach the subscribers of other nodes. Cloning is cheap.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("node", &self.inner.node)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(lock: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hub {
    /// A hub serving this process's subscribers only.
    pub fn new(config: HubConfig) -> Hub {
        Self::build(config, None)
    }

    /// A hub that also shares its topics with other nodes through `backplane`: publishes go
    /// to it, and what it receives is handed to [`deliver_remote`](Self::deliver_remote) (see
    /// [`run_backplane`](Self::run_backplane)).
    pub fn with_backplane(config: HubConfig, backplane: Arc<dyn Backplane>) -> Hub {
        Self::build(config, Some(backplane))
    }

    fn build(mut config: HubConfig, backplane: Option<Arc<dyn Backplane>>) -> Hub {
        config.max_topic_len = config.max_topic_len.min(u16::MAX as usize);
        let dedup = Dedup::new(config.max_remote_nodes);
        Hub {
            inner: Arc::new(Inner {
                config,
                node: NodeId::random(),
                topics: RwLock::new(HashMap::new()),
                backplane,
                seq: Mutex::new(0),
                dedup: Mutex::new(dedup),
                next_id: AtomicU64::new(1),
                subscribers: AtomicUsize::new(0),
                counters: Counters::default(),
            }),
        }
    }

    /// This node's identity on the backplane.
    pub fn node_id(&self) -> NodeId {
        self.inner.node
    }

    /// The settings.
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// A new subscriber with the hub's queue settings, subscribed to nothing yet.
    pub fn subscriber(&self) -> Subscriber {
        self.subscriber_with(self.inner.config.queue_capacity, self.inner.config.policy)
    }

    /// A new subscriber with its own queue capacity and policy.
    pub fn subscriber_with(&self, capacity: usize, policy: SlowPolicy) -> Subscriber {
        self.inner.subscribers.fetch_add(1, Ordering::Relaxed);
        Subscriber {
            hub: self.clone(),
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            queue: Arc::new(Queue::new(capacity, policy)),
            topics: Mutex::new(Vec::new()),
        }
    }

    /// Publishes a message to `topic`'s subscribers here and, with a backplane, on every other
    /// node. It is framed once (see [`PreparedMessage`]). Returns the number of local
    /// subscribers it was queued for.
    pub fn publish(&self, topic: &str, message: impl Into<Publish>) -> usize {
        let message = message.into().0;
        self.publish_prepared(topic, &message)
    }

    /// [`publish`](Self::publish) with a message already prepared.
    pub fn publish_prepared(&self, topic: &str, message: &PreparedMessage) -> usize {
        if let Some(backplane) = &self.inner.backplane {
            let mut seq = lock(&self.inner.seq);
            *seq += 1;
            backplane.publish(&Envelope {
                node: self.inner.node,
                seq: *seq,
                topic: topic.into(),
                message: message.clone(),
            });
        }
        self.deliver_local(topic, message)
    }

    /// Queues `message` for this node's subscribers of `topic` only.
    pub fn deliver_local(&self, topic: &str, message: &PreparedMessage) -> usize {
        let c = &self.inner.counters;
        c.published.fetch_add(1, Ordering::Relaxed);
        let topics = read(&self.inner.topics);
        let Some(subscribers) = topics.get(topic) else {
            return 0;
        };
        let (mut queued, mut dropped, mut disconnected) = (0u64, 0u64, 0u64);
        for sub in subscribers {
            match sub.queue.offer(message) {
                Offer::Queued => queued += 1,
                Offer::QueuedDroppedOldest => {
                    queued += 1;
                    dropped += 1;
                }
                Offer::Dropped => dropped += 1,
                Offer::Disconnected => disconnected += 1,
                Offer::Closed => {}
            }
        }
        c.queued.fetch_add(queued, Ordering::Relaxed);
        c.dropped.fetch_add(dropped, Ordering::Relaxed);
        c.disconnected.fetch_add(disconnected, Ordering::Relaxed);
        queued as usize
    }

    /// Delivers a message received from the backplane to local subscribers, exactly once: our
    /// own messages (already delivered when published) and any sequence number at or below
    /// the last one seen from the same node (a broker's retry) are ignored. Returns whether it
    /// was delivered.
    pub fn deliver_remote(&self, envelope: &Envelope) -> bool {
        let fresh = envelope.node != self.inner.node
            && lock(&self.inner.dedup).accept(envelope.node, envelope.seq);
        if !fresh {
            self.inner
                .counters
                .remote_ignored
                .fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.deliver_local(&envelope.topic, &envelope.message);
        true
    }

    /// Feeds what a backplane receives to [`deliver_remote`](Self::deliver_remote) until the
    /// stream ends or every other handle to the hub is dropped. Spawn it on any runtime. It
    /// holds the hub weakly, so it never keeps the hub (and its backplane) alive.
    pub fn run_backplane<S>(&self, incoming: S) -> impl Future<Output = ()> + Send + 'static
    where
        S: futures_core::Stream<Item = Envelope> + Send + 'static,
    {
        let hub = Arc::downgrade(&self.inner);
        async move {
            let mut incoming = std::pin::pin!(incoming);
            while let Some(envelope) =
                futures_util::future::poll_fn(|cx| incoming.as_mut().poll_next(cx)).await
            {
                let Some(inner) = Weak::upgrade(&hub) else {
                    return;
                };
                Hub { inner }.deliver_remote(&envelope);
            }
        }
    }

    /// The figures.
    pub fn stats(&self) -> HubStats {
        let c = &self.inner.counters;
        HubStats {
            topics: read(&self.inner.topics).len(),
            subscribers: self.inner.subscribers.load(Ordering::Relaxed),
            published: c.published.load(Ordering::Relaxed),
            queued: c.queued.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            disconnected: c.disconnected.load(Ordering::Relaxed),
            remote_ignored: c.remote_ignored.load(Ordering::Relaxed),
        }
    }

    /// Local subscribers of `topic`.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        read(&self.inner.topics).get(topic).map_or(0, Vec::len)
    }
}

/// A message to publish: anything that converts to a text or binary [`PreparedMessage`].
#[derive(Clone, Debug)]
pub struct Publish(pub PreparedMessage);

impl From<PreparedMessage> for Publish {
    fn from(m: PreparedMessage) -> Self {
        Publish(m)
    }
}

impl From<&str> for Publish {
    fn from(s: &str) -> Self {
        Publish(PreparedMessage::text(s))
    }
}

impl From<String> for Publish {
    fn from(s: String) -> Self {
        Publish(PreparedMessage::text(s))
    }
}

impl From<ws_proto::Utf8Bytes> for Publish {
    fn from(s: ws_proto::Utf8Bytes) -> Self {
        Publish(PreparedMessage::text(s))
    }
}

impl From<bytes::Bytes> for Publish {
    fn from(b: bytes::Bytes) -> Self {
        Publish(PreparedMessage::binary(b))
    }
}

impl From<Vec<u8>> for Publish {
    fn from(b: Vec<u8>) -> Self {
        Publish(PreparedMessage::binary(b))
    }
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;
