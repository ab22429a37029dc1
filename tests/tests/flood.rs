//! Issue 15, item 1: a peer that floods frames calling for an answer (pings, data an echo
//! server sends back) and never reads cannot grow a server connection's memory: its queued
//! output stays within the write buffer limit plus a frame, the flooder is back-pressured
//! (the server stops reading), and other connections are served meanwhile.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use tests::raw::{read_head, UPGRADE_REQUEST};
use tests::{echo_session, Handler, Runtime, ServeOptions};
use ws_driver::{Error, Message, ProtocolError, ServerConfig, StreamConfig, Timeout, Transport};

/// What a flooder tries to send.
const FLOOD: usize = 256 << 20;
/// The bound the issue sets on a flooded connection's queued output.
const BOUND: usize = 16 << 20;
/// A write that takes no byte for this long means the server stopped reading.
const STALL: Duration = Duration::from_secs(1);

/// An echo handler that records the most output any of its connections had queued, after
/// each message received and each echo sent, and reports on `ended` how a connection's stream
/// ended (its error, if any).
fn measuring_echo<T: Transport + Send + 'static>(
    max_queued: Arc<AtomicUsize>,
    ended: mpsc::Sender<Option<Error>>,
) -> Handler<T> {
    Arc::new(move |ws| {
        let (max_queued, ended) = (max_queued.clone(), ended.clone());
        Box::pin(async move {
            let Ok(mut ws) = ws else { return };
            let end = loop {
                let message = match ws.recv().await {
                    Some(Ok(message)) => message,
                    Some(Err(e)) => break Some(e),
                    None => break None,
                };
                max_queued.fetch_max(ws.buffered_output(), Ordering::Relaxed);
                if message.is_data() {
                    if let Err(e) = ws.send(message).await {
                        break Some(e);
                    }
                }
                max_queued.fetch_max(ws.buffered_output(), Ordering::Relaxed);
            };
            let _ = ended.send(end);
        })
    })
}

/// One masked client frame.
fn masked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x11, 0x22, 0x33, 0x44];
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&key);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    frame
}

/// Opens a raw WebSocket connection to `addr` and writes `frame` over and over, in writes of
/// about 1 MiB, never reading, until [`FLOOD`] bytes went out or a write stalls. Returns how
/// many bytes went out, and the socket (kept open so the server stays flooded).
fn flood(addr: std::net::SocketAddr, frame: &[u8]) -> (usize, TcpStream) {
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.write_all(UPGRADE_REQUEST).expect("send the handshake");
    let head = read_head(&mut tcp).expect("handshake response");
    assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
    let batch = frame.repeat(((1 << 20) / frame.len()).max(1));
    tcp.set_write_timeout(Some(STALL)).expect("timeout");
    let mut sent = 0;
    while sent < FLOOD {
        // Resume where a partial write stopped, so that frames stay whole.
        match tcp.write(&batch[sent % batch.len()..]) {
            Ok(n) if n > 0 => sent += n,
            _ => break,
        }
    }
    (sent, tcp)
}

/// A server with `config` whose connections echo and record their queued output.
struct Measured {
    addr: std::net::SocketAddr,
    max_queued: Arc<AtomicUsize>,
    ended: mpsc::Receiver<Option<Error>>,
}

fn measured_server<R: Runtime>(config: ServerConfig) -> Measured {
    let max_queued = Arc::new(AtomicUsize::new(0));
    let (tx, ended) = mpsc::channel();
    let options = ServeOptions {
        config,
        ..ServeOptions::default()
    };
    let addr = R::serve(options, measuring_echo(max_queued.clone(), tx));
    Measured {
        addr,
        max_queued,
        ended,
    }
}

fn flood_with<R: Runtime>(frame: Vec<u8>, what: &str) {
    let config = ServerConfig::default().deflate(None);
    let server = measured_server::<R>(config.clone());
    let addr = server.addr;
    let (sent, _flooder) = flood(addr, &frame);
    let queued = server.max_queued.load(Ordering::Relaxed);
    eprintln!(
        "{}: {what} flood: {} MiB sent before the server stopped reading, at most {queued} \
         bytes queued",
        R::NAME,
        sent >> 20
    );
    let limit = config.stream.protocol.write_buffer_limit;
    assert!(queued < BOUND, "{}: {queued} bytes queued", R::NAME);
    assert!(
        queued <= limit + frame.len(),
        "{}: {queued} bytes queued, limit {limit}",
        R::NAME
    );
    assert!(
        sent < FLOOD,
        "{}: the server read all {} MiB while its output was full",
        R::NAME,
        FLOOD >> 20
    );
    // The flooder is still connected and stalled: others are served as usual.
    R::block_on(async {
        let url = format!("ws://{addr}/");
        echo_session::<R>(&url, Default::default(), &[Message::text("still served")]).await;
    });
}

fn a_ping_flood_is_back_pressured<R: Runtime>() {
    flood_with::<R>(masked_frame(0x9, &[b'p'; 125]), "ping");
}

fn an_echo_flood_is_back_pressured<R: Runtime>() {
    flood_with::<R>(masked_frame(0x2, &[7u8; 64 << 10]), "echoed data");
}

/// While the server does not read a flooder, its deadlines still run: a keepalive ping the
/// flooder never lets through fails the connection, and the socket is closed.
fn a_stalled_flooder_is_dropped_by_the_keepalive<R: Runtime>() {
    let keepalive = StreamConfig::default()
        .keepalive_interval(Some(Duration::from_secs(1)))
        .keepalive_timeout(STALL);
    let config = ServerConfig::default().deflate(None).stream(keepalive);
    let server = measured_server::<R>(config);
    let start = Instant::now();
    // The flooder never reads, before or after it stalls.
    let (sent, _flooder) = flood(server.addr, &masked_frame(0x9, &[b'p'; 125]));
    assert!(sent < FLOOD, "{}: never back-pressured", R::NAME);
    match server.ended.recv_timeout(Duration::from_secs(20)) {
        Ok(Some(Error::Protocol(ProtocolError::TimedOut(Timeout::Keepalive)))) => {}
        Ok(other) => panic!("{}: the connection ended with {other:?}", R::NAME),
        Err(_) => panic!(
            "{}: the server kept a connection that reads nothing for {:?}",
            R::NAME,
            start.elapsed()
        ),
    }
}

tests::for_each_runtime!(
    a_ping_flood_is_back_pressured,
    an_echo_flood_is_back_pressured,
    a_stalled_flooder_is_dropped_by_the_keepalive
);
