//! A [`Backplane`] on Redis pub/sub, running on tokio.
//!
//! Each topic is a Redis channel (`prefix` + topic). Two connections per node: one subscribed
//! to the channels of the topics that have local subscribers, one that publishes. Both
//! reconnect with exponential backoff after Redis goes away; the subscriber then subscribes
//! again to every topic. Local subscribers are served throughout by the hub itself.

use crate::backplane::{Backplane, Envelope};
use bytes::Bytes;
use futures_core::Stream;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Settings of a [`RedisBackplane`]; every limit has a safe default.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedisConfig {
    /// The server, such as `redis://127.0.0.1:6379/` or `redis+unix:///run/redis.sock`.
    pub url: String,
    /// Prepended to topic names to form channel names. Default `ws-hub:`.
    pub channel_prefix: String,
    /// Messages waiting to be published; beyond this (Redis slow or down) new ones are dropped
    /// and counted. Default 4096.
    pub outgoing_capacity: usize,
    /// Messages received but not yet taken by the hub. Default 4096.
    pub incoming_capacity: usize,
    /// How long a message is retried while Redis is unreachable before it is dropped (and
    /// counted). Default 10 s.
    pub publish_retry_for: Duration,
    /// First wait before reconnecting; doubles up to `backoff_max`. Default 50 ms.
    pub backoff_min: Duration,
    /// Longest wait before reconnecting. Default 2 s.
    pub backoff_max: Duration,
    /// Deadline of each connect and command. Default 5 s.
    pub command_timeout: Duration,
    /// The subscribing connection sends a `PING` this often; no answer within
    /// `command_timeout` means the path to Redis is dead (it stalled without closing), and it
    /// reconnects. Default 15 s.
    pub ping_interval: Duration,
    /// Larger received messages are dropped. Default 64 MiB.
    pub max_message_size: usize,
}

impl RedisConfig {
    /// Defaults for the server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            channel_prefix: "ws-hub:".into(),
            outgoing_capacity: 4096,
            incoming_capacity: 4096,
            publish_retry_for: Duration::from_secs(10),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
            command_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(15),
            max_message_size: 64 << 20,
        }
    }

    /// Sets the reconnect backoff range.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max.max(min);
        self
    }

    /// Sets the channel prefix (to run several independent hubs on one Redis).
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.channel_prefix = prefix.into();
        self
    }
}

/// The backplane's figures since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RedisStats {
    /// Messages published to Redis.
    pub published: u64,
    /// Messages not published: the outgoing queue was full or Redis stayed unreachable.
    pub publish_dropped: u64,
    /// Messages received from Redis and handed to the hub.
    pub received: u64,
    /// Received messages that were not valid envelopes (dropped).
    pub malformed: u64,
    /// Successful (re)connections of the subscribing connection.
    pub connects: u64,
}

/// Where the subscribing connection stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedisStatus {
    /// Connected and subscribed to every topic in `subscribed`.
    pub connected: bool,
    /// Counts connections: it grows by one each time the connection is (re)established and
    /// all topics are subscribed again.
    pub generation: u64,
    /// Topics Redis confirmed we are subscribed to on the current connection.
    pub subscribed: BTreeSet<String>,
}

#[derive(Default)]
struct Counters {
    published: AtomicU64,
    publish_dropped: AtomicU64,
    received: AtomicU64,
    malformed: AtomicU64,
    connects: AtomicU64,
}

enum Command {
    Subscribe(String),
    Unsubscribe(String),
}

/// A [`Backplane`] on Redis pub/sub (see the module documentation). Created inside a tokio
/// runtime; its tasks end when it is dropped.
pub struct RedisBackplane {
    config: RedisConfig,
    outgoing: mpsc::Sender<(Instant, String, Bytes)>,
    commands: mpsc::UnboundedSender<Command>,
    counters: Arc<Counters>,
    status: watch::Receiver<RedisStatus>,
}

impl std::fmt::Debug for RedisBackplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackplane")
            .field("url", &self.config.url)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl RedisBackplane {
    /// Starts the backplane's tasks on the current tokio runtime (they connect in the
    /// background, and keep trying while Redis is down). Returns it with the stream of received
    /// envelopes for [`Hub::run_backplane`](crate::Hub::run_backplane). Fails only on an
    /// invalid URL.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start(
        config: RedisConfig,
    ) -> Result<
        (
            Arc<RedisBackplane>,
            impl Stream<Item = Envelope> + Send + 'static,
        ),
        redis::RedisError,
    > {
        let client = redis::Client::open(config.url.as_str())?;
        let counters = Arc::new(Counters::default());
        let (outgoing, outgoing_rx) = mpsc::channel(config.outgoing_capacity.max(1));
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (incoming, mut incoming_rx) = mpsc::channel(config.incoming_capacity.max(1));
        let (status_tx, status) = watch::channel(RedisStatus::default());
        tokio::spawn(publisher(
            client.clone(),
            config.clone(),
            counters.clone(),
            outgoing_rx,
        ));
        tokio::spawn(subscriber(
            client,
            config.clone(),
            counters.clone(),
            commands_rx,
            incoming,
            status_tx,
        ));
        let backplane = Arc::new(RedisBackplane {
            config,
            outgoing,
            commands,
            counters,
            status,
        });
        let stream = futures_util::stream::poll_fn(move |cx| incoming_rx.poll_recv(cx));
        Ok((backplane, stream))
    }

    /// The figures.
    pub fn stats(&self) -> RedisStats {
        let c = &self.counters;
        RedisStats {
            published: c.published.load(Ordering::Relaxed),
            publish_dropped: c.publish_dropped.load(Ordering::Relaxed),
            received: c.received.load(Ordering::Relaxed),
            malformed: c.malformed.load(Ordering::Relaxed),
            connects: c.connects.load(Ordering::Relaxed),
        }
    }

    /// The subscribing connection's state now.
    pub fn status(&self) -> RedisStatus {
        self.status.borrow().clone()
    }

    /// Waits until the connection's state satisfies `pred` (for example: connected and
    /// subscribed to a topic, so that messages published elsewhere from now on arrive).
    pub async fn wait_for(&self, pred: impl FnMut(&RedisStatus) -> bool) {
        let mut status = self.status.clone();
        // Err only when the subscriber task is gone, which happens only after we are dropped.
        let _ = status.wait_for(pred).await;
    }
}

impl Backplane for RedisBackplane {
    fn publish(&self, envelope: &Envelope) {
        let channel = format!("{}{}", self.config.channel_prefix, envelope.topic);
        if self
            .outgoing
            .try_send((Instant::now(), channel, envelope.encode()))
            .is_err()
        {
            self.counters
                .publish_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    fn subscribe(&self, topic: &str) {
        // Fails only once the task ended, that is never while we exist.
        let _ = self.commands.send(Command::Subscribe(topic.to_owned()));
    }

    fn unsubscribe(&self, topic: &str) {
        let _ = self.commands.send(Command::Unsubscribe(topic.to_owned()));
    }
}

fn next_backoff(current: Duration, config: &RedisConfig) -> Duration {
    (current * 2).min(config.backoff_max)
}

/// Most messages sent to Redis in one pipeline.
const PIPELINE: usize = 256;

/// Publishes in order, in pipelines of what is waiting (one round trip per batch, not per
/// message), so Redis sees our sequence in order. A batch that fails is retried (on a new
/// connection) for up to `publish_retry_for` after its oldest message was queued; a retry
/// after a lost reply may publish some twice, which receivers drop by sequence number.
async fn publisher(
    client: redis::Client,
    config: RedisConfig,
    counters: Arc<Counters>,
    mut outgoing: mpsc::Receiver<(Instant, String, Bytes)>,
) {
    let mut conn: Option<redis::aio::MultiplexedConnection> = None;
    let mut backoff = config.backoff_min;
    let mut batch = Vec::with_capacity(PIPELINE);
    while outgoing.recv_many(&mut batch, PIPELINE).await > 0 {
        loop {
            let oldest = batch.first().map(|(queued_at, _, _)| *queued_at);
            if oldest.is_none_or(|t| t.elapsed() > config.publish_retry_for) || outgoing.is_closed()
            {
                counters
                    .publish_dropped
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                break;
            }
            if conn.is_none() {
                let connect = client.get_multiplexed_async_connection();
                match tokio::time::timeout(config.command_timeout, connect).await {
                    Ok(Ok(c)) => conn = Some(c),
                    Ok(Err(e)) => tracing::debug!(error = %e, "redis publisher: connect failed"),
                    Err(_) => tracing::debug!("redis publisher: connect timed out"),
                }
            }
            if let Some(c) = conn.as_mut() {
                let mut pipe = redis::pipe();
                for (_, channel, payload) in &batch {
                    pipe.cmd("PUBLISH").arg(channel).arg(&payload[..]).ignore();
                }
                let publish = pipe.query_async::<()>(c);
                match tokio::time::timeout(config.command_timeout, publish).await {
                    Ok(Ok(())) => {
                        counters
                            .published
                            .fetch_add(batch.len() as u64, Ordering::Relaxed);
                        backoff = config.backoff_min;
                        break;
                    }
                    Ok(Err(e)) => tracing::debug!(error = %e, "redis publish failed"),
                    Err(_) => tracing::debug!("redis publish timed out"),
                }
                conn = None;
            }
            tokio::time::sleep(backoff).await;
            backoff = next_backoff(backoff, &config);
        }
        batch.clear();
    }
}

/// Applies a (un)subscribe to the wanted set; true if it changed it.
fn apply(topics: &mut BTreeSet<String>, command: &Command) -> bool {
    match command {
        Command::Subscribe(t) => topics.insert(t.clone()),
        Command::Unsubscribe(t) => topics.remove(t),
    }
}

/// Keeps one connection subscribed to the channels of `topics`, reconnecting and subscribing
/// again after a loss; forwards what arrives to the hub.
async fn subscriber(
    client: redis::Client,
    config: RedisConfig,
    counters: Arc<Counters>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    incoming: mpsc::Sender<Envelope>,
    status: watch::Sender<RedisStatus>,
) {
    let mut topics = BTreeSet::new();
    let mut backoff = config.backoff_min;
    let channel = |topic: &str| format!("{}{}", config.channel_prefix, topic);
    loop {
        let session = async {
            let pubsub = tokio::time::timeout(config.command_timeout, client.get_async_pubsub())
                .await
                .map_err(|_| "connect timed out".to_string())?
                .map_err(|e| e.to_string())?;
            let (mut sink, stream) = pubsub.split();
            // Drain what changed while we were away before subscribing to the set.
            while let Ok(command) = commands.try_recv() {
                apply(&mut topics, &command);
            }
            let wanted: Vec<String> = topics.iter().map(|t| channel(t)).collect();
            if !wanted.is_empty() {
                tokio::time::timeout(config.command_timeout, sink.subscribe(&wanted))
                    .await
                    .map_err(|_| "subscribe timed out".to_string())?
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, String>((sink, stream))
        };
        let (mut sink, mut stream) = match session.await {
            Ok(pair) => pair,
            Err(error) => {
                tracing::debug!(%error, "redis subscriber: connection failed");
                let sleep = tokio::time::sleep(backoff);
                tokio::pin!(sleep);
                loop {
                    tokio::select! {
                        () = &mut sleep => break,
                        command = commands.recv() => match command {
                            Some(command) => { apply(&mut topics, &command); }
                            None => return,
                        },
                    }
                }
                backoff = next_backoff(backoff, &config);
                continue;
            }
        };
        backoff = config.backoff_min;
        counters.connects.fetch_add(1, Ordering::Relaxed);
        status.send_modify(|s| {
            s.connected = true;
            s.generation += 1;
            s.subscribed = topics.clone();
        });
        // A stalled path closes nothing: only a ping that goes unanswered shows it.
        let mut ping = tokio::time::interval_at(
            tokio::time::Instant::now() + config.ping_interval,
            config.ping_interval,
        );
        loop {
            tokio::select! {
                _ = ping.tick() => {
                    let pong = sink.ping::<redis::Value>();
                    if !matches!(tokio::time::timeout(config.command_timeout, pong).await, Ok(Ok(_))) {
                        tracing::debug!("redis subscriber: no answer to PING");
                        break;
                    }
                }
                command = commands.recv() => {
                    let Some(command) = command else { return };
                    if !apply(&mut topics, &command) {
                        continue;
                    }
                    let topic = match &command {
                        Command::Subscribe(t) | Command::Unsubscribe(t) => t,
                    };
                    let change = async {
                        match &command {
                            Command::Subscribe(_) => sink.subscribe(channel(topic)).await,
                            Command::Unsubscribe(_) => sink.unsubscribe(channel(topic)).await,
                        }
                    };
                    match tokio::time::timeout(config.command_timeout, change).await {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => {
                            tracing::debug!(%error, "redis subscriber: (un)subscribe failed");
                            break;
                        }
                        Err(_) => {
                            tracing::debug!("redis subscriber: (un)subscribe timed out");
                            break;
                        }
                    }
                    status.send_modify(|s| {
                        match &command {
                            Command::Subscribe(_) => s.subscribed.insert(topic.clone()),
                            Command::Unsubscribe(_) => s.subscribed.remove(topic),
                        };
                    });
                }
                message = futures_util::StreamExt::next(&mut stream) => {
                    let Some(message) = message else { break };
                    let payload = message.get_payload_bytes();
                    if payload.len() > config.max_message_size {
                        counters.malformed.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    match Envelope::decode(Bytes::copy_from_slice(payload)) {
                        Ok(envelope) => {
                            counters.received.fetch_add(1, Ordering::Relaxed);
                            if incoming.send(envelope).await.is_err() {
                                return; // the hub is gone
                            }
                        }
                        Err(error) => {
                            tracing::debug!(%error, "redis subscriber: dropped a message");
                            counters.malformed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
        tracing::debug!("redis subscriber: connection lost");
        status.send_modify(|s| {
            s.connected = false;
            s.subscribed.clear();
        });
    }
}
