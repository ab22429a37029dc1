//! permessage-deflate for streamed messages: inflating with bounded output, and compressing a
//! message piece by piece (RFC 7692 §7.2.1, §7.2.2).

use super::{PerMessageDeflate, TAIL};
use crate::close::CloseCode;
use crate::error::ProtocolError;
use crate::extension::Decoded;
use bytes::BytesMut;
use flate2::{FlushCompress, FlushDecompress, Status};

impl PerMessageDeflate {
    /// Inflates `input` into `out[start + *written..start + room]`, returning the bytes taken
    /// and whether everything given was inflated with output room to spare (so nothing is held
    /// back inside the decompressor).
    fn inflate_into(
        &mut self,
        mut input: &[u8],
        out: &mut BytesMut,
        start: usize,
        room: usize,
        written: &mut usize,
    ) -> Result<(usize, bool), ProtocolError> {
        let total = input.len();
        loop {
            if *written == room {
                return Ok((total - input.len(), false));
            }
            let (in0, out0) = (self.decompress.total_in(), self.decompress.total_out());
            let status = self.decompress.decompress(
                input,
                &mut out[start + *written..start + room],
                FlushDecompress::Sync,
            );
            let consumed = (self.decompress.total_in() - in0) as usize;
            let produced = (self.decompress.total_out() - out0) as usize;
            *written += produced;
            input = &input[consumed..];
            let status = status.map_err(|e| ProtocolError::Extension {
                code: CloseCode::INVALID_PAYLOAD,
                reason: format!("invalid compressed data: {e}"),
            })?;
            if status == Status::StreamEnd {
                // RFC 7692 §7.2.3.5: the rest of the message is ignored.
                self.stream_ended = true;
                return Ok((total, true));
            }
            if input.is_empty() && *written < room {
                return Ok((total, true));
            }
            if consumed == 0 && produced == 0 {
                // Room to spare and input left, yet no progress: never so for valid data.
                return Err(ProtocolError::Extension {
                    code: CloseCode::INVALID_PAYLOAD,
                    reason: "invalid compressed data: the decompressor made no progress".into(),
                });
            }
        }
    }

    /// [`Extension::decode_bounded`](crate::Extension::decode_bounded) for permessage-deflate.
    pub(super) fn inflate_bounded(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut BytesMut,
        room: usize,
    ) -> Result<Decoded, ProtocolError> {
        let room = room.max(1);
        let start = out.len();
        out.resize(start + room, 0);
        let mut written = 0;
        let result = self.inflate_parts(payload, fin, out, start, room, &mut written);
        out.truncate(start + written);
        let decoded = result?;
        if decoded.finished && fin {
            self.tail_fed = 0;
            if self.reset_decompress || self.stream_ended {
                self.decompress.reset(false);
                self.stream_ended = false;
            }
        }
        Ok(decoded)
    }

    fn inflate_parts(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut BytesMut,
        start: usize,
        room: usize,
        written: &mut usize,
    ) -> Result<Decoded, ProtocolError> {
        if self.stream_ended {
            return Ok(Decoded {
                consumed: payload.len(),
                finished: true,
            });
        }
        let (consumed, done) = self.inflate_into(payload, out, start, room, written)?;
        if !done || !fin || self.stream_ended {
            return Ok(Decoded {
                consumed,
                finished: done,
            });
        }
        // The message's end: the tail its sender removed (RFC 7692 §7.2.2).
        let fed = self.tail_fed;
        let (tail_taken, done) = self.inflate_into(&TAIL[fed..], out, start, room, written)?;
        self.tail_fed = (fed + tail_taken).min(TAIL.len());
        Ok(Decoded {
            consumed,
            finished: done,
        })
    }

    /// [`Extension::encode_chunk`](crate::Extension::encode_chunk) for permessage-deflate:
    /// compresses `data` into `out`; `flush` and `fin` end with a sync flush, and `fin` also
    /// removes its tail (or, when the flush added nothing, appends an empty stored block less
    /// its tail), RFC 7692 §7.2.1.
    pub(super) fn deflate_chunk(
        &mut self,
        data: &[u8],
        flush: bool,
        fin: bool,
        out: &mut BytesMut,
    ) {
        let mode = if flush || fin {
            FlushCompress::Sync
        } else {
            FlushCompress::None
        };
        let before = out.len();
        let mut input = data;
        loop {
            let start = out.len();
            // Room for all of it in one call, incompressible data included (DEFLATE's stored
            // blocks add a few bytes per 64 KiB).
            let room = (input.len() + input.len() / 64 + 64).clamp(4096, 1 << 20);
            out.resize(start + room, 0);
            let (in0, out0) = (self.compress.total_in(), self.compress.total_out());
            let result = self.compress.compress(input, &mut out[start..], mode);
            let consumed = (self.compress.total_in() - in0) as usize;
            let produced = (self.compress.total_out() - out0) as usize;
            out.truncate(start + produced);
            input = &input[consumed..];
            // Cannot fail with valid parameters (see `encode`); stop rather than spin.
            if result.is_err() || (input.is_empty() && produced < room) {
                break;
            }
        }
        if fin {
            if out.len() > before && out[before..].ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            } else if out.len() == before {
                out.extend_from_slice(&[0x00]);
            }
            if self.reset_compress {
                self.compress.reset();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Role;
    use crate::deflate::DeflateConfig;
    use crate::extension::Extension;

    fn config() -> DeflateConfig {
        DeflateConfig {
            threshold: 0,
            ..DeflateConfig::default()
        }
    }

    /// Inflates `wire` in pieces of `piece` bytes with `room` bytes of output per call.
    fn inflate_in_pieces(
        d: &mut PerMessageDeflate,
        wire: &[u8],
        piece: usize,
        room: usize,
    ) -> Vec<u8> {
        let mut all = Vec::new();
        let pieces: Vec<&[u8]> = wire.chunks(piece.max(1)).collect();
        let last = pieces.len().saturating_sub(1);
        for (i, mut part) in pieces.into_iter().enumerate() {
            loop {
                let mut out = BytesMut::new();
                let done = d.decode_bounded(part, i == last, &mut out, room).unwrap();
                assert!(out.len() <= room, "output bounded: {} > {room}", out.len());
                all.extend_from_slice(&out);
                part = &part[done.consumed..];
                if done.finished {
                    break;
                }
            }
        }
        all
    }

    #[test]
    fn bounded_inflate_gives_the_message_in_pieces_of_at_most_room() {
        for takeover in [false, true] {
            let config = DeflateConfig {
                client_no_context_takeover: takeover,
                ..config()
            };
            let mut client = PerMessageDeflate::new(Role::Client, &config);
            let mut server = PerMessageDeflate::new(Role::Server, &config);
            for round in 0..3u8 {
                let msg: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8 ^ round).collect();
                let (_, wire) = client.encode(&msg).unwrap();
                assert_eq!(inflate_in_pieces(&mut server, &wire, 777, 1000), msg);
            }
        }
    }

    #[test]
    fn a_message_compressed_piece_by_piece_inflates_whole() {
        let mut client = PerMessageDeflate::new(Role::Client, &config());
        let mut server = PerMessageDeflate::new(Role::Server, &config());
        for round in 0..3 {
            let msg = format!("{round} streamed text, compressed as it is written; ").repeat(5000);
            let mut wire = BytesMut::new();
            for (i, piece) in msg.as_bytes().chunks(10_000).enumerate() {
                client.deflate_chunk(piece, i == 3, false, &mut wire);
            }
            client.deflate_chunk(&[], false, true, &mut wire);
            let mut out = BytesMut::new();
            server.decode(&wire, true, &mut out, 1 << 24).unwrap();
            assert_eq!(&out[..], msg.as_bytes());
        }
        // An empty streamed message is one empty stored block less its tail.
        let mut wire = BytesMut::new();
        client.deflate_chunk(&[], false, true, &mut wire);
        let mut out = BytesMut::new();
        server.decode(&wire, true, &mut out, 10).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn a_bomb_streams_out_in_bounded_pieces() {
        let mut client = PerMessageDeflate::new(
            Role::Client,
            &DeflateConfig {
                level: 9,
                ..config()
            },
        );
        let mut server = PerMessageDeflate::new(Role::Server, &config());
        let (_, wire) = client.encode(&vec![0u8; 8 << 20]).unwrap();
        let mut out = BytesMut::new();
        let first = server.decode_bounded(&wire, true, &mut out, 4096).unwrap();
        assert_eq!(out.len(), 4096);
        assert!(!first.finished);
    }
}

#[cfg(test)]
mod speed {
    use super::*;
    use crate::connection::Role;
    use crate::deflate::DeflateConfig;
    use crate::extension::Extension;
    use std::time::Instant;

    #[test]
    #[ignore = "a measurement: cargo test --release -p ws-proto speed -- --ignored --nocapture"]
    fn streamed_deflate_speed() {
        let mut client = PerMessageDeflate::new(Role::Client, &DeflateConfig::default());
        let mut server = PerMessageDeflate::new(Role::Server, &DeflateConfig::default());
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let piece: Vec<u8> = (0..64 << 10)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let (mut wire, start) = (BytesMut::new(), Instant::now());
        let mut compressed = 0;
        for _ in 0..1024 {
            client.deflate_chunk(&piece, false, false, &mut wire);
            compressed += wire.len();
            wire.clear();
        }
        println!(
            "compress 64 MiB: {:?} ({compressed} bytes)",
            start.elapsed()
        );
        let whole: Vec<u8> = piece.iter().cycle().take(64 << 20).copied().collect();
        let start = Instant::now();
        let encoded =
            PerMessageDeflate::new(Role::Client, &DeflateConfig::default()).encode(&whole);
        println!(
            "encode 64 MiB whole: {:?} ({} bytes)",
            start.elapsed(),
            encoded.map_or(0, |e| e.1.len())
        );
        let mut client = PerMessageDeflate::new(Role::Client, &DeflateConfig::default());
        let mut all = BytesMut::new();
        for _ in 0..1024 {
            client.deflate_chunk(&piece, false, false, &mut all);
        }
        client.deflate_chunk(&[], false, true, &mut all);
        let start = Instant::now();
        let mut input = &all[..];
        let mut out_total = 0;
        loop {
            let mut out = BytesMut::new();
            let done = server
                .decode_bounded(input, true, &mut out, 128 << 10)
                .unwrap();
            out_total += out.len();
            input = &input[done.consumed..];
            if done.finished {
                break;
            }
        }
        println!("inflate 64 MiB: {:?} ({out_total} bytes)", start.elapsed());
    }
}
