//! `wsx connect`: standard input to messages, messages to standard output.

use crate::cli::ConnectArgs;
use crate::exit::{Exit, Failure};
use crate::tls;
use futures::StreamExt;
use std::fmt::Write as _;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use ws_tokio::http::header::{HeaderName, HeaderValue, SEC_WEBSOCKET_PROTOCOL};
use ws_tokio::http::{Request, Uri};
use ws_tokio::{
    ClientConfig, ClientError, ClientStream, CloseCode, CloseFrame, Error, Message, Proxy,
    ProxyError, StreamConfig,
};

/// Runs `wsx connect`.
pub async fn run(args: ConnectArgs) -> Result<(), Failure> {
    let (request, addr) = build_request(&args)?;
    let mut stream = StreamConfig::default();
    if let Some(interval) = args.ping_interval {
        let timeout = stream.protocol.keepalive_timeout;
        stream = stream.keepalive((!interval.is_zero()).then_some(interval), timeout);
    }
    let mut config = ClientConfig::default()
        .stream(stream)
        .handshake_timeout(args.connect_timeout);
    if args.insecure {
        config = config.tls(tls::insecure_client_config()?);
    }
    config = match args.proxy.as_deref() {
        None => config.proxy_from_env(),
        Some("") => config,
        Some(url) => {
            let proxy = Proxy::new(url)
                .map_err(|e| Failure::new(Exit::Usage, format!("invalid --proxy: {e}")))?;
            config.proxy(Some(proxy))
        }
    };
    let connecting = ws_tokio::connect_with(request, config);
    let (ws, response) = match tokio::time::timeout(args.connect_timeout, connecting).await {
        Ok(Ok(connected)) => connected,
        Ok(Err(e)) => return Err(connect_failure(&args.url, &addr, e)),
        Err(_) => {
            return Err(Failure::new(
                Exit::Network,
                format!(
                    "connecting to {addr} timed out after {:?}",
                    args.connect_timeout
                ),
            ))
        }
    };
    let protocol = response
        .headers()
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .map(|p| format!(" (subprotocol {p})"))
        .unwrap_or_default();
    eprintln!("wsx: connected to {}{protocol}", args.url);
    session(ws, args.binary).await
}

/// The upgrade request (URL, extra headers, subprotocol offers) and the `host:port` it goes
/// to, for messages.
fn build_request(args: &ConnectArgs) -> Result<(Request<()>, String), Failure> {
    let usage = |message: String| Failure::new(Exit::Usage, message);
    let uri: Uri = args
        .url
        .parse()
        .map_err(|e| usage(format!("invalid URL {:?}: {e}", args.url)))?;
    let default_port = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("ws") => 80,
        Some(s) if s.eq_ignore_ascii_case("wss") => 443,
        _ => {
            return Err(usage(format!(
                "invalid URL {:?}: the scheme must be ws:// or wss://",
                args.url
            )))
        }
    };
    let Some(host) = uri.host().filter(|h| !h.is_empty()) else {
        return Err(usage(format!("invalid URL {:?}: no host", args.url)));
    };
    let addr = format!("{host}:{}", uri.port_u16().unwrap_or(default_port));
    let mut request = Request::new(());
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    for header in &args.headers {
        let Some((name, value)) = header.split_once(':') else {
            return Err(usage(format!(
                "invalid --header {header:?}: expected 'Name: value'"
            )));
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|e| usage(format!("invalid --header name {:?}: {e}", name.trim())))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|e| usage(format!("invalid --header value {:?}: {e}", value.trim())))?;
        headers.append(name, value);
    }
    if !args.protocols.is_empty() {
        if let Some(bad) = args.protocols.iter().find(|p| !is_token(p)) {
            return Err(usage(format!(
                "invalid --protocol {bad:?}: not an HTTP token"
            )));
        }
        let offer = HeaderValue::from_str(&args.protocols.join(", "))
            .map_err(|e| usage(format!("invalid --protocol: {e}")))?;
        headers.append(SEC_WEBSOCKET_PROTOCOL, offer);
    }
    Ok((request, addr))
}

/// Whether `s` is an HTTP token (RFC 9110 §5.6.2), as subprotocol names must be.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Turns a connect error into a message and an exit code.
fn connect_failure(url: &str, addr: &str, error: Error) -> Failure {
    match error {
        Error::ClientHandshake(ClientError::Rejected { response }) => {
            let mut message = format!(
                "{addr} refused the WebSocket upgrade: HTTP {}",
                response.status()
            );
            let body = String::from_utf8_lossy(response.body());
            let body = body.trim_end();
            if !body.is_empty() {
                let _ = write!(message, "\n{body}");
            }
            Failure::new(Exit::Handshake, message)
        }
        Error::ClientHandshake(
            e @ (ClientError::InvalidUri(_)
            | ClientError::UnsupportedScheme(_)
            | ClientError::MissingHost
            | ClientError::InvalidHeader(_)),
        ) => Failure::new(Exit::Usage, format!("invalid request for {url:?}: {e}")),
        Error::ClientHandshake(e) => Failure::new(
            Exit::Handshake,
            format!("WebSocket handshake with {addr} failed: {e}"),
        ),
        Error::Url(e) => Failure::new(Exit::Usage, format!("invalid URL {url:?}: {e}")),
        Error::Io(e) => match tls::tls_error(&e) {
            Some(tls_error) => {
                let hint = match tls_error {
                    rustls::Error::InvalidCertificate(_) => {
                        " (use --insecure to accept a self-signed certificate)"
                    }
                    _ => "",
                };
                Failure::new(
                    Exit::Tls,
                    format!("TLS handshake with {addr} failed: {tls_error}{hint}"),
                )
            }
            None => Failure::new(Exit::Network, format!("cannot connect to {addr}: {e}")),
        },
        Error::Proxy(e @ ProxyError::InvalidUrl { .. }) => {
            Failure::new(Exit::Usage, format!("invalid proxy setting: {e}"))
        }
        Error::Proxy(ProxyError::Tls { proxy, source }) => {
            let cause =
                tls::tls_error(&source).map_or_else(|| source.to_string(), |e| e.to_string());
            Failure::new(
                Exit::Tls,
                format!("TLS handshake with the proxy {proxy} failed: {cause}"),
            )
        }
        Error::Proxy(e) => Failure::new(
            Exit::Network,
            format!("cannot reach {addr} through the proxy: {e}"),
        ),
        Error::HandshakeTimeout => Failure::new(
            Exit::Network,
            format!("the WebSocket handshake with {addr} timed out"),
        ),
        e => Failure::new(Exit::Network, format!("cannot connect to {addr}: {e}")),
    }
}

/// Reads standard input on its own thread (reads block), one line at a time without its line
/// ending. The channel closes at the end of input.
fn stdin_lines() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(64);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut line = Vec::new();
            match stdin.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                        if line.last() == Some(&b'\r') {
                            line.pop();
                        }
                    }
                    if tx.blocking_send(line).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    eprintln!("wsx: cannot read stdin: {e}");
                    break;
                }
            }
        }
    });
    rx
}

/// Lowercase hexadecimal, how binary messages are printed.
fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Prints one received message on stdout, flushed so that pipes see it at once.
fn print_message(message: &Message) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout is not a connection problem; what cannot be printed is dropped.
    let _ = match message {
        Message::Text(text) => stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.write_all(b"\n")),
        Message::Binary(bytes) => writeln!(stdout, "{}", hex(bytes)),
        _ => return,
    };
    let _ = stdout.flush();
}

/// Describes a close frame: code, name and reason.
fn describe_close(frame: Option<&CloseFrame>) -> String {
    match frame {
        None => "no status code (1005)".to_string(),
        Some(frame) => {
            let mut text = format!("code {}", frame.code.0);
            if let Some(name) = close_code_name(frame.code) {
                let _ = write!(text, " ({name})");
            }
            if !frame.reason.is_empty() {
                let _ = write!(text, ", reason {:?}", frame.reason.as_str());
            }
            text
        }
    }
}

fn close_code_name(code: CloseCode) -> Option<&'static str> {
    Some(match code.0 {
        1000 => "normal",
        1001 => "going away",
        1002 => "protocol error",
        1003 => "unsupported data",
        1007 => "invalid payload",
        1008 => "policy violation",
        1009 => "message too big",
        1010 => "mandatory extension",
        1011 => "internal error",
        1012 => "service restart",
        1013 => "try again later",
        1014 => "bad gateway",
        _ => return None,
    })
}

/// The connected session: a task sends stdin lines, this one prints what arrives. Ends after
/// the closing handshake, whoever started it.
async fn session(ws: ClientStream, binary: bool) -> Result<(), Failure> {
    let (mut sink, mut reader) = ws.split();
    let mut lines = stdin_lines();
    let we_closed = Arc::new(AtomicBool::new(false));
    let sender_closed = we_closed.clone();
    let sender = tokio::spawn(async move {
        let mut line_number = 0u64;
        while let Some(line) = lines.recv().await {
            line_number += 1;
            let message = if binary {
                Message::binary(line)
            } else {
                match String::from_utf8(line) {
                    Ok(text) => Message::text(text),
                    Err(_) => {
                        eprintln!(
                            "wsx: stdin line {line_number} is not UTF-8, not sent (see --binary)"
                        );
                        continue;
                    }
                }
            };
            if sink.send(message).await.is_err() {
                // The connection is closing: the reading side tells why.
                return;
            }
        }
        sender_closed.store(true, Ordering::SeqCst);
        // Errors mean the connection is already closing or gone; the reader reports it.
        let _ = sink
            .close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
            .await;
    });

    let mut outcome: Option<Result<(), Failure>> = None;
    while let Some(item) = reader.next().await {
        match item {
            Ok(Message::Close(frame)) => {
                if we_closed.load(Ordering::SeqCst) {
                    // The server's answer to our close.
                    outcome.get_or_insert(Ok(()));
                    continue;
                }
                let description = describe_close(frame.as_ref());
                eprintln!("wsx: the server closed the connection: {description}");
                let normal = matches!(
                    frame.map(|f| f.code),
                    Some(CloseCode::NORMAL | CloseCode::GOING_AWAY)
                );
                outcome.get_or_insert(if normal {
                    Ok(())
                } else {
                    Err(Failure::new(
                        Exit::Abnormal,
                        format!("abnormal close: {description}"),
                    ))
                });
            }
            Ok(message) => print_message(&message),
            Err(e) => {
                let message = match &e {
                    Error::Protocol(p) => format!(
                        "the connection failed: {p} (close code {})",
                        p.close_code().0
                    ),
                    _ => format!("the connection failed: {e}"),
                };
                outcome.get_or_insert(Err(Failure::new(Exit::Abnormal, message)));
            }
        }
    }
    sender.abort();
    outcome.unwrap_or_else(|| {
        Err(Failure::new(
            Exit::Abnormal,
            "the connection ended without a closing handshake",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn connect_args(extra: &[&str]) -> ConnectArgs {
        let mut argv = vec!["wsx", "connect"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Connect(args) => args,
            other => panic!("not connect: {other:?}"),
        }
    }

    #[test]
    fn hex_is_lowercase_pairs() {
        assert_eq!(hex(&[0, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn request_carries_headers_and_protocols() {
        let args = connect_args(&[
            "ws://example.com:8080/chat?x=1",
            "--header",
            "X-Token: abc",
            "-H",
            "Cookie:a=b",
            "--protocol",
            "chat",
            "--protocol",
            "superchat",
        ]);
        let (request, addr) = build_request(&args).unwrap();
        assert_eq!(addr, "example.com:8080");
        assert_eq!(request.headers()["x-token"], "abc");
        assert_eq!(request.headers()["cookie"], "a=b");
        assert_eq!(request.headers()[SEC_WEBSOCKET_PROTOCOL], "chat, superchat");
    }

    #[test]
    fn bad_urls_and_headers_are_usage_errors() {
        for extra in [
            &["http://example.com/"][..],
            &["not a url"],
            &["ws:///path"],
            &["ws://example.com", "--header", "no colon"],
            &["ws://example.com", "--header", "bad name: x"],
            &["ws://example.com", "--protocol", "a,b"],
        ] {
            let failure = build_request(&connect_args(extra)).unwrap_err();
            assert_eq!(failure.exit, Exit::Usage, "{extra:?}: {}", failure.message);
        }
        let (_, addr) = build_request(&connect_args(&["wss://[::1]/"])).unwrap();
        assert_eq!(addr, "[::1]:443");
    }

    #[test]
    fn close_descriptions() {
        assert_eq!(describe_close(None), "no status code (1005)");
        let frame = CloseFrame::new(CloseCode(4000), "bye");
        assert_eq!(describe_close(Some(&frame)), "code 4000, reason \"bye\"");
        let frame = CloseFrame::new(CloseCode::GOING_AWAY, "");
        assert_eq!(describe_close(Some(&frame)), "code 1001 (going away)");
    }
}
