//! TLS for `wss://`: the crypto provider every configuration is built with, the roots a client
//! trusts, and TLS handshake failures told in words.
//!
//! Every rustls configuration here is built with an explicit provider ([`crypto_provider`],
//! rustls's `ring`), never the process-level default: an application whose other
//! dependencies turn on rustls's `aws-lc-rs` too (so that rustls cannot pick a default) still
//! connects.

use crate::error::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, RootCertStore};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The crypto provider of every rustls configuration this crate builds (rustls's `ring`).
/// Use it for your own configurations too (`rustls::ClientConfig::builder_with_provider`)
/// rather than the process-level default, which rustls cannot choose when both of its
/// providers are compiled in.
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// A rustls client configuration trusting the Mozilla root programme (`webpki-roots`).
pub fn default_tls_config() -> Arc<rustls::ClientConfig> {
    static DEFAULT: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| client_config(web_pki_roots()))
        .clone()
}

fn web_pki_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// A client configuration trusting `roots`, with the explicit provider and ALPN `http/1.1`.
fn client_config(roots: RootCertStore) -> Arc<rustls::ClientConfig> {
    let builder = rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        // ring supports rustls's default protocol versions: this cannot fail.
        .expect("the ring provider supports the default TLS versions");
    let mut config = builder.with_root_certificates(roots).with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The roots a client trusts when it is given no rustls configuration of its own: the web PKI
/// roots, plus the operating system's store and extra certificates if asked for.
#[derive(Clone, Default)]
pub(crate) struct Trust {
    /// Extra roots (a private CA).
    extra: Vec<CertificateDer<'static>>,
    /// Roots loaded from the operating system's store.
    system: Vec<CertificateDer<'static>>,
    /// The configuration built from the above, once.
    built: Arc<OnceLock<Arc<rustls::ClientConfig>>>,
}

impl fmt::Debug for Trust {
    // Counts, not hundreds of certificates' bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trust")
            .field("web_pki_roots", &webpki_roots::TLS_SERVER_ROOTS.len())
            .field("system_roots", &self.system.len())
            .field("extra_roots", &self.extra.len())
            .finish()
    }
}

impl Trust {
    /// Adds roots, checking that each parses as a trust anchor.
    pub(crate) fn add(
        &mut self,
        origin: &str,
        certs: Vec<CertificateDer<'static>>,
    ) -> Result<(), Error> {
        let mut check = RootCertStore::empty();
        for cert in &certs {
            check
                .add(cert.clone())
                .map_err(|e| Error::RootCertificates {
                    origin: origin.to_string(),
                    source: Box::new(e),
                })?;
        }
        self.extra.extend(certs);
        self.built = Arc::default();
        Ok(())
    }

    /// Adds the roots of a PEM file (every `CERTIFICATE` block).
    pub(crate) fn add_pem_file(&mut self, path: &Path) -> Result<(), Error> {
        let origin = path.display().to_string();
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| Error::RootCertificates {
            origin: origin.clone(),
            source,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| failed(Box::new(e)))?;
        if certs.is_empty() {
            return Err(failed("the file holds no PEM CERTIFICATE block".into()));
        }
        self.add(&origin, certs)
    }

    /// Adds the operating system's roots (`rustls-native-certs`: the system bundle on Linux,
    /// `SSL_CERT_FILE`/`SSL_CERT_DIR` if set, the keychain on macOS, the store on Windows).
    /// Certificates that cannot be loaded are skipped with a warning: the web PKI roots stay.
    pub(crate) fn add_system(&mut self) {
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::warn!(%error, "skipping part of the system trust store");
        }
        let mut check = RootCertStore::empty();
        let (_, unusable) = check.add_parsable_certificates(loaded.certs.iter().cloned());
        if unusable > 0 {
            tracing::debug!(unusable, "skipped unusable system root certificates");
        }
        self.system = loaded.certs;
        self.built = Arc::default();
    }

    /// The client configuration: the shared default when nothing was added.
    pub(crate) fn config(&self) -> Arc<rustls::ClientConfig> {
        if self.extra.is_empty() && self.system.is_empty() {
            return default_tls_config();
        }
        self.built
            .get_or_init(|| {
                let mut roots = web_pki_roots();
                roots.add_parsable_certificates(self.system.iter().cloned());
                roots.add_parsable_certificates(self.extra.iter().cloned());
                client_config(roots)
            })
            .clone()
    }
}

/// Why a TLS handshake failed, in a few categories; the message says what to do. The rustls
/// error itself is the [`Error::Tls`] source.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// What came back is not TLS: the server speaks plain HTTP or WebSocket on this port.
    NotTls,
    /// The certificate chain does not lead to a trusted root (a self-signed certificate or a
    /// private CA).
    UnknownIssuer,
    /// The certificate is not valid for the host name (or IP address) in the URL.
    NameMismatch,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet (or this machine's clock is behind).
    NotValidYet,
    /// The certificate is invalid otherwise: revoked, badly signed or encoded, for another
    /// purpose, ...
    BadCertificate,
    /// The server ended the handshake with a TLS alert.
    AlertReceived,
    /// The server and this client have no protocol version, cipher suite or key exchange in
    /// common.
    Incompatible,
    /// The connection closed or failed during the handshake.
    ConnectionLost,
    /// Any other TLS failure.
    Other,
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsFailure::NotTls => {
                "the server does not speak TLS on this port (use ws:// for a plain server, or \
                 check the port)"
            }
            TlsFailure::UnknownIssuer => {
                "its certificate is not signed by a trusted authority (self-signed or a private \
                 CA): pass the CA with ClientConfig::add_root_pem_file or \
                 add_root_certificates, or trust the system store with \
                 ClientConfig::trust_system_roots"
            }
            TlsFailure::NameMismatch => {
                "its certificate is not valid for the host name in the URL (connect with a \
                 name the certificate lists)"
            }
            TlsFailure::Expired => "its certificate has expired",
            TlsFailure::NotValidYet => {
                "its certificate is not valid yet (is this machine's clock right?)"
            }
            TlsFailure::BadCertificate => "its certificate is invalid",
            TlsFailure::AlertReceived => "the server refused the handshake with a TLS alert",
            TlsFailure::Incompatible => {
                "the server and this client have no TLS version or cipher suite in common"
            }
            TlsFailure::ConnectionLost => "the connection was lost during the TLS handshake",
            TlsFailure::Other => "the TLS handshake did not complete",
        })
    }
}

impl TlsFailure {
    /// The category of a rustls error.
    fn of(error: &rustls::Error) -> TlsFailure {
        use rustls::Error as E;
        match error {
            E::InvalidMessage(_) | E::InappropriateMessage { .. } => TlsFailure::NotTls,
            E::InvalidCertificate(e) => match e {
                CertificateError::UnknownIssuer => TlsFailure::UnknownIssuer,
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TlsFailure::NameMismatch,
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    TlsFailure::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    TlsFailure::NotValidYet
                }
                _ => TlsFailure::BadCertificate,
            },
            E::AlertReceived(_) => TlsFailure::AlertReceived,
            E::PeerIncompatible(_) => TlsFailure::Incompatible,
            _ => TlsFailure::Other,
        }
    }
}

/// Whether an I/O error is a rustls error (a TLS failure, not a transport one).
pub(crate) fn is_tls_error(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
}

/// The error for a failed TLS handshake with `server` (`host:port`): the rustls error inside
/// the I/O error becomes the source, and its category the reason.
pub(crate) fn handshake_failed(server: String, error: std::io::Error) -> Error {
    let reason = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .map(TlsFailure::of);
    match reason {
        Some(reason) => Error::Tls {
            server,
            reason,
            // `get_ref` found the rustls error: `into_inner` returns it.
            source: error.into_inner().unwrap_or_else(|| "a TLS error".into()),
        },
        None => Error::Tls {
            server,
            reason: TlsFailure::ConnectionLost,
            source: Box::new(error),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_der() -> CertificateDer<'static> {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).expect("CA").der().clone()
    }

    #[test]
    fn config_debug_counts_roots_instead_of_printing_them() {
        let mut trust = Trust::default();
        trust
            .add("test", vec![ca_der(), ca_der()])
            .unwrap_or_else(|e| panic!("{e}"));
        let debug = format!("{trust:?}");
        assert!(debug.contains("extra_roots: 2"), "{debug}");
        assert!(debug.len() < 200, "{debug}");
    }

    #[test]
    fn garbage_is_not_a_root() {
        let error = Trust::default()
            .add(
                "the given certificates",
                vec![CertificateDer::from(vec![1, 2, 3])],
            )
            .expect_err("not a certificate");
        assert!(matches!(error, Error::RootCertificates { .. }), "{error:?}");
    }

    #[test]
    fn without_added_roots_the_default_config_is_shared() {
        let trust = Trust::default();
        assert!(Arc::ptr_eq(&trust.config(), &default_tls_config()));
        let mut added = Trust::default();
        added
            .add("test", vec![ca_der()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(Arc::ptr_eq(&added.config(), &added.config()));
        assert!(!Arc::ptr_eq(&added.config(), &default_tls_config()));
    }
}
