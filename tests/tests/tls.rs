//! TLS set-up and failures as a new user meets them, on every runtime: a `wss://` URL to a
//! plain server, an untrusted CA, a wrong name, an expired certificate, trusting a private CA
//! in one call, and connect errors that name the address.

use std::net::SocketAddr;
use tests::errors::assert_each_cause_once;
use tests::tls::TestCa;
use tests::{echo_handler, echo_session, request, within, Runtime, ServeOptions};
use ws_driver::{ClientConfig, Error, Message, TlsFailure};

fn tls_echo_server<R: Runtime>(tls: std::sync::Arc<rustls::ServerConfig>) -> SocketAddr {
    let options = ServeOptions {
        tls: Some(tls),
        ..ServeOptions::default()
    };
    R::serve(options, echo_handler())
}

/// Connects to `url`, expecting a failure.
fn connect_error<R: Runtime>(url: &str, config: ClientConfig) -> Error {
    R::block_on(async {
        match within::<R, _>("connect", R::connect(request(url), config)).await {
            Ok(_) => panic!("{}: connecting to {url} succeeded", R::NAME),
            Err(e) => e,
        }
    })
}

/// Asserts a TLS failure with `server` for `reason`, whose source is the rustls error.
fn assert_tls_failure(error: &Error, addr: SocketAddr, reason: TlsFailure, says: &str) {
    let Error::Tls {
        server,
        reason: got,
        source,
    } = error
    else {
        panic!("not a TLS error: {error:?}");
    };
    assert_eq!(*got, reason, "{error}");
    assert_eq!(server, &addr.to_string());
    assert!(source.is::<rustls::Error>(), "source {source:?}");
    let messages = assert_each_cause_once(error);
    assert!(messages[0].contains(says), "{messages:?}");
    assert!(messages[0].contains(&addr.to_string()), "{messages:?}");
}

fn plain_server_is_reported_as_not_tls<R: Runtime>() {
    let addr = R::serve(ServeOptions::default(), echo_handler());
    let error = connect_error::<R>(&format!("wss://{addr}/"), ClientConfig::default());
    assert_tls_failure(&error, addr, TlsFailure::NotTls, "does not speak TLS");
    assert!(!error.to_string().contains("InvalidContentType"), "{error}");
}

fn unknown_issuer_says_how_to_trust_the_ca<R: Runtime>() {
    let ca = TestCa::new();
    let addr = tls_echo_server::<R>(ca.server(&["127.0.0.1"]));
    let error = connect_error::<R>(&format!("wss://{addr}/"), ClientConfig::default());
    assert_tls_failure(
        &error,
        addr,
        TlsFailure::UnknownIssuer,
        "ClientConfig::add_root_pem_file",
    );
}

fn wrong_name_is_a_name_mismatch<R: Runtime>() {
    let ca = TestCa::new();
    let addr = tls_echo_server::<R>(ca.server(&["other.example"]));
    let config = ClientConfig::default()
        .add_root_certificates([ca.der()])
        .expect("CA");
    let error = connect_error::<R>(&format!("wss://{addr}/"), config);
    assert_tls_failure(
        &error,
        addr,
        TlsFailure::NameMismatch,
        "not valid for the host",
    );
}

fn expired_certificate_is_reported<R: Runtime>() {
    let ca = TestCa::new();
    let addr = tls_echo_server::<R>(ca.expired_server(&["127.0.0.1"]));
    let config = ClientConfig::default()
        .add_root_certificates([ca.der()])
        .expect("CA");
    let error = connect_error::<R>(&format!("wss://{addr}/"), config);
    assert_tls_failure(&error, addr, TlsFailure::Expired, "expired");
}

fn an_alert_from_the_server_is_reported<R: Runtime>() {
    let ca = TestCa::new();
    // The server wants a client certificate this client does not have. With TLS 1.3 its
    // alert comes after the client's side of the handshake, with the first read.
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let addr = tls_echo_server::<R>(ca.client_auth_server(&["127.0.0.1"], version));
        let config = ClientConfig::default()
            .add_root_certificates([ca.der()])
            .expect("CA");
        let error = connect_error::<R>(&format!("wss://{addr}/"), config);
        assert_tls_failure(&error, addr, TlsFailure::AlertReceived, "TLS alert");
    }
}

fn adding_the_ca_makes_the_connection_succeed<R: Runtime>() {
    let ca = TestCa::new();
    let addr = tls_echo_server::<R>(ca.server(&["127.0.0.1", "localhost"]));
    let url = format!("wss://{addr}/");
    let untrusted = connect_error::<R>(&url, ClientConfig::default().trust_system_roots());
    assert!(
        matches!(
            untrusted,
            Error::Tls {
                reason: TlsFailure::UnknownIssuer,
                ..
            }
        ),
        "{untrusted:?}"
    );
    let messages = [Message::text("trusted")];
    let config = ClientConfig::default()
        .add_root_certificates([ca.der()])
        .expect("CA");
    R::block_on(echo_session::<R>(&url, config, &messages));

    let pem = std::env::temp_dir().join(format!("ws-tls-ca-{}-{}.pem", R::NAME, addr.port()));
    std::fs::write(&pem, ca.pem()).expect("write the CA");
    let config = ClientConfig::default()
        .trust_system_roots()
        .add_root_pem_file(&pem);
    let _ = std::fs::remove_file(&pem);
    let config = config.expect("CA file");
    R::block_on(echo_session::<R>(&url, config, &messages));
}

fn unusable_root_files_are_refused<R: Runtime>() {
    let dir = std::env::temp_dir();
    let missing = dir.join(format!("ws-tls-missing-{}.pem", R::NAME));
    let error = ClientConfig::default()
        .add_root_pem_file(&missing)
        .expect_err("a missing file");
    let messages = assert_each_cause_once(&error);
    assert!(matches!(error, Error::RootCertificates { .. }), "{error:?}");
    assert!(
        messages[0].contains(&missing.display().to_string()),
        "{messages:?}"
    );

    let empty = dir.join(format!(
        "ws-tls-empty-{}-{}.pem",
        R::NAME,
        std::process::id()
    ));
    std::fs::write(&empty, "not a certificate\n").expect("write");
    let error = ClientConfig::default().add_root_pem_file(&empty);
    let _ = std::fs::remove_file(&empty);
    let messages = assert_each_cause_once(&error.expect_err("no certificate"));
    assert!(messages[1].contains("no PEM CERTIFICATE"), "{messages:?}");
}

fn connect_errors_name_the_address<R: Runtime>() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let error = connect_error::<R>(&format!("ws://{addr}/"), ClientConfig::default());
    match &error {
        Error::Connect {
            addr: failed,
            proxy: false,
            source,
        } => {
            assert_eq!(failed, &addr.to_string());
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("{}: {other:?}", R::NAME),
    }
    let messages = assert_each_cause_once(&error);
    assert_eq!(messages[0], format!("cannot connect to {addr}"));
}

tests::for_each_runtime!(
    plain_server_is_reported_as_not_tls,
    unknown_issuer_says_how_to_trust_the_ca,
    wrong_name_is_a_name_mismatch,
    expired_certificate_is_reported,
    an_alert_from_the_server_is_reported,
    adding_the_ca_makes_the_connection_succeed,
    unusable_root_files_are_refused,
    connect_errors_name_the_address,
);
