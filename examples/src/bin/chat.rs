//! Broadcast chat for browsers: serves the page at `/` and the WebSocket at `/ws` on one port.
//! `cargo run -p examples --bin chat -- 127.0.0.1:8080`, then open http://127.0.0.1:8080/.
//!
//! Options: `--queue N` (events a member may have waiting before it is dropped),
//! `--max-message BYTES`, `--max-connections N`, `--rate N` (messages a second per member,
//! 0 for no limit), `--burst N`, `--no-deflate`, `--backplane memory` (the default: one
//! process) or `--backplane redis://HOST:PORT/` (this process is one node of a room shared by
//! every chat started with the same Redis; it connects in the background and keeps retrying).
//! The first line on stdout is `listening on http://ADDR/`, with the bound port when ADDR ends
//! in `:0`.

use examples::chat::room::{self, Room};
use examples::chat::{serve_room, ChatConfig};

fn usage(problem: &str) -> Box<dyn std::error::Error> {
    format!(
        "{problem}\nusage: chat [ADDR] [--queue N] [--max-message BYTES] \
         [--max-connections N] [--rate N] [--burst N] [--no-deflate] \
         [--backplane memory|redis://HOST:PORT/]"
    )
    .into()
}

fn number(value: Option<String>, flag: &str) -> Result<usize, Box<dyn std::error::Error>> {
    value
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| usage(&format!("{flag} needs a positive number")))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut addr = "127.0.0.1:8080".to_string();
    let mut config = ChatConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--queue" => config = config.queue_len(number(args.next(), "--queue")?),
            "--max-message" => config = config.max_message(number(args.next(), "--max-message")?),
            "--max-connections" => {
                config = config.max_connections(number(args.next(), "--max-connections")?)
            }
            "--rate" => {
                // 0 is meaningful here: no limit.
                config.messages_per_second = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| usage("--rate needs a number"))?
            }
            "--burst" => config.burst = u32::try_from(number(args.next(), "--burst")?)?,
            "--no-deflate" => config.deflate = false,
            "--backplane" => match args.next().as_deref() {
                Some("memory") => config.redis = None,
                Some(url) if url.starts_with("redis://") || url.starts_with("redis+unix://") => {
                    config.redis = Some(url.to_string())
                }
                Some(other) => {
                    return Err(usage(&format!(
                        "unknown backplane {other:?}: \"memory\" (one process) or a redis:// URL"
                    )))
                }
                None => return Err(usage("--backplane needs a value")),
            },
            flag if flag.starts_with("--") => return Err(usage(&format!("unknown option {flag}"))),
            _ => addr = arg,
        }
    }
    // The room first: a bad Redis URL is reported before anything listens.
    let room = Room::start(&config.room_config()).map_err(|e| usage(&e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}/", listener.local_addr()?);
    if let Some(redis) = room.redis().cloned() {
        let url = config.redis.clone().unwrap_or_default();
        eprintln!("room shared through {url} (connecting)");
        // Only a report for the operator: the node serves its own members meanwhile.
        tokio::spawn(async move {
            redis
                .wait_for(|s| s.connected && s.subscribed.contains(room::TOPIC))
                .await;
            eprintln!("room subscribed on {url}");
        });
    }
    serve_room(listener, config, room).await?;
    Ok(())
}
