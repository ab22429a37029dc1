//! One sans-IO exchange for every proxy kind: the caller sends [`Tunnel::start`], then feeds
//! what it reads to [`Tunnel::parse`] and does what it says until the tunnel is open.

use crate::proxy::{Proxy, ProxyError, ProxyKind};
use crate::socks5::Socks5Handshake;
use std::net::IpAddr;

/// What to do after reading from the proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TunnelStatus {
    /// The answer is incomplete: read more (end of file now is
    /// [`ProxyError::UnexpectedEof`]).
    Partial,
    /// Drop the first `consumed` bytes read, send `bytes`, and read the answer to them.
    Send {
        /// How many bytes of the input the answer took.
        consumed: usize,
        /// The next message to the proxy.
        bytes: Vec<u8>,
    },
    /// The tunnel is open: the input's bytes after `consumed` are the target's.
    Done {
        /// How many bytes of the input the proxy's last answer took.
        consumed: usize,
    },
}

/// A proxy exchange in progress: HTTP `CONNECT` (`http://`, `https://`) or SOCKS5
/// (`socks5://`, `socks5h://`).
#[derive(Debug, Clone)]
pub struct Tunnel(Inner);

#[derive(Debug, Clone)]
enum Inner {
    Http { proxy: Proxy, request: Vec<u8> },
    Socks5(Socks5Handshake),
}

impl Proxy {
    /// Whether the caller must resolve the target's host name before [`tunnel`](Self::tunnel):
    /// a `socks5://` proxy with a target named by host name rather than IP address.
    pub fn resolves_locally(&self, host: &str) -> bool {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        self.kind() == ProxyKind::Socks5 && bare.parse::<IpAddr>().is_err()
    }

    /// Starts the exchange asking the proxy for a tunnel to `host:port` (`host` may be an IPv6
    /// literal, bracketed or not). `resolved` is the address the caller resolved `host` to when
    /// [`resolves_locally`](Self::resolves_locally) says so; it is ignored otherwise.
    pub fn tunnel(
        &self,
        host: &str,
        port: u16,
        resolved: Option<IpAddr>,
    ) -> Result<Tunnel, ProxyError> {
        Ok(Tunnel(match self.kind() {
            ProxyKind::Http | ProxyKind::Https => Inner::Http {
                proxy: self.clone(),
                request: self.connect_request(host, port),
            },
            ProxyKind::Socks5 | ProxyKind::Socks5h => {
                let target = Socks5Handshake::target_for(self, host, port, resolved);
                Inner::Socks5(Socks5Handshake::new(self, target)?)
            }
        }))
    }
}

impl Tunnel {
    /// The first bytes to send to the proxy.
    pub fn start(&self) -> Vec<u8> {
        match &self.0 {
            Inner::Http { request, .. } => request.clone(),
            Inner::Socks5(socks) => socks.greeting(),
        }
    }

    /// Reads the proxy's answer from the bytes read since the last message sent.
    pub fn parse(&mut self, buf: &[u8]) -> Result<TunnelStatus, ProxyError> {
        match &mut self.0 {
            Inner::Http { proxy, .. } => Ok(match proxy.parse_connect_response(buf)? {
                Some(consumed) => TunnelStatus::Done { consumed },
                None => TunnelStatus::Partial,
            }),
            Inner::Socks5(socks) => socks.parse(buf),
        }
    }

    /// The error for the proxy closing the connection before the tunnel was open.
    pub fn eof_error(&self) -> ProxyError {
        let proxy = match &self.0 {
            Inner::Http { proxy, .. } => proxy.to_string(),
            Inner::Socks5(socks) => socks.proxy_name().to_string(),
        };
        ProxyError::UnexpectedEof { proxy }
    }
}
