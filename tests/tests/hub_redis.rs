//! Hub nodes sharing topics through Redis pub/sub (tokio). Each test starts its own
//! `redis-server` on a free loopback port (see `tests::redis_server`).

use std::sync::Arc;
use std::time::Duration;
use tests::hub_node::start_node;
use tests::redis_server::RedisServer;
use ws_hub::{Hub, HubConfig, Next, RedisBackplane, RedisConfig, Subscriber};

const TIMEOUT: Duration = Duration::from_secs(60);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

async fn node(redis: &RedisServer) -> (Hub, Arc<RedisBackplane>) {
    let config = RedisConfig::new(redis.url())
        .backoff(Duration::from_millis(20), Duration::from_millis(200));
    let (backplane, incoming) = RedisBackplane::start(config).expect("valid URL");
    let hub = Hub::with_backplane(
        HubConfig::default().queue_capacity(10_000),
        backplane.clone(),
    );
    tokio::spawn(hub.run_backplane(incoming));
    (hub, backplane)
}

async fn subscribed(backplane: &RedisBackplane, topic: &str, after_generation: u64) {
    tokio::time::timeout(
        TIMEOUT,
        backplane.wait_for(|s| {
            s.connected && s.generation > after_generation && s.subscribed.contains(topic)
        }),
    )
    .await
    .expect("backplane subscribed in time");
}

async fn next_text(sub: &Subscriber) -> String {
    match tokio::time::timeout(TIMEOUT, sub.next()).await {
        Ok(Next::Message(m)) => String::from_utf8_lossy(m.payload()).into_owned(),
        Ok(other) => panic!("expected a message, got {other:?}"),
        Err(_) => panic!("timed out waiting for a message"),
    }
}

/// `count` messages, checking each publisher's are in order: returns them by publisher prefix.
async fn collect(sub: &Subscriber, count: usize) -> Vec<String> {
    let mut got = Vec::with_capacity(count);
    for _ in 0..count {
        got.push(next_text(sub).await);
    }
    got
}

fn from(got: &[String], prefix: &str) -> Vec<String> {
    got.iter()
        .filter(|t| t.starts_with(prefix))
        .cloned()
        .collect()
}

fn numbered(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn two_nodes_share_a_topic_exactly_once_in_order() {
    let redis = RedisServer::start();
    runtime().block_on(async {
        let (a, plane_a) = node(&redis).await;
        let (b, plane_b) = node(&redis).await;
        let (sub_a, sub_b) = (a.subscriber(), b.subscriber());
        sub_a.subscribe("t").unwrap();
        sub_b.subscribe("t").unwrap();
        // Only B has a subscriber of "b-only"; A publishes to it all the same.
        let only_b = b.subscriber();
        only_b.subscribe("b-only").unwrap();
        subscribed(&plane_a, "t", 0).await;
        subscribed(&plane_b, "t", 0).await;
        subscribed(&plane_b, "b-only", 0).await;
        const N: usize = 300;
        for i in 0..N {
            a.publish("t", format!("a{i}"));
            b.publish("t", format!("b{i}"));
        }
        a.publish("b-only", "from a");
        for sub in [&sub_a, &sub_b] {
            let got = collect(sub, 2 * N).await;
            assert_eq!(from(&got, "a"), numbered("a", 0..N));
            assert_eq!(from(&got, "b"), numbered("b", 0..N));
        }
        assert_eq!(next_text(&only_b).await, "from a");
        // Exactly once: a last message from each node arrives after everything that node sent
        // before it (Redis keeps one publisher's order), and nothing else is left over.
        a.publish("t", "end-a");
        b.publish("t", "end-b");
        for sub in [&sub_a, &sub_b] {
            let mut ends = collect(sub, 2).await;
            ends.sort();
            assert_eq!(ends, ["end-a", "end-b"]);
            assert!(sub.try_next().is_none());
        }
        // Own echoes are ignored (A's echo of "b-only" never comes: A is not subscribed).
        assert!(a.stats().remote_ignored as usize <= N + 1);
        assert_eq!(plane_a.stats().publish_dropped, 0);
    });
}

#[test]
fn a_node_that_loses_redis_serves_locally_and_resubscribes() {
    let mut redis = RedisServer::start();
    runtime().block_on(async {
        let (a, plane_a) = node(&redis).await;
        let (b, plane_b) = node(&redis).await;
        let (sub_a, sub_b) = (a.subscriber(), b.subscriber());
        sub_a.subscribe("t").unwrap();
        sub_b.subscribe("t").unwrap();
        subscribed(&plane_a, "t", 0).await;
        subscribed(&plane_b, "t", 0).await;
        a.publish("t", "before");
        assert_eq!(next_text(&sub_a).await, "before");
        assert_eq!(next_text(&sub_b).await, "before");
        let generations = (plane_a.status().generation, plane_b.status().generation);

        redis.stop();
        // Local subscribers are served during the outage.
        for i in 0..20 {
            a.publish("t", format!("during{i}"));
            assert_eq!(next_text(&sub_a).await, format!("during{i}"));
        }

        redis.restart();
        subscribed(&plane_a, "t", generations.0).await;
        subscribed(&plane_b, "t", generations.1).await;
        const N: usize = 50;
        for i in 0..N {
            a.publish("t", format!("after-a{i}"));
            b.publish("t", format!("after-b{i}"));
        }
        // A: its own messages at once, B's through Redis.
        let got_a = collect(&sub_a, 2 * N).await;
        assert_eq!(from(&got_a, "after-a"), numbered("after-a", 0..N));
        assert_eq!(from(&got_a, "after-b"), numbered("after-b", 0..N));
        // B: A's messages from the outage may arrive (A retries them once Redis is back) but
        // only in order, before A's later ones, and at most once.
        let mut got_b = Vec::new();
        while from(&got_b, "after-").len() < 2 * N {
            got_b.push(next_text(&sub_b).await);
            assert!(got_b.len() <= 2 * N + 20, "more than expected: {got_b:?}");
        }
        assert_eq!(from(&got_b, "after-a"), numbered("after-a", 0..N));
        assert_eq!(from(&got_b, "after-b"), numbered("after-b", 0..N));
        let during: Vec<usize> = from(&got_b, "during")
            .iter()
            .map(|t| t["during".len()..].parse().unwrap())
            .collect();
        assert!(during.windows(2).all(|w| w[0] < w[1]), "{during:?}");
        assert!(plane_a.stats().connects >= 2 && plane_b.stats().connects >= 2);
    });
}

#[test]
fn clients_on_different_nodes_all_get_every_message() {
    use futures::StreamExt;
    use ws_tokio::Message;
    let redis = RedisServer::start();
    runtime().block_on(async {
        let mut nodes = Vec::new();
        for _ in 0..2 {
            nodes.push(start_node(&redis.url(), ws_tokio::ServerConfig::default()).await);
        }
        // Three clients per node.
        let mut clients = Vec::new();
        for (addr, _, _) in &nodes {
            for _ in 0..3 {
                let (mut ws, _) = ws_tokio::connect(format!("ws://{addr}/").as_str())
                    .await
                    .expect("connect");
                ws.send(Message::text("sub:chat")).await.unwrap();
                let reply = tokio::time::timeout(TIMEOUT, ws.next()).await.unwrap();
                assert_eq!(reply.unwrap().unwrap(), Message::text("subscribed:chat"));
                clients.push(ws);
            }
        }
        for (_, _, backplane) in &nodes {
            subscribed(backplane, "chat", 0).await;
        }
        const PER_CLIENT: usize = 10;
        for (c, ws) in clients.iter_mut().enumerate() {
            for i in 0..PER_CLIENT {
                ws.send(Message::text(format!("pub:chat:c{c}-{i}")))
                    .await
                    .unwrap();
            }
        }
        let total = PER_CLIENT * clients.len();
        let senders = clients.len();
        for ws in &mut clients {
            let mut got = Vec::new();
            while got.len() < total {
                match tokio::time::timeout(TIMEOUT, ws.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => got.push(t.to_string()),
                    Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                    other => panic!("expected a message, got {other:?}"),
                }
            }
            for c in 0..senders {
                assert_eq!(
                    from(&got, &format!("c{c}-")),
                    numbered(&format!("c{c}-"), 0..PER_CLIENT)
                );
            }
        }
        for ws in &mut clients {
            ws.close(None).await.unwrap();
        }
    });
}
