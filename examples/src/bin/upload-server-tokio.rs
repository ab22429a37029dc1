//! File upload server on tokio: every message a client sends is streamed to a new file in a
//! directory, in bounded memory whatever its size (up to 16 GiB a message), and the server
//! answers with a text message naming the file.
//!
//! ```sh
//! cargo run -p examples --bin upload-server-tokio -- 127.0.0.1:9002 uploads/
//! wsx connect --send big.iso --recv ws://127.0.0.1:9002/    # prints "stored ... as ..."
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use ws_tokio::compat::FuturesAsyncReadCompatExt;
use ws_tokio::{Message, MessageKind, ServerConfig, TokioIo, WebSocketStream};

/// The largest upload accepted, for streamed messages only: other limits stay as configured.
const MAX_UPLOAD: u64 = 16 << 30;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(dir)) = (args.next(), args.next()) else {
        return Err("usage: upload-server-tokio ADDR DIRECTORY".into());
    };
    let dir = Arc::new(PathBuf::from(dir));
    tokio::fs::create_dir_all(dir.as_ref()).await?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let counter = Arc::new(AtomicU64::new(0));
    loop {
        let (tcp, peer) = listener.accept().await?;
        let (dir, counter) = (dir.clone(), counter.clone());
        tokio::spawn(async move {
            let accepted =
                ws_tokio::accept_with(tcp, ws_tokio::NoCallback, ServerConfig::default()).await;
            let result = match accepted {
                Ok(ws) => serve(ws, &dir, &counter).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = result {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// Stores each message of one connection in its own file.
async fn serve(
    mut ws: WebSocketStream<TokioIo<tokio::net::TcpStream>>,
    dir: &Path,
    counter: &AtomicU64,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    while let Some(reader) = ws.recv_stream_with_limit(MAX_UPLOAD).await {
        let reader = reader?;
        let extension = match reader.kind() {
            MessageKind::Text => "txt",
            MessageKind::Binary => "bin",
        };
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("upload-{n}.{extension}"));
        let mut file = tokio::fs::File::create(&path).await?;
        // The message's bytes go to the file as they arrive: a slow disk slows the sender.
        let copied = tokio::io::copy(&mut reader.compat(), &mut file).await;
        file.flush().await?;
        let size = match copied {
            Ok(size) => size,
            Err(e) => {
                // Cut off (the client went away, or the upload was too large): drop the part.
                let _ = tokio::fs::remove_file(&path).await;
                return Err(e.into());
            }
        };
        println!("stored {size} bytes as {}", path.display());
        let reply = format!("stored {size} bytes as {}", path.display());
        ws.send(Message::text(reply)).await?;
    }
    Ok(())
}
