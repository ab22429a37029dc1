//! An axum 0.8 application with a WebSocket echo route, upgraded through
//! `ws_tokio::upgrade`: axum hands the handler hyper's request, upgrade and all, so no other
//! WebSocket crate is needed.

use axum::extract::Request;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use ws_tokio::upgrade;
use ws_tokio::ServerConfig;

/// The application: `GET /` answers plain text, `GET /ws` is the WebSocket echo.
pub fn router() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { "ws-stack on axum: the echo is at /ws\n" }),
        )
        .route("/ws", get(websocket))
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
