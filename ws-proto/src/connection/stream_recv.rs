//! Streamed reception: a data message delivered as it arrives, in chunks, instead of
//! reassembled (RFC 6455 §5.4 allows either; the application chooses per message).
//!
//! A chunk is an [`Event::Frame`]: the first carries the message's opcode (`Text` or
//! `Binary`, so its kind is known at once), the rest `Continuation`, and the last has `fin`
//! set. Chunks are the payload bytes of frames as they are read, without waiting for a frame's
//! end; under permessage-deflate they are inflated [`STREAM_CHUNK`] bytes at a time. Text is
//! still checked as UTF-8 as it arrives (1007 at the first bad byte), and the message's size
//! limit (chosen by the application for this message) is enforced on the decoded bytes
//! (1009).

use super::Connection;
use crate::error::ProtocolError;
use crate::frame::{Frame, OpCode};
use crate::message::Event;
use bytes::{Buf, Bytes, BytesMut};

/// Most decoded bytes in one chunk of a streamed, compressed message.
pub(crate) const STREAM_CHUNK: usize = 128 << 10;

/// Where streamed reception stands.
#[derive(Debug, Default)]
pub(super) struct StreamRecv {
    /// Asked for the next data message: stream it, with this size limit.
    next: Option<u64>,
    /// The message in progress is streamed, with this size limit.
    active: Option<u64>,
    /// Its first chunk (with the message's opcode) was delivered.
    announced: bool,
    /// Decoded bytes of a compressed message so far.
    decoded: u64,
    /// Bytes of the message already reassembled when it was switched to streaming.
    buffered: Option<Bytes>,
    /// Compressed input not yet inflated, and whether it ends the message.
    pending: Option<(Bytes, bool)>,
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl Connection {
    /// Delivers the next data message as a stream of chunks ([`Event::Frame`]s: the first with
    /// opcode `Text` or `Binary`, the rest `Continuation`, `fin` on the last) instead of
    /// reassembling it, with `max_message_size` bytes at most (after decompression), in place
    /// of [`Config::max_message_size`](crate::Config::max_message_size) for that message only.
    ///
    /// It applies to the message whose first frame is decoded next; if one is being
    /// reassembled already, to that one (what was reassembled is its first chunk). Whole
    /// messages resume after it. A streamed message in progress keeps streaming: the call then
    /// applies to the one after it.
    pub fn stream_next_message(&mut self, max_message_size: u64) {
        if self.msg.is_some() && self.stream.active.is_none() {
            self.stream.active = Some(max_message_size);
            self.stream.announced = false;
            self.stream.decoded = self.msg_buf.len() as u64;
            self.stream.buffered = Some(self.msg_buf.split().freeze());
        } else {
            self.stream.next = Some(max_message_size);
        }
    }

    /// Withdraws a [`stream_next_message`](Self::stream_next_message) request: the next
    /// message is reassembled, and so is a streamed one in progress that nothing was delivered
    /// of yet (its first frame's header arrived, no chunk yet), if its frames so far are within
    /// the usual limits. (A driver calls this when the call that asked for a stream was
    /// cancelled, so the message is not lost to a later whole-message receive.)
    pub fn reassemble_next_message(&mut self) {
        self.stream.next = None;
        let undelivered =
            self.stream.active.is_some() && !self.stream.announced && self.stream.pending.is_none();
        let frame_fits = self.frame.as_ref().is_none_or(|f| {
            f.header.opcode.is_control() || f.header.payload_len <= self.config.frame_limit() as u64
        });
        if undelivered && frame_fits && self.msg_size <= self.config.max_message_size as u64 {
            self.stream.active = None;
            if let Some(buffered) = self.stream.buffered.take() {
                self.msg_buf.extend_from_slice(&buffered);
            }
        }
    }

    /// Whether a streamed message is in progress (its last chunk is still to come).
    pub fn is_streaming_message(&self) -> bool {
        self.stream.active.is_some()
    }

    /// At a data message's first frame: whether to stream it.
    pub(super) fn stream_message_started(&mut self) {
        self.stream.active = self.stream.next.take();
        self.stream.announced = false;
        self.stream.decoded = 0;
    }

    /// The frame and message limits for a data frame with `opcode`.
    pub(super) fn data_limits(&self, opcode: OpCode) -> (usize, u64) {
        let streamed = match opcode {
            OpCode::Continuation => self.stream.active,
            _ => self.stream.next,
        };
        match streamed {
            Some(limit) => (self.config.max_frame_size.min(to_usize(limit)), limit),
            None => (
                self.config.frame_limit(),
                self.config.max_message_size as u64,
            ),
        }
    }

    /// A chunk left over from an earlier call: bytes reassembled before the switch to
    /// streaming, or compressed input not yet inflated.
    pub(super) fn stream_pending(&mut self) -> Result<Option<Event>, ProtocolError> {
        if let Some(buffered) = self.stream.buffered.take() {
            if let Some(event) = self.deliver_chunk(buffered, false)? {
                return Ok(Some(event));
            }
        }
        self.inflate_pending()
    }

    /// Hands out what arrived of the data frame in progress (unmasked and, for text,
    /// validated): as a chunk, or as compressed input to inflate.
    pub(super) fn take_streamed_part(&mut self) -> Result<Option<Event>, ProtocolError> {
        let Some(frame) = self.frame.as_mut() else {
            return Ok(None);
        };
        let complete = frame.processed == frame.len;
        if frame.processed == 0 && !complete {
            return Ok(None);
        }
        let part = self.read.split_to(frame.processed).freeze();
        frame.taken += frame.processed;
        frame.len -= frame.processed;
        frame.processed = 0;
        let fin = complete && frame.header.fin;
        if complete {
            self.frame = None;
        }
        if self.msg_transformed {
            self.stream.pending = Some((part, fin));
            return self.inflate_pending();
        }
        self.deliver_chunk(part, fin)
    }

    /// Inflates pending compressed input, at most [`STREAM_CHUNK`] bytes of output a call.
    fn inflate_pending(&mut self) -> Result<Option<Event>, ProtocolError> {
        while let Some((mut input, fin)) = self.stream.pending.take() {
            let Some(extension) = self.extension.as_mut() else {
                return Err(ProtocolError::ReservedBits);
            };
            let mut out = BytesMut::new();
            let done = extension.decode_bounded(&input, fin, &mut out, STREAM_CHUNK)?;
            input.advance(done.consumed.min(input.len()));
            if !done.finished {
                self.stream.pending = Some((input, fin));
            }
            self.stream.decoded += out.len() as u64;
            let limit = self.stream.active.unwrap_or(0);
            if self.stream.decoded > limit {
                return Err(ProtocolError::MessageTooLarge {
                    size: self.stream.decoded,
                    max: to_usize(limit),
                });
            }
            if self.msg == Some(OpCode::Text) {
                self.utf8
                    .feed(&out)
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            let last = fin && done.finished;
            if let Some(event) = self.deliver_chunk(out.freeze(), last)? {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    /// A chunk event for `data` (already validated), ending the message with `fin`; none for
    /// an empty chunk in the middle of the message.
    fn deliver_chunk(&mut self, data: Bytes, fin: bool) -> Result<Option<Event>, ProtocolError> {
        let Some(opcode) = self.msg else {
            return Ok(None);
        };
        if fin {
            if opcode == OpCode::Text {
                self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            self.msg = None;
            self.msg_transformed = false;
            self.stream.active = None;
        } else if data.is_empty() {
            return Ok(None);
        }
        let opcode = if self.stream.announced {
            OpCode::Continuation
        } else {
            opcode
        };
        self.stream.announced = true;
        Ok(Some(Event::Frame(Frame {
            opcode,
            fin,
            payload: data,
        })))
    }
}
