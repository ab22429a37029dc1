//! Messages and events.

use crate::close::CloseFrame;
use crate::frame::Frame;
use crate::utf8::Utf8Bytes;
use bytes::Bytes;

/// A WebSocket message (RFC 6455 §5.6), or a control frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message: validated UTF-8.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping with its application data (at most 125 bytes).
    Ping(Bytes),
    /// A pong with its application data (at most 125 bytes).
    Pong(Bytes),
    /// A close frame; `None` when it carried no status code.
    Close(Option<CloseFrame>),
}

impl Message {
    /// A text message.
    pub fn text(s: impl Into<Utf8Bytes>) -> Self {
        Message::Text(s.into())
    }

    /// A binary message.
    pub fn binary(b: impl Into<Bytes>) -> Self {
        Message::Binary(b.into())
    }

    /// The payload bytes (for a close, the reason).
    pub fn as_payload(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::Close(Some(c)) => c.reason.as_bytes(),
            Message::Close(None) => &[],
        }
    }

    /// The payload length.
    pub fn len(&self) -> usize {
        self.as_payload().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is a text or binary message.
    pub fn is_data(&self) -> bool {
        matches!(self, Message::Text(_) | Message::Binary(_))
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s.into())
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.into())
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b.into())
    }
}

/// What the connection has received, surfaced by [`Connection::next_event`](crate::Connection::next_event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A complete message or a control frame. Pings have been answered already when
    /// [`Config::auto_pong`](crate::Config::auto_pong) is on; a close has been answered.
    Message(Message),
    /// One data frame, when [`Config::reassemble`](crate::Config::reassemble) is off; or one
    /// chunk of a streamed message (see
    /// [`Connection::stream_next_message`](crate::Connection::stream_next_message)): the first
    /// with opcode `Text` or `Binary`, the rest `Continuation`, `fin` on the last.
    Frame(Frame),
}
