//! An application whose dependencies turn on rustls's default features (aws-lc-rs) next to
//! this library's ring: rustls then cannot choose a process-level crypto provider, and
//! `rustls::ClientConfig::builder()` panics. This library never relies on that default, so
//! `wss://` connections work without the application installing one. On every runtime.

use std::sync::Once;
use tests::tls::TestCa;
use tests::{echo_handler, echo_session, Runtime, ServeOptions};
use ws_driver::{ClientConfig, Message};

/// Checks once that this binary is in the trap: both providers compiled in, none installed.
fn both_providers_and_no_default() {
    static CHECKED: Once = Once::new();
    CHECKED.call_once(|| {
        // The dev-dependency turns on aws-lc-rs in the same rustls.
        let _aws_lc = rustls::crypto::aws_lc_rs::default_provider();
        let _ring = rustls::crypto::ring::default_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_none());
        let builder = std::panic::catch_unwind(rustls::ClientConfig::builder);
        assert!(
            builder.is_err(),
            "rustls chose a default provider: the test would prove nothing"
        );
    });
}

fn wss_connects_without_a_default_provider<R: Runtime>() {
    both_providers_and_no_default();
    let ca = TestCa::new();
    let options = ServeOptions {
        tls: Some(ca.server(&["127.0.0.1"])),
        ..ServeOptions::default()
    };
    let addr = R::serve(options, echo_handler());
    let config = ClientConfig::default()
        .trust_system_roots()
        .add_root_certificates([ca.der()])
        .expect("CA");
    R::block_on(echo_session::<R>(
        &format!("wss://{addr}/"),
        config,
        &[Message::text("no default provider needed")],
    ));
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
}

tests::for_each_runtime!(wss_connects_without_a_default_provider);
