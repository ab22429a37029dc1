//! End-to-end tests of the `wsx` binary: every test runs the built executable against a
//! `wsx serve` or an in-test server on 127.0.0.1 with port 0. Every wait is bounded by
//! [`TIMEOUT`]; readiness comes from the programs' own output ("listening on", "connected").
#![forbid(unsafe_code)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::*;
use ws_tokio::{http, Accept, CloseFrame, Message, Reject, ServerConfig};

#[test]
fn help_documents_exit_codes_and_binary_format() {
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, 0);
    let help = stdout.join("\n");
    assert!(help.contains("Exit codes"), "{help}");
    let (code, stdout, _) = run(&["connect", "--help"]);
    assert_eq!(code, 0);
    let help = stdout.join("\n");
    assert!(help.contains("hex"), "{help}");
    assert!(help.contains("abnormal close"), "{help}");
}

#[test]
fn echo_round_trip_then_normal_close() {
    let (_server, addr) = Wsx::serve(&["--echo"]);
    let mut client = Wsx::start(&["connect", &format!("ws://{addr}/")]);
    client.write("hello\nwörld\n\nlast line\n");
    client.close_stdin();
    let (code, stdout, stderr) = client.finish();
    assert_eq!(stdout, ["hello", "wörld", "", "last line"], "{stderr}");
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn binary_lines_are_printed_as_hex() {
    let (_server, addr) = Wsx::serve(&[]);
    let mut client = Wsx::start(&["connect", "--binary", &format!("ws://{addr}")]);
    client.write("hi\r\n\u{1}\u{ff}\n");
    client.close_stdin();
    let (code, stdout, stderr) = client.finish();
    assert_eq!(stdout, ["6869", "01c3bf"], "{stderr}");
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn broadcast_reaches_every_client() {
    let (_server, addr) = Wsx::serve(&["--broadcast"]);
    let url = format!("ws://{addr}/");
    let mut alice = Wsx::start(&["connect", &url]);
    let mut bob = Wsx::start(&["connect", &url]);
    alice.stderr.wait_for("connected");
    bob.stderr.wait_for("connected");
    alice.write("from alice\n");
    assert_eq!(alice.stdout.next().as_deref(), Some("from alice"));
    assert_eq!(bob.stdout.next().as_deref(), Some("from alice"));
    bob.write("from bob\n");
    assert_eq!(alice.stdout.next().as_deref(), Some("from bob"));
    assert_eq!(bob.stdout.next().as_deref(), Some("from bob"));
    alice.close_stdin();
    bob.close_stdin();
    let (code, _, stderr) = alice.finish();
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = bob.finish();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn refused_upgrade_exits_3_with_status_and_body() {
    let addr = in_test_server(|tcp| async move {
        let refuse = |_: &http::Request<()>| -> Result<Accept, Reject> {
            Err(Reject::new(http::StatusCode::FORBIDDEN).body("no entry for you"))
        };
        let _ = ws_tokio::accept_with(tcp, refuse, ServerConfig::default()).await;
    });
    let (code, stdout, stderr) = run(&["connect", &format!("ws://{addr}/")]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stdout.is_empty(), "{stdout:?}");
    assert!(stderr.contains("403"), "{stderr}");
    assert!(stderr.contains("no entry for you"), "{stderr}");
}

#[test]
fn connection_refused_exits_2() {
    // A port that was free a moment ago: nothing listens on it any more.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (code, _, stderr) = run(&["connect", &format!("ws://{addr}/")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot connect"), "{stderr}");
}

#[test]
fn invalid_url_and_options_exit_1() {
    for args in [
        &["connect", "http://127.0.0.1:1/"][..],
        &["connect", "ws://"],
        &["connect", "not a url"],
        &["connect", "ws://127.0.0.1:1/", "--header", "no colon here"],
        &["connect", "ws://127.0.0.1:1/", "--no-such-option"],
        &["serve", "127.0.0.1:0", "--echo", "--broadcast"],
        &["serve", "127.0.0.1:0", "--tls-cert", "only-cert.pem"],
    ] {
        let (code, _, stderr) = run(args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(!stderr.is_empty(), "{args:?}: no message");
    }
}

#[test]
fn insecure_accepts_a_self_signed_wss_server() {
    let (dir, cert, key) = self_signed("insecure");
    let (_server, addr) = Wsx::serve(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    let mut client = Wsx::start(&["connect", "--insecure", &format!("wss://{addr}/")]);
    client.write("over tls\n");
    client.close_stdin();
    let (code, stdout, stderr) = client.finish();
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(stdout, ["over tls"], "{stderr}");
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn self_signed_certificate_without_insecure_exits_4() {
    let (dir, cert, key) = self_signed("untrusted");
    let (_server, addr) = Wsx::serve(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    let (code, _, stderr) = run(&["connect", &format!("wss://{addr}/")]);
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("--insecure"), "{stderr}");
}

#[test]
fn missing_tls_files_exit_4() {
    let dir = temp_dir("missing");
    let missing = dir.join("missing.pem");
    let missing = missing.to_str().unwrap();
    let (code, stdout, stderr) = run(&[
        "serve",
        "127.0.0.1:0",
        "--tls-cert",
        missing,
        "--tls-key",
        missing,
    ]);
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(code, 4, "{stderr}");
    assert!(stdout.is_empty(), "{stdout:?}");
}

/// An in-test server that accepts (with subprotocol "chat" if offered), reports the `x-wsx-test`
/// header and the offered protocols in a text message, then closes with `code` and `reason`.
fn closing_server(code: u16, reason: &'static str) -> SocketAddr {
    in_test_server(move |tcp| async move {
        let mut seen = String::new();
        let check = |request: &http::Request<()>| -> Result<Accept, Reject> {
            let header = |name: &str| {
                request
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            };
            let protocols = header("sec-websocket-protocol");
            seen = format!("x-wsx-test={} protocols={protocols}", header("x-wsx-test"));
            if protocols.split(',').any(|p| p.trim() == "chat") {
                Ok(Accept::new().protocol("chat"))
            } else {
                Ok(Accept::new())
            }
        };
        let Ok(mut ws) = ws_tokio::accept_with(tcp, check, ServerConfig::default()).await else {
            return;
        };
        let _ = ws.send(Message::text(seen)).await;
        let _ = ws.close(Some(CloseFrame::new(code, reason))).await;
    })
}

#[test]
fn headers_and_protocols_are_sent_and_going_away_exits_0() {
    let addr = closing_server(1001, "shutting down");
    // Standard input stays open: the server's close alone ends the client.
    let mut client = Wsx::start(&[
        "connect",
        "--header",
        "X-Wsx-Test: hello there",
        "--protocol",
        "chat",
        "--protocol",
        "other",
        &format!("ws://{addr}/"),
    ]);
    let (code, stdout, stderr) = {
        let code = client.exit_code();
        (code, client.stdout.all(), client.stderr.all().join("\n"))
    };
    assert_eq!(
        stdout,
        ["x-wsx-test=hello there protocols=chat, other"],
        "{stderr}"
    );
    assert!(stderr.contains("subprotocol chat"), "{stderr}");
    assert!(stderr.contains("1001"), "{stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn abnormal_close_code_exits_5_with_code_and_reason() {
    let addr = closing_server(4001, "custom failure");
    let mut client = Wsx::start(&["connect", &format!("ws://{addr}/")]);
    let code = client.exit_code();
    let stderr = client.stderr.all().join("\n");
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("4001"), "{stderr}");
    assert!(stderr.contains("custom failure"), "{stderr}");
}

#[test]
fn ping_interval_sends_keepalive_pings() {
    let addr = in_test_server(|tcp| async move {
        let Ok(mut ws) = ws_tokio::accept(tcp).await else {
            return;
        };
        // The client sends nothing else: the first message must be its keepalive ping.
        let first = tokio::time::timeout(TIMEOUT, ws.recv()).await;
        let reply = match first {
            Ok(Some(Ok(Message::Ping(_)))) => "got a ping".to_string(),
            other => format!("expected a ping, got {other:?}"),
        };
        let _ = ws.send(Message::text(reply)).await;
        let _ = ws.close(Some(CloseFrame::new(1000u16, ""))).await;
    });
    let mut client = Wsx::start(&[
        "connect",
        "--ping-interval",
        "0.2",
        &format!("ws://{addr}/"),
    ]);
    let code = client.exit_code();
    let stdout = client.stdout.all();
    let stderr = client.stderr.all().join("\n");
    assert_eq!(stdout, ["got a ping"], "{stderr}");
    assert_eq!(code, 0, "{stderr}");
}

/// An HTTP proxy in the test process that reads one CONNECT request head and refuses it with
/// 407, as a proxy wanting credentials does.
fn refusing_proxy() -> SocketAddr {
    in_test_server(|mut tcp| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        assert!(
            head.starts_with(b"CONNECT "),
            "{:?}",
            String::from_utf8_lossy(&head)
        );
        let _ = tcp
            .write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                  Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
            )
            .await;
    })
}

#[test]
fn proxy_refusal_exits_2_with_its_status_and_the_environment_is_honoured() {
    let proxy = format!("http://{}", refusing_proxy());
    let (_server, addr) = Wsx::serve(&[]);
    let url = format!("ws://{addr}/");

    // Explicit --proxy.
    let (code, _, stderr) = run(&["connect", &url, "--proxy", &proxy]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("407"), "{stderr}");

    // HTTP_PROXY is honoured by default ...
    let mut wsx = Wsx::start_env(&["connect", &url], &[("HTTP_PROXY", &proxy)]);
    wsx.close_stdin();
    let (code, _, stderr) = wsx.finish();
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("proxy"), "{stderr}");

    // ... and `--proxy ''` connects directly whatever it says.
    let mut wsx = Wsx::start_env(&["connect", &url, "--proxy", ""], &[("HTTP_PROXY", &proxy)]);
    wsx.write("direct\n");
    assert_eq!(wsx.stdout.wait_for("direct"), "direct");
    wsx.close_stdin();
    let (code, _, stderr) = wsx.finish();
    assert_eq!(code, 0, "{stderr}");

    // A proxy URL we cannot use is a usage error.
    let (code, _, stderr) = run(&["connect", &url, "--proxy", "socks4://127.0.0.1:1080"]);
    assert_eq!(code, 1, "{stderr}");
}

/// An in-test server that hands each message to a worker which answers it 100 ms later (as a
/// server doing real work does), then closes after `replies` answers. Its reading side
/// answers a close at once: a client that closes right after its last message misses the
/// replies.
fn slow_replying_server(replies: usize) -> SocketAddr {
    in_test_server(move |tcp| async move {
        let Ok(ws) = ws_tokio::accept(tcp).await else {
            return;
        };
        let (mut sink, mut reader) = ws.split();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(message)) = reader.recv().await {
                if message.is_data() && tx.send(message).is_err() {
                    break;
                }
            }
        });
        for _ in 0..replies {
            let Some(message) = rx.recv().await else {
                return;
            };
            tokio::time::sleep(Duration::from_millis(100)).await;
            if sink.send(message).await.is_err() {
                return;
            }
        }
        let _ = sink.close(Some(CloseFrame::new(1000, "done"))).await;
    })
}

#[test]
fn replies_after_the_end_of_input_are_printed_until_the_server_closes() {
    let addr = slow_replying_server(2);
    let url = format!("ws://{addr}/");
    // As `printf 'a\nb\n' | wsx connect URL`: the input ends at once, the replies come later.
    for run in 0..20 {
        let started = Instant::now();
        let mut client = Wsx::start(&["connect", &url]);
        client.write("a\nb\n");
        client.close_stdin();
        let (code, stdout, stderr) = client.finish();
        assert_eq!(stdout, ["a", "b"], "run {run}: {stderr}");
        assert_eq!(code, 0, "run {run}: {stderr}");
        assert!(stderr.contains("code 1000"), "run {run}: {stderr}");
        assert!(!stderr.contains("--linger"), "run {run}: {stderr}");
        // The server's close ended it, not the 2 s linger.
        assert!(started.elapsed() < Duration::from_secs(2), "run {run}");
    }
}

#[test]
fn linger_running_out_closes_and_says_replies_may_be_lost() {
    // Three messages, two replies: the server never closes, so the linger runs out.
    let addr = slow_replying_server(3);
    let mut client = Wsx::start(&["connect", &format!("ws://{addr}/"), "--linger", "0.5"]);
    client.write("a\nb\n");
    client.close_stdin();
    let (code, stdout, stderr) = client.finish();
    assert_eq!(stdout, ["a", "b"], "{stderr}");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("closing 0.5 s after the end of input (see --linger)"),
        "{stderr}"
    );
}

#[test]
fn cacert_and_ssl_cert_file_trust_a_private_ca() {
    let pki = PrivateCa::new("cacert");
    let (_server, addr) = Wsx::serve(&[
        "--tls-cert",
        pki.cert.to_str().unwrap(),
        "--tls-key",
        pki.key.to_str().unwrap(),
    ]);
    let url = format!("wss://{addr}/");
    let ca = pki.ca.to_str().unwrap();

    let (code, _, stderr) = run(&["connect", &url]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("--cacert"), "{stderr}");

    let echo = |args: &[&str], env: &[(&str, &str)]| {
        let mut client = Wsx::start_env(args, env);
        client.write("private\n");
        client.close_stdin();
        client.finish()
    };
    let (code, stdout, stderr) = echo(&["connect", "--linger", "0", "--cacert", ca, &url], &[]);
    assert_eq!((code, stdout), (0, vec!["private".to_string()]), "{stderr}");
    let (code, stdout, stderr) = echo(
        &["connect", "--linger", "0", &url],
        &[("SSL_CERT_FILE", ca)],
    );
    assert_eq!((code, stdout), (0, vec!["private".to_string()]), "{stderr}");

    let missing = pki.dir.join("missing.pem");
    let (code, _, stderr) = run(&["connect", "--cacert", missing.to_str().unwrap(), &url]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("missing.pem"), "{stderr}");
}

#[test]
fn a_proxy_that_never_answers_is_named() {
    // Accepted by the kernel's backlog, never answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = silent.local_addr().unwrap();
    let (code, _, stderr) = run(&[
        "connect",
        "ws://127.0.0.1:9/",
        "--proxy",
        &format!("http://{proxy}"),
        "--connect-timeout",
        "0.3",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("the proxy {proxy} did not answer")),
        "{stderr}"
    );
}

#[test]
fn socks5h_proxy_by_option_and_by_all_proxy() {
    let (_server, addr) = Wsx::serve(&[]);
    // Dante refuses connections to port 9 by rule.
    let dante = tests::socks::SocksServer::dante(9);
    let proxy = dante.url("socks5h");
    let url = format!("ws://localhost:{}/", addr.port());
    let echo = |mut wsx: Wsx| {
        wsx.write("via socks\n");
        assert_eq!(wsx.stdout.wait_for("via socks"), "via socks");
        wsx.close_stdin();
        let (code, _, stderr) = wsx.finish();
        assert_eq!(code, 0, "{stderr}");
    };
    echo(Wsx::start(&["connect", &url, "--proxy", &proxy]));
    echo(Wsx::start_env(&["connect", &url], &[("ALL_PROXY", &proxy)]));
    assert!(dante.saw_connect_to(addr), "{}", dante.log());
    // A refusal exits 2 and names the proxy and the reply in words.
    let (code, _, stderr) = run(&["connect", "ws://127.0.0.1:9/", "--proxy", &proxy]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&proxy), "{stderr}");
    assert!(
        stderr.contains("not allowed") && stderr.contains("reply code 2"),
        "{stderr}"
    );
}

/// `--send FILE --recv`: a file goes out as one streamed message, and the echo comes back to
/// standard output byte for byte.
#[test]
fn a_file_is_sent_and_received_as_one_streamed_message() {
    let (_server, addr) = Wsx::serve(&["--echo"]);
    let dir = temp_dir("stream-file");
    let file = dir.join("upload.bin");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let file = file.to_str().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wsx"))
        .args([
            "connect",
            "--send",
            file,
            "--recv",
            &format!("ws://{addr}/"),
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run wsx");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        output.stdout == data,
        "the echo differs: {} bytes; {stderr}",
        output.stdout.len()
    );
    assert!(
        stderr.contains("sent") && stderr.contains("3000000 bytes"),
        "{stderr}"
    );
    assert!(
        stderr.contains("received a binary message of 3000000 bytes"),
        "{stderr}"
    );
}
