//! WebSockets over HTTP/2 (RFC 8441), on whatever HTTP/2 library carries the stream: the server
//! accepts an extended CONNECT with the same callback and negotiation as an HTTP/1.1 upgrade,
//! and the client turns the 200 answer into a stream. Either way the frames are the same
//! [`ws_proto`] connection, over the HTTP/2 stream as its transport.

use crate::accept::{accept_validated, Accepted};
use crate::config::{ClientConfig, ServerConfig};
use crate::deflate::{client_deflate, offer_deflate};
use crate::error::Error;
use crate::stream::WebSocketStream;
use crate::transport::Transport;
use http::{Request, Response};
use ws_handshake::{Callback, ClientHandshake, Refusal};
use ws_proto::Role;

/// Validates an HTTP/2 extended CONNECT request whose `:protocol` pseudo-header is `protocol`
/// (RFC 8441 §5), asks `callback`, and negotiates permessage-deflate under `config`, as
/// [`accept_request`](crate::accept_request) does for an HTTP/1.1 upgrade: `Ok` with the 200
/// response head and the [`Accepted`] WebSocket to build over the HTTP/2 stream once the
/// response is sent, or the [`Refusal`] to answer instead.
pub fn accept_extended_connect<B, C: Callback>(
    request: &Request<B>,
    protocol: Option<&str>,
    callback: C,
    config: &ServerConfig,
) -> Result<(Response<()>, Accepted), Refusal> {
    ws_handshake::validate_extended_connect(request, protocol)?;
    accept_validated(&ws_handshake::request_head(request), callback, config)
}

/// The client side of a WebSocket over HTTP/2: the extended CONNECT request to send on a new
/// stream, then [`finish`](ExtendedConnect::finish) with the server's response and the
/// stream.
#[derive(Debug)]
pub struct ExtendedConnect {
    handshake: ClientHandshake,
}

impl ExtendedConnect {
    /// Prepares the request of `handshake`, offering permessage-deflate if `config` asks for
    /// it.
    pub fn new(mut handshake: ClientHandshake, config: &ClientConfig) -> Result<Self, Error> {
        offer_deflate(&mut handshake, config)?;
        Ok(ExtendedConnect { handshake })
    }

    /// The handshake: URI, host, offers.
    pub fn handshake(&self) -> &ClientHandshake {
        &self.handshake
    }

    /// The extended CONNECT request (without its `:protocol`, which the HTTP/2 library sets:
    /// see [`ClientHandshake::extended_connect_request`]).
    pub fn request(&self) -> Result<Request<()>, Error> {
        Ok(self.handshake.extended_connect_request()?)
    }

    /// Checks the server's response (a 2xx, with a subprotocol and extensions that were
    /// offered) and builds the client's WebSocket stream over `io`, the HTTP/2 stream.
    pub fn finish<T: Transport>(
        self,
        io: T,
        response: &Response<()>,
        config: &ClientConfig,
    ) -> Result<WebSocketStream<T>, Error> {
        let negotiated = self.handshake.check_extended_connect_response(response)?;
        let deflate = client_deflate(&negotiated.extensions, config)?;
        let mut ws = WebSocketStream::from_transport(io, Role::Client, &config.stream, &[])?;
        if let Some(codec) = deflate {
            ws.set_extension(codec);
        }
        Ok(ws)
    }
}
