//! smol's side of the driver's runtime seam: its timer, TCP and rustls connections, and its
//! byte streams as a [`Transport`](ws_driver::Transport).

use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::client::TlsStream;
use futures_util::future::Either;
use rustls::pki_types::ServerName;
use smol::net::TcpStream;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use ws_driver::{FuturesIo, FuturesIoRuntime, Runtime, RuntimeFuture, Sleep};

/// The smol runtime, as the driver sees it: what [`connect`](crate::connect) runs on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Smol;

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

impl Runtime for Smol {
    type Tcp = TcpStream;
    type Hop = SmolIo<ProxyStream>;
    type Tls = SmolIo<TlsStream<ProxyStream>>;

    fn sleep(duration: Duration) -> Sleep {
        Box::pin(async move {
            smol::Timer::after(duration).await;
        })
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
            Ok(SmolIo::new(match name {
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
        Box::pin(async move { Ok(SmolIo::new(tls(config, name, hop.0).await?)) })
    }
}

/// A futures-io `AsyncRead + AsyncWrite` stream (smol's TCP, futures-rustls, ...) as the
/// driver's [`Transport`](ws_driver::Transport). Shutting it down is `poll_close`, which for
/// smol's TCP stream sends FIN (after `close_notify` for TLS).
pub type SmolIo<S> = FuturesIo<S, Smol>;

impl<S> FuturesIoRuntime<S> for Smol {
    fn shut_down_write(_: &S) -> io::Result<()> {
        Ok(())
    }
}
