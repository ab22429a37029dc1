//! Issue 15, item 2: with default settings on both ends, a 50 MB message of random
//! (incompressible) bytes arrives both ways, with and without permessage-deflate; a message
//! over the receiver's limit fails on the sender with the receiver's 1009 close, not a reset.

use std::sync::Arc;
use tests::{request, within, Handler, Runtime, ServeOptions};
use ws_driver::{ClientConfig, CloseCode, Error, Message, ServerConfig, Transport};

const BIG: usize = 50_000_000;

/// Deterministic incompressible bytes (xorshift64).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// What the server reports about a message it received: its length and a checksum.
fn summary(data: &[u8]) -> String {
    let sum = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{} {sum:x}", data.len())
}

/// Answers a binary message with its [`summary`], and the text `send N` with N random bytes
/// (seed N).
fn summarising_handler<T: Transport + Send + 'static>() -> Handler<T> {
    Arc::new(|ws| {
        Box::pin(async move {
            let Ok(mut ws) = ws else { return };
            while let Some(item) = ws.recv().await {
                let reply = match item {
                    Ok(Message::Binary(data)) => Message::text(summary(&data)),
                    Ok(Message::Text(t)) => match t.strip_prefix("send ") {
                        Some(n) => {
                            let n: usize = n.parse().expect("a length");
                            Message::binary(random_bytes(n, n as u64))
                        }
                        None => continue,
                    },
                    _ => continue,
                };
                if ws.send(reply).await.is_err() {
                    return;
                }
            }
        })
    })
}

fn a_50_mb_random_message_arrives_both_ways_by_default<R: Runtime>() {
    let addr = R::serve(ServeOptions::default(), summarising_handler());
    let url = format!("ws://{addr}/");
    for config in [
        ClientConfig::default().deflate(None),
        ClientConfig::default(),
    ] {
        let deflate = config.deflate.is_some();
        R::block_on(async {
            let (mut ws, _) = within::<R, _>("connect", R::connect(request(&url), config))
                .await
                .expect("connect");
            let data = random_bytes(BIG, 7);
            within::<R, _>("send 50 MB", ws.send(Message::binary(data.clone())))
                .await
                .unwrap_or_else(|e| panic!("{} (deflate {deflate}): send: {e}", R::NAME));
            match within::<R, _>("summary", ws.recv()).await {
                Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), summary(&data)),
                other => panic!("{} (deflate {deflate}): {other:?}", R::NAME),
            }
            ws.send(Message::text(format!("send {BIG}"))).await.unwrap();
            match within::<R, _>("receive 50 MB", ws.recv()).await {
                Some(Ok(Message::Binary(b))) => {
                    assert!(b == random_bytes(BIG, BIG as u64), "{}: differs", R::NAME)
                }
                other => panic!(
                    "{} (deflate {deflate}): {:?}",
                    R::NAME,
                    other.map(|r| r.err())
                ),
            }
            within::<R, _>("close", ws.close(None)).await.unwrap();
        });
    }
}

fn a_message_over_the_limit_fails_with_the_peers_1009<R: Runtime>() {
    let options = ServeOptions {
        config: ServerConfig::default().max_message_size(1 << 20),
        ..ServeOptions::default()
    };
    let addr = R::serve(options, summarising_handler());
    let url = format!("ws://{addr}/");
    for config in [
        ClientConfig::default().deflate(None),
        ClientConfig::default(),
    ] {
        let deflate = config.deflate.is_some();
        R::block_on(async {
            let (mut ws, _) = within::<R, _>("connect", R::connect(request(&url), config))
                .await
                .expect("connect");
            // `send` returns once the message is queued (see its cancel safety), so the
            // peer's 1009 is reported by that call or, at the latest, by the flush after it.
            let sent = within::<R, _>("send", async {
                ws.send(Message::binary(random_bytes(BIG, 3))).await?;
                ws.flush().await
            });
            match sent.await {
                Err(Error::ClosedByPeer(Some(frame))) => {
                    assert_eq!(frame.code, CloseCode::MESSAGE_TOO_BIG, "{frame:?}");
                    let shown = Error::ClosedByPeer(Some(frame)).to_string();
                    assert!(shown.contains("1009"), "{shown}");
                }
                other => panic!("{} (deflate {deflate}): {other:?}", R::NAME),
            }
            // The stream then ends with the peer's close.
            match within::<R, _>("the close", ws.recv()).await {
                Some(Ok(Message::Close(Some(f)))) => {
                    assert_eq!(f.code, CloseCode::MESSAGE_TOO_BIG)
                }
                other => panic!("{} (deflate {deflate}): {other:?}", R::NAME),
            }
        });
    }
}

tests::for_each_runtime!(
    a_50_mb_random_message_arrives_both_ways_by_default,
    a_message_over_the_limit_fails_with_the_peers_1009
);
