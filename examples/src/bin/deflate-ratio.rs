//! Measures permessage-deflate on a realistic JSON message stream through the sans-IO core:
//! bytes on the wire and encode+decode throughput, with and without compression.
//! `cargo run --release -p examples --bin deflate-ratio [MESSAGES]`

use std::time::Instant;
use ws_driver::ws_proto::{
    Config, Connection, DeflateConfig, Event, Message, PerMessageDeflate, Role,
};

fn json_messages(n: usize) -> Vec<String> {
    let symbols = [
        "AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "TSLA", "META", "BRK.B",
    ];
    let users = ["alice", "bob", "carol", "dave", "erin"];
    (0..n)
        .map(|i| {
            if i % 3 == 0 {
                format!(
                    r#"{{"type":"chat","id":{i},"user":"{}","room":"general","text":"message number {i} about {}","ts":{}}}"#,
                    users[i % users.len()],
                    symbols[(i / 3) % symbols.len()],
                    1_700_000_000_000u64 + i as u64 * 137
                )
            } else {
                format!(
                    r#"{{"type":"quote","seq":{i},"symbol":"{}","bid":{:.2},"ask":{:.2},"bidSize":{},"askSize":{},"exchange":"XNAS","ts":{}}}"#,
                    symbols[i % symbols.len()],
                    100.0 + (i % 97) as f64 * 0.37,
                    100.05 + (i % 97) as f64 * 0.37,
                    100 * (1 + i % 9),
                    100 * (1 + i % 7),
                    1_700_000_000_000u64 + i as u64 * 137
                )
            }
        })
        .collect()
}

fn run(label: &str, messages: &[String], deflate: Option<DeflateConfig>) {
    let mut client = Connection::new(Role::Client, Config::default());
    let mut server = Connection::new(Role::Server, Config::default());
    if let Some(d) = &deflate {
        client.set_extension(Box::new(PerMessageDeflate::new(Role::Client, d)));
        server.set_extension(Box::new(PerMessageDeflate::new(Role::Server, d)));
    }
    let payload: usize = messages.iter().map(String::len).sum();
    let start = Instant::now();
    let mut wire = 0usize;
    let mut received = 0usize;
    // In batches, as a busy connection would see them.
    for batch in messages.chunks(64) {
        for m in batch {
            client.send(Message::text(m.as_str())).expect("send");
        }
        let bytes = client.take_output();
        wire += bytes.len();
        server.receive(&bytes);
        while let Ok(Some(Event::Message(_))) = server.next_event() {
            received += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(received, messages.len());
    println!(
        "| {label} | {} | {wire} | {:.1}% | {:.0} | {:.2} |",
        payload,
        100.0 * wire as f64 / payload as f64,
        messages.len() as f64 / secs,
        payload as f64 / secs / 1e6,
    );
}

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let messages = json_messages(n);
    println!(
        "{n} JSON messages, average {} bytes; client to server, encode + decode on one core",
        messages.iter().map(String::len).sum::<usize>() / n
    );
    println!();
    println!(
        "| configuration | payload bytes | wire bytes | wire/payload | messages/s | payload MB/s |"
    );
    println!("|---|---|---|---|---|---|");
    run("no compression", &messages, None);
    for (label, level, no_takeover) in [
        ("deflate level 1, context takeover", 1, false),
        ("deflate level 6, context takeover", 6, false),
        ("deflate level 1, no context takeover", 1, true),
    ] {
        let mut d = DeflateConfig::default();
        d.level = level;
        d.threshold = 0;
        d.client_no_context_takeover = no_takeover;
        d.server_no_context_takeover = no_takeover;
        run(label, &messages, Some(d));
    }
}
