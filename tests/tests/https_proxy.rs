//! Connecting through an `https://` proxy: TLS to the proxy (Debian's stunnel in front of
//! tinyproxy, with a certificate from a test CA trusted through the client's settings), then
//! `CONNECT` inside it, then, for `wss://`, TLS to the server inside the tunnel. Each case runs
//! on tokio, async-std and smol.

use std::net::SocketAddr;
use tests::stunnel::HttpsProxy;
use tests::tinyproxy::ProxyOptions;
use tests::tls::TestPki;
use tests::{echo_handler, echo_session, request, within, Runtime, ServeOptions};
use ws_driver::{http, ClientConfig, Error, Message, Proxy, ProxyError};

/// An echo server, plain or TLS with `pki`'s certificate: its URL.
fn echo_url<R: Runtime>(tls: bool, pki: &TestPki) -> (SocketAddr, String) {
    let options = ServeOptions {
        tls: tls.then(|| pki.server.clone()),
        ..ServeOptions::default()
    };
    let addr = R::serve(options, echo_handler());
    let scheme = if tls { "wss" } else { "ws" };
    (addr, format!("{scheme}://{addr}/through-tls"))
}

fn messages() -> [Message; 2] {
    [
        Message::text("TLS in TLS"),
        Message::binary(vec![0xC3; 100_000]),
    ]
}

/// One CA for the proxy and the server, trusted through `ClientConfig::tls`; the proxy by
/// name and by address.
fn ws_and_wss_through_an_https_proxy<R: Runtime>() {
    let pki = tests::tls::test_pki();
    let https = HttpsProxy::start(&ProxyOptions::default(), &pki);
    for host in ["localhost", "127.0.0.1"] {
        for tls in [false, true] {
            let (addr, url) = echo_url::<R>(tls, &pki);
            let proxy = Proxy::new(&https.url(host, None)).expect("proxy URL");
            let config = ClientConfig::default()
                .tls(pki.client.clone())
                .proxy(Some(proxy));
            R::block_on(echo_session::<R>(&url, config, &messages()));
            assert!(
                https.tinyproxy.saw_connect_to(addr),
                "{}: no CONNECT to {addr} behind stunnel:\n{}",
                R::NAME,
                https.tinyproxy.log()
            );
        }
    }
}

/// The proxy's CA and the server's differ: `proxy_tls` trusts one, `tls` the other.
fn proxy_and_server_trusted_separately<R: Runtime>() {
    let proxy_pki = tests::tls::test_pki();
    let server_pki = tests::tls::test_pki();
    let https = HttpsProxy::start(&ProxyOptions::default(), &proxy_pki);
    let (_, url) = echo_url::<R>(true, &server_pki);
    let proxy = Proxy::new(&https.url("localhost", None)).expect("proxy URL");
    let config = ClientConfig::default()
        .tls(server_pki.client.clone())
        .proxy_tls(proxy_pki.client.clone())
        .proxy(Some(proxy));
    R::block_on(echo_session::<R>(&url, config, &messages()));
}

/// A proxy whose certificate the client does not trust: the TLS handshake to the proxy fails
/// and no `CONNECT` is sent.
fn untrusted_proxy_certificate_fails_before_connect<R: Runtime>() {
    let pki = tests::tls::test_pki();
    let other = tests::tls::test_pki();
    let https = HttpsProxy::start(&ProxyOptions::default(), &pki);
    let (addr, url) = echo_url::<R>(false, &pki);
    let proxy = Proxy::new(&https.url("localhost", None)).expect("proxy URL");
    let config = ClientConfig::default()
        .tls(other.client.clone())
        .proxy(Some(proxy));
    let result = R::block_on(within::<R, _>("connect", R::connect(request(&url), config)));
    match result {
        Err(Error::Proxy(ProxyError::Tls { proxy, source })) => {
            assert_eq!(proxy, https.url("localhost", None), "{}", R::NAME);
            let cause = source.to_string().to_lowercase();
            assert!(cause.contains("certificate"), "{}: {cause}", R::NAME);
        }
        Err(other) => panic!("{}: expected a certificate error, got {other:?}", R::NAME),
        Ok(_) => panic!("{}: an untrusted proxy was accepted", R::NAME),
    }
    assert!(
        !https.tinyproxy.saw_connect_to(addr),
        "{}",
        https.tinyproxy.log()
    );
}

/// Refusals from behind the TLS hop name the `https://` proxy.
fn refusals_through_tls_name_the_proxy<R: Runtime>() {
    let pki = tests::tls::test_pki();
    let https = HttpsProxy::start(
        &ProxyOptions {
            basic_auth: Some(("dave".into(), "pw".into())),
            ..ProxyOptions::default()
        },
        &pki,
    );
    let (_, url) = echo_url::<R>(true, &pki);
    let name = https.url("localhost", None);
    let config = ClientConfig::default()
        .tls(pki.client.clone())
        .proxy(Some(Proxy::new(&name).expect("proxy URL")));
    let result = R::block_on(within::<R, _>("connect", R::connect(request(&url), config)));
    match result {
        Err(Error::Proxy(ProxyError::AuthRequired { status, proxy, .. })) => {
            assert_eq!(status, http::StatusCode::PROXY_AUTHENTICATION_REQUIRED);
            assert_eq!(proxy, name);
        }
        Err(other) => panic!("{}: expected 407, got {other:?}", R::NAME),
        Ok(_) => panic!("{}: the proxy should have asked for credentials", R::NAME),
    }
    // With the credentials the tunnel opens.
    let proxy = Proxy::new(&https.url("localhost", Some(("dave", "pw")))).expect("proxy URL");
    let config = ClientConfig::default()
        .tls(pki.client.clone())
        .proxy(Some(proxy));
    R::block_on(echo_session::<R>(&url, config, &messages()));
}

tests::for_each_runtime!(
    ws_and_wss_through_an_https_proxy,
    proxy_and_server_trusted_separately,
    untrusted_proxy_certificate_fails_before_connect,
    refusals_through_tls_name_the_proxy,
);
