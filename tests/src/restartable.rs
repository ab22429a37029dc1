//! A WebSocket server that can be stopped (its listener and every connection dropped) and
//! started again on the same port, for the reconnecting client's tests. It runs on tokio on its
//! own thread, whatever the runtime of the client under test.

use futures::channel::{mpsc, oneshot};
use futures::future::select;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use ws_driver::{CloseFrame, Message, ServerConfig};

/// What the server saw, in order.
#[derive(Debug, PartialEq)]
pub enum Seen {
    /// Connection number n (from 1) was accepted.
    Accepted(usize),
    /// Connection n received this text message.
    Text(usize, String),
}

/// A server that can be stopped and restarted on the same port. Each connection logs what it
/// receives and obeys commands: `echo:X` sends X back, `close:CODE` closes with that code,
/// `reset` drops the connection without a closing handshake.
pub struct Server {
    /// The port it listens on.
    pub port: u16,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts on 127.0.0.1:`port` (0: any free port), logging to `log`.
    pub fn start(port: u16, log: mpsc::UnboundedSender<Seen>) -> Server {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"));
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("local addr").port();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let count = AtomicUsize::new(0);
                let accept = async {
                    while let Ok((tcp, _)) = listener.accept().await {
                        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                        let _ = log.unbounded_send(Seen::Accepted(n));
                        tokio::spawn(serve_one(tcp, n, log.clone()));
                    }
                };
                select(pin!(accept), stopped).await;
            });
            // Dropping the runtime drops the listener and every connection task: the clients
            // see their connections end without a closing handshake.
            drop(rt);
        });
        Server {
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops: drops the listener and every connection, and waits until they are gone.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("server thread");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn serve_one(tcp: tokio::net::TcpStream, n: usize, log: mpsc::UnboundedSender<Seen>) {
    let io = ws_tokio::TokioIo(tcp);
    let accept = ws_driver::ws_handshake::NoCallback;
    let Ok(mut ws) = ws_driver::server_handshake(io, accept, &ServerConfig::default()).await else {
        return;
    };
    while let Some(Ok(message)) = ws.recv().await {
        let Message::Text(text) = message else {
            continue;
        };
        let text = text.to_string();
        let _ = log.unbounded_send(Seen::Text(n, text.clone()));
        if let Some(echo) = text.strip_prefix("echo:") {
            let _ = ws.send(Message::text(echo)).await;
        } else if let Some(code) = text.strip_prefix("close:") {
            let code: u16 = code.parse().expect("close code");
            let _ = ws.close(Some(CloseFrame::new(code, "bye"))).await;
            return;
        } else if text == "reset" {
            return;
        }
    }
}
