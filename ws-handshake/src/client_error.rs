//! Why a client handshake failed, with a `Debug` that shows a refusal's body as text.

use http::Response;
use std::fmt;

/// Most body bytes of a refusal shown by `Debug`.
const DEBUG_BODY: usize = 300;

/// Why the client handshake failed. Each variant is a distinct failure the caller can match.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not a valid URI.
    #[error("invalid URL: {0}")]
    InvalidUri(String),
    /// The URL's scheme is not `ws` or `wss`.
    #[error("unsupported URL scheme {0:?}: expected ws or wss")]
    UnsupportedScheme(String),
    /// The URL has no host.
    #[error("the URL has no host")]
    MissingHost,
    /// A header set by the user is not valid.
    #[error("invalid request header: {0}")]
    InvalidHeader(String),
    /// The server answered with something other than 101: its status, headers and body (up to
    /// 64 KiB), for example 401, 403, 404 or a redirect.
    #[error("the server refused the upgrade: {}", response.status())]
    Rejected {
        /// The server's response (boxed: it is large and rare).
        response: Box<Response<Vec<u8>>>,
    },
    /// The response is not valid HTTP/1.1.
    #[error("malformed HTTP response: {0}")]
    MalformedResponse(String),
    /// The response head exceeds 16 KiB or 64 headers.
    #[error("the response head is too large")]
    ResponseTooLarge,
    /// 101 without `Upgrade: websocket` (RFC 6455 §4.1, point 2).
    #[error("101 response without Upgrade: websocket")]
    MissingUpgrade,
    /// 101 without a `Connection: upgrade` token (point 3).
    #[error("101 response without Connection: upgrade")]
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Accept` missing or not derived from our key (point 4).
    #[error("wrong or missing Sec-WebSocket-Accept")]
    InvalidAccept,
    /// A subprotocol we did not offer, or more than one (point 6).
    #[error("the server chose a subprotocol that was not offered: {0:?}")]
    UnofferedSubprotocol(String),
    /// An extension we did not offer (point 5).
    #[error("the server chose an extension that was not offered: {0:?}")]
    UnofferedExtension(String),
    /// `Sec-WebSocket-Extensions` in the response does not parse.
    #[error(transparent)]
    InvalidExtensions(#[from] crate::extensions::ExtensionParseError),
    /// The server's permessage-deflate parameters break RFC 7692 §7.1.
    #[error(transparent)]
    InvalidDeflate(#[from] crate::deflate::DeflateError),
    /// The connection ended before a complete response.
    #[error("the connection closed during the handshake")]
    UnexpectedEof,
}

impl fmt::Debug for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::InvalidUri(s) => f.debug_tuple("InvalidUri").field(s).finish(),
            ClientError::UnsupportedScheme(s) => {
                f.debug_tuple("UnsupportedScheme").field(s).finish()
            }
            ClientError::MissingHost => f.write_str("MissingHost"),
            ClientError::InvalidHeader(s) => f.debug_tuple("InvalidHeader").field(s).finish(),
            ClientError::Rejected { response } => f
                .debug_struct("Rejected")
                .field("status", &response.status())
                .field("headers", response.headers())
                .field("body", &BodyText(response.body()))
                .finish(),
            ClientError::MalformedResponse(s) => {
                f.debug_tuple("MalformedResponse").field(s).finish()
            }
            ClientError::ResponseTooLarge => f.write_str("ResponseTooLarge"),
            ClientError::MissingUpgrade => f.write_str("MissingUpgrade"),
            ClientError::MissingConnectionUpgrade => f.write_str("MissingConnectionUpgrade"),
            ClientError::InvalidAccept => f.write_str("InvalidAccept"),
            ClientError::UnofferedSubprotocol(s) => {
                f.debug_tuple("UnofferedSubprotocol").field(s).finish()
            }
            ClientError::UnofferedExtension(s) => {
                f.debug_tuple("UnofferedExtension").field(s).finish()
            }
            ClientError::InvalidExtensions(e) => {
                f.debug_tuple("InvalidExtensions").field(e).finish()
            }
            ClientError::InvalidDeflate(e) => f.debug_tuple("InvalidDeflate").field(e).finish(),
            ClientError::UnexpectedEof => f.write_str("UnexpectedEof"),
        }
    }
}

/// A body shown as text (invalid UTF-8 replaced), cut after [`DEBUG_BODY`] bytes.
struct BodyText<'a>(&'a [u8]);

impl fmt::Debug for BodyText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.0[..self.0.len().min(DEBUG_BODY)];
        fmt::Debug::fmt(&String::from_utf8_lossy(shown), f)?;
        if self.0.len() > DEBUG_BODY {
            write!(f, " (+{} more bytes)", self.0.len() - DEBUG_BODY)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(body: Vec<u8>) -> ClientError {
        let mut response = Response::new(body);
        *response.status_mut() = http::StatusCode::FORBIDDEN;
        ClientError::Rejected {
            response: Box::new(response),
        }
    }

    #[test]
    fn rejected_debug_shows_the_body_as_text() {
        let debug = format!("{:?}", rejected(b"origin not allowed".to_vec()));
        assert!(debug.contains("\"origin not allowed\""), "{debug}");
        assert!(debug.contains("403"), "{debug}");
        assert!(!debug.contains("111, 114"), "{debug}");
    }

    #[test]
    fn rejected_debug_truncates_long_and_binary_bodies() {
        let mut body = vec![0xff];
        body.extend(std::iter::repeat_n(b'x', 5000));
        let debug = format!("{:?}", rejected(body));
        assert!(debug.contains('\u{fffd}'), "{debug}");
        assert!(debug.contains("(+4701 more bytes)"), "{debug}");
        assert!(debug.len() < 600, "{} bytes: {debug}", debug.len());
    }
}
