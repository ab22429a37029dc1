//! WebSocket (RFC 6455) for the tokio runtime.
//!
//! [`connect`] opens `ws://` and `wss://` connections (rustls, web PKI roots by default);
//! [`accept`] runs the server handshake on any byte stream, including a TLS one. Both give a
//! WebSocket stream: a `futures::Stream` of received [`Message`]s and a `futures::Sink` of
//! messages to send, with `send`, `recv`, `close` and `split`. The protocol lives in
//! [`ws_proto`] and [`ws_handshake`](mod@ws_handshake), the async driving logic in `ws-driver`,
//! shared by every runtime adapter: this crate only binds it to tokio's timer, sockets and
//! I/O types ([`Tokio`], [`TokioIo`]).
//!
//! # Accept, connect, close
//!
//! An echo server ([`accept`]) and a client ([`connect`]) that sends one message, reads the
//! echo and runs the closing handshake ([`close`](WebSocketStream::close)):
//!
//! ```
//! use ws_tokio::Message;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn(async move {
//!     while let Ok((tcp, _)) = listener.accept().await {
//!         tokio::spawn(async move {
//!             let mut ws = ws_tokio::accept(tcp).await?;
//!             while let Some(message) = ws.recv().await {
//!                 let message = message?;
//!                 if message.is_data() {
//!                     ws.send(message).await?;
//!                 }
//!             }
//!             Ok::<_, ws_tokio::Error>(())
//!         });
//!     }
//! });
//!
//! let (mut ws, response) = ws_tokio::connect(format!("ws://{addr}/")).await?;
//! assert_eq!(response.status(), 101);
//! ws.send(Message::text("hello")).await?;
//! assert_eq!(ws.recv().await.expect("an echo")?, Message::text("hello"));
//! ws.close(None).await?;
//! # Ok(())
//! # }
//! ```
//!
//! The halves of [`split`](WebSocketStream::split) have names in this crate, so they can be
//! passed to functions and stored:
//!
//! ```no_run
//! use tokio::net::TcpStream;
//! use ws_tokio::{Message, WebSocketReader, WebSocketSink};
//!
//! async fn forward(mut sink: WebSocketSink<TcpStream>, mut reader: WebSocketReader<TcpStream>) {
//!     while let Some(Ok(message)) = reader.recv().await {
//!         if message.is_data() && sink.send(message).await.is_err() {
//!             break;
//!         }
//!     }
//! }
//!
//! # async fn run(tcp: TcpStream) -> Result<(), ws_tokio::Error> {
//! let (sink, reader) = ws_tokio::accept(tcp).await?.split();
//! forward(sink, reader).await;
//! # Ok(())
//! # }
//! ```
//!
//! # Settings and limits: `accept_with`, `connect_with`
//!
//! [`accept_with`] lets a callback accept or refuse each request, and takes a [`ServerConfig`];
//! [`connect_with`] takes a [`ClientConfig`]. Each limit and deadline of the protocol core
//! ([`ws_proto::Config`]) has one setter, named as the core's and the same on [`ClientConfig`],
//! [`ServerConfig`] and [`StreamConfig`]. A message over `max_message_size` closes the
//! connection with 1009:
//!
//! ```
//! use std::time::Duration;
//! use ws_tokio::{http, Accept, ClientConfig, ClientError, CloseCode, Error, Message};
//! use ws_tokio::{Reject, ServerConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let addr = listener.local_addr()?;
//! // The server takes messages up to 64 KiB, and serves `/chat` only.
//! let server_config = ServerConfig::default()
//!     .max_message_size(64 * 1024)
//!     .handshake_timeout(Duration::from_secs(5));
//! let only_chat = |request: &http::Request<()>| match request.uri().path() {
//!     "/chat" => Ok(Accept::default()),
//!     _ => Err(Reject::new(http::StatusCode::NOT_FOUND).body("no such endpoint")),
//! };
//! tokio::spawn(async move {
//!     while let Ok((tcp, _)) = listener.accept().await {
//!         let config = server_config.clone();
//!         tokio::spawn(async move {
//!             let mut ws = ws_tokio::accept_with(tcp, only_chat, config).await?;
//!             while let Some(message) = ws.recv().await {
//!                 let message = message?;
//!                 if message.is_data() {
//!                     ws.send(message).await?;
//!                 }
//!             }
//!             Ok::<_, ws_tokio::Error>(())
//!         });
//!     }
//! });
//!
//! // The client: messages up to 1 MiB, a keepalive ping after 20 s of silence.
//! let client_config = ClientConfig::default()
//!     .max_message_size(1 << 20)
//!     .keepalive_interval(Some(Duration::from_secs(20)))
//!     .keepalive_timeout(Duration::from_secs(10))
//!     .handshake_timeout(Duration::from_secs(5));
//! let (mut ws, _) = ws_tokio::connect_with(format!("ws://{addr}/chat"), client_config.clone()).await?;
//! ws.send(Message::binary(vec![0; 1024])).await?;
//! assert_eq!(ws.recv().await.expect("an echo")?.len(), 1024);
//! ws.send(Message::binary(vec![0; 100 * 1024])).await?; // over the server's limit
//! match ws.recv().await.expect("a close")? {
//!     Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::MESSAGE_TOO_BIG),
//!     other => panic!("expected a 1009 close, got {other:?}"),
//! }
//!
//! // Another path: the callback's refusal, with its status and body.
//! let refused = ws_tokio::connect_with(format!("ws://{addr}/admin"), client_config).await;
//! match refused.err().expect("a refusal") {
//!     Error::ClientHandshake(ClientError::Rejected { response }) => {
//!         assert_eq!(response.status(), 404);
//!         assert_eq!(response.body(), b"no such endpoint");
//!     }
//!     other => panic!("expected a 404, got {other}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Two tasks: `split`
//!
//! [`split`](WebSocketStream::split) gives a sink half and a reader half, for a task that
//! writes while another reads; `reunite` puts them back together:
//!
//! ```
//! use ws_tokio::Message;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let addr = listener.local_addr()?;
//! # tokio::spawn(async move {
//! #     let (tcp, _) = listener.accept().await.expect("a connection");
//! #     let mut ws = ws_tokio::accept(tcp).await.expect("a handshake");
//! #     while let Some(Ok(message)) = ws.recv().await {
//! #         if message.is_data() && ws.send(message).await.is_err() {
//! #             break;
//! #         }
//! #     }
//! # });
//! let (ws, _) = ws_tokio::connect(format!("ws://{addr}/")).await?;
//! let (mut sink, mut reader) = ws.split();
//! let writer = tokio::spawn(async move {
//!     for n in 0..3 {
//!         sink.send(Message::text(format!("message {n}"))).await?;
//!     }
//!     Ok::<_, ws_tokio::Error>(sink)
//! });
//! for n in 0..3 {
//!     let echo = reader.recv().await.expect("an echo")?;
//!     assert_eq!(echo, Message::text(format!("message {n}")));
//! }
//! let sink = writer.await??;
//! let mut ws = reader.reunite(sink).ok().expect("the halves of one stream");
//! ws.close(None).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # `wss://` with a private certificate authority
//!
//! [`connect`] trusts the web PKI roots. To trust your own CA instead, give a rustls client
//! configuration in [`ClientConfig::tls`]:
//!
//! ```
//! use std::sync::Arc;
//! use rustls::pki_types::{pem::PemObject, CertificateDer};
//! use ws_tokio::{ClientConfig, Message};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // A CA, and a certificate for 127.0.0.1 that it signs, made with rcgen.
//! # let ca_key = rcgen::KeyPair::generate()?;
//! # let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
//! # ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
//! # let ca_pem = ca_params.self_signed(&ca_key)?.pem();
//! # let issuer = rcgen::Issuer::new(ca_params, ca_key);
//! # let key = rcgen::KeyPair::generate()?;
//! # let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])?
//! #     .signed_by(&key, &issuer)?;
//! # let provider = Arc::new(rustls::crypto::ring::default_provider());
//! # let server_tls = rustls::ServerConfig::builder_with_provider(provider)
//! #     .with_safe_default_protocol_versions()?
//! #     .with_no_client_auth()
//! #     .with_single_cert(
//! #         vec![cert.der().clone()],
//! #         rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
//! #     )?;
//! # let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_tls));
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let port = listener.local_addr()?.port();
//! # tokio::spawn(async move {
//! #     let (tcp, _) = listener.accept().await.expect("a connection");
//! #     let tls = acceptor.accept(tcp).await.expect("a TLS handshake");
//! #     let mut ws = ws_tokio::accept(tls).await.expect("a handshake");
//! #     while let Some(Ok(message)) = ws.recv().await {
//! #         if message.is_data() && ws.send(message).await.is_err() {
//! #             break;
//! #         }
//! #     }
//! # });
//! // ca_pem: the CA's certificate, PEM-encoded.
//! let mut roots = rustls::RootCertStore::empty();
//! roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes())?)?;
//! let provider = Arc::new(rustls::crypto::ring::default_provider());
//! let tls = rustls::ClientConfig::builder_with_provider(provider)
//!     .with_safe_default_protocol_versions()?
//!     .with_root_certificates(roots)
//!     .with_no_client_auth();
//! let config = ClientConfig::default().tls(Arc::new(tls));
//! let (mut ws, _) = ws_tokio::connect_with(format!("wss://127.0.0.1:{port}/"), config).await?;
//! ws.send(Message::text("over TLS")).await?;
//! assert_eq!(ws.recv().await.expect("an echo")?, Message::text("over TLS"));
//! ws.close(None).await?;
//! # Ok(())
//! # }
//! ```
//!
//! [`accept_with`] also suits browsers: check the `Origin` header in the callback (RFC 6455
//! §10.2) and refuse others with 403.
#![cfg_attr(
    feature = "hyper",
    doc = "\nWith the `hyper` feature, [`upgrade`] turns a request received by a hyper 1.x service \
           (or an axum 0.8 handler) into a WebSocket stream, over HTTP/1.1 or HTTP/2 (RFC 8441)."
)]
#![cfg_attr(
    not(feature = "hyper"),
    doc = "\nWith the `hyper` feature, `upgrade` turns a request received by a hyper 1.x service \
           (or an axum 0.8 handler) into a WebSocket stream, over HTTP/1.1 or HTTP/2 (RFC 8441)."
)]
#![cfg_attr(
    feature = "http2",
    doc = "\nWith the `http2` feature, [`http2`] opens client WebSockets over HTTP/2, several on \
           one connection."
)]
#![cfg_attr(
    not(feature = "http2"),
    doc = "\nWith the `http2` feature, `http2` opens client WebSockets over HTTP/2, several on \
           one connection."
)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "http2")]
pub mod http2;
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub mod upgrade;

mod runtime;

pub use ws_driver::{http, ws_handshake, ws_proto};

pub use runtime::{ProxyStream, Tokio, TokioIo};

/// tokio's `AsyncRead`/`AsyncWrite` for streamed messages and byte streams, which implement
/// the futures-io traits: `reader.compat()` (a [`MessageReader`]) and
/// `writer.compat_write()` (a [`MessageWriter`]) through [`FuturesAsyncReadCompatExt`] and
/// [`FuturesAsyncWriteCompatExt`], `ws.into_io().compat()` for both (a [`ByteStream`]).
///
/// ```no_run
/// use ws_tokio::compat::FuturesAsyncReadCompatExt;
///
/// # async fn run(mut ws: ws_tokio::ClientStream) -> Result<(), Box<dyn std::error::Error>> {
/// let mut sink = tokio::io::sink(); // a file, a pipe, ...
/// if let Some(reader) = ws.recv_stream().await {
///     tokio::io::copy(&mut reader?.compat(), &mut sink).await?;
/// }
/// # Ok(())
/// # }
/// ```
///
/// [`FuturesAsyncReadCompatExt`]: compat::FuturesAsyncReadCompatExt
/// [`FuturesAsyncWriteCompatExt`]: compat::FuturesAsyncWriteCompatExt
pub mod compat {
    pub use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt, FuturesAsyncWriteCompatExt};
}

ws_driver::adapter_api! {
    runtime: "tokio",
    rt: Tokio,
    io: TokioIo,
    read: tokio::io::AsyncRead,
    write: tokio::io::AsyncWrite,
    tcp: tokio::net::TcpStream,
}
