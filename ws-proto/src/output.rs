//! The queue of encoded bytes waiting to be written to the transport.

use crate::extension::Rsv;
use crate::frame::{FrameHeader, OpCode};
use crate::mask::{apply_mask, MaskingKey};
use bytes::{Buf, Bytes, BytesMut};
use std::collections::VecDeque;
use std::io::IoSlice;

/// Payloads at least this large are queued by reference instead of being copied next to their
/// header (servers only: clients must mask, which needs a copy anyway).
const ZERO_COPY_MIN: usize = 4096;

/// Encoded frames in order: shared payload chunks, then the bytes being staged.
#[derive(Debug, Default)]
pub(crate) struct Output {
    chunks: VecDeque<Bytes>,
    staging: BytesMut,
    len: usize,
}

impl Output {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Encodes one frame. `mask` is set for clients.
    pub(crate) fn push_frame(
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
        self.len += header.encoded_len() + payload.len();
        header.encode(&mut self.staging);
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

    /// Queues bytes already encoded (a prepared frame, the same for every connection): small
    /// ones are copied like any frame, larger ones queued by reference.
    pub(crate) fn push_encoded(&mut self, bytes: &Bytes) {
        if bytes.is_empty() {
            return;
        }
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
                    return;
                }
                None => {
                    self.staging.advance(n);
                    return;
                }
            }
        }
        while self.chunks.front().is_some_and(|c| c.is_empty()) {
            self.chunks.pop_front();
        }
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
