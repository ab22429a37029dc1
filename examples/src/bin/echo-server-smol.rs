//! Echo server on smol: `cargo run -p examples --bin echo-server-smol -- 127.0.0.1:9001
//! [--tls-cert cert.pem --tls-key key.pem] [--streaming]`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(async {
        let args = examples::server_args()?;
        let streaming = args.streaming;
        let listener = smol::net::TcpListener::bind(&args.addr).await?;
        println!("listening on {}", listener.local_addr()?);
        let tls = args.tls.map(futures_rustls::TlsAcceptor::from);
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: keep serving, retry shortly.
                    eprintln!("accept failed: {e}");
                    smol::Timer::after(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let tls = tls.clone();
            smol::spawn(async move {
                let result = match tls {
                    Some(acceptor) => match acceptor.accept(tcp).await {
                        Ok(stream) => ws_smol::accept(stream)
                            .await
                            .map(|ws| smol::spawn(examples::echo_as(ws, streaming)).detach()),
                        Err(e) => Err(e.into()),
                    },
                    None => ws_smol::accept(tcp)
                        .await
                        .map(|ws| smol::spawn(examples::echo_as(ws, streaming)).detach()),
                };
                if let Err(e) = result {
                    eprintln!("{peer}: handshake failed: {e}");
                }
            })
            .detach();
        }
    })
}
