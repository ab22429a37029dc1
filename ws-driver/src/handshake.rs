//! The opening handshake driven over a transport: client and server.

use crate::config::{ClientConfig, ServerConfig};
use crate::deflate::{client_deflate, offer_deflate};
use crate::error::Error;
use crate::stream::WebSocketStream;
use crate::transport::Transport;
use bytes::BytesMut;
use futures_util::future::{poll_fn, select, Either};
use std::future::Future;
use std::io;
use std::pin::Pin;
use ws_handshake::{Callback, ClientHandshake, ClientStatus};
use ws_proto::Role;

pub(crate) async fn write_all<T: Transport>(io: &mut T, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        let n = poll_fn(|cx| io.poll_write_vectored(cx, &[io::IoSlice::new(data)])).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
    }
    poll_fn(|cx| io.poll_flush(cx)).await
}

pub(crate) async fn with_timeout<T, F>(sleep: crate::Sleep, fut: F) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>>,
{
    let fut = std::pin::pin!(fut);
    match select(fut, sleep).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => Err(Error::HandshakeTimeout),
    }
}

/// Runs the client's opening handshake on a connected transport (RFC 6455 §4.1).
///
/// Returns the stream and the server's 101 response. A non-101 answer is
/// `Error::ClientHandshake(ClientError::Rejected { .. })` with status, headers and body.
pub async fn client_handshake<T: Transport>(
    io: T,
    handshake: ClientHandshake,
    config: &ClientConfig,
) -> Result<(WebSocketStream<T>, http::Response<()>), Error> {
    config.stream.check()?;
    let sleep = io.sleep(config.handshake_timeout);
    with_timeout(
        sleep,
        client_handshake_inner(io, handshake, config, BytesMut::new()),
    )
    .await
}

/// The client handshake without its own timeout; `buf` holds bytes already read from the
/// server (what followed a proxy's answer in the same read).
pub(crate) async fn client_handshake_inner<T: Transport>(
    mut io: T,
    mut handshake: ClientHandshake,
    config: &ClientConfig,
    mut buf: BytesMut,
) -> Result<(WebSocketStream<T>, http::Response<()>), Error> {
    offer_deflate(&mut handshake, config)?;
    write_all(&mut io, &handshake.request_bytes()).await?;
    // Bytes that arrived with a proxy's answer came from the server: parse them before reading.
    let mut pending = !buf.is_empty();
    loop {
        if !std::mem::take(&mut pending) {
            let n = poll_fn(|cx| io.poll_read_buf(cx, &mut buf)).await?;
            if n == 0 {
                return Err(handshake.finish_eof(&buf).into());
            }
        }
        match handshake.parse_response(&buf)? {
            ClientStatus::Partial => continue,
            ClientStatus::Done {
                response,
                consumed,
                extensions,
                ..
            } => {
                tracing::debug!(status = %response.status(), "websocket client handshake done");
                let deflate = client_deflate(&extensions, config)?;
                let mut ws = WebSocketStream::from_transport(
                    io,
                    Role::Client,
                    &config.stream,
                    &buf[consumed..],
                )?;
                if let Some(codec) = deflate {
                    ws.set_extension(codec);
                }
                return Ok((ws, response));
            }
        }
    }
}

/// Runs the server's opening handshake on an accepted transport (RFC 6455 §4.2), asking
/// `callback` to accept or reject the request. Malformed requests and rejections are answered
/// with an HTTP error and the transport is closed.
pub async fn server_handshake<T: Transport, C: Callback>(
    io: T,
    callback: C,
    config: &ServerConfig,
) -> Result<WebSocketStream<T>, Error> {
    server_handshake_owned(io, callback, config.clone()).await
}

/// [`server_handshake`] owning its settings, with all of its state boxed: what the adapters'
/// `accept` and `accept_with` return.
///
/// The future is a pointer, and its box (request, buffers, response, the transport until the
/// stream is made) is freed once the handshake is over. Unboxed, it would size every future
/// that awaits `accept` and then serves the stream (`spawn(async move { let ws =
/// accept(tcp).await?; ... })`): hundreds of bytes held for the connection's whole life.
#[doc(hidden)]
pub fn server_handshake_owned<T: Transport, C: Callback>(
    io: T,
    callback: C,
    config: ServerConfig,
) -> Pin<Box<impl Future<Output = Result<WebSocketStream<T>, Error>>>> {
    Box::pin(async move {
        config.stream.check()?;
        let sleep = io.sleep(config.handshake_timeout);
        with_timeout(sleep, server_handshake_inner(io, callback, &config)).await
    })
}

async fn server_handshake_inner<T: Transport, C: Callback>(
    mut io: T,
    callback: C,
    config: &ServerConfig,
) -> Result<WebSocketStream<T>, Error> {
    let mut buf = BytesMut::new();
    let (request, consumed) = loop {
        let n = poll_fn(|cx| io.poll_read_buf(cx, &mut buf)).await?;
        match ws_handshake::parse_request(&buf, &config.handshake) {
            Ok(Some(parsed)) => break parsed,
            Ok(None) if n == 0 => {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
            }
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(error = %e, "websocket handshake request refused");
                let _ = write_all(&mut io, &e.response_bytes()).await;
                let _ = poll_fn(|cx| io.poll_shutdown(cx)).await;
                return Err(e.into());
            }
        }
    };
    match crate::accept::accept_validated(&request, callback, config) {
        Ok((response, accepted)) => {
            write_all(&mut io, &ws_handshake::encode_response(&response)).await?;
            tracing::debug!(
                uri = %request.uri(),
                extensions = ?accepted.negotiated().extensions,
                "websocket server handshake done"
            );
            accepted.into_stream(io, &buf[consumed..])
        }
        Err(refusal) => {
            let _ = write_all(&mut io, &ws_handshake::encode_refusal(&refusal.response)).await;
            let _ = poll_fn(|cx| io.poll_shutdown(cx)).await;
            Err(refusal.error.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::IoSlice;
    use std::task::{Context, Poll};
    use std::time::Duration;
    use ws_handshake::NoCallback;

    /// A transport with state of its own (as a TLS stream has), never polled: the test looks
    /// only at sizes.
    struct Bulky {
        _state: [u8; 512],
    }

    impl Transport for Bulky {
        fn poll_read_buf(
            &mut self,
            _: &mut Context<'_>,
            _: &mut BytesMut,
        ) -> Poll<io::Result<usize>> {
            Poll::Pending
        }
        fn poll_write_vectored(
            &mut self,
            _: &mut Context<'_>,
            _: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            Poll::Pending
        }
        fn poll_flush(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Pending
        }
        fn poll_shutdown(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Pending
        }
        fn sleep(&self, _: Duration) -> crate::Sleep {
            Box::pin(std::future::pending())
        }
    }

    /// A task that accepts and then serves a connection holds the accept's future and the
    /// stream (often twice) for the connection's whole life: each must cost a pointer, whatever
    /// the transport and the handshake's state weigh.
    #[test]
    fn the_accept_future_and_the_stream_are_each_a_pointer() {
        let accept = server_handshake_owned(
            Bulky { _state: [0; 512] },
            NoCallback,
            ServerConfig::default(),
        );
        assert_eq!(std::mem::size_of_val(&accept), std::mem::size_of::<usize>());
        assert_eq!(
            std::mem::size_of::<WebSocketStream<Bulky>>(),
            std::mem::size_of::<usize>()
        );
    }
}
