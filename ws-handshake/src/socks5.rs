//! Tunnelling through a SOCKS5 proxy (RFC 1928), with user name/password authentication
//! (RFC 1929), sans-IO.
//!
//! [`Socks5Handshake::greeting`] gives the first bytes to send; [`Socks5Handshake::parse`] reads
//! each answer incrementally and says what to send next, until the proxy has connected to the
//! target: then the bytes after its reply belong to the target and are handed back as
//! `consumed`. `socks5://` sends the target as an IP address the caller resolved; `socks5h://`
//! sends the host name for the proxy to resolve (RFC 1928 §5, address types 1, 3 and 4).

use crate::proxy::{Proxy, ProxyError, ProxyKind};
use crate::tunnel::TunnelStatus;
use std::fmt;
use std::net::IpAddr;

const VERSION: u8 = 5;
const METHOD_NONE: u8 = 0x00;
const METHOD_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE_METHOD: u8 = 0xFF;
/// RFC 1929 §2: the version of the user name/password sub-negotiation.
const AUTH_VERSION: u8 = 1;
const CMD_CONNECT: u8 = 1;
const ATYP_IPV4: u8 = 1;
const ATYP_DOMAIN: u8 = 3;
const ATYP_IPV6: u8 = 4;

/// A SOCKS5 proxy's refusal: the reply code of RFC 1928 §6 (every code but 0, "succeeded").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Socks5Reply {
    /// 1: general SOCKS server failure.
    GeneralFailure,
    /// 2: the proxy's rules do not allow this connection.
    NotAllowed,
    /// 3: network unreachable.
    NetworkUnreachable,
    /// 4: host unreachable (also what proxies answer when a name does not resolve).
    HostUnreachable,
    /// 5: the target refused the connection.
    ConnectionRefused,
    /// 6: TTL expired.
    TtlExpired,
    /// 7: command not supported.
    CommandNotSupported,
    /// 8: address type not supported.
    AddressTypeNotSupported,
    /// A code RFC 1928 leaves unassigned (9 to 255).
    Unassigned(u8),
}

impl Socks5Reply {
    /// The reply for a code, `None` for 0 (succeeded).
    pub fn from_code(code: u8) -> Option<Socks5Reply> {
        Some(match code {
            0 => return None,
            1 => Socks5Reply::GeneralFailure,
            2 => Socks5Reply::NotAllowed,
            3 => Socks5Reply::NetworkUnreachable,
            4 => Socks5Reply::HostUnreachable,
            5 => Socks5Reply::ConnectionRefused,
            6 => Socks5Reply::TtlExpired,
            7 => Socks5Reply::CommandNotSupported,
            8 => Socks5Reply::AddressTypeNotSupported,
            other => Socks5Reply::Unassigned(other),
        })
    }

    /// The code on the wire.
    pub fn code(self) -> u8 {
        match self {
            Socks5Reply::GeneralFailure => 1,
            Socks5Reply::NotAllowed => 2,
            Socks5Reply::NetworkUnreachable => 3,
            Socks5Reply::HostUnreachable => 4,
            Socks5Reply::ConnectionRefused => 5,
            Socks5Reply::TtlExpired => 6,
            Socks5Reply::CommandNotSupported => 7,
            Socks5Reply::AddressTypeNotSupported => 8,
            Socks5Reply::Unassigned(code) => code,
        }
    }
}

impl fmt::Display for Socks5Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words = match self {
            Socks5Reply::GeneralFailure => "general SOCKS server failure",
            Socks5Reply::NotAllowed => "connection not allowed by the proxy's rules",
            Socks5Reply::NetworkUnreachable => "network unreachable from the proxy",
            Socks5Reply::HostUnreachable => {
                "host unreachable from the proxy (or its name did not resolve there)"
            }
            Socks5Reply::ConnectionRefused => "the target refused the connection",
            Socks5Reply::TtlExpired => "TTL expired",
            Socks5Reply::CommandNotSupported => "the proxy does not support CONNECT",
            Socks5Reply::AddressTypeNotSupported => {
                "the proxy does not support this address type (try socks5:// or socks5h://)"
            }
            Socks5Reply::Unassigned(_) => "unassigned reply code",
        };
        write!(f, "{words} (reply code {})", self.code())
    }
}

/// Where the SOCKS5 proxy is asked to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Socks5Target {
    /// An IP address (resolved by the client for `socks5://`, or a literal in the URL).
    Ip(IpAddr, u16),
    /// A host name for the proxy to resolve (`socks5h://`).
    Domain(String, u16),
}

/// Which answer is awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Method,
    Auth,
    Reply,
    Done,
}

/// The client side of a SOCKS5 `CONNECT` (RFC 1928) with optional user name/password
/// authentication (RFC 1929).
#[derive(Clone)]
pub struct Socks5Handshake {
    proxy: String,
    credentials: Option<(Vec<u8>, Vec<u8>)>,
    target: Socks5Target,
    step: Step,
}

impl fmt::Debug for Socks5Handshake {
    // Never print the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socks5Handshake")
            .field("proxy", &self.proxy)
            .field("target", &self.target)
            .field("step", &self.step)
            .finish()
    }
}

impl Socks5Handshake {
    /// A handshake with `proxy` (its credentials, if any, are offered) to connect to `target`.
    /// Fails if the user name, password or host name is over 255 bytes.
    pub fn new(proxy: &Proxy, target: Socks5Target) -> Result<Socks5Handshake, ProxyError> {
        let short = |field: &'static str, value: &[u8]| {
            if value.len() > 255 {
                Err(ProxyError::Socks5FieldTooLong { field })
            } else {
                Ok(value.to_vec())
            }
        };
        if let Socks5Target::Domain(host, _) = &target {
            short("target host name", host.as_bytes())?;
        }
        let credentials = match proxy.credentials() {
            Some((user, password)) => Some((
                short("proxy user name", user.as_bytes())?,
                short("proxy password", password.as_bytes())?,
            )),
            None => None,
        };
        Ok(Socks5Handshake {
            proxy: proxy.to_string(),
            credentials,
            target,
            step: Step::Method,
        })
    }

    /// The target a [`Proxy`] of kind `socks5h` is asked for: `host` itself unless it is an IP
    /// literal (`resolved` is ignored). For `socks5`, `resolved` (the address the caller
    /// resolved `host` to) is used when `host` is a name.
    pub fn target_for(
        proxy: &Proxy,
        host: &str,
        port: u16,
        resolved: Option<IpAddr>,
    ) -> Socks5Target {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        match (bare.parse::<IpAddr>(), proxy.kind(), resolved) {
            (Ok(ip), _, _) => Socks5Target::Ip(ip, port),
            (Err(_), ProxyKind::Socks5, Some(ip)) => Socks5Target::Ip(ip, port),
            _ => Socks5Target::Domain(bare.to_string(), port),
        }
    }

    /// The first message: the authentication methods offered ("none", and user
    /// name/password when there are credentials).
    pub fn greeting(&self) -> Vec<u8> {
        match self.credentials {
            Some(_) => vec![VERSION, 2, METHOD_NONE, METHOD_PASSWORD],
            None => vec![VERSION, 1, METHOD_NONE],
        }
    }

    /// Reads the proxy's answer to the last message sent from `buf` (the bytes read since).
    ///
    /// [`Partial`](TunnelStatus::Partial): read more. [`Send`](TunnelStatus::Send): drop
    /// `consumed` bytes and send `bytes`. [`Done`](TunnelStatus::Done): the proxy connected
    /// to the target, whose bytes start at `buf[consumed..]`.
    pub fn parse(&mut self, buf: &[u8]) -> Result<TunnelStatus, ProxyError> {
        match self.step {
            Step::Method => self.parse_method(buf),
            Step::Auth => self.parse_auth(buf),
            Step::Reply => self.parse_reply(buf),
            Step::Done => Ok(TunnelStatus::Done { consumed: 0 }),
        }
    }

    /// The proxy, as `scheme://host:port`.
    pub fn proxy_name(&self) -> &str {
        &self.proxy
    }

    fn malformed(&self, reason: impl Into<String>) -> ProxyError {
        ProxyError::Socks5Malformed {
            proxy: self.proxy.clone(),
            reason: reason.into(),
        }
    }

    fn check_version(&self, version: u8, expected: u8) -> Result<(), ProxyError> {
        if version == expected {
            Ok(())
        } else {
            Err(self.malformed(format!(
                "version {version} where {expected} was expected: is this a SOCKS5 proxy?"
            )))
        }
    }

    /// RFC 1928 §3: `VER METHOD`.
    fn parse_method(&mut self, buf: &[u8]) -> Result<TunnelStatus, ProxyError> {
        let [version, method, ..] = *buf else {
            return Ok(TunnelStatus::Partial);
        };
        self.check_version(version, VERSION)?;
        match (method, &self.credentials) {
            (METHOD_NONE, _) => {
                self.step = Step::Reply;
                Ok(TunnelStatus::Send {
                    consumed: 2,
                    bytes: self.connect_request(),
                })
            }
            (METHOD_PASSWORD, Some((user, password))) => {
                // RFC 1929 §2: VER ULEN UNAME PLEN PASSWD.
                let mut bytes = vec![AUTH_VERSION, user.len() as u8];
                bytes.extend_from_slice(user);
                bytes.push(password.len() as u8);
                bytes.extend_from_slice(password);
                self.step = Step::Auth;
                Ok(TunnelStatus::Send { consumed: 2, bytes })
            }
            (NO_ACCEPTABLE_METHOD, credentials) => Err(ProxyError::Socks5NoAcceptableMethod {
                proxy: self.proxy.clone(),
                offered_password: credentials.is_some(),
            }),
            (other, _) => Err(self.malformed(format!(
                "it chose authentication method {other:#04x}, which was not offered"
            ))),
        }
    }

    /// RFC 1929 §2: `VER STATUS`.
    fn parse_auth(&mut self, buf: &[u8]) -> Result<TunnelStatus, ProxyError> {
        let [version, status, ..] = *buf else {
            return Ok(TunnelStatus::Partial);
        };
        self.check_version(version, AUTH_VERSION)?;
        if status != 0 {
            return Err(ProxyError::Socks5AuthFailed {
                proxy: self.proxy.clone(),
                status,
            });
        }
        self.step = Step::Reply;
        Ok(TunnelStatus::Send {
            consumed: 2,
            bytes: self.connect_request(),
        })
    }

    /// RFC 1928 §4: `VER CMD RSV ATYP DST.ADDR DST.PORT`.
    fn connect_request(&self) -> Vec<u8> {
        let mut out = vec![VERSION, CMD_CONNECT, 0];
        let port = match &self.target {
            Socks5Target::Ip(IpAddr::V4(ip), port) => {
                out.push(ATYP_IPV4);
                out.extend_from_slice(&ip.octets());
                port
            }
            Socks5Target::Ip(IpAddr::V6(ip), port) => {
                out.push(ATYP_IPV6);
                out.extend_from_slice(&ip.octets());
                port
            }
            Socks5Target::Domain(host, port) => {
                out.push(ATYP_DOMAIN);
                out.push(host.len() as u8);
                out.extend_from_slice(host.as_bytes());
                port
            }
        };
        out.extend_from_slice(&port.to_be_bytes());
        out
    }

    /// RFC 1928 §6: `VER REP RSV ATYP BND.ADDR BND.PORT`. A refusal is reported as soon as
    /// its code is read: proxies close the connection after it.
    fn parse_reply(&mut self, buf: &[u8]) -> Result<TunnelStatus, ProxyError> {
        let Some(&version) = buf.first() else {
            return Ok(TunnelStatus::Partial);
        };
        self.check_version(version, VERSION)?;
        let Some(&code) = buf.get(1) else {
            return Ok(TunnelStatus::Partial);
        };
        if let Some(reply) = Socks5Reply::from_code(code) {
            return Err(ProxyError::Socks5Refused {
                proxy: self.proxy.clone(),
                reply,
            });
        }
        let Some(&atyp) = buf.get(3) else {
            return Ok(TunnelStatus::Partial);
        };
        let address = match atyp {
            ATYP_IPV4 => 4,
            ATYP_IPV6 => 16,
            ATYP_DOMAIN => match buf.get(4) {
                Some(&len) => 1 + usize::from(len),
                None => return Ok(TunnelStatus::Partial),
            },
            other => return Err(self.malformed(format!("unknown address type {other}"))),
        };
        let consumed = 4 + address + 2;
        if buf.len() < consumed {
            return Ok(TunnelStatus::Partial);
        }
        self.step = Step::Done;
        Ok(TunnelStatus::Done { consumed })
    }
}

#[cfg(test)]
#[path = "socks5_tests.rs"]
mod tests;
