//! The error type shared by the adapters.
//!
//! Each variant's message says what happened at its own level; the lower-level cause (an I/O
//! error, a rustls error, a handshake error) is its [`source`](std::error::Error::source) and
//! is never repeated in the message, so error-chain printers (`anyhow`, `eyre`, a loop over
//! `source()`) show each cause once. Variants that only pass a lower error on are
//! `transparent`: their message and source are the lower error's.

use crate::tls::TlsFailure;
use std::io;

/// What can go wrong on a WebSocket connection, from connecting to closing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke the protocol or a limit; a close frame with
    /// [`close_code`](ws_proto::ProtocolError::close_code) was sent. `AbnormalClosure` (1006)
    /// means the transport ended without a closing handshake.
    #[error(transparent)]
    Protocol(#[from] ws_proto::ProtocolError),
    /// A message could not be sent (for example after a close frame was sent).
    #[error(transparent)]
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
    /// The transport failed on an established connection (reset, broken pipe, ...).
    #[error("the connection's transport failed")]
    Io(#[from] io::Error),
    /// The TCP connection to the server (or to the proxy) could not be opened: name resolution
    /// failed, the connection was refused, the host is unreachable, ...
    #[error("cannot connect to {}{addr}", if *.proxy { "the proxy " } else { "" })]
    Connect {
        /// The `host:port` that was dialled: the server's, or the proxy's when `proxy` is set.
        addr: String,
        /// Whether `addr` is an HTTP proxy's.
        proxy: bool,
        /// The I/O error of the connect call.
        source: io::Error,
    },
    /// The TLS handshake with a `wss://` server failed; `reason` says why in words (the server
    /// does not speak TLS, its certificate is not trusted, not valid for its name, expired,
    /// it sent an alert, ...) and the source is the rustls (or I/O) error.
    #[error("the TLS handshake with {server} failed: {reason}")]
    Tls {
        /// The server's `host:port`.
        server: String,
        /// Why, as a category to match on; its message says what to do.
        reason: TlsFailure,
        /// The underlying [`rustls::Error`], or the I/O error that ended the handshake.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// Root certificates given to trust cannot be used: the PEM file cannot be read or holds
    /// no certificate, or a certificate does not parse.
    #[error("cannot trust the root certificates from {origin}")]
    RootCertificates {
        /// Where they came from: the file's path, or "the given certificates".
        origin: String,
        /// The I/O, PEM or certificate error.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The client's opening handshake failed; `ClientError::Rejected` carries the server's
    /// non-101 response (status, headers and body).
    #[error(transparent)]
    ClientHandshake(#[from] ws_handshake::ClientError),
    /// The server's opening handshake failed; the client was answered with an HTTP error.
    #[error(transparent)]
    ServerHandshake(#[from] ws_handshake::ServerError),
    /// Tunnelling through the HTTP proxy failed: it refused (`AuthRequired` for 407,
    /// `Rejected` with its status for 403, 502, ...), answered badly, or its URL is invalid.
    #[error(transparent)]
    Proxy(#[from] ws_handshake::ProxyError),
    /// The HTTP proxy did not answer the `CONNECT` request within the handshake timeout: the
    /// proxy (not the WebSocket server) is silent or overloaded.
    #[error(
        "the proxy {proxy} did not answer the CONNECT request for {target} in time: check that \
         it is an HTTP proxy and that it is running"
    )]
    ProxyTimeout {
        /// The proxy's `host:port`.
        proxy: String,
        /// The `host:port` the tunnel was asked for.
        target: String,
    },
    /// The URL cannot be connected to (unsupported scheme, bad host name for TLS, ...).
    #[error("invalid URL: {0}")]
    Url(String),
    /// The stream settings turn message reassembly off
    /// ([`ws_proto::Config::reassemble`]), but a `WebSocketStream` yields whole messages.
    #[error(
        "the stream settings turn message reassembly off, which a WebSocketStream cannot run \
         with: leave ws_proto::Config::reassemble on (the default)"
    )]
    ReassembleOff,
    /// The opening handshake did not finish in time.
    #[error("the opening handshake timed out")]
    HandshakeTimeout,
    /// The peer closed the connection while we were sending: its close frame (`None` when it
    /// gave no status code), for example 1009 for a message larger than the peer accepts. What
    /// was being sent may not have been processed.
    #[error("the peer closed the connection while we were sending{}", describe_close(.0))]
    ClosedByPeer(Option<ws_proto::CloseFrame>),
    /// The connection closed in the middle of a message being received as a stream (see
    /// `recv_stream`): the peer's close frame, if it sent one. The message is incomplete.
    #[error(
        "the connection closed before the end of the message being received{}, so the \
         message is incomplete",
        describe_close(.0)
    )]
    MessageCut(Option<ws_proto::CloseFrame>),
}

/// ` (code N: reason)` for a close frame, or nothing.
fn describe_close(frame: &Option<ws_proto::CloseFrame>) -> String {
    match frame {
        Some(f) if f.reason.is_empty() => format!(" (close code {})", f.code),
        Some(f) => format!(" (close code {}: {})", f.code, f.reason.as_str()),
        None => String::new(),
    }
}
