//! Connecting through an HTTP proxy with `CONNECT`: a real tinyproxy on loopback, `ws://` and
//! `wss://`, with and without basic authentication, and its refusals (407, 403, 500) as typed
//! errors. Each case runs on tokio, async-std and smol.

use std::net::SocketAddr;
use std::time::Duration;
use tests::tinyproxy::{ProxyOptions, TinyProxy};
use tests::{echo_handler, echo_session, request, within, Runtime, ServeOptions};
use ws_driver::{http, ClientConfig, Error, Message, Proxy, ProxyError};

const USER: &str = "alice";
const PASSWORD: &str = "s3cr3t-pw";

/// An echo server, plain or TLS; returns its address, URL and the client settings to reach it.
fn echo_server<R: Runtime>(tls: bool) -> (SocketAddr, String, ClientConfig) {
    if tls {
        let pki = tests::tls::test_pki();
        let options = ServeOptions {
            tls: Some(pki.server.clone()),
            ..ServeOptions::default()
        };
        let addr = R::serve(options, echo_handler());
        let url = format!("wss://{addr}/secure");
        (addr, url, ClientConfig::default().tls(pki.client.clone()))
    } else {
        let addr = R::serve(ServeOptions::default(), echo_handler());
        (addr, format!("ws://{addr}/echo"), ClientConfig::default())
    }
}

fn auth_options() -> ProxyOptions {
    ProxyOptions {
        basic_auth: Some((USER.into(), PASSWORD.into())),
        ..ProxyOptions::default()
    }
}

async fn connect_error<R: Runtime>(url: &str, config: ClientConfig) -> Error {
    match within::<R, _>("connect", R::connect(request(url), config)).await {
        Ok(_) => panic!("{}: connecting to {url} should have failed", R::NAME),
        Err(e) => e,
    }
}

/// Connects through the proxy, echoes text and binary messages, and checks that the proxy saw
/// the `CONNECT` to the server.
fn echo_through<R: Runtime>(tls: bool, options: ProxyOptions, credentials: Option<(&str, &str)>) {
    let (addr, url, config) = echo_server::<R>(tls);
    let tinyproxy = TinyProxy::start(&options);
    let proxy = Proxy::new(&tinyproxy.url(credentials)).expect("proxy URL");
    R::block_on(echo_session::<R>(
        &url,
        config.proxy(Some(proxy)),
        &[
            Message::text("through the tunnel"),
            Message::binary(vec![0xA5; 70_000]),
        ],
    ));
    assert!(
        tinyproxy.saw_connect_to(addr),
        "{}: the proxy log shows no CONNECT to {addr}:\n{}",
        R::NAME,
        tinyproxy.log()
    );
}

fn ws_through_proxy<R: Runtime>() {
    echo_through::<R>(false, ProxyOptions::default(), None);
}

fn wss_through_proxy<R: Runtime>() {
    echo_through::<R>(true, ProxyOptions::default(), None);
}

fn ws_through_proxy_with_basic_auth<R: Runtime>() {
    echo_through::<R>(false, auth_options(), Some((USER, PASSWORD)));
}

fn wss_through_proxy_with_basic_auth<R: Runtime>() {
    echo_through::<R>(true, auth_options(), Some((USER, PASSWORD)));
}

fn missing_or_wrong_credentials_are_407<R: Runtime>() {
    let (_, url, config) = echo_server::<R>(false);
    let tinyproxy = TinyProxy::start(&auth_options());
    for credentials in [None, Some((USER, "wrong")), Some(("mallory", PASSWORD))] {
        let proxy = Proxy::new(&tinyproxy.url(credentials)).expect("proxy URL");
        let error = R::block_on(connect_error::<R>(&url, config.clone().proxy(Some(proxy))));
        match &error {
            // Without credentials: 407 with a Basic challenge. With wrong ones tinyproxy 1.11.1
            // answers 401 (its issue #532, fixed in 1.11.2), later versions 407.
            Error::Proxy(ProxyError::AuthRequired {
                status,
                challenge,
                proxy,
            }) => {
                // The refusal names the proxy, never its credentials.
                assert_eq!(proxy, &tinyproxy.url(None));
                assert!(!error.to_string().contains(PASSWORD), "{error}");
                if credentials.is_none() {
                    assert_eq!(*status, http::StatusCode::PROXY_AUTHENTICATION_REQUIRED);
                    let challenge = challenge.as_deref().unwrap_or_default();
                    assert!(challenge.starts_with("Basic"), "{challenge}");
                } else {
                    assert!(matches!(status.as_u16(), 401 | 407), "{status}");
                }
            }
            other => panic!("{}: {credentials:?}: expected 407, got {other:?}", R::NAME),
        }
    }
}

fn port_not_allowed_is_403<R: Runtime>() {
    let (addr, url, config) = echo_server::<R>(false);
    // tinyproxy only tunnels to the listed ports once any is listed.
    let other_port = if addr.port() == 443 { 444 } else { 443 };
    let tinyproxy = TinyProxy::start(&ProxyOptions {
        connect_ports: vec![other_port],
        ..ProxyOptions::default()
    });
    let proxy = Proxy::new(&tinyproxy.url(None)).expect("proxy URL");
    let error = R::block_on(connect_error::<R>(&url, config.proxy(Some(proxy))));
    match &error {
        Error::Proxy(e @ ProxyError::Rejected { status, .. }) => {
            assert_eq!(*status, http::StatusCode::FORBIDDEN);
            assert_eq!(e.status(), Some(http::StatusCode::FORBIDDEN));
        }
        other => panic!("{}: expected 403, got {other:?}", R::NAME),
    }
}

fn unreachable_target_is_5xx<R: Runtime>() {
    // A port nothing listens on: the proxy's connection to it is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let tinyproxy = TinyProxy::start(&ProxyOptions::default());
    let proxy = Proxy::new(&tinyproxy.url(None)).expect("proxy URL");
    for scheme in ["ws", "wss"] {
        let url = format!("{scheme}://{closed}/");
        let config = ClientConfig::default().proxy(Some(proxy.clone()));
        let error = R::block_on(connect_error::<R>(&url, config));
        match &error {
            // tinyproxy 1.11 answers "500 Unable to connect".
            Error::Proxy(ProxyError::Rejected { status, reason, .. }) => {
                assert!(status.is_server_error(), "{status} {reason}");
            }
            other => panic!("{}: expected a 5xx, got {other:?}", R::NAME),
        }
    }
    assert!(tinyproxy.saw_connect_to(closed), "{}", tinyproxy.log());
}

fn handshake_timeout_covers_connect<R: Runtime>() {
    // A "proxy" whose backlog accepts the connection but which never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let proxy =
        Proxy::new(&format!("http://{}", silent.local_addr().expect("addr"))).expect("proxy URL");
    for url in ["ws://127.0.0.1:9/", "wss://127.0.0.1:9/"] {
        let config = ClientConfig::default()
            .proxy(Some(proxy.clone()))
            .handshake_timeout(Duration::from_millis(200));
        let error = R::block_on(connect_error::<R>(url, config));
        // The proxy, not the WebSocket server, is what did not answer: the error says so.
        match &error {
            Error::ProxyTimeout { proxy, target } => {
                assert_eq!(proxy, &silent.local_addr().expect("addr").to_string());
                assert_eq!(target, "127.0.0.1:9");
            }
            other => panic!("{}: {url}: {other:?}", R::NAME),
        }
        assert!(error.to_string().starts_with("the proxy "), "{error}");
    }
}

/// A hand-rolled proxy that answers 200 and, in the same write, an HTTP refusal as if from the
/// server: the bytes after the proxy's answer must reach the WebSocket handshake.
fn bytes_after_the_proxy_answer_are_kept<R: Runtime>() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let proxy_addr = listener.local_addr().expect("addr");
    let fake = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().expect("accept");
        tcp.set_read_timeout(Some(tests::TIMEOUT)).expect("timeout");
        let head = tests::raw::read_head(&mut tcp).expect("CONNECT request");
        let head = String::from_utf8_lossy(&head);
        assert!(
            head.starts_with("CONNECT 127.0.0.1:9 HTTP/1.1\r\n"),
            "{head}"
        );
        tcp.write_all(
            b"HTTP/1.1 200 Connection established\r\n\r\n\
              HTTP/1.1 418 I'm a teapot\r\nContent-Length: 3\r\n\r\ntea",
        )
        .expect("answer");
        // Hold the connection until the client gives up on it.
        let _ = tcp.read(&mut [0; 1024]);
    });
    let proxy = Proxy::new(&format!("http://{proxy_addr}")).expect("proxy URL");
    let error = R::block_on(connect_error::<R>(
        "ws://127.0.0.1:9/",
        ClientConfig::default().proxy(Some(proxy)),
    ));
    match &error {
        Error::ClientHandshake(ws_driver::ws_handshake::ClientError::Rejected { response }) => {
            assert_eq!(response.status(), http::StatusCode::IM_A_TEAPOT);
            assert_eq!(response.body(), b"tea");
        }
        other => panic!("{}: expected the server's 418, got {other:?}", R::NAME),
    }
    fake.join().expect("fake proxy");
}

tests::for_each_runtime!(
    ws_through_proxy,
    wss_through_proxy,
    ws_through_proxy_with_basic_auth,
    wss_through_proxy_with_basic_auth,
    missing_or_wrong_credentials_are_407,
    port_not_allowed_is_403,
    unreachable_target_is_5xx,
    handshake_timeout_covers_connect,
    bytes_after_the_proxy_answer_are_kept,
);
