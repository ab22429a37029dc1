//! What the chat test files share: the bound on every wait, reading the room's JSON events, a
//! member that never reads, and the close a member finds after what was queued for it.

use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use ws_tokio::{ClientConfig, CloseCode, Message};

/// Bound on every single wait.
pub const STEP: Duration = Duration::from_secs(10);

/// What one bounded `recv` gave, as the room's JSON event.
pub fn event(
    item: Result<Option<Result<Message, ws_tokio::Error>>, tokio::time::error::Elapsed>,
) -> Value {
    match item {
        Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected an event, got {other:?}"),
    }
}

/// The next event on `ws`.
pub async fn next_event<T: ws_driver::Transport>(ws: &mut ws_driver::WebSocketStream<T>) -> Value {
    event(tokio::time::timeout(STEP, ws.recv()).await)
}

/// Reads past text messages to the close frame, which must carry `code` and `reason`; returns
/// how many texts came first.
pub async fn expect_close<T: ws_driver::Transport>(
    ws: &mut ws_driver::WebSocketStream<T>,
    code: CloseCode,
    reason: &str,
) -> usize {
    let mut texts = 0;
    loop {
        match tokio::time::timeout(STEP, ws.recv()).await.unwrap() {
            Some(Ok(Message::Text(_))) => texts += 1,
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!((frame.code, frame.reason.as_str()), (code, reason));
                return texts;
            }
            other => panic!("expected close {code:?}, got {other:?} after {texts} messages"),
        }
    }
}

/// Joins the chat at `addr` as "slow", without compression and with a 4 KiB receive buffer, so
/// that the server's writes back up soon once the test stops reading it.
pub async fn slow_member(
    addr: SocketAddr,
) -> ws_tokio::WebSocketStream<ws_tokio::TokioIo<tokio::net::TcpStream>> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let config = ClientConfig::default().deflate(None);
    let (slow, _) = ws_tokio::client_with_stream(format!("ws://{addr}/ws?name=slow"), tcp, config)
        .await
        .unwrap();
    slow
}
