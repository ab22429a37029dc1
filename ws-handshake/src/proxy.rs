//! Proxies, sans-IO: the [`Proxy`] URL (`http://`, `https://`, `socks5://`, `socks5h://`), its
//! errors, and the HTTP `CONNECT` exchange (RFC 9110 §9.3.6).
//!
//! [`Proxy::connect_request`] gives the bytes to send to an HTTP proxy;
//! [`Proxy::parse_connect_response`] reads its answer incrementally under a size limit. A 2xx
//! answer establishes the tunnel: the bytes after its head belong to the target server and are
//! handed back as `consumed`. With an `https://` proxy the same exchange runs inside TLS to the
//! proxy (the caller's I/O layer adds it). SOCKS5 is in [`Socks5Handshake`](crate::Socks5Handshake);
//! [`Tunnel`](crate::Tunnel) drives either.

use crate::socks5::Socks5Reply;
use base64::Engine;
use http::{StatusCode, Uri};
use std::fmt;

/// Default for [`Proxy::max_response_head`]: the most bytes of a proxy's answer head buffered.
pub const DEFAULT_PROXY_MAX_HEAD: usize = 16 * 1024;
/// Most headers parsed in a proxy's answer.
const MAX_PROXY_HEADERS: usize = 64;

/// Why connecting through a proxy failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL is not valid, has an unsupported scheme or no host.
    #[error("invalid proxy URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given (credentials removed).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The proxy answered 407 Proxy Authentication Required: credentials are missing or wrong.
    /// A 401 answer to `CONNECT` also lands here: it can only come from the proxy, and some
    /// proxies send it for wrong credentials (tinyproxy before 1.11.2, tinyproxy issue #532).
    #[error(
        "the proxy {proxy} requires authentication ({status}){}: give a user name and password \
         in the proxy URL, or check them",
        challenge_suffix(.challenge)
    )]
    AuthRequired {
        /// The proxy, as `scheme://host:port` (no credentials).
        proxy: String,
        /// 407, or 401 from proxies that answer wrong credentials so.
        status: StatusCode,
        /// The `Proxy-Authenticate` challenge, if the proxy sent one.
        challenge: Option<String>,
    },
    /// The proxy refused to open the tunnel with a non-2xx status: 403 (target not allowed),
    /// 502/503/504 (the target could not be reached), ...
    #[error("the proxy {proxy} refused the tunnel: {status} {reason}")]
    Rejected {
        /// The proxy, as `scheme://host:port` (no credentials).
        proxy: String,
        /// The proxy's status.
        status: StatusCode,
        /// Its reason phrase.
        reason: String,
    },
    /// The proxy's answer is not valid HTTP/1.1.
    #[error("malformed proxy response: {0}")]
    MalformedResponse(String),
    /// The proxy's answer head exceeds [`Proxy::max_response_head`] bytes or 64 headers.
    #[error("the proxy response head is too large")]
    ResponseTooLarge,
    /// The proxy closed the connection before a complete answer.
    #[error("the proxy {proxy} closed the connection before the tunnel was open")]
    UnexpectedEof {
        /// The proxy, as `scheme://host:port` (no credentials).
        proxy: String,
    },
    /// The SOCKS5 proxy could not or would not connect to the target (RFC 1928 §6 reply code).
    #[error("the SOCKS5 proxy {proxy} did not connect to the target: {reply}")]
    Socks5Refused {
        /// The proxy, as `scheme://host:port` (no credentials).
        proxy: String,
        /// Its reply code.
        reply: Socks5Reply,
    },
    /// The SOCKS5 proxy accepts none of the authentication methods offered: "no
    /// authentication", and user name/password when the proxy URL has credentials.
    #[error(
        "the SOCKS5 proxy {proxy} accepts none of the offered authentication methods{}",
        if *.offered_password { " (none, user name/password): it wants one this client does not support" }
        else { ": give a user name and password in the proxy URL" }
    )]
    Socks5NoAcceptableMethod {
        /// The proxy, as `scheme://host:port` (no credentials).
        proxy: String,
        /// Whether user name/password authentication was offered.
        offered_password: bool,
    },
    /// The SOCKS5 proxy rejected the user name and password (RFC 1929 status not 0).
    #[error("the SOCKS5 proxy {proxy} rejected the user name or password (status {status}): check the credentials in the proxy URL")]
    Socks5AuthFailed {
        /// The proxy, as `scheme://host:port` (no credentials).
        proxy: String,
        /// The RFC 1929 status byte.
        status: u8,
    },
    /// The SOCKS5 proxy's answer is not valid RFC 1928/1929 (or it is not a SOCKS5 proxy).
    #[error("the SOCKS5 proxy {proxy} answered with a malformed reply: {reason}")]
    Socks5Malformed {
        /// The proxy, as `scheme://host:port` (no credentials).
        proxy: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS handshake with an `https://` proxy failed (an untrusted or invalid certificate,
    /// a TLS alert, or the proxy does not speak TLS).
    #[error(
        "the TLS handshake with the proxy {proxy} failed: check that the client trusts its \
         certificate (ClientConfig::proxy_tls) and that it serves TLS on that port"
    )]
    Tls {
        /// The proxy, as `scheme://host:port` (no credentials).
        proxy: String,
        /// The TLS or I/O error (a rustls error inside for certificate problems).
        #[source]
        source: std::io::Error,
    },
    /// The target's host name did not resolve on this machine, for a `socks5://` proxy
    /// (`socks5h://` leaves resolving to the proxy).
    #[error("cannot resolve {host} to connect through the proxy {proxy}: use socks5h:// to have the proxy resolve it")]
    Resolve {
        /// The proxy, as `scheme://host:port` (no credentials).
        proxy: String,
        /// The target's host name.
        host: String,
        /// The resolver's error.
        #[source]
        source: std::io::Error,
    },
    /// A field SOCKS5 carries with a one-byte length (user name, password, target host name)
    /// is longer than 255 bytes.
    #[error("the {field} is longer than the 255 bytes SOCKS5 can carry")]
    Socks5FieldTooLong {
        /// Which field.
        field: &'static str,
    },
    /// The target sent bytes right after the tunnel opened, before the TLS client hello: no TLS
    /// server speaks first, so the tunnel does not lead to one.
    #[error("{0} unexpected bytes in the tunnel before the TLS handshake")]
    DataBeforeTls(usize),
}

impl ProxyError {
    /// The proxy's HTTP status, for [`AuthRequired`](Self::AuthRequired) (407) and
    /// [`Rejected`](Self::Rejected).
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ProxyError::AuthRequired { status, .. } | ProxyError::Rejected { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }
}

fn challenge_suffix(challenge: &Option<String>) -> String {
    challenge
        .as_ref()
        .map(|c| format!(", challenge: {c}"))
        .unwrap_or_default()
}

/// The kind of proxy, from the proxy URL's scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyKind {
    /// `http://`: HTTP `CONNECT` over plain TCP to the proxy.
    Http,
    /// `https://`: HTTP `CONNECT` inside TLS to the proxy.
    Https,
    /// `socks5://`: SOCKS5, the target's name resolved by the client.
    Socks5,
    /// `socks5h://`: SOCKS5, the target's name resolved by the proxy.
    Socks5h,
}

impl ProxyKind {
    /// The URL scheme.
    pub fn scheme(self) -> &'static str {
        match self {
            ProxyKind::Http => "http",
            ProxyKind::Https => "https",
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Socks5h => "socks5h",
        }
    }

    /// The port used when the URL has none: 80, 443, and 1080 for SOCKS.
    pub fn default_port(self) -> u16 {
        match self {
            ProxyKind::Http => 80,
            ProxyKind::Https => 443,
            ProxyKind::Socks5 | ProxyKind::Socks5h => 1080,
        }
    }

    fn from_scheme(scheme: &str) -> Option<ProxyKind> {
        [
            ProxyKind::Http,
            ProxyKind::Https,
            ProxyKind::Socks5,
            ProxyKind::Socks5h,
        ]
        .into_iter()
        .find(|kind| scheme.eq_ignore_ascii_case(kind.scheme()))
    }
}

/// A proxy to tunnel WebSocket connections through: HTTP `CONNECT` over TCP or TLS, or SOCKS5,
/// with optional credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    kind: ProxyKind,
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
    max_response_head: usize,
}

impl fmt::Debug for Proxy {
    // Never print the password: configs end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("max_response_head", &self.max_response_head)
            .finish()
    }
}

/// The proxy as `scheme://host:port`, without credentials: how errors name it.
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.kind.scheme(), self.host, self.port)
    }
}

impl Proxy {
    /// A proxy from its URL: `scheme://host:port` or `scheme://user:password@host:port`
    /// (percent-encoded credentials are decoded), with scheme `http`, `https`, `socks5` or
    /// `socks5h` (see [`ProxyKind`]). Without a scheme, `http://` is assumed; without a port,
    /// the scheme's [default](ProxyKind::default_port).
    pub fn new(url: &str) -> Result<Proxy, ProxyError> {
        let shown = redact(url);
        let invalid = |reason: &str| ProxyError::InvalidUrl {
            url: shown.clone(),
            reason: reason.to_string(),
        };
        let full = if url.contains("://") {
            url.to_string()
        } else {
            format!("http://{url}")
        };
        let uri: Uri = full.parse().map_err(|e| invalid(&format!("{e}")))?;
        let kind = match uri.scheme_str() {
            Some(s) => ProxyKind::from_scheme(s).ok_or_else(|| {
                invalid(&format!(
                    "unsupported scheme {s:?}: use http, https, socks5 or socks5h"
                ))
            })?,
            None => return Err(invalid("no scheme")),
        };
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(invalid("a proxy URL has no path"));
        }
        let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
        let host = authority.host();
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let host_port = authority.as_str().rsplit('@').next().unwrap_or("");
        let port = match authority.port_u16() {
            Some(port) => port,
            None if host_port.len() > host.len() => return Err(invalid("invalid port")),
            None => kind.default_port(),
        };
        let credentials = match authority.as_str().rsplit_once('@') {
            Some((userinfo, _)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                Some((percent_decode(user), percent_decode(password)))
            }
            None => None,
        };
        Ok(Proxy {
            kind,
            host: host.to_string(),
            port,
            credentials,
            max_response_head: DEFAULT_PROXY_MAX_HEAD,
        })
    }

    /// Sets the credentials (`Proxy-Authorization: Basic`, RFC 7617, for HTTP proxies; user
    /// name/password authentication, RFC 1929, for SOCKS5), replacing any from the URL.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some((user.to_string(), password.to_string()));
        self
    }

    /// Sets the most bytes of the proxy's answer head buffered (default 16 KiB).
    pub fn max_response_head(mut self, bytes: usize) -> Self {
        self.max_response_head = bytes;
        self
    }

    /// The kind of proxy, from the URL's scheme.
    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    /// The user name and password, if any.
    pub(crate) fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(user, password)| (user.as_str(), password.as_str()))
    }

    /// The proxy's host (IPv6 literals in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name for basic authentication, if any.
    pub fn user(&self) -> Option<&str> {
        self.credentials.as_ref().map(|(user, _)| user.as_str())
    }

    /// The limit on the answer head, for [`parse_connect_response`](Self::parse_connect_response).
    pub fn response_head_limit(&self) -> usize {
        self.max_response_head
    }

    /// The `CONNECT host:port` request asking the proxy for a tunnel to the target
    /// (RFC 9110 §9.3.6: the request target is the authority form, also sent as `Host`).
    /// `host` may be an IPv6 literal with or without brackets.
    pub fn connect_request(&self, host: &str, port: u16) -> Vec<u8> {
        let authority = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut out = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some((user, password)) = &self.credentials {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            out.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

impl Proxy {
    /// Parses the proxy's answer to `CONNECT` from the bytes read so far.
    ///
    /// `Ok(None)`: incomplete, read more. `Ok(Some(consumed))`: a 2xx answer, the tunnel is open
    /// and `buf[consumed..]` already belongs to the target. Errors: 407 (and 401) as
    /// [`ProxyError::AuthRequired`], other statuses as [`ProxyError::Rejected`], and a head over
    /// [`max_response_head`](Self::max_response_head) bytes as [`ProxyError::ResponseTooLarge`]. The body of a refusal is not read.
    pub fn parse_connect_response(&self, buf: &[u8]) -> Result<Option<usize>, ProxyError> {
        let max_head = self.max_response_head;
        let mut headers = [httparse::EMPTY_HEADER; MAX_PROXY_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let consumed = match response.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if buf.len() > max_head => {
                return Err(ProxyError::ResponseTooLarge)
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => return Err(ProxyError::ResponseTooLarge),
            Err(e) => return Err(ProxyError::MalformedResponse(e.to_string())),
        };
        if consumed > max_head {
            return Err(ProxyError::ResponseTooLarge);
        }
        let code = response.code.unwrap_or(0);
        let status = StatusCode::from_u16(code)
            .map_err(|_| ProxyError::MalformedResponse(format!("status {code}")))?;
        if status.is_success() {
            return Ok(Some(consumed));
        }
        if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED || status == StatusCode::UNAUTHORIZED
        {
            let challenge = response
                .headers
                .iter()
                .find(|h| {
                    h.name.eq_ignore_ascii_case("proxy-authenticate")
                        || h.name.eq_ignore_ascii_case("www-authenticate")
                })
                .map(|h| String::from_utf8_lossy(h.value).into_owned());
            return Err(ProxyError::AuthRequired {
                proxy: self.to_string(),
                status,
                challenge,
            });
        }
        Err(ProxyError::Rejected {
            proxy: self.to_string(),
            status,
            reason: response.reason.unwrap_or("").to_string(),
        })
    }
}

/// The URL with any password replaced, for error messages.
fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let sep = if scheme.is_empty() { "" } else { "://" };
            format!("{scheme}{sep}{user}:***@{host}{}", &rest[authority_end..])
        }
        None => url.to_string(),
    }
}

/// Decodes `%XX` escapes (RFC 3986 §2.1); invalid escapes are kept as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[path = "proxy_tests.rs"]
mod tests;
