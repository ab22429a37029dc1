//! tokio's side of the driver's runtime seam: its timer, TCP and rustls connections, and its
//! byte streams as a [`Transport`].

use rustls::pki_types::ServerName;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_util::either::Either;
use ws_driver::{Runtime, RuntimeFuture, Sleep, Transport};

/// The tokio runtime, as the driver sees it: what [`connect`](crate::connect) runs on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

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
    tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
}

impl Runtime for Tokio {
    type Tcp = TcpStream;
    type Hop = TokioIo<ProxyStream>;
    type Tls = TokioIo<TlsStream<ProxyStream>>;

    fn sleep(duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
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
            Ok(TokioIo(match name {
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
        Box::pin(async move { Ok(TokioIo(tls(config, name, hop.0).await?)) })
    }
}

/// A tokio `AsyncRead + AsyncWrite` stream (TCP, rustls, a hyper upgrade, ...) as the driver's
/// [`Transport`]. Shutting it down is tokio's `poll_shutdown`: FIN for TCP, after
/// `close_notify` for TLS.
#[derive(Debug)]
pub struct TokioIo<S>(pub S);

impl<S> TokioIo<S> {
    /// Wraps `stream`.
    pub fn new(stream: S) -> Self {
        TokioIo(stream)
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.0
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.0
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Transport for TokioIo<S> {
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ws_driver::ws_proto::BytesMut,
    ) -> Poll<io::Result<usize>> {
        if ws_driver::read_via_scratch(buf) {
            // An idle connection keeps no read buffer: only what arrives is copied.
            return ws_driver::poll_read_scratch(buf, |scratch| {
                let mut read = tokio::io::ReadBuf::new(scratch);
                ready!(Pin::new(&mut self.0).poll_read(cx, &mut read))?;
                Poll::Ready(Ok(read.filled().len()))
            });
        }
        buf.reserve(ws_driver::read_reserve(buf));
        // Reads straight into the uninitialised spare capacity: no zeroing, no copy.
        tokio_util::io::poll_read_buf(Pin::new(&mut self.0), cx, buf)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Tokio::sleep(duration)
    }
}
