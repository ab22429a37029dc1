//! Load and fault injection: many concurrent connections to one server, each sending
//! sequence-numbered messages and checking every echo, while a share of extra clients die
//! mid-handshake or mid-frame. Used by the `load` binary (10,000 connections) and, smaller, by
//! the `load` test in CI. Loopback only, every wait bounded.

use crate::raw::{read_head, UPGRADE_REQUEST};
use crate::{request, within, Handler, Runtime, ServeOptions};
use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, StreamExt};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};
use ws_driver::{ClientConfig, Message, ServerConfig};

/// What one load round is asked to do.
#[derive(Clone, Copy, Debug)]
pub struct LoadSpec {
    /// Well-behaved clients, all connected at once before any sends.
    pub connections: usize,
    /// Messages each of them sends (one in flight at a time) and checks.
    pub messages: usize,
    /// Extra clients that die: half mid-handshake, half mid-frame.
    pub faulty: usize,
}

/// What a load round measured.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Clients that connected.
    pub connected: usize,
    /// Echoes that came back as sent, in order.
    pub echoed: u64,
    /// Echoes missing, duplicated, reordered or corrupted, or connections that failed.
    pub errors: Vec<String>,
    /// Faulty clients injected.
    pub faults_injected: usize,
    /// Server handlers that ended (every accepted connection must end: none leaks).
    pub handlers_ended: usize,
    /// Resident memory of the process before, with every connection open, and after.
    pub rss_before: u64,
    /// See `rss_before`.
    pub rss_during: u64,
    /// See `rss_before`.
    pub rss_after: u64,
    /// Time from the first send to the last echo.
    pub elapsed: Duration,
}

/// The server under load: where it listens, which process it is (for its memory), and a
/// report for each connection handler that ended.
pub struct ServerSide {
    /// Listening address.
    pub addr: SocketAddr,
    /// The server's process, `None` for this one.
    pub pid: Option<u32>,
    /// One item per ended handler.
    pub ended: mpsc::UnboundedReceiver<()>,
}

impl ServerSide {
    /// An echo server of runtime `R` in this process.
    pub fn in_process<R: Runtime>() -> Self {
        let (tx, ended) = mpsc::unbounded();
        ServerSide {
            addr: serve_counted::<R>(tx),
            pid: None,
            ended,
        }
    }

    fn rss(&self) -> u64 {
        rss_bytes(self.pid)
    }
}

/// Resident set size of a process (`None`: this one), from /proc (0 where unavailable).
pub fn rss_bytes(pid: Option<u32>) -> u64 {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/statm"),
        None => "/proc/self/statm".to_string(),
    };
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Raises the open-file limit as far as the hard limit allows; returns the new soft limit.
pub fn raise_fd_limit() -> u64 {
    // Raising the hard limit needs privileges; where it fails, the soft one goes up to it.
    let _ = rlimit::setrlimit(rlimit::Resource::NOFILE, 65_536, 65_536);
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0)
}

/// Starts an echo server of runtime `R` that reports each ended handler on `ended`.
pub fn serve_counted<R: Runtime>(ended: mpsc::UnboundedSender<()>) -> SocketAddr {
    let handler: Handler<R::Server> = Arc::new(move |ws| {
        let ended = ended.clone();
        Box::pin(async move {
            if let Ok(mut ws) = ws {
                while let Some(Ok(message)) = ws.recv().await {
                    if message.is_data() && ws.send(message).await.is_err() {
                        break;
                    }
                }
            }
            let _ = ended.unbounded_send(());
        })
    });
    // Keepalive off: the rounds are short, and a ping would be an unexpected message here.
    let stream = ws_driver::StreamConfig::default()
        .keepalive_interval(None)
        .keepalive_timeout(Duration::from_secs(1));
    let config = ServerConfig::default().stream(stream);
    R::serve(
        ServeOptions {
            config,
            ..ServeOptions::default()
        },
        handler,
    )
}

/// One well-behaved client: connect, wait for the start signal, then send and check.
async fn client<R: Runtime>(
    addr: SocketAddr,
    id: usize,
    messages: usize,
    connected: mpsc::UnboundedSender<()>,
    go: futures::future::Shared<oneshot::Receiver<()>>,
) -> Result<u64, String> {
    let config = ClientConfig::default().deflate(None).stream(
        ws_driver::StreamConfig::default()
            .keepalive_interval(None)
            .keepalive_timeout(Duration::from_secs(1)),
    );
    let url = format!("ws://{addr}/");
    let (mut ws, _) = within::<R, _>("connect", R::connect(request(&url), config))
        .await
        .map_err(|e| format!("client {id}: connect: {e}"))?;
    let _ = connected.unbounded_send(());
    let _ = go.await;
    for seq in 0..messages {
        let text = format!("{id}:{seq}");
        ws.send(Message::text(text.as_str()))
            .await
            .map_err(|e| format!("client {id}: send {seq}: {e}"))?;
        match within::<R, _>("echo", ws.recv()).await {
            Some(Ok(Message::Text(got))) if got.as_str() == text => {}
            other => return Err(format!("client {id}: expected {text}, got {other:?}")),
        }
    }
    within::<R, _>("close", ws.close(None))
        .await
        .map_err(|e| format!("client {id}: close: {e}"))?;
    Ok(messages as u64)
}

/// Faulty clients, on a plain thread with blocking sockets: even ones send half a request and
/// vanish, odd ones complete the handshake, send half a frame and vanish.
fn inject_faults(addr: SocketAddr, count: usize) -> usize {
    let mut injected = 0;
    for i in 0..count {
        let Ok(mut tcp) = TcpStream::connect(addr) else {
            continue;
        };
        let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
        if i % 2 == 0 {
            let _ = tcp.write_all(&UPGRADE_REQUEST[..UPGRADE_REQUEST.len() / 2]);
        } else {
            if tcp.write_all(UPGRADE_REQUEST).is_err() {
                continue;
            }
            // Wait for the 101 so the server is past the handshake, then cut a frame short:
            // a masked text frame announcing 100 bytes, of which 10 arrive.
            let _ = read_head(&mut tcp);
            let mut frame = vec![0x81, 0x80 | 100, 1, 2, 3, 4];
            frame.extend_from_slice(&[b'x'; 10]);
            let _ = tcp.write_all(&frame);
        }
        injected += 1;
        drop(tcp);
    }
    injected
}

/// Runs one round of clients on runtime `R` against `server`: see [`LoadSpec`]. Memory
/// figures are the server's.
pub fn run<R: Runtime>(spec: LoadSpec, server: &mut ServerSide) -> LoadReport {
    let mut report = LoadReport {
        rss_before: server.rss(),
        ..LoadReport::default()
    };
    let addr = server.addr;
    let (fault_tx, fault_rx) = oneshot::channel();
    R::block_on(async {
        let (connected_tx, mut connected_rx) = mpsc::unbounded();
        let (result_tx, mut result_rx) = mpsc::unbounded();
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let go = go_rx.shared();
        // Connect in batches (the listen backlog is finite), keeping every connection open.
        const BATCH: usize = 200;
        let mut started = 0;
        while started < spec.connections {
            let batch = BATCH.min(spec.connections - started);
            for id in started..started + batch {
                let (connected, go, result) = (connected_tx.clone(), go.clone(), result_tx.clone());
                R::spawn(async move {
                    let r = client::<R>(addr, id, spec.messages, connected, go).await;
                    let _ = result.unbounded_send(r);
                });
            }
            started += batch;
            while report.connected + report.errors.len() < started {
                match within::<R, _>(
                    "connections",
                    futures::future::select(connected_rx.next(), result_rx.next()),
                )
                .await
                {
                    futures::future::Either::Left((Some(()), _)) => report.connected += 1,
                    futures::future::Either::Right((Some(Err(e)), _)) => report.errors.push(e),
                    _ => {}
                }
            }
        }
        report.rss_during = server.rss();
        // Faults run concurrently with the traffic.
        let faulty = spec.faulty;
        std::thread::spawn(move || {
            let _ = fault_tx.send(inject_faults(addr, faulty));
        });
        let start = Instant::now();
        let _ = go_tx.send(());
        for _ in 0..report.connected {
            match within::<R, _>("results", result_rx.next()).await {
                Some(Ok(n)) => report.echoed += n,
                Some(Err(e)) => report.errors.push(e),
                None => break,
            }
        }
        report.elapsed = start.elapsed();
        report.faults_injected = within::<R, _>("faults", fault_rx).await.unwrap_or(0);
        // Every accepted connection's handler must end: the good ones closed, the faulty
        // ones hit EOF mid-handshake or mid-frame.
        let accepted = report.connected + report.faults_injected;
        while report.handlers_ended < accepted {
            match within::<R, _>("handlers to end", server.ended.next()).await {
                Some(()) => report.handlers_ended += 1,
                None => break,
            }
        }
    });
    report.rss_after = server.rss();
    report
}
