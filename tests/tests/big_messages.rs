//! Issue 15, item 2: with default settings on both ends, a 50 MB message of random
//! (incompressible) bytes arrives both ways, with and without permessage-deflate; a message
//! over the receiver's limit fails on the sender with the receiver's 1009 close, not a reset.

use std::sync::{Arc, OnceLock};
use tests::{request, within, Handler, Runtime, ServeOptions};
use ws_driver::{ClientConfig, CloseCode, Error, Message, ServerConfig, Transport};

const BIG: usize = 50_000_000;

/// [`BIG`] incompressible bytes (xorshift64), made once and shared by clients and servers
/// (they run in this process).
fn payload() -> &'static [u8] {
    static PAYLOAD: OnceLock<Vec<u8>> = OnceLock::new();
    PAYLOAD.get_or_init(|| {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut bytes = Vec::with_capacity(BIG + 8);
        while bytes.len() < BIG {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.extend_from_slice(&state.to_le_bytes());
        }
        bytes.truncate(BIG);
        bytes
    })
}

/// What the server reports about a message it received.
fn summary(data: &[u8]) -> String {
    let same = data == payload();
    format!(
        "{} bytes, {}",
        data.len(),
        if same { "as sent" } else { "altered" }
    )
}

/// Answers a binary message with its [`summary`], and the text `send` with [`payload`].
fn summarising_handler<T: Transport + Send + 'static>() -> Handler<T> {
    Arc::new(|ws| {
        Box::pin(async move {
            let Ok(mut ws) = ws else { return };
            while let Some(item) = ws.recv().await {
                let reply = match item {
                    Ok(Message::Binary(data)) => Message::text(summary(&data)),
                    Ok(Message::Text(t)) if t.as_str() == "send" => Message::binary(payload()),
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
            within::<R, _>("send 50 MB", ws.send(Message::binary(payload())))
                .await
                .unwrap_or_else(|e| panic!("{} (deflate {deflate}): send: {e}", R::NAME));
            match within::<R, _>("summary", ws.recv()).await {
                Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), summary(payload())),
                other => panic!("{} (deflate {deflate}): {other:?}", R::NAME),
            }
            ws.send(Message::text("send")).await.unwrap();
            match within::<R, _>("receive 50 MB", ws.recv()).await {
                Some(Ok(Message::Binary(b))) => {
                    assert!(b == payload(), "{}: differs", R::NAME)
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
                ws.send(Message::binary(payload())).await?;
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
