//! The sans-IO WebSocket opening handshake (RFC 6455 §4), for clients and servers.
//!
//! No I/O: feed the bytes you read, write the bytes it gives you. Requests and responses are the
//! [`http`] crate's types, so the handshake fits the Rust HTTP ecosystem.
//!
//! * Client: [`ClientHandshake::new`] builds the upgrade request from a `ws://`/`wss://` URL or
//!   an `http::Request`; [`ClientHandshake::parse_response`] checks the server's answer
//!   incrementally and hands back the bytes that followed it.
//! * Server: [`parse_request`] reads and validates a request incrementally under size limits;
//!   a [`Callback`] sees it and accepts ([`Accept`]) or rejects ([`Reject`]) it; [`respond`]
//!   produces the bytes to send.
//! * Proxies: [`Proxy`] (explicit or [`Proxy::from_env`]; `http://`, `https://`, `socks5://`,
//!   `socks5h://`) starts a [`Tunnel`]: HTTP `CONNECT` ([`Proxy::connect_request`],
//!   [`Proxy::parse_connect_response`]) or SOCKS5 ([`Socks5Handshake`]).
//! * Server behind an HTTP library (hyper, axum): [`validate_request`] checks the parsed
//!   request, [`respond_head`] gives the 101 response head (or the refusal) as `http` types.
//! * WebSocket over HTTP/2 (RFC 8441): [`validate_extended_connect`] checks an extended
//!   CONNECT request and [`respond_head`] answers it with 200;
//!   [`ClientHandshake::extended_connect_request`] and
//!   [`ClientHandshake::check_extended_connect_response`] are the client's side.
//!
//! ```
//! use ws_handshake::{parse_request, respond, ClientHandshake, ClientStatus, NoCallback, ServerConfig};
//!
//! let mut client = ClientHandshake::new("ws://example.com/chat").unwrap();
//! let request = client.request_bytes();
//! let (req, consumed) = parse_request(&request, &ServerConfig::default()).unwrap().unwrap();
//! assert_eq!(consumed, request.len());
//! let (response, _negotiated) = respond(&req, NoCallback).unwrap();
//! match client.parse_response(&response).unwrap() {
//!     ClientStatus::Done { response, .. } => assert_eq!(response.status(), 101),
//!     ClientStatus::Partial => unreachable!(),
//! }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod client_error;
mod deflate;
mod extensions;
mod h2;
mod headers;
mod proxy;
mod proxy_env;
mod server;
mod socks5;
mod tunnel;

pub use client::{ClientError, ClientHandshake, ClientStatus, IntoClientRequest};
pub use deflate::{
    deflate_accepted, deflate_check_response, deflate_negotiate, deflate_offer, DeflateError,
    DeflateOptions, PERMESSAGE_DEFLATE,
};
pub use extensions::{format_extensions, parse_extensions, Extension, ExtensionParseError};
pub use h2::{is_extended_connect, validate_extended_connect, WEBSOCKET_PROTOCOL};
pub use proxy::{Proxy, ProxyError, ProxyKind, DEFAULT_PROXY_MAX_HEAD};
pub use server::{
    encode_refusal, encode_response, is_upgrade_request, offered_extensions, offered_protocols,
    parse_request, request_head, respond, respond_head, validate_request, Accept, Callback,
    Negotiated, NoCallback, Refusal, Reject, ServerConfig, ServerError,
};

pub use socks5::{Socks5Handshake, Socks5Reply, Socks5Target};
pub use tunnel::{Tunnel, TunnelStatus};

use base64::Engine;
use sha1::{Digest, Sha1};

/// The GUID of RFC 6455 §1.3, appended to the key to compute the accept value.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2): base64 of the SHA-1 of
/// the key followed by the GUID.
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(WEBSOCKET_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

/// A fresh `Sec-WebSocket-Key`: base64 of 16 random bytes (RFC 6455 §4.1), from the
/// thread-local CSPRNG seeded from OS entropy.
pub fn generate_key() -> String {
    let nonce: [u8; 16] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example_accept() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn keys_are_fresh_16_byte_nonces() {
        let a = generate_key();
        let b = generate_key();
        assert_ne!(a, b);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&a)
            .unwrap();
        assert_eq!(raw.len(), 16);
    }
}
