//! `wsx serve`: an echo or broadcast WebSocket server, plain or over TLS.

use crate::cli::ServeArgs;
use crate::exit::{Exit, Failure};
use crate::tls;
use futures::StreamExt;
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_rustls::TlsAcceptor;
use ws_tokio::Message;

/// How long a client may take for the TLS handshake (the WebSocket handshake has its own
/// timeout in `ServerConfig`).
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Messages a broadcast client may fall behind by before it misses some.
const BROADCAST_BACKLOG: usize = 1024;

/// Runs `wsx serve` until interrupted.
pub async fn run(args: ServeArgs) -> Result<(), Failure> {
    let acceptor = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsAcceptor::from(tls::server_config(cert, key)?)),
        _ => None,
    };
    let listener = TcpListener::bind(&args.addr).await.map_err(|e| {
        Failure::new(
            Exit::Network,
            format!("cannot listen on {}: {e}", args.addr),
        )
    })?;
    let local = listener.local_addr().map_err(|e| {
        Failure::new(
            Exit::Network,
            format!("cannot listen on {}: {e}", args.addr),
        )
    })?;
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "listening on {local}");
        let _ = stdout.flush();
    }
    let scheme = if acceptor.is_some() { "wss" } else { "ws" };
    let mode = if args.broadcast { "broadcast" } else { "echo" };
    eprintln!("wsx: {mode} server on {scheme}://{local}/");

    let hub = args
        .broadcast
        .then(|| broadcast::channel::<Message>(BROADCAST_BACKLOG).0);
    let serve = async {
        loop {
            match listener.accept().await {
                Ok((tcp, peer)) => {
                    tokio::spawn(connection(tcp, peer, acceptor.clone(), hub.clone()));
                }
                Err(e) => {
                    // Usually out of file descriptors: give connections time to end.
                    eprintln!("wsx: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    };
    tokio::select! {
        () = serve => Ok(()),
        _ = tokio::signal::ctrl_c() => {
            eprintln!("wsx: interrupted, stopping");
            Ok(())
        }
    }
}

/// One client: TLS if configured, then the WebSocket session.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    hub: Option<broadcast::Sender<Message>>,
) {
    let _ = tcp.set_nodelay(true);
    // Subscribe before the handshake: once the client is told it is connected, it gets
    // every message broadcast from then on.
    let subscription = hub.as_ref().map(broadcast::Sender::subscribe);
    match acceptor {
        Some(acceptor) => {
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => session(stream, peer, hub.zip(subscription)).await,
                Ok(Err(e)) => eprintln!("wsx: {peer}: TLS handshake failed: {e}"),
                Err(_) => eprintln!("wsx: {peer}: TLS handshake timed out"),
            }
        }
        None => session(tcp, peer, hub.zip(subscription)).await,
    }
}

/// The WebSocket handshake, then echo (no hub) or broadcast.
async fn session<S>(
    stream: S,
    peer: SocketAddr,
    hub: Option<(broadcast::Sender<Message>, broadcast::Receiver<Message>)>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut ws = match ws_tokio::accept(stream).await {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("wsx: {peer}: {e}");
            return;
        }
    };
    eprintln!("wsx: {peer} connected");
    match hub {
        None => {
            while let Some(item) = ws.recv().await {
                match item {
                    // Fails only once the connection is closing; keep reading to finish it.
                    Ok(message) if message.is_data() => {
                        let _ = ws.send(message).await;
                    }
                    Ok(_) => {}
                    Err(e) => eprintln!("wsx: {peer}: {e}"),
                }
            }
        }
        Some((hub, mut subscription)) => {
            let (mut sink, mut reader) = ws.split();
            let forward = tokio::spawn(async move {
                loop {
                    match subscription.recv().await {
                        Ok(message) => {
                            if sink.send(message).await.is_err() {
                                break;
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            eprintln!("wsx: {peer}: too slow, {missed} messages not delivered");
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
            while let Some(item) = reader.next().await {
                match item {
                    Ok(message) if message.is_data() => {
                        // Fails only without subscribers, and this client is one.
                        let _ = hub.send(message);
                    }
                    Ok(_) => {}
                    Err(e) => eprintln!("wsx: {peer}: {e}"),
                }
            }
            forward.abort();
        }
    }
    eprintln!("wsx: {peer} disconnected");
}
