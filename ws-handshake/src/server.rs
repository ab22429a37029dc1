//! The server side: reading and validating the upgrade request, the application's decision,
//! and the response (RFC 6455 §4.2).

use crate::accept_key;
use crate::extensions::{format_extensions, parse_extensions, Extension};
use crate::headers::{has_token, list_values, single, to_header_map, write_response_headers};
use base64::Engine;
use http::header::{
    CONNECTION, HOST, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version};

/// Limits on the request head, so a client cannot make the server buffer without bound.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Most bytes of request line and headers; more is answered with 431. Default 8 KiB.
    pub max_header_bytes: usize,
    /// Most header lines; more is answered with 431. Default 64.
    pub max_headers: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_header_bytes: 8 * 1024,
            max_headers: 64,
        }
    }
}

impl ServerConfig {
    /// Sets [`max_header_bytes`](ServerConfig::max_header_bytes).
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Sets [`max_headers`](ServerConfig::max_headers).
    pub fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }
}

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
    /// The application's [`Accept`] holds a value that cannot be a header value. 500.
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

/// The bytes of a response head accepting an upgrade (from [`respond_head`]); the WebSocket
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

/// Reads an upgrade request from the bytes received so far (all of them, each time) and
/// validates it (RFC 6455 §4.2.1). `Ok(None)`: more bytes are needed; `Ok(Some((request,
/// consumed)))`: bytes past `consumed` already belong to the WebSocket connection.
pub fn parse_request(
    buf: &[u8],
    config: &ServerConfig,
) -> Result<Option<(Request<()>, usize)>, ServerError> {
    let mut raw = vec![httparse::EMPTY_HEADER; config.max_headers];
    let mut parsed = httparse::Request::new(&mut raw);
    let head_len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(n)) if n <= config.max_header_bytes => n,
        Ok(httparse::Status::Partial) if buf.len() <= config.max_header_bytes => return Ok(None),
        Ok(_) | Err(httparse::Error::TooManyHeaders) => return Err(ServerError::HeadersTooLarge),
        Err(e) => return Err(ServerError::Malformed(e.to_string())),
    };
    let method = parsed.method.unwrap_or("");
    if method != "GET" {
        return Err(ServerError::MethodNotAllowed(method.to_string()));
    }
    if parsed.version != Some(1) {
        return Err(ServerError::UnsupportedHttpVersion);
    }
    let target = parsed.path.unwrap_or("/");
    let headers = to_header_map(parsed.headers).map_err(ServerError::Malformed)?;
    let mut request = Request::new(());
    *request.method_mut() = Method::GET;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    validate_headers(request.headers())?;
    *request.uri_mut() = target
        .parse()
        .map_err(|_| ServerError::Malformed(format!("request target {target:?}")))?;
    Ok(Some((request, head_len)))
}

/// Whether a request asks for a WebSocket upgrade (`Upgrade: websocket`), valid or not: a
/// server routing requests sends these to [`validate_request`] (and answers the invalid ones
/// with [`ServerError::response`]) and serves the others as plain HTTP.
pub fn is_upgrade_request<B>(request: &Request<B>) -> bool {
    has_token(request.headers(), &UPGRADE, "websocket")
}

/// Validates an upgrade request that an HTTP library already parsed (hyper, axum), the checks
/// [`parse_request`] makes after parsing (RFC 6455 §4.2.1): GET, HTTP/1.1, one `Host`,
/// `Upgrade: websocket`, `Connection: upgrade`, a key of 16 base64 bytes, version 13, and
/// well-formed extension offers.
pub fn validate_request<B>(request: &Request<B>) -> Result<(), ServerError> {
    if request.method() != Method::GET {
        return Err(ServerError::MethodNotAllowed(request.method().to_string()));
    }
    if request.version() < Version::HTTP_11 {
        return Err(ServerError::UnsupportedHttpVersion);
    }
    validate_headers(request.headers())
}

/// A copy of a request's head (method, target, version, headers) without its body or
/// extensions: what a [`Callback`] sees.
pub fn request_head<B>(request: &Request<B>) -> Request<()> {
    let mut head = Request::new(());
    *head.method_mut() = request.method().clone();
    *head.uri_mut() = request.uri().clone();
    *head.version_mut() = request.version();
    *head.headers_mut() = request.headers().clone();
    head
}

fn validate_headers(headers: &HeaderMap) -> Result<(), ServerError> {
    if !matches!(single(headers, &HOST), Ok(Some(_))) {
        return Err(ServerError::InvalidHost);
    }
    if !has_token(headers, &UPGRADE, "websocket") {
        return Err(ServerError::MissingUpgrade);
    }
    if !has_token(headers, &CONNECTION, "upgrade") {
        return Err(ServerError::MissingConnectionUpgrade);
    }
    validate_version(headers)?;
    let key = match single(headers, &SEC_WEBSOCKET_KEY) {
        Ok(Some(key)) => key.as_bytes().trim_ascii(),
        _ => return Err(ServerError::InvalidKey),
    };
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Ok(nonce) if nonce.len() == 16 => {}
        _ => return Err(ServerError::InvalidKey),
    }
    validate_extension_offers(headers)
}

/// `Sec-WebSocket-Version: 13` (once), the check HTTP/1.1 upgrades and HTTP/2 extended
/// CONNECT requests share.
pub(crate) fn validate_version(headers: &HeaderMap) -> Result<(), ServerError> {
    match single(headers, &SEC_WEBSOCKET_VERSION) {
        Ok(Some(v)) if v.as_bytes().trim_ascii() == b"13" => Ok(()),
        _ => Err(ServerError::UnsupportedVersion),
    }
}

/// Well-formed `Sec-WebSocket-Extensions` offers, whatever the HTTP version.
pub(crate) fn validate_extension_offers(headers: &HeaderMap) -> Result<(), ServerError> {
    parse_extensions(
        headers
            .get_all(SEC_WEBSOCKET_EXTENSIONS)
            .iter()
            .map(|v| v.as_bytes()),
    )?;
    Ok(())
}

/// The subprotocols a request offers, in the client's order of preference.
pub fn offered_protocols(request: &Request<()>) -> Vec<&str> {
    list_values(request.headers(), &SEC_WEBSOCKET_PROTOCOL).collect()
}

/// The extensions a request offers (already validated by [`parse_request`]).
pub fn offered_extensions(request: &Request<()>) -> Vec<Extension> {
    parse_extensions(
        request
            .headers()
            .get_all(SEC_WEBSOCKET_EXTENSIONS)
            .iter()
            .map(|v| v.as_bytes()),
    )
    .unwrap_or_default()
}

/// The application's decision to accept a request, with its choices.
#[derive(Clone, Debug, Default)]
pub struct Accept {
    protocol: Option<String>,
    extensions: Vec<Extension>,
    headers: HeaderMap,
}

impl Accept {
    /// Accepts with no subprotocol and no extension.
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses a subprotocol; it must be one the client offered.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = Some(protocol.into());
        self
    }

    /// Accepts an extension with the given response parameters; its name must be one the
    /// client offered.
    pub fn extension(mut self, extension: Extension) -> Self {
        self.extensions.push(extension);
        self
    }

    /// Adds a response header (a cookie, for instance).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Whether an extension of this name was accepted.
    pub fn has_extension(&self, name: &str) -> bool {
        self.extensions.iter().any(|e| e.name == name)
    }
}

/// The application's decision to refuse a request: any status, headers and body.
#[derive(Clone, Debug)]
pub struct Reject {
    status: StatusCode,
    /// Headers and body, boxed to keep `Result<Accept, Reject>` small.
    rest: Box<(HeaderMap, Vec<u8>)>,
}

impl Reject {
    /// Refuses with `status` and an empty body.
    pub fn new(status: StatusCode) -> Self {
        Reject {
            status,
            rest: Box::default(),
        }
    }

    /// Adds a response header (`WWW-Authenticate`, `Location`, ...).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.rest.0.append(name, value);
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.rest.1 = body.into();
        self
    }
}

/// Sees the validated request and accepts or rejects it.
pub trait Callback {
    /// Decides on `request` (path, query, headers, `Origin`, cookies).
    fn on_request(self, request: &Request<()>) -> Result<Accept, Reject>;
}

impl<F> Callback for F
where
    F: FnOnce(&Request<()>) -> Result<Accept, Reject>,
{
    fn on_request(self, request: &Request<()>) -> Result<Accept, Reject> {
        self(request)
    }
}

/// Accepts every valid request, without subprotocol or extension.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCallback;

impl Callback for NoCallback {
    fn on_request(self, _: &Request<()>) -> Result<Accept, Reject> {
        Ok(Accept::default())
    }
}

/// What the handshake settled on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The subprotocol, if one was chosen.
    pub protocol: Option<String>,
    /// The accepted extensions with their response parameters.
    pub extensions: Vec<Extension>,
}

/// A refused upgrade: why, and the response saying so (boxed: it is large and rare).
#[derive(Debug, thiserror::Error)]
#[error("the WebSocket upgrade was refused with {}", response.status())]
pub struct Refusal {
    /// Why; its [`status`](ServerError::status) is the response's.
    #[source]
    pub error: ServerError,
    /// The response refusing the upgrade: status, headers, body.
    pub response: Box<Response<Vec<u8>>>,
}

impl From<ServerError> for Refusal {
    fn from(error: ServerError) -> Self {
        let response = Box::new(error.response());
        Refusal { error, response }
    }
}

/// Asks `callback` about a request from [`parse_request`] and produces the response bytes:
/// `Ok` with the 101 response and what was negotiated, or `Err` with the error and the HTTP
/// response refusing the upgrade. [`respond_head`], as bytes.
pub fn respond(
    request: &Request<()>,
    callback: impl Callback,
) -> Result<(Vec<u8>, Negotiated), (ServerError, Vec<u8>)> {
    match respond_head(request, callback) {
        Ok((response, negotiated)) => Ok((encode_response(&response), negotiated)),
        Err(refusal) => Err((refusal.error, encode_refusal(&refusal.response))),
    }
}

/// Asks `callback` about a validated request (from [`parse_request`], [`validate_request`] or,
/// for HTTP/2, [`validate_extended_connect`](crate::validate_extended_connect)) and produces
/// the response (RFC 6455 §4.2.2): `Ok` with the 101 head (200 for an extended CONNECT, RFC
/// 8441 §5) and what was negotiated, or the [`Refusal`] (the callback's [`Reject`], or a 500 when it
/// chose what the client did not offer).
pub fn respond_head(
    request: &Request<()>,
    callback: impl Callback,
) -> Result<(Response<()>, Negotiated), Refusal> {
    let accept = match callback.on_request(request) {
        Ok(accept) => accept,
        Err(reject) => {
            let (headers, body) = *reject.rest;
            let mut response = Response::new(body);
            *response.status_mut() = reject.status;
            *response.headers_mut() = headers;
            return Err(Refusal {
                error: ServerError::Rejected(reject.status),
                response: Box::new(response),
            });
        }
    };
    let fail = Refusal::from;
    if let Some(p) = &accept.protocol {
        if !offered_protocols(request).contains(&p.as_str()) {
            return Err(fail(ServerError::NotOffered(p.clone())));
        }
    }
    let offered = offered_extensions(request);
    if let Some(e) = accept
        .extensions
        .iter()
        .find(|e| !offered.iter().any(|o| o.name == e.name))
    {
        return Err(fail(ServerError::NotOffered(e.name.clone())));
    }
    let value = |text: String| {
        HeaderValue::try_from(text.as_str()).map_err(|_| fail(ServerError::InvalidAccept(text)))
    };
    let mut response = Response::new(());
    // An HTTP/2 extended CONNECT (RFC 8441 §5): 200, no key to answer, no hop headers.
    let extended_connect = request.method() == Method::CONNECT;
    *response.status_mut() = if extended_connect {
        StatusCode::OK
    } else {
        StatusCode::SWITCHING_PROTOCOLS
    };
    let headers = response.headers_mut();
    if !extended_connect {
        let key = request
            .headers()
            .get(SEC_WEBSOCKET_KEY)
            .map(|k| k.as_bytes().trim_ascii())
            .ok_or_else(|| fail(ServerError::InvalidKey))?;
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(SEC_WEBSOCKET_ACCEPT, value(accept_key(key))?);
    }
    if let Some(p) = &accept.protocol {
        headers.insert(SEC_WEBSOCKET_PROTOCOL, value(p.clone())?);
    }
    if !accept.extensions.is_empty() {
        let extensions = format_extensions(&accept.extensions);
        headers.insert(SEC_WEBSOCKET_EXTENSIONS, value(extensions)?);
    }
    for (name, value) in &accept.headers {
        headers.append(name, value.clone());
    }
    Ok((
        response,
        Negotiated {
            protocol: accept.protocol,
            extensions: accept.extensions,
        },
    ))
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
