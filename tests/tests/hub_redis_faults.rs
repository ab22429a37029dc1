//! Two hub nodes sharing a topic through Redis (tokio), with the fault relay between the nodes
//! and `redis-server`: the path to Redis is cut (RST), or stalls (nothing flows, nothing
//! closes). Local delivery must go on during the fault, cross-node delivery must resume after
//! it, and nothing may be delivered twice.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::fault::{FaultRelay, Faults};
use tests::redis_server::RedisServer;
use ws_hub::{Hub, HubConfig, Next, RedisBackplane, RedisConfig, Subscriber};

const TIMEOUT: Duration = Duration::from_secs(60);

async fn node(url: &str) -> (Hub, Arc<RedisBackplane>) {
    let mut config =
        RedisConfig::new(url).backoff(Duration::from_millis(20), Duration::from_millis(200));
    config.command_timeout = Duration::from_secs(1);
    config.ping_interval = Duration::from_secs(1);
    let (backplane, incoming) = RedisBackplane::start(config).expect("valid URL");
    let hub = Hub::with_backplane(HubConfig::default(), backplane.clone());
    tokio::spawn(hub.run_backplane(incoming));
    (hub, backplane)
}

async fn subscribed(backplane: &RedisBackplane, after_generation: u64) {
    tokio::time::timeout(
        TIMEOUT,
        backplane.wait_for(|s| {
            s.connected && s.generation > after_generation && s.subscribed.contains("t")
        }),
    )
    .await
    .expect("backplane subscribed again in time");
}

async fn next_text(sub: &Subscriber) -> String {
    match tokio::time::timeout(TIMEOUT, sub.next()).await {
        Ok(Next::Message(m)) => String::from_utf8_lossy(m.payload()).into_owned(),
        Ok(other) => panic!("expected a message, got {other:?}"),
        Err(_) => panic!("timed out waiting for a message"),
    }
}

fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn with_prefix(got: &[String], prefix: &str) -> Vec<String> {
    got.iter()
        .filter(|t| t.starts_with(prefix))
        .cloned()
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    Cut,
    Stall,
}

fn two_nodes_through(fault: Fault) {
    let redis = RedisServer::start();
    let port: u16 = redis
        .url()
        .trim_start_matches("redis://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .expect("redis port");
    let relay = FaultRelay::start(([127, 0, 0, 1], port).into(), Faults::default());
    let url = format!("redis://{}/", relay.addr());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let (a, plane_a) = node(&url).await;
        let (b, plane_b) = node(&url).await;
        let (sub_a, sub_b) = (a.subscriber(), b.subscriber());
        sub_a.subscribe("t").unwrap();
        sub_b.subscribe("t").unwrap();
        subscribed(&plane_a, 0).await;
        subscribed(&plane_b, 0).await;
        a.publish("t", "before");
        assert_eq!(next_text(&sub_a).await, "before");
        assert_eq!(next_text(&sub_b).await, "before");
        let generations = (plane_a.status().generation, plane_b.status().generation);

        let start = Instant::now();
        match fault {
            Fault::Cut => relay.cut(),
            Fault::Stall => relay.stall(),
        }
        // Local subscribers are served during the fault.
        for i in 0..20 {
            a.publish("t", format!("during{i}"));
            assert_eq!(next_text(&sub_a).await, format!("during{i}"));
        }
        subscribed(&plane_a, generations.0).await;
        subscribed(&plane_b, generations.1).await;
        println!(
            "figure: Redis {fault:?}: both nodes subscribed again after {:?}",
            start.elapsed()
        );
        const N: usize = 50;
        for i in 0..N {
            a.publish("t", format!("after-a{i}"));
            b.publish("t", format!("after-b{i}"));
        }
        // Each node: its own messages at once, the other's through Redis, in order, once.
        for (sub, other_during) in [(&sub_a, false), (&sub_b, true)] {
            let mut got = Vec::new();
            while with_prefix(&got, "after-").len() < 2 * N {
                got.push(next_text(sub).await);
                assert!(got.len() <= 2 * N + 20, "more than expected: {got:?}");
            }
            assert_eq!(with_prefix(&got, "after-a"), numbered("after-a", N));
            assert_eq!(with_prefix(&got, "after-b"), numbered("after-b", N));
            if other_during {
                // A's messages from the fault may arrive (retried), in order, at most once.
                let during: Vec<usize> = with_prefix(&got, "during")
                    .iter()
                    .map(|t| t["during".len()..].parse().unwrap())
                    .collect();
                assert!(during.windows(2).all(|w| w[0] < w[1]), "{during:?}");
            }
        }
        println!(
            "figure: Redis {fault:?}: cross-node delivery back after {:?}",
            start.elapsed()
        );
        // Nothing left over: no duplicate behind the last messages.
        a.publish("t", "end");
        for sub in [&sub_a, &sub_b] {
            assert_eq!(next_text(sub).await, "end");
            assert!(sub.try_next().is_none());
        }
    });
}

#[test]
fn two_nodes_survive_a_redis_cut() {
    two_nodes_through(Fault::Cut);
}

#[test]
fn two_nodes_survive_a_redis_stall() {
    two_nodes_through(Fault::Stall);
}
