//! `hub-bench`: the topic hub's figures, printed as a Markdown section for `BENCHMARKS.md`.
//!
//! ```text
//! cargo run --profile bench -p bench --bin hub-bench [-- --redis-samples N]
//! ```
//!
//! 1. Fan-out cost, in memory: one message to 1,000 and 10,000 sans-IO server connections,
//!    encoded once ([`PreparedMessage`], `send_prepared`) versus encoded per connection
//!    (`send`), plain and with permessage-deflate without server context takeover; and the
//!    hub's `publish` (prepare + enqueue to every subscriber's queue).
//! 2. Cross-node latency through a private `redis-server`: one node publishes, a subscriber on
//!    the other receives; p50/p99 of one message at a time, and a burst's throughput.

use bench::alloc::{stats, CountingAlloc};
use std::sync::Arc;
use std::time::{Duration, Instant};
use ws_hub::{Hub, HubConfig, Next, RedisBackplane, RedisConfig};
use ws_proto::{
    Config, Connection, DeflateConfig, Message, PerMessageDeflate, PreparedMessage, Role,
};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Each measurement runs at least this long (and at least 3 messages); the best of 3 rounds
/// is kept, as absolute times drift on a shared machine.
const BUDGET: Duration = Duration::from_millis(300);

fn connections(n: usize, deflate: bool) -> Vec<Connection> {
    let mut config = DeflateConfig::default();
    config.server_no_context_takeover = true;
    (0..n)
        .map(|_| {
            let mut conn = Connection::new(Role::Server, Config::default());
            if deflate {
                conn.set_extension(Box::new(PerMessageDeflate::new(Role::Server, &config)));
            }
            conn
        })
        .collect()
}

/// The transport "wrote" everything.
fn drain(conn: &mut Connection) {
    let n = conn.output_len();
    conn.advance_output(n);
}

/// Best per-message time of `f` over 3 rounds of at least [`BUDGET`].
fn per_message(mut f: impl FnMut()) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let mut n = 0u32;
        while n < 3 || start.elapsed() < BUDGET {
            f();
            n += 1;
        }
        best = best.min(start.elapsed() / n);
    }
    best
}

/// A JSON-like text payload of about `size` bytes: compressible like real feeds.
fn payload(size: usize, seq: usize) -> String {
    let mut s = format!("{{\"seq\":{seq},\"items\":[");
    let mut i = 0;
    while s.len() < size.saturating_sub(2) {
        s.push_str(&format!(
            "{{\"id\":{i},\"symbol\":\"SYM{}\",\"price\":{}.{:02}}},",
            i % 97,
            100 + i % 13,
            i % 100
        ));
        i += 1;
    }
    s.truncate(size.saturating_sub(2));
    s.push_str("]}");
    s
}

fn ns_per_sub(d: Duration, subs: usize) -> f64 {
    d.as_nanos() as f64 / subs as f64
}

fn fan_out() {
    println!("### Fan-out: one message to N connections, in memory\n");
    println!("Per message, divided by the number of connections: ns per subscriber. `once` = `PreparedMessage` + `send_prepared` on each connection; `per conn` = `send` on each connection (a frame, or a compression, per connection); ratio = per conn / once. Allocations are counted during the `once` runs, per subscriber send.\n");
    println!("| subscribers | payload | deflate | once (ns/sub) | per conn (ns/sub) | ratio | allocs per send (once) |");
    println!("|---|---|---|---|---|---|---|");
    for subs in [1_000, 10_000] {
        for size in [1024, 16 * 1024] {
            for deflate in [false, true] {
                let mut conns = connections(subs, deflate);
                let text = payload(size, 0);
                let mut seq = 0usize;
                let before = stats();
                let mut sends = 0u64;
                let once = per_message(|| {
                    seq += 1;
                    let prepared = PreparedMessage::text(text.clone());
                    for c in conns.iter_mut() {
                        c.send_prepared(&prepared).expect("open");
                        drain(c);
                    }
                    sends += subs as u64;
                });
                let allocs = (stats().allocs - before.allocs) as f64 / sends as f64;
                let per_conn = per_message(|| {
                    for c in conns.iter_mut() {
                        c.send(Message::text(text.clone())).expect("open");
                        drain(c);
                    }
                });
                println!(
                    "| {subs} | {} KiB | {} | {:.1} | {:.1} | {:.1} | {:.3} |",
                    size / 1024,
                    if deflate {
                        "no context takeover"
                    } else {
                        "off"
                    },
                    ns_per_sub(once, subs),
                    ns_per_sub(per_conn, subs),
                    per_conn.as_secs_f64() / once.as_secs_f64(),
                    allocs,
                );
            }
        }
    }
    println!();
}

fn hub_publish() {
    println!("### Hub publish: prepare + enqueue to every subscriber\n");
    println!("`Hub::publish` of a 1 KiB text to N subscribers of one topic (the queues are drained between messages, outside the timing).\n");
    println!("| subscribers | per message | per subscriber |");
    println!("|---|---|---|");
    for subs in [1_000, 10_000] {
        let hub = Hub::new(HubConfig::default());
        let subscribers: Vec<_> = (0..subs).map(|_| hub.subscriber()).collect();
        for s in &subscribers {
            s.subscribe("t").expect("subscribe");
        }
        let text = payload(1024, 0);
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let mut spent = Duration::ZERO;
            let mut n = 0u32;
            while n < 3 || spent < BUDGET {
                let start = Instant::now();
                hub.publish("t", text.as_str());
                spent += start.elapsed();
                n += 1;
                for s in &subscribers {
                    while s.try_next().is_some() {}
                }
            }
            best = best.min(spent / n);
        }
        println!(
            "| {subs} | {:.1} µs | {:.1} ns |",
            best.as_nanos() as f64 / 1000.0,
            ns_per_sub(best, subs)
        );
    }
    println!();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn redis_latency(samples: usize) {
    let redis = tests::redis_server::RedisServer::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let burst = 20_000;
        let node = || async {
            let mut config = RedisConfig::new(redis.url());
            // Room for the whole burst: this measures throughput, not the drop policy.
            config.outgoing_capacity = burst;
            config.incoming_capacity = burst;
            let (plane, incoming) = RedisBackplane::start(config).expect("valid URL");
            let hub = Hub::with_backplane(
                HubConfig::default().queue_capacity(100_000),
                plane.clone() as Arc<dyn ws_hub::Backplane>,
            );
            tokio::spawn(hub.run_backplane(incoming));
            (hub, plane)
        };
        let (a, plane_a) = node().await;
        let (b, plane_b) = node().await;
        let sub = b.subscriber();
        sub.subscribe("lat").expect("subscribe");
        plane_b
            .wait_for(|s| s.connected && s.subscribed.contains("lat"))
            .await;
        let text = payload(256, 0);
        let mut latencies = Vec::with_capacity(samples);
        for i in 0..samples + 200 {
            let start = Instant::now();
            a.publish("lat", text.as_str());
            match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
                Ok(Next::Message(_)) => {}
                other => panic!("no message through Redis: {other:?}"),
            }
            if i >= 200 {
                latencies.push(start.elapsed());
            }
        }
        latencies.sort();
        // A burst: how fast messages cross when they do not wait for each other.
        let start = Instant::now();
        for _ in 0..burst {
            a.publish("lat", text.as_str());
        }
        for _ in 0..burst {
            match tokio::time::timeout(Duration::from_secs(30), sub.next()).await {
                Ok(Next::Message(_)) => {}
                other => panic!("burst incomplete: {other:?}"),
            }
        }
        let rate = burst as f64 / start.elapsed().as_secs_f64();
        assert_eq!(plane_a.stats().publish_dropped, 0);
        println!("### Cross-node latency through Redis\n");
        println!("Two hub nodes in one process, each with its own `RedisBackplane` (publisher and subscriber connections) to one local `redis-server`; node A publishes a 256-byte text, a subscriber on node B receives it. {samples} messages one at a time (after 200 of warm-up), then a burst of {burst}.\n");
        println!("| p50 | p99 | max | burst throughput |");
        println!("|---|---|---|---|");
        println!(
            "| {:.0} µs | {:.0} µs | {:.0} µs | {:.0} msg/s |\n",
            percentile(&latencies, 0.5).as_micros(),
            percentile(&latencies, 0.99).as_micros(),
            latencies.last().map_or(0, |d| d.as_micros()),
            rate
        );
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let samples = args
        .iter()
        .position(|a| a == "--redis-samples")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    println!("## Topic hub (ws-hub)\n");
    println!("Command: `cargo run --profile bench -p bench --bin hub-bench`\n");
    fan_out();
    hub_publish();
    redis_latency(samples);
}
