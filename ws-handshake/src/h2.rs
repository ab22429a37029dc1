//! Bootstrapping WebSockets with HTTP/2 (RFC 8441): the extended CONNECT request and its 200
//! response, for servers and clients.
//!
//! The differences from the HTTP/1.1 upgrade are all in the head: the method is `CONNECT`, the
//! `:protocol` pseudo-header is `websocket`, there is no `Sec-WebSocket-Key` (so no
//! `Sec-WebSocket-Accept`), no `Upgrade`/`Connection`, and success is any 2xx (we send 200).
//! Subprotocols and extensions are negotiated by the same code as HTTP/1.1: [`respond_head`]
//! on the server, the same response checks on the client.
//!
//! `http::Request` has no field for `:protocol`: HTTP/2 libraries carry it in the request's
//! extensions (`h2::ext::Protocol`, `hyper::ext::Protocol`), so it is a parameter here.
//!
//! [`respond_head`]: crate::respond_head

use crate::client::{ClientError, ClientHandshake};
use crate::server::{validate_extension_offers, validate_version, Negotiated, ServerError};
use http::header::{CONNECTION, HOST, SEC_WEBSOCKET_KEY, UPGRADE};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Method, Request, Response, Uri, Version};

/// The `:protocol` of a WebSocket extended CONNECT (RFC 8441 §4).
pub const WEBSOCKET_PROTOCOL: &str = "websocket";

fn is_websocket(protocol: Option<&str>) -> bool {
    protocol.is_some_and(|p| p.eq_ignore_ascii_case(WEBSOCKET_PROTOCOL))
}

/// Whether a request is an extended CONNECT for a WebSocket (RFC 8441 §4): method `CONNECT`
/// with `:protocol` (given as `protocol`) `websocket`, valid or not. A server routing requests
/// sends these to [`validate_extended_connect`].
pub fn is_extended_connect<B>(request: &Request<B>, protocol: Option<&str>) -> bool {
    request.method() == Method::CONNECT && is_websocket(protocol)
}

/// Validates an HTTP/2 (or later) extended CONNECT request (RFC 8441 §5) whose `:protocol`
/// pseudo-header is `protocol`: method `CONNECT`, `:protocol` `websocket`,
/// `Sec-WebSocket-Version: 13`, well-formed extension offers. There is no key to check. A valid
/// request is then answered by [`respond_head`](crate::respond_head), with 200.
pub fn validate_extended_connect<B>(
    request: &Request<B>,
    protocol: Option<&str>,
) -> Result<(), ServerError> {
    if request.method() != Method::CONNECT {
        return Err(ServerError::MethodNotAllowed(request.method().to_string()));
    }
    if request.version() < Version::HTTP_2 {
        return Err(ServerError::UnsupportedHttpVersion);
    }
    if !is_websocket(protocol) {
        return Err(ServerError::UnsupportedProtocol(
            protocol.unwrap_or_default().to_string(),
        ));
    }
    validate_version(request.headers())?;
    validate_extension_offers(request.headers())
}

impl ClientHandshake {
    /// The extended CONNECT request of this handshake for an HTTP/2 connection (RFC 8441 §5):
    /// method `CONNECT`, version HTTP/2, the URI with scheme `https` (for `wss://`) or `http`,
    /// the authority of the `Host` header, and every header of the HTTP/1.1 request except
    /// `Host`, `Upgrade`, `Connection` and `Sec-WebSocket-Key`. The caller sets the
    /// `:protocol` pseudo-header to [`WEBSOCKET_PROTOCOL`] in its HTTP/2 library's way
    /// (`h2::ext::Protocol` in the request's extensions).
    pub fn extended_connect_request(&self) -> Result<Request<()>, ClientError> {
        let http1 = self.request();
        let scheme = if self.is_tls() {
            Scheme::HTTPS
        } else {
            Scheme::HTTP
        };
        let authority = http1
            .headers()
            .get(HOST)
            .and_then(|host| Authority::try_from(host.as_bytes()).ok())
            .ok_or_else(|| ClientError::InvalidHeader("Host".into()))?;
        let path = http1
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let uri = Uri::builder()
            .scheme(scheme)
            .authority(authority)
            .path_and_query(path)
            .build()
            .map_err(|e| ClientError::InvalidHeader(format!("request target: {e}")))?;
        let mut request = Request::new(());
        *request.method_mut() = Method::CONNECT;
        *request.version_mut() = Version::HTTP_2;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        *headers = http1.headers().clone();
        for name in [HOST, UPGRADE, CONNECTION, SEC_WEBSOCKET_KEY] {
            headers.remove(name);
        }
        Ok(request)
    }

    /// Checks the server's answer to
    /// [`extended_connect_request`](ClientHandshake::extended_connect_request): a 2xx status accepts the WebSocket, with
    /// a subprotocol and extensions the client offered (the same checks as the 101 of
    /// HTTP/1.1); any other status is [`ClientError::Rejected`] with its head (the body, if
    /// the caller wants it, is on the HTTP/2 stream).
    pub fn check_extended_connect_response(
        &self,
        response: &Response<()>,
    ) -> Result<Negotiated, ClientError> {
        if !response.status().is_success() {
            let mut rejected = Response::new(Vec::new());
            *rejected.status_mut() = response.status();
            *rejected.headers_mut() = response.headers().clone();
            return Err(ClientError::Rejected {
                response: Box::new(rejected),
            });
        }
        let (protocol, extensions) = self.check_negotiated(response.headers())?;
        Ok(Negotiated {
            protocol,
            extensions,
        })
    }
}

#[cfg(test)]
#[path = "h2_tests.rs"]
mod tests;
