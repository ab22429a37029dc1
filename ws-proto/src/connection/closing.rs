//! The closing handshake (RFC 6455 §7): starting it, answering the peer's close, failing the
//! connection, and when the transport may close.

use super::{Connection, Next, Role, State};
use crate::close::{CloseCode, CloseFrame, MAX_CLOSE_REASON};
use crate::error::{ProtocolError, SendError};
use crate::extension::Rsv;
use crate::frame::OpCode;
use crate::utf8::Utf8Bytes;
use bytes::{BufMut, Bytes, BytesMut};

/// Where the closing handshake stands: one state instead of a combination of flags.
/// [`State`] is the caller's view of it, which also counts the output still to be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Closing {
    /// Messages flow both ways.
    Open,
    /// Our close frame is queued (RFC 6455 §7.1.2); the peer's data is still delivered until
    /// its close arrives.
    CloseSent,
    /// The peer's close arrived and ours is queued, in reply or before it (RFC 6455 §7.1.1):
    /// nothing more is read or sent.
    CloseReceived,
    /// The connection failed (RFC 6455 §7.1.7): a protocol error, an idle or keepalive
    /// timeout, or end of file before the closing handshake. `close_sent`: a close frame is
    /// queued (end of file while open fails without one).
    Failed {
        /// A close frame is queued.
        close_sent: bool,
    },
}

impl Closing {
    /// A close frame of ours is queued.
    pub(super) fn close_sent(self) -> bool {
        !matches!(self, Closing::Open | Closing::Failed { close_sent: false })
    }

    /// The state once our close frame is queued.
    fn with_close_sent(self) -> Closing {
        match self {
            Closing::Open | Closing::CloseSent => Closing::CloseSent,
            Closing::CloseReceived => Closing::CloseReceived,
            Closing::Failed { .. } => Closing::Failed { close_sent: true },
        }
    }
}

impl Connection {
    /// Fails the connection (RFC 6455 §7.1.7): drops what was being received and queues a
    /// close frame with the error's code unless one is queued already.
    pub(super) fn fail(&mut self, error: &ProtocolError) {
        let close_sent = self.closing.close_sent();
        self.closing = Closing::Failed { close_sent };
        self.read.clear();
        self.frame = None;
        self.msg = None;
        self.msg_buf.clear();
        if !close_sent {
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
        self.closing = self.closing.with_close_sent();
    }

    /// The peer's close frame arrived (RFC 6455 §5.5.1): reply with a close echoing its status
    /// code, unless ours is queued already.
    pub(super) fn close_frame_received(&mut self, frame: Option<&CloseFrame>) {
        if !self.closing.close_sent() {
            let reply = frame.map(|f| CloseFrame::new(f.code, ""));
            self.queue_close(reply.as_ref());
        }
        self.closing = Closing::CloseReceived;
    }

    /// The closing handshake state.
    pub fn state(&self) -> State {
        let flushed = self.out.len() == 0;
        match self.closing {
            Closing::Open => State::Open,
            Closing::CloseSent => State::CloseSent,
            Closing::CloseReceived | Closing::Failed { .. } if flushed => State::Closed,
            Closing::CloseReceived => State::CloseReceived,
            Closing::Failed { .. } => State::CloseSent,
        }
    }

    /// Whether the adapter should close the transport now.
    ///
    /// RFC 6455 §7.1.1: once the closing handshake is over, the server closes the TCP
    /// connection first; the client waits for the server to do so (and closes it itself only
    /// after [`Config::close_timeout`](crate::Config::close_timeout), see [`awaiting_transport_close`]). After a failure or
    /// end of file, either end closes once its output is written. After the closing handshake
    /// or keepalive deadline ran out ([`timed_out`](Self::timed_out)), at once, without waiting
    /// for output the peer is not reading.
    ///
    /// [`awaiting_transport_close`]: Self::awaiting_transport_close
    pub fn should_close_transport(&self) -> bool {
        self.next_step() != Next::ReadWrite
    }

    /// Whether this client has finished the closing handshake and is waiting for the server to
    /// close the transport (RFC 6455 §7.1.1); the adapter keeps reading until end of file or
    /// [`Config::close_timeout`](crate::Config::close_timeout).
    pub fn awaiting_transport_close(&self) -> bool {
        self.state() == State::Closed && !self.should_close_transport()
    }

    /// Whether the peer's close frame arrived.
    pub fn close_received(&self) -> bool {
        self.closing == Closing::CloseReceived
    }

    /// Whether a close frame was queued (by [`close`](Self::close), in reply to the peer's, or
    /// on failure).
    pub fn close_sent(&self) -> bool {
        self.closing.close_sent()
    }

    /// What to do with the transport now (see [`Next`]): the one question a driver asks after
    /// each round of the [call order](Connection#call-order).
    pub fn next_step(&self) -> Next {
        if self.gave_up() {
            return Next::Close;
        }
        // RFC 6455 §7.1.1: the server closes the TCP connection first; a client waits for it
        // (until end of file, or the close deadline gives up).
        let over = self.state() == State::Closed
            && (self.role == Role::Server
                || matches!(self.closing, Closing::Failed { .. })
                || self.eof);
        if !over {
            Next::ReadWrite
        } else if self.timed_out.is_some() {
            // After an idle timeout the close frame got out: still, the peer was silent.
            Next::Close
        } else {
            // Closing without the peer's close frame (a protocol error): its data may still be
            // on the way, and closing a socket with unread data resets the connection.
            Next::ShutdownWrite {
                drain: !self.close_received() && !self.eof,
            }
        }
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
