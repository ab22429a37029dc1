//! End-to-end tests of the `wsx` binary: every test runs the built executable against a
//! `wsx serve` or an in-test server on 127.0.0.1 with port 0. Every wait is bounded by
//! [`TIMEOUT`]; readiness comes from the programs' own output ("listening on", "connected").
#![forbid(unsafe_code)]

use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use ws_tokio::{http, Accept, CloseFrame, Message, Reject, ServerConfig};

/// The environment variables a client may take its proxy from.
const PROXY_VARIABLES: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// The longest any single wait may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Lines of one output stream of a child, read on a thread.
struct Lines {
    rx: Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    fn new(stream: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
        }
    }

    /// The next line, or `None` at the end of the stream; panics after [`TIMEOUT`].
    fn next(&mut self) -> Option<String> {
        match self.rx.recv_timeout(TIMEOUT) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no output within {TIMEOUT:?}; so far: {:?}", self.seen)
            }
        }
    }

    /// Reads until a line containing `needle`.
    fn wait_for(&mut self, needle: &str) -> String {
        while let Some(line) = self.next() {
            if line.contains(needle) {
                return line;
            }
        }
        panic!("stream ended without {needle:?}; saw {:?}", self.seen)
    }

    /// Everything up to the end of the stream (the child has exited), including lines
    /// already seen.
    fn all(&mut self) -> Vec<String> {
        while self.next().is_some() {}
        self.seen.clone()
    }
}

/// A running `wsx`, killed when dropped.
struct Wsx {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines,
    stderr: Lines,
}

impl Wsx {
    fn start(args: &[&str]) -> Wsx {
        Wsx::start_env(args, &[])
    }

    /// Starts `wsx` with `args`, the proxy variables of the test's own environment removed
    /// and `env` set.
    fn start_env(args: &[&str], env: &[(&str, &str)]) -> Wsx {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wsx"));
        for name in PROXY_VARIABLES {
            command.env_remove(name);
        }
        let mut child = command
            .envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wsx");
        let stdout = Lines::new(child.stdout.take().unwrap());
        let stderr = Lines::new(child.stderr.take().unwrap());
        Wsx {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
        }
    }

    /// `wsx serve` with `args`; returns it and the address it listens on.
    fn serve(args: &[&str]) -> (Wsx, SocketAddr) {
        let mut all = vec!["serve", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let mut server = Wsx::start(&all);
        let first = server.stdout.next().expect("the server printed nothing");
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .expect("a socket address");
        (server, addr)
    }

    fn write(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the exit code (polling, bounded by [`TIMEOUT`]).
    fn exit_code(&mut self) -> i32 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().expect("exited by a signal");
            }
            assert!(
                Instant::now() < deadline,
                "wsx still running after {TIMEOUT:?}; stderr so far: {:?}",
                self.stderr.seen
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Runs to the end: exit code, stdout lines, stderr text.
    fn finish(mut self) -> (i32, Vec<String>, String) {
        let code = self.exit_code();
        let stdout = self.stdout.all();
        let stderr = self.stderr.all().join("\n");
        (code, stdout, stderr)
    }
}

impl Drop for Wsx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `wsx` with `args` and no input to the end.
fn run(args: &[&str]) -> (i32, Vec<String>, String) {
    let mut wsx = Wsx::start(args);
    wsx.close_stdin();
    wsx.finish()
}

/// A tokio server in the test process on 127.0.0.1:0, calling `handler` for each connection.
fn in_test_server<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(handler(tcp));
            }
        });
    });
    rx.recv_timeout(TIMEOUT).expect("in-test server started")
}

/// A fresh directory for this test's files.
fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "wsx-test-{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A self-signed certificate for localhost and 127.0.0.1, written as PEM files.
fn self_signed(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = temp_dir(name);
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (dir, cert, key)
}

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
