//! The receive path: header checks, unmasking, reassembly, UTF-8 validation and the
//! extension's decoding (RFC 6455 §5.2-§5.6, §8.1; RFC 7692 §6.2).

use super::closing::{parse_close, Closing};
use super::{Connection, Role};
use crate::error::ProtocolError;
use crate::extension::Rsv;
use crate::frame::{Frame, FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::mask::apply_mask;
use crate::message::{Event, Message};
use crate::utf8::Utf8Bytes;
use bytes::{Buf, Bytes, BytesMut};

/// Most bytes reserved for a frame's payload before it arrives.
pub(super) const UPFRONT_RESERVE: usize = 1 << 20;
/// Most room made for frames after the one arriving, when the read buffer has to move for it.
const ROOM_AHEAD: usize = 256 * 1024;

/// Room for up to three more frames the size of one of `len` bytes, within [`ROOM_AHEAD`]:
/// made when the read buffer has to move (its bytes copied) for a frame that does not fit.
///
/// Peers send runs of similar messages. A buffer with room for just this frame is full when
/// it ends, so the next frame's first read lands in a fresh buffer sized by the last one, it
/// crosses that buffer's end by a header's width, and nearly the whole frame is copied again:
/// one extra copy of every large message. With room ahead, the next frames arrive in place
/// and one in four crosses the end.
fn room_ahead(len: usize) -> usize {
    let frame = len + MAX_HEADER_LEN;
    (ROOM_AHEAD / frame).min(3) * frame
}

/// The frame whose payload is arriving.
#[derive(Debug)]
pub(super) struct InFrame {
    pub(super) header: FrameHeader,
    pub(super) len: usize,
    /// Bytes at the front of the read buffer already unmasked and validated.
    pub(super) processed: usize,
    /// Bytes of the payload already handed out as chunks of a streamed message.
    pub(super) taken: usize,
    /// Whether the payload belongs to a text message (checked as UTF-8 as it arrives).
    text: bool,
}

impl Connection {
    /// The read buffer: append bytes read from the transport to it (reading straight into its
    /// spare capacity avoids a copy), then call [`next_event`](Self::next_event).
    pub fn read_buffer(&mut self) -> &mut BytesMut {
        &mut self.read
    }

    /// Appends bytes read from the transport.
    pub fn receive(&mut self, data: &[u8]) {
        if self.wants_read() {
            self.read.extend_from_slice(data);
        }
    }

    /// Records that the transport reached end of file.
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    /// Whether received bytes are still of use: false once the peer's close arrived, the
    /// connection failed, or the transport ended. Later bytes are discarded.
    pub fn wants_read(&self) -> bool {
        matches!(self.closing, Closing::Open | Closing::CloseSent) && !self.eof
    }

    /// The next event decoded from the received bytes, `Ok(None)` when more bytes are needed.
    ///
    /// On a protocol violation the connection is failed (RFC 6455 §7.1.7): a close frame with
    /// the error's [close code](ProtocolError::close_code) is queued, the error is returned once,
    /// and later calls return `Ok(None)`. End of file before the closing handshake gives
    /// [`ProtocolError::AbnormalClosure`] once.
    pub fn next_event(&mut self) -> Result<Option<Event>, ProtocolError> {
        if let Some(error) = self.pending_error.take() {
            return Err(error);
        }
        if self.read.len() > self.read_seen {
            self.timers.received();
        }
        let result = self.next_event_inner();
        self.read_seen = self.read.len();
        result
    }

    fn next_event_inner(&mut self) -> Result<Option<Event>, ProtocolError> {
        if matches!(
            self.closing,
            Closing::CloseReceived | Closing::Failed { .. }
        ) {
            self.read.clear();
            return Ok(None);
        }
        match self.decode() {
            Ok(Some(event)) => Ok(Some(event)),
            Ok(None) if self.eof => {
                self.closing = Closing::Failed {
                    close_sent: self.closing.close_sent(),
                };
                self.read.clear();
                Err(ProtocolError::AbnormalClosure)
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.fail(&e);
                Err(e)
            }
        }
    }

    fn decode(&mut self) -> Result<Option<Event>, ProtocolError> {
        loop {
            if let Some(event) = self.stream_pending()? {
                return Ok(Some(event));
            }
            if self.frame.is_none() {
                let Some((header, header_len)) = FrameHeader::decode(&self.read)? else {
                    return Ok(None);
                };
                self.check_header(&header)?;
                self.read.advance(header_len);
                // check_header bounded the length by max_frame_size, so it fits a usize.
                let len = header.payload_len as usize;
                if len > self.read.len() {
                    // Room for the payload as it comes, up to a point: a 14-byte header alone
                    // must not make us allocate max_frame_size. Beyond this, the buffer grows
                    // (doubling) as the bytes actually arrive.
                    let rest = (len - self.read.len()).min(UPFRONT_RESERVE);
                    if self.read.capacity() - self.read.len() < rest {
                        // The buffer moves, and what it holds of this frame is copied.
                        self.read.reserve(rest + room_ahead(len));
                    }
                }
                // Transformed (compressed) text is validated after decoding instead. A whole
                // single-frame text message that is already here is validated once, when it
                // becomes a `Utf8Bytes`: checking it piece by piece as well would only double the
                // cost, since no earlier point exists to fail at.
                let complete_text = header.fin
                    && header.opcode == OpCode::Text
                    && self.config.reassemble
                    && !self.is_streaming_message()
                    && self.read.len() >= len;
                let text = !self.msg_transformed
                    && !complete_text
                    && (header.opcode == OpCode::Text
                        || (header.opcode == OpCode::Continuation
                            && self.msg == Some(OpCode::Text)));
                self.frame = Some(InFrame {
                    header,
                    len,
                    processed: 0,
                    taken: 0,
                    text,
                });
            }
            let streaming = self.is_streaming_message();
            let Some(frame) = self.frame.as_mut() else {
                return Ok(None);
            };
            let avail = self.read.len().min(frame.len);
            if avail > frame.processed {
                let fresh = &mut self.read[frame.processed..avail];
                if let Some(key) = frame.header.mask {
                    apply_mask(fresh, key, frame.taken + frame.processed);
                }
                if frame.text {
                    // Validated as it arrives, so invalid text fails before the frame ends.
                    self.utf8
                        .feed(fresh)
                        .map_err(|_| ProtocolError::InvalidUtf8)?;
                }
                frame.processed = avail;
            }
            if streaming && !frame.header.opcode.is_control() {
                // A streamed message: hand out what arrived, without waiting for the frame's end.
                match self.take_streamed_part()? {
                    Some(event) => return Ok(Some(event)),
                    None if self.frame.is_some() => return Ok(None),
                    None => continue,
                }
            }
            if frame.processed < frame.len {
                return Ok(None);
            }
            let (header, len) = (frame.header, frame.len);
            self.frame = None;
            let payload = self.read.split_to(len).freeze();
            if let Some(event) = self.complete_frame(header, payload)? {
                return Ok(Some(event));
            }
        }
    }

    /// Checks a header as soon as it arrives, before any payload is buffered.
    fn check_header(&mut self, h: &FrameHeader) -> Result<(), ProtocolError> {
        // RFC 6455 §5.2: RSV bits must be 0 unless an extension defines them; RFC 7692 §6.1:
        // an extension's bits go on the first frame of a data message only.
        let rsv = Rsv {
            rsv1: h.rsv1,
            rsv2: h.rsv2,
            rsv3: h.rsv3,
        };
        if rsv.any() {
            let granted = self.extension.as_ref().map_or(Rsv::NONE, |e| e.rsv());
            let first_data_frame = matches!(h.opcode, OpCode::Text | OpCode::Binary);
            if !first_data_frame || !rsv.within(granted) {
                return Err(ProtocolError::ReservedBits);
            }
        }
        // RFC 6455 §5.1: clients mask, servers do not.
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        if h.opcode.is_control() {
            // RFC 6455 §5.5.
            if h.payload_len > 125 {
                return Err(ProtocolError::ControlFrameTooLong(h.payload_len));
            }
            if !h.fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            return Ok(());
        }
        // A streamed message has its own limit (see `stream_recv.rs`).
        let (frame_limit, message_limit) = self.data_limits(h.opcode);
        if h.payload_len > frame_limit as u64 {
            return Err(ProtocolError::FrameTooLarge {
                size: h.payload_len,
                max: frame_limit,
            });
        }
        // RFC 6455 §5.4: fragments of one message are not interleaved with another's.
        match (h.opcode, self.msg) {
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Continuation, Some(_)) => {
                self.msg_size = self.msg_size.saturating_add(h.payload_len)
            }
            (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
            (opcode, None) => {
                self.msg = Some(opcode);
                self.msg_transformed = rsv.any();
                self.msg_size = h.payload_len;
                self.utf8.reset();
                self.stream_message_started();
            }
        }
        if (self.config.reassemble || self.is_streaming_message()) && self.msg_size > message_limit
        {
            return Err(ProtocolError::MessageTooLarge {
                size: self.msg_size,
                max: usize::try_from(message_limit).unwrap_or(usize::MAX),
            });
        }
        Ok(())
    }

    fn complete_frame(
        &mut self,
        header: FrameHeader,
        payload: Bytes,
    ) -> Result<Option<Event>, ProtocolError> {
        let message = match header.opcode {
            OpCode::Ping => {
                // RFC 6455 §5.5.2: answer with a pong carrying the same application data.
                // Only the latest ping's pong may wait while the output is at its limit
                // (RFC 6455 §5.5.3): a ping flood never grows the output (see `push_pong`).
                if self.config.auto_pong && !self.closing.close_sent() {
                    let mask = self.mask();
                    let limit = self.config.write_buffer_limit;
                    self.out.push_pong(payload.clone(), mask, limit);
                }
                Message::Ping(payload)
            }
            OpCode::Pong => Message::Pong(payload),
            OpCode::Close => {
                let frame = parse_close(&payload)?;
                self.read.clear();
                self.close_frame_received(frame.as_ref());
                Message::Close(frame)
            }
            OpCode::Continuation | OpCode::Text | OpCode::Binary => {
                return self.complete_data_frame(header, payload)
            }
        };
        Ok(Some(Event::Message(message)))
    }

    fn complete_data_frame(
        &mut self,
        header: FrameHeader,
        payload: Bytes,
    ) -> Result<Option<Event>, ProtocolError> {
        let opcode = self.msg.unwrap_or(header.opcode);
        let text = opcode == OpCode::Text;
        let payload = if self.msg_transformed {
            self.decode_with_extension(&payload, header.fin, text)?
        } else {
            Some(payload)
        };
        if header.fin {
            self.msg = None;
            self.msg_transformed = false;
            if text {
                self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            }
        }
        if !self.config.reassemble {
            return Ok(Some(Event::Frame(Frame {
                opcode: header.opcode,
                fin: header.fin,
                payload: payload.unwrap_or_else(|| self.msg_buf.split().freeze()),
            })));
        }
        if !header.fin {
            if let Some(payload) = payload {
                self.msg_buf.extend_from_slice(&payload);
            }
            return Ok(None);
        }
        let data = match payload {
            Some(payload) if self.msg_buf.is_empty() => payload,
            Some(payload) => {
                self.msg_buf.extend_from_slice(&payload);
                self.msg_buf.split().freeze()
            }
            None => self.msg_buf.split().freeze(),
        };
        let message = if text {
            Message::Text(Utf8Bytes::try_from(data).map_err(|_| ProtocolError::InvalidUtf8)?)
        } else {
            Message::Binary(data)
        };
        Ok(Some(Event::Message(message)))
    }

    /// Decodes a frame of a transformed message into `msg_buf` (returns `None`: the data is
    /// there), enforcing the size limit on the decoded bytes and checking decoded text.
    fn decode_with_extension(
        &mut self,
        payload: &[u8],
        fin: bool,
        text: bool,
    ) -> Result<Option<Bytes>, ProtocolError> {
        let Some(extension) = self.extension.as_mut() else {
            return Err(ProtocolError::ReservedBits);
        };
        let max_len = if self.config.reassemble {
            self.config.max_message_size
        } else {
            self.config.max_frame_size
        };
        let start = self.msg_buf.len();
        extension.decode(payload, fin, &mut self.msg_buf, max_len)?;
        if text {
            self.utf8
                .feed(&self.msg_buf[start..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        Ok(None)
    }
}
