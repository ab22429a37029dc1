//! The closing handshake (RFC 6455 §7): starting it, answering the peer's close, failing the
//! connection, and when the transport may close.

use super::{Connection, Role, State};
use crate::close::{CloseCode, CloseFrame, MAX_CLOSE_REASON};
use crate::error::{ProtocolError, SendError};
use crate::extension::Rsv;
use crate::frame::OpCode;
use crate::utf8::Utf8Bytes;
use bytes::{BufMut, Bytes, BytesMut};

impl Connection {
    pub(super) fn fail(&mut self, error: &ProtocolError) {
        self.failed = true;
        self.read.clear();
        self.frame = None;
        self.msg = None;
        self.msg_buf.clear();
        if !self.close_sent {
            let mut reason = error.to_string();
            while reason.len() > MAX_CLOSE_REASON {
                reason.pop();
            }
            let frame = CloseFrame::new(error.close_code(), reason);
            self.queue_close(Some(&frame));
        }
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2) by queueing a close frame; `None` sends
    /// one without a status code. Afterwards no data may be sent; received data is still
    /// delivered until the peer's close arrives.
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), SendError> {
        self.check_can_send()?;
        if let Some(f) = &frame {
            if !f.code.is_valid_on_wire() {
                return Err(SendError::InvalidCloseCode(f.code.0));
            }
            if f.reason.len() > MAX_CLOSE_REASON {
                return Err(SendError::CloseReasonTooLong(f.reason.len()));
            }
        }
        self.queue_close(frame.as_ref());
        Ok(())
    }

    pub(super) fn queue_close(&mut self, frame: Option<&CloseFrame>) {
        let mut payload = BytesMut::new();
        if let Some(f) = frame {
            payload.put_u16(f.code.0);
            payload.put_slice(f.reason.as_bytes());
        }
        let mask = self.mask();
        self.out
            .push_frame(OpCode::Close, true, Rsv::NONE, &payload.freeze(), mask);
        self.close_sent = true;
    }

    /// The closing handshake state.
    pub fn state(&self) -> State {
        let flushed = self.out.len() == 0;
        match (self.close_sent, self.close_received) {
            _ if self.failed && flushed => State::Closed,
            (true, true) if flushed => State::Closed,
            (true, true) => State::CloseReceived,
            (true, false) | (false, true) => State::CloseSent,
            (false, false) if self.failed => State::CloseSent,
            (false, false) => State::Open,
        }
    }

    /// Whether the adapter should close the transport now.
    ///
    /// RFC 6455 §7.1.1: once the closing handshake is over, the server closes the TCP
    /// connection first; the client waits for the server to do so (and closes it itself only
    /// after [`Config::close_timeout`], see [`awaiting_transport_close`]). After a failure or
    /// end of file, either end closes once its output is written. After the closing handshake
    /// or keepalive deadline ran out ([`timed_out`](Self::timed_out)), at once, without waiting
    /// for output the peer is not reading.
    ///
    /// [`awaiting_transport_close`]: Self::awaiting_transport_close
    pub fn should_close_transport(&self) -> bool {
        self.gave_up()
            || (self.state() == State::Closed
                && (self.role == Role::Server || self.failed || self.eof))
    }

    /// Whether this client has finished the closing handshake and is waiting for the server to
    /// close the transport (RFC 6455 §7.1.1); the adapter keeps reading until end of file or
    /// [`Config::close_timeout`].
    pub fn awaiting_transport_close(&self) -> bool {
        self.state() == State::Closed && !self.should_close_transport()
    }

    /// Whether the peer's close frame arrived.
    pub fn close_received(&self) -> bool {
        self.close_received
    }

    /// Whether a close frame was queued (by [`close`](Self::close), in reply to the peer's, or
    /// on failure).
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }
}

/// Parses a close frame's payload (RFC 6455 §5.5.1, §7.4).
pub(super) fn parse_close(payload: &Bytes) -> Result<Option<CloseFrame>, ProtocolError> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(ProtocolError::InvalidClosePayload),
        _ => {
            let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
            if !code.is_valid_on_wire() {
                return Err(ProtocolError::InvalidCloseCode(code.0));
            }
            let reason =
                Utf8Bytes::try_from(payload.slice(2..)).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok(Some(CloseFrame { code, reason }))
        }
    }
}
