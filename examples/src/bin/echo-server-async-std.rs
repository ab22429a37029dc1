//! Echo server on async-std: `cargo run -p examples --bin echo-server-async-std --
//! 127.0.0.1:9001 [--tls-cert cert.pem --tls-key key.pem] [--streaming]`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    async_std::task::block_on(async {
        let args = examples::server_args()?;
        let streaming = args.streaming;
        let listener = async_std::net::TcpListener::bind(&args.addr).await?;
        println!("listening on {}", listener.local_addr()?);
        let tls = args.tls.map(futures_rustls::TlsAcceptor::from);
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: keep serving, retry shortly.
                    eprintln!("accept failed: {e}");
                    async_std::task::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let tls = tls.clone();
            async_std::task::spawn(async move {
                let result = match tls {
                    Some(acceptor) => match acceptor.accept(tcp).await {
                        Ok(stream) => ws_async_std::accept(stream)
                            .await
                            .map(|ws| async_std::task::spawn(examples::echo_as(ws, streaming)))
                            .map(drop),
                        Err(e) => Err(e.into()),
                    },
                    None => ws_async_std::accept(tcp)
                        .await
                        .map(|ws| async_std::task::spawn(examples::echo_as(ws, streaming)))
                        .map(drop),
                };
                if let Err(e) = result {
                    eprintln!("{peer}: handshake failed: {e}");
                }
            });
        }
    })
}
