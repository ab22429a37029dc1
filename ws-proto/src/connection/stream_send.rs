//! Streamed sending: a data message written piece by piece, sent as frames of
//! [`Config::fragment_size`](crate::Config::fragment_size) payload bytes (RFC 6455 §5.4), each
//! piece compressed as it comes under permessage-deflate (RFC 7692 §7.2.1, the sync flush's
//! tail removed once, at the message's end). Control frames may be sent between its frames.

use super::Connection;
use crate::close::{CloseCode, CloseFrame};
use crate::error::SendError;
use crate::extension::Rsv;
use crate::frame::OpCode;
use crate::utf8::Utf8Validator;
use bytes::BytesMut;

/// The message being streamed out.
#[derive(Debug)]
pub(super) struct StreamSend {
    /// The opcode of its next frame: `Text` or `Binary` until the first is queued.
    opcode: OpCode,
    /// RSV bits of its first frame (the extension's, when it encodes the message).
    rsv: Rsv,
    /// The extension encodes the message.
    encoded: bool,
    /// Payload not yet framed (encoded, when `encoded`): less than a fragment.
    buf: BytesMut,
    /// Text is checked as it is written, so a text message never carries invalid UTF-8.
    utf8: Option<Utf8Validator>,
}

impl Connection {
    /// Starts a data message sent piece by piece: `opcode` is `Text` or `Binary`. Write its
    /// bytes with [`send_stream_write`](Self::send_stream_write) and end it with
    /// [`send_stream_end`](Self::send_stream_end); control messages (ping, pong, close) may be
    /// sent meanwhile, whole data messages may not.
    pub fn send_stream_begin(&mut self, opcode: OpCode) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending_fragments || !matches!(opcode, OpCode::Text | OpCode::Binary) {
            return Err(SendError::InvalidFrameSequence);
        }
        let rsv = self.extension.as_mut().and_then(|e| e.encode_start());
        self.sending_fragments = true;
        self.stream_out = Some(StreamSend {
            opcode,
            rsv: rsv.unwrap_or(Rsv::NONE),
            encoded: rsv.is_some(),
            buf: BytesMut::new(),
            utf8: (opcode == OpCode::Text).then(Utf8Validator::new),
        });
        Ok(())
    }

    /// Whether a message started with [`send_stream_begin`](Self::send_stream_begin) is
    /// being sent.
    pub fn is_sending_stream(&self) -> bool {
        self.stream_out.is_some()
    }

    /// Writes the next bytes of the streamed message: each full fragment is queued as a frame
    /// (so at most one fragment's worth is held back). Text must be valid UTF-8 as a whole; a
    /// character may be split between writes.
    pub fn send_stream_write(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_stream_piece(data, false, false)
    }

    /// Queues what the streamed message holds back as a frame (compressed data flushed), so
    /// the peer can read everything written so far.
    pub fn send_stream_flush(&mut self) -> Result<(), SendError> {
        self.send_stream_piece(&[], true, false)
    }

    /// Ends the streamed message: its last frame (with FIN) is queued.
    pub fn send_stream_end(&mut self) -> Result<(), SendError> {
        self.send_stream_piece(&[], false, true)?;
        self.stream_out = None;
        self.sending_fragments = false;
        Ok(())
    }

    /// Abandons the streamed message: the connection is failed with 1011 (a close frame, the
    /// only way to end a message early without sending a truncated one as if it were whole).
    pub fn send_stream_abort(&mut self) {
        if self.stream_out.take().is_some() {
            self.sending_fragments = false;
            if self.check_can_send().is_ok() {
                let reason = "the message being sent was abandoned";
                let _ = self.close(Some(CloseFrame::new(CloseCode::INTERNAL_ERROR, reason)));
            }
        }
    }

    fn send_stream_piece(&mut self, data: &[u8], flush: bool, fin: bool) -> Result<(), SendError> {
        self.check_can_send()?;
        let Some(out) = self.stream_out.as_mut() else {
            return Err(SendError::InvalidFrameSequence);
        };
        if let Some(utf8) = out.utf8.as_mut() {
            utf8.feed(data).map_err(|_| SendError::InvalidUtf8)?;
            if fin {
                utf8.finish().map_err(|_| SendError::InvalidUtf8)?;
            }
        }
        match (out.encoded, self.extension.as_mut()) {
            (true, Some(extension)) => extension.encode_chunk(data, flush, fin, &mut out.buf),
            _ => out.buf.extend_from_slice(data),
        }
        let fragment = self.config.fragment_size.max(1);
        loop {
            let Some(out) = self.stream_out.as_mut() else {
                return Ok(());
            };
            let full = out.buf.len() >= fragment;
            let last = fin && out.buf.len() <= fragment;
            let flushing = flush && !out.buf.is_empty();
            // Frames go out when a fragment is full, and on flush or at the end.
            if !(full || last || flushing) {
                return Ok(());
            }
            let take = out.buf.len().min(fragment);
            let payload = out.buf.split_to(take).freeze();
            let (opcode, rsv) = (out.opcode, out.rsv);
            out.opcode = OpCode::Continuation;
            out.rsv = Rsv::NONE;
            let mask = self.mask();
            self.out.push_frame(opcode, last, rsv, &payload, mask);
            if last {
                return Ok(());
            }
        }
    }
}
