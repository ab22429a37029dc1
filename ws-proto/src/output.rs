//! The queue of encoded bytes waiting to be written to the transport.

use crate::extension::Rsv;
use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::mask::{apply_mask, MaskKeys, MaskingKey};
use bytes::{Buf, Bytes, BytesMut};
use std::collections::VecDeque;
use std::io::IoSlice;

/// Payloads at least this large are queued by reference instead of being copied next to their
/// header (servers only: clients must mask, which needs a copy anyway).
const ZERO_COPY_MIN: usize = 4096;

/// Encoded frames in order: shared payload chunks, then the bytes being staged.
///
/// Automatic pongs go through [`push_pong`](Output::push_pong), which keeps the queue bounded
/// whatever the peer sends: see there.
#[derive(Debug, Default)]
pub(crate) struct Output {
    chunks: VecDeque<Bytes>,
    staging: BytesMut,
    len: usize,
    /// The reply to the most recent ping, held back while the queue is at its limit
    /// (RFC 6455 §5.5.3 lets us answer only the latest ping): its payload and masking key.
    pending_pong: Option<(Bytes, Option<MaskingKey>)>,
    /// The queue length at or above which a pong is held back rather than queued.
    pong_limit: usize,
    /// This connection's masking keys (clients only draw from it).
    keys: MaskKeys,
}

impl Output {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// A fresh masking key for the next frame of a client (RFC 6455 §5.3).
    pub(crate) fn masking_key(&mut self) -> MaskingKey {
        self.keys.next_key()
    }

    /// Queues the automatic reply to a ping, without letting the peer grow the queue: when it
    /// fits within `limit` (the write buffer limit), or the queue is empty, the pong is queued
    /// at once; otherwise it waits in a single slot where a later ping's pong replaces it
    /// (RFC 6455 §5.5.3). The slot is emptied into the queue, at a frame boundary, as soon as
    /// the pong fits again, and before any other frame is queued, so the pong never waits
    /// behind data queued after it (a close frame drops it: the connection is closing). Pings
    /// alone therefore never take the queue past `limit` (or one control frame, when `limit` is
    /// smaller).
    pub(crate) fn push_pong(&mut self, payload: Bytes, mask: Option<MaskingKey>, limit: usize) {
        self.pong_limit = limit;
        self.pending_pong = Some((payload, mask));
        self.release_pong();
    }

    /// Queues the held-back pong if there is room, or if another frame is about to be queued
    /// (`force`): a pong must not fall behind frames queued after it.
    fn release_pong_if(&mut self, force: bool) {
        if self.pending_pong.is_none() {
            return;
        }
        let frame_len = self.pending_pong.as_ref().map_or(0, |(payload, mask)| {
            // Control payloads are at most 125 bytes: a 2-byte header, plus a client's key.
            2 + payload.len() + if mask.is_some() { 4 } else { 0 }
        });
        if force || self.len == 0 || self.len + frame_len <= self.pong_limit {
            if let Some((payload, mask)) = self.pending_pong.take() {
                self.encode_frame(OpCode::Pong, true, Rsv::NONE, &payload, mask);
            }
        }
    }

    fn release_pong(&mut self) {
        self.release_pong_if(false);
    }

    /// Whether a pong is held back (see [`push_pong`](Output::push_pong)): the queue is full.
    pub(crate) fn has_pending_pong(&self) -> bool {
        self.pending_pong.is_some()
    }

    /// Encodes one frame (after a held-back pong, if any; a close frame drops it instead, so
    /// that closing adds one frame only). `mask` is set for clients.
    pub(crate) fn push_frame(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv: Rsv,
        payload: &Bytes,
        mask: Option<MaskingKey>,
    ) {
        if opcode == OpCode::Close {
            self.pending_pong = None;
        }
        self.release_pong_if(true);
        self.encode_frame(opcode, fin, rsv, payload, mask);
    }

    fn encode_frame(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv: Rsv,
        payload: &Bytes,
        mask: Option<MaskingKey>,
    ) {
        let mut header = FrameHeader::new(opcode, payload.len() as u64);
        header.fin = fin;
        header.rsv1 = rsv.rsv1;
        header.rsv2 = rsv.rsv2;
        header.rsv3 = rsv.rsv3;
        header.mask = mask;
        // The header goes in with one copy (not a bounds-checked put per field).
        let mut head = [0u8; MAX_HEADER_LEN];
        let mut rest = &mut head[..];
        header.encode(&mut rest);
        let head_len = MAX_HEADER_LEN - rest.len();
        self.len += head_len + payload.len();
        self.staging.extend_from_slice(&head[..head_len]);
        match mask {
            Some(key) => {
                let start = self.staging.len();
                self.staging.extend_from_slice(payload);
                apply_mask(&mut self.staging[start..], key, 0);
            }
            None if payload.len() >= ZERO_COPY_MIN => {
                self.chunks.push_back(self.staging.split().freeze());
                self.chunks.push_back(payload.clone());
            }
            None => self.staging.extend_from_slice(payload),
        }
    }

    /// Encodes a whole data message as frames of at most `fragment` payload bytes (one frame
    /// when it fits, RFC 6455 §5.4): the opcode and `rsv` on the first, `Continuation` and no
    /// RSV bits on the rest (RFC 7692 §6.1), each masked with a fresh key when `masked`.
    pub(crate) fn push_message(
        &mut self,
        opcode: OpCode,
        rsv: Rsv,
        payload: &Bytes,
        fragment: usize,
        masked: bool,
    ) {
        let fragment = fragment.max(1);
        if payload.len() <= fragment {
            // One frame, the common case: no slice of the payload (a reference count) to take.
            let mask = masked.then(|| self.keys.next_key());
            self.push_frame(opcode, true, rsv, payload, mask);
            return;
        }
        let mut start = 0usize;
        let (mut opcode, mut rsv) = (opcode, rsv);
        loop {
            let end = payload.len().min(start.saturating_add(fragment));
            let fin = end == payload.len();
            let mask = masked.then(|| self.keys.next_key());
            self.push_frame(opcode, fin, rsv, &payload.slice(start..end), mask);
            if fin {
                return;
            }
            (opcode, rsv, start) = (OpCode::Continuation, Rsv::NONE, end);
        }
    }

    /// Queues bytes already encoded (a prepared frame, the same for every connection): small
    /// ones are copied like any frame, larger ones queued by reference.
    pub(crate) fn push_encoded(&mut self, bytes: &Bytes) {
        if bytes.is_empty() {
            return;
        }
        self.release_pong_if(true);
        self.len += bytes.len();
        if bytes.len() < ZERO_COPY_MIN {
            self.staging.extend_from_slice(bytes);
        } else {
            if !self.staging.is_empty() {
                self.chunks.push_back(self.staging.split().freeze());
            }
            self.chunks.push_back(bytes.clone());
        }
    }

    /// The first contiguous run of queued bytes.
    pub(crate) fn first(&self) -> &[u8] {
        self.chunks
            .iter()
            .find(|c| !c.is_empty())
            .map(|c| &c[..])
            .unwrap_or(&self.staging[..])
    }

    /// Fills `dst` with the queued bytes in order; returns the number of slices used.
    pub(crate) fn io_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let parts = self
            .chunks
            .iter()
            .map(|c| &c[..])
            .chain(std::iter::once(&self.staging[..]))
            .filter(|c| !c.is_empty());
        let mut n = 0;
        for (slot, part) in dst.iter_mut().zip(parts) {
            *slot = IoSlice::new(part);
            n += 1;
        }
        n
    }

    /// Drops `n` bytes from the front, after the transport wrote them.
    pub(crate) fn advance(&mut self, mut n: usize) {
        assert!(n <= self.len, "advanced past the queued output");
        self.len -= n;
        while n > 0 {
            match self.chunks.front_mut() {
                Some(front) if front.len() <= n => {
                    n -= front.len();
                    self.chunks.pop_front();
                }
                Some(front) => {
                    front.advance(n);
                    break;
                }
                None => {
                    self.staging.advance(n);
                    break;
                }
            }
        }
        while self.chunks.front().is_some_and(|c| c.is_empty()) {
            self.chunks.pop_front();
        }
        self.release_pong();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(out: &mut Output, step: usize) -> Vec<u8> {
        let mut v = Vec::new();
        while out.len() > 0 {
            let first = out.first();
            let n = first.len().min(step);
            assert!(n > 0);
            v.extend_from_slice(&first[..n]);
            out.advance(n);
        }
        v
    }

    #[test]
    fn large_payloads_keep_order_with_small_ones() {
        let mut out = Output::default();
        let big = Bytes::from(vec![7u8; 5000]);
        out.push_frame(
            OpCode::Text,
            true,
            Rsv::NONE,
            &Bytes::from_static(b"hi"),
            None,
        );
        out.push_frame(OpCode::Binary, true, Rsv::NONE, &big, None);
        out.push_frame(
            OpCode::Ping,
            true,
            Rsv::NONE,
            &Bytes::from_static(b"p"),
            None,
        );
        let mut expected = vec![0x81, 2, b'h', b'i', 0x82, 126, 0x13, 0x88];
        expected.extend_from_slice(&big);
        expected.extend_from_slice(&[0x89, 1, b'p']);
        let mut slices = [IoSlice::new(&[]); 8];
        let n = out.io_slices(&mut slices);
        let joined: Vec<u8> = slices[..n].iter().flat_map(|s| s.iter().copied()).collect();
        assert_eq!(joined, expected);
        assert_eq!(drain(&mut out, 3), expected);
        assert_eq!(out.len(), 0);
    }
}
