//! The neutral load generator: raw TCP, pre-encoded masked frames, N connections with K
//! messages in flight each, every echoed frame checked.

use crate::wire;
use bytes::{Buf, BytesMut};
use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// One load run.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// The echo server.
    pub addr: SocketAddr,
    /// Concurrent connections.
    pub connections: usize,
    /// Messages in flight per connection.
    pub in_flight: usize,
    /// Payload size in bytes.
    pub size: usize,
    /// Send text frames instead of binary ones.
    pub text: bool,
    /// Traffic before measuring (longer if some connection has had no echo yet).
    pub warmup: Duration,
    /// Measured traffic.
    pub duration: Duration,
}

/// What one load run measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadResult {
    /// Echoed messages in the measured window.
    pub messages: u64,
    /// Length of the measured window.
    pub elapsed: Duration,
    /// Payload size.
    pub size: usize,
}

impl LoadResult {
    /// Echoed messages per second.
    pub fn msgs_per_sec(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Echoed payload megabytes (10^6) per second, one direction.
    pub fn mb_per_sec(&self) -> f64 {
        self.msgs_per_sec() * self.size as f64 / 1e6
    }
}

/// Messages in flight for a payload size: at most 16, and about 256 KiB of payload per
/// connection so the socket buffers, not the servers' queues, absorb the window.
pub fn default_in_flight(size: usize) -> usize {
    (256 * 1024 / size.max(1)).clamp(1, 16)
}

/// Per-connection counters shared by its reading and writing tasks.
#[derive(Default)]
struct Counts {
    sent: Cell<u64>,
    received: Cell<u64>,
}

/// Runs the load on a single-threaded runtime of its own. `mark` is called when the measured
/// window opens and when it closes (the caller snapshots a server's counters there).
pub fn run(spec: &LoadSpec, mut mark: impl FnMut()) -> Result<LoadResult, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let mut streams = Vec::with_capacity(spec.connections);
        for _ in 0..spec.connections {
            streams.push(open(spec.addr).await.map_err(|e| format!("connect: {e}"))?);
        }
        let opcode = if spec.text {
            wire::OP_TEXT
        } else {
            wire::OP_BINARY
        };
        let payload: Rc<[u8]> = wire::payload(spec.size).into();
        let mut batch = Vec::new();
        for i in 0..spec.in_flight {
            wire::put_client_frame(&mut batch, opcode, &payload, wire::key_for(i));
        }
        let batch: Rc<[u8]> = batch.into();
        let stop = Rc::new(Cell::new(false));
        let mut all = Vec::new();
        let mut tasks = Vec::new();
        for tcp in streams {
            let counts = Rc::new(Counts::default());
            all.push(counts.clone());
            tasks.push(tokio::task::spawn_local(drive(
                tcp,
                spec.in_flight,
                opcode,
                payload.clone(),
                batch.clone(),
                counts,
                stop.clone(),
            )));
        }
        let total = |all: &[Rc<Counts>]| all.iter().map(|c| c.received.get()).sum::<u64>();
        tokio::time::sleep(spec.warmup).await;
        // Steady state needs every connection past its first echo (buffers grown, tasks
        // scheduled): with many large messages that takes longer than the warm-up.
        let deadline = Instant::now() + Duration::from_secs(10);
        while all.iter().any(|c| c.received.get() == 0) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        mark();
        let (start, before) = (Instant::now(), total(&all));
        tokio::time::sleep(spec.duration).await;
        let (elapsed, after) = (start.elapsed(), total(&all));
        mark();
        stop.set(true);
        for task in tasks {
            task.await.map_err(|e| e.to_string())??;
        }
        Ok(LoadResult {
            messages: after - before,
            elapsed,
            size: spec.size,
        })
    })
}

/// Connects and runs the opening handshake.
pub async fn open(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    wire::client_handshake(&mut tcp, &addr.to_string()).await?;
    Ok(tcp)
}

async fn drive(
    tcp: TcpStream,
    in_flight: usize,
    opcode: u8,
    payload: Rc<[u8]>,
    batch: Rc<[u8]>,
    counts: Rc<Counts>,
    stop: Rc<Cell<bool>>,
) -> Result<(), String> {
    let (mut rd, mut wr) = tcp.into_split();
    let window = Rc::new(Semaphore::new(in_flight));
    let frame_len = batch.len() / in_flight;
    let writer = {
        let (window, counts, stop) = (window.clone(), counts.clone(), stop.clone());
        async move {
            while !stop.get() {
                // Send as many frames as the window allows in one write.
                let Ok(first) = window.acquire().await else {
                    break;
                };
                first.forget();
                let mut n = 1;
                while n < in_flight {
                    match window.try_acquire() {
                        Ok(p) => p.forget(),
                        Err(_) => break,
                    }
                    n += 1;
                }
                counts.sent.set(counts.sent.get() + n as u64);
                wr.write_all(&batch[..n * frame_len])
                    .await
                    .map_err(|e| format!("write: {e}"))?;
            }
            Ok::<_, String>(wr)
        }
    };
    let reader = {
        let counts = counts.clone();
        async move {
            let mut buf = BytesMut::with_capacity(64 * 1024);
            loop {
                while let Some(h) = wire::parse_header(&buf) {
                    if buf.len() < h.header_len + h.len {
                        buf.reserve(h.header_len + h.len - buf.len());
                        break;
                    }
                    let body = &buf[h.header_len..h.header_len + h.len];
                    if !h.fin
                        || h.rsv
                        || h.opcode != opcode
                        || h.mask.is_some()
                        || body != &*payload
                    {
                        return Err(format!(
                            "bad echo: fin {} opcode {} masked {} len {} (sent {})",
                            h.fin,
                            h.opcode,
                            h.mask.is_some(),
                            h.len,
                            payload.len()
                        ));
                    }
                    buf.advance(h.header_len + h.len);
                    counts.received.set(counts.received.get() + 1);
                    window.add_permits(1);
                }
                if stop.get() && counts.received.get() == counts.sent.get() {
                    // Wake a writer blocked on the window so it sees the stop.
                    window.close();
                    return Ok(rd);
                }
                match rd.read_buf(&mut buf).await {
                    Ok(0) => return Err("server closed the connection".into()),
                    Ok(_) => {}
                    Err(e) => return Err(format!("read: {e}")),
                }
            }
        }
    };
    let (rd, wr) = futures::future::try_join(reader, writer).await?;
    close(rd, wr).await;
    Ok(())
}

/// The closing handshake: a close frame, then read until the server ends the connection.
async fn close(mut rd: tokio::net::tcp::OwnedReadHalf, mut wr: tokio::net::tcp::OwnedWriteHalf) {
    let mut frame = Vec::new();
    wire::put_client_frame(
        &mut frame,
        wire::OP_CLOSE,
        &1000u16.to_be_bytes(),
        [9, 8, 7, 6],
    );
    if wr.write_all(&frame).await.is_err() {
        return;
    }
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while matches!(rd.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}
