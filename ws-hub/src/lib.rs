//! A pub/sub topic hub for WebSocket servers.
//!
//! Connections join named topics through a [`Subscriber`]; [`Hub::publish`] frames a message
//! once as a [`PreparedMessage`] and queues a reference to the same bytes for every subscriber
//! (and, where subscribers negotiated permessage-deflate without server context takeover with
//! equal parameters, compresses it once for all of them). Each subscriber has a bounded queue
//! with a [`SlowPolicy`] — drop the oldest, drop the newest, or disconnect with 1008/1013 — so
//! one slow reader never holds up the others, and its figures are observable
//! ([`Subscriber::stats`], [`Hub::stats`]).
//!
//! The hub is runtime-agnostic: publishing only queues, and a connection's task awaits
//! [`Subscriber::next`] on any runtime ([`forward`] does the loop for a split
//! [`ws_driver::WebSocketSink`], for the tokio, async-std and smol adapters alike).
//!
//! Several server processes share topics through a [`Backplane`]: [`Hub::with_backplane`]
//! publishes to it, and [`Hub::run_backplane`] delivers what it receives, exactly once and in
//! each publisher's order ([`Envelope`] carries the publishing node and its sequence number).
//! With the `redis` feature, `RedisBackplane` is one on Redis pub/sub (it runs on tokio).
//!
//! ```
//! use ws_hub::{Hub, HubConfig, Next};
//!
//! let hub = Hub::new(HubConfig::default());
//! let alice = hub.subscriber();
//! alice.subscribe("news").unwrap();
//! assert_eq!(hub.publish("news", "hello"), 1);
//! match alice.try_next() {
//!     Some(Next::Message(m)) => assert_eq!(&m.payload()[..], b"hello"),
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
//! A server on tokio with Redis (the same per-connection code runs on async-std and smol with
//! [`Hub::new`], or with another [`Backplane`]):
//!
//! ```rust,ignore
//! use ws_hub::{Hub, HubConfig, RedisBackplane, RedisConfig};
//!
//! // Once per process, inside the tokio runtime.
//! let (backplane, incoming) = RedisBackplane::start(RedisConfig::new("redis://127.0.0.1:6379/"))?;
//! let hub = Hub::with_backplane(HubConfig::default(), backplane.clone());
//! tokio::spawn(hub.run_backplane(incoming));
//!
//! // Per connection, in its task.
//! let ws = ws_tokio::accept(tcp).await?;
//! let sub = hub.subscriber();
//! sub.subscribe("room:lobby")?;
//! let (mut sink, mut reader) = ws.split();
//! let forwarding = ws_hub::forward(&sub, &mut sink);
//! let reading = async {
//!     while let Some(Ok(message)) = reader.recv().await {
//!         if let ws_tokio::Message::Text(text) = message {
//!             hub.publish("room:lobby", text); // to every node's subscribers, framed once here
//!         }
//!     }
//! };
//! futures::future::select(std::pin::pin!(forwarding), std::pin::pin!(reading)).await;
//! // Dropping `sub` leaves its topics.
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod backplane;
mod forward;
mod hub;
mod queue;
#[cfg(feature = "redis")]
mod redis;

pub use backplane::{Backplane, Envelope, EnvelopeError, NodeId};
pub use forward::forward;
pub use hub::{Hub, HubConfig, HubStats, NextFuture, Publish, Subscriber};
pub use queue::{Next, SlowPolicy, SubscriberStats};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisBackplane, RedisConfig, RedisStats, RedisStatus};
pub use ws_proto::PreparedMessage;

/// What the hub refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// A topic name over [`HubConfig::max_topic_len`].
    #[error("topic name of {len} bytes exceeds {max}")]
    TopicTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The subscriber is in [`HubConfig::max_topics_per_subscriber`] topics already.
    #[error("subscriber already in {0} topics")]
    TooManyTopics(usize),
    /// The hub has [`HubConfig::max_topics`] topics already.
    #[error("hub already has {0} topics")]
    HubFull(usize),
    /// A disconnect policy with a code other than 1008 or 1013.
    #[error("slow subscribers are disconnected with 1008 or 1013, not {0}")]
    DisconnectCode(u16),
}
