//! The three runtimes, each implementing [`Runtime`] once.

use crate::{Connected, Handler, Runtime, ServeOptions};
use futures::future::BoxFuture;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use ws_async_std::AsyncStdIo;
use ws_driver::{ClientConfig, MaybeTls};
use ws_smol::SmolIo;

fn bind() -> std::net::TcpListener {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    listener
}

fn hook_of(
    options: &ServeOptions,
) -> impl FnOnce(
    &ws_driver::http::Request<()>,
) -> Result<ws_driver::ws_handshake::Accept, ws_driver::ws_handshake::Reject>
       + Send
       + 'static {
    let hook = options.hook.clone();
    move |request: &ws_driver::http::Request<()>| match hook {
        Some(hook) => hook(request),
        None => Ok(ws_driver::ws_handshake::Accept::default()),
    }
}

/// tokio, on a current-thread runtime per thread.
pub struct Tokio;

/// Transport of a tokio server connection.
pub type TokioServer = MaybeTls<
    ws_tokio::TokioIo<tokio::net::TcpStream>,
    ws_tokio::TokioIo<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>,
>;

impl Runtime for Tokio {
    const NAME: &'static str = "tokio";
    type Server = TokioServer;
    type Client = ws_tokio::ClientTransport;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(future)
    }

    fn spawn<F: Future<Output = ()> + Send + 'static>(future: F) {
        tokio::spawn(future);
    }

    fn serve(options: ServeOptions, handler: Handler<Self::Server>) -> SocketAddr {
        let std_listener = bind();
        let addr = std_listener.local_addr().expect("local addr");
        std::thread::spawn(move || {
            Self::block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                let tls = options.tls.clone().map(tokio_rustls::TlsAcceptor::from);
                while let Ok((tcp, _)) = listener.accept().await {
                    let (handler, tls, options) = (handler.clone(), tls.clone(), options.clone());
                    tokio::spawn(async move {
                        let io = match tls {
                            Some(acceptor) => match acceptor.accept(tcp).await {
                                Ok(s) => MaybeTls::Tls(ws_tokio::TokioIo(s)),
                                Err(e) => return handler(Err(e.into())).await,
                            },
                            None => MaybeTls::Plain(ws_tokio::TokioIo(tcp)),
                        };
                        let hook = hook_of(&options);
                        handler(ws_driver::server_handshake(io, hook, &options.config).await).await
                    });
                }
            })
        });
        addr
    }

    fn connect(
        request: ws_driver::http::Request<()>,
        config: ClientConfig,
    ) -> BoxFuture<'static, Connected<Self::Client>> {
        Box::pin(ws_tokio::connect_with(request, config))
    }

    fn sleep(duration: Duration) -> BoxFuture<'static, ()> {
        <ws_tokio::Tokio as ws_driver::Runtime>::sleep(duration)
    }
}

macro_rules! futures_io_runtime {
    ($name:ident, $label:literal, $tcp:ty, $listener:ty, $client:ty, $connect:path,
     runtime: $rt:ty, io: $io:ident,
     block_on: $block_on:path, spawn: $spawn:expr) => {
        #[doc = concat!($label, ", on its global executor.")]
        pub struct $name;

        impl Runtime for $name {
            const NAME: &'static str = $label;
            type Server = MaybeTls<$io<$tcp>, $io<futures_rustls::server::TlsStream<$tcp>>>;
            type Client = $client;

            fn block_on<F: Future>(future: F) -> F::Output {
                $block_on(future)
            }

            fn spawn<F: Future<Output = ()> + Send + 'static>(future: F) {
                ($spawn)(future)
            }

            fn serve(options: ServeOptions, handler: Handler<Self::Server>) -> SocketAddr {
                let std_listener = bind();
                let addr = std_listener.local_addr().expect("local addr");
                std::thread::spawn(move || {
                    Self::block_on(async move {
                        let listener = <$listener>::try_from(std_listener).expect("listener");
                        let tls = options.tls.clone().map(futures_rustls::TlsAcceptor::from);
                        while let Ok((tcp, _)) = listener.accept().await {
                            let (handler, tls, options) =
                                (handler.clone(), tls.clone(), options.clone());
                            Self::spawn(async move {
                                let io = match tls {
                                    Some(acceptor) => match acceptor.accept(tcp).await {
                                        Ok(s) => MaybeTls::Tls($io::new(s)),
                                        Err(e) => return handler(Err(e.into())).await,
                                    },
                                    None => MaybeTls::Plain($io::new(tcp)),
                                };
                                let hook = hook_of(&options);
                                let ws =
                                    ws_driver::server_handshake(io, hook, &options.config).await;
                                handler(ws).await
                            });
                        }
                    })
                });
                addr
            }

            fn connect(
                request: ws_driver::http::Request<()>,
                config: ClientConfig,
            ) -> BoxFuture<'static, Connected<Self::Client>> {
                Box::pin($connect(request, config))
            }

            fn sleep(duration: Duration) -> BoxFuture<'static, ()> {
                <$rt as ws_driver::Runtime>::sleep(duration)
            }
        }
    };
}

futures_io_runtime!(
    AsyncStd, "async-std", async_std::net::TcpStream, async_std::net::TcpListener,
    ws_async_std::ClientTransport, ws_async_std::connect_with,
    runtime: ws_async_std::AsyncStd, io: AsyncStdIo,
    block_on: async_std::task::block_on,
    spawn: |f| { async_std::task::spawn(f); }
);

futures_io_runtime!(
    Smol, "smol", smol::net::TcpStream, smol::net::TcpListener,
    ws_smol::ClientTransport, ws_smol::connect_with,
    runtime: ws_smol::Smol, io: SmolIo,
    block_on: smol::block_on,
    spawn: |f| smol::spawn(f).detach()
);

/// A runtime under test with its adapter's connector for the reconnecting client.
pub trait Reconnecting: Runtime {
    /// The adapter's `Connector`.
    type Conn: ws_driver::reconnect::Connector<Transport = Self::Client> + Default + Unpin;
}

impl Reconnecting for Tokio {
    type Conn = ws_tokio::Connector;
}

impl Reconnecting for AsyncStd {
    type Conn = ws_async_std::Connector;
}

impl Reconnecting for Smol {
    type Conn = ws_smol::Connector;
}
