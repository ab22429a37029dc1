//! The seam between the driver and an async runtime: what each adapter crate implements.

use crate::config::ClientConfig;
use crate::connect::{connect_route, host_port, set_up};
use crate::either::MaybeTls;
use crate::error::Error;
use crate::stream::WebSocketStream;
use crate::transport::{Sleep, Transport};
use rustls::pki_types::ServerName;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use ws_handshake::{ClientHandshake, IntoClientRequest};

/// What the connecting methods of [`Runtime`] return.
pub type RuntimeFuture<T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send + 'static>>;

/// What an async runtime gives the driver: a timer, TCP connections, and rustls client
/// connections over them.
///
/// Each adapter crate (`ws-tokio`, `ws-async-std`, `ws-smol`) implements it once for its
/// runtime; everything else (the proxy tunnel, the opening handshake, framing, the closing
/// handshake, deadlines) is the driver's and the same for all. A client connection has up to
/// two TLS hops, both run by the runtime's one rustls connector: to an `https://` proxy over
/// TCP ([`connect_hop`](Self::connect_hop)), then end to end to a `wss://` server over that
/// hop ([`connect_tls`](Self::connect_tls)). Half-closing is the transports'
/// [`Transport::poll_shutdown`]: it must send TCP FIN (after TLS `close_notify`), so the peer
/// sees our end of file before the socket closes.
pub trait Runtime: Send + Sync + 'static {
    /// A connected TCP stream.
    type Tcp: Send + 'static;
    /// The first hop of a client connection: the TCP stream, or TLS over it to an `https://`
    /// proxy.
    type Hop: Transport + Send + 'static;
    /// A rustls client stream over a [`Hop`](Self::Hop), as a transport.
    type Tls: Transport + Send + 'static;

    /// A timer that completes after `duration`.
    fn sleep(duration: Duration) -> Sleep;

    /// Opens a TCP connection to `host:port` (Nagle's algorithm off: frames are written
    /// whole, and waiting for more bytes only adds latency).
    fn connect_tcp(host: String, port: u16) -> RuntimeFuture<Self::Tcp>;

    /// The first hop over a connected TCP stream: with a `name`, the TLS client handshake for
    /// it (to an `https://` proxy, with `config`); without, the TCP stream as it is.
    fn connect_hop(
        config: Arc<rustls::ClientConfig>,
        name: Option<ServerName<'static>>,
        tcp: Self::Tcp,
    ) -> RuntimeFuture<Self::Hop>;

    /// Runs the TLS client handshake for `name` over the first hop (end to end to a `wss://`
    /// server, through the proxy's tunnel if there is one).
    fn connect_tls(
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        hop: Self::Hop,
    ) -> RuntimeFuture<Self::Tls>;
}

/// The transport of a client connection made on runtime `R`: plain, or TLS for `wss://`, over
/// its [first hop](Runtime::Hop).
pub type ClientTransport<R> = MaybeTls<<R as Runtime>::Hop, <R as Runtime>::Tls>;

/// Connects on runtime `R`: TCP to the server or to the proxy `config` selects, TLS to an
/// `https://` proxy, the tunnel (HTTP `CONNECT` or SOCKS5), TLS for `wss://`, then the opening
/// handshake (all but the TCP connect within [`ClientConfig::handshake_timeout`]). The
/// adapters' `connect_with` is this for their runtime.
///
/// A TCP connection that cannot be made is [`Error::Connect`], naming the address dialled.
pub async fn connect_with<R: Runtime>(
    request: impl IntoClientRequest,
    config: ClientConfig,
) -> Result<(WebSocketStream<ClientTransport<R>>, http::Response<()>), Error> {
    config.stream.check()?;
    let handshake = ClientHandshake::new(request)?;
    let (host, port, proxy) = connect_route(&handshake, &config)?;
    let addr = host_port(&host, port);
    let tcp = R::connect_tcp(host, port)
        .await
        .map_err(|source| Error::Connect {
            addr,
            proxy: proxy.is_some(),
            source,
        })?;
    let (tls, proxy_tls) = (config.tls_config(), config.proxy_tls_config());
    set_up(
        tcp,
        R::sleep(config.handshake_timeout),
        handshake,
        &config,
        proxy.as_ref(),
        move |name, tcp| R::connect_hop(proxy_tls, name, tcp),
        move |name, hop| R::connect_tls(tls, name, hop),
    )
    .await
}
