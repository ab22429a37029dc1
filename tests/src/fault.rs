//! A fault-injecting TCP relay for the fault suite: it listens on a free loopback port and
//! forwards each connection to an upstream address, and on command adds latency and jitter,
//! limits bandwidth, delivers in small pieces, stalls, cuts (RST), half-closes (FIN one way),
//! or blackholes new connections. This machine's kernel has no `netem`, so it runs in user
//! space: on tokio, on a thread and runtime of its own, whatever the runtime under test.
//!
//! Each direction of a connection is a reader that stamps what it reads with the time it is
//! due (now + latency + jitter, never before the previous piece: TCP keeps order) and a writer
//! that waits for that time, paces to the bandwidth and writes in pieces of the chunk size, so
//! latency does not cap throughput.

use bytes::{Bytes, BytesMut};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::time::Instant;

/// How far ahead of the bandwidth limit a writer may be before it sleeps.
const PACING_SLICE: Duration = Duration::from_millis(10);

/// The impairments applied to bytes read from now on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Added to every piece, each way.
    pub latency: Duration,
    /// A further delay drawn uniformly from `0..=jitter` for each piece (order is kept).
    pub jitter: Duration,
    /// Bytes per second, each way, per connection; `None` is unlimited.
    pub bandwidth: Option<u64>,
    /// Write at most this many bytes at a time (1: byte-at-a-time delivery); `None` writes
    /// what was read.
    pub chunk: Option<usize>,
}

/// Which way a half-close goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Toward {
    /// The side that connected to the relay.
    Client,
    /// The upstream server.
    Server,
}

/// How one direction of one connection flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Open,
    Stalled,
    /// FIN sent this way; nothing more goes through.
    Finished,
}

/// One relayed connection, as the controller sees it.
struct Link {
    id: usize,
    to_client: watch::Sender<Flow>,
    to_server: watch::Sender<Flow>,
    cut: Arc<Notify>,
    /// Duplicates of both sockets, to set SO_LINGER 0 when cutting: the last close of a
    /// socket with it sends RST.
    sockets: [socket2::Socket; 2],
}

struct Shared {
    upstream: SocketAddr,
    faults: Mutex<Faults>,
    blackhole: Mutex<bool>,
    links: Mutex<Vec<Link>>,
    /// Connections held open without forwarding while the blackhole was on.
    held: Mutex<Vec<TcpStream>>,
    accepted: AtomicUsize,
}

/// A running relay; it stops, dropping every connection, when dropped.
pub struct FaultRelay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultRelay {
    /// Starts relaying 127.0.0.1:(free port) to `upstream` with `faults`.
    pub fn start(upstream: SocketAddr, faults: Faults) -> FaultRelay {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind relay");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("relay addr");
        let shared = Arc::new(Shared {
            upstream,
            faults: Mutex::new(faults),
            blackhole: Mutex::new(false),
            links: Mutex::new(Vec::new()),
            held: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
        });
        let (stop, stopped) = oneshot::channel();
        let accepting = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("relay runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("relay listener");
                tokio::select! {
                    _ = accept_loop(listener, accepting) => {}
                    _ = stopped => {}
                }
            });
        });
        FaultRelay {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections the relay accepted so far (blackholed ones included).
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Applies `faults` to the bytes read from now on, on every connection.
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.lock().unwrap() = faults;
    }

    /// Stops the bytes of every current connection, both ways (nothing is read or written;
    /// the connections stay open): a silent dead peer. New connections flow.
    pub fn stall(&self) {
        self.each_link(|link| {
            link.to_client.send_replace(Flow::Stalled);
            link.to_server.send_replace(Flow::Stalled);
        });
    }

    /// Lets the stalled connections flow again.
    pub fn resume(&self) {
        self.each_link(|link| {
            for flow in [&link.to_client, &link.to_server] {
                flow.send_if_modified(|f| {
                    let stalled = *f == Flow::Stalled;
                    if stalled {
                        *f = Flow::Open;
                    }
                    stalled
                });
            }
        });
    }

    /// Resets every current connection, both sides (RST: SO_LINGER 0, then close).
    pub fn cut(&self) {
        let links = std::mem::take(&mut *self.shared.links.lock().unwrap());
        for link in links {
            for socket in &link.sockets {
                let _ = socket.set_linger(Some(Duration::ZERO));
            }
            // The connection's task drops its halves; the duplicates close last, here.
            link.cut.notify_one();
        }
    }

    /// Sends FIN `toward` one side on every current connection and stops that direction; the
    /// other direction keeps flowing: a half-open connection.
    pub fn half_close(&self, toward: Toward) {
        self.each_link(|link| {
            let flow = match toward {
                Toward::Client => &link.to_client,
                Toward::Server => &link.to_server,
            };
            flow.send_replace(Flow::Finished);
        });
    }

    /// While on, new connections are accepted and then held silent (nothing forwarded, never
    /// closed): the attempts of a client time out. Existing connections are not affected.
    pub fn blackhole(&self, on: bool) {
        *self.shared.blackhole.lock().unwrap() = on;
    }

    fn each_link(&self, f: impl Fn(&Link)) {
        self.shared.links.lock().unwrap().iter().for_each(f);
    }
}

impl Drop for FaultRelay {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((client, _)) = listener.accept().await {
        let id = shared.accepted.fetch_add(1, Ordering::SeqCst);
        if *shared.blackhole.lock().unwrap() {
            shared.held.lock().unwrap().push(client);
            continue;
        }
        tokio::spawn(relay_one(client, id, shared.clone()));
    }
}

/// A socket as a `socket2` duplicate (same socket, another descriptor) and back as tokio's.
fn duplicate(stream: TcpStream) -> Option<(TcpStream, socket2::Socket)> {
    let socket = socket2::Socket::from(stream.into_std().ok()?);
    let copy = socket.try_clone().ok()?;
    let stream = TcpStream::from_std(socket.into()).ok()?;
    Some((stream, copy))
}

async fn relay_one(client: TcpStream, id: usize, shared: Arc<Shared>) {
    let Ok(server) = TcpStream::connect(shared.upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Some((client, client_copy)), Some((server, server_copy))) =
        (duplicate(client), duplicate(server))
    else {
        return;
    };
    let (to_client, to_client_flow) = watch::channel(Flow::Open);
    let (to_server, to_server_flow) = watch::channel(Flow::Open);
    let cut = Arc::new(Notify::new());
    shared.links.lock().unwrap().push(Link {
        id,
        to_client,
        to_server,
        cut: cut.clone(),
        sockets: [client_copy, server_copy],
    });
    // Not `into_split`: its write half sends FIN when dropped, which would come before the
    // RST of a cut.
    let (client_read, client_write) = tokio::io::split(client);
    let (server_read, server_write) = tokio::io::split(server);
    let up = pump(client_read, server_write, to_server_flow, shared.clone());
    let down = pump(server_read, client_write, to_client_flow, shared.clone());
    tokio::select! {
        _ = futures::future::join(up, down) => {
            // Ended by both sides: its duplicates go too, so the sockets close.
            shared.links.lock().unwrap().retain(|link| link.id != id);
        }
        _ = cut.notified() => {}
    }
}

/// Waits until this direction is not stalled; false once it is finished.
async fn flowing(flow: &mut watch::Receiver<Flow>) -> bool {
    match flow.wait_for(|f| *f != Flow::Stalled).await {
        Ok(f) => *f == Flow::Open,
        Err(_) => false,
    }
}

/// One direction: a reader stamping pieces with their due time, a writer delivering them.
async fn pump(
    mut from: ReadHalf<TcpStream>,
    mut to: WriteHalf<TcpStream>,
    flow: watch::Receiver<Flow>,
    shared: Arc<Shared>,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Bytes)>(1024);
    let writer_shared = shared.clone();
    let mut reader_flow = flow.clone();
    let reader = async move {
        let mut last_due = Instant::now();
        // Filled as bytes arrive (no zeroed buffer per connection) and handed on without a
        // copy: a quiet connection costs the relay next to nothing.
        let mut buf = BytesMut::new();
        while flowing(&mut reader_flow).await {
            buf.reserve(16 * 1024);
            tokio::select! {
                read = from.read_buf(&mut buf) => match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                },
                // A stall or FIN while waiting for bytes stops the read.
                _ = reader_flow.changed() => continue,
            };
            let faults = *shared.faults.lock().unwrap();
            let jitter = if faults.jitter.is_zero() {
                Duration::ZERO
            } else {
                faults.jitter.mul_f64(rand::random::<f64>())
            };
            last_due = last_due.max(Instant::now() + faults.latency + jitter);
            if tx.send((last_due, buf.split().freeze())).await.is_err() {
                break;
            }
        }
    };
    let mut writer_flow = flow;
    let writer = async move {
        let mut next_free = Instant::now();
        while let Some((due, data)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            let faults = *writer_shared.faults.lock().unwrap();
            let piece = faults.chunk.unwrap_or(data.len()).max(1);
            for part in data.chunks(piece) {
                if !flowing(&mut writer_flow).await {
                    // FIN asked for: what is left is never delivered.
                    let _ = to.shutdown().await;
                    return;
                }
                if let Some(rate) = faults.bandwidth {
                    // The average rate is kept exactly; sleeps wait for a few milliseconds of
                    // credit at a time, as the timer is no finer than a millisecond.
                    let cost = Duration::from_secs_f64(part.len() as f64 / rate.max(1) as f64);
                    next_free = next_free.max(Instant::now()) + cost;
                    if next_free > Instant::now() + PACING_SLICE {
                        tokio::time::sleep_until(next_free - PACING_SLICE).await;
                    }
                }
                if to.write_all(part).await.is_err() {
                    return;
                }
                if faults.chunk.is_some() {
                    // Give the peer a chance to read each piece on its own.
                    tokio::task::yield_now().await;
                }
            }
        }
        // End of file from the other side: pass the FIN on.
        let _ = to.shutdown().await;
    };
    futures::future::join(reader, writer).await;
}
