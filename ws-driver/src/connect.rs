//! Client connection set-up over an already connected TCP stream: the `CONNECT` tunnel when a
//! proxy is used, TLS for `wss://`, then the opening handshake. The adapters only open the TCP
//! connection (to the server or to the proxy) with their runtime.

// Without a runtime's I/O feature there is nothing to tunnel or connect over: the shared
// helpers below are only used by `connect_tokio` / `connect_futures_io`.
#![cfg_attr(
    not(any(feature = "tokio", feature = "futures-io")),
    allow(dead_code, unused_imports)
)]

use crate::either::MaybeTls;
use crate::error::Error;
use crate::handshake::{
    client_handshake_inner, tls_server_name, with_timeout, write_all, ClientConfig,
};
use crate::stream::WebSocketStream;
use crate::transport::Transport;
use bytes::BytesMut;
use futures_util::future::poll_fn;
use rustls::pki_types::ServerName;
use std::future::Future;
use ws_handshake::{parse_connect_response, ClientHandshake, Proxy, ProxyError};

/// The host and port to open a TCP connection to, for a handshake's URI (IPv6 literals
/// without their brackets).
pub fn connect_addr(handshake: &ClientHandshake) -> (String, u16) {
    let host = handshake.host();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (host.to_string(), handshake.port())
}

/// Where a client opens its TCP connection: the server, or the proxy that `config` selects for
/// the handshake's URI (IPv6 literals without their brackets). The proxy, if any, is returned
/// for `connect_tokio`/`connect_futures_io` (behind the `tokio`/`futures-io` features).
pub fn connect_route(
    handshake: &ClientHandshake,
    config: &ClientConfig,
) -> Result<(String, u16, Option<Proxy>), Error> {
    match config.proxy_for(handshake.uri())? {
        Some(proxy) => {
            let host = proxy.host().trim_start_matches('[').trim_end_matches(']');
            Ok((host.to_string(), proxy.port(), Some(proxy)))
        }
        None => {
            let (host, port) = connect_addr(handshake);
            Ok((host, port, None))
        }
    }
}

/// Asks the proxy for a tunnel to the handshake's host and port and reads its answer.
/// Returns the bytes that followed the answer: they are the server's.
async fn tunnel<T: Transport>(
    io: &mut T,
    proxy: &Proxy,
    handshake: &ClientHandshake,
) -> Result<BytesMut, Error> {
    write_all(
        io,
        &proxy.connect_request(handshake.host(), handshake.port()),
    )
    .await?;
    let mut buf = BytesMut::new();
    loop {
        let n = poll_fn(|cx| io.poll_read_buf(cx, &mut buf)).await?;
        match parse_connect_response(&buf, proxy.response_head_limit())? {
            Some(consumed) => {
                tracing::debug!(proxy = proxy.host(), "proxy tunnel established");
                let _ = buf.split_to(consumed);
                return Ok(buf);
            }
            None if n == 0 => return Err(ProxyError::UnexpectedEof.into()),
            None => {}
        }
    }
}

/// TLS sends first; anything the target sent before the client hello is not from a TLS server
/// (and rustls has no way to take it back), so it is refused rather than dropped.
fn check_before_tls(leftover: &BytesMut) -> Result<(), Error> {
    if leftover.is_empty() {
        Ok(())
    } else {
        Err(ProxyError::DataBeforeTls(leftover.len()).into())
    }
}

/// The set-up shared by every runtime: the `CONNECT` tunnel if `proxy` is given (`io` is then
/// connected to the proxy), TLS by `start_tls` for `wss://`, then the client handshake, all
/// within `config.handshake_timeout`.
async fn set_up<P, Q, F, Fut>(
    mut io: P,
    handshake: ClientHandshake,
    config: &ClientConfig,
    proxy: Option<&Proxy>,
    start_tls: F,
) -> Result<(WebSocketStream<MaybeTls<P, Q>>, http::Response<()>), Error>
where
    P: Transport,
    Q: Transport,
    F: FnOnce(ServerName<'static>, P) -> Fut,
    Fut: Future<Output = std::io::Result<Q>>,
{
    let sleep = io.sleep(config.handshake_timeout);
    with_timeout(sleep, async move {
        let leftover = match proxy {
            Some(proxy) => tunnel(&mut io, proxy, &handshake).await?,
            None => BytesMut::new(),
        };
        let io = if handshake.is_tls() {
            check_before_tls(&leftover)?;
            let name = tls_server_name(handshake.host())?;
            MaybeTls::Tls(start_tls(name, io).await?)
        } else {
            MaybeTls::Plain(io)
        };
        client_handshake_inner(io, handshake, config, leftover).await
    })
    .await
}

/// A tokio client transport: plain TCP or rustls over it.
#[cfg(feature = "tokio")]
pub type TokioClientTransport<S> =
    MaybeTls<crate::TokioIo<S>, crate::TokioIo<tokio_rustls::client::TlsStream<S>>>;

/// Over a connected tokio stream: the `CONNECT` tunnel if `proxy` is given (the stream is then
/// connected to the proxy), TLS for `wss://`, then the client handshake, all within
/// `config.handshake_timeout`.
#[cfg(feature = "tokio")]
pub async fn connect_tokio<S>(
    tcp: S,
    handshake: ClientHandshake,
    config: &ClientConfig,
    proxy: Option<&Proxy>,
) -> Result<(WebSocketStream<TokioClientTransport<S>>, http::Response<()>), Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let connector = tokio_rustls::TlsConnector::from(config.tls_config());
    set_up(
        crate::TokioIo(tcp),
        handshake,
        config,
        proxy,
        |name, io| async move { Ok(crate::TokioIo(connector.connect(name, io.0).await?)) },
    )
    .await
}

/// A futures-io client transport (async-std, smol): plain TCP or rustls over it.
#[cfg(feature = "futures-io")]
pub type FuturesClientTransport<S> =
    MaybeTls<crate::FuturesIo<S>, crate::FuturesIo<futures_rustls::client::TlsStream<S>>>;

/// Over a connected futures-io stream: the `CONNECT` tunnel if `proxy` is given (the stream is
/// then connected to the proxy), TLS for `wss://`, then the client handshake, all within
/// `config.handshake_timeout`.
#[cfg(feature = "futures-io")]
pub async fn connect_futures_io<S>(
    tcp: S,
    handshake: ClientHandshake,
    config: &ClientConfig,
    proxy: Option<&Proxy>,
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
    let connector = futures_rustls::TlsConnector::from(config.tls_config());
    set_up(
        crate::FuturesIo(tcp),
        handshake,
        config,
        proxy,
        |name, io| async move { Ok(crate::FuturesIo(connector.connect(name, io.0).await?)) },
    )
    .await
}
