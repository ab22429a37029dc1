//! An axum 0.8 application with a WebSocket echo route, upgraded through
//! `ws_tokio::upgrade`: axum hands the handler hyper's request, upgrade and all, so no other
//! WebSocket crate is needed.
//!
//! The route serves WebSockets over HTTP/1.1 (`GET` with `Upgrade: websocket`, answered 101)
//! and over HTTP/2 (RFC 8441 extended `CONNECT`, answered 200) with the same handler:
//! `axum::serve` speaks HTTP/2 (h2c by prior knowledge) when axum's `http2` feature is on and
//! allows extended CONNECT itself; the route only has to accept the `CONNECT` method.

use axum::extract::Request;
use axum::response::Response;
use axum::routing::{get, MethodFilter};
use axum::Router;
use ws_tokio::upgrade;
use ws_tokio::ServerConfig;

/// The application: `GET /` answers plain text, `GET /ws` (HTTP/1.1) and `CONNECT /ws`
/// (HTTP/2) are the WebSocket echo.
pub fn router() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { "ws-stack on axum: the echo is at /ws\n" }),
        )
        .route("/ws", get(websocket).on(MethodFilter::CONNECT, websocket))
}

/// Upgrades the request and echoes in a task of its own; a request that is not a valid
/// upgrade is answered with 400 or 426 (with `Sec-WebSocket-Version: 13`).
async fn websocket(mut request: Request) -> Response {
    match upgrade::upgrade(&mut request, ServerConfig::default()) {
        Ok((response, upgrading)) => {
            tokio::spawn(async move {
                match upgrading.await {
                    Ok(ws) => crate::echo(ws).await,
                    Err(e) => eprintln!("upgrade failed: {e}"),
                }
            });
            response
        }
        Err(refused) => refused.into_response(),
    }
}
