//! The server's HTTP answers: the refusals with their statuses, and the bytes of a response.

use crate::headers::write_response_headers;
use http::header::{SEC_WEBSOCKET_VERSION, UPGRADE};
use http::{HeaderValue, Response, StatusCode};

/// Why the server refused a handshake, each with the HTTP status it is answered with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The request head exceeds the configured bytes or header count. 431.
    #[error("request header fields too large")]
    HeadersTooLarge,
    /// Not valid HTTP/1.x. 400.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// Not a GET (RFC 6455 §4.1). 405.
    #[error("method {0} is not GET")]
    MethodNotAllowed(String),
    /// Older than HTTP/1.1 (RFC 6455 §4.1). 400.
    #[error("HTTP/1.1 or later is required")]
    UnsupportedHttpVersion,
    /// No `Host`, or more than one. 400.
    #[error("missing or repeated Host header")]
    InvalidHost,
    /// No `Upgrade: websocket`. 426, advertising the upgrade.
    #[error("missing Upgrade: websocket")]
    MissingUpgrade,
    /// No `Connection: upgrade` token. 400.
    #[error("missing Connection: upgrade")]
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Key` missing, repeated, or not base64 of 16 bytes. 400.
    #[error("missing or invalid Sec-WebSocket-Key")]
    InvalidKey,
    /// `Sec-WebSocket-Version` missing, repeated or not 13. 426 with `Sec-WebSocket-Version: 13`.
    #[error("unsupported Sec-WebSocket-Version: 13 is required")]
    UnsupportedVersion,
    /// `Sec-WebSocket-Extensions` does not parse. 400.
    #[error(transparent)]
    InvalidExtensions(#[from] crate::extensions::ExtensionParseError),
    /// The application's callback rejected the request with this status.
    #[error("rejected by the application with {0}")]
    Rejected(StatusCode),
    /// The application chose a subprotocol or extension the client did not offer. 500.
    #[error("the application chose {0:?}, which the client did not offer")]
    NotOffered(String),
    /// The application's [`Accept`](super::Accept) holds a value that cannot be a header value. 500.
    #[error("the application's choice {0:?} is not a valid header value")]
    InvalidAccept(String),
    /// The server cannot take the connection over (no HTTP/1.1 upgrade support on it). 500.
    #[error("this connection cannot be upgraded")]
    UpgradeUnavailable,
    /// An HTTP/2 extended CONNECT (RFC 8441) whose `:protocol` is not `websocket`, or a
    /// CONNECT without one. 400.
    #[error("the CONNECT request asks for protocol {0:?}, not websocket")]
    UnsupportedProtocol(String),
}

impl ServerError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ServerError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ServerError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ServerError::MissingUpgrade | ServerError::UnsupportedVersion => {
                StatusCode::UPGRADE_REQUIRED
            }
            ServerError::Rejected(status) => *status,
            ServerError::NotOffered(_)
            | ServerError::InvalidAccept(_)
            | ServerError::UpgradeUnavailable => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The HTTP response answering this error: status, the headers the RFC asks for
    /// (`Sec-WebSocket-Version: 13` with 426) and a short text body. For servers that write it
    /// through an HTTP library (hyper, axum); [`response_bytes`](ServerError::response_bytes)
    /// is the same response as bytes.
    pub fn response(&self) -> Response<Vec<u8>> {
        let mut response = Response::new(format!("{self}\n").into_bytes());
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        match self {
            ServerError::UnsupportedVersion => {
                headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            }
            ServerError::MissingUpgrade => {
                headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            }
            ServerError::MethodNotAllowed(_) => {
                headers.insert(http::header::ALLOW, HeaderValue::from_static("GET"));
            }
            _ => {}
        }
        response
    }

    /// [`response`](ServerError::response) as bytes, with `Content-Length` and
    /// `Connection: close`: the connection ends after it.
    pub fn response_bytes(&self) -> Vec<u8> {
        encode_refusal(&self.response())
    }
}

/// The bytes of a response refusing an upgrade: status line, headers, `Content-Length` (unless
/// given), `Connection: close`, body.
pub fn encode_refusal(response: &Response<Vec<u8>>) -> Vec<u8> {
    let (status, headers, body) = (response.status(), response.headers(), response.body());
    let mut out = Vec::with_capacity(128 + body.len());
    write_status_line(&mut out, status);
    write_response_headers(&mut out, headers);
    if !headers.contains_key(http::header::CONTENT_LENGTH) {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// The bytes of a response head accepting an upgrade (from [`respond_head`](super::respond_head)); the WebSocket
/// connection starts right after them.
pub fn encode_response(response: &Response<()>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_status_line(&mut out, response.status());
    write_response_headers(&mut out, response.headers());
    out.extend_from_slice(b"\r\n");
    out
}

fn write_status_line(out: &mut Vec<u8>, status: StatusCode) {
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {} {}\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
        .as_bytes(),
    );
}
