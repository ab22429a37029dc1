//! The settings of the driver: of an established stream ([`StreamConfig`]), of a client
//! connection ([`ClientConfig`]: limits, timeouts, TLS, proxies) and of a server handshake
//! ([`ServerConfig`]), in one place that the handshakes, the accept path and the adapters read.

use crate::error::Error;
use crate::tls::Trust;
use std::sync::Arc;
use std::time::Duration;
use ws_handshake::{DeflateOptions, Proxy, ProxyError};

/// Settings of an established WebSocket stream.
///
/// Limits and deadlines (keepalive, idle, closing handshake) are the protocol core's: the async
/// layer only arms the runtime's timer for the deadline the core names. The stream must be
/// polled (usually by a task reading it) for deadlines to be acted on. Set each with its
/// setter, named as the core's ([`max_message_size`](Self::max_message_size),
/// [`keepalive_interval`](Self::keepalive_interval), ...): [`ClientConfig`] and
/// [`ServerConfig`] have the same ones.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct StreamConfig {
    /// The protocol core's limits, switches and deadlines, where their values live: set them
    /// with this type's setters. Assign it only to install a whole core configuration made
    /// elsewhere. A stream yields whole messages, so
    /// [`reassemble`](ws_proto::Config::reassemble) must stay on (the default): settings with
    /// it off are refused with [`Error::ReassembleOff`] before any connection is made.
    pub protocol: ws_proto::Config,
}

impl StreamConfig {
    /// Refuses settings a stream cannot run with (see [`protocol`](Self::protocol)).
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.protocol.reassemble {
            Ok(())
        } else {
            Err(Error::ReassembleOff)
        }
    }

    /// Replaces all the protocol core's settings.
    #[deprecated(
        since = "0.1.0",
        note = "set each limit with its setter on StreamConfig, ClientConfig or ServerConfig \
                (`max_message_size`, `keepalive_interval`, ...); assign the `protocol` field \
                to install a whole ws_proto::Config"
    )]
    pub fn protocol(mut self, protocol: ws_proto::Config) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sets the keepalive ping interval and its answer deadline.
    #[deprecated(
        since = "0.1.0",
        note = "use `keepalive_interval(interval)` and `keepalive_timeout(timeout)`"
    )]
    pub fn keepalive(self, interval: Option<Duration>, timeout: Duration) -> Self {
        self.keepalive_interval(interval).keepalive_timeout(timeout)
    }
}

/// Settings for [`client_handshake`](crate::client_handshake) and the adapters' `connect_with`.
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

/// Settings for [`server_handshake`](crate::server_handshake) and the adapters' `accept_with`.
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
