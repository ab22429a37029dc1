//! WebSocket clients over HTTP/2 (RFC 8441), behind the `http2` feature.
//!
//! [`connect`] opens a WebSocket over HTTP/2 when the server allows it: `wss://` negotiates
//! `h2` by TLS ALPN, `ws://` speaks HTTP/2 with prior knowledge (h2c). It falls back to
//! HTTP/1.1 when the server does not offer `h2` or does not allow extended CONNECT
//! (`SETTINGS_ENABLE_CONNECT_PROTOCOL`). [`Http2Connection`] keeps one HTTP/2 connection and
//! opens several WebSockets to the same origin on it, each on its own stream with its own flow
//! control.
//!
//! The frames are the same `ws_proto` connection as over HTTP/1.1; only the handshake differs
//! (`ws_handshake`'s extended CONNECT). Closing a WebSocket ends its stream, not the
//! connection. HTTP proxies ([`ClientConfig::proxy`]) are not used on this path.
//!
//! ```no_run
//! # async fn run() -> Result<(), ws_tokio::http2::Http2Error> {
//! use ws_tokio::http2::Http2Connection;
//! use ws_tokio::{ClientConfig, Message};
//!
//! let config = ClientConfig::default();
//! let connection = Http2Connection::connect("wss://example.com/", &config).await?;
//! let (mut chat, _) = connection.open("wss://example.com/chat", &config).await?;
//! let (mut feed, _) = connection.open("wss://example.com/feed", &config).await?;
//! chat.send(Message::text("hello")).await?;
//! let _ = feed.recv().await;
//! # Ok(())
//! # }
//! ```

mod io;

pub use io::H2Stream;

use crate::TokioIo;
use crate::{http, ClientConfig, Error, WebSocketStream};
use bytes::Bytes;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use ws_driver::ws_handshake::{ClientHandshake, IntoClientRequest, WEBSOCKET_PROTOCOL};
use ws_driver::ExtendedConnect;

/// The HTTP/2 flow-control window of each WebSocket's stream: how far the server may send
/// ahead of what the application has read.
pub const STREAM_WINDOW: u32 = 256 * 1024;
/// The flow-control window of the whole connection: 64 stalled WebSockets' worth, so the
/// others go on.
pub const CONNECTION_WINDOW: u32 = 64 * STREAM_WINDOW;

/// A WebSocket opened by [`Http2Connection::open`]: over one HTTP/2 stream.
pub type Http2WebSocket = WebSocketStream<TokioIo<H2Stream>>;

/// A WebSocket opened by [`connect`]: over an HTTP/2 stream, or over HTTP/1.1 when the server
/// did not allow HTTP/2.
pub type WebSocket = WebSocketStream<TokioIo<Http2Io>>;

/// Why a WebSocket over HTTP/2 could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Http2Error {
    /// The server speaks HTTP/2 but did not send `SETTINGS_ENABLE_CONNECT_PROTOCOL`.
    #[error(
        "the server at {0} does not allow WebSockets over HTTP/2 (it did not enable extended \
         CONNECT): use http2::connect, which falls back to HTTP/1.1"
    )]
    NotAllowed(String),
    /// The server did not negotiate `h2` by TLS ALPN.
    #[error("the server at {0} does not offer HTTP/2 over TLS (ALPN h2)")]
    NoHttp2(String),
    /// The HTTP/2 connection or the WebSocket's stream failed.
    #[error("the HTTP/2 connection failed; check that the server speaks HTTP/2 on this port")]
    Http2(#[source] h2::Error),
    /// The WebSocket itself failed: connection, TLS, handshake (a refusal), protocol.
    #[error(transparent)]
    WebSocket(#[from] Error),
}

impl From<ws_driver::ws_handshake::ClientError> for Http2Error {
    fn from(error: ws_driver::ws_handshake::ClientError) -> Self {
        Http2Error::WebSocket(error.into())
    }
}

/// One HTTP/2 connection to an origin, opening WebSockets on new streams. Cloning it shares
/// the connection; it closes when every clone and every WebSocket on it is dropped.
#[derive(Clone, Debug)]
pub struct Http2Connection {
    send: h2::client::SendRequest<Bytes>,
    origin: String,
}

impl Http2Connection {
    /// Opens an HTTP/2 connection for the origin of `url`: TLS with ALPN `h2` for `wss://`,
    /// prior knowledge (h2c) for `ws://`, within `config.handshake_timeout`. Fails with
    /// [`Http2Error::NoHttp2`] if a TLS server does not choose `h2`.
    pub async fn connect(
        url: impl IntoClientRequest,
        config: &ClientConfig,
    ) -> Result<Self, Http2Error> {
        let handshake = ClientHandshake::new(url)?;
        within(config.handshake_timeout, async {
            match open_transport(&handshake, config, true).await? {
                Http2Io::Tls(tls) if is_h2(&tls) => Self::handshake(*tls, origin(&handshake)).await,
                Http2Io::Tcp(tcp) => Self::handshake(tcp, origin(&handshake)).await,
                _ => Err(Http2Error::NoHttp2(origin(&handshake))),
            }
        })
        .await
    }

    /// Starts HTTP/2 on a connected transport (spawning the task that drives the connection)
    /// and waits until the server's settings are known. `origin` names the server in errors.
    pub async fn handshake<S>(io: S, origin: String) -> Result<Self, Http2Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        // Each stream may hold STREAM_WINDOW bytes its WebSocket has not read; the connection
        // window is larger, so that stalled WebSockets do not use it all up and stop the others.
        let (send, mut connection) = h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .handshake(io)
            .await
            .map_err(Http2Error::Http2)?;
        let mut ping = connection.ping_pong();
        tokio::spawn(async move {
            // Ends when the connection closes; its errors reach the streams.
            let _ = connection.await;
        });
        // The server's SETTINGS come before its answer to a PING: once the answer is in, so is
        // SETTINGS_ENABLE_CONNECT_PROTOCOL, which a client must see before using extended
        // CONNECT (RFC 8441 §3).
        if let Some(ping) = ping.as_mut() {
            ping.ping(h2::Ping::opaque())
                .await
                .map_err(Http2Error::Http2)?;
        }
        Ok(Http2Connection { send, origin })
    }

    /// Whether the server allows WebSockets on this connection (it sent
    /// `SETTINGS_ENABLE_CONNECT_PROTOCOL` = 1).
    pub fn allows_websockets(&self) -> bool {
        self.send.is_extended_connect_protocol_enabled()
    }

    /// Opens a WebSocket on a new stream of this connection with an extended CONNECT for
    /// `request` (a `ws://`/`wss://` URL of this origin, or a request with headers such as
    /// `Sec-WebSocket-Protocol`), within `config.handshake_timeout`. Returns the stream and
    /// the server's 200 response; a refusal is `Error::ClientHandshake` with its status.
    pub async fn open(
        &self,
        request: impl IntoClientRequest,
        config: &ClientConfig,
    ) -> Result<(Http2WebSocket, http::Response<()>), Http2Error> {
        let (connect, stream, response) = self.open_stream(request, config).await?;
        let ws = connect.finish(TokioIo(stream), &response, config)?;
        Ok((ws, response))
    }

    /// The extended CONNECT exchange of [`open`](Self::open), up to the response.
    async fn open_stream(
        &self,
        request: impl IntoClientRequest,
        config: &ClientConfig,
    ) -> Result<(ExtendedConnect, H2Stream, http::Response<()>), Http2Error> {
        if !self.allows_websockets() {
            return Err(Http2Error::NotAllowed(self.origin.clone()));
        }
        let connect = ExtendedConnect::new(ClientHandshake::new(request)?, config)?;
        let mut request = connect.request()?;
        request
            .extensions_mut()
            .insert(h2::ext::Protocol::from_static(WEBSOCKET_PROTOCOL));
        within(config.handshake_timeout, async {
            let mut send = self.send.clone().ready().await.map_err(Http2Error::Http2)?;
            let (response, stream) = send
                .send_request(request, false)
                .map_err(Http2Error::Http2)?;
            let (head, body) = response.await.map_err(Http2Error::Http2)?.into_parts();
            let response = http::Response::from_parts(head, ());
            Ok((connect, H2Stream::new(stream, body), response))
        })
        .await
    }
}

/// Opens a WebSocket to `request`'s URL over HTTP/2 when the server allows it, else over
/// HTTP/1.1: `wss://` offers ALPN `h2` and `http/1.1`, `ws://` tries HTTP/2 with prior
/// knowledge. Uses a connection of its own; share one with [`Http2Connection`].
pub async fn connect(
    request: impl IntoClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket, http::Response<()>), Http2Error> {
    let request = request.into_client_request()?;
    let handshake = ClientHandshake::new(request.clone())?;
    let name = origin(&handshake);
    let io = within(
        config.handshake_timeout,
        open_transport(&handshake, config, true),
    )
    .await?;
    let http2 = match io {
        Http2Io::Tls(tls) if !is_h2(&tls) => {
            // The server chose HTTP/1.1: go on on this connection.
            return http1(Http2Io::Tls(tls), handshake, config).await;
        }
        Http2Io::Tls(tls) => Http2Connection::handshake(*tls, name).await,
        Http2Io::Tcp(tcp) => Http2Connection::handshake(tcp, name).await,
        Http2Io::Http2(_) => unreachable!("open_transport opens no stream"),
    }?;
    if http2.allows_websockets() {
        let (connect, stream, response) = http2.open_stream(request, config).await?;
        let ws = connect.finish(TokioIo(Http2Io::Http2(stream)), &response, config)?;
        return Ok((ws, response));
    }
    // HTTP/2 without extended CONNECT: a new connection speaking HTTP/1.1 only.
    let io = within(
        config.handshake_timeout,
        open_transport(&handshake, config, false),
    )
    .await?;
    http1(io, handshake, config).await
}

async fn http1(
    io: Http2Io,
    handshake: ClientHandshake,
    config: &ClientConfig,
) -> Result<(WebSocket, http::Response<()>), Http2Error> {
    Ok(ws_driver::client_handshake(TokioIo(io), handshake, config).await?)
}

fn origin(handshake: &ClientHandshake) -> String {
    ws_driver::host_port(handshake.host(), handshake.port())
}

fn is_h2(tls: &TlsStream<TcpStream>) -> bool {
    tls.get_ref().1.alpn_protocol() == Some(b"h2")
}

/// TCP to the handshake's host, then TLS for `wss://` offering `h2` (if `http2`) and
/// `http/1.1` by ALPN.
async fn open_transport(
    handshake: &ClientHandshake,
    config: &ClientConfig,
    http2: bool,
) -> Result<Http2Io, Http2Error> {
    let (host, port) = ws_driver::connect_addr(handshake);
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(Error::Io)?;
    let _ = tcp.set_nodelay(true);
    if !handshake.is_tls() {
        return Ok(Http2Io::Tcp(tcp));
    }
    let mut tls = (*config.tls_config()).clone();
    tls.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    let name = ws_driver::tls_server_name(handshake.host())?;
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls))
        .connect(name, tcp)
        .await
        .map_err(Error::Io)?;
    Ok(Http2Io::Tls(Box::new(tls)))
}

async fn within<T>(
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, Http2Error>>,
) -> Result<T, Http2Error> {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or(Err(Http2Error::WebSocket(Error::HandshakeTimeout)))
}

/// What a WebSocket from [`connect`] runs over: an HTTP/2 stream, or the HTTP/1.1
/// connection of the fallback (plain or TLS).
#[derive(Debug)]
#[non_exhaustive]
pub enum Http2Io {
    /// A stream of an HTTP/2 connection.
    Http2(H2Stream),
    /// HTTP/1.1 over plain TCP.
    Tcp(TcpStream),
    /// HTTP/1.1 over TLS.
    Tls(Box<TlsStream<TcpStream>>),
}

macro_rules! each {
    ($self:ident, $io:ident => $e:expr) => {
        match $self.get_mut() {
            Http2Io::Http2($io) => {
                let $io = Pin::new($io);
                $e
            }
            Http2Io::Tcp($io) => {
                let $io = Pin::new($io);
                $e
            }
            Http2Io::Tls($io) => {
                let $io = Pin::new($io.as_mut());
                $e
            }
        }
    };
}

impl AsyncRead for Http2Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        each!(self, io => io.poll_read(cx, buf))
    }
}

impl AsyncWrite for Http2Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        each!(self, io => io.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        each!(self, io => io.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        each!(self, io => io.poll_shutdown(cx))
    }
}
