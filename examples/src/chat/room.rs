//! The broadcast mechanism: one room, every member gets every event, on top of [`ws_hub`].
//!
//! Each member is a hub [`Subscriber`] of the room's topic ([`TOPIC`]) with a bounded queue
//! and [`SlowPolicy::POLICY_VIOLATION`]; [`Room::publish`] encodes an event to JSON once and
//! [`Hub::publish`] frames it once for every member. With a Redis backplane
//! ([`Room::start`] with [`RoomConfig::redis`]) several chat processes share the room: join,
//! leave and chat events cross nodes like any message, exactly once and in each sender's order.
//!
//! A [`Event::Welcome`] lists the members of every node: this node's own, and the others' as
//! last announced by their presence snapshots (see [`super::presence`]). A page then
//! keeps its list with the join and leave notices, which cross nodes like messages. A node
//! that just started learns the others' members within a round trip to Redis (its request's
//! answers); a page joining in that moment lists only those who join later.

mod membership;
pub use membership::Membership;

use super::presence::{self, Applied, PresenceLimits, Roster, PRESENCE_TOPIC};
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};
use ws_hub::{Hub, HubConfig, HubError, RedisBackplane, RedisConfig, SlowPolicy, Subscriber};
use ws_tokio::{CloseCode, CloseFrame, Utf8Bytes};

/// The hub topic of the room (and, prefixed with `ws-chat:`, its Redis channel).
pub const TOPIC: &str = "room:lobby";

/// The Redis channel prefix of the chat, so it can share a Redis with other hubs.
pub const CHANNEL_PREFIX: &str = "ws-chat:";

/// Something that happened in the room, as sent to the browsers (JSON, tagged by `type`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Event {
    /// Sent to a new member only: its name (after clean-up) and who is in the room.
    Welcome {
        /// The member's name.
        name: String,
        /// Everyone in the room as far as this node knows ([`Room::users`]), the new member
        /// included.
        users: Vec<String>,
    },
    /// Someone joined.
    Join {
        /// Who.
        name: String,
    },
    /// Someone left, or was dropped for being too slow (`reason` says so).
    Leave {
        /// Who.
        name: String,
        /// Why, when it was not the member's own doing.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A chat message.
    Message {
        /// The sender's name.
        from: String,
        /// The text.
        text: String,
    },
}

impl Event {
    /// The JSON text sent to browsers.
    pub fn to_json(&self) -> Utf8Bytes {
        // Serialising plain strings and vectors of strings cannot fail.
        serde_json::to_string(self)
            .unwrap_or_else(|_| String::from("{}"))
            .into()
    }
}

/// The close frame a member gets when its outgoing queue overflowed.
pub fn too_slow_frame() -> CloseFrame {
    CloseFrame::new(CloseCode::POLICY_VIOLATION, "too slow: outgoing queue full")
}

/// How a [`Room`] is made.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RoomConfig {
    /// Events a member may have waiting before it is dropped (at least 1). Default 256.
    pub queue_len: usize,
    /// `redis://HOST:PORT/`: share the room with the other nodes on this Redis. Default
    /// `None`: this process only.
    pub redis: Option<String>,
    /// How often a node repeats its presence snapshot; other nodes forget it after three
    /// intervals of silence (and check every one of their own intervals). Default 10 s.
    pub presence_interval: Duration,
    /// What other nodes' snapshots may make this one remember.
    pub presence_limits: PresenceLimits,
}

impl Default for RoomConfig {
    fn default() -> Self {
        RoomConfig {
            queue_len: 256,
            redis: None,
            presence_interval: Duration::from_secs(10),
            presence_limits: PresenceLimits::default(),
        }
    }
}

/// Why a room could not be made or joined.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoomError {
    /// The Redis URL is not one (the backplane connects in the background, so an unreachable
    /// server is not an error: the node serves its own members meanwhile).
    #[error("invalid Redis URL {url:?}: {reason}")]
    RedisUrl {
        /// The URL given.
        url: String,
        /// What the Redis client said.
        reason: String,
    },
    /// The hub refused the subscription (its limits).
    #[error("cannot join the room")]
    Hub(#[from] HubError),
}

struct Member {
    name: String,
    subscriber: Arc<Subscriber>,
    kick: oneshot::Sender<CloseFrame>,
}

#[derive(Default)]
struct Members {
    next_id: u64,
    by_id: HashMap<u64, Member>,
}

/// A broadcast room with a bounded outgoing queue per member.
///
/// Publishing never waits: a member whose queue is full is disconnected by the hub; the room
/// notices after the publish that caused it (a cheap counter check), removes it, tells its
/// connection to close with 1008 (see [`too_slow_frame`]) through [`Membership::take_kicked`], and
/// announces a leave notice. So one slow browser costs the room one failed offer, never a stall.
pub struct Room {
    hub: Hub,
    redis: Option<Arc<RedisBackplane>>,
    /// Keeps the node subscribed to the room's channel even with no member, so that messages
    /// from other nodes arrive from the first member's first moment. Capacity 1, drop oldest:
    /// it holds at most the last message.
    _anchor: Subscriber,
    members: Mutex<Members>,
    /// Other nodes' members. Locked after `members` when both are needed.
    roster: Mutex<Roster>,
    /// Bumped on every roster change (for [`Room::wait_users`]).
    roster_version: watch::Sender<u64>,
    queue_len: usize,
    presence_interval: Duration,
    /// The hub's `disconnected` count at the last sweep.
    swept: AtomicU64,
    /// Dropped with the room: stops its presence task.
    _stop: oneshot::Sender<()>,
}

impl Room {
    /// A room for this process only, whose members may have `queue_len` (at least 1)
    /// undelivered events each.
    pub fn new(queue_len: usize) -> Arc<Room> {
        let config = RoomConfig {
            queue_len,
            ..RoomConfig::default()
        };
        Self::with_hub(Hub::new(HubConfig::default()), None, &config).0
    }

    /// A room as configured: with a Redis backplane, one node of a room shared by every chat
    /// process on that Redis. Call inside a tokio runtime; the backplane's tasks and the task
    /// delivering what it receives are spawned on it.
    pub fn start(config: &RoomConfig) -> Result<Arc<Room>, RoomError> {
        let Some(url) = &config.redis else {
            return Ok(Self::with_hub(Hub::new(HubConfig::default()), None, config).0);
        };
        let redis = RedisConfig::new(url.clone()).channel_prefix(CHANNEL_PREFIX);
        let (backplane, incoming) =
            RedisBackplane::start(redis).map_err(|e| RoomError::RedisUrl {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let hub = Hub::with_backplane(HubConfig::default(), backplane.clone());
        let (room, stop) = Self::with_hub(hub, Some(backplane.clone()), config);
        tokio::spawn(room.run_backplane(incoming));
        let interval = config.presence_interval.max(Duration::from_millis(1));
        tokio::spawn(presence::run(
            Arc::downgrade(&room),
            backplane,
            stop,
            interval,
        ));
        Ok(room)
    }

    fn with_hub(
        hub: Hub,
        redis: Option<Arc<RedisBackplane>>,
        config: &RoomConfig,
    ) -> (Arc<Room>, oneshot::Receiver<()>) {
        let anchor = hub.subscriber_with(1, SlowPolicy::DropOldest);
        // A fresh subscriber's first topics within the default limits: cannot fail.
        let _ = anchor.subscribe(TOPIC);
        let _ = anchor.subscribe(PRESENCE_TOPIC);
        let (stop, stopped) = oneshot::channel();
        let room = Arc::new(Room {
            hub,
            redis,
            _anchor: anchor,
            members: Mutex::new(Members::default()),
            roster: Mutex::new(Roster::new(config.presence_limits.clone())),
            roster_version: watch::Sender::new(0),
            queue_len: config.queue_len.max(1),
            presence_interval: config.presence_interval,
            swept: AtomicU64::new(0),
            _stop: stop,
        });
        (room, stopped)
    }

    /// Delivers what the backplane receives, sweeping out members it made fall behind, until
    /// the stream ends or the room is dropped.
    fn run_backplane<S>(self: &Arc<Self>, incoming: S) -> impl Future<Output = ()> + Send + 'static
    where
        S: futures::Stream<Item = ws_hub::Envelope> + Send + 'static,
    {
        use futures::StreamExt;
        let room = Arc::downgrade(self);
        async move {
            let mut incoming = std::pin::pin!(incoming);
            while let Some(envelope) = incoming.next().await {
                let Some(room) = room.upgrade() else {
                    return;
                };
                let fresh = room.hub.deliver_remote(&envelope);
                if fresh && &*envelope.topic == PRESENCE_TOPIC {
                    room.on_presence(&envelope);
                }
                room.sweep();
            }
        }
    }

    /// The hub underneath.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The Redis backplane, if the room has one.
    pub fn redis(&self) -> Option<&Arc<RedisBackplane>> {
        self.redis.as_ref()
    }

    /// Waits until events published on other nodes reach this one: at once without a
    /// backplane, else once Redis confirmed the room's subscription (it may never come while
    /// Redis is down: bound the wait).
    pub async fn ready(&self) {
        if let Some(redis) = &self.redis {
            redis
                .wait_for(|s| {
                    s.connected
                        && s.subscribed.contains(TOPIC)
                        && s.subscribed.contains(PRESENCE_TOPIC)
                })
                .await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Members> {
        // The map is consistent after every statement; a panic elsewhere does not corrupt it.
        self.members.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn roster(&self) -> MutexGuard<'_, Roster> {
        self.roster.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Everyone in the room as far as this node knows, sorted: its own members and the other
    /// nodes' as last announced (a name may repeat: names are unique per node only).
    pub fn users(&self) -> Vec<String> {
        let members = self.lock();
        let mut users: Vec<String> = members.by_id.values().map(|m| m.name.clone()).collect();
        users.extend(self.roster().names().cloned());
        users.sort();
        users
    }

    /// Waits until [`users`](Self::users) satisfies `pred` (bound the wait: other nodes may
    /// never say what is expected).
    pub async fn wait_users(&self, mut pred: impl FnMut(&[String]) -> bool) {
        let mut changes = self.roster_version.subscribe();
        // Local joins and leaves bump the version too, so no change is missed between the
        // check and the wait.
        while !pred(&self.users()) {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Publishes this node's member list; called with the members locked, so that snapshots
    /// leave in the order of the changes they describe.
    fn publish_snapshot(&self, members: &Members, ask: bool) {
        if self.redis.is_none() {
            return;
        }
        let names = members.by_id.values().map(|m| m.name.as_str());
        self.hub.publish(
            PRESENCE_TOPIC,
            presence::snapshot(names, ask, self.presence_interval),
        );
    }

    /// A snapshot from another node.
    fn on_presence(&self, envelope: &ws_hub::Envelope) {
        let applied =
            self.roster()
                .apply(envelope.node, envelope.message.payload(), Instant::now());
        if let Applied::Taken { ask } = applied {
            self.roster_version.send_modify(|v| *v += 1);
            if ask {
                self.publish_snapshot(&self.lock(), false);
            }
        }
    }

    /// Heartbeat: our snapshot again (asking the others for theirs when `ask`), and forget
    /// nodes that went silent.
    pub(crate) fn presence_tick(&self, ask: bool) {
        self.publish_snapshot(&self.lock(), ask);
        if self.roster().prune(Instant::now()) {
            self.roster_version.send_modify(|v| *v += 1);
        }
    }

    /// Adds a member: it gets a welcome, everyone (itself included, and on every node) a join
    /// notice. A name already in the room on this node gets a `-2`, `-3`, ... suffix, so names
    /// identify members here (two nodes may each have an "alice").
    pub fn join(self: &Arc<Self>, name: String) -> Result<Membership, RoomError> {
        let (kick, kicked) = oneshot::channel();
        let subscriber = Arc::new(
            self.hub
                .subscriber_with(self.queue_len, SlowPolicy::POLICY_VIOLATION),
        );
        let (id, name) = {
            let mut members = self.lock();
            let taken = |n: &str| members.by_id.values().any(|m| m.name == n);
            // Among len + 2 candidates at least one is free.
            let name = (1..members.by_id.len() + 2)
                .map(|i| match i {
                    1 => name.clone(),
                    _ => format!("{name}-{i}"),
                })
                .find(|n| !taken(n))
                .unwrap_or(name);
            let mut users: Vec<String> = members.by_id.values().map(|m| m.name.clone()).collect();
            users.push(name.clone());
            {
                // Held while subscribing: a snapshot applied after our read is followed by
                // its join notice, which then reaches us.
                let roster = self.roster();
                users.extend(roster.names().cloned());
                users.sort();
                // Queued before subscribing, so the welcome comes first; the queue is new and
                // at least one long, so it is queued.
                subscriber.send_direct(
                    Event::Welcome {
                        name: name.clone(),
                        users,
                    }
                    .to_json(),
                );
                subscriber.subscribe(TOPIC)?;
            }
            let id = members.next_id;
            members.next_id += 1;
            members.by_id.insert(
                id,
                Member {
                    name: name.clone(),
                    subscriber: subscriber.clone(),
                    kick,
                },
            );
            self.publish_snapshot(&members, false);
            (id, name)
        };
        self.roster_version.send_modify(|v| *v += 1);
        self.publish(&Event::Join { name: name.clone() });
        Ok(Membership {
            room: self.clone(),
            id,
            name,
            subscriber,
            kicked: Some(kicked),
        })
    }

    /// Sends `event` to every member, on every node. Members it makes fall behind are dropped.
    pub fn publish(&self, event: &Event) {
        self.hub.publish(TOPIC, event.to_json());
        self.sweep();
    }

    /// Removes the members the hub disconnected for falling behind, kicks them and announces
    /// it. Cheap unless the hub's disconnect count moved since the last sweep.
    fn sweep(&self) {
        loop {
            let now = self.hub.stats().disconnected;
            if self.swept.swap(now, Ordering::AcqRel) == now {
                return;
            }
            let dropped: Vec<Member> = {
                let mut members = self.lock();
                let slow: Vec<u64> = members
                    .by_id
                    .iter()
                    .filter(|(_, m)| m.subscriber.stats().disconnected)
                    .map(|(id, _)| *id)
                    .collect();
                let dropped: Vec<Member> = slow
                    .iter()
                    .filter_map(|id| members.by_id.remove(id))
                    .collect();
                if !dropped.is_empty() {
                    self.publish_snapshot(&members, false);
                }
                dropped
            };
            // Each leave notice may drop more members: the loop looks again. It ends because
            // every round removes someone or finds the count unchanged.
            for member in dropped {
                self.announce_too_slow(member);
            }
        }
    }

    fn announce_too_slow(&self, member: Member) {
        // A closed receiver means the connection is already going away by itself.
        let _ = member.kick.send(too_slow_frame());
        self.hub.publish(
            TOPIC,
            Event::Leave {
                name: member.name,
                reason: Some("too slow".into()),
            }
            .to_json(),
        );
    }

    /// How many members the room has on this node.
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    /// Whether the room has no member on this node.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes a member, announcing the new list to the other nodes; returns it unless the
    /// room had already dropped it.
    fn remove(&self, id: u64) -> Option<Member> {
        let removed = {
            let mut members = self.lock();
            let removed = members.by_id.remove(&id);
            if removed.is_some() {
                self.publish_snapshot(&members, false);
            }
            removed
        };
        if removed.is_some() {
            self.roster_version.send_modify(|v| *v += 1);
        }
        removed
    }
}

#[cfg(test)]
#[path = "room_tests.rs"]
mod tests;
