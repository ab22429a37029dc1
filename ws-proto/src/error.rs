//! Errors: each names the rule broken and the close code it causes.

use crate::close::CloseCode;
use crate::connection::Timeout;

/// The peer broke the protocol (or a limit); the connection is failed with [`close_code`].
///
/// [`close_code`]: ProtocolError::close_code
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An RSV bit is set that no negotiated extension defines (RFC 6455 §5.2). 1002.
    #[error("reserved bit set without a negotiated extension")]
    ReservedBits,
    /// A reserved opcode, 0x3-0x7 or 0xB-0xF (RFC 6455 §5.2). 1002.
    #[error("reserved opcode {0:#x}")]
    ReservedOpCode(u8),
    /// A 64-bit payload length with its most significant bit set (RFC 6455 §5.2). 1002.
    #[error("64-bit payload length with the most significant bit set")]
    InvalidPayloadLength,
    /// A client sent an unmasked frame (RFC 6455 §5.1). 1002.
    #[error("client frame is not masked")]
    UnmaskedFrame,
    /// A server sent a masked frame (RFC 6455 §5.1). 1002.
    #[error("server frame is masked")]
    MaskedFrame,
    /// A control frame with more than 125 bytes of payload (RFC 6455 §5.5). 1002.
    #[error("control frame payload of {0} bytes exceeds 125")]
    ControlFrameTooLong(u64),
    /// A control frame without FIN (RFC 6455 §5.5). 1002.
    #[error("fragmented control frame")]
    FragmentedControlFrame,
    /// A continuation frame with no message in progress (RFC 6455 §5.4). 1002.
    #[error("continuation frame with no message in progress")]
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is in progress (RFC 6455 §5.4). 1002.
    #[error("new data frame while a fragmented message is in progress")]
    ExpectedContinuation,
    /// A close frame with a 1-byte payload (RFC 6455 §5.5.1). 1002.
    #[error("close frame payload of 1 byte")]
    InvalidClosePayload,
    /// A close code that may not be sent on the wire (RFC 6455 §7.4). 1002.
    #[error("invalid close code {0}")]
    InvalidCloseCode(u16),
    /// Text or a close reason that is not valid UTF-8 (RFC 6455 §8.1). 1007.
    #[error("invalid UTF-8 in text")]
    InvalidUtf8,
    /// A frame larger than `Config::max_frame_size`. 1009.
    #[error("frame of {size} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// Announced payload length.
        size: u64,
        /// The configured limit.
        max: usize,
    },
    /// A message larger than `Config::max_message_size`, detected before it is buffered. 1009.
    #[error("message of at least {size} bytes exceeds the limit of {max}")]
    MessageTooLarge {
        /// Size of the message so far, including the frame that crossed the limit.
        size: u64,
        /// The configured limit.
        max: usize,
    },
    /// A negotiated extension could not process a message (for example corrupt compressed
    /// data). Carries the close code the extension chose.
    #[error("extension error: {reason}")]
    Extension {
        /// The close code to fail the connection with.
        code: CloseCode,
        /// What went wrong.
        reason: String,
    },
    /// The transport ended before the closing handshake (RFC 6455 §7.1.5: code 1006, which is
    /// reported locally and never sent).
    #[error("connection closed without a closing handshake")]
    AbnormalClosure,
    /// The idle or keepalive deadline ran out (see [`Connection::handle_timeout`]): the
    /// connection is failed with 1001 Going Away.
    ///
    /// [`Connection::handle_timeout`]: crate::Connection::handle_timeout
    #[error("{0}")]
    TimedOut(Timeout),
}

impl ProtocolError {
    /// The close code this error fails the connection with (RFC 6455 §7.4.1).
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            ProtocolError::FrameTooLarge { .. } | ProtocolError::MessageTooLarge { .. } => {
                CloseCode::MESSAGE_TOO_BIG
            }
            ProtocolError::Extension { code, .. } => *code,
            ProtocolError::AbnormalClosure => CloseCode::ABNORMAL,
            ProtocolError::TimedOut(_) => CloseCode::GOING_AWAY,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

/// A message or frame could not be queued for sending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// A close frame was already sent (RFC 6455 §5.5.1: no data after close) or the connection
    /// failed.
    #[error("the connection is closing or closed")]
    Closed,
    /// A control frame payload over 125 bytes (RFC 6455 §5.5).
    #[error("control frame payload of {0} bytes exceeds 125")]
    ControlFrameTooLong(usize),
    /// A close code that may not be sent (RFC 6455 §7.4).
    #[error("close code {0} may not be sent")]
    InvalidCloseCode(u16),
    /// A close reason over 123 bytes.
    #[error("close reason of {0} bytes exceeds 123")]
    CloseReasonTooLong(usize),
    /// A frame out of sequence: a continuation with no message started, a new message while a
    /// fragmented one is being sent, or a control opcode passed to `send_frame`.
    #[error("frame out of sequence")]
    InvalidFrameSequence,
    /// Bytes written to a streamed text message are not valid UTF-8 (RFC 6455 §8.1): they
    /// were not sent; send binary data as a binary message.
    #[error("the text written is not valid UTF-8, so it was not sent: write UTF-8 text, or send the data as a binary message")]
    InvalidUtf8,
}
