//! async-std's side of the driver's runtime seam: its timer, TCP and rustls connections, and
//! its byte streams as a [`Transport`](ws_driver::Transport).

use async_std::net::TcpStream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::client::TlsStream;
use futures_util::future::Either;
use rustls::pki_types::ServerName;
use std::any::Any;
use std::io;
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;
use ws_driver::{FuturesIo, FuturesIoRuntime, Runtime, RuntimeFuture, Sleep};

/// The async-std runtime, as the driver sees it: what [`connect`](crate::connect) runs on.
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncStd;

/// The first hop of a client connection: the TCP stream, or TLS over it to an `https://`
/// proxy.
pub type ProxyStream = Either<TcpStream, TlsStream<TcpStream>>;

/// The TLS client handshake for `name` over `stream`: both hops (to an `https://` proxy, and
/// end to end to a `wss://` server) run through this one connector.
async fn tls<S: AsyncRead + AsyncWrite + Unpin>(
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
    stream: S,
) -> io::Result<TlsStream<S>> {
    futures_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
}

impl Runtime for AsyncStd {
    type Tcp = TcpStream;
    type Hop = AsyncStdIo<ProxyStream>;
    type Tls = AsyncStdIo<TlsStream<ProxyStream>>;

    fn sleep(duration: Duration) -> Sleep {
        Box::pin(async_std::task::sleep(duration))
    }

    fn connect_tcp(host: String, port: u16) -> RuntimeFuture<Self::Tcp> {
        Box::pin(async move {
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            Ok(tcp)
        })
    }

    fn connect_hop(
        config: Arc<rustls::ClientConfig>,
        name: Option<ServerName<'static>>,
        tcp: Self::Tcp,
    ) -> RuntimeFuture<Self::Hop> {
        Box::pin(async move {
            Ok(AsyncStdIo::new(match name {
                Some(name) => Either::Right(tls(config, name, tcp).await?),
                None => Either::Left(tcp),
            }))
        })
    }

    fn connect_tls(
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        hop: Self::Hop,
    ) -> RuntimeFuture<Self::Tls> {
        Box::pin(async move { Ok(AsyncStdIo::new(tls(config, name, hop.0).await?)) })
    }
}

/// A futures-io `AsyncRead + AsyncWrite` stream (async-std's TCP, futures-rustls, ...) as the
/// driver's [`Transport`](ws_driver::Transport).
///
/// async-std's TCP stream only flushes on `poll_close`: shutting this transport down also
/// shuts down the write side of the TCP stream (sends FIN, after `close_notify` for TLS) when
/// it is one, or rustls over one (the client's hops included), like the tokio and smol
/// adapters do.
pub type AsyncStdIo<S> = FuturesIo<S, AsyncStd>;

impl<S: 'static> FuturesIoRuntime<S> for AsyncStd {
    fn shut_down_write(stream: &S) -> io::Result<()> {
        match tcp_of(stream).map(|tcp| tcp.shutdown(Shutdown::Write)) {
            // The peer may have closed first: nothing is left to shut down.
            Some(Err(e)) if e.kind() != io::ErrorKind::NotConnected => Err(e),
            _ => Ok(()),
        }
    }
}

/// The TCP stream under `stream`, when it is async-std's: plain, under rustls (client or
/// server), or a client's [`ProxyStream`] hop with or without rustls over it.
fn tcp_of(stream: &dyn Any) -> Option<&TcpStream> {
    if let Some(tcp) = stream.downcast_ref::<TcpStream>() {
        return Some(tcp);
    }
    if let Some(tls) = stream.downcast_ref::<TlsStream<TcpStream>>() {
        return Some(tls.get_ref().0);
    }
    if let Some(tls) = stream.downcast_ref::<futures_rustls::server::TlsStream<TcpStream>>() {
        return Some(tls.get_ref().0);
    }
    if let Some(tls) = stream.downcast_ref::<TlsStream<ProxyStream>>() {
        return tcp_of(tls.get_ref().0);
    }
    match stream.downcast_ref::<ProxyStream>()? {
        Either::Left(tcp) => Some(tcp),
        Either::Right(tls) => Some(tls.get_ref().0),
    }
}
