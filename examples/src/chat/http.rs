//! The little HTTP the chat needs before the WebSocket handshake: read one request head
//! (bounded), route it, and answer the page or an error. A WebSocket request is handed on with
//! the bytes already read put back in front of the socket ([`Rewind`]).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// Most headers a request may have.
const MAX_HEADERS: usize = 64;

/// Why no request head could be read.
#[derive(Debug, thiserror::Error)]
pub enum HeadError {
    /// The head is larger than the limit: answered with 431.
    #[error("request head larger than {0} bytes")]
    TooLarge(usize),
    /// Not HTTP/1.x: answered with 400.
    #[error("malformed request head: {0}")]
    Malformed(httparse::Error),
    /// The peer closed or the socket failed before the head was complete.
    #[error("the connection ended before the request head")]
    Io(#[from] io::Error),
}

impl HeadError {
    /// The response to send, if the connection is still worth answering.
    pub fn response(&self) -> Option<Vec<u8>> {
        match self {
            HeadError::TooLarge(_) => Some(response(
                "431 Request Header Fields Too Large",
                &[],
                "text/plain",
                b"request head too large\n",
            )),
            HeadError::Malformed(_) => Some(bad_request()),
            HeadError::Io(_) => None,
        }
    }
}

/// Reads until a complete request head, at most `max` bytes of it. Returns everything read:
/// the head and whatever the client sent after it.
pub async fn read_head<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Vec<u8>, HeadError> {
    let mut buf = Vec::with_capacity(1024.min(max));
    let mut chunk = [0u8; 1024];
    loop {
        let n = reader.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match httparse::Request::new(&mut headers).parse(&buf) {
            Ok(httparse::Status::Complete(len)) if len <= max => return Ok(buf),
            Ok(httparse::Status::Complete(_)) => return Err(HeadError::TooLarge(max)),
            Ok(httparse::Status::Partial) if buf.len() >= max => {
                return Err(HeadError::TooLarge(max))
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge(max)),
            Err(e) => return Err(HeadError::Malformed(e)),
        }
    }
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /`: the chat page.
    Page,
    /// `GET /ws` with `Upgrade: websocket`: run the handshake; the name from `?name=`.
    WebSocket {
        /// The `name` query parameter, decoded, if present and valid UTF-8.
        name: Option<String>,
    },
    /// Anything else: this complete response.
    Respond(Vec<u8>),
}

/// Routes a complete request head (as returned by [`read_head`]).
pub fn route(head: &[u8]) -> Route {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    if request.parse(head).is_err() {
        return Route::Respond(bad_request());
    }
    let (path, query) = match request.path.unwrap_or("").split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (request.path.unwrap_or(""), None),
    };
    if request.method != Some("GET") {
        return Route::Respond(response(
            "405 Method Not Allowed",
            &["Allow: GET"],
            "text/plain",
            b"only GET\n",
        ));
    }
    match path {
        "/" | "/index.html" => Route::Page,
        "/ws" => {
            let upgrade = request.headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("upgrade")
                    && String::from_utf8_lossy(h.value)
                        .split(',')
                        .any(|token| token.trim().eq_ignore_ascii_case("websocket"))
            });
            if upgrade {
                Route::WebSocket {
                    name: query.and_then(|q| query_param(q, "name")),
                }
            } else {
                Route::Respond(response(
                    "426 Upgrade Required",
                    &["Upgrade: websocket", "Sec-WebSocket-Version: 13"],
                    "text/plain",
                    b"this endpoint speaks WebSocket only\n",
                ))
            }
        }
        _ => Route::Respond(response("404 Not Found", &[], "text/plain", b"not found\n")),
    }
}

fn bad_request() -> Vec<u8> {
    response("400 Bad Request", &[], "text/plain", b"bad request\n")
}

/// A complete `Connection: close` response.
pub fn response(status: &str, headers: &[&str], content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        body.len()
    )
    .into_bytes();
    for header in headers {
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The first `key` parameter of a query string, form-decoded (`+` is a space, `%XX` a byte).
/// `None` if absent, badly escaped or not UTF-8.
pub fn query_param(query: &str, key: &str) -> Option<String> {
    let value = query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == key)?
        .1;
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = tail.get(..2)?;
                let hex = std::str::from_utf8(hex).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                rest = &tail[2..];
                continue;
            }
            _ => bytes.push(b),
        }
        rest = tail;
    }
    String::from_utf8(bytes).ok()
}

/// A stream that first yields bytes already read from it, then reads on: lets the WebSocket
/// handshake parse a request head the router has already consumed.
pub struct Rewind<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Rewind<S> {
    /// `inner`, with `prefix` read first.
    pub fn new(prefix: Vec<u8>, inner: S) -> Self {
        Rewind {
            prefix,
            pos: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.prefix.len() {
            let n = buf.remaining().min(this.prefix.len() - this.pos);
            buf.put_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(route: Route) -> String {
        match route {
            Route::Respond(bytes) => String::from_utf8_lossy(&bytes)
                .lines()
                .next()
                .unwrap_or("")
                .to_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn routes() {
        assert_eq!(route(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Route::Page);
        assert_eq!(
            route(b"GET /ws?name=Ann+Lee%21&x=1 HTTP/1.1\r\nUpgrade: WebSocket\r\n\r\n"),
            Route::WebSocket {
                name: Some("Ann Lee!".into())
            }
        );
        assert_eq!(
            status(route(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")),
            "HTTP/1.1 426 Upgrade Required"
        );
        assert_eq!(
            status(route(b"GET /nope HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 404 Not Found"
        );
        assert_eq!(
            status(route(b"POST / HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 405 Method Not Allowed"
        );
    }

    #[test]
    fn query_decoding() {
        assert_eq!(
            query_param("a=1&name=%E2%9C%93", "name").as_deref(),
            Some("✓")
        );
        assert_eq!(query_param("name", "name").as_deref(), Some(""));
        assert_eq!(query_param("name=%Z1", "name"), None);
        assert_eq!(query_param("name=%FF", "name"), None);
        assert_eq!(query_param("name=%4", "name"), None);
        assert_eq!(query_param("other=1", "name"), None);
    }

    #[tokio::test]
    async fn head_limits() {
        let mut big: &[u8] = &[b'a'; 10_000];
        assert!(matches!(
            read_head(&mut big, 8192).await,
            Err(HeadError::Malformed(_)) | Err(HeadError::TooLarge(_))
        ));
        let mut long = b"GET / HTTP/1.1\r\nX: ".to_vec();
        long.extend_from_slice(&[b'a'; 9000]);
        let mut long: &[u8] = &long;
        assert!(matches!(
            read_head(&mut long, 8192).await,
            Err(HeadError::TooLarge(8192))
        ));
        let mut cut: &[u8] = b"GET / HTTP/1.1\r\n";
        assert!(matches!(
            read_head(&mut cut, 8192).await,
            Err(HeadError::Io(_))
        ));
        let mut ok: &[u8] = b"GET / HTTP/1.1\r\n\r\nextra";
        assert_eq!(
            read_head(&mut ok, 8192).await.ok().as_deref(),
            Some(&b"GET / HTTP/1.1\r\n\r\nextra"[..])
        );
    }
}
