//! The server side: reading and validating the upgrade request, the application's decision,
//! and the response (RFC 6455 §4.2).

use crate::accept_key;
use crate::extensions::{format_extensions, parse_extensions, Extension};
use crate::headers::{has_token, list_values, single, to_header_map};
use base64::Engine;
use http::header::{
    CONNECTION, HOST, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, UPGRADE,
};
mod response;
pub use response::{encode_refusal, encode_response, ServerError};

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
