//! Choosing a proxy from the conventional environment variables (as curl and most HTTP clients
//! do): `https_proxy`/`HTTPS_PROXY` for `wss://`, `http_proxy`/`HTTP_PROXY` for `ws://`,
//! `all_proxy`/`ALL_PROXY` as fallback, and `no_proxy`/`NO_PROXY` for exceptions. Any proxy
//! kind may be named (`ALL_PROXY=socks5h://host:1080`, `HTTPS_PROXY=https://...`).

use crate::proxy::{Proxy, ProxyError};
use http::Uri;
use std::net::IpAddr;

impl Proxy {
    /// The proxy the process environment selects for `target` (a `ws://` or `wss://` URL), or
    /// `None` if none is set or `NO_PROXY` exempts the target. See [`Proxy::from_env_with`].
    pub fn from_env(target: &Uri) -> Result<Option<Proxy>, ProxyError> {
        Proxy::from_env_with(target, |name| std::env::var(name).ok())
    }

    /// The proxy selected for `target` by the variables `lookup` returns (a testable stand-in
    /// for the process environment).
    ///
    /// * `wss://` (and `https://`) use `https_proxy`, then `HTTPS_PROXY`; `ws://` (and
    ///   `http://`) use `http_proxy`, then `HTTP_PROXY`; both fall back to `all_proxy`, then
    ///   `ALL_PROXY`. Empty values count as unset.
    /// * The value is a proxy URL of any kind: `http://`, `https://`, `socks5://` or
    ///   `socks5h://` (no scheme means `http://`), as curl reads it.
    /// * `no_proxy`/`NO_PROXY` is a comma-separated list: `*` exempts every host; `example.com`
    ///   or `.example.com` exempts that domain and its subdomains; IP addresses and `[::1]`
    ///   match exactly; an entry with `:port` only matches that port; an IP range in CIDR
    ///   notation (`10.0.0.0/8`, `fd00::/8`) exempts the targets given as an IP address in it
    ///   (host names are not resolved to check, as in curl).
    /// * A set but invalid proxy URL is an error rather than a silent direct connection.
    pub fn from_env_with(
        target: &Uri,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Proxy>, ProxyError> {
        let get = |names: &[&str]| {
            names
                .iter()
                .filter_map(|name| lookup(name))
                .find(|value| !value.trim().is_empty())
        };
        let Some(host) = target.host() else {
            return Ok(None);
        };
        let tls = matches!(target.scheme_str(), Some("wss" | "https"));
        let port = target.port_u16().unwrap_or(if tls { 443 } else { 80 });
        if let Some(list) = get(&["no_proxy", "NO_PROXY"]) {
            if no_proxy_matches(&list, host, port) {
                return Ok(None);
            }
        }
        let scheme_vars: &[&str] = if tls {
            &["https_proxy", "HTTPS_PROXY"]
        } else {
            &["http_proxy", "HTTP_PROXY"]
        };
        match get(scheme_vars).or_else(|| get(&["all_proxy", "ALL_PROXY"])) {
            Some(url) => Proxy::new(url.trim()).map(Some),
            None => Ok(None),
        }
    }
}

/// Whether a `NO_PROXY` list exempts `host:port`. Host names compare case-insensitively.
pub(crate) fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            if let Some((network, bits)) = entry.split_once('/') {
                return in_cidr(&host, network, bits);
            }
            let (name, entry_port) = split_port(entry);
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            let name = name
                .trim_start_matches("*.")
                .trim_start_matches('.')
                .trim_end_matches('.')
                .to_ascii_lowercase();
            if name.is_empty() {
                return false;
            }
            host == name
                || (host.len() > name.len()
                    && host.ends_with(&name)
                    && host.as_bytes()[host.len() - name.len() - 1] == b'.')
        })
}

/// Splits `name:port`, `[v6]:port` or a bare name / IPv6 literal.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((addr, tail)) => (addr, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (rest, None),
        };
    }
    // More than one colon: a bare IPv6 literal, which cannot carry a port.
    match entry.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => match port.parse() {
            Ok(port) => (name, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

/// Whether `host`, if an IP address, is in the range `network/bits` (same address family).
fn in_cidr(host: &str, network: &str, bits: &str) -> bool {
    let network = network.trim_start_matches('[').trim_end_matches(']');
    let (Ok(host), Ok(network), Ok(bits)) = (
        host.parse::<IpAddr>(),
        network.parse::<IpAddr>(),
        bits.parse::<u32>(),
    ) else {
        return false;
    };
    let (host, network, width) = match (host, network) {
        (IpAddr::V4(h), IpAddr::V4(n)) => (u32::from(h).into(), u32::from(n).into(), 32),
        (IpAddr::V6(h), IpAddr::V6(n)) => (u128::from(h), u128::from(n), 128),
        _ => return false,
    };
    if bits > width {
        return false;
    }
    // The top `bits` of a `width`-bit address, in a u128.
    let mask = match bits {
        0 => 0,
        _ => (u128::MAX << (128 - bits)) >> (128 - width),
    };
    host & mask == network & mask
}
