//! WebSocket echo in an axum application: `cargo run -p examples --bin axum-echo --
//! 127.0.0.1:9001`, then `echo-client-tokio ws://127.0.0.1:9001/ws`. The same route serves
//! WebSockets over HTTP/2 (h2c, RFC 8441) to clients such as `ws_tokio::http2::connect`.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_string());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, examples::axum_echo::router()).await
}
