//! The client side: building the upgrade request and checking the server's response
//! (RFC 6455 §4.1).

pub use crate::client_error::ClientError;
use crate::extensions::{parse_extensions, Extension};
use crate::headers::{has_token, list_values, single, to_header_map, write_headers};
use crate::{accept_key, generate_key};
use http::header::{
    CONNECTION, CONTENT_LENGTH, HOST, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS,
    SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};

/// Most response header bytes a client buffers before giving up. A hostile server cannot make
/// the client buffer more.
const MAX_RESPONSE_HEAD: usize = 16 * 1024;
/// Most response headers parsed.
const MAX_RESPONSE_HEADERS: usize = 64;
/// Most body bytes of a refusal kept to show the user.
const MAX_REJECTION_BODY: usize = 64 * 1024;

/// Anything a client can be asked to connect to: a URL or a prepared request.
pub trait IntoClientRequest {
    /// The request, with the user's method, URI and headers.
    fn into_client_request(self) -> Result<Request<()>, ClientError>;
}

impl IntoClientRequest for Uri {
    fn into_client_request(self) -> Result<Request<()>, ClientError> {
        let mut request = Request::new(());
        *request.uri_mut() = self;
        Ok(request)
    }
}

impl IntoClientRequest for &str {
    fn into_client_request(self) -> Result<Request<()>, ClientError> {
        self.parse::<Uri>()
            .map_err(|e| ClientError::InvalidUri(format!("{self}: {e}")))?
            .into_client_request()
    }
}

impl IntoClientRequest for String {
    fn into_client_request(self) -> Result<Request<()>, ClientError> {
        self.as_str().into_client_request()
    }
}

impl IntoClientRequest for &String {
    fn into_client_request(self) -> Result<Request<()>, ClientError> {
        self.as_str().into_client_request()
    }
}

impl IntoClientRequest for Request<()> {
    fn into_client_request(self) -> Result<Request<()>, ClientError> {
        Ok(self)
    }
}

/// Where the response stands.
#[derive(Debug)]
pub enum ClientStatus {
    /// More bytes are needed.
    Partial,
    /// The server accepted the upgrade.
    Done {
        /// The 101 response.
        response: Response<()>,
        /// The subprotocol the server chose, if any.
        protocol: Option<String>,
        /// The extensions the server accepted, with their parameters.
        extensions: Vec<Extension>,
        /// Bytes of the input that belong to the response: the rest are WebSocket frames.
        consumed: usize,
    },
}

/// The client side of one opening handshake.
#[derive(Debug)]
pub struct ClientHandshake {
    request: Request<()>,
    key: String,
    host: String,
    port: u16,
    tls: bool,
    protocols: Vec<String>,
    extensions: Vec<String>,
}

impl ClientHandshake {
    /// Prepares the upgrade request: GET, the URI's path and query, `Host` (with the port when
    /// it is not the scheme's default), a fresh `Sec-WebSocket-Key`, `Sec-WebSocket-Version:
    /// 13`, and every header the user set (`Origin`, `Sec-WebSocket-Protocol`,
    /// `Sec-WebSocket-Extensions`, cookies, authorization).
    pub fn new(request: impl IntoClientRequest) -> Result<Self, ClientError> {
        let mut request = request.into_client_request()?;
        let uri = request.uri().clone();
        let tls = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("ws") => false,
            Some(s) if s.eq_ignore_ascii_case("wss") => true,
            other => return Err(ClientError::UnsupportedScheme(other.unwrap_or("").into())),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or(ClientError::MissingHost)?
            .to_string();
        let default_port = if tls { 443 } else { 80 };
        let port = uri.port_u16().unwrap_or(default_port);
        *request.method_mut() = Method::GET;
        let headers = request.headers_mut();
        if !headers.contains_key(HOST) {
            // http::Uri keeps IPv6 literals in brackets, as Host needs them.
            let value = if port == default_port {
                host.clone()
            } else {
                format!("{host}:{port}")
            };
            let value = HeaderValue::from_str(&value)
                .map_err(|_| ClientError::InvalidHeader(format!("Host {value:?}")))?;
            headers.insert(HOST, value);
        }
        let key = generate_key();
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        headers.insert(
            SEC_WEBSOCKET_KEY,
            HeaderValue::from_str(&key).map_err(|_| ClientError::InvalidHeader("key".into()))?,
        );
        let protocols = list_values(headers, &SEC_WEBSOCKET_PROTOCOL)
            .map(str::to_string)
            .collect();
        let extensions = parse_extensions(
            headers
                .get_all(SEC_WEBSOCKET_EXTENSIONS)
                .iter()
                .map(|v| v.as_bytes()),
        )
        .map_err(|e| ClientError::InvalidHeader(e.to_string()))?
        .into_iter()
        .map(|e| e.name)
        .collect();
        Ok(ClientHandshake {
            request,
            key,
            host,
            port,
            tls,
            protocols,
            extensions,
        })
    }

    /// Adds an extension offer (appended to any `Sec-WebSocket-Extensions` the user set).
    pub fn offer_extension(&mut self, extension: &Extension) -> Result<(), ClientError> {
        let value = HeaderValue::from_str(&extension.to_string())
            .map_err(|_| ClientError::InvalidHeader(format!("extension {extension}")))?;
        self.request
            .headers_mut()
            .append(SEC_WEBSOCKET_EXTENSIONS, value);
        self.extensions.push(extension.name.clone());
        Ok(())
    }

    /// Whether an extension of this name is offered.
    pub fn offers_extension(&self, name: &str) -> bool {
        self.extensions.iter().any(|e| e == name)
    }

    /// The request as it will be sent.
    pub fn request(&self) -> &Request<()> {
        &self.request
    }

    /// The URI connected to.
    pub fn uri(&self) -> &Uri {
        self.request.uri()
    }

    /// The host to connect to (IPv6 literals in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to (80 for `ws://`, 443 for `wss://` unless given).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the URL is `wss://`: TLS must wrap the connection.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The serialized HTTP/1.1 request to write.
    pub fn request_bytes(&self) -> Vec<u8> {
        let target = self
            .request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("/");
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        write_headers(&mut out, self.request.headers());
        out.extend_from_slice(b"\r\n");
        out
    }

    /// Parses the response from the bytes received so far (all of them, each time).
    pub fn parse_response(&mut self, buf: &[u8]) -> Result<ClientStatus, ClientError> {
        let mut raw = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
        let mut parsed = httparse::Response::new(&mut raw);
        let head_len = match parsed.parse(buf) {
            Ok(httparse::Status::Complete(n)) if n <= MAX_RESPONSE_HEAD => n,
            Ok(httparse::Status::Complete(_)) | Err(httparse::Error::TooManyHeaders) => {
                return Err(ClientError::ResponseTooLarge)
            }
            Ok(httparse::Status::Partial) if buf.len() > MAX_RESPONSE_HEAD => {
                return Err(ClientError::ResponseTooLarge)
            }
            Ok(httparse::Status::Partial) => return Ok(ClientStatus::Partial),
            Err(e) => return Err(ClientError::MalformedResponse(e.to_string())),
        };
        let code = parsed.code.unwrap_or(0);
        let status = StatusCode::from_u16(code)
            .map_err(|_| ClientError::MalformedResponse(format!("status {code}")))?;
        let headers = to_header_map(parsed.headers).map_err(ClientError::MalformedResponse)?;
        if status != StatusCode::SWITCHING_PROTOCOLS {
            return self.rejection(status, headers, &buf[head_len..], false);
        }
        self.check_accepted(status, headers, head_len)
    }

    /// The connection ended: a refusal without `Content-Length` ends its body this way.
    pub fn finish_eof(&mut self, buf: &[u8]) -> ClientError {
        let mut raw = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
        let mut parsed = httparse::Response::new(&mut raw);
        let Ok(httparse::Status::Complete(head_len)) = parsed.parse(buf) else {
            return ClientError::UnexpectedEof;
        };
        let status = parsed.code.and_then(|c| StatusCode::from_u16(c).ok());
        match (status, to_header_map(parsed.headers)) {
            (Some(status), Ok(headers)) if status != StatusCode::SWITCHING_PROTOCOLS => {
                match self.rejection(status, headers, &buf[head_len..], true) {
                    Err(e) => e,
                    Ok(_) => ClientError::UnexpectedEof,
                }
            }
            _ => ClientError::UnexpectedEof,
        }
    }

    fn rejection(
        &self,
        status: StatusCode,
        headers: http::HeaderMap,
        body: &[u8],
        eof: bool,
    ) -> Result<ClientStatus, ClientError> {
        let length = single(&headers, &CONTENT_LENGTH)
            .ok()
            .flatten()
            .and_then(|v| v.to_str().ok()?.trim().parse::<usize>().ok());
        let wanted = length.unwrap_or(usize::MAX).min(MAX_REJECTION_BODY);
        // Without a length the body runs to EOF; keep waiting unless the cap is reached.
        if body.len() < wanted && !eof {
            return Ok(ClientStatus::Partial);
        }
        let mut response = Response::new(body[..body.len().min(wanted)].to_vec());
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Err(ClientError::Rejected {
            response: Box::new(response),
        })
    }

    fn check_accepted(
        &self,
        status: StatusCode,
        headers: http::HeaderMap,
        head_len: usize,
    ) -> Result<ClientStatus, ClientError> {
        if !has_token(&headers, &UPGRADE, "websocket") {
            return Err(ClientError::MissingUpgrade);
        }
        if !has_token(&headers, &CONNECTION, "upgrade") {
            return Err(ClientError::MissingConnectionUpgrade);
        }
        let expected = accept_key(self.key.as_bytes());
        match single(&headers, &SEC_WEBSOCKET_ACCEPT) {
            Ok(Some(v)) if v.as_bytes() == expected.as_bytes() => {}
            _ => return Err(ClientError::InvalidAccept),
        }
        let (protocol, extensions) = self.check_negotiated(&headers)?;
        let mut response = Response::new(());
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok(ClientStatus::Done {
            response,
            protocol,
            extensions,
            consumed: head_len,
        })
    }

    /// The subprotocol and extensions an accepting response chose, each one the client
    /// offered: shared by the 101 of HTTP/1.1 and the 200 of HTTP/2.
    pub(crate) fn check_negotiated(
        &self,
        headers: &http::HeaderMap,
    ) -> Result<(Option<String>, Vec<Extension>), ClientError> {
        let chosen: Vec<&str> = list_values(headers, &SEC_WEBSOCKET_PROTOCOL).collect();
        let protocol = match chosen.as_slice() {
            [] => None,
            [one] if self.protocols.iter().any(|p| p == one) => Some(one.to_string()),
            _ => return Err(ClientError::UnofferedSubprotocol(chosen.join(", "))),
        };
        let extensions = parse_extensions(
            headers
                .get_all(SEC_WEBSOCKET_EXTENSIONS)
                .iter()
                .map(|v| v.as_bytes()),
        )?;
        if let Some(e) = extensions
            .iter()
            .find(|e| !self.extensions.contains(&e.name))
        {
            return Err(ClientError::UnofferedExtension(e.name.clone()));
        }
        Ok((protocol, extensions))
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
