//! Connecting through SOCKS5 proxies: a real Dante (`danted`, no authentication) and a real
//! microsocks (user name/password, RFC 1929) on loopback, `ws://` and `wss://`, the target
//! resolved by the client (`socks5://`) or by the proxy (`socks5h://`), and the refusals as
//! typed errors naming the proxy. Each case runs on tokio, async-std and smol.

use std::net::SocketAddr;
use tests::socks::SocksServer;
use tests::{echo_handler, echo_session, request, within, Runtime, ServeOptions};
use ws_driver::ws_handshake::Socks5Reply;
use ws_driver::{ClientConfig, Error, Message, Proxy, ProxyError};

const USER: &str = "carol";
const PASSWORD: &str = "s0cks-pw";

/// An echo server, plain or TLS: its address and the client settings to reach it.
fn echo_server<R: Runtime>(tls: bool) -> (SocketAddr, ClientConfig) {
    if tls {
        let pki = tests::tls::test_pki();
        let options = ServeOptions {
            tls: Some(pki.server.clone()),
            ..ServeOptions::default()
        };
        let addr = R::serve(options, echo_handler());
        (addr, ClientConfig::default().tls(pki.client.clone()))
    } else {
        let addr = R::serve(ServeOptions::default(), echo_handler());
        (addr, ClientConfig::default())
    }
}

fn messages() -> [Message; 2] {
    [
        Message::text("through SOCKS"),
        Message::binary(vec![0x5A; 70_000]),
    ]
}

/// Echoes through `socks` by proxy URL scheme, to the server by `host` (`127.0.0.1` or
/// `localhost`).
fn echo_through<R: Runtime>(socks: &SocksServer, scheme: &str, tls: bool, host: &str) {
    let (addr, config) = echo_server::<R>(tls);
    let url = format!(
        "{}://{host}:{}/socks",
        if tls { "wss" } else { "ws" },
        addr.port()
    );
    let proxy = Proxy::new(&socks.url(scheme)).expect("proxy URL");
    R::block_on(echo_session::<R>(
        &url,
        config.proxy(Some(proxy)),
        &messages(),
    ));
}

async fn connect_error<R: Runtime>(url: &str, proxy: &str) -> Error {
    let config = ClientConfig::default().proxy(Some(Proxy::new(proxy).expect("proxy URL")));
    match within::<R, _>("connect", R::connect(request(url), config)).await {
        Ok(_) => panic!(
            "{}: connecting to {url} via {proxy} should have failed",
            R::NAME
        ),
        Err(e) => e,
    }
}

fn ws_and_wss_through_dante<R: Runtime>() {
    let dante = SocksServer::dante(9);
    for (scheme, tls) in [
        ("socks5", false),
        ("socks5", true),
        ("socks5h", false),
        ("socks5h", true),
    ] {
        echo_through::<R>(&dante, scheme, tls, "127.0.0.1");
    }
    assert!(
        dante.log().contains("pass("),
        "{}: {}",
        R::NAME,
        dante.log()
    );
}

/// `socks5h://` hands the name to Dante, which resolves it; `socks5://` resolves it here and
/// sends the address. Either way the echo works by name (and TLS checks the name).
fn host_names_resolved_by_the_client_or_the_proxy<R: Runtime>() {
    let dante = SocksServer::dante(9);
    for scheme in ["socks5", "socks5h"] {
        for tls in [false, true] {
            echo_through::<R>(&dante, scheme, tls, "localhost");
        }
    }
}

/// Dante logs the target it connected to: for `socks5h://` the name came on the wire, and the
/// connection still reached the server.
fn dante_connects_to_the_target<R: Runtime>() {
    let dante = SocksServer::dante(9);
    let (addr, config) = echo_server::<R>(false);
    let proxy = Proxy::new(&dante.url("socks5h")).expect("proxy URL");
    let url = format!("ws://localhost:{}/", addr.port());
    R::block_on(echo_session::<R>(
        &url,
        config.proxy(Some(proxy)),
        &messages(),
    ));
    assert!(
        dante.saw_connect_to(addr),
        "{}: no connection to {addr} in Dante's log:\n{}",
        R::NAME,
        dante.log()
    );
}

fn password_authentication_with_microsocks<R: Runtime>() {
    let socks = SocksServer::microsocks(USER, PASSWORD);
    for scheme in ["socks5", "socks5h"] {
        for tls in [false, true] {
            echo_through::<R>(&socks, scheme, tls, "127.0.0.1");
        }
    }
}

fn wrong_or_missing_credentials_are_typed<R: Runtime>() {
    let socks = SocksServer::microsocks(USER, PASSWORD);
    let (addr, _) = echo_server::<R>(false);
    let url = format!("ws://{addr}/");
    let name = format!("socks5://{}", socks.addr());
    let wrong = format!("socks5://{USER}:wrong-pw@{}", socks.addr());
    let error = R::block_on(connect_error::<R>(&url, &wrong));
    match &error {
        Error::Proxy(ProxyError::Socks5AuthFailed { proxy, .. }) => assert_eq!(proxy, &name),
        other => panic!(
            "{}: expected an authentication failure, got {other:?}",
            R::NAME
        ),
    }
    assert!(error.to_string().contains(&name), "{error}");
    assert!(!error.to_string().contains("wrong-pw"), "{error}");
    let error = R::block_on(connect_error::<R>(&url, &name));
    match &error {
        Error::Proxy(ProxyError::Socks5NoAcceptableMethod {
            proxy,
            offered_password: false,
        }) => assert_eq!(proxy, &name),
        other => panic!("{}: expected no acceptable method, got {other:?}", R::NAME),
    }
}

fn dante_refusals_are_typed_in_words<R: Runtime>() {
    let (addr, _) = echo_server::<R>(false);
    // Dante's rule refuses the echo server's port: reply 2.
    let dante = SocksServer::dante(addr.port());
    let proxy = dante.url("socks5h");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let cases = [
        (format!("ws://{addr}/"), Socks5Reply::NotAllowed),
        (format!("wss://{closed}/"), Socks5Reply::ConnectionRefused),
        (
            "ws://no-such-host.invalid/".to_string(),
            Socks5Reply::HostUnreachable,
        ),
    ];
    for (url, expected) in cases {
        let error = R::block_on(connect_error::<R>(&url, &proxy));
        match &error {
            Error::Proxy(ProxyError::Socks5Refused { proxy: name, reply }) => {
                assert_eq!(*reply, expected, "{}: {url}", R::NAME);
                assert_eq!(name, &proxy);
            }
            other => panic!("{}: {url}: expected {expected:?}, got {other:?}", R::NAME),
        }
        let text = error.to_string();
        assert!(text.contains(&proxy), "{text}");
        assert!(
            text.contains(&format!("reply code {}", expected.code())),
            "{text}"
        );
    }
    // socks5:// resolves here: an unknown name fails before the proxy is asked.
    let error = R::block_on(connect_error::<R>(
        "ws://no-such-host.invalid/",
        &dante.url("socks5"),
    ));
    assert!(
        matches!(&error, Error::Proxy(ProxyError::Resolve { host, .. }) if host == "no-such-host.invalid"),
        "{}: {error:?}",
        R::NAME
    );
}

tests::for_each_runtime!(
    ws_and_wss_through_dante,
    host_names_resolved_by_the_client_or_the_proxy,
    dante_connects_to_the_target,
    password_authentication_with_microsocks,
    wrong_or_missing_credentials_are_typed,
    dante_refusals_are_typed_in_words,
);
