//! Deadlines against a real broken path, on every runtime: the fault relay between client and
//! server stalls the connection (bytes stop both ways, nothing closes) or half-closes it, and
//! keepalive, idle and close timeouts must fire as configured on the side under test, within
//! one second of the configured figure. Intervals are short so the suite stays fast.
//!
//! Each case prints `figure:` lines (run with `--nocapture`) with what it measured: the
//! figures in SECURITY.md's reliability table come from them.

use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tests::fault::{FaultRelay, Faults, Toward};
use tests::{request, within, Handler, Runtime, ServeOptions};
use ws_driver::{
    ClientConfig, Error, Message, ProtocolError, ServerConfig, StreamConfig, Timeout, Transport,
};

const SECOND: Duration = Duration::from_secs(1);
/// How far a measured deadline may be from the configured one.
const SLACK: Duration = Duration::from_secs(1);

/// What the server's connection did, with when it ended.
#[derive(Debug)]
struct Ended {
    at: Instant,
    error: Option<String>,
}

/// The server handler: echoes data messages; on "close" it answers "closing", waits for the
/// test's go, then closes and reports how long `close` took; reports when its stream ends.
fn server_handler<T: Transport + Send + 'static>(
    ended: mpsc::UnboundedSender<Ended>,
    go: Arc<Mutex<Option<oneshot::Receiver<()>>>>,
    closed_in: mpsc::UnboundedSender<Duration>,
) -> Handler<T> {
    Arc::new(move |ws| {
        let (ended, go, closed_in) = (ended.clone(), go.clone(), closed_in.clone());
        Box::pin(async move {
            let Ok(mut ws) = ws else { return };
            let mut error = None;
            while let Some(item) = ws.recv().await {
                match item {
                    Ok(Message::Text(t)) if t.as_str() == "close" => {
                        let _ = ws.send(Message::text("closing")).await;
                        let go = go.lock().unwrap().take();
                        if let Some(go) = go {
                            let _ = go.await;
                        }
                        let start = Instant::now();
                        let _ = ws.close(None).await;
                        let _ = closed_in.unbounded_send(start.elapsed());
                    }
                    Ok(m) if m.is_data() => {
                        let _ = ws.send(m).await;
                    }
                    Ok(_) => {}
                    Err(e) => error = Some(e.to_string()),
                }
            }
            let _ = ended.unbounded_send(Ended {
                at: Instant::now(),
                error,
            });
        })
    })
}

/// A server with `stream` settings behind a fault relay.
struct Setup {
    relay: FaultRelay,
    ended: mpsc::UnboundedReceiver<Ended>,
    go: oneshot::Sender<()>,
    closed_in: mpsc::UnboundedReceiver<Duration>,
}

fn setup<R: Runtime>(stream: StreamConfig) -> Setup {
    let (ended_tx, ended) = mpsc::unbounded();
    let (closed_tx, closed_in) = mpsc::unbounded();
    let (go, go_rx) = oneshot::channel();
    let options = ServeOptions {
        config: ServerConfig::default().stream(stream),
        ..ServeOptions::default()
    };
    let handler = server_handler(ended_tx, Arc::new(Mutex::new(Some(go_rx))), closed_tx);
    let addr = R::serve(options, handler);
    Setup {
        relay: FaultRelay::start(addr, Faults::default()),
        ended,
        go,
        closed_in,
    }
}

fn quiet() -> StreamConfig {
    StreamConfig::default()
        .keepalive_interval(None)
        .keepalive_timeout(SECOND)
}

/// Connects through the relay and echoes one message (so both sides last heard each other now).
async fn connect<R: Runtime>(
    relay: &FaultRelay,
    stream: StreamConfig,
) -> ws_driver::WebSocketStream<R::Client> {
    let url = format!("ws://{}/", relay.addr());
    let config = ClientConfig::default().stream(stream);
    let (mut ws, _) = within::<R, _>("connect", R::connect(request(&url), config))
        .await
        .expect("connect through the relay");
    ws.send(Message::text("hello")).await.expect("send");
    let echo = within::<R, _>("echo", ws.recv()).await;
    assert!(matches!(echo, Some(Ok(ref m)) if *m == Message::text("hello")));
    ws
}

/// Reads until the stream fails; returns the error and when it came.
async fn failure<R: Runtime, T: Transport>(ws: &mut ws_driver::WebSocketStream<T>) -> Error {
    loop {
        match within::<R, _>("failure", ws.recv()).await {
            Some(Ok(_)) => continue,
            Some(Err(e)) => return e,
            None => panic!("{}: the stream ended without an error", R::NAME),
        }
    }
}

fn assert_near<R: Runtime>(what: &str, measured: Duration, configured: Duration) {
    println!(
        "figure: {} {what}: configured {configured:?}, measured {measured:?}",
        R::NAME
    );
    let gap = measured.abs_diff(configured);
    assert!(
        gap <= SLACK,
        "{}: {what} took {measured:?}, configured {configured:?}",
        R::NAME
    );
}

async fn server_end<R: Runtime>(ended: &mut mpsc::UnboundedReceiver<Ended>) -> Ended {
    within::<R, _>("the server's end", ended.next())
        .await
        .expect("server report")
}

fn is_timeout(error: &Error, which: Timeout) -> bool {
    matches!(error, Error::Protocol(ProtocolError::TimedOut(t)) if *t == which)
}

/// Keepalive on the client: a stalled path is detected within interval + pong deadline.
fn client_keepalive_detects_a_stall<R: Runtime>() {
    let (interval, deadline) = (SECOND, SECOND);
    let setup = setup::<R>(quiet());
    R::block_on(async {
        let mut ws = connect::<R>(
            &setup.relay,
            StreamConfig::default()
                .keepalive_interval(Some(interval))
                .keepalive_timeout(deadline),
        )
        .await;
        setup.relay.stall();
        let start = Instant::now();
        let error = failure::<R, _>(&mut ws).await;
        assert!(
            is_timeout(&error, Timeout::Keepalive),
            "{}: {error:?}",
            R::NAME
        );
        assert_near::<R>(
            "client keepalive detection",
            start.elapsed(),
            interval + deadline,
        );
    });
}

/// Keepalive on the server: a client behind a stalled path is dropped within interval + pong
/// deadline.
fn server_keepalive_detects_a_stall<R: Runtime>() {
    let (interval, deadline) = (SECOND, SECOND);
    let mut setup = setup::<R>(
        StreamConfig::default()
            .keepalive_interval(Some(interval))
            .keepalive_timeout(deadline),
    );
    R::block_on(async {
        let _ws = connect::<R>(&setup.relay, quiet()).await;
        setup.relay.stall();
        let start = Instant::now();
        let ended = server_end::<R>(&mut setup.ended).await;
        let error = ended.error.unwrap_or_default();
        assert!(error.contains("keepalive"), "{}: {error}", R::NAME);
        assert_near::<R>(
            "server keepalive detection",
            ended.at - start,
            interval + deadline,
        );
    });
}

/// Idle timeouts on both sides fire on a stalled path.
fn idle_timeouts_fire_on_both_sides<R: Runtime>() {
    let idle = SECOND + SECOND / 2;
    let stream = quiet().idle_timeout(Some(idle));
    let mut setup = setup::<R>(stream.clone());
    R::block_on(async {
        let mut ws = connect::<R>(&setup.relay, stream).await;
        setup.relay.stall();
        let start = Instant::now();
        let error = failure::<R, _>(&mut ws).await;
        assert!(is_timeout(&error, Timeout::Idle), "{}: {error:?}", R::NAME);
        assert_near::<R>("client idle timeout", start.elapsed(), idle);
        let ended = server_end::<R>(&mut setup.ended).await;
        let error = ended.error.unwrap_or_default();
        assert!(error.contains("idle"), "{}: {error}", R::NAME);
        assert_near::<R>("server idle timeout", ended.at - start, idle);
    });
}

/// Close timeouts: a close on a stalled path gives up after the configured time, on the
/// client and on the server.
fn close_timeouts_fire_on_both_sides<R: Runtime>() {
    let close = SECOND;
    let stream = quiet().close_timeout(close);
    let mut setup = setup::<R>(stream.clone());
    R::block_on(async {
        let mut ws = connect::<R>(&setup.relay, stream.clone()).await;
        // The server's close: it answers "closing", then the path stalls, then it closes.
        ws.send(Message::text("close")).await.expect("send");
        let answer = within::<R, _>("closing", ws.recv()).await;
        assert!(matches!(answer, Some(Ok(ref m)) if *m == Message::text("closing")));
        setup.relay.stall();
        let _ = setup.go.send(());
        let took = within::<R, _>("server close", setup.closed_in.next())
            .await
            .expect("server close report");
        assert_near::<R>("server close timeout", took, close);
        // The client's close, on a new stalled connection.
        let mut ws = connect::<R>(&setup.relay, stream).await;
        setup.relay.stall();
        let start = Instant::now();
        let _ = within::<R, _>("client close", ws.close(None)).await;
        assert_near::<R>("client close timeout", start.elapsed(), close);
    });
}

/// Reads until the stream ends or fails; returns how long that took from `start`.
async fn until_end<R: Runtime, T: Transport>(
    ws: &mut ws_driver::WebSocketStream<T>,
    start: Instant,
) -> Duration {
    loop {
        match within::<R, _>("end after FIN", ws.recv()).await {
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return start.elapsed(),
        }
    }
}

/// A half-open path (FIN one way only). Toward the client: the client sees the end at once
/// and closes its side, but the path back is stalled, so the server, still connected but
/// hearing nothing, drops it by keepalive. Toward the server: the server sees the end at once and closes, and the
/// client sees that.
fn half_open_paths_end_both_sides<R: Runtime>() {
    let (interval, deadline) = (SECOND, SECOND);
    let mut setup = setup::<R>(
        StreamConfig::default()
            .keepalive_interval(Some(interval))
            .keepalive_timeout(deadline),
    );
    R::block_on(async {
        let mut ws = connect::<R>(&setup.relay, quiet()).await;
        setup.relay.stall();
        setup.relay.half_close(Toward::Client);
        let start = Instant::now();
        let client = until_end::<R, _>(&mut ws, start).await;
        println!(
            "figure: {} half-open toward the client: client ended in {client:?}",
            R::NAME
        );
        assert!(client < SLACK, "{}: {client:?}", R::NAME);
        let ended = server_end::<R>(&mut setup.ended).await;
        assert_near::<R>(
            "server keepalive on a half-open client",
            ended.at - start,
            interval + deadline,
        );

        let mut ws = connect::<R>(&setup.relay, quiet()).await;
        setup.relay.half_close(Toward::Server);
        let start = Instant::now();
        let ended = server_end::<R>(&mut setup.ended).await;
        let client = until_end::<R, _>(&mut ws, start).await;
        let server = ended.at - start;
        println!(
            "figure: {} half-open toward the server: server ended in {server:?}, client in {client:?}",
            R::NAME
        );
        assert!(
            server < SLACK && client < SLACK,
            "{}: {server:?} {client:?}",
            R::NAME
        );
    });
}

/// The relay itself: a cut reaches both sides as a reset, and chunked delivery with latency
/// keeps every byte in order.
#[test]
fn relay_cuts_with_rst_and_keeps_order() {
    use std::io::{ErrorKind, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let relay = FaultRelay::start(
        listener.local_addr().expect("addr"),
        Faults {
            latency: Duration::from_millis(20),
            jitter: Duration::from_millis(20),
            chunk: Some(3),
            ..Faults::default()
        },
    );
    let mut client = std::net::TcpStream::connect(relay.addr()).expect("connect");
    let (mut server, _) = listener.accept().expect("accept");
    server
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    client.write_all(&data).expect("write");
    let mut got = vec![0; data.len()];
    server.read_exact(&mut got).expect("read through the relay");
    assert_eq!(got, data);
    relay.cut();
    for side in [&mut client, &mut server] {
        match side.read(&mut [0; 16]) {
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
            Ok(n) => panic!("a cut should reset, read {n} bytes"),
        }
    }
}

/// The relay itself: latency applies each way, and the bandwidth limit holds on average.
#[test]
fn relay_delays_and_paces() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let relay = FaultRelay::start(
        listener.local_addr().expect("addr"),
        Faults {
            latency: Duration::from_millis(100),
            ..Faults::default()
        },
    );
    let mut client = std::net::TcpStream::connect(relay.addr()).expect("connect");
    let (mut server, _) = listener.accept().expect("accept");
    server
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // A round trip crosses the latency twice.
    let start = Instant::now();
    client.write_all(b"ping").unwrap();
    server.read_exact(&mut [0; 4]).unwrap();
    server.write_all(b"pong").unwrap();
    client.read_exact(&mut [0; 4]).unwrap();
    let round_trip = start.elapsed();
    assert!(
        round_trip >= Duration::from_millis(200) && round_trip < Duration::from_millis(1200),
        "{round_trip:?}"
    );
    // 512 KiB at 1 MiB/s: half a second, give or take the pacing slice and a busy machine.
    relay.set_faults(Faults {
        bandwidth: Some(1 << 20),
        ..Faults::default()
    });
    let data = vec![7u8; 512 * 1024];
    let writer = std::thread::spawn(move || client.write_all(&data).map(|()| client));
    let start = Instant::now();
    let mut got = vec![0; 512 * 1024];
    server.read_exact(&mut got).unwrap();
    let took = start.elapsed();
    assert!(got.iter().all(|&b| b == 7));
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "{took:?}"
    );
    drop(writer.join().expect("writer"));
}

tests::for_each_runtime!(
    client_keepalive_detects_a_stall,
    server_keepalive_detects_a_stall,
    idle_timeouts_fire_on_both_sides,
    close_timeouts_fire_on_both_sides,
    half_open_paths_end_both_sides,
);
