//! The error type shared by the adapters.

use std::io;

/// What can go wrong on a WebSocket connection, from connecting to closing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke the protocol or a limit; a close frame with
    /// [`close_code`](ws_proto::ProtocolError::close_code) was sent. `AbnormalClosure` (1006)
    /// means the transport ended without a closing handshake.
    #[error("websocket protocol error: {0}")]
    Protocol(#[from] ws_proto::ProtocolError),
    /// A message could not be sent (for example after a close frame was sent).
    #[error("cannot send: {0}")]
    Send(#[from] ws_proto::SendError),
    /// The connection is over.
    #[error("the connection is closed")]
    ConnectionClosed,
    /// The closing handshake did not finish within the close timeout
    /// ([`StreamConfig::close_timeout`](crate::StreamConfig::close_timeout)): the peer did not
    /// answer our close frame, or did not even read it. The transport was closed anyway.
    #[error(
        "the peer did not complete the closing handshake within the close timeout, so the \
         connection was closed without its close frame (a slow peer may need a longer \
         close_timeout)"
    )]
    CloseTimeout,
    /// A transport error (including TLS errors).
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The client's opening handshake failed; `ClientError::Rejected` carries the server's
    /// non-101 response (status, headers and body).
    #[error("handshake failed: {0}")]
    ClientHandshake(#[from] ws_handshake::ClientError),
    /// The server's opening handshake failed; the client was answered with an HTTP error.
    #[error("handshake failed: {0}")]
    ServerHandshake(#[from] ws_handshake::ServerError),
    /// Tunnelling through the HTTP proxy failed: it refused (`AuthRequired` for 407,
    /// `Rejected` with its status for 403, 502, ...), answered badly, or its URL is invalid.
    #[error("proxy: {0}")]
    Proxy(#[from] ws_handshake::ProxyError),
    /// The URL cannot be connected to (unsupported scheme, bad host name for TLS, ...).
    #[error("invalid URL: {0}")]
    Url(String),
    /// The opening handshake did not finish in time.
    #[error("the opening handshake timed out")]
    HandshakeTimeout,
}
