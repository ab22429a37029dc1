//! Echo server on tokio: `cargo run -p examples --bin echo-server-tokio -- 127.0.0.1:9001
//! [--tls-cert cert.pem --tls-key key.pem] [--streaming]`.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = examples::server_args()?;
    let streaming = args.streaming;
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let tls = args.tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: keep serving, retry shortly.
                eprintln!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        tokio::spawn(async move {
            let served = match tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => ws_tokio::accept(stream)
                        .await
                        .map(|ws| tokio::spawn(examples::echo_as(ws, streaming))),
                    Err(e) => Err(e.into()),
                },
                None => ws_tokio::accept(tcp)
                    .await
                    .map(|ws| tokio::spawn(examples::echo_as(ws, streaming))),
            };
            if let Err(e) = served {
                eprintln!("{peer}: handshake failed: {e}");
            }
        });
    }
}
