//! A server under 1,000 stalled clients, on every runtime: the clients connect through the
//! fault relay, half of them send half a frame, then the relay stalls every one of them (a
//! silent dead peer each, connections left open). Fresh clients, connecting directly, must
//! still connect and get their echoes at the latency they had before, and memory must stay
//! bounded. Prints `figure:` lines (run with `--nocapture`) for SECURITY.md.
//!
//! This binary holds one test on purpose: memory is measured on the whole process, so the
//! three runtimes run one after another in it rather than beside other cases.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tests::fault::{FaultRelay, Faults};
use tests::load::{raise_fd_limit, rss_bytes};
use tests::raw::{read_head, UPGRADE_REQUEST};
use tests::{echo_handler, request, within, Runtime, ServeOptions};
use ws_driver::{ClientConfig, Message};

const STALLED: usize = 1_000;
const ROUND_TRIPS: usize = 200;

/// Connect and echo round trips of one fresh client: (connect time, median, 99th percentile).
async fn fresh_client<R: Runtime>(url: &str) -> (Duration, Duration, Duration) {
    let start = Instant::now();
    let (mut ws, _) = within::<R, _>("connect", R::connect(request(url), ClientConfig::default()))
        .await
        .expect("a fresh client connects");
    let connect = start.elapsed();
    let mut times = Vec::with_capacity(ROUND_TRIPS);
    for i in 0..ROUND_TRIPS {
        let message = Message::text(format!("ping {i}"));
        let start = Instant::now();
        ws.send(message.clone()).await.expect("send");
        let echo = within::<R, _>("echo", ws.recv()).await;
        assert!(matches!(echo, Some(Ok(ref m)) if *m == message), "{echo:?}");
        times.push(start.elapsed());
    }
    let _ = ws.close(None).await;
    times.sort();
    (
        connect,
        times[ROUND_TRIPS / 2],
        times[ROUND_TRIPS * 99 / 100],
    )
}

fn fresh_clients_are_served_beside_stalled_ones<R: Runtime>() {
    raise_fd_limit();
    let addr = R::serve(ServeOptions::default(), echo_handler());
    let url = format!("ws://{addr}/");
    let (_, before_median, before_p99) = R::block_on(fresh_client::<R>(&url));
    let relay = FaultRelay::start(addr, Faults::default());
    let rss_before = rss_bytes(None);
    let mut stalled = Vec::with_capacity(STALLED);
    for i in 0..STALLED {
        let mut tcp = TcpStream::connect(relay.addr()).expect("connect through the relay");
        tcp.set_read_timeout(Some(tests::TIMEOUT)).unwrap();
        tcp.write_all(UPGRADE_REQUEST).unwrap();
        let head = read_head(&mut tcp).expect("101");
        assert!(head.starts_with(b"HTTP/1.1 101"), "{}", R::NAME);
        if i % 2 == 0 {
            // Half a masked text frame header: the server waits for the rest.
            tcp.write_all(&[0x81, 0xFE]).unwrap();
        }
        stalled.push(tcp);
    }
    relay.stall();
    let (connect, median, p99) = R::block_on(fresh_client::<R>(&url));
    let grown = rss_bytes(None).saturating_sub(rss_before);
    println!(
        "figure: {} fresh client beside {STALLED} stalled: connect {connect:?}, echo median \
         {median:?} (before {before_median:?}), p99 {p99:?} (before {before_p99:?}); process \
         memory (server, relay and clients) grew {} KiB, {} bytes per stalled connection",
        R::NAME,
        grown / 1024,
        grown / STALLED as u64
    );
    // Normal latency: within a few times the quiet figure (a shared machine is noisy).
    let bound = before_median * 5 + Duration::from_millis(2);
    assert!(median <= bound, "{}: {median:?} > {bound:?}", R::NAME);
    assert!(connect < Duration::from_secs(1), "{}: {connect:?}", R::NAME);
    // Bounded memory: well under 64 KiB per stalled connection, all sides counted.
    assert!(
        grown < 64 * 1024 * STALLED as u64,
        "{}: grew {grown} bytes",
        R::NAME
    );
    drop(stalled);
}

#[test]
fn fresh_clients_are_served_beside_stalled_ones_on_every_runtime() {
    use tests::runtimes::{AsyncStd, Smol, Tokio};
    fresh_clients_are_served_beside_stalled_ones::<Tokio>();
    fresh_clients_are_served_beside_stalled_ones::<AsyncStd>();
    fresh_clients_are_served_beside_stalled_ones::<Smol>();
}
