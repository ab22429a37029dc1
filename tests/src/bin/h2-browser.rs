//! The server of the HTTP/2 browser test (`scripts/browser-h2-test.sh`): HTTPS on 127.0.0.1
//! with ALPN `h2` and `http/1.1` and extended CONNECT allowed, serving a page whose script opens
//! `new WebSocket('wss://...')` to `/ws` (echo through `ws_tokio::upgrade`; the message
//! `close-please` is answered with close 4000) and posts what it saw to `/result`.
//!
//! Every request is logged with the number of the TLS connection it came on, its HTTP version
//! and method. On `/result` the server checks that the WebSocket arrived as an extended CONNECT
//! over HTTP/2 on the page's own connection and that the page saw the echoes, permessage-deflate
//! and the close code, prints the verdict and exits 0 (pass) or 1 (fail). Prints
//! `listening on https://127.0.0.1:PORT/` first.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tests::tls::TestCa;
use ws_tokio::{upgrade, CloseFrame, Message, ServerConfig};

const PAGE: &str = r#"<!doctype html>
<title>WebSocket over HTTP/2</title>
<script>
const seen = [];
async function run() {
  const ws = new WebSocket(`wss://${location.host}/ws`);
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = () => fail(new Error("error")); });
  seen.push("extensions=" + ws.extensions);
  const echo = (m) => new Promise((ok) => { ws.onmessage = (e) => ok(e.data); ws.send(m); });
  seen.push("text=" + ((await echo("hello over h2")) === "hello over h2"));
  const big = "x".repeat(100000);
  seen.push("big=" + ((await echo(big)) === big));
  const closed = new Promise((ok) => { ws.onclose = ok; });
  ws.send("close-please");
  const e = await closed;
  seen.push("close=" + e.code + " " + e.reason);
}
run().catch((e) => seen.push("error=" + e))
  .finally(() => fetch("/result", { method: "POST", body: seen.join("\n") }));
</script>
"#;

/// (connection number, "HTTP/2.0 CONNECT /ws") of every request.
type Log = Arc<Mutex<Vec<(usize, String)>>>;

async fn service(
    mut request: Request<Incoming>,
    connection: usize,
    log: Log,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let line = format!(
        "{:?} {} {}",
        request.version(),
        request.method(),
        request.uri().path()
    );
    eprintln!("connection {connection}: {line}");
    log.lock().unwrap().push((connection, line));
    if upgrade::is_upgrade_request(&request) {
        return Ok(
            match upgrade::upgrade(&mut request, ServerConfig::default()) {
                Ok((response, upgrading)) => {
                    tokio::spawn(async move {
                        let mut ws = match upgrading.await {
                            Ok(ws) => ws,
                            Err(e) => return eprintln!("upgrade failed: {e}"),
                        };
                        while let Some(received) = ws.recv().await {
                            let message = match received {
                                Ok(message) => message,
                                Err(e) => {
                                    eprintln!("websocket failed: {e}");
                                    break;
                                }
                            };
                            eprintln!("websocket: {} bytes", message.len());
                            if matches!(&message, Message::Text(t) if t.as_str() == "close-please")
                            {
                                let closed = ws.close(Some(CloseFrame::new(4000, "bye"))).await;
                                eprintln!("websocket closed: {closed:?}");
                                break;
                            }
                            if message.is_data() && ws.send(message).await.is_err() {
                                break;
                            }
                        }
                    });
                    response
                }
                Err(refused) => refused.into_response(),
            },
        );
    }
    match request.uri().path() {
        "/result" => {
            let body = request.into_body().collect().await.map(|b| b.to_bytes());
            let seen = String::from_utf8_lossy(&body.unwrap_or_default()).to_string();
            let passed = verdict(&log.lock().unwrap(), &seen);
            std::process::exit(if passed { 0 } else { 1 });
        }
        "/favicon.ico" => Ok(Response::new(Full::default())),
        _ => Ok(Response::new(Full::from(PAGE))),
    }
}

fn verdict(log: &[(usize, String)], seen: &str) -> bool {
    println!("the page saw:\n{seen}");
    let page = log.iter().find(|(_, line)| line.ends_with(" GET /"));
    let ws = log.iter().find(|(_, line)| line.ends_with(" /ws"));
    let checks = [
        (
            "the page came over HTTP/2",
            page.is_some_and(|(_, l)| l.starts_with("HTTP/2.0")),
        ),
        (
            "the WebSocket arrived as an HTTP/2 extended CONNECT",
            ws.is_some_and(|(_, l)| l.starts_with("HTTP/2.0 CONNECT")),
        ),
        (
            "on the page's own connection",
            matches!((page, ws), (Some((a, _)), Some((b, _))) if a == b),
        ),
        (
            "permessage-deflate negotiated",
            seen.contains("extensions=permessage-deflate"),
        ),
        ("text echoed", seen.contains("text=true")),
        ("100 kB echoed", seen.contains("big=true")),
        ("close code 4000 received", seen.contains("close=4000 bye")),
    ];
    let mut passed = true;
    for (what, ok) in checks {
        println!("{} - {what}", if ok { "ok" } else { "FAIL" });
        passed &= ok;
    }
    passed
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut tls = (*TestCa::new().server(&["localhost", "127.0.0.1"])).clone();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on https://{}/", listener.local_addr()?);
    let log = Log::default();
    let mut count = 0;
    loop {
        let (tcp, _) = listener.accept().await?;
        count += 1;
        let (acceptor, log, connection) = (acceptor.clone(), log.clone(), count);
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder.http2().enable_connect_protocol();
            let service = hyper::service::service_fn(move |request| {
                service(request, connection, log.clone())
            });
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(tls), service)
                .await;
        });
    }
}
