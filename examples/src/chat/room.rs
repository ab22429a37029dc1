//! The broadcast mechanism: one room, every member gets every event.
//!
//! Kept behind [`Room::join`], [`Room::publish`] and the [`Membership`] guard (leaving happens
//! on drop) so that a topic hub with a backplane (Redis pub/sub) can replace it later without
//! touching the connection code: events are encoded to their JSON wire form once, in
//! [`Room::publish`], which is also what a backplane would carry.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot};
use ws_tokio::{CloseCode, CloseFrame, Utf8Bytes};

/// Something that happened in the room, as sent to the browsers (JSON, tagged by `type`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Event {
    /// Sent to a new member only: its name (after clean-up) and who is in the room.
    Welcome {
        /// The member's name.
        name: String,
        /// Everyone in the room, the new member included.
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

struct Member {
    name: String,
    queue: mpsc::Sender<Utf8Bytes>,
    kick: oneshot::Sender<CloseFrame>,
}

#[derive(Default)]
struct Members {
    next_id: u64,
    by_id: HashMap<u64, Member>,
}

/// A broadcast room with a bounded outgoing queue per member.
///
/// Publishing never waits: a member whose queue is full is removed, told to close with 1008
/// (see [`too_slow_frame`]) through [`Membership::kicked`], and the others get a leave notice.
/// So one slow browser costs the room one failed `try_send`, never a stall.
pub struct Room {
    members: Mutex<Members>,
    queue_len: usize,
}

impl Room {
    /// A room whose members may have `queue_len` (at least 1) undelivered events each.
    pub fn new(queue_len: usize) -> Arc<Room> {
        Arc::new(Room {
            members: Mutex::new(Members::default()),
            queue_len: queue_len.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Members> {
        // The map is consistent after every statement; a panic elsewhere does not corrupt it.
        self.members.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a member: it gets a welcome, everyone (itself included) a join notice. A name
    /// already in the room gets a `-2`, `-3`, ... suffix, so names identify members.
    pub fn join(self: &Arc<Self>, name: String) -> Membership {
        let (queue, events) = mpsc::channel(self.queue_len);
        let (kick, kicked) = oneshot::channel();
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
            let id = members.next_id;
            members.next_id += 1;
            let mut users: Vec<String> = members.by_id.values().map(|m| m.name.clone()).collect();
            users.push(name.clone());
            users.sort();
            let welcome = Event::Welcome {
                name: name.clone(),
                users,
            };
            // The queue is new and at least one long: this cannot fail.
            let _ = queue.try_send(welcome.to_json());
            members.by_id.insert(
                id,
                Member {
                    name: name.clone(),
                    queue,
                    kick,
                },
            );
            (id, name)
        };
        self.publish(&Event::Join { name: name.clone() });
        Membership {
            room: self.clone(),
            id,
            name,
            events,
            kicked,
        }
    }

    /// Sends `event` to every member, dropping those whose queue is full.
    pub fn publish(&self, event: &Event) {
        let mut pending = vec![event.to_json()];
        // Each round may drop members, whose leave notices make the next round; it ends because
        // every round removes someone or publishes nothing more.
        while let Some(text) = pending.pop() {
            let dropped: Vec<Member> = {
                let mut members = self.lock();
                let full: Vec<u64> = members
                    .by_id
                    .iter()
                    .filter(|(_, m)| m.queue.try_send(text.clone()).is_err())
                    .map(|(id, _)| *id)
                    .collect();
                full.iter()
                    .filter_map(|id| members.by_id.remove(id))
                    .collect()
            };
            for member in dropped {
                // A closed receiver means the connection is already going away by itself.
                let _ = member.kick.send(too_slow_frame());
                pending.push(
                    Event::Leave {
                        name: member.name,
                        reason: Some("too slow".into()),
                    }
                    .to_json(),
                );
            }
        }
    }

    /// How many members the room has.
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    /// Whether the room is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn leave(&self, id: u64) {
        let removed = self.lock().by_id.remove(&id);
        // Absent when the room already dropped it (and announced that).
        if let Some(member) = removed {
            self.publish(&Event::Leave {
                name: member.name,
                reason: None,
            });
        }
    }
}

/// One member's place in a [`Room`]: its event queue and kick signal. Dropping it leaves the
/// room (with a leave notice to the others).
pub struct Membership {
    room: Arc<Room>,
    id: u64,
    name: String,
    /// Events to send to this member, already encoded.
    pub events: mpsc::Receiver<Utf8Bytes>,
    /// Fires with the close frame to send when the room dropped this member.
    pub kicked: oneshot::Receiver<CloseFrame>,
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
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.room.leave(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(event: &Event) -> Utf8Bytes {
        event.to_json()
    }

    #[test]
    fn wire_format() {
        let event = Event::Message {
            from: "a\"b".into(),
            text: "<hi>\n".into(),
        };
        assert_eq!(
            event.to_json().as_str(),
            r#"{"type":"message","from":"a\"b","text":"<hi>\n"}"#
        );
        let leave = Event::Leave {
            name: "x".into(),
            reason: None,
        };
        assert_eq!(leave.to_json().as_str(), r#"{"type":"leave","name":"x"}"#);
    }

    #[test]
    fn broadcast_join_and_leave() {
        let room = Room::new(8);
        let mut a = room.join("alice".into());
        let mut b = room.join("bob".into());
        room.publish(&Event::Message {
            from: "alice".into(),
            text: "hi".into(),
        });
        let welcome_b = Event::Welcome {
            name: "bob".into(),
            users: vec!["alice".into(), "bob".into()],
        };
        assert_eq!(b.events.try_recv().ok(), Some(text(&welcome_b)));
        let join_b = text(&Event::Join { name: "bob".into() });
        assert_eq!(b.events.try_recv().ok(), Some(join_b.clone()));
        // alice: welcome, own join, bob's join, the message.
        for _ in 0..2 {
            assert!(a.events.try_recv().is_ok());
        }
        assert_eq!(a.events.try_recv().ok(), Some(join_b));
        let hi = text(&Event::Message {
            from: "alice".into(),
            text: "hi".into(),
        });
        assert_eq!(a.events.try_recv().ok(), Some(hi.clone()));
        assert_eq!(b.events.try_recv().ok(), Some(hi));
        drop(b);
        let left = text(&Event::Leave {
            name: "bob".into(),
            reason: None,
        });
        assert_eq!(a.events.try_recv().ok(), Some(left));
        assert_eq!(room.len(), 1);
    }

    #[test]
    fn duplicate_names_get_a_suffix() {
        let room = Room::new(8);
        let a = room.join("ann".into());
        let b = room.join("ann".into());
        let c = room.join("ann".into());
        assert_eq!([a.name(), b.name(), c.name()], ["ann", "ann-2", "ann-3"]);
        drop(b);
        assert_eq!(room.join("ann".into()).name(), "ann-2");
    }

    #[test]
    fn full_queue_drops_only_that_member() {
        let room = Room::new(3);
        // slow's queue: welcome, own join, fast's join: full.
        let mut slow = room.join("slow".into());
        let mut fast = room.join("fast".into());
        while fast.events.try_recv().is_ok() {}
        room.publish(&Event::Message {
            from: "fast".into(),
            text: "one too many".into(),
        });
        assert_eq!(slow.kicked.try_recv().ok(), Some(too_slow_frame()));
        assert_eq!(room.len(), 1);
        let mut seen = Vec::new();
        while let Ok(t) = fast.events.try_recv() {
            seen.push(t);
        }
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[0].contains("one too many"));
        assert!(seen[1].contains(r#""type":"leave","name":"slow","reason":"too slow""#));
        // Leaving after being dropped announces nothing more.
        drop(slow);
        assert!(fast.events.try_recv().is_err());
    }
}
