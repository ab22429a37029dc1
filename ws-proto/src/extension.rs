//! The interface through which a negotiated extension (RFC 6455 §9) transforms data messages.

use crate::error::ProtocolError;
use bytes::{Bytes, BytesMut};
use std::fmt;

/// The three RSV bits of a frame header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rsv {
    /// RSV1 (used by permessage-deflate, RFC 7692).
    pub rsv1: bool,
    /// RSV2.
    pub rsv2: bool,
    /// RSV3.
    pub rsv3: bool,
}

impl Rsv {
    /// No bit set.
    pub const NONE: Rsv = Rsv {
        rsv1: false,
        rsv2: false,
        rsv3: false,
    };
    /// Only RSV1 set.
    pub const RSV1: Rsv = Rsv {
        rsv1: true,
        rsv2: false,
        rsv3: false,
    };

    /// Whether any bit is set.
    pub fn any(self) -> bool {
        self.rsv1 || self.rsv2 || self.rsv3
    }

    /// Whether every bit set in `self` is also set in `granted`.
    pub fn within(self, granted: Rsv) -> bool {
        (!self.rsv1 || granted.rsv1) && (!self.rsv2 || granted.rsv2) && (!self.rsv3 || granted.rsv3)
    }
}

/// A per-message extension negotiated in the opening handshake, such as permessage-deflate.
///
/// The core knows an extension only through this interface: the RSV bits it owns (granted on the
/// first frame of a data message, a protocol error anywhere else, RFC 7692 §6), and how it turns
/// a received message's payload back into application data and application data into a payload
/// to send. The core still enforces `max_message_size` on what `decode` produces and validates
/// the UTF-8 of decoded text.
pub trait Extension: Send + fmt::Debug {
    /// The RSV bits this extension uses.
    fn rsv(&self) -> Rsv;

    /// Decodes one received frame's payload of a message whose first frame carried this
    /// extension's bits, appending the result to `out`. `fin` marks the message's last frame.
    /// Must fail with [`ProtocolError::MessageTooLarge`] rather than let `out` grow past
    /// `max_len`.
    fn decode(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max_len: usize,
    ) -> Result<(), ProtocolError>;

    /// Encodes a whole outgoing data message: the RSV bits to set on its first frame and the
    /// payload to send, or `None` to send it unchanged (for example below a size threshold).
    fn encode(&mut self, payload: &[u8]) -> Option<(Rsv, Bytes)>;

    /// Whether this extension's encoding of a message depends only on the message and on the
    /// returned key (no state carried from earlier messages): then every connection with an
    /// equal key encodes a message to the same bytes, and a
    /// [`PreparedMessage`](crate::PreparedMessage) encodes it once for all of them. `None`, the
    /// default, when the encoding depends on what was sent before.
    fn shared_encoding(&self) -> Option<EncodingKey> {
        None
    }

    /// Decodes part of a streamed message (see
    /// [`Connection::stream_next_message`](crate::Connection::stream_next_message)) with
    /// bounded output: appends at most `room` bytes to `out` and says how much of `payload` it
    /// took. `fin` marks the message's last bytes. Call again with the rest of `payload` (empty
    /// when all was taken) until [`Decoded::finished`].
    ///
    /// The default decodes everything at once (no bound on the output): extensions that can
    /// stop part-way (permessage-deflate does) override it.
    fn decode_bounded(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut BytesMut,
        room: usize,
    ) -> Result<Decoded, ProtocolError> {
        let _ = room;
        self.decode(payload, fin, out, usize::MAX)?;
        Ok(Decoded {
            consumed: payload.len(),
            finished: true,
        })
    }

    /// Starts encoding a message sent piece by piece
    /// ([`Connection::send_stream_begin`](crate::Connection::send_stream_begin)): the RSV bits
    /// for its first frame, or `None` (the default) to send it unchanged.
    fn encode_start(&mut self) -> Option<Rsv> {
        None
    }

    /// Encodes the next piece of a message started with [`encode_start`](Self::encode_start),
    /// appending what is ready to `out`: with `flush`, everything given so far is made
    /// decodable by the peer; with `fin`, the message ends.
    fn encode_chunk(&mut self, data: &[u8], flush: bool, fin: bool, out: &mut BytesMut) {
        let _ = (flush, fin);
        out.extend_from_slice(data);
    }
}

/// How far [`Extension::decode_bounded`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes of the payload taken.
    pub consumed: usize,
    /// All the payload was taken and nothing decoded is held back: with `fin`, the message is
    /// finished.
    pub finished: bool,
}

/// Names an extension's encoding: equal keys promise equal bytes for equal messages (see
/// [`Extension::shared_encoding`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EncodingKey {
    /// The extension (its token, such as `permessage-deflate`).
    pub extension: &'static str,
    /// Every local and negotiated parameter that changes the encoded bytes, packed.
    pub params: u64,
}
