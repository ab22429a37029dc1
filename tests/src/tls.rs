//! A certificate authority and a server certificate for 127.0.0.1/localhost, made at test time.

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

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Generates a fresh CA and a certificate for `localhost` and `127.0.0.1` signed by it.
pub fn test_pki() -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("server key");
    let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("server params");
    let cert = params.signed_by(&key, &issuer).expect("server certificate");

    let server = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server config");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).expect("CA root");
    let client = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TestPki {
        server: Arc::new(server),
        client: Arc::new(client),
        server_cert_pem: cert.pem(),
        server_key_pem: key.serialize_pem(),
    }
}
