//! A data message framed once and sent on many connections (broadcast, pub/sub fan-out).

use crate::extension::{EncodingKey, Rsv};
use crate::frame::{FrameHeader, OpCode};
use crate::message::Message;
use crate::utf8::Utf8Bytes;
use bytes::{Bytes, BytesMut};
use std::sync::{Arc, Mutex};

/// Payloads shorter than this are copied next to their header in one buffer; longer ones keep
/// the caller's buffer and a separate header, so preparing a large message copies nothing.
const JOIN_BELOW: usize = 4096;

/// Most extension encodings one message caches. Connections whose key is not cached once this
/// many are (unusual: one key per distinct set of deflate parameters) encode for themselves.
const MAX_ENCODINGS: usize = 4;

/// The wire bytes of one server frame: a header and the payload, or (for small frames) the
/// whole frame in `head` and an empty `body`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Encoded {
    pub(crate) head: Bytes,
    pub(crate) body: Bytes,
}

impl Encoded {
    fn new(opcode: OpCode, rsv: Rsv, payload: Bytes) -> Self {
        let mut header = FrameHeader::new(opcode, payload.len() as u64);
        header.rsv1 = rsv.rsv1;
        header.rsv2 = rsv.rsv2;
        header.rsv3 = rsv.rsv3;
        let mut head = BytesMut::with_capacity(header.encoded_len() + payload.len());
        header.encode(&mut head);
        if payload.len() < JOIN_BELOW {
            head.extend_from_slice(&payload);
            Encoded {
                head: head.freeze(),
                body: Bytes::new(),
            }
        } else {
            Encoded {
                head: head.freeze(),
                body: payload,
            }
        }
    }

    /// The frame's opcode, RSV bits and payload (shared, not copied), to send it as several
    /// frames instead.
    pub(crate) fn parts(&self) -> (OpCode, Rsv, Bytes) {
        let Ok(Some((header, header_len))) = FrameHeader::decode(&self.head) else {
            unreachable!("an encoded frame starts with a whole header");
        };
        let payload = if self.body.is_empty() {
            self.head.slice(header_len..)
        } else {
            self.body.clone()
        };
        let rsv = Rsv {
            rsv1: header.rsv1,
            rsv2: header.rsv2,
            rsv3: header.rsv3,
        };
        (header.opcode, rsv, payload)
    }

    /// Frame length on the wire.
    pub(crate) fn len(&self) -> usize {
        self.head.len() + self.body.len()
    }
}

#[derive(Debug)]
struct Inner {
    opcode: OpCode,
    payload: Bytes,
    plain: Encoded,
    /// Encodings by an extension whose output depends only on the message and its key (see
    /// [`Extension::shared_encoding`](crate::Extension::shared_encoding)), made by the first
    /// connection that needed each.
    encoded: Mutex<Vec<(EncodingKey, Encoded)>>,
}

/// A text or binary message encoded once as a server frame, to be sent on many connections
/// with [`Connection::send_prepared`](crate::Connection::send_prepared).
///
/// Server frames are not masked (RFC 6455 §5.1), so the frame bytes are the same for every
/// connection: each send queues a reference to them instead of encoding again. When a
/// connection negotiated an extension whose encoding carries no state between messages
/// (permessage-deflate without server context takeover, RFC 7692 §7.1.1.1), the encoded form is
/// made by the first such connection and shared by every other with the same parameters.
/// Cloning is a reference count increment.
#[derive(Clone, Debug)]
pub struct PreparedMessage {
    inner: Arc<Inner>,
}

/// Only text and binary messages can be prepared.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("only text and binary messages can be prepared")]
pub struct NotDataMessage;

impl PreparedMessage {
    fn new(opcode: OpCode, payload: Bytes) -> Self {
        let plain = Encoded::new(opcode, Rsv::NONE, payload.clone());
        PreparedMessage {
            inner: Arc::new(Inner {
                opcode,
                payload,
                plain,
                encoded: Mutex::new(Vec::new()),
            }),
        }
    }

    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Self::new(OpCode::Text, text.into().into_bytes())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self::new(OpCode::Binary, data.into())
    }

    /// `Text` or `Binary`.
    pub fn opcode(&self) -> OpCode {
        self.inner.opcode
    }

    /// The application data.
    pub fn payload(&self) -> &Bytes {
        &self.inner.payload
    }

    /// The message, as a [`Message`] (sharing the payload).
    pub fn to_message(&self) -> Message {
        match self.inner.opcode {
            // The payload came from a `Utf8Bytes` when the opcode is Text.
            OpCode::Text => match Utf8Bytes::try_shared(self.inner.payload.clone()) {
                Ok(text) => Message::Text(text),
                Err(_) => Message::Binary(self.inner.payload.clone()),
            },
            _ => Message::Binary(self.inner.payload.clone()),
        }
    }

    /// Length of the uncompressed server frame on the wire.
    pub fn frame_len(&self) -> usize {
        self.inner.plain.len()
    }

    /// How many extension encodings are cached (for tests and metrics: 1 after a broadcast to
    /// any number of connections with equal deflate parameters).
    pub fn cached_encodings(&self) -> usize {
        self.lock().len()
    }

    pub(crate) fn plain(&self) -> &Encoded {
        &self.inner.plain
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(EncodingKey, Encoded)>> {
        // The cache only ever gains complete entries: a panic elsewhere cannot corrupt it.
        self.inner
            .encoded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The frame as encoded by an extension with `key`, encoding it with `encode` if no
    /// connection did yet. `None` when the cache is full: the caller encodes for itself.
    pub(crate) fn encoded_for(
        &self,
        key: EncodingKey,
        encode: impl FnOnce(&[u8]) -> Option<(Rsv, Bytes)>,
    ) -> Option<Encoded> {
        let mut cache = self.lock();
        if let Some((_, encoded)) = cache.iter().find(|(k, _)| *k == key) {
            return Some(encoded.clone());
        }
        if cache.len() >= MAX_ENCODINGS {
            return None;
        }
        // Encoding under the lock makes later connections wait for the first instead of all
        // compressing the same bytes at once, which is the point.
        let encoded = match encode(&self.inner.payload) {
            Some((rsv, payload)) => Encoded::new(self.inner.opcode, rsv, payload),
            None => self.inner.plain.clone(),
        };
        cache.push((key, encoded.clone()));
        Some(encoded)
    }
}

impl TryFrom<Message> for PreparedMessage {
    type Error = NotDataMessage;

    fn try_from(message: Message) -> Result<Self, NotDataMessage> {
        match message {
            Message::Text(text) => Ok(Self::text(text)),
            Message::Binary(data) => Ok(Self::binary(data)),
            _ => Err(NotDataMessage),
        }
    }
}
