//! Runtime-agnostic pieces of the examples: the echo loop, the Autobahn client testee, the
//! interactive client and TLS set-up. Each binary in `src/bin` binds them to one runtime.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod chat;

pub mod axum_echo;

use std::future::Future;
use std::io::{self, BufRead};
use std::sync::Arc;
use ws_driver::{Message, Transport, WebSocketStream};

/// Echoes every text and binary message back until the connection is over.
///
/// Errors are not fatal to the loop: after a protocol error the stream still sends the close
/// frame and closes the transport, which takes a few more polls, and then ends.
pub async fn echo<T: Transport>(mut ws: WebSocketStream<T>) {
    while let Some(item) = ws.recv().await {
        match item {
            Ok(message) if message.is_data() => {
                // Fails only once the connection is closing; keep reading to finish the close.
                let _ = ws.send(message).await;
            }
            Ok(_) => {}
            Err(e) => eprintln!("connection error: {e}"),
        }
    }
}

/// Echoes every text and binary message back as it arrives, streamed in and out chunk by chunk
/// (`recv_stream` on the reading half, `send_stream` on the writing half, concurrently), so a
/// message of any size is echoed in bounded memory. The echo servers and the Autobahn client
/// testees run it with `--streaming`.
///
/// A message cut by a failure (invalid UTF-8, too big) is not finished: dropping its writer
/// would fail the connection with 1011, but it is failed already (with 1007 or 1009).
pub async fn echo_streaming<T: Transport>(ws: WebSocketStream<T>) {
    use futures::{AsyncWriteExt, StreamExt};
    let (mut sink, mut reader) = ws.split();
    while let Some(incoming) = reader.recv_stream().await {
        let mut incoming = match incoming {
            Ok(incoming) => incoming,
            Err(e) => {
                eprintln!("connection error: {e}");
                continue;
            }
        };
        let Ok(mut writer) = sink.send_stream(incoming.kind()).await else {
            // Closing: read on to finish the closing handshake.
            while incoming.next().await.is_some() {}
            continue;
        };
        let mut whole = true;
        while let Some(chunk) = incoming.next().await {
            let written = match chunk {
                Ok(chunk) => writer.write_all(&chunk).await.is_ok(),
                Err(e) => {
                    eprintln!("connection error: {e}");
                    false
                }
            };
            if !written {
                whole = false;
                break;
            }
        }
        if whole {
            let _ = writer.finish().await;
        }
    }
}

/// [`echo_streaming`] when `streaming`, else [`echo`].
pub async fn echo_as<T: Transport>(ws: WebSocketStream<T>, streaming: bool) {
    if streaming {
        echo_streaming(ws).await
    } else {
        echo(ws).await
    }
}

/// Parsed command line of the echo servers: `ADDR [--tls-cert CERT.pem --tls-key KEY.pem]
/// [--streaming]`.
pub struct ServerArgs {
    /// Address to listen on.
    pub addr: String,
    /// Echo with [`echo_streaming`] instead of [`echo`].
    pub streaming: bool,
    /// TLS settings when `--tls-cert` and `--tls-key` were given.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Reads the echo server's command line.
pub fn server_args() -> Result<ServerArgs, Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:9001".to_string();
    let (mut cert, mut key) = (None, None);
    let mut streaming = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--streaming" => streaming = true,
            "--tls-cert" => cert = args.next(),
            "--tls-key" => key = args.next(),
            _ => addr = arg,
        }
    }
    let tls = match (cert, key) {
        (Some(c), Some(k)) => Some(tls_server_config(&c, &k)?),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    Ok(ServerArgs {
        addr,
        streaming,
        tls,
    })
}

/// A rustls server configuration from PEM files.
pub fn tls_server_config(
    cert_pem: &str,
    key_pem: &str,
) -> Result<Arc<rustls::ServerConfig>, Box<dyn std::error::Error>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert_pem)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key_pem)?;
    let config = rustls::ServerConfig::builder_with_provider(ws_driver::crypto_provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}

/// The Autobahn TestSuite client testee protocol (see `scripts/autobahn/run.sh`): asks the
/// fuzzing server for the case count, echoes every case (with [`echo_streaming`] when the
/// command line has `--streaming`), then asks it to write the reports.
pub async fn autobahn_client<T, F, Fut>(
    base: &str,
    agent: &str,
    connect: F,
) -> Result<(), ws_driver::Error>
where
    T: Transport,
    F: Fn(String) -> Fut,
    Fut: Future<
        Output = Result<(WebSocketStream<T>, ws_driver::http::Response<()>), ws_driver::Error>,
    >,
{
    let base = base.trim_end_matches('/');
    let (mut ws, _) = connect(format!("{base}/getCaseCount")).await?;
    let count: u32 = match ws.recv().await {
        Some(Ok(Message::Text(t))) => t
            .parse()
            .map_err(|_| ws_driver::Error::Url(format!("bad case count {t:?}")))?,
        other => return Err(ws_driver::Error::Url(format!("no case count: {other:?}"))),
    };
    ws.close(None).await?;
    for case in 1..=count {
        match connect(format!("{base}/runCase?case={case}&agent={agent}")).await {
            Ok((ws, _)) if streaming_arg() => echo_streaming(ws).await,
            Ok((ws, _)) => echo(ws).await,
            Err(e) => eprintln!("case {case}: {e}"),
        }
    }
    let (mut ws, _) = connect(format!("{base}/updateReports?agent={agent}")).await?;
    ws.close(None).await?;
    Ok(())
}

/// The interactive client: sends each line of standard input as a text message and prints
/// what comes back. Reading stdin blocks, so it runs on its own thread and feeds a channel.
/// Ends when the server closes, or after stdin ends and the closing handshake is done.
pub async fn interactive<T: Transport>(ws: WebSocketStream<T>) -> Result<(), ws_driver::Error> {
    use futures::future::{select, Either};
    use futures::StreamExt;
    let (mut sink, mut reader) = ws.split();
    let (tx, mut rx) = futures::channel::mpsc::unbounded::<String>();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.unbounded_send(line).is_err() {
                break;
            }
        }
    });
    let send = async move {
        while let Some(line) = rx.next().await {
            sink.send(Message::text(line)).await?;
        }
        sink.close(Some(ws_driver::CloseFrame::new(
            ws_driver::CloseCode::NORMAL,
            "",
        )))
        .await
    };
    let recv = async move {
        while let Some(message) = reader.next().await {
            match message? {
                Message::Text(t) => println!("{t}"),
                Message::Binary(b) => println!("<{} binary bytes>", b.len()),
                Message::Close(frame) => eprintln!("server closed: {frame:?}"),
                _ => {}
            }
        }
        Ok::<_, ws_driver::Error>(())
    };
    let (send, recv) = (std::pin::pin!(send), std::pin::pin!(recv));
    let outcome = select(send, recv).await;
    match outcome {
        Either::Left((sent, recv)) => {
            sent?;
            recv.await
        }
        Either::Right((received, _)) => received,
    }
}

/// The URL argument of the clients.
pub fn url_arg() -> String {
    std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with("--"))
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_string())
}

/// Whether the command line asks for the streaming echo (`--streaming`).
pub fn streaming_arg() -> bool {
    std::env::args().skip(1).any(|arg| arg == "--streaming")
}

/// The interactive clients' settings: defaults, plus the proxy environment variables
/// (`HTTPS_PROXY` for `wss://`, `HTTP_PROXY` for `ws://`, `ALL_PROXY`, `NO_PROXY`), as command
/// line tools conventionally honour them.
pub fn client_config() -> ws_driver::ClientConfig {
    ws_driver::ClientConfig::default().proxy_from_env()
}
