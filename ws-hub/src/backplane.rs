//! Sharing topics between server processes through a message broker.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use ws_proto::{OpCode, PreparedMessage, Utf8Bytes};

/// Identifies a hub node on the backplane: random per process, so a restarted node counts its
/// sequence afresh without being taken for a duplicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u64);

impl NodeId {
    /// A random id.
    pub fn random() -> NodeId {
        // RandomState is seeded from the OS per process (and varied per instance); hashing the
        // time in too keeps two hubs of one process apart.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        NodeId(hasher.finish())
    }
}

/// A published message as it crosses the backplane: who published it, its place in that
/// node's sequence, the topic and the message.
#[derive(Clone, Debug)]
pub struct Envelope {
    /// The publishing node.
    pub node: NodeId,
    /// The publisher's sequence number: 1, 2, 3... in publish order.
    pub seq: u64,
    /// The topic.
    pub topic: Arc<str>,
    /// The message, already framed for local subscribers.
    pub message: PreparedMessage,
}

/// A backplane message that could not be decoded (from another program on the same broker
/// channel, or a different version): it is dropped, never delivered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not our format or version.
    #[error("not a ws-hub envelope (bad magic or version)")]
    Magic,
    /// Shorter than its header says.
    #[error("truncated envelope")]
    Truncated,
    /// The message kind is neither text nor binary.
    #[error("envelope carries opcode {0}, not text or binary")]
    Opcode(u8),
    /// The topic or a text message is not UTF-8.
    #[error("envelope topic or text is not valid UTF-8")]
    Utf8,
}

const MAGIC: &[u8; 4] = b"WSH1";
const HEADER: usize = 4 + 8 + 8 + 1 + 2;

impl Envelope {
    /// The wire form: `WSH1`, node (u64), seq (u64), opcode (u8), topic length (u16), topic,
    /// payload; integers big-endian.
    pub fn encode(&self) -> Bytes {
        let topic = self.topic.as_bytes();
        let topic = &topic[..topic.len().min(u16::MAX as usize)];
        let payload = self.message.payload();
        let mut out = BytesMut::with_capacity(HEADER + topic.len() + payload.len());
        out.put_slice(MAGIC);
        out.put_u64(self.node.0);
        out.put_u64(self.seq);
        out.put_u8(self.message.opcode().as_u8());
        out.put_u16(topic.len() as u16);
        out.put_slice(topic);
        out.put_slice(payload);
        out.freeze()
    }

    /// Parses the wire form, checking everything (the broker is shared, its bytes untrusted).
    pub fn decode(mut bytes: Bytes) -> Result<Envelope, EnvelopeError> {
        if bytes.len() < HEADER {
            return Err(if bytes.starts_with(&MAGIC[..bytes.len().min(4)]) {
                EnvelopeError::Truncated
            } else {
                EnvelopeError::Magic
            });
        }
        if &bytes[..4] != MAGIC {
            return Err(EnvelopeError::Magic);
        }
        bytes.advance(4);
        let node = NodeId(bytes.get_u64());
        let seq = bytes.get_u64();
        let opcode = bytes.get_u8();
        let topic_len = usize::from(bytes.get_u16());
        if bytes.len() < topic_len {
            return Err(EnvelopeError::Truncated);
        }
        let topic = std::str::from_utf8(&bytes[..topic_len]).map_err(|_| EnvelopeError::Utf8)?;
        let topic: Arc<str> = topic.into();
        bytes.advance(topic_len);
        let message = match OpCode::from_u8(opcode) {
            Some(OpCode::Text) => {
                PreparedMessage::text(Utf8Bytes::try_from(bytes).map_err(|_| EnvelopeError::Utf8)?)
            }
            Some(OpCode::Binary) => PreparedMessage::binary(bytes),
            _ => return Err(EnvelopeError::Opcode(opcode)),
        };
        Ok(Envelope {
            node,
            seq,
            topic,
            message,
        })
    }
}

/// How a hub reaches other nodes: a broker's publish and subscribe, and (returned by the
/// implementation's constructor) a stream of what it receives, fed to
/// [`Hub::run_backplane`](crate::Hub::run_backplane).
///
/// The hub calls these synchronously, sometimes under its registry lock: implementations must
/// only queue the work (for their own task) and return. A message that cannot be queued (the
/// broker is down and the queue is full) is dropped and counted by the implementation; local
/// subscribers are served regardless.
pub trait Backplane: Send + Sync + 'static {
    /// Sends a message to every other node subscribed to its topic. Called in sequence order.
    fn publish(&self, envelope: &Envelope);
    /// The first local subscriber joined `topic`: start receiving it.
    fn subscribe(&self, topic: &str);
    /// The last local subscriber left `topic`: stop receiving it.
    fn unsubscribe(&self, topic: &str);
}

/// The highest sequence number seen per remote node, to drop duplicates and stale replays.
#[derive(Debug)]
pub(crate) struct Dedup {
    last: HashMap<NodeId, u64>,
    max_nodes: usize,
}

impl Dedup {
    pub(crate) fn new(max_nodes: usize) -> Self {
        Dedup {
            last: HashMap::new(),
            max_nodes: max_nodes.max(1),
        }
    }

    /// Whether `seq` from `node` is new (and remember it).
    pub(crate) fn accept(&mut self, node: NodeId, seq: u64) -> bool {
        if let Some(last) = self.last.get_mut(&node) {
            if seq <= *last {
                return false;
            }
            *last = seq;
            return true;
        }
        if self.last.len() >= self.max_nodes {
            // Nodes come and go (each restart is a new id): forget an arbitrary one rather than
            // grow without bound. Its next message is then taken as new, which is right unless
            // it is a replay, and a broker replays only within moments.
            if let Some(&victim) = self.last.keys().next() {
                self.last.remove(&victim);
            }
        }
        self.last.insert(node, seq);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_and_bad_input_is_an_error() {
        let env = Envelope {
            node: NodeId(7),
            seq: 42,
            topic: "prices/ACME".into(),
            message: PreparedMessage::text("101.25"),
        };
        let wire = env.encode();
        let back = Envelope::decode(wire.clone()).unwrap();
        assert_eq!(
            (back.node, back.seq, &*back.topic),
            (NodeId(7), 42, "prices/ACME")
        );
        assert_eq!(back.message.payload(), env.message.payload());
        assert_eq!(back.message.opcode(), OpCode::Text);
        for cut in 0..wire.len() - 6 {
            assert!(Envelope::decode(wire.slice(..cut)).is_err(), "cut {cut}");
        }
        assert_eq!(
            Envelope::decode(Bytes::from_static(b"hello, not an envelope")).unwrap_err(),
            EnvelopeError::Magic
        );
        let mut bad = wire.to_vec();
        bad[20] = 9;
        assert_eq!(
            Envelope::decode(bad.into()).unwrap_err(),
            EnvelopeError::Opcode(9)
        );
        let mut bad_text = wire.to_vec();
        let last = bad_text.len() - 1;
        bad_text[last] = 0xff;
        assert_eq!(
            Envelope::decode(bad_text.into()).unwrap_err(),
            EnvelopeError::Utf8
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_or_fail_without_panicking(bytes: Vec<u8>) {
            let _ = Envelope::decode(bytes.into());
        }

        #[test]
        fn envelopes_round_trip(node: u64, seq: u64, topic in ".{0,40}", payload: Vec<u8>, text: bool) {
            let message = if text {
                PreparedMessage::text(String::from_utf8_lossy(&payload).into_owned())
            } else {
                PreparedMessage::binary(payload)
            };
            let env = Envelope { node: NodeId(node), seq, topic: topic.as_str().into(), message };
            let back = Envelope::decode(env.encode()).unwrap();
            proptest::prop_assert_eq!((back.node, back.seq, &*back.topic), (env.node, seq, topic.as_str()));
            proptest::prop_assert_eq!(back.message.opcode(), env.message.opcode());
            proptest::prop_assert_eq!(back.message.payload(), env.message.payload());
        }
    }

    #[test]
    fn dedup_accepts_each_sequence_once_and_is_bounded() {
        let mut d = Dedup::new(2);
        assert!(d.accept(NodeId(1), 1));
        assert!(d.accept(NodeId(1), 2));
        assert!(!d.accept(NodeId(1), 2));
        assert!(!d.accept(NodeId(1), 1));
        assert!(d.accept(NodeId(2), 1));
        assert!(d.accept(NodeId(3), 1));
        assert!(d.last.len() <= 2);
    }
}
