//! 64 MiB messages, plain and permessage-deflate, through a slow or fragmenting path, on every
//! runtime: the fault relay delivers in small pieces, or adds latency and limits bandwidth,
//! and the server must get every byte (it answers each message with its length and digest).
//!
//! Piece sizes: the opening handshake and a 64 KiB message go byte at a time (every frame
//! header and the handshake split at every byte); the 64 MiB messages go in 1,031-byte pieces
//! (a prime, so frame boundaries fall anywhere), as 64 Mi one-byte writes take minutes in a
//! debug build. Latency and bandwidth: 200 ms each way with 1 MiB/s for the deflated 64 MiB
//! (it compresses to well under 1 MiB), and 200 ms with 16 MiB/s for the plain one (at 1 MiB/s
//! it alone would take 64 s per runtime, over the suite's budget).

use std::time::{Duration, Instant};
use tests::fault::{FaultRelay, Faults};
use tests::{request, within, Handler, Runtime, ServeOptions};
use ws_driver::{ClientConfig, Message, ServerConfig, Transport};

const MIB: usize = 1 << 20;

/// FNV-1a, 64 bits: enough to tell a corrupted or reordered payload.
fn digest(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `len` bytes that do not compress (xorshift).
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `len` bytes of text that compress well (a 1 KiB block of varied lines, repeated).
fn text(len: usize) -> Vec<u8> {
    let block: Vec<u8> = (0..64)
        .flat_map(|i| {
            format!("line {i:02}: the quick brown fox {}\n", "z".repeat(i % 7)).into_bytes()
        })
        .take(1024)
        .collect();
    block.iter().copied().cycle().take(len).collect()
}

/// Answers each data message with "LEN DIGEST".
fn digest_handler<T: Transport + Send + 'static>() -> Handler<T> {
    std::sync::Arc::new(|ws| {
        Box::pin(async move {
            let Ok(mut ws) = ws else { return };
            while let Some(Ok(message)) = ws.recv().await {
                let data = match &message {
                    Message::Binary(b) => b.to_vec(),
                    Message::Text(t) => t.as_str().as_bytes().to_vec(),
                    _ => continue,
                };
                let answer = format!("{} {:x}", data.len(), digest(&data));
                if ws.send(Message::text(answer)).await.is_err() {
                    return;
                }
            }
        })
    })
}

/// A digest server behind a relay with `faults`, accepting 64 MiB messages in one frame.
fn relay_to_server<R: Runtime>(faults: Faults) -> FaultRelay {
    let options = ServeOptions {
        config: ServerConfig::default()
            .max_message_size(65 * MIB)
            .max_frame_size(65 * MIB),
        ..ServeOptions::default()
    };
    FaultRelay::start(R::serve(options, digest_handler()), faults)
}

/// Connects through `relay` (offering permessage-deflate or not), sends each payload and
/// checks the server's digest of it; prints how long each took.
fn send_intact<R: Runtime>(relay: &FaultRelay, deflate: bool, payloads: &[Vec<u8>], path: &str) {
    let config = if deflate {
        ClientConfig::default()
    } else {
        ClientConfig::default().deflate(None)
    };
    let url = format!("ws://{}/", relay.addr());
    R::block_on(async {
        let (mut ws, response) = within::<R, _>("connect", R::connect(request(&url), config))
            .await
            .expect("connect through the relay");
        let negotiated = response.headers().get("sec-websocket-extensions").is_some();
        assert_eq!(negotiated, deflate, "{}", R::NAME);
        for payload in payloads {
            let start = Instant::now();
            within::<R, _>("send", ws.send(Message::binary(payload.clone())))
                .await
                .expect("send");
            let answer = within::<R, _>("digest", ws.recv()).await;
            let want = format!("{} {:x}", payload.len(), digest(payload));
            assert!(
                matches!(answer, Some(Ok(ref m)) if *m == Message::text(want.clone())),
                "{}: {path}: expected {want}, got {answer:?}",
                R::NAME
            );
            println!(
                "figure: {} {} MiB {} through {path}: {:?}",
                R::NAME,
                payload.len() as f64 / MIB as f64,
                if deflate { "deflated" } else { "plain" },
                start.elapsed()
            );
        }
        within::<R, _>("close", ws.close(None))
            .await
            .expect("close");
    });
}

fn large_messages_through_small_pieces<R: Runtime>() {
    for deflate in [false, true] {
        let data = if deflate {
            text(64 * MIB)
        } else {
            noise(64 * MIB)
        };
        let relay = relay_to_server::<R>(Faults {
            chunk: Some(1),
            ..Faults::default()
        });
        // Connect and a 64 KiB message byte at a time, then 64 MiB in 1,031-byte pieces.
        let small = vec![data[..64 * 1024].to_vec()];
        send_intact::<R>(&relay, deflate, &small, "1-byte pieces");
        relay.set_faults(Faults {
            chunk: Some(1031),
            ..Faults::default()
        });
        send_intact::<R>(&relay, deflate, &[data], "1031-byte pieces");
    }
}

fn large_messages_through_latency_and_bandwidth<R: Runtime>() {
    for (deflate, bandwidth) in [(true, MIB as u64), (false, 16 * MIB as u64)] {
        let data = if deflate {
            text(64 * MIB)
        } else {
            noise(64 * MIB)
        };
        let relay = relay_to_server::<R>(Faults {
            latency: Duration::from_millis(200),
            bandwidth: Some(bandwidth),
            ..Faults::default()
        });
        let path = format!("200 ms + {} MiB/s", bandwidth / MIB as u64);
        send_intact::<R>(&relay, deflate, &[data], &path);
    }
}

tests::for_each_runtime!(
    large_messages_through_small_pieces,
    large_messages_through_latency_and_bandwidth,
);
