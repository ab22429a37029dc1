//! WebSockets over HTTP/2 (RFC 8441), tokio only (the `h2` crate is tokio-bound): our client
//! (`ws_tokio::http2`) against a hyper server using `ws_tokio::upgrade`, over h2c and over TLS
//! with ALPN `h2`; the same server still serves HTTP/1.1 WebSockets; fallbacks to HTTP/1.1.

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tests::tls::TestCa;
use tokio::net::TcpListener;
use ws_tokio::http::{HeaderValue, StatusCode, Version};
use ws_tokio::http2::{self, Http2Connection, Http2Error};
use ws_tokio::upgrade::{self, HyperUpgrade};
use ws_tokio::ws_handshake::DeflateOptions;
use ws_tokio::{
    http, Accept, ClientConfig, ClientError, CloseCode, CloseFrame, Error, Message, Reject,
    ServerConfig,
};

const BOUND: Duration = Duration::from_secs(30);

async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(BOUND, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} took longer than {BOUND:?}"),
    }
}

/// Bytes the `/flood` route has sent so far, per server.
type Sent = Arc<AtomicUsize>;

/// What `/flood` sends in total: far more than the flow-control windows.
const FLOOD: usize = 32 << 20;
const FLOOD_MESSAGE: usize = 64 << 10;

fn echo(upgrading: HyperUpgrade) {
    tokio::spawn(async move {
        let Ok(mut ws) = upgrading.await else { return };
        while let Some(Ok(message)) = ws.recv().await {
            if message.is_data() && ws.send(message).await.is_err() {
                break;
            }
        }
    });
}

/// Sends FLOOD bytes, counting them in `sent`, then closes.
fn flood(upgrading: HyperUpgrade, sent: Sent) {
    tokio::spawn(async move {
        let Ok(mut ws) = upgrading.await else { return };
        let chunk = Message::binary(vec![7u8; FLOOD_MESSAGE]);
        while sent.load(Ordering::SeqCst) < FLOOD {
            if ws.send(chunk.clone()).await.is_err() {
                return;
            }
            sent.fetch_add(FLOOD_MESSAGE, Ordering::SeqCst);
        }
        let _ = ws.close(Some(CloseFrame::new(4001, "flood done"))).await;
    });
}

/// The path picks how the WebSocket is answered; each response says how the request came
/// (`x-arrived: HTTP/2.0 CONNECT`), so the tests see that HTTP/2 was really used.
async fn service(
    mut request: Request<Incoming>,
    sent: Sent,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if !upgrade::is_upgrade_request(&request) {
        return Ok(Response::new(Full::from("plain HTTP\n")));
    }
    let arrived = format!("{:?} {}", request.version(), request.method());
    let limited = ServerConfig::default().max_message_size(1000);
    let result = match request.uri().path() {
        "/private" => upgrade::upgrade_with(
            &mut request,
            |_: &http::Request<()>| Err(Reject::new(StatusCode::FORBIDDEN).body("members only")),
            ServerConfig::default(),
        ),
        "/chat" => upgrade::upgrade_with(
            &mut request,
            |_: &http::Request<()>| Ok(Accept::new().protocol("chat.v2")),
            ServerConfig::default(),
        ),
        "/limited" => upgrade::upgrade(&mut request, limited),
        "/flood" => upgrade::upgrade(&mut request, ServerConfig::default().deflate(None)),
        _ => upgrade::upgrade(&mut request, ServerConfig::default()),
    };
    Ok(match result {
        Ok((mut response, upgrading)) => {
            if request.uri().path() == "/flood" {
                flood(upgrading, sent);
            } else {
                echo(upgrading);
            }
            let arrived = HeaderValue::from_str(&arrived).unwrap();
            response.headers_mut().insert("x-arrived", arrived);
            response
        }
        Err(refused) => refused.into_response(),
    })
}

struct Server {
    addr: SocketAddr,
    sent: Sent,
}

/// A hyper server on 127.0.0.1:0 speaking HTTP/1.1 and HTTP/2 (h2c by prior knowledge, or
/// `h2` by ALPN over `tls`), allowing extended CONNECT if `connect_protocol`.
async fn serve(connect_protocol: bool, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sent = Sent::default();
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let tls = tls.clone();
            let sent = counter.clone();
            tokio::spawn(async move {
                let mut builder = auto::Builder::new(TokioExecutor::new());
                if connect_protocol {
                    builder.http2().enable_connect_protocol();
                }
                let service =
                    hyper::service::service_fn(move |request| service(request, sent.clone()));
                let _ = match tls {
                    Some(tls) => {
                        let Ok(tls) = tokio_rustls::TlsAcceptor::from(tls).accept(tcp).await else {
                            return;
                        };
                        builder
                            .serve_connection_with_upgrades(TokioIo::new(tls), service)
                            .await
                    }
                    None => {
                        builder
                            .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                            .await
                    }
                };
            });
        }
    });
    Server { addr, sent }
}

/// TLS for the server (ALPN `alpn`) and a client configuration trusting it.
fn tls(alpn: &[&[u8]]) -> (Arc<rustls::ServerConfig>, ClientConfig) {
    let ca = TestCa::new();
    let mut server = (*ca.server(&["localhost"])).clone();
    server.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let client = ClientConfig::default()
        .add_root_certificates([ca.der()])
        .unwrap();
    (Arc::new(server), client)
}

fn arrived(response: &http::Response<()>) -> &str {
    response.headers()["x-arrived"].to_str().unwrap()
}

async fn assert_echoes<T: ws_driver::Transport>(ws: &mut ws_driver::WebSocketStream<T>) {
    for message in [
        Message::text("hello over HTTP/2"),
        Message::binary(vec![0u8, 1, 2, 255]),
        Message::text("x".repeat(100_000)),
    ] {
        ws.send(message.clone()).await.unwrap();
        let echoed = within("echo", ws.recv()).await.unwrap().unwrap();
        assert_eq!(echoed, message);
    }
}

#[tokio::test]
async fn echo_over_h2c_arrives_as_an_extended_connect() {
    let server = serve(true, None).await;
    let url = format!("ws://{}/echo", server.addr);
    let (mut ws, response) = within("connect", http2::connect(&url, &ClientConfig::default()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(arrived(&response), "HTTP/2.0 CONNECT");
    assert_echoes(&mut ws).await;
    within("close", ws.close(None)).await.unwrap();
}

#[tokio::test]
async fn echo_over_tls_h2_by_alpn() {
    let (server_tls, config) = tls(&[b"h2", b"http/1.1"]);
    let server = serve(true, Some(server_tls)).await;
    let url = format!("wss://localhost:{}/echo", server.addr.port());
    let (mut ws, response) = within("connect", http2::connect(&url, &config))
        .await
        .unwrap();
    assert_eq!(arrived(&response), "HTTP/2.0 CONNECT");
    assert_echoes(&mut ws).await;
    within("close", ws.close(None)).await.unwrap();
}

#[tokio::test]
async fn permessage_deflate_and_subprotocols_are_negotiated_over_h2() {
    let server = serve(true, None).await;
    let mut request = http::Request::builder()
        .uri(format!("ws://{}/chat", server.addr))
        .header("sec-websocket-protocol", "chat.v1, chat.v2")
        .body(())
        .unwrap();
    let config = ClientConfig::default().deflate(Some(DeflateOptions::default()));
    let (mut ws, response) = within("connect", http2::connect(request.clone(), &config))
        .await
        .unwrap();
    assert_eq!(arrived(&response), "HTTP/2.0 CONNECT");
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v2");
    let extensions = response.headers()["sec-websocket-extensions"]
        .to_str()
        .unwrap();
    assert!(extensions.starts_with("permessage-deflate"), "{extensions}");
    assert_echoes(&mut ws).await;
    within("close", ws.close(None)).await.unwrap();
    // Without an offer the server compresses nothing.
    *request.uri_mut() = format!("ws://{}/echo", server.addr).parse().unwrap();
    let (_, response) = within(
        "connect",
        http2::connect(request, &ClientConfig::default().deflate(None)),
    )
    .await
    .unwrap();
    assert!(!response.headers().contains_key("sec-websocket-extensions"));
}

#[tokio::test]
async fn the_callback_rejection_reaches_the_client_over_h2() {
    let server = serve(true, None).await;
    let url = format!("ws://{}/private", server.addr);
    match within("connect", http2::connect(&url, &ClientConfig::default())).await {
        Err(Http2Error::WebSocket(Error::ClientHandshake(ClientError::Rejected { response }))) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN)
        }
        other => panic!("expected a 403 refusal, got {:?}", other.map(|(_, r)| r)),
    }
}

#[tokio::test]
async fn close_codes_and_the_1009_limit_over_h2() {
    let server = serve(true, None).await;
    let connection = within(
        "h2 connection",
        Http2Connection::connect(format!("ws://{}/", server.addr), &ClientConfig::default()),
    )
    .await
    .unwrap();
    let config = ClientConfig::default();
    let (mut limited, _) = within(
        "open",
        connection.open(format!("ws://{}/limited", server.addr), &config),
    )
    .await
    .unwrap();
    limited
        .send(Message::binary(vec![1u8; 1001]))
        .await
        .unwrap();
    match within("1009", limited.recv()).await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::MESSAGE_TOO_BIG),
        other => panic!("expected close 1009, got {other:?}"),
    }
    assert!(within("end", limited.recv()).await.is_none());
    // The server's close code arrives, and the connection outlives both WebSockets' streams.
    let (mut flood, _) = within(
        "open",
        connection.open(format!("ws://{}/echo", server.addr), &config),
    )
    .await
    .unwrap();
    let frame = CloseFrame::new(CloseCode::GOING_AWAY, "client leaving");
    within("close", flood.close(Some(frame))).await.unwrap();
    let (mut again, _) = within(
        "open after closes",
        connection.open(format!("ws://{}/echo", server.addr), &config),
    )
    .await
    .unwrap();
    assert_echoes(&mut again).await;
}

#[tokio::test]
async fn a_stalled_reader_does_not_stop_the_other_websockets_on_the_connection() {
    let server = serve(true, None).await;
    let config = ClientConfig::default().max_message_size(FLOOD_MESSAGE);
    let connection = within(
        "h2 connection",
        Http2Connection::connect(format!("ws://{}/", server.addr), &config),
    )
    .await
    .unwrap();
    // This one is not read while the others talk: the server soon has no window left for it.
    let (mut stalled, _) = within(
        "open flood",
        connection.open(format!("ws://{}/flood", server.addr), &config),
    )
    .await
    .unwrap();
    let mut others = Vec::new();
    for _ in 0..3 {
        let (ws, response) = within(
            "open echo",
            connection.open(format!("ws://{}/echo", server.addr), &config),
        )
        .await
        .unwrap();
        assert_eq!(arrived(&response), "HTTP/2.0 CONNECT");
        others.push(ws);
    }
    for _ in 0..20 {
        for ws in &mut others {
            ws.send(Message::binary(vec![3u8; 10_000])).await.unwrap();
            let echoed = within("echo beside the stalled one", ws.recv()).await;
            assert_eq!(echoed.unwrap().unwrap().len(), 10_000);
        }
    }
    // Flow control held the flood back: far less than all of it was sent.
    let sent = server.sent.load(Ordering::SeqCst);
    assert!(
        sent < FLOOD / 4,
        "the server sent {sent} bytes to a reader that read none"
    );
    // Reading again drains it all: the stream was only paused.
    let mut received = 0;
    loop {
        match within("flood", stalled.recv()).await {
            Some(Ok(Message::Binary(data))) => received += data.len(),
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::from(4001));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(received, FLOOD);
}

#[tokio::test]
async fn http1_clients_still_work_against_the_same_server() {
    let server = serve(true, None).await;
    let (mut ws, response) = within(
        "HTTP/1.1 connect",
        ws_tokio::connect(format!("ws://{}/echo", server.addr)),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(arrived(&response), "HTTP/1.1 GET");
    assert_echoes(&mut ws).await;
    within("close", ws.close(None)).await.unwrap();
}

#[tokio::test]
async fn without_extended_connect_the_client_falls_back_to_http1() {
    // h2c allowed, extended CONNECT not: http2::connect uses HTTP/1.1, open() says why not.
    let server = serve(false, None).await;
    let url = format!("ws://{}/echo", server.addr);
    let (mut ws, response) = within("connect", http2::connect(&url, &ClientConfig::default()))
        .await
        .unwrap();
    assert_eq!(arrived(&response), "HTTP/1.1 GET");
    assert_echoes(&mut ws).await;
    let connection = within(
        "h2 connection",
        Http2Connection::connect(&url, &ClientConfig::default()),
    )
    .await
    .unwrap();
    assert!(!connection.allows_websockets());
    let refused = within("open", connection.open(&url, &ClientConfig::default())).await;
    match refused {
        Err(Http2Error::NotAllowed(_)) => {}
        other => panic!("expected NotAllowed, got {:?}", other.map(|(_, r)| r)),
    }
}

#[tokio::test]
async fn a_tls_server_without_h2_gets_http1() {
    let (server_tls, config) = tls(&[b"http/1.1"]);
    let server = serve(true, Some(server_tls)).await;
    let url = format!("wss://localhost:{}/echo", server.addr.port());
    let (mut ws, response) = within("connect", http2::connect(&url, &config))
        .await
        .unwrap();
    assert_eq!(arrived(&response), "HTTP/1.1 GET");
    assert_echoes(&mut ws).await;
    let connection = within("h2 connection", Http2Connection::connect(&url, &config)).await;
    assert!(
        matches!(connection, Err(Http2Error::NoHttp2(_))),
        "{connection:?}"
    );
}
