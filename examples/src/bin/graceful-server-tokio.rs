//! Echo server with graceful shutdown, on tokio: on Ctrl-C (SIGINT) it stops accepting, sends
//! 1001 Going Away to every client, waits for their close frames (each bounded by the stream's
//! close timeout, all by a 10 s deadline), then exits.
//! `cargo run -p examples --bin graceful-server-tokio -- 127.0.0.1:9001`

use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use ws_tokio::{CloseCode, CloseFrame, TokioIo, WebSocketStream};

/// How long shutdown waits for all clients together.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// Echoes until the client leaves or shutdown is announced, then closes with 1001.
async fn serve(
    mut ws: WebSocketStream<TokioIo<tokio::net::TcpStream>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            item = ws.recv() => match item {
                Some(Ok(message)) if message.is_data() => {
                    let _ = ws.send(message).await;
                }
                Some(_) => {}
                None => return,
            },
            _ = shutdown.changed() => {
                let frame = CloseFrame::new(CloseCode::GOING_AWAY, "server shutting down");
                // Waits for the client's close frame, or the close timeout.
                let _ = ws.close(Some(frame)).await;
                return;
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: keep serving the others.
                        eprintln!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let shutdown = shutdown_rx.clone();
                connections.spawn(async move {
                    match ws_tokio::accept(tcp).await {
                        Ok(ws) => serve(ws, shutdown).await,
                        Err(e) => eprintln!("{peer}: handshake failed: {e}"),
                    }
                });
            }
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    println!("shutting down: closing {} connection(s)", connections.len());
    let _ = shutdown_tx.send(true);
    let all_closed = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_DEADLINE, all_closed)
        .await
        .is_err()
    {
        println!(
            "deadline reached: dropping {} connection(s)",
            connections.len()
        );
        connections.abort_all();
    }
    println!("bye");
    Ok(())
}
