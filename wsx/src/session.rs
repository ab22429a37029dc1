//! A connected `wsx connect` session: standard input lines become messages, received messages
//! are printed; after the end of input, replies are awaited for the linger time.

use crate::exit::{chain, Exit, Failure};
use futures::StreamExt;
use std::fmt::Write as _;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use ws_tokio::{ClientStream, CloseCode, CloseFrame, Error, Message};

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

/// The connected session: a task sends stdin lines, this one prints what arrives. After the
/// end of input the server has `linger` to close (replies still on their way are printed);
/// then a normal close is sent. Ends after the closing handshake, whoever started it.
pub async fn session(ws: ClientStream, binary: bool, linger: Duration) -> Result<(), Failure> {
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
        // The end of input: replies may still be on their way. This task is aborted as soon
        // as the server closes; if it has not within the linger time, we close.
        tokio::time::sleep(linger).await;
        eprintln!(
            "wsx: closing {} after the end of input (see --linger); replies the server sends \
             after this are lost",
            seconds(linger)
        );
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
                    _ => format!("the connection failed: {}", chain(&e)),
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

/// A duration in seconds, for messages: "2 s", "0.5 s".
fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_pairs() {
        assert_eq!(hex(&[0, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn close_descriptions() {
        assert_eq!(describe_close(None), "no status code (1005)");
        let frame = CloseFrame::new(CloseCode(4000), "bye");
        assert_eq!(describe_close(Some(&frame)), "code 4000, reason \"bye\"");
        let frame = CloseFrame::new(CloseCode::GOING_AWAY, "");
        assert_eq!(describe_close(Some(&frame)), "code 1001 (going away)");
    }

    #[test]
    fn seconds_are_written_plainly() {
        assert_eq!(seconds(Duration::from_secs(2)), "2 s");
        assert_eq!(seconds(Duration::from_millis(500)), "0.5 s");
    }
}
