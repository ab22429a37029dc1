//! The graceful-shutdown example, run as a process: on SIGINT every client gets 1001 Going
//! Away, the server waits for their closes and exits cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use ws_tokio::{CloseCode, Message};

const BOUND: Duration = Duration::from_secs(30);

#[tokio::test]
async fn ctrl_c_sends_going_away_and_exits() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_graceful-server-tokio"))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the example");
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("listening on ")
        .expect("address line")
        .to_string();

    let mut clients = Vec::new();
    for i in 0..3 {
        let (mut ws, _) = ws_tokio::connect(format!("ws://{addr}/")).await.unwrap();
        ws.send(Message::text(format!("hello {i}"))).await.unwrap();
        let echo = tokio::time::timeout(BOUND, ws.recv())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(echo, Message::text(format!("hello {i}")));
        clients.push(ws);
    }

    let status = Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    for ws in &mut clients {
        match tokio::time::timeout(BOUND, ws.recv()).await.unwrap() {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::GOING_AWAY);
                assert_eq!(frame.reason.as_str(), "server shutting down");
            }
            other => panic!("expected 1001, got {other:?}"),
        }
        // Our reply went out; the server then closes TCP and the stream ends.
        assert!(tokio::time::timeout(BOUND, ws.recv())
            .await
            .unwrap()
            .is_none());
    }

    let exit = tokio::task::spawn_blocking(move || {
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        (server.wait().unwrap(), rest)
    });
    let (status, rest) = tokio::time::timeout(BOUND, exit).await.unwrap().unwrap();
    assert!(status.success(), "exit status {status}");
    assert_eq!(rest, ["shutting down: closing 3 connection(s)", "bye"]);
}
