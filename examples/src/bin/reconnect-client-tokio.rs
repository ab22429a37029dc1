//! Reconnecting client on tokio: `reconnect-client-tokio ws://127.0.0.1:9001` sends a
//! subscription on every (re)connection, then each line of standard input, and prints what the
//! server sends and what the client does (connected, disconnected, retrying). Stop and restart
//! the server to watch it reconnect; Ctrl-C closes it.

use std::io::BufRead;
use std::time::Duration;
use ws_tokio::{Backoff, Message, QueuePolicy, ReconnectEvent, ReconnectingClient};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = examples::url_arg();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(url))
}

async fn run(url: String) -> Result<(), Box<dyn std::error::Error>> {
    let mut client = ReconnectingClient::builder(url.as_str())
        .backoff(
            Backoff::default()
                .initial(Duration::from_millis(250))
                .max(Duration::from_secs(10)),
        )
        .queue(100, QueuePolicy::DropOldest)
        .on_connect(|ws| Box::pin(async move { ws.send(Message::text("subscribe")).await }))
        .on_event(|event| match event {
            ReconnectEvent::Connected { attempts } => eprintln!("connected ({attempts} attempts)"),
            ReconnectEvent::Disconnected { reason, .. } => eprintln!("disconnected: {reason:?}"),
            ReconnectEvent::Retrying { attempt, delay, .. } => {
                eprintln!("attempt {attempt} in {} ms", delay.as_millis())
            }
            ReconnectEvent::Dropped(message) => eprintln!("queue full, dropped {message:?}"),
            other => eprintln!("{other:?}"),
        })
        .connect()
        .await?;

    // Standard input is read on its own thread; a cloned sender queues each line, in order,
    // across reconnections (the queue drops the oldest line when 100 are waiting).
    let sender = client.sender();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if futures::executor::block_on(sender.send(line)).is_err() {
                break; // the client is closed
            }
        }
    });

    loop {
        tokio::select! {
            item = client.recv() => match item {
                Some(Ok(Message::Text(text))) => println!("{text}"),
                Some(Ok(other)) => println!("{other:?}"),
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()), // closed by the server with 1000/1001
            },
            _ = tokio::signal::ctrl_c() => {
                client.close(None).await?;
                return Ok(());
            }
        }
    }
}
