//! Who is in the room on the other nodes: each node publishes the full list of its members
//! (a snapshot) on [`PRESENCE_TOPIC`] whenever it changes, every `presence_interval`, and when
//! another node asks (on its start and after each reconnection to Redis). Receivers keep the
//! latest list per node and forget a node not heard from for three of its intervals (each
//! snapshot says its sender's): one that died.
//!
//! A snapshot is published before the join or leave notice that goes with it, by the same node
//! through the same Redis connections, so a node applies it first: a page that joins after a
//! join notice went by finds that member in its welcome, and one that joins before gets the
//! notice. Snapshots are full lists, so a lost one is repaired by the next.

use super::room::Room;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use ws_hub::{NodeId, RedisBackplane};
use ws_tokio::Utf8Bytes;

/// The hub topic of the snapshots. Only the room's own anchor subscribes to it: browsers never
/// see it.
pub const PRESENCE_TOPIC: &str = "room:lobby:presence";

/// Limits on what other nodes may make this one remember; every one has a safe default.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PresenceLimits {
    /// Other nodes remembered; snapshots from more are ignored until one is forgotten.
    /// Default 64.
    pub max_nodes: usize,
    /// Names kept per node; the rest of a longer list is ignored. Default 4096.
    pub max_members_per_node: usize,
    /// Names longer than this (bytes) are ignored. Default 256.
    pub max_name_len: usize,
    /// Larger snapshots are ignored whole. Default 1 MiB.
    pub max_snapshot_bytes: usize,
    /// Longest a node is remembered without a word, whatever interval it announces.
    /// Default 10 min.
    pub max_silence: Duration,
}

impl Default for PresenceLimits {
    fn default() -> Self {
        PresenceLimits {
            max_nodes: 64,
            max_members_per_node: 4096,
            max_name_len: 256,
            max_snapshot_bytes: 1 << 20,
            max_silence: Duration::from_secs(600),
        }
    }
}

/// A snapshot on the wire (JSON): the publishing node is the backplane envelope's.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    members: Vec<String>,
    /// The sender wants everyone's snapshot (it just started or reconnected).
    #[serde(default)]
    ask: bool,
    /// The sender's presence interval, in milliseconds.
    #[serde(default = "default_interval_ms")]
    interval_ms: u64,
}

fn default_interval_ms() -> u64 {
    10_000
}

/// The JSON of a snapshot listing `members`.
pub(crate) fn snapshot<'a>(
    members: impl Iterator<Item = &'a str>,
    ask: bool,
    interval: Duration,
) -> Utf8Bytes {
    let snapshot = Snapshot {
        members: members.map(str::to_owned).collect(),
        ask,
        interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
    };
    // Serialising strings cannot fail.
    serde_json::to_string(&snapshot)
        .unwrap_or_else(|_| String::from(r#"{"members":[]}"#))
        .into()
}

/// The latest members of every other node.
#[derive(Debug, Default)]
pub(crate) struct Roster {
    limits: PresenceLimits,
    /// Each node's members, and when it is forgotten unless heard from again.
    nodes: HashMap<NodeId, (Vec<String>, Instant)>,
}

/// What applying a snapshot did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Taken; `ask`: the sender wants our snapshot.
    Taken { ask: bool },
    /// Ignored: malformed or over a limit.
    Ignored,
}

impl Roster {
    pub(crate) fn new(limits: PresenceLimits) -> Roster {
        Roster {
            limits,
            nodes: HashMap::new(),
        }
    }

    /// Takes `from`'s snapshot as its current list.
    pub(crate) fn apply(&mut self, from: NodeId, payload: &[u8], now: Instant) -> Applied {
        if payload.len() > self.limits.max_snapshot_bytes {
            return Applied::Ignored;
        }
        let Ok(snapshot) = serde_json::from_slice::<Snapshot>(payload) else {
            return Applied::Ignored;
        };
        if !self.nodes.contains_key(&from) && self.nodes.len() >= self.limits.max_nodes {
            return Applied::Ignored;
        }
        let max_len = self.limits.max_name_len;
        let members: Vec<String> = snapshot
            .members
            .into_iter()
            .filter(|name| name.len() <= max_len)
            .take(self.limits.max_members_per_node)
            .collect();
        // Three intervals: one lost snapshot, or a late one, is no reason to forget a node.
        let silence = Duration::from_millis(snapshot.interval_ms)
            .saturating_mul(3)
            .min(self.limits.max_silence);
        self.nodes.insert(from, (members, now + silence));
        Applied::Taken { ask: snapshot.ask }
    }

    /// Forgets nodes silent for three of their intervals; true if any was.
    pub(crate) fn prune(&mut self, now: Instant) -> bool {
        let before = self.nodes.len();
        self.nodes.retain(|_, (_, forget_at)| now <= *forget_at);
        self.nodes.len() != before
    }

    /// Every remote member's name (a name may repeat: names are unique per node only).
    pub(crate) fn names(&self) -> impl Iterator<Item = &String> {
        self.nodes.values().flat_map(|(members, _)| members)
    }
}

/// Keeps the room's presence going: a snapshot every `interval` (forgetting silent nodes),
/// and a request for everyone's whenever the Redis connection is (re)established, until the
/// room is dropped.
pub(crate) async fn run(
    room: Weak<Room>,
    redis: Arc<RedisBackplane>,
    mut stop: oneshot::Receiver<()>,
    interval: Duration,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut generation = 0;
    loop {
        let reconnected = redis.wait_for(|s| {
            s.connected && s.generation > generation && s.subscribed.contains(PRESENCE_TOPIC)
        });
        let ask = tokio::select! {
            _ = &mut stop => return,
            () = reconnected => true,
            _ = ticks.tick() => false,
        };
        let Some(room) = room.upgrade() else {
            return;
        };
        if ask {
            generation = redis.status().generation;
        }
        room.presence_tick(ask);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_replace_and_expire() {
        let mut roster = Roster::new(PresenceLimits::default());
        let t0 = Instant::now();
        let (a, b) = (NodeId(1), NodeId(2));
        let one = snapshot(["ann", "bo"].into_iter(), true, Duration::from_secs(1));
        assert_eq!(
            one.as_str(),
            r#"{"members":["ann","bo"],"ask":true,"interval_ms":1000}"#
        );
        assert_eq!(
            roster.apply(a, one.as_bytes(), t0),
            Applied::Taken { ask: true }
        );
        let later = t0 + Duration::from_secs(5);
        roster.apply(b, br#"{"members":["cy"],"interval_ms":1000}"#, later);
        roster.apply(a, br#"{"members":["ann"],"interval_ms":1000}"#, later);
        let mut names: Vec<&String> = roster.names().collect();
        names.sort();
        assert_eq!(names, ["ann", "cy"]);
        // Three intervals of silence are allowed, not more.
        let b_again = later + Duration::from_secs(2);
        roster.apply(b, br#"{"members":["cy"],"interval_ms":1000}"#, b_again);
        assert!(!roster.prune(later + Duration::from_secs(3)));
        assert!(roster.prune(later + Duration::from_millis(3001)));
        assert_eq!(roster.names().collect::<Vec<_>>(), ["cy"]);
        assert!(!roster.prune(b_again + Duration::from_secs(3)));
        assert!(roster.prune(b_again + Duration::from_millis(3001)));
        // Without an interval, the default 10 s; never beyond `max_silence`.
        roster.apply(a, br#"{"members":["ann"]}"#, t0);
        assert!(!roster.prune(t0 + Duration::from_secs(30)));
        roster.apply(
            a,
            br#"{"members":["ann"],"interval_ms":18446744073709551615}"#,
            t0,
        );
        assert!(roster.prune(t0 + Duration::from_secs(601)));
    }

    #[test]
    fn bad_or_oversized_snapshots_are_ignored() {
        let limits = PresenceLimits {
            max_nodes: 1,
            max_members_per_node: 2,
            max_name_len: 3,
            max_snapshot_bytes: 100,
            max_silence: Duration::from_secs(1),
        };
        let mut roster = Roster::new(limits);
        let now = Instant::now();
        for bad in [&b"not json"[..], b"{}", br#"{"members":"x"}"#, &[b' '; 101]] {
            assert_eq!(roster.apply(NodeId(1), bad, now), Applied::Ignored);
        }
        let long = br#"{"members":["toolong","a","b","c"]}"#;
        assert!(matches!(
            roster.apply(NodeId(1), long, now),
            Applied::Taken { .. }
        ));
        assert_eq!(roster.names().collect::<Vec<_>>(), ["a", "b"]);
        // A second node is over the limit.
        let other = br#"{"members":["z"]}"#;
        assert_eq!(roster.apply(NodeId(2), other, now), Applied::Ignored);
    }
}
