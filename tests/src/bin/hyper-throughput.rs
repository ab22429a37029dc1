//! Echo throughput of a WebSocket served through hyper's upgrade (`ws_tokio::upgrade`)
//! against the same echo accepted straight off the TCP socket (`ws_tokio::accept`): what the
//! hyper hand-over costs. A quick side-by-side in one run, not the benchmark harness.
//! `cargo run --release -p tests --bin hyper-throughput [BUDGET_MS]`

use futures::StreamExt;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use ws_tokio::{ClientConfig, Message, ServerConfig};

async fn echo<T: ws_driver::Transport>(mut ws: ws_driver::WebSocketStream<T>) {
    while let Some(Ok(message)) = ws.recv().await {
        if message.is_data() && ws.send(message).await.is_err() {
            break;
        }
    }
}

async fn service(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let config = ServerConfig::default().deflate(None);
    Ok(match ws_tokio::upgrade::upgrade(&mut request, config) {
        Ok((response, upgrading)) => {
            tokio::spawn(async move {
                if let Ok(ws) = upgrading.await {
                    echo(ws).await;
                }
            });
            response
        }
        Err(refused) => refused.into_response(),
    })
}

async fn serve(through_hyper: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            if through_hyper {
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(
                            hyper_util::rt::TokioIo::new(tcp),
                            hyper::service::service_fn(service),
                        )
                        .with_upgrades(),
                );
            } else {
                let config = ServerConfig::default().deflate(None);
                tokio::spawn(async move {
                    if let Ok(ws) = ws_tokio::accept_with(tcp, ws_tokio::NoCallback, config).await {
                        echo(ws).await;
                    }
                });
            }
        }
    });
    addr
}

async fn measure(through_hyper: bool, size: usize, budget: Duration) -> f64 {
    let addr = serve(through_hyper).await;
    let config = ClientConfig::default().deflate(None);
    let (ws, _) = ws_tokio::connect_with(format!("ws://{addr}/"), config)
        .await
        .expect("connect");
    let (mut sink, mut reader) = ws.split();
    let payload = Message::binary(vec![0x42u8; size]);
    // A window of messages in flight, bounded in bytes so that it fits the socket buffers.
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
}

#[tokio::main]
async fn main() {
    let budget = Duration::from_millis(
        std::env::args()
            .nth(1)
            .and_then(|a| a.parse().ok())
            .unwrap_or(1500),
    );
    println!("| payload | accept msg/s | hyper upgrade msg/s | hyper/accept |");
    println!("|---|---|---|---|");
    for size in [16usize, 1024, 64 * 1024, 1 << 20] {
        let plain = measure(false, size, budget).await;
        let hyper = measure(true, size, budget).await;
        println!(
            "| {size} B | {plain:.0} | {hyper:.0} | {:.2} |",
            hyper / plain
        );
    }
}
