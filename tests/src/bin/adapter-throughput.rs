//! Echo throughput of each adapter over loopback, client and server on the same runtime, to
//! compare the tokio I/O binding with the futures-io one (async-std, smol): a quick
//! side-by-side in one run, not the benchmark harness.
//! `cargo run --release -p tests --bin adapter-throughput`

use futures::StreamExt;
use std::time::{Duration, Instant};
use tests::runtimes::{AsyncStd, Smol, Tokio};
use tests::{echo_handler, request, Runtime, ServeOptions};
use ws_driver::{ClientConfig, Message, ServerConfig};

fn measure<R: Runtime>(size: usize, budget: Duration) -> f64 {
    let options = ServeOptions {
        config: ServerConfig::default().deflate(None),
        ..ServeOptions::default()
    };
    let addr = R::serve(options, echo_handler());
    R::block_on(async move {
        let config = ClientConfig::default().deflate(None);
        let (ws, _) = R::connect(request(&format!("ws://{addr}/")), config)
            .await
            .expect("connect");
        let (mut sink, mut reader) = ws.split();
        let payload = Message::binary(vec![0x42u8; size]);
        // Warm up, then count echoes for the time budget with a window of messages in flight.
        // The window is bounded in bytes: this task writes the whole window before it reads, so
        // it must fit in the socket buffers or both ends would wait on each other's writes.
        let window = (256 * 1024 / size).clamp(1, 64);
        for _ in 0..window {
            sink.feed(payload.clone()).await.expect("send");
        }
        sink.flush().await.expect("flush");
        let start = Instant::now();
        let mut received = 0u64;
        while start.elapsed() < budget {
            reader.next().await.expect("open").expect("echo");
            received += 1;
            sink.send(payload.clone()).await.expect("send");
        }
        received as f64 / start.elapsed().as_secs_f64()
    })
}

fn main() {
    let budget = Duration::from_millis(
        std::env::args()
            .nth(1)
            .and_then(|a| a.parse().ok())
            .unwrap_or(1500),
    );
    println!("| payload | ws-tokio msg/s | ws-async-std msg/s | ws-smol msg/s | async-std/tokio | smol/tokio |");
    println!("|---|---|---|---|---|---|");
    for size in [16usize, 1024, 64 * 1024, 1 << 20] {
        let t = measure::<Tokio>(size, budget);
        let a = measure::<AsyncStd>(size, budget);
        let s = measure::<Smol>(size, budget);
        println!(
            "| {size} B | {t:.0} | {a:.0} | {s:.0} | {:.2} | {:.2} |",
            a / t,
            s / t
        );
    }
}
