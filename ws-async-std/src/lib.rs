//! WebSocket (RFC 6455) for the async-std runtime.
//!
//! [`connect`] opens `ws://` and `wss://` connections (rustls, web PKI roots by default);
//! [`accept`] runs the server handshake on any byte stream, including a TLS one. Both give a
//! WebSocket stream: a `futures::Stream` of received [`Message`]s and a `futures::Sink` of
//! messages to send, with `send`, `recv`, `close` and `split`. The protocol lives in
//! [`ws_proto`] and [`ws_handshake`](mod@ws_handshake), the async driving logic in `ws-driver`,
//! shared by every runtime adapter: this crate only binds it to async-std's timer, sockets and
//! I/O types ([`AsyncStd`], [`AsyncStdIo`]).
//!
//! # Accept, connect, close
//!
//! An echo server ([`accept`]) and a client ([`connect`]) that sends one message, reads the
//! echo and runs the closing handshake ([`close`](WebSocketStream::close)):
//!
//! ```
//! use ws_async_std::Message;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # async_std::task::block_on(async {
//! let listener = async_std::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! async_std::task::spawn(async move {
//!     while let Ok((tcp, _)) = listener.accept().await {
//!         async_std::task::spawn(async move {
//!             let mut ws = ws_async_std::accept(tcp).await?;
//!             while let Some(message) = ws.recv().await {
//!                 let message = message?;
//!                 if message.is_data() {
//!                     ws.send(message).await?;
//!                 }
//!             }
//!             Ok::<_, ws_async_std::Error>(())
//!         });
//!     }
//! });
//!
//! let (mut ws, response) = ws_async_std::connect(format!("ws://{addr}/")).await?;
//! assert_eq!(response.status(), 101);
//! ws.send(Message::text("hello")).await?;
//! assert_eq!(ws.recv().await.expect("an echo")?, Message::text("hello"));
//! ws.close(None).await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
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
//! use ws_async_std::{http, Accept, ClientConfig, ClientError, CloseCode, Error, Message};
//! use ws_async_std::{Reject, ServerConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # async_std::task::block_on(async {
//! # let listener = async_std::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let addr = listener.local_addr()?;
//! // The server takes messages up to 64 KiB, and serves `/chat` only.
//! let server_config = ServerConfig::default()
//!     .max_message_size(64 * 1024)
//!     .handshake_timeout(Duration::from_secs(5));
//! let only_chat = |request: &http::Request<()>| match request.uri().path() {
//!     "/chat" => Ok(Accept::default()),
//!     _ => Err(Reject::new(http::StatusCode::NOT_FOUND).body("no such endpoint")),
//! };
//! async_std::task::spawn(async move {
//!     while let Ok((tcp, _)) = listener.accept().await {
//!         let config = server_config.clone();
//!         async_std::task::spawn(async move {
//!             let mut ws = ws_async_std::accept_with(tcp, only_chat, config).await?;
//!             while let Some(message) = ws.recv().await {
//!                 let message = message?;
//!                 if message.is_data() {
//!                     ws.send(message).await?;
//!                 }
//!             }
//!             Ok::<_, ws_async_std::Error>(())
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
//! let (mut ws, _) = ws_async_std::connect_with(format!("ws://{addr}/chat"), client_config.clone()).await?;
//! ws.send(Message::binary(vec![0; 1024])).await?;
//! assert_eq!(ws.recv().await.expect("an echo")?.len(), 1024);
//! ws.send(Message::binary(vec![0; 100 * 1024])).await?; // over the server's limit
//! match ws.recv().await.expect("a close")? {
//!     Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::MESSAGE_TOO_BIG),
//!     other => panic!("expected a 1009 close, got {other:?}"),
//! }
//!
//! // Another path: the callback's refusal, with its status and body.
//! let refused = ws_async_std::connect_with(format!("ws://{addr}/admin"), client_config).await;
//! match refused.err().expect("a refusal") {
//!     Error::ClientHandshake(ClientError::Rejected { response }) => {
//!         assert_eq!(response.status(), 404);
//!         assert_eq!(response.body(), b"no such endpoint");
//!     }
//!     other => panic!("expected a 404, got {other}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```
//!
//! # Two tasks: `split`
//!
//! [`split`](WebSocketStream::split) gives a sink half and a reader half, for a task that
//! writes while another reads; `reunite` puts them back together:
//!
//! ```
//! use ws_async_std::Message;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # async_std::task::block_on(async {
//! # let listener = async_std::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let addr = listener.local_addr()?;
//! # async_std::task::spawn(async move {
//! #     let (tcp, _) = listener.accept().await.expect("a connection");
//! #     let mut ws = ws_async_std::accept(tcp).await.expect("a handshake");
//! #     while let Some(Ok(message)) = ws.recv().await {
//! #         if message.is_data() && ws.send(message).await.is_err() {
//! #             break;
//! #         }
//! #     }
//! # });
//! let (ws, _) = ws_async_std::connect(format!("ws://{addr}/")).await?;
//! let (mut sink, mut reader) = ws.split();
//! let writer = async_std::task::spawn(async move {
//!     for n in 0..3 {
//!         sink.send(Message::text(format!("message {n}"))).await?;
//!     }
//!     Ok::<_, ws_async_std::Error>(sink)
//! });
//! for n in 0..3 {
//!     let echo = reader.recv().await.expect("an echo")?;
//!     assert_eq!(echo, Message::text(format!("message {n}")));
//! }
//! let sink = writer.await?;
//! let mut ws = reader.reunite(sink).ok().expect("the halves of one stream");
//! ws.close(None).await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
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
//! use ws_async_std::{ClientConfig, Message};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # async_std::task::block_on(async {
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
//! # let acceptor = futures_rustls::TlsAcceptor::from(Arc::new(server_tls));
//! # let listener = async_std::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let port = listener.local_addr()?.port();
//! # async_std::task::spawn(async move {
//! #     let (tcp, _) = listener.accept().await.expect("a connection");
//! #     let tls = acceptor.accept(tcp).await.expect("a TLS handshake");
//! #     let mut ws = ws_async_std::accept(tls).await.expect("a handshake");
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
//! let (mut ws, _) = ws_async_std::connect_with(format!("wss://127.0.0.1:{port}/"), config).await?;
//! ws.send(Message::text("over TLS")).await?;
//! assert_eq!(ws.recv().await.expect("an echo")?, Message::text("over TLS"));
//! ws.close(None).await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```
//!
//! [`accept_with`] also suits browsers: check the `Origin` header in the callback (RFC 6455
//! §10.2) and refuse others with 403.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod runtime;

pub use ws_driver::{http, ws_handshake, ws_proto};

pub use runtime::{AsyncStd, AsyncStdIo, ProxyStream};

ws_driver::adapter_api! {
    runtime: "async-std",
    rt: AsyncStd,
    io: AsyncStdIo,
    read: futures_io::AsyncRead,
    write: futures_io::AsyncWrite,
    tcp: async_std::net::TcpStream,
}
