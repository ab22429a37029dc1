//! Issue 19: messages streamed both ways on every runtime: invalid UTF-8 and limits fail
//! mid-stream (1007, 1009) without waiting for the rest, cancelling a writer or a reader
//! half-way is defined, pings are answered while a stream is open, streamed and whole messages
//! mix on one connection, and `into_io` carries bytes both ways.

use bytes::Bytes;
use futures::channel::mpsc;
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use std::sync::{Arc, Mutex};
use tests::{request, within, Handler, Runtime, ServeOptions};
use ws_driver::{
    ClientConfig, CloseCode, Error, Frame, Message, MessageKind, OpCode, ProtocolError, Transport,
    WebSocketStream,
};

/// A server whose handler runs `session` on each connection and reports its outcome string.
fn serve_reporting<R: Runtime, F>(session: F) -> (String, mpsc::UnboundedReceiver<String>)
where
    F: Fn(WebSocketStream<R::Server>) -> futures::future::BoxFuture<'static, String>
        + Send
        + Sync
        + 'static,
{
    let (report, reports) = mpsc::unbounded();
    let report = Arc::new(Mutex::new(report));
    let session = Arc::new(session);
    let handler: Handler<R::Server> = Arc::new(move |ws| {
        let (report, session) = (report.clone(), session.clone());
        Box::pin(async move {
            let Ok(ws) = ws else { return };
            let outcome = session(ws).await;
            let _ = report.lock().unwrap().unbounded_send(outcome);
        })
    });
    let addr = R::serve(ServeOptions::default(), handler);
    (format!("ws://{addr}/"), reports)
}

async fn connect<R: Runtime>(url: &str, deflate: bool) -> WebSocketStream<R::Client> {
    connect_with::<R>(url, deflate, ClientConfig::default()).await
}

async fn connect_with<R: Runtime>(
    url: &str,
    deflate: bool,
    config: ClientConfig,
) -> WebSocketStream<R::Client> {
    let config = if deflate {
        config
    } else {
        config.deflate(None)
    };
    let (ws, _) = within::<R, _>("connect", R::connect(request(url), config))
        .await
        .unwrap_or_else(|e| panic!("{}: connect: {e}", R::NAME));
    ws
}

/// Reads a streamed message to its end: its kind and bytes, or the error that cut it.
async fn read_stream<T: Transport>(
    ws: &mut WebSocketStream<T>,
    limit: u64,
) -> Result<(MessageKind, Vec<u8>), Error> {
    let mut reader = ws
        .recv_stream_with_limit(limit)
        .await
        .ok_or(Error::ConnectionClosed)??;
    let kind = reader.kind();
    let mut all = Vec::new();
    while let Some(chunk) = reader.next().await {
        all.extend_from_slice(&chunk?);
    }
    Ok((kind, all))
}

/// The close frame the peer sent, skipping anything before it.
async fn close_code<T: Transport>(ws: &mut WebSocketStream<T>) -> Option<CloseCode> {
    while let Some(item) = ws.recv().await {
        if let Ok(Message::Close(frame)) = item {
            return frame.map(|f| f.code);
        }
    }
    None
}

/// Sends a ping carrying `payload` and checks that the next message is its pong.
async fn ping_is_answered<R: Runtime>(ws: &mut WebSocketStream<R::Client>, payload: &'static [u8]) {
    ws.send(Message::Ping(Bytes::from_static(payload)))
        .await
        .unwrap();
    let pong = within::<R, _>("the pong", ws.recv()).await;
    assert!(
        matches!(pong, Some(Ok(Message::Pong(_)))),
        "{}: {pong:?}",
        R::NAME
    );
}

fn invalid_utf8_mid_stream_closes_with_1007_before_the_rest_is_read<R: Runtime>() {
    let (url, mut reports) = serve_reporting::<R, _>(|mut ws| {
        Box::pin(async move { format!("{:?}", read_stream(&mut ws, u64::MAX).await) })
    });
    R::block_on(async {
        let mut ws = connect::<R>(&url, false).await;
        let text = Bytes::from("valid text first; ".repeat(100));
        ws.send_frame(Frame {
            opcode: OpCode::Text,
            fin: false,
            payload: text,
        })
        .await
        .unwrap();
        let bad = Bytes::from_static(b"then \xff and more");
        ws.send_frame(Frame {
            opcode: OpCode::Continuation,
            fin: false,
            payload: bad,
        })
        .await
        .unwrap();
        // The rest of the message is never sent: the server must not wait for it.
        let code = within::<R, _>("the 1007 close", close_code(&mut ws)).await;
        assert_eq!(code, Some(CloseCode::INVALID_PAYLOAD), "{}", R::NAME);
        let report = within::<R, _>("the report", reports.next()).await.unwrap();
        assert!(report.contains("InvalidUtf8"), "{}: {report}", R::NAME);
    });
}

fn a_limit_hit_mid_stream_closes_with_1009<R: Runtime>() {
    let (url, mut reports) = serve_reporting::<R, _>(|mut ws| {
        Box::pin(async move { format!("{:?}", read_stream(&mut ws, 100_000).await) })
    });
    R::block_on(async {
        for deflate in [false, true] {
            // Frames of 16 KiB: the limit is crossed by the message, not by one frame.
            let config = ClientConfig::default().fragment_size(16 << 10);
            let mut ws = connect_with::<R>(&url, deflate, config).await;
            let mut writer = ws.send_stream(MessageKind::Binary).await.unwrap();
            let noise: Vec<u8> = (0..1_000_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            // The server fails the connection part-way: writing may fail, that is expected.
            let _ = writer.write_all(&noise).await;
            let _ = writer.finish().await;
            drop(writer);
            let code = within::<R, _>("the 1009 close", close_code(&mut ws)).await;
            assert_eq!(
                code,
                Some(CloseCode::MESSAGE_TOO_BIG),
                "{} deflate {deflate}",
                R::NAME
            );
            let report = within::<R, _>("the report", reports.next()).await.unwrap();
            assert!(report.contains("MessageTooLarge"), "{}: {report}", R::NAME);
        }
    });
}

fn a_writer_dropped_half_way_fails_the_connection_with_1011<R: Runtime>() {
    let (url, mut reports) = serve_reporting::<R, _>(|mut ws| {
        Box::pin(async move {
            let mut seen = Vec::new();
            while let Some(item) = ws.recv().await {
                seen.push(match item {
                    Ok(Message::Close(frame)) => format!("close {:?}", frame.map(|f| f.code.0)),
                    Ok(other) => format!("message of {} bytes", other.len()),
                    Err(e) => format!("error {e}"),
                });
            }
            seen.join(", ")
        })
    });
    R::block_on(async {
        for deflate in [false, true] {
            let mut ws = connect::<R>(&url, deflate).await;
            let mut writer = ws.send_stream(MessageKind::Text).await.unwrap();
            writer
                .write_all("half of a message ".repeat(1000).as_bytes())
                .await
                .unwrap();
            writer.flush().await.unwrap();
            drop(writer);
            // Whole sends are refused on a failed connection; reading runs the closing handshake.
            assert!(ws.send(Message::text("no")).await.is_err());
            while let Some(item) = within::<R, _>("the end", ws.recv()).await {
                if let Ok(Message::Close(frame)) = item {
                    assert_eq!(frame.map(|f| f.code), Some(CloseCode::INTERNAL_ERROR));
                }
            }
            let report = within::<R, _>("the report", reports.next()).await.unwrap();
            assert_eq!(report, "close Some(1011)", "{} deflate {deflate}", R::NAME);
        }
    });
}

fn a_reader_dropped_half_way_discards_the_rest_and_the_connection_goes_on<R: Runtime>() {
    let (url, mut reports) = serve_reporting::<R, _>(|mut ws| {
        Box::pin(async move {
            let mut reader = ws.recv_stream().await.unwrap().unwrap();
            let first = reader.next().await.unwrap().unwrap();
            drop(reader);
            let next = ws.recv().await;
            let _ = ws.send(Message::text("ok")).await;
            format!(
                "{} {}, then {:?}",
                first.is_empty(),
                first.len() < 1_000_000,
                next.map(|m| m.ok())
            )
        })
    });
    R::block_on(async {
        for deflate in [false, true] {
            let mut ws = connect::<R>(&url, deflate).await;
            ws.send(Message::binary(vec![7u8; 1_000_000]))
                .await
                .unwrap();
            ws.send(Message::text("next")).await.unwrap();
            let reply = within::<R, _>("the reply", ws.recv()).await;
            assert!(
                matches!(reply, Some(Ok(Message::Text(ref t))) if t.as_str() == "ok"),
                "{reply:?}"
            );
            let report = within::<R, _>("the report", reports.next()).await.unwrap();
            assert_eq!(
                report,
                "false true, then Some(Some(Text(\"next\")))",
                "{} deflate {deflate}",
                R::NAME
            );
        }
    });
}

fn pings_are_answered_while_a_stream_is_open_both_ways<R: Runtime>() {
    let (url, mut reports) = serve_reporting::<R, _>(|ws| {
        Box::pin(async move {
            // Receiving: the client pings in the middle of its message.
            let mut ws = ws;
            let received = read_stream(&mut ws, u64::MAX).await.map(|(_, b)| b.len());
            // Sending: the reading half answers the client's ping while our writer is open,
            // and the message ends only once that ping was seen.
            let (mut sink, mut reader) = ws.split();
            let mut writer = sink.send_stream(MessageKind::Binary).await.unwrap();
            writer.write_all(&[1u8; 300_000]).await.unwrap();
            writer.flush().await.unwrap();
            let mut pinged = false;
            while let Some(Ok(message)) = reader.recv().await {
                if let Message::Ping(_) = message {
                    pinged = true;
                    break;
                }
            }
            writer.write_all(&[2u8; 1000]).await.unwrap();
            writer.finish().await.unwrap();
            drop(writer);
            while reader.recv().await.is_some() {}
            format!("{received:?} {pinged}")
        })
    });
    R::block_on(async {
        let mut ws = connect::<R>(&url, true).await;
        let part = Bytes::from(vec![b'x'; 50_000]);
        ws.send_frame(Frame {
            opcode: OpCode::Binary,
            fin: false,
            payload: part.clone(),
        })
        .await
        .unwrap();
        ping_is_answered::<R>(&mut ws, b"mid-message").await;
        ws.send_frame(Frame {
            opcode: OpCode::Continuation,
            fin: true,
            payload: part,
        })
        .await
        .unwrap();
        // The server's message is open: our ping is answered before it ends.
        ping_is_answered::<R>(&mut ws, b"to the writer").await;
        match within::<R, _>("the message", ws.recv()).await {
            Some(Ok(Message::Binary(b))) => {
                assert_eq!(b.len(), 301_000);
                assert!(
                    b[..300_000].iter().all(|&x| x == 1) && b[300_000..].iter().all(|&x| x == 2)
                );
            }
            other => panic!("{}: {other:?}", R::NAME),
        }
        ws.close(None).await.unwrap();
        let report = within::<R, _>("the report", reports.next()).await.unwrap();
        assert_eq!(report, "Ok(100000) true", "{}", R::NAME);
    });
}

/// Echoes each message back as it was received: streamed in, streamed out.
fn streaming_echo<T: Transport + Send + 'static>(
    mut ws: WebSocketStream<T>,
) -> futures::future::BoxFuture<'static, String> {
    Box::pin(async move {
        let mut count = 0;
        while let Ok((kind, bytes)) = read_stream(&mut ws, u64::MAX).await {
            let Ok(mut writer) = ws.send_stream(kind).await else {
                break;
            };
            for piece in bytes.chunks(7000) {
                writer.write_all(piece).await.unwrap();
            }
            // Having read the whole echo, the client may close while our last flush runs: the
            // write then reports its close (ClosedByPeer), as `send` does.
            let finished = writer.finish().await;
            count += 1;
            if let Err(e) = finished {
                assert!(matches!(e, Error::ClosedByPeer(_)), "{e}");
                break;
            }
        }
        format!("{count} messages")
    })
}

fn streamed_and_whole_messages_mix_on_one_connection<R: Runtime>() {
    let (url, mut reports) = serve_reporting::<R, _>(streaming_echo);
    R::block_on(async {
        for deflate in [false, true] {
            let mut ws = connect::<R>(&url, deflate).await;
            let text = "é streamed text ".repeat(20_000);
            for round in 0..2 {
                ws.send(Message::text(text.as_str())).await.unwrap();
                match within::<R, _>("whole echo", ws.recv()).await {
                    Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), text),
                    other => panic!("{}: {other:?}", R::NAME),
                }
                let mut writer = ws.send_stream(MessageKind::Binary).await.unwrap();
                writer.write_all(&vec![round as u8; 500_000]).await.unwrap();
                writer.close().await.unwrap();
                drop(writer);
                let (kind, bytes) = within::<R, _>("streamed echo", read_stream(&mut ws, 1 << 20))
                    .await
                    .unwrap();
                assert_eq!((kind, bytes.len()), (MessageKind::Binary, 500_000));
                assert!(bytes.iter().all(|&b| b == round as u8));
                // A text message streamed in whole pieces of UTF-8, split mid-character too.
                let mut writer = ws.send_stream(MessageKind::Text).await.unwrap();
                for piece in text.as_bytes().chunks(4099) {
                    writer.write_all(piece).await.unwrap();
                }
                writer.finish().await.unwrap();
                drop(writer);
                let (kind, bytes) = within::<R, _>("text echo", read_stream(&mut ws, 1 << 20))
                    .await
                    .unwrap();
                assert_eq!((kind, bytes), (MessageKind::Text, text.as_bytes().to_vec()));
            }
            ws.close(None).await.unwrap();
            let report = within::<R, _>("the report", reports.next()).await.unwrap();
            assert_eq!(report, "6 messages", "{} deflate {deflate}", R::NAME);
        }
    });
}

fn into_io_carries_bytes_both_ways<R: Runtime>() {
    let (url, mut reports) = serve_reporting::<R, _>(|ws| {
        Box::pin(async move {
            let (read, mut write) = ws.into_io().split();
            let copied = futures::io::copy(read, &mut write).await;
            let _ = write.close().await;
            format!("{copied:?}")
        })
    });
    R::block_on(async {
        let ws = connect::<R>(&url, true).await;
        let (mut read, mut write) = ws.into_io().split();
        let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 253) as u8).collect();
        let sending = async {
            for piece in data.chunks(10_000) {
                write.write_all(piece).await.unwrap();
            }
            write.flush().await.unwrap();
        };
        let receiving = async {
            let mut back = vec![0u8; data.len()];
            read.read_exact(&mut back).await.unwrap();
            back
        };
        let ((), back) =
            within::<R, _>("the echo", futures::future::join(sending, receiving)).await;
        assert!(back == data, "{}: echoed bytes differ", R::NAME);
        within::<R, _>("close", write.close()).await.unwrap();
        let mut rest = Vec::new();
        within::<R, _>("the end", read.read_to_end(&mut rest))
            .await
            .unwrap();
        assert!(rest.is_empty());
        let report = within::<R, _>("the report", reports.next()).await.unwrap();
        assert_eq!(report, "Ok(2000000)", "{}", R::NAME);
    });
}

/// Echoes each message chunk by chunk as it arrives: the reading half streams it in while the
/// writing half streams it out, at the same time.
fn split_streaming_echo<T: Transport + Send + 'static>(
    ws: WebSocketStream<T>,
) -> futures::future::BoxFuture<'static, String> {
    Box::pin(async move {
        let (mut sink, mut reader) = ws.split();
        let mut echoed = 0u64;
        while let Some(Ok(mut incoming)) = reader.recv_stream_with_limit(u64::MAX).await {
            let Ok(mut writer) = sink.send_stream(incoming.kind()).await else {
                break;
            };
            while let Some(Ok(chunk)) = incoming.next().await {
                echoed += chunk.len() as u64;
                if writer.write_all(&chunk).await.is_err() {
                    return format!("write failed after {echoed}");
                }
            }
            let _ = writer.finish().await;
        }
        format!("{echoed} bytes")
    })
}

fn split_halves_stream_both_ways_at_once<R: Runtime>() {
    let (url, mut reports) = serve_reporting::<R, _>(split_streaming_echo);
    R::block_on(async {
        for deflate in [false, true] {
            let (mut sink, mut reader) = connect::<R>(&url, deflate).await.split();
            let len = 8_000_000usize;
            let data: Vec<u8> = (0..len as u32).map(|i| (i / 3 % 251) as u8).collect();
            // Both at once: the echo comes back while we are still sending, through the
            // bounded buffers of both ends.
            let sending = async {
                let mut writer = sink.send_stream(MessageKind::Binary).await.unwrap();
                for piece in data.chunks(100_000) {
                    writer.write_all(piece).await.unwrap();
                }
                writer.finish().await.unwrap();
            };
            let receiving = async {
                let mut back = Vec::with_capacity(len);
                let mut incoming = reader
                    .recv_stream_with_limit(u64::MAX)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(incoming.kind(), MessageKind::Binary);
                while let Some(chunk) = incoming.next().await {
                    back.extend_from_slice(&chunk.unwrap());
                }
                back
            };
            let ((), back) =
                within::<R, _>("the echo", futures::future::join(sending, receiving)).await;
            assert!(
                back == data,
                "{} deflate {deflate}: the echo differs",
                R::NAME
            );
            within::<R, _>("close", sink.close(None)).await.unwrap();
            while within::<R, _>("the end", reader.recv()).await.is_some() {}
            let report = within::<R, _>("the report", reports.next()).await.unwrap();
            assert_eq!(
                report,
                format!("{len} bytes"),
                "{} deflate {deflate}",
                R::NAME
            );
        }
    });
}

#[test]
fn errors_say_what_happened() {
    let cut = Error::MessageCut(None).to_string();
    assert!(cut.contains("before the end of the message"), "{cut}");
    let io = std::io::Error::other(Error::Protocol(ProtocolError::InvalidUtf8));
    assert!(io.to_string().contains("UTF-8"));
}

tests::for_each_runtime!(
    invalid_utf8_mid_stream_closes_with_1007_before_the_rest_is_read,
    a_limit_hit_mid_stream_closes_with_1009,
    a_writer_dropped_half_way_fails_the_connection_with_1011,
    a_reader_dropped_half_way_discards_the_rest_and_the_connection_goes_on,
    pings_are_answered_while_a_stream_is_open_both_ways,
    streamed_and_whole_messages_mix_on_one_connection,
    into_io_carries_bytes_both_ways,
    split_halves_stream_both_ways_at_once,
);
