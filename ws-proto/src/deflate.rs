//! permessage-deflate (RFC 7692) as an [`Extension`].

use crate::close::CloseCode;
use crate::connection::Role;
use crate::error::ProtocolError;
use crate::extension::{Decoded, EncodingKey, Extension, Rsv};
use bytes::{Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

mod stream;

/// The tail a sync flush ends with, removed by the sender and restored by the receiver
/// (RFC 7692 §7.2.1, §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The parameters both ends agreed on in the handshake (RFC 7692 §7.1), plus local choices.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// The server resets its compression context after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compression context after each message.
    pub client_no_context_takeover: bool,
    /// The server's LZ77 window, 9 to 15 bits (an agreed 8 is run as 9, see below).
    pub server_max_window_bits: u8,
    /// The client's LZ77 window, 9 to 15 bits.
    pub client_max_window_bits: u8,
    /// Local: compression level, 0 (none) to 9 (best). Default 1: most of the gain at a
    /// fraction of the CPU.
    pub level: u32,
    /// Local: data messages shorter than this are sent uncompressed. Default 64 bytes.
    pub threshold: usize,
}

impl DeflateConfig {
    /// Whether messages sent by `role` can be compressed once and the bytes shared by every
    /// connection with the same parameters: true without context takeover on that side. RFC
    /// 7692 §7.1.1: the sender then compresses each message from an empty LZ77 window, so the
    /// output depends only on the message, the window size, the level and the threshold. With
    /// context takeover each message refers back to the connection's own history.
    pub fn shares_encoding(&self, role: Role) -> bool {
        match role {
            Role::Server => self.server_no_context_takeover,
            Role::Client => self.client_no_context_takeover,
        }
    }

    /// The key under which `role`'s encodings are shared, when they can be.
    fn encoding_key(&self, role: Role) -> Option<EncodingKey> {
        if !self.shares_encoding(role) {
            return None;
        }
        let bits = match role {
            Role::Server => self.server_max_window_bits,
            Role::Client => self.client_max_window_bits,
        };
        // Window as run (see `window`), level as clamped in `new`, then the threshold.
        let params = u64::from(window(bits))
            | (u64::from(self.level.min(9)) << 8)
            | ((self.threshold.min(u32::MAX as usize) as u64) << 16);
        Some(EncodingKey {
            extension: "permessage-deflate",
            params,
        })
    }
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            level: 1,
            threshold: 64,
        }
    }
}

/// Compresses outgoing data messages and inflates incoming ones, per RFC 7692.
pub struct PerMessageDeflate {
    compress: Compress,
    decompress: Decompress,
    /// Reset our compressor after each message (our side's no_context_takeover).
    reset_compress: bool,
    /// Reset our decompressor after each message (the peer's no_context_takeover).
    reset_decompress: bool,
    /// The message being inflated ended its DEFLATE stream with a BFINAL block (RFC 7692
    /// §7.2.3.5): the rest of its payload is ignored and the next message starts a new stream.
    stream_ended: bool,
    /// Bytes of [`TAIL`] inflated so far at the end of a streamed message (see `stream.rs`).
    tail_fed: usize,
    threshold: usize,
    /// Set when our encodings can be shared (see [`DeflateConfig::shares_encoding`]).
    shared_key: Option<EncodingKey>,
}

impl std::fmt::Debug for PerMessageDeflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerMessageDeflate")
            .field("reset_compress", &self.reset_compress)
            .field("reset_decompress", &self.reset_decompress)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

/// zlib cannot produce raw deflate with an 8-bit window; a 9-bit window is what zlib itself
/// uses when asked for 8, and inflating with a larger window than the peer's is always safe.
fn window(bits: u8) -> u8 {
    bits.clamp(9, 15)
}

impl PerMessageDeflate {
    /// The extension for `role` with the negotiated `config`.
    pub fn new(role: Role, config: &DeflateConfig) -> Self {
        let (own_bits, own_reset, peer_reset) = match role {
            Role::Server => (
                config.server_max_window_bits,
                config.server_no_context_takeover,
                config.client_no_context_takeover,
            ),
            Role::Client => (
                config.client_max_window_bits,
                config.client_no_context_takeover,
                config.server_no_context_takeover,
            ),
        };
        PerMessageDeflate {
            compress: Compress::new_with_window_bits(
                Compression::new(config.level.min(9)),
                false,
                window(own_bits),
            ),
            // The peer's window is at most 15 bits; inflating with 15 accepts every smaller one.
            decompress: Decompress::new_with_window_bits(false, 15),
            reset_compress: own_reset,
            reset_decompress: peer_reset,
            stream_ended: false,
            tail_fed: 0,
            threshold: config.threshold,
            shared_key: config.encoding_key(role),
        }
    }

    fn inflate(
        &mut self,
        mut input: &[u8],
        out: &mut BytesMut,
        max_len: usize,
    ) -> Result<(), ProtocolError> {
        if self.stream_ended {
            return Ok(());
        }
        loop {
            let start = out.len();
            // Grow in bounded steps so a small input cannot make us allocate past the limit.
            let room = (input.len() * 4).clamp(4096, 256 * 1024);
            let room = room.min(max_len.saturating_sub(start) + 1);
            out.resize(start + room, 0);
            let (in0, out0) = (self.decompress.total_in(), self.decompress.total_out());
            let status =
                self.decompress
                    .decompress(input, &mut out[start..], FlushDecompress::Sync);
            let consumed = (self.decompress.total_in() - in0) as usize;
            let produced = (self.decompress.total_out() - out0) as usize;
            out.truncate(start + produced);
            let status = status.map_err(|e| ProtocolError::Extension {
                code: CloseCode::INVALID_PAYLOAD,
                reason: format!("invalid compressed data: {e}"),
            })?;
            input = &input[consumed..];
            if out.len() > max_len {
                return Err(ProtocolError::MessageTooLarge {
                    size: out.len() as u64,
                    max: max_len,
                });
            }
            if status == Status::StreamEnd {
                self.stream_ended = true;
                return Ok(());
            }
            let out_full = produced == room;
            if (input.is_empty() && !out_full) || (consumed == 0 && produced == 0) {
                return Ok(());
            }
        }
    }
}

impl Extension for PerMessageDeflate {
    fn rsv(&self) -> Rsv {
        Rsv::RSV1
    }

    fn decode(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max_len: usize,
    ) -> Result<(), ProtocolError> {
        self.inflate(payload, out, max_len)?;
        if fin {
            self.inflate(&TAIL, out, max_len)?;
            if self.reset_decompress || self.stream_ended {
                self.decompress.reset(false);
                self.stream_ended = false;
            }
        }
        Ok(())
    }

    fn encode(&mut self, payload: &[u8]) -> Option<(Rsv, Bytes)> {
        if payload.len() < self.threshold {
            return None;
        }
        let mut out: Vec<u8> = Vec::with_capacity(payload.len() / 2 + 64);
        let mut input = payload;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(4096));
            }
            let in0 = self.compress.total_in();
            let result = self
                .compress
                .compress_vec(input, &mut out, FlushCompress::Sync);
            input = &input[(self.compress.total_in() - in0) as usize..];
            if result.is_err() {
                // Cannot happen with valid parameters; sending uncompressed is always allowed,
                // but the context would be out of step with the peer, so start afresh.
                self.compress.reset();
                return None;
            }
            // A sync flush is complete once all input is taken and spare room is left over.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        } else if out.is_empty() {
            // Nothing was pending since the last sync flush (an empty message with context
            // takeover), so zlib wrote no new empty stored block. RFC 7692 §7.2.1 step 2 asks for
            // one; less its tail it is the single byte 0x00 (§7.2.3.6).
            out.push(0x00);
        }
        if self.reset_compress {
            self.compress.reset();
        }
        Some((Rsv::RSV1, Bytes::from(out)))
    }

    fn shared_encoding(&self) -> Option<EncodingKey> {
        self.shared_key
    }

    fn decode_bounded(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut BytesMut,
        room: usize,
    ) -> Result<Decoded, ProtocolError> {
        self.inflate_bounded(payload, fin, out, room)
    }

    fn encode_start(&mut self) -> Option<Rsv> {
        Some(Rsv::RSV1)
    }

    fn encode_chunk(&mut self, data: &[u8], flush: bool, fin: bool, out: &mut BytesMut) {
        self.deflate_chunk(data, flush, fin, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(config: &DeflateConfig) -> (PerMessageDeflate, PerMessageDeflate) {
        (
            PerMessageDeflate::new(Role::Client, config),
            PerMessageDeflate::new(Role::Server, config),
        )
    }

    #[test]
    fn rfc_7692_example_hello() {
        // RFC 7692 §7.2.3.1: "Hello" compressed is c2 ad 49 ... without the tail.
        let mut d = PerMessageDeflate::new(Role::Client, &DeflateConfig::default());
        let mut out = BytesMut::new();
        d.decode(
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            true,
            &mut out,
            100,
        )
        .unwrap();
        assert_eq!(&out[..], b"Hello");
        // §7.2.3.2: the same message again with context takeover uses a back-reference.
        let mut out = BytesMut::new();
        d.decode(&[0xf2, 0x00, 0x11, 0x00, 0x00], true, &mut out, 100)
            .unwrap();
        assert_eq!(&out[..], b"Hello");
    }

    #[test]
    fn round_trip_with_and_without_context_takeover() {
        for no_takeover in [false, true] {
            let config = DeflateConfig {
                client_no_context_takeover: no_takeover,
                server_no_context_takeover: no_takeover,
                threshold: 0,
                ..DeflateConfig::default()
            };
            let (mut client, mut server) = pair(&config);
            for i in 0..5 {
                let msg = format!("{{\"seq\":{i},\"payload\":\"{}\"}}", "abc".repeat(100));
                let (rsv, wire) = client.encode(msg.as_bytes()).unwrap();
                assert_eq!(rsv, Rsv::RSV1);
                assert!(wire.len() < msg.len() / 4, "compresses");
                let mut out = BytesMut::new();
                server.decode(&wire, true, &mut out, 1 << 20).unwrap();
                assert_eq!(&out[..], msg.as_bytes());
            }
        }
    }

    #[test]
    fn empty_messages_round_trip_with_context_takeover() {
        // Found by the `deflate` fuzz target: the second empty message in a row encoded to no
        // bytes at all, which the receiver inflates with the restored tail as a corrupt block.
        for no_takeover in [false, true] {
            let config = DeflateConfig {
                client_no_context_takeover: no_takeover,
                threshold: 0,
                ..DeflateConfig::default()
            };
            let (mut client, mut server) = pair(&config);
            for msg in [&b""[..], b"", b"x", b"", b""] {
                let (_, wire) = client.encode(msg).unwrap();
                assert!(!wire.is_empty());
                let mut out = BytesMut::new();
                server.decode(&wire, true, &mut out, msg.len()).unwrap();
                assert_eq!(&out[..], msg);
            }
        }
    }

    #[test]
    fn a_final_block_ends_the_message_and_the_next_starts_afresh() {
        // RFC 7692 §7.2.3.5: "Hello" in a block with BFINAL set, then the same again. Before
        // the fix the decompressor stayed at the end of its stream, and with context takeover
        // every later message inflated to nothing.
        let mut d = PerMessageDeflate::new(Role::Client, &DeflateConfig::default());
        for wire in [
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00][..],
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            &[0xf2, 0x00, 0x11, 0x00, 0x00],
        ] {
            let mut out = BytesMut::new();
            d.decode(wire, true, &mut out, 100).unwrap();
            assert_eq!(&out[..], b"Hello");
        }
        // Bytes after the final block, in later frames of the message too, are not inflated.
        let mut out = BytesMut::new();
        d.decode(
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            false,
            &mut out,
            100,
        )
        .unwrap();
        d.decode(&[0xff, 0xff], true, &mut out, 100).unwrap();
        assert_eq!(&out[..], b"Hello");
    }

    #[test]
    fn only_no_context_takeover_shares_encodings_and_equal_parameters_give_equal_bytes() {
        let shared = DeflateConfig {
            server_no_context_takeover: true,
            ..DeflateConfig::default()
        };
        assert!(shared.shares_encoding(Role::Server));
        assert!(!shared.shares_encoding(Role::Client));
        let mut a = PerMessageDeflate::new(Role::Server, &shared);
        let mut b = PerMessageDeflate::new(Role::Server, &shared);
        assert!(a.shared_encoding().is_some());
        assert_eq!(a.shared_encoding(), b.shared_encoding());
        let msg = "the same message, the same bytes ".repeat(20);
        // `a` has sent other messages before: without context takeover it does not matter.
        a.encode("something else entirely ".repeat(10).as_bytes());
        assert_eq!(a.encode(msg.as_bytes()), b.encode(msg.as_bytes()));
        let other_level = PerMessageDeflate::new(
            Role::Server,
            &DeflateConfig {
                level: 6,
                ..shared.clone()
            },
        );
        assert_ne!(other_level.shared_encoding(), a.shared_encoding());
        let takeover = PerMessageDeflate::new(Role::Server, &DeflateConfig::default());
        assert_eq!(takeover.shared_encoding(), None);
    }

    #[test]
    fn small_messages_stay_uncompressed() {
        let (mut client, _) = pair(&DeflateConfig::default());
        assert!(client.encode(b"tiny").is_none());
    }

    #[test]
    fn bomb_is_stopped_at_the_limit() {
        let (mut client, mut server) = pair(&DeflateConfig {
            threshold: 0,
            level: 9,
            ..DeflateConfig::default()
        });
        let zeros = vec![0u8; 10 << 20];
        let (_, wire) = client.encode(&zeros).unwrap();
        assert!(wire.len() < 20 * 1024, "{} bytes", wire.len());
        let mut out = BytesMut::new();
        let err = server.decode(&wire, true, &mut out, 1 << 20).unwrap_err();
        assert!(
            matches!(err, ProtocolError::MessageTooLarge { .. }),
            "{err:?}"
        );
        assert!(
            out.len() <= (1 << 20) + 1,
            "stopped near the limit: {}",
            out.len()
        );
    }

    #[test]
    fn corrupt_data_is_1007() {
        let (_, mut server) = pair(&DeflateConfig::default());
        let mut out = BytesMut::new();
        let err = server
            .decode(&[0xff, 0xff, 0xff], true, &mut out, 1000)
            .unwrap_err();
        assert_eq!(err.close_code(), CloseCode::INVALID_PAYLOAD);
    }
}
