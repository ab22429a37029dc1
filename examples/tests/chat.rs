//! The chat example driven by our own tokio client: broadcast, names, join and leave notices,
//! permessage-deflate, the HTTP side (page, 404, 426, 431, 403) and the slow-client policy.

mod support;

use examples::chat::{serve, ChatConfig};
use serde_json::json;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use support::{expect_close, next_event, slow_member, STEP};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use ws_tokio::{ClientConfig, CloseCode, Message};

async fn start(config: ChatConfig) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, config));
    addr
}

async fn http(addr: SocketAddr, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    // The server closes after every plain HTTP answer.
    tokio::time::timeout(STEP, tcp.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn two_members_broadcast_with_names_and_notices() {
    let addr = start(ChatConfig::default()).await;
    let (mut alice, response) = ws_tokio::connect(format!("ws://{addr}/ws?name=alice"))
        .await
        .unwrap();
    let extensions = response.headers().get("sec-websocket-extensions").unwrap();
    assert!(extensions
        .to_str()
        .unwrap()
        .starts_with("permessage-deflate"));
    assert_eq!(
        next_event(&mut alice).await,
        json!({"type": "welcome", "name": "alice", "users": ["alice"]})
    );
    assert_eq!(
        next_event(&mut alice).await,
        json!({"type": "join", "name": "alice"})
    );

    let (mut bob, _) = ws_tokio::connect(format!("ws://{addr}/ws?name=B%C3%B6b"))
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut bob).await,
        json!({"type": "welcome", "name": "Böb", "users": ["Böb", "alice"]})
    );
    let join = json!({"type": "join", "name": "Böb"});
    assert_eq!(next_event(&mut bob).await, join);
    assert_eq!(next_event(&mut alice).await, join);

    // Text is trimmed; blank messages go nowhere.
    alice.send(Message::text("   ")).await.unwrap();
    alice.send(Message::text("  hello <all>  ")).await.unwrap();
    let hello = json!({"type": "message", "from": "alice", "text": "hello <all>"});
    assert_eq!(next_event(&mut bob).await, hello);
    assert_eq!(next_event(&mut alice).await, hello);

    // A nameless member gets a guest name; a second "alice" a suffix.
    let (mut guest, _) = ws_tokio::connect(format!("ws://{addr}/ws")).await.unwrap();
    let welcome = next_event(&mut guest).await;
    assert!(welcome["name"].as_str().unwrap().starts_with("guest-"));
    let (mut alice2, _) = ws_tokio::connect(format!("ws://{addr}/ws?name=alice"))
        .await
        .unwrap();
    assert_eq!(next_event(&mut alice2).await["name"], "alice-2");

    bob.close(None).await.unwrap();
    // alice saw the guest and alice-2 join, then bob leave.
    assert_eq!(next_event(&mut alice).await["type"], "join");
    assert_eq!(next_event(&mut alice).await["type"], "join");
    assert_eq!(
        next_event(&mut alice).await,
        json!({"type": "leave", "name": "Böb"})
    );
}

#[tokio::test]
async fn deflate_is_only_used_when_offered() {
    let addr = start(ChatConfig::default()).await;
    let config = ClientConfig::default().deflate(None);
    let (mut plain, response) =
        ws_tokio::connect_with(format!("ws://{addr}/ws?name=plain"), config)
            .await
            .unwrap();
    assert!(response.headers().get("sec-websocket-extensions").is_none());
    assert_eq!(next_event(&mut plain).await["type"], "welcome");
}

#[tokio::test]
async fn http_side() {
    let addr = start(ChatConfig::default()).await;
    let page = http(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("Content-Type: text/html; charset=utf-8\r\n"));
    assert!(page.contains("new WebSocket(url)"));
    assert!(page.contains(r#"id="extensions""#));

    let missing = http(addr, b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{missing}"
    );
    let plain = http(addr, b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        plain.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{plain}"
    );
    assert!(plain.contains("Upgrade: websocket\r\n"));
    let post = http(addr, b"POST / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
    let garbage = http(addr, b"\x16\x03\x01 not http\r\n\r\n").await;
    assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");

    let mut huge = b"GET / HTTP/1.1\r\nX-Filler: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 20_000));
    huge.extend_from_slice(b"\r\n\r\n");
    let too_big = http(addr, &huge).await;
    assert!(too_big.starts_with("HTTP/1.1 431 "), "{too_big}");

    // Another site's page may not join with the user's cookies (RFC 6455 §10.2).
    let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    let cross =
        format!("GET /ws HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://evil.example\r\n{upgrade}\r\n");
    let refused = http(addr, cross.as_bytes()).await;
    assert!(refused.starts_with("HTTP/1.1 403 "), "{refused}");
    let same =
        format!("GET /ws HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n{upgrade}\r\n");
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(same.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    tokio::time::timeout(STEP, tcp.read_exact(&mut head))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&head, b"HTTP/1.1 101");
}

#[tokio::test]
async fn connections_over_the_limit_get_503() {
    let addr = start(ChatConfig::default().max_connections(1)).await;
    let (mut held, _) = ws_tokio::connect(format!("ws://{addr}/ws?name=first"))
        .await
        .unwrap();
    assert_eq!(next_event(&mut held).await["type"], "welcome");
    // The server answers on accept, before any request: read it without sending one.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(STEP, tcp.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    // The slot comes back when the member leaves.
    held.close(None).await.unwrap();
    let page = tokio::time::timeout(STEP, async {
        loop {
            // While the slot is still taken the answer is 503, or a reset when the refused
            // request was still unread: try again.
            let mut tcp = TcpStream::connect(addr).await.unwrap();
            let mut answer = Vec::new();
            let sent = tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
            if sent.is_ok() && tcp.read_to_end(&mut answer).await.is_ok() {
                let page = String::from_utf8_lossy(&answer).into_owned();
                if !page.starts_with("HTTP/1.1 503 ") {
                    return page;
                }
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
}

#[tokio::test]
async fn oversized_message_closes_with_1009() {
    let addr = start(ChatConfig::default().max_message(1024)).await;
    let (mut ws, _) = ws_tokio::connect(format!("ws://{addr}/ws?name=big"))
        .await
        .unwrap();
    ws.send(Message::text("x".repeat(2000))).await.unwrap();
    let frame = loop {
        match tokio::time::timeout(STEP, ws.recv()).await.unwrap() {
            Some(Ok(Message::Text(_))) => continue,
            Some(Ok(Message::Close(Some(frame)))) => break frame,
            other => panic!("expected close 1009, got {other:?}"),
        }
    };
    assert_eq!(frame.code, CloseCode::MESSAGE_TOO_BIG);
}

#[tokio::test]
async fn a_flooding_member_is_closed_with_1008() {
    let addr = start(ChatConfig::default().rate_limit(1, 3)).await;
    let (mut ws, _) = ws_tokio::connect(format!("ws://{addr}/ws?name=flood"))
        .await
        .unwrap();
    for i in 0..10 {
        // The server may close (and the send fail) once the bucket is empty.
        if ws.send(Message::text(format!("{i}"))).await.is_err() {
            break;
        }
    }
    expect_close(&mut ws, CloseCode::POLICY_VIOLATION, "too many messages").await;
}

#[tokio::test]
async fn binary_messages_are_refused_with_1003() {
    let addr = start(ChatConfig::default()).await;
    let (mut ws, _) = ws_tokio::connect(format!("ws://{addr}/ws?name=bin"))
        .await
        .unwrap();
    ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    expect_close(&mut ws, CloseCode::UNSUPPORTED_DATA, "text only").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_stops_reading_is_dropped_and_the_others_go_on() {
    let mut config = ChatConfig::default().queue_len(16).rate_limit(0, 1);
    // Long enough that the close frame gets through once the test reads the slow member.
    config.close_timeout = STEP;
    let addr = start(config).await;
    let no_deflate = || ClientConfig::default().deflate(None);

    // A member that never reads.
    let mut slow = slow_member(addr).await;

    let (mut fast, _) = ws_tokio::connect_with(format!("ws://{addr}/ws?name=fast"), no_deflate())
        .await
        .unwrap();
    assert_eq!(next_event(&mut fast).await["type"], "welcome");
    assert_eq!(next_event(&mut fast).await["type"], "join");

    // Sends in lock step (each message is read back before the next), so `fast` itself keeps
    // up, until the room reports the slow member gone.
    let filler = "x".repeat(2000);
    let mut sent = 0;
    let dropped = loop {
        assert!(sent < 20_000, "the slow member was never dropped");
        let text = format!("{sent} {filler}");
        fast.send(Message::text(text.clone())).await.unwrap();
        sent += 1;
        // `fast` gets its own message back, or first the notice that `slow` is gone.
        let event = next_event(&mut fast).await;
        match event["type"].as_str() {
            Some("message") if event["text"] == text.as_str() => {}
            Some("leave") => break event,
            _ => panic!("unexpected {event}"),
        }
    };
    assert_eq!(
        dropped,
        json!({"type": "leave", "name": "slow", "reason": "too slow"})
    );
    eprintln!("slow member dropped after {sent} messages of 2 kB");

    // The room goes on for the others.
    fast.send(Message::text("still here")).await.unwrap();
    loop {
        let event = next_event(&mut fast).await;
        if event["text"] == "still here" {
            break;
        }
    }

    // The slow member finds, after what was queued for it, close 1008.
    let received = expect_close(
        &mut slow,
        CloseCode::POLICY_VIOLATION,
        "too slow: outgoing queue full",
    )
    .await;
    assert!(received < sent + 3, "{received} events for {sent} messages");
}

#[tokio::test]
async fn the_binary_prints_its_address_first() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_chat"))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the chat example");
    let stdout = server.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).map(|_| line)
    });
    let first = tokio::time::timeout(STEP, first).await;
    let outcome = async {
        let line = first.unwrap().unwrap().unwrap();
        let addr = line
            .trim_end()
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        let (mut ws, _) = ws_tokio::connect(format!("ws://{addr}/ws?name=x"))
            .await
            .unwrap();
        assert_eq!(next_event(&mut ws).await["type"], "welcome");
    };
    let result = tokio::time::timeout(STEP, outcome).await;
    let _ = server.kill();
    let _ = server.wait();
    result.unwrap();

    // Refused before listening: an unknown backplane and a Redis URL that is not one.
    for bad in ["nats://127.0.0.1/", "redis://127.0.0.1:notaport/"] {
        let refused = Command::new(env!("CARGO_BIN_EXE_chat"))
            .args(["127.0.0.1:0", "--backplane", bad])
            .output()
            .unwrap();
        assert!(!refused.status.success(), "{bad}");
        assert!(refused.stdout.is_empty(), "{bad}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("backplane") || stderr.contains("Redis URL"),
            "{stderr}"
        );
    }
}
