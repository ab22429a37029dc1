//! The opening handshake driven over a transport: client and server.

use crate::driver::StreamConfig;
use crate::error::Error;
use crate::stream::WebSocketStream;
use crate::tls::Trust;
use crate::transport::Transport;
use bytes::BytesMut;
use futures_util::future::{poll_fn, select, Either};
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use ws_handshake::{
    deflate_check_response, deflate_offer, Callback, ClientError, ClientHandshake, ClientStatus,
    DeflateAgreement, DeflateError, DeflateOptions, Extension, Proxy, ProxyError,
    PERMESSAGE_DEFLATE,
};
use ws_proto::Role;

/// Settings for [`client_handshake`] and the adapters' `connect_with`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Settings of the resulting stream.
    pub stream: StreamConfig,
    /// How long the opening handshake may take once connected (to the server, or to the proxy:
    /// then it covers the `CONNECT` exchange and TLS too). Default 10 s.
    pub handshake_timeout: Duration,
    /// TLS settings for `wss://`; `None` trusts the web PKI roots (`webpki-roots`) and the
    /// roots added with [`add_root_certificates`](Self::add_root_certificates),
    /// [`add_root_pem_file`](Self::add_root_pem_file) and
    /// [`trust_system_roots`](Self::trust_system_roots).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// permessage-deflate (RFC 7692) to offer; `None` offers no compression. Default: offered
    /// with default parameters.
    pub deflate: Option<DeflateOptions>,
    /// A proxy to tunnel through: HTTP `CONNECT` over TCP or TLS, or SOCKS5. Takes precedence over
    /// [`proxy_from_env`](Self::proxy_from_env). Default: none.
    pub proxy: Option<Proxy>,
    /// Whether to pick a proxy from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` when
    /// [`proxy`](Self::proxy) is `None` (see [`Proxy::from_env_with`]). Default: false.
    pub proxy_from_env: bool,
    /// The roots trusted when `tls` is `None`.
    trust: Trust,
    /// TLS settings for the hop to an `https://` proxy; `None` uses [`tls`](Self::tls) (or
    /// the web PKI roots).
    pub proxy_tls: Option<Arc<rustls::ClientConfig>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            stream: StreamConfig::default(),
            handshake_timeout: Duration::from_secs(10),
            tls: None,
            deflate: Some(DeflateOptions::default()),
            proxy: None,
            proxy_from_env: false,
            trust: Trust::default(),
            proxy_tls: None,
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

    /// Sets the permessage-deflate offer (`None`: no compression).
    pub fn deflate(mut self, deflate: Option<DeflateOptions>) -> Self {
        self.deflate = deflate;
        self
    }

    /// Uses this rustls configuration for `wss://` instead of the built-in one (the roots
    /// added with the `add_root_*` and `trust_system_roots` methods are then not used). Build
    /// it with an explicit provider, such as [`crypto_provider`](crate::crypto_provider).
    pub fn tls(mut self, tls: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Also trusts these root certificates (a private CA), alongside the web PKI roots.
    /// Fails if one does not parse as a trust anchor.
    pub fn add_root_certificates(
        mut self,
        certs: impl IntoIterator<Item = rustls::pki_types::CertificateDer<'static>>,
    ) -> Result<Self, Error> {
        let certs = certs.into_iter().collect();
        self.trust.add("the given certificates", certs)?;
        Ok(self)
    }

    /// Also trusts every certificate of a PEM file (a private CA's `ca.pem`), alongside the
    /// web PKI roots. Fails if the file cannot be read or holds no certificate.
    ///
    /// ```no_run
    /// let config = ws_driver::ClientConfig::default().add_root_pem_file("ca.pem")?;
    /// # Ok::<(), ws_driver::Error>(())
    /// ```
    pub fn add_root_pem_file(mut self, path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        self.trust.add_pem_file(path.as_ref())?;
        Ok(self)
    }

    /// Also trusts the operating system's root certificates (loaded now, with
    /// `rustls-native-certs`: the system bundle, or `SSL_CERT_FILE`/`SSL_CERT_DIR` when set),
    /// alongside the web PKI roots. Certificates that cannot be loaded are skipped with a
    /// `tracing` warning.
    pub fn trust_system_roots(mut self) -> Self {
        self.trust.add_system();
        self
    }

    /// Tunnels through this proxy: HTTP `CONNECT` (`http://`, `https://`) or SOCKS5
    /// (`socks5://`, `socks5h://`) (`None`: connect directly, or as the environment says
    /// if [`proxy_from_env`](Self::proxy_from_env) was called).
    ///
    /// ```
    /// use ws_driver::{ClientConfig, Proxy};
    ///
    /// let proxy = Proxy::new("http://alice:s3cret@proxy.internal:3128")?;
    /// assert_eq!((proxy.host(), proxy.port(), proxy.user()), ("proxy.internal", 3128, Some("alice")));
    /// let config = ClientConfig::default().proxy(Some(proxy));
    /// let target = "wss://example.com/chat".parse()?;
    /// assert!(config.proxy_for(&target)?.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn proxy(mut self, proxy: Option<Proxy>) -> Self {
        self.proxy = proxy;
        self
    }

    /// Opts in to the proxy environment variables (`HTTPS_PROXY` for `wss://`, `HTTP_PROXY`
    /// for `ws://`, `ALL_PROXY`, `NO_PROXY`), read at each connect. An explicit
    /// [`proxy`](Self::proxy) wins.
    pub fn proxy_from_env(mut self) -> Self {
        self.proxy_from_env = true;
        self
    }

    /// The proxy to use for `target`: the explicit one, else the environment's if opted in.
    pub fn proxy_for(&self, target: &http::Uri) -> Result<Option<Proxy>, ProxyError> {
        match &self.proxy {
            Some(proxy) => Ok(Some(proxy.clone())),
            None if self.proxy_from_env => Proxy::from_env(target),
            None => Ok(None),
        }
    }

    /// Uses this rustls configuration for the TLS hop to an `https://` proxy (for example
    /// trusting a corporate CA), instead of the one for `wss://` servers.
    pub fn proxy_tls(mut self, tls: Arc<rustls::ClientConfig>) -> Self {
        self.proxy_tls = Some(tls);
        self
    }

    /// The rustls configuration for an `https://` proxy: [`proxy_tls`](Self::proxy_tls) if
    /// given, else the one for `wss://` servers.
    pub fn proxy_tls_config(&self) -> Arc<rustls::ClientConfig> {
        self.proxy_tls.clone().unwrap_or_else(|| self.tls_config())
    }

    /// The rustls configuration for `wss://`: the one given, or one trusting the web PKI roots
    /// and the roots added.
    pub fn tls_config(&self) -> Arc<rustls::ClientConfig> {
        self.tls.clone().unwrap_or_else(|| self.trust.config())
    }
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
    /// How to answer permessage-deflate (RFC 7692) offers; `None` declines them. Default:
    /// accepted with default parameters.
    pub deflate: Option<DeflateOptions>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            stream: StreamConfig::default(),
            handshake: ws_handshake::ServerConfig::default(),
            handshake_timeout: Duration::from_secs(10),
            deflate: Some(DeflateOptions::default()),
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

    /// Sets how permessage-deflate offers are answered (`None`: declined).
    pub fn deflate(mut self, deflate: Option<DeflateOptions>) -> Self {
        self.deflate = deflate;
        self
    }
}

/// The protocol core's codec for what the handshake agreed on.
pub(crate) fn deflate_codec(
    role: Role,
    agreed: &DeflateAgreement,
    local: &DeflateOptions,
) -> Box<ws_proto::PerMessageDeflate> {
    let mut config = ws_proto::DeflateConfig::default();
    config.server_no_context_takeover = agreed.server_no_context_takeover;
    config.client_no_context_takeover = agreed.client_no_context_takeover;
    config.server_max_window_bits = agreed.server_max_window_bits;
    config.client_max_window_bits = agreed.client_max_window_bits;
    config.level = local.level;
    config.threshold = local.threshold;
    Box::new(ws_proto::PerMessageDeflate::new(role, &config))
}

/// The one permessage-deflate element of a response, if any.
pub(crate) fn deflate_element(
    extensions: &[Extension],
) -> Result<Option<&Extension>, DeflateError> {
    let mut found = extensions.iter().filter(|e| e.name == PERMESSAGE_DEFLATE);
    let first = found.next();
    if found.next().is_some() {
        return Err(DeflateError("permessage-deflate accepted twice".into()));
    }
    Ok(first)
}

pub(crate) async fn write_all<T: Transport>(io: &mut T, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        let n = poll_fn(|cx| io.poll_write_vectored(cx, &[io::IoSlice::new(data)])).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
    }
    poll_fn(|cx| io.poll_flush(cx)).await
}

pub(crate) async fn with_timeout<T, F>(sleep: crate::Sleep, fut: F) -> Result<T, Error>
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
    with_timeout(
        sleep,
        client_handshake_inner(io, handshake, config, BytesMut::new()),
    )
    .await
}

/// The client handshake without its own timeout; `buf` holds bytes already read from the
/// server (what followed a proxy's answer in the same read).
pub(crate) async fn client_handshake_inner<T: Transport>(
    mut io: T,
    mut handshake: ClientHandshake,
    config: &ClientConfig,
    mut buf: BytesMut,
) -> Result<(WebSocketStream<T>, http::Response<()>), Error> {
    offer_deflate(&mut handshake, config)?;
    write_all(&mut io, &handshake.request_bytes()).await?;
    // Bytes that arrived with a proxy's answer came from the server: parse them before reading.
    let mut pending = !buf.is_empty();
    loop {
        if !std::mem::take(&mut pending) {
            let n = poll_fn(|cx| io.poll_read_buf(cx, &mut buf)).await?;
            if n == 0 {
                return Err(handshake.finish_eof(&buf).into());
            }
        }
        match handshake.parse_response(&buf)? {
            ClientStatus::Partial => continue,
            ClientStatus::Done {
                response,
                consumed,
                extensions,
                ..
            } => {
                tracing::debug!(status = %response.status(), "websocket client handshake done");
                let deflate = client_deflate(&extensions, config)?;
                let mut ws = WebSocketStream::from_transport(
                    io,
                    Role::Client,
                    &config.stream,
                    &buf[consumed..],
                );
                if let Some(codec) = deflate {
                    ws.set_extension(codec);
                }
                return Ok((ws, response));
            }
        }
    }
}

/// Adds the permessage-deflate offer of `config` unless the request already makes one.
pub(crate) fn offer_deflate(
    handshake: &mut ClientHandshake,
    config: &ClientConfig,
) -> Result<(), Error> {
    if let Some(options) = &config.deflate {
        if !handshake.offers_extension(PERMESSAGE_DEFLATE) {
            handshake.offer_extension(&deflate_offer(options))?;
        }
    }
    Ok(())
}

/// The client's codec for the extensions a server accepted (101 or 200), if it agreed to
/// permessage-deflate.
pub(crate) fn client_deflate(
    extensions: &[Extension],
    config: &ClientConfig,
) -> Result<Option<Box<ws_proto::PerMessageDeflate>>, Error> {
    let Some(element) = deflate_element(extensions).map_err(ClientError::from)? else {
        return Ok(None);
    };
    let local = config.deflate.clone().unwrap_or_default();
    let agreed = deflate_check_response(&local, element).map_err(ClientError::from)?;
    Ok(Some(deflate_codec(Role::Client, &agreed, &local)))
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
    match crate::accept::accept_validated(&request, callback, config) {
        Ok((response, accepted)) => {
            write_all(&mut io, &ws_handshake::encode_response(&response)).await?;
            tracing::debug!(
                uri = %request.uri(),
                extensions = ?accepted.negotiated().extensions,
                "websocket server handshake done"
            );
            Ok(accepted.into_stream(io, &buf[consumed..]))
        }
        Err(refusal) => {
            let _ = write_all(&mut io, &ws_handshake::encode_refusal(&refusal.response)).await;
            let _ = poll_fn(|cx| io.poll_shutdown(cx)).await;
            Err(refusal.error.into())
        }
    }
}
