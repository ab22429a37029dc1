//! A reconnecting client: on a failed connection it reconnects with exponential backoff and
//! full jitter, re-runs an `on_connect` hook, and queues outgoing messages meanwhile.
//!
//! The adapters expose it as `ReconnectingClient` (for example
//! `ws_tokio::ReconnectingClient::builder(url)`), opening each connection with their
//! `connect_with`.
//!
//! # Design
//!
//! The client is a state machine (connected, connecting, waiting out a backoff delay, done)
//! driven by the application's calls: [`recv`](ReconnectingClient::recv) (or polling it as a
//! `Stream`) reads messages and, meanwhile, reconnects and writes queued messages;
//! [`send`](ReconnectingClient::send) queues and writes. It spawns no task, so the same code
//! runs on tokio, async-std and smol with nothing but a [`Connector`] (connect and sleep) from
//! the adapter, and it stops when the application drops it. Like a plain `WebSocketStream`, it
//! must be polled to notice a dead connection: keep a task in `recv` (other tasks send through
//! cloned [`Sender`]s), or `select` on `recv` and your own sources (`recv` is cancel-safe).
//! Events reach the application through a callback ([`Builder::on_event`]) or a bounded
//! stream ([`Builder::events`]), neither of which needs a task either. Each attempt (connect,
//! TLS, handshake, `on_connect`) is bounded by [`Builder::attempt_timeout`].
//!
//! # What reconnects
//!
//! A failed connection (end of file without a closing handshake, a reset, a keepalive timeout,
//! a protocol error), a server close with a code other than 1000/1001, and a failed connection
//! attempt (network errors, timeouts, a 408/429/5xx refusal) are retried; see
//! [`should_reconnect`] and [`is_retryable`]. A close the application asked for, and by default
//! a server's normal close (1000, 1001, or none), end the client.
//!
//! # Delivery: at most once
//!
//! Messages are queued (bounded, see [`QueuePolicy`]) and written in order. A message handed to
//! a connection (written to its buffer or the socket) is *in flight*: if the link dies before
//! the server reads it, it is lost and not sent again, since the client cannot know whether
//! the server got it. Messages still queued when a connection dies go out on the next one,
//! after `on_connect`'s. No message leaves the queue unreported: [`QueuePolicy::DropOldest`]
//! reports [`Event::Dropped`], and [`ReconnectingClient::take_unsent`] returns what was never
//! sent once the client ends. Applications that need every message delivered must acknowledge
//! them at the application level and resend after reconnecting (in `on_connect`).

mod backoff;
mod builder;
mod client;
mod events;
mod policy;
mod queue;

pub use backoff::{Backoff, Jitter, JitterRng};
pub use builder::{Builder, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_QUEUE_CAPACITY};
pub use client::ReconnectingClient;
pub use events::Events;
pub use policy::{is_retryable, should_reconnect, DisconnectReason, Event, ReconnectError};
pub use queue::{QueuePolicy, Sender};

use crate::config::ClientConfig;
use crate::error::Error;
use crate::stream::WebSocketStream;
use crate::transport::{Sleep, Transport};
use futures_core::future::BoxFuture;
use std::time::Duration;

/// What the reconnecting client needs from a runtime: open a connection, and sleep. Each
/// adapter implements it with its `connect_with` and timer.
pub trait Connector: Send + Sync + 'static {
    /// The transport of the connections.
    type Transport: Transport + Send + 'static;

    /// Opens a connection and runs the opening handshake.
    fn connect(
        &self,
        request: http::Request<()>,
        config: ClientConfig,
    ) -> ConnectFuture<Self::Transport>;

    /// A timer of the runtime.
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// The reconnecting-client part of [`adapter_api!`](crate::adapter_api): a [`Connector`] from
/// the adapter's `connect_with` and timer, and the `ReconnectingClient` alias.
#[doc(hidden)]
#[macro_export]
macro_rules! reconnect_api {
    ($rt:ty) => {
        pub use $crate::reconnect::{
            Backoff, DisconnectReason, Event as ReconnectEvent, Events as ReconnectEvents, Jitter,
            QueuePolicy, ReconnectError, Sender as ReconnectSender,
        };

        /// Opens the connections of a [`ReconnectingClient`] with [`connect_with`] and sleeps
        /// on this runtime's timer.
        #[derive(Clone, Copy, Debug, Default)]
        pub struct Connector;

        impl $crate::reconnect::Connector for Connector {
            type Transport = ClientTransport;

            fn connect(
                &self,
                request: $crate::http::Request<()>,
                config: ClientConfig,
            ) -> $crate::reconnect::ConnectFuture<ClientTransport> {
                Box::pin(connect_with(request, config))
            }

            fn sleep(&self, duration: ::std::time::Duration) -> $crate::Sleep {
                <$rt as $crate::Runtime>::sleep(duration)
            }
        }

        /// A client that reconnects with backoff, re-runs `on_connect` and queues messages
        /// while disconnected: see the `ws_driver::reconnect` module.
        pub type ReconnectingClient = $crate::reconnect::ReconnectingClient<Connector>;
    };
}

/// What [`Connector::connect`] returns.
pub type ConnectFuture<T> =
    BoxFuture<'static, Result<(WebSocketStream<T>, http::Response<()>), Error>>;
