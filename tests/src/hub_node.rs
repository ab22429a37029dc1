//! A minimal hub server for the hub tests: every connection is a [`Subscriber`] driven by
//! text commands, and (tokio only) a node sharing topics with others through Redis.
//!
//! Commands: `sub:TOPIC` (join; answered `subscribed:TOPIC` through the subscriber's queue),
//! `unsub:TOPIC`, `pub:TOPIC:TEXT` (publish TEXT to TOPIC).

use futures::future::{select, Either};
use std::net::SocketAddr;
use std::sync::Arc;
use ws_driver::{Message, Transport, WebSocketStream};
use ws_hub::{Hub, RedisBackplane, RedisConfig, Subscriber};

/// Runs one connection: forwards what the subscriber gets while reading commands, until the
/// connection ends (or the subscriber is disconnected for falling behind and the closing
/// handshake is over).
pub async fn session<T: Transport>(sub: Subscriber, ws: WebSocketStream<T>) {
    let hub = sub.hub().clone();
    let (mut sink, mut reader) = ws.split();
    let forwarding = std::pin::pin!(ws_hub::forward(&sub, &mut sink));
    let reading = std::pin::pin!(async {
        while let Some(Ok(message)) = reader.recv().await {
            let Message::Text(text) = message else {
                continue;
            };
            if let Some(topic) = text.strip_prefix("sub:") {
                if sub.subscribe(topic).is_ok() {
                    sub.send_direct(format!("subscribed:{topic}"));
                }
            } else if let Some(topic) = text.strip_prefix("unsub:") {
                sub.unsubscribe(topic);
            } else if let Some(rest) = text.strip_prefix("pub:") {
                if let Some((topic, body)) = rest.split_once(':') {
                    hub.publish(topic, body);
                }
            }
        }
    });
    if let Either::Left((_, reading)) = select(forwarding, reading).await {
        // Disconnected by the policy: read on until the peer's close answers ours.
        reading.await;
    }
}

/// A hub node on tokio: a hub sharing topics through Redis at `redis_url`, and a WebSocket
/// server on 127.0.0.1:0 running [`session`] for each connection. Call inside a tokio runtime.
pub async fn start_node(
    redis_url: &str,
    server: ws_tokio::ServerConfig,
) -> (SocketAddr, Hub, Arc<RedisBackplane>) {
    let config = RedisConfig::new(redis_url).backoff(
        std::time::Duration::from_millis(20),
        std::time::Duration::from_millis(200),
    );
    let (backplane, incoming) = RedisBackplane::start(config).expect("valid redis URL");
    let hub = Hub::with_backplane(ws_hub::HubConfig::default(), backplane.clone());
    tokio::spawn(hub.run_backplane(incoming));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let node = hub.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (hub, server) = (node.clone(), server.clone());
            tokio::spawn(async move {
                let accepted = ws_tokio::accept_with(tcp, ws_tokio::NoCallback, server).await;
                if let Ok(ws) = accepted {
                    session(hub.subscriber(), ws).await;
                }
            });
        }
    });
    (addr, hub, backplane)
}
