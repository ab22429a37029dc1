//! What the reconnecting client observes and decides: events, disconnect reasons, which
//! failures are worth another attempt, and its error type. No I/O.

use crate::error::Error;
use crate::tls::TlsFailure;
use std::time::Duration;
use ws_handshake::ClientError;
use ws_proto::{CloseCode, CloseFrame, Message};

/// Why a connection ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server ran the closing handshake, with this close frame (`None`: no status code).
    ServerClosed(Option<CloseFrame>),
    /// The application called [`close`](super::ReconnectingClient::close).
    Requested,
    /// The connection failed: end of file without a closing handshake (a protocol error with
    /// close code 1006), a reset, a keepalive timeout, a protocol violation.
    Failed(Error),
}

/// Something the reconnecting client did, for the application to observe (log, metrics, UI).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// A connection is up and `on_connect` ran on it.
    Connected {
        /// Attempts this connection took in the current outage (1: the first succeeded).
        attempts: u32,
    },
    /// A connection ended.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
        /// Whether the client will try to reconnect.
        will_reconnect: bool,
    },
    /// The next attempt starts after `delay`.
    Retrying {
        /// Its number in this outage, from 1.
        attempt: u32,
        /// The backoff delay before it.
        delay: Duration,
        /// The failure of the previous attempt (`None` right after a disconnection).
        error: Option<Error>,
    },
    /// No more attempts; [`ReconnectError::GaveUp`] or [`ReconnectError::Fatal`] follows.
    GaveUp {
        /// Attempts made in the last outage.
        attempts: u32,
    },
    /// The [`QueuePolicy::DropOldest`](super::QueuePolicy::DropOldest) queue was full: its
    /// oldest message was dropped to make room.
    Dropped(Message),
}

/// What the reconnecting client fails with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReconnectError {
    /// `attempts` connection attempts in a row failed
    /// ([`Backoff::max_attempts`](super::Backoff::max_attempts)); `last_error` is the last one's.
    #[error("gave up after {attempts} connection attempts")]
    GaveUp {
        /// Attempts made in the outage.
        attempts: u32,
        /// Why the last attempt failed (also the error's `source`).
        #[source]
        last_error: Error,
    },
    /// A failure that retrying cannot fix (an invalid URL, a handshake refused with a 4xx
    /// status, a message the connection refuses to send); no more attempts are made for a
    /// connect failure.
    #[error(transparent)]
    Fatal(Error),
    /// The outgoing queue is full and its policy is
    /// [`QueuePolicy::Error`](super::QueuePolicy::Error); the message is given back.
    #[error("the outgoing queue is full")]
    QueueFull(Message),
    /// The client was closed (by the application, a normal close from the server, or after
    /// giving up); the message is given back.
    #[error("the reconnecting client is closed")]
    Closed(Message),
}

/// Whether to reconnect after a connection ended for `reason`.
///
/// A close the application asked for never reconnects. A server's close with 1000 (normal) or
/// 1001 (going away), or without a status code, is the server's decision and reconnects only
/// with `reconnect_on_normal_close`; any other close code (1011 internal error, 1012 service
/// restart, 1013 try again later, ...) and every failure reconnects.
pub fn should_reconnect(reason: &DisconnectReason, reconnect_on_normal_close: bool) -> bool {
    match reason {
        DisconnectReason::Requested => false,
        DisconnectReason::ServerClosed(frame) => {
            let normal = match frame {
                None => true,
                Some(f) => f.code == CloseCode::NORMAL || f.code == CloseCode::GOING_AWAY,
            };
            !normal || reconnect_on_normal_close
        }
        DisconnectReason::Failed(_) => true,
    }
}

/// Whether a failed connection attempt (or `on_connect`) is worth retrying: network and
/// timeout failures, and a server refusing the upgrade with 408, 429 or 5xx (overloaded or
/// restarting). An invalid URL, a 4xx refusal or a broken handshake answer will fail the same
/// way again.
pub fn is_retryable(error: &Error) -> bool {
    match error {
        Error::ClientHandshake(ClientError::Rejected { response }) => {
            let status = response.status().as_u16();
            status == 408 || status == 429 || response.status().is_server_error()
        }
        e => matches!(
            e,
            Error::Io(_)
                | Error::Connect { .. }
                | Error::HandshakeTimeout
                | Error::ProxyTimeout { .. }
                | Error::Tls {
                    reason: TlsFailure::ConnectionLost,
                    ..
                }
                | Error::ConnectionClosed
                | Error::Protocol(_)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed(code: u16) -> DisconnectReason {
        DisconnectReason::ServerClosed(Some(CloseFrame::new(code, "")))
    }

    #[test]
    fn close_codes() {
        for code in [1000, 1001] {
            assert!(!should_reconnect(&closed(code), false), "{code}");
            assert!(should_reconnect(&closed(code), true), "{code}");
        }
        assert!(!should_reconnect(
            &DisconnectReason::ServerClosed(None),
            false
        ));
        for code in [1002, 1008, 1011, 1012, 1013, 4000] {
            assert!(should_reconnect(&closed(code), false), "{code}");
        }
        assert!(!should_reconnect(&DisconnectReason::Requested, true));
        let eof = Error::Protocol(ws_proto::ProtocolError::AbnormalClosure);
        assert!(should_reconnect(&DisconnectReason::Failed(eof), false));
    }

    fn rejected(status: u16) -> Error {
        let response = http::Response::builder()
            .status(status)
            .body(Vec::new())
            .unwrap_or_default();
        Error::ClientHandshake(ClientError::Rejected {
            response: Box::new(response),
        })
    }

    #[test]
    fn retryable_errors() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(is_retryable(&Error::Connect {
            addr: "127.0.0.1:9".into(),
            proxy: false,
            source: refused,
        }));
        assert!(is_retryable(&Error::HandshakeTimeout));
        for status in [408, 429, 500, 502, 503] {
            assert!(is_retryable(&rejected(status)), "{status}");
        }
        for status in [400, 401, 403, 404] {
            assert!(!is_retryable(&rejected(status)), "{status}");
        }
        assert!(!is_retryable(&Error::Url("ftp://x".into())));
    }
}
