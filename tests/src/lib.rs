//! The shared conformance suite's machinery: a [`Runtime`] trait that each async runtime
//! implements once (serve, connect, spawn, block on, time out), so each behavioural case in
//! `tests/` is written once, generic over the runtime, and instantiated for tokio, async-std and
//! smol by [`for_each_runtime!`]. Servers run on their own thread with their own executor, so
//! a client of one runtime can talk to a server of another.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod daemon;
pub mod errors;
pub mod fault;
pub mod hub_node;
pub mod load;
pub mod ports;
pub mod raw;
pub mod redis_server;
pub mod restartable;
pub mod runtimes;
pub mod socks;
pub mod stunnel;
pub mod tinyproxy;
pub mod tls;

use futures::future::BoxFuture;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use ws_driver::{ClientConfig, Error, ServerConfig, Transport, WebSocketStream};

/// Every case fails rather than hang: each await on the network is bounded by this.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A server connection handler: gets the accepted WebSocket stream (or the handshake error).
pub type Handler<T> =
    Arc<dyn Fn(Result<WebSocketStream<T>, Error>) -> BoxFuture<'static, ()> + Send + Sync>;

/// How the server answers the opening handshake.
pub type HookFn = Arc<
    dyn Fn(
            &ws_driver::http::Request<()>,
        ) -> Result<ws_driver::ws_handshake::Accept, ws_driver::ws_handshake::Reject>
        + Send
        + Sync,
>;

/// Server options for [`Runtime::serve`].
#[derive(Clone, Default)]
pub struct ServeOptions {
    /// Server settings (limits).
    pub config: ServerConfig,
    /// The handshake hook; `None` accepts everything.
    pub hook: Option<HookFn>,
    /// Serve over TLS with this configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// What connecting gives: the client stream and the server's 101 response.
pub type Connected<T> = Result<(WebSocketStream<T>, ws_driver::http::Response<()>), Error>;

/// One async runtime, as the suite needs it.
pub trait Runtime: 'static {
    /// Name used in messages.
    const NAME: &'static str;
    /// The transport of accepted server connections (plain or TLS).
    type Server: Transport + Send + 'static;
    /// The transport of client connections.
    type Client: Transport + Send + 'static;

    /// Runs a future to completion on this runtime (from a plain thread).
    fn block_on<F: Future>(future: F) -> F::Output;

    /// Spawns a task on the current executor of this runtime (inside `block_on` or a handler).
    fn spawn<F: Future<Output = ()> + Send + 'static>(future: F);

    /// Starts a server on 127.0.0.1:0 on its own thread and executor; every accepted
    /// connection gets its own task running `handler`. Returns the bound address.
    fn serve(options: ServeOptions, handler: Handler<Self::Server>) -> SocketAddr;

    /// Connects a client to `url` (`ws://` or `wss://`).
    fn connect(
        request: ws_driver::http::Request<()>,
        config: ClientConfig,
    ) -> BoxFuture<'static, Connected<Self::Client>>;

    /// Sleeps on this runtime's timer.
    fn sleep(duration: Duration) -> BoxFuture<'static, ()>;
}

/// Runs `future` with [`TIMEOUT`], panicking if it takes longer.
pub async fn within<R: Runtime, F: Future>(what: &str, future: F) -> F::Output {
    use futures::future::{select, Either};
    match select(std::pin::pin!(future), R::sleep(TIMEOUT)).await {
        Either::Left((out, _)) => out,
        Either::Right(_) => panic!("{}: timed out: {what}", R::NAME),
    }
}

/// A request for `url` with default headers.
pub fn request(url: &str) -> ws_driver::http::Request<()> {
    use ws_driver::ws_handshake::IntoClientRequest;
    url.into_client_request().expect("valid test URL")
}

/// Connects to the echo server at `url` with `config`, checks the 101, sends each of
/// `messages` and checks its echo, then closes.
pub async fn echo_session<R: Runtime>(
    url: &str,
    config: ClientConfig,
    messages: &[ws_driver::Message],
) {
    let (mut ws, response) = within::<R, _>("connect", R::connect(request(url), config))
        .await
        .unwrap_or_else(|e| panic!("{}: connect to {url}: {e}", R::NAME));
    assert_eq!(
        response.status(),
        ws_driver::http::StatusCode::SWITCHING_PROTOCOLS
    );
    for message in messages {
        within::<R, _>("send", ws.send(message.clone()))
            .await
            .expect("send");
        let echoed = within::<R, _>("receive", ws.recv()).await;
        assert_eq!(&echoed.expect("echo").expect("echo ok"), message);
    }
    within::<R, _>("close", ws.close(None))
        .await
        .expect("close");
}

/// The echo handler: sends back every data message.
pub fn echo_handler<T: Transport + Send + 'static>() -> Handler<T> {
    Arc::new(|ws| {
        Box::pin(async move {
            let Ok(mut ws) = ws else { return };
            while let Some(item) = ws.recv().await {
                if let Ok(message) = item {
                    if message.is_data() {
                        let _ = ws.send(message).await;
                    }
                }
            }
        })
    })
}

/// Instantiates each listed case (a generic `fn case<R: Runtime>()`) once per runtime, as
/// `tokio::case`, `async_std::case` and `smol::case` test functions.
#[macro_export]
macro_rules! for_each_runtime {
    ($($case:ident),* $(,)?) => {
        mod tokio {
            $( #[test] fn $case() { super::$case::<$crate::runtimes::Tokio>() } )*
        }
        mod async_std {
            $( #[test] fn $case() { super::$case::<$crate::runtimes::AsyncStd>() } )*
        }
        mod smol {
            $( #[test] fn $case() { super::$case::<$crate::runtimes::Smol>() } )*
        }
    };
}
