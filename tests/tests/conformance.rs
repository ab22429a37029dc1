//! The shared conformance suite: each case is written once, generic over the runtime, and
//! instantiated for tokio, async-std and smol at the bottom of this file.

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use std::io::{Read, Write};
use std::sync::Arc;
use tests::raw::{read_head, UPGRADE_REQUEST};
use tests::{echo_handler, request, within, Handler, Runtime, ServeOptions, TIMEOUT};
use ws_driver::ws_handshake::{Accept, ClientError, Reject};
use ws_driver::{
    http, ClientConfig, CloseCode, CloseFrame, Error, Frame, Message, OpCode, ServerConfig,
    Transport, WebSocketStream,
};

fn echo_server<R: Runtime>() -> String {
    let addr = R::serve(ServeOptions::default(), echo_handler());
    format!("ws://{addr}/echo")
}

async fn connect<R: Runtime>(url: &str) -> WebSocketStream<R::Client> {
    connect_with::<R>(url, ClientConfig::default()).await
}

async fn connect_with<R: Runtime>(url: &str, config: ClientConfig) -> WebSocketStream<R::Client> {
    let (ws, response) = within::<R, _>("connect", R::connect(request(url), config))
        .await
        .unwrap_or_else(|e| panic!("{}: connect failed: {e}", R::NAME));
    assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
    ws
}

async fn recv<R: Runtime, T: Transport>(
    ws: &mut WebSocketStream<T>,
) -> Option<Result<Message, Error>> {
    within::<R, _>("receive", ws.recv()).await
}

/// The next data message, skipping pings and pongs: a keepalive ping may come from either side
/// while a 16 MiB message is being compressed (slow in debug builds) and nothing moves.
async fn recv_data<R: Runtime, T: Transport>(
    ws: &mut WebSocketStream<T>,
) -> Option<Result<Message, Error>> {
    loop {
        match recv::<R, _>(ws).await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => return other,
        }
    }
}

/// A handler that reports each server-side connection's received messages on a channel.
fn recording_handler<T: Transport + Send + 'static>(
    tx: mpsc::UnboundedSender<Result<Message, String>>,
) -> Handler<T> {
    Arc::new(move |ws| {
        let tx = tx.clone();
        Box::pin(async move {
            let mut ws = match ws {
                Ok(ws) => ws,
                Err(e) => return drop(tx.unbounded_send(Err(e.to_string()))),
            };
            while let Some(item) = ws.recv().await {
                let _ = tx.unbounded_send(item.map_err(|e| e.to_string()));
            }
            let _ = tx.unbounded_send(Err(END.to_string()));
        })
    })
}

/// What [`recording_handler`] reports when the server's stream has ended.
const END: &str = "<stream ended>";

fn echo_sizes<R: Runtime>() {
    let url = echo_server::<R>();
    // Both the plain path and the compressed one (negotiated by default).
    for config in [
        ClientConfig::default().deflate(None),
        ClientConfig::default(),
    ] {
        echo_sizes_with::<R>(&url, config);
    }
}

fn echo_sizes_with<R: Runtime>(url: &str, config: ClientConfig) {
    R::block_on(async {
        let mut ws = connect_with::<R>(url, config).await;
        for size in [0usize, 125, 126, 65535, 65536, 1 << 20, 16 << 20] {
            let text: String = (0..size)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            ws.send(Message::text(text.as_str())).await.unwrap();
            match recv_data::<R, _>(&mut ws).await {
                Some(Ok(Message::Text(t))) => assert!(
                    t == text.as_str(),
                    "{}: text of {size} bytes differs",
                    R::NAME
                ),
                other => panic!("{}: text echo of {size}: {other:?}", R::NAME),
            }
            let binary: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            ws.send(Message::binary(binary.clone())).await.unwrap();
            match recv_data::<R, _>(&mut ws).await {
                Some(Ok(Message::Binary(b))) => {
                    assert!(b == binary, "{}: binary of {size} differs", R::NAME)
                }
                other => panic!("{}: binary echo of {size}: {other:?}", R::NAME),
            }
        }
        within::<R, _>("close", ws.close(None)).await.unwrap();
    });
}

fn fragmented_sends<R: Runtime>() {
    let url = echo_server::<R>();
    R::block_on(async {
        let mut ws = connect::<R>(&url).await;
        let parts: [&[u8]; 3] = [b"frag", b"men", "ted \u{1F600}".as_bytes()];
        for (i, part) in parts.iter().enumerate() {
            let opcode = if i == 0 {
                OpCode::Text
            } else {
                OpCode::Continuation
            };
            let frame = Frame {
                opcode,
                fin: i == parts.len() - 1,
                payload: part.to_vec().into(),
            };
            ws.send_frame(frame).await.unwrap();
            if i == 0 {
                // A control frame may come between fragments.
                ws.send(Message::Ping("mid".into())).await.unwrap();
            }
        }
        let mut got = Vec::new();
        while got.len() < 2 {
            got.push(recv::<R, _>(&mut ws).await.unwrap().unwrap());
        }
        assert_eq!(
            got,
            [
                Message::Pong("mid".into()),
                Message::text("fragmented \u{1F600}")
            ],
            "{}",
            R::NAME
        );
        within::<R, _>("close", ws.close(None)).await.unwrap();
    });
}

fn ping_pong_both_ways<R: Runtime>() {
    let (tx, mut rx) = mpsc::unbounded();
    let handler: Handler<R::Server> = Arc::new(move |ws| {
        let tx = tx.clone();
        Box::pin(async move {
            let mut ws = ws.expect("handshake");
            ws.send(Message::Ping("from server".into())).await.unwrap();
            while let Some(item) = ws.recv().await {
                let _ = tx.unbounded_send(item.map_err(|e| e.to_string()));
            }
        })
    });
    let addr = R::serve(ServeOptions::default(), handler);
    R::block_on(async {
        let mut ws = connect::<R>(&format!("ws://{addr}/")).await;
        assert_eq!(
            recv::<R, _>(&mut ws).await.unwrap().unwrap(),
            Message::Ping("from server".into())
        );
        ws.send(Message::Ping("from client".into())).await.unwrap();
        assert_eq!(
            recv::<R, _>(&mut ws).await.unwrap().unwrap(),
            Message::Pong("from client".into())
        );
        // The client answered the server's ping by itself.
        let seen = within::<R, _>("server sees pong", rx.next()).await.unwrap();
        assert_eq!(seen, Ok(Message::Pong("from server".into())), "{}", R::NAME);
        within::<R, _>("close", ws.close(None)).await.unwrap();
    });
}

fn close_started_by_client<R: Runtime>() {
    let (tx, mut rx) = mpsc::unbounded();
    let addr = R::serve(ServeOptions::default(), recording_handler(tx));
    R::block_on(async {
        let mut ws = connect::<R>(&format!("ws://{addr}/")).await;
        let frame = CloseFrame::new(CloseCode::GOING_AWAY, "client leaving");
        within::<R, _>("close", ws.close(Some(frame.clone())))
            .await
            .unwrap();
        let seen = within::<R, _>("server sees close", rx.next())
            .await
            .unwrap();
        assert_eq!(seen, Ok(Message::Close(Some(frame))), "{}", R::NAME);
        // The server's stream then ends cleanly: no error after the close.
        let end = within::<R, _>("server stream ends", rx.next())
            .await
            .unwrap();
        assert_eq!(end, Err(END.to_string()), "{}", R::NAME);
        assert!(ws.send(Message::text("late")).await.is_err());
    });
}

fn close_started_by_server<R: Runtime>() {
    let handler: Handler<R::Server> = Arc::new(|ws| {
        Box::pin(async move {
            let mut ws = ws.expect("handshake");
            ws.close(Some(CloseFrame::new(4000, "server done")))
                .await
                .unwrap();
        })
    });
    let addr = R::serve(ServeOptions::default(), handler);
    R::block_on(async {
        let mut ws = connect::<R>(&format!("ws://{addr}/")).await;
        let got = recv::<R, _>(&mut ws).await.unwrap().unwrap();
        assert_eq!(
            got,
            Message::Close(Some(CloseFrame::new(4000, "server done"))),
            "{}",
            R::NAME
        );
        assert!(
            recv::<R, _>(&mut ws).await.is_none(),
            "{}: stream ends after the close",
            R::NAME
        );
    });
}

fn subprotocol_negotiation<R: Runtime>() {
    let options = ServeOptions {
        hook: Some(Arc::new(|req: &http::Request<()>| {
            assert_eq!(req.uri().path(), "/chat");
            assert_eq!(req.uri().query(), Some("room=1"));
            Ok(Accept::default().protocol("superchat"))
        })),
        ..ServeOptions::default()
    };
    let addr = R::serve(options, echo_handler());
    R::block_on(async {
        let mut req = request(&format!("ws://{addr}/chat?room=1"));
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            http::HeaderValue::from_static("chat, superchat"),
        );
        let (mut ws, response) =
            within::<R, _>("connect", R::connect(req, ClientConfig::default()))
                .await
                .unwrap();
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "superchat",
            "{}",
            R::NAME
        );
        within::<R, _>("close", ws.close(None)).await.unwrap();
    });
}

fn rejection_reaches_the_client<R: Runtime>() {
    let options = ServeOptions {
        hook: Some(Arc::new(|_: &http::Request<()>| {
            Err(Reject::new(http::StatusCode::FORBIDDEN).body("no entry"))
        })),
        ..ServeOptions::default()
    };
    let addr = R::serve(options, Arc::new(|_| Box::pin(async {})));
    R::block_on(async {
        let result = within::<R, _>(
            "connect",
            R::connect(request(&format!("ws://{addr}/")), ClientConfig::default()),
        )
        .await;
        match result {
            Err(Error::ClientHandshake(ClientError::Rejected { response })) => {
                assert_eq!(response.status(), http::StatusCode::FORBIDDEN);
                assert_eq!(response.body().as_slice(), b"no entry", "{}", R::NAME);
            }
            other => panic!(
                "{}: expected a 403 rejection, got {:?}",
                R::NAME,
                other.map(|_| ())
            ),
        }
    });
}

fn wss_echo<R: Runtime>() {
    let pki = tests::tls::test_pki();
    let options = ServeOptions {
        tls: Some(pki.server.clone()),
        ..ServeOptions::default()
    };
    let addr = R::serve(options, echo_handler());
    R::block_on(async {
        let config = ClientConfig::default().tls(pki.client.clone());
        let url = format!("wss://localhost:{}/secure", addr.port());
        let (mut ws, _) = within::<R, _>("connect", R::connect(request(&url), config))
            .await
            .unwrap();
        for size in [5usize, 70_000] {
            let payload = vec![0x5a; size];
            ws.send(Message::binary(payload.clone())).await.unwrap();
            assert_eq!(
                recv::<R, _>(&mut ws).await.unwrap().unwrap(),
                Message::binary(payload)
            );
        }
        within::<R, _>("close", ws.close(None)).await.unwrap();
        // A client that does not trust the server's CA refuses it.
        let untrusted = R::connect(request(&url), ClientConfig::default());
        assert!(
            within::<R, _>("untrusted", untrusted).await.is_err(),
            "{}",
            R::NAME
        );
    });
}

fn message_over_limit_is_1009<R: Runtime>() {
    let options = ServeOptions {
        config: ServerConfig::default().max_message_size(1000),
        ..ServeOptions::default()
    };
    let addr = R::serve(options, echo_handler());
    R::block_on(async {
        let mut ws = connect::<R>(&format!("ws://{addr}/")).await;
        ws.send(Message::binary(vec![1u8; 1000])).await.unwrap();
        assert_eq!(recv::<R, _>(&mut ws).await.unwrap().unwrap().len(), 1000);
        ws.send(Message::binary(vec![1u8; 1001])).await.unwrap();
        match recv::<R, _>(&mut ws).await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::MESSAGE_TOO_BIG)
            }
            other => panic!("{}: expected close 1009, got {other:?}", R::NAME),
        }
        assert!(recv::<R, _>(&mut ws).await.is_none());
    });
}

fn invalid_utf8_is_1007<R: Runtime>() {
    let url = echo_server::<R>();
    R::block_on(async {
        let mut ws = connect::<R>(&url).await;
        // The frame API does not validate outgoing text, so it can send what a broken peer would.
        let frame = Frame {
            opcode: OpCode::Text,
            fin: true,
            payload: vec![b'o', b'k', 0xff].into(),
        };
        ws.send_frame(frame).await.unwrap();
        match recv::<R, _>(&mut ws).await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::INVALID_PAYLOAD)
            }
            other => panic!("{}: expected close 1007, got {other:?}", R::NAME),
        }
    });
}

fn split_halves_concurrently<R: Runtime>() {
    let url = echo_server::<R>();
    R::block_on(async {
        let ws = connect::<R>(&url).await;
        let (mut sink, mut reader) = ws.split();
        const N: usize = 500;
        let (done_tx, done_rx) = futures::channel::oneshot::channel();
        R::spawn(async move {
            for i in 0..N {
                sink.send(Message::text(format!("message {i}")))
                    .await
                    .unwrap();
            }
            let _ = done_tx.send(sink);
        });
        for i in 0..N {
            let got = within::<R, _>("echo", reader.next())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got, Message::text(format!("message {i}")), "{}", R::NAME);
        }
        let sink = within::<R, _>("writer done", done_rx).await.unwrap();
        let mut ws = reader
            .reunite(sink)
            .unwrap_or_else(|_| panic!("halves of one stream"));
        within::<R, _>("close", ws.close(None)).await.unwrap();
    });
}

fn abrupt_eof_is_abnormal_closure<R: Runtime>() {
    let handler: Handler<R::Server> = Arc::new(|ws| {
        Box::pin(async move {
            // Dropping the stream closes TCP without a closing handshake.
            drop(ws);
        })
    });
    let addr = R::serve(ServeOptions::default(), handler);
    R::block_on(async {
        let mut ws = connect::<R>(&format!("ws://{addr}/")).await;
        match recv::<R, _>(&mut ws).await {
            Some(Err(Error::Protocol(e))) => assert_eq!(e.close_code(), CloseCode::ABNORMAL),
            other => panic!("{}: expected an abnormal closure, got {other:?}", R::NAME),
        }
        assert!(
            recv::<R, _>(&mut ws).await.is_none(),
            "{}: reported once",
            R::NAME
        );
    });
}

/// A protocol error while the peer is still sending: the server answers what came before the
/// error (the echo), sends 1002, and drains what the peer still sends before letting the
/// socket go. Closing a socket with the peer's bytes unread makes the kernel reset the
/// connection, which discards frames queued but not yet sent (Autobahn case 3.4 once lost its
/// echo and close frame that way under load) and shows the peer a reset instead of an end.
fn protocol_error_drains_before_closing<R: Runtime>() {
    let addr = R::serve(ServeOptions::default(), echo_handler());
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    tcp.write_all(UPGRADE_REQUEST).unwrap();
    let head = read_head(&mut tcp).expect("a response head");
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", R::NAME);
    // "hello" masked with an all-zero key, then a binary frame with RSV1 set (no extension was
    // negotiated) announcing 64 KiB, and the 64 KiB: far more than one read takes.
    let mut bytes = vec![0x81, 0x85, 0, 0, 0, 0];
    bytes.extend_from_slice(b"hello");
    bytes.extend_from_slice(&[0xc2, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    bytes.resize(bytes.len() + 65536, 0);
    tcp.write_all(&bytes).expect("the server keeps reading");
    let mut received = Vec::new();
    tcp.read_to_end(&mut received)
        .unwrap_or_else(|e| panic!("{}: expected a clean end of stream, got {e}", R::NAME));
    assert_eq!(&received[..7], b"\x81\x05hello", "{}: the echo", R::NAME);
    assert_eq!(received[7], 0x88, "{}: then a close frame", R::NAME);
    assert_eq!(
        u16::from_be_bytes([received[9], received[10]]),
        1002,
        "{}: protocol error",
        R::NAME
    );
}

/// After the closing handshake the server shuts down its write side (TCP FIN, RFC 6455 §7.1.1)
/// even while the application still holds the stream: the client sees the end of the stream
/// at once, not when the server drops it. (async-std's TCP stream only flushes when closed:
/// its adapter shuts the socket's write side down itself.)
fn server_sends_fin_while_the_stream_is_held<R: Runtime>() {
    let handler: Handler<R::Server> = Arc::new(|ws| {
        Box::pin(async move {
            let Ok(mut ws) = ws else { return };
            while ws.recv().await.is_some() {}
            // Held, never dropped: only a shutdown can end the client's stream.
            futures::future::pending::<()>().await;
            drop(ws);
        })
    });
    let addr = R::serve(ServeOptions::default(), handler);
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    tcp.write_all(UPGRADE_REQUEST).unwrap();
    let head = read_head(&mut tcp).expect("a response head");
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", R::NAME);
    // A close frame with code 1000, masked with an all-zero key.
    tcp.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])
        .unwrap();
    let mut received = Vec::new();
    tcp.read_to_end(&mut received)
        .unwrap_or_else(|e| panic!("{}: expected the server's FIN, got {e}", R::NAME));
    assert_eq!(
        received,
        [0x88, 0x02, 0x03, 0xe8],
        "{}: the close echo",
        R::NAME
    );
}

/// A stream yields whole messages: settings that turn reassembly off are refused before any
/// connection is made, instead of being overridden without a word.
fn reassembly_off_is_refused<R: Runtime>() {
    let url = echo_server::<R>();
    // Only a whole core configuration assigned by hand can turn it off: no setter does.
    let mut config = ClientConfig::default();
    config.stream.protocol = ws_driver::ws_proto::Config::default().reassemble(false);
    R::block_on(async {
        match within::<R, _>("connect", R::connect(request(&url), config)).await {
            Err(Error::ReassembleOff) => {}
            Err(e) => panic!("{}: expected ReassembleOff, got {e}", R::NAME),
            Ok(_) => panic!("{}: connected with reassembly off", R::NAME),
        }
    });
}

fn sink_and_stream_traits<R: Runtime>() {
    let url = echo_server::<R>();
    R::block_on(async {
        let mut ws = connect::<R>(&url).await;
        // `Sink::send_all` with backpressure from the bounded write buffer.
        let mut messages =
            futures::stream::iter((0..200).map(|i| Ok(Message::binary(vec![i as u8; 4096]))));
        within::<R, _>("send_all", ws.send_all(&mut messages))
            .await
            .unwrap();
        for i in 0..200 {
            let got = within::<R, _>("next", ws.next()).await.unwrap().unwrap();
            assert_eq!(got, Message::binary(vec![i as u8; 4096]));
        }
        within::<R, _>("sink close", SinkExt::close(&mut ws))
            .await
            .unwrap();
        let got = within::<R, _>("close reply", ws.next())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(got, Message::Close(_)), "{}: {got:?}", R::NAME);
    });
}

/// A client of runtime `C` against a server of runtime `S`.
fn cross<C: Runtime, S: Runtime>() {
    let addr = S::serve(ServeOptions::default(), echo_handler());
    C::block_on(async {
        let mut ws = connect::<C>(&format!("ws://{addr}/")).await;
        let text = format!("{} client, {} server", C::NAME, S::NAME);
        ws.send(Message::text(text.as_str())).await.unwrap();
        assert_eq!(
            recv::<C, _>(&mut ws).await.unwrap().unwrap(),
            Message::text(text.as_str())
        );
        within::<C, _>("close", ws.close(None)).await.unwrap();
    });
}

fn cross_runtime_pairs<R: Runtime>() {
    use tests::runtimes::{AsyncStd, Smol, Tokio};
    cross::<R, Tokio>();
    cross::<R, AsyncStd>();
    cross::<R, Smol>();
}

tests::for_each_runtime!(
    echo_sizes,
    fragmented_sends,
    ping_pong_both_ways,
    close_started_by_client,
    close_started_by_server,
    subprotocol_negotiation,
    rejection_reaches_the_client,
    wss_echo,
    message_over_limit_is_1009,
    invalid_utf8_is_1007,
    split_halves_concurrently,
    abrupt_eof_is_abnormal_closure,
    protocol_error_drains_before_closing,
    server_sends_fin_while_the_stream_is_held,
    reassembly_off_is_refused,
    sink_and_stream_traits,
    cross_runtime_pairs,
);
