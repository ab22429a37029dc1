//! Messages as byte streams (issue 19): a received message read as it arrives
//! ([`MessageReader`]), a message written piece by piece ([`MessageWriter`]), and a whole
//! connection as one byte stream ([`ByteStream`]). Memory stays bounded whatever the message
//! size: the protocol core hands out chunks as their bytes arrive, and reads from the
//! transport only when the reader asks for more, so a slow reader slows the peer (TCP
//! backpressure) instead of filling memory.

mod io;
mod reader;
mod writer;

pub use io::ByteStream;
pub use reader::MessageReader;
pub use writer::MessageWriter;

pub(crate) use reader::recv_stream;
pub(crate) use writer::send_stream;

use crate::driver::Driver;
use crate::error::Error;
use crate::split::{lock, Shared};
use ws_proto::{OpCode, ProtocolError};

/// Whether a message is text or binary (RFC 6455 §5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text.
    Text,
    /// Binary data.
    Binary,
}

impl MessageKind {
    pub(crate) fn opcode(self) -> OpCode {
        match self {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        }
    }
}

/// The driver a reader or writer works on: the whole stream's, or a split half's.
pub(crate) enum Access<'a, T> {
    Borrowed(&'a mut Driver<T>),
    Shared(&'a Shared<T>),
}

impl<T> Access<'_, T> {
    fn with<R>(&mut self, f: impl FnOnce(&mut Driver<T>) -> R) -> R {
        match self {
            Access::Borrowed(driver) => f(driver),
            Access::Shared(shared) => f(&mut lock(shared)),
        }
    }
}

/// An [`Error`] as the `std::io::Error` that `AsyncRead`/`AsyncWrite` return: the transport's
/// own error as it is, invalid data (1007, 1009, invalid UTF-8 written as text) as
/// `InvalidData`, the rest as `Other`, with the [`Error`] inside.
pub(crate) fn io_error(error: Error) -> std::io::Error {
    if let Error::Io(e) = error {
        return e;
    }
    use std::io::ErrorKind;
    let kind = match &error {
        Error::Protocol(ProtocolError::InvalidUtf8 | ProtocolError::MessageTooLarge { .. })
        | Error::Protocol(ProtocolError::FrameTooLarge { .. })
        | Error::Send(ws_proto::SendError::InvalidUtf8) => ErrorKind::InvalidData,
        Error::ConnectionClosed | Error::MessageCut(_) | Error::ClosedByPeer(_) => {
            ErrorKind::BrokenPipe
        }
        _ => ErrorKind::Other,
    };
    std::io::Error::new(kind, error)
}
