//! A certificate authority and server certificates signed by it, made at test time. Every
//! rustls configuration is built with the driver's explicit provider, never the process-level
//! default.

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// Server and client TLS configurations that trust each other.
pub struct TestPki {
    /// For the server: the certificate chain and key.
    pub server: Arc<rustls::ServerConfig>,
    /// For the client: trusts only the test CA.
    pub client: Arc<rustls::ClientConfig>,
    /// The server certificate, PEM, for servers outside the process (stunnel).
    pub server_cert_pem: String,
    /// Its private key, PEM.
    pub server_key_pem: String,
}

/// A fresh certificate authority.
pub struct TestCa {
    cert: rcgen::Certificate,
    issuer: Issuer<'static, KeyPair>,
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

impl TestCa {
    /// Generates a CA key and its self-signed certificate.
    pub fn new() -> TestCa {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa {
            cert,
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A server configuration with a certificate for `names`, signed by this CA.
    pub fn server(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        self.server_with(names, |_| {})
    }

    /// A server configuration with a certificate for `names` that expired in 2001.
    pub fn expired_server(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        self.server_with(names, |params| {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        })
    }

    /// A server configuration (TLS `version` only) with a certificate for `names` that
    /// requires a client certificate signed by this CA: a client without one gets a fatal
    /// alert, during its handshake with TLS 1.2, after it with TLS 1.3.
    pub fn client_auth_server(
        &self,
        names: &[&str],
        version: &'static rustls::SupportedProtocolVersion,
    ) -> Arc<rustls::ServerConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der()).expect("CA root");
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            ws_driver::crypto_provider(),
        )
        .build()
        .expect("client verifier");
        let (cert, key) = self.certificate(names, |_| {});
        let config = rustls::ServerConfig::builder_with_provider(ws_driver::crypto_provider())
            .with_protocol_versions(&[version])
            .expect("TLS version")
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![cert], key)
            .expect("server config");
        Arc::new(config)
    }

    /// A certificate for `names` signed by this CA, and its key.
    fn certificate(
        &self,
        names: &[&str],
        edit: impl FnOnce(&mut CertificateParams),
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let (cert, key) = self.signed(names, edit);
        let key = PrivateKeyDer::Pkcs8(key.serialize_der().into());
        (cert.der().clone(), key)
    }

    fn signed(
        &self,
        names: &[&str],
        edit: impl FnOnce(&mut CertificateParams),
    ) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().expect("server key");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("server params");
        edit(&mut params);
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("server certificate");
        (cert, key)
    }

    /// A server configuration with a certificate for `names`, and that certificate and its
    /// key as PEM, for servers outside the process (stunnel).
    pub fn server_and_pem(&self, names: &[&str]) -> (Arc<rustls::ServerConfig>, String, String) {
        let (cert, key) = self.signed(names, |_| {});
        let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
        let der = PrivateKeyDer::Pkcs8(key.serialize_der().into());
        (self.config_for(cert.der().clone(), der), cert_pem, key_pem)
    }

    fn server_with(
        &self,
        names: &[&str],
        edit: impl FnOnce(&mut CertificateParams),
    ) -> Arc<rustls::ServerConfig> {
        let (cert, key) = self.certificate(names, edit);
        self.config_for(cert, key)
    }

    fn config_for(
        &self,
        cert: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
    ) -> Arc<rustls::ServerConfig> {
        let config = rustls::ServerConfig::builder_with_provider(ws_driver::crypto_provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("server config");
        Arc::new(config)
    }

    /// A client configuration trusting only this CA.
    pub fn client(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der()).expect("CA root");
        let config = rustls::ClientConfig::builder_with_provider(ws_driver::crypto_provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}

/// Generates a fresh CA and a certificate for `localhost` and `127.0.0.1` signed by it.
pub fn test_pki() -> TestPki {
    let ca = TestCa::new();
    let (server, server_cert_pem, server_key_pem) = ca.server_and_pem(&["localhost", "127.0.0.1"]);
    TestPki {
        server,
        client: ca.client(),
        server_cert_pem,
        server_key_pem,
    }
}
