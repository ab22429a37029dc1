//! The topic hub over real connections, on every runtime: fan-out to many clients (with and
//! without permessage-deflate), and the slow-subscriber policies as a client sees them.

use std::sync::Arc;
use tests::hub_node::session;
use tests::{request, within, Handler, Runtime, ServeOptions};
use ws_driver::ws_handshake::DeflateOptions;
use ws_driver::{ClientConfig, CloseCode, Message, ServerConfig, Transport, WebSocketStream};
use ws_hub::{Hub, HubConfig, SlowPolicy};

fn hub_handler<T: Transport + Send + 'static>(hub: Hub) -> Handler<T> {
    Arc::new(move |ws| {
        let hub = hub.clone();
        Box::pin(async move {
            if let Ok(ws) = ws {
                session(hub.subscriber(), ws).await;
            }
        })
    })
}

async fn connect<R: Runtime>(url: &str, config: ClientConfig) -> WebSocketStream<R::Client> {
    within::<R, _>("connect", R::connect(request(url), config))
        .await
        .unwrap_or_else(|e| panic!("{}: connect failed: {e}", R::NAME))
        .0
}

async fn next_text<R: Runtime, T: Transport>(ws: &mut WebSocketStream<T>) -> String {
    loop {
        match within::<R, _>("receive", ws.recv()).await {
            Some(Ok(Message::Text(t))) => return t.to_string(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("{}: expected text, got {other:?}", R::NAME),
        }
    }
}

/// `shared_encodings`: how many compressed forms one message should get (1 when every client
/// negotiated deflate without server context takeover, 0 when none can share).
fn fan_out_with<R: Runtime>(server: ServerConfig, client: ClientConfig, shared_encodings: usize) {
    const CLIENTS: usize = 20;
    const MESSAGES: usize = 30;
    let hub = Hub::new(HubConfig::default());
    let addr = R::serve(
        ServeOptions {
            config: server,
            ..ServeOptions::default()
        },
        hub_handler(hub.clone()),
    );
    let url = format!("ws://{addr}/");
    R::block_on(async {
        let mut clients = Vec::new();
        for _ in 0..CLIENTS {
            let mut ws = connect::<R>(&url, client.clone()).await;
            ws.send(Message::text("sub:room")).await.unwrap();
            assert_eq!(next_text::<R, _>(&mut ws).await, "subscribed:room");
            clients.push(ws);
        }
        assert_eq!(hub.subscriber_count("room"), CLIENTS);
        // Long enough to be compressed; each different.
        let body = |i: usize| format!("{i:04} {}", "the quick brown fox ".repeat(10));
        for i in 0..MESSAGES {
            let from = i % CLIENTS;
            clients[from]
                .send(Message::text(format!("pub:room:{}", body(i))))
                .await
                .unwrap();
        }
        for ws in &mut clients {
            // Messages from different publishers may interleave; each publisher's are in order.
            let mut got = Vec::new();
            for _ in 0..MESSAGES {
                got.push(next_text::<R, _>(ws).await);
            }
            for from in 0..CLIENTS {
                let mine: Vec<_> = got
                    .iter()
                    .filter(|t| t[..4].parse::<usize>().unwrap() % CLIENTS == from)
                    .cloned()
                    .collect();
                let expected: Vec<_> = (0..MESSAGES)
                    .filter(|i| i % CLIENTS == from)
                    .map(body)
                    .collect();
                assert_eq!(mine, expected, "{}: publisher {from}", R::NAME);
            }
        }
        let stats = hub.stats();
        assert_eq!(stats.queued, (CLIENTS * MESSAGES) as u64);
        assert_eq!(stats.dropped, 0);
        // One message published from here, to see how often it was compressed.
        let prepared = ws_hub::PreparedMessage::text(body(9999));
        assert_eq!(hub.publish_prepared("room", &prepared), CLIENTS);
        for ws in &mut clients {
            assert_eq!(next_text::<R, _>(ws).await, body(9999));
        }
        assert_eq!(prepared.cached_encodings(), shared_encodings, "{}", R::NAME);
        for ws in &mut clients {
            ws.close(None).await.unwrap();
        }
    });
}

fn fan_out_plain<R: Runtime>() {
    fan_out_with::<R>(
        ServerConfig::default().deflate(None),
        ClientConfig::default(),
        0,
    );
}

fn fan_out_deflate_no_context_takeover<R: Runtime>() {
    // The server resets its context per message even if not asked: then every subscriber with
    // these parameters gets the same compressed bytes.
    let mut deflate = DeflateOptions::default();
    deflate.server_no_context_takeover = true;
    fan_out_with::<R>(
        ServerConfig::default().deflate(Some(deflate)),
        ClientConfig::default(),
        1,
    );
}

fn fan_out_deflate_context_takeover<R: Runtime>() {
    fan_out_with::<R>(ServerConfig::default(), ClientConfig::default(), 0);
}

/// A server whose subscriber gets `burst` messages queued before it starts sending: a
/// subscriber that fell behind, deterministically.
fn slow_server<R: Runtime>(hub: &Hub, capacity: usize, policy: SlowPolicy, burst: usize) -> String {
    let handler: Handler<R::Server> = {
        let hub = hub.clone();
        Arc::new(move |ws| {
            let hub = hub.clone();
            Box::pin(async move {
                let Ok(ws) = ws else { return };
                let sub = hub.subscriber_with(capacity, policy);
                sub.subscribe("feed").unwrap();
                for i in 0..burst {
                    hub.publish("feed", format!("m{i}"));
                }
                session(sub, ws).await;
            })
        })
    };
    let addr = R::serve(ServeOptions::default(), handler);
    format!("ws://{addr}/")
}

fn slow_subscriber_drop_oldest_gets_the_latest<R: Runtime>() {
    let hub = Hub::new(HubConfig::default());
    let url = slow_server::<R>(&hub, 4, SlowPolicy::DropOldest, 10);
    R::block_on(async {
        let mut ws = connect::<R>(&url, ClientConfig::default()).await;
        for i in 6..10 {
            assert_eq!(next_text::<R, _>(&mut ws).await, format!("m{i}"));
        }
        assert_eq!(hub.stats().dropped, 6);
        ws.close(None).await.unwrap();
    });
}

fn slow_subscriber_drop_newest_keeps_the_first<R: Runtime>() {
    let hub = Hub::new(HubConfig::default());
    let url = slow_server::<R>(&hub, 4, SlowPolicy::DropNewest, 10);
    R::block_on(async {
        let mut ws = connect::<R>(&url, ClientConfig::default()).await;
        for i in 0..4 {
            assert_eq!(next_text::<R, _>(&mut ws).await, format!("m{i}"));
        }
        // Then live traffic flows again.
        ws.send(Message::text("pub:feed:live")).await.unwrap();
        assert_eq!(next_text::<R, _>(&mut ws).await, "live");
        assert_eq!(hub.stats().dropped, 6);
        ws.close(None).await.unwrap();
    });
}

fn slow_subscriber_is_disconnected_with_1013<R: Runtime>() {
    let hub = Hub::new(HubConfig::default());
    let url = slow_server::<R>(&hub, 4, SlowPolicy::TRY_AGAIN_LATER, 10);
    R::block_on(async {
        let mut ws = connect::<R>(&url, ClientConfig::default()).await;
        match within::<R, _>("receive", ws.recv()).await {
            Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode(1013)),
            other => panic!("{}: expected close 1013, got {other:?}", R::NAME),
        }
        // The stream then ends.
        assert!(within::<R, _>("end", ws.recv()).await.is_none());
        assert_eq!(hub.stats().disconnected, 1);
    });
}

tests::for_each_runtime!(
    fan_out_plain,
    fan_out_deflate_no_context_takeover,
    fan_out_deflate_context_takeover,
    slow_subscriber_drop_oldest_gets_the_latest,
    slow_subscriber_drop_newest_keeps_the_first,
    slow_subscriber_is_disconnected_with_1013,
);
