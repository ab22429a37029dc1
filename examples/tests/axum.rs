//! The axum example in-process: our client through axum's router to `ws_tokio::upgrade`.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use ws_tokio::Message;

const BOUND: Duration = Duration::from_secs(30);

async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(BOUND, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} took longer than {BOUND:?}"),
    }
}

async fn start() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, examples::axum_echo::router()).await });
    addr
}

/// Sends `request` and reads until the server closes (every request says `Connection: close`).
async fn raw(addr: SocketAddr, request: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    within("response", tcp.read_to_end(&mut response))
        .await
        .unwrap();
    String::from_utf8(response).unwrap()
}

#[tokio::test]
async fn websocket_route_echoes_with_deflate() {
    let addr = start().await;
    let (mut ws, response) = within("connect", ws_tokio::connect(format!("ws://{addr}/ws")))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    let extensions = response.headers()["sec-websocket-extensions"]
        .to_str()
        .unwrap();
    assert!(extensions.starts_with("permessage-deflate"), "{extensions}");
    for message in [
        Message::text("hello axum"),
        Message::binary(vec![7u8; 100_000]),
    ] {
        ws.send(message.clone()).await.unwrap();
        assert_eq!(within("echo", ws.recv()).await.unwrap().unwrap(), message);
    }
    ws.close(None).await.unwrap();
    assert!(within("close", ws.recv()).await.is_none());
}

#[tokio::test]
async fn the_same_route_serves_websockets_over_http2() {
    let addr = start().await;
    let config = ws_tokio::ClientConfig::default();
    let (mut ws, response) = within(
        "connect over h2c",
        ws_tokio::http2::connect(format!("ws://{addr}/ws"), &config),
    )
    .await
    .unwrap();
    // 200 on HTTP/2: an extended CONNECT, not an HTTP/1.1 upgrade.
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), ws_tokio::http::Version::HTTP_2);
    let extensions = response.headers()["sec-websocket-extensions"]
        .to_str()
        .unwrap();
    assert!(extensions.starts_with("permessage-deflate"), "{extensions}");
    for message in [
        Message::text("hello axum over h2"),
        Message::binary(vec![7u8; 100_000]),
    ] {
        ws.send(message.clone()).await.unwrap();
        assert_eq!(within("echo", ws.recv()).await.unwrap().unwrap(), message);
    }
    ws.close(None).await.unwrap();
    assert!(within("close", ws.recv()).await.is_none());
}

#[tokio::test]
async fn plain_routes_still_work_and_plain_get_on_ws_is_426() {
    let addr = start().await;
    let index = raw(
        addr,
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(index.starts_with("HTTP/1.1 200 OK\r\n"), "{index}");
    assert!(index.ends_with("the echo is at /ws\n"), "{index}");

    let not_upgrade = raw(
        addr,
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        not_upgrade.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{not_upgrade}"
    );
    assert!(
        not_upgrade
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13\r\n"),
        "{not_upgrade}"
    );
}
