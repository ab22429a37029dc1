//! Frame headers: opcodes, flags, lengths and masking keys (RFC 6455 §5.2).

use crate::error::ProtocolError;
use crate::mask::MaskingKey;
use bytes::{BufMut, Bytes};

/// A frame opcode (RFC 6455 §5.2, §11.8). Reserved opcodes are not representable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: a text frame (UTF-8).
    Text,
    /// 0x2: a binary frame.
    Binary,
    /// 0x8: a close frame.
    Close,
    /// 0x9: a ping.
    Ping,
    /// 0xA: a pong.
    Pong,
}

impl OpCode {
    /// Decodes the 4-bit opcode, or `None` for a reserved one (0x3-0x7, 0xB-0xF).
    pub fn from_u8(v: u8) -> Option<OpCode> {
        Some(match v {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, ping and pong are control frames (RFC 6455 §5.5).
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// The largest frame header: 2 bytes, an 8-byte length and a 4-byte masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// A decoded frame header (RFC 6455 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the last frame of its message.
    pub fin: bool,
    /// RSV1, granted to an extension such as permessage-deflate.
    pub rsv1: bool,
    /// RSV2.
    pub rsv2: bool,
    /// RSV3.
    pub rsv3: bool,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present exactly when the MASK bit is set.
    pub mask: Option<MaskingKey>,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// A header with FIN set, no RSV bits and no mask.
    pub fn new(opcode: OpCode, payload_len: u64) -> Self {
        FrameHeader {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// Decodes a header from the start of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` does not yet hold the whole header, so callers may feed any
    /// split of the input; `Ok(Some((header, header_len)))` otherwise. Fails on a reserved opcode
    /// and on a 64-bit length with its most significant bit set (RFC 6455 §5.2).
    pub fn decode(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let [b0, b1, ..] = *buf else {
            return Ok(None);
        };
        let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(ProtocolError::ReservedOpCode(b0 & 0x0F))?;
        let masked = b1 & 0x80 != 0;
        let (len_bytes, short) = match b1 & 0x7F {
            126 => (2, 0),
            127 => (8, 0),
            n => (0, n as u64),
        };
        let header_len = 2 + len_bytes + if masked { 4 } else { 0 };
        if buf.len() < header_len {
            return Ok(None);
        }
        let payload_len = match len_bytes {
            2 => u16::from_be_bytes([buf[2], buf[3]]) as u64,
            8 => {
                let mut be = [0u8; 8];
                be.copy_from_slice(&buf[2..10]);
                let n = u64::from_be_bytes(be);
                if n >> 63 != 0 {
                    return Err(ProtocolError::InvalidPayloadLength);
                }
                n
            }
            _ => short,
        };
        let mask = masked.then(|| {
            let k = 2 + len_bytes;
            MaskingKey([buf[k], buf[k + 1], buf[k + 2], buf[k + 3]])
        });
        Ok(Some((
            FrameHeader {
                fin: b0 & 0x80 != 0,
                rsv1: b0 & 0x40 != 0,
                rsv2: b0 & 0x20 != 0,
                rsv3: b0 & 0x10 != 0,
                opcode,
                mask,
                payload_len,
            },
            header_len,
        )))
    }

    /// The encoded length of this header.
    pub fn encoded_len(&self) -> usize {
        let len = match self.payload_len {
            0..=125 => 2,
            126..=0xFFFF => 4,
            _ => 10,
        };
        len + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Encodes this header with the minimal length encoding RFC 6455 §5.2 requires.
    pub fn encode(&self, dst: &mut impl BufMut) {
        let b0 = (self.fin as u8) << 7
            | (self.rsv1 as u8) << 6
            | (self.rsv2 as u8) << 5
            | (self.rsv3 as u8) << 4
            | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        dst.put_u8(b0);
        match self.payload_len {
            n @ 0..=125 => dst.put_u8(mask_bit | n as u8),
            n @ 126..=0xFFFF => {
                dst.put_u8(mask_bit | 126);
                dst.put_u16(n as u16);
            }
            n => {
                dst.put_u8(mask_bit | 127);
                dst.put_u64(n);
            }
        }
        if let Some(key) = self.mask {
            dst.put_slice(&key.0);
        }
    }
}

/// One data frame of a message, for applications that stream messages fragment by fragment.
///
/// Received frames are surfaced this way when [`Config::reassemble`](crate::Config) is off; any
/// frame can be sent with [`Connection::send_frame`](crate::Connection::send_frame).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// `Text` or `Binary` for the first frame of a message, `Continuation` for the others.
    pub opcode: OpCode,
    /// Whether this frame ends its message.
    pub fin: bool,
    /// The (unmasked) payload. A text message's fragments may split a UTF-8 sequence; the
    /// message as a whole is validated.
    pub payload: Bytes,
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use proptest::prelude::*;

    fn encode(h: &FrameHeader) -> Vec<u8> {
        let mut b = BytesMut::new();
        h.encode(&mut b);
        assert_eq!(b.len(), h.encoded_len());
        b.to_vec()
    }

    #[test]
    fn rfc_examples_headers() {
        // RFC 6455 §5.7.
        let h = FrameHeader::decode(&[0x81, 0x05]).unwrap().unwrap();
        assert_eq!(
            (h.0.opcode, h.0.fin, h.0.payload_len, h.1),
            (OpCode::Text, true, 5, 2)
        );
        let (h, n) = FrameHeader::decode(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d])
            .unwrap()
            .unwrap();
        assert_eq!(h.mask, Some(MaskingKey([0x37, 0xfa, 0x21, 0x3d])));
        assert_eq!(n, 6);
        let (h, _) = FrameHeader::decode(&[0x01, 0x03]).unwrap().unwrap();
        assert!(!h.fin);
        let (h, _) = FrameHeader::decode(&[0x80, 0x02]).unwrap().unwrap();
        assert_eq!(h.opcode, OpCode::Continuation);
        let (h, n) = FrameHeader::decode(&[0x82, 0x7E, 0x01, 0x00])
            .unwrap()
            .unwrap();
        assert_eq!((h.opcode, h.payload_len, n), (OpCode::Binary, 256, 4));
        let (h, n) = FrameHeader::decode(&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
            .unwrap()
            .unwrap();
        assert_eq!((h.payload_len, n), (65536, 10));
        assert_eq!(
            encode(&FrameHeader::new(OpCode::Binary, 256)),
            [0x82, 0x7E, 0x01, 0x00]
        );
        assert_eq!(
            encode(&FrameHeader::new(OpCode::Binary, 65536)),
            [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]
        );
    }

    #[test]
    fn partial_headers_need_more() {
        let full = [0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
        for n in 0..full.len() {
            assert_eq!(FrameHeader::decode(&full[..n]), Ok(None), "{n} bytes");
        }
        assert!(FrameHeader::decode(&full).unwrap().is_some());
    }

    #[test]
    fn rejects_reserved_opcodes_and_huge_lengths() {
        for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(
                FrameHeader::decode(&[0x80 | op, 0]),
                Err(ProtocolError::ReservedOpCode(op))
            );
        }
        assert_eq!(
            FrameHeader::decode(&[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtocolError::InvalidPayloadLength)
        );
    }

    fn opcode() -> impl Strategy<Value = OpCode> {
        prop_oneof![
            Just(OpCode::Continuation),
            Just(OpCode::Text),
            Just(OpCode::Binary),
            Just(OpCode::Close),
            Just(OpCode::Ping),
            Just(OpCode::Pong)
        ]
    }

    proptest! {
        #[test]
        fn header_round_trip(fin: bool, rsv1: bool, rsv2: bool, rsv3: bool, op in opcode(),
                             mask: Option<[u8; 4]>, len in prop_oneof![0u64..300, 65000u64..70000, 0u64..(1 << 63)]) {
            let h = FrameHeader { fin, rsv1, rsv2, rsv3, opcode: op, mask: mask.map(MaskingKey), payload_len: len };
            let bytes = encode(&h);
            prop_assert_eq!(FrameHeader::decode(&bytes), Ok(Some((h, bytes.len()))));
        }
    }
}
