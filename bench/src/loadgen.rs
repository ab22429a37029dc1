//! The neutral load generator: raw TCP on one thread with its own `mio` event loop,
//! pre-encoded masked frames, N connections with K messages in flight each, every echoed frame
//! checked.
//!
//! It is built not to be the bottleneck, and to say when it is anyway:
//! * each connection writes every frame the window allows in one `write` (a whole window of
//!   pre-masked frames; the frames are encoded once, before the run), and reads up to
//!   [`READ_CHUNK`] or more per `read`;
//! * it counts its own `read` and `write` calls (each one is one system call, including the
//!   one that finds the socket empty or full) and its own CPU time over the measured window
//!   (`/proc/thread-self/stat`), so the report can show its syscalls per message and flag the
//!   runs where it was busy more than 90% of the time.

use crate::procstat::{self, CpuSample};
use crate::wire;
use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// Smallest free space handed to one `read` call.
pub const READ_CHUNK: usize = 256 * 1024;

/// How long the warm-up may be stretched to see an echo on every connection.
const WARMUP_GRACE: Duration = Duration::from_secs(10);

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
    /// Record the round trip time of every message of the measured window.
    pub latency: bool,
}

/// Messages echoed in a measured window.
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

/// Round trip percentiles of the measured window.
#[derive(Clone, Copy, Debug)]
pub struct Rtt {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Round trips measured.
    pub samples: usize,
}

impl Rtt {
    /// Percentiles of `samples` (sorted in place); `None` if there are none.
    pub fn of(samples: &mut [Duration]) -> Option<Rtt> {
        samples.sort_unstable();
        let n = samples.len();
        (n > 0).then(|| Rtt {
            p50: samples[n / 2],
            p99: samples[(n * 99 / 100).min(n - 1)],
            samples: n,
        })
    }
}

/// Everything one load run measured: throughput and the load generator's own cost.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadReport {
    /// Echoed messages.
    pub load: LoadResult,
    /// The load generator thread's CPU time over the window's wall time (1.0 = one core).
    pub cpu_share: Option<f64>,
    /// The share of the window it was running or waiting on a run queue to run (1.0: it
    /// always had work): on a core shared with other work, its CPU share understates how busy
    /// it was, this does not.
    pub runnable_share: Option<f64>,
    /// `read` calls in the window.
    pub reads: u64,
    /// `write` calls in the window.
    pub writes: u64,
    /// Round trips, when [`LoadSpec::latency`] was set.
    pub rtt: Option<Rtt>,
}

impl LoadReport {
    /// The load generator's `read` plus `write` calls per echoed message.
    pub fn syscalls_per_msg(&self) -> f64 {
        (self.reads + self.writes) as f64 / self.load.messages.max(1) as f64
    }
}

/// Messages in flight for a payload size: at most 16, and about 256 KiB of payload per
/// connection so the socket buffers, not the servers' queues, absorb the window.
pub fn default_in_flight(size: usize) -> usize {
    (256 * 1024 / size.max(1)).clamp(1, 16)
}

/// What every connection shares: the encoded window and the expected echo.
struct Frames {
    /// `in_flight` masked frames back to back.
    batch: Vec<u8>,
    frame_len: usize,
    in_flight: usize,
    opcode: u8,
    payload: Vec<u8>,
    /// Keep the send time of every frame.
    latency: bool,
}

/// Counters of the whole run.
#[derive(Default)]
struct Counters {
    reads: u64,
    writes: u64,
    /// Round trips, while measuring latency in the window.
    rtts: Option<Vec<Duration>>,
}

struct Conn {
    tcp: MioStream,
    /// Received bytes are `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Frames written (or being written) and not echoed yet.
    unanswered: usize,
    /// Byte range of `Frames::batch` still to write.
    out: Option<(usize, usize)>,
    /// The last write found the socket full; wait for a writable event.
    blocked: bool,
    received: u64,
    /// Send times of the unanswered frames, when measuring latency.
    sent_at: VecDeque<Instant>,
}

impl Conn {
    fn on_readable(&mut self, f: &Frames, c: &mut Counters) -> Result<(), String> {
        loop {
            if self.buf.len() - self.end < READ_CHUNK {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if self.buf.len() - self.end < READ_CHUNK {
                    self.buf.resize(self.end + READ_CHUNK, 0);
                }
            }
            let want = self.buf.len() - self.end;
            c.reads += 1;
            match self.tcp.read(&mut self.buf[self.end..]) {
                Ok(0) => return Err("the server closed the connection".into()),
                Ok(n) => {
                    self.end += n;
                    self.take_echoes(f, c)?;
                    // A short read emptied the socket: the next arrival raises a new event.
                    if n < want {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
        self.fill_window(f, c)
    }

    fn take_echoes(&mut self, f: &Frames, c: &mut Counters) -> Result<(), String> {
        while let Some(h) = wire::parse_header(&self.buf[self.start..self.end]) {
            if self.end - self.start < h.header_len + h.len {
                break;
            }
            let body = &self.buf[self.start + h.header_len..self.start + h.header_len + h.len];
            if !h.fin || h.rsv || h.opcode != f.opcode || h.mask.is_some() || body != &f.payload[..]
            {
                return Err(format!(
                    "bad echo: fin {} opcode {} masked {} len {} (sent {})",
                    h.fin,
                    h.opcode,
                    h.mask.is_some(),
                    h.len,
                    f.payload.len()
                ));
            }
            self.start += h.header_len + h.len;
            self.received += 1;
            self.unanswered = self
                .unanswered
                .checked_sub(1)
                .ok_or("an echo of a message that was never sent")?;
            if let Some(sent) = self.sent_at.pop_front() {
                if let Some(rtts) = c.rtts.as_mut() {
                    rtts.push(sent.elapsed());
                }
            }
        }
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        Ok(())
    }

    /// Queues every frame the window allows as one range of the batch, then writes.
    fn fill_window(&mut self, f: &Frames, c: &mut Counters) -> Result<(), String> {
        if self.out.is_none() {
            let free = f.in_flight - self.unanswered;
            if free == 0 {
                return Ok(());
            }
            self.out = Some((0, free * f.frame_len));
            self.unanswered += free;
            if f.latency {
                let now = Instant::now();
                self.sent_at.extend(std::iter::repeat_n(now, free));
            }
        }
        self.write_out(f, c)
    }

    fn write_out(&mut self, f: &Frames, c: &mut Counters) -> Result<(), String> {
        while let (Some((from, to)), false) = (self.out, self.blocked) {
            c.writes += 1;
            match self.tcp.write(&f.batch[from..to]) {
                Ok(n) if from + n == to => self.out = None,
                Ok(n) => {
                    // A short write filled the socket buffer.
                    self.out = Some((from + n, to));
                    self.blocked = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.blocked = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("write: {e}")),
            }
        }
        Ok(())
    }

    fn on_writable(&mut self, f: &Frames, c: &mut Counters) -> Result<(), String> {
        self.blocked = false;
        self.fill_window(f, c)
    }
}

/// Opens the connections (handshake done) on a throw-away tokio runtime and hands them over
/// as non-blocking sockets.
fn open_all(spec: &LoadSpec) -> Result<Vec<MioStream>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut streams = Vec::with_capacity(spec.connections);
        for _ in 0..spec.connections {
            let tcp = open(spec.addr).await.map_err(|e| format!("connect: {e}"))?;
            // Non-blocking, as tokio had it.
            let std = tcp.into_std().map_err(|e| e.to_string())?;
            streams.push(MioStream::from_std(std));
        }
        Ok(streams)
    })
}

/// The measured window once open: its start, the load generator's CPU time and run queue
/// times then, echoes received, `read` and `write` calls by then.
type Window = (
    Instant,
    Option<CpuSample>,
    Option<(Duration, Duration)>,
    u64,
    u64,
    u64,
);

/// Runs the load on the calling thread. `mark` is called when the measured window opens and
/// when it closes (the caller snapshots a server's counters there).
pub fn run(spec: &LoadSpec, mut mark: impl FnMut()) -> Result<LoadReport, String> {
    let opcode = if spec.text {
        wire::OP_TEXT
    } else {
        wire::OP_BINARY
    };
    let payload = wire::payload(spec.size);
    let mut batch = Vec::new();
    for i in 0..spec.in_flight {
        wire::put_client_frame(&mut batch, opcode, &payload, wire::key_for(i));
    }
    let frames = Frames {
        frame_len: batch.len() / spec.in_flight.max(1),
        batch,
        in_flight: spec.in_flight.max(1),
        opcode,
        payload,
        latency: spec.latency,
    };
    let poll_err = |e: io::Error| format!("poll: {e}");
    let mut poll = Poll::new().map_err(poll_err)?;
    let mut conns = Vec::with_capacity(spec.connections);
    for (i, mut tcp) in open_all(spec)?.into_iter().enumerate() {
        poll.registry()
            .register(&mut tcp, Token(i), Interest::READABLE | Interest::WRITABLE)
            .map_err(poll_err)?;
        conns.push(Conn {
            tcp,
            buf: vec![0; 2 * READ_CHUNK],
            start: 0,
            end: 0,
            unanswered: 0,
            out: None,
            blocked: false,
            received: 0,
            sent_at: VecDeque::new(),
        });
    }
    let mut c = Counters::default();
    for conn in &mut conns {
        conn.fill_window(&frames, &mut c)?;
    }
    let me = Path::new("/proc/thread-self/stat");
    let sched = || procstat::sched_times(Path::new("/proc/thread-self/schedstat"));
    let mut events = Events::with_capacity(1024);
    let warmup_end = Instant::now() + spec.warmup;
    let mut window: Option<Window> = None;
    loop {
        let now = Instant::now();
        let wake = match window {
            None if now < warmup_end => warmup_end - now,
            None => Duration::from_millis(5),
            Some((start, ..)) => (start + spec.duration).saturating_duration_since(now),
        };
        poll.poll(&mut events, Some(wake)).map_err(poll_err)?;
        for ev in &events {
            let conn = &mut conns[ev.token().0];
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                conn.on_readable(&frames, &mut c)?;
            }
            if ev.is_writable() {
                conn.on_writable(&frames, &mut c)?;
            }
        }
        let now = Instant::now();
        let total = |conns: &[Conn]| conns.iter().map(|c| c.received).sum::<u64>();
        match window {
            // Steady state needs every connection past its first echo (buffers grown, tasks
            // scheduled): with many large messages that takes longer than the warm-up.
            None if now >= warmup_end
                && (conns.iter().all(|c| c.received > 0) || now >= warmup_end + WARMUP_GRACE) =>
            {
                mark();
                if spec.latency {
                    c.rtts = Some(Vec::with_capacity(64 * 1024));
                }
                let (cpu, run) = (CpuSample::take(me), sched());
                window = Some((Instant::now(), cpu, run, total(&conns), c.reads, c.writes));
            }
            Some((start, cpu0, run0, before, reads0, writes0)) if now >= start + spec.duration => {
                let (cpu1, run1) = (CpuSample::take(me), sched());
                let elapsed = start.elapsed();
                let runnable = run0.zip(run1).map(|((r0, w0), (r1, w1))| {
                    ((r1 + w1).saturating_sub(r0 + w0)).as_secs_f64() / elapsed.as_secs_f64()
                });
                let messages = total(&conns) - before;
                let (reads, writes) = (c.reads - reads0, c.writes - writes0);
                mark();
                let rtt = c.rtts.as_mut().and_then(|v| Rtt::of(v));
                return Ok(LoadReport {
                    load: LoadResult {
                        messages,
                        elapsed,
                        size: spec.size,
                    },
                    cpu_share: cpu0.zip(cpu1).map(|(a, b)| a.until(&b).1),
                    runnable_share: runnable,
                    reads,
                    writes,
                    rtt,
                });
            }
            _ => {}
        }
    }
}

/// Connects and runs the opening handshake.
pub async fn open(addr: SocketAddr) -> io::Result<tokio::net::TcpStream> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    wire::client_handshake(&mut tcp, &addr.to_string()).await?;
    Ok(tcp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::{self, ServerKind};

    #[test]
    fn counts_echoes_syscalls_and_round_trips_against_the_raw_echo_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        // Serves until the test process ends.
        std::thread::spawn(move || servers::serve(ServerKind::Raw, listener, 1));
        let spec = LoadSpec {
            addr,
            connections: 2,
            in_flight: 4,
            size: 100,
            text: true,
            warmup: Duration::from_millis(50),
            duration: Duration::from_millis(200),
            latency: true,
        };
        let mut marks = 0;
        let report = run(&spec, || marks += 1).expect("load run");
        assert_eq!(marks, 2, "the window opens and closes once");
        let messages = report.load.messages;
        assert!(messages > 0, "{report:?}");
        assert!(report.load.elapsed >= spec.duration, "{report:?}");
        // Every echo needs at least one read, and every window refill one write.
        assert!(report.reads > 0 && report.writes > 0, "{report:?}");
        assert!(report.syscalls_per_msg() > 0.0, "{report:?}");
        let rtt = report.rtt.expect("round trips recorded");
        assert_eq!(
            rtt.samples as u64, messages,
            "one round trip per echo in the window"
        );
        assert!(
            rtt.p50 <= rtt.p99 && rtt.p99 < Duration::from_secs(5),
            "{rtt:?}"
        );
        let share = report.cpu_share.expect("own CPU time");
        assert!((0.0..=1.5).contains(&share), "{share}");
    }

    #[test]
    fn percentiles() {
        let mut v: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        let r = Rtt::of(&mut v).expect("samples");
        assert_eq!(
            (r.p50, r.p99, r.samples),
            (Duration::from_micros(51), Duration::from_micros(100), 100)
        );
        assert!(Rtt::of(&mut []).is_none());
    }
}
