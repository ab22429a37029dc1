//! The send path: framing, fragmentation, prepared messages and the write buffer
//! (RFC 6455 §5.1-§5.4).

use super::closing::Closing;
use super::{Connection, Role};
use crate::error::SendError;
use crate::extension::Rsv;
use crate::frame::{Frame, OpCode};
use crate::mask::MaskingKey;
use crate::message::Message;
use crate::prepared::PreparedMessage;
use bytes::Bytes;
use std::io::IoSlice;

impl Connection {
    pub(super) fn mask(&self) -> Option<MaskingKey> {
        mask_for(self.role)
    }

    pub(super) fn check_can_send(&self) -> Result<(), SendError> {
        if self.closing != Closing::Open {
            Err(SendError::Closed)
        } else {
            Ok(())
        }
    }

    /// Queues a message: text and binary as one frame each, ping and pong as control frames, a
    /// close starts the closing handshake (see [`close`](Self::close)).
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        match message {
            Message::Text(text) => self.send_data(OpCode::Text, &text.into_bytes()),
            Message::Binary(data) => self.send_data(OpCode::Binary, &data),
            Message::Ping(data) => self.send_control(OpCode::Ping, &data),
            Message::Pong(data) => self.send_control(OpCode::Pong, &data),
            Message::Close(frame) => self.close(frame),
        }
    }

    fn send_data(&mut self, opcode: OpCode, payload: &Bytes) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending_fragments {
            return Err(SendError::InvalidFrameSequence);
        }
        let (rsv, payload) = match self.extension.as_mut().and_then(|e| e.encode(payload)) {
            Some((rsv, encoded)) => (rsv, encoded),
            None => (Rsv::NONE, payload.clone()),
        };
        // Split into frames of at most `fragment_size` (RSV bits on the first only).
        let role = self.role;
        let fragment = self.config.fragment_size;
        self.out
            .push_message(opcode, rsv, &payload, fragment, || mask_for(role));
        Ok(())
    }

    /// Queues a message encoded once for many connections (see [`PreparedMessage`]).
    ///
    /// A server connection queues the shared frame bytes: as they are, or, when its extension's
    /// encoding carries no state between messages (permessage-deflate without server context
    /// takeover), the encoding shared by every connection with the same parameters. Otherwise
    /// (a client, whose frames are masked with a fresh key each; an extension with context
    /// takeover) the message is encoded for this connection alone, like [`send`](Self::send).
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending_fragments {
            return Err(SendError::InvalidFrameSequence);
        }
        if self.role == Role::Client {
            return self.send_data(message.opcode(), message.payload());
        }
        let encoded = match self.extension.as_mut() {
            None => Some(message.plain().clone()),
            Some(extension) => extension
                .shared_encoding()
                .and_then(|key| message.encoded_for(key, |payload| extension.encode(payload))),
        };
        let Some(encoded) = encoded else {
            return self.send_data(message.opcode(), message.payload());
        };
        // The shared bytes are one frame: a message larger than `fragment_size` is queued as
        // several frames of the same (shared) payload.
        let (opcode, rsv, payload) = encoded.parts();
        if payload.len() > self.config.fragment_size {
            let fragment = self.config.fragment_size;
            self.out
                .push_message(opcode, rsv, &payload, fragment, || None);
            return Ok(());
        }
        self.out.push_encoded(&encoded.head);
        self.out.push_encoded(&encoded.body);
        Ok(())
    }

    fn send_control(&mut self, opcode: OpCode, payload: &Bytes) -> Result<(), SendError> {
        self.check_can_send()?;
        if payload.len() > 125 {
            return Err(SendError::ControlFrameTooLong(payload.len()));
        }
        let mask = self.mask();
        self.out.push_frame(opcode, true, Rsv::NONE, payload, mask);
        Ok(())
    }

    /// Queues one data frame of a message streamed fragment by fragment (RFC 6455 §5.4): the
    /// first has opcode `Text` or `Binary`, the rest `Continuation`, the last has `fin` set.
    /// Control messages may be sent in between with [`send`](Self::send).
    pub fn send_frame(&mut self, frame: Frame) -> Result<(), SendError> {
        self.check_can_send()?;
        match (frame.opcode, self.sending_fragments) {
            (OpCode::Text | OpCode::Binary, false) | (OpCode::Continuation, true) => {}
            _ => return Err(SendError::InvalidFrameSequence),
        }
        self.sending_fragments = !frame.fin;
        let mask = self.mask();
        self.out
            .push_frame(frame.opcode, frame.fin, Rsv::NONE, &frame.payload, mask);
        Ok(())
    }

    /// Bytes waiting to be written.
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// Whether queued output reached
    /// [`Config::write_buffer_limit`](crate::Config::write_buffer_limit) (or a pong is held
    /// back because it would cross it): the adapter should write before queueing more data,
    /// and may stop reading while the transport takes none of it.
    pub fn is_write_buffer_full(&self) -> bool {
        self.out.len() >= self.config.write_buffer_limit || self.out.has_pending_pong()
    }

    /// The first contiguous run of bytes waiting to be written (empty when there are none).
    pub fn output(&self) -> &[u8] {
        self.out.first()
    }

    /// Fills `dst` with the bytes waiting to be written, in order, for a vectored write.
    /// Returns how many slices were filled.
    pub fn output_io_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        self.out.io_slices(dst)
    }

    /// Marks `n` bytes of output as written.
    ///
    /// # Panics
    /// If `n` exceeds [`output_len`](Self::output_len): that is a bug in the caller.
    pub fn advance_output(&mut self, n: usize) {
        self.out.advance(n);
        if n > 0 {
            // Progress beyond our keepalive ping shows the peer's TCP still takes data.
            let after_ping = n > self.ping_unwritten;
            self.ping_unwritten = self.ping_unwritten.saturating_sub(n);
            self.timers.sent(after_ping);
        }
    }

    /// Takes all the bytes waiting to be written, as one buffer.
    pub fn take_output(&mut self) -> Vec<u8> {
        let mut all = Vec::with_capacity(self.out.len());
        while self.out.len() > 0 {
            let chunk = self.out.first();
            all.extend_from_slice(chunk);
            let n = chunk.len();
            self.advance_output(n);
        }
        all
    }
}

/// A fresh masking key for a client's frame, none for a server's (RFC 6455 §5.3).
pub(super) fn mask_for(role: Role) -> Option<MaskingKey> {
    match role {
        Role::Client => Some(MaskingKey::random()),
        Role::Server => None,
    }
}
