//! Deadlines on every runtime: keepalive, idle timeout, closing-handshake timeout and opening
//! handshake timeout. The core decides (ws-proto's timers); each adapter only arms its timer.
//! Peers that misbehave on purpose are raw blocking TCP sockets with bounded read timeouts.

use futures::channel::mpsc;
use futures::StreamExt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::raw::{answer_upgrade, read_head, UPGRADE_REQUEST};
use tests::{echo_handler, request, within, Handler, Runtime, ServeOptions};
use ws_driver::{
    ClientConfig, CloseCode, Error, Message, ProtocolError, ServerConfig, StreamConfig, Timeout,
};

const MS: Duration = Duration::from_millis(1);

/// The longest any raw-socket read below may block.
const READ_BOUND: Duration = Duration::from_secs(20);

/// Server-side outcomes, reported by [`reporting_handler`]; the payloads show in failures.
#[allow(dead_code)]
#[derive(Debug)]
enum Seen {
    Message(Message),
    Error(String),
    HandshakeError(String),
    Ended(Duration),
}

fn reporting_handler<T: ws_driver::Transport + Send + 'static>(
    tx: mpsc::UnboundedSender<Seen>,
) -> Handler<T> {
    Arc::new(move |ws| {
        let tx = tx.clone();
        Box::pin(async move {
            let mut ws = match ws {
                Ok(ws) => ws,
                Err(e) => return drop(tx.unbounded_send(Seen::HandshakeError(e.to_string()))),
            };
            let start = Instant::now();
            while let Some(item) = ws.recv().await {
                let _ = tx.unbounded_send(match item {
                    Ok(m) => Seen::Message(m),
                    Err(e) => Seen::Error(e.to_string()),
                });
            }
            let _ = tx.unbounded_send(Seen::Ended(start.elapsed()));
        })
    })
}

fn server_with(stream: StreamConfig) -> ServerConfig {
    ServerConfig::default().stream(stream)
}

/// Opens a raw TCP connection and completes the opening handshake by hand; the caller then
/// plays a peer that does whatever the case needs (usually nothing at all).
fn raw_client(addr: SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(READ_BOUND)).unwrap();
    tcp.write_all(UPGRADE_REQUEST).unwrap();
    let head = read_head(&mut tcp).expect("EOF or error in response");
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp
}

/// Reads until EOF (bounded by READ_BOUND per read), returning everything read.
fn read_to_eof(tcp: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return all,
            Err(e) => panic!("expected the server to close the connection: {e}"),
        }
    }
}

fn next_seen<R: Runtime>(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    R::block_on(within::<R, _>("server report", rx.next())).expect("server reports")
}

/// A quiet client that answers pings stays connected: the server pings it on schedule.
fn keepalive_keeps_a_quiet_peer<R: Runtime>() {
    let stream = StreamConfig::default()
        .keepalive_interval(Some(50 * MS))
        .keepalive_timeout(Duration::from_secs(5));
    let options = ServeOptions {
        config: server_with(stream),
        ..ServeOptions::default()
    };
    let addr = R::serve(options, echo_handler());
    R::block_on(async {
        let config = ClientConfig::default().stream(
            StreamConfig::default()
                .keepalive_interval(None)
                .keepalive_timeout(MS),
        );
        let (mut ws, _) = within::<R, _>(
            "connect",
            R::connect(request(&format!("ws://{addr}/")), config),
        )
        .await
        .unwrap();
        for _ in 0..3 {
            let got = within::<R, _>("keepalive ping", ws.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got, Message::Ping(Default::default()), "{}", R::NAME);
        }
        ws.send(Message::text("still here")).await.unwrap();
        loop {
            match within::<R, _>("echo", ws.recv()).await.unwrap().unwrap() {
                Message::Ping(_) => continue,
                got => break assert_eq!(got, Message::text("still here"), "{}", R::NAME),
            }
        }
        within::<R, _>("close", ws.close(None)).await.unwrap();
    });
}

/// A peer that stops answering is dropped once the pong deadline passes.
fn keepalive_drops_a_dead_peer<R: Runtime>() {
    let (tx, mut rx) = mpsc::unbounded();
    let stream = StreamConfig::default()
        .keepalive_interval(Some(50 * MS))
        .keepalive_timeout(150 * MS);
    let options = ServeOptions {
        config: server_with(stream),
        ..ServeOptions::default()
    };
    let addr = R::serve(options, reporting_handler(tx));
    let mut tcp = raw_client(addr);
    // Never answer: what arrives is the keepalive ping, then 1001 and the end of the stream.
    let bytes = read_to_eof(&mut tcp);
    assert_eq!(
        &bytes[..2],
        &[0x89, 0x00],
        "{}: a ping first: {bytes:?}",
        R::NAME
    );
    assert_eq!(
        &bytes[2..6],
        &[0x88, 19, 0x03, 0xe9],
        "{}: then 1001: {bytes:?}",
        R::NAME
    );
    match next_seen::<R>(&mut rx) {
        Seen::Error(e) => assert!(e.contains("keepalive timeout"), "{}: {e}", R::NAME),
        other => panic!("{}: expected a keepalive timeout, got {other:?}", R::NAME),
    }
    assert!(matches!(next_seen::<R>(&mut rx), Seen::Ended(_)));
}

/// With an idle timeout, a silent connection is closed with 1001 Going Away.
fn idle_timeout_closes_with_1001<R: Runtime>() {
    let stream = StreamConfig::default()
        .keepalive_interval(None)
        .keepalive_timeout(MS)
        .idle_timeout(Some(100 * MS));
    let options = ServeOptions {
        config: server_with(stream),
        ..ServeOptions::default()
    };
    let addr = R::serve(options, echo_handler());
    R::block_on(async {
        // The server's idle clock starts after the handshake, so after this.
        let start = Instant::now();
        let (mut ws, _) = within::<R, _>(
            "connect",
            R::connect(request(&format!("ws://{addr}/")), ClientConfig::default()),
        )
        .await
        .unwrap();
        match within::<R, _>("idle close", ws.recv()).await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::GOING_AWAY, "{}", R::NAME);
                assert_eq!(frame.reason.as_str(), "idle timeout");
            }
            other => panic!("{}: expected an idle close, got {other:?}", R::NAME),
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= 100 * MS,
            "{}: not before the deadline: {elapsed:?}",
            R::NAME
        );
        assert!(within::<R, _>("end", ws.recv()).await.is_none());
    });
}

/// A peer that never answers our close frame is disconnected after the close timeout, and
/// `close` says so.
fn close_timeout_bounds_the_closing_handshake<R: Runtime>() {
    let (tx, mut rx) = mpsc::unbounded();
    let handler: Handler<R::Server> = Arc::new(move |ws| {
        let tx = tx.clone();
        Box::pin(async move {
            let mut ws = ws.expect("handshake");
            let start = Instant::now();
            let result = ws.close(None).await;
            let _ = tx.unbounded_send((result.map_err(|e| e.to_string()), start.elapsed()));
        })
    });
    let stream = StreamConfig::default().close_timeout(200 * MS);
    let options = ServeOptions {
        config: server_with(stream),
        ..ServeOptions::default()
    };
    let addr = R::serve(options, handler);
    let mut tcp = raw_client(addr);
    let bytes = read_to_eof(&mut tcp);
    assert_eq!(
        bytes,
        [0x88, 0x00],
        "{}: the close frame, then EOF",
        R::NAME
    );
    let (result, elapsed) = R::block_on(within::<R, _>("close result", rx.next())).unwrap();
    assert_eq!(result, Err(Error::CloseTimeout.to_string()), "{}", R::NAME);
    assert!(elapsed >= 200 * MS, "{}: closed after {elapsed:?}", R::NAME);
}

/// A client that sends part of its request and stalls is dropped after the handshake timeout.
fn handshake_timeout_drops_a_stalled_client<R: Runtime>() {
    let (tx, mut rx) = mpsc::unbounded();
    let config = ServerConfig::default().handshake_timeout(150 * MS);
    let options = ServeOptions {
        config,
        ..ServeOptions::default()
    };
    let addr = R::serve(options, reporting_handler(tx));
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(READ_BOUND)).unwrap();
    let start = Instant::now();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n")
        .unwrap();
    let bytes = read_to_eof(&mut tcp);
    assert!(start.elapsed() >= 150 * MS, "{}", R::NAME);
    assert!(!bytes.starts_with(b"HTTP/1.1 101"), "{}", R::NAME);
    match next_seen::<R>(&mut rx) {
        Seen::HandshakeError(e) => assert!(e.contains("timed out"), "{}: {e}", R::NAME),
        other => panic!("{}: expected a handshake timeout, got {other:?}", R::NAME),
    }
}

/// A client's keepalive detects a server that stopped answering, and the error is typed.
fn client_keepalive_reports_a_typed_timeout<R: Runtime>() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // A server that completes the handshake and then neither reads nor writes.
    let server = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(READ_BOUND)).unwrap();
        answer_upgrade(&mut tcp);
        // Hold the connection open, silent, until the client gives up on it.
        let _ = read_to_eof(&mut tcp);
    });
    R::block_on(async {
        let config = ClientConfig::default().deflate(None).stream(
            StreamConfig::default()
                .keepalive_interval(Some(50 * MS))
                .keepalive_timeout(150 * MS),
        );
        let (mut ws, _) = within::<R, _>(
            "connect",
            R::connect(request(&format!("ws://{addr}/")), config),
        )
        .await
        .unwrap();
        match within::<R, _>("keepalive", ws.recv()).await {
            Some(Err(Error::Protocol(ProtocolError::TimedOut(Timeout::Keepalive)))) => {}
            other => panic!("{}: expected a keepalive timeout, got {other:?}", R::NAME),
        }
        assert!(within::<R, _>("end", ws.recv()).await.is_none());
    });
    server.join().unwrap();
}

tests::for_each_runtime!(
    keepalive_keeps_a_quiet_peer,
    keepalive_drops_a_dead_peer,
    idle_timeout_closes_with_1001,
    close_timeout_bounds_the_closing_handshake,
    handshake_timeout_drops_a_stalled_client,
    client_keepalive_reports_a_typed_timeout,
);
