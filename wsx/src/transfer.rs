//! `wsx connect --send FILE` and `--recv`: a file moved as one streamed message, in bounded
//! memory whatever its size.

use crate::exit::{chain, Exit, Failure};
use futures::{AsyncWriteExt as _, StreamExt};
use std::io::{Read, Write};
use std::path::Path;
use ws_tokio::{ClientStream, Error, MessageKind};

/// Bytes read from the file per write.
const PIECE: usize = 256 << 10;

fn connection_failure(e: &Error) -> Failure {
    match e {
        Error::Protocol(p) => Failure::new(
            Exit::Abnormal,
            format!(
                "the connection failed: {p} (close code {})",
                p.close_code().0
            ),
        ),
        _ => Failure::new(
            Exit::Abnormal,
            format!("the connection failed: {}", chain(e)),
        ),
    }
}

/// Sends `send` (a file, or standard input for `-`) as one binary message, then, with `recv`,
/// writes the next message received to standard output as it arrives; then closes normally.
pub async fn transfer(
    mut ws: ClientStream,
    send: Option<&Path>,
    recv: bool,
) -> Result<(), Failure> {
    if let Some(path) = send {
        let sent = send_file(&mut ws, path).await?;
        eprintln!("wsx: sent {} ({sent} bytes) as one message", path.display());
    }
    if recv {
        let (kind, received) = receive(&mut ws).await?;
        eprintln!("wsx: received a {kind} message of {received} bytes");
    }
    match ws.close(None).await {
        Ok(()) | Err(Error::ConnectionClosed) => Ok(()),
        Err(e) => Err(connection_failure(&e)),
    }
}

async fn send_file(ws: &mut ClientStream, path: &Path) -> Result<u64, Failure> {
    let unreadable = |e: std::io::Error| {
        Failure::new(Exit::Usage, format!("cannot read {}: {e}", path.display()))
    };
    let mut input: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(unreadable)?)
    };
    let mut writer = ws
        .send_stream(MessageKind::Binary)
        .await
        .map_err(|e| connection_failure(&e))?;
    let (mut buf, mut sent) = (vec![0u8; PIECE], 0u64);
    loop {
        // A blocking read of a local file or pipe, as the rest of the CLI reads standard input.
        let n = tokio::task::block_in_place(|| input.read(&mut buf)).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        writer
            .write_all(&buf[..n])
            .await
            .map_err(|e| Failure::new(Exit::Abnormal, format!("sending failed: {}", chain(&e))))?;
        sent += n as u64;
    }
    writer.finish().await.map_err(|e| connection_failure(&e))?;
    Ok(sent)
}

async fn receive(ws: &mut ClientStream) -> Result<(&'static str, u64), Failure> {
    let mut reader = match ws.recv_stream_with_limit(u64::MAX).await {
        Some(Ok(reader)) => reader,
        Some(Err(e)) => return Err(connection_failure(&e)),
        None => {
            return Err(Failure::new(
                Exit::Abnormal,
                "the connection ended before a message arrived",
            ))
        }
    };
    let kind = match reader.kind() {
        MessageKind::Text => "text",
        MessageKind::Binary => "binary",
    };
    let mut stdout = std::io::stdout().lock();
    let mut received = 0u64;
    while let Some(chunk) = reader.next().await {
        let chunk = chunk.map_err(|e| connection_failure(&e))?;
        received += chunk.len() as u64;
        // A blocking write, as the rest of the CLI prints.
        tokio::task::block_in_place(|| stdout.write_all(&chunk)).map_err(|e| {
            Failure::new(Exit::Abnormal, format!("cannot write standard output: {e}"))
        })?;
    }
    let _ = stdout.flush();
    Ok((kind, received))
}
