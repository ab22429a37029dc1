//! The opening handshake driven over a transport: client and server.

use crate::driver::StreamConfig;
use crate::error::Error;
use crate::stream::WebSocketStream;
use crate::transport::Transport;
use bytes::BytesMut;
use futures_util::future::{poll_fn, select, Either};
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use ws_handshake::{Callback, ClientHandshake, ClientStatus};
use ws_proto::Role;

/// Settings for [`client_handshake`] and the adapters' `connect_with`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Settings of the resulting stream.
    pub stream: StreamConfig,
    /// How long the opening handshake may take once connected. Default 10 s.
    pub handshake_timeout: Duration,
    /// TLS settings for `wss://`; `None` uses the web PKI roots (`webpki-roots`).
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            stream: StreamConfig::default(),
            handshake_timeout: Duration::from_secs(10),
            tls: None,
        }
    }
}

impl ClientConfig {
    /// Sets the stream settings.
    pub fn stream(mut self, stream: StreamConfig) -> Self {
        self.stream = stream;
        self
    }

    /// Sets the handshake timeout.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Uses this rustls configuration for `wss://` (for example with a private CA).
    pub fn tls(mut self, tls: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The rustls configuration for `wss://`: the one given, or one trusting the web PKI roots.
    pub fn tls_config(&self) -> Arc<rustls::ClientConfig> {
        self.tls.clone().unwrap_or_else(default_tls_config)
    }
}

/// A rustls client configuration trusting the Mozilla root programme (`webpki-roots`).
pub fn default_tls_config() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map(|b| b.with_root_certificates(roots).with_no_client_auth())
    .unwrap_or_else(|_| unreachable_config());
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

fn unreachable_config() -> rustls::ClientConfig {
    // ring supports the default protocol versions; this path is never taken.
    panic!("the ring provider does not support the default TLS versions")
}

/// The server name to verify a `wss://` server's certificate against.
pub fn tls_server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>, Error> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| Error::Url(format!("invalid TLS server name {host:?}: {e}")))
}

/// Settings for [`server_handshake`] and the adapters' `accept_with`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Settings of the resulting stream.
    pub stream: StreamConfig,
    /// Limits on the request head.
    pub handshake: ws_handshake::ServerConfig,
    /// How long the client may take to send its request. Default 10 s.
    pub handshake_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            stream: StreamConfig::default(),
            handshake: ws_handshake::ServerConfig::default(),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl ServerConfig {
    /// Sets the stream settings.
    pub fn stream(mut self, stream: StreamConfig) -> Self {
        self.stream = stream;
        self
    }

    /// Sets the handshake limits.
    pub fn handshake(mut self, handshake: ws_handshake::ServerConfig) -> Self {
        self.handshake = handshake;
        self
    }

    /// Sets the handshake timeout.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }
}

async fn write_all<T: Transport>(io: &mut T, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        let n = poll_fn(|cx| io.poll_write_vectored(cx, &[io::IoSlice::new(data)])).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
    }
    poll_fn(|cx| io.poll_flush(cx)).await
}

async fn with_timeout<T, F>(sleep: crate::Sleep, fut: F) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>>,
{
    let fut = std::pin::pin!(fut);
    match select(fut, sleep).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => Err(Error::HandshakeTimeout),
    }
}

/// Runs the client's opening handshake on a connected transport (RFC 6455 §4.1).
///
/// Returns the stream and the server's 101 response. A non-101 answer is
/// `Error::ClientHandshake(ClientError::Rejected { .. })` with status, headers and body.
pub async fn client_handshake<T: Transport>(
    io: T,
    handshake: ClientHandshake,
    config: &ClientConfig,
) -> Result<(WebSocketStream<T>, http::Response<()>), Error> {
    let sleep = io.sleep(config.handshake_timeout);
    with_timeout(sleep, client_handshake_inner(io, handshake, &config.stream)).await
}

async fn client_handshake_inner<T: Transport>(
    mut io: T,
    mut handshake: ClientHandshake,
    config: &StreamConfig,
) -> Result<(WebSocketStream<T>, http::Response<()>), Error> {
    write_all(&mut io, &handshake.request_bytes()).await?;
    let mut buf = BytesMut::new();
    loop {
        let n = poll_fn(|cx| io.poll_read_buf(cx, &mut buf)).await?;
        if n == 0 {
            return Err(handshake.finish_eof(&buf).into());
        }
        match handshake.parse_response(&buf)? {
            ClientStatus::Partial => continue,
            ClientStatus::Done {
                response, consumed, ..
            } => {
                tracing::debug!(status = %response.status(), "websocket client handshake done");
                let ws =
                    WebSocketStream::from_transport(io, Role::Client, config, &buf[consumed..]);
                return Ok((ws, response));
            }
        }
    }
}

/// Runs the server's opening handshake on an accepted transport (RFC 6455 §4.2), asking
/// `callback` to accept or reject the request. Malformed requests and rejections are answered
/// with an HTTP error and the transport is closed.
pub async fn server_handshake<T: Transport, C: Callback>(
    io: T,
    callback: C,
    config: &ServerConfig,
) -> Result<WebSocketStream<T>, Error> {
    let sleep = io.sleep(config.handshake_timeout);
    with_timeout(sleep, server_handshake_inner(io, callback, config)).await
}

async fn server_handshake_inner<T: Transport, C: Callback>(
    mut io: T,
    callback: C,
    config: &ServerConfig,
) -> Result<WebSocketStream<T>, Error> {
    let mut buf = BytesMut::new();
    let (request, consumed) = loop {
        let n = poll_fn(|cx| io.poll_read_buf(cx, &mut buf)).await?;
        match ws_handshake::parse_request(&buf, &config.handshake) {
            Ok(Some(parsed)) => break parsed,
            Ok(None) if n == 0 => {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
            }
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(error = %e, "websocket handshake request refused");
                let _ = write_all(&mut io, &e.response_bytes()).await;
                let _ = poll_fn(|cx| io.poll_shutdown(cx)).await;
                return Err(e.into());
            }
        }
    };
    match ws_handshake::respond(&request, callback) {
        Ok((response, _negotiated)) => {
            write_all(&mut io, &response).await?;
            tracing::debug!(uri = %request.uri(), "websocket server handshake done");
            Ok(WebSocketStream::from_transport(
                io,
                Role::Server,
                &config.stream,
                &buf[consumed..],
            ))
        }
        Err((error, response)) => {
            let _ = write_all(&mut io, &response).await;
            let _ = poll_fn(|cx| io.poll_shutdown(cx)).await;
            Err(error.into())
        }
    }
}
