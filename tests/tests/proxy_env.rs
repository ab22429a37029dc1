//! `ClientConfig::proxy_from_env` end to end: the proxy variables select tinyproxy, `NO_PROXY`
//! bypasses it, and without the opt-in the variables are ignored; then `ALL_PROXY` names a
//! SOCKS5 proxy (Dante) and a CIDR range in `NO_PROXY` bypasses it.
//!
//! This binary holds one test on purpose: it sets process environment variables, which is only
//! sound while no other thread reads them, so the three runtimes run one after another in it.

use std::net::SocketAddr;
use tests::socks::SocksServer;
use tests::tinyproxy::{ProxyOptions, TinyProxy};
use tests::{echo_handler, echo_session, Runtime, ServeOptions};
use ws_driver::{ClientConfig, Message};

/// Connects, echoes one message, closes.
async fn echo_once<R: Runtime>(url: &str, config: ClientConfig) {
    echo_session::<R>(url, config, &[Message::text("env")]).await;
}

fn env_selection<R: Runtime>(tinyproxy: &TinyProxy) {
    let pki = tests::tls::test_pki();
    let plain: SocketAddr = R::serve(ServeOptions::default(), echo_handler());
    let secure: SocketAddr = R::serve(
        ServeOptions {
            tls: Some(pki.server.clone()),
            ..ServeOptions::default()
        },
        echo_handler(),
    );
    let from_env = ClientConfig::default().proxy_from_env();
    R::block_on(async {
        // HTTP_PROXY for ws://, HTTPS_PROXY for wss://.
        echo_once::<R>(&format!("ws://{plain}/"), from_env.clone()).await;
        echo_once::<R>(
            &format!("wss://{secure}/"),
            from_env.clone().tls(pki.client.clone()),
        )
        .await;
        // NO_PROXY=localhost: direct.
        let local = format!("ws://localhost:{}/", plain.port());
        echo_once::<R>(&local, from_env.clone()).await;
        // Without the opt-in the variables are ignored.
        let other = R::serve(ServeOptions::default(), echo_handler());
        echo_once::<R>(&format!("ws://{other}/"), ClientConfig::default()).await;
        let log = tinyproxy.log();
        assert!(tinyproxy.saw_connect_to(plain), "{}: {log}", R::NAME);
        assert!(tinyproxy.saw_connect_to(secure), "{}: {log}", R::NAME);
        assert!(
            !log.contains(&format!("CONNECT localhost:{}", plain.port())),
            "{}: NO_PROXY ignored: {log}",
            R::NAME
        );
        assert!(!tinyproxy.saw_connect_to(other), "{}: {log}", R::NAME);
    });
}

/// With `ALL_PROXY=socks5h://dante` and `NO_PROXY=127.0.0.0/8`: a target by name goes through
/// Dante (CIDR ranges match addresses only, as in curl), a target by address in the range
/// goes direct.
fn env_socks<R: Runtime>(dante: &SocksServer) {
    let by_name: SocketAddr = R::serve(ServeOptions::default(), echo_handler());
    let by_address: SocketAddr = R::serve(ServeOptions::default(), echo_handler());
    let from_env = ClientConfig::default().proxy_from_env();
    R::block_on(async {
        let url = format!("ws://localhost:{}/", by_name.port());
        echo_once::<R>(&url, from_env.clone()).await;
        echo_once::<R>(&format!("ws://{by_address}/"), from_env.clone()).await;
    });
    assert!(
        dante.saw_connect_to(by_name),
        "{}: {}",
        R::NAME,
        dante.log()
    );
    assert!(
        !dante.saw_connect_to(by_address),
        "{}: {}",
        R::NAME,
        dante.log()
    );
}

#[test]
fn proxy_from_env_and_no_proxy() {
    let tinyproxy = TinyProxy::start(&ProxyOptions::default());
    for name in [
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "ALL_PROXY",
    ] {
        std::env::remove_var(name);
    }
    std::env::set_var("HTTP_PROXY", tinyproxy.url(None));
    std::env::set_var("HTTPS_PROXY", tinyproxy.url(None));
    std::env::set_var("NO_PROXY", "example.invalid, localhost");
    env_selection::<tests::runtimes::Tokio>(&tinyproxy);
    env_selection::<tests::runtimes::AsyncStd>(&tinyproxy);
    env_selection::<tests::runtimes::Smol>(&tinyproxy);

    let dante = SocksServer::dante(9);
    std::env::remove_var("HTTP_PROXY");
    std::env::remove_var("HTTPS_PROXY");
    std::env::set_var("ALL_PROXY", dante.url("socks5h"));
    std::env::set_var("NO_PROXY", "10.0.0.0/8, 127.0.0.0/8");
    env_socks::<tests::runtimes::Tokio>(&dante);
    env_socks::<tests::runtimes::AsyncStd>(&dante);
    env_socks::<tests::runtimes::Smol>(&dante);
}
