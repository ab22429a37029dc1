//! Issue 19: a huge message streamed both ways, with and without permessage-deflate, in
//! bounded memory: each runtime's case re-runs itself in a child process (so that no other test
//! shares its memory) where a server and a client on loopback exchange the message, and the
//! child's peak RSS (`VmHWM`, reset first) must grow by less than 16 MiB over both ends.
//!
//! The size is `WS_STREAM_BYTES` (default 64 MiB, so that `cargo test` stays quick); the issue's
//! 4 GiB check is
//! `WS_STREAM_BYTES=4294967296 cargo test --release -p tests --test streaming_big -- --nocapture`.

use futures::{AsyncWriteExt, StreamExt};
use std::sync::Arc;
use std::time::Instant;
use tests::{request, within, Handler, Runtime, ServeOptions};
use ws_driver::{ClientConfig, Error, MessageKind, Transport, WebSocketStream};

const CHILD: &str = "WS_STREAM_CHILD";
const MAX_GROWTH: u64 = 16 << 20;

fn size() -> u64 {
    std::env::var("WS_STREAM_BYTES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64 << 20)
}

/// Deterministic incompressible bytes (xorshift64), generated as they are needed.
struct Noise(u64);

impl Noise {
    fn new() -> Self {
        Noise(0x2545_F491_4F6C_DD1D)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for word in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            word.copy_from_slice(&self.0.to_le_bytes()[..word.len()]);
        }
    }
}

/// Checks received bytes against the [`Noise`] sequence (chunk boundaries may fall anywhere).
struct Expect {
    noise: Noise,
    pending: Vec<u8>,
    seen: u64,
}

impl Expect {
    fn new() -> Self {
        Expect {
            noise: Noise::new(),
            pending: Vec::new(),
            seen: 0,
        }
    }

    fn check(&mut self, mut chunk: &[u8]) -> bool {
        self.seen += chunk.len() as u64;
        while !chunk.is_empty() {
            if self.pending.is_empty() {
                self.pending = vec![0; 8 << 10];
                self.noise.fill(&mut self.pending);
            }
            let n = chunk.len().min(self.pending.len());
            if chunk[..n] != self.pending[..n] {
                return false;
            }
            self.pending.drain(..n);
            chunk = &chunk[n..];
        }
        true
    }
}

async fn send_noise<T: Transport>(ws: &mut WebSocketStream<T>, len: u64) -> Result<(), Error> {
    let mut writer = ws.send_stream(MessageKind::Binary).await?;
    let (mut noise, mut left) = (Noise::new(), len);
    let mut buf = vec![0u8; 64 << 10];
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        noise.fill(&mut buf[..n]);
        writer.write_all(&buf[..n]).await.map_err(Error::Io)?;
        left -= n as u64;
    }
    writer.finish().await
}

/// Receives a streamed message and checks it is [`Noise`] of `len` bytes.
async fn receive_noise<T: Transport>(ws: &mut WebSocketStream<T>, len: u64) -> Result<(), String> {
    let mut reader = match ws.recv_stream_with_limit(u64::MAX).await {
        Some(Ok(reader)) => reader,
        other => return Err(format!("no message: {other:?}")),
    };
    let mut expect = Expect::new();
    while let Some(chunk) = reader.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        if !expect.check(&chunk) {
            return Err(format!("bytes differ after {}", expect.seen));
        }
    }
    match expect.seen == len {
        true => Ok(()),
        false => Err(format!("{} bytes instead of {len}", expect.seen)),
    }
}

/// Receives the message, then sends it back (streamed both ways).
fn noise_echo<T: Transport + Send + 'static>(len: u64) -> Handler<T> {
    Arc::new(move |ws| {
        Box::pin(async move {
            let Ok(mut ws) = ws else { return };
            if let Err(e) = receive_noise(&mut ws, len).await {
                panic!("server: {e}");
            }
            match send_noise(&mut ws, len).await {
                // The client may have read it all and closed while our last flush ran.
                Ok(()) | Err(Error::ClosedByPeer(_)) => {}
                Err(e) => panic!("server: send back: {e}"),
            }
            while ws.recv().await.is_some() {}
        })
    })
}

/// `(field)` of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with(field)).expect(field);
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib << 10
}

/// Loopback TCP doing the same work (generate, send, receive, check `len` bytes each way, one
/// direction after the other), for comparison: its duration.
fn tcp_baseline(len: u64) -> std::time::Duration {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let start = Instant::now();
    let server = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().expect("accept");
        receive_tcp(&mut tcp, len);
        send_tcp(&mut tcp, len);
    });
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    send_tcp(&mut tcp, len);
    receive_tcp(&mut tcp, len);
    server.join().expect("TCP baseline server");
    start.elapsed()
}

/// Reads `len` bytes of the noise from `tcp`, checking them.
fn receive_tcp(tcp: &mut std::net::TcpStream, len: u64) {
    use std::io::Read;
    let (mut expect, mut buf) = (Expect::new(), vec![0u8; 64 << 10]);
    while expect.seen < len {
        let n = tcp.read(&mut buf).expect("read");
        assert!(
            n > 0 && expect.check(&buf[..n]),
            "TCP baseline: bytes differ"
        );
    }
}

fn send_tcp(tcp: &mut std::net::TcpStream, len: u64) {
    use std::io::Write;
    let (mut noise, mut left, mut buf) = (Noise::new(), len, vec![0u8; 64 << 10]);
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        noise.fill(&mut buf[..n]);
        tcp.write_all(&buf[..n]).expect("write");
        left -= n as u64;
    }
}

/// The child's work: both ends in this process, peak RSS measured around the exchange.
fn exchange<R: Runtime>() {
    let len = size();
    let tcp = tcp_baseline(len);
    println!(
        "{}: loopback TCP, the same work: {:.1} s, {:.0} MB/s each way",
        R::NAME,
        tcp.as_secs_f64(),
        2.0 * len as f64 / 1e6 / tcp.as_secs_f64()
    );
    let addr = R::serve(ServeOptions::default(), noise_echo(len));
    for deflate in [false, true] {
        let config = match deflate {
            true => ClientConfig::default(),
            false => ClientConfig::default().deflate(None),
        };
        R::block_on(async {
            let url = format!("ws://{addr}/");
            let (mut ws, _) = within::<R, _>("connect", R::connect(request(&url), config))
                .await
                .expect("connect");
            // Peak RSS from here on (Linux: writing 5 to clear_refs resets VmHWM).
            std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
            let before = status_bytes("VmRSS:");
            let start = Instant::now();
            send_noise(&mut ws, len).await.expect("client: send");
            receive_noise(&mut ws, len).await.expect("client: receive");
            let elapsed = start.elapsed();
            let growth = status_bytes("VmHWM:").saturating_sub(before);
            ws.close(None).await.expect("close");
            println!(
                "{}: {len} bytes each way, deflate {deflate}: {:.1} s, {:.0} MB/s each way \
                 ({:.0}% of TCP), peak RSS growth {} KiB",
                R::NAME,
                elapsed.as_secs_f64(),
                2.0 * len as f64 / 1e6 / elapsed.as_secs_f64(),
                100.0 * tcp.as_secs_f64() / elapsed.as_secs_f64(),
                growth >> 10
            );
            assert!(
                growth < MAX_GROWTH,
                "{}: peak RSS grew by {growth} bytes (deflate {deflate})",
                R::NAME
            );
        });
    }
}

fn a_huge_message_streams_both_ways_in_bounded_memory<R: Runtime>() {
    if std::env::var_os(CHILD).is_some() {
        return exchange::<R>();
    }
    let case = format!(
        "{}::a_huge_message_streams_both_ways_in_bounded_memory",
        R::NAME.replace('-', "_")
    );
    let exe = std::env::current_exe().expect("the test binary");
    let output = std::process::Command::new(exe)
        .args([case.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{}: the child failed", R::NAME);
    assert!(
        stdout.contains("1 passed"),
        "{}: the child ran no test",
        R::NAME
    );
}

tests::for_each_runtime!(a_huge_message_streams_both_ways_in_bounded_memory);
