//! Client connection set-up over an already connected TCP stream: TLS for `wss://`, then the
//! opening handshake. The adapters only open the TCP connection with their runtime.

use crate::either::MaybeTls;
use crate::error::Error;
use crate::handshake::{client_handshake, tls_server_name, ClientConfig};
use crate::stream::WebSocketStream;
use ws_handshake::ClientHandshake;

/// The host and port to open a TCP connection to, for a handshake's URI (IPv6 literals
/// without their brackets).
pub fn connect_addr(handshake: &ClientHandshake) -> (String, u16) {
    let host = handshake.host();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (host.to_string(), handshake.port())
}

/// A tokio client transport: plain TCP or rustls over it.
#[cfg(feature = "tokio")]
pub type TokioClientTransport<S> =
    MaybeTls<crate::TokioIo<S>, crate::TokioIo<tokio_rustls::client::TlsStream<S>>>;

/// Sets up TLS (for `wss://`) over a connected tokio stream, then runs the client handshake.
#[cfg(feature = "tokio")]
pub async fn connect_tokio<S>(
    tcp: S,
    handshake: ClientHandshake,
    config: &ClientConfig,
) -> Result<(WebSocketStream<TokioClientTransport<S>>, http::Response<()>), Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let io = if handshake.is_tls() {
        let name = tls_server_name(handshake.host())?;
        let connector = tokio_rustls::TlsConnector::from(config.tls_config());
        MaybeTls::Tls(crate::TokioIo(connector.connect(name, tcp).await?))
    } else {
        MaybeTls::Plain(crate::TokioIo(tcp))
    };
    client_handshake(io, handshake, config).await
}

/// A futures-io client transport (async-std, smol): plain TCP or rustls over it.
#[cfg(feature = "futures-io")]
pub type FuturesClientTransport<S> =
    MaybeTls<crate::FuturesIo<S>, crate::FuturesIo<futures_rustls::client::TlsStream<S>>>;

/// Sets up TLS (for `wss://`) over a connected futures-io stream, then runs the client
/// handshake.
#[cfg(feature = "futures-io")]
pub async fn connect_futures_io<S>(
    tcp: S,
    handshake: ClientHandshake,
    config: &ClientConfig,
) -> Result<
    (
        WebSocketStream<FuturesClientTransport<S>>,
        http::Response<()>,
    ),
    Error,
>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let io = if handshake.is_tls() {
        let name = tls_server_name(handshake.host())?;
        let connector = futures_rustls::TlsConnector::from(config.tls_config());
        MaybeTls::Tls(crate::FuturesIo(connector.connect(name, tcp).await?))
    } else {
        MaybeTls::Plain(crate::FuturesIo(tcp))
    };
    client_handshake(io, handshake, config).await
}
