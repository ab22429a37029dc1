//! hyper 1.x (and axum 0.8) integration, behind the `hyper` feature: upgrade a request that a
//! hyper service received to a [`WebSocketStream`](crate::WebSocketStream).
//!
//! The same functions serve HTTP/1.1 and HTTP/2: an HTTP/2 extended CONNECT with `:protocol`
//! `websocket` (RFC 8441) is validated and negotiated by the same code and answered with 200
//! instead of 101; the WebSocket then runs on that HTTP/2 stream, and closing it ends the
//! stream, not the connection. The server must allow extended CONNECT in its HTTP/2 settings:
//! hyper's `http2::Builder::enable_connect_protocol()` (or, with hyper-util's `auto::Builder`,
//! `.http2().enable_connect_protocol()`).
//!
//! [`upgrade`] (or [`upgrade_with`] and a [`Callback`]) validates the request with
//! [`ws_handshake`](crate::ws_handshake) and gives the 101 response for the service to
//! return plus a [`HyperUpgrade`] future, which resolves to the stream once hyper has sent the
//! 101 and handed the connection over. An invalid request is [`Refused`] with the response to
//! return instead: 400, 405, 426 with `Sec-WebSocket-Version: 13`, or the callback's status and
//! body. The connection must be served with upgrades on (hyper's
//! `http1::Builder::serve_connection(..).with_upgrades()`; `axum::serve` does it).
//!
//! In axum 0.8, a handler taking `axum::extract::Request` calls the same functions and returns
//! the response (axum's `Body` is built from the refusal's bytes); see `examples/src/axum_echo.rs`.
//!
//! Of [`ServerConfig`], the stream settings and `deflate` apply; `handshake` (request head
//! limits) and `handshake_timeout` do not, as hyper has read the request under its own limits.
//!
//! ```no_run
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use std::convert::Infallible;
//! use ws_tokio::{upgrade, ServerConfig};
//!
//! async fn service(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     if !upgrade::is_upgrade_request(&request) {
//!         return Ok(Response::new(Full::from("plain HTTP still works\n")));
//!     }
//!     match upgrade::upgrade(&mut request, ServerConfig::default()) {
//!         Ok((response, upgrading)) => {
//!             // The stream exists once hyper has sent the 101: wait for it in a task.
//!             tokio::spawn(async move {
//!                 let Ok(mut ws) = upgrading.await else { return };
//!                 while let Some(Ok(message)) = ws.recv().await {
//!                     if message.is_data() && ws.send(message).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             });
//!             Ok(response)
//!         }
//!         // 400, 426 with Sec-WebSocket-Version: 13, ...
//!         Err(refused) => Ok(refused.into_response()),
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     tokio::spawn(
//!         hyper::server::conn::http1::Builder::new()
//!             .serve_connection(
//!                 hyper_util::rt::TokioIo::new(tcp),
//!                 hyper::service::service_fn(service),
//!             )
//!             .with_upgrades(),
//!     );
//! }
//! # }
//! ```

use crate::http::{Method, Request, Response, Version};
use crate::{Callback, Error, NoCallback, ServerConfig, ServerError};
use hyper::upgrade::{OnUpgrade, Upgraded};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use ws_driver::ws_handshake::Refusal;
use ws_driver::Accepted;

/// Whether a request asks for a WebSocket, valid or not: an HTTP/1.1 `Upgrade: websocket`, or
/// an HTTP/2 extended CONNECT with `:protocol` `websocket` (RFC 8441). A server routing
/// requests sends these to [`upgrade`] and serves the others as plain HTTP.
pub fn is_upgrade_request<B>(request: &Request<B>) -> bool {
    ws_driver::ws_handshake::is_upgrade_request(request)
        || ws_driver::ws_handshake::is_extended_connect(request, connect_protocol(request))
}

/// The `:protocol` pseudo-header of an HTTP/2 request, which hyper keeps in its extensions.
fn connect_protocol<B>(request: &Request<B>) -> Option<&str> {
    request
        .extensions()
        .get::<hyper::ext::Protocol>()
        .map(hyper::ext::Protocol::as_str)
}

/// The WebSocket stream over a connection hyper handed over.
pub type HyperWebSocket = crate::WebSocketStream<crate::TokioIo<hyper_util::rt::TokioIo<Upgraded>>>;

/// An upgrade request that was refused, with the response to return from the service.
#[derive(Debug, thiserror::Error)]
#[error("the WebSocket upgrade was refused with {}", response.status())]
pub struct Refused<B> {
    /// Why: its [`status`](ServerError::status) is the response's.
    #[source]
    pub error: ServerError,
    /// The response to return: status, the headers the RFC asks for, a body (boxed: it is
    /// large and rare).
    pub response: Box<Response<B>>,
}

impl<B> Refused<B> {
    /// The response to return from the service.
    pub fn into_response(self) -> Response<B> {
        *self.response
    }
}

/// Accepts a WebSocket upgrade request with `config` (permessage-deflate is negotiated from
/// `config.deflate`): the 101 response to return from the service, and the future of the
/// stream. `B` is the service's response body type (hyper's `Full<Bytes>`, axum's `Body`, ...).
pub fn upgrade<B, R>(
    request: &mut Request<R>,
    config: ServerConfig,
) -> Result<(Response<B>, HyperUpgrade), Refused<B>>
where
    B: From<Vec<u8>>,
{
    upgrade_with(request, NoCallback, config)
}

/// [`upgrade`], letting `callback` see the request (path, headers, `Origin`, cookies) and
/// accept it (a subprotocol, extra headers) or reject it with any status and body.
pub fn upgrade_with<B, R, C>(
    request: &mut Request<R>,
    callback: C,
    config: ServerConfig,
) -> Result<(Response<B>, HyperUpgrade), Refused<B>>
where
    B: From<Vec<u8>>,
    C: Callback,
{
    let refuse = |refusal: Refusal| Refused {
        error: refusal.error,
        response: Box::new(refusal.response.map(B::from)),
    };
    // An HTTP/2 CONNECT is an extended CONNECT (RFC 8441) answered with 200; anything else is
    // an HTTP/1.1 upgrade answered with 101.
    let extended_connect =
        request.method() == Method::CONNECT && request.version() >= Version::HTTP_2;
    let (response, accepted) = if extended_connect {
        let protocol = connect_protocol(request);
        ws_driver::accept_extended_connect(request, protocol, callback, &config)
    } else {
        ws_driver::accept_request(request, callback, &config)
    }
    .map_err(refuse)?;
    // hyper puts this in every request of an HTTP/1.1 connection served with upgrades and in
    // every CONNECT of an HTTP/2 one; without it (a request built by hand, an HTTP/2 request
    // that is not a CONNECT) the response would leave the client hanging.
    let Some(on_upgrade) = request.extensions_mut().remove::<OnUpgrade>() else {
        return Err(refuse(ServerError::UpgradeUnavailable.into()));
    };
    let protocol = accepted.negotiated().protocol.clone();
    Ok((
        response.map(|()| B::from(Vec::new())),
        HyperUpgrade {
            on_upgrade,
            accepted: Some(accepted),
            protocol,
        },
    ))
}

/// The future of the WebSocket stream of an accepted upgrade: it resolves once the service has
/// returned the 101 response and hyper has handed the connection over.
///
/// Bytes the client sent right after its request are not lost: hyper's `Upgraded` yields the
/// ones it had already read before reading the socket again.
#[derive(Debug)]
#[must_use = "the stream only exists once this future is awaited"]
pub struct HyperUpgrade {
    on_upgrade: OnUpgrade,
    accepted: Option<Accepted>,
    protocol: Option<String>,
}

impl HyperUpgrade {
    /// The subprotocol chosen in the 101 response, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }
}

impl Future for HyperUpgrade {
    type Output = Result<HyperWebSocket, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let upgraded = ready!(Pin::new(&mut self.on_upgrade).poll(cx))
            .map_err(|e| Error::Io(io::Error::other(e)))?;
        // Taken once: a second poll after completion finds the connection gone.
        let Some(accepted) = self.accepted.take() else {
            return Poll::Ready(Err(Error::ConnectionClosed));
        };
        // Used as it is: the driver never reads it again after its end of input.
        let io = crate::TokioIo(hyper_util::rt::TokioIo::new(upgraded));
        Poll::Ready(accepted.into_stream(io, &[]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(version: &str) -> Request<()> {
        Request::builder()
            .uri("/chat")
            .header("host", "example.com")
            .header("upgrade", "websocket")
            .header("connection", "Upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", version)
            .body(())
            .unwrap()
    }

    #[test]
    fn invalid_requests_are_refused_with_their_response() {
        let refused = upgrade::<Vec<u8>, _>(&mut request("8"), ServerConfig::default())
            .map(|_| ())
            .unwrap_err();
        assert_eq!(refused.error, ServerError::UnsupportedVersion);
        let response = refused.into_response();
        assert_eq!(response.status(), 426);
        assert_eq!(response.headers()["sec-websocket-version"], "13");
        assert!(!response.body().is_empty());
    }

    #[test]
    fn a_request_hyper_cannot_upgrade_gets_500_not_a_101() {
        // Valid, but built by hand: no hyper connection stands behind it to hand over.
        let refused = upgrade::<Vec<u8>, _>(&mut request("13"), ServerConfig::default())
            .map(|_| ())
            .unwrap_err();
        assert_eq!(refused.error, ServerError::UpgradeUnavailable);
        assert_eq!(refused.response.status(), 500);
    }
}
