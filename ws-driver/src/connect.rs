//! Client connection set-up over an already connected TCP stream: TLS to an `https://` proxy,
//! the tunnel when a proxy is used (HTTP `CONNECT` or SOCKS5), TLS for `wss://`, then the
//! opening handshake. The runtime (see [`Runtime`](crate::Runtime)) only opens the TCP
//! connection (to the server or to the proxy) and runs the TLS handshakes.

use crate::config::{tls_server_name, ClientConfig};
use crate::either::MaybeTls;
use crate::error::Error;
use crate::handshake::{client_handshake_inner, with_timeout, write_all};
use crate::stream::WebSocketStream;
use crate::tls::{handshake_failed, is_tls_error};
use crate::transport::{Sleep, Transport};
use bytes::{Buf, BytesMut};
use futures_util::future::poll_fn;
use rustls::pki_types::ServerName;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use ws_handshake::{ClientHandshake, Proxy, ProxyError, ProxyKind, TunnelStatus};

/// The host and port to open a TCP connection to, for a handshake's URI (IPv6 literals
/// without their brackets).
pub fn connect_addr(handshake: &ClientHandshake) -> (String, u16) {
    let host = handshake.host();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (host.to_string(), handshake.port())
}

/// `host:port` as written in messages and URLs, with an IPv6 literal in brackets.
pub fn host_port(host: &str, port: u16) -> String {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Where a client opens its TCP connection: the server, or the proxy that `config` selects for
/// the handshake's URI (IPv6 literals without their brackets), and that proxy if any.
pub(crate) fn connect_route(
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

/// Asks the proxy for a tunnel to the handshake's host and port (HTTP `CONNECT` or SOCKS5)
/// and reads its answers. Returns the bytes that followed the last: they are the server's.
async fn tunnel<T: Transport>(
    io: &mut T,
    proxy: &Proxy,
    handshake: &ClientHandshake,
) -> Result<BytesMut, Error> {
    let (host, port) = (handshake.host(), handshake.port());
    let resolved = if proxy.resolves_locally(host) {
        Some(resolve(proxy, host, port).await?)
    } else {
        None
    };
    let mut tunnel = proxy.tunnel(host, port, resolved)?;
    write_all(io, &tunnel.start()).await?;
    let mut buf = BytesMut::new();
    loop {
        match tunnel.parse(&buf)? {
            TunnelStatus::Partial => {
                let n = poll_fn(|cx| io.poll_read_buf(cx, &mut buf)).await?;
                if n == 0 {
                    return Err(tunnel.eof_error().into());
                }
            }
            TunnelStatus::Send { consumed, bytes } => {
                buf.advance(consumed);
                write_all(io, &bytes).await?;
            }
            TunnelStatus::Done { consumed } => {
                tracing::debug!(proxy = %proxy, "proxy tunnel established");
                buf.advance(consumed);
                return Ok(buf);
            }
        }
    }
}

/// Resolves the target's host name for a `socks5://` proxy, with the system resolver on a
/// thread of its own (so it works on every runtime without blocking it). The first address
/// is used.
async fn resolve(proxy: &Proxy, host: &str, port: u16) -> Result<IpAddr, Error> {
    let (tx, rx) = futures_channel::oneshot::channel();
    let name = host.to_string();
    std::thread::Builder::new()
        .name("ws-socks5-resolve".into())
        .spawn(move || {
            use std::net::ToSocketAddrs;
            let first = (name.as_str(), port)
                .to_socket_addrs()
                .and_then(|mut addrs| {
                    addrs
                        .next()
                        .ok_or_else(|| std::io::Error::other("the name has no addresses"))
                });
            let _ = tx.send(first.map(|addr| addr.ip()));
        })?;
    let resolved = rx
        .await
        .unwrap_or_else(|_| Err(std::io::Error::other("the resolver thread ended")));
    resolved.map_err(|source| {
        ProxyError::Resolve {
            proxy: proxy.to_string(),
            host: host.to_string(),
            source,
        }
        .into()
    })
}

/// The server name to check an `https://` proxy's certificate against; `None` for the other
/// kinds, whose first hop is plain TCP.
fn proxy_tls_name(proxy: Option<&Proxy>) -> Result<Option<ServerName<'static>>, Error> {
    match proxy {
        Some(proxy) if proxy.kind() == ProxyKind::Https => tls_server_name(proxy.host()).map(Some),
        _ => Ok(None),
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

/// The set-up shared by every runtime, within `config.handshake_timeout` (`sleep`): TLS to
/// the proxy by `to_proxy` for an `https://` proxy (it wraps the stream as it is otherwise),
/// the tunnel if `proxy` is given (`tcp` is then connected to the proxy), TLS by `start_tls`
/// for `wss://`, then the client handshake. Running out of time while the proxy has not
/// answered is [`Error::ProxyTimeout`]; a failed TLS handshake is [`Error::Tls`].
pub(crate) async fn set_up<S, P, Q, G, GFut, F, Fut>(
    tcp: S,
    sleep: Sleep,
    handshake: ClientHandshake,
    config: &ClientConfig,
    proxy: Option<&Proxy>,
    to_proxy: G,
    start_tls: F,
) -> Result<(WebSocketStream<MaybeTls<P, Q>>, http::Response<()>), Error>
where
    P: Transport,
    Q: Transport,
    G: FnOnce(Option<ServerName<'static>>, S) -> GFut,
    GFut: Future<Output = std::io::Result<P>>,
    F: FnOnce(ServerName<'static>, P) -> Fut,
    Fut: Future<Output = std::io::Result<Q>>,
{
    let target = host_port(handshake.host(), handshake.port());
    // Whether the proxy is still to answer: then a timeout is the proxy's.
    let waiting_for_proxy = AtomicBool::new(proxy.is_some());
    let result = with_timeout(sleep, async {
        let name = proxy_tls_name(proxy)?;
        let mut io = match (to_proxy(name, tcp).await, proxy) {
            (Ok(io), _) => io,
            // Only the TLS hop to an `https://` proxy can fail here.
            (Err(source), Some(proxy)) => {
                let proxy = proxy.to_string();
                return Err(ProxyError::Tls { proxy, source }.into());
            }
            (Err(e), None) => return Err(e.into()),
        };
        let leftover = match proxy {
            Some(proxy) => tunnel(&mut io, proxy, &handshake).await?,
            None => BytesMut::new(),
        };
        waiting_for_proxy.store(false, Ordering::Relaxed);
        let io = if handshake.is_tls() {
            check_before_tls(&leftover)?;
            let name = tls_server_name(handshake.host())?;
            let tls = start_tls(name, io)
                .await
                .map_err(|e| handshake_failed(target.clone(), e))?;
            MaybeTls::Tls(tls)
        } else {
            MaybeTls::Plain(io)
        };
        // A TLS 1.3 server reports some failures (a client certificate it wants) after the
        // client's side of the TLS handshake is done: they arrive with the first read.
        client_handshake_inner(io, handshake, config, leftover)
            .await
            .map_err(|e| match e {
                Error::Io(e) if is_tls_error(&e) => handshake_failed(target.clone(), e),
                e => e,
            })
    })
    .await;
    match (result, proxy) {
        (Err(Error::HandshakeTimeout), Some(proxy))
            if waiting_for_proxy.load(Ordering::Relaxed) =>
        {
            Err(Error::ProxyTimeout {
                proxy: host_port(proxy.host(), proxy.port()),
                target,
            })
        }
        (result, _) => result,
    }
}
