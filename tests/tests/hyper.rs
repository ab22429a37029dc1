//! The hyper 1.x integration (`ws_tokio::upgrade`): a hyper server upgrading requests to our
//! stream, talked to by our client, by hand-written bytes and by tokio-tungstenite.

use futures::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use ws_tokio::upgrade::{self, HyperUpgrade};
use ws_tokio::ws_handshake::DeflateOptions;
use ws_tokio::{http, Accept, ClientConfig, ClientError, Error, Message, Reject, ServerConfig};

const BOUND: Duration = Duration::from_secs(30);

async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(BOUND, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} took longer than {BOUND:?}"),
    }
}

/// Echoes data messages until the client closes; the subprotocol, if any, is sent first.
fn echo(upgrading: HyperUpgrade) {
    tokio::spawn(async move {
        let protocol = upgrading.protocol().map(str::to_string);
        let Ok(mut ws) = upgrading.await else { return };
        if let Some(protocol) = protocol {
            if ws.send(Message::text(protocol)).await.is_err() {
                return;
            }
        }
        while let Some(Ok(message)) = ws.recv().await {
            if message.is_data() && ws.send(message).await.is_err() {
                break;
            }
        }
    });
}

/// One service for every case: the path picks how the upgrade is answered; requests that do
/// not ask for a WebSocket are served as plain HTTP.
async fn service(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if !upgrade::is_upgrade_request(&request) {
        let body = format!("plain {}\n", request.uri().path());
        return Ok(Response::new(Full::from(body)));
    }
    let result = match request.uri().path() {
        "/no-deflate" => upgrade::upgrade(&mut request, ServerConfig::default().deflate(None)),
        "/private" => upgrade::upgrade_with(
            &mut request,
            |_: &http::Request<()>| {
                Err(Reject::new(http::StatusCode::FORBIDDEN).body("members only"))
            },
            ServerConfig::default(),
        ),
        "/chat" => upgrade::upgrade_with(
            &mut request,
            |_: &http::Request<()>| Ok(Accept::new().protocol("chat.v2")),
            ServerConfig::default(),
        ),
        _ => upgrade::upgrade(&mut request, ServerConfig::default()),
    };
    Ok(match result {
        Ok((response, upgrading)) => {
            echo(upgrading);
            response
        }
        Err(refused) => refused.into_response(),
    })
}

/// A hyper HTTP/1.1 server with upgrades on, on 127.0.0.1:0.
async fn serve() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(
                        hyper_util::rt::TokioIo::new(tcp),
                        hyper::service::service_fn(service),
                    )
                    .with_upgrades(),
            );
        }
    });
    addr
}

/// Writes `request` and reads the response head (and whatever followed it in the same reads).
async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> (TcpStream, String, Vec<u8>) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let end = within("response head", async {
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 1024];
            let n = tcp.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before the response head");
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    let head = String::from_utf8(buf[..end].to_vec()).unwrap();
    (tcp, head, buf[end..].to_vec())
}

fn upgrade_request(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

#[tokio::test]
async fn our_client_echoes_text_and_binary_through_hyper() {
    let addr = serve().await;
    let (mut ws, response) = within("connect", ws_tokio::connect(format!("ws://{addr}/echo")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    for message in [
        Message::text("hello through hyper"),
        Message::binary(vec![0u8, 1, 2, 255]),
        Message::text(""),
    ] {
        ws.send(message.clone()).await.unwrap();
        let echoed = within("echo", ws.recv()).await.unwrap().unwrap();
        assert_eq!(echoed, message);
    }
    ws.close(None).await.unwrap();
    assert!(within("close", ws.recv()).await.is_none());
}

#[tokio::test]
async fn permessage_deflate_is_negotiated_through_hyper() {
    let addr = serve().await;
    let (mut ws, response) = within("connect", ws_tokio::connect(format!("ws://{addr}/echo")))
        .await
        .unwrap();
    let offer = response.headers()["sec-websocket-extensions"]
        .to_str()
        .unwrap();
    assert!(offer.starts_with("permessage-deflate"), "{offer}");
    // Large and compressible: exercises the codec on both sides, across many reads.
    let text = "{\"symbol\":\"ABC\",\"price\":101.25}\n".repeat(20_000);
    ws.send(Message::text(text.clone())).await.unwrap();
    let echoed = within("echo", ws.recv()).await.unwrap().unwrap();
    assert_eq!(echoed, Message::text(text));

    // A server config without deflate declines the offer.
    let (mut ws, response) = within(
        "connect",
        ws_tokio::connect(format!("ws://{addr}/no-deflate")),
    )
    .await
    .unwrap();
    assert!(response.headers().get("sec-websocket-extensions").is_none());
    ws.send(Message::text("plain")).await.unwrap();
    let echoed = within("echo", ws.recv()).await.unwrap().unwrap();
    assert_eq!(echoed, Message::text("plain"));

    // And a client that does not offer it gets none.
    let config = ClientConfig::default().deflate(None::<DeflateOptions>);
    let (_, response) = within(
        "connect",
        ws_tokio::connect_with(format!("ws://{addr}/echo"), config),
    )
    .await
    .unwrap();
    assert!(response.headers().get("sec-websocket-extensions").is_none());
}

#[tokio::test]
async fn callback_rejection_reaches_our_client_with_status_and_body() {
    let addr = serve().await;
    let result = within("connect", ws_tokio::connect(format!("ws://{addr}/private"))).await;
    match result {
        Err(Error::ClientHandshake(ClientError::Rejected { response })) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert_eq!(response.body(), b"members only");
        }
        other => panic!("expected a 403 rejection, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn callback_chooses_a_subprotocol() {
    let addr = serve().await;
    let request = http::Request::builder()
        .uri(format!("ws://{addr}/chat"))
        .header("sec-websocket-protocol", "chat.v1, chat.v2")
        .body(())
        .unwrap();
    let (mut ws, response) = within("connect", ws_tokio::connect(request)).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v2");
    // The server task saw the same choice through `HyperUpgrade::protocol`.
    let first = within("first message", ws.recv()).await.unwrap().unwrap();
    assert_eq!(first, Message::text("chat.v2"));
}

#[tokio::test]
async fn plain_requests_are_served_by_the_same_service() {
    let addr = serve().await;
    let (mut tcp, head, mut body) = raw_exchange(
        addr,
        b"GET /index HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    within("body", tcp.read_to_end(&mut body)).await.unwrap();
    assert_eq!(body, b"plain /index\n");
}

#[tokio::test]
async fn malformed_upgrades_get_400_and_426() {
    let addr = serve().await;
    let good = upgrade_request("/echo");
    let no_key = good.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "");
    let (_, head, _) = raw_exchange(addr, no_key.as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");

    let old_version = good.replace("Version: 13", "Version: 8");
    let (_, head, _) = raw_exchange(addr, old_version.as_bytes()).await;
    assert!(
        head.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-version: 13\r\n"),
        "{head}"
    );

    let no_connection = good.replace("Connection: Upgrade\r\n", "");
    let (_, head, _) = raw_exchange(addr, no_connection.as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");

    let post = good.replace("GET", "POST");
    let (_, head, _) = raw_exchange(addr, post.as_bytes()).await;
    assert!(
        head.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{head}"
    );
}

#[tokio::test]
async fn frames_sent_with_the_request_are_not_lost() {
    let addr = serve().await;
    // The request and a masked text frame "hi" in one write: hyper reads both before the
    // service runs, and must hand the frame over with the connection.
    let mut bytes = upgrade_request("/echo").into_bytes();
    let mask = [1u8, 2, 3, 4];
    bytes.extend_from_slice(&[0x81, 0x82]);
    bytes.extend_from_slice(&mask);
    bytes.extend(b"hi".iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    let (mut tcp, head, mut after) = raw_exchange(addr, &bytes).await;
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    within("echoed frame", async {
        while after.len() < 4 {
            let mut chunk = [0u8; 64];
            let n = tcp.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed before the echo");
            after.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    assert_eq!(after, [0x81, 0x02, b'h', b'i']);
}

#[tokio::test]
async fn tokio_tungstenite_client_talks_to_the_hyper_server() {
    use tokio_tungstenite::tungstenite::Message as TMessage;
    let addr = serve().await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut ws, response) = within(
        "tungstenite connect",
        tokio_tungstenite::client_async(format!("ws://{addr}/echo"), tcp),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws.send(TMessage::text("from tungstenite")).await.unwrap();
    let echoed = within("echo", ws.next()).await.unwrap().unwrap();
    assert_eq!(echoed, TMessage::text("from tungstenite"));
    ws.send(TMessage::binary(vec![9u8; 70_000])).await.unwrap();
    let echoed = within("echo", ws.next()).await.unwrap().unwrap();
    assert_eq!(echoed, TMessage::binary(vec![9u8; 70_000]));
    ws.close(None).await.unwrap();
}
