//! The public API every runtime adapter exposes, generated once so the adapters stay identical
//! in shape and do not repeat each other.

/// Generates an adapter's API: `connect`, `connect_with`, `client_with_stream`, `accept`,
/// `accept_with`, the split-half and client type aliases and the reconnecting client, for one
/// runtime. [`WebSocketStream`](crate::WebSocketStream) is re-exported (so that its methods
/// are on the adapter's documentation page); the adapter re-exports the crates (`http`,
/// `ws_handshake`, `ws_proto`) itself, so that its documentation names them plainly.
///
/// * `rt`: the adapter's [`Runtime`](crate::Runtime);
/// * `io`: the adapter's [`Transport`](crate::Transport) wrapper for the runtime's I/O traits;
/// * `read`/`write`: the runtime's `AsyncRead`/`AsyncWrite` traits;
/// * `tcp`: its TCP stream type (for the split-half aliases' documentation and checks).
#[doc(hidden)]
#[macro_export]
macro_rules! adapter_api {
    (
        runtime: $runtime:literal,
        rt: $rt:ident,
        io: $io:ident,
        read: $read:path,
        write: $write:path,
        tcp: $tcp:ty $(,)?
    ) => {
        pub use $crate::ws_handshake::{
            Accept, Callback, ClientError, IntoClientRequest, NoCallback, Proxy, ProxyError,
            Reject, ServerError,
        };
        pub use $crate::ProtocolConfig;
        pub use $crate::{
            crypto_provider, rustls, ByteStream, ClientConfig, CloseCode, CloseFrame, Error,
            Frame, Message, MessageKind, MessageReader, MessageWriter, OpCode, PreparedMessage,
            ProtocolError, Role, ServerConfig, State, StreamConfig, Timeout, TlsFailure,
            Utf8Bytes, WebSocketStream,
        };

        #[doc = concat!(
                            "The writing half of a split `WebSocketStream<", stringify!($io),
                            "<S>>` (a ", $runtime, " byte stream `S`), named by the byte stream: ",
                            "for example `WebSocketSink<", stringify!($tcp), ">` on a server.",
                        )]
        pub type WebSocketSink<S> = $crate::WebSocketSink<$io<S>>;

        #[doc = concat!(
                            "The reading half of a split `WebSocketStream<", stringify!($io),
                            "<S>>` (a ", $runtime, " byte stream `S`), named by the byte stream.",
                        )]
        pub type WebSocketReader<S> = $crate::WebSocketReader<$io<S>>;

        /// The transport of a client connection: TCP, or TLS over TCP for `wss://`.
        pub type ClientTransport = $crate::ClientTransport<$rt>;

        /// A client connection made by [`connect`].
        pub type ClientStream = WebSocketStream<ClientTransport>;

        /// The writing half of a split [`ClientStream`].
        pub type ClientSink = $crate::WebSocketSink<ClientTransport>;

        /// The reading half of a split [`ClientStream`].
        pub type ClientReader = $crate::WebSocketReader<ClientTransport>;

        /// Connects to a `ws://` or `wss://` URL (or a prepared `http::Request`) with default
        /// settings.
        ///
        /// Returns the stream and the server's 101 response. A server that refuses the upgrade
        /// gives [`Error::ClientHandshake`] with [`ClientError::Rejected`], carrying its status,
        /// headers and body.
        pub async fn connect(
            request: impl IntoClientRequest,
        ) -> Result<(ClientStream, $crate::http::Response<()>), Error> {
            connect_with(request, ClientConfig::default()).await
        }

        /// Connects with the given settings (limits, timeouts, a custom rustls configuration,
        /// an HTTP proxy).
        ///
        /// With a proxy ([`ClientConfig::proxy`], or [`ClientConfig::proxy_from_env`] and the
        /// environment naming one for this URL), the TCP connection goes to the proxy, which is
        /// asked for a tunnel with `CONNECT host:port`; TLS (for `wss://`) and the WebSocket
        /// handshake then run end to end through it. A refusal is [`Error::Proxy`]:
        /// [`ProxyError::AuthRequired`] for 407, [`ProxyError::Rejected`] with the status
        /// otherwise.
        pub async fn connect_with(
            request: impl IntoClientRequest,
            config: ClientConfig,
        ) -> Result<(ClientStream, $crate::http::Response<()>), Error> {
            $crate::connect_with::<$rt>(request, config).await
        }

        /// Runs the client handshake over a stream the caller connected (a proxy tunnel, a
        /// Unix socket, ...). No TLS is added: wrap the stream first for `wss://`.
        pub async fn client_with_stream<S: $read + $write + Unpin>(
            request: impl IntoClientRequest,
            stream: S,
            config: ClientConfig,
        ) -> Result<(WebSocketStream<$io<S>>, $crate::http::Response<()>), Error>
        where
            $io<S>: $crate::Transport,
        {
            let handshake = $crate::ws_handshake::ClientHandshake::new(request)?;
            $crate::client_handshake($io::new(stream), handshake, &config).await
        }

        /// Runs the server handshake on an accepted stream (TCP, or a rustls server stream),
        /// accepting any valid WebSocket request.
        ///
        /// The future is a pointer: the handshake's state is boxed and freed when it is over, so
        /// a task that accepts and then serves the connection stays small.
        pub fn accept<S: $read + $write + Unpin>(
            stream: S,
        ) -> impl std::future::Future<Output = Result<WebSocketStream<$io<S>>, Error>>
        where
            $io<S>: $crate::Transport,
        {
            accept_with(stream, NoCallback, ServerConfig::default())
        }

        /// Runs the server handshake, letting `callback` inspect the request (path, headers,
        /// origin, cookies) and accept it (choosing a subprotocol, adding headers) or reject it
        /// with any status and body.
        ///
        /// The future is a pointer, as [`accept`]'s is.
        pub fn accept_with<S: $read + $write + Unpin, C: Callback>(
            stream: S,
            callback: C,
            config: ServerConfig,
        ) -> impl std::future::Future<Output = Result<WebSocketStream<$io<S>>, Error>>
        where
            $io<S>: $crate::Transport,
        {
            $crate::server_handshake_owned($io::new(stream), callback, config)
        }

        $crate::reconnect_api!($rt);

        /// `split()` halves are nameable with this crate's aliases: a function taking
        /// `WebSocketSink<TcpStream>` accepts the half of an accepted TCP stream.
        #[cfg(test)]
        mod split_halves_are_nameable {
            fn server_halves(
                ws: super::WebSocketStream<super::$io<$tcp>>,
            ) -> (super::WebSocketSink<$tcp>, super::WebSocketReader<$tcp>) {
                ws.split()
            }

            fn client_halves(ws: super::ClientStream) -> (super::ClientSink, super::ClientReader) {
                ws.split()
            }

            #[test]
            fn split_halves_have_the_adapter_names() {
                let _ = server_halves as fn(_) -> _;
                let _ = client_halves as fn(_) -> _;
            }
        }
    };
}
